"""`kb check-dois`: keep each entry's citation true to its DOI, and notice retractions and corrections.

Citations are typed by hand and drift: a misspelt author, the online-first year, a volume from the preprint.
Each entry's citation is compared with the agency's record, after normalising away what is only spelling
(case, markup, accents, whitespace, dashes, punctuation), and every real difference is reported at the line
that holds it. Crossref also records updates to a work: a retraction, withdrawal, correction or expression of
concern appears as `updated-by` on the work (or as `update-to` on the work itself when a publisher replaced it
in place), and may appear in `relation`. Such an update becomes a proposed `notices:` item for the entry,
which the site shows as a banner on the study; `--write-notices` appends it to the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb.atomic import write_atomic
from kb.doi.crossref import (
    DATE_KEYS,
    citation_from_work,
    clean_doi,
    clean_text,
    clean_title,
    date_of,
    normalise_pages,
    year_of,
)
from kb.doi.draft import ascii_slug
from kb.doi.errors import DoiError, ServiceError
from kb.doi.fetch import Work
from kb.identifiers import normalise_doi
from kb.load import LoadedEntry, load_entry, load_text
from kb.problems import ERROR, Problem, ProblemError

# Crossmark update types (and spellings seen in the wild) -> the schema's notice types. New versions and
# editions are not problems with a study, so they are not notices.
UPDATE_TYPES = {
    "retraction": "retraction",
    "partial_retraction": "retraction",
    "withdrawal": "withdrawal",
    "removal": "withdrawal",
    "correction": "correction",
    "corrigendum": "correction",
    "erratum": "correction",
    "expression_of_concern": "expression-of-concern",
    "addendum": "other",
    "clarification": "other",
}
NOT_NOTICES = {"new_version", "new_edition"}
RELATION_WORDS = {"retract": "retraction", "withdr": "withdrawal", "correct": "correction", "errat": "correction"}
RETRACTED_TITLE = ("retracted", "retraction:", "withdrawn")


@dataclass(frozen=True)
class Mismatch:
    path: str
    line: int
    field: str
    ours: str
    theirs: str
    source: str

    def format(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: entry says {self.ours}, {self.source} says {self.theirs}"


@dataclass
class EntryCheck:
    """What checking one entry found."""

    path: str
    mismatches: list[Mismatch] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)  # proposed `notices:` items not yet in the entry
    notice_line: int = 1
    problems: list[Problem] = field(default_factory=list)
    source: str = "Crossref"
    checked: bool = False

    @property
    def found_anything(self) -> bool:
        return bool(self.mismatches or self.notices or self.problems)


@dataclass
class CheckRun:
    results: list[EntryCheck] = field(default_factory=list)
    without_doi: list[str] = field(default_factory=list)
    stopped: DoiError | None = None

    @property
    def ok(self) -> bool:
        return self.stopped is None and not any(result.found_anything for result in self.results)


def check_entries(
    paths: list[Path], fetch: Callable[[str], Work], progress: Callable[[Iterable], Iterator] | None = None
) -> CheckRun:
    """Check every entry; stop early when the service fails, since every further request would fail too."""
    run = CheckRun()
    for path in progress(paths) if progress else paths:
        try:
            result = check_entry(path, fetch)
        except ServiceError as error:
            run.stopped = error
            break
        if result is None:
            run.without_doi.append(str(path))
        else:
            run.results.append(result)
    return run


def check_entry(path: Path, fetch: Callable[[str], Work]) -> EntryCheck | None:
    """Compare one entry with its DOI's record; None when the entry has no DOI to check."""
    try:
        entry = load_entry(path)
    except ProblemError as error:
        return EntryCheck(str(path), problems=[error.problem])
    citation = entry.data.get("citation") if isinstance(entry.data, dict) else None
    raw = citation.get("doi") if isinstance(citation, dict) else None
    if raw is None:
        return None
    result = EntryCheck(entry.path)
    doi = normalise_doi(str(raw))
    line, col = entry.locate(("citation", "doi"))
    if doi is None:
        result.problems.append(Problem(entry.path, line, col, ERROR, f"'{raw}' is not a DOI; run kb validate"))
        return result
    try:
        work = fetch(doi)
        result.mismatches = compare_citation(entry, work)
    except ServiceError:
        raise
    except DoiError as error:
        result.problems.append(Problem(entry.path, line, col, ERROR, str(error)))
        return result
    result.source, result.checked = work.source, True
    result.mismatches += notice_mismatches(entry, work)
    result.notices = new_notices(entry.data, notices_of(work))
    result.notice_line = entry.locate(("notices",) if "notices" in entry.data else ("citation", "doi"))[0]
    return result


