"""Weight initializers with Keras 3 names, arguments and defaults.

An initializer is called as ``init(shape, dtype=None)`` and returns an array of the active
backend (``backend.xp()``), of dtype ``floatx()`` unless told otherwise.

Random values are always drawn on the host with NumPy and then moved to the device, so a
given seed gives the same weights on NumPy and CuPy. Seeding follows two rules:

* ``seed=None`` (the default): every call draws from the global generator
  ``backend.rng()``, so ``set_random_seed(n)`` before building a model makes it reproducible
  and two layers sharing one initializer still get different weights.
* ``seed=<int>``: every call restarts a private generator from that seed, so the initializer
  returns the same values each time (Keras 3 behaves this way for integer seeds).
"""
import math
import numbers

import numpy as np

from . import backend, registry

# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it makes a truncated
# normal come out with the variance asked for.
TRUNCATION_STD = 0.87962566103423978


def _standardize_shape(shape):
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"An initializer shape must be a tuple of integers, got {shape!r}.") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"An initializer shape cannot have negative dimensions, got {shape}.")
    return shape


def _float_dtype(dtype, who):
    dtype = np.dtype(dtype or backend.floatx())
    if dtype.kind != "f":
        raise ValueError(f"{who} only produces floating-point values; got dtype={dtype.name!r}. "
                         "Use float16, float32 or float64.")
    return dtype


def _check_seed(seed):
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return int(seed)
    raise TypeError(f"`seed` must be None or an integer, got {seed!r}.")


def _to_backend(array, dtype):
    return backend.xp().asarray(np.asarray(array).astype(dtype, copy=False))


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight shape, the way Keras counts them.

    Dense kernels are (in, out); convolution kernels are (*spatial, in, out) and every
    spatial position counts as one more connection, so the receptive field multiplies both
    fans. ``input_axes``/``output_axes`` (both given) name the axes to multiply instead.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (int(np.prod([shape[a] for a in input_axes], dtype=np.int64)),
                int(np.prod([shape[a] for a in output_axes], dtype=np.int64)))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(registry.Configurable):
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None).")

    def clone(self):
        return self.__class__.from_config(self.get_config())


class _RandomInitializer(Initializer):
    """Holds the seed and hands out the generator to draw from (see the module docstring)."""

    def __init__(self, seed=None):
        self.seed = _check_seed(seed)

    def _generator(self):
        if self.seed is None:
            return backend.rng()
        if isinstance(self.seed, np.random.Generator):
            return self.seed
        return np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed if not isinstance(self.seed, np.random.Generator) else None}


