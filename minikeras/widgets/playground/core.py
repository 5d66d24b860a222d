"""The playground's data, model and training: everything but the pixels, and no ipywidgets.

:class:`PlaygroundCore` makes the points (the web app's six generators with their noise
rules, multi-class sets, your own NumPy data and points you add), turns them into the seven
input features, builds a ``keras.Sequential`` from a :class:`PlaygroundConfig`, trains one
epoch at a time in the web app's fixed batch order, scores train and test sets, and computes
the grid of predictions behind the output heatmap and every neuron's thumbnail.

It is not thread-safe by itself: the widget holds one lock around every call into it.
"""
import json

import numpy as np

from .. import _datasets as ds
from .config import CUSTOM, PlaygroundConfig, check_hidden, clean_noise


_SETTINGS = frozenset(PlaygroundConfig.names())


class PlaygroundCore:
    """Data, model and training of the playground, without any widget.

    Keyword arguments are the settings of :class:`PlaygroundConfig` (``dataset="spiral"``,
    ``hidden=[8, 8]``, ``seed=1``, ...), or a whole ``config=``. ``X`` (n, 2) with labels ``y``
    trains on your own data: integer or string labels are classes, non-integer floats make
    it a regression. ``grid`` is the side of the heatmap grid (100 as in the web app).
    """

    clean_noise = staticmethod(clean_noise)
    check_hidden = staticmethod(check_hidden)

    def __init__(self, X=None, y=None, *, config=None, grid=100, **settings):
        self.grid_size = int(grid)
        self.epoch = 0
        self.history = {"epoch": [], "loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}
        self._data_version = 0
        self._reset_count = 0
        self._user_points = ([], [])   # points added with add_point: kept through regenerations
        self._grid_features = None
        self.custom = X is not None
        base = config if config is not None else PlaygroundConfig()
        if self.custom:
            if y is None:
                raise ValueError("Pass labels `y` together with your points `X`.")
            X = np.asarray(getattr(X, "values", X), dtype=np.float64)
            y = np.asarray(getattr(y, "values", y)).reshape(-1)
            if X.ndim != 2 or X.shape[1] != 2:
                raise ValueError(f"Your points X must have shape (n, 2); got {X.shape}.")
            if len(X) != len(y):
                raise ValueError(f"X has {len(X)} points but y has {len(y)} labels.")
            problem = settings.get("problem", base.problem)
            if problem == "classification" and y.dtype.kind == "f" and not np.all(y == np.round(y)):
                problem = "regression"
            self._custom_data = (X, y)
            settings.update(problem=problem, dataset=CUSTOM)
        elif settings.get("dataset", base.dataset) == CUSTOM:
            raise ValueError("A state made with your own data needs that data: pass X=, y= too.")
        self.config = base.update(**settings)
        self.generate_data()
        self.build_model()

    # ---------------------------------------------------------------- configuration
    def __getattr__(self, name):
        # the settings read as attributes: core.dataset, core.hidden, core.learning_rate, ...
        config = self.__dict__.get("config")
        if config is not None and name in _SETTINGS:
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def set(self, **changes):
        """Change settings the way the web app does: data settings regenerate the data and reset
        the network, network settings reset it, the learning rate and the optimizer change live,
        and a new seed replays the run from its start. Returns "data", "reset", "live" or None."""
        old = self.config
        new = old.update(**changes)
        effect = PlaygroundConfig.effect(new.changed(old))
        self.config = new
        if effect == "seed":
            self._data_version, self._reset_count = 0, -1
            self.generate_data()
            self.reset()
            return "data"
        if effect == "data":
            self._data_version += 1
            self.generate_data()
            self.reset()
        elif effect == "reset":
            self.reset()
        elif effect == "live":
            if new.optimizer != old.optimizer:
                self._compile()
            if new.learning_rate != old.learning_rate:
                self.model.optimizer.learning_rate.assign(new.learning_rate)
        return effect

    # ---------------------------------------------------------------- data
    @property
    def domain(self):
        """Half-width of the square input plane drawn: 6 as in the web app, wider for your data."""
        if not self.custom and not self._user_points[0]:
            return 6.0
        pts = np.concatenate([self.X_train, self.X_test]) if len(self.X_test) else self.X_train
        return float(max(6.0 if not self.custom else 0.0, np.ceil(np.abs(pts).max() * 1.1 * 2) / 2, 1.0))

    @property
    def num_classes(self):
        """0 for regression, else the number of classes."""
        if self.problem == "regression":
            return 0
        if self.custom:
            return max(2, len(self._class_values))
        return self.n_classes_setting if self.dataset in ("blobs", "rings", "spiral") else 2

    @property
    def n_classes_setting(self):
        """The ``classes`` setting, or its default: 2 (the web app's sets), 3 for blobs and rings."""
        if self.classes is not None:
            return self.classes
        return 3 if self.dataset in ("blobs", "rings") else 2

    def _data_rng(self):
        return np.random.default_rng([self.seed, self._data_version])

    def generate_data(self):
        """(Re)make the points from the seed and the data settings, shuffle once and split."""
        rng = self._data_rng()
        if self.custom:
            X, y = self._custom_data
            if self.problem == "classification":
                self._class_values = np.unique(y)
                y = np.searchsorted(self._class_values, y)
                if len(self._class_values) <= 2:
                    y = np.where(y == len(self._class_values) - 1, 1.0, -1.0)
            y = y.astype(np.float64 if self.problem == "regression" or self.num_classes == 2 else np.int64)
        else:
            n = self.n_samples or (ds.N_REGRESSION if self.problem == "regression" else ds.N_CLASSIFICATION)
            classes = self.n_classes_setting if self.dataset in ("blobs", "rings", "spiral") else 2
            X, y = ds.generate(self.dataset, n, self.noise / 100.0, rng, classes=classes)
            if self.num_classes == 2 and y.dtype.kind in "iu":
                y = np.where(y == 1, 1.0, -1.0)     # two classes are always +1 (blue) / -1 (orange)
        self.X_train, self.y_train, self.X_test, self.y_test = ds.shuffle_split(X, y, self.train_ratio / 100, rng)
        if self._user_points[0]:
            self.X_train = np.concatenate([self.X_train, np.array(self._user_points[0])])
            self.y_train = np.concatenate([self.y_train, np.array(self._user_points[1], self.y_train.dtype)])
        self._grid_features = None

    def regenerate(self):
        """New data from the next seed of the stream; the network is *not* reset (web: Regenerate)."""
        self._data_version += 1
        self.generate_data()
        self._record_losses(append=False)

    def add_point(self, x, y, label):
        """Add one training point (a click on the plot). ``label``: +1/-1 (two classes), a class
        index (more classes) or a float target (regression). Kept through regenerations."""
        if self.problem == "classification":
            k = self.num_classes
            if k == 2:
                label = 1.0 if float(label) > 0 else -1.0
            elif not 0 <= int(label) < k:
                raise ValueError(f"label must be a class index in 0..{k - 1}; got {label}.")
        self._user_points[0].append((float(x), float(y)))
        self._user_points[1].append(label)
        self.X_train = np.concatenate([self.X_train, [[float(x), float(y)]]])
        self.y_train = np.concatenate([self.y_train, np.array([label], self.y_train.dtype)])
        self._grid_features = None

    @property
    def n_added(self):
        """How many points ``add_point`` added."""
        return len(self._user_points[0])

    def clear_points(self):
        """Drop the points added with ``add_point``."""
        self._user_points = ([], [])
        self.generate_data()

    def transform(self, points):
        """Raw 2-D points -> the model's input: the active feature columns (float32)."""
        return ds.transform(points, self.features)

    def dataset_arrays(self):
        """The current split as NumPy arrays: (X_train, y_train, X_test, y_test)."""
        return self.X_train.copy(), self.y_train.copy(), self.X_test.copy(), self.y_test.copy()

    # ---------------------------------------------------------------- model
    @property
    def loss_kind(self):
        if self.problem == "regression":
            return "mse"
        if self.loss == "auto":
            return "mse" if self.num_classes == 2 else "crossentropy"
        return self.loss

    def _targets(self, y):
        """Labels as the model trains on them."""
        k = self.num_classes
        if k == 0:
            return y.astype(np.float32).reshape(-1, 1)
        if k == 2:
            if self.loss_kind == "mse":
                return y.astype(np.float32).reshape(-1, 1)           # +1 / -1 on a tanh output
            return (y > 0).astype(np.float32).reshape(-1, 1)          # 1 / 0 on a sigmoid output
        if self.loss_kind == "mse":
            return np.eye(k, dtype=np.float32)[y.astype(int)]       # one-hot on softmax
        return y.astype(np.int64)

    def build_model(self):
        """A fresh ``keras.Sequential`` with the current shape and seeded initial weights."""
        from ... import backend, initializers, layers, regularizers
        from ...models import Sequential
        from ...layers import Input
        rng = np.random.default_rng([self.seed, 10_000 + self._reset_count])
        if self.dropout > 0:
            backend.set_random_seed(int(rng.integers(2 ** 31)))   # dropout masks come from the global stream

        def kernel_init():
            s = int(rng.integers(2 ** 31))
            if self.init == "uniform":
                return initializers.RandomUniform(-0.5, 0.5, seed=s)
            if self.init == "zeros":
                return initializers.Zeros()
            if self.init == "glorot_uniform":
                return initializers.GlorotUniform(seed=s)
            return initializers.HeUniform(seed=s)

        bias = 0.1 if self.init == "uniform" else 0.0

        def reg():
            if self.regularization is None or self.regularization_rate == 0:
                return None
            return (regularizers.L1 if self.regularization == "l1" else regularizers.L2)(self.regularization_rate)

        stack = [Input(shape=(len(self.features),))]
        for i, units in enumerate(self.hidden):
            stack.append(layers.Dense(units, activation=self.activation, kernel_initializer=kernel_init(),
                                      bias_initializer=initializers.Constant(bias), kernel_regularizer=reg(),
                                      name=f"hidden_{i + 1}"))
            if self.dropout > 0:
                stack.append(layers.Dropout(self.dropout, name=f"dropout_{i + 1}"))
        k = self.num_classes
        if k == 0:
            units, act = 1, "linear"
        elif k == 2:
            units, act = 1, ("tanh" if self.loss_kind == "mse" else "sigmoid")
        else:
            units, act = k, "softmax"
        stack.append(layers.Dense(units, activation=act, kernel_initializer=kernel_init(),
                                  bias_initializer=initializers.Constant(bias), kernel_regularizer=reg(),
                                  name="output"))
        self.model = Sequential(stack, name="playground")
        self._compile()
        self._dense = [l for l in self.model.layers if type(l).__name__ == "Dense"]
        self._record_losses(append=True)
        return self.model

    def _make_optimizer(self):
        from ... import optimizers
        lr, name = self.learning_rate, self.optimizer
        if name == "sgd":
            return optimizers.SGD(learning_rate=lr)
        if name in ("momentum", "nesterov"):
            return optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=name == "nesterov")
        if name == "rmsprop":
            return optimizers.RMSprop(learning_rate=lr)
        return optimizers.Adam(learning_rate=lr)

    def _compile(self):
        k = self.num_classes
        if self.loss_kind == "mse":
            loss = "mse"
        else:
            loss = "binary_crossentropy" if k == 2 else "sparse_categorical_crossentropy"
        self.model.compile(optimizer=self._make_optimizer(), loss=loss)

    def reset(self):
        """A new network with fresh weights, seeded from (seed, number of resets) so a run can be
        replayed; the data stays, the loss chart is cleared and the epoch goes back to 0."""
        self._reset_count += 1
        self.epoch = 0
        for v in self.history.values():
            v.clear()
        self.build_model()

    # ---------------------------------------------------------------- training
    def _batches(self):
        n, bs = len(self.X_train), self.batch_size
        for start in range(0, n, bs):
            yield slice(start, start + bs)

    def train_epoch(self):
        """One pass over the training set in its fixed order, one update per ``batch_size`` points
        (a smaller last batch), then the losses on the whole train and test sets."""
        Xf = self.transform(self.X_train)
        t = self._targets(self.y_train)
        with np.errstate(all="ignore"):
            for sl in self._batches():
                self.model.train_on_batch(Xf[sl], t[sl])
        self.epoch += 1
        return self._record_losses(append=True)

    def train(self, epochs=1):
        for _ in range(int(epochs)):
            logs = self.train_epoch()
        return logs

    def predict(self, points):
        """The model's output on raw 2-D points."""
        return self.model.predict(self.transform(points), verbose=0)

    def _output(self, Xf):
        with np.errstate(all="ignore"):
            return np.asarray(self.model.predict_on_batch(Xf), dtype=np.float64)

    def _scores(self, X, y):
        if len(X) == 0:
            return float("nan"), float("nan")
        out = self._output(self.transform(X))
        k = self.num_classes
        with np.errstate(all="ignore"):
            if self.loss_kind == "mse":
                t = self._targets(y)
                loss = float(np.mean(0.5 * np.sum((out - t) ** 2, axis=1)))   # the web app's 1/2 (o - t)^2
            elif k == 2:
                p = np.clip(out[:, 0], 1e-7, 1 - 1e-7)
                t = (y > 0).astype(float)
                loss = float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
            else:
                p = np.clip(out[np.arange(len(y)), y.astype(int)], 1e-7, 1)
                loss = float(-np.mean(np.log(p)))
            if k == 0:
                acc = float("nan")
            elif k == 2:
                thr = 0.0 if self.loss_kind == "mse" else 0.5
                acc = float(np.mean((out[:, 0] >= thr) == (y > 0)))
            else:
                acc = float(np.mean(np.argmax(out, axis=1) == y.astype(int)))
        return loss, acc

    def _record_losses(self, append=True):
        loss, acc = self._scores(self.X_train, self.y_train)
        val_loss, val_acc = self._scores(self.X_test, self.y_test)
        logs = {"epoch": self.epoch, "loss": loss, "val_loss": val_loss, "accuracy": acc, "val_accuracy": val_acc}
        self.logs = logs
        if append:
            for k, v in logs.items():
                self.history[k].append(v)
        return logs

    # ---------------------------------------------------------------- the grid
    def grid_points(self):
        """The (G*G, 2) points of the heatmap grid, row 0 at the top (y = +domain)."""
        d, g = self.domain, self.grid_size
        xs = np.linspace(-d, d, g)
        gx, gy = np.meshgrid(xs, xs[::-1])
        return np.stack([gx.ravel(), gy.ravel()], axis=1)

    def grid(self):
        """One forward pass over the grid: {'output': (G, G) value in [-1, 1] terms (two classes,
        regression) or (G, G, k) probabilities, 'raw': the model's own output (G*G, units),
        'inputs': (n_features, G, G), 'hidden': [ (units, G, G) per hidden layer ]}."""
        from ... import backend
        from ...autodiff import no_grad
        g = self.grid_size
        if self._grid_features is None or self._grid_features[0] != (self.features, self.domain):
            self._grid_features = ((self.features, self.domain), self.transform(self.grid_points()))
        h = self._grid_features[1]
        hidden = []
        with no_grad(), np.errstate(all="ignore"):
            for layer in self.model.layers:
                out = layer(h, training=False)
                h = backend.to_numpy(getattr(out, "value", out))   # a Tensor's array, or the array
                if type(layer).__name__ == "Dense" and layer.name != "output":
                    hidden.append(h.T.reshape(-1, g, g).astype(np.float64))
        raw = np.asarray(h, dtype=np.float64)
        k = self.num_classes
        if k == 0 or (k == 2 and self.loss_kind == "mse"):
            out = raw[:, 0].reshape(g, g)
        elif k == 2:
            out = (2 * raw[:, 0] - 1).reshape(g, g)
        else:
            out = raw.reshape(g, g, k)
        inputs = self._grid_features[1].T.reshape(-1, g, g).astype(np.float64)
        return {"output": out, "raw": raw, "inputs": inputs, "hidden": hidden}

    # ---------------------------------------------------------------- weights
    def weights(self):
        """[(kernel, bias)] per Dense layer, NumPy copies."""
        from ... import backend
        return [(backend.to_numpy(l.kernel.value).copy(), backend.to_numpy(l.bias.value).copy())
                for l in self._dense]

    def set_weight(self, layer, i, j, value):
        """Set the weight from node ``i`` of the layer before to node ``j`` of Dense layer
        ``layer`` (0-based; the output layer is the last) - the web app's weight edit box."""
        from ... import backend
        w = self._dense[layer].kernel
        new = backend.to_numpy(w.value).copy()
        new[i, j] = value
        w.assign(new)

    def set_bias(self, layer, j, value):
        from ... import backend
        b = self._dense[layer].bias
        new = backend.to_numpy(b.value).copy()
        new[j] = value
        b.assign(new)

    # ---------------------------------------------------------------- state
    @property
    def state(self):
        """A JSON-able dict that reproduces this run (the web app's URL hash)."""
        return self.config.to_state()

    @classmethod
    def from_state(cls, state, **kw):
        """The run a ``state`` describes; a state made with your own data needs ``X=, y=`` again."""
        state = json.loads(state) if isinstance(state, str) else dict(state)
        if state.get("dataset") == CUSTOM and "X" not in kw:
            raise ValueError("A state made with your own data needs that data: pass X=, y= too.")
        if state.get("dataset") == CUSTOM:
            state.pop("dataset")
        state.update(kw)
        return cls(**state)
