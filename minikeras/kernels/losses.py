"""Per-sample loss kernels with Keras 3's exact semantics, and their backward passes.

Each ``*_forward(y_true, y_pred)`` returns ``(per_sample_loss, cache)``; the loss is
reduced over the last axis. ``*_backward(dloss, cache)`` returns the gradient with
respect to ``y_pred`` only (labels are never differentiated). Probabilities are
renormalised and clipped to [eps, 1 - eps] as Keras does; logits go through a shifted
log-softmax, so nothing overflows or turns into NaN at |z| = 1000.
"""
import numpy as np

from ..backend import epsilon, get_array_module
from .broadcast import unbroadcast


def _log_softmax(z):
    xp = get_array_module(z)
    shifted = z - z.max(axis=-1, keepdims=True)
    lse = xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted - lse


def _clip_probs(p):
    """Renormalise over the last axis and clip; returns (clipped, normalised, sums)."""
    xp = get_array_module(p)
    eps = epsilon()
    s = p.sum(axis=-1, keepdims=True)
    q = p / s
    return xp.minimum(xp.maximum(q, eps), 1 - eps), q, s  # (np.clip costs three times more)


def _through_clip_normalise(dqc, q, s):
    """Backward of ``clip(p / sum(p))`` given the gradient at the clipped values."""
    eps = epsilon()
    dq = dqc * ((q >= eps) & (q <= 1 - eps))
    return (dq - (dq * q).sum(axis=-1, keepdims=True)) / s


def categorical_crossentropy_forward(y_true, y_pred, from_logits=False):
    xp = get_array_module(y_pred)
    if from_logits:
        logp = _log_softmax(y_pred)
        return -(y_true * logp).sum(axis=-1), (y_true, logp, True)
    qc, q, s = _clip_probs(y_pred)
    return -(y_true * xp.log(qc)).sum(axis=-1), (y_true, (qc, q, s), False)


def categorical_crossentropy_backward(dloss, cache):
    y_true, aux, from_logits = cache
    g = dloss[..., None]
    if from_logits:
        logp = aux
        xp = get_array_module(logp)
        # d/dz of -sum(t * log_softmax(z)) = softmax(z) * sum(t) - t
        return g * (xp.exp(logp) * y_true.sum(axis=-1, keepdims=True) - y_true)
    qc, q, s = aux
    return _through_clip_normalise(-g * y_true / qc, q, s)


def sparse_categorical_crossentropy_forward(labels, y_pred, from_logits=False):
    """``labels``: integer class ids of shape y_pred.shape[:-1]."""
    xp = get_array_module(y_pred)
    flat = labels.reshape(-1)
    rows = xp.arange(flat.size)
    n_classes = y_pred.shape[-1]
    if from_logits:
        # loss = logsumexp(z) - z[label], computed on the max-shifted logits
        shifted = y_pred - y_pred.max(axis=-1, keepdims=True)
        e = xp.exp(shifted)
        s = e.sum(axis=-1)
        picked = shifted.reshape(-1, n_classes)[rows, flat].reshape(labels.shape)
        return xp.log(s) - picked, (rows, flat, (e, s), True)
    # Keras renormalises and clips every probability, but only the label's one enters the
    # loss, so only that one is clipped (same values, a fraction of the work).
    eps = epsilon()
    s = y_pred.sum(axis=-1, keepdims=True)
    q = y_pred / s
    q_label = q.reshape(-1, n_classes)[rows, flat]
    picked = xp.minimum(xp.maximum(q_label, eps), 1 - eps)  # np.clip costs three times more
    return -xp.log(picked).reshape(labels.shape), (rows, flat, (q, s, q_label, picked), False)


