"""Convolution kernels, channels-last (NHWC), Keras/TensorFlow semantics.

The batch is cut into chunks of samples that run on the CPU's cores at once
(``kernels.parallel``), and each chunk into blocks of about ``BLOCK_BYTES`` (the whole batch on
a GPU). The forward pass copies a block's im2col view of the (padded) input once into a
``(rows, kh*kw*C)`` patch matrix that stays in cache and multiplies it by the reshaped kernel
straight into the output, one GEMM per block. The backward pass does the same blocks: the
kernel gradient is a second GEMM on the rebuilt patch matrix, and the input gradient a third,
batched over the ``kh*kw`` kernel offsets so that each offset's contribution comes out as one
contiguous image, added into the input gradient with one shifted add per offset (col2im);
nothing loops over pixels.

"same" padding follows TensorFlow: the output has ``ceil(n / s)`` positions and when the
total padding is odd the extra row/column goes at the bottom/right.
"""
from . import activations as A
from .parallel import chunks, map_chunks, sum_in_order
from ..backend import get_array_module


def _pair(value, name, op):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value}.")
    return value


def _norm_padding(padding, op, allowed=("valid", "same")):
    p = str(padding).lower()
    if p not in allowed:
        raise ValueError(f"{op}: padding must be one of {list(allowed)}, got {padding!r}.")
    return p


def padding_amounts(n, k, s, d, padding):
    """(before, after, out) along one axis for a window of size ``k``, stride ``s``, dilation ``d``."""
    ek = (k - 1) * d + 1
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + ek - n, 0)
        return total // 2, total - total // 2, out
    return 0, 0, (n - ek) // s + 1 if n >= ek else 0


def conv_output_length(n, k, s=1, padding="valid", d=1):
    """Output length along one axis (None stays None), as Keras's shape inference."""
    if n is None:
        return None
    return padding_amounts(n, k, s, d, padding)[2]


def windows(xp_pad, kh, kw, oh, ow, sh, sw, dh, dw):
    """A read-only strided view (N, OH, OW, kh, kw, C) of an NHWC array: no copy."""
    xp = get_array_module(xp_pad)
    n, _, _, c = xp_pad.shape
    s0, s1, s2, s3 = xp_pad.strides
    return xp.lib.stride_tricks.as_strided(
        xp_pad, shape=(n, oh, ow, kh, kw, c),
        strides=(s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3))


def col2im(dwin, padded_shape, oh, ow, sh, sw, dh, dw):
    """Adjoint of ``windows``: sum a (N, OH, OW, kh, kw, C) gradient into the padded input."""
    xp = get_array_module(dwin)
    dxp = xp.zeros(padded_shape, dtype=dwin.dtype)
    kh, kw = dwin.shape[3], dwin.shape[4]
    _col2im_into(dxp, [dwin[:, :, :, i, j, :] for i in range(kh) for j in range(kw)],
                 (kh, kw, oh, ow, sh, sw, dh, dw))
    return dxp


