"""Whole-sequence recurrent kernels (SimpleRNN, LSTM, GRU) with Keras 3 weight layouts.

Every forward takes ``x`` of shape (batch, time, features) and returns
``(outputs, cache)`` where ``outputs`` is ``(sequence, last_h)`` (LSTM: ``(sequence,
last_h, last_c)``); the sequence is in processing order, so with ``go_backwards`` its
first step belongs to the last input step, as in Keras. The backward (BPTT) accepts a
gradient for the sequence and for each final state (any may be None) and returns the
gradients of x, kernel, recurrent_kernel, bias and the initial state(s).

The input projection ``x @ kernel`` for all steps is one GEMM before the time loop; the
loop does one batched GEMM per step (two for GRU with ``reset_after=False``), and the
weight gradients are single GEMMs after the backward loop. Work is done time-major.

Dropout: ``input_mask`` (batch, features) scales the inputs and ``state_mask``
(batch, units) scales the previous hidden state fed to the recurrent kernel; both are
already divided by the keep probability and are reused at every step, as Keras does.

Layouts (Keras 3): kernel (features, k*units), recurrent_kernel (units, k*units);
LSTM gates i, f, c, o (k=4), bias (4*units,); GRU gates z, r, h (k=3), bias (2, 3*units)
with ``reset_after=True`` (input bias, recurrent bias) or (3*units,) without.
"""
from . import activations as A
from ..backend import get_array_module


# ---------------------------------------------------------------- helpers


def hard_sigmoid_forward(x):
    """Keras 3 hard sigmoid: relu6(x + 3) / 6."""
    y = get_array_module(x).clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)
    return y, x


def hard_sigmoid_backward(dy, x):
    return dy * ((x > -3) & (x < 3)).astype(dy.dtype) / 6


# name -> (forward, backward): the activations the recurrent kernels accept.
ACTIVATIONS = dict(A.FUSABLE, hard_sigmoid=(hard_sigmoid_forward, hard_sigmoid_backward))


class _Act:
    """An activation from ``ACTIVATIONS`` applied into preallocated storage."""

    def __init__(self, name, role):
        name = "linear" if name is None else name
        if name not in ACTIVATIONS:
            raise ValueError(f"Unsupported {role} {name!r} for a recurrent kernel; "
                             f"choose one of {sorted(ACTIVATIONS)}.")
        self.name = name
        self.fwd, self.bwd = ACTIVATIONS[name]

    def forward(self, z, out, caches):
        """Write act(z) into ``out``; remember what the backward needs in ``caches``."""
        if self.name == "tanh":
            get_array_module(z).tanh(z, out=out)
            caches.append(None)
            return out
        y, cache = self.fwd(z)
        out[...] = y
        caches.append(None if (cache is y or cache is None) else cache)
        return out

    def backward(self, dy, y, cache, out=None):
        """Gradient through the activation; ``y`` is the stored output; written to ``out`` if given."""
        if self.name == "tanh" and out is not None:
            xp = get_array_module(y)
            xp.multiply(y, y, out=out)
            xp.subtract(1, out, out=out)
            out *= dy
            return out
        if self.name == "tanh":
            return dy * (1 - y * y)
        g = self.bwd(dy, y if cache is None else cache)
        if out is None:
            return g
        out[...] = g
        return out


def _check_inputs(op, x, kernel, recurrent_kernel, gates):
    if x.ndim != 3:
        raise ValueError(f"{op} expects inputs of shape (batch, time, features), "
                         f"got a {x.ndim}-D array of shape {tuple(x.shape)}.")
    units = recurrent_kernel.shape[0]
    if kernel.shape != (x.shape[2], gates * units) or recurrent_kernel.shape != (units, gates * units):
        raise ValueError(f"{op}: kernel {tuple(kernel.shape)} and recurrent_kernel "
                         f"{tuple(recurrent_kernel.shape)} do not fit inputs {tuple(x.shape)}; expected "
                         f"kernel ({x.shape[2]}, {gates * units}) and recurrent_kernel "
                         f"({units}, {gates * units}).")
    return units


def _check_state(op, what, state, batch, units):
    if state is not None and tuple(state.shape) != (batch, units):
        raise ValueError(f"{op}: {what} must have shape ({batch}, {units}), got {tuple(state.shape)}.")


def _prepare(x, input_mask, go_backwards):
    """Time-major, optionally reversed and masked copy of x: (time, batch, features)."""
    xp = get_array_module(x)
    xt = x.transpose(1, 0, 2)
    if go_backwards:
        xt = xt[::-1]
    if input_mask is not None:
        xt = xt * input_mask
    return xp.ascontiguousarray(xt)


