"""``python -m minikeras.grading.run ASSIGNMENT [--workers N]``: autograde every submission.

This is what ``./course.sh grade`` runs. nbgrader has no parallel autograde, so its pieces
are driven per submission:

1. in this process, one submission after another (they touch the gradebook): nbgrader's
   own ``Autograde`` set-up (student and submission rows, late time, source files copied)
   and its sanitize pass (outputs cleared, locked and test cells restored from the
   gradebook, deleted test cells added back);
2. in N worker processes, in parallel: :func:`minikeras.grading.worker.grade` (two bwrap
   sandboxes per submission, verdicts outside them);
3. back in this process: nbgrader's post-execution preprocessors (output limits,
   ``SaveAutoGrades``, late penalties), so the gradebook, formgrader, ``generate_feedback``
   and ``export`` see an ordinary nbgrader result; then a line in the CSV.

A submission counts as graded when its record in ``.grading/<assignment>/done/`` exists and
matches the submitted file, so an interrupted run, started again, keeps what it graded and
grades the rest (``--force`` grades everything again).
"""
import argparse
import csv
import glob
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import sys
import time
import traceback
import warnings

STATE = ".grading"


# ------------------------------------------------------------------ nbgrader plumbing

class Course:
    """One assignment of the nbgrader course in the current directory."""

    def __init__(self, assignment, log_level="WARN"):
        from nbgrader.apps import AutogradeApp
        from nbgrader.converters import Autograde
        from nbconvert.writers import FilesWriter
        warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader on SQLAlchemy 2 (harmless)
        warnings.filterwarnings("ignore", message=".*missing an id field.*")  # cells nbgrader adds back
        self.app = AutogradeApp()
        self.app.initialize([assignment, f"--log-level={log_level}"])
        self.coursedir = self.app.coursedir
        self.assignment = assignment
        conv = Autograde(coursedir=self.coursedir, parent=self.app)
        conv.writer = FilesWriter(parent=conv, config=conv.config)
        conv.exporter = conv.exporter_class(parent=conv, config=conv.config)
        self.conv = conv
        self.source_dir = self.coursedir.format_path(self.coursedir.source_directory, ".", assignment)

    def config_value(self, section, key, default):
        section_config = self.app.config.get(section, {})
        return section_config.get(key, default) if hasattr(section_config, "get") else default

    def students(self):
        pattern = self.coursedir.format_path(self.coursedir.submitted_directory, "*", self.assignment)
        return sorted(os.path.basename(os.path.dirname(os.path.normpath(p))) for p in glob.glob(pattern)
                      if os.path.isdir(p))

    def submitted_dir(self, student):
        return self.coursedir.format_path(self.coursedir.submitted_directory, student, self.assignment)

    def autograded_dir(self, student):
        return self.coursedir.format_path(self.coursedir.autograded_directory, student, self.assignment)

    def sanitize(self, student, notebook):
        """nbgrader's set-up and sanitize pass; returns the sanitized notebook's path (or None)."""
        from nbgrader.converters.base import BaseConverter
        conv = self.conv
        dest = self.autograded_dir(student)
        if os.path.exists(dest):
            shutil.rmtree(dest)
        conv._sanitizing = True
        # Only the graded notebook: one that the judge does not run must not be scored (nbgrader
        # would give full marks to test cells without outputs).
        conv.notebooks = [p for p in glob.glob(os.path.join(self.submitted_dir(student), "*.ipynb"))
                          if os.path.basename(p) == notebook]
        conv.init_assignment(self.assignment, student)
        os.makedirs(dest, exist_ok=True)  # nbconvert's writer only creates it when its folder changes
        from .nbgrader_ext import RestoreCells
        path, notes = None, []
        for nb in conv.notebooks:
            conv._sanitizing = True
            conv._init_preprocessors()
            BaseConverter.convert_single_notebook(conv, nb)  # the sanitize pass only
            for pp in conv.exporter._preprocessors:
                if isinstance(pp, RestoreCells):
                    if pp.changed:
                        notes.append("locked or test cells edited (restored): " + ", ".join(sorted(set(pp.changed))))
                    if pp.added:
                        notes.append("test cells deleted (added back): " + ", ".join(sorted(set(pp.added))))
            if os.path.basename(nb) == notebook:
                path = os.path.join(dest, notebook)
        return path, notes

    def finalize(self, student, flags, notebook):
        """nbgrader's steps after execution (grades into the gradebook), on the graded notebook."""
        from nbgrader.api import Gradebook, MissingEntry
        from nbgrader.converters.base import BaseConverter
        from nbgrader.preprocessors import Execute
        from .nbgrader_ext import RefuseUnsandboxed
        conv = self.conv
        conv._sanitizing = False
        saved = conv.autograde_preprocessors
        conv.autograde_preprocessors = [p for p in saved if not _is_execute(p, (Execute, RefuseUnsandboxed))]
        try:
            conv._init_preprocessors()
            BaseConverter.convert_single_notebook(conv, os.path.join(self.autograded_dir(student), notebook))
        finally:
            conv.autograde_preprocessors = saved
            conv._sanitizing = True
        conv.set_permissions(self.assignment, student)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            sub = gb.find_submission(self.assignment, student)
            if flags:  # ask for a human look in formgrader; the automatic scores stay as they are
                first = next((g for nb in sub.notebooks for g in nb.grades), None)
                if first is not None:
                    first.needs_manual_grade = True
                    try:
                        comment = gb.find_comment(first.name, first.notebook.name, self.assignment, student)
                        comment.auto_comment = "Flagged for review by the grader: " + "; ".join(flags)
                    except MissingEntry:
                        pass
                    gb.db.commit()
            tasks = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades}
            return sub.score, sub.max_score, tasks


