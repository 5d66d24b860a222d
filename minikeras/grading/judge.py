"""The judge: inputs, reference results and verdicts, computed outside every sandbox.

An assignment's checks live beside it, in ``solutions/<assignment>/grading/spec.py``, as a
list of :class:`Task` objects (see docs/grading.md for the recipe). For each graded task
the judge draws fresh random :class:`Case` objects, each a few calls (:class:`Step`) of the
student's functions. The sandboxed processes only *run* those calls and write back what
the functions returned; this module runs the same calls on the reference implementation
(minikeras's kernels, or the spec's own) and compares. Student code can change anything in
its own interpreter, but not what the judge computes or how it compares.

When a task fails, :func:`diagnose` runs the catalogued mistakes of that task
(``catalogue.toml`` beside the spec) on the same inputs and names the one whose results
match the student's, with its hint.
"""
import builtins
import dataclasses
import importlib.util
import math
import os
import secrets
import signal
import sys

import numpy as np

from .runtime import calls, wire

FLOAT_TOL = {np.dtype("float64"): (1e-6, 1e-8), np.dtype("float32"): (1e-4, 1e-5),
             np.dtype("float16"): (1e-2, 1e-3)}


# ------------------------------------------------------------------ what a spec declares

@dataclasses.dataclass
class Step:
    """One call of a student's function. ``args`` may hold ``Out(i, ...)`` (an earlier
    step's result) and ``Data(name)`` (a large array stored as a file)."""

    fn: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    record: object = "all"  # "all", "none", or an index path into the result
    label: str = ""  # how feedback names the call, e.g. "relu_backward(dy, cache)"
    names: tuple = ()  # names of the result's elements, e.g. ("y", "cache")
    get: bool = False  # look the name up without calling it (a table such as GATES)
    count: bool = False  # also record how many function calls it made (vectorised or looping?)

    def wire(self):
        fn = self.fn
        return {"fn": fn, "args": list(self.args), "kwargs": dict(self.kwargs),
                "record": self.record if isinstance(self.record, str) else list(self.record),
                **({"get": True} if self.get else {}), **({"count": True} if self.count else {})}


def Out(*path):  # noqa: N802 (reads like a value in specs)
    return wire.OutRef(path)


def Data(name):  # noqa: N802
    return wire.DataRef(name)


@dataclasses.dataclass
class Case:
    """One input class of a task: a few calls, a description for feedback, tolerances."""

    desc: str
    steps: list
    same_dtype: object = True  # float results keep the reference's dtype; "exact": integer ones too
    tol: tuple = None  # (rtol, atol) instead of the dtype's defaults
    secret: object = None  # judge-only data (e.g. the held-out labels); never sent
    check: object = None  # custom check(case, got_records, want_records) -> (message or None, symptoms)
    files: dict = None  # name -> array: large inputs written as .npy files, referred to by Data(name)

    def wire(self):
        return {"steps": [s.wire() for s in self.steps]}


@dataclasses.dataclass
class Task:
    """One graded test cell (``id`` is its nbgrader ``grade_id``)."""

    id: str
    title: str
    functions: tuple
    cases: object  # cases(rng, task) -> list of Case
    reference: dict = None  # name -> callable: the reference implementation
    where: str = "replay"  # "replay": library-free sandbox; "notebook": in the notebook's kernel
    context: str = ""  # reference code the task's functions may call (injected while graded)
    cpu_budget: float = None  # notebook tasks: kernel CPU seconds through the end of this cell
    evaluate: object = None  # evaluate(task, cases, records, observed) -> Verdict (custom tasks)
    hint_on_failure: str = ""  # general advice when no catalogued mistake matches


@dataclasses.dataclass
class Verdict:
    task: str
    passed: bool
    message: str = ""
    symptoms: set = dataclasses.field(default_factory=set)
    mistake: str = None  # id of the diagnosed catalogue entry
    hint: str = ""
    details: dict = dataclasses.field(default_factory=dict)

    def feedback(self, points=None):
        if self.passed:
            return f"{self.task}: passed" + (f" ({points:g}/{points:g} points)" if points is not None else "")
        text = f"{self.task}: not passed. {self.message}"
        if self.mistake:
            text += f"\nMost likely mistake: {self.details.get('title', self.mistake)}.\nHint: {self.hint}"
        elif self.hint:
            text += f"\nHint: {self.hint}"
        return text


