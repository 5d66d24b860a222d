"""Masks through the recurrent layers, as in Keras 3: Embedding(mask_zero=True) and Masking attach
them, layers that support masking pass them on, SimpleRNN/LSTM/GRU and Bidirectional skip the masked
steps, and the losses and metrics leave them out. Values and gradients are compared with the real
Keras 3 layers holding the same weights."""
import warnings

import numpy as np
import pytest

import minikeras
from minikeras import backend, layers, ops
from minikeras.autodiff import GradientTape, Tensor, gradients

B, T, F, U = 4, 7, 3, 5
KINDS = ["SimpleRNN", "LSTM", "GRU"]


def _np(t):
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy()
    return backend.to_numpy(t.value if isinstance(t, Tensor) else t)


def _listify(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _padded(rng, padding):
    """Real-valued sequences of lengths 7, 4, 2, 5, padded with zeros at the start or the end."""
    lengths = [7, 4, 2, 5]
    x = np.zeros((B, T, F), "float32")
    mask = np.zeros((B, T), bool)
    for i, n in enumerate(lengths):
        steps = slice(0, n) if padding == "post" else slice(T - n, T)
        x[i, steps] = rng.standard_normal((n, F))
        mask[i, steps] = True
    return x, mask, lengths


def _randomise(keras_layer, rng):
    keras_layer.set_weights([w + 0.3 * rng.standard_normal(w.shape).astype("float32")
                             for w in keras_layer.get_weights()])


def _pair(keras, name, rng, **kw):
    ref = getattr(keras.layers, name)(U, **kw)
    ref.build((B, T, F))
    _randomise(ref, rng)
    ours = getattr(layers, name)(U, **kw)
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    return ours, ref


# ---------------------------------------------------------------- where masks come from


def test_embedding_mask_zero_attaches_keras_mask(keras_ref):
    ids = np.array([[0, 0, 3, 4], [5, 6, 0, 0]])
    ours, ref = layers.Embedding(10, 3, mask_zero=True), keras_ref.layers.Embedding(10, 3, mask_zero=True)
    out, want = ours(ids), ref(ids)
    np.testing.assert_array_equal(_np(out._keras_mask), _np(want._keras_mask))
    np.testing.assert_array_equal(_np(ours.compute_mask(ids)), ids != 0)
    assert layers.Embedding(10, 3)(ids)._keras_mask is None


def test_masking_layer_matches_keras(keras_ref, rng):
    x, mask, _ = _padded(rng, "post")
    x[1, 1, 0] = 0.0  # one zero feature does not mask a step; all features equal to mask_value do
    x[2, 5] = 2.5
    ours, ref = layers.Masking(mask_value=2.5), keras_ref.layers.Masking(mask_value=2.5)
    out, want = ours(x), ref(x)
    np.testing.assert_array_equal(_np(out), _np(want))
    np.testing.assert_array_equal(_np(out._keras_mask), _np(want._keras_mask))
    assert not _np(out._keras_mask)[2, 5] and _np(out._keras_mask)[1, 1]
    xt = Tensor(backend.xp().asarray(x), requires_grad=True)
    (g,) = gradients(ops.sum(layers.Masking(2.5)(xt)), [xt])
    np.testing.assert_array_equal(backend.to_numpy(g)[2, 5], 0)
    np.testing.assert_array_equal(backend.to_numpy(g)[0, 0], 1)
    assert layers.Masking.from_config(ours.get_config()).mask_value == 2.5


# ---------------------------------------------------------------- recurrent layers


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("opts", [dict(), dict(return_sequences=True), dict(go_backwards=True, return_state=True),
                                  dict(return_sequences=True, return_state=True, go_backwards=True)],
                         ids=lambda o: "-".join(o) or "last")
def test_masked_layer_matches_keras(name, padding, opts, keras_ref, rng):
    """Forward values and the gradients of every weight and of the inputs, given a mask."""
    x, mask, _ = _padded(rng, padding)
    ours, ref = _pair(keras_ref, name, rng, **opts)
    torch = pytest.importorskip("torch")
    xk = torch.tensor(x, requires_grad=True)
    want = _listify(ref(xk, mask=torch.tensor(mask)))
    xt = Tensor(backend.xp().asarray(x), requires_grad=True)
    got = _listify(ours(xt, mask=mask))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-5)
    upstream = [rng.standard_normal(tuple(w.shape)).astype("float32") for w in want]
    total = sum((w * torch.tensor(u)).sum() for w, u in zip(want, upstream))
    total.backward()
    want_grads = [v.value.grad for v in ref.trainable_weights] + [xk.grad]
    loss = None
    for g, u in zip(got, upstream):
        term = ops.sum(g * Tensor(backend.xp().asarray(u)))
        loss = term if loss is None else loss + term
    got_grads = gradients(loss, ours.trainable_weights + [xt])
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(backend.to_numpy(g), _np(w), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", KINDS)
def test_post_padding_with_a_mask_gives_the_unpadded_result(name, keras_ref, rng):
    """With Masking, post-padded sequences end in the state their real steps reach."""
    x, mask, lengths = _padded(rng, "post")
    ours, _ = _pair(keras_ref, name, rng, return_state=True)
    model_out = ours(layers.Masking()(x))
    for i, n in enumerate(lengths):
        alone = ours(x[i:i + 1, :n])
        for a, b in zip(_listify(model_out), _listify(alone)):
            np.testing.assert_allclose(_np(a)[i:i + 1], _np(b), rtol=1e-5, atol=1e-6)
    unmasked = _np(_listify(ours(x))[0])
    assert np.abs(unmasked[2] - _np(_listify(model_out)[0])[2]).max() > 1e-3  # without the mask it differs


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_with_a_mask_matches_keras(merge_mode, return_sequences, keras_ref, rng):
    """Keras forces zero outputs at masked steps in both directions when returning sequences."""
    x, mask, _ = _padded(rng, "post")
    ref = keras_ref.layers.Bidirectional(keras_ref.layers.LSTM(U, return_sequences=return_sequences),
                                         merge_mode=merge_mode)
    ref.build((B, T, F))
    _randomise(ref, rng)
    ours = layers.Bidirectional(layers.LSTM(U, return_sequences=return_sequences), merge_mode=merge_mode)
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    torch = pytest.importorskip("torch")
    want, got = _listify(ref(x, mask=torch.tensor(mask))), _listify(ours(x, mask=mask))
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-5)
    if return_sequences:
        assert np.all(_np(got[0])[~mask] == 0)
    # The mask reaches Bidirectional from Masking too, and passes on with the sequence.
    out = ours(layers.Masking()(x))
    for g, w in zip(_listify(out), want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-5)
    for t in _listify(out):
        assert (t._keras_mask is not None) == return_sequences


