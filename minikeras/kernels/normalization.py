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
from .conv import block_size, blocks_of
from .parallel import chunks, map_chunks, sum_in_order


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
#
# Batch normalization works on the input as a (rows, features) matrix, the feature axis moved
# last (a free reshape for the usual channels-last case). Its sums over the rows are GEMVs
# (``ones @ block``): a NumPy sum down the rows of a matrix with 64 columns runs 64 elements
# at a time, several times slower. The matrix is processed in cache-sized blocks of rows, in
# chunks that run on the CPU's cores at once (``kernels.parallel``), and the cache keeps the
# input itself (which the graph holds anyway) rather than a normalized copy of it.


def _as_rows(x, axis):
    """``x`` as a (rows, features) matrix with the feature axis last (a view when it is already last)."""
    xp = get_array_module(x)
    moved = x if axis == x.ndim - 1 else xp.moveaxis(x, axis, -1)
    return xp.ascontiguousarray(moved).reshape(-1, x.shape[axis])


def _from_rows(rows, x_shape, axis):
    """Inverse of ``_as_rows`` for an array of ``x``'s shape."""
    xp = get_array_module(rows)
    moved = tuple(d for i, d in enumerate(x_shape) if i != axis) + (x_shape[axis],)
    out = rows.reshape(moved)
    return out if axis == len(x_shape) - 1 else xp.ascontiguousarray(xp.moveaxis(out, -1, axis))


def _row_blocks(xp, rows, features, itemsize):
    step = block_size(xp, rows, 2 * features * itemsize)
    return step, chunks(xp, rows, rows * features)


def _column_sums(xp, parts, step, dtype, *per_block):
    """For each function in ``per_block`` (block slice -> (block rows, features) array), the
    sum of its blocks over all rows, as GEMVs, chunk partial sums added in order."""
    ones = xp.ones(step, dtype=dtype)

    def chunk_sums(rows):
        totals = [None] * len(per_block)
        for b in blocks_of(rows, step):
            for k, fn in enumerate(per_block):
                block = fn(b)
                s = ones[:block.shape[0]] @ block
                totals[k] = s if totals[k] is None else totals[k] + s
        return totals
    results = map_chunks(chunk_sums, parts)
    return [sum_in_order([r[k] for r in results]) for k in range(len(per_block))]


def batch_norm_train_forward(x, gamma, beta, axis, epsilon):
    """Normalize with the statistics of this batch. gamma/beta: (features,) or None.

    Returns ``(y, cache)``; ``batch_moments(cache)`` gives the (mean, biased var) per feature
    for the moving-average update.
    """
    xp = get_array_module(x)
    axis = axis % x.ndim
    x2 = _as_rows(x, axis)
    rows, features = x2.shape
    step, parts = _row_blocks(xp, rows, features, x2.itemsize)
    (total,) = _column_sums(xp, parts, step, x2.dtype, lambda b: x2[b])
    mean = total / rows

    def squared_deviations(b):
        c = x2[b] - mean
        c *= c
        return c
    (squares,) = _column_sums(xp, parts, step, x2.dtype, squared_deviations)
    var = squares / rows
    inv = 1.0 / xp.sqrt(var + epsilon)
    scale = inv if gamma is None else inv * gamma
    shift = -mean * scale if beta is None else beta - mean * scale
    y2 = xp.empty_like(x2)

    def normalize(rows_):
        for b in blocks_of(rows_, step):
            yb = y2[b]
            xp.multiply(x2[b], scale, out=yb)
            yb += shift
    map_chunks(normalize, parts, uses_blas=False)
    y = _from_rows(y2, x.shape, axis)
    return y, (x2, x.shape, axis, mean, var, inv, gamma, beta is not None)


def batch_moments(cache):
    """(mean, var) of the batch as 1-D arrays, from ``batch_norm_train_forward``'s cache."""
    return cache[3], cache[4]


def batch_norm_train_backward(dy, cache, needs=(True, True, True)):
    """Returns (dx, dgamma, dbeta), the input gradient flowing through the batch mean and var.

    With ``x_hat = (x - mean) * inv`` and sums over the rows, ``dbeta = sum(dy)``,
    ``dgamma = sum(dy * x_hat)`` and ``dx = gamma * inv * (dy - dbeta / n - x_hat * dgamma / n)``:
    one pass over the blocks for the two sums, one for dx.
    """
    x2, shape, axis, mean, var, inv, gamma, has_beta = cache
    xp = get_array_module(dy)
    rows, features = x2.shape
    dy2 = _as_rows(dy, axis)
    step, parts = _row_blocks(xp, rows, features, x2.itemsize)

    def dy_times_x_hat(b):
        t = x2[b] - mean
        t *= inv
        t *= dy2[b]
        return t
    dbeta, dgamma = _column_sums(xp, parts, step, dy2.dtype, lambda b: dy2[b], dy_times_x_hat)
    dx = None
    if needs[0]:
        g = inv if gamma is None else gamma * inv
        k_dy = g
        k_centered = -g * inv * dgamma / rows
        k_const = -g * dbeta / rows
        dx2 = xp.empty_like(dy2)

        def input_gradient(rows_):
            for b in blocks_of(rows_, step):
                t = x2[b] - mean
                t *= k_centered
                t += k_const
                xp.multiply(dy2[b], k_dy, out=dx2[b])
                dx2[b] += t
        map_chunks(input_gradient, parts, uses_blas=False)
        dx = _from_rows(dx2, shape, axis)
    want_gamma = gamma is not None and len(needs) > 1 and needs[1]
    want_beta = has_beta and len(needs) > 2 and needs[2]
    return dx, (dgamma if want_gamma else None), (dbeta if want_beta else None)


def batch_norm_infer_forward(x, mean, var, gamma, beta, axis, epsilon):
    """Normalize with fixed (moving) statistics: a per-feature affine map of x."""
    axis = axis % x.ndim
    bshape = _param_shape(x.ndim, (axis,), x.shape)
    inv = 1.0 / get_array_module(x).sqrt(var.reshape(bshape) + epsilon)
    scale = inv if gamma is None else inv * gamma.reshape(bshape)
    shift = -mean.reshape(bshape) * scale
    if beta is not None:
        shift = shift + beta.reshape(bshape)
    y = x * scale
    y += shift
    return y, (x, mean.reshape(bshape), inv, gamma, beta is not None, _reduction_axes(x.ndim, (axis,)), bshape)


def batch_norm_infer_backward(dy, cache, needs=(True, True, True, True, True)):
    """Returns (dx, dmean, dvar, dgamma, dbeta); the statistics are constants of the input."""
    x, mean, inv, gamma, has_beta, red, bshape = cache
    needs = tuple(needs) + (False,) * (5 - len(needs))
    x_hat = (x - mean) * inv
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
