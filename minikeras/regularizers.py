"""Weight regularizers with Keras 3 names and defaults.

A regularizer is called on a weight (Variable, Tensor or array) and returns a scalar
Tensor built from ``minikeras.ops``, so the penalty is differentiable and the layer can add
it to the training loss (and only the training loss: that is why a regularized model's
training loss sits above its test loss).
"""
import math
import numbers

from . import backend, ops, registry


def _penalty_factor(value, name):
    """Keras accepts only finite, non-negative numbers as penalty factors."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float, got {name}={value!r}.")
    return float(value)


class Regularizer(registry.Configurable):
    """Base class: subclasses implement ``__call__(x)`` returning a scalar Tensor."""

    def __call__(self, x):
        return ops.zeros((), dtype=ops.convert_to_tensor(x).dtype)


class L1(Regularizer):
    """``l1 * sum(|x|)``: pushes weights to exactly zero (sparse weights)."""

    def __init__(self, l1=0.01):
        self.l1 = _penalty_factor(l1, "l1")

    def __call__(self, x):
        return ops.multiply(ops.sum(ops.abs(ops.convert_to_tensor(x))), self.l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)``: weight decay, keeps weights small."""

    def __init__(self, l2=0.01):
        self.l2 = _penalty_factor(l2, "l2")

    def __call__(self, x):
        return ops.multiply(ops.sum(ops.square(ops.convert_to_tensor(x))), self.l2)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``; both factors default to 0 as in Keras 3."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _penalty_factor(l1, "l1")
        self.l2 = _penalty_factor(l2, "l2")

    def __call__(self, x):
        x = ops.convert_to_tensor(x)
        total = None
        if self.l1:
            total = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            term = ops.multiply(ops.sum(ops.square(x)), self.l2)
            total = term if total is None else ops.add(total, term)
        return ops.zeros((), dtype=x.dtype) if total is None else total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalises non-orthogonal rows (or columns) of a 2-D kernel.

    The rows are L2-normalised, and the penalty is ``factor`` times the mean absolute
    cosine similarity over all distinct pairs of rows (``mode="columns"``: of columns).
    """

    MODES = ("rows", "columns")

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _penalty_factor(factor, "factor")
        if mode not in self.MODES:
            raise ValueError(f"Invalid value for argument mode: {mode!r}; valid modes are {list(self.MODES)}.")
        self.mode = mode

    def __call__(self, x):
        x = ops.convert_to_tensor(x)
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer needs a rank-2 weight, got shape {x.shape}.")
        if self.mode == "columns":
            x = ops.transpose(x)
        norms = ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=1, keepdims=True), 1e-12))
        unit = ops.divide(x, norms)
        gram = ops.matmul(unit, ops.transpose(unit))
        size = x.shape[0]
        xp = backend.get_array_module(x.value)
        off_diagonal = 1 - xp.eye(size, dtype=x.value.dtype)
        pairs = size * (size - 1) / 2.0
        total = ops.sum(ops.abs(ops.multiply(gram, ops.convert_to_tensor(off_diagonal))))
        return ops.multiply(total, self.factor * 0.5 / pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras 3 exports the lower-case names as aliases of the classes.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS = {cls.__name__: cls for cls in (L1, L2, L1L2, OrthogonalRegularizer)}
ALL_OBJECTS.update({"l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": L1L2,
                    "orthogonal_regularizer": OrthogonalRegularizer})


registry.register_builtins("regularizers", ALL_OBJECTS, kind="regularizer", module="keras.regularizers",
                           example="l2")
serialize, deserialize, get = registry.family_functions("regularizers", __name__)
