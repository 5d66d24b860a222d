"""Keras utilities the seeds use: ``to_categorical``, ``set_random_seed``, ``clear_session``,
``plot_model``, ``pad_sequences``."""
import numpy as np

from .backend import clear_session, set_random_seed  # noqa: F401
from .callbacks.lr_finder import find_learning_rate  # noqa: F401
from .model_visualization import model_to_dot, plot_model  # noqa: F401
from .preprocessing.sequence import pad_sequences  # noqa: F401
# Keras 3 also exports the object registry from keras.utils.
from .registry import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,  # noqa: F401
                       get_registered_object, register_keras_serializable)
from .registry import deserialize as deserialize_keras_object  # noqa: F401
from .registry import serialize as serialize_keras_object  # noqa: F401


def to_categorical(x, num_classes=None):
    """One-hot encode integer labels: 2 -> [0, 0, 1, 0, ...]. Inverse: ``argmax(axis=-1)``."""
    y = np.asarray(x)
    if y.size and (y.dtype.kind == "f" and not np.all(np.equal(np.mod(y, 1), 0))):
        raise ValueError("to_categorical expects integer class labels; got non-integer values.")
    y = y.astype("int64")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {int(y.min())}.")
    n = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and y.max() >= n:
        raise ValueError(f"to_categorical: label {int(y.max())} is out of range for num_classes={n}.")
    out = np.zeros(y.shape + (n,), dtype="float32")
    np.put_along_axis(out, y[..., None], 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    x = np.asarray(x, dtype="float32")
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)
