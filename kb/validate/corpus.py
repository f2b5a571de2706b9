"""Checks across the whole knowledge base: the same work entered twice.

A duplicate shows up as the same DOI (in any case, with or without a prefix) or as a near-identical title.
Comparing every title with every other is quadratic, so titles are first grouped by their rarest shared words
(words that occur in at least two titles, but not in so many that the group grows large): near-identical titles
share most of their words, spelling variants aside, and groups of rare words stay small however large the
knowledge base grows.

Example:

    >>> where = {"doi": (1, 1), "title": (2, 1)}.get
    >>> a = EntryKey("a.yaml", "a", "10.1000/X", "Psilocybin for major depression", where)
    >>> b = EntryKey("b.yaml", "b", "10.1000/x", "Psilocybin for major depresion", where)
    >>> for problem in duplicate_problems([a, b]):
    ...     print(problem.message)
    DOI 10.1000/x is also used by a (a.yaml:1)
    title is nearly identical to a (a.yaml:2): probable duplicate
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from kb.identifiers import normalise_doi
from kb.problems import ERROR, WARNING, Problem

TITLE_SIMILARITY = 93.0
BLOCKING_WORDS = 3  # how many rare words of a title to group it by
MAX_BLOCK = 50  # a word in more titles than this is too common to group by
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class EntryKey:
    """What duplicate detection needs of an entry; `where("doi")` or `where("title")` gives (line, col)
    only when a message needs it, since finding positions means parsing the file again."""

    path: str
    id: str
    doi: str | None
    title: str | None
    where: Callable[[str], tuple[int, int]]


def duplicate_problems(keys: list[EntryKey]) -> list[Problem]:
    """Problems on the later of each pair of entries that share a DOI or a near-identical title."""
    return _duplicate_dois(keys) + _similar_titles(keys)


def _duplicate_dois(keys: list[EntryKey]) -> list[Problem]:
    first_by_doi: dict[str, EntryKey] = {}
    problems = []
    for key in keys:
        doi = normalise_doi(key.doi) if key.doi else None
        if doi is None:
            continue
        first = first_by_doi.setdefault(doi, key)
        if first is not key:
            message = f"DOI {doi} is also used by {first.id} ({first.path}:{first.where('doi')[0]})"
            hint = "each study is entered once; merge the two entries"
            problems.append(Problem(key.path, *key.where("doi"), ERROR, message, hint))
    return problems


def _normal_title(title: str) -> str:
    return " ".join(_WORD.findall(title.casefold()))


def _similar_titles(keys: list[EntryKey]) -> list[Problem]:
    titled = [(key, _normal_title(key.title)) for key in keys if key.title]
    frequency = Counter(word for _, title in titled for word in set(title.split()))
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, (_, title) in enumerate(titled):
        for word in _blocking_words(title, frequency):
            blocks[word].append(index)
    problems, reported = [], set()
    for members in blocks.values():
        for later, earlier in _similar_pairs(members, [titled[index][1] for index in members]):
            if (earlier, later) not in reported:
                reported.add((earlier, later))
                problems.append(_title_problem(titled[later][0], titled[earlier][0]))
    return problems


def _similar_pairs(members: list[int], titles: list[str]) -> Iterator[tuple[int, int]]:
    """(later, earlier) for each pair of a group whose titles are at least TITLE_SIMILARITY alike, in list order.

    rapidfuzz compares one title with all earlier ones in a single call (in C++): a group may hold up to
    MAX_BLOCK titles, and comparing them pair by pair in Python was most of the cost of this check."""
    for position in range(1, len(members)):
        matches = process.extract(
            titles[position], titles[:position], scorer=fuzz.ratio, score_cutoff=TITLE_SIMILARITY, limit=None
        )
        for _, _, earlier in sorted(matches, key=lambda match: match[2]):
            yield members[position], members[earlier]


def _blocking_words(title: str, frequency: Counter) -> list[str]:
    shared = [word for word in set(title.split()) if 2 <= frequency[word] <= MAX_BLOCK]
    return sorted(shared, key=lambda word: (frequency[word], word))[:BLOCKING_WORDS]


def _title_problem(key: EntryKey, first: EntryKey) -> Problem:
    message = f"title is nearly identical to {first.id} ({first.path}:{first.where('title')[0]}): probable duplicate"
    return Problem(
        key.path, *key.where("title"), WARNING, message, "if it is a different study, say so in its headline"
    )
