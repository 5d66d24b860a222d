"""Recurrent layers, as Keras 3 builds them: cells (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``,
``StackedRNNCells``), the ``RNN(cell)`` layer that runs a cell over time, ``SimpleRNN``,
``LSTM`` and ``GRU`` (an ``RNN`` around their cell, which owns the weights), and ``Bidirectional``.

A built-in cell inside an ``RNN`` runs the whole-sequence kernel of ``kernels/recurrent.py``
through ``ops``: one graph node per layer call, BPTT inside its backward. Any other cell
(your own, with ``state_size`` and ``call(inputs, states)``) runs step by step through the
autodiff engine. Time-step masks, dropout masks, ``stateful`` and the return conventions
are Keras 3's.
"""
import inspect
import numbers

from .. import activations, backend, ops, registry, regularizers
from ..autodiff import Tensor
from ..ops.rnn import RNN_ACTIVATIONS
from ..tree import flatten, map_structure, pack_sequence_as
from ..variables import Variable
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


# The configuration objects of a cell, by argument name.
_CELL_OBJECTS = ("activation", "recurrent_activation", "kernel_initializer", "recurrent_initializer",
                 "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                 "kernel_constraint", "recurrent_constraint", "bias_constraint")


def _positive_units(units, who):
    if isinstance(units, numbers.Integral) and not isinstance(units, bool):
        units = int(units)  # NumPy integers too (scikit-learn's searches draw them)
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"{who}: `units` must be a positive integer, got {units!r}.")
    return units


# ---------------------------------------------------------------- cells


class _Cell(Layer):
    """What SimpleRNNCell, LSTMCell and GRUCell share: arguments, weights, dropout masks, one step.

    Dropout follows Keras's ``DropoutRNNCell``: a mask is drawn for the first step of a sequence
    and reused for every step; with ``implementation=1`` (which ``recurrent_dropout > 0``
    implies, as in Keras) each gate gets its own input mask and its own state mask.
    """

    kind, gates, n_states = "simple_rnn", 1, 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, implementation=2,
                 **kwargs):
        super().__init__(**kwargs)
        who = self._who()
        self.units = _positive_units(units, who)
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{who}: `{arg}` must be in [0, 1), got {rate!r}.")
        self.use_bias = use_bias
        resolve_objects(self, locals(), _CELL_OBJECTS)
        self._act = _kernel_activation(self.activation, "activation", who)
        self._ract = _kernel_activation(self.recurrent_activation, "recurrent_activation", who)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        # A seeded cell draws its own reproducible masks; otherwise the global seed drives them.
        self._generator = None if seed is None else backend.np.random.default_rng(seed)
        self.implementation = 1 if self.recurrent_dropout else int(implementation)
        self._dropout_mask = self._recurrent_dropout_mask = None

    def _who(self):
        return f"{type(self).__name__} {self.name!r}"

    @property
    def state_size(self):
        return self.units if self.n_states == 1 else [self.units] * self.n_states

    @property
    def output_size(self):
        return self.units

    # -- weights ---------------------------------------------------------------
    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
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

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.dtype) for _ in range(self.n_states)]

    # -- dropout ---------------------------------------------------------------
    def _draw(self, shape, rate, like):
        """Inverted-dropout masks: one for every gate, or one per gate (implementation=1)."""
        if self.implementation == 1 and self.gates > 1:
            shape = (self.gates,) + tuple(shape)
        xp = backend.get_array_module(like)
        keep = backend.random_uniform(shape, xp, dtype=like.dtype.name, generator=self._generator) >= rate
        return keep.astype(like.dtype) * like.dtype.type(1.0 / (1.0 - rate))

    def get_dropout_mask(self, step_input):
        """The input mask(s) for this sequence (drawn at the first step, then reused)."""
        if self._dropout_mask is None and self.dropout > 0:
            value = step_input.value if isinstance(step_input, Tensor) else step_input
            self._dropout_mask = self._draw(value.shape, self.dropout, value)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input):
        """The state mask(s) for this sequence (drawn at the first step, then reused)."""
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            value = step_input.value if isinstance(step_input, Tensor) else step_input
            self._recurrent_dropout_mask = self._draw(value.shape, self.recurrent_dropout, value)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None

    # -- computing -------------------------------------------------------------
    def _kernel_kwargs(self):
        return dict(activation=self._act, recurrent_activation=self._ract)

    def _run(self, x, initial_state, input_mask, state_mask, **options):
        """The whole-sequence op with this cell's weights -> [output, *states]."""
        return getattr(ops, self.kind)(x, self.kernel, self.recurrent_kernel, self.bias, initial_state=initial_state,
                                       return_state=True, input_mask=input_mask, state_mask=state_mask,
                                       **options, **self._kernel_kwargs())

    def _sequence(self, x, initial_state, training, **options):
        """This cell over a whole (batch, time, features) sequence, with fresh dropout masks."""
        input_mask = state_mask = None
        if training and self.dropout > 0:
            input_mask = self._draw((x.shape[0], x.shape[2]), self.dropout, x.value)
        if training and self.recurrent_dropout > 0:
            state_mask = self._draw((x.shape[0], self.units), self.recurrent_dropout, x.value)
        return self._run(x, initial_state, input_mask, state_mask, **options)

    def call(self, inputs, states, training=False):
        """One step: ``(output, new_states)``; states as given (a list, or one tensor)."""
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        if len(states) != self.n_states:
            raise ValueError(f"{self._who()} expects {self.n_states} state(s), got {len(states)}.")
        x = cast_to_layer_dtype(self, inputs)
        if x.ndim != 2 or x.shape[-1] != self.kernel.shape[0]:
            raise incompatible_input(self, f"a 2-D input (batch, {self.kernel.shape[0]})", x.shape)
        input_mask = self.get_dropout_mask(x) if training else None
        state_mask = self.get_recurrent_dropout_mask(states[0]) if training else None
        out = self._run(ops.expand_dims(x, 1), states, input_mask, state_mask)
        new_states = list(out[1:])
        return out[0], (new_states if nested else new_states[0])

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, use_bias=self.use_bias, **serialize_objects(self, _CELL_OBJECTS),
                      dropout=self.dropout, recurrent_dropout=self.recurrent_dropout, seed=self.seed)
        return config


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError(f"{type(self).__name__} has no `recurrent_activation` argument.")
        super().__init__(units, activation=activation, **kwargs)

    def _kernel_kwargs(self):
        return dict(activation=self._act)

    def get_config(self):
        config = super().get_config()
        del config["recurrent_activation"]
        return config


