"""Neural-network ops (Keras's ``keras.ops.nn``): activations, the fused Dense, dropout,
convolution, pooling and normalization, each a kernel pair bound once with
``autodiff.function``. Layers call these, never the kernels.
"""
from ..autodiff import function
from ..backend import get_array_module
from ..kernels import activations as A
from ..kernels import conv as C
from ..kernels import dense as D
from ..kernels import dropout as DR
from ..kernels import normalization as N
from ..kernels import pooling as P
from .core import convert_to_tensor

__all__ = [
    "relu", "sigmoid", "tanh", "softplus", "elu", "selu", "gelu", "leaky_relu", "softmax", "log_softmax",
    "dense", "dropout", "conv", "conv1d", "conv2d", "max_pool", "average_pool", "max_pool1d", "max_pool2d",
    "average_pool1d", "average_pool2d", "global_average_pool", "global_max_pool", "batch_normalization",
    "batch_normalization_training", "layer_normalization",
]

# Names of the activations ``dense`` and ``conv*`` fuse into their kernel.
FUSED_ACTIVATIONS = frozenset(A.FUSABLE)
conv_output_length = C.conv_output_length  # (the shape rule of conv and pooling, for layers)


def single_gradient(forward, backward):
    """Bind a kernel pair whose backward is ``backward(grad, cache) -> dx`` (one input)."""
    return function(forward, lambda g, cache, needs: (backward(g, cache),))


# ---------------------------------------------------------------- activations

_relu = single_gradient(A.relu_forward, A.relu_backward)
_sigmoid = single_gradient(A.sigmoid_forward, A.sigmoid_backward)
_tanh = single_gradient(A.tanh_forward, A.tanh_backward)
_softplus = single_gradient(A.softplus_forward, A.softplus_backward)
_elu = single_gradient(A.elu_forward, A.elu_backward)
_selu = single_gradient(A.selu_forward, A.selu_backward)
_gelu = single_gradient(A.gelu_forward, A.gelu_backward)
_leaky_relu = single_gradient(A.leaky_relu_forward, A.leaky_relu_backward)
_softmax = single_gradient(A.softmax_forward, A.softmax_backward)
_log_softmax = single_gradient(A.log_softmax_forward, A.log_softmax_backward)


def relu(x):
    return _relu(convert_to_tensor(x))


def sigmoid(x):
    return _sigmoid(convert_to_tensor(x))


def tanh(x):
    return _tanh(convert_to_tensor(x))


def softplus(x):
    return _softplus(convert_to_tensor(x))


def elu(x, alpha=1.0):
    return _elu(convert_to_tensor(x), alpha=alpha)


def selu(x):
    return _selu(convert_to_tensor(x))


def gelu(x, approximate=True):
    return _gelu(convert_to_tensor(x), approximate=approximate)


def leaky_relu(x, negative_slope=0.2):
    return _leaky_relu(convert_to_tensor(x), negative_slope=negative_slope)


def softmax(x, axis=-1):
    return _softmax(convert_to_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    return _log_softmax(convert_to_tensor(x), axis=axis)


# ---------------------------------------------------------------- dense and dropout

_dense = function(D.dense_forward, D.dense_backward)


def dense(x, kernel, bias=None, activation="linear"):
    """Fused ``activation(x @ kernel + bias)`` (the kernel Dense layers use); ``activation`` is
    the name of one of ``kernels.activations.FUSABLE``."""
    x = convert_to_tensor(x)
    if bias is None:
        return _dense(x, kernel, activation=activation)
    return _dense(x, kernel, bias, activation=activation)


_dropout = single_gradient(DR.dropout_forward, DR.dropout_backward)


def dropout(x, rate, noise_shape=None, generator=None):
    """Inverted dropout: zero a fraction ``rate`` and scale the rest by ``1 / (1 - rate)``.
    ``generator``: a seeded NumPy Generator for reproducible masks (the global seed otherwise)."""
    return _dropout(convert_to_tensor(x), rate=rate, noise_shape=noise_shape, generator=generator)


# ---------------------------------------------------------------- convolution

_conv2d = function(C.conv2d_forward, C.conv2d_backward)
_conv1d = function(C.conv1d_forward, C.conv1d_backward)


def _with_optional_bias(op, x, kernel, bias, **attrs):
    x, kernel = convert_to_tensor(x), convert_to_tensor(kernel)
    if bias is None:
        return op(x, kernel, **attrs)
    return op(x, kernel, convert_to_tensor(bias), **attrs)


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, activation="linear"):
    """Differentiable fused ``activation(conv2d(x, kernel) + bias)`` on channels-last tensors."""
    return _with_optional_bias(_conv2d, x, kernel, bias, strides=strides, padding=padding,
                               dilation_rate=dilation_rate, activation=activation)


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, activation="linear"):
    """Differentiable fused 1D convolution on (N, L, C) tensors (padding valid, same or causal)."""
    return _with_optional_bias(_conv1d, x, kernel, bias, strides=strides, padding=padding,
                               dilation_rate=dilation_rate, activation=activation)


