"""What the IMDB and Reuters loaders share: reading Keras's ragged ``.npz`` files safely,
and turning stored word ranks into the integer sequences ``load_data`` returns.

Those files keep one Python list of word ranks per text in a NumPy *object* array, which
NumPy can only store as a pickle. The file is checked against its published checksum first;
the pickle is then read by an unpickler that can build NumPy arrays and nothing else, so
even a file that slipped past the checksum could not run code.
"""
import io
import json
import pickle
import zipfile

import numpy as np

from . import _files

# The only globals an object array of lists needs (numpy < 2 and >= 2 spellings).
_ARRAY_GLOBALS = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                  for name in ("_reconstruct", "scalar")} | {("numpy", "ndarray"), ("numpy", "dtype")}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file: only NumPy "
                                         "arrays may be stored there (the file is damaged or not the real one)")
        return super().find_class(module, name)


def _read_member(data, source):
    buffer = io.BytesIO(data)
    try:
        return np.lib.format.read_array(buffer, allow_pickle=False)
    except ValueError:  # an object array: the header, then a pickle
        buffer.seek(0)
        major, _ = np.lib.format.read_magic(buffer)
        if major == 1:
            np.lib.format.read_array_header_1_0(buffer)
        elif major in (2, 3):  # 3.0 differs from 2.0 only in the header's text encoding
            np.lib.format.read_array_header_2_0(buffer)
        else:
            raise ValueError(f"{source}: unsupported .npy format version {major}.") from None
        try:
            return _ArrayOnlyUnpickler(buffer).load()
        except pickle.UnpicklingError as exc:
            raise ValueError(f"{source}: {exc}.") from None


def load_npz(path, spec):
    """The arrays of a verified Keras ``.npz`` file, object arrays included, as a dict."""
    _files.verify_file(path, spec)
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                arrays[member[:-4]] = _read_member(archive.read(member), f"{path}:{member}")
    return arrays


def load_word_index(path, spec):
    """A verified ``*_word_index.json``: word -> rank (1 is the most frequent word)."""
    _files.verify_file(path, spec)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def shuffle(rng, *arrays):
    """Keras's shuffle: one permutation drawn from ``rng`` (a ``numpy.random.RandomState``)
    applied to every array."""
    order = np.arange(len(arrays[0]))
    rng.shuffle(order)
    return tuple(a[order] for a in arrays)


def encode(sequences, start_char, index_from):
    """Word ranks as ids: shifted by ``index_from`` (room for padding, start and OOV ids) and
    prefixed with ``start_char`` unless it is None."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in s] for s in sequences]
    return [[w + index_from for w in s] for s in sequences]


def drop_long(maxlen, sequences, labels):
    """Only the sequences shorter than ``maxlen`` (as Keras keeps them), with their labels."""
    kept = [(s, y) for s, y in zip(sequences, labels) if len(s) < maxlen]
    return [s for s, _ in kept], [y for _, y in kept]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Ids outside [skip_top, num_words) become ``oov_char``, or are dropped when it is None.
    ``num_words=None`` keeps every id (the vocabulary is then the largest id seen)."""
    if not num_words:
        num_words = max(max(s) for s in sequences if s)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in sequences]
    return [[w for w in s if skip_top <= w < num_words] for s in sequences]


def as_object_array(sequences):
    """The sequences as Keras returns them: ``np.array(..., dtype=object)``."""
    return np.array(sequences, dtype="object")
