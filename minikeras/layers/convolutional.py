"""Convolution layers: Conv1D and Conv2D (channels-last, Keras 3 arguments and weight layouts)."""
import numbers

from .. import activations, ops
from ..ops.nn import conv_output_length
from .base import KERNEL_BIAS, Layer, resolve_objects, serialize_objects
from .input_spec import check_rank, incompatible_input
from .core import cast_to_layer_dtype


def normalize_tuple(value, rank, arg, layer):
    """An int or a sequence of ``rank`` positive ints as a tuple (Keras's ``standardize_tuple``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        value = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{layer}: `{arg}` must be an int or a tuple of {rank} ints, got {value!r}.") from None
    if len(value) != rank or any(v <= 0 for v in value):
        raise ValueError(f"{layer}: `{arg}` must be an int or a tuple of {rank} positive ints, got {value!r}.")
    return value


def check_data_format(data_format, layer):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' is supported (inputs shaped "
                         f"(batch, ..., channels)), got data_format={data_format!r}.")
    return "channels_last"


class BaseConv(Layer):
    """Shared logic of Conv1D/Conv2D; ``rank`` is the number of spatial axes."""

    rank = 2
    _paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} {self.name!r}"
        if isinstance(filters, numbers.Integral) and not isinstance(filters, bool):
            filters = int(filters)  # NumPy integers too (scikit-learn's searches draw them)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"{who}: `filters` must be a positive integer, got {filters!r}.")
        if groups != 1:
            raise ValueError(f"{who}: only groups=1 is supported, got groups={groups!r}.")
        self.filters = filters
        self.groups = 1
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = normalize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 cannot be combined with dilation_rate > 1 "
                             f"(got strides={self.strides}, dilation_rate={self.dilation_rate}).")
        self.padding = str(padding).lower()
        if self.padding not in self._paddings:
            raise ValueError(f"{who}: `padding` must be one of {list(self._paddings)}, got {padding!r}.")
        self.data_format = check_data_format(data_format, who)
        self.use_bias = use_bias
        resolve_objects(self, locals(), ("activation",) + KERNEL_BIAS)
        self._fused = activations.fusable_name(self.activation)

    def _who(self):
        return f"{type(self).__name__} {self.name!r}"

    def _check_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        check_rank(self, input_shape, self.rank + 2, f"(batch, {'spatial, ' * self.rank}channels)")
        if input_shape[-1] is None:
            raise ValueError(f"{self._who()} needs a known channel axis, got input shape {input_shape}.")
        self.compute_output_shape(input_shape)  # raises when the kernel does not fit
        return input_shape

    def build(self, input_shape):
        input_shape = self._check_input_shape(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (input_shape[-1], self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def _conv(self, x, activation):
        raise NotImplementedError

    def call(self, inputs):
        in_channels = self.kernel.shape[-2]
        if inputs.ndim != self.rank + 2 or inputs.shape[-1] != in_channels:
            raise incompatible_input(self, f"a rank-{self.rank + 2} input with {in_channels} channels on the "
                                           "last axis", inputs.shape)
        self.compute_output_shape(inputs.shape)
        x = cast_to_layer_dtype(self, inputs)
        if self._fused:
            y = self._conv(x, self._fused)
        else:
            y = self.activation(self._conv(x, "linear"))
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(y))
        return y

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial = []
        for i, n in enumerate(input_shape[1:-1]):
            k, s, d = self.kernel_size[i], self.strides[i], self.dilation_rate[i]
            pad = "valid" if self.padding == "causal" else self.padding
            out = conv_output_length(None if n is None else n + (k - 1) * d * (self.padding == "causal"),
                                     k, s, pad, d)
            if out is not None and out <= 0:
                raise ValueError(f"{self._who()}: the kernel {self.kernel_size} (dilation_rate "
                                 f"{self.dilation_rate}) is larger than the input of shape {input_shape} with "
                                 f"padding={self.padding!r}; the output size would be {out}.")
            spatial.append(out)
        return (input_shape[0],) + tuple(spatial) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, data_format=self.data_format, dilation_rate=self.dilation_rate,
                      groups=self.groups, use_bias=self.use_bias,
                      **serialize_objects(self, ("activation",) + KERNEL_BIAS))
        return config


class Conv2D(BaseConv):
    """2D convolution over (batch, height, width, channels); kernel (kh, kw, in, filters)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation,
                         use_bias=use_bias, **kwargs)

    def _conv(self, x, activation):
        return ops.conv2d(x, self.kernel, self.bias, self.strides, self.padding,
                                   self.dilation_rate, activation)


class Conv1D(BaseConv):
    """1D convolution over (batch, steps, channels); kernel (k, in, filters); padding may be "causal"."""

    rank = 1
    _paddings = ("valid", "same", "causal")

    def _conv(self, x, activation):
        return ops.conv1d(x, self.kernel, self.bias, self.strides[0], self.padding,
                                   self.dilation_rate[0], activation)


Convolution2D = Conv2D
Convolution1D = Conv1D
