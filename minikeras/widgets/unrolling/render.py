"""Pictures of the unrolled network: an SVG of the chain of time steps (hidden state per
step, gradient reaching each step) and a matplotlib figure (inputs, states, gates,
gradient norm per step), both built from an ``UnrollingCore``."""
import html
import io

import numpy as np

from . import config

ORANGE, GREY, BLUE = np.array((245, 147, 34.0)), np.array((232, 234, 235.0)), np.array((8, 119, 189.0))


def diverging(v):
    """-1 orange, 0 light grey, +1 blue (clamped) -> '#rrggbb'."""
    v = float(np.clip(np.nan_to_num(v), -1, 1))
    rgb = GREY + (BLUE - GREY) * v if v >= 0 else GREY + (ORANGE - GREY) * -v
    return "#%02x%02x%02x" % tuple(int(round(c)) for c in rgb)


def gradient_colour(log_ratio):
    """log10(|dL/dh_t| / |dL/dh_T|): red when grown, grey at 0, blue-grey when vanished."""
    v = float(np.clip(np.nan_to_num(log_ratio, nan=0.0, posinf=4.0, neginf=-4.0) / 4.0, -1, 1))
    red, faded = np.array((214, 39, 40.0)), np.array((200, 205, 215.0))
    base = np.array((90, 90, 90.0))
    rgb = base + (red - base) * v if v >= 0 else base + (faded - base) * -v
    return "#%02x%02x%02x" % tuple(int(round(c)) for c in rgb)


