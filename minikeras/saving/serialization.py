"""Keras-style object configs: the class registry, ``custom_objects`` and (de)serialization.

Every saveable object becomes a JSON-friendly dict in Keras 3's layout::

    {"module": "keras.layers", "class_name": "Dense", "config": {...}, "registered_name": None}

and plain functions (custom activations, losses, metrics) become
``{"module": ..., "class_name": "function", "config": "<name>", "registered_name": ...}``.
Deserializing only ever *looks up* classes and functions the running program already
has (built-ins, ``@register_keras_serializable`` and ``custom_objects``); no code is read
from a config.
"""
import inspect

import numpy as np

# registered name ("package>Name") -> class or function; also what get_custom_objects() returns
_GLOBAL_CUSTOM_OBJECTS = {}
# id(object) -> registered name
_GLOBAL_CUSTOM_NAMES = {}
# stack of dicts pushed by custom_object_scope / load_model(custom_objects=...)
_SCOPE_STACK = []


# ----------------------------------------------------------------------------- registry
def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class (with ``get_config``) or function loadable by its registered name.

    The name stored in saved files is ``"<package>><name>"`` (``name`` defaults to ``__name__``).
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: `package` must be a string without '>', got {package!r}.")

    def decorator(obj):
        short = name or getattr(obj, "__name__", None)
        if not short:
            raise ValueError(f"register_keras_serializable: cannot find a name for {obj!r}; pass name=.")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register class {obj.__name__!r}: it has no get_config() method, "
                             "so it could not be saved.")
        key = f"{package}>{short}"
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[id(obj)] = key
        return obj
    return decorator


def get_registered_name(obj):
    """The registered name of ``obj`` (``"package>Name"``), else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(id(obj)) or getattr(obj, "__name__", type(obj).__name__)


def get_custom_objects():
    """The global dict of registered objects (you may also add entries to it by hand)."""
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}):`` makes those names resolvable while loading."""

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for d in custom_objects:
            self.custom_objects.update(d or {})

    def __enter__(self):
        _SCOPE_STACK.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _SCOPE_STACK.pop()


custom_object_scope = CustomObjectScope


def _scope_objects(custom_objects=None):
    merged = {}
    for d in _SCOPE_STACK:
        merged.update(d)
    merged.update(custom_objects or {})
    return merged


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class/function saved under ``name``: custom_objects and scopes first, then the
    registry (by full ``package>Name`` or, when unambiguous, by the short name), then
    ``module_objects``. None when nothing matches."""
    if name is None:
        return None
    scoped = _scope_objects(custom_objects)
    if name in scoped:
        return scoped[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    short = name.split(">")[-1]
    if short in scoped:
        return scoped[short]
    matches = [v for k, v in _GLOBAL_CUSTOM_OBJECTS.items() if k.split(">")[-1] == short]
    if len(matches) == 1:
        return matches[0]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def _missing(kind, class_name, registered_name=None, what="class"):
    """The error for a class or function that neither custom_objects nor the registry has."""
    label = registered_name if registered_name and registered_name != class_name else class_name
    return ValueError(
        f"Could not locate {kind} {what} {label!r}. Register it with "
        f"@keras.saving.register_keras_serializable() (and import the module that defines it), or pass "
        f"custom_objects={{{str(class_name)!r}: {class_name}}} to load_model.")


# ----------------------------------------------------------------------------- JSON helpers
def to_jsonable(value, where="config"):
    """``value`` with tuples as lists and NumPy scalars/arrays/dtypes as plain Python values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, where) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype):
        return value.name
    if hasattr(value, "shape") and hasattr(value, "tolist"):
        from .. import backend
        return backend.to_numpy(value).tolist()
    if callable(value):
        return serialize_callable(value)
    if hasattr(value, "get_config"):
        return serialize_keras_object(value)
    raise TypeError(f"Cannot save {where}: the value {value!r} of type {type(value).__name__} is not "
                    "JSON-serializable.")


