"""The oracle decides what each trial tries, keeps every trial and saves the search state.

``create_trial`` asks ``populate_space`` (each search algorithm's own rule) for the next
values; ``update_trial`` records the metrics a trial reached; ``end_trial`` scores it. The
whole state goes to ``<project>/oracle.json`` and each trial to
``<project>/trial_<id>/trial.json`` (plain JSON, as Keras Tuner lays it out), so a new
tuner with ``overwrite=False`` carries on where the last one stopped: trials that were
still running when the process died are run again.
"""
import hashlib
import json
import os
import random
import time

from .hyperparameters import HyperParameters
from .trial import Trial, TrialStatus, create_objective

MAX_COLLISIONS = 20


def write_json(path, obj):
    """Write JSON atomically (a half-written state file would break the next resume)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _format_duration(seconds):
    s = int(round(seconds))
    return f"{s // 3600:02d}h {s % 3600 // 60:02d}m {s % 60:02d}s"


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.5g}"
    text = str(value)
    return text if len(text) <= 18 else text[:15] + "..."


class Display:
    """What the search prints per trial: the values tried, then the score and the best so far."""

    def __init__(self, oracle, verbose=1):
        self.oracle = oracle
        self.verbose = verbose
        self._search_start = None
        self._trial_start = {}

    def on_trial_begin(self, trial):
        if not self.verbose:
            return
        now = time.time()
        self._trial_start[trial.trial_id] = now
        self._search_start = self._search_start or now
        number = len(self.oracle.trials)
        limit = f" of {self.oracle.max_trials}" if self.oracle.max_trials else ""
        print(f"\nSearch: Running Trial #{number}{limit}\n")
        best = self.oracle.get_best_trials(1)
        best_values = best[0].hyperparameters.values if best and best[0].score is not None else {}
        if trial.hyperparameters.values:
            print(f"{'Value':<18}|{'Best Value So Far':<18}|Hyperparameter")
            for name, value in trial.hyperparameters.values.items():
                print(f"{_format_value(value):<18}|{_format_value(best_values.get(name, '?')):<18}|{name}")
        else:
            print("default configuration")
        print()

    def on_trial_end(self, trial):
        if not self.verbose:
            return
        start = self._trial_start.pop(trial.trial_id, time.time())
        print(f"Trial {trial.trial_id} {trial.status.lower()} [{_format_duration(time.time() - start)}]")
        name = self.oracle.objective.name
        if trial.score is not None:
            print(f"{name}: {trial.score}")
        best = self.oracle.get_best_trials(1)
        print(f"\nBest {name} So Far: {best[0].score if best else None}")
        print(f"Total elapsed time: {_format_duration(time.time() - (self._search_start or start))}")


class Oracle:
    """Base class of the search algorithms (Keras Tuner's ``Oracle`` API)."""

    def __init__(self, objective=None, max_trials=None, hyperparameters=None, allow_new_entries=True,
                 tune_new_entries=True, seed=None, max_retries_per_trial=0, max_consecutive_failed_trials=3):
        self.objective = create_objective(objective)
        self.max_trials = max_trials
        self.hyperparameters = hyperparameters.copy() if hyperparameters else HyperParameters()
        if not hyperparameters and not (allow_new_entries and tune_new_entries):
            raise ValueError("With allow_new_entries=False or tune_new_entries=False, pass the search space "
                             "as `hyperparameters=`.")
        self.allow_new_entries = allow_new_entries
        self.tune_new_entries = tune_new_entries
        self.seed = random.randint(1, 10000) if seed is None else int(seed)
        self._seed_state = self.seed
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.trials = {}
        self.ongoing_trials = {}
        self.start_order = []
        self.end_order = []
        self._run_times = {}
        self._retry_queue = []
        self._tried_so_far = set()
        self._id_to_hash = {}
        self.project_dir = None
        self._display = Display(self)

    @property
    def verbose(self):
        return self._display.verbose

    @verbose.setter
    def verbose(self, value):
        self._display.verbose = 1 if value == "auto" else value

    # ---------------------------------------------------------------- the algorithm's part
    def populate_space(self, trial_id):
        """``{"status": RUNNING, "values": {...}}``, or STOPPED when the search is over, or IDLE."""
        raise NotImplementedError

    def score_trial(self, trial):
        trial.score = trial.metrics.get_best_value(self.objective.name)
        trial.best_step = trial.metrics.get_best_step(self.objective.name)

    # ---------------------------------------------------------------- trials
    def _next_trial_id(self):
        width = len(str(self.max_trials)) if self.max_trials else 4
        return f"{len(self.trials):0{width}d}"

    def create_trial(self, tuner_id):
        if tuner_id in self.ongoing_trials:
            return self.ongoing_trials[tuner_id]
        if self._retry_queue:
            trial = self.trials[self._retry_queue.pop(0)]
            trial.status = TrialStatus.RUNNING
            trial.metrics = type(trial.metrics)()
            self.ongoing_trials[tuner_id] = trial
            self.save()
            self._display.on_trial_begin(trial)
            return trial
        trial_id = self._next_trial_id()
        if self.max_trials and len(self.trials) >= self.max_trials:
            response = {"status": TrialStatus.STOPPED}
        else:
            response = self.populate_space(trial_id)
        status = response["status"]
        hps = self.hyperparameters.copy()
        hps.values = dict(response.get("values") or {})
        trial = Trial(hps, trial_id, status)
        if status == TrialStatus.RUNNING:
            self._record_values(trial)
            self.ongoing_trials[tuner_id] = trial
            self.trials[trial_id] = trial
            self.start_order.append(trial_id)
            self.save_trial(trial)
            self.save()
            self._display.on_trial_begin(trial)
        return trial

    def update_trial(self, trial_id, metrics, step=0):
        trial = self.trials[trial_id]
        if self.objective.name not in metrics:
            raise ValueError(f"The objective {self.objective.name!r} is not among the metrics the trial "
                             f"reported: {sorted(metrics)}. Pass validation data (for 'val_*' objectives) "
                             "or compile the model with that metric.")
        for name, value in metrics.items():
            if not trial.metrics.exists(name):
                trial.metrics.register(name, self.objective.direction if name == self.objective.name else None)
            trial.metrics.update(name, value, step)
        self.save_trial(trial)
        return trial

    def end_trial(self, trial):
        trial = self.trials[trial.trial_id] if trial.trial_id in self.trials else trial
        self.update_space(trial.hyperparameters)
        if trial.status == TrialStatus.COMPLETED:
            self.score_trial(trial)
            if trial.score is None or trial.score != trial.score:   # NaN: the run diverged
                trial.status = TrialStatus.INVALID
        self._record_values(trial)
        self._run_times[trial.trial_id] = self._run_times.get(trial.trial_id, 0) + 1
        if trial.status == TrialStatus.INVALID and self._run_times[trial.trial_id] <= self.max_retries_per_trial:
            self._retry_queue.append(trial.trial_id)
        else:
            if trial.status == TrialStatus.INVALID:
                trial.status = TrialStatus.FAILED
            self.end_order.append(trial.trial_id)
            self._check_consecutive_failures()
        for tuner_id, ongoing in list(self.ongoing_trials.items()):
            if ongoing.trial_id == trial.trial_id:
                del self.ongoing_trials[tuner_id]
        self.save_trial(trial)
        self.save()
        self._display.on_trial_end(trial)

    def _check_consecutive_failures(self):
        run = 0
        for trial_id in self.end_order:
            run = run + 1 if self.trials[trial_id].status == TrialStatus.FAILED else 0
        if self.max_consecutive_failed_trials and run >= self.max_consecutive_failed_trials:
            last = self.trials[self.end_order[-1]]
            raise RuntimeError(f"{run} trials in a row failed (limit max_consecutive_failed_trials="
                               f"{self.max_consecutive_failed_trials}). The last error:\n{last.message or ''}")

    def get_trial(self, trial_id):
        return self.trials[trial_id]

    def get_best_trials(self, num_trials=1):
        """Completed trials, best score first (then the others, when too few completed)."""
        done = [t for t in self.trials.values() if t.status == TrialStatus.COMPLETED]
        done.sort(key=lambda t: t.score, reverse=self.objective.direction == "max")
        if len(done) < num_trials:
            done += [t for t in self.trials.values() if t.status != TrialStatus.COMPLETED]
        return done[:num_trials]

    def remaining_trials(self):
        return self.max_trials - len(self.trials) if self.max_trials else None

    # ---------------------------------------------------------------- the space
    def get_space(self):
        return self.hyperparameters.copy()

    def update_space(self, hyperparameters):
        new = [hp for hp in hyperparameters.space
               if self.hyperparameters._find(hp.name, hp.conditions) is None]
        if new and not self.allow_new_entries:
            raise RuntimeError(f"allow_new_entries=False, but the model declared new hyperparameters "
                               f"{[hp.name for hp in new]}.")
        if self.tune_new_entries:
            self.hyperparameters.merge(new)

    def _hash(self, values):
        text = "".join(f"{k}={values[k]}" for k in sorted(values))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def _record_values(self, trial):
        trial.hyperparameters.ensure_active_values()
        new = self._hash(trial.hyperparameters.values)
        old = self._id_to_hash.get(trial.trial_id)
        if old is not None and old != new:
            self._tried_so_far.discard(old)
        self._tried_so_far.add(new)
        self._id_to_hash[trial.trial_id] = new

    def _random_values(self):
        """Fresh random values for every active hyperparameter, never a combination tried before;
        ``None`` when that fails ``MAX_COLLISIONS`` times (the space is exhausted)."""
        for _ in range(MAX_COLLISIONS + 1):
            hps = HyperParameters()
            for hp in self.hyperparameters.space:
                hps.merge([hp])
                if hps.is_active(hp):
                    hps.values[hp.name] = hp.random_sample(self._seed_state)
                    self._seed_state += 1
            if self._hash(hps.values) not in self._tried_so_far:
                return hps.values
        return None

    # ---------------------------------------------------------------- saving
    def get_state(self):
        return {"objective": {"name": self.objective.name, "direction": self.objective.direction},
                "max_trials": self.max_trials,
                "ongoing_trials": {k: t.trial_id for k, t in self.ongoing_trials.items()},
                "hyperparameters": self.hyperparameters.get_config(), "start_order": self.start_order,
                "end_order": self.end_order, "run_times": self._run_times, "retry_queue": self._retry_queue,
                "seed": self.seed, "seed_state": self._seed_state, "tried_so_far": sorted(self._tried_so_far),
                "id_to_hash": self._id_to_hash}

    def set_state(self, state):
        self.ongoing_trials = {k: self.trials[v] for k, v in state["ongoing_trials"].items() if v in self.trials}
        self.hyperparameters = HyperParameters.from_config(state["hyperparameters"])
        self.start_order = list(state["start_order"])
        self.end_order = list(state["end_order"])
        self._run_times = dict(state["run_times"])
        self._retry_queue = list(state["retry_queue"])
        self.seed = state["seed"]
        self._seed_state = state["seed_state"]
        self._tried_so_far = set(state["tried_so_far"])
        self._id_to_hash = dict(state["id_to_hash"])

    def _set_project_dir(self, project_dir):
        self.project_dir = project_dir

    def trial_dir(self, trial_id):
        path = os.path.join(self.project_dir, f"trial_{trial_id}")
        os.makedirs(path, exist_ok=True)
        return path

    def save_trial(self, trial):
        if self.project_dir is not None:
            write_json(os.path.join(self.trial_dir(trial.trial_id), "trial.json"), trial.get_state())

    def save(self):
        if self.project_dir is not None:
            os.makedirs(self.project_dir, exist_ok=True)
            write_json(os.path.join(self.project_dir, "oracle.json"), self.get_state())

    def reload(self):
        """Read the trials and the oracle state back; trials cut short by a crash are queued to rerun."""
        self.trials = {}
        for name in sorted(os.listdir(self.project_dir)):
            path = os.path.join(self.project_dir, name, "trial.json")
            if name.startswith("trial_") and os.path.isfile(path):
                trial = Trial.from_state(read_json(path))
                self.trials[trial.trial_id] = trial
        state = read_json(os.path.join(self.project_dir, "oracle.json"))
        saved = state.get("objective")
        if saved and (saved["name"], saved["direction"]) != (self.objective.name, self.objective.direction):
            raise ValueError(f"The project in {self.project_dir!r} was searched for objective {saved['name']!r} "
                             f"({saved['direction']}), not {self.objective.name!r}; pass overwrite=True or "
                             "another project_name to start a new search.")
        self.set_state(state)
        for trial in self.ongoing_trials.values():
            if trial.trial_id not in self._retry_queue:
                self._retry_queue.append(trial.trial_id)
        self.ongoing_trials = {}


class RandomSearchOracle(Oracle):
    """Each trial draws every hyperparameter at random (uniform in its [0, 1] coordinate)."""

    def __init__(self, objective=None, max_trials=10, seed=None, hyperparameters=None, allow_new_entries=True,
                 tune_new_entries=True, max_retries_per_trial=0, max_consecutive_failed_trials=3):
        super().__init__(objective, max_trials, hyperparameters, allow_new_entries, tune_new_entries, seed,
                         max_retries_per_trial, max_consecutive_failed_trials)

    def populate_space(self, trial_id):
        values = self._random_values()
        if values is None:
            return {"status": TrialStatus.STOPPED}
        return {"status": TrialStatus.RUNNING, "values": values}


class GridSearchOracle(Oracle):
    """Every combination in turn, like an odometer: the last hyperparameter changes fastest and each
    one starts from its default. Floats without a step contribute ten quantiles of their range."""

    def __init__(self, objective=None, max_trials=None, seed=None, hyperparameters=None, allow_new_entries=True,
                 tune_new_entries=True, max_retries_per_trial=0, max_consecutive_failed_trials=3):
        super().__init__(objective, max_trials, hyperparameters, allow_new_entries, tune_new_entries, seed,
                         max_retries_per_trial, max_consecutive_failed_trials)

    @staticmethod
    def _ordered_values(hp):
        values = list(hp.values)
        if hp.default in values:
            values.remove(hp.default)
        return [hp.default] + values

    def _next_after(self, values):
        hps = self.get_space()
        hps.values = dict(values)
        for hp in reversed(hps.space):
            if hps.is_active(hp):
                options = self._ordered_values(hp)
                current = hps.values.get(hp.name, hp.default)
                position = options.index(current) if current in options else -1
                if position + 1 < len(options):
                    hps.values[hp.name] = options[position + 1]
                    hps.ensure_active_values()
                    return hps.values
            hps.values[hp.name] = hp.default
        return None

    def populate_space(self, trial_id):
        hps = self.get_space()
        hps.values = {}
        hps.ensure_active_values()
        values = hps.values
        # walk the grid from the defaults to the first combination not tried yet
        while values is not None and self._hash(values) in self._tried_so_far:
            values = self._next_after(values)
        if values is None:
            return {"status": TrialStatus.IDLE if self.ongoing_trials else TrialStatus.STOPPED}
        return {"status": TrialStatus.RUNNING, "values": values}
