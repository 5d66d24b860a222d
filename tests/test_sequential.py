"""Sequential models: construction, naming, summary, compile/fit/evaluate/predict and Keras parity."""
import io
import contextlib

import numpy as np
import pytest

import minikeras as keras


def seed_mlp(k):
    return k.Sequential([
        k.Input(shape=(28, 28)),
        k.layers.Flatten(),
        k.layers.Dense(300, activation="relu"),
        k.layers.Dense(100, activation="relu"),
        k.layers.Dense(10, activation="softmax"),
    ])


def atienza_mlp(k):
    return k.Sequential([
        k.layers.Dense(256, input_dim=784), k.layers.Activation("relu"), k.layers.Dropout(0.45),
        k.layers.Dense(256), k.layers.Activation("relu"), k.layers.Dropout(0.45),
        k.layers.Dense(10), k.layers.Activation("softmax"),
    ])


def capture_summary(model):
    lines = []
    model.summary(print_fn=lambda s, **kw: lines.append(s))
    return "\n".join(lines).strip()


def test_seed_param_counts():
    assert seed_mlp(keras).count_params() == 266_610
    assert atienza_mlp(keras).count_params() == 269_322


def test_summary_text_matches_keras(keras_ref):
    ours = capture_summary(seed_mlp(keras))
    keras_ref.backend.clear_session()
    theirs = capture_summary(seed_mlp(keras_ref))
    assert ours == theirs
    assert "Total params: 266,610 (1.02 MB)" in ours


def test_summary_of_unbuilt_model_is_a_clear_error():
    model = keras.Sequential([keras.layers.Dense(3)])
    assert model.weights == []
    with pytest.raises(ValueError, match="has not been built"):
        model.summary()
    model.build((None, 4))
    assert "Total params: 15" in capture_summary(model)


def test_names_layers_and_clear_session():
    model = seed_mlp(keras)
    assert [l.name for l in model.layers] == ["flatten", "dense", "dense_1", "dense_2"]
    assert model.get_layer("dense_1") is model.layers[2]
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("dense_9")
    keras.utils.clear_session()
    assert keras.layers.Dense(1).name == "dense"


def test_add_pop_and_weights_shapes():
    model = keras.Sequential(name="stack")
    model.add(keras.Input(shape=(3,)))
    model.add(keras.layers.Dense(4))
    model.add(keras.layers.Dense(2))
    assert model.name == "stack" and model.count_params() == 16 + 10
    popped = model.pop()
    assert popped.units == 2 and model.output_shape == (None, 4)
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,)]
    with pytest.raises(TypeError, match="only accepts Layer"):
        model.add("dense")


def test_unknown_strings_list_choices():
    model = seed_mlp(keras)
    with pytest.raises(ValueError, match="adamm.*adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropi"):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropi")


def make_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, :3].sum(1) > 0).astype("int64") + (x[:, 3] > 1).astype("int64")
    return x, y


def small_model(k, **dense_kwargs):
    return k.Sequential([k.Input(shape=(8,)), k.layers.Dense(16, activation="relu", **dense_kwargs),
                         k.layers.Dense(3, activation="softmax")])


def test_fit_history_and_learning():
    x, y = make_data(400)
    model = small_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 15 and history.epoch == list(range(15))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.85
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.85
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss, "accuracy": acc}
    probs = model.predict(x, batch_size=7, verbose=0)
    assert probs.shape == (400, 3) and isinstance(probs, np.ndarray)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)


def test_evaluate_without_metrics_is_a_scalar():
    x, y = make_data()
    model = small_model(keras)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def copy_weights(src, dst):
    dst.set_weights([np.asarray(w) for w in src.get_weights()])


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_fit_matches_keras_step_for_step(keras_ref, optimizer):
    """Same weights, same unshuffled batches: the trained weights and logged losses agree with Keras 3."""
    x, y = make_data(96)
    ours = small_model(keras, kernel_regularizer=keras.regularizers.l2(1e-3))
    theirs = small_model(keras_ref, kernel_regularizer=keras_ref.regularizers.l2(1e-3))
    copy_weights(ours, theirs)
    for m in (ours, theirs):
        m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h1 = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0, validation_data=(x[:32], y[:32]))
    h2 = theirs.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0, validation_data=(x[:32], y[:32]))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=2e-4, atol=2e-5)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=2e-4, atol=1e-5, err_msg=key)


