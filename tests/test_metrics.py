"""Metrics: streaming values against Keras 3, sample weights, reset, lookup and logged names."""
import numpy as np
import pytest

from minikeras import backend, metrics, ops
from minikeras.autodiff import Tensor

N, C = 12, 5


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _data(kind, rng):
    """(y_true, y_pred) for one batch of a metric family."""
    labels = rng.integers(0, C, N)
    probs = _softmax(rng.standard_normal((N, C)).astype("float32") * 2)
    if kind == "exact":
        return rng.integers(0, 3, (N, 1)), rng.integers(0, 3, (N, 1))
    if kind == "binary":
        return (rng.random(N) > 0.5).astype("float32"), rng.random((N, 1)).astype("float32")
    if kind == "multilabel":
        return (rng.random((N, 3)) > 0.5).astype("float32"), rng.random((N, 3)).astype("float32")
    if kind == "onehot":
        return np.eye(C, dtype="float32")[labels], probs
    if kind == "sparse":
        return labels, probs
    if kind == "sparse_col":
        return labels[:, None].astype("float32"), probs
    if kind == "regression":
        return rng.standard_normal((N, 2)).astype("float32"), rng.standard_normal((N, 2)).astype("float32")
    if kind == "regression_col":
        return rng.standard_normal(N).astype("float32"), rng.standard_normal((N, 1)).astype("float32")
    raise KeyError(kind)


CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "multilabel"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_col"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanSquaredError", {}, "regression_col"),
    ("RootMeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression_col"),
    ("BinaryCrossentropy", {"from_logits": True}, "multilabel"),
    ("CategoricalCrossentropy", {}, "onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("Precision", {}, "binary"),
    ("Recall", {}, "multilabel"),
    ("Precision", {"thresholds": [0.2, 0.6]}, "multilabel"),
]


@pytest.mark.parametrize("name, kw, kind", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
@pytest.mark.parametrize("weighted", [False, True])
def test_streaming_values_match_keras(keras_ref, rng, name, kw, kind, weighted):
    ours = getattr(metrics, name)(**kw)
    ref = getattr(keras_ref.metrics, name)(**kw)
    batches = [_data(kind, rng) for _ in range(3)]
    weights = [rng.random(N).astype("float32") if weighted else None for _ in batches]
    for (y, p), w in zip(batches, weights):
        ours.update_state(y, p, sample_weight=w)
        ref.update_state(y, p, sample_weight=w)
    got = backend.to_numpy(ours.result())
    np.testing.assert_allclose(got, np.asarray(ref.result()), rtol=1e-5, atol=1e-6)
    # streaming over batches equals one pass over everything
    whole = getattr(metrics, name)(**kw)
    sw = None if not weighted else np.concatenate(weights)
    whole.update_state(np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]),
                       sample_weight=sw)
    np.testing.assert_allclose(backend.to_numpy(whole.result()), got, rtol=1e-5, atol=1e-7)


def test_reset_state_and_call(rng):
    m = metrics.SparseCategoricalAccuracy()
    y, p = _data("sparse", rng)
    first = float(m(y, p))
    assert first == pytest.approx(np.mean(p.argmax(-1) == y))
    m.update_state(y, np.eye(C, dtype="float32")[y])  # a perfect batch
    assert float(m.result()) == pytest.approx((first + 1) / 2)
    m.reset_state()
    assert float(m.result()) == 0.0
    assert all(float(np.sum(backend.to_numpy(v.value))) == 0.0 for v in m.variables)
    assert float(m(y, p)) == pytest.approx(first)


def test_mean_sum_and_batch_weighted_loss_tracker():
    m = metrics.Mean()
    m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == pytest.approx(2.0)
    s = metrics.Sum()
    s.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    assert float(s.result()) == pytest.approx(4.0)
    tracker = metrics.LossTracker()
    assert tracker.name == "loss"
    tracker.update_state(np.float32(2.0), sample_weight=32)  # full batch
    tracker.update_state(np.float32(5.0), sample_weight=8)   # short last batch
    assert float(tracker.result()) == pytest.approx((2 * 32 + 5 * 8) / 40)
    assert float(metrics.Mean().result()) == 0.0  # no NaN before any update


def test_metrics_do_not_build_graphs_and_state_stays_on_device(rng):
    y, p = _data("onehot", rng)
    pt = Tensor(backend.convert_to_array(p), requires_grad=True)
    for m in (metrics.CategoricalAccuracy(), metrics.CategoricalCrossentropy(), metrics.MeanSquaredError()):
        r = m(y, pt)
        assert isinstance(r, Tensor) and not r.requires_grad and r._parents == ()
        assert all(not v.trainable for v in m.variables)
        assert backend.get_array_module(r.value) is backend.xp()
        assert all(backend.get_array_module(v.value) is backend.xp() for v in m.variables)


