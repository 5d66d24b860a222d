"""Keras 3 losses: ``Loss`` objects with Keras's reductions, and per-sample loss functions.

A loss object called as ``loss(y_true, y_pred, sample_weight=None)`` returns a scalar
Tensor that is differentiable with respect to ``y_pred``. Keras 3's default reduction,
``"sum_over_batch_size"``, sums the weighted per-sample losses and divides by their
number (not by the sum of the weights). The built-in losses run one fused kernel from
``minikeras.kernels.losses`` and record a single autodiff node; custom losses subclass
``Loss`` and implement ``call(y_true, y_pred)`` with ``minikeras.ops``.
"""
import inspect

import numpy as np

from . import backend, naming, registry
from .autodiff import Tensor, as_array, function
from .kernels import losses as K

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# ---------------------------------------------------------------- array helpers


def _xp_of(a):
    """The array module of ``a`` (fast path for NumPy arrays)."""
    return np if type(a) is np.ndarray else backend.get_array_module(a)


def _to_module(x, xp, dtype=None):
    """``x`` (array, Tensor, list or number) as an ``xp`` array, optionally cast to ``dtype``."""
    x = as_array(x)
    if xp is np and not isinstance(x, np.ndarray) and hasattr(x, "get"):
        x = x.get()  # a CuPy array to the host
    return xp.asarray(x, dtype=dtype)


def _pred_tensor(y_pred, dtype=None):
    """``y_pred`` as a float Tensor: of ``dtype`` when given (a loss object's compute dtype;
    casting a Tensor keeps it differentiable), else integers become floatx."""
    if isinstance(y_pred, Tensor):
        if dtype is not None and y_pred.value.dtype != dtype:
            from . import ops
            return ops.cast(y_pred, dtype)
        return y_pred
    arr = backend.convert_to_array(y_pred)
    if dtype is not None:
        return Tensor(arr if arr.dtype == dtype else arr.astype(dtype))
    if arr.dtype.kind != "f":
        arr = arr.astype(backend.floatx())
    return Tensor(arr)


def _check_probability_targets(who, y_true):
    """Targets of a probability cross-entropy must lie in [0, 1]: Keras 3 (torch backend) refuses
    others, and labels such as 0/255 or -1/+1 would otherwise give a meaningless, even negative,
    loss. (With ``from_logits=True`` Keras accepts any targets, and so does minikeras.)"""
    if not y_true.size:
        return
    xp = _xp_of(y_true)
    if xp is np:
        low, high = y_true.min(), y_true.max()
        if low >= 0 and high <= 1:  # (NaN fails both and is reported)
            return
    elif not bool(((y_true < 0) | (y_true > 1) | (y_true != y_true)).any()):  # one host sync on the GPU
        return
    low, high = (float(backend.to_numpy(f(y_true))) for f in (xp.min, xp.max))
    raise ValueError(f"{who}: y_true must hold probabilities between 0 and 1, but its values go from "
                     f"{low:g} to {high:g} (shape {tuple(y_true.shape)}). Rescale the labels to 0/1 "
                     "(e.g. y / 255 or (y + 1) / 2), or pass from_logits=True if y_pred holds logits.")


def _expand(x):
    return x[..., None]


def _squeeze(x):
    return x[..., 0]


def same_rank(a, b, expand=_expand, squeeze=_squeeze):
    """Keras's rule for operands whose ranks differ by one with a trailing 1.

    The operand with the extra trailing 1 is squeezed, except that a rank-1 partner is
    expanded instead (so ``(n,)`` against ``(n, 1)`` compares as ``(n, 1)``).
    """
    ra, rb = a.ndim, b.ndim
    if ra == rb + 1 and a.shape[-1] == 1:
        if rb == 1:
            b = expand(b)
        else:
            a = squeeze(a)
    elif rb == ra + 1 and b.shape[-1] == 1:
        if ra == 1:
            a = expand(a)
        else:
            b = squeeze(b)
    return a, b


def _match_targets(who, y_true, y_pred):
    """y_true/y_pred arrays with Keras's rank fix, checked to have equal shapes."""
    yt, yp = same_rank(y_true, y_pred)
    if yt.shape != yp.shape:
        hint = ""
        if yt.ndim == yp.ndim - 1 or (yt.ndim == yp.ndim and yt.shape[-1] == 1 and yp.shape[-1] > 1):
            hint = (" These look like integer class labels: use sparse_categorical_crossentropy "
                    "(or one-hot encode the labels).")
        raise ValueError(f"{who}: y_true has shape {tuple(y_true.shape)} but y_pred has shape "
                         f"{tuple(y_pred.shape)}; they must be equal (a trailing dimension of 1 "
                         f"may differ).{hint}")
    return yt, yp


