"""Whole-sequence recurrent kernels (SimpleRNN, LSTM, GRU) with Keras 3 weight layouts.

Every forward takes ``x`` of shape (batch, time, features) and returns
``(outputs, cache)`` where ``outputs`` is ``(sequence, last_h)`` (LSTM: ``(sequence,
last_h, last_c)``); the sequence is in processing order, so with ``go_backwards`` its
first step belongs to the last input step, as in Keras. The backward (BPTT) accepts a
gradient for the sequence and for each final state (any may be None) and returns the
gradients of x, kernel, recurrent_kernel, bias and the initial state(s).

The input projection ``x @ kernel`` for all steps is one GEMM before the time loop; the
loop does one batched GEMM per step (two for GRU with ``reset_after=False``), and the
weight gradients are single GEMMs after the backward loop. Work is done time-major: SimpleRNN's
arrays are (time, batch, n), the gated kernels' (time, n, batch), so that each gate of a step is
one contiguous block (see "LSTM and GRU: feature-major").

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
import contextlib

from . import activations as A
from ..backend import get_array_module

# How the time-major work arrays of a kernel are laid out: SimpleRNN's are (time, batch, n),
# the gated kernels' (time, n, batch) (see "LSTM and GRU: feature-major" below).
BATCH_MAJOR, FEATURE_MAJOR = "batch-major", "feature-major"
_TO_TIME_MAJOR = {BATCH_MAJOR: (1, 0, 2), FEATURE_MAJOR: (1, 2, 0)}    # from (batch, time, n)
_FROM_TIME_MAJOR = {BATCH_MAJOR: (1, 0, 2), FEATURE_MAJOR: (2, 0, 1)}  # back to (batch, time, n)


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
    """An activation from ``ACTIVATIONS`` applied into preallocated storage (``out`` may be the
    input itself; tanh and sigmoid then run in place, the others on a copy of it)."""

    def __init__(self, name, role):
        name = "linear" if name is None else name
        if name not in ACTIVATIONS:
            raise ValueError(f"Unsupported {role} {name!r} for a recurrent kernel; "
                             f"choose one of {sorted(ACTIVATIONS)}.")
        self.name = name
        self.fwd, self.bwd = ACTIVATIONS[name]

    def forward(self, z, out, caches):
        """Write act(z) into ``out``; remember what the backward needs in ``caches``."""
        xp = get_array_module(z)
        if self.name == "tanh":
            xp.tanh(z, out=out)
            caches.append(None)
            return out
        if self.name == "sigmoid":
            # 1 / (1 + exp(-z)) is exact to an ulp in both tails; exp overflowing to inf below
            # z = -88 (float32) gives the right 0 (see ``_overflow_is_fine``).
            xp.negative(z, out=out)
            xp.exp(out, out=out)
            out += 1
            xp.reciprocal(out, out=out)
            caches.append(None)
            return out
        y, cache = self.fwd(z.copy() if z is out else z)
        out[...] = y
        caches.append(None if (cache is y or cache is None) else cache)
        return out

    def backward(self, dy, y, cache, out=None):
        """Gradient through the activation; ``y`` is the stored output; written to ``out`` if
        given (which may be ``dy`` itself)."""
        if self.name in ("tanh", "sigmoid"):
            xp = get_array_module(y)
            if self.name == "tanh":
                d = y * y
                xp.subtract(1, d, out=d)  # 1 - tanh^2
            else:
                d = 1 - y
                d *= y  # sigmoid (1 - sigmoid)
            return dy * d if out is None else xp.multiply(dy, d, out=out)
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


def _sequence(H, weights, layout=BATCH_MAJOR):
    """The output sequence (batch-major view of the states, or the states times ``weights``)."""
    seq = H[1:] if weights is None else H[1:] * weights
    return seq.transpose(_FROM_TIME_MAJOR[layout])


def _common(cache, x, mask, go_backwards, zero_output_for_mask, has_initial_state, input_mask, state_mask,
            has_bias, layout=BATCH_MAJOR):
    keep, drop = _step_mask(cache["op"], mask, x, go_backwards)
    out_w = _output_weights(keep, zero_output_for_mask, has_initial_state)
    if layout == FEATURE_MAJOR:  # (T, B, 1) -> (T, 1, B): views, as the last axis has length 1
        keep, drop, out_w = (None if a is None else a.transpose(0, 2, 1) for a in (keep, drop, out_w))
        cache["state_mask_fm"] = _transposed(state_mask)
    cache.update(keep=keep, drop=drop, out_w=out_w, input_mask=input_mask, state_mask=state_mask,
                 go_backwards=go_backwards, has_bias=has_bias)
    return keep, drop


def _start_backward(cache, d_seq, layout=BATCH_MAJOR):
    """The sequence gradient time-major (times the output weights of a masked sequence)."""
    if d_seq is None:
        return None
    dseq = get_array_module(d_seq).ascontiguousarray(d_seq.transpose(_TO_TIME_MAJOR[layout]))
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
    with _overflow_is_fine(xp):
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


# ---------------------------------------------------------------- LSTM and GRU: feature-major

# The gated kernels work feature-major: a step's pre-activations are one (k*units, batch)
# block whose gates are contiguous row blocks, and the states are (units, batch). Every
# elementwise operation of a step then runs over contiguous memory (a gate's columns of a
# row-major (batch, k*units) block are strided, which makes NumPy's loops several times
# slower), and adjacent sigmoid gates are activated in one call. The recurrent product of a
# step is U^T h with a contiguous copy of U^T; its gradient is U dz with U as it is.


def _transposed(a):
    """The last two axes swapped, contiguous (None stays None): a (..., batch, n) state or mask
    feature-major, a (T, n, B) feature-major array batch-major, and the other way round."""
    if a is None:
        return None
    xp = get_array_module(a)
    return xp.ascontiguousarray(xp.swapaxes(a, -1, -2))


def _upstream(xp, d, units, batch, dtype):
    """A final state's gradient as a new (units, batch) array the BPTT may update in place."""
    return xp.zeros((units, batch), dtype=dtype) if d is None else xp.array(d.T, dtype=dtype, order="C")


