"""Step through Rosenblatt's perceptron rule and watch the decision line move.

Two parts, so that the logic can be tested without a browser:

- ``PerceptronTrainer`` holds the state (weights, bias, which sample comes next, counters)
  and applies the rule one sample at a time with ``step()``;
- ``PerceptronWidget`` wraps a trainer in ipywidgets controls (Step, Epoch, Play, Reset and
  a learning-rate slider) and redraws a matplotlib figure after every change.

The rule, for a sample ``x`` with target ``y`` in {0, 1}::

    y_hat = heaviside(w . x + b)          # heaviside(0) = 1
    w <- w + eta * (y - y_hat) * x
    b <- b + eta * (y - y_hat)

so nothing changes when the prediction is right.
"""
import numpy as np

__all__ = ["PerceptronTrainer", "PerceptronWidget", "heaviside"]


def heaviside(z):
    """1 where ``z >= 0``, else 0 (as integers)."""
    return (np.asarray(z) >= 0).astype(int)


class PerceptronTrainer:
    """The perceptron learning rule applied one sample at a time.

    Args:
        X: (n, d) features. ``decision_line`` needs d == 2.
        y: (n,) targets, 0 or 1 (booleans are accepted).
        learning_rate: eta in the update; may be changed between steps.
        weights, bias: the starting point. ``weights=None`` draws small random weights
            from ``seed`` (with all-zero weights the learning rate would only rescale w and
            b, and the line would jump straight to wherever the first mistake puts it).
        shuffle: visit the samples in a fresh random order every epoch.
        seed: seeds the starting weights and the visiting order.
    """

    def __init__(self, X, y, learning_rate=1.0, weights=None, bias=0.0, shuffle=True, seed=0):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array (samples, features), got shape {X.shape}.")
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},) to match X, got {y.shape}.")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y must hold only 0 and 1 (the two classes).")
        if len(X) == 0:
            raise ValueError("X is empty.")
        self.X = X
        self.y = y.astype(int)
        self.learning_rate = float(learning_rate)
        self.shuffle = shuffle
        self.seed = seed
        self._init_weights = None if weights is None else np.asarray(weights, dtype=float).copy()
        self._init_bias = float(bias)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self):
        """Back to the starting weights, epoch 0, first sample."""
        self._rng = np.random.default_rng(self.seed)
        if self._init_weights is None:
            self.w = self._rng.normal(0.0, 0.5, size=self.X.shape[1])
        else:
            if self._init_weights.shape != (self.X.shape[1],):
                raise ValueError(f"weights must have shape ({self.X.shape[1]},), "
                                 f"got {self._init_weights.shape}.")
            self.w = self._init_weights.copy()
        self.b = self._init_bias
        self.epoch = 0              # completed passes over the data
        self.position = 0           # index into the current epoch's order
        self.steps = 0              # samples looked at
        self.updates = 0            # samples that changed the weights
        self.mistakes_per_epoch = []  # updates made during each completed epoch
        self._mistakes_this_epoch = 0
        self.last = None            # what the latest step did
        self._new_order()

    def _new_order(self):
        n = len(self.X)
        self.order = self._rng.permutation(n) if self.shuffle else np.arange(n)

    @property
    def next_index(self):
        """Row of X that the next ``step()`` will look at."""
        return int(self.order[self.position])

    # ------------------------------------------------------------------ the model
    def net_input(self, X):
        return np.asarray(X, dtype=float) @ self.w + self.b

    def predict(self, X):
        return heaviside(self.net_input(X))

    def n_errors(self):
        """Training samples the current weights misclassify."""
        return int((self.predict(self.X) != self.y).sum())

    def accuracy(self):
        return 1.0 - self.n_errors() / len(self.X)

    @property
    def converged(self):
        """True when every training sample is classified correctly."""
        return self.n_errors() == 0

    # ------------------------------------------------------------------ learning
    def step(self):
        """Apply the rule to the next sample; returns a dict describing what happened."""
        i = self.next_index
        x, target = self.X[i], int(self.y[i])
        predicted = int(heaviside(x @ self.w + self.b))
        error = target - predicted
        if error:
            self.w = self.w + self.learning_rate * error * x
            self.b = self.b + self.learning_rate * error
            self.updates += 1
            self._mistakes_this_epoch += 1
        self.steps += 1
        self.position += 1
        if self.position == len(self.X):
            self.mistakes_per_epoch.append(self._mistakes_this_epoch)
            self._mistakes_this_epoch = 0
            self.epoch += 1
            self.position = 0
            self._new_order()
        self.last = {"index": i, "target": target, "predicted": predicted, "updated": bool(error),
                     "weights": self.w.copy(), "bias": self.b}
        return self.last

    def run_epoch(self):
        """Steps until the current epoch is finished; returns the updates it made."""
        start = self.epoch
        before = self.updates
        while self.epoch == start:
            self.step()
        return self.updates - before

    def fit(self, max_epochs=100):
        """Whole epochs until one makes no update (converged) or ``max_epochs`` pass.

        Returns the number of epochs run in this call.
        """
        for done in range(1, max_epochs + 1):
            if self.run_epoch() == 0:
                return done
        return max_epochs

    # ------------------------------------------------------------------ geometry
    def decision_line(self, xlim):
        """Points ``(xs, ys)`` of the line w . x + b = 0 across ``xlim`` (2-D data only).

        Returns None when the line is vertical or undefined (w[1] == 0); use
        ``vertical_line()`` then.
        """
        if self.X.shape[1] != 2:
            raise ValueError("decision_line needs exactly two features.")
        w1, w2 = self.w
        if abs(w2) < 1e-12:
            return None
        xs = np.linspace(xlim[0], xlim[1], 2)
        return xs, -(w1 * xs + self.b) / w2

    def vertical_line(self):
        """x-position of the boundary when it is vertical, else None."""
        w1, w2 = self.w
        if abs(w2) < 1e-12 and abs(w1) > 1e-12:
            return -self.b / w1
        return None


