"""Merging layers (Concatenate, Add, ...) and the TimeDistributed wrapper, against Keras 3."""
import numpy as np
import pytest

import minikeras
from minikeras import backend, layers
from minikeras.layers import merging
from minikeras.layers.wrappers import TimeDistributed
from gradcheck import check_op_gradients

MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def np_out(t):
    return backend.to_numpy(t)


def inputs_for(name, rng, shapes):
    n = 2 if name == "Subtract" else len(shapes)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes[:n]]


# ---------------------------------------------------------------- values against Keras


@pytest.mark.parametrize("name", MERGES)
@pytest.mark.parametrize("shapes", [
    [(4, 3), (4, 3), (4, 3)],
    [(2, 4, 3), (2, 1, 3), (2, 4, 1)],     # size-1 axes broadcast, as in Keras
    [(2, 3), (2, 4, 3)],                   # lower rank: axes inserted after the batch axis
])
def test_merge_layers_match_keras(keras_ref, rng, name, shapes):
    xs = inputs_for(name, rng, shapes)
    expected = keras_ref.ops.convert_to_numpy(getattr(keras_ref.layers, name)()(xs))
    layer = getattr(layers, name)()
    got = np_out(layer(xs))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert layer.compute_output_shape([(None,) + tuple(x.shape[1:]) for x in xs]) == (None,) + expected.shape[1:]
    # the functional helper does the same
    np.testing.assert_allclose(np_out(getattr(merging, name.lower())(xs)), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_concatenate_matches_keras(keras_ref, rng, axis):
    if axis == -1:
        xs = [rng.standard_normal((2, 3, s)).astype(np.float32) for s in (1, 4, 2)]
    elif axis == 1:
        xs = [rng.standard_normal((2, s, 5)).astype(np.float32) for s in (2, 3)]
    else:
        xs = [rng.standard_normal((s, 3)).astype(np.float32) for s in (2, 3)]
    expected = keras_ref.ops.convert_to_numpy(keras_ref.layers.Concatenate(axis=axis)(xs))
    got = np_out(layers.Concatenate(axis=axis)(xs))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np_out(layers.concatenate(xs, axis=axis)), expected)


# ---------------------------------------------------------------- symbolic use and shapes


def test_functional_model_with_merges():
    a, b = minikeras.Input((4,)), minikeras.Input((6,))
    joined = layers.concatenate([a, b])
    assert joined.shape == (None, 10)
    h1 = layers.Dense(5)(joined)
    h2 = layers.Dense(5)(a)
    s = layers.add([h1, h2])
    m = layers.Multiply()([s, layers.Dense(5, activation="sigmoid")(b)])
    avg = layers.average([m, h1, h2])
    out = layers.Dense(1)(layers.Concatenate()([layers.maximum([h1, h2]), layers.minimum([h1, h2]),
                                               layers.subtract([avg, h2])]))
    assert out.shape == (None, 1)
    model = minikeras.Model([a, b], out)
    assert model.count_params() == 10 * 5 + 5 + 4 * 5 + 5 + 6 * 5 + 5 + 15 + 1
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((3, 4)), rng.standard_normal((3, 6))
    y = model.predict([xa, xb], verbose=0)
    assert y.shape == (3, 1)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit([xa, xb], np.ones((3, 1)), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_concatenate_output_width_is_the_sum_and_unknown_stays_unknown():
    layer = layers.Concatenate()
    assert layer.compute_output_shape([(None, 3), (None, 4), (None, 20093)]) == (None, 20100)
    assert layer.compute_output_shape([(None, 3, None), (None, 3, 2)]) == (None, 3, None)
    assert layers.Concatenate(axis=1).compute_output_shape([(None, None, 2), (None, 3, 2)]) == (None, None, 2)
    assert layers.Add().compute_output_shape([(None, 1, 3), (None, None, 3)]) == (None, None, 3)
    assert layers.Add().compute_output_shape([(None, 2, 3), (None, None, 3)]) == (None, 2, 3)


# ---------------------------------------------------------------- errors


def test_concatenate_mismatch_names_layer_and_shapes(rng):
    with pytest.raises(ValueError, match=r"'cat'.*matching shapes.*\(2, 3, 4\), \(2, 5, 4\)"):
        layers.Concatenate(name="cat")([rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))])
    with pytest.raises(ValueError, match=r"\(None, 3, 4\), \(None, 5, 4\)"):
        layers.Concatenate(name="cat2")([minikeras.Input((3, 4)), minikeras.Input((5, 4))])
    with pytest.raises(ValueError, match=r"same rank.*\(2, 3\), \(2, 3, 1\)"):
        layers.concatenate([rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 1))])
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Concatenate()(rng.standard_normal((2, 3)))
    with pytest.raises(ValueError, match=r"axis 2 is out of bounds"):
        layers.Concatenate(axis=2)([rng.standard_normal((2, 3))] * 2)


def test_elementwise_merges_reject_incompatible_shapes(rng):
    with pytest.raises(ValueError, match=r"'plus'.*incompatible shapes.*\(2, 4\), \(2, 3\)"):
        layers.Add(name="plus")([rng.standard_normal((2, 4)), rng.standard_normal((2, 3))])
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(None, 4\), \(None, 3\)"):
        layers.Multiply()([minikeras.Input((4,)), minikeras.Input((3,))])
    with pytest.raises(ValueError, match="different batch sizes"):
        layers.Maximum()([rng.standard_normal((2, 3)), rng.standard_normal((3, 3))])
    with pytest.raises(ValueError, match=r"exactly 2 inputs.*3"):
        layers.Subtract()([rng.standard_normal((2, 3))] * 3)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(rng.standard_normal((2, 3)))
    # once built, a later call with other shapes is still checked
    layer = layers.Average(name="avg")
    layer([rng.standard_normal((2, 3))] * 2)
    with pytest.raises(ValueError, match=r"'avg'.*\(2, 3\), \(2, 5\)"):
        layer([rng.standard_normal((2, 3)), rng.standard_normal((2, 5))])