# --- comparing citations --------------------------------------------------------------------------------


def _words(text: Any) -> str:
    """Text reduced to its words: case, markup, accents, punctuation, dashes and spacing do not count."""
    cleaned = clean_text(str(text)) if text is not None else None
    if not cleaned:
        return ""
    return ascii_slug(cleaned) or cleaned.casefold()


def _person_key(person: Any) -> tuple[str, str]:
    if not isinstance(person, dict):
        return ("", "")
    if person.get("name"):
        return (_words(person["name"]), "")
    given = _words(person.get("given"))
    return (_words(person.get("family")), given[:1])


def _show_person(person: Any) -> str:
    if not isinstance(person, dict):
        return str(person)
    if person.get("name"):
        return str(person["name"])
    given = person.get("given")
    return f"{person.get('family')}, {given}" if given else str(person.get("family"))


def _same_person(ours: Any, theirs: Any) -> bool:
    (our_family, our_initial), (their_family, their_initial) = _person_key(ours), _person_key(theirs)
    return our_family == their_family and (not our_initial or not their_initial or our_initial == their_initial)


def compare_citation(entry: LoadedEntry, work: Work) -> list[Mismatch]:
    """Every field where the entry's citation says something other than the agency's record."""
    data, record = entry.data, work.record
    citation = data.get("citation") or {}
    cited = citation_from_work(work).citation
    found: list[Mismatch] = []

    def differ(keys: tuple, name: str, ours: Any, theirs: Any) -> None:
        shown = "nothing" if ours is None else str(ours)
        found.append(Mismatch(entry.path, entry.locate(keys)[0], name, shown, str(theirs), work.source))

    titles = {clean_title(record.get("title"), record.get("subtitle")), clean_title(record.get("title"))} - {None}
    if titles and _words(data.get("title")) not in {_words(title) for title in titles}:
        differ(("title",), "title", data.get("title"), clean_title(record.get("title"), record.get("subtitle")))
    found += _compare_authors(entry, citation.get("authors") or [], cited["authors"], work.source)
    if "year" in cited and str(citation.get("year")) not in _years(record) | {str(cited["year"])}:
        differ(("citation", "year"), "year", citation.get("year"), cited["year"])
    journals = [clean_text(record.get(key)) for key in ("container-title", "short-container-title")]
    journals = [name for name in journals if name]
    if cited.get("journal") and _words(citation.get("journal")) not in {_words(name) for name in journals}:
        differ(("citation", "journal"), "journal", citation.get("journal"), cited["journal"])
    for key in ("volume", "issue"):
        if key in cited and _words(citation.get(key)) != _words(cited[key]):
            differ(("citation", key), key, citation.get(key), cited[key])
    ours = _locators(citation.get("pages"), citation.get("article_number"))
    theirs = _locators(cited.get("pages"), cited.get("article_number"))
    if theirs and not ours & theirs:
        name = "pages" if citation.get("pages") or cited.get("pages") else "article_number"
        shown_ours = citation.get("pages") or citation.get("article_number")
        differ(("citation", name), name, shown_ours, cited.get("pages") or cited.get("article_number"))
    return found


def _years(record: dict) -> set[str]:
    """Every year the record gives the work: an entry may cite the print year of an article first issued online."""
    return {str(year) for year in (year_of({key: record.get(key)})[0] for key in DATE_KEYS[:4]) if year}


