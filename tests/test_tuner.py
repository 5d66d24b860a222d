"""minikeras.tuner: hyperparameter spaces, the four searches, scoring, the project folder and resuming."""
import gc
import json
import math
import os

import numpy as np
import pytest

import minikeras as keras
import minikeras.tuner as kt
from minikeras.tuner.bayesian import GaussianProcess
from minikeras.tuner.hyperband import bracket_epochs, bracket_size, iteration_budget, num_brackets


# ----------------------------------------------------------------------------- hyperparameters
def test_int_float_choice_boolean_fixed_declare_and_return_defaults():
    hp = kt.HyperParameters()
    assert hp.Int("n", 0, 8, default=2) == 2
    assert hp.Int("m", 16, 256) == 16                      # min_value when no default
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == 1e-4
    assert hp.Choice("opt", ["sgd", "adam"]) == "sgd"
    assert hp.Boolean("norm") is False
    assert hp.Fixed("f", 3) == 3
    assert hp.values == {"n": 2, "m": 16, "lr": 1e-4, "opt": "sgd", "norm": False, "f": 3}
    hp.values["n"] = 5
    assert hp.Int("n", 0, 8, default=2) == 5               # an existing name returns its value
    assert [type(p).__name__ for p in hp.space] == ["Int", "Int", "Float", "Choice", "Boolean", "Fixed"]
    assert hp.get("opt") == "sgd" and "lr" in hp and "zzz" not in hp


def test_step_grids_as_keras_tuner_documents_them():
    assert kt.HyperParameters().Int("x", 6, 12) == 6
    from minikeras.tuner.hyperparameters import Float, Int
    assert Int("a", 6, 13, step=3).values == [6, 9, 12]
    assert Int("b", 2, 32, step=2, sampling="log").values == [2, 4, 8, 16, 32]
    assert Float("c", 0, 1, step=0.2).values == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert Float("d", 0.001, 10, step=10, sampling="log").values == pytest.approx([1e-3, 1e-2, 0.1, 1, 10])
    assert Float("e", 1, 10, step=3, sampling="reverse_log").values == pytest.approx([10, 8, 2])


@pytest.mark.parametrize("sampling", ["linear", "log", "reverse_log"])
def test_float_sampling_maps_uniform_draws_onto_the_range(sampling):
    from minikeras.tuner.hyperparameters import Float
    hp = Float("x", 1e-4, 1e-1, sampling=sampling)
    draws = np.array([hp.random_sample(seed) for seed in range(4000)])
    assert draws.min() >= 1e-4 and draws.max() <= 1e-1
    decades = np.histogram(np.log10(draws), bins=[-4, -3, -2, -1])[0] / len(draws)
    if sampling == "log":        # every decade equally likely
        assert decades == pytest.approx([1 / 3] * 3, abs=0.03)
    elif sampling == "linear":   # almost everything in the top decade
        assert decades[2] > 0.88
    else:                        # reverse_log: dense near max_value, sparse near min_value
        assert np.mean(draws > 0.09) > 0.3 and decades[0] < 0.02
    for value in (1e-4, 3e-3, 1e-1):
        assert hp.prob_to_value(hp.value_to_prob(value)) == pytest.approx(value, rel=1e-9)


def test_int_sampling_covers_every_value_uniformly_and_round_trips():
    from minikeras.tuner.hyperparameters import Choice, Int
    hp = Int("n", 0, 8)
    counts = np.bincount([hp.random_sample(s) for s in range(9000)], minlength=9) / 9000
    assert counts == pytest.approx([1 / 9] * 9, abs=0.02)
    for v in range(9):
        assert hp.prob_to_value(hp.value_to_prob(v)) == v
    log_int = Int("u", 16, 256, sampling="log")
    assert all(16 <= log_int.random_sample(s) <= 256 for s in range(500))
    choice = Choice("c", ["a", "b", "c"])
    assert [choice.prob_to_value(choice.value_to_prob(v)) for v in "abc"] == ["a", "b", "c"]


def test_bad_hyperparameter_arguments_say_what_is_wrong():
    hp = kt.HyperParameters()
    with pytest.raises(ValueError, match="min_value 5 is greater than the max_value 1|greater than max_value"):
        hp.Int("x", 5, 1)
    with pytest.raises(ValueError, match="sampling"):
        hp.Float("y", 0.0, 1.0, sampling="log")
    with pytest.raises(ValueError, match="sampling must be one of"):
        hp.Float("z", 1.0, 2.0, sampling="exp")
    with pytest.raises(ValueError, match="integer"):
        hp.Int("w", 0.5, 3)
    with pytest.raises(ValueError, match="not defined"):
        with hp.conditional_scope("missing", [1]):
            pass


