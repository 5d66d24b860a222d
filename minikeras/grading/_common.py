"""Pieces shared by the per-notebook checks."""
import numpy as np

from . import guard
from .numeric import assert_close, numerical_gradient, strict


def run(label, fn, *args, **kwargs):
    """Call a student's function with minikeras switched off and warnings as failures."""
    with strict(f"`{label}`"):
        return guard.call_student(fn, *args, **kwargs)


def unpack_pair(label, result):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError(f"`{label}` must return a pair (output, cache), got {type(result).__name__}.")
    return result


def check_not_mutated(label, before, after):
    for i, (b, a) in enumerate(zip(before, after)):
        if b is not None and not np.array_equal(b, a):
            raise AssertionError(f"`{label}` changed its input argument #{i + 1} in place; compute a new array.")


def check_activation_pair(name, forward, backward, ref_forward, rng, kink=False):
    """Forward values and cache vs the reference, backward vs the reference's numerical gradient."""
    guard.assert_independent(forward, backward)
    shape = (int(rng.integers(2, 6)), int(rng.integers(2, 7)))
    x = rng.normal(scale=3.0, size=shape)
    if kink:  # keep finite differences away from the kink at 0
        x = x + np.where(x >= 0, 0.05, -0.05)
    x_copy = x.copy()
    y, cache = unpack_pair(f"{name}_forward", run(f"{name}_forward", forward, x))
    check_not_mutated(f"{name}_forward", [x_copy], [x])
    want, want_cache = ref_forward(x_copy.copy())
    assert_close(f"{name}_forward(x)", y, want)
    assert_close(f"the cache returned by {name}_forward", cache, want_cache,
                 hint="By minikeras's convention the cache of this activation is its output y.")

    dy = rng.normal(size=shape)
    dx = run(f"{name}_backward", backward, dy.copy(), want_cache)
    num = numerical_gradient(lambda v: ref_forward(v)[0], x_copy.copy(), dy)
    assert_close(f"{name}_backward(dy, cache)", dx, num, rtol=1e-5, atol=1e-7,
                 hint="Compared with a finite-difference gradient of the reference forward.")

    extreme = np.array([[-1000.0, -60.0, -1e-3, 0.5, 60.0, 1000.0]])
    y, cache = unpack_pair(f"{name}_forward", run(f"{name}_forward", forward, extreme.copy()))
    assert_close(f"{name}_forward at |x| up to 1000", y, ref_forward(extreme.copy())[0])
    return True