def _truncated_normal(gen, shape, mean, stddev):
    """Normal samples, redrawing every one that falls more than 2 std from the mean."""
    values = gen.standard_normal(shape)
    bad = np.abs(values) > 2.0
    while bad.any():
        values[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2.0
    return values * stddev + mean


# ---------------------------------------------------------------- constant initializers


class Zeros(Initializer):
    """All zeros (Keras's default for biases)."""

    def __call__(self, shape, dtype=None):
        return backend.xp().zeros(_standardize_shape(shape), dtype=dtype or backend.floatx())


class Ones(Initializer):
    """All ones (e.g. BatchNormalization's gamma)."""

    def __call__(self, shape, dtype=None):
        return backend.xp().ones(_standardize_shape(shape), dtype=dtype or backend.floatx())


class Constant(Initializer):
    """Fills the shape with ``value`` (a number, or an array that broadcasts to the shape)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        value = backend.to_numpy(self.value)
        try:
            out = np.broadcast_to(value, shape)
        except ValueError:
            raise ValueError(f"Constant initializer: value of shape {value.shape} does not broadcast "
                             f"to the requested shape {shape}.") from None
        return _to_backend(out, np.dtype(dtype or backend.floatx()))

    def get_config(self):
        value = self.value
        if hasattr(value, "tolist"):
            value = value.tolist()
        return {"value": value}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; non-square gives ``eye(n, m)``)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer only builds 2-D matrices, got shape {shape} "
                             f"of rank {len(shape)}.")
        dtype = np.dtype(dtype or backend.floatx())
        return _to_backend(self.gain * np.eye(shape[0], shape[1]), dtype)

    def get_config(self):
        return {"gain": self.gain}


# ---------------------------------------------------------------- random initializers


class RandomNormal(_RandomInitializer):
    """Normal samples with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, type(self).__name__)
        shape = _standardize_shape(shape)
        return _to_backend(self._generator().normal(self.mean, self.stddev, shape), dtype)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(_RandomInitializer):
    """Uniform samples in ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = minval
        self.maxval = maxval

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, type(self).__name__)
        shape = _standardize_shape(shape)
        return _to_backend(self._generator().uniform(self.minval, self.maxval, shape), dtype)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class TruncatedNormal(_RandomInitializer):
    """Normal samples redrawn until they lie within 2 ``stddev`` of ``mean``.

    As in Keras, ``stddev`` is that of the normal before truncation (the samples' actual
    spread is about 0.88 times smaller).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, type(self).__name__)
        shape = _standardize_shape(shape)
        return _to_backend(_truncated_normal(self._generator(), shape, self.mean, self.stddev), dtype)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class VarianceScaling(_RandomInitializer):
    """Samples whose variance is ``scale / n``, n being the fan chosen by ``mode``.

    Keeping each layer's output variance close to its input variance is what lets deep
    nets train (Glorot & Bengio 2010, He et al. 2015). ``distribution``:

    * ``"truncated_normal"``: stddev ``sqrt(scale / n) / 0.8796...`` before truncation at 2 std,
      so the truncated samples have exactly variance ``scale / n``;
    * ``"untruncated_normal"``: stddev ``sqrt(scale / n)``;
    * ``"uniform"``: in ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``.
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        super().__init__(seed)
        if not isinstance(scale, numbers.Real) or not scale > 0:
            raise ValueError(f"VarianceScaling: `scale` must be a positive float, got scale={scale!r}.")
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling: unknown mode={mode!r}; valid modes are {list(self.MODES)}.")
        distribution = str(distribution).lower()
        if distribution == "normal":  # the Keras 2 spelling
            distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: unknown distribution={distribution!r}; valid distributions "
                             f"are {list(self.DISTRIBUTIONS)}.")
        if (input_axes is None) != (output_axes is None):
            raise ValueError("VarianceScaling: give both `input_axes` and `output_axes`, or neither.")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = list(input_axes) if input_axes is not None else None
        self.output_axes = list(output_axes) if output_axes is not None else None

    def _fan(self, shape):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return max(1.0, fan)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, type(self).__name__)
        shape = _standardize_shape(shape)
        variance = self.scale / self._fan(shape)
        gen = self._generator()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(gen, shape, 0.0, math.sqrt(variance) / TRUNCATION_STD)
        elif self.distribution == "untruncated_normal":
            values = gen.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = gen.uniform(-limit, limit, shape)
        return _to_backend(values, dtype)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling preset; only the seed (and fan axes) are configurable."""

    _preset = None  # (scale, mode, distribution)

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": _RandomInitializer.get_config(self)["seed"], "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """Xavier uniform: limit ``sqrt(6 / (fan_in + fan_out))``; Keras's default kernel init."""
    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Xavier normal: truncated normal with variance ``2 / (fan_in + fan_out)``."""
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal with variance ``2 / fan_in`` (for ReLU layers)."""
    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """He uniform: limit ``sqrt(6 / fan_in)``."""
    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with variance ``1 / fan_in`` (pairs with SELU)."""
    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: limit ``sqrt(3 / fan_in)``."""
    _preset = (1.0, "fan_in", "uniform")


class Orthogonal(_RandomInitializer):
    """An orthogonal matrix (times ``gain``) from the QR decomposition of a normal matrix.

    Orthogonal weights preserve norms, which helps recurrent kernels (Saxe et al. 2014).
    Shapes with more than two axes are treated as ``(prod(shape[:-1]), shape[-1])``; the
    rows come out orthonormal when there are fewer rows than columns, else the columns.
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, type(self).__name__)
        shape = _standardize_shape(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape with at least 2 axes, got {shape}.")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        flat = self._generator().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        # Fix the signs so that q is uniformly distributed over orthogonal matrices.
        q *= np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return _to_backend(self.gain * q.reshape(shape), dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# ---------------------------------------------------------------- lower-case aliases (as Keras 3 exports them)

zeros = Zeros
ones = Ones
constant = Constant
identity = IdentityInitializer = Identity
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = OrthogonalInitializer = Orthogonal

_CLASSES = (Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
            GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal)

ALL_OBJECTS = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS.update({
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "identity": Identity, "IdentityInitializer": Identity,
    "random_normal": RandomNormal, "normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "OrthogonalInitializer": Orthogonal,
})


registry.register_builtins("initializers", ALL_OBJECTS, kind="initializer", module="keras.initializers",
                           example="glorot_uniform")
serialize, deserialize, get = registry.family_functions("initializers", __name__)
