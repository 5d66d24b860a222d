"""Weight constraints with Keras 3 names and defaults.

A constraint is a projection the optimizer applies to a weight right after each update:
``constraint(w)`` takes the raw array (NumPy or CuPy) and returns the projected array of
the same shape and dtype. It is not part of the gradient computation.
"""
from . import backend, registry
from .autodiff import as_array


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _norms(w, axis):
    xp = backend.get_array_module(w)
    return xp.sqrt(xp.sum(w * w, axis=_axis(axis), keepdims=True))


def _rescale(w, norms, desired):
    """``w`` with each vector's norm moved from ``norms`` to ``desired`` (epsilon keeps zeros finite)."""
    return (w * (desired / (backend.epsilon() + norms))).astype(w.dtype, copy=False)


class Constraint(registry.Configurable):
    """Base class: ``__call__(w)`` returns the projected array (the identity here)."""

    def __call__(self, w):
        return w


class MaxNorm(Constraint):
    """Rescales each weight vector whose L2 norm along ``axis`` exceeds ``max_value``.

    For a Dense kernel (in, units), ``axis=0`` constrains the incoming weights of each unit.
    As in Keras, ``epsilon()`` is added to the norm, so vectors already inside the ball shrink
    by a relative 1e-7 (negligible, and it keeps zero vectors finite).
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = as_array(w)
        xp = backend.get_array_module(w)
        norms = _norms(w, self.axis)
        return _rescale(w, norms, xp.clip(norms, 0, self.max_value))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clamps negative weights to zero."""

    def __call__(self, w):
        w = as_array(w)
        return backend.get_array_module(w).maximum(w, 0).astype(w.dtype, copy=False)


class UnitNorm(Constraint):
    """Divides each weight vector along ``axis`` by its L2 norm (plus ``epsilon()``)."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = as_array(w)
        return (w / (backend.epsilon() + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each weight vector's norm into ``[min_value, max_value]``.

    ``rate`` interpolates: 1.0 projects at once, smaller values move the norm only that
    fraction of the way each step: ``norm <- rate * clip(norm) + (1 - rate) * norm``.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = as_array(w)
        xp = backend.get_array_module(w)
        norms = _norms(w, self.axis)
        return _rescale(w, norms, self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras 3 exports the lower-case names as aliases of the classes.
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

ALL_OBJECTS = {cls.__name__: cls for cls in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
ALL_OBJECTS.update({"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm})


registry.register_builtins("constraints", ALL_OBJECTS, kind="constraint", module="keras.constraints",
                           example="max_norm")
serialize, deserialize, get = registry.family_functions("constraints", __name__)
