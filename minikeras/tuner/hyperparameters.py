"""Hyperparameters: the search space and the values of one trial (Keras Tuner's API).

``hp.Int("units", 16, 256)`` both *declares* a hyperparameter (the first time a name is
seen) and *returns* its value in the current trial (the default when nothing was chosen
yet). Every type maps values to and from a number in [0, 1] (``value_to_prob`` /
``prob_to_value``): random search samples that number uniformly and the Bayesian oracle
fits its Gaussian process on those numbers, so "log" sampling makes each decade equally
likely. ``conditional_scope(parent, values)`` makes hyperparameters exist only for some
values of a parent (inactive ones return ``None`` and are left out of ``values``).
"""
import contextlib
import math
import random

__all__ = ["HyperParameter", "Int", "Float", "Choice", "Boolean", "Fixed", "HyperParameters"]

_SAMPLINGS = ("linear", "log", "reverse_log")


def _index_of(prob, n):
    """The bucket (0..n-1) of ``prob`` when [0, 1] is cut into ``n`` equal parts."""
    return min(int(prob * n), n - 1)


class Condition:
    """Active when hyperparameter ``name`` currently has one of ``values``."""

    def __init__(self, name, values):
        self.name = name
        self.values = list(values) if isinstance(values, (list, tuple, set)) else [values]

    def is_active(self, values):
        return self.name in values and values[self.name] in self.values

    def get_config(self):
        return {"name": self.name, "values": list(self.values)}

    def __eq__(self, other):
        return isinstance(other, Condition) and (self.name, self.values) == (other.name, other.values)

    def __repr__(self):
        return f"Condition({self.name!r} in {self.values})"


class HyperParameter:
    """Base class: a name, a default and the conditions under which it is active."""

    def __init__(self, name, default=None, conditions=None):
        self.name = name
        self._default = default
        self.conditions = list(conditions or [])

    @property
    def default(self):
        return self._default

    def random_sample(self, seed=None):
        """A value drawn uniformly in the [0, 1] coordinate, then mapped back."""
        return self.prob_to_value(random.Random(seed).random())

    def get_config(self):
        return {"name": self.name, "default": self._default,
                "conditions": [c.get_config() for c in self.conditions]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["conditions"] = [Condition(**c) for c in config.get("conditions", [])]
        return cls(**config)


class _Numerical(HyperParameter):
    """Int and Float: a range with linear, log or reverse-log spacing and an optional step."""

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=None):
        super().__init__(name, default, conditions)
        kind = type(self).__name__
        sampling = (sampling or "linear").lower()
        if sampling not in _SAMPLINGS:
            raise ValueError(f"HyperParameters.{kind}(name={name!r}): sampling must be one of "
                             f"{list(_SAMPLINGS)}, got {sampling!r}.")
        if min_value > max_value:
            raise ValueError(f"HyperParameters.{kind}(name={name!r}): min_value {min_value} is greater "
                             f"than max_value {max_value}.")
        if sampling != "linear" and min_value <= 0:
            raise ValueError(f"HyperParameters.{kind}(name={name!r}): sampling={sampling!r} needs a "
                             f"positive min_value, got {min_value}.")
        if step is not None and (step <= 0 or (sampling != "linear" and step <= 1)):
            need = "> 1 (a multiplier)" if sampling != "linear" else "> 0"
            raise ValueError(f"HyperParameters.{kind}(name={name!r}): step must be {need} with "
                             f"sampling={sampling!r}, got {step}.")
        if default is not None and not min_value <= default <= max_value:
            raise ValueError(f"HyperParameters.{kind}(name={name!r}): default {default} is outside "
                             f"[{min_value}, {max_value}].")
        self.min_value, self.max_value, self.step, self.sampling = min_value, max_value, step, sampling

    @property
    def default(self):
        return self.min_value if self._default is None else self._default

    # the continuous map between [0, 1] and [min_value, top]
    def _warp(self, prob, top):
        lo = self.min_value
        if self.sampling == "linear":
            return lo + prob * (top - lo)
        if self.sampling == "log":
            return lo * (top / lo) ** prob
        return top + lo - lo * (top / lo) ** (1 - prob)   # reverse_log: dense near the top

    def _unwarp(self, value, top):
        lo = self.min_value
        if top == lo:
            return 0.5
        if self.sampling == "linear":
            return (value - lo) / (top - lo)
        if self.sampling == "log":
            return math.log(value / lo) / math.log(top / lo)
        return 1 - math.log((top + lo - value) / lo) / math.log(top / lo)

    # the grid when a step is given
    def _n_steps(self):
        if self.sampling == "linear":
            return int((self.max_value - self.min_value) / self.step + 1e-9) + 1   # 0..1 by 0.2: six points
        return int(math.log(self.max_value / self.min_value, self.step) + 1e-8) + 1

    def _grid_value(self, i):
        lo = self.min_value
        if self.sampling == "linear":
            return lo + i * self.step
        if self.sampling == "log":
            return lo * self.step ** i
        return self.max_value + lo - lo * self.step ** i

    def _grid_index(self, value):
        lo = self.min_value
        if self.sampling == "linear":
            return round((value - lo) / self.step)
        if self.sampling == "log":
            return round(math.log(value / lo, self.step))
        return round(math.log((self.max_value + lo - value) / lo, self.step))

    @property
    def values(self):
        """The values a grid search visits: the step grid, or ten quantiles without a step."""
        if self.step is not None:
            return [self.prob_to_value((i + 0.5) / self._n_steps()) for i in range(self._n_steps())]
        seen = []
        for i in range(10):
            v = self.prob_to_value(i * 0.1 + 0.05)
            if v not in seen:
                seen.append(v)
        return seen

    def get_config(self):
        config = super().get_config()
        config.update(min_value=self.min_value, max_value=self.max_value, step=self.step,
                      sampling=self.sampling)
        return config

    def __repr__(self):
        return (f"{type(self).__name__}(name: {self.name!r}, min_value: {self.min_value}, max_value: "
                f"{self.max_value}, step: {self.step}, sampling: {self.sampling}, default: {self.default})")


