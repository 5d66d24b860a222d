"""Reuters newswire topics: 11,228 Reuters-21578 newswires labelled with one of 46 topics,
each a list of word ids (Keras's preprocessed copy, ``reuters.npz``; Reuters-21578 is
freely available for research).

Ids follow the IMDB scheme: ``rank + index_from``, with 0, 1 and 2 left for padding,
``start_char`` and ``oov_char``; ``get_word_index()`` maps words to ranks and
``get_label_names()`` gives the 46 topic names in label order. The split is Keras's: the
shuffled wires, the first ``1 - test_split`` of them for training.
"""
import numpy as np

from . import _files, _sequences

SUBDIRS = ("reuters",)
NPZ = _files.DataFile(
    "reuters.npz", _files.KERAS_ORIGIN + "reuters.npz",
    sha256="d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916")
WORD_INDEX = _files.DataFile(
    "reuters_word_index.json", _files.KERAS_ORIGIN + "reuters_word_index.json",
    md5="4d44cc38712099c9e383dc6e5f11a921")
HOW_TO = (f"copy Keras's reuters.npz ({NPZ.url}) into a folder named 'reuters';",)

LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
    "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
    "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
    "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """Load the Reuters topics as Keras 3 does.

    Args:
        path: file name of ``reuters.npz`` in the data folders (an absolute path names the file).
        num_words, skip_top, maxlen, start_char, oov_char, index_from: as ``imdb.load_data``.
        test_split: fraction of the shuffled wires kept for testing.
        seed: seed of the shuffle done before splitting.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ids, int64 topics.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"reuters.load_data: test_split must be in [0, 1), got {test_split}.")
    data = _sequences.load_npz(_resolve(path, NPZ), NPZ)
    xs, labels = _sequences.shuffle(np.random.RandomState(seed), data["x"], data["y"])
    xs = _sequences.encode(xs, start_char, index_from)
    if maxlen:
        xs, labels = _sequences.drop_long(maxlen, xs, labels)
    xs = _sequences.limit_vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return ((_sequences.as_object_array(xs[:cut]), np.array(labels[:cut])),
            (_sequences.as_object_array(xs[cut:]), np.array(labels[cut:])))


def get_word_index(path="reuters_word_index.json"):
    """The word -> frequency rank dict."""
    return _sequences.load_word_index(_resolve(path, WORD_INDEX), WORD_INDEX)


def get_label_names():
    """The 46 topic names, indexed by label."""
    return LABEL_NAMES



def _resolve(path, spec):
    return _files.resolve_user_path(path, spec, SUBDIRS, "Reuters", HOW_TO)