def _project(xt, kernel, bias):
    """All input projections at once: (T, B, F) @ (F, k*units) + bias."""
    T, B, F = xt.shape
    xw = (xt.reshape(T * B, F) @ kernel).reshape(T, B, kernel.shape[1])
    if bias is not None:
        xw += bias
    return xw


def _seq_grad(d_seq, T):
    """The sequence gradient as time-major contiguous array (or None)."""
    if d_seq is None:
        return None
    return get_array_module(d_seq).ascontiguousarray(d_seq.transpose(1, 0, 2))


def _finish(cache, dZx, dZh, hprev, dh0, needs, extra_db=None):
    """Weight and input gradients from the per-step pre-activation gradients (one GEMM each)."""
    xt, kernel, input_mask = cache["xt"], cache["kernel"], cache["input_mask"]
    T, B, F = xt.shape
    k = dZx.shape[2]
    dZx2 = dZx.reshape(T * B, k)
    dx = dkernel = drec = dbias = None
    if needs[0]:
        dxt = (dZx2 @ kernel.T).reshape(T, B, F)
        if input_mask is not None:
            dxt *= input_mask
        if cache["go_backwards"]:
            dxt = dxt[::-1]
        dx = get_array_module(dxt).ascontiguousarray(dxt.transpose(1, 0, 2))
    if needs[1]:
        dkernel = xt.reshape(T * B, F).T @ dZx2
    if needs[2]:
        drec = hprev.reshape(T * B, -1).T @ dZh.reshape(T * B, -1)
    if cache["has_bias"] and needs[3]:
        dbias = dZx2.sum(axis=0)
        if extra_db is not None:
            dbias = extra_db(dbias)
    return dx, dkernel, drec, dbias, dh0


def _masked_prev(H, state_mask):
    """Previous states (h_0 .. h_{T-1}) as fed to the recurrent kernel, time-major."""
    prev = H[:-1]
    return prev if state_mask is None else prev * state_mask


# ---------------------------------------------------------------- SimpleRNN


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
                       go_backwards=False, input_mask=None, state_mask=None):
    """h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias) -> ((seq, last_h), cache)."""
    xp = get_array_module(x, kernel)
    units = _check_inputs("simple_rnn", x, kernel, recurrent_kernel, 1)
    B, T, _ = x.shape
    _check_state("simple_rnn", "initial_state", initial_state, B, units)
    act = _Act(activation, "activation")
    xt = _prepare(x, input_mask, go_backwards)
    Z = _project(xt, kernel, bias)  # becomes the pre-activations in place
    H = xp.empty((T + 1, B, units), dtype=Z.dtype)
    H[0] = 0 if initial_state is None else initial_state
    caches = []
    for t in range(T):
        h = H[t] if state_mask is None else H[t] * state_mask
        Z[t] += h @ recurrent_kernel
        act.forward(Z[t], H[t + 1], caches)
    cache = dict(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, caches=caches, act=act,
                 input_mask=input_mask, state_mask=state_mask, go_backwards=go_backwards,
                 has_bias=bias is not None)
    return (H[1:].transpose(1, 0, 2), H[T]), cache


