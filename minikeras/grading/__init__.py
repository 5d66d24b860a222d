"""Hidden checks and plumbing for the graded notebooks in ``solutions/`` and ``exercises/``.

The test cells of the graded notebooks stay short: each one calls a ``check_*`` function
from :mod:`minikeras.grading.perceptron` or :mod:`minikeras.grading.mlp`. A check draws
fresh random inputs, compares the student's values with minikeras's reference kernels and
the student's gradients with a *numerical* gradient of the reference (never the student's
own forward), runs the student's code with minikeras's kernels switched off, and turns
warnings into failures (a printed warning would silently zero a cell in nbgrader).

:mod:`minikeras.grading.plug` turns a student's kernel pair into a minikeras layer,
activation or loss, so the student can train a model on their own code.
"""
from . import guard, numeric, plug  # noqa: F401
from .guard import KernelBlockedError, library_blocked  # noqa: F401
