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
  (per_sample, cache)`` and ``backward(dloss, cache) -> dy_pred``, for ``compile(loss=...)``;
* :func:`conv2d_layer_with` - a ``Conv2D`` layer class from ``forward(x, kernel, bias, strides,
  padding) -> (y, cache)`` and ``backward(dy, cache, needs) -> (dx, dkernel, dbias)``;
* :func:`max_pooling2d_with` - a ``MaxPooling2D`` layer class from ``forward(x, pool_size,
  strides, padding) -> (y, cache)`` and ``backward(dy, cache) -> dx``;
* :func:`batch_normalization_with` - a ``BatchNormalization`` layer class from the training
  forward/backward pair, the batch moments of its cache, the inference forward and the
  moving-average update;
* :func:`dropout_layer_with` - a ``Dropout`` layer class from ``forward(x, rate, noise_shape,
  generator) -> (y, cache)`` and ``backward(dy, cache) -> dx``;
* :func:`simple_rnn_layer_with` - a ``SimpleRNN`` layer class whose whole-sequence pass runs
  ``forward(x, kernel, recurrent_kernel, bias, initial_state) -> ((sequence, last_h), cache)``
  and ``backward(d_sequence, d_last_h, cache[, needs]) -> (dx, dkernel, drecurrent_kernel,
  dbias, dinitial_state)``, minikeras's ``simple_rnn_forward``/``simple_rnn_backward``
  interface; :func:`recurrent_layers` says which recurrent layers of a model are plugged.

The plugged convolution, pooling, normalization and dropout classes carry ``_student_kernel``
(their kind), which :func:`minikeras.grading.network.describe` reports.

Example::

    MyDense = plug.dense_layer_with(dense_forward, dense_backward)
    model = keras.Sequential([keras.Input((784,)), MyDense(64, activation="relu"), MyDense(10)])
