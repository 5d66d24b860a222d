"""Models: Sequential, functional Model(inputs, outputs) and subclassed Model."""
from .. import registry as _registry
from .cloning import clone_model
from .functional import Functional
from .model import Model
from .sequential import Sequential
from ..saving import load_model

# Models are layers: they load through the layer family (their configs say "keras.layers").
_registry.register_builtins("layers", {"Sequential": Sequential, "Functional": Functional, "Model": Model},
                            kind="layer")