def out_of_time(task, observed):
    """The verdict of a notebook task whose test cell ran past its deadline or whose notebook
    spent more CPU time than the task's budget; None when neither happened. The limits come
    from outside the student's process (``observed``), so a custom ``evaluate`` starts here."""
    if observed.get("timed_out"):
        return Verdict(task.id, False, "The cell did not finish within the time limit.", {"timeout"})
    budget, cpu = observed.get("budget", task.cpu_budget), observed.get("cpu")
    if budget is not None and cpu is not None and cpu > budget:
        return Verdict(task.id, False, f"The notebook used {cpu:.1f} s of CPU time up to the end of this "
                                       f"task (training included, wherever it ran); the budget is "
                                       f"{budget:.0f} s.", {"budget"})
    return None


def accuracy_verdict(task, scores, labels, bar, observed, chance=0.25):
    """The verdict of a trained-model task: held-out accuracy of the class ``scores`` (one row
    per sample) against ``labels``, at least ``bar`` to pass; below ``chance`` the symptom says
    the model learned nothing."""
    acc = float(np.mean(np.asarray(scores).argmax(axis=1) == labels))
    if not acc >= bar:
        return Verdict(task.id, False, f"Held-out accuracy {acc:.3f} is below the bar of {bar:.2f}.",
                       {"accuracy-chance" if acc < chance else "accuracy-low"}, details={"accuracy": acc})
    return Verdict(task.id, True, details={"accuracy": acc, "cpu": observed.get("cpu")})


# ------------------------------------------------------------------ loading a spec

def load_spec(assignment_dir):
    """The ``grading/spec.py`` module of an assignment folder (trusted instructor code)."""
    path = os.path.join(assignment_dir, "grading", "spec.py")
    name = "minikeras_spec_" + os.path.basename(os.path.normpath(assignment_dir)).replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    module.TASK_BY_ID = {t.id: t for t in module.TASKS}
    return module


def fresh_rng(seed=None):
    return np.random.default_rng(secrets.randbits(64) if seed is None else seed)


def make_cases(spec, seed=None):
    """{task id: [Case, ...]} drawn fresh (or from ``seed``, to reproduce a run)."""
    root = fresh_rng(seed)
    out = {}
    for task in spec.TASKS:
        rng = np.random.default_rng(root.integers(1 << 63))
        out[task.id] = list(task.cases(rng, task))
    return out


def wire_cases(cases, where=None, spec=None):
    """The JSON text of the cases a sandbox runs (only the tasks graded ``where``)."""
    tasks = spec.TASK_BY_ID if spec else {}
    return wire.dumps({tid: [c.wire() for c in cs] for tid, cs in cases.items()
                       if where is None or tasks[tid].where == where})


# ------------------------------------------------------------------ running implementations

def context_namespace(task):
    scope = {"np": np, "__builtins__": builtins}
    if task.context:
        exec(compile(task.context, f"<context of {task.id}>", "exec"), scope)
    return scope


class _Deadline(Exception):
    pass


def run_cases(cases, namespace, data=None, seconds=None):
    """Records of ``cases`` run against ``namespace`` in this process (reference or mutant)."""
    decoded = [wire.decode(wire.encode(c.wire())) for c in cases]
    use_alarm = seconds and hasattr(signal, "setitimer") and _main_thread()
    if use_alarm:
        def on_alarm(signum, frame):
            raise _Deadline()
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return [calls.run_case(c, namespace, data=data) for c in decoded]
    except _Deadline:
        return None
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def reference_records(task, cases, data=None):
    namespace = dict(context_namespace(task))
    namespace.update(task.reference or {})
    return run_cases(cases, namespace, data=data)


# ------------------------------------------------------------------ comparing

def _shape(a):
    return tuple(np.shape(a))


def _as_array(value):
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (np.generic, bool, int, float)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            return None
        return arr if arr.dtype.kind in "biuf" else None
    return None


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, wire.Unsupported):
        return f"a {value.type_name}"
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


