"""Where the milliseconds of a minikeras training step go, kernel by kernel.

Every kernel pair bound with ``autodiff.function`` is wrapped with a timer (forward and
backward apart), and so is the optimizer's ``apply``; what is left of the step is the
framework itself (graph, fit loop, metrics). Each kernel's time is put next to its work:
floating-point operations for the products and convolutions (against the machine's sgemm
rate) and bytes read and written for the rest (against its copy bandwidth).

Run: ``python benchmarks/profile_kernels.py cnn [--threads 1] [--steps 10] [--cpu-clock]``.
"""
import argparse
import collections
import gc
import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402

GEMM_OPS = {"conv2d", "conv1d", "dense", "matmul", "simple_rnn", "lstm", "gru"}


def _nbytes(arrays):
    return sum(getattr(a, "nbytes", 0) for a in arrays if a is not None)


def _flat(out):
    return out if isinstance(out, tuple) else (out,)


def forward_cost(name, values, attrs, out):
    """(flops, bytes) of one forward call, from its arrays."""
    outs = _flat(out)
    moved = _nbytes(values) + _nbytes(outs)
    if name in ("conv2d", "conv1d"):
        kernel = values[1]
        per_output = 2 * kernel.size // kernel.shape[-1]  # 2 * kh * kw * cin
        return outs[0].size * per_output, moved
    if name in ("dense", "matmul"):
        return 2 * values[0].size * values[1].shape[-1], moved
    if name in ("simple_rnn", "lstm", "gru"):
        x, kernel, rec = values[:3]
        b, t, f = x.shape
        return 2 * b * t * (f + rec.shape[0]) * kernel.shape[1], moved
    if name == "max_pool2d":
        return 0, moved + 3 * outs[0].size  # three boolean masks of the output's size
    return 0, moved


PER_LAYER = {"conv2d", "max_pool2d", "batch_normalization_training", "relu"}


def _layer_of(name, values):
    """`` (128, 13, 13, 64)``: the input shape, for the kernels a CNN calls once per layer."""
    return f" {tuple(values[0].shape)}" if name in PER_LAYER else ""


def shapes_of(name, values):
    """What ``backward_cost`` needs to know about a forward call (kept small: no arrays)."""
    if name in ("simple_rnn", "lstm", "gru"):
        return tuple(values[0].shape), values[1].shape[1], values[2].shape[0]
    return None


def backward_cost(name, fwd, needs, grads):
    """(flops, bytes) of one backward call; ``fwd`` is (forward flops, output bytes, shapes)."""
    fwd_flops, out_bytes, shapes = fwd
    moved = out_bytes + _nbytes(grads)
    if name in ("conv2d", "conv1d", "dense", "matmul"):
        return fwd_flops * (int(bool(needs[0])) + int(bool(needs[1]))), moved
    if name in ("simple_rnn", "lstm", "gru"):
        (b, t, f), g, units = shapes
        flops = 2 * b * t * (f * g + 2 * units * g) + (2 * b * t * f * g if needs[0] else 0)
        return flops, moved
    return 0, moved


class Profiler:
    """Wraps every bound kernel of minikeras (and an optimizer) with timers while active."""

    def __init__(self, clock=time.perf_counter):
        from minikeras import autodiff
        self.clock = clock
        self.time = collections.defaultdict(float)
        self.calls = collections.Counter()
        self.flops = collections.defaultdict(float)
        self.bytes = collections.defaultdict(float)
        with warnings.catch_warnings():  # looking at every object touches deprecated attributes (torch's)
            warnings.simplefilter("ignore")
            self._functions = [f for f in gc.get_objects() if isinstance(f, autodiff.Function)]
        self._saved = []
        self._forward_seen = {}

    def _wrap_forward(self, fn, name):
        def timed(*values, **attrs):
            start = self.clock()
            out, cache = fn(*values, **attrs)
            key = f"{name} forward{_layer_of(name, values)}"
            self.time[key] += self.clock() - start
            self.calls[key] += 1
            flops, moved = forward_cost(name, values, attrs, out)
            self.flops[key] += flops
            self.bytes[key] += moved
            self._forward_seen[id(cache)] = (flops, _nbytes(_flat(out)), shapes_of(name, values),
                                             _layer_of(name, values))
            return out, cache
        return timed

    def _wrap_backward(self, fn, name):
        def timed(g, cache, needs):
            start = self.clock()
            grads = fn(g, cache, needs)
            elapsed = self.clock() - start
            fwd = self._forward_seen.pop(id(cache), None)
            key = f"{name} backward{fwd[3] if fwd else ''}"
            self.time[key] += elapsed
            self.calls[key] += 1
            if fwd is not None:
                flops, moved = backward_cost(name, fwd[:3], needs, grads)
                self.flops[key] += flops
                self.bytes[key] += moved
            return grads
        return timed

    def watch_optimizer(self, optimizer):
        apply = optimizer.apply

        def timed(*args, **kwargs):
            start = self.clock()
            result = apply(*args, **kwargs)
            self.time["optimizer apply"] += self.clock() - start
            self.calls["optimizer apply"] += 1
            grads = args[0] if args else kwargs.get("grads", ())
            self.bytes["optimizer apply"] += sum(getattr(g, "nbytes", 0) for g in grads) * 4
            return result
        optimizer.apply = timed
        self._saved.append((optimizer, "apply", None))

    def __enter__(self):
        for f in self._functions:
            self._saved.append((f, "forward", f.forward))
            self._saved.append((f, "backward", f.backward))
            f.forward = self._wrap_forward(f.forward, f.__name__)
            f.backward = self._wrap_backward(f.backward, f.__name__)
        return self

    def __exit__(self, *exc):
        for obj, attr, original in reversed(self._saved):
            if original is None:
                del obj.__dict__[attr]
            else:
                setattr(obj, attr, original)
        self._saved.clear()
        return False

    def reset(self):
        for d in (self.time, self.calls, self.flops, self.bytes, self._forward_seen):
            d.clear()


