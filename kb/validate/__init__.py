"""Stage 2: check loaded entries against the schema, the vocabulary and each other; build `Study` records.

Every problem is collected (not raised) so a contributor sees all of them in one run. Entries with errors
are left out of `ValidationResult.studies`; warnings do not stop an entry. `kb serve` passes a `CheckMemory`,
so that after an edit only the files whose bytes changed are read and checked again (the checks across entries
always run, on every entry).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb.identifiers import parent_id
from kb.load import LoadedEntry, gc_paused, load_entry
from kb.model import Study, study_from_dict
from kb.parallel import map_chunks
from kb.problems import ERROR, Problem, ProblemError
from kb.validate import rules
from kb.validate.corpus import EntryKey, duplicate_problems
from kb.validate.schema import schema_problems
from kb.vocabulary import Vocabulary


@dataclass
class ValidationResult:
    studies: list[Study] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def ok(self, strict: bool = False) -> bool:
        return not (self.problems if strict else self.errors)


@dataclass
class _Checked:
    entry: LoadedEntry  # its data cut to what cross-entry checks read (see `_for_cross_checks`)
    study: Study | None  # built when the entry passed the schema
    problems: list[Problem]


class CheckMemory:
    """Each entry's own checks, kept between runs and keyed by the file's bytes: `kb serve` validates the whole
    knowledge base after every edit, but only the edited file needs reading and checking again.

    A result is reused only for the same bytes under the same `context` (the vocabulary's text and the date, which
    the checks also read); a new context forgets everything."""

    def __init__(self) -> None:
        self.context: object = None
        self._outcomes: dict[Path, tuple[bytes, _Checked | Problem]] = {}

    def start(self, context: object) -> None:
        if context != self.context:
            self.context, self._outcomes = context, {}

    def recall(self, path: Path, digest: bytes | None) -> _Checked | Problem | None:
        kept = self._outcomes.get(path)
        if digest is None or kept is None or kept[0] != digest:
            return None
        return _copy(kept[1])

    def remember(self, path: Path, digest: bytes | None, outcome: _Checked | Problem) -> None:
        if digest is not None:
            self._outcomes[path] = (digest, _copy(outcome))

    def forget_others(self, paths: Iterable[Path]) -> None:
        """Drop what is kept for files that are gone (renamed or deleted entries)."""
        keep = set(paths)
        self._outcomes = {path: kept for path, kept in self._outcomes.items() if path in keep}


def _copy(outcome: _Checked | Problem) -> _Checked | Problem:
    """The checks across entries add to a `_Checked`'s problems: what is kept and what is handed out are copies."""
    if isinstance(outcome, _Checked):
        return _Checked(outcome.entry, outcome.study, list(outcome.problems))
    return outcome


