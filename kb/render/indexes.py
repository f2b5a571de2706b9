"""View models of the pages that gather studies: term pages, facet indexes, the study table, the evidence
matrices, the bibliography and the home page's numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup

from kb.link import Links
from kb.model import CERTAINTY_ORDER, Study
from kb.references import sort_key
from kb.render.common import (
    CERTAINTY_LABELS,
    STUDY_FACETS,
    RowCache,
    StudyRow,
    TermLink,
    certainty_rank,
    study_url,
    term_link,
)
from kb.render.safety import HarmsView, harms_view
from kb.render.synthesis import OutcomeView, term_synthesis
from kb.vocabulary import Term, Vocabulary

# Rows and columns of an evidence matrix: the most-studied terms. A wider grid is unreadable (and at thousands of
# studies, megabytes of mostly empty cells); every term still has its own page and a filter in the study table.
MATRIX_TERMS_LIMIT = 30
RECENT_LIMIT = 5


# --- term pages and facet indexes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TermPage:
    term: Term
    facet_label: str
    broader: TermLink | None
    broader_label: str | None  # shown without a link when the broader term has no studies (so no page)
    narrower: list[tuple[TermLink, int]]
    rows: list[StudyRow]
    participation: str  # "172 participants in 2 trials": each trial counted once (kb.synthesis)
    table_url: str  # the study table filtered to this term
    synthesis: list[OutcomeView]  # the summary of findings, by outcome and comparison
    harms: list[HarmsView]  # on substance pages: every study's reported harms


@dataclass(frozen=True)
class FacetEntry:
    link: TermLink
    description: str
    count: int


@dataclass(frozen=True)
class FacetPage:
    slug: str
    label: str
    description: str
    entries: list[FacetEntry]
    unused: list[Term]  # vocabulary terms no study uses yet


def term_page(facet: str, slug: str, links: Links, vocabulary: Vocabulary, rows: RowCache) -> TermPage:
    term = vocabulary.term(facet, slug)
    in_use = links.by_tag.get(facet, {})
    narrower = [
        (term_link(vocabulary, facet, other.slug), len(in_use[other.slug]))
        for other in vocabulary.narrower(facet, slug)
        if other.slug in in_use
    ]
    studies = links.studies_with(facet, slug)
    return TermPage(
        term=term,
        facet_label=vocabulary.facets[facet].label,
        broader=term_link(vocabulary, facet, term.broader) if term.broader in in_use else None,
        broader_label=vocabulary.term(facet, term.broader).label if term.broader else None,
        narrower=narrower,
        rows=rows.many(studies),
        participation=links.trials.participants(studies).text,
        table_url=table_url({facet: slug}),
        synthesis=term_synthesis(facet, slug, studies, links, vocabulary, rows),
        harms=[harms_view(s, rows) for s in studies if s.safety] if facet == "substances" else [],
    )


def facet_page(facet: str, links: Links, vocabulary: Vocabulary) -> FacetPage:
    info = vocabulary.facets[facet]
    in_use = links.by_tag.get(facet, {})
    entries = [
        FacetEntry(term_link(vocabulary, facet, slug), info.terms[slug].description, len(in_use[slug]))
        for slug in sorted(in_use, key=lambda s: (-len(in_use[s]), info.terms[s].label.casefold()))
    ]
    unused = [term for slug, term in info.terms.items() if slug not in in_use]
    return FacetPage(facet, info.label, info.description, entries, unused)


def table_url(filters: dict[str, str]) -> str:
    """The study table with filters preset (read by docs/javascripts/study-table.js)."""
    return "studies/?" + urlencode(filters)


# --- the study table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterOption:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class Filter:
    name: str  # the data-* attribute and query parameter
    label: str
    options: list[FilterOption]


@dataclass(frozen=True)
class StudyTable:
    rows: list[StudyRow]
    filters: list[Filter]
    years: list[int]


def study_table(links: Links, vocabulary: Vocabulary, rows: RowCache) -> StudyTable:
    filters = []
    for facet in STUDY_FACETS:
        in_use = links.by_tag.get(facet, {})
        options = [
            FilterOption(slug, term_link(vocabulary, facet, slug).label, len(in_use[slug]))
            for slug in sorted(in_use, key=lambda s: term_link(vocabulary, facet, s).label.casefold())
        ]
        filters.append(Filter(facet, vocabulary.facets[facet].label, options))
    counts = defaultdict(int)
    for study in links.studies:
        counts[study.evidence.certainty] += 1
    certainty = [FilterOption(c, CERTAINTY_LABELS[c], counts[c]) for c in CERTAINTY_ORDER if counts[c]]
    filters.append(Filter("certainty", "Certainty", certainty))
    years = sorted({s.citation.year for s in links.studies if s.citation.year is not None})
    return StudyTable(rows.many(links.studies), filters, years)


# --- evidence matrices ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    row: TermLink
    column: TermLink
    count: int
    participants: int  # unique: each trial once
    trials: int
    certainty: str
    certainty_label: str
    table_url: str  # the study table filtered to the cell's two terms: its list of studies


@dataclass(frozen=True)
class Matrix:
    id: str
    title: str
    row_label: str
    column_label: str
    rows: list[TermLink]
    columns: list[TermLink]
    cells: list[list[Cell | None]]
    more_rows: int  # terms in use left out of the grid (see MATRIX_TERMS_LIMIT)
    more_columns: int


def evidence_matrix(row_facet: str, column_facet: str, links: Links, vocabulary: Vocabulary) -> Matrix:
    """Studies per (row term, column term) pair; each study is visited once per pair of its own tags."""
    pairs: dict[tuple[str, str], list[Study]] = defaultdict(list)
    for study in links.studies:
        for row_slug in study.tags(row_facet):
            for column_slug in study.tags(column_facet):
                pairs[row_slug, column_slug].append(study)
    row_terms = _by_count(row_facet, links, vocabulary)
    column_terms = _by_count(column_facet, links, vocabulary)
    shown_rows, shown_columns = row_terms[:MATRIX_TERMS_LIMIT], column_terms[:MATRIX_TERMS_LIMIT]
    cells = [[_cell(pairs.get((r.slug, c.slug)), r, c, links) for c in shown_columns] for r in shown_rows]
    return Matrix(
        id=f"{row_facet}-{column_facet}",
        title=f"{vocabulary.facets[row_facet].label} × {vocabulary.facets[column_facet].label}",
        row_label=vocabulary.facets[row_facet].label,
        column_label=vocabulary.facets[column_facet].label,
        rows=shown_rows,
        columns=shown_columns,
        cells=cells,
        more_rows=len(row_terms) - len(shown_rows),
        more_columns=len(column_terms) - len(shown_columns),
    )


def _by_count(facet: str, links: Links, vocabulary: Vocabulary) -> list[TermLink]:
    in_use = links.by_tag.get(facet, {})
    ordered = sorted(in_use, key=lambda slug: (-len(in_use[slug]), slug))
    return [term_link(vocabulary, facet, slug) for slug in ordered]


def _cell(studies: list[Study] | None, row: TermLink, column: TermLink, links: Links) -> Cell | None:
    if not studies:
        return None
    best = min(certainty_rank(s.evidence.certainty) for s in studies)
    participation = links.trials.participants(studies)
    return Cell(
        row=row,
        column=column,
        count=len(studies),
        participants=participation.participants,
        trials=participation.trials,
        certainty=CERTAINTY_ORDER[best],
        certainty_label=CERTAINTY_LABELS[CERTAINTY_ORDER[best]],
        table_url=table_url({row.facet: row.slug, column.facet: column.slug}),
    )


# --- bibliography and home page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BibliographyItem:
    study_url: str
    html: Markup


@dataclass(frozen=True)
class LetterGroup:
    label: str  # the first letter of the first author's name
    anchor: str
    items: list[BibliographyItem]


def bibliography(links: Links, rows: RowCache) -> list[LetterGroup]:
    """Every reference in APA order (7, 9.44): by first author, then co-authors, then year (n.d. first); grouped
    under the first author's initial so a reader can jump to a name."""
    groups: dict[str, list[BibliographyItem]] = {}
    for study in sorted(links.studies, key=lambda s: (sort_key(s.citation), s.id)):
        first = study.citation.authors[0]
        initial = ((first.name or first.family or "#").lstrip("'’\"(")[:1] or "#").upper()
        initial = initial if initial.isalpha() else "#"
        item = BibliographyItem(study_url(study.id), Markup(rows.reference(study).html))
        groups.setdefault(initial, []).append(item)
    return [  # "#" sorts before every letter; sorted, as a name's sort key may start with the quote its initial skips
        LetterGroup(label, f"letter-{label.lower() if label != '#' else 'other'}", groups[label])
        for label in sorted(groups)
    ]


@dataclass(frozen=True)
class Stats:
    studies: int
    participants: int  # unique: each trial once
    trials: int
    participation: str  # "1,234 participants in 30 trials"
    terms: dict[str, int]  # facet -> terms in use
    recent: list[tuple[StudyRow, str]]  # newest additions with the date added


def stats(links: Links, rows: RowCache) -> Stats:
    recent = sorted(links.studies, key=lambda s: (s.record.added, s.id), reverse=True)[:RECENT_LIMIT]
    participation = links.trials.participants(links.studies)
    return Stats(
        studies=len(links.studies),
        participants=participation.participants,
        trials=participation.trials,
        participation=participation.text,
        terms={facet: len(terms) for facet, terms in links.by_tag.items()},
        recent=[(rows(s), s.record.added) for s in recent],
    )
