"""The Fashion-MNIST subsets the graded notebook trains and validates on.

While a submission is graded its sandbox holds no data set at all, only the files that
:func:`write_fashion_subset` made (``MINIKERAS_GRADING_DATA`` names their folder): the
training subset and the validation images, which are held back from the *training* set.
The test images, from which the grader draws its held-out check, never enter the sandbox.
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
