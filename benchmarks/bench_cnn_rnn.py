"""Training steps per second of Atienza's CNN (Adam, batch 128) and SimpleRNN(256) (SGD, batch 128),
minikeras side by side with the same networks in PyTorch on the CPU, on the same random data.
Run: ``python benchmarks/bench_cnn_rnn.py [--steps 30] [--json out.json]``."""
import argparse
import json
import time

import numpy as np

from atienza_models import cnn, rnn

BATCH = 128


def steps_per_second_minikeras(kind, x, y, steps):
    import minikeras as keras
    keras.utils.set_random_seed(0)
    model = cnn(keras) if kind == "cnn" else rnn(keras)
    model.compile(loss="categorical_crossentropy", optimizer="adam" if kind == "cnn" else "sgd",
                  metrics=["accuracy"])
    model.fit(x[:BATCH * 2], y[:BATCH * 2], batch_size=BATCH, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x[:BATCH * steps], y[:BATCH * steps], batch_size=BATCH, epochs=1, verbose=0)
    return steps / (time.perf_counter() - start)


def steps_per_second_torch(kind, x, y, steps):
    import torch
    from torch import nn
    torch.manual_seed(0)
    if kind == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Dropout(0.2),
                              nn.Linear(576, 10))
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    else:
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.2)
                self.rnn = nn.RNN(28, 256, batch_first=True)
                self.out = nn.Linear(256, 10)

            def forward(self, inputs):
                _, h = self.rnn(self.drop(inputs))
                return self.out(h[0])
        model = Net()
        xt = torch.from_numpy(x)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
    yt = torch.from_numpy(y.argmax(1))
    loss_fn = nn.CrossEntropyLoss()

    def run(n):
        for i in range(n):
            xb, yb = xt[i * BATCH:(i + 1) * BATCH], yt[i * BATCH:(i + 1) * BATCH]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            (logits.argmax(1) == yb).float().mean()
    run(2)
    start = time.perf_counter()
    run(steps)
    return steps / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n = BATCH * args.steps
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, n)]
    results = {}
    for kind, x in (("cnn", rng.random((n, 28, 28, 1), dtype=np.float32)),
                    ("rnn", rng.random((n, 28, 28), dtype=np.float32))):
        ours = steps_per_second_minikeras(kind, x, y, args.steps)
        theirs = steps_per_second_torch(kind, x, y, args.steps)
        results[kind] = {"minikeras": ours, "torch": theirs, "ratio_vs_torch": ours / theirs}
        print(f"{kind}: minikeras {ours:.2f} steps/s, torch {theirs:.2f} steps/s, ratio {ours / theirs:.2f}",
              flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
