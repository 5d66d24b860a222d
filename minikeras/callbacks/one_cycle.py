"""``OneCycleScheduler``: Leslie Smith's 1cycle policy, batch by batch.

The learning rate climbs linearly from ``start_rate`` to ``max_rate`` over the first half of
the run (minus the last ``last_iterations`` steps), comes back down linearly to
``start_rate`` over the second half, then falls linearly to ``last_rate`` during the last
steps. Momentum moves the other way (``max_momentum`` down to ``min_momentum`` and back)
when the optimizer has one: SGD's ``momentum`` (if it was created with momentum > 0),
RMSprop's ``momentum`` (same), Adam's/Nadam's ``beta_1``.
"""
from .callback import Callback


def _interpolate(step, start_step, end_step, start, end):
    return start + (end - start) * (step - start_step) / max(end_step - start_step, 1)


class OneCycleScheduler(Callback):
    """``iterations``: total training steps (default: epochs x steps of the fit); ``max_rate`` required;
    ``start_rate`` defaults to max_rate / 10, ``last_iterations`` to 10% of the steps, ``last_rate``
    to start_rate / 1000."""

    def __init__(self, iterations=None, max_rate=None, start_rate=None, last_iterations=None, last_rate=None,
                 max_momentum=0.95, min_momentum=0.85, cycle_momentum=True):
        super().__init__()
        if max_rate is None or max_rate <= 0:
            raise ValueError(f"OneCycleScheduler needs a positive max_rate, got {max_rate!r}.")
        self.iterations = iterations
        self.max_rate = float(max_rate)
        self.start_rate = float(start_rate) if start_rate is not None else self.max_rate / 10
        self.last_iterations = last_iterations
        self.last_rate = float(last_rate) if last_rate is not None else self.start_rate / 1000
        self.max_momentum, self.min_momentum = max_momentum, min_momentum
        self.cycle_momentum = cycle_momentum
        self.iteration = 0
        self.rates, self.momentums = [], []

    def _momentum_name(self):
        optimizer = self.model.optimizer
        for name in ("beta_1", "momentum"):
            value = getattr(optimizer, name, None)
            if isinstance(value, (int, float)) and value > 0:
                return name
        return None

    def on_train_begin(self, logs=None):
        total = self.iterations or self.params.get("epochs", 1) * self.params.get("steps", 1)
        self._total = int(total)
        last = self.last_iterations if self.last_iterations is not None else max(self._total // 10, 1)
        self._last = min(int(last), self._total)
        self._half = (self._total - self._last) // 2
        self._momentum = self._momentum_name() if self.cycle_momentum else None

    def schedule(self, step):
        """(learning rate, momentum) at training step ``step`` (counting from 0)."""
        half, total = self._half, self._total
        if step < half:
            return (_interpolate(step, 0, half, self.start_rate, self.max_rate),
                    _interpolate(step, 0, half, self.max_momentum, self.min_momentum))
        if step < 2 * half:
            return (_interpolate(step, half, 2 * half, self.max_rate, self.start_rate),
                    _interpolate(step, half, 2 * half, self.min_momentum, self.max_momentum))
        return (_interpolate(min(step, total), 2 * half, total, self.start_rate, self.last_rate), self.max_momentum)

    def on_batch_begin(self, batch, logs=None):
        rate, momentum = self.schedule(self.iteration)
        optimizer = self.model.optimizer
        optimizer.learning_rate = rate
        self.rates.append(rate)
        if self._momentum is not None:
            setattr(optimizer, self._momentum, momentum)
            self.momentums.append(momentum)
        self.iteration += 1
