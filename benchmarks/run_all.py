"""Every speed benchmark of minikeras in one command.

    python benchmarks/run_all.py            # the full run (about 15 minutes on 2 cores)
    python benchmarks/run_all.py --quick    # a smoke test of the same code (about a minute)

It measures, and writes to ``benchmarks/results/`` (one JSON file per part, plus
``speed.md``, the Markdown tables the README includes between its ``speed-table`` markers;
``--readme`` rewrites that part of README.md):

1. the machine's limits: sgemm's rate (a 2048x2048 product) and copy bandwidth, at one thread
   and at the default thread count;
2. the six training workloads (``workloads.py``): minikeras against PyTorch on the CPU (and the
   MLP against a hand-written NumPy step), contenders alternated, best of ``--repeats``, at one
   thread and at the default thread count; each one's share of the sgemm limit;
3. where the time of a step goes, kernel by kernel (``profile_kernels.py``), for the CNN and the
   SimpleRNN at both thread counts;
4. peak memory (RSS) of one epoch (60,000 samples) of the CNN and the SimpleRNN, minikeras and
   PyTorch each in a fresh process;
5. the playground's epochs per second (the web app's default network), redrawing every epoch
   and not drawing at all (needs the course extra: ipywidgets, matplotlib).
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

import workloads  # noqa: E402
import profile_kernels  # noqa: E402

RESULTS = os.path.join(HERE, "results")
MARK_BEGIN, MARK_END = "<!-- speed-table:begin -->", "<!-- speed-table:end -->"


# ----------------------------------------------------------------------------- machine limits


def sgemm_rate(threads, size=2048, repeats=5):
    """GFLOP/s of a square float32 product at ``threads`` BLAS threads (best of ``repeats``)."""
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    with threadpool_limits(threads, user_api="blas"):
        a @ b
        best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def copy_bandwidth(threads, mbytes=64, repeats=5):
    """GB/s read plus written by a large array copy split over ``threads`` threads."""
    from concurrent.futures import ThreadPoolExecutor
    src = np.ones(mbytes << 18, dtype=np.float32)
    dst = np.empty_like(src)
    parts = np.array_split(np.arange(src.size), threads)
    bounds = [(p[0], p[-1] + 1) for p in parts]

    def copy(bound):
        dst[bound[0]:bound[1]] = src[bound[0]:bound[1]]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(copy, bounds))
        best = min(_seconds(lambda: list(pool.map(copy, bounds))) for _ in range(repeats))
    return 2 * src.nbytes / best / 1e9


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- training speed


def speeds(names, thread_counts, steps, repeats, with_torch=True):
    """Steps per second of every contender of every workload, alternated and best of ``repeats``."""
    from threadpoolctl import threadpool_limits
    out = {}
    for threads in thread_counts:
        workloads.set_threads(threads)
        for name in names:
            n_steps = steps[name]
            x, labels = workloads.make_data(name, n_steps)
            contenders = {"minikeras": workloads.minikeras_runner(name, x, labels)}
            if with_torch:
                contenders["torch"] = workloads.torch_runner(name, x, labels)
            if name.startswith("mlp"):
                contenders["numpy"] = workloads.numpy_runner(name, x, labels)
            best = {k: 0.0 for k in contenders}
            runs = {k: [] for k in contenders}
            for _ in range(repeats):
                for key, run in contenders.items():
                    if key == "numpy":  # the hand-written step calls BLAS directly, at this thread count
                        with threadpool_limits(threads, user_api="blas"):
                            rate = n_steps / run(n_steps)
                    else:
                        rate = n_steps / run(n_steps)
                    runs[key].append(rate)
                    best[key] = max(best[key], rate)
            row = {"steps_per_second": best, "all_runs": runs, "flops_per_step": workloads.flops(name)}
            if "torch" in best:
                row["ratio_vs_torch"] = best["minikeras"] / best["torch"]
                row["ratio_vs_torch_range"] = _ratio_range(runs["minikeras"], runs["torch"])
            if "numpy" in best:
                row["ratio_vs_numpy"] = best["minikeras"] / best["numpy"]
                row["ratio_vs_numpy_range"] = _ratio_range(runs["minikeras"], runs["numpy"])
            out.setdefault(str(threads), {})[name] = row
            print(f"  {threads} thread(s) {name:10s} " + ", ".join(f"{k} {v:.1f}/s" for k, v in best.items())
                  + "".join(f", {k} {row[k]:.2f}" for k in ("ratio_vs_torch", "ratio_vs_numpy") if k in row),
                  flush=True)
    return out


def _ratio_range(ours, theirs):
    """(lowest, highest) ratio of paired runs (run i of one against run i of the other)."""
    pairs = [a / b for a, b in zip(ours, theirs)]
    return [min(pairs), max(pairs)]


# ----------------------------------------------------------------------------- peak memory

_RSS_SCRIPT = r"""
import os, sys, time
sys.path.insert(0, {here!r})
os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np
import workloads

