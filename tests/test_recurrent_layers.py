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


# ---------------------------------------------------------------- RNN(cell) and cells


def _minimal_cell(k):
    """The same user-defined cell written against either library (Keras's documented pattern)."""
    class MinimalRNNCell(k.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                          name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="orthogonal",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            h = k.ops.tanh(k.ops.matmul(inputs, self.kernel) + k.ops.matmul(states[0], self.recurrent_kernel))
            return h, [h]

        def get_config(self):
            return {**super().get_config(), "units": self.units}
    return MinimalRNNCell


def _step_mask():
    mask = np.ones((B, T), bool)
    mask[0, 4:] = False
    mask[1, :2] = False
    return mask


def _compare(got, want):
    got, want = minikeras.tree.flatten(_listify(got)), minikeras.tree.flatten(list(_listify(want)))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), _to_np(w), rtol=1e-5, atol=1e-5)


CELLS = {"SimpleRNN": "SimpleRNNCell", "LSTM": "LSTMCell", "GRU": "GRUCell"}


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("opts", [dict(), dict(return_sequences=True, return_state=True, go_backwards=True)],
                         ids=["last", "all"])
def test_rnn_of_a_builtin_cell_matches_keras_and_the_layer(name, opts, keras_ref, rng, monkeypatch):
    x = rng.standard_normal((B, T, F)).astype("float32")
    torch = pytest.importorskip("torch")
    ref = keras_ref.layers.RNN(getattr(keras_ref.layers, CELLS[name])(U), **opts)
    ref.build((B, T, F))
    ref.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()])
    ours = minikeras.layers.RNN(getattr(minikeras.layers, CELLS[name])(U), **opts)
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    mask = _step_mask()
    _compare(ours(x, mask=mask), ref(x, mask=torch.tensor(mask)))
    layer = OURS[name](U, **opts)
    layer.build((B, T, F))
    layer.set_weights(ref.get_weights())
    _compare(layer(x), ours(x))
    assert isinstance(layer, minikeras.layers.RNN) and type(layer.cell).__name__ == CELLS[name]
    assert layer.cell.kernel is layer.kernel
    # The built-in cell runs the whole-sequence kernel: one op call per layer call, not one per step.
    calls = []
    op_name = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[name]
    op = getattr(ops, op_name)
    monkeypatch.setattr(ops, op_name, lambda *a, **k: calls.append(1) or op(*a, **k))
    ours(x)
    assert len(calls) == 1


@pytest.mark.parametrize("opts", [dict(), dict(return_sequences=True, return_state=True),
                                  dict(go_backwards=True, return_sequences=True)], ids=["last", "state", "backwards"])
def test_rnn_of_a_user_cell_matches_keras(opts, keras_ref, rng):
    """A cell with ``state_size`` and ``call(inputs, states)`` runs step by step, masks and all."""
    x = rng.standard_normal((B, T, F)).astype("float32")
    torch = pytest.importorskip("torch")
    ref = keras_ref.layers.RNN(_minimal_cell(keras_ref)(U), **opts)
    ours = minikeras.layers.RNN(_minimal_cell(minikeras)(U), **opts)
    ref.build((B, T, F))
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    mask = _step_mask()
    _compare(ours(x), ref(x))
    xk = torch.tensor(x, requires_grad=True)
    want = _listify(ref(xk, mask=torch.tensor(mask)))
    xt = Tensor(backend.xp().asarray(x), requires_grad=True)
    got = _listify(ours(xt, mask=mask))
    _compare(got, want)
    sum(w.sum() for w in want).backward()
    loss = got[0] if len(got) == 1 else None
    loss = minikeras.ops.sum(got[0]) if len(got) == 1 else sum((minikeras.ops.sum(g) for g in got[1:]),
                                                                 minikeras.ops.sum(got[0]))
    from minikeras.autodiff import gradients
    grads = gradients(loss, ours.trainable_weights + [xt])
    for g, w in zip(grads, [v.value.grad for v in ref.trainable_weights] + [xk.grad]):
        np.testing.assert_allclose(backend.to_numpy(g), _to_np(w), rtol=1e-4, atol=1e-5)


def test_user_cell_gradients_by_finite_differences(float64, rng):
    layer = minikeras.layers.RNN(_minimal_cell(minikeras)(3), return_sequences=True, go_backwards=True)
    layer.build((2, 4, 2))
    mask = np.array([[True, True, True, False], [False, True, True, True]])
    x = rng.standard_normal((2, 4, 2))

    def run(kernel, inputs):
        saved, layer.cell.kernel = layer.cell.kernel, kernel
        try:
            return layer(inputs, mask=mask)
        finally:
            layer.cell.kernel = saved
    check_op_gradients(run, layer.cell.kernel.numpy(), x)


