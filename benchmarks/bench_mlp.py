"""Training steps per second of the MLP 784-300-100-10 (SGD 0.01, sparse cross-entropy).

Three contenders train on the same random data with the same shuffled batches:
minikeras (``model.fit``), PyTorch on the CPU (a plain training loop), and a hand-written
NumPy step (forward, backward and update written out with no framework at all).
Run: ``python benchmarks/bench_mlp.py [--steps N] [--json out.json]``.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

N_SAMPLES = 8192


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((N_SAMPLES, 784), dtype=np.float32)
    y = rng.integers(0, 10, N_SAMPLES)
    return x, y


def glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


def bench_minikeras(x, y, batch_size, epochs):
    import minikeras as keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(300, activation="relu"),
                              keras.layers.Dense(100, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:batch_size * 20], y[:batch_size * 20], batch_size=batch_size, epochs=1, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return epochs * int(np.ceil(len(x) / batch_size)) / (time.perf_counter() - start)


def bench_torch(x, y, batch_size, epochs):
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100),
                                torch.nn.ReLU(), torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x)

    def epoch():
        order = torch.randperm(n)
        correct = 0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = xt[idx], yt[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            correct += (logits.argmax(1) == yb).sum()  # accuracy, as fit tracks it
    for _ in range(1):
        epoch()
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs * int(np.ceil(n / batch_size)) / (time.perf_counter() - start)


def bench_numpy(x, y, batch_size, epochs):
    """The hand-written step: what a student would write with NumPy alone."""
    rng = np.random.default_rng(0)
    W1, W2, W3 = glorot(rng, 784, 300), glorot(rng, 300, 100), glorot(rng, 100, 10)
    b1, b2, b3 = (np.zeros(n, np.float32) for n in (300, 100, 10))
    lr = np.float32(0.01)
    n = len(x)

    def epoch():
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            m = len(idx)
            h1 = np.maximum(xb @ W1 + b1, 0)
            h2 = np.maximum(h1 @ W2 + b2, 0)
            z = h2 @ W3 + b3
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            _ = (p.argmax(1) == yb).sum()
            dz = p
            dz[np.arange(m), yb] -= 1
            dz /= m
            dW3, db3 = h2.T @ dz, dz.sum(0)
            dh2 = (dz @ W3.T) * (h2 > 0)
            dW2, db2 = h1.T @ dh2, dh2.sum(0)
            dh1 = (dh2 @ W2.T) * (h1 > 0)
            dW1, db1 = xb.T @ dh1, dh1.sum(0)
            for w, g in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2), (W3, dW3), (b3, db3)):
                w -= lr * g
    epoch()
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs * int(np.ceil(n / batch_size)) / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs each")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    x, y = make_data()
    results = {"threads": os.environ.get("OMP_NUM_THREADS", "default"), "batches": {}}
    contenders = [("minikeras", bench_minikeras), ("numpy", bench_numpy)]
    try:
        import torch  # noqa: F401
        contenders.insert(1, ("torch", bench_torch))
    except ImportError:
        print("skipping torch: not installed (pip install 'minikeras[bench]')", file=sys.stderr)
    for batch_size in (32, 128):
        row = {}
        # Interleave the repeats (A B C A B C ...) so that drifting machine load hits all alike;
        # keep each contender's best run.
        for _ in range(args.repeats):
            for name, fn in contenders:
                row[name] = max(row.get(name, 0.0), fn(x, y, batch_size, args.epochs))
        if "torch" in row:
            row["ratio_vs_torch"] = row["minikeras"] / row["torch"]
        row["ratio_vs_numpy"] = row["minikeras"] / row["numpy"]
        results["batches"][batch_size] = row
        print(f"batch {batch_size:4d}: " + ", ".join(f"{k} {v:.2f}" + ("" if k.startswith("ratio") else " steps/s")
                                                 for k, v in row.items()), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
