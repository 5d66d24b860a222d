"""The graded assignments through the real nbgrader pipeline.

A temporary course directory gets ``solutions/`` and ``nbgrader_config.py``; then
``nbgrader generate_assignment`` makes the student versions, hand-made submissions are
placed in ``submitted/`` and ``nbgrader autograde`` scores each one (timed), feedback and
the CSV export are generated, and the results are read back through nbgrader's Gradebook.

The submissions:

* alice  - the solutions, copied into the release notebooks (full marks);
* bob    - the untouched release (zero, no crash);
* dave   - alice, but ``train_perceptron`` never returns (that cell times out, nothing else lost);
* erin   - wrong answers of several kinds: a wrong value, a call into minikeras's own kernel
           (passes the visible test, fails the hidden one), a self-consistent identity
           sigmoid (a gradient check against its own forward would pass it), an unstable
           softmax, a Dense backward that forgets the activation, an untrained MLP;
* carol  - erin's answers with every test cell rewritten to pass; the tests are restored
           from the gradebook, so carol scores exactly what erin does.

The whole module takes about two minutes on two CPU cores; most of it is kernel start-up.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"01_perceptron": "perceptron.ipynb", "02_mlp": "mlp.ipynb"}
COURSE_ID = "minikeras-dl"
LOOP_TIMEOUT = 5  # seconds per cell for the infinite-loop submission
MAX_SECONDS_PER_SUBMISSION = 90

pytest.importorskip("nbgrader")


@pytest.fixture(autouse=True)
def array_backend():
    """Overrides the per-backend parametrisation of conftest: nbgrader runs its own kernels."""
    yield "numpy"


# ---------------------------------------------------------------- submissions

ERIN = {
    "01_perceptron": {
        # wrong value: sgn(0) must be 0
        "step_functions": """
def heaviside(z):
    return (np.asarray(z) >= 0).astype(float)


def sgn(z):
    return np.where(np.asarray(z) >= 0, 1.0, -1.0)
""",
        # right values, but computed by minikeras's own kernel
        "relu": """
from minikeras.kernels.activations import relu_backward as _library_relu_backward
from minikeras.kernels.activations import relu_forward as _library_relu


def relu_forward(x):
    return _library_relu(x)


def relu_backward(dy, cache):
    return _library_relu_backward(dy, cache)
""",
        # an identity "sigmoid" whose backward is consistent with it
        "sigmoid_tanh": """
def sigmoid_forward(x):
    return x, x


def sigmoid_backward(dy, cache):
    return dy


def tanh_forward(x):
    y = np.tanh(x)
    return y, y


def tanh_backward(dy, cache):
    return dy * (1 - cache * cache)
""",
    },
    "02_mlp": {
        # overflows for large logits
        "softmax": """
def softmax_forward(x, axis=-1):
    e = np.exp(x)
    y = e / e.sum(axis=axis, keepdims=True)
    return y, (y, axis)


def softmax_backward(dy, cache):
    y, axis = cache
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
""",
        # right values through keras.ops
        "categorical_crossentropy": """
def categorical_crossentropy_forward(y_true, y_pred, from_logits=False):
    log_probs = np.asarray(keras.ops.log_softmax(y_pred))
    return -(y_true * log_probs).sum(axis=-1), (y_true, log_probs)


def categorical_crossentropy_backward(dloss, cache):
    y_true, log_probs = cache
    return dloss[:, None] * (np.exp(log_probs) * y_true.sum(axis=-1, keepdims=True) - y_true)
""",
        # forgets to go back through the activation
        "dense_backward": """
def dense_backward(dy, cache, needs=(True, True, True)):
    x, kernel, has_bias, activation, act_cache = cache
    n_in, units = kernel.shape
    dz = dy
    dx = dz @ kernel.T if needs[0] else None
    dkernel = x.reshape(-1, n_in).T @ dz.reshape(-1, units) if needs[1] else None
    dbias = dz.reshape(-1, units).sum(axis=0) if has_bias and needs[2] else None
    return dx, dkernel, dbias
""",
        # never trained
        "build_and_train": """
def build_and_train(x_train, y_train):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
""",
    },
}
# The grade cells each of erin's mistakes must cost, and nothing else.
ERIN_WRONG = {
    "01_perceptron": {"test_step_functions", "test_relu", "test_sigmoid_tanh"},
    "02_mlp": {"test_softmax", "test_categorical_crossentropy", "test_dense_backward", "test_mlp"},
}
DAVE = {"train_perceptron": """
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    while True:
        pass
