"""``minikeras.ops``: Keras 3's op namespace, differentiable through the autodiff engine.

Every function accepts tensors, variables, arrays or Python numbers and returns a
``Tensor``. Comparison and index ops return tensors that carry no gradient. The arithmetic
operators of ``Tensor`` (``+ - * / ** @``, indexing) are installed from here.
"""
import builtins

from . import backend
from .autodiff import Tensor, as_array, as_tensor, make_node
from .kernels import activations as A
from .kernels import dense as D
from .kernels.broadcast import unbroadcast

# ---------------------------------------------------------------- conversion


def convert_to_tensor(x, dtype=None, sparse=None):
    if isinstance(x, Tensor):
        if dtype is not None and x.dtype != backend.np.dtype(dtype).name:
            return cast(x, dtype)
        return x
    return as_tensor(x, dtype)


def convert_to_numpy(x):
    return backend.to_numpy(x)


def _xp(*xs):
    return backend.get_array_module(*[as_array(x) for x in xs])


def _pair(a, b):
    """Two operands as tensors; a Python number adopts the other operand's dtype."""
    if not isinstance(a, Tensor):
        a = Tensor(_xp(b).asarray(a, dtype=as_array(b).dtype) if _is_scalar(a) else backend.convert_to_array(a))
    if not isinstance(b, Tensor):
        b = Tensor(_xp(a).asarray(b, dtype=a.value.dtype) if _is_scalar(b) else backend.convert_to_array(b))
    return a, b


def _is_scalar(x):
    return isinstance(x, (int, float, bool)) and not isinstance(x, Tensor)


def cast(x, dtype):
    x = convert_to_tensor(x)
    dtype = backend.np.dtype(dtype)
    src = x.value.dtype
    out = x.value.astype(dtype)
    if dtype.kind != "f":
        return Tensor(out)
    return make_node(out, (x,), lambda g, needs: (g.astype(src),))


# ---------------------------------------------------------------- elementwise arithmetic


def add(a, b):
    a, b = _pair(a, b)
    sa, sb = a.value.shape, b.value.shape
    return make_node(a.value + b.value, (a, b),
                     lambda g, needs: (unbroadcast(g, sa) if needs[0] else None,
                                       unbroadcast(g, sb) if needs[1] else None))


def subtract(a, b):
    a, b = _pair(a, b)
    sa, sb = a.value.shape, b.value.shape
    return make_node(a.value - b.value, (a, b),
                     lambda g, needs: (unbroadcast(g, sa) if needs[0] else None,
                                       unbroadcast(-g, sb) if needs[1] else None))


def multiply(a, b):
    a, b = _pair(a, b)
    av, bv = a.value, b.value
    return make_node(av * bv, (a, b),
                     lambda g, needs: (unbroadcast(g * bv, av.shape) if needs[0] else None,
                                       unbroadcast(g * av, bv.shape) if needs[1] else None))


def divide(a, b):
    a, b = _pair(a, b)
    av, bv = a.value, b.value
    return make_node(av / bv, (a, b),
                     lambda g, needs: (unbroadcast(g / bv, av.shape) if needs[0] else None,
                                       unbroadcast(-g * av / (bv * bv), bv.shape) if needs[1] else None))


true_divide = divide


def negative(x):
    x = convert_to_tensor(x)
    return make_node(-x.value, (x,), lambda g, needs: (-g,))


def power(a, b):
    a, b = _pair(a, b)
    av, bv = a.value, b.value
    out = av ** bv

    def backward(g, needs):
        xp = _xp(av)
        ga = unbroadcast(g * bv * av ** (bv - 1), av.shape) if needs[0] else None
        gb = None
        if needs[1]:
            safe = xp.where(av > 0, av, 1)
            gb = unbroadcast(g * out * xp.log(safe), bv.shape)
        return ga, gb
    return make_node(out, (a, b), backward)


def square(x):
    x = convert_to_tensor(x)
    v = x.value
    return make_node(v * v, (x,), lambda g, needs: (2 * g * v,))


def sqrt(x):
    x = convert_to_tensor(x)
    out = _xp(x).sqrt(x.value)
    return make_node(out, (x,), lambda g, needs: (g / (2 * out),))


def exp(x):
    x = convert_to_tensor(x)
    out = _xp(x).exp(x.value)
    return make_node(out, (x,), lambda g, needs: (g * out,))


def log(x):
    x = convert_to_tensor(x)
    v = x.value
    return make_node(_xp(x).log(v), (x,), lambda g, needs: (g / v,))


