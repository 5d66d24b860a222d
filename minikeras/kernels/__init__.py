"""Kernels: pure functions on arrays, each forward paired with its backward.

Forward functions return ``(output, cache)``; backward functions take the upstream
gradient and that cache and return the gradients of the inputs. They never import
numpy or cupy themselves: the array module comes from the arrays they are given, so a
kernel serves the CPU and the GPU alike. The autodiff engine and the graded exercises
both build on these same interfaces.
"""
from ..backend import get_array_module  # noqa: F401  (re-exported for kernel authors)
