"""The playground's pictures as pure functions of numbers: PNG bytes, SVG and HTML strings.

Nothing here knows a widget or a model. The heatmap's axes are drawn by matplotlib once per
input domain (cached); every frame pastes the coloured grid into that picture and draws the
points with PIL, several times faster than a full matplotlib draw. The loss chart has no
axes (as the web app's), so PIL draws it alone; its caption is HTML text.
"""
import base64
import functools
import io

import numpy as np

from .. import _datasets as ds
from .config import MAX_NEURONS

ORANGE, GREY, BLUE = (0xF5, 0x93, 0x22), (0xE8, 0xEA, 0xEB), (0x08, 0x77, 0xBD)
CLASS_COLOURS = [(0xF5, 0x93, 0x22), (0x08, 0x77, 0xBD), (0x2C, 0xA0, 0x2C), (0x94, 0x67, 0xBD),
                 (0xD6, 0x27, 0x28), (0x8C, 0x56, 0x4B), (0xE3, 0x77, 0xC2), (0x17, 0xBE, 0xCF)]


# --------------------------------------------------------------------------- colours
def colour_map(values, discretize=False, shades=31, alpha=160):
    """The web app's diverging map: orange (-1), light grey (0), blue (+1), clamped, quantized
    to ``shades`` levels and blended over white at ``alpha``/255; NaN shows grey. -> uint8 RGB."""
    v = np.asarray(values, dtype=np.float64)
    nan = ~np.isfinite(v)
    v = np.clip(np.nan_to_num(v, nan=0.0, posinf=1.0, neginf=-1.0), -1, 1)
    if discretize:
        v = np.where(v >= 0, 1.0, -1.0)
    v = np.round((v + 1) / 2 * (shades - 1)) / (shades - 1) * 2 - 1
    o, g, b = (np.array(c, float) for c in (ORANGE, GREY, BLUE))
    t = np.abs(v)[..., None]
    rgb = np.where((v < 0)[..., None], g + (o - g) * t, g + (b - g) * t)
    a = alpha / 255.0
    rgb = rgb * a + 255.0 * (1 - a)
    rgb[nan] = (160, 160, 160)
    return rgb.astype(np.uint8)


def class_colour_map(probs, discretize=False, alpha=160):
    """One colour per class; intensity from how far the top probability is above chance."""
    p = np.asarray(probs, dtype=np.float64)
    k = p.shape[-1]
    nan = ~np.all(np.isfinite(p), axis=-1)
    p = np.nan_to_num(p)
    top = np.argmax(p, axis=-1)
    strength = np.ones(top.shape) if discretize else np.clip((p.max(-1) - 1.0 / k) / (1 - 1.0 / k), 0, 1)
    palette = np.array([CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(k)], float)
    g = np.array(GREY, float)
    rgb = g + (palette[top] - g) * strength[..., None]
    a = alpha / 255.0
    rgb = rgb * a + 255.0 * (1 - a)
    rgb[nan] = (160, 160, 160)
    return rgb.astype(np.uint8)


def map_rgb(values, discretize=False):
    """Grid values -> RGB: (G, G) values on the diverging map, (G, G, k) probabilities by class."""
    values = np.asarray(values)
    return class_colour_map(values, discretize) if values.ndim == 3 else colour_map(values, discretize)


def point_colours(y, num_classes):
    """The fill colour of each data point: its class colour, or its value on the diverging map."""
    if num_classes > 2:
        palette = np.array([CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(num_classes)], np.uint8)
        return palette[np.asarray(y).astype(int)]
    return colour_map(np.asarray(y, float), alpha=255)


def hex_colour(rgb):
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def png(rgb, scale=1):
    """An (H, W, 3) uint8 array as PNG bytes, optionally enlarged ``scale`` times (nearest)."""
    from PIL import Image
    img = Image.fromarray(np.ascontiguousarray(rgb))
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return _encode(img)


