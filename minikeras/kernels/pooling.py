"""Pooling kernels, channels-last, Keras/TensorFlow semantics.

Each pool offset is one strided view of the (padded) input; forward and backward loop over
those ``ph*pw`` offsets only, never over pixels, and never copy the windows. The common 2x2,
stride-2 max pooling has a fast path: a tournament with three boolean masks, computed in
cache-sized blocks of samples (in chunks that run on the CPU's cores at once), on the four
offsets copied apart into contiguous planes first, and a backward that writes every input
cell exactly once.

* ``strides`` defaults to ``pool_size``; "valid" floors (11 -> 5 for a pool of 2).
* "same" pads like TensorFlow (extra row/column at the bottom/right). Max pooling pads
  with -inf; average pooling divides each window by its number of valid (unpadded) cells.
* Max pooling ties: the whole gradient of a window goes to the FIRST maximum in row-major
  order within that window (as TensorFlow and PyTorch do on the CPU). Overlapping windows
  that pick the same cell add their gradients.
"""
from ..backend import get_array_module
from .conv import _crop, _norm_padding, _pad, _pair, block_size, blocks_of, padding_amounts
from .parallel import chunks, map_chunks


def _geometry(x, pool_size, strides, padding, op):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected an input of rank 4 (N, H, W, C), got shape {tuple(x.shape)}.")
    ph, pw = _pair(pool_size, "pool_size", op)
    sh, sw = (ph, pw) if strides is None else _pair(strides, "strides", op)
    if min(ph, pw, sh, sw) < 1:
        raise ValueError(f"{op}: pool_size and strides must be >= 1, got {pool_size} and {strides}.")
    padding = _norm_padding(padding, op)
    _, h, w, _ = x.shape
    t, b, oh = padding_amounts(h, ph, sh, 1, padding)
    l, r, ow = padding_amounts(w, pw, sw, 1, padding)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"{op}: pool_size {(ph, pw)} is larger than the input {(h, w)} with "
                         f"padding={padding!r} (input shape {tuple(x.shape)}): the output would be empty.")
    return (ph, pw), (sh, sw), ((t, b), (l, r)), (oh, ow)


