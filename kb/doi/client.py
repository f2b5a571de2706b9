"""HTTP for the DOI lookup: the only part of kb that touches the network.

Crossref asks API users to identify themselves (a User-Agent with a `mailto:` puts requests in the "polite"
pool), to back off on 429 and 5xx, and not to hammer it. So every request here has a deadline for the whole
answer (headers and body, however slowly the bytes trickle in), a body no larger than a limit, and failures that
may pass (429, 5xx, dropped or refused connections, timeouts) are retried with exponential backoff and jitter,
honouring `Retry-After`, within a bounded number of attempts and a bounded total time. Everything is
configurable from the environment so that tests can point the base URLs at a local server and shrink the waits:

    KB_CROSSREF_URL    https://api.crossref.org     KB_HTTP_TIMEOUT    15   seconds for one whole answer
    KB_DOI_URL         https://doi.org              KB_HTTP_RETRIES    4    retries after the first attempt
    KB_MAILTO          (none)                       KB_HTTP_BACKOFF    1    first wait in seconds, then doubled
    KB_CACHE_DIR       .cache/kb                    KB_HTTP_MAX_WAIT   60   seconds for all attempts together
    KB_CACHE_DAYS      7 (days a record is reused)  KB_HTTP_MAX_BYTES  10485760 (10 MB) largest body accepted
"""

from __future__ import annotations

import email.utils
import functools
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kb import __version__
from kb.doi.errors import BadResponseError, ServiceError, SettingsError

if TYPE_CHECKING:
    import requests

MAX_BODY_BYTES = 10 * 1024 * 1024  # a Crossref work record is 10-200 kB; anything near this is not a record
# Deeper than any record an agency sends (Crossref's go about 8 levels deep), and shallow enough that code
# walking the record recursively (dataclasses.asdict, the cache) stays far from Python's recursion limit.
MAX_JSON_DEPTH = 100
_READ_SIZE = 64 * 1024  # at most this much per read; a read returns whatever has arrived
_EMAIL = re.compile(r"^[^@\s<>()]+@[^@\s<>()]+\.[^@\s<>()]+$")


@dataclass(frozen=True)
class Settings:
    """Where to ask, how patiently, and where to keep answers."""

    crossref_url: str = "https://api.crossref.org"
    doi_url: str = "https://doi.org"
    mailto: str | None = None
    timeout: float = 15.0
    retries: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0
    max_bytes: int = MAX_BODY_BYTES
    cache_dir: Path = Path(".cache/kb")
    cache_days: float = 7.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, mailto: str | None = None, root: Path | None = None):
        """Settings from KB_* variables; `mailto` (from --mailto) wins over KB_MAILTO, and a relative default
        cache folder lies under `root` (the knowledge base)."""
        env = os.environ if environ is None else environ
        cache_dir = Path(env["KB_CACHE_DIR"]) if env.get("KB_CACHE_DIR") else (root or Path(".")) / cls.cache_dir
        return cls(
            crossref_url=_base_url(env, "KB_CROSSREF_URL", cls.crossref_url),
            doi_url=_base_url(env, "KB_DOI_URL", cls.doi_url),
            mailto=_mailto(mailto if mailto is not None else env.get("KB_MAILTO")),
            timeout=_number(env, "KB_HTTP_TIMEOUT", cls.timeout, minimum=0.01),
            retries=int(_number(env, "KB_HTTP_RETRIES", cls.retries, minimum=0, whole=True)),
            backoff=_number(env, "KB_HTTP_BACKOFF", cls.backoff, minimum=0),
            max_wait=_number(env, "KB_HTTP_MAX_WAIT", cls.max_wait, minimum=0.01),
            max_bytes=int(_number(env, "KB_HTTP_MAX_BYTES", cls.max_bytes, minimum=1, whole=True)),
            cache_dir=cache_dir,
            cache_days=_number(env, "KB_CACHE_DAYS", cls.cache_days, minimum=0),
        )

    @property
    def user_agent(self) -> str:
        """kb-evidence/0.1.0 (https://project.home; mailto:you@example.org), as Crossref asks."""
        about = "; ".join(part for part in (_project_url(), self.mailto and f"mailto:{self.mailto}") if part)
        return f"kb-evidence/{__version__}" + (f" ({about})" if about else "")


@functools.lru_cache(maxsize=1)
def _project_url() -> str | None:
    """The project's home page ([project.urls] in pyproject.toml), so the User-Agent says where kb comes from."""
    try:
        from importlib.metadata import metadata

        urls = metadata("kb-evidence").get_all("Project-URL") or []
    except Exception:  # noqa: BLE001 - metadata is a courtesy; a missing install must not break lookups
        urls = []
    for entry in urls:
        _, _, url = entry.partition(", ")
        if url.startswith("https://"):
            return url
    return None


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be a base URL such as {default}, not {value!r}; fix or unset it")
    return value


