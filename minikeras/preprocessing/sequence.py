"""``pad_sequences``: a list of variable-length sequences -> one rectangular NumPy array.

Keras 3's semantics and defaults: the width is ``maxlen`` or the longest sequence; shorter
sequences are filled with ``value`` before (``padding="pre"``) or after (``"post"``) their
items; longer ones lose items at the start (``truncating="pre"``) or the end (``"post"``).
Items may themselves be arrays (e.g. 12 features per time step): every non-empty sequence
must then have the same item shape, which becomes the trailing axes of the result.

One deliberate difference: where Keras would silently cut fractional values (or wrap
out-of-range integers) to fit an integer ``dtype``, this raises and names the sequence,
since float data padded with the default ``dtype="int32"`` is a common, silent mistake.
"""
import numpy as np

__all__ = ["pad_sequences"]


def _item_shape(sequences):
    for x in sequences:
        if len(x):
            return np.asarray(x).shape[1:]
    return ()


def _check_fits(values, dtype, where):
    """Refuse a cast to an integer dtype that would change values."""
    if dtype.kind not in "iu" or values.dtype.kind not in "fiub" or not values.size:
        return
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            bad = values[~np.isfinite(values) | (values != np.round(values))].flat[0].item()
            raise ValueError(f"pad_sequences: {where} holds the non-integer value {bad!r}, which "
                             f"dtype={dtype.name!r} would truncate; pass dtype='float32' for real-valued "
                             "sequences.")
    info = np.iinfo(dtype)
    low, high = values.min(), values.max()
    if low < info.min or high > info.max:
        raise ValueError(f"pad_sequences: {where} holds values from {low} to {high}, outside the range "
                         f"of dtype={dtype.name!r} [{info.min}, {info.max}].")


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (and cut) sequences to one length, as ``keras.utils.pad_sequences`` does.

    Args:
        sequences: a list (or any sized iterable) of sequences: lists or arrays of numbers,
            or of equally shaped arrays.
        maxlen: the length of the result; None means the longest sequence's length.
        dtype: dtype of the result (``object`` or a string dtype for text tokens).
        padding: ``"pre"`` (default) or ``"post"``: where the fill values go.
        truncating: ``"pre"`` (default) or ``"post"``: which end of a too-long sequence is cut.
        value: the fill value.

    Returns:
        A NumPy array of shape ``(len(sequences), maxlen) + item_shape``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list (or another sized iterable) of "
                         f"sequences, got {type(sequences).__name__}.")
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding type "{padding}" not understood; use "pre" or "post".')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating type "{truncating}" not understood; use "pre" or "post".')
    lengths = []
    for i, x in enumerate(sequences):
        try:
            lengths.append(len(x))
        except TypeError:
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables; item {i} is "
                             f"{x!r}.") from None
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: `maxlen` must be None or an integer >= 0, got {maxlen!r}.")
    maxlen = int(maxlen)
    dt = np.dtype(dtype)
    if isinstance(value, str) and dt.kind not in "OUS":
        raise ValueError(f"pad_sequences: dtype {dt.name!r} cannot hold the string fill value {value!r}; "
                         "use dtype=object for variable-length strings.")
    _check_fits(np.asarray(value), dt, "the fill `value`")
    item_shape = _item_shape(sequences)
    out = np.full((len(lengths), maxlen) + item_shape, value, dtype=dt)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        n = lengths[i]
        if not n:
            continue
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        kept = np.asarray(kept)
        if kept.shape[1:] != item_shape:
            raise ValueError(f"pad_sequences: sequence {i} has items of shape {kept.shape[1:]}, but the "
                             f"first non-empty sequence has items of shape {item_shape}.")
        _check_fits(kept, dt, f"sequence {i}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
