"""Recognise minikeras's own kernels inside a student's function.

The rule "write the kernel yourself" is enforced by the grader's library-free sandbox
(minikeras is not on its file system at all, see :mod:`minikeras.grading.sandbox`). This
module provides what works *in* a process where minikeras is present: for instructors
checking a solution notebook, for the feedback a student gets from such a check, and for
the grader's static look at a submission's source:

* :func:`code_key` identifies a code object by its *contents* (bytecode, names, constants,
  nested code), not its identity, so a copied code object
  (``types.FunctionType(kernel.__code__, ...)``), a recompiled copy of the library's source
  and a renamed copy all match the original;
* :func:`library_blocked` switches every kernel/op function off while a student's function
  runs (their code objects are swapped for one that raises) and, with a trace hook,
  stops any frame whose code matches a library kernel by contents;
* :func:`assert_independent` refuses functions that refer to the library by name.
"""
import contextlib
import dis
import functools
import importlib
import pkgutil
import sys
import types

BLOCKED_PREFIXES = ("minikeras.kernels", "minikeras.ops", "minikeras.activations", "minikeras.losses")
ALLOWED_MODULES = ("minikeras.backend",)
# Shorter code (``return dy * (y > 0)``) is what anyone writes: only longer code counts as a copy.
MIN_KEY_INSTRUCTIONS = 20


class KernelBlockedError(AssertionError):
    """Raised when graded code calls one of minikeras's own kernels."""


def _blocked_modules():
    import minikeras.kernels as kernels
    names = ["minikeras.ops", "minikeras.activations", "minikeras.losses"]
    names += [f"minikeras.kernels.{m.name}" for m in pkgutil.iter_modules(kernels.__path__)]
    try:
        ops = importlib.import_module("minikeras.ops")
        if hasattr(ops, "__path__"):  # ops as a package
            names += [f"minikeras.ops.{m.name}" for m in pkgutil.iter_modules(ops.__path__)]
    except ImportError:
        pass
    mods = [kernels]
    for name in names:
        try:
            mods.append(importlib.import_module(name))
        except ImportError:  # an optional kernel module (e.g. GPU only)
            continue
    return mods


def _library_functions():
    seen, out = set(), []
    for mod in _blocked_modules():
        for obj in vars(mod).values():
            if (isinstance(obj, types.FunctionType) and id(obj) not in seen
                    and (obj.__module__ or "").startswith(BLOCKED_PREFIXES)):
                seen.add(id(obj))
                out.append(obj)
    return out


def _const_key(value):
    if isinstance(value, types.CodeType):
        return ("code", code_key(value))
    if isinstance(value, (tuple, frozenset)):
        return (type(value).__name__, tuple(_const_key(v) for v in value))
    return (type(value).__name__, repr(value))


@functools.lru_cache(maxsize=4096)
def code_key(code):
    """What a code object computes, independent of where it came from and what it is called."""
    return (code.co_code, code.co_names, tuple(_const_key(c) for c in code.co_consts),
            code.co_argcount, code.co_kwonlyargcount)


@functools.lru_cache(maxsize=4096)
def _long_enough(code):
    return sum(1 for _ in dis.get_instructions(code)) >= MIN_KEY_INSTRUCTIONS


@functools.lru_cache(maxsize=1)
def library_code_keys():
    """{code key: qualified name} of every kernel/op function (nested code included)."""
    keys = {}

    def add(code, name):
        if _long_enough(code):
            keys.setdefault(code_key(code), name)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                add(const, f"{name}.<{const.co_name}>")

    for fn in _library_functions():
        add(fn.__code__, f"{fn.__module__}.{fn.__qualname__}")
    return keys


def matches_library(code):
    """The library function ``code`` is a copy of, or None (nested code objects included)."""
    keys = library_code_keys()
    stack = [code]
    while stack:
        current = stack.pop()
        if _long_enough(current) and code_key(current) in keys:
            return keys[code_key(current)]
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return None


