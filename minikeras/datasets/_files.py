"""Finding, checking and downloading dataset files.

A dataset file is looked up, in this order, in:

1. the copies shipped with minikeras (``minikeras/datasets/bundled``: California housing
   and the MNIST test set; see the README there for their sources and licences),
2. every folder named in ``MINIKERAS_DATA`` (several folders may be joined with ``os.pathsep``),
3. the minikeras cache, ``$MINIKERAS_HOME/datasets`` (default ``~/.minikeras/datasets``),
4. the Keras cache, ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``), so data that
   real Keras already fetched is reused,
5. system folders such as ``/usr/share/datasets`` (where the Debian package
   ``dataset-fashion-mnist`` puts its files).

Inside each folder the file may sit in the dataset's own sub-folder (``fashion-mnist/``,
``mnist/``, ``california_housing/``) or directly in the folder. The first copy found is the
one used, and it must match a published checksum: a damaged or foreign file is an error,
never silently replaced. Only when no copy exists anywhere is the file downloaded from its
canonical URL into the minikeras cache (checked, then moved into place atomically, with the
permissions the umask gives). Set ``MINIKERAS_OFFLINE=1`` to forbid downloads altogether.

Files are read defensively: a file much larger than the published one is refused unread,
and a gzip file is unpacked only up to the size its published contents have, so a
"gzip bomb" in a data folder costs neither time nor memory.

Everything here returns NumPy data or paths; nothing depends on the array backend.
"""
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass

from ..saving import atomic

# Where Keras keeps the files it downloads; minikeras uses the same origins so the
# checksums below are those of the files Keras itself verifies.
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# The copies shipped in the package; module-level so that tests can switch them off.
BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundled")

# System-wide data folders (Debian's dataset-* packages install under /usr/share/datasets).
# A module-level list so that tests can point it elsewhere.
SYSTEM_DIRS = ["/usr/share/datasets", "/usr/local/share/datasets"]

DOWNLOAD_TIMEOUT = 60  # seconds without data before a download is given up
_CHUNK = 1 << 20
# Size limits for files whose published size is not recorded in their DataFile.
MAX_FILE = 512 << 20
MAX_UNPACKED = 512 << 20


class DatasetNotFoundError(FileNotFoundError):
    """The data is on no searched folder and could not be downloaded."""


class ChecksumError(ValueError):
    """A data file exists but its contents are not the published ones."""


class DataCacheError(OSError):
    """Data must be downloaded, but the folder it would go to cannot be written to.

    ``folder`` is that folder and ``reason`` what the system said (``errno`` is kept).
    """

    def __init__(self, errno, message, folder=None, reason=None):
        super().__init__(errno, message)
        self.folder, self.reason = folder, reason


@dataclass(frozen=True)
class DataFile:
    """One published data file and the checksums that identify it.

    ``md5``/``sha256`` are of the file exactly as published. ``content_sha256`` is of the
    gunzipped payload: it lets re-packed copies (Debian re-gzips Fashion-MNIST with a
    different header) and already-unpacked copies be accepted, because the bytes that
    matter are identical. ``content_size`` is that payload's length in bytes: no copy is
    unpacked beyond it. ``url`` is empty for a file that only ships with minikeras.
    """

    name: str
    url: str
    md5: str = None
    sha256: str = None
    content_sha256: str = None
    content_size: int = None

    def candidate_names(self):
        """The file's name, plus its unpacked name when it is a .gz with a known payload hash."""
        names = [self.name]
        if self.name.endswith(".gz") and self.content_sha256:
            names.append(self.name[:-3])
        return names


# --------------------------------------------------------------------------- locations

def cache_dir():
    """The folder downloads go to: ``$MINIKERAS_HOME/datasets`` or ``~/.minikeras/datasets``."""
    home = os.environ.get("MINIKERAS_HOME") or os.path.join("~", ".minikeras")
    return os.path.join(os.path.expanduser(home), "datasets")


def _keras_cache_dir():
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(os.path.expanduser(home), "datasets")


