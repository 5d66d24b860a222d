"""Shared fixtures: every test runs once per array backend (the CuPy case skips without a GPU),
and the Keras 3 reference (``keras`` on the torch backend) is loaded on demand."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import minikeras  # noqa: E402
from minikeras import backend  # noqa: E402


@pytest.fixture(autouse=True, params=["numpy", "cupy"])
def array_backend(request):
    """Run the test on the given backend; restores numpy and float32 afterwards."""
    name = request.param
    if name == "cupy" and not backend.cupy_available():
        pytest.skip("CuPy backend needs cupy and an NVIDIA GPU")
    backend.set_backend(name)
    backend.set_floatx("float32")
    minikeras.utils.clear_session()
    backend.set_random_seed(1234)
    yield name
    backend.set_backend("numpy")
    backend.set_floatx("float32")


@pytest.fixture
def float64():
    """Switch the default float dtype to float64 (for finite-difference gradient checks)."""
    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")


@pytest.fixture(scope="session")
def keras_ref():
    """The real Keras 3 (torch backend) to compare against; skips when it is not installed."""
    keras = pytest.importorskip("keras")
    return keras


@pytest.fixture
def rng():
    return np.random.default_rng(0)
