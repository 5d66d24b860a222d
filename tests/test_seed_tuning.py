"""The tuning chapter's seed listings run with only their imports changed (on shrunken epochs and data).

Each listing is read from the seed text at run time: Hands-On ML ch. 10 (Keras Tuner:
RandomSearch with build_model(hp), Hyperband with a HyperModel and TensorBoard +
EarlyStopping, BayesianOptimization; the TensorBoard callback), its study notes
(RandomizedSearchCV over keras.wrappers.scikit_learn.KerasRegressor on California housing),
DLwP ch. 7 (TensorBoard; plot_model of the ticket classifier) and Atienza ch. 1 (plot_model).
The only edits are the import lines (``tf.keras``/``keras_tuner``/``sklearn.datasets`` are
bound to minikeras, minikeras.tuner and a local California-housing loader) and the sizes
named in each test. Skips without ../shared beside the checkout.
"""
import contextlib
import io
import os
import pathlib
import re
import types

import numpy as np
import pytest

import minikeras as keras

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the checkout")


def seed_text(prefix):
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def fenced_blocks(text):
    return re.findall(r"```(?:py|python)?\n(.*?)```", text, flags=re.S)


def as_script(block):
    """Doctest-style blocks (``>>>``) lose their prompts and printed output."""
    if not any(line.startswith(">>> ") for line in block.splitlines()):
        return block
    return "\n".join(line[4:] for line in block.splitlines() if line.startswith((">>> ", "... "))) + "\n"


def block_with(text, marker):
    found = [b for b in fenced_blocks(text) if marker in b]
    assert found, f"no code block with {marker!r} in the seed"
    return as_script(found[0])


def plain_listing(text, first_line):
    """A listing printed as plain text (DLwP): from ``first_line`` up to the next line of prose."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == first_line.strip())
    out = []
    for line in lines[start:]:
        if CJK.search(line):
            break
        out.append(line)
    return "\n".join(out) + "\n"


def replace(code, old, new, count=1):
    assert code.count(old) >= count, f"{old!r} not in the listing"
    return code.replace(old, new)


def run(code, scope):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "<seed listing>", "exec"), scope)
    return out.getvalue()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fashion(array_backend):
    try:
        (images, labels), (test_images, test_labels) = keras.datasets.fashion_mnist.load_data()
    except Exception as exc:
        pytest.skip(f"Fashion-MNIST is not available: {exc}")
    images, labels = images[:3000] / 255.0, labels[:3000]
    return {"X_train_full": images, "y_train_full": labels, "X_train": images[:2000], "y_train": labels[:2000],
            "X_valid": images[2000:], "y_valid": labels[2000:],
            "X_test": test_images[:500] / 255.0, "y_test": test_labels[:500]}


def event_accumulator():
    """TensorBoard's own event reader (the listings with a TensorBoard callback need the package)."""
    return pytest.importorskip("tensorboard.backend.event_processing.plugin_event_accumulator").EventAccumulator


def homl_tf_scope(data=None):
    import minikeras.tuner as kt
    scope = {"tf": types.SimpleNamespace(keras=keras), "kt": kt, "np": np}
    scope.update(data or {})
    return scope


def homl_tuner_code(text):
    code = block_with(text, "def build_model(hp):")
    return replace(code, "import keras_tuner as kt\n", "")   # the import line: kt is minikeras.tuner


def test_random_search_listing(fashion, in_tmp):
    text = seed_text("000")
    scope = homl_tf_scope(fashion)
    keras.utils.set_random_seed(42)
    run(homl_tuner_code(text), scope)
    search = replace(block_with(text, "kt.RandomSearch("), "epochs=10", "epochs=1")
    run(search, scope)
    tuner = scope["random_search_tuner"]
    assert len(tuner.oracle.trials) == 5
    assert (in_tmp / "my_fashion_mnist" / "my_rnd_search" / "oracle.json").is_file()
    run(block_with(text, "get_best_models(num_models=3)"), scope)
    run(block_with(text, "get_best_hyperparameters(num_trials=3)"), scope)
    assert set(scope["top3_params"][0].values) == {"n_hidden", "n_neurons", "learning_rate", "optimizer"}
    summary = run(block_with(text, "best_trial.summary()"), scope)
    assert "Hyperparameters:" in summary and "Score:" in summary
    best_trial = scope["best_trial"]
    assert best_trial.metrics.get_last_value("val_accuracy") == pytest.approx(best_trial.score)
    # the best model has its best epoch's weights: it scores the trial's val_accuracy again
    _, acc = scope["best_model"].evaluate(fashion["X_valid"], fashion["y_valid"], verbose=0)
    assert acc == pytest.approx(best_trial.score, abs=1e-6)
    run(replace(block_with(text, "best_model.fit(X_train_full"), "epochs=10", "epochs=1"), scope)
    assert 0.0 <= scope["test_accuracy"] <= 1.0
    # the book: run again with overwrite=False and max_trials=10, and it carries on with 5 more
    again = replace(replace(search, "max_trials=5", "max_trials=7"), "overwrite=True", "overwrite=False")
    run(again, scope)
    assert len(scope["random_search_tuner"].oracle.trials) == 7


