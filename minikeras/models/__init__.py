"""Models: Sequential, functional Model(inputs, outputs) and subclassed Model."""
from .model import Model
from .sequential import Sequential
from ..saving import load_model


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialised weights."""
    from .. import saving
    return saving.clone_model(model, input_tensors=input_tensors, clone_function=clone_function)
