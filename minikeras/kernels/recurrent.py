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

Dropout (Keras 3's ``DropoutRNNCell``): ``input_mask`` scales the inputs and
``state_mask`` the previous hidden state fed to the recurrent kernel; both are already
divided by the keep probability and are reused at every step. Each is either one mask
shared by every gate, (batch, features) / (batch, units), or one mask per gate,
(gates, batch, features) / (gates, batch, units), as Keras draws them when the cell runs
gate by gate (``implementation=1``, which ``recurrent_dropout > 0`` implies).

Time-step mask (Keras's ``mask``, e.g. from ``Embedding(mask_zero=True)``): ``mask`` of
shape (batch, time), True where a step is real. A masked step keeps the previous state(s);
its output is the previous step's output (zeros before the first real step), or zeros
with ``zero_output_for_mask=True``, exactly as Keras 3's ``backend.rnn``.

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


def _check_dropout(op, what, mask, gates, batch, width):
    """A dropout mask is (batch, width) for all gates or (gates, batch, width), one per gate."""
    if mask is None:
        return
    shape = tuple(mask.shape)
    if shape != (batch, width) and shape != (gates, batch, width):
        per_gate = f" or ({gates}, {batch}, {width}) (one per gate)" if gates > 1 else ""
        raise ValueError(f"{op}: {what} must have shape ({batch}, {width}){per_gate}, got {shape}.")


def _per_gate(mask):
    return mask is not None and mask.ndim == 3


def _step_mask(op, mask, x, go_backwards):
    """The time-step mask (batch, time) as (keep, drop): time-major (T, B, 1) arrays in
    processing order, keep as floats (for gradients) and drop as booleans (for copies)."""
    if mask is None:
        return None, None
    B, T = x.shape[0], x.shape[1]
    if tuple(mask.shape) != (B, T):
        raise ValueError(f"{op}: mask must have shape (batch, time) = ({B}, {T}), got {tuple(mask.shape)}.")
    xp = get_array_module(x)
    m = mask.astype(bool, copy=False).T
    if go_backwards:
        m = m[::-1]
    m = xp.ascontiguousarray(m)[:, :, None]
    return m.astype(x.dtype), ~m


def _output_weights(keep, zero_output_for_mask, has_initial_state):
    """Where a masked sequence's outputs differ from its states, (T, B, 1) factors, else None.

    Keras's output at a masked step is the previous output, which starts at zeros: it equals
    the kept state once a real step was seen, and is zero before that (or, with
    ``zero_output_for_mask``, zero at every masked step). From a zero initial state the
    outputs are the states exactly, so no factor is needed.
    """
    if keep is None:
        return None
    if zero_output_for_mask:
        return keep
    if not has_initial_state:
        return None
    return (keep.cumsum(axis=0) > 0).astype(keep.dtype)


def _prepare(x, input_mask, go_backwards):
    """Time-major, optionally reversed copy of x: (time, batch, features); a mask shared by
    every gate is applied here (one per gate is applied gate by gate in ``_project``)."""
    xp = get_array_module(x)
    xt = x.transpose(1, 0, 2)
    if go_backwards:
        xt = xt[::-1]
    if input_mask is not None and input_mask.ndim == 2:
        xt = xt * input_mask
    return xp.ascontiguousarray(xt)


def _project(xt, kernel, bias, input_mask=None):
    """All input projections at once: (T, B, F) @ (F, k*units) + bias (per gate: k GEMMs)."""
    T, B, F = xt.shape
    if _per_gate(input_mask):
        xp = get_array_module(xt)
        k = input_mask.shape[0]
        u = kernel.shape[1] // k
        xw = xp.empty((T, B, kernel.shape[1]), dtype=xp.result_type(xt.dtype, kernel.dtype))
        for g in range(k):
            part = (xt * input_mask[g]).reshape(T * B, F) @ kernel[:, g * u:(g + 1) * u]
            xw[:, :, g * u:(g + 1) * u] = part.reshape(T, B, u)
    else:
        xw = (xt.reshape(T * B, F) @ kernel).reshape(T, B, kernel.shape[1])
    if bias is not None:
        xw += bias
    return xw


def _recurrent_into(z, h, U, state_mask):
    """``z += dropout(h) @ U``, per gate when there is one mask per gate."""
    if state_mask is None:
        z += h @ U
    elif state_mask.ndim == 2:
        z += (h * state_mask) @ U
    else:
        u = h.shape[1]
        for g in range(state_mask.shape[0]):
            z[:, g * u:(g + 1) * u] += (h * state_mask[g]) @ U[:, g * u:(g + 1) * u]


def _recurrent(h, U, state_mask):
    """``dropout(h) @ U`` as a new array (per gate when there is one mask per gate)."""
    if state_mask is None:
        return h @ U
    if state_mask.ndim == 2:
        return (h * state_mask) @ U
    out = get_array_module(h).zeros((h.shape[0], U.shape[1]), dtype=h.dtype)
    _recurrent_into(out, h, U, state_mask)
    return out


def _recurrent_back(dz, U, state_mask):
    """The gradient of h through ``dropout(h) @ U`` given the gradient ``dz`` of the product."""
    if state_mask is None:
        return dz @ U.T
    if state_mask.ndim == 2:
        dh = dz @ U.T
        dh *= state_mask
        return dh
    u = U.shape[0]
    dh = None
    for g in range(state_mask.shape[0]):
        part = dz[:, g * u:(g + 1) * u] @ U[:, g * u:(g + 1) * u].T
        part *= state_mask[g]
        dh = part if dh is None else dh + part
    return dh


def _weight_grad(inputs, dZ, mask):
    """``sum_t dropout(inputs_t)^T dZ_t`` for time-major (T, B, n) inputs and (T, B, k*u) dZ:
    one GEMM, or one per gate when ``mask`` holds one mask per gate."""
    T, B, n = inputs.shape
    if not _per_gate(mask):
        if mask is not None:
            inputs = inputs * mask
        return inputs.reshape(T * B, n).T @ dZ.reshape(T * B, -1)
    xp = get_array_module(inputs)
    k = mask.shape[0]
    u = dZ.shape[2] // k
    return xp.concatenate([(inputs * mask[g]).reshape(T * B, n).T @ dZ[:, :, g * u:(g + 1) * u].reshape(T * B, u)
                           for g in range(k)], axis=1)


def _input_grad(cache, dZx):
    """The gradient of x (batch-major, input order) from the gradients of the projections."""
    xt, kernel, input_mask = cache["xt"], cache["kernel"], cache["input_mask"]
    T, B, F = xt.shape
    if _per_gate(input_mask):
        k = input_mask.shape[0]
        u = kernel.shape[1] // k
        dxt = None
        for g in range(k):
            part = (dZx[:, :, g * u:(g + 1) * u].reshape(T * B, u) @ kernel[:, g * u:(g + 1) * u].T).reshape(T, B, F)
            part *= input_mask[g]
            dxt = part if dxt is None else dxt + part
    else:
        dxt = (dZx.reshape(T * B, -1) @ kernel.T).reshape(T, B, F)
        if input_mask is not None:
            dxt *= input_mask
    if cache["go_backwards"]:
        dxt = dxt[::-1]
    return get_array_module(dxt).ascontiguousarray(dxt.transpose(1, 0, 2))


def _finish(cache, dZx, dZh, H, dh0, needs):
    """Weight and input gradients from the per-step pre-activation gradients (one GEMM each)."""
    input_mask = cache["input_mask"]
    dx = dkernel = drec = dbias = None
    if needs[0]:
        dx = _input_grad(cache, dZx)
    if needs[1]:
        # (xt already holds the inputs times a shared mask; a per-gate mask is applied here)
        dkernel = _weight_grad(cache["xt"], dZx, input_mask if _per_gate(input_mask) else None)
    if needs[2]:
        drec = _weight_grad(H[:-1], dZh, cache["state_mask"])
    if cache["has_bias"] and needs[3]:
        dbias = dZx.reshape(-1, dZx.shape[2]).sum(axis=0)
    return dx, dkernel, drec, dbias, dh0


def _keep_previous(xp, new, previous, drop):
    """At masked steps the state stays what it was (Keras's ``where(mask, new, previous)``)."""
    if drop is not None:
        xp.copyto(new, previous, where=drop)


def _sequence(H, weights):
    """The output sequence (batch-major view of the states, or the states times ``weights``)."""
    seq = H[1:] if weights is None else H[1:] * weights
    return seq.transpose(1, 0, 2)


def _common(cache, x, mask, go_backwards, zero_output_for_mask, has_initial_state, input_mask, state_mask,
            has_bias):
    keep, drop = _step_mask(cache["op"], mask, x, go_backwards)
    cache.update(keep=keep, drop=drop, out_w=_output_weights(keep, zero_output_for_mask, has_initial_state),
                 input_mask=input_mask, state_mask=state_mask, go_backwards=go_backwards, has_bias=has_bias)
    return keep, drop


def _start_backward(cache, d_seq):
    """The sequence gradient time-major (times the output weights of a masked sequence)."""
    if d_seq is None:
        return None
    dseq = get_array_module(d_seq).ascontiguousarray(d_seq.transpose(1, 0, 2))
    if cache["out_w"] is not None:
        dseq = dseq * cache["out_w"]
    return dseq


# ---------------------------------------------------------------- SimpleRNN


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
                       go_backwards=False, input_mask=None, state_mask=None, mask=None,
                       zero_output_for_mask=False):
    """h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias) -> ((seq, last_h), cache)."""
    xp = get_array_module(x, kernel)
    units = _check_inputs("simple_rnn", x, kernel, recurrent_kernel, 1)
    B, T, F = x.shape
    _check_state("simple_rnn", "initial_state", initial_state, B, units)
    _check_dropout("simple_rnn", "input_mask", input_mask, 1, B, F)
    _check_dropout("simple_rnn", "state_mask", state_mask, 1, B, units)
    act = _Act(activation, "activation")
    cache = dict(op="simple_rnn")
    keep, drop = _common(cache, x, mask, go_backwards, zero_output_for_mask, initial_state is not None,
                         input_mask, state_mask, bias is not None)
    xt = _prepare(x, input_mask, go_backwards)
    Z = _project(xt, kernel, bias, input_mask)  # becomes the pre-activations in place
    H = xp.empty((T + 1, B, units), dtype=Z.dtype)
    H[0] = 0 if initial_state is None else initial_state
    caches = []
    for t in range(T):
        _recurrent_into(Z[t], H[t], recurrent_kernel, state_mask)
        act.forward(Z[t], H[t + 1], caches)
        if drop is not None:
            xp.copyto(H[t + 1], H[t], where=drop[t])
    cache.update(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, caches=caches, act=act)
    return (_sequence(H, cache["out_w"]), H[T]), cache


def simple_rnn_backward(d_seq, d_h, cache, needs=(True,) * 5):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_state)."""
    H, act, caches, U = cache["H"], cache["act"], cache["caches"], cache["rec"]
    smask, keep = cache["state_mask"], cache["keep"]
    T, B, units = H.shape[0] - 1, H.shape[1], H.shape[2]
    xp = get_array_module(H)
    dseq = _start_backward(cache, d_seq)
    dZ = xp.empty((T, B, units), dtype=H.dtype)
    dh = xp.zeros((B, units), dtype=H.dtype) if d_h is None else d_h
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        if keep is not None:  # a masked step passes its gradient straight to the previous state
            carry = dh * (1 - keep[t])
            dh = dh * keep[t]
        act.backward(dh, H[t + 1], caches[t], out=dZ[t])
        dh = _recurrent_back(dZ[t], U, smask)
        if keep is not None:
            dh += carry
    return _finish(cache, dZ, dZ, H, dh, needs)


# ---------------------------------------------------------------- LSTM


def lstm_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, initial_carry=None,
                 activation="tanh", recurrent_activation="sigmoid", go_backwards=False,
                 input_mask=None, state_mask=None, mask=None, zero_output_for_mask=False):
    """Keras LSTM (gates i, f, c, o) -> ((seq, last_h, last_c), cache)."""
    xp = get_array_module(x, kernel)
    units = _check_inputs("lstm", x, kernel, recurrent_kernel, 4)
    B, T, F = x.shape
    _check_state("lstm", "initial_state (h)", initial_state, B, units)
    _check_state("lstm", "initial_state (c)", initial_carry, B, units)
    _check_dropout("lstm", "input_mask", input_mask, 4, B, F)
    _check_dropout("lstm", "state_mask", state_mask, 4, B, units)
    act, rec = _Act(activation, "activation"), _Act(recurrent_activation, "recurrent_activation")
    cache = dict(op="lstm")
    keep, drop = _common(cache, x, mask, go_backwards, zero_output_for_mask,
                         initial_state is not None or initial_carry is not None, input_mask, state_mask,
                         bias is not None)
    xt = _prepare(x, input_mask, go_backwards)
    Z = _project(xt, kernel, bias, input_mask)
    G = xp.empty_like(Z)  # activated gates i, f, g, o
    H = xp.empty((T + 1, B, units), dtype=Z.dtype)
    C = xp.empty((T + 1, B, units), dtype=Z.dtype)
    TC = xp.empty((T, B, units), dtype=Z.dtype)  # act(c_t)
    H[0] = 0 if initial_state is None else initial_state
    C[0] = 0 if initial_carry is None else initial_carry
    u1, u2, u3 = units, 2 * units, 3 * units
    gc_i, gc_f, gc_g, gc_o, tc_c = [], [], [], [], []
    for t in range(T):
        z = Z[t]
        _recurrent_into(z, H[t], recurrent_kernel, state_mask)
        g = G[t]
        i = rec.forward(z[:, :u1], g[:, :u1], gc_i)
        f = rec.forward(z[:, u1:u2], g[:, u1:u2], gc_f)
        c_hat = act.forward(z[:, u2:u3], g[:, u2:u3], gc_g)
        o = rec.forward(z[:, u3:], g[:, u3:], gc_o)
        c = C[t + 1]
        xp.multiply(f, C[t], out=c)
        c += i * c_hat
        xp.multiply(o, act.forward(c, TC[t], tc_c), out=H[t + 1])
        if drop is not None:
            xp.copyto(H[t + 1], H[t], where=drop[t])
            xp.copyto(c, C[t], where=drop[t])
    cache.update(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, C=C, G=G, TC=TC, act=act, ract=rec,
                 caches=(gc_i, gc_f, gc_g, gc_o, tc_c))
    return (_sequence(H, cache["out_w"]), H[T], C[T]), cache


def lstm_backward(d_seq, d_h, d_c, cache, needs=(True,) * 6):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_h, dinitial_c)."""
    H, C, G, TC, U = cache["H"], cache["C"], cache["G"], cache["TC"], cache["rec"]
    act, rec, smask, keep = cache["act"], cache["ract"], cache["state_mask"], cache["keep"]
    gc_i, gc_f, gc_g, gc_o, tc_c = cache["caches"]
    T, B, units = H.shape[0] - 1, H.shape[1], H.shape[2]
    u1, u2, u3 = units, 2 * units, 3 * units
    xp = get_array_module(H)
    dseq = _start_backward(cache, d_seq)
    dZ = xp.empty((T, B, 4 * units), dtype=H.dtype)
    dh = xp.zeros((B, units), dtype=H.dtype) if d_h is None else d_h
    dc = xp.zeros((B, units), dtype=H.dtype) if d_c is None else d_c
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        if keep is not None:
            skip = 1 - keep[t]
            carry_h, carry_c = dh * skip, dc * skip
            dh, dc = dh * keep[t], dc * keep[t]
        g, dz = G[t], dZ[t]
        i, f, c_hat, o = g[:, :u1], g[:, u1:u2], g[:, u2:u3], g[:, u3:]
        dz[:, u3:] = rec.backward(dh * TC[t], o, gc_o[t])
        dc = dc + act.backward(dh * o, TC[t], tc_c[t])
        dz[:, :u1] = rec.backward(dc * c_hat, i, gc_i[t])
        dz[:, u1:u2] = rec.backward(dc * C[t], f, gc_f[t])
        dz[:, u2:u3] = act.backward(dc * i, c_hat, gc_g[t])
        dc = dc * f
        dh = _recurrent_back(dz, U, smask)
        if keep is not None:
            dh += carry_h
            dc += carry_c
    return _finish(cache, dZ, dZ, H, dh, needs) + (dc if needs[5] else None,)


