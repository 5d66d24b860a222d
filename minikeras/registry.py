"""The one object registry: names -> classes and functions, and Keras 3's config layout.

Every family of Keras objects (activations, initializers, regularizers, constraints, layers,
losses, metrics, optimizers, schedules) registers its built-ins here when its module is
imported (``register_builtins``); users register their own classes and functions with
``@register_keras_serializable``, pass ``custom_objects`` or open a ``custom_object_scope``.
This module sits at the bottom of the library, so any level may look a name up without
importing the level that defines it.

Configs use Keras 3's layout::

    {"module": "keras.layers", "class_name": "Dense", "config": {...}, "registered_name": None}

and plain functions (custom activations, losses, metrics) become
``{"module": ..., "class_name": "function", "config": "<name>", "registered_name": ...}``.
Deserializing only ever *looks up* classes and functions the running program already has;
no code is read from a config.
"""
import contextvars
import inspect

import numpy as np

from . import backend


class ObjectNotFoundError(TypeError, ValueError):
    """A name that neither the built-ins, the registry nor ``custom_objects`` know.

    Keras 3 raises a TypeError when it cannot locate a class while loading; earlier
    minikeras raised ValueError, so this is both."""


class Configurable:
    """The base of the small configurable objects (initializers, regularizers, constraints):
    ``get_config`` returns the ``__init__`` arguments, ``from_config`` calls ``__init__`` with
    them, and the repr shows them."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ----------------------------------------------------------------------------- built-in families
class _Family:
    __slots__ = ("name", "kind", "module", "example", "ignore_case", "objects", "lower")

    def __init__(self, name, kind, module, example, ignore_case):
        self.name, self.kind, self.module, self.example = name, kind, module, example
        self.ignore_case = ignore_case
        self.objects = {}  # registered name -> class or function
        self.lower = {}


_FAMILIES = {}
_FAMILY_BY_MODULE = {}
_BUILTIN_OF = {}  # id(object) -> (family, name) for every built-in class and function


def register_builtins(family, objects, *, kind, module=None, example=None, ignore_case=False):
    """Add a family's built-in ``{name: class or function}`` (aliases included).

    ``kind`` names one member in messages ("initializer"); ``module`` is what configs write
    for built-ins ("keras.initializers"); ``example`` is a valid name to quote in errors;
    ``ignore_case`` makes names case-insensitive (optimizers: "Adam" and "adam").
    """
    fam = _FAMILIES.get(family)
    if fam is None:
        fam = _FAMILIES[family] = _Family(family, kind, module, example, ignore_case)
        if module:
            _FAMILY_BY_MODULE[module] = family
    for name, obj in objects.items():
        fam.objects[name] = obj
        fam.lower.setdefault(name.lower(), obj)
        _BUILTIN_OF.setdefault(id(obj), (family, name))
    return objects


def register_builtin_functions(functions):
    """Built-in functions that configs refer to by their ``__name__`` (e.g. ``losses.mae``)
    without making the name a member of a family (there ``"mae"`` is the loss class)."""
    for fn in functions:
        _BUILTIN_OF.setdefault(id(fn), (None, fn.__name__))


def _family(family):
    try:
        return _FAMILIES[family]
    except KeyError:
        raise KeyError(f"Unknown object family {family!r}; registered families are "
                       f"{sorted(_FAMILIES)}.") from None


def builtin_objects(family):
    """A copy of ``{name: object}`` for one family's built-ins."""
    return dict(_family(family).objects)


def is_builtin(obj):
    """True for a built-in minikeras class or function (not a user subclass of one)."""
    return id(obj) in _BUILTIN_OF


def lookup(family, name, custom_objects=None):
    """The class or function called ``name`` in ``family`` (custom objects and scopes first,
    then the built-ins, then everything registered); an error listing the valid names otherwise.

    This is the one place that resolves string identifiers ("relu", "glorot_uniform", "adam").
    """
    fam = _family(family)
    scoped = _scoped(custom_objects)
    if name in scoped:
        return scoped[name]
    obj = fam.objects.get(name)
    if obj is None and fam.ignore_case and isinstance(name, str):
        obj = fam.lower.get(name.lower())
    if obj is None:
        obj = get_registered_object(name, custom_objects)
    if obj is None:
        raise ObjectNotFoundError(
            f"Unknown {fam.kind} {name!r}. Valid {fam.kind}s are: {sorted(fam.objects)}. A custom "
            f"{fam.kind} must be registered with @keras.saving.register_keras_serializable() or "
            "passed in custom_objects.")
    return obj


