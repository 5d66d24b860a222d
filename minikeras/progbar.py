"""A text progress bar that redraws in place (``\\r``), in a terminal and in JupyterLab alike."""
import sys
import time


def format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in sorted(logs.items()))


def _format_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


class Progbar:
    """Shows ``step/target ━━━━━━ eta - metrics``; redraws at most every ``interval`` seconds."""

    def __init__(self, target, width=20, verbose=1, interval=0.1, stream=None, unit="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stream = stream or sys.stdout
        self.unit = unit
        self.start = time.perf_counter()
        self._last = 0.0
        self._last_len = 0

    def update(self, current, logs=None, finalize=False):
        if self.verbose != 1 and not finalize:
            return
        now = time.perf_counter()
        if not finalize and now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self.start
        done = self.target if finalize else current
        if self.target:
            filled = int(self.width * min(done, self.target) / self.target)
            bar = "━" * filled + "─" * (self.width - filled)
            head = f"{done}/{self.target} {bar}"
        else:
            head = f"{done}"
        per_step = elapsed / max(done, 1)
        if finalize:
            per = f"{per_step * 1000:.0f}ms" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us"
            timing = f"{_format_time(elapsed)} {per}/{self.unit}"
        else:
            eta = per_step * ((self.target or done) - done)
            timing = f"{_format_time(eta)} ETA"
        line = f"{head} {timing}"
        if callable(logs):
            logs = logs()
        if logs:
            line += " - " + format_logs(logs)
        if self.verbose == 1:
            pad = max(self._last_len - len(line), 0)
            self.stream.write("\r" + line + " " * pad + ("\n" if finalize else ""))
        else:
            self.stream.write(line + "\n")
        self._last_len = len(line)
        self.stream.flush()
