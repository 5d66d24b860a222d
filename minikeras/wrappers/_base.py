"""What both wrapper families share: the scikit-learn base classes (optional), input checks
and pickling of the fitted network through minikeras's own model file format."""
import os
import tempfile

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:   # the wrappers then refuse to be built, but importing them still works
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


def require_sklearn(name):
    if sklearn is None:
        raise ImportError(f"{name} needs scikit-learn: pip install scikit-learn "
                          "(or pip install \"minikeras[course]\").")


def validate(estimator, X, y="no_validation", reset=True, **kwargs):
    """scikit-learn's input validation: NaN/inf and malformed input raise ValueError, a missing
    ``y`` in fit says so, and ``n_features_in_`` is recorded on fit and checked on predict."""
    from sklearn.utils.validation import validate_data
    if isinstance(y, str) and y == "no_validation":
        return validate_data(estimator, X, reset=reset, allow_nd=True, dtype="numeric")
    if y is None:
        return validate_data(estimator, X, y, reset=reset)   # raises "requires y to be passed"
    return validate_data(estimator, X, y, reset=reset, allow_nd=True, dtype="numeric", **kwargs)


def model_to_bytes(model):
    """A model as the bytes of a minikeras ``.keras`` file (architecture, weights, optimizer)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def model_from_bytes(data):
    from ..saving import load_model
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return load_model(path)


class PicklableModels:
    """Pickle (scikit-learn's way of copying fitted estimators, e.g. for n_jobs) stores the
    attributes named in ``_model_attributes`` as model files, never as pickled Python objects."""

    _model_attributes = ()

    def __getstate__(self):
        from ..models import Model
        state = dict(self.__dict__)
        for name in self._model_attributes:
            if isinstance(state.get(name), Model):
                state[name] = {"__minikeras_model__": model_to_bytes(state[name])}
        return state

    def __setstate__(self, state):
        for name in self._model_attributes:
            value = state.get(name)
            if isinstance(value, dict) and "__minikeras_model__" in value:
                state[name] = model_from_bytes(value["__minikeras_model__"])
        self.__dict__.update(state)
