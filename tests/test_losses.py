"""Losses: values and gradients against Keras 3, reductions, sample weights, errors, lookup."""
import warnings

import numpy as np
import pytest

from minikeras import backend, losses, ops
from minikeras.autodiff import Tensor, gradients
from gradcheck import check_op_gradients

N, C = 6, 4


def _np(x):
    return backend.to_numpy(x)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _case(kind, rng, dtype="float32"):
    """(minikeras loss, keras loss name, kwargs, y_true, y_pred) for a loss family."""
    z = rng.standard_normal((N, C)).astype(dtype) * 2
    labels = rng.integers(0, C, N)
    if kind == "mse":
        return "MeanSquaredError", {}, rng.standard_normal((N, 3)).astype(dtype), z[:, :3]
    if kind == "mae":
        return "MeanAbsoluteError", {}, rng.standard_normal((N, 3)).astype(dtype), z[:, :3]
    if kind == "huber":
        return "Huber", {"delta": 0.7}, rng.standard_normal((N, 3)).astype(dtype), z[:, :3]
    if kind == "bce_probs":
        return "BinaryCrossentropy", {}, (rng.random((N, 3)) > 0.5).astype(dtype), rng.random((N, 3)).astype(dtype)
    if kind == "bce_logits_smooth":
        return ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
                (rng.random((N, 3)) > 0.5).astype(dtype), z[:, :3])
    if kind == "cce_probs":
        return "CategoricalCrossentropy", {}, np.eye(C, dtype=dtype)[labels], _softmax(z)
    if kind == "cce_logits_smooth":
        return ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
                np.eye(C, dtype=dtype)[labels], z)
    if kind == "scce_probs":
        return "SparseCategoricalCrossentropy", {}, labels, _softmax(z)
    if kind == "scce_logits_col":
        return "SparseCategoricalCrossentropy", {"from_logits": True}, labels[:, None].astype(dtype), z
    raise KeyError(kind)


