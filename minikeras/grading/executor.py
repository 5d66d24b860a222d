"""Run a notebook's cells in a sandboxed IPython kernel, with the judge's clocks.

nbgrader's own executor interrupts a cell that runs too long and then waits for the kernel,
so a loop that swallows ``KeyboardInterrupt`` costs the whole notebook. Here each cell gets
a deadline; at the deadline the kernel is interrupted, and if it has not answered after a
short grace period the whole sandbox is killed (SIGKILL), a fresh kernel is started, and
the cells that ran before are run again silently (without the killed one) so the notebook
carries on: only the running cell's task is lost. The grader measures each cell's wall
time and the kernel's CPU time itself, from outside, and keeps only plain outputs (text and
PNG/JPEG images, with size caps): HTML or JavaScript from a submission never reaches the
instructor's browser.

The kernel talks to the grader over ZeroMQ's ``ipc`` transport (Unix sockets in a folder
bound into the sandbox), because the sandbox has no network at all.
"""
import dataclasses
import json
import os
import queue
import secrets
import shutil
import signal
import stat
import tempfile
import time

from . import sandbox as sb

TEXT_LIMIT = 200_000  # characters of text output kept per cell
IMAGE_LIMIT = 2 << 20  # bytes of one base64 image
IMAGES_PER_CELL = 10
SAFE_MIME = ("text/plain", "image/png", "image/jpeg")


@dataclasses.dataclass
class CellResult:
    index: int
    status: str = "not run"  # ok, error, timeout, killed, died, skipped
    outputs: list = dataclasses.field(default_factory=list)
    wall: float = 0.0
    cpu_after: float = 0.0  # kernel CPU seconds (this kernel's life) when the cell finished
    note: str = ""


class _Outputs:
    """Builds nbformat outputs from IOPub messages, keeping only safe, bounded content."""

    def __init__(self):
        self.items, self.text_chars, self.images, self.clear_pending = [], 0, 0, False
        self.truncated = False

    def _text(self, value):
        if isinstance(value, list):
            value = "".join(v for v in value if isinstance(v, str))
        if not isinstance(value, str):
            return ""
        room = TEXT_LIMIT - self.text_chars
        if room <= 0:
            self.truncated = True
            return ""
        if len(value) > room:
            self.truncated = True
            value = value[:room]
        self.text_chars += len(value)
        return value

    def _bundle(self, data):
        out = {}
        if not isinstance(data, dict):
            return out
        for mime in SAFE_MIME:
            value = data.get(mime)
            if mime == "text/plain":
                text = self._text(value)
                if text:
                    out[mime] = text
            elif isinstance(value, str) and len(value) <= IMAGE_LIMIT and self.images < IMAGES_PER_CELL:
                self.images += 1
                out[mime] = value
        return out

    def add(self, msg):
        kind, content = msg["header"].get("msg_type"), msg.get("content") or {}
        if kind == "clear_output":
            if content.get("wait"):
                self.clear_pending = True
            else:
                self.items = []
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        if self.clear_pending:
            self.items, self.clear_pending = [], False
        if kind == "stream":
            name = "stderr" if content.get("name") == "stderr" else "stdout"
            text = self._text(content.get("text"))
            if not text:
                return
            if self.items and self.items[-1]["output_type"] == "stream" and self.items[-1]["name"] == name:
                self.items[-1]["text"] += text
            else:
                self.items.append({"output_type": "stream", "name": name, "text": text})
        elif kind == "error":
            tb = content.get("traceback")
            tb = [self._text(t) for t in tb if isinstance(t, str)][:200] if isinstance(tb, list) else []
            self.items.append({"output_type": "error", "ename": self._text(str(content.get("ename", "")))[:200],
                               "evalue": self._text(str(content.get("evalue", "")))[:5000], "traceback": tb})
        else:
            data = self._bundle(content.get("data"))
            if not data:
                return
            if kind == "execute_result":
                count = content.get("execution_count")
                self.items.append({"output_type": "execute_result", "data": data, "metadata": {},
                                   "execution_count": count if isinstance(count, int) else None})
            else:
                self.items.append({"output_type": "display_data", "data": data, "metadata": {}})

    def result(self):
        items = self.items
        if self.truncated:
            items = items + [{"output_type": "stream", "name": "stdout",
                              "text": "\n[output truncated by the grader]\n"}]
        return items


