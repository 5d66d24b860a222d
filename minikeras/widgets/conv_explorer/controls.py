"""The explorer's ipywidgets controls, created and laid out in one place.

:func:`build` makes every widget and returns them in a :class:`Controls` namespace; the
:mod:`.widget` module connects them to the core. CSS classes (``mk-conv-*``) name the parts
the browser test looks for.
"""
from dataclasses import dataclass, field

from . import config, render

GRID = max(config.KERNEL_SIZES)   # editable weight boxes: enough for the largest preset size


@dataclass
class Controls:
    source: object = None
    index: object = None
    image_label: object = None
    blank: object = None
    brush: object = None
    preset: object = None
    size: object = None
    weights: list = field(default_factory=list)     # GRID x GRID FloatText, row by row
    weight_grid: object = None
    bias: object = None
    padding: object = None
    stride: object = None
    formula: object = None
    input_image: object = None
    output_image: object = None
    play: object = None
    position: object = None
    back: object = None
    forward: object = None
    finish: object = None
    arithmetic: object = None
    status: object = None
    maps_box: object = None
    probabilities: object = None
    maps_note: object = None
    tabs: object = None
    box: object = None


def build(*, sources, n_images, presets, size, padding, stride, interval_ms=120, has_model=False):
    import ipywidgets as W

    c = Controls()
    small = W.Layout(width="auto")
    c.source = W.Dropdown(options=sources, value=sources[0], description="image", layout=W.Layout(width="260px"))
    c.index = W.IntSlider(value=0, min=0, max=max(n_images - 1, 0), description="number",
                          continuous_update=False, disabled=n_images == 0, layout=W.Layout(width="330px"))
    c.image_label = W.HTML()
    c.blank = W.Button(description="blank canvas", tooltip="draw on an empty black image", layout=small)
    c.brush = W.ToggleButtons(options=[("paint", 1.0), ("erase", 0.0)], value=1.0,
                              tooltips=["drag on the input to paint white", "drag to erase"],
                              style={"button_width": "60px"})
    c.preset = W.Dropdown(options=presets, description="kernel", layout=W.Layout(width="260px"))
    c.preset.add_class("mk-conv-preset")
    c.size = W.ToggleButtons(options=[(f"{k}x{k}", k) for k in config.KERNEL_SIZES], value=size,
                             style={"button_width": "48px"})
    c.weights = [W.FloatText(value=0.0, step=0.1, layout=W.Layout(width="62px")) for _ in range(GRID * GRID)]
    for i, w in enumerate(c.weights):
        w.add_class(f"mk-conv-w{i // GRID}{i % GRID}")
    c.weight_grid = W.GridBox(c.weights, layout=W.Layout(grid_template_columns=f"repeat({size}, 66px)",
                                                         grid_gap="2px"))
    c.weight_grid.add_class("mk-conv-weights")
    c.bias = W.FloatText(value=0.0, step=0.1, description="bias", layout=W.Layout(width="150px"))
    c.padding = W.ToggleButtons(options=list(config.PADDINGS), value=padding, description="padding",
                                style={"button_width": "56px"})
    c.stride = W.ToggleButtons(options=list(config.STRIDES), value=stride, description="stride",
                               style={"button_width": "36px"})
    c.formula = W.HTML()
    c.input_image = W.Image(format="png")
    c.input_image.add_class("mk-conv-input")
    c.output_image = W.Image(format="png")
    c.output_image.add_class("mk-conv-output")
    c.play = W.Play(value=0, min=0, max=1, step=1, interval=interval_ms, show_repeat=True, repeat=False)
    c.position = W.IntSlider(value=0, min=0, max=1, description="position", continuous_update=True,
                             layout=W.Layout(width="360px"))
    c.position.add_class("mk-conv-position")
    W.jslink((c.play, "value"), (c.position, "value"))
    c.back = W.Button(description="\u25c0", tooltip="previous position", layout=W.Layout(width="40px"))
    c.forward = W.Button(description="\u25b6", tooltip="next position", layout=W.Layout(width="40px"))
    c.finish = W.Button(description="fill all", tooltip="jump to the last position", layout=small)
    c.arithmetic = W.HTML()
    c.status = W.HTML()
    c.status.add_class("mk-conv-status")

    def titled(title, widget):
        return W.VBox([W.HTML(f"<b>{title}</b>"), widget])

    image_row = W.HBox([c.source, c.index, c.image_label])
    draw_row = W.HBox([W.HTML("draw on the input:"), c.brush, c.blank])
    kernel_col = W.VBox([W.HBox([c.preset, c.size]), c.weight_grid, c.bias])
    geometry_col = W.VBox([c.padding, c.stride, c.formula])
    pictures = W.HBox([titled("input (padding tinted blue), kernel window in red", c.input_image),
                       titled("output map, filled in as the kernel slides", c.output_image)],
                      layout=W.Layout(grid_gap="12px"))
    moving = W.HBox([c.play, c.back, c.forward, c.position, c.finish])
    slide = W.VBox([image_row, draw_row, W.HBox([kernel_col, geometry_col], layout=W.Layout(grid_gap="24px")),
                    pictures, moving, c.arithmetic, c.status])

    c.maps_box = W.VBox()
    c.maps_box.add_class("mk-conv-maps")
    c.probabilities = W.HTML()
    c.maps_note = W.HTML("" if has_model else
                         "<i>Pass a trained CNN, <code>ConvExplorer(model=...)</code>, to see its feature maps "
                         "for the chosen image here.</i>")
    network = W.VBox([c.maps_note, W.HBox([c.maps_box, titled("predicted class probabilities", c.probabilities)],
                                          layout=W.Layout(grid_gap="16px"))])
    c.tabs = W.Tab(children=[slide, network])
    c.tabs.set_title(0, "slide a kernel")
    c.tabs.set_title(1, "inside a trained CNN")
    c.box = W.VBox([W.HTML(render.PIXELATED_CSS), c.tabs])
    c.box.add_class("mk-conv-explorer")
    return c
