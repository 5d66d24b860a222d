"""The catalogue beside each assignment: typical mistakes and hostile submissions, as data.

``solutions/<assignment>/grading/catalogue.toml`` lists

* ``[[mistake]]`` entries: a plausible wrong answer to one task (the answer cells it
  replaces in the solution), its ``kind`` (boundary, sign, axis, forgotten term, wrong cache,
  hard-coded visible answer, shape-specific, library call, dtype, unstable...), a ``title``
  and a ``hint``. The judge runs them as *mutants* to name a student's mistake, and the
  grading tests submit each one through the real pipeline: it must lose exactly its task
  (or the tasks listed in ``lost``) and be diagnosed by its own hint;
* ``[[hostile]]`` entries: submissions that attack the grader. Each starts from the release
  (``base = "release"``) or the solution, changes cells, adds cells or deletes some, and
  must gain nothing (``lost``, default: every task for a release base) and harm nobody.

:func:`build_submission` turns an entry into the notebook a student would hand in.
"""
import dataclasses
import importlib
import inspect
import os
import re
import textwrap
import tomllib

import nbformat

KINDS = ("boundary", "sign", "axis", "forgotten-term", "wrong-cache", "hard-coded", "shape",
         "library", "dtype", "unstable", "mutation", "budget", "stop-condition", "untrained", "order",
         "interface")


@dataclasses.dataclass
class Mistake:
    id: str
    task: str
    kind: str
    title: str
    hint: str
    cells: dict
    lost: list = None
    symptom: str = None  # diagnose by symptom (timeout, library, warning...) instead of by outputs


@dataclasses.dataclass
class Hostile:
    id: str
    title: str
    base: str = "release"
    cells: dict = dataclasses.field(default_factory=dict)  # grade_id -> new source (any cell)
    insert: dict = dataclasses.field(default_factory=dict)  # grade_id -> source of a new cell after it
    delete: list = dataclasses.field(default_factory=list)  # grade_ids of cells removed
    lost: object = "all"
    flagged: bool = False  # the grader must flag it for review
    timeout: bool = False  # needs a short cell time limit to finish quickly in tests
    budget: bool = False  # exercises a CPU budget (tests lower it)
    root_only: bool = False  # its containment needs per-sandbox uids (grading as root)


@dataclasses.dataclass
class Catalogue:
    assignment: str
    notebook: str
    mistakes: list
    hostile: list

    def mistakes_for(self, task_id):
        return [m for m in self.mistakes if m.task == task_id]


def load(assignment_dir):
    path = os.path.join(assignment_dir, "grading", "catalogue.toml")
    with open(path, "rb") as f:
        data = tomllib.load(f)
    mistakes = [Mistake(**{k: v for k, v in m.items()}) for m in data.get("mistake", [])]
    hostile = [Hostile(**{k: v for k, v in h.items()}) for h in data.get("hostile", [])]
    for m in mistakes:
        if m.kind not in KINDS:
            raise ValueError(f"{path}: mistake {m.id} has unknown kind {m.kind!r} (one of {', '.join(KINDS)})")
    ids = [e.id for e in mistakes + hostile]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate ids")
    return Catalogue(os.path.basename(os.path.normpath(assignment_dir)), data["notebook"], mistakes, hostile)


# ------------------------------------------------------------------ building submissions

def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def strip_solution(source):
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def solution_answers(solution_nb):
    return {_meta(c)["grade_id"]: strip_solution(c.source) for c in solution_nb.cells if _meta(c).get("solution")}


SOURCE = re.compile(r"\{\{source:([\w.]+)\}\}")


def expand(source):
    """Replace ``{{source:module.function}}`` by that function's current source code."""
    def repl(match):
        module, _, name = match.group(1).rpartition(".")
        return textwrap.dedent(inspect.getsource(getattr(importlib.import_module(module), name)))
    return SOURCE.sub(repl, source)


def build_submission(release_nb, solution_nb, base="solution", cells=None, insert=None, delete=()):
    """A copy of the release notebook as a student would hand it in."""
    nb = nbformat.from_dict(release_nb)
    answers = solution_answers(solution_nb) if base == "solution" else {}
    cells, insert = cells or {}, insert or {}
    out = []
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if gid in delete:
            continue
        if gid in cells:
            cell.source = expand(cells[gid]).strip("\n")
        elif gid in answers:
            cell.source = answers[gid]
        out.append(cell)
        if gid in insert:
            out.append(nbformat.v4.new_code_cell(expand(insert[gid]).strip("\n")))
    missing = set(cells) | set(insert) | set(delete)
    missing -= {_meta(c).get("grade_id") for c in nb.cells}
    if missing:
        raise KeyError(f"no cells with grade_id {sorted(missing)}")
    nb.cells = out
    return nb


def mistake_submission(entry, release_nb, solution_nb):
    return build_submission(release_nb, solution_nb, "solution", cells=entry.cells)


def hostile_submission(entry, release_nb, solution_nb):
    return build_submission(release_nb, solution_nb, entry.base, entry.cells, entry.insert, entry.delete)
