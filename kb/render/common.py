"""What several pages show the same way: URLs, words for coded values, and one row per study in a table.

Templates get these ready to print: every label is already chosen and every number already formatted here,
so the templates only lay them out (and escape them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.model import CERTAINTY_ORDER, WITHDRAWN_NOTICES, Author, Citation, Study
from kb.references import Reference, format_reference
from kb.vocabulary import Vocabulary

if TYPE_CHECKING:
    from pybtex.database import Entry

BIBTEX_TYPE = "application/x-bibtex"
RIS_TYPE = "application/x-research-info-systems"


DIRECTION_LABELS = {
    "improved": "Improved",
    "worsened": "Worsened",
    "no-difference": "No difference",
    "mixed": "Mixed",
}
CERTAINTY_LABELS = {"high": "High", "moderate": "Moderate", "low": "Low", "very-low": "Very low"}
# GRADE's usual symbols: filled circles for the level of certainty, out of four.
CERTAINTY_SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very-low": "⊕◯◯◯"}
STUDY_FACETS = ["substances", "conditions", "mechanisms", "designs"]  # the facets the study table filters by


def study_url(study_id: str) -> str:
    """Site-relative URL of a study page; pages prefix it with their way back to the site root."""
    return f"studies/{study_id}/"


def term_url(facet: str, slug: str) -> str:
    return f"{facet}/{slug}/"


def number(value: float | int) -> str:
    """A number as the paper gave it: no float noise, no trailing '.0', no thousands of decimals invented."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def certainty_rank(certainty: str) -> int:
    """0 for high, 3 for very low: lower is better, so `min` finds the best."""
    return CERTAINTY_ORDER.index(certainty)


@dataclass(frozen=True)
class TermLink:
    facet: str
    slug: str
    label: str
    url: str


def term_link(vocabulary: Vocabulary, facet: str, slug: str) -> TermLink:
    term = vocabulary.term(facet, slug)
    return TermLink(facet, slug, term.label if term else slug, term_url(facet, slug))


def author_surname(author: Author) -> str:
    return " ".join((author.name or author.family or "").split())


def short_citation(citation: Citation, year_suffix: str = "") -> str:
    """APA in-text form: 'Mitchell et al., 2021', 'Roy & Lee, 2020', 'WHO, n.d.', 'Griffiths et al., 2016a'."""
    names = [author_surname(a) for a in citation.authors]
    if len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} & {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = (
        f"{citation.year}{year_suffix}"
        if citation.year is not None
        else "n.d." + (f"-{year_suffix}" if year_suffix else "")
    )
    return f"{who}, {year}"


@dataclass(frozen=True)
class StudyRow:
    """One study as a line of a table (study table, term pages, matrix lists, related studies)."""

    id: str
    url: str
    headline: str
    cite: str
    year: int | None
    design: TermLink
    n: int | None
    main_outcome: str
    direction: str
    direction_label: str
    certainty: str
    certainty_label: str
    certainty_rank: int
    substances: list[TermLink]
    conditions: list[TermLink]
    mechanisms: list[TermLink]
    retracted: bool

    def slugs(self, facet: str) -> str:
        """Space-separated term slugs, for the study table's data-* filter attributes."""
        links = [self.design] if facet == "designs" else getattr(self, facet)
        return " ".join(link.slug for link in links)


def study_row(study: Study, vocabulary: Vocabulary, year_suffix: str = "") -> StudyRow:
    main = study.main_finding

    def links(facet: str) -> list[TermLink]:
        return [term_link(vocabulary, facet, slug) for slug in study.tags(facet)]

    return StudyRow(
        id=study.id,
        url=study_url(study.id),
        headline=study.headline,
        cite=short_citation(study.citation, year_suffix),
        year=study.citation.year,
        design=term_link(vocabulary, "designs", study.design.type),
        n=study.sample.n,
        main_outcome=main.outcome,
        direction=main.direction,
        direction_label=DIRECTION_LABELS[main.direction],
        certainty=study.evidence.certainty,
        certainty_label=CERTAINTY_LABELS[study.evidence.certainty],
        certainty_rank=certainty_rank(study.evidence.certainty),
        substances=links("substances"),
        conditions=links("conditions"),
        mechanisms=links("mechanisms"),
        retracted=any(n.type in WITHDRAWN_NOTICES for n in study.notices),
    )


class RowCache:
    """Study rows are needed on many pages; build each once. `year_suffixes` (kb.references.year_suffixes) tell
    apart the same authors' works of one year, in the reference and in the in-text citation alike."""

    def __init__(self, vocabulary: Vocabulary, year_suffixes: dict[str, str] | None = None):
        self.vocabulary = vocabulary
        self.year_suffixes = year_suffixes or {}
        self._rows: dict[str, StudyRow] = {}
        self._references: dict[str, Reference] = {}

    def __call__(self, study: Study) -> StudyRow:
        row = self._rows.get(study.id)
        if row is None:
            row = self._rows[study.id] = study_row(study, self.vocabulary, self.year_suffixes.get(study.id, ""))
        return row

    def many(self, studies: list[Study]) -> list[StudyRow]:
        return [self(study) for study in studies]

    def reference(self, study: Study, entry: Entry | None = None) -> Reference:
        """The APA reference (pybtex is slow, and the study page and the bibliography both show it); `entry` is
        the study's pybtex Entry when the caller has made it already."""
        reference = self._references.get(study.id)
        if reference is None:
            suffix = self.year_suffixes.get(study.id, "")
            reference = self._references[study.id] = format_reference(study.citation, entry, suffix)
        return reference

    def remember_references(self, references: dict[str, Reference]) -> None:
        """References formatted elsewhere (by the worker processes that rendered the study pages)."""
        self._references.update(references)