def sparse_categorical_crossentropy_backward(dloss, cache):
    """``dloss`` has the per-sample shape (or is a scalar that broadcasts to it)."""
    rows, flat, aux, from_logits = cache
    if from_logits:
        e, s = aux
        grad = e / s[..., None]  # softmax
        grad.reshape(-1, grad.shape[-1])[rows, flat] -= 1
        grad *= dloss[..., None]
        return grad
    q, s, q_label, picked = aux
    xp = get_array_module(q)
    # d(-log clip(q_l)) / dq_l, zero where the clip was active (exactly where it changed q_l,
    # NaN included); every other dq_j is zero ...
    dq_label = (dloss.reshape(-1) if getattr(dloss, "ndim", 0) else dloss) / picked
    xp.negative(dq_label, out=dq_label)
    dq_label *= picked == q_label
    # ... so the backward of q = p / sum(p), dp_j = (dq_j - sum_k dq_k q_k) / s, needs no reduction.
    n_classes = q.shape[-1]
    grad = xp.zeros(q.shape, dtype=q.dtype)  # (zeros_like is three Python-level calls)
    grad2 = grad.reshape(-1, n_classes)
    grad2[rows, flat] = dq_label
    grad2 -= (dq_label * q_label)[:, None]
    grad /= s
    return grad


def _log_floored(x):
    """``log(x)`` floored at -100, as PyTorch's binary cross-entropy (Keras 3's torch backend)
    does. Only float16 needs it: there ``1 - eps`` rounds to 1, so ``log(1 - p)`` can be log 0;
    in float32/64 the clip to [eps, 1 - eps] keeps every log above -17."""
    xp = get_array_module(x)
    if x.dtype.itemsize >= 4:
        return xp.log(x)
    with np.errstate(divide="ignore"):
        return xp.maximum(xp.log(x), -100)


def binary_crossentropy_forward(y_true, y_pred, from_logits=False):
    xp = get_array_module(y_pred)
    if from_logits:
        z = y_pred
        # max(z, 0) - z * t + log(1 + exp(-|z|)): the stable form of sigmoid cross-entropy
        per = xp.maximum(z, 0) - z * y_true + xp.log1p(xp.exp(-xp.abs(z)))
        return per.mean(axis=-1), (y_true, z, True)
    eps = epsilon()
    p = xp.clip(y_pred, eps, 1 - eps)
    per = -(y_true * _log_floored(p) + (1 - y_true) * _log_floored(1 - p))
    return per.mean(axis=-1), (y_true, y_pred, False)


def binary_crossentropy_backward(dloss, cache):
    y_true, y_pred, from_logits = cache
    xp = get_array_module(y_pred)
    n = y_pred.shape[-1]
    g = dloss[..., None] / n
    if from_logits:
        e = xp.exp(-xp.abs(y_pred))
        sig = xp.where(y_pred >= 0, 1 / (1 + e), e / (1 + e))
        return g * (sig - y_true)
    eps = epsilon()
    p = xp.clip(y_pred, eps, 1 - eps)
    inside = (y_pred >= eps) & (y_pred <= 1 - eps)
    q = 1 - p
    if q.dtype.itemsize < 4:
        # float16: where 1 - p is 0, log(1 - p) was floored to a constant (no gradient), and
        # 1 / eps overflows, so clipped entries divide by 1 (their gradient is zero anyway).
        live = q > 0
        second = (1 - y_true) * live / xp.where(live, q, 1)
        return g * (second - y_true / xp.where(inside, p, 1)) * inside
    return g * ((1 - y_true) / q - y_true / p) * inside


def mean_squared_error_forward(y_true, y_pred):
    diff = y_pred - y_true
    return (diff * diff).mean(axis=-1), diff


def mean_squared_error_backward(dloss, diff):
    return dloss[..., None] * (2.0 / diff.shape[-1]) * diff


def mean_absolute_error_forward(y_true, y_pred):
    diff = y_pred - y_true
    return get_array_module(diff).abs(diff).mean(axis=-1), diff


def mean_absolute_error_backward(dloss, diff):
    return dloss[..., None] * get_array_module(diff).sign(diff) / diff.shape[-1]


def huber_forward(y_true, y_pred, delta=1.0):
    xp = get_array_module(y_pred)
    diff = y_pred - y_true
    a = xp.abs(diff)
    per = xp.where(a <= delta, 0.5 * diff * diff, delta * a - 0.5 * delta * delta)
    return per.mean(axis=-1), (diff, delta)


def huber_backward(dloss, cache):
    diff, delta = cache
    xp = get_array_module(diff)
    d = xp.clip(diff, -delta, delta)
    return dloss[..., None] * d / diff.shape[-1]


