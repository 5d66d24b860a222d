"""Optimizers with Keras 3's update rules, names and defaults (``keras.optimizers``).

``get("adam")`` builds one with the Keras defaults, ``get(instance)`` returns it, and
``get({"class_name": "SGD", "config": {...}})`` rebuilds one from a config.
"""
from . import schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

ALL_OBJECTS = (SGD, RMSprop, Adam, AdamW, Nadam, Adagrad)
_BY_NAME = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def serialize(optimizer):
    """A Keras-style dict ``{"module", "class_name", "config", "registered_name"}``."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from ``serialize``'s dict (class names are case-insensitive)."""
    name = config.get("class_name")
    custom = custom_objects or {}
    cls = custom.get(name) or _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer {name!r}; valid choices are {sorted(_BY_NAME)}.")
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects) \
        if issubclass(cls, Optimizer) else cls(**(config.get("config") or {}))


def get(identifier):
    """An optimizer from a name ("sgd", "adam", ...), a config dict or an instance."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier!r}; valid choices are {sorted(_BY_NAME)}.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}; expected a name "
                     f"({sorted(_BY_NAME)}), a config dict or an Optimizer instance.")


__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Nadam", "Adagrad", "schedules",
           "get", "serialize", "deserialize"]