def _offset_views(xpad, pool, strides, out):
    """One strided (N, OH, OW, C) view per pool offset, row-major (a loop over offsets only)."""
    (ph, pw), (sh, sw), (oh, ow) = pool, strides, out
    return [xpad[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
            for i in range(ph) for j in range(pw)]


def _scatter(pieces, pshape, pads, pool, strides, out, dtype, xp):
    """Adjoint of ``_offset_views``: add one (N, OH, OW, C) gradient per offset into the input."""
    dxp = xp.zeros(pshape, dtype=dtype)
    for view, piece in zip(_offset_views(dxp, pool, strides, out), pieces):
        view += piece
    return _crop(dxp, pads)


def max_pool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid", _op="max_pool2d"):
    """x: (N, H, W, C) -> (N, OH, OW, C), the maximum of each window."""
    xp = get_array_module(x)
    pool, stride, pads, out = _geometry(x, pool_size, strides, padding, _op)
    xpad = _pad(x, pads, value=-xp.inf)
    if pool == stride == (2, 2):
        return _max_pool_2x2_forward(xpad, pads, out, xp)
    views = _offset_views(xpad, pool, stride, out)
    y = views[0].copy() if len(views) == 1 else xp.maximum(views[0], views[1])
    for v in views[2:]:
        xp.maximum(y, v, out=y)
    # index of the first offset holding the maximum: scan backwards so earlier offsets win
    itype = "uint8" if len(views) < 256 else "int32"
    idx = xp.full(y.shape, len(views) - 1, dtype=itype)
    for k in range(len(views) - 2, -1, -1):
        idx = xp.where(views[k] == y, xp.asarray(k, dtype=itype), idx)
    return y, (idx, xpad.shape, pads, pool, stride, out)


def max_pool2d_backward(dy, cache):
    """Routes each window's gradient to its (first) maximum; returns dx."""
    if isinstance(cache[0], str):  # the 2x2 fast path
        return _max_pool_2x2_backward(dy, cache)
    idx, pshape, pads, pool, stride, out = cache
    xp = get_array_module(dy)
    pieces = (dy * (idx == k) for k in range(pool[0] * pool[1]))
    return _scatter(pieces, pshape, pads, pool, stride, out, dy.dtype, xp)


def _quadrants(a, out):
    """The four offsets of 2x2 windows as one (2, 2, N, OH, OW, C) view of an NHWC array
    (``[i, j]`` is offset (i, j) of every window; a last odd row or column is left out)."""
    n, c = a.shape[0], a.shape[3]
    oh, ow = out
    return a[:, :2 * oh, :2 * ow].reshape(n, oh, 2, ow, 2, c).transpose(2, 4, 0, 1, 3, 5)


def _max_pool_2x2_forward(xpad, pads, out, xp):
    """2x2/stride-2 fast path: a two-round tournament over the four offsets, block by block.

    A block's four offsets are first copied apart into one contiguous plane each (every later
    operation then runs over contiguous memory, several times faster than over the strided
    offset views of an NHWC array, whose runs are only C elements long). Three boolean masks
    record the winners, ties going to the earlier offset (row-major): ``right`` (top row:
    offset (0,1) beat (0,0)), ``lower`` (bottom row: (1,1) beat (1,0)) and ``bottom`` (the
    bottom row's winner beat the top row's).
    """
    n = xpad.shape[0]
    quads = _quadrants(xpad, out)
    y = xp.empty(quads.shape[2:], dtype=xpad.dtype)
    right, lower, bottom = (xp.empty(y.shape, dtype=bool) for _ in range(3))
    step = block_size(xp, n, 2 * xpad[0].nbytes)

    def forward_rows(rows):
        planes = xp.empty((2, 2, min(step, rows.stop - rows.start)) + y.shape[1:], dtype=y.dtype)
        for b in blocks_of(rows, step):
            p = planes[:, :, :b.stop - b.start]
            p[...] = quads[:, :, b]
            (v00, v01), (v10, v11) = p
            xp.greater(v01, v00, out=right[b])
            xp.maximum(v00, v01, out=v00)  # the top row's winner
            xp.greater(v11, v10, out=lower[b])
            xp.maximum(v10, v11, out=v10)  # the bottom row's winner
            xp.greater(v10, v00, out=bottom[b])
            xp.maximum(v00, v10, out=y[b])

    map_chunks(forward_rows, chunks(xp, n, xpad[0].size * n), uses_blas=False)
    return y, ("2x2", (right, lower, bottom), xpad.shape, pads, out)


def _max_pool_2x2_backward(dy, cache):
    """Writes each window's gradient into its winning offset (and zeros into the other three):
    into contiguous planes first, then copied into place, the forward's steps reversed."""
    _, (right, lower, bottom), pshape, pads, out = cache
    xp = get_array_module(dy)
    n = pshape[0]
    covered = pshape[1] == 2 * out[0] and pshape[2] == 2 * out[1]
    dxp = (xp.empty if covered else xp.zeros)(pshape, dtype=dy.dtype)
    quads = _quadrants(dxp, out)
    step = block_size(xp, n, 2 * dxp[0].nbytes)

    def backward_rows(rows):
        planes = xp.empty((2, 2, min(step, rows.stop - rows.start)) + dy.shape[1:], dtype=dy.dtype)
        for b in blocks_of(rows, step):
            p = planes[:, :, :b.stop - b.start]
            (d00, d01), (d10, d11) = p
            g = dy[b]
            xp.multiply(g, bottom[b], out=d10)  # the bottom row's share
            xp.subtract(g, d10, out=d00)        # the top row's share
            xp.multiply(d00, right[b], out=d01)
            d00 -= d01
            xp.multiply(d10, lower[b], out=d11)
            d10 -= d11
            quads[:, :, b] = p

    map_chunks(backward_rows, chunks(xp, n, dxp[0].size * n), uses_blas=False)
    return _crop(dxp, pads)


def avg_pool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid", _op="average_pool2d"):
    """x: (N, H, W, C) -> (N, OH, OW, C), the mean of the valid cells of each window."""
    xp = get_array_module(x)
    pool, stride, pads, out = _geometry(x, pool_size, strides, padding, _op)
    xpad = _pad(x, pads)
    views = _offset_views(xpad, pool, stride, out)
    y = views[0].copy() if len(views) == 1 else views[0] + views[1]
    for v in views[2:]:
        y += v
    if any(p for pair in pads for p in pair):
        ones = _pad(xp.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype), pads)
        count = sum(_offset_views(ones, pool, stride, out))
    else:
        count = x.dtype.type(len(views))
    y /= count
    return y, (count, xpad.shape, pads, pool, stride, out)


