"""The graded assignments through the real pipeline: nbgrader plus ``./course.sh grade``.

Assignments are discovered from ``solutions/*/grading/spec.py``; what is submitted comes
from each assignment's ``grading/catalogue.toml`` (nothing is written here per assignment):

* alice: the solution (full marks, graded alone first: its log must show no warning);
* bob: the untouched release (zero);
* ``round<k>``: the solution with one catalogued mistake in each task (tasks are graded
  independently, so k rounds carry the whole catalogue; a mistake that hangs gets a round of
  its own): every mistake must cost exactly its task, and be named by its own hint;
* ``h-<id>``: every hostile submission: it must gain nothing, be flagged when the catalogue
  says so, and harm nobody (course files, other submissions and the gradebook unchanged,
  alice graded in parallel with them still full marks).

Everything runs in bubblewrap sandboxes, two workers, with short time limits (a cell gets 8 s;
the CPU budgets of the notebook-graded tasks are lowered, ``BUDGETS``; an assignment's spec may
set its own cell limit and budgets in ``TEST_LIMITS``, as 03_cnn does for its CNN). It skips where
nbgrader or bwrap cannot run, and an assignment that trains on Fashion-MNIST skips where that data
set is not installed.
"""
import collections
import csv
import glob
import hashlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

pytest.importorskip("nbgrader")

from minikeras.grading import catalogue, guard, judge, sandbox, static  # noqa: E402
from minikeras.grading.runtime import calls, wire  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.parent.parent.name for p in ROOT.glob("solutions/*/grading/spec.py"))
TIMEOUT, GRACE, MLP_BUDGET = 8, 2, 10
BUDGETS = {"test_mlp": MLP_BUDGET, "test_sequence_model": 6}  # task -> CPU seconds in these tests
STATE = ("autograded", "feedback", ".grading", "gradebook.db", "grades.csv")


@pytest.fixture(autouse=True)
def array_backend():
    """Overrides conftest's per-backend parametrisation: grading runs its own processes."""
    yield "numpy"


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def _notebook(kind, assignment):
    spec = judge.load_spec(str(ROOT / "solutions" / assignment))
    return nbformat.read(ROOT / kind / assignment / spec.NOTEBOOK, as_version=4)


# -------------------- no pipeline needed

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_is_a_task_of_the_spec(assignment):
    spec = judge.load_spec(str(ROOT / "solutions" / assignment))
    nb = _notebook("solutions", assignment)
    grade_cells = [c for c in nb.cells if _meta(c).get("grade")]
    assert {_meta(c)["grade_id"] for c in grade_cells} == set(spec.TASK_BY_ID)
    for cell in grade_cells:
        gid = _meta(cell)["grade_id"]
        hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        assert f'collect.task("{gid}"' in hidden, gid  # the hidden block only collects
        last = cell.source.strip().splitlines()[-1]
        assert last.startswith(("print(", "assert ")), f"test cells must not end with an expression: {last!r}"
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs in solutions/"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_covers_every_task(assignment):
    cat = catalogue.load(str(ROOT / "solutions" / assignment))
    spec = judge.load_spec(str(ROOT / "solutions" / assignment))
    counts = collections.Counter(m.task for m in cat.mistakes)
    assert set(counts) == set(spec.TASK_BY_ID)
    assert min(counts.values()) >= 4, counts
    answer_cells = {_meta(c)["grade_id"] for c in _notebook("solutions", assignment).cells if _meta(c).get("solution")}
    for m in cat.mistakes:
        assert set(m.cells) <= answer_cells, m.id
    print(f"\n{assignment}: {len(cat.mistakes)} catalogued mistakes, {len(cat.hostile)} hostile submissions")


