"""Embedding: integer token ids -> rows of a trainable (input_dim, output_dim) table."""
from .. import ops
from .base import Layer, resolve_objects, serialize_objects

_OBJECTS = ("embeddings_initializer", "embeddings_regularizer", "embeddings_constraint")


class Embedding(Layer):
    """Turns token ids of shape (batch, ...) into vectors of shape (batch, ..., output_dim).

    With ``mask_zero=True`` id 0 is padding: the output carries the mask ``ids != 0``, so
    recurrent layers skip those steps and the loss and metrics leave them out (Keras 3).
    """

    _accepted_kwargs = Layer._accepted_kwargs + ("sparse", "lora_rank")

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, **kwargs):
        kwargs.pop("sparse", None)
        kwargs.pop("lora_rank", None)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding {self.name!r}: `{arg}` must be a positive integer, got {value!r}.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        resolve_objects(self, locals(), _OBJECTS)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length  # Keras 2 argument; shapes come from the data

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        self.built = True

    def call(self, inputs):
        ids = inputs.value
        if ids.dtype.kind == "f":
            ids = ids.astype("int64")
        elif ids.dtype.kind not in "iu":
            raise ValueError(f"Embedding {self.name!r} expects integer token ids, got dtype {ids.dtype}.")
        if ids.size:
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.input_dim:
                raise ValueError(f"Embedding {self.name!r}: token ids must lie in [0, {self.input_dim}), "
                                 f"got values from {low} to {high} in inputs of shape {tuple(ids.shape)}.")
        return ops.take(self.embeddings, ids, axis=0)  # repeated ids add up their gradients

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim,
                      **serialize_objects(self, _OBJECTS), mask_zero=self.mask_zero)
        return config
