"""Bubblewrap sandboxes for student code: what a submission's process may see and use.

Each graded process (the notebook's kernel, the library-free replay) runs under ``bwrap``
(Debian's ``bubblewrap``) with new PID, network, IPC and UTS namespaces, so it has no
network and sees no other process. Its file system is built from nothing: the system's
``/usr`` and the Python installation read-only (data set folders masked), optionally the
minikeras package read-only, the judge's inputs read-only, and two writable folders: a
scratch copy of its own submission (its home and working directory) and an output folder.
The gradebook, ``solutions/``, other submissions and the course root are simply not there.

A small trusted launcher runs first inside the sandbox: it sets resource limits
(address space, processes, CPU seconds, file size, open files, no core dumps) and, when the
grader runs as root, drops to an unprivileged uid of its own per worker slot, so the
process limit counts only that sandbox. Without root, bwrap makes a user namespace instead
(``--unshare-user --disable-userns``); the process limit then counts all of the user's
processes, and is set that much higher.
"""
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT_UID_BASE = 64000  # sandbox uids when grading as root: one per worker slot
SANDBOX_UID = 1000  # the uid a sandbox sees in a user namespace (non-root grading)

LAUNCHER = r"""
import json, os, resource, sys
limits = json.loads(sys.argv[1])
for name, value in limits["rlimits"].items():
    resource.setrlimit(getattr(resource, name), (value[0], value[1]))
if limits.get("uid") is not None:
    os.setgroups([])
    os.setgid(limits["gid"])
    os.setuid(limits["uid"])
os.umask(0o077)
os.execv(sys.argv[2], sys.argv[2:])
"""

MASKED_SYSTEM_DIRS = ("/usr/share/datasets", "/usr/local/share/datasets")
# Packages that hold reference implementations of the kernels; absent in the library-free sandbox.
LIBRARY_PACKAGES = ("minikeras", "keras", "tensorflow", "torch", "jax", "jaxlib", "scipy", "sklearn",
                    "cupy", "cupyx", "tf_keras", "numba")


@dataclasses.dataclass
class Limits:
    """Resource limits of one sandboxed process tree."""

    memory_mb: int = 1536  # address space per process (RLIMIT_AS)
    processes: int = 64  # processes and threads (RLIMIT_NPROC)
    cpu_seconds: int = 900  # CPU seconds per process (RLIMIT_CPU); the judge's clocks come first
    file_mb: int = 256  # largest file it may write (RLIMIT_FSIZE)
    open_files: int = 256
    tmp_mb: int = 256  # size of its private /tmp


class SandboxUnavailable(RuntimeError):
    pass


def _bwrap():
    return shutil.which("bwrap")


def _root():
    return os.geteuid() == 0


def _count_own_tasks():
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += len(os.listdir(f"/proc/{entry}/task")) if os.stat(f"/proc/{entry}").st_uid == uid else 0
            except OSError:
                continue
    return count


