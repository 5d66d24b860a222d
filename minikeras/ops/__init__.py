"""``minikeras.ops``: Keras 3's op namespace, differentiable through the autodiff engine.

Every function accepts tensors, variables, arrays or Python numbers and returns a ``Tensor``.
Each differentiable op is a kernel pair from ``minikeras.kernels`` bound once with
``autodiff.function``; comparison and index ops return tensors that carry no gradient.
The modules follow Keras's split: ``core`` (conversion, casting), ``numpy`` (arithmetic,
reductions, shapes), ``nn`` (activations, dense, conv, pooling, normalization, dropout) and
``rnn`` (whole-sequence SimpleRNN, LSTM and GRU).
"""
from .core import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .numpy import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