def _encode(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def legend_html():
    stops = ",".join(hex_colour(colour_map(np.array([v]), alpha=255)[0]) for v in np.linspace(-1, 1, 9))
    return ("<div style='font-size:11px;line-height:1.4;color:#555'>Colors shows data, neuron and weight values."
            f"<div style='width:200px;height:10px;background:linear-gradient(to right,{stops})'></div>"
            "<div style='width:200px;display:flex;justify-content:space-between'>"
            "<span>-1</span><span>0</span><span>1</span></div></div>")


# --------------------------------------------------------------------------- data-set thumbnails
THUMB = 52


def points_thumbnail(X, y, domain, num_classes, size=THUMB):
    """A ``size`` px picture of points on [-domain, domain]^2, one pixel each."""
    img = np.full((size, size, 3), 255, np.uint8)
    X = np.asarray(X, float)
    px = np.clip(((X[:, 0] + domain) / (2 * domain) * (size - 1)).round().astype(int), 0, size - 1)
    py = np.clip(((domain - X[:, 1]) / (2 * domain) * (size - 1)).round().astype(int), 0, size - 1)
    img[py, px] = point_colours(y, num_classes)
    return png(img)


@functools.lru_cache(maxsize=64)
def dataset_thumbnail(name, classes=2):
    """A built-in data set drawn as the web app's thumbnails: 200 points without noise."""
    X, y = ds.generate(name, 200, 0.0, np.random.default_rng(0), classes=classes)
    k = classes if name in ds.MULTICLASS and classes > 2 else 2
    if k == 2 and y.dtype.kind in "iu":
        y = np.where(y == 1, 1.0, -1.0)
    return points_thumbnail(X, y, 6.0, k)


# --------------------------------------------------------------------------- the heatmap
HEAT_PX = 330
#: the plot area in figure fractions: little room on the left, so the network's links reach it
#: (the y ticks are on the right), room below and on the right for the tick labels
HEAT_AXES = (0.012, 0.07, 0.87, 0.88)


@functools.lru_cache(maxsize=16)
def heatmap_background(domain, size=HEAT_PX):
    """The heatmap's frame, ticks and labels for a domain, drawn once by matplotlib:
    (PIL RGB image of ``size`` px, plot box (x0, y0, x1, y1) in its pixels)."""
    from PIL import Image
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(size / 100, size / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes(HEAT_AXES)
    ax.set_xlim(-domain, domain)
    ax.set_ylim(-domain, domain)
    ax.yaxis.tick_right()
    ax.tick_params(labelsize=7, length=2, pad=1)
    canvas.draw()
    w, h = canvas.get_width_height()
    img = Image.frombuffer("RGBA", (w, h), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1).convert("RGB")
    x0, y0, x1, y1 = ax.get_window_extent().extents
    return img, (int(round(x0)), int(round(h - y1)), int(round(x1)), int(round(h - y0)))


def heatmap_geometry(domain):
    """(PNG size (w, h), plot box) of the heatmap picture for ``domain``."""
    img, box = heatmap_background(float(domain))
    return img.size, box


def heatmap_png(rgb, domain, points=()):
    """The heatmap picture: the (G, G, 3) colours stretched over the plot box of the domain's
    axes, and ``points``: (xy (n, 2), fill colours (n, 3) uint8, edge RGB) groups as circles."""
    from PIL import Image, ImageDraw
    background, (bx0, by0, bx1, by1) = heatmap_background(float(domain))
    img = background.copy()
    img.paste(Image.fromarray(np.ascontiguousarray(rgb)).resize((bx1 - bx0, by1 - by0), Image.NEAREST), (bx0, by0))
    draw = ImageDraw.Draw(img)
    sx, sy = (bx1 - bx0) / (2 * domain), (by1 - by0) / (2 * domain)
    r = 3
    for xy, fill, edge in points:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if not len(xy):
            continue
        px = bx0 + (xy[:, 0] + domain) * sx
        py = by0 + (domain - xy[:, 1]) * sy
        for x, y, col in zip(px.tolist(), py.tolist(), np.asarray(fill).tolist()):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(col), outline=edge)
    draw.rectangle((bx0, by0, bx1 - 1, by1 - 1), outline=(0, 0, 0))
    return _encode(img)


# --------------------------------------------------------------------------- the loss chart
LOSS_SIZE = (300, 64)


def loss_chart_png(epochs, train, test, size=LOSS_SIZE):
    """Train (grey) and test (black) loss against epoch, auto-scaled, without axes (as the
    web app's). Drawn at twice the size and averaged down, for smooth lines."""
    from PIL import Image, ImageDraw
    w, h = size
    s = 2
    img = Image.new("RGB", (w * s, h * s), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, w * s - 1, h * s - 1), outline=(221, 221, 221), width=s)
    ep = np.asarray(epochs, float)
    series = [np.asarray(v, float) for v in (train, test)]
    finite = np.concatenate([v[np.isfinite(v)] for v in series]) if len(ep) else np.zeros(0)
    if len(ep) and len(finite):
        lo, hi = float(finite.min()), float(finite.max())
        pad = (hi - lo) * 0.05 or 0.01
        lo, hi = lo - pad, hi + pad
        e0, e1 = float(ep.min()), max(float(ep.max()), float(ep.min()) + 1)
        x = (ep - e0) / (e1 - e0) * (w - 4) * s + 2 * s
        for v, colour in zip(series, ((0x77, 0x77, 0x77), (0, 0, 0))):
            y = (hi - v) / (hi - lo) * (h - 4) * s + 2 * s
            ok = np.isfinite(y)
            pts = list(zip(x[ok].tolist(), y[ok].tolist()))
            if len(pts) > 1:    # one epoch is not a line yet
                draw.line(pts, fill=colour, width=int(1.3 * s), joint="curve")
    return _encode(img.reduce(s))


