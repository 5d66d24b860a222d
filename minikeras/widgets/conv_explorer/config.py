"""Settings of the convolution explorer: kernel presets, allowed sizes, paddings, strides, colours.

The presets are the classic hand-made image filters. They are built from small 1-D pieces
(a smoothing row and a difference row) so the 3x3 and 5x5 versions come from one rule:
an outer product of a smoothing vector with a difference vector is a Sobel-style edge
detector, the outer product of two binomial rows is a Gaussian blur, and so on.
Keras's ``Conv2D`` computes a cross-correlation (the kernel is *not* flipped), so a
kernel with negative weights on the left and positive on the right lights up where the
image gets brighter from left to right.
"""
import numpy as np

KERNEL_SIZES = (3, 5)
PADDINGS = ("valid", "same")
STRIDES = (1, 2, 3)
MAX_KERNEL_SIZE = 7            # what the core accepts from code (the controls offer 3 and 5)
MAX_IMAGE_SIZE = 64            # larger images make the step-by-step view unreadable

# binomial rows: smoothing weights, and a matching centred difference
_SMOOTH = {3: np.array([1.0, 2.0, 1.0]), 5: np.array([1.0, 4.0, 6.0, 4.0, 1.0])}
_DIFF = {3: np.array([-1.0, 0.0, 1.0]), 5: np.array([-1.0, -2.0, 0.0, 2.0, 1.0])}


def _identity(k):
    kernel = np.zeros((k, k))
    kernel[k // 2, k // 2] = 1.0
    return kernel


def _gaussian(k):
    kernel = np.outer(_SMOOTH[k], _SMOOTH[k])
    return kernel / kernel.sum()


def _vertical_edges(k):
    # smooth along the rows, differentiate along the columns; scaled so the positive side sums to 1
    kernel = np.outer(_SMOOTH[k], _DIFF[k])
    return kernel / kernel[kernel > 0].sum()


def _outline(k):
    # every neighbour -1, the centre balances them: zero on flat regions, large at any edge
    kernel = -np.ones((k, k))
    kernel[k // 2, k // 2] = k * k - 1
    return kernel / (k * k - 1)


def _sharpen(k):
    # the image plus its difference from a blurred copy (unsharp masking)
    return 2.0 * _identity(k) - _gaussian(k)


PRESET_BUILDERS = {
    "identity": _identity,
    "edges: vertical": _vertical_edges,
    "edges: horizontal": lambda k: _vertical_edges(k).T,
    "edges: outline": _outline,
    "blur: box": lambda k: np.full((k, k), 1.0 / (k * k)),
    "blur: gaussian": _gaussian,
    "sharpen": _sharpen,
}
PRESETS = tuple(PRESET_BUILDERS)


def preset(name, size=3):
    """The ``size`` x ``size`` kernel called ``name`` (one of :data:`PRESETS`), float64."""
    if name not in PRESET_BUILDERS:
        raise ValueError(f"ConvExplorer: unknown kernel preset {name!r}; choose one of {list(PRESETS)}.")
    if size not in KERNEL_SIZES:
        raise ValueError(f"ConvExplorer: presets come in sizes {KERNEL_SIZES}, got kernel size {size!r}.")
    return PRESET_BUILDERS[name](size).astype(np.float64)


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# colours (RGB): the window and current output cell, padding cells, not-yet-computed cells
HIGHLIGHT = (220, 30, 40)
PADDING_TINT = (200, 222, 245)
PENDING = (236, 236, 236)
PENDING_STRIPE = (214, 214, 214)
GRID_LINE = (150, 150, 150)
NEGATIVE = (33, 102, 172)      # output colour scale: blue (negative) - white (0) - red (positive)
POSITIVE = (178, 24, 43)