def shapes_to_tuples(value):
    """JSON lists back to shape tuples: ``[None, 4]`` -> ``(None, 4)``; lists of shapes stay lists."""
    if isinstance(value, dict):
        return {k: shapes_to_tuples(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value):
            return tuple(value)
        return [shapes_to_tuples(v) for v in value]
    return value


# ----------------------------------------------------------------------------- functions
def _builtin_function_name(fn):
    """The name under which a built-in minikeras function can be found again, else None."""
    from .. import activations, losses, metrics
    name = getattr(fn, "__name__", None)
    for module in (activations, losses, metrics):
        if name and getattr(module, name, None) is fn:
            return name
    return None


def serialize_callable(fn):
    """A built-in function's name, or Keras 3's dict for a custom one (name only, never code)."""
    builtin = _builtin_function_name(fn)
    if builtin is not None:
        return builtin
    name = getattr(fn, "__name__", None)
    if name is None:
        raise TypeError(f"Cannot save the callable {fn!r}: it has no __name__. Use a function defined "
                        "with `def`, or a class with get_config().")
    return {"module": getattr(fn, "__module__", None), "class_name": "function", "config": name,
            "registered_name": get_registered_name(fn)}


def deserialize_callable(config, custom_objects=None, kind="function"):
    """The function that ``serialize_callable`` described (looked up, never rebuilt from code)."""
    if callable(config):
        return config
    if isinstance(config, str):
        fn = get_registered_object(config, custom_objects)
        if fn is None:
            raise _missing(kind, config, what="function")
        return fn
    name = config.get("config")
    fn = get_registered_object(config.get("registered_name"), custom_objects) or \
        get_registered_object(name, custom_objects)
    if fn is None:
        if name == "<lambda>":
            raise ValueError(f"Cannot load {kind}: it was an anonymous lambda, and minikeras never "
                             "saves code. Define it with `def` and register it, or pass it via "
                             "custom_objects={'<lambda>': fn}.")
        raise _missing(kind, name, config.get("registered_name"), what="function")
    return fn


# ----------------------------------------------------------------------------- classes
def _layer_modules(package):
    """The ``minikeras.layers`` package and its submodules (built-in layers may live in any)."""
    import importlib
    import pkgutil
    modules = []
    for info in pkgutil.iter_modules(package.__path__):
        try:
            modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
        except Exception:  # a half-written module must not break loading the others
            continue
    return modules


def _builtin_classes(kind):
    """name -> class for the built-in classes of one family (looked up lazily: modules grow)."""
    from .. import constraints, initializers, losses, metrics, optimizers, regularizers
    from ..optimizers import schedules
    if kind == "layer":
        from .. import layers, models
        from ..layers.base import Layer
        from ..models.functional import Functional
        out = {}
        for module in _layer_modules(layers):
            out.update({n: c for n, c in vars(module).items()
                        if inspect.isclass(c) and issubclass(c, Layer) and c.__module__.startswith("minikeras.")
                        and not n.startswith("_")})
        out.update({n: c for n, c in vars(layers).items() if inspect.isclass(c) and issubclass(c, Layer)})
        out.update(Sequential=models.Sequential, Functional=Functional, Model=models.Model)
        return out
    if kind == "loss":
        return {n: c for n, c in vars(losses).items() if inspect.isclass(c) and issubclass(c, losses.Loss)}
    if kind == "metric":
        return {n: c for n, c in vars(metrics).items() if inspect.isclass(c) and issubclass(c, metrics.Metric)}
    if kind == "optimizer":
        return {n: c for n, c in vars(optimizers).items()
                if inspect.isclass(c) and issubclass(c, optimizers.Optimizer)}
    if kind == "schedule":
        return {n: c for n, c in vars(schedules).items()
                if inspect.isclass(c) and issubclass(c, schedules.LearningRateSchedule)}
    return {"initializer": initializers.ALL_OBJECTS, "regularizer": regularizers.ALL_OBJECTS,
            "constraint": constraints.ALL_OBJECTS}.get(kind, {})


_MODULES = {"layer": "keras.layers", "loss": "keras.losses", "metric": "keras.metrics",
            "optimizer": "keras.optimizers", "schedule": "keras.optimizers.schedules",
            "initializer": "keras.initializers", "regularizer": "keras.regularizers",
            "constraint": "keras.constraints"}


def _kind_of(obj):
    from .. import constraints, initializers, losses, metrics, optimizers, regularizers
    from ..layers.base import Layer
    from ..optimizers import schedules
    for kind, base in (("layer", Layer), ("loss", losses.Loss), ("metric", metrics.Metric),
                       ("optimizer", optimizers.Optimizer), ("schedule", schedules.LearningRateSchedule),
                       ("initializer", initializers.Initializer), ("regularizer", regularizers.Regularizer),
                       ("constraint", constraints.Constraint)):
        if isinstance(obj, base):
            return kind
    return None


def _check_config_covers_init(obj, config):
    """Custom classes whose __init__ needs arguments must put them in get_config (as in Keras)."""
    try:
        params = inspect.signature(type(obj).__init__).parameters
    except (TypeError, ValueError):
        return
    required = [n for n, p in list(params.items())[1:]
                if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in config]
    if required:
        raise NotImplementedError(
            f"{type(obj).__name__} {getattr(obj, 'name', '')!r} cannot be saved: its __init__() needs "
            f"{required}, but get_config() does not return them. Override get_config() to return "
            f"{{**super().get_config(), {', '.join(repr(r) + ': ...' for r in required)}}}.")


def serialize_keras_object(obj):
    """Keras 3's ``{"module", "class_name", "config", "registered_name"}`` dict for ``obj``."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(o) for o in obj]
    if isinstance(obj, dict) and "class_name" not in obj:
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    kind = _kind_of(obj)
    if kind == "layer":
        return serialize_layer(obj)
    if kind is None and (inspect.isfunction(obj) or inspect.isbuiltin(obj)):
        return serialize_callable(obj)
    if not hasattr(obj, "get_config"):
        if callable(obj):
            return serialize_callable(obj)
        raise TypeError(f"Cannot serialize {obj!r}: it has no get_config() method.")
    cls = type(obj)
    builtin = _builtin_classes(kind).get(cls.__name__) is cls if kind else False
    config = obj.get_config()
    if not builtin:
        _check_config_covers_init(obj, config)
    return {"module": _MODULES[kind] if builtin else cls.__module__, "class_name": cls.__name__,
            "config": to_jsonable(config, f"the config of {cls.__name__}"),
            "registered_name": None if builtin else get_registered_name(cls)}


def _lookup_class(config, kind, custom_objects=None):
    class_name = config.get("class_name")
    registered = config.get("registered_name")
    cls = get_registered_object(registered, custom_objects) if registered else None
    if cls is None:
        cls = get_registered_object(class_name, custom_objects)
    if cls is None:
        builtins = _builtin_classes(kind)
        cls = builtins.get(class_name)
        if cls is None and kind != "layer":
            cls = {k.lower(): v for k, v in builtins.items()}.get(str(class_name).lower())
    if cls is None:
        raise _missing(kind, class_name, registered)
    return cls


def deserialize_keras_object(config, custom_objects=None, kind=None):
    """Rebuild an object from ``serialize_keras_object``'s dict (looks classes up by name)."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, list):
        return [deserialize_keras_object(c, custom_objects, kind) for c in config]
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects)
        return config if obj is None else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize {config!r}: expected a dict with 'class_name' and 'config'.")
    if config["class_name"] == "function":
        return deserialize_callable(config, custom_objects, kind or "function")
    if kind is None:
        kind = {v: k for k, v in _MODULES.items()}.get(config.get("module"), "layer")
    if kind == "layer":
        return deserialize_layer(config, custom_objects)
    cls = _lookup_class(config, kind, custom_objects)
    inner = dict(config.get("config") or {})
    with CustomObjectScope(custom_objects or {}):
        try:
            if kind == "optimizer" and "custom_objects" in inspect.signature(cls.from_config).parameters:
                return cls.from_config(inner, custom_objects=_scope_objects(custom_objects))
            return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)
        except TypeError as exc:
            raise TypeError(f"Could not rebuild {kind} {config['class_name']!r} from its config {inner}: "
                            f"{exc}. Does its get_config() return every __init__ argument?") from exc


