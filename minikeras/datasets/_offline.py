"""Finding data that needs no network: the usual data folders, then an installed package
that ships the same file, then the copy bundled with minikeras (``bundled/``).

Every copy found is read through ``_files.read_verified``, so whichever source wins, the
bytes are those of the one published file named in the spec.
"""
import importlib.util
import os

from . import _files

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundled")


def package_dir(name):
    """The folder of an installed top-level package, found without importing it (or None)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def _is_published(path, spec):
    try:
        _files.read_verified(path, spec)
    except _files.ChecksumError:
        return False
    return True


def locate(spec, subdirs, packages=(), bundled=True):
    """Path of the first copy of ``spec``: data folders, ``packages``, then the bundled copy.

    ``packages`` holds ``(package name, folder inside it)`` pairs. A package whose copy is not
    the published file (another version of the package) is passed over; a wrong file in a
    data folder is an error when it is read, as for every data set. Returns None when absent.
    """
    found = _files.find(spec, subdirs)
    if found:
        return found
    for package, folder in packages:
        root = package_dir(package)
        if root is None:
            continue
        for name in spec.candidate_names():
            path = os.path.join(root, folder, name)
            if os.path.isfile(path) and _is_published(path, spec):
                return path
    path = os.path.join(BUNDLED_DIR, spec.name)
    if bundled and os.path.isfile(path):
        return path
    return None


def missing_error(dataset, names, how_to, subdirs=()):
    """The error for offline data that is nowhere to be found (nothing is downloaded)."""
    lines = [f"The {dataset} data is not on this machine: none of {', '.join(names)} was found."]
    where = f" (each directly and in its sub-folder {'/ or '.join(subdirs)}/)" if subdirs else ""
    lines.append(f"Searched{where}: " + ", ".join(_files.search_dirs()) + ".")
    lines.append("To get it, do one of:")
    lines.extend(f"  - {step}" for step in how_to)
    lines.append("  - put the files in a folder and set MINIKERAS_DATA to that folder.")
    return _files.DatasetNotFoundError("\n".join(lines))
