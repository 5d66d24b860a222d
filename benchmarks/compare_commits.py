"""Training speed of minikeras at several git commits, interleaved in one run (issue 8's
"no regression" check: before and after a refactor, each as a ratio to PyTorch).

    python benchmarks/compare_commits.py 9878403 b277f4c HEAD --repeats 7

Each commit is checked out into a temporary worktree and gets a worker process of its own that
builds the workloads of ``workloads.py`` once; the contenders (every commit and PyTorch) then take
turns on each workload, best of ``--repeats``. One thread each, so a second program on the
machine slows all contenders alike. Writes ``benchmarks/results/compare_commits.json``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STEPS = {"mlp32": 300, "mlp128": 120, "cnn": 6, "simple_rnn": 12}

WORKER = r'''
import json, sys
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[4])
import workloads
workloads.set_threads(1)
make = workloads.torch_runner if sys.argv[2] == "torch" else workloads.minikeras_runner
runners = {}
for name, steps in json.loads(sys.argv[3]).items():
    x, labels = workloads.make_data(name, steps)
    runners[name] = make(name, x, labels)
print("ready", flush=True)
for line in sys.stdin:
    name, steps = line.split()
    print(runners[name](int(steps)), flush=True)
'''


def start(tree, kind):
    env = dict(os.environ, PYTHONPATH=tree, KERAS_BACKEND="torch",
               **{v: "1" for v in ("OPENBLAS_NUM_THREADS", "MINIKERAS_NUM_THREADS", "OMP_NUM_THREADS")})
    proc = subprocess.Popen([sys.executable, "-c", WORKER, tree, kind, json.dumps(STEPS), HERE],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the worker for {tree} did not start")
    return proc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commits", nargs="+")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for commit in args.commits:
            tree = os.path.join(tmp, commit.replace("/", "_"))
            subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-f", tree, commit],
                           check=True, capture_output=True)
            trees[commit] = tree
        try:
            workers = {commit: start(tree, "minikeras") for commit, tree in trees.items()}
            workers["torch"] = start(ROOT, "torch")
            best = {who: {name: float("inf") for name in STEPS} for who in workers}
            for _ in range(args.repeats):
                for name, steps in STEPS.items():
                    for who, proc in workers.items():
                        proc.stdin.write(f"{name} {steps}\n")
                        proc.stdin.flush()
                        best[who][name] = min(best[who][name], float(proc.stdout.readline()))
            for proc in workers.values():
                proc.stdin.close()
                proc.wait()
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], capture_output=True)
    per_second = {who: {n: STEPS[n] / s for n, s in row.items()} for who, row in best.items()}
    result = {"threads": 1, "repeats": args.repeats, "steps": STEPS, "steps_per_second": per_second,
              "ratio_to_torch": {c: {n: per_second[c][n] / per_second["torch"][n] for n in STEPS} for c in args.commits}}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "compare_commits.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"{'commit':<12}" + "".join(f"{n:>12}" for n in STEPS))
    for commit, row in result["ratio_to_torch"].items():
        print(f"{commit:<12}" + "".join(f"{row[n]:>12.2f}" for n in STEPS))


if __name__ == "__main__":
    main()
