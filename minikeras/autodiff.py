"""A small reverse-mode automatic differentiation engine, and the one place kernels meet it.

A ``Tensor`` wraps an array. ``function(forward, backward)`` turns a pure kernel pair into a
differentiable op: when the op is applied to tensors of which at least one requires a
gradient, each result remembers its inputs, the kernel's backward and the kernel's cache.
An op may return several arrays (an LSTM's sequence, last state and last carry): they become
several tensors of one node, and its backward receives one gradient per output.

Asking for gradients walks that graph once in reverse topological order (iteratively, so long
graphs never hit Python's recursion limit) and accumulates gradients for nodes that are used
more than once. ``GradientTape`` is the Keras/TensorFlow-style way to ask.

Two flags are context-local (``contextvars``), so a thread that predicts never switches off
gradient recording in a thread that trains: whether ops record (``no_grad`` switches it off)
and the ``training`` value that the enclosing layer call was given.
"""
import contextvars
import functools
from operator import attrgetter

from . import backend
from .tree import flatten, map_structure, pack_sequence_as

_recording = contextvars.ContextVar("minikeras_recording", default=True)
_training = contextvars.ContextVar("minikeras_training", default=None)
_value_of = attrgetter("value")
_requires_grad = attrgetter("requires_grad")


class Tensor:
    """An array plus, when it was computed by a differentiable op, how to differentiate it.

    Graph fields (set by ``function`` only): ``_parents`` the op's positional inputs,
    ``_needs`` which of them want a gradient, ``_backward``/``_cache`` the kernel's backward
    and what its forward kept. An output of a several-output op has the op's hidden node as
    its one parent, ``_backward = ROUTE`` and its position in ``_index``. ``_keras_mask``: the
    time-step mask a layer attached (Keras's attribute of the same name), None without one.
    """

    __slots__ = ("value", "requires_grad", "_parents", "_backward", "_cache", "_needs", "_index",
                 "_keras_history", "_keras_mask", "_grad", "__weakref__")
    __array_priority__ = 100  # so numpy_array + tensor defers to Tensor.__radd__

    def __init__(self, value, requires_grad=False):
        self.value = value
        self.requires_grad = requires_grad
        self._parents = ()
        self._backward = None
        self._keras_history = None
        self._keras_mask = None

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

    def __format__(self, spec):
        # f"{metric.result():.2f}": a 0-d tensor formats as its number (as a torch scalar does).
        return format(self.value.item() if self.value.ndim == 0 else self.numpy(), spec)

    __hash__ = object.__hash__
    # Arithmetic operators are installed by minikeras.ops (which builds on this module).

    # -- the PyTorch-style bridge: ``loss.backward()`` fills ``.grad`` --------------------
    @property
    def grad(self):
        """The gradient ``backward()`` accumulated here (a Tensor), or None."""
        try:
            return self._grad
        except AttributeError:  # (never set: no cost for the tensors that never get one)
            return None

    @grad.setter
    def grad(self, value):
        self._grad = value

    def backward(self, gradient=None):
        """Add the gradient of this tensor to ``.grad`` of every leaf it depends on (the
        variables and watched tensors), as PyTorch's ``backward`` does: the gradients
        accumulate over calls until they are cleared (``model.zero_grad()`` or ``v.grad = None``).
        A non-scalar tensor needs ``gradient``, the upstream gradient of its shape."""
        if gradient is None and self.value.ndim != 0:
            raise RuntimeError(f"backward() without `gradient` needs a scalar tensor; this one has shape "
                               f"{self.shape}. Pass gradient= (an array of that shape) or reduce it first.")
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not depend on any variable or watched tensor, "
                               "so there is nothing to differentiate (was it computed under no_grad()?).")
        leaves = _leaves_of(self)
        for leaf, g in zip(leaves, gradients(self, leaves, gradient)):
            if g is not None:
                old = leaf.grad
                leaf.grad = Tensor(g if old is None else old.value + g)


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


# ---------------------------------------------------------------- context-local flags


def is_recording():
    """False inside ``no_grad`` (in this thread or task only)."""
    return _recording.get()


