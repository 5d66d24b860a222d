"""Normalization layers: BatchNormalization and LayerNormalization (Keras 3 semantics)."""
from .. import ops
from .base import Layer, resolve_objects, serialize_objects
from .core import cast_to_layer_dtype
from .input_spec import incompatible_input


# The configuration objects of the normalization layers, by argument name.
_GAMMA_BETA_OBJECTS = ("beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                       "beta_constraint", "gamma_constraint")
_BN_OBJECTS = _GAMMA_BETA_OBJECTS + ("moving_mean_initializer", "moving_variance_initializer")


def _same_shape(layer, axes, input_shape):
    """A normalization's output shape (its input's), once every axis is checked to exist."""
    rank = len(input_shape)
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"{type(layer).__name__} {layer.name!r}: axis {a} is out of bounds for input "
                             f"shape {tuple(input_shape)}.")
    return tuple(input_shape)


def _check_axis(layer, axis, input_shape):
    rank = len(input_shape)
    if not -rank <= axis < rank:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: axis {axis} is out of bounds for an input "
                         f"of shape {tuple(input_shape)} (rank {rank}).")
    if input_shape[axis] is None:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: axis {axis} of the input must have a known "
                         f"size, got input shape {tuple(input_shape)}.")
    return axis % rank


class BatchNormalization(Layer):
    """Normalizes each feature with batch statistics while training, moving averages otherwise.

    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance
    (non-trainable): 4 * features parameters. Every training call updates
    ``moving = moving * momentum + batch_stat * (1 - momentum)`` with the biased batch variance.
    A layer frozen with ``trainable = False`` always runs in inference mode, as in Keras 3.
    """

    _supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization {self.name!r}: `axis` must be an integer, got {axis!r}.")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization {self.name!r}: `momentum` must be in [0, 1], got {momentum!r}.")
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization {self.name!r}: `epsilon` must be positive, got {epsilon!r}.")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.synchronized = synchronized
        resolve_objects(self, locals(), _BN_OBJECTS)

    def build(self, input_shape):
        axis = _check_axis(self, self.axis, input_shape)
        shape = (input_shape[axis],)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
        if self.center:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        name="beta")
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self._features = shape[0]
        self.built = True

    def _check_input(self, inputs):
        rank = inputs.ndim
        if not -rank <= self.axis < rank or inputs.shape[self.axis] != self._features:
            raise incompatible_input(self, f"axis {self.axis} of the input to have value {self._features}",
                                     inputs.shape)

    def call(self, inputs, training=None):
        self._check_input(inputs)
        x = cast_to_layer_dtype(self, inputs)
        if training and self.trainable:
            y, mean, var = ops.batch_normalization_training(x, self.gamma, self.beta, self.axis, self.epsilon)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + mean.value * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.value * m + var.value * (1.0 - m))
            return y
        return ops.batch_normalization(x, self.moving_mean, self.moving_variance, self.axis, offset=self.beta,
                                       scale=self.gamma, epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return _same_shape(self, [self.axis], input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, momentum=self.momentum, epsilon=self.epsilon, center=self.center,
                      scale=self.scale, synchronized=self.synchronized, **serialize_objects(self, _BN_OBJECTS))
        return config


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (an int or a list), then scales by gamma and shifts by beta.

    Unlike BatchNormalization it behaves the same in training and inference and keeps no state.
    ``rms_scaling=True`` follows Keras 3's deprecated variant (no centring, no beta).
    """

    _supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError(f"LayerNormalization {self.name!r}: `axis` must be an int or a list of ints, "
                            f"got {axis!r}.")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        resolve_objects(self, locals(), _GAMMA_BETA_OBJECTS)

    def _axes(self):
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def build(self, input_shape):
        axes = sorted(_check_axis(self, a, input_shape) for a in self._axes())
        self._norm_axes = tuple(axes)
        self._rank = len(input_shape)
        shape = tuple(input_shape[a] for a in axes)
        self._norm_sizes = shape
        self.gamma = self.beta = None
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        name="beta")
        self.built = True

    def call(self, inputs):
        expected = self._norm_sizes
        got = tuple(inputs.shape[a] for a in self._norm_axes) if inputs.ndim == self._rank else None
        if got != expected:
            raise incompatible_input(self, f"rank {self._rank} with sizes {expected} on axes "
                                           f"{list(self._norm_axes)}", inputs.shape)
        return ops.layer_normalization(cast_to_layer_dtype(self, inputs), self.gamma, self.beta,
                                       self._norm_axes, self.epsilon, self.rms_scaling)

    def compute_output_shape(self, input_shape):
        return _same_shape(self, self._axes(), input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale,
                      rms_scaling=self.rms_scaling, **serialize_objects(self, _GAMMA_BETA_OBJECTS))
        return config
