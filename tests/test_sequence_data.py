"""Sequence data: ``pad_sequences`` against real Keras 3, the IMDB and Reuters loaders on files
written here in Keras's real format (compared with real Keras's loaders on the same files),
the safety of loading pickled object arrays, and the offline sets (sunspots, Japanese
Vowels, fortunes). Nothing here touches the network."""
import hashlib
import importlib
import inspect
import json
import os
import pickle
import sys
import urllib.request
import zipfile

import numpy as np
import pytest

import minikeras as keras
from minikeras.datasets import (ChecksumError, DatasetNotFoundError, _files, _offline, _sequences,
                                fortunes, imdb, japanese_vowels, reuters, sunspots)


@pytest.fixture(autouse=True)
def array_backend():
    """Data loading is plain NumPy: run each test once (overrides conftest's parametrisation)."""
    yield "numpy"


def _forbid_network(*args, **kwargs):
    raise AssertionError("a test tried to open a URL through urllib")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No user data, empty caches, no downloads, no system folders."""
    monkeypatch.delenv("MINIKERAS_DATA", raising=False)
    monkeypatch.setenv("MINIKERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("MINIKERAS_OFFLINE", "1")
    monkeypatch.setattr(_files, "SYSTEM_DIRS", [])
    monkeypatch.setattr(urllib.request, "urlopen", _forbid_network)
    return tmp_path


# --------------------------------------------------------------------------- pad_sequences

def _random_sequences(rng, n, max_len, item_shape=(), empty=True, kind="int"):
    out = []
    for _ in range(n):
        length = int(rng.integers(0 if empty else 1, max_len + 1))
        if kind == "int":
            out.append(rng.integers(1, 100, size=(length,) + item_shape).tolist())
        else:
            out.append(rng.normal(size=(length,) + item_shape).astype("float32"))
    return out


PAD_CASES = [
    dict(),
    dict(maxlen=3),
    dict(maxlen=12),
    dict(padding="post"),
    dict(truncating="post", maxlen=4),
    dict(padding="post", truncating="post", maxlen=5),
    dict(value=-1),
    dict(value=7, padding="post", maxlen=2),
    dict(dtype="int64"),
    dict(dtype="float32", value=0.5),
    dict(dtype="float64", maxlen=6, truncating="post"),
    dict(maxlen=1),
]


@pytest.mark.parametrize("case", PAD_CASES, ids=[str(c) for c in PAD_CASES])
def test_pad_sequences_matches_keras_on_integer_lists(case, keras_ref, rng):
    for trial in range(4):
        seqs = _random_sequences(rng, 9, 8, empty=trial % 2 == 0)
        mine = keras.utils.pad_sequences(seqs, **case)
        ref = keras_ref.utils.pad_sequences(seqs, **case)
        assert mine.dtype == ref.dtype and mine.shape == ref.shape
        np.testing.assert_array_equal(mine, ref)


@pytest.mark.parametrize("case", [dict(dtype="float32"), dict(dtype="float32", padding="post", maxlen=5),
                                  dict(dtype="float32", truncating="post", maxlen=3, value=-9.0)])
def test_pad_sequences_matches_keras_on_vector_items(case, keras_ref, rng):
    seqs = _random_sequences(rng, 7, 9, item_shape=(3,), empty=False, kind="float")
    mine = keras.utils.pad_sequences(seqs, **case)
    ref = keras_ref.utils.pad_sequences(seqs, **case)
    assert mine.shape == ref.shape == (7, case.get("maxlen", max(map(len, seqs))), 3)
    np.testing.assert_array_equal(mine, ref)


def test_pad_sequences_matches_keras_on_arrays_tuples_and_strings(keras_ref):
    cases = [
        (np.array([[1, 2, 3], [4, 5, 6]]), dict(maxlen=2)),
        ([(1, 2), (3,), ()], dict(padding="post")),
        ([np.arange(5), np.arange(2)], dict(maxlen=4, truncating="post")),
        ([["the", "cat"], ["a"]], dict(dtype=object, value="<pad>")),
        ([["the", "cat"], ["a"]], dict(dtype="<U5", value="", padding="post")),
    ]
    for seqs, kw in cases:
        mine = keras.utils.pad_sequences(seqs, **kw)
        ref = keras_ref.utils.pad_sequences(seqs, **kw)
        assert mine.dtype == ref.dtype, kw
        np.testing.assert_array_equal(mine, ref)


def test_pad_sequences_documented_examples_and_defaults(keras_ref):
    seq = [[1], [2, 3], [4, 5, 6]]
    pad = keras.utils.pad_sequences
    assert pad(seq).tolist() == [[0, 0, 1], [0, 2, 3], [4, 5, 6]] and pad(seq).dtype == np.int32
    assert pad(seq, value=-1).tolist() == [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]
    assert pad(seq, padding="post").tolist() == [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    assert pad(seq, maxlen=2).tolist() == [[0, 1], [2, 3], [5, 6]]
    assert keras.preprocessing.sequence.pad_sequences is pad
    mine = inspect.signature(pad).parameters
    ref = inspect.signature(keras_ref.utils.pad_sequences).parameters
    assert [(p.name, p.default) for p in mine.values()] == [(p.name, p.default) for p in ref.values()]


def test_pad_sequences_edge_shapes():
    pad = keras.utils.pad_sequences
    assert pad([]).shape == (0, 0)
    assert pad([], maxlen=4).shape == (0, 4)
    assert pad([[], []]).shape == (2, 0)
    np.testing.assert_array_equal(pad([[1, 2], []], maxlen=0), np.zeros((2, 0), dtype=np.int32))
    np.testing.assert_array_equal(pad([[], [5]], value=9), [[9], [5]])


def test_pad_sequences_refuses_bad_input_clearly():
    pad = keras.utils.pad_sequences
    with pytest.raises(ValueError, match="sized iterable"):
        pad(iter([[1]]))
    with pytest.raises(ValueError, match="item 1"):
        pad([[1], 5])
    with pytest.raises(ValueError, match='padding type "middle"'):
        pad([[1]], padding="middle")
    with pytest.raises(ValueError, match='truncating type "both"'):
        pad([[1]], truncating="both")
    with pytest.raises(ValueError, match="maxlen"):
        pad([[1]], maxlen=-1)
    with pytest.raises(ValueError, match="sequence 1 has items of shape"):
        pad([np.zeros((2, 3)), np.zeros((2, 4))], dtype="float32")
    with pytest.raises(ValueError, match="dtype=object"):
        pad([["a"]], value="<pad>")


def test_pad_sequences_will_not_silently_cut_values():
    """Deliberately stricter than Keras, which casts these silently."""
    pad = keras.utils.pad_sequences
    with pytest.raises(ValueError, match=r"sequence 1 holds the non-integer value 0\.25.*float32"):
        pad([[1.0, 2.0], [0.25]])
    with pytest.raises(ValueError, match="fill `value`"):
        pad([[1]], value=0.5)
    with pytest.raises(ValueError, match="outside the range"):
        pad([np.array([2 ** 40])])
    # integral floats are fine, as are real values with a float dtype
    assert pad([[1.0, 2.0]]).tolist() == [[1, 2]]
    assert pad([[0.25]], dtype="float32", maxlen=2).tolist() == [[0.0, 0.25]]


# --------------------------------------------------------------------------- IMDB / Reuters files

def _ragged(rng, n, vocab, low=2, high=30):
    """Reviews as Keras stores them: lists of word ranks, 1 = most frequent (Zipf-like)."""
    out = []
    for _ in range(n):
        length = int(rng.integers(low, high))
        ranks = np.minimum(rng.zipf(1.3, size=length), vocab)
        out.append([int(v) for v in ranks])
    return out


def _write_npz(path, **arrays):
    _sequences.save_npz(path, **arrays)
    with np.load(path, allow_pickle=True) as f:   # the file really holds pickled object arrays
        assert all(f[k].dtype == object for k, v in arrays.items() if not isinstance(v, np.ndarray))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def imdb_file(isolated, monkeypatch, rng):
    data = dict(x_train=_ragged(rng, 40, 300), y_train=rng.integers(0, 2, 40),
                x_test=_ragged(rng, 30, 300), y_test=rng.integers(0, 2, 30))
    folder = isolated / "data" / "imdb"
    folder.mkdir(parents=True)
    path = folder / "imdb.npz"
    sha = _write_npz(path, **data)
    monkeypatch.setattr(imdb, "NPZ", _files.DataFile("imdb.npz", imdb.NPZ.url, sha256=sha))
    monkeypatch.setenv("MINIKERAS_DATA", str(isolated / "data"))
    return path, data


@pytest.fixture
def reuters_file(isolated, monkeypatch, rng):
    data = dict(x=_ragged(rng, 60, 200), y=rng.integers(0, 46, 60))
    path = isolated / "reuters.npz"
    sha = _write_npz(path, **data)
    monkeypatch.setattr(reuters, "NPZ", _files.DataFile("reuters.npz", reuters.NPZ.url, sha256=sha))
    return path, data


def _keras_loader(monkeypatch, name, path):
    module = importlib.import_module(f"keras.src.datasets.{name}")
    monkeypatch.setattr(module, "get_file", lambda *a, **k: str(path))
    return module.load_data


def _same(mine, ref):
    (x, y), (xt, yt) = mine
    (kx, ky), (kxt, kyt) = ref
    for a, b in ((x, kx), (xt, kxt)):
        assert type(a) is np.ndarray and a.dtype == object and a.ndim == 1 and a.shape == b.shape
        assert all(type(s) is list for s in a)
        assert [list(s) for s in a] == [list(s) for s in b]
    for a, b in ((y, ky), (yt, kyt)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


LOAD_CASES = [
    dict(),
    dict(num_words=20),
    dict(num_words=50, skip_top=4),
    dict(maxlen=12),
    dict(seed=7, maxlen=20, num_words=40),
    dict(start_char=None),
    dict(start_char=None, index_from=0),
    dict(oov_char=None, num_words=30, skip_top=5),
    dict(index_from=10, start_char=5, oov_char=3),
]


@pytest.mark.parametrize("case", LOAD_CASES, ids=[str(c) for c in LOAD_CASES])
def test_imdb_matches_real_keras_on_the_same_file(case, imdb_file, keras_ref, monkeypatch):
    path, _ = imdb_file
    _same(imdb.load_data(**case), _keras_loader(monkeypatch, "imdb", path)(**case))


@pytest.mark.parametrize("case", LOAD_CASES + [dict(test_split=0.5), dict(test_split=0.0),
                                               dict(test_split=1.0, num_words=25)],
                         ids=[str(c) for c in LOAD_CASES] + ["split.5", "split0", "split1"])
def test_reuters_matches_real_keras_on_the_same_file(case, reuters_file, keras_ref, monkeypatch):
    path, _ = reuters_file
    _same(reuters.load_data(path=str(path), **case),
          _keras_loader(monkeypatch, "reuters", path)(**case))


def test_imdb_encoding_is_what_keras_documents(imdb_file):
    _, raw = imdb_file
    (x, y), (xt, yt) = imdb.load_data()
    assert len(x) == 40 and len(xt) == 30 and y.dtype == np.int64
    # shuffled with RandomState(113): first the training reviews, then the test reviews
    rng = np.random.RandomState(113)
    order_train, order_test = np.arange(40), np.arange(30)
    rng.shuffle(order_train)
    rng.shuffle(order_test)
    np.testing.assert_array_equal(y, np.asarray(raw["y_train"])[order_train])
    np.testing.assert_array_equal(yt, np.asarray(raw["y_test"])[order_test])
    largest = max(max(s) for s in raw["x_train"] + raw["x_test"]) + 3
    for mine, i in ((x[0], order_train[0]), (xt[5], order_test[5])):
        original = (raw["x_train"] if mine is x[0] else raw["x_test"])[i]
        assert mine[0] == 1                                    # start_char
        expected = [w + 3 if w + 3 < largest else 2 for w in original]  # index_from, Keras's limit
        assert mine[1:] == expected
    (x, _), (xt, _) = imdb.load_data(num_words=10)
    values = {w for s in list(x) + list(xt) for w in s}
    assert max(values) <= 9 and 2 in values                    # ranks >= num_words became oov_char
    (x, _), _ = imdb.load_data(num_words=10, oov_char=None, skip_top=4)
    assert all(4 <= w < 10 for s in x for w in s)              # start mark 1 < skip_top is dropped too
    (x, _), (xt, _) = imdb.load_data(maxlen=10)
    assert max(len(s) for s in list(x) + list(xt)) <= 9        # kept only if shorter than maxlen
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(maxlen=2)


def test_imdb_signature_and_argument_checks(keras_ref, imdb_file):
    for mine, ref in ((imdb.load_data, keras_ref.datasets.imdb.load_data),
                      (reuters.load_data, keras_ref.datasets.reuters.load_data),
                      (imdb.get_word_index, keras_ref.datasets.imdb.get_word_index),
                      (reuters.get_word_index, keras_ref.datasets.reuters.get_word_index)):
        a, b = inspect.signature(mine).parameters, inspect.signature(ref).parameters
        assert [(p.name, p.default, p.kind) for p in a.values()] == \
               [(p.name, p.default, p.kind) for p in b.values()], mine
    assert reuters.get_label_names() == keras_ref.datasets.reuters.get_label_names()
    with pytest.raises(TypeError, match="nb_words"):
        imdb.load_data(nb_words=10)
    with pytest.raises(ValueError, match="num_words"):
        imdb.load_data(num_words=-3)
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5)


def test_word_index_from_a_written_file(isolated, monkeypatch):
    folder = isolated / "keras" / "datasets"     # real Keras's cache is searched too
    folder.mkdir(parents=True)
    path = folder / "imdb_word_index.json"
    path.write_text(json.dumps({"the": 1, "and": 2, "film": 19}))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setattr(imdb, "WORD_INDEX", _files.DataFile(path.name, imdb.WORD_INDEX.url, md5=md5))
    assert imdb.get_word_index() == {"the": 1, "and": 2, "film": 19}
    path.write_text(json.dumps({"the": 2}))
    with pytest.raises(ChecksumError, match="imdb_word_index.json"):
        imdb.get_word_index()


def test_offline_and_missing_names_the_file_and_the_origin(isolated):
    with pytest.raises(DatasetNotFoundError) as err:
        imdb.load_data()
    assert "imdb.npz" in str(err.value) and imdb.NPZ.url in str(err.value)
    with pytest.raises(DatasetNotFoundError, match="reuters.npz"):
        reuters.load_data()


def test_wrong_checksum_is_refused_before_anything_is_unpickled(imdb_file, monkeypatch):
    path, _ = imdb_file
    monkeypatch.setattr(imdb, "NPZ", _files.DataFile("imdb.npz", imdb.NPZ.url, sha256="0" * 64))
    monkeypatch.setattr(_sequences, "load_npz", lambda p: pytest.fail("unpickled an unverified file"))
    with pytest.raises(ChecksumError, match="imdb.npz"):
        imdb.load_data()


class _Gadget:
    """What an attacker would pickle: unpickling it runs a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_runs_code_is_refused_even_with_a_matching_checksum(isolated, monkeypatch):
    marker = isolated / "pwned"
    npy = isolated / "x.npy"
    header = {"descr": "|O", "fortran_order": False, "shape": (1,)}
    with open(npy, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        pickle.dump(_Gadget(marker), fh, protocol=3)
    path = isolated / "imdb.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name in ("x_train", "x_test"):
            z.write(npy, f"{name}.npy")
        for name in ("y_train", "y_test"):
            with z.open(f"{name}.npy", "w") as fh:
                np.lib.format.write_array(fh, np.zeros(1, dtype=np.int64))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(imdb, "NPZ", _files.DataFile("imdb.npz", imdb.NPZ.url, sha256=sha))
    with pytest.raises(ValueError, match="refusing to load posix.system|refusing to load os.system"):
        imdb.load_data(path=str(path))
    assert not marker.exists()


def test_load_npz_keeps_numeric_arrays_off_pickle(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.arange(6).reshape(2, 3), b=np.array([1.5], dtype=np.float32))
    arrays = _sequences.load_npz(path)
    np.testing.assert_array_equal(arrays["a"], np.arange(6).reshape(2, 3))
    assert arrays["b"].dtype == np.float32


# --------------------------------------------------------------------------- sunspots

def test_sunspots_bundled_series():
    months, counts = sunspots.load_data()
    assert months.dtype == np.dtype("datetime64[M]") and counts.dtype == np.float32
    assert counts.shape == months.shape == (3126,)
    assert str(months[0]) == "1749-01" and str(months[-1]) == "2009-06"
    assert counts[:5].tolist() == pytest.approx([58.0, 62.6, 70.0, 55.7, 85.0])
    assert counts.min() == 0 and 250 < counts.max() < 260       # the 1957-58 maximum (253.8)
    assert str(months[counts.argmax()]).startswith("1957")
    # the eleven-year cycle: the autocorrelation of the yearly means peaks near lag 11
    yearly = counts[:260 * 12].reshape(260, 12).mean(axis=1)
    y = yearly - yearly.mean()
    acf = [np.dot(y[:-k], y[k:]) / np.dot(y, y) for k in range(1, 16)]
    assert int(np.argmax(acf[5:])) + 6 in (10, 11, 12)


def test_sunspots_parser_and_errors():
    text = "header\n1900   1.0   2.5\n\n1900x bad\n"
    months, values = sunspots.parse(text)
    assert [str(m) for m in months] == ["1900-01", "1900-02"] and values.tolist() == [1.0, 2.5]
    with pytest.raises(ValueError, match="not consecutive"):
        sunspots.parse("1900 1 2 3 4 5 6 7 8 9 10 11\n1901 1\n")
    with pytest.raises(ValueError, match="no rows"):
        sunspots.parse("nothing here\n")


def test_offline_lookup_uses_an_installed_package_when_no_copy_ships(isolated, monkeypatch):
    """The shipped copies come first (see _files); a wheel built without them still finds the
    file in statsmodels/sktime when those are installed, and passes over other versions."""
    import gzip
    from minikeras.datasets import _files
    with open(os.path.join(_offline.BUNDLED_DIR, sunspots.FILE.name), "rb") as fh:
        raw = gzip.decompress(fh.read())
    site = isolated / "site"
    folder = site / "fakestats" / "datasets" / "sunspots" / "src"
    folder.mkdir(parents=True)
    (site / "fakestats" / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (folder / "sunspots_monthly.dat").write_bytes(raw)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(sunspots, "PACKAGES", (("fakestats", "datasets/sunspots/src"),))
    monkeypatch.setattr(_files, "BUNDLED_DIR", None)
    found = _offline.locate(sunspots.FILE, sunspots.SUBDIRS, sunspots.PACKAGES)
    assert found == str(folder / "sunspots_monthly.dat")
    assert "fakestats" not in sys.modules
    assert sunspots.load_data()[1].shape == (3126,)
    # another version of the package's file is passed over: the bundled copy is used
    (folder / "sunspots_monthly.dat").write_bytes(raw.replace(b"58.0", b"59.0"))
    found = _offline.locate(sunspots.FILE, sunspots.SUBDIRS, sunspots.PACKAGES)
    assert found == os.path.join(_offline.BUNDLED_DIR, sunspots.FILE.name)
    assert sunspots.load_data()[1][0] == 58.0
    # a wrong file in a data folder is an error, never silently replaced
    data = isolated / "data" / "sunspots"
    data.mkdir(parents=True)
    (data / "sunspots_monthly.dat").write_bytes(raw.replace(b"58.0", b"59.0"))
    monkeypatch.setenv("MINIKERAS_DATA", str(isolated / "data"))
    with pytest.raises(ChecksumError, match="sunspots_monthly"):
        sunspots.load_data()
    monkeypatch.delenv("MINIKERAS_DATA")
    monkeypatch.setattr(_offline, "BUNDLED_DIR", str(isolated / "nothing"))
    monkeypatch.setattr(sunspots, "PACKAGES", ())
    with pytest.raises(DatasetNotFoundError, match="pip install statsmodels"):
        sunspots.load_data()


# --------------------------------------------------------------------------- Japanese Vowels

def test_japanese_vowels_bundled_split():
    (x, y), (xt, yt) = japanese_vowels.load_data()
    assert x.dtype == object and x.shape == (270,) and xt.shape == (370,)
    assert np.bincount(y).tolist() == [30] * 9
    assert np.bincount(yt).tolist() == [31, 35, 88, 44, 29, 24, 40, 50, 29]
    lengths = [len(s) for s in list(x) + list(xt)]
    assert min(lengths) == 7 and max(lengths) == 29 and len(set(lengths)) > 10
    assert all(s.dtype == np.float32 and s.shape[1] == 12 for s in x)
    assert x[0][0, 0] == pytest.approx(1.860936) and x[0][1, 0] == pytest.approx(1.891651)
    padded = keras.utils.pad_sequences(x, dtype="float32", padding="post")
    assert padded.shape == (270, 26, 12)
    np.testing.assert_array_equal(padded[0, :len(x[0])], x[0])


def test_ts_parser(tmp_path):
    text = ("#comment\n@problemName demo\n@dimensions 2\n@classLabel true a b\n@data\n"
            "1,2,3:4,5,6:a\n0.5,1:2,3:b\n")
    cases, labels = japanese_vowels.parse_ts(text)
    assert labels == ["a", "b"]
    np.testing.assert_array_equal(cases[0], [[1, 4], [2, 5], [3, 6]])
    assert cases[1].shape == (2, 2)
    with pytest.raises(ValueError, match="line 3: 1 dimensions"):
        japanese_vowels.parse_ts("@dimensions 2\n@data\n1,2:a\n")
    with pytest.raises(ValueError, match="different lengths"):
        japanese_vowels.parse_ts("@data\n1,2:3:a\n")
    with pytest.raises(ValueError, match="no @data"):
        japanese_vowels.parse_ts("@dimensions 2\n")


# --------------------------------------------------------------------------- fortunes

@pytest.fixture
def fortune_dir(isolated, monkeypatch):
    folder = isolated / "data" / "fortunes"
    folder.mkdir(parents=True)
    (folder / "cats").write_text("The cat sat.\n%\nA cat, a cat!\n%\nCats don't care.\n\t-- Someone\n%\n")
    (folder / "dogs").write_text("Dogs bark at the moon.\n%\nthe dog\b\bg sat\n%\n")
    monkeypatch.setenv("MINIKERAS_DATA", str(isolated / "data"))
    monkeypatch.setattr(fortunes, "SYSTEM_DIRS", [])
    return folder


def test_fortunes_texts_index_and_encoding(fortune_dir):
    texts, labels = fortunes.load_texts(("cats", "dogs"))
    assert texts[:2] == ["The cat sat.", "A cat, a cat!"] and len(texts) == 5
    assert texts[4] == "the dg sat"                    # overstrikes removed
    assert labels.tolist() == [0, 0, 0, 1, 1] and labels.dtype == np.int64
    assert fortunes.tokenize("Cats don't CARE.") == ["cats", "don't", "care"]
    index = fortunes.get_word_index(("cats", "dogs"))
    assert index["cat"] == 1 and index["the"] == 2 and index["a"] == 3 and index["sat"] == 4
    (x, y), (xt, yt) = fortunes.load_data(("cats", "dogs"), test_split=0.4)
    assert len(x) == 3 and len(xt) == 2 and x.dtype == object
    order = np.arange(5)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([y, yt]), labels[order])
    largest = max(index.values()) + 3
    decoded = {1: "<start>", 2: "<oov>", **{r + 3: w for w, r in index.items() if r + 3 < largest}}
    assert all(s[0] == 1 for s in list(x) + list(xt))
    first = [decoded[w] for w in x[0]]
    tokens = fortunes.tokenize(texts[order[0]])
    assert first == ["<start>"] + [t if index[t] + 3 < largest else "<oov>" for t in tokens]
    (x, _), _ = fortunes.load_data(("cats", "dogs"), num_words=5, start_char=None)
    assert {w for s in x for w in s} == {2, 4}        # 'cat' (rank 1 -> 4) stays, the rest is oov


def test_fortunes_errors(fortune_dir):
    with pytest.raises(DatasetNotFoundError, match="apt-get install fortunes"):
        fortunes.load_texts(("cats", "birds"))
    with pytest.raises(ValueError, match="list of topic names"):
        fortunes.load_data("cats")
    with pytest.raises(ValueError, match="not a topic file"):
        fortunes.load_texts(("cats.dat",))
    with pytest.raises(ValueError, match="repeated"):
        fortunes.load_texts(("cats", "cats"))


@pytest.mark.skipif(fortunes.find_dir(fortunes.DEFAULT_CATEGORIES) is None,
                    reason="the Debian package fortunes is not installed")
def test_fortunes_from_the_debian_package():
    (x, y), (xt, yt) = fortunes.load_data(num_words=2000)
    assert len(x) > 1500 and len(xt) > 400
    assert set(np.unique(y)) == {0, 1, 2, 3}
    assert max(max(s) for s in x) < 2000
    assert fortunes.get_label_names() == ("computers", "politics", "science", "work")
