"""Hyperband (Li et al., 2018) with Keras Tuner's bracket arithmetic.

One Hyperband iteration runs ``s_max + 1`` brackets, where ``s_max + 1`` is how many times
``max_epochs`` can be divided by ``factor`` before dropping below one epoch. Bracket ``s``
(run from ``s_max`` down to 0) is successive halving in ``s + 1`` rounds: round ``r``
trains ``ceil(ceil(1 + log_factor(max_epochs)) / (s + 1) * factor**(s - r))`` models up
to ``ceil(max_epochs / factor**(s - r))`` epochs; round 0 draws new random values, later
rounds promote the best models of the round before and go on from their saved weights
(``initial_epoch`` = the epochs they already had). Every round's model is a trial of its
own. For ``max_epochs=10, factor=3`` one iteration is 30 trials and 120 epochs.

The epoch counts come from the oracle: whatever ``epochs`` is given to ``search`` is
replaced by each trial's ``tuner/epochs`` (and ``initial_epoch`` by ``tuner/initial_epoch``).
"""
import math

from .oracle import Oracle
from .trial import TrialStatus
from .tuner import Tuner


def num_brackets(max_epochs, factor, min_epochs=1):
    epochs, n = max_epochs, 0
    while epochs >= min_epochs:
        epochs /= factor
        n += 1
    return n


def bracket_size(max_epochs, factor, bracket, round_):
    """How many models round ``round_`` of bracket ``bracket`` trains."""
    last = math.ceil(1 + math.log(max_epochs, factor))
    return math.ceil(last / (bracket + 1) * factor ** (bracket - round_))


def bracket_epochs(max_epochs, factor, bracket, round_):
    """The epoch each model of that round is trained up to."""
    return math.ceil(max_epochs / factor ** (bracket - round_))


def iteration_budget(max_epochs, factor):
    """(trials, epochs) one Hyperband iteration costs when no trial stops early."""
    trials = epochs = 0
    for s in range(num_brackets(max_epochs, factor) - 1, -1, -1):
        for r in range(s + 1):
            n = bracket_size(max_epochs, factor, s, r)
            start = bracket_epochs(max_epochs, factor, s, r - 1) if r else 0
            trials += n
            epochs += n * (bracket_epochs(max_epochs, factor, s, r) - start)
    return trials, epochs


_BOOKKEEPING = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round")