def _project_fm(xt, kernel, bias, input_mask=None):
    """All input projections at once, feature-major: (T, k*u, B) = kernel^T x_t^T (+ bias); one
    batched product, or one per gate when there is one input mask per gate."""
    xp = get_array_module(xt)
    if _per_gate(input_mask):
        T, B, _ = xt.shape
        k = input_mask.shape[0]
        u = kernel.shape[1] // k
        Z = xp.empty((T, kernel.shape[1], B), dtype=xp.result_type(xt.dtype, kernel.dtype))
        for g in range(k):
            Z[:, g * u:(g + 1) * u] = xp.matmul(kernel[:, g * u:(g + 1) * u].T, _transposed(xt * input_mask[g]))
    else:
        Z = xp.matmul(kernel.T, _transposed(xt))
    if bias is not None:
        Z += bias[:, None]
    return Z


def _recurrent_fm(UT, h, state_mask, out=None):
    """``U^T dropout(h)`` for a (units, batch) state -> (k*u, batch); per gate when there is
    one (feature-major) mask per gate."""
    xp = get_array_module(h)
    if state_mask is None:
        return xp.matmul(UT, h, out=out)
    if state_mask.ndim == 2:
        return xp.matmul(UT, h * state_mask, out=out)
    u = h.shape[0]
    if out is None:
        out = xp.empty((UT.shape[0], h.shape[1]), dtype=h.dtype)
    for g in range(state_mask.shape[0]):
        xp.matmul(UT[g * u:(g + 1) * u], h * state_mask[g], out=out[g * u:(g + 1) * u])
    return out


def _recurrent_back_fm(dz, U, state_mask):
    """The gradient of the (units, batch) state through ``U^T dropout(h)``, given ``dz``."""
    if state_mask is None:
        return U @ dz
    if state_mask.ndim == 2:
        dh = U @ dz
        dh *= state_mask
        return dh
    u = U.shape[0]
    dh = None
    for g in range(state_mask.shape[0]):
        part = U[:, g * u:(g + 1) * u] @ dz[g * u:(g + 1) * u]
        part *= state_mask[g]
        dh = part if dh is None else dh + part
    return dh


def _finish_fm(cache, dZx, H, dh0, needs):
    """The weight and input gradients of a gated kernel, by the batch-major ``_finish``.

    The pre-activation gradients are copied batch-major once: a weight gradient contracts
    over (time, batch), which is one stride batch-major, so each is then one large GEMM
    (a feature-major contraction would copy the gradients for every product instead)."""
    dZ = _transposed(dZx)
    return _finish(cache, dZ, dZ, _transposed(H) if needs[2] else None, _transposed(dh0), needs)


def _overflow_is_fine(xp):
    """NumPy's warning for exp overflowing to inf, silenced where ``1 / (1 + inf) = 0`` is the
    exact sigmoid (CuPy does not warn)."""
    return xp.errstate(over="ignore") if xp.__name__ == "numpy" else contextlib.nullcontext()