def _compare_authors(entry: LoadedEntry, ours: list, theirs: list, source: str) -> list[Mismatch]:
    """The first author that differs (later ones would only repeat a shifted list), and a different count."""
    found = []
    for index, (our, their) in enumerate(zip(ours, theirs, strict=False)):
        if not _same_person(our, their):
            line = entry.locate(("citation", "authors", index))[0]
            found.append(
                Mismatch(entry.path, line, f"authors[{index}]", _show_person(our), _show_person(their), source)
            )
            break
    if theirs and len(ours) != len(theirs):
        line = entry.locate(("citation", "authors"))[0]
        found.append(Mismatch(entry.path, line, "authors", f"{len(ours)} authors", f"{len(theirs)}", source))
    return found


def _locators(pages: Any, number: Any) -> set[str]:
    """Pages and article numbers in one comparable form; an abbreviated last page (519-27) is written out."""
    found = set()
    for value in (pages, number):
        if value is None:
            continue
        text = normalise_pages(str(value)).casefold()
        first, _, last = text.partition("-")
        if last and len(last) < len(first) and first.isdigit() and last.isdigit():
            text = f"{first}-{first[: len(first) - len(last)]}{last}"
        found.add(text)
    return found


# --- retractions, withdrawals, corrections -------------------------------------------------------------


def notices_of(work: Work) -> list[dict]:
    """Notices the agency's record implies for this work, as `notices:` items of the schema."""
    record, own = work.record, work.doi
    found = []
    for item in _dicts(record.get("updated-by")):
        found.append(_notice(item, work.source))
    for item in _dicts(record.get("update-to")):
        if clean_doi(item.get("DOI")) == own:  # updated in place: the notice replaced the work
            found.append(_notice(item, work.source))
    relation = record.get("relation") if isinstance(record.get("relation"), dict) else {}
    for name, targets in relation.items():
        kind = _relation_kind(str(name))
        for target in _dicts(targets) if kind else []:
            doi = clean_doi(target.get("id")) if target.get("id-type", "doi") == "doi" else None
            named = doi or _plain(target.get("id"))  # a URI or other identifier is named as it is, never "None"
            note = " ".join(part for part in (f"{work.source} relates it:", _plain(name), named) if part)
            found.append(_clean({"type": kind, "doi": doi, "note": note}))
    title = (clean_text(record.get("title")) or "").casefold()
    if title.startswith(RETRACTED_TITLE) and not any(n and n["type"] == "retraction" for n in found):
        found.append({"type": "retraction", "note": f"{work.source} gives the title as retracted or withdrawn"})
    return _unique([notice for notice in found if notice])


def _plain(value: Any) -> str:
    """An agency's value as plain text for a note: no markup, line breaks, control, bidi or zero-width characters."""
    return "" if value is None else clean_text(str(value)) or ""


def _notice(item: dict, source: str) -> dict | None:
    raw = _plain(item.get("type") or item.get("update-type") or item.get("label")).lower()
    key = raw.replace("-", "_").replace(" ", "_")
    if key in NOT_NOTICES:
        return None
    kind = UPDATE_TYPES.get(key, "other")
    label = clean_text(item.get("label")) or raw.replace("_", " ") or "update"
    origin = _plain(item.get("source")) or "publisher"
    reported = {"publisher": "", "retraction-watch": " (reported by Retraction Watch)"}.get(
        origin, f" (source: {origin})"
    )
    note = f"{source} records a {label.lower()} of this work{reported}"
    return _clean(
        {
            "type": kind,
            "doi": clean_doi(item.get("DOI")),
            "date": date_of(item.get("updated")),
            "note": note,
        }
    )


def _relation_kind(name: str) -> str | None:
    """A relation saying this work *is* retracted/corrected by another (is-...-by), never the other way round."""
    if not (name.startswith("is-") and name.endswith("-by")):
        return None
    return next((kind for word, kind in RELATION_WORDS.items() if word in name), None)


