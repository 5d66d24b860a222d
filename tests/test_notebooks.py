"""The chapter notebooks run top to bottom, and the perceptron widget's logic is right.

Every ``notebooks/*.ipynb`` is found, copied into a temporary folder and executed with
nbclient in quick mode (``MINIKERAS_QUICK=1``); a new chapter is tested by adding its file.
For a notebook listed in ``KEY_RESULTS``, an extra cell appended to the copy prints its key
results as JSON, which the notebook's entry in ``CHECKS`` then checks; a notebook with no
entry must still run without an error. The committed notebooks must carry no outputs.
"""
import json
import os
import pathlib
import shutil
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULT_TAG = "NOTEBOOK-RESULTS:"
NOTEBOOK_NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))

# Expressions evaluated in the kernel after the notebook has run; their values come back as JSON.
KEY_RESULTS = {
    "01_perceptron.ipynb": {
        "quick": "QUICK",
        "heaviside_at_zero": "int(heaviside(0.0))",
        "sgn_at_zero": "int(sgn(0.0))",
        "and_gate": "gates['AND'].tolist()",
        "or_gate": "gates['OR'].tolist()",
        "train_errors": "train_errors",
        "mistakes": "[int(m) for m in mistakes]",
        "shoe_test_accuracy": "shoe_test_accuracy",
        "widget_converged": "bool(trainer.converged)",
        "xor_mistakes_last_epoch": "int(xor_trainer.mistakes_per_epoch[-1])",
        "xor_best_linear": "xor_best_linear",
        "hand_xor": "hand_xor.tolist()",
        "trained_xor": "trained_xor.tolist()",
    },
    "02_mlp.ipynb": {
        "quick": "QUICK",
        "hand_grads": "[dL_dw, dL_db]",
        "engine_grads": "[w_s.grad, b_s.grad]",
        "tape_grads": "[grad_w, grad_b]",
        "fd_grads": "[fd_w, fd_b]",
        "gradcheck_error": "gradcheck_error",
        "params": "classifier.count_params()",
        "history_keys": "sorted(fashion_history.history)",
        "epochs_run": "len(fashion_history.history['loss'])",
        "test_accuracy": "float(test_accuracy)",
        "confusion_total": "int(confusion.sum())",
        "n_test": "len(y_test)",
        "house_mae": "float(house_mae)",
        "house_rmse": "float(house_rmse)",
        "wd_loss": "float(wd_scores['loss'])",
        "wd_weighted": "float(weighted)",
        "n_predict_outputs": "len(wd_model.predict(split_inputs(X_house_test[:2]), verbose=0))",
        "reload_max_diff": "float(np.abs(before - after).max())",
        "checkpoint_loss": "float(checkpoint_loss)",
        "best_val_loss": "float(min(val_losses))",
    },
    "03_cnn.ipynb": {
        "quick": "QUICK",
        "gaps": "[dense_permutation_gap, conv_layer_gap, strided_gap, pooling_gap]",
        "size_table": "[list(row) for row in size_table]",
        "measured_fields": "measured_fields",
        "receptive_fields": "receptive_fields",
        "params": "[cnn.count_params(), mlp.count_params(), bn_cnn.count_params()]",
        "history_keys": "sorted(cnn_history.history)",
        "epochs_run": "[len(cnn_history.history['loss']), len(bn_history.history['loss'])]",
        "cnn_test_accuracy": "float(cnn_test_accuracy)",
        "mlp_test_accuracy": "float(mlp_test_accuracy)",
        "scrambled_accuracy": "scrambled_accuracy",
        "plain_accuracy": "plain_accuracy",
        "first_kernels_shape": "list(first_kernels.shape)",
        "feature_map_shapes": "[list(m.shape) for m in example_maps]",
        "n_misclassified": "len(misclassified)",
        "confusion_total": "int(cnn_confusion.sum())",
        "n_eval": "len(y_eval)",
        "digits_accuracy": "digits_accuracy",
        "explorer_gap": "explorer_gap",
        "explorer_positions": "explorer.core.geometry.positions",
        "explorer_redraws": "explorer_redraws",
    },
    "04_rnn.ipynb": {
        "quick": "QUICK",
        "unroll_max_diff": "unroll_max_diff",
        "grad_ratio": "{str(k): v for k, v in grad_ratio.items()}",
        "clip_step_max_diff": "clip_step_max_diff",
        "clip_losses": "{str(k): v for k, v in clip_losses.items()}",
        "lstm_params": "lstm_params",
        "gru_params": "gru_params",
        "vowel_accuracy": "vowel_accuracy",
        "gates_max_diff": "gates_max_diff",
        "pad_change": "[pad_change_pre, pad_change_post]",
        "mask_change": "[mask_change_pre, mask_change_post]",
        "masking_accuracy": "{k: list(v) for k, v in masking_accuracy.items()}",
        "rnn_params": "rnn_params",
        "row_accuracy": "row_accuracy",
        "forecast_mae": "forecast_mae",
        "text_name": "text_name",
        "text_accuracy": "text_accuracy",
        "explorer_at_end": "bool(explorer.core.at_end)",
        "explorer_matches_model": "explorer_matches_model",
        "seconds": "time.perf_counter() - notebook_start",
    },
}


