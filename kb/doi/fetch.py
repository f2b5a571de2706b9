"""Finding a DOI's metadata: Crossref first, then whichever agency registered it, with a cache in front.

Most DOIs in medicine are Crossref's, and its REST API (`/works/{doi}`) gives the richest record, including
corrections and retractions. When Crossref says 404, its `/works/{doi}/agency` route names the agency that did
register the DOI (DataCite for data sets, preprint servers and many university repositories), and doi.org's
content negotiation returns that agency's metadata as CSL JSON. Either way the result is a `Work`: the DOI, the
agency, and the record as the agency sent it (less the abstract and reference list, which we never use).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from kb.doi.cache import Cache
from kb.doi.client import HttpClient, Settings
from kb.doi.errors import BadResponseError, NotFoundError

CSL_JSON = "application/vnd.citationstyles.csl+json"
AGENCY_LABELS = {
    "crossref": "Crossref",
    "datacite": "DataCite",
    "medra": "mEDRA",
    "jalc": "JaLC",
    "kisti": "KISTI",
    "istic": "ISTIC",
    "cnki": "CNKI",
    "airiti": "Airiti",
    "op": "the Publications Office of the EU",
}
LEFT_OUT = ("abstract", "reference")
# An agency id is a short lowercase word ("datacite"); it is shown in messages and written into the draft's
# comments, so an answer that names anything else is not used.
_AGENCY_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")


@dataclass(frozen=True)
class Work:
    doi: str
    agency: str  # "crossref", or the id of the agency whose CSL JSON doi.org returned
    record: dict  # Crossref's `message`, or a CSL JSON item

    @property
    def source(self) -> str:
        """The agency's name, as messages show it ("Crossref says ...")."""
        return AGENCY_LABELS.get(self.agency, self.agency)

    @property
    def is_crossref(self) -> bool:
        return self.agency == "crossref"


def fetch_work(doi: str, settings: Settings, *, refresh: bool = False, client: HttpClient | None = None) -> Work:
    """The metadata of a normalised DOI, from the cache when fresh, else from Crossref or doi.org."""
    cache = Cache(settings.cache_dir, settings.cache_days)
    key = f"work:{doi}"
    cached = None if refresh else _work_from_cache(cache.get(key))
    if cached is not None:
        return cached
    client = client or HttpClient(settings)
    work = _from_crossref(doi, settings, client) or _from_registration_agency(doi, settings, client)
    cache.put(key, asdict(work))
    return work


def _work_from_cache(value: Any) -> Work | None:
    if not isinstance(value, dict) or not isinstance(value.get("record"), dict):
        return None
    if not isinstance(value.get("doi"), str) or not isinstance(value.get("agency"), str):
        return None
    return Work(doi=value["doi"], agency=value["agency"], record=value["record"])


def _path(doi: str) -> str:
    return quote(doi, safe="/()")


def _from_crossref(doi: str, settings: Settings, client: HttpClient) -> Work | None:
    body = client.get_json(f"{settings.crossref_url}/works/{_path(doi)}", service="Crossref")
    if body is None:
        return None
    message = _message(body, "work", doi)
    if not message.get("DOI") and not message.get("title"):
        raise _shape_error("Crossref", doi, "a work record with neither DOI nor title")
    return Work(doi=doi, agency="crossref", record=_trimmed(message))


def _from_registration_agency(doi: str, settings: Settings, client: HttpClient) -> Work:
    body = client.get_json(f"{settings.crossref_url}/works/{_path(doi)}/agency", service="Crossref")
    if body is None:
        raise NotFoundError(
            f"DOI {doi} is not registered: Crossref and the other DOI agencies do not know it; check it for typos "
            "against the paper"
        )
    agency = _message(body, "work-agency", doi).get("agency")
    agency_id = agency.get("id") if isinstance(agency, dict) else None
    if not isinstance(agency_id, str) or not _AGENCY_ID.fullmatch(agency_id.lower()):
        raise _shape_error("Crossref", doi, "an agency answer without a usable agency id")
    agency_id = agency_id.lower()
    label = AGENCY_LABELS.get(agency_id, agency_id)
    if agency_id == "crossref":
        raise NotFoundError(f"DOI {doi} is registered with Crossref but Crossref has no record of it; try again later")
    record = client.get_json(f"{settings.doi_url}/{_path(doi)}", accept=CSL_JSON, service=f"doi.org ({label})")
    if isinstance(record, list) and len(record) == 1:
        record = record[0]
    if record is None:
        raise NotFoundError(f"DOI {doi} is registered with {label}, but doi.org has no metadata for it; try later")
    if not isinstance(record, dict) or not (record.get("title") or record.get("DOI")):
        raise _shape_error(f"doi.org ({label})", doi, "JSON that is not a CSL record")
    return Work(doi=doi, agency=agency_id, record=_trimmed(record))


def _message(body: Any, kind: str, doi: str) -> dict:
    """The `message` of a Crossref API answer, checking the envelope ({"status": "ok", "message": {...}})."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        raise _shape_error("Crossref", doi, "JSON without a 'message' record")
    if body.get("status", "ok") != "ok" or body.get("message-type", kind) != kind:
        raise _shape_error("Crossref", doi, f"status {body.get('status')!r}, type {body.get('message-type')!r}")
    return body["message"]


def _trimmed(record: dict) -> dict:
    return {key: value for key, value in record.items() if key not in LEFT_OUT}


def _shape_error(service: str, doi: str, what: str) -> BadResponseError:
    return BadResponseError(
        f"{service} answered for DOI {doi} with {what}, not the metadata expected; try again later, and report it "
        "if it persists"
    )
