"""Training, evaluation and prediction: ``compile``, ``fit``, ``evaluate``, ``predict`` and the steps.

``fit`` loops over epochs and batches and calls ``train_step`` for each batch, which a
subclass may override (the seeds' custom training loop). The default step runs the model
with ``training=True``, computes the compiled loss plus the layers' regularization losses,
takes gradients with the autodiff engine and lets the optimizer apply them.
"""
import numbers
from collections.abc import Mapping

from .. import backend
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..autodiff import Tensor, gradients, no_grad
from ..callbacks import CallbackList, History, ProgbarLogger
from . import data as data_utils
from .compile_utils import CompileLoss, CompileMetrics, flatten_metrics_in_order
from .stateless import StatelessModel


def _to_python(value):
    if isinstance(value, Tensor):
        value = value.value
    try:
        return float(value)
    except TypeError:
        return value


def _flatten_logs(results):
    logs = {}
    for k, v in results.items():
        if isinstance(v, dict):
            logs.update(_flatten_logs(v))
        else:
            logs[k] = _to_python(v)
    return logs


class LazyLogs(Mapping):
    """The dict ``train_step``/``test_step`` return, computed only when someone reads it.

    Reading every metric after every batch costs more than a small batch's maths; the
    progress bar reads them a few times a second, and user batch callbacks read them always.
    """

    def __init__(self, compute):
        self._compute = compute
        self._values = None

    def resolve(self):
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key):
        return self.resolve()[key]

    def __iter__(self):
        return iter(self.resolve())

    def __len__(self):
        return len(self.resolve())


def _logs_reader(result):
    return result.resolve if isinstance(result, LazyLogs) else (lambda: result)


