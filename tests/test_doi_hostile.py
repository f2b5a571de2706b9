"""`kb new` and `kb check-dois` against hostile servers, hostile records and hostile entries.

A server may trickle an endless answer a byte at a time, send more than any record could be, or nest JSON
200,000 levels deep; a record (or an entry someone contributed) may carry terminal escapes, bidi overrides and
zero-width characters. Each must end in one clear message within the time allowed, and nothing of the kind may
reach an entry file or the terminal. Wall-clock bounds here are sanity limits, ten times what is expected or more.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import socket
import threading
import time
import unicodedata
from collections.abc import Iterator

import pytest
import yaml
from click.testing import CliRunner
from doi_support import (
    JOR,
    MICE,
    assert_one_line_failure,
    fixture_body,
    fixture_message,
    make_kb,
    run_script,
    serve_message,
    serve_work,
)
from werkzeug import Response

from kb.doi import InputError, Settings, lookup, parse_doi
from kb.doi.client import MAX_BODY_BYTES, Answer, HttpClient, parse_json
from kb.doi.crossref import citation_from_work, clean_text
from kb.doi.draft import make_draft
from kb.doi.errors import BadResponseError, ServiceError, SettingsError
from kb.doi.fetch import Work
from kb.doi_commands import check_dois, new
from kb.load import load_text
from kb.text import shown, without_controls


@pytest.fixture
def kb_root(tmp_path, monkeypatch):
    root = make_kb(tmp_path / "kb")
    monkeypatch.chdir(root)
    return root


def settings(**changes) -> Settings:
    return dataclasses.replace(Settings.from_env(), **changes)


# --- a server that trickles -----------------------------------------------------------------------------


class TrickleServer:
    """A server on 127.0.0.1 that answers each request with `head` at once, then `tail` one byte at a time.

    Bounded whatever the client does: each connection ends after `lifetime` seconds, when the client hangs up,
    or when `stop` is called (by the fixture, at the end of the test)."""

    def __init__(self, head: bytes, tail: bytes = b"", interval: float = 0.05, lifetime: float = 60.0):
        self.head, self.tail, self.interval, self.lifetime = head, tail, interval, lifetime
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, connection: socket.socket) -> None:
        started = time.monotonic()
        with connection:
            connection.settimeout(self.lifetime)
            try:
                self._read_request(connection)
                connection.sendall(self.head)
                for byte in self.tail:
                    if self._stop.wait(self.interval) or time.monotonic() - started > self.lifetime:
                        return
                    connection.sendall(bytes([byte]))
            except OSError:  # the client hung up: that is what it should do
                return

    @staticmethod
    def _read_request(connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            data = connection.recv(4096)
            if not data:
                return
            request += data


@pytest.fixture
def trickle() -> Iterator:
    """Start TrickleServers; all of them stop when the test ends."""
    servers = []

    def start(head: bytes, tail: bytes = b"", **options) -> TrickleServer:
        servers.append(TrickleServer(head, tail, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def json_head(length: int) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()


ENDLESS = b'{"status": "ok", "message": {"title": ["' + b"a" * 200_000  # far more than any test waits for


def test_a_body_trickling_a_byte_at_a_time_ends_at_the_deadline(env, trickle):
    """A byte every 0.05 s never trips a per-read timeout, and `iter_content` would wait for 64 kB (an hour)."""
    server = trickle(json_head(1_000_000), ENDLESS)
    client = HttpClient(settings(timeout=0.5, retries=0, crossref_url=server.url))
    started = time.monotonic()
    with pytest.raises(ServiceError, match=r"no answer within 0\.5 s \(1 attempt\).*raise KB_HTTP_TIMEOUT"):
        client.get_json(f"{server.url}/works/{JOR}")
    assert time.monotonic() - started < 10


def test_headers_trickling_a_byte_at_a_time_end_at_the_deadline(env, trickle):
    server = trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a" * 60_000)
    client = HttpClient(settings(timeout=0.5, retries=0, crossref_url=server.url))
    started = time.monotonic()
    with pytest.raises(ServiceError, match=r"no answer within 0\.5 s"):
        client.get_json(f"{server.url}/works/{JOR}")
    assert time.monotonic() - started < 10


def test_kb_new_against_a_trickling_server_fails_in_one_line_within_the_timeout(env, kb_root, trickle):
    server = trickle(json_head(1_000_000), ENDLESS)
    slow = {**env, "KB_CROSSREF_URL": server.url, "KB_HTTP_TIMEOUT": "0.5", "KB_HTTP_RETRIES": "2"}
    started = time.monotonic()
    result = run_script([JOR, "--write"], slow, kb_root)
    elapsed = time.monotonic() - started
    assert_one_line_failure(result, "no answer within 0.5 s (3 attempts)", "raise KB_HTTP_TIMEOUT")
    assert server.connections == 3
    assert elapsed < 30  # about 1.5 s of attempts and a second to start Python
    assert list((kb_root / "entries").iterdir()) == []


def test_retries_stop_when_kb_http_max_wait_is_spent(env, trickle):
    server = trickle(json_head(1_000_000), ENDLESS)
    client = HttpClient(settings(timeout=0.5, retries=50, backoff=0.01, max_wait=2.0, crossref_url=server.url))
    started = time.monotonic()
    with pytest.raises(ServiceError, match="no answer within"):
        client.get_json(f"{server.url}/works/{JOR}")
    assert time.monotonic() - started < 20
    assert server.connections < 51  # the time ran out long before the attempts


# --- bodies too large -----------------------------------------------------------------------------------


def test_the_size_limit_is_a_setting():
    assert Settings.from_env({}).max_bytes == MAX_BODY_BYTES == 10 * 1024 * 1024
    assert Settings.from_env({"KB_HTTP_MAX_BYTES": "5000"}).max_bytes == 5000
    with pytest.raises(SettingsError, match="KB_HTTP_MAX_BYTES must be a whole number"):
        Settings.from_env({"KB_HTTP_MAX_BYTES": "10MB"})


def test_a_content_length_over_the_limit_is_refused_before_reading(env, trickle):
    server = trickle(json_head(50 * 1024 * 1024), ENDLESS)
    client = HttpClient(settings(timeout=5, crossref_url=server.url))
    started = time.monotonic()
    with pytest.raises(BadResponseError, match=r"announced 50 MB, over the limit of 10 MB \(KB_HTTP_MAX_BYTES\)"):
        client.get_json(f"{server.url}/works/{JOR}")
    assert time.monotonic() - started < 4  # had it read, it would wait the whole 5 s for a trickle
    assert server.connections == 1  # not tried again: it would only come back as large


def endless_chunks(request):
    def body():
        for _ in range(20_000):  # 20 MB at most, so the server stops by itself
            yield b"x" * 1024

    return Response(body(), content_type="application/json")  # chunked: no Content-Length to refuse early


def test_a_body_without_length_stops_at_the_limit_while_reading(httpserver, env):
    httpserver.expect_request(f"/works/{JOR}").respond_with_handler(endless_chunks)
    client = HttpClient(settings(max_bytes=100_000))
    with pytest.raises(BadResponseError, match=r"sent more than the limit of 100,000 bytes \(KB_HTTP_MAX_BYTES\)"):
        client.get_json(httpserver.url_for(f"/works/{JOR}"))
    assert len(httpserver.log) == 1


def test_kb_new_reports_an_oversized_record_in_one_line(httpserver, env, kb_root, monkeypatch):
    serve_work(httpserver, JOR)
    monkeypatch.setenv("KB_HTTP_MAX_BYTES", "1000")
    result = CliRunner().invoke(new, [JOR, "--write"], prog_name="kb new")
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("kb new: error: Crossref (") and "over the limit of 1,000 bytes (KB_HTTP_MAX_BYTES)" in line
    assert list((kb_root / "entries").iterdir()) == []


def test_a_compressed_body_is_unpacked_and_counted_unpacked(httpserver, env):
    """The body is read from the raw stream now, so compression must still be undone (and the limit applies to
    what it unpacks to: a small gzip bomb is still too large)."""
    packed = gzip.compress(fixture_body(JOR))
    httpserver.expect_request(f"/works/{JOR}").respond_with_data(
        packed, content_type="application/json", headers={"Content-Encoding": "gzip"}
    )
    work, _ = lookup(JOR, Settings.from_env())
    assert work.record["DOI"] == JOR
    with pytest.raises(BadResponseError, match="sent more than the limit"):
        HttpClient(settings(max_bytes=len(packed) + 100)).get_json(httpserver.url_for(f"/works/{JOR}"))


# --- JSON nested too deep -------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [200_000, 5_000, 500], ids=["200k", "5k", "500"])
def test_json_nested_too_deep_is_a_clear_bad_response(depth):
    """200,000 levels break json.loads itself; 500 parse, but dataclasses.asdict (the cache) would break on them."""
    body = b'{"status": "ok", "message": {"DOI": "10.1/x", "deep": ' + b"[" * depth + b"]" * depth + b"}}"
    with pytest.raises(BadResponseError, match="sent JSON nested too deep"):
        parse_json(Answer(200, {"Content-Type": "application/json"}, body), "Crossref")


def test_json_as_deep_as_a_real_record_is_fine():
    body = fixture_body(JOR)
    assert parse_json(Answer(200, {}, body), "Crossref")["message"]["DOI"] == JOR
    nested = b"[" * 100 + b"]" * 100
    assert parse_json(Answer(200, {}, nested), "Crossref") is not None


def test_kb_new_reports_deep_json_in_one_line(httpserver, env, kb_root):
    httpserver.expect_request(f"/works/{JOR}").respond_with_data(
        b"[" * 200_000 + b"]" * 200_000, content_type="application/json"
    )
    result = CliRunner().invoke(new, [JOR], prog_name="kb new")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("kb new: error: Crossref sent JSON nested too deep")
    assert len(httpserver.log) == 1


# --- control, escape, bidi and zero-width characters ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Psilocybin\x01 for depression", "Psilocybin for depression"),
        ("\x1b[2J\x1b[1;31mPsilocybin\x1b[0m for depression", "Psilocybin for depression"),
        ("\x1b]0;owned\x07Psilocybin for depression", "Psilocybin for depression"),
        ("Psilocybin for \u202enoisserped", "Psilocybin for noisserped"),
        ("Psilo\u200bcybin\u2066 for\u2069 depression\ufeff", "Psilocybin for depression"),
        ("Psilocybin\u2028for\x85depression", "Psilocybin for depression"),
        ("Psilocybin \ud800for depression", "Psilocybin for depression"),
        ("Psilo&#8203;cybin&#x202E; for&#x2028;depression", "Psilocybin for depression"),
        ("Ørsted’s «MDMA» study — 5 mg · 2×", "Ørsted’s «MDMA» study — 5 mg · 2×"),
    ],
    ids=["control", "csi", "osc", "rlo", "zero-width", "separators", "surrogate", "as-entities", "kept"],
)
def test_clean_text_removes_controls_escapes_bidi_and_zero_width(raw, clean):
    assert clean_text(raw) == clean


def test_what_is_printed_shows_such_characters_escaped():
    assert shown("a\x1b[2Jb\u202ec\u200bd\x00e\u2028f") == "a\\x1b[2Jb\\u202ec\\u200bd\\x00e\\u2028f"
    assert shown("two\nlines\x07", keep_newlines=True) == "two\nlines\\x07"
    assert shown("one\nline") == "one\\nline"
    assert shown("Ørsted’s «MDMA» study") == "Ørsted’s «MDMA» study"
    assert without_controls("a\tb\nc\x1b[0m") == "a b c"


def hidden_characters(text: str) -> set[str]:
    """Characters no draft, entry or terminal line should hold (newlines apart)."""
    return {c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")}


def hostile_jor() -> dict:
    """The recorded Crossref record of JOR, with tricks in every field the draft copies."""
    message = fixture_message(JOR)
    message["title"] = ["\x1b[2J\x1b[H\x1b[31mGrowth hormone\u202e secretagogue increases muscle\u200b strength during "
                        "remobilization after canine hindlimb immobilization\x07"]  # fmt: skip
    message["author"][0]["family"] = "Lie\x01ber\u2066"
    message["author"][0]["given"] = "\x1b]0;owned\x07Richard L."
    message["container-title"] = ["Journal of\u200f Orthopaedic\x00 Research"]
    message["volume"] = "1\x1b[1m5"
    message["page"] = "519\u202e-527"
    message["DOI"] = JOR + "\x1b[2J"
    message["URL"] = f"https://doi.org/{JOR}\u202e"
    message["type"] = "journal-article\n# injected comment\nheadline: injected"
    return message


def test_kb_new_drafts_a_record_with_tricks_as_plain_text(httpserver, env, kb_root):
    serve_message(httpserver, JOR, hostile_jor())
    result = CliRunner().invoke(new, [JOR, "--write"], prog_name="kb new")
    assert result.exit_code == 0, result.output
    text = (kb_root / "entries" / "lieber-1997-growth.yaml").read_text()
    assert hidden_characters(text) == set()
    data = load_text(text, "draft.yaml").data
    assert data["title"] == (
        "Growth hormone secretagogue increases muscle strength during remobilization after canine hindlimb "
        "immobilization"
    )
    assert data["headline"] is None  # the `type` with line breaks stayed inside its comment
    citation = data["citation"]
    assert citation["authors"][0] == {"family": "Lieber", "given": "Richard L."}
    assert citation["journal"] == "Journal of Orthopaedic Research"
    assert (citation["volume"], citation["pages"], citation["doi"]) == ("15", "519-527", JOR)
    assert "url" not in citation  # a URL with hidden characters is not one to keep
    assert citation["type"] is None


def test_kb_new_prints_a_record_with_tricks_without_them(httpserver, env, kb_root):
    serve_message(httpserver, JOR, hostile_jor())
    result = CliRunner().invoke(new, [JOR], prog_name="kb new")
    assert result.exit_code == 0, result.output
    assert hidden_characters(result.stdout) == set() and hidden_characters(result.stderr) == set()
    assert "Growth hormone secretagogue" in result.stdout


def test_a_doi_with_hidden_characters_from_the_record_is_not_kept():
    work = Work(JOR, "crossref", {**fixture_message(JOR), "DOI": "10.1002/JOR\u202e.1100150407"})
    assert citation_from_work(work).citation["doi"] == JOR


def test_a_lone_surrogate_in_a_record_neither_breaks_the_cache_nor_reaches_the_draft(httpserver, env, kb_root):
    body = fixture_body(JOR).replace(b'"publisher": "Wiley"', b'"publisher": "Wiley \\ud800"', 1)
    assert body != fixture_body(JOR)
    serve_work(httpserver, JOR, body)
    work, cited = lookup(JOR, Settings.from_env())
    assert work.record["publisher"] == "Wiley \ud800"
    assert lookup(JOR, Settings.from_env())[0] == work and len(httpserver.log) == 1  # it was cached
    assert hidden_characters(make_draft(work, cited).text) == set()


def test_an_agency_id_with_tricks_is_not_used(httpserver, env):
    doi = "10.5281/zenodo.1234567"
    httpserver.expect_request(f"/works/{doi}").respond_with_data("Resource not found.", status=404)
    agency = {"status": "ok", "message-type": "work-agency", "message": {"agency": {"id": "datacite\nid: x\x1b[2J"}}}
    httpserver.expect_request(f"/works/{doi}/agency").respond_with_json(agency)
    with pytest.raises(BadResponseError, match="without a usable agency id"):
        lookup(doi, Settings.from_env())


def test_pasted_dois_lose_copied_invisibles_and_refuse_controls(kb_root):
    assert parse_doi(f"\u200b{JOR}\u00ad") == JOR
    with pytest.raises(InputError, match=r"control or invisible characters \(\\x1b, \\u202e\)"):
        parse_doi("10.1002/jor\u202e.1100150407\x1b[2J")
    result = CliRunner().invoke(new, ["10.1002/jor\x1b[2J.1100150407"], prog_name="kb new")
    assert result.exit_code == 1 and "\x1b" not in result.stderr
    assert "'10.1002/jor\\x1b[2J.1100150407' holds control or invisible characters" in result.stderr


def test_check_dois_prints_an_entry_and_a_record_with_tricks_escaped(httpserver, env, kb_root):
    """A contributed entry may hold an escape written as YAML's "\\e"; a record may hold them raw."""
    message = fixture_message(JOR)
    message["volume"] = "\x1b[2J16"
    serve_message(httpserver, JOR, message)
    work = Work(JOR, "crossref", fixture_message(JOR))
    text = make_draft(work, citation_from_work(work)).text
    text = text.replace("\ntitle: Growth hormone", '\ntitle: "\\e]0;owned\\aGrowth factor')
    text = text.replace("immobilization\n", 'immobilization"\n', 1)
    text = text.replace("{family: Jacks, given: Thomas M.}", "{family: \u202eJackson, given: Thomas M.}")
    (kb_root / "entries" / "lieber-1997-growth.yaml").write_text(text)
    assert "\x1b" in load_text(text, "x").data["title"]

    result = CliRunner().invoke(check_dois, [], prog_name="kb check-dois")
    assert result.exit_code == 1, result.output
    assert hidden_characters(result.stdout) == set() and hidden_characters(result.stderr) == set()
    lines = result.stdout.splitlines()
    assert any(": title: entry says \\x1b]0;owned\\x07Growth factor" in line for line in lines), lines
    assert any(": authors[1]: entry says \\u202eJackson, Thomas M., Crossref says Jacks" in line for line in lines)
    assert any(line.endswith(": volume: entry says 15, Crossref says 16") for line in lines), lines


def test_notices_from_a_record_with_tricks_are_written_plain(httpserver, env, kb_root):
    message = fixture_message(MICE)
    for update in message["updated-by"]:
        update.update(label="Correc\x1b[2Jtion\u202e", source="retraction\u200b-watch\n", type="correction\x00")
    serve_message(httpserver, MICE, message)
    work = Work(MICE, "crossref", fixture_message(MICE))
    path = kb_root / "entries" / "mice.yaml"
    path.write_text(make_draft(work, citation_from_work(work)).text)

    result = CliRunner().invoke(check_dois, ["--write-notices"], prog_name="kb check-dois")
    assert result.exit_code == 1, result.output
    assert hidden_characters(result.stdout) == set() and hidden_characters(result.stderr) == set()
    assert hidden_characters(path.read_text()) == set()
    [notice] = yaml.safe_load(path.read_text())["notices"]
    assert notice["type"] == "correction"
    assert notice["note"] == "Crossref records a correction of this work (reported by Retraction Watch)"
    assert json.dumps(notice, ensure_ascii=True) == json.dumps(notice)  # nothing outside ASCII either
