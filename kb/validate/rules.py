"""Checks on one entry that a JSON Schema cannot express: tags, ids, DOIs, numbers that must agree, dates.

Each check takes the loaded entry (data plus positions) and returns problems; `canonical_tags` also returns the
entry's data with synonyms replaced by their preferred terms, so later stages only ever see vocabulary slugs.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

from rapidfuzz import process

from kb.identifiers import normalise_doi, parent_id, strip_doi
from kb.load import LoadedEntry
from kb.model import RATIO_METRICS, SMD_METRICS
from kb.problems import ERROR, WARNING, Problem
from kb.references.titles import is_title_case, sentence_case
from kb.text import is_hidden
from kb.vocabulary import Vocabulary

EARLIEST_YEAR = 1900


def _problem(
    entry: LoadedEntry, keys: tuple, severity: str, message: str, hint: str | None = None, at_key: bool = False
) -> Problem:
    line, col = entry.locate(keys, at_key=at_key)
    return Problem(entry.path, line, col, severity, message, hint)


def tag_places(data: dict) -> Iterator[tuple[str, tuple]]:
    """Every place in an entry that holds a vocabulary term, as (facet, key path); places whose value is not
    text are skipped (the schema check reports those)."""
    places = [("designs", ("design", "type"))]
    for facet in ("mechanisms", "substances", "conditions"):
        places += [(facet, (facet, index)) for index in range(len(_list(data.get(facet))))]
    for plural, key, facet in (
        ("interventions", "substance", "substances"),
        ("applications", "setting", "settings"),
        ("findings", "domain", "outcomes"),
    ):
        places += [(facet, (plural, index, key)) for index in range(len(_list(data.get(plural))))]
    for facet, keys in places:
        if isinstance(_get(data, keys), str):
            yield facet, keys


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _get(data, keys: tuple):
    """The value at `keys`, or None where the path does not exist."""
    for key in keys:
        if isinstance(data, dict) and isinstance(key, str):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def _set(data, keys: tuple, value) -> None:
    _get(data, keys[:-1])[keys[-1]] = value


def canonical_tags(entry: LoadedEntry, vocabulary: Vocabulary) -> tuple[dict, list[Problem]]:
    """The entry's data with every tag as its preferred slug, and a problem for each tag that is not one."""
    data = entry.data
    problems = []
    fixed = None
    for facet, keys in tag_places(data):
        value = _get(data, keys)
        resolution = vocabulary.resolve(facet, value)
        if resolution.term is None:
            hint = f"did you mean '{resolution.suggestion}'?" if resolution.suggestion else None
            hint = hint or f"add the term to vocabulary.yml under {facet}, or pick an existing one"
            problems.append(_problem(entry, keys, ERROR, f"unknown {facet[:-1]} tag '{value}'", hint))
        elif resolution.via_synonym:
            preferred = resolution.term.slug
            message = f"'{value}' is a synonym; the preferred {facet[:-1]} tag is '{preferred}'"
            problems.append(_problem(entry, keys, WARNING, message, f"write '{preferred}'"))
            fixed = fixed or copy.deepcopy(data)
            _set(fixed, keys, preferred)
    return (fixed or data), problems


RESERVED_IDS = ("index",)  # index.md is each folder's own page


def check_id(entry: LoadedEntry, path: Path) -> list[Problem]:
    entry_id = entry.data.get("id")
    if entry_id in RESERVED_IDS:
        message = f"the id '{entry_id}' is reserved for the site's own pages"
        return [_problem(entry, ("id",), ERROR, message, "use firstauthor-year-keyword")]
    if isinstance(entry_id, str) and path.stem != entry_id:
        return [
            _problem(
                entry,
                ("id",),
                ERROR,
                f"id '{entry_id}' does not match the file name '{path.name}'",
                f"rename the file to {entry_id}.yaml or set id: {path.stem}",
            )
        ]
    return []


# Line breaks and tabs are fine in an entry, and so are the zero-width (non-)joiners some scripts need and the
# soft hyphen; every other control or invisible character (kb.text.is_hidden) is refused.
ALLOWED_HIDDEN = frozenset("\t\n\u00ad\u200c\u200d")
_WITHOUT_ALLOWED = dict.fromkeys(map(ord, ALLOWED_HIDDEN))  # str.translate table deleting them


