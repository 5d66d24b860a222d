"""The convolution explorer's core and widget, without a browser.

The output map is checked against minikeras's conv kernel, the public Conv2D layer and the
real Keras 3 for every padding and stride; the multiply-and-add shown at each position
against the output value there; and the second view's feature maps against the model.
"""
import io

import numpy as np
import pytest

from minikeras.kernels.conv import conv2d_forward
from minikeras.widgets.conv_explorer import (PRESETS, ConvExplorerCore, FeatureMaps, output_size,
                                             padding_split, preset, render)

SETTINGS = [(k, p, s) for k in (3, 5) for p in ("valid", "same") for s in (1, 2, 3)]


@pytest.fixture(autouse=True)
def array_backend():
    """The explorer works on NumPy arrays: one run per test (overrides conftest's backends)."""
    yield "numpy"


def _image(shape=(28, 28), seed=0):
    return np.random.default_rng(seed).random(shape)


def _window_by_hand(image, top, left, k_h, k_w, pad_top, pad_left):
    """The pixels under the kernel, reading zeros outside the image (no np.pad)."""
    h, w = image.shape
    out = np.zeros((k_h, k_w))
    for i in range(k_h):
        for j in range(k_w):
            r, c = top + i - pad_top, left + j - pad_left
            if 0 <= r < h and 0 <= c < w:
                out[i, j] = image[r, c]
    return out


# --------------------------------------------------------------------------- geometry
def test_output_size_and_padding_follow_keras(keras_ref):
    for n in (1, 2, 5, 7, 10, 28):
        for k in range(1, 8):
            for s in (1, 2, 3, 4):
                for padding in ("valid", "same"):
                    out = output_size(n, k, s, padding)
                    before, after = padding_split(n, k, s, padding)
                    if out > 0:   # the general formula with the padding actually added
                        assert out == (n + before + after - k) // s + 1, (n, k, s, padding)
                        assert 0 <= after - before <= 1
                    if out == 0:   # Keras refuses such a layer too
                        assert padding == "valid" and k > n
                        continue
                    expected = keras_ref.layers.Conv2D(1, k, strides=s, padding=padding).compute_output_shape(
                        (None, n, n, 1))[1]
                    assert out == expected, (n, k, s, padding, out, expected)


def test_geometry_formula_text():
    g = ConvExplorerCore(_image(), "identity", size=5, padding="same", stride=2).geometry
    assert (g.out_h, g.out_w, g.pad_top, g.pad_bottom) == (14, 14, 1, 2)
    assert g.formula().startswith("out = floor((28 + 3 - 5) / 2) + 1 = 14")
    assert g.padded_shape == (31, 31) and g.positions == 196


