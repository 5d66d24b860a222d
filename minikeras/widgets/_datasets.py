"""The TensorFlow Playground's data generators, in NumPy, plus multi-class extras.

Every generator takes ``(n, noise, rng)``: the number of points, the noise level as a
fraction (the web slider's value / 100, so 0 to 0.5) and a ``numpy.random.Generator``.
It returns ``(X, y)`` with ``X`` of shape ``(n, 2)`` (float64) and ``y`` of shape ``(n,)``.

The noise rules are the web app's (``src/dataset.ts``):

* circle, xor, reg-plane and reg-gauss: the noise shifts the point only when its label is
  computed, so labels flip near the boundary and the points themselves never move;
* gauss: the noise widens the blobs (variance 0.5 at noise 0 up to 4 at noise 0.5);
* spiral: the coordinates are jittered by ``uniform(-1, 1) * noise``.

Binary labels are ``+1``/``-1``; regression targets are floats; the multi-class generators
(``blobs``, ``spiral`` with ``classes > 2``, ``rings``) give integer labels ``0..k-1``.
"""
import numpy as np

CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("reg-plane", "reg-gauss")
MULTICLASS = ("blobs", "spiral", "rings")

#: points per problem type in the web app
N_CLASSIFICATION = 500
N_REGRESSION = 1200


def _shift(rng, n, scale, noise):
    return rng.uniform(-scale, scale, size=(n, 2)) * noise


def classify_circle(n, noise, rng):
    radius = 5.0
    n_in = n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n - n_in)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    shifted = X + _shift(rng, n, radius, noise)
    y = np.where(np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5, 1.0, -1.0)
    return X, y


def classify_xor(n, noise, rng):
    padding = 0.3
    X = rng.uniform(-5, 5, size=(n, 2))
    X = X + np.where(X > 0, padding, -padding)
    shifted = X + _shift(rng, n, 5, noise)
    y = np.where(shifted[:, 0] * shifted[:, 1] >= 0, 1.0, -1.0)
    return X, y


def classify_gauss(n, noise, rng):
    variance = 0.5 + (4.0 - 0.5) * (noise / 0.5)   # d3 linear scale [0, .5] -> [.5, 4]
    n_pos = n // 2
    pos = rng.normal(2.0, np.sqrt(variance), size=(n_pos, 2))
    neg = rng.normal(-2.0, np.sqrt(variance), size=(n - n_pos, 2))
    X = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(n_pos), -np.ones(n - n_pos)])
    return X, y


def _spiral_arm(m, delta_t, noise, rng):
    i = np.arange(m)
    r = i / m * 5.0
    t = 1.75 * i / m * 2 * np.pi + delta_t
    x = r * np.sin(t) + rng.uniform(-1, 1, m) * noise
    y = r * np.cos(t) + rng.uniform(-1, 1, m) * noise
    return np.stack([x, y], axis=1)


def classify_spiral(n, noise, rng, classes=2):
    """``classes`` arms (2: the web app's, labels +1/-1; more: labels 0..k-1)."""
    classes = int(classes)
    sizes = [n // classes + (1 if c < n % classes else 0) for c in range(classes)]
    if classes == 2:
        m = n // 2
        sizes = [m, n - m]
    arms = [_spiral_arm(sizes[c], 2 * np.pi * c / classes, noise, rng) for c in range(classes)]
    X = np.concatenate(arms)
    labels = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)])
    if classes == 2:
        return X, np.where(labels == 0, 1.0, -1.0)
    return X, labels.astype(np.int64)


def regress_plane(n, noise, rng):
    X = rng.uniform(-6, 6, size=(n, 2))
    shifted = X + _shift(rng, n, 6, noise)
    return X, (shifted[:, 0] + shifted[:, 1]) / 10.0


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], float)