def test_conditional_scopes_make_branches_inactive():
    hp = kt.HyperParameters()
    kind = hp.Choice("kind", ["mlp", "cnn"])
    with hp.conditional_scope("kind", ["mlp"]):
        units = hp.Int("units", 8, 64)
    with hp.conditional_scope("kind", "cnn"):
        filters = hp.Int("filters", 4, 32)
    assert kind == "mlp" and units == 8 and filters is None
    assert "filters" not in hp.values and hp.is_active("units") and not hp.is_active("filters")
    with pytest.raises(ValueError, match="inactive"):
        hp.get("filters")
    hp.values["kind"] = "cnn"
    hp.ensure_active_values()
    assert "units" not in hp.values and hp.values["filters"] == 4
    again = kt.HyperParameters.from_config(json.loads(json.dumps(hp.get_config())))
    assert again.values == hp.values and [p.name for p in again.space] == ["kind", "units", "filters"]
    assert not again.is_active("units")


# ----------------------------------------------------------------------------- objectives and trials
def test_objective_from_name_or_object():
    from minikeras.tuner.trial import create_objective
    assert create_objective("val_accuracy").direction == "max"
    assert create_objective("val_loss").direction == "min"
    assert create_objective("mean_absolute_error").direction == "min"
    assert create_objective(kt.Objective("custom", "max")) == kt.Objective("custom", "max")
    with pytest.raises(ValueError, match="direction"):
        create_objective("custom_score")


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x, y


def _build(hp):
    model = keras.Sequential([keras.Input(shape=(6,))])
    for _ in range(hp.Int("layers", 0, 2, default=1)):
        model.add(keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"))
    model.add(keras.layers.Dense(2, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_random_search_end_to_end(tmp_path, capsys):
    x, y = _data()
    tuner = kt.RandomSearch(_build, objective="val_accuracy", max_trials=3, seed=7, overwrite=True,
                            directory=tmp_path, project_name="rs")
    tuner.search(x, y, epochs=3, validation_split=0.25, verbose=0,
                 callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)])
    trials = tuner.oracle.trials
    assert sorted(trials) == ["0", "1", "2"]
    assert all(t.status == "COMPLETED" for t in trials.values())
    values = [tuple(sorted(t.hyperparameters.values.items())) for t in trials.values()]
    assert len(set(values)) == 3
    best = tuner.oracle.get_best_trials(3)
    assert [t.score for t in best] == sorted((t.score for t in best), reverse=True)
    # the score is the best epoch's val_accuracy and the saved weights are that epoch's
    assert best[0].score == max(best[0].metrics.get_history("val_accuracy"), key=lambda o: o["value"])["value"]
    model = tuner.get_best_models(1)[0]
    _, acc = model.evaluate(x[180:], y[180:], verbose=0)
    assert acc == pytest.approx(best[0].score, abs=1e-6)
    assert tuner.get_best_hyperparameters(1)[0].values == best[0].hyperparameters.values
    tuner.search_space_summary()
    tuner.results_summary(2)
    out = capsys.readouterr().out
    assert "Default search space size: 3" in out and "Results summary" in out and "Score:" in out
    for tid in trials:
        folder = tmp_path / "rs" / f"trial_{tid}"
        assert json.loads((folder / "trial.json").read_text())["trial_id"] == tid
        assert (folder / "checkpoint.weights.h5").read_bytes()[:4] == b"PK\x03\x04"   # zip, not pickle
    assert json.loads((tmp_path / "rs" / "oracle.json").read_text())["seed"] == 7


def test_search_prints_progress_per_trial(tmp_path, capsys):
    x, y = _data()
    tuner = kt.RandomSearch(_build, objective="val_accuracy", max_trials=2, seed=1, directory=tmp_path,
                            project_name="p")
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=1)
    out = capsys.readouterr().out
    assert "Search: Running Trial #1 of 2" in out and "Search: Running Trial #2 of 2" in out
    assert "Best val_accuracy So Far:" in out and "Total elapsed time" in out


def test_same_seed_same_trials(tmp_path):
    x, y = _data()
    runs = []
    for name in ("a", "b"):
        tuner = kt.RandomSearch(_build, objective="val_loss", max_trials=3, seed=3, directory=tmp_path,
                                project_name=name)
        tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
        runs.append([t.hyperparameters.values for t in tuner.oracle.trials.values()])
    assert runs[0] == runs[1]


