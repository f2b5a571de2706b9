"""DOI lookup: draft an entry from a DOI, and check entries against their DOIs' records.

One module per step, plain data in between:

    client.py   HTTP with timeouts, retries, backoff and a polite User-Agent (the only network code in kb)
    cache.py    on-disk cache of looked-up records (KB_CACHE_DIR, default .cache/kb/)
    fetch.py    Crossref /works/{doi}, else /works/{doi}/agency and content negotiation on doi.org -> `Work`
    crossref.py cleaning a Crossref (or CSL JSON) record into a citation in the schema's shape -> `Cited`
    draft.py    the draft YAML entry, its suggested id, and saving it without overwriting
    check.py    `kb check-dois`: citation mismatches and retraction/correction notices

The click commands are in `kb.doi_commands`; `scripts/doi_lookup.py` runs `kb new` on its own.
"""

from __future__ import annotations

from kb.doi.client import HttpClient, Settings
from kb.doi.crossref import Cited, citation_from_work
from kb.doi.errors import DoiError, InputError
from kb.doi.fetch import Work, fetch_work
from kb.identifiers import doi_in_text, normalise_doi
from kb.text import is_hidden, shown

__all__ = ["Cited", "DoiError", "HttpClient", "Settings", "Work", "lookup", "parse_doi"]

# Copied along from PDFs and web pages, unseen: soft hyphens at line breaks, zero-width spaces and joiners.
_PASTE_ARTEFACTS = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def parse_doi(text: str) -> str:
    """The normalised DOI in what was pasted, or an `InputError` saying what a DOI looks like.

    Invisible characters that come along with copied text are dropped; other control or bidi characters are
    refused, since the DOI is written into the draft and shown in messages."""
    text = text.translate(_PASTE_ARTEFACTS)
    hidden = sorted({c for c in text if is_hidden(c) and not c.isspace()})
    if hidden:
        raise InputError(
            f"'{shown(text.strip()[:80])}' holds control or invisible characters ({', '.join(map(shown, hidden))}); "
            "type the DOI again, or paste it from another source"
        )
    doi = normalise_doi(text)
    if doi is not None:
        return doi
    pasted = text.strip() if len(text.strip()) <= 80 else text.strip()[:77] + "..."
    found = doi_in_text(text)
    hint = f"did you mean {found}?" if found else "a DOI looks like 10.1080/20008066.2025.2485513"
    raise InputError(f"'{pasted}' is not a DOI ({hint}); paste the DOI itself, with or without https://doi.org/")


def lookup(
    text: str, settings: Settings, *, refresh: bool = False, client: HttpClient | None = None
) -> tuple[Work, Cited]:
    """The work and its cleaned citation for a pasted DOI; raises `DoiError` with a one-line message."""
    work = fetch_work(parse_doi(text), settings, refresh=refresh, client=client)
    return work, citation_from_work(work)
