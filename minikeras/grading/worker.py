"""Grade one submission: two sandboxed runs, then the verdicts, outside both.

1. *The notebook run*: the sanitized notebook (test cells restored by nbgrader) runs top to
   bottom in a sandboxed kernel (:mod:`.executor`), with minikeras available. Its outputs
   become the feedback; tasks graded ``where="notebook"`` (training a model) hand their
   results to the judge through ``collect.task``, and the judge reads the kernel's CPU time
   at the end of their cells.
2. *The replay*: the student's cells run again in a second sandbox where minikeras, Keras,
   SciPy, PyTorch... do not exist (:mod:`.runtime.replay`); at each kernel task the student's
   functions are called on the judge's inputs.
3. *The verdicts*, in this process, which never runs student code: the judge compares every
   result with the reference, names the likely mistake from the catalogue, and writes each
   test cell's outcome into the notebook as its only scored output.
"""
import json
import os
import shutil
import stat
import tempfile
import time

import nbformat
import numpy as np

from . import catalogue as catalogue_mod
from . import executor, judge, static
from .feedback import ANSI, scrub
from . import sandbox as sb
from .runtime import wire

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
OUT_LIMIT = 64 << 20
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../minikeras
RUNTIME_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime")
TEMPORARY = set()  # folders outside the work folder, removed even when the worker is told to stop


def remove_temporary():
    for path in list(TEMPORARY):
        shutil.rmtree(path, ignore_errors=True)
    TEMPORARY.clear()


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def hidden_lines(nb):
    lines = set()
    for cell in nb.cells:
        if not (_meta(cell).get("grade") and not _meta(cell).get("solution")):
            continue
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text == BEGIN_HIDDEN:
                inside = True
                lines.add(text)
            elif text == END_HIDDEN:
                inside = False
                lines.add(text)
            elif inside and text:
                lines.add(text)
    return lines


def _scrub_outputs(outputs, hidden):
    for out in outputs:
        if out["output_type"] == "stream":
            out["text"] = scrub(out["text"], hidden)
        elif out["output_type"] == "error":
            out["traceback"] = [scrub(t, hidden) for t in out["traceback"]]
            out["evalue"] = scrub(out["evalue"], hidden)
        elif "data" in out and "text/plain" in out["data"]:
            out["data"]["text/plain"] = scrub(out["data"]["text/plain"], hidden)
    return outputs


def _as_text(outputs):
    parts = []
    for out in outputs:
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] == "error":
            parts.append("\n".join(ANSI.sub("", t) for t in out["traceback"]) + "\n")
        elif "text/plain" in out.get("data", {}):
            parts.append(out["data"]["text/plain"] + "\n")
    return "".join(parts)


STATUS_TEXT = {
    "timeout": "This cell was interrupted: it ran longer than the time limit ({limit:g} s).",
    "killed": "This cell ran past the time limit and ignored the interrupt, so its kernel was stopped "
              "and a new one carried on with the next cell.",
    "died": "The kernel process ended while this cell ran (the cell exited, ran out of memory or "
            "hit a resource limit); a new kernel carried on with the next cell.",
    "skipped": "This cell was not run.",
}


def _status_output(result, limit):
    text = STATUS_TEXT.get(result.status)
    if not text:
        return []
    return [{"output_type": "error", "ename": f"Cell{result.status.capitalize()}", "evalue": text.format(limit=limit),
             "traceback": [text.format(limit=limit)]}]


def _grade_outputs(result, verdict, points, title, limit):
    """The outputs nbgrader scores: the kernel's, as plain text, then the judge's verdict."""
    outputs = []
    text = _as_text(result.outputs) if result else ""
    if result and result.status in STATUS_TEXT:
        text += STATUS_TEXT[result.status].format(limit=limit) + "\n"
    if text.strip():
        outputs.append({"output_type": "stream", "name": "stdout", "text": text})
    kernel_failed = bool(result) and (result.status != "ok")
    if verdict.passed:
        note = f"[graded outside your notebook] {title}: passed ({points:g}/{points:g} points)."
        if kernel_failed:
            note += ("\n(The code in this cell failed when your notebook ran, for example because a "
                     "function from an earlier task is wrong; this task itself was graded on its own "
                     "and passed.)")
        outputs.append({"output_type": "stream", "name": "stdout", "text": note + "\n"})
    else:
        lines = [f"[graded outside your notebook] {title}: not passed (0/{points:g} points).", verdict.message]
        if verdict.mistake:
            lines += [f"Most likely mistake: {verdict.details.get('title', verdict.mistake)}.", f"Hint: {verdict.hint}"]
        elif verdict.hint:
            lines.append(f"Hint: {verdict.hint}")
        outputs.append({"output_type": "error", "ename": "TaskNotPassed", "evalue": verdict.message,
                        "traceback": lines})
    return outputs