# --------------------------------------------------------------------------- the output map
@pytest.mark.parametrize("k,padding,stride", SETTINGS)
@pytest.mark.parametrize("shape", [(28, 28), (13, 10)])
def test_output_map_is_minikeras_and_keras_conv(k, padding, stride, shape, keras_ref):
    rng = np.random.default_rng(k * 10 + stride)
    image, kernel, bias = _image(shape, stride), rng.normal(size=(k, k)), float(rng.normal())
    core = ConvExplorerCore(image, kernel, padding=padding, stride=stride, bias=bias)
    out = core.output()
    g = core.geometry
    assert out.shape == (g.out_h, g.out_w)

    direct, _ = conv2d_forward(image[None, :, :, None], kernel[:, :, None, None], np.array([bias]),
                               strides=stride, padding=padding)
    np.testing.assert_allclose(out, direct[0, :, :, 0], rtol=0, atol=1e-12)

    import minikeras
    layer = minikeras.layers.Conv2D(1, k, strides=stride, padding=padding)
    layer.build((None, *shape, 1))
    layer.set_weights([kernel[:, :, None, None].astype("float32"), np.array([bias], "float32")])
    ours = minikeras.ops.convert_to_numpy(layer(image[None, :, :, None].astype("float32")))
    np.testing.assert_allclose(out, ours[0, :, :, 0], atol=1e-5)

    ref = keras_ref.layers.Conv2D(1, k, strides=stride, padding=padding, dtype="float64")
    ref.build((None, *shape, 1))
    ref.set_weights([kernel[:, :, None, None], np.array([bias])])
    expected = keras_ref.ops.convert_to_numpy(ref(image[None, :, :, None]))[0, :, :, 0]
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("k,padding,stride", SETTINGS)
def test_step_arithmetic_equals_the_output_everywhere(k, padding, stride):
    image = _image((11, 9), seed=k + stride)
    kernel = np.random.default_rng(stride).normal(size=(k, k))
    core = ConvExplorerCore(image, kernel, padding=padding, stride=stride, bias=-0.25)
    out, g = core.output(), core.geometry
    for t in range(g.positions):
        step = core.step_arithmetic(t)
        r, c = step["row"], step["col"]
        assert (r, c) == divmod(t, g.out_w)
        assert (step["top"], step["left"]) == (r * stride, c * stride)
        window = _window_by_hand(image, step["top"], step["left"], k, k, g.pad_top, g.pad_left)
        np.testing.assert_array_equal(step["window"], window)
        np.testing.assert_array_equal(step["products"], window * kernel)
        assert step["total"] == pytest.approx(float((window * kernel).sum()), abs=1e-12)
        assert step["value"] == pytest.approx(step["total"] - 0.25, abs=1e-15)
        assert step["value"] == pytest.approx(out[r, c], abs=1e-12)
        # padding cells are exactly those outside the image, and they hold zeros
        rows = np.arange(step["top"], step["top"] + k)[:, None] - g.pad_top
        cols = np.arange(step["left"], step["left"] + k)[None, :] - g.pad_left
        outside = (rows < 0) | (rows >= 11) | (cols < 0) | (cols >= 9)
        np.testing.assert_array_equal(step["is_padding"], outside)
        assert np.all(step["window"][outside] == 0)
    if padding == "valid":
        assert not any(core.step_arithmetic(t)["is_padding"].any() for t in range(g.positions))


# --------------------------------------------------------------------------- presets
def test_presets_do_what_their_names_say():
    step_image = np.zeros((12, 12))
    step_image[:, 6:] = 1.0               # dark left half, bright right half
    flat = np.full((12, 12), 0.7)
    for size in (3, 5):
        for name in PRESETS:
            assert preset(name, size).shape == (size, size)
        identity = ConvExplorerCore(step_image, "identity", size=size, padding="same")
        np.testing.assert_allclose(identity.output(), step_image)
        for name in ("blur: box", "blur: gaussian", "sharpen", "identity"):
            assert preset(name, size).sum() == pytest.approx(1.0)     # keep the brightness of flat areas
            np.testing.assert_allclose(ConvExplorerCore(flat, name, size=size).output(), 0.7)
        for name in ("edges: vertical", "edges: horizontal", "edges: outline"):
            assert preset(name, size).sum() == pytest.approx(0.0, abs=1e-12)   # nothing on flat areas
            np.testing.assert_allclose(ConvExplorerCore(flat, name, size=size).output(), 0.0, atol=1e-12)
        vertical = ConvExplorerCore(step_image, "edges: vertical", size=size).output()
        assert vertical.max() == pytest.approx(1.0) and vertical.min() == 0.0   # dark -> bright: +1
        assert (vertical > 1e-12).any(axis=0).sum() == size - 1                     # only next to the edge
        np.testing.assert_allclose(ConvExplorerCore(step_image, "edges: horizontal", size=size).output(), 0.0,
                                   atol=1e-12)
        np.testing.assert_allclose(preset("edges: horizontal", size), preset("edges: vertical", size).T)
        blurred = ConvExplorerCore(step_image, "blur: gaussian", size=size).output()
        # across the step the blur ramps up by the binomial weights: 1/4, 3/4 (3x3); 1/16, 5/16, ... (5x5)
        ramp = np.cumsum({3: [1, 2, 1], 5: [1, 4, 6, 4, 1]}[size])[:-1] / {3: 4, 5: 16}[size]
        np.testing.assert_allclose(np.unique(blurred[0].round(12)), [0.0, *ramp, 1.0])
    with pytest.raises(ValueError, match="unknown kernel preset 'emboss'"):
        preset("emboss")
    with pytest.raises(ValueError, match="sizes \\(3, 5\\)"):
        preset("identity", 4)