def log1p(x):
    x = convert_to_tensor(x)
    v = x.value
    return make_node(_xp(x).log1p(v), (x,), lambda g, needs: (g / (1 + v),))


def abs(x):  # noqa: A001 (Keras's name)
    x = convert_to_tensor(x)
    v = x.value
    xp = _xp(x)
    return make_node(xp.abs(v), (x,), lambda g, needs: (g * xp.sign(v),))


absolute = abs


def sign(x):
    x = convert_to_tensor(x)
    return Tensor(_xp(x).sign(x.value))


def maximum(a, b):
    a, b = _pair(a, b)
    av, bv = a.value, b.value
    pick_a = av >= bv
    return make_node(_xp(av).maximum(av, bv), (a, b),
                     lambda g, needs: (unbroadcast(g * pick_a, av.shape) if needs[0] else None,
                                       unbroadcast(g * ~pick_a, bv.shape) if needs[1] else None))


def minimum(a, b):
    a, b = _pair(a, b)
    av, bv = a.value, b.value
    pick_a = av <= bv
    return make_node(_xp(av).minimum(av, bv), (a, b),
                     lambda g, needs: (unbroadcast(g * pick_a, av.shape) if needs[0] else None,
                                       unbroadcast(g * ~pick_a, bv.shape) if needs[1] else None))


def clip(x, x_min, x_max):
    x = convert_to_tensor(x)
    v = x.value
    inside = (v >= x_min) & (v <= x_max)
    return make_node(_xp(x).clip(v, x_min, x_max), (x,), lambda g, needs: (g * inside,))


def where(condition, x1=None, x2=None):
    cond = as_array(convert_to_tensor(condition)).astype(bool)
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in _xp(cond).nonzero(cond))
    a, b = _pair(x1, x2)
    av, bv = a.value, b.value
    return make_node(_xp(cond).where(cond, av, bv), (a, b),
                     lambda g, needs: (unbroadcast(g * cond, av.shape) if needs[0] else None,
                                       unbroadcast(g * ~cond, bv.shape) if needs[1] else None))


# ---------------------------------------------------------------- comparisons (no gradient)


def _compare(name):
    def op(a, b):
        a, b = _pair(a, b)
        return Tensor(getattr(_xp(a.value), name)(a.value, b.value))
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
    return Tensor(_xp(x).logical_not(as_array(convert_to_tensor(x))))


def isnan(x):
    return Tensor(_xp(x).isnan(as_array(convert_to_tensor(x))))


# ---------------------------------------------------------------- linear algebra


def matmul(a, b):
    a, b = _pair(a, b)
    av, bv = a.value, b.value
    if av.ndim == 0 or bv.ndim == 0:
        raise ValueError(f"matmul needs arrays of rank >= 1, got shapes {av.shape} and {bv.shape}.")
    if av.shape[-1] != bv.shape[-2 if bv.ndim > 1 else 0]:
        raise ValueError(f"matmul: incompatible shapes {av.shape} and {bv.shape} "
                         f"(inner dimensions {av.shape[-1]} and {bv.shape[-2 if bv.ndim > 1 else 0]}).")

    def backward(g, needs):
        xp = _xp(av)
        a2 = av[None, :] if av.ndim == 1 else av
        b2 = bv[:, None] if bv.ndim == 1 else bv
        g2 = g
        if av.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if bv.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if needs[0]:
            ga = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(av.shape)
        if needs[1]:
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(bv.shape)
        return ga, gb
    return make_node(av @ bv, (a, b), backward)


dot = matmul


def dense(x, kernel, bias=None, activation="linear"):
    """Fused ``activation(x @ kernel + bias)`` (the kernel Dense layers use)."""
    x = convert_to_tensor(x)
    parents = (x, kernel) if bias is None else (x, kernel, bias)
    out, cache = D.dense_forward(x.value, kernel.value, None if bias is None else bias.value, activation)
    return make_node(out, parents, lambda g, needs: D.dense_backward(g, cache, needs))


# ---------------------------------------------------------------- reductions


def _norm_axis(axis, ndim):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(a % ndim for a in axis)
    return axis % ndim


def _expand_reduced(g, axis, keepdims, shape):
    xp = _xp(g)
    if axis is None:
        return xp.broadcast_to(g.reshape((1,) * len(shape)) if not keepdims else g, shape)
    if not keepdims:
        axes = axis if isinstance(axis, tuple) else (axis,)
        for ax in sorted(axes):
            g = xp.expand_dims(g, ax)
    return xp.broadcast_to(g, shape)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    x = convert_to_tensor(x)
    shape = x.value.shape
    axis = _norm_axis(axis, x.value.ndim)
    out = x.value.sum(axis=axis, keepdims=keepdims)
    return make_node(out, (x,), lambda g, needs: (_expand_reduced(g, axis, keepdims, shape),))


