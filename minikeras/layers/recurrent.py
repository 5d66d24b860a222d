"""Recurrent layers: SimpleRNN, LSTM, GRU and the Bidirectional wrapper (Keras 3 arguments,
weight layouts and parameter counts). Each layer runs a whole-sequence kernel from
``kernels/recurrent.py`` through ``ops``: one graph node per layer call, BPTT inside its backward."""
import numbers

from .. import activations, backend, ops
from ..ops.rnn import RNN_ACTIVATIONS
from .base import Layer, resolve_objects, serialize_objects
from .core import cast_to_layer_dtype
from .input_spec import check_rank, incompatible_input


def _kernel_activation(fn, arg, who):
    """The kernel's name for a built-in activation; a clear error for anything else."""
    name = getattr(fn, "__name__", None)
    if name in RNN_ACTIVATIONS and activations.ALL.get(name) is fn:
        return name
    raise ValueError(f"{who}: `{arg}` must be one of the built-in activations {sorted(RNN_ACTIVATIONS)} "
                     f"(recurrent kernels fuse them), got {fn!r}.")


# The configuration objects of a recurrent layer, by argument name.
_RNN_OBJECTS = ("activation", "recurrent_activation", "kernel_initializer", "recurrent_initializer",
                "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint")


def _dropout_mask(shape, rate, like):
    xp = backend.get_array_module(like)
    keep = backend.random_uniform(shape, xp, dtype=like.dtype.name) >= rate
    return keep.astype(like.dtype) * like.dtype.type(1.0 / (1.0 - rate))


class _RNN(Layer):
    """Shared logic of SimpleRNN, LSTM and GRU."""

    kind, gates, n_states = "simple_rnn", 1, 1
    _accepted_kwargs = Layer._accepted_kwargs + ("implementation", "use_cudnn", "time_major")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        who = self._who()
        if isinstance(units, numbers.Integral) and not isinstance(units, bool):
            units = int(units)  # NumPy integers too (scikit-learn's searches draw them)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{who}: `units` must be a positive integer, got {units!r}.")
        if stateful:
            raise NotImplementedError(f"{who}: stateful=True is not supported; pass the states "
                                      "explicitly with return_state=True and initial_state=.")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{who}: `{arg}` must be in [0, 1), got {rate!r}.")
        self.units = units
        self.use_bias = use_bias
        resolve_objects(self, locals(), _RNN_OBJECTS)
        self._act = _kernel_activation(self.activation, "activation", who)
        self._ract = _kernel_activation(self.recurrent_activation, "recurrent_activation", who)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = unroll  # accepted for compatibility; the kernel loops either way
        self.seed = seed

    def _who(self):
        return f"{type(self).__name__} {self.name!r}"

    def _check_shape(self, shape):
        check_rank(self, shape, 3, "(batch, timesteps, features)",
                   hint="Reshape sequences to (batch, timesteps, features), e.g. MNIST rows as (28, 28).")

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        self._check_shape(input_shape)
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{self._who()} needs a known number of features (last axis), got input "
                             f"shape {tuple(input_shape)}.")
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(features, width), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, width), initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=self._bias_shape(), initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def _kernel_kwargs(self):
        return dict(activation=self._act, recurrent_activation=self._ract)

    def call(self, inputs, training=None, initial_state=None):
        self._check_shape(inputs.shape)
        features = self.kernel.shape[0]
        if inputs.shape[-1] != features:
            raise incompatible_input(self, f"axis -1 of the input to have value {features}", inputs.shape)
        x = cast_to_layer_dtype(self, inputs)
        if initial_state is not None:
            initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(initial_state) != self.n_states:
                raise ValueError(f"{self._who()} expects {self.n_states} initial state(s), "
                                 f"got {len(initial_state)}.")
            initial_state = [ops.convert_to_tensor(s) for s in initial_state]
            for s in initial_state:
                if s.shape != (inputs.shape[0], self.units):
                    raise ValueError(f"{self._who()}: each initial state must have shape "
                                     f"({inputs.shape[0]}, {self.units}), got {s.shape}.")
        input_mask = state_mask = None
        if training and self.dropout > 0:
            input_mask = _dropout_mask((inputs.shape[0], features), self.dropout, x.value)
        if training and self.recurrent_dropout > 0:
            state_mask = _dropout_mask((inputs.shape[0], self.units), self.recurrent_dropout, x.value)
        op = getattr(ops, self.kind)
        out = op(x, self.kernel, self.recurrent_kernel, self.bias, initial_state=initial_state,
                 go_backwards=self.go_backwards, return_sequences=self.return_sequences,
                 return_state=self.return_state, input_mask=input_mask, state_mask=state_mask,
                 **self._kernel_kwargs())
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out[0] if self.return_state else out))
        return out

    def compute_output_shape(self, input_shape):
        self._check_shape(input_shape)
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * self.n_states
        return out

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units, use_bias=self.use_bias, **serialize_objects(self, _RNN_OBJECTS),
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
            return_sequences=self.return_sequences, return_state=self.return_state,
            go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll, seed=self.seed)
        return config


