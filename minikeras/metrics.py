"""Keras 3 metrics: stateful objects that accumulate over batches.

A metric keeps its state in non-trainable ``Variable``s on the device of the data
(``update_state`` never copies to the host); ``result()`` returns a 0-d Tensor. Metrics
work on raw arrays and never build autodiff graphs, even when given Tensors that require
gradients (``update_state`` of every subclass runs with recording switched off).
"""
import inspect

import numpy as np

from . import backend, naming, registry
from .autodiff import Tensor, as_array, no_grad
from .kernels import activations as KA
from .kernels import losses as K
from .losses import _check_probability_targets, _sparse_labels, _to_module, same_rank
from .tree import map_structure
from .variables import Variable

# ---------------------------------------------------------------- helpers


def _arr(x, xp=None, dtype=None):
    """``x`` as an array on ``xp`` (the active backend when None)."""
    if xp is None:
        x = as_array(x)
        if hasattr(x, "ndim") and hasattr(x, "dtype"):
            return x if dtype is None else x.astype(dtype, copy=False)
        xp = backend.xp()
    return _to_module(x, xp, dtype)


def _pair(y_true, y_pred, dtype=None):
    """y_true and y_pred as arrays on y_pred's device."""
    if dtype is None and y_true.__class__ is np.ndarray:  # fit's case: NumPy labels, a Tensor prediction
        yp = y_pred.value if isinstance(y_pred, Tensor) else y_pred
        if yp.__class__ is np.ndarray:
            return y_true, yp
    yp = _arr(y_pred)
    if not hasattr(yp, "ndim"):
        yp = backend.convert_to_array(yp)
    if dtype is not None:
        yp = yp.astype(dtype, copy=False)
    xp = backend.get_array_module(yp)
    return _to_module(y_true, xp), yp


def _divide_no_nan(xp, a, b):
    nonzero = b != 0
    return xp.where(nonzero, a, 0) / xp.where(nonzero, b, 1)


# ---------------------------------------------------------------- the stateless API


class StatelessState:
    """Keras 3's stateless metric API (JAX-style training steps), for any object with
    ``variables``, ``update_state``, ``result`` and ``reset_state``.

    The state is given and returned as lists of values, one per entry of ``variables``; the
    metric's own variables are left as they were. Each call puts copies of the given values
    into the variables, runs the stateful method and takes the new values out again.
    """

    def _given_state(self, metric_variables, what):
        variables = self.variables
        if metric_variables is None:
            return variables, [v.value.copy() for v in variables]
        metric_variables = list(metric_variables)
        if len(metric_variables) != len(variables):
            raise ValueError(f"{what}: `metric_variables` must hold one value per entry of "
                             f"{type(self).__name__}().variables ({len(variables)}), got {len(metric_variables)}.")
        values = []
        for v, given in zip(variables, metric_variables):
            xp = backend.get_array_module(v.value)
            value = xp.array(_to_module(as_array(given), xp), dtype=v.value.dtype)  # a copy
            if value.shape != v.value.shape:
                raise ValueError(f"{what}: the value for variable {v.name!r} of metric {self.name!r} has shape "
                                 f"{tuple(value.shape)}, expected {tuple(v.value.shape)}.")
            values.append(value)
        return variables, values

    def _run_on(self, metric_variables, what, method, *args, **kwargs):
        """``method(*args, **kwargs)`` with the variables holding ``metric_variables``; returns
        its result and the variables' new values, the old values back in place."""
        variables, values = self._given_state(metric_variables, what)
        saved = [v.value for v in variables]
        try:
            for v, value in zip(variables, values):
                v.value = value
            out = method(*args, **kwargs)
            # a result() that returns a state variable itself gets its value now, not the old one
            out = map_structure(lambda r: Tensor(r.value) if isinstance(r, Variable) else r, out)
            return out, [Tensor(v.value) for v in variables]
        finally:
            for v, value in zip(variables, saved):
                v.value = value

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """The state after ``update_state(*args, **kwargs)`` from ``metric_variables``."""
        return self._run_on(metric_variables, "stateless_update_state", self.update_state, *args, **kwargs)[1]

    def stateless_result(self, metric_variables):
        """``result()`` of the state ``metric_variables``."""
        return self._run_on(metric_variables, "stateless_result", self.result)[0]

    def stateless_reset_state(self):
        """The state ``reset_state()`` would leave (fresh values; the metric keeps its own)."""
        return self._run_on(None, "stateless_reset_state", self.reset_state)[1]


