"""A TensorFlow Playground in Jupyter that trains a real minikeras model.

One job a module:

* :mod:`.config` - :class:`PlaygroundConfig`, every setting validated, and its JSON state;
* :mod:`.core` - :class:`PlaygroundCore`: data, model and training, no widgets;
* :mod:`.render` - the heatmaps, loss chart and network SVG as pure functions;
* :mod:`.controls` - the one table of controls that building and syncing the UI both read;
* :mod:`.widget` - :class:`Playground`: layout, handlers and the play thread.

``pg.model`` is the live minikeras ``Model``; it takes the *feature* columns as input
(``pg.transform(points)`` makes them from raw 2-D points), and ``pg.predict(points)``
does both steps. Importing this package needs ipywidgets (for the widget); the core alone
is ``minikeras.widgets.playground.core``.
"""
from .config import (ACTIVATIONS, EXTRA_ACTIVATIONS, INITS, LEARNING_RATES, LOSSES, MAX_LAYERS, MAX_NEURONS,
                     OPTIMIZERS, REG_RATES, REGULARIZATIONS, PlaygroundConfig)
from .core import PlaygroundCore
from .render import BLUE, CLASS_COLOURS, GREY, ORANGE, class_colour_map, colour_map


def __getattr__(name):
    # the widget needs ipywidgets; the core, config and pictures do not
    if name in ("Playground", "CONTROLS", "TABLE"):
        from . import controls, widget
        return {"Playground": widget.Playground, "CONTROLS": controls.CONTROLS, "TABLE": controls.TABLE}[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Playground", "PlaygroundCore", "PlaygroundConfig", "CONTROLS", "colour_map", "class_colour_map",
           "MAX_LAYERS", "MAX_NEURONS", "LEARNING_RATES", "REG_RATES", "ACTIVATIONS", "EXTRA_ACTIVATIONS",
           "OPTIMIZERS", "REGULARIZATIONS", "INITS", "LOSSES", "ORANGE", "GREY", "BLUE", "CLASS_COLOURS"]
