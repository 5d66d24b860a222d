"""``save_weights`` / ``load_weights`` and the zip container shared with ``.keras`` files.

File format (minikeras's own, whatever the suffix: ``.weights.h5``, ``.keras``, none): a
zip archive holding ``metadata.json`` (a ``"format"`` marker and version), and for the
weights ``model.weights.json`` (a manifest: per layer with weights, its name, class and
the name/shape/dtype of each variable) and ``model.weights.npz`` (plain NumPy arrays
``"0", "1", ...`` in manifest order). It is NOT HDF5. Reading never unpickles:
``np.load(..., allow_pickle=False)``.

Reading is defensive: only the members a load uses are read, and each one's declared size
is checked before it is inflated (the weight arrays against what the manifest lists, see
``MEMBER_LIMITS``), so a small file announcing a huge member is refused at no cost. Writing
goes through ``atomic.AtomicFile``.

Weights are matched to layers by position among the layers that own weights (a
depth-first walk of the model's layers), so renamed layers (a subclassed model rebuilt
in the same session gets ``dense_2`` instead of ``dense``) still load; shapes and counts
are checked, and a mismatch names the layer.
"""
import io
import json
import os
import warnings
import zipfile

import numpy as np

from .. import backend
from . import atomic

FORMAT_VERSION = 1
MODEL_FORMAT = "minikeras.model"
WEIGHTS_FORMAT = "minikeras.weights"
WEIGHTS_MANIFEST = "model.weights.json"
WEIGHTS_ARRAYS = "model.weights.npz"
OPTIMIZER_ARRAYS = "optimizer.npz"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"


# ----------------------------------------------------------------------------- container
def _version():
    from ..version import __version__
    return __version__


def metadata(fmt):
    import datetime
    return {"format": fmt, "format_version": FORMAT_VERSION, "minikeras_version": _version(),
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}


def resolve_path(filepath, default_name):
    """``filepath`` as a string; an existing directory means ``<dir>/<default_name>``."""
    path = os.fspath(filepath)
    if os.path.isdir(path):
        path = os.path.join(path, default_name)
    return path


def write_archive(path, members, overwrite=True, what="model"):
    """Write ``{name: bytes}`` as a zip, atomically (see ``atomic.AtomicFile``: through
    symbolic links, with the umask's permissions, no torn or leftover files)."""
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} already exists and overwrite=False.")
    folder = os.path.dirname(atomic.write_target(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {path!r}: the folder {folder!r} does not exist.")
    with atomic.AtomicFile(path, what) as out, \
            zipfile.ZipFile(out.file, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


# Largest sizes, as declared in the zip directory, that the members minikeras reads may
# have. Checked before a member is inflated, so a small file announcing a huge member (a
# "zip bomb") is refused without using the memory. The weight arrays are bounded by what
# the manifest says they hold; the JSON members by what any real model needs.
MEMBER_LIMITS = {"metadata.json": 1 << 20, "config.json": 64 << 20, WEIGHTS_MANIFEST: 64 << 20}
# Arrays of real numbers do not deflate by more than a few times; a member that inflates
# more than this (beyond a small size) is mostly one repeated byte.
MAX_INFLATION = 200
SMALL_MEMBER = 1 << 20
ARRAY_OVERHEAD = 4096       # .npy header and zip entry, per array
OPTIMIZER_SLOTS = 4         # an optimizer keeps at most this many arrays per weight


def _check_declared_size(info, limit, path, why):
    """Refuse a zip member whose declared size cannot be what it should hold."""
    if limit is not None and info.file_size > limit:
        raise ValueError(f"{path!r}: its member {info.filename} declares {info.file_size:,} bytes, more "
                         f"than it can hold ({why}: at most {limit:,}); the file is damaged or "
                         "malicious and was not unpacked.")
    if info.file_size > SMALL_MEMBER and info.file_size > MAX_INFLATION * max(info.compress_size, 1):
        raise ValueError(f"{path!r}: its member {info.filename} would inflate from {info.compress_size:,} "
                         f"to {info.file_size:,} bytes; no real model data compresses like that, so the "
                         "file was not unpacked (it is damaged or malicious).")


def _read_member(zf, info, path, limit, why):
    _check_declared_size(info, limit, path, why)
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupted: its member {info.filename} cannot be read "
                         f"({exc}). Save the model again.") from exc


def declared_weight_bytes(manifest):
    """``(bytes, arrays)`` that the weight manifest declares, or None when it is malformed."""
    try:
        total = count = 0
        for entry in manifest["layers"]:
            for w in entry["weights"]:
                n = 1
                for d in w["shape"]:
                    if isinstance(d, bool) or not isinstance(d, int) or d < 0:
                        return None
                    n *= d
                total += n * np.dtype(w["dtype"]).itemsize
                count += 1
        return total, count
    except (KeyError, TypeError, ValueError):
        return None


def weights_limit(nbytes, count):
    """Most bytes an npz of ``count`` arrays holding ``nbytes`` of data can take."""
    return nbytes + ARRAY_OVERHEAD * (count + 1)


def optimizer_limit(nbytes, count):
    """Most bytes the optimizer state for such weights can take (slots plus a few scalars)."""
    return OPTIMIZER_SLOTS * weights_limit(nbytes, count) + SMALL_MEMBER


def _check_format_version(meta, path):
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{path!r}: metadata.json has format_version {version!r}, which no minikeras "
                         f"writes (it is a whole number from 1 to {FORMAT_VERSION}); the file was edited "
                         "or damaged.")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path!r} uses format version {version}, newer than this minikeras supports "
                         f"({FORMAT_VERSION}); upgrade minikeras.")