# ---------------------------------------------------------------- base class


class Metric(StatelessState):
    """Base class: create state with ``add_weight`` in ``__init__``; implement
    ``update_state(y_true, y_pred, sample_weight=None)`` and ``result()``."""

    def __init__(self, dtype=None, name=None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._dtype = np.dtype(dtype or backend.floatx()).name
        self._variables = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("update_state")
        if fn is not None and not getattr(fn, "__wrapped_no_grad__", False):
            cls.update_state = no_grad()(fn)

    @property
    def dtype(self):
        return self._dtype

    def add_weight(self, shape=(), initializer="zeros", dtype=None, name=None, aggregation="sum"):
        """A non-trainable state variable, tracked in ``variables`` and zeroed by ``reset_state``."""
        if not hasattr(self, "_variables"):
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before add_weight().")
        dtype = dtype or self._dtype
        shape = tuple(shape)
        if isinstance(initializer, str) and initializer in ("zeros", "ones"):
            value = getattr(backend.xp(), initializer)(shape, dtype=dtype)
            var = Variable(value, dtype=dtype, trainable=False, name=name)
        else:
            var = Variable(initializer, shape=shape, dtype=dtype, trainable=False, name=name)
        self._variables.append(var)
        return var

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        out = list(self._variables)
        for value in vars(self).values():
            if isinstance(value, Metric):
                out.extend(value.variables)
        return out

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self):
        """Zero every state variable."""
        for v in self.variables:
            v.value = backend.get_array_module(v.value).zeros_like(v.value)

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _add(var, delta):
    """``var += delta`` on the variable's device without a host round trip."""
    value = var.value
    if not isinstance(delta, (int, float, np.generic)):  # an array, maybe on another device
        xp = backend.get_array_module(value)
        if backend.get_array_module(delta) is not xp:
            delta = _to_module(delta, xp)
    new = value + delta
    var.value = new if new.dtype == value.dtype else new.astype(value.dtype)


def _samplewise(values, sample_weight, dtype):
    """Keras's reduction of values (and weights) to one entry per sample."""
    xp = backend.get_array_module(values)
    values = values.astype(dtype, copy=False)
    if sample_weight is not None:
        sw = _to_module(sample_weight, xp, dtype)
        v2, sw = same_rank(values, sw)
        wn, vn = sw.ndim, v2.ndim
        if vn > wn:
            v2 = v2.mean(axis=tuple(range(wn, vn)))
        try:
            sw = xp.broadcast_to(sw, v2.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {tuple(sw.shape)} does not fit values of shape "
                             f"{tuple(values.shape)}.") from None
        values = v2 * sw
        if wn > 1:
            sw = sw.mean(axis=tuple(range(1, wn)))
    else:
        sw = None
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    return values, sw


def _masked_weights(mask, sample_weight, values, dtype):
    """The sample weights times a (batch, time) prediction mask; per-sample weights spread over time."""
    xp = backend.get_array_module(values)
    m = _to_module(mask, xp, dtype)
    if sample_weight is None:
        return m
    sw = _to_module(sample_weight, xp, dtype)
    m, sw = same_rank(m, sw)
    if sw.ndim < m.ndim and tuple(sw.shape) == tuple(m.shape[:sw.ndim]):
        sw = sw.reshape(sw.shape + (1,) * (m.ndim - sw.ndim))
    return m * sw


# ---------------------------------------------------------------- reductions


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_weight(name="total")

    def update_state(self, values, sample_weight=None):
        values = _arr(values)
        if not hasattr(values, "ndim"):
            values = backend.convert_to_array(values)
        values, _ = _samplewise(values, sample_weight, self._dtype)
        _add(self.total, values.sum())

    def result(self):
        return Tensor(self.total.value.copy())