def peak_kib():  # the high-water mark of this process's memory (ru_maxrss survives exec on Linux)
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))

name, framework, n = {name!r}, {framework!r}, {samples}
x, labels = workloads.make_data(name, n // workloads.BATCH[name])
start = time.perf_counter()
steps = n // workloads.BATCH[name]
if framework == "minikeras":
    import minikeras
else:
    import torch
before = peak_kib()
run = (workloads.minikeras_runner if framework == "minikeras" else workloads.torch_runner)(name, x, labels)
run(steps)
print(before, peak_kib(), time.perf_counter() - start)
"""


def peak_memory(names, samples):
    """Peak RSS (MiB) of a fresh process that trains one epoch of ``samples`` random images
    (Linux: read from /proc/self/status)."""
    out = {}
    for name in names:
        for framework in ("minikeras", "torch"):
            code = _RSS_SCRIPT.format(here=HERE, name=name, framework=framework, samples=samples)
            import minikeras  # the child runs the minikeras this process runs
            here = os.path.dirname(os.path.dirname(os.path.abspath(minikeras.__file__)))
            env = dict(os.environ, PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", ""))
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-2000:])
            before, peak, seconds = proc.stdout.split()[-3:]
            out.setdefault(name, {})[framework] = {
                "peak_rss_mib": int(peak) / 1024, "data_and_imports_mib": int(before) / 1024,
                "epoch_seconds": float(seconds)}
            print(f"  {name} {framework}: peak RSS {int(peak) / 1024:.0f} MiB "
                  f"(before training {int(before) / 1024:.0f}), {float(seconds):.1f} s", flush=True)
    return out


# ----------------------------------------------------------------------------- playground


def playground_speed(seconds):
    """Epochs per second of ``Playground()`` (the web app's defaults), with and without redraws."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        from minikeras.widgets import Playground
    except ImportError as exc:
        print(f"  skipped: {exc}", flush=True)
        return {}
    import minikeras
    minikeras.backend.set_num_threads(workloads.default_threads())
    pg = Playground()
    pg.benchmark(0.5, redraw=True)  # warm-up
    out = {"redraw_every_epoch": pg.benchmark(seconds, redraw=True),
           "no_redraw": pg.benchmark(seconds, redraw=False)}
    print(f"  playground: {out['redraw_every_epoch']:.0f} epochs/s redrawing every epoch, "
          f"{out['no_redraw']:.0f} without drawing", flush=True)
    return out


# ----------------------------------------------------------------------------- reports


def markdown(meta, limits, speed, profiles, memory, playground=None):
    default = str(meta["default_threads"])
    lines = [f"Measured by `python benchmarks/run_all.py` on {meta['machine']} "
             f"({meta['date']}, {meta['wall_minutes']:.0f} min; load average {meta['load_before']:.1f} before, "
             f"{meta['load_after']:.1f} after). Steps per second are the best of {meta['repeats']} alternated "
             "runs; the range is the lowest and highest ratio of paired runs.", "",
             f"sgemm: {limits['sgemm_gflops']['1']:.0f} GFLOP/s on 1 thread, "
             f"{limits['sgemm_gflops'][default]:.0f} on {default}; copy bandwidth "
             f"{limits['copy_gbytes']['1']:.0f} and {limits['copy_gbytes'][default]:.0f} GB/s.", "",
             "| workload | threads | minikeras steps/s | PyTorch steps/s | minikeras / PyTorch (target) | "
             "minikeras / NumPy by hand | % of sgemm limit |", "|---|---|---|---|---|---|---|"]
    for threads in speed:
        for name, row in speed[threads].items():
            best = row["steps_per_second"]
            pct = 100 * row["flops_per_step"] * best["minikeras"] / (limits["sgemm_gflops"][threads] * 1e9)
            torch = f"{best['torch']:.1f}" if "torch" in best else ""
            target = workloads.TARGETS.get(name)
            vs_torch = (f"**{row['ratio_vs_torch']:.2f}** ({row['ratio_vs_torch_range'][0]:.2f}-"
                        f"{row['ratio_vs_torch_range'][1]:.2f})" + (f" (>= {target})" if target else "")
                        ) if "ratio_vs_torch" in row else ""
            vs_numpy = (f"{row['ratio_vs_numpy']:.2f} ({row['ratio_vs_numpy_range'][0]:.2f}-"
                        f"{row['ratio_vs_numpy_range'][1]:.2f})") if "ratio_vs_numpy" in row else ""
            lines.append(f"| {workloads.TITLES[name]} | {threads} | {best['minikeras']:.1f} | {torch} | "
                         f"{vs_torch} | {vs_numpy} | {pct:.0f}% |")
    if memory:
        lines += ["", "Peak memory (RSS) of one training epoch of 60,000 random 28x28 images, each in a fresh "
                  "process (in brackets: after the imports and the data, before the model):", "",
                  "| workload | minikeras | PyTorch |", "|---|---|---|"]
        for name, row in memory.items():
            cells = [f"{row[f]['peak_rss_mib']:.0f} MiB ({row[f]['data_and_imports_mib']:.0f})"
                     for f in ("minikeras", "torch")]
            lines.append(f"| {workloads.TITLES[name]} | {cells[0]} | {cells[1]} |")
    if playground:
        lines += ["", f"Playground (the web app's default network): {playground['redraw_every_epoch']:.0f} epochs/s "
                  f"redrawing every epoch, {playground['no_redraw']:.0f} without drawing."]
    for result in profiles:
        lines += ["", profile_kernels.format_table(result)]
    return "\n".join(lines) + "\n"


def update_readme(table):
    path = os.path.join(ROOT, "README.md")
    text = open(path, encoding="utf-8").read()
    if MARK_BEGIN not in text or MARK_END not in text:
        raise SystemExit(f"README.md has no {MARK_BEGIN} ... {MARK_END} section to update")
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head + MARK_BEGIN + "\n" + table + MARK_END + tail)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few steps of everything (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="alternated runs per contender (default 5)")
    parser.add_argument("--only", nargs="+", choices=workloads.NAMES, help="only these workloads")
    parser.add_argument("--threads", nargs="+", type=int, help="thread counts (default: 1 and all cores)")
    parser.add_argument("--skip", nargs="+", default=[], choices=["limits", "speed", "profile", "memory", "playground"])
    parser.add_argument("--out", default=RESULTS, help="folder for the JSON and Markdown results")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's speed-table section")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    default = workloads.default_threads()
    thread_counts = args.threads or sorted({1, default})
    names = args.only or workloads.NAMES
    repeats = args.repeats or (1 if args.quick else 5)
    steps = {name: 2 for name in names} if args.quick else {
        "mlp32": 256, "mlp128": 128, "cnn": 20, "simple_rnn": 40, "lstm": 30, "gru": 30, "cnn_bn": 20}
    os.makedirs(args.out, exist_ok=True)
    meta = {"machine": f"{platform.processor() or platform.machine()}, {default} cores available",
            "python": platform.python_version(), "numpy": np.__version__, "date": time.strftime("%Y-%m-%d"),
            "default_threads": default, "repeats": repeats, "quick": args.quick,
            "load_before": os.getloadavg()[0]}
    try:
        import torch
        meta["torch"] = torch.__version__
    except ImportError:
        torch = None
    limits = {}
    if "limits" not in args.skip:
        print("machine limits", flush=True)
        limits = {"sgemm_gflops": {str(t): sgemm_rate(t, 512 if args.quick else 2048) for t in {1, default}},
                  "copy_gbytes": {str(t): copy_bandwidth(t, 8 if args.quick else 64) for t in {1, default}}}
        print(f"  {limits}", flush=True)
        _write(args.out, "limits", limits)
    speed = {}
    if "speed" not in args.skip:
        print("training speed", flush=True)
        speed = speeds(names, thread_counts, steps, repeats, with_torch=torch is not None)
        _write(args.out, "speed", speed)
    profiles = []
    if "profile" not in args.skip:
        print("per-kernel profiles", flush=True)
        for name in [n for n in ("cnn", "simple_rnn") if n in names]:
            for threads in thread_counts:
                result = profile_kernels.profile(
                    name, threads, 2 if args.quick else 10, limits.get("sgemm_gflops", {}).get(str(threads)),
                    limits.get("copy_gbytes", {}).get(str(threads)))
                profiles.append(result)
                print(profile_kernels.format_table(result), flush=True)
        _write(args.out, "profiles", profiles)
    memory = {}
    if "memory" not in args.skip and torch is not None:
        print("peak memory of one epoch", flush=True)
        memory = peak_memory([n for n in ("cnn", "simple_rnn") if n in names], 512 if args.quick else 60000)
        _write(args.out, "memory", memory)
    playground = {}
    if "playground" not in args.skip:
        print("playground", flush=True)
        playground = playground_speed(0.5 if args.quick else 5.0)
        if playground:
            _write(args.out, "playground", playground)
    meta["wall_minutes"] = (time.perf_counter() - started) / 60
    meta["load_after"] = os.getloadavg()[0]
    meta["peak_rss_mib_of_this_run"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _write(args.out, "meta", meta)
    if limits and speed:
        table = markdown(meta, limits, speed, profiles, memory, playground)
        with open(os.path.join(args.out, "speed.md"), "w", encoding="utf-8") as fh:
            fh.write(table)
        if args.readme:
            update_readme(table)
    print(f"done in {meta['wall_minutes']:.1f} min; results in {args.out}", flush=True)
    return {"meta": meta, "limits": limits, "speed": speed, "profiles": profiles, "memory": memory,
            "playground": playground}


def _write(folder, name, data):
    with open(os.path.join(folder, f"{name}.json"), "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)


if __name__ == "__main__":
    main()
