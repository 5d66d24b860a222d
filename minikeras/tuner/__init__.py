"""minikeras.tuner: Keras Tuner's API for minikeras models (``import minikeras.tuner as kt``).

Keras Tuner itself cannot drive a minikeras model (it imports ``keras`` and checks its
classes), so this package provides the same names and behaviour: ``HyperParameters``,
``HyperModel``, ``Objective``, the ``RandomSearch``, ``GridSearch``, ``Hyperband`` and
``BayesianOptimization`` tuners and their oracles, and the project folder layout
(``oracle.json``, ``trial_<id>/trial.json``, ``trial_<id>/checkpoint.weights.h5``) that
lets a search resume where it stopped.
"""
from . import oracles
from .bayesian import BayesianOptimization
from .hyperband import Hyperband
from .hypermodel import HyperModel
from .hyperparameters import HyperParameters
from .oracle import Oracle
from .trial import Objective, Trial, TrialStatus
from .tuner import GridSearch, RandomSearch, Tuner

__all__ = ["HyperParameters", "HyperModel", "Objective", "Oracle", "Trial", "TrialStatus", "Tuner",
           "RandomSearch", "GridSearch", "Hyperband", "BayesianOptimization", "oracles"]
