"""``keras.ops`` array constructors and the helpers DLwP ch. 7 uses, against Keras 3 (torch):
values, dtypes (Python ints are int32, floats floatx, shape-given constructors floatx) and
shapes; gradients by finite differences where the op is differentiable."""
import numpy as np
import pytest

from minikeras import backend, ops
from minikeras.autodiff import Tensor, gradients
from tests.gradcheck import check_op_gradients

CASES = {
    "array_ints": lambda o: o.array([0, 1, 2]),
    "array_nested_ints": lambda o: o.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
    "array_floats": lambda o: o.array([0.0, 1, 2]),
    "array_mixed": lambda o: o.array([1, 2.5]),
    "array_bools": lambda o: o.array([True, False]),
    "array_int_scalar": lambda o: o.array(3),
    "array_big_int": lambda o: o.array(2 ** 40),
    "array_float_scalar": lambda o: o.array(2.5),
    "array_numpy_float64_scalar": lambda o: o.array(np.float64(2.0)),
    "array_numpy_int64": lambda o: o.array(np.arange(3)),
    "array_numpy_float64": lambda o: o.array(np.ones(2)),
    "array_dtype": lambda o: o.array([1, 2], dtype="float16"),
    "array_numpy_cast": lambda o: o.array(np.array([1, 2], dtype="int64"), dtype="float32"),
    "array_of_tensor": lambda o: o.array(o.array([1, 2])),
    "convert_to_tensor_ints": lambda o: o.convert_to_tensor([1, 2]),
    "convert_to_tensor_int": lambda o: o.convert_to_tensor(7),
    "arange_int": lambda o: o.arange(3),
    "arange_float_stop": lambda o: o.arange(3.0),
    "arange_float_step": lambda o: o.arange(0, 1, 0.25),
    "arange_numpy_int": lambda o: o.arange(np.int64(3)),
    "arange_negative_step": lambda o: o.arange(5, 1, -2),
    "arange_dtype": lambda o: o.arange(3, dtype="float32"),
    "zeros": lambda o: o.zeros((2,)),
    "ones_int_shape": lambda o: o.ones(3),
    "zeros_dtype": lambda o: o.zeros(3, dtype="int32"),
    "zeros_like_int": lambda o: o.zeros_like(o.array([1, 2])),
    "zeros_like_float64": lambda o: o.zeros_like(np.ones(2)),
    "ones_like_dtype": lambda o: o.ones_like(o.array([1, 2]), dtype="float32"),
    "full_int_fill": lambda o: o.full((2,), 3),
    "full_bool_fill": lambda o: o.full((2, 2), True),
    "full_dtype": lambda o: o.full((2,), 3, dtype="int32"),
    "full_array_fill": lambda o: o.full((2,), np.array([1, 2])),
    "full_like_int": lambda o: o.full_like(o.array([1, 2]), 2.5),
    "full_like_float64": lambda o: o.full_like(np.ones(2, dtype="float64"), 3),
    "full_like_dtype": lambda o: o.full_like(o.array([1.0, 2.0]), 3, dtype="int32"),
    "eye": lambda o: o.eye(2),
    "eye_rect_k": lambda o: o.eye(2, 3, k=1),
    "eye_negative_k": lambda o: o.eye(3, k=-1),
    "eye_dtype": lambda o: o.eye(2, dtype="int32"),
    "identity": lambda o: o.identity(2),
    "identity_dtype": lambda o: o.identity(2, dtype="int32"),
    "tri": lambda o: o.tri(3),
    "tri_rect_k": lambda o: o.tri(2, 3, k=1),
    "tril_int_k": lambda o: o.tril(o.array([[1, 2], [3, 4]]), k=-1),
    "triu_k": lambda o: o.triu(o.ones((2, 3)), k=1),
    "tril_batched": lambda o: o.tril(o.ones((2, 3, 3))),
    "linspace": lambda o: o.linspace(0, 1, 5),
    "linspace_no_endpoint": lambda o: o.linspace(0, 1, 5, endpoint=False),
    "linspace_int_dtype": lambda o: o.linspace(0, 10, 5, dtype="int32"),
    "linspace_arrays": lambda o: o.linspace(np.array([0.0, 1.0]), np.array([1.0, 3.0]), 3),
    "linspace_float16": lambda o: o.linspace(np.float16(0), np.float16(1), 3),
    "empty_shape_dtype": lambda o: o.zeros_like(o.empty((2, 3), dtype="int32")),
    "empty_like": lambda o: o.zeros_like(o.empty_like(o.array([1, 2]))),
    # the helpers of the chapter's RMSE metric
    "one_hot": lambda o: o.one_hot(o.array([0, 1]), 3),
    "one_hot_float_labels": lambda o: o.one_hot(o.array([0.0, 1.0]), 2),
    "one_hot_axis0": lambda o: o.one_hot(np.array([[0, 1]]), 2, axis=0),
    "sum_int32": lambda o: o.sum(o.array([1, 2])),
    "sum_bool": lambda o: o.sum(o.array([True, False, True])),
    "sum_int8": lambda o: o.sum(o.array(np.array([1, 2], dtype="int8"))),
    "sum_uint8": lambda o: o.sum(o.array(np.array([1, 2], dtype="uint8"))),
    "sum_int64": lambda o: o.sum(o.array(np.array([1, 2], dtype="int64"))),
    "sum_int_axis": lambda o: o.sum(o.array([[1, 2], [3, 4]]), axis=0, keepdims=True),
    "sum_float_keepdims": lambda o: o.sum(o.array([1.0, 2.0]), axis=0, keepdims=True),
    "square_int": lambda o: o.square(o.array([1, 2])),
    "sqrt_int": lambda o: o.sqrt(o.array([1, 4])),
    "sqrt_int64": lambda o: o.sqrt(o.array(np.array([1, 4], dtype="int64"))),
    "sqrt_bool": lambda o: o.sqrt(o.array([True])),
    "sqrt_float64": lambda o: o.sqrt(np.array([1.0, 4.0])),
    "exp_int": lambda o: o.exp(o.array([0, 1])),
    "log_int": lambda o: o.log(o.array([1, 2])),
    "log1p_int": lambda o: o.log1p(o.array([0, 1])),
}


