"""Core layers: Dense, Activation, Flatten, Dropout, Reshape, Permute, Lambda."""
import inspect
import numbers
import math

from .. import activations, backend, ops, registry
from .base import KERNEL_BIAS, Layer, resolve_objects, serialize_objects
from .input_spec import incompatible_input


def cast_to_layer_dtype(layer, x):
    """Inputs whose dtype differs from the layer's (uint8 images, float64 arrays) are cast."""
    if x.value.dtype != layer.dtype:
        return ops.cast(x, layer.dtype)
    return x


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis; kernel (in, units), bias (units,)."""

    _supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, numbers.Integral) and not isinstance(units, bool):
            units = int(units)  # NumPy integers too (scikit-learn's searches draw them)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense {self.name!r}: `units` must be a positive integer, got {units!r}.")
        self.units = units
        self.use_bias = use_bias
        resolve_objects(self, locals(), ("activation",) + KERNEL_BIAS)
        self._fused = activations.fusable_name(self.activation)

    def build(self, input_shape):
        in_dim = input_shape[-1] if input_shape else None
        if in_dim is None:
            raise ValueError(f"Dense {self.name!r} needs a known last input dimension, got input shape "
                             f"{tuple(input_shape)}.")
        self.kernel = self.add_weight(shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        in_dim = self.kernel.value.shape[0]
        if not inputs.value.ndim or inputs.value.shape[-1] != in_dim:
            raise incompatible_input(self, f"axis -1 of the input to have value {in_dim}", inputs.shape)
        x = cast_to_layer_dtype(self, inputs)
        if self._fused:
            y = ops.dense(x, self.kernel, self.bias, self._fused)
        else:
            y = self.activation(ops.dense(x, self.kernel, self.bias))
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(y))
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, use_bias=self.use_bias,
                      **serialize_objects(self, ("activation",) + KERNEL_BIAS))
        return config


class Activation(Layer):
    """Applies an activation function as a layer of its own (e.g. after BatchNormalization)."""

    _supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Flatten(Layer):
    """Flattens every axis but the batch axis: (batch, 28, 28) -> (batch, 784)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], size)


class Dropout(Layer):
    """Inverted dropout: active only when called with ``training=True`` (as fit does)."""

    _supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout {self.name!r}: `rate` must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        # A seeded Dropout draws its own reproducible masks; otherwise the global seed drives them.
        self._generator = None if seed is None else backend.np.random.default_rng(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return ops.dropout(inputs, self.rate, self._noise_shape_for(inputs), self._generator)

    def _noise_shape_for(self, inputs):
        """The mask's shape for these inputs: ``noise_shape`` with each None taken from the
        inputs (None when the mask is as large as the inputs)."""
        if self.noise_shape is None:
            return None
        return tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config


class Reshape(Layer):
    """Reshapes everything but the batch axis to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def _resolve(self, input_shape):
        known = input_shape[1:]
        if any(d is None for d in known):
            return tuple(self.target_shape)
        size = int(math.prod(known))
        target = list(self.target_shape)
        if target.count(-1) > 1:
            raise ValueError(f"Reshape {self.name!r}: at most one -1 is allowed in target_shape {self.target_shape}.")
        fixed = int(math.prod(d for d in target if d != -1))
        if -1 in target:
            if fixed == 0 or size % fixed:
                raise ValueError(f"Reshape {self.name!r}: cannot reshape input of shape {tuple(input_shape)} "
                                 f"into target_shape {self.target_shape}.")
            target[target.index(-1)] = size // fixed
        elif fixed != size:
            raise ValueError(f"Reshape {self.name!r}: input of shape {tuple(input_shape)} has {size} values per "
                             f"sample, target_shape {self.target_shape} needs {fixed}.")
        return tuple(target)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Permute(Layer):
    """Permutes the non-batch axes; ``dims`` counts from 1 as in Keras."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute {self.name!r}: `dims` must be a permutation of 1..{len(self.dims)}, "
                             f"got {self.dims}.")

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class Lambda(Layer):
    """Wraps a function of tensors as a layer (not saved with the model: pass it back via custom_objects).

    ``mask``, as in Keras: None (the layer drops masks), a function ``f(inputs, mask)`` giving the
    output mask, or a fixed mask; a function that takes ``mask`` receives the input's mask.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}
        self._output_shape = output_shape
        self.mask = mask
        self.supports_masking = mask is not None
        try:
            self._function_takes_mask = "mask" in inspect.signature(function).parameters
        except (TypeError, ValueError):
            self._function_takes_mask = False

    def call(self, inputs, mask=None):
        if self._function_takes_mask:
            return self.function(inputs, mask=mask, **self.arguments)
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def get_config(self):
        """The function is saved by name only (never its code): reloading finds it again through
        registration or ``custom_objects``."""
        config = super().get_config()
        config.update(function=registry.serialize_callable(self.function), arguments=self.arguments,
                      output_shape=self._output_shape)
        if callable(self.mask):
            config["mask"] = registry.serialize_callable(self.mask)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("function", "mask"):
            if isinstance(config.get(key), (str, dict)):
                config[key] = registry.deserialize_callable(
                    config[key], custom_objects, kind=f"Lambda layer {config.get('name')!r}")
        return cls(**config)