_UNSIGNED = {np.dtype(t): np.dtype(t.replace("int", "uint")) for t in ("int8", "int16", "int32", "int64")}


def _sparse_labels(who, y_true, y_pred, ignore_class=None):
    """Integer class ids of shape ``y_pred.shape[:-1]`` on y_pred's device, range-checked."""
    xp = _xp_of(y_pred)
    lab = as_array(y_true)
    if not hasattr(lab, "ndim"):
        lab = np.asarray(lab)
    original = tuple(lab.shape)
    if lab.ndim == y_pred.ndim and lab.ndim and lab.shape[-1] == 1:
        lab = lab[..., 0]
    if tuple(lab.shape) != tuple(y_pred.shape[:-1]):
        hint = (" These look like one-hot labels: use categorical_crossentropy."
                if original == tuple(y_pred.shape) else "")
        raise ValueError(f"{who}: labels of shape {original} do not fit predictions of shape "
                         f"{tuple(y_pred.shape)}; sparse labels are integer class ids of shape "
                         f"{tuple(y_pred.shape[:-1])} (a trailing 1 is allowed).{hint}")
    kind = lab.dtype.kind
    if kind not in "iufb":
        raise TypeError(f"{who}: labels must be integers (or integral floats), got dtype {lab.dtype}.")
    n_classes = y_pred.shape[-1]
    lxp = _xp_of(lab)
    if lab.size:
        checked = lab if ignore_class is None else lab[lab != ignore_class]
        if lxp is np and kind == "i" and checked.dtype in _UNSIGNED:
            # Seen as unsigned, a negative id is huge: one reduction checks both ends of the range.
            bad = checked.size and checked.view(_UNSIGNED[checked.dtype]).max() >= n_classes
        elif lxp is np and kind in "iub":
            bad = checked.size and (checked.min() < 0 or checked.max() >= n_classes)
        else:
            bad = (checked < 0) | (checked >= n_classes)
            if kind == "f":
                bad |= checked != lxp.floor(checked)  # also catches NaN
            bad = bool(bad.any())  # one host sync when the labels already live on the GPU
        if bad:
            wrong = (checked < 0) | (checked >= n_classes)
            if kind == "f":
                wrong |= checked != lxp.floor(checked)
            value = backend.to_numpy(checked[wrong][:1])[0].item()
            if kind == "f" and value == value and float(value).is_integer():
                value = int(value)
            raise ValueError(f"{who}: label {value!r} is not a valid class id for {n_classes} classes "
                             f"(labels must be integers in [0, {n_classes - 1}]).")
    if kind != "i":
        lab = lab.astype(np.int64)
    if lxp is not xp:
        lab = _to_module(lab, xp)
    mask = None
    if ignore_class is not None:
        mask = lab != ignore_class
        lab = xp.where(mask, lab, 0)
    return lab, mask


# ---------------------------------------------------------------- base class


def _check_reduction(reduction, who):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{who}: unknown reduction {reduction!r}; valid reductions are "
                         f"{list(REDUCTIONS)}.")
    return reduction


