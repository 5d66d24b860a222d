"""The six training workloads of the speed benchmark, each in minikeras, in PyTorch (CPU) and,
for the MLP, as a hand-written NumPy step: the same data, model, batch size and optimizer.

A workload is built by ``make(name, quick)``; each contender is then a function
``run(steps) -> seconds`` that trains for ``steps`` batches after its own warm-up, so the
caller can interleave contenders and keep the best of several repeats. ``flops(name)`` is the
arithmetic of one training step (the matrix products and convolutions, forward and backward;
elementwise work is not counted), for the percentage of the machine's sgemm rate.
"""
import os
import time

import numpy as np

from atienza_models import cnn, rnn

BATCH = {"mlp32": 32, "mlp128": 128, "cnn": 128, "simple_rnn": 128, "lstm": 128, "gru": 128, "cnn_bn": 128}
TITLES = {
    "mlp32": "MLP 784-300-100-10, SGD, batch 32",
    "mlp128": "MLP 784-300-100-10, SGD, batch 128",
    "cnn": "Atienza CNN (Conv2D 64-64-64), Adam, batch 128",
    "simple_rnn": "SimpleRNN(256) on 28x28 rows, SGD, batch 128",
    "lstm": "LSTM(128) on 28x28 rows, Adam, batch 128",
    "gru": "GRU(128) on 28x28 rows, Adam, batch 128",
    "cnn_bn": "the CNN with BatchNormalization after each Conv2D (03_cnn), Adam, batch 128",
}
NAMES = list(TITLES)
TARGETS = {"mlp32": 1.2, "mlp128": 1.2, "cnn": 1.0, "simple_rnn": 1.2, "lstm": 1.0, "gru": 1.0}
RECURRENT_UNITS = {"simple_rnn": 256, "lstm": 128, "gru": 128}
GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def flops(name):
    """Floating-point operations of one training step (2 per multiply-add)."""
    b = BATCH[name]
    if name.startswith("mlp"):
        layers = [(784, 300), (300, 100), (100, 10)]
        fwd = sum(2 * b * i * o for i, o in layers)
        return fwd + 2 * fwd - 2 * b * 784 * 300  # backward: every weight gradient, no input gradient for x
    if name in ("cnn", "cnn_bn"):
        convs = [(26 * 26, 1, False), (11 * 11, 64, True), (3 * 3, 64, True)]  # (positions, in channels, dx?)
        total = 0
        for positions, cin, dx in convs:
            f = 2 * b * positions * 9 * cin * 64
            total += f * (3 if dx else 2)  # forward, kernel gradient, input gradient
        dense = 2 * b * 576 * 10
        return total + 3 * dense
    units, gates = RECURRENT_UNITS[name], GATES[name]
    t, features = 28, 28
    inp = 2 * b * t * features * gates * units
    rec = 2 * b * t * units * gates * units
    dense = 2 * b * units * 10
    # forward: input and recurrent products; backward: kernel and recurrent-kernel gradients
    # and the state gradient through the recurrent kernel (no input gradient for x)
    return inp + rec + inp + rec + rec + 3 * dense


def make_data(name, steps, seed=0):
    rng = np.random.default_rng(seed)
    n = BATCH[name] * steps
    labels = rng.integers(0, 10, n)
    if name.startswith("mlp"):
        return rng.random((n, 784), dtype=np.float32), labels
    shape = (n, 28, 28, 1) if name.startswith("cnn") else (n, 28, 28)
    return rng.random(shape, dtype=np.float32), labels


def _timer(train):
    """``run(steps) -> seconds``: the wall time of ``train(steps)``."""
    def run(steps):
        start = time.perf_counter()
        train(steps)
        return time.perf_counter() - start
    return run


# ----------------------------------------------------------------------------- minikeras


def cnn_with_batchnorm(keras):
    """03_cnn's variant: Conv2D without bias, BatchNormalization, then the ReLU, in each block."""
    layers = keras.layers

    def block(**kwargs):
        return [layers.Conv2D(64, 3, use_bias=False, **kwargs), layers.BatchNormalization(), layers.Activation("relu")]
    return keras.Sequential([*block(input_shape=(28, 28, 1)), layers.MaxPooling2D(2), *block(), layers.MaxPooling2D(2),
                             *block(), layers.Flatten(), layers.Dropout(0.2), layers.Dense(10),
                             layers.Activation("softmax")])


def minikeras_model(name, keras):
    if name.startswith("mlp"):
        return keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(300, activation="relu"),
                                 keras.layers.Dense(100, activation="relu"),
                                 keras.layers.Dense(10, activation="softmax")])
    if name == "cnn":
        return cnn(keras)
    if name == "cnn_bn":
        return cnn_with_batchnorm(keras)
    if name == "simple_rnn":
        return rnn(keras)
    layer = keras.layers.LSTM if name == "lstm" else keras.layers.GRU
    return keras.Sequential([keras.Input(shape=(28, 28)), layer(RECURRENT_UNITS[name]),
                             keras.layers.Dense(10), keras.layers.Activation("softmax")])


