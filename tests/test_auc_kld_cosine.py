"""The Keras-API chapter's remaining names: ``metrics.AUC`` (ROC/PR/PR-gain curves, the three
summation methods, ``num_thresholds``, explicit thresholds, ``multi_label``, label weights,
logits), ``losses.KLDivergence`` and ``losses.CosineSimilarity`` with their functions, metric
classes and string names. Values (and confusion counts) are compared with Keras 3; the losses'
gradients with finite differences and with PyTorch's autograd through Keras."""
import numpy as np
import pytest

import minikeras
from minikeras import backend, losses, metrics
from minikeras.autodiff import Tensor, gradients
from gradcheck import check_op_gradients


def _np(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return backend.to_numpy(x)


def _scores(rng, n=50, labels=3):
    y = (rng.random((n, labels)) > 0.6).astype("float32")
    p = rng.random((n, labels)).astype("float32")
    p[0, 0], p[1, 1], p[2, 2] = 0.0, 1.0, 0.5  # on the edges and exactly on a threshold
    return y, p


# ----------------------------------------------------------------------------- AUC
AUC_CONFIGS = [
    {}, {"num_thresholds": 7}, {"num_thresholds": 2}, {"curve": "PR"},
    {"curve": "PR", "summation_method": "minoring"}, {"curve": "ROC", "summation_method": "majoring"},
    {"curve": "PRGAIN"}, {"multi_label": True}, {"multi_label": True, "curve": "PR"},
    {"multi_label": True, "label_weights": [0.2, 0.5, 1.0]}, {"label_weights": [0.2, 0.5, 1.0]},
    {"thresholds": [0.1, 0.35, 0.4, 0.9]}, {"thresholds": [0.25, 0.5, 0.75]}, {"from_logits": True},
    {"multi_label": True, "num_labels": 3, "thresholds": [0.3, 0.31, 0.8]},
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("config", AUC_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_auc_streams_like_keras(keras_ref, rng, config, weighted):
    y, p = _scores(rng)
    if config.get("from_logits"):
        p = p * 8 - 4
    sw = rng.random(len(y)).astype("float32") if weighted else None
    ours, ref = metrics.AUC(**config), keras_ref.metrics.AUC(**config)
    for part in (slice(0, 20), slice(20, None)):
        w = None if sw is None else sw[part]
        ours.update_state(y[part], p[part], sample_weight=w)
        ref.update_state(y[part], p[part], sample_weight=w)
    assert float(ours.result()) == pytest.approx(float(ref.result()), abs=1e-6)
    for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
        np.testing.assert_allclose(_np(getattr(ours, name).value), _np(getattr(ref, name)), rtol=1e-5, atol=1e-5)
    assert ours.thresholds == pytest.approx([float(t) for t in ref.thresholds])
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_auc_known_values():
    # Perfect ranking gives 1, reversed ranking 0, on both curves (up to the threshold grid).
    y = np.array([0, 0, 1, 1], "float32")
    good = np.array([0.1, 0.2, 0.8, 0.9], "float32")
    assert float(metrics.AUC()(y, good)) == pytest.approx(1.0)
    assert float(metrics.AUC()(y, 1 - good)) == pytest.approx(0.0, abs=1e-6)
    assert float(metrics.AUC(curve="PR")(y, good)) == pytest.approx(1.0)
    # Ties everywhere: the ROC curve is the diagonal.
    assert float(metrics.AUC()(y, np.full(4, 0.5, "float32"))) == pytest.approx(0.5)


def test_auc_label_shapes_and_ranks_follow_keras(keras_ref, rng):
    y, p = _scores(rng)
    for yy, pp in ((y[:, 0], p[:, :1]), (y[:, :1], p[:, 0]), (y[:, 0], p[:, 0])):
        ours, ref = metrics.AUC(), keras_ref.metrics.AUC()
        assert float(ours(yy, pp)) == pytest.approx(float(ref(yy, pp)), abs=1e-6)


def test_auc_config_round_trip_and_errors():
    m = metrics.AUC(num_thresholds=50, curve="pr", summation_method="Minoring", multi_label=True,
                    label_weights=[1, 2], thresholds=None, name="pr_auc")
    config = m.get_config()
    assert config["curve"] == "PR" and config["summation_method"] == "minoring" and config["name"] == "pr_auc"
    again = metrics.AUC.from_config(config)
    assert again.get_config() == config
    assert metrics.AUC(thresholds=[0.7, 0.2]).get_config()["thresholds"] == pytest.approx([0.2, 0.7])
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="ROCK")
    with pytest.raises(ValueError, match="summation_method"):
        metrics.AUC(summation_method="trapezoid")
    with pytest.raises(ValueError, match="num_thresholds must be an integer > 1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="num_labels is only used when multi_label=True"):
        metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match="rank 2"):
        metrics.AUC(multi_label=True).update_state(np.ones((2, 3, 4)), np.ones((2, 3, 4)) / 2)


def test_auc_in_compile_by_object_and_by_name(keras_ref, rng):
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * rng.normal(size=(64, 1)) > 0).astype("float32")
    logs = {}
    for k in (minikeras, keras_ref):
        model = k.Sequential([k.Input((4,)), k.layers.Dense(1, activation="sigmoid")])
        model.set_weights([np.array([[1.0], [0.2], [-0.3], [0.1]], "float32"), np.zeros(1, "float32")])
        model.compile(optimizer="sgd", loss="binary_crossentropy",
                      metrics=["AUC", k.metrics.AUC(curve="PR", name="pr_auc")])
        logs[k] = model.evaluate(x, y, verbose=0, return_dict=True, batch_size=16)
    assert set(logs[minikeras]) == set(logs[keras_ref]) == {"loss", "AUC", "pr_auc"}
    for key in logs[keras_ref]:
        assert logs[minikeras][key] == pytest.approx(logs[keras_ref][key], rel=1e-5), key
    assert type(metrics.get("auc")).__name__ == "AUC" and metrics.get("auc").name == "auc"


# ----------------------------------------------------------------------------- KLDivergence, CosineSimilarity
def _distributions(rng, n=6, c=4, dtype="float32"):
    t = rng.random((n, c)).astype(dtype)
    t /= t.sum(1, keepdims=True)
    t[0, 0] = 0.0  # a zero-probability target: eps * log(eps / p), not NaN
    p = rng.random((n, c)).astype(dtype)
    p /= p.sum(1, keepdims=True)
    return t, p


@pytest.mark.parametrize("name, kwargs", [("KLDivergence", {}), ("CosineSimilarity", {}),
                                          ("CosineSimilarity", {"axis": 0})])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None, "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True])
def test_losses_match_keras(keras_ref, rng, name, kwargs, reduction, weighted):
    t, p = _distributions(rng)
    if kwargs.get("axis") == 0 and weighted:
        pytest.skip("per-sample weights need the sample axis kept")
    sw = rng.random(len(t)).astype("float32") if weighted else None
    ours = getattr(losses, name)(reduction=reduction, **kwargs)(t, p, sample_weight=sw)
    ref = getattr(keras_ref.losses, name)(reduction=reduction, **kwargs)(t, p, sample_weight=sw)
    assert ours.shape == tuple(ref.shape)
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=2e-6, atol=1e-6)


