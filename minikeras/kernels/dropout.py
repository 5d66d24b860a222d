"""Inverted dropout: zero a fraction ``rate`` of the inputs and scale the rest by 1/(1-rate),
so nothing needs rescaling at inference time."""
from ..backend import get_array_module, random_uniform


def dropout_forward(x, rate, noise_shape=None, generator=None):
    """``generator``: a seeded NumPy Generator for reproducible masks (the global seed otherwise)."""
    xp = get_array_module(x)
    shape = x.shape if noise_shape is None else noise_shape
    keep = random_uniform(shape, xp, dtype=x.dtype, generator=generator) >= rate
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate))
    return x * mask, mask


def dropout_backward(dy, mask):
    return dy * mask
