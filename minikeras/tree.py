"""Nested structures (lists, tuples and dicts of leaves), as Keras's ``keras.tree``.

Models take and return such structures (several inputs or outputs, by position or by name),
and GradientTape returns gradients shaped like its sources; these three helpers are the one
place that walks them. ``None`` is a leaf.
"""


def flatten(structure):
    """The leaves in order (dicts in their insertion order)."""
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def map_structure(fn, structure):
    """The same structure with ``fn`` applied to every leaf."""
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, item) for item in structure)
    return fn(structure)


def pack_sequence_as(structure, flat):
    """``flat`` (leaves in ``flatten`` order) rebuilt into the shape of ``structure``."""
    leaves = iter(flat)
    return map_structure(lambda _: next(leaves), structure)
