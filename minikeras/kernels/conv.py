"""Convolution kernels, channels-last (NHWC), Keras/TensorFlow semantics.

The forward pass builds an im2col view of the (padded) input with stride tricks, copies
it once into a ``(N*OH*OW, kh*kw*C)`` matrix and multiplies it by the reshaped kernel:
one GEMM per call. The backward pass reuses that matrix for the kernel gradient (a second
GEMM) and scatters the column gradient back with a loop over the ``kh*kw`` kernel offsets
(col2im); nothing loops over pixels or samples.

"same" padding follows TensorFlow: the output has ``ceil(n / s)`` positions and when the
total padding is odd the extra row/column goes at the bottom/right.
"""
from . import activations as A
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
    kh, kw = dwin.shape[3], dwin.shape[4]
    dxp = xp.zeros(padded_shape, dtype=dwin.dtype)
    for i in range(kh):
        for j in range(kw):
            r, c = i * dh, j * dw
            dxp[:, r:r + sh * (oh - 1) + 1:sh, c:c + sw * (ow - 1) + 1:sw, :] += dwin[:, :, :, i, j, :]
    return dxp


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


def conv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                   activation="linear", _op="conv2d", _pads=None):
    """x: (N, H, W, Cin), kernel: (kh, kw, Cin, Cout), bias: (Cout,) -> (N, OH, OW, Cout)."""
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
    xpad = _pad(x, pads)
    if kh == kw == 1 and sh == sw == 1:
        cols = xpad.reshape(n * oh * ow, cin)
    else:
        cols = windows(xpad, kh, kw, oh, ow, sh, sw, dh, dw).reshape(n * oh * ow, kh * kw * cin)
    z = cols @ kernel.reshape(kh * kw * cin, cout)
    if bias is not None:
        z += bias
    y, act_cache = A.FUSABLE[activation][0](z)
    cache = (cols, kernel, bias is not None, xpad.shape, pads, (oh, ow), (sh, sw), (dh, dw),
             activation, act_cache)
    return y.reshape(n, oh, ow, cout), cache


def conv2d_backward(dy, cache, needs=(True, True, True)):
    """Returns (dx, dkernel, dbias); entries not in ``needs`` are None."""
    cols, kernel, has_bias, pshape, pads, (oh, ow), (sh, sw), (dh, dw), activation, act_cache = cache
    kh, kw, cin, cout = kernel.shape
    dz = A.FUSABLE[activation][1](dy.reshape(-1, cout), act_cache)
    dx = dkernel = dbias = None
    if needs[0]:
        dcols = dz @ kernel.reshape(kh * kw * cin, cout).T
        n = pshape[0]
        if kh == kw == 1 and sh == sw == 1:
            dxp = dcols.reshape(pshape)
        else:
            dxp = col2im(dcols.reshape(n, oh, ow, kh, kw, cin), pshape, oh, ow, sh, sw, dh, dw)
        dx = _crop(dxp, pads)
    if len(needs) > 1 and needs[1]:
        dkernel = (cols.T @ dz).reshape(kernel.shape)
    if has_bias and len(needs) > 2 and needs[2]:
        dbias = dz.sum(axis=0)
    return dx, dkernel, dbias


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


# ---------------------------------------------------------------- differentiable ops
# Tensor-level wrappers (re-exported by minikeras.ops). The autodiff import is local so
# that this module keeps depending only on the backend at import time.


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, activation="linear"):
    """Differentiable fused ``activation(conv2d(x, kernel) + bias)`` on channels-last tensors."""
    from ..autodiff import make_node
    from ..ops import convert_to_tensor
    x, kernel = convert_to_tensor(x), convert_to_tensor(kernel)
    parents = (x, kernel) if bias is None else (x, kernel, convert_to_tensor(bias))
    out, cache = conv2d_forward(x.value, kernel.value, None if bias is None else parents[2].value,
                                strides, padding, dilation_rate, activation)
    return make_node(out, parents, lambda g, needs: conv2d_backward(g, cache, needs)[:len(parents)])


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, activation="linear"):
    """Differentiable fused 1D convolution on (N, L, C) tensors (padding valid, same or causal)."""
    from ..autodiff import make_node
    from ..ops import convert_to_tensor
    x, kernel = convert_to_tensor(x), convert_to_tensor(kernel)
    parents = (x, kernel) if bias is None else (x, kernel, convert_to_tensor(bias))
    out, cache = conv1d_forward(x.value, kernel.value, None if bias is None else parents[2].value,
                                strides, padding, dilation_rate, activation)
    return make_node(out, parents, lambda g, needs: conv1d_backward(g, cache, needs)[:len(parents)])


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """``keras.ops.conv`` for channels-last 1D (rank 3) and 2D (rank 4) inputs."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"conv: only data_format='channels_last' is supported, got {data_format!r}.")
    from ..ops import convert_to_tensor
    inputs = convert_to_tensor(inputs)
    rank = inputs.ndim
    if rank == 3:
        return conv1d(inputs, kernel, None, strides, padding, dilation_rate)
    if rank == 4:
        return conv2d(inputs, kernel, None, strides, padding, dilation_rate)
    raise ValueError(f"conv: inputs must have rank 3 (N, L, C) or 4 (N, H, W, C), got shape "
                     f"{inputs.shape}.")