def mean(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    shape = x.value.shape
    axis = _norm_axis(axis, x.value.ndim)
    out = x.value.mean(axis=axis, keepdims=keepdims)
    count = x.value.size // builtins.max(out.size, 1) if x.value.size else 1
    return make_node(out, (x,), lambda g, needs: (_expand_reduced(g / count, axis, keepdims, shape),))


def _extreme(x, axis, keepdims, fn):
    x = convert_to_tensor(x)
    v = x.value
    axis = _norm_axis(axis, v.ndim)
    out = getattr(v, fn)(axis=axis, keepdims=keepdims)

    def backward(g, needs):
        full = _expand_reduced(out, axis, keepdims, v.shape)
        hit = (v == full)
        count = hit.sum(axis=axis, keepdims=True)  # ties share the gradient
        return (_expand_reduced(g, axis, keepdims, v.shape) * hit / count,)
    return make_node(out, (x,), backward)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _extreme(x, axis, keepdims, "max")


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _extreme(x, axis, keepdims, "min")


amax, amin = max, min


def var(x, axis=None, keepdims=False):
    centred = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centred), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def argmax(x, axis=-1, keepdims=False):
    v = as_array(convert_to_tensor(x))
    out = v.argmax(axis=axis)
    return Tensor(_xp(v).expand_dims(out, axis) if keepdims and axis is not None else out)


def argmin(x, axis=-1, keepdims=False):
    v = as_array(convert_to_tensor(x))
    out = v.argmin(axis=axis)
    return Tensor(_xp(v).expand_dims(out, axis) if keepdims and axis is not None else out)


# ---------------------------------------------------------------- shapes


def reshape(x, newshape):
    x = convert_to_tensor(x)
    shape = x.value.shape
    newshape = tuple(-1 if d is None else int(d) for d in ((newshape,) if isinstance(newshape, int) else newshape))
    try:
        out = x.value.reshape(newshape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {shape} "
                         f"({x.value.size} values) into shape {newshape}.") from None
    return make_node(out, (x,), lambda g, needs: (g.reshape(shape),))


def transpose(x, axes=None):
    x = convert_to_tensor(x)
    xp = _xp(x)
    out = xp.transpose(x.value, axes)
    inverse = None if axes is None else tuple(int(i) for i in xp.argsort(xp.asarray(axes)).tolist()) \
        if xp is not backend.np else tuple(backend.np.argsort(axes))
    return make_node(out, (x,), lambda g, needs: (xp.transpose(g, inverse),))


def expand_dims(x, axis):
    x = convert_to_tensor(x)
    shape = x.value.shape
    return make_node(_xp(x).expand_dims(x.value, axis), (x,), lambda g, needs: (g.reshape(shape),))


def squeeze(x, axis=None):
    x = convert_to_tensor(x)
    shape = x.value.shape
    return make_node(_xp(x).squeeze(x.value, axis), (x,), lambda g, needs: (g.reshape(shape),))


def concatenate(xs, axis=0):
    xs = [convert_to_tensor(t) for t in xs]
    xp = _xp(*xs)
    ndim = xs[0].value.ndim
    ax = axis % ndim
    for t in xs[1:]:
        if t.value.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(t.value.shape, xs[0].value.shape)) if i != ax):
            raise ValueError("concatenate: all inputs must have the same shape except along axis "
                             f"{axis}; got shapes {[t.shape for t in xs]}.")
    sizes = [t.value.shape[ax] for t in xs]
    out = xp.concatenate([t.value for t in xs], axis=ax)
    bounds = backend.np.cumsum(sizes)[:-1].tolist()
    return make_node(out, tuple(xs), lambda g, needs: tuple(xp.split(g, bounds, axis=ax)))


def stack(xs, axis=0):
    return concatenate([expand_dims(t, axis) for t in xs], axis=axis)


def getitem(x, key):
    x = convert_to_tensor(x)
    if isinstance(key, Tensor):
        key = key.value
    elif isinstance(key, tuple):
        key = tuple(k.value if isinstance(k, Tensor) else k for k in key)
    v = x.value

    def backward(g, needs):
        xp = _xp(v)
        full = xp.zeros_like(v)
        if xp is backend.np:
            backend.np.add.at(full, key, g)
        else:
            xp.add.at(full, key, g)
        return (full,)
    return make_node(v[key], (x,), backward)


