"""``Callback``: hooks fit/evaluate/predict call at the start and end of training, epochs and batches."""


class Callback:
    """Override any hook; ``self.model`` is the model being trained and ``self.params`` the fit settings."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                "on_predict_batch_begin", "on_predict_batch_end")


def _overrides(cb, hook):
    base = getattr(Callback, hook)
    if getattr(type(cb), hook) is not base:
        return True
    # on_batch_* are what on_train_batch_* forward to by default
    if hook in ("on_train_batch_begin", "on_train_batch_end"):
        alias = hook.replace("train_batch", "batch")
        return getattr(type(cb), alias) is not getattr(Callback, alias)
    return False


class CallbackList:
    """Calls a hook on every callback in order. Batch hooks that nobody overrides cost nothing."""

    def __init__(self, callbacks=None, model=None, **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}.")
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(dict(params))
        self._batch_callers = {h: [getattr(cb, h) for cb in self.callbacks if _overrides(cb, h)]
                               for h in _BATCH_HOOKS}

    def wants(self, hook):
        return bool(self._batch_callers[hook])

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)

    def batch_hook(self, hook, batch, logs=None):
        for fn in self._batch_callers[hook]:
            fn(batch, logs)