ALL_MEMBERS = ("config.json", WEIGHTS_MANIFEST, WEIGHTS_ARRAYS, OPTIMIZER_ARRAYS)


def read_archive(path, expected_formats, wanted=ALL_MEMBERS):
    """``(path, metadata, {name: bytes})``: the ``wanted`` members of a minikeras zip.

    Other members are never read, and each one read is size-checked before it is inflated.
    Anything that is not a minikeras file gets an error saying what it is.
    """
    path = os.fspath(path)
    what = " or ".join(expected_formats)
    if os.path.isdir(path):
        inner = [os.path.join(path, n) for n in ("model.keras", "model.weights.h5") if
                 os.path.isfile(os.path.join(path, n))]
        if not inner:
            raise ValueError(f"{path!r} is a directory without a minikeras file in it (expected "
                             "'model.keras'); minikeras does not read TensorFlow SavedModel folders.")
        path = inner[0]
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}.")
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise ValueError(f"{path!r} is empty; it is not a minikeras file ({what}).")
    if head.startswith(_HDF5_MAGIC):
        raise ValueError(f"{path!r} is an HDF5 file (probably written by Keras/TensorFlow or h5py). "
                         f"minikeras reads only its own zip-based format ({what}), written by "
                         "minikeras's model.save()/save_weights() whatever the file suffix.")
    if not head.startswith(_ZIP_MAGIC):
        raise ValueError(f"{path!r} is not a minikeras file: it is not a zip archive "
                         f"(starts with bytes {head!r}).")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupted: it starts like a zip archive but cannot "
                         f"be read ({exc}). Save the model again.") from exc
    with zf:
        infos = {info.filename: info for info in zf.infolist()}
        if "metadata.json" not in infos:
            raise ValueError(f"{path!r} is a zip archive but not a minikeras file: it has no metadata.json "
                             f"(members: {sorted(infos)[:10]}).")
        members = {}

        def read(name, limit, why):
            if name in infos and (name == "metadata.json" or name in wanted):
                members[name] = _read_member(zf, infos[name], path, limit, why)
            return members.get(name)

        meta = parse_json(read("metadata.json", MEMBER_LIMITS["metadata.json"], "a metadata file"),
                          path, "metadata.json")
        fmt = meta.get("format") if isinstance(meta, dict) else None
        if fmt not in expected_formats:
            if isinstance(meta, dict) and "keras_version" in meta:
                raise ValueError(f"{path!r} was written by Keras {meta['keras_version']}, not by minikeras. "
                                 "Its weights are stored as HDF5, which minikeras does not read; rebuild the "
                                 "model in minikeras (or copy weights with get_weights/set_weights).")
            raise ValueError(f"{path!r} is not a {what} file (its metadata says format={fmt!r}).")
        _check_format_version(meta, path)
        read("config.json", MEMBER_LIMITS["config.json"], "a model config")
        if WEIGHTS_ARRAYS in wanted or OPTIMIZER_ARRAYS in wanted:
            wanted = set(wanted) | {WEIGHTS_MANIFEST}   # their size limits come from it
        manifest = read(WEIGHTS_MANIFEST, MEMBER_LIMITS[WEIGHTS_MANIFEST], "a weight manifest")
        declared = None
        if manifest is not None:
            declared = declared_weight_bytes(parse_json(manifest, path, WEIGHTS_MANIFEST))
        if declared is not None:
            nbytes, count = declared
            read(WEIGHTS_ARRAYS, weights_limit(nbytes, count),
                 f"the {count} arrays of {nbytes:,} bytes its manifest lists")
            read(OPTIMIZER_ARRAYS, optimizer_limit(nbytes, count),
                 f"optimizer state for weights of {nbytes:,} bytes")
        else:  # the manifest is missing or malformed: load_weights_from_members says which
            read(WEIGHTS_ARRAYS, None, "")
            read(OPTIMIZER_ARRAYS, None, "")
    return path, meta, members