# ---------------------------------------------------------------- GRU


def gru_forward(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                input_mask=None, state_mask=None, mask=None, zero_output_for_mask=False):
    """Keras GRU (gates z, r, h) -> ((seq, last_h), cache)."""
    xp = get_array_module(x, kernel)
    units = _check_inputs("gru", x, kernel, recurrent_kernel, 3)
    B, T, F = x.shape
    _check_state("gru", "initial_state", initial_state, B, units)
    _check_dropout("gru", "input_mask", input_mask, 3, B, F)
    _check_dropout("gru", "state_mask", state_mask, 3, B, units)
    u1, u2 = units, 2 * units
    in_bias = rec_bias = None
    if bias is not None:
        want = (2, 3 * units) if reset_after else (3 * units,)
        if tuple(bias.shape) != want:
            raise ValueError(f"gru: bias must have shape {want} with reset_after={reset_after}, "
                             f"got {tuple(bias.shape)}.")
        in_bias, rec_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    act, rec = _Act(activation, "activation"), _Act(recurrent_activation, "recurrent_activation")
    cache = dict(op="gru")
    keep, drop = _common(cache, x, mask, go_backwards, zero_output_for_mask, initial_state is not None,
                         input_mask, state_mask, bias is not None)
    # The candidate's recurrent input: h_prev times its own mask (per gate), or the shared one.
    hmask = state_mask[2] if _per_gate(state_mask) else state_mask
    zr_mask = state_mask[:2] if _per_gate(state_mask) else state_mask
    xt = _prepare(x, input_mask, go_backwards)
    XW = _project(xt, kernel, in_bias, input_mask)
    G = xp.empty_like(XW)  # activated z, r, hh
    H = xp.empty((T + 1, B, units), dtype=XW.dtype)
    H[0] = 0 if initial_state is None else initial_state
    # reset_after: recurrent h-projection (before r) per step; else r * h_prev (masked).
    AUX = xp.empty((T, B, units), dtype=XW.dtype)
    gc_z, gc_r, gc_h = [], [], []
    for t in range(T):
        hp = H[t]
        xw, g = XW[t], G[t]
        if reset_after:
            inner = _recurrent(hp, recurrent_kernel, state_mask)
            if rec_bias is not None:
                inner += rec_bias
            inner[:, :u2] += xw[:, :u2]
            z = rec.forward(inner[:, :u1], g[:, :u1], gc_z)
            r = rec.forward(inner[:, u1:u2], g[:, u1:u2], gc_r)
            AUX[t] = inner[:, u2:]
            pre_h = xw[:, u2:] + r * AUX[t]
        else:
            inner = _recurrent(hp, recurrent_kernel[:, :u2], zr_mask)
            inner += xw[:, :u2]
            z = rec.forward(inner[:, :u1], g[:, :u1], gc_z)
            r = rec.forward(inner[:, u1:], g[:, u1:u2], gc_r)
            xp.multiply(r, hp if hmask is None else hp * hmask, out=AUX[t])
            pre_h = AUX[t] @ recurrent_kernel[:, u2:]
            pre_h += xw[:, u2:]
        hh = act.forward(pre_h, g[:, u2:], gc_h)
        # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
        h = H[t + 1]
        xp.subtract(hp, hh, out=h)
        h *= z
        h += hh
        if drop is not None:
            xp.copyto(h, hp, where=drop[t])
    cache.update(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, G=G, AUX=AUX, act=act, ract=rec,
                 caches=(gc_z, gc_r, gc_h), reset_after=reset_after, hmask=hmask, zr_mask=zr_mask)
    return (_sequence(H, cache["out_w"]), H[T]), cache