def compare_values(got, want, what, same_dtype=True, tol=None):
    """None when ``got`` matches ``want``; else a sentence that says how it differs."""
    if isinstance(want, list) and not all(isinstance(v, (bool, int, float, np.generic)) for v in want):
        want = tuple(want)  # a list of arrays (or None): compared entry by entry, like a tuple
    if isinstance(want, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{what} must be a tuple of {len(want)}, got {_describe(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            problem = compare_values(g, w, f"{what}[{i}]", same_dtype, tol)
            if problem:
                return problem
        return None
    if want is None:
        return None if got is None else f"{what} must be None, got {_describe(got)}"
    if isinstance(want, dict):  # a cache with named entries: these keys at least, each compared
        if not isinstance(got, dict):
            return f"{what} must be a dict, got {_describe(got)}"
        for key, w in want.items():
            if key not in got:
                return f"{what} has no entry {key!r}"
            problem = compare_values(got[key], w, f"{what}[{key!r}]", same_dtype, tol)
            if problem:
                return problem
        return None
    if isinstance(want, str):
        return None if got == want else f"{what} must be {want!r}, got {got!r}"[:300]
    if isinstance(want, bool) and not isinstance(got, np.ndarray):
        return None if isinstance(got, (bool, np.bool_)) and bool(got) == want else \
            f"{what} must be {want}, got {_describe(got) if not isinstance(got, (bool, int)) else got}"
    if isinstance(want, list) and all(isinstance(v, (int, np.integer)) for v in want):
        values = _as_array(got)
        if values is None or values.ndim != 1 or len(values) != len(want):
            return f"{what} must be a list of {len(want)} integers, got {_describe(got)}"
        if not np.array_equal(values, np.asarray(want)):
            first = int(np.argmax(values != np.asarray(want)))
            return f"{what} differs from the reference, first at position {first}"
        return None
    want_arr = _as_array(want)
    if want_arr is None:
        try:
            same = bool(got == want)
        except Exception:  # noqa: BLE001 (an odd value compares as different, it must not stop grading)
            same = False
        return None if same else f"{what} is {_describe(got)}, expected {_describe(want)}"
    got_arr = _as_array(got)
    if got_arr is None:
        return f"{what} must be {'a number' if want_arr.ndim == 0 else 'an array'}, got {_describe(got)}"
    if got_arr.shape != want_arr.shape:
        return f"{what} has shape {got_arr.shape}, expected {want_arr.shape}"
    if want_arr.dtype.kind == "f":
        if same_dtype and isinstance(want, (np.ndarray, np.floating)) and isinstance(got, (np.ndarray, np.floating)) \
                and got_arr.dtype != want_arr.dtype:
            return f"{what} has dtype {got_arr.dtype}, expected {want_arr.dtype} (keep the input's dtype)"
        if got_arr.dtype.kind not in "biuf":
            return f"{what} must be numeric, got dtype {got_arr.dtype}"
        g, w = got_arr.astype(np.float64), want_arr.astype(np.float64)
        finite = np.isfinite(w)
        if not np.all(np.isfinite(g[finite])):
            return f"{what} contains NaN or inf where the reference is finite"
        rtol, atol = tol or FLOAT_TOL.get(want_arr.dtype, FLOAT_TOL[np.dtype("float64")])
        bad = ~np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            worst = float(np.max(np.abs(g - w)[bad & finite])) if (bad & finite).any() else math.inf
            return (f"{what} differs from the reference at {int(bad.sum())} of {bad.size} "
                    f"position{'s' if bad.size != 1 else ''} (largest difference {worst:.3g})")
        return None
    if got_arr.dtype.kind not in "biuf":
        return f"{what} must be numeric, got dtype {got_arr.dtype}"
    if same_dtype == "exact" and isinstance(want, np.ndarray) and got_arr.dtype != want_arr.dtype:
        return f"{what} has dtype {got_arr.dtype}, expected {want_arr.dtype}"
    if not np.array_equal(got_arr.astype(np.float64), want_arr.astype(np.float64)):
        bad = got_arr.astype(np.float64) != want_arr.astype(np.float64)
        return f"{what} differs from the reference at {int(np.sum(bad))} of {bad.size} position(s)"
    return None


def _label(step):
    return step.label or f"{step.fn}(...)"


def record_problem(label, got):
    """(message, symptoms) when one step's record holds no result (nothing, an undefined name,
    an error, an argument changed in place); None when it holds a value to compare."""
    if not isinstance(got, dict):
        return f"{label}: no result", {"no-result"}
    if "missing" in got:
        return f"`{got['missing']}` is not defined", {"missing"}
    if "error" in got:
        etype, emsg = _error_of(got)
        if etype in ("FloatingPointError", "RuntimeWarning"):
            return (f"{label} produced a floating-point warning ({emsg}); use a numerically "
                    "stable formula", {"warning"})
        if etype == "LibraryUnavailable":
            return f"{label} called a library function: {emsg}", {"library"}
        return f"{label} raised {etype}: {emsg}", {"error", f"error:{etype}"}
    if got.get("mutated"):
        which = ", ".join(f"#{i + 1}" for i in got["mutated"])
        return f"{label} changed its argument {which} in place; compute a new array instead", {"mutation"}
    return None


def _error_of(record):
    err = record["error"] if isinstance(record.get("error"), dict) else {}
    return str(err.get("type", "Error")), str(err.get("message", ""))


def compare_records(case, got, want):
    """(message, symptoms) for one case; message None when it passes."""
    if case.check is not None:
        return case.check(case, got, want)
    if got is None or len(got) != len(case.steps):
        return "no results were returned for this case", {"no-result"}
    for step, g, w in zip(case.steps, got, want):
        label = _label(step)
        if isinstance(g, dict) and "missing" not in g and "error" in g and "error" in w \
                and _error_of(g) == _error_of(w):
            continue  # the same failure as the implementation compared with (a catalogued mistake)
        problem = record_problem(label, g)
        if problem:
            return problem
        if "error" in w:
            return f"{label} should have raised {w['error'].get('type')}", {"no-error"}
        names = step.names
        gv, wv = g.get("ok"), w.get("ok")
        if names and isinstance(wv, tuple) and isinstance(gv, (tuple, list)) and len(gv) == len(wv):
            for i, (a, b) in enumerate(zip(gv, wv)):
                problem = compare_values(a, b, f"{label}: {names[i] if i < len(names) else f'[{i}]'}",
                                         case.same_dtype, case.tol)
                if problem:
                    return problem, {"value"}
            continue
        problem = compare_values(gv, wv, label, case.same_dtype, case.tol)
        if problem:
            return problem, {"value"}
    return None, set()


def judge_task(task, cases, records, want=None, data=None, observed=None):
    """The verdict on one task from the student's records (None when nothing came back)."""
    observed = observed or {}
    if task.evaluate is not None:
        return task.evaluate(task, cases, records, observed)
    if observed.get("timed_out"):
        return Verdict(task.id, False, "Your code did not finish within the time limit.", {"timeout"})
    if observed.get("static"):
        message, symptom = observed["static"]
        return Verdict(task.id, False, message, {symptom})
    if records is None:
        return Verdict(task.id, False, observed.get("why", "No results came back for this task "
                                                         "(did an earlier cell end the kernel?)."), {"no-result"})
    want = want if want is not None else reference_records(task, cases, data)
    for case, got, ref in zip(cases, records, want):
        message, symptoms = compare_records(case, got, ref)
        if message:
            return Verdict(task.id, False, f"On {case.desc}: {message}.", symptoms,
                           details={"case": case.desc})
    if len(records) < len(cases):
        return Verdict(task.id, False, "Some cases returned no result.", {"no-result"})
    return Verdict(task.id, True)


# ------------------------------------------------------------------ diagnosis

def mutant_namespace(task, mistake):
    namespace = dict(context_namespace(task))
    for source in mistake.cells.values():
        exec(compile(source, f"<catalogue {mistake.id}>", "exec"), namespace)
    return namespace


def diagnose(task, cases, records, verdict, mistakes, data=None, seconds=5.0):
    """The catalogued mistake of ``task`` that best explains ``records`` (or None)."""
    candidates = [m for m in mistakes if m.task == task.id]
    by_symptom = [m for m in candidates if m.symptom and m.symptom in verdict.symptoms]
    if by_symptom:
        return by_symptom[0], 1.0
    if records is None:
        return None, 0.0
    best, best_score = None, 0.0
    for mistake in candidates:
        if mistake.symptom:
            continue
        try:
            namespace = mutant_namespace(task, mistake)
        except Exception:  # noqa: BLE001 (a broken catalogue entry must not stop grading)
            continue
        theirs = run_cases(cases, namespace, data=data, seconds=seconds)
        if theirs is None:
            continue
        agree = 0
        for case, got, mut in zip(cases, records, theirs):
            if case.check is not None:  # a custom check: the same outcome (symptoms) on both
                same = case.check(case, got, None)[1] == case.check(case, mut, None)[1]
            else:
                same = compare_records(case, got, mut)[0] is None
            agree += bool(same)
        score = agree / max(1, len(cases))
        if score > best_score:
            best, best_score = mistake, score
    return (best, best_score) if best_score >= 0.75 else (None, best_score)


def explain(verdict, task, cases, records, mistakes, data=None):
    """Fill in the diagnosis of a failed verdict (in place) and return it."""
    if verdict.passed or not mistakes:
        if not verdict.passed and task.hint_on_failure:
            verdict.hint = task.hint_on_failure
        return verdict
    mistake, score = diagnose(task, cases, records, verdict, mistakes, data=data)
    if mistake is not None:
        verdict.mistake, verdict.hint = mistake.id, mistake.hint
        verdict.details.update(title=mistake.title, match=round(score, 2))
    elif task.hint_on_failure:
        verdict.hint = task.hint_on_failure
    return verdict


# ------------------------------------------------------------------ helpers for specs

def shape_text(shape):
    return "0-d" if tuple(shape) == () else f"shape {tuple(shape)}"
