"""Batch and layer normalization as fused forward/backward pairs.

Both normalize ``x`` over some axes, ``x_hat = (x - mean) / sqrt(var + eps)``, then apply
``gamma * x_hat + beta``. Batch norm reduces over every axis but the feature axis (the batch
and, after a conv, the spatial axes); layer norm reduces over the feature axes of each sample.
Writing the backward by hand (rather than chaining mean/var/sqrt nodes) keeps one graph node
per layer and uses the closed form of the gradient through the batch statistics:

    dx = inv / n * (n * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))

with ``inv = 1 / sqrt(var + eps)``, the sums over the ``n`` reduced positions. The variance is
the biased one (divide by n), as Keras uses. Kernels take the array module from their inputs.
"""
from ..backend import get_array_module


def _param_shape(ndim, axes, shape):
    """Broadcast shape of a per-feature parameter: the input's size on ``axes``, 1 elsewhere."""
    out = [1] * ndim
    for a in axes:
        out[a] = shape[a]
    return tuple(out)


def _affine(x_hat, gamma, beta, bshape):
    y = x_hat if gamma is None else x_hat * gamma.reshape(bshape)
    if beta is not None:
        y = y + beta.reshape(bshape)
    return y


def _normalize_backward(dx_hat, x_hat, inv, red_axes, n):
    """Gradient through ``x_hat = (x - mean(x)) * inv`` where mean and var come from x itself."""
    s1 = dx_hat.sum(axis=red_axes, keepdims=True)
    s2 = (dx_hat * x_hat).sum(axis=red_axes, keepdims=True)
    return (inv / n) * (n * dx_hat - s1 - x_hat * s2)


def _param_grads(dy, x_hat, red_axes, gamma_shape, has_gamma, has_beta, needs_gamma, needs_beta):
    dgamma = (dy * x_hat).sum(axis=red_axes).reshape(gamma_shape) if has_gamma and needs_gamma else None
    dbeta = dy.sum(axis=red_axes).reshape(gamma_shape) if has_beta and needs_beta else None
    return dgamma, dbeta


def _reduction_axes(ndim, keep):
    return tuple(i for i in range(ndim) if i not in keep)


# ---------------------------------------------------------------- batch normalization


def batch_norm_train_forward(x, gamma, beta, axis, epsilon):
    """Normalize with the statistics of this batch. gamma/beta: (features,) or None.

    Returns ``(y, cache)``; ``batch_moments(cache)`` gives the (mean, biased var) per feature
    for the moving-average update.
    """
    axis = axis % x.ndim
    red = _reduction_axes(x.ndim, (axis,))
    mean = x.mean(axis=red, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=red, keepdims=True)
    inv = 1.0 / get_array_module(x).sqrt(var + epsilon)
    x_hat = centered * inv
    bshape = _param_shape(x.ndim, (axis,), x.shape)
    y = _affine(x_hat, gamma, beta, bshape)
    n = x.size // x.shape[axis]
    return y, (x_hat, inv, gamma, beta is not None, red, bshape, n, mean, var)


def batch_moments(cache):
    """(mean, var) of the batch as 1-D arrays, from ``batch_norm_train_forward``'s cache."""
    mean, var = cache[7], cache[8]
    return mean.reshape(-1), var.reshape(-1)


def batch_norm_train_backward(dy, cache, needs=(True, True, True)):
    """Returns (dx, dgamma, dbeta), the input gradient flowing through the batch mean and var."""
    x_hat, inv, gamma, has_beta, red, bshape, n = cache[:7]
    dx = None
    if needs[0]:
        dx_hat = dy if gamma is None else dy * gamma.reshape(bshape)
        dx = _normalize_backward(dx_hat, x_hat, inv, red, n)
    dgamma, dbeta = _param_grads(dy, x_hat, red, (_prod(bshape),), gamma is not None, has_beta,
                                 len(needs) > 1 and needs[1], len(needs) > 2 and needs[2])
    return dx, dgamma, dbeta


def batch_norm_infer_forward(x, mean, var, gamma, beta, axis, epsilon):
    """Normalize with fixed (moving) statistics: a per-feature affine map of x."""
    axis = axis % x.ndim
    bshape = _param_shape(x.ndim, (axis,), x.shape)
    inv = 1.0 / get_array_module(x).sqrt(var.reshape(bshape) + epsilon)
    centered = x - mean.reshape(bshape)
    x_hat = centered * inv
    y = _affine(x_hat, gamma, beta, bshape)
    return y, (x_hat, inv, gamma, beta is not None, _reduction_axes(x.ndim, (axis,)), bshape)


def batch_norm_infer_backward(dy, cache, needs=(True, True, True, True, True)):
    """Returns (dx, dmean, dvar, dgamma, dbeta); the statistics are constants of the input."""
    x_hat, inv, gamma, has_beta, red, bshape = cache
    needs = tuple(needs) + (False,) * (5 - len(needs))
    dx_hat = dy if gamma is None else dy * gamma.reshape(bshape)
    dx = dx_hat * inv if needs[0] else None
    dmean = -(dx_hat * inv).sum(axis=red) if needs[1] else None
    dvar = (-0.5 * (dx_hat * x_hat).sum(axis=red, keepdims=True) * inv * inv).reshape(-1) if needs[2] else None
    dgamma, dbeta = _param_grads(dy, x_hat, red, (_prod(bshape),), gamma is not None, has_beta,
                                 needs[3], needs[4])
    return dx, dmean, dvar, dgamma, dbeta


# ---------------------------------------------------------------- layer normalization


def layer_norm_forward(x, gamma, beta, axes, epsilon, rms_scaling=False):
    """Normalize each sample over ``axes`` (a tuple). gamma/beta have the shape of those axes.

    ``rms_scaling=True`` reproduces Keras 3's (deprecated) variant: divide by
    ``sqrt(var + eps)`` without subtracting the mean, and no beta.
    """
    axes = tuple(sorted(a % x.ndim for a in axes))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    inv = 1.0 / get_array_module(x).sqrt(var + epsilon)
    x_hat = (x if rms_scaling else centered) * inv
    bshape = _param_shape(x.ndim, axes, x.shape)
    y = _affine(x_hat, gamma, beta, bshape)
    n = _prod(x.shape[a] for a in axes)
    return y, (x, centered, x_hat, inv, gamma, beta is not None, axes, bshape, n, rms_scaling)


def _prod(shape):
    out = 1
    for d in shape:
        out *= d
    return out


def layer_norm_backward(dy, cache, needs=(True, True, True)):
    """Returns (dx, dgamma, dbeta) for ``layer_norm_forward``."""
    x, centered, x_hat, inv, gamma, has_beta, axes, bshape, n, rms_scaling = cache
    dx = None
    if needs[0]:
        dx_hat = dy if gamma is None else dy * gamma.reshape(bshape)
        if rms_scaling:
            # y = x * inv(var(x)); d inv / d var = -inv^3 / 2; d var / d x = 2 (x - mean) / n
            dinv = (dx_hat * x).sum(axis=axes, keepdims=True)
            dx = dx_hat * inv - dinv * inv ** 3 * centered / n
        else:
            dx = _normalize_backward(dx_hat, x_hat, inv, axes, n)
    other = _reduction_axes(dy.ndim, axes)
    shape = tuple(dy.shape[a] for a in axes)
    dgamma, dbeta = _param_grads(dy, x_hat, other, shape, gamma is not None, has_beta,
                                 len(needs) > 1 and needs[1], len(needs) > 2 and needs[2])
    return dx, dgamma, dbeta
