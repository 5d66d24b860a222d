"""Every control of the playground, declared once in :data:`TABLE`.

Building the UI and showing the settings on it (after code, a reset or a cascade changed
them) both walk this one table, so a new control is one row here. A row says where the
layout puts the control, what kind of widget it is, and what it edits: a setting of
:class:`~.config.PlaygroundConfig` (through ``Playground.set``), a display option of the
widget, or a method a button calls. Rows of kind "custom" name the ``Playground`` methods
that build and sync a compound control (data-set pictures, feature toggles, +/- buttons).
"""
from dataclasses import dataclass
from typing import Callable, Optional

import ipywidgets as W

from .. import _datasets as ds
from .config import ACTIVATIONS, DROPOUTS, EXTRA_ACTIVATIONS, LEARNING_RATES, REG_RATES

SECTIONS = ("top", "settings", "data", "network", "output")


@dataclass(frozen=True)
class Control:
    name: str                            # what ``hide=`` takes
    section: str                         # where the layout puts it (one of SECTIONS)
    kind: str                            # button, dropdown, slider, checkbox, number or custom
    label: str = ""
    setting: Optional[str] = None        # the config field it edits ...
    view: Optional[str] = None           # ... or the widget's display option ...
    action: Optional[str] = None         # ... or the Playground method a button calls
    options: Optional[Callable] = None   # (pg) -> [(label, value)]: a drop-down's choices
    bounds: Optional[Callable] = None    # (pg) -> {"min", "max", "step"}: a slider's range
    read: Optional[Callable] = None      # (pg) -> the value shown (default: the setting or option)
    shown: Optional[Callable] = None     # (pg) -> whether it is displayed for these settings
    disabled: Optional[Callable] = None  # (pg) -> whether it is greyed out
    width: Optional[str] = None
    icon: Optional[str] = None           # a glyph of render.stylesheet()
    tooltip: str = ""
    build: Optional[str] = None          # custom: the Playground method that makes the widget ...
    sync: Optional[str] = None           # ... and the one that shows the settings on it

    def value(self, pg):
        if self.read is not None:
            return self.read(pg)
        if self.setting is not None:
            return getattr(pg.core, self.setting)
        return getattr(pg, self.view)


def _with(values, current):
    """A drop-down's choices, plus the current value when code set one that is not among them."""
    values = list(values)
    return values + ([current] if current not in values else [])


def _activation_options(pg):
    names = _with(ACTIVATIONS + EXTRA_ACTIVATIONS, pg.core.activation)
    return [("ReLU" if a == "relu" else a.capitalize(), a) for a in names]


def _view_options(pg):
    c = pg.core
    opts = [("Output", "output")] + [(f"Input {ds.FEATURES[f][0]}", f"in:{i}") for i, f in enumerate(c.features)]
    opts += [(f"Layer {l + 1}, neuron {j + 1}", f"h:{l}:{j}") for l, u in enumerate(c.hidden) for j in range(u)]
    return opts


def _view_value(pg):
    return pg.view if pg.view in [v for _, v in _view_options(pg)] else "output"


def _custom(pg):
    return pg.core.custom


