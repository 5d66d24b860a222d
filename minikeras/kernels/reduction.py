"""Reduction kernels: sum, mean, max and min over some axes (or all of them).

``axis`` is None, an int or a tuple of ints (negative values count from the end); the
backward spreads the gradient back over the reduced axes.
"""
from ..backend import get_array_module


def _norm_axis(axis, ndim):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(a % ndim for a in axis)
    return axis % ndim


def _expand_reduced(g, axis, keepdims, shape):
    """``g`` (the shape of a reduction over ``axis``) broadcast back to ``shape``."""
    xp = get_array_module(g)
    if axis is None:
        return xp.broadcast_to(g.reshape((1,) * len(shape)) if not keepdims else g, shape)
    if not keepdims:
        for ax in sorted(axis if isinstance(axis, tuple) else (axis,)):
            g = xp.expand_dims(g, ax)
    return xp.broadcast_to(g, shape)


def sum_forward(x, axis=None, keepdims=False):
    axis = _norm_axis(axis, x.ndim)
    return x.sum(axis=axis, keepdims=keepdims), (axis, keepdims, x.shape)


def sum_backward(g, cache, needs):
    return (_expand_reduced(g, *cache),)


def mean_forward(x, axis=None, keepdims=False):
    axis = _norm_axis(axis, x.ndim)
    out = x.mean(axis=axis, keepdims=keepdims)
    count = x.size // max(out.size, 1) if x.size else 1
    return out, (axis, keepdims, x.shape, count)


def mean_backward(g, cache, needs):
    axis, keepdims, shape, count = cache
    return (_expand_reduced(g / count, axis, keepdims, shape),)


def max_forward(x, axis=None, keepdims=False):
    axis = _norm_axis(axis, x.ndim)
    out = x.max(axis=axis, keepdims=keepdims)
    return out, (x, out, axis, keepdims)


def min_forward(x, axis=None, keepdims=False):
    axis = _norm_axis(axis, x.ndim)
    out = x.min(axis=axis, keepdims=keepdims)
    return out, (x, out, axis, keepdims)


def extreme_backward(g, cache, needs):
    """Backward of max/min: the gradient goes to the extreme values; ties share it."""
    x, out, axis, keepdims = cache
    hit = x == _expand_reduced(out, axis, keepdims, x.shape)
    count = hit.sum(axis=axis, keepdims=True)
    return (_expand_reduced(g, axis, keepdims, x.shape) * hit / count,)