def test_stacked_cells_match_keras(keras_ref, rng):
    """Built-in cells stacked run one kernel each; a stack with a user cell steps through all of them."""
    x = rng.standard_normal((B, T, F)).astype("float32")
    torch = pytest.importorskip("torch")
    mask = _step_mask()
    for make in (lambda k: [k.layers.SimpleRNNCell(3), k.layers.LSTMCell(5)],
                 lambda k: [k.layers.GRUCell(4), _minimal_cell(k)(3)]):
        for opts in (dict(return_sequences=True, return_state=True), dict(go_backwards=True, return_state=True)):
            ref, ours = keras_ref.layers.RNN(make(keras_ref), **opts), minikeras.layers.RNN(make(minikeras), **opts)
            ref.build((B, T, F))
            ours.build((B, T, F))
            assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in ref.get_weights()]
            ref.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()])
            ours.set_weights(ref.get_weights())
            got, want = ours(x, mask=mask), ref(x, mask=torch.tensor(mask))
            assert [isinstance(g, list) for g in got] == [isinstance(w, (list, tuple)) for w in want]
            _compare(got, want)
    stacked = minikeras.layers.RNN([minikeras.layers.SimpleRNNCell(3), minikeras.layers.LSTMCell(5)],
                                   return_state=True, return_sequences=True)
    assert stacked.compute_output_shape((B, T, F)) == [(B, T, 5), [(B, 3)], [(B, 5), (B, 5)]]


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_a_cell_alone_steps_like_keras(name, keras_ref, rng):
    x = rng.standard_normal((B, F)).astype("float32")
    n = 2 if name == "LSTM" else 1
    states = [rng.standard_normal((B, U)).astype("float32") for _ in range(n)]
    ref, ours = getattr(keras_ref.layers, CELLS[name])(U), getattr(minikeras.layers, CELLS[name])(U)
    ref.build((B, F))
    ours.build((B, F))
    ours.set_weights(ref.get_weights())
    out, new = ours(x, states)
    want_out, want_new = ref(x, states)
    _compare([out] + new, [want_out] + list(want_new))
    assert ours.state_size == ref.state_size and ours.output_size == ref.output_size
    if n == 1:  # one state given alone comes back alone
        _, alone = ours(x, states[0])
        assert isinstance(alone, Tensor)
    assert [tuple(s.shape) for s in ours.get_initial_state(batch_size=B)] == [(B, U)] * n