def avg_pool2d_backward(dy, cache):
    count, pshape, pads, pool, stride, out = cache
    g = dy / count
    return _scatter([g] * (pool[0] * pool[1]), pshape, pads, pool, stride, out, dy.dtype,
                    get_array_module(dy))


def _as_2d(x, op):
    if x.ndim != 3:
        raise ValueError(f"{op}: expected an input of rank 3 (N, L, C), got shape {tuple(x.shape)}.")
    return x[:, None]


def _one(v):
    return v if v is None or isinstance(v, int) else int(tuple(v)[0])


def max_pool1d_forward(x, pool_size=2, strides=None, padding="valid"):
    s = _one(strides)
    y, cache = max_pool2d_forward(_as_2d(x, "max_pool1d"), (1, _one(pool_size)),
                                  None if s is None else (1, s), padding, _op="max_pool1d")
    return y[:, 0], cache


def max_pool1d_backward(dy, cache):
    return max_pool2d_backward(dy[:, None], cache)[:, 0]


def avg_pool1d_forward(x, pool_size=2, strides=None, padding="valid"):
    s = _one(strides)
    y, cache = avg_pool2d_forward(_as_2d(x, "average_pool1d"), (1, _one(pool_size)),
                                  None if s is None else (1, s), padding, _op="average_pool1d")
    return y[:, 0], cache


def avg_pool1d_backward(dy, cache):
    return avg_pool2d_backward(dy[:, None], cache)[:, 0]


def _spatial_axes(x, op):
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input of rank >= 3 (N, ..., C), got shape {tuple(x.shape)}.")
    return tuple(range(1, x.ndim - 1))


def global_avg_pool_forward(x, keepdims=False):
    """Mean over every spatial axis of a channels-last input."""
    axes = _spatial_axes(x, "global_average_pool")
    return x.mean(axis=axes, keepdims=keepdims), x.shape


def global_avg_pool_backward(dy, shape):
    xp = get_array_module(dy)
    n, c = shape[0], shape[-1]
    size = 1
    for d in shape[1:-1]:
        size *= d
    g = (dy / dy.dtype.type(size)).reshape((n,) + (1,) * (len(shape) - 2) + (c,))
    return xp.broadcast_to(g, shape).copy()


def global_max_pool_forward(x, keepdims=False):
    """Max over every spatial axis; the gradient goes to the first maximum (row-major)."""
    xp = get_array_module(x)
    _spatial_axes(x, "global_max_pool")
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    idx = flat.argmax(axis=1)
    y = xp.take_along_axis(flat, idx[:, None, :], axis=1)[:, 0, :]
    if keepdims:
        y = y.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],))
    return y, (idx, x.shape)


def global_max_pool_backward(dy, cache):
    idx, shape = cache
    xp = get_array_module(dy)
    n, c = shape[0], shape[-1]
    cells = 1
    for d in shape[1:-1]:
        cells *= d
    hit = idx[:, None, :] == xp.arange(cells).reshape(1, -1, 1)
    return (hit * dy.reshape(n, 1, c)).reshape(shape)
