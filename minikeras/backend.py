"""The array backend: which array module runs the kernels, the float policy, seeding, and
the CPU's threads and memory.

Everything above this module asks it for arrays; kernels themselves never import numpy
or cupy but take ``xp`` from the arrays they receive (``get_array_module``), so the same
code runs on the CPU and on a GPU.
"""
import contextlib
import ctypes
import os
import random as _pyrandom
import sys
import threading
import time

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


# ---------------------------------------------------------------- CPU threads
#
# One number, ``num_threads()``, says how many cores minikeras may use on the CPU. The big
# kernels (convolution, pooling, normalization, recurrent layers) split a batch into chunks
# and run them on that many threads of their own (``kernels.parallel``), each calling BLAS on
# one thread. A Dense layer's matrix products use BLAS's own threads instead, as many as
# ``num_threads()`` for a product big enough to gain from them and one for a small product
# (``blas_threads_for``). BLAS is steered through threadpoolctl when it is installed (it comes
# with scikit-learn); without it, BLAS keeps its own setting and the chunked kernels that call
# BLAS run their chunks one after the other.
#
# Why not BLAS's threads everywhere: OpenBLAS's threads wait for work by spinning for about a
# tenth of a second after every multi-threaded call, so they would take the cores that the
# chunked kernels need (a third more CPU time per CNN step, measured), and its small products
# synchronise on every call, which on a busy machine means waiting for a descheduled thread.
# That is also why minikeras counts only the cores other programs leave free
# (``usable_threads``): on a machine whose cores are all busy, a product that waits for a
# second thread at every call runs ten times slower than on one thread.

_THREAD_VARIABLES = ("MINIKERAS_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _threads_from_environment():
    """MINIKERAS_NUM_THREADS, else the variables BLAS itself reads, else every core we may use."""
    for name in _THREAD_VARIABLES:
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return _available_cores()


_threads = {"n": _threads_from_environment(), "blas": None, "depth": 0, "current": None}
_blas_lock = threading.Lock()


def num_threads():
    """How many CPU threads minikeras uses (``set_num_threads``; by default the
    ``MINIKERAS_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS`` variable, else every core)."""
    return _threads["n"]


def set_num_threads(n):
    """Use ``n`` CPU threads from now on (as ``torch.set_num_threads``); 1 makes every kernel
    and matrix product single-threaded, which is best when several programs share the cores."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}.")
    _threads["n"] = int(n)
    _set_blas_threads(int(n))


def _blas_libraries():
    """threadpoolctl's handles on the BLAS NumPy calls ([] without threadpoolctl)."""
    if _threads["blas"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _threads["blas"] = []
            return _threads["blas"]
        libs = ThreadpoolController().select(user_api="blas").lib_controllers
        try:  # only NumPy's BLAS, not the copies other packages (PyTorch's MKL) bring along
            name = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"].lower()
            ours = [lib for lib in libs if lib.internal_api in name]
            libs = ours or libs
        except Exception:  # an unusual NumPy build: steer every BLAS
            pass
        _threads["blas"] = libs
        _threads["current"] = libs[0].get_num_threads() if libs else None
    return _threads["blas"]


def can_steer_blas():
    """True when minikeras can choose BLAS's thread count per call (threadpoolctl is installed)."""
    return bool(_blas_libraries())


_cpu_sample = {"time": None, "busy": 0.0, "ours": 0.0, "others": 0.0}
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_elsewhere():
    """Cores' worth of CPU time the rest of the machine used lately (from Linux's /proc/stat,
    sampled at most four times a second; 0 where it cannot be read)."""
    now = time.monotonic()
    if _cpu_sample["time"] is not None and now - _cpu_sample["time"] < 0.25:
        return _cpu_sample["others"]
    try:
        with open("/proc/stat", "rb") as fh:
            fields = [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    busy = (sum(fields) - fields[3] - fields[4]) / _TICKS  # all but idle and iowait
    times = os.times()
    ours = times.user + times.system
    if _cpu_sample["time"] is not None:
        _cpu_sample["others"] = max(0.0, (busy - _cpu_sample["busy"]) - (ours - _cpu_sample["ours"])) / (now - _cpu_sample["time"])
    _cpu_sample.update(time=now, busy=busy, ours=ours)
    return _cpu_sample["others"]


def usable_threads():
    """``num_threads()``, less the cores other programs are keeping busy (at least one)."""
    n = _threads["n"]
    if n == 1:
        return 1
    return max(1, min(n, round(_available_cores() - _busy_elsewhere())))


def _set_blas_threads(n):
    libs = _blas_libraries()
    if libs and _threads["current"] != n:
        for lib in libs:
            lib.set_num_threads(n)
        _threads["current"] = n


def blas_threads_for(flops):
    """Before a matrix product of ``flops`` floating-point operations: BLAS on one thread below
    ``THREADED_GEMM_FLOPS`` (starting and synchronising threads would cost more than they save),
    on ``num_threads()`` above. Inside a chunked kernel it stays at one."""
    if _threads["depth"] == 0:
        _set_blas_threads(usable_threads() if flops >= THREADED_GEMM_FLOPS else 1)


THREADED_GEMM_FLOPS = 4e6


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS on one thread while the chunks of a parallel kernel run on minikeras's own threads
    (and after them, until a product big enough asks for more: see ``blas_threads_for``)."""
    with _blas_lock:
        if _threads["depth"] == 0:
            _set_blas_threads(1)
        _threads["depth"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _threads["depth"] -= 1


# ---------------------------------------------------------------- CPU memory


def _keep_freed_memory():
    """Let glibc keep freed memory for the next training step instead of returning it.

    By default glibc hands every block of more than 128 KB-32 MB back to the operating system
    when it is freed, so each step's activations and gradients come back as fresh pages that
    the kernel must fault in and zero: about a sixth of a CNN training step on two cores.
    With a fixed 32 MiB mmap threshold and a 256 MiB trim threshold, freed blocks are reused
    (peak memory is unchanged; arrays over 32 MiB, such as data sets, still go back). A user's
    own ``MALLOC_*_`` environment variables win; other C libraries are left alone.
    """
    if not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 256 << 20))


KEEPS_FREED_MEMORY = _keep_freed_memory()
