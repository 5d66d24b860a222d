"""Elementwise kernels: arithmetic with NumPy broadcasting, and unary math.

Every ``*_forward(...)`` returns ``(out, cache)``; every ``*_backward(grad, cache, needs)``
returns one gradient per array input (None where ``needs`` says nobody wants it). Gradients
of broadcast operands are summed back to the operand's shape (``unbroadcast``).
"""
from ..backend import get_array_module
from .broadcast import unbroadcast


def add_forward(a, b):
    return a + b, (a.shape, b.shape)


def add_backward(g, shapes, needs):
    return (unbroadcast(g, shapes[0]) if needs[0] else None,
            unbroadcast(g, shapes[1]) if needs[1] else None)


def subtract_forward(a, b):
    return a - b, (a.shape, b.shape)


def subtract_backward(g, shapes, needs):
    return (unbroadcast(g, shapes[0]) if needs[0] else None,
            unbroadcast(-g, shapes[1]) if needs[1] else None)


def multiply_forward(a, b):
    return a * b, (a, b)


def multiply_backward(g, cache, needs):
    a, b = cache
    return (unbroadcast(g * b, a.shape) if needs[0] else None,
            unbroadcast(g * a, b.shape) if needs[1] else None)


def divide_forward(a, b):
    return a / b, (a, b)


def divide_backward(g, cache, needs):
    a, b = cache
    return (unbroadcast(g / b, a.shape) if needs[0] else None,
            unbroadcast(-g * a / (b * b), b.shape) if needs[1] else None)


def power_forward(a, b):
    out = a ** b
    return out, (a, b, out)


def power_backward(g, cache, needs):
    a, b, out = cache
    ga = unbroadcast(g * b * a ** (b - 1), a.shape) if needs[0] else None
    gb = None
    if needs[1]:  # d(a^b)/db = a^b log(a), taken as 0 where a <= 0
        xp = get_array_module(a)
        gb = unbroadcast(g * out * xp.log(xp.where(a > 0, a, 1)), b.shape)
    return ga, gb


def maximum_forward(a, b):
    pick_a = a >= b  # ties go to the first operand
    return get_array_module(a, b).maximum(a, b), (pick_a, a.shape, b.shape)


def minimum_forward(a, b):
    pick_a = a <= b
    return get_array_module(a, b).minimum(a, b), (pick_a, a.shape, b.shape)


def pick_backward(g, cache, needs):
    """Backward of maximum/minimum: the gradient goes to the operand that was picked."""
    pick_a, sa, sb = cache
    return (unbroadcast(g * pick_a, sa) if needs[0] else None,
            unbroadcast(g * ~pick_a, sb) if needs[1] else None)


def where_forward(condition, a, b):
    """``condition`` is a boolean array (never differentiated)."""
    return get_array_module(a, b).where(condition, a, b), (condition, a.shape, b.shape)


def where_backward(g, cache, needs):
    condition, sa, sb = cache
    return (None, unbroadcast(g * condition, sa) if needs[1] else None,
            unbroadcast(g * ~condition, sb) if needs[2] else None)


# ---------------------------------------------------------------- unary


def negative_forward(x):
    return -x, None


def negative_backward(g, cache, needs):
    return (-g,)


def square_forward(x):
    return x * x, x


def square_backward(g, x, needs):
    return (2 * g * x,)


def sqrt_forward(x):
    out = get_array_module(x).sqrt(x)
    return out, out


def sqrt_backward(g, out, needs):
    return (g / (2 * out),)


def exp_forward(x):
    out = get_array_module(x).exp(x)
    return out, out


def exp_backward(g, out, needs):
    return (g * out,)


def log_forward(x):
    return get_array_module(x).log(x), x


def log_backward(g, x, needs):
    return (g / x,)


def log1p_forward(x):
    return get_array_module(x).log1p(x), x


def log1p_backward(g, x, needs):
    return (g / (1 + x),)


def abs_forward(x):
    return get_array_module(x).abs(x), x


def abs_backward(g, x, needs):
    return (g * get_array_module(x).sign(x),)


def clip_forward(x, x_min, x_max):
    inside = (x >= x_min) & (x <= x_max)
    return get_array_module(x).clip(x, x_min, x_max), inside


def clip_backward(g, inside, needs):
    return (g * inside,)


def cast_forward(x, dtype):
    return x.astype(dtype), x.dtype


def cast_backward(g, source_dtype, needs):
    return (g.astype(source_dtype),)
