"""Plug a student's kernel into minikeras and train with it.

The graded notebooks ask for kernels with exactly minikeras's interfaces
(``minikeras.kernels.*``). These helpers wrap such a kernel pair into the objects a
model is built from, recording one autodiff node per call just as the library does:

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
from ..autodiff import as_tensor, make_node
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

    def call(self, inputs):
        act = self._fused or ("linear" if self.activation is _activations.linear else None)
        x = cast_to_layer_dtype(self, as_tensor(inputs))
        bias = self.bias
        parents = (x, self.kernel) if bias is None else (x, self.kernel, bias)
        out, cache = forward(x.value, self.kernel.value, None if bias is None else bias.value,
                             act or "linear")
        out = _as_like(out, x.value)

        def back(g, needs):
            grads = backward(g, cache, tuple(needs) + (False,) * (3 - len(needs)))
            return tuple(_as_like(gr, p.value) for gr, p in zip(grads, parents))

        y = make_node(out, parents, back)
        return y if act is not None else self.activation(y)

    return type(name, (Dense,), {"call": call, "__doc__": f"Dense running {forward.__name__}/"
                                                          f"{backward.__name__}."})


def activation_with(forward, backward, name=None):
    """An activation function (Tensor -> Tensor) running ``forward``/``backward``."""
    _check_pair(forward, backward)

    def activation(x):
        x = as_tensor(x)
        y, cache = forward(x.value)
        y = _as_like(y, x.value)
        return make_node(y, (x,), lambda g, needs: (_as_like(backward(g, cache), x.value),))

    activation.__name__ = name or forward.__name__.replace("_forward", "") + "_student"
    return activation


class _PluggedLoss(_losses.Loss):
    def __init__(self, forward, backward, from_logits, sparse, name):
        super().__init__(name=name)
        self.forward, self.backward = forward, backward
        self.from_logits, self.sparse = from_logits, sparse

    def call(self, y_true, y_pred):
        yt = y_true.value
        if self.sparse:
            if yt.ndim == y_pred.value.ndim:  # labels shaped (batch, 1)
                yt = yt[..., 0]
            yt = yt.astype("int64")
        per, cache = self.forward(yt, y_pred.value, from_logits=self.from_logits)
        per = _as_like(per, y_pred.value)
        return make_node(per, (y_pred,),
                         lambda g, needs: (_as_like(self.backward(g, cache), y_pred.value),))


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
