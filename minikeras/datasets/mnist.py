"""MNIST: 70,000 28x28 grayscale handwritten digits (LeCun, Cortes and Burges; CC BY-SA 3.0).

Two on-disk forms are accepted, each checked against its published checksum:
Keras's ``mnist.npz`` (what ``load_data`` downloads when it must) and LeCun's four IDX
files (``train-images-idx3-ubyte.gz`` and friends, gzipped or not). Where they are looked
for is described in ``minikeras.datasets._files``.
"""
import os

import numpy as np

from . import _files

SUBDIRS = ("mnist",)

NPZ = _files.DataFile(
    "mnist.npz", _files.KERAS_ORIGIN + "mnist.npz",
    sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")

_LECUN = "https://storage.googleapis.com/cvdf-datasets/mnist/"  # a mirror of LeCun's files
IDX = {
    "train_images": _files.DataFile(
        "train-images-idx3-ubyte.gz", _LECUN + "train-images-idx3-ubyte.gz",
        md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
        sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        content_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        content_size=47_040_016),
    "train_labels": _files.DataFile(
        "train-labels-idx1-ubyte.gz", _LECUN + "train-labels-idx1-ubyte.gz",
        md5="d53e105ee54ea40749a09fcbcd1e9432",
        sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        content_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        content_size=60_008),
    "test_images": _files.DataFile(
        "t10k-images-idx3-ubyte.gz", _LECUN + "t10k-images-idx3-ubyte.gz",
        md5="9fb629c4189551a2d022fa330f9573f3",
        sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        content_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        content_size=7_840_016),
    "test_labels": _files.DataFile(
        "t10k-labels-idx1-ubyte.gz", _LECUN + "t10k-labels-idx1-ubyte.gz",
        md5="ec29112dd5afa0611ce80d1b7f02629c",
        sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        content_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        content_size=10_008),
}

HOW_TO = (f"copy Keras's mnist.npz ({NPZ.url}) or LeCun's four "
          "*-idx?-ubyte.gz files into a folder named 'mnist';",)


def load_data(path="mnist.npz"):
    """Load MNIST as Keras does.

    Args:
        path: file name of the Keras ``.npz`` copy, looked up in the data folders and cached
            under that name; an absolute path names the exact file.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 NumPy arrays of shapes
        (60000, 28, 28), (60000,), (10000, 28, 28) and (10000,).
    """
    return _load(path, ("train", "test"))


def load_test_data(path="mnist.npz"):
    """Only the 10,000 test digits, as ``(x_test, y_test)`` (a minikeras extension).

    Useful where only the test files are on disk (they are a fifth of the download):
    evaluation, quick notebook runs and tests.
    """
    return _load(path, ("test",))[0]


def _load(path, splits):
    npz = _find_npz(path)
    path = os.fspath(path)
    if npz is None:
        wanted = [k for k in IDX if k.split("_")[0] in splits]
        found = {k: _files.find(IDX[k], SUBDIRS) for k in wanted}
        if all(found.values()):
            return _from_idx(found, splits)
        try:
            npz = _files.resolve_user_path(path, NPZ, SUBDIRS, "MNIST", HOW_TO)
        except _files.DatasetNotFoundError as exc:
            have = [IDX[k].name for k in IDX if _files.find(IDX[k], SUBDIRS)]
            if not have:
                raise
            lacking = [IDX[k].name for k in wanted if not found[k]]
            hint = (f"\nOf LeCun's IDX files only {', '.join(have)} were found; "
                    f"{', '.join(lacking)} would be needed as well.")
            if "train" in splits and all(found[k] for k in ("test_images", "test_labels")):
                hint += " mnist.load_test_data() works with the two t10k files alone."
            raise _files.DatasetNotFoundError(f"{exc}{hint}") from None
    return _from_npz(npz, splits)


def _find_npz(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name or path string, got {type(path).__name__}")
    path = os.fspath(path)
    if os.path.isabs(path):
        return path if os.path.isfile(path) else None
    return _files.find(_files.DataFile(path, NPZ.url, sha256=NPZ.sha256), SUBDIRS)


def _from_npz(path, splits):
    _files.verify_file(path, NPZ)
    out = []
    with np.load(path, allow_pickle=False) as f:
        for split in splits:
            out.append((f[f"x_{split}"], f[f"y_{split}"]))
    return tuple(out)


def _from_idx(paths, splits):
    out = []
    for split in splits:
        x = _files.parse_idx(_files.read_verified(paths[f"{split}_images"], IDX[f"{split}_images"]),
                             paths[f"{split}_images"], 3)
        y = _files.parse_idx(_files.read_verified(paths[f"{split}_labels"], IDX[f"{split}_labels"]),
                             paths[f"{split}_labels"], 1)
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"MNIST {split} files disagree: images {x.shape}, labels {y.shape}.")
        out.append((x, y))
    return tuple(out)
