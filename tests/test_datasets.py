"""minikeras.datasets: local lookup order, checksums, downloads (never over the network),
defensive reading, the shipped MNIST test set and California housing, and the real
Fashion-MNIST files where the machine has Debian's package."""
import errno
import gzip
import hashlib
import importlib
import io
import os
import stat
import tempfile
import tracemalloc
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest

from minikeras.datasets import (ChecksumError, DatasetNotFoundError, _files, california_housing,
                                fashion_mnist, mnist)
from minikeras.saving import atomic

SYSTEM_ROOT = "/usr/share/datasets"
FASHION_DIR = os.path.join(SYSTEM_ROOT, "fashion-mnist")
FASHION_NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
HAVE_FASHION = all(os.path.isfile(os.path.join(FASHION_DIR, n)) for n in FASHION_NAMES)
needs_fashion = pytest.mark.skipif(
    not HAVE_FASHION, reason="Debian package dataset-fashion-mnist is not installed")


BUNDLED = _files.BUNDLED_DIR   # the copies shipped in the repository (and the wheel)


def _forbid_network(*args, **kwargs):
    raise AssertionError("a test tried to open a URL through urllib")


def _isolate(mp, tmp, system_dirs=(), bundled=False):
    """No user data, empty caches, no downloads: only what a test adds on purpose
    (with ``bundled=True``, the copies shipped with minikeras as well)."""
    mp.setattr(_files, "BUNDLED_DIR", BUNDLED if bundled else None)
    mp.delenv("MINIKERAS_DATA", raising=False)
    mp.setenv("MINIKERAS_HOME", os.path.join(tmp, "home"))
    mp.setenv("KERAS_HOME", os.path.join(tmp, "keras"))
    mp.setenv("MINIKERAS_OFFLINE", "1")
    mp.setattr(_files, "SYSTEM_DIRS", list(system_dirs))
    mp.setattr(urllib.request, "urlopen", _forbid_network)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    _isolate(monkeypatch, str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def fashion():
    if not HAVE_FASHION:
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp, [SYSTEM_ROOT])
        return fashion_mnist.load_data()


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """Like ``isolated``, with the copies shipped with minikeras in place."""
    _isolate(monkeypatch, str(tmp_path), bundled=True)
    return tmp_path


@pytest.fixture(scope="module")
def housing_small():
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp, bundled=True)
        return california_housing.load_data(version="small", seed=113)


def _spec(content, name="demo.bin"):
    return _files.DataFile(name, "https://example.invalid/" + name,
                           sha256=hashlib.sha256(content).hexdigest())


def _no_part_files(folder):
    """No temporary file of an unfinished download is left in ``folder``."""
    return not any(p.name.endswith(atomic.TEMP_SUFFIX) for p in Path(folder).rglob("*"))


# --------------------------------------------------------------------------- Fashion-MNIST

@needs_fashion
def test_fashion_mnist_shapes_dtypes_and_class_counts(fashion):
    (x_train, y_train), (x_test, y_test) = fashion
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for a in (x_train, y_train, x_test, y_test):
        assert type(a) is np.ndarray and a.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert x_train.max() == 255 and x_train.min() == 0
    assert x_train.flags.writeable  # users may normalise in place


@needs_fashion
def test_fashion_mnist_equals_real_keras_on_the_same_files(fashion, keras_ref, monkeypatch):
    kmod = importlib.import_module("keras.src.datasets.fashion_mnist")
    monkeypatch.setattr(kmod, "get_file",
                        lambda fname, *a, **k: os.path.join(FASHION_DIR, fname))
    (kx, ky), (kxt, kyt) = kmod.load_data()
    (x, y), (xt, yt) = fashion
    for mine, ref in ((x, kx), (y, ky), (xt, kxt), (yt, kyt)):
        assert mine.dtype == ref.dtype and mine.shape == ref.shape
        np.testing.assert_array_equal(mine, ref)


