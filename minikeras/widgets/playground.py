"""A TensorFlow-Playground in Jupyter that trains a real minikeras model.

Two classes:

* :class:`PlaygroundCore` - everything but the pixels on screen: data generation (the web
  app's six generators with their noise rules, plus multi-class sets, your own NumPy data
  and points you add), the seven input features, building a ``keras.Sequential`` from the
  chosen shape/activation/regularization/optimizer/dropout, one epoch of training in the
  web app's fixed batch order, the train/test losses and accuracy, and the 100x100 grid of
  predictions for the output heatmap and every neuron's thumbnail. It needs no browser.
* :class:`Playground` - the ipywidgets front end: the controls of the web app, a heatmap
  and a loss chart rendered by matplotlib into PNG ``ipywidgets.Image`` widgets (these
  render in JupyterLab without the ipympl extension), the network drawn as SVG (links
  coloured and sized by weight, neuron thumbnails, hover titles with the values), and
  play/pause running the training in a background thread so the kernel stays free.

``pg.model`` is the live minikeras ``Model``; it takes the *feature* columns as input
(``pg.transform(points)`` makes them from raw 2-D points), and ``pg.predict(points)``
does both steps.
"""
import base64
import io
import json
import threading
import time

import numpy as np

from . import _datasets as ds

MAX_LAYERS = 6
MAX_NEURONS = 8
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REG_RATES = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
EXTRA_ACTIVATIONS = ("elu", "swish", "softplus")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
REGULARIZATIONS = (None, "l1", "l2")
INITS = ("uniform", "zeros", "glorot_uniform", "he_uniform")
LOSSES = ("auto", "mse", "crossentropy")

ORANGE, GREY, BLUE = (0xF5, 0x93, 0x22), (0xE8, 0xEA, 0xEB), (0x08, 0x77, 0xBD)
CLASS_COLOURS = [(0xF5, 0x93, 0x22), (0x08, 0x77, 0xBD), (0x2C, 0xA0, 0x2C), (0x94, 0x67, 0xBD),
                 (0xD6, 0x27, 0x28), (0x8C, 0x56, 0x4B), (0xE3, 0x77, 0xC2), (0x17, 0xBE, 0xCF)]


# --------------------------------------------------------------------------- colours
def colour_map(values, discretize=False, shades=31, alpha=160):
    """The web app's diverging map: orange (-1), light grey (0), blue (+1), clamped, quantized
    to ``shades`` levels and blended over white at ``alpha``/255; NaN shows grey. -> uint8 RGB."""
    v = np.asarray(values, dtype=np.float64)
    nan = ~np.isfinite(v)
    v = np.clip(np.nan_to_num(v, nan=0.0, posinf=1.0, neginf=-1.0), -1, 1)
    if discretize:
        v = np.where(v >= 0, 1.0, -1.0)
    v = np.round((v + 1) / 2 * (shades - 1)) / (shades - 1) * 2 - 1
    o, g, b = (np.array(c, float) for c in (ORANGE, GREY, BLUE))
    t = np.abs(v)[..., None]
    rgb = np.where((v < 0)[..., None], g + (o - g) * t, g + (b - g) * t)
    a = alpha / 255.0
    rgb = rgb * a + 255.0 * (1 - a)
    rgb[nan] = (160, 160, 160)
    return rgb.astype(np.uint8)


def class_colour_map(probs, discretize=False, alpha=160):
    """One colour per class; intensity from how far the top probability is above chance."""
    p = np.asarray(probs, dtype=np.float64)
    k = p.shape[-1]
    nan = ~np.all(np.isfinite(p), axis=-1)
    p = np.nan_to_num(p)
    top = np.argmax(p, axis=-1)
    strength = np.ones(top.shape) if discretize else np.clip((p.max(-1) - 1.0 / k) / (1 - 1.0 / k), 0, 1)
    palette = np.array([CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(k)], float)
    g = np.array(GREY, float)
    rgb = g + (palette[top] - g) * strength[..., None]
    a = alpha / 255.0
    rgb = rgb * a + 255.0 * (1 - a)
    rgb[nan] = (160, 160, 160)
    return rgb.astype(np.uint8)


def _png(rgb, scale=1):
    from PIL import Image
    img = Image.fromarray(np.ascontiguousarray(rgb))
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _hex(rgb):
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _value_colour(v):
    return _hex(colour_map(np.array([v]), alpha=255)[0])