def check_text(entry: LoadedEntry) -> list[Problem]:
    """Every text value of the entry, free of hidden and control characters: controls written as YAML escapes
    ("\\x01", "\\e"), bidirectional overrides that reorder what a reader sees, invisible zero-width characters
    (each reported at its value)."""
    if _surely_clean(entry.data):
        return []
    problems = []
    for keys, text, is_key in _texts(entry.data, ()):
        if text.translate(_WITHOUT_ALLOWED).isprintable():
            continue
        found = next((c for c in text if is_hidden(c) and c not in ALLOWED_HIDDEN), None)
        if found:
            where = ".".join(map(str, keys[:-1] if is_key else keys))
            where = f"a key of {where or 'the entry'}" if is_key else where
            message = f"hidden or control character U+{ord(found):04X} in {where}"
            hint = "delete it: readers cannot see it, feeds break on it"
            problems.append(_problem(entry, keys, ERROR, message, hint, at_key=is_key))
    return problems


def _surely_clean(data) -> bool:
    """Whether no text of the entry can hold a hidden character, found in a few passes in C instead of a walk
    over every value (an entry has over a hundred): JSON writes C0 controls as escapes (\\u0001, \\b, \\f,
    \\r) and leaves every other character as it is. A false "no" only means the exact walk runs."""
    try:
        dumped = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError):
        return False
    escaped_controls = ("\\u00", "\\b", "\\f", "\\r")
    return not any(escape in dumped for escape in escaped_controls) and dumped.translate(_WITHOUT_ALLOWED).isprintable()


def _texts(value, keys: tuple) -> Iterator[tuple[tuple, str, bool]]:
    """(key path, text, whether the text is the last key itself) for every text of `value`, keys included."""
    if isinstance(value, str):
        yield keys, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*keys, key), key, True
            yield from _texts(item, (*keys, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, (*keys, index))


def check_title(entry: LoadedEntry) -> list[Problem]:
    """A Title Case title: APA 7 and reference managers expect sentence case (acronyms and names kept)."""
    title = entry.data.get("title")
    if not isinstance(title, str) or not is_title_case(title):
        return []
    message = "the title is in Title Case; APA references use sentence case"
    hint = f"write: {sentence_case(title)} (keep proper names capitalised)"
    return [_problem(entry, ("title",), WARNING, message, hint)]


def check_doi(entry: LoadedEntry) -> list[Problem]:
    raw = entry.data["citation"].get("doi")
    if raw is None:
        return []
    canonical = normalise_doi(raw)
    keys = ("citation", "doi")
    if canonical is None:
        return [_problem(entry, keys, ERROR, f"'{raw}' is not a DOI", "a DOI looks like 10.1080/20008066.2025.2485513")]
    bare = strip_doi(raw)
    if bare != raw:
        return [_problem(entry, keys, WARNING, f"write the DOI without prefix or punctuation: {bare}", None)]
    return []


# Counts are whole numbers whatever YAML reads (2024.0 and 1.0e300 are floats that JSON Schema calls integers),
# within what a study can have.
WHOLE_NUMBERS = {
    ("citation", "year"): 9999,
    ("sample", "n"): 100_000_000,
    ("sample", "arms", "*", "n"): 100_000_000,
    ("interventions", "*", "sessions"): 1000,
    ("safety", "serious_adverse_events", "*", "n"): 100_000_000,
    ("safety", "discontinuations", "*", "n"): 100_000_000,
}


def check_plain_numbers(entry: LoadedEntry) -> list[Problem]:
    """No NaN or infinity anywhere (YAML's .nan and .inf, or 1e999), and counts that are whole and plausible."""
    problems = []
    for keys, value in _numbers(entry.data, ()):
        if not math.isfinite(value):
            message = f"{value} is not a number a study can report"
            problems.append(_problem(entry, keys, ERROR, message, "write the number as the paper gives it"))
    for pattern, limit in WHOLE_NUMBERS.items():
        for keys, value in _matching(entry.data, pattern, ()):
            if isinstance(value, float) and math.isfinite(value):
                message = f"{_fmt(value)} must be a whole number"
                problems.append(
                    _problem(entry, keys, ERROR, message, f"write {int(value)}" if value.is_integer() else None)
                )
            elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > limit:  # inf: reported above
                problems.append(
                    _problem(entry, keys, ERROR, f"{_fmt(value)} is not plausible here (at most {limit:,})")
                )
    return problems


def _fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value:,}"


def _numbers(value, keys: tuple) -> Iterator[tuple[tuple, float]]:
    if isinstance(value, float):
        yield keys, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*keys, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, (*keys, index))


def _matching(value, pattern: tuple, keys: tuple) -> Iterator[tuple[tuple, object]]:
    """The values at a key pattern, '*' standing for every item of a list."""
    if not pattern:
        yield keys, value
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _matching(item, rest, (*keys, index))
    elif isinstance(value, dict) and head in value:
        yield from _matching(value[head], rest, (*keys, head))