"""
import inspect

from .. import activations as _activations
from .. import backend
from .. import layers as _layers
from .. import losses as _losses
from .. import ops
from ..autodiff import as_tensor, function
from ..layers.convolutional import Conv2D
from ..layers.core import Dense, Dropout, cast_to_layer_dtype
from ..layers.input_spec import incompatible_input
from ..layers.normalization import BatchNormalization
from ..layers.pooling import MaxPooling2D


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


def _single(forward, backward, name):
    """A one-input op from ``forward(x, **attrs) -> (y, cache)`` and ``backward(dy, cache) -> dx``."""
    _check_pair(forward, backward)

    def student_forward(x, **attrs):
        y, cache = forward(x, **attrs)
        return _as_like(y, x), (cache, x)

    def student_backward(g, caches, needs):
        cache, x = caches
        return (_as_like(backward(g, cache), x),)

    return function(student_forward, student_backward, name=name)


def _with_grads(forward, backward, name):
    """An op from ``forward(*arrays, **attrs) -> (y, cache)`` and ``backward(dy, cache, needs)``
    returning one gradient (or None) per positional array, cast like the input it belongs to."""
    _check_pair(forward, backward)

    def student_forward(*arrays, **attrs):
        y, cache = forward(*arrays, **attrs)
        return _as_like(y, arrays[0]), (cache, arrays)

    def student_backward(g, caches, needs):
        cache, arrays = caches
        grads = backward(g, cache, needs)
        return tuple(None if like is None or gr is None else _as_like(gr, like)
                     for gr, like in zip(grads, arrays))

    return function(student_forward, student_backward, name=name)


def _student_class(name, base, kind, methods, doc):
    cls = type(name, (base,), dict(methods, __doc__=doc, _student_kernel=kind))
    cls.__module__ = __name__
    return cls


def conv2d_layer_with(forward, backward, name="StudentConv2D"):
    """A ``Conv2D`` subclass whose convolution runs ``forward``/``backward``.

    The kernel pair computes ``conv(x, kernel) + bias`` only (``bias`` may be None); the
    layer's activation is applied after it, as a separate op. Dilation is not supported.
    """
    op = _with_grads(forward, backward, forward.__name__)

    def __init__(self, *args, **kwargs):
        Conv2D.__init__(self, *args, **kwargs)
        if self.dilation_rate != (1, 1):
            raise ValueError(f"{name} {self.name!r}: your convolution supports dilation_rate=(1, 1) only, "
                             f"got {self.dilation_rate}.")

    def call(self, inputs):
        in_channels = self.kernel.shape[-2]
        if inputs.ndim != 4 or inputs.shape[-1] != in_channels:
            raise incompatible_input(self, f"a rank-4 input with {in_channels} channels on the last axis",
                                     inputs.shape)
        self.compute_output_shape(inputs.shape)
        x = cast_to_layer_dtype(self, as_tensor(inputs))
        y = op(x, self.kernel, self.bias, strides=self.strides, padding=self.padding)
        return self.activation(y)

    return _student_class(name, Conv2D, "conv2d", {"__init__": __init__, "call": call},
                          f"Conv2D running {forward.__name__}/{backward.__name__}.")


def max_pooling2d_with(forward, backward, name="StudentMaxPooling2D"):
    """A ``MaxPooling2D`` subclass whose pooling runs ``forward``/``backward``."""
    op = _single(forward, backward, forward.__name__)

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        x = cast_to_layer_dtype(self, as_tensor(inputs))
        return op(x, pool_size=self.pool_size, strides=self.strides, padding=self.padding)

    return _student_class(name, MaxPooling2D, "max_pool2d", {"call": call},
                          f"MaxPooling2D running {forward.__name__}/{backward.__name__}.")


def batch_normalization_with(train_forward, train_backward, moments, infer_forward, moving_update,
                             name="StudentBatchNormalization"):
    """A ``BatchNormalization`` subclass running the student's kernels.

    Training: ``train_forward(x, gamma, beta, axis, epsilon) -> (y, cache)`` and
    ``train_backward(dy, cache, needs) -> (dx, dgamma, dbeta)``; ``moments(cache) -> (mean,
    var)`` feeds ``moving_update(moving, value, momentum)`` for both moving statistics.
    Inference: ``infer_forward(x, mean, var, gamma, beta, axis, epsilon) -> (y, cache)``; no
    gradient flows through it (the graded CNN never trains in inference mode).
    """
    _check_pair(train_forward, train_backward)
    for f, role in ((moments, "moments"), (infer_forward, "inference forward"), (moving_update, "moving update")):
        if not callable(f):
            raise TypeError(f"The {role} function must be a function, got {type(f).__name__}.")

    def forward_train(x, gamma, beta, axis, epsilon):
        y, cache = train_forward(x, gamma, beta, axis, epsilon)
        mean, var = moments(cache)
        return (_as_like(y, x), _as_like(mean, x), _as_like(var, x)), (cache, (x, gamma, beta))

    def backward_train(grads, caches, needs):
        cache, inputs = caches
        gy = grads[0] if grads[0] is not None else backend.get_array_module(inputs[0]).zeros_like(inputs[0])
        out = train_backward(gy, cache, needs)
        return tuple(None if like is None or g is None else _as_like(g, like) for g, like in zip(out, inputs))

    def forward_infer(x, mean, var, gamma, beta, axis, epsilon):
        y, cache = infer_forward(x, mean, var, gamma, beta, axis, epsilon)
        return _as_like(y, x), cache

    def backward_infer(g, cache, needs):
        raise NotImplementedError(f"{name}: gradients through inference mode (a frozen batch normalization) "
                                  "are not part of this assignment.")

    train_op = function(forward_train, backward_train, name=train_forward.__name__)
    infer_op = function(forward_infer, backward_infer, name=infer_forward.__name__)

    def call(self, inputs, training=None):
        self._check_input(inputs)
        x = cast_to_layer_dtype(self, as_tensor(inputs))
        axis = self.axis % x.ndim
        if training and self.trainable:
            y, mean, var = train_op(x, self.gamma, self.beta, axis=axis, epsilon=self.epsilon)
            m = self.momentum
            self.moving_mean.assign(_as_like(moving_update(self.moving_mean.value, mean.value, m), x.value))
            self.moving_variance.assign(_as_like(moving_update(self.moving_variance.value, var.value, m), x.value))
            return y
        return infer_op(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, axis=axis,
                        epsilon=self.epsilon)

    return _student_class(name, BatchNormalization, "batch_norm", {"call": call},
                          f"BatchNormalization running {train_forward.__name__}/{train_backward.__name__} "
                          f"and {infer_forward.__name__}.")


def dropout_layer_with(forward, backward, name="StudentDropout"):
    """A ``Dropout`` subclass whose training-time masking runs ``forward``/``backward``
    (``forward(x, rate, noise_shape, generator)``); at inference it passes its input through."""
    op = _single(forward, backward, forward.__name__)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return op(as_tensor(inputs), rate=self.rate, noise_shape=self._noise_shape_for(inputs),
                  generator=self._generator)

    return _student_class(name, Dropout, "dropout", {"call": call},
                          f"Dropout running {forward.__name__}/{backward.__name__}.")


# ---------------------------------------------------------------- recurrent layers

# Keyword options a whole-sequence recurrent forward may accept. The plug passes one only
# when the forward's signature names it, so a kernel written against the plain interface
# (x, kernel, recurrent_kernel, bias, initial_state) and minikeras's own kernels, whose
# signatures carry more optional arguments, both plug in.
_RNN_OPTIONS = ("activation", "go_backwards", "mask", "zero_output_for_mask", "input_mask", "state_mask")


def _accepted(fn):
    """The names ``fn`` accepts by keyword (everything, for a ``**kwargs`` signature), and
    how many positional arguments it can take."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set(_RNN_OPTIONS), 99
    if any(p.kind is p.VAR_KEYWORD for p in params):
        names = set(_RNN_OPTIONS)
    else:
        names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    positional = 99 if any(p.kind is p.VAR_POSITIONAL for p in params) else \
        sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    return names, positional


