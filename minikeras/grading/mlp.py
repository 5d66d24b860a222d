"""Hidden checks for ``02_mlp``: stable softmax, softmax cross-entropy (sparse and one-hot)
with their backward passes, the fused Dense kernel, and an MLP on Fashion-MNIST."""
import time

import numpy as np

from ..kernels import activations as A
from ..kernels import dense as D
from ..kernels import losses as L
from . import guard
from ._common import check_not_mutated, run, unpack_pair
from .numeric import assert_close, fresh_rng, numerical_gradient, to_np

GRAD_TOL = dict(rtol=1e-5, atol=1e-7)
DENSE_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


# ---------------------------------------------------------------- softmax

def check_softmax(softmax_forward, softmax_backward):
    guard.assert_independent(softmax_forward, softmax_backward)
    rng = fresh_rng()
    cases = [((int(rng.integers(2, 6)), int(rng.integers(3, 8))), -1),
             ((2, int(rng.integers(3, 6)), 4), 1)]
    for shape, axis in cases:
        x = rng.normal(scale=2.0, size=shape)
        x_copy = x.copy()
        y, cache = unpack_pair("softmax_forward", run("softmax_forward", softmax_forward, x, axis=axis))
        check_not_mutated("softmax_forward", [x_copy], [x])
        want, want_cache = A.softmax_forward(x_copy.copy(), axis=axis)
        assert_close(f"softmax_forward(x of shape {shape}, axis={axis})", y, want)
        if not (isinstance(cache, tuple) and len(cache) == 2 and cache[1] == axis):
            raise AssertionError("softmax_forward's cache must be (y, axis), as in minikeras.")
        assert_close("the y stored in softmax_forward's cache", cache[0], want)
        dy = rng.normal(size=shape)
        dx = run("softmax_backward", softmax_backward, dy.copy(), (want.copy(), axis))
        num = numerical_gradient(lambda v: A.softmax_forward(v, axis=axis)[0], x_copy.copy(), dy)
        assert_close(f"softmax_backward (axis={axis})", dx, num, **GRAD_TOL,
                     hint="Compared with a finite-difference gradient of the reference softmax.")
    big = np.array([[1000.0, 0.0, -1000.0], [-800.0, -800.0, -799.0]])
    y, _ = unpack_pair("softmax_forward", run("softmax_forward", softmax_forward, big.copy(), axis=-1))
    assert_close("softmax_forward on logits of size 1000", y, A.softmax_forward(big.copy())[0],
                 hint="Subtract the row maximum before exponentiating.")
    shift = rng.normal(size=(3, 5))
    y1, _ = run("softmax_forward", softmax_forward, shift.copy(), axis=-1)
    y2, _ = run("softmax_forward", softmax_forward, shift + 123.0, axis=-1)
    assert_close("softmax(x + c) vs softmax(x)", y2, to_np(y1))
    return True


# ---------------------------------------------------------------- cross-entropy

def _check_ce(label, forward, backward, ref_forward, make_targets, rng):
    guard.assert_independent(forward, backward)
    m, k = int(rng.integers(3, 8)), int(rng.integers(3, 7))
    z = rng.normal(scale=3.0, size=(m, k))
    t = make_targets(rng, m, k)
    z_copy, t_copy = z.copy(), t.copy()
    per, cache = unpack_pair(f"{label}_forward",
                             run(f"{label}_forward", forward, t, z, from_logits=True))
    check_not_mutated(f"{label}_forward", [t_copy, z_copy], [t, z])
    want, _ = ref_forward(t_copy, z_copy.copy(), from_logits=True)
    assert_close(f"{label}_forward(..., from_logits=True): per-sample losses", per, want,
                 hint="One loss value per sample, shape (batch,).")
    dloss = rng.normal(size=(m,))
    grad = run(f"{label}_backward", backward, dloss.copy(), cache)
    num = numerical_gradient(lambda v: ref_forward(t_copy, v, from_logits=True)[0], z_copy.copy(), dloss)
    assert_close(f"{label}_backward(dloss, cache)", grad, num, **GRAD_TOL,
                 hint="The gradient is dloss[:, None] * (softmax(z) - one_hot); compared with a "
                      "finite-difference gradient of the reference loss.")
    big = np.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, 1000.0]])
    tb = make_targets(rng, 2, 3)
    per, cache = unpack_pair(f"{label}_forward",
                             run(f"{label}_forward", forward, tb.copy(), big.copy(), from_logits=True))
    assert_close(f"{label}_forward on logits of size 1000", per,
                 ref_forward(tb.copy(), big.copy(), from_logits=True)[0],
                 hint="Work with log-softmax (z - max - log(sum(exp(z - max)))), never log(softmax).")
    grad = run(f"{label}_backward", backward, np.ones(2), cache)
    ref_per, ref_cache = ref_forward(tb.copy(), big.copy(), from_logits=True)
    backward_ref = L.sparse_categorical_crossentropy_backward if tb.ndim == 1 else \
        L.categorical_crossentropy_backward
    assert_close(f"{label}_backward on logits of size 1000", grad, backward_ref(np.ones(2), ref_cache))
    return True


