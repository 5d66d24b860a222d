"""Two epochs of Atienza's CNN and SimpleRNN on Fashion-MNIST, minikeras or real Keras 3.
Run: ``python benchmarks/reproduce_cnn_rnn.py [--keras] [--epochs 2]``; prints test accuracy and time."""
import argparse
import json
import os
import time

import numpy as np

from atienza_models import cnn, rnn


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keras", action="store_true")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--only", choices=["cnn", "rnn"])
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.keras:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
    else:
        import minikeras as keras
    # Real Keras would download the files; both read the same local copy through minikeras.
    import minikeras
    (x_train, y_train), (x_test, y_test) = minikeras.datasets.fashion_mnist.load_data()
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train)
    y_test = keras.utils.to_categorical(y_test)
    results = {}
    for kind in ("cnn", "rnn"):
        if args.only and kind != args.only:
            continue
        keras.utils.set_random_seed(1)
        shape = (-1, 28, 28, 1) if kind == "cnn" else (-1, 28, 28)
        model = cnn(keras) if kind == "cnn" else rnn(keras)
        model.compile(loss="categorical_crossentropy", optimizer="adam" if kind == "cnn" else "sgd",
                      metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x_train.reshape(shape), y_train, epochs=args.epochs, batch_size=128, verbose=2)
        seconds = time.perf_counter() - start
        _, acc = model.evaluate(x_test.reshape(shape), y_test, batch_size=128, verbose=0)
        results[kind] = {"test_accuracy": round(float(acc), 4), "train_seconds": round(seconds, 1)}
        print(kind, json.dumps(results[kind]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"library": "keras" if args.keras else "minikeras", **results}, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
