"""Symbolic inputs for the functional API: ``Input``, ``InputLayer`` and ``KerasTensor``.

A ``KerasTensor`` carries only a shape and a dtype. Calling a layer on one records a
``Node`` (which layer, which inputs, which outputs) instead of computing anything; a
functional ``Model`` later replays those nodes on real data.
"""
from .. import backend
from ..tree import flatten
from .base import Layer


class KerasTensor:
    """A placeholder with a shape (None for unknown dims) and a dtype, produced by ``Input``."""

    def __init__(self, shape, dtype=None, name=None, history=None):
        self.shape = tuple(shape)
        self.dtype = dtype or backend.floatx()
        self.name = name
        self._keras_history = history  # (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __array__(self, *args, **kwargs):
        raise TypeError("A symbolic KerasTensor (from keras.Input) has no values; it can only be passed "
                        "to layers to build a functional Model.")


class Node:
    """One call of a layer on symbolic inputs."""

    def __init__(self, layer, inputs, outputs, args, kwargs):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.args = args
        self.kwargs = kwargs

    @property
    def input_tensors(self):
        """Every symbolic tensor the call used: its inputs, then any among its other arguments
        (e.g. a recurrent layer's ``initial_state=[h, c]`` from an encoder)."""
        leaves = flatten(self.inputs)
        if self.args or self.kwargs:
            leaves = leaves + flatten(list(self.args)) + flatten(list(self.kwargs.values()))
        return [t for t in leaves if isinstance(t, KerasTensor)]

    @property
    def output_tensors(self):
        return flatten(self.outputs)

    @property
    def parent_nodes(self):
        out = []
        for t in self.input_tensors:
            layer, index, _ = t._keras_history
            out.append(layer._inbound_nodes[index])
        return out


def symbolic_call(layer, inputs, args, kwargs):
    """Record ``layer(inputs)`` on KerasTensors and return symbolic outputs."""
    def shape_of(x):
        return x.shape if isinstance(x, KerasTensor) else None

    def shapes(s):
        if isinstance(s, KerasTensor):
            return s.shape
        if isinstance(s, dict):
            return {k: shapes(v) for k, v in s.items()}
        if isinstance(s, (list, tuple)):
            return type(s)(shapes(v) for v in s)
        return None
    input_shapes = shapes(inputs)
    if not layer.built:
        layer._maybe_build(input_shapes)
    try:
        out_shapes = layer.compute_output_shape(input_shapes)
    except Exception as exc:
        raise type(exc)(f"Layer {layer.name!r} ({type(layer).__name__}) cannot be applied to inputs "
                        f"of shape {input_shapes}: {exc}") from exc
    node_index = len(layer._inbound_nodes)
    counter = [0]

    def make(s):
        if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
            kt = KerasTensor(s, backend.floatx(), name=f"{layer.name}_output_{counter[0]}",
                             history=(layer, node_index, counter[0]))
            counter[0] += 1
            return kt
        if isinstance(s, dict):
            return {k: make(v) for k, v in s.items()}
        return type(s)(make(v) for v in s)
    outputs = make(tuple(out_shapes) if isinstance(out_shapes, list) and out_shapes
                   and all(d is None or isinstance(d, int) for d in out_shapes) else out_shapes)
    layer._inbound_nodes.append(Node(layer, inputs, outputs, args, kwargs))
    return outputs


class InputLayer(Layer):
    """The layer behind ``Input``: it only declares the shape and dtype of model inputs."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 input_tensor=None, sparse=None, **kwargs):
        legacy = kwargs.pop("input_shape", None)
        if shape is None and legacy is not None:
            shape = legacy
        kwargs.pop("batch_input_shape", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs `shape` (without the batch dimension) or `batch_shape`.")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self._batch_input_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        tensor = KerasTensor(self._batch_input_shape, self.dtype, name=self.name, history=(self, 0, 0))
        self._inbound_nodes.append(Node(self, [], tensor, (), {}))
        self.output_tensor = tensor

    @property
    def batch_shape(self):
        return self._batch_input_shape

    def get_config(self):
        return {"batch_shape": list(self._batch_input_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, tensor=None, sparse=None):
    """A symbolic input: ``Input(shape=(784,))`` stands for a batch of shape (None, 784)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name)
    return layer.output_tensor
