"""Call a student's functions on the judge's inputs and record what they return.

A *case* is a list of *steps*; each step names a function (or ``name.method``) in the
namespace it runs against, with arguments that are plain values, ``DataRef`` (a ``.npy``
file of the judge's) or ``OutRef`` (an earlier step's result, e.g. the student's own cache).
The same code runs the student's functions in the sandbox and the reference and the
catalogued mistakes in the judge, so every implementation sees exactly the same calls.

A step marked ``count`` also records how many Python and C function calls the call made
(``sys.setprofile``): a spec can then tell a vectorised kernel, whose count does not grow
with the input, from one that loops over its elements.
"""
import copy
import os
import sys
import time
import warnings

import numpy as np

from .wire import DataRef, OutRef

MESSAGE_LIMIT = 400


class MissingFunction(LookupError):
    pass


def _resolve(value, outputs, data):
    if isinstance(value, OutRef):
        result = outputs[value.path[0]]
        for index in value.path[1:]:
            result = result[index]
        return result
    if isinstance(value, DataRef):
        return data(value.name)
    if isinstance(value, np.ndarray):
        return value.copy()  # a fresh copy per call: in-place changes are the caller's own
    if isinstance(value, list):
        return [_resolve(v, outputs, data) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v, outputs, data) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, outputs, data) for k, v in value.items()}
    return copy.copy(value)


def lookup(namespace, dotted):
    head, *rest = dotted.split(".")
    if head not in namespace:
        raise MissingFunction(head)
    obj = namespace[head]
    for attr in rest:
        obj = getattr(obj, attr)
    return obj


def _pick(result, record):
    if record == "all":
        return result
    if record == "none":
        return None
    picked = result
    for index in record:
        picked = picked[index]
    return picked


def _mutated(before, after):
    changed = []
    for i, (b, a) in enumerate(zip(before, after)):
        if isinstance(b, np.ndarray) and isinstance(a, np.ndarray):
            if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                changed.append(i)
    return changed


def _error(exc):
    text = f"{exc}"
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT] + "..."
    return {"type": type(exc).__name__, "message": text}


def _call(fn, args, kwargs, count):
    """``fn(*args, **kwargs)``; with ``count``, also the number of function calls it made."""
    if not count:
        return fn(*args, **kwargs), None
    calls = [0]

    def profile(frame, event, arg):
        if event == "call" or event == "c_call":
            calls[0] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return result, calls[0]


def run_case(case, namespace, data=None, guard=None):
    """Run every step of ``case``; returns one record (a dict) per step.

    ``guard`` is an optional context-manager factory wrapped around each call (the
    notebook-side collector uses it to switch minikeras's kernels off).
    """
    data = data or (lambda name: None)
    outputs, records = [], []
    for step in case["steps"]:
        record = {}
        try:
            fn = lookup(namespace, step["fn"])
            if step.get("get"):  # a value the task defines (a table of weights), not a call
                outputs.append(fn)
                record["ok"] = _pick(fn, step.get("record", "all"))
                records.append(record)
                continue
            args = [_resolve(a, outputs, data) for a in step.get("args", [])]
            kwargs = {k: _resolve(v, outputs, data) for k, v in step.get("kwargs", {}).items()}
            originals = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                    count = bool(step.get("count"))
                    if guard is not None:
                        with guard():
                            result, n_calls = _call(fn, args, kwargs, count)
                    else:
                        result, n_calls = _call(fn, args, kwargs, count)
            record["seconds"] = time.perf_counter() - start
            if n_calls is not None:
                record["calls"] = n_calls
            outputs.append(result)
            record["ok"] = _pick(result, step.get("record", "all"))
            changed = _mutated(originals, args)
            if changed:
                record["mutated"] = changed
        except MissingFunction as exc:
            outputs.append(None)
            record = {"missing": str(exc)}
        except KeyboardInterrupt:  # the notebook executor's interrupt after a timeout
            raise
        except BaseException as exc:  # noqa: BLE001 (student code may raise anything, SystemExit included)
            outputs.append(None)
            record = {"error": _error(exc)}
        records.append(record)
    return records


def npy_loader(folder):
    """A ``data`` callable reading ``<folder>/<name>.npy`` without pickle."""
    cache = {}

    def load(name):
        if name not in cache:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"bad data name {name!r}")
            cache[name] = np.load(os.path.join(folder, name + ".npy"), allow_pickle=False)
        return cache[name].copy()
    return load
