"""Resident memory over a long tuner search: does it stay flat?

Runs ``--trials`` RandomSearch trials of a Fashion-MNIST-sized MLP (784 inputs, up to
3 x 256 hidden units, random data of the real shape so no download is needed) with the
per-trial callbacks a course uses (EarlyStopping and TensorBoard when installed), and
records the process's resident set size (VmRSS) after every trial.
Run: ``python benchmarks/tuner_memory.py [--trials 50] [--json out.json]``.
"""
import argparse
import json
import os
import tempfile
import time


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("needs Linux's /proc/self/status")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    import numpy as np
    import minikeras as keras
    import minikeras.tuner as kt
    rng = np.random.default_rng(0)
    x = rng.random((2000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 2000)

    def build(hp):
        model = keras.Sequential([keras.Input(shape=(784,))])
        for _ in range(hp.Int("n_hidden", 1, 3)):
            model.add(keras.layers.Dense(hp.Int("n_neurons", 16, 256), activation="relu"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    samples = []

    class Probe(kt.RandomSearch):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            samples.append(round(rss_mib(), 1))

    with tempfile.TemporaryDirectory() as folder:
        callbacks = [keras.callbacks.EarlyStopping(patience=1)]
        try:
            import tensorboard  # noqa: F401
            callbacks.append(keras.callbacks.TensorBoard(os.path.join(folder, "logs"), histogram_freq=1))
        except ImportError:
            pass
        tuner = Probe(build, objective="val_accuracy", max_trials=args.trials, seed=0, directory=folder,
                      project_name="memory")
        start = time.time()
        tuner.search(x, y, epochs=2, batch_size=64, validation_split=0.2, verbose=0, callbacks=callbacks)
        seconds = time.time() - start
    result = {"trials": args.trials, "rss_mib_after_trial": samples, "first": samples[0], "last": samples[-1],
              "max": max(samples), "growth_trial10_to_last": round(samples[-1] - samples[min(9, len(samples) - 1)], 1),
              "seconds": round(seconds, 1), "callbacks": [type(c).__name__ for c in callbacks]}
    print(json.dumps({k: v for k, v in result.items() if k != "rss_mib_after_trial"}))
    print("RSS (MiB) after trials 1, 10, 20, ...:", [samples[i] for i in [0] + list(range(9, len(samples), 10))])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
