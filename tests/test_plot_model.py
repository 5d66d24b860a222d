"""plot_model draws the layer graph with Graphviz when it is there and with matplotlib when it is not."""
import shutil

import numpy as np
import pytest

import minikeras as keras
from minikeras import model_visualization as mv
from minikeras.utils import plot_model  # noqa: F401  (the seeds' import must work)

PNG = b"\x89PNG\r\n\x1a\n"


def ticket_like_model():
    layers = keras.layers
    a = keras.Input(shape=(20,), name="title")
    b = keras.Input(shape=(5,), name="tags")
    x = layers.Dense(16, activation="relu", name="mix")(layers.Concatenate(name="join")([a, b]))
    inner = keras.Sequential([keras.Input(shape=(16,)), layers.Dense(8, activation="tanh", name="inner_dense")],
                             name="block")
    x = inner(x)
    return keras.Model([a, b], [layers.Dense(1, name="priority")(x), layers.Dense(3, name="department")(x)])


def test_layer_graph_nodes_edges_and_shapes():
    graph = mv.layer_graph(ticket_like_model(), show_shapes=True, show_layer_names=True,
                           show_layer_activations=True, show_trainable=True)
    names = {n["layer"]: n for n in graph.nodes.values()}
    assert list(names) == ["title", "tags", "join", "mix", "block", "priority", "department"]
    assert names["join"]["lines"][1:3] == ["Input shape: [(None, 20), (None, 5)]", "Output shape: (None, 25)"]
    assert "Activation: relu" in names["mix"]["lines"] and "Trainable: yes" in names["mix"]["lines"]
    ids = {n["layer"]: i for i, n in graph.nodes.items()}
    edges = {(graph.nodes[s]["layer"], graph.nodes[d]["layer"]) for s, d in graph.edges}
    assert edges == {("title", "join"), ("tags", "join"), ("join", "mix"), ("mix", "block"), ("block", "priority"),
                     ("block", "department")}
    assert ids  # every edge joins two drawn boxes


def test_expand_nested_draws_the_inner_layers_in_a_frame():
    graph = mv.layer_graph(ticket_like_model(), expand_nested=True, show_layer_names=True)
    inner = [n for n in graph.nodes.values() if n["cluster"] == "block"]
    assert [n["class"] for n in inner] == ["InputLayer", "Dense"] and graph.clusters == {"block": "block (Sequential)"}
    edges = {(graph.nodes[s]["layer"], graph.nodes[d]["layer"]) for s, d in graph.edges}
    assert ("inner_dense", "priority") in edges and ("mix", inner[0]["layer"]) in edges


def test_sequential_subclassed_and_unbuilt_models():
    seq = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    graph = mv.layer_graph(seq, show_shapes=True)
    assert [n["class"] for n in graph.nodes.values()] == ["InputLayer", "Dense", "Dense"]
    assert len(graph.edges) == 2

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)
    net = Net()
    net(np.zeros((1, 3), "float32"))
    assert [n["class"] for n in mv.layer_graph(net).nodes.values()] == ["Net"]
    with pytest.raises(ValueError, match="not been built"):
        mv.layer_graph(keras.Sequential([keras.layers.Dense(2)]))


def test_fallback_without_graphviz_writes_png_and_svg(tmp_path, monkeypatch):
    monkeypatch.setattr(mv, "_pydot", lambda: None)
    monkeypatch.setattr(mv, "_WARNED", False)
    model = ticket_like_model()
    with pytest.warns(UserWarning, match="matplotlib"):
        shown = keras.utils.plot_model(model, tmp_path / "m.png", show_shapes=True, expand_nested=True)
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
    assert type(shown).__name__ == "Image"
    svg = keras.utils.plot_model(model, tmp_path / "sub" / "m.svg", rankdir="LR")
    text = (tmp_path / "sub" / "m.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and type(svg).__name__ == "SVG"
    with pytest.raises(ImportError, match="pydot"):
        keras.utils.model_to_dot(model)


@pytest.mark.skipif(mv._pydot() is None, reason="pydot or Graphviz (dot) is not installed")
def test_graphviz_path(tmp_path):
    model = ticket_like_model()
    dot = keras.utils.model_to_dot(model, show_shapes=True, expand_nested=True)
    source = dot.to_string()
    assert "cluster_" in source and "Output shape: (None, 25)" in source
    keras.utils.plot_model(model, tmp_path / "m.png", show_shapes=True)
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
    keras.utils.plot_model(model, tmp_path / "m.dot")
    assert (tmp_path / "m.dot").read_text().startswith("digraph")


def test_graphviz_is_used_when_installed():
    assert (mv._pydot() is not None) == (shutil.which("dot") is not None and _has_pydot())


def _has_pydot():
    try:
        import pydot  # noqa: F401
        return True
    except ImportError:
        return False
