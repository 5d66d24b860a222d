"""Keras activation functions by name. Each takes and returns a Tensor and is differentiable;
the ones listed in ``ops.nn.FUSED_ACTIVATIONS`` can also be fused into a Dense kernel."""
from . import ops, registry


def linear(x):
    return ops.convert_to_tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    x = ops.convert_to_tensor(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    # Keras keeps x only strictly above the threshold (x == threshold maps to 0).
    y = ops.where(ops.greater(x, threshold), x, ops.multiply(ops.subtract(x, threshold), negative_slope))
    if max_value is not None:
        y = ops.minimum(y, max_value)
    return y


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def sigmoid(x):
    return ops.sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    x = ops.convert_to_tensor(x)
    return ops.divide(x, ops.add(ops.abs(x), 1.0))


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def selu(x):
    return ops.selu(x)


def gelu(x, approximate=False):
    return ops.gelu(x, approximate)


def softmax(x, axis=-1):
    return ops.softmax(x, axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis)


def exponential(x):
    return ops.exp(x)


def swish(x):
    x = ops.convert_to_tensor(x)
    return ops.multiply(x, ops.sigmoid(x))


silu = swish


def hard_sigmoid(x):
    return ops.clip(ops.add(ops.divide(ops.convert_to_tensor(x), 6.0), 0.5), 0.0, 1.0)


ALL = {f.__name__: f for f in (linear, relu, leaky_relu, sigmoid, tanh, softplus, softsign, elu, selu, gelu,
                               softmax, log_softmax, exponential, swish, hard_sigmoid)}
ALL["silu"] = swish
registry.register_builtins("activations", ALL, kind="activation", module="keras.activations", example="relu")


def get(identifier):
    """An activation function from a name, a function or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return registry.lookup("activations", identifier)
    if isinstance(identifier, dict):
        if identifier.get("class_name") == "function":
            return registry.deserialize_callable(identifier, kind="activation")
        config = identifier.get("config")
        return get(config.get("name") if isinstance(config, dict) else config or identifier.get("class_name"))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation identifier {identifier!r} "
                    "(expected a name, a callable or None).")


def serialize(fn):
    """A built-in activation's name, or Keras 3's ``{"class_name": "function", ...}`` dict."""
    return registry.serialize_callable(fn)


def deserialize(config, custom_objects=None):
    """Inverse of ``serialize``; custom functions come from ``custom_objects`` or the registry."""
    with registry.custom_object_scope(custom_objects or {}):
        return get(config)


def fusable_name(fn):
    """The kernel name when ``fn`` is a built-in activation a Dense kernel can fuse, else None."""
    name = getattr(fn, "__name__", None)
    if name in ops.nn.FUSED_ACTIVATIONS and ALL.get(name) is fn:
        return name
    return None

