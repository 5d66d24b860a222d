"""``Variable``: a named, mutable tensor that holds state (weights, optimizer slots, metric totals)."""
from . import backend, registry
from .autodiff import Tensor

_counter = {"n": 0}


class Variable(Tensor):
    """A mutable tensor. Trainable variables are the leaves gradients are taken with respect to.

    ``initializer`` is either an initial value (array-like) or an initializer (name, object
    or callable ``f(shape, dtype)``) together with ``shape``.
    """

    __slots__ = ("name", "_trainable", "constraint", "path")

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None,
                 constraint=None, **kwargs):
        if dtype is None:  # an initial array keeps its own dtype, as in Keras
            kind = getattr(getattr(initializer, "dtype", None), "kind", None)
            dtype = initializer.dtype if kind in ("f", "i", "u", "b") and not isinstance(initializer, Tensor) \
                else backend.floatx()
        if callable(initializer) or isinstance(initializer, str):
            if shape is None:
                raise ValueError(f"Variable {name!r}: an initializer needs a `shape`.")
            # (looked up in the registry: the initializers sit above this level)
            value = registry.get("initializers", initializer)(tuple(shape), dtype=dtype)
        else:
            value = initializer.value if isinstance(initializer, Tensor) else initializer
            value = backend.convert_to_array(value, dtype=dtype)
            if shape is not None and tuple(value.shape) != tuple(shape):
                raise ValueError(f"Variable {name!r}: initial value has shape {tuple(value.shape)}, "
                                 f"expected {tuple(shape)}.")
        value = backend.xp().asarray(value)
        super().__init__(value, requires_grad=bool(trainable))
        if name is None:
            _counter["n"] += 1
            name = f"variable_{_counter['n']}" if _counter["n"] > 1 else "variable"
        self.name = name
        self.path = name
        self._trainable = bool(trainable)
        self.constraint = constraint

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self.requires_grad = bool(value)

    def assign(self, value):
        """Replace the value; the shape must match (nothing is broadcast)."""
        new = backend.get_array_module(self.value).asarray(
            value.value if isinstance(value, Tensor) else value, dtype=self.value.dtype)
        if new.shape != self.value.shape:
            raise ValueError(f"Cannot assign a value of shape {tuple(new.shape)} to variable "
                             f"{self.path!r} of shape {tuple(self.value.shape)}.")
        self.value = new.copy() if new is value else new
        return self

    def assign_add(self, delta):
        return self.assign(self.value + (delta.value if isinstance(delta, Tensor) else delta))

    def assign_sub(self, delta):
        return self.assign(self.value - (delta.value if isinstance(delta, Tensor) else delta))

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"trainable={self.trainable}, value={self.numpy()!r}>")
