"""The playground's settings, training core, pictures, controls and widget, without a browser."""
import dataclasses
import json
import re
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from minikeras.widgets import _datasets as ds
from minikeras.widgets.playground import CONTROLS, Playground, PlaygroundConfig, PlaygroundCore, colour_map
from minikeras.widgets.playground import render
from minikeras.widgets.playground.controls import TABLE


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- datasets
@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "spiral"])
def test_classification_generators_shape_and_labels(name):
    X, y = ds.generate(name, 500, 0.0, rng())
    assert X.shape == (500, 2) and y.shape == (500,)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert abs((y > 0).sum() - 250) <= (0 if name in ("gauss", "spiral") else 60)


@pytest.mark.parametrize("name", ["reg-plane", "reg-gauss"])
def test_regression_generators(name):
    X, y = ds.generate(name, 1200, 0.0, rng())
    assert X.shape == (1200, 2) and y.shape == (1200,)
    assert np.all(np.abs(X) <= 6)
    if name == "reg-plane":
        np.testing.assert_allclose(y, X.sum(axis=1) / 10)
    else:
        assert y.min() >= -1 and y.max() <= 1 and y.min() < -0.5 and y.max() > 0.5


def test_circle_noiseless_rule_and_noise_flips_labels_only():
    X, y = ds.classify_circle(500, 0.0, rng(1))
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_array_equal(y, np.where(r < 2.5, 1.0, -1.0))
    assert r.max() <= 5 and np.all((r <= 2.5) | (r >= 3.5))
    Xn, yn = ds.classify_circle(500, 0.5, rng(1))
    np.testing.assert_array_equal(Xn, X)          # the points do not move ...
    assert (yn != y).any()                        # ... only labels flip


def test_xor_gap_and_noise_rule():
    X, y = ds.classify_xor(500, 0.0, rng(2))
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)
    np.testing.assert_array_equal(y, np.where(X[:, 0] * X[:, 1] >= 0, 1.0, -1.0))
    Xn, yn = ds.classify_xor(500, 0.5, rng(2))
    np.testing.assert_array_equal(Xn, X)
    assert (yn != y).any()


