"""Regularizers (differentiable penalties) and constraints (projections on raw arrays)."""
import numpy as np
import pytest

from gradcheck import check_op_gradients
from minikeras import backend, ops
from minikeras import constraints as C
from minikeras import regularizers as R
from minikeras.autodiff import Tensor
from minikeras.variables import Variable

W = np.array([[0.5, -1.0, 2.0], [-0.25, 0.0, 3.0]])


def _np(x):
    return backend.to_numpy(x)


def _keras_np(keras, t):
    """A Keras (torch) tensor as NumPy, without Keras's own DeprecationWarning-raising path."""
    return t.detach().cpu().numpy() if hasattr(t, "detach") else keras.ops.convert_to_numpy(t)


# ---------------------------------------------------------------- regularizer values


def test_l1_l2_values():
    w = Variable(W, dtype="float32")
    assert isinstance(R.L1(0.1)(w), Tensor) and R.L1(0.1)(w).shape == ()
    np.testing.assert_allclose(_np(R.L1(0.1)(w)), 0.1 * 6.75, rtol=1e-6)
    np.testing.assert_allclose(_np(R.L2(0.01)(w)), 0.01 * 14.3125, rtol=1e-6)
    np.testing.assert_allclose(_np(R.L1L2(l1=0.1, l2=0.01)(w)), 0.675 + 0.143125, rtol=1e-6)
    np.testing.assert_allclose(_np(R.L1L2()(w)), 0.0)
    assert R.L2()(w).dtype == "float32"  # the penalty has the weight's dtype


def test_defaults_and_lower_case_aliases_match_keras_3():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)
    assert R.l1 is R.L1 and R.l2 is R.L2 and R.l1_l2 is R.L1L2
    reg = R.l1_l2(l1=0.001, l2=0.001)
    assert (reg.l1, reg.l2) == (0.001, 0.001)


def test_values_match_keras(keras_ref):
    K = keras_ref.regularizers
    w = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    tw = keras_ref.ops.convert_to_tensor(w)
    pairs = [(R.L1(0.003), K.L1(0.003)), (R.L2(0.002), K.L2(0.002)),
             (R.L1L2(l1=0.001, l2=0.004), K.L1L2(l1=0.001, l2=0.004)),
             (R.OrthogonalRegularizer(0.1), K.OrthogonalRegularizer(0.1)),
             (R.OrthogonalRegularizer(0.2, mode="columns"), K.OrthogonalRegularizer(0.2, mode="columns"))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(_np(ours(Variable(w))), _keras_np(keras_ref, theirs(tw)),
                                   rtol=1e-5, err_msg=type(ours).__name__)


def test_orthogonal_regularizer_is_zero_for_orthogonal_rows():
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((5, 5)))[0][:3] * 4.0
    assert abs(float(_np(R.OrthogonalRegularizer(1.0)(q)))) < 1e-6
    with pytest.raises(ValueError, match="rank-2"):
        R.OrthogonalRegularizer()(np.ones(3))
    with pytest.raises(ValueError, match="rows"):
        R.OrthogonalRegularizer(mode="diagonal")


def test_invalid_factors_are_rejected():
    for bad in (-0.1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ValueError, match="non-negative"):
            R.L2(bad)


# ---------------------------------------------------------------- regularizer gradients


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.7), R.L1L2(l1=0.2, l2=0.5),
                                 R.OrthogonalRegularizer(0.4), R.OrthogonalRegularizer(0.4, mode="columns")],
                         ids=["l1", "l2", "l1l2", "orth_rows", "orth_cols"])
def test_regularizer_gradients(float64, reg):
    # entries kept away from 0, where |x| has a kink
    x = np.random.default_rng(2).uniform(0.2, 1.5, (3, 4)) * np.where(np.arange(12).reshape(3, 4) % 3, 1, -1)
    check_op_gradients(reg, x)


def test_l2_gradient_is_weight_decay(float64):
    w = Variable(W)
    penalty = R.L2(0.002)(w)
    from minikeras.autodiff import gradients
    (g,) = gradients(penalty, [w])
    np.testing.assert_allclose(_np(g), 2 * 0.002 * W)


# ---------------------------------------------------------------- regularizer get / serialize


def test_regularizer_get_and_serialize():
    assert R.get(None) is None
    assert type(R.get("l2")) is R.L2 and type(R.get("L1")) is R.L1
    assert type(R.get("l1_l2")) is R.L1L2 and type(R.get("l1l2")) is R.L1L2
    reg = R.L2(0.001)
    assert R.get(reg) is reg
    assert R.serialize(reg) == {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.001},
                                "registered_name": None}
    again = R.get(R.serialize(R.L1L2(l1=0.1, l2=0.2)))
    assert (type(again), again.l1, again.l2) == (R.L1L2, 0.1, 0.2)
    assert R.L2.from_config(reg.get_config()).l2 == 0.001
    fn = lambda w: ops.sum(w)  # noqa: E731
    assert R.get(fn) is fn
    with pytest.raises(ValueError, match="'l2'"):
        R.get("l3")