# ----------------------------------------------------------------------------- layers
def serialize_layer(layer):
    """A layer (or model) as a Keras-style dict, with ``build_config`` when it is built."""
    from ..layers.base import Layer
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize_layer expects a Layer, got {type(layer).__name__}.")
    cls = type(layer)
    builtin = _builtin_classes("layer").get(cls.__name__) is cls
    config = dict(layer.get_config())
    from ..layers.core import Lambda
    if isinstance(layer, Lambda) and "function" not in config:
        config["function"] = serialize_callable(layer.function)
        config["arguments"] = layer.arguments
        config["output_shape"] = layer._output_shape
    if not builtin:
        _check_config_covers_init(layer, config)
    out = {"module": "keras.layers" if builtin else cls.__module__, "class_name": cls.__name__,
           "config": to_jsonable(config, f"layer {layer.name!r} ({cls.__name__})"),
           "registered_name": None if builtin else get_registered_name(cls)}
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    if layer.built and not isinstance(layer, (Functional, Sequential)):
        build_config = layer.get_build_config()
        if build_config:
            out["build_config"] = to_jsonable(build_config, f"the build config of layer {layer.name!r}")
    return out


def deserialize_layer(config, custom_objects=None):
    """Rebuild a layer or model from ``serialize_layer``'s dict, and build it when it was built."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize a layer from {config!r}: expected a dict with 'class_name'.")
    from ..layers.core import Lambda
    from ..models.functional import Functional
    from ..models.model import Model
    cls = _lookup_class(config, "layer", custom_objects)
    inner = dict(config.get("config") or {})
    name = inner.get("name", config.get("name"))
    with CustomObjectScope(custom_objects or {}):
        try:
            if issubclass(cls, Model) and "input_layers" in inner and "output_layers" in inner:
                from .graph import functional_from_config
                layer = functional_from_config(inner, cls=cls if issubclass(cls, Functional) else Functional)
            elif issubclass(cls, Lambda) and isinstance(inner.get("function"), (str, dict)):
                inner["function"] = deserialize_callable(inner["function"], kind=f"Lambda layer {name!r}")
                layer = cls.from_config(inner)
            else:
                layer = cls.from_config(inner)
        except TypeError as exc:
            raise TypeError(f"Could not rebuild layer {name!r} of class {config['class_name']!r} from its "
                            f"config: {exc}. A custom layer whose __init__ takes arguments must return "
                            "them from get_config().") from exc
        build_config = config.get("build_config")
        if build_config and not layer.built:
            build_config = shapes_to_tuples(build_config)
            if isinstance(layer, Model) and type(layer).build_from_config is Model.build_from_config:
                if build_config.get("input_shape") is not None:
                    layer.build(build_config["input_shape"])
            else:
                layer.build_from_config(build_config)
    return layer