def take(x, indices, axis=None):
    idx = as_array(convert_to_tensor(indices))
    if axis is None:
        return getitem(reshape(x, (-1,)), idx)
    key = (slice(None),) * (axis % convert_to_tensor(x).ndim) + (idx,)
    return getitem(x, key)


def shape(x):
    return tuple(convert_to_tensor(x).shape)


def one_hot(x, num_classes, axis=-1, dtype=None):
    v = as_array(convert_to_tensor(x)).astype("int64")
    xp = _xp(v)
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
    return Tensor(_xp(v).zeros_like(v, dtype=dtype))


def ones_like(x, dtype=None):
    v = as_array(convert_to_tensor(x))
    return Tensor(_xp(v).ones_like(v, dtype=dtype))


def arange(start, stop=None, step=1, dtype=None):
    return Tensor(backend.xp().arange(start, stop, step, dtype=dtype))


def stop_gradient(x):
    return Tensor(as_array(convert_to_tensor(x)))


# ---------------------------------------------------------------- activations (kernels in kernels/activations.py)


def _unary_kernel(forward, backward, **attrs):
    def op(x):
        x = convert_to_tensor(x)
        out, cache = forward(x.value, **attrs) if attrs else forward(x.value)
        return make_node(out, (x,), lambda g, needs: (backward(g, cache),))
    return op


def relu(x):
    return _unary_kernel(A.relu_forward, A.relu_backward)(x)


def sigmoid(x):
    return _unary_kernel(A.sigmoid_forward, A.sigmoid_backward)(x)


def tanh(x):
    return _unary_kernel(A.tanh_forward, A.tanh_backward)(x)


def softplus(x):
    return _unary_kernel(A.softplus_forward, A.softplus_backward)(x)


def elu(x, alpha=1.0):
    return _unary_kernel(A.elu_forward, A.elu_backward, alpha=alpha)(x)


def selu(x):
    return _unary_kernel(A.selu_forward, A.selu_backward)(x)


def gelu(x, approximate=True):
    return _unary_kernel(A.gelu_forward, A.gelu_backward, approximate=approximate)(x)


def leaky_relu(x, negative_slope=0.2):
    return _unary_kernel(A.leaky_relu_forward, A.leaky_relu_backward, negative_slope=negative_slope)(x)


def softmax(x, axis=-1):
    return _unary_kernel(A.softmax_forward, A.softmax_backward, axis=axis)(x)


def log_softmax(x, axis=-1):
    return _unary_kernel(A.log_softmax_forward, A.log_softmax_backward, axis=axis)(x)


# ---------------------------------------------------------------- Tensor operators


def _install_operators():
    T = Tensor
    T.__add__ = lambda a, b: add(a, b)
    T.__radd__ = lambda a, b: add(b, a)
    T.__sub__ = lambda a, b: subtract(a, b)
    T.__rsub__ = lambda a, b: subtract(b, a)
    T.__mul__ = lambda a, b: multiply(a, b)
    T.__rmul__ = lambda a, b: multiply(b, a)
    T.__truediv__ = lambda a, b: divide(a, b)
    T.__rtruediv__ = lambda a, b: divide(b, a)
    T.__neg__ = lambda a: negative(a)
    T.__pos__ = lambda a: a
    T.__abs__ = lambda a: abs(a)
    T.__pow__ = lambda a, b: power(a, b)
    T.__rpow__ = lambda a, b: power(b, a)
    T.__matmul__ = lambda a, b: matmul(a, b)
    T.__rmatmul__ = lambda a, b: matmul(b, a)
    T.__getitem__ = lambda a, k: getitem(a, k)
    T.__lt__ = lambda a, b: less(a, b)
    T.__le__ = lambda a, b: less_equal(a, b)
    T.__gt__ = lambda a, b: greater(a, b)
    T.__ge__ = lambda a, b: greater_equal(a, b)
    T.T = property(lambda a: transpose(a))
    T.reshape = lambda a, *s: reshape(a, s[0] if len(s) == 1 else s)


_install_operators()


# ---------------------------------------------------------------- convolution, pooling, recurrence
# (kernels and their op wrappers live with their kernels; re-exported here under Keras's names)
from .kernels.conv import conv, conv1d, conv2d  # noqa: E402,F401
from .kernels.pooling import (average_pool, average_pool1d, average_pool2d, global_average_pool,  # noqa: E402,F401
                              global_max_pool, max_pool, max_pool1d, max_pool2d)
from .kernels.recurrent import gru, lstm, simple_rnn  # noqa: E402,F401
