"""The machine-readable downloads: the studies as JSON and CSV, and the Atom feed's entries.

`studies.json` holds the records in the shape of `study.schema.json` (so the schema published next to it
describes every item); `studies.csv` is one flat row per study for spreadsheets. Citation formats (BibTeX, RIS,
CSL-JSON) come from `kb.references`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import uuid
from dataclasses import dataclass

from kb.link import Links
from kb.model import FACETS, Study
from kb.render.common import RowCache, study_url

CSV_COLUMNS = [
    "id", "url", "headline", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi",
    "design", "randomized", "blinding", "n", "substances", "conditions", "mechanisms", "settings", "outcomes",
    "main_outcome", "main_direction", "certainty", "notices", "added", "reviewed",
]  # fmt: skip
FEED_LIMIT = 50
# OWASP lists tab and CR too; no cell starts with either, since _cell folds whitespace first
_FORMULA_START = ("=", "+", "-", "@")
_FEED_NAMESPACE = uuid.UUID("9a4c3b4e-6f0b-5d7e-9d0e-3f5a2c1b7e11")  # fixed, so entry ids never change


def study_record(study: Study) -> dict:
    """The study as a record of the JSON Schema (no file path; empty optional values left out)."""
    data = _as_data(study)
    del data["path"]
    del data["citation"]["title"]
    for intervention in data.get("interventions", []):
        if "with_" in intervention:
            intervention["with"] = intervention.pop("with_")
    for finding in data["findings"]:
        if not finding["main"]:
            del finding["main"]
    return data


_EMPTY = (None, [], {})
_field_names: dict[type, tuple[str, ...]] = {}


def _as_data(value):
    """Plain JSON-ready data: dataclasses become dicts, tuples lists, and empty values are left out. Like
    `dataclasses.asdict` without its deep copy of every (immutable) leaf: five times faster, and this runs for
    every field of every study."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is list or kind is tuple:
        return [_as_data(item) for item in value]
    if kind is dict:
        pairs = ((key, _as_data(item)) for key, item in value.items())
        return {key: item for key, item in pairs if item not in _EMPTY}
    names = _field_names.get(kind)
    if names is None and dataclasses.is_dataclass(kind):
        names = _field_names[kind] = tuple(field.name for field in dataclasses.fields(kind))
    if names is None:
        return value
    pairs = ((name, _as_data(getattr(value, name))) for name in names)
    return {name: item for name, item in pairs if item not in _EMPTY}


def json_item(value: object) -> str:
    """One item of a JSON download, encoded on one line."""
    return json.dumps(value, ensure_ascii=False)


def json_list(items: list[str]) -> str:
    """A JSON array of items encoded by `json_item`, one per line: compact at 10,000 studies, and a change to
    one study is a change to one line."""
    return "[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n"


def _authors(study: Study) -> str:
    return "; ".join(a.name or ", ".join(p for p in (a.family, a.given) if p) for a in study.citation.authors)


def _csv_row(study: Study) -> dict:
    citation, design = study.citation, study.design
    row = {
        "id": study.id,
        "url": study_url(study.id),
        "headline": study.headline,
        "title": study.title,
        "authors": _authors(study),
        "year": citation.year,
        "journal": citation.journal or citation.book_title or citation.publisher,
        "volume": citation.volume,
        "issue": citation.issue,
        "pages": citation.pages or citation.article_number,
        "doi": citation.doi,
        "design": design.type,
        "randomized": {True: "yes", False: "no"}.get(design.randomized),
        "blinding": design.blinding,
        "n": study.sample.n,
        **{facet: "; ".join(study.tags(facet)) for facet in FACETS if facet != "designs"},
        "main_outcome": study.main_finding.outcome,
        "main_direction": study.main_finding.direction,
        "certainty": study.evidence.certainty,
        "notices": "; ".join(n.type for n in study.notices),
        "added": study.record.added,
        "reviewed": study.record.reviewed,
    }
    return {key: _cell(value) for key, value in row.items()}


def _cell(value) -> str:
    """One line of text; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    text = " ".join(str(value).split())
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_line(study: Study) -> str:
    """The study's line of studies.csv (rows are made where the study pages are rendered, and joined here)."""
    buffer = io.StringIO()
    _csv_writer(buffer).writerow(_csv_row(study))
    return buffer.getvalue()


def studies_csv(lines: list[str]) -> str:
    """studies.csv: a header line, then one line per study (each from `csv_line`)."""
    buffer = io.StringIO()
    _csv_writer(buffer).writeheader()
    return buffer.getvalue() + "".join(lines)


def _csv_writer(buffer: io.StringIO) -> csv.DictWriter:
    return csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")


@dataclass(frozen=True)
class FeedEntry:
    id: str
    url: str
    title: str
    reference: str
    published: str
    updated: str
    categories: list[str]


@dataclass(frozen=True)
class Feed:
    id: str
    updated: str
    entries: list[FeedEntry]
    base: str = ""  # the site's address ending in "/", or "" when none is configured (links stay relative)


def site_address() -> str:
    """The published site's address from KB_SITE_URL, ending in "/"; "" when it is not set (or not http(s)).

    Only a configured address is ever written: without one the feed's links are relative, which feed readers
    resolve against the address they fetched the feed from (RFC 4287 allows relative references)."""
    address = os.environ.get("KB_SITE_URL", "").strip()
    if not address.lower().startswith(("http://", "https://")) or any(c in address for c in ' "<>\\'):
        return ""
    return address if address.endswith("/") else address + "/"


def feed(links: Links, rows: RowCache, base: str | None = None) -> Feed:
    """The newest additions (by `record.added`), newest first; links absolute under `base` (by default the
    address from KB_SITE_URL), or relative when there is none."""
    base = site_address() if base is None else base
    newest = sorted(links.studies, key=lambda s: (s.record.added, s.id), reverse=True)[:FEED_LIMIT]
    entries = [
        FeedEntry(
            id=f"urn:uuid:{uuid.uuid5(_FEED_NAMESPACE, 'study/' + s.id)}",
            url=base + study_url(s.id),
            title=" ".join(s.headline.split()),
            reference=rows.reference(s).text,
            published=s.record.added,
            updated=max(s.record.added, s.record.reviewed or s.record.added),
            categories=[*s.substances, *s.conditions, *s.mechanisms],
        )
        for s in newest
    ]
    updated = max((e.updated for e in entries), default="1970-01-01")
    return Feed(f"urn:uuid:{uuid.uuid5(_FEED_NAMESPACE, 'feed')}", updated, entries, base)


def synthesis_json(records: list[dict]) -> str:
    """downloads/synthesis.json: a list of every outcome group of every term page (kb.render.synthesis), strict
    JSON (a NaN would make it invalid, so none is allowed through)."""
    return json.dumps(records, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