class LSTMCell(_Cell):
    """One LSTM step; gates i, f, c, o in the 4*units columns; states [h, c]."""

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


class GRUCell(_Cell):
    """One GRU step (Keras 3 default ``reset_after=True``: bias (2, 3*units)); gates z, r, h."""

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


def _runs_whole_sequences(cell):
    """A built-in cell whose step is the library's: the RNN may run the fused sequence kernel."""
    return isinstance(cell, _Cell) and type(cell).call is _Cell.call


def _check_cell(cell, who):
    if not callable(getattr(cell, "call", None)):
        raise ValueError(f"{who}: argument `cell` should have a `call` method. Received: cell={cell!r}")
    if getattr(cell, "state_size", None) is None:
        raise ValueError(f"{who}: the RNN cell should have a `state_size` attribute (single integer or list "
                         f"of integers, one integer per RNN state). Received: cell={cell!r}")


def _call_cell(cell, inputs, states, training):
    """``cell(inputs, states)`` with ``training`` when its ``call`` takes it."""
    if isinstance(cell, Layer):
        return cell(inputs, states, training=training) if cell._call_accepts_training else cell(inputs, states)
    return cell(inputs, states) if callable(cell) else cell.call(inputs, states)


def _cell_output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is None:
        size = cell.state_size
        size = size[0] if isinstance(size, (list, tuple)) else size
    return size