class Mean(Metric):
    """The (weighted) mean of the values seen: ``total / count``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_weight(name="total")
        self.count = self.add_weight(name="count")

    def update_state(self, values, sample_weight=None):
        values = _arr(values)
        if not hasattr(values, "ndim"):
            values = backend.convert_to_array(values)
        if values.ndim == 0 and (sample_weight is None or isinstance(sample_weight, (int, float))):
            weight = 1 if sample_weight is None else sample_weight  # e.g. a batch's loss and size
            _add(self.total, values.astype(self._dtype, copy=False) * weight)
            _add(self.count, weight)
            return
        self._accumulate(values, sample_weight)

    def _accumulate(self, values, sample_weight):
        if sample_weight is None and values.ndim == 1:  # one value per sample: nothing to reduce first
            _add(self.total, values.astype(self._dtype, copy=False).sum())
            _add(self.count, values.shape[0])
            return
        values, sw = _samplewise(values, sample_weight, self._dtype)
        _add(self.total, values.sum())
        if sw is not None:
            _add(self.count, sw.sum())
        else:
            _add(self.count, values.shape[0] if values.ndim else 1)

    def result(self):
        xp = backend.get_array_module(self.total.value)
        return Tensor(xp.asarray(_divide_no_nan(xp, self.total.value, self.count.value), dtype=self._dtype))


class LossTracker(Mean):
    """The running mean of the training loss, weighted by batch size as Keras 3 does:
    call ``update_state(loss_value, sample_weight=batch_size)`` once per batch."""

    def __init__(self, name="loss", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` (per-sample values) over all samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper", dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        values = as_array(values)
        if not hasattr(values, "ndim"):
            values = backend.convert_to_array(values)
        if mask is not None:  # Keras 3: the prediction's mask joins the sample weights (as 0/1)
            sample_weight = _masked_weights(as_array(mask), sample_weight, values, self._dtype)
        self._accumulate(values, sample_weight)

    def get_config(self):
        return {**super().get_config(), "fn": getattr(self._fn, "__name__", repr(self._fn)), **self._fn_kwargs}


# ---------------------------------------------------------------- metric functions on arrays


def accuracy(y_true, y_pred):
    """1.0 where y_pred equals y_true exactly."""
    yt, yp = _pair(y_true, y_pred)
    yt, yp = same_rank(yt, yp)
    _check_same("accuracy", yt, yp)
    return (yt == yp).astype(backend.floatx())


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_pred > threshold`` matches the 0/1 target."""
    yt, yp = _pair(y_true, y_pred)
    yt, yp = same_rank(yt, yp)
    _check_same("binary_accuracy", yt, yp)
    return (yt == (yp > threshold).astype(yt.dtype)).astype(backend.floatx())


def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of y_pred is the arg-max of the one-hot target."""
    yt, yp = _pair(y_true, y_pred)
    if yt.shape != yp.shape:
        raise ValueError(f"categorical_accuracy: y_true has shape {tuple(yt.shape)} but y_pred has shape "
                         f"{tuple(yp.shape)}; one-hot targets must match the predictions (for integer "
                         "labels use sparse_categorical_accuracy).")
    return (yt.argmax(axis=-1) == yp.argmax(axis=-1)).astype(backend.floatx())


def _labels_for(who, y_true, y_pred):
    """Integer-valued labels of shape y_pred.shape[:-1] (a trailing 1 is dropped)."""
    lab = y_true
    if lab.ndim == y_pred.ndim and lab.shape[-1] == 1:
        lab = lab[..., 0]
    if tuple(lab.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(f"{who}: labels of shape {tuple(y_true.shape)} do not fit predictions of shape "
                         f"{tuple(y_pred.shape)}; expected integer class ids of shape "
                         f"{tuple(y_pred.shape[:-1])} (a trailing 1 is allowed).")
    return lab


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of y_pred equals the integer label."""
    yt, yp = _pair(y_true, y_pred)
    lab = _labels_for("sparse_categorical_accuracy", yt, yp)
    pred = yp.argmax(axis=-1)
    if lab.dtype.kind == "f":
        pred = pred.astype(lab.dtype)
    return (lab == pred).astype(backend.floatx())


