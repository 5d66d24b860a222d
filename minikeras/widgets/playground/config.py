"""The playground's settings: one validated, immutable dataclass and its JSON state.

The state is the web app's URL hash: a dict (or JSON string) that replays a run exactly,
data and initial weights included, because the seed is one of the settings.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import _datasets as ds
from .._settings import Settings

MAX_LAYERS = 6
MAX_NEURONS = 8
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REG_RATES = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.5)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
EXTRA_ACTIVATIONS = ("elu", "swish", "softplus")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
REGULARIZATIONS = (None, "l1", "l2")
INITS = ("uniform", "zeros", "glorot_uniform", "he_uniform")
LOSSES = ("auto", "mse", "crossentropy")
PROBLEMS = ("classification", "regression")
CUSTOM = "custom"           # the dataset name of data passed in as X, y

# What a change needs, as in the web app: new data (and a new network), a new network, or
# nothing (the learning rate and the optimizer change while training). A new seed replays
# the run from its start.
NEW_DATA = frozenset({"problem", "dataset", "noise", "train_ratio", "classes", "n_samples"})
RESET = frozenset({"batch_size", "features", "hidden", "activation", "regularization", "regularization_rate",
                   "dropout", "loss", "init"})
LIVE = frozenset({"learning_rate", "optimizer"})


def clean_noise(noise):
    """The web app's rule for the noise slider value (percent): above 80 -> 50, below 0 -> 0."""
    noise = float(noise)
    if noise > 80:
        return 50.0
    return max(noise, 0.0)


def check_hidden(hidden):
    """The hidden-layer shape as a tuple of ints, within the web app's 0-6 layers of 1-8 neurons."""
    hidden = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
    if len(hidden) > MAX_LAYERS:
        raise ValueError(f"At most {MAX_LAYERS} hidden layers (the Playground's limit); got {len(hidden)}: "
                         f"{hidden}.")
    for i, units in enumerate(hidden):
        if int(units) != units or not 1 <= units <= MAX_NEURONS:
            raise ValueError(f"Hidden layer {i + 1} must have 1 to {MAX_NEURONS} neurons; got {units!r}.")
    return tuple(int(u) for u in hidden)


def datasets_for(problem):
    """The built-in data sets that fit a problem type."""
    if problem == "regression":
        return ds.REGRESSION
    return ds.CLASSIFICATION + tuple(n for n in ds.MULTICLASS if n not in ds.CLASSIFICATION)


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {value!r}.")
    return value


@dataclass(frozen=True)
class PlaygroundConfig(Settings):
    """Every setting of a playground run, checked and normalised when made.

    Names follow the web app's URL state where it has one: ``problem``, ``dataset``, ``noise``
    (slider percent 0-50, up to 80 accepted), ``train_ratio`` (percent, or a fraction <= 1),
    ``batch_size``, ``features``, ``hidden`` (0-6 layers of 1-8 neurons), ``activation``,
    ``learning_rate``, ``regularization`` and its ``regularization_rate``, ``seed``. Beyond
    it: ``optimizer``, ``dropout``, ``loss``, ``classes`` (2-8, for spiral/blobs/rings),
    ``init`` and ``n_samples``. ``seed=None`` draws one, so the state can replay the run.
    """

    problem: str = "classification"
    dataset: Optional[str] = None
    noise: float = 0.0
    train_ratio: float = 50.0
    batch_size: int = 10
    features: tuple = ("x1", "x2")
    hidden: tuple = (4, 2)
    activation: str = "tanh"
    learning_rate: float = 0.03
    regularization: Optional[str] = None
    regularization_rate: float = 0.0
    optimizer: str = "sgd"
    dropout: float = 0.0
    loss: str = "auto"
    classes: Optional[int] = None
    init: str = "uniform"
    n_samples: Optional[int] = None
    seed: Optional[int] = None

    WHAT = "playground"

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen dataclass
        _choice("problem", self.problem, PROBLEMS)
        allowed = datasets_for(self.problem)
        if self.dataset is None:
            put("dataset", allowed[0])
        elif self.dataset != CUSTOM and self.dataset not in allowed:
            raise ValueError(f"Dataset {self.dataset!r} does not fit a {self.problem} problem; "
                             f"choose one of {list(allowed)}.")
        put("noise", clean_noise(self.noise))
        ratio = float(self.train_ratio)
        if ratio <= 1:      # a fraction is accepted too
            ratio *= 100
        if not 1 <= ratio <= 99:
            raise ValueError(f"train_ratio is a percentage of the points used for training (10-90); got {ratio}.")
        put("train_ratio", ratio)
        if int(self.batch_size) != self.batch_size or int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be a whole number of at least 1; got {self.batch_size!r}.")
        put("batch_size", int(self.batch_size))
        put("features", ds.check_features(self.features))
        put("hidden", check_hidden(self.hidden))
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        reg = None if self.regularization in (None, "none", "None", "") else str(self.regularization).lower()
        if reg not in REGULARIZATIONS:
            raise ValueError(f"regularization must be None, 'l1' or 'l2'; got {self.regularization!r}.")
        put("regularization", reg)
        put("regularization_rate", float(self.regularization_rate))
        if not np.isfinite(self.regularization_rate) or self.regularization_rate < 0:
            raise ValueError(f"regularization_rate must be a number >= 0; got {self.regularization_rate}.")
        put("learning_rate", float(self.learning_rate))
        if not np.isfinite(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be a positive number; got {self.learning_rate}.")
        if not 0 <= float(self.dropout) < 1:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout}.")
        put("dropout", float(self.dropout))
        _choice("loss", self.loss, LOSSES)
        _choice("init", self.init, INITS)
        if self.classes is not None:
            put("classes", int(self.classes))
            if not 2 <= self.classes <= 8:
                raise ValueError(f"classes must be 2 to 8; got {self.classes}.")
        if self.n_samples is not None:
            put("n_samples", int(self.n_samples))
            if self.n_samples < 2:
                raise ValueError(f"n_samples must be at least 2; got {self.n_samples}.")
        from ...activations import get as get_activation
        get_activation(self.activation)   # a clear error for an unknown name
        put("seed", int(np.random.SeedSequence().entropy % (2 ** 31)) if self.seed is None else int(self.seed))

    # ---------------------------------------------------------------- changes
    def update(self, **changes):
        """A new config with ``changes`` applied. A new ``problem`` without a ``dataset`` falls back
        to that problem's first data set when the current one does not fit it."""
        if "problem" in changes and "dataset" not in changes and self.dataset != CUSTOM \
                and self.dataset not in datasets_for(changes["problem"]):
            changes["dataset"] = None
        return super().update(**changes)

    @staticmethod
    def effect(changed):
        """What a change of the settings ``changed`` needs: "seed" (replay from the start), "data",
        "reset", "live" or None."""
        changed = set(changed)
        if not changed:
            return None
        if "seed" in changed:
            return "seed"
        if changed & NEW_DATA:
            return "data"
        if changed & RESET:
            return "reset"
        return "live"