def test_gauss_noise_spreads_points():
    X0, y0 = ds.classify_gauss(2000, 0.0, rng(3))
    X1, _ = ds.classify_gauss(2000, 0.5, rng(3))
    pos = X0[y0 > 0]
    np.testing.assert_allclose(pos.mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(pos.var(axis=0), [0.5, 0.5], rtol=0.15)
    np.testing.assert_allclose(X1[y0 > 0].var(axis=0), [4, 4], rtol=0.15)


def test_spiral_jitter_is_small():
    X0, y0 = ds.classify_spiral(500, 0.0, rng(4))
    X1, y1 = ds.classify_spiral(500, 0.5, rng(4))
    np.testing.assert_array_equal(y0, y1)
    assert np.abs(X1 - X0).max() <= 0.5 + 1e-12
    assert np.hypot(X0[:, 0], X0[:, 1]).max() <= 5


def test_noise_rules_of_the_web_app():
    assert PlaygroundCore.clean_noise(90) == 50
    assert PlaygroundCore.clean_noise(-5) == 0
    assert PlaygroundCore.clean_noise(80) == 80


def test_multiclass_generators():
    for name in ("blobs", "spiral", "rings"):
        X, y = ds.generate(name, 400, 0.0, rng(), classes=4)
        assert X.shape == (400, 2) and set(np.unique(y)) == {0, 1, 2, 3}


def test_split_ratio_and_fixed_order():
    core = PlaygroundCore(seed=5, train_ratio=30)
    assert len(core.X_train) == 150 and len(core.X_test) == 350
    core2 = PlaygroundCore(seed=5, train_ratio=30)
    np.testing.assert_array_equal(core.X_train, core2.X_train)


# --------------------------------------------------------------------------- features
def test_feature_transforms():
    X = np.array([[1.0, 2.0], [-3.0, 0.5]])
    F = ds.transform(X, ["sin(x2)", "x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)"])
    expected = np.stack([X[:, 0], X[:, 1], X[:, 0] ** 2, X[:, 1] ** 2, X[:, 0] * X[:, 1],
                         np.sin(X[:, 0]), np.sin(X[:, 1])], axis=1)
    np.testing.assert_allclose(F, expected, rtol=1e-6)
    assert F.dtype == np.float32
    with pytest.raises(ValueError, match="Unknown input feature"):
        ds.transform(X, ["cos(x1)"])
    with pytest.raises(ValueError, match="At least one"):
        ds.transform(X, [])


def test_model_input_width_follows_features():
    core = PlaygroundCore(seed=0, features=["x1", "x2", "x1*x2"], hidden=[])
    assert core.model.layers[0].kernel.shape == (3, 1)


# --------------------------------------------------------------------------- network shape
@pytest.mark.parametrize("hidden", [[], [1], [8] * 6, [4, 2], [3, 1, 8]])
def test_network_shapes_within_limits(hidden):
    core = PlaygroundCore(seed=0, hidden=hidden)
    kernels = [w for w, _ in core.weights()]
    assert [k.shape[1] for k in kernels] == list(hidden) + [1]
    assert core.model.count_params() == sum(k.size + k.shape[1] for k in kernels)


@pytest.mark.parametrize("hidden, msg", [([2] * 7, "At most 6 hidden layers"),
                                         ([4, 9], "Hidden layer 2 must have 1 to 8"),
                                         ([0], "Hidden layer 1 must have 1 to 8")])
def test_network_shape_errors(hidden, msg):
    with pytest.raises(ValueError, match=msg):
        PlaygroundCore(seed=0, hidden=hidden)


def test_web_app_initialisation():
    core = PlaygroundCore(seed=0)
    for w, b in core.weights():
        assert np.all(np.abs(w) <= 0.5)
        np.testing.assert_allclose(b, 0.1)


# --------------------------------------------------------------------------- training
def test_epochs_reduce_loss_on_circle():
    core = PlaygroundCore(seed=0, dataset="circle")
    start = core.logs["loss"]
    core.train(30)
    assert core.epoch == 30 and len(core.history["loss"]) == 31
    assert core.logs["loss"] < 0.6 * start
    assert core.logs["accuracy"] > 0.8


def test_seed_reproducibility():
    a, b = PlaygroundCore(seed=42, dataset="xor"), PlaygroundCore(seed=42, dataset="xor")
    a.train(5)
    b.train(5)
    assert a.history["loss"] == b.history["loss"]
    c = PlaygroundCore(seed=43, dataset="xor")
    c.train(5)
    assert c.history["loss"] != a.history["loss"]
    # a reset is re-seeded deterministically too
    a.reset()
    b.reset()
    for (wa, _), (wb, _) in zip(a.weights(), b.weights()):
        np.testing.assert_array_equal(wa, wb)
    d = PlaygroundCore.from_state(a.state)
    np.testing.assert_array_equal(d.X_train, a.X_train)


def test_multiclass_softmax_crossentropy():
    core = PlaygroundCore(seed=1, dataset="blobs", classes=4, hidden=[6], learning_rate=0.1)
    assert core.num_classes == 4 and core.loss_kind == "crossentropy"
    assert core.model.layers[-1].units == 4
    start = core.logs["loss"]
    core.train(15)
    assert core.logs["loss"] < start and core.logs["accuracy"] > 0.9
    out = core.grid()["output"]
    assert out.shape == (100, 100, 4)
    np.testing.assert_allclose(out.sum(axis=-1), 1, rtol=1e-4)


def test_binary_crossentropy_option():
    core = PlaygroundCore(seed=1, loss="crossentropy")
    assert core.model.layers[-1].activation.__name__ == "sigmoid"
    core.train(10)
    assert core.logs["accuracy"] > 0.6


def test_regression():
    core = PlaygroundCore(seed=2, problem="regression")
    assert core.dataset == "reg-plane" and len(core.X_train) + len(core.X_test) == 1200
    start = core.logs["loss"]
    core.train(10)
    assert core.logs["loss"] < start / 5
    assert np.isnan(core.logs["accuracy"])


@pytest.mark.parametrize("reg", ["l1", "l2"])
def test_regularization_changes_the_training(reg):
    plain = PlaygroundCore(seed=3, dataset="xor", hidden=[8, 8])
    regd = PlaygroundCore(seed=3, dataset="xor", hidden=[8, 8], regularization=reg, regularization_rate=0.03)
    # the same initial weights; the penalty is part of the compiled objective
    np.testing.assert_array_equal(plain.weights()[0][0], regd.weights()[0][0])
    assert len(regd.model.losses) == 3 and len(plain.model.losses) == 0
    plain.train(3)
    regd.train(3)
    assert plain.history["loss"][-1] != regd.history["loss"][-1]
    assert np.abs(regd.weights()[1][0]).sum() < np.abs(plain.weights()[1][0]).sum()


@pytest.mark.parametrize("opt", ["momentum", "nesterov", "rmsprop", "adam"])
def test_optimizers_and_dropout(opt):
    core = PlaygroundCore(seed=4, optimizer=opt, learning_rate=0.01, dropout=0.1)
    start = core.logs["loss"]
    core.train(5)
    assert core.logs["loss"] < start


def test_learning_rate_is_live_and_shape_resets():
    core = PlaygroundCore(seed=0)
    core.train(3)
    assert core.set(learning_rate=0.1) == "live" and core.epoch == 3
    assert float(core.model.optimizer.learning_rate.value) == pytest.approx(0.1)
    assert core.set(activation="relu") == "reset" and core.epoch == 0
    assert core.set(noise=20) == "data"


def test_model_handed_back_predicts_the_grid():
    core = PlaygroundCore(seed=6, dataset="spiral", hidden=[5, 3], features=["x1", "x2", "sin(x1)"])
    core.train(3)
    grid = core.grid()
    pred = core.model.predict(core.transform(core.grid_points()), verbose=0)
    np.testing.assert_allclose(pred[:, 0].reshape(100, 100), grid["output"], rtol=1e-5, atol=1e-6)
    assert [h.shape for h in grid["hidden"]] == [(5, 100, 100), (3, 100, 100)]
    assert grid["inputs"].shape == (3, 100, 100)


def test_own_data_and_added_points():
    X = rng(0).normal(size=(120, 2))
    y = np.array(["a", "b", "c"])[np.arange(120) % 3]
    core = PlaygroundCore(X, y, seed=0, hidden=[4])
    assert core.num_classes == 3 and core.dataset == "custom"
    n = len(core.X_train)
    core.add_point(0.5, 0.5, 2)
    assert len(core.X_train) == n + 1 and core.y_train[-1] == 2
    core.train(2)
    reg = PlaygroundCore(X, X[:, 0] * 0.3, seed=0)
    assert reg.problem == "regression"


def test_colour_map():
    rgb = colour_map(np.array([-1.0, 0.0, 1.0, np.nan, 7.0]), alpha=255)
    assert tuple(rgb[0]) == (0xF5, 0x93, 0x22) and tuple(rgb[1]) == (0xE8, 0xEA, 0xEB)
    assert tuple(rgb[2]) == (0x08, 0x77, 0xBD) and tuple(rgb[4]) == tuple(rgb[2])
    assert tuple(rgb[3]) == (160, 160, 160)
    assert len(np.unique(colour_map(np.linspace(-1, 1, 500)), axis=0)) == 31


# --------------------------------------------------------------------------- settings
def test_config_normalises_and_round_trips_its_state():
    cfg = PlaygroundConfig(dataset="spiral", classes=4, hidden=[8, 8], features=["x2", "x1"], regularization="L2",
                           regularization_rate=0.01, train_ratio=0.3, noise=95, seed=3)
    assert (cfg.features, cfg.hidden, cfg.regularization, cfg.train_ratio, cfg.noise) == \
        (("x1", "x2"), (8, 8), "l2", 30.0, 50.0)
    state = cfg.to_state()
    assert json.loads(json.dumps(state)) == state and state["hidden"] == [8, 8]
    assert PlaygroundConfig.from_state(state) == cfg == PlaygroundConfig.from_state(cfg.to_json())
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 4
    assert isinstance(PlaygroundConfig().seed, int)           # drawn, so the state replays the run
    assert cfg.update(problem="regression").dataset == "reg-plane"   # the cascade of the problem drop-down
    assert cfg.update(learning_rate=0.3).changed(cfg) == {"learning_rate"}


@pytest.mark.parametrize("bad, message", [
    ({"problem": "clustering"}, "problem must be one of"),
    ({"problem": "regression", "dataset": "circle"}, "does not fit a regression problem"),
    ({"learning_rate": 0}, "learning_rate must be a positive"),
    ({"batch_size": 2.5}, "batch_size must be a whole number"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"classes": 9}, "classes must be 2 to 8"),
    ({"activation": "nope"}, "Unknown activation 'nope'"),
    ({"regularization": "l3"}, "regularization must be None, 'l1' or 'l2'"),
    ({"train_ratio": 100}, "train_ratio is a percentage"),
    ({"hidden": [4] * 7}, "At most 6 hidden layers"),
])
def test_config_errors_name_the_setting(bad, message):
    with pytest.raises(ValueError, match=message):
        PlaygroundConfig(**bad)


