"""Core layers and the Layer base class: shapes, weights, errors and Keras parity."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend, ops


def test_dense_layout_values_and_param_count():
    layer = keras.layers.Dense(3, activation="relu", name="d")
    x = np.arange(8, dtype="float32").reshape(2, 4) / 8
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 3) and bias.shape == (3,) and not bias.any()
    np.testing.assert_allclose(y.numpy(), np.maximum(x @ kernel, 0), rtol=1e-6)
    assert layer.count_params() == 15
    assert [w.path for w in layer.weights] == ["d/kernel", "d/bias"]


def test_dense_glorot_uniform_default_limits():
    layer = keras.layers.Dense(300)
    layer.build((None, 784))
    limit = np.sqrt(6 / (784 + 300))
    w = layer.kernel.numpy()
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.01 * limit


def test_dense_wrong_feature_count_names_layer_and_shapes():
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, name="classifier")])
    with pytest.raises(ValueError, match=r"expected shape=\(None, 784\), found shape=\(2, 28\)"):
        model(np.zeros((2, 28)))
    layer = keras.layers.Dense(10, name="head")
    layer.build((None, 784))
    with pytest.raises(ValueError, match=r"'head'.*784.*\(2, 28\)"):
        layer(np.zeros((2, 28)))


def test_dense_argument_errors():
    with pytest.raises(ValueError, match="positive integer"):
        keras.layers.Dense(0)
    with pytest.raises(ValueError, match="relu2.*Valid activations"):
        keras.layers.Dense(3, activation="relu2")
    with pytest.raises(TypeError, match="unrecognized keyword"):
        keras.layers.Dense(3, activaton="relu")


def test_dense_input_dim_and_input_shape_build_sequential():
    for kwargs in ({"input_dim": 8}, {"input_shape": (8,)}, {"input_shape": [8]}):
        keras.utils.clear_session()
        model = keras.Sequential([keras.layers.Dense(4, **kwargs)])
        assert model.built and model.count_params() == 36


def test_dense_regularizer_and_constraint():
    layer = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.5),
                               kernel_constraint=keras.constraints.max_norm(1.0))
    layer.build((None, 3))
    w = layer.kernel.numpy()
    (penalty,) = layer.losses
    assert float(penalty) == pytest.approx(0.5 * np.sum(w.astype("float64") ** 2), rel=1e-5)
    model = keras.Sequential([keras.Input(shape=(3,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(5.0), loss="mse")
    model.fit(np.ones((4, 3)) * 10, np.ones((4, 2)) * 100, epochs=2, verbose=0)
    norms = np.linalg.norm(layer.kernel.numpy(), axis=0)
    assert np.all(norms <= 1.0 + 1e-5)


def test_dense_on_3d_input_uses_last_axis():
    layer = keras.layers.Dense(5)
    assert layer(np.ones((2, 7, 3), "float32")).shape == (2, 7, 5)
    assert layer.compute_output_shape((None, 7, 3)) == (None, 7, 5)


def test_activation_and_flatten_layers():
    x = np.linspace(-2, 2, 24, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_allclose(keras.layers.Activation("relu")(x).numpy(), np.maximum(x, 0))
    flat = keras.layers.Flatten()
    assert flat(x).shape == (2, 12)
    assert flat.compute_output_shape((None, 28, 28)) == (None, 784)
    assert flat.count_params() == 0


def test_dropout_is_inverted_seeded_and_training_only():
    layer = keras.layers.Dropout(0.4)
    x = np.ones((200, 500), "float32")
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    backend.set_random_seed(7)
    y1 = layer(x, training=True).numpy()
    backend.set_random_seed(7)
    y2 = layer(x, training=True).numpy()
    np.testing.assert_array_equal(y1, y2)
    dropped = np.mean(y1 == 0)
    assert abs(dropped - 0.4) < 0.01
    np.testing.assert_allclose(np.unique(y1), [0.0, 1 / 0.6], rtol=1e-6)
    assert abs(y1.mean() - 1.0) < 0.02
    with pytest.raises(ValueError, match=r"rate.*\[0, 1\)"):
        keras.layers.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    layer = keras.layers.Dropout(0.5)
    x = keras.Variable(np.ones((4, 6)))
    with keras.GradientTape() as tape:
        y = layer(x, training=True)
        loss = ops.sum(y)
    g = tape.gradient(loss, x).numpy()
    np.testing.assert_allclose(g, y.numpy())


def test_normalization_adapt_matches_numpy_and_counts():
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(500, 4)).astype("float32")
    norm = keras.layers.Normalization()
    norm.adapt(data)
    out = norm(data).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-4)
    assert norm.count_params() == 9 and len(norm.trainable_weights) == 0
    model = keras.Sequential([keras.Input(shape=(4,)), norm, keras.layers.Dense(1)])
    assert model.count_params() == 9 + 5


def test_normalization_matches_keras(keras_ref):
    data = np.random.default_rng(1).normal(size=(50, 3)).astype("float32") * [1, 10, 100]
    ours, theirs = keras.layers.Normalization(), keras_ref.layers.Normalization()
    ours.adapt(data)
    theirs.adapt(data)
    np.testing.assert_allclose(ours(data).numpy(), np.asarray(theirs(data)), rtol=1e-4, atol=1e-5)


class SimpleDense(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


def test_custom_layer_builds_lazily():
    layer = SimpleDense(32)
    assert layer.weights == [] and not layer.built
    out = layer(np.ones((2, 784), "float32"))
    assert out.shape == (2, 32) and layer.built
    assert [w.shape for w in layer.weights] == [(784, 32), (32,)]
    assert layer.name == "simple_dense"


def test_count_params_unbuilt_and_set_weights_errors():
    layer = keras.layers.Dense(3, name="fc")
    with pytest.raises(ValueError, match="isn't built"):
        layer.count_params()
    layer.build((None, 2))
    with pytest.raises(ValueError, match=r"'fc' expects 2 weight arrays"):
        layer.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"fc/kernel.*\(2, 3\).*\(3, 2\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])


def test_get_weights_returns_copies():
    layer = keras.layers.Dense(2)
    layer.build((None, 2))
    snapshot = layer.get_weights()
    layer.kernel.assign(np.full((2, 2), 7.0))
    assert not np.any(snapshot[0] == 7.0)


def test_trainable_flag_moves_weights():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_reshape_and_permute():
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    assert keras.layers.Reshape((4, 3))(x).shape == (2, 4, 3)
    assert keras.layers.Reshape((-1,))(x).shape == (2, 12)
    np.testing.assert_array_equal(keras.layers.Permute((2, 1))(x).numpy(), x.transpose(0, 2, 1))
    with pytest.raises(ValueError, match="target_shape"):
        keras.layers.Reshape((5,))(x)


def test_seeded_dropout_repeats_its_masks_without_the_global_seed():
    x = np.ones((4, 50), "float32")
    a = keras.layers.Dropout(0.5, seed=3)(x, training=True).numpy()
    backend.set_random_seed(99)
    b = keras.layers.Dropout(0.5, seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, keras.layers.Dropout(0.5, seed=4)(x, training=True).numpy())