TABLE = (
    # the top bar: the web app's big buttons
    Control("reset", "top", "button", action="reset", icon="reset", tooltip="Reset the network", width="40px"),
    Control("play", "top", "button", action="_toggle_play", icon="play", tooltip="Run/Pause", width="56px"),
    Control("step", "top", "button", action="step", icon="step", tooltip="Step one epoch", width="40px"),
    # the settings row
    Control("learning_rate", "settings", "dropdown", "Learning rate", setting="learning_rate", width="190px",
            options=lambda pg: _with(LEARNING_RATES, pg.core.learning_rate)),
    Control("activation", "settings", "dropdown", "Activation", setting="activation", width="180px",
            options=_activation_options),
    Control("regularization", "settings", "dropdown", "Regularization", setting="regularization", width="210px",
            options=lambda pg: [("None", "none"), ("L1", "l1"), ("L2", "l2")],
            read=lambda pg: pg.core.regularization or "none"),
    Control("regularization_rate", "settings", "dropdown", "Reg. rate", setting="regularization_rate",
            width="160px", options=lambda pg: _with(REG_RATES, pg.core.regularization_rate)),
    Control("problem", "settings", "dropdown", "Problem", setting="problem", width="210px", disabled=_custom,
            options=lambda pg: [("Classification", "classification"), ("Regression", "regression")]),
    Control("optimizer", "settings", "dropdown", "Optimizer", setting="optimizer", width="180px",
            options=lambda pg: [("SGD", "sgd"), ("Momentum", "momentum"), ("Nesterov", "nesterov"),
                                ("RMSprop", "rmsprop"), ("Adam", "adam")]),
    Control("dropout", "settings", "dropdown", "Dropout", setting="dropout", width="150px",
            options=lambda pg: _with(DROPOUTS, pg.core.dropout)),
    Control("loss", "settings", "dropdown", "Loss", setting="loss", width="190px",
            options=lambda pg: [("Auto", "auto"), ("MSE (tanh)", "mse"), ("Cross-entropy", "crossentropy")]),
    # the DATA column
    Control("dataset", "data", "custom", build="_build_datasets", sync="_sync_datasets"),
    Control("classes", "data", "slider", "Classes", setting="classes", width="228px",
            bounds=lambda pg: {"min": 2, "max": 8, "step": 1}, read=lambda pg: pg.core.n_classes_setting,
            shown=lambda pg: pg.core.dataset in ("spiral", "blobs", "rings")),
    Control("train_ratio", "data", "slider", "Train %", setting="train_ratio", width="228px",
            bounds=lambda pg: {"min": 10, "max": 90, "step": 10}, read=lambda pg: int(pg.core.train_ratio)),
    Control("noise", "data", "slider", "Noise", setting="noise", width="228px", disabled=_custom,
            bounds=lambda pg: {"min": 0, "max": max(50, int(pg.core.noise)), "step": 5},
            read=lambda pg: int(pg.core.noise)),
    Control("batch_size", "data", "slider", "Batch size", setting="batch_size", width="228px",
            bounds=lambda pg: {"min": 1, "max": max(30, pg.core.batch_size), "step": 1}),
    Control("regenerate", "data", "button", "Regenerate", action="regenerate", icon="refresh", width="130px"),
    Control("seed", "data", "number", "Seed", setting="seed", width="200px"),
    Control("add_points", "data", "custom", build="_build_add_points", sync="_sync_add_points"),
    # the network: +/- layers, +/- neurons of each layer, the input features
    Control("hidden_layers", "network", "custom", build="_build_layer_buttons"),
    Control("neurons", "network", "custom", build="_build_neuron_row", sync="_sync_neuron_row"),
    Control("features", "network", "custom", build="_build_feature_buttons", sync="_sync_feature_buttons"),
    # the OUTPUT column: display options (no reset)
    Control("show_test_data", "output", "checkbox", "Show test data", view="show_test_data"),
    Control("discretize", "output", "checkbox", "Discretize output", view="discretize"),
    Control("view", "output", "dropdown", "Big map", view="view", width="220px", options=_view_options,
            read=_view_value),
)

BY_NAME = {c.name: c for c in TABLE}

#: every control that ``hide=`` can remove
CONTROLS = tuple(BY_NAME)


def icon_button(icon, description="", tooltip="", width=None, **layout):
    """A button whose glyph is an inline SVG of ``render.stylesheet()``."""
    b = W.Button(description=description, tooltip=tooltip, layout=W.Layout(width=width, **layout))
    b.add_class("mk-icon")
    b.add_class(f"mk-icon-{icon}")
    if description:
        b.add_class("mk-icon-text")
    return b


def set_icon(button, icon):
    for cls in list(button._dom_classes):
        if cls.startswith("mk-icon-") and cls != "mk-icon-text":
            button.remove_class(cls)
    button.add_class(f"mk-icon-{icon}")


def build(control, pg):
    """Make the widget of one row and wire it to the playground."""
    if control.kind == "custom":
        return getattr(pg, control.build)()
    if control.kind == "button":
        w = icon_button(control.icon, control.label, control.tooltip, control.width,
                        height="40px" if control.section == "top" else None)
        if control.section == "top":
            w.add_class("mk-icon-big")
        if control.name == "play":
            w.button_style = "primary"
        w.on_click(lambda _b: pg._guard(getattr(pg, control.action)))
        return w
    layout = W.Layout(width=control.width)
    style = {"description_width": "initial"}
    if control.kind == "dropdown":
        opts = control.options(pg)
        w = W.Dropdown(options=opts, value=control.value(pg), description=control.label, layout=layout, style=style)
    elif control.kind == "slider":
        w = W.IntSlider(value=control.value(pg), description=control.label, continuous_update=False,
                        layout=layout, style=style, **control.bounds(pg))
    elif control.kind == "checkbox":
        w = W.Checkbox(value=control.value(pg), description=control.label, indent=False)
    elif control.kind == "number":
        w = W.IntText(value=control.value(pg), description=control.label, layout=layout, style=style)
    else:
        raise ValueError(f"Unknown control kind {control.kind!r} for {control.name!r}.")
    w.observe(lambda ch: pg._control_changed(control, ch["new"]), "value")
    return w


def sync(control, widget, pg):
    """Make one widget show the playground's current settings (the caller mutes its handlers)."""
    if control.kind == "custom":
        if control.sync is not None:
            getattr(pg, control.sync)()
        return
    if control.kind == "button":
        return
    if control.options is not None:
        opts = control.options(pg)
        if list(widget.options) != [tuple(o) if isinstance(o, (list, tuple)) else o for o in opts]:
            widget.options = opts
    if control.bounds is not None:
        for key, v in control.bounds(pg).items():
            if getattr(widget, key) != v:
                setattr(widget, key, v)
    value = control.value(pg)
    if widget.value != value:
        widget.value = value
    if control.view is not None and getattr(pg, control.view) != value:
        setattr(pg, control.view, value)
    if control.shown is not None:
        display = "" if control.shown(pg) else "none"
        if widget.layout.display != display:
            widget.layout.display = display
    if control.disabled is not None:
        widget.disabled = bool(control.disabled(pg))
