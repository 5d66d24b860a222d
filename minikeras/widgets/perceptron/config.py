"""The perceptron stepper's settings: one validated, immutable dataclass and its JSON state."""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._settings import Settings


@dataclass(frozen=True)
class PerceptronConfig(Settings):
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

    WHAT = "perceptron"

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
