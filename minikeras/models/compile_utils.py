"""What ``compile`` turns its arguments into: one loss per output with weights, and metrics per output.

Single-output models take a loss and a list of metrics. Multi-output models take a list
(by position) or dict (by output name) of losses, ``loss_weights`` the same way, and
metrics as a list of lists or a dict. The total loss is the weighted sum; each output's
own loss is tracked as ``<output>_loss`` as Keras 3 logs it.
"""
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
        if what == "metrics" and len(value) != n and not any(isinstance(v, (list, tuple, dict)) for v in value):
            # A flat list such as ["RootMeanSquaredError"] (Hands-On ML's Wide & Deep): tf.keras applied
            # it to every output. Keras 3 rejects it; minikeras keeps the old, friendlier reading.
            return [list(value) for _ in output_names]
        if len(value) != n:
            raise ValueError(f"compile: {what} has {len(value)} entries but the model has {n} outputs "
                             f"{output_names}.")
        return list(value)
    if n > 1 and value is not None and what == "loss":
        return [value] * n  # the same loss for every output
    return [value] + [None] * (n - 1) if n > 1 else [value]


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
        self.losses = [None if l is None else losses_module.get(l)
                       for l in _per_output(loss, self.output_names, "loss")]
        weights = _per_output(loss_weights, self.output_names, "loss_weights") if loss_weights is not None \
            else [None] * len(self.output_names)
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self.multi = len(self.output_names) > 1
        self.trackers = [metrics_module.Mean(name=f"{name}_loss") for name in self.output_names] \
            if self.multi else []

    def __call__(self, y_true, y_pred, sample_weight=None):
        names = names_from_prediction(self.output_names, y_pred)
        if names is not None:  # a subclassed model turned out to have several outputs
            self._configure(names)
        if not self.multi:
            if isinstance(y_pred, (list, tuple)) and len(y_pred) == 1:
                y_pred = y_pred[0]
            if isinstance(y_true, (list, tuple)) and len(y_true) == 1:
                y_true = y_true[0]
            return self.losses[0](y_true, y_pred, sample_weight=sample_weight)
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


class CompileMetrics:
    """Metrics per output; logged under their own names, prefixed by the output name when several."""

    def __init__(self, metrics, loss, output_names, weighted_metrics=None):
        self.name = "compile_metrics"
        self._config = (metrics, loss)
        self._configure(resolve_output_names(output_names, loss, None, metrics))

    def _configure(self, output_names):
        metrics, loss = self._config
        self.output_names = list(output_names)
        n = len(self.output_names)
        per_output = _per_output(metrics, self.output_names, "metrics") if n > 1 else [metrics]
        loss_per_output = _per_output(loss, self.output_names, "loss") if n > 1 else [loss]
        self.metrics = []  # (output index, metric, logged name)
        for i, (ms, l) in enumerate(zip(per_output, loss_per_output)):
            if ms is None:
                continue
            if not isinstance(ms, (list, tuple)):
                ms = [ms]
            for m in ms:
                metric = metrics_module.get(m, loss=l)
                name = metric.name
                if n > 1:
                    name = f"{self.output_names[i]}_{name}"
                self.metrics.append((i, metric, name))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        names = names_from_prediction(self.output_names, y_pred)
        if names is not None:
            self._configure(names)
        if len(self.output_names) == 1:
            yt = y_true[0] if isinstance(y_true, (list, tuple)) else y_true
            yp = y_pred[0] if isinstance(y_pred, (list, tuple)) else y_pred
            ys, ps = [yt], [yp]
        else:
            ys = [y_true.get(n) for n in self.output_names] if isinstance(y_true, dict) else flatten(y_true)
            ps = [y_pred.get(n) for n in self.output_names] if isinstance(y_pred, dict) else flatten(y_pred)
        for i, metric, _ in self.metrics:
            if ys[i] is not None:
                metric.update_state(ys[i], ps[i], sample_weight=sample_weight)

    def result(self):
        # Output order, then the order given (the seeds unpack [total, losses..., m_out1, m_out2]);
        # Keras 3 sorts these by name instead, which can swap outputs (dense_10 < dense_9).
        return {name: metric.result() for _, metric, name in self.metrics}

    def reset_state(self):
        for _, metric, _ in self.metrics:
            metric.reset_state()

    @property
    def variables(self):
        return [v for _, m, _ in self.metrics for v in m.variables]