def get(family, identifier, custom_objects=None):
    """The generic ``get()`` of a family: None stays None, a name or a class gives a new
    instance (a function stays a function), a config dict is deserialized, and an instance
    or any other callable is returned as it is."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        obj = lookup(family, identifier, custom_objects)
        return obj() if inspect.isclass(obj) else obj
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects, family=family)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier) or hasattr(identifier, "get_config"):
        return identifier
    fam = _family(family)
    example = f" such as {fam.example!r}" if fam.example else ""
    raise ValueError(f"Could not interpret {fam.kind} identifier {identifier!r}: expected a name{example}, "
                     f"a config dict, a class or instance, or a callable.")


def family_functions(family, module_name):
    """The ``serialize``, ``deserialize`` and ``get`` of a family's module (``keras.initializers.get``
    and so on), written once here instead of once per family."""
    fam = _family(family)

    def serialize_(obj):
        return serialize(obj)

    def deserialize_(config, custom_objects=None):
        return deserialize(config, custom_objects, family=family)

    def get_(identifier):
        return get(family, identifier)

    serialize_.__doc__ = f"A {fam.kind} as Keras 3's config dict (a built-in function as its name)."
    deserialize_.__doc__ = f"Rebuild a {fam.kind} from ``serialize``'s output (a dict or a name)."
    get_.__doc__ = (f"A {fam.kind} from a name such as {fam.example!r}, a config dict, a class, an instance "
                    f"or a callable; None stays None.")
    for fn, name in ((serialize_, "serialize"), (deserialize_, "deserialize"), (get_, "get")):
        fn.__name__ = fn.__qualname__ = name
        fn.__module__ = module_name
    return serialize_, deserialize_, get_


# ----------------------------------------------------------------------------- user registry
# registered name ("package>Name") -> class or function; also what get_custom_objects() returns
_GLOBAL_CUSTOM_OBJECTS = {}
# id(object) -> registered name
_GLOBAL_CUSTOM_NAMES = {}
# the dicts of the enclosing custom_object_scopes (context-local, like the autodiff flags)
_SCOPES = contextvars.ContextVar("minikeras_custom_object_scopes", default=())


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
        self._token = None

    def __enter__(self):
        self._token = _SCOPES.set(_SCOPES.get() + (self.custom_objects,))
        return self

    def __exit__(self, *exc):
        _SCOPES.reset(self._token)


custom_object_scope = CustomObjectScope


def _scoped(custom_objects=None):
    scopes = _SCOPES.get()
    if not scopes and not custom_objects:
        return {}
    merged = {}
    for d in scopes:
        merged.update(d)
    merged.update(custom_objects or {})
    return merged


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class/function saved under ``name``: custom_objects and scopes first, then the
    registry (by full ``package>Name`` or, when unambiguous, by the short name), then
    ``module_objects``. None when nothing matches."""
    if name is None:
        return None
    scoped = _scoped(custom_objects)
    if name in scoped:
        return scoped[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    short = str(name).split(">")[-1]
    if short in scoped:
        return scoped[short]
    matches = [v for k, v in _GLOBAL_CUSTOM_OBJECTS.items() if k.split(">")[-1] == short]
    if len(matches) == 1:
        return matches[0]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def _not_found(kind, class_name, registered_name=None, what="class"):
    """The error for a class or function that no registry and no custom_objects hold (worded
    after Keras 3's, which also names the decorator; this one names custom_objects too)."""
    label = registered_name if registered_name and registered_name != class_name else class_name
    return ObjectNotFoundError(
        f"Could not locate {what} {label!r}. Unknown {kind} {class_name!r}: decorate it with "
        f"`@keras.saving.register_keras_serializable()` (and import the module that defines it before "
        f"loading), or pass custom_objects={{{str(class_name)!r}: {class_name}}} to load_model.")


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
        return backend.to_numpy(value).tolist()
    if hasattr(value, "get_config") and not inspect.isclass(value):
        return serialize(value)
    if callable(value):
        return serialize_callable(value)
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
def serialize_callable(fn):
    """A built-in function's name, or Keras 3's dict for a custom one (name only, never code)."""
    builtin = _BUILTIN_OF.get(id(fn))
    if builtin is not None and not inspect.isclass(fn):
        return builtin[1]
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
            raise _not_found(kind, config, what="function")
        return fn
    name = config.get("config")
    fn = get_registered_object(config.get("registered_name"), custom_objects) or \
        get_registered_object(name, custom_objects)
    if fn is None:
        if name == "<lambda>":
            raise ValueError(f"Cannot load {kind}: it was an anonymous lambda, and minikeras never "
                             "saves code. Define it with `def` and register it, or pass it via "
                             "custom_objects={'<lambda>': fn}.")
        raise _not_found(kind, name, config.get("registered_name"), what="function")
    return fn


# ----------------------------------------------------------------------------- objects
def check_config_covers_init(obj, config):
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


def serialize(obj):
    """Keras 3's ``{"module", "class_name", "config", "registered_name"}`` dict for ``obj``
    (``keras.saving.serialize_keras_object``), with ``build_config`` for a built layer."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize(o) for o in obj]
    if isinstance(obj, dict) and "class_name" not in obj:
        return {k: serialize(v) for k, v in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or (callable(obj) and not hasattr(obj, "get_config")):
        return serialize_callable(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r}: it has no get_config() method.")
    cls = type(obj)
    builtin = _BUILTIN_OF.get(id(cls))
    config = obj.get_config()
    if builtin is None:
        check_config_covers_init(obj, config)
    out = {"module": _FAMILIES[builtin[0]].module if builtin else cls.__module__, "class_name": cls.__name__,
           "config": to_jsonable(config, f"the config of {getattr(obj, 'name', cls.__name__)!r} ({cls.__name__})"),
           "registered_name": None if builtin else get_registered_name(cls)}
    if getattr(obj, "built", False) and hasattr(obj, "get_build_config"):
        build_config = obj.get_build_config()
        if build_config:
            out["build_config"] = to_jsonable(build_config, f"the build config of {getattr(obj, 'name', cls)!r}")
    return out


def _find_class(config, family, custom_objects):
    class_name = config.get("class_name")
    registered = config.get("registered_name")
    cls = get_registered_object(registered, custom_objects) if registered else None
    if cls is None:
        cls = get_registered_object(class_name, custom_objects)
    if cls is None and family is not None:
        fam = _family(family)
        cls = fam.objects.get(class_name) or fam.lower.get(str(class_name).lower())
    if cls is None:
        raise _not_found(_FAMILIES[family].kind if family else "object", class_name, registered)
    return cls


def deserialize(config, custom_objects=None, family=None, safe_mode=True):
    """Rebuild an object from ``serialize``'s dict, looking its class up by name (in ``family``,
    or the family its ``module`` names); a name gives the registered object or, with a family,
    a new instance of that family's member. ``keras.saving.deserialize_keras_object``."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, list):
        return [deserialize(c, custom_objects, family) for c in config]
    if isinstance(config, str):
        if family is not None:
            return get(family, config, custom_objects)
        obj = get_registered_object(config, custom_objects)
        return config if obj is None else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize {config!r}: expected a dict with 'class_name' and 'config'.")
    if family is None:
        family = _FAMILY_BY_MODULE.get(config.get("module"))
    if config["class_name"] == "function":
        return deserialize_callable(config, custom_objects, _FAMILIES[family].kind if family else "function")
    cls = _find_class(config, family, custom_objects)
    inner = dict(config.get("config") or {})
    with CustomObjectScope(custom_objects or {}):
        try:
            from_config = getattr(cls, "from_config", None)
            if from_config is None:
                obj = cls(**inner)
            elif "custom_objects" in inspect.signature(from_config).parameters:
                obj = from_config(inner, custom_objects=_scoped(custom_objects))
            else:
                obj = from_config(inner)
        except ObjectNotFoundError:  # (a class the config of this one names): already says what to do
            raise
        except TypeError as exc:
            name = inner.get("name")
            raise TypeError(f"Could not rebuild {config['class_name']!r}{f' {name!r}' if name else ''} from its "
                            f"config: {exc}. A custom class whose __init__ takes arguments must return them "
                            "from get_config().") from exc
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config") and not getattr(obj, "built", False):
            obj.build_from_config(shapes_to_tuples(build_config))
    return obj