def check_numbers(entry: LoadedEntry) -> list[Problem]:
    data = entry.data
    problems = []
    sample = data.get("sample") or {}
    arms_total = sum(arm["n"] for arm in sample.get("arms", []))
    if "n" in sample and arms_total > sample["n"]:
        message = f"the arms add up to {arms_total}, more than the sample's n of {sample['n']}"
        problems.append(_problem(entry, ("sample", "arms"), ERROR, message, "check n and each arm's n"))
    for index, finding in enumerate(data["findings"]):
        if "effect" in finding:
            problems += _check_effect(entry, ("findings", index, "effect"), finding["effect"])
            problems += _check_effect_reporting(entry, ("findings", index), finding)
        if isinstance(finding.get("p"), (int, float)) and not 0 <= finding["p"] <= 1:
            problems.append(_problem(entry, ("findings", index, "p"), ERROR, "p must be between 0 and 1"))
    problems += _check_pages(entry)
    problems += _check_safety_arms(entry)
    return problems


def _check_effect_reporting(entry: LoadedEntry, keys: tuple, finding: dict) -> list[Problem]:
    """Warnings a reviewer would raise: an effect nobody can trace, and an SMD whose sign contradicts the
    direction (the sign convention: a positive SMD favours the intervention)."""
    effect = finding["effect"]
    problems = []
    if "source" not in finding:
        message = "an effect without a source: say where its figures come from"
        problems.append(_problem(entry, (*keys, "effect"), WARNING, message, "add source: Abstract (or Table 2, p. 7)"))
    if effect["metric"] in SMD_METRICS and finding["direction"] == "improved" and effect["value"] < 0:
        message = f"direction is 'improved' but the {effect['metric']} is negative ({effect['value']})"
        hint = "positive SMDs favour the intervention: flip the sign (and the CI) if the paper counts the other way"
        problems.append(_problem(entry, (*keys, "effect", "value"), WARNING, message, hint))
    return problems


def _check_safety_arms(entry: LoadedEntry) -> list[Problem]:
    """Harms are counted per arm of `sample.arms`: each label must be one of them, and no count above its n."""
    safety = entry.data.get("safety") or {}
    arms = {arm["label"]: arm["n"] for arm in (entry.data.get("sample") or {}).get("arms", [])}
    problems = []
    for key in ("serious_adverse_events", "discontinuations"):
        for index, count in enumerate(safety.get(key, [])):
            keys = ("safety", key, index)
            if count["arm"] not in arms:
                match = process.extractOne(count["arm"], list(arms), score_cutoff=70)
                hint = f"did you mean '{match[0]}'?" if match else "use the labels of sample.arms (add the arms there)"
                problems.append(_problem(entry, (*keys, "arm"), ERROR, f"no arm labelled '{count['arm']}'", hint))
            elif count["n"] > arms[count["arm"]]:
                message = f"{count['n']} people in arm '{count['arm']}', which has {arms[count['arm']]}"
                problems.append(_problem(entry, (*keys, "n"), ERROR, message))
    return problems


def _check_effect(entry: LoadedEntry, keys: tuple, effect: dict) -> list[Problem]:
    value, ci = effect["value"], effect.get("ci")
    numbers = [("value", value), *((("ci", i), v) for i, v in enumerate(ci or []))]
    if not all(math.isfinite(v) for _, v in numbers):
        return []  # NaN or infinity: check_plain_numbers reports it, once
    too_large = [(k, v) for k, v in numbers if abs(v) > 1e6]
    if too_large:
        where, bad = too_large[0]
        where = where if isinstance(where, tuple) else (where,)
        return [_problem(entry, (*keys, *where), ERROR, f"{bad} is not a plausible effect size", "write the number")]
    problems = []
    if effect["metric"] in RATIO_METRICS and value <= 0:
        problems.append(_problem(entry, (*keys, "value"), ERROR, f"the {effect['metric']} must be above 0"))
    if effect["metric"] in RATIO_METRICS and ci is not None and ci[0] <= 0:
        problems.append(_problem(entry, (*keys, "ci", 0), ERROR, f"the {effect['metric']}'s CI must be above 0"))
    if ci is not None and not ci[0] <= value <= ci[1]:
        message = f"the 95% CI [{ci[0]}, {ci[1]}] does not contain the value {value}"
        hint = "write the CI as [lower, upper]" if ci[1] <= value <= ci[0] else "check the numbers in the paper"
        problems.append(_problem(entry, (*keys, "ci"), ERROR, message, hint))
    return problems


