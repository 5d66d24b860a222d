"""The ``Layer`` base class: weights, lazy building, sublayer tracking and calling conventions.

A layer owns variables created by ``add_weight`` in ``build(input_shape)``, which runs
automatically on the first call, when the input shape is finally known. ``call`` holds
the computation on Tensors. Calling a layer on symbolic ``KerasTensor``s (from ``Input``)
records a graph node instead of computing, which is how functional models are built.

Masks travel as in Keras 3: a tensor may carry a time-step mask in ``_keras_mask`` (set by
``Embedding(mask_zero=True)``, ``Masking``, ...). A layer whose ``call`` takes ``mask`` gets
its input's mask unless one is passed; a layer that ``supports_masking`` hands
``compute_mask(inputs, previous_mask)`` on to its outputs (by default the mask unchanged);
any other layer drops it, with Keras's warning. The losses and metrics read the mask of
``y_pred``.
"""
import inspect
import warnings

from .. import activations, backend, constraints, initializers, naming, regularizers
from ..autodiff import Tensor, current_training_flag, enter_training, exit_training, no_grad
from ..tree import flatten, map_structure
from ..variables import Variable

__all__ = ["Layer", "current_training_flag", "infer_output_shape", "KERNEL_BIAS", "resolve_objects",
           "serialize_objects", "set_keras_mask"]

# The configuration objects of a layer with a kernel and a bias (Dense, Conv*), by argument name.
KERNEL_BIAS = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
               "activity_regularizer", "kernel_constraint", "bias_constraint")


def _unique(variables):
    """Each variable once (a layer shared by two parents, or tied weights), in first-seen order."""
    seen, out = set(), []
    for w in variables:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def _family_of(argument):
    """The module that resolves an argument, from its name: ``*_initializer``, ``*_regularizer``,
    ``*_constraint`` or ``*activation``."""
    for suffix, module in (("_initializer", initializers), ("_regularizer", regularizers),
                           ("_constraint", constraints), ("activation", activations)):
        if argument.endswith(suffix):
            return module
    raise ValueError(f"No object family for the argument {argument!r}.")


def resolve_objects(layer, arguments, names):
    """Set ``layer.<name>`` to the object each identifier in ``arguments`` names (``"relu"``,
    ``"glorot_uniform"``, ``"l2"``, an instance, ...), for every name in ``names``."""
    for name in names:
        setattr(layer, name, _family_of(name).get(arguments[name]))


def serialize_objects(layer, names):
    """``{name: config}`` of those objects, for ``get_config``."""
    return {name: _family_of(name).serialize(getattr(layer, name)) for name in names}


def _to_tensor(x, dtype=None):
    """Layer inputs as Tensors. Keras 3 autocasts float inputs (arrays and tensors) to the
    layer's compute dtype ``dtype`` and leaves integer and bool inputs as they are (so an
    Embedding still sees integer ids); ``dtype=None`` keeps every dtype."""
    if x is None or isinstance(x, (str, bytes)):
        return x
    if isinstance(x, Tensor):
        if dtype is not None and x.value.dtype.kind == "f" and x.value.dtype != dtype:
            from .. import ops
            return ops.cast(x, dtype)
        return x
    arr = backend.convert_to_array(x)
    if dtype is not None and arr.dtype.kind == "f" and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return Tensor(arr)


def _shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else None


def _mask_of(inputs):
    """The mask(s) attached to a layer's inputs: one, a list for a list of inputs, or None."""
    if isinstance(inputs, Tensor):
        return inputs._keras_mask
    if isinstance(inputs, (list, tuple)):
        masks = [t._keras_mask if isinstance(t, Tensor) else None for t in inputs]
        return masks if any(m is not None for m in masks) else None
    return None


def set_keras_mask(tensor, mask):
    """Attach ``mask`` (array or Tensor, or None) to ``tensor`` as Keras's ``_keras_mask``."""
    tensor._keras_mask = mask if mask is None or isinstance(mask, Tensor) else Tensor(backend.convert_to_array(mask))
    return tensor