class PerceptronWidget:
    """ipywidgets front end for a ``PerceptronTrainer`` on 2-D data.

    ``display(PerceptronWidget(X, y))`` in a notebook shows the buttons, a learning-rate
    slider and the plot. The callbacks (``on_step``, ``on_epoch``, ``on_reset``,
    ``on_tick``) are ordinary methods, so they can be driven from code as well.
    """

    def __init__(self, X, y, learning_rate=1.0, feature_names=("x1", "x2"),
                 class_names=("class 0", "class 1"), interval_ms=300, seed=0, **trainer_kwargs):
        import ipywidgets as widgets

        self.trainer = PerceptronTrainer(X, y, learning_rate=learning_rate, seed=seed, **trainer_kwargs)
        self.feature_names = feature_names
        self.class_names = class_names
        pad = 0.1 * (self.trainer.X.max(axis=0) - self.trainer.X.min(axis=0) + 1e-9)
        self.xlim = (self.trainer.X[:, 0].min() - pad[0], self.trainer.X[:, 0].max() + pad[0])
        self.ylim = (self.trainer.X[:, 1].min() - pad[1], self.trainer.X[:, 1].max() + pad[1])

        self.step_button = widgets.Button(description="Step", tooltip="apply the rule to one sample")
        self.epoch_button = widgets.Button(description="Epoch", tooltip="one full pass over the data")
        self.reset_button = widgets.Button(description="Reset", tooltip="back to the starting weights")
        self.play = widgets.Play(value=0, min=0, max=10**6, step=1, interval=interval_ms,
                                 description="Play", show_repeat=False)
        self.lr_slider = widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=1, step=0.1,
                                                description="learning rate", readout_format=".3f",
                                                continuous_update=False)
        self.status = widgets.HTML()
        self.output = widgets.Output()

        self.step_button.on_click(self.on_step)
        self.epoch_button.on_click(self.on_epoch)
        self.reset_button.on_click(self.on_reset)
        self.play.observe(self.on_tick, names="value")
        self.lr_slider.observe(self.on_learning_rate, names="value")

        controls = widgets.HBox([self.step_button, self.epoch_button, self.play, self.reset_button])
        self.box = widgets.VBox([controls, self.lr_slider, self.status, self.output])
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
        self.trainer.learning_rate = float(change["new"])
        self.redraw()

    # ------------------------------------------------------------------ drawing
    def status_text(self):
        t = self.trainer
        w = ", ".join(f"{v:+.3f}" for v in t.w)
        text = (f"epoch {t.epoch}, step {t.steps}, updates {t.updates} &mdash; "
                f"w = [{w}], b = {t.b:+.3f} &mdash; {t.n_errors()} of {len(t.X)} misclassified")
        if t.last is not None:
            verdict = "wrong, weights updated" if t.last["updated"] else "right, no change"
            text += f"<br>last sample #{t.last['index']}: target {t.last['target']}, " \
                    f"predicted {t.last['predicted']} ({verdict})"
        if t.converged:
            text += "<br><b>every training sample is on the right side: converged</b>"
        return text

    def figure(self):
        """A matplotlib figure of the data, the current line and the last sample."""
        import matplotlib.pyplot as plt

        t = self.trainer
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        wrong = t.predict(t.X) != t.y
        for label, marker, color in ((0, "o", "tab:blue"), (1, "s", "tab:orange")):
            mask = t.y == label
            ax.scatter(t.X[mask, 0], t.X[mask, 1], s=18, marker=marker, color=color, alpha=0.6,
                       label=self.class_names[label])
        if wrong.any():
            ax.scatter(t.X[wrong, 0], t.X[wrong, 1], s=60, facecolors="none", edgecolors="red",
                       linewidths=1.2, label="misclassified")
        line = t.decision_line(self.xlim)
        if line is not None:
            ax.plot(*line, color="black", lw=2, label="decision line")
        elif t.vertical_line() is not None:
            ax.axvline(t.vertical_line(), color="black", lw=2, label="decision line")
        if t.last is not None:
            x = t.X[t.last["index"]]
            ax.scatter([x[0]], [x[1]], s=180, marker="*", color="red" if t.last["updated"] else "green",
                       zorder=5, label="last sample")
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_xlabel(self.feature_names[0])
        ax.set_ylabel(self.feature_names[1])
        ax.set_title(f"epoch {t.epoch}, {t.updates} updates")
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        return fig

    def redraw(self):
        import matplotlib.pyplot as plt
        from IPython.display import clear_output, display

        self.status.value = self.status_text()
        with self.output:
            clear_output(wait=True)
            fig = self.figure()
            display(fig)
            plt.close(fig)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.box)