def test_custom_metric_subclass_like_the_book(rng):
    class RootMeanSquaredError(metrics.Metric):
        """A streaming RMSE over one-hot targets, kept as a running squared-error total."""

        def __init__(self, **kwargs):
            kwargs.setdefault("name", "rmse")
            super().__init__(**kwargs)
            self.squared_total = self.add_weight(name="squared_total")
            self.seen = self.add_weight(name="seen", dtype="int32")

        def update_state(self, labels, probs, sample_weight=None):
            target = ops.one_hot(labels, ops.shape(probs)[1])
            self.squared_total.assign_add(ops.sum(ops.square(ops.subtract(target, probs))))
            self.seen.assign_add(ops.shape(probs)[0])

        def result(self):
            return ops.sqrt(self.squared_total / ops.cast(self.seen, "float32"))

        def reset_state(self):
            self.squared_total.assign(0.0)
            self.seen.assign(0)

    y, p = _data("sparse", rng)
    pt = Tensor(backend.convert_to_array(p), requires_grad=True)
    m = RootMeanSquaredError()
    m.update_state(y, pt)
    m.update_state(y, pt)
    assert not m.squared_total.requires_grad and m.squared_total._parents == ()
    expected = np.sqrt(2 * np.sum((np.eye(C)[y] - p) ** 2) / (2 * N))
    assert float(m.result()) == pytest.approx(expected, rel=1e-5)
    assert [v.name for v in m.variables] == ["squared_total", "seen"]
    m.reset_state()
    assert float(m.squared_total) == 0.0


@pytest.mark.parametrize("identifier, y_kind", [
    ("accuracy", "sparse"), ("acc", "onehot"), ("accuracy", "binary"), ("accuracy", "sparse_col"),
    ("mae", "regression"), ("mean_absolute_error", "regression"), ("mse", "regression"),
    ("RootMeanSquaredError", "regression"), ("sparse_categorical_accuracy", "sparse"),
    ("SparseCategoricalAccuracy", "sparse"), ("categorical_crossentropy", "onehot"),
])
def test_get_matches_keras_compile_resolution_and_names(keras_ref, rng, identifier, y_kind):
    from keras.src.trainers.compile_utils import get_metric
    y, p = _data(y_kind, rng)
    ref = get_metric(identifier, keras_ref.ops.convert_to_tensor(y), keras_ref.ops.convert_to_tensor(p))
    for ours in (metrics.get(identifier, y_true=y, y_pred=p), metrics.get(identifier)):
        assert ours.name == ref.name
        ours.update_state(y, p)
        ref.update_state(y, p)
        np.testing.assert_allclose(float(ours.result()), float(ref.result()), rtol=1e-5)
        ref.reset_state()
    if identifier not in ("accuracy", "acc"):
        assert type(metrics.get(identifier)).__name__ == type(ref).__name__


def test_get_objects_functions_and_errors(rng):
    m = metrics.TopKCategoricalAccuracy(k=3, name="top_3_accuracy")
    assert metrics.get(m) is m
    assert metrics.get(metrics.RootMeanSquaredError).name == "root_mean_squared_error"

    def doubled_error(y_true, y_pred):
        return ops.sum(ops.abs(ops.subtract(y_true, y_pred)), axis=-1) * (2.0 / y_pred.shape[-1])

    wrapped = metrics.get(doubled_error)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "doubled_error"
    y, p = _data("regression", rng)
    assert float(wrapped(y, p)) == pytest.approx(2 * np.mean(np.abs(y - p)), rel=1e-5)
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'.*accuracy"):
        metrics.get("acuracy")


def test_shape_and_label_errors():
    p = np.full((3, C), 0.2, "float32")
    with pytest.raises(ValueError, match=r"categorical_accuracy.*\(3,\).*sparse_categorical_accuracy"):
        metrics.CategoricalAccuracy().update_state(np.array([0, 1, 2]), p)
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy: labels of shape \(3, 5\)"):
        metrics.SparseCategoricalAccuracy().update_state(np.eye(C)[[0, 1, 2]], p)
    with pytest.raises(ValueError, match=r"mean_absolute_error: y_true has shape \(3, 2\)"):
        metrics.MeanAbsoluteError().update_state(np.zeros((3, 2)), p)


def test_config_round_trip():
    for m in (metrics.BinaryAccuracy(threshold=0.7, name="ba"), metrics.TopKCategoricalAccuracy(k=3),
              metrics.Mean(name="avg")):
        clone = type(m).from_config(m.get_config())
        assert clone.get_config() == m.get_config()
