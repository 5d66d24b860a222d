"""Matrix product with NumPy's ``matmul`` semantics (batched, vectors promoted and dropped)."""
from ..backend import get_array_module
from .broadcast import unbroadcast


def matmul_forward(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs arrays of rank >= 1, got shapes {a.shape} and {b.shape}.")
    inner = b.shape[-2 if b.ndim > 1 else 0]
    if a.shape[-1] != inner:
        raise ValueError(f"matmul: incompatible shapes {a.shape} and {b.shape} "
                         f"(inner dimensions {a.shape[-1]} and {inner}).")
    return a @ b, (a, b)


def matmul_backward(g, cache, needs):
    a, b = cache
    xp = get_array_module(a, b)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a.ndim == 1:
        g = xp.expand_dims(g, -2)
    if b.ndim == 1:
        g = xp.expand_dims(g, -1)
    ga = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape) if needs[0] else None
    gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape) if needs[1] else None
    return ga, gb
