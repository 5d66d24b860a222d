"""Reproduce Hands-On ML's Fashion-MNIST MLP by running the book's own listing.

The code is not copied here: it is read at run time from the seed chapter in
``../shared/seeds`` (its ```py blocks: load and split the data, scale it, build the
784-300-100-10 Sequential model, compile with SGD, fit for 30 epochs with the 5,000
held-out images, evaluate on the test set). The only change is the import line: the
book's ``import tensorflow as tf`` becomes a ``tf`` whose ``keras`` is minikeras (or, with
``--keras``, the real Keras 3 on PyTorch, reading the same local data files).
Run: ``python benchmarks/reproduce_fashion_mnist.py [--keras] [--json out.json]``.
"""
import argparse
import json
import os
import pathlib
import re
import sys
import time
import types

SEEDS = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
# The book's blocks, in order, each recognised by a phrase it contains.
BLOCK_MARKERS = [
    "fashion_mnist.load_data()",
    "X_train / 255.",
    "Flatten(input_shape=[28, 28])",
    'optimizer="sgd"',
    "history = model.fit(X_train, y_train, epochs=30",
    "model.evaluate(X_test, y_test)",
]


def code_blocks(text):
    return re.findall(r"```py\n(.*?)```", text, flags=re.S)


def as_script(block):
    """A block as plain code: doctest prompts stripped, printed output dropped."""
    if not any(line.startswith(">>> ") for line in block.splitlines()):
        return block
    lines = []
    for line in block.splitlines():
        if line.startswith((">>> ", "... ")):
            lines.append(line[4:])
        elif line in (">>>", "..."):
            lines.append("")
    return "\n".join(lines) + "\n"


def book_listing(seed_dir=SEEDS):
    for path in sorted(seed_dir.glob("*.txt")):
        blocks = code_blocks(path.read_text(encoding="utf-8"))
        chosen = []
        for marker in BLOCK_MARKERS:
            found = next((b for b in blocks if marker in b), None)
            if found is None:
                break
            chosen.append(as_script(found))
        else:
            return path.name, "\n".join(chosen)
    raise FileNotFoundError(f"no seed chapter in {seed_dir} holds the Fashion-MNIST MLP listing")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keras", action="store_true", help="run real Keras 3 (torch backend) instead")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    import minikeras
    if args.keras:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        # Keras would download the data; give it the same local files minikeras reads.
        keras.datasets.fashion_mnist.load_data = minikeras.datasets.fashion_mnist.load_data
        library = "keras " + keras.__version__
    else:
        keras = minikeras
        library = "minikeras " + minikeras.__version__
    source, listing = book_listing()
    listing = listing.replace("import tensorflow as tf", "")  # the import line is the one change
    keras.utils.set_random_seed(42)
    scope = {"tf": types.SimpleNamespace(keras=keras)}
    start = time.perf_counter()
    exec(compile(listing, f"<{source} listing>", "exec"), scope)
    seconds = time.perf_counter() - start
    model, history = scope["model"], scope["history"]
    test_loss, test_accuracy = model.evaluate(scope["X_test"], scope["y_test"], verbose=0)
    result = {
        "library": library,
        "listing_from": source,
        "seconds_for_listing": round(seconds, 1),
        "epochs": len(history.history["loss"]),
        "final_val_accuracy": round(float(history.history["val_accuracy"][-1]), 4),
        "test_loss": round(float(test_loss), 4),
        "test_accuracy": round(float(test_accuracy), 4),
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
