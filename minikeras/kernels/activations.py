"""Activation kernels. Each ``*_forward(x)`` returns ``(y, cache)`` and each
``*_backward(dy, cache)`` returns ``dx``. All are stable at |x| = 1000 (no overflow)."""
import math

from ..backend import get_array_module

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def linear_forward(x):
    return x, None


def linear_backward(dy, cache):
    return dy


def relu_forward(x):
    y = get_array_module(x).maximum(x, 0)
    return y, y


def relu_backward(dy, y):
    return dy * (y > 0)


def leaky_relu_forward(x, negative_slope=0.2):
    xp = get_array_module(x)
    y = xp.where(x >= 0, x, x * x.dtype.type(negative_slope))
    return y, (x, negative_slope)


def leaky_relu_backward(dy, cache):
    x, slope = cache
    return dy * get_array_module(x).where(x >= 0, 1, slope).astype(dy.dtype)


def sigmoid_forward(x):
    # exp(-|x|) never overflows; both branches keep full relative precision.
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    y = xp.where(x >= 0, 1, e)
    y /= 1 + e
    return y, y


def sigmoid_backward(dy, y):
    return dy * y * (1 - y)


def tanh_forward(x):
    y = get_array_module(x).tanh(x)
    return y, y


def tanh_backward(dy, y):
    return dy * (1 - y * y)


def softplus_forward(x):
    y = get_array_module(x).logaddexp(0, x).astype(x.dtype, copy=False)
    return y, x


def softplus_backward(dy, x):
    s, _ = sigmoid_forward(x)
    return dy * s


def elu_forward(x, alpha=1.0):
    xp = get_array_module(x)
    neg = x.dtype.type(alpha) * xp.expm1(xp.minimum(x, 0))
    y = xp.where(x > 0, x, neg)
    return y, (x, neg, alpha)


def elu_backward(dy, cache):
    x, neg, alpha = cache
    return dy * get_array_module(x).where(x > 0, 1, neg + x.dtype.type(alpha))


def selu_forward(x):
    y, cache = elu_forward(x, SELU_ALPHA)
    return y * y.dtype.type(SELU_SCALE), cache


def selu_backward(dy, cache):
    return elu_backward(dy, cache) * dy.dtype.type(SELU_SCALE)


def _erfc(x):
    """Complementary error function on the array's own device (SciPy or CuPy)."""
    xp = get_array_module(x)
    if xp.__name__ == "numpy":
        try:
            from scipy.special import erfc
        except ImportError:  # exact, slower fallback
            import numpy as np
            return np.vectorize(math.erfc, otypes=[x.dtype])(x)
    else:
        from cupyx.scipy.special import erfc
    return erfc(x).astype(x.dtype, copy=False)


def gelu_forward(x, approximate=False):
    xp = get_array_module(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        inner = c * (x + 0.044715 * x ** 3)
        t = xp.tanh(inner)
        y = 0.5 * x * (1 + t)
        return y.astype(x.dtype, copy=False), (x, t, True)
    # Phi(x) = erfc(-x/sqrt2)/2 keeps full relative precision in the left tail, where
    # 1 + erf(x/sqrt2) would cancel.
    cdf = 0.5 * _erfc(-x / math.sqrt(2))
    return (x * cdf).astype(x.dtype, copy=False), (x, cdf, False)


def gelu_backward(dy, cache):
    x, aux, approximate = cache
    xp = get_array_module(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        t = aux
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    else:
        pdf = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        d = aux + x * pdf
    return (dy * d).astype(dy.dtype, copy=False)


def softmax_forward(x, axis=-1):
    xp = get_array_module(x)
    e = x - x.max(axis=axis, keepdims=True)
    xp.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e, (e, axis)


def softmax_backward(dy, cache):
    y, axis = cache
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_forward(x, axis=-1):
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return y, (y, axis)


def log_softmax_backward(dy, cache):
    y, axis = cache
    return dy - get_array_module(y).exp(y) * dy.sum(axis=axis, keepdims=True)


# name -> (forward, backward): the activations a Dense layer can fuse into its kernel.
FUSABLE = {
    "linear": (linear_forward, linear_backward),
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "softplus": (softplus_forward, softplus_backward),
    "elu": (elu_forward, elu_backward),
    "selu": (selu_forward, selu_backward),
    "softmax": (softmax_forward, softmax_backward),
    "gelu": (gelu_forward, gelu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
}
