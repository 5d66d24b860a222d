"""``Tuner``: the search loop (Keras Tuner's API) and the two plain searches, random and grid.

For each trial the tuner builds a fresh model from the trial's hyperparameters, trains it
``executions_per_trial`` times with the arguments given to ``search`` (callbacks are
deep-copied for each run, so an EarlyStopping's patience never leaks between trials),
saves the weights of the best epoch to ``trial_<id>/checkpoint.weights.h5`` (minikeras's
zip + npz weights format, whatever the suffix) and reports that epoch's metrics to the
oracle. The session is cleared and garbage collected before every build, so memory stays
flat however many trials run.

A ``TensorBoard`` callback gets a log folder per trial and execution
(``<log_dir>/<trial_id>/execution<n>``) and the trial's hyperparameter values for
TensorBoard's HPARAMS tab.
"""
import copy
import gc
import os
import shutil

from .. import backend
from ..callbacks import Callback, History, TensorBoard
from .hypermodel import get_hypermodel
from .oracle import GridSearchOracle, RandomSearchOracle, read_json, write_json
from .trial import TrialStatus

CHECKPOINT = "checkpoint.weights.h5"
BUILD_CONFIG = "build_config.json"


def _history_best(history, objective):
    """The metrics of the best epoch of a History (by the objective), and that epoch's index."""
    logs = history.history
    if objective.name not in logs:
        raise ValueError(f"The objective {objective.name!r} is not among the metrics that fit() logged: "
                         f"{sorted(logs)}. For a 'val_' objective pass validation_data= or validation_split= "
                         "to search(); otherwise compile the model with that metric.")
    values = logs[objective.name]
    best = 0
    for epoch, value in enumerate(values):
        if objective.better_than(value, values[best]):
            best = epoch
    return {name: float(v[best]) for name, v in logs.items() if len(v) > best}, best


def metrics_of(results, objective):
    """(metrics dict, best step) from what HyperModel.fit returned: History, dict, number or a list."""
    if isinstance(results, list):
        parts = [metrics_of(r, objective) for r in results]
        names = set.intersection(*(set(m) for m, _ in parts))
        mean = {n: sum(m[n] for m, _ in parts) / len(parts) for n in names}
        return mean, int(sum(s for _, s in parts) / len(parts))
    if isinstance(results, History) or (hasattr(results, "history") and isinstance(results.history, dict)):
        return _history_best(results, objective)
    if isinstance(results, dict):
        if objective.name not in results:
            raise ValueError(f"HyperModel.fit() returned a dict without the objective {objective.name!r}: "
                             f"{sorted(results)}.")
        return {k: float(v) for k, v in results.items()}, 0
    if isinstance(results, (int, float)) or hasattr(results, "__float__"):
        return {objective.name: float(results)}, 0
    raise TypeError(f"HyperModel.fit() must return a History, a dict of metrics or a number; got "
                    f"{type(results).__name__}. Did you forget `return model.fit(...)`?")


class SaveBestEpoch(Callback):
    """Save the weights whenever the objective beats its best value so far in this trial."""

    def __init__(self, objective, filepath):
        super().__init__()
        self.objective = objective
        self.filepath = filepath
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not self.objective.has_value(logs):
            self.model.save_weights(self.filepath)
            return
        value = float(self.objective.get_value(logs))
        if self.best is None or self.objective.better_than(value, self.best):
            self.best = value
            self.model.save_weights(self.filepath)


