"""Writing a file so that readers see the old content or the new, never half of it.

The content goes to a temporary file in the same folder (so the rename stays on one file system), is flushed to
disk, and then `os.replace` swaps it in: a crash or a full disk leaves the original untouched. Shared by every
stage that writes (the DOI lookup's entries and cache, the renderer's generated pages).

A folder that cannot be written (no permission, a read-only mount, a full disk) is the operator's to fix, not a
bug: `writing(folder)` turns such an OSError into a `WriteError` that names the folder and says what to do.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

from kb.problems import display_path

_temp_numbers = itertools.count()


def write_atomic(path: Path, content: str | bytes, durable: bool = True) -> None:
    """Replace (or create) `path` with `content` (text is written as UTF-8), atomically; raises OSError and leaves
    no temp file behind. `durable=False` skips the fsync: for regenerable output written by the thousand."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    temp = path.with_name(f".{path.name}.{os.getpid()}-{next(_temp_numbers)}.tmp")  # unique to this writer
    try:
        handle = _create(temp)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = _create(temp)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _create(path: Path) -> int:
    """A new file, refused if the name exists; permissions as any new file gets (0o666 less the umask)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)


# errno -> (what went wrong, what to do about it); {path} is the folder that could not be written
_OPERATOR_ERRORS = {
    errno.EACCES: ("permission denied", "make it writable (chmod -R u+w {path})"),
    errno.EPERM: ("permission denied", "make it writable (chmod -R u+w {path})"),
    errno.EROFS: ("read-only file system", "remount it read-write or work in a writable copy"),
    errno.ENOSPC: ("no space left on the device", "free some space (df -h {path})"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or raise the quota"),
    # renaming a mount point (a read-only site/ mounted on its own) gives EBUSY
    errno.EBUSY: ("it is a mount point or in use", "kb replaces it whole, so mount the folder holding it instead"),
}


class WriteError(Exception):
    """A folder kb must write cannot be written, for a reason the operator can fix; the message is one line."""

    def __init__(self, folder: Path, reason: str, advice: str):
        self.folder = folder
        path = display_path(folder)
        super().__init__(f"cannot write to {path}/: {reason}; {advice.format(path=path)}, then run again")


def is_operator_error(error: OSError) -> bool:
    """Whether `error` is one the operator fixes (permissions, read-only, full disk) rather than a bug."""
    return error.errno in _OPERATOR_ERRORS


def write_error(error: OSError, folder: Path) -> WriteError:
    """The `WriteError` for `error` (one for which `is_operator_error` holds) met while writing into `folder`."""
    return WriteError(folder, *_OPERATOR_ERRORS[error.errno])


@contextlib.contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Within this block, an operator's OSError (see `is_operator_error`) becomes a `WriteError` naming `folder`."""
    try:
        yield
    except OSError as error:
        if not is_operator_error(error):
            raise
        raise write_error(error, folder) from error