def test_hyperband_listing_with_tensorboard_and_early_stopping(fashion, in_tmp):
    EventAccumulator = event_accumulator()
    text = seed_text("000")
    scope = homl_tf_scope(fashion)
    keras.utils.set_random_seed(42)
    run(homl_tuner_code(text), scope)
    run(block_with(text, "class MyClassificationHyperModel"), scope)
    # shrunk from max_epochs=10, hyperband_iterations=2 (60 trials) to 6 trials
    make = replace(replace(block_with(text, "kt.Hyperband("), "max_epochs=10", "max_epochs=3"),
                   "hyperband_iterations=2", "hyperband_iterations=1")
    run(make, scope)
    search = block_with(text, "root_logdir = Path(hyperband_tuner.project_dir)")
    run("from pathlib import Path\n" + search, scope)
    tuner = scope["hyperband_tuner"]
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 6   # brackets of 3 + 1 promoted, and 2: Keras Tuner's arithmetic for 3 and 3
    assert {t.hyperparameters.values["tuner/epochs"] for t in trials} == {1, 3}
    assert all("normalize" in t.hyperparameters.values for t in trials)   # declared in HyperModel.fit
    logdir = pathlib.Path(scope["root_logdir"])
    runs = sorted(p.relative_to(logdir).as_posix() for p in logdir.glob("*/execution0"))
    assert runs == [f"{t.trial_id}/execution0" for t in sorted(trials, key=lambda t: t.trial_id)]
    acc = EventAccumulator(str(logdir / trials[0].trial_id / "execution0" / "validation"))
    acc.Reload()
    assert "epoch_accuracy" in acc.Tags()["tensors"]
    hp = EventAccumulator(str(logdir / trials[0].trial_id / "execution0"))
    hp.Reload()
    assert "_hparams_/session_start_info" in hp.Tags()["tensors"]


def test_bayesian_optimization_listing(fashion, in_tmp):
    text = seed_text("000")
    scope = homl_tf_scope(fashion)
    keras.utils.set_random_seed(42)
    run(homl_tuner_code(text), scope)
    run(block_with(text, "class MyClassificationHyperModel"), scope)
    code = block_with(text, "kt.BayesianOptimization(")
    code = replace(code, "max_trials=10", "max_trials=4")
    code = replace(code, "bayesian_opt_tuner.search([...])",
                   "bayesian_opt_tuner.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid))")
    run(code, scope)
    tuner = scope["bayesian_opt_tuner"]
    assert (tuner.oracle.alpha, tuner.oracle.beta) == (1e-4, 2.6)
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"] * 4


