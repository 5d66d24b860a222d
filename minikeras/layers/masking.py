"""Masking: marks the time steps whose features all equal ``mask_value`` as padding.

Recurrent layers after it skip those steps (the state is carried over), and the losses and
metrics leave them out, exactly as in Keras 3. Use it for real-valued sequences padded with
``pad_sequences(..., dtype="float32")``; token ids use ``Embedding(mask_zero=True)`` instead.
"""
from .. import ops
from .base import Layer, set_keras_mask


def _keep(inputs, mask_value):
    """True at the steps (batch, time, ...) where some feature differs from ``mask_value``."""
    different = ops.not_equal(inputs, mask_value).value
    return different.any(axis=-1)


class Masking(Layer):
    """``Masking(mask_value=0.0)``: zeroes the masked steps and attaches the (batch, time) mask."""

    _supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return ops.convert_to_tensor(_keep(inputs, self.mask_value))

    def call(self, inputs):
        keep = _keep(inputs, self.mask_value)
        outputs = ops.where(keep[..., None], inputs, ops.zeros_like(inputs))
        return set_keras_mask(outputs, keep)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
