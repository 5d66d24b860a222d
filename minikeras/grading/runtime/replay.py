"""Re-run a submission's cells without any library, and collect its kernels' outputs.

This is the process of the *library-free* sandbox: minikeras, Keras, PyTorch, SciPy and
friends are not on its file system at all (the grader masks them), and a stub answers
``import minikeras as keras`` so that a notebook's setup cell still runs. Cells run in
notebook order in an IPython shell; at each graded task the student's functions are
looked up and called on the judge's cases. Events go to the file descriptor the grader
passed, one JSON line each; the grader enforces every time limit from outside.
"""
import builtins
import importlib.abc
import importlib.machinery
import json
import os
import sys
import types

import numpy as np

from . import wire
from .calls import npy_loader, run_case


class LibraryUnavailable(RuntimeError):
    """Raised when graded kernel code touches a library while its kernels are graded."""


class _Stub(types.ModuleType):
    """Stands in for a blocked package: any attribute is another stub, any call raises."""

    def __init__(self, name):
        super().__init__(name)
        self.__path__ = []

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Stub(f"{self.__name__}.{attr}")

    def __call__(self, *args, **kwargs):
        raise LibraryUnavailable(
            f"`{self.__name__}` is not available while your kernels are graded: write this "
            "task with NumPy only (no minikeras, keras, scipy, torch, ...).")

    def __repr__(self):
        return f"<unavailable {self.__name__}>"


class _BlockedImports(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, top_names):
        self.top_names = set(top_names)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.top_names:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Stub(spec.name)

    def exec_module(self, module):
        pass


class Channel:
    def __init__(self, fd):
        self.stream = os.fdopen(fd, "w", buffering=1)

    def send(self, **event):
        self.stream.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.stream.flush()


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


def _run_task(step, user_ns, cases, data):
    injected = {}
    if step.get("context"):
        scope = {"np": np, "__builtins__": builtins}
        exec(compile(step["context"], "<reference context>", "exec"), scope)  # the judge's code
        injected = {k: v for k, v in scope.items() if k not in ("np", "__builtins__")}
    saved = {k: user_ns[k] for k in injected if k in user_ns}
    user_ns.update(injected)
    try:
        return [run_case(case, user_ns, data=data) for case in cases]
    finally:
        for k in injected:
            user_ns.pop(k, None)
        user_ns.update(saved)


def main(judge_dir, fd):
    with open(os.path.join(judge_dir, "plan.json")) as f:
        plan = json.load(f)
    with open(os.path.join(judge_dir, "cases.json")) as f:
        cases = wire.loads(f.read())
    channel = Channel(fd)
    sys.meta_path.insert(0, _BlockedImports(plan["blocked"]))
    for name in list(sys.modules):
        if name.split(".")[0] in plan["blocked"]:
            del sys.modules[name]
    shell = _shell()
    data = npy_loader(os.path.join(judge_dir, "data"))
    skip, done = set(plan.get("skip", [])), set(plan.get("done", []))
    for step in plan["steps"]:
        index = step["index"]
        if index in skip or step.get("task") in done:
            continue
        channel.send(e="start", i=index)
        if step["kind"] == "cell":
            result = shell.run_cell(step["source"], store_history=False)
            channel.send(e="end", i=index, ok=bool(result.success))
        else:
            records = _run_task(step, shell.user_ns, cases.get(step["task"], []), data)
            channel.send(e="result", i=index, task=step["task"], records=wire.encode(records))
    channel.send(e="finished")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
