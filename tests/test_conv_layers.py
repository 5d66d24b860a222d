"""Conv and pooling layers against the real Keras 3 layers with copied weights."""
import numpy as np
import pytest

import minikeras
from minikeras import backend
from minikeras.layers.convolutional import Conv1D, Conv2D
from minikeras.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                      GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                      MaxPooling1D, MaxPooling2D)


def np_out(t):
    return backend.to_numpy(t)


def copy_weights(ours, ref, x_shape):
    ref.build(x_shape)
    ours.build(x_shape)
    ours.set_weights([w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in ref.get_weights()])


# ---------------------------------------------------------------- parameter counts and shapes


def test_param_counts_and_shapes_of_the_atienza_cnn():
    c1, c2, c3 = Conv2D(64, 3, activation="relu"), Conv2D(64, 3, activation="relu"), Conv2D(64, 3)
    p1, p2 = MaxPooling2D(2), MaxPooling2D()
    shape = (None, 28, 28, 1)
    shapes = []
    for layer in (c1, p1, c2, p2, c3):
        layer.build(shape)
        shape = layer.compute_output_shape(shape)
        shapes.append(shape)
    assert shapes == [(None, 26, 26, 64), (None, 13, 13, 64), (None, 11, 11, 64), (None, 5, 5, 64),
                      (None, 3, 3, 64)]
    assert (c1.count_params(), c2.count_params(), c3.count_params()) == (640, 36928, 36928)
    assert c1.kernel.shape == (3, 3, 1, 64) and c1.bias.shape == (64,)
    assert [w.shape for w in c2.trainable_weights] == [(3, 3, 64, 64), (64,)]
    assert p1.count_params() == 0


def test_sequential_cnn_total_is_80266():
    model = minikeras.Sequential([
        minikeras.Input((28, 28, 1)), Conv2D(64, 3, activation="relu"), MaxPooling2D(2),
        Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Conv2D(64, 3, activation="relu"),
        minikeras.layers.Flatten(), minikeras.layers.Dropout(0.2), minikeras.layers.Dense(10, activation="softmax")])
    assert model.count_params() == 80266
    out = model(np.zeros((2, 28, 28, 1), np.float32))
    assert out.shape == (2, 10)


@pytest.mark.parametrize("kwargs,expected", [
    (dict(filters=8, kernel_size=3, strides=2, padding="same"), (None, 14, 14, 8)),
    (dict(filters=8, kernel_size=(3, 5), padding="valid"), (None, 26, 24, 8)),
    (dict(filters=4, kernel_size=3, dilation_rate=2), (None, 24, 24, 4)),
])
def test_compute_output_shape_matches_keras(keras_ref, kwargs, expected):
    assert Conv2D(**kwargs).compute_output_shape((None, 28, 28, 1)) == expected
    assert keras_ref.layers.Conv2D(**kwargs).compute_output_shape((None, 28, 28, 1)) == expected
    assert Conv2D(**kwargs).compute_output_shape((None, None, 28, 1))[1] is None


# ---------------------------------------------------------------- values against Keras


@pytest.mark.parametrize("kwargs", [
    dict(filters=5, kernel_size=3),
    dict(filters=4, kernel_size=(3, 2), strides=2, padding="same", activation="relu"),
    dict(filters=3, kernel_size=(2, 4), strides=(1, 3), padding="valid", activation="tanh", use_bias=False),
    dict(filters=4, kernel_size=3, padding="same", dilation_rate=2, activation="sigmoid"),
    dict(filters=2, kernel_size=1, activation="softmax"),
])
def test_conv2d_forward_matches_keras(keras_ref, rng, kwargs):
    x = rng.standard_normal((3, 9, 10, 2)).astype(np.float32)
    ref, ours = keras_ref.layers.Conv2D(**kwargs, bias_initializer="random_normal"), Conv2D(**kwargs)
    copy_weights(ours, ref, x.shape)
    expected = keras_ref.ops.convert_to_numpy(ref(x))
    got = np_out(ours(x))
    assert got.shape == expected.shape == ours.compute_output_shape(x.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    dict(filters=4, kernel_size=3), dict(filters=4, kernel_size=3, strides=2, padding="same"),
    dict(filters=3, kernel_size=2, padding="causal", dilation_rate=2, activation="relu")])
def test_conv1d_forward_matches_keras(keras_ref, rng, kwargs):
    x = rng.standard_normal((2, 11, 3)).astype(np.float32)
    ref, ours = keras_ref.layers.Conv1D(**kwargs, bias_initializer="random_normal"), Conv1D(**kwargs)
    copy_weights(ours, ref, x.shape)
    expected = keras_ref.ops.convert_to_numpy(ref(x))
    assert ours.compute_output_shape(x.shape) == expected.shape
    np.testing.assert_allclose(np_out(ours(x)), expected, rtol=1e-4, atol=1e-5)


