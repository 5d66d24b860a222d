"""``TensorBoard``: log training to event files that the real TensorBoard reads (Keras 3's callback).

Layout and tags follow Keras: ``<log_dir>/train`` and ``<log_dir>/validation`` hold
``epoch_loss``, ``epoch_<metric>`` (and ``epoch_learning_rate`` in train) at step = epoch;
with ``update_freq="batch"`` or an integer N, ``batch_<name>`` every N training batches;
``evaluation_<name>_vs_iterations`` after each validation, at the optimizer's step count;
``histogram_freq=N``: every N epochs a histogram of each weight (``<weight path>/histogram``)
and, with ``write_images``, the weight as an image; ``write_graph``: the model's layer graph
(GRAPHS tab) for Sequential and functional models. A tuner sets ``hparams`` so each trial's
hyperparameter values appear in the HPARAMS tab.

``profile_batch`` is accepted (and checked as Keras checks it) but profiles nothing:
minikeras has no TensorFlow profiler to hand the trace to. ``embeddings_freq`` is not
supported. Needs the ``tensorboard`` package (``pip install "minikeras[tensorboard]"``);
TensorFlow is not needed.
"""
import json
import os
import time

from .callback import Callback
from .monitor_callback import to_float


def _check_profile_batch(profile_batch):
    message = ("profile_batch must be a non-negative integer or 2-tuple of positive integers; a pair "
               f"of positive integers signifies a range of batches to profile. Found: {profile_batch}")
    if isinstance(profile_batch, str):
        try:
            profile_batch = [int(p) for p in profile_batch.split(",")]
        except ValueError:
            raise ValueError(message) from None
    if isinstance(profile_batch, (list, tuple)) and len(profile_batch) == 1:
        profile_batch = profile_batch[0]
    if isinstance(profile_batch, bool):
        raise ValueError(message)
    if isinstance(profile_batch, int):
        start = stop = profile_batch
    elif isinstance(profile_batch, (list, tuple)) and len(profile_batch) == 2:
        start, stop = profile_batch
    else:
        raise ValueError(message)
    if not isinstance(start, int) or not isinstance(stop, int) or start < 0 or stop < start:
        raise ValueError(message)
    return start, stop


def model_json(model):
    """The model as Keras's ``to_json`` lays it out, or None (subclassed models have no config)."""
    if not (hasattr(model, "_nodes") or hasattr(model, "_input_batch_shape")):   # functional / Sequential
        return None
    try:
        config = model.get_config()
    except Exception:   # a layer without a config: no graph, as in Keras
        return None
    if "layers" not in config:
        return None
    class_name = "Sequential" if hasattr(model, "_input_batch_shape") else "Functional"
    return json.dumps({"class_name": class_name, "config": config, "keras_version": "3"})


class TensorBoard(Callback):
    """Write scalars, histograms, images, the graph and hparams for TensorBoard (see the module doc)."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if embeddings_freq:
            raise NotImplementedError("TensorBoard(embeddings_freq=...) is not supported by minikeras: its "
                                      "projector needs TensorFlow checkpoints.")
        if not (update_freq in ("epoch", "batch") or (isinstance(update_freq, int) and update_freq > 0)):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, got "
                             f"{update_freq!r}.")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be a non-negative integer, got {histogram_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.profile_batch = profile_batch
        self._start_batch, self._stop_batch = _check_profile_batch(profile_batch)
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self.hparams = None            # {name: value}, set by a tuner for its trials
        self.hparams_trial_id = None
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start = None
        if self.update_freq != "epoch":
            # batch hooks cost a metrics read per batch, so only this subclass has them
            self.__class__ = _BatchTensorBoard

    def __deepcopy__(self, memo):
        import copy
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            setattr(clone, key, {} if key == "_writers" else copy.deepcopy(value, memo))
        return clone

    # ---------------------------------------------------------------- writers
    def _writer(self, which):
        writer = self._writers.get(which)
        if writer is None:
            from .tensorboard_events import EventWriter
            folder = {"train": "train", "val": "validation", "run": ""}[which]
            writer = self._writers[which] = EventWriter(os.path.join(self.log_dir, folder) if folder
                                                        else self.log_dir)
        return writer

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ---------------------------------------------------------------- hooks
    def set_model(self, model):
        super().set_model(model)
        self._close_writers()
        if self.write_graph:
            text = model_json(model)
            if text is not None:
                self._writer("train").keras_model(text)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if self.hparams:
            self._writer("run").hparams(self.hparams, trial_id=self.hparams_trial_id)
            self._writer("run").flush()

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_start_steps = self._iterations()

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        its = getattr(optimizer, "iterations", None)
        return int(to_float(its)) if its is not None else self._global_train_batch

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        try:
            return to_float(optimizer.learning_rate)
        except Exception:
            return None

    def on_test_end(self, logs=None):
        if logs and getattr(self.model, "optimizer", None) is not None:
            writer, step = self._writer("val"), self._iterations()
            for name, value in logs.items():
                writer.scalar(f"evaluation_{name}_vs_iterations", to_float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        lr = self._learning_rate()
        if lr is not None:
            train.setdefault("learning_rate", lr)
        if self.write_steps_per_second and self._epoch_start is not None:
            seconds = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_start_steps) / seconds
        writer = self._writer("train")
        for name, value in train.items():
            writer.scalar(f"epoch_{name}", to_float(value), epoch)
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if val:
            vwriter = self._writer("val")
            for name, value in val.items():
                vwriter.scalar(f"epoch_{name}", to_float(value), epoch)
            vwriter.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        writer.flush()

    def _log_weights(self, epoch):
        from .. import backend
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = (getattr(weight, "path", None) or f"{layer.name}/{weight.name}").replace(":", "_")
                values = backend.to_numpy(weight.value)
                writer.histogram(f"{name}/histogram", values, epoch)
                if self.write_images:
                    image = _weight_image(values)
                    if image is not None:
                        writer.image(f"{name}/image", image, epoch)


def _weight_image(w):
    """A weight as grey images, Keras's way: a bias as one row, a kernel with the long side across,
    a 3-D kernel one image per output channel; other shapes are skipped."""
    import numpy as np
    w = np.squeeze(w)
    if w.ndim == 1:
        return w[None, :, None]
    if w.ndim == 2:
        w = w.T if w.shape[0] > w.shape[1] else w
        return w[:, :, None]
    if w.ndim == 3:
        return np.transpose(w, (2, 0, 1))[..., None]
    return None


class _BatchTensorBoard(TensorBoard):
    """TensorBoard with per-batch scalars (``update_freq="batch"`` or N)."""

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1

    def on_train_batch_end(self, batch, logs=None):
        if logs and self._global_train_batch % self.update_freq == 0:
            writer = self._writer("train")
            for name, value in logs.items():
                writer.scalar(f"batch_{name}", to_float(value), self._global_train_batch)