def parse_json(data, path, member):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path!r}: {member} is not valid JSON ({exc}); the file is corrupted.") from exc


def arrays_to_npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npz_to_arrays(data, path, member, max_bytes=None):
    """``{key: array}`` from npz bytes; object arrays are refused (no pickle, ever).

    An npz is itself a zip: its entries' declared sizes are checked (against ``max_bytes``
    in all, and for plausible compression) before any array is inflated.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            infos = inner.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{path!r}: {member} cannot be read ({exc}); the file is corrupted.") from exc
    for info in infos:
        _check_declared_size(info, max_bytes, f"{path}: {member}", "the arrays it should hold")
    if max_bytes is not None and sum(i.file_size for i in infos) > max_bytes:
        raise ValueError(f"{path!r}: {member} declares {sum(i.file_size for i in infos):,} bytes of arrays, "
                         f"more than it can hold (at most {max_bytes:,}); the file is damaged or malicious "
                         "and was not unpacked.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(f"{path!r}: {member} holds object (pickled) arrays, which minikeras never "
                             "loads.") from exc
        raise ValueError(f"{path!r}: {member} cannot be read ({exc}); the file is corrupted.") from exc
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path!r}: {member} cannot be read ({exc}); the file is corrupted.") from exc


# ----------------------------------------------------------------------------- weight walk
def weight_groups(model):
    """``[(path, layer, [variables])]`` for every layer that owns variables, depth first.

    A layer's own variables come before its sublayers'; shared layers appear once.
    """
    seen, groups = set(), []

    def visit(layer, prefix):
        own = []
        for v in layer._trainable_variables + layer._non_trainable_variables:
            if id(v) not in seen:
                seen.add(id(v))
                own.append(v)
        path = f"{prefix}/{layer.name}" if prefix else layer.name
        if own:
            groups.append((path, layer, own))
        for sub in layer._layers:
            visit(sub, path)
    visit(model, "")
    return groups


def weights_members(model):
    """``{manifest name: bytes, arrays name: bytes}`` describing ``model``'s weights."""
    manifest, arrays = [], {}
    for path, layer, variables in weight_groups(model):
        entry = {"path": path, "layer": layer.name, "class_name": type(layer).__name__, "weights": []}
        for v in variables:
            key = str(len(arrays))
            arrays[key] = backend.to_numpy(v.value)
            entry["weights"].append({"name": v.name, "shape": list(arrays[key].shape),
                                     "dtype": arrays[key].dtype.name, "key": key})
        manifest.append(entry)
    return {WEIGHTS_MANIFEST: json.dumps({"layers": manifest}, indent=1).encode("utf-8"),
            WEIGHTS_ARRAYS: arrays_to_npz(arrays)}


