"""Choices and defaults of the unrolling explorer (no UI code here)."""

CELLS = ("simple_rnn", "lstm", "gru")
CELL_NAMES = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
LAYER_KINDS = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}

# Activations the explorer can differentiate by hand (its backward pass is written out).
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid")

# The recurrent weight scale multiplies the recurrent kernel. With an orthogonal kernel (the
# Keras default initializer) the scale is the spectral radius: below 1 gradients shrink
# geometrically along the unrolled graph, above 1 they can grow.
SCALES = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0)

GATE_NAMES = {"simple_rnn": (), "lstm": ("i", "f", "c", "o"), "gru": ("z", "r", "h")}
GATE_TITLES = {"i": "input gate i", "f": "forget gate f", "c": "candidate c~", "o": "output gate o",
               "z": "update gate z", "r": "reset gate r", "h": "candidate h~"}

DEFAULT_UNITS = 8
MAX_SVG_STEPS = 60        # the unrolled graph shows at most this many steps (around the current one)
MAX_SVG_UNITS = 32        # hidden units drawn per step in the graph (all are in the plots)