class Loss:
    """Base class for losses. Subclasses implement ``call(y_true, y_pred)`` returning
    per-sample values; ``__call__`` applies sample weights and the reduction."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.reduction = _check_reduction(reduction, type(self).__name__)
        self.dtype = dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def compute_dtype(self):
        """The dtype the loss is computed in: ``dtype``, else floatx (Keras 3 casts y_true and
        y_pred to it, so float16 predictions still give a finite float32 loss)."""
        return self.dtype or backend.floatx()

    def __call__(self, y_true, y_pred, sample_weight=None):
        mask = _keras_mask(y_pred)
        yp = _pred_tensor(y_pred, self.compute_dtype())
        xp = _xp_of(yp.value)
        dtype = yp.value.dtype
        yt = Tensor(_to_module(y_true, xp, dtype=dtype))
        values = self.call(yt, yp)
        if not isinstance(values, Tensor):
            values = Tensor(_to_module(values, xp, dtype=dtype))
        weights = _prepare_weights(self, values.value, sample_weight, _mask_like(mask, values.value))
        return _reduce_values(values, weights=weights, reduction=self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _keras_mask(y_pred):
    """The time-step mask a layer attached to ``y_pred`` (Keras applies it in every loss), or None."""
    mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
    return None if mask is None else as_array(mask)


def _mask_like(mask, v):
    """A prediction mask on the device of the per-sample values ``v`` (None stays None)."""
    if mask is None:
        return None
    return _to_module(mask, _xp_of(v)).astype(bool, copy=False)


def _weights(who, v, sample_weight, mask, reduction):
    """Sample weights (mask merged as Keras does) as an array broadcastable to ``v``."""
    if sample_weight is None and mask is None:
        return None
    xp = _xp_of(v)
    w = None
    if sample_weight is not None:
        w = _to_module(sample_weight, xp, dtype=v.dtype)
    if mask is not None:
        m = mask.astype(v.dtype)
        if reduction in ("sum_over_batch_size", "mean"):
            valid = m.sum()
            m = m * xp.where(valid > 0, m.size / xp.where(valid > 0, valid, 1), 0).astype(v.dtype)
        w = m if w is None else _align(who, m, w) * m
    return w


def _align(who, v, w):
    """``w`` reshaped so it multiplies ``v`` elementwise; per-sample weights broadcast over
    trailing axes. Anything else raises."""
    v2, w2 = same_rank(v, w)
    if w2.ndim < v2.ndim and tuple(w2.shape) == tuple(v2.shape[:w2.ndim]):
        w2 = w2.reshape(w2.shape + (1,) * (v2.ndim - w2.ndim))
    try:
        shape = np.broadcast_shapes(tuple(v2.shape), tuple(w2.shape))
    except ValueError:
        shape = None
    if shape is None or (shape != tuple(v2.shape) and v2.ndim > 0):
        raise ValueError(f"{who}: sample_weight of shape {tuple(w.shape)} does not fit the per-sample "
                         f"losses of shape {tuple(v.shape)}.")
    return w2


def _prepare_weights(loss, v, sample_weight, mask):
    """The weights of the per-sample values ``v`` (sample weights and mask), checked, or None."""
    if sample_weight is None and mask is None:
        return None
    w = _weights(loss.name, v, sample_weight, mask, loss.reduction)
    if w.shape != v.shape and w.ndim:
        w = _align(loss.name, v, w)
    return w


# Weighting and reduction of per-sample values that are already a tensor (custom losses).
_reduce_values = function(K.reduce_losses_forward, K.reduce_losses_backward, "reduce_losses")


def _fused_forward(y_pred, loss, y_true, sample_weight, reduced=True, pred_mask=None):
    """A built-in loss in one node: its per-sample kernel, then (``reduced``) the weighting and
    the reduction, whose backward hands the kernel a 0-d gradient when it can. ``pred_mask``:
    the mask of y_pred, merged with the loss's own (``ignore_class``) as Keras 3 merges them."""
    v, cache, mask = loss._forward(y_true, y_pred)
    if not reduced:
        return v, (loss, cache, y_pred.shape, None)
    if pred_mask is not None:
        pred_mask = _mask_like(pred_mask, v)
        mask = pred_mask if mask is None else mask & pred_mask
    weights = None if sample_weight is None and mask is None else _prepare_weights(loss, v, sample_weight, mask)
    out, reduce_cache = K.reduce_losses_forward(v, weights, loss.reduction, scalar_grad=True)
    return out, (loss, cache, y_pred.shape, reduce_cache)


def _fused_backward(g, caches, needs):
    loss, cache, shape, reduce_cache = caches
    if reduce_cache is not None:
        (g,) = K.reduce_losses_backward(g, reduce_cache)
    return (loss._backward(g, cache).reshape(shape),)


_fused = function(_fused_forward, _fused_backward, "loss")


# ---------------------------------------------------------------- built-in losses (fused kernels)


