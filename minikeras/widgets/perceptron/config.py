"""The perceptron stepper's settings: one validated, immutable dataclass and its JSON state."""
import dataclasses
import json
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class PerceptronConfig:
    """Where a perceptron run starts and how it steps.

    ``learning_rate`` is eta of the rule (positive); ``weights`` the starting weights, or None to
    draw small random ones from ``seed``; ``bias`` the starting bias; ``shuffle`` visits the
    samples in a fresh random order every epoch (from ``seed`` too).
    """

    learning_rate: float = 1.0
    weights: Optional[tuple] = None
    bias: float = 0.0
    shuffle: bool = True
    seed: Optional[int] = 0

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen dataclass
        lr = float(self.learning_rate)
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"learning_rate must be a positive number; got {self.learning_rate!r}.")
        put("learning_rate", lr)
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=float)
            if w.ndim != 1 or not np.all(np.isfinite(w)):
                raise ValueError(f"weights must be a flat list of finite numbers; got {self.weights!r}.")
            put("weights", tuple(float(v) for v in w))
        bias = float(self.bias)
        if not np.isfinite(bias):
            raise ValueError(f"bias must be a finite number; got {self.bias!r}.")
        put("bias", bias)
        put("shuffle", bool(self.shuffle))
        if self.seed is not None:
            put("seed", int(self.seed))

    def update(self, **changes):
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ValueError(f"Unknown perceptron setting(s) {unknown}; the settings are {list(self.names())}.")
        return dataclasses.replace(self, **changes)

    @classmethod
    def names(cls):
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_state(self):
        """A JSON-able dict of every setting."""
        state = dataclasses.asdict(self)
        state["weights"] = None if self.weights is None else list(self.weights)
        return state

    @classmethod
    def from_state(cls, state):
        state = json.loads(state) if isinstance(state, str) else dict(state)
        unknown = sorted(set(state) - set(cls.names()))
        if unknown:
            raise ValueError(f"Unknown perceptron setting(s) {unknown} in the state; "
                             f"the settings are {list(cls.names())}.")
        return cls(**state)
