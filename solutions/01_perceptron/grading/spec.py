"""Hidden checks of 01_perceptron, written the trusted way (see docs/grading.md).

Each task lists the input classes its text allows (the coverage rule in docs/grading.md):
any shape means 0-d to 3-D, integer and float inputs; the kernels of Tasks 6-7 also get
float32 (what minikeras trains in) and float64, and |x| up to 1000; the perceptron gets
every stop condition (a clean epoch, the epoch budget running out, a budget of one epoch,
data that needs no update at all). Inputs are drawn fresh on every run.
"""
import numpy as np

from minikeras.grading.judge import Case, Step, Task, shape_text
from minikeras.kernels import activations as A

NOTEBOOK = "perceptron.ipynb"
SHAPES = [(), (7,), (3, 4), (2, 3, 4)]
FLOATS = ("float32", "float64")

# ------------------------------------------------------------------ references


def ref_heaviside(z):
    return (np.asarray(z) >= 0).astype(float)


def ref_sgn(z):
    return np.sign(np.asarray(z)).astype(float)


def ref_tlu(X, W, b):
    return ref_heaviside(np.asarray(X, float) @ np.asarray(W, float) + np.asarray(b, float))


def ref_update(w, b, x, y_true, y_pred, lr):
    return w + lr * (y_true - y_pred) * x, b + lr * (y_true - y_pred)


def ref_train(X, y, lr=1.0, max_epochs=100):
    w, b, errors = np.zeros(X.shape[1]), 0.0, []
    for _ in range(max_epochs):
        wrong = 0
        for xi, yi in zip(X, y):
            y_hat = 1.0 if xi @ w + b >= 0 else 0.0
            if y_hat != yi:
                w, b = ref_update(w, b, xi, yi, y_hat, lr)
                wrong += 1
        errors.append(wrong)
        if wrong == 0:
            break
    return w, b, errors


# What the graded functions of later tasks may call, put in while they are graded, so that a
# mistake in an earlier task is charged once (docs/grading.md, "one mistake, one task").
CONTEXT_HEAVISIDE = '''
def heaviside(z):
    return (np.asarray(z) >= 0).astype(float)
'''
CONTEXT_TRAIN = CONTEXT_HEAVISIDE + '''
def perceptron_update(w, b, x, y_true, y_pred, lr):
    step = lr * (y_true - y_pred)
    return w + step * x, b + step
'''


# ------------------------------------------------------------------ Task 1

def _step_values(rng, shape, dtype):
    z = np.array(rng.integers(-3, 4, size=shape))
    if shape == ():
        z = np.array(rng.choice([-2, 0, 3]))
    else:
        z.flat[0] = 0
    if dtype != "int64":
        z = (z * rng.uniform(0.5, 2.0, size=shape)).astype(dtype)
    return np.asarray(z)


def cases_step(rng, task):
    out = []
    for shape in SHAPES:
        for dtype in ("int64",) + FLOATS:
            z = _step_values(rng, shape, dtype)
            out.append(Case(f"z ({shape_text(shape)}, {dtype})",
                            [Step("heaviside", (z,), label="heaviside(z)"),
                             Step("sgn", (z,), label="sgn(z)")], same_dtype=False))
    zero = np.asarray(0.0)
    out.append(Case("z = 0 (a 0-d array)", [Step("heaviside", (zero,), label="heaviside(0)"),
                                            Step("sgn", (zero,), label="sgn(0)")], same_dtype=False))
    return out


# ------------------------------------------------------------------ Task 2

