"""Japanese Vowels: 640 utterances of the vowel pair /ae/ by nine male speakers (Kudo,
Toyama and Shimbo, 1999; UCI Machine Learning Repository, CC BY 4.0).

Each utterance is a sequence of 7 to 29 frames of 12 LPC cepstrum coefficients; the task is
to tell the speaker. The lengths differ, so a batch needs padding (and, ideally, masking):
the genuine variable-length case of the chapter. 270 training utterances (30 per speaker)
and 370 test utterances (24 to 88 per speaker), as in the original split.

The files are the ``.ts`` version of the UEA/UCR archive (timeseriesclassification.com),
read from an installed sktime when there is one, else from the gzipped copies bundled with
minikeras (same bytes, checked by sha256).
"""
import numpy as np

from . import _files, _offline, _sequences

SUBDIRS = ("japanese_vowels", "JapaneseVowels")
FILES = {
    "train": _files.DataFile(
        "JapaneseVowels_TRAIN.ts.gz", "https://timeseriesclassification.com/description.php?Dataset=JapaneseVowels",
        sha256="db1a95abb817aaa4d3ab941ffc48107d1a4dbca63cf30c739b3a72de7c4e7091",
        content_sha256="68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd"),
    "test": _files.DataFile(
        "JapaneseVowels_TEST.ts.gz", "https://timeseriesclassification.com/description.php?Dataset=JapaneseVowels",
        sha256="b2defceea4a3b652e3807872472d2d333d9246c05fc0cc7bbbe9494d52c70366",
        content_sha256="b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462"),
}
PACKAGES = (("sktime", "datasets/data/JapaneseVowels"),)
N_FEATURES = 12


def parse_ts(text, source="file.ts"):
    """A multivariate ``.ts`` file -> (list of (T_i, dims) float32 arrays, list of label strings).

    After the ``@data`` line each line holds one case: the dimensions separated by ``:``
    (comma-separated values each), then the class label.
    """
    cases, labels, dims, in_data = [], [], None, False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            low = line.lower()
            if low.startswith("@dimensions"):
                dims = int(line.split()[1])
            elif low.startswith("@data"):
                in_data = True
            continue
        *channels, label = line.split(":")
        if dims is not None and len(channels) != dims:
            raise ValueError(f"{source}, line {number}: {len(channels)} dimensions, the header says {dims}.")
        series = [np.array(c.split(","), dtype=np.float32) for c in channels]
        if len({len(s) for s in series}) != 1:
            raise ValueError(f"{source}, line {number}: dimensions of different lengths.")
        cases.append(np.stack(series, axis=1))
        labels.append(label.strip())
    if not in_data or not cases:
        raise ValueError(f"{source}: no @data section with cases found.")
    return cases, labels


def _split(which):
    spec = FILES[which]
    path = _offline.locate(spec, SUBDIRS, PACKAGES)
    if path is None:
        raise _offline.missing_error("Japanese Vowels", [spec.name], (
            "reinstall minikeras (the files are bundled in minikeras/datasets/bundled/), or "
            "pip install sktime, which ships the same files;",), SUBDIRS)
    cases, labels = parse_ts(_files.read_verified(path, spec).decode("utf-8"), path)
    for i, c in enumerate(cases):
        if c.shape[1] != N_FEATURES:
            raise ValueError(f"{path}: case {i} has {c.shape[1]} features, expected {N_FEATURES}.")
    return _sequences.object_array(cases), np.array([int(v) - 1 for v in labels], dtype=np.int64)


def load_data():
    """``(x_train, y_train), (x_test, y_test)``.

    x: 1-D object arrays of float32 arrays of shape (frames, 12), frames from 7 to 29;
    y: int64 speaker numbers 0..8 (the files' labels 1..9, minus one). 270 and 370 cases.
    Pad with ``keras.utils.pad_sequences(x, dtype="float32", padding=...)``.
    """
    return _split("train"), _split("test")