@needs_fashion
def test_minikeras_data_takes_precedence_over_the_system_folder(isolated, monkeypatch):
    monkeypatch.setattr(_files, "SYSTEM_DIRS", [SYSTEM_ROOT])
    data = isolated / "mydata"
    (data / "fashion-mnist").mkdir(parents=True)
    (data / "fashion-mnist" / "train-labels-idx1-ubyte.gz").symlink_to(
        os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz"))
    monkeypatch.setenv("MINIKERAS_DATA", str(data))
    paths = dict(zip(["train-labels", "train-images", "t10k-labels", "t10k-images"],
                     fashion_mnist.locate()))
    assert paths["train-labels"].startswith(str(data))
    assert all(paths[k].startswith(FASHION_DIR) for k in ("train-images", "t10k-labels",
                                                           "t10k-images"))


@needs_fashion
def test_corrupt_file_in_minikeras_data_is_an_error_not_skipped(isolated, monkeypatch):
    monkeypatch.setattr(_files, "SYSTEM_DIRS", [SYSTEM_ROOT])  # good copies exist there
    bad = isolated / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    bad.parent.mkdir()
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03"))
    monkeypatch.setenv("MINIKERAS_DATA", str(isolated))
    with pytest.raises(ChecksumError) as err:
        fashion_mnist.load_data()
    msg = str(err.value)
    assert str(bad) in msg and "25c81989df183df01b3e8a0aad5dffbe" in msg
    assert "Delete or replace" in msg


def test_checksum_error_message_for_a_non_gzip_file(isolated):
    bad = isolated / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(b"this is not the data")
    spec = fashion_mnist.FILES["train_labels"]
    with pytest.raises(ChecksumError, match="not a readable gzip file") as err:
        _files.read_verified(str(bad), spec)
    assert hashlib.sha256(b"this is not the data").hexdigest() in str(err.value)
    assert spec.url in str(err.value)


def test_offline_and_missing_gives_one_error_with_instructions(isolated):
    with pytest.raises(DatasetNotFoundError) as err:
        fashion_mnist.load_data()
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "MINIKERAS_DATA" in msg and "connect to the internet" in msg
    assert all(name in msg for name in FASHION_NAMES)


def test_network_failure_gives_the_same_error_and_leaves_no_partial_file(isolated, monkeypatch):
    monkeypatch.delenv("MINIKERAS_OFFLINE")

    def offline(url, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetNotFoundError, match="Name or service not known") as err:
        fashion_mnist.load_data()
    assert "apt-get install dataset-fashion-mnist" in str(err.value)
    assert _no_part_files(isolated)


# --------------------------------------------------------------------------- lookup and download

def test_search_order_env_then_cache_then_keras_cache_then_system(isolated, monkeypatch):
    content = b"same bytes everywhere"
    spec = _spec(content)
    env, system = isolated / "env", isolated / "system"
    places = [env / "demo", Path(_files.cache_dir()) / "demo",
              isolated / "keras" / "datasets", system / "demo"]
    for p in places:
        p.mkdir(parents=True, exist_ok=True)
        (p / spec.name).write_bytes(content)
    monkeypatch.setattr(_files, "SYSTEM_DIRS", [str(system)])
    monkeypatch.setenv("MINIKERAS_DATA", os.pathsep.join([str(isolated / "nothing"), str(env)]))
    for expected in places:
        found = _files.find(spec, ("demo",))
        assert Path(found).parent == expected
        os.unlink(found)
    assert _files.find(spec, ("demo",)) is None


def test_download_from_a_file_url_is_verified_and_atomic(isolated):
    content = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    src = isolated / "origin.bin"
    src.write_bytes(content)
    dest = Path(_files.cache_dir()) / "demo" / "demo.bin"
    out = _files.download(src.as_uri(), str(dest), sha256=hashlib.sha256(content).hexdigest(),
                          opener=urllib.request.build_opener().open, verbose=False)
    assert out == str(dest) and dest.read_bytes() == content
    assert _no_part_files(dest.parent)

    other = isolated / "other.bin"
    with pytest.raises(ChecksumError, match="discarded"):
        _files.download(src.as_uri(), str(other), md5="0" * 32,
                        opener=urllib.request.build_opener().open, verbose=False)
    assert not other.exists() and _no_part_files(isolated)


def test_download_needs_a_checksum(isolated):
    with pytest.raises(ValueError, match="checksum"):
        _files.download("file:///dev/null", str(isolated / "x"))


def test_fetch_downloads_missing_files_into_the_cache_once(isolated, monkeypatch):
    monkeypatch.delenv("MINIKERAS_OFFLINE")
    content = b"payload served by a fake server"
    spec = _spec(content)
    calls = []

    def fake_opener(url, timeout=None):
        calls.append((url, timeout))
        return io.BytesIO(content)

    (path,) = _files.fetch([spec], ("demo",), "Demo", opener=fake_opener)
    assert path == os.path.join(_files.cache_dir(), "demo", spec.name)
    assert Path(path).read_bytes() == content
    assert calls == [(spec.url, _files.DOWNLOAD_TIMEOUT)]
    assert _files.fetch([spec], ("demo",), "Demo", opener=_forbid_network) == [path]


def test_idx_parser_rejects_bad_headers():
    good = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x07\x08\x09"
    np.testing.assert_array_equal(_files.parse_idx(good, "f", 1), [7, 8, 9])
    with pytest.raises(ValueError, match="magic"):
        _files.parse_idx(b"\x01" + good[1:], "f", 1)
    with pytest.raises(ValueError, match="3-d"):
        _files.parse_idx(good, "f", 3)
    with pytest.raises(ValueError, match="holds 2 values"):
        _files.parse_idx(good[:-1], "f", 1)


# --------------------------------------------------------------------------- MNIST

def test_mnist_test_set_is_shipped_and_loads_offline(shipped):
    x_test, y_test = mnist.load_test_data()
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    counts = dict(enumerate(np.bincount(y_test).tolist()))
    assert counts == {0: 980, 1: 1135, 2: 1032, 3: 1010, 4: 982, 5: 892, 6: 958, 7: 1028,
                      8: 974, 9: 1009}


def test_mnist_load_data_with_only_test_files_explains_what_is_missing(shipped):
    with pytest.raises(DatasetNotFoundError) as err:
        mnist.load_data()
    msg = str(err.value)
    assert "mnist.npz" in msg and "train-images-idx3-ubyte.gz" in msg
    assert "load_test_data" in msg and "MINIKERAS_DATA" in msg


def test_mnist_from_a_keras_style_npz(isolated, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 6, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 2, dtype=np.uint8)}
    path = isolated / "mnist.npz"
    np.savez(path, **arrays)
    fake = _files.DataFile("mnist.npz", mnist.NPZ.url,
                           sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    monkeypatch.setattr(mnist, "NPZ", fake)
    (x, y), (xt, yt) = mnist.load_data(path=str(path))
    np.testing.assert_array_equal(x, arrays["x_train"])
    np.testing.assert_array_equal(yt, arrays["y_test"])
    monkeypatch.setenv("MINIKERAS_DATA", str(isolated))  # also found by name
    np.testing.assert_array_equal(mnist.load_test_data()[0], arrays["x_test"])

    monkeypatch.setattr(mnist, "NPZ", _files.DataFile("mnist.npz", fake.url, sha256="0" * 64))
    with pytest.raises(ChecksumError, match="mnist.npz"):
        mnist.load_data(path=str(path))


# --------------------------------------------------------------------------- California Housing

def test_california_small_shapes_dtypes_and_keras_row_order(housing_small):
    (x_train, y_train), (x_test, y_test) = housing_small
    assert x_train.shape == (480, 8) and x_test.shape == (120, 8)
    assert y_train.shape == (480,) and y_test.shape == (120,)
    for a in (x_train, y_train, x_test, y_test):
        assert type(a) is np.ndarray and a.dtype == np.float32
    assert not np.isnan(x_train).any() and not np.isnan(x_test).any()
    # Deep Learning with Python (3rd ed.) prints train_targets ending in 140500., 217100.
    # for Keras's own npz: same rows, same shuffle.
    assert y_train[-2:].tolist() == [140500.0, 217100.0]
    assert 14999 <= y_train.min() and y_train.max() <= 500001


def test_california_large_split_and_seed(shipped, housing_small):
    (x, y), (xt, yt) = california_housing.load_data()
    assert x.shape == (16512, 8) and xt.shape == (4128, 8) and y.shape == (16512,)
    # longitude and latitude stay in the first two columns, whatever the shuffle
    assert -125 < x[:, 0].min() and x[:, 0].max() < -114 and 32 < x[:, 1].min() < x[:, 1].max() < 42
    again = california_housing.load_data(version="small", seed=113)
    for a, b in zip(again[0] + again[1], housing_small[0] + housing_small[1]):
        np.testing.assert_array_equal(a, b)
    other = california_housing.load_data(version="small", seed=7)
    assert not np.array_equal(other[0][1], housing_small[0][1])
    np.testing.assert_array_equal(np.sort(np.concatenate([other[0][1], other[1][1]])),
                                  np.sort(np.concatenate([housing_small[0][1],
                                                          housing_small[1][1]])))
    (a, _), (b, _) = california_housing.load_data(version="small", test_split=0)
    assert a.shape == (600, 8) and b.shape == (0, 8)


def test_california_matches_real_keras_split_logic(shipped, monkeypatch, keras_ref):
    x, y = california_housing._load_table("california_housing.npz")
    npz = shipped / "california_housing.npz"
    np.savez(npz, x=x, y=y)
    kmod = importlib.import_module("keras.src.datasets.california_housing")
    monkeypatch.setattr(kmod, "get_file", lambda *a, **k: str(npz))
    fake = _files.DataFile(npz.name, california_housing.NPZ.url,
                           sha256=hashlib.sha256(npz.read_bytes()).hexdigest())
    monkeypatch.setattr(california_housing, "NPZ", fake)
    for kwargs in ({}, {"version": "small"}, {"version": "small", "test_split": 0.3, "seed": 1}):
        mine = california_housing.load_data(path=str(npz), **kwargs)
        ref = kmod.load_data(**kwargs)
        for a, b in zip(mine[0] + mine[1], ref[0] + ref[1]):
            assert a.shape == b.shape
            np.testing.assert_array_equal(a, b)


HOUSING_HEADER = ("longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,"
                  "households,median_income,median_house_value,ocean_proximity\n")


def _homl_tgz(folder, rows):
    """A Hands-On-ML-style housing.tgz with ``rows`` districts, and a spec that accepts it."""
    import tarfile
    text = HOUSING_HEADER + "".join(
        f"-12{i % 5}.0,3{i % 7}.0,{i + 1}.0,{100 * (i + 1)}.0,{20 * (i + 1)}.0,50.0,10.0,2.5,"
        f"{1000 * (i + 1)}.0,INLAND\n" for i in range(rows))
    data = text.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("housing.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path = folder / "housing.tgz"
    path.write_bytes(buf.getvalue())
    spec = _files.DataFile("housing.tgz", california_housing.TGZ.url,
                           sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    return path, spec


def test_california_rebuilds_from_a_homl_tgz(isolated, monkeypatch):
    data = isolated / "data" / "california_housing"
    data.mkdir(parents=True)
    _, spec = _homl_tgz(data, 12)
    monkeypatch.setattr(california_housing, "TGZ", spec)
    monkeypatch.setenv("MINIKERAS_DATA", str(data.parent))
    (x, y), (xt, yt) = california_housing.load_data(test_split=0.25)
    assert x.shape == (9, 8) and xt.shape == (3, 8)
    assert sorted(np.concatenate([y, yt]).tolist()) == [1000.0 * (i + 1) for i in range(12)]


def _ten_row_keras_npz(data, monkeypatch):
    """A 10-row california_housing.npz in ``data`` (on MINIKERAS_DATA), accepted as Keras's."""
    npz = data / "california_housing.npz"
    np.savez(npz, x=np.ones((10, 8), np.float32), y=np.arange(10, dtype=np.float32))
    monkeypatch.setattr(california_housing, "NPZ", _files.DataFile(
        npz.name, california_housing.NPZ.url, sha256=hashlib.sha256(npz.read_bytes()).hexdigest()))
    monkeypatch.setenv("MINIKERAS_DATA", str(data))
    return npz


def test_california_npz_is_preferred_to_the_tgz(isolated, monkeypatch):
    data = isolated / "data"
    (data / "california_housing").mkdir(parents=True)
    _, spec = _homl_tgz(data / "california_housing", 30)
    monkeypatch.setattr(california_housing, "TGZ", spec)
    npz = _ten_row_keras_npz(data, monkeypatch)
    (x, y), (xt, yt) = california_housing.load_data()
    assert x.shape == (8, 8) and xt.shape == (2, 8)
    assert sorted(np.concatenate([y, yt]).tolist()) == list(range(10))


def test_california_fills_blank_bedrooms_and_keeps_the_row():
    text = ("longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,"
            "households,median_income,median_house_value,ocean_proximity\n"
            "-122.0,37.0,10.0,1000.0,200.0,500.0,100.0,3.0,100000.0,NEAR BAY\n"
            "-121.0,36.0,20.0,2000.0,500.0,900.0,300.0,4.0,200000.0,INLAND\n"
            "-120.0,35.0,30.0,3000.0,,800.0,200.0,5.0,300000.0,INLAND\n")
    x, y = california_housing.parse_homl_csv(text)
    assert x.shape == (3, 8) and x.dtype == np.float32 and y.dtype == np.float32
    assert x[2, 4] == round(3000 * 0.225)  # median of the ratios 0.2 and 0.25
    np.testing.assert_array_equal(y, [100000, 200000, 300000])
    with pytest.raises(ValueError, match="expected the columns"):
        california_housing.parse_homl_csv("a,b\n1,2\n")
    with pytest.raises(ValueError, match="outside total_bedrooms"):
        california_housing.parse_homl_csv(text.replace("500.0,100.0", ",100.0", 1))


@pytest.mark.parametrize("kwargs, match", [
    ({"test_split": 1.0}, "test_split"), ({"test_split": -0.1}, "test_split"),
    ({"test_split": "0.2"}, "test_split"), ({"version": "medium"}, "version")])
def test_california_rejects_bad_arguments_before_touching_files(isolated, kwargs, match):
    with pytest.raises(ValueError, match=match):
        california_housing.load_data(**kwargs)


def test_california_offline_and_missing(isolated):
    with pytest.raises(DatasetNotFoundError) as err:
        california_housing.load_data()
    msg = str(err.value)
    assert "california_housing.npz" in msg and "housing.tgz" in msg and "MINIKERAS_DATA" in msg


# --------------------------------------------------------------------------- shipped copies

def test_shipped_copies_come_first_in_the_search_order(shipped, monkeypatch):
    assert _files.search_dirs()[0] == BUNDLED
    # A valid npz elsewhere does not displace the shipped table (same data everywhere)...
    data = shipped / "data"
    data.mkdir()
    npz = _ten_row_keras_npz(data, monkeypatch)
    (x, _), (xt, _) = california_housing.load_data()
    assert len(x) + len(xt) == 20640
    # ...unless the caller names that file.
    (x, _), (xt, _) = california_housing.load_data(path=str(npz))
    assert len(x) + len(xt) == 10


def test_shipped_files_are_documented_small_and_intact(shipped):
    readme = (Path(BUNDLED) / "README.md").read_text()
    files = sorted(p for p in Path(BUNDLED).rglob("*") if p.is_file() and p.name != "README.md")
    assert files, "nothing is shipped"
    for path in files:
        assert path.name in readme, f"{path.name} is shipped without a note of its source"
        assert path.stat().st_size < 3 * 1024 * 1024
    assert "public domain" in readme and "CC BY-SA 3.0" in readme
    raw = (Path(BUNDLED) / "california_housing" / "california_housing.csv.gz").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == california_housing.BUNDLED.sha256


def test_a_damaged_shipped_copy_is_an_error_that_says_how_to_restore_it(shipped, monkeypatch):
    copy = shipped / "bundled" / "california_housing"
    copy.mkdir(parents=True)
    (copy / "california_housing.csv.gz").write_bytes(gzip.compress(b"longitude\n1\n"))
    monkeypatch.setattr(_files, "BUNDLED_DIR", str(shipped / "bundled"))
    with pytest.raises(ChecksumError, match="git checkout"):
        california_housing.load_data()


# --------------------------------------------------------------------------- hostile files

def _gzip_of_zeros(path, size, lie_about_size=False):
    """A gzip file of ``size`` zero bytes (about size/1000 on disk), written in chunks."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            f.write(deflate.compress(chunk))
        f.write(deflate.flush())
    if lie_about_size:  # the trailer claims a tiny size, so only unpacking can tell
        with open(path, "r+b") as f:
            f.seek(-4, os.SEEK_END)
            f.write((100).to_bytes(4, "little"))
    return path


def _peak_bytes(fn, *args):
    tracemalloc.start()
    try:
        with pytest.raises(ChecksumError) as err:
            fn(*args)
        return tracemalloc.get_traced_memory()[1], str(err.value)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("lie", [False, True], ids=["honest-trailer", "lying-trailer"])
def test_a_gzip_bomb_in_the_data_folder_is_refused_before_it_is_unpacked(isolated, lie):
    bomb = _gzip_of_zeros(isolated / "t10k-images-idx3-ubyte.gz", 256 << 20, lie_about_size=lie)
    assert bomb.stat().st_size < 1 << 20
    spec = mnist.IDX["test_images"]
    peak, msg = _peak_bytes(_files.read_verified, str(bomb), spec)
    assert str(bomb) in msg and "7,840,016" in msg
    assert peak < 32 << 20, f"{peak >> 20} MiB were allocated to reject a file of 8 MB contents"


def test_a_huge_file_in_the_data_folder_is_refused_unread(isolated):
    huge = isolated / "t10k-labels-idx1-ubyte"          # an "unpacked" copy, 4 GiB, sparse
    with open(huge, "wb") as f:
        f.truncate(4 << 30)
    peak, msg = _peak_bytes(_files.read_verified, str(huge), mnist.IDX["test_labels"])
    assert "far more than the published" in msg and peak < 1 << 20


def test_a_mismatching_gzip_without_a_content_checksum_is_not_unpacked(isolated, monkeypatch):
    spec = _files.DataFile("thing.gz", "https://example.invalid/thing.gz", sha256="0" * 64)
    bomb = _gzip_of_zeros(isolated / "thing.gz", 64 << 20)
    peak, msg = _peak_bytes(_files.read_verified, str(bomb), spec)
    assert "corrupt or is not the published" in msg and peak < 4 << 20


# --------------------------------------------------------------------------- the cache on disk

@pytest.mark.parametrize("mask", [0o022, 0o002, 0o027])
def test_downloaded_files_get_the_umask_permissions(isolated, monkeypatch, mask):
    monkeypatch.delenv("MINIKERAS_OFFLINE")
    content = b"data for everyone in the group"
    spec = _spec(content)
    old = os.umask(mask)
    try:
        (path,) = _files.fetch([spec], ("demo",), "Demo", opener=lambda url, timeout: io.BytesIO(content))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o777 & ~mask


def test_a_read_only_cache_folder_is_reported_as_such(isolated, monkeypatch):
    monkeypatch.delenv("MINIKERAS_OFFLINE")
    cache = Path(_files.cache_dir()) / "demo"
    cache.mkdir(parents=True)
    spec = _spec(b"payload")
    opened = []
    real_mkstemp = atomic.tempfile.mkstemp
    if os.geteuid() == 0:  # root ignores modes: fail the file creation as the kernel would
        def mkstemp(*args, dir=None, **kwargs):
            if dir is not None and os.path.samefile(dir, cache):
                raise PermissionError(13, "Permission denied", os.path.join(dir, ".demo.bin.x.tmp"))
            return real_mkstemp(*args, dir=dir, **kwargs)
        monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)
    else:
        os.chmod(cache, 0o555)
    try:
        with pytest.raises(OSError) as err:
            _files.fetch([spec], ("demo",), "Demo",
                         opener=lambda url, timeout: opened.append(url) or io.BytesIO(b"payload"))
    finally:
        os.chmod(cache, 0o755)
    msg = str(err.value)
    assert isinstance(err.value, _files.DataCacheError) and err.value.errno == errno.EACCES
    assert f"{cache}, cannot be written to (Permission denied)" in msg and "MINIKERAS_HOME" in msg
    assert not opened, "nothing should be fetched when it cannot be kept"
