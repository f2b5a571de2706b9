"""Turning a Crossref work (or a CSL JSON item from another agency) into a citation in the schema's shape.

What the agencies send needs cleaning before a person should see it: titles arrive as lists, with HTML/JATS
markup (`<i>`, `<sub>`, `<scp>`, `<jats:italic>`), entities and line breaks inside, sometimes with a trailing
full stop; any text may hold control characters, terminal escapes, bidi overrides or zero-width characters
(removed, see `kb.text`; a DOI or URL holding them is not used at all); a date may be `[[2004]]` or
`[[null]]`; an e-locator or `article-number` stands where pages would; authors may lack a given name, be
organisations with only a `name`, and carry ORCIDs as URLs. Crossref's record is itself nearly CSL JSON, so one
set of functions reads both. Abstracts are never read.

Example:

    >>> clean_title(["Effects of <i>Psilocybe</i>\\n cubensis &amp; MDMA."])
    'Effects of Psilocybe cubensis & MDMA'
    >>> year_of({"issued": {"date-parts": [[None]]}, "published-print": {"date-parts": [["2004"]]}})
    (2004, 'published-print')
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from kb.doi.errors import BadResponseError
from kb.doi.fetch import Work
from kb.identifiers import normalise_doi
from kb.text import without_controls

CITATION_TYPES = {
    "journal-article": "article",
    "article-journal": "article",
    "proceedings-article": "article",
    "paper-conference": "article",
    "article-magazine": "article",
    "article-newspaper": "article",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "book-chapter": "chapter",
    "book-section": "chapter",
    "book-part": "chapter",
    "chapter": "chapter",
    "reference-entry": "chapter",
    "entry-encyclopedia": "chapter",
    "entry-dictionary": "chapter",
    "posted-content": "preprint",
    "article": "preprint",  # CSL's "article" is a preprint or working paper
    "report": "report",
    "report-component": "report",
    "report-series": "report",
    "dissertation": "thesis",
    "thesis": "thesis",
}
# Where a date can be found, best first. `created` is when the DOI was registered, years after print for
# digitised back issues, so a year taken from it is flagged for checking.
DATE_KEYS = ("issued", "published", "published-print", "published-online", "posted", "created")
GUESSED_DATE_KEYS = ("created",)

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
# Unicode hyphens (Wiley's "MDMA\u2010assisted") become ASCII ones; soft hyphens and zero-width characters vanish
# with the other invisible characters in `without_controls`.
_HYPHENS = {0x2010: "-", 0x2011: "-"}
_ABBREVIATION_END = re.compile(r"(?:\b[A-Za-z]\.){2,}$|\b(?:al|etc|vs|Inc|Ltd|Co|Jr|Sr|St|spp|sp)\.$")
_DASHES = re.compile(r"\s*(?:[\u2010-\u2015\u2212-]+)\s*")
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.IGNORECASE)
_E_LOCATOR = re.compile(r"^[eE]\d+$")
_URL = re.compile(r"https?://[^\s<>\"]+")
_YEAR = re.compile(r"\b(1[5-9]\d\d|2\d\d\d)\b")


@dataclass(frozen=True)
class Cited:
    """What a work's metadata says about how to cite it."""

    title: str | None
    citation: dict  # keys and value types as in the schema's `citation`; `type` is None when none fits
    kind: str  # the agency's own type, e.g. "journal-article"
    notes: list[str] = field(default_factory=list)  # what a person should check, shown in the draft


def clean_text(value: Any) -> str | None:
    """Plain text from a string or a list of strings: no markup, entities, line breaks, control, bidi or zero-width
    characters (none of which belongs in a citation, and some of which rewrite a terminal that shows them)."""
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str) and item.strip()), None)
    if not isinstance(value, str):
        return None
    text = _TAG.sub("", _BREAK.sub(" ", value))
    text = _TAG.sub("", html.unescape(text))  # a second pass for markup that arrived escaped (&lt;i&gt;)
    text = " ".join(without_controls(text.translate(_HYPHENS)).split())
    return text or None


def clean_title(value: Any, subtitle: Any = None) -> str | None:
    """A title as APA prints it: main title and subtitle joined by a colon, without a trailing full stop."""
    title = clean_text(value)
    extra = clean_text(subtitle)
    if title and extra and extra.casefold() not in title.casefold():
        title = f"{title} {extra}" if title.endswith((":", "?", "!")) else f"{title}: {extra}"
    title = title or extra
    if title and title.endswith(".") and not title.endswith("..") and not _ABBREVIATION_END.search(title):
        title = title[:-1].rstrip()
    return title or None


def normalise_pages(text: str) -> str:
    """One hyphen between first and last page, whatever dash or spacing was used."""
    return _DASHES.sub("-", text.strip())


def year_of(record: dict) -> tuple[int | None, str | None]:
    """The publication year and the key it came from, skipping `[[null]]` and empty dates."""
    for key in DATE_KEYS:
        year = _date_parts(record.get(key))[:1]
        if year:
            return year[0], key
    return None, None


def date_of(value: Any) -> str | None:
    """A Crossref date as YYYY-MM-DD when it has all three parts."""
    parts = _date_parts(value)
    return f"{parts[0]:04d}-{parts[1]:02d}-{parts[2]:02d}" if len(parts) == 3 else None


def _date_parts(value: Any) -> list[int]:
    """[year, month, day] as far as known, from `date-parts` (numbers or digit strings) or a raw date string."""
    if not isinstance(value, dict):
        return []
    rows = value.get("date-parts")
    if isinstance(rows, list) and rows and isinstance(rows[0], list):
        parts = []
        for part in rows[0][:3]:
            if isinstance(part, str) and part.strip().isdigit():
                part = int(part)
            if not isinstance(part, int) or isinstance(part, bool):
                break
            parts.append(part)
        if parts and 1500 <= parts[0] <= 2999:
            return parts
    for key in ("raw", "literal", "date-time"):
        match = _YEAR.search(value[key]) if isinstance(value.get(key), str) else None
        if match:
            return [int(match.group(1))]
    return []


