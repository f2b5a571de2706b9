"""From a study's `Citation` to the field values every citation format shares, and to a pybtex `Entry`.

The Entry carries plain text, not LaTeX: the APA style reads it with `field(..., raw=True)`, and the BibTeX
writer escapes it. An organisation author is one brace-protected last name, as BibTeX writes corporate authors.

Example:

    >>> page_range("1025 - 1033")
    ('1025', '1033')
"""

from __future__ import annotations

import re

from pybtex.database import Entry, Person

from kb.identifiers import strip_doi
from kb.model import Author, Citation

# Our citation types -> BibTeX entry types, used both for formatting and for references.bib.
BIBTEX_TYPES = {
    "article": "article",
    "book": "book",
    "chapter": "incollection",
    "preprint": "misc",
    "report": "techreport",
    "thesis": "thesis",
}
# BibTeX's name for "who published it" depends on the entry type.
PUBLISHER_FIELDS = {"report": "institution", "thesis": "school"}
THESIS_TYPES = {"doctoral": "Doctoral dissertation", "masters": "Master's thesis"}  # APA 7, 10.6
_DASHES = re.compile(r"\s*[-\u2010\u2011\u2012\u2013\u2014]+\s*")


def clean(value: object) -> str | None:
    """A field as one line of text, or None when it is missing or blank (YAML folding leaves newlines)."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def page_range(pages: str | None) -> tuple[str, str | None] | None:
    """First and last page of "1025-1033" (any dash, any spacing); None when there are no pages.

    >>> page_range("1025 – 1033"), page_range("e12"), page_range(None)
    (('1025', '1033'), ('e12', None), None)
    """
    text = clean(pages)
    if text is None:
        return None
    first, _, last = _DASHES.sub("-", text).partition("-")
    return first, (last or None)


def container_title(citation: Citation) -> str | None:
    """The journal an article appeared in, or the book a chapter appeared in."""
    if citation.type == "article":
        return clean(citation.journal)
    if citation.type == "chapter":
        return clean(citation.book_title)
    return None


def publisher(citation: Citation) -> str | None:
    """The publisher, university, institution or (for a preprint) the server it was posted on."""
    if citation.type == "preprint":
        return clean(citation.publisher or citation.journal)
    return clean(citation.publisher)


def doi(citation: Citation) -> str | None:
    """The DOI without any resolver prefix, case kept."""
    return strip_doi(citation.doi) if clean(citation.doi) else None


def flat_fields(citation: Citation) -> dict[str, str | None]:
    """The citation's single-valued fields, for flat tag lists (RIS; the study page's citation_* meta tags).

    An article number stands in for the first page, as publishers' own RIS files do.
    """
    first, last = page_range(citation.pages) or (clean(citation.article_number), None)
    return {
        "title": clean(citation.title),
        "container": container_title(citation),
        "year": clean(citation.year),
        "volume": clean(citation.volume),
        "issue": clean(citation.issue),
        "first_page": first,
        "last_page": last,
        "publisher": publisher(citation),
        "doi": doi(citation),
        "url": clean(citation.url),
        "pmid": clean(citation.pmid),
    }


def _person(author: Author) -> Person:
    """A pybtex Person; an organisation is one brace-protected last name, as BibTeX writes corporate authors."""
    if author.is_organisation:
        person = Person()
        person.last_names = ["{" + (clean(author.name) or "") + "}"]
        return person
    parts = {"first": clean(author.given), "last": clean(author.family), "lineage": clean(author.suffix)}
    return Person(**{part: value for part, value in parts.items() if value})  # pybtex splits even empty parts


def organisation_name(person: Person) -> str | None:
    """The name of an organisation author (see `_person`), or None for a person."""
    last = person.last_names
    if len(last) == 1 and not person.first_names and last[0].startswith("{") and last[0].endswith("}"):
        return last[0][1:-1]
    return None


def to_entry(citation: Citation) -> Entry:
    """The citation as a pybtex Entry with plain (not LaTeX) field values; pages are written "first--last".

    >>> from kb.model import Author, Citation
    >>> entry = to_entry(Citation(type="chapter", title="T", authors=[Author(name="WHO")], pages="3-9"))
    >>> entry.type, entry.fields["pages"], str(entry.persons["author"][0])
    ('incollection', '3--9', '{WHO}')
    """
    pages = page_range(citation.pages)
    fields = {
        "title": clean(citation.title),
        "year": clean(citation.year),
        "journal" if citation.type == "article" else "booktitle": container_title(citation),
        PUBLISHER_FIELDS.get(citation.type, "publisher"): publisher(citation),
        "volume": clean(citation.volume),
        "number": clean(citation.issue),
        "pages": "--".join(p for p in pages if p) if pages else None,
        "eid": clean(citation.article_number),
        "doi": doi(citation),
        "url": clean(citation.url),
        "pmid": clean(citation.pmid),
        "note": "Preprint" if citation.type == "preprint" else None,
        "type": THESIS_TYPES.get(citation.thesis_type) if citation.type == "thesis" else None,
    }
    persons = {"author": [_person(a) for a in citation.authors]}
    if citation.editors:
        persons["editor"] = [_person(a) for a in citation.editors]
    return Entry(
        BIBTEX_TYPES[citation.type],
        fields={name: value for name, value in fields.items() if value},
        persons=persons,
    )
