"""``LambdaCallback``: a callback built from plain functions, one per hook."""
from .callback import Callback

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
          "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
          "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


def _forward(hook):
    def method(self, *args):
        return self._functions[hook](*args)
    method.__name__ = hook
    return method


class LambdaCallback(Callback):
    """``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``; epoch hooks get ``(epoch, logs)``,
    batch hooks ``(batch, logs)``, train/test/predict begin/end hooks ``(logs)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        unknown = sorted(k for k in given if k not in _HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hooks {unknown}; valid hooks are {list(_HOOKS)}.")
        self._functions = {k: fn for k, fn in given.items() if fn is not None}
        for hook, fn in self._functions.items():
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {hook} must be callable, got {fn!r}.")
        # Give this instance its own subclass whose methods are exactly the hooks passed, so fit
        # sees them as overridden (batch hooks are only dispatched to callbacks that define them).
        if self._functions:
            methods = {hook: _forward(hook) for hook in self._functions}
            self.__class__ = type(type(self).__name__, (type(self),), methods)
