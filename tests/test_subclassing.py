"""Subclassing: custom layers with lazy ``build``, Model subclasses (tuple outputs, tracking,
mixing with functional models), custom ``train_step``/``test_step``/``predict_step`` with
``GradientTape`` and custom metric trackers, a manual training loop that matches ``fit``,
and freezing with ``trainable=False`` plus ``clone_model`` for transfer learning."""
import inspect

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers, ops


def regression_data(n=64, d=8, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, d)).astype("float32")
    y = (x @ r.normal(size=(d, 1)) + 0.05 * r.normal(size=(n, 1))).astype("float32")
    return x, y


def numpy_of(t):
    return keras.backend.to_numpy(t.value if hasattr(t, "value") else t)


# ----------------------------------------------------------------------------- custom Layer
class TinyDense(keras.layers.Layer):
    """A Dense layer written the way the seeds write it: weights made in build()."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernel = self.add_weight(shape=(fan_in, self.units), initializer="random_normal")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        out = ops.matmul(inputs, self.kernel) + self.bias
        return self.activation(out) if self.activation is not None else out


def test_custom_layer_builds_lazily():
    layer = TinyDense(32, activation=ops.relu)
    assert not layer.built
    assert layer.weights == []
    out = layer(ops.ones((2, 784)))
    assert tuple(out.shape) == (2, 32)
    assert layer.built
    assert [tuple(w.shape) for w in layer.weights] == [(784, 32), (32,)]
    assert len(layer.trainable_weights) == 2
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(32))
    assert 0.01 < float(np.std(layer.kernel.numpy())) < 0.1  # random_normal has stddev 0.05
    assert np.all(numpy_of(out) >= 0)


def test_custom_layer_in_functional_model_and_fit():
    x, y = regression_data()
    inputs = keras.Input(shape=(8,))
    hidden = TinyDense(16, activation=ops.relu)(inputs)
    model = keras.Model(inputs, TinyDense(1)(hidden))
    assert model.count_params() == 8 * 16 + 16 + 16 + 1
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.05))
    hist = model.fit(x, y, epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_layer_tracks_nested_layers():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stack = [TinyDense(4, activation=ops.relu), TinyDense(3)]
            self.frozen = layers.Dense(2, trainable=False)

        def call(self, inputs):
            for layer in self.stack:
                inputs = layer(inputs)
            return self.frozen(inputs)

    block = Block()
    block(np.ones((1, 5), "float32"))
    assert len(block.weights) == 6
    assert len(block.trainable_weights) == 4
    assert len(block.non_trainable_weights) == 2


# ----------------------------------------------------------------------------- Model subclass
class WideDeep(keras.Model):
    """Wide & Deep as a subclassed model: layers made in __init__, two outputs from call."""

    def __init__(self, units=16, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = layers.Dense(units, activation=activation)
        self.hidden2 = layers.Dense(units, activation=activation)
        self.main_output = layers.Dense(1)
        self.aux_output = layers.Dense(1)

    def call(self, inputs):
        wide, deep = inputs
        h = self.hidden2(self.hidden1(deep))
        return self.main_output(layers.concatenate([wide, h])), self.aux_output(h)


def test_subclassed_model_with_two_outputs():
    x, y = regression_data()
    wide, deep = x[:, :5], x[:, 2:]
    model = WideDeep(name="my_wide_deep")
    assert model.name == "my_wide_deep"
    assert model.weights == []
    assert len(model.layers) == 4
    main, aux = model((wide, deep))
    assert tuple(main.shape) == (64, 1) and tuple(aux.shape) == (64, 1)
    assert len(model.weights) == 8 and len(model.trainable_weights) == 8
    assert model.count_params() == (6 * 16 + 16) + (16 * 16 + 16) + 22 + 17
    model.compile(loss=["mse", "mse"], loss_weights=[0.9, 0.1], optimizer=keras.optimizers.SGD(0.01))
    hist = model.fit((wide, deep), (y, y), epochs=3, verbose=0)
    assert "loss" in hist.history and len(hist.history["loss"]) == 3
    values = model.evaluate((wide, deep), (y, y), verbose=0)
    assert len(values) == 3
    np.testing.assert_allclose(values[0], 0.9 * values[1] + 0.1 * values[2], rtol=1e-6)
    pred = model.predict((wide, deep), verbose=0)
    assert isinstance(pred, tuple) and len(pred) == 2 and pred[0].shape == (64, 1)


class NormalizedWideDeep(keras.Model):
    """Hands-On ML's subclassed Wide & Deep, with Normalization layers adapted after compile."""

    def __init__(self, units=30, activation="relu", **kwargs) -> None:
        super().__init__(**kwargs)
        self.norm_wide = layers.Normalization()
        self.norm_deep = layers.Normalization()
        self.hidden1 = layers.Dense(units, activation=activation)
        self.hidden2 = layers.Dense(units, activation=activation)
        self.main_output = layers.Dense(1)
        self.aux_output = layers.Dense(1)

    def call(self, inputs):
        wide, deep = inputs
        h = self.hidden2(self.hidden1(self.norm_deep(deep)))
        joined = layers.concatenate([self.norm_wide(wide), h])
        return self.main_output(joined), self.aux_output(h)


