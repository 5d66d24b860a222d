"""A trial (one set of hyperparameter values and what training it gave), its metrics and the objective.

A trial's ``score`` is the objective at its best epoch (averaged over executions), as in
Keras Tuner; ``metrics`` keeps every metric of that epoch, so
``trial.metrics.get_last_value("val_accuracy")`` reads the score's epoch too.
"""
import math

from ..callbacks.monitor_callback import infer_direction
from .hyperparameters import HyperParameters


class TrialStatus:
    RUNNING = "RUNNING"
    IDLE = "IDLE"
    INVALID = "INVALID"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class Objective:
    """The metric to optimize and whether higher (``"max"``) or lower (``"min"``) is better."""

    def __init__(self, name, direction):
        if direction not in ("min", "max"):
            raise ValueError(f"Objective({name!r}): direction must be 'min' or 'max', got {direction!r}.")
        self.name = name
        self.direction = direction

    def better_than(self, a, b):
        return a > b if self.direction == "max" else a < b

    def has_value(self, logs):
        return self.name in logs

    def get_value(self, logs):
        return logs[self.name]

    def __eq__(self, other):
        return isinstance(other, Objective) and (self.name, self.direction) == (other.name, other.direction)

    def __str__(self):
        return f'Objective(name="{self.name}", direction="{self.direction}")'

    __repr__ = __str__


def create_objective(objective):
    """A name (direction inferred, as for EarlyStopping's mode="auto") or an ``Objective``."""
    if objective is None:
        return Objective("val_loss", "min")
    if isinstance(objective, Objective):
        return objective
    if not isinstance(objective, str):
        raise TypeError(f"objective must be a metric name or a kt.Objective, got {objective!r}.")
    direction = infer_direction(objective)
    if direction is None:
        raise ValueError(f"Cannot tell whether objective {objective!r} should be minimized or maximized; "
                         f'pass kt.Objective("{objective}", direction="min") or direction="max".')
    return Objective(objective, direction)


class MetricHistory:
    """Observations of one metric by step (epoch); several executions at one step are averaged."""

    def __init__(self, direction="min"):
        self.direction = direction
        self._observations = {}

    def update(self, value, step=0):
        self._observations.setdefault(int(step), []).append(float(value))

    def _means(self):
        return {s: sum(v) / len(v) for s, v in sorted(self._observations.items())}

    def get_history(self):
        return [{"step": s, "value": v} for s, v in self._means().items()]

    def get_best_value(self):
        values = [v for v in self._means().values() if not math.isnan(v)]
        if not values:
            return None
        return max(values) if self.direction == "max" else min(values)

    def get_best_step(self):
        best = self.get_best_value()
        return next((s for s, v in self._means().items() if v == best), None)

    def get_last_value(self):
        means = self._means()
        return means[max(means)] if means else None

    def get_config(self):
        return {"direction": self.direction,
                "observations": [{"step": s, "value": v} for s, v in sorted(self._observations.items())]}

    @classmethod
    def from_config(cls, config):
        history = cls(config["direction"])
        for obs in config["observations"]:
            history._observations[int(obs["step"])] = [float(x) for x in obs["value"]]
        return history


class MetricsTracker:
    """``{metric name: MetricHistory}`` with Keras Tuner's reading methods."""

    def __init__(self):
        self.metrics = {}

    def exists(self, name):
        return name in self.metrics

    def register(self, name, direction=None):
        if self.exists(name):
            raise ValueError(f"Metric already exists: {name}")
        self.metrics[name] = MetricHistory(direction or infer_direction(name) or "min")

    def update(self, name, value, step=0):
        if not self.exists(name):
            self.register(name)
        self.metrics[name].update(value, step)

    def get_history(self, name):
        return self.metrics[name].get_history()

    def get_best_value(self, name):
        return self.metrics[name].get_best_value() if self.exists(name) else None

    def get_best_step(self, name):
        return self.metrics[name].get_best_step() if self.exists(name) else None

    def get_last_value(self, name):
        return self.metrics[name].get_last_value() if self.exists(name) else None

    def get_direction(self, name):
        return self.metrics[name].direction

    def get_config(self):
        return {"metrics": {name: h.get_config() for name, h in self.metrics.items()}}

    @classmethod
    def from_config(cls, config):
        tracker = cls()
        tracker.metrics = {name: MetricHistory.from_config(h) for name, h in config["metrics"].items()}
        return tracker


class Trial:
    """One point of the search: ``trial_id``, ``hyperparameters``, ``status``, ``score``, ``metrics``."""

    def __init__(self, hyperparameters, trial_id, status=TrialStatus.RUNNING, message=None):
        self.hyperparameters = hyperparameters
        self.trial_id = trial_id
        self.status = status
        self.message = message
        self.metrics = MetricsTracker()
        self.score = None
        self.best_step = 0

    def summary(self):
        """Print the trial's hyperparameter values and score."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        self.display_hyperparameters()
        if self.score is not None:
            print(f"Score: {self.score}")
        if self.message:
            print(self.message)

    def display_hyperparameters(self):
        if not self.hyperparameters.values:
            print("default configuration")
        for name, value in self.hyperparameters.values.items():
            print(f"{name}: {value}")

    def get_state(self):
        return {"trial_id": self.trial_id, "hyperparameters": self.hyperparameters.get_config(),
                "metrics": self.metrics.get_config(), "score": self.score, "best_step": self.best_step,
                "status": self.status, "message": self.message}

    @classmethod
    def from_state(cls, state):
        trial = cls(HyperParameters.from_config(state["hyperparameters"]), state["trial_id"],
                    state["status"], state.get("message"))
        trial.metrics = MetricsTracker.from_config(state["metrics"])
        trial.score = state["score"]
        trial.best_step = state["best_step"]
        return trial

    def __repr__(self):
        return f"Trial(id={self.trial_id!r}, status={self.status}, score={self.score})"
