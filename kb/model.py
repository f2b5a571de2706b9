"""The study record as plain dataclasses, shared by every stage after validation.

Validation turns a checked mapping into a `Study`; later stages (link, references, render) only read these
objects and never go back to the YAML. Field names follow `kb/schema/study.schema.json`.

Example:

    >>> study = study_from_dict({"id": "x-2025-y", "title": "T", "headline": "H",
    ...     "citation": {"type": "article", "authors": [{"family": "X", "given": "Ann"}], "year": 2025},
    ...     "design": {"type": "randomized-controlled-trial"}, "findings": [],
    ...     "substances": ["mdma"], "conditions": ["ptsd"],
    ...     "summary": {"background": "b", "overview": "o", "conclusions": "c"},
    ...     "evidence": {"certainty": "low", "rationale": "r"}, "record": {"added": "2026-01-01"}})
    >>> study.citation.authors[0].family
    'X'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CERTAINTY_ORDER = ["high", "moderate", "low", "very-low"]
FACETS = ["mechanisms", "substances", "conditions", "designs", "settings", "outcomes"]
SMD_METRICS = ("cohen_d", "hedges_g", "smd")  # standardised mean differences: positive favours the intervention
RATIO_METRICS = ("odds_ratio", "risk_ratio", "hazard_ratio")  # 1 means no difference; pooled and plotted as logs
WITHDRAWN_NOTICES = ("retraction", "withdrawal")  # a study with one is flagged on the site and never pooled
COMPARISONS = ["placebo", "active", "waitlist", "usual-care", "dose-comparison", "within-group", "other"]


@dataclass(frozen=True)
class Author:
    family: str | None = None
    given: str | None = None
    suffix: str | None = None
    orcid: str | None = None
    name: str | None = None  # organisation or group author

    @property
    def is_organisation(self) -> bool:
        return self.name is not None


@dataclass(frozen=True)
class Citation:
    type: str
    authors: list[Author]
    title: str
    year: int | None = None
    journal: str | None = None
    publisher: str | None = None
    book_title: str | None = None
    editors: list[Author] = field(default_factory=list)
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    article_number: str | None = None
    doi: str | None = None
    url: str | None = None
    pmid: str | None = None
    thesis_type: str | None = None  # doctoral | masters


@dataclass(frozen=True)
class Arm:
    label: str
    n: int


@dataclass(frozen=True)
class Design:
    type: str
    randomized: bool | None = None
    blinding: str | None = None
    control: str | None = None
    phase: str | None = None
    registration: list[str] = field(default_factory=list)
    duration_weeks: float | None = None
    follow_up: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class Sample:
    n: int | None = None
    population: str | None = None
    arms: list[Arm] = field(default_factory=list)


@dataclass(frozen=True)
class Intervention:
    substance: str
    dose: str | None = None
    sessions: int | None = None
    with_: str | None = None


@dataclass(frozen=True)
class Effect:
    metric: str
    value: float
    ci: tuple[float, float] | None = None
    label: str | None = None
    comparison: str | None = None  # one of COMPARISONS


@dataclass(frozen=True)
class Finding:
    outcome: str
    direction: str
    summary: str
    measure: str | None = None
    domain: str | None = None  # a term of the outcomes facet
    main: bool = False
    effect: Effect | None = None
    p: str | None = None
    timepoint: str | None = None
    source: str | None = None  # where the figures come from: Abstract, Table 2


@dataclass(frozen=True)
class ArmCount:
    """How many people in one arm (a label of `sample.arms`) had an event."""

    arm: str
    n: int


@dataclass(frozen=True)
class Safety:
    summary: str
    serious_adverse_events: list[ArmCount] = field(default_factory=list)
    discontinuations: list[ArmCount] = field(default_factory=list)  # stopped because of adverse events
    common_adverse_events: list[str] = field(default_factory=list)
    source: str | None = None


@dataclass(frozen=True)
class Summary:
    background: str
    overview: str
    conclusions: str
    discussion: str | None = None
    implications: str | None = None


@dataclass(frozen=True)
class Application:
    setting: str
    text: str


@dataclass(frozen=True)
class Evidence:
    certainty: str
    rationale: str


@dataclass(frozen=True)
class Source:
    label: str
    url: str


@dataclass(frozen=True)
class RecordDates:
    added: str
    reviewed: str | None = None
    contributors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    type: str
    doi: str | None = None
    date: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Study:
    id: str
    path: Path
    title: str
    headline: str
    citation: Citation
    design: Design
    sample: Sample
    interventions: list[Intervention]
    findings: list[Finding]
    mechanisms: list[str]
    substances: list[str]
    conditions: list[str]
    summary: Summary
    applications: list[Application]
    limitations: list[str]
    evidence: Evidence
    sources: list[Source]
    record: RecordDates
    related: list[str]
    notices: list[Notice]
    safety: Safety | None = None

    @property
    def settings(self) -> list[str]:
        return list(dict.fromkeys(a.setting for a in self.applications))

    @property
    def main_finding(self) -> Finding:
        return next((f for f in self.findings if f.main), self.findings[0])

    def tags(self, facet: str) -> list[str]:
        """The study's terms in one facet of the vocabulary."""
        if facet == "designs":
            return [self.design.type]
        if facet == "settings":
            return self.settings
        if facet == "outcomes":
            return list(dict.fromkeys(f.domain for f in self.findings if f.domain))
        return list(getattr(self, facet))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def author_from_dict(data: dict) -> Author:
    return Author(
        family=data.get("family"),
        given=data.get("given"),
        suffix=data.get("suffix"),
        orcid=data.get("orcid"),
        name=data.get("name"),
    )


