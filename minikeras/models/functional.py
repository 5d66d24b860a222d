"""Functional models: ``Model(inputs, outputs)`` over a graph of layer calls on symbolic tensors.

Building walks back from the outputs to the inputs through the recorded ``Node``s, checks
that every output really depends on the given inputs, and stores the nodes in an order
where each comes after the nodes it needs. Calling the model replays those nodes on data.
"""
from .. import backend, naming, ops
from ..autodiff import Tensor
from ..layers.base import set_keras_mask
from ..layers.input_layer import InputLayer, KerasTensor
from ..tree import flatten, map_structure, pack_sequence_as
from .model import Model


def _as_input_dtype(x, dtype):
    """A call input as a Tensor of its ``Input``'s dtype: Keras 3 converts every model input
    this way, so uint8 images or int labels fed to a float32 ``Input`` become float32 before
    any layer sees them (``x - 128`` then goes negative instead of wrapping around)."""
    if x is None:
        return x
    if not isinstance(x, Tensor):
        arr = backend.convert_to_array(x)
        return Tensor(arr if arr.dtype == dtype else arr.astype(dtype))
    return x if x.value.dtype == dtype else set_keras_mask(ops.cast(x, dtype), x._keras_mask)


def _unpack_singleton(outputs):
    """Keras 3 returns the tensor itself for ``outputs=[x]`` (or ``(x,)``)."""
    if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
        return outputs[0]
    return outputs


class Functional(Model):
    """A model defined by its input and output KerasTensors."""

    _convert_input_args = False  # each input is converted to its own Input's dtype in call()

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name or naming.unique_name("functional"), trainable=trainable)
        for where, s in (("inputs", inputs), ("outputs", outputs)):
            for t in flatten(s):
                if not isinstance(t, KerasTensor):
                    raise TypeError(f"Model {self.name!r}: all {where} must be symbolic tensors from "
                                    f"keras.Input or from calling layers on them; got {type(t).__name__}.")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        self._nodes = self._order_nodes()
        layers = []
        for t in self.inputs:
            layer = t._keras_history[0]
            if all(layer is not l for l in layers):
                layers.append(layer)
        for node in self._nodes:
            if all(node.layer is not l for l in layers):
                layers.append(node.layer)
        self._layers = layers
        if isinstance(outputs, dict):
            self._output_names = list(outputs)
        else:
            self._output_names = [t._keras_history[0].name for t in self.outputs]
        self._input_names = list(inputs) if isinstance(inputs, dict) else \
            [t._keras_history[0].name for t in self.inputs]
        self.built = True

    def _order_nodes(self):
        input_ids = {id(t) for t in self.inputs}
        order, done, visiting = [], set(), set()
        for out in self.outputs:
            stack = [(out, False)]
            while stack:
                tensor, expanded = stack.pop()
                layer, index, _ = tensor._keras_history
                node = layer._inbound_nodes[index]
                if id(tensor) in input_ids:
                    continue
                if expanded:
                    if id(node) not in done:
                        done.add(id(node))
                        order.append(node)
                    continue
                if id(node) in done:
                    continue
                if isinstance(layer, InputLayer):
                    raise ValueError(
                        f"Model {self.name!r}: the graph is disconnected. Output {out.name!r} depends on the "
                        f"input {layer.name!r} (shape {tensor.shape}), which is not among the model's inputs "
                        f"{[t.name for t in self.inputs]}.")
                stack.append((tensor, True))
                for parent in node.input_tensors:
                    stack.append((parent, False))
        reached = set()
        for node in order:
            for t in node.input_tensors:
                reached.add(id(t))
        for out in self.outputs:
            if id(out) in input_ids:
                reached.add(id(out))
        unused = [t.name for t in self.inputs if id(t) not in reached]
        if unused and len(unused) == len(self.inputs):
            raise ValueError(f"Model {self.name!r}: the outputs do not depend on any of the inputs {unused}.")
        return order

    @property
    def input_names(self):
        return list(self._input_names)

    # Keras gives a functional model the symbolic tensors it was built from, in the structure given.
    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    # Keras 3: the shapes of the flat inputs/outputs, a list unless there is only one.
    @property
    def input_shape(self):
        return _unpack_singleton([t.shape for t in self.inputs])

    @property
    def output_shape(self):
        return _unpack_singleton([t.shape for t in self.outputs])

    def _flatten_call_inputs(self, inputs):
        n = len(self.inputs)
        if isinstance(inputs, dict):
            missing = [k for k in self._input_names if k not in inputs]
            if missing:
                raise ValueError(f"Model {self.name!r} expects inputs named {self._input_names}; missing "
                                 f"{missing} in the given dict with keys {list(inputs)}.")
            flat = [inputs[k] for k in self._input_names]
        else:
            flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != n:
            raise ValueError(f"Model {self.name!r} expects {n} input(s) {self._input_names}, but it was called "
                             f"on {len(flat)} input(s).")
        for t, kt, name in zip(flat, self.inputs, self._input_names):
            got = tuple(t.shape)
            if len(got) != len(kt.shape) or any(e is not None and e != g for e, g in zip(kt.shape[1:], got[1:])):
                raise ValueError(f"Input {name!r} of model {self.name!r} is incompatible: expected shape "
                                 f"{kt.shape}, found shape {got}.")
        return flat

    def call(self, inputs, training=None, mask=None):
        flat = [_as_input_dtype(t, kt.dtype) for t, kt in zip(self._flatten_call_inputs(inputs), self.inputs)]
        if mask is not None:  # Keras: masks given for the inputs are attached to them
            for t, m in zip(flat, flatten(mask) if isinstance(mask, (list, tuple, dict)) else [mask]):
                if m is not None and isinstance(t, Tensor):
                    set_keras_mask(t, m)
        values = {id(kt): t for kt, t in zip(self.inputs, flat)}
        for node in self._nodes:
            def lookup(x):
                return values[id(x)] if isinstance(x, KerasTensor) else x
            args = map_structure(lookup, node.inputs)
            # (symbolic tensors among the other arguments, e.g. initial_state=[h, c], get their values)
            kwargs = {k: map_structure(lookup, v) for k, v in node.kwargs.items()} if node.kwargs else {}
            kwargs.setdefault("training", training)
            out = node.layer(args, *map_structure(lookup, list(node.args)), **kwargs)
            for kt, value in zip(node.output_tensors, flatten(out)):
                values[id(kt)] = value
        return _unpack_singleton(pack_sequence_as(self._outputs_struct, [values[id(t)] for t in self.outputs]))

    def compute_output_shape(self, input_shape):
        return pack_sequence_as(self._outputs_struct, [t.shape for t in self.outputs])

    def _summary_rows(self):
        from .summary import _format_shape
        own = {id(n) for n in self._nodes}
        rows = []
        for layer in self._layers:
            nodes = [n for n in layer._inbound_nodes if id(n) in own or isinstance(layer, InputLayer)]
            # A layer called several times (a shared layer) shows its first call's output, as Keras does.
            shapes = [t.shape for t in nodes[0].output_tensors] if nodes else []
            shape = _format_shape(shapes[0] if len(shapes) == 1 else shapes)
            params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
            conns = []
            for n in nodes:
                for t in n.input_tensors:
                    src, index, tindex = t._keras_history
                    conns.append(f"{src.name}[{index}][{tindex}]")
            rows.append((layer, shape, params, ", ".join(conns) if conns else "-"))
        return rows

    def get_config(self):
        from .functional_config import functional_config
        return functional_config(self)