KINDS = ["mse", "mae", "huber", "bce_probs", "bce_logits_smooth", "cce_probs", "cce_logits_smooth",
         "scce_probs", "scce_logits_col"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None, "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_values_match_keras(keras_ref, rng, kind, reduction, weighted):
    name, kw, y_true, y_pred = _case(kind, rng)
    sw = rng.random(N).astype("float32") if weighted else None
    ours = getattr(losses, name)(reduction=reduction, **kw)(y_true, y_pred, sample_weight=sw)
    ref = getattr(keras_ref.losses, name)(reduction=reduction, **kw)(y_true, y_pred, sample_weight=sw)
    assert ours.shape == tuple(ref.shape)
    np.testing.assert_allclose(_np(ours), np.asarray(ref.detach()), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("fn", ["mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
                                "categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_functions_return_per_sample_values_like_keras(keras_ref, rng, fn):
    kind = {"mean_squared_error": "mse", "mean_absolute_error": "mae", "huber": "huber",
            "binary_crossentropy": "bce_probs", "categorical_crossentropy": "cce_probs",
            "sparse_categorical_crossentropy": "scce_probs"}[fn]
    _, _, y_true, y_pred = _case(kind, rng)
    ours = getattr(losses, fn)(y_true, y_pred)
    ref = getattr(keras_ref.losses, fn)(y_true, y_pred)
    assert isinstance(ours, Tensor) and ours.shape == (N,)
    np.testing.assert_allclose(_np(ours), np.asarray(ref), rtol=2e-6, atol=1e-6)


def test_sum_over_batch_size_divides_by_count_not_weight_sum():
    y_true = np.zeros((4, 1), "float32")
    y_pred = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
    sw = np.array([1.0, 0.0, 2.0, 0.0], "float32")
    out = losses.MeanSquaredError()(y_true, y_pred, sample_weight=sw)
    assert float(out) == pytest.approx((1 * 1 + 9 * 2) / 4)
    out = losses.MeanSquaredError(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=sw)
    assert float(out) == pytest.approx((1 * 1 + 9 * 2) / 3)


def test_rank_mismatch_by_trailing_one_follows_keras(keras_ref, rng):
    y = rng.standard_normal(N).astype("float32")
    p = rng.standard_normal((N, 1)).astype("float32")
    for a, b in [(y, p), (p, y), (y[:, None], p[:, 0])]:
        ours = losses.MeanSquaredError()(a, b)
        ref = keras_ref.losses.MeanSquaredError()(a, b)
        np.testing.assert_allclose(float(ours), float(ref), rtol=1e-6)
    yp = Tensor(backend.convert_to_array(p[:, 0]), requires_grad=True)
    g = gradients(losses.MeanSquaredError()(p, yp), [yp])[0]
    assert g.shape == (N,)
    np.testing.assert_allclose(_np(g), 2 * (p[:, 0] - p[:, 0]) / N, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_finite_differences(float64, rng, kind):
    name, kw, y_true, y_pred = _case(kind, rng, "float64")
    if kind == "bce_probs":
        y_pred = 0.1 + 0.8 * y_pred
    if kind in ("cce_probs", "scce_probs"):
        y_pred = y_pred * rng.uniform(0.5, 2.0, (N, 1))  # unnormalised: exercises the renormalisation
    if kind in ("mae", "huber"):
        y_pred = y_true + rng.choice([-1, 1], y_true.shape) * rng.uniform(0.1, 2.0, y_true.shape)
    sw = rng.random(N)
    for reduction in ("sum_over_batch_size", "sum", None):
        loss = getattr(losses, name)(reduction=reduction, **kw)
        check_op_gradients(lambda p: loss(y_true, p, sample_weight=sw), y_pred, rtol=1e-5, atol=1e-8)
    check_op_gradients(lambda p: getattr(losses, name)(**kw)(y_true, p), y_pred, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy"])
def test_probability_gradients_match_keras_autograd_including_clipping(keras_ref, float64, rng, name):
    import torch
    p = rng.random((N, C)) + 0.05
    p[0, 0] = 1e-9           # below eps after normalisation: clipped, no gradient through the clip
    p[1, :] = [1e-12, 1e-12, 1.0, 1e-12]  # normalised value above 1 - eps: clipped
    p[2, 1] = 0.0
    if name == "BinaryCrossentropy":
        p = np.clip(p / p.max(), 0, 1)
        p[3, 2], p[4, 1] = 1.0, 1 - 1e-9
        y = (rng.random((N, C)) > 0.5).astype(np.float64)
    elif name == "CategoricalCrossentropy":
        y = np.eye(C)[[0, 2, 1, 3, 0, 1]]
    else:
        y = np.array([0, 2, 1, 3, 0, 1])
    sw = rng.random(N)
    t = torch.tensor(p, requires_grad=True)
    ref = getattr(keras_ref.losses, name)(dtype="float64")(y, t, sample_weight=sw)
    ref.backward()
    yp = Tensor(backend.convert_to_array(p), requires_grad=True)
    out = getattr(losses, name)()(y, yp, sample_weight=sw)
    np.testing.assert_allclose(float(out), float(ref.detach()), rtol=1e-6)  # Keras divides in float32
    np.testing.assert_allclose(_np(gradients(out, [yp])[0]), t.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy"])
def test_extreme_logits_are_stable(name):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], "float32")
    y = {"CategoricalCrossentropy": np.eye(3, dtype="float32")[[1, 1]],
         "SparseCategoricalCrossentropy": np.array([1, 1]),
         "BinaryCrossentropy": np.array([[0, 1, 0], [1, 1, 0]], "float32")}[name]
    yp = Tensor(backend.convert_to_array(z), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = getattr(losses, name)(from_logits=True)(y, yp)
        g = _np(gradients(out, [yp])[0])
    value = float(out)
    assert np.isfinite(value) and np.all(np.isfinite(g))
    if name == "BinaryCrossentropy":
        expected = (2000 + 0 + np.log(2) + 1000 + 0 + 999) / 6
        assert value == pytest.approx(expected, rel=1e-6)
    else:
        # sample 0: logsumexp = 1000, picks -1000 -> 2000; sample 1: log(1 + e^-1) ~ 0.3133
        assert value == pytest.approx((2000 + np.log1p(np.exp(-1.0))) / 2, rel=1e-6)
        np.testing.assert_allclose(g[0], [0.5, -0.5, 0.0], atol=1e-6)


def test_ignore_class_matches_keras(keras_ref, rng):
    z = rng.standard_normal((N, C)).astype("float32")
    y = np.array([0, -1, 2, 3, -1, 1])
    sw = rng.random(N).astype("float32")
    for reduction in ("sum_over_batch_size", "sum", None):
        kw = dict(from_logits=True, ignore_class=-1, reduction=reduction)
        ours = losses.SparseCategoricalCrossentropy(**kw)(y, z, sample_weight=sw)
        ref = keras_ref.losses.SparseCategoricalCrossentropy(**kw)(y, z, sample_weight=sw)
        np.testing.assert_allclose(_np(ours), np.asarray(ref.detach()), rtol=2e-6, atol=1e-7)
    yp = Tensor(backend.convert_to_array(z), requires_grad=True)
    g = _np(gradients(losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(y, yp), [yp])[0])
    assert np.all(g[[1, 4]] == 0) and np.all(g[[0, 2, 3, 5]] != 0)


@pytest.mark.parametrize("labels, bad", [([0, 4, 1], "4"), ([0, -1, 2], "-1"), ([0.0, 1.5, 2.0], "1.5"),
                                         ([0.0, 7.0, 1.0], "7")])
def test_sparse_labels_out_of_range_name_loss_value_and_classes(labels, bad):
    p = np.full((3, C), 0.25, "float32")
    with pytest.raises(ValueError) as info:
        losses.SparseCategoricalCrossentropy()(np.array(labels), p)
    msg = str(info.value)
    assert "sparse_categorical_crossentropy" in msg and f"label {bad} " in msg and f"{C} classes" in msg


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
def test_sparse_labels_out_of_range_for_every_integer_dtype(dtype):
    p = np.full((3, C), 0.25, "float32")
    for labels, bad in (([0, C, 1], str(C)), ([0, -1, 2], "-1")):
        if dtype.startswith("u") and bad.startswith("-"):
            continue
        with pytest.raises(ValueError, match=f"label {bad} is not a valid class id"):
            losses.SparseCategoricalCrossentropy()(np.array(labels, dtype=dtype), p)
    assert float(losses.SparseCategoricalCrossentropy()(np.array([0, C - 1, 1], dtype=dtype), p)) == \
        pytest.approx(np.log(C), rel=1e-6)


def test_sparse_labels_accept_int_float_and_column_shapes(rng):
    z = rng.standard_normal((N, C)).astype("float32")
    y = rng.integers(0, C, N)
    ref = float(losses.SparseCategoricalCrossentropy(from_logits=True)(y, z))
    for labels in (y.astype("int32"), y.astype("float32"), y[:, None], y[:, None].astype("float64"), list(y)):
        assert float(losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z)) == pytest.approx(ref)


def test_shape_errors_are_clear():
    p = np.full((3, C), 0.25, "float32")
    with pytest.raises(ValueError, match=r"categorical_crossentropy.*\(3,\).*\(3, 4\).*sparse"):
        losses.CategoricalCrossentropy()(np.array([0, 1, 2]), p)
    with pytest.raises(ValueError, match=r"one-hot labels: use categorical_crossentropy"):
        losses.SparseCategoricalCrossentropy()(np.eye(C)[[0, 1, 2]], p)
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true has shape \(3, 2\)"):
        losses.MeanSquaredError()(np.zeros((3, 2)), p)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(2,\)"):
        losses.MeanSquaredError()(p, p, sample_weight=np.ones(2))
    with pytest.raises(ValueError, match="reduction.*sum_over_batch_size"):
        losses.MeanSquaredError(reduction="average")


def test_get_resolves_strings_classes_instances_and_functions(rng):
    assert isinstance(losses.get("mse"), losses.MeanSquaredError) and losses.get("mse").name == "mse"
    assert isinstance(losses.get("sparse_categorical_crossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    inst = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.get(inst) is inst
    assert isinstance(losses.get(losses.mean_absolute_error), losses.MeanAbsoluteError)
    with pytest.raises(ValueError, match="Unknown loss 'msee'.*mean_squared_error"):
        losses.get("msee")

    def my_loss(y_true, y_pred):
        return ops.sum(ops.square(y_pred - y_true), axis=-1) * (3.0 / y_pred.shape[-1])

    wrapped = losses.get(my_loss)
    assert isinstance(wrapped, losses.Loss) and wrapped.name == "my_loss"
    y, p = rng.standard_normal((N, 2)).astype("float32"), rng.standard_normal((N, 2)).astype("float32")
    sw = rng.random(N).astype("float32")
    assert float(wrapped(y, p, sample_weight=sw)) == pytest.approx(np.sum(3 * ((p - y) ** 2).mean(-1) * sw) / N,
                                                                  rel=1e-5)


def test_custom_loss_subclass_with_ops(float64, rng):
    class Scaled(losses.Loss):
        def __init__(self, k=2.0, **kw):
            super().__init__(**kw)
            self.k = k

        def call(self, y_true, y_pred):
            return ops.sum(self.k * ops.abs(y_pred - y_true) ** 3, axis=-1) / y_pred.shape[-1]

    y, p = rng.standard_normal((N, 3)), rng.standard_normal((N, 3))
    sw = rng.random(N)
    loss = Scaled(name="scaled")
    assert float(loss(y, p, sample_weight=sw)) == pytest.approx(np.sum(2 * (np.abs(p - y) ** 3).mean(-1) * sw) / N)
    check_op_gradients(lambda t: loss(y, t, sample_weight=sw), p)
    assert Scaled().name.startswith("scaled")


def test_get_config_round_trip():
    for loss in (losses.Huber(delta=2.5, reduction="sum"),
                 losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                 losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)):
        config = loss.get_config()
        clone = type(loss).from_config(config)
        assert clone.get_config() == config
        again = losses.deserialize(losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == config