# --------------------------------------------------------------------------- moving and changing
def test_position_moves_and_reveals_the_map():
    core = ConvExplorerCore(_image((6, 6)), "edges: outline", size=3)
    assert core.geometry.positions == 16 and core.position == 0
    assert np.isnan(core.revealed()).sum() == 15
    core.step(5)
    assert core.position == 5 and core.cell() == (1, 1)
    shown = core.revealed()
    np.testing.assert_array_equal(shown.ravel()[:6], core.output().ravel()[:6])
    assert np.isnan(shown.ravel()[6:]).all()
    core.step(-7)
    assert core.position == 14                       # wraps around
    assert core.seek(99) == 15 and not np.isnan(core.revealed()).any()
    core.stride = 2                                  # fewer positions: the position is kept in range
    assert core.geometry.positions == 4 and core.position == 3
    with pytest.raises(IndexError, match="position 4 is outside 0..3"):
        core.cell(4)


def test_bad_settings_are_refused_and_leave_the_state_alone():
    core = ConvExplorerCore(_image((4, 4)), "identity", size=3)
    with pytest.raises(ValueError, match="5x5 kernel does not fit in the 4x4 image with padding 'valid'"):
        core.kernel = np.ones((5, 5))
    assert core.kernel.shape == (3, 3)
    core.padding = "same"
    core.kernel = np.ones((5, 5))                    # fits once padded
    with pytest.raises(ValueError, match="padding must be one of"):
        core.padding = "full"
    with pytest.raises(ValueError, match="does not fit"):
        core.padding = "valid"
    assert core.padding == "same"
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        core.stride = 0
    with pytest.raises(ValueError, match="grey"):
        ConvExplorerCore(np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="NaN"):
        ConvExplorerCore(np.full((8, 8), np.nan))
    with pytest.raises(ValueError, match="kernel must be a 2-D array"):
        ConvExplorerCore(np.zeros((8, 8)), np.ones((9, 9)))
    with pytest.raises(ValueError, match="64x64"):
        ConvExplorerCore(np.zeros((100, 100)))


def test_uint8_images_are_scaled_and_kernel_edits_change_the_output():
    pixels = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    core = ConvExplorerCore(pixels, "identity", size=3)
    assert core.image.max() == pytest.approx(252 / 255)
    before = core.output().copy()
    core.set_weight(0, 0, 2.0)
    assert core.preset_name is None and core.kernel[0, 0] == 2.0
    np.testing.assert_allclose(core.output() - before, 2.0 * core.image[:6, :6])
    core.bias = 1.0
    np.testing.assert_allclose(core.output() - before, 2.0 * core.image[:6, :6] + 1.0)


def test_painting_changes_pixels_and_output():
    core = ConvExplorerCore(np.zeros((10, 10)), "blur: box", size=3)
    assert core.output().max() == 0
    assert core.paint(4, 5, 1.0, radius=1)
    img = core.image
    assert img[4, 5] == 1.0 and 0 < img[4, 6] < 1 and img[4, 8] == 0.0 and core.drawn
    assert core.output().max() > 0                   # the cached map was refreshed
    core.paint(4, 5, 0.0, radius=0)                  # the eraser clears the centre
    assert core.image[4, 5] == 0.0 and core.image[4, 6] > 0
    core.blank()
    assert core.image.max() == 0 and core.image.shape == (10, 10)


