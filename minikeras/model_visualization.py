"""``keras.utils.plot_model`` and ``model_to_dot``: draw a model's layer graph.

The graph is read from the symbolic tensors a Sequential or functional model was built on:
one box per layer call (name, class, input and output shapes, optionally dtype, activation
and trainable), arrows from each layer to the layers that consume its output, and with
``expand_nested=True`` the inner layers of nested models inside a frame. With pydot and the
Graphviz ``dot`` program installed (Debian: ``apt-get install graphviz``) Graphviz lays it
out as Keras does; without them matplotlib draws the same graph (layers ranked by their
distance from the inputs), so the call works in any classroom. In a notebook the returned
object displays the picture.
"""
import os
import warnings

__all__ = ["plot_model", "model_to_dot", "layer_graph"]

_WARNED = False   # the "no Graphviz" notice is shown once per session


def _shape_text(shapes):
    shapes = [tuple(s) for s in shapes]
    if not shapes:
        return "?"
    text = ", ".join("(" + ", ".join("None" if d is None else str(d) for d in s) + (",)" if len(s) == 1 else ")")
                     for s in shapes)
    return f"[{text}]" if len(shapes) > 1 else text


class LayerGraph:
    """Boxes (``nodes``: id -> dict) and arrows (``edges``: (src id, dst id)); ``clusters`` name nested models."""

    def __init__(self):
        self.nodes = {}
        self.edges = []
        self.clusters = {}

    def add_node(self, layer, inputs, outputs, cluster, options):
        node_id = f"n{len(self.nodes)}"
        title = f"{layer.name} ({type(layer).__name__})" if options["show_layer_names"] else type(layer).__name__
        lines = [title]
        if options["show_shapes"]:
            if inputs:
                lines.append(f"Input shape: {_shape_text(t.shape for t in inputs)}")
            lines.append(f"Output shape: {_shape_text(t.shape for t in outputs)}")
        if options["show_dtype"]:
            lines.append(f"Output dtype: {', '.join(sorted({str(t.dtype) for t in outputs}))}")
        if options["show_layer_activations"] and getattr(layer, "activation", None) is not None:
            lines.append(f"Activation: {getattr(layer.activation, '__name__', str(layer.activation))}")
        if options["show_trainable"]:
            lines.append(f"Trainable: {'yes' if layer.trainable else 'no'}")
        self.nodes[node_id] = {"layer": layer.name, "class": type(layer).__name__, "lines": lines,
                               "cluster": cluster}
        return node_id


def _is_graph_model(layer):
    return getattr(layer, "inputs", None) and getattr(layer, "outputs", None) and hasattr(layer, "_layers") \
        and (hasattr(layer, "_nodes") or hasattr(layer, "_input_batch_shape"))


def _walk(model, graph, options, cluster, entry_sources):
    """Add ``model``'s calls to ``graph``; ``entry_sources[i]`` feeds its i-th input. Returns the
    node ids that produce each of its outputs."""
    from .layers.input_layer import InputLayer
    produced = {}        # id(KerasTensor) -> node id that produced it
    inputs = list(model.inputs)
    for i, t in enumerate(inputs):
        layer = t._keras_history[0]
        node_id = graph.add_node(layer, [], [t], cluster, options)
        produced[id(t)] = node_id
        if entry_sources is not None and i < len(entry_sources) and entry_sources[i] is not None:
            graph.edges.append((entry_sources[i], node_id))
    order, seen = [], set()
    input_ids = {id(t) for t in inputs}

    def visit(tensor):
        stack = [(tensor, False)]
        while stack:
            t, expanded = stack.pop()
            if id(t) in input_ids:
                continue
            layer, index, _ = t._keras_history
            node = layer._inbound_nodes[index]
            if expanded:
                if id(node) not in seen:
                    seen.add(id(node))
                    order.append(node)
                continue
            if id(node) in seen or isinstance(layer, InputLayer):
                continue
            stack.append((t, True))
            stack.extend((p, False) for p in reversed(node.input_tensors))
    for out in model.outputs:
        visit(out)
    for node in order:
        sources = [produced.get(id(t)) for t in node.input_tensors]
        layer = node.layer
        if options["expand_nested"] and _is_graph_model(layer):
            name = f"{cluster}/{layer.name}" if cluster else layer.name
            graph.clusters[name] = f"{layer.name} ({type(layer).__name__})"
            exits = _walk(layer, graph, options, name, sources)
            for t, exit_id in zip(node.output_tensors, exits):
                produced[id(t)] = exit_id
            continue
        node_id = graph.add_node(layer, node.input_tensors, node.output_tensors, cluster, options)
        for src in sources:
            if src is not None and (src, node_id) not in graph.edges:
                graph.edges.append((src, node_id))
        for t in node.output_tensors:
            produced[id(t)] = node_id
    return [produced.get(id(t)) for t in model.outputs]


