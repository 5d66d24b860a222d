"""NumPy-style ops (Keras's ``keras.ops.numpy``): arithmetic, comparisons, matmul, reductions,
shapes and indexing. Each differentiable one is a kernel pair from ``minikeras.kernels`` bound
once with ``autodiff.function``; comparisons and index ops return tensors without a gradient.
The arithmetic operators of ``Tensor`` (``+ - * / ** @``, indexing) are installed here.
"""
from .. import backend
from ..autodiff import Tensor, as_array, function
from ..kernels import elementwise as E
from ..kernels import linalg as L
from ..kernels import reduction as R
from ..kernels import shape as S
from .core import convert_to_tensor, tensor_pair, xp_of

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "power", "square", "sqrt",
    "exp", "log", "log1p", "abs", "absolute", "sign", "maximum", "minimum", "clip", "where",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
    "logical_not", "isnan", "matmul", "dot", "sum", "mean", "max", "min", "amax", "amin", "var", "std",
    "argmax", "argmin", "reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack",
    "flip", "getitem", "take", "one_hot", "zeros", "ones", "zeros_like", "ones_like", "arange",
    "array", "full", "full_like", "empty", "empty_like", "eye", "identity", "tri", "tril", "triu", "linspace",
]


def _binary(forward, backward):
    op = function(forward, backward)

    def apply(x1, x2):
        a, b = tensor_pair(x1, x2)
        return op(a, b)
    apply.__name__ = op.__name__
    return apply


def _unary(forward, backward):
    op = function(forward, backward)

    def apply(x):
        return op(convert_to_tensor(x))
    apply.__name__ = op.__name__
    return apply


def _unary_float(forward, backward):
    """A unary op whose result is a float (sqrt, exp, log): as in Keras 3, integer and bool
    inputs are computed in floatx (NumPy would give float64)."""
    op = function(forward, backward)

    def apply(x):
        x = convert_to_tensor(x)
        if x.value.dtype.kind not in "fc":
            x = Tensor(x.value.astype(backend.floatx()))
        return op(x)
    apply.__name__ = op.__name__
    return apply


# ---------------------------------------------------------------- elementwise arithmetic

add = _binary(E.add_forward, E.add_backward)
subtract = _binary(E.subtract_forward, E.subtract_backward)
multiply = _binary(E.multiply_forward, E.multiply_backward)
divide = true_divide = _binary(E.divide_forward, E.divide_backward)
power = _binary(E.power_forward, E.power_backward)
maximum = _binary(E.maximum_forward, E.pick_backward)
minimum = _binary(E.minimum_forward, E.pick_backward)
negative = _unary(E.negative_forward, E.negative_backward)
square = _unary(E.square_forward, E.square_backward)
sqrt = _unary_float(E.sqrt_forward, E.sqrt_backward)
exp = _unary_float(E.exp_forward, E.exp_backward)
log = _unary_float(E.log_forward, E.log_backward)
log1p = _unary_float(E.log1p_forward, E.log1p_backward)
abs = absolute = _unary(E.abs_forward, E.abs_backward)  # noqa: A001 (Keras's name)


def sign(x):
    x = convert_to_tensor(x)
    return Tensor(xp_of(x).sign(x.value))


_clip = function(E.clip_forward, E.clip_backward)
_where = function(E.where_forward, E.where_backward)


def clip(x, x_min, x_max):
    return _clip(convert_to_tensor(x), x_min=x_min, x_max=x_max)


def where(condition, x1=None, x2=None):
    cond = as_array(convert_to_tensor(condition)).astype(bool)
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in xp_of(cond).nonzero(cond))
    a, b = tensor_pair(x1, x2)
    return _where(cond, a, b)


# ---------------------------------------------------------------- comparisons (no gradient)


def _compare(name):
    def op(x1, x2):
        a, b = tensor_pair(x1, x2)
        return Tensor(getattr(xp_of(a.value), name)(a.value, b.value))
    op.__name__ = name
    return op


equal = _compare("equal")
not_equal = _compare("not_equal")
greater = _compare("greater")
greater_equal = _compare("greater_equal")
less = _compare("less")
less_equal = _compare("less_equal")
logical_and = _compare("logical_and")
logical_or = _compare("logical_or")


def logical_not(x):
    return Tensor(xp_of(x).logical_not(as_array(convert_to_tensor(x))))


def isnan(x):
    return Tensor(xp_of(x).isnan(as_array(convert_to_tensor(x))))