def test_resume_finished_search_and_extend_it(tmp_path, capsys):
    x, y = _data()
    kwargs = dict(objective="val_accuracy", seed=11, directory=tmp_path, project_name="resume")
    first = kt.RandomSearch(_build, max_trials=2, overwrite=True, **kwargs)
    first.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    scores = {tid: t.score for tid, t in first.oracle.trials.items()}
    again = kt.RandomSearch(_build, max_trials=2, overwrite=False, **kwargs)
    assert "Reloading Tuner" in capsys.readouterr().out
    again.search(x, y, epochs=1, validation_split=0.25, verbose=0)      # finished: trains nothing
    assert {tid: t.score for tid, t in again.oracle.trials.items()} == scores
    assert again.get_best_models(1)[0].count_params() > 0
    more = kt.RandomSearch(_build, max_trials=4, overwrite=False, **kwargs)
    more.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert sorted(more.oracle.trials) == ["0", "1", "2", "3"]
    fresh = kt.RandomSearch(_build, max_trials=1, overwrite=True, **kwargs)
    assert fresh.oracle.trials == {} and not (tmp_path / "resume" / "trial_3").exists()


def test_an_interrupted_trial_runs_again_after_a_restart(tmp_path):
    x, y = _data()

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    kwargs = dict(objective="val_loss", max_trials=2, seed=5, directory=tmp_path, project_name="crash")
    tuner = kt.RandomSearch(_build, overwrite=True, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[Crash()])
    state = json.loads((tmp_path / "crash" / "oracle.json").read_text())
    assert state["ongoing_trials"] == {"tuner0": "0"}
    crashed_values = tuner.oracle.trials["0"].hyperparameters.values
    resumed = kt.RandomSearch(_build, overwrite=False, **kwargs)
    resumed.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert [t.status for t in resumed.oracle.trials.values()] == ["COMPLETED", "COMPLETED"]
    assert resumed.oracle.trials["0"].hyperparameters.values == crashed_values


def test_overwrite_refuses_to_delete_a_folder_that_is_not_a_tuner_project(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="does not look like a tuner project"):
        kt.RandomSearch(_build, objective="val_loss", overwrite=True, directory=tmp_path, project_name="mine")
    assert (tmp_path / "mine" / "thesis.tex").exists()


def test_executions_per_trial_average_the_best_epochs(tmp_path):
    x, y = _data()
    tuner = kt.RandomSearch(_build, objective="val_loss", max_trials=1, executions_per_trial=2, seed=2,
                            directory=tmp_path, project_name="ex")
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            seen.append(min(self.model.history.history["val_loss"]))

    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[Spy()])
    assert len(seen) == 2
    assert tuner.oracle.trials["0"].score == pytest.approx(sum(seen) / 2, rel=1e-6)


def test_hypermodel_fit_can_tune_batch_size_and_return_a_number(tmp_path):
    class Model(kt.HyperModel):
        def build(self, hp):
            return _build(hp)

        def fit(self, hp, model, x, y, **kwargs):
            history = model.fit(x, y, batch_size=hp.Choice("batch_size", [16, 64]), **kwargs)
            return min(history.history["val_loss"])

    x, y = _data()
    tuner = kt.RandomSearch(Model(), objective="val_loss", max_trials=3, seed=4, directory=tmp_path,
                            project_name="hm")
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert "batch_size" in [p.name for p in tuner.oracle.get_space().space]
    assert all(t.score is not None for t in tuner.oracle.trials.values())


def test_a_failing_build_fails_the_trial_then_the_search(tmp_path):
    def broken(hp):
        hp.Int("u", 1, 4)
        raise ValueError("bad layer")
    with pytest.raises(ValueError, match="bad layer"):   # already while collecting the search space
        kt.RandomSearch(broken, objective="val_loss", directory=tmp_path, project_name="bad")
    calls = []

    def flaky(hp):
        model = _build(hp)
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("the third layer is wrong")
        return model
    tuner = kt.RandomSearch(flaky, objective="val_loss", max_trials=5, directory=tmp_path, project_name="flaky")
    x, y = _data()
    with pytest.raises(RuntimeError, match="3 trials in a row failed"):
        tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert [t.status for t in tuner.oracle.trials.values()] == ["FAILED"] * 3
    assert "the third layer is wrong" in tuner.oracle.trials["0"].message


