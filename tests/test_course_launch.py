"""`./course.sh launch` (students) and `./course.sh instructor`, checked without a browser.

Each test copies the course folders and course.sh into a temporary folder, starts the real
command there on a free loopback port (with the environment running these tests, and no
install: MINIKERAS_NO_SETUP=1), and asks the server's REST API what it serves: the file tree,
nbgrader's server extensions and the JupyterLab plugins switched off in its page config.
Extra arguments (port, token, --no-browser) reach JupyterLab through course.sh; when the
tests run as root, as in containers and CI, the server must start all the same.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUDENT_OFF = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
               "@jupyter/nbgrader:course-list"}
TOKEN = "course-launch-test"


@pytest.fixture(autouse=True)
def array_backend():
    """No array backend is involved: run each test once."""
    yield "numpy"


@pytest.fixture
def course_copy(tmp_path):
    pytest.importorskip("jupyterlab")
    pytest.importorskip("nbgrader")
    if not shutil.which("bash"):
        pytest.skip("course.sh needs bash")
    copy = tmp_path / "course"
    copy.mkdir()
    for name in ("notebooks", "exercises", "solutions"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in ("course.sh", "nbgrader_config.py"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, folder, command):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MINIKERAS_VENV": sys.prefix, "MINIKERAS_NO_SETUP": "1",
               "JUPYTER_RUNTIME_DIR": str(folder.parent / "runtime"),
               "JUPYTER_CONFIG_DIR": str(folder.parent / "user-config")}
        env.pop("JUPYTER_CONFIG_PATH", None)
        self.log = open(folder.parent / f"{command}.log", "w+")
        self.proc = subprocess.Popen(
            ["bash", str(folder / "course.sh"), command, "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", f"--IdentityProvider.token={TOKEN}"],
            cwd=str(folder), env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"course.sh {command} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                self.get("/api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        self.stop()
        pytest.fail(f"course.sh {command}: no server after 120 s:\n{self.output()}")

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def request(self, path, method="GET"):
        sep = "&" if "?" in path else "?"
        req = urllib.request.Request(f"{self.base}{path}{sep}token={TOKEN}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def get(self, path):
        status, body = self.request(path)
        if status != 200:
            raise urllib.error.URLError(f"{path}: HTTP {status}")
        return body

    def tree(self, path=""):
        """Every file the server lets a user open, as paths relative to its root."""
        listing = json.loads(self.get(f"/api/contents/{path}"))
        found = []
        for item in listing["content"]:
            if item["type"] == "directory":
                found += self.tree(item["path"])
            else:
                found.append(item["path"])
        return found

    def disabled_plugins(self):
        page = self.get("/lab")
        config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                           page, re.S)
        return set(json.loads(config.group(1)).get("disabledExtensions", []))

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.request("/api/shutdown", method="POST")
                self.proc.wait(timeout=30)
            except Exception:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
        self.log.close()


def test_student_launch_serves_notebooks_and_exercises_only(course_copy):
    server = Server(course_copy, "launch")
    try:
        files = server.tree()
        assert {p.split("/")[0] for p in files} == {"notebooks", "exercises"}
        assert "exercises/01_perceptron/perceptron.ipynb" in files
        assert "notebooks/02_mlp.ipynb" in files
        for path in files:
            if path.endswith(".ipynb"):
                text = server.get(f"/api/contents/{path}?content=1")
                assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path
        # nbgrader: the students' assignment list answers, formgrader and the course list do not
        assert server.request("/assignments")[0] == 400          # alive: it wants a course_id
        assert server.request("/formgrader")[0] == 404
        assert server.request("/formgraders")[0] == 404
        assert STUDENT_OFF <= server.disabled_plugins()
    finally:
        server.stop()
    workspace = course_copy / "workspace"
    assert (workspace / "exercises" / "02_mlp" / "mlp.ipynb").is_file()
    assert not (workspace / "solutions").exists()


def test_student_launch_keeps_a_students_edits(course_copy):
    ws = course_copy / "workspace" / "notebooks"
    ws.mkdir(parents=True)
    (ws / "01_perceptron.ipynb").write_text("my own work")
    server = Server(course_copy, "launch")
    server.stop()
    assert (ws / "01_perceptron.ipynb").read_text() == "my own work"
    assert (ws / "02_mlp.ipynb").is_file()


def test_instructor_launch_serves_everything_with_formgrader(course_copy):
    server = Server(course_copy, "instructor")
    try:
        top = {p.split("/")[0] for p in server.tree()}
        assert {"solutions", "exercises", "notebooks", "nbgrader_config.py", "course.sh"} <= top
        assert server.request("/formgraders")[0] == 200
        assert not STUDENT_OFF & server.disabled_plugins()
    finally:
        server.stop()


def test_unknown_command_prints_the_usage(course_copy):
    proc = subprocess.run(["bash", str(course_copy / "course.sh"), "lanch"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "launch" in proc.stderr and "instructor" in proc.stderr
