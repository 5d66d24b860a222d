"""The perceptron stepper's pictures as pure functions of a trainer: status HTML and the plot."""
import io

import numpy as np


def plot_limits(X, margin=0.1):
    """(xlim, ylim) around the data, with ``margin`` of its range on each side."""
    X = np.asarray(X, dtype=float)
    pad = margin * (X.max(axis=0) - X.min(axis=0) + 1e-9)
    return ((X[:, 0].min() - pad[0], X[:, 0].max() + pad[0]), (X[:, 1].min() - pad[1], X[:, 1].max() + pad[1]))


def status_html(trainer):
    """Counters, weights and the verdict on the latest sample, as HTML."""
    t = trainer
    w = ", ".join(f"{v:+.3f}" for v in t.w)
    text = (f"epoch {t.epoch}, step {t.steps}, updates {t.updates} &mdash; "
            f"w = [{w}], b = {t.b:+.3f} &mdash; {t.n_errors()} of {len(t.X)} misclassified")
    if t.last is not None:
        verdict = "wrong, weights updated" if t.last["updated"] else "right, no change"
        text += f"<br>last sample #{t.last['index']}: target {t.last['target']}, " \
                f"predicted {t.last['predicted']} ({verdict})"
    if t.converged:
        text += "<br><b>every training sample is on the right side: converged</b>"
    return text


def figure(trainer, xlim, ylim, feature_names=("x1", "x2"), class_names=("class 0", "class 1")):
    """A matplotlib figure of the data, the current decision line and the last sample."""
    from matplotlib.figure import Figure

    t = trainer
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot()
    wrong = t.predict(t.X) != t.y
    for label, marker, color in ((0, "o", "tab:blue"), (1, "s", "tab:orange")):
        mask = t.y == label
        ax.scatter(t.X[mask, 0], t.X[mask, 1], s=18, marker=marker, color=color, alpha=0.6,
                   label=class_names[label])
    if wrong.any():
        ax.scatter(t.X[wrong, 0], t.X[wrong, 1], s=60, facecolors="none", edgecolors="red",
                   linewidths=1.2, label="misclassified")
    line = t.decision_line(xlim)
    if line is not None:
        ax.plot(*line, color="black", lw=2, label="decision line")
    elif t.vertical_line() is not None:
        ax.axvline(t.vertical_line(), color="black", lw=2, label="decision line")
    if t.last is not None:
        x = t.X[t.last["index"]]
        ax.scatter([x[0]], [x[1]], s=180, marker="*", color="red" if t.last["updated"] else "green",
                   zorder=5, label="last sample")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(f"epoch {t.epoch}, {t.updates} updates")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def png(fig):
    """A figure as PNG bytes (drawn by Agg, so no pyplot state and no display backend is involved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()
