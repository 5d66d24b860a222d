"""Unrolling explorer: a recurrent layer (SimpleRNN, LSTM, GRU) unrolled through time.

``UnrollingCore`` (NumPy only) computes every step's state, gates and the gradient that
backpropagation through time carries back to it; ``UnrollingWidget`` shows them in Jupyter.
Modules: ``config`` (choices), ``core``, ``render`` (SVG and matplotlib), ``controls``
(ipywidgets) and ``widget``.
"""
from . import config
from .core import UnrollingCore, find_recurrent_layer


def __getattr__(name):
    if name == "UnrollingWidget":
        from .widget import UnrollingWidget
        return UnrollingWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["UnrollingCore", "UnrollingWidget", "config", "find_recurrent_layer"]
