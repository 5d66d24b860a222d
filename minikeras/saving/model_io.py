"""``model.save(path)`` and ``load_model(path)``: architecture, weights and optimizer state.

A model file is a zip (minikeras's own format, whatever the suffix: ``.keras``, ``.h5``
or none) holding::

    metadata.json        {"format": "minikeras.model", "format_version": 1, ...}
    config.json          the model's Keras-style config, with "build_config" and
                         "compile_config" (optimizer config, loss, loss_weights, metrics)
    model.weights.json   weight manifest (see weights_io)
    model.weights.npz    weight arrays
    optimizer.npz        optimizer state (iterations, learning rate, slots), when compiled

Loading restores the optimizer state, so ``fit`` continues exactly where it stopped. The
global random generator (used to shuffle batches and draw dropout masks) is not part of
the file: to continue bit-for-bit, reseed with ``keras.utils.set_random_seed`` before the
next ``fit`` in both runs, or fit with ``shuffle=False`` and no dropout.
"""
import json

import numpy as np

from .. import backend, layers, registry
from ..registry import (CustomObjectScope, deserialize_callable, get_registered_object, serialize_callable,
                        to_jsonable)
from . import weights_io

_FAMILY = {"loss": "losses", "metric": "metrics"}

OPTIMIZER_ARRAYS = weights_io.OPTIMIZER_ARRAYS


# ----------------------------------------------------------------------------- compile config
def _serialize_identifier(value, kind):
    """A loss/metric identifier as JSON: names stay names, objects become config dicts."""
    from .. import losses, metrics
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _serialize_identifier(v, kind) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_identifier(v, kind) for v in value]
    if isinstance(value, losses.LossFunctionWrapper) and type(value) is losses.LossFunctionWrapper:
        if not value._fn_kwargs:
            return serialize_callable(value.fn)
    if type(value) is metrics.MeanMetricWrapper:
        if not value._fn_kwargs:
            return serialize_callable(value._fn)
    if type(value).__name__ == "_AutoAccuracy":
        return value.name
    if isinstance(value, type):
        return value.__name__
    if hasattr(value, "get_config"):
        return registry.serialize(value)
    if callable(value):
        return serialize_callable(value)
    raise TypeError(f"Cannot save the {kind} {value!r}: expected a name, a function or an object with "
                    "get_config().")


def _deserialize_identifier(value, kind, custom_objects):
    from .. import losses, metrics
    if value is None:
        return None
    if isinstance(value, list):
        return [_deserialize_identifier(v, kind, custom_objects) for v in value]
    if isinstance(value, str):
        custom = get_registered_object(value, custom_objects)
        if custom is not None:
            return custom
        known = registry.builtin_objects(_FAMILY[kind])
        if value in known or value.lower() in (("accuracy", "acc") if kind == "metric" else ("crossentropy", "ce")):
            return value
        if hasattr(losses if kind == "loss" else metrics, value):
            return getattr(losses if kind == "loss" else metrics, value)
        raise ValueError(f"Could not locate {kind} function {value!r}. Register it with "
                         f"@keras.saving.register_keras_serializable() or pass "
                         f"custom_objects={{{value!r}: {value}}} to load_model.")
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_identifier(v, kind, custom_objects) for k, v in value.items()}
    if value.get("class_name") == "function":
        return deserialize_callable(value, custom_objects, kind)
    return registry.deserialize(value, custom_objects, family=_FAMILY[kind])


def get_compile_config(model):
    """What ``compile`` was given, as JSON (None when the model is not compiled)."""
    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    args = getattr(model, "_compile_config", None)
    if args is None:  # compiled before _compile_config existed: recover what we can
        args = {"loss": model.loss, "metrics": None, "loss_weights": None, "weighted_metrics": None}
    return {"optimizer": registry.serialize(model.optimizer),
            "loss": _serialize_identifier(args.get("loss"), "loss"),
            "loss_weights": to_jsonable(args.get("loss_weights")),
            "metrics": _serialize_identifier(args.get("metrics"), "metric"),
            "weighted_metrics": _serialize_identifier(args.get("weighted_metrics"), "metric")}


