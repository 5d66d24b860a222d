"""The array backend: which array module runs the kernels, the float policy and seeding.

Everything above this module asks it for arrays; kernels themselves never import numpy
or cupy but take ``xp`` from the arrays they receive (``get_array_module``), so the same
code runs on the CPU and on a GPU.
"""
import os
import random as _pyrandom

import numpy as np

_VALID_BACKENDS = ("numpy", "cupy")
_state = {"name": None, "xp": None, "floatx": "float32", "rng": np.random.default_rng(), "seed": None}
_EPSILON = 1e-7


def _load(name):
    if name not in _VALID_BACKENDS:
        raise ValueError(f"Unknown backend {name!r}; valid backends are {list(_VALID_BACKENDS)}.")
    if name == "numpy":
        return np
    try:
        import cupy
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no cupy, or cupy without a usable GPU
        raise RuntimeError(
            "The cupy backend needs the 'cupy' package and an NVIDIA GPU "
            "(pip install 'minikeras[gpu]'); " f"importing it failed with: {exc}") from exc
    return cupy


def set_backend(name):
    """Choose the array module ("numpy" or "cupy") for new arrays and weights."""
    _state["xp"] = _load(name)
    _state["name"] = name


def backend():
    """Name of the active backend, as Keras's ``keras.backend.backend()``."""
    if _state["name"] is None:
        set_backend(os.environ.get("MINIKERAS_BACKEND", "numpy"))
    return _state["name"]


def xp():
    """The active array module (numpy or cupy)."""
    if _state["xp"] is None:
        backend()
    return _state["xp"]


def cupy_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        _load("cupy")
        return True
    except RuntimeError:
        return False


def get_array_module(*arrays):
    """numpy, or cupy when any argument is a cupy array (the CuPy idiom, without importing cupy)."""
    for a in arrays:
        if a.__class__ is np.ndarray:
            continue
        if type(a).__module__.startswith("cupy"):
            import cupy
            return cupy
    return np


def floatx():
    return _state["floatx"]


def set_floatx(dtype):
    """Default float dtype for weights and converted inputs: "float32" (default) or "float64"."""
    dtype = np.dtype(dtype).name
    if dtype not in ("float16", "float32", "float64"):
        raise ValueError(f"floatx must be float16, float32 or float64, got {dtype!r}.")
    _state["floatx"] = dtype


def epsilon():
    """The fuzz factor Keras uses to clip probabilities (1e-7)."""
    return _EPSILON


def set_random_seed(seed):
    """Seed every source of randomness minikeras uses (weights, dropout, shuffling)."""
    seed = int(seed)
    _state["seed"] = seed
    _state["rng"] = np.random.default_rng(seed)
    _pyrandom.seed(seed)
    np.random.seed(seed % (2 ** 32))
    if _state["name"] == "cupy":
        _state["xp"].random.seed(seed)


def rng():
    """The global NumPy random Generator (reseeded by ``set_random_seed``)."""
    return _state["rng"]


def random_uniform(shape, xp_module=None, dtype=None, generator=None):
    """Uniform [0, 1) samples on the device of ``xp_module``: from ``generator`` (a NumPy
    Generator, e.g. a layer's own seeded one) when given, else from the global seed."""
    dtype = np.dtype(dtype or floatx())
    xp_module = xp_module or xp()
    draw_dtype = np.float32 if dtype == np.float32 else np.float64
    if xp_module is np or generator is not None:
        values = (generator or _state["rng"]).random(shape, dtype=draw_dtype).astype(dtype, copy=False)
        return values if xp_module is np else xp_module.asarray(values)
    return xp_module.random.random_sample(shape).astype(dtype, copy=False)


def convert_to_array(x, dtype=None):
    """``x`` as an array of the active backend. Arrays keep their dtype (as Keras's
    ``convert_to_tensor``); Python floats and lists of them become floatx."""
    module = xp()
    if dtype is None:
        arr = module.asarray(x)
        if arr.dtype.kind == "f" and not hasattr(x, "dtype") and arr.dtype != _state["floatx"]:
            arr = arr.astype(_state["floatx"])  # (compared without ``dtype.name``, which is slow)
        return arr
    return module.asarray(x, dtype=dtype)


def to_numpy(x):
    """A NumPy array from a numpy/cupy array, a Tensor or anything array-like."""
    if hasattr(x, "value") and not isinstance(x, np.ndarray):
        x = x.value
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def clear_session():
    """Forget automatic layer names (the next Dense is ``dense`` again)."""
    from . import naming
    naming.reset()
