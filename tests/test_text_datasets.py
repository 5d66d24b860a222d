"""IMDB and Reuters loaders: on small files in Keras's own format that the test writes, the
arrays equal what real Keras 3 returns from the same files for every argument the seeds use
(and the edge ones); the word indexes and label names; the checksum and the restricted
unpickler that refuse foreign files. Nothing is downloaded."""
import hashlib
import importlib
import json
import os
import pickle
import urllib.request

import numpy as np
import pytest

from minikeras.datasets import _files, imdb, reuters


def _forbid_network(*args, **kwargs):
    raise AssertionError("a test tried to open a URL")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIKERAS_DATA", str(tmp_path))
    monkeypatch.setenv("MINIKERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("MINIKERAS_OFFLINE", "1")
    monkeypatch.setattr(_files, "SYSTEM_DIRS", [])
    monkeypatch.setattr(urllib.request, "urlopen", _forbid_network)
    return tmp_path


def _ragged(rng, n, vocab, lengths=(3, 40)):
    seqs = np.empty(n, dtype=object)
    for i in range(n):
        seqs[i] = [int(w) for w in rng.integers(1, vocab, rng.integers(*lengths))]
    return seqs


def _publish(module, spec_name, path, monkeypatch):
    """Point the loader's published checksum at the file the test wrote."""
    spec = getattr(module, spec_name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(module, spec_name, _files.DataFile(spec.name, spec.url, sha256=digest))


@pytest.fixture
def imdb_file(data_dir, monkeypatch):
    rng = np.random.default_rng(0)
    path = data_dir / "imdb" / "imdb.npz"
    path.parent.mkdir()
    np.savez(path, x_train=_ragged(rng, 30, 500), y_train=rng.integers(0, 2, 30),
             x_test=_ragged(rng, 20, 500), y_test=rng.integers(0, 2, 20))
    _publish(imdb, "NPZ", path, monkeypatch)
    return path


@pytest.fixture
def reuters_file(data_dir, monkeypatch):
    rng = np.random.default_rng(1)
    path = data_dir / "reuters.npz"
    np.savez(path, x=_ragged(rng, 41, 300), y=rng.integers(0, 46, 41))
    _publish(reuters, "NPZ", path, monkeypatch)
    return path


def _keras_loader(name, path, monkeypatch):
    module = importlib.import_module(f"keras.src.datasets.{name}")
    monkeypatch.setattr(module, "get_file", lambda fname=None, *a, **k: str(path))
    return module


def _assert_same(ours, ref):
    for mine, theirs in zip(ours, ref):
        for a, b in zip(mine, theirs):
            assert a.dtype == b.dtype and a.shape == b.shape
            if a.dtype == object:
                assert [list(s) for s in a] == [list(s) for s in b]
            else:
                np.testing.assert_array_equal(a, b)


ARGUMENTS = [{}, {"num_words": 100}, {"num_words": 100, "skip_top": 5}, {"maxlen": 20}, {"seed": 7},
             {"start_char": None}, {"oov_char": None, "num_words": 50}, {"index_from": 0, "start_char": None},
             {"num_words": 10, "maxlen": 30, "skip_top": 3, "oov_char": 9}]


@pytest.mark.parametrize("kwargs", ARGUMENTS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_imdb_equals_keras_on_the_same_file(keras_ref, imdb_file, monkeypatch, kwargs):
    ref = _keras_loader("imdb", imdb_file, monkeypatch).load_data(**kwargs)
    _assert_same(imdb.load_data(**kwargs), ref)


@pytest.mark.parametrize("kwargs", ARGUMENTS + [{"test_split": 0.5}, {"test_split": 0.0}],
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_reuters_equals_keras_on_the_same_file(keras_ref, reuters_file, monkeypatch, kwargs):
    ref = _keras_loader("reuters", reuters_file, monkeypatch).load_data(**kwargs)
    _assert_same(reuters.load_data(**kwargs), ref)


def test_the_seed_usage_decodes_a_review(imdb_file, data_dir, monkeypatch):
    """Deep Learning with Python: num_words=10000, then decode with the word index (id - 3)."""
    (reviews, labels), _ = imdb.load_data(num_words=10000)
    assert reviews.dtype == object and len(reviews) == 30 and labels.shape == (30,)
    assert all(s[0] == 1 and max(s) < 10000 for s in reviews)
    index = {"the": 1, "movie": 2, "was": 3}
    path = data_dir / "imdb_word_index.json"
    path.write_text(json.dumps(index))
    monkeypatch.setattr(imdb, "WORD_INDEX", _files.DataFile(imdb.WORD_INDEX.name, imdb.WORD_INDEX.url,
                                                            md5=hashlib.md5(path.read_bytes()).hexdigest()))
    word_index = imdb.get_word_index()
    assert word_index == index
    reverse = {rank: word for word, rank in word_index.items()}
    assert " ".join(reverse.get(i - 3, "?") for i in [1, 4, 5, 6, 99]) == "? the movie was ?"


def test_reuters_label_names_match_keras(keras_ref):
    from keras.datasets import reuters as keras_reuters
    assert reuters.get_label_names() == tuple(keras_reuters.get_label_names())
    assert len(reuters.get_label_names()) == 46


def test_a_file_with_the_wrong_checksum_is_refused(data_dir):
    np.savez(data_dir / "imdb.npz", x_train=np.zeros(2), y_train=np.zeros(2), x_test=np.zeros(2),
             y_test=np.zeros(2))
    with pytest.raises(_files.ChecksumError, match="imdb.npz"):
        imdb.load_data()


class _Gadget:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_pickle_that_builds_anything_but_arrays_is_refused(data_dir, monkeypatch):
    """Even with a matching checksum (a tampered copy and a tampered checksum), only NumPy
    arrays can come out of the file: the unpickler refuses every other global."""
    evil = np.empty(2, dtype=object)
    evil[0], evil[1] = [1, 2], _Gadget()
    path = data_dir / "reuters.npz"
    np.savez(path, x=evil, y=np.zeros(2, "int64"))
    _publish(reuters, "NPZ", path, monkeypatch)
    with pytest.raises(ValueError, match=r"refusing to load (posix|os)\.system"):
        reuters.load_data()
    with pytest.raises(pickle.UnpicklingError):  # the check is in the unpickler itself
        from minikeras.datasets._sequences import _ArraysOnlyUnpickler
        import io
        _ArraysOnlyUnpickler(io.BytesIO(pickle.dumps(_Gadget()))).load()


def test_offline_and_absent_says_how_to_get_it(data_dir):
    with pytest.raises(_files.DatasetNotFoundError, match="imdb.npz"):
        imdb.load_data()
    with pytest.raises(TypeError, match="nb_words"):
        imdb.load_data(nb_words=10)
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5)
