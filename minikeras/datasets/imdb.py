"""IMDB movie reviews: 50,000 reviews labelled positive (1) or negative (0), 25,000 for
training and 25,000 for testing, each a list of word ids (Maas et al., 2011, "Learning Word
Vectors for Sentiment Analysis"; Keras's preprocessed copy, ``imdb.npz``).

Words are ranked by frequency over the whole set (rank 1 is the most frequent), and an id is
``rank + index_from``: ids 0, 1 and 2 stay free for padding, ``start_char`` and ``oov_char``.
``get_word_index()`` maps words to ranks, so ``id - 3`` decodes an id with the defaults.
Files are found as for the other data sets (see ``minikeras.datasets._files``).
"""
import numpy as np

from . import _files, _sequences

SUBDIRS = ("imdb",)
NPZ = _files.DataFile(
    "imdb.npz", _files.KERAS_ORIGIN + "imdb.npz",
    sha256="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
WORD_INDEX = _files.DataFile(
    "imdb_word_index.json", _files.KERAS_ORIGIN + "imdb_word_index.json",
    md5="bfafd718b763782e994055a2d397834f")
HOW_TO = (f"copy Keras's imdb.npz ({NPZ.url}) into a folder named 'imdb';",)


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """Load IMDB as Keras 3 does.

    Args:
        path: file name of ``imdb.npz`` in the data folders (an absolute path names the file).
        num_words: keep the ids below this (the most frequent words); others become ``oov_char``.
        skip_top: ids below this (the most frequent words) become ``oov_char`` too.
        maxlen: keep only the reviews with fewer than ``maxlen`` ids.
        seed: seed of the shuffle applied to each split.
        start_char: id put at the start of every review (None: none).
        oov_char: id of dropped words (None: drop them from the sequence).
        index_from: offset added to every word rank.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ids, int64 labels.
    """
    if kwargs:
        raise TypeError(f"imdb.load_data: unrecognized keyword argument(s) {sorted(kwargs)}.")
    data = _sequences.load_npz(_resolve(path, NPZ), NPZ)
    rng = np.random.RandomState(seed)  # one generator: the test permutation follows the training one
    x_train, y_train = _sequences.shuffle(rng, data["x_train"], data["y_train"])
    x_test, y_test = _sequences.shuffle(rng, data["x_test"], data["y_test"])
    x_train = _sequences.encode(x_train, start_char, index_from)
    x_test = _sequences.encode(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = _sequences.drop_long(maxlen, x_train, y_train)
        x_test, y_test = _sequences.drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; increase maxlen.")
    sequences = _sequences.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([y_train, y_test])
    n = len(x_train)
    return ((_sequences.as_object_array(sequences[:n]), labels[:n]),
            (_sequences.as_object_array(sequences[n:]), labels[n:]))


def get_word_index(path="imdb_word_index.json"):
    """The word -> frequency rank dict (subtract nothing, add ``index_from`` to get an id)."""
    return _sequences.load_word_index(_resolve(path, WORD_INDEX), WORD_INDEX)



def _resolve(path, spec):
    return _files.resolve_user_path(path, spec, SUBDIRS, "IMDB", HOW_TO)
