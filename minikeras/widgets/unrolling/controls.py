"""The explorer's ipywidgets controls (built here, wired up in ``widget``)."""
from types import SimpleNamespace

from . import config


def build(core, interval_ms=500):
    import ipywidgets as widgets

    scales = sorted(set(config.SCALES) | {core.recurrent_scale})
    c = SimpleNamespace()
    c.play = widgets.Play(value=0, min=0, max=10**6, step=1, interval=interval_ms, description="Play",
                          show_repeat=False)
    c.back_button = widgets.Button(description="Back", tooltip="Step back", icon="step-backward",
                                   layout=widgets.Layout(width="90px"))
    c.step_button = widgets.Button(description="Step", tooltip="Step forward", icon="step-forward",
                                   layout=widgets.Layout(width="90px"))
    c.reset_button = widgets.Button(description="Reset", tooltip="Back to step 0", icon="undo",
                                    layout=widgets.Layout(width="90px"))
    c.step_slider = widgets.IntSlider(value=core.t, min=0, max=core.T, description="step t",
                                      continuous_update=False)
    c.sequence = widgets.Dropdown(
        options=[(f"sequence {i + 1} ({len(s)} steps)", i) for i, s in enumerate(core.sequences)],
        value=core.index, description="sequence")
    c.scale = widgets.SelectionSlider(options=scales, value=core.recurrent_scale,
                                      description="rec. scale", continuous_update=False)
    c.activation = widgets.Dropdown(options=list(config.ACTIVATIONS), value=core.activation,
                                    description="activation")
    for w in (c.scale, c.activation, c.step_slider, c.sequence):
        w.style.description_width = "70px"
    return c
