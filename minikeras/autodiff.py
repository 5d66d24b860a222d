"""A small reverse-mode automatic differentiation engine.

A ``Tensor`` wraps an array. When an op is applied to tensors of which at least one
requires a gradient, the result remembers its parents and a backward closure. Asking
for gradients walks that graph once in reverse topological order (iteratively, so long
graphs never hit Python's recursion limit) and accumulates gradients for nodes that are
used more than once. ``GradientTape`` is the Keras/TensorFlow-style way to ask.
"""
import contextlib
from operator import attrgetter

from . import backend
from .tree import flatten, pack_sequence_as

_recording = [True]
_requires_grad = attrgetter("requires_grad")


class Tensor:
    """An array plus, when it was computed from something differentiable, how to differentiate it."""

    __slots__ = ("value", "requires_grad", "_parents", "_backward", "_needs", "_keras_history", "__weakref__")
    __array_priority__ = 100  # so numpy_array + tensor defers to Tensor.__radd__

    def __init__(self, value, requires_grad=False):
        self.value = value
        self.requires_grad = requires_grad
        self._parents = ()
        self._backward = None
        self._needs = ()
        self._keras_history = None

    # -- array-like surface -------------------------------------------------
    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def dtype(self):
        return self.value.dtype.name

    @property
    def ndim(self):
        return self.value.ndim

    def numpy(self):
        return backend.to_numpy(self.value)

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self.value)
        return arr.astype(dtype) if dtype is not None else arr

    def __len__(self):
        return len(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"<Tensor shape={self.shape} dtype={self.dtype}{grad}\n{self.numpy()!r}>"

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__
    # Arithmetic operators are installed by minikeras.ops (which builds on this module).


def is_tensor(x):
    return isinstance(x, Tensor)


def as_array(x):
    """The raw array behind a Tensor, or the argument unchanged."""
    return x.value if isinstance(x, Tensor) else x


def as_tensor(x, dtype=None):
    """``x`` as a Tensor (arrays and Python numbers are wrapped as constants)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(backend.convert_to_array(x, dtype))


def is_recording():
    return _recording[0]


@contextlib.contextmanager
def no_grad():
    """Run ops without building a graph (used by predict and evaluate)."""
    previous = _recording[0]
    _recording[0] = False
    try:
        yield
    finally:
        _recording[0] = previous


def make_node(value, parents, backward):
    """Wrap an op's result; record ``backward(grad, needs) -> grads per parent`` when useful.

    ``needs[i]`` tells the closure whether parent ``i`` wants a gradient, so kernels can
    skip work (e.g. the input gradient of the first Dense layer).
    """
    out = Tensor(value)
    if _recording[0]:
        needs = tuple(map(_requires_grad, parents))  # (no Python frame, unlike a comprehension)
        if True in needs:
            out.requires_grad = True
            out._parents = parents
            out._backward = backward
            out._needs = needs
    return out


def _topological_order(root):
    """Op nodes reachable from ``root`` through differentiable edges, parents before children.

    Leaves (variables, watched tensors: no ``_backward``) only receive gradients and never
    pass them on, so they are left out of the order; that halves the walk of a Dense stack.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent._backward is not None and parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


def gradients(target, sources, output_gradient=None):
    """Raw-array gradients of ``target`` with respect to each tensor in ``sources``.

    Sources the target does not depend on get ``None``. ``output_gradient`` is the
    upstream gradient (ones by default, i.e. the gradient of ``sum(target)``).
    """
    value = target.value
    xp = backend.get_array_module(value)
    if output_gradient is None:
        # A scalar loss (the training step) gets its seed without ``ones_like``'s overhead.
        seed = xp.array(1, dtype=value.dtype) if value.ndim == 0 else xp.ones_like(value)
    else:
        seed = xp.asarray(as_array(output_gradient), dtype=value.dtype)
        if seed.shape != value.shape:
            raise ValueError(f"output_gradient has shape {seed.shape} but the target has shape "
                             f"{value.shape}.")
    if not target.requires_grad:
        return [None for _ in sources]
    if target._backward is None:  # the target is itself a source (a leaf)
        return [seed if s is target else None for s in sources]
    wanted = set(map(id, sources))
    grads = {id(target): seed}
    for node in reversed(_topological_order(target)):
        key = id(node)
        g = grads.get(key) if key in wanted else grads.pop(key, None)
        if g is None:
            continue
        parent_grads = node._backward(g, node._needs)
        for parent, pg in zip(node._parents, parent_grads):
            if pg is None:
                continue
            pkey = id(parent)
            previous = grads.get(pkey)
            grads[pkey] = pg if previous is None else previous + pg
    return list(map(grads.get, map(id, sources)))


class GradientTape:
    """Context manager that asks for gradients, as ``tf.GradientTape`` does.

    minikeras records every op on tensors that require gradients (trainable variables and
    watched tensors), so the tape only has to remember what was watched and to run the
    backward pass when ``gradient`` is called.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self._watched = []
        self._used = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def watch(self, tensor):
        for t in flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch expects tensors or variables, got {type(t).__name__}; "
                                "convert arrays with minikeras.ops.convert_to_tensor first.")
            t.requires_grad = True
            self._watched.append(t)

    def watched_variables(self):
        return list(self._watched)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only compute gradients once; "
                               "create it with GradientTape(persistent=True) to call gradient() again.")
        self._used = True
        flat_sources = flatten(sources)
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise TypeError(f"GradientTape.gradient sources must be variables or tensors, got {type(s).__name__}.")
        targets = flatten(target)
        totals = None
        out_grads = flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        for t, og in zip(targets, out_grads):
            t = as_tensor(t)
            gs = gradients(t, flat_sources, og)
            totals = gs if totals is None else [a if b is None else (b if a is None else a + b)
                                                 for a, b in zip(totals, gs)]
        result = []
        for s, g in zip(flat_sources, totals):
            if g is None and unconnected_gradients == "zero":
                g = backend.get_array_module(s.value).zeros_like(s.value)
            result.append(None if g is None else Tensor(g))
        return pack_sequence_as(sources, result)