def loss_caption(epochs, train, test):
    """The loss chart's caption as HTML: the range it shows and what the lines are."""
    finite = [v for v in list(train) + list(test) if np.isfinite(v)]
    if not len(epochs) or not finite:
        span = "no loss yet"
    else:
        span = f"loss {min(finite):.3f} .. {max(finite):.3f}, epochs {min(epochs)}..{max(epochs)}"
    return (f"<div style='font-size:12px;line-height:16px;color:#555'>{span}<br>"
            "<span style='color:#777'>grey: train</span>, <span style='color:#000'>black: test</span></div>")


# --------------------------------------------------------------------------- the network
NODE, PITCH = 32, 40          # neuron thumbnail size and the distance between rows
NET_WIDTH = 380               # fixed, so that adding a layer does not move the output column
NET_HEIGHT = MAX_NEURONS * PITCH + 8
NET_LEFT = 4                  # x of the input column


def node_top(i):
    """Top of the thumbnail in row ``i``; every column starts at the top, as in the web app."""
    return 4 + PITCH * i


def layer_left(n_hidden):
    """x of each column (inputs, then every hidden layer): equal gaps between columns, and the
    same gap from the last column to the right edge, where the links into the output end."""
    gap = (NET_WIDTH - NET_LEFT - (n_hidden + 1) * NODE) / (n_hidden + 1)
    return [NET_LEFT + l * (NODE + gap) for l in range(n_hidden + 1)]


@functools.lru_cache(maxsize=256)
def _thumb_b64(values_bytes, shape, discretize):
    values = np.frombuffer(values_bytes, dtype=np.float64).reshape(shape)
    return base64.b64encode(png(colour_map(values, discretize, alpha=255))).decode()


def _thumb(values, discretize):
    """A 10x10 average-pooled thumbnail of a (G, G) map, base64 PNG (cached: inputs repeat)."""
    g = values.shape[0]
    pool = g // 10
    v = np.ascontiguousarray(values[: pool * 10, : pool * 10].reshape(10, pool, 10, pool).mean(axis=(1, 3)),
                             dtype=np.float64)
    return _thumb_b64(v.tobytes(), v.shape, bool(discretize))


@functools.lru_cache(maxsize=32)
def _feature_thumb(feature, discretize):
    a, b = np.meshgrid(np.linspace(-6, 6, 10), np.linspace(6, -6, 10))
    return base64.b64encode(png(colour_map(ds.FEATURES[feature][1](a, b), discretize, alpha=255))).decode()


