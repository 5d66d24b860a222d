"""Core ops: converting to and from tensors, casting, stopping gradients, shapes.

Also the helpers the other op modules share to turn their arguments into tensors.
"""
from .. import backend
from ..autodiff import Tensor, as_array, as_tensor, function
from ..kernels import elementwise as E

__all__ = ["convert_to_tensor", "convert_to_numpy", "cast", "stop_gradient", "shape"]


def convert_to_tensor(x, dtype=None, sparse=None):
    """``x`` as a Tensor. Arrays keep their dtype; Python numbers follow Keras 3: floats become
    floatx, ints int32 (int64 only when a value does not fit), bools bool."""
    if isinstance(x, Tensor):
        if dtype is not None and x.dtype != backend.np.dtype(dtype).name:
            return cast(x, dtype)
        return x
    if dtype is None and isinstance(x, float):  # NumPy's float64 scalars too (a float subclass)
        dtype = backend.floatx()
    t = as_tensor(x, dtype)
    if dtype is None and t.value.dtype == _INT64 and isinstance(x, (int, list, tuple)) and _python_ints(x):
        v = t.value
        if v.size == 0 or (int(v.min()) >= -2 ** 31 and int(v.max()) < 2 ** 31):
            t = Tensor(v.astype("int32"))
    return t


_INT64 = backend.np.dtype("int64")


def _python_ints(x):
    """True when ``x`` is made of Python numbers only (no array or NumPy scalar inside, whose own
    dtype Keras keeps)."""
    if isinstance(x, (list, tuple)):
        return all(_python_ints(item) for item in x)
    return isinstance(x, (int, float))


def convert_to_numpy(x):
    return backend.to_numpy(x)


_cast = function(E.cast_forward, E.cast_backward)


def cast(x, dtype):
    """``x`` in ``dtype``; differentiable only into a float dtype."""
    x = convert_to_tensor(x)
    dtype = backend.np.dtype(dtype)
    if dtype.kind != "f":
        return Tensor(x.value.astype(dtype))
    return _cast(x, dtype=dtype)


def stop_gradient(x):
    return Tensor(as_array(convert_to_tensor(x)))


def shape(x):
    return tuple(convert_to_tensor(x).shape)


# ---------------------------------------------------------------- helpers for the op modules


def xp_of(*xs):
    """The array module of the arguments (tensors, arrays or numbers)."""
    return backend.get_array_module(*[as_array(x) for x in xs])


def _is_scalar(x):
    return isinstance(x, (int, float, bool))


def tensor_pair(a, b):
    """Two operands as tensors; a Python number adopts the other operand's dtype."""
    if not isinstance(a, Tensor):
        a = Tensor(xp_of(b).asarray(a, dtype=as_array(b).dtype) if _is_scalar(a) else backend.convert_to_array(a))
    if not isinstance(b, Tensor):
        b = Tensor(xp_of(a).asarray(b, dtype=a.value.dtype) if _is_scalar(b) else backend.convert_to_array(b))
    return a, b
