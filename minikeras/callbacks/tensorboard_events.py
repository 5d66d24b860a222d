"""Writing TensorBoard event files with the ``tensorboard`` package alone (no TensorFlow).

``tensorboard`` ships the protocol buffers, the record writer and the summary formats of
its plugins; this module only assembles events from them: scalars and histograms in the
tensor formats TensorFlow 2 writes, images as PNG strings (encoded here with zlib), the
Keras "conceptual graph" (the model's config as JSON, the way Keras logs it) plus an op
graph converted from it by TensorBoard's own converter, and the hparams plugin's session
records for tuner trials. Install with ``pip install "minikeras[tensorboard]"``.
"""
import json
import struct
import time
import zlib

import numpy as np


def _tb():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        from tensorboard.util import tensor_util
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("keras.callbacks.TensorBoard needs the `tensorboard` package (no TensorFlow "
                          "required): pip install tensorboard, or pip install \"minikeras[tensorboard]\".") from exc
    return event_pb2, summary_pb2, EventFileWriter, tensor_util


def encode_png(image):
    """PNG bytes of an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8 array."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"encode_png expects (H, W[, 1|3|4]) pixels, got shape {image.shape}.")
    if image.dtype != np.uint8:
        raise ValueError(f"encode_png expects uint8 pixels, got {image.dtype}.")
    height, width, channels = image.shape
    colour = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * channels)], axis=1)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))


def to_uint8(images):
    """Float images are scaled from [min, max] to 0..255 (a constant image becomes mid-grey)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    images = images.astype("float64")
    lo, hi = float(np.min(images)), float(np.max(images))
    if hi - lo < 1e-12:
        return np.full(images.shape, 128, np.uint8)
    return np.round((images - lo) / (hi - lo) * 255).astype(np.uint8)


class EventWriter:
    """One event file in ``logdir`` (created on first use), as TensorFlow's summary writer makes it."""

    def __init__(self, logdir):
        self.logdir = str(logdir)
        self._pb = _tb()
        self._writer = self._pb[2](self.logdir, max_queue_size=64, flush_secs=10)  # writes the version record

    def _event(self, step=0, **fields):
        return self._pb[0].Event(wall_time=time.time(), step=int(step), **fields)

    def add_summary(self, summary, step=0):
        self._writer.add_event(self._event(step, summary=summary))

    def scalar(self, tag, value, step):
        _, summary_pb2, _, tensor_util = self._pb
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
            data_class=summary_pb2.DataClass.DATA_CLASS_SCALAR)
        summary = summary_pb2.Summary()
        summary.value.add(tag=tag, tensor=tensor_util.make_tensor_proto(np.float32(value)), metadata=metadata)
        self.add_summary(summary, step)

    def histogram(self, tag, values, step, buckets=30):
        from tensorboard.plugins.histogram.summary_v2 import histogram_pb
        values = np.asarray(values, dtype="float64").ravel()
        self.add_summary(histogram_pb(tag, values, buckets=buckets), step)

    def image(self, tag, images, step, max_outputs=3):
        """``images``: (N, H, W[, C]) or (H, W[, C]) pixels, uint8 or floats (rescaled)."""
        from tensorboard.plugins.image import metadata as image_metadata
        _, summary_pb2, _, tensor_util = self._pb
        images = to_uint8(images)
        if images.ndim in (2, 3) and not (images.ndim == 3 and images.shape[-1] not in (1, 3, 4)):
            images = images[None]
        if images.ndim == 3:
            images = images[..., None]
        height, width = images.shape[1:3]
        content = [str(width).encode(), str(height).encode()] + [encode_png(i) for i in images[:max_outputs]]
        summary = summary_pb2.Summary()
        summary.value.add(tag=tag, tensor=tensor_util.make_tensor_proto(np.array(content, dtype=object)),
                          metadata=image_metadata.create_summary_metadata(display_name=tag, description=""))
        self.add_summary(summary, step)

    def keras_model(self, model_json, step=0):
        """The model's structure: the conceptual graph (tag "keras") and TensorBoard's op-graph view of it."""
        _, summary_pb2, _, tensor_util = self._pb
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1"))
        summary = summary_pb2.Summary()
        summary.value.add(tag="keras", metadata=metadata,
                          tensor=tensor_util.make_tensor_proto(np.array(model_json.encode("utf-8"), dtype=object)))
        self.add_summary(summary, step)
        from tensorboard.plugins.graph.keras_util import keras_model_to_graph_def
        graph = keras_model_to_graph_def(json.loads(model_json))
        self._writer.add_event(self._event(step, graph_def=graph.SerializeToString()))

    def hparams(self, values, trial_id=None, start_time=None):
        """The hparams plugin's session-start record: this run used these hyperparameter values."""
        from tensorboard.plugins.hparams.summary_v2 import hparams_pb
        self.add_summary(hparams_pb(values, trial_id=trial_id, start_time_secs=start_time or time.time()))

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()
