"""Make sure a student's function does the work itself instead of calling minikeras.

Two layers of defence, both used by every kernel check:

* a static look at what the function refers to (its global names and closures, nested
  functions included): references to ``minikeras`` modules other than ``backend``, or to
  functions defined in ``minikeras.kernels``/``ops``/``activations``/``losses``, fail;
* :func:`library_blocked`, which swaps the code of every function in those modules for
  one that raises :class:`KernelBlockedError` while the student's function runs, so even a
  reference captured under another name (``from minikeras.kernels.dense import
  dense_forward as f``) or a call through ``keras.ops`` fails.
"""
import contextlib
import functools
import importlib
import pkgutil
import types

BLOCKED_PREFIXES = ("minikeras.kernels", "minikeras.ops", "minikeras.activations", "minikeras.losses")
ALLOWED_MODULES = ("minikeras.backend",)


class KernelBlockedError(AssertionError):
    """Raised when graded code calls one of minikeras's own kernels."""


def _blocked_modules():
    import minikeras.kernels as kernels
    names = ["minikeras.ops", "minikeras.activations", "minikeras.losses"]
    names += [f"minikeras.kernels.{m.name}" for m in pkgutil.iter_modules(kernels.__path__)]
    mods = [kernels]
    for name in names:
        try:
            mods.append(importlib.import_module(name))
        except ImportError:  # an optional kernel module (e.g. GPU only)
            continue
    return mods


def _blockable_functions():
    seen, out = set(), []
    for mod in _blocked_modules():
        for obj in vars(mod).values():
            if (isinstance(obj, types.FunctionType) and id(obj) not in seen
                    and (obj.__module__ or "").startswith(BLOCKED_PREFIXES)
                    and not obj.__code__.co_freevars):
                seen.add(id(obj))
                out.append(obj)
    return out


def _make_raiser(qualname):
    """A code object (no free variables, so it fits any plain function) that raises."""
    msg = (f"Your code called minikeras's own `{qualname}`. In this exercise you write the kernel "
           "yourself with NumPy (np.exp, np.maximum, @, ...), without minikeras.kernels, "
           "minikeras.ops, minikeras.activations or minikeras.losses.")
    src = ("def blocked(*args, **kwargs):\n"
           "    raise __import__('minikeras.grading.guard', fromlist=['guard']).KernelBlockedError("
           f"{msg!r})\n")
    ns = {}
    exec(compile(src, "<blocked kernel>", "exec"), ns)
    return ns["blocked"].__code__


@contextlib.contextmanager
def library_blocked():
    """While active, every minikeras kernel/op function raises KernelBlockedError."""
    funcs = _blockable_functions()
    saved = [f.__code__ for f in funcs]
    try:
        for f in funcs:
            f.__code__ = _make_raiser(f"{f.__module__}.{f.__qualname__}")
        yield
    finally:
        for f, code in zip(funcs, saved):
            f.__code__ = code


def _forbidden(obj):
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        return name.startswith("minikeras") and not name.startswith(ALLOWED_MODULES)
    module = getattr(obj, "__module__", None) or ""
    if callable(obj) and module.startswith(BLOCKED_PREFIXES):
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
    found = []
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
    """Fail when a student's function refers to minikeras's kernels (see module doc)."""
    for fn in fns:
        for name, obj in _referenced(fn):
            if _forbidden(obj):
                what = getattr(obj, "__name__", repr(obj))
                raise KernelBlockedError(
                    f"`{getattr(fn, '__name__', fn)}` uses `{name}` ({what}) from minikeras. Write this "
                    "kernel yourself with NumPy; minikeras's own kernels are what it is compared with.")


def call_student(fn, *args, **kwargs):
    """Run ``fn`` with minikeras's kernels switched off."""
    with library_blocked():
        return fn(*args, **kwargs)
