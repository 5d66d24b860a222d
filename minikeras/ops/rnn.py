"""Recurrent ops over whole sequences: SimpleRNN, LSTM and GRU (Keras 3 weight layouts).

Each is one node of several outputs: the sequence and the final state(s) (LSTM: h and c),
so the layer can return any of them without extra nodes; the kernel's BPTT receives the
gradients of all of them at once. Dropout masks are constants (``input_mask`` for the
inputs, ``state_mask`` for the state fed back, each shared by the gates or one per gate),
drawn by the layer. ``mask`` (batch, time) marks the real steps, as Keras's ``mask``:
masked steps keep the state, and their outputs follow Keras 3 (``zero_output_for_mask``).
"""
from ..autodiff import as_array, function
from ..kernels import recurrent as R
from ..kernels.parallel import batch_split
from .core import convert_to_tensor
from .numpy import getitem

__all__ = ["simple_rnn", "lstm", "gru"]

# Names of the activations the recurrent kernels fuse (Keras 3's hard_sigmoid included).
RNN_ACTIVATIONS = frozenset(R.ACTIVATIONS)

# The kernels' backward take the upstream gradients as separate arguments, in output order.
# Sequences never meet, so each op runs its kernel on chunks of the batch at once (the inputs
# cut along the batch: x and the initial states; see ``kernels.parallel.batch_split``).
_simple_rnn = function(*batch_split(R.simple_rnn_forward,
                                    lambda g, cache, needs: R.simple_rnn_backward(*g, cache, needs), (0, 4)))
_lstm = function(*batch_split(R.lstm_forward, lambda g, cache, needs: R.lstm_backward(*g, cache, needs), (0, 4, 5)))
_gru = function(*batch_split(R.gru_forward, lambda g, cache, needs: R.gru_backward(*g, cache, needs), (0, 4)))


def _inputs(kind, x, kernel, recurrent_kernel, bias, states, n_states):
    """The positional inputs of the kernel: x, the weights, then one entry per state (or None)."""
    if states is not None and not isinstance(states, (list, tuple)):
        states = [states]
    if states is not None and len(states) != n_states:
        raise ValueError(f"{kind}: expected {n_states} initial state(s), got {len(states)}.")
    states = [None] * n_states if states is None else [None if s is None else convert_to_tensor(s) for s in states]
    bias = None if bias is None else convert_to_tensor(bias)
    return (convert_to_tensor(x), convert_to_tensor(kernel), convert_to_tensor(recurrent_kernel), bias, *states)


def _select(outputs, return_sequences, return_state, last_from_sequence=False):
    """What the layer returns: the last output or the sequence, then the states if asked.

    The last output is the final hidden state, except with a mask when outputs and states
    can differ (an initial state, or ``zero_output_for_mask``): then it is the sequence's last step.
    """
    sequence, states = outputs[0], list(outputs[1:])
    if return_sequences:
        out = sequence
    elif last_from_sequence:
        out = getitem(sequence, (slice(None), -1))
    else:
        out = states[0]
    return [out] + states if return_state else out


def _masks(mask, initial_state, zero_output_for_mask):
    """The kernel's mask attributes, and whether the last output must come from the sequence."""
    if mask is None:
        return {}, False
    mask = as_array(mask)
    return dict(mask=mask, zero_output_for_mask=bool(zero_output_for_mask)), \
        bool(zero_output_for_mask) or initial_state is not None


def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
               go_backwards=False, return_sequences=False, return_state=False,
               input_mask=None, state_mask=None, mask=None, zero_output_for_mask=False):
    """Differentiable SimpleRNN over a whole sequence.

    Returns the last output (or the sequence); with ``return_state`` a list
    ``[output, h]``. ``initial_state`` is a tensor or a one-element list.
    """
    masks, last_from_sequence = _masks(mask, initial_state, zero_output_for_mask)
    outputs = _simple_rnn(*_inputs("simple_rnn", x, kernel, recurrent_kernel, bias, initial_state, 1),
                          activation=activation, go_backwards=go_backwards,
                          input_mask=as_array(input_mask), state_mask=as_array(state_mask), **masks)
    return _select(outputs, return_sequences, return_state, last_from_sequence)


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
         recurrent_activation="sigmoid", go_backwards=False, return_sequences=False,
         return_state=False, input_mask=None, state_mask=None, mask=None, zero_output_for_mask=False):
    """Differentiable LSTM; ``initial_state`` is ``[h0, c0]``; ``return_state`` gives ``[out, h, c]``."""
    masks, last_from_sequence = _masks(mask, initial_state, zero_output_for_mask)
    outputs = _lstm(*_inputs("lstm", x, kernel, recurrent_kernel, bias, initial_state, 2),
                    activation=activation, recurrent_activation=recurrent_activation,
                    go_backwards=go_backwards, input_mask=as_array(input_mask), state_mask=as_array(state_mask),
                    **masks)
    return _select(outputs, return_sequences, return_state, last_from_sequence)


def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True, go_backwards=False, return_sequences=False,
        return_state=False, input_mask=None, state_mask=None, mask=None, zero_output_for_mask=False):
    """Differentiable GRU (Keras 3 layout; ``reset_after`` as in Keras); ``return_state`` gives ``[out, h]``."""
    masks, last_from_sequence = _masks(mask, initial_state, zero_output_for_mask)
    outputs = _gru(*_inputs("gru", x, kernel, recurrent_kernel, bias, initial_state, 1),
                   activation=activation, recurrent_activation=recurrent_activation, reset_after=reset_after,
                   go_backwards=go_backwards, input_mask=as_array(input_mask), state_mask=as_array(state_mask),
                   **masks)
    return _select(outputs, return_sequences, return_state, last_from_sequence)