class HyperbandOracle(Oracle):
    def __init__(self, objective=None, max_epochs=100, factor=3, hyperband_iterations=1, seed=None,
                 hyperparameters=None, allow_new_entries=True, tune_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3):
        super().__init__(objective, None, hyperparameters, allow_new_entries, tune_new_entries, seed,
                         max_retries_per_trial, max_consecutive_failed_trials)
        if int(factor) != factor or factor < 2:
            raise ValueError(f"Hyperband: factor must be an integer >= 2, got {factor}.")
        if int(max_epochs) != max_epochs or max_epochs < 1:
            raise ValueError(f"Hyperband: max_epochs must be a positive integer, got {max_epochs}.")
        self.max_epochs = int(max_epochs)
        self.factor = int(factor)
        self.min_epochs = 1
        self.hyperband_iterations = hyperband_iterations or float("inf")
        self._current_iteration = 0
        self._current_bracket = num_brackets(self.max_epochs, self.factor) - 1
        self._brackets = []
        self._start_bracket()

    def _size(self, bracket, round_):
        return bracket_size(self.max_epochs, self.factor, bracket, round_)

    def _epochs(self, bracket, round_):
        return bracket_epochs(self.max_epochs, self.factor, bracket, round_)

    def _start_bracket(self):
        self._brackets.append({"bracket_num": self._current_bracket,
                               "rounds": [[] for _ in range(self._current_bracket + 1)]})

    def _hash(self, values):
        # a promoted trial differs from its parent only by the epochs it trains for: same hash
        return super()._hash({k: v for k, v in values.items() if k not in _BOOKKEEPING})

    def populate_space(self, trial_id):
        self._brackets = [b for b in self._brackets
                          if len(b["rounds"][-1]) != self._size(b["bracket_num"], len(b["rounds"]) - 1)]
        for bracket in self._brackets:
            s, rounds = bracket["bracket_num"], bracket["rounds"]
            if len(rounds[0]) < self._size(s, 0):
                return self._random_trial(trial_id, bracket)
            for r in range(1, len(rounds)):
                promoted = {info["past_id"] for info in rounds[r]}
                candidates = [self.trials[info["id"]] for info in rounds[r - 1] if info["id"] not in promoted]
                candidates = [t for t in candidates if t.status == TrialStatus.COMPLETED]
                # promote once the round before has finished enough trials for its ranking to hold
                if len(candidates) > self._size(s, r - 1) - self._size(s, r):
                    best = sorted(candidates, key=lambda t: t.score,
                                  reverse=self.objective.direction == "max")[0]
                    values = dict(best.hyperparameters.values)
                    values.update({"tuner/trial_id": best.trial_id, "tuner/epochs": self._epochs(s, r),
                                   "tuner/initial_epoch": self._epochs(s, r - 1), "tuner/bracket": s,
                                   "tuner/round": r})
                    rounds[r].append({"past_id": best.trial_id, "id": trial_id})
                    return {"status": TrialStatus.RUNNING, "values": values}
        if self._current_bracket == 0 and self._current_iteration + 1 >= self.hyperband_iterations:
            return {"status": TrialStatus.IDLE if self.ongoing_trials else TrialStatus.STOPPED}
        self._current_bracket -= 1
        if self._current_bracket < 0:
            self._current_bracket = num_brackets(self.max_epochs, self.factor) - 1
            self._current_iteration += 1
        self._start_bracket()
        return self._random_trial(trial_id, self._brackets[-1])

    def _random_trial(self, trial_id, bracket):
        values = self._random_values()
        if values is None:
            return {"status": TrialStatus.IDLE if self.ongoing_trials else TrialStatus.STOPPED}
        s = bracket["bracket_num"]
        values.update({"tuner/epochs": self._epochs(s, 0), "tuner/initial_epoch": 0, "tuner/bracket": s,
                       "tuner/round": 0})
        bracket["rounds"][0].append({"past_id": None, "id": trial_id})
        return {"status": TrialStatus.RUNNING, "values": values}

    def get_state(self):
        state = super().get_state()
        state.update({"hyperband_iterations": None if self.hyperband_iterations == float("inf")
                      else self.hyperband_iterations, "max_epochs": self.max_epochs, "factor": self.factor,
                      "min_epochs": self.min_epochs, "brackets": self._brackets,
                      "current_bracket": self._current_bracket, "current_iteration": self._current_iteration})
        return state

    def set_state(self, state):
        super().set_state(state)
        self.hyperband_iterations = state["hyperband_iterations"] or float("inf")
        self.max_epochs, self.factor, self.min_epochs = state["max_epochs"], state["factor"], state["min_epochs"]
        self._brackets = state["brackets"]
        self._current_bracket = state["current_bracket"]
        self._current_iteration = state["current_iteration"]


class Hyperband(Tuner):
    """Many models for few epochs, then the best ``1/factor`` of them for more, up to ``max_epochs``."""

    def __init__(self, hypermodel=None, objective=None, max_epochs=100, factor=3, hyperband_iterations=1,
                 seed=None, hyperparameters=None, tune_new_entries=True, allow_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3, **kwargs):
        oracle = HyperbandOracle(objective, max_epochs, factor, hyperband_iterations, seed, hyperparameters,
                                 allow_new_entries, tune_new_entries, max_retries_per_trial,
                                 max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)

    def run_trial(self, trial, *fit_args, **fit_kwargs):
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            fit_kwargs["epochs"] = values["tuner/epochs"]
            fit_kwargs["initial_epoch"] = values["tuner/initial_epoch"]
        return super().run_trial(trial, *fit_args, **fit_kwargs)

    def _try_build(self, hp):
        model = super()._try_build(hp)
        parent = hp.values.get("tuner/trial_id")
        if parent is not None:   # a promoted model goes on from the weights its parent trial saved
            self._ensure_built(model, parent)
            model.load_weights(self._checkpoint(parent))
        return model