def kl_divergence_forward(y_true, y_pred):
    """sum(t * log(t / p)) over the last axis, with t and p clipped to [eps, 1] as Keras does
    (so zero-probability targets contribute eps * log(eps / p), not NaN)."""
    xp = get_array_module(y_pred)
    eps = epsilon()
    t = xp.clip(y_true, eps, 1)
    p = xp.clip(y_pred, eps, 1)
    return (t * xp.log(t / p)).sum(axis=-1), (t, p, y_pred)


def kl_divergence_backward(dloss, cache):
    """d/dp = -t / p where the clip on y_pred was not active."""
    t, p, y_pred = cache
    eps = epsilon()
    g = dloss[..., None] if getattr(dloss, "ndim", 0) else dloss
    return -g * (t / p) * ((y_pred >= eps) & (y_pred <= 1))


def _l2_normalize(x, axis):
    """x / max(||x||, eps) along ``axis`` (Keras's ``normalize``: a zero vector stays zero);
    returns the normalised array, the inverse norm used, and where that norm was not floored."""
    xp = get_array_module(x)
    norm = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
    eps = epsilon()
    inv = 1 / xp.maximum(norm, eps)
    return x * inv, inv, norm > eps


def cosine_similarity_forward(y_true, y_pred, axis=-1):
    """-sum(normalize(t) * normalize(p)) along ``axis``: -1 for the same direction, +1 for the opposite."""
    tn, _, _ = _l2_normalize(y_true, axis)
    pn, inv, unfloored = _l2_normalize(y_pred, axis)
    return -(tn * pn).sum(axis=axis), (tn, pn, inv, unfloored, axis)


def cosine_similarity_backward(dloss, cache):
    """Through pn = p / ||p||: dp = (dpn - pn * <dpn, pn>) / ||p|| (just dpn / eps where the norm was floored)."""
    tn, pn, inv, unfloored, axis = cache
    xp = get_array_module(pn)
    g = xp.expand_dims(dloss, axis) if getattr(dloss, "ndim", 0) else dloss
    dpn = -g * tn
    radial = pn * (dpn * pn).sum(axis=axis, keepdims=True)
    return inv * (dpn - radial * unfloored)


# ---------------------------------------------------------------- weighting and reduction


def reduce_losses_forward(values, weights=None, reduction="sum_over_batch_size", scalar_grad=False):
    """Per-sample losses times ``weights`` (None, or an array that broadcasts to them), reduced
    as Keras 3 does: ``"sum_over_batch_size"`` (and ``"mean"``) divide the weighted sum by the
    number of values, ``"sum"`` does not, ``"mean_with_sample_weight"`` divides by the sum of
    the weights, ``"none"``/None keeps the weighted values. With ``scalar_grad`` the backward
    may return a 0-d gradient that broadcasts over the values (the built-in loss kernels accept
    it; it saves a broadcast per training step)."""
    xp = get_array_module(values)
    u = values if weights is None else values * weights
    if reduction in (None, "none") or u.ndim == 0 or u.shape == (0,):
        return u, (False, None, weights, values.shape, u.shape, False)
    total = u.sum()
    if reduction == "sum":
        scale = None
    elif reduction == "mean_with_sample_weight" and weights is not None:
        div = weights.sum()
        nonzero = div != 0
        scale = xp.where(nonzero, 1 / xp.where(nonzero, div, 1), 0).astype(values.dtype)
    else:
        scale = 1.0 / u.size
    out = total if scale is None else total * scale
    return xp.asarray(out, dtype=values.dtype), (True, scale, weights, values.shape, u.shape, scalar_grad)


def reduce_losses_backward(g, cache, needs=(True,)):
    """Returns ``(dvalues,)``, the gradient of the per-sample losses."""
    reduced, scale, w, vshape, ushape, scalar_grad = cache
    if not reduced:
        return (g if w is None else unbroadcast(g * w, vshape).reshape(vshape),)
    s = g if scale is None else g * scale
    if w is None:
        return (s if scalar_grad else get_array_module(g).broadcast_to(s, vshape),)
    if ushape == vshape:
        return (s * w,)
    return (unbroadcast(get_array_module(g).broadcast_to(s * w, ushape), vshape).reshape(vshape),)
