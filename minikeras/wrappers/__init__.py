"""scikit-learn wrappers: Keras 3's ``SKLearnClassifier``/``SKLearnRegressor``/``SKLearnTransformer``
and Keras 2's ``scikit_learn.KerasClassifier``/``KerasRegressor``. Needs scikit-learn."""
from . import scikit_learn
from .sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer", "scikit_learn"]
