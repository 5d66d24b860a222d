"""The one error for an input a layer cannot take, worded as Keras 3 words it.

Layers check their inputs where the check is cheap (the shape test is an inline comparison
on the hot path) and call ``incompatible_input`` only to build the message, so every layer
reports the same way: which input, which layer, what it expected and the shape it got.
"""


def incompatible_input(layer, expected, shape, index=0, hint=""):
    """``ValueError: Input 0 of layer 'dense' (Dense) is incompatible with the layer: expected
    axis -1 of the input to have value 784, found shape=(32, 28).``"""
    shape = None if shape is None else tuple(shape)
    return ValueError(f"Input {index} of layer {layer.name!r} ({type(layer).__name__}) is incompatible with "
                      f"the layer: expected {expected}, found shape={shape}.{' ' + hint if hint else ''}")


def check_rank(layer, shape, rank, what=None, index=0, hint=""):
    """Raise ``incompatible_input`` unless ``shape`` has ``rank`` axes (``what`` names them)."""
    if shape is None or len(shape) != rank:
        raise incompatible_input(layer, f"a {rank}-D input{f' {what}' if what else ''}", shape, index, hint)
