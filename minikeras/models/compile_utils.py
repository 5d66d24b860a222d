"""What ``compile`` turns its arguments into: one loss per output with weights, and metrics per output.

Single-output models take a loss and a list of metrics. Multi-output models take a list
(by position) or dict (by output name) of losses, ``loss_weights`` the same way, and
metrics as a list of lists or a dict. The total loss is the weighted sum; each output's
own loss is tracked as ``<output>_loss`` as Keras 3 logs it.
"""
import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from ..tree import flatten


def resolve_output_names(output_names, loss, loss_weights=None, metrics=None):
    """Output names for compile. A subclassed model has no declared outputs (its names are the
    default ``["output"]``); when ``loss`` is a list/tuple or dict it tells how many outputs there are
    and, for a dict, what they are called. Unnamed outputs become ``output_1``, ``output_2``, ..."""
    names = list(output_names)
    if names != ["output"]:
        return names
    for value in (loss, loss_weights, metrics):
        if isinstance(value, dict) and set(value) != {"output"}:
            return list(value)
        if isinstance(value, (list, tuple)) and len(value) > 1 and value is not metrics:
            return [f"output_{i + 1}" for i in range(len(value))]
    return names


def names_from_prediction(output_names, y_pred):
    """Output names once a prediction is seen: a subclassed model (names still the default
    ``["output"]``) that returned a tuple/list or a dict has that many outputs."""
    if list(output_names) != ["output"]:
        return None
    if isinstance(y_pred, dict) and len(y_pred) > 0 and list(y_pred) != ["output"]:
        return list(y_pred)
    if isinstance(y_pred, (list, tuple)) and len(y_pred) > 1:
        return [f"output_{i + 1}" for i in range(len(y_pred))]
    return None


def _per_output(value, output_names, what):
    """Spread a list/tuple/dict/single value over the outputs, in output order."""
    n = len(output_names)
    if isinstance(value, dict):
        unknown = set(value) - set(output_names)
        if unknown:
            raise ValueError(f"compile: {what} has keys {sorted(unknown)} that are not output names "
                             f"{output_names}.")
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and n > 1:
        flat = not any(isinstance(v, (list, tuple, dict)) for v in value)
        if what in ("metrics", "weighted_metrics") and len(value) != n and flat:
            # A flat list such as ["RootMeanSquaredError"] (Hands-On ML's Wide & Deep): tf.keras applied
            # it to every output. Keras 3 rejects it; minikeras keeps the old, friendlier reading.
            return [list(value) for _ in output_names]
        if len(value) != n:
            raise ValueError(f"compile: {what} has {len(value)} entries but the model has {n} outputs "
                             f"{output_names}.")
        return list(value)
    if n > 1 and value is not None and what == "loss":
        return [value] * n  # the same loss for every output
    if n == 1 and isinstance(value, (list, tuple)) and what not in ("metrics", "weighted_metrics"):
        if len(value) != 1:  # (Keras 3 takes loss=["mse"] for a single output, as the seeds write it)
            raise ValueError(f"compile: {what} has {len(value)} entries but the model has one output "
                             f"{output_names}.")
        return [value[0]]
    return [value] + [None] * (n - 1) if n > 1 else [value]


def _single(s, output_name):
    """The one entry of a single-output structure: ``[y]``, ``(y,)`` or ``{name: y}``."""
    if isinstance(s, dict):
        if output_name in s:
            return s[output_name]
        return next(iter(s.values())) if len(s) == 1 else s
    if isinstance(s, (list, tuple)) and len(s) == 1:
        return s[0]
    return s


def _is_crossentropy_alias(identifier):
    return isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce")


