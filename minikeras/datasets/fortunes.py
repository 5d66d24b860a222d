"""Fortune-cookie texts by topic, from the ``fortune`` program's data files (BSD fortune and
its Debian additions): a real text-classification corpus that is on the machine offline.

On Debian/Ubuntu ``apt-get install fortunes`` puts one file per topic in
``/usr/share/games/fortunes`` (``computers``, ``politics``, ``science``, ``startrek``, ...);
the entries of a file are separated by lines holding ``%``. The texts are quotations of
many authors, so minikeras does not redistribute them: they are read where the package put
them (or from a folder ``fortunes/`` in ``MINIKERAS_DATA``).

``load_data`` encodes the texts exactly like ``imdb``/``reuters`` (words ranked by frequency
over all chosen texts, 1 = most frequent; then Keras's ``start_char``/``oov_char``/
``index_from``/``num_words``/``skip_top``/``maxlen`` rules and a shuffled ``test_split``), so
code written for IMDB runs on it unchanged. ``load_texts`` gives the raw strings.
"""
import collections
import os
import re

import numpy as np

from . import _files, _offline, _sequences

SYSTEM_DIRS = ["/usr/share/games/fortunes", "/usr/share/fortune", "/usr/share/fortunes",
               "/usr/local/share/games/fortunes", "/opt/homebrew/share/fortune",
               "/usr/local/share/fortune"]
SUBDIRS = ("fortunes",)
DEFAULT_CATEGORIES = ("computers", "politics", "science", "work")

HOW_TO = ("on Debian/Ubuntu: sudo apt-get install fortunes (the topic files go to "
          "/usr/share/games/fortunes); on macOS: brew install fortune;",)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_OVERSTRIKE = re.compile(r"[^\x08]\x08")


def _folders():
    dirs = [os.path.join(d, sub) for d in _files.search_dirs() for sub in SUBDIRS]
    return dirs + list(SYSTEM_DIRS)


def find_dir(categories):
    """The first folder holding a file for every category, or None."""
    for d in _folders():
        if all(os.path.isfile(os.path.join(d, c)) for c in categories):
            return d
    return None


def read_entries(path):
    """The fortunes of one file: entries between ``%`` lines, overstrikes removed, stripped."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    while "\x08" in text:   # a backspace erases the character before it (overstrikes)
        text, n = _OVERSTRIKE.subn("", text)
        if not n:
            text = text.replace("\x08", "")
    entries = re.split(r"(?m)^%\s*$", text)
    return [e.strip("\n") for e in entries if e.strip()]


def _check_categories(categories):
    if isinstance(categories, str) or not categories:
        raise ValueError(f"fortunes: `categories` must be a non-empty list of topic names, got {categories!r}.")
    categories = tuple(categories)
    if len(set(categories)) != len(categories):
        raise ValueError(f"fortunes: `categories` has repeated names: {categories}.")
    for c in categories:
        if not isinstance(c, str) or os.sep in c or c.startswith(".") or c.endswith((".dat", ".u8")):
            raise ValueError(f"fortunes: {c!r} is not a topic file name.")
    return categories


def load_texts(categories=DEFAULT_CATEGORIES):
    """``(texts, labels)``: every fortune of the chosen topics, in file order; label = the
    topic's position in ``categories`` (int64)."""
    categories = _check_categories(categories)
    folder = find_dir(categories)
    if folder is None:
        raise _offline.missing_error("fortunes", list(categories), HOW_TO, SUBDIRS)
    texts, labels = [], []
    for label, name in enumerate(categories):
        entries = read_entries(os.path.join(folder, name))
        texts.extend(entries)
        labels.extend([label] * len(entries))
    return texts, np.array(labels, dtype=np.int64)


def tokenize(text):
    """Lower-case words (letters and digits, with an apostrophe suffix such as ``don't``)."""
    return _WORD.findall(text.lower())


def _ranked(tokens):
    counts = collections.Counter(w for doc in tokens for w in doc)
    order = sorted(counts, key=lambda w: (-counts[w], w))   # most frequent first, ties a-z
    return {w: rank for rank, w in enumerate(order, 1)}


def get_word_index(categories=DEFAULT_CATEGORIES):
    """``{word: rank}`` over the chosen topics' texts (1 = most frequent), as IMDB's index."""
    texts, _ = load_texts(categories)
    return _ranked([tokenize(t) for t in texts])


def get_label_names(categories=DEFAULT_CATEGORIES):
    return tuple(_check_categories(categories))


def load_data(categories=DEFAULT_CATEGORIES, num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Fortunes of the chosen topics as word-rank sequences, split like ``reuters.load_data``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of Python lists of ints and
        int64 topic labels (positions in ``categories``).
    """
    _sequences.check_arguments(num_words, skip_top, maxlen, start_char, oov_char, index_from)
    _sequences.check_test_split(test_split, "fortunes")
    texts, labels = load_texts(categories)
    tokens = [tokenize(t) for t in texts]
    index = _ranked(tokens)
    ranks = [[index[w] for w in doc] for doc in tokens]
    return _sequences.encode_all(
        ranks, labels, num_words=num_words, skip_top=skip_top, maxlen=maxlen, test_split=test_split,
        seed=seed, start_char=start_char, oov_char=oov_char, index_from=index_from, dataset="fortunes")