# ---------------------------------------------------------------- gradients (float64)


@pytest.mark.parametrize("name", MERGES)
def test_merge_gradients(float64, rng, name):
    shapes = [(3, 4), (3, 1), (3, 4)]
    n = 2 if name == "Subtract" else 3
    arrays = [rng.standard_normal(s) for s in shapes[:n]]  # distinct values: no ties for max/min

    def op(*xs):
        return getattr(layers, name)()(list(xs))
    grads = check_op_gradients(op, *arrays)
    assert [g.shape for g in grads] == [a.shape for a in arrays]


def test_concatenate_gradients(float64, rng):
    def op(a, b, c):
        return layers.Concatenate(axis=1)([a, b, c])
    check_op_gradients(op, rng.standard_normal((2, 1, 3)), rng.standard_normal((2, 4, 3)),
                       rng.standard_normal((2, 2, 3)))


def test_lower_rank_merge_gradient_sums_over_inserted_axis(float64, rng):
    def op(a, b):
        return layers.Multiply()([a, b])
    check_op_gradients(op, rng.standard_normal((2, 3)), rng.standard_normal((2, 4, 3)))


# ---------------------------------------------------------------- TimeDistributed


def test_time_distributed_dense_matches_keras(keras_ref, rng):
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    ref = keras_ref.layers.TimeDistributed(keras_ref.layers.Dense(6, activation="tanh", bias_initializer="random_normal"))
    ours = TimeDistributed(layers.Dense(6, activation="tanh"))
    ref.build(x.shape)
    ours.build(x.shape)
    assert ours.count_params() == ref.count_params() == 4 * 6 + 6
    ours.set_weights([np.asarray(w) for w in ref.get_weights()])
    expected = keras_ref.ops.convert_to_numpy(ref(x))
    np.testing.assert_allclose(np_out(ours(x)), expected, rtol=1e-5, atol=1e-6)
    assert ours.compute_output_shape((None, 5, 4)) == (None, 5, 6)


def test_time_distributed_conv_in_a_model_and_gradients(rng):
    model = minikeras.Sequential([
        minikeras.Input((4, 6, 6, 1)), TimeDistributed(layers.Conv2D(3, 3, activation="relu")),
        TimeDistributed(layers.Flatten()), layers.SimpleRNN(2),
        layers.Dense(1)])
    td = model.layers[0]
    assert td.count_params() == td.layer.count_params() == 3 * 3 * 3 + 3
    assert td.compute_output_shape((None, 4, 6, 6, 1)) == (None, 4, 4, 4, 3)
    x = rng.standard_normal((2, 4, 6, 6, 1)).astype(np.float32)
    assert model(x).shape == (2, 1)
    # each time step sees the same layer: step i of the output is the layer applied to step i
    per_step = np.stack([np_out(td.layer(x[:, i])) for i in range(4)], axis=1)
    np.testing.assert_allclose(np_out(td(x)), per_step, rtol=1e-5, atol=1e-6)


def test_time_distributed_gradients(float64, rng):
    td = TimeDistributed(layers.Dense(3, activation="tanh"))
    td.build((2, 4, 5))
    check_op_gradients(lambda x: td(x), rng.standard_normal((2, 4, 5)))


def test_time_distributed_passes_training_and_checks_rank(rng):
    td = TimeDistributed(layers.Dropout(0.5), name="td")
    x = np.ones((2, 3, 50), np.float32)
    np.testing.assert_array_equal(np_out(td(x)), x)
    assert (np_out(td(x, training=True)) == 0).any()
    with pytest.raises(ValueError, match=r"'td'.*rank >= 3.*\(2, 3\)"):
        td(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="Layer instance"):
        TimeDistributed("dense")


def test_time_distributed_and_concatenate_configs_round_trip():
    td = TimeDistributed(layers.Dense(4, activation="relu"))
    config = td.get_config()
    assert config["layer"]["class_name"] == "Dense"
    clone = TimeDistributed.from_config(config)
    assert isinstance(clone.layer, layers.Dense) and clone.layer.units == 4
    cat = layers.Concatenate(axis=1)
    assert layers.Concatenate.from_config(cat.get_config()).axis == 1


def test_time_distributed_folds_the_mask_into_an_inner_rnn_like_keras(keras_ref, rng):
    """TimeDistributed(LSTM) over (batch, time, inner time, features) with a (batch, time, inner
    time) mask: the inner LSTM sees each step's own mask, as in Keras 3."""
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    mask = np.ones((2, 3, 4), bool)
    mask[0, 1, 2:] = False
    mask[1, 2, 1:] = False
    ref = keras_ref.layers.TimeDistributed(keras_ref.layers.LSTM(3))
    ours = TimeDistributed(layers.LSTM(3), name="td")
    ref.build(x.shape)
    ours.build(x.shape)
    ours.set_weights([np.asarray(w) for w in ref.get_weights()])
    want = keras_ref.ops.convert_to_numpy(ref(x, mask=mask))
    got = np_out(ours(x, mask=mask))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, np_out(ours(x)), atol=1e-4)  # the mask does change the result
    with pytest.raises(ValueError, match=r"'td'.*mask of shape \(3, 2, 4\).*\(batch, time\) = \(2, 3\)"):
        ours(x, mask=np.ones((3, 2, 4), bool))
