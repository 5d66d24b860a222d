"""Optimizers with Keras 3's update rules, names and defaults (``keras.optimizers``).

``get("adam")`` builds one with the Keras defaults, ``get(instance)`` returns it, and
``get({"class_name": "SGD", "config": {...}})`` rebuilds one from a config.
"""
from .. import registry
from . import schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

ALL_OBJECTS = (SGD, RMSprop, Adam, AdamW, Nadam, Adagrad)
registry.register_builtins("optimizers", {cls.__name__.lower(): cls for cls in ALL_OBJECTS}, kind="optimizer",
                           module="keras.optimizers", example="adam", ignore_case=True)
serialize, deserialize, _ = registry.family_functions("optimizers", __name__)


def get(identifier):
    """An optimizer from a name ("sgd", "adam", ...), a config dict or an instance."""
    if identifier is not None and not isinstance(identifier, (str, dict, Optimizer)) \
            and not (isinstance(identifier, type) and issubclass(identifier, Optimizer)):
        raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}; expected a name such "
                         "as 'adam', a config dict or an Optimizer instance.")
    return registry.get("optimizers", identifier)


__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Nadam", "Adagrad", "schedules",
           "get", "serialize", "deserialize"]