def test_book_listing_single_loss_string_and_flat_metrics_for_two_outputs():
    x, y = regression_data(n=64)
    wide, deep = x[:, :5], x[:, 2:]
    model = NormalizedWideDeep(16, activation="relu", name="my_cool_model")
    # one loss string + loss_weights for two outputs, a flat metrics list applied to each output
    model.compile(loss="mse", loss_weights=[0.9, 0.1], optimizer=keras.optimizers.Adam(learning_rate=1e-2),
                  metrics=["RootMeanSquaredError"])
    model.norm_wide.adapt(wide)
    model.norm_deep.adapt(deep)
    hist = model.fit((wide, deep), (y, y), epochs=3, verbose=0, validation_data=((wide, deep), (y, y)))
    assert "val_loss" in hist.history and hist.history["loss"][-1] < hist.history["loss"][0]
    weighted, main_loss, aux_loss, main_rmse, aux_rmse = model.evaluate((wide, deep), (y, y), verbose=0)
    np.testing.assert_allclose(weighted, 0.9 * main_loss + 0.1 * aux_loss, rtol=1e-6)
    np.testing.assert_allclose(main_rmse, np.sqrt(main_loss), rtol=1e-4)
    np.testing.assert_allclose(aux_rmse, np.sqrt(aux_loss), rtol=1e-4)
    main_pred, aux_pred = model.predict((wide[:3], deep[:3]), verbose=0)
    assert main_pred.shape == (3, 1) and aux_pred.shape == (3, 1)


def test_single_loss_for_two_outputs_found_from_the_prediction():
    x, y = regression_data(n=32)
    model = WideDeep()
    model.compile(loss="mse", optimizer="sgd")  # nothing here says there are two outputs
    logs = model.evaluate((x[:, :5], x[:, 2:]), (y, y), verbose=0, return_dict=True)
    assert len(logs) == 3
    others = [v for k, v in logs.items() if k != "loss"]
    np.testing.assert_allclose(logs["loss"], sum(others), rtol=1e-6)


