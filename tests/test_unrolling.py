"""The unrolling explorer: its step-by-step states equal minikeras's SimpleRNN/LSTM/GRU layers,
its per-step gradients equal the autodiff engine's and finite differences, the recurrent
scale makes gradients vanish or explode as theory says, and the widget's controls drive it
(no browser here; see test_browser_unrolling.py)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend
from minikeras.widgets.unrolling import UnrollingCore, config

KINDS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@pytest.fixture(autouse=True)
def array_backend():
    """The explorer is plain NumPy: run each test once, on NumPy (overrides conftest)."""
    backend.set_backend("numpy")
    backend.set_floatx("float64")
    keras.utils.clear_session()
    yield "numpy"
    backend.set_floatx("float32")


def _layer(kind, units, features, rng, activation="tanh", **kw):
    layer = KINDS[kind](units, activation=activation, **kw)
    layer.build((None, None, features))
    # random, not initial, weights (and a non-zero bias) so every term of the equations counts
    layer.set_weights([rng.normal(scale=0.6, size=w.shape) for w in layer.get_weights()])
    return layer


def _layer_states(layer, x):
    """h_t (and c_t) for every step, from the minikeras layer itself (one call per prefix)."""
    kind = type(layer).__name__
    probe = type(layer).from_config({**layer.get_config(), "return_sequences": True, "return_state": True,
                                     "name": None})
    probe.build((None, None, x.shape[-1]))
    probe.set_weights(layer.get_weights())
    out = probe(x[None])
    h = np.concatenate([np.zeros((1, layer.units)), np.asarray(out[0])[0]])
    if kind != "LSTM":
        return h, None
    c = [np.zeros(layer.units)]
    for t in range(1, len(x) + 1):
        c.append(np.asarray(probe(x[None, :t])[2])[0])
    return h, np.array(c)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
def test_states_equal_the_minikeras_layer(kind, activation, rng):
    layer = _layer(kind, 5, 3, rng, activation=activation)
    x = rng.normal(size=(9, 3))
    core = UnrollingCore(x, layer=layer)
    h, c = _layer_states(layer, x)
    np.testing.assert_allclose(core.trace()["h"], h, rtol=1e-10, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(core.trace()["c"], c, rtol=1e-10, atol=1e-12)
        g = core.trace()["gates"]
        assert set(g) == {"i", "f", "c", "o"}
        for name in "ifo":
            assert np.all((g[name] > 0) & (g[name] < 1))
        cell = core.trace()["c"]
        np.testing.assert_allclose(cell[1:], g["f"] * cell[:-1] + g["i"] * g["c"])   # c_t = f c + i c~
    # the final state is what the layer returns by default
    np.testing.assert_allclose(np.asarray(layer(x[None]))[0], core.trace()["h"][-1], rtol=1e-10)


def test_model_with_a_prefix_layer_and_a_dense_readout(rng):
    model = keras.Sequential([keras.Input(shape=(None,)), keras.layers.Embedding(20, 4),
                              keras.layers.LSTM(6), keras.layers.Dense(1)])
    tokens = rng.integers(0, 20, size=(3, 7))
    model.predict(tokens, verbose=0)
    core = UnrollingCore(tokens, model=model)
    assert core.kind == "lstm" and len(core.sequences) == 3 and core.sequence.shape == (7, 4)
    dense_w, dense_b = model.layers[-1].get_weights()
    np.testing.assert_allclose(core.readout, dense_w[:, 0])
    for i in range(3):
        core.select(i)
        # the read-out plus the Dense bias is the model's prediction
        np.testing.assert_allclose(core.output() + dense_b[0], model.predict(tokens[i:i + 1], verbose=0)[0, 0],
                                   rtol=1e-8)


def _tape_state_gradients(core):
    """dL/dh_t (and dL/dc_t) from the autodiff engine: run the layer from step t on, starting
    from the state the explorer reached, and differentiate with respect to that state."""
    layer = core.as_layer()
    fwd = core.trace()
    dh, dc = [], []
    for t in range(core.T):
        h0 = keras.Variable(fwd["h"][t][None])
        states = [h0]
        if core.kind == "lstm":
            c0 = keras.Variable(fwd["c"][t][None])
            states.append(c0)
        with keras.GradientTape() as tape:
            seq = layer(core.sequence[None, t:], initial_state=states)
            loss = keras.ops.sum(seq[:, -1] * core.readout)
        grads = tape.gradient(loss, states)
        dh.append(np.asarray(grads[0])[0])
        if core.kind == "lstm":
            dc.append(np.asarray(grads[1])[0])
    return np.array(dh), (np.array(dc) if dc else None)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("scale", [0.5, 1.7])
def test_gradients_per_step_equal_the_autodiff_engine(kind, scale, rng):
    layer = _layer(kind, 4, 2, rng)
    core = UnrollingCore(rng.normal(size=(8, 2)), layer=layer, recurrent_scale=scale, readout=rng.normal(size=4))
    dh, dc = _tape_state_gradients(core)
    grads = core.gradients()
    np.testing.assert_allclose(grads["dh"][:-1], dh, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["dh"][-1], core.readout)
    if kind == "lstm":
        np.testing.assert_allclose(grads["dc"][:-1], dc, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["norms"], np.linalg.norm(grads["dh"], axis=1))
    # gradients with respect to the inputs, against the tape on the whole sequence
    x = keras.Variable(core.sequence[None])
    with keras.GradientTape() as tape:
        loss = keras.ops.sum(core.as_layer()(x)[:, -1] * core.readout)
    np.testing.assert_allclose(grads["dx"], np.asarray(tape.gradient(loss, x))[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_input_gradients_equal_finite_differences(kind, rng):
    core = UnrollingCore(rng.normal(size=(6, 3)), cell=kind, units=4, seed=3, recurrent_scale=1.3)
    analytic = core.gradients()["dx"]
    x0, eps = core.sequence.copy(), 1e-6
    numeric = np.zeros_like(x0)
    for pos in np.ndindex(x0.shape):
        for sign in (1, -1):
            x = x0.copy()
            x[pos] += sign * eps
            core.sequences[0] = x
            core.set()
            numeric[pos] += sign * core.output() / (2 * eps)
    core.sequences[0] = x0
    core.set()
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_linear_orthogonal_rnn_scales_the_gradient_by_exactly_scale_per_step(rng):
    x = rng.normal(size=(20, 2))
    for scale in (0.5, 1.0, 1.5):
        core = UnrollingCore(x, cell="simple_rnn", units=6, activation="linear", recurrent_scale=scale)
        norms = core.gradients()["norms"]
        np.testing.assert_allclose(norms, scale ** np.arange(20, -1, -1), rtol=1e-9)
        assert core.gradient_ratio() == pytest.approx(scale ** 20, rel=1e-9)


def test_tanh_gradients_vanish_with_small_recurrent_weights(rng):
    x = rng.normal(size=(30, 2))
    small = UnrollingCore(x, cell="simple_rnn", units=8, recurrent_scale=0.5)
    one = UnrollingCore(x, cell="simple_rnn", units=8, recurrent_scale=1.0)
    assert small.gradient_ratio() < 0.5 ** 30 * 1.0001       # tanh' <= 1 only shrinks it more
    assert small.gradient_ratio() < one.gradient_ratio()
    large = UnrollingCore(x * 0.01, cell="simple_rnn", units=8, recurrent_scale=2.0)
    assert large.gradient_ratio() > 1e3                       # small inputs: tanh ~ linear, it explodes


def test_stepping_selection_and_settings(rng):
    seqs = [rng.normal(size=(5, 1)), rng.normal(size=(3, 1))]
    core = UnrollingCore(seqs, cell="lstm", units=3)
    assert (core.t, core.T) == (0, 5)
    assert [core.step() for _ in range(7)] == [1, 2, 3, 4, 5, 5, 5] and core.at_end
    assert core.back() == 4 and core.goto(-3) == 0 and core.goto(99) == 5 and core.reset() == 0
    s = core.state(2)
    assert set(s) >= {"h", "c", "gates", "grad_norm", "x"} and set(s["gates"]) == set("ifco")
    assert core.state(0)["gates"] == {}
    core.select(1)
    assert (core.T, core.t) == (3, 0)
    before = core.gradients()["norms"].copy()
    core.set(recurrent_scale=3.0)
    assert not np.allclose(core.gradients()["norms"], before)
    core.set(activation="relu")
    assert core.activation == "relu" and "relu" in core.describe()
    with pytest.raises(ValueError, match="recurrent_scale"):
        core.set(recurrent_scale=-1)
    with pytest.raises(ValueError, match="activations"):
        core.set(activation="softmax")
    with pytest.raises(IndexError):
        core.select(2)
    with pytest.raises(ValueError, match="cell"):
        UnrollingCore(seqs, cell="transformer")
    with pytest.raises(ValueError, match="shape"):
        UnrollingCore([np.zeros((4, 2))], layer=_layer("gru", 3, 5, rng))
    with pytest.raises(ValueError, match="no SimpleRNN"):
        UnrollingCore(seqs, model=keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="go_backwards"):
        UnrollingCore(seqs, layer=_layer("simple_rnn", 2, 1, rng, go_backwards=True))


def test_scales_offered_bracket_one():
    assert min(config.SCALES) < 1 < max(config.SCALES) and 1.0 in config.SCALES


# --------------------------------------------------------------------------- the widget, no browser

def test_widget_controls_drive_the_core(rng, capsys):
    pytest.importorskip("ipywidgets")
    import matplotlib
    matplotlib.use("Agg")
    from minikeras.widgets import UnrollingWidget
    w = UnrollingWidget([rng.normal(size=(12, 1)), rng.normal(size=(6, 1))], cell="lstm", units=4)
    svg0, png0 = w.graph.value, w.plot.value
    assert "mk-unroll-step" in svg0 and png0[:4] == b"\x89PNG"
    w.on_step()
    assert w.core.t == 1 and w.step_slider.value == 1 and "step 1/12" in w.status.value
    assert w.graph.value != svg0 and w.plot.value != png0
    w.step_slider.value = 7
    assert w.core.t == 7 and 'data-step="7"' in w.graph.value
    assert "forget gate" in w.status.value or "f" in w.core.state()["gates"]
    w.scale.value = 3.0
    assert w.core.recurrent_scale == 3.0
    w.activation.value = "linear"
    assert w.core.activation == "linear"
    w.sequence.value = 1
    assert w.core.index == 1 and w.step_slider.max == 6 and w.core.t == 0
    w.play.playing = True
    for tick in range(1, 20):
        w.play.value = tick
    assert w.core.at_end and w.play.playing is False
    w.on_reset()
    assert w.core.t == 0
    capsys.readouterr()


def test_widget_accepts_a_trained_model(rng):
    pytest.importorskip("ipywidgets")
    import matplotlib
    matplotlib.use("Agg")
    from minikeras.widgets import UnrollingWidget
    model = keras.Sequential([keras.Input(shape=(10, 1)), keras.layers.SimpleRNN(5), keras.layers.Dense(1)])
    x = rng.normal(size=(4, 10, 1))
    model.compile(loss="mse", optimizer="adam")
    model.fit(x, rng.normal(size=(4, 1)), epochs=1, verbose=0)
    w = UnrollingWidget(x, model=model)
    assert w.core.kind == "simple_rnn" and w.core.source.startswith("SimpleRNN layer")
    for _ in range(10):
        w.on_step()
    np.testing.assert_allclose(w.core.state()["h"], np.asarray(model.layers[0](x[:1]))[0], rtol=1e-6)