class Kernel:
    """One sandboxed IPython kernel."""

    def __init__(self, box, kernel_dir, startup_timeout=120):
        self.box, self.kernel_dir, self.startup_timeout = box, kernel_dir, startup_timeout
        self.proc = self.client = self.kernel_pid = self.private = None

    def start(self):
        from jupyter_client import BlockingKernelClient
        os.makedirs(self.kernel_dir, mode=0o700, exist_ok=True)
        for name in os.listdir(self.kernel_dir):
            os.remove(os.path.join(self.kernel_dir, name))
        key = secrets.token_hex(32)
        tag = secrets.token_hex(4)
        ports = dict(shell_port=1, iopub_port=2, stdin_port=3, control_port=4, hb_port=5)
        base = dict(ports, key=key, transport="ipc", signature_scheme="hmac-sha256", kernel_name="python3")
        inside_dir = self.box.inside("kernel")
        with open(os.path.join(self.kernel_dir, "kernel.json"), "w") as f:
            json.dump(dict(base, ip=os.path.join(inside_dir, tag)), f)
        self.box.prepare_writable(self.kernel_dir)
        argv = [os.path.join(os.path.dirname(os.path.abspath(os.sys.executable)), "python"), "-s",
                "-m", "ipykernel_launcher", "-f", os.path.join(inside_dir, "kernel.json"),
                "--HistoryManager.hist_file=:memory:", "--HistoryManager.enabled=False",
                "--IPKernelApp.transport=ipc"]
        self.proc = self.box.popen(argv, stdin=open(os.devnull), stdout=open(os.devnull, "w"),
                                   stderr=open(os.devnull, "w"))
        sockets = [os.path.join(self.kernel_dir, f"{tag}-{p}") for p in ports.values()]
        ready = sb.wait_until(lambda: all(os.path.exists(s) for s in sockets) or self.proc.poll() is not None,
                              self.startup_timeout)
        if not ready or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("the sandboxed kernel did not start")
        # The client connects through hard links in a folder of its own, made before any student
        # code runs: whatever the sandbox later puts at the socket paths (a symlink to some other
        # socket of the host, say), ZeroMQ's reconnects still reach the kernel's own sockets.
        self.private = tempfile.mkdtemp(prefix="c", dir=os.path.dirname(self.kernel_dir))
        for path in sockets:
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                self.stop()
                raise RuntimeError("the sandboxed kernel did not create its sockets")
            os.link(path, os.path.join(self.private, os.path.basename(path)))
        self.client = BlockingKernelClient()
        self.client.load_connection_info(dict(base, ip=os.path.join(self.private, tag)))
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError:
            self.stop()
            raise
        self.kernel_pid = self._find_kernel_pid()

    def _find_kernel_pid(self):
        """The kernel's own process (not bwrap's, whose command lines also name the kernel)."""
        for pid in sorted(sb.tree(self.proc.pid)):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if len(argv) > 3 and argv[2] == b"-m" and argv[3] == b"ipykernel_launcher":
                return pid
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu(self):
        return sb.cpu_seconds(self.proc.pid) if self.alive() else 0.0

    def interrupt(self):
        if self.kernel_pid:
            try:
                os.kill(self.kernel_pid, signal.SIGINT)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self):
        if getattr(self, "private", None):
            shutil.rmtree(self.private, ignore_errors=True)
        if self.client is not None:
            try:
                self.client.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        if self.proc is not None:
            sb.kill_tree(self.proc)

    def run(self, source, timeout, grace):
        """Execute one cell. Returns (status, outputs)."""
        msg_id = self.client.execute(source, store_history=True, allow_stdin=False, stop_on_error=False)
        outputs = _Outputs()
        deadline = time.monotonic() + timeout
        interrupted_at = None
        idle = replied = False
        status = "ok"
        while not (idle and replied):
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self.interrupt()
                interrupted_at = now
                status = "timeout"
            elif interrupted_at is not None and now > interrupted_at + grace:
                return "killed", outputs.result()
            if not self.alive():
                return "died", outputs.result()
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    if msg["header"].get("msg_type") == "status":
                        idle = msg.get("content", {}).get("execution_state") == "idle"
                    else:
                        outputs.add(msg)
            except queue.Empty:
                pass
            except Exception:  # noqa: BLE001 (a malformed message is the student's loss)
                pass
            try:
                while True:
                    reply = self.client.get_shell_msg(timeout=0)
                    if reply.get("parent_header", {}).get("msg_id") == msg_id:
                        replied = True
                        if status == "ok" and reply.get("content", {}).get("status") != "ok":
                            status = "error"
            except queue.Empty:
                pass
            except Exception:  # noqa: BLE001
                pass
        return status, outputs.result()