class no_grad:
    """Run ops without building a graph: ``with no_grad(): ...`` or ``@no_grad()`` on a function.

    predict, evaluate and every metric update use it; the switch is local to the current
    thread (or asyncio task), so other threads keep recording.
    """

    __slots__ = ("_token",)

    def __enter__(self):
        self._token = _recording.set(False)
        return self

    def __exit__(self, *exc):
        _recording.reset(self._token)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def without_gradients(*args, **kwargs):
            if not _recording.get():
                return fn(*args, **kwargs)
            token = _recording.set(False)
            try:
                return fn(*args, **kwargs)
            finally:
                _recording.reset(token)
        without_gradients.__wrapped_no_grad__ = True
        return without_gradients


# ``current_training_flag()``: the ``training`` value the enclosing layer call was given (None
# outside any call). ``token = enter_training(flag)`` ... ``exit_training(token)``: what
# ``Layer.__call__`` does around ``call`` so that nested layers see the flag. (Bound methods
# of the context variable: every layer call uses them, so they stay cheap.)
current_training_flag = _training.get
enter_training = _training.set
exit_training = _training.reset


# ---------------------------------------------------------------- the binding point


ROUTE = "route"  # ``_backward`` of one output of a several-output node


class Function:
    """A differentiable op made from a pure kernel pair (see the module docstring).

    ``forward(*arrays, **attrs) -> (out, cache)``, where ``out`` is an array or a tuple of
    arrays; ``backward(grad, cache, needs) -> one gradient (or None) per positional input``,
    where ``grad`` is the output's gradient (a tuple with one entry per output, None where no
    gradient arrived, for a several-output op) and ``needs[i]`` says whether input ``i`` wants
    one, so a kernel can skip work. Calling the op with tensors (or None, or constant arrays)
    as positional inputs and attributes as keywords returns a Tensor (a tuple of them).
    """

    __slots__ = ("forward", "backward", "__name__")

    def __init__(self, forward, backward, name=None):
        self.forward = forward
        self.backward = backward
        self.__name__ = name or getattr(forward, "__name__", "op").replace("_forward", "")

    def __repr__(self):
        return f"<Function {self.__name__}>"

    def __call__(self, *inputs, **attrs):
        # (Unrolled for up to three inputs: this runs for every op, so it is written for speed.)
        try:
            if len(inputs) == 1:
                x = inputs[0]
                values, needs = (x.value,), (x.requires_grad,)
            elif len(inputs) == 2:
                x, y = inputs
                values, needs = (x.value, y.value), (x.requires_grad, y.requires_grad)
            elif len(inputs) == 3:
                x, y, z = inputs
                values, needs = (x.value, y.value, z.value), (x.requires_grad, y.requires_grad, z.requires_grad)
            else:
                values, needs = tuple(map(_value_of, inputs)), tuple(map(_requires_grad, inputs))
        except AttributeError:  # None or constant arrays among the inputs
            values = tuple(t.value if isinstance(t, Tensor) else t for t in inputs)
            needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
        out, cache = self.forward(*values, **attrs)
        if True in needs and _recording.get():
            node = Tensor(out, True)
            node._parents = inputs
            node._needs = needs
            node._backward = self.backward
            node._cache = cache
            return node if out.__class__ is not tuple else _outputs_of(node)
        if out.__class__ is tuple:
            return tuple(map(Tensor, out))
        return Tensor(out)


def function(forward, backward, name=None):
    """``Function(forward, backward)``: bind a kernel pair once, call it like any op."""
    return Function(forward, backward, name)


def _outputs_of(node):
    """The output tensors of a several-output node; the node itself stays hidden and each
    output routes its gradient to it."""
    outputs = []
    parents = (node,)
    out = node.value
    for i, value in enumerate(out):
        t = Tensor(value, True)
        t._parents = parents
        t._needs = (True,)
        t._backward = ROUTE
        t._index = i
        outputs.append(t)
    return tuple(outputs)