def replay_plan(nb, spec):
    steps, last = [], None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        meta = _meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            task = spec.TASK_BY_ID.get(meta.get("grade_id"))
            if task is not None and task.where == "replay":
                steps.append({"kind": "task", "index": i, "task": task.id, "context": task.context})
                last = len(steps)
            continue
        steps.append({"kind": "cell", "index": i, "source": cell.source})
    return {"steps": steps[:last or 0], "blocked": list(sb.LIBRARY_PACKAGES)}


def hidden_paths(spec, package_dir=PACKAGE_DIR):
    """Files the notebook's sandbox must not see: the spec's ``HIDDEN_DATA``, pairs of
    (installed package, path inside it), such as a data set's bundled test split.
    ``package_dir``: the minikeras the sandbox mounts (a copy when kernels are switched off)."""
    import importlib.util
    out = []
    for package, inside in getattr(spec, "HIDDEN_DATA", ()):
        if package == "minikeras":
            roots = [package_dir]
        else:
            try:
                found = importlib.util.find_spec(package)
            except (ImportError, ValueError):
                found = None
            roots = list(found.submodule_search_locations or []) if found else []
        out += [os.path.join(root, inside) for root in roots if os.path.exists(os.path.join(root, inside))]
    return out


def student_cells(nb):
    """(label, source) of every code cell the student wrote: answer cells and added cells."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = _meta(cell)
        if meta.get("locked") and not meta.get("solution"):
            continue
        out.append((meta.get("grade_id") or f"cell {i + 1}", cell.source))
    return out


def _write_case_files(folder, cases):
    os.makedirs(folder, exist_ok=True)
    for case_list in cases.values():
        for case in case_list:
            for name, arr in (getattr(case, "files", None) or {}).items():
                np.save(os.path.join(folder, name + ".npy"), arr, allow_pickle=False)


def _fresh(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def _read_out(path):
    """A result file the sandbox wrote: only a regular file (no link, no FIFO), size-capped."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(OUT_LIMIT + 1)
        if len(data) > OUT_LIMIT:
            return None
        return wire.loads(data.decode("utf-8"), max_bytes=OUT_LIMIT)
    except (OSError, wire.WireError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


def grade(job, slot=0):
    """Grade one sanitized notebook in place; returns a summary (verdicts, timings, flags)."""
    t0 = time.monotonic()
    spec = judge.load_spec(job["source_dir"])
    try:
        cat = catalogue_mod.load(job["source_dir"])
        mistakes = cat.mistakes
    except OSError:
        mistakes = []
    nb = nbformat.read(job["notebook"], as_version=4)
    seed = job.get("seed")
    cases = judge.make_cases(spec, seed)
    work = _fresh(os.path.join(job["work_dir"], job["student"]))
    limits = sb.Limits(**job.get("limits", {}))
    enabled = job.get("sandbox", True)
    timeout, grace = job.get("timeout", 180), job.get("grace", 5)

    # -------------------------------------------------- 1. the notebook run
    scratch = os.path.join(work, "home")
    shutil.copytree(os.path.dirname(job["notebook"]), scratch, symlinks=True,
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    judge_a = _fresh(os.path.join(work, "judge"))
    for sub in ("out", "kernel", "data", "shared"):
        os.makedirs(os.path.join(judge_a, sub))
    # the kernel's Unix sockets need a short path (at most 107 bytes): a folder of their own in /tmp
    sockets_root = tempfile.mkdtemp(prefix="mkgrade-", dir="/tmp" if os.path.isdir("/tmp") else None)
    TEMPORARY.add(sockets_root)
    kernel_dir = os.path.join(sockets_root, "k")  # the executor puts its private links next to it
    os.makedirs(kernel_dir)
    with open(os.path.join(judge_a, "cases.json"), "w") as f:
        f.write(judge.wire_cases(cases, "notebook", spec))
    _write_case_files(os.path.join(judge_a, "data"),
                      {k: v for k, v in cases.items() if spec.TASK_BY_ID[k].where == "notebook"})
    box = sb.Sandbox(limits, slot=slot, enabled=enabled)
    box.bind("home", scratch, "/home/student", writable=True)
    box.bind("judge", judge_a, "/judge")
    box.bind("out", os.path.join(judge_a, "out"), "/judge/out", writable=True)
    box.bind("kernel", kernel_dir, "/judge/kernel", writable=True)
    box.bind("data", os.path.join(judge_a, "data"), "/judge/data")
    if job.get("shared_dir"):
        box.bind("shared", job["shared_dir"], "/judge/shared")
    package_dir = job.get("package_dir") or PACKAGE_DIR
    box.packages = [package_dir]
    if job.get("package_dir"):  # the spec switched kernels off: no other library may stand in for them
        box.mask_packages([name for name in sb.LIBRARY_PACKAGES if name != "minikeras"])
    for path in hidden_paths(spec, package_dir):
        box.hide(path)
    box.env = {"NBGRADER_EXECUTION": "autograde", "MINIKERAS_JUDGE_DIR": box.inside("judge"),
               "MINIKERAS_QUICK": "1"}
    if job.get("shared_dir"):
        box.env["MINIKERAS_GRADING_DATA"] = box.inside("shared")
    for path in (scratch, os.path.join(judge_a, "out"), kernel_dir):
        box.prepare_writable(path)
    grade_index = {_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)
                   if _meta(c).get("grade") and not _meta(c).get("solution")}
    t1 = time.monotonic()
    try:
        results = executor.execute_notebook(nb, box, kernel_dir, timeout, grace)
    finally:
        shutil.rmtree(sockets_root, ignore_errors=True)
        TEMPORARY.discard(sockets_root)
    t_notebook = time.monotonic() - t1

    # -------------------------------------------------- 2. the library-free replay
    replay_cases = {k: v for k, v in cases.items() if spec.TASK_BY_ID[k].where == "replay"}
    replay = None
    t2 = time.monotonic()
    if replay_cases:
        judge_b = _fresh(os.path.join(work, "replay"))
        os.makedirs(os.path.join(judge_b, "data"))
        os.makedirs(os.path.join(judge_b, "lib", "judge_runtime"))
        home_b = _fresh(os.path.join(work, "replay-home"))
        with open(os.path.join(judge_b, "cases.json"), "w") as f:
            f.write(judge.wire_cases(cases, "replay", spec))
        _write_case_files(os.path.join(judge_b, "data"), replay_cases)
        box_b = sb.Sandbox(limits, slot=slot, enabled=enabled)
        box_b.bind("home", home_b, "/home/student", writable=True)
        box_b.bind("judge", judge_b, "/judge")
        box_b.bind("lib", RUNTIME_DIR, "/judge/lib/judge_runtime")
        if not enabled:  # without bwrap the runtime is imported from a copy under its sandbox name
            shutil.rmtree(os.path.join(judge_b, "lib", "judge_runtime"))
            shutil.copytree(RUNTIME_DIR, os.path.join(judge_b, "lib", "judge_runtime"),
                            ignore=shutil.ignore_patterns("__pycache__"))
            box_b.binds["lib"] = (os.path.join(judge_b, "lib", "judge_runtime"), "/judge/lib/judge_runtime", False)
        box_b.mask_packages()
        box_b.env = {"NBGRADER_EXECUTION": "autograde", "MINIKERAS_QUICK": "1"}
        box_b.prepare_writable(home_b)
        plan = replay_plan(nb, spec)
        replay = executor.run_replay(box_b, judge_b, plan, timeout)
    t_replay = time.monotonic() - t2

    # -------------------------------------------------- 3. verdicts (no student code runs here)
    cells = student_cells(nb)
    copies, signs = static.scan(cells)
    defines = {}  # label -> names its cell binds: a pasted kernel fails the tasks defined beside it
    for label, source in cells:
        defines.setdefault(label, set()).update(static.defined_names(source))
    verdicts, flags = {}, [f"{label}: {why}" for label, why in signs]
    for label, mine, theirs in copies:
        flags.append(f"{label}: `{mine}` is a copy of minikeras's `{theirs}`")
    budgets = job.get("budgets", {})
    for task in spec.TASKS:
        task_cases = cases[task.id]
        index = grade_index.get(task.id)
        observed = {}
        if task.where == "replay":
            records = replay.records.get(task.id) if replay else None
            observed["timed_out"] = bool(replay and task.id in replay.timed_out)
            if replay and task.id in replay.ended:
                observed["why"] = "The process ended (exit, a signal or a resource limit) while this task was graded."
            copied = [(mine, theirs) for label, mine, theirs in copies
                      if mine in task.functions or defines.get(label, set()) & set(task.functions)]
            if copied:
                observed["static"] = (f"`{copied[0][0]}` is a copy of minikeras's own `{copied[0][1]}`; "
                                      "write the kernel yourself.", "library")
        else:
            records = _read_out(os.path.join(judge_a, "out", task.id + ".json"))
            result = results.get(index)
            observed["timed_out"] = bool(result and result.status in ("timeout", "killed", "died"))
            observed["cpu"] = result.cpu_after if result and result.status == "ok" else None
            if result and result.status == "error":  # what the test cell raised (the student's text: data)
                error = next((o for o in result.outputs if o.get("output_type") == "error"), None)
                if error:
                    observed["error"] = (str(error.get("ename", ""))[:100], str(error.get("evalue", ""))[:400])
            if task.cpu_budget is not None:
                observed["budget"] = budgets.get(task.id, task.cpu_budget)
            if result is None or result.status in ("skipped", "not run"):
                records = None
        verdict = judge.judge_task(task, task_cases, records, data=_case_loader(task_cases), observed=observed)
        judge.explain(verdict, task, task_cases, records, mistakes, data=_case_loader(task_cases))
        verdicts[task.id] = verdict
    if replay and replay.protocol_errors:
        flags.append(f"the replay received {replay.protocol_errors} malformed message(s)")
    killed = [i for i, r in results.items() if r.status in ("killed", "died")]
    if killed:
        flags.append(f"the kernel had to be killed {len(killed)} time(s)")

    # -------------------------------------------------- the notebook nbgrader scores
    hidden = hidden_lines(nb)
    count = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        result = results.get(i)
        meta = _meta(cell)
        if result and result.status != "not run":
            count += 1
            cell.execution_count = count
        if meta.get("grade") and not meta.get("solution"):
            task = spec.TASK_BY_ID.get(meta.get("grade_id"))
            if task is None:
                continue
            out = _grade_outputs(result, verdicts[task.id], float(meta.get("points", 0)), task.title, timeout)
            cell.outputs = [nbformat.from_dict(o) for o in _scrub_outputs(out, hidden)]
        elif result:
            outs = _scrub_outputs(list(result.outputs), hidden) + _status_output(result, timeout)
            cell.outputs = [nbformat.from_dict(o) for o in outs]
    nbformat.write(nb, job["notebook"])
    if not job.get("keep_work"):
        shutil.rmtree(work, ignore_errors=True)
    return {
        "student": job["student"], "seed": seed,
        "verdicts": {tid: {"passed": v.passed, "message": v.message, "mistake": v.mistake, "hint": v.hint,
                           "symptoms": sorted(v.symptoms)} for tid, v in verdicts.items()},
        "flags": flags,
        "seconds": {"total": time.monotonic() - t0, "notebook": t_notebook, "replay": t_replay},
        "cells": {str(i): r.status for i, r in results.items() if r.status not in ("ok",)},
        "replay_restarts": replay.restarts if replay else 0,
    }


def _case_loader(cases):
    files = {}
    for case in cases:
        files.update(getattr(case, "files", None) or {})
    return lambda name: files[name].copy()