def test_homl_tensorboard_listing(fashion, in_tmp):
    EventAccumulator = event_accumulator()
    text = seed_text("000")
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(30, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    scope = homl_tf_scope(fashion)
    scope["model"] = model
    run(block_with(text, "def get_run_logdir("), scope)
    code = replace(block_with(text, "profile_batch=(100, 200)"), "model.fit([...],",
                   "model.fit(X_train, y_train, epochs=2, validation_data=(X_valid, y_valid),")
    run(code, scope)
    run_dir = pathlib.Path(scope["run_logdir"])
    assert run_dir.parent.name == "my_logs"
    for sub, tag in (("train", "epoch_loss"), ("validation", "epoch_loss")):
        acc = EventAccumulator(str(run_dir / sub))
        acc.Reload()
        assert len(acc.Tensors(tag)) == 2
    assert scope["history"].history["loss"][1] < scope["history"].history["loss"][0]


def test_randomized_search_over_keras_regressor_listing(array_backend, monkeypatch):
    pytest.importorskip("sklearn")
    housing_dir = SHARED / "datasets" / "california_housing"
    if not (housing_dir / "housing.tgz").is_file():
        pytest.skip("../shared/datasets/california_housing is not beside the checkout")
    monkeypatch.setenv("MINIKERAS_DATA", str(SHARED / "datasets"))
    from sklearn.utils import Bunch

    def fetch_california_housing():
        """scikit-learn's 8 per-household features, derived from the census totals (no download)."""
        (x, y), _ = keras.datasets.california_housing.load_data(test_split=0.0)
        names = keras.datasets.california_housing.FEATURE_NAMES
        col = {n: x[:, i].astype("float64") for i, n in enumerate(names)}
        households = col["households"]
        data = np.column_stack([col["median_income"] / 1.0, col["housing_median_age"],
                                col["total_rooms"] / households, col["total_bedrooms"] / households,
                                col["population"], col["population"] / households, col["latitude"],
                                col["longitude"]])
        return Bunch(data=data, target=y.astype("float64") / 100_000)

    code = block_with(seed_text("003"), "keras.wrappers.scikit_learn.KerasRegressor(build_model)")
    code = replace(code, "from tensorflow import keras\n", "")
    code = replace(code, "from sklearn.datasets import fetch_california_housing\n", "")
    code = replace(code, "epochs = 100", "epochs = 2")
    code = replace(code, "n_iter = 10", "n_iter = 3")
    scope = {"keras": keras, "fetch_california_housing": fetch_california_housing}
    keras.utils.set_random_seed(42)
    out = run(code, scope)
    search = scope["rnd_search_cv"]
    assert set(search.best_params_) == {"n_hidden", "n_neurons", "learning_rate"}
    assert str(search.best_params_) in out
    assert isinstance(scope["model"], keras.Model)
    assert scope["model"] is search.best_estimator_.model
    # score is minus the loss (MSE) on held-out data, as in the Keras 2 wrapper
    X_valid, y_valid = scope["X_valid"], scope["y_valid"]
    mse = scope["model"].evaluate(X_valid, y_valid, verbose=0)
    assert search.best_estimator_.score(X_valid, y_valid) == pytest.approx(-mse, rel=1e-5)


def test_dlwp_tensorboard_listing(in_tmp, array_backend):
    EventAccumulator = event_accumulator()
    text = seed_text("004")
    rng = np.random.default_rng(0)
    images = rng.random((600, 28 * 28)).astype("float32")
    labels = rng.integers(0, 10, 600)
    scope = {"keras": keras, "layers": keras.layers, "train_images": images[:500], "train_labels": labels[:500],
             "val_images": images[500:], "val_labels": labels[500:]}
    get_model = plain_listing(text, "def get_mnist_model():").split("\n\n")[0] + "\n"
    run(get_model, scope)
    listing = text[text.index('log_dir="/full_path_to_your_log_dir"') - 300:]
    code = plain_listing(listing, "model = get_mnist_model()")
    code = replace(code, '"/full_path_to_your_log_dir"', repr(str(in_tmp / "logs")))
    code = replace(code, "epochs=10", "epochs=2")
    run(code, scope)
    acc = EventAccumulator(str(in_tmp / "logs" / "validation"))
    acc.Reload()
    assert [e.step for e in acc.Tensors("epoch_accuracy")] == [0, 1]


def test_dlwp_plot_model_listings(in_tmp, array_backend):
    text = seed_text("004")
    scope = {"keras": keras, "layers": keras.layers}
    run(plain_listing(text, "vocabulary_size = 10000"), scope)
    run(plain_listing(text, 'keras.utils.plot_model(model, "ticket_classifier.png")'), scope)
    run(plain_listing(text, "keras.utils.plot_model("), scope)
    new_model = text[text.index("# layers[4] is our intermediate Dense layer."):]
    run(plain_listing(new_model, "# layers[4] is our intermediate Dense layer."), scope)
    third = text[text.index("让我们绘制我们的新模型"):]
    run(plain_listing(third, "keras.utils.plot_model("), scope)
    pictures = sorted(p.name for p in in_tmp.glob("*.png"))
    assert pictures == sorted(["ticket_classifier.png", "updated_ticket_classifier.png",
                               "ticket_classifier_with_shape" + "_info.png"])
    assert all((in_tmp / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in pictures)
    assert scope["new_model"].output_names == ["priority", "department", "difficulty"]


def test_atienza_plot_model_listing(in_tmp, array_backend):
    text = seed_text("001")
    start = text.index("Listing 3.8: mlp-mnist-1.3.2.py")
    lines = {}
    for line in text[start:start + 4000].splitlines():
        number = re.match(r"(\d{1,2}) ", line)
        if number:   # the code starts in column 3, after the right-padded line number
            lines.setdefault(int(number.group(1)), line[3:])
    assert lines[37].startswith("plot_model(")
    imports = "\n".join(lines[n] for n in range(1, 6)).replace("tensorflow.keras", "minikeras")
    # lines 6-20 load and reshape MNIST (its training set is not at hand); their results are given
    code = imports + "\n" + "\n".join(lines[n] for n in range(21, 38))
    scope = {"input_size": 784, "num_labels": 10}
    run(code, scope)
    assert scope["model"].count_params() == 269_322
    assert (in_tmp / "mlp-mnist.png").read_bytes()[:4] == b"\x89PNG"