def test_catalogue_kinds_cover_the_list_of_the_issue():
    kinds = {m.kind for a in ASSIGNMENTS for m in catalogue.load(str(ROOT / "solutions" / a)).mistakes}
    assert {"boundary", "sign", "axis", "forgotten-term", "wrong-cache", "hard-coded", "shape", "library"} <= kinds


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_passes_its_own_checks_and_inputs_are_fresh(assignment):
    spec = judge.load_spec(str(ROOT / "solutions" / assignment))
    first, second = judge.make_cases(spec), judge.make_cases(spec)
    for task in spec.TASKS:
        if task.where != "replay":
            continue
        verdict = judge.judge_task(task, first[task.id], judge.reference_records(task, first[task.id]))
        assert verdict.passed, (task.id, verdict.message)
    assert judge.wire_cases(first, "replay", spec) != judge.wire_cases(second, "replay", spec)
    assert judge.wire_cases(judge.make_cases(spec, seed=5)) == judge.wire_cases(judge.make_cases(spec, seed=5))


def test_wire_round_trip_and_refusals():
    value = (np.arange(6, dtype=np.float32).reshape(2, 3), [1, 2.5, float("nan")], {"a": None, "b": True},
             np.float64(3.5), "text", np.zeros((0, 4), dtype=np.int64))
    back = wire.loads(wire.dumps(value))
    assert back[0].dtype == np.float32 and np.array_equal(back[0], value[0])
    assert back[1][:2] == [1, 2.5] and np.isnan(back[1][2]) and back[2] == {"a": None, "b": True}
    assert isinstance(back[3], np.float64) and back[4] == "text" and back[5].shape == (0, 4)
    assert isinstance(wire.loads(wire.dumps(object())), wire.Unsupported)  # never pickled
    assert isinstance(wire.loads(wire.dumps(np.array([object()]))), wire.Unsupported)
    for bad in ('{"$a": "|O", "s": [1], "b": ""}', '{"$a": "<f8", "s": [4], "b": "AAAA"}', '{"x": 1}',
                '{"$a": "<f8", "s": [100000000, 100000000], "b": ""}'):
        with pytest.raises(wire.WireError):
            wire.loads(bad)


def test_calls_record_errors_warnings_and_in_place_changes():
    def overflow(x):
        return np.exp(x)

    def in_place(x):
        x += 1
        return x

    case = {"steps": [{"fn": "overflow", "args": [np.array([1000.0])]}, {"fn": "in_place", "args": [np.ones(2)]},
                      {"fn": "missing", "args": []}, {"fn": "in_place", "args": [wire.OutRef([1])]}]}
    records = calls.run_case(case, {"overflow": overflow, "in_place": in_place})
    assert records[0]["error"]["type"] == "FloatingPointError"
    assert records[1]["mutated"] == [0] and records[2] == {"missing": "missing"}
    assert np.array_equal(records[3]["ok"], [3.0, 3.0])  # an earlier step's own result


def test_copied_and_recompiled_kernels_are_recognised_by_contents():
    import inspect
    import types

    from minikeras.kernels import activations as A
    copy = types.FunctionType(A.sigmoid_forward.__code__, dict(A.__dict__), "mine")
    scope = dict(A.__dict__)
    exec(compile(inspect.getsource(A.softmax_forward).replace("softmax_forward", "smax"), "<student>", "exec"), scope)
    assert guard.matches_library(copy.__code__) and guard.matches_library(scope["smax"].__code__)
    with pytest.raises(guard.KernelBlockedError):
        with guard.library_blocked():
            copy(np.ones(3))
    with pytest.raises(guard.KernelBlockedError):
        with guard.library_blocked():
            scope["smax"](np.ones((2, 3)))

    def honest(x):
        y = np.maximum(x, 0)
        return y, y
    with guard.library_blocked():
        assert np.array_equal(honest(np.array([-1.0, 2.0]))[0], [0.0, 2.0])
    assert not guard.matches_library(honest.__code__)


