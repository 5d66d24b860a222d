"""Interactive widgets (ipywidgets + matplotlib) that train real minikeras models.

Imports are lazy so ``import minikeras.widgets`` stays light: ``Playground`` (a TensorFlow
Playground in Jupyter), ``PlaygroundCore`` (its browser-free training core) and
``PlaygroundConfig`` (its settings), and the chapter-1 perceptron stepper
``PerceptronWidget`` with its core ``PerceptronTrainer``. Each is a package of the same
shape: config, core, render, controls, widget.
"""
import importlib

_EXPORTS = {"Playground": ".playground", "PlaygroundCore": ".playground", "PlaygroundConfig": ".playground",
            "PerceptronWidget": ".perceptron", "PerceptronTrainer": ".perceptron"}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
