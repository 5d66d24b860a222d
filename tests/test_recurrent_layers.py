"""Recurrent layers and Embedding against real Keras 3 with copied weights."""
import numpy as np
import pytest

import minikeras
from minikeras import backend, ops
from minikeras.autodiff import GradientTape, Tensor
from minikeras.layers.embedding import Embedding
from minikeras.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN

from gradcheck import check_op_gradients

B, T, F, U = 3, 6, 5, 4
OURS = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}


def _to_np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else backend.to_numpy(t)


def _listify(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _pair(keras, name, **kw):
    """Our layer and Keras's, built on (B, T, F), Keras's weights copied into ours (biases randomised)."""
    ref = getattr(keras.layers, name)(U, **kw)
    ref.build((B, T, F))
    rng = np.random.default_rng(3)
    ref.set_weights([w if w.ndim == 2 and w.shape[0] in (F, U) and i < 2 else rng.standard_normal(w.shape)
                     .astype("float32") for i, w in enumerate(ref.get_weights())])
    ours = OURS[name](U, **kw)
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    return ours, ref


def test_param_counts(keras_ref):
    layer = SimpleRNN(256)
    layer.build((None, 28, 28))
    assert layer.count_params() == 72_960
    for name, kw in [("LSTM", {}), ("GRU", {}), ("GRU", dict(reset_after=False)), ("SimpleRNN", dict(use_bias=False))]:
        ours = OURS[name](32, **kw)
        ours.build((None, 28, 28))
        ref = getattr(keras_ref.layers, name)(32, **kw)
        ref.build((None, 28, 28))
        assert ours.count_params() == ref.count_params(), (name, kw)
        assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    bi = Bidirectional(LSTM(32))
    bi.build((None, 28, 28))
    assert bi.count_params() == 2 * 4 * (32 * 28 + 32 * 32 + 32)
    emb = Embedding(10_000, 16)
    emb.build((None, 20))
    assert emb.count_params() == 160_000


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("opts", [dict(), dict(return_sequences=True), dict(go_backwards=True, return_state=True),
                                  dict(return_sequences=True, return_state=True, go_backwards=True)],
                         ids=lambda o: "-".join(o) or "default")
def test_layer_matches_keras(name, opts, keras_ref, rng):
    x = rng.standard_normal((B, T, F)).astype("float32")
    ours, ref = _pair(keras_ref, name, **opts)
    got, want = _listify(ours(x)), [_to_np(w) for w in _listify(ref(x))]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(backend.to_numpy(g.value), w, rtol=1e-5, atol=1e-5)
    shape, ref_shape = ours.compute_output_shape((None, T, F)), ref.compute_output_shape((None, T, F))
    if opts.get("return_state"):
        assert [tuple(s) for s in shape] == [tuple(s) for s in ref_shape]
    else:
        assert tuple(shape) == tuple(ref_shape)


def test_gru_reset_before_and_initial_state(keras_ref, rng):
    x = rng.standard_normal((B, T, F)).astype("float32")
    h0 = rng.standard_normal((B, U)).astype("float32")
    ours, ref = _pair(keras_ref, "GRU", reset_after=False, return_sequences=True)
    np.testing.assert_allclose(ours(x, initial_state=[h0]).numpy(), _to_np(ref(x, initial_state=[h0])),
                               rtol=1e-5, atol=1e-5)
    c0 = rng.standard_normal((B, U)).astype("float32")
    ours, ref = _pair(keras_ref, "LSTM")
    np.testing.assert_allclose(ours(x, initial_state=[h0, c0]).numpy(), _to_np(ref(x, initial_state=[h0, c0])),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_matches_keras(merge_mode, return_sequences, keras_ref, rng):
    x = rng.standard_normal((B, T, F)).astype("float32")
    ours = Bidirectional(GRU(U, return_sequences=return_sequences), merge_mode=merge_mode)
    ref = keras_ref.layers.Bidirectional(keras_ref.layers.GRU(U, return_sequences=return_sequences),
                                         merge_mode=merge_mode)
    ref.build((B, T, F))
    ref.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()])
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    got, want = _listify(ours(x)), [_to_np(w) for w in _listify(ref(x))]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-5)
    shape = ours.compute_output_shape((None, T, F))
    ref_shape = ref.compute_output_shape((None, T, F))
    assert [tuple(s) for s in _listify(shape)] == [tuple(s) for s in _listify(ref_shape)] \
        if merge_mode is None else tuple(shape) == tuple(ref_shape)