def citation_from_dict(data: dict, title: str) -> Citation:
    return Citation(
        type=data["type"],
        authors=[author_from_dict(a) for a in data["authors"]],
        title=title,
        year=data.get("year"),
        journal=data.get("journal"),
        publisher=data.get("publisher"),
        book_title=data.get("book_title"),
        editors=[author_from_dict(a) for a in data.get("editors", [])],
        volume=_text(data.get("volume")),
        issue=_text(data.get("issue")),
        pages=_text(data.get("pages")),
        article_number=_text(data.get("article_number")),
        doi=data.get("doi"),
        url=data.get("url"),
        pmid=_text(data.get("pmid")),
        thesis_type=data.get("thesis_type"),
    )


def design_from_dict(data: dict) -> Design:
    return Design(
        type=data["type"],
        randomized=data.get("randomized"),
        blinding=data.get("blinding"),
        control=data.get("control"),
        phase=_text(data.get("phase")),
        registration=list(data.get("registration", [])),
        duration_weeks=data.get("duration_weeks"),
        follow_up=data.get("follow_up"),
        parent=data.get("parent"),
    )


def sample_from_dict(data: dict) -> Sample:
    return Sample(
        n=data.get("n"),
        population=data.get("population"),
        arms=[Arm(label=a["label"], n=a["n"]) for a in data.get("arms", [])],
    )


def effect_from_dict(data: dict | None) -> Effect | None:
    if data is None:
        return None
    ci = data.get("ci")
    return Effect(
        metric=data["metric"],
        value=float(data["value"]),
        ci=(float(ci[0]), float(ci[1])) if ci else None,
        label=data.get("label"),
        comparison=data.get("comparison"),
    )


def finding_from_dict(data: dict) -> Finding:
    return Finding(
        outcome=data["outcome"],
        direction=data["direction"],
        summary=data["summary"],
        measure=data.get("measure"),
        domain=data.get("domain"),
        main=bool(data.get("main", False)),
        effect=effect_from_dict(data.get("effect")),
        p=_text(data.get("p")),
        timepoint=data.get("timepoint"),
        source=data.get("source"),
    )


def safety_from_dict(data: dict | None) -> Safety | None:
    if data is None:
        return None

    def counts(key: str) -> list[ArmCount]:
        return [ArmCount(arm=item["arm"], n=item["n"]) for item in data.get(key, [])]

    return Safety(
        summary=data["summary"],
        serious_adverse_events=counts("serious_adverse_events"),
        discontinuations=counts("discontinuations"),
        common_adverse_events=list(data.get("common_adverse_events", [])),
        source=data.get("source"),
    )


def study_from_dict(data: dict, path: Path | str = "") -> Study:
    """Build a `Study` from a mapping that has already passed schema validation."""
    summary = data["summary"]
    record = data["record"]
    return Study(
        id=data["id"],
        path=Path(path),
        title=data["title"],
        headline=data["headline"],
        citation=citation_from_dict(data["citation"], data["title"]),
        design=design_from_dict(data["design"]),
        sample=sample_from_dict(data.get("sample", {})),
        interventions=[
            Intervention(substance=i["substance"], dose=i.get("dose"), sessions=i.get("sessions"), with_=i.get("with"))
            for i in data.get("interventions", [])
        ],
        findings=[finding_from_dict(f) for f in data["findings"]],
        mechanisms=list(data.get("mechanisms", [])),
        substances=list(data["substances"]),
        conditions=list(data["conditions"]),
        summary=Summary(
            background=summary["background"],
            overview=summary["overview"],
            conclusions=summary["conclusions"],
            discussion=summary.get("discussion"),
            implications=summary.get("implications"),
        ),
        applications=[Application(setting=a["setting"], text=a["text"]) for a in data.get("applications", [])],
        limitations=list(data.get("limitations", [])),
        evidence=Evidence(certainty=data["evidence"]["certainty"], rationale=data["evidence"]["rationale"]),
        sources=[Source(label=s["label"], url=s["url"]) for s in data.get("sources", [])],
        record=RecordDates(
            added=record["added"], reviewed=record.get("reviewed"), contributors=list(record.get("contributors", []))
        ),
        related=list(data.get("related", [])),
        notices=[
            Notice(type=n["type"], doi=n.get("doi"), date=n.get("date"), note=n.get("note"))
            for n in data.get("notices", [])
        ],
        safety=safety_from_dict(data.get("safety")),
    )