def test_static_scan_flags_attacks_and_copies_but_not_honest_answers():
    honest = _notebook("solutions", ASSIGNMENTS[0])
    cells = [(_meta(c).get("grade_id", "?"), catalogue.strip_solution(c.source)) for c in honest.cells
             if c.cell_type == "code" and not (_meta(c).get("locked") and not _meta(c).get("solution"))]
    assert static.scan(cells) == ([], [])
    copies, signs = static.scan([("x", "%time 1 + 1\n!ls\n")])
    assert copies == [] and signs == []  # IPython syntax is not an attack
    pasted = catalogue.expand("def get_array_module(x):\n    return np\n\n\n"
                              "{{source:minikeras.kernels.activations.softmax_forward}}")
    copies, _ = static.scan([("softmax", pasted)])
    assert copies and copies[0][1] == "softmax_forward"
    _, signs = static.scan([("a", "get_ipython().set_custom_exc((Exception,), f)"),
                            ("b", "import sqlite3\nsqlite3.connect('../../../gradebook.db')"),
                            ("c", "from minikeras.grading import collect\ncollect.task = print")])
    assert {label for label, _ in signs} == {"a", "b", "c"}


def test_feedback_hides_only_test_cells_hidden_blocks():
    from minikeras.grading.feedback import HideHiddenTests
    nb = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS  (a student's comment)\nx = 1",
                                       metadata={"nbgrader": {"solution": True, "grade": False}})
    test = nbformat.v4.new_code_cell("assert x\n### BEGIN HIDDEN TESTS\ncheck_secretly(x)\n### END HIDDEN TESTS\n",
                                     metadata={"nbgrader": {"grade": True, "solution": False}})
    test.outputs = [nbformat.v4.new_output("error", ename="E", evalue="e",
                                           traceback=["----> 3 check_secretly(x)", "E: e"])]
    nb.cells = [answer, test]
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert "check_secretly" not in json.dumps(nb) and "a student's comment" in nb.cells[0].source


# -------------------- the sandbox itself

def _need_sandbox():
    ok, why = sandbox.probe()
    if not ok:
        pytest.skip(why)


PROBE = r"""
import json, os, socket, sys
out = {"uid": os.getuid(), "root": sorted(os.listdir("/")), "pids": len([p for p in os.listdir("/proc") if p.isdigit()])}
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2); out["net"] = True
except OSError:
    out["net"] = False
for path in (sys.prefix + "/planted", "/usr/planted", os.environ["COURSE"] + "/planted", "/home/student/ok"):
    try:
        open(path, "w").write("x"); out[path] = "written"
    except OSError as exc:
        out[path] = exc.strerror
out["course"] = os.path.exists(os.environ["COURSE"] + "/gradebook.db")
import mypkg
out["package"] = mypkg.VALUE
out["beside_package"] = sorted(os.listdir(os.environ["COURSE"] + "/pkg"))
out["datasets"] = os.listdir("/usr/share/datasets") if os.path.isdir("/usr/share/datasets") else []
try:
    bytearray(3 << 30); out["memory"] = "allocated"
except MemoryError:
    out["memory"] = "refused"
kids = 0
try:
    for _ in range(500):
        if os.fork() == 0:
            import time; time.sleep(5); os._exit(0)
        kids += 1
except OSError:
    pass
out["forks"] = kids
print(json.dumps(out))
"""