def minikeras_runner(name, x, labels):
    """``run(steps)``: ``model.fit`` over the first ``steps`` batches (one epoch, shuffled as fit does)."""
    import minikeras as keras
    keras.utils.set_random_seed(0)
    model = minikeras_model(name, keras)
    sgd = name.startswith("mlp") or name == "simple_rnn"
    optimizer = keras.optimizers.SGD(0.01) if sgd else keras.optimizers.Adam(1e-3)
    if name.startswith("mlp"):
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        y = labels
    else:
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        y = np.eye(10, dtype="float32")[labels]
    b = BATCH[name]
    model.fit(x[:b * 2], y[:b * 2], batch_size=b, epochs=1, verbose=0)  # warm-up: builds, first allocations

    run = _timer(lambda steps: model.fit(x[:b * steps], y[:b * steps], batch_size=b, epochs=1, verbose=0))
    run.model = model
    return run


# ----------------------------------------------------------------------------- PyTorch


def torch_model(name):
    import torch
    from torch import nn
    if name.startswith("mlp"):
        return nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Dropout(0.2),
                             nn.Linear(576, 10))
    if name == "cnn_bn":  # Keras's BatchNormalization: epsilon 1e-3, moving averages kept at 0.99
        def block(cin):
            return [nn.Conv2d(cin, 64, 3, bias=False), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.ReLU()]
        return nn.Sequential(*block(1), nn.MaxPool2d(2), *block(64), nn.MaxPool2d(2), *block(64), nn.Flatten(),
                             nn.Dropout(0.2), nn.Linear(576, 10))

    class Recurrent(nn.Module):
        """The recurrent layer over the rows, its last output, Dense(10) (softmax is in the loss)."""

        def __init__(self):
            super().__init__()
            units = RECURRENT_UNITS[name]
            self.drop = nn.Dropout(0.2) if name == "simple_rnn" else nn.Identity()
            self.rnn = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[name](28, units, batch_first=True)
            self.out = nn.Linear(units, 10)

        def forward(self, inputs):
            seq, _ = self.rnn(self.drop(inputs))
            return self.out(seq[:, -1])
    torch.manual_seed(0)
    return Recurrent()


def torch_runner(name, x, labels):
    """``run(steps)``: a plain PyTorch training loop (zero_grad, forward, loss, backward, step,
    and the accuracy, as fit tracks it) over shuffled batches."""
    import torch
    torch.manual_seed(0)
    model = torch_model(name)
    sgd = name.startswith("mlp") or name == "simple_rnn"
    opt = (torch.optim.SGD(model.parameters(), lr=0.01) if sgd
           else torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7))
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if name.startswith("cnn") else x)
    yt = torch.from_numpy(labels)
    b = BATCH[name]

    def train(steps):
        order = torch.randperm(b * steps)
        for i in range(steps):
            idx = order[i * b:(i + 1) * b]
            xb, yb = xt[idx], yt[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            (logits.argmax(1) == yb).sum()
    train(2)
    return _timer(train)


# ----------------------------------------------------------------------------- NumPy by hand


def _glorot(rng, fan_in, fan_out):
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


def numpy_runner(name, x, labels):
    """The MLP step a student would write with NumPy alone (forward, backward, SGD update)."""
    rng = np.random.default_rng(0)
    W1, W2, W3 = _glorot(rng, 784, 300), _glorot(rng, 300, 100), _glorot(rng, 100, 10)
    b1, b2, b3 = (np.zeros(n, np.float32) for n in (300, 100, 10))
    lr = np.float32(0.01)
    b = BATCH[name]

    def train(steps):
        order = rng.permutation(b * steps)
        for start in range(0, b * steps, b):
            idx = order[start:start + b]
            xb, yb = x[idx], labels[idx]
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
    train(2)
    return _timer(train)


def set_threads(n):
    """Give every contender ``n`` threads: minikeras (its kernels and BLAS), PyTorch, and the
    BLAS the NumPy step calls."""
    import minikeras
    if hasattr(minikeras.backend, "set_num_threads"):
        minikeras.backend.set_num_threads(n)
    else:  # a minikeras from before its own threads (to measure the "before"): BLAS's threads
        from threadpoolctl import threadpool_limits
        import numpy  # noqa: F401  (threadpoolctl sees only the libraries already loaded)
        set_threads.limit = threadpool_limits(n, user_api="blas")
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


def default_threads():
    """The thread count each library picks by itself on this machine."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