def _labels(rng, m, k):
    return rng.integers(0, k, size=m)


def _soft_targets(rng, m, k):
    t = np.eye(k)[rng.integers(0, k, size=m)]
    if m > 2:  # also a row of soft labels
        t[0] = rng.dirichlet(np.ones(k))
    return t


def check_sparse_crossentropy(forward, backward):
    return _check_ce("sparse_categorical_crossentropy", forward, backward,
                     L.sparse_categorical_crossentropy_forward, _labels, fresh_rng())


def check_categorical_crossentropy(forward, backward):
    return _check_ce("categorical_crossentropy", forward, backward,
                     L.categorical_crossentropy_forward, _soft_targets, fresh_rng())


# ---------------------------------------------------------------- Dense

def _dense_inputs(rng, activation, use_bias, batched3d):
    n_in, units = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    lead = (2, int(rng.integers(2, 4))) if batched3d else (int(rng.integers(2, 6)),)
    while True:
        x = rng.normal(size=lead + (n_in,))
        W = rng.normal(size=(n_in, units))
        b = rng.normal(size=units) if use_bias else None
        z = x @ W + (0 if b is None else b)
        if activation != "relu" or np.abs(z).min() > 1e-2:  # keep ReLU away from its kink
            return x, W, b


def _dense_cases(rng):
    for i, act in enumerate(DENSE_ACTIVATIONS):
        yield act, i != 1, i == 2
    yield DENSE_ACTIVATIONS[int(rng.integers(0, 4))], False, True


def check_dense_forward(dense_forward):
    guard.assert_independent(dense_forward)
    rng = fresh_rng()
    for act, use_bias, batched3d in _dense_cases(rng):
        x, W, b = _dense_inputs(rng, act, use_bias, batched3d)
        before = [x.copy(), W.copy(), None if b is None else b.copy()]
        out, cache = unpack_pair("dense_forward", run("dense_forward", dense_forward, x, W, b, act))
        check_not_mutated("dense_forward", before, [x, W, b])
        want, want_cache = D.dense_forward(before[0].copy(), before[1].copy(),
                                           None if b is None else before[2].copy(), act)
        what = f"dense_forward(x{x.shape}, kernel{W.shape}, bias={'None' if b is None else b.shape}, {act!r})"
        assert_close(what, out, want)
        if not (isinstance(cache, tuple) and len(cache) == 5):
            raise AssertionError("dense_forward's cache must be the 5-tuple "
                                 "(x, kernel, has_bias, activation, activation_cache).")
        assert_close("cache[0] (the input x)", cache[0], x)
        assert_close("cache[1] (the kernel)", cache[1], W)
        if bool(cache[2]) != (b is not None) or cache[3] != act:
            raise AssertionError(f"cache[2:4] must be (has_bias, activation) = ({b is not None}, {act!r}), "
                                 f"got ({cache[2]!r}, {cache[3]!r}).")
        if want_cache[4] is None:
            if cache[4] is not None:
                raise AssertionError("The linear activation's cache is None.")
        else:
            assert_close(f"cache[4] (the {act} activation's cache)", cache[4], want_cache[4])
    return True