def _keep_mask(rate, shape, like):
    xp = backend.get_array_module(like)
    keep = backend.random_uniform(shape, xp, dtype=like.dtype.name) >= rate
    return keep.astype(like.dtype) * like.dtype.type(1.0 / (1.0 - rate))


def simple_rnn_layer_with(forward, backward, name="StudentSimpleRNN"):
    """A ``SimpleRNN`` subclass (same arguments, weights and parameter count) whose pass
    over the whole sequence is ``forward`` and whose BPTT is ``backward``.

    The kernels need only the plain interface: ``forward(x, kernel, recurrent_kernel, bias,
    initial_state)`` with x (batch, time, features), bias and initial_state possibly None,
    returning ``((sequence, last_h), cache)``; ``backward(d_sequence, d_last_h, cache)``
    (either gradient may be None; a fourth argument ``needs`` is passed when accepted)
    returning ``(dx, dkernel, drecurrent_kernel, dbias, dinitial_state)``. What the plain
    interface lacks the layer does itself (``go_backwards`` reverses the input) or refuses
    with a clear error (another activation than tanh, a time-step mask, dropout) unless the
    forward accepts the matching keyword (``activation``, ``mask``, ``input_mask``, ...).
    """
    _check_pair(forward, backward)
    options, _ = _accepted(forward)
    _, backward_positional = _accepted(backward)
    pass_needs = backward_positional >= 4

    def student_forward(x, kernel, recurrent_kernel, bias, initial_state, **attrs):
        (sequence, last), cache = forward(x, kernel, recurrent_kernel, bias, initial_state, **attrs)
        return ((_as_like(sequence, x), _as_like(last, x)),
                (cache, (x, kernel, recurrent_kernel, bias, initial_state)))

    def student_backward(g, caches, needs):
        cache, inputs = caches
        d_sequence, d_last = g
        grads = backward(d_sequence, d_last, cache, needs) if pass_needs else backward(d_sequence, d_last, cache)
        return tuple(None if like is None or not need else _as_like(gr, like)
                     for gr, like, need in zip(grads, inputs, needs))

    op = function(student_forward, student_backward, name=getattr(forward, "__name__", "student_rnn"))

    def refuse(self, what, keyword):
        raise ValueError(f"{type(self).__name__} {self.name!r}: {what}, but `{forward.__name__}` takes no "
                         f"`{keyword}` argument (the plain recurrent kernel interface).")

    def __init__(self, units, *args, **kwargs):
        if kwargs.get("stateful"):
            raise ValueError(f"{name}: stateful=True is not supported by a plugged kernel.")
        SimpleRNN.__init__(self, units, *args, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        x = cast_to_layer_dtype(self, as_tensor(sequences))
        if len(x.shape) != 3 or x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of shape (batch, time, "
                             f"{self.kernel.shape[0]}), got {tuple(x.shape)}.")
        attrs = {}
        activation = getattr(self.activation, "__name__", None)
        if "activation" in options:
            attrs["activation"] = activation
        elif activation != "tanh":
            refuse(self, f"activation={activation!r} was asked for", "activation")
        reverse = bool(self.go_backwards)
        if reverse and "go_backwards" in options:
            attrs["go_backwards"], reverse = True, False
        if mask is not None:
            if isinstance(mask, (list, tuple)):
                mask = mask[0] if mask else None
        if mask is not None:
            if "mask" not in options:
                refuse(self, "the inputs carry a time-step mask (Masking or Embedding(mask_zero=True))", "mask")
            attrs["mask"] = as_tensor(mask).value.astype(bool)
            if "zero_output_for_mask" in options:
                attrs["zero_output_for_mask"] = bool(getattr(self, "zero_output_for_mask", False))
        batch = x.shape[0]
        for rate, keyword, width in ((self.dropout, "input_mask", x.shape[-1]),
                                     (self.recurrent_dropout, "state_mask", self.units)):
            if training and rate:
                if keyword not in options:
                    refuse(self, "dropout is on while training", keyword)
                attrs[keyword] = _keep_mask(rate, (batch, width), x.value)
        if initial_state is not None:
            if isinstance(initial_state, (list, tuple)):
                if len(initial_state) != 1:
                    raise ValueError(f"{type(self).__name__} {self.name!r} expects 1 initial state, "
                                     f"got {len(initial_state)}.")
                initial_state = initial_state[0]
            initial_state = as_tensor(initial_state)
        if reverse:
            x = ops.flip(x, axis=1)
        sequence, last = op(x, self.kernel, self.recurrent_kernel, self.bias, initial_state, **attrs)
        if "mask" in attrs:  # the last output is the sequence's last step (Keras 3's rule for masks)
            last_output = ops.getitem(sequence, (slice(None), -1))
        else:
            last_output = last
        out = sequence if self.return_sequences else last_output
        return [out, last] if self.return_state else out

    doc = f"SimpleRNN running {forward.__name__}/{backward.__name__}."
    return type(name, (SimpleRNN,), {"__init__": __init__, "call": call, "__doc__": doc,
                                     "_plugged_kernels": (forward, backward)})


def _recurrent_classes():
    return tuple(getattr(_layers, n) for n in ("SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional")
                 if isinstance(getattr(_layers, n, None), type))


def recurrent_layers(model):
    """One line per recurrent layer of ``model`` (nested models and Bidirectional included):
    ``"plugged: <kernel>"`` for a layer made by :func:`simple_rnn_layer_with`, else
    ``"library: <class>"``. Graders read it to see that a model runs plugged kernels."""
    classes = _recurrent_classes()
    out, stack, seen = [], [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        kernels = getattr(type(layer), "_plugged_kernels", None)
        if kernels is not None:
            fn = kernels[0]
            out.append(f"plugged: {getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}")
            continue
        inner = [getattr(layer, a) for a in ("forward_layer", "backward_layer") if hasattr(layer, a)]
        if inner:
            stack.extend(reversed(inner))
            continue
        if isinstance(layer, classes):
            out.append(f"library: {type(layer).__name__}")
            continue
        stack.extend(reversed(list(getattr(layer, "layers", None) or [])))
    return out


SimpleRNN = _layers.SimpleRNN

__all__ = ["dense_layer_with", "activation_with", "loss_with", "conv2d_layer_with", "max_pooling2d_with",
           "batch_normalization_with", "dropout_layer_with", "simple_rnn_layer_with", "recurrent_layers"]