def simple_rnn_backward(d_seq, d_h, cache, needs=(True,) * 5):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_state)."""
    H, act, caches, U = cache["H"], cache["act"], cache["caches"], cache["rec"]
    smask = cache["state_mask"]
    T, B, units = H.shape[0] - 1, H.shape[1], H.shape[2]
    xp = get_array_module(H)
    dseq = _seq_grad(d_seq, T)
    dZ = xp.empty((T, B, units), dtype=H.dtype)
    dh = xp.zeros((B, units), dtype=H.dtype) if d_h is None else d_h
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        act.backward(dh, H[t + 1], caches[t], out=dZ[t])
        dh = dZ[t] @ U.T
        if smask is not None:
            dh *= smask
    return _finish(cache, dZ, dZ, _masked_prev(H, smask), dh, needs)


# ---------------------------------------------------------------- LSTM


def lstm_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, initial_carry=None,
                 activation="tanh", recurrent_activation="sigmoid", go_backwards=False,
                 input_mask=None, state_mask=None):
    """Keras LSTM (gates i, f, c, o) -> ((seq, last_h, last_c), cache)."""
    xp = get_array_module(x, kernel)
    units = _check_inputs("lstm", x, kernel, recurrent_kernel, 4)
    B, T, _ = x.shape
    _check_state("lstm", "initial_state (h)", initial_state, B, units)
    _check_state("lstm", "initial_state (c)", initial_carry, B, units)
    act, rec = _Act(activation, "activation"), _Act(recurrent_activation, "recurrent_activation")
    xt = _prepare(x, input_mask, go_backwards)
    Z = _project(xt, kernel, bias)
    G = xp.empty_like(Z)  # activated gates i, f, g, o
    H = xp.empty((T + 1, B, units), dtype=Z.dtype)
    C = xp.empty((T + 1, B, units), dtype=Z.dtype)
    TC = xp.empty((T, B, units), dtype=Z.dtype)  # act(c_t)
    H[0] = 0 if initial_state is None else initial_state
    C[0] = 0 if initial_carry is None else initial_carry
    u1, u2, u3 = units, 2 * units, 3 * units
    gc_i, gc_f, gc_g, gc_o, tc_c = [], [], [], [], []
    for t in range(T):
        h = H[t] if state_mask is None else H[t] * state_mask
        z = Z[t]
        z += h @ recurrent_kernel
        g = G[t]
        i = rec.forward(z[:, :u1], g[:, :u1], gc_i)
        f = rec.forward(z[:, u1:u2], g[:, u1:u2], gc_f)
        c_hat = act.forward(z[:, u2:u3], g[:, u2:u3], gc_g)
        o = rec.forward(z[:, u3:], g[:, u3:], gc_o)
        c = C[t + 1]
        xp.multiply(f, C[t], out=c)
        c += i * c_hat
        xp.multiply(o, act.forward(c, TC[t], tc_c), out=H[t + 1])
    cache = dict(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, C=C, G=G, TC=TC, act=act, ract=rec,
                 caches=(gc_i, gc_f, gc_g, gc_o, tc_c), input_mask=input_mask, state_mask=state_mask,
                 go_backwards=go_backwards, has_bias=bias is not None)
    return (H[1:].transpose(1, 0, 2), H[T], C[T]), cache


def lstm_backward(d_seq, d_h, d_c, cache, needs=(True,) * 6):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_h, dinitial_c)."""
    H, C, G, TC, U = cache["H"], cache["C"], cache["G"], cache["TC"], cache["rec"]
    act, rec, smask = cache["act"], cache["ract"], cache["state_mask"]
    gc_i, gc_f, gc_g, gc_o, tc_c = cache["caches"]
    T, B, units = H.shape[0] - 1, H.shape[1], H.shape[2]
    u1, u2, u3 = units, 2 * units, 3 * units
    xp = get_array_module(H)
    dseq = _seq_grad(d_seq, T)
    dZ = xp.empty((T, B, 4 * units), dtype=H.dtype)
    dh = xp.zeros((B, units), dtype=H.dtype) if d_h is None else d_h
    dc = xp.zeros((B, units), dtype=H.dtype) if d_c is None else d_c
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        g, dz = G[t], dZ[t]
        i, f, c_hat, o = g[:, :u1], g[:, u1:u2], g[:, u2:u3], g[:, u3:]
        dz[:, u3:] = rec.backward(dh * TC[t], o, gc_o[t])
        dc = dc + act.backward(dh * o, TC[t], tc_c[t])
        dz[:, :u1] = rec.backward(dc * c_hat, i, gc_i[t])
        dz[:, u1:u2] = rec.backward(dc * C[t], f, gc_f[t])
        dz[:, u2:u3] = act.backward(dc * i, c_hat, gc_g[t])
        dc = dc * f
        dh = dz @ U.T
        if smask is not None:
            dh *= smask
    return _finish(cache, dZ, dZ, _masked_prev(H, smask), dh, needs) + (dc if needs[5] else None,)


# ---------------------------------------------------------------- GRU