def _is_execute(entry, classes):
    if isinstance(entry, str):
        return entry.rsplit(".", 1)[-1] in {c.__name__ for c in classes}
    return isinstance(entry, type) and issubclass(entry, classes)


# ------------------------------------------------------------------ workers

def _worker_main(slot, jobs, results):
    from . import sandbox, worker

    def stop(signum, frame):
        sandbox.kill_all()
        worker.remove_temporary()
        os._exit(1)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator decides
    while True:
        job = jobs.get()
        if job is None:
            return
        try:
            results.put(("ok", job["student"], worker.grade(job, slot=slot)))
        except Exception:  # noqa: BLE001
            results.put(("error", job["student"], traceback.format_exc()))


class Pool:
    def __init__(self, n):
        ctx = mp.get_context("spawn")
        self.jobs, self.results = ctx.Queue(), ctx.Queue()
        self.procs = [ctx.Process(target=_worker_main, args=(slot, self.jobs, self.results), daemon=True)
                      for slot in range(n)]
        for p in self.procs:
            p.start()

    def close(self, kill=False):
        for p in self.procs:
            if kill:
                p.terminate()
            else:
                self.jobs.put(None)
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()


# ------------------------------------------------------------------ bookkeeping

def _fingerprint(folder):
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            h.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(path + ".tmp", path)


def write_csv(path, records, task_ids):
    rows = sorted(records.values(), key=lambda r: r["student"])
    with open(path + ".tmp", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "score", "max_score"] + task_ids +
                     ["flagged", "flags", "mistakes", "seconds", "graded_at"])
        for r in rows:
            mistakes = "; ".join(f"{t}: {v['mistake']}" for t, v in r["verdicts"].items() if v.get("mistake"))
            out.writerow([r["student"], r["score"], r["max_score"]] +
                         [r["tasks"].get(t, ("", ""))[0] for t in task_ids] +
                         [int(bool(r["flags"])), " | ".join(r["flags"]), mistakes,
                          round(r["seconds"]["total"], 2), r["graded_at"]])
    os.replace(path + ".tmp", path)


# ------------------------------------------------------------------ the command

