"""The controlled vocabulary: which tags exist, what they mean, and what people type instead.

Tags are what cross-link the site, so a misspelt or ad-hoc tag silently splits a topic in two. Every tag an
entry uses must be a term of `vocabulary.yml`; a synonym is accepted (with a warning naming the preferred term)
and anything else gets a "did you mean" suggestion.

Example:

    >>> vocabulary = vocabulary_from_dict({"mechanisms": {"label": "Mechanisms", "terms": {
    ...     "self-compassion": {"label": "Self-compassion", "description": "Kindness to oneself.",
    ...                         "synonyms": ["self-kindness"]}}}})
    >>> vocabulary.resolve("mechanisms", "self-kindness").term.slug
    'self-compassion'
    >>> vocabulary.resolve("mechanisms", "self-compasion").suggestion
    'self-compassion'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from kb.identifiers import is_slug
from kb.load import LoadedEntry, load_entry
from kb.model import FACETS
from kb.problems import ERROR, Problem, ProblemError

UNSAFE_LABEL_CHARACTERS = ("<", ">", '"', "`")
LABEL_MAX_CHARS = 200  # a label is a name: it heads a page, a tag chip and a table cell
DESCRIPTION_MAX_CHARS = 1000
SLUG_HINT = "write it like 'self-compassion': lowercase letters, digits and hyphens"


@dataclass(frozen=True)
class Term:
    facet: str
    slug: str
    label: str
    description: str
    synonyms: tuple[str, ...] = ()
    broader: str | None = None


@dataclass(frozen=True)
class Facet:
    slug: str
    label: str
    description: str
    terms: dict[str, Term]


@dataclass(frozen=True)
class Resolution:
    """What a typed tag turned out to be: a term (maybe through a synonym), or nothing and a best guess."""

    term: Term | None
    via_synonym: bool = False
    suggestion: str | None = None


@dataclass
class Vocabulary:
    facets: dict[str, Facet]
    _lookup: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for facet in self.facets.values():
            names = self._lookup.setdefault(facet.slug, {})
            for term in facet.terms.values():
                for name in (*term.synonyms, term.label, term.slug):
                    names[_fold(name)] = term.slug

    def term(self, facet: str, slug: str) -> Term | None:
        found = self.facets.get(facet)
        return found.terms.get(slug) if found else None

    def narrower(self, facet: str, slug: str) -> list[Term]:
        """The terms whose broader term is `slug`, in vocabulary order."""
        return [term for term in self.facets[facet].terms.values() if term.broader == slug]

    def resolve(self, facet: str, value: str) -> Resolution:
        terms = self.facets[facet].terms
        if value in terms:
            return Resolution(terms[value])
        slug = self._lookup[facet].get(_fold(value))
        if slug is not None:
            return Resolution(terms[slug], via_synonym=True)
        return Resolution(None, suggestion=self._suggest(facet, value))

    def closest(self, facet: str, value: str, scorer=fuzz.WRatio, cutoff: float = 75) -> tuple[str, float] | None:
        """The slug of the term with a name (slug, label or synonym) most like `value`, and its score; None when
        no name reaches `cutoff`."""
        names = self._lookup[facet]
        match = process.extractOne(_fold(value), list(names), scorer=scorer, score_cutoff=cutoff)
        return (names[match[0]], match[1]) if match else None

    def _suggest(self, facet: str, value: str) -> str | None:
        found = self.closest(facet, value)
        return found[0] if found else None


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


def load_vocabulary(path: Path | str) -> Vocabulary:
    """Read and check `vocabulary.yml`; raises `ProblemError` on the first thing wrong with it."""
    loaded = load_entry(path)
    problems = check_vocabulary(loaded)
    if problems:
        raise ProblemError(problems[0])
    return vocabulary_from_dict(loaded.data)


def vocabulary_from_dict(data: dict) -> Vocabulary:
    facets = {}
    for facet_slug, facet in data.items():
        terms = {
            slug: Term(
                facet=facet_slug,
                slug=slug,
                label=term["label"],
                description=term.get("description", ""),
                synonyms=tuple(str(s) for s in term.get("synonyms", [])),
                broader=term.get("broader"),
            )
            for slug, term in (facet.get("terms") or {}).items()
        }
        facets[facet_slug] = Facet(facet_slug, facet.get("label", facet_slug), facet.get("description", ""), terms)
    for missing in FACETS:
        facets.setdefault(missing, Facet(missing, missing.capitalize(), "", {}))
    return Vocabulary(facets)


def check_vocabulary(loaded: LoadedEntry) -> list[Problem]:
    """Structural problems in the vocabulary file, each pointing at its line."""
    data = loaded.data

    def problem(keys: tuple, message: str, hint: str | None = None) -> Problem:
        line, col = loaded.locate(keys)
        return Problem(loaded.path, line, col, ERROR, message, hint)

    if not isinstance(data, dict):
        return [problem((), "the vocabulary must be a mapping of facets (mechanisms, substances, ...)")]
    problems = []
    for facet_slug, facet in data.items():
        if facet_slug not in FACETS:
            problems.append(problem((facet_slug,), f"unknown facet '{facet_slug}'", f"facets are {', '.join(FACETS)}"))
            continue
        if not isinstance(facet, dict) or not isinstance(facet.get("terms"), dict):
            problems.append(problem((facet_slug,), f"facet '{facet_slug}' needs a 'terms' mapping"))
            continue
        problems += _check_texts((facet_slug,), facet, f"facet '{facet_slug}'", problem, label_required=False)
        problems += _check_terms(facet_slug, facet["terms"], problem)
        problems += _check_synonyms_unique(facet_slug, facet["terms"], problem)
        problems += _check_broader_cycles(facet_slug, facet["terms"], problem)
    return problems


def _check_texts(keys: tuple, item: dict, what: str, problem, label_required: bool) -> list[Problem]:
    """Labels and descriptions: non-empty plain strings of a sensible length."""
    problems = []
    for name, limit in (("label", LABEL_MAX_CHARS), ("description", DESCRIPTION_MAX_CHARS)):
        if name not in item and not (name == "label" and label_required):
            continue
        value = item.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(problem((*keys, name) if name in item else keys, f"{what} needs a non-empty {name}"))
        elif len(value) > limit:
            message = f"{name} of {what} is {len(value)} characters long (at most {limit})"
            problems.append(problem((*keys, name), message, "a label names a topic; say more in the description"))
    return problems


def _check_synonyms_unique(facet_slug: str, terms: dict, problem) -> list[Problem]:
    """A name (slug, label or synonym) may stand for one term only, or a tag would silently pick one of them."""
    owners: dict[str, str] = {}
    problems = []
    for slug, term in terms.items():
        if not isinstance(term, dict):
            continue
        names = [(("label",), term.get("label")), *((("synonyms", i), s) for i, s in enumerate(_list(term)))]
        for keys, name in [((), slug), *names]:
            if not isinstance(name, str):
                continue
            owner = owners.setdefault(_fold(name), str(slug))
            if owner != slug:
                message = f"'{name}' of '{slug}' already names term '{owner}'"
                problems.append(problem((facet_slug, "terms", slug, *keys), message, "keep it on one term only"))
    return problems


def _list(term: dict) -> list:
    synonyms = term.get("synonyms", [])
    return synonyms if isinstance(synonyms, list) else []


def _check_broader_cycles(facet_slug: str, terms: dict, problem) -> list[Problem]:
    """Broader terms form a hierarchy; a cycle (a under b under a) has no top and no page order."""
    problems = []
    for slug in terms:
        seen = [slug]
        current = _broader(terms, slug)
        while current in terms and current not in seen:
            seen.append(current)
            current = _broader(terms, current)
        if current == slug:
            chain = " -> ".join([*seen, slug])
            problems.append(problem((facet_slug, "terms", slug, "broader"), f"broader terms form a cycle: {chain}"))
    return problems


def _broader(terms: dict, slug: str) -> str | None:
    term = terms.get(slug)
    return term.get("broader") if isinstance(term, dict) else None


def _check_terms(facet_slug: str, terms: dict, problem) -> list[Problem]:
    problems = []
    for slug, term in terms.items():
        keys = (facet_slug, "terms", slug)
        if not is_slug(str(slug)):
            problems.append(problem(keys, f"term '{slug}' is not a lowercase-hyphenated slug", SLUG_HINT))
        elif slug == "index":
            problems.append(problem(keys, "the term slug 'index' is reserved for the facet's own page", SLUG_HINT))
        if not isinstance(term, dict) or not isinstance(term.get("label"), str):
            problems.append(problem(keys, f"term '{slug}' needs a 'label'"))
            continue
        problems += _check_texts(keys, term, f"term '{slug}'", problem, label_required=True)
        if any(char in term["label"] for char in UNSAFE_LABEL_CHARACTERS):
            message = f"label of '{slug}' contains one of {' '.join(UNSAFE_LABEL_CHARACTERS)}"
            problems.append(problem((*keys, "label"), message, "labels become tag chips: write them as plain words"))
        if not isinstance(term.get("synonyms", []), list):
            problems.append(problem((*keys, "synonyms"), "synonyms must be a list"))
        for index, synonym in enumerate(_list(term)):
            if not isinstance(synonym, str) or not synonym.strip():
                problems.append(problem((*keys, "synonyms", index), "a synonym must be a non-empty piece of text"))
        broader = term.get("broader")
        if broader is not None and broader not in terms:
            problems.append(problem((*keys, "broader"), f"broader term '{broader}' is not a term of '{facet_slug}'"))
    return problems
