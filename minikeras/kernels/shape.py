"""Kernels that move values around without arithmetic: reshape, transpose, insert or drop
axes, concatenate, flip, and indexing (whose backward scatters the gradient back)."""
from ..backend import get_array_module


def reshape_forward(x, newshape):
    try:
        out = x.reshape(newshape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} "
                         f"({x.size} values) into shape {tuple(newshape)}.") from None
    return out, x.shape


def restore_shape_backward(g, shape, needs):
    """Backward of every op that only changes the shape (reshape, expand_dims, squeeze)."""
    return (g.reshape(shape),)


def transpose_forward(x, axes=None):
    xp = get_array_module(x)
    if axes is None:
        return xp.transpose(x), None
    axes = tuple(int(a) % x.ndim for a in axes)
    inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
    return xp.transpose(x, axes), inverse


def transpose_backward(g, inverse, needs):
    return (get_array_module(g).transpose(g, inverse),)


def expand_dims_forward(x, axis):
    return get_array_module(x).expand_dims(x, axis), x.shape


def squeeze_forward(x, axis=None):
    return get_array_module(x).squeeze(x, axis), x.shape


def concatenate_forward(*xs, axis=0):
    """Any number of arrays joined along ``axis``; every other axis must match."""
    first = xs[0]
    ndim = first.ndim
    ax = axis % ndim
    for t in xs[1:]:
        if t.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != ax):
            raise ValueError("concatenate: all inputs must have the same shape except along axis "
                             f"{axis}; got shapes {[tuple(t.shape) for t in xs]}.")
    bounds, total = [], 0
    for t in xs[:-1]:
        total += t.shape[ax]
        bounds.append(total)
    return get_array_module(*xs).concatenate(xs, axis=ax), (bounds, ax)


def concatenate_backward(g, cache, needs):
    bounds, ax = cache
    return tuple(get_array_module(g).split(g, bounds, axis=ax))


def flip_forward(x, axis=None):
    return get_array_module(x).flip(x, axis), axis


def flip_backward(g, axis, needs):
    return (get_array_module(g).flip(g, axis),)


def scatter_add(target, key, values):
    """``target[key] += values`` where repeated indices accumulate (NumPy's and CuPy's ``add.at``)."""
    xp = get_array_module(target)
    if hasattr(xp.add, "at"):
        xp.add.at(target, key, values)
    else:  # older CuPy
        import cupyx
        cupyx.scatter_add(target, key, values)
    return target


def getitem_forward(x, key):
    return x[key], (x, key)


def getitem_backward(g, cache, needs):
    x, key = cache
    return (scatter_add(get_array_module(g).zeros_like(x), key, g),)


def take_rows_forward(table, ids):
    """``table[ids]`` for an integer array ``ids`` (an embedding lookup); ``ids`` is never
    differentiated."""
    return table[ids], (table.shape, ids)


def take_rows_backward(g, cache, needs):
    """Repeated ids add up their gradients in the table's row."""
    shape, ids = cache
    full = get_array_module(g).zeros(shape, dtype=g.dtype)
    return (scatter_add(full, ids.reshape(-1), g.reshape(-1, *shape[1:])),)


def triangle_forward(x, k=0, lower=True):
    """The lower (``tril``) or upper (``triu``) triangle of the last two axes of ``x``, the rest
    zero: a fixed mask, so the backward keeps the gradient where the mask keeps the value."""
    xp = get_array_module(x)
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: the input needs at least 2 dimensions, "
                         f"got shape {tuple(x.shape)}.")
    n, m = x.shape[-2:]
    keep = xp.tri(n, m, k, dtype=bool) if lower else ~xp.tri(n, m, k - 1, dtype=bool)
    return xp.where(keep, x, xp.zeros((), dtype=x.dtype)), keep


def triangle_backward(g, keep, needs):
    return (get_array_module(g).where(keep, g, 0).astype(g.dtype, copy=False),)
