"""Turning what users pass to fit/evaluate/predict into batches of backend arrays.

Inputs may be one array or lists, tuples and dicts of arrays (multi-input/multi-output
models). Every array must have the same number of samples; nothing is truncated.
"""
from .. import backend
from ..autodiff import Tensor
from .. import tree
from ..tree import flatten


def map_structure(fn, s):
    """``tree.map_structure`` where a missing (None) structure stays None."""
    return None if s is None else tree.map_structure(fn, s)


def to_backend(s):
    """Arrays on the active backend; floats become floatx, integers keep their dtype."""
    def conv(a):
        if isinstance(a, Tensor):
            a = a.value
        if not hasattr(a, "shape"):
            a = backend.np.asarray(a)
        arr = backend.xp().asarray(a)
        if arr.dtype.kind == "f" and arr.dtype.name != backend.floatx():
            arr = arr.astype(backend.floatx())
        if arr.ndim == 0:
            raise ValueError(f"Expected arrays with a batch dimension, got a scalar {a!r}.")
        return arr
    return map_structure(conv, s)


def to_backend_all(*structures):
    """``to_backend`` of each argument (x, y, sample_weight), as a tuple."""
    return tuple(to_backend(s) for s in structures)


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


def take(s, index):
    """Rows ``index`` (a slice or an integer array) of every array in the structure."""
    if s.__class__ is backend.np.ndarray:  # fit's usual case: one NumPy array per x, y
        return s[index]
    return map_structure(lambda a: a[index], s)


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
