"""The learning-rate finder of Hands-On ML: train once while the learning rate grows exponentially.

``ExponentialLearningRate(factor)`` multiplies the rate by ``factor`` after every batch and
records (rate, batch loss). ``find_learning_rate(model, x, y)`` runs that sweep from
``min_rate`` to ``max_rate`` over one epoch, stops early once the loss has clearly blown
up, puts the model's weights and optimizer back as they were, and returns the curve. The
loss first falls, then shoots up when the rate gets too large; a good rate is about ten
times below the rate at the lowest (smoothed) loss, which is what ``suggested_rate`` gives.
"""
import copy
import math

from .callback import Callback
from .monitor_callback import to_float


class ExponentialLearningRate(Callback):
    """Multiply the learning rate by ``factor`` after each batch; ``rates`` and ``losses`` per batch."""

    def __init__(self, factor, stop_factor=None):
        super().__init__()
        self.factor = float(factor)
        self.stop_factor = stop_factor
        self.rates, self.losses = [], []
        self._mean, self._seen, self._best = 0.0, 0, math.inf

    def on_epoch_begin(self, epoch, logs=None):
        self._mean, self._seen = 0.0, 0

    def on_batch_end(self, batch, logs=None):
        optimizer = self.model.optimizer
        # fit logs the running mean of the epoch; undo the mean to get this batch's own loss
        mean = to_float(logs["loss"])
        loss = mean * (self._seen + 1) - self._mean * self._seen
        self._mean, self._seen = mean, self._seen + 1
        self.rates.append(to_float(optimizer.learning_rate))
        self.losses.append(loss)
        self._best = min(self._best, loss)
        if self.stop_factor and (math.isnan(loss) or loss > self.stop_factor * self._best):
            self.model.stop_training = True
        optimizer.learning_rate = self.rates[-1] * self.factor


def smooth(values, window=5):
    """A centred moving average (no lag, so the minimum stays where the raw curve has it)."""
    half, out = window // 2, []
    for i in range(len(values)):
        part = [v for v in values[max(0, i - half):i + half + 1] if math.isfinite(v)]
        out.append(sum(part) / len(part) if part else math.nan)
    return out


class LRFinderResult:
    """``rates``, ``losses`` (per batch), ``suggested_rate`` and ``plot()``."""

    def __init__(self, rates, losses):
        self.rates, self.losses = list(rates), list(losses)
        finite = [(l, r) for l, r in zip(smooth(self.losses), self.rates) if math.isfinite(l)]
        self.min_loss_rate = min(finite)[1] if finite else None
        self.suggested_rate = self.min_loss_rate / 10 if finite else None

    def plot(self, ax=None):
        """Loss against learning rate on a log axis, with the suggestion marked (matplotlib)."""
        if ax is None:
            import matplotlib.pyplot as plt
            ax = plt.gca()
        ax.plot(self.rates, self.losses, alpha=0.35, label="batch loss")
        ax.plot(self.rates, smooth(self.losses), label="smoothed")
        if self.suggested_rate:
            ax.axvline(self.suggested_rate, color="k", linestyle="--", label=f"suggested {self.suggested_rate:.2g}")
        ax.set_xscale("log")
        finite = [l for l in smooth(self.losses) if math.isfinite(l)]
        if finite:   # from just below the lowest loss to a bit above the starting loss
            low, start = min(finite), finite[0]
            ax.set_ylim(low - 0.1 * (start - low), start + 0.25 * (start - low))
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("loss")
        ax.legend()
        ax.grid(True)
        return ax


def find_learning_rate(model, x, y=None, min_rate=1e-5, max_rate=10.0, epochs=1, batch_size=32,
                       stop_factor=4.0, **fit_kwargs):
    """Sweep the learning rate of a compiled ``model`` from ``min_rate`` to ``max_rate`` over
    ``epochs`` epochs; the model's weights and optimizer state are restored afterwards."""
    if not getattr(model, "compiled", False):
        raise RuntimeError("find_learning_rate needs a compiled model (model.compile(...)).")
    if not 0 < min_rate < max_rate:
        raise ValueError(f"find_learning_rate: need 0 < min_rate < max_rate, got {min_rate} and {max_rate}.")
    n = len(x[0] if isinstance(x, (list, tuple)) else next(iter(x.values())) if isinstance(x, dict) else x)
    iterations = epochs * math.ceil(n / batch_size)
    if not model.weights:   # build it now, so the weights to restore exist
        model._build_for_data(x)
    weights = [w.copy() for w in model.get_weights()]
    optimizer = model.optimizer
    state = {}
    if optimizer.built:              # slots exist: keep their values
        optimizer.save_own_variables(state)
    else:                            # no slots yet: keep an unbuilt copy to put back
        pristine = copy.deepcopy(optimizer)
    finder = ExponentialLearningRate((max_rate / min_rate) ** (1 / max(iterations, 1)), stop_factor=stop_factor)
    model.optimizer.learning_rate = min_rate
    try:
        model.fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=[finder], verbose=fit_kwargs.pop("verbose", 0),
                  **fit_kwargs)
    finally:
        model.set_weights(weights)
        if state:
            optimizer.load_own_variables(state)
        else:
            model.optimizer = pristine
    return LRFinderResult(finder.rates, finder.losses)