def test_missing_objective_metric_is_explained(tmp_path):
    x, y = _data()
    tuner = kt.RandomSearch(_build, objective="val_accuracy", max_trials=1, directory=tmp_path, project_name="m",
                            max_consecutive_failed_trials=1)
    with pytest.raises(RuntimeError, match="validation_data"):
        tuner.search(x, y, epochs=1, verbose=0)


def test_no_model_survives_its_trial(tmp_path):
    x, y = _data(120)
    tuner = kt.RandomSearch(_build, objective="val_loss", max_trials=6, seed=9, directory=tmp_path, project_name="mem")
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0,
                 callbacks=[keras.callbacks.EarlyStopping(patience=1)])
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, keras.Model)]
    assert len(alive) <= 1   # at most the last trial's model, until the next build clears it


# ----------------------------------------------------------------------------- grid search
def test_grid_search_visits_every_combination_once(tmp_path):
    def build(hp):
        hp.Choice("act", ["relu", "tanh"])
        hp.Int("units", 4, 12, step=4)
        return _build(hp)

    space = kt.HyperParameters()
    space.Fixed("layers", 1)
    space.Fixed("lr", 0.01)
    tuner = kt.GridSearch(build, objective="val_loss", hyperparameters=space, directory=tmp_path, project_name="g")
    x, y = _data(80)
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    combos = [(t.hyperparameters.values["act"], t.hyperparameters.values["units"])
              for t in tuner.oracle.trials.values()]
    assert combos == [("relu", 4), ("relu", 8), ("relu", 12), ("tanh", 4), ("tanh", 8), ("tanh", 12)]


# ----------------------------------------------------------------------------- hyperband
def test_hyperband_bracket_arithmetic_matches_keras_tuner():
    assert num_brackets(10, 3) == 3
    sizes = {(s, r): (bracket_size(10, 3, s, r), bracket_epochs(10, 3, s, r)) for s in range(3) for r in range(s + 1)}
    assert sizes == {(2, 0): (12, 2), (2, 1): (4, 4), (2, 2): (2, 10), (1, 0): (6, 4), (1, 1): (2, 10),
                     (0, 0): (4, 10)}
    assert iteration_budget(10, 3) == (30, 120)
    assert iteration_budget(3, 3) == (6, 11)
    # the book's estimate max_epochs * (log(max_epochs) / log(factor)) ** 2 is about 44 for 10 and 3
    assert round(10 * (math.log(10) / math.log(3)) ** 2) == 44


def test_hyperband_search_trains_30_trials_and_120_epochs_and_overrides_epochs(tmp_path):
    x, y = _data(96)
    epochs_run = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epochs_run.append(epoch)

    tuner = kt.Hyperband(_build, objective="val_accuracy", max_epochs=10, factor=3, seed=1, directory=tmp_path,
                         project_name="hb")
    tuner.search(x, y, epochs=1000, validation_split=0.25, verbose=0, batch_size=96, callbacks=[Count()])
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 30 and len(epochs_run) == 120
    rounds = {}
    for t in trials:
        v = t.hyperparameters.values
        rounds.setdefault((v["tuner/bracket"], v["tuner/round"]), []).append(v["tuner/epochs"])
    assert {k: (len(e), e[0]) for k, e in rounds.items()} == {(2, 0): (12, 2), (2, 1): (4, 4), (2, 2): (2, 10),
                                                             (1, 0): (6, 4), (1, 1): (2, 10), (0, 0): (4, 10)}
    # a promoted trial carries on from its parent: the parent's values, and initial_epoch = parent's epochs
    promoted = [t for t in trials if "tuner/trial_id" in t.hyperparameters.values]
    for t in promoted:
        parent = tuner.oracle.trials[t.hyperparameters.values["tuner/trial_id"]]
        strip = lambda vals: {k: v for k, v in vals.items() if not k.startswith("tuner/")}
        assert strip(t.hyperparameters.values) == strip(parent.hyperparameters.values)
        assert t.hyperparameters.values["tuner/initial_epoch"] == parent.hyperparameters.values["tuner/epochs"]
    # the promoted ones are the best of their round
    round0 = [t for t in trials if t.hyperparameters.values["tuner/bracket"] == 2
              and t.hyperparameters.values["tuner/round"] == 0]
    chosen = {t.hyperparameters.values["tuner/trial_id"] for t in promoted
              if t.hyperparameters.values["tuner/bracket"] == 2 and t.hyperparameters.values["tuner/round"] == 1}
    ranked = sorted(round0, key=lambda t: -t.score)
    assert {t.score for t in ranked[:4]} == {tuner.oracle.trials[c].score for c in chosen}


