"""What a graded test cell's hidden block calls: ``collect.task("test_relu", relu_forward=...)``.

Under the grader (``./course.sh grade``) the notebook runs in a sandbox and this function
only *collects*: for a task graded in the notebook's own kernel (one that may use the
library, such as training an MLP) it calls the given objects on the judge's inputs and
writes what they returned to the judge's output folder; tasks graded in the library-free
sandbox are not touched here at all. Nothing it does decides a grade.

Anywhere else (an instructor running ``nbgrader validate`` on the solution notebook, or
"Run All" on it) it checks the task on the spot with the same judge, minikeras's kernels
switched off, and raises ``AssertionError`` with the feedback a student would get.
"""
import os
import resource

from .runtime import calls, wire

JUDGE_DIR = "MINIKERAS_JUDGE_DIR"
SPEC_DIR = "MINIKERAS_GRADING_SPEC"


def task(task_id, **objects):
    judge_dir = os.environ.get(JUDGE_DIR)
    if judge_dir:
        return _collect(judge_dir, task_id, objects)
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        raise RuntimeError("This assignment is graded by `./course.sh grade` (a sandboxed grader); "
                           "plain `nbgrader autograde` cannot grade it safely.")
    return _self_check(task_id, objects)


def _collect(judge_dir, task_id, objects):
    with open(os.path.join(judge_dir, "cases.json")) as f:
        cases = wire.loads(f.read())
    if task_id not in cases:
        return None  # graded from the library-free replay
    data = calls.npy_loader(os.path.join(judge_dir, "data"))
    records = [calls.run_case(case, objects, data=data) for case in cases[task_id]]
    out = os.path.join(judge_dir, "out", task_id + ".json")
    with open(out + ".tmp", "w") as f:
        f.write(wire.dumps(records))
    os.replace(out + ".tmp", out)
    return None


def _find_assignment_dir():
    start = os.environ.get(SPEC_DIR) or os.getcwd()
    here = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(here, "grading", "spec.py")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            raise RuntimeError("No grading/spec.py found next to this notebook (set MINIKERAS_GRADING_SPEC "
                               "to the assignment's folder in solutions/).")
        here = parent


def _self_check(task_id, objects):
    from . import catalogue, guard, judge
    folder = _find_assignment_dir()
    spec = judge.load_spec(folder)
    the_task = spec.TASK_BY_ID[task_id]
    cases = list(the_task.cases(judge.fresh_rng(), the_task))
    files = {}
    for case in cases:
        files.update(getattr(case, "files", None) or {})
    data = (lambda name: files[name].copy())
    blocked = the_task.where == "replay"
    if blocked:
        guard.assert_independent(*[o for o in objects.values() if callable(o)])
    decoded = [wire.decode(wire.encode(c.wire())) for c in cases]
    records = [calls.run_case(c, objects, data=data, guard=guard.library_blocked if blocked else None)
               for c in decoded]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    observed = {"cpu": usage.ru_utime + usage.ru_stime}
    verdict = judge.judge_task(the_task, cases, records, data=data, observed=observed)
    try:
        mistakes = catalogue.load(folder).mistakes
    except (OSError, ValueError):
        mistakes = []
    judge.explain(verdict, the_task, cases, records, mistakes, data=data)
    if not verdict.passed:
        raise AssertionError(verdict.feedback())
    return True
