"""Parsing and normalising identifiers people paste: DOIs, entry ids.

A DOI is case-insensitive, so the knowledge base stores and compares it in lower case, without any
`https://doi.org/` or `doi:` prefix.

Example:

    >>> normalise_doi("  https://doi.org/10.1080/20008066.2025.2485513. ")
    '10.1080/20008066.2025.2485513'
    >>> normalise_doi("not a doi") is None
    True
"""

from __future__ import annotations

import re
import urllib.parse

DOI_PATTERN = re.compile(r"^10\.\d{4,9}/\S+$")
_PREFIXES = re.compile(
    r"^(?:doi(?::\s*|\s+)|https?://(?:dx\.|www\.)?doi\.org/|(?:dx\.|www\.)?doi\.org/)",
    re.IGNORECASE,
)
# Wiley's 1990s SICI DOIs carry angle brackets, e.g. 10.1002/(SICI)1097-4636(199712)37:4<467::AID-JBM4>3.0.CO;2-E;
# they are the only place a DOI may hold '<' or '>'.
_SICI_PART = re.compile(r"<[0-9a-z]*::aid-[0-9a-z.-]+>", re.IGNORECASE)
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/[^\s?#&\"<>]+")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def strip_doi(text: str) -> str:
    """The DOI part of what was pasted: no spaces, prefix or trailing full stop; case kept."""
    value = text.strip()
    value = _PREFIXES.sub("", value).strip()
    if value.startswith(("http://", "https://")):
        return value
    value = urllib.parse.unquote(value) if "%2F" in value.upper() else value
    return value.rstrip(".,;")


def normalise_doi(text: str) -> str | None:
    """The DOI in canonical (lower-case, bare) form, or None when `text` is not a DOI."""
    value = strip_doi(text)
    if not DOI_PATTERN.match(value) or any(c in _SICI_PART.sub("", value) for c in '<>"'):
        return None
    return value.lower()


def doi_in_text(text: str) -> str | None:
    """A DOI inside something that is not one (a publisher's link, a reference), to suggest in a message."""
    match = _DOI_IN_TEXT.search(text)
    return normalise_doi(match.group(0)) if match else None


def is_slug(text: str) -> bool:
    return bool(SLUG_PATTERN.match(text))


def parent_id(value: object) -> str | None:
    """`design.parent` names an entry when it looks like an id (lowercase, digits, hyphens, no spaces); anything
    else is free text naming a trial outside the knowledge base.

    >>> parent_id("mitchell-2021-mdma-ptsd"), parent_id("The MAPP1 trial (Mitchell et al., 2021)")
    ('mitchell-2021-mdma-ptsd', None)
    """
    return value if isinstance(value, str) and is_slug(value) else None
