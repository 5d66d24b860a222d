"""California Housing: 20,640 census block groups from the 1990 US census (Pace and Barry, 1997).

Keras's ``california_housing.npz`` holds the StatLib table as is: eight raw numeric
features per district, in the column order of ``FEATURE_NAMES`` (totals, not per-household
averages, whatever the Keras docstring's list suggests), and the median house value in
dollars as the float32 target. The rows keep the StatLib order, so ``version="small"``
(the first 600 rows) and the shuffle with ``seed`` pick the same districts as Keras.

minikeras ships a compact copy of the table, ``california_housing.csv.gz`` in
``minikeras/datasets/bundled`` (public domain; made from Hands-On ML's ``housing.csv`` by
``tools/bundle_california_housing.py``), and ``load_data()`` uses it first, so the data is
the same on every machine and needs no download. Without it (or when ``path`` names
another file) the loader looks for Keras's npz, then for the Hands-On ML copy
``housing.tgz`` / ``housing.csv`` (sub-folder ``california_housing`` or ``housing``), and
downloads the npz as a last resort.

The Hands-On ML copy, and so the shipped one, differs from StatLib in two ways: an extra
``ocean_proximity`` text column, which is dropped, and 207 deliberately blanked
``total_bedrooms`` values. Rows are kept (dropping them would shift which districts
``version="small"`` and the seeded split select); each blank is filled with
``total_rooms`` times the median bedrooms-per-room ratio of the complete rows, rounded to a
whole number. So the arrays equal Keras's except for those 207 estimated cells (4 of them
among the first 600 rows).
"""
import csv
import io
import os
import tarfile

import numpy as np

from . import _files

SUBDIRS = ("california_housing", "housing")

FEATURE_NAMES = ("longitude", "latitude", "housing_median_age", "total_rooms",
                 "total_bedrooms", "population", "households", "median_income")
TARGET_NAME = "median_house_value"

NPZ = _files.DataFile(
    "california_housing.npz", _files.KERAS_ORIGIN + "california_housing.npz",
    sha256="1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f")

_HOML = "https://raw.githubusercontent.com/ageron/handson-ml2/master/datasets/housing/"
TGZ = _files.DataFile(
    "housing.tgz", _HOML + "housing.tgz",
    sha256="d4cd501af90475f09b814c7447c7701f59bf28e8cf1180205ae5ace9737a0109")
CSV = _files.DataFile(
    "housing.csv", _HOML + "housing.csv",
    sha256="8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e",
    content_size=1_423_529)
# The copy shipped with minikeras: housing.csv without its text column (see bundled/README.md).
BUNDLED = _files.DataFile(
    "california_housing.csv.gz", "",
    sha256="3ed8200d07dc3c39f413cd205098a44456593c61e1c70fa0ae979cb964ca216d",
    content_sha256="cab182bb036c72c021b5becda99ab87d339c955acc32b6d6ffa8acc532c87725",
    content_size=987_933)

HOW_TO = (f"copy Keras's california_housing.npz ({NPZ.url}) or Hands-On ML's housing.tgz "
          "into a folder named 'california_housing';",)

_SMALL_ROWS = 600


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Load California Housing as Keras 3 does.

    Args:
        version: ``"large"`` (all 20,640 districts) or ``"small"`` (the first 600, a
            stand-in for the retired Boston housing set).
        path: file name of the Keras ``.npz`` copy, looked up in the data folders and cached
            under that name; an absolute path names the exact file.
        test_split: fraction of the (shuffled) rows kept for the test set, in [0, 1).
        seed: seed of the shuffle done before splitting (``numpy.random.RandomState``,
            so the split matches Keras's).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 NumPy arrays; x has shape
        (n, 8) with columns ``FEATURE_NAMES``, y has shape (n,) in dollars.
    """
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float, np.floating)) \
            or not 0 <= test_split < 1:
        raise ValueError(f"test_split must be a number in [0, 1), got {test_split!r}.")
    if version not in ("small", "large"):
        raise ValueError(f"version must be 'small' or 'large', got {version!r}.")

    x, y = _load_table(path)
    if version == "small":
        x, y = x[:_SMALL_ROWS], y[:_SMALL_ROWS]

    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def _load_table(path):
    """The full table, unshuffled: from the Keras npz when present, else the Hands-On ML copy."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name or path string, got {type(path).__name__}")
    path = os.fspath(path)
    if path == NPZ.name:  # the default: the shipped copy comes first
        found = _files.find(BUNDLED, SUBDIRS)
        if found:
            return _from_homl(found, BUNDLED)
    if os.path.isabs(path):
        npz = path if os.path.isfile(path) else None
    else:
        npz = _files.find(_files.DataFile(path, NPZ.url, sha256=NPZ.sha256), SUBDIRS)
    if npz is None:
        for spec in (TGZ, CSV):
            found = _files.find(spec, SUBDIRS)
            if found:
                return _from_homl(found, spec)
        npz = _files.resolve_user_path(path, NPZ, SUBDIRS, "California Housing", HOW_TO)
    _files.verify_file(npz, NPZ)
    with np.load(npz, allow_pickle=False) as f:
        return np.asarray(f["x"], dtype=np.float32), np.asarray(f["y"], dtype=np.float32)


def _from_homl(path, spec):
    """Rebuild the Keras table from Hands-On ML's housing.tgz or housing.csv (or the shipped copy)."""
    raw = _files.read_verified(path, spec)
    if spec is TGZ:  # only the published archive gets here (read_verified checked its sha256)
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            member = next((m for m in tar.getmembers()
                           if m.isfile() and os.path.basename(m.name) == "housing.csv"), None)
            if member is None:
                raise ValueError(f"{path} does not contain housing.csv.")
            raw = tar.extractfile(member).read()
    return parse_homl_csv(raw.decode("utf-8"), source=path)


def parse_homl_csv(text, source="housing.csv"):
    """Features and target from the Hands-On ML CSV, blanks in total_bedrooms estimated.

    See the module docstring for why rows with blanks are kept and how they are filled.
    """
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    wanted = list(FEATURE_NAMES) + [TARGET_NAME]
    if header is None or header[:9] != wanted:
        raise ValueError(f"{source}: expected the columns {wanted} first, found {header}.")
    table = np.array([[float(v) if v else np.nan for v in row[:9]] for row in rows if row],
                     dtype=np.float64)
    rooms, bedrooms = table[:, 3], table[:, 4]
    blank = np.isnan(bedrooms)
    if np.isnan(np.delete(table, 4, axis=1)).any():
        raise ValueError(f"{source}: blank values outside total_bedrooms; cannot rebuild the table.")
    if blank.any():
        ratio = np.median(bedrooms[~blank] / rooms[~blank])
        table[blank, 4] = np.round(rooms[blank] * ratio)
    return table[:, :8].astype(np.float32), table[:, 8].astype(np.float32)
