"""``LivePlot``: learning curves redrawn in the notebook after every epoch (no TensorBoard needed).

One panel per quantity (loss, then each metric), the training curve and, when there is
validation data, the validation curve. In Jupyter the picture is replaced in place (the
progress bar stays); elsewhere nothing is shown, but ``figure`` holds the plot and
``path=`` saves it after each redraw. matplotlib is imported only when the first epoch ends.
"""
from .callback import Callback
from .monitor_callback import to_float


class LivePlot(Callback):
    """``metrics``: names to plot (default: every logged quantity); ``every``: redraw every N epochs."""

    def __init__(self, metrics=None, every=1, figsize=None, path=None):
        super().__init__()
        self.metrics = list(metrics) if metrics else None
        self.every = max(int(every), 1)
        self.figsize = figsize
        self.path = path
        self.history = {}
        self.figure = None
        self._handle = None

    def on_train_begin(self, logs=None):
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(to_float(value))
        if (epoch + 1) % self.every == 0:
            self.redraw()

    def on_train_end(self, logs=None):
        if self.history and len(next(iter(self.history.values()))) % self.every:
            self.redraw()

    def _names(self):
        names = self.metrics or [k for k in self.history if not k.startswith("val_") and k != "learning_rate"]
        return [n for n in names if n in self.history or f"val_{n}" in self.history]

    def redraw(self):
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
        names = self._names()
        if not names:
            return
        fig = Figure(figsize=self.figsize or (4.2 * len(names), 3.2), layout="constrained")
        for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names):
            for key, label, style in ((name, "train", "-o"), (f"val_{name}", "validation", "-s")):
                if key in self.history:
                    values = self.history[key]
                    ax.plot(range(1, len(values) + 1), values, style, markersize=3, label=label)
            ax.set_title(name)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
            ax.legend()
        self.figure = fig
        if self.path:
            fig.savefig(self.path)
        self._show(fig)

    def _show(self, fig):
        try:
            from IPython import get_ipython
            from IPython.display import Image, display
        except ImportError:
            return
        if get_ipython() is None:
            return
        import io
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        image = Image(data=buffer.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)
