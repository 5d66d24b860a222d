"""Pictures and HTML for the convolution explorer, drawn with NumPy and encoded by Pillow.

No matplotlib here: the pictures are grids of coloured cells, which NumPy paints directly,
and skipping a figure per frame is what keeps sliding the window fluid. Every function takes
plain arrays (or a :class:`~.core.ConvExplorerCore`) and returns PNG bytes or an HTML string,
so all of it can be checked without a browser.
"""
import functools
import html
import io

import numpy as np

from . import config

TARGET_PIXELS = 308     # each map is shown at about this width, whatever its number of cells
# The browser shows every PNG pixel of the two sliding-window maps as a DISPLAY_SCALE x
# DISPLAY_SCALE block (CSS ``image-rendering: pixelated``), so they are drawn at half size:
# a quarter of the pixels to paint, encode and send at every move of the window.
DISPLAY_SCALE = 2


def cell_size(n_cells, target=TARGET_PIXELS // DISPLAY_SCALE, smallest=2):
    """PNG pixels per cell so that ``n_cells`` cells fill about ``target`` pixels."""
    return max(smallest, target // max(int(n_cells), 1))


def png(rgb):
    """uint8 (h, w, 3) -> PNG bytes (fast, lightly compressed)."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# --------------------------------------------------------------------------- colours
def grey_rgb(values):
    """Pixels in [0, 1] as stored: 0 black, 1 white."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    g = np.round(v * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def diverging_rgb(values, scale=None):
    """Blue for negative, white for zero, red for positive, saturating at +-``scale``
    (default: the largest magnitude). NaN cells (not computed yet) are light grey."""
    v = np.asarray(values, dtype=np.float64)
    pending = ~np.isfinite(v)
    if scale is None:
        finite = np.abs(v[~pending])
        scale = float(finite.max()) if finite.size else 1.0
    scale = scale if scale > 0 else 1.0
    t = np.clip(np.nan_to_num(v) / scale, -1.0, 1.0)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    rgb = np.where(t < 0, white + (np.array(config.NEGATIVE) - white) * -t,
                   white + (np.array(config.POSITIVE) - white) * t)
    rgb[pending] = config.PENDING
    return np.round(rgb).astype(np.uint8)


def magnitude_rgb(values, scale=None):
    """Non-negative maps (after ReLU or pooling) on a white-to-black ramp; scale = max by default."""
    v = np.asarray(values, dtype=np.float64)
    scale = float(np.abs(v).max()) if scale is None else float(scale)
    g = 255 - np.round(np.clip(np.abs(v) / (scale if scale > 0 else 1.0), 0, 1) * 255)
    return np.repeat(g.astype(np.uint8)[..., None], 3, axis=-1)


# --------------------------------------------------------------------------- geometry helpers
def upscale(rgb, cell, grid=True, pending=None):
    """Each cell becomes a ``cell`` x ``cell`` block, with faint grid lines when cells are big
    (blended, so they show on black and white alike). Cells marked in ``pending`` are hatched."""
    big = np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)
    if pending is not None and pending.any():
        mask = np.repeat(np.repeat(pending, cell, axis=0), cell, axis=1)
        big[mask] = config.PENDING
        big[mask & _stripes(big.shape[:2])] = config.PENDING_STRIPE
    if grid and cell >= 4:
        line = np.array(config.GRID_LINE, np.uint16) * 2
        for view in (big[::cell, :, :], big[:, ::cell, :]):
            view[...] = (view * np.uint16(3) + line) // 5
    return big


@functools.lru_cache(maxsize=8)
def _stripes(shape):
    h, w = shape
    stripes = ((np.arange(h)[:, None] + np.arange(w)[None, :]) % 6) < 2
    stripes.setflags(write=False)
    return stripes


def outline(rgb, top, left, height, width, cell, colour=config.HIGHLIGHT, thickness=1):
    """Draw a rectangle around cells [top, top+height) x [left, left+width), in place."""
    h, w = rgb.shape[:2]
    y0, x0 = top * cell, left * cell
    y1, x1 = min((top + height) * cell, h) - 1, min((left + width) * cell, w) - 1
    t = thickness
    rgb[y0:y0 + t, x0:x1 + 1] = colour
    rgb[max(y1 - t + 1, 0):y1 + 1, x0:x1 + 1] = colour
    rgb[y0:y1 + 1, x0:x0 + t] = colour
    rgb[y0:y1 + 1, max(x1 - t + 1, 0):x1 + 1] = colour
    return rgb


# --------------------------------------------------------------------------- the explorer's maps
_input_cache = {}


def _input_base(core):
    """The upscaled padded input without the window; it changes only with the image or the
    geometry, so the last one is kept (keyed by the core's change counter)."""
    key = (id(core), core.version)
    if key not in _input_cache:
        g = core.geometry
        ph, pw = g.padded_shape
        rgb = grey_rgb(core.padded())
        pad = np.ones((ph, pw), bool)
        pad[g.pad_top:g.pad_top + g.in_h, g.pad_left:g.pad_left + g.in_w] = False
        rgb[pad] = config.PADDING_TINT
        _input_cache.clear()
        _input_cache[key] = upscale(rgb, cell_size(max(ph, pw)))
    return _input_cache[key]


def input_rgb(core):
    """The padded input: real pixels in grey, padding zeros tinted, the kernel's window outlined."""
    g = core.geometry
    big = _input_base(core).copy()
    top, left = core.window_origin()
    return outline(big, top, left, g.k_h, g.k_w, cell_size(max(g.padded_shape)))


def output_rgb(core):
    """The output map filled in up to the current position (the rest hatched), the current
    cell outlined.

    A map with negative values is drawn blue (negative) - white (0) - red (positive); a
    map without (blur, identity) in grey like the input, 0 black. Colours are scaled by the
    *whole* map, so a cell keeps its colour while the rest fills in."""
    g = core.geometry
    full = core.output()
    shown = core.revealed()
    pending = np.isnan(shown)
    if full.min() < 0:
        rgb = diverging_rgb(shown, float(np.abs(full).max()) or 1.0)
    else:
        rgb = grey_rgb(np.nan_to_num(shown) / (float(full.max()) or 1.0))
    cell = cell_size(max(g.out_h, g.out_w))
    big = upscale(rgb, cell, pending=pending)
    r, c = core.cell()
    return outline(big, r, c, 1, 1, cell)


def input_png(core):
    return png(input_rgb(core))


def output_png(core):
    return png(output_rgb(core))


def css_width(rgb):
    """How wide the browser should show a picture drawn at 1/DISPLAY_SCALE size."""
    return f"{rgb.shape[1] * DISPLAY_SCALE}px"


PIXELATED_CSS = ("<style>.mk-conv-explorer img.mk-conv-input, .mk-conv-explorer img.mk-conv-output "
                 "{image-rendering: pixelated; image-rendering: crisp-edges;}</style>")


def _num(v):
    return f"{v:.2f}".replace("-", "\u2212")


def arithmetic_html(step):
    """The multiply-and-add at one position: a grid of ``pixel x weight`` terms and the sum."""
    rows = []
    window, kernel, padding = step["window"], step["kernel"], step["is_padding"]
    for i in range(kernel.shape[0]):
        cells = []
        for j in range(kernel.shape[1]):
            style = "background:#c8def5" if padding[i, j] else ""
            cells.append(f"<td style='{style};padding:1px 5px;border:1px solid #ddd;text-align:right'>"
                         f"{_num(window[i, j])}&times;{_num(kernel[i, j])}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    bias = step["bias"]
    bias_text = f" + bias {_num(bias)}" if bias else ""
    return ("<div class='mk-conv-arith' style='font-family:monospace;font-size:11px'>"
            f"<b>output[{step['row']}, {step['col']}]</b> = sum of pixel &times; weight over the window at "
            f"row {step['top']}, column {step['left']} of the padded input"
            "<table style='border-collapse:collapse;margin:3px 0'>" + "".join(rows) + "</table>"
            f"= {_num(step['total'])}{bias_text} = <b class='mk-conv-value'>{_num(step['value'])}</b>"
            + (" <span style='color:#4a6d96'>(blue cells: padding zeros)</span>" if padding.any() else "")
            + "</div>")


# --------------------------------------------------------------------------- the CNN view
def tile(maps, columns=8, gap=1):
    """(h, w, c) channel maps side by side in a grid -> ((rows*(h+gap)), ...) array, NaN in gaps."""
    h, w, c = maps.shape
    columns = min(columns, c)
    rows = -(-c // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for k in range(c):
        r, q = divmod(k, columns)
        out[r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = maps[:, :, k]
    return out


def layer_png(layer, channels=16, columns=8, width=TARGET_PIXELS + 100):
    """The strongest ``channels`` maps of one layer (largest mean activation first), tiled.

    One colour scale per layer, so the thumbnails of a layer compare with each other; maps
    with negative values (a conv without activation, BatchNormalization) use blue-white-red."""
    maps = layer.maps
    order = np.argsort(-np.abs(maps).mean(axis=(0, 1)), kind="stable")[:channels]
    grid = tile(maps[:, :, order], columns)
    gap = np.isnan(grid)
    scale = float(np.abs(maps[:, :, order]).max()) or 1.0
    rgb = diverging_rgb(grid, scale) if (maps < 0).any() else magnitude_rgb(np.nan_to_num(grid), scale)
    rgb[gap] = (255, 255, 255)
    cell = cell_size(grid.shape[1], target=width, smallest=1)
    return png(upscale(rgb, cell, grid=False)), [int(i) for i in order]


def probabilities_html(probabilities, names, true_label=None):
    """Horizontal bars, one per class, the predicted class in bold."""
    top = int(np.argmax(probabilities))
    rows = []
    for i, p in enumerate(probabilities):
        name = html.escape(str(names[i]) if names else str(i))
        mark = " (true)" if true_label is not None and i == true_label else ""
        weight = "bold" if i == top else "normal"
        colour = "#b2182b" if i == top else "#7a8ca3"
        rows.append(f"<div style='display:flex;align-items:center;font-size:12px;font-weight:{weight}'>"
                    f"<span style='width:110px'>{name}{mark}</span>"
                    f"<span class='mk-conv-bar' style='display:inline-block;height:10px;width:{p * 160:.1f}px;"
                    f"background:{colour};margin-right:6px'></span>{p:.1%}</div>")
    return "<div class='mk-conv-probs'>" + "".join(rows) + "</div>"
