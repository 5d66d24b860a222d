"""A copy of minikeras in which the kernels an assignment asks for are switched off.

A task graded in the notebook's own kernel (training a CNN "from your own layers") must not
be passable with the library's layers. The notebook's sandbox therefore mounts, instead of
the package itself, a copy in which the functions named by the spec
(``SWITCHED_OFF = ("kernels.conv.conv2d_forward", ...)``) are removed from their module's
source and replaced by stubs that raise :class:`LibraryKernelSwitchedOff`. Everything that
reaches them (``keras.layers.Conv2D``, ``keras.ops.conv``, ...) then fails with a message that
says why, while the rest of the library (Dense, Flatten, the optimizers, fit) works. The
original code is not in the copy at all, so nothing inside the sandbox can bring it back.
"""
import ast
import os
import shutil

STUB = '''

class LibraryKernelSwitchedOff(RuntimeError):
    """minikeras's own kernel was called where the assignment's own kernels must run."""


def _switched_off(name):
    def switched_off(*args, **kwargs):
        raise LibraryKernelSwitchedOff(
            f"minikeras's own `{name}` is switched off while this assignment is graded: the graded "
            "model must run on your kernels (the layers made with minikeras.grading.plug).")
    switched_off.__name__ = name
    return switched_off
'''


def _by_module(names):
    out = {}
    for dotted in names:
        module, _, function = dotted.rpartition(".")
        if not module or not function:
            raise ValueError(f"SWITCHED_OFF entries are 'module.function' inside minikeras, got {dotted!r}")
        out.setdefault(module, []).append(function)
    return out


def patched_source(source, functions, where="<module>"):
    """``source`` without the top-level functions ``functions``, each replaced by a stub."""
    tree = ast.parse(source)
    found = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    missing = sorted(set(functions) - found)
    if missing:
        raise ValueError(f"{where} has no top-level function {', '.join(missing)} to switch off")
    tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name in functions)]
    stubs = "".join(f"{name} = _switched_off({name!r})\n" for name in functions)
    return ast.unparse(tree) + "\n" + STUB + "\n\n" + stubs


def build(package_dir, dest, names):
    """Write to ``dest`` (a folder named like the package) a copy of ``package_dir`` with the
    functions ``names`` (dotted paths inside the package) switched off; returns ``dest``.
    The names are checked before anything is written."""
    by_module = _by_module(names)
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(package_dir, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for module, functions in by_module.items():
        path = os.path.join(dest, *module.split(".")) + ".py"
        if not os.path.isfile(path):
            raise ValueError(f"SWITCHED_OFF names the module {module!r}, which is not in {package_dir}")
        with open(path, encoding="utf-8") as f:
            source = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(patched_source(source, functions, where=module))
    return dest
