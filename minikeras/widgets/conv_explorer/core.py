"""The convolution explorer without a browser: geometry, the sliding window, its arithmetic,
and a trained CNN's feature maps.

:class:`ConvExplorerCore` holds one grey image, one kernel, a padding and a stride. It knows
where the kernel sits at every output position, the multiply-and-add done there (computed
here, from the padded window, so a student can check it by hand) and the whole output map
(computed by minikeras's own convolution kernel, the one ``keras.layers.Conv2D`` runs). The
tests hold the two against each other and against Keras.

:class:`FeatureMaps` runs a trained minikeras CNN on one image layer by layer and keeps every
spatial output (conv, pooling, normalization...) and the predicted class probabilities.
"""
import math
from dataclasses import dataclass

import numpy as np

from ...kernels.conv import conv2d_forward
from . import config


# --------------------------------------------------------------------------- geometry
def output_size(n, k, stride=1, padding="valid"):
    """Output positions along one axis of length ``n`` for a window ``k`` and a ``stride``.

    "valid" keeps only windows that fit: ``floor((n - k) / stride) + 1``. "same" (TensorFlow's
    rule, which Keras follows) gives ``ceil(n / stride)`` positions; the zeros needed for that
    are split evenly and an odd one goes at the bottom/right (see :func:`padding_split`).
    """
    if padding == "same":
        return -(-n // stride)
    return (n - k) // stride + 1 if n >= k else 0


def padding_split(n, k, stride=1, padding="valid"):
    """Zeros added ``(before, after)`` along one axis: ``total = max((out - 1) * stride + k - n, 0)``."""
    if padding != "same":
        return 0, 0
    total = max((output_size(n, k, stride, "same") - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


@dataclass(frozen=True)
class Geometry:
    """Sizes of one convolution: input, kernel, stride, zeros added on each side, output."""
    in_h: int
    in_w: int
    k_h: int
    k_w: int
    stride: int
    padding: str
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int
    out_h: int
    out_w: int

    @property
    def padded_shape(self):
        return (self.in_h + self.pad_top + self.pad_bottom, self.in_w + self.pad_left + self.pad_right)

    @property
    def positions(self):
        return self.out_h * self.out_w

    def formula(self):
        """The output-size arithmetic for the height, as a line of text."""
        p = self.pad_top + self.pad_bottom
        return (f"out = floor(({self.in_h} + {p} - {self.k_h}) / {self.stride}) + 1 = {self.out_h}"
                f"   ({self.padding!r}: {p} zero row{'s' if p != 1 else ''} added)")


def geometry(image_shape, kernel_shape, stride, padding):
    h, w = image_shape
    kh, kw = kernel_shape
    top, bottom = padding_split(h, kh, stride, padding)
    left, right = padding_split(w, kw, stride, padding)
    return Geometry(h, w, kh, kw, stride, padding, top, bottom, left, right,
                    output_size(h, kh, stride, padding), output_size(w, kw, stride, padding))


# --------------------------------------------------------------------------- checks
def as_image(image):
    """A grey image as a float64 (H, W) array in [0, 1] (uint8 pixels are divided by 255)."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"ConvExplorer: the image must be grey, of shape (H, W) or (H, W, 1); "
                         f"got shape {a.shape}.")
    if not (1 <= a.shape[0] <= config.MAX_IMAGE_SIZE and 1 <= a.shape[1] <= config.MAX_IMAGE_SIZE):
        raise ValueError(f"ConvExplorer: images from 1x1 to {config.MAX_IMAGE_SIZE}x{config.MAX_IMAGE_SIZE} "
                         f"pixels can be explored; got shape {a.shape}.")
    if a.dtype.kind in "ui":
        a = a / 255.0
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("ConvExplorer: the image contains NaN or infinite pixels.")
    return a


def as_kernel(kernel):
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or not (1 <= k.shape[0] <= config.MAX_KERNEL_SIZE and 1 <= k.shape[1] <= config.MAX_KERNEL_SIZE):
        raise ValueError(f"ConvExplorer: the kernel must be a 2-D array from 1x1 to "
                         f"{config.MAX_KERNEL_SIZE}x{config.MAX_KERNEL_SIZE}; got shape {k.shape}.")
    if not np.all(np.isfinite(k)):
        raise ValueError("ConvExplorer: the kernel contains NaN or infinite weights.")
    return k


# --------------------------------------------------------------------------- the sliding window
class ConvExplorerCore:
    """One grey image convolved with one kernel, position by position.

    ``kernel`` is a 2-D array or a preset name (``config.PRESETS``) with ``size`` 3 or 5;
    ``padding`` is "valid" or "same"; ``stride`` a positive int; ``bias`` is added to every
    output. ``position`` counts output cells in reading order (row by row); the cells before
    and at it are the ones already "computed" in the animation.
    """

    def __init__(self, image, kernel="edges: vertical", *, size=3, padding="valid", stride=1, bias=0.0):
        self._image = as_image(image)
        self._kernel = as_kernel(config.preset(kernel, size) if isinstance(kernel, str) else kernel)
        self.preset_name = kernel if isinstance(kernel, str) else None
        self._padding = self._check_padding(padding)
        self._stride = self._check_stride(stride)
        self._bias = float(bias)
        self.drawn = False
        self.position = 0
        self.version = 0          # counts changes of image, kernel, bias or geometry (for caches)
        self._map = None
        self._update()

    # ---------------------------------------------------------------- settings
    @staticmethod
    def _check_padding(padding):
        p = str(padding).lower()
        if p not in config.PADDINGS:
            raise ValueError(f"ConvExplorer: padding must be one of {list(config.PADDINGS)}; got {padding!r}.")
        return p

    @staticmethod
    def _check_stride(stride):
        if isinstance(stride, bool) or int(stride) != stride or stride < 1:
            raise ValueError(f"ConvExplorer: stride must be a positive integer; got {stride!r}.")
        return int(stride)

    def _update(self):
        """Recompute geometry and output after a change; keep the position if it still exists."""
        g = geometry(self._image.shape, self._kernel.shape, self._stride, self._padding)
        if g.positions == 0:
            raise ValueError(f"ConvExplorer: a {g.k_h}x{g.k_w} kernel does not fit in the "
                             f"{g.in_h}x{g.in_w} image with padding {self._padding!r}; use 'same' padding "
                             f"or a smaller kernel.")
        self.geometry = g
        self._changed()
        self.position = min(self.position, g.positions - 1)

    def _replace(self, attribute, value):
        """Set one setting and recompute; if the result does not fit, put the old one back."""
        old = getattr(self, attribute)
        setattr(self, attribute, value)
        try:
            self._update()
        except ValueError:
            setattr(self, attribute, old)
            raise

    @property
    def image(self):
        return self._image

    @image.setter
    def image(self, image):
        self._replace("_image", as_image(image))
        self.drawn = False

    @property
    def kernel(self):
        return self._kernel

    @kernel.setter
    def kernel(self, kernel):
        self._replace("_kernel", as_kernel(kernel))
        self.preset_name = None

    def use_preset(self, name, size=None):
        self.kernel = config.preset(name, self._kernel.shape[0] if size is None else size)
        self.preset_name = name

    def set_weight(self, row, col, value):
        """Edit one kernel weight."""
        k = self._kernel.copy()
        k[row, col] = float(value)
        self.kernel = k

    @property
    def padding(self):
        return self._padding

    @padding.setter
    def padding(self, padding):
        self._replace("_padding", self._check_padding(padding))

    @property
    def stride(self):
        return self._stride

    @stride.setter
    def stride(self, stride):
        self._stride = self._check_stride(stride)
        self._update()          # any stride fits: the output only gets smaller

    @property
    def bias(self):
        return self._bias

    @bias.setter
    def bias(self, value):
        self._bias = float(value)
        self._changed()

    def _changed(self):
        self._map = None
        self.version += 1

    # ---------------------------------------------------------------- drawing your own image
    def blank(self, shape=None):
        """Start a drawing on a black canvas (default: the current image's size)."""
        self.image = np.zeros(shape or self._image.shape)
        self.drawn = True

    def paint(self, row, col, value=1.0, radius=1.0):
        """Paint a soft round dot centred on pixel (row, col); ``value`` 0 erases.

        Each pixel moves towards ``value`` by a weight that is 1 at the centre and falls
        linearly to 0 at ``radius + 1`` pixels away, like a soft brush. Returns True when a pixel changed.
        """
        h, w = self._image.shape
        rr, cc = np.mgrid[0:h, 0:w]
        weight = np.clip(1.0 - np.hypot(rr - row, cc - col) / (float(radius) + 1.0), 0.0, 1.0)
        img = self._image
        new = np.clip(img + (float(value) - img) * weight, 0.0, 1.0)
        changed = not np.array_equal(new, img)
        if changed:
            self._image = new
            self._changed()
        self.drawn = True
        return changed

    # ---------------------------------------------------------------- results
    def padded(self):
        """The image with the zero rows/columns of the padding, shape ``geometry.padded_shape``."""
        g = self.geometry
        return np.pad(self._image, ((g.pad_top, g.pad_bottom), (g.pad_left, g.pad_right)))

    def output(self):
        """The whole output map (out_h, out_w), from minikeras's convolution kernel."""
        if self._map is None:
            x = self._image[None, :, :, None]
            w = self._kernel[:, :, None, None]
            out, _ = conv2d_forward(x, w, np.array([self._bias]), strides=self._stride, padding=self._padding)
            self._map = out[0, :, :, 0]
        return self._map

    def cell(self, position=None):
        """(row, col) of the output cell at ``position`` (default: the current one)."""
        t = self.position if position is None else int(position)
        if not 0 <= t < self.geometry.positions:
            raise IndexError(f"ConvExplorer: position {t} is outside 0..{self.geometry.positions - 1}.")
        return divmod(t, self.geometry.out_w)

    def window_origin(self, position=None):
        """Top-left corner (row, col) of the kernel's window in *padded* coordinates."""
        r, c = self.cell(position)
        return r * self._stride, c * self._stride

    def step_arithmetic(self, position=None):
        """The multiply-and-add at one output cell, worked out from the padded window.

        Returns a dict: ``row``, ``col`` (output cell), ``top``, ``left`` (window corner in the
        padded image), ``window`` (the pixels under the kernel), ``is_padding`` (which of them
        are padding zeros), ``kernel``, ``products`` (window * kernel), ``total`` (their sum),
        ``bias`` and ``value`` (total + bias).
        """
        r, c = self.cell(position)
        top, left = r * self._stride, c * self._stride
        kh, kw = self._kernel.shape
        g = self.geometry
        window = self.padded()[top:top + kh, left:left + kw]
        rows = np.arange(top, top + kh)[:, None]
        cols = np.arange(left, left + kw)[None, :]
        is_padding = ((rows < g.pad_top) | (rows >= g.pad_top + g.in_h)
                      | (cols < g.pad_left) | (cols >= g.pad_left + g.in_w))
        products = window * self._kernel
        total = math.fsum(products.ravel())
        return {"row": r, "col": c, "top": top, "left": left, "window": window, "is_padding": is_padding,
                "kernel": self._kernel, "products": products, "total": total, "bias": self._bias,
                "value": total + self._bias}

    def revealed(self):
        """The output map with the cells after the current position set to NaN (not computed yet)."""
        out = self.output().copy().ravel()
        out[self.position + 1:] = np.nan
        return out.reshape(self.output().shape)

    # ---------------------------------------------------------------- moving the window
    def seek(self, position):
        self.position = int(np.clip(int(position), 0, self.geometry.positions - 1))
        return self.position

    def step(self, n=1):
        """Move ``n`` cells on (negative: back), wrapping around at the ends."""
        self.position = (self.position + int(n)) % self.geometry.positions
        return self.position

    def finish(self):
        """Jump to the last cell: the whole map is computed."""
        return self.seek(self.geometry.positions - 1)

    def describe(self):
        """One line about the current setting, for the status bar."""
        g = self.geometry
        return (f"input {g.in_h}x{g.in_w}, kernel {g.k_h}x{g.k_w}, padding {g.padding!r}, stride {g.stride}: "
                f"output {g.out_h}x{g.out_w}")


# --------------------------------------------------------------------------- a trained CNN
@dataclass
class LayerMaps:
    name: str
    kind: str          # the layer's class name
    maps: np.ndarray   # (h, w, channels)


class FeatureMaps:
    """A trained minikeras model run on one grey image, keeping every spatial layer's output.

    ``model`` must take images of shape (H, W, 1); ``class_names`` label its outputs.
    ``compute(image)`` returns ``(layers, probabilities)``: a list of :class:`LayerMaps` (one
    per layer whose output is still an image, in order) and the output probabilities (a
    softmax is applied when the last layer gives logits).
    """

    def __init__(self, model, class_names=None):
        self.model = model
        if not getattr(model, "layers", None):
            raise ValueError("FeatureMaps: the model has no layers; pass a built, trained keras model.")
        self.class_names = tuple(class_names) if class_names is not None else None
        self._cache_key = None
        self._cache = None

    def input_hw(self):
        shape = getattr(self.model, "input_shape", None)
        if shape is None or len(shape) != 4:
            return None
        return tuple(shape[1:3])

    def first_conv(self):
        """(kernel (kh, kw, cin, filters), bias) of the first Conv2D layer, or None."""
        for layer in self.model.layers:
            if type(layer).__name__ == "Conv2D":
                weights = layer.get_weights()
                bias = weights[1] if len(weights) > 1 else np.zeros(weights[0].shape[-1])
                return np.asarray(weights[0]), np.asarray(bias)
        return None

    def compute(self, image):
        from ... import ops
        img = as_image(image)
        key = img.tobytes()
        if key == self._cache_key:
            return self._cache
        want = self.input_hw()
        if want is not None and None not in want and tuple(want) != img.shape:
            raise ValueError(f"FeatureMaps: the model takes {want[0]}x{want[1]} images, "
                             f"the chosen image is {img.shape[0]}x{img.shape[1]}.")
        x = ops.convert_to_tensor(img[None, :, :, None].astype(np.float32))
        found = []
        for layer in self.model.layers:
            x = layer(x, training=False)
            value = ops.convert_to_numpy(x)
            if value.ndim == 4:
                found.append(LayerMaps(layer.name, type(layer).__name__, value[0]))
        out = ops.convert_to_numpy(x).reshape(-1).astype(np.float64)
        if not (np.all(out >= 0) and abs(out.sum() - 1.0) < 1e-3):
            e = np.exp(out - out.max())
            out = e / e.sum()
        if self.class_names is not None and len(self.class_names) != len(out):
            raise ValueError(f"FeatureMaps: {len(self.class_names)} class names for a model with "
                             f"{len(out)} outputs.")
        self._cache_key, self._cache = key, (found, out)
        return found, out

    def label(self, index):
        return self.class_names[index] if self.class_names else str(index)