def test_cosine_similarity_known_values_and_zero_vectors(keras_ref):
    y_true = [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
    y_pred = [[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0], [1.0, 1.0]]
    ours = _np(losses.cosine_similarity(y_true, y_pred))
    np.testing.assert_allclose(ours, [0.0, -1.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(ours, _np(keras_ref.losses.cosine_similarity(y_true, y_pred)), atol=1e-7)
    np.testing.assert_allclose(_np(metrics.cosine_similarity(y_true, y_pred)), -ours, atol=1e-7)


def test_functions_and_metrics_match_keras(keras_ref, rng):
    t, p = _distributions(rng)
    np.testing.assert_allclose(_np(losses.kl_divergence(t, p)), _np(keras_ref.losses.kl_divergence(t, p)), rtol=1e-6)
    np.testing.assert_allclose(_np(losses.cosine_similarity(t, p)), _np(keras_ref.losses.cosine_similarity(t, p)),
                               rtol=1e-6)
    np.testing.assert_allclose(_np(metrics.kl_divergence(t, p)), _np(keras_ref.metrics.kl_divergence(t, p)), rtol=1e-6)
    for name in ("KLDivergence", "CosineSimilarity"):
        ours, ref = getattr(metrics, name)(), getattr(keras_ref.metrics, name)()
        for part in (slice(0, 2), slice(2, None)):
            ours.update_state(t[part], p[part])
            ref.update_state(t[part], p[part])
        assert float(ours.result()) == pytest.approx(float(ref.result()), rel=1e-6)
        assert ours.name == ref.name


@pytest.mark.parametrize("identifier", ["kl_divergence", "kld", "KLD", "KLDivergence", "cosine_similarity",
                                        "CosineSimilarity"])
def test_string_names_in_compile_match_keras(keras_ref, rng, identifier):
    x = rng.normal(size=(12, 3)).astype("float32")
    t, _ = _distributions(rng, n=12)
    logs = {}
    for k in (minikeras, keras_ref):
        model = k.Sequential([k.Input((3,)), k.layers.Dense(4, activation="softmax")])
        model.set_weights([np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4), np.zeros(4, "float32")])
        metric = identifier if identifier not in ("kld", "KLD") else "kl_divergence"  # (loss-only aliases)
        model.compile(optimizer="sgd", loss=identifier, metrics=[metric])
        logs[k] = model.evaluate(x, t, verbose=0, return_dict=True)
    assert set(logs[minikeras]) == set(logs[keras_ref])
    for key in logs[keras_ref]:
        assert logs[minikeras][key] == pytest.approx(logs[keras_ref][key], rel=1e-5), key


@pytest.mark.parametrize("name, kwargs", [("KLDivergence", {}), ("CosineSimilarity", {}),
                                          ("CosineSimilarity", {"axis": 0})])
def test_loss_gradients_match_finite_differences(float64, rng, name, kwargs):
    t, p = _distributions(rng, dtype="float64")
    p = p + 0.05  # away from the clip at eps
    sw = rng.random(len(t))
    for reduction in ("sum_over_batch_size", "sum", None):
        loss = getattr(losses, name)(reduction=reduction, **kwargs)
        weights = None if kwargs else sw
        check_op_gradients(lambda q: loss(t, q, sample_weight=weights), p, rtol=1e-5, atol=1e-8)
    fn = losses.kl_divergence if name == "KLDivergence" else losses.cosine_similarity
    check_op_gradients(lambda q: fn(t, q, **kwargs), p, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["KLDivergence", "CosineSimilarity"])
def test_loss_gradients_match_keras_autograd_including_edges(keras_ref, float64, rng, name):
    import torch
    t, p = _distributions(rng, dtype="float64")
    p[1, 2] = 0.0     # below eps: clipped in KL (no gradient through the clip)
    p[2, 1] = 1.0     # on the upper clip bound of KL
    p[3] = 0.0        # a zero prediction vector for the cosine (its norm is floored at eps)
    sw = rng.random(len(t))
    ref_in = torch.tensor(p, requires_grad=True)
    ref = getattr(keras_ref.losses, name)(dtype="float64")(t, ref_in, sample_weight=sw)
    ref.backward()
    ours_in = Tensor(backend.convert_to_array(p), requires_grad=True)
    ours = getattr(losses, name)()(t, ours_in, sample_weight=sw)
    assert float(ours) == pytest.approx(float(ref.detach()), rel=1e-6)
    grad, ref_grad = _np(gradients(ours, [ours_in])[0]), ref_in.grad.numpy()
    if name == "CosineSimilarity":
        # Through rsqrt(0) torch's autograd gives NaN for the zero vector; the loss there is
        # x / eps, whose gradient minikeras returns (finite). The other rows agree.
        assert np.isnan(ref_grad[3]).all() and np.isfinite(grad[3]).all()
        grad, ref_grad = np.delete(grad, 3, axis=0), np.delete(ref_grad, 3, axis=0)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-9)


def test_shape_errors_name_the_loss():
    with pytest.raises(ValueError, match=r"kl_divergence: y_true has shape \(3, 2\) but y_pred has shape \(3, 4\)"):
        losses.KLDivergence()(np.ones((3, 2)), np.ones((3, 4)) / 4)
    with pytest.raises(ValueError, match=r"cosine_similarity: axis=2 is out of range"):
        losses.CosineSimilarity(axis=2)(np.ones((3, 2)), np.ones((3, 2)))
    assert losses.get("kld").name == "kld" and isinstance(losses.get("KLD"), losses.KLDivergence)
    assert losses.deserialize(losses.serialize(losses.CosineSimilarity(axis=0))).axis == 0