def _in_top_k(who, lab, yp, k):
    """True where fewer than ``k`` classes score strictly higher than the label (ties count as in)."""
    xp = backend.get_array_module(yp)
    n_classes = yp.shape[-1]
    flat = yp.reshape(-1, n_classes)
    idx = lab.reshape(-1).astype(np.int64)
    # checked on the CPU only: on the GPU the check would cost a device sync per batch
    if xp is np and idx.size and (idx.min() < 0 or idx.max() >= n_classes):
        raise ValueError(f"{who}: labels must be class ids in [0, {n_classes - 1}].")
    target = flat[xp.arange(idx.size), idx]
    return ((flat > target[:, None]).sum(axis=-1) < k).reshape(lab.shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target's class is among the ``k`` highest predictions."""
    yt, yp = _pair(y_true, y_pred)
    if yt.shape != yp.shape:
        raise ValueError(f"top_k_categorical_accuracy: y_true has shape {tuple(yt.shape)} but y_pred has "
                         f"shape {tuple(yp.shape)}; they must match (one-hot targets).")
    return _in_top_k("top_k_categorical_accuracy", yt.argmax(axis=-1), yp, k).astype(backend.floatx())


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the ``k`` highest predictions."""
    yt, yp = _pair(y_true, y_pred)
    lab = _labels_for("sparse_top_k_categorical_accuracy", yt, yp)
    return _in_top_k("sparse_top_k_categorical_accuracy", lab, yp, k).astype(backend.floatx())


def _check_same(who, yt, yp):
    if yt.shape != yp.shape:
        raise ValueError(f"{who}: y_true has shape {tuple(yt.shape)} but y_pred has shape {tuple(yp.shape)}; "
                         "they must be equal (a trailing dimension of 1 may differ).")


def _kernel_metric(who, forward, **kw):
    def fn(y_true, y_pred, **call_kw):
        yt, yp = _pair(y_true, y_pred)
        if yp.dtype.kind != "f":
            yp = yp.astype(backend.floatx())
        yt, yp = same_rank(yt.astype(yp.dtype, copy=False), yp)
        _check_same(who, yt, yp)
        return forward(yt, yp, **kw, **call_kw)[0]
    fn.__name__ = who
    return fn


mean_squared_error = _kernel_metric("mean_squared_error", K.mean_squared_error_forward)
mean_absolute_error = _kernel_metric("mean_absolute_error", K.mean_absolute_error_forward)
mse = mean_squared_error
mae = mean_absolute_error
kl_divergence = _kernel_metric("kl_divergence", K.kl_divergence_forward)


_negative_cosine = _kernel_metric("cosine_similarity", K.cosine_similarity_forward)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample cosine of the angle between y_true and y_pred (+1 aligned; the loss is its negative)."""
    return -_negative_cosine(y_true, y_pred, axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    yt, yp = _pair(y_true, y_pred)
    yp = yp.astype(backend.floatx()) if yp.dtype.kind != "f" else yp
    yt, yp = same_rank(yt.astype(yp.dtype, copy=False), yp)
    _check_same("binary_crossentropy", yt, yp)
    if label_smoothing:
        yt = yt * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if not from_logits:
        _check_probability_targets("binary_crossentropy", yt)
    return K.binary_crossentropy_forward(yt, yp, from_logits=from_logits)[0]


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    yt, yp = _pair(y_true, y_pred)
    yp = yp.astype(backend.floatx()) if yp.dtype.kind != "f" else yp
    yt = yt.astype(yp.dtype, copy=False)
    _check_same("categorical_crossentropy", yt, yp)
    if label_smoothing:
        yt = yt * (1.0 - label_smoothing) + label_smoothing / yt.shape[-1]
    return K.categorical_crossentropy_forward(yt, yp, from_logits=from_logits)[0]


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    yt, yp = _pair(y_true, y_pred)
    yp = yp.astype(backend.floatx()) if yp.dtype.kind != "f" else yp
    lab, _ = _sparse_labels("sparse_categorical_crossentropy", yt, yp)
    return K.sparse_categorical_crossentropy_forward(lab, yp, from_logits=from_logits)[0]


# ---------------------------------------------------------------- metric classes


class Accuracy(MeanMetricWrapper):
    """How often predictions equal the targets exactly."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches 0/1 targets."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class (arg-max) matches the one-hot target."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class (arg-max) equals the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the ``k`` highest predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class MeanSquaredError(MeanMetricWrapper):
    """Mean of the squared errors."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of the absolute errors."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class RootMeanSquaredError(Mean):
    """Square root of the mean squared error over all values seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp = _pair(y_true, y_pred, self._dtype)
        yt, yp = same_rank(yt.astype(self._dtype, copy=False), yp)
        _check_same("root_mean_squared_error", yt, yp)
        diff = yp - yt
        self._accumulate(diff * diff, sample_weight)

    def result(self):
        xp = backend.get_array_module(self.total.value)
        return Tensor(xp.sqrt(Mean.result(self).value))


class KLDivergence(MeanMetricWrapper):
    """Mean Kullback-Leibler divergence between target and predicted distributions."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between y_true and y_pred along ``axis`` (1 is a perfect match)."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary cross-entropy."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical cross-entropy."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical cross-entropy."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits)
        self.from_logits = from_logits

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits}


# ---------------------------------------------------------------- confusion-matrix metrics


class _Confusion(Metric):
    """Counts of true/false positives/negatives at ``thresholds`` (for Precision and Recall)."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None:
            raise NotImplementedError(f"{type(self).__name__}: top_k is not supported.")
        self.init_thresholds = thresholds
        self.class_id = class_id
        t = [0.5] if thresholds is None else ([thresholds] if np.isscalar(thresholds) else list(thresholds))
        self._scalar = thresholds is None or np.isscalar(thresholds)
        self._thresholds = np.asarray(t, dtype=np.float64)
        self.true_positives = self.add_weight(shape=(len(t),), name="true_positives")
        self.false_positives = self.add_weight(shape=(len(t),), name="false_positives")
        self.false_negatives = self.add_weight(shape=(len(t),), name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp = _pair(y_true, y_pred, self._dtype)
        yt, yp = same_rank(yt.astype(self._dtype, copy=False), yp)
        _check_same(self.name, yt, yp)
        if self.class_id is not None:
            yt, yp = yt[..., self.class_id], yp[..., self.class_id]
        xp = backend.get_array_module(yp)
        w = xp.ones_like(yp) if sample_weight is None else \
            xp.broadcast_to(_align_weight(_to_module(sample_weight, xp, self._dtype), yp), yp.shape)
        t = xp.asarray(self._thresholds, dtype=yp.dtype).reshape((-1,) + (1,) * yp.ndim)
        pred = yp[None] > t
        pos = (yt > 0.5)[None]
        axes = tuple(range(1, yp.ndim + 1))
        _add(self.true_positives, (w * (pred & pos)).sum(axis=axes))
        _add(self.false_positives, (w * (pred & ~pos)).sum(axis=axes))
        _add(self.false_negatives, (w * (~pred & pos)).sum(axis=axes))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds,
                "class_id": self.class_id}


def _align_weight(w, yp):
    _, w = same_rank(yp, w)
    if w.ndim < yp.ndim:
        w = w.reshape(w.shape + (1,) * (yp.ndim - w.ndim))
    return w


class Precision(_Confusion):
    """TP / (TP + FP) with predictions thresholded at 0.5 (or ``thresholds``)."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        xp = backend.get_array_module(self.true_positives.value)
        tp, fp = self.true_positives.value, self.false_positives.value
        r = _divide_no_nan(xp, tp, tp + fp)
        return Tensor(r[0] if self._scalar else r)


class Recall(_Confusion):
    """TP / (TP + FN) with predictions thresholded at 0.5 (or ``thresholds``)."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        xp = backend.get_array_module(self.true_positives.value)
        tp, fn = self.true_positives.value, self.false_negatives.value
        r = _divide_no_nan(xp, tp, tp + fn)
        return Tensor(r[0] if self._scalar else r)


class AUC(Metric):
    """Area under the ROC curve (or the precision-recall curve), as Keras 3 estimates it.

    Predictions are compared with ``num_thresholds`` thresholds, ``-eps, 1/(n-1), ...,
    (n-2)/(n-1), 1 + eps`` (or ``[-eps] + sorted(thresholds) + [1 + eps]``); a prediction
    counts as positive above a threshold, a label as positive when it is non-zero. The
    confusion counts accumulate over batches and ``result()`` integrates the curve they trace:
    with ``summation_method="interpolation"`` by the trapezoidal rule for ROC and by Davis and
    Goadrich's interpolation of precision for PR ("minoring"/"majoring" take the lower/upper
    of each pair of heights). ``multi_label=True`` keeps counts per label (the last axis) and
    averages the per-label areas (weighted by ``label_weights``); otherwise every label of
    every sample counts as one prediction, weighted by ``label_weights`` of its column.
    """

    _CURVES = ("ROC", "PR", "PRGAIN")
    _SUMMATIONS = ("interpolation", "minoring", "majoring")

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        super().__init__(name=name, dtype=dtype)
        curve_name = str(curve).upper()
        if curve_name not in self._CURVES:
            raise ValueError(f"AUC: invalid curve {curve!r}; expected one of {list(self._CURVES)}.")
        summation = str(summation_method).lower()
        if summation not in self._SUMMATIONS:
            raise ValueError(f"AUC: invalid summation_method {summation_method!r}; expected one of "
                             f"{list(self._SUMMATIONS)}.")
        self.curve, self.summation_method = curve_name, summation
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in (np.atleast_1d(thresholds)))
            self.num_thresholds = len(inner) + 2
            # Keras takes the bucketing shortcut when 0, thresholds..., 1 are evenly spaced.
            spread = np.array([0.0] + inner + [1.0])
            even = np.arange(len(spread), dtype=np.float32) / (len(spread) - 1)
            self._evenly = bool(np.allclose(spread, even, atol=backend.epsilon()))
        else:
            if not isinstance(num_thresholds, int) or isinstance(num_thresholds, bool) or num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be an integer > 1, got {num_thresholds!r}.")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - backend.epsilon()] + inner + [1.0 + backend.epsilon()])
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=self._dtype)
        self._from_logits = bool(from_logits)
        if num_labels and not self.multi_label:
            raise ValueError("AUC: num_labels is only used when multi_label=True.")
        self._built = False
        if not self.multi_label or num_labels:
            self._build(num_labels)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, num_labels):
        shape = (self.num_thresholds, num_labels) if self.multi_label else (self.num_thresholds,)
        self._num_labels = num_labels
        self.true_positives = self.add_weight(shape=shape, name="true_positives")
        self.false_positives = self.add_weight(shape=shape, name="false_positives")
        self.true_negatives = self.add_weight(shape=shape, name="true_negatives")
        self.false_negatives = self.add_weight(shape=shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp = _pair(y_true, y_pred, self._dtype)
        yt = yt.astype(self._dtype, copy=False)
        xp = backend.get_array_module(yp)
        if self._from_logits:
            yp = KA.sigmoid_forward(yp)[0]
        yp, yt = same_rank(yp, yt)
        _check_same(self.name, yt, yp)
        if self.multi_label:
            if yp.ndim != 2:
                raise ValueError(f"{self.name}: multi_label=True needs predictions of rank 2 (samples, labels), "
                                 f"got shape {tuple(yp.shape)}.")
            if not self._built:
                self._build(yp.shape[1])
            elif yp.shape[1] != self._num_labels:
                raise ValueError(f"{self.name}: built for {self._num_labels} labels, got predictions of shape "
                                 f"{tuple(yp.shape)}.")
        weights = None
        if sample_weight is not None:
            sw = _to_module(sample_weight, xp, self._dtype)
            sw = sw.reshape(sw.shape + (1,))  # Keras: expand, then match y_true's rank without expanding
            if sw.ndim == yt.ndim + 1 and sw.shape[-1] == 1:
                sw = sw[..., 0]
            try:
                weights = xp.broadcast_to(sw, yp.shape)
            except ValueError:
                raise ValueError(f"{self.name}: sample_weight of shape {tuple(np.shape(sample_weight))} does not "
                                 f"fit predictions of shape {tuple(yp.shape)}.") from None
        if self.label_weights is not None and not self.multi_label:
            lw = xp.broadcast_to(_to_module(self.label_weights, xp), yp.shape)
            weights = lw if weights is None else weights * lw
        positive = yt != 0
        tp, fp, total_true, total_false = (self._bucketed if self._evenly else self._compared)(
            xp, positive, yp, weights)
        _add(self.true_positives, tp)
        _add(self.false_positives, fp)
        _add(self.true_negatives, total_false - fp)
        _add(self.false_negatives, total_true - tp)

    def _bucketed(self, xp, positive, yp, weights):
        """Evenly spaced thresholds: each prediction falls in one bucket, ceil(p * (n - 1)) - 1,
        and a reversed cumulative sum of the per-bucket weights gives the counts above each threshold."""
        n = self.num_thresholds
        dt = yp.dtype
        w = xp.ones(yp.shape, dtype=dt) if weights is None else weights.astype(dt, copy=False)
        true_w = positive.astype(dt) * w
        false_w = (1 - positive.astype(dt)) * w
        p = xp.clip(yp, 0, 1)
        buckets = xp.maximum(xp.ceil(p * dt.type(n - 1)) - 1, 0).astype(np.int64)
        if self.multi_label:
            labels = yp.shape[1]
            buckets = buckets + xp.arange(labels) * n  # one block of n buckets per label
            size, shape = n * labels, (labels, n)
        else:
            buckets, true_w, false_w = buckets.reshape(-1), true_w.reshape(-1), false_w.reshape(-1)
            size, shape = n, (n,)

        def above(values):
            per_bucket = xp.bincount(buckets.reshape(-1), weights=values.reshape(-1), minlength=size)
            per_bucket = per_bucket.astype(dt).reshape(shape)
            counts = xp.flip(xp.cumsum(xp.flip(per_bucket, axis=-1), axis=-1), axis=-1)
            return counts.T if self.multi_label else counts
        axis = 0 if self.multi_label else None
        return above(true_w), above(false_w), true_w.sum(axis=axis), false_w.sum(axis=axis)

    def _compared(self, xp, positive, yp, weights):
        """Any thresholds: compare every prediction with every threshold."""
        dt = yp.dtype
        t = xp.asarray(self._thresholds, dtype=dt)
        if not self.multi_label:
            yp, positive = yp.reshape(-1), positive.reshape(-1)
            weights = None if weights is None else weights.reshape(-1)
        above = yp[None] > t.reshape((-1,) + (1,) * yp.ndim)
        w = xp.ones(yp.shape, dtype=dt) if weights is None else weights.astype(dt, copy=False)
        true_w, false_w = positive * w, ~positive * w
        return ((above * true_w).sum(axis=1), (above * false_w).sum(axis=1),
                true_w.sum(axis=0), false_w.sum(axis=0))

    def _average(self, xp, per_label):
        if not self.multi_label:
            return per_label.sum()
        by_label = per_label.sum(axis=0)
        if self.label_weights is None:
            return by_label.mean()
        lw = _to_module(self.label_weights, xp)
        return _divide_no_nan(xp, (by_label * lw).sum(), lw.sum())

    def _interpolated_pr(self, xp, tp, fp, fn):
        """Davis & Goadrich: precision interpolated linearly in TP and P = TP + FP between thresholds."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(xp, dtp, xp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = xp.where(both, _divide_no_nan(xp, p[:-1], xp.maximum(p[1:], 0)), 1)
        increments = _divide_no_nan(xp, slope * (dtp + intercept * xp.log(ratio)),
                                    xp.maximum(tp[1:] + fn[1:], 0))
        return self._average(xp, increments)

    def result(self):
        if not self._built:
            return Tensor(backend.xp().zeros((), dtype=self._dtype))
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        xp = backend.get_array_module(tp)
        if self.curve == "PR" and self.summation_method == "interpolation":
            value = self._interpolated_pr(xp, tp, fp, fn)
        else:
            recall = _divide_no_nan(xp, tp, tp + fn)
            if self.curve == "ROC":
                x, y = _divide_no_nan(xp, fp, fp + tn), recall
            elif self.curve == "PR":
                x, y = recall, _divide_no_nan(xp, tp, tp + fp)
            else:  # PRGAIN
                scale = _divide_no_nan(xp, tp + fn, tn + fp)
                recall_gain = xp.where(tp == 0, 0, 1 - scale * _divide_no_nan(xp, fn, tp))
                precision_gain = xp.where(tp == 0, 1, 1 - scale * _divide_no_nan(xp, fp, tp))
                x, y = xp.maximum(recall_gain, 0), precision_gain
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2
            elif self.summation_method == "minoring":
                heights = xp.minimum(y[:-1], y[1:])
            else:
                heights = xp.maximum(y[:-1], y[1:])
            value = self._average(xp, (x[:-1] - x[1:]) * heights)
        return Tensor(xp.asarray(value, dtype=self._dtype))

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