def layer_graph(model, show_shapes=False, show_dtype=False, show_layer_names=False, expand_nested=False,
                show_layer_activations=False, show_trainable=False):
    """The model's layer graph as a ``LayerGraph`` (what both renderers draw)."""
    if not getattr(model, "built", False):
        raise ValueError(f"Model {model.name!r} has not been built yet, so it has no graph to plot. Build it "
                         "by calling it on data, calling build(input_shape) or giving it an Input.")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   expand_nested=expand_nested, show_layer_activations=show_layer_activations,
                   show_trainable=show_trainable)
    graph = LayerGraph()
    if _is_graph_model(model):
        _walk(model, graph, options, "", None)
    else:   # a subclassed model: its connections live in call(), so it is one box (as in Keras)
        graph.nodes["n0"] = {"layer": model.name, "class": type(model).__name__, "cluster": "",
                             "lines": [f"{model.name} ({type(model).__name__})" if show_layer_names
                                       else type(model).__name__]}
    return graph


# ----------------------------------------------------------------------------- Graphviz
def _pydot():
    try:
        import pydot
    except ImportError:
        return None
    try:
        pydot.Dot.create(pydot.Dot())
    except (OSError, Exception):   # pydot is there but Graphviz's `dot` program is not
        return None
    return pydot


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _to_dot(graph, pydot, rankdir, dpi, title):
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=str(dpi), concentrate="true")
    dot.set("label", title)
    dot.set_node_defaults(shape="plaintext", fontname="Helvetica")
    containers = {"": dot}
    for name in sorted(graph.clusters, key=lambda n: n.count("/")):
        parent = containers[name.rsplit("/", 1)[0] if "/" in name else ""]
        cluster = pydot.Cluster(f"cluster_{len(containers)}", label=graph.clusters[name], style="dashed")
        parent.add_subgraph(cluster)
        containers[name] = cluster
    for node_id, node in graph.nodes.items():
        header = ' bgcolor="#dbe7f3"'
        rows = "".join(f"<tr><td{header if i == 0 else ''}>{_escape(line)}</td></tr>"
                       for i, line in enumerate(node["lines"]))
        label = f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="4">{rows}</table>>'
        containers[node["cluster"]].add_node(pydot.Node(node_id, label=label))
    for src, dst in graph.edges:
        dot.add_edge(pydot.Edge(src, dst))
    return dot


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, **kwargs):
    """The layer graph as a ``pydot.Dot`` (needs pydot and Graphviz)."""
    pydot = _pydot()
    if pydot is None:
        raise ImportError("model_to_dot needs pydot and Graphviz (pip install pydot; apt-get install graphviz). "
                          "plot_model works without them.")
    graph = layer_graph(model, show_shapes, show_dtype, show_layer_names, expand_nested,
                        show_layer_activations, show_trainable)
    return _to_dot(graph, pydot, rankdir, dpi, model.name)


# ----------------------------------------------------------------------------- matplotlib
def _layout(graph):
    """Rank = longest path from a source; position within a rank = order of appearance."""
    rank = {n: 0 for n in graph.nodes}
    for _ in range(len(graph.nodes)):
        changed = False
        for src, dst in graph.edges:
            if rank[dst] < rank[src] + 1:
                rank[dst] = rank[src] + 1
                changed = True
        if not changed:
            break
    levels = {}
    for node_id in graph.nodes:
        levels.setdefault(rank[node_id], []).append(node_id)
    return rank, levels


