"""minikeras: a small, readable Keras-compatible deep-learning library on NumPy (and CuPy).

``import minikeras as keras`` and write Keras code: layers, Sequential/functional/subclassed
models, compile/fit/evaluate/predict, GradientTape, optimizers, losses, metrics, callbacks
and datasets, all running on kernels you can read.
"""
from . import backend
from . import (activations, callbacks, constraints, datasets, initializers, layers, losses, metrics, models,
               ops, optimizers, preprocessing, regularizers, saving, utils)
from .autodiff import GradientTape, Tensor, no_grad, value_and_grad
from .layers import Input, Layer
from .models import Model, Sequential, clone_model
from .variables import Variable

from .version import __version__


def __getattr__(name):
    # ``keras.wrappers`` (needs scikit-learn) and ``keras.tuner`` load on first use, so that
    # ``import minikeras`` stays fast and needs neither.
    if name in ("tuner", "wrappers"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
