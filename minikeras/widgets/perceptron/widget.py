"""The perceptron stepper's ipywidgets front end: layout and event handlers."""
import ipywidgets as widgets

from . import controls as ctl
from . import render
from .core import PerceptronTrainer


class PerceptronWidget:
    """ipywidgets front end for a ``PerceptronTrainer`` on 2-D data.

    ``display(PerceptronWidget(X, y))`` in a notebook shows the buttons, a learning-rate
    slider and the plot. The callbacks (``on_step``, ``on_epoch``, ``on_reset``,
    ``on_tick``) are ordinary methods, so they can be driven from code as well.
    """

    def __init__(self, X, y, learning_rate=1.0, feature_names=("x1", "x2"),
                 class_names=("class 0", "class 1"), interval_ms=300, seed=0, **trainer_kwargs):
        self.trainer = PerceptronTrainer(X, y, learning_rate=learning_rate, seed=seed, **trainer_kwargs)
        self.feature_names = feature_names
        self.class_names = class_names
        self.interval_ms = interval_ms
        self.xlim, self.ylim = render.plot_limits(self.trainer.X)
        self._syncing = False
        for control in ctl.TABLE:
            setattr(self, control.attribute, ctl.build(control, self))
        self.status = widgets.HTML()
        self.output = widgets.Output()
        rows = [widgets.HBox([getattr(self, ctl.BY_NAME[name].attribute) for name in row]) for row in ctl.ROWS]
        self.box = widgets.VBox(rows + [self.status, self.output])
        self.redraw()

    # ------------------------------------------------------------------ callbacks
    def on_step(self, _button=None):
        self.trainer.step()
        self.redraw()

    def on_epoch(self, _button=None):
        self.trainer.run_epoch()
        self.redraw()

    def on_reset(self, _button=None):
        self.play.playing = False
        self.trainer.reset()
        self.redraw()

    def on_tick(self, change=None):
        """Called by the Play widget at every tick: one step, or stop once converged."""
        if self.trainer.converged:
            self.play.playing = False
            return
        self.on_step()

    def on_learning_rate(self, change):
        if self._syncing:
            return
        self.trainer.learning_rate = float(change["new"])
        self.redraw()

    # ------------------------------------------------------------------ drawing
    def status_text(self):
        return render.status_html(self.trainer)

    def figure(self):
        """A matplotlib figure of the data, the current line and the last sample."""
        return render.figure(self.trainer, self.xlim, self.ylim, self.feature_names, self.class_names)

    def sync_controls(self):
        """Show the trainer's settings on the controls (after code changed them)."""
        self._syncing = True
        try:
            for control in ctl.TABLE:
                ctl.sync(control, getattr(self, control.attribute), self)
        finally:
            self._syncing = False

    def redraw(self):
        from IPython.display import Image, clear_output, display

        self.sync_controls()
        self.status.value = self.status_text()
        png = render.png(self.figure())
        with self.output:
            clear_output(wait=True)
            display(Image(data=png, format="png"))

    def _ipython_display_(self):
        from IPython.display import display
        display(self.box)