def _number(env: Mapping[str, str], name: str, default: float, minimum: float, whole: bool = False) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise SettingsError(f"{name} must be {kind}, not {text!r}; fix or unset it") from None
    if value < minimum or value != value or value == float("inf"):
        raise SettingsError(f"{name} must be at least {minimum:g}, not {text!r}; fix or unset it")
    return value


def _mailto(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().removeprefix("mailto:")
    if not _EMAIL.match(value):
        raise SettingsError(f"{value!r} is not an e-mail address; give --mailto (or KB_MAILTO) like you@example.org")
    return value


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class _Retry(Exception):
    """An attempt that failed in a way worth trying again; `reason` ends up in the final message."""

    def __init__(self, reason: str, kind: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.retry_after = retry_after


class HttpClient:
    """GET JSON with timeouts, bounded retries and backoff; `sleep`, `clock` and `jitter` are swappable for tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ):
        import requests  # here, not at the top: it takes a tenth of a second, and most kb commands never need it

        self.settings = settings
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter

    def get_json(self, url: str, *, accept: str = "application/json", service: str = "Crossref") -> Any | None:
        """The parsed JSON body at `url`, or None when the service says 404/410 (it does not know the thing)."""
        answer = self.get(url, accept=accept, service=service)
        if answer.status in (404, 410):
            return None
        if answer.status != 200:
            raise ServiceError(
                f"{service} refused the request (HTTP {answer.status}) for {url}; check the DOI, and report it if "
                "the DOI is right"
            )
        return parse_json(answer, service)

    def get(self, url: str, *, accept: str, service: str) -> Answer:
        """One GET, retried on 429, 5xx, connection errors and timeouts until the attempts or the time run out.

        Each attempt gets KB_HTTP_TIMEOUT, or what is left of KB_HTTP_MAX_WAIT when that is less, and no wait
        starts that would end past KB_HTTP_MAX_WAIT: the whole lookup is over within that time."""
        started = self.clock()
        attempts = 0
        while True:
            remaining = self.settings.max_wait - (self.clock() - started)
            attempts += 1
            try:
                return self._attempt(url, accept, service, min(self.settings.timeout, max(remaining, 0.01)))
            except _Retry as retry:
                failure = retry
            if attempts > self.settings.retries:
                break
            wait = self._wait(attempts - 1, failure.retry_after)
            if self.clock() - started + wait >= self.settings.max_wait:
                break
            self.sleep(wait)
        raise ServiceError(_give_up_message(failure, service, url, attempts, self.settings))

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter (half fixed, half random), never shorter than the server asked."""
        backoff = self.settings.backoff * 2**attempt
        backoff = backoff / 2 + self.jitter() * backoff / 2
        return max(backoff, retry_after or 0.0)

    def _attempt(self, url: str, accept: str, service: str, timeout: float) -> Answer:
        """One request that is over after `timeout` seconds, whatever the server does.

        Socket timeouts bound each read, not the answer: a server that sends a byte a second (in the headers or
        the body) never trips them and would hold `kb new` for hours. So the request runs in a worker thread that
        this one stops waiting for at the deadline; the worker then drops the connection at its next read of the
        body, or when a socket timeout ends its wait for the headers (it is a daemon: it never delays exit)."""
        outcome: dict[str, Any] = {}
        abandoned = threading.Event()

        def work() -> None:
            try:
                outcome["answer"] = self._request(url, accept, service, timeout, abandoned)
            except Exception as error:  # noqa: BLE001 - handed over to the waiting thread, which raises it
                outcome["error"] = error

        worker = threading.Thread(target=work, name="kb-http-request", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            abandoned.set()
            raise _Retry(f"no answer within {timeout:.3g} s", "timeout")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answer"]

    def _request(self, url: str, accept: str, service: str, timeout: float, abandoned: threading.Event) -> Answer:
        """The GET itself, run by `_attempt`'s worker; failures worth another try become `_Retry`."""
        import requests
        import urllib3

        headers = {"User-Agent": self.settings.user_agent, "Accept": accept}
        limit = self.settings.max_bytes
        # urllib3's own errors come from reading the body ourselves (requests wraps them only in iter_content)
        dropped = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError)
        try:
            with self.session.get(url, headers=headers, timeout=(timeout, timeout), stream=True) as response:
                _refuse_declared_size(response.headers, limit, service, url)
                body = _read_body(response.raw, abandoned, limit, service, url)
                status, response_headers = response.status_code, response.headers
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            raise _Retry(f"no answer within {timeout:.3g} s", "timeout") from None
        except dropped as error:
            raise _Retry(_connection_reason(error), "connection") from None
        except requests.RequestException as error:
            raise ServiceError(f"could not request {url}: {error}; check KB_CROSSREF_URL and KB_DOI_URL") from None
        if status == 429:
            raise _Retry("HTTP 429 Too Many Requests", "rate", _retry_after(response_headers))
        if status >= 500:
            raise _Retry(f"HTTP {status}", "server", _retry_after(response_headers))
        return Answer(status, response_headers, body)


def _refuse_declared_size(headers: Mapping[str, str], limit: int, service: str, url: str) -> None:
    """Refuse a body before reading it when its Content-Length already says it is over the limit."""
    try:
        declared = int(headers.get("Content-Length") or "")
    except ValueError:
        return  # absent or garbled: the limit is enforced while reading instead
    if declared > limit:
        raise _too_large(service, url, f"announced {_amount(declared)}, over the limit of {_amount(limit)}")


def _read_body(raw: Any, abandoned: threading.Event, limit: int, service: str, url: str) -> bytes:
    """The body, read as it arrives and counted while it comes, so that an endless body stops at `limit` bytes.

    `read1` returns whatever has arrived (up to _READ_SIZE) instead of waiting for a full buffer, which
    `iter_content` does; so the worker notices within a byte's time that nobody waits for it any more."""
    read = getattr(raw, "read1", None) or raw.read  # urllib3 1.x has no read1
    chunks, size = [], 0
    while not abandoned.is_set():
        chunk = read(_READ_SIZE, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise _too_large(service, url, f"sent more than the limit of {_amount(limit)}")
        chunks.append(chunk)
    raise _Retry("abandoned at the deadline", "timeout")


def _too_large(service: str, url: str, what: str) -> BadResponseError:
    return BadResponseError(
        f"{service} ({urlsplit(url).netloc}) {what} (KB_HTTP_MAX_BYTES); no record is that large, so check "
        "KB_CROSSREF_URL and KB_DOI_URL"
    )


def _amount(size: int) -> str:
    """10 MB for whole mebibytes, else the bytes counted out (1,500 bytes)."""
    mebibyte = 1024 * 1024
    return f"{size // mebibyte} MB" if size >= mebibyte and size % mebibyte == 0 else f"{size:,} bytes"


def _connection_reason(error: Exception) -> str:
    text = str(error).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    if "reset" in text or "aborted" in text or "incomplete" in text or "chunked" in text or "ended" in text:
        return "connection dropped before the answer was complete"
    return "connection failed"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (a number or an HTTP date); None when it did not say.

    Not capped here: a wait longer than the time left makes `HttpClient.get` give up at once instead."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return max(seconds, 0.0)


def _give_up_message(failure: _Retry, service: str, url: str, attempts: int, settings: Settings) -> str:
    host = urlsplit(url).netloc
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    advice = {
        "rate": "wait a few minutes and try again"
        + ("" if settings.mailto else ", with --mailto or KB_MAILTO set to join Crossref's polite pool"),
        "server": f"{service} may be having trouble; try again later",
        "timeout": "the service is slow or stalled; try again later, or raise KB_HTTP_TIMEOUT",
        "connection": "check your internet connection (and KB_CROSSREF_URL / KB_DOI_URL), then try again",
    }[failure.kind]
    if failure.kind == "rate" and failure.retry_after and failure.retry_after > settings.max_wait:
        return (
            f"{service} ({host}) is rate-limiting requests and asked to wait {failure.retry_after:.0f} s, longer "
            f"than KB_HTTP_MAX_WAIT ({settings.max_wait:g} s); {advice}"
        )
    return f"{service} ({host}) failed: {failure.reason} ({tries}); {advice}"


def parse_json(answer: Answer, service: str) -> Any:
    """The body as JSON, telling a truncated body apart from one that is not JSON at all, and refusing JSON nested
    deeper than any record (the parser itself fails past about 1,000 levels, and kb's own code sooner)."""
    try:
        text = answer.body.decode("utf-8-sig")
        value = json.loads(text)
    except UnicodeDecodeError:
        raise BadResponseError(f"{service} sent a body that is not UTF-8 text; try again later") from None
    except RecursionError:
        raise _too_deep(service) from None
    except json.JSONDecodeError as error:
        kind = (answer.headers.get("Content-Type") or "no content type").split(";")[0]
        if _looks_truncated(text, error):
            raise BadResponseError(
                f"{service} sent JSON that breaks off after {len(answer.body):,} bytes (truncated); try again"
            ) from None
        raise BadResponseError(
            f"{service} sent a response that is not JSON ({kind}); the service may be down or its URL wrong "
            "(KB_CROSSREF_URL / KB_DOI_URL): try again later"
        ) from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep(service)
    return value


def _too_deep(service: str) -> BadResponseError:
    return BadResponseError(
        f"{service} sent JSON nested too deep (over {MAX_JSON_DEPTH} levels) to be a record; check KB_CROSSREF_URL "
        "and KB_DOI_URL, and report it if they are right"
    )


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels; walked with a stack, not recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _looks_truncated(text: str, error: json.JSONDecodeError) -> bool:
    """JSON that starts well and stops mid-way: the parser ran off the end, or a string never closed."""
    starts_like_json = text.lstrip()[:1] in ("{", "[")
    return starts_like_json and (error.pos >= len(text.rstrip()) - 1 or error.msg.startswith("Unterminated string"))