# ---------------------------------------------------------------- lookup


class _AutoAccuracy(MeanMetricWrapper):
    """``"accuracy"`` before the data is seen: picks binary, sparse categorical or categorical
    accuracy from the shapes of the first batch, by Keras 3's rule."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(self._first, name=name, dtype=dtype)

    def _first(self, y_true, y_pred):
        self._fn = _accuracy_fn_for_shapes(np.shape(as_array(y_true)), np.shape(as_array(y_pred)))
        return self._fn(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def binary_or_sparse(true_shape, pred_shape):
    """Keras 3's rule behind compile's ``"accuracy"`` and ``"crossentropy"``, from the shapes of
    the first batch: binary when y_pred's last dim is 1; sparse categorical when y_true has a
    lower rank, or a last dim of 1 against a wider y_pred; categorical otherwise. The loss
    plays no part (several sigmoid units with BCE get categorical accuracy)."""
    binary = pred_shape[-1:] == (1,) or len(pred_shape) == 0
    sparse = len(true_shape) < len(pred_shape) or (true_shape[-1:] == (1,) and pred_shape[-1] > 1)
    return binary, sparse


def _accuracy_fn_for_shapes(true_shape, pred_shape):
    binary, sparse = binary_or_sparse(tuple(true_shape), tuple(pred_shape))
    return binary_accuracy if binary else sparse_categorical_accuracy if sparse else categorical_accuracy


_ACCURACY_CLASS = {binary_accuracy: BinaryAccuracy, sparse_categorical_accuracy: SparseCategoricalAccuracy,
                   categorical_accuracy: CategoricalAccuracy}


_CLASSES = [Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
            MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, Precision, Recall, AUC, KLDivergence,
            CosineSimilarity]
_BY_NAME = {c.__name__: c for c in _CLASSES}
_BY_NAME.update({naming.to_snake_case(c.__name__): c for c in _CLASSES})
_BY_NAME.update({"mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
                 "MAE": MeanAbsoluteError, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy})
for _abstract in ("Metric", "metric", "MeanMetricWrapper", "mean_metric_wrapper"):
    _BY_NAME.pop(_abstract)


# (the names "accuracy" and "acc" are resolved by ``get`` from the loss or the data's shapes)
registry.register_builtins("metrics", _BY_NAME, kind="metric", module="keras.metrics", example="mae")
registry.register_builtin_functions([accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                                     top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
                                     cosine_similarity, binary_crossentropy, categorical_crossentropy,
                                     sparse_categorical_crossentropy])


def get(identifier, y_true=None, y_pred=None):
    """A Metric object from a name, class, instance or function ``fn(y_true, y_pred)``.

    As in Keras 3's ``compile``, a string keeps its spelling as the metric's name (``"mae"``
    logs as ``mae``); objects keep their ``.name`` and functions their ``__name__``.
    ``"accuracy"``/``"acc"`` (any case) becomes binary, sparse categorical or categorical
    accuracy by Keras 3's shape rule (``binary_or_sparse``): from the shapes of
    ``y_true``/``y_pred`` when given, else from the first batch it sees.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            if y_true is not None and y_pred is not None:
                fn = _accuracy_fn_for_shapes(np.shape(as_array(y_true)), np.shape(as_array(y_pred)))
                return _ACCURACY_CLASS[fn](name=identifier)
            return _AutoAccuracy(name=identifier)
        found = registry.lookup("metrics", identifier)
        return found(name=identifier) if inspect.isclass(found) else get(found)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(f"Could not interpret metric identifier {identifier!r}: expected a name, a Metric "
                    "class or instance, or a function fn(y_true, y_pred).")
