"""Fashion-MNIST: 70,000 28x28 grayscale pictures of clothing in 10 classes (Zalando, MIT licence).

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
7 Sneaker, 8 Bag, 9 Ankle boot. 6,000 training and 1,000 test images per class.

The four IDX files are found as described in ``minikeras.datasets._files`` (on Debian or
Ubuntu, ``apt-get install dataset-fashion-mnist`` puts them in
``/usr/share/datasets/fashion-mnist``), else downloaded from the origin Keras uses.
"""
from . import _files

SUBDIRS = ("fashion-mnist", "fashion_mnist")

# md5: the published files (Zalando's README); content_sha256: their unpacked bytes, which
# also identifies Debian's re-gzipped copies (same deflate stream, different gzip header).
FILES = {
    "train_labels": _files.DataFile(
        "train-labels-idx1-ubyte.gz", _files.KERAS_ORIGIN + "train-labels-idx1-ubyte.gz",
        md5="25c81989df183df01b3e8a0aad5dffbe",
        content_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        content_size=60_008),
    "train_images": _files.DataFile(
        "train-images-idx3-ubyte.gz", _files.KERAS_ORIGIN + "train-images-idx3-ubyte.gz",
        md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        content_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        content_size=47_040_016),
    "test_labels": _files.DataFile(
        "t10k-labels-idx1-ubyte.gz", _files.KERAS_ORIGIN + "t10k-labels-idx1-ubyte.gz",
        md5="bb300cfdad3c16e7a12a480ee83cd310",
        content_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        content_size=10_008),
    "test_images": _files.DataFile(
        "t10k-images-idx3-ubyte.gz", _files.KERAS_ORIGIN + "t10k-images-idx3-ubyte.gz",
        md5="bef4ecab320f06d8554ea6380940ec79",
        content_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        content_size=7_840_016),
}

HOW_TO = ("on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
          "(installs the files into /usr/share/datasets/fashion-mnist);",)


def locate(opener=None):
    """Paths of the four files, in the order train labels, train images, test labels, test images."""
    specs = [FILES[k] for k in ("train_labels", "train_images", "test_labels", "test_images")]
    return _files.fetch(specs, SUBDIRS, "Fashion-MNIST", HOW_TO, opener=opener)


def load_data():
    """Load Fashion-MNIST as Keras does.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 NumPy arrays of shapes
        (60000, 28, 28), (60000,), (10000, 28, 28) and (10000,).
    """
    paths = dict(zip(("train_labels", "train_images", "test_labels", "test_images"), locate()))
    arrays = {}
    for key, path in paths.items():
        payload = _files.read_verified(path, FILES[key])
        arrays[key] = _files.parse_idx(payload, path, 3 if key.endswith("images") else 1)
    return _paired(arrays, "Fashion-MNIST")


def _paired(arrays, dataset):
    """Check that images and labels agree before handing them out."""
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
            raise ValueError(f"{dataset} {split} files disagree: images {x.shape}, labels {y.shape}.")
    return ((arrays["train_images"], arrays["train_labels"]),
            (arrays["test_images"], arrays["test_labels"]))
