"""Forward values and float64 finite-difference gradients of the differentiable ops."""
import numpy as np
import pytest

from minikeras import backend, ops
from minikeras.autodiff import Tensor, gradients
from tests.gradcheck import check_op_gradients

R = np.random.default_rng(42)
A23, B23, B3, B1 = R.normal(size=(2, 3)), R.normal(size=(2, 3)), R.normal(size=3), R.normal(size=(2, 1))
POS = R.uniform(0.5, 2.0, size=(2, 3))

BINARY = [
    ("add", ops.add, A23, B3, A23 + B3),
    ("subtract", ops.subtract, A23, B1, A23 - B1),
    ("multiply", ops.multiply, A23, B3, A23 * B3),
    ("divide", ops.divide, A23, POS, A23 / POS),
    ("power", ops.power, POS, B23, POS ** B23),
    ("maximum", ops.maximum, A23, B23, np.maximum(A23, B23)),
    ("minimum", ops.minimum, A23, B23, np.minimum(A23, B23)),
    ("matmul", ops.matmul, A23, R.normal(size=(3, 4)), None),
]


@pytest.mark.parametrize("name,op,a,b,expected", BINARY, ids=[b[0] for b in BINARY])
def test_binary_ops(float64, name, op, a, b, expected):
    out = op(a, b)
    ref = expected if expected is not None else a @ b
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    check_op_gradients(op, a, b)


UNARY = [
    ("exp", ops.exp, A23, np.exp(A23)),
    ("log", ops.log, POS, np.log(POS)),
    ("log1p", ops.log1p, POS, np.log1p(POS)),
    ("sqrt", ops.sqrt, POS, np.sqrt(POS)),
    ("square", ops.square, A23, A23 ** 2),
    ("abs", ops.abs, A23, np.abs(A23)),
    ("negative", ops.negative, A23, -A23),
    ("tanh", ops.tanh, A23, np.tanh(A23)),
    ("sigmoid", ops.sigmoid, A23, 1 / (1 + np.exp(-A23))),
    ("relu", ops.relu, A23, np.maximum(A23, 0)),
    ("softplus", ops.softplus, A23, np.log1p(np.exp(A23))),
    ("softmax", ops.softmax, A23, np.exp(A23) / np.exp(A23).sum(-1, keepdims=True)),
    ("log_softmax", ops.log_softmax, A23, A23 - np.log(np.exp(A23).sum(-1, keepdims=True))),
    ("sum_axis0", lambda x: ops.sum(x, axis=0), A23, A23.sum(0)),
    ("sum_all", ops.sum, A23, A23.sum()),
    ("mean_axis1_keep", lambda x: ops.mean(x, axis=1, keepdims=True), A23, A23.mean(1, keepdims=True)),
    ("max_axis1", lambda x: ops.max(x, axis=1), A23, A23.max(1)),
    ("min_all", ops.min, A23, A23.min()),
    ("var", lambda x: ops.var(x, axis=0), A23, A23.var(0)),
    ("reshape", lambda x: ops.reshape(x, (3, 2)), A23, A23.reshape(3, 2)),
    ("transpose", ops.transpose, A23, A23.T),
    ("expand_squeeze", lambda x: ops.squeeze(ops.expand_dims(x, 1), 1), A23, A23),
    ("getitem", lambda x: ops.getitem(x, (slice(None), slice(1, None))), A23, A23[:, 1:]),
    ("fancy_getitem_repeats", lambda x: ops.getitem(x, np.array([0, 0, 1])), A23, A23[[0, 0, 1]]),
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), A23, np.clip(A23, -0.5, 0.5)),
    ("where", lambda x: ops.where(A23 > 0, x, x * 2.0), A23, np.where(A23 > 0, A23, 2 * A23)),
    ("concatenate", lambda x: ops.concatenate([x, x * 2.0], axis=1), A23, np.concatenate([A23, 2 * A23], 1)),
    ("stack", lambda x: ops.stack([x, x], axis=0), A23, np.stack([A23, A23])),
    ("flip_axis1", lambda x: ops.flip(x, axis=1), A23, A23[:, ::-1]),
    ("take_rows", lambda x: ops.take(x, np.array([[1, 0], [1, 1]]), axis=0), A23, A23[[[1, 0], [1, 1]]]),
    ("take_flat", lambda x: ops.take(x, np.array([5, 0, 5])), A23, A23.ravel()[[5, 0, 5]]),
]


