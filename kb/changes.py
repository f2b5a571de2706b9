"""Which entries a branch changed, so a pull request is checked for what it touches, not the whole knowledge base.

"Changed" means added, modified, copied or renamed since the merge base with a git ref (what GitHub shows as the
pull request's diff), plus uncommitted and untracked files, so the same command works in CI and before a commit.
Entries that a change can break without touching them come along: those whose `related` names a removed entry,
and all of them when vocabulary.yml changed (a term they use may be gone).
Only git is asked; the entries themselves are read by `kb.validate`.

In a clone whose branch added entries/new-2025-study.yaml, `changed_entries(Project(Path(".")), "origin/main")`
gives a `Changes` whose `paths` are [entries/new-2025-study.yaml].
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from kb.load import load_entry
from kb.problems import ProblemError
from kb.project import Project

DEFAULT_BASES = ("origin/main", "main")
_KEPT = "ACMR"  # added, copied, modified, renamed: the files a change leaves behind


class GitError(Exception):
    """Git cannot answer the question; carries a message and a hint for the contributor."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(f"{message} ({hint})" if hint else message)
        self.message = message
        self.hint = hint


@dataclass
class Changes:
    base: str  # the ref compared with, as given or chosen
    merge_base: str  # the commit the branch started from
    paths: list[Path] = field(default_factory=list)  # changed entry files that exist, in name order
    removed_ids: set[str] = field(default_factory=set)  # ids of entry files deleted or renamed away
    affected: list[Path] = field(default_factory=list)  # unchanged entries the change can break
    vocabulary_changed: bool = False  # then every entry is affected: a term may have been renamed or removed

    @property
    def selected(self) -> list[Path]:
        """What to validate: the entries the change breaks, then the changed ones (so that a duplicate found
        between the two is reported on the changed entry)."""
        return self.affected + self.paths

    def describe(self) -> str:
        text = f"{len(self.paths)} entr{'y' if len(self.paths) == 1 else 'ies'} changed since {self.base}"
        text += f" (merge base {self.merge_base[:10]})"
        if self.vocabulary_changed:
            text += f"; vocabulary.yml changed too, so all {len(self.selected)} entries are checked"
        elif self.affected:
            text += f", {len(self.affected)} more naming a removed entry in `related`"
        return text


def changed_entries(project: Project, base: str | None = None) -> Changes:
    """Entries changed since the merge base of HEAD with `base` (default origin/main, else main)."""
    top = Path(_git(project.root, "rev-parse", "--show-toplevel", error=_not_a_repository).strip())
    ref = resolve_base(project.root, base)
    merge_base = _merge_base(project.root, ref)
    entries = _entries_pathspec(project)
    kept, removed = set(), set()
    diff = _git(project.root, "diff", "--name-status", "-z", "-M", "--no-ext-diff", merge_base, "--", entries)
    for status, old, new in _parse_name_status(diff):
        if status in _KEPT:
            kept.add(new)
        if status == "D" or status == "R":
            removed.add(old)
    untracked = _git(project.root, "ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--", entries)
    kept.update(name for name in untracked.split("\0") if name)
    entry_files = {path.resolve(): path for path in project.entry_paths()}
    paths = sorted(entry_files[found] for found in ((top / name).resolve() for name in kept) if found in entry_files)
    removed_ids = {Path(name).stem for name in removed if (top / name).resolve() not in entry_files}
    changed = set(paths)
    unchanged = [path for path in entry_files.values() if path not in changed]
    vocabulary = project.vocabulary_path.relative_to(project.root).as_posix()
    if _git(project.root, "diff", "--name-only", "--no-ext-diff", merge_base, "--", vocabulary).strip():
        return Changes(ref, merge_base, paths, removed_ids, unchanged, vocabulary_changed=True)
    return Changes(ref, merge_base, paths, removed_ids, dependents(unchanged, removed_ids))


def dependents(paths: Iterable[Path], removed_ids: set[str]) -> list[Path]:
    """Entries whose `related` list names a removed id: the change breaks them without touching them."""
    if not removed_ids:
        return []
    found = []
    for path in paths:
        try:
            data = load_entry(path).data
        except ProblemError:
            continue
        related = data.get("related") if isinstance(data, dict) else None
        if isinstance(related, list) and removed_ids & {item for item in related if isinstance(item, str)}:
            found.append(path)
    return found


def resolve_base(root: Path, base: str | None) -> str:
    """The ref to compare with: `base` when it exists, else the first of DEFAULT_BASES that does."""
    if base is not None:
        if not _exists(root, base):
            raise GitError(f"git ref '{base}' does not exist", _ref_hint(root, base))
        return base
    for candidate in DEFAULT_BASES:
        if _exists(root, candidate):
            return candidate
    raise GitError(
        "neither origin/main nor main exists in this repository",
        "name the branch to compare with: kb validate --changed BRANCH",
    )


def _merge_base(root: Path, ref: str) -> str:
    if not _exists(root, "HEAD"):
        raise GitError("the repository has no commits yet", "commit once, or validate files by name: kb validate PATH")
    return _git(
        root,
        "merge-base",
        ref,
        "HEAD",
        error=lambda _: GitError(
            f"'{ref}' and HEAD share no history",
            "in a shallow clone, fetch the whole history: git fetch --unshallow (in CI: fetch-depth: 0)",
        ),
    ).strip()


def _exists(root: Path, ref: str) -> bool:
    try:
        _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except GitError:
        return False
    return True


def _ref_hint(root: Path, ref: str) -> str:
    try:
        refs = _git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/remotes", "refs/tags")
    except GitError:
        refs = ""
    match = process.extractOne(ref, refs.split(), scorer=fuzz.ratio, score_cutoff=70)
    if match:
        return f"did you mean '{match[0]}'?"
    if "/" in ref:
        remote, _, branch = ref.partition("/")
        return f"fetch it first: git fetch {remote} {branch}"
    return "give a branch, tag or commit"


def _entries_pathspec(project: Project) -> str:
    """The entries folder as a pathspec relative to the project root (where git runs)."""
    return project.entries_dir.relative_to(project.root).as_posix() + "/"


def _parse_name_status(output: str) -> list[tuple[str, str, str]]:
    """(status letter, old path, new path) from `git diff --name-status -z`; old == new unless renamed or copied."""
    fields = output.split("\0")
    rows, index = [], 0
    while index < len(fields) and fields[index]:
        status = fields[index][0]
        if status in "RC":
            rows.append((status, fields[index + 1], fields[index + 2]))
            index += 3
        else:
            rows.append((status, fields[index + 1], fields[index + 1]))
            index += 2
    return rows


def _not_a_repository(_: str) -> GitError:
    return GitError(
        "not inside a git repository, so there is nothing to compare with",
        "run it in a clone of the knowledge base, or validate files by name: kb validate PATH",
    )


def _git(root: Path, *args: str, error=None) -> str:
    """Run git in `root` and return its output; a failure becomes a `GitError` (from `error` when given)."""
    try:
        completed = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, encoding="utf-8", check=False
        )
    except FileNotFoundError:
        if shutil.which("git") is None:
            raise GitError("git is not installed", "install git, or validate files by name: kb validate PATH") from None
        raise GitError(f"the folder {root} does not exist") from None
    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()
        raise (error or (lambda text: GitError(f"git {args[0]} failed: {text}")))(detail[-1] if detail else "")
    return completed.stdout