def graph_svg(core):
    """The unrolled chain h_0 -> h_1 -> ... -> h_T, the current step highlighted.

    Each cell shows the hidden state of that step as a strip of coloured squares (one per
    unit, shown once the step has been computed); the band below carries the gradient
    |dL/dh_t| backwards, coloured and sized by how much it grew or shrank.
    """
    fwd, grads = core.trace(), core.gradients()
    T, t_now, n = core.T, core.t, core.units
    span = config.MAX_SVG_STEPS
    first = 0 if T <= span else int(np.clip(t_now - span // 2, 0, T - span))
    steps = list(range(first, min(T, first + span) + 1))
    gap, top = 10, 22
    cell_w = int(np.clip(1500 / len(steps) - gap, 22, 46))
    n_shown = min(n, config.MAX_SVG_UNITS)
    sq = 7
    shown_units = max(1, min(n_shown, (cell_w - 6) // sq))     # squares per row
    rows = int(np.ceil(n_shown / shown_units))
    cell_h = 16 + rows * sq + 6
    width = len(steps) * (cell_w + gap) + 20
    height = top + cell_h + 70
    norms = grads["norms"]
    ref = norms[-1] if norms[-1] > 0 else 1.0
    scale = max(1e-12, float(np.max(np.abs(fwd["h"]))))   # colours: -max|h| orange .. +max|h| blue
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'class="mk-unroll-svg" data-step="{t_now}" data-steps="{T}" '
             f'style="font-family:sans-serif;font-size:10px">']
    parts.append(f'<text x="6" y="12" fill="#555">unrolled {config.CELL_NAMES[core.kind]}: '
                 f'h_t = cell(x_t, h_(t-1)); band below: |dL/dh_t| flowing back from step {T}</text>')
    for k, t in enumerate(steps):
        x0 = 10 + k * (cell_w + gap)
        done = t <= t_now
        cls = "mk-unroll-step" + (" mk-unroll-active" if t == t_now else "") + (" mk-unroll-done" if done else "")
        stroke = "#d62728" if t == t_now else ("#555" if done else "#bbb")
        dash = "" if done else ' stroke-dasharray="3,2"'
        title = f"step {t}: " + ("initial state h_0 = 0" if t == 0 else f"input x_{t}") + \
                f"; |dL/dh_{t}| = {norms[t]:.3g}"
        parts.append(f'<g class="{cls}" data-t="{t}"><title>{html.escape(title)}</title>')
        parts.append(f'<rect x="{x0}" y="{top}" width="{cell_w}" height="{cell_h}" rx="5" '
                     f'fill="{"#ffffff" if done else "#f4f4f4"}" stroke="{stroke}" '
                     f'stroke-width="{2.5 if t == t_now else 1}"{dash}/>')
        parts.append(f'<text x="{x0 + cell_w / 2}" y="{top + 11}" text-anchor="middle" '
                     f'fill="#333">{"h0" if t == 0 else (f"t={t}" if cell_w >= 34 else t)}</text>')
        if done:
            h = fwd["h"][t] / scale
            for u in range(n_shown):
                r, c = divmod(u, shown_units)
                parts.append(f'<rect x="{x0 + 4 + c * sq}" y="{top + 15 + r * sq}" width="{sq - 1}" '
                             f'height="{sq - 1}" fill="{diverging(h[u])}"/>')
        if k > 0:
            ax = x0 - gap
            parts.append(f'<line x1="{ax + 1}" y1="{top + cell_h / 2}" x2="{x0 - 3}" y2="{top + cell_h / 2}" '
                         f'stroke="{"#555" if done else "#ccc"}" stroke-width="1.5"/>'
                         f'<polygon points="{x0 - 3},{top + cell_h / 2 - 3} {x0},{top + cell_h / 2} '
                         f'{x0 - 3},{top + cell_h / 2 + 3}" fill="{"#555" if done else "#ccc"}"/>')
        log_ratio = np.log10(norms[t] / ref) if norms[t] > 0 else -np.inf
        band = float(np.clip(2 + 2 * (np.nan_to_num(log_ratio, neginf=-4) + 4), 1, 18))
        yb = top + cell_h + 22
        parts.append(f'<rect class="mk-unroll-grad" x="{x0}" y="{yb - band / 2}" width="{cell_w + (gap if k else 0)}" '
                     f'height="{band}" fill="{gradient_colour(log_ratio)}" data-norm="{norms[t]:.6g}"/>')
        if k % max(1, int(np.ceil(40 / cell_w))) == 0 or t == T:
            parts.append(f'<text x="{x0 + cell_w / 2}" y="{yb + 22}" text-anchor="middle" fill="#444">'
                         f'{norms[t]:.0e}</text>')
        parts.append("</g>")
    parts.append(f'<text x="6" y="{height - 4}" fill="#777">squares: units of h_t (orange -, blue +, scaled to '
                 f'max |h| = {scale:.2g}{"" if n_shown == n else f"; first {n_shown} of {n} units"}); gradient band: thick red = grew on the way back, thin pale = vanished '
                 f'(relative to step {T})</text>')
    parts.append("</svg>")
    return "".join(parts)


def figure(core, width=9.5, height=5.6, dpi=80):
    """A matplotlib Figure: inputs, hidden state (and cell state or gates), gradient per step."""
    from matplotlib.figure import Figure

    fwd, grads = core.trace(), core.gradients()
    T, t_now = core.T, core.t
    fig = Figure(figsize=(width, height), dpi=dpi)
    axes = fig.subplots(2, 2)
    steps = np.arange(1, T + 1)
    ax = axes[0, 0]
    x = core.sequence
    for j in range(min(x.shape[1], 12)):
        ax.plot(steps, x[:, j], lw=1)
    ax.axvline(t_now, color="#d62728", lw=1.5)
    ax.set_title("inputs x_t (red line: current step)", fontsize=9)
    ax.set_xlim(0.5, T + 0.5)

    ax = axes[0, 1]
    shown = np.full((core.units, T), np.nan)
    shown[:, :t_now] = fwd["h"][1:t_now + 1].T
    lim = 1.0 if core.activation in ("tanh", "sigmoid") else max(1e-9, float(np.nanmax(np.abs(fwd["h"]))))
    ax.imshow(np.ma.masked_invalid(shown), aspect="auto", cmap="coolwarm_r", vmin=-lim, vmax=lim,
              extent=(0.5, T + 0.5, core.units - 0.5, -0.5), interpolation="nearest")
    ax.set_title(f"hidden state h_t, {core.units} units (steps 1..{t_now})", fontsize=9)
    ax.set_ylabel("unit")

    ax = axes[1, 0]
    state = core.state()
    gates = state["gates"]
    if gates:
        names = config.GATE_NAMES[core.kind]
        width_bar = 0.8 / len(names)
        units = np.arange(core.units)
        for k, name in enumerate(names):
            ax.bar(units + (k - (len(names) - 1) / 2) * width_bar, gates[name], width_bar,
                   label=config.GATE_TITLES[name])
        if "c" in state:
            ax.plot(units, state["c"], "k.", ms=8, label="cell state c_t")
        values = [v for v in gates.values()] + ([state["c"]] if "c" in state else [])
        low, high = min(0.0, float(np.min(values))), max(1.0, float(np.max(values)))
        ax.set_ylim(low - 0.05, high + 0.5 * (high - low))     # room for the legend above the bars
        ax.legend(fontsize=7, ncol=3, loc="upper center")
        ax.set_title(f"gates at step {t_now}", fontsize=9)
        ax.set_xlabel("unit")
    elif t_now >= 1:
        ax.bar(np.arange(core.units), fwd["pre"][t_now - 1], color="#999", label="pre-activation")
        ax.bar(np.arange(core.units), fwd["h"][t_now], width=0.4, color="#1f77b4", label="h_t")
        ax.legend(fontsize=7)
        ax.set_title(f"step {t_now}: {core.activation}(x W + h U + b)", fontsize=9)
        ax.set_xlabel("unit")
    else:
        ax.text(0.5, 0.5, "step 0: h_0 = 0\n(press Step)", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()

    ax = axes[1, 1]
    norms = grads["norms"]
    ax.semilogy(np.arange(T + 1), np.maximum(norms, 1e-300), "o-", ms=3)
    ax.axvline(t_now, color="#d62728", lw=1.5)
    ratio = core.gradient_ratio()
    ax.set_title(f"|dL/dh_t| per step (|dL/dh_0| / |dL/dh_T| = {ratio:.2e})", fontsize=9)
    ax.set_xlabel("step t")
    fig.tight_layout()
    return fig


def figure_png(core, **kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure(core, **kwargs)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def status_html(core):
    s = core.state()
    lines = [f"<b>{html.escape(core.describe())}</b>",
             f"L = readout . h_T = {core.output():.4g}; |dL/dh_{s['t']}| = {s['grad_norm']:.3g}"]
    if s["gates"]:
        means = ", ".join(f"{config.GATE_TITLES[k]} {np.mean(v):.2f}" for k, v in s["gates"].items())
        lines.append(f"mean gate values at this step: {means}")
    if "c" in s:
        lines.append(f"|c_t| = {np.linalg.norm(s['c']):.3g}, |dL/dc_t| = {s['grad_c_norm']:.3g}")
    return "<br>".join(lines)