def test_bidirectional_return_state_with_a_mask_matches_keras(keras_ref, rng):
    x, mask, _ = _padded(rng, "pre")
    ref = keras_ref.layers.Bidirectional(keras_ref.layers.GRU(U, return_sequences=True, return_state=True))
    ref.build((B, T, F))
    _randomise(ref, rng)
    ours = layers.Bidirectional(layers.GRU(U, return_sequences=True, return_state=True))
    ours.build((B, T, F))
    ours.set_weights(ref.get_weights())
    torch = pytest.importorskip("torch")
    want, got = ref(x, mask=torch.tensor(mask)), ours(x, mask=mask)
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- propagation


def test_masks_pass_through_layers_that_support_them(rng):
    ids = np.array([[0, 2, 3, 4], [5, 6, 7, 0]])
    emb = layers.Embedding(10, 6, mask_zero=True)
    x = emb(ids)
    expected = ids != 0
    for layer in [layers.Dense(4), layers.Dropout(0.5), layers.Activation("relu"), layers.LayerNormalization(),
                  layers.BatchNormalization(), layers.TimeDistributed(layers.Dense(3))]:
        y = layer(x)
        np.testing.assert_array_equal(_np(y._keras_mask), expected, err_msg=type(layer).__name__)
    seq = layers.LSTM(3, return_sequences=True)(x)
    np.testing.assert_array_equal(_np(seq._keras_mask), expected)
    assert layers.LSTM(3)(x)._keras_mask is None  # the last output has no time axis left
    out, h, c = layers.LSTM(3, return_sequences=True, return_state=True)(x)
    assert out._keras_mask is not None and h._keras_mask is None and c._keras_mask is None
    with pytest.warns(UserWarning, match="does not support masking"):
        flat = layers.Flatten()(x)
    assert flat._keras_mask is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layers.Dense(2)(layers.Dense(2)(np.ones((2, 3), "float32")))._keras_mask is None