def _as_int(value, what, name):
    if value is None:
        return None
    if int(value) != value:
        raise ValueError(f"HyperParameters.Int(name={name!r}): {what} must be an integer, got {value!r}.")
    return int(value)


class Int(_Numerical):
    """An integer in [min_value, max_value] (both included); ``step`` 1 by default when linear."""

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=None):
        step = _as_int(step, "step", name)
        if step is None and (sampling or "linear").lower() == "linear":
            step = 1
        super().__init__(name, _as_int(min_value, "min_value", name), _as_int(max_value, "max_value", name),
                         step, sampling, _as_int(default, "default", name), conditions)

    def prob_to_value(self, prob):
        if self.step is None:   # log/reverse_log without a step: any integer, warped
            return min(int(self._warp(prob, self.max_value + 1)), self.max_value)
        return int(round(self._grid_value(_index_of(prob, self._n_steps()))))

    def value_to_prob(self, value):
        if self.step is None:
            return self._unwarp(value + 0.5, self.max_value + 1)
        return (self._grid_index(value) + 0.5) / self._n_steps()


class Float(_Numerical):
    """A real number in [min_value, max_value]; with ``step`` only the points of that grid."""

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=None):
        super().__init__(name, float(min_value), float(max_value), step, sampling,
                         None if default is None else float(default), conditions)

    def prob_to_value(self, prob):
        if self.step is None:
            return float(min(max(self._warp(prob, self.max_value), self.min_value), self.max_value))
        return float(self._grid_value(_index_of(prob, self._n_steps())))

    def value_to_prob(self, value):
        if self.step is None:
            return self._unwarp(value, self.max_value)
        return (self._grid_index(value) + 0.5) / self._n_steps()