POOLS = [
    ("MaxPooling2D", MaxPooling2D, dict(pool_size=2)),
    ("MaxPooling2D", MaxPooling2D, dict(pool_size=(1, 2))),
    ("MaxPooling2D", MaxPooling2D, dict(pool_size=3, strides=2, padding="same")),
    ("AveragePooling2D", AveragePooling2D, dict(pool_size=2)),
    ("AveragePooling2D", AveragePooling2D, dict(pool_size=3, strides=1, padding="same")),
    ("AveragePooling2D", AveragePooling2D, dict(pool_size=(2, 3), strides=(2, 1))),
    ("MaxPooling1D", MaxPooling1D, dict(pool_size=3, strides=2, padding="same")),
    ("AveragePooling1D", AveragePooling1D, dict(pool_size=2)),
    ("GlobalAveragePooling2D", GlobalAveragePooling2D, dict()),
    ("GlobalMaxPooling2D", GlobalMaxPooling2D, dict(keepdims=True)),
    ("GlobalAveragePooling1D", GlobalAveragePooling1D, dict(keepdims=True)),
    ("GlobalMaxPooling1D", GlobalMaxPooling1D, dict()),
]


@pytest.mark.parametrize("name,cls,kwargs", POOLS)
def test_pooling_layers_match_keras(keras_ref, rng, name, cls, kwargs):
    shape = (2, 11, 3) if name.endswith("1D") else (2, 11, 9, 3)
    x = rng.standard_normal(shape).astype(np.float32)
    ref = getattr(keras_ref.layers, name)(**kwargs)
    expected = keras_ref.ops.convert_to_numpy(ref(x))
    layer = cls(**kwargs)
    got = np_out(layer(x))
    assert got.shape == expected.shape == layer.compute_output_shape(shape)
    assert layer.compute_output_shape((None,) + shape[1:]) == ref.compute_output_shape((None,) + shape[1:])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert layer.count_params() == 0


def test_conv2d_gradients_match_keras_torch(keras_ref, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 8, 7, 3)).astype(np.float32)
    kwargs = dict(filters=4, kernel_size=3, strides=2, padding="same", activation="tanh")
    ref, ours = keras_ref.layers.Conv2D(**kwargs, bias_initializer="random_normal"), Conv2D(**kwargs)
    copy_weights(ours, ref, x.shape)
    xt = torch.tensor(x, requires_grad=True)
    upstream = rng.standard_normal(ours.compute_output_shape(x.shape)).astype(np.float32)
    (ref(xt) * torch.tensor(upstream)).sum().backward()
    ref_grads = [xt.grad.numpy()] + [v.value.grad.detach().cpu().numpy() for v in ref.trainable_weights]

    xv = minikeras.Variable(x)
    with minikeras.GradientTape() as tape:
        tape.watch(xv)
        loss = minikeras.ops.sum(ours(xv) * upstream)
    grads = tape.gradient(loss, [xv] + ours.trainable_weights)
    for got, want in zip(grads, ref_grads):
        np.testing.assert_allclose(np_out(got), want, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- config, regularizers, errors


def test_get_config_round_trip_and_keras_keys(keras_ref):
    layer = Conv2D(8, (3, 5), strides=2, padding="same", activation="relu", kernel_regularizer="l2",
                   name="c")
    config = layer.get_config()
    assert config["kernel_size"] == (3, 5) and config["strides"] == (2, 2) and config["activation"] == "relu"
    clone = Conv2D.from_config(config)
    assert clone.get_config() == config
    ref_keys = set(keras_ref.layers.Conv2D(8, 3).get_config())
    assert ref_keys - set(config) <= {"lora_rank", "lora_alpha"}
    pool = MaxPooling2D((1, 2), name="p")
    pc = pool.get_config()
    assert pc["pool_size"] == (1, 2) and pc["strides"] == (1, 2) and pc["padding"] == "valid"
    assert MaxPooling2D.from_config(pc).get_config() == pc
    assert set(keras_ref.layers.MaxPooling2D().get_config()) <= set(pc)
    assert GlobalMaxPooling2D.from_config(GlobalMaxPooling2D(keepdims=True).get_config()).keepdims


def test_regularizer_adds_a_loss_and_float64_inputs_are_cast(rng):
    layer = Conv2D(2, 3, kernel_regularizer=minikeras.regularizers.L2(0.5))
    y = layer(rng.standard_normal((1, 5, 5, 1)))  # float64 in, float32 layer
    assert y.dtype == "float32"
    (penalty,) = layer.losses
    k = layer.get_weights()[0]
    np.testing.assert_allclose(float(np_out(penalty)), 0.5 * np.sum(k.astype(np.float64) ** 2), rtol=1e-5)


def test_errors_name_the_layer_and_shapes(rng):
    with pytest.raises(ValueError, match=r"Conv2D 'big'.*kernel \(5, 5\).*\(None, 4, 4, 1\)"):
        Conv2D(2, 5, name="big").build((None, 4, 4, 1))
    with pytest.raises(ValueError, match=r"MaxPooling2D 'pool'.*\(2, 3, 3, 1\).*empty"):
        MaxPooling2D(4, name="pool")(np.zeros((2, 3, 3, 1), np.float32))
    with pytest.raises(ValueError, match=r"channels_last.*channels_first"):
        Conv2D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match=r"channels_last"):
        MaxPooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"strides.*dilation_rate"):
        Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"kernel_size"):
        Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match=r"padding"):
        Conv2D(2, 3, padding="causal")
    layer = Conv2D(2, 3, name="c3")
    layer.build((None, 8, 8, 3))
    with pytest.raises(ValueError, match=r"'c3'.*3 channels.*\(1, 8, 8, 2\)"):
        layer(np.zeros((1, 8, 8, 2), np.float32))
    with pytest.raises(ValueError, match=r"'c3'.*kernel.*larger"):
        layer(np.zeros((1, 2, 8, 3), np.float32))
