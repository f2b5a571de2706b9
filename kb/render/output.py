"""Writing generated files into docs/: only what changed, atomically, and removing what is no longer generated.

Rewriting an unchanged page would make `mkdocs serve` rebuild and would defeat incremental regeneration, so a
file is written only when its bytes differ. Each write goes to a temporary file first and is then renamed over
the old one, so a reader (or MkDocs) never sees half a page. Generated files live only in folders that git
ignores (see .gitignore); anything in them that this run did not produce is stale and removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kb.atomic import write_atomic

GENERATED_DIRS = (
    "studies",
    "mechanisms",
    "substances",
    "conditions",
    "designs",
    "settings",
    "evidence",
    "bibliography",
    "downloads",
    ".generated",
)
GENERATED_FILES = ("feed.xml",)
WRITER_THREADS = 4


@dataclass(frozen=True)
class Output:
    path: str  # relative to docs/, with forward slashes
    content: bytes


Written = tuple[str, bool]  # a generated file's path, and whether its bytes changed (so it was written)


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0


def is_generated(path: str) -> bool:
    return path in GENERATED_FILES or path.split("/", 1)[0] in GENERATED_DIRS


def write_outputs(docs_dir: Path, outputs: list[Output], also_written: Sequence[Written] = ()) -> WriteReport:
    """Bring docs/'s generated folders to exactly `outputs` plus `also_written` (files `write_files` already
    wrote elsewhere, in worker processes); returns what was written and removed."""
    done = write_files(docs_dir, outputs) + list(also_written)
    written = [path for path, changed in done if changed]
    removed = remove_stale(docs_dir, {path for path, _ in done})
    return WriteReport(written, removed, len(done) - len(written))


def write_files(docs_dir: Path, outputs: list[Output]) -> list[Written]:
    """Write the outputs whose bytes changed (atomically each); says for each output whether it was written."""
    outside = [output.path for output in outputs if not is_generated(output.path)]
    if outside:
        raise ValueError(f"{outside[0]} is outside the generated folders")
    for folder in {(docs_dir / output.path).parent for output in outputs}:
        folder.mkdir(parents=True, exist_ok=True)
    # Threads, because the time goes into file system calls, which run outside Python's global lock.
    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        changed = pool.map(lambda output: _write_if_changed(docs_dir / output.path, output.content), outputs)
        return [(output.path, was_changed) for output, was_changed in zip(outputs, changed, strict=True)]


def _write_if_changed(path: Path, content: bytes) -> bool:
    if _same_bytes(path, content):
        return False
    write_atomic(path, content, durable=False)
    return True


def _same_bytes(path: Path, content: bytes) -> bool:
    try:
        if path.stat().st_size != len(content):
            return False
        return path.read_bytes() == content
    except OSError:
        return False


def remove_stale(docs_dir: Path, expected: set[str]) -> list[str]:
    """Delete generated files that this run did not produce (an entry or a term was removed)."""
    removed = []
    candidates = [docs_dir / name for name in GENERATED_FILES]
    for folder in GENERATED_DIRS:
        root = docs_dir / folder
        if root.is_dir():
            candidates += [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    for path in candidates:
        relative = path.relative_to(docs_dir).as_posix()
        if relative not in expected and (path.is_file() or path.is_symlink()):
            path.unlink()
            removed.append(relative)
    for folder in GENERATED_DIRS:
        _remove_empty_dirs(docs_dir / folder)
    return sorted(removed)


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for directory in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
