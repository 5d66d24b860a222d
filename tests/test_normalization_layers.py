"""BatchNormalization and LayerNormalization: kernels against finite differences, layers against Keras 3."""
import warnings

import numpy as np
import pytest

import minikeras
from minikeras import backend
from minikeras.autodiff import function
from minikeras.kernels import normalization as K
from minikeras.layers.normalization import BatchNormalization, LayerNormalization
from gradcheck import check_op_gradients


def np_out(t):
    return backend.to_numpy(t)


def randomize_keras_weights(ref, x_shape, rng):
    """Build the Keras layer and give it non-trivial weights (variances kept positive)."""
    ref.build(x_shape)
    weights = []
    for w in ref.weights:
        shape = tuple(w.shape)
        if "variance" in w.name:
            weights.append(rng.uniform(0.5, 2.0, shape).astype(np.float32))
        else:
            weights.append(rng.standard_normal(shape).astype(np.float32))
    ref.set_weights(weights)
    return weights



# ---------------------------------------------------------------- kernels: fixed numbers


def test_batch_norm_kernel_fixed_numbers():
    xp = backend.xp()
    x = xp.asarray([[1.0, 2.0], [3.0, 6.0]], dtype="float64")
    y, cache = K.batch_norm_train_forward(x, None, None, -1, 0.0)
    np.testing.assert_allclose(backend.to_numpy(y), [[-1, -1], [1, 1]], atol=1e-12)
    mean, var = K.batch_moments(cache)
    # the biased variance: ((1-2)^2 + (3-2)^2) / 2 = 1 and ((2-4)^2 + (6-4)^2) / 2 = 4
    np.testing.assert_allclose(backend.to_numpy(mean), [2, 4])
    np.testing.assert_allclose(backend.to_numpy(var), [1, 4])


def test_layer_norm_kernel_fixed_numbers():
    xp = backend.xp()
    x = xp.asarray([[1.0, 3.0], [0.0, 10.0]], dtype="float64")
    gamma, beta = xp.asarray([2.0, 1.0]), xp.asarray([0.5, -0.5])
    y, _ = K.layer_norm_forward(x, gamma, beta, (1,), 0.0)
    np.testing.assert_allclose(backend.to_numpy(y), [[-1.5, 0.5], [-1.5, 0.5]], atol=1e-12)


# ---------------------------------------------------------------- kernels: gradient checks (float64)


def _bn_train_op(axis, eps=1e-3):
    def op(x, gamma, beta):
        return function(K.batch_norm_train_forward, K.batch_norm_train_backward)(x, gamma, beta, axis=axis,
                                                                                 epsilon=eps)
    return op


def _bn_infer_op(axis, eps=1e-3):
    def op(x, mean, var, gamma, beta):
        return function(K.batch_norm_infer_forward, K.batch_norm_infer_backward)(x, mean, var, gamma, beta,
                                                                                 axis=axis, epsilon=eps)
    return op


@pytest.mark.parametrize("shape,axis", [((6, 4), -1), ((3, 4, 5, 2), -1), ((3, 2, 4, 3), 1)])
def test_batch_norm_training_kernel_gradients(float64, rng, shape, axis):
    c = shape[axis]
    x = rng.standard_normal(shape) * 2 + 1
    check_op_gradients(_bn_train_op(axis), x, rng.standard_normal(c), rng.standard_normal(c), rtol=1e-5, atol=1e-6)


def test_batch_norm_training_kernel_without_gamma_and_beta(float64, rng):
    x = rng.standard_normal((5, 3))

    def op(x):
        return function(K.batch_norm_train_forward, K.batch_norm_train_backward)(x, None, None, axis=-1,
                                                                                 epsilon=1e-3)
    check_op_gradients(op, x, atol=1e-6)


def test_batch_norm_inference_kernel_gradients(float64, rng):
    x = rng.standard_normal((4, 3, 3, 2))
    check_op_gradients(_bn_infer_op(-1), x, rng.standard_normal(2), rng.uniform(0.5, 2, 2),
                       rng.standard_normal(2), rng.standard_normal(2), atol=1e-6)


@pytest.mark.parametrize("shape,axes,rms", [((4, 5), (1,), False), ((2, 3, 4), (1, 2), False),
                                            ((3, 4, 2), (1,), False), ((4, 6), (1,), True)])
def test_layer_norm_kernel_gradients(float64, rng, shape, axes, rms):
    pshape = tuple(shape[a] for a in axes)

    def op(x, gamma, beta):
        op = function(K.layer_norm_forward, K.layer_norm_backward)
        return op(x, gamma, None if rms else beta, axes=axes, epsilon=1e-3, rms_scaling=rms)
    grads = check_op_gradients(op, rng.standard_normal(shape) + 0.5, rng.standard_normal(pshape),
                               rng.standard_normal(pshape), atol=1e-6)
    assert grads[0].shape == shape and grads[1].shape == pshape


