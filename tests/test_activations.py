"""Activations: forward values against real Keras (including |z| = 1000, with overflow trapped)
and float64 finite-difference checks of every activation kernel."""
import math
import warnings

import numpy as np
import pytest

from gradcheck import check_op_gradients
from minikeras import activations, backend
from minikeras.autodiff import function, gradients
from minikeras.autodiff import Tensor
from minikeras.kernels import activations as K

# moderate values plus the extremes where naive formulas overflow or cancel
X = np.concatenate([np.linspace(-6, 6, 49),
                    [-1000.0, -100.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 100.0, 1000.0]]).astype(np.float32)


class trap_float_errors:
    """Overflow, invalid operations (NaN) and divisions by zero raise; warnings are errors.
    Underflow to 0 is fine (exp(-1000) == 0 is the right answer in float32)."""

    def __enter__(self):
        self._err = np.errstate(over="raise", invalid="raise", divide="raise")
        self._warn = warnings.catch_warnings()
        self._err.__enter__()
        self._warn.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._warn.__exit__(*exc)
        return self._err.__exit__(*exc)


def _ours(fn, x, **kwargs):
    with trap_float_errors():
        out = fn(Tensor(backend.xp().asarray(x)), **kwargs)
    assert isinstance(out, Tensor)
    return out.numpy()


def _theirs(keras, name, x, **kwargs):
    out = getattr(keras.activations, name)(keras.ops.convert_to_tensor(x), **kwargs)
    return np.asarray(out.detach().cpu().numpy()) if hasattr(out, "detach") else keras.ops.convert_to_numpy(out)


CASES = [
    ("linear", {}), ("relu", {}), ("relu", {"negative_slope": 0.1}), ("relu", {"max_value": 6.0}),
    ("relu", {"threshold": 1.0}), ("relu", {"negative_slope": 0.1, "max_value": 4.0, "threshold": 1.0}),
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.05}), ("sigmoid", {}), ("tanh", {}),
    ("softplus", {}), ("softsign", {}), ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}),
    ("gelu", {}), ("gelu", {"approximate": True}), ("softmax", {}), ("log_softmax", {}),
    ("swish", {}), ("silu", {}), ("hard_sigmoid", {}), ("exponential", {}),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{k}" if k else n for n, k in CASES])
def test_forward_matches_keras_without_overflow(keras_ref, name, kwargs):
    x = X[np.abs(X) <= 30] if name == "exponential" else X  # exp(1000) is rightly inf
    if name in ("softmax", "log_softmax"):
        x = x.reshape(-1, 1) + np.array([0.0, 1.0, -2.0, 3.0], np.float32)  # rows with extreme logits
    ours = _ours(activations.get(name), x, **kwargs)
    theirs = _theirs(keras_ref, name, x, **kwargs)
    assert ours.dtype == np.float32 and ours.shape == x.shape
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-6, err_msg=name)


def test_known_values():
    x = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0], np.float32)
    np.testing.assert_allclose(_ours(activations.sigmoid, x), [0, 1 / (1 + math.e), 0.5, 1 / (1 + math.exp(-2)), 1],
                               rtol=1e-6)
    np.testing.assert_allclose(_ours(activations.softplus, x), [0, math.log1p(math.exp(-1)), math.log(2),
                                                                  2 + math.log1p(math.exp(-2)), 1000], rtol=1e-6)
    np.testing.assert_allclose(_ours(activations.selu, x)[[0, 4]], [-1.6732632423543772 * 1.0507009873554805,
                                                                    1000 * 1.0507009873554805], rtol=1e-6)
    np.testing.assert_allclose(_ours(activations.softmax, np.array([[1000.0, 1000.0, -1000.0]], np.float32)),
                               [[0.5, 0.5, 0.0]])


def test_gelu_left_tail_is_accurate(float64):
    special = pytest.importorskip("scipy.special")
    x = np.linspace(-12, -2, 21)
    expected = x * 0.5 * special.erfc(-x / math.sqrt(2))
    np.testing.assert_allclose(_ours(activations.gelu, x), expected, rtol=1e-12)


