"""Backend selection, dtype policy, seeding and utilities."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match=r"jax.*numpy.*cupy"):
        backend.set_backend("jax")


def test_cupy_without_gpu_is_a_clear_error():
    if backend.cupy_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="cupy"):
        backend.set_backend("cupy")


def test_env_var_chooses_backend():
    code = "import minikeras; print(minikeras.backend.backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MINIKERAS_BACKEND": "numpy"})
    assert out.stdout.strip() == "numpy"


def test_floatx_policy(array_backend):
    assert backend.floatx() == "float32"
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    assert layer.kernel.dtype == "float32"
    assert layer(np.ones((1, 3), dtype="float64")).dtype == "float32"
    backend.set_floatx("float64")
    try:
        assert keras.layers.Dense(2)(np.ones((1, 3))).dtype == "float64"
    finally:
        backend.set_floatx("float32")
    with pytest.raises(ValueError):
        backend.set_floatx("int32")


def test_set_random_seed_reproduces_models_and_shuffling():
    def run():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="relu"),
                                  keras.layers.Dropout(0.3), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        x = np.random.default_rng(0).normal(size=(64, 4))
        model.fit(x, x.sum(1), epochs=2, verbose=0)
        return model.get_weights()
    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_to_numpy_and_array_module():
    t = keras.ops.ones((2, 2))
    assert isinstance(backend.to_numpy(t), np.ndarray)
    assert isinstance(np.asarray(t), np.ndarray)
    assert backend.get_array_module(np.ones(1)) is np
    assert backend.epsilon() == 1e-7


def test_to_categorical_round_trip():
    y = np.array([0, 2, 1, 2])
    oh = keras.utils.to_categorical(y)
    assert oh.shape == (4, 3) and oh.dtype == np.float32
    np.testing.assert_array_equal(oh[1], [0, 0, 1])
    np.testing.assert_array_equal(oh.argmax(1), y)
    assert keras.utils.to_categorical([1], num_classes=10).shape == (1, 10)
    with pytest.raises(ValueError, match="out of range"):
        keras.utils.to_categorical([5], num_classes=3)
