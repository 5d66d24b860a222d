"""Merging layers: combine a list of tensors into one (Concatenate, Add, Subtract, ...).

Elementwise merges follow Keras 3's shape rule: the batch sizes must agree, and the other
axes must be equal or 1 (an axis of size 1 is broadcast, nothing else is). Inputs of lower
rank get size-1 axes inserted after the batch axis, as Keras does. Each layer has a
lower-case functional twin, e.g. ``add([a, b])`` is ``Add()([a, b])``.
"""
from .. import backend, ops
from ..autodiff import as_array
from .base import Layer


def _is_shape(s):
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def _check_list(layer, input_shape, minimum=1):
    if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(_is_shape(s) for s in input_shape):
        raise ValueError(f"A merge layer ({type(layer).__name__} {layer.name!r}) should be called on a list of "
                         f"inputs, got input shape {input_shape!r}.")
    if len(input_shape) < minimum:
        raise ValueError(f"{type(layer).__name__} {layer.name!r} needs at least {minimum} inputs, got "
                         f"{len(input_shape)} (shapes {[tuple(s) for s in input_shape]}).")
    return [tuple(s) for s in input_shape]


def _elementwise_shape(layer, shapes):
    """Output shape of an elementwise merge; raises on axes that are neither equal nor 1."""
    batches = {s[0] for s in shapes if s} - {None}
    if len(batches) > 1:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: cannot merge tensors with different batch "
                         f"sizes; received shapes {shapes}.")
    rank = max(len(s) for s in shapes)
    # lower-rank inputs gain axes right after the batch axis (Keras's expand_dims(x, 1))
    padded = [s[:1] + (1,) * (rank - len(s)) + s[1:] for s in shapes]
    out = [batches.pop() if batches else None]
    for i in range(1, rank):
        dims = [s[i] for s in padded]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{type(layer).__name__} {layer.name!r}: inputs have incompatible shapes "
                             f"{shapes}: axis {i} has sizes {dims} (they must be equal or 1).")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


class _Merge(Layer):
    """Shared machinery of the elementwise merges; subclasses define ``_merge_function``."""

    _min_inputs = 1

    def build(self, input_shape):
        _elementwise_shape(self, _check_list(self, input_shape, self._min_inputs))
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer ({type(self).__name__} {self.name!r}) should be called on a list "
                             f"of inputs, got a single tensor of shape {getattr(inputs, 'shape', None)}.")
        shapes = _check_list(self, [tuple(x.shape) for x in inputs], self._min_inputs)
        _elementwise_shape(self, shapes)
        rank = max(len(s) for s in shapes)
        xs = []
        for x in inputs:
            for _ in range(rank - x.ndim):
                x = ops.expand_dims(x, 1)
            xs.append(x)
        return self._merge_function(xs)

    def compute_output_shape(self, input_shape):
        return _elementwise_shape(self, _check_list(self, input_shape, self._min_inputs))

    def compute_mask(self, inputs, mask=None):
        """Keras 3: when every input has a mask, a step is real where it is real in any of them."""
        if not mask or any(m is None for m in mask):
            return None
        out = as_array(mask[0])
        for m in mask[1:]:
            out = out | as_array(m)
        return out

    def _merge_function(self, inputs):
        raise NotImplementedError


def _fold(fn, inputs):
    out = inputs[0]
    for x in inputs[1:]:
        out = fn(out, x)
    return out


class Add(_Merge):
    """Elementwise sum of a list of tensors (a residual connection's join)."""

    def _merge_function(self, inputs):
        return _fold(ops.add, inputs)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]``; exactly two inputs."""

    _min_inputs = 2

    def _check_two(self, n, shapes):
        if n != 2:
            raise ValueError(f"Subtract {self.name!r} needs exactly 2 inputs, got {n} (shapes {shapes}).")

    def build(self, input_shape):
        self._check_two(len(input_shape), input_shape)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        self._check_two(len(input_shape), input_shape)
        return super().compute_output_shape(input_shape)

    def _merge_function(self, inputs):
        self._check_two(len(inputs), [x.shape for x in inputs])
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    """Elementwise product (e.g. a gate or an attention mask applied to features)."""

    def _merge_function(self, inputs):
        return _fold(ops.multiply, inputs)


class Average(_Merge):
    """Elementwise mean of the inputs (e.g. an ensemble of model outputs)."""

    def _merge_function(self, inputs):
        return ops.multiply(_fold(ops.add, inputs), 1.0 / len(inputs))


class Maximum(_Merge):
    """Elementwise maximum; the gradient goes to the first input holding the maximum."""

    def _merge_function(self, inputs):
        return _fold(ops.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum; the gradient goes to the first input holding the minimum."""

    def _merge_function(self, inputs):
        return _fold(ops.minimum, inputs)


class Concatenate(Layer):
    """Joins tensors along ``axis``; every other axis must match (the batch axis included)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate {self.name!r}: `axis` must be an integer, got {axis!r}.")
        self.axis = axis

    def _output_shape(self, input_shape):
        shapes = _check_list(self, input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate {self.name!r} requires inputs of the same rank; received shapes "
                             f"{shapes}.")
        if not -rank <= self.axis < rank:
            raise ValueError(f"Concatenate {self.name!r}: axis {self.axis} is out of bounds for inputs of rank "
                             f"{rank} (shapes {shapes}).")
        ax = self.axis % rank
        out = []
        for i in range(rank):
            dims = [s[i] for s in shapes]
            if i == ax:
                out.append(None if None in dims else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(f"Concatenate {self.name!r} requires inputs with matching shapes except for "
                                 f"the concatenation axis {self.axis}; received shapes {shapes} "
                                 f"(axis {i} differs: {dims}).")
            out.append(known.pop() if known else None)
        return tuple(out)

    def build(self, input_shape):
        self._output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"Concatenate {self.name!r} should be called on a list of inputs, got a single "
                             f"tensor of shape {getattr(inputs, 'shape', None)}.")
        self._output_shape([tuple(x.shape) for x in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        """Keras 3: the masks (all-True for an input without one) widened to the inputs, joined along
        ``axis`` and reduced with "any" over the last axis; so along features a step stays real
        where any input has it real."""
        if mask is None or all(m is None for m in mask):
            return None
        xp = backend.get_array_module(inputs[0].value)
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(xp.ones(x.shape, dtype=bool))
            else:
                m = as_array(m).astype(bool, copy=False)
                masks.append(xp.broadcast_to(m[..., None], x.shape) if m.ndim < x.ndim else m)
        return xp.concatenate(masks, axis=self.axis).any(axis=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


# ---------------------------------------------------------------- functional interface


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    """``Add()(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract()(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply()(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average()(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum()(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum()(inputs)``."""
    return Minimum(**kwargs)(inputs)
