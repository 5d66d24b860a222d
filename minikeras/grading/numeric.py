"""Numerical helpers for the checks: fresh random inputs, finite differences, comparisons.

Everything here works on NumPy float64 arrays: the checks move data to NumPy before
calling a student's function, so a gradient check is never limited by float32 rounding.
"""
import contextlib
import secrets
import warnings

import numpy as np

from .. import backend


def fresh_rng():
    """A generator with a new seed on every call (hidden tests never reuse their inputs)."""
    return np.random.default_rng(secrets.randbits(64))


def to_np(a):
    """A NumPy array (CuPy arrays and Tensors are brought to the host)."""
    if a is None:
        return None
    if hasattr(a, "value") and not isinstance(a, np.ndarray):
        a = a.value
    return np.asarray(backend.to_numpy(a))


def numerical_gradient(f, x, upstream, eps=1e-6):
    """d sum(f(x) * upstream) / dx by central differences; ``x`` is changed and restored."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + eps
        plus = np.sum(to_np(f(x)) * upstream)
        flat_x[i] = old - eps
        minus = np.sum(to_np(f(x)) * upstream)
        flat_x[i] = old
        flat_g[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b):
    """max |a - b| / max(1e-8, |a| + |b|), the CS231n measure."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))) if a.size else 0.0


def assert_close(what, got, want, rtol=1e-6, atol=1e-8, hint=""):
    """Shape and value comparison with a message a student can act on."""
    if got is None:
        raise AssertionError(f"{what}: got None, expected an array of shape {np.shape(want)}.")
    got = to_np(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape}, expected {want.shape}. {hint}".rstrip())
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        raise AssertionError(f"{what}: contains NaN or inf where the reference is finite. {hint}".rstrip())
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(got.astype(np.float64) - want)))
        raise AssertionError(f"{what}: values differ from the reference (largest difference {worst:.3g}). "
                             f"{hint}".rstrip())


@contextlib.contextmanager
def strict(label="your code"):
    """Warnings (overflow in exp, divide by zero, ...) become failures with a clear message.

    A warning printed to stderr would make nbgrader give the cell 0 points without saying
    why, so the checks raise instead.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            try:
                yield
            except (FloatingPointError, RuntimeWarning) as exc:
                raise AssertionError(f"{label} produced a floating-point warning ({exc}); "
                                     "use a numerically stable formula.") from None
