"""Grading the course's nbgrader assignments, and the helpers their notebooks use.

Notebook-facing: :mod:`.plug` turns a student's kernel pair into a minikeras layer,
activation or loss; :mod:`.collect` is what the hidden block of a test cell calls;
:mod:`.data` loads the Fashion-MNIST subsets of ``02_mlp``.

The grader (``./course.sh grade``, :mod:`.run`): every submission runs in bubblewrap
sandboxes (:mod:`.sandbox`, :mod:`.executor`, :mod:`.runtime`), and the verdicts are computed
outside them (:mod:`.worker`, :mod:`.judge`, :mod:`.static`) from each assignment's
``solutions/<assignment>/grading/`` checks and catalogue (:mod:`.catalogue`). nbgrader is
driven per submission (:mod:`.nbgrader_ext`, :mod:`.feedback`). docs/grading.md has the design.

Importing this package imports nothing beyond the student-facing helpers' dependencies.
"""
from . import plug  # noqa: F401
from .guard import KernelBlockedError, library_blocked  # noqa: F401
