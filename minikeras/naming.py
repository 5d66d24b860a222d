"""Automatic Keras-style names: ``dense``, ``dense_1``, ... (reset by ``clear_session``)."""
import re
from collections import defaultdict

_counts = defaultdict(int)


def to_snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name.replace("__", "_")


def unique_name(base):
    """``base`` the first time, then ``base_1``, ``base_2``, ... within the session."""
    n = _counts[base]
    _counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def reset():
    _counts.clear()