def search_dirs():
    """All folders searched, highest priority first (see the module docstring)."""
    dirs = [BUNDLED_DIR] if BUNDLED_DIR else []
    for entry in os.environ.get("MINIKERAS_DATA", "").split(os.pathsep):
        if entry.strip():
            dirs.append(os.path.expanduser(entry.strip()))
    dirs.append(cache_dir())
    dirs.append(_keras_cache_dir())
    dirs.extend(SYSTEM_DIRS)
    seen, unique = set(), []
    for d in dirs:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def find(spec, subdirs):
    """Path of the first copy of ``spec`` in the searched folders, or None.

    ``subdirs`` are the dataset's own sub-folder names, tried before the bare folder.
    """
    for root in search_dirs():
        for sub in list(subdirs) + [""]:
            for name in spec.candidate_names():
                path = os.path.join(root, sub, name)
                if os.path.isfile(path):
                    return path
    return None


def downloads_disabled():
    return os.environ.get("MINIKERAS_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


# --------------------------------------------------------------------------- checking

def _digest(data, algorithm):
    return hashlib.new(algorithm, data).hexdigest()


def _file_digests(path):
    """``(sha256, md5)`` of a file, read in chunks (never whole into memory)."""
    h_sha, h_md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h_sha.update(chunk)
            h_md5.update(chunk)
    return h_sha.hexdigest(), h_md5.hexdigest()


def _matches_published(raw, spec):
    if spec.sha256 and _digest(raw, "sha256") == spec.sha256:
        return True
    if spec.md5 and _digest(raw, "md5") == spec.md5:
        return True
    return False


def _expected_text(spec):
    parts = []
    if spec.sha256:
        parts.append(f"sha256 {spec.sha256}")
    if spec.md5:
        parts.append(f"md5 {spec.md5}")
    if spec.content_sha256:
        parts.append(f"sha256 {spec.content_sha256} of the unpacked contents")
    return " or ".join(parts)


def _fresh_copy(spec):
    if spec.url:
        return f"a fresh copy comes from {spec.url}"
    return "it ships with minikeras: restore it with `git checkout` or reinstall minikeras"


def _checksum_error(path, spec, sha256, extra=""):
    return ChecksumError(
        f"The data file {path} is corrupt or is not the published {spec.name}: its sha256 is "
        f"{sha256}, expected {_expected_text(spec)}.{extra} "
        f"Delete or replace it ({_fresh_copy(spec)})."
    )


def _size_limits(spec):
    """(most bytes on disk, most bytes unpacked) that a copy of ``spec`` can take."""
    if spec.content_size is None:
        return MAX_FILE, MAX_UNPACKED
    # An unpacked copy is exactly content_size; gzip adds a header and, for data that does
    # not compress, a few bytes per 16 KiB block.
    return spec.content_size + spec.content_size // 64 + 65536, spec.content_size


def _read_bounded(path, spec):
    """The bytes of ``path``, refused unread when the file is far larger than published."""
    most, _ = _size_limits(spec)
    size = os.path.getsize(path)
    if size > most:
        raise ChecksumError(
            f"The data file {path} is {size:,} bytes, far more than the published {spec.name} "
            f"(at most {most:,}); it was not read. Delete or replace it ({_fresh_copy(spec)}).")
    with open(path, "rb") as f:
        return f.read(size + 1)   # (a file that grows meanwhile is caught by its checksum)


def gunzip_bounded(raw, limit, path, spec):
    """Unpack gzip bytes, stopping with ChecksumError as soon as more than ``limit`` come out.

    The size in the gzip trailer is checked first, so an honest bomb is refused before
    anything is inflated, and a dishonest one costs at most ``limit`` bytes.
    """
    def refuse(extra):
        return _checksum_error(path, spec, _digest(raw, "sha256"), extra)

    if not raw.startswith(b"\x1f\x8b"):
        raise refuse(" It is not a readable gzip file (it does not start with the gzip magic bytes).")
    if len(raw) >= 18 and int.from_bytes(raw[-4:], "little") > limit:
        raise refuse(f" It says it unpacks to {int.from_bytes(raw[-4:], 'little'):,} bytes, more than "
                     f"the {limit:,} of the published contents, so it was not unpacked.")
    out, data = bytearray(), raw
    try:
        inflater = zlib.decompressobj(wbits=31)
        while data:
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise refuse(f" It unpacks to more than the {limit:,} bytes of the published contents; "
                             "unpacking was stopped there.")
            if inflater.eof:
                data = inflater.unused_data
                if data.strip(b"\0"):
                    inflater = zlib.decompressobj(wbits=31)  # a further gzip member
                    continue
                return bytes(out)
            data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise refuse(f" It is not a readable gzip file ({exc}).") from None
    raise refuse(" It is not a readable gzip file (it ends before the compressed data does).")


def read_verified(path, spec):
    """The verified contents of ``path``, gunzipped when it is a .gz file.

    Raises ChecksumError when the file matches none of the spec's checksums. The file is
    hashed before it is unpacked; it is unpacked only when it is the published file or its
    contents can be checked, and never beyond the published contents' size.
    """
    raw = _read_bounded(path, spec)
    published = _matches_published(raw, spec)
    if not path.endswith(".gz"):
        if published or (spec.content_sha256 and _digest(raw, "sha256") == spec.content_sha256):
            return raw
        raise _checksum_error(path, spec, _digest(raw, "sha256"))
    if not published and not spec.content_sha256:
        raise _checksum_error(path, spec, _digest(raw, "sha256"))
    payload = gunzip_bounded(raw, _size_limits(spec)[1], path, spec)
    if published or _digest(payload, "sha256") == spec.content_sha256:
        return payload
    raise _checksum_error(path, spec, _digest(raw, "sha256"))


def verify_file(path, spec):
    """Raise ChecksumError unless ``path`` holds the published ``spec`` file (as published)."""
    sha256, md5 = _file_digests(path)
    if not ((spec.sha256 and sha256 == spec.sha256) or (spec.md5 and md5 == spec.md5)):
        raise _checksum_error(path, spec, sha256)
    return path


# --------------------------------------------------------------------------- downloading

def download(url, dest, *, md5=None, sha256=None, timeout=DOWNLOAD_TIMEOUT, opener=None,
             verbose=True):
    """Fetch ``url`` into ``dest``, checking its hash before the file appears at ``dest``.

    The data is streamed into a hidden temporary file next to ``dest`` and renamed into place
    only after the checksum matches, so an interrupted or corrupt download never leaves a
    half-written file that a later run would trust (see ``saving.atomic``). ``opener``
    replaces ``urllib.request.urlopen`` (tests use it to stay off the network). A folder
    that cannot be written to raises DataCacheError before anything is fetched.
    """
    if md5 is None and sha256 is None:
        raise ValueError("download() needs an md5 or sha256 checksum to verify the file against.")
    opener = opener or urllib.request.urlopen
    folder = os.path.dirname(atomic.write_target(dest))
    try:
        os.makedirs(folder, exist_ok=True)
        out = atomic.AtomicFile(dest, "data file")
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise DataCacheError(exc.errno, f"Cannot download {url} into {dest}: the folder {folder} "
                                        f"cannot be written to ({reason}).", folder, reason) from None
    h_md5, h_sha = hashlib.md5(), hashlib.sha256()
    with out:
        if verbose:
            print(f"Downloading data from {url}", flush=True)
        with opener(url, timeout=timeout) as response:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                h_md5.update(chunk)
                h_sha.update(chunk)
        got_sha, got_md5 = h_sha.hexdigest(), h_md5.hexdigest()
        if (sha256 and got_sha != sha256) or (md5 and not sha256 and got_md5 != md5):
            expected = f"sha256 {sha256}" if sha256 else f"md5 {md5}"
            raise ChecksumError(
                f"The file downloaded from {url} has sha256 {got_sha} (md5 {got_md5}), "
                f"expected {expected}; it was discarded. The server may be serving a different "
                f"or damaged file; try again later or fetch it by hand."
            )
    return dest


# --------------------------------------------------------------------------- the whole lookup

def not_found_error(dataset, missing, how_to, reason, subdirs=()):
    """The single error raised when data is absent and cannot be fetched."""
    lines = [f"The {dataset} data is not on this machine and could not be downloaded ({reason})."]
    lines.append("Missing: " + ", ".join(missing) + ".")
    where = f" (each directly and in its sub-folder {'/ or '.join(subdirs)}/)" if subdirs else ""
    lines.append(f"Searched{where}: " + ", ".join(search_dirs()) + ".")
    lines.append("To get it, do one of:")
    for step in how_to:
        lines.append(f"  - {step}")
    lines.append(f"  - put the files in a folder and set MINIKERAS_DATA to that folder "
                 f"(or copy them into {cache_dir()});")
    lines.append("  - connect to the internet and call load_data() again: it downloads the "
                 f"files into {cache_dir()} and checks them.")
    return DatasetNotFoundError("\n".join(lines))


def cache_error(dataset, missing, exc):
    """The error for data that must be downloaded into a folder that cannot be written to."""
    return DataCacheError(
        exc.errno, f"The {dataset} data is not on this machine ({', '.join(missing)} missing) and "
                   f"cannot be downloaded, because the folder it would be saved in, {exc.folder}, "
                   f"cannot be written to ({exc.reason}). Make that folder writable, set "
                   "MINIKERAS_HOME to a writable folder (downloads go to $MINIKERAS_HOME/datasets), "
                   "or put the files in a folder and set MINIKERAS_DATA to it.", exc.folder, exc.reason)


def fetch(specs, subdirs, dataset, how_to=(), opener=None):
    """Paths of all ``specs``, found locally or downloaded; one clear error when impossible.

    Files found are not verified here (``read_verified`` does that when they are read);
    downloaded files are verified before they are kept.
    """
    paths = {spec.name: find(spec, subdirs) for spec in specs}
    missing = [spec for spec in specs if paths[spec.name] is None]
    if not missing:
        return [paths[spec.name] for spec in specs]
    if downloads_disabled():
        raise not_found_error(dataset, [s.name for s in missing], how_to,
                              "downloads are turned off by MINIKERAS_OFFLINE", subdirs)
    target_dir = os.path.join(cache_dir(), subdirs[0]) if subdirs else cache_dir()
    for spec in missing:
        dest = os.path.join(target_dir, spec.name)
        try:
            download(spec.url, dest, md5=spec.md5, sha256=spec.sha256, opener=opener)
        except DataCacheError as exc:
            raise cache_error(dataset, [s.name for s in missing if paths[s.name] is None],
                              exc) from None
        except ChecksumError:
            raise
        except (OSError, urllib.error.URLError) as exc:
            still = [s.name for s in missing if paths[s.name] is None]
            raise not_found_error(dataset, still, how_to,
                                  f"fetching {spec.url} failed: {exc}", subdirs) from None
        paths[spec.name] = dest
    return [paths[spec.name] for spec in specs]


def resolve_user_path(path, spec, subdirs, dataset, how_to=(), opener=None):
    """Honour a Keras-style ``path=`` argument for a single-file dataset.

    An absolute path is used as the file's exact location (downloaded there if absent);
    a relative one is a file name looked up in the usual folders and cached under it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name or path string, got {type(path).__name__}")
    path = os.fspath(path)
    named = DataFile(path if not os.path.isabs(path) else os.path.basename(path),
                     spec.url, md5=spec.md5, sha256=spec.sha256)
    if os.path.isabs(path):
        if os.path.isfile(path):
            return path
        if downloads_disabled():
            raise not_found_error(dataset, [path], how_to,
                                  "downloads are turned off by MINIKERAS_OFFLINE")
        try:
            return download(spec.url, path, md5=spec.md5, sha256=spec.sha256, opener=opener)
        except DataCacheError as exc:
            raise cache_error(dataset, [path], exc) from None
        except ChecksumError:
            raise
        except (OSError, urllib.error.URLError) as exc:
            raise not_found_error(dataset, [path], how_to,
                                  f"fetching {spec.url} failed: {exc}") from None
    return fetch([named], subdirs, dataset, how_to, opener=opener)[0]


# --------------------------------------------------------------------------- IDX format

_IDX_DTYPES = {0x08: "uint8"}


def parse_idx(payload, source, expected_ndim):
    """Decode an IDX file (the MNIST format): magic, dimension sizes, then uint8 values.

    Returns a writable NumPy array; a wrong header is a clear error naming ``source``.
    """
    import numpy as np

    if len(payload) < 4 or payload[0] != 0 or payload[1] != 0:
        raise ValueError(f"{source} is not an IDX file (bad magic number).")
    dtype, ndim = payload[2], payload[3]
    if dtype not in _IDX_DTYPES or ndim != expected_ndim:
        raise ValueError(f"{source}: expected a {expected_ndim}-d uint8 IDX file, found "
                         f"type code {dtype:#x} with {ndim} dimensions.")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = 1
    for n in shape:
        size *= n
    if len(payload) != header + size:
        raise ValueError(f"{source}: header announces shape {shape} but the file holds "
                         f"{len(payload) - header} values.")
    return np.frombuffer(payload, dtype=_IDX_DTYPES[dtype], offset=header).reshape(shape).copy()