def _blocked_message(qualname):
    return (f"Your code ran minikeras's own `{qualname}`. In this exercise you write the kernel "
            "yourself with NumPy (np.exp, np.maximum, @, ...), without minikeras.kernels, "
            "minikeras.ops, minikeras.activations or minikeras.losses.")


def _make_raiser(qualname):
    """A code object (no free variables, so it fits any plain function) that raises."""
    src = ("def blocked(*args, **kwargs):\n"
           "    raise __import__('minikeras.grading.guard', fromlist=['guard']).KernelBlockedError("
           f"{_blocked_message(qualname)!r})\n")
    ns = {}
    exec(compile(src, "<blocked kernel>", "exec"), ns)
    return ns["blocked"].__code__


@contextlib.contextmanager
def library_blocked():
    """While active, minikeras's kernel/op functions raise KernelBlockedError, and so does
    any function whose code is a copy of one of them."""
    funcs = [f for f in _library_functions() if not f.__code__.co_freevars]
    saved = [f.__code__ for f in funcs]
    keys = library_code_keys()
    own = {id(c) for c in saved}

    def tracer(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if id(code) in own or (_long_enough(code) and code_key(code) in keys):
                raise KernelBlockedError(_blocked_message(keys.get(code_key(code), code.co_name)))
        return None

    previous = sys.gettrace()
    try:
        for f in funcs:
            f.__code__ = _make_raiser(f"{f.__module__}.{f.__qualname__}")
        sys.settrace(tracer)
        yield
    finally:
        sys.settrace(previous)
        for f, code in zip(funcs, saved):
            f.__code__ = code


def _forbidden(obj):
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        return name.startswith("minikeras") and not name.startswith(ALLOWED_MODULES)
    module = getattr(obj, "__module__", None) or ""
    if callable(obj) and module.startswith(BLOCKED_PREFIXES):
        return True
    if isinstance(obj, types.FunctionType) and matches_library(obj.__code__):
        return True
    return False


def _names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _referenced(fn, depth=0, seen=None):
    """(name, object) pairs that ``fn`` reaches through globals and closures, following
    the student's own helper functions a few levels down."""
    seen = set() if seen is None else seen
    if id(fn) in seen or depth > 4:
        return []
    seen.add(id(fn))
    fn = getattr(fn, "__wrapped__", fn)
    if isinstance(fn, functools.partial):
        fn = fn.func
    if not isinstance(fn, types.FunctionType):
        return []
    found = [("(itself)", fn)] if depth == 0 else []
    g = fn.__globals__
    candidates = [(n, g[n]) for n in _names(fn.__code__) if n in g]
    if fn.__closure__:
        candidates += [(n, c.cell_contents) for n, c in zip(fn.__code__.co_freevars, fn.__closure__)
                       if _has_contents(c)]
    for name, obj in candidates:
        found.append((name, obj))
        if isinstance(obj, types.FunctionType) and not (obj.__module__ or "").startswith("minikeras"):
            found += _referenced(obj, depth + 1, seen)
    return found


def _has_contents(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def assert_independent(*fns):
    """Fail when a student's function refers to (or is a copy of) minikeras's kernels."""
    for fn in fns:
        for name, obj in _referenced(fn):
            if _forbidden(obj):
                what = matches_library(obj.__code__) if isinstance(obj, types.FunctionType) and \
                    not (obj.__module__ or "").startswith("minikeras") else getattr(obj, "__name__", repr(obj))
                raise KernelBlockedError(
                    f"`{getattr(fn, '__name__', fn)}` uses `{name}` ({what}) from minikeras. Write this "
                    "kernel yourself with NumPy; minikeras's own kernels are what it is compared with.")


def call_student(fn, *args, **kwargs):
    """Run ``fn`` with minikeras's kernels switched off."""
    with library_blocked():
        return fn(*args, **kwargs)
