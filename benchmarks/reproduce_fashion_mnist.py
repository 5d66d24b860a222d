"""Reproduce Hands-On ML's Fashion-MNIST MLP with minikeras (or real Keras for comparison).

The listing is the book's, with only the import changed: 784-300-100-10, SGD(0.01),
batch 32, 30 epochs, the last 5,000 training images held out for validation.
Run: ``python benchmarks/reproduce_fashion_mnist.py [--keras] [--epochs 30]``.
"""
import argparse
import json
import os
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keras", action="store_true", help="run real Keras 3 (torch backend) instead")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    if args.keras:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
    else:
        import minikeras as keras

    keras.utils.set_random_seed(42)
    if args.keras:  # real Keras would download the files; read the same local copy instead
        import minikeras
        fashion_mnist = minikeras.datasets.fashion_mnist.load_data()
    else:
        fashion_mnist = keras.datasets.fashion_mnist.load_data()
    (X_train_full, y_train_full), (X_test, y_test) = fashion_mnist
    X_train, y_train = X_train_full[:-5000], y_train_full[:-5000]
    X_valid, y_valid = X_train_full[-5000:], y_train_full[-5000:]
    X_train, X_valid, X_test = X_train / 255., X_valid / 255., X_test / 255.

    model = keras.Sequential([
        keras.layers.Input(shape=[28, 28]),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=args.epochs, validation_data=(X_valid, y_valid), verbose=2)
    train_seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(X_test, y_test, verbose=0)
    result = {
        "library": "keras " + keras.__version__ if args.keras else "minikeras " + keras.__version__,
        "epochs": args.epochs,
        "train_seconds": round(train_seconds, 1),
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
    main()
