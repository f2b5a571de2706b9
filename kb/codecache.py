"""Code kb compiles from its own files, kept between runs: the templates and the record schema's check.

Every process that validates or renders compiles them first: Jinja2 turns the templates into Python, and
fastjsonschema turns the schema into a Python function. That costs about a quarter of a second each time, more
than validating a hundred entries, and it is the same work on every run. So the compiled code is kept in a private
folder under the user's cache (`$XDG_CACHE_HOME/kb`, else `~/.cache/kb`), keyed by what it was compiled from and
by the Python version: a changed template or schema is compiled afresh. The folder holds code, never entry data,
so a run with an empty cache gives exactly the same output; when the folder cannot be made or written, the code
is compiled every time, as if there were no cache.

Example:

    >>> code = load_code("schema", "0123abcd")              # None the first time
    >>> store_code("schema", "0123abcd", ("validate", compile("def validate(x): pass", "<x>", "exec")))
"""

from __future__ import annotations

import contextlib
import importlib.util
import marshal
import os
from pathlib import Path
from typing import Any

from kb.atomic import write_atomic

_PYTHON = importlib.util.MAGIC_NUMBER.hex()  # marshalled code only loads in the Python that wrote it


def folder(kind: str) -> Path | None:
    """The private folder for one kind of compiled code, made if needed; None when it cannot be made."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "kb" / kind
    try:
        base.mkdir(parents=True, exist_ok=True)
        for private in (path.parent, path):  # only this user may put code here
            private.mkdir(exist_ok=True, mode=0o700)
    except (OSError, RuntimeError):  # RuntimeError: no home folder to be found
        return None
    return path if os.access(path, os.W_OK) else None


def load_code(kind: str, key: str) -> Any | None:
    """What `store_code` kept under `key`, or None when it is missing or unreadable (then compile it again)."""
    where = folder(kind)
    if where is None:
        return None
    try:
        return marshal.loads((where / _file_name(key)).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None


def store_code(kind: str, key: str, value: Any) -> None:
    """Keep `value` (code objects, and the plain values marshal can write) under `key`; a failure only costs
    the next run the compile again."""
    where = folder(kind)
    if where is not None:
        with contextlib.suppress(OSError, ValueError):
            write_atomic(where / _file_name(key), marshal.dumps(value), durable=False)


def _file_name(key: str) -> str:
    return f"{key}-{_PYTHON}.bin"
