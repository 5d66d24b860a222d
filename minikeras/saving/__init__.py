"""Saving and loading (``keras.saving``): whole models and weights in minikeras's file formats.

Files use minikeras's own zip + JSON + ``.npz`` format (never pickle, never HDF5), whatever
the suffix; see ``model_io`` and ``weights_io`` for the layout. The object registry and the
config layout live in ``minikeras.registry``; their Keras names are re-exported here.
"""
from .model_io import compile_from_config, get_compile_config, load_model, save_model
from .weights_io import load_weights, save_weights
# (after load_model: ``minikeras.models`` imports it back from here)
from ..models.cloning import clone_model
from ..models.functional_config import functional_config, functional_from_config
from ..registry import (CustomObjectScope, custom_object_scope, deserialize_callable, get_custom_objects,
                        get_registered_name, get_registered_object, register_keras_serializable,
                        serialize_callable)
from ..registry import deserialize as deserialize_keras_object
from ..registry import serialize as serialize_keras_object
from ..layers import deserialize as deserialize_layer
from ..layers import serialize as serialize_layer

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "clone_model",
           "functional_config", "functional_from_config", "get_compile_config", "compile_from_config",
           "register_keras_serializable", "get_registered_name", "get_registered_object",
           "get_custom_objects", "CustomObjectScope", "custom_object_scope",
           "serialize_keras_object", "deserialize_keras_object", "serialize_layer", "deserialize_layer",
           "serialize_callable", "deserialize_callable"]
