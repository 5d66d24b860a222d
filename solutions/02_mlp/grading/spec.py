"""Hidden checks of 02_mlp, written the trusted way (see docs/grading.md).

Coverage (docs/grading.md, "Hidden checks"): float32 and float64 everywhere the library
uses both; softmax over every axis of 1-D to 3-D inputs (square ones too, where a
wrong-axis broadcast goes unnoticed) and over logits of size 1000; cross-entropy with one
sample and many, one-hot and soft targets; the Dense kernel with every activation the table
offers, with and without bias, on 1-D, 2-D and 3-D inputs, and every ``needs`` pattern; the
MLP on fresh held-out test images, within a CPU budget that the grader measures from outside.
"""
import numpy as np

from minikeras.grading.judge import Case, Data, Out, Step, Task, Verdict, accuracy_verdict, out_of_time, shape_text
from minikeras.kernels import activations as A
from minikeras.kernels import dense as D
from minikeras.kernels import losses as L

NOTEBOOK = "mlp.ipynb"
FLOATS = ("float32", "float64")
DENSE_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
N_TRAIN, N_VAL, N_HELDOUT = 10000, 1000, 3000

# The table of the notebook's locked cell, with minikeras's own kernels (put in while the
# Dense tasks are graded, so a mistake in Task 1's softmax is not charged twice).
CONTEXT_ACTIVATIONS = '''
def _act(name):
    if name == "linear":
        return (lambda x: (x, None)), (lambda dy, cache: dy)
    if name == "relu":
        def f(x):
            y = np.maximum(x, 0)
            return y, y
        return f, (lambda dy, y: dy * (y > 0))
    if name == "sigmoid":
        def f(x):
            e = np.exp(-np.abs(x))
            y = np.where(x >= 0, 1, e) / (1 + e)
            return y, y
        return f, (lambda dy, y: dy * y * (1 - y))
    if name == "tanh":
        def f(x):
            y = np.tanh(x)
            return y, y
        return f, (lambda dy, y: dy * (1 - y * y))
    def f(x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        return y, (y, axis)
    def b(dy, cache):
        y, axis = cache
        return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
    return f, b


ACTIVATIONS = {name: _act(name) for name in ("linear", "relu", "sigmoid", "tanh", "softmax")}
'''


def _dt(x, dtype):
    return np.asarray(x, dtype=dtype)


# ------------------------------------------------------------------ Task 1

SOFTMAX_SHAPES = [((6,), -1), ((4, 6), -1), ((4, 6), 0), ((4, 4), -1), ((3, 4, 5), 1), ((3, 4, 5), -1),
                  ((3, 4, 5), 0)]


def cases_softmax(rng, task):
    out = []
    for (shape, axis) in SOFTMAX_SHAPES:
        for dtype in FLOATS:
            x = _dt(rng.normal(scale=2.0, size=shape), dtype)
            y, cache = A.softmax_forward(x.copy(), axis=axis)
            dy = _dt(rng.normal(size=shape), dtype)
            out.append(Case(f"x ({shape_text(shape)}, {dtype}), axis={axis}", [
                Step("softmax_forward", (x,), {"axis": axis}, label=f"softmax_forward(x, axis={axis})",
                     names=("y", "cache")),
                Step("softmax_backward", (dy, cache), label="softmax_backward(dy, cache)")]))
    for dtype in FLOATS:
        x = _dt([[1000.0, 999.0, 0.0, -5.0], [-1000.0, -999.0, -1001.0, -1000.5],
                 [0.0, 0.0, 1000.0, 3.0]], dtype)
        y, cache = A.softmax_forward(x.copy())
        dy = _dt(rng.normal(size=x.shape), dtype)
        out.append(Case(f"rows of logits near +1000 and near -1000 ({dtype})", [
            Step("softmax_forward", (x,), {"axis": -1}, label="softmax_forward(x, axis=-1)", names=("y", "cache")),
            Step("softmax_backward", (dy, cache), label="softmax_backward(dy, cache)")]))
    return out


# ------------------------------------------------------------------ Tasks 2 and 3

