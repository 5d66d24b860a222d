"""Functional model configs (Keras 3 layout): what ``Functional.get_config`` writes and reads.

A functional config lists every layer with its ``inbound_nodes``: the arguments of each
call, where a symbolic tensor appears as ``{"class_name": "__keras_tensor__", "config":
{"shape", "dtype", "keras_history": [layer_name, node_index, tensor_index]}}``. Node
indices count only the calls that belong to this model, so a layer shared with other
models still gets indices 0, 1, ... here. Rebuilding replays those calls on new Inputs.
"""
from .. import layers as layers_module
from ..layers.input_layer import InputLayer, KerasTensor
from ..registry import to_jsonable
from ..tree import flatten


def _node_index_map(model):
    """(id(layer), original node index) -> node index within this model."""
    own = {id(n) for n in model._nodes}
    index_map = {}
    for layer in model._layers:
        k = 0
        for i, node in enumerate(layer._inbound_nodes):
            if id(node) in own or (isinstance(layer, InputLayer) and i == 0):
                index_map[(id(layer), i)] = k
                k += 1
    return index_map


def functional_config(model):
    """The config of a functional ``model``: layers with inbound nodes, input and output layers."""
    names = [layer.name for layer in model._layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"Model {model.name!r} cannot be saved: several of its layers are named {dupes}; "
                         "layer names must be unique within a model.")
    for t in model.inputs:
        if not isinstance(t._keras_history[0], InputLayer):
            raise ValueError(f"Model {model.name!r} cannot be saved: its input {t.name!r} is not a "
                             "keras.Input (it is the output of another layer).")
    index_map = _node_index_map(model)
    own = {id(n) for n in model._nodes}

    def ref(t):
        layer, index, tensor_index = t._keras_history
        return [layer.name, index_map[(id(layer), index)], tensor_index]

    def arg(x, where):
        if isinstance(x, KerasTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(x.shape), "dtype": x.dtype, "keras_history": ref(x)}}
        if isinstance(x, dict):
            return {k: arg(v, where) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [arg(v, where) for v in x]
        return to_jsonable(x, where)

    def struct(s):
        if isinstance(s, dict):
            return {k: ref(v) for k, v in s.items()}
        if isinstance(s, (list, tuple)):
            return [ref(v) for v in s]
        return ref(s)

    layers = []
    for layer in model._layers:
        entry = layers_module.serialize(layer)
        entry["name"] = layer.name
        where = f"a call of layer {layer.name!r}"
        entry["inbound_nodes"] = [
            {"args": [arg(n.inputs, where)] + [arg(a, where) for a in n.args],
             "kwargs": {k: arg(v, where) for k, v in n.kwargs.items()}}
            for n in layer._inbound_nodes if id(n) in own]
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": struct(model._inputs_struct), "output_layers": struct(model._outputs_struct)}


def _is_ref(x):
    return (isinstance(x, (list, tuple)) and len(x) == 3 and isinstance(x[0], str)
            and isinstance(x[1], int) and isinstance(x[2], int))


def functional_from_config(config, cls=None, make_layer=None, input_tensors=None):
    """Rebuild a functional model by creating its layers and replaying their calls in order.

    ``make_layer(layer_config)`` creates each non-Input layer (default: deserialize it);
    ``input_tensors`` (a list) replaces the model's Inputs, as ``clone_model`` allows.
    """
    from .functional import Functional
    cls = cls or Functional
    model_name = config.get("name")
    layers, pending, count = {}, {}, {}
    produced = {}  # (layer name, node index) -> flat list of output tensors
    input_refs = config["input_layers"]
    flat_inputs = [input_refs] if _is_ref(input_refs) else \
        list(input_refs.values() if isinstance(input_refs, dict) else input_refs)
    replaced = {}
    if input_tensors is not None:
        given = flatten(input_tensors)
        if len(given) != len(flat_inputs):
            raise ValueError(f"clone_model: model {model_name!r} has {len(flat_inputs)} inputs, but "
                             f"{len(given)} input_tensors were given.")
        replaced = {r[0]: t for r, t in zip(flat_inputs, given)}
    for lc in config["layers"]:
        name = lc.get("name") or lc.get("config", {}).get("name")
        if lc.get("class_name") == "InputLayer" and name in replaced:
            produced[(name, 0)] = [replaced[name]]
            continue
        if lc.get("class_name") == "InputLayer" or make_layer is None:
            layer = layers_module.deserialize(lc)
        else:
            layer = make_layer(lc)
        layers[name] = layer
        pending[name] = list(lc.get("inbound_nodes") or [])
        count[name] = 0
        if isinstance(layer, InputLayer):
            produced[(name, 0)] = [layer.output_tensor]
            count[name] = 1

    def refs(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            return [tuple(x["config"]["keras_history"])]
        if isinstance(x, dict):
            return [r for v in x.values() for r in refs(v)]
        if isinstance(x, list):
            return [r for v in x for r in refs(v)]
        return []

    def resolve(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            name, index, tensor_index = x["config"]["keras_history"]
            return produced[(name, index)][tensor_index]
        if isinstance(x, dict):
            return {k: resolve(v) for k, v in x.items()}
        if isinstance(x, list):
            return [resolve(v) for v in x]
        return x

    def ready(node):
        return all((r[0], r[1]) in produced for r in refs(node))

    while any(pending.values()):
        progress = False
        for name, layer in layers.items():
            while pending[name] and ready(pending[name][0]):
                node = pending[name].pop(0)
                args = [resolve(a) for a in node.get("args", [])]
                kwargs = {k: resolve(v) for k, v in (node.get("kwargs") or {}).items()}
                out = layer(*args, **kwargs)
                produced[(name, count[name])] = flatten(out)
                count[name] += 1
                progress = True
        if not progress:
            stuck = {n: sorted({r[0] for r in refs(p[0]) if (r[0], r[1]) not in produced})
                     for n, p in pending.items() if p}
            raise ValueError(f"Cannot rebuild model {model_name!r}: these layers wait for tensors that no "
                             f"layer in the config produces: {stuck}.")

    def tensor(r):
        key = (r[0], r[1])
        if key not in produced:
            raise ValueError(f"Cannot rebuild model {model_name!r}: it refers to tensor {list(r)}, which "
                             "no layer in the config produces.")
        return produced[key][r[2]]

    def struct(s):
        if _is_ref(s):
            return tensor(s)
        if isinstance(s, dict):
            return {k: tensor(v) for k, v in s.items()}
        return [tensor(v) for v in s]

    return cls(inputs=struct(config["input_layers"]), outputs=struct(config["output_layers"]),
               name=model_name, trainable=config.get("trainable", True))