class Choice(HyperParameter):
    """One of ``values`` (all int, float, str or bool); the first is the default."""

    def __init__(self, name, values, ordered=None, default=None, conditions=None):
        super().__init__(name, default, conditions)
        values = list(values)
        if not values:
            raise ValueError(f"HyperParameters.Choice(name={name!r}): values must not be empty.")
        kinds = {type(v) for v in values}
        numeric = kinds <= {int, float}
        if len(kinds) > 1 and not numeric:
            raise TypeError(f"HyperParameters.Choice(name={name!r}): all values must have one type, got "
                            f"{sorted(k.__name__ for k in kinds)}.")
        if kinds == {int, float}:
            values = [float(v) for v in values]
        if ordered and not numeric:
            raise ValueError(f"HyperParameters.Choice(name={name!r}): ordered=True needs numeric values.")
        if default is not None and default not in values:
            raise ValueError(f"HyperParameters.Choice(name={name!r}): default {default!r} is not one of "
                             f"{values}.")
        self.values = values
        self.ordered = numeric if ordered is None else bool(ordered)

    @property
    def default(self):
        return self.values[0] if self._default is None else self._default

    def prob_to_value(self, prob):
        return self.values[_index_of(prob, len(self.values))]

    def value_to_prob(self, value):
        return (self.values.index(value) + 0.5) / len(self.values)

    def get_config(self):
        config = super().get_config()
        config.update(values=list(self.values), ordered=self.ordered)
        return config

    def __repr__(self):
        return (f"Choice(name: {self.name!r}, values: {self.values}, ordered: {self.ordered}, "
                f"default: {self.default})")


class Boolean(HyperParameter):
    """True or False; False by default."""

    def __init__(self, name, default=False, conditions=None):
        if not isinstance(default, bool):
            raise ValueError(f"HyperParameters.Boolean(name={name!r}): default must be a bool, got {default!r}.")
        super().__init__(name, default, conditions)

    values = (False, True)

    def prob_to_value(self, prob):
        return prob >= 0.5

    def value_to_prob(self, value):
        return 0.75 if value else 0.25

    def __repr__(self):
        return f"Boolean(name: {self.name!r}, default: {self.default})"


class Fixed(HyperParameter):
    """A constant recorded with the trial (e.g. Hyperband's ``tuner/epochs``)."""

    def __init__(self, name, value, conditions=None, default=None):
        if not isinstance(value, (bool, int, float, str, type(None))):
            raise ValueError(f"HyperParameters.Fixed(name={name!r}): value must be a bool, int, float, "
                             f"str or None, got {type(value).__name__}.")
        super().__init__(name, value, conditions)
        self.value = value

    @property
    def values(self):
        return [self.value]

    def prob_to_value(self, prob):
        return self.value

    def value_to_prob(self, value):
        return 0.5

    def get_config(self):
        config = super().get_config()
        config.pop("default")
        config["value"] = self.value
        return config

    def __repr__(self):
        return f"Fixed(name: {self.name!r}, value: {self.value!r})"


_TYPES = {cls.__name__: cls for cls in (Int, Float, Choice, Boolean, Fixed)}


def deserialize(config):
    return _TYPES[config["class_name"]].from_config(config["config"])


