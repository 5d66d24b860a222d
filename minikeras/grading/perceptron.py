"""Hidden checks for ``01_perceptron``: step functions, threshold units, the perceptron
rule, and the activation kernels (relu, sigmoid, tanh) with minikeras's interfaces."""
import numpy as np

from ..kernels import activations as A
from ..kernels import dense as D
from . import guard
from ._common import check_activation_pair, check_not_mutated, run
from .numeric import assert_close, fresh_rng

TRUTH_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATE_TABLES = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "a_and_not_b": [0, 0, 1, 0],
}
XOR_TABLE = [0, 1, 1, 0]


# ---------------------------------------------------------------- references

def ref_heaviside(z):
    return (np.asarray(z) >= 0).astype(float)


def ref_tlu(X, W, b):
    z, _ = D.dense_forward(np.asarray(X, float), np.asarray(W, float), np.asarray(b, float))
    return (z >= 0).astype(float)


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


def separable_data(rng, m=None, d=None):
    """Integer features and a margin, so every summation order gives the exact same trace."""
    while True:
        d = d or int(rng.integers(2, 5))
        m = m or int(rng.integers(20, 41))
        w_star = rng.integers(-3, 4, size=d)
        if not w_star.any():
            continue
        b_star = int(rng.integers(-2, 3))
        X = rng.integers(-4, 5, size=(4 * m, d)).astype(float)
        score = X @ w_star + b_star
        X, score = X[np.abs(score) >= 1][:m], score[np.abs(score) >= 1][:m]
        y = (score > 0).astype(float)
        if len(X) == m and 0 < y.sum() < m:
            return X, y


# ---------------------------------------------------------------- checks

def check_step_functions(heaviside, sgn):
    guard.assert_independent(heaviside, sgn)
    rng = fresh_rng()
    z = rng.integers(-3, 4, size=(int(rng.integers(3, 7)), int(rng.integers(2, 5)))).astype(float)
    z.flat[0] = 0.0
    z = z * rng.uniform(0.5, 2.0, size=z.shape)
    assert_close("heaviside(z)", run("heaviside", heaviside, z.copy()), ref_heaviside(z),
                 hint="heaviside(z) is 1 where z >= 0 (including 0) and 0 elsewhere.")
    assert_close("sgn(z)", run("sgn", sgn, z.copy()), np.sign(z),
                 hint="sgn(z) is -1, 0 or +1; sgn(0) = 0.")
    ints = rng.integers(-5, 6, size=7)
    assert_close("heaviside on an integer array", run("heaviside", heaviside, ints), ref_heaviside(ints))
    return True


