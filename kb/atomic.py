"""Writing a file so that readers see the old content or the new, never half of it.

The content goes to a temporary file in the same folder (so the rename stays on one file system), is flushed to
disk, and then `os.replace` swaps it in: a crash or a full disk leaves the original untouched. Shared by every
stage that writes (the DOI lookup's entries and cache, the renderer's generated pages).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; written files get the usual permissions instead
FILE_MODE = 0o666 & ~_read_umask()


def write_atomic(path: Path, content: str | bytes, durable: bool = True) -> None:
    """Replace (or create) `path` with `content` (text is written as UTF-8), atomically; raises OSError and leaves
    no temp file behind. `durable=False` skips the fsync: for regenerable output written by the thousand."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            if durable:
                temp.flush()
                os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
