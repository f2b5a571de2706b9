"""Problems found in the input, reported as `path:line:col: severity: message`.

Every stage reports bad input as a `Problem` instead of raising, so the CLI can print all of them at once,
in the one format editors and CI understand, and exit 1 without a traceback.

Example:

    >>> print(Problem("entries/x.yaml", 3, 5, "error", "unknown key 'tittle'", hint="did you mean 'title'?").format())
    entries/x.yaml:3:5: error: unknown key 'tittle' (did you mean 'title'?)
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from kb.text import shown

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    col: int
    severity: str  # "error" or "warning"
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def text(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def format(self) -> str:
        """One line; characters that could move the cursor, recolour or reorder the terminal are shown as escapes,
        so a value quoted in a message can never rewrite the message (or the one before it)."""
        return shown(f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.text}")

    def format_github(self) -> str:
        """A GitHub Actions workflow command, shown as an annotation on the changed line."""
        text = _github_escape(shown(self.text))
        path = _github_escape(self.path, property_value=True)
        return f"::{self.severity} file={path},line={self.line},col={self.col}::{text}"


def _github_escape(value: str, property_value: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


class ProblemError(Exception):
    """Raised where a stage cannot go on; carries the problem to report."""

    def __init__(self, problem: Problem):
        super().__init__(problem.format())
        self.problem = problem

    def __reduce__(self):  # rebuilt from its problem when it comes back from a worker process (kb.parallel)
        return ProblemError, (self.problem,)


def display_path(path: Path | str) -> str:
    """A path relative to the working directory when it lies below it, as editors expect."""
    path = Path(path)
    try:
        resolved = _resolved_folder(os.path.abspath(path.parent)) / path.name  # the folder once, not every file
        return str(resolved.relative_to(_resolved_folder(os.getcwd())))
    except ValueError:
        return str(path)


@functools.lru_cache(maxsize=64)
def _resolved_folder(folder: str) -> Path:
    """An absolute folder with symlinks resolved: once per folder in a run rather than once per file."""
    return Path(folder).resolve()