def test_sandbox_isolates_a_process(tmp_path):
    _need_sandbox()
    course = tmp_path / "course"
    (course / "home").mkdir(parents=True)
    (course / "gradebook.db").write_text("secret")
    (course / "pkg" / "mypkg").mkdir(parents=True)
    (course / "pkg" / "mypkg" / "__init__.py").write_text("VALUE = 42\n")
    (course / "pkg" / "solutions.txt").write_text("secret")
    box = sandbox.Sandbox(sandbox.Limits(memory_mb=1024, processes=32))
    box.packages = [str(course / "pkg" / "mypkg")]
    box.bind("home", course / "home", "/home/student", writable=True)
    box.prepare_writable(course / "home")
    box.env = {"COURSE": str(course)}
    proc = box.popen([sys.executable, "-c", PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    sandbox.kill_tree(proc)
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["net"] is False and result["course"] is False and result["datasets"] == []
    assert result["package"] == 42 and result["beside_package"] == ["mypkg"]
    assert result["/home/student/ok"] == "written" and (course / "home" / "ok").exists()
    assert result[sys.prefix + "/planted"] != "written" and result["/usr/planted"] != "written"
    assert not (course / "planted").exists()  # (a folder of that name inside is the sandbox's own tmpfs)
    assert result["memory"] == "refused"
    assert result["pids"] < 10 and result["uid"] != 0
    if os.geteuid() == 0:  # per-sandbox process limit (without root it is per user: docs/grading.md)
        assert result["forks"] < 32
    assert set(result["root"]) <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev",
                                   "tmp", "home", str(sys.prefix).split("/")[1], str(sys.base_prefix).split("/")[1],
                                   str(ROOT).split("/")[1]}


# -------------------- the pipeline

def run_cli(course, *args, timeout=1800, check=True):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
               OPENBLAS_NUM_THREADS="1", MINIKERAS_OFFLINE="1")
    env.pop("NBGRADER_EXECUTION", None)
    proc = subprocess.run([sys.executable, *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=timeout)
    log = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, f"{' '.join(args)} failed:\n{log[-6000:]}"
    return log


def nbgrader(course, *args, **kw):
    return run_cli(course, "-m", "nbgrader", *args, **kw)


def grading_limits(assignment):
    """(cell timeout, {task: CPU budget}) for the tests: short, so that hanging submissions cost little."""
    limits = getattr(judge.load_spec(str(ROOT / "solutions" / assignment)), "TEST_LIMITS", {})
    return limits.get("timeout", TIMEOUT), dict(BUDGETS, **limits.get("budgets", {}))


def grade(course, assignment, *extra, **kw):
    timeout, budgets = grading_limits(assignment)
    budget_args = [a for task, seconds in budgets.items() for a in ("--cpu-budget", f"{task}={seconds}")]
    return run_cli(course, "-m", "minikeras.grading.run", assignment, "--workers", "2", "--timeout", str(timeout),
                   "--grace", str(GRACE), *budget_args, *extra, **kw)


def mistake_rounds(cat):
    """Rounds of at most one mistake per task; a mistake that hangs goes alone. A mistake that costs
    more tasks (``lost``) shares its round only with mistakes of tasks outside that set, so that
    every lost task is still explained by the round's declared losses."""
    hangs = [m for m in cat.mistakes if m.symptom == "timeout"]
    rounds = []
    for m in sorted((m for m in cat.mistakes if m not in hangs), key=lambda m: -len(m.lost or [m.task])):
        lost = set(m.lost or [m.task])
        for r in rounds:
            tasks = {o.task for o in r}
            if m.task not in tasks and not (lost - {m.task}) & tasks and \
                    not any(m.task in set(o.lost or [o.task]) for o in r):
                r.append(m)
                break
        else:
            rounds.append([m])
    return rounds + [[m] for m in hangs]


def needs_fashion(assignment):
    """Whether the data the assignment ships to its sandboxes is a Fashion-MNIST subset."""
    prepare = getattr(judge.load_spec(str(ROOT / "solutions" / assignment)), "prepare_shared", None)
    return prepare is not None and "fashion" in inspect.getsource(prepare)


def fashion_available():
    from minikeras.datasets import _files, fashion_mnist
    return all(_files.find(spec, fashion_mnist.SUBDIRS) for spec in fashion_mnist.FILES.values())


def snapshot(folder, skip=STATE):
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in skip or rel.name.startswith("grades-") or "__pycache__" in rel.parts or not path.is_file():
            continue
        out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    _need_sandbox()
    assignments = [a for a in ASSIGNMENTS if not needs_fashion(a) or fashion_available()]
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", course / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    info = {"dir": course, "assignments": assignments, "subs": {}, "logs": {}}
    for assignment in assignments:
        nbgrader(course, "generate_assignment", assignment)
        cat = catalogue.load(str(course / "solutions" / assignment))
        release = nbformat.read(course / "exercises" / assignment / cat.notebook, as_version=4)
        solution = nbformat.read(course / "solutions" / assignment / cat.notebook, as_version=4)
        subs = {"alice": ("solution", None), "bob": ("release", None)}
        notebooks = {"alice": catalogue.build_submission(release, solution),
                     "bob": catalogue.build_submission(release, solution, base="release")}
        for k, entries in enumerate(mistake_rounds(cat)):
            cells = {}
            for m in entries:
                assert not set(cells) & set(m.cells), f"two mistakes of round {k} change the same cell"
                cells.update(m.cells)
            notebooks[f"round{k}"] = catalogue.build_submission(release, solution, cells=cells)
            subs[f"round{k}"] = ("mistakes", entries)
        for h in cat.hostile:
            if h.root_only and os.geteuid() != 0:
                continue
            notebooks[f"h-{h.id}"] = catalogue.hostile_submission(h, release, solution)
            subs[f"h-{h.id}"] = ("hostile", h)
        for student, nb in notebooks.items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / cat.notebook)
            (folder / "timestamp.txt").write_text("2025-01-15 12:00:00.000000 UTC")
        info["subs"][assignment] = subs
    info["before"] = snapshot(course)
    info["package_before"] = snapshot(ROOT / "minikeras", skip=())
    for assignment in assignments:
        start = time.monotonic()
        info["logs"][(assignment, "alice")] = grade(course, assignment, "--student", "alice")
        info["logs"][(assignment, "all")] = grade(course, assignment)
        info["logs"][(assignment, "again")] = grade(course, assignment)
        info.setdefault("seconds", {})[assignment] = time.monotonic() - start
        nbgrader(course, "generate_feedback", assignment)
    nbgrader(course, "export")
    return info