def _dtype(t):
    return str(t.dtype).replace("torch.", "")


def _values(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else t.numpy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras(keras_ref, name):
    ours, theirs = CASES[name](ops), CASES[name](keras_ref.ops)
    assert isinstance(ours, Tensor)
    assert (ours.dtype, ours.shape) == (_dtype(theirs), tuple(theirs.shape)), name
    np.testing.assert_allclose(_values(ours), _values(theirs), rtol=1e-6)


def test_shape_is_a_tuple_of_ints(keras_ref):
    assert ops.shape(ops.ones((2, 3))) == tuple(keras_ref.ops.shape(keras_ref.ops.ones((2, 3)))) == (2, 3)
    assert ops.shape(ops.array([[1, 0, 0]]))[1] == 3


def test_linspace_retstep_and_axis():
    values, step = ops.linspace(0, 1, 3, retstep=True)
    assert step == 0.5 and isinstance(step, float) and values.dtype == "float32"
    got = ops.linspace(np.array([0.0, 1.0]), np.array([1.0, 3.0]), 3, axis=1)
    np.testing.assert_array_equal(got.numpy(), np.linspace([0.0, 1.0], [1.0, 3.0], 3, axis=1))


def test_array_copies_arrays_and_keeps_tensors():
    source = np.arange(3.0, dtype="float32")
    t = ops.array(source)
    source[0] = 9
    assert t.numpy()[0] == 0  # a copy, as numpy.array makes
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert ops.array(x) is x  # the same tensor: its gradient still flows
    y = ops.array(x, dtype="float32")
    (g,) = gradients(ops.sum(y * 3), [x])
    np.testing.assert_allclose(g, [3.0, 3.0])


def test_python_ints_that_do_not_fit_int32_stay_int64():
    assert ops.convert_to_tensor([1, 2 ** 33]).dtype == "int64"
    assert ops.convert_to_tensor([[1, 2], [3, 4]]).dtype == "int32"
    assert ops.convert_to_tensor([np.int64(1), 2]).dtype == "int64"  # a NumPy scalar keeps its dtype


@pytest.mark.parametrize("op", ["tril", "triu"])
@pytest.mark.parametrize("k", [-1, 0, 2])
def test_triangle_gradients(float64, op, k):
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    check_op_gradients(lambda t: getattr(ops, op)(t, k=k), x)


def test_triangle_needs_two_axes():
    with pytest.raises(ValueError, match=r"tril: the input needs at least 2 dimensions, got shape \(3,\)"):
        ops.tril(ops.ones(3))


def test_sqrt_of_ints_is_differentiable_in_floatx():
    x = ops.array([1, 4, 9])
    assert ops.sqrt(x).dtype == backend.floatx()
    np.testing.assert_allclose(ops.sqrt(x).numpy(), [1, 2, 3])


def test_tensors_format_like_numbers():
    assert f"{ops.array(2.0):.2f}" == "2.00"
    assert f"{ops.sum(ops.array([1, 2])):>4d}" == "   3"
    assert f"{ops.array([1, 2])}" == "[1 2]"
    with pytest.raises(TypeError):
        f"{ops.array([1.0, 2.0]):.2f}"
