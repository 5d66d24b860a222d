"""Atienza's SimpleRNN listing (Advanced Deep Learning with Keras, listing 1.5.1 / 3.19), run
for 2 epochs on Fashion-MNIST with several seeds, in minikeras and in real Keras 3.

The model, compile and fit code is read at run time from the seed chapter in
``../shared/seeds`` (the numbered listing lines 12-42: reshape and scale the images, the
network parameters, ``SimpleRNN(256, dropout=0.2)`` + ``Dense(10)`` + softmax, SGD, batch
128). The chapter omits the listing's first lines (imports, loading MNIST, one-hot labels),
so this script supplies them, loading Fashion-MNIST from the local files for both
libraries; ``plot_model`` is replaced by a no-op (it needs pydot), and ``epochs=20`` by the
requested number. Nothing else changes.
Run: ``python benchmarks/reproduce_rnn_seeds.py [--keras] [--seeds 0 1 2] [--epochs 2] [--json out]``.
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
FIRST_LINE, LAST_LINE = 12, 42


def book_listing(seed_dir=SEEDS):
    """The numbered lines 12-42 of the SimpleRNN listing, line numbers stripped."""
    for path in sorted(seed_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if "SimpleRNN(units=units" not in text:
            continue
        start = text.index("SimpleRNN(units=units")
        block_start = text.rfind("```", 0, start)
        block_start = text.rfind("```", 0, block_start - 1)   # the listing spans two fenced blocks
        block_end = text.find("```", text.find("print(\"\\nTest accuracy", start))
        numbered = {}
        for line in text[block_start:block_end].splitlines():
            m = re.match(r"^(\d+) ?(.*)$", line)
            if m:
                numbered[int(m.group(1))] = m.group(2)
        if all(n in numbered for n in range(FIRST_LINE, LAST_LINE + 1)):
            return path.name, "\n".join(numbered[n] for n in range(FIRST_LINE, LAST_LINE + 1)) + "\n"
    raise FileNotFoundError(f"no seed chapter in {seed_dir} holds the SimpleRNN listing")


def run(library, seed, epochs, source, listing):
    import minikeras
    if library == "keras":
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
    else:
        keras = minikeras
    (x_train, y_train), (x_test, y_test) = minikeras.datasets.fashion_mnist.load_data()
    scope = {
        "np": __import__("numpy"), "Sequential": keras.models.Sequential,
        "SimpleRNN": keras.layers.SimpleRNN, "Dense": keras.layers.Dense,
        "Activation": keras.layers.Activation, "plot_model": lambda *a, **k: None,
        "x_train": x_train, "x_test": x_test,
        "y_train": keras.utils.to_categorical(y_train), "y_test": keras.utils.to_categorical(y_test),
        "num_labels": 10, "image_size": x_train.shape[1],
    }
    code = listing.replace("epochs=20", f"epochs={epochs}")
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    exec(compile(code, f"<{source} listing>", "exec"), scope)
    seconds = time.perf_counter() - start
    return {"library": library, "seed": seed, "epochs": epochs, "test_accuracy": round(float(scope["acc"]), 4),
            "params": scope["model"].count_params(), "seconds": round(seconds, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keras", action="store_true", help="real Keras 3 (torch backend) instead of minikeras")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", help="append one JSON line per run to this file")
    args = parser.parse_args(argv)
    source, listing = book_listing()
    results = []
    for seed in args.seeds:
        r = run("keras" if args.keras else "minikeras", seed, args.epochs, source, listing)
        print(json.dumps(r), flush=True)
        results.append(r)
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps(r) + "\n")
    mean = sum(r["test_accuracy"] for r in results) / len(results)
    print(f"mean test accuracy over seeds {args.seeds}: {mean:.4f}")
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
