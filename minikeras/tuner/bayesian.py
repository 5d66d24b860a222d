"""Bayesian optimization: a Gaussian process over the finished trials picks the next values.

Each trial is a point in the unit cube (one coordinate per tunable hyperparameter, its
``value_to_prob``) with its score (negated when the objective is maximized, so lower is
always better). After ``num_initial_points`` random trials the oracle fits a Gaussian
process with a Matern-5/2 kernel (length scale by maximum marginal likelihood, noise
``alpha``) on the standardized scores, and proposes the point that minimizes the lower
confidence bound ``mean - beta * std``: low predicted loss, or high uncertainty. NumPy
does the linear algebra; SciPy, when installed, refines the length scale and polishes the
best of 2,000 random candidates with L-BFGS-B.
"""
import math

import numpy as np

from .hyperparameters import Fixed, HyperParameters
from .oracle import Oracle
from .trial import TrialStatus
from .tuner import Tuner

_SQRT5 = math.sqrt(5.0)


def matern52(a, b, length_scale):
    """The Matern nu=5/2 kernel matrix between the rows of ``a`` and ``b``."""
    d = np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0)) / length_scale
    return (1.0 + _SQRT5 * d + 5.0 / 3.0 * d * d) * np.exp(-_SQRT5 * d)


class GaussianProcess:
    """GP regression with standardized targets; ``fit`` chooses the length scale."""

    def __init__(self, alpha=1e-4):
        self.alpha = alpha

    def _factor(self, x, length_scale):
        k = matern52(x, x, length_scale) + (self.alpha + 1e-10) * np.eye(len(x))
        return np.linalg.cholesky(k)

    def _neg_log_likelihood(self, log_length, x, y):
        try:
            chol = self._factor(x, math.exp(log_length))
        except np.linalg.LinAlgError:
            return np.inf
        weights = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
        return 0.5 * y @ weights + np.log(np.diag(chol)).sum() + 0.5 * len(y) * math.log(2 * math.pi)

    def fit(self, x, y):
        try:
            from scipy.optimize import minimize_scalar
        except ImportError:   # SciPy is optional: the grid alone picks the length scale
            minimize_scalar = None
        self.x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        self.y_mean, self.y_std = y.mean(), y.std() or 1.0
        yn = (y - self.y_mean) / self.y_std
        grid = np.linspace(math.log(1e-3), math.log(1e2), 24)
        nll = [self._neg_log_likelihood(g, self.x, yn) for g in grid]
        best = int(np.argmin(nll))
        lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        if hi > lo and minimize_scalar is not None:
            res = minimize_scalar(self._neg_log_likelihood, bounds=(lo, hi), args=(self.x, yn), method="bounded")
            log_length = res.x if res.fun <= nll[best] else grid[best]
        else:
            log_length = grid[best]
        self.length_scale = math.exp(log_length)
        self._chol = self._factor(self.x, self.length_scale)
        self._weights = np.linalg.solve(self._chol.T, np.linalg.solve(self._chol, yn))
        return self

    def predict(self, x, return_std=False):
        x = np.atleast_2d(np.asarray(x, dtype="float64"))
        k = matern52(x, self.x, self.length_scale)
        mean = k @ self._weights * self.y_std + self.y_mean
        if not return_std:
            return mean
        v = np.linalg.solve(self._chol, k.T)
        var = np.maximum(1.0 - (v * v).sum(0), 1e-12)
        return mean, np.sqrt(var) * self.y_std


class BayesianOptimizationOracle(Oracle):
    def __init__(self, objective=None, max_trials=10, num_initial_points=None, alpha=1e-4, beta=2.6, seed=None,
                 hyperparameters=None, allow_new_entries=True, tune_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3):
        super().__init__(objective, max_trials, hyperparameters, allow_new_entries, tune_new_entries, seed,
                         max_retries_per_trial, max_consecutive_failed_trials)
        self.num_initial_points = num_initial_points
        self.alpha = alpha
        self.beta = beta

    def _tunable(self):
        return [hp for hp in self.hyperparameters.space if not isinstance(hp, Fixed)]

    def _vector(self, trial):
        hps = trial.hyperparameters
        return [hp.value_to_prob(hps.values[hp.name] if hps.is_active(hp) and hp.name in hps.values
                                 else hp.default) for hp in self._tunable()]

    def _values(self, vector):
        hps = HyperParameters()
        coords = iter(vector)
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            value = hp.value if isinstance(hp, Fixed) else hp.prob_to_value(float(next(coords)))
            if hps.is_active(hp):
                hps.values[hp.name] = value
        return hps.values

    def populate_space(self, trial_id):
        done = [t for t in self.trials.values() if t.status == TrialStatus.COMPLETED and t.score is not None]
        initial = self.num_initial_points or max(3 * len(self.hyperparameters.space), 3)
        tunable = self._tunable()
        if len(done) < initial or not tunable:
            values = self._random_values()
            return {"status": TrialStatus.STOPPED} if values is None else {"status": TrialStatus.RUNNING,
                                                                            "values": values}
        x = np.array([self._vector(t) for t in done])
        sign = -1.0 if self.objective.direction == "max" else 1.0
        y = np.nan_to_num(np.array([sign * t.score for t in done]), posinf=0.0, neginf=0.0)
        gp = GaussianProcess(self.alpha).fit(x, y)

        def lower_bound(v):
            mean, std = gp.predict(v, return_std=True)
            return mean - self.beta * std

        rng = np.random.default_rng([self.seed, len(self.trials)])
        candidates = rng.uniform(size=(2000, len(tunable)))
        scores = lower_bound(candidates)
        try:
            from scipy.optimize import minimize
        except ImportError:   # without SciPy the best random candidates are the proposals
            minimize = None
        proposals = []
        for start in candidates[np.argsort(scores)[:5]] if minimize is not None else []:
            res = minimize(lambda v: float(lower_bound(v[None])[0]), start, method="L-BFGS-B",
                           bounds=[(0.0, 1.0)] * len(tunable))
            proposals.append((float(res.fun), np.clip(res.x, 0.0, 1.0)))
        proposals += [(float(s), c) for s, c in zip(scores, candidates)]
        for _, vector in sorted(proposals, key=lambda p: p[0]):
            values = self._values(vector)
            if self._hash(values) not in self._tried_so_far:
                return {"status": TrialStatus.RUNNING, "values": values}
        values = self._random_values()   # every good point is taken already (a small discrete space)
        return {"status": TrialStatus.STOPPED} if values is None else {"status": TrialStatus.RUNNING,
                                                                        "values": values}

    def get_state(self):
        state = super().get_state()
        state.update(num_initial_points=self.num_initial_points, alpha=self.alpha, beta=self.beta)
        return state

    def set_state(self, state):
        super().set_state(state)
        self.num_initial_points, self.alpha, self.beta = state["num_initial_points"], state["alpha"], state["beta"]


class BayesianOptimization(Tuner):
    """Random trials first, then each next trial where a Gaussian process expects the best score.

    ``alpha``: the noise expected in the scores; ``beta``: how much to explore (a larger value
    favours uncertain regions over the ones known to be good).
    """

    def __init__(self, hypermodel=None, objective=None, max_trials=10, num_initial_points=None, alpha=1e-4,
                 beta=2.6, seed=None, hyperparameters=None, tune_new_entries=True, allow_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3, **kwargs):
        oracle = BayesianOptimizationOracle(objective, max_trials, num_initial_points, alpha, beta, seed,
                                            hyperparameters, allow_new_entries, tune_new_entries,
                                            max_retries_per_trial, max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)
