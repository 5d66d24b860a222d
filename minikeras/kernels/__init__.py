"""Kernels: pure functions on arrays, each forward paired with its backward.

Forward functions return ``(output, cache)``; backward functions take the upstream gradient
and that cache and return the gradients of the inputs (those with several inputs also take
``needs``, which inputs want a gradient, so they can skip work). They never import numpy or
cupy themselves: the array module comes from the arrays they are given, so a kernel serves
the CPU and the GPU alike. They import nothing of minikeras but the bottom level (backend);
``minikeras.ops`` binds each pair into a differentiable op with ``autodiff.function``, and
the graded exercises ask students for these same interfaces.
"""
from ..backend import get_array_module  # noqa: F401  (re-exported for kernel authors)
