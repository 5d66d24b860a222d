"""``clone_model``: the same architecture with fresh, independent weights."""
from .. import layers as layers_module
from ..layers.base import Layer
from ..tree import flatten
from .functional import Functional
from .functional_config import functional_config, functional_from_config
from .sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """A new model with ``model``'s architecture and freshly initialised, independent weights.

    Works for Sequential and functional models (``clone_function(layer)`` may replace the
    default per-layer copy) and for subclassed models whose ``get_config`` describes them.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"clone_model expects a Model, got {type(model).__name__}.")

    def default_clone(layer):
        return layers_module.deserialize(layers_module.serialize(layer))
    clone = clone_function or default_clone

    if isinstance(model, Sequential):
        new = Sequential(name=model.name, trainable=model.trainable)
        if input_tensors is not None:
            tensors = flatten(input_tensors)
            if len(tensors) != 1:
                raise ValueError(f"clone_model: Sequential model {model.name!r} takes one input, "
                                 f"got {len(tensors)} input_tensors.")
            new.add(tensors[0], rebuild=False)
        elif model._input_batch_shape is not None:
            new._input_batch_shape = tuple(model._input_batch_shape)
        for layer in model.layers:
            new.add(clone(layer), rebuild=False)
        new._maybe_rebuild()
        return new
    if isinstance(model, Functional):
        originals = {layer.name: layer for layer in model._layers}
        config = functional_config(model)
        return functional_from_config(config, cls=type(model),
                                      make_layer=lambda lc: clone(originals[lc["name"]]),
                                      input_tensors=input_tensors)
    if input_tensors is not None:
        raise ValueError(f"clone_model: `input_tensors` only works with Sequential and functional "
                         f"models, not with subclassed model {model.name!r}.")
    return clone(model)