def gru_backward(d_seq, d_h, cache, needs=(True,) * 5):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_state)."""
    H, G, AUX, U = cache["H"], cache["G"], cache["AUX"], cache["rec"]
    act, rec, smask, reset_after = cache["act"], cache["ract"], cache["state_mask"], cache["reset_after"]
    hmask, zr_mask, keep = cache["hmask"], cache["zr_mask"], cache["keep"]
    gc_z, gc_r, gc_h = cache["caches"]
    T, B, units = H.shape[0] - 1, H.shape[1], H.shape[2]
    u1, u2 = units, 2 * units
    xp = get_array_module(H)
    dseq = _start_backward(cache, d_seq)
    dX = xp.empty((T, B, 3 * units), dtype=H.dtype)   # grads of x @ kernel (+ input bias)
    dR = xp.empty((T, B, 3 * units if reset_after else 2 * units), dtype=H.dtype)  # grads of h @ U
    dAH = None if reset_after else xp.empty((T, B, units), dtype=H.dtype)
    U_zr, U_h = U[:, :u2], U[:, u2:]
    dh = xp.zeros((B, units), dtype=H.dtype) if d_h is None else d_h
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        if keep is not None:
            carry = dh * (1 - keep[t])
            dh = dh * keep[t]
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
            dhm = _recurrent_back(dr, U, smask)
        else:
            d_rh = da @ U_h.T
            dAH[t] = da
            hm = hp if hmask is None else hp * hmask
            dx[:, u1:u2] = rec.backward(d_rh * hm, r, gc_r[t])
            dR[t] = dx[:, :u2]
            dhm = _recurrent_back(dR[t], U_zr, zr_mask)
            d_rh *= r
            if hmask is not None:
                d_rh *= hmask
            dhm += d_rh
        dhm += dh * z
        if keep is not None:
            dhm += carry
        dh = dhm
    out = list(_finish(cache, dX, dR, H, dh, needs[:2] + (False,) + needs[3:]))
    if needs[2]:
        if reset_after:
            out[2] = _weight_grad(H[:-1], dR, smask)
        else:
            d_zr = _weight_grad(H[:-1], dR, zr_mask)
            d_h = AUX.reshape(T * B, units).T @ dAH.reshape(T * B, units)
            out[2] = xp.concatenate([d_zr, d_h], axis=1)
    if out[3] is not None and reset_after:
        out[3] = xp.stack([out[3], dR.reshape(T * B, -1).sum(axis=0)])
    return tuple(out)