def test_float64_stays_float64(float64):
    for name in ("sigmoid", "tanh", "softplus", "elu", "selu", "gelu", "softmax", "swish"):
        assert _ours(activations.get(name), np.linspace(-3, 3, 7)).dtype == np.float64, name


# ---------------------------------------------------------------- kernels: gradients


def _kernel_op(forward, backward, **attrs):
    """A differentiable op built straight from a forward/backward kernel pair."""
    bound = function(forward, lambda g, cache, needs: (backward(g, cache),))
    return lambda x: bound(x, **attrs)


KERNELS = [
    ("linear", {}), ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.05}),
    ("sigmoid", {}), ("tanh", {}), ("softplus", {}), ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}),
    ("gelu", {}), ("gelu", {"approximate": True}), ("softmax", {}), ("softmax", {"axis": 0}),
    ("log_softmax", {}), ("log_softmax", {"axis": 0}),
]


@pytest.mark.parametrize("name, attrs", KERNELS, ids=[f"{n}-{a}" if a else n for n, a in KERNELS])
def test_kernel_gradients(float64, name, attrs):
    forward, backward = getattr(K, f"{name}_forward"), getattr(K, f"{name}_backward")
    x = np.random.default_rng(0).uniform(-4, 4, (3, 5))
    x[np.abs(x) < 0.05] += 0.2  # keep away from the kinks of relu, leaky_relu and elu
    check_op_gradients(_kernel_op(forward, backward, **attrs), x)


def test_fusable_table_holds_matching_pairs():
    assert {"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus"} <= set(K.FUSABLE)
    for name, (forward, backward) in K.FUSABLE.items():
        assert forward is getattr(K, f"{name}_forward") and backward is getattr(K, f"{name}_backward")
        assert activations.fusable_name(activations.get(name)) == name
    assert activations.fusable_name(lambda x: x) is None


@pytest.mark.parametrize("name, expected", [
    ("relu", [0.0, 1.0]), ("sigmoid", [0.0, 0.0]), ("tanh", [0.0, 0.0]), ("softplus", [0.0, 1.0]),
    ("elu", [0.0, 1.0]), ("selu", [0.0, 1.0507009873554805]), ("gelu", [0.0, 1.0]),
    ("leaky_relu", [0.2, 1.0]),
])
def test_kernel_gradients_at_plus_minus_1000(name, expected):
    forward, backward = K.FUSABLE[name]
    x = backend.xp().asarray(np.array([-1000.0, 1000.0], np.float32))
    with trap_float_errors():
        y, cache = forward(x)
        dx = backward(backend.xp().ones_like(y), cache)
    assert dx.dtype == np.float32
    np.testing.assert_allclose(backend.to_numpy(dx), expected, rtol=1e-6, atol=1e-30)


def test_kernels_do_not_modify_their_input():
    x0 = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    for name, (forward, backward) in K.FUSABLE.items():
        x = backend.xp().asarray(x0.copy())
        y, cache = forward(x)
        backward(backend.xp().ones_like(y), cache)
        np.testing.assert_array_equal(backend.to_numpy(x), x0, err_msg=name)


def test_activation_ops_are_differentiable(float64):
    # the Tensor-level functions chain through autodiff (softsign, swish and hard_sigmoid are composites)
    for name in ("softsign", "swish", "hard_sigmoid", "exponential"):
        check_op_gradients(activations.get(name), np.array([[-2.3, -0.7, 0.4, 1.9]]))


# ---------------------------------------------------------------- lookup


def test_get_and_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("silu") is activations.swish
    assert activations.get(np.tanh) is np.tanh
    assert activations.serialize(activations.relu) == "relu"
    assert activations.deserialize("softmax") is activations.softmax
    with pytest.raises(ValueError, match="sigmoid"):  # the message lists the valid names
        activations.get("sigmoide")
    with pytest.raises(TypeError):
        activations.get(3)


def test_gradient_of_relu_through_ops_has_no_nan():
    x = Tensor(backend.xp().asarray(np.array([-1000.0, 0.0, 1000.0], np.float32)), requires_grad=True)
    (g,) = gradients(activations.relu(x), [x])
    np.testing.assert_array_equal(backend.to_numpy(g), [0.0, 0.0, 1.0])