def test_batch_norm_layer_gradients_in_training_mode(float64, rng):
    layer = BatchNormalization(gamma_initializer="random_normal", beta_initializer="random_normal")
    layer.build((5, 3))

    def op(x):
        return layer(x, training=True)
    check_op_gradients(op, rng.standard_normal((5, 3)), atol=1e-6)
    out = layer(rng.standard_normal((5, 3)), training=True)
    grads = minikeras.autodiff.gradients(minikeras.ops.sum(out * out), [layer.gamma, layer.beta,
                                                                         layer.moving_mean])
    assert grads[0].shape == (3,) and grads[1].shape == (3,) and grads[2] is None


# ---------------------------------------------------------------- BatchNormalization against Keras


def test_batch_norm_weights_and_param_counts_match_keras(keras_ref):
    for shape in [(None, 10), (None, 8, 8, 6)]:
        ours, ref = BatchNormalization(), keras_ref.layers.BatchNormalization()
        ours.build(shape)
        ref.build(shape)
        c = shape[-1]
        assert [w.name for w in ours.weights] == [w.name for w in ref.weights] == \
            ["gamma", "beta", "moving_mean", "moving_variance"]
        assert ours.count_params() == ref.count_params() == 4 * c
        assert sum(int(np.prod(w.shape)) for w in ours.non_trainable_weights) == 2 * c
        assert [w.name for w in ours.trainable_weights] == ["gamma", "beta"]
    ours = BatchNormalization(center=False, scale=False)
    ours.build((None, 7))
    assert ours.count_params() == 14 and ours.trainable_weights == []