class HyperParameters:
    """The search space (``space``) and one assignment of values (``values``, active names only)."""

    def __init__(self):
        self._space = []
        self._conditions = []
        self._name_scopes = []
        self.values = {}
        # the condition stacks entered while building, active or not (the tuner uses them to
        # make sure every conditional branch gets declared)
        self.active_scopes = []
        self.inactive_scopes = []

    # ---------------------------------------------------------------- scopes
    @contextlib.contextmanager
    def name_scope(self, name):
        self._name_scopes.append(str(name))
        try:
            yield
        finally:
            self._name_scopes.pop()

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        """Hyperparameters declared inside exist only while ``parent_name`` is one of ``parent_values``."""
        parent_name = self._scoped(parent_name)
        if not any(p.name == parent_name for p in self._space):
            raise ValueError(f"conditional_scope: hyperparameter {parent_name!r} is not defined; declare it "
                             "before opening a scope on it.")
        self._conditions.append(Condition(parent_name, parent_values))
        stack = [Condition(c.name, c.values) for c in self._conditions]
        (self.active_scopes if self._all_active(stack) else self.inactive_scopes).append(stack)
        try:
            yield
        finally:
            self._conditions.pop()

    @contextlib.contextmanager
    def _maybe_scope(self, parent_name, parent_values):
        if parent_name is None:
            yield
        else:
            with self.conditional_scope(parent_name, parent_values):
                yield

    def _scoped(self, name):
        return "/".join(self._name_scopes + [str(name)])

    def _all_active(self, conditions):
        return all(c.is_active(self.values) for c in conditions)

    def is_active(self, hp):
        """Whether ``hp`` (a HyperParameter, or a name) is active under the current values."""
        if isinstance(hp, HyperParameter):
            return self._all_active(hp.conditions)
        return any(self._all_active(p.conditions) for p in self._space if p.name == str(hp))

    # ---------------------------------------------------------------- declaring
    def _find(self, name, conditions):
        return next((p for p in self._space if p.name == name and p.conditions == conditions), None)

    def _retrieve(self, hp):
        for c in self._conditions:
            if c.name == hp.name:
                raise ValueError(f"Hyperparameter {hp.name!r} cannot be conditional on itself.")
        if self._find(hp.name, hp.conditions) is None:
            self._space.append(hp)
            if self.is_active(hp) and hp.name not in self.values:
                self.values[hp.name] = hp.default
        if not self.is_active(hp):
            return None
        return self.values[hp.name]

    def _declare(self, cls, name, parent_name, parent_values, **kwargs):
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(cls(name=self._scoped(name), conditions=list(self._conditions), **kwargs))

    def Int(self, name, min_value, max_value, step=None, sampling="linear", default=None,
            parent_name=None, parent_values=None):
        """An integer hyperparameter; ``max_value`` is included."""
        return self._declare(Int, name, parent_name, parent_values, min_value=min_value,
                             max_value=max_value, step=step, sampling=sampling, default=default)

    def Float(self, name, min_value, max_value, step=None, sampling="linear", default=None,
              parent_name=None, parent_values=None):
        """A float hyperparameter; ``sampling="log"`` for learning rates and other scales."""
        return self._declare(Float, name, parent_name, parent_values, min_value=min_value,
                             max_value=max_value, step=step, sampling=sampling, default=default)

    def Choice(self, name, values, ordered=None, default=None, parent_name=None, parent_values=None):
        return self._declare(Choice, name, parent_name, parent_values, values=values, ordered=ordered,
                             default=default)

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        return self._declare(Boolean, name, parent_name, parent_values, default=default)

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        return self._declare(Fixed, name, parent_name, parent_values, value=value)

    # ---------------------------------------------------------------- reading
    @property
    def space(self):
        return list(self._space)

    def get(self, name):
        name = self._scoped(name)
        if name in self.values:
            return self.values[name]
        if any(p.name == name for p in self._space):
            raise ValueError(f"Hyperparameter {name!r} is inactive in this trial.")
        raise KeyError(f"Hyperparameter {name!r} does not exist.")

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        try:
            self.get(name)
            return True
        except (KeyError, ValueError):
            return False

    # ---------------------------------------------------------------- copying and state
    def merge(self, hps, overwrite=True):
        """Add the hyperparameters of ``hps`` (a HyperParameters or a list) that are not here yet."""
        for hp in (hps.space if isinstance(hps, HyperParameters) else hps):
            old = self._find(hp.name, hp.conditions)
            if old is not None and not overwrite:
                continue
            if old is not None:
                self._space[self._space.index(old)] = hp
            else:
                self._space.append(hp)
            if self.is_active(hp) and (overwrite or hp.name not in self.values):
                self.values.setdefault(hp.name, hp.default)

    def ensure_active_values(self):
        """Drop values of inactive hyperparameters; give active ones without a value their default."""
        for hp in self._space:
            if self.is_active(hp):
                self.values.setdefault(hp.name, hp.default)
            else:
                self.values.pop(hp.name, None)

    def get_config(self):
        return {"space": [{"class_name": type(p).__name__, "config": p.get_config()} for p in self._space],
                "values": dict(self.values)}

    @classmethod
    def from_config(cls, config):
        hps = cls()
        hps._space = [deserialize(p) for p in config["space"]]
        hps.values = dict(config["values"])
        return hps

    def copy(self):
        return HyperParameters.from_config(self.get_config())

    def __repr__(self):
        return f"HyperParameters(values={self.values})"
