"""Word-index sequence data sets (IMDB, Reuters, fortunes): reading and Keras's encoding rules.

Keras stores IMDB and Reuters as ``.npz`` archives whose arrays are ragged: each review is a
Python list of word ranks, so the arrays have ``dtype=object`` and NumPy can only save them
as pickle streams. Unpickling runs code chosen by whoever wrote the file, so here it happens
only (1) for a file whose sha256 matched the published one (the caller checks that first)
and (2) through an unpickler that can build NumPy arrays and nothing else: a tampered file
that asks for ``os.system`` or ``builtins.eval`` is refused. Numeric members load with
``allow_pickle=False``.

The encoding (``encode_split``/``encode_all``) follows Keras's loaders step by step: shuffle
with ``numpy.random.RandomState(seed)``, shift every rank by ``index_from`` and prepend
``start_char``, drop sequences that are not shorter than ``maxlen``, then replace ranks
outside ``[skip_top, num_words)`` by ``oov_char`` (or drop them when ``oov_char`` is None).
It works on one flat integer array instead of Python lists, then hands back Keras's types:
a 1-D object array of Python lists.
"""
import io
import itertools
import pickle
import zipfile

import numpy as np

# The only globals a pickled NumPy object array needs (both spellings of multiarray:
# files written under NumPy 1 and NumPy 2).
_NUMPY_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
})


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays (and the lists/ints inside them); refuses every other global."""

    def find_class(self, module, name):
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a dataset file may only contain NumPy arrays")


def _read_member(raw, where):
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        # 3.0 differs from 2.0 only in the header's text encoding, not in its layout
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"{where}: unsupported .npy format version {version}.")
    if not dtype.hasobject:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    try:
        array = _ArraysOnlyUnpickler(fp).load()
    except pickle.UnpicklingError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError(f"{where}: the pickled data is not the announced array of shape {shape}.")
    return array


def load_npz(path):
    """All arrays of a ``.npz`` archive as a dict; object arrays via the arrays-only unpickler.

    Call it only on a file whose checksum has been verified (see the module docstring).
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                arrays[member[:-4]] = _read_member(archive.read(member), f"{path}:{member}")
    return arrays


def save_npz(path, **ragged):
    """Write lists of integer sequences as Keras does (object arrays); labels as given.

    For tests and for preparing data: the files it writes have the real format.
    """
    out = {}
    for key, value in ragged.items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            out[key] = value
        else:
            out[key] = object_array([list(map(int, s)) for s in value])
    np.savez(path, **out)


def object_array(lists):
    """A 1-D object array holding ``lists`` (never a 2-D array, even when lengths agree)."""
    out = np.empty(len(lists), dtype=object)
    for i, s in enumerate(lists):
        out[i] = s
    return out


# --------------------------------------------------------------------------- encoding

class _Flat:
    """Many integer sequences as one int64 array plus their lengths."""

    def __init__(self, values, lengths):
        self.values, self.lengths = values, lengths

    @classmethod
    def of(cls, sequences):
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        values = np.fromiter(itertools.chain.from_iterable(sequences), dtype=np.int64,
                             count=int(lengths.sum()))
        return cls(values, lengths)

    def take(self, keep):
        """The sequences where the boolean ``keep`` is true."""
        row = np.repeat(np.arange(len(self.lengths)), self.lengths)
        return _Flat(self.values[keep[row]], self.lengths[keep])

    def concat(self, other):
        return _Flat(np.concatenate([self.values, other.values]),
                     np.concatenate([self.lengths, other.lengths]))

    def split(self, n):
        cut = int(self.lengths[:n].sum())
        return _Flat(self.values[:cut], self.lengths[:n]), _Flat(self.values[cut:], self.lengths[n:])

    def lists(self):
        """Keras's return type: a 1-D object array of Python lists of ints."""
        ends = np.cumsum(self.lengths)
        return object_array([part.tolist() for part in np.split(self.values, ends[:-1])]
                            if len(self.lengths) else [])