def network_svg(grid, weights, features, active, epoch, output_y, discretize=False):
    """The network as SVG: input and hidden nodes as thumbnails of their output over the plane,
    bias squares, and curved links coloured and sized by weight (hover for the values).

    ``features`` are the input rows drawn (inactive ones faded, ``active`` says which feed the
    model), ``weights`` [(kernel, bias)] per Dense layer, ``output_y`` the height in the picture
    where the links into the output end, at its right edge (the heatmap's middle)."""
    hidden = [W.shape[1] for W, _ in weights[:-1]]
    lefts = layer_left(len(hidden))
    in_index = {f: i for i, f in enumerate(f for f, a in zip(features, active) if a)}
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{NET_WIDTH}' height='{NET_HEIGHT}' "
           f"class='mk-network' style='display:block;font:10px sans-serif'>"]
    # links
    sources = [[i for i, a in enumerate(active) if a]] + [list(range(u)) for u in hidden]
    last = len(weights) - 1
    for l, (W, _) in enumerate(weights):
        colours = colour_map(W, alpha=255)
        cls = "mk-link mk-link-out" if l == last else "mk-link"
        for r, i in enumerate(sources[l]):
            x1, y1 = lefts[l] + NODE, node_top(i) + NODE / 2
            for j in range(W.shape[1]):
                if l < last:
                    x2, y2 = lefts[l + 1], node_top(j) + NODE / 2
                else:
                    x2, y2 = NET_WIDTH, output_y + (j - (W.shape[1] - 1) / 2) * 8
                w = float(W[r, j])
                width_px = 1 + 9 * min(abs(w), 5) / 5 if np.isfinite(w) else 1
                mx = (x1 + x2) / 2
                out.append(f"<path class='{cls}' d='M{x1:.1f},{y1:.1f} C{mx:.1f},{y1:.1f} {mx:.1f},{y2:.1f} "
                           f"{x2:.1f},{y2:.1f}' fill='none' stroke='{hex_colour(colours[r, j])}' "
                           f"stroke-width='{width_px:.2f}' stroke-dasharray='9,1' "
                           f"stroke-dashoffset='{-epoch / 3:.1f}'><title>Weight is {w:.2g}</title></path>")
    # input nodes
    x = lefts[0]
    for i, f in enumerate(features):
        y = node_top(i)
        href = _thumb(grid["inputs"][in_index[f]], discretize) if active[i] else _feature_thumb(f, discretize)
        out.append(f"<g opacity='{1.0 if active[i] else 0.3}'><image class='mk-node mk-input' x='{x}' y='{y}' "
                   f"width='{NODE}' height='{NODE}' style='image-rendering:pixelated' "
                   f"href='data:image/png;base64,{href}'></image><rect x='{x}' y='{y}' width='{NODE}' "
                   f"height='{NODE}' fill='none' stroke='#888'><title>{ds.FEATURES[f][0]}</title></rect></g>")
    # hidden nodes with their bias squares
    for l, maps in enumerate(grid["hidden"]):
        bias = weights[l][1]
        bias_colours = colour_map(bias, alpha=255)
        x = lefts[l + 1]
        for j in range(maps.shape[0]):
            y = node_top(j)
            out.append(f"<image class='mk-node mk-hidden' data-layer='{l + 1}' x='{x:.1f}' y='{y}' width='{NODE}' "
                       f"height='{NODE}' style='image-rendering:pixelated' "
                       f"href='data:image/png;base64,{_thumb(maps[j], discretize)}'></image>"
                       f"<rect x='{x:.1f}' y='{y}' width='{NODE}' height='{NODE}' fill='none' stroke='#888'>"
                       f"<title>Layer {l + 1}, neuron {j + 1}</title></rect>"
                       f"<rect x='{x - 3:.1f}' y='{y + NODE - 3}' width='6' height='6' "
                       f"fill='{hex_colour(bias_colours[j])}' stroke='#555' stroke-width='0.5'>"
                       f"<title>Bias is {float(bias[j]):.2g}</title></rect>")
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- icons
# Button glyphs as SVG that ships here (24x24 grid), so no icon font or system font is needed.
_ICONS = {
    "play": "<path fill='{c}' d='M8 5v14l11-7z'/>",
    "pause": "<path fill='{c}' d='M6 5h4v14H6zM14 5h4v14h-4z'/>",
    "step": "<path fill='{c}' d='M5 5v14l10-7zM16 5h3v14h-3z'/>",
    "reset": "<path d='M5.5 12a6.5 6.5 0 1 0 1.9-4.6' fill='none' stroke='{c}' stroke-width='2.4'/>"
             "<path fill='{c}' d='M3.5 3.5v7h7z'/>",
    "refresh": "<path d='M18.5 12a6.5 6.5 0 1 1-1.9-4.6' fill='none' stroke='{c}' stroke-width='2.4'/>"
               "<path fill='{c}' d='M20.5 3.5v7h-7z'/>",
    "plus": "<path fill='{c}' d='M10.75 4h2.5v6.75H20v2.5h-6.75V20h-2.5v-6.75H4v-2.5h6.75z'/>",
    "minus": "<path fill='{c}' d='M4 10.75h16v2.5H4z'/>",
}


def icon_svg(name, colour="#333"):
    """One button glyph as a standalone SVG document."""
    return ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' width='24' height='24'>"
            + _ICONS[name].replace("{c}", colour) + "</svg>")


@functools.lru_cache(maxsize=1)
def stylesheet():
    """CSS for the playground's buttons: each ``mk-icon-NAME`` class shows its glyph as an inline
    SVG background (white on the primary play button; ``mk-icon-big`` for the top bar)."""
    def url(name, colour):
        return "url(data:image/svg+xml;base64," + base64.b64encode(icon_svg(name, colour).encode()).decode() + ")"
    rules = [".mk-playground .mk-icon{background-repeat:no-repeat;background-position:center;"
             "background-size:18px 18px}",
             ".mk-playground .mk-icon.mk-icon-big{background-size:26px 26px}",
             ".mk-playground .mk-icon.mk-icon-text{background-position:8px center;padding-left:30px}"]
    for name in _ICONS:
        rules.append(f".mk-playground .mk-icon-{name}{{background-image:{url(name, '#333')}}}")
        rules.append(f".mk-playground .mod-primary.mk-icon-{name}{{background-image:{url(name, '#fff')}}}")
    return "<style>" + "\n".join(rules) + "</style>"
