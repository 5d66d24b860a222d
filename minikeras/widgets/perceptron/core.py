"""Rosenblatt's perceptron rule, one sample at a time: the stepper's state without any widget.

``PerceptronTrainer`` holds the weights, the bias, which sample comes next and the counters,
and applies the rule with ``step()``. The rule, for a sample ``x`` with target ``y`` in {0, 1}::

    y_hat = heaviside(w . x + b)          # heaviside(0) = 1
    w <- w + eta * (y - y_hat) * x
    b <- b + eta * (y - y_hat)

so nothing changes when the prediction is right.
"""
import numpy as np

from .config import PerceptronConfig

__all__ = ["PerceptronTrainer", "heaviside"]


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

    def __init__(self, X, y, learning_rate=1.0, weights=None, bias=0.0, shuffle=True, seed=0, *, config=None):
        if config is None:
            config = PerceptronConfig(learning_rate=learning_rate, weights=weights, bias=bias, shuffle=shuffle,
                                      seed=seed)
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
        self.config = config
        self.reset()

    # the settings read as attributes; the learning rate may change between steps
    shuffle = property(lambda self: self.config.shuffle)
    seed = property(lambda self: self.config.seed)

    @property
    def learning_rate(self):
        return self.config.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.config = self.config.update(learning_rate=value)

    @property
    def state(self):
        """A JSON-able dict of the settings; ``PerceptronTrainer.from_state(X, y, state)`` starts over."""
        return self.config.to_state()

    @classmethod
    def from_state(cls, X, y, state):
        return cls(X, y, config=PerceptronConfig.from_state(state))

    # ------------------------------------------------------------------ state
    def reset(self):
        """Back to the starting weights, epoch 0, first sample."""
        self._rng = np.random.default_rng(self.seed)
        start = self.config.weights
        if start is None:
            self.w = self._rng.normal(0.0, 0.5, size=self.X.shape[1])
        else:
            if len(start) != self.X.shape[1]:
                raise ValueError(f"weights must have shape ({self.X.shape[1]},), got ({len(start)},).")
            self.w = np.array(start, dtype=float)
        self.b = self.config.bias
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
