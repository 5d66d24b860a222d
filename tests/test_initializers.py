"""Initializers: exact values, Keras's variance formulas on large samples, seeding, (de)serialization."""
import math

import numpy as np
import pytest

from minikeras import backend
from minikeras import initializers as I


def _np(x):
    return backend.to_numpy(x)


def _keras_np(keras, t):
    """A Keras (torch) tensor as NumPy, without Keras's own DeprecationWarning-raising path."""
    return t.detach().cpu().numpy() if hasattr(t, "detach") else keras.ops.convert_to_numpy(t)


def _on_active_backend(x):
    return type(x).__module__.split(".")[0] == backend.backend()


# ---------------------------------------------------------------- deterministic initializers


def test_zeros_ones_constant_exact_values_and_dtype():
    for init, expected in [(I.Zeros(), 0.0), (I.Ones(), 1.0), (I.Constant(2.5), 2.5)]:
        out = init((2, 3))
        assert _on_active_backend(out)
        assert out.dtype == np.float32 and out.shape == (2, 3)
        np.testing.assert_array_equal(_np(out), np.full((2, 3), expected, np.float32))
    assert I.Ones()((4,), dtype="float64").dtype == np.float64
    assert I.Zeros()(3, dtype="int32").dtype == np.int32


def test_constant_broadcasts_an_array_value_and_rejects_mismatch():
    out = I.Constant([1.0, 2.0, 3.0])((2, 3))
    np.testing.assert_array_equal(_np(out), [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(ValueError, match="broadcast"):
        I.Constant([1.0, 2.0])((2, 3))


def test_floatx_float64_is_the_default_dtype(float64):
    assert I.GlorotUniform()((3, 3)).dtype == np.float64
    assert I.Zeros()((3,)).dtype == np.float64


def test_identity_square_rectangular_and_gain():
    np.testing.assert_array_equal(_np(I.Identity()((3, 3))), np.eye(3))
    np.testing.assert_array_equal(_np(I.Identity(gain=2.0)((2, 3))), [[2, 0, 0], [0, 2, 0]])
    with pytest.raises(ValueError, match="2-D"):
        I.Identity()((2, 3, 4))


# ---------------------------------------------------------------- fans


@pytest.mark.parametrize("shape, fans", [
    ((784, 300), (784, 300)),          # Dense kernel (in, out)
    ((3, 3, 16, 32), (144, 288)),      # Conv2D kernel: receptive field 9 multiplies both
    ((5, 8, 4), (40, 20)),             # Conv1D kernel
    ((7,), (7, 7)),
    ((), (1, 1)),
])
def test_compute_fans_like_keras(shape, fans):
    assert I.compute_fans(shape) == fans


def test_compute_fans_with_explicit_axes():
    assert I.compute_fans((2, 3, 5), input_axes=[0, 1], output_axes=[2]) == (6, 5)


# ---------------------------------------------------------------- statistics against the Keras formulas

FAN_IN, FAN_OUT = 300, 500
SHAPE = (FAN_IN, FAN_OUT)  # 150,000 samples: the sample std is within ~0.5% of the truth


def _fan(mode):
    return {"fan_in": FAN_IN, "fan_out": FAN_OUT, "fan_avg": (FAN_IN + FAN_OUT) / 2}[mode]


@pytest.mark.parametrize("name, scale, mode, dist", [
    ("glorot_uniform", 1.0, "fan_avg", "uniform"),
    ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("he_normal", 2.0, "fan_in", "truncated_normal"),
    ("he_uniform", 2.0, "fan_in", "uniform"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
    ("lecun_uniform", 1.0, "fan_in", "uniform"),
])
def test_named_variance_scaling_presets(name, scale, mode, dist):
    w = _np(I.get(name)(SHAPE))
    assert w.dtype == np.float32
    std = math.sqrt(scale / _fan(mode))
    assert abs(w.mean()) < 0.02 * std
    np.testing.assert_allclose(w.std(), std, rtol=0.02)
    if dist == "uniform":
        limit = math.sqrt(3 * scale / _fan(mode))
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.999 * limit
    else:
        bound = 2 * std / I.TRUNCATION_STD  # truncation at 2 std of the pre-truncation normal
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.99 * bound


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("dist", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_std_for_every_mode_and_distribution(mode, dist):
    w = _np(I.VarianceScaling(scale=3.0, mode=mode, distribution=dist)(SHAPE))
    np.testing.assert_allclose(w.std(), math.sqrt(3.0 / _fan(mode)), rtol=0.02)
    if dist == "untruncated_normal":  # real normal tails go past 2 std
        assert np.abs(w).max() > 3 * math.sqrt(3.0 / _fan(mode))


def test_variance_scaling_uses_conv_receptive_field():
    w = _np(I.HeNormal()((3, 3, 64, 128)))  # fan_in = 3*3*64 = 576
    np.testing.assert_allclose(w.std(), math.sqrt(2 / 576), rtol=0.02)


def test_truncation_constant_is_the_std_of_a_unit_normal_truncated_at_2():
    stats = pytest.importorskip("scipy.stats")
    np.testing.assert_allclose(I.TRUNCATION_STD, stats.truncnorm(-2, 2).std(), rtol=1e-12)


def test_random_normal_uniform_truncated_defaults_and_arguments():
    w = _np(I.RandomNormal()(SHAPE))
    np.testing.assert_allclose([w.mean(), w.std()], [0.0, 0.05], atol=1e-3)
    w = _np(I.RandomNormal(mean=1.0, stddev=2.0)(SHAPE))
    np.testing.assert_allclose([w.mean(), w.std()], [1.0, 2.0], rtol=0.02)
    w = _np(I.RandomUniform()(SHAPE))
    assert w.min() >= -0.05 and w.max() <= 0.05 and w.max() - w.min() > 0.0999
    w = _np(I.RandomUniform(minval=2.0, maxval=3.0)(SHAPE))
    np.testing.assert_allclose([w.mean(), w.std()], [2.5, 1 / math.sqrt(12)], rtol=0.01)
    w = _np(I.TruncatedNormal(mean=1.0, stddev=0.5)(SHAPE))
    assert w.min() >= 0.0 and w.max() <= 2.0  # within 2 stddev of the mean
    assert w.min() < 0.01 and w.max() > 1.99
    np.testing.assert_allclose(w.std(), 0.5 * I.TRUNCATION_STD, rtol=0.02)


def test_std_matches_real_keras_samples(keras_ref):
    for name in ["glorot_uniform", "he_normal", "lecun_normal", "truncated_normal", "random_uniform"]:
        theirs = _keras_np(keras_ref, keras_ref.initializers.get(name)(SHAPE))
        ours = _np(I.get(name)(SHAPE))
        np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.03, err_msg=name)
        # a high quantile, not the max: Keras's torch backend lets ~1 in 200,000 samples past 2 std
        np.testing.assert_allclose(np.quantile(np.abs(ours), 0.999), np.quantile(np.abs(theirs), 0.999),
                                   rtol=0.03, err_msg=name)


def test_random_initializers_reject_integer_dtypes():
    with pytest.raises(ValueError, match="floating-point"):
        I.RandomNormal()((2,), dtype="int32")


def test_variance_scaling_argument_errors_list_the_choices():
    with pytest.raises(ValueError, match="fan_avg"):
        I.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="untruncated_normal"):
        I.VarianceScaling(distribution="gaussian")
    with pytest.raises(ValueError, match="positive"):
        I.VarianceScaling(scale=0.0)
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"


# ---------------------------------------------------------------- orthogonal


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (3, 3, 2, 5)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = _np(I.Orthogonal(gain=1.5)(shape)).astype(np.float64)
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    gram = m @ m.T if m.shape[0] < m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(gram.shape[0]), atol=1e-5)


def test_orthogonal_needs_two_axes():
    with pytest.raises(ValueError, match="at least 2"):
        I.Orthogonal()((5,))


# ---------------------------------------------------------------- seeding


@pytest.mark.parametrize("name", ["RandomNormal", "RandomUniform", "TruncatedNormal", "GlorotUniform",
                                  "HeNormal", "VarianceScaling", "Orthogonal"])
def test_integer_seed_repeats_and_different_seeds_differ(name):
    cls = getattr(I, name)
    a, b = cls(seed=7), cls(seed=7)
    first = _np(a((20, 30)))
    np.testing.assert_array_equal(first, _np(a((20, 30))))   # same values on every call
    np.testing.assert_array_equal(first, _np(b((20, 30))))   # and for an equal seed
    assert not np.array_equal(first, _np(cls(seed=8)((20, 30))))


def test_seeded_values_do_not_depend_on_the_backend():
    # values are drawn on the host, so NumPy and CuPy runs give identical weights
    expected = np.random.default_rng(3).normal(0.0, 0.05, (4, 5)).astype(np.float32)
    np.testing.assert_array_equal(_np(I.RandomNormal(seed=3)((4, 5))), expected)


def test_unseeded_initializers_follow_set_random_seed():
    init = I.GlorotUniform()
    backend.set_random_seed(42)
    first, second = _np(init((5, 5))), _np(init((5, 5)))
    assert not np.array_equal(first, second)  # a shared unseeded initializer keeps drawing
    backend.set_random_seed(42)
    np.testing.assert_array_equal(_np(I.get("glorot_uniform")((5, 5))), first)
    np.testing.assert_array_equal(_np(init((5, 5))), second)


def test_bad_seed_type():
    with pytest.raises(TypeError, match="seed"):
        I.RandomNormal(seed="1")


# ---------------------------------------------------------------- get / serialize


@pytest.mark.parametrize("identifier, cls", [
    ("glorot_uniform", I.GlorotUniform), ("GlorotUniform", I.GlorotUniform), ("glorot_normal", I.GlorotNormal),
    ("he_normal", I.HeNormal), ("he_uniform", I.HeUniform), ("lecun_normal", I.LecunNormal),
    ("lecun_uniform", I.LecunUniform), ("random_normal", I.RandomNormal), ("normal", I.RandomNormal),
    ("random_uniform", I.RandomUniform), ("uniform", I.RandomUniform), ("truncated_normal", I.TruncatedNormal),
    ("zeros", I.Zeros), ("zero", I.Zeros), ("ones", I.Ones), ("constant", I.Constant),
    ("orthogonal", I.Orthogonal), ("identity", I.Identity), ("variance_scaling", I.VarianceScaling),
    ("VarianceScaling", I.VarianceScaling),
])
def test_get_by_name(identifier, cls):
    assert type(I.get(identifier)) is cls


def test_get_other_identifiers():
    assert I.get(None) is None
    init = I.HeNormal(seed=1)
    assert I.get(init) is init
    assert type(I.get(I.Ones)) is I.Ones
    fn = lambda shape, dtype=None: np.zeros(shape)  # noqa: E731
    assert I.get(fn) is fn
    assert I.glorot_uniform is I.GlorotUniform and I.he_normal is I.HeNormal
    with pytest.raises(ValueError, match="glorot_uniform"):  # the message lists valid names
        I.get("glorot")
    with pytest.raises(ValueError):
        I.get(3)


def test_serialize_roundtrip_keeps_the_config():
    vs = I.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform", seed=5)
    config = I.serialize(vs)
    assert config["class_name"] == "VarianceScaling"
    assert config["config"] == {"seed": 5, "scale": 2.0, "mode": "fan_avg", "distribution": "uniform",
                                "input_axes": None, "output_axes": None}
    again = I.deserialize(config)
    np.testing.assert_array_equal(_np(again((3, 4))), _np(vs((3, 4))))
    assert I.get({"class_name": "RandomNormal", "config": {"stddev": 1.0}}).stddev == 1.0
    assert I.Identity.from_config(I.Identity(gain=3.0).get_config()).gain == 3.0
    assert I.Constant.from_config(I.Constant(np.array([1.0, 2.0])).get_config()).value == [1.0, 2.0]


def test_deserialize_custom_objects():
    class MyInit(I.Initializer):
        def __call__(self, shape, dtype=None):
            return backend.xp().full(shape, 7.0, dtype=dtype or backend.floatx())

    config = I.serialize(MyInit())
    again = I.deserialize(config, custom_objects={"MyInit": MyInit})
    np.testing.assert_array_equal(_np(again((2,))), [7.0, 7.0])
    with pytest.raises(ValueError, match="Unknown initializer"):
        I.deserialize(config)


def test_configs_match_keras(keras_ref):
    K = keras_ref.initializers
    cases = [I.GlorotUniform(), I.HeNormal(seed=3), I.RandomNormal(mean=1.0, stddev=0.1),
             I.RandomUniform(), I.TruncatedNormal(), I.Zeros(), I.Ones(), I.Constant(0.5),
             I.Orthogonal(gain=2.0), I.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform")]
    for ours in cases:
        theirs = K.get(I.serialize(ours))  # Keras reads our config...
        assert K.serialize(theirs) == I.serialize(ours)  # ...and writes the same one back
        assert type(I.deserialize(K.serialize(theirs))) is type(ours)


def test_variable_accepts_initializer_names():
    from minikeras.variables import Variable
    v = Variable("ones", shape=(2, 3))
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 3)))
    v = Variable(I.Constant(3.0), shape=(2,), dtype="float64")
    assert v.numpy().dtype == np.float64 and v.numpy()[0] == 3.0