def regress_gauss(n, noise, rng):
    X = rng.uniform(-6, 6, size=(n, 2))
    shifted = X + _shift(rng, n, 6, noise)
    d = np.hypot(shifted[:, None, 0] - _BUMPS[None, :, 0], shifted[:, None, 1] - _BUMPS[None, :, 1])
    values = _BUMPS[None, :, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)   # a cone of radius 2 per bump
    pick = np.argmax(np.abs(values), axis=1)    # first bump wins ties, as in the web app
    return X, values[np.arange(n), pick]


def classify_blobs(n, noise, rng, classes=3):
    """``classes`` Gaussian blobs on a circle of radius 3.5; noise widens them as for gauss."""
    classes = int(classes)
    variance = 0.5 + (4.0 - 0.5) * (noise / 0.5)
    labels = np.arange(n) % classes
    angle = 2 * np.pi * labels / classes + np.pi / 4
    centres = 3.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X = centres + rng.normal(0, np.sqrt(variance) * 0.7, size=(n, 2))
    return X, labels.astype(np.int64)


def classify_rings(n, noise, rng, classes=3):
    """Concentric rings, one per class; noise shifts the point before the label (like circle)."""
    classes = int(classes)
    width = 5.0 / classes
    labels = np.arange(n) % classes
    r = (labels + rng.uniform(0.1, 0.9, n)) * width
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    shifted = X + _shift(rng, n, 5, noise)
    y = np.clip(np.floor(np.hypot(shifted[:, 0], shifted[:, 1]) / width), 0, classes - 1)
    return X, y.astype(np.int64)


GENERATORS = {
    "circle": classify_circle,
    "xor": classify_xor,
    "gauss": classify_gauss,
    "spiral": classify_spiral,
    "reg-plane": regress_plane,
    "reg-gauss": regress_gauss,
    "blobs": classify_blobs,
    "rings": classify_rings,
}


def generate(name, n, noise, rng, classes=2):
    """Run the generator ``name``; ``classes`` matters for the multi-class sets only."""
    if name not in GENERATORS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(GENERATORS)}.")
    noise = float(noise)
    if not 0.0 <= noise <= 0.8:
        raise ValueError(f"noise must lie in [0, 0.8] as a fraction (the web slider / 100); got {noise}.")
    if name in ("spiral", "blobs", "rings"):
        return GENERATORS[name](int(n), noise, rng, classes=classes)
    return GENERATORS[name](int(n), noise, rng)


def shuffle_split(X, y, train_fraction, rng):
    """Shuffle once, then split at ``train_fraction * n`` (train first), as the web app does."""
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    cut = int(np.floor(len(X) * train_fraction))
    return X[:cut], y[:cut], X[cut:], y[cut:]


# --------------------------------------------------------------------------- features
FEATURES = {
    "x1": ("X\u2081", lambda a, b: a),
    "x2": ("X\u2082", lambda a, b: b),
    "x1^2": ("X\u2081\u00b2", lambda a, b: a * a),
    "x2^2": ("X\u2082\u00b2", lambda a, b: b * b),
    "x1*x2": ("X\u2081X\u2082", lambda a, b: a * b),
    "sin(x1)": ("sin(X\u2081)", lambda a, b: np.sin(a)),
    "sin(x2)": ("sin(X\u2082)", lambda a, b: np.sin(b)),
}
FEATURE_NAMES = tuple(FEATURES)


def check_features(features):
    features = tuple(features)
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"Unknown input feature(s) {unknown}; choose from {list(FEATURE_NAMES)}.")
    if not features:
        raise ValueError("At least one input feature must be on.")
    return tuple(f for f in FEATURE_NAMES if f in features)   # canonical order


def transform(X, features):
    """The raw 2-D points ``X`` (n, 2) as the chosen feature columns (n, len(features)), float32."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"Points must have shape (n, 2); got {X.shape}.")
    a, b = X[:, 0], X[:, 1]
    return np.stack([FEATURES[f][1](a, b) for f in check_features(features)], axis=1).astype(np.float32)