class SimpleRNN(_RNN):
    """Fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError("SimpleRNN has no `recurrent_activation` argument.")
        super().__init__(units, activation=activation, **kwargs)

    def _kernel_kwargs(self):
        return dict(activation=self._act)

    def get_config(self):
        config = super().get_config()
        del config["recurrent_activation"]
        return config


class LSTM(_RNN):
    """Long short-term memory; gates i, f, c, o in the 4*units columns; states [h, c]."""

    kind, gates, n_states = "lstm", 4, 2

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def init(shape, dtype=None):
            # Keras: bias_initializer for i, ones for f (remember by default), bias_initializer for c, o.
            xp = backend.xp()
            parts = [base((units,), dtype=dtype), xp.ones((units,), dtype=dtype), base((2 * units,), dtype=dtype)]
            return xp.concatenate([xp.asarray(backend.to_numpy(p)) for p in parts])
        return init

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRU(_RNN):
    """Gated recurrent unit (Keras 3 default ``reset_after=True``: bias (2, 3*units)); gates z, r, h."""

    kind, gates, n_states = "gru", 3, 1

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _kernel_kwargs(self):
        return dict(super()._kernel_kwargs(), reset_after=self.reset_after)

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


class Bidirectional(Layer):
    """Runs ``layer`` forwards and a copy of it backwards over time and merges the two outputs.

    ``merge_mode``: "concat" (default), "sum", "mul", "ave" or None (a list of both outputs).
    """

    _modes = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, _RNN):
            raise ValueError(f"Bidirectional needs a SimpleRNN, LSTM or GRU layer, got {layer!r}.")
        if merge_mode not in self._modes:
            raise ValueError(f"Bidirectional: `merge_mode` must be one of {list(self._modes)}, got {merge_mode!r}.")
        super().__init__(**kwargs)
        config = layer.get_config()
        config.pop("batch_input_shape", None)
        config["name"] = "forward_" + layer.name
        self.forward_layer = type(layer).from_config(config)
        if backward_layer is None:
            config = dict(config, name="backward_" + layer.name, go_backwards=not layer.go_backwards)
            backward_layer = type(layer).from_config(config)
        elif backward_layer.return_sequences != layer.return_sequences or \
                backward_layer.return_state != layer.return_state:
            raise ValueError("Bidirectional: `backward_layer` must have the same return_sequences and "
                             "return_state as `layer`.")
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "mul":
            return y * y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) * 0.5
        return [y, y_rev]

    def call(self, inputs, training=None, initial_state=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(inputs, training=training, initial_state=fwd_state)
        y_rev = self.backward_layer(inputs, training=training, initial_state=bwd_state)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        out = self._merge(y, y_rev)
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            states = shape[1:] + self.backward_layer.compute_output_shape(input_shape)[1:]
            shape = shape[0]
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (2 * shape[-1],)
        out = [tuple(shape), tuple(shape)] if self.merge_mode is None else tuple(shape)
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + [tuple(s) for s in states]
        return out

    def get_config(self):
        config = super().get_config()
        fwd = self.forward_layer.get_config()
        fwd["name"] = fwd["name"][len("forward_"):]
        config["layer"] = {"class_name": type(self.forward_layer).__name__, "config": fwd}
        config["merge_mode"] = self.merge_mode
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        spec = config.pop("layer")
        layer_cls = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}[spec["class_name"]]
        return cls(layer_cls.from_config(spec["config"]), **config)
