"""A trained model as data: described in the student's process, rebuilt by the judge.

A graded CNN must be built "from your own layers", and the student's process can fake any
report about itself. So the notebook only *describes* its model (:func:`describe`: each
layer's kind, configuration and trained weights, plain values that cross the sandbox
boundary on the wire), and the judge, outside every sandbox, :func:`rebuild`\\ s the network
from that description with minikeras's own layers and computes the held-out predictions
itself. Whatever the description claims is then exactly what is scored: a network of
plugged convolutions whose weights were not trained as such simply scores badly, and the
held-out images never enter the sandbox.

The description is untrusted data, so :func:`rebuild` accepts a short list of layer kinds
with checked arguments, weights of exactly the shapes the rebuilt layers have, and a bounded
size (layers, weights, multiply-adds per image).
"""
import numpy as np

# Plugged kinds (``plug.*_with`` classes) and the library layers a graded CNN may also use.
PLUGGED = ("conv2d", "max_pool2d", "batch_norm", "dropout")
LIBRARY = ("Dense", "Flatten", "Activation", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D")
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "softplus", "silu", "swish",
               "leaky_relu")
MAX_LAYERS, MAX_WEIGHTS, MAX_MACS = 40, 3_000_000, 20_000_000


def describe(model):
    """{"input_shape", "layers": [{"kind", "plugged", "config", "weights"}, ...]} of a model."""
    layers = []
    for layer in getattr(model, "layers", None) or []:
        kind = getattr(type(layer), "_student_kernel", None)
        entry = {"kind": kind or type(layer).__name__, "plugged": kind is not None}
        try:
            entry["config"] = layer.get_config()
            entry["weights"] = [np.asarray(w) for w in layer.get_weights()]
        except Exception as exc:  # noqa: BLE001 (reported to the judge as a reason)
            entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
        layers.append(entry)
    shape = getattr(model, "input_shape", None)
    return {"model": type(model).__name__, "input_shape": None if shape is None else tuple(shape),
            "layers": layers}


class NotRebuildable(ValueError):
    """The description is not a network the judge accepts; ``symptom`` names the reason."""

    def __init__(self, message, symptom="rebuild"):
        super().__init__(message)
        self.symptom = symptom


def _int(config, key, lo, hi, where):
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= int(value) <= hi:
        raise NotRebuildable(f"{where}: `{key}` must be an integer from {lo} to {hi}, got {value!r}")
    return int(value)


def _pair(config, key, lo, hi, where):
    value = config.get(key)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or
            not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= int(v) <= hi for v in value)):
        raise NotRebuildable(f"{where}: `{key}` must be a pair of integers from {lo} to {hi}, got {value!r}")
    return (int(value[0]), int(value[1]))


def _choice(config, key, options, where, default=None):
    value = config.get(key, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, str) or value.lower() not in options:
        raise NotRebuildable(f"{where}: `{key}` must be one of {', '.join(options)}, got {value!r}")
    return value.lower()


def _bool(config, key, where, default=None):
    value = config.get(key, default)
    if not isinstance(value, (bool, np.bool_)):
        raise NotRebuildable(f"{where}: `{key}` must be True or False, got {value!r}")
    return bool(value)


def _layer(entry, index):
    """A minikeras layer (or None for an identity at inference) from one checked entry."""
    from .. import layers as L
    if not isinstance(entry, dict):
        raise NotRebuildable(f"layer {index} is not described")
    kind, plugged = entry.get("kind"), entry.get("plugged")
    where = f"layer {index} ({kind})"
    if "error" in entry:
        raise NotRebuildable(f"{where} could not be described: {str(entry['error'])[:200]}")
    config = entry.get("config")
    if not isinstance(config, dict):
        raise NotRebuildable(f"{where} has no configuration")
    if plugged is True and kind in PLUGGED:
        if kind == "conv2d":
            if _pair(config, "dilation_rate", 1, 1, where) != (1, 1):
                raise NotRebuildable(f"{where}: dilation is not supported")
            return L.Conv2D(_int(config, "filters", 1, 512, where), _pair(config, "kernel_size", 1, 11, where),
                            strides=_pair(config, "strides", 1, 8, where),
                            padding=_choice(config, "padding", ("valid", "same"), where),
                            activation=_choice(config, "activation", ACTIVATIONS, where, "linear"),
                            use_bias=_bool(config, "use_bias", where))
        if kind == "max_pool2d":
            return L.MaxPooling2D(_pair(config, "pool_size", 1, 28, where), _pair(config, "strides", 1, 28, where),
                                  padding=_choice(config, "padding", ("valid", "same"), where))
        if kind == "batch_norm":
            eps = config.get("epsilon")
            if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps <= 1:
                raise NotRebuildable(f"{where}: `epsilon` must be a number in (0, 1], got {eps!r}")
            return L.BatchNormalization(axis=_int(config, "axis", -4, 3, where), epsilon=float(eps),
                                        center=_bool(config, "center", where), scale=_bool(config, "scale", where))
        return None  # dropout: the identity at inference
    if plugged is False and kind in LIBRARY:
        if kind == "Dense":
            return L.Dense(_int(config, "units", 1, 4096, where),
                           activation=_choice(config, "activation", ACTIVATIONS, where, "linear"),
                           use_bias=_bool(config, "use_bias", where))
        if kind == "Activation":
            return L.Activation(_choice(config, "activation", ACTIVATIONS, where))
        if kind == "AveragePooling2D":
            return L.AveragePooling2D(_pair(config, "pool_size", 1, 28, where), _pair(config, "strides", 1, 28, where),
                                      padding=_choice(config, "padding", ("valid", "same"), where))
        if config.get("keepdims", False):
            raise NotRebuildable(f"{where}: keepdims=True is not supported")
        return getattr(L, kind)()
    if plugged is False and kind in ("Conv2D", "MaxPooling2D", "BatchNormalization", "Dropout"):
        raise NotRebuildable(f"{where} is minikeras's own {kind}: use the layer made from your kernels "
                             f"(Student{kind})", "library-layer")
    raise NotRebuildable(f"{where}: the grader rebuilds only your plugged layers and "
                         f"{', '.join(LIBRARY)}; this kind is not one of them")


