"""Monthly mean sunspot numbers, January 1749 to June 2009 (3,126 months).

The International Sunspot Number (the original, "version 1" series compiled by the Royal
Observatory of Belgium's SIDC) as distributed by NOAA's National Geophysical Data Center,
a US-government source: public domain. The file is the one statsmodels ships
(``statsmodels/datasets/sunspots/src/sunspots_monthly.dat``); it is read from an installed
statsmodels when there is one, else from the copy bundled with minikeras. Values after
December 2008 were preliminary when the file was made; February 1824 was interpolated.

The series has the roughly 11-year solar cycle, with cycles of different heights: a classic,
non-trivial forecasting problem, small enough to train recurrent networks in seconds.
"""
import re

import numpy as np

from . import _files, _offline

SUBDIRS = ("sunspots",)
FILE = _files.DataFile(
    "sunspots_monthly.dat.gz", "https://www.ngdc.noaa.gov/stp/solar/solarda3.html",
    sha256="94141052eb433f41a5e644f3b5024cb0f297ee4e4fda351f8f7a75894179ee0f",
    content_sha256="cc303d26340b6d599bc2878899f8c50c12323dc04b52a26ad047965ea2b9d2a3")
PACKAGES = (("statsmodels", "datasets/sunspots/src"),)

_ROW = re.compile(r"^(\d{4})((?:\s+-?\d+(?:\.\d*)?){1,12})\s*$")


def parse(text, source="sunspots_monthly.dat"):
    """The NGDC table (a year, then up to twelve monthly means) -> (months, values)."""
    months, values = [], []
    for line in text.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        year, numbers = int(m.group(1)), [float(v) for v in m.group(2).split()]
        for month, v in enumerate(numbers):
            months.append(np.datetime64(f"{year:04d}-{month + 1:02d}", "M"))
            values.append(v)
    if not values:
        raise ValueError(f"{source}: no rows of monthly sunspot numbers found.")
    months = np.array(months, dtype="datetime64[M]")
    if np.any(np.diff(months) != np.timedelta64(1, "M")):
        raise ValueError(f"{source}: the months are not consecutive.")
    return months, np.array(values, dtype=np.float32)


def load_data():
    """The monthly series as ``(months, counts)``.

    Returns:
        ``months``: ``datetime64[M]`` array of shape (3126,), 1749-01 ... 2009-06;
        ``counts``: float32 array of the same shape (monthly mean sunspot numbers, >= 0).
    """
    path = _offline.locate(FILE, SUBDIRS, PACKAGES)
    if path is None:
        raise _offline.missing_error("sunspots", [FILE.name], (
            "reinstall minikeras (the file is bundled in minikeras/datasets/bundled/), or "
            "pip install statsmodels, which ships the same table;",), SUBDIRS)
    return parse(_files.read_verified(path, FILE).decode("ascii"), path)
