"""The Dense kernel: ``activation(x @ kernel + bias)`` in one forward/backward pair.

Fusing the affine map and the activation keeps the training loop to one graph node per
layer; the backward skips the input gradient when nobody needs it (the first layer). Each
product runs on as many BLAS threads as its size repays (``backend.blas_threads_for``).
"""
from . import activations as A
from ..backend import blas_threads_for


def dense_forward(x, kernel, bias=None, activation="linear"):
    """x: (..., in), kernel: (in, units), bias: (units,) or None -> (..., units)."""
    blas_threads_for(2 * x.size * kernel.shape[1])
    z = x @ kernel
    if bias is not None:
        z += bias
    act_forward, _ = A.FUSABLE[activation]
    y, act_cache = act_forward(z)
    return y, (x, kernel, bias is not None, activation, act_cache)


def dense_backward(dy, cache, needs=(True, True, True)):
    """Returns (dx, dkernel, dbias); entries not in ``needs`` are None."""
    x, kernel, has_bias, activation, act_cache = cache
    dz = A.FUSABLE[activation][1](dy, act_cache)
    flat = dz.ndim != 2  # (batch, ..., units): the weight gradients sum over all leading axes
    dz2 = dz.reshape(-1, kernel.shape[1]) if flat else dz
    blas_threads_for(2 * dz.size * kernel.shape[0])  # each of the two products below
    dx = (dz @ kernel.T) if needs[0] else None
    dkernel = ((x.reshape(-1, kernel.shape[0]) if flat else x).T @ dz2) if needs[1] else None
    dbias = dz2.sum(axis=0) if has_bias and len(needs) > 2 and needs[2] else None
    return dx, dkernel, dbias
