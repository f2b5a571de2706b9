"""Writing a file so that readers see the old content or the new, never half of it.

The content goes to a temporary file in the same folder (so the rename stays on one file system), is flushed to
disk, and then `os.replace` swaps it in: a crash or a full disk leaves the original untouched. Shared by every
stage that writes (the DOI lookup's entries and cache, the renderer's generated pages).
"""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

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