def _logits(rng, m, k, dtype, extreme):
    z = rng.normal(scale=3.0, size=(m, k))
    if extreme:
        z[0, 0], z[-1, -1] = 1000.0, -1000.0
        z[m // 2, :] = [1000.0 if j % 2 else -1000.0 for j in range(k)]
    return _dt(z, dtype)


def ce_cases(rng, name, make_targets, reference_forward):
    out = []
    label_f = f"{name}_forward(y_true, logits, from_logits=True)"
    label_b = f"{name}_backward(dloss, cache)"
    for m, extreme in ((1, False), (int(rng.integers(3, 8)), False), (int(rng.integers(3, 8)), True)):
        for dtype in FLOATS:
            k = int(rng.integers(3, 7))
            z = _logits(rng, m, k, dtype, extreme)
            t = make_targets(rng, m, k, dtype)
            dloss = _dt(rng.normal(size=(m,)), dtype)
            desc = f"{m} sample{'s' if m > 1 else ''}, {k} classes ({dtype})" + (
                ", logits of size 1000" if extreme else "")
            out.append(Case(desc, [
                Step(f"{name}_forward", (t, z), {"from_logits": True}, record=[0], label=label_f + ": the loss"),
                Step(f"{name}_backward", (dloss, Out(0, 1)), label=label_b)]))
    return out


def _labels(rng, m, k, dtype):
    return rng.integers(0, k, size=m)


def _soft_targets(rng, m, k, dtype):
    t = np.eye(k)[rng.integers(0, k, size=m)]
    if m > 2:
        t[0] = rng.dirichlet(np.ones(k))  # soft labels: a row that still sums to 1
    return _dt(t, dtype)


def cases_sparse(rng, task):
    return ce_cases(rng, "sparse_categorical_crossentropy", _labels, L.sparse_categorical_crossentropy_forward)


def cases_categorical(rng, task):
    return ce_cases(rng, "categorical_crossentropy", _soft_targets, L.categorical_crossentropy_forward)


# ------------------------------------------------------------------ Tasks 4 and 5

def _dense_inputs(rng, lead, dtype, use_bias):
    n_in, units = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    if n_in == units:
        n_in += 1  # a square kernel would hide a missing transpose
    x = _dt(rng.normal(size=lead + (n_in,)), dtype)
    kernel = _dt(rng.normal(size=(n_in, units)), dtype)
    bias = _dt(rng.normal(size=units) * 2.0, dtype) if use_bias else None
    return x, kernel, bias


def dense_input_classes(rng):
    classes = []
    for act in DENSE_ACTIVATIONS:
        for use_bias in (True, False):
            classes.append((act, use_bias, (int(rng.integers(2, 6)),), "float64"))
            classes.append((act, use_bias, (2, int(rng.integers(2, 4))), "float32"))
        classes.append((act, True, (), "float64"))
        classes.append((act, True, (int(rng.integers(2, 6)),), "float32"))
        classes.append((act, True, (2, 3), "float64"))
    return classes


def _dense_desc(act, x, bias):
    return (f"activation {act!r}, x of shape {x.shape} ({x.dtype}), "
            f"{'with a bias' if bias is not None else 'no bias'}")


def cases_dense_forward(rng, task):
    out = []
    for act, use_bias, lead, dtype in dense_input_classes(rng):
        x, kernel, bias = _dense_inputs(rng, lead, dtype, use_bias)
        out.append(Case(_dense_desc(act, x, bias), [
            Step("dense_forward", (x, kernel, bias, act), label=f"dense_forward(x, kernel, bias, {act!r})",
                 names=("y", "cache"))]))
    return out


NEEDS = [(True, True, True), (False, True, True), (True, False, True), (True, True, False)]


def cases_dense_backward(rng, task):
    out = []
    for i, (act, use_bias, lead, dtype) in enumerate(dense_input_classes(rng)):
        x, kernel, bias = _dense_inputs(rng, lead, dtype, use_bias)
        y, cache = D.dense_forward(x.copy(), kernel.copy(), None if bias is None else bias.copy(), act)
        dy = _dt(rng.normal(size=y.shape), dtype)
        needs = NEEDS[0] if i % 3 else NEEDS[1 + (i // 3) % 3]
        out.append(Case(_dense_desc(act, x, bias) + (f", needs={needs}" if needs != NEEDS[0] else ""), [
            Step("dense_backward", (dy, cache, needs), label="dense_backward(dy, cache, needs)",
                 names=("dx", "dkernel", "dbias"))]))
    return out


# ------------------------------------------------------------------ Task 6

_TEST = {}


def _fashion_test():
    if "x" not in _TEST:
        from minikeras.datasets import fashion_mnist
        _, (x, y) = fashion_mnist.load_data()
        _TEST["x"], _TEST["y"] = x.reshape(len(x), -1), y.astype(np.int64)
    return _TEST["x"], _TEST["y"]


def prepare_shared(folder):
    """The training and validation images the sandboxed notebook may read (no test images)."""
    from minikeras.grading import data
    data.write_fashion_subset(folder, N_TRAIN, N_VAL)


def cases_mlp(rng, task):
    x, y = _fashion_test()
    idx = rng.choice(len(x), size=N_HELDOUT, replace=False)
    images = x[idx].astype(np.float32) / 255.0
    images = np.clip(images + rng.normal(scale=0.01, size=images.shape), 0.0, 1.0).astype(np.float32)
    case = Case(f"{N_HELDOUT} held-out test images", [
        Step("model.predict", (Data("heldout_x"),), {"verbose": 0}, label="model.predict(images)")],
        secret=y[idx])
    case.files = {"heldout_x": images}
    return [case]


def evaluate_mlp(task, cases, records, observed):
    late = out_of_time(task, observed)
    if late:
        return late
    if not records or not records[0]:
        return Verdict(task.id, False, "No predictions came back (is `model` defined when the test "
                                       "cell runs?).", {"no-result"})
    record = records[0][0]
    if "error" in record or "missing" in record:
        what = record.get("error", {}).get("message", "") if "error" in record else "`model` is not defined"
        return Verdict(task.id, False, f"model.predict failed: {what}", {"error"})
    pred = np.asarray(record.get("ok")) if isinstance(record.get("ok"), np.ndarray) else None
    labels = cases[0].secret
    if pred is None or pred.ndim != 2 or pred.shape[0] != len(labels) or pred.shape[1] != 10:
        shape = None if pred is None else pred.shape
        return Verdict(task.id, False, f"predict must give one row of 10 class scores per image, shape "
                                       f"({len(labels)}, 10); got {shape}.", {"output-shape"})
    return accuracy_verdict(task, pred, labels, 0.80, observed)


TASKS = [
    Task("test_softmax", "Task 1, stable softmax", ("softmax_forward", "softmax_backward"), cases_softmax,
         reference={"softmax_forward": A.softmax_forward, "softmax_backward": A.softmax_backward}),
    Task("test_sparse_crossentropy", "Task 2, sparse softmax cross-entropy",
         ("sparse_categorical_crossentropy_forward", "sparse_categorical_crossentropy_backward"), cases_sparse,
         reference={"sparse_categorical_crossentropy_forward": L.sparse_categorical_crossentropy_forward,
                    "sparse_categorical_crossentropy_backward": L.sparse_categorical_crossentropy_backward}),
    Task("test_categorical_crossentropy", "Task 3, categorical cross-entropy",
         ("categorical_crossentropy_forward", "categorical_crossentropy_backward"), cases_categorical,
         reference={"categorical_crossentropy_forward": L.categorical_crossentropy_forward,
                    "categorical_crossentropy_backward": L.categorical_crossentropy_backward}),
    Task("test_dense_forward", "Task 4, Dense forward", ("dense_forward",), cases_dense_forward,
         reference={"dense_forward": D.dense_forward}, context=CONTEXT_ACTIVATIONS),
    Task("test_dense_backward", "Task 5, Dense backward", ("dense_backward",), cases_dense_backward,
         reference={"dense_backward": D.dense_backward}, context=CONTEXT_ACTIVATIONS),
    Task("test_mlp", "Task 6, an MLP on Fashion-MNIST", ("model",), cases_mlp, where="notebook",
         cpu_budget=120.0, evaluate=evaluate_mlp),
]