def record(course, assignment, student):
    with open(course["dir"] / ".grading" / assignment / "done" / f"{student}.json") as f:
        return json.load(f)


def lost_tasks(rec):
    return {t for t, (score, max_score) in rec["tasks"].items() if score != max_score}


def assignments_of(course, wanted=None):
    if wanted and wanted not in course["assignments"]:
        pytest.skip(f"{wanted} needs Fashion-MNIST, which is not on this machine")
    return course["assignments"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_and_no_warning(course, assignment):
    assignments_of(course, assignment)
    rec = record(course, assignment, "alice")
    assert rec["score"] == rec["max_score"] > 0 and not rec["flags"]
    log = course["logs"][(assignment, "alice")]
    assert "WARNING" not in log.upper() and "Warning" not in log, log  # no checksum, database or config noise


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(course, assignment):
    assignments_of(course, assignment)
    rec = record(course, assignment, "bob")
    assert rec["score"] == 0 and not rec["flags"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_mistake_loses_exactly_its_task_and_is_named(course, assignment):
    assignments_of(course, assignment)
    named, total, missed, problems = 0, 0, 0, []
    for student, (kind, entries) in course["subs"][assignment].items():
        if kind != "mistakes":
            continue
        rec = record(course, assignment, student)
        want = set().union(*(set(m.lost or [m.task]) for m in entries))
        if lost_tasks(rec) != want:
            missed += len(want - lost_tasks(rec))
            problems.append(f"{student}: lost {sorted(lost_tasks(rec))}, expected {sorted(want)}")
        for m in entries:
            total += 1
            got = rec["verdicts"][m.task]["mistake"]
            named += got == m.id
            if got != m.id:
                problems.append(f"{m.id}: diagnosed as {got}")
        assert not rec["flags"], (student, rec["flags"])
    print(f"\n{assignment}: {total} catalogued mistakes, caught {total - missed}/{total}, "
          f"right hint {named}/{total} ({named / total:.0%})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hostile_submissions_gain_nothing(course, assignment):
    assignments_of(course, assignment)
    spec = judge.load_spec(str(ROOT / "solutions" / assignment))
    held, problems = 0, []
    for student, (kind, h) in course["subs"][assignment].items():
        if kind != "hostile":
            continue
        rec = record(course, assignment, student)
        want = set(spec.TASK_BY_ID) if h.lost == "all" else set(h.lost)
        ok = lost_tasks(rec) == want and bool(rec["flags"]) == h.flagged
        held += ok
        if not ok:
            problems.append(f"{h.id}: lost {sorted(lost_tasks(rec))} (expected {sorted(want)}), flags {rec['flags']}")
    print(f"\n{assignment}: hostile submissions held {held}/{held + len(problems)}")
    assert not problems, "\n".join(problems)


def test_hostile_submissions_harm_nobody(course):
    from nbgrader.api import Gradebook
    assert snapshot(course["dir"]) == course["before"]  # course root, solutions/, exercises/, submissions
    assert snapshot(ROOT / "minikeras", skip=()) == course["package_before"]
    assert not list(course["dir"].rglob("planted*")) and not list((ROOT / "minikeras").rglob("planted*"))
    with Gradebook(f"sqlite:///{course['dir'] / 'gradebook.db'}", course_id="minikeras-dl") as gb:
        for assignment in course["assignments"]:
            for sub in gb.assignment_submissions(assignment):
                for nb in sub.notebooks:
                    for g in nb.grades:
                        assert g.extra_credit is None, (sub.student.id, g.name)
            cells = {c.name: c.max_score for nb in gb.find_assignment(assignment).notebooks for c in nb.grade_cells}
            points = {_meta(c)["grade_id"]: _meta(c)["points"] for c in _notebook("solutions", assignment).cells
                      if _meta(c).get("grade")}
            assert cells == points


def test_rerun_keeps_what_was_graded(course):
    for assignment in course["assignments"]:
        n = len(course["subs"][assignment])
        assert f"{n} submissions, 1 already graded" in course["logs"][(assignment, "all")]
        assert f"{n} submissions, {n} already graded, 0 to grade" in course["logs"][(assignment, "again")]


def test_feedback_export_and_csv(course):
    for assignment in course["assignments"]:
        for student in course["subs"][assignment]:
            html = next((course["dir"] / "feedback" / student / assignment).glob("*.html")).read_text()
            assert "collect.task(" not in html and "END HIDDEN" not in html, student  # no hidden block
            assert ("BEGIN HIDDEN" in html) == (student == "h-marker-comment"), student  # only its own comment
            assert "<script>alert" not in html, student
            if student == "h-print-secrets":
                assert "dz_rows = dz.reshape(-1, units)" not in html  # another assignment's solution
        graded = next((course["dir"] / "autograded" / "alice" / assignment).glob("*.ipynb"))
        assert "[graded outside your notebook]" in graded.read_text()
        with open(course["dir"] / f"grades-{assignment}.csv", newline="") as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
        assert set(rows) == set(course["subs"][assignment])
        assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"])
        print(f"\n{assignment}: {len(rows)} submissions graded in {course['seconds'][assignment]:.0f} s "
              f"(mean {np.mean([float(r['seconds']) for r in rows.values()]):.1f} s each, 2 workers)")
    with open(course["dir"] / "grades.csv", newline="") as f:
        exported = list(csv.DictReader(f))
    assert {r["student_id"] for r in exported} >= {"alice", "bob"}


def test_huge_output_is_capped(course):
    if "h-huge-output" not in course["subs"].get("01_perceptron", {}):
        pytest.skip("no huge-output submission")
    graded = next((course["dir"] / "autograded" / "h-huge-output" / "01_perceptron").glob("*.ipynb"))
    outputs = json.dumps([c.get("outputs", []) for c in nbformat.read(graded, as_version=4).cells])
    assert graded.stat().st_size < 5_000_000 and "<script>" not in outputs and "text/html" not in outputs


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_exercises_match_the_solutions(course, assignment):
    """exercises/ must be what generate_assignment makes from solutions/ today."""
    assignments_of(course, assignment)
    fresh = course["dir"] / "exercises" / assignment
    committed = ROOT / "exercises" / assignment
    names = sorted(p.name for p in fresh.iterdir())
    assert sorted(p.name for p in committed.iterdir() if p.name != ".ipynb_checkpoints") == names, (
        "regenerate exercises/ (see docs/instructor.md)")
    keep = ("grade", "solution", "locked", "points", "grade_id")
    for name in names:
        a, b = nbformat.read(fresh / name, as_version=4), nbformat.read(committed / name, as_version=4)
        comparable = [[(c.cell_type, c.source, {k: _meta(c).get(k) for k in keep}) for c in nb.cells] for nb in (a, b)]
        assert comparable[0] == comparable[1], f"exercises/{assignment}/{name} is stale; regenerate it"
        text = json.dumps(b.dict())
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text and "collect.task" not in text


def test_interrupted_run_keeps_its_results(tmp_path):
    """Ctrl-C after the first graded submission; the second run grades only the rest."""
    _need_sandbox()
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / "01_perceptron", course / "solutions" / "01_perceptron",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    nbgrader(course, "generate_assignment", "01_perceptron")
    release = nbformat.read(course / "exercises" / "01_perceptron" / "perceptron.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / "01_perceptron" / "perceptron.ipynb", as_version=4)
    for student in ("s1", "s2", "s3", "s4"):
        (course / "submitted" / student / "01_perceptron").mkdir(parents=True)
        nbformat.write(catalogue.build_submission(release, solution),
                       course / "submitted" / student / "01_perceptron" / "perceptron.ipynb")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    proc = subprocess.Popen([sys.executable, "-m", "minikeras.grading.run", "01_perceptron", "--workers", "1"],
                            cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "[1/4]" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + rest
    done = len(glob.glob(str(course / ".grading" / "01_perceptron" / "done" / "*.json")))
    assert 1 <= done < 4
    log = run_cli(course, "-m", "minikeras.grading.run", "01_perceptron", "--workers", "2")
    assert f"4 submissions, {done} already graded, {4 - done} to grade" in log
    assert len(list((course / ".grading" / "01_perceptron" / "done").glob("*.json"))) == 4


def test_plain_nbgrader_autograde_refuses_to_run_student_code(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / "01_perceptron", course / "solutions" / "01_perceptron",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    nbgrader(course, "generate_assignment", "01_perceptron")
    folder = course / "submitted" / "mallory" / "01_perceptron"
    folder.mkdir(parents=True)
    release = nbformat.read(course / "exercises" / "01_perceptron" / "perceptron.ipynb", as_version=4)
    release.cells[1].source = "open('../../../owned', 'w').write('x')"
    nbformat.write(release, folder / "perceptron.ipynb")
    log = nbgrader(course, "autograde", "01_perceptron", check=False)
    assert "course.sh grade" in log and not (course / "owned").exists()


def test_instructor_validation_runs_the_hidden_checks_in_place(tmp_path):
    """`nbgrader validate` on a solution notebook judges each task in the notebook itself."""
    for assignment in ASSIGNMENTS:
        if needs_fashion(assignment) and not fashion_available():
            continue
        shutil.copytree(ROOT / "solutions" / assignment, tmp_path / assignment,
                        ignore=shutil.ignore_patterns("__pycache__"))
        notebook = next((tmp_path / assignment).glob("*.ipynb"))
        log = nbgrader(tmp_path / assignment, "validate", str(notebook))
        assert "Success! Your notebook passes all the tests." in log, log[-3000:]