def test_subclassed_model_inside_functional_model():
    class Stem(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = layers.Dense(6, activation="relu")
            self.b = layers.Dense(3)

        def call(self, x):
            return self.b(self.a(x))

    x, y = regression_data(n=32)
    stem = Stem(name="stem")
    inputs = keras.Input(shape=(8,))
    features = stem(inputs)
    assert features.shape == (None, 3)
    model = keras.Model(inputs, layers.Dense(1)(features))
    assert [l.name for l in model.layers][1] == "stem"
    assert len(model.weights) == 6
    before = stem.get_weights()
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(before[0], stem.get_weights()[0])


def test_functional_model_inside_subclassed_model():
    inner_in = keras.Input(shape=(8,))
    encoder = keras.Model(inner_in, layers.Dense(4, activation="relu")(inner_in), name="encoder")

    class Regressor(keras.Model):
        def __init__(self, encoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.head = layers.Dense(1)

        def call(self, x):
            return self.head(self.encoder(x))

    x, y = regression_data(n=32)
    model = Regressor(encoder)
    assert tuple(model(x).shape) == (32, 1)
    assert [l.name for l in model.layers] == ["encoder", model.head.name]
    assert len(model.weights) == 4
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.05))
    hist = model.fit(x, y, epochs=4, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


# ----------------------------------------------------------------------------- custom training
def test_compute_loss_signature_matches_keras(keras_ref):
    ours = inspect.signature(keras.Model.compute_loss)
    theirs = inspect.signature(keras_ref.Model.compute_loss)
    assert list(ours.parameters) == list(theirs.parameters)
    assert {k: p.default for k, p in ours.parameters.items()} == {k: p.default for k, p in theirs.parameters.items()}


def test_train_step_override_with_own_trackers():
    x, y = regression_data(n=64)
    mse = keras.losses.MeanSquaredError()
    seen_batch_losses = []

    class Tracked(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.body = layers.Dense(1)
            self.loss_tracker = keras.metrics.Mean("loss")
            self.mae_tracker = keras.metrics.MeanAbsoluteError(name="mae")

        def call(self, inputs):
            return self.body(inputs)

        def train_step(self, data):
            features, wanted = data
            with keras.GradientTape() as tape:
                guess = self(features, training=True)
                batch_loss = mse(wanted, guess)
            weights = self.trainable_weights
            self.optimizer.apply(tape.gradient(batch_loss, weights), weights)
            seen_batch_losses.append(float(numpy_of(batch_loss)))
            self.loss_tracker.update_state(batch_loss)
            self.mae_tracker.update_state(wanted, guess)
            return {tracker.name: tracker.result() for tracker in self.metrics}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_tracker]

    model = Tracked()
    model.compile(optimizer=keras.optimizers.SGD(0.05))  # no loss: train_step has its own
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert set(hist.history) == {"loss", "mae"}
    # 4 batches per epoch; each epoch's value is the mean of that epoch's batches only (reset each epoch)
    per_epoch = np.array(seen_batch_losses).reshape(3, 4).mean(axis=1)
    np.testing.assert_allclose(hist.history["loss"], per_epoch, rtol=1e-5)
    assert hist.history["loss"][2] < hist.history["loss"][0]


def test_train_step_with_compiled_loss_and_metrics_on_functional_subclass():
    """The seed's listing: a Model subclass built as CustomModel(inputs, outputs) whose train_step
    uses self.compute_loss and loops over self.metrics."""

    class CustomModel(keras.Model):
        def train_step(self, data):
            batch_x, batch_y = data
            with keras.GradientTape() as tape:
                out = self(batch_x, training=True)
                step_loss = self.compute_loss(y=batch_y, y_pred=out)
            params = self.trainable_weights
            self.optimizer.apply(tape.gradient(step_loss, params), params)
            for tracker in self.metrics:
                if tracker.name == "loss":
                    tracker.update_state(step_loss)
                else:
                    tracker.update_state(batch_y, out)
            return {tracker.name: tracker.result() for tracker in self.metrics}

    r = np.random.default_rng(1)
    x = r.normal(size=(96, 12)).astype("float32")
    labels = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)
    inputs = keras.Input(shape=(12,))
    hidden = layers.Dense(16, activation="relu")(inputs)
    hidden = layers.Dropout(0.2)(hidden)
    model = CustomModel(inputs, layers.Dense(3, activation="softmax")(hidden))
    assert isinstance(model, CustomModel) and isinstance(model, keras.Model)
    assert len(model.layers) == 4
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    hist = model.fit(x, labels, epochs=8, verbose=0, validation_split=0.25)
    assert set(hist.history) == {"loss", "sparse_categorical_accuracy", "val_loss",
                                 "val_sparse_categorical_accuracy"}
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["sparse_categorical_accuracy"][-1] > 0.6