def gru_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                input_mask=None, state_mask=None):
    """Keras GRU (gates z, r, h) -> ((seq, last_h), cache)."""
    xp = get_array_module(x, kernel)
    units = _check_inputs("gru", x, kernel, recurrent_kernel, 3)
    B, T, _ = x.shape
    _check_state("gru", "initial_state", initial_state, B, units)
    u1, u2 = units, 2 * units
    in_bias = rec_bias = None
    if bias is not None:
        want = (2, 3 * units) if reset_after else (3 * units,)
        if tuple(bias.shape) != want:
            raise ValueError(f"gru: bias must have shape {want} with reset_after={reset_after}, "
                             f"got {tuple(bias.shape)}.")
        in_bias, rec_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    act, rec = _Act(activation, "activation"), _Act(recurrent_activation, "recurrent_activation")
    xt = _prepare(x, input_mask, go_backwards)
    XW = _project(xt, kernel, in_bias)
    G = xp.empty_like(XW)  # activated z, r, hh
    H = xp.empty((T + 1, B, units), dtype=XW.dtype)
    H[0] = 0 if initial_state is None else initial_state
    # reset_after: recurrent h-projection (before r) per step; else r * h_prev (masked).
    AUX = xp.empty((T, B, units), dtype=XW.dtype)
    gc_z, gc_r, gc_h = [], [], []
    for t in range(T):
        hp = H[t]
        hm = hp if state_mask is None else hp * state_mask
        xw, g = XW[t], G[t]
        if reset_after:
            inner = hm @ recurrent_kernel
            if rec_bias is not None:
                inner += rec_bias
            inner[:, :u2] += xw[:, :u2]
            z = rec.forward(inner[:, :u1], g[:, :u1], gc_z)
            r = rec.forward(inner[:, u1:u2], g[:, u1:u2], gc_r)
            AUX[t] = inner[:, u2:]
            pre_h = xw[:, u2:] + r * AUX[t]
        else:
            inner = hm @ recurrent_kernel[:, :u2]
            inner += xw[:, :u2]
            z = rec.forward(inner[:, :u1], g[:, :u1], gc_z)
            r = rec.forward(inner[:, u1:], g[:, u1:u2], gc_r)
            xp.multiply(r, hm, out=AUX[t])
            pre_h = AUX[t] @ recurrent_kernel[:, u2:]
            pre_h += xw[:, u2:]
        hh = act.forward(pre_h, g[:, u2:], gc_h)
        # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
        h = H[t + 1]
        xp.subtract(hp, hh, out=h)
        h *= z
        h += hh
    cache = dict(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, G=G, AUX=AUX, act=act, ract=rec,
                 caches=(gc_z, gc_r, gc_h), reset_after=reset_after, input_mask=input_mask,
                 state_mask=state_mask, go_backwards=go_backwards, has_bias=bias is not None)
    return (H[1:].transpose(1, 0, 2), H[T]), cache


def gru_backward(d_seq, d_h, cache, needs=(True,) * 5):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_state)."""
    H, G, AUX, U = cache["H"], cache["G"], cache["AUX"], cache["rec"]
    act, rec, smask, reset_after = cache["act"], cache["ract"], cache["state_mask"], cache["reset_after"]
    gc_z, gc_r, gc_h = cache["caches"]
    T, B, units = H.shape[0] - 1, H.shape[1], H.shape[2]
    u1, u2 = units, 2 * units
    xp = get_array_module(H)
    dseq = _seq_grad(d_seq, T)
    dX = xp.empty((T, B, 3 * units), dtype=H.dtype)   # grads of x @ kernel (+ input bias)
    dR = xp.empty((T, B, 3 * units if reset_after else 2 * units), dtype=H.dtype)  # grads of h @ U
    dAH = None if reset_after else xp.empty((T, B, units), dtype=H.dtype)
    U_zr, U_h = U[:, :u2], U[:, u2:]
    dh = xp.zeros((B, units), dtype=H.dtype) if d_h is None else d_h
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        g, dx = G[t], dX[t]
        z, r, hh = g[:, :u1], g[:, u1:u2], g[:, u2:]
        hp = H[t]
        dx[:, :u1] = rec.backward(dh * (hp - hh), z, gc_z[t])
        da = act.backward(dh * (1 - z), hh, gc_h[t])
        dx[:, u2:] = da
        if reset_after:
            dx[:, u1:u2] = rec.backward(da * AUX[t], r, gc_r[t])
            dr = dR[t]
            dr[:, :u2] = dx[:, :u2]
            xp.multiply(da, r, out=dr[:, u2:])
            dhm = dr @ U.T
        else:
            d_rh = da @ U_h.T
            dAH[t] = da
            hm = hp if smask is None else hp * smask
            dx[:, u1:u2] = rec.backward(d_rh * hm, r, gc_r[t])
            dR[t] = dx[:, :u2]
            dhm = dR[t] @ U_zr.T
            dhm += d_rh * r
        if smask is not None:
            dhm *= smask
        dhm += dh * z
        dh = dhm
    hprev = _masked_prev(H, smask)
    out = list(_finish(cache, dX, dR, hprev, dh, needs[:2] + (False,) + needs[3:]))
    if needs[2]:
        if reset_after:
            out[2] = hprev.reshape(T * B, units).T @ dR.reshape(T * B, -1)
        else:
            d_zr = hprev.reshape(T * B, units).T @ dR.reshape(T * B, -1)
            d_h = AUX.reshape(T * B, units).T @ dAH.reshape(T * B, units)
            out[2] = xp.concatenate([d_zr, d_h], axis=1)
    if out[3] is not None and reset_after:
        out[3] = xp.stack([out[3], dR.reshape(T * B, -1).sum(axis=0)])
    return tuple(out)
