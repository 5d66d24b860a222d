"""``Normalization``: standardise features with statistics learned by ``adapt``."""
from .. import backend, ops
from .base import Layer


class Normalization(Layer):
    """``(x - mean) / sqrt(variance)`` per feature; ``adapt(data)`` computes mean and variance.

    The statistics are non-trainable weights, so they count in ``summary()`` and are saved.
    """

    _supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = (axis,) if isinstance(axis, int) else tuple(axis or ())
        self.invert = invert
        self._init_mean = mean
        self._init_variance = variance
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization {self.name!r}: pass both `mean` and `variance`, or neither.")

    def _stat_shape(self, input_shape):
        ndim = len(input_shape)
        axes = [a % ndim for a in self.axis]
        for a in axes:
            if input_shape[a] is None:
                raise ValueError(f"Normalization {self.name!r}: axis {a} of input shape {tuple(input_shape)} "
                                 "must be known.")
        return tuple(input_shape[a] if a in axes else 1 for a in range(ndim))[1:] if axes else ()

    def build(self, input_shape):
        shape = self._stat_shape(input_shape)
        self._broadcast_shape = shape
        self.mean = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="mean")
        self.variance = self.add_weight(shape=shape, initializer="ones", trainable=False, name="variance")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count", dtype="int64")
        if self._init_mean is not None:
            xp = backend.xp()
            self.mean.assign(xp.broadcast_to(xp.asarray(self._init_mean, dtype=self.dtype), shape))
            self.variance.assign(xp.broadcast_to(xp.asarray(self._init_variance, dtype=self.dtype), shape))
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Learn per-feature mean and variance from ``data`` (an array, or a list of batches)."""
        arr = backend.to_numpy(data).astype("float64")
        if arr.ndim == 1:
            arr = arr[:, None]
        if not self.built:
            self._maybe_build((None,) + arr.shape[1:])
        ndim = arr.ndim
        keep = {a % ndim for a in self.axis}
        reduce_axes = tuple(a for a in range(ndim) if a not in keep)
        mean = arr.mean(axis=reduce_axes, keepdims=True)[0]
        var = arr.var(axis=reduce_axes, keepdims=True)[0]
        xp = backend.xp()
        self.mean.assign(xp.asarray(mean.reshape(self.mean.shape), dtype=self.dtype))
        self.variance.assign(xp.asarray(var.reshape(self.variance.shape), dtype=self.dtype))
        self.count.assign(xp.asarray(arr.shape[0], dtype="int64"))

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype) if inputs.dtype != self.dtype else inputs
        std = ops.maximum(ops.sqrt(self.variance.value), backend.epsilon())
        if self.invert:
            return ops.add(ops.multiply(x, std), self.mean.value)
        return ops.divide(ops.subtract(x, self.mean.value), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=list(self.axis), invert=self.invert)
        return config