# ---------------------------------------------------------------- gradients


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
        for parent, need in zip(node._parents, node._needs):
            if need and parent._backward is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _leaves_of(root):
    """The leaves (variables, watched tensors) ``root`` reaches through differentiable edges."""
    if root._backward is None:
        return [root]
    leaves, seen, stack = [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        for parent, need in zip(node._parents, node._needs):
            if need and id(parent) not in seen:
                seen.add(id(parent))
                (stack if parent._backward is not None else leaves).append(parent)
    return leaves


def rebind_leaves(roots, substitutes, stop_at=()):
    """Re-point the graph behind ``roots``: every edge into a leaf whose ``id`` is a key of
    ``substitutes`` goes to ``substitutes[id(leaf)]`` instead; the walk does not enter
    ``stop_at`` (tensors that existed before, whose graphs must stay as they are).

    ``Model.stateless_call`` runs the layers on the model's own variables (holding the given
    values) and then hands the recorded graph to the tensors it was given, so gradients reach
    them (``value_and_grad``), not the variables.
    """
    seen = {id(t) for t in stop_at}
    stack = [t for t in roots if isinstance(t, Tensor) and t._backward is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        parents = node._parents
        if any(id(p) in substitutes for p in parents):
            new = tuple(substitutes.get(id(p), p) for p in parents)
            node._needs = tuple(need and (q is p or q.requires_grad) for p, q, need in zip(parents, new, node._needs))
            node._parents = parents = new
        for parent, need in zip(parents, node._needs):
            if need and parent._backward is not None:
                stack.append(parent)


def _zeros_like(value):
    return backend.get_array_module(value).zeros_like(value)


def value_and_grad(fn, argnums=0, has_aux=False):
    """JAX's ``value_and_grad`` on this engine: ``value_and_grad(f)(x, ...)`` returns
    ``(f(x, ...), df/dx)`` with the gradient shaped like ``x`` (a list of arrays gives a list).

    The arguments at ``argnums`` (an int or a tuple of them) are wrapped in fresh leaves that
    require a gradient, so ``f`` may be given plain arrays, as in JAX; ``f`` must return a
    scalar, or ``(scalar, aux)`` with ``has_aux=True``, which returns ``((value, aux), grads)``.
    Returned values carry no graph. A leaf the value does not depend on gets zeros (as in JAX).
    """
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    @functools.wraps(fn)
    def value_and_gradient(*args, **kwargs):
        if max(nums) >= len(args):
            raise TypeError(f"value_and_grad: argnums={argnums} but the function got {len(args)} "
                            "positional arguments.")
        args = list(args)
        leaves = {i: [Tensor(backend.convert_to_array(as_array(x)), requires_grad=True) for x in flatten(args[i])]
                  for i in nums}
        for i in nums:
            args[i] = pack_sequence_as(args[i], leaves[i])
        token = _recording.set(True)
        try:
            out = fn(*args, **kwargs)
        finally:
            _recording.reset(token)
        if has_aux and not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("value_and_grad(has_aux=True): the function must return a pair (value, aux).")
        value, aux = out if has_aux else (out, None)
        value = as_tensor(value)
        if value.value.ndim != 0:
            raise TypeError(f"value_and_grad: the function must return a scalar, got shape {value.shape}.")
        grads = iter(gradients(value, [t for i in nums for t in leaves[i]]))
        packed = [pack_sequence_as(args[i], [Tensor(_zeros_like(t.value) if g is None else g)
                                             for t, g in zip(leaves[i], grads)]) for i in nums]
        grad = packed[0] if isinstance(argnums, int) else tuple(packed)
        value = Tensor(value.value)
        if has_aux:
            detached = map_structure(lambda t: Tensor(t.value) if isinstance(t, Tensor) else t, aux)
            return (value, detached), grad
        return value, grad
    return value_and_gradient


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
        backward = node._backward
        if backward is ROUTE:  # one output of a several-output node: file its gradient there
            hidden = node._parents[0]
            slots = grads.get(id(hidden))
            if slots is None:
                slots = grads[id(hidden)] = [None] * len(hidden.value)
            slots[node._index] = g
            continue
        if g.__class__ is list:  # the gradients of a several-output node's outputs
            g = tuple(g)
        parent_grads = backward(g, node._cache, node._needs)
        for parent, need, pg in zip(node._parents, node._needs, parent_grads):
            if pg is None or not need:
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
                g = _zeros_like(s.value)
            result.append(None if g is None else Tensor(g))
        return pack_sequence_as(sources, result)
