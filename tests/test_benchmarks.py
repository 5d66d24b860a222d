"""The benchmark command runs end to end (its quick mode, on two of the workloads): every part
writes its JSON and the Markdown table the README includes. Speed itself is never asserted."""
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def array_backend():
    """The benchmarks run on NumPy: once."""
    yield "numpy"


def test_run_all_quick_writes_results_and_table(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import run_all
    out = tmp_path / "results"
    result = run_all.main(["--quick", "--only", "mlp32", "cnn", "--threads", "1", "--skip", "memory",
                           "playground", "--out", str(out)])
    for name in ("limits", "speed", "profiles", "meta"):
        assert json.loads((out / f"{name}.json").read_text())
    speed = result["speed"]["1"]
    assert set(speed) == {"mlp32", "cnn"}
    assert speed["mlp32"]["steps_per_second"].keys() == {"minikeras", "torch", "numpy"}
    assert all(v > 0 for row in speed.values() for v in row["steps_per_second"].values())
    table = (out / "speed.md").read_text()
    assert "| Atienza CNN (Conv2D 64-64-64), Adam, batch 128 | 1 |" in table
    assert "conv2d backward" in table  # the per-kernel profile of the CNN
    profile = result["profiles"][0]
    assert profile["workload"] == "cnn"
    convs = [r for r in profile["rows"] if r["kernel"].startswith("conv2d forward")]  # one row per layer
    assert [r["calls"] for r in convs] == [1, 1, 1]
    assert sum(r["flops"] for r in convs) == pytest.approx(1.327e9, rel=0.01)


def test_readme_includes_the_benchmark_table():
    readme = (ROOT / "README.md").read_text()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run_all
    finally:
        sys.path.pop(0)
    begin, end = readme.index(run_all.MARK_BEGIN), readme.index(run_all.MARK_END)
    assert begin < end and "minikeras / PyTorch" in readme[begin:end]