def _macs(layer, in_shape, out_shape):
    name = type(layer).__name__
    if name == "Conv2D":
        kh, kw = layer.kernel_size
        return int(np.prod(out_shape[1:])) * kh * kw * in_shape[-1]
    if name == "Dense":
        return int(np.prod(in_shape[1:])) * layer.units
    return int(np.prod(in_shape[1:]))


def rebuild(description, input_shape=(28, 28, 1), classes=10):
    """(model, {plugged kind: count}) from a :func:`describe` result; raises NotRebuildable."""
    from ..layers import Input
    from ..models import Sequential
    if not isinstance(description, dict) or not isinstance(description.get("layers"), list):
        raise NotRebuildable("the description of the network is missing")
    shape = description.get("input_shape")
    if not isinstance(shape, (tuple, list)) or tuple(shape)[1:] != tuple(input_shape):
        raise NotRebuildable(f"the model must take images of shape {tuple(input_shape)} "
                             f"(keras.Input({tuple(input_shape)})), got input shape {shape!r}", "input-shape")
    entries = description["layers"]
    if not 0 < len(entries) <= MAX_LAYERS:
        raise NotRebuildable(f"a Sequential model of 1 to {MAX_LAYERS} layers is expected, got {len(entries)}")
    kinds, built, weights = {}, [], []
    current = (None,) + tuple(input_shape)
    n_weights = macs = 0
    for i, entry in enumerate(entries):
        layer = _layer(entry, i)
        if isinstance(entry, dict) and entry.get("plugged") is True:
            kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
        given = entry.get("weights") if isinstance(entry, dict) else None
        if layer is None:
            continue
        try:
            layer.build(current)
            out = tuple(layer.compute_output_shape(current))
        except (ValueError, TypeError) as exc:
            raise NotRebuildable(f"layer {i} ({entry.get('kind')}) does not fit its input {current}: {exc}") from None
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if not isinstance(given, list) or len(given) != len(expected):
            raise NotRebuildable(f"layer {i} ({entry.get('kind')}) must come with {len(expected)} weight arrays")
        for w, want in zip(given, expected):
            if not isinstance(w, np.ndarray) or w.dtype.kind != "f" or tuple(w.shape) != want or not np.all(np.isfinite(w)):
                raise NotRebuildable(f"layer {i} ({entry.get('kind')}): weights of shapes {expected}, finite floats, "
                                     "are expected")
        n_weights += sum(int(np.prod(s)) for s in expected)
        macs += _macs(layer, current, out)
        if n_weights > MAX_WEIGHTS or macs > MAX_MACS:
            raise NotRebuildable(f"the network is larger than the grader evaluates (at most {MAX_WEIGHTS:,} weights "
                                 f"and {MAX_MACS:,} multiply-adds per image)", "too-large")
        built.append(layer)
        weights.append([w.astype("float32") for w in given])
        current = out
    if tuple(current) != (None, classes):
        raise NotRebuildable(f"the model's output has shape {tuple(current)}; expected one score per class, "
                             f"(None, {classes})", "output-shape")
    model = Sequential([Input(tuple(input_shape))] + built)
    for layer, w in zip(built, weights):
        layer.set_weights(w)
    return model, kinds