def check_dense_backward(dense_backward):
    guard.assert_independent(dense_backward)
    rng = fresh_rng()
    for act, use_bias, batched3d in _dense_cases(rng):
        x, W, b = _dense_inputs(rng, act, use_bias, batched3d)
        _, cache = D.dense_forward(x.copy(), W.copy(), None if b is None else b.copy(), act)
        dy = rng.normal(size=x.shape[:-1] + (W.shape[1],))
        result = run("dense_backward", dense_backward, dy.copy(), cache, (True, True, True))
        if not (isinstance(result, tuple) and len(result) == 3):
            raise AssertionError("dense_backward must return the triple (dx, dkernel, dbias).")
        dx, dW, db = result

        def f_x(v):
            return D.dense_forward(v, W, b, act)[0]

        def f_w(v):
            return D.dense_forward(x, v, b, act)[0]

        case = f"(activation {act!r}, x{x.shape}, bias {'yes' if b is not None else 'None'})"
        hint = "Compared with a finite-difference gradient of minikeras's dense_forward."
        assert_close(f"dx {case}", dx, numerical_gradient(f_x, x.copy(), dy), **GRAD_TOL, hint=hint)
        assert_close(f"dkernel {case}", dW, numerical_gradient(f_w, W.copy(), dy), **GRAD_TOL, hint=hint)
        if b is None:
            if db is not None:
                raise AssertionError("With no bias (cache[2] is False) dbias must be None.")
        else:
            def f_b(v):
                return D.dense_forward(x, W, v, act)[0]
            assert_close(f"dbias {case}", db, numerical_gradient(f_b, b.copy(), dy), **GRAD_TOL, hint=hint)
        skipped = run("dense_backward", dense_backward, dy.copy(), cache, (False, True, True))
        if skipped[0] is not None:
            raise AssertionError("With needs[0] False (no one wants dx) dense_backward must return None "
                                 "for dx and skip that matrix product.")
        assert_close(f"dkernel with needs=(False, True, True) {case}", skipped[1], to_np(dW))
    return True


# ---------------------------------------------------------------- MLP on Fashion-MNIST

_DATA = {}


def _fashion():
    if "test" not in _DATA:
        from ..datasets import fashion_mnist
        (xtr, ytr), (xte, yte) = fashion_mnist.load_data()
        _DATA["train"] = (xtr.reshape(len(xtr), -1).astype("float32") / 255.0, ytr.astype("int64"))
        _DATA["test"] = (xte.reshape(len(xte), -1).astype("float32") / 255.0, yte.astype("int64"))
    return _DATA["train"], _DATA["test"]


def load_fashion_subset(n_train=10000, n_val=1000):
    """Flattened, [0, 1]-scaled Fashion-MNIST: the first ``n_train`` training images and the
    first ``n_val`` test images (for validation). The rest of the test set is kept for the
    hidden check."""
    (xtr, ytr), (xte, yte) = _fashion()
    return (xtr[:n_train], ytr[:n_train]), (xte[:n_val], yte[:n_val])


def accuracy(model, x, y):
    probs = to_np(model.predict(x, verbose=0))
    return float(np.mean(probs.reshape(len(x), -1).argmax(axis=1) == y))


def check_mlp(model, train_seconds, bar=0.80, time_limit=120.0, n_val=1000, n_check=3000):
    """Accuracy on fresh held-out Fashion-MNIST test images (never the validation ones)."""
    if not hasattr(model, "predict"):
        raise AssertionError("build_and_train must return a trained minikeras model.")
    if train_seconds > time_limit:
        raise AssertionError(f"Training took {train_seconds:.0f} s; the limit is {time_limit:.0f} s.")
    _, (xte, yte) = _fashion()
    idx = fresh_rng().choice(np.arange(n_val, len(xte)), size=n_check, replace=False)
    start = time.perf_counter()
    acc = accuracy(model, xte[idx], yte[idx])
    if time.perf_counter() - start > 30:
        raise AssertionError("Predicting 3,000 images took more than 30 s.")
    if acc < bar:
        raise AssertionError(f"Held-out accuracy {acc:.3f} is below the bar of {bar:.2f}.")
    return True
