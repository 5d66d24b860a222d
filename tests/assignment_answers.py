"""The fixtures of the tests of one assignment's grading pieces: its spec and what a student's
notebook defines (the solution's answer cells)."""
import nbformat
import numpy as np
import pytest

from minikeras.grading import catalogue, judge


def solution_namespace(folder, notebook, **names):
    """The solution's answer cells (all but the training cell), run in one namespace that starts
    with ``np`` and ``names``."""
    nb = nbformat.read(folder / notebook, as_version=4)
    scope = {"np": np, **names}
    for gid, source in catalogue.solution_answers(nb).items():
        if gid != "build_and_train":
            exec(compile(source, gid, "exec"), scope)
    return scope


def assignment_fixtures(folder, notebook, **names):
    """``(array_backend, spec, solution)`` fixtures for a test module of the assignment in
    ``folder``: NumPy only (the assignment's kernels are NumPy code), its loaded spec, and the
    namespace of its solution's answers."""
    @pytest.fixture(autouse=True)
    def array_backend():
        yield "numpy"

    @pytest.fixture(scope="module")
    def spec():
        return judge.load_spec(str(folder))

    @pytest.fixture(scope="module")
    def solution():
        return solution_namespace(folder, notebook, **names)
    return array_backend, spec, solution