def clean_doi(value: Any) -> str | None:
    """A DOI from a record in canonical form; None when it is not one, or hides characters no DOI has (a DOI may
    hold almost any visible character, so it is refused rather than cleaned into another DOI)."""
    doi = normalise_doi(str(value)) if value is not None else None
    return doi if doi and doi.isprintable() else None


def clean_url(value: Any) -> str | None:
    """An http(s) URL from a record, or None when it is not one or holds spaces, controls or invisible characters."""
    return value if isinstance(value, str) and _URL.fullmatch(value) and value.isprintable() else None


def orcid_of(value: Any) -> str | None:
    """The bare ORCID iD (0000-0002-1825-0097) from a URL or bare form."""
    match = _ORCID.search(value) if isinstance(value, str) else None
    return match.group(1).upper() if match else None


def citation_from_work(work: Work) -> Cited:
    """The citation for a work, in the order the schema lists its keys."""
    record = work.record
    kind = clean_text(record.get("type") if isinstance(record.get("type"), str) else None) or "unknown"
    ours = CITATION_TYPES.get(kind)
    notes = []
    authors = people(record, "author", work)
    year, year_key = year_of(record)
    if year_key in GUESSED_DATE_KEYS:
        notes.append(f"year {year} is when the DOI was registered ({work.source} gives no publication date): check it")
    citation: dict[str, Any] = {"type": ours, "authors": authors}
    if year is not None:
        citation["year"] = year
    citation.update(_container(record, ours, work))
    for key in ("volume", "issue"):
        value = clean_text(_text_field(record, key, work))
        if value:
            citation[key] = value
    pages, number = locator_of(record, work)
    if pages:
        citation["pages"] = pages
    if number:
        citation["article_number"] = number
    citation["doi"] = clean_doi(_text_field(record, "DOI", work)) or work.doi
    url = clean_url(_text_field(record, "URL", work))
    if url:
        citation["url"] = url
    title = clean_title(_title_field(record, "title", work), _title_field(record, "subtitle", work))
    return Cited(title=title, citation=citation, kind=kind, notes=notes)


def people(record: dict, key: str, work: Work) -> list[dict]:
    """Authors or editors as the schema has them: {family, given, suffix, orcid} or {name} for organisations."""
    raw = record.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _shape(work, key, "a list of people")
    result = []
    for person in raw:
        if not isinstance(person, dict):
            raise _shape(work, key, "a list of people")
        cleaned = _person(person)
        if cleaned:
            result.append(cleaned)
    return result


def _person(raw: dict) -> dict | None:
    family, given = clean_text(raw.get("family")), clean_text(raw.get("given"))
    name = clean_text(raw.get("name")) or clean_text(raw.get("literal"))
    if not family and given and not name:
        family, given = given, None  # a single name (mononym) is cited as the family name
    if not family:
        return {"name": name} if name else None
    person = {"family": family}
    if given:
        person["given"] = given
    suffix = clean_text(raw.get("suffix"))
    if suffix:
        person["suffix"] = suffix
    orcid = orcid_of(raw.get("ORCID") or raw.get("orcid"))
    if orcid:
        person["orcid"] = orcid
    return person


def locator_of(record: dict, work: Work) -> tuple[str | None, str | None]:
    """(pages, article number): an `article-number`, or an e-locator such as e33693 in `page`, is an article
    number, which APA 7 prints instead of pages."""
    number = clean_text(_text_field(record, "article-number", work))
    page = clean_text(_text_field(record, "page", work))
    if number:
        return None, number
    if page and _E_LOCATOR.match(page):
        return None, page
    return (normalise_pages(page) if page else None), None


def _container(record: dict, ours: str | None, work: Work) -> dict:
    """Journal for articles; book title, publisher and editors for chapters; publisher (or the preprint server,
    university, institute) for the rest."""
    container = clean_text(_title_field(record, "container-title", work)) or clean_text(
        _title_field(record, "short-container-title", work)
    )
    publisher = clean_text(_text_field(record, "publisher", work))
    institution = _institution(record)
    if ours == "article" or ours is None:
        return {"journal": container} if container else {}
    if ours == "chapter":
        found = {"publisher": publisher, "book_title": container, "editors": people(record, "editor", work)}
        return {key: value for key, value in found.items() if value}
    if ours == "book" and not record.get("author"):
        editors = people(record, "editor", work)
        return {key: value for key, value in {"publisher": publisher, "editors": editors}.items() if value}
    if ours == "preprint":
        source = institution or clean_text(_text_field(record, "group-title", work)) or publisher or container
    elif ours == "thesis":
        source = institution or publisher
    else:
        source = publisher or (container if ours == "report" else None)
    return {"publisher": source} if source else {}


def _institution(record: dict) -> str | None:
    institution = record.get("institution")
    if isinstance(institution, list):
        institution = institution[0] if institution else None
    return clean_text(institution.get("name")) if isinstance(institution, dict) else None


def _text_field(record: dict, key: str, work: Work) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _shape(work, key, "text")


def _title_field(record: dict, key: str, work: Work) -> str | list | None:
    value = record.get(key)
    if value is None or isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise _shape(work, key, "text or a list of texts")


def _shape(work: Work, key: str, expected: str) -> BadResponseError:
    return BadResponseError(
        f"{work.source}'s record for DOI {work.doi} has an unexpected '{key}' (expected {expected}); report it, "
        "and write the citation by hand from entries/_template.yaml meanwhile"
    )