def test_merging_layers_combine_masks_as_keras(keras_ref):
    a_ids = np.array([[0, 2, 3, 4], [5, 6, 7, 0]])
    b_ids = np.array([[1, 2, 0, 4], [5, 0, 7, 8]])
    for k in (keras_ref, minikeras):
        emb = k.layers.Embedding(10, 3, mask_zero=True)
        a, b = emb(a_ids), emb(b_ids)
        plain = k.layers.Dense(3)(np.ones((2, 4, 3), "float32"))
        masks = {"add": k.layers.Add()([a, b])._keras_mask, "multiply": k.layers.Multiply()([a, b])._keras_mask,
                 "concat": k.layers.Concatenate()([a, b])._keras_mask,
                 "concat_time": k.layers.Concatenate(axis=1)([a, b])._keras_mask,
                 "concat_unmasked": k.layers.Concatenate()([a, plain])._keras_mask}
        if k is keras_ref:
            want = {name: _np(m) for name, m in masks.items()}
        else:
            for name, m in masks.items():
                np.testing.assert_array_equal(_np(m), want[name], err_msg=name)
        assert getattr(k.layers.Add()([a, plain]), "_keras_mask", None) is None  # an input without one: none
    np.testing.assert_array_equal(want["add"], (a_ids != 0) | (b_ids != 0))
    assert want["concat_time"].shape == (2, 8)


def test_explicit_mask_argument_and_model_mask(rng):
    x, mask, _ = _padded(rng, "post")
    lstm = layers.LSTM(U)
    lstm.build((B, T, F))
    want = lstm(x, mask=mask).numpy()
    model = minikeras.Sequential([minikeras.Input((T, F)), lstm])
    np.testing.assert_allclose(model(x, mask=mask).numpy(), want, rtol=1e-6)
    inp = minikeras.Input((T, F))
    functional = minikeras.Model(inp, lstm(inp))
    np.testing.assert_allclose(functional(x, mask=mask).numpy(), want, rtol=1e-6)
    assert np.abs(lstm(x).numpy() - want).max() > 1e-3
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\) = \(4, 7\), got \(4, 6\)"):
        lstm(x, mask=mask[:, :6])


def test_functional_model_carries_masks_to_its_outputs(keras_ref, rng):
    ids = rng.integers(1, 12, (B, T))
    ids[0, 4:] = 0
    ids[1, :5] = 0

    def build(k):
        inp = k.Input((T,), dtype="int32")
        seq = k.layers.GRU(U, return_sequences=True)(k.layers.Embedding(12, F, mask_zero=True)(inp))
        return k.Model(inp, k.layers.Dense(2)(seq))
    ref, ours = build(keras_ref), build(minikeras)
    ours.set_weights(ref.get_weights())
    got, want = ours(ids), ref(ids)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(_np(got._keras_mask), ids != 0)


def test_global_average_pooling_1d_averages_real_steps(keras_ref, rng):
    x, mask, _ = _padded(rng, "pre")
    torch = pytest.importorskip("torch")
    want = keras_ref.layers.GlobalAveragePooling1D()(torch.tensor(x), mask=torch.tensor(mask))
    got = layers.GlobalAveragePooling1D()(x, mask=mask)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6)
    assert got._keras_mask is None
    np.testing.assert_allclose(_np(layers.GlobalAveragePooling1D()(x)), x.mean(axis=1), rtol=1e-6)


def test_lambda_mask_argument(rng):
    x = layers.Embedding(10, 2, mask_zero=True)(np.array([[1, 0, 2]]))
    with pytest.warns(UserWarning, match="does not support masking"):
        assert layers.Lambda(lambda t: t * 2)(x)._keras_mask is None
    keep = layers.Lambda(lambda t: t * 2, mask=lambda inputs, mask: mask)(x)
    np.testing.assert_array_equal(_np(keep._keras_mask), [[True, False, True]])
    seen = {}

    def fn(t, mask=None):
        seen["mask"] = mask
        return t
    layers.Lambda(fn, mask=lambda inputs, mask: mask)(x)
    np.testing.assert_array_equal(_np(seen["mask"]), [[True, False, True]])


# ---------------------------------------------------------------- losses and metrics


def _token_batch(rng, padding):
    ids = rng.integers(1, 20, (5, T))
    if padding == "post":
        ids[0, 4:], ids[1, 2:], ids[3, 6:] = 0, 0, 0
    else:
        ids[0, :3], ids[1, :5], ids[3, :1] = 0, 0, 0
    return ids, rng.integers(0, 3, (5, T))