def test_manual_loop_matches_fit():
    x, y = regression_data(n=64)

    def make():
        return keras.Sequential([keras.Input(shape=(8,)), layers.Dense(5, activation="tanh"), layers.Dense(1)])

    keras.utils.set_random_seed(7)
    by_fit = make()
    by_hand = make()
    by_hand.set_weights(by_fit.get_weights())
    by_fit.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.05))
    fit_losses = by_fit.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0).history["loss"]

    optimizer = keras.optimizers.SGD(learning_rate=0.05)
    loss_fn = keras.losses.MeanSquaredError()
    hand_losses = []
    for _ in range(4):
        batch_losses = []
        for start in range(0, 64, 16):
            xb, yb = x[start:start + 16], y[start:start + 16]
            with keras.GradientTape() as tape:
                pred = by_hand(xb, training=True)
                loss = loss_fn(yb, pred)
            grads = tape.gradient(loss, by_hand.trainable_weights)
            optimizer.apply(grads, by_hand.trainable_weights)
            batch_losses.append(float(numpy_of(loss)))
        hand_losses.append(np.mean(batch_losses))
    np.testing.assert_allclose(fit_losses, hand_losses, rtol=1e-5)
    for a, b in zip(by_fit.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_test_step_and_predict_step_overrides():
    x, y = regression_data(n=40)

    class Custom(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.body = layers.Dense(1)
            self.err = keras.metrics.Mean(name="abs_error")

        def call(self, inputs):
            return self.body(inputs)

        def test_step(self, data):
            inputs, targets = data
            pred = self(inputs, training=False)
            self.err.update_state(ops.abs(pred - ops.convert_to_tensor(targets)))
            return {"abs_error": self.err.result()}

        def predict_step(self, data):
            (inputs,) = data if isinstance(data, tuple) else (data,)
            return ops.sign(self(inputs, training=False))

        @property
        def metrics(self):
            return [self.err]

    model = Custom()
    model.compile(optimizer="sgd", loss="mse")
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    expected = np.mean(np.abs(numpy_of(model(x)) - y))
    assert set(logs) == {"abs_error"}
    assert logs["abs_error"] == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    signs = model.predict(x, batch_size=16, verbose=0)
    assert signs.shape == (40, 1)
    assert set(np.unique(signs)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(signs, np.sign(numpy_of(model(x))))


def test_compile_without_loss_needs_a_custom_step():
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1)], name="lossless")
    model.compile(optimizer="sgd")
    x, y = regression_data(n=8)
    with pytest.raises(ValueError, match="lossless.*loss"):
        model.fit(x, y, verbose=0)


# ----------------------------------------------------------------------------- freezing / transfer
def base_classifier():
    return keras.Sequential([keras.Input(shape=(8,)), layers.Dense(6, activation="relu"),
                             layers.Dense(4, activation="relu"), layers.Dense(3, activation="softmax")])


def test_frozen_layers_do_not_change_and_summary_counts_them():
    x, _ = regression_data(n=48)
    binary = (x[:, 0] > 0).astype("float32")
    model = base_classifier()
    model.pop()
    model.add(layers.Dense(1, activation="sigmoid"))
    for layer in model.layers[:-1]:
        layer.trainable = False
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1), metrics=["accuracy"])
    before = model.get_weights()
    hist = model.fit(x, binary, epochs=3, verbose=0)
    assert set(hist.history) == {"loss", "accuracy"}
    after = model.get_weights()
    for b, a in zip(before[:4], after[:4]):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(before[4], after[4])
    lines = []
    model.summary(print_fn=lambda s, **kw: lines.append(s))
    text = "\n".join(lines)
    assert "Trainable params: 5 " in text  # 4 + 1 in the new head
    assert "Non-trainable params: 82 " in text  # 54 + 28
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4


def test_unfreezing_takes_effect_at_next_compile():
    x, _ = regression_data(n=32)
    binary = (x[:, 1] > 0).astype("float32")
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.layers[0].trainable = False
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    model.fit(x, binary, epochs=1, verbose=0)
    frozen_kernel = model.layers[0].get_weights()[0]
    model.layers[0].trainable = True  # not yet compiled again: the step still skips it
    model.fit(x, binary, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], frozen_kernel)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    model.fit(x, binary, epochs=1, verbose=0)
    assert not np.allclose(model.layers[0].get_weights()[0], frozen_kernel)


def test_clone_with_set_weights_is_independent():
    x, _ = regression_data(n=48)
    labels = (x[:, 0] > 0).astype("int64")
    model_a = base_classifier()
    model_a.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    model_a.fit(x, labels, epochs=1, verbose=0)
    clone = keras.models.clone_model(model_a)
    assert all(wa is not wc for wa, wc in zip(model_a.weights, clone.weights))
    clone.set_weights(model_a.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model_a.predict(x, verbose=0), rtol=1e-6)
    snapshot = model_a.get_weights()
    # build a new task on the clone's layers (transfer learning) and train it unfrozen
    model_b = keras.Sequential(clone.layers[:-1])
    model_b.add(layers.Dense(1, activation="sigmoid"))
    model_b.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    model_b.fit(x, labels.astype("float32"), epochs=2, verbose=0)
    assert not np.allclose(clone.layers[0].get_weights()[0], snapshot[0])  # shared with model_b
    for w, s in zip(model_a.get_weights(), snapshot):
        np.testing.assert_array_equal(w, s)  # the original is untouched
