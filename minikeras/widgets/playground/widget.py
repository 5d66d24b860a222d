"""The playground's ipywidgets front end: layout, event handlers and the play thread.

The controls come from :mod:`.controls`, the pictures from :mod:`.render`, the training from
:class:`.core.PlaygroundCore`. Play trains in a background thread so the kernel stays free;
one lock is held around every call that touches the model, so a cell that calls
``pg.predict`` while it plays cannot interleave with a training step.
"""
import json
import threading
import time

import ipywidgets as W
import numpy as np

from .. import _datasets as ds
from . import controls as ctl
from . import render
from .config import MAX_LAYERS, MAX_NEURONS, NEW_DATA, RESET
from .core import PlaygroundCore

DATA_WIDTH, FEATURES_WIDTH, OUTPUT_WIDTH = 236, 88, 332
HEADER_HEIGHT = 80    # the band above the features, the network and the heatmap: the same in all three
FEATURE_BUTTON = 34   # with 3 px above and below, one row of the network (render.PITCH)


class Playground:
    """The TensorFlow Playground as ipywidgets, training a real minikeras model.

    ``Playground()`` shows the web app's defaults (circle, 2 features, [4, 2] tanh, lr 0.03).
    Pass any :class:`~.config.PlaygroundConfig` setting (``dataset="spiral"``,
    ``hidden=[8, 8]``, ``optimizer="adam"``, ``dropout=0.1``, ``classes=4``, ``seed=``...) or
    your own ``X, y``; ``hide=[...]`` with names from :data:`~.controls.CONTROLS` removes
    controls for a class, and ``fps`` says how often the pictures redraw while playing
    (0: every epoch, as the web app).

    ``pg.model`` is the trained ``keras`` model, ``pg.predict(points)`` its output on raw
    points, ``pg.play()/pause()/step()/reset()`` drive it from code, and ``pg.state`` with
    ``Playground.from_state`` reproduces a run.
    """

    def __init__(self, X=None, y=None, *, hide=(), fps=12, **kwargs):
        hide = [hide] if isinstance(hide, str) else list(hide)
        unknown = [h for h in hide if h not in ctl.CONTROLS]
        if unknown:
            raise ValueError(f"Cannot hide {unknown}: the controls are {list(ctl.CONTROLS)}.")
        self.hidden_controls = frozenset(hide)
        self.core = PlaygroundCore(X, y, **kwargs)
        self.fps = float(fps)
        self._lock = threading.RLock()
        self._thread = None
        self._stop = threading.Event()
        self.show_test_data = False
        self.discretize = False
        self.view = "output"
        self.redraws = 0
        self._muted = False
        self._loss_drawn = 0.0
        self._build_ui()
        self.redraw()

    # ---------------------------------------------------------------- public API
    @property
    def model(self):
        """The live minikeras model (input: the feature columns, see ``transform``)."""
        return self.core.model

    @property
    def epoch(self):
        return self.core.epoch

    @property
    def history(self):
        return self.core.history

    @property
    def state(self):
        with self._lock:
            return self.core.state

    @classmethod
    def from_state(cls, state, **kw):
        state = json.loads(state) if isinstance(state, str) else dict(state)
        state.update(kw)
        return cls(**state)

    def transform(self, points):
        with self._lock:
            return self.core.transform(points)

    def predict(self, points):
        """The model's output on raw 2-D points (features applied for you). Safe while playing."""
        with self._lock:
            return self.core.predict(points)

    def data(self):
        """(X_train, y_train, X_test, y_test) as NumPy arrays."""
        with self._lock:
            return self.core.dataset_arrays()

    @property
    def playing(self):
        return self._thread is not None and self._thread.is_alive()

    def play(self):
        """Train in a background thread, one epoch after another, redrawing about ``fps`` times a
        second, until ``pause()``. The kernel stays free to run cells meanwhile."""
        if self.playing:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="playground-play", daemon=True)
        self._thread.start()
        self._sync_play_button()

    def pause(self):
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=10)
        self._thread = None
        self._sync_play_button()

    def step(self):
        """Pause, then train exactly one epoch."""
        self.pause()
        with self._lock:
            self.core.train_epoch()
        self.redraw()

    def train(self, epochs):
        """Train ``epochs`` epochs now (blocking), then redraw once."""
        self.pause()
        with self._lock:
            logs = self.core.train(epochs)
        self.redraw()
        return logs

    def reset(self):
        """A new network; pauses, as the web app's reset does."""
        self.pause()
        with self._lock:
            self.core.reset()
        self.redraw()

    def regenerate(self):
        with self._lock:
            self.core.regenerate()
        self.redraw()

    def set(self, **kw):
        """Change settings as the controls do (see ``PlaygroundCore.set``)."""
        if set(kw) & (NEW_DATA | RESET | {"seed"}):
            self.pause()
        with self._lock:
            result = self.core.set(**kw)
        self._sync_controls()
        self.redraw()
        return result

    def add_point(self, x, y, label):
        with self._lock:
            self.core.add_point(x, y, label)
        self.redraw()

    def set_weight(self, layer, i, j, value):
        with self._lock:
            self.core.set_weight(layer, i, j, value)
        self.redraw()

    def benchmark(self, seconds=3.0, redraw=True):
        """Epochs per second for ``seconds`` of training, redrawing every epoch or never."""
        self.pause()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            with self._lock:
                self.core.train_epoch()
            if redraw:
                self.redraw()
            n += 1
        return n / (time.perf_counter() - t0)

    def _run(self):
        last = 0.0
        try:
            while not self._stop.is_set():
                with self._lock:
                    self.core.train_epoch()
                    now = time.perf_counter()
                    draw = self.fps <= 0 or now - last >= 1.0 / self.fps
                    if not draw:
                        self._update_numbers()
                if draw:
                    self.redraw()
                    last = now
                time.sleep(0.001)   # let the kernel's main thread take the GIL for clicks
        except Exception as exc:
            self._show_error(exc)   # on the widget; the traceback still goes to the kernel's log
            raise
        finally:
            self.redraw()

    # ---------------------------------------------------------------- building the UI
    def _shown(self, name):
        return name not in self.hidden_controls

    def _build_ui(self):
        self.controls = {}
        for control in ctl.TABLE:
            if self._shown(control.name):
                self.controls[control.name] = ctl.build(control, self)
        self._layers_label = W.HTML()
        self._epoch_label = W.HTML()
        self._numbers = W.HTML(layout=W.Layout(margin="0"))
        self._message = W.HTML()
        self._network = W.HTML(layout=W.Layout(width=f"{render.NET_WIDTH}px", height=f"{render.NET_HEIGHT}px",
                                                margin="0"))
        size, _ = render.heatmap_geometry(self.core.domain)
        self._heatmap = W.Image(format="png", layout=W.Layout(width=f"{size[0]}px", height=f"{size[1]}px",
                                                              margin="0"))
        self._heatmap.add_class("mk-playground-heatmap")
        self._heat_domain = None
        self._heat_size, self._heat_box = size, None
        w, h = render.LOSS_SIZE
        self._loss_img = W.Image(format="png", layout=W.Layout(width=f"{w}px", height=f"{h}px", margin="8px 0 0 0"))
        self._loss_img.add_class("mk-playground-loss")
        self._loss_caption = W.HTML()
        self._loss_caption.add_class("mk-playground-loss-caption")
        self._points_label = W.HTML()
        self._points_label.add_class("mk-playground-points")
        self._attach_click_events()
        self.widget = self._layout()
        self.widget.add_class("mk-playground")
        self._sync_controls()

    def _section(self, name):
        return [self.controls[c.name] for c in ctl.TABLE if c.section == name and c.name in self.controls]

    def _layout(self):
        fixed = dict(flex="0 0 auto")
        style = W.HTML(render.stylesheet(), layout=W.Layout(display="none"))
        top = W.HBox(self._section("top") + [self._epoch_label], layout=W.Layout(align_items="center"))
        settings = W.HBox(self._section("settings"), layout=W.Layout(flex_flow="row wrap"))
        data_col = W.VBox([W.HTML("<b>DATA</b>")] + self._section("data"),
                          layout=W.Layout(width=f"{DATA_WIDTH}px", padding="0 4px 0 0", **fixed))
        band = dict(height=f"{HEADER_HEIGHT}px", margin="0", overflow="hidden", **fixed)
        feat_head = W.VBox([W.HTML("<b>FEATURES</b>")], layout=W.Layout(width=f"{FEATURES_WIDTH}px", **band))
        layer_row = W.HBox(([self.controls["hidden_layers"]] if "hidden_layers" in self.controls else [])
                           + [self._layers_label], layout=W.Layout(align_items="center"))
        net_head = W.VBox([layer_row] + ([self.controls["neurons"]] if "neurons" in self.controls else []),
                          layout=W.Layout(width=f"{render.NET_WIDTH}px", **band))
        out_head = W.VBox([W.HTML("<b>OUTPUT</b>"), self._numbers], layout=W.Layout(width=f"{OUTPUT_WIDTH}px", **band))
        features = self.controls.get("features") or W.VBox(layout=W.Layout(width=f"{FEATURES_WIDTH}px"))
        out_items = [self._heatmap, self._message, self._loss_img, self._loss_caption, W.HTML(render.legend_html())]
        out_items.append(W.HBox(([self._click_row] if "add_points" in self.controls else []) + [self._points_label],
                                layout=W.Layout(align_items="center", flex_flow="row wrap")))
        out_items += self._section("output")
        out_col = W.VBox(out_items, layout=W.Layout(width=f"{OUTPUT_WIDTH}px", **fixed))
        net_area = W.VBox([W.HBox([feat_head, net_head, out_head]),
                           W.HBox([features, self._network, out_col], layout=W.Layout(align_items="flex-start"))],
                          layout=W.Layout(**fixed))
        return W.VBox([style, top, settings, W.HBox([data_col, net_area], layout=W.Layout(align_items="flex-start"))],
                      layout=W.Layout(border="1px solid #ddd", padding="6px"))

    def _attach_click_events(self):
        """Clicks on the heatmap add points (needs ipyevents; the x/y boxes are the fallback)."""
        self._click_events = None
        if not self._shown("add_points"):
            return
        try:
            from ipyevents import Event
        except ImportError:   # pragma: no cover - optional dependency
            return
        self._click_events = Event(source=self._heatmap, watched_events=["click"], prevent_default_action=True)
        self._click_events.on_dom_event(lambda ev: self._guard(self._on_heatmap_click, ev))

    # --- compound controls (named in controls.TABLE)
    def _build_datasets(self):
        self._dataset_box = W.VBox()
        self._dataset_key = None
        return W.VBox([W.HTML("<div style='line-height:18px'>Which dataset do you want to use?</div>"),
                       self._dataset_box])

    def _sync_datasets(self):
        c = self.core
        key = (c.custom, c.problem, c.dataset, c.n_classes_setting, c.n_added if c.custom else 0)
        if key == self._dataset_key:
            return
        self._dataset_key = key
        if c.custom:
            names = ["custom"]
        else:
            names = list(ds.REGRESSION) if c.problem == "regression" else \
                list(ds.CLASSIFICATION) + [n for n in ds.MULTICLASS if n not in ds.CLASSIFICATION]
        cells = []
        for name in names:
            img = W.Image(value=self._dataset_picture(name), format="png",
                          layout=W.Layout(width=f"{render.THUMB}px", height=f"{render.THUMB}px"))
            btn = W.Button(description=name, layout=W.Layout(width="54px", padding="0"),
                           button_style="info" if name == c.dataset else "", disabled=c.custom)
            btn.on_click(lambda _b, n=name: self._guard(self.set, dataset=n))
            cells.append(W.VBox([img, btn], layout=W.Layout(align_items="center", margin="1px")))
        self._dataset_box.children = [W.HBox(cells[i:i + 4]) for i in range(0, len(cells), 4)]

    def _dataset_picture(self, name):
        c = self.core
        if name == "custom":
            with self._lock:
                return render.points_thumbnail(c.X_train, c.y_train, c.domain, c.num_classes)
        classes = max(3, c.n_classes_setting) if name in ("blobs", "rings") else \
            (c.n_classes_setting if name == "spiral" else 2)
        return render.dataset_thumbnail(name, classes)

    def _build_add_points(self):
        # description widths sized to their words, so the boxes keep the room for the numbers
        self._pt_x = W.FloatText(value=0.0, description="x", layout=W.Layout(width="110px"),
                                 style={"description_width": "14px"})
        self._pt_y = W.FloatText(value=0.0, description="y", layout=W.Layout(width="110px"),
                                 style={"description_width": "14px"})
        self._pt_label = W.Dropdown(description="label", layout=W.Layout(width="224px"),
                                    style={"description_width": "40px"})
        # the class (or regression target) given to points added by clicking on the heatmap
        self._click_label = W.Dropdown(description="click adds", layout=W.Layout(width="200px"),
                                       style={"description_width": "initial"})
        self._click_value = W.FloatText(value=0.5, description="click adds target", layout=W.Layout(width="200px"),
                                        style={"description_width": "initial"})
        self._click_row = W.HBox([self._click_label, self._click_value])
        add_btn = ctl.icon_button("plus", "Add point", width="110px")
        clear_btn = W.Button(description="Clear added", layout=W.Layout(width="110px"))
        add_btn.on_click(lambda _b: self._guard(self._add_clicked))
        clear_btn.on_click(lambda _b: self._guard(self._clear_points))
        box = W.VBox([W.HTML("Add your own points:"), W.HBox([self._pt_x, self._pt_y]), self._pt_label,
                      W.HBox([add_btn, clear_btn])])
        box.add_class("mk-playground-add-points")
        return box

    def _sync_add_points(self):
        k = self.core.num_classes
        if k == 0:
            opts = [("target %.1f" % v, v) for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]
        elif k == 2:
            opts = [("blue (+1)", 1.0), ("orange (-1)", -1.0)]
        else:
            opts = [(f"class {i}", i) for i in range(k)]
        if list(self._pt_label.options) != opts:
            self._pt_label.options = opts
            self._pt_label.value = opts[0][1]
            if k:
                self._click_label.options = opts
                self._click_label.value = opts[0][1]
        self._click_label.layout.display = "" if k else "none"
        self._click_value.layout.display = "none" if k else ""

    def _build_layer_buttons(self):
        plus = ctl.icon_button("plus", tooltip="Add a hidden layer", width="34px")
        minus = ctl.icon_button("minus", tooltip="Remove a hidden layer", width="34px")
        plus.on_click(lambda _b: self._guard(self._change_layers, +1))
        minus.on_click(lambda _b: self._guard(self._change_layers, -1))
        return W.HBox([plus, minus])

    def _build_neuron_row(self):
        self._neuron_box = W.HBox(layout=W.Layout(height="30px", margin="0"))
        self._neuron_shape = None
        return self._neuron_box

    def _sync_neuron_row(self):
        """One +/- pair above each hidden layer, centred on its column of the network picture."""
        hidden = self.core.hidden
        if len(hidden) == self._neuron_shape:
            return
        self._neuron_shape = len(hidden)
        cells, right = [], 0.0
        for i, left in enumerate(render.layer_left(len(hidden))[1:]):
            start = left + render.NODE / 2 - 26
            p = ctl.icon_button("plus", tooltip=f"Add a neuron to layer {i + 1}", width="26px", height="24px",
                                padding="0", margin="0")
            m = ctl.icon_button("minus", tooltip=f"Remove a neuron from layer {i + 1}", width="26px",
                                height="24px", padding="0", margin="0")
            p.on_click(lambda _b, i=i: self._guard(self._change_neurons, i, +1))
            m.on_click(lambda _b, i=i: self._guard(self._change_neurons, i, -1))
            cell = W.HBox([p, m], layout=W.Layout(width="52px", margin=f"0 0 0 {start - right:.1f}px", **{
                "flex": "0 0 auto"}))
            cell.add_class("mk-playground-neurons")
            cells.append(cell)
            right = start + 52
        self._neuron_box.children = cells

    def _build_feature_buttons(self):
        self._feature_buttons = {}
        for f in ds.FEATURE_NAMES:
            b = W.ToggleButton(value=False, description=ds.FEATURES[f][0], tooltip=f,
                               layout=W.Layout(width="80px", height=f"{FEATURE_BUTTON}px",
                                               margin=f"{(render.PITCH - FEATURE_BUTTON) // 2}px 0"))
            b.add_class("mk-playground-feature")
            b.observe(lambda ch, f=f: None if self._muted else self._guard(self._toggle_feature, f, ch["new"]),
                      "value")
            self._feature_buttons[f] = b
        return W.VBox(list(self._feature_buttons.values()),
                      layout=W.Layout(width=f"{FEATURES_WIDTH}px", margin="0", flex="0 0 auto"))

    def _sync_feature_buttons(self):
        for f, b in self._feature_buttons.items():
            b.value = f in self.core.features

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    def _guard(self, fn, *args, **kwargs):
        """Run a widget callback, showing errors under the heatmap instead of losing them."""
        self._message.value = ""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:   # noqa: BLE001 - a UI callback must not die silently
            self._show_error(exc)

    def _show_error(self, exc):
        self._message.value = f"<span style='color:#c00'>{type(exc).__name__}: {exc}</span>"

    def _sync_controls(self):
        """Make every control show the core's settings (after code or a cascade changed them)."""
        self._muted = True
        try:
            for name, widget in self.controls.items():
                ctl.sync(ctl.BY_NAME[name], widget, self)
            n = len(self.core.hidden)
            self._layers_label.value = (f"<b>{n} HIDDEN LAYER{'S' if n != 1 else ''}</b> "
                                        f"<span style='color:#777'>{list(self.core.hidden)}</span>")
        finally:
            self._muted = False

    # ---------------------------------------------------------------- UI callbacks
    def _control_changed(self, control, value):
        """A control of the table changed: apply a setting, or a display option and redraw."""
        if self._muted:
            return
        if control.setting is not None:
            self._guard(self.set, **{control.setting: value})
        else:
            setattr(self, control.view, value)
            self._guard(self.redraw)

    def _toggle_play(self):
        self.pause() if self.playing else self.play()

    def _sync_play_button(self):
        b = self.controls.get("play") if hasattr(self, "controls") else None
        if b is not None:
            ctl.set_icon(b, "pause" if self.playing else "play")

    def _change_layers(self, delta):
        hidden = list(self.core.hidden)
        if delta > 0 and len(hidden) < MAX_LAYERS:
            hidden.append(2)
        elif delta < 0 and hidden:
            hidden.pop()
        else:
            return
        self.set(hidden=hidden)

    def _change_neurons(self, layer, delta):
        hidden = list(self.core.hidden)
        units = hidden[layer] + delta
        if 1 <= units <= MAX_NEURONS:
            hidden[layer] = units
            self.set(hidden=hidden)

    def _toggle_feature(self, f, on):
        feats = set(self.core.features)
        feats = feats | {f} if on else feats - {f}
        if not feats:
            self._muted = True
            self._feature_buttons[f].value = True
            self._muted = False
            return
        self.set(features=sorted(feats))

    def _add_clicked(self):
        self.add_point(self._pt_x.value, self._pt_y.value, self._pt_label.value)

    def _click_to_data(self, event):
        """Data coordinates of a click on the heatmap image (an ipyevents event dict), or None when
        the click is outside the plot area. The PNG is ``_heat_size`` pixels; the plot area is the
        pixel box ``_heat_box`` covering [-domain, domain]^2 (the rest is the axes' margins)."""
        if self._heat_box is None:
            return None
        pw, ph = self._heat_size
        bw, bh = event.get("boundingRectWidth"), event.get("boundingRectHeight")
        if bw and bh and event.get("relativeX") is not None and event.get("relativeY") is not None:
            px, py = float(event["relativeX"]) * pw / float(bw), float(event["relativeY"]) * ph / float(bh)
        elif event.get("dataX") is not None and event.get("dataY") is not None:
            px, py = float(event["dataX"]), float(event["dataY"])   # already in PNG pixels
        else:
            return None
        bx0, by0, bx1, by1 = self._heat_box
        if not (bx0 <= px <= bx1 and by0 <= py <= by1):
            return None
        d = self._heat_domain
        x = -d + (px - bx0) * 2 * d / (bx1 - bx0)
        y = d - (py - by0) * 2 * d / (by1 - by0)
        return float(np.clip(x, -d, d)), float(np.clip(y, -d, d))

    def _on_heatmap_click(self, event):
        """ipyevents click on the heatmap: add a training point with the chosen class (or target)."""
        xy = self._click_to_data(event)
        if xy is None:
            return None
        label = self._click_value.value if self.core.num_classes == 0 else self._click_label.value
        self.add_point(xy[0], xy[1], label)
        return xy

    def _clear_points(self):
        with self._lock:
            self.core.clear_points()
        self.redraw()

    # ---------------------------------------------------------------- drawing
    def _update_numbers(self):
        c = self.core
        logs, epoch, k = c.logs, c.epoch, c.num_classes
        self._epoch_label.value = (f"<span style='font-size:13px;color:#777;margin-left:10px'>Epoch</span> "
                                   f"<span style='font-size:22px'>{format(epoch, '07,d')}</span>")
        parts = [f"Test loss <b>{logs['val_loss']:.3f}</b>",
                 f"Training loss <b>{logs['loss']:.3f}</b>"]
        if k:
            parts.append(f"Accuracy <b>{logs['accuracy']:.1%}</b> train / <b>{logs['val_accuracy']:.1%}</b> test")
        self._numbers.value = "<div style='font-size:12px;line-height:16px'>" + "<br>".join(parts) + "</div>"

    def redraw(self):
        """Recompute the grid and redraw every picture (heatmap, thumbnails, links, chart)."""
        with self._lock:
            c = self.core
            grid = c.grid()
            weights = c.weights()
            hist = (list(c.history["epoch"]), list(c.history["loss"]), list(c.history["val_loss"]))
            X_train, y_train, X_test, y_test = c.X_train, c.y_train, c.X_test, c.y_test
            epoch, domain, k, n_added = c.epoch, c.domain, c.num_classes, c.n_added
            features = list(ds.FEATURE_NAMES) if self._shown("features") else list(c.features)
            active = [f in c.features for f in features]
            self._update_numbers()
        self._points_label.value = (f"<span style='font-size:12px;color:#555'>{len(X_train)} training points"
                                    f" ({n_added} added)</span>")
        # big heatmap: the output, or the node chosen in "Big map"
        if self.view.startswith("in:"):
            values = grid["inputs"][int(self.view[3:])]
        elif self.view.startswith("h:"):
            _, l, j = self.view.split(":")
            values = grid["hidden"][int(l)][int(j)]
        else:
            values = grid["output"]
        points = [(X_train, render.point_colours(y_train, k), (255, 255, 255))]
        if self.show_test_data and len(X_test):
            points.append((X_test, render.point_colours(y_test, k), (0, 0, 0)))
        self._heat_size, self._heat_box = render.heatmap_geometry(domain)
        self._heat_domain = domain
        self._heatmap.value = render.heatmap_png(render.map_rgb(values, self.discretize), domain, points)
        # the loss chart, at most a few times a second while playing
        now = time.perf_counter()
        if not self.playing or now - self._loss_drawn >= 0.5 or threading.current_thread() is not self._thread:
            self._loss_drawn = now
            self._loss_img.value = render.loss_chart_png(*hist)
            self._loss_caption.value = render.loss_caption(*hist)
        bx0, by0, bx1, by1 = self._heat_box
        self._network.value = render.network_svg(grid, weights, features, active, epoch, (by0 + by1) / 2,
                                                 self.discretize)
        self.redraws += 1
