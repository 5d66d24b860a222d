"""Keras layers by family."""
import inspect as _inspect

from .. import registry as _registry
from .base import Layer
from .convolutional import Conv1D, Conv2D
from .core import Activation, Dense, Dropout, Flatten, Lambda, Permute, Reshape
from .embedding import Embedding
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average,
                      concatenate, maximum, minimum, multiply, subtract)
from .input_layer import Input, InputLayer, KerasTensor
from .masking import Masking
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from .preprocessing import Normalization
from .recurrent import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell,
                        StackedRNNCells)
from .wrappers import TimeDistributed

# Keras's short aliases
Convolution1D, Convolution2D = Conv1D, Conv2D
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

_registry.register_builtins(
    "layers", {name: obj for name, obj in list(globals().items())
               if _inspect.isclass(obj) and issubclass(obj, Layer) and not name.startswith("_")},
    kind="layer", module="keras.layers", example="Dense")


def serialize(layer):
    """A layer (or model) as Keras 3's config dict, with ``build_config`` when it is built."""
    if not isinstance(layer, Layer):
        raise TypeError(f"keras.layers.serialize expects a Layer, got {type(layer).__name__}.")
    return _registry.serialize(layer)


def deserialize(config, custom_objects=None):
    """Rebuild a layer or model from ``serialize``'s dict, and build it when it was built."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize a layer from {config!r}: expected a dict with 'class_name'.")
    return _registry.deserialize(config, custom_objects, family="layers")
