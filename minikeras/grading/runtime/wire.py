"""A small, safe wire format for values crossing the sandbox boundary (no pickle).

JSON with tagged objects: tuples ``{"$t": [...]}``, dicts ``{"$d": {...}}``, special floats
``{"$f": "nan"}``, NumPy arrays ``{"$a": dtype, "s": shape, "b": base64}`` and scalars
``{"$s": dtype, "b": base64}``, references to a data file ``{"$data": name}`` or to an
earlier call's result ``{"$out": [step, index...]}``. Only plain numeric dtypes are
accepted, and decoding checks every size it is told, so a hostile producer can at worst
make its own record unreadable.
"""
import base64
import json
import math

import numpy as np

DTYPES = {np.dtype(t).str: np.dtype(t) for t in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64")}
MAX_DEPTH = 40
MAX_ELEMENTS = 50_000_000


class WireError(ValueError):
    """The text is not a value this format can carry."""


class Unsupported:
    """What a student's function returned, when it is not something the wire can carry."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __eq__(self, other):
        return isinstance(other, Unsupported) and other.type_name == self.type_name

    def __repr__(self):
        return f"<unsupported {self.type_name}>"


class DataRef:
    """A large input the judge stored as a ``.npy`` file next to the cases."""

    def __init__(self, name):
        self.name = name


class OutRef:
    """The result of an earlier step of the same case (optionally one element of it)."""

    def __init__(self, path):
        self.path = tuple(int(p) for p in path)


def _encode(obj, depth):
    if depth > MAX_DEPTH:
        return {"$u": "nesting too deep"}
    if isinstance(obj, np.generic):  # before float: np.float64 is a float subclass
        if obj.dtype.str not in DTYPES:
            return {"$u": f"NumPy scalar of dtype {obj.dtype}"}
        return {"$s": obj.dtype.str, "b": base64.b64encode(np.asarray(obj).tobytes()).decode()}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int) and not isinstance(obj, bool):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"$f": repr(obj)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.str not in DTYPES:
            return {"$u": f"ndarray of dtype {obj.dtype}"}
        arr = np.ascontiguousarray(obj)
        return {"$a": arr.dtype.str, "s": list(arr.shape), "b": base64.b64encode(arr.tobytes()).decode()}
    if isinstance(obj, tuple):
        return {"$t": [_encode(v, depth + 1) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, depth + 1) for v in obj]
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return {"$d": {k: _encode(v, depth + 1) for k, v in obj.items()}}
    if isinstance(obj, DataRef):
        return {"$data": obj.name}
    if isinstance(obj, OutRef):
        return {"$out": list(obj.path)}
    if isinstance(obj, Unsupported):
        return {"$u": obj.type_name}
    return {"$u": type(obj).__name__}


def encode(obj):
    """A JSON-able structure for ``obj``; anything unsupported becomes an ``Unsupported`` marker."""
    return _encode(obj, 0)


def dumps(obj):
    return json.dumps(encode(obj), separators=(",", ":"))


def _array(tag, shape, data):
    dtype = DTYPES.get(tag)
    if dtype is None:
        raise WireError(f"dtype {tag!r} is not allowed")
    if not isinstance(shape, list) or not all(isinstance(n, int) and 0 <= n for n in shape):
        raise WireError("bad array shape")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise WireError("array too large")
    raw = base64.b64decode(data.encode(), validate=True)
    if len(raw) != count * dtype.itemsize:
        raise WireError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode(obj, depth):
    if depth > MAX_DEPTH:
        raise WireError("nesting too deep")
    if obj is None or isinstance(obj, (bool, str, float)):
        return obj
    if isinstance(obj, int):
        if abs(obj) > 1 << 64:
            raise WireError("integer too large")
        return obj
    if isinstance(obj, list):
        return [_decode(v, depth + 1) for v in obj]
    if not isinstance(obj, dict) or len(obj) == 0:
        raise WireError("untagged object")
    if "$a" in obj:
        return _array(obj["$a"], obj.get("s"), obj.get("b", ""))
    if "$s" in obj:
        return _array(obj["$s"], [], obj.get("b", ""))[()]
    if "$t" in obj and isinstance(obj["$t"], list):
        return tuple(_decode(v, depth + 1) for v in obj["$t"])
    if "$d" in obj and isinstance(obj["$d"], dict):
        return {str(k): _decode(v, depth + 1) for k, v in obj["$d"].items()}
    if "$f" in obj and obj["$f"] in ("nan", "inf", "-inf"):
        return float(obj["$f"])
    if "$u" in obj:
        return Unsupported(str(obj["$u"])[:200])
    if "$data" in obj and isinstance(obj["$data"], str):
        return DataRef(obj["$data"])
    if "$out" in obj and isinstance(obj["$out"], list):
        return OutRef(obj["$out"])
    raise WireError("unknown tag")


def decode(obj):
    return _decode(obj, 0)


def loads(text, max_bytes=256 << 20):
    if len(text) > max_bytes:
        raise WireError(f"record larger than {max_bytes} bytes")
    try:
        return decode(json.loads(text))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise WireError(str(exc)[:200]) from None
