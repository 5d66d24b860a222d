"""Turning what users pass to fit/evaluate/predict into batches of backend arrays.

Inputs may be one array or lists, tuples and dicts of arrays (multi-input/multi-output
models). Every array must have the same number of samples; nothing is truncated, and
nothing runs on zero batches: empty data, a batch size or step count that is not a
positive integer, and Python lists of numbers are errors that name the argument.
``Batches`` is the one iterator fit, evaluate and predict share.
"""
import math
import numbers

from .. import backend
from .. import tree
from ..autodiff import Tensor
from ..tree import flatten


def map_structure(fn, s):
    """``tree.map_structure`` where a missing (None) structure stays None."""
    return None if s is None else tree.map_structure(fn, s)


def _is_python_number(a):
    return isinstance(a, numbers.Number) and not hasattr(a, "dtype")


def to_backend(s, name="x", where="fit()"):
    """Arrays on the active backend; floats become floatx, integers keep their dtype.

    A list, tuple or dict is a structure of arrays (one per model input or output), as in
    Keras 3; a list of Python numbers is not an array here, and says so.
    """
    if isinstance(s, (list, tuple)) and any(_is_python_number(a) for a in flatten(s)):
        raise ValueError(f"{where}: `{name}` is a Python {type(s).__name__} of numbers ({_preview(s)}), not an "
                         f"array. A list is read as one array per model input (as in Keras 3); convert the "
                         f"data first, e.g. {name}=np.array({name}).")

    def conv(a):
        if isinstance(a, Tensor):
            a = a.value
        if not hasattr(a, "shape"):
            a = backend.np.asarray(a)
        arr = backend.xp().asarray(a)
        if arr.dtype.kind == "f" and arr.dtype.name != backend.floatx():
            arr = arr.astype(backend.floatx())
        if arr.ndim == 0:
            raise ValueError(f"{where}: `{name}` must be arrays with a batch dimension, got a scalar {a!r}.")
        return arr
    return map_structure(conv, s)


def _preview(s):
    text = repr(s)
    return text if len(text) <= 60 else text[:57] + "..."


def to_backend_all(*structures, names=("x", "y", "sample_weight"), where="fit()"):
    """``to_backend`` of each argument (x, y, sample_weight), as a tuple."""
    return tuple(to_backend(s, name, where) for s, name in zip(structures, names))


def num_samples(x, y=None, sample_weight=None, where="fit"):
    """The common first dimension; a clear error when the arrays disagree."""
    sizes = {}
    for label, s in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for i, a in enumerate(flatten(s) if s is not None else []):
            if a is None:
                continue
            sizes[f"{label}[{i}]" if len(flatten(s)) > 1 else label] = int(a.shape[0])
    distinct = set(sizes.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{k} has {v} samples" for k, v in sizes.items())
        raise ValueError(f"{where}: data cardinality is ambiguous, all arrays must contain the same "
                         f"number of samples: {detail}.")
    if not distinct:
        raise ValueError(f"{where}: no input data was given.")
    return distinct.pop()


def positive_int(value, name, where, default=None):
    """``value`` as a positive int (NumPy integers too), ``default`` for None; else an error
    naming the argument (Keras 3 refuses the same values: 0, -1, 2.5, "4", True)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: `{name}` must be a positive integer, got {name}={value!r}.")
    return int(value)


def take(s, index):
    """Rows ``index`` (a slice or an integer array) of every array in the structure."""
    if s.__class__ is backend.np.ndarray:  # fit's usual case: one NumPy array per x, y
        return s[index]
    return map_structure(lambda a: a[index], s)


class Batches:
    """The batches of one pass over (x, y, sample_weight): what fit, evaluate and predict loop over.

    ``batch_size`` samples at a time (32 when None), the last batch holding the rest;
    ``steps`` (when given) stops the pass earlier, never later; ``shuffle`` draws a new order
    from the global generator for every pass. Each batch is ``(x,)`` for predict
    (``targets=False``), else ``(x, y)`` or ``(x, y, sample_weight)``.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                 targets=True, where="fit()", steps_name="steps"):
        self.batch_size = positive_int(batch_size, "batch_size", where, default=32)
        steps = positive_int(steps, steps_name, where)
        self.num_samples = num_samples(x, y, sample_weight, where=where)
        if self.num_samples == 0:
            raise ValueError(f"{where}: the data is empty (x has 0 samples); there is nothing to "
                             f"{'train on' if where.startswith('fit') else 'run'}.")
        n_batches = math.ceil(self.num_samples / self.batch_size)
        self.steps = n_batches if steps is None else min(steps, n_batches)
        self.shuffle = shuffle
        self._data = (x, y, sample_weight)
        self._parts = 3 if sample_weight is not None else (2 if targets else 1)

    def __len__(self):
        return self.steps

    def __iter__(self):
        """``(step, batch)`` for each batch of one pass."""
        n, size, parts = self.num_samples, self.batch_size, self._parts
        x, y, sample_weight = self._data
        order = backend.rng().permutation(n) if self.shuffle else None
        if order is not None and backend.xp() is not backend.np:
            order = backend.xp().asarray(order)
        for step in range(self.steps):
            start = step * size
            index = slice(start, min(start + size, n)) if order is None else order[start:start + size]
            if parts == 2:
                yield step, (take(x, index), take(y, index))
            elif parts == 1:
                yield step, (take(x, index),)
            else:
                yield step, (take(x, index), take(y, index), take(sample_weight, index))


def split_validation(x, y, sample_weight, fraction):
    """Keras's ``validation_split``: the LAST ``fraction`` of the samples, before shuffling."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}.")
    n = num_samples(x, y, sample_weight)
    cut = int(n * (1 - fraction))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={fraction} leaves an empty training or validation set "
                         f"with {n} samples.")
    first, last = slice(0, cut), slice(cut, n)
    return ((take(x, first), take(y, first), take(sample_weight, first)),
            (take(x, last), take(y, last), take(sample_weight, last)))


def unpack(data):
    """(x,), (x, y) or (x, y, sample_weight) -> three values (missing ones are None)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
    return data, None, None


def class_weight_to_sample_weight(y, class_weight, sample_weight):
    """Per-sample weights from ``class_weight`` (labels as ints or one-hot), times sample_weight."""
    if isinstance(y, (list, tuple, dict)):
        raise ValueError("class_weight is only supported for models with a single output.")
    xp = backend.get_array_module(y)
    labels = y
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    elif labels.ndim == 2:
        labels = (labels[:, 0] > 0.5).astype("int64") if labels.dtype.kind == "f" else labels[:, 0]
    labels = labels.astype("int64")
    classes = sorted(int(k) for k in class_weight)
    table = xp.ones(max(classes[-1], int(labels.max())) + 1, dtype=backend.floatx())
    for k, v in class_weight.items():
        table[int(k)] = v
    weights = table[labels]
    return weights if sample_weight is None else weights * sample_weight