def profile(name, threads, steps=10, sgemm=None, bandwidth=None, cpu_clock=False):
    """Per-kernel table of one workload at ``threads`` threads: a list of rows (dicts) plus the
    step time. ``sgemm`` (GFLOP/s) and ``bandwidth`` (GB/s) are the limits for the percentages."""
    workloads.set_threads(threads)
    x, labels = workloads.make_data(name, steps)
    run = workloads.minikeras_runner(name, x, labels)
    clock = time.thread_time if cpu_clock else time.perf_counter
    prof = Profiler(clock)
    prof.watch_optimizer(run.model.optimizer)
    with prof:
        run(2)
        prof.reset()
        start = clock()
        run.model.fit(x, workloads_targets(name, labels), batch_size=workloads.BATCH[name], epochs=1, verbose=0)
        total = clock() - start
    rows = []
    for key in sorted(prof.time, key=lambda k: -prof.time[k]):
        ms = prof.time[key] / steps * 1e3
        flops = prof.flops[key] / steps
        moved = prof.bytes[key] / steps
        row = {"kernel": key, "ms": ms, "calls": prof.calls[key] // steps, "flops": flops, "bytes": moved}
        if flops and sgemm:
            row["gflops"] = flops / ms / 1e6
            row["percent_of_sgemm"] = 100 * row["gflops"] / sgemm
        elif moved and bandwidth:
            row["gbytes"] = moved / ms / 1e6
            row["percent_of_bandwidth"] = 100 * row["gbytes"] / bandwidth
        rows.append(row)
    kernels = sum(prof.time.values()) / steps * 1e3
    rows.append({"kernel": "framework (graph, fit loop, metrics)", "ms": total / steps * 1e3 - kernels,
                 "calls": 1, "flops": 0, "bytes": 0})
    return {"workload": name, "threads": threads, "step_ms": total / steps * 1e3,
            "step_flops": workloads.flops(name), "clock": "thread CPU time" if cpu_clock else "wall",
            "rows": rows}


def workloads_targets(name, labels):
    import numpy as np
    return labels if name.startswith("mlp") else np.eye(10, dtype="float32")[labels]


def format_table(result):
    lines = [f"{result['workload']}, {result['threads']} thread(s): {result['step_ms']:.1f} ms a step "
             f"({result['step_flops'] / 1e9:.2f} GFLOP), {result['clock']}",
             "| kernel | ms/step | calls | work | rate | % of limit |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        if r.get("gflops"):
            work, rate, pct = f"{r['flops'] / 1e6:.0f} MFLOP", f"{r['gflops']:.0f} GFLOP/s", r["percent_of_sgemm"]
        elif r.get("gbytes"):
            work, rate, pct = f"{r['bytes'] / 1e6:.1f} MB", f"{r['gbytes']:.1f} GB/s", r["percent_of_bandwidth"]
        else:
            work, rate, pct = "", "", None
        lines.append(f"| {r['kernel']} | {r['ms']:.2f} | {r['calls']} | {work} | {rate} | "
                     f"{'' if pct is None else f'{pct:.0f}%'} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload", choices=workloads.NAMES)
    parser.add_argument("--threads", type=int, default=workloads.default_threads())
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--cpu-clock", action="store_true",
                        help="time with the thread's CPU clock (steadier on a shared machine; 1 thread only)")
    parser.add_argument("--sgemm", type=float, help="GFLOP/s limit for the percentages")
    parser.add_argument("--bandwidth", type=float, help="GB/s limit for the percentages")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    result = profile(args.workload, args.threads, args.steps, args.sgemm, args.bandwidth, args.cpu_clock)
    print(format_table(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