def test_hyperband_resumes_mid_bracket(tmp_path):
    x, y = _data(64)

    class StopAt(keras.callbacks.Callback):
        count = 0

        def on_train_begin(self, logs=None):
            StopAt.count += 1
            if StopAt.count == 4:
                raise KeyboardInterrupt

    kwargs = dict(objective="val_loss", max_epochs=3, factor=3, seed=2, directory=tmp_path, project_name="hbr")
    tuner = kt.Hyperband(_build, overwrite=True, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        tuner.search(x, y, validation_split=0.25, verbose=0, callbacks=[StopAt()])
    resumed = kt.Hyperband(_build, overwrite=False, **kwargs)
    resumed.search(x, y, validation_split=0.25, verbose=0)
    assert len(resumed.oracle.trials) == 6
    assert all(t.status == "COMPLETED" for t in resumed.oracle.trials.values())


# ----------------------------------------------------------------------------- bayesian optimization
def test_gaussian_process_interpolates_and_is_uncertain_away_from_data():
    x = np.linspace(0, 1, 8)[:, None]
    y = np.sin(6 * x[:, 0])
    gp = GaussianProcess(alpha=1e-6).fit(x, y)
    mean, std = gp.predict(x, return_std=True)
    assert mean == pytest.approx(y, abs=1e-3)
    assert std.max() < 1e-2
    _, far = gp.predict(np.array([[3.0]]), return_std=True)
    assert far[0] > 0.5 * y.std()
    mid = gp.predict(np.array([[0.5 / 7 + 3 / 7]]))
    assert mid[0] == pytest.approx(np.sin(6 * (0.5 / 7 + 3 / 7)), abs=0.1)


def test_bayesian_optimization_homes_in_on_the_optimum(tmp_path):
    class Quadratic(kt.HyperModel):
        """No training: the 'score' is a known function of the hyperparameters, so the search is exact."""

        def build(self, hp):
            hp.Float("a", 0.0, 1.0)
            hp.Float("b", 0.0, 1.0)
            return keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])

        def fit(self, hp, model, *args, **kwargs):
            return (hp.get("a") - 0.3) ** 2 + (hp.get("b") - 0.7) ** 2

    def best_after(tuner):
        tuner.search(verbose=0)
        return min(t.score for t in tuner.oracle.trials.values())

    bo = kt.BayesianOptimization(Quadratic(), objective=kt.Objective("loss", "min"), max_trials=16,
                                 num_initial_points=5, seed=3, directory=tmp_path, project_name="bo")
    rs = kt.RandomSearch(Quadratic(), objective=kt.Objective("loss", "min"), max_trials=16, seed=3,
                         directory=tmp_path, project_name="rs")
    bo_best, rs_best = best_after(bo), best_after(rs)
    assert bo_best < 0.005 and bo_best < rs_best
    # after the random start every trial is proposed by the GP: they cluster near (0.3, 0.7)
    late = [t.hyperparameters.values for t in list(bo.oracle.trials.values())[10:]]
    assert np.median([abs(v["a"] - 0.3) + abs(v["b"] - 0.7) for v in late]) < 0.15


def test_bayesian_optimization_maximizes_and_resumes(tmp_path):
    class Peak(kt.HyperModel):
        def build(self, hp):
            hp.Int("n", 1, 20)
            hp.Choice("kind", ["a", "b"])
            return keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])

        def fit(self, hp, model, *args, **kwargs):
            return {"score": -abs(hp.get("n") - 13) + (1 if hp.get("kind") == "b" else 0)}

    kwargs = dict(objective=kt.Objective("score", "max"), num_initial_points=4, seed=0, directory=tmp_path,
                  project_name="peak")
    first = kt.BayesianOptimization(Peak(), max_trials=6, **kwargs)
    first.search(verbose=0)
    more = kt.BayesianOptimization(Peak(), max_trials=14, overwrite=False, **kwargs)
    more.search(verbose=0)
    assert len(more.oracle.trials) == 14
    best = more.get_best_hyperparameters(1)[0].values
    assert best["kind"] == "b" and abs(best["n"] - 13) <= 1
    hashes = {json.dumps(t.hyperparameters.values, sort_keys=True) for t in more.oracle.trials.values()}
    assert len(hashes) == 14   # never the same combination twice


def test_import_minikeras_does_not_load_the_optional_packages():
    import subprocess
    import sys
    code = ("import sys, minikeras; import minikeras.tuner; "
            "print(sorted(m for m in ('sklearn', 'tensorboard', 'pydot', 'matplotlib', 'scipy.optimize') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout.strip()
    assert out == "[]"