def _col2im_into(dxp, offset_grads, geom):
    """Add one (N, OH, OW, C) gradient per kernel offset (row-major) into the padded block ``dxp``
    at that offset's shifted, strided position: one add per offset."""
    kh, kw, oh, ow, sh, sw, dh, dw = geom
    for k, g in enumerate(offset_grads):
        r, c = (k // kw) * dh, (k % kw) * dw
        dxp[:, r:r + sh * (oh - 1) + 1:sh, c:c + sw * (ow - 1) + 1:sw, :] += g


def _pad(x, pads, value=0):
    (t, b), (l, r) = pads
    if t == b == l == r == 0:
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def _crop(dxp, pads):
    (t, b), (l, r) = pads
    h, w = dxp.shape[1], dxp.shape[2]
    return dxp[:, t:h - b, l:w - r, :]


def block_size(xp, n, sample_bytes):
    """How many of ``n`` samples to process at once: on the CPU, enough for about
    ``BLOCK_BYTES`` of working set (so that a block's temporaries stay in cache between
    steps); on a GPU, the whole batch."""
    if xp.__name__ != "numpy":
        return n
    return max(1, min(n, BLOCK_BYTES // max(sample_bytes, 1)))


BLOCK_BYTES = 1 << 20


def blocks_of(rows, step):
    """The range of samples ``rows`` (a slice) cut into blocks of at most ``step`` samples, of
    sizes that differ by one at most (no small last block)."""
    n = rows.stop - rows.start
    parts = -(-n // step)
    bounds = [rows.start + n * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def conv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                   activation="linear", _op="conv2d", _pads=None):
    """x: (N, H, W, Cin), kernel: (kh, kw, Cin, Cout), bias: (Cout,) -> (N, OH, OW, Cout).

    Block by block (see the module docstring); bias and a ReLU are applied in place while the
    block is still in cache. Other activations run once on the whole output.
    """
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(f"{_op}: expected an input of rank 4 (N, H, W, C) and a kernel of rank 4 "
                         f"(kh, kw, in, out), got shapes {tuple(x.shape)} and {tuple(kernel.shape)}.")
    n, h, w, cin = x.shape
    kh, kw, kcin, cout = kernel.shape
    if kcin != cin:
        raise ValueError(f"{_op}: the input has {cin} channels but the kernel of shape "
                         f"{tuple(kernel.shape)} expects {kcin} (input shape {tuple(x.shape)}).")
    sh, sw = _pair(strides, "strides", _op)
    dh, dw = _pair(dilation_rate, "dilation_rate", _op)
    if min(sh, sw, dh, dw) < 1:
        raise ValueError(f"{_op}: strides and dilation_rate must be >= 1, got {strides} and {dilation_rate}.")
    if _pads is None:
        padding = _norm_padding(padding, _op)
        t, b, oh = padding_amounts(h, kh, sh, dh, padding)
        l, r, ow = padding_amounts(w, kw, sw, dw, padding)
        pads = ((t, b), (l, r))
    else:  # explicit pads (used by causal conv1d)
        pads = _pads
        (t, b), (l, r) = pads
        oh = padding_amounts(h + t + b, kh, sh, dh, "valid")[2]
        ow = padding_amounts(w + l + r, kw, sw, dw, "valid")[2]
    if oh <= 0 or ow <= 0:
        raise ValueError(f"{_op}: the kernel {(kh, kw)} (dilation {(dh, dw)}) is larger than the "
                         f"{padding!r}-padded input {(h, w)}: input shape {tuple(x.shape)}, "
                         f"kernel shape {tuple(kernel.shape)} would give an empty output.")
    xp = get_array_module(x, kernel)
    xpad = _pad(x, pads)
    geom = (kh, kw, oh, ow, sh, sw, dh, dw)
    wmat = kernel.reshape(kh * kw * cin, cout)
    z = xp.empty((n, oh, ow, cout), dtype=xp.result_type(x, kernel))
    relu = activation == "relu"
    step = block_size(xp, n, oh * ow * (kh * kw * cin + cout) * z.itemsize)

    def forward_rows(rows):
        # NumPy's maximum against the scalar 0 runs element by element; against an array of
        # zeros it is vectorised (five times faster, NumPy 2.4)
        zeros = xp.zeros((step * oh * ow, cout), dtype=z.dtype) if relu else None
        for b in blocks_of(rows, step):
            zb = z[b].reshape(-1, cout)
            xp.matmul(_patches(xpad[b], geom), wmat, out=zb)
            if bias is not None:
                zb += bias
            if relu:
                xp.maximum(zb, zeros[:zb.shape[0]], out=zb)

    map_chunks(forward_rows, chunks(xp, n, z.size * kh * kw * cin // 16))
    act_cache = z if relu else None
    if not relu and activation != "linear":
        z, act_cache = A.FUSABLE[activation][0](z)
    cache = (xpad, kernel, bias is not None, pads, geom, activation, act_cache)
    return z, cache


def _patches(xpad, geom):
    """The (N*OH*OW, kh*kw*C) patch matrix of a padded NHWC block (a view when the kernel is 1x1).

    With few channels the windows' innermost axis would be only C elements long, which copies
    slowly; the matrix is then built transposed, one contiguous shifted image per kernel offset,
    and returned as a (Fortran-ordered) transpose.
    """
    kh, kw, oh, ow, sh, sw, dh, dw = geom
    n, c = xpad.shape[0], xpad.shape[3]
    if kh == kw == 1 and sh == sw == 1:
        return xpad.reshape(n * oh * ow, c)
    if c >= _FEW_CHANNELS:
        return windows(xpad, kh, kw, oh, ow, sh, sw, dh, dw).reshape(n * oh * ow, kh * kw * c)
    xp = get_array_module(xpad)
    cols_t = xp.empty((kh, kw, c, n, oh, ow), dtype=xpad.dtype)
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            cols_t[i, j] = xpad[:, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw, :].transpose(3, 0, 1, 2)
    return cols_t.reshape(kh * kw * c, n * oh * ow).T


_FEW_CHANNELS = 4


def conv2d_backward(dy, cache, needs=(True, True, True)):
    """Returns (dx, dkernel, dbias); entries not in ``needs`` are None.

    Block by block, as the forward: the ReLU mask, ``dkernel += patches.T @ dz`` (the patches
    are rebuilt from the cached padded input, cheaper than keeping them), ``dbias`` as a GEMV,
    and for dx the GEMM ``dz @ kernel[i, j].T`` for every kernel offset at once, each added
    back at its offset (col2im) into the block's samples. Each chunk of the batch sums its own
    kernel and bias gradients; the chunks' sums are added in order at the end.
    """
    xpad, kernel, has_bias, pads, geom, activation, act_cache = cache
    _, _, oh, ow, sh, sw, _, _ = geom
    kh, kw, cin, cout = kernel.shape
    xp = get_array_module(dy, kernel)
    n = xpad.shape[0]
    need_dx = needs[0]
    need_dk = len(needs) > 1 and needs[1]
    need_db = has_bias and len(needs) > 2 and needs[2]
    relu = activation == "relu"
    dy = dy.reshape(n, oh, ow, cout)
    if not relu and activation != "linear":
        dy = A.FUSABLE[activation][1](dy, act_cache)
    wmat = kernel.reshape(kh * kw * cin, cout)
    per_offset = kernel.reshape(kh * kw, cin, cout).transpose(0, 2, 1)  # (kh*kw, cout, cin), a view
    dtype = xp.result_type(dy, kernel)
    dxp = xp.empty(xpad.shape, dtype=dtype) if need_dx else None
    step = block_size(xp, n, oh * ow * (kh * kw * cin + cout) * max(dy.itemsize, kernel.itemsize))
    ones = xp.ones((step * oh * ow,), dtype=dtype) if need_db else None
    one_to_one = kh == kw == 1 and sh == sw == 1

    def backward_rows(rows):
        dk = xp.zeros((kh * kw * cin, cout), dtype=dtype) if need_dk else None
        db = xp.zeros((cout,), dtype=dtype) if need_db else None
        for b in blocks_of(rows, step):
            dz = dy[b].reshape(-1, cout)
            if relu:
                dz = dz * (act_cache[b].reshape(-1, cout) > 0)
            if need_dk:
                dk += _patches(xpad[b], geom).T @ dz
            if need_db:
                db += ones[:dz.shape[0]] @ dz  # a GEMV: faster than dz.sum(axis=0)
            if need_dx:
                m = b.stop - b.start
                if one_to_one:
                    dxp[b] = (dz @ wmat.T).reshape(dxp[b].shape)
                else:
                    dcols = xp.matmul(dz, per_offset)  # (kh*kw, rows, cin)
                    dxp[b] = 0
                    _col2im_into(dxp[b], dcols.reshape(kh * kw, m, oh, ow, cin), geom)
        return dk, db

    parts = map_chunks(backward_rows, chunks(xp, n, dy.size * kh * kw * cin // 16))
    dk = sum_in_order([p[0] for p in parts])
    db = sum_in_order([p[1] for p in parts])
    dx = _crop(dxp, pads) if need_dx else None
    return dx, (None if dk is None else dk.reshape(kernel.shape)), db


def conv1d_forward(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, activation="linear"):
    """x: (N, L, Cin), kernel: (k, Cin, Cout) -> (N, OL, Cout); padding valid, same or causal."""
    if x.ndim != 3 or kernel.ndim != 3:
        raise ValueError(f"conv1d: expected an input of rank 3 (N, L, C) and a kernel of rank 3 "
                         f"(k, in, out), got shapes {tuple(x.shape)} and {tuple(kernel.shape)}.")
    s = strides if isinstance(strides, int) else int(tuple(strides)[0])
    d = dilation_rate if isinstance(dilation_rate, int) else int(tuple(dilation_rate)[0])
    padding = _norm_padding(padding, "conv1d", ("valid", "same", "causal"))
    pads = None
    if padding == "causal":
        pads = ((0, 0), ((kernel.shape[0] - 1) * d, 0))
    y, cache = conv2d_forward(x[:, None], kernel[None], bias, (1, s), padding, (1, d), activation,
                              _op="conv1d", _pads=pads)
    return y[:, 0], cache


def conv1d_backward(dy, cache, needs=(True, True, True)):
    dx, dk, db = conv2d_backward(dy[:, None], cache, needs)
    return (None if dx is None else dx[:, 0]), (None if dk is None else dk[0]), db