class _TunerCallback(Callback):
    """Forwards epoch and batch events to the tuner's hooks (for Tuner subclasses)."""

    def __init__(self, tuner, trial):
        super().__init__()
        self.tuner, self.trial = tuner, trial

    def on_epoch_begin(self, epoch, logs=None):
        self.tuner.on_epoch_begin(self.trial, self.model, epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.tuner.on_epoch_end(self.trial, self.model, epoch, logs)


def _looks_like_project(path):
    entries = os.listdir(path)
    return not entries or any(e in ("oracle.json", "tuner0.json") or e.startswith("trial_") for e in entries)


class Tuner:
    """Base tuner: give it an oracle and a hypermodel (a ``build_model(hp)`` function or a HyperModel)."""

    def __init__(self, oracle, hypermodel=None, max_model_size=None, optimizer=None, loss=None, metrics=None,
                 distribution_strategy=None, directory=None, project_name=None, logger=None, tuner_id=None,
                 overwrite=False, executions_per_trial=1, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}.")
        if distribution_strategy is not None:
            raise NotImplementedError("minikeras trains on one device; distribution_strategy must be None.")
        self.oracle = oracle
        self.hypermodel = get_hypermodel(hypermodel)
        if self.hypermodel is None and type(self).run_trial is Tuner.run_trial:
            raise ValueError("hypermodel is required unless a Tuner subclass overrides run_trial().")
        if int(executions_per_trial) < 1:
            raise ValueError(f"executions_per_trial must be >= 1, got {executions_per_trial}.")
        self.max_model_size = max_model_size
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics
        self.executions_per_trial = int(executions_per_trial)
        self.directory = os.fspath(directory) if directory is not None else "."
        self.project_name = project_name or "untitled_project"
        self.tuner_id = tuner_id or "tuner0"
        self.oracle._set_project_dir(self.project_dir)
        if overwrite and os.path.isdir(self.project_dir):
            if not _looks_like_project(self.project_dir):
                raise ValueError(f"overwrite=True would delete {self.project_dir!r}, which does not look like a "
                                 "tuner project (no oracle.json or trial_* folders); choose another "
                                 "directory/project_name.")
            shutil.rmtree(self.project_dir)
        if not overwrite and os.path.isfile(self._tuner_file()):
            print(f"Reloading Tuner from {self._tuner_file()}")
            self.reload()
        else:
            self._populate_initial_space()

    # ---------------------------------------------------------------- paths and state
    @property
    def project_dir(self):
        return os.path.join(self.directory, self.project_name)

    def get_trial_dir(self, trial_id):
        return self.oracle.trial_dir(trial_id)

    def _tuner_file(self):
        return os.path.join(self.project_dir, f"{self.tuner_id}.json")

    def _checkpoint(self, trial_id):
        return os.path.join(self.get_trial_dir(trial_id), CHECKPOINT)

    def save(self):
        self.oracle.save()
        write_json(self._tuner_file(), {"tuner_id": self.tuner_id})

    def reload(self):
        self.oracle.reload()

    @property
    def remaining_trials(self):
        return self.oracle.remaining_trials()

    # ---------------------------------------------------------------- the space
    def _populate_initial_space(self):
        """Build once with default values to collect the space, then once more for each conditional
        branch that the defaults left inactive, so every hyperparameter is known before trial 0."""
        if self.hypermodel is None:
            return
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)
        seen_active, pending = [], []
        for _ in range(100):
            backend.clear_session()
            self.hypermodel.build(hp)
            self.oracle.update_space(hp)
            for scope in hp.active_scopes:
                if scope not in seen_active:
                    seen_active.append(scope)
                if scope in pending:
                    pending.remove(scope)
            for scope in hp.inactive_scopes:
                if scope not in seen_active and scope not in pending:
                    pending.append(scope)
            if not pending:
                break
            hp = self.oracle.get_space()
            for condition in pending.pop(0):
                hp.values[condition.name] = condition.values[0]
            hp.ensure_active_values()
        backend.clear_session()
        gc.collect()

    # ---------------------------------------------------------------- the loop
    def search(self, *fit_args, **fit_kwargs):
        """Run trials until the oracle stops; arguments go to ``fit`` (via ``HyperModel.fit``)."""
        if "verbose" in fit_kwargs:
            self.oracle.verbose = fit_kwargs["verbose"]
        self.on_search_begin()
        while True:
            trial = self.oracle.create_trial(self.tuner_id)
            if trial.status == TrialStatus.STOPPED:
                break
            if trial.status == TrialStatus.IDLE:
                continue
            self.on_trial_begin(trial)
            try:
                metrics, step = metrics_of(self.run_trial(trial, *fit_args, **fit_kwargs), self.oracle.objective)
                self.oracle.update_trial(trial.trial_id, metrics, step=step)
                trial.status = TrialStatus.COMPLETED
            except (KeyboardInterrupt, TypeError, NameError, AttributeError, ImportError):
                raise   # interruptions and programming errors stop the search, as in Keras Tuner
            except Exception:
                import traceback
                trial.status = TrialStatus.INVALID
                trial.message = traceback.format_exc()
            self.on_trial_end(trial)
        self.on_search_end()

    def run_trial(self, trial, *args, **kwargs):
        """Train ``executions_per_trial`` fresh models; returns their Histories."""
        checkpoint = SaveBestEpoch(self.oracle.objective, self._checkpoint(trial.trial_id))
        user_callbacks = list(kwargs.pop("callbacks", None) or [])
        histories = []
        for execution in range(self.executions_per_trial):
            callbacks = self._copy_callbacks(user_callbacks)
            self._configure_tensorboard(callbacks, trial, execution)
            callbacks += [_TunerCallback(self, trial), checkpoint]
            histories.append(self._build_and_fit_model(trial, *args, callbacks=callbacks, **kwargs))
        return histories

    def _build_and_fit_model(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        results = self.hypermodel.fit(hp, model, *args, **kwargs)
        config = model.get_build_config()
        if config and config.get("input_shape") is not None:
            write_json(os.path.join(self.get_trial_dir(trial.trial_id), BUILD_CONFIG),
                       {"input_shape": list(config["input_shape"])})
        return results

    def _copy_callbacks(self, callbacks):
        out = []
        for cb in callbacks:
            # never copy a model a callback still points at from an earlier fit
            memo = {id(cb.model): None} if getattr(cb, "model", None) is not None else {}
            try:
                out.append(copy.deepcopy(cb, memo))
            except Exception as exc:
                raise ValueError(f"Callback {cb!r} cannot be deep-copied; the tuner gives every trial its own "
                                 f"copy of each callback ({exc}).") from exc
        return out

    def _configure_tensorboard(self, callbacks, trial, execution):
        for cb in callbacks:
            if isinstance(cb, TensorBoard):
                cb.log_dir = os.path.join(str(cb.log_dir), str(trial.trial_id), f"execution{execution}")
                hps = trial.hyperparameters
                cb.hparams = {p.name: hps.values[p.name] for p in hps.space
                              if p.name in hps.values and isinstance(hps.values[p.name], (bool, int, float, str))}
                cb.hparams_trial_id = str(trial.trial_id)

    def _try_build(self, hp):
        from ..models import Model
        backend.clear_session()
        gc.collect()
        model = self.hypermodel.build(hp)
        if not isinstance(model, Model):
            raise TypeError(f"The model-building function (or HyperModel.build) must return a minikeras Model; "
                            f"got {type(model).__name__}.")
        if self.optimizer is not None or self.loss is not None or self.metrics is not None:
            config = getattr(model, "_compile_config", {}) or {}
            model.compile(optimizer=self.optimizer or model.optimizer, loss=self.loss or model.loss,
                          metrics=self.metrics or config.get("metrics"))
        if self.max_model_size and model.built:
            size = sum(int(backend.np.prod(w.shape)) for w in model.trainable_weights)
            if size > self.max_model_size:
                raise ValueError(f"Oversized model: {size} parameters > max_model_size={self.max_model_size}.")
        return model

    def _ensure_built(self, model, trial_id):
        path = os.path.join(self.get_trial_dir(trial_id), BUILD_CONFIG)
        if not model.weights and os.path.isfile(path):
            model.build(tuple(read_json(path)["input_shape"]))

    # ---------------------------------------------------------------- results
    def load_model(self, trial):
        """A model built from ``trial``'s hyperparameters with its best epoch's weights."""
        path = self._checkpoint(trial.trial_id)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Trial {trial.trial_id} ({trial.status}) has no saved weights at {path!r}.")
        model = self._try_build(trial.hyperparameters)
        self._ensure_built(model, trial.trial_id)
        model.load_weights(path)
        return model

    def get_best_models(self, num_models=1):
        """The best ``num_models`` models, best first, with the weights of their best epoch."""
        return [self.load_model(t) for t in self.oracle.get_best_trials(num_models)]

    def get_best_hyperparameters(self, num_trials=1):
        return [t.hyperparameters for t in self.oracle.get_best_trials(num_trials)]

    def search_space_summary(self, extended=False):
        hp = self.oracle.get_space()
        print("Search space summary")
        print(f"Default search space size: {len(hp.space)}")
        for p in hp.space:
            config = p.get_config()
            name = config.pop("name")
            if not config.get("conditions"):
                config.pop("conditions", None)
            print(f"{name} ({type(p).__name__})")
            print(config)

    def results_summary(self, num_trials=10):
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(self.oracle.objective)
        for trial in self.oracle.get_best_trials(num_trials):
            print()
            trial.summary()

    # ---------------------------------------------------------------- hooks
    def on_search_begin(self): pass
    def on_search_end(self): pass
    def on_trial_begin(self, trial): pass
    def on_epoch_begin(self, trial, model, epoch, logs=None): pass
    def on_epoch_end(self, trial, model, epoch, logs=None): pass

    def on_trial_end(self, trial):
        self.oracle.end_trial(trial)
        self.save()


class RandomSearch(Tuner):
    """``max_trials`` trials, each with values drawn at random; ``seed`` makes the draws repeatable."""

    def __init__(self, hypermodel=None, objective=None, max_trials=10, seed=None, hyperparameters=None,
                 tune_new_entries=True, allow_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3, **kwargs):
        self.seed = seed
        oracle = RandomSearchOracle(objective, max_trials, seed, hyperparameters, allow_new_entries,
                                    tune_new_entries, max_retries_per_trial, max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)


class GridSearch(Tuner):
    """Every combination of the (discrete) values, defaults first, up to ``max_trials``."""

    def __init__(self, hypermodel=None, objective=None, max_trials=None, seed=None, hyperparameters=None,
                 tune_new_entries=True, allow_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3, **kwargs):
        self.seed = seed
        oracle = GridSearchOracle(objective, max_trials, seed, hyperparameters, allow_new_entries,
                                  tune_new_entries, max_retries_per_trial, max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)