def execute_notebook(nb, box, kernel_dir, timeout, grace=5.0, startup_timeout=120, max_restarts=8,
                     timeout_for=None, on_cell=None):
    """Run the code cells of ``nb`` (an nbformat notebook) in sandboxed kernels.

    Returns ``{index: CellResult}`` for every code cell. ``timeout_for(index)`` may give a
    cell its own limit; ``on_cell(result)`` is called after each cell.
    """
    results = {}
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            results[i] = CellResult(i, status="ok" if i not in code_cells else "not run")
    kernel, restarts, done = None, 0, []
    try:
        pos = 0
        while pos < len(code_cells):
            if kernel is None:
                kernel = Kernel(box, kernel_dir, startup_timeout)
                kernel.start()
                for j in done:  # bring a fresh kernel back to where the killed one was
                    if results[j].status in ("killed", "died", "timeout"):
                        continue
                    status, _ = kernel.run(nb.cells[j].source, timeout_for(j) if timeout_for else timeout, grace)
                    if status in ("killed", "died"):
                        results[j].note = "stopped again while it was re-run after a restart"
                        kernel.stop()
                        kernel = None
                        break
                if kernel is None:
                    restarts += 1
                    if restarts > max_restarts:
                        break
                    continue
            index = code_cells[pos]
            start = time.monotonic()
            limit = timeout_for(index) if timeout_for else timeout
            status, outputs = kernel.run(nb.cells[index].source, limit, grace)
            result = results[index]
            result.wall, result.status, result.outputs = time.monotonic() - start, status, outputs
            if status in ("killed", "died"):
                result.note = ("the kernel ignored the interrupt after the time limit and was killed"
                               if status == "killed" else "the kernel process ended during this cell")
                kernel.stop()
                kernel = None
                restarts += 1
            else:
                result.cpu_after = kernel.cpu()
            done.append(index)
            if on_cell:
                on_cell(result)
            pos += 1
            if kernel is None and restarts > max_restarts:
                break
        for index in code_cells[pos:]:
            results[index].status = "skipped"
            results[index].note = "not run: the kernel had to be restarted too many times"
    finally:
        if kernel is not None:
            kernel.stop()
    return results


# ------------------------------------------------------------------ the library-free replay

@dataclasses.dataclass
class ReplayResult:
    records: dict  # task id -> list of per-case step records (wire-decoded), or None
    timed_out: set  # tasks stopped at their deadline
    ended: set  # tasks during which the process ended by itself
    cell_status: dict
    restarts: int = 0
    protocol_errors: int = 0


def run_replay(box, judge_dir, plan, timeout, startup_timeout=60, max_restarts=12):
    """Run ``plan`` (see runtime/replay.py) in the library-free sandbox, restarting it
    without any cell or task that hangs or ends the process. Limits come from outside."""
    from .runtime import wire
    records, timed_out, ended, cell_status = {}, set(), set(), {}
    skip, restarts, protocol_errors = set(), 0, 0
    task_steps = {s["index"]: s["task"] for s in plan["steps"] if s["kind"] == "task"}
    lib_inside = os.path.dirname(box.inside("lib"))  # the folder holding the judge_runtime package
    while True:
        attempt = dict(plan, skip=sorted(skip), done=sorted(set(records) | timed_out | ended))
        with open(os.path.join(judge_dir, "plan.json"), "w") as f:
            json.dump(attempt, f)
        read_fd, write_fd = os.pipe()
        argv = [os.path.join(os.path.dirname(os.path.abspath(os.sys.executable)), "python"), "-s", "-c",
                f"import sys; sys.path.insert(0, {lib_inside!r}); "
                "from judge_runtime import replay; replay.main(sys.argv[1], int(sys.argv[2]))",
                box.inside("judge"), str(write_fd)]
        proc = box.popen(argv, stdin=open(os.devnull), stdout=open(os.devnull, "w"),
                         stderr=open(os.devnull, "w"), pass_fds=(write_fd,))
        os.close(write_fd)
        stream = os.fdopen(read_fd, "rb", buffering=0)
        current, deadline, finished, late = None, time.monotonic() + startup_timeout, False, False
        buffer = b""
        try:
            os.set_blocking(read_fd, False)
            while True:
                if time.monotonic() > deadline:
                    late = True
                    break
                chunk = None
                try:
                    chunk = stream.read(1 << 20)
                except BlockingIOError:
                    pass
                if chunk == b"":
                    break  # the process closed its end (or died)
                if chunk:
                    buffer += chunk
                    if len(buffer) > (256 << 20):
                        protocol_errors += 1
                        break
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        try:
                            event = json.loads(line)
                            kind = event["e"]
                        except (ValueError, KeyError, TypeError):
                            protocol_errors += 1
                            continue
                        if kind == "start" and isinstance(event.get("i"), int):
                            current = event["i"]
                            deadline = time.monotonic() + timeout
                        elif kind == "end" and event.get("i") == current:
                            cell_status[current] = "ok" if event.get("ok") else "error"
                            current = None
                            deadline = time.monotonic() + timeout
                        elif kind == "result" and event.get("i") == current and task_steps.get(current) == event.get("task"):
                            try:
                                records[event["task"]] = wire.decode(event["records"])
                            except wire.WireError:
                                protocol_errors += 1
                                records[event["task"]] = None
                            current = None
                            deadline = time.monotonic() + timeout
                        elif kind == "finished":
                            finished = True
                    if finished:
                        break
                else:
                    if proc.poll() is not None:
                        try:
                            rest = stream.read()
                        except BlockingIOError:
                            rest = None
                        if not rest:
                            break
                        buffer += rest
                        continue
                    time.sleep(0.01)
        finally:
            stream.close()
            sb.kill_tree(proc)
        if finished:
            break
        if current is None:
            break  # it never started or stopped between steps: nothing more to learn
        if current in task_steps:
            (timed_out if late else ended).add(task_steps[current])
        else:
            skip.add(current)
            cell_status[current] = "killed"
        restarts += 1
        if restarts > max_restarts:
            break
    return ReplayResult(records, timed_out, ended, cell_status, restarts, protocol_errors)