def parse_args(argv):
    p = argparse.ArgumentParser(prog="./course.sh grade", description=(
        "Autograde every collected submission of ASSIGNMENT, each in its own bubblewrap sandbox, "
        "in parallel. Results go to nbgrader's gradebook (formgrader, generate_feedback and export "
        "keep working) and to grades-ASSIGNMENT.csv."))
    p.add_argument("assignment")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)),
                   help="parallel submissions (default: the number of CPU cores)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again submissions already graded")
    p.add_argument("--timeout", type=float, help="seconds per cell (default: Execute.timeout of nbgrader_config.py)")
    p.add_argument("--grace", type=float, default=5.0,
                   help="seconds an interrupted cell gets before its kernel is killed (default 5)")
    p.add_argument("--memory-mb", type=int, default=1536, help="address-space limit per process (default 1536)")
    p.add_argument("--processes", type=int, default=64, help="process/thread limit per sandbox (default 64)")
    p.add_argument("--cpu-budget", action="append", default=[], metavar="TASK=SECONDS",
                   help="override a task's CPU budget (e.g. test_mlp=60)")
    p.add_argument("--seed", type=int, help="draw the hidden inputs from this seed (to reproduce a run)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run without bwrap (UNSAFE: for machines without it, and to measure its cost)")
    p.add_argument("--csv", help="where to write the CSV (default grades-ASSIGNMENT.csv)")
    p.add_argument("--keep-work", action="store_true", help="keep each submission's sandbox folders")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from . import catalogue as catalogue_mod
    from . import judge, sandbox
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    if not args.no_sandbox:
        ok, why = sandbox.probe()
        if not ok:
            print(f"error: {why}\nInstall bubblewrap (apt-get install bubblewrap) or see docs/grading.md. "
                  "--no-sandbox grades without isolation (unsafe).", file=sys.stderr)
            return 2
    else:
        say("WARNING: --no-sandbox: student code runs with your permissions (only for trusted submissions).")
    course = Course(args.assignment)
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(course.coursedir.db_url, course.coursedir.course_id) as gb:
        try:
            gb.find_assignment(args.assignment)
        except MissingEntry:
            print(f"error: {args.assignment} is not in the gradebook yet: run "
                  f"`nbgrader generate_assignment {args.assignment}` first (docs/instructor.md).", file=sys.stderr)
            return 2
    spec = judge.load_spec(course.source_dir)
    notebook = spec.NOTEBOOK
    timeout = args.timeout or float(course.config_value("Execute", "timeout", 180))
    state = os.path.join(STATE, args.assignment)
    done_dir, work_dir = os.path.join(state, "done"), os.path.abspath(os.path.join(state, "work"))
    csv_path = args.csv or f"grades-{args.assignment}.csv"
    budgets = {}
    for item in args.cpu_budget:
        task, _, seconds = item.partition("=")
        budgets[task] = float(seconds)
    if os.path.exists(os.path.join(course.source_dir, "grading", "catalogue.toml")):
        catalogue_mod.load(course.source_dir)  # fail early on a broken catalogue

    shared = None
    if hasattr(spec, "prepare_shared"):
        shared = os.path.abspath(os.path.join(state, "shared"))
        if not os.path.exists(os.path.join(shared, ".complete")):
            shutil.rmtree(shared, ignore_errors=True)
            spec.prepare_shared(shared)
            open(os.path.join(shared, ".complete"), "w").close()

    package = None
    if getattr(spec, "SWITCHED_OFF", ()):  # the notebook's sandbox gets minikeras without these kernels
        from . import switched_off, worker
        package = switched_off.build(worker.PACKAGE_DIR, os.path.abspath(os.path.join(state, "package", "minikeras")),
                                     spec.SWITCHED_OFF)

    students = course.students()
    if args.student:
        students = [s for s in students if s in set(args.student)]
    records, pending = {}, []
    for student in students:
        marker = os.path.join(done_dir, student + ".json")
        fp = _fingerprint(course.submitted_dir(student))
        if os.path.exists(marker) and not args.force:
            with open(marker) as f:
                record = json.load(f)
            if record.get("fingerprint") == fp and os.path.exists(os.path.join(course.autograded_dir(student), notebook)):
                records[student] = record
                continue
        pending.append((student, fp))
    say(f"{args.assignment}: {len(students)} submissions, {len(records)} already graded, "
        f"{len(pending)} to grade with {args.workers} worker(s)"
        f"{'' if not args.no_sandbox else ' WITHOUT a sandbox'}.")
    if not pending:
        if records:
            write_csv(csv_path, records, [t.id for t in spec.TASKS])
        return 0

    limits = {"memory_mb": args.memory_mb, "processes": args.processes}
    pool = Pool(min(args.workers, len(pending)))
    start, finished, failures, sanitize_notes, serial = time.monotonic(), 0, [], {}, 0.0
    fps = dict(pending)
    try:
        in_flight = 0
        for student, fp in pending:
            t = time.monotonic()
            path, notes = course.sanitize(student, notebook)
            serial += time.monotonic() - t
            sanitize_notes[student] = notes
            if path is None:
                failures.append((student, f"no {notebook} in the submission"))
                say(f"  {student}: no {notebook} submitted")
                continue
            pool.jobs.put(dict(assignment=args.assignment, student=student, notebook=os.path.abspath(path),
                               source_dir=os.path.abspath(course.source_dir), work_dir=work_dir,
                               shared_dir=shared, package_dir=package, timeout=timeout, grace=args.grace, limits=limits,
                               sandbox=not args.no_sandbox, seed=args.seed, budgets=budgets,
                               keep_work=args.keep_work))
            in_flight += 1
        while in_flight:
            status, student, payload = pool.results.get()
            in_flight -= 1
            if status != "ok":
                failures.append((student, payload))
                say(f"  {student}: grading failed:\n{payload}")
                continue
            payload["flags"] = sanitize_notes.get(student, []) + payload["flags"]
            t = time.monotonic()
            score, max_score, tasks = course.finalize(student, payload["flags"], notebook)
            serial += time.monotonic() - t
            record = dict(payload, score=score, max_score=max_score, tasks=tasks, fingerprint=fps[student],
                          graded_at=time.strftime("%Y-%m-%d %H:%M:%S"))
            _write_json(os.path.join(done_dir, student + ".json"), record)
            records[student] = record
            finished += 1
            write_csv(csv_path, records, [t.id for t in spec.TASKS])
            lost = [t for t, v in payload["verdicts"].items() if not v["passed"]]
            say(f"  [{finished}/{len(pending)}] {student}: {score:g}/{max_score:g}"
                f"{' (not passed: ' + ', '.join(lost) + ')' if lost else ''}"
                f"{' FLAGGED: ' + ' | '.join(payload['flags']) if payload['flags'] else ''}"
                f" [{payload['seconds']['total']:.1f} s]")
    except KeyboardInterrupt:
        pool.close(kill=True)
        print(f"\ninterrupted: {finished} graded and kept; run the same command again to grade the rest.",
              file=sys.stderr)
        return 130
    pool.close()
    elapsed = time.monotonic() - start
    shutil.rmtree(work_dir, ignore_errors=True)
    worker_seconds = sum(records[s]["seconds"]["total"] for s in fps if s in records)
    _write_json(os.path.join(state, "last_run.json"), {
        "graded": finished, "workers": min(args.workers, len(pending)), "sandbox": not args.no_sandbox,
        "seconds": elapsed, "coordinator_seconds": serial, "worker_seconds": worker_seconds})
    say(f"{finished} graded in {elapsed:.1f} s ({elapsed / max(1, finished):.2f} s per submission; "
        f"{serial / max(1, finished):.2f} s of it serial nbgrader work); grades in the gradebook and {csv_path}.")
    if failures:
        say(f"{len(failures)} could not be graded: {', '.join(s for s, _ in failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