def test_regularizer_config_read_by_keras(keras_ref):
    theirs = keras_ref.regularizers.get(R.serialize(R.L1L2(l1=0.5, l2=0.25)))
    assert theirs.get_config() == {"l1": 0.5, "l2": 0.25}
    ours = R.deserialize(keras_ref.regularizers.serialize(keras_ref.regularizers.L2(0.125)))
    assert type(ours) is R.L2 and ours.l2 == 0.125


# ---------------------------------------------------------------- constraints


def test_max_norm_values_by_hand():
    w = backend.xp().asarray(np.array([[3.0, 0.1], [4.0, 0.2]], np.float32))
    out = C.MaxNorm(1.0)(w)
    assert type(out) is type(w) and out.dtype == np.float32
    # column 0 has norm 5 -> rescaled to norm 1; column 1 is inside the ball (tiny eps shrink only)
    np.testing.assert_allclose(_np(out), [[0.6, 0.1], [0.8, 0.2]], rtol=1e-6)
    np.testing.assert_allclose(_np(C.MaxNorm(1.0, axis=1)(w))[0], np.array([3.0, 0.1]) / np.hypot(3.0, 0.1),
                               rtol=1e-6)


def test_non_neg_and_unit_norm_by_hand():
    w = backend.xp().asarray(np.array([[-1.0, 3.0], [2.0, -4.0]], np.float32))
    np.testing.assert_array_equal(_np(C.NonNeg()(w)), [[0.0, 3.0], [2.0, 0.0]])
    np.testing.assert_allclose(_np(C.UnitNorm()(w)), [[-1 / 5 ** 0.5, 0.6], [2 / 5 ** 0.5, -0.8]], rtol=1e-6)


def test_min_max_norm_rate():
    w = np.array([[6.0], [8.0]])  # norm 10
    np.testing.assert_allclose(C.MinMaxNorm(0.0, 2.0)(w), [[1.2], [1.6]], rtol=1e-6)
    np.testing.assert_allclose(C.MinMaxNorm(0.0, 2.0, rate=0.5)(w), [[3.6], [4.8]], rtol=1e-6)
    np.testing.assert_allclose(C.MinMaxNorm(20.0, 30.0)(w), [[12.0], [16.0]], rtol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_constraints_match_keras_including_epsilon(keras_ref, axis):
    K = keras_ref.constraints
    w = np.random.default_rng(3).standard_normal((3, 4, 5)).astype(np.float32)
    w[:, 0, 0] = 0.0  # a zero vector: epsilon keeps the result finite
    pairs = [(C.MaxNorm(1.5, axis=axis), K.MaxNorm(1.5, axis=axis)),
             (C.UnitNorm(axis=axis), K.UnitNorm(axis=axis)),
             (C.MinMaxNorm(0.5, 1.2, rate=0.7, axis=axis), K.MinMaxNorm(0.5, 1.2, rate=0.7, axis=axis)),
             (C.NonNeg(), K.NonNeg())]
    for ours, theirs in pairs:
        got = _np(ours(backend.xp().asarray(w)))
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, _keras_np(keras_ref, theirs(w)), rtol=1e-6, atol=1e-7,
                                   err_msg=type(ours).__name__)


def test_small_vectors_shrink_by_epsilon_like_keras():
    w = np.array([[0.3], [0.4]], np.float64)  # norm 0.5 < max_value
    np.testing.assert_allclose(C.MaxNorm(2.0)(w), w * 0.5 / (0.5 + 1e-7), rtol=1e-15)


def test_constraint_defaults_aliases_and_get():
    assert (C.MaxNorm().max_value, C.MaxNorm().axis) == (2, 0)
    assert C.UnitNorm().axis == 0
    assert C.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert C.max_norm is C.MaxNorm and C.non_neg is C.NonNeg and C.unit_norm is C.UnitNorm
    assert C.get(None) is None
    for name, cls in [("max_norm", C.MaxNorm), ("MaxNorm", C.MaxNorm), ("non_neg", C.NonNeg),
                      ("unit_norm", C.UnitNorm), ("min_max_norm", C.MinMaxNorm)]:
        assert type(C.get(name)) is cls
    con = C.max_norm(1.0)
    assert C.get(con) is con
    assert C.serialize(con) == {"module": "keras.constraints", "class_name": "MaxNorm",
                                "config": {"max_value": 1.0, "axis": 0}, "registered_name": None}
    assert C.get(C.serialize(con)).max_value == 1.0
    with pytest.raises(ValueError, match="max_norm"):
        C.get("maxnorm")


def test_constraint_config_read_by_keras(keras_ref):
    theirs = keras_ref.constraints.get(C.serialize(C.MinMaxNorm(0.1, 3.0, rate=0.5, axis=1)))
    assert theirs.get_config() == {"min_value": 0.1, "max_value": 3.0, "rate": 0.5, "axis": 1}