def _check_pages(entry: LoadedEntry) -> list[Problem]:
    pages = entry.data["citation"].get("pages")
    numbers = re.findall(r"\d+", pages or "")
    if len(numbers) == 2 and int(numbers[0]) > int(numbers[1]):
        message = f"pages '{pages}' end before they start"
        return [_problem(entry, ("citation", "pages"), ERROR, message, _full_range_hint(*numbers))]
    return []


def _full_range_hint(first: str, last: str) -> str | None:
    """A range printed the short way (1025-33, as PubMed prints it) in full, as APA references give it.

    >>> _full_range_hint("1025", "33"), _full_range_hint("1025", "8"), _full_range_hint("20", "10")
    ('write the last page in full: 1025-1033', 'write the last page in full: 1025-1028', None)
    """
    if len(last) < len(first):
        full = first[: len(first) - len(last)] + last
        if int(full) > int(first):
            return f"write the last page in full: {first}-{full}"
    return None


def check_dates(entry: LoadedEntry, today: datetime.date) -> list[Problem]:
    data = entry.data
    problems = []
    year = data["citation"].get("year")
    if year is not None and not EARLIEST_YEAR <= year <= today.year + 1:
        problems.append(
            _problem(entry, ("citation", "year"), ERROR, f"year {year} is not plausible", "check the publication year")
        )
    dates = {}
    for key in ("added", "reviewed"):
        if key in data["record"]:
            dates[key], problem = _parse_date(entry, ("record", key), data["record"][key], today)
            problems += [problem] if problem else []
    for index, notice in enumerate(data.get("notices") or []):
        if isinstance(notice, dict) and isinstance(notice.get("date"), str):
            problems += [p for p in [_parse_date(entry, ("notices", index, "date"), notice["date"], today)[1]] if p]
    if dates.get("added") and dates.get("reviewed") and dates["reviewed"] < dates["added"]:
        problems.append(_problem(entry, ("record", "reviewed"), ERROR, "the entry was reviewed before it was added"))
    return problems


def _parse_date(entry: LoadedEntry, keys: tuple, text: str, today: datetime.date):
    try:
        date = datetime.date.fromisoformat(text)
    except ValueError:
        return None, _problem(entry, keys, ERROR, f"'{text}' is not a real date", "write the date as YYYY-MM-DD")
    if date > today + datetime.timedelta(days=1):
        return None, _problem(entry, keys, ERROR, f"{text} is in the future")
    if date.year < EARLIEST_YEAR:
        return None, _problem(entry, keys, ERROR, f"{text} is not plausible")
    return date, None


def check_parent(entry: LoadedEntry, known_ids: set[str], parents: dict[str, str]) -> list[Problem]:
    """`design.parent` given as an id must name another entry, and following parents must never come back."""
    own_id = entry.data["id"]
    parent = parent_id((entry.data.get("design") or {}).get("parent"))
    keys = ("design", "parent")
    if parent is None:
        return []
    if parent == own_id:
        return [_problem(entry, keys, ERROR, "an entry cannot be its own parent")]
    if parent not in known_ids:
        match = process.extractOne(parent, sorted(known_ids - {own_id}), score_cutoff=70)
        hint = f"did you mean '{match[0]}'?" if match else "name the parent trial in words if it has no entry"
        return [_problem(entry, keys, ERROR, f"no entry has the id '{parent}'", hint)]
    chain = [own_id, parent]
    while chain[-1] in parents and chain[-1] != own_id and len(chain) <= len(parents) + 1:
        chain.append(parents[chain[-1]])
    if chain[-1] == own_id:
        return [_problem(entry, keys, ERROR, f"parents form a cycle: {' -> '.join(chain)}")]
    return []


def check_unique_id(entry: LoadedEntry, first_path_of: dict[str, str]) -> list[Problem]:
    """Two files with one id (x.yaml and x.yml): the site would silently keep one of them."""
    entry_id = entry.data.get("id")
    first = first_path_of.get(entry_id)
    if first is None or first == entry.path:
        return []
    message = f"the id '{entry_id}' is also the id of {first}"
    return [_problem(entry, ("id",), ERROR, message, "each study is one file, entries/<id>.yaml: delete or rename one")]


def check_related(entry: LoadedEntry, known_ids: set[str]) -> list[Problem]:
    problems = []
    for index, other in enumerate(entry.data.get("related", [])):
        if other == entry.data["id"]:
            problems.append(_problem(entry, ("related", index), ERROR, "an entry cannot be related to itself"))
        elif other not in known_ids:
            match = process.extractOne(other, sorted(known_ids), score_cutoff=70)
            hint = f"did you mean '{match[0]}'?" if match else "related ids must be ids of entries in entries/"
            problems.append(_problem(entry, ("related", index), ERROR, f"no entry has the id '{other}'", hint))
    return problems
