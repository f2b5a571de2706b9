"""An on-disk cache of looked-up records, so that asking twice about a DOI makes one request.

Keys are hashed into file names (DOIs hold slashes, brackets and colons). Each file records when it was fetched;
records older than `max_age_days` are fetched again, because retractions and corrections are added to a work's
record long after it was published. A damaged or unreadable cache file counts as a miss, and a cache that
cannot be written never fails a lookup: the cache only saves requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from kb.atomic import write_atomic


class Cache:
    def __init__(self, folder: Path, max_age_days: float):
        self.folder = folder
        self.max_age = max_age_days * 86400

    def path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.folder / "works" / digest[:2] / f"{digest}.json"

    def get(self, key: str) -> Any | None:
        """The value stored under `key`, or None when absent, stale or unreadable."""
        try:
            stored = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # RecursionError: a file damaged into deep nesting
            return None
        if not isinstance(stored, dict) or stored.get("key") != key or "value" not in stored:
            return None
        fetched = stored.get("fetched")
        if not isinstance(fetched, (int, float)) or time.time() - fetched > self.max_age:
            return None
        return stored["value"]

    def put(self, key: str, value: Any) -> None:
        record = {"key": key, "fetched": time.time(), "value": value}
        # ASCII with \u escapes: a record may hold lone surrogates (JSON's "\ud800"), which UTF-8 cannot encode
        with contextlib.suppress(OSError):
            write_atomic(self.path(key), json.dumps(record, ensure_ascii=True))
