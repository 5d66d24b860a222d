"""Learning-rate schedules: functions of the optimizer step, as in ``keras.optimizers.schedules``.

An optimizer given a schedule calls it with its ``iterations`` before each update. The
schedules also accept an array of steps (handy for plotting a schedule in a notebook).
Values are computed in float64 and returned as float32, the dtype Keras returns.
"""
import math

import numpy as np

from .. import backend, registry


def _steps(step):
    """The step(s) as a float64 NumPy array (accepts ints, arrays, Tensors and Variables)."""
    return np.asarray(backend.to_numpy(step), dtype=np.float64)


def _out(x):
    x = np.asarray(x, dtype=np.float32)
    return x[()] if x.ndim == 0 else x


def _check_steps(cls, name, value):
    if not value > 0:
        raise ValueError(f"{cls}: `{name}` must be > 0, got {value!r}.")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement `__call__(step)`.")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement `get_config()` to be saved.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class _RateDecay(LearningRateSchedule):
    """A decay by ``decay_rate`` per ``decay_steps`` (floored to whole periods with ``staircase``);
    subclasses give the formula of the decayed rate in ``_decay(periods)``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        _check_steps(type(self).__name__, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__

    def __call__(self, step):
        p = _steps(step) / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return _out(self._decay(p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``lr0 * decay_rate ** (step / decay_steps)``; with ``staircase`` the exponent is floored."""

    def _decay(self, p):
        return self.initial_learning_rate * np.power(float(self.decay_rate), p)


class InverseTimeDecay(_RateDecay):
    """``lr0 / (1 + decay_rate * step / decay_steps)`` (the power schedule of Keras 2's ``decay``)."""

    def _decay(self, p):
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: `boundaries` must have one element fewer than `values`; "
                f"got {len(boundaries)} boundaries {list(boundaries)} and {len(values)} values "
                f"{list(values)}.")
        if any(b1 > b2 for b1, b2 in zip(boundaries[:-1], boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: `boundaries` must be increasing, got {list(boundaries)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        i = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), _steps(step), side="left")
        return _out(np.asarray(self.values, dtype=np.float64)[i])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``lr0`` to ``end_learning_rate`` over ``decay_steps`` as ``(1 - step/decay_steps) ** power``;
    ``cycle=True`` restarts with a longer period instead of staying at the end value."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_steps("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = _steps(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps = decay_steps * np.where(step == 0, 1.0, np.ceil(step / decay_steps))
        else:
            step = np.minimum(step, decay_steps)
        frac = 1.0 - step / decay_steps
        lr0, lr1 = self.initial_learning_rate, self.end_learning_rate
        return _out((lr0 - lr1) * np.power(frac, self.power) + lr1)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Half a cosine from the start value down to ``alpha`` times it over ``decay_steps``,
    optionally after a linear warmup from ``initial_learning_rate`` to ``warmup_target``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_steps("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decayed(self, step, start_lr):
        frac = step / self.decay_steps
        cosine = 0.5 * (1.0 + np.cos(math.pi * frac))
        return start_lr * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = _steps(step)
        if self.warmup_target is None:
            return _out(self._decayed(np.minimum(step, self.decay_steps), self.initial_learning_rate))
        ws = float(self.warmup_steps)
        step = np.minimum(step, self.decay_steps + ws)
        with np.errstate(divide="ignore", invalid="ignore"):
            warm = (self.warmup_target - self.initial_learning_rate) * (step / ws) + self.initial_learning_rate
        return _out(np.where(step < ws, warm, self._decayed(step - ws, self.warmup_target)))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): period i lasts ``first_decay_steps * t_mul**i``
    and starts from ``initial_learning_rate * m_mul**i``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_steps("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        frac = _steps(step) / self.first_decay_steps
        t_mul = float(self._t_mul)
        if t_mul == 1.0:
            restart = np.floor(frac)
            frac = frac - restart
        else:
            restart = np.floor(np.log(1.0 - frac * (1.0 - t_mul)) / np.log(t_mul))
            done = (1.0 - t_mul ** restart) / (1.0 - t_mul)   # length of the finished periods
            frac = (frac - done) / t_mul ** restart
        cosine = 0.5 * self._m_mul ** restart * (1.0 + np.cos(math.pi * frac))
        return _out(self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_ALL = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                                      PolynomialDecay, CosineDecay, CosineDecayRestarts)}


registry.register_builtins("schedules", _ALL, kind="learning rate schedule", module="keras.optimizers.schedules",
                           example="ExponentialDecay")
serialize, deserialize, _ = registry.family_functions("schedules", __name__)


def get(identifier):
    """A schedule from an instance or a ``serialize`` dict."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret learning rate schedule identifier: {identifier!r}.")


__all__ = ["LearningRateSchedule", "serialize", "deserialize", "get"] + sorted(_ALL)