def _initial(H, state):
    """The first (units, batch) state: zeros, or the given (batch, units) one."""
    H[0] = 0 if state is None else state.T


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
                         bias is not None, FEATURE_MAJOR)
    smask = cache["state_mask_fm"]
    xt = _prepare(x, input_mask, go_backwards)
    Z = _project_fm(xt, kernel, bias, input_mask)  # pre-activations, then the gates i, f, c, o in place
    UT = xp.ascontiguousarray(recurrent_kernel.T)
    H = xp.empty((T + 1, units, B), dtype=Z.dtype)
    C = xp.empty((T + 1, units, B), dtype=Z.dtype)
    TC = xp.empty((T, units, B), dtype=Z.dtype)  # act(c_t)
    _initial(H, initial_state)
    _initial(C, initial_carry)
    u1, u2, u3 = units, 2 * units, 3 * units
    gc_if, gc_g, gc_o, tc_c = [], [], [], []
    with _overflow_is_fine(xp):
        for t in range(T):
            z = Z[t]
            z += _recurrent_fm(UT, H[t], smask)
            i_f, c_hat, o = z[:u2], z[u2:u3], z[u3:]
            rec.forward(i_f, i_f, gc_if)
            act.forward(c_hat, c_hat, gc_g)
            rec.forward(o, o, gc_o)
            c = C[t + 1]
            xp.multiply(z[u1:u2], C[t], out=c)
            c += z[:u1] * c_hat
            xp.multiply(o, act.forward(c, TC[t], tc_c), out=H[t + 1])
            if drop is not None:
                xp.copyto(H[t + 1], H[t], where=drop[t])
                xp.copyto(c, C[t], where=drop[t])
    cache.update(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, C=C, G=Z, TC=TC, act=act, ract=rec,
                 caches=(gc_if, gc_g, gc_o, tc_c))
    return (_sequence(H, cache["out_w"], FEATURE_MAJOR), H[T].T, C[T].T), cache


