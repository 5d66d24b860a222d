"""What `pip install minikeras` brings, what `import minikeras` loads, and what a fresh clone holds.

The library needs NumPy only; the course stack (JupyterLab, widgets, matplotlib, nbgrader)
and the test stack (pytest, Keras, PyTorch, Playwright) are extras. A clone must be
complete by itself: no tracked file over 3 MiB, and nothing outside the seed-listing test
reaching for the project's ``../shared`` folder.
"""
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
COURSE = {"jupyterlab", "ipykernel", "ipywidgets", "ipyevents", "matplotlib", "nbgrader", "scipy",
          "scikit-learn", "pydot"}
TEST = {"pytest", "pytest-xdist", "keras", "torch", "playwright", "tensorboard"}
# Imported by the course or test stacks, never by a plain `import minikeras`.
NOT_AT_IMPORT = ["matplotlib", "ipywidgets", "ipyevents", "nbgrader", "IPython", "jupyterlab",
                 "jupyter_server", "nbformat", "nbclient", "scipy", "PIL", "traitlets", "keras",
                 "torch", "pytest", "playwright"]


@pytest.fixture(autouse=True)
def array_backend():
    """Nothing here depends on the array backend: run each test once."""
    yield "numpy"


def _python(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environ.update(PYTHONPATH=str(ROOT), MINIKERAS_OFFLINE="1", OPENBLAS_NUM_THREADS="1", **env)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=environ, cwd=str(ROOT), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _requirement_names(reqs):
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in reqs}


def test_plain_import_loads_no_course_or_test_package():
    out = _python(f"""
        import sys
        import minikeras
        loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({NOT_AT_IMPORT!r}))
        print(loaded)
    """)
    assert out.strip() == "[]", f"`import minikeras` imported {out.strip()}"


def test_the_library_runs_with_numpy_alone(tmp_path):
    """As after `pip install minikeras`: every course and test package is made unimportable."""
    out = _python(f"""
        import importlib.abc, sys
        BLOCKED = set({NOT_AT_IMPORT!r})

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in BLOCKED:
                    raise ImportError(f"{{name}} is not installed (blocked by the test)")
                return None

        sys.meta_path.insert(0, Block())
        import numpy as np
        import minikeras as keras
        keras.utils.set_random_seed(0)
        (x, y), _ = keras.datasets.california_housing.load_data(test_split=0.2, version="small")
        x_digits, y_digits = keras.datasets.mnist.load_test_data()
        model = keras.Sequential([keras.Input((8,)), keras.layers.Normalization(),
                                  keras.layers.Dense(16, activation="gelu"), keras.layers.Dense(1)])
        model.layers[0].adapt(x)
        model.compile(optimizer="adam", loss="mse")
        history = model.fit(x, y / 1e5, epochs=3, verbose=0)
        model.save({str(tmp_path / "m.keras")!r})
        again = keras.saving.load_model({str(tmp_path / "m.keras")!r})
        same = np.allclose(again.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0))
        print(x_digits.shape, history.history["loss"][-1] < history.history["loss"][0], same)
    """)
    assert out.split("\n")[-2] == "(10000, 28, 28) True True"


def test_pyproject_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _requirement_names(project["dependencies"]) == {"numpy"}
    extras = project["optional-dependencies"]
    assert _requirement_names(extras["course"]) == COURSE
    assert "minikeras[course]" in extras["test"]
    assert _requirement_names(extras["test"]) - {"minikeras"} == TEST
    assert "gpu" in extras
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert any("bundled" in p for p in package_data["minikeras.datasets"])


def test_environment_yml_installs_the_course_and_test_stacks():
    text = (ROOT / "environment.yml").read_text()
    named = {n.lower() for n in re.findall(r"^\s*-\s*([A-Za-z0-9_.-]+)", text, flags=re.M)}
    assert COURSE | TEST | {"numpy"} <= named
    assert "download.pytorch.org/whl/cpu" in text, "torch must come from PyTorch's CPU index"


def test_readme_says_what_each_dependency_is_for():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Dependencies"):]
    section = section[:section.index("\n## ", 4)] if "\n## " in section[4:] else section
    for name in COURSE | TEST | {"numpy", "cupy"}:
        assert f"`{name}" in section, f"the README does not say what {name} is for"


# ----------------------------------------------------------------------------- a clone by itself
def _tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.stdout.decode().split("\0") if p]


def test_no_tracked_file_is_over_3_mib():
    big = [(str(p.relative_to(ROOT)), p.stat().st_size) for p in _tracked_files()
           if p.is_file() and p.stat().st_size > 3 * 1024 * 1024]
    assert big == []


SHARED_PATH = re.compile(r"\.\./shared|[\"']shared[\"']\s*/|/\s*[\"']shared[\"']")
# The tests that read seed listings (they skip cleanly without ../shared).
ALLOWED = {"tests/test_seed_listing.py", "tests/test_seed_listings_parity.py", "tests/test_seed_tuning.py",
           "tests/test_packaging.py"}


def test_nothing_run_by_users_or_tests_reaches_for_the_shared_folder():
    places = ["minikeras", "notebooks", "exercises", "solutions", "tests"]
    files = [p for d in places for p in (ROOT / d).rglob("*")
             if p.suffix in (".py", ".ipynb") and ".ipynb_checkpoints" not in p.parts]
    files += [ROOT / "course.sh", ROOT / ".ci" / "run", ROOT / "nbgrader_config.py"]
    offenders = [str(p.relative_to(ROOT)) for p in files
                 if p.is_file() and str(p.relative_to(ROOT)) not in ALLOWED
                 and SHARED_PATH.search(p.read_text(errors="replace"))]
    assert offenders == []
