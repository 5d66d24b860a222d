"""Every control of the perceptron stepper, declared once in :data:`TABLE`.

Building the widget and showing the trainer's settings on it both walk this table. A row
names the attribute the widget is kept under (``w.step_button``, ``w.lr_slider``, ...), the
kind of widget, and the ``PerceptronWidget`` method its event calls.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import ipywidgets as W


@dataclass(frozen=True)
class Control:
    name: str
    attribute: str                         # where the widget keeps it
    kind: str                              # button, play or log_slider
    label: str = ""
    handler: str = ""                      # the PerceptronWidget method its event calls
    tooltip: str = ""
    read: Optional[Callable] = None        # (widget) -> the value shown, for value controls


TABLE = (
    Control("step", "step_button", "button", "Step", "on_step", "apply the rule to one sample"),
    Control("epoch", "epoch_button", "button", "Epoch", "on_epoch", "one full pass over the data"),
    Control("play", "play", "play", "Play", "on_tick"),
    Control("reset", "reset_button", "button", "Reset", "on_reset", "back to the starting weights"),
    Control("learning_rate", "lr_slider", "log_slider", "learning rate", "on_learning_rate",
            read=lambda w: w.trainer.learning_rate),
)

BY_NAME = {c.name: c for c in TABLE}

#: the row of buttons, then the slider
ROWS = (("step", "epoch", "play", "reset"), ("learning_rate",))


def build(control, owner):
    """Make one row's widget and wire its event to ``owner``."""
    handler = getattr(owner, control.handler)
    if control.kind == "button":
        w = W.Button(description=control.label, tooltip=control.tooltip)
        w.on_click(handler)
    elif control.kind == "play":
        w = W.Play(value=0, min=0, max=10 ** 6, step=1, interval=owner.interval_ms, description=control.label,
                   show_repeat=False)
        w.observe(handler, names="value")
    elif control.kind == "log_slider":
        w = W.FloatLogSlider(value=control.read(owner), base=10, min=-3, max=1, step=0.1,
                             description=control.label, readout_format=".3f", continuous_update=False)
        w.observe(handler, names="value")
    else:
        raise ValueError(f"Unknown control kind {control.kind!r} for {control.name!r}.")
    return w


def sync(control, widget, owner):
    """Show the trainer's current value on a value control (buttons have none)."""
    if control.read is not None:
        value = control.read(owner)
        if widget.value != value:
            widget.value = value
