"""Writing a file so that readers see the old contents or the new, never half of either.

``AtomicFile(path)`` streams into a hidden temporary file in the target's own folder and
renames it over the target only when the caller has written everything. Four details make
it behave like a plain ``open(path, "wb")`` that cannot be torn:

* a symbolic link is written *through*: the file it points to gets the new contents and the
  link stays a link (renaming over the link itself would replace it with a regular file);
* the new file gets the permissions a plain ``open`` would give it: an existing target keeps
  its mode, a new one gets ``0o666`` less the umask (``mkstemp`` alone would leave ``0o600``);
* a process killed mid-write leaves its temporary file behind; the next write to the same
  target removes such leftovers, but only ones that no live writer holds (each writer keeps
  an ``flock`` on its temporary file while it writes) and that are older than
  ``STALE_AFTER`` seconds;
* a folder that cannot be written to is reported with the target's name and the folder,
  not with the random name of the temporary file.
"""
import os
import stat
import tempfile
import time

try:
    import fcntl
except ImportError:  # Windows: no flock; leftovers are recognised by age alone
    fcntl = None

TEMP_SUFFIX = ".minikeras-tmp"
# A leftover younger than this is never removed: it may belong to a writer that has created
# its file but not yet locked it. Without flock (Windows) only age tells, so wait longer.
STALE_AFTER = 60.0 if fcntl is not None else 3600.0


def current_umask():
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no other portable way to read it; restored at once
    os.umask(mask)
    return mask


def write_target(path):
    """The file that writing ``path`` really changes: the end of a chain of symbolic links."""
    return os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)


def _temp_prefix(target):
    return "." + os.path.basename(target) + "."


def remove_stale_temporaries(target, now=None):
    """Delete leftovers of interrupted writes to ``target``; return the paths removed.

    Only regular files named like this module's temporaries for this very target, owned by
    this user, unlocked and older than ``STALE_AFTER`` are touched; anything else is left.
    """
    folder, prefix = os.path.dirname(target), _temp_prefix(target)
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < STALE_AFTER:
                continue
            if _uid() is not None and st.st_uid != _uid():
                continue
            if _held_by_a_writer(path):
                continue
            os.unlink(path)
            removed.append(path)
        except OSError:
            continue  # vanished meanwhile, or not ours to remove
    return removed


def _uid():
    return os.geteuid() if hasattr(os, "geteuid") else None


def _held_by_a_writer(path):
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock
    return False


class AtomicFile:
    """A binary file that replaces ``path`` when committed (use it as a context manager).

    ``what`` names the thing being written in error messages ("model", "data file", ...).
    The constructor already creates the temporary file, so an unwritable folder is an error
    before any work is done.
    """

    def __init__(self, path, what="file"):
        self.path = os.fspath(path)
        self.target = write_target(self.path)
        self.folder = os.path.dirname(self.target)
        remove_stale_temporaries(self.target)
        try:
            fd, self.temp = tempfile.mkstemp(prefix=_temp_prefix(self.target), suffix=TEMP_SUFFIX,
                                             dir=self.folder)
        except OSError as exc:
            where = self.path if self.target == os.path.abspath(self.path) else \
                f"{self.path} (a link to {self.target})"
            error = OSError(exc.errno, f"Cannot write the {what} {where}: creating a file in the "
                                       f"folder {self.folder} failed ({exc.strerror})")
            error.reason = exc.strerror   # what the system said, for callers that rephrase
            raise error from None
        self.file = os.fdopen(fd, "wb")
        if fcntl is not None:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)
        self.what = what

    def write(self, data):
        return self.file.write(data)

    def commit(self):
        """Flush to disk, give the file its final mode and rename it over the target."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            os.chmod(self.temp, self._final_mode())
            os.replace(self.temp, self.target)
        except BaseException:
            self.discard()
            raise
        self.file.close()

    def discard(self):
        """Forget everything written; the target is left as it was."""
        try:
            self.file.close()
        finally:
            try:
                os.unlink(self.temp)
            except OSError:
                pass

    def _final_mode(self):
        try:
            return os.stat(self.target).st_mode & 0o7777
        except OSError:
            return 0o666 & ~current_umask()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.discard()
        return False