def notice_mismatches(entry: LoadedEntry, work: Work) -> list[Mismatch]:
    """An entry whose DOI is itself a retraction or correction notice cites the notice, not the study."""
    found = []
    for item in _dicts(work.record.get("update-to")):
        target = clean_doi(item.get("DOI"))
        if target and target != work.doi:
            kind = (_plain(item.get("type")) or "update").replace("_", " ")
            theirs = f"it is a {kind} notice for {target}: cite that work and add the notice"
            line = entry.locate(("citation", "doi"))[0]
            found.append(Mismatch(entry.path, line, "doi", work.doi, theirs, work.source))
    return found


def new_notices(data: dict, notices: list[dict]) -> list[dict]:
    """The notices the entry does not record yet (same DOI, or same type when the notice has no DOI)."""
    present = [n for n in data.get("notices") or [] if isinstance(n, dict)]
    known_dois = {normalise_doi(str(n.get("doi"))) for n in present if n.get("doi")}
    known_types = {n.get("type") for n in present}
    return [
        notice
        for notice in notices
        if not (notice.get("doi") and notice["doi"] in known_dois)
        and not (not notice.get("doi") and notice["type"] in known_types)
    ]


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _clean(notice: dict) -> dict:
    return {key: value for key, value in notice.items() if value is not None}


def _unique(notices: list[dict]) -> list[dict]:
    seen, unique = set(), []
    for notice in notices:
        key = (notice["type"], notice.get("doi"))
        if key not in seen:
            seen.add(key)
            unique.append(notice)
    return unique


# --- writing notices into an entry ---------------------------------------------------------------------


class NoticeEditError(Exception):
    """The entry's `notices:` is written in a way we will not edit by machine; the message says what to do."""


def notices_yaml(notices: list[dict], indent: str = "  ") -> str:
    text = yaml.safe_dump(notices, sort_keys=False, allow_unicode=True, width=1_000_000, default_flow_style=False)
    return "".join(indent + line + "\n" for line in text.splitlines())


def with_notices(text: str, notices: list[dict], shown: str = "entry") -> str:
    """The entry's text with `notices` appended to its `notices:` list (created at the end when absent).

    Comments and layout are kept; the result is parsed back and must equal the old data plus the new items."""
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.split("#")[0].rstrip() in ("notices:", "notices: []")), None
    )
    if start is None:
        if any(line.startswith("notices:") for line in lines):
            raise NoticeEditError(f"{shown}: 'notices:' is written inline; add the notice by hand")
        new_lines = [*lines, "notices:", *notices_yaml(notices).splitlines()]
    else:
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " -#"):
            end += 1
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        items = [line for line in lines[start + 1 : end] if line.strip().startswith("- ")]
        indent = items[0][: len(items[0]) - len(items[0].lstrip())] if items else "  "
        _, hash_sign, comment = lines[start].partition("#")  # a comment on the line itself stays
        head = f"notices:  #{comment}" if hash_sign else "notices:"
        new_lines = [*lines[:start], head, *lines[start + 1 : end], *notices_yaml(notices, indent).splitlines()]
        new_lines += lines[end:]
    new_text = "\n".join(new_lines) + "\n"
    _verify(text, new_text, notices, shown)
    return new_text


def _verify(old: str, new: str, notices: list[dict], shown: str) -> None:
    before = load_text(old, shown).data
    try:
        after = load_text(new, shown).data
    except ProblemError:
        after = None
    expected = {**before, "notices": [*(before.get("notices") or []), *notices]}
    if after != expected:
        raise NoticeEditError(f"{shown}: could not add the notice without changing other values; add it by hand")


def write_notices(path: Path, notices: list[dict]) -> None:
    """Append `notices` to the entry at `path`, atomically; raises NoticeEditError or OSError."""
    entry = load_entry(path)
    write_atomic(path, with_notices(entry.text, notices, entry.path))
