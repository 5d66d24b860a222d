"""The Keras 2 wrappers the older books use: ``keras.wrappers.scikit_learn.KerasRegressor(build_fn)``
and ``KerasClassifier(build_fn)``.

Every keyword argument given to the constructor is an estimator parameter: those that
``build_fn`` takes build the model (so ``RandomizedSearchCV`` can tune ``n_hidden`` or
``learning_rate``), those that ``fit``, ``predict`` or ``evaluate`` take are passed there
(``epochs``, ``batch_size``, ``verbose``...). Unknown names raise ValueError when ``fit``
runs (scikit-learn wants constructors and ``set_params`` not to validate; Keras 2 checked
at once).
``fit`` builds a fresh model, keeps it as ``.model`` and returns the estimator (Keras 2
returned the History; it is ``history_`` here). ``KerasRegressor.score`` is minus the
loss on the data, as in Keras 2, so that scikit-learn's "higher is better" holds;
``KerasClassifier.score`` is the accuracy the model was compiled to report.
"""
import inspect

import numpy as np

from ._base import BaseEstimator, ClassifierMixin, PicklableModels, RegressorMixin, require_sklearn, validate


def _arg_names(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _model_methods():
    from ..models import Model
    return {"fit": Model.fit, "predict": Model.predict, "evaluate": Model.evaluate}


class BaseWrapper(PicklableModels, BaseEstimator):
    _model_attributes = ("model",)

    def __init__(self, build_fn=None, **sk_params):
        require_sklearn(type(self).__name__)
        self.build_fn = build_fn
        self._sk_params = dict(sk_params)

    def _builder(self):
        return self.build_fn if self.build_fn is not None else self.__call__

    def _check_params(self, params):
        legal = set().union(*(_arg_names(m) for m in _model_methods().values()))
        legal |= _arg_names(self._builder())
        legal.discard("self")
        for name in params:
            if name not in legal:
                raise ValueError(f"{name!r} is not a legal parameter of {type(self).__name__}: it is neither an "
                                 f"argument of build_fn nor of fit/predict/evaluate.")

    @property
    def sk_params(self):
        """The keyword arguments given to the constructor or to ``set_params`` (Keras 2's name)."""
        return self._sk_params

    def get_params(self, deep=True):
        return {**self._sk_params, "build_fn": self.build_fn}

    def set_params(self, **params):
        # checked in fit(), as scikit-learn asks, so that a search fails with the parameter's name
        if "build_fn" in params:
            self.build_fn = params.pop("build_fn")
        self._sk_params.update(params)
        return self

    def _params_for(self, fn, override=None):
        names = _arg_names(fn)
        chosen = {k: v for k, v in self._sk_params.items() if k in names}
        chosen.update(override or {})
        return chosen

    def _build(self):
        if self.build_fn is None and type(self).__call__ is BaseWrapper.__call__:
            raise ValueError(f"{type(self).__name__} needs build_fn (a function returning a compiled model).")
        return self._builder()(**self._params_for(self._builder()))

    def __call__(self, **kwargs):
        raise NotImplementedError("Pass build_fn, or subclass and implement __call__ to build the model.")

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def fit(self, x, y, **kwargs):
        from ..losses import CategoricalCrossentropy
        from ..utils import to_categorical
        self._check_params(self._sk_params)
        x, y = validate(self, x, y, multi_output=True, y_numeric=not isinstance(self, ClassifierMixin))
        y = self._encode_target(y)
        self.model = self._build()
        loss = self.model.loss
        if (loss == "categorical_crossentropy" or isinstance(loss, CategoricalCrossentropy)) and y.ndim != 2:
            y = to_categorical(y, num_classes=getattr(self, "n_classes_", None))
        fit_args = self._params_for(_model_methods()["fit"], {"verbose": self._sk_params.get("verbose", 0)})
        fit_args.update(kwargs)
        self.history_ = self.model.fit(x, y, **fit_args).history
        return self

    def _encode_target(self, y):
        return y

    def _kwargs_for(self, method, kwargs):
        fn = _model_methods()[method]
        out = self._params_for(fn, {"verbose": self._sk_params.get("verbose", 0)})
        out.update({k: v for k, v in kwargs.items() if k in _arg_names(fn)})
        return out

    def _checked(self, x):
        from sklearn.utils.validation import check_is_fitted
        check_is_fitted(self)
        return validate(self, x, reset=False)


class KerasRegressor(RegressorMixin, BaseWrapper):
    """Keras 2's regressor wrapper: ``predict`` drops the last axis of a single output."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True   # a few epochs of a small net, as in Keras's own wrappers
        return tags

    def predict(self, x, **kwargs):
        x = self._checked(x)
        out = self.model.predict(x, **self._kwargs_for("predict", kwargs))
        out = out.astype("float64")   # scikit-learn expects float64 predictions
        return out[..., 0] if out.ndim > 1 and out.shape[-1] == 1 else out

    def score(self, x, y, **kwargs):
        x = self._checked(x)
        y = np.asarray(y)
        loss = self.model.evaluate(x, y, **self._kwargs_for("evaluate", kwargs))
        return -float(loss[0] if isinstance(loss, (list, tuple)) else loss)


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """Keras 2's classifier wrapper: labels become 0..n-1 (one-hot for categorical_crossentropy)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _encode_target(self, y):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
            self.n_classes_ = y.shape[1]
            return y
        if y.ndim == 2:
            y = y[:, 0]
        self.classes_ = np.unique(y)
        self.n_classes_ = len(self.classes_)
        return np.searchsorted(self.classes_, y)

    def predict_proba(self, x, **kwargs):
        x = self._checked(x)
        probs = self.model.predict(x, **self._kwargs_for("predict", kwargs))
        return np.hstack([1 - probs, probs]) if probs.shape[-1] == 1 else probs

    def predict(self, x, **kwargs):
        x = self._checked(x)
        probs = self.model.predict(x, **self._kwargs_for("predict", kwargs))
        index = probs.argmax(axis=-1) if probs.shape[-1] > 1 else (probs[:, 0] > 0.5).astype("int64")
        return self.classes_[index]

    def score(self, x, y, **kwargs):
        from ..losses import CategoricalCrossentropy
        from ..utils import to_categorical
        x = self._checked(x)
        y = np.searchsorted(self.classes_, np.asarray(y))
        loss = self.model.loss
        if loss == "categorical_crossentropy" or isinstance(loss, CategoricalCrossentropy):
            y = to_categorical(y, num_classes=self.n_classes_)
        logs = self.model.evaluate(x, y, return_dict=True, **self._kwargs_for("evaluate", kwargs))
        for name in ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy"):
            if name in logs:
                return float(logs[name])
        raise ValueError("KerasClassifier.score needs the model to report accuracy: compile it with "
                         "metrics=['accuracy'].")
