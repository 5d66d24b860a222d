"""``MonitorCallback``: shared logic for callbacks that watch one logged quantity
(EarlyStopping, ModelCheckpoint, ReduceLROnPlateau): the direction and "is it better?"."""
import math
import operator
import warnings

from .callback import Callback

# Name fragments that tell the direction of a metric when mode="auto".
_UP = ("acc", "auc", "precision", "recall", "f1_score", "fbeta", "iou", "r2", "cosine_similarity",
       "true_positives", "true_negatives")
_DOWN = ("loss", "error", "mae", "mse", "mape", "msle", "crossentropy", "hinge", "divergence", "kld",
         "poisson", "log_cosh", "logcosh", "false_positives", "false_negatives")


def _metric_objects(model):
    """(logged name, metric) for every metric the compiled model tracks."""
    out = []
    for m in getattr(model, "metrics", None) or []:
        inner = getattr(m, "metrics", None)
        if isinstance(inner, list):
            for item in inner:
                if isinstance(item, tuple):
                    out.append((item[-1], item[1]))
                else:
                    out.append((getattr(item, "name", None), item))
        else:
            out.append((getattr(m, "name", None), m))
    return out


def infer_direction(monitor, model=None):
    """"min" or "max" for a logged name such as "val_loss" or "accuracy" (mode="auto")."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    try:
        metric_objects = _metric_objects(model) if model is not None else []
    except Exception:  # a half-built model: fall back on the name
        metric_objects = []
    for logged, metric in metric_objects:
        direction = getattr(metric, "_direction", None)
        if logged == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    lowered = name.lower()
    if any(tok in lowered for tok in _UP):
        return "max"
    if any(tok in lowered for tok in _DOWN):
        return "min"
    return None


def to_float(value):
    """A logged value as a Python float (NumPy/CuPy scalars and Tensors included)."""
    if hasattr(value, "value") and not isinstance(value, (int, float)):
        value = value.value
    if hasattr(value, "get") and hasattr(value, "__cuda_array_interface__"):
        value = value.get()
    return float(value)


class MonitorCallback(Callback):
    """Base class: ``monitor``, ``mode`` ("auto"/"min"/"max"), ``min_delta`` and the best value so far."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode {mode!r} is unknown; falling back to 'auto'.",
                          stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        mode = self.mode
        if mode == "auto":
            mode = infer_direction(self.monitor, self.model)
            if mode is None:
                raise ValueError(
                    f"{type(self).__name__} received monitor={self.monitor!r}, but cannot tell whether it "
                    "should be maximized or minimized. Pass mode='max' to keep the highest value or "
                    "mode='min' to keep the lowest.")
        self.monitor_op = operator.lt if mode == "min" else operator.gt
        # An improvement must beat the reference by at least min_delta in the right direction.
        self._signed_delta = -self.min_delta if mode == "min" else self.min_delta

    def _is_improvement(self, value, reference):
        if self.monitor_op is None:
            self._set_monitor_op()
        if reference is None:
            return True
        value = to_float(value)
        if math.isnan(value):
            return False
        return self.monitor_op(value - self._signed_delta, to_float(reference))

    def _warn_missing(self, what, logs):
        warnings.warn(f"{what} is conditioned on metric `{self.monitor}` which is not available. "
                      f"Available metrics are: {','.join(list((logs or {}).keys()))}",
                      stacklevel=3)
