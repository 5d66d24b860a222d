"""Step through Rosenblatt's perceptron rule and watch the decision line move.

One job a module, as the playground: :mod:`.config` (:class:`PerceptronConfig`, the settings
and their state), :mod:`.core` (:class:`PerceptronTrainer` and ``heaviside``, no widgets),
:mod:`.render` (status text and the plot), :mod:`.controls` (the one table of controls) and
:mod:`.widget` (:class:`PerceptronWidget`, which needs ipywidgets and is imported on use).

The rule, for a sample ``x`` with target ``y`` in {0, 1}::

    y_hat = heaviside(w . x + b)          # heaviside(0) = 1
    w <- w + eta * (y - y_hat) * x
    b <- b + eta * (y - y_hat)

so nothing changes when the prediction is right.
"""
from .config import PerceptronConfig
from .core import PerceptronTrainer, heaviside

__all__ = ["PerceptronConfig", "PerceptronTrainer", "PerceptronWidget", "heaviside"]


def __getattr__(name):
    if name == "PerceptronWidget":
        from .widget import PerceptronWidget
        return PerceptronWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
