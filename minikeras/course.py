"""Small helpers shared by the course notebooks.

``quick_mode()`` tells a notebook whether to run its full experiment or a shrunken one:
it is on when ``MINIKERAS_QUICK`` is set to a true value, and always under nbgrader
(which sets ``NBGRADER_EXECUTION`` while it runs a notebook). ``choose(full, quick)``
picks a setting accordingly, so a notebook reads ``epochs = choose(30, 2)``.
``use_shared_datasets()`` points the dataset loaders at the project's ``../shared/datasets``
folder when a checkout has one beside it.
"""
import os

_FALSE = ("", "0", "false", "no", "off")


def quick_mode():
    """True when notebooks should shrink data and epochs (CI, grading)."""
    if os.environ.get("MINIKERAS_QUICK", "").strip().lower() not in _FALSE:
        return True
    return "NBGRADER_EXECUTION" in os.environ


def choose(full, quick):
    """``quick`` in quick mode, ``full`` otherwise."""
    return quick if quick_mode() else full


def shared_datasets_dir():
    """``<checkout>/../shared/datasets`` when it exists, else None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.normpath(os.path.join(root, "..", "shared", "datasets"))
    return path if os.path.isdir(path) else None


def use_shared_datasets():
    """Add the shared datasets folder to ``MINIKERAS_DATA`` (once) and return it, or None."""
    path = shared_datasets_dir()
    if path is None:
        return None
    entries = [e for e in os.environ.get("MINIKERAS_DATA", "").split(os.pathsep) if e.strip()]
    if not any(os.path.abspath(os.path.expanduser(e)) == path for e in entries):
        entries.append(path)
        os.environ["MINIKERAS_DATA"] = os.pathsep.join(entries)
    return path