def load_weights_from_members(model, members, path, skip_mismatch=False):
    """Assign the weights stored in ``members`` to ``model`` (checked; nothing changes on error)."""
    for m in (WEIGHTS_MANIFEST, WEIGHTS_ARRAYS):
        if m not in members:
            raise ValueError(f"{path!r} is incomplete: it has no {m}.")
    manifest = parse_json(members[WEIGHTS_MANIFEST], path, WEIGHTS_MANIFEST)
    saved = manifest.get("layers") if isinstance(manifest, dict) else None
    if not isinstance(saved, list):
        raise ValueError(f"{path!r}: {WEIGHTS_MANIFEST} has no 'layers' list; the file is corrupted.")
    declared = declared_weight_bytes(manifest)
    arrays = npz_to_arrays(members[WEIGHTS_ARRAYS], path, WEIGHTS_ARRAYS,
                           max_bytes=None if declared is None else weights_limit(*declared))
    groups = weight_groups(model)
    if not groups and saved:
        raise ValueError(f"Model {model.name!r} has no weights yet, so the weights in {path!r} cannot be "
                         "loaded into it. Build it first: call it on data or use model.build(input_shape).")
    if len(groups) != len(saved):
        raise ValueError(
            f"Cannot load {path!r} into model {model.name!r}: the file holds weights for {len(saved)} "
            f"layers {[s.get('layer') for s in saved]}, but the model has {len(groups)} layers with "
            f"weights {[g[1].name for g in groups]}.")
    assignments = []
    for (_, layer, variables), entry in zip(groups, saved):
        problem = None
        stored = entry.get("weights", [])
        if len(stored) != len(variables):
            problem = (f"the layer has {len(variables)} weights {[v.name for v in variables]}, the file has "
                       f"{len(stored)} {[w.get('name') for w in stored]}")
        else:
            values = []
            for v, w in zip(variables, stored):
                key = w.get("key")
                if key not in arrays:
                    raise ValueError(f"{path!r} is incomplete: array {key!r} for layer "
                                     f"{entry.get('layer')!r} is missing.")
                arr = arrays[key]
                if tuple(arr.shape) != tuple(v.shape):
                    problem = (f"weight {v.name!r} has shape {tuple(v.shape)} in the model but "
                               f"{tuple(arr.shape)} in the file")
                    break
                values.append((v, arr))
        if problem:
            message = (f"Cannot load weights from {path!r} into layer {layer.name!r} "
                       f"({type(layer).__name__}) of model {model.name!r}: {problem} "
                       f"(saved from layer {entry.get('layer')!r}, {entry.get('class_name')}).")
            if skip_mismatch:
                warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=3)
                continue
            raise ValueError(message)
        assignments.extend(values)
    for v, arr in assignments:
        v.assign(backend.get_array_module(v.value).asarray(arr))


# ----------------------------------------------------------------------------- public API
def save_weights(model, filepath, overwrite=True):
    """Write ``model``'s weights to ``filepath`` (minikeras's npz-in-zip format, not HDF5).

    Keras 3 requires the suffix ``.weights.h5``; minikeras accepts that name and any other.
    """
    path = resolve_path(filepath, "model.weights.h5")
    members = {"metadata.json": json.dumps(metadata(WEIGHTS_FORMAT)).encode("utf-8")}
    members.update(weights_members(model))
    write_archive(path, members, overwrite=overwrite, what="weights file")


def load_weights(model, filepath, skip_mismatch=False):
    """Load weights written by ``save_weights`` (or the weights inside a ``.keras`` model file)."""
    path, _, members = read_archive(filepath, (WEIGHTS_FORMAT, MODEL_FORMAT),
                                    wanted=(WEIGHTS_MANIFEST, WEIGHTS_ARRAYS))
    load_weights_from_members(model, members, path, skip_mismatch=skip_mismatch)