def _offset(flat, start_char, index_from):
    """Shift ranks by ``index_from``; put ``start_char`` in front of every sequence."""
    values = flat.values + index_from if index_from else flat.values.copy()
    if start_char is None:
        return _Flat(values, flat.lengths.copy())
    lengths = flat.lengths + 1
    out = np.empty(int(lengths.sum()), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    out[starts] = start_char
    is_word = np.ones(len(out), dtype=bool)
    is_word[starts] = False
    out[is_word] = values
    return _Flat(out, lengths)


def _check_int(name, value, allow_none=True, minimum=0):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be {'None or ' if allow_none else ''}an integer >= {minimum}, "
                         f"got {value!r}.")


def check_arguments(num_words, skip_top, maxlen, start_char, oov_char, index_from):
    _check_int("num_words", num_words)
    _check_int("skip_top", skip_top, allow_none=False)
    _check_int("maxlen", maxlen)
    _check_int("start_char", start_char)
    _check_int("oov_char", oov_char)
    _check_int("index_from", index_from, allow_none=False)


def _shuffled(x, y, rng):
    order = np.arange(len(x))
    rng.shuffle(order)
    return [x[i] for i in order], np.asarray(y)[order]


def _drop_long(flat, labels, maxlen):
    if not maxlen:
        return flat, labels
    keep = flat.lengths < maxlen  # Keras keeps only sequences *shorter* than maxlen
    return flat.take(keep), labels[keep]


def _limit_vocabulary(flat, num_words, skip_top, oov_char):
    if not num_words:
        # Keras's rule: the limit becomes the largest index, and the limit is exclusive, so
        # that single rarest index is treated as out of vocabulary too. Kept for parity.
        num_words = int(flat.values.max()) if flat.values.size else 0
    inside = (flat.values >= skip_top) & (flat.values < num_words)
    if oov_char is not None:
        return _Flat(np.where(inside, flat.values, oov_char), flat.lengths)
    row = np.repeat(np.arange(len(flat.lengths)), flat.lengths)
    lengths = np.bincount(row[inside], minlength=len(flat.lengths)).astype(np.int64)
    return _Flat(flat.values[inside], lengths)


def _none_kept(maxlen):
    return ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was "
                      "kept. Increase maxlen.")


def encode_split(x_train, y_train, x_test, y_test, *, num_words, skip_top, maxlen, seed,
                 start_char, oov_char, index_from, dataset):
    """IMDB's rules: train and test shuffled separately (one RandomState), filtered separately,
    the vocabulary limit taken over both. -> ``(x_train, y_train), (x_test, y_test)``."""
    rng = np.random.RandomState(seed)
    x_train, y_train = _shuffled(x_train, y_train, rng)
    x_test, y_test = _shuffled(x_test, y_test, rng)
    train = _offset(_Flat.of(x_train), start_char, index_from)
    test = _offset(_Flat.of(x_test), start_char, index_from)
    train, y_train = _drop_long(train, y_train, maxlen)
    test, y_test = _drop_long(test, y_test, maxlen)
    if maxlen and (not len(train.lengths) or not len(test.lengths)):
        raise _none_kept(maxlen)
    both = _limit_vocabulary(train.concat(test), num_words, skip_top, oov_char)
    train, test = both.split(len(train.lengths))
    return (train.lists(), y_train), (test.lists(), y_test)


def encode_all(xs, labels, *, num_words, skip_top, maxlen, test_split, seed, start_char, oov_char,
               index_from, dataset):
    """Reuters's rules: one pool, shuffled, filtered, limited, then cut at ``test_split``."""
    check_test_split(test_split, dataset)
    xs, labels = _shuffled(xs, labels, np.random.RandomState(seed))
    flat = _offset(_Flat.of(xs), start_char, index_from)
    flat, labels = _drop_long(flat, labels, maxlen)
    if not len(flat.lengths):
        raise _none_kept(maxlen)
    flat = _limit_vocabulary(flat, num_words, skip_top, oov_char)
    n_train = int(len(flat.lengths) * (1 - test_split))
    train, test = flat.split(n_train)
    return (train.lists(), np.array(labels[:n_train])), (test.lists(), np.array(labels[n_train:]))


def check_test_split(test_split, dataset):
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float, np.floating)) \
            or not 0 <= test_split <= 1:
        raise ValueError(f"{dataset}: test_split must be a number in [0, 1], got {test_split!r}.")


def reject_unknown_kwargs(kwargs, dataset):
    if kwargs:
        raise TypeError(f"{dataset}.load_data() got unexpected keyword arguments: {sorted(kwargs)}.")
