"""The data subsets the graded notebooks train and validate on (Fashion-MNIST for
``02_mlp``, Japanese Vowels for ``04_rnn``).

While a submission is graded its sandbox holds no data set at all, only the files that
:func:`write_fashion_subset` / :func:`write_vowels_subset` made (``MINIKERAS_GRADING_DATA``
names their folder): the training subset and the validation examples, which are held back
from the *training* set. The test examples, from which the grader draws its held-out check,
never enter the sandbox.
"""
import os

import numpy as np

FILES = ("fashion_train_x", "fashion_train_y", "fashion_val_x", "fashion_val_y")


def _split(x, y, n_train, n_val):
    x = x.reshape(len(x), -1)
    return (x[:n_train], y[:n_train]), (x[len(x) - n_val:], y[len(y) - n_val:])


def write_fashion_subset(folder, n_train=10000, n_val=1000):
    from ..datasets import fashion_mnist
    (x, y), _ = fashion_mnist.load_data()
    (xt, yt), (xv, yv) = _split(x, y, n_train, n_val)
    os.makedirs(folder, exist_ok=True)
    for name, arr in zip(FILES, (xt, yt, xv, yv)):
        np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(arr), allow_pickle=False)


def load_fashion_subset(n_train=10000, n_val=1000):
    """Flattened, [0, 1]-scaled Fashion-MNIST: the first ``n_train`` training images and,
    for validation, the last ``n_val`` training images (float32 images, int64 labels)."""
    folder = os.environ.get("MINIKERAS_GRADING_DATA")
    if folder:
        xt, yt, xv, yv = (np.load(os.path.join(folder, n + ".npy"), allow_pickle=False) for n in FILES)
        xt, yt, xv, yv = xt[:n_train], yt[:n_train], xv[len(xv) - n_val:], yv[len(yv) - n_val:]
    else:
        from ..datasets import fashion_mnist
        (x, y), _ = fashion_mnist.load_data()
        (xt, yt), (xv, yv) = _split(x, y, n_train, n_val)
    return ((xt.astype("float32") / 255.0, yt.astype("int64")),
            (xv.astype("float32") / 255.0, yv.astype("int64")))


# ------------------------------------------------------------------ Japanese Vowels (04_rnn)

VOWEL_STEPS = 29  # the longest utterance of both splits: every sequence is pre-padded to it
VOWEL_FILES = ("vowels_train_x", "vowels_train_y", "vowels_val_x", "vowels_val_y")


def pad_vowels(sequences):
    """Utterances (frames, 12) -> float32 (n, 29, 12), zeros before the first frame."""
    from ..preprocessing.sequence import pad_sequences
    return pad_sequences(list(sequences), maxlen=VOWEL_STEPS, dtype="float32", padding="pre")


def _vowel_split(x, y):
    val = np.arange(len(x)) % 5 == 4  # 6 of each speaker's 30 training utterances
    return (x[~val], y[~val]), (x[val], y[val])


def write_vowels_subset(folder):
    from ..datasets import japanese_vowels
    (x, y), _ = japanese_vowels.load_data()
    (xt, yt), (xv, yv) = _vowel_split(pad_vowels(x), y)
    os.makedirs(folder, exist_ok=True)
    for name, arr in zip(VOWEL_FILES, (xt, yt, xv, yv)):
        np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(arr), allow_pickle=False)


def load_vowels_subset():
    """Japanese Vowels' training split, pre-padded to 29 frames of 12 coefficients (float32)
    with int64 speakers 0..8: 216 utterances to train on and, for validation, every fifth
    one (54) held back. The test split is not used here."""
    folder = os.environ.get("MINIKERAS_GRADING_DATA")
    if folder:
        xt, yt, xv, yv = (np.load(os.path.join(folder, n + ".npy"), allow_pickle=False) for n in VOWEL_FILES)
        return (xt, yt), (xv, yv)
    from ..datasets import japanese_vowels
    (x, y), _ = japanese_vowels.load_data()
    return _vowel_split(pad_vowels(x), y)
