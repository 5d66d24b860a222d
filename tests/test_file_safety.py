"""Model and weight files on a real file system: symbolic links, permissions, interrupted
saves, hostile archives and errors that name what the user did.

Each test here reproduces one defect found by probing ``model.save``/``load_model`` and
``save_weights``/``load_weights`` with broken files and races (issue 7, "Files").
"""
import contextlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import minikeras as keras
from minikeras import saving
from minikeras.saving import atomic, weights_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20


@pytest.fixture(autouse=True)
def array_backend():
    """File handling does not depend on the array backend: run each test once."""
    yield "numpy"


def small_model(seed=0, compiled=True):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    if compiled:
        model.compile(optimizer="adam", loss="mse")
    return model


def temporaries(folder):
    return [n for n in os.listdir(folder) if n.endswith(atomic.TEMP_SUFFIX)]


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@contextlib.contextmanager
def unwritable(folder, monkeypatch):
    """Make ``folder`` refuse new files: by its mode for a normal user; for root, whom modes do
    not stop, by failing the file creation exactly as the kernel would (EACCES)."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, 0o755)
        return
    real = atomic.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and os.path.samefile(dir, folder):
            raise PermissionError(13, "Permission denied", os.path.join(dir, ".x.abc123.tmp"))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)
    yield


# ----------------------------------------------------------------------------- symbolic links
@pytest.mark.parametrize("kind", ["model", "weights"])
def test_saving_onto_a_symlink_writes_through_it(tmp_path, kind):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / ("m.keras" if kind == "model" else "m.weights.h5")
    link = tmp_path / ("latest.keras" if kind == "model" else "latest.weights.h5")
    first, second = small_model(0), small_model(1)
    save = (lambda m, p: m.save(p)) if kind == "model" else (lambda m, p: m.save_weights(p))
    save(first, target)
    link.symlink_to(target)

    save(second, link)
    assert link.is_symlink() and os.readlink(link) == str(target), "the link must stay a link"
    fresh = small_model(2)
    if kind == "model":
        fresh = saving.load_model(target)
    else:
        fresh.load_weights(target)
    for a, b in zip(fresh.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)   # the target got the new contents
    assert temporaries(real_dir) == [] and temporaries(tmp_path) == []


def test_saving_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "model.keras"
    link.symlink_to(tmp_path / "real.keras")
    small_model().save(link)
    assert link.is_symlink() and (tmp_path / "real.keras").is_file()


# ----------------------------------------------------------------------------- permissions
@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_saved_files_get_the_umask_permissions(tmp_path, mask):
    model = small_model()
    with umask(mask):
        model.save(tmp_path / "m.keras")
        model.save_weights(tmp_path / "m.weights.h5")
    for name in ("m.keras", "m.weights.h5"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~mask, name


def test_overwriting_keeps_the_existing_files_mode(tmp_path):
    path = tmp_path / "shared.keras"
    small_model().save(path)
    os.chmod(path, 0o664)                      # made group-writable by its owner
    with umask(0o077):
        small_model(1).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o664


# ----------------------------------------------------------------------------- interrupted saves
KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys, zipfile
    sys.path.insert(0, {root!r})
    import minikeras as keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    real = zipfile.ZipFile.writestr
    def writestr(self, name, data, *a, **k):
        real(self, name, data, *a, **k)
        os.kill(os.getpid(), signal.SIGKILL)   # killed in the middle of the save
    zipfile.ZipFile.writestr = writestr
    model.save({path!r})
""")


def test_a_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE.format(root=ROOT, path=str(path))],
                          capture_output=True, env={**os.environ, "KERAS_BACKEND": "numpy"})
    assert proc.returncode == -9, proc.stderr.decode()
    assert path.read_bytes() == before, "the old file must be untouched"
    (left,) = temporaries(tmp_path)
    assert left.startswith(".m.keras.")

    small_model(1).save(path)                  # right after the kill: too young to be sure
    assert temporaries(tmp_path) == [left]
    old = time.time() - 2 * atomic.STALE_AFTER
    os.utime(tmp_path / left, (old, old))
    small_model(1).save(path)
    assert temporaries(tmp_path) == []
    saving.load_model(path)


def test_cleanup_spares_live_writers_and_other_files(tmp_path):
    target = tmp_path / "m.keras"
    old = time.time() - 2 * atomic.STALE_AFTER
    live = atomic.AtomicFile(target)           # another writer, still writing
    os.utime(live.temp, (old, old))
    unrelated = tmp_path / ".other.keras.abc.minikeras-tmp"   # another target's leftover
    unrelated.write_bytes(b"x")
    os.utime(unrelated, (old, old))
    (tmp_path / "dir.minikeras-tmp").mkdir()
    assert atomic.remove_stale_temporaries(str(target)) == []
    live.write(b"done")
    live.commit()
    assert target.read_bytes() == b"done" and unrelated.exists()