def test_rnn_cell_errors_and_config_round_trip(tmp_path, rng):
    with pytest.raises(ValueError, match="should have a `call` method"):
        minikeras.layers.RNN(object())

    class NoSize:
        def call(self, inputs, states):
            return inputs, states
    with pytest.raises(ValueError, match="should have a `state_size` attribute"):
        minikeras.layers.RNN(NoSize())
    layer = minikeras.layers.RNN(minikeras.layers.GRUCell(4, reset_after=False, dropout=0.1), return_sequences=True,
                                 go_backwards=True)
    clone = minikeras.layers.RNN.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and isinstance(clone.cell, minikeras.layers.GRUCell)
    stacked = minikeras.layers.RNN([minikeras.layers.LSTMCell(3), minikeras.layers.SimpleRNNCell(2)])
    again = minikeras.layers.RNN.from_config(stacked.get_config())
    assert [type(c).__name__ for c in again.cell.cells] == ["LSTMCell", "SimpleRNNCell"]
    model = minikeras.Sequential([minikeras.Input((T, F)), stacked, minikeras.layers.Dense(1)])
    x = rng.standard_normal((2, T, F)).astype("float32")
    model.save(tmp_path / "stacked.keras")
    loaded = minikeras.saving.load_model(tmp_path / "stacked.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    for cls in (minikeras.layers.SimpleRNNCell, minikeras.layers.LSTMCell, minikeras.layers.GRUCell):
        cell = cls(3, dropout=0.2, recurrent_dropout=0.1, seed=4)
        assert cls.from_config(cell.get_config()).get_config() == cell.get_config()


def test_cell_layer_configs_have_keras_keys(keras_ref):
    for name in ("SimpleRNN", "LSTM", "GRU"):
        ours, ref = OURS[name](3).get_config(), getattr(keras_ref.layers, name)(3).get_config()
        assert set(ref) - {"seed"} <= set(ours), (name, set(ref) - set(ours))
        ours_cell = getattr(minikeras.layers, CELLS[name])(3).get_config()
        ref_cell = getattr(keras_ref.layers, CELLS[name])(3).get_config()
        assert set(ref_cell) <= set(ours_cell), (name, set(ref_cell) - set(ours_cell))


# ---------------------------------------------------------------- stateful


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_stateful_carries_states_across_calls_as_keras(name, keras_ref, rng):
    """Two halves of a sequence through a stateful layer = the whole sequence at once; reset_states
    starts again from zeros. Keras with the same weights gives the same numbers."""
    x = rng.standard_normal((B, 2 * T, F)).astype("float32")
    ref = getattr(keras_ref.layers, name)(U, stateful=True, return_sequences=True)
    ref.build((B, T, F))
    ours = OURS[name](U, stateful=True, return_sequences=True)
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    assert len(ours.weights) == len(ref.weights) and ours.states is not None
    first, second = ours(x[:, :T]).numpy(), ours(x[:, T:]).numpy()
    np.testing.assert_allclose(first, _to_np(ref(x[:, :T])), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(second, _to_np(ref(x[:, T:])), rtol=1e-5, atol=1e-5)
    whole = OURS[name](U, return_sequences=True)
    whole.build((B, T, F))
    whole.set_weights(ref.get_weights())
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole(x).numpy(), rtol=1e-5, atol=1e-5)
    for ours_state, ref_state in zip(ours.states, ref.states):
        np.testing.assert_allclose(ours_state.numpy(), _to_np(ref_state.value), rtol=1e-5, atol=1e-5)
    ours.reset_states()
    assert all(not s.numpy().any() for s in ours.states)
    np.testing.assert_allclose(ours(x[:, :T]).numpy(), first, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Expected batch size: 3\n- Received batch size: 2"):
        ours(x[:2, :T])


def test_stateful_needs_a_static_batch_size_and_works_in_fit(rng):
    with pytest.raises(ValueError, match=r"batch size must be static. Found dynamic batch size: "
                                         r"sequence.shape=\(None, 6, 5\)"):
        minikeras.Sequential([minikeras.Input((T, F)), LSTM(U, stateful=True)])
    model = minikeras.Sequential([minikeras.Input(batch_shape=(B, T, F)), GRU(U, stateful=True), layers_dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((4 * B, T, F)).astype("float32")
    model.fit(x, x[:, -1, :1], batch_size=B, epochs=1, shuffle=False, verbose=0)
    layer = model.layers[0]
    assert np.abs(layer.states[0].numpy()).max() > 0
    before = layer.states[0].numpy().copy()
    model.predict(x[:B], batch_size=B, verbose=0)
    assert np.abs(layer.states[0].numpy() - before).max() > 0  # predict carries the states on too
    assert LSTM(3, stateful=True).get_config()["stateful"] is True
    bi = Bidirectional(LSTM(U, stateful=True))
    bi.build((B, T, F))
    bi(x[:B])
    assert len(bi.states) == 4
    bi.reset_states()
    assert all(not s.numpy().any() for s in bi.states)
    with pytest.raises(AttributeError, match="must be stateful"):
        Bidirectional(LSTM(U)).reset_states()


def layers_dense(units):
    return minikeras.layers.Dense(units)


def test_stateful_with_a_mask_keeps_states_over_masked_steps(rng):
    x = rng.standard_normal((B, T, F)).astype("float32")
    mask = _step_mask()
    layer = LSTM(U, stateful=True)
    layer.build((B, T, F))
    layer(x, mask=mask)
    carried = [s.numpy().copy() for s in layer.states]
    layer(x, mask=np.zeros((B, T), bool))  # nothing real: the states stay where they were
    for s, c in zip(layer.states, carried):
        np.testing.assert_array_equal(s.numpy(), c)


# ---------------------------------------------------------------- dropout statistics


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_recurrent_dropout_draws_one_mask_per_gate(name, rng, monkeypatch):
    """recurrent_dropout > 0 (Keras: implementation=1): the kernel gets (gates, batch, .) masks,
    independent, each dropping about the rate; dropout alone gets one shared (batch, .) mask."""
    gates = {"LSTM": 4, "GRU": 3}[name]
    seen = {}
    op_name = name.lower()
    real = getattr(ops, op_name)

    def spy(*args, **kwargs):
        seen.update(input_mask=kwargs.get("input_mask"), state_mask=kwargs.get("state_mask"))
        return real(*args, **kwargs)
    monkeypatch.setattr(ops, op_name, spy)
    n = 4000
    x = rng.standard_normal((n, 3, F)).astype("float32")
    layer = OURS[name](U, dropout=0.3, recurrent_dropout=0.4)
    layer(x, training=True)
    im, sm = backend.to_numpy(seen["input_mask"]), backend.to_numpy(seen["state_mask"])
    assert im.shape == (gates, n, F) and sm.shape == (gates, n, U)
    for masks, rate in ((im, 0.3), (sm, 0.4)):
        dropped = (masks == 0).mean(axis=(1, 2))
        assert np.all(np.abs(dropped - rate) < 0.02), dropped
        np.testing.assert_allclose(masks[masks > 0], 1 / (1 - rate), rtol=1e-6)
        agree = (masks[0] == masks[1]).mean()
        assert abs(agree - (rate ** 2 + (1 - rate) ** 2)) < 0.02  # independent gates
    layer(x, training=False)
    assert seen["input_mask"] is None and seen["state_mask"] is None
    OURS[name](U, dropout=0.3)(x, training=True)
    assert backend.to_numpy(seen["input_mask"]).shape == (n, F) and seen["state_mask"] is None
    OURS[name](U, dropout=0.3, implementation=1)(x, training=True)
    assert backend.to_numpy(seen["input_mask"]).shape == (gates, n, F)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_dropout_output_statistics_match_keras(name, keras_ref, rng):
    """One sequence repeated over a large batch: every row gets its own masks, so the mean and the
    spread of the training outputs over rows compare the two libraries' dropout (inference: equal)."""
    n = 20_000
    seq = rng.standard_normal((1, T, F)).astype("float32")
    x = np.repeat(seq, n, axis=0)
    ref = getattr(keras_ref.layers, name)(U, dropout=0.3, recurrent_dropout=0.4, seed=0)
    ref.build((n, T, F))
    ref.set_weights([w + 0.3 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()])
    ours = OURS[name](U, dropout=0.3, recurrent_dropout=0.4, seed=0)
    ours.build((n, T, F))
    ours.set_weights(ref.get_weights())
    np.testing.assert_allclose(ours(x[:2]).numpy(), _to_np(ref(x[:2])), rtol=1e-5, atol=1e-6)
    want, got = _to_np(ref(x, training=True)), ours(x, training=True).numpy()
    if name != "SimpleRNN":  # Keras's own per-gate masks drop the same fraction, independently per gate
        keras_masks = [_to_np(m) for m in ref.cell._create_dropout_mask(keras_ref.ops.ones((n, U)), 0.4)]
        assert len(keras_masks) == ours.cell.gates
        assert all(abs((m == 0).mean() - 0.4) < 0.02 for m in keras_masks)
        assert abs((keras_masks[0] == keras_masks[1]).mean() - 0.52) < 0.02
    se = np.sqrt(want.var(axis=0) / n + got.var(axis=0) / n)  # of the difference of the two means
    assert np.all(np.abs(got.mean(axis=0) - want.mean(axis=0)) < 5 * se + 1e-3)
    np.testing.assert_allclose(got.std(axis=0), want.std(axis=0), rtol=0.1, atol=2e-3)
    assert want.std(axis=0).min() > 1e-3  # dropout really spreads the outputs


def test_encoder_states_feed_a_decoder_in_a_functional_model(keras_ref, rng, tmp_path):
    """``initial_state=[h, c]`` from another layer's ``return_state`` (Keras's seq2seq pattern)."""
    def build(k):
        enc_in, dec_in = k.Input((T, F)), k.Input((4, 2))
        _, h, c = k.layers.LSTM(U, return_state=True)(enc_in)
        seq = k.layers.LSTM(U, return_sequences=True)(dec_in, initial_state=[h, c])
        return k.Model([enc_in, dec_in], k.layers.Dense(1)(seq))
    ref, ours = build(keras_ref), build(minikeras)
    ours.set_weights([w + 0.1 for w in ref.get_weights()])
    ref.set_weights(ours.get_weights())
    x = [rng.standard_normal((B, T, F)).astype("float32"), rng.standard_normal((B, 4, 2)).astype("float32")]
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    ours.save(tmp_path / "seq2seq.keras")
    again = minikeras.saving.load_model(tmp_path / "seq2seq.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-6)