class CrossentropyByShape(losses_module.Loss):
    """``loss="crossentropy"`` (or ``"ce"``): binary, sparse categorical or categorical
    cross-entropy, chosen from the shapes of the first batch by the same rule Keras 3 uses
    for ``metrics=["accuracy"]``."""

    def __init__(self, name="crossentropy", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.resolved = None

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.resolved is None:
            binary, sparse = metrics_module.binary_or_sparse(_shape(y_true), _shape(y_pred))
            cls = (losses_module.BinaryCrossentropy if binary else
                   losses_module.SparseCategoricalCrossentropy if sparse else losses_module.CategoricalCrossentropy)
            self.resolved = cls(name=self.name, reduction=self.reduction)
        return self.resolved(y_true, y_pred, sample_weight=sample_weight)


def _shape(x):
    shape = getattr(x, "shape", None)
    return tuple(np.shape(x) if shape is None else shape)


def _get_loss(identifier):
    return CrossentropyByShape(name=identifier) if _is_crossentropy_alias(identifier) else \
        losses_module.get(identifier)


def flatten_metrics_in_order(metrics, logs):
    """``evaluate(return_dict=False)``'s list, in Keras 3's order: the values whose names are
    the model's metric names (``model.metrics``, with the compiled metrics' own unprefixed
    names), then every other logged value by sorted name; a single value is returned alone."""
    names = []
    for m in metrics:
        if isinstance(m, CompileMetrics):
            names.extend(metric.name for _, metric, _, _ in m.metrics)
        else:
            names.append(m.name)
    results = [logs[name] for name in names if name in logs]
    known = set(names)
    results.extend(logs[key] for key in sorted(logs) if key not in known)
    return results[0] if len(results) == 1 else results


def _batch_size(y):
    shape = getattr(y, "shape", None)
    return shape[0] if shape else 1


class CompileLoss:
    """Computes the weighted total loss from (y_true, y_pred) structures."""

    def __init__(self, loss, loss_weights, output_names):
        self._config = (loss, loss_weights)
        self._configure(resolve_output_names(output_names, loss, loss_weights))

    def _configure(self, output_names):
        loss, loss_weights = self._config
        self.output_names = list(output_names)
        self.losses = [None if l is None else _get_loss(l) for l in _per_output(loss, self.output_names, "loss")]
        weights = _per_output(loss_weights, self.output_names, "loss_weights") if loss_weights is not None \
            else [None] * len(self.output_names)
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self.multi = len(self.output_names) > 1
        self.trackers = [metrics_module.Mean(name=f"{name}_loss") for name in self.output_names] \
            if self.multi else []
        self.built = False  # Keras 3 lists the per-output loss trackers in model.metrics once built

    def __call__(self, y_true, y_pred, sample_weight=None):
        names = names_from_prediction(self.output_names, y_pred)
        if names is not None:  # a subclassed model turned out to have several outputs
            self._configure(names)
        self.built = True
        if not self.multi:
            name = self.output_names[0]
            return self.losses[0](_single(y_true, name), _single(y_pred, name),
                                  sample_weight=_single(sample_weight, name))
        ys = self._align(y_true, "y")
        preds = self._align(y_pred, "y_pred")
        sws = self._align(sample_weight, "sample_weight") if isinstance(sample_weight, (list, tuple, dict)) \
            else [sample_weight] * len(ys)
        total = None
        for loss, w, yt, yp, sw, tracker in zip(self.losses, self.weights, ys, preds, sws, self.trackers):
            if loss is None or yt is None:
                continue
            value = loss(yt, yp, sample_weight=sw)
            # Weighted by the batch size, like the total-loss tracker, so that over a whole epoch
            # the logged total is still exactly sum(weight_i * <output_i>_loss).
            tracker.update_state(value.value, sample_weight=_batch_size(yp))
            term = value * w if w != 1.0 else value
            total = term if total is None else total + term
        if total is None:
            raise ValueError("No loss to compute: every output has loss=None or no targets were given.")
        return total

    def _align(self, s, what):
        if isinstance(s, dict):
            return [s.get(name) for name in self.output_names]
        flat = flatten(s) if isinstance(s, (list, tuple)) else [s]
        if len(flat) != len(self.output_names):
            raise ValueError(f"The model has {len(self.output_names)} outputs {self.output_names}, but {what} "
                             f"has {len(flat)} entries.")
        return flat


class CompileMetrics(metrics_module.StatelessState):
    """Metrics per output; logged under their own names, prefixed by the output name when several.

    As in Keras 3, ``metrics`` ignore the sample weights and ``weighted_metrics`` apply them; a
    weighted metric whose name is taken already is logged as ``weighted_<name>``.
    (``stateless_update_state``/``stateless_result`` work on all of them at once, as in Keras 3.)"""

    def __init__(self, metrics, loss, output_names, weighted_metrics=None):
        self.name = "compile_metrics"
        self._config = (metrics, loss, weighted_metrics)
        self._configure(resolve_output_names(output_names, loss, None, metrics or weighted_metrics))

    def _configure(self, output_names):
        metrics, _, weighted_metrics = self._config
        self.output_names = list(output_names)
        self.metrics = []  # (output index, metric, logged name, weighted)
        taken = {}
        for weighted, given in ((False, metrics), (True, weighted_metrics)):
            for i, metric in self._resolved(given, "weighted_metrics" if weighted else "metrics"):
                self.metrics.append((i, metric, self._log_name(i, metric.name, weighted, taken), weighted))

    def _resolved(self, given, argument):
        """(output index, metric object) for each metric given (a single output takes them all,
        however nested, as Keras 3 flattens them)."""
        if not given:
            return []
        n = len(self.output_names)
        per_output = _per_output(given, self.output_names, argument) if n > 1 else [flatten(given)]
        out = []
        for i, ms in enumerate(per_output):
            if ms is None:
                continue
            for m in ms if isinstance(ms, (list, tuple)) else [ms]:
                # "accuracy"/"acc" is resolved from the first batch's shapes, never from the loss
                # (Keras 3: sigmoid outputs of width > 1 with BCE get CategoricalAccuracy).
                out.append((i, metrics_module.get(m)))
        return out

    def _log_name(self, i, name, weighted, taken):
        """Keras 3's logged name: the output's prefix when several; a repeated name gets ``_1``,
        ``_2``, ..., except that a weighted metric first tries ``weighted_<name>``."""
        prefix = f"{self.output_names[i]}_" if len(self.output_names) > 1 else ""
        full = prefix + name
        if full in taken and weighted:
            full = f"{prefix}weighted_{name}"
        if full not in taken:
            taken[full] = 1
            return full
        taken[full] += 1
        return f"{full}_{taken[full] - 1}"

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        names = names_from_prediction(self.output_names, y_pred)
        if names is not None:
            self._configure(names)
        n = len(self.output_names)
        if n == 1:
            name = self.output_names[0]
            ys, ps, sws = [_single(y_true, name)], [_single(y_pred, name)], [_single(sample_weight, name)]
        else:
            ys = [y_true.get(k) for k in self.output_names] if isinstance(y_true, dict) else flatten(y_true)
            ps = [y_pred.get(k) for k in self.output_names] if isinstance(y_pred, dict) else flatten(y_pred)
            if isinstance(sample_weight, dict):
                sws = [sample_weight.get(k) for k in self.output_names]
            elif isinstance(sample_weight, (list, tuple)):  # Keras 3 repeats a shorter list's first entry
                sws = list(sample_weight) if len(sample_weight) >= n else [sample_weight[0]] * n
            else:
                sws = [sample_weight] * n
        for i, metric, _, weighted in self.metrics:
            if ys[i] is not None:
                metric.update_state(ys[i], ps[i], sample_weight=sws[i] if weighted else None)

    def result(self):
        # Output order, then the order given (the seeds unpack [total, losses..., m_out1, m_out2]);
        # Keras 3 sorts these by name instead, which can swap outputs (dense_10 < dense_9).
        return {name: metric.result() for _, metric, name, _ in self.metrics}

    def reset_state(self):
        for _, metric, _, _ in self.metrics:
            metric.reset_state()

    @property
    def variables(self):
        return [v for _, m, _, _ in self.metrics for v in m.variables]