class Layer:
    """Base class of every layer and model (Keras 3 semantics)."""

    _accepted_kwargs = ("input_shape", "input_dim", "batch_input_shape", "batch_size", "input_length",
                        "autocast", "dtype_policy")
    # Keras 3: a layer casts its float inputs to its compute dtype. A functional model does
    # not; it converts each input to the dtype of its own ``Input`` instead.
    _convert_input_args = True
    _autocast = True
    _supports_masking = None  # None: a layer that overrides compute_mask supports masking (Keras 3)

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - set(self._accepted_kwargs)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword argument(s) {sorted(unknown)}.")
        object.__setattr__(self, "_layers", [])
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._trainable = trainable
        self.dtype = backend.np.dtype(dtype).name if dtype is not None else backend.floatx()
        self.built = False
        self._autocast = bool(kwargs.get("autocast", True))
        self._trainable_variables = []
        self._non_trainable_variables = []
        self._losses = []
        self._weight_regularizers = []  # (variable, regularizer) pairs from add_weight
        self._inbound_nodes = []
        self._build_input_shape = None
        self._batch_input_shape = None
        if "batch_input_shape" in kwargs and kwargs["batch_input_shape"] is not None:
            self._batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif kwargs.get("input_shape") is not None:
            shape = kwargs["input_shape"]
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            self._batch_input_shape = (kwargs.get("batch_size"),) + shape
        elif kwargs.get("input_dim") is not None:
            self._batch_input_shape = (kwargs.get("batch_size"), int(kwargs["input_dim"]))
        sig = inspect.signature(self.call)
        self._call_accepts_training = "training" in sig.parameters
        self._call_accepts_mask = "mask" in sig.parameters
        self._computes_mask = type(self).compute_mask is not Layer.compute_mask

    # -- attribute tracking ----------------------------------------------------
    def __setattr__(self, name, value):
        layers = self.__dict__.get("_layers")
        if layers is not None and not name.startswith("_"):
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(item, Layer) and item is not self and all(item is not l for l in layers):
                    layers.append(item)
        object.__setattr__(self, name, value)

    # -- building --------------------------------------------------------------
    def build(self, input_shape=None):
        """Create the layer's weights once the input shape is known (override in subclasses)."""
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self._build_input_shape = input_shape
            try:
                self.build(input_shape)
            except (KeyError, TypeError, IndexError) as exc:
                if isinstance(input_shape, dict):  # e.g. a dict of arrays given to a one-input model
                    raise ValueError(
                        f"Layer {self.name!r} ({type(self).__name__}) was called on a dict with keys "
                        f"{list(input_shape)}, but it takes a single tensor; pass the array itself "
                        f"(or the dict entry it is meant to use).") from exc
                raise
            self.built = True

    def _input_autocast_dtype(self):
        """The dtype float inputs are cast to on the way in (None: no casting)."""
        return self.dtype if self._convert_input_args and self._autocast else None

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None, **kwargs):
        """Create a state variable owned by this layer (Keras 3's ``add_weight``)."""
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = dtype or self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if backend.np.dtype(dtype).kind == "f" else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype)
        var = Variable(value, dtype=dtype, trainable=trainable, name=name or "variable",
                       constraint=constraints.get(constraint))
        var.path = f"{self.name}/{var.name}"
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._weight_regularizers.append((var, reg))
        (self._trainable_variables if trainable else self._non_trainable_variables).append(var)
        return var

    # -- weights ---------------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def weights(self):
        return _unique(self._trainable_variables + self._non_trainable_variables
                       + [w for layer in self._layers for w in layer.weights])

    variables = weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return _unique(self._trainable_variables + [w for layer in self._layers for w in layer.trainable_weights])

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [backend.np.array(w.numpy(), copy=True) for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"Layer {self.name!r} expects {len(params)} weight arrays "
                             f"({[p.shape for p in params]}), but set_weights received {len(weights)} "
                             f"({[tuple(backend.np.shape(w)) for w in weights]}).")
        for p, w in zip(params, weights):
            w_shape = tuple(backend.np.shape(w))
            if w_shape != p.shape:
                raise ValueError(f"Layer {self.name!r}: weight {p.path!r} has shape {p.shape}, "
                                 f"but the provided array has shape {w_shape}.")
        for p, w in zip(params, weights):
            p.assign(backend.xp().asarray(backend.to_numpy(w)))

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer {self.name!r}, but the layer isn't "
                             "built. Build it first by calling it on data or with build(input_shape).")
        return int(sum(int(backend.np.prod(w.shape)) for w in self.weights))

    # -- losses ----------------------------------------------------------------
    def add_loss(self, loss):
        """Record an extra loss term (e.g. an activity penalty) during ``call``."""
        self._losses.append(loss)

    def regularization_losses(self):
        """The penalties of this layer's own regularized weights, computed now (its sublayers'
        are theirs to give); ``losses`` collects them with the ``add_loss`` terms of the tree."""
        if not self._weight_regularizers:
            return []
        return [reg(var) for var, reg in self._weight_regularizers]

    @property
    def losses(self):
        out = list(self._losses) + self.regularization_losses()
        for layer in self._layers:
            out.extend(layer.losses)
        return out

    # -- masking ---------------------------------------------------------------
    @property
    def supports_masking(self):
        """Whether the layer passes a mask on (through ``compute_mask``) instead of dropping it."""
        value = self._supports_masking
        return self._computes_mask if value is None else value

    @supports_masking.setter
    def supports_masking(self, value):
        object.__setattr__(self, "_supports_masking", bool(value))

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs (Keras 3's default: the input's mask, unchanged)."""
        return previous_mask

    def _attach_masks(self, inputs, outputs, previous):
        """Keras's ``_set_mask_metadata``: outputs without a mask get ``compute_mask``'s."""
        if not self.supports_masking:
            if previous is not None:
                warnings.warn(f"Layer {self.name!r} (of type {type(self).__name__}) was passed an input with a "
                              "mask attached to it. However, this layer does not support masking and will "
                              "therefore destroy the mask information. Downstream layers will not see the mask.",
                              stacklevel=3)
            return
        flat = flatten(outputs)
        if all(isinstance(t, Tensor) and t._keras_mask is not None for t in flat):
            return
        masks = self.compute_mask(inputs, previous)
        if masks is None:
            return
        for tensor, mask in zip(flat, flatten(masks)):
            if isinstance(tensor, Tensor) and tensor._keras_mask is None and mask is not None:
                set_keras_mask(tensor, mask)

    # -- calling ---------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        if not (isinstance(inputs, Tensor) and self.built):  # the hot path skips all of this
            if self.built and inputs.__class__ is backend.np.ndarray:
                inputs = _to_tensor(inputs, self._input_autocast_dtype())  # fit's batches: one NumPy array
            else:
                from .input_layer import KerasTensor, symbolic_call
                if any(isinstance(t, KerasTensor) for t in flatten(inputs)):
                    return symbolic_call(self, inputs, args, kwargs)
                dtype = self._input_autocast_dtype()
                inputs = map_structure(lambda t: _to_tensor(t, dtype), inputs)
                if not self.built:
                    self._maybe_build(map_structure(_shape_of, inputs))
        else:
            dt = inputs.value.dtype
            if dt.kind == "f" and dt != self.dtype and self._convert_input_args and self._autocast:
                inputs = _to_tensor(inputs, self.dtype)  # Keras 3's autocast to the compute dtype
        training = kwargs.pop("training", None)
        outer = current_training_flag()
        if training is None:
            training = outer
        if self._call_accepts_training:
            kwargs["training"] = training
        previous = kwargs.get("mask")  # an explicit mask, else the one the inputs carry
        if previous is None:
            previous = inputs._keras_mask if inputs.__class__ is Tensor else _mask_of(inputs)
            if previous is not None and self._call_accepts_mask:
                kwargs["mask"] = previous
        elif not self._call_accepts_mask:
            kwargs.pop("mask")
        if "mask" in kwargs and not self._call_accepts_mask:
            kwargs.pop("mask")
        if self._losses:
            object.__setattr__(self, "_losses", [])
        if training is outer:  # nested layers already see this flag (the usual case inside a model)
            outputs = self.call(inputs, *args, **kwargs)
        else:
            token = enter_training(training)  # context-local: nested layers see it, other threads do not
            try:
                outputs = self.call(inputs, *args, **kwargs)
            finally:
                exit_training(token)
        if previous is not None or self._computes_mask:
            self._attach_masks(inputs, outputs, previous)
        return outputs

    # -- shapes ----------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (None = unknown), found by running the layer on zeros."""
        return infer_output_shape(self, input_shape)

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called on a symbolic input, "
                                 "so it has no defined input.")
        return self._inbound_nodes[0].inputs

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called on a symbolic input, "
                                 "so it has no defined output.")
        return self._inbound_nodes[0].outputs

    # -- config ----------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        return {"input_shape": self._build_input_shape} if self.built else None

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None:
            self._maybe_build(config["input_shape"])

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _dummy(shape, fill):
    dims = tuple(fill if d is None else int(d) for d in shape)
    return Tensor(backend.xp().zeros(dims, dtype=backend.floatx()))


def infer_output_shape(layer, input_shape):
    """Run ``layer`` on zeros with unknown dims set to 2 and then 3; dims that differ are None."""
    def is_shape(s):
        return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)

    def make(fill):
        def build(s):
            if is_shape(s):
                return _dummy(s, fill)
            if isinstance(s, dict):
                return {k: build(v) for k, v in s.items()}
            return [build(v) for v in s]
        return build(input_shape)

    with no_grad():
        a = layer(make(2), training=False)
        b = layer(make(3), training=False)

    def compare(x, y):
        if isinstance(x, Tensor):
            return tuple(p if p == q else None for p, q in zip(x.shape, y.shape))
        if isinstance(x, dict):
            return {k: compare(x[k], y[k]) for k in x}
        return type(x)(compare(p, q) for p, q in zip(x, y))
    return compare(a, b)