# ---------------------------------------------------------------- linear algebra

matmul = dot = _binary(L.matmul_forward, L.matmul_backward)


# ---------------------------------------------------------------- reductions

_sum = function(R.sum_forward, R.sum_backward)
_mean = function(R.mean_forward, R.mean_backward)
_max = function(R.max_forward, R.extreme_backward)
_min = function(R.min_forward, R.extreme_backward)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    x = convert_to_tensor(x)
    dt = x.value.dtype
    if dt.kind in "biu":  # no gradient; Keras 3 sums bools and small ints in int32 (NumPy: int64)
        out_dtype = dt if dt.kind != "b" and dt.itemsize >= 4 else "int32"
        axis = tuple(axis) if isinstance(axis, list) else axis
        return Tensor(x.value.sum(axis=axis, keepdims=keepdims, dtype=out_dtype))
    return _sum(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return _mean(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _max(convert_to_tensor(x), axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _min(convert_to_tensor(x), axis=axis, keepdims=keepdims)


amax, amin = max, min


def var(x, axis=None, keepdims=False):
    centred = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centred), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def _arg(name):
    def op(x, axis=-1, keepdims=False):
        v = as_array(convert_to_tensor(x))
        out = getattr(v, name)(axis=axis)
        return Tensor(xp_of(v).expand_dims(out, axis) if keepdims and axis is not None else out)
    op.__name__ = name
    return op


argmax = _arg("argmax")
argmin = _arg("argmin")


# ---------------------------------------------------------------- shapes

_reshape = function(S.reshape_forward, S.restore_shape_backward)
_transpose = function(S.transpose_forward, S.transpose_backward)
_expand_dims = function(S.expand_dims_forward, S.restore_shape_backward)
_squeeze = function(S.squeeze_forward, S.restore_shape_backward)
_concatenate = function(S.concatenate_forward, S.concatenate_backward)
_flip = function(S.flip_forward, S.flip_backward)
_getitem = function(S.getitem_forward, S.getitem_backward)
_take_rows = function(S.take_rows_forward, S.take_rows_backward)


def reshape(x, newshape):
    newshape = tuple(-1 if d is None else int(d) for d in ((newshape,) if isinstance(newshape, int) else newshape))
    return _reshape(convert_to_tensor(x), newshape=newshape)


def transpose(x, axes=None):
    return _transpose(convert_to_tensor(x), axes=axes)


def expand_dims(x, axis):
    return _expand_dims(convert_to_tensor(x), axis=axis)


def squeeze(x, axis=None):
    return _squeeze(convert_to_tensor(x), axis=axis)


def concatenate(xs, axis=0):
    return _concatenate(*[convert_to_tensor(t) for t in xs], axis=axis)


def stack(xs, axis=0):
    return concatenate([expand_dims(t, axis) for t in xs], axis=axis)


def flip(x, axis=None):
    """The elements in reverse order along ``axis`` (every axis when None)."""
    return _flip(convert_to_tensor(x), axis=axis)


def getitem(x, key):
    if isinstance(key, Tensor):
        key = key.value
    elif isinstance(key, tuple):
        key = tuple(k.value if isinstance(k, Tensor) else k for k in key)
    return _getitem(convert_to_tensor(x), key=key)


def take(x, indices, axis=None):
    """Elements (``axis=None``: of the flattened ``x``) or slices along ``axis`` at ``indices``;
    ``take(table, ids, axis=0)`` is an embedding lookup."""
    idx = as_array(convert_to_tensor(indices))
    if axis is None:
        return getitem(reshape(x, (-1,)), idx)
    x = convert_to_tensor(x)
    if axis % x.ndim == 0 and idx.dtype.kind in "iu":
        return _take_rows(x, ids=idx)
    return getitem(x, (slice(None),) * (axis % x.ndim) + (idx,))


def one_hot(x, num_classes, axis=-1, dtype=None):
    v = as_array(convert_to_tensor(x)).astype("int64")
    xp = xp_of(v)
    out = (v[..., None] == xp.arange(num_classes)).astype(dtype or backend.floatx())
    if axis != -1:
        out = xp.moveaxis(out, -1, axis)
    return Tensor(out)


def zeros(shape, dtype=None):
    return Tensor(backend.xp().zeros(shape, dtype=dtype or backend.floatx()))


def ones(shape, dtype=None):
    return Tensor(backend.xp().ones(shape, dtype=dtype or backend.floatx()))


def zeros_like(x, dtype=None):
    v = as_array(convert_to_tensor(x))
    return Tensor(xp_of(v).zeros_like(v, dtype=dtype))


def ones_like(x, dtype=None):
    v = as_array(convert_to_tensor(x))
    return Tensor(xp_of(v).ones_like(v, dtype=dtype))


def arange(start, stop=None, step=1, dtype=None):
    """As Keras 3: int32 for integer bounds, floatx as soon as one of them is a float."""
    start, stop, step = (as_array(b) for b in (start, stop, 1 if step is None else step))
    if dtype is None:
        floats = [isinstance(b, float) or getattr(getattr(b, "dtype", None), "kind", "") == "f"
                  for b in (start, stop, step)]
        dtype = backend.floatx() if any(floats) else "int32"
    return Tensor(backend.xp().arange(start, stop, step, dtype=dtype))


# ---------------------------------------------------------------- array constructors
# Keras 3's dtype rules: ``array`` converts as ``convert_to_tensor`` does; a constructor given a
# shape (``full``, ``eye``, ...) makes floatx unless told otherwise; ``*_like`` keeps x's dtype.


def array(x, dtype=None):
    """A tensor holding ``x`` (a copy when ``x`` is an array); a tensor ``x`` is returned as it
    is (cast when ``dtype`` differs), so it keeps its gradient."""
    if isinstance(x, Tensor):
        return convert_to_tensor(x, dtype)
    t = convert_to_tensor(x, dtype)
    return Tensor(t.value.copy()) if t.value is x else t


def full(shape, fill_value, dtype=None):
    return Tensor(backend.xp().full(shape, as_array(fill_value), dtype=dtype or backend.floatx()))


def full_like(x, fill_value, dtype=None):
    v = as_array(convert_to_tensor(x))
    return Tensor(xp_of(v).full_like(v, as_array(fill_value), dtype=dtype))


def empty(shape, dtype=None):
    return Tensor(backend.xp().empty(shape, dtype=dtype or backend.floatx()))


def empty_like(x, dtype=None):
    v = as_array(convert_to_tensor(x))
    return Tensor(xp_of(v).empty_like(v, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 (Keras's argument names)
    return Tensor(backend.xp().eye(N, M, k, dtype=dtype or backend.floatx()))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    return Tensor(backend.xp().tri(N, M, k, dtype=dtype or backend.floatx()))


_triangle = function(S.triangle_forward, S.triangle_backward)


def tril(x, k=0):
    """The lower triangle (on and below diagonal ``k``) of the last two axes; the rest zero."""
    return _triangle(convert_to_tensor(x), k=k, lower=True)


def triu(x, k=0):
    """The upper triangle (on and above diagonal ``k``) of the last two axes; the rest zero."""
    return _triangle(convert_to_tensor(x), k=k, lower=False)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop``: floatx (float16 for float16
    bounds) unless ``dtype`` says otherwise; integer dtypes round down, as NumPy does."""
    a, b = as_array(start), as_array(stop)
    if dtype is None:
        half = any(getattr(v, "dtype", None) == "float16" for v in (a, b))
        dtype = "float16" if half else backend.floatx()
    xp = backend.get_array_module(a, b) if hasattr(a, "dtype") or hasattr(b, "dtype") else backend.xp()
    out = xp.linspace(a, b, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)
    if retstep:
        values, step = out
        return Tensor(values), float(step) if backend.np.ndim(step) == 0 else Tensor(xp.asarray(step))
    return Tensor(out)


# ---------------------------------------------------------------- Tensor operators


def _install_operators():
    """``a + b`` is ``add(a, b)`` and ``2 * a`` is ``multiply(2, a)``: each operator is its op."""
    T = Tensor
    for name, op in (("add", add), ("sub", subtract), ("mul", multiply), ("truediv", divide), ("pow", power),
                     ("matmul", matmul)):
        setattr(T, f"__{name}__", op)  # (a plain function: ``a.__add__(b)`` calls ``add(a, b)``)
        setattr(T, f"__r{name}__", lambda a, b, op=op: op(b, a))
    for name, op in (("lt", less), ("le", less_equal), ("gt", greater), ("ge", greater_equal),
                     ("getitem", getitem), ("neg", negative), ("abs", abs)):
        setattr(T, f"__{name}__", op)
    T.__pos__ = lambda a: a
    T.T = property(lambda a: transpose(a))
    T.reshape = lambda a, *s: reshape(a, s[0] if len(s) == 1 else s)


_install_operators()