def _check_channels_last(op, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{op}: only data_format='channels_last' is supported, got {data_format!r}.")


def _by_rank(op, inputs, one_d, two_d):
    """The 1D or 2D variant of ``op`` for a rank-3 (N, L, C) or rank-4 (N, H, W, C) input."""
    inputs = convert_to_tensor(inputs)
    if inputs.ndim == 3:
        return inputs, one_d
    if inputs.ndim == 4:
        return inputs, two_d
    raise ValueError(f"{op}: inputs must have rank 3 (N, L, C) or 4 (N, H, W, C), got shape {inputs.shape}.")


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """``keras.ops.conv`` for channels-last 1D (rank 3) and 2D (rank 4) inputs."""
    _check_channels_last("conv", data_format)
    inputs, fn = _by_rank("conv", inputs, conv1d, conv2d)
    return fn(inputs, kernel, None, strides, padding, dilation_rate)


# ---------------------------------------------------------------- pooling

_max_pool2d = single_gradient(P.max_pool2d_forward, P.max_pool2d_backward)
_average_pool2d = single_gradient(P.avg_pool2d_forward, P.avg_pool2d_backward)
_max_pool1d = single_gradient(P.max_pool1d_forward, P.max_pool1d_backward)
_average_pool1d = single_gradient(P.avg_pool1d_forward, P.avg_pool1d_backward)
_global_average_pool = single_gradient(P.global_avg_pool_forward, P.global_avg_pool_backward)
_global_max_pool = single_gradient(P.global_max_pool_forward, P.global_max_pool_backward)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    return _max_pool2d(convert_to_tensor(x), pool_size=pool_size, strides=strides, padding=padding)


def average_pool2d(x, pool_size=2, strides=None, padding="valid"):
    return _average_pool2d(convert_to_tensor(x), pool_size=pool_size, strides=strides, padding=padding)


def max_pool1d(x, pool_size=2, strides=None, padding="valid"):
    return _max_pool1d(convert_to_tensor(x), pool_size=pool_size, strides=strides, padding=padding)


def average_pool1d(x, pool_size=2, strides=None, padding="valid"):
    return _average_pool1d(convert_to_tensor(x), pool_size=pool_size, strides=strides, padding=padding)


def global_average_pool(x, keepdims=False):
    """Mean over every spatial axis of a channels-last input."""
    return _global_average_pool(convert_to_tensor(x), keepdims=keepdims)


def global_max_pool(x, keepdims=False):
    """Max over every spatial axis of a channels-last input."""
    return _global_max_pool(convert_to_tensor(x), keepdims=keepdims)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """``keras.ops.max_pool`` for channels-last 1D and 2D inputs."""
    _check_channels_last("max_pool", data_format)
    inputs, fn = _by_rank("max_pool", inputs, max_pool1d, max_pool2d)
    return fn(inputs, pool_size, strides, padding)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """``keras.ops.average_pool`` for channels-last 1D and 2D inputs."""
    _check_channels_last("average_pool", data_format)
    inputs, fn = _by_rank("average_pool", inputs, average_pool1d, average_pool2d)
    return fn(inputs, pool_size, strides, padding)


# ---------------------------------------------------------------- normalization


def _batch_norm_train_forward(x, gamma, beta, axis, epsilon):
    y, cache = N.batch_norm_train_forward(x, gamma, beta, axis, epsilon)
    mean, var = N.batch_moments(cache)
    return (y, mean, var), (cache, x, axis % x.ndim)


def _batch_norm_train_backward(grads, caches, needs):
    """The kernel's backward for y, plus what the batch mean and variance pass on to x when
    they are used too (they are plain averages over the reduced axes)."""
    gy, gmean, gvar = grads
    cache, x, axis = caches
    xp = get_array_module(x)
    if gy is None:
        gy = xp.zeros_like(x)
    dx, dgamma, dbeta = N.batch_norm_train_backward(gy, cache, needs)
    if needs[0] and (gmean is not None or gvar is not None):
        mean, _ = N.batch_moments(cache)
        bshape = [1] * x.ndim
        bshape[axis] = x.shape[axis]
        n = x.size // x.shape[axis]
        extra = 0
        if gmean is not None:
            extra = gmean.reshape(bshape) / n
        if gvar is not None:  # var = mean((x - mean)^2): d var / dx = 2 (x - mean) / n
            extra = extra + gvar.reshape(bshape) * (2.0 / n) * (x - mean.reshape(bshape))
        dx = dx + extra
    return dx, dgamma, dbeta


_batch_norm_train = function(_batch_norm_train_forward, _batch_norm_train_backward, "batch_normalization_training")
_batch_norm_infer = function(N.batch_norm_infer_forward, N.batch_norm_infer_backward, "batch_normalization")
_layer_norm = function(N.layer_norm_forward, N.layer_norm_backward, "layer_normalization")


def _optional(t):
    return None if t is None else convert_to_tensor(t)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``keras.ops.batch_normalization``: normalize ``x`` with given statistics along ``axis``,
    then ``scale * x_hat + offset``; differentiable in every tensor argument."""
    return _batch_norm_infer(convert_to_tensor(x), convert_to_tensor(mean), convert_to_tensor(variance),
                             _optional(scale), _optional(offset), axis=axis, epsilon=epsilon)


def batch_normalization_training(x, scale=None, offset=None, axis=-1, epsilon=1e-3):
    """Normalize with the statistics of this batch; returns ``(y, batch_mean, batch_variance)``
    (the biased variance, per feature of ``axis``) for the layer's moving averages."""
    return _batch_norm_train(convert_to_tensor(x), _optional(scale), _optional(offset), axis=axis,
                             epsilon=epsilon)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=1e-3, rms_scaling=False):
    """Normalize each sample over ``axis`` (an int or a tuple), then ``gamma * x_hat + beta``."""
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    return _layer_norm(convert_to_tensor(x), _optional(gamma), _optional(beta), axes=axes, epsilon=epsilon,
                       rms_scaling=rms_scaling)

