"""The oracles by their Keras Tuner names (``kt.oracles.RandomSearchOracle`` ...)."""
from .bayesian import BayesianOptimizationOracle
from .hyperband import HyperbandOracle
from .oracle import GridSearchOracle, Oracle, RandomSearchOracle

__all__ = ["Oracle", "RandomSearchOracle", "GridSearchOracle", "HyperbandOracle", "BayesianOptimizationOracle"]
