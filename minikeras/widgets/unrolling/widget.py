"""``UnrollingWidget``: step through a sequence and watch a recurrent layer work.

Controls: Play / Back / Step / Reset and a step slider move through time; the sequence
menu picks another input; the recurrent weight scale and the activation change the cell
(on a copy of the weights: a trained model is never modified) and the gradient band shows
at once whether backpropagation through time lets the gradient vanish or explode.
"""
from . import controls, render
from .core import UnrollingCore


class UnrollingWidget:
    """The explorer in Jupyter. Arguments as ``UnrollingCore`` (``sequences``, ``model=``,
    ``layer=``, or ``cell``/``units``/``activation``/``seed`` for fresh weights)."""

    def __init__(self, sequences, *, interval_ms=500, **kwargs):
        import ipywidgets as widgets

        self.core = UnrollingCore(sequences, **kwargs)
        c = controls.build(self.core, interval_ms)
        self.play, self.step_slider, self.sequence = c.play, c.step_slider, c.sequence
        self.scale, self.activation = c.scale, c.activation
        self.graph = widgets.HTML()
        self.graph.add_class("mk-unroll-graph")
        self.plot = widgets.Image(format="png")
        self.plot.add_class("mk-unroll-plot")
        self.status = widgets.HTML()
        self.status.add_class("mk-unroll-status")
        c.step_button.on_click(lambda _: self.on_step())
        c.back_button.on_click(lambda _: self.on_back())
        c.reset_button.on_click(lambda _: self.on_reset())
        self.play.observe(self._on_tick, names="value")
        self.step_slider.observe(lambda ch: self._goto(ch["new"]), names="value")
        self.sequence.observe(lambda ch: self._select(ch["new"]), names="value")
        self.scale.observe(lambda ch: self._set(recurrent_scale=ch["new"]), names="value")
        self.activation.observe(lambda ch: self._set(activation=ch["new"]), names="value")
        buttons = widgets.HBox([self.play, c.back_button, c.step_button, c.reset_button, self.step_slider])
        settings = widgets.HBox([self.sequence, self.scale, self.activation])
        self.box = widgets.VBox([buttons, settings, self.status, self.graph, self.plot])
        self.box.add_class("mk-unroll")
        self.redraw()

    # -- actions
    def on_step(self):
        self._goto(self.core.t + 1)

    def on_back(self):
        self._goto(self.core.t - 1)

    def goto(self, t):
        """Jump to step ``t`` (one redraw, however far)."""
        self._goto(t)
        return self.core.t

    def on_reset(self):
        self.play.playing = False
        self._goto(0)

    def _on_tick(self, change):
        if self.core.at_end:
            self.play.playing = False
            return
        self.on_step()
        if self.core.at_end:
            self.play.playing = False

    def _goto(self, t):
        before = self.core.t
        self.core.goto(t)
        if self.step_slider.value != self.core.t:
            self.step_slider.value = self.core.t     # re-enters _goto once, with nothing to do
        if self.core.t != before or not self.graph.value:
            self.redraw()

    def _select(self, index):
        self.core.select(index)
        self.step_slider.max = self.core.T
        self.step_slider.value = 0
        self.redraw()

    def _set(self, **kw):
        self.core.set(**kw)
        self.redraw()

    def redraw(self):
        # the graph last: once it shows step t, the status line and the plot already do
        self.status.value = render.status_html(self.core)
        self.plot.value = render.figure_png(self.core)
        self.graph.value = render.graph_svg(self.core)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.box)