def compile_from_config(model, config, custom_objects=None):
    """``model.compile(...)`` with the objects ``get_compile_config`` described."""
    with CustomObjectScope(custom_objects or {}):
        optimizer = registry.deserialize(config["optimizer"], custom_objects, family="optimizers")
        kwargs = {"optimizer": optimizer,
                  "loss": _deserialize_identifier(config.get("loss"), "loss", custom_objects),
                  "loss_weights": config.get("loss_weights"),
                  "metrics": _deserialize_identifier(config.get("metrics"), "metric", custom_objects)}
        weighted = _deserialize_identifier(config.get("weighted_metrics"), "metric", custom_objects)
        if weighted is not None:
            kwargs["weighted_metrics"] = weighted
        model.compile(**kwargs)


# ----------------------------------------------------------------------------- save / load
def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs):
    """Save architecture, weights, compile config and optimizer state in one zip file.

    Accepts Keras's extra arguments (``save_format``, ``zipped``) and ignores them: there is
    one format. Any suffix works (``.keras`` is the Keras 3 convention).
    """
    if not model.built:
        raise ValueError(f"Model {model.name!r} has not been built yet, so it has no weights to save. "
                         "Call it on data, fit it or call model.build(input_shape) first.")
    path = weights_io.resolve_path(filepath, "model.keras")
    config = layers.serialize(model)
    if include_optimizer:
        compile_config = get_compile_config(model)
        if compile_config is not None:
            config["compile_config"] = compile_config
    try:
        config_bytes = json.dumps(config, indent=1).encode("utf-8")
    except TypeError as exc:
        raise TypeError(f"Cannot save model {model.name!r}: its config is not JSON-serializable ({exc}).") from exc
    meta = weights_io.metadata(weights_io.MODEL_FORMAT)
    members = {"metadata.json": b"", "config.json": config_bytes}
    members.update(weights_io.weights_members(model))
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and "compile_config" in config and optimizer is not None:
        store = {}
        optimizer.save_own_variables(store)
        members[OPTIMIZER_ARRAYS] = weights_io.arrays_to_npz(
            {k: np.asarray(backend.to_numpy(v)) for k, v in store.items()})
        meta["optimizer_built"] = bool(getattr(optimizer, "built", False))
    members["metadata.json"] = json.dumps(meta).encode("utf-8")
    weights_io.write_archive(path, members, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved by ``model.save``: architecture, weights and (with ``compile=True``)
    the compiled loss/metrics and optimizer with its state. Nothing in the file is executed:
    custom classes and functions are found via registration or ``custom_objects``."""
    wanted = weights_io.ALL_MEMBERS if compile else weights_io.ALL_MEMBERS[:3]  # no optimizer state
    path, meta, members = weights_io.read_archive(filepath, (weights_io.MODEL_FORMAT,), wanted)
    if "config.json" not in members:
        raise ValueError(f"{path!r} is incomplete: it has no config.json.")
    config = weights_io.parse_json(members["config.json"], path, "config.json")
    with CustomObjectScope(custom_objects or {}):
        try:
            model = layers.deserialize(config, custom_objects)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"Cannot load the model in {path!r}: {exc}") from exc
        weights_io.load_weights_from_members(model, members, path)
        compile_config = config.get("compile_config")
        if compile and compile_config:
            compile_from_config(model, compile_config, custom_objects)
            if OPTIMIZER_ARRAYS in members:
                declared = weights_io.declared_weight_bytes(
                    weights_io.parse_json(members[weights_io.WEIGHTS_MANIFEST], path,
                                          weights_io.WEIGHTS_MANIFEST))
                store = weights_io.npz_to_arrays(
                    members[OPTIMIZER_ARRAYS], path, OPTIMIZER_ARRAYS,
                    max_bytes=None if declared is None else weights_io.optimizer_limit(*declared))
                optimizer = model.optimizer
                if meta.get("optimizer_built") and model.trainable_weights:
                    optimizer.build(model.trainable_weights)
                optimizer.load_own_variables(store)
    return model