"""}


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def strip_solution(source):
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def make_submission(course, assignment, overrides=None, tamper=False, blank=False):
    """The release notebook with its answer cells filled in (from the solutions unless
    overridden); ``tamper`` rewrites every test cell so that it trivially passes."""
    nb_name = NOTEBOOKS[assignment]
    release = nbformat.read(course / "exercises" / assignment / nb_name, as_version=4)
    source = nbformat.read(course / "solutions" / assignment / nb_name, as_version=4)
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if nbgrader_meta(c).get("solution")}
    overrides = overrides or {}
    for cell in release.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and not blank:
            gid = meta["grade_id"]
            cell.source = overrides[gid].strip() if gid in overrides else strip_solution(answers[gid])
        elif meta.get("grade") and tamper:
            cell.source = "print('all tests passed')  # edited by the student"
    return release


# ---------------------------------------------------------------- the course

def run_nbgrader(course, *args, timeout=600, errors_expected=False):
    env = dict(os.environ)
    # nbgrader calls the `alembic` executable when it creates a gradebook: put the
    # interpreter's bin/ first on PATH so the one installed next to nbgrader is found.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("NBGRADER_EXECUTION", None)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{log[-4000:]}"
    assert errors_expected or "| ERROR]" not in log, f"nbgrader {' '.join(args)} logged an error:\n{log[-4000:]}"
    return log


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", course / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for assignment in NOTEBOOKS:
        run_nbgrader(course, "generate_assignment", assignment)

    submissions = {
        "alice": {a: make_submission(course, a) for a in NOTEBOOKS},
        "bob": {a: make_submission(course, a, blank=True) for a in NOTEBOOKS},
        "erin": {a: make_submission(course, a, ERIN[a]) for a in NOTEBOOKS},
        "carol": {a: make_submission(course, a, ERIN[a], tamper=True) for a in NOTEBOOKS},
        "dave": {"01_perceptron": make_submission(course, "01_perceptron", DAVE)},
    }

    def submit(student, assignment):
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(submissions[student][assignment], folder / NOTEBOOKS[assignment])
        (folder / "timestamp.txt").write_text("2025-01-15 12:00:00.000000 UTC")

    # One autograde run per assignment for the regular submissions (as an instructor would
    # run it), one more with a short cell timeout for the infinite loop. The seconds each
    # submission took are read off the write times of the autograded notebooks.
    seconds = {}
    for assignment in NOTEBOOKS:
        for students, extra in ((["alice", "bob", "carol", "erin"], []),
                                (["dave"], [f"--Execute.timeout={LOOP_TIMEOUT}"])):
            students = [s for s in students if assignment in submissions[s]]
            if not students:
                continue
            for student in students:  # dave hands in only after the regular run
                submit(student, assignment)
            start = time.time()
            run_nbgrader(course, "autograde", assignment, *extra,
                         *([] if len(students) > 1 else ["--student", students[0]]),
                         errors_expected="dave" in students)
            done = sorted((os.path.getmtime(course / "autograded" / s / assignment / NOTEBOOKS[assignment]), s)
                          for s in students)
            for (finished, student), before in zip(done, [start] + [t for t, _ in done]):
                seconds[(assignment, student)] = finished - before
    for assignment in NOTEBOOKS:
        run_nbgrader(course, "generate_feedback", assignment)
    run_nbgrader(course, "export")
    (course / "autograde_seconds.json").write_text(
        json.dumps({f"{a}/{s}": round(t, 1) for (a, s), t in seconds.items()}, indent=1))
    return {"dir": course, "seconds": seconds, "students": submissions}


def gradebook(course):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{course['dir'] / 'gradebook.db'}", course_id=COURSE_ID)


def cell_scores(course, assignment, student):
    """{grade cell id: (auto score, max score)} for one submission, from the gradebook."""
    with gradebook(course) as gb:
        sub = gb.find_submission(assignment, student)
        return {g.name: (g.auto_score, g.max_score) for nb in sub.notebooks for g in nb.grades}


def total(course, assignment, student):
    with gradebook(course) as gb:
        sub = gb.find_submission(assignment, student)
        return sub.score, sub.max_score


def max_points(assignment):
    nb = nbformat.read(ROOT / "solutions" / assignment / NOTEBOOKS[assignment], as_version=4)
    return {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in nb.cells
            if nbgrader_meta(c).get("grade")}


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_assignment_has_six_graded_tasks_with_hidden_tests(assignment):
    nb = nbformat.read(ROOT / "solutions" / assignment / NOTEBOOKS[assignment], as_version=4)
    tests = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    assert len(tests) >= 6
    for cell in tests:
        src = cell.source
        assert "### BEGIN HIDDEN TESTS" in src and "### END HIDDEN TESTS" in src, nbgrader_meta(cell)["grade_id"]
        hidden = src.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        assert "minikeras.grading" in hidden and len(hidden.strip().splitlines()) <= 4
        last = src.strip().splitlines()[-1]
        assert last.startswith(("print(", "assert ")), f"test cells must not end with an expression: {last!r}"
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs in solutions/"


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_solutions_get_full_marks(course, assignment):
    scores = cell_scores(course, assignment, "alice")
    assert scores == {k: (v, v) for k, v in max_points(assignment).items()}
    assert total(course, assignment, "alice") == (sum(max_points(assignment).values()),) * 2


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_untouched_release_scores_zero(course, assignment):
    assert total(course, assignment, "bob") == (0, sum(max_points(assignment).values()))
    with gradebook(course) as gb:
        assert not gb.find_submission(assignment, "bob").needs_manual_grade


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_wrong_answers_lose_exactly_their_tasks(course, assignment):
    points = max_points(assignment)
    want = {k: (0 if k in ERIN_WRONG[assignment] else v, v) for k, v in points.items()}
    assert cell_scores(course, assignment, "erin") == want


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_edited_test_cells_are_restored(course, assignment):
    assert cell_scores(course, assignment, "carol") == cell_scores(course, assignment, "erin")
    graded = nbformat.read(course["dir"] / "autograded" / "carol" / assignment / NOTEBOOKS[assignment], as_version=4)
    source = nbformat.read(ROOT / "solutions" / assignment / NOTEBOOKS[assignment], as_version=4)
    want = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if nbgrader_meta(c).get("grade")}
    got = {nbgrader_meta(c)["grade_id"]: c.source for c in graded.cells if nbgrader_meta(c).get("grade")}
    assert got == want


def test_infinite_loop_times_out_and_costs_only_its_task(course):
    points = max_points("01_perceptron")
    want = {k: (0 if k == "test_train_perceptron" else v, v) for k, v in points.items()}
    assert cell_scores(course, "01_perceptron", "dave") == want
    graded = nbformat.read(course["dir"] / "autograded" / "dave" / "01_perceptron" / "perceptron.ipynb",
                           as_version=4)
    cell = next(c for c in graded.cells if nbgrader_meta(c).get("grade_id") == "test_train_perceptron")
    assert any(o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") for o in cell.outputs)


def test_autograde_time_per_submission(course):
    seconds = course["seconds"]
    report = ", ".join(f"{a}/{s} {t:.1f}s" for (a, s), t in sorted(seconds.items()))
    print(f"\nautograde seconds per submission: {report}")
    assert all(t < MAX_SECONDS_PER_SUBMISSION for t in seconds.values()), report


def test_feedback_does_not_show_hidden_tests(course):
    feedback = sorted((course["dir"] / "feedback").rglob("*.html"))
    assert len(feedback) == 9  # 4 students x 2 assignments + dave's one
    for path in feedback:
        html = path.read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "END HIDDEN TESTS" not in html, path
        if path.parts[-3] in ("alice", "bob"):  # nothing failed inside a hidden block
            assert "hidden_checks" not in html, path


def test_grades_through_gradebook_api_and_csv_export(course):
    with gradebook(course) as gb:
        by_student = {d["student"]: d for d in gb.submission_dicts("01_perceptron")}
    assert by_student["alice"]["score"] == by_student["alice"]["max_score"] == 16
    assert by_student["bob"]["score"] == 0
    assert by_student["dave"]["score"] == 13
    assert by_student["erin"]["score"] == by_student["carol"]["score"] == 16 - 2 - 2 - 3

    with open(course["dir"] / "grades.csv", newline="") as f:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}
    assert float(rows[("01_perceptron", "alice")]["score"]) == 16
    assert float(rows[("02_mlp", "alice")]["score"]) == float(rows[("02_mlp", "alice")]["max_score"]) == 20
    assert float(rows[("02_mlp", "bob")]["score"]) == 0
    assert float(rows[("02_mlp", "erin")]["score"]) == 20 - 3 - 2 - 4 - 4
    assert float(rows[("02_mlp", "carol")]["score"]) == float(rows[("02_mlp", "erin")]["score"])
    assert float(rows[("01_perceptron", "dave")]["score"]) == 13


def _comparable(nb):
    keep = ("grade", "solution", "locked", "points", "grade_id")
    return [(c.cell_type, c.source, {k: nbgrader_meta(c).get(k) for k in keep}) for c in nb.cells]


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_committed_exercises_match_the_solutions(course, assignment):
    """exercises/ must be what generate_assignment makes from solutions/ today."""
    fresh = course["dir"] / "exercises" / assignment
    committed = ROOT / "exercises" / assignment
    names = sorted(p.name for p in fresh.iterdir())
    assert sorted(p.name for p in committed.iterdir() if p.name != ".ipynb_checkpoints") == names, (
        "regenerate exercises/ (see docs/instructor.md)")
    for name in names:
        if name.endswith(".ipynb"):
            a = nbformat.read(fresh / name, as_version=4)
            b = nbformat.read(committed / name, as_version=4)
            assert _comparable(a) == _comparable(b), f"exercises/{assignment}/{name} is stale; regenerate it"
            assert "BEGIN HIDDEN TESTS" not in json.dumps(b.dict()) and "BEGIN SOLUTION" not in json.dumps(b.dict())
        else:
            assert (fresh / name).read_bytes() == (committed / name).read_bytes()