@pytest.mark.parametrize("shape,kwargs", [
    ((8, 5), {}),
    ((4, 5, 6, 3), {}),
    ((4, 3, 5, 5), dict(axis=1, momentum=0.9, epsilon=1e-5)),
    ((6, 4), dict(center=False)),
    ((6, 4), dict(scale=False, momentum=0.5)),
])
def test_batch_norm_matches_keras_in_training_and_inference(keras_ref, rng, shape, kwargs):
    ref, ours = keras_ref.layers.BatchNormalization(**kwargs), BatchNormalization(**kwargs)
    weights = randomize_keras_weights(ref, shape, rng)
    ours.build(shape)
    ours.set_weights(weights)
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    # inference: moving statistics
    np.testing.assert_allclose(np_out(ours(x)), keras_ref.ops.convert_to_numpy(ref(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np_out(ours(x, training=False)),
                               keras_ref.ops.convert_to_numpy(ref(x, training=False)), rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.get_weights(), weights):
        np.testing.assert_array_equal(a, b)  # inference leaves the moving statistics alone
    # training: batch statistics, and one moving-average update
    got = np_out(ours(x, training=True))
    expected = keras_ref.ops.convert_to_numpy(ref(x, training=True))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    ref_after = [keras_ref.ops.convert_to_numpy(w) for w in ref.weights]
    for a, b in zip(ours.get_weights(), ref_after):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the update really used the biased batch variance
    axis = kwargs.get("axis", -1)
    red = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    m = kwargs.get("momentum", 0.99)
    var_w = ours.moving_variance.numpy()
    np.testing.assert_allclose(var_w, weights[-1] * m + x.astype(np.float64).var(axis=red) * (1 - m), rtol=1e-5)
    # and the next inference call uses the updated statistics, in both libraries
    np.testing.assert_allclose(np_out(ours(x)), keras_ref.ops.convert_to_numpy(ref(x)), rtol=1e-5, atol=1e-5)


def test_frozen_batch_norm_runs_in_inference_mode_like_keras(keras_ref, rng):
    ref, ours = keras_ref.layers.BatchNormalization(), BatchNormalization()
    weights = randomize_keras_weights(ref, (6, 3), rng)
    ours.build((6, 3))
    ours.set_weights(weights)
    ref.trainable = False
    ours.trainable = False
    x = rng.standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(np_out(ours(x, training=True)),
                               keras_ref.ops.convert_to_numpy(ref(x, training=True)), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ours.moving_mean.numpy(), weights[2])


def test_batch_norm_after_dense_and_conv_in_models():
    model = minikeras.Sequential([
        minikeras.Input((6, 6, 2)), minikeras.layers.Conv2D(4, 3, use_bias=False),
        BatchNormalization(), minikeras.layers.Activation("relu"), minikeras.layers.Flatten(),
        minikeras.layers.Dense(5, use_bias=False), BatchNormalization(), minikeras.layers.Dense(1)])
    assert model.count_params() == 72 + 16 + 64 * 5 + 20 + 6  # conv, bn(4), dense, bn(5), dense
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 2 * 4 + 2 * 5
    out = model(np.random.default_rng(1).standard_normal((3, 6, 6, 2)).astype(np.float32))
    assert out.shape == (3, 1)
    x = minikeras.Input((4, 4, 3))
    assert BatchNormalization()(x).shape == (None, 4, 4, 3)


def test_dense_batchnorm_activation_trains_with_fit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32) * 5 + 3
    y = (np.sin(x[:, :1] / 5) + 0.1 * x[:, 1:2] > 0.3).astype(np.float32)
    model = minikeras.Sequential([
        minikeras.Input((4,)), minikeras.layers.Dense(16, use_bias=False), BatchNormalization(),
        minikeras.layers.Activation("relu"), minikeras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    bn = model.layers[1]
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    # moving statistics moved toward the statistics of the Dense outputs
    assert not np.allclose(bn.moving_mean.numpy(), 0) and not np.allclose(bn.moving_variance.numpy(), 1)
    assert len(bn.trainable_weights) == 2
    model.predict(x[:5], verbose=0)  # inference after training


def test_batch_norm_errors_name_layer_and_shapes(rng):
    layer = BatchNormalization(name="bn")
    layer(rng.standard_normal((2, 3)))
    with pytest.raises(ValueError, match=r"'bn'.*axis -1.*value 3.*\(2, 5\)"):
        layer(rng.standard_normal((2, 5)))
    with pytest.raises(ValueError, match=r"'bn2'.*axis 3 is out of bounds.*\(2, 3\)"):
        BatchNormalization(axis=3, name="bn2").build((2, 3))
    with pytest.raises(ValueError, match=r"'bn3'.*known size.*\(None, None\)"):
        BatchNormalization(name="bn3").build((None, None))
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(momentum=1.5)


def test_batch_norm_config_round_trip(keras_ref):
    layer = BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False, gamma_regularizer="l2")
    config = layer.get_config()
    clone = BatchNormalization.from_config(config)
    assert clone.get_config() == config
    ref_keys = set(keras_ref.layers.BatchNormalization().get_config())
    assert ref_keys - {"renorm", "renorm_clipping", "renorm_momentum"} <= set(config) | {"dtype", "name"}


# ---------------------------------------------------------------- LayerNormalization against Keras


@pytest.mark.parametrize("shape,kwargs", [
    ((4, 6), {}),
    ((2, 5, 3), dict(axis=[1, 2], epsilon=1e-5)),
    ((3, 4), dict(center=False)),
    ((3, 4), dict(scale=False)),
    ((3, 7), dict(rms_scaling=True)),
])
def test_layer_norm_matches_keras(keras_ref, rng, shape, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = keras_ref.layers.LayerNormalization(**kwargs)
    ours = LayerNormalization(**kwargs)
    weights = randomize_keras_weights(ref, shape, rng)
    ours.build(shape)
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    assert ours.count_params() == ref.count_params()
    ours.set_weights(weights)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = keras_ref.ops.convert_to_numpy(ref(x))
    np.testing.assert_allclose(np_out(ours(x, training=True)), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np_out(ours(x)), expected, rtol=1e-4, atol=1e-5)


def test_layer_norm_over_a_middle_axis_matches_numpy(rng):
    # (Keras's torch backend cannot run this case, so the reference is written out here)
    layer = LayerNormalization(axis=1, epsilon=1e-3, gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    got = np_out(layer(x))
    gamma, beta = layer.get_weights()
    assert gamma.shape == (5,)
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-3)
    expected = expected * gamma[None, :, None] + beta[None, :, None]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_layer_norm_param_count_errors_and_config(rng):
    layer = LayerNormalization(name="ln")
    layer.build((None, 5, 8))
    assert layer.count_params() == 16
    with pytest.raises(ValueError, match=r"'ln'.*\(8,\) on axes \[2\].*\(2, 5, 3\)"):
        layer(rng.standard_normal((2, 5, 3)))
    with pytest.raises(ValueError, match=r"'ln2'.*axis 2 is out of bounds.*\(None, 4\)"):
        LayerNormalization(axis=2, name="ln2").build((None, 4))
    with pytest.raises(TypeError, match="axis"):
        LayerNormalization(axis="last")
    config = LayerNormalization(axis=[1, 2], epsilon=1e-5).get_config()
    assert LayerNormalization.from_config(config).get_config() == config
    x = minikeras.Input((5, 8))
    assert layer(x).shape == (None, 5, 8)


@pytest.mark.parametrize("axis", [-1, 1])
def test_batch_norm_training_op_differentiates_through_its_statistics(float64, rng, axis):
    """ops.batch_normalization_training returns (y, batch mean, batch variance), one node with
    three outputs; gradients through all three agree with finite differences."""
    shape = (5, 3, 2)
    c = shape[axis]
    red = tuple(i for i in range(3) if i != axis % 3)

    def op(x, gamma, beta):
        y, mean, var = minikeras.ops.batch_normalization_training(x, gamma, beta, axis, 1e-3)
        return minikeras.ops.sum(y, axis=red) + 2.0 * mean + 3.0 * var
    check_op_gradients(op, rng.standard_normal(shape) * 2 + 1, rng.standard_normal(c), rng.standard_normal(c),
                       rtol=1e-5, atol=1e-6)
    x = rng.standard_normal(shape)
    _, mean, var = minikeras.ops.batch_normalization_training(backend.xp().asarray(x), None, None, axis)
    np.testing.assert_allclose(np_out(mean), x.mean(axis=red), rtol=1e-12)
    np.testing.assert_allclose(np_out(var), x.var(axis=red), rtol=1e-12)