@pytest.fixture(autouse=True)
def array_backend():
    """Overrides conftest's per-backend parametrisation: the notebooks run in their own kernel
    and the widget is plain NumPy, so each test here runs once."""
    yield "numpy"


# --------------------------------------------------------------------------- helpers

def _fashion_mnist_missing():
    """Why the notebooks cannot run here (no Fashion-MNIST on this machine), or None."""
    from minikeras.datasets import DatasetNotFoundError, fashion_mnist
    try:
        fashion_mnist.load_data()
    except DatasetNotFoundError as exc:
        return f"Fashion-MNIST is not on this machine: {str(exc).splitlines()[0]}"
    return None


def execute_notebook(name, workdir, monkeypatch):
    """Run a copy of notebooks/<name> in quick mode; return (executed notebook, results, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    copy = pathlib.Path(workdir) / name
    shutil.copy(NOTEBOOKS / name, copy)
    nb = nbformat.read(copy, as_version=4)
    fields = ", ".join(f"{key!r}: {expr}" for key, expr in KEY_RESULTS.get(name, {}).items())
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json as _json\nprint({RESULT_TAG!r} + _json.dumps({{{fields}}}, default=float))"))

    monkeypatch.setenv("MINIKERAS_QUICK", "1")
    monkeypatch.setenv("MINIKERAS_OFFLINE", "1")
    # One BLAS thread: the models are small, and on a busy machine OpenBLAS's spinning
    # worker threads slow minikeras's training steps down by an order of magnitude.
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    reason = _fashion_mnist_missing() if "fashion_mnist" in (NOTEBOOKS / name).read_text() else None
    if reason:
        pytest.skip(reason)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, copy)

    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    line = next(l for l in last.splitlines() if l.startswith(RESULT_TAG))
    return nb, json.loads(line[len(RESULT_TAG):]), seconds


def count_images(nb):
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)


def all_text(nb):
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


# --------------------------------------------------------------------------- notebooks

@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_committed_notebook_is_clean(name):
    import nbformat
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: commit notebooks without outputs"
            assert cell.execution_count is None, f"{name}: clear execution counts before committing"


def check_perceptron(nb, r):
    assert r["quick"] is True
    assert r["heaviside_at_zero"] == 1 and r["sgn_at_zero"] == 0
    assert r["and_gate"] == [0, 0, 0, 1] and r["or_gate"] == [0, 1, 1, 1]
    # the perceptron rule made mistakes at first, then converged on real images
    assert r["train_errors"] == 0 and r["mistakes"][-1] == 0 and sum(r["mistakes"]) > 0
    assert r["shoe_test_accuracy"] > 0.95
    assert r["widget_converged"]
    # XOR: no line does better than 3 of 4; hand-wired and trained MLPs get all 4
    assert r["xor_mistakes_last_epoch"] > 0 and r["xor_best_linear"] == 0.75
    assert r["hand_xor"] == [0, 1, 1, 0] and r["trained_xor"] == [0, 1, 1, 0]
    assert count_images(nb) >= 5
    assert "all checks passed" in all_text(nb)


def check_mlp(nb, r):
    assert r["quick"] is True
    np.testing.assert_allclose(r["engine_grads"], r["hand_grads"], rtol=1e-9)
    np.testing.assert_allclose(r["tape_grads"], r["hand_grads"], rtol=1e-6)
    np.testing.assert_allclose(r["fd_grads"], r["hand_grads"], rtol=1e-5)
    assert r["gradcheck_error"] < 1e-6
    assert r["params"] == 266_610
    assert r["history_keys"] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert r["epochs_run"] == 3
    assert r["test_accuracy"] > 0.6          # 3 epochs on 3,000 images; the full run reaches ~0.88
    assert r["confusion_total"] == r["n_test"]
    assert 0 < r["house_mae"] < 1.0 and r["house_mae"] < r["house_rmse"]   # units of $100k
    assert r["wd_weighted"] == pytest.approx(r["wd_loss"], rel=1e-3)
    assert r["n_predict_outputs"] == 2
    assert r["reload_max_diff"] < 1e-6
    assert r["checkpoint_loss"] == pytest.approx(r["best_val_loss"], rel=1e-3)
    assert count_images(nb) >= 8
    assert "all checks passed" in all_text(nb)


# What each notebook listed in KEY_RESULTS must show, keyed by file name.
CHECKS = {"01_perceptron.ipynb": check_perceptron, "02_mlp.ipynb": check_mlp}


def test_result_tables_name_existing_notebooks():
    assert set(KEY_RESULTS) <= set(NOTEBOOK_NAMES) and set(CHECKS) == set(KEY_RESULTS)
    assert {"01_perceptron.ipynb", "02_mlp.ipynb", "playground.ipynb"} <= set(NOTEBOOK_NAMES)


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_runs(name, tmp_path, monkeypatch):
    reason = PRECONDITIONS[name]() if name in PRECONDITIONS else None
    if reason:
        pytest.skip(reason)
    nb, r, seconds = execute_notebook(name, tmp_path, monkeypatch)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == [], f"{name}: {errors[0].ename}: {errors[0].evalue}" if errors else ""
    if name in CHECKS:
        CHECKS[name](nb, r)
    print(f"{name}: quick mode took {seconds:.0f}s")  # reported, not asserted: speed lives in benchmarks/


def _text_data_missing():
    """Why 04_rnn's text section cannot run here (neither IMDB nor Debian's fortunes), or None."""
    from minikeras.datasets import _files, fortunes, imdb
    if fortunes.find_dir(fortunes.DEFAULT_CATEGORIES) or _files.find(imdb.NPZ, imdb.SUBDIRS):
        return None
    return "no text data for 04_rnn: apt-get install fortunes (or put Keras's imdb.npz in MINIKERAS_DATA)"


def check_rnn(nb, r):
    assert r["quick"] is True
    assert r["unroll_max_diff"] < 1e-5                       # the hand-written loop is SimpleRNN
    ratio = r["grad_ratio"]
    assert ratio["0.5"] < 1e-10 < 1e2 < ratio["2.5"] and ratio["0.5"] < ratio["1.0"] < ratio["1.5"]
    assert r["clip_step_max_diff"] < 1e-5                    # SGD(global_clipnorm) = clipping by hand
    clipped, unclipped = r["clip_losses"]["1.0"], r["clip_losses"]["None"]
    unclipped = np.nan_to_num(np.array(unclipped, dtype=float), nan=np.inf)
    assert all(np.isfinite(clipped)) and max(clipped) < 10 and unclipped[-1] > 100 * unclipped.min()
    assert (r["lstm_params"], r["gru_params"]) == (5760 + 297, 4416 + 297)
    assert r["gates_max_diff"] < 1e-5 and r["pad_change"][0] < r["pad_change"][1]
    assert min(r["vowel_accuracy"].values()) > 0.3           # 3 epochs; the full run reaches ~0.95
    assert max(r["mask_change"]) < 1e-5                      # behind Masking: the unpadded final state
    masking = r["masking_accuracy"]
    assert set(masking) == {"trained pre-padded, no mask", "trained pre-padded, Masking added",
                            "trained post-padded, no mask", "trained post-padded, Masking"}
    for name in ("trained pre-padded, Masking added", "trained post-padded, Masking"):
        pre, post = masking[name]
        assert abs(pre - post) < 0.01 and post > 0.3, (name, masking)  # where the zeros are no longer matters
    assert r["rnn_params"] == 75_530 and r["row_accuracy"] > 0.3
    assert set(r["forecast_mae"]) == {"naive (last month)", "Dense", "SimpleRNN", "LSTM"}
    assert all(0 < v < 100 for v in r["forecast_mae"].values())
    assert r["text_name"] in ("IMDB reviews", "fortune cookies")
    assert set(r["text_accuracy"]) == {"multi-hot MLP", "Embedding + LSTM"}
    assert r["explorer_at_end"] and r["explorer_matches_model"] < 1e-4
    assert count_images(nb) >= 8
    assert "all checks passed" in all_text(nb)


CHECKS["04_rnn.ipynb"] = check_rnn
# What a notebook needs beyond the repository: a function returning why it cannot run here, or None.
PRECONDITIONS = {"04_rnn.ipynb": _text_data_missing}


def check_cnn(nb, r):
    assert r["quick"] is True
    # the by-hand loops agree with Dense/Conv2D/pooling layers and the shuffled Dense layer
    assert max(r["gaps"]) < 1e-5
    assert all(formula == layer for *_, formula, layer in r["size_table"]) and len(r["size_table"]) == 12
    assert [3, 1, "valid", 26, 26] in r["size_table"] and [5, 2, "same", 14, 14] in r["size_table"]
    assert r["measured_fields"] == r["receptive_fields"] == [3, 4, 8, 10, 18]
    assert r["params"] == [80_266, 266_610, 80_842]
    assert r["history_keys"] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert r["epochs_run"] == [2, 2]
    assert r["cnn_test_accuracy"] > 0.5 and r["mlp_test_accuracy"] > 0.6   # 2 epochs on 2,000 images
    # shuffling the pixels changes little for the MLP (full mode: the CNN loses its lead)
    assert abs(r["scrambled_accuracy"]["MLP"] - r["plain_accuracy"]["MLP"]) < 0.1
    assert r["first_kernels_shape"] == [3, 3, 1, 64]
    assert r["feature_map_shapes"] == [[1, 26, 26, 64], [1, 13, 13, 64], [1, 11, 11, 64], [1, 5, 5, 64],
                                       [1, 3, 3, 64]]
    assert r["confusion_total"] == r["n_eval"] == 1000 and 0 < r["n_misclassified"] < 500
    assert r["digits_accuracy"] is None or r["digits_accuracy"] > 0.3   # None where MNIST is absent
    assert r["explorer_gap"] < 1e-9 and r["explorer_positions"] == 26 * 26
    assert r["explorer_redraws"] > 0
    assert count_images(nb) >= 10
    assert "all checks passed" in all_text(nb)


CHECKS["03_cnn.ipynb"] = check_cnn


# --------------------------------------------------------------------------- course helpers

def test_quick_mode_switches(monkeypatch):
    from minikeras import course
    monkeypatch.delenv("MINIKERAS_QUICK", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not course.quick_mode() and course.choose(30, 2) == 30
    for value, expected in (("1", True), ("true", True), ("0", False), ("", False), ("no", False)):
        monkeypatch.setenv("MINIKERAS_QUICK", value)
        assert course.quick_mode() is expected, value
    monkeypatch.delenv("MINIKERAS_QUICK")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert course.quick_mode() and course.choose(30, 2) == 2


# --------------------------------------------------------------------------- perceptron widget logic

def _blobs(n=60, gap=3.0, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, 0.5, (n, 2)), rng.normal(gap, 0.5, (n, 2))])
    y = np.repeat([0, 1], n)
    return X, y


def test_heaviside():
    from minikeras.widgets.perceptron import heaviside
    assert heaviside(np.array([-2.0, 0.0, 3.0])).tolist() == [0, 1, 1]


def test_step_applies_the_rule_exactly():
    from minikeras.widgets.perceptron import PerceptronTrainer
    X = np.array([[2.0, 1.0], [-1.0, 3.0]])
    y = np.array([0, 1])
    t = PerceptronTrainer(X, y, learning_rate=0.5, weights=[1.0, 1.0], bias=0.0, shuffle=False)
    line_before = t.decision_line((-1, 1))
    info = t.step()                      # sample 0: z = 3 -> predicts 1, target 0
    assert info == {**info, "index": 0, "target": 0, "predicted": 1, "updated": True}
    np.testing.assert_allclose(t.w, [1.0 - 0.5 * 2.0, 1.0 - 0.5 * 1.0])
    assert t.b == pytest.approx(-0.5)
    assert not np.allclose(t.decision_line((-1, 1))[1], line_before[1]), "the line should move"
    w, b = t.w.copy(), t.b
    info = t.step()                      # sample 1: z = 1 + 1.5 - 0.5 > 0 -> right, no change
    assert not info["updated"]
    np.testing.assert_array_equal(t.w, w)
    assert t.b == b
    assert (t.epoch, t.steps, t.updates, t.mistakes_per_epoch) == (1, 2, 1, [1])


def test_converges_on_separable_data():
    from minikeras.widgets.perceptron import PerceptronTrainer
    X, y = _blobs()
    t = PerceptronTrainer(X, y, learning_rate=0.1, weights=[-1.0, 1.0], bias=0.5, seed=1)
    assert not t.converged
    epochs = t.fit(max_epochs=100)
    assert t.converged and t.n_errors() == 0 and t.accuracy() == 1.0
    assert epochs == len(t.mistakes_per_epoch) and t.mistakes_per_epoch[-1] == 0
    assert t.updates == sum(t.mistakes_per_epoch) > 0
    np.testing.assert_array_equal(t.predict(X), y)


def test_never_converges_on_xor():
    from minikeras.widgets.perceptron import PerceptronTrainer
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    t = PerceptronTrainer(X, [0, 1, 1, 0], learning_rate=1.0)
    assert t.fit(max_epochs=40) == 40
    assert not t.converged and min(t.mistakes_per_epoch) > 0


def test_learning_rate_scales_the_update_and_reset_restores():
    from minikeras.widgets.perceptron import PerceptronTrainer
    X = np.array([[1.0, 2.0]])
    for lr in (0.1, 1.0):
        t = PerceptronTrainer(X, [1], learning_rate=lr, weights=[-1.0, -1.0], bias=0.0)
        t.step()
        np.testing.assert_allclose(t.w, [-1.0 + lr, -1.0 + 2 * lr])
    t.reset()
    np.testing.assert_array_equal(t.w, [-1.0, -1.0])
    assert (t.b, t.steps, t.updates, t.epoch, t.last) == (0.0, 0, 0, 0, None)


def test_random_start_is_seeded():
    from minikeras.widgets.perceptron import PerceptronTrainer
    X, y = _blobs()
    a, b = PerceptronTrainer(X, y, seed=5), PerceptronTrainer(X, y, seed=5)
    np.testing.assert_array_equal(a.w, b.w)
    for _ in range(30):
        a.step()
        b.step()
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.array_equal(PerceptronTrainer(X, y, seed=6).w, a.w)


def test_run_epoch_visits_every_sample_once():
    from minikeras.widgets.perceptron import PerceptronTrainer
    X, y = _blobs(n=10)
    t = PerceptronTrainer(X, y, seed=2)
    seen = []
    while t.epoch == 0:
        seen.append(t.step()["index"])
    assert sorted(seen) == list(range(len(X)))
    assert t.run_epoch() == t.mistakes_per_epoch[-1] and t.epoch == 2 and t.steps == 2 * len(X)


def test_decision_line_geometry():
    from minikeras.widgets.perceptron import PerceptronTrainer
    X, y = _blobs(n=5)
    t = PerceptronTrainer(X, y, weights=[1.0, 2.0], bias=-4.0)
    xs, ys = t.decision_line((0.0, 2.0))
    np.testing.assert_allclose(xs * 1.0 + ys * 2.0 - 4.0, 0.0, atol=1e-12)
    t = PerceptronTrainer(X, y, weights=[2.0, 0.0], bias=-3.0)
    assert t.decision_line((0, 1)) is None and t.vertical_line() == pytest.approx(1.5)


def test_rejects_bad_input():
    from minikeras.widgets.perceptron import PerceptronTrainer
    with pytest.raises(ValueError, match="only 0 and 1"):
        PerceptronTrainer(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="shape"):
        PerceptronTrainer(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="2-D"):
        PerceptronTrainer(np.zeros(3), [0, 1, 0])
    with pytest.raises(ValueError, match="weights"):
        PerceptronTrainer(np.zeros((3, 2)), [0, 1, 0], weights=[1.0, 2.0, 3.0])


def test_widget_controls_drive_the_trainer(monkeypatch, capsys):
    pytest.importorskip("ipywidgets")
    import matplotlib
    matplotlib.use("Agg")
    from minikeras.widgets.perceptron import PerceptronWidget
    X, y = _blobs(n=20)
    w = PerceptronWidget(X, y, learning_rate=0.1, weights=[-1.0, 1.0], bias=0.5, seed=0)
    assert "0 updates" in w.status.value or "updates 0" in w.status.value
    w.lr_slider.value = 1.0
    assert w.trainer.learning_rate == pytest.approx(1.0)
    w.on_step()
    assert w.trainer.steps == 1 and "last sample" in w.status.value
    w.on_epoch()
    assert w.trainer.epoch == 1
    w.play.playing = True
    for tick in range(1, 2000):
        if w.trainer.converged:
            break
        w.play.value = tick                 # what the Play widget does in the browser
    w.play.value = tick + 1                 # one more tick after convergence stops playback
    assert w.trainer.converged and w.play.playing is False
    assert "converged" in w.status.value
    w.on_reset()
    assert w.trainer.steps == 0 and w.trainer.last is None
    fig = w.figure()
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1   # the decision line
    capsys.readouterr()
