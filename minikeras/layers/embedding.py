"""Embedding: integer token ids -> rows of a trainable (input_dim, output_dim) table."""
from .. import constraints, initializers, regularizers
from ..autodiff import make_node
from ..backend import get_array_module
from .base import Layer


def embedding_lookup(embeddings, ids):
    """``embeddings[ids]`` whose gradient scatter-adds into the table (repeated ids accumulate)."""
    table = embeddings.value
    out = table[ids]

    def backward(g, needs):
        xp = get_array_module(g)
        full = xp.zeros_like(table)
        if hasattr(xp, "add") and hasattr(xp.add, "at"):
            xp.add.at(full, ids.reshape(-1), g.reshape(-1, table.shape[1]))
        else:  # older CuPy
            import cupyx
            cupyx.scatter_add(full, ids.reshape(-1), g.reshape(-1, table.shape[1]))
        return (full,)
    return make_node(out, (embeddings,), backward)


class Embedding(Layer):
    """Turns token ids of shape (batch, ...) into vectors of shape (batch, ..., output_dim).

    ``mask_zero`` is accepted and stored, but minikeras does not propagate masks: padded
    steps are processed like any other step (pad at the start, "pre", so their effect fades).
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
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
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
        return embedding_lookup(self.embeddings, ids)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim,
                      embeddings_initializer=initializers.serialize(self.embeddings_initializer),
                      embeddings_regularizer=regularizers.serialize(self.embeddings_regularizer),
                      embeddings_constraint=constraints.serialize(self.embeddings_constraint),
                      mask_zero=self.mask_zero)
        return config
