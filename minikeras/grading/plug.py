"""Plug a student's kernel into minikeras and train with it.

The graded notebooks ask for kernels with exactly minikeras's interfaces
(``minikeras.kernels.*``). These helpers bind such a kernel pair with
``autodiff.function``, the binding point the library's own ops use, and wrap it into the
objects a model is built from (one autodiff node per call, as in the library):

* :func:`dense_layer_with` - a ``Dense`` layer class that runs
  ``forward(x, kernel, bias, activation) -> (out, cache)`` and
  ``backward(dy, cache, needs) -> (dx, dkernel, dbias)``;
* :func:`activation_with` - an activation function from ``forward(x) -> (y, cache)``
  and ``backward(dy, cache) -> dx``, for ``Dense(..., activation=...)`` or ``Activation``;
* :func:`loss_with` - a loss from ``forward(y_true, y_pred, from_logits) ->
  (per_sample, cache)`` and ``backward(dloss, cache) -> dy_pred``, for ``compile(loss=...)``.

Example::

    MyDense = plug.dense_layer_with(dense_forward, dense_backward)
    model = keras.Sequential([keras.Input((784,)), MyDense(64, activation="relu"), MyDense(10)])
"""
from .. import activations as _activations
from .. import backend
from .. import losses as _losses
from ..autodiff import as_tensor, function
from ..layers.core import Dense, cast_to_layer_dtype


def _check_pair(forward, backward):
    for f, role in ((forward, "forward"), (backward, "backward")):
        if not callable(f):
            raise TypeError(f"The {role} kernel must be a function, got {type(f).__name__}.")


def _as_like(g, like):
    """A student's result as an array of the same module and dtype as ``like``."""
    if g is None:
        return None
    g = backend.get_array_module(like).asarray(g)
    return g.astype(like.dtype, copy=False) if g.dtype != like.dtype else g


def dense_layer_with(forward, backward, name="StudentDense"):
    """A ``Dense`` subclass whose forward and backward passes are ``forward``/``backward``.

    Activations are passed to the kernel by name (``"linear"``, ``"relu"``, ``"sigmoid"``,
    ``"tanh"``, ``"softmax"``, ...), as minikeras's fused Dense kernel receives them.
    """
    _check_pair(forward, backward)

    def student_forward(x, kernel, bias, activation):
        out, cache = forward(x, kernel, bias, activation)
        return _as_like(out, x), (cache, (x, kernel, bias))

    def student_backward(g, caches, needs):
        cache, inputs = caches
        grads = backward(g, cache, needs)
        return tuple(None if like is None else _as_like(gr, like) for gr, like in zip(grads, inputs))

    op = function(student_forward, student_backward, name=forward.__name__)

    def call(self, inputs):
        act = self._fused or ("linear" if self.activation is _activations.linear else None)
        x = cast_to_layer_dtype(self, as_tensor(inputs))
        y = op(x, self.kernel, self.bias, activation=act or "linear")
        return y if act is not None else self.activation(y)

    return type(name, (Dense,), {"call": call, "__doc__": f"Dense running {forward.__name__}/"
                                                          f"{backward.__name__}."})


def activation_with(forward, backward, name=None):
    """An activation function (Tensor -> Tensor) running ``forward``/``backward``."""
    _check_pair(forward, backward)

    def student_forward(x):
        y, cache = forward(x)
        return _as_like(y, x), (cache, x)

    def student_backward(g, caches, needs):
        cache, x = caches
        return (_as_like(backward(g, cache), x),)

    op = function(student_forward, student_backward, name=forward.__name__)

    def activation(x):
        return op(as_tensor(x))

    activation.__name__ = name or forward.__name__.replace("_forward", "") + "_student"
    return activation


class _PluggedLoss(_losses.Loss):
    def __init__(self, forward, backward, from_logits, sparse, name):
        super().__init__(name=name)
        self.forward, self.backward = forward, backward
        self.from_logits, self.sparse = from_logits, sparse
        self._op = function(self._student_forward, self._student_backward, name=forward.__name__)

    def call(self, y_true, y_pred):
        yt = y_true.value
        if self.sparse:
            if yt.ndim == y_pred.value.ndim:  # labels shaped (batch, 1)
                yt = yt[..., 0]
            yt = yt.astype("int64")
        return self._op(y_pred, labels=yt)

    def _student_forward(self, y_pred, labels):
        per, cache = self.forward(labels, y_pred, from_logits=self.from_logits)
        return _as_like(per, y_pred), (cache, y_pred)

    def _student_backward(self, g, caches, needs):
        cache, y_pred = caches
        return (_as_like(self.backward(g, cache), y_pred),)


def loss_with(forward, backward, from_logits=False, sparse=None, name=None):
    """A Keras loss whose per-sample values and gradient come from ``forward``/``backward``.

    ``sparse`` (integer labels) is guessed from the forward function's name when omitted.
    """
    _check_pair(forward, backward)
    if sparse is None:
        sparse = "sparse" in forward.__name__
    return _PluggedLoss(forward, backward, from_logits, sparse,
                        name or forward.__name__.replace("_forward", ""))


__all__ = ["dense_layer_with", "activation_with", "loss_with"]