def test_config_says_what_a_change_needs():
    effect = PlaygroundConfig.effect
    assert effect(set()) is None and effect({"learning_rate", "optimizer"}) == "live"
    assert effect({"hidden", "learning_rate"}) == "reset" and effect({"noise", "hidden"}) == "data"
    assert effect({"seed", "noise"}) == "seed"
    with pytest.raises(ValueError, match="Unknown playground setting"):
        PlaygroundConfig().update(epochs=3)
    with pytest.raises(ValueError, match="Unknown playground setting"):
        PlaygroundConfig.from_state({"epochs": 3})


def test_a_new_seed_replays_a_fresh_run():
    a = PlaygroundCore(seed=1, dataset="xor")
    a.train(2)
    assert a.set(seed=7) == "data" and a.epoch == 0
    b = PlaygroundCore(seed=7, dataset="xor")
    np.testing.assert_array_equal(a.X_train, b.X_train)
    for (wa, _), (wb, _) in zip(a.weights(), b.weights()):
        np.testing.assert_array_equal(wa, wb)


def test_core_config_and_pictures_need_no_widget_stack():
    """The training core imports neither ipywidgets nor matplotlib (render loads matplotlib on use)."""
    code = ("import sys, minikeras.widgets.playground.core, minikeras.widgets.playground.render, "
            "minikeras.widgets.perceptron.core; "
            "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'IPython') if m in sys.modules))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# --------------------------------------------------------------------------- pictures
def _svg(hidden, classes=None, output_y=160.0):
    core = PlaygroundCore(seed=0, hidden=hidden, **({"dataset": "blobs", "classes": classes} if classes else {}))
    feats = list(ds.FEATURE_NAMES)
    return core, render.network_svg(core.grid(), core.weights(), feats, [f in core.features for f in feats], 3,
                                    output_y)


@pytest.mark.parametrize("hidden", [[], [4, 2], [8] * 6])
def test_network_picture_has_a_fixed_frame_and_links_reach_the_output(hidden):
    core, svg = _svg(hidden)
    assert f"width='{render.NET_WIDTH}' height='{render.NET_HEIGHT}'" in svg    # whatever the shape
    ends = [tuple(map(float, e)) for e in re.findall(r"class='mk-link mk-link-out' d='M[^']* ([\d.]+),([\d.]+)'", svg)]
    assert len(ends) == (hidden[-1] if hidden else 2)
    assert all(x == render.NET_WIDTH and y == 160.0 for x, y in ends)     # at the right edge, level with the map
    tops = [float(y) for y in re.findall(r"class='mk-node mk-input' x='[\d.]+' y='([\d.]+)'", svg)]
    assert tops == [render.node_top(i) for i in range(7)]                  # one row per feature button
    lefts = render.layer_left(len(hidden))
    gaps = np.diff(lefts + [render.NET_WIDTH]) - render.NODE
    np.testing.assert_allclose(gaps, gaps[0])                               # even columns, last gap included
    assert gaps[0] >= 20 and len(re.findall("mk-hidden", svg)) == sum(hidden)


def test_network_picture_spreads_the_links_of_several_outputs():
    _, svg = _svg([3], classes=4)
    ys = sorted({float(y) for y in re.findall(r"class='mk-link mk-link-out' d='M[^']* [\d.]+,([\d.]+)'", svg)})
    assert ys == [148.0, 156.0, 164.0, 172.0]


def test_heatmap_picture_and_its_plot_box():
    from PIL import Image
    (w, h), (bx0, by0, bx1, by1) = render.heatmap_geometry(6.0)
    assert (w, h) == (render.HEAT_PX, render.HEAT_PX)
    assert 0 < bx0 <= 6 and bx1 - bx0 > 0.8 * w and by1 - by0 > 0.8 * h   # links meet the plot at its left
    rgb = np.zeros((100, 100, 3), np.uint8)
    rgb[:, 50:] = 255
    img = Image.open(BytesIO(render.heatmap_png(rgb, 6.0, [(np.array([[0.0, 0.0]]), np.array([[8, 119, 189]]),
                                                             (255, 255, 255))])))
    assert img.size == (w, h)
    cx, cy = (bx0 + bx1) // 2, (by0 + by1) // 2
    assert img.getpixel((cx, cy)) == (8, 119, 189)                     # the point at the origin
    assert img.getpixel((bx0 + 10, cy + 20)) == (0, 0, 0) and img.getpixel((bx1 - 10, cy + 20)) == (255, 255, 255)


def test_loss_chart_and_caption():
    from PIL import Image
    ep = list(range(20))
    train = list(np.linspace(1.0, 0.1, 20))
    img = np.asarray(Image.open(BytesIO(render.loss_chart_png(ep, train, [v + 0.05 for v in train]))).convert("L"))
    assert img.shape == render.LOSS_SIZE[::-1]
    dark = img < 160
    rows = np.nonzero(dark)[0]
    left, right = np.nonzero(dark[:, 5:15])[0].mean(), np.nonzero(dark[:, -15:-5])[0].mean()
    assert len(rows) and left < right          # a falling loss goes down the chart
    caption = render.loss_caption(ep, train, train)
    assert "font-size:12px" in caption and "epochs 0..19" in caption and "grey: train" in caption
    assert "no loss yet" in render.loss_caption([], [], [])


def test_button_glyphs_ship_as_svg():
    css = render.stylesheet()
    for name in ("play", "pause", "step", "reset", "plus", "minus", "refresh"):
        assert f".mk-icon-{name}{{background-image:url(data:image/svg+xml;base64," in css
        assert render.icon_svg(name).startswith("<svg")


# --------------------------------------------------------------------------- the widget
def _descriptions(widget):
    out, stack = set(), [widget]
    while stack:
        w = stack.pop()
        out.add(getattr(w, "description", None))
        stack.extend(getattr(w, "children", ()))
    return out


def test_widget_builds_and_trains():
    pg = Playground(seed=0)
    first = pg._heatmap.value
    assert first[:4] == b"\x89PNG" and "<svg" in pg._network.value
    pg.step()
    assert pg.epoch == 1 and "000,001" in pg._epoch_label.value
    assert pg._heatmap.value != first
    assert pg.model is pg.core.model
    pg.set(hidden=[3, 3, 3])
    assert pg.epoch == 0 and len(pg._neuron_box.children) == 3


def test_play_runs_in_background():
    pg = Playground(seed=0, fps=20)
    pg.play()
    try:
        time.sleep(1.0)
        assert pg.playing and pg.epoch > 0       # the caller was not blocked
    finally:
        pg.pause()
    assert not pg.playing and pg.redraws > 1
    epoch = pg.epoch
    time.sleep(0.2)
    assert pg.epoch == epoch


def test_hidden_controls_are_absent():
    pg = Playground(seed=0, hide=["noise", "learning_rate", "play", "features"])
    for name in ("noise", "learning_rate", "play", "features"):
        assert name not in pg.controls
    descs = _descriptions(pg.widget)
    assert "Noise" not in descs and "Learning rate" not in descs
    assert "Activation" in descs and "Batch size" in descs
    full = Playground(seed=0)
    assert set(full.controls) == set(CONTROLS)
    assert "Noise" in _descriptions(full.widget)
    with pytest.raises(ValueError, match="Cannot hide"):
        Playground(hide=["nonsense"])


def _click(pg, px, py, scale=1.0):
    """A synthetic ipyevents click at PNG pixel (px, py) on an image rendered ``scale`` times its size."""
    w, h = pg._heat_size
    return {"type": "click", "relativeX": px * scale, "relativeY": py * scale,
            "boundingRectWidth": w * scale, "boundingRectHeight": h * scale,
            "dataX": round(px), "dataY": round(py)}


def test_one_table_builds_and_syncs_the_controls():
    import ipywidgets as W
    pg = Playground(seed=0)
    assert list(pg.controls) == [c.name for c in TABLE] == list(CONTROLS)
    # settings changed in code show on the controls
    pg.set(problem="regression", learning_rate=0.1, batch_size=40, noise=70)
    c = pg.controls
    assert (c["problem"].value, c["learning_rate"].value, c["batch_size"].value, c["batch_size"].max) == \
        ("regression", 0.1, 40, 40)
    assert (c["noise"].value, c["noise"].max, c["classes"].layout.display) == (70, 70, "none")
    names = [w.description for row in pg._dataset_box.children for cell in row.children for w in cell.children
             if isinstance(w, W.Button)]
    assert names == ["reg-plane", "reg-gauss"]
    pg.set(learning_rate=0.07)                 # not one of the web app's rates: offered, not replaced
    assert c["learning_rate"].value == 0.07 and 0.07 in c["learning_rate"].options
    # a control changed in the UI changes the setting, with the web app's consequences
    pg.train(2)
    c["activation"].value = "relu"
    assert pg.core.activation == "relu" and pg.epoch == 0
    c["regularization"].value = "l1"
    assert pg.core.regularization == "l1" and c["regularization"].value == "l1"
    c["seed"].value = 5
    np.testing.assert_array_equal(pg.core.X_train, PlaygroundCore(seed=5, problem="regression", noise=70,
                                                                 batch_size=40).X_train)
    c["view"].value = "h:1:1"
    assert pg.view == "h:1:1"
    pg.set(hidden=[1])                         # that neuron is gone: the big map falls back to the output
    assert pg.view == "output" and c["view"].value == "output" and len(pg._neuron_box.children) == 1
    c["show_test_data"].value = True
    assert pg.show_test_data


def test_a_failing_control_shows_its_error():
    pg = Playground(seed=0)
    pg._guard(pg.set, learning_rate=-1)
    assert "learning_rate must be a positive" in pg._message.value
    pg._guard(pg.step)
    assert pg._message.value == ""


def test_click_on_heatmap_adds_points():
    pg = Playground(seed=0)
    n = len(pg.core.X_train)
    w, h = pg._heat_size
    bx0, by0, bx1, by1 = pg._heat_box
    assert 0 < bx0 < bx1 < w and 0 < by0 < by1 < h     # the plot area, inside the PNG's margins
    # two pixels right of and below the middle of the plot area: just right of and below the origin
    pg._click_label.value = -1.0
    x, y = pg._on_heatmap_click(_click(pg, (bx0 + bx1) / 2 + 2, (by0 + by1) / 2 + 2))
    assert 0 < x < 0.2 and -0.2 < y < 0
    assert len(pg.core.X_train) == n + 1 and pg.core.y_train[-1] == -1.0
    pg._click_label.value = 1.0
    x, y = pg._on_heatmap_click(_click(pg, (bx0 + bx1) / 2, (by0 + by1) / 2, scale=1.5))   # zoomed display
    assert abs(x) < 1e-9 and abs(y) < 1e-9 and pg.core.y_train[-1] == 1.0
    # the plot's top-left corner is (-6, 6), its bottom-right corner (6, -6); dataX/dataY alone work too
    x, y = pg._on_heatmap_click({"dataX": bx0, "dataY": by0})
    assert (x, y) == (-6.0, 6.0)
    np.testing.assert_allclose(pg.core.X_train[-2:], [[0, 0], [-6, 6]], atol=1e-9)
    assert len(pg.core.X_train) == n + 3 and "(3 added)" in pg._points_label.value
    # a click in the margins adds nothing
    assert pg._on_heatmap_click(_click(pg, 2, 2)) is None and len(pg.core.X_train) == n + 3
    d = pg._heat_domain     # the (-6, 6) point widened the plane drawn
    assert d > 6
    bx0, by0, bx1, by1 = pg._heat_box
    x, y = pg._on_heatmap_click(_click(pg, bx1, by1))
    assert (x, y) == (d, -d) and len(pg.core.X_train) == n + 4


def test_click_adds_classes_and_regression_targets():
    X = rng(0).normal(size=(90, 2))
    y = np.arange(90) % 3
    pg = Playground(X, y, seed=0, hidden=[3])
    assert [v for _, v in pg._click_label.options] == [0, 1, 2]
    pg._click_label.value = 2
    bx0, by0, bx1, by1 = pg._heat_box
    pg._on_heatmap_click(_click(pg, (bx0 + bx1) / 2, (by0 + by1) / 2))
    assert pg.core.y_train[-1] == 2
    reg = Playground(X, X[:, 0] * 0.3, seed=0, hidden=[3])
    assert reg._click_label.layout.display == "none" and reg._click_value.layout.display == ""
    reg._click_value.value = 0.75
    bx0, by0, bx1, by1 = reg._heat_box
    reg._on_heatmap_click(_click(reg, (bx0 + bx1) / 2, (by0 + by1) / 2))
    assert reg.core.y_train[-1] == pytest.approx(0.75)


def test_widget_works_without_ipyevents(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "ipyevents", None)    # import fails
    pg = Playground(seed=0)
    assert pg._click_events is None
    n = len(pg.core.X_train)
    pg._pt_x.value, pg._pt_y.value = 1.0, 2.0
    pg._add_clicked()
    assert len(pg.core.X_train) == n + 1


def test_heatmap_has_click_handler():
    pytest.importorskip("ipyevents")
    pg = Playground(seed=0)
    assert pg._click_events is not None and pg._click_events.source is pg._heatmap
    assert "click" in pg._click_events.watched_events


def test_predict_from_main_thread_while_playing_keeps_training(monkeypatch):
    """``predict`` turns gradient recording off for its forward pass; called from the kernel's
    thread while the play thread trains, it must not switch recording off under a training step."""
    import threading
    crashes = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashes.append(args.exc_value))
    pg = Playground(seed=0, fps=4)
    start = pg.core.logs["loss"]
    points = rng(0).uniform(-6, 6, size=(64, 2))
    pg.play()
    try:
        calls, deadline = 0, time.time() + 120
        while (calls < 300 or pg.epoch < 25) and pg.playing and time.time() < deadline:
            out = pg.predict(points)
            assert out.shape == (64, 1) and np.all(np.isfinite(out))
            calls += 1
        assert pg.playing, f"the play thread died: {crashes}"
        mid_epoch = pg.epoch
        mid_weights = [w.copy() for w, _ in pg.core.weights()]
        while pg.epoch < mid_epoch + 15 and pg.playing and time.time() < deadline:
            pg.predict(points)
            time.sleep(0.01)
    finally:
        pg.pause()
    assert not crashes, crashes
    hist = pg.history
    mid = hist["epoch"].index(mid_epoch)
    assert hist["loss"][-1] < hist["loss"][mid] < start, (start, hist["loss"][mid], hist["loss"][-1])
    assert hist["loss"][-1] < 0.6 * start
    assert any(not np.array_equal(a, w) for a, (w, _) in zip(mid_weights, pg.core.weights()))