def _initial_state_of(cell, batch_size, dtype):
    """The cell's ``get_initial_state``, else zeros for each entry of its ``state_size``."""
    fn = getattr(cell, "get_initial_state", None)
    if fn is not None:
        state = fn(batch_size=batch_size)
        return list(state) if isinstance(state, (list, tuple)) else [state]
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [ops.zeros((batch_size, d), dtype=dtype) for d in sizes]


class StackedRNNCells(Layer):
    """Cells run one after the other at each step, each feeding the next (``RNN([cell1, cell2])``)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            _check_cell(cell, f"StackedRNNCells {self.name!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        """One entry per cell: what its ``get_initial_state`` gives, else zeros (a single tensor
        for an integer ``state_size``, as Keras)."""
        states = []
        for cell in self.cells:
            if getattr(cell, "get_initial_state", None) is None and isinstance(cell.state_size, int):
                states.append(ops.zeros((batch_size, cell.state_size), dtype=self.dtype))
            else:
                states.append(_initial_state_of(cell, batch_size, self.dtype))
        return states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._maybe_build(tuple(input_shape))
            input_shape = (input_shape[0], _cell_output_size(cell))
        self.built = True

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            is_list = isinstance(cell_states, (list, tuple))
            inputs, cell_states = _call_cell(cell, inputs, list(cell_states) if is_list else [cell_states], training)
            if not isinstance(cell_states, (list, tuple)):
                cell_states = [cell_states]
            new_states.append(list(cell_states) if is_list or len(cell_states) > 1 else cell_states[0])
        return inputs, new_states

    def get_config(self):
        config = super().get_config()
        config["cells"] = [registry.serialize(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [registry.deserialize(c, custom_objects, family="layers") for c in config.pop("cells")]
        return cls(cells, **config)


def _reset_cell_dropout(cell):
    if isinstance(cell, _Cell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    for sub in getattr(cell, "cells", ()):
        _reset_cell_dropout(sub)


# ---------------------------------------------------------------- RNN


class RNN(Layer):
    """Runs ``cell`` over the time axis of (batch, time, features) inputs (Keras 3's ``RNN``).

    ``cell``: a cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, or any object or layer with
    ``state_size`` and ``call(inputs, states) -> (output, new_states)``) or a list of cells
    (``StackedRNNCells``). Built-in cells run the fused whole-sequence kernel; others step by step.

    ``mask`` (batch, time), given or carried by the input (``Embedding(mask_zero=True)``,
    ``Masking``): masked steps keep the state; their output repeats the previous output
    (zeros before the first real step), or is zero with ``zero_output_for_mask=True``.
    ``stateful=True``: the final states of a batch are the initial states of the next one
    (same batch size every call; ``reset_states()`` zeroes them).
    """

    _supports_masking = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        kwargs.pop("use_cudnn", None)
        kwargs.pop("time_major", None)
        super().__init__(**kwargs)
        _check_cell(cell, self._who())
        if not isinstance(cell.state_size, (list, tuple, int)):
            raise ValueError(f"{self._who()}: state_size must be an integer, or a list/tuple of integers "
                             f"(one for each state tensor), got {cell.state_size!r}.")
        self.cell = cell
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = unroll  # accepted for compatibility; the kernel loops either way
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None
        self._expected_batch_size = None

    def _who(self):
        return f"{type(self).__name__} {self.name!r}"

    @property
    def state_size(self):
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def _check_shape(self, shape):
        check_rank(self, shape, 3, "(batch, timesteps, features)",
                   hint="Reshape sequences to (batch, timesteps, features), e.g. MNIST rows as (28, 28).")

    # -- building and states ---------------------------------------------------
    def build(self, input_shape, initial_state_shape=None):
        self._check_shape(input_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._maybe_build((input_shape[0],) + tuple(input_shape[2:]))
        if self.stateful:
            if self.states is not None:
                self.reset_states()
            else:
                if input_shape[0] is None:
                    raise ValueError("When using `stateful=True` in a RNN, the batch size must be static. Found "
                                     f"dynamic batch size: sequence.shape={tuple(input_shape)}")
                self.states = map_structure(
                    lambda s: Variable(backend.xp().zeros(tuple(s.shape), dtype=s.value.dtype), trainable=False,
                                       name="rnn_state"),
                    self.get_initial_state(input_shape[0]))
                self._expected_batch_size = input_shape[0]
        self.built = True

    def get_initial_state(self, batch_size):
        return _initial_state_of(self.cell, batch_size, self.dtype)

    def reset_states(self):
        """Zero the carried states of a stateful layer (Keras's ``reset_states``)."""
        self.reset_state()

    def reset_state(self):
        if self.states is not None:
            for v in flatten(self.states):
                v.assign(backend.get_array_module(v.value).zeros_like(v.value))

    # -- calling ---------------------------------------------------------------
    def _input_features(self):
        """The feature count a built-in cell's kernel expects (None for other cells)."""
        cell = self.cell
        cells = cell.cells if isinstance(cell, StackedRNNCells) else [cell]
        first = cells[0]
        return first.kernel.shape[0] if isinstance(first, _Cell) and first.built else None

    def _step_mask(self, mask, x):
        """The (batch, time) mask as a boolean array, checked (a list of masks: the first)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if mask is None:
            return None
        m = mask.value if isinstance(mask, Tensor) else backend.convert_to_array(mask)
        if tuple(m.shape) != tuple(x.shape[:2]):
            raise ValueError(f"{self._who()}: the mask must have shape (batch, timesteps) = {tuple(x.shape[:2])}, "
                             f"got {tuple(m.shape)}.")
        return m.astype(bool, copy=False)

    def _initial_states(self, initial_state, batch):
        """The initial states as a list of tensors (nested per cell for stacked cells), checked."""
        if initial_state is None:
            if self.stateful:
                return map_structure(lambda v: Tensor(v.value), self.states)
            return None
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        initial_state = map_structure(lambda s: s if s is None else ops.convert_to_tensor(s), list(initial_state))
        expected = self.get_initial_state(batch)
        if len(flatten(initial_state)) != len(flatten(expected)):
            raise ValueError(f"{self._who()} expects {len(flatten(expected))} initial state(s), "
                             f"got {len(flatten(initial_state))}.")
        for s, e in zip(flatten(initial_state), flatten(expected)):
            if s is not None and s.shape != e.shape:
                raise ValueError(f"{self._who()}: each initial state must have shape {e.shape}, got {s.shape}.")
        return pack_sequence_as(expected, flatten(initial_state))

    def call(self, sequences, initial_state=None, mask=None, training=None):
        self._check_shape(sequences.shape)
        features = self._input_features()
        if features is not None and sequences.shape[-1] != features:
            raise incompatible_input(self, f"axis -1 of the input to have value {features}", sequences.shape)
        x = cast_to_layer_dtype(self, sequences)
        batch = x.shape[0]
        if self.stateful and self._expected_batch_size is not None and batch != self._expected_batch_size:
            raise ValueError("If an RNN is stateful, the batch size of the input sequences must be the same as the "
                             f"batch size of the initial state. \n- Expected batch size: "
                             f"{self._expected_batch_size}\n- Received batch size: {batch}")
        initial = self._initial_states(initial_state, batch)
        step_mask = self._step_mask(mask, x)
        cell = self.cell
        if _runs_whole_sequences(cell):
            out = cell._sequence(x, initial, training, go_backwards=self.go_backwards,
                                 return_sequences=self.return_sequences, mask=step_mask,
                                 zero_output_for_mask=self.zero_output_for_mask)
            output, states = out[0], list(out[1:])
        elif isinstance(cell, StackedRNNCells) and all(_runs_whole_sequences(c) for c in cell.cells):
            output, states = self._stacked_sequences(x, initial, step_mask, training)
        else:
            output, states = self._steps(x, initial, step_mask, training)
        if self.stateful:
            for var, state in zip(flatten(self.states), flatten(states)):
                var.assign(state.value)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(output))
        return [output] + states if self.return_state else output

    def _stacked_sequences(self, x, initial, mask, training):
        """Built-in stacked cells, one whole-sequence kernel per cell: cell k's sequence is cell
        k+1's input. (At masked steps the next cell's input does not matter: its state is kept.)"""
        cells = self.cell.cells
        if self.go_backwards:
            x = ops.flip(x, axis=1)
            mask = None if mask is None else mask[:, ::-1]
        states = []
        for i, cell in enumerate(cells):
            last = i == len(cells) - 1
            out = cell._sequence(x, None if initial is None else initial[i], training, mask=mask,
                                 return_sequences=self.return_sequences or not last,
                                 zero_output_for_mask=self.zero_output_for_mask)
            x = out[0]
            states.append(list(out[1:]))
        return x, states

    def _steps(self, x, initial, mask, training):
        """Any cell, one autodiff-recorded step at a time (Keras 3's ``backend.rnn`` loop)."""
        cell = self.cell
        batch, steps = x.shape[0], x.shape[1]
        states = self.get_initial_state(batch) if initial is None else initial
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs, previous = [], None
        try:
            for t in order:
                out, new_states = _call_cell(cell, ops.getitem(x, (slice(None), t)), states, training)
                if not isinstance(new_states, (list, tuple)):
                    new_states = [new_states]
                new_states = list(new_states)
                if mask is not None:
                    keep = Tensor(mask[:, t:t + 1])
                    out = ops.where(keep, out, ops.zeros_like(out) if previous is None or self.zero_output_for_mask
                                    else previous)
                    flat = [ops.where(keep, n, s) for n, s in zip(flatten(new_states), flatten(states))]
                    new_states = pack_sequence_as(new_states, flat)
                states, previous = new_states, out
                outputs.append(out)
        finally:
            _reset_cell_dropout(cell)
        output = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return output, list(states)

    # -- shapes, masks, config -------------------------------------------------
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        self._check_shape(sequences_shape)
        batch, steps = sequences_shape[0], sequences_shape[1]
        size = _cell_output_size(self.cell)
        out = (batch, steps, size) if self.return_sequences else (batch, size)
        if not self.return_state:
            return out
        if not isinstance(self.cell, StackedRNNCells):
            return [out] + [(batch, s) for s in self.state_size]
        states = []
        for cell in self.cell.cells:  # per cell: a list, or one shape for a plain cell with one state
            sizes = cell.state_size
            if isinstance(sizes, (list, tuple)) or getattr(cell, "get_initial_state", None) is not None:
                states.append([(batch, d) for d in (sizes if isinstance(sizes, (list, tuple)) else [sizes])])
            else:
                states.append((batch, sizes))
        return [out] + states

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(flatten(self.state_size))
        return output_mask

    def _sequence_config(self):
        return dict(return_sequences=self.return_sequences, return_state=self.return_state,
                    go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll,
                    zero_output_for_mask=self.zero_output_for_mask)

    def get_config(self):
        config = super().get_config()
        config.update(self._sequence_config())
        config["cell"] = registry.serialize(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = registry.deserialize(config.pop("cell"), custom_objects, family="layers")
        return cls(cell, **config)


# ---------------------------------------------------------------- SimpleRNN, LSTM, GRU


def _parameters(fn):
    return [p for p in inspect.signature(fn).parameters if p not in ("self", "kwargs", "units")]


class _CellLayer(RNN):
    """An ``RNN`` around its own cell (SimpleRNN, LSTM, GRU): the cell's arguments and weights are
    read through the layer (``layer.units``, ``layer.kernel``, ...), and the config is flat, as Keras's."""

    cell_class = _Cell
    _layer_arguments = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                        "zero_output_for_mask", "activity_regularizer", "use_cudnn", "time_major")

    def __init__(self, units, **kwargs):
        cell_arguments = set(_parameters(self.cell_class.__init__)) | set(_parameters(_Cell.__init__))
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_arguments}
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in self._layer_arguments}
        cell = self.cell_class(units, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                               name=f"{self.cell_class.kind}_cell", **cell_kwargs)
        super().__init__(cell, **layer_kwargs, **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def get_config(self):
        config = Layer.get_config(self)
        cell = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "batch_input_shape"):
            cell.pop(key, None)
        config.update(cell)
        config.update(self._sequence_config())
        config["activity_regularizer"] = serialize_objects(self, ("activity_regularizer",))["activity_regularizer"]
        return config


