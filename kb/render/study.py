"""The view model of a study page: everything `templates/study.md.j2` prints, computed and labelled.

Besides the visible page this builds the page's front matter: the title and description (which Material prints
into <head> without escaping, so the `front_matter` filter escapes them), the tag chips for Material's tags
plugin with the term page each links to, the `citation_*` meta tags that reference managers such as Zotero read,
and schema.org JSON-LD. The meta tags are escaped by the theme override that prints them
(templates/overrides/main.html); the JSON-LD is made safe here to sit inside a <script> element.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from markupsafe import Markup

from kb.identifiers import parent_id
from kb.link import TOPIC_FACETS, Links, RelatedStudy
from kb.model import FACETS, Study
from kb.references import Reference, bibtex_entry, to_entry, to_ris
from kb.references.fields import flat_fields
from kb.render.common import (
    BIBTEX_TYPE,
    CERTAINTY_SYMBOLS,
    DIRECTION_LABELS,
    RIS_TYPE,
    RowCache,
    StudyRow,
    TermLink,
    number,
    study_url,
    term_link,
)
from kb.render.plot import METRIC_LABELS, ForestPlot, effect_text, forest_plots
from kb.render.safety import SafetyView, safety_view
from kb.vocabulary import Vocabulary

BLINDING_LABELS = {
    "open-label": "Open label",
    "single-blind": "Single blind",
    "double-blind": "Double blind",
    "triple-blind": "Triple blind",
    "not-applicable": "Not applicable",
}
NOTICE_LABELS = {
    "retraction": ("Retracted", "danger"),
    "withdrawal": ("Withdrawn", "danger"),
    "correction": ("Corrected", "warning"),
    "expression-of-concern": ("Expression of concern", "warning"),
    "other": ("Notice", "info"),
}
CITATION_META_FIELDS = {
    "container": "citation_journal_title",
    "volume": "citation_volume",
    "issue": "citation_issue",
    "first_page": "citation_firstpage",
    "last_page": "citation_lastpage",
    "doi": "citation_doi",
    "pmid": "citation_pmid",
}
DESCRIPTION_CHARS = 300


@dataclass(frozen=True)
class Row:
    """A labelled line of the design table; `link` is shown before `value` when a term page exists."""

    label: str
    value: str
    link: TermLink | None = None


@dataclass(frozen=True)
class OutcomeRow:
    outcome: str
    measure: str
    timepoint: str
    direction: str
    direction_label: str
    effect: str  # e.g. "Cohen's d 0.91 [0.52, 1.3]", empty when the paper gives no number we recorded
    p: str
    source: str  # where the figures come from (Abstract, Table 2), empty when not recorded


@dataclass(frozen=True)
class NoticeView:
    label: str
    level: str  # admonition class: danger, warning, info
    date: str | None
    note: str | None
    doi_url: str | None


@dataclass(frozen=True)
class TagGroup:
    label: str
    links: list[TermLink]


@dataclass(frozen=True)
class RelatedView:
    row: StudyRow
    explicit: bool
    shared: list[str]  # labels of shared tags, rarest first


@dataclass(frozen=True)
class ApplicationView:
    setting: TermLink
    text: str


@dataclass(frozen=True)
class CiteFile:
    """A "cite this" format, shown on the page and saved as a file by a button (docs/javascripts/cite.js).

    The page carries the text instead of linking a file of its own: at 10,000 studies, 20,000 citation files were
    two thirds of the files generated (and of the files a host must serve), each costing more to create than the
    page it belonged to."""

    format: str  # "BibTeX"
    label: str  # the button's text
    file_name: str
    media_type: str
    element_id: str  # of the <code> element holding the text
    text: str


@dataclass(frozen=True)
class StudyPage:
    study: Study
    root: str
    front_matter: dict
    row: StudyRow
    byline: str
    venue: str
    doi_url: str | None
    paper_url: str | None
    notices: list[NoticeView]
    design_rows: list[Row]
    outcome_rows: list[OutcomeRow]
    plots: list[ForestPlot]
    applications: list[ApplicationView]
    certainty_symbol: str
    reference: Reference
    reference_html: Markup
    bibtex: str
    ris: str
    cite_files: list[CiteFile]
    tag_groups: list[TagGroup]
    related: list[RelatedView]
    safety: SafetyView | None
    children: list[StudyRow]  # secondary analyses and follow-ups naming this entry as their parent


def doi_url(doi: str | None) -> str | None:
    return f"https://doi.org/{doi}" if doi else None


def study_page(study: Study, links: Links, vocabulary: Vocabulary, rows: RowCache) -> StudyPage:
    citation = study.citation
    entry = to_entry(citation)  # one pybtex Entry for both the APA reference and the BibTeX
    reference = rows.reference(study, entry)
    bibtex, ris = bibtex_entry(study.id, entry), to_ris([study])
    return StudyPage(
        study=study,
        root="../../",
        front_matter=front_matter(study, vocabulary),
        row=rows(study),
        byline=", ".join(_author_name(a) for a in citation.authors),
        venue=_venue(study),
        doi_url=doi_url(citation.doi),
        paper_url=citation.url,
        notices=[_notice(n) for n in study.notices],
        design_rows=design_rows(study, vocabulary, links, rows),
        outcome_rows=[_outcome_row(f) for f in study.findings],
        plots=forest_plots(study.findings),
        applications=[
            ApplicationView(term_link(vocabulary, "settings", a.setting), a.text) for a in study.applications
        ],
        certainty_symbol=CERTAINTY_SYMBOLS[study.evidence.certainty],
        reference=reference,
        reference_html=Markup(reference.html),  # kb.references escapes every field and adds only <em> and <a>
        bibtex=bibtex,
        ris=ris,
        cite_files=[
            CiteFile("BibTeX", "Download BibTeX", f"{study.id}.bib", BIBTEX_TYPE, "cite-bibtex", bibtex),
            CiteFile("RIS", "Download RIS (Zotero, EndNote, Mendeley)", f"{study.id}.ris", RIS_TYPE, "cite-ris", ris),
        ],
        tag_groups=_tag_groups(study, vocabulary),
        related=[_related_view(r, rows, vocabulary) for r in links.related_to(study.id)],
        safety=safety_view(study),
        children=rows.many([links.by_id[child] for child in links.trials.children.get(study.id, [])]),
    )


def _parent_entry(study: Study, links: Links) -> str | None:
    parent = parent_id(study.design.parent)
    return parent if parent in links.by_id and parent != study.id else None


def _author_name(author) -> str:
    if author.is_organisation:
        return author.name
    parts = [author.given, author.family]
    name = " ".join(p for p in parts if p)
    return f"{name}, {author.suffix}" if author.suffix else name


def _venue(study: Study) -> str:
    citation = study.citation
    container = citation.journal or citation.book_title or citation.publisher or ""
    year = str(citation.year) if citation.year is not None else "n.d."
    return f"{container} ({year})" if container else year


def _notice(notice) -> NoticeView:
    label, level = NOTICE_LABELS[notice.type]
    return NoticeView(label, level, notice.date, notice.note, doi_url(notice.doi))


def design_rows(study: Study, vocabulary: Vocabulary, links: Links, row_cache: RowCache) -> list[Row]:
    """The 'Study overview' table: only the facts the entry records, in a fixed order."""
    design, sample = study.design, study.sample
    rows = [Row("Design", "", term_link(vocabulary, "designs", design.type))]
    if design.randomized is not None:
        rows.append(Row("Randomised", "Yes" if design.randomized else "No"))
    if design.blinding:
        rows.append(Row("Blinding", BLINDING_LABELS[design.blinding]))
    if design.control:
        rows.append(Row("Control", design.control))
    if design.phase:
        rows.append(Row("Phase", f"Phase {design.phase}"))
    if sample.n is not None or sample.arms:
        arms = ", ".join(f"{arm.label}: {arm.n}" for arm in sample.arms)
        total = str(sample.n) if sample.n is not None else "not reported"
        rows.append(Row("Participants", f"{total} ({arms})" if arms else total))
    if sample.population:
        rows.append(Row("Population", sample.population))
    for intervention in study.interventions:
        details = [
            f"dose: {intervention.dose}" if intervention.dose else "",
            f"{intervention.sessions} session{'s' if intervention.sessions != 1 else ''}"
            if intervention.sessions
            else "",
            f"with: {intervention.with_}" if intervention.with_ else "",
        ]
        value = "; ".join(d for d in details if d)
        rows.append(Row("Intervention", value, term_link(vocabulary, "substances", intervention.substance)))
    if design.duration_weeks is not None:
        rows.append(Row("Duration", f"{number(design.duration_weeks)} weeks"))
    if design.follow_up:
        rows.append(Row("Follow-up", design.follow_up))
    if design.registration:
        rows.append(Row("Registration", ", ".join(design.registration)))
    parent = _parent_entry(study, links)
    if parent:
        parent_study = links.by_id[parent]
        label = f"{row_cache(parent_study).cite}: {parent_study.headline}"
        rows.append(Row("Parent trial", "", TermLink("studies", parent, label, study_url(parent))))
    elif design.parent:
        rows.append(Row("Based on", design.parent))
    return rows


def _outcome_row(finding) -> OutcomeRow:
    effect = finding.effect
    effect_cell = ""
    if effect:
        effect_cell = f"{METRIC_LABELS[effect.metric]} {effect_text(effect.value, effect.ci)}"
        effect_cell += f" ({effect.label})" if effect.label else ""
    return OutcomeRow(
        outcome=finding.outcome,
        measure=finding.measure or "",
        timepoint=finding.timepoint or "",
        direction=finding.direction,
        direction_label=DIRECTION_LABELS[finding.direction],
        effect=effect_cell,
        p=_p_value(finding.p),
        source=finding.source or "",
    )


def _p_value(p: str | None) -> str:
    if p is None:
        return ""
    text = p.strip()
    if text[:1] in "<>=≤≥":
        return f"p {text[0]} {text[1:].strip()}"
    return f"p = {text}"


def _tag_groups(study: Study, vocabulary: Vocabulary) -> list[TagGroup]:
    groups = []
    for facet in FACETS:
        slugs = study.tags(facet)
        if slugs:
            groups.append(TagGroup(vocabulary.facets[facet].label, [term_link(vocabulary, facet, s) for s in slugs]))
    return groups


def _related_view(related: RelatedStudy, rows: RowCache, vocabulary: Vocabulary) -> RelatedView:
    shared = [term_link(vocabulary, facet, slug).label for facet, slug in related.shared]
    return RelatedView(rows(related.study), related.explicit, shared)


# --- <head>: front matter, citation_* meta tags, JSON-LD -----------------------------------------------------


def front_matter(study: Study, vocabulary: Vocabulary) -> dict:
    terms = [term_link(vocabulary, facet, slug) for facet in FACETS for slug in study.tags(facet)]
    return {
        "title": study.headline,
        "description": _shorten(study.summary.overview, DESCRIPTION_CHARS),
        "tags": list(dict.fromkeys(term.label for term in terms)),
        # pairs, not a map keyed by label: YAML refuses a flow-mapping key over 1,024 characters (and the whole
        # front matter with it), and Zensical's template engine has no `.get`
        "tag_links": [[term.label, term.url] for term in terms],
        "citation_meta": [[name, value] for name, value in citation_meta(study)],
        "jsonld": json_ld(study, vocabulary),
    }


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def citation_meta(study: Study) -> list[tuple[str, str]]:
    """Highwire Press `citation_*` tags (Google Scholar, Zotero); values unescaped, the template escapes them."""
    citation = study.citation
    meta = [("citation_title", " ".join(citation.title.split()))]
    for author in citation.authors:
        name = author.name if author.is_organisation else ", ".join(p for p in (author.family, author.given) if p)
        meta.append(("citation_author", " ".join(name.split())))
    fields = flat_fields(citation)
    if fields["year"]:
        meta.append(("citation_publication_date", fields["year"]))
    if citation.type == "chapter" and fields["container"]:
        meta.append(("citation_inbook_title", fields["container"]))
    for field, name in CITATION_META_FIELDS.items():
        if fields.get(field) and not (field == "container" and citation.type != "article"):
            meta.append((name, fields[field]))
    if fields["publisher"]:
        meta.append(("citation_publisher", fields["publisher"]))
    return meta


def json_ld(study: Study, vocabulary: Vocabulary) -> str:
    """schema.org JSON-LD of the page: a MedicalWebPage (the summary) whose `about` and `isBasedOn` is the paper.

    The page is not the paper: its name is the summary's headline and its dates are the summary's (added, last
    reviewed); the paper, with its authors, journal and DOI, is what it is about and based on. What only the site
    knows (its name and address, the page's own URL) is added by templates/overrides/main.html. '<', '>' and '&'
    are written as \\u escapes so no text can end the <script>."""
    headline = " ".join(study.headline.split())
    record = study.record
    paper = _ld_paper(study)
    data: dict = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": headline,
        "headline": headline,
        "description": _shorten(study.summary.overview, DESCRIPTION_CHARS),
        "datePublished": record.added,
        "dateModified": record.reviewed or record.added,
    }
    optional = {
        "lastReviewed": record.reviewed,
        "keywords": [term_link(vocabulary, f, s).label for f in TOPIC_FACETS for s in study.tags(f)],
    }
    data.update((key, value) for key, value in optional.items() if value)
    data.update(about=paper, isBasedOn=paper)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


LD_WORK_TYPES = {"article": "ScholarlyArticle", "book": "Book", "chapter": "Chapter", "thesis": "Thesis"}


def _ld_paper(study: Study) -> dict:
    """The paper the summary is about: its title, authors, date, journal and DOI (identifier and sameAs)."""
    citation = study.citation
    fields = flat_fields(citation)
    paper: dict = {
        "@type": LD_WORK_TYPES.get(citation.type, "ScholarlyArticle"),
        "name": fields["title"],
        "headline": fields["title"],
        "author": [_ld_author(a) for a in citation.authors],
    }
    container = None
    if fields["container"]:
        container = {"@type": "Periodical" if citation.type == "article" else "Book", "name": fields["container"]}
    optional = {
        "datePublished": fields["year"],
        "isPartOf": container,
        "volumeNumber": fields["volume"],
        "issueNumber": fields["issue"],
        "pageStart": fields["first_page"],
        "pageEnd": fields["last_page"],
        "publisher": {"@type": "Organization", "name": fields["publisher"]} if fields["publisher"] else None,
        "identifier": _ld_doi(fields["doi"]),
        "sameAs": doi_url(fields["doi"]) or fields["url"],
    }
    paper.update((key, value) for key, value in optional.items() if value)
    return paper


def _ld_doi(doi: str | None) -> dict | None:
    return {"@type": "PropertyValue", "propertyID": "DOI", "value": doi} if doi else None


def _ld_author(author) -> dict:
    if author.is_organisation:
        return {"@type": "Organization", "name": author.name}
    person = {"@type": "Person", "familyName": author.family, "name": _author_name(author)}
    if author.given:
        person["givenName"] = author.given
    if author.orcid:
        person["sameAs"] = f"https://orcid.org/{author.orcid}"
    return person
