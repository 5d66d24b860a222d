"""The convolution explorer in Jupyter: a thin ipywidgets view over :mod:`.core`.

Tab 1 slides a kernel over a real image (or your drawing): pick or edit the kernel, the
padding and the stride, and step, drag or play the position; the window, the products it
sums and the output map filling in are redrawn at every move. Tab 2 runs a trained minikeras
CNN on the same image and shows each layer's strongest feature maps and the predicted class
probabilities.
"""
import time

import numpy as np

from . import config, controls, render
from .core import ConvExplorerCore, FeatureMaps

FASHION = "Fashion-MNIST test images"
GIVEN = "your images"
DRAWING = "your drawing"
CUSTOM = "custom"
LEARNED = "learned filter "


def _fashion_test_images():
    """The Fashion-MNIST test set as (images, labels), or (None, None) when it is not on this machine."""
    from ...datasets import DatasetNotFoundError, fashion_mnist
    try:
        _, (x, y) = fashion_mnist.load_data()
    except DatasetNotFoundError:
        return None, None
    return x, y


class ConvExplorer:
    """See a convolution happen, cell by cell, and what a trained CNN makes of an image.

    ``ConvExplorer()`` uses the Fashion-MNIST test images when they are on the machine (else
    you draw). Pass ``images`` ((N, H, W) or (N, H, W, 1); uint8 or floats in [0, 1]) with
    ``labels`` and ``class_names`` for your own, ``model`` (a trained minikeras CNN taking
    (H, W, 1) images) for the second tab, and ``kernel`` (a preset name or a 2-D array),
    ``size``, ``padding``, ``stride`` and ``index`` to start from.
    """

    def __init__(self, images=None, labels=None, *, model=None, class_names=None, kernel="edges: vertical",
                 size=3, padding="valid", stride=1, index=0, channels=16, interval_ms=120):
        source = GIVEN
        if images is None:
            images, labels = _fashion_test_images()
            source = FASHION
            if class_names is None and images is not None:
                class_names = config.FASHION_CLASSES
        self.images = None if images is None else np.asarray(images)
        if self.images is not None and (self.images.ndim not in (3, 4) or len(self.images) == 0):
            raise ValueError(f"ConvExplorer: images must be a non-empty stack (N, H, W) or (N, H, W, 1); "
                             f"got shape {self.images.shape}.")
        self.labels = None if labels is None else np.asarray(labels).reshape(-1)
        if self.labels is not None and self.images is not None and len(self.labels) != len(self.images):
            raise ValueError(f"ConvExplorer: {len(self.images)} images but {len(self.labels)} labels.")
        self.class_names = tuple(class_names) if class_names is not None else None
        n = 0 if self.images is None else len(self.images)
        if n and not 0 <= index < n:
            raise ValueError(f"ConvExplorer: index {index} is outside 0..{n - 1}.")
        first = self.images[index] if n else np.zeros((28, 28))
        self.core = ConvExplorerCore(first, kernel, size=size, padding=padding, stride=stride)
        self.maps = FeatureMaps(model, self.class_names) if model is not None else None
        self.channels = int(channels)
        self.redraws = 0
        self._syncing = False
        self._drawing = False

        self.learned = self._learned_filters()
        presets = list(config.PRESETS) + [LEARNED + str(i) for i in range(len(self.learned))] + [CUSTOM]
        sources = ([source] if n else []) + [DRAWING]
        self.c = controls.build(sources=sources, n_images=n, presets=presets,
                                size=self.core.kernel.shape[0] if self.core.kernel.shape[0] in config.KERNEL_SIZES
                                else config.KERNEL_SIZES[0],
                                padding=self.core.padding, stride=self.core.stride, interval_ms=interval_ms,
                                has_model=self.maps is not None)
        self.c.preset.value = self.core.preset_name if self.core.preset_name in presets else CUSTOM
        self.c.index.value = index if n else 0
        if not n:
            self.core.drawn = True
        self._layer_views = []
        self._connect()
        self._sync_controls()
        self.redraw()

    # ---------------------------------------------------------------- wiring
    def _connect(self):
        c = self.c
        c.source.observe(self._on_source, names="value")
        c.index.observe(self._on_index, names="value")
        c.blank.on_click(lambda _b: self.blank())
        c.preset.observe(self._on_preset, names="value")
        c.size.observe(self._on_size, names="value")
        for i, box in enumerate(c.weights):
            box.observe(lambda change, i=i: self._on_weight(i, change), names="value")
        c.bias.observe(self._on_bias, names="value")
        c.padding.observe(lambda ch: self._on_geometry("padding", ch), names="value")
        c.stride.observe(lambda ch: self._on_geometry("stride", ch), names="value")
        c.position.observe(self._on_position, names="value")
        c.back.on_click(lambda _b: self.step(-1))
        c.forward.on_click(lambda _b: self.step(1))
        c.finish.on_click(lambda _b: self.seek(self.core.geometry.positions - 1))
        try:    # drawing needs ipyevents (a dependency; without it the rest still works)
            from ipyevents import Event
        except ImportError:   # pragma: no cover
            self._events = None
        else:
            # presses and releases always arrive; moves are throttled to one per 20 ms
            self._events = [Event(source=c.input_image, watched_events=["mousedown", "mouseup", "mouseleave"],
                                  prevent_default_action=True),
                            Event(source=c.input_image, watched_events=["mousemove"],
                                  wait=20, throttle_or_debounce="throttle")]
            for events in self._events:
                events.on_dom_event(self._on_mouse)

    def _sync_controls(self):
        """Show the core's kernel, bias and position range in the controls (without feedback)."""
        c, core = self.c, self.core
        self._syncing = True
        try:
            k_h, k_w = core.kernel.shape
            for i, box in enumerate(c.weights):
                r, q = divmod(i, controls.GRID)
                inside = r < k_h and q < k_w
                box.layout.display = "" if inside else "none"
                if inside:
                    box.value = round(float(core.kernel[r, q]), 4)
            c.weight_grid.layout.grid_template_columns = f"repeat({k_w}, 66px)"
            c.bias.value = core.bias
            last = core.geometry.positions - 1
            c.play.max = c.position.max = max(last, 1)
            c.position.value = core.position
            c.formula.value = ("<span style='font-family:monospace;font-size:12px'>"
                               + core.geometry.formula() + "</span>")
        finally:
            self._syncing = False

    # ---------------------------------------------------------------- callbacks
    def _on_source(self, change):
        if self._syncing:
            return
        if change["new"] == DRAWING:
            self.core.drawn = True
            self.c.index.disabled = True
            self.redraw()
        else:
            self.c.index.disabled = False
            self.select(self.c.index.value)

    def _on_index(self, change):
        if not self._syncing:
            self.select(change["new"])

    def _on_preset(self, change):
        if self._syncing or change["new"] == CUSTOM:
            return
        self.set_kernel(change["new"])

    def _on_size(self, change):
        if self._syncing:
            return
        name = self.c.preset.value
        if name in config.PRESETS:
            self.set_kernel(name, size=change["new"])
        else:                                   # keep a custom kernel: pad or crop around the centre
            self.set_kernel(_resize(self.core.kernel, change["new"]))

    def _on_weight(self, i, change):
        if self._syncing:
            return
        r, q = divmod(i, controls.GRID)
        if r < self.core.kernel.shape[0] and q < self.core.kernel.shape[1]:
            self.core.set_weight(r, q, change["new"])
            self._show_preset(CUSTOM)
            self.redraw_slide()

    def _on_bias(self, change):
        if not self._syncing:
            self.core.bias = change["new"]
            self.redraw_slide()

    def _on_geometry(self, what, change):
        if self._syncing:
            return
        try:
            setattr(self.core, what, change["new"])
        except ValueError as exc:
            self._syncing = True
            getattr(self.c, what).value = change["old"]
            self._syncing = False
            self.c.status.value = f"<span style='color:#b2182b'>{exc}</span>"
            return
        self._sync_controls()
        self.redraw_slide()

    def _on_position(self, change):
        if not self._syncing:
            self.core.seek(change["new"])
            self.redraw_slide()

    def _on_mouse(self, event):
        kind = event.get("type")
        if kind in ("mouseup", "mouseleave"):
            if self._drawing:
                self._drawing = False
                self.redraw_maps()
            return
        if kind == "mousemove" and not (self._drawing and int(event.get("buttons", 0)) & 1):
            return
        pixel = self.event_pixel(event)
        if pixel is None:
            return
        self._drawing = True
        self.draw(*pixel, redraw_maps=False)

    def event_pixel(self, event):
        """The image pixel (row, col) under a mouse event on the input picture, or None."""
        g = self.core.geometry
        ph, pw = g.padded_shape
        cell = render.cell_size(max(ph, pw))
        bw, bh = event.get("boundingRectWidth"), event.get("boundingRectHeight")
        if bw and bh and event.get("relativeX") is not None:
            x = float(event["relativeX"]) * pw * cell / float(bw)
            y = float(event["relativeY"]) * ph * cell / float(bh)
        elif event.get("dataX") is not None:
            x, y = float(event["dataX"]), float(event["dataY"])
        else:
            return None
        row, col = int(y // cell) - g.pad_top, int(x // cell) - g.pad_left
        if 0 <= row < g.in_h and 0 <= col < g.in_w:
            return row, col
        return None

    # ---------------------------------------------------------------- actions (usable from code)
    def select(self, index):
        """Show image number ``index`` of the image set."""
        if self.images is None:
            raise ValueError("ConvExplorer: there are no images to select from; draw one instead.")
        self.core.image = self.images[int(index)]
        self._syncing = True
        self.c.index.value = int(index)
        if self.c.source.value == DRAWING:
            self.c.source.value = self.c.source.options[0]
            self.c.index.disabled = False
        self._syncing = False
        self._sync_controls()
        self.redraw()

    def blank(self):
        """Start drawing on an empty canvas."""
        self.core.blank()
        self._to_drawing()
        self.redraw()

    def draw(self, row, col, value=None, radius=1.0, redraw_maps=True):
        """Paint (``value`` 1) or erase (0; default: the brush control) around pixel (row, col)."""
        value = self.c.brush.value if value is None else value
        changed = self.core.paint(row, col, value, radius)
        self._to_drawing()
        if changed:
            self.redraw_slide()
            if redraw_maps:
                self.redraw_maps()
        return changed

    def _to_drawing(self):
        if self.c.source.value != DRAWING:
            self._syncing = True
            self.c.source.value = DRAWING
            self.c.index.disabled = True
            self._syncing = False

    def set_kernel(self, kernel, size=None):
        """A preset name (with ``size``), ``"learned filter N"``, or a 2-D array of weights."""
        if isinstance(kernel, str) and kernel.startswith(LEARNED):
            weights, bias = self.learned[int(kernel[len(LEARNED):])]
            self.core.kernel = weights
            self.core.bias = bias
            name = kernel
        elif isinstance(kernel, str):
            self.core.use_preset(kernel, size)
            self.core.bias = 0.0
            name = kernel
        else:
            self.core.kernel = kernel
            name = CUSTOM
        self._show_preset(name)
        self._sync_controls()
        self.redraw_slide()

    def _show_preset(self, name):
        self._syncing = True
        self.c.preset.value = name
        k = self.core.kernel.shape[0]
        if k in config.KERNEL_SIZES:
            self.c.size.value = k
        self._syncing = False

    def seek(self, position):
        self.c.position.value = int(position)      # the slider's observer moves the core and redraws

    def step(self, n=1):
        self.seek(self.core.step(n))

    def _learned_filters(self):
        if self.maps is None:
            return []
        first = self.maps.first_conv()
        if first is None:
            return []
        kernel, bias = first
        if kernel.shape[2] != 1 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] > config.MAX_KERNEL_SIZE:
            return []
        return [(kernel[:, :, 0, f].astype(np.float64), float(bias[f])) for f in range(kernel.shape[3])]

    # ---------------------------------------------------------------- drawing
    def redraw(self):
        self.redraw_slide()
        self.redraw_maps()

    def redraw_slide(self):
        """Redraw tab 1: the input with its window, the output so far, the arithmetic, the status."""
        c, core = self.c, self.core
        for widget, rgb in ((c.input_image, render.input_rgb(core)), (c.output_image, render.output_rgb(core))):
            widget.value = render.png(rgb)
            widget.layout.width = render.css_width(rgb)
        step = core.step_arithmetic()
        c.arithmetic.value = render.arithmetic_html(step)
        g = core.geometry
        c.status.value = (f"{core.describe()} &mdash; position {core.position + 1} of {g.positions}"
                          f" (row {step['row']}, column {step['col']})")
        if self.images is not None and not core.drawn:
            i = self.c.index.value
            label = None if self.labels is None else int(self.labels[i])
            c.image_label.value = ("" if label is None else
                                   f"label: <b>{self.class_names[label] if self.class_names else label}</b>")
        else:
            c.image_label.value = "<i>your drawing</i>"
        self.redraws += 1

    def redraw_maps(self):
        """Redraw tab 2: the CNN's feature maps and class probabilities for the current image."""
        if self.maps is None:
            return
        import ipywidgets as W
        try:
            layers, probabilities = self.maps.compute(self.core.image)
        except ValueError as exc:
            self.c.maps_note.value = f"<span style='color:#b2182b'>{exc}</span>"
            return
        self.c.maps_note.value = ("Each row: one layer's strongest channels (largest mean activation), "
                                  "darker = stronger.")
        if len(self._layer_views) != len(layers):
            self._layer_views = [(W.HTML(), W.Image(format="png")) for _ in layers]
            for _, img in self._layer_views:
                img.add_class("mk-conv-layer")
            self.c.maps_box.children = [W.VBox(list(v)) for v in self._layer_views]
        for (caption, img), layer in zip(self._layer_views, layers):
            data, order = render.layer_png(layer, channels=self.channels)
            h, w, ch = layer.maps.shape
            caption.value = (f"<b>{layer.name}</b> ({layer.kind}): {h}x{w}x{ch}, showing channels "
                             f"{', '.join(map(str, order[:8]))}{', ...' if len(order) > 8 else ''}")
            img.value = data
        true = None if (self.labels is None or self.core.drawn) else int(self.labels[self.c.index.value])
        self.c.probabilities.value = render.probabilities_html(probabilities, self.maps.class_names, true)

    def measure_redraws(self, n=60):
        """Slide the window over ``n`` positions through the position control; redraws per second.

        This times the kernel's side (core, pictures, widget updates); the browser adds its
        own decoding and painting on top."""
        start_position = self.core.position
        last = self.core.geometry.positions - 1
        before = self.redraws
        t0 = time.perf_counter()
        for i in range(n):
            self.seek((start_position + 1 + i) % (last + 1))
        seconds = time.perf_counter() - t0
        done = self.redraws - before
        self.seek(start_position)
        return done / seconds

    # ---------------------------------------------------------------- display
    @property
    def widget(self):
        return self.c.box

    def _ipython_display_(self):
        from IPython.display import display
        display(self.c.box)


def _resize(kernel, k):
    """Embed a kernel in a larger one (zeros around) or crop its centre, keeping it centred."""
    old = kernel.shape[0]
    if old == k:
        return kernel.copy()
    if old < k:
        out = np.zeros((k, k))
        o = (k - old) // 2
        out[o:o + old, o:o + old] = kernel
        return out
    o = (old - k) // 2
    return kernel[o:o + k, o:o + k].copy()