# --------------------------------------------------------------------------- the core
class PlaygroundCore:
    """Data, model and training of the playground, without any widget.

    Arguments mirror the web app's controls (same names as its URL state where sensible):
    ``problem`` ("classification"/"regression"), ``dataset`` (circle, xor, gauss, spiral;
    reg-plane, reg-gauss; blobs, rings and spiral with ``classes`` > 2), ``noise`` in slider
    units 0-50 (up to 80 accepted, above 80 -> 50, negative -> 0, as the web app does),
    ``train_ratio`` in percent (10-90), ``batch_size`` (1-30 in the UI), ``features`` (any of
    ``x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)``), ``hidden`` (0-6 layers of 1-8 neurons),
    ``activation``, ``learning_rate``, ``regularization`` (None/"l1"/"l2") and its
    ``regularization_rate``, and ``seed``. Beyond the web app: ``optimizer``, ``dropout``,
    ``loss`` ("auto": MSE on tanh for two classes as the web app, softmax cross-entropy for
    more; "mse"; "crossentropy"), ``init`` and your own data ``X`` (n, 2) with labels ``y``.
    """

    def __init__(self, X=None, y=None, *, problem="classification", dataset=None, noise=0,
                 train_ratio=50, batch_size=10, features=("x1", "x2"), hidden=(4, 2), activation="tanh",
                 learning_rate=0.03, regularization=None, regularization_rate=0.0, optimizer="sgd",
                 dropout=0.0, loss="auto", classes=None, init="uniform", n_samples=None, seed=None, grid=100):
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2 ** 31))
        self.seed = int(seed)
        self.grid_size = int(grid)
        self.epoch = 0
        self.history = {"epoch": [], "loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}
        self._data_version = 0
        self._reset_count = 0
        self._user_points = ([], [])   # points added with add_point: kept through regenerations
        self.custom = X is not None
        if self.custom:
            if y is None:
                raise ValueError("Pass labels `y` together with your points `X`.")
            X = np.asarray(getattr(X, "values", X), dtype=np.float64)
            y = np.asarray(getattr(y, "values", y)).reshape(-1)
            if X.ndim != 2 or X.shape[1] != 2:
                raise ValueError(f"Your points X must have shape (n, 2); got {X.shape}.")
            if len(X) != len(y):
                raise ValueError(f"X has {len(X)} points but y has {len(y)} labels.")
            if problem == "classification" and y.dtype.kind == "f" and not np.all(y == np.round(y)):
                problem = "regression"
            self._custom_data = (X, y)
            dataset = "custom"
        self._cfg = {}
        self._set_cfg(problem=problem, dataset=dataset, noise=noise, train_ratio=train_ratio,
                      batch_size=batch_size, features=features, hidden=hidden, activation=activation,
                      learning_rate=learning_rate, regularization=regularization,
                      regularization_rate=regularization_rate, optimizer=optimizer, dropout=dropout,
                      loss=loss, classes=classes, init=init, n_samples=n_samples)
        self.generate_data()
        self.build_model()

    # ---------------------------------------------------------------- configuration
    @staticmethod
    def check_hidden(hidden):
        hidden = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
        if len(hidden) > MAX_LAYERS:
            raise ValueError(f"At most {MAX_LAYERS} hidden layers (the Playground's limit); got {len(hidden)}: "
                             f"{hidden}.")
        for i, units in enumerate(hidden):
            if int(units) != units or not 1 <= units <= MAX_NEURONS:
                raise ValueError(f"Hidden layer {i + 1} must have 1 to {MAX_NEURONS} neurons; got {units!r}.")
        return tuple(int(u) for u in hidden)

    @staticmethod
    def clean_noise(noise):
        """The web app's rule for the noise slider value (percent): >80 -> 50, <0 -> 0."""
        noise = float(noise)
        if noise > 80:
            return 50.0
        return max(noise, 0.0)

    def _set_cfg(self, **kw):
        cfg = dict(self._cfg, **kw)
        if cfg["problem"] not in ("classification", "regression"):
            raise ValueError(f"problem must be 'classification' or 'regression'; got {cfg['problem']!r}.")
        if not self.custom:
            allowed = ds.REGRESSION if cfg["problem"] == "regression" else ds.CLASSIFICATION + ds.MULTICLASS
            if cfg["dataset"] is None:
                cfg["dataset"] = allowed[0]
            if cfg["dataset"] not in allowed:
                if "problem" in kw and "dataset" not in kw:
                    cfg["dataset"] = allowed[0]
                else:
                    raise ValueError(f"Dataset {cfg['dataset']!r} does not fit a {cfg['problem']} problem; "
                                     f"choose one of {list(allowed)}.")
        cfg["noise"] = self.clean_noise(cfg["noise"])
        ratio = float(cfg["train_ratio"])
        if ratio <= 1:      # accept a fraction too
            ratio *= 100
        if not 1 <= ratio <= 99:
            raise ValueError(f"train_ratio is a percentage of the points used for training (10-90); got {ratio}.")
        cfg["train_ratio"] = ratio
        if int(cfg["batch_size"]) < 1:
            raise ValueError(f"batch_size must be at least 1; got {cfg['batch_size']}.")
        cfg["batch_size"] = int(cfg["batch_size"])
        cfg["features"] = ds.check_features(cfg["features"])
        cfg["hidden"] = self.check_hidden(cfg["hidden"])
        if cfg["optimizer"] not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {cfg['optimizer']!r}.")
        reg = cfg["regularization"]
        reg = None if reg in (None, "none", "None", "") else str(reg).lower()
        if reg not in REGULARIZATIONS:
            raise ValueError(f"regularization must be None, 'l1' or 'l2'; got {cfg['regularization']!r}.")
        cfg["regularization"] = reg
        cfg["regularization_rate"] = float(cfg["regularization_rate"])
        cfg["learning_rate"] = float(cfg["learning_rate"])
        if not 0 <= float(cfg["dropout"]) < 1:
            raise ValueError(f"dropout must be in [0, 1); got {cfg['dropout']}.")
        cfg["dropout"] = float(cfg["dropout"])
        if cfg["loss"] not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {cfg['loss']!r}.")
        if cfg["init"] not in INITS:
            raise ValueError(f"init must be one of {INITS}; got {cfg['init']!r}.")
        if cfg["classes"] is not None:
            cfg["classes"] = int(cfg["classes"])
        if cfg["classes"] is not None and not 2 <= cfg["classes"] <= 8:
            raise ValueError(f"classes must be 2 to 8; got {cfg['classes']}.")
        from ..activations import get as get_activation
        get_activation(cfg["activation"])   # raises a clear error for an unknown name
        self._cfg = cfg

    @property
    def config(self):
        return dict(self._cfg)

    def __getattr__(self, name):
        cfg = self.__dict__.get("_cfg", {})
        if name in cfg:
            return cfg[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    # Which settings need what, as in the web app.
    _NEW_DATA = {"problem", "dataset", "noise", "train_ratio", "classes", "n_samples"}
    _RESET = {"batch_size", "features", "hidden", "activation", "regularization", "regularization_rate",
              "dropout", "loss", "init"}

    def set(self, **kw):
        """Change settings the way the web app does: data settings regenerate the data and reset
        the network, network settings reset it, the learning rate and the optimizer change live.
        Returns what happened: "data", "reset", "live" or None."""
        old = self._cfg
        self._set_cfg(**kw)
        changed = {k for k in kw if old.get(k) != self._cfg.get(k)}
        if not changed:
            return None
        if changed & self._NEW_DATA:
            self._data_version += 1
            self.generate_data()
            self.reset()
            return "data"
        if changed & self._RESET:
            self.reset()
            return "reset"
        if "optimizer" in changed:
            self._compile()
        if "learning_rate" in changed:
            self.model.optimizer.learning_rate.assign(self._cfg["learning_rate"])
        return "live"

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
        from .. import backend, initializers, layers, regularizers
        from ..models import Sequential
        from ..layers import Input
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
        from .. import optimizers
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
        from ..autodiff import Tensor, no_grad
        from .. import backend
        g = self.grid_size
        if self._grid_features is None or self._grid_features[0] != (self.features, self.domain):
            self._grid_features = ((self.features, self.domain), self.transform(self.grid_points()))
        h = self._grid_features[1]
        hidden = []
        with no_grad(), np.errstate(all="ignore"):
            for layer in self.model.layers:
                h = layer(h, training=False)
                h = backend.to_numpy(h.value if isinstance(h, Tensor) else h)
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
        from .. import backend
        return [(backend.to_numpy(l.kernel.value).copy(), backend.to_numpy(l.bias.value).copy())
                for l in self._dense]

    def set_weight(self, layer, i, j, value):
        """Set the weight from node ``i`` of the layer before to node ``j`` of Dense layer
        ``layer`` (0-based; the output layer is the last) - the web app's weight edit box."""
        from .. import backend
        w = self._dense[layer].kernel
        new = backend.to_numpy(w.value).copy()
        new[i, j] = value
        w.assign(new)

    def set_bias(self, layer, j, value):
        from .. import backend
        b = self._dense[layer].bias
        new = backend.to_numpy(b.value).copy()
        new[j] = value
        b.assign(new)

    # ---------------------------------------------------------------- state
    @property
    def state(self):
        """A JSON-able dict that reproduces this run (the web app's URL hash)."""
        cfg = dict(self._cfg)
        cfg["features"] = list(cfg["features"])
        cfg["hidden"] = list(cfg["hidden"])
        cfg["seed"] = self.seed
        return cfg

    @classmethod
    def from_state(cls, state, **kw):
        state = json.loads(state) if isinstance(state, str) else dict(state)
        if state.get("dataset") == "custom" and "X" not in kw:
            raise ValueError("A state made with your own data needs that data: pass X=, y= too.")
        if state.get("dataset") == "custom":
            state.pop("dataset")
        state.update(kw)
        return cls(**state)


# --------------------------------------------------------------------------- the widget
#: every control that ``hide=`` can remove (the web app's 15 classroom checkboxes first)
CONTROLS = ("show_test_data", "discretize", "play", "step", "reset", "learning_rate", "activation",
            "regularization", "regularization_rate", "problem", "dataset", "train_ratio", "noise",
            "batch_size", "hidden_layers", "neurons", "features", "regenerate", "optimizer", "dropout",
            "loss", "classes", "add_points", "view", "seed")


class Playground:
    """The TensorFlow Playground as ipywidgets, training a real minikeras model.

    ``Playground()`` shows the web app's defaults (circle, 2 features, [4, 2] tanh, lr 0.03).
    Pass any :class:`PlaygroundCore` argument (``dataset="spiral"``, ``hidden=[8, 8]``,
    ``optimizer="adam"``, ``dropout=0.1``, ``classes=4``, your own ``X, y``, ``seed=``...),
    ``hide=[...]`` with names from :data:`CONTROLS` to remove controls for a class, and
    ``fps`` for how often the pictures redraw while playing (0: every epoch, as the web app).

    ``pg.model`` is the trained ``keras`` model, ``pg.predict(points)`` its output on raw
    points, ``pg.play()/pause()/step()/reset()`` drive it from code, and ``pg.state`` with
    ``Playground.from_state`` reproduces a run.
    """

    def __init__(self, X=None, y=None, *, hide=(), fps=12, **kwargs):
        hide = [hide] if isinstance(hide, str) else list(hide)
        unknown = [h for h in hide if h not in CONTROLS]
        if unknown:
            raise ValueError(f"Cannot hide {unknown}: the controls are {list(CONTROLS)}.")
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
        return self.core.state

    @classmethod
    def from_state(cls, state, **kw):
        state = json.loads(state) if isinstance(state, str) else dict(state)
        state.update(kw)
        return cls(**state)

    def transform(self, points):
        return self.core.transform(points)

    def predict(self, points):
        """The model's output on raw 2-D points (features applied for you)."""
        return self.core.model.predict(self.transform(points), verbose=0)

    def data(self):
        """(X_train, y_train, X_test, y_test) as NumPy arrays."""
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
        result = None
        if set(kw) & (PlaygroundCore._NEW_DATA | PlaygroundCore._RESET):
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
                if self.fps <= 0 or now - last >= 1.0 / self.fps:
                    self.redraw()
                    last = now
                else:
                    self._update_numbers()
                time.sleep(0.001)   # let the kernel's main thread take the GIL for clicks
        finally:
            self.redraw()

    # ---------------------------------------------------------------- UI building
    def _shown(self, name):
        return name not in self.hidden_controls

    def _build_ui(self):
        import ipywidgets as W
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        c = self.core
        self.controls = {}
        lay = lambda **k: W.Layout(**k)  # noqa: E731
        self._muted = False

        def add(name, widget, handler=None, event="value"):
            if not self._shown(name):
                return None
            self.controls[name] = widget
            if handler is not None:
                if isinstance(widget, W.Button):
                    widget.on_click(lambda _b: self._guard(handler))
                else:
                    widget.observe(lambda ch: None if self._muted else self._guard(handler, ch["new"]), event)
            return widget

        # --- top bar
        add("reset", W.Button(icon="undo", tooltip="Reset the network", layout=lay(width="40px")), self.reset)
        add("play", W.Button(icon="play", tooltip="Run/Pause", button_style="primary",
                             layout=lay(width="56px", height="40px")), self._toggle_play)
        add("step", W.Button(icon="step-forward", tooltip="Step one epoch", layout=lay(width="40px")), self.step)
        self._epoch_label = W.HTML()
        add("learning_rate", W.Dropdown(options=list(LEARNING_RATES), value=c.learning_rate if c.learning_rate
                                        in LEARNING_RATES else 0.03, description="Learning rate",
                                        layout=lay(width="190px")), lambda v: self.set(learning_rate=v))
        act_opts = [a for a in ACTIVATIONS + EXTRA_ACTIVATIONS]
        if c.activation not in act_opts:
            act_opts.append(c.activation)
        add("activation", W.Dropdown(options=[(a.capitalize() if a != "relu" else "ReLU", a) for a in act_opts],
                                     value=c.activation, description="Activation", layout=lay(width="180px")),
            lambda v: self.set(activation=v))
        add("regularization", W.Dropdown(options=[("None", "none"), ("L1", "l1"), ("L2", "l2")],
                                         value=c.regularization or "none", description="Regularization",
                                         layout=lay(width="210px")), lambda v: self.set(regularization=v))
        rr = list(REG_RATES) + ([c.regularization_rate] if c.regularization_rate not in REG_RATES else [])
        add("regularization_rate", W.Dropdown(options=rr, value=c.regularization_rate, description="Reg. rate",
                                              layout=lay(width="160px")), lambda v: self.set(regularization_rate=v))
        add("problem", W.Dropdown(options=[("Classification", "classification"), ("Regression", "regression")],
                                  value=c.problem, description="Problem", disabled=c.custom,
                                  layout=lay(width="210px")), lambda v: self.set(problem=v))
        add("optimizer", W.Dropdown(options=[("SGD", "sgd"), ("Momentum", "momentum"), ("Nesterov", "nesterov"),
                                             ("RMSprop", "rmsprop"), ("Adam", "adam")], value=c.optimizer,
                                    description="Optimizer", layout=lay(width="180px")),
            lambda v: self.set(optimizer=v))
        add("dropout", W.Dropdown(options=[0.0, 0.1, 0.2, 0.3, 0.5] + ([c.dropout] if c.dropout not in
                                                                      (0.0, 0.1, 0.2, 0.3, 0.5) else []),
                                  value=c.dropout, description="Dropout", layout=lay(width="150px")),
            lambda v: self.set(dropout=v))
        add("loss", W.Dropdown(options=[("Auto", "auto"), ("MSE (tanh)", "mse"), ("Cross-entropy", "crossentropy")],
                               value=c.loss, description="Loss", layout=lay(width="190px")),
            lambda v: self.set(loss=v))
        top = [self.controls.get(k) for k in ("reset", "play", "step")] + [self._epoch_label]
        top = W.HBox([w for w in top if w is not None], layout=lay(align_items="center"))
        settings = [self.controls.get(k) for k in ("learning_rate", "activation", "regularization",
                                                   "regularization_rate", "problem", "optimizer", "dropout", "loss")]
        settings = W.HBox([w for w in settings if w is not None], layout=lay(flex_flow="row wrap"))

        # --- DATA column
        data_items = [W.HTML("<b>DATA</b>")]
        if self._shown("dataset"):
            self._dataset_box = W.VBox()
            self.controls["dataset"] = self._dataset_box
            self._fill_datasets()
            data_items.append(W.HTML("Which dataset do you want to use?"))
            data_items.append(self._dataset_box)
        add("classes", W.IntSlider(value=c.n_classes_setting, min=2, max=8, description="Classes",
                                   layout=lay(width="230px"), continuous_update=False), lambda v: self.set(classes=v))
        add("train_ratio", W.IntSlider(value=int(c.train_ratio), min=10, max=90, step=10, continuous_update=False,
                                       description="Train %", layout=lay(width="230px")),
            lambda v: self.set(train_ratio=v))
        add("noise", W.IntSlider(value=int(c.noise), min=0, max=max(50, int(c.noise)), step=5,
                                 continuous_update=False, description="Noise", disabled=c.custom,
                                 layout=lay(width="230px")), lambda v: self.set(noise=v))
        add("batch_size", W.IntSlider(value=c.batch_size, min=1, max=max(30, c.batch_size), step=1,
                                      continuous_update=False, description="Batch size", layout=lay(width="230px")),
            lambda v: self.set(batch_size=v))
        add("regenerate", W.Button(description="Regenerate", icon="refresh", layout=lay(width="120px")),
            self.regenerate)
        add("seed", W.IntText(value=c.seed, description="Seed", layout=lay(width="200px")), self._set_seed)
        for k in ("classes", "train_ratio", "noise", "batch_size", "regenerate", "seed"):
            if k in self.controls:
                data_items.append(self.controls[k])
        if self._shown("add_points"):
            self._pt_x = W.FloatText(value=0.0, description="x", layout=lay(width="110px"))
            self._pt_y = W.FloatText(value=0.0, description="y", layout=lay(width="110px"))
            self._pt_label = W.Dropdown(layout=lay(width="120px"), description="label")
            # the class (or regression target) given to points added by clicking on the heatmap
            self._click_label = W.Dropdown(description="click adds", layout=lay(width="170px"))
            self._click_value = W.FloatText(value=0.5, description="click adds target", layout=lay(width="190px"))
            self._click_label.style.description_width = self._click_value.style.description_width = "initial"
            add_btn = W.Button(description="Add point", icon="plus", layout=lay(width="110px"))
            clear_btn = W.Button(description="Clear added", layout=lay(width="110px"))
            add_btn.on_click(lambda _b: self._guard(self._add_clicked))
            clear_btn.on_click(lambda _b: self._guard(self._clear_points))
            box = W.VBox([W.HTML("Add your own points:"), W.HBox([self._pt_x, self._pt_y]), self._pt_label,
                          W.HBox([add_btn, clear_btn])])
            self.controls["add_points"] = box
            data_items.append(box)
            self._fill_point_labels()
        data_col = W.VBox(data_items, layout=lay(width="250px", padding="4px"))

        # --- FEATURES + HIDDEN LAYERS (network diagram)
        self._layers_label = W.HTML()
        net_head = []
        if self._shown("hidden_layers"):
            plus = W.Button(icon="plus", layout=lay(width="34px"), tooltip="Add a hidden layer")
            minus = W.Button(icon="minus", layout=lay(width="34px"), tooltip="Remove a hidden layer")
            plus.on_click(lambda _b: self._guard(self._change_layers, +1))
            minus.on_click(lambda _b: self._guard(self._change_layers, -1))
            self.controls["hidden_layers"] = W.HBox([plus, minus])
            net_head.append(self.controls["hidden_layers"])
        net_head.append(self._layers_label)
        self._neuron_box = W.HBox(layout=lay(margin="0 0 0 126px"))
        if self._shown("neurons"):
            self.controls["neurons"] = self._neuron_box
        self._network = W.HTML()
        feat_items = []
        if self._shown("features"):
            self._feature_buttons = {}
            for f in ds.FEATURE_NAMES:
                b = W.ToggleButton(value=f in c.features, description=ds.FEATURES[f][0], tooltip=f,
                                   layout=lay(width="80px", height="34px", margin="3px 0"))
                b.observe(lambda ch, f=f: None if self._muted else self._guard(self._toggle_feature, f, ch["new"]),
                          "value")
                self._feature_buttons[f] = b
                feat_items.append(b)
            self.controls["features"] = W.VBox(feat_items)
        feat_col = W.VBox([W.HTML("<b>FEATURES</b>")] + ([self.controls["features"]] if feat_items else []),
                          layout=lay(width="92px", padding="4px"))
        net_col = W.VBox([W.HBox(net_head, layout=lay(align_items="center")),
                          self._neuron_box if self._shown("neurons") else W.HTML(), self._network],
                         layout=lay(padding="4px"))

        # --- OUTPUT column
        self._numbers = W.HTML()
        fig = Figure(figsize=(3.0, 0.8), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes([0.01, 0.04, 0.98, 0.92])
        self._loss_fig, self._loss_ax = fig, ax
        (self._train_line,) = ax.plot([], [], color="#777777", lw=1.2, label="train")
        (self._test_line,) = ax.plot([], [], color="black", lw=1.2, label="test")
        ax.set_axis_off()   # a small chart without axes, as the web app's; the range is printed on it
        self._loss_text = ax.text(0.99, 0.97, "", transform=ax.transAxes, ha="right", va="top", fontsize=6,
                                  color="#555")
        self._loss_img = W.Image(format="png", layout=lay(width="300px"))
        fig = Figure(figsize=(3.3, 3.3), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes([0.1, 0.08, 0.86, 0.86])
        d = c.domain
        self._heat_fig, self._heat_ax = fig, ax
        self._heat_im = ax.imshow(np.full((c.grid_size, c.grid_size, 3), 255, np.uint8), extent=(-d, d, -d, d),
                                  interpolation="nearest", origin="upper")
        self._train_pts = ax.scatter([], [], s=14, edgecolors="white", linewidths=0.8)
        self._test_pts = ax.scatter([], [], s=14, edgecolors="black", linewidths=0.8)
        ax.tick_params(labelsize=7, length=2, pad=1)
        self._heatmap = W.Image(format="png", layout=lay(width="330px", height="330px"))
        self._heatmap.add_class("mk-playground-heatmap")
        self._heat_bg, self._heat_domain, self._loss_drawn = None, d, 0.0
        self._heat_size, self._heat_box = (330, 330), None
        self._points_label = W.HTML()
        self._points_label.add_class("mk-playground-points")
        self._click_events = None
        click_items = []
        if self._shown("add_points"):
            # clicks on the heatmap add points (needs the ipyevents package; the x/y boxes are the fallback)
            click_items = [self._click_label, self._click_value]
            try:
                from ipyevents import Event
            except ImportError:   # pragma: no cover - optional dependency
                Event = None
            if Event is not None:
                self._click_events = Event(source=self._heatmap, watched_events=["click"],
                                           prevent_default_action=True)
                self._click_events.on_dom_event(lambda ev: self._guard(self._on_heatmap_click, ev))
        add("show_test_data", W.Checkbox(value=False, description="Show test data", indent=False),
            self._set_show_test)
        add("discretize", W.Checkbox(value=False, description="Discretize output", indent=False),
            self._set_discretize)
        add("view", W.Dropdown(options=[("Output", "output")], value="output", description="Big map",
                               layout=lay(width="220px")), self._set_view)
        legend = W.HTML(self._legend_html())
        out_items = [W.HTML("<b>OUTPUT</b>"), self._numbers, self._loss_img, self._heatmap, legend,
                     W.HBox(click_items + [self._points_label], layout=lay(align_items="center",
                                                                           flex_flow="row wrap"))]
        out_items += [self.controls[k] for k in ("show_test_data", "discretize", "view") if k in self.controls]
        out_col = W.VBox(out_items, layout=lay(width="340px", padding="4px"))

        for w in self.controls.values():
            if hasattr(w, "style") and hasattr(w.style, "description_width"):
                w.style.description_width = "initial"
        self.widget = W.VBox([top, settings, W.HBox([data_col, feat_col, net_col, out_col])],
                             layout=lay(border="1px solid #ddd", padding="6px"))
        self.widget.add_class("mk-playground")
        self._sync_controls()

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    def _guard(self, fn, *args):
        """Run a widget callback, showing errors in the numbers panel instead of losing them."""
        try:
            fn(*args)
        except Exception as exc:   # noqa: BLE001 - a UI callback must not die silently
            self._numbers.value = f"<span style='color:#c00'>{type(exc).__name__}: {exc}</span>"

    # ---------------------------------------------------------------- UI callbacks
    def _toggle_play(self):
        self.pause() if self.playing else self.play()

    def _sync_play_button(self):
        b = self.controls.get("play") if hasattr(self, "controls") else None
        if b is not None:
            b.icon = "pause" if self.playing else "play"

    def _set_seed(self, value):
        self.pause()
        with self._lock:
            c = self.core
            c.seed = int(value)
            c._data_version = 0
            c._reset_count = -1
            c.generate_data()
            c.reset()
        self.redraw()

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

    def _choose_dataset(self, name):
        self.set(dataset=name)

    def _set_show_test(self, v):
        self.show_test_data = bool(v)
        self.redraw()

    def _set_discretize(self, v):
        self.discretize = bool(v)
        self.redraw()

    def _set_view(self, v):
        self.view = v
        self.redraw()

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

    def _fill_point_labels(self):
        if not self._shown("add_points"):
            return
        k = self.core.num_classes
        if k == 0:
            opts = [("target %.1f" % v, v) for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]
        elif k == 2:
            opts = [("blue (+1)", 1.0), ("orange (-1)", -1.0)]
        else:
            opts = [(f"class {i}", i) for i in range(k)]
        self._pt_label.options = opts
        self._pt_label.value = opts[0][1]
        if k:
            self._click_label.options = opts
            self._click_label.value = opts[0][1]
        self._click_label.layout.display = "" if k else "none"
        self._click_value.layout.display = "none" if k else ""

    def _fill_datasets(self):
        import ipywidgets as W
        c = self.core
        if c.custom:
            names = ["custom"]
        elif c.problem == "regression":
            names = list(ds.REGRESSION)
        else:
            names = list(ds.CLASSIFICATION) + [n for n in ds.MULTICLASS if n not in ds.CLASSIFICATION]
        cells = []
        for name in names:
            img = W.Image(value=self._thumbnail(name), format="png", layout=W.Layout(width="52px", height="52px"))
            btn = W.Button(description=name, layout=W.Layout(width="56px", padding="0"),
                           button_style="info" if name == c.dataset else "",
                           disabled=c.custom)
            btn.on_click(lambda _b, n=name: self._guard(self._choose_dataset, n))
            cells.append(W.VBox([img, btn], layout=W.Layout(align_items="center", margin="1px")))
        self._dataset_box.children = [W.HBox(cells[i:i + 4]) for i in range(0, len(cells), 4)]

    _thumb_cache = {}

    def _thumbnail(self, name):
        """A 52 px picture of the dataset: 200 points without noise, as the web app's thumbnails."""
        key = (name, self.core.n_classes_setting)
        if key in Playground._thumb_cache and name != "custom":
            return Playground._thumb_cache[key]
        rng = np.random.default_rng(0)
        if name == "custom":
            X, y = self.core.X_train, self.core.y_train
            d = self.core.domain
        else:
            X, y = ds.generate(name, 200, 0.0, rng, classes=max(3, self.core.n_classes_setting)
                               if name in ("blobs", "rings") else self.core.n_classes_setting)
            d = 6.0
        size = 52
        img = np.full((size, size, 3), 255, np.uint8)
        px = np.clip(((X[:, 0] + d) / (2 * d) * (size - 1)).round().astype(int), 0, size - 1)
        py = np.clip(((d - X[:, 1]) / (2 * d) * (size - 1)).round().astype(int), 0, size - 1)
        img[py, px] = self._point_colours(y)
        png = _png(img)
        if name != "custom":
            Playground._thumb_cache[key] = png
        return png

    def _point_colours(self, y):
        k = self.core.num_classes
        if k > 2:
            palette = np.array([CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(k)], np.uint8)
            return palette[np.asarray(y).astype(int)]
        return colour_map(np.asarray(y, float), alpha=255)

    def _sync_controls(self):
        """Make the widgets show the core's settings (after code or a cascade changed them)."""
        import ipywidgets as W
        c = self.core
        self._muted = True
        try:
            for name in ("learning_rate", "activation", "regularization", "regularization_rate", "problem",
                         "optimizer", "dropout", "loss", "batch_size"):
                w = self.controls.get(name)
                value = getattr(c, name)
                value = "none" if name == "regularization" and value is None else value
                if w is not None and w.value != value:
                    w.value = value
            for name in ("train_ratio", "noise"):
                w = self.controls.get(name)
                if w is not None and w.value != int(getattr(c, name)):
                    w.value = int(getattr(c, name))
            if "seed" in self.controls:
                self.controls["seed"].value = c.seed
            if "classes" in self.controls:
                self.controls["classes"].value = c.n_classes_setting
                self.controls["classes"].layout.display = "" if c.dataset in ("spiral", "blobs", "rings") \
                    else "none"
            if hasattr(self, "_feature_buttons"):
                for f, b in self._feature_buttons.items():
                    b.value = f in c.features
            if hasattr(self, "_dataset_box"):
                self._fill_datasets()
            self._fill_point_labels()
            n = len(c.hidden)
            self._layers_label.value = (f"<b>{n} HIDDEN LAYER{'S' if n != 1 else ''}</b> "
                                        f"<span style='color:#777'>{list(c.hidden)}</span>")
            cells = []
            for i, units in enumerate(c.hidden):
                p = W.Button(icon="plus", layout=W.Layout(width="26px", height="24px", padding="0"))
                m = W.Button(icon="minus", layout=W.Layout(width="26px", height="24px", padding="0"))
                p.on_click(lambda _b, i=i: self._guard(self._change_neurons, i, +1))
                m.on_click(lambda _b, i=i: self._guard(self._change_neurons, i, -1))
                cells.append(W.HBox([p, m], layout=W.Layout(width="110px")))
            if self._shown("neurons"):
                self._neuron_box.children = cells
            if "view" in self.controls:
                opts = [("Output", "output")] + [(f"Input {ds.FEATURES[f][0]}", f"in:{i}")
                                                 for i, f in enumerate(c.features)]
                opts += [(f"Layer {l + 1}, neuron {j + 1}", f"h:{l}:{j}")
                         for l, u in enumerate(c.hidden) for j in range(u)]
                self.controls["view"].options = opts
                if self.view not in [v for _, v in opts]:
                    self.view = "output"
                self.controls["view"].value = self.view
        finally:
            self._muted = False

    # ---------------------------------------------------------------- drawing
    @staticmethod
    def _legend_html():
        stops = ",".join(_hex(colour_map(np.array([v]), alpha=255)[0]) for v in np.linspace(-1, 1, 9))
        return ("<div style='font-size:11px;color:#555'>Colors shows data, neuron and weight values."
                f"<div style='width:200px;height:10px;background:linear-gradient(to right,{stops})'></div>"
                "<div style='width:200px;display:flex;justify-content:space-between'>"
                "<span>-1</span><span>0</span><span>1</span></div></div>")

    def _map_rgb(self, values):
        if values.ndim == 3:
            return class_colour_map(values, self.discretize)
        return colour_map(values, self.discretize)

    def _update_numbers(self):
        c = self.core
        logs = c.logs
        self._epoch_label.value = (f"<span style='font-size:13px;color:#777;margin-left:10px'>Epoch</span> "
                                   f"<span style='font-size:22px'>{format(c.epoch, '07,d')}</span>")
        parts = [f"Test loss <b>{logs['val_loss']:.3f}</b>", f"Training loss <b>{logs['loss']:.3f}</b>"]
        if c.num_classes:
            parts.append(f"Accuracy <b>{logs['accuracy']:.1%}</b> train / <b>{logs['val_accuracy']:.1%}</b> test")
        self._numbers.value = "<div style='font-size:12px;line-height:1.5'>" + "<br>".join(parts) + "</div>"

    def redraw(self):
        """Recompute the grid and redraw every picture (heatmap, thumbnails, links, chart)."""
        with self._lock:
            c = self.core
            grid = c.grid()
            weights = c.weights()
            hist = (list(c.history["epoch"]), list(c.history["loss"]), list(c.history["val_loss"]))
            X_train, y_train, X_test, y_test = c.X_train, c.y_train, c.X_test, c.y_test
            epoch, domain = c.epoch, c.domain
            n_added = len(c._user_points[0])
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
        self._heat_im.set_data(self._map_rgb(values))
        if self._heat_domain != domain:
            self._heat_im.set_extent((-domain, domain, -domain, domain))
            self._heat_ax.set_xlim(-domain, domain)
            self._heat_ax.set_ylim(-domain, domain)
            self._heat_bg = None
            self._heat_domain = domain
        self._train_pts.set_offsets(X_train)
        self._train_pts.set_facecolors(self._point_colours(y_train) / 255.0)
        if self.show_test_data and len(X_test):
            self._test_pts.set_offsets(X_test)
            self._test_pts.set_facecolors(self._point_colours(y_test) / 255.0)
        else:
            self._test_pts.set_offsets(np.zeros((0, 2)))
        self._heatmap.value = self._blit_png()
        # loss chart: its axes move, so it is drawn in full, at most a few times a second while playing
        now = time.perf_counter()
        if not self.playing or now - self._loss_drawn >= 0.5 or threading.current_thread() is not self._thread:
            self._loss_drawn = now
            ep, tr, te = hist
            self._train_line.set_data(ep, tr)
            self._test_line.set_data(ep, te)
            finite = [v for v in tr + te if np.isfinite(v)]
            if ep:
                self._loss_ax.set_xlim(min(ep), max(max(ep), min(ep) + 1))
            if finite:
                lo, hi = min(finite), max(finite)
                pad = (hi - lo) * 0.05 or 0.01
                self._loss_ax.set_ylim(lo - pad, hi + pad)
                self._loss_text.set_text(f"loss {lo:.3f} .. {hi:.3f}, epochs {min(ep)}..{max(ep)}  "
                                         "(grey: train, black: test)")
            self._loss_img.value = self._fig_png(self._loss_fig)
        self._network.value = self._network_svg(grid, weights, epoch)
        self.redraws += 1

    def _blit_png(self):
        """The heatmap as PNG. matplotlib draws the axes and ticks once (kept as a background);
        each frame pastes the heatmap into the axes' pixel box and draws the points with PIL,
        which is several times faster than a full matplotlib draw."""
        from PIL import Image, ImageDraw
        fig, canvas, ax = self._heat_fig, self._heat_fig.canvas, self._heat_ax
        if self._heat_bg is None:
            for a in (self._heat_im, self._train_pts, self._test_pts):
                a.set_visible(False)
            canvas.draw()
            w, h = canvas.get_width_height()
            self._heat_size = (w, h)
            self._heat_bg = Image.frombuffer("RGBA", (w, h), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1
                                             ).convert("RGB")
            x0, y0, x1, y1 = ax.get_window_extent().extents
            self._heat_box = (int(round(x0)), int(round(h - y1)), int(round(x1)), int(round(h - y0)))
        img = self._heat_bg.copy()
        bx0, by0, bx1, by1 = self._heat_box
        heat = Image.fromarray(np.ascontiguousarray(self._heat_im.get_array())).resize(
            (bx1 - bx0, by1 - by0), Image.NEAREST)
        img.paste(heat, (bx0, by0))
        draw = ImageDraw.Draw(img)
        d = self._heat_domain
        sx, sy = (bx1 - bx0) / (2 * d), (by1 - by0) / (2 * d)
        r = 3
        for pts, edge in ((self._train_pts, (255, 255, 255)), (self._test_pts, (0, 0, 0))):
            xy = np.asarray(pts.get_offsets(), dtype=float)
            if not len(xy):
                continue
            fc = np.asarray(pts.get_facecolors())
            fc = (np.broadcast_to(fc, (len(xy), 4))[:, :3] * 255).astype(int) if len(fc) else \
                np.zeros((len(xy), 3), int)
            px = bx0 + (xy[:, 0] + d) * sx
            py = by0 + (d - xy[:, 1]) * sy
            for x, y, col in zip(px.tolist(), py.tolist(), fc.tolist()):
                draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(col), outline=edge)
        draw.rectangle((bx0, by0, bx1 - 1, by1 - 1), outline=(0, 0, 0))
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()

    @staticmethod
    def _fig_png(fig):
        buf = io.BytesIO()
        fig.canvas.print_png(buf)
        return buf.getvalue()

    def _network_svg(self, grid, weights, epoch):
        """The network as SVG: input and hidden nodes as 10x10 thumbnails of their output over the
        plane, bias squares, and curved links coloured and sized by weight (hover for values)."""
        c = self.core
        node, pitch, col = 32, 40, 110
        feats = list(ds.FEATURE_NAMES) if self._shown("features") else list(c.features)
        active = [f in c.features for f in feats]
        in_index = {f: i for i, f in enumerate(c.features)}
        layers = [len(feats)] + list(c.hidden)
        n_cols = len(layers) + 1
        height = max(layers) * pitch + 10
        width = col * (n_cols - 1) + node + 40
        g = c.grid_size
        pool = g // 10

        def thumb(values):
            v = values[: pool * 10, : pool * 10].reshape(10, pool, 10, pool).mean(axis=(1, 3))
            return base64.b64encode(_png(colour_map(v, self.discretize, alpha=255))).decode()

        def pos(layer, i):
            x = 4 + col * layer
            y = 4 + pitch * i if layer == 0 else 4 + pitch * i + (max(layers) - layers[layer]) * pitch / 2
            return x, y

        out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
               f"style='font:10px sans-serif'>"]
        # links
        dense_inputs = [[i for i, a in enumerate(active) if a]] + [list(range(u)) for u in c.hidden]
        for l, (W, b) in enumerate(weights):
            src_nodes = dense_inputs[l]
            colours = colour_map(W, alpha=255)
            for r, i in enumerate(src_nodes):
                x1, y1 = pos(l, i)
                x1, y1 = x1 + node, y1 + node / 2
                for j in range(W.shape[1]):
                    if l + 1 < len(layers):
                        x2, y2 = pos(l + 1, j)
                        y2 += node / 2
                    else:
                        x2, y2 = 4 + col * (n_cols - 1), height / 2
                        y2 += (j - (W.shape[1] - 1) / 2) * 8
                    w = float(W[r, j])
                    width_px = 1 + 9 * min(abs(w), 5) / 5 if np.isfinite(w) else 1
                    mx = (x1 + x2) / 2
                    colour = "#%02x%02x%02x" % tuple(colours[r, j])
                    out.append(f"<path d='M{x1:.1f},{y1:.1f} C{mx:.1f},{y1:.1f} {mx:.1f},{y2:.1f} "
                               f"{x2:.1f},{y2:.1f}' fill='none' stroke='{colour}' stroke-width='{width_px:.2f}' "
                               f"stroke-dasharray='9,1' stroke-dashoffset='{-epoch / 3:.1f}'>"
                               f"<title>Weight is {w:.2g}</title></path>")
        # nodes
        for i, f in enumerate(feats):
            x, y = pos(0, i)
            op = 1.0 if active[i] else 0.3
            if active[i]:
                href = thumb(grid["inputs"][in_index[f]])
            else:
                a, bb = np.meshgrid(np.linspace(-6, 6, 10), np.linspace(6, -6, 10))
                href = base64.b64encode(_png(colour_map(ds.FEATURES[f][1](a, bb), self.discretize,
                                                        alpha=255))).decode()
            out.append(f"<g opacity='{op}'><image x='{x}' y='{y}' width='{node}' height='{node}' "
                       f"style='image-rendering:pixelated' href='data:image/png;base64,{href}'>"
                       f"</image><rect x='{x}' y='{y}' width='{node}' height='{node}' fill='none' "
                       f"stroke='#888'><title>{ds.FEATURES[f][0]}</title></rect></g>")
        for l, maps in enumerate(grid["hidden"]):
            bias = weights[l][1]
            bias_colours = colour_map(bias, alpha=255)
            for j in range(maps.shape[0]):
                x, y = pos(l + 1, j)
                out.append(f"<image x='{x}' y='{y}' width='{node}' height='{node}' "
                           f"style='image-rendering:pixelated' href='data:image/png;base64,{thumb(maps[j])}'>"
                           f"</image><rect x='{x}' y='{y}' width='{node}' height='{node}' fill='none' "
                           f"stroke='#888'><title>Layer {l + 1}, neuron {j + 1}</title></rect>"
                           f"<rect x='{x - 3}' y='{y + node - 3}' width='6' height='6' "
                           f"fill='{_hex(bias_colours[j])}' stroke='#555' stroke-width='0.5'>"
                           f"<title>Bias is {float(bias[j]):.2g}</title></rect>")
        out.append("</svg>")
        return "".join(out)
