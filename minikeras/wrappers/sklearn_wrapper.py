"""Keras 3's scikit-learn wrappers: ``SKLearnClassifier``, ``SKLearnRegressor``, ``SKLearnTransformer``.

``model`` is either a compiled minikeras model (cloned and recompiled for each fit unless
``warm_start``) or a callable ``model(X, y, **model_kwargs)`` that builds and compiles one
for the data it is given. ``fit_kwargs`` go to every ``model.fit``; arguments given to
``fit`` itself are added on top. The classifier one-hot encodes the labels (so its model
ends in a softmax with ``categorical_crossentropy``) and maps predictions back to the
original labels; ``history_`` is the last fit's ``History.history``.
"""
import numpy as np

from ._base import (BaseEstimator, ClassifierMixin, PicklableModels, RegressorMixin, TransformerMixin,
                    require_sklearn, validate)


def _check_compiled(model):
    if not getattr(model, "compiled", False) or model.loss is None or model.optimizer is None:
        raise RuntimeError("The model given to the scikit-learn wrapper must be compiled with a loss and an "
                           "optimizer (model.compile(optimizer=..., loss=...)).")


class SKLBase(PicklableModels, BaseEstimator):
    _model_attributes = ("model", "model_")

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    @property
    def epoch_(self):
        return len(getattr(self, "history_", {}).get("loss", []))

    def _get_model(self, X, y):
        from ..models import Model
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            if self.warm_start:
                return self.model
            from ..saving import clone_model, compile_from_config, get_compile_config
            clone = clone_model(self.model)
            compile_from_config(clone, get_compile_config(self.model))
            return clone
        if not callable(self.model):
            raise TypeError(f"model must be a compiled minikeras Model or a callable model(X, y, **model_kwargs); "
                            f"got {type(self.model).__name__}.")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def _process_target(self, y, reset=False):
        if reset:
            self._y_ndim = y.ndim
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _reverse_process_target(self, y):
        return y[:, 0] if self._y_ndim == 1 and y.ndim == 2 and y.shape[1] == 1 else y

    def fit(self, X, y, **kwargs):
        X, y = validate(self, X, y, multi_output=True, y_numeric=not isinstance(self, ClassifierMixin))
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        _check_compiled(model)
        fit_kwargs = {"verbose": 0, **(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **fit_kwargs).history
        self.model_ = model
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _raw_predict(self, X):
        from sklearn.utils.validation import check_is_fitted
        check_is_fitted(self)
        return self.model_.predict(validate(self, X, reset=False), verbose=0)

    def predict(self, X):
        return self._reverse_process_target(self._raw_predict(X))


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A classifier: labels of any type, one-hot encoded for the model, decoded by argmax."""

    def _process_target(self, y, reset=False):
        from sklearn.preprocessing import OneHotEncoder
        from sklearn.utils.multiclass import type_of_target
        from sklearn.utils.validation import column_or_1d
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)   # scikit-learn's DataConversionWarning for column labels
        kind = type_of_target(y)
        if kind == "unknown":
            raise ValueError(f"Unknown label type: {y!r}")
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"Only binary and multiclass targets are supported; got a {kind!r} target.")
        y = np.asarray(y).reshape(-1, 1)
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("A classifier cannot be trained on one class only.")
            self._encoder = OneHotEncoder(sparse_output=False, categories=[self.classes_]).fit(y)
        return self._encoder.transform(y).astype("float32")

    def predict(self, X):
        scores = self._raw_predict(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def decision_function(self, X):
        return self._raw_predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A regressor: 1-D targets come back 1-D, 2-D targets 2-D, as float64 (scikit-learn's convention)."""

    def predict(self, X):
        return super().predict(X).astype("float64")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """``transform(X)`` is the model's prediction (e.g. an encoder's features)."""

    def transform(self, X):
        return self._raw_predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
