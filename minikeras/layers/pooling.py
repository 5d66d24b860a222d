"""Pooling layers (channels-last): max/average pooling in 1D and 2D, and global pooling."""
from .. import ops
from ..ops.nn import conv_output_length
from .base import Layer
from .convolutional import check_data_format, normalize_tuple
from .core import cast_to_layer_dtype
from .input_spec import check_rank


class BasePooling(Layer):
    """Shared logic: ``strides`` defaults to ``pool_size``; padding "valid" (floor) or "same"."""

    rank = 2
    _op = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} {self.name!r}"
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides", who)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{who}: `padding` must be 'valid' or 'same', got {padding!r}.")
        self.data_format = check_data_format(data_format, who)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        who = f"{type(self).__name__} {self.name!r}"
        check_rank(self, input_shape, self.rank + 2, "(batch, spatial axes, channels)")
        spatial = []
        for n, k, s in zip(input_shape[1:-1], self.pool_size, self.strides):
            out = conv_output_length(n, k, s, self.padding)
            if out is not None and out <= 0:
                raise ValueError(f"{who}: pool_size {self.pool_size} is larger than the input of shape "
                                 f"{input_shape} with padding={self.padding!r}; the output would be empty.")
            spatial.append(out)
        return (input_shape[0],) + tuple(spatial) + (input_shape[-1],)

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        x = cast_to_layer_dtype(self, inputs)
        strides = self.strides if self.rank == 2 else self.strides[0]
        pool = self.pool_size if self.rank == 2 else self.pool_size[0]
        return getattr(ops, self._op)(x, pool, strides, self.padding)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, padding=self.padding, strides=self.strides,
                      data_format=self.data_format)
        return config


class MaxPooling2D(BasePooling):
    """Maximum of each window (``pool_size`` 2 is (2, 2)); the gradient goes to the first maximum."""

    rank, _op = 2, "max_pool2d"


class AveragePooling2D(BasePooling):
    """Mean of each window (with "same", over the cells inside the input only)."""

    rank, _op = 2, "average_pool2d"


class MaxPooling1D(BasePooling):
    """Max pooling over (batch, steps, channels)."""

    rank, _op = 1, "max_pool1d"


class AveragePooling1D(BasePooling):
    """Average pooling over (batch, steps, channels)."""

    rank, _op = 1, "average_pool1d"


class BaseGlobalPooling(Layer):
    rank = 2
    _op = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format, f"{type(self).__name__} {self.name!r}")
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        check_rank(self, input_shape, self.rank + 2, "(batch, spatial axes, channels)")
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        return getattr(ops, self._op)(cast_to_layer_dtype(self, inputs), self.keepdims)

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class GlobalAveragePooling2D(BaseGlobalPooling):
    rank, _op = 2, "global_average_pool"


class GlobalMaxPooling2D(BaseGlobalPooling):
    rank, _op = 2, "global_max_pool"


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean over time; with a (batch, time) mask, over the real steps only (as Keras)."""

    rank, _op = 1, "global_average_pool"

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        self.compute_output_shape(inputs.shape)
        x = cast_to_layer_dtype(self, inputs)
        weights = ops.expand_dims(ops.cast(mask, x.dtype), 2)
        return ops.divide(ops.sum(ops.multiply(x, weights), axis=1, keepdims=self.keepdims),
                          ops.sum(weights, axis=1, keepdims=self.keepdims))

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling1D(BaseGlobalPooling):
    rank, _op = 1, "global_max_pool"


MaxPool2D, AvgPool2D, MaxPool1D, AvgPool1D = MaxPooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D