# ----------------------------------------------------------------------------- hostile archives
def _with_member(src, dst, name, size=None, data=None, compress=zipfile.ZIP_DEFLATED):
    """Copy the archive ``src`` to ``dst``, with ``name`` replaced by ``data`` or by ``size``
    zero bytes (deflated: a 200 MiB member takes about 200 KiB)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename != name:
                zout.writestr(info, zin.read(info))
        if data is not None:
            zout.writestr(zipfile.ZipInfo(name), data, compress_type=compress)
        else:
            info = zipfile.ZipInfo(name)
            info.compress_type = compress
            chunk = bytes(MiB)
            with zout.open(info, "w", force_zip64=True) as f:
                for _ in range(size // MiB):
                    f.write(chunk)
    return dst


def _peak_while(fn):
    tracemalloc.start()
    try:
        try:
            fn()
            error = None
        except ValueError as exc:
            error = exc
        return tracemalloc.get_traced_memory()[1], error
    finally:
        tracemalloc.stop()


def test_members_that_are_not_used_are_not_read(tmp_path):
    good = tmp_path / "m.keras"
    small_model().save(good)
    padded = _with_member(good, tmp_path / "padded.keras", "notes.bin", size=200 * MiB)
    assert padded.stat().st_size < 2 * MiB
    peak, error = _peak_while(lambda: saving.load_model(padded))
    assert error is None
    assert peak < 20 * MiB, f"loading inflated an unused member ({peak / MiB:.0f} MiB)"


@pytest.mark.parametrize("how", ["load_weights", "load_model(compile=False)"])
def test_loading_weights_only_does_not_read_the_optimizer_state(tmp_path, how):
    good = tmp_path / "m.keras"
    small_model().save(good)
    bomb = _with_member(good, tmp_path / "bomb.keras", "optimizer.npz", size=200 * MiB)
    if how == "load_weights":
        peak, error = _peak_while(lambda: small_model(1).load_weights(bomb))
    else:
        peak, error = _peak_while(lambda: saving.load_model(bomb, compile=False))
    assert error is None and peak < 20 * MiB


@pytest.mark.parametrize("member", ["model.weights.npz", "config.json", "optimizer.npz"])
def test_a_member_declaring_an_implausible_size_is_refused_before_inflating(tmp_path, member):
    good = tmp_path / "m.keras"
    small_model().save(good)
    bomb = _with_member(good, tmp_path / "bomb.keras", member, size=200 * MiB)
    peak, error = _peak_while(lambda: saving.load_model(bomb))
    assert error is not None and member in str(error) and "not unpacked" in str(error)
    assert str(bomb) in str(error)
    assert peak < 20 * MiB, f"the member was inflated before being refused ({peak / MiB:.0f} MiB)"


def test_an_npz_bomb_inside_the_weights_member_is_refused(tmp_path):
    good = tmp_path / "m.keras"
    model = small_model()
    model.save(good)
    # A stored (not deflated) weights member that is itself a small zip announcing 200 MiB.
    import io
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        info = zipfile.ZipInfo("0.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        header = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (52428800,), }"
        header += b" " * (127 - len(header)) + b"\n"
        with zf.open(info, "w", force_zip64=True) as f:
            f.write(header)
            for _ in range(200):
                f.write(bytes(MiB))
    bomb = _with_member(good, tmp_path / "bomb.keras", "model.weights.npz", data=inner.getvalue(),
                        compress=zipfile.ZIP_STORED)
    peak, error = _peak_while(lambda: saving.load_model(bomb))
    assert error is not None and "model.weights.npz" in str(error) and "not unpacked" in str(error)
    assert peak < 20 * MiB


def test_a_real_model_with_zero_weights_still_loads(tmp_path):
    """The limits follow what the manifest declares, so a large all-zero model is fine."""
    model = keras.Sequential([keras.Input((1000,)),
                              keras.layers.Dense(1000, kernel_initializer="zeros")])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "zeros.keras")
    loaded = saving.load_model(tmp_path / "zeros.keras")
    assert loaded.count_params() == 1_001_000


# ----------------------------------------------------------------------------- errors that explain
@pytest.mark.parametrize("version", ["1", None, 0, -1, 1.5, True, [1]])
def test_a_bad_format_version_is_a_clear_error(tmp_path, version):
    good = tmp_path / "m.keras"
    small_model().save(good)
    with zipfile.ZipFile(good) as zf:
        meta = json.loads(zf.read("metadata.json"))
    meta["format_version"] = version
    bad = _with_member(good, tmp_path / "bad.keras", "metadata.json", data=json.dumps(meta).encode())
    with pytest.raises(ValueError) as err:
        saving.load_model(bad)
    msg = str(err.value)
    assert f"metadata.json has format_version {version!r}" in msg and str(bad) in msg


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path):
    good = tmp_path / "m.keras"
    small_model().save(good)
    with zipfile.ZipFile(good) as zf:
        meta = json.loads(zf.read("metadata.json"))
    meta["format_version"] = weights_io.FORMAT_VERSION + 1
    bad = _with_member(good, tmp_path / "new.keras", "metadata.json", data=json.dumps(meta).encode())
    with pytest.raises(ValueError, match="upgrade minikeras"):
        saving.load_model(bad)


@pytest.mark.parametrize("kind", ["model", "weights"])
def test_saving_into_a_read_only_folder_names_the_target(tmp_path, monkeypatch, kind):
    folder = tmp_path / "read-only"
    folder.mkdir()
    path = folder / ("m.keras" if kind == "model" else "m.weights.h5")
    model = small_model()
    with unwritable(folder, monkeypatch), pytest.raises(PermissionError) as err:
        if kind == "model":
            model.save(path)
        else:
            model.save_weights(path)
    msg = str(err.value)
    assert str(path) in msg and str(folder) in msg and "Permission denied" in msg
    assert ".tmp" not in msg and atomic.TEMP_SUFFIX not in msg
    assert not path.exists() and os.listdir(folder) == []
