"""Small helpers shared by the course notebooks.

``quick_mode()`` tells a notebook whether to run its full experiment or a shrunken one:
it is on when ``MINIKERAS_QUICK`` is set to a true value, and always under nbgrader
(which sets ``NBGRADER_EXECUTION`` while it runs a notebook). ``choose(full, quick)``
picks a setting accordingly, so a notebook reads ``epochs = choose(30, 2)``.
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


def use_shared_datasets():
    """Kept so that notebooks which still call it run: it does nothing and returns None.

    The data the course needs now ships with minikeras (``minikeras/datasets/bundled``) and
    the loaders find it first, so no notebook points them at a project folder any more.
    """
    return None