def content_digest(path: Path) -> bytes | None:
    """A digest of a regular file's bytes; None for anything else (a link, a folder, a pipe, an unreadable file),
    which is then never reused but read and reported by the checks themselves."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None


def validate_entries(
    paths: Sequence[Path],
    vocabulary: Vocabulary,
    others: Iterable[Path] = (),
    today: datetime.date | None = None,
    progress=None,
    memory: CheckMemory | None = None,
) -> ValidationResult:
    """Validate `paths`; `others` are the rest of the knowledge base, read only for cross-entry checks.
    With `memory`, an entry whose bytes it has seen is not read or checked again."""
    with gc_paused(keep_after=True):
        return _validate_entries(paths, vocabulary, others, today, progress, memory)


def _validate_entries(
    paths: Sequence[Path],
    vocabulary: Vocabulary,
    others: Iterable[Path],
    today: datetime.date | None,
    progress,
    memory: CheckMemory | None,
) -> ValidationResult:
    today = today or datetime.date.today()
    result = ValidationResult()
    checked: list[_Checked] = []

    def check_chunk(chunk: list[Path]) -> list[_Checked | Problem]:
        return [_check_path(Path(path), vocabulary, today) for path in chunk]

    if memory is not None:
        memory.start((vocabulary, today))  # what the checks read besides the file (a Vocabulary compares by value)
    for outcome in _checked_outcomes(paths, check_chunk, progress, memory):
        if isinstance(outcome, Problem):
            result.problems.append(outcome)
        else:
            checked.append(outcome)
    context = _load_quietly(set(map(Path, others)) - set(map(Path, paths)))
    known_ids = {_entry_id(c.entry) for c in checked + context} - {None}
    first_path_of: dict[str, str] = {}
    for item in sorted(checked + context, key=lambda c: c.entry.path):  # the first in name order keeps the id
        first_path_of.setdefault(_entry_id(item.entry), item.entry.path)
    parents = {_entry_id(c.entry): _parent(c.entry) for c in checked + context}
    parents = {child: parent for child, parent in parents.items() if child and parent}
    for item in checked:
        if item.study is not None:
            item.problems += rules.check_unique_id(item.entry, first_path_of)
            item.problems += rules.check_related(item.entry, known_ids)
            item.problems += rules.check_parent(item.entry, known_ids, parents)
    selected = {item.entry.path for item in checked}
    # the rest of the knowledge base first: a duplicate is reported on the entry being checked, not the old one
    keys = [_entry_key(item.entry) for item in context + checked]
    cross = [p for p in duplicate_problems(keys) if p.path in selected]
    for item in checked:
        result.problems += item.problems
        if item.study is not None and not any(p.is_error for p in item.problems + cross if p.path == item.entry.path):
            result.studies.append(item.study)
    result.problems += cross
    result.problems.sort(key=lambda p: (p.path, p.line, p.col))
    return result


def _checked_outcomes(paths: Sequence[Path], check_chunk, progress, memory: CheckMemory | None) -> list:
    """Each path's outcome, in the order of `paths`: from `memory` when it has the file's bytes, else checked."""
    if memory is None:
        return map_chunks(check_chunk, paths, progress)
    paths = [Path(path) for path in paths]
    digests = [content_digest(path) for path in paths]
    outcomes = [memory.recall(path, digest) for path, digest in zip(paths, digests, strict=True)]
    missing = [index for index, outcome in enumerate(outcomes) if outcome is None]
    for index, outcome in zip(missing, map_chunks(check_chunk, [paths[i] for i in missing], progress), strict=True):
        outcomes[index] = outcome
        memory.remember(paths[index], digests[index], outcome)
    memory.forget_others(paths)
    return outcomes


def _check_path(path: Path, vocabulary: Vocabulary, today: datetime.date) -> _Checked | Problem:
    """One entry read and checked on its own (in a worker process when there are many)."""
    try:
        checked = _check_one(load_entry(path), path, vocabulary, today)
    except ProblemError as error:
        return error.problem
    checked.entry = _for_cross_checks(checked.entry)
    return checked


_CROSS_CHECK_KEYS = ("id", "title", "related")


def _for_cross_checks(entry: LoadedEntry) -> LoadedEntry:
    """The entry with only the values the checks across entries read (its id, title, related ids and DOI), so a
    worker process sends back its text and `Study` but not the parsed data a second time."""
    if not isinstance(entry.data, dict):
        return entry
    data = {key: entry.data[key] for key in _CROSS_CHECK_KEYS if key in entry.data}
    citation = entry.data.get("citation")
    if isinstance(citation, dict) and "doi" in citation:
        data["citation"] = {"doi": citation["doi"]}
    design = entry.data.get("design")
    if isinstance(design, dict) and "parent" in design:
        data["design"] = {"parent": design["parent"]}
    return LoadedEntry(entry.path, entry.text, data)


def _check_one(entry: LoadedEntry, path: Path, vocabulary: Vocabulary, today: datetime.date) -> _Checked:
    if not isinstance(entry.data, dict):
        shape = "empty" if entry.data is None else f"a {type(entry.data).__name__}"
        message = f"an entry must be a mapping of keys (id, title, ...), but this file is {shape}"
        hint = "start from entries/_template.yaml"
        return _Checked(entry, None, [Problem(entry.path, 1, 1, ERROR, message, hint)])
    data, problems = rules.canonical_tags(entry, vocabulary)
    problems += rules.check_id(entry, path)
    problems += rules.check_text(entry)
    problems += rules.check_plain_numbers(entry)
    structure = schema_problems(entry)
    if structure:
        return _Checked(entry, None, sorted(problems + structure, key=lambda p: (p.line, p.col)))
    problems += rules.check_doi(entry)
    problems += rules.check_title(entry)
    problems += rules.check_numbers(entry)
    problems += rules.check_dates(entry, today)
    return _Checked(entry, study_from_dict(data, path), problems)


def _load_quietly(paths: Iterable[Path]) -> list[_Checked]:
    """The rest of the knowledge base, for cross-entry checks; its own problems are not this run's concern."""
    loaded = []
    for path in sorted(paths):
        try:
            entry = load_entry(path)
        except ProblemError:
            continue
        if isinstance(entry.data, dict):
            loaded.append(_Checked(entry, None, []))
    return loaded


def _entry_id(entry: LoadedEntry) -> str | None:
    return entry.data.get("id") if isinstance(entry.data, dict) else None


def _parent(entry: LoadedEntry) -> str | None:
    design = entry.data.get("design") if isinstance(entry.data, dict) else None
    return parent_id(design.get("parent")) if isinstance(design, dict) else None


def _entry_key(entry: LoadedEntry) -> EntryKey:
    data = entry.data if isinstance(entry.data, dict) else {}
    citation = data.get("citation") if isinstance(data.get("citation"), dict) else {}
    doi, title = citation.get("doi"), data.get("title")
    return EntryKey(
        path=entry.path,
        id=str(data.get("id", entry.path)),
        doi=doi if isinstance(doi, str) else None,
        title=title if isinstance(title, str) else None,
        where=lambda field: entry.locate(_FIELD_KEYS[field]),
    )


_FIELD_KEYS = {"doi": ("citation", "doi"), "title": ("title",)}