class Sandbox:
    """How to start one process in a sandbox (or, with ``enabled=False``, without one).

    ``binds`` maps a name to ``(host_path, inside_path, writable)``; ``inside(name)`` gives
    the path the process sees, so the same command line works with and without bwrap.
    """

    def __init__(self, limits=None, slot=0, enabled=True):
        self.limits = limits or Limits()
        self.slot = slot
        self.enabled = enabled
        self.binds = {}
        self.packages = []  # package folders to mount read-only (their parents go on PYTHONPATH)
        self.masks = []
        self.hidden = []  # files or folders inside the mounted trees that the process must not see
        self.env = {}

    # -------------------------------------------------------------- layout

    def bind(self, name, host, inside, writable=False):
        self.binds[name] = (os.path.abspath(host), inside, writable)

    def inside(self, name):
        host, inside, _ = self.binds[name]
        return inside if self.enabled else host

    def mask_packages(self, names=LIBRARY_PACKAGES):
        """Hide these installed packages (as empty folders) from the sandbox."""
        import importlib.util
        for name in names:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                continue
            if spec is None:
                continue
            for loc in list(spec.submodule_search_locations or []) or [spec.origin]:
                if loc and os.path.exists(loc):
                    self.masks.append(os.path.abspath(loc))

    def hide(self, path):
        """Hide one file (as an empty file) or folder (as an empty one) of the mounted system,
        Python or packages, e.g. a data set's test split that ships inside a package."""
        self.hidden.append(os.path.abspath(path))

    # -------------------------------------------------------------- command

    @property
    def uid(self):
        return ROOT_UID_BASE + self.slot if (self.enabled and _root()) else None

    def prepare_writable(self, path):
        """Make ``path`` (a folder tree on the host) writable by the sandbox's user.

        ``lchown``: a symbolic link in a submission must never hand its target to the sandbox."""
        if self.uid is None:
            return
        for dirpath, dirnames, filenames in os.walk(path):
            os.lchown(dirpath, self.uid, self.uid)
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), self.uid, self.uid)

    def _rlimits(self):
        lim = self.limits
        processes = lim.processes
        if self.enabled and not _root() or not self.enabled:
            processes += _count_own_tasks()  # RLIMIT_NPROC counts every process of this user
        mb = 1 << 20
        return {
            "RLIMIT_AS": (lim.memory_mb * mb, lim.memory_mb * mb),
            "RLIMIT_NPROC": (processes, processes),
            "RLIMIT_CPU": (lim.cpu_seconds, lim.cpu_seconds + 5),
            "RLIMIT_FSIZE": (lim.file_mb * mb, lim.file_mb * mb),
            "RLIMIT_NOFILE": (lim.open_files, lim.open_files),
            "RLIMIT_CORE": (0, 0),
        }

    def _parents(self, path, made):
        out = []
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent not in made:
                made.add(parent)
                out += ["--perms", "0755", "--dir", parent]
        return out

    def _bwrap_args(self):
        if not _bwrap():
            raise SandboxUnavailable("bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
        args = [_bwrap(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
        if _root():
            # privileged bwrap (no user namespace); the launcher drops to self.uid
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-user", "--disable-userns", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
        args += ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for path in ("/etc/ld.so.cache", "/etc/localtime"):
            if os.path.exists(path):
                args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(self.limits.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
        made = {"/usr", "/tmp", "/proc", "/dev", "/etc"}
        trees = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
                        os.path.abspath(sys.prefix)})
        for tree in trees:
            args += self._parents(tree, made) + ["--ro-bind", tree, tree]
            made.add(tree)
        for path in self.packages:  # only the package itself: never the folder around it (the course)
            args += self._parents(path, made) + ["--ro-bind", path, path]
            made.add(path)
        for host, inside, writable in sorted(self.binds.values(), key=lambda b: b[1]):
            args += self._parents(inside, made) + ["--bind" if writable else "--ro-bind", host, inside]
            made.add(inside)
        for path in list(MASKED_SYSTEM_DIRS) + self.masks:
            if os.path.isdir(path) and any(path == t or path.startswith(t + "/") for t in trees + ["/usr"]):
                args += ["--tmpfs", path]
        for path in self.hidden:
            if any(path == t or path.startswith(t + "/") for t in trees + ["/usr"] + list(self.packages)):
                if os.path.isdir(path):
                    args += ["--tmpfs", path]
                elif os.path.exists(path):
                    args += ["--ro-bind", "/dev/null", path]
        args += ["--clearenv", "--chdir", self.inside("home") if "home" in self.binds else "/tmp"]
        for key, value in self._environment().items():
            args += ["--setenv", key, value]
        return args

    def _environment(self):
        home = self.inside("home") if "home" in self.binds else "/tmp"
        env = {
            "HOME": home, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
            "PATH": os.path.join(sys.prefix, "bin") + ":/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": os.pathsep.join(sorted({os.path.dirname(p) for p in self.packages})),
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "IPYTHONDIR": os.path.join(home, ".ipython"), "JUPYTER_RUNTIME_DIR": os.path.join(home, ".jupyter"),
            "TMPDIR": "/tmp" if self.enabled else home,
        }
        env.update(self.env)
        return env

    def command(self, argv):
        """The full command line: [bwrap ...] launcher limits argv..."""
        launcher_limits = {"rlimits": self._rlimits()}
        if self.uid is not None:
            launcher_limits.update(uid=self.uid, gid=self.uid)
        launch = [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(launcher_limits)] + list(argv)
        return (self._bwrap_args() if self.enabled else []) + launch

    def popen(self, argv, **kwargs):
        env = None
        if not self.enabled:
            env = self._environment()
            kwargs.setdefault("cwd", self.inside("home") if "home" in self.binds else None)
        proc = subprocess.Popen(self.command(argv), env=env, start_new_session=True, **kwargs)
        ACTIVE.add(proc)
        return proc


# ------------------------------------------------------------------ process trees

ACTIVE = set()  # sandboxes started by this process and not yet killed
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), sum(int(v) for v in fields[11:15])  # ppid, utime+stime+cutime+cstime


def tree(pid):
    """pid and all its descendants that are alive now."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = _stat(entry)[0]
            except (OSError, ValueError, IndexError):
                continue
    members, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in members:
                members.add(child)
                frontier.append(child)
    return members


def cpu_seconds(pid):
    """CPU seconds used by the process tree under ``pid`` (reaped children included)."""
    total = 0
    for member in tree(pid):
        try:
            total += _stat(member)[1]
        except (OSError, ValueError, IndexError):
            continue
    return total / _TICK


def kill_tree(proc):
    """SIGKILL the sandbox and everything in it; returns once the launcher is reaped."""
    members = tree(proc.pid) if proc.poll() is None else set()
    for sig_target in (lambda: os.killpg(proc.pid, signal.SIGKILL),):
        try:
            sig_target()
        except (ProcessLookupError, PermissionError):
            pass
    for member in members:
        try:
            os.kill(member, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    ACTIVE.discard(proc)


def kill_all():
    """Kill every sandbox this process started (a worker that is told to stop)."""
    for proc in list(ACTIVE):
        kill_tree(proc)


# ------------------------------------------------------------------ availability

_PROBE = {}


def probe():
    """(works, explanation): whether a bwrap sandbox can be started on this machine."""
    if "result" in _PROBE:
        return _PROBE["result"]
    if not _bwrap():
        result = (False, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    else:
        box = Sandbox(Limits(processes=16))
        try:
            proc = subprocess.run(box.command([sys.executable, "-I", "-S", "-c", "print('ok')"]),
                                  capture_output=True, text=True, timeout=60)
            ok = proc.returncode == 0 and proc.stdout.strip() == "ok"
            reason = "bwrap works" + (" (as root: privileged mode, one uid per worker)" if _root()
                                      else " (user namespace)")
            if not ok:
                reason = ("bwrap cannot start a sandbox here: " + (proc.stderr.strip() or proc.stdout.strip())[:300]
                          + (" (unprivileged user namespaces may be disabled: see docs/grading.md)"
                             if not _root() else ""))
            result = (ok, reason)
        except (OSError, subprocess.TimeoutExpired) as exc:
            result = (False, f"bwrap failed to run: {exc}")
    _PROBE["result"] = result
    return result


def wait_until(predicate, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