class Trainer(StatelessModel):
    """Mixed into ``Model``: everything compile/fit/evaluate/predict need."""

    def _init_trainer(self):
        self.optimizer = None
        self.compiled = False
        self.loss = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._train_variables = None
        self.stop_training = False
        self.history = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, loss(es) and metrics. Freezing (``trainable=False``) takes effect here."""
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        self._compile_config = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                                "weighted_metrics": weighted_metrics}  # for saving
        names = self.output_names
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        self._compile_metrics = CompileMetrics(metrics, loss, names, weighted_metrics) \
            if metrics or weighted_metrics else None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._train_variables = None
        self.compiled = True

    @property
    def output_names(self):
        return ["output"] if not hasattr(self, "_output_names") else self._output_names

    @property
    def metrics(self):
        """The metric objects fit resets at each epoch: the loss tracker, compiled and tracked metrics."""
        out = []  # Keras 3's order: loss, compiled metrics, per-output losses (once the loss has run)
        if self.compiled and self._loss_tracker is not None:
            out.append(self._loss_tracker)
        if self._compile_metrics is not None:
            out.append(self._compile_metrics)
        if self._compile_loss is not None and self._compile_loss.built:
            out.extend(self._compile_loss.trackers)
        for layer_metric in self.__dict__.get("_tracked_metrics", ()):
            if all(layer_metric is not m for m in out):
                out.append(layer_metric)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call compile() on model {self.name!r} before calling {what}().")

    # ------------------------------------------------------------------ steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Compiled loss (weighted over outputs) plus every regularization/added loss of the layers."""
        total = None
        if self._compile_loss is not None and y is not None:
            total = self._compile_loss(y, y_pred, sample_weight)
        for extra in self._layer_losses():
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError(f"Model {self.name!r} has no loss to optimize: pass `loss=` to compile() "
                             "or override train_step().")
        return total

    def _layer_losses(self):
        """``self.losses`` (regularization penalties and add_loss terms), without re-walking the
        layer tree every step: the layers (and those with regularized weights) are collected once
        per compile, and each gives its own penalties."""
        from ..layers.base import Layer
        if type(self).losses is not Layer.losses:
            return self.losses
        cache = self.__dict__.get("_losses_cache")
        if cache is None or self._train_variables is None:
            layers, stack = [], [self]
            while stack:
                layer = stack.pop()
                layers.append(layer)
                stack.extend(layer._layers)
            regularized = [layer for layer in layers if layer._weight_regularizers]
            cache = self._losses_cache = (layers, regularized)
        layers, regularized = cache
        out = []
        for layer in regularized:
            out += layer.regularization_losses()
        for layer in layers:
            if layer._losses:
                out += layer._losses
        return out

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if self._compile_metrics is not None and y is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        results = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                results.update(r)
            else:
                results[m.name] = r
        return results

    def _trainable_for_step(self):
        if self._train_variables is None:
            self._train_variables = list(self.trainable_weights)
        return self._train_variables

    def train_step(self, data):
        x, y, sample_weight = data_utils.unpack(data)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        variables = self._trainable_for_step()
        grads = gradients(loss, variables)
        self.optimizer.apply(grads, variables)
        self._loss_tracker.update_state(loss.value, sample_weight=_batch_size(x))
        if self._compile_metrics is not None and y is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return LazyLogs(self.get_metrics_result)

    def test_step(self, data):
        x, y, sample_weight = data_utils.unpack(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._loss_tracker.update_state(loss.value, sample_weight=_batch_size(x))
        if self._compile_metrics is not None and y is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return LazyLogs(self.get_metrics_result)

    def predict_step(self, data):
        x, _, _ = data_utils.unpack(data)
        return self(x, training=False)

    # ------------------------------------------------------------------ loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1):
        """Train for ``epochs`` epochs; returns a ``History`` whose ``.history`` has the per-epoch logs."""
        where = f"fit() of model {self.name!r}"
        self._assert_compiled("fit")
        if x is None:
            raise ValueError("fit() needs training data `x`.")
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{where}: `{name}` must be a non-negative integer, got {name}={value!r}.")
        data_utils.positive_int(batch_size, "batch_size", where)
        data_utils.positive_int(validation_batch_size, "validation_batch_size", where)
        data_utils.positive_int(validation_steps, "validation_steps", where)
        verbose = 1 if verbose == "auto" else int(verbose)
        x, y, sample_weight = data_utils.to_backend_all(x, y, sample_weight, where=where)
        data_utils.num_samples(x, y, sample_weight, where=where)
        if validation_data is None and validation_split:
            (x, y, sample_weight), validation_data = data_utils.split_validation(x, y, sample_weight,
                                                                                validation_split)
        elif validation_data is not None:
            vx, vy, vsw = data_utils.unpack(tuple(validation_data))
            validation_data = data_utils.to_backend_all(vx, vy, vsw, names=("validation x", "validation y",
                                                                             "validation sample_weight"),
                                                        where=where)
        if class_weight is not None:
            sample_weight = data_utils.class_weight_to_sample_weight(y, class_weight, sample_weight)
        batches = data_utils.Batches(x, y, sample_weight, batch_size, steps_per_epoch, shuffle=shuffle,
                                     where=where, steps_name="steps_per_epoch")
        self._build_for_data(x)
        history = History()
        cbs = list(callbacks or [])
        progbar = ProgbarLogger(verbose) if verbose else None
        cb_list = CallbackList(cbs + ([progbar] if progbar else []) + [history], model=self,
                               epochs=epochs, steps=len(batches), verbose=verbose)
        self.stop_training = False
        self.history = history
        user_batch_hooks = cb_list.wants("on_train_batch_end") or cb_list.wants("on_train_batch_begin")
        train_step = self._stateless_train_step if self._train_step_takes_state() else self.train_step
        cb_list.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cb_list.on_epoch_begin(epoch)
            logs_fn = self.get_metrics_result
            for step, batch in batches:
                if user_batch_hooks:
                    cb_list.batch_hook("on_train_batch_begin", step)
                result = train_step(batch)
                logs_fn = _logs_reader(result)
                if user_batch_hooks:
                    cb_list.batch_hook("on_train_batch_end", step, _flatten_logs(logs_fn()))
                if progbar is not None:
                    progbar.progress(step, lambda f=logs_fn: _flatten_logs(f()))
                if self.stop_training:
                    break
            epoch_logs = _flatten_logs(logs_fn())
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                vx, vy, vsw = validation_data
                val_logs = self.evaluate(vx, vy, sample_weight=vsw,
                                         batch_size=validation_batch_size or batches.batch_size,
                                         steps=validation_steps, verbose=0, return_dict=True, _from_fit=True,
                                         callbacks=cb_list)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cb_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cb_list.on_train_end(epoch_logs)
        history.params = {"verbose": verbose, "epochs": epochs, "steps": len(batches)}
        history.model = self
        return history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, _from_fit=False, **kwargs):
        """Loss and metrics on the given data: a scalar, ``[loss, *metrics]`` or a dict."""
        where = f"evaluate() of model {self.name!r}"
        self._assert_compiled("evaluate")
        verbose = 1 if verbose == "auto" else int(verbose)
        if not _from_fit:
            x, y, sample_weight = data_utils.to_backend_all(x, y, sample_weight, where=where)
        batches = data_utils.Batches(x, y, sample_weight, batch_size, steps, where=where)
        self._build_for_data(x)
        n_steps = len(batches)
        # fit passes its own CallbackList so the on_test_* hooks run during validation (as in Keras).
        cb_list = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, model=self, steps=n_steps, verbose=verbose)
        self.reset_metrics()
        cb_list.on_test_begin()
        from ..progbar import Progbar
        bar = Progbar(n_steps, verbose=verbose) if verbose and not _from_fit else None
        logs_fn = self.get_metrics_result
        with no_grad():
            for step, batch in batches:
                cb_list.batch_hook("on_test_batch_begin", step)
                result = self.test_step(batch)
                logs_fn = _logs_reader(result)
                if cb_list.wants("on_test_batch_end"):
                    cb_list.batch_hook("on_test_batch_end", step, _flatten_logs(logs_fn()))
                if bar is not None:
                    bar.update(step + 1, lambda f=logs_fn: _flatten_logs(f()))
        logs = _flatten_logs(logs_fn())
        if bar is not None:
            bar.update(n_steps, logs, finalize=True)
        cb_list.on_test_end(logs)
        if return_dict:
            return logs
        return flatten_metrics_in_order(self.metrics, logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Batched inference without gradients; NumPy arrays back (a list/dict for several outputs)."""
        where = f"predict() of model {self.name!r}"
        verbose = 1 if verbose == "auto" else int(verbose)
        x = data_utils.to_backend(x, "x", where)
        batches = data_utils.Batches(x, batch_size=batch_size, steps=steps, targets=False, where=where)
        cb_list = CallbackList(callbacks, model=self, steps=len(batches), verbose=verbose)
        cb_list.on_predict_begin()
        outputs = []
        with no_grad():
            for step, batch in batches:
                cb_list.batch_hook("on_predict_batch_begin", step)
                out = self.predict_step(batch)
                outputs.append(data_utils.map_structure(lambda t: t.value if isinstance(t, Tensor) else t, out))
                cb_list.batch_hook("on_predict_batch_end", step, {"outputs": out})
        cb_list.on_predict_end()
        first = outputs[0]
        xp = backend.xp()
        if isinstance(first, dict):
            return {k: backend.to_numpy(xp.concatenate([o[k] for o in outputs])) for k in first}
        if isinstance(first, (list, tuple)):
            return type(first)(backend.to_numpy(xp.concatenate([o[i] for o in outputs])) for i in range(len(first)))
        return backend.to_numpy(xp.concatenate(outputs))

    def _one_batch(self, x, y, sample_weight, where):
        """The data of train_on_batch/test_on_batch as one batch, checked as fit checks it."""
        x, y, sample_weight = data_utils.to_backend_all(x, y, sample_weight, where=where)
        n = data_utils.Batches(x, y, sample_weight, where=where).num_samples
        return x, y, sample_weight, n

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._assert_compiled("train_on_batch")
        x, y, sample_weight, _ = self._one_batch(x, y, sample_weight, f"train_on_batch() of model {self.name!r}")
        if class_weight is not None:
            sample_weight = data_utils.class_weight_to_sample_weight(y, class_weight, sample_weight)
        self._build_for_data(x)
        self.reset_metrics()
        train_step = self._stateless_train_step if self._train_step_takes_state() else self.train_step
        result = train_step((x, y, sample_weight) if sample_weight is not None else (x, y))
        logs = _flatten_logs(_logs_reader(result)())
        return logs if return_dict else flatten_metrics_in_order(self.metrics, logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        x, y, sample_weight, _ = self._one_batch(x, y, sample_weight, f"test_on_batch() of model {self.name!r}")
        self.reset_metrics()
        with no_grad():
            result = self.test_step((x, y, sample_weight) if sample_weight is not None else (x, y))
        logs = _flatten_logs(_logs_reader(result)())
        return logs if return_dict else flatten_metrics_in_order(self.metrics, logs)

    def predict_on_batch(self, x):
        x = data_utils.to_backend(x, "x", f"predict_on_batch() of model {self.name!r}")
        with no_grad():
            out = self(x, training=False)
        return data_utils.map_structure(backend.to_numpy, out)

    def _build_for_data(self, x):
        """Build an unbuilt model from the first sample shapes so the optimizer sees every weight."""
        if not self.built:
            if hasattr(self, "_input_batch_shape") and hasattr(x, "shape"):
                self.build((None,) + tuple(x.shape[1:]))  # Sequential: a real, batch-free input shape
                return
            with no_grad():
                self(data_utils.take(x, slice(0, 1)), training=False)


def _batch_size(x):
    first = x
    while isinstance(first, (list, tuple, dict)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    return first.shape[0]