def test_bidirectional_return_state_matches_keras(keras_ref, rng):
    x = rng.standard_normal((B, T, F)).astype("float32")
    ours = Bidirectional(LSTM(U, return_state=True, return_sequences=True))
    ref = keras_ref.layers.Bidirectional(keras_ref.layers.LSTM(U, return_state=True, return_sequences=True))
    ref.build((B, T, F))
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    got, want = ours(x), [_to_np(w) for w in ref(x)]
    assert len(got) == len(want) == 5
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-5)
    assert ours.compute_output_shape((None, T, F)) == [(None, T, 2 * U)] + [(None, U)] * 4


def test_embedding_matches_keras_and_accumulates_gradients(keras_ref, rng, float64):
    ids = np.array([[1, 2, 2, 0], [7, 2, 1, 9]])
    ours, ref = Embedding(10, 3), keras_ref.layers.Embedding(10, 3)
    ref.build((None, 4))
    ours.build((None, 4))
    ours.set_weights(ref.get_weights())
    np.testing.assert_allclose(ours(ids).numpy(), _to_np(ref(ids)), rtol=1e-6)
    assert ours.compute_output_shape((None, 4)) == (None, 4, 3)
    table = rng.standard_normal((10, 3))
    grads = check_op_gradients(lambda t, i: ops.take(t, i.value, axis=0), table, ids, wrt=[0])
    assert np.all(grads[0][[3, 4, 5, 6, 8]] == 0)  # unused rows get no gradient
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 10\)"):
        ours(np.array([[3, 10]]))


def test_two_dimensional_input_is_a_clear_error(rng):
    layer = SimpleRNN(8, name="rnn_demo")
    with pytest.raises(ValueError, match=r"'rnn_demo' \(SimpleRNN\) is incompatible with the layer: "
                                         r"expected a 3-D input.*\(32, 784\)"):
        layer(rng.standard_normal((32, 784)).astype("float32"))
    lstm = LSTM(4)
    lstm(rng.standard_normal((2, 3, 5)).astype("float32"))
    with pytest.raises(ValueError, match=r"expected axis -1 of the input to have value 5.*\(2, 3, 6\)"):
        lstm(rng.standard_normal((2, 3, 6)).astype("float32"))
    with pytest.raises(ValueError, match="recurrent_activation"):
        GRU(3, recurrent_activation=lambda v: v)


def test_config_round_trip():
    for layer in [SimpleRNN(7, dropout=0.2, return_sequences=True), LSTM(5, unit_forget_bias=False, go_backwards=True),
                  GRU(3, reset_after=False, recurrent_activation="hard_sigmoid", return_state=True)]:
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config
    bi = Bidirectional(LSTM(4, return_sequences=True), merge_mode="sum")
    clone = Bidirectional.from_config(bi.get_config())
    assert clone.get_config()["layer"] == bi.get_config()["layer"] and clone.merge_mode == "sum"
    assert clone.backward_layer.go_backwards and not clone.forward_layer.go_backwards
    emb = Embedding(20, 4, mask_zero=True)
    assert Embedding.from_config(emb.get_config()).get_config() == emb.get_config()


def test_lstm_unit_forget_bias_initialisation():
    layer = LSTM(3)
    layer.build((None, 2, 4))
    np.testing.assert_array_equal(layer.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    plain = LSTM(3, unit_forget_bias=False)
    plain.build((None, 2, 4))
    assert not plain.bias.numpy().any()


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_dropout_only_in_training(name, rng):
    x = rng.standard_normal((8, T, F)).astype("float32")
    layer = OURS[name](U, dropout=0.5, recurrent_dropout=0.5)
    inference = layer(x).numpy()
    np.testing.assert_array_equal(layer(x, training=False).numpy(), inference)
    trained = layer(x, training=True)
    assert np.abs(trained.numpy() - inference).max() > 1e-3
    with GradientTape() as tape:
        loss = minikeras.ops.sum(layer(x, training=True) ** 2)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)


def test_sequential_model_trains(rng):
    """A seed-style model: SimpleRNN on sequences, Dense head, compile and fit."""
    keras = minikeras
    x = rng.standard_normal((64, 5, 3)).astype("float32")
    y = x[:, :, 0].sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input(shape=(5, 3)), SimpleRNN(16, dropout=0.1), keras.layers.Dense(1)])
    assert model.count_params() == 16 * 3 + 16 * 16 + 16 + 17
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert model.predict(x[:2], verbose=0).shape == (2, 1)


def test_float64_gradients_through_layer(float64):
    """The layer wires its weights into the kernel op: the kernel gradient matches finite differences."""
    layer = GRU(3, return_sequences=True)
    layer.build((None, 4, 2))
    x = Tensor(backend.xp().asarray(np.linspace(-1, 1, 16).reshape(2, 4, 2)))

    def run(kernel):
        saved, layer.kernel = layer.kernel, kernel
        try:
            return layer(x)
        finally:
            layer.kernel = saved
    check_op_gradients(run, layer.kernel.numpy())