def _draw_matplotlib(graph, path, rankdir, dpi, title):
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
    _, levels = _layout(graph)
    char_w, line_h, pad = 0.085, 0.22, 0.12          # inches
    size = {n: (max(len(l) for l in d["lines"]) * char_w + 2 * pad, len(d["lines"]) * line_h + 2 * pad)
            for n, d in graph.nodes.items()}
    across = max(sum(size[n][0] for n in level) + 0.4 * (len(level) - 1) for level in levels.values())
    step = max(size[n][1] for n in graph.nodes) + 0.55
    pos = {}
    for r, level in sorted(levels.items()):
        width = sum(size[n][0] for n in level) + 0.4 * (len(level) - 1)
        x = (across - width) / 2
        for n in level:
            pos[n] = (x + size[n][0] / 2, r * step + size[n][1] / 2)
            x += size[n][0] + 0.4
    depth = len(levels) * step
    if rankdir == "LR":
        pos = {n: (y, x) for n, (x, y) in pos.items()}
        width_in, height_in = depth + 0.4, across + 0.6
    else:
        width_in, height_in = across + 0.4, depth + 0.6
    fig = Figure(figsize=(max(width_in, 2.5), max(height_in, 1.5)), dpi=min(dpi, 150))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-0.2, max(width_in, 2.5) - 0.2)
    ax.set_ylim(max(height_in, 1.5) - 0.3, -0.3)
    ax.axis("off")
    ax.text(0, -0.15, title, fontsize=9, color="#555555", va="center")
    for name, label in graph.clusters.items():
        members = [n for n, d in graph.nodes.items() if d["cluster"] == name or d["cluster"].startswith(name + "/")]
        if members:
            xs = [pos[n][0] - size[n][0] / 2 for n in members] + [pos[n][0] + size[n][0] / 2 for n in members]
            ys = [pos[n][1] - size[n][1] / 2 for n in members] + [pos[n][1] + size[n][1] / 2 for n in members]
            ax.add_patch(Rectangle((min(xs) - 0.1, min(ys) - 0.25), max(xs) - min(xs) + 0.2,
                                   max(ys) - min(ys) + 0.35, fill=False, linestyle="--", edgecolor="#888888"))
            ax.text(min(xs) - 0.05, min(ys) - 0.12, label, fontsize=7, color="#555555", va="center")
    for n, d in graph.nodes.items():
        (x, y), (w, h) = pos[n], size[n]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.05",
                                    facecolor="#dbe7f3", edgecolor="#333333", linewidth=0.8))
        for i, line in enumerate(d["lines"]):
            ax.text(x, y - h / 2 + pad + (i + 0.5) * line_h, line, ha="center", va="center", family="monospace",
                    fontsize=8, fontweight="bold" if i == 0 else "normal")
    for src, dst in graph.edges:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        if rankdir == "LR":
            start, end = (x0 + size[src][0] / 2, y0), (x1 - size[dst][0] / 2, y1)
        else:
            start, end = (x0, y0 + size[src][1] / 2), (x1, y1 - size[dst][1] / 2)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color="#333333",
                                     linewidth=0.8))
    fig.savefig(path, dpi=min(dpi, 150))


def _display(path):
    try:
        from IPython import display
    except ImportError:
        return None
    ext = os.path.splitext(path)[1].lower()
    if ext == ".svg":
        return display.SVG(filename=path)
    if ext in (".png", ".jpg", ".jpeg", ".gif"):
        return display.Image(filename=path)
    return None


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw ``model``'s layer graph to ``to_file`` (.png, .svg, .pdf, .jpg or .dot); in a notebook the
    returned object shows it. Graphviz lays it out when pydot and ``dot`` are installed, else matplotlib."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}.")
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1].lower().lstrip(".") or "png"
    graph = layer_graph(model, show_shapes, show_dtype, show_layer_names, expand_nested,
                        show_layer_activations, show_trainable)
    folder = os.path.dirname(os.path.abspath(to_file))
    os.makedirs(folder, exist_ok=True)
    pydot = _pydot()
    if pydot is not None:
        dot = _to_dot(graph, pydot, rankdir, dpi, model.name)
        dot.write(to_file, format="raw" if ext == "dot" else ext)
    elif ext == "dot":
        raise ImportError("plot_model(to_file='*.dot') needs pydot and Graphviz; use .png or .svg without them.")
    else:
        global _WARNED
        if not _WARNED:
            _WARNED = True
            warnings.warn("pydot or Graphviz is not installed; plot_model draws the graph with matplotlib "
                          "(apt-get install graphviz && pip install pydot for Graphviz's layout).", stacklevel=2)
        _draw_matplotlib(graph, to_file, rankdir, dpi, model.name)
    return _display(to_file)
