"""``model.summary()`` in Keras 3's table layout, with total/trainable/non-trainable counts."""
import textwrap

from .. import backend


def _format_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list) or (isinstance(shape, tuple) and shape and isinstance(shape[0], tuple)):
        return "[" + ", ".join(_format_shape(s) for s in shape) + "]"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_format_shape(v)}" for k, v in shape.items()) + "}"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _format_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024


def _count(weights):
    count = sum(int(backend.np.prod(w.shape)) for w in weights)
    size = sum(int(backend.np.prod(w.shape)) * backend.np.dtype(w.dtype).itemsize for w in weights)
    return count, size


def _row_lines(cells, widths, aligns):
    wrapped = [textwrap.wrap(c, w - 2, break_on_hyphens=False) or [""] for c, w in zip(cells, widths)]
    height = max(len(w) for w in wrapped)
    lines = []
    for i in range(height):
        parts = []
        for col, (w, align) in enumerate(zip(widths, aligns)):
            text = wrapped[col][i] if i < len(wrapped[col]) else ""
            parts.append(" " + (text.rjust(w - 2) if align == "right" else text.ljust(w - 2)) + " ")
        lines.append("│" + "│".join(parts) + "│")
    return lines


def summary_rows(model):
    """(layer, output-shape text, params text, connected-to text or None) for each layer."""
    if hasattr(model, "_summary_rows"):
        return model._summary_rows()
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "_summary_output_shape", None)
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        rows.append((layer, _format_shape(shape), params, None))
    return rows


def print_summary(model, line_length=None, print_fn=None, show_trainable=False):
    if not model.built:
        raise ValueError(f"Model {model.name!r} has not been built yet, so summary() cannot show its "
                         "shapes and parameter counts. Build it by calling it on a batch of data, by "
                         "calling build(input_shape), or by giving the first layer an input shape "
                         "(e.g. keras.Input(shape=(784,)) or input_shape=(784,)).")
    print_fn = print_fn or print
    rows = summary_rows(model)
    connected = any(r[3] is not None for r in rows)
    if connected:
        headers, widths, aligns = (["Layer (type)", "Output Shape", "Param #", "Connected to"],
                                   [21, 19, 12, 19], ["left", "left", "right", "left"])
    else:
        headers, widths, aligns = (["Layer (type)", "Output Shape", "Param #"], [33, 24, 15],
                                   ["left", "left", "right"])
    if line_length:
        scale = line_length / (sum(widths) + len(widths) + 1)
        widths = [max(8, int(w * scale)) for w in widths]
    lines = [f'Model: "{model.name}"',
             "┏" + "┳".join("━" * w for w in widths) + "┓"]
    lines += [l.replace("│", "┃") for l in _row_lines(headers, widths, aligns)]
    lines.append("┡" + "╇".join("━" * w for w in widths) + "┩")
    for i, (layer, shape, params, conn) in enumerate(rows):
        cells = [f"{layer.name} ({type(layer).__name__})", shape, params]
        if connected:
            cells.append(conn or "-")
        lines += _row_lines(cells, widths, aligns)
        if i < len(rows) - 1:
            lines.append("├" + "┼".join("─" * w for w in widths) + "┤")
    lines.append("└" + "┴".join("─" * w for w in widths) + "┘")
    total, total_size = _count(model.weights)
    trainable, trainable_size = _count(model.trainable_weights)
    lines.append(f" Total params: {total:,} ({_format_bytes(total_size)})")
    lines.append(f" Trainable params: {trainable:,} ({_format_bytes(trainable_size)})")
    lines.append(f" Non-trainable params: {total - trainable:,} ({_format_bytes(total_size - trainable_size)})")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "variables", None):
        opt_vars = [v for v in optimizer.variables if hasattr(v, "shape")]
        count, size = _count(opt_vars)
        if count:
            lines.append(f" Optimizer params: {count:,} ({_format_bytes(size)})")
    print_fn("\n".join(lines))
