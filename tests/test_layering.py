"""The layer order of the library (the table in the README, from the project design), enforced.

Every ``import`` in ``minikeras/`` (lazy ones inside functions included) may only reach a module
of its own level or of a level above it (a smaller number). The table gives every top-level
module its level; a module missing from it fails the test, so a new module is placed on purpose.
"""
import ast
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "minikeras"

LEVELS = {
    # 1. the bottom: arrays, nested structures, names, the object registry (and the version string)
    "backend": 1, "tree": 1, "naming": 1, "registry": 1, "version": 1,
    # 2. pure array kernels
    "kernels": 2,
    # 3. the autodiff engine (one binding point) and variables
    "autodiff": 3, "variables": 3,
    # 4. Keras's op namespace: every differentiable op, bound once
    "ops": 4,
    # 5. objects layers are configured with
    "initializers": 5, "regularizers": 5, "constraints": 5, "activations": 5,
    # 6. layers (they call ops only)
    "layers": 6,
    # 7. what training needs besides the model
    "losses": 7, "metrics": 7, "optimizers": 7, "callbacks": 7, "progbar": 7,
    # 8. models and their files
    "models": 8, "saving": 8,
    # 9. around models
    "datasets": 9, "utils": 9, "tuner": 9, "wrappers": 9, "model_visualization": 9, "preprocessing": 9,
    # 10. the course's clients of the library
    "widgets": 10, "grading": 10, "course": 10,
}
ROOT_LEVEL = 11  # ``minikeras`` itself (its __init__ imports everything)

# Imports that the order allows but the design does not: layers reach the kernels through ops.
FORBIDDEN = {("layers", "kernels"): "layers call minikeras.ops, never the kernels directly"}


def module_name(path, root=ROOT):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name, root):
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _resolve(node, module, is_package, root):
    """Absolute names of the modules an import statement in ``module`` loads: ``from pkg import
    name`` loads ``pkg.name`` when that is a module, else ``pkg`` itself."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[:len(package) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module
    subs = [f"{target}.{alias.name}" for alias in node.names if alias.name != "*"]
    modules = [name for name in subs if _is_module(name, root)]
    return modules + ([target] if len(modules) < len(subs) or not subs or node.module else [])


def _top(name):
    """``kernels`` for ``minikeras.kernels.conv``; None for a module outside the library."""
    parts = name.split(".")
    if parts[0] != "minikeras":
        return None
    return parts[1] if len(parts) > 1 else ""


def _level(top):
    return ROOT_LEVEL if top == "" else LEVELS.get(top)


def violations_in(source, module, is_package=False, filename="<source>", root=ROOT):
    """Every import in ``source`` (the text of ``module``) that goes against the order."""
    importer = _top(module)
    own = _level(importer)
    if own is None:
        return [f"{filename}: module {module!r} has no level in LEVELS; give it one"]
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        seen_tops = set()
        for target in _resolve(node, module, is_package, root):
            top = _top(target)
            if top is None or top in seen_tops:
                continue
            seen_tops.add(top)
            level = _level(top)
            where = f"{filename}:{node.lineno}"
            if level is None:
                found.append(f"{where}: {module} imports {target}, whose top module {top!r} has no level")
            elif level > own:
                found.append(f"{where}: {module} (level {own}) imports {target} (level {level})")
            elif (importer, top) in FORBIDDEN:
                found.append(f"{where}: {module} imports {target}: {FORBIDDEN[(importer, top)]}")
    return found


def violations(root=ROOT):
    out = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        out += violations_in(path.read_text(), module, path.name == "__init__.py", str(path.relative_to(root)),
                             root)
    return out


def test_every_import_respects_the_layer_order():
    assert violations() == []


def test_every_top_level_module_has_a_level():
    tops = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert tops - set(LEVELS) == set()


# ----------------------------------------------------------------------------- the test of the test
# The edges issue 8 found on the old code, each fed to the checker as source.
BAD_EDGES = [
    ("minikeras.kernels.conv", "def conv2d(x):\n    from ..autodiff import function\n"),
    ("minikeras.kernels.pooling", "def pool(x):\n    from ..ops import convert_to_tensor\n"),
    ("minikeras.kernels.recurrent", "from .. import autodiff\n"),
    ("minikeras.activations", "def get(name):\n    from .saving import get_registered_object\n"),
    ("minikeras.initializers", "def lookup(name):\n    from .saving import get_registered_object\n"),
    ("minikeras.layers.wrappers", "def get_config(self):\n    from ..saving.serialization import serialize\n"),
    ("minikeras.variables", "def make(shape):\n    from . import initializers\n"),
    ("minikeras.layers.convolutional", "from ..kernels import conv as conv_kernels\n"),
    ("minikeras.registry", "import minikeras.layers\n"),
    ("minikeras.saving.weights_io", "def version():\n    from .. import __version__\n"),
    ("minikeras.ops.nn", "from ..layers import Dense\n"),
]


@pytest.mark.parametrize("module,source", BAD_EDGES, ids=[m for m, _ in BAD_EDGES])
def test_the_checker_catches_each_bad_edge(module, source):
    assert len(violations_in(source, module)) == 1


def test_the_checker_allows_same_and_lower_levels():
    assert violations_in("from . import activations as A\nfrom ..backend import get_array_module\n",
                         "minikeras.kernels.conv") == []
    assert violations_in("from .. import ops, registry\nfrom ..autodiff import Tensor\nimport numpy as np\n",
                         "minikeras.layers.core") == []
    assert violations_in("from . import schedules\n", "minikeras.optimizers", is_package=True) == []
    assert violations_in("import os\n", "minikeras.nowhere")  # an unplaced module is reported


def test_a_bad_import_written_into_a_copy_of_the_library_fails(tmp_path):
    copy = tmp_path / "minikeras"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "bundled"))
    assert violations(copy) == []
    target = copy / "kernels" / "dense.py"
    target.write_text(target.read_text() + "\n\ndef _bad():\n    from ..models import Sequential  # noqa\n")
    found = violations(copy)
    assert len(found) == 1 and "kernels/dense.py" in found[0] and "minikeras.models" in found[0]
