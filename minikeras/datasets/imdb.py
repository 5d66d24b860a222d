"""IMDB movie reviews: 50,000 reviews labelled positive (1) or negative (0) (Maas et al., 2011).

Each review is a list of word ranks (1 = the most frequent word of the training reviews).
``load_data`` shifts the ranks by ``index_from`` so that 0 stays free for padding, 1 marks
the start of a review and 2 stands for words cut from the vocabulary; ``get_word_index``
maps words to their ranks (add ``index_from`` to decode). The file is Keras's ``imdb.npz``,
found as described in ``minikeras.datasets._files`` (Keras's own cache included) or
downloaded from Keras's origin, and always checked against its sha256 before it is read.
"""
import json

from . import _files, _sequences

SUBDIRS = ("imdb",)

NPZ = _files.DataFile(
    "imdb.npz", _files.KERAS_ORIGIN + "imdb.npz",
    sha256="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
WORD_INDEX = _files.DataFile(
    "imdb_word_index.json", _files.KERAS_ORIGIN + "imdb_word_index.json",
    md5="bfafd718b763782e994055a2d397834f")

HOW_TO = (f"copy Keras's imdb.npz ({NPZ.url}) into a folder named 'imdb' "
          "(real Keras's cache, ~/.keras/datasets, is searched too);",)


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3, **kwargs):
    """Load IMDB as Keras 3 does.

    Args:
        path: file name of the ``.npz`` (looked up in the data folders, cached under that
            name); an absolute path names the exact file.
        num_words: keep the ``num_words`` most frequent ranks; rarer words become ``oov_char``.
            None keeps all (as in Keras, the very largest index is then treated as rare too).
        skip_top: ranks below ``skip_top`` (after the shift) also become ``oov_char``.
        maxlen: keep only reviews *shorter* than ``maxlen`` (start mark included); Keras drops
            the longer ones rather than cutting them. None keeps all.
        seed: seed of the shuffles (``numpy.random.RandomState``; train, then test).
        start_char: value put in front of every review (None: nothing).
        oov_char: value for words cut by ``num_words``/``skip_top`` (None: drop them).
        index_from: offset added to every rank.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x are 1-D object arrays of Python lists of
        ints, y int64 arrays of 0/1, 25,000 reviews each (fewer with ``maxlen``).
    """
    _sequences.reject_unknown_kwargs(kwargs, "imdb")
    _sequences.check_arguments(num_words, skip_top, maxlen, start_char, oov_char, index_from)
    found = _files.resolve_user_path(path, NPZ, SUBDIRS, "IMDB", HOW_TO)
    _files.verify_file(found, NPZ)  # only the published file is ever unpickled
    f = _sequences.load_npz(found)
    return _sequences.encode_split(
        f["x_train"], f["y_train"], f["x_test"], f["y_test"], num_words=num_words,
        skip_top=skip_top, maxlen=maxlen, seed=seed, start_char=start_char, oov_char=oov_char,
        index_from=index_from, dataset="imdb")


def get_word_index(path="imdb_word_index.json"):
    """``{word: rank}`` for the IMDB vocabulary; rank + ``index_from`` is the value in the data."""
    found = _files.resolve_user_path(path, WORD_INDEX, SUBDIRS, "IMDB word index", HOW_TO)
    _files.verify_file(found, WORD_INDEX)
    with open(found, encoding="utf-8") as fh:
        return json.load(fh)
