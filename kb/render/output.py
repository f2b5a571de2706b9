"""Writing generated files into docs/: only what changed, atomically, and removing what is no longer generated.

Rewriting an unchanged page would make `mkdocs serve` rebuild and would defeat incremental regeneration, so a
file is written only when its bytes differ. Each write goes to a temporary file first and is then renamed over
the old one, so a reader (or MkDocs) never sees half a page. Generated files live only in folders that git
ignores (see .gitignore); anything in them that this run did not produce is stale and removed.

A generated folder that docs/ does not have yet (a fresh clone, or after cleaning) has no old pages to keep and
no reader to protect, so it is written whole into a hidden staging folder with plain writes and renamed into
place when the run succeeds: half the file system calls per file (creating files is most of what a first build
writes), and a failed run leaves nothing of it behind.

Usage (an outline, not a doctest: it needs a docs/ folder):

    writer = DocsWriter.open(docs_dir)
    done = writer.write([Output("studies/a.md", b"...")])   # in any process forked from this one
    report = writer.finish(done)                            # or writer.abandon() when the run failed
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Sequence
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
    "outcomes",
    "settings",
    "evidence",
    "bibliography",
    "downloads",
    ".generated",
    "kb-assets",
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


STAGING_PREFIX = ".kb-staging-"  # docs/.kb-staging-<pid>/: MkDocs skips names that start with a dot


@dataclass(frozen=True)
class DocsWriter:
    """Where one run's generated files go: into docs/ when their folder exists there, else into `staging`."""

    docs_dir: Path
    staging: Path
    fresh: frozenset[str]  # generated folders docs/ did not have when the run started

    @classmethod
    def open(cls, docs_dir: Path) -> DocsWriter:
        remove_abandoned(docs_dir, STAGING_PREFIX)  # what runs that were killed left behind
        fresh = frozenset(name for name in GENERATED_DIRS if not (docs_dir / name).is_dir())
        return cls(docs_dir, docs_dir / f"{STAGING_PREFIX}{os.getpid()}", fresh)

    def write(self, outputs: list[Output]) -> list[Written]:
        """Write the outputs whose bytes changed; says for each output whether it was written."""
        outside = [output.path for output in outputs if not is_generated(output.path)]
        if outside:
            raise ValueError(f"{outside[0]} is outside the generated folders")
        targets = [self._target(output.path) for output in outputs]
        for folder in {target.parent for target, _ in targets}:
            folder.mkdir(parents=True, exist_ok=True)
        # Threads, because the time goes into file system calls, which run outside Python's global lock.
        with ThreadPoolExecutor(WRITER_THREADS) as pool:
            changed = pool.map(_write, targets, [output.content for output in outputs])
            return [(output.path, was_changed) for output, was_changed in zip(outputs, changed, strict=True)]

    def finish(self, done: Sequence[Written]) -> WriteReport:
        """Move the staged folders into docs/ and remove the files of existing folders that `done` does not name."""
        for name in sorted(self.fresh):
            if (self.staging / name).is_dir():
                os.replace(self.staging / name, self.docs_dir / name)
        shutil.rmtree(self.staging, ignore_errors=True)
        written = [path for path, changed in done if changed]
        removed = remove_stale(self.docs_dir, {path for path, _ in done}, skip=self.fresh)
        return WriteReport(written, removed, len(done) - len(written))

    def abandon(self) -> None:
        """Forget the staged folders (the run failed); files written into existing folders stay, each whole."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def _target(self, path: str) -> tuple[Path, bool]:
        """Where `path` goes, and whether it is staged (a plain write) rather than replaced atomically."""
        if path.split("/", 1)[0] in self.fresh:
            return self.staging / path, True
        return self.docs_dir / path, False


def write_outputs(docs_dir: Path, outputs: list[Output]) -> WriteReport:
    """Bring docs/'s generated folders to exactly `outputs`; returns what was written and removed."""
    writer = DocsWriter.open(docs_dir)
    try:
        return writer.finish(writer.write(outputs))
    except BaseException:
        writer.abandon()
        raise


def _write(target: tuple[Path, bool], content: bytes) -> bool:
    path, staged = target
    if staged:
        path.write_bytes(content)
        return True
    if _same_bytes(path, content):
        return False
    write_atomic(path, content, durable=False)
    return True


def sync_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Make `folder` hold exactly `files` (path relative to it -> bytes): changed files replaced atomically,
    unchanged ones left alone, any other file removed."""
    for name, content in files.items():
        _write((folder / name, False), content)
    _remove_stale_in(folder.parent, folder.name, {f"{folder.name}/{name}" for name in files})


def remove_abandoned(folder: Path, prefix: str) -> None:
    """Working folders `<prefix><pid>[-...]` in `folder` of runs that were killed (a finished or failed run removes
    its own); a folder whose process still runs is left alone."""
    if folder.is_dir():
        for leftover in folder.glob(f"{prefix}*"):
            pid = leftover.name.removeprefix(prefix).split("-", 1)[0]
            if leftover.is_dir() and not (pid.isdigit() and _running(int(pid))):
                shutil.rmtree(leftover, ignore_errors=True)


def _running(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would interrupt the process on Windows: keep its folder
        return True
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists (PermissionError: it does, another user's)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass
    return True


def _same_bytes(path: Path, content: bytes) -> bool:
    try:
        if path.stat().st_size != len(content):
            return False
        return path.read_bytes() == content
    except OSError:
        return False


def remove_stale(docs_dir: Path, expected: set[str], skip: Collection[str] = ()) -> list[str]:
    """Delete generated files that this run did not produce (an entry or a term was removed), and the folders
    that leaves empty; `skip` names generated folders that hold only this run's files."""
    removed = []
    for name in GENERATED_FILES:
        if name not in expected and (docs_dir / name).is_file():
            (docs_dir / name).unlink()
            removed.append(name)
    for folder in GENERATED_DIRS:
        if folder not in skip:
            removed += _remove_stale_in(docs_dir, folder, expected)
    return sorted(removed)


def _remove_stale_in(docs_dir: Path, folder: str, expected: set[str]) -> list[str]:
    removed = []
    root = docs_dir / folder
    for directory, subfolders, files in os.walk(root, topdown=False):
        prefix = Path(directory).relative_to(docs_dir).as_posix()
        links = [name for name in subfolders if os.path.islink(os.path.join(directory, name))]
        for name in files + links:
            if f"{prefix}/{name}" not in expected:
                os.unlink(os.path.join(directory, name))
                removed.append(f"{prefix}/{name}")
        if directory != str(root) and not os.listdir(directory):
            os.rmdir(directory)
    return removed