class _FusedLoss(Loss):
    """A built-in loss: ``_forward`` gives per-sample values and a cache, ``_backward`` the
    gradient for y_pred. ``__call__`` uses them directly unless a subclass overrides ``call``."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._fused = type(self).call is _FusedLoss.call

    def call(self, y_true, y_pred):
        return _fused(_pred_tensor(y_pred), loss=self, y_true=y_true, sample_weight=None, reduced=False)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not self._fused:
            return Loss.__call__(self, y_true, y_pred, sample_weight)
        dtype = self.dtype or backend.floatx()
        if y_pred.__class__ is Tensor:
            mask = y_pred._keras_mask
            yp = y_pred if y_pred.value.dtype == dtype else _pred_tensor(y_pred, dtype)
        else:
            mask, yp = _keras_mask(y_pred), _pred_tensor(y_pred, dtype)
        if mask is not None:
            return _fused(yp, loss=self, y_true=y_true, sample_weight=sample_weight, pred_mask=as_array(mask))
        return _fused(yp, loss=self, y_true=y_true, sample_weight=sample_weight)

    def _targets(self, y_true, yp):
        xp = _xp_of(yp)
        return _match_targets(self.name, _to_module(y_true, xp, dtype=yp.dtype), yp)

    # (forward, backward) of the per-sample kernel, for the losses that only check the targets'
    # shape and then run it; ``_kernel_options`` gives its keyword arguments.
    _kernel = None

    def _kernel_options(self):
        return {}

    def _forward(self, y_true, yp):
        yt, yp = self._targets(y_true, yp)
        v, cache = self._kernel[0](yt, yp, **self._kernel_options())
        return v, cache, None

    def _backward(self, dv, cache):
        return self._kernel[1](dv, cache)


class MeanSquaredError(_FusedLoss):
    """Mean of the squared errors over the last axis."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    _kernel = (K.mean_squared_error_forward, K.mean_squared_error_backward)


class MeanAbsoluteError(_FusedLoss):
    """Mean of the absolute errors over the last axis."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    _kernel = (K.mean_absolute_error_forward, K.mean_absolute_error_backward)


class Huber(_FusedLoss):
    """Quadratic for errors up to ``delta``, linear beyond; averaged over the last axis."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = float(delta)

    _kernel = (K.huber_forward, K.huber_backward)

    def _kernel_options(self):
        return {"delta": self.delta}

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


def _check_axis(who, axis):
    if axis not in (-1, None):
        raise NotImplementedError(f"{who}: only axis=-1 (classes on the last axis) is supported, got axis={axis}.")


