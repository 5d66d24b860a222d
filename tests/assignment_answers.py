"""What a student's notebook defines, for the tests of an assignment's grading pieces."""
import nbformat
import numpy as np

from minikeras.grading import catalogue


def solution_namespace(folder, notebook, **names):
    """The solution's answer cells (all but the training cell), run in one namespace that starts
    with ``np`` and ``names``."""
    nb = nbformat.read(folder / notebook, as_version=4)
    scope = {"np": np, **names}
    for gid, source in catalogue.solution_answers(nb).items():
        if gid != "build_and_train":
            exec(compile(source, gid, "exec"), scope)
    return scope
