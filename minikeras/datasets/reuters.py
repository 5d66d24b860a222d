"""Reuters newswires: 11,228 short news stories in 46 topics (Reuters-21578, as Keras packs it).

Same encoding as IMDB (word ranks shifted by ``index_from``; 0 padding, 1 start, 2 out of
vocabulary), but one pool of stories that ``load_data`` shuffles and then cuts at
``test_split``. ``get_label_names()`` gives the 46 topic names in label order.
"""
import json

from . import _files, _sequences

SUBDIRS = ("reuters",)

NPZ = _files.DataFile(
    "reuters.npz", _files.KERAS_ORIGIN + "reuters.npz",
    sha256="d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916")
WORD_INDEX = _files.DataFile(
    "reuters_word_index.json", _files.KERAS_ORIGIN + "reuters_word_index.json",
    md5="4d44cc38712099c9e383dc6e5f11a921")

HOW_TO = (f"copy Keras's reuters.npz ({NPZ.url}) into a folder named 'reuters' "
          "(real Keras's cache, ~/.keras/datasets, is searched too);",)

LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi",
    "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal",
    "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc",
    "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """Load Reuters as Keras 3 does.

    Args as ``imdb.load_data``, plus ``test_split``: the fraction of the shuffled (and
    ``maxlen``-filtered) stories that goes to the test set; the first
    ``int(n * (1 - test_split))`` are the training set.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x are 1-D object arrays of Python lists of
        ints, y int64 topic numbers in [0, 46).
    """
    _sequences.check_arguments(num_words, skip_top, maxlen, start_char, oov_char, index_from)
    _sequences.check_test_split(test_split, "reuters")
    found = _files.resolve_user_path(path, NPZ, SUBDIRS, "Reuters", HOW_TO)
    _files.verify_file(found, NPZ)  # only the published file is ever unpickled
    f = _sequences.load_npz(found)
    return _sequences.encode_all(
        f["x"], f["y"], num_words=num_words, skip_top=skip_top, maxlen=maxlen,
        test_split=test_split, seed=seed, start_char=start_char, oov_char=oov_char,
        index_from=index_from, dataset="reuters")


def get_word_index(path="reuters_word_index.json"):
    """``{word: rank}`` for the Reuters vocabulary; rank + ``index_from`` is the value in the data."""
    found = _files.resolve_user_path(path, WORD_INDEX, SUBDIRS, "Reuters word index", HOW_TO)
    _files.verify_file(found, WORD_INDEX)
    with open(found, encoding="utf-8") as fh:
        return json.load(fh)


def get_label_names():
    """The 46 topic names, indexed like the labels."""
    return LABEL_NAMES