# --------------------------------------------------------------------------- pictures
def _decode(data):
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_pictures_show_window_padding_and_progress():
    from minikeras.widgets.conv_explorer import config
    core = ConvExplorerCore(_image((28, 28)), "edges: vertical", size=3, padding="same")
    core.seek(30)                                    # row 1, column 2 of the 28x28 output
    inp = _decode(render.input_png(core))
    cell = render.cell_size(30)
    assert inp.shape == (30 * cell, 30 * cell, 3)
    top, left = core.window_origin()
    assert tuple(inp[top * cell, left * cell + cell]) == config.HIGHLIGHT       # the window's border
    assert tuple(inp[cell // 2, cell // 2]) == config.PADDING_TINT              # a padding cell
    out = _decode(render.output_png(core))
    ocell = render.cell_size(28)
    centre = lambda r, c: tuple(out[r * ocell + ocell // 2, c * ocell + ocell // 2])  # noqa: E731
    pending = {config.PENDING, config.PENDING_STRIPE}
    assert centre(27, 27) in pending and centre(0, 5) not in pending
    html = render.arithmetic_html(core.step_arithmetic())
    assert "output[1, 2]" in html and f"{core.output()[1, 2]:.2f}".replace("-", "\u2212") in html


# --------------------------------------------------------------------------- a trained CNN
def _small_cnn(logits=False):
    import minikeras as keras
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((12, 12, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(5, 3),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation=None if logits else "softmax"),
    ])
    x = np.random.default_rng(0).random((24, 12, 12, 1)).astype("float32")
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=logits), optimizer="adam")
    model.fit(x, np.arange(24) % 3, epochs=1, verbose=0)
    return model, x


def test_feature_maps_are_the_models_layer_outputs():
    import minikeras as keras
    model, x = _small_cnn()
    maps = FeatureMaps(model, ["a", "b", "c"])
    layers, probabilities = maps.compute(x[0, :, :, 0])
    assert [(m.kind, m.maps.shape) for m in layers] == [("Conv2D", (10, 10, 4)), ("MaxPooling2D", (5, 5, 4)),
                                                        ("Conv2D", (3, 3, 5))]
    probe = keras.Model(inputs=model.inputs, outputs=[model.layers[i].output for i in (0, 1, 2)])
    for got, want in zip(layers, probe.predict(x[:1], verbose=0)):
        np.testing.assert_allclose(got.maps, want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities, model.predict(x[:1], verbose=0)[0], rtol=1e-5)
    assert maps.label(int(np.argmax(probabilities))) in "abc"

    # a learned first-layer filter in the explorer gives that layer's map (before its ReLU)
    kernel, bias = maps.first_conv()
    for f in range(4):
        core = ConvExplorerCore(x[0, :, :, 0], kernel[:, :, 0, f], bias=bias[f])
        np.testing.assert_allclose(np.maximum(core.output(), 0), layers[0].maps[:, :, f], rtol=1e-5, atol=1e-6)

    with pytest.raises(ValueError, match="takes 12x12 images, the chosen image is 10x10"):
        maps.compute(np.zeros((10, 10)))
    with pytest.raises(ValueError, match="2 class names for a model with 3 outputs"):
        FeatureMaps(model, ["a", "b"]).compute(x[0])


def test_feature_maps_apply_a_softmax_to_logits():
    model, x = _small_cnn(logits=True)
    _, probabilities = FeatureMaps(model).compute(x[1])
    logits = model.predict(x[1:2], verbose=0)[0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)


# --------------------------------------------------------------------------- the widget (no browser)
@pytest.fixture
def explorer():
    pytest.importorskip("ipywidgets")
    from minikeras.widgets import ConvExplorer
    model, x = _small_cnn()
    return ConvExplorer(x[:5, :, :, 0], np.arange(5) % 3, model=model, class_names=["a", "b", "c"])


def test_widget_controls_drive_the_core(explorer):
    w, c = explorer, explorer.c
    assert w.core.geometry.positions == 100 and c.position.max == 99
    first = c.output_image.value
    c.preset.value = "blur: box"
    np.testing.assert_allclose(w.core.kernel, preset("blur: box", 3))
    assert c.output_image.value != first
    c.weights[0].value = 3.0                         # editing a weight box makes a custom kernel
    assert w.core.kernel[0, 0] == 3.0 and c.preset.value == "custom"
    c.size.value = 5                                 # a custom kernel grows around its centre
    assert w.core.kernel.shape == (5, 5) and w.core.kernel[1, 1] == 3.0 and w.core.kernel[0, 0] == 0.0
    assert [b.layout.display for b in c.weights].count("none") == 0
    c.size.value = 3
    assert [b.layout.display for b in c.weights].count("none") == 16
    c.padding.value = "same"
    c.stride.value = 2
    assert w.core.geometry.positions == 36 and c.position.max == 35
    c.position.value = 7
    assert w.core.position == 7 and "output[1, 1]" in c.arithmetic.value
    c.forward.click()
    assert w.core.position == 8
    c.finish.click()
    assert w.core.position == 35 and not np.isnan(w.core.revealed()).any()
    c.index.value = 2
    assert "label: <b>c</b>" in c.image_label.value
    np.testing.assert_allclose(w.core.image, w.images[2])
    assert "(true)" in c.probabilities.value and len(c.maps_box.children) == 3


def test_widget_starts_at_the_given_image():
    pytest.importorskip("ipywidgets")
    from minikeras.widgets import ConvExplorer
    images = np.random.default_rng(0).random((6, 10, 10))
    w = ConvExplorer(images, [0, 1, 2, 0, 1, 2], class_names=["x", "y", "z"], index=4, kernel="sharpen", size=5,
                     padding="same", stride=2)
    assert w.c.index.value == 4 and "label: <b>y</b>" in w.c.image_label.value
    np.testing.assert_allclose(w.core.image, images[4])
    assert (w.c.preset.value, w.c.size.value, w.c.padding.value, w.c.stride.value) == ("sharpen", 5, "same", 2)
    assert w.core.geometry.positions == 25 and w.c.position.max == 24
    with pytest.raises(ValueError, match="index 6 is outside 0..5"):
        ConvExplorer(images, index=6)


def test_widget_refuses_a_kernel_that_does_not_fit(explorer):
    w, c = explorer, explorer.c
    tiny = np.zeros((4, 4))
    w.core.padding = "same"
    c.padding.value = "same"
    w.core.image = tiny
    c.size.value = 5
    c.padding.value = "valid"                        # 5x5 does not fit a 4x4 image unpadded
    assert c.padding.value == "same" and w.core.padding == "same"
    assert "does not fit" in c.status.value


def test_learned_filters_and_drawing(explorer):
    w, c = explorer, explorer.c
    assert "learned filter 3" in c.preset.options
    c.preset.value = "learned filter 1"
    kernel, bias = w.maps.first_conv()
    np.testing.assert_allclose(w.core.kernel, kernel[:, :, 0, 1])
    assert w.core.bias == pytest.approx(float(bias[1])) and c.bias.value == pytest.approx(float(bias[1]))
    layers, _ = w.maps.compute(w.core.image)
    np.testing.assert_allclose(np.maximum(w.core.output(), 0), layers[0].maps[:, :, 1], rtol=1e-5, atol=1e-6)

    c.blank.click()
    assert c.source.value == "your drawing" and w.core.image.max() == 0
    before = c.probabilities.value
    # a mouse press on the picture, as ipyevents reports it: pixel (row 6, col 3) of the 12x12 image
    cell = render.cell_size(12)
    size = 12 * cell
    w._on_mouse({"type": "mousedown", "relativeX": (3.5 * cell) * 300 / size, "relativeY": (6.5 * cell) * 300 / size,
                 "boundingRectWidth": 300, "boundingRectHeight": 300, "buttons": 1})
    assert w.core.image[6, 3] == 1.0
    w._on_mouse({"type": "mouseup"})
    assert c.probabilities.value != before or "your drawing" in c.image_label.value
    assert w.event_pixel({"relativeX": -5, "relativeY": 2, "boundingRectWidth": 300,
                          "boundingRectHeight": 300}) is None


def test_redraws_per_second_while_sliding(explorer, capsys):
    rate = explorer.measure_redraws(40)
    assert rate > 0 and explorer.core.position == 0
    with capsys.disabled():
        print(f"\nconv explorer: {rate:.0f} redraws/s while sliding (kernel side, shared machine)")


def test_widget_without_any_images_starts_a_drawing(monkeypatch):
    pytest.importorskip("ipywidgets")
    from minikeras.widgets.conv_explorer import widget
    monkeypatch.setattr(widget, "_fashion_test_images", lambda: (None, None))
    w = widget.ConvExplorer()
    assert w.images is None and list(w.c.source.options) == ["your drawing"] and w.c.index.disabled
    assert w.core.image.shape == (28, 28) and w.core.image.max() == 0 and w.core.drawn
    assert "Pass a trained CNN" in w.c.maps_note.value
    w.draw(10, 10)
    assert w.core.image[10, 10] == 1.0 and w.core.output().max() > 0
    with pytest.raises(ValueError, match="no images to select from"):
        w.select(0)
    with pytest.raises(ValueError, match="50 images but 3 labels"):
        widget.ConvExplorer(np.zeros((50, 28, 28)), [1, 2, 3])
