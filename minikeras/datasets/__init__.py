"""Real datasets with Keras's loaders: ``mnist``, ``fashion_mnist``, ``california_housing``,
``imdb``, ``reuters``.

Each ``load_data()`` returns NumPy arrays exactly shaped and typed as Keras 3's, whatever
the array backend. Files are looked up locally first (the copies shipped with minikeras,
California housing and the MNIST test set; then ``MINIKERAS_DATA``, the cache
``~/.minikeras/datasets``, Keras's cache, system folders such as
``/usr/share/datasets/fashion-mnist``), checked against published checksums, and only then
downloaded; see ``minikeras.datasets._files``.
"""
from . import california_housing, fashion_mnist, imdb, mnist, reuters
from ._files import ChecksumError, DataCacheError, DatasetNotFoundError

__all__ = ["mnist", "fashion_mnist", "california_housing", "imdb", "reuters", "ChecksumError",
           "DataCacheError", "DatasetNotFoundError"]