@pytest.mark.parametrize("name,op,a,expected", UNARY, ids=[u[0] for u in UNARY])
def test_unary_ops(float64, name, op, a, expected):
    np.testing.assert_allclose(op(a).numpy(), expected, rtol=1e-12, atol=1e-15)
    check_op_gradients(op, a)


def test_dense_op_gradients(float64):
    x, w, b = R.normal(size=(4, 3)), R.normal(size=(3, 2)), R.normal(size=2)
    for act in ("linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus"):
        check_op_gradients(lambda x_, w_, b_: ops.dense(x_, w_, b_, act), x, w, b)


def test_dense_op_on_3d_input(float64):
    x, w, b = R.normal(size=(2, 3, 4)), R.normal(size=(4, 5)), R.normal(size=5)
    np.testing.assert_allclose(ops.dense(x, Tensor(backend.xp().asarray(w)), Tensor(backend.xp().asarray(b))).numpy(),
                               x @ w + b, rtol=1e-12)
    check_op_gradients(lambda x_, w_, b_: ops.dense(x_, w_, b_, "tanh"), x, w, b)


def test_operators_follow_ops(float64):
    a = ops.convert_to_tensor(A23)
    np.testing.assert_allclose((2.0 - a * 3.0 / 2.0).numpy(), 2 - A23 * 1.5)
    np.testing.assert_allclose((a @ a.T).numpy(), A23 @ A23.T)
    np.testing.assert_allclose(np.asarray(a ** 2), A23 ** 2)
    np.testing.assert_allclose(np.asarray(-a), -A23)


def test_scalar_keeps_tensor_dtype():
    a = ops.ones((2,))
    assert (a * 0.5).dtype == "float32" and (1 + a).dtype == "float32"


def test_matmul_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
        ops.matmul(A23, B23)


def test_concatenate_shape_error():
    with pytest.raises(ValueError, match="same shape except along axis"):
        ops.concatenate([np.ones((2, 3)), np.ones((3, 3))], axis=1)


def test_reshape_error():
    with pytest.raises(ValueError, match="cannot reshape"):
        ops.reshape(np.ones((2, 3)), (4, 2))


def test_one_hot_argmax_and_comparisons():
    oh = ops.one_hot(np.array([0, 2]), 3).numpy()
    np.testing.assert_array_equal(oh, [[1, 0, 0], [0, 0, 1]])
    assert ops.argmax(oh).numpy().tolist() == [0, 2]
    assert ops.greater(np.array([1, 3]), 2).numpy().tolist() == [False, True]


def test_extreme_values_do_not_overflow():
    z = np.array([[-1000.0, 0.0, 1000.0]], dtype="float32")
    with np.errstate(all="raise", under="ignore"):
        for op in (ops.sigmoid, ops.softplus, ops.softmax, ops.log_softmax, ops.tanh):
            assert np.all(np.isfinite(op(z).numpy()))


def test_cast_gradient_returns_to_the_source_dtype():
    x = Tensor(backend.xp().asarray(np.array([1.5, -2.0], "float32")), requires_grad=True)
    y = ops.cast(x, "float64") * 3.0
    assert y.dtype == "float64"
    (g,) = gradients(y, [x], backend.xp().asarray(np.array([1.0, 2.0])))
    assert g.dtype == np.float32
    np.testing.assert_allclose(backend.to_numpy(g), [3.0, 6.0])
    assert not ops.cast(x, "int32").requires_grad  # integer casts carry no gradient