def check_tlu_forward(tlu_forward):
    guard.assert_independent(tlu_forward)
    rng = fresh_rng()
    for _ in range(3):
        m, n_in, n_out = (int(v) for v in rng.integers(1, 7, size=3))
        X, W, b = rng.normal(size=(m, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
        z = X @ W + b
        b = b + np.where(np.abs(z) < 1e-6, 1e-3, 0).max(initial=0)  # no ties at the threshold
        before = [X.copy(), W.copy(), b.copy()]
        out = run("tlu_forward", tlu_forward, X, W, b)
        check_not_mutated("tlu_forward", before, [X, W, b])
        assert_close(f"tlu_forward on X{X.shape}, W{W.shape}, b{b.shape}", out, ref_tlu(X, W, b),
                     hint="The output is heaviside(X @ W + b), one row per sample and one column per unit.")
    return True


def check_logic_gates(gates, xor_net):
    if not isinstance(gates, dict):
        raise AssertionError("GATES must be a dict mapping gate names to (w, b) pairs.")
    for name, table in GATE_TABLES.items():
        if name not in gates:
            raise AssertionError(f"GATES has no entry {name!r}.")
        w, b = gates[name]
        w = np.asarray(w, float).reshape(2, 1)
        out = ref_tlu(TRUTH_INPUTS, w, np.asarray(b, float).reshape(1))[:, 0]
        if out.tolist() != [float(t) for t in table]:
            raise AssertionError(f"The {name!r} unit computes {out.astype(int).tolist()} on inputs "
                                 f"(0,0),(0,1),(1,0),(1,1); expected {table}.")
    try:
        (W1, b1), (W2, b2) = xor_net
    except (TypeError, ValueError):
        raise AssertionError("XOR_NET must be [(W1, b1), (W2, b2)].") from None
    hidden = ref_tlu(TRUTH_INPUTS, W1, np.asarray(b1, float).reshape(-1))
    out = ref_tlu(hidden, W2, np.asarray(b2, float).reshape(-1)).reshape(-1)
    if out.tolist() != [float(t) for t in XOR_TABLE]:
        raise AssertionError(f"XOR_NET computes {out.astype(int).tolist()}; expected {XOR_TABLE}.")
    return True


def check_perceptron_update(perceptron_update):
    guard.assert_independent(perceptron_update)
    rng = fresh_rng()
    d = int(rng.integers(2, 6))
    for y_true, y_pred in ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.0, 0.0)):
        w, x = rng.normal(size=d), rng.normal(size=d)
        b, lr = float(rng.normal()), float(rng.uniform(0.05, 2.0))
        before = [w.copy(), x.copy()]
        result = run("perceptron_update", perceptron_update, w, b, x, y_true, y_pred, lr)
        check_not_mutated("perceptron_update", before, [w, x])
        if not (isinstance(result, tuple) and len(result) == 2):
            raise AssertionError("perceptron_update must return (new_w, new_b).")
        want_w, want_b = ref_update(w, b, x, y_true, y_pred, lr)
        case = f"(y_true={y_true:g}, y_pred={y_pred:g})"
        assert_close(f"new w {case}", result[0], want_w)
        assert_close(f"new b {case}", np.asarray(result[1], float), np.asarray(want_b))
    return True


def check_train_perceptron(train_perceptron):
    guard.assert_independent(train_perceptron)
    rng = fresh_rng()
    for lr in (1.0, 0.5):
        X, y = separable_data(rng)
        want_w, want_b, want_err = ref_train(X, y, lr=lr, max_epochs=1000)
        if want_err[-1] != 0:  # extremely rare: draw another set
            continue
        result = run("train_perceptron", train_perceptron, X.copy(), y.copy(), lr=lr, max_epochs=1000)
        if not (isinstance(result, tuple) and len(result) == 3):
            raise AssertionError("train_perceptron must return (w, b, errors_per_epoch).")
        w, b, errors = result
        errors = [int(e) for e in errors]
        if errors != want_err:
            raise AssertionError(f"Mistakes per epoch were {errors[:10]}{'...' if len(errors) > 10 else ''}, "
                                 f"the rule gives {want_err[:10]}{'...' if len(want_err) > 10 else ''} "
                                 f"(start from zeros, visit samples in order, stop after an epoch "
                                 f"without mistakes).")
        assert_close("trained w", w, want_w)
        assert_close("trained b", np.asarray(b, float), np.asarray(want_b))
        pred = (X @ np.asarray(w, float) + float(b) >= 0).astype(float)
        if not np.array_equal(pred, y):
            raise AssertionError("The trained perceptron still misclassifies training points.")
    return True


def check_relu(relu_forward, relu_backward):
    return check_activation_pair("relu", relu_forward, relu_backward, A.relu_forward, fresh_rng(), kink=True)


def check_sigmoid_tanh(sigmoid_forward, sigmoid_backward, tanh_forward, tanh_backward):
    rng = fresh_rng()
    check_activation_pair("sigmoid", sigmoid_forward, sigmoid_backward, A.sigmoid_forward, rng)
    check_activation_pair("tanh", tanh_forward, tanh_backward, A.tanh_forward, rng)
    return True