def _read_through_cell(cls, names):
    """``layer.<name>`` reads (and for the weights, sets) ``layer.cell.<name>``."""
    def make(name):
        def get(self):
            return getattr(self.cell, name)

        def put(self, value):
            setattr(self.cell, name, value)
        return property(get, put if name in ("kernel", "recurrent_kernel", "bias") else None)
    for name in names:
        setattr(cls, name, make(name))
    return cls


_SHARED = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
           "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
           "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed", "kernel",
           "recurrent_kernel", "bias", "implementation")


class SimpleRNN(_CellLayer):
    """Fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

    cell_class = SimpleRNNCell

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError("SimpleRNN has no `recurrent_activation` argument.")
        super().__init__(units, activation=activation, **kwargs)


class LSTM(_CellLayer):
    """Long short-term memory; gates i, f, c, o in the 4*units columns; states [h, c]."""

    cell_class = LSTMCell


class GRU(_CellLayer):
    """Gated recurrent unit (Keras 3 default ``reset_after=True``: bias (2, 3*units)); gates z, r, h."""

    cell_class = GRUCell


_read_through_cell(SimpleRNN, _SHARED)
_read_through_cell(LSTM, _SHARED + ("recurrent_activation", "unit_forget_bias"))
_read_through_cell(GRU, _SHARED + ("recurrent_activation", "reset_after"))


# ---------------------------------------------------------------- Bidirectional


class Bidirectional(Layer):
    """Runs ``layer`` forwards and a copy of it backwards over time and merges the two outputs.

    ``merge_mode``: "concat" (default), "sum", "mul", "ave" or None (a list of both outputs).
    A mask reaches both directions; with ``return_sequences`` both return zeros at masked steps
    (Keras forces ``zero_output_for_mask`` there), so the merged sequence is zero at padding.
    """

    _modes = ("concat", "sum", "mul", "ave", None)
    _supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional needs a recurrent layer (SimpleRNN, LSTM, GRU or RNN), got {layer!r}.")
        if merge_mode not in self._modes:
            raise ValueError(f"Bidirectional: `merge_mode` must be one of {list(self._modes)}, got {merge_mode!r}.")
        super().__init__(**kwargs)
        config = layer.get_config()
        config.pop("batch_input_shape", None)
        config["name"] = "forward_" + layer.name
        self.forward_layer = type(layer).from_config(config)
        if backward_layer is None:
            config = dict(layer.get_config(), name="backward_" + layer.name, go_backwards=not layer.go_backwards)
            config.pop("batch_input_shape", None)
            backward_layer = type(layer).from_config(config)
        else:
            for attribute in ("stateful", "return_sequences", "return_state"):
                if getattr(backward_layer, attribute) != getattr(layer, attribute):
                    raise ValueError(f"Bidirectional: `backward_layer` must have the same {attribute} as `layer`.")
        self.backward_layer = backward_layer
        for direction in (self.forward_layer, self.backward_layer):
            direction.zero_output_for_mask = direction.return_sequences  # as Keras does
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
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

    def call(self, inputs, initial_state=None, mask=None, training=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(inputs, training=training, initial_state=fwd_state, mask=mask)
        y_rev = self.backward_layer(inputs, training=training, initial_state=bwd_state, mask=mask)
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

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else mask
        else:
            output_mask = [None, None] if self.merge_mode is None else None
        if self.return_state:
            states = [None] * (2 * len(flatten(self.forward_layer.state_size)))
            return (output_mask if isinstance(output_mask, list) else [output_mask]) + states
        return output_mask

    @property
    def states(self):
        if self.forward_layer.states is not None and self.backward_layer.states is not None:
            return list(self.forward_layer.states) + list(self.backward_layer.states)
        return None

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

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
        fwd["zero_output_for_mask"] = False
        config["layer"] = {"class_name": type(self.forward_layer).__name__, "config": fwd}
        config["merge_mode"] = self.merge_mode
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        spec = config.pop("layer")
        layer = registry.deserialize(spec, custom_objects, family="layers")
        return cls(layer, **config)