def lstm_backward(d_seq, d_h, d_c, cache, needs=(True,) * 6):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_h, dinitial_c)."""
    H, C, G, TC, U = cache["H"], cache["C"], cache["G"], cache["TC"], cache["rec"]
    act, rec, smask, keep = cache["act"], cache["ract"], cache["state_mask_fm"], cache["keep"]
    gc_if, gc_g, gc_o, tc_c = cache["caches"]
    T, units, B = H.shape[0] - 1, H.shape[1], H.shape[2]
    u1, u2, u3 = units, 2 * units, 3 * units
    xp = get_array_module(H)
    dseq = _start_backward(cache, d_seq, FEATURE_MAJOR)
    dZ = xp.empty((T, 4 * units, B), dtype=H.dtype)
    dh, dc = _upstream(xp, d_h, units, B, H.dtype), _upstream(xp, d_c, units, B, H.dtype)
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        if keep is not None:
            skip = 1 - keep[t]
            carry_h, carry_c = dh * skip, dc * skip
            dh, dc = dh * keep[t], dc * keep[t]
        g, dz = G[t], dZ[t]
        i, f, c_hat, o = g[:u1], g[u1:u2], g[u2:u3], g[u3:]
        d_o = dz[u3:]
        xp.multiply(dh, TC[t], out=d_o)
        rec.backward(d_o, o, gc_o[t], out=d_o)
        d_tc = dh * o
        dc += act.backward(d_tc, TC[t], tc_c[t], out=d_tc)
        xp.multiply(dc, c_hat, out=dz[:u1])
        xp.multiply(dc, C[t], out=dz[u1:u2])
        rec.backward(dz[:u2], g[:u2], gc_if[t], out=dz[:u2])
        d_g = dz[u2:u3]
        xp.multiply(dc, i, out=d_g)
        act.backward(d_g, c_hat, gc_g[t], out=d_g)
        dc *= f
        dh = _recurrent_back_fm(dz, U, smask)
        if keep is not None:
            dh += carry_h
            dc += carry_c
    return _finish_fm(cache, dZ, H, dh, needs) + (_transposed(dc) if needs[5] else None,)


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
                         input_mask, state_mask, bias is not None, FEATURE_MAJOR)
    smask = cache["state_mask_fm"]
    # The candidate's recurrent input: h_prev times its own mask (per gate), or the shared one.
    hmask = smask[2] if _per_gate(smask) else smask
    zr_mask = smask[:2] if _per_gate(smask) else smask
    xt = _prepare(x, input_mask, go_backwards)
    XW = _project_fm(xt, kernel, in_bias, input_mask)  # x W (+ input bias), then the gates z, r, hh in place
    UT = xp.ascontiguousarray(recurrent_kernel.T)
    H = xp.empty((T + 1, units, B), dtype=XW.dtype)
    _initial(H, initial_state)
    # reset_after: U^T h_prev (+ recurrent bias) per step, whose candidate rows the backward
    # needs; else r * h_prev (masked), the candidate's recurrent input.
    REC = xp.empty((T, 3 * units, B), dtype=XW.dtype) if reset_after else None
    AUX = REC[:, u2:] if reset_after else xp.empty((T, units, B), dtype=XW.dtype)
    gc_zr, gc_h = [], []
    with _overflow_is_fine(xp):
        for t in range(T):
            hp, g = H[t], XW[t]
            if reset_after:
                inner = _recurrent_fm(UT, hp, smask, out=REC[t])
                if rec_bias is not None:
                    inner += rec_bias[:, None]
                g[:u2] += inner[:u2]
            else:
                g[:u2] += _recurrent_fm(UT[:u2], hp, zr_mask)
            zr = g[:u2]
            rec.forward(zr, zr, gc_zr)
            z, r, hh = g[:u1], g[u1:u2], g[u2:]
            if reset_after:
                hh += r * AUX[t]
            else:
                xp.multiply(r, hp if hmask is None else hp * hmask, out=AUX[t])
                hh += UT[u2:] @ AUX[t]
            act.forward(hh, hh, gc_h)
            # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
            h = H[t + 1]
            xp.subtract(hp, hh, out=h)
            h *= z
            h += hh
            if drop is not None:
                xp.copyto(h, hp, where=drop[t])
    cache.update(xt=xt, kernel=kernel, rec=recurrent_kernel, H=H, G=XW, AUX=AUX, act=act, ract=rec,
                 caches=(gc_zr, gc_h), reset_after=reset_after, hmask=hmask, zr_mask=zr_mask)
    return (_sequence(H, cache["out_w"], FEATURE_MAJOR), H[T].T), cache


def gru_backward(d_seq, d_h, cache, needs=(True,) * 5):
    """BPTT -> (dx, dkernel, drecurrent_kernel, dbias, dinitial_state)."""
    H, G, AUX, U = cache["H"], cache["G"], cache["AUX"], cache["rec"]
    act, rec, smask, reset_after = cache["act"], cache["ract"], cache["state_mask_fm"], cache["reset_after"]
    hmask, zr_mask, keep = cache["hmask"], cache["zr_mask"], cache["keep"]
    gc_zr, gc_h = cache["caches"]
    T, units, B = H.shape[0] - 1, H.shape[1], H.shape[2]
    u1, u2 = units, 2 * units
    xp = get_array_module(H)
    dseq = _start_backward(cache, d_seq, FEATURE_MAJOR)
    dX = xp.empty((T, 3 * units, B), dtype=H.dtype)  # grads of x W (+ input bias): z, r, candidate
    dR = xp.empty((T, 3 * units, B), dtype=H.dtype) if reset_after else None  # grads of U^T h
    U_zr, U_h = U[:, :u2], U[:, u2:]
    dh = _upstream(xp, d_h, units, B, H.dtype)
    for t in range(T - 1, -1, -1):
        if dseq is not None:
            dh = dh + dseq[t]
        if keep is not None:
            carry = dh * (1 - keep[t])
            dh = dh * keep[t]
        g, dx = G[t], dX[t]
        z, r, hh = g[:u1], g[u1:u2], g[u2:]
        hp = H[t]
        xp.subtract(hp, hh, out=dx[:u1])
        dx[:u1] *= dh
        da = dx[u2:]  # the candidate's pre-activation gradient
        xp.subtract(1, z, out=da)
        da *= dh
        act.backward(da, hh, gc_h[t], out=da)
        if reset_after:
            xp.multiply(da, AUX[t], out=dx[u1:u2])
        else:
            d_rh = U_h @ da  # the gradient of r * h_prev (masked)
            xp.multiply(d_rh, hp if hmask is None else hp * hmask, out=dx[u1:u2])
        rec.backward(dx[:u2], g[:u2], gc_zr[t], out=dx[:u2])
        if reset_after:
            dr = dR[t]
            dr[:u2] = dx[:u2]
            xp.multiply(da, r, out=dr[u2:])
            dhm = _recurrent_back_fm(dr, U, smask)
        else:
            dhm = _recurrent_back_fm(dx[:u2], U_zr, zr_mask)
            d_rh *= r
            if hmask is not None:
                d_rh *= hmask
            dhm += d_rh
        dhm += dh * z
        if keep is not None:
            dhm += carry
        dh = dhm
    dXb = _transposed(dX)  # batch-major once, for the input-side gradients and the z, r columns below
    out = list(_finish(cache, dXb, None, None, _transposed(dh), needs[:2] + (False,) + needs[3:]))
    if needs[2]:
        Hb = _transposed(H[:-1])
        if reset_after:
            out[2] = _weight_grad(Hb, _transposed(dR), cache["state_mask"])
        else:
            smask_b = cache["state_mask"]
            zr_b = smask_b[:2] if _per_gate(smask_b) else smask_b
            d_zr = _weight_grad(Hb, dXb[:, :, :u2], zr_b)
            d_h = _weight_grad(_transposed(AUX), dXb[:, :, u2:], None)
            out[2] = xp.concatenate([d_zr, d_h], axis=1)
    if out[3] is not None and reset_after:
        out[3] = xp.stack([out[3], dR.sum(axis=(0, 2))])
    return tuple(out)