def _check_smoothing(who, label_smoothing):
    label_smoothing = float(label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{who}: label_smoothing must be in [0, 1], got {label_smoothing}.")
    return label_smoothing


class _Crossentropy(_FusedLoss):
    """What the binary and categorical cross-entropies share: ``from_logits``, ``label_smoothing``
    (subclasses say how targets are smoothed) and ``axis`` (the last one)."""

    def __init__(self, from_logits, label_smoothing, axis, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_axis(self.name, axis)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(self.name, label_smoothing)
        self.axis = axis

    def _forward(self, y_true, yp):
        yt, yp = self._targets(y_true, yp)
        if self.label_smoothing:
            yt = self._smooth(yt)
        self._check_targets(yt)
        v, cache = self._kernel[0](yt, yp, from_logits=self.from_logits)
        return v, cache, None

    def _check_targets(self, yt):
        pass

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_Crossentropy):
    """Sigmoid cross-entropy for 0/1 targets, averaged over the last axis."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)

    _kernel = (K.binary_crossentropy_forward, K.binary_crossentropy_backward)

    def _smooth(self, yt):
        return yt * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing

    def _check_targets(self, yt):
        if not self.from_logits:
            _check_probability_targets(self.name, yt)


class CategoricalCrossentropy(_Crossentropy):
    """Cross-entropy between one-hot (or soft) targets and predicted class probabilities."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)

    _kernel = (K.categorical_crossentropy_forward, K.categorical_crossentropy_backward)

    def _smooth(self, yt):
        return yt * (1.0 - self.label_smoothing) + self.label_smoothing / yt.shape[-1]


class SparseCategoricalCrossentropy(_FusedLoss):
    """Cross-entropy with integer class ids as targets. ``ignore_class``: a label value whose
    entries get zero loss and are left out of the average (as Keras does)."""

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_axis(self.name, axis)
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class
        self.axis = axis

    def _forward(self, y_true, yp):
        lab, mask = _sparse_labels(self.name, y_true, yp, self.ignore_class)
        v, cache = K.sparse_categorical_crossentropy_forward(lab, yp, from_logits=self.from_logits)
        if mask is not None:
            v = v * mask
            cache = (cache, mask)
        return v, cache, mask

    def _backward(self, dv, cache):
        if self.ignore_class is not None:
            cache, mask = cache
            dv = dv * mask
        return K.sparse_categorical_crossentropy_backward(dv, cache)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class KLDivergence(_FusedLoss):
    """Kullback-Leibler divergence sum(t * log(t / p)) of predicted from target distributions
    over the last axis; both are clipped to [eps, 1] first, as in Keras."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    _kernel = (K.kl_divergence_forward, K.kl_divergence_backward)


class CosineSimilarity(_FusedLoss):
    """Minus the cosine of the angle between y_true and y_pred along ``axis``: minimising it
    aligns the predictions with the targets (-1 is a perfect match; a zero vector gives 0)."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"{self.name}: axis must be an integer, got {axis!r}.")
        self.axis = axis

    def _forward(self, y_true, yp):
        yt, yp = self._targets(y_true, yp)
        if not -yp.ndim <= self.axis < yp.ndim:
            raise ValueError(f"{self.name}: axis={self.axis} is out of range for predictions of shape "
                             f"{tuple(yp.shape)}.")
        v, cache = K.cosine_similarity_forward(yt, yp, axis=self.axis)
        return v, cache, None

    _backward = staticmethod(K.cosine_similarity_backward)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class LossFunctionWrapper(Loss):
    """A plain function ``fn(y_true, y_pred, **kwargs)`` returning per-sample losses, as a Loss."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        from . import ops
        yt, yp = same_rank(y_true, y_pred, lambda t: ops.expand_dims(t, -1), lambda t: ops.squeeze(t, -1))
        return self.fn(yt, yp, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)), **self._fn_kwargs}

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


# ---------------------------------------------------------------- per-sample functions


def _per_sample(loss, y_true, y_pred):
    """Per-sample losses of a built-in loss object, as a Tensor differentiable w.r.t. y_pred."""
    return _FusedLoss.call(loss, y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error over the last axis."""
    return _per_sample(MeanSquaredError(), y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error over the last axis."""
    return _per_sample(MeanAbsoluteError(), y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss over the last axis."""
    return _per_sample(Huber(delta=delta), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary cross-entropy (mean over the last axis)."""
    return _per_sample(BinaryCrossentropy(from_logits, label_smoothing, axis), y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample categorical cross-entropy."""
    return _per_sample(CategoricalCrossentropy(from_logits, label_smoothing, axis), y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample cross-entropy with integer labels (ignored entries give 0)."""
    return _per_sample(SparseCategoricalCrossentropy(from_logits, ignore_class, axis), y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """Per-sample Kullback-Leibler divergence over the last axis."""
    return _per_sample(KLDivergence(), y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample negative cosine similarity along ``axis`` (a loss: -1 means aligned)."""
    return _per_sample(CosineSimilarity(axis=axis), y_true, y_pred)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
kld = KLD = kl_divergence

# ---------------------------------------------------------------- lookup

_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
                                     CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
                                     CosineSimilarity)}
_BY_NAME = dict(_CLASSES)
_BY_NAME.update({
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "KLD": KLDivergence,
    "cosine_similarity": CosineSimilarity,
})
_BY_FUNCTION = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
                huber: Huber, binary_crossentropy: BinaryCrossentropy,
                categorical_crossentropy: CategoricalCrossentropy,
                sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
                kl_divergence: KLDivergence, cosine_similarity: CosineSimilarity}


registry.register_builtins("losses", _BY_NAME, kind="loss", module="keras.losses", example="mse")
registry.register_builtin_functions(_BY_FUNCTION)
serialize, deserialize, _ = registry.family_functions("losses", __name__)


def get(identifier):
    """A Loss object from a name, class, instance, config dict or plain function.

    Strings keep the spelling given as the loss's name (``get("mse").name == "mse"``); a
    function ``fn(y_true, y_pred)`` returning per-sample values is wrapped in a Loss.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        found = registry.lookup("losses", identifier)
        if inspect.isclass(found):
            return found(name=identifier)
        return get(found)  # a registered custom loss function
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        cls = _BY_FUNCTION.get(identifier)
        if cls is not None:
            return cls(name=identifier.__name__)
        return LossFunctionWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(f"Could not interpret loss identifier {identifier!r}: expected a name, a Loss "
                    "class or instance, or a function fn(y_true, y_pred).")