def cases_tlu(rng, task):
    out = []
    sizes = [(1, int(rng.integers(2, 5)), 1), (int(rng.integers(2, 7)), int(rng.integers(2, 5)), 1),
             (1, int(rng.integers(2, 5)), int(rng.integers(2, 5))),
             (int(rng.integers(4, 8)), int(rng.integers(2, 5)), int(rng.integers(2, 5)))]
    for m, n_in, n_out in sizes:
        # integer values give exact ties (z == 0), where heaviside must give 1; the first
        # unit's bias makes sure the first sample is one (random draws may have none)
        X = rng.integers(-2, 3, size=(m, n_in)).astype(float)
        W = rng.integers(-2, 3, size=(n_in, n_out)).astype(float)
        b = rng.integers(-2, 3, size=n_out).astype(float)
        b[0] = -(X[0] @ W[:, 0])
        out.append(Case(f"X{X.shape}, W{W.shape}, b{b.shape} with some units exactly at the threshold",
                        [Step("tlu_forward", (X, W, b), label="tlu_forward(X, W, b)")], same_dtype=False))
    m, n_in, n_out = int(rng.integers(3, 7)), int(rng.integers(2, 6)), int(rng.integers(2, 5))
    if m == n_out:
        m += 1
    X, W, b = rng.normal(size=(m, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
    out.append(Case(f"random X{X.shape}, W{W.shape}, b{b.shape}",
                    [Step("tlu_forward", (X, W, b), label="tlu_forward(X, W, b)")], same_dtype=False))
    return out


# ------------------------------------------------------------------ Task 3

TRUTH_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATE_TABLES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "nand": [1, 1, 1, 0], "a_and_not_b": [0, 0, 1, 0]}
XOR_TABLE = [0, 1, 1, 0]


def _floats(value, shape=None):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if shape is None or arr.shape == shape else None


def check_gates(case, got, want):
    gates = got[0].get("ok") if isinstance(got[0], dict) else None
    if not isinstance(gates, dict):
        return "GATES must be a dict mapping gate names to (w, b) pairs", {"gates-type"}
    wrong, first = [], None
    for name, table in GATE_TABLES.items():
        entry = gates.get(name)
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            problem = f"GATES[{name!r}] must be a pair (w, b)"
        else:
            w, b = _floats(entry[0], (2,)), _floats(entry[1])
            if w is None or b is None or b.size != 1:
                problem = f"GATES[{name!r}]: w must have shape (2,) and b must be a number"
            else:
                out = ref_tlu(TRUTH_INPUTS, w.reshape(2, 1), b.reshape(1))[:, 0]
                problem = None if out.tolist() == [float(t) for t in table] else (
                    f"the {name!r} unit computes {out.astype(int).tolist()} on (0,0),(0,1),(1,0),(1,1); "
                    f"expected {table}")
        if problem:
            wrong.append(name)
            first = first or problem
    if wrong:  # the symptom names every wrong gate, so that the catalogue can tell mistakes apart
        return first + (f" (wrong gates: {', '.join(wrong)})" if len(wrong) > 1 else ""), {"gates:" + "+".join(wrong)}
    net = got[1].get("ok") if isinstance(got[1], dict) else None
    try:
        (W1, b1), (W2, b2) = net
    except (TypeError, ValueError):
        return "XOR_NET must be [(W1, b1), (W2, b2)]", {"xor-shape"}
    W1, b1, W2, b2 = (_floats(v) for v in (W1, b1, W2, b2))
    if any(v is None for v in (W1, b1, W2, b2)) or W1.ndim != 2 or W1.shape[0] != 2:
        return "XOR_NET's W1 must have shape (2, k)", {"xor-shape"}
    k = W1.shape[1]
    if b1.shape != (k,) or W2.shape != (k, 1) or b2.shape != (1,):
        return (f"XOR_NET's shapes must be W1 (2, k), b1 (k,), W2 (k, 1), b2 (1,); got W1 {W1.shape}, "
                f"b1 {b1.shape}, W2 {W2.shape}, b2 {b2.shape}"), {"xor-shape"}
    out = ref_tlu(ref_tlu(TRUTH_INPUTS, W1, b1), W2, b2).reshape(-1)
    if out.tolist() != [float(t) for t in XOR_TABLE]:
        return f"XOR_NET computes {out.astype(int).tolist()}; expected {XOR_TABLE}", {"xor"}
    return None, set()


REFERENCE_GATES = {"and": (np.array([1.0, 1.0]), -1.5), "or": (np.array([1.0, 1.0]), -0.5),
                   "nand": (np.array([-1.0, -1.0]), 1.5), "a_and_not_b": (np.array([1.0, -1.0]), -0.5)}
REFERENCE_XOR = [(np.array([[1.0, -1.0], [1.0, -1.0]]), np.array([-0.5, 1.5])),
                 (np.array([[1.0], [1.0]]), np.array([-1.5]))]


def cases_gates(rng, task):
    return [Case("the four input pairs", [Step("GATES", get=True, label="GATES"),
                                          Step("XOR_NET", get=True, label="XOR_NET")], check=check_gates)]


# ------------------------------------------------------------------ Task 4

def cases_update(rng, task):
    out = []
    for y_true, y_pred in ((1, 0), (0, 1), (1, 1), (0, 0)):
        for kind in (int, float):
            d = int(rng.integers(2, 6))
            w, x = rng.normal(size=d), rng.normal(size=d)
            b, lr = float(rng.normal()), float(rng.uniform(0.05, 2.0))
            out.append(Case(f"y_true={kind(y_true)!r}, y_pred={kind(y_pred)!r}, lr={lr:.2f}",
                            [Step("perceptron_update", (w, b, x, kind(y_true), kind(y_pred), lr),
                                  label="perceptron_update(w, b, x, y_true, y_pred, lr)",
                                  names=("new_w", "new_b"))]))
    return out


# ------------------------------------------------------------------ Task 5

def separable(rng, m, d):
    while True:
        w_star = rng.integers(-3, 4, size=d)
        if not w_star.any():
            continue
        b_star = int(rng.integers(-2, 3))
        X = rng.integers(-4, 5, size=(6 * m, d)).astype(float)
        score = X @ w_star + b_star
        X, score = X[np.abs(score) >= 1][:m], score[np.abs(score) >= 1][:m]
        y = (score > 0).astype(float)
        if len(X) == m and 0 < y.sum() < m:
            return X, y


def inseparable(rng, m, d):
    X = rng.integers(-3, 4, size=(m, d)).astype(float)
    X[:4, :2] = [[0, 0], [0, 1], [1, 0], [1, 1]]
    X[:4, 2:] = 0
    y = rng.integers(0, 2, size=m).astype(float)
    y[:4] = [0, 1, 1, 0]  # an XOR inside: never separable
    return X, y


def cases_train(rng, task):
    out = []
    names = ("w", "b", "errors_per_epoch")
    label = "train_perceptron(X, y, lr, max_epochs)"

    def add(desc, X, y, lr, max_epochs):
        out.append(Case(desc, [Step("train_perceptron", (X, y), {"lr": lr, "max_epochs": max_epochs},
                                    label=label, names=names)], same_dtype=False))

    for lr in (1.0, 0.5):
        X, y = separable(rng, int(rng.integers(20, 41)), int(rng.integers(2, 5)))
        add(f"separable data ({len(X)} samples), lr={lr}, a large budget: it must stop after the "
            "first epoch without mistakes", X, y, lr, 1000)
    X, y = inseparable(rng, int(rng.integers(8, 16)), int(rng.integers(2, 4)))
    budget = int(rng.integers(3, 7))
    add(f"data that is not separable, max_epochs={budget}: the epoch budget runs out", X, y, 1.0, budget)
    add("data that is not separable, max_epochs=1", X, y, 0.5, 1)
    X = rng.integers(0, 4, size=(6, 3)).astype(float)
    add("labels that are all 1: the zero weights already classify them (heaviside(0) = 1)",
        X, np.ones(6), 1.0, 20)
    return out


# ------------------------------------------------------------------ Tasks 6 and 7

def _activation_inputs(rng, shape, dtype, extremes=False):
    x = np.array(rng.normal(scale=3.0, size=shape))
    if x.size:
        x.flat[0] = 0.0
    if extremes and x.size >= 6:
        x.flat[:8] = [0.0, -1000.0, 1000.0, -100.0, 100.0, 88.8, -88.8, 1e-3][:min(8, x.size)]
    return np.asarray(x, dtype=dtype)


def activation_cases(rng, name, forward, extremes):
    out = []
    for shape in SHAPES:
        for dtype in FLOATS:
            x = _activation_inputs(rng, shape, dtype)
            y, cache = forward(x.copy())
            dy = np.asarray(rng.normal(size=shape), dtype=dtype)
            out.append(Case(f"x ({shape_text(shape)}, {dtype})", [
                Step(f"{name}_forward", (x,), label=f"{name}_forward(x)", names=("y", "cache")),
                Step(f"{name}_backward", (dy, cache), label=f"{name}_backward(dy, cache)")]))
    if extremes:
        for dtype in FLOATS:
            x = _activation_inputs(rng, (3, 4), dtype, extremes=True)
            y, cache = forward(x.copy())
            dy = np.asarray(rng.normal(size=x.shape), dtype=dtype)
            out.append(Case(f"x with values up to |x| = 1000 ({dtype})", [
                Step(f"{name}_forward", (x,), label=f"{name}_forward(x)", names=("y", "cache")),
                Step(f"{name}_backward", (dy, cache), label=f"{name}_backward(dy, cache)")]))
    return out


def cases_relu(rng, task):
    return activation_cases(rng, "relu", A.relu_forward, extremes=False)


def cases_sigmoid_tanh(rng, task):
    return (activation_cases(rng, "sigmoid", A.sigmoid_forward, extremes=True)
            + activation_cases(rng, "tanh", A.tanh_forward, extremes=True))


# ------------------------------------------------------------------ the tasks

TASKS = [
    Task("test_step_functions", "Task 1, step functions", ("heaviside", "sgn"), cases_step,
         reference={"heaviside": ref_heaviside, "sgn": ref_sgn}),
    Task("test_tlu_forward", "Task 2, a layer of threshold units", ("tlu_forward",), cases_tlu,
         reference={"tlu_forward": ref_tlu}, context=CONTEXT_HEAVISIDE),
    Task("test_logic_gates", "Task 3, logic gates and XOR", ("GATES", "XOR_NET"), cases_gates,
         reference={"GATES": REFERENCE_GATES, "XOR_NET": REFERENCE_XOR}, context=CONTEXT_HEAVISIDE),
    Task("test_perceptron_update", "Task 4, one perceptron update", ("perceptron_update",), cases_update,
         reference={"perceptron_update": ref_update}),
    Task("test_train_perceptron", "Task 5, training a perceptron", ("train_perceptron",), cases_train,
         reference={"train_perceptron": ref_train}, context=CONTEXT_TRAIN,
         hint_on_failure="Follow the procedure exactly: zeros to start, samples in order, count the "
                         "mistakes of each epoch, stop after a clean epoch or after max_epochs epochs."),
    Task("test_relu", "Task 6, ReLU kernel", ("relu_forward", "relu_backward"), cases_relu,
         reference={"relu_forward": A.relu_forward, "relu_backward": A.relu_backward}),
    Task("test_sigmoid_tanh", "Task 7, sigmoid and tanh kernels",
         ("sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward"), cases_sigmoid_tanh,
         reference={"sigmoid_forward": A.sigmoid_forward, "sigmoid_backward": A.sigmoid_backward,
                    "tanh_forward": A.tanh_forward, "tanh_backward": A.tanh_backward}),
]
