"""Wrappers: layers that apply another layer in a new way (TimeDistributed)."""
from .. import ops, registry
from .base import Layer


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step of a (batch, time, ...) input with shared weights.

    The time axis is folded into the batch axis, (b, t, ...) -> (b*t, ...), so the inner layer
    runs once, vectorised, and its output is unfolded back to (b, t, ...). The wrapper owns no
    weights of its own: its parameter count is the inner layer's. A mask passes through
    unchanged, as in Keras, and an inner layer that takes a mask gets it folded the same way.
    """

    _supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a Layer instance, got {layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer

    def _inner_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed {self.name!r} needs an input of rank >= 3 (batch, time, ...), "
                             f"got input shape {tuple(input_shape)}.")
        return (None,) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._inner_shape(input_shape))
        self.built = True

    def call(self, inputs, training=None, mask=None):
        shape = inputs.shape
        self._inner_shape(shape)
        batch, steps = shape[0], shape[1]
        folded = ops.reshape(inputs, (batch * steps,) + tuple(shape[2:]))
        kwargs = {"training": training} if self.layer._call_accepts_training else {}
        if mask is not None and self.layer._call_accepts_mask:  # e.g. an RNN over an inner time axis
            mask_shape = tuple(mask.shape)
            if len(mask_shape) < 2 or mask_shape[:2] != (batch, steps):
                raise ValueError(f"TimeDistributed {self.name!r}: the mask of shape {mask_shape} does not fit "
                                 f"the input of shape {tuple(shape)}; it must start with (batch, time) = "
                                 f"({batch}, {steps}).")
            kwargs["mask"] = ops.reshape(mask, (batch * steps,) + mask_shape[2:])
        out = self.layer(folded, **kwargs)
        return ops.reshape(out, (batch, steps) + tuple(out.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def get_config(self):
        config = super().get_config()
        config["layer"] = registry.serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = registry.deserialize(config.pop("layer"), custom_objects, family="layers")
        return cls(layer, **config)
