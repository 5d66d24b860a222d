"""``ProgbarLogger``: prints fit's progress (added automatically when verbose is not 0)."""
import sys

from ..progbar import Progbar
from .callback import Callback


class ProgbarLogger(Callback):
    """verbose=1: a live bar per epoch; verbose=2: one line per epoch."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs")
        sys.stdout.write(f"Epoch {epoch + 1}/{epochs}\n")
        sys.stdout.flush()
        self._bar = Progbar(self.params.get("steps"), verbose=self.verbose)

    def progress(self, batch, logs_fn):
        """Called by fit after each batch; ``logs_fn()`` is only evaluated when the bar redraws."""
        if self.verbose == 1:
            self._bar.update(batch + 1, logs_fn)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self.params.get("steps"), logs, finalize=True)