def test_sample_and_class_weights_multiply_like_keras(keras_ref):
    """Keras 2 (the seeds) multiplies class and sample weights; Keras 3 refuses both at once, so the
    reference run gets the product as sample_weight."""
    x, y = make_data(64)
    sw = np.linspace(0.5, 2.0, 64).astype("float32")
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    ours, theirs = small_model(keras), small_model(keras_ref)
    copy_weights(ours, theirs)
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    ours.fit(x, y, sample_weight=sw, class_weight=cw, epochs=2, batch_size=16, shuffle=False, verbose=0)
    combined = sw * np.array([cw[int(c)] for c in y], dtype="float32")
    theirs.fit(x, y, sample_weight=combined, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=2e-4, atol=2e-5)


def test_metrics_ignore_sample_weights_and_weighted_metrics_apply_them_like_keras(keras_ref):
    """Keras 3: ``metrics`` are unweighted, ``weighted_metrics`` weighted, and a weighted metric
    whose name is taken is logged as ``weighted_<name>`` (in fit's history and in evaluate)."""
    x, y = make_data(64)
    sw = np.linspace(0.0, 3.0, 64).astype("float32")
    ours, theirs = small_model(keras), small_model(keras_ref)
    copy_weights(ours, theirs)
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy", "sparse_categorical_crossentropy"])
    got = ours.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    want = theirs.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want) == ["accuracy", "loss", "sparse_categorical_crossentropy",
                                                  "weighted_accuracy"]
    for key in want:
        np.testing.assert_allclose(float(got[key]), float(want[key]), rtol=1e-5, atol=1e-6, err_msg=key)
    assert float(got["accuracy"]) != float(got["weighted_accuracy"])  # the weights do change it here
    h1 = ours.fit(x, y, sample_weight=sw, epochs=1, batch_size=16, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, sample_weight=sw, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert sorted(h1.history) == sorted(h2.history)
    for key in h2.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=2e-4, atol=1e-5, err_msg=key)


def test_validation_split_takes_the_last_fraction():
    x, y = make_data(100)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            seen.append(batch)

    model = small_model(keras)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=1, batch_size=10, validation_split=0.2, verbose=0, callbacks=[Spy()])
    assert h.params["steps"] == 8 and len(seen) == 2
    model2 = small_model(keras)
    model2.set_weights(model.get_weights())
    model2.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model2.evaluate(x[80:], y[80:], verbose=0) == pytest.approx(h.history["val_loss"][0], rel=1e-6)


def test_fit_errors():
    x, y = make_data(50)
    model = small_model(keras)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="x has 50 samples, y has 49 samples"):
        model.fit(x, y[:49], verbose=0)
    with pytest.raises(ValueError, match="label 7"):
        model.fit(x, np.full(50, 7), verbose=0)


def test_predict_batches_and_training_flag():
    model = keras.Sequential([keras.Input(shape=(50,)), keras.layers.Dropout(0.5)])
    x = np.ones((10, 50), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert np.any(model(x, training=True).numpy() == 0)
    np.testing.assert_array_equal(model(x).numpy(), x)


def test_train_and_test_on_batch():
    x, y = make_data(32)
    model = small_model(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    first = model.train_on_batch(x, y)
    for _ in range(30):
        model.train_on_batch(x, y)
    loss, acc = model.test_on_batch(x, y)
    assert loss < first[0] and 0 <= acc <= 1
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}


def test_lazy_build_on_first_fit():
    x, y = make_data(40)
    model = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, verbose=0)
    assert model.input_shape == (None, 8) and "(None, 3)" in capture_summary(model)


def test_progress_bar_output():
    x, y = make_data(64)
    model = small_model(keras)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for verbose, check in ((1, lambda s: "Epoch 2/2" in s and "━" in s and "val_accuracy" in s and "\r" in s),
                           (2, lambda s: s.count("Epoch") == 2 and "2/2" in s),
                           (0, lambda s: s == "")):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            model.fit(x, y, epochs=2, verbose=verbose, validation_data=(x, y))
        assert check(buf.getvalue()), (verbose, buf.getvalue()[-300:])


def test_continued_fit_and_initial_epoch():
    x, y = make_data(40)
    model = small_model(keras)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4]
