"""``LearningRateScheduler``: set the optimizer's learning rate at the start of every epoch."""
import inspect
import numbers

from .callback import Callback


def _current_lr(optimizer):
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError('Optimizer must have a "learning_rate" attribute.')
    lr = optimizer.learning_rate
    lr = getattr(lr, "value", lr)
    return float(lr)


def _takes_two_args(fn):
    """True if ``fn`` can be called as ``fn(epoch, lr)``; None when its signature is unknown."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        sig.bind(0, 0.0)
        return True
    except TypeError:
        return False


class LearningRateScheduler(Callback):
    """``schedule(epoch)`` or ``schedule(epoch, lr)`` (epoch counts from 0) returns the new rate."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler needs a callable schedule, got {schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = _current_lr(optimizer)
        two = _takes_two_args(self.schedule)
        if two is None:
            try:
                new_lr = self.schedule(epoch, lr)
            except TypeError:
                new_lr = self.schedule(epoch)
        else:
            new_lr = self.schedule(epoch, lr) if two else self.schedule(epoch)
        new_lr = getattr(new_lr, "value", new_lr)
        if getattr(new_lr, "shape", None) == ():
            new_lr = new_lr.item() if hasattr(new_lr, "item") else new_lr
        if isinstance(new_lr, bool) or not isinstance(new_lr, numbers.Real):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {new_lr!r}")
        optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new_lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _current_lr(self.model.optimizer)