def _tagger(k, name, bidirectional=False):
    rnn = getattr(k.layers, name)(U, return_sequences=True)
    if bidirectional:
        rnn = k.layers.Bidirectional(rnn)
    return k.Sequential([k.Input((T,), dtype="int32"), k.layers.Embedding(20, F, mask_zero=True), rnn,
                         k.layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_masked_steps_leave_the_loss_and_metrics_as_in_keras(name, padding, bidirectional, keras_ref, rng):
    """Keras 3 turns the output mask into weights total/valid, so the mean runs over the real steps;
    metrics weight them 0/1. Loss, accuracy and every gradient (the embeddings' too) agree."""
    torch = pytest.importorskip("torch")
    ids, y = _token_batch(rng, padding)
    ref, ours = _tagger(keras_ref, name, bidirectional), _tagger(minikeras, name, bidirectional)
    ref.set_weights([w + 0.2 * rng.standard_normal(w.shape).astype("float32") for w in ref.get_weights()])
    ours.set_weights(ref.get_weights())
    for m in (ref, ours):
        m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    want = ref.evaluate(ids, y, verbose=0)
    got = ours.evaluate(ids, y, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    valid = ids != 0
    probs = ours.predict(ids, verbose=0)
    by_hand = -np.log(np.take_along_axis(probs, y[..., None], -1)[..., 0])[valid].mean()
    np.testing.assert_allclose(got[0], by_hand, rtol=1e-5)
    np.testing.assert_allclose(got[1], (probs.argmax(-1) == y)[valid].mean(), rtol=1e-6)
    loss_k = keras_ref.losses.SparseCategoricalCrossentropy()(torch.tensor(y), ref(torch.tensor(ids)))
    loss_k.backward()
    want_grads = [v.value.grad for v in ref.trainable_weights]
    loss = minikeras.losses.SparseCategoricalCrossentropy()(y, ours(ids))
    for g, w in zip(gradients(loss, ours.trainable_weights), want_grads):
        np.testing.assert_allclose(backend.to_numpy(g), _np(w), rtol=1e-4, atol=1e-6)


def test_mask_with_time_sample_weights_and_a_custom_loss(keras_ref, rng):
    """(batch, time) sample weights combine with the mask as in Keras; a custom Loss subclass and a
    per-sample weight vector (which Keras 3 cannot broadcast against the mask) are weighted the same way."""
    ids, y = _token_batch(rng, "post")
    sw = rng.random((5, T)).astype("float32")
    ref, ours = _tagger(keras_ref, "LSTM"), _tagger(minikeras, "LSTM")
    ours.set_weights(ref.get_weights())
    for m in (ref, ours):
        m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    np.testing.assert_allclose(ours.evaluate(ids, y, sample_weight=sw, verbose=0),
                               ref.evaluate(ids, y, sample_weight=sw, verbose=0), rtol=1e-5)

    class PlainCrossentropy(minikeras.losses.Loss):
        def call(self, y_true, y_pred):
            picked = ops.sum(y_pred * ops.one_hot(ops.cast(y_true, "int32"), 3), axis=-1)
            return -ops.log(picked)
    pred = ours(ids)
    custom = PlainCrossentropy()(y, pred)
    builtin = minikeras.losses.SparseCategoricalCrossentropy()(y, pred)
    np.testing.assert_allclose(custom.numpy(), builtin.numpy(), rtol=1e-5)
    per_sample = rng.random(5).astype("float32")
    valid = ids != 0
    values = minikeras.losses.SparseCategoricalCrossentropy(reduction="none")(y, Tensor(pred.value)).numpy()
    want = (values * per_sample[:, None] * valid).sum() / valid.sum()
    got = minikeras.losses.SparseCategoricalCrossentropy()(y, pred, sample_weight=per_sample)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
    metric = minikeras.metrics.SparseCategoricalAccuracy()
    metric.update_state(y, pred)
    np.testing.assert_allclose(metric.result().numpy(), (pred.numpy().argmax(-1) == y)[valid].mean(), rtol=1e-6)


def test_fully_masked_batch_gives_zero_loss(rng):
    ids = np.zeros((2, T), "int64")
    model = _tagger(minikeras, "GRU")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    assert model.evaluate(ids, np.zeros((2, T), "int64"), verbose=0) == 0.0


def test_masked_model_trains_and_ignores_the_padding_length(rng):
    """fit on post-padded real-valued data with Masking; more padding changes no prediction."""
    x, mask, lengths = _padded(rng, "post")
    x = np.concatenate([x] * 8)
    y = np.array([x[i, :n].sum() for i, n in enumerate(lengths * 8)], "float32")[:, None]
    minikeras.utils.set_random_seed(0)
    model = minikeras.Sequential([minikeras.Input((None, F)), layers.Masking(), layers.GRU(8), layers.Dense(1)])
    model.compile(optimizer=minikeras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    longer = np.concatenate([x, np.zeros((len(x), 5, F), "float32")], axis=1)
    np.testing.assert_allclose(model.predict(longer, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    plain = minikeras.Sequential([minikeras.Input((None, F)), model.layers[1]])
    assert np.abs(plain.predict(longer, verbose=0) - plain.predict(x, verbose=0)).max() > 1e-3
