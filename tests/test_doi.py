"""`kb new DOI` / scripts/doi_lookup.py: pasted DOIs, cleaning Crossref records, the draft, and network faults.

Every request goes to a local pytest-httpserver serving the real Crossref responses in tests/fixtures/crossref/
(or fault responses made up here); retry waits are shrunk through KB_HTTP_* settings.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import socket
import time

import pytest
import yaml
from click.testing import CliRunner
from doi_support import (
    CSL_JSON,
    DELPHI,
    ESMO,
    JOR,
    MICE,
    assert_one_line_failure,
    fixture_body,
    fixture_message,
    make_kb,
    run_script,
    serve_work,
)
from pytest_httpserver import HTTPServer
from werkzeug import Response

from kb.doi import InputError, Settings, lookup, parse_doi
from kb.doi.client import HttpClient
from kb.doi.crossref import citation_from_work, clean_title, year_of
from kb.doi.draft import make_draft, suggest_id
from kb.doi.errors import BadResponseError, NotFoundError, ServiceError, SettingsError
from kb.doi.fetch import Work
from kb.doi_commands import new
from kb.load import load_text
from kb.validate.schema import schema_problems


@pytest.fixture
def slow_server():
    """A server of its own for handlers that stall: the shared one answers requests one at a time, so a stalled
    handler would hold up the tests after this one."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def kb_root(tmp_path):
    return make_kb(tmp_path / "kb")


def settings(**changes) -> Settings:
    return dataclasses.replace(Settings.from_env(), **changes)


def crossref_work(doi: str) -> Work:
    return Work(doi=doi, agency="crossref", record=fixture_message(doi))


# --- what people paste ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pasted",
    [
        "10.1080/20008066.2025.2485513",
        "doi:10.1080/20008066.2025.2485513",
        "DOI: 10.1080/20008066.2025.2485513",
        "https://doi.org/10.1080/20008066.2025.2485513",
        "http://dx.doi.org/10.1080/20008066.2025.2485513",
        "  https://doi.org/10.1080/20008066.2025.2485513.  ",
        "10.1080/20008066.2025.2485513.",
    ],
)
def test_pasted_forms_give_the_bare_lowercase_doi(pasted):
    assert parse_doi(pasted) == "10.1080/20008066.2025.2485513"


@pytest.mark.parametrize(
    ("pasted", "hint"),
    [
        ("not a doi", "a DOI looks like 10."),
        ("", "a DOI looks like 10."),
        ("10.10/too-short-prefix", "a DOI looks like 10."),
        ("https://onlinelibrary.wiley.com/doi/10.1002/jor.1100150407", "did you mean 10.1002/jor.1100150407?"),
        ("PMID 34262206", "a DOI looks like 10."),
    ],
)
def test_anything_else_is_refused_with_a_hint(pasted, hint):
    with pytest.raises(InputError) as raised:
        parse_doi(pasted)
    assert hint in str(raised.value)


def test_a_malformed_doi_is_refused_before_any_request(httpserver, env, kb_root):
    result = run_script(["https://example.org/paper/123", "--write"], env, kb_root)
    assert_one_line_failure(result, "is not a DOI")
    assert len(httpserver.log) == 0
    assert list((kb_root / "entries").iterdir()) == []


# --- cleaning what Crossref sends -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (["Psilocybin for depression"], "Psilocybin for depression"),
        (["", "Second of two titles"], "Second of two titles"),
        ("Effects of <i>Psilocybe cubensis</i> on mice.", "Effects of Psilocybe cubensis on mice"),
        ("CO<sub>2</sub> and H<sup>+</sup> in <scp>MDMA</scp> users", "CO2 and H+ in MDMA users"),
        ("<jats:title>A <jats:italic>JATS</jats:italic> title</jats:title>", "A JATS title"),
        ("Anxiety &amp; depression:\n   a   trial", "Anxiety & depression: a trial"),
        ("Escaped &lt;i&gt;markup&lt;/i&gt; too", "Escaped markup too"),
        ("Effects at p &lt; 0.05 and n &gt; 3", "Effects at p < 0.05 and n > 3"),
        ("Self\u00adcompassion\u200b scale", "Selfcompassion scale"),
        ("<scp>MDMA</scp>\u2010assisted therapy\u2009for PTSD", "MDMA-assisted therapy for PTSD"),
        ("Ketamine in the U.S.", "Ketamine in the U.S."),
        ("What comes next...", "What comes next..."),
    ],
)
def test_titles_lose_markup_entities_newlines_and_the_full_stop(raw, clean):
    assert clean_title(raw) == clean
    assert "<" not in clean_title(raw).replace("p < 0.05", "")


def test_a_subtitle_is_joined_with_a_colon():
    assert clean_title(["MDMA for PTSD"], ["a randomized trial"]) == "MDMA for PTSD: a randomized trial"
    assert clean_title(["Does it work?"], ["A review"]) == "Does it work? A review"
    assert clean_title(["MDMA for PTSD: a trial"], ["A trial"]) == "MDMA for PTSD: a trial"


@pytest.mark.parametrize(
    ("record", "year", "key"),
    [
        ({"issued": {"date-parts": [[2004]]}}, 2004, "issued"),
        ({"issued": {"date-parts": [[None]]}, "published-print": {"date-parts": [[2004, 3]]}}, 2004, "published-print"),
        (
            {"issued": {"date-parts": [[]]}, "published-online": {"date-parts": [["2019", "5"]]}},
            2019,
            "published-online",
        ),
        ({"issued": {"date-parts": [[None]]}, "created": {"date-parts": [[2005, 2, 24]]}}, 2005, "created"),
        ({"issued": {"raw": "2019-10-01"}}, 2019, "issued"),
        ({"issued": {"date-parts": [[None]]}}, None, None),
        ({}, None, None),
    ],
)
def test_years_come_from_the_best_date_that_has_one(record, year, key):
    assert year_of(record) == (year, key)


def test_real_records_become_citations():
    lieber = citation_from_work(crossref_work(JOR))
    assert lieber.title.startswith("Growth hormone secretagogue increases muscle strength")
    assert lieber.citation["authors"][0] == {"family": "Lieber", "given": "Richard L."}
    assert {"family": "Hora", "given": "Donald", "suffix": "Jr."} in lieber.citation["authors"]
    assert len(lieber.citation["authors"]) == 12
    # issued 1997-07 in print; the later online date (2005) and record creation must not win
    assert (lieber.citation["year"], lieber.citation["journal"]) == (1997, "Journal of Orthopaedic Research")
    assert (lieber.citation["volume"], lieber.citation["issue"], lieber.citation["pages"]) == ("15", "4", "519-527")
    assert "article_number" not in lieber.citation

    iwasa = citation_from_work(crossref_work(ESMO))
    assert iwasa.citation["authors"][0] == {"family": "Iwasa", "given": "Satoru", "orcid": "0000-0003-3863-9582"}
    assert iwasa.citation["article_number"] == "e000776" and "pages" not in iwasa.citation
    assert (iwasa.citation["year"], iwasa.citation["journal"]) == (2020, "ESMO Open")

    delphi = citation_from_work(crossref_work(DELPHI))
    assert delphi.title == (
        "Using and Reporting the Delphi Method for Selecting Healthcare Quality Indicators: A Systematic Review"
    )
    # PLoS's e-locator stands where pages would, and is an article number in APA 7
    assert delphi.citation["article_number"] == "e20476" and "pages" not in delphi.citation
    assert delphi.citation["doi"] == DELPHI and delphi.citation["url"] == f"https://doi.org/{DELPHI}"
    assert "editors" not in delphi.citation  # PLoS's academic editor is not part of the citation


def test_awkward_records_are_cleaned():
    record = {
        "type": "journal-article",
        "title": ["The <i>MDMA</i>-assisted therapy\n trial."],
        "author": [
            {"given": "Ann", "family": "Ørsted", "ORCID": "http://orcid.org/0000-0002-1825-009x"},
            {"family": "Nogiven", "sequence": "additional"},
            {"name": "MAPP2 Study Collaborators", "sequence": "additional"},
            {"given": "Sukarno"},
            {"affiliation": []},
        ],
        "issued": {"date-parts": [[None]]},
        "published-online": {"date-parts": [[2023, 9, 14]]},
        "container-title": [],
        "short-container-title": ["Nat Med"],
        "article-number": "5",
        "page": "2473-2480",
        "volume": 29,
        "DOI": "10.1038/S41591-023-02565-4",
        "abstract": "<jats:p>Publisher text that must never be copied.</jats:p>",
    }
    cited = citation_from_work(Work("10.1038/s41591-023-02565-4", "crossref", record))
    assert cited.title == "The MDMA-assisted therapy trial"
    assert cited.citation["authors"] == [
        {"family": "Ørsted", "given": "Ann", "orcid": "0000-0002-1825-009X"},
        {"family": "Nogiven"},
        {"name": "MAPP2 Study Collaborators"},
        {"family": "Sukarno"},
    ]
    assert cited.citation["year"] == 2023 and cited.citation["journal"] == "Nat Med"
    assert cited.citation["volume"] == "29" and cited.citation["article_number"] == "5"
    assert "pages" not in cited.citation and cited.citation["doi"] == "10.1038/s41591-023-02565-4"


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("book-chapter", {"container-title": ["Handbook"], "publisher": "Springer"}, {"type": "chapter"}),
        ("posted-content", {"institution": [{"name": "PsyArXiv"}], "publisher": "Center for Open Science"}, {}),
        ("dissertation", {"institution": [{"name": "University of Oslo"}]}, {"publisher": "University of Oslo"}),
        ("dataset", {"container-title": ["Zenodo"]}, {"type": None}),
    ],
)
def test_types_map_to_the_schema(kind, extra, expected):
    record = {"type": kind, "title": ["T"], "author": [{"family": "A", "given": "B"}], **extra}
    citation = citation_from_work(Work("10.1/x", "crossref", record)).citation
    if kind == "book-chapter":
        assert (citation["book_title"], citation["publisher"]) == ("Handbook", "Springer")
    if kind == "posted-content":
        assert (citation["type"], citation["publisher"]) == ("preprint", "PsyArXiv")
    for key, value in expected.items():
        assert citation[key] == value


@pytest.mark.parametrize(
    ("authors", "year", "title", "expected"),
    [
        (
            [{"family": "Agin-Liebes"}],
            2025,
            "Self-compassion mediates treatment effects",
            "agin-liebes-2025-self-compassion",
        ),
        ([{"family": "Müller Łęcka"}], 2020, "The effects of psilocybin", "muller-lecka-2020-psilocybin"),
        ([{"family": "Iwasa"}], 2020, "Phase II study of lenvatinib for cancer", "iwasa-2020-lenvatinib"),
        ([{"name": "World Health Organization"}], None, "A new report", "world-health-organization-nd"),
        ([], 2001, "", "anonymous-2001"),
    ],
)
def test_suggested_ids(authors, year, title, expected):
    assert suggest_id(authors, year, title) == expected


# --- the draft ------------------------------------------------------------------------------------------


def test_the_draft_has_the_schema_line_id_citation_and_no_abstract():
    work = crossref_work(JOR)
    draft = make_draft(work, citation_from_work(work), today=datetime.date(2026, 6, 1))
    lines = draft.text.splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../kb/schema/study.schema.json"
    data = load_text(draft.text, "draft.yaml").data
    assert data["id"] == draft.id == "lieber-1997-growth"
    assert data["title"] == citation_from_work(work).title
    assert data["citation"]["pages"] == "519-527" and data["citation"]["volume"] == "15"
    assert data["record"]["added"] == "2026-06-01"
    assert "Twenty" not in draft.text and "beagles" not in draft.text  # the abstract's words
    assert "TODO" in draft.text


@pytest.mark.parametrize(
    "doi, expected",
    [
        (
            DELPHI,
            "Using and reporting the Delphi method for selecting healthcare quality indicators: A systematic review",
        ),
        (
            MICE,
            "Methylphenidate exposure induces dopamine neuron loss and activation of microglia in the basal ganglia"
            " of mice",
        ),
    ],
)
def test_a_title_case_title_is_drafted_in_sentence_case(doi, expected):
    """Crossref sends these titles in Title Case; APA references want sentence case. 'Delphi' is a name the
    proposal cannot know, so the draft tells the reviewer to put names back."""
    work = crossref_work(doi)
    draft = make_draft(work, citation_from_work(work), today=datetime.date(2026, 6, 1))
    data = load_text(draft.text, "draft.yaml").data
    assert data["title"].replace("delphi", "Delphi") == expected
    assert "# CHECK: the title was in Title Case and is drafted in sentence case: put back proper names" in draft.text


def test_a_sentence_case_title_is_drafted_as_it_is():
    work = crossref_work(ESMO)
    draft = make_draft(work, citation_from_work(work), today=datetime.date(2026, 6, 1))
    assert load_text(draft.text, "draft.yaml").data["title"] == citation_from_work(work).title
    assert "Title Case" not in draft.text


FILLED = {
    "headline": "Plain headline",
    "design": {"type": "randomized-controlled-trial"},
    "sample": {"n": 22, "population": "Beagles"},
    "interventions": [{"substance": "mdma"}],
    "findings": [{"outcome": "Strength", "measure": "Torque", "direction": "improved", "summary": "Stronger."}],
    "substances": ["mdma"],
    "conditions": ["ptsd"],
    "summary": {key: "Text." for key in ("background", "overview", "discussion", "implications", "conclusions")},
    "applications": [{"setting": "research", "text": "Text."}],
    "limitations": ["Small sample."],
    "evidence": {"certainty": "low", "rationale": "Small."},
}


@pytest.mark.parametrize("doi", [JOR, ESMO, DELPHI, MICE])
def test_the_draft_fails_the_schema_until_every_todo_is_filled(doi):
    work = crossref_work(doi)
    entry = load_text(make_draft(work, citation_from_work(work)).text, "draft.yaml")
    problems = schema_problems(entry)
    todo_lines = {
        i for i, line in enumerate(entry.text.splitlines(), 1) if re.search(r":\s*(null|\[\])\s+# TODO", line)
    }
    todo_lines |= {i for i, line in enumerate(entry.text.splitlines(), 1) if re.match(r"\s*- null\s+# TODO", line)}
    assert {p.line for p in problems} == todo_lines, [p.format() for p in problems]
    assert all(p.is_error for p in problems)
    filled = {**entry.data, **FILLED}
    assert schema_problems(load_text(yaml.safe_dump(filled, sort_keys=False), "filled.yaml")) == []


def test_kb_validate_rejects_the_saved_draft(httpserver, env, kb_root):
    serve_work(httpserver, ESMO)
    written = run_script([ESMO, "--write"], env, kb_root)
    assert written.returncode == 0, written.stderr
    path = kb_root / "entries" / "iwasa-2020-lenvatinib.yaml"
    validated = run_script_kb_validate(env, kb_root, path)
    assert validated.returncode == 1
    assert "Traceback" not in validated.stderr
    text_lines = path.read_text().splitlines()
    reported = {int(line.split(":")[1]) for line in validated.stdout.splitlines() if ": error: " in line}
    assert any("headline" in text_lines[n - 1] for n in reported)
    assert any("substances" in text_lines[n - 1] for n in reported)


def run_script_kb_validate(env, kb_root, path):
    from doi_support import run_kb

    return run_kb(["-C", str(kb_root), "validate", str(path)], env, kb_root)


# --- the network ----------------------------------------------------------------------------------------


def test_lookup_sends_a_polite_user_agent_and_a_second_lookup_makes_no_request(httpserver, env):
    serve_work(httpserver, JOR)
    work, cited = lookup(f"https://doi.org/{JOR.upper()}", Settings.from_env())
    assert cited.citation["year"] == 1997 and work.source == "Crossref"
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    assert request.path == f"/works/{JOR}"
    assert re.match(r"kb-evidence/\S+ \((https://\S+; )?mailto:tests@example\.org\)$", request.headers["User-Agent"])

    again, _ = lookup(JOR, Settings.from_env())
    assert again == work and len(httpserver.log) == 1
    cached = "".join(p.read_text() for p in (env and Settings.from_env().cache_dir).rglob("*.json"))
    assert "beagles" not in cached  # the abstract is not kept either

    lookup(JOR, Settings.from_env(), refresh=True)
    assert len(httpserver.log) == 2


def test_mailto_option_wins_over_the_environment_and_is_checked():
    assert Settings.from_env({"KB_MAILTO": "a@b.org"}, mailto="me@c.org").user_agent.endswith("mailto:me@c.org)")
    assert "mailto" not in Settings.from_env({}).user_agent
    with pytest.raises(SettingsError, match="not an e-mail address"):
        Settings.from_env({}, mailto="me at example")


@pytest.mark.parametrize(
    ("name", "value"),
    [("KB_HTTP_RETRIES", "many"), ("KB_HTTP_TIMEOUT", "-1"), ("KB_CROSSREF_URL", "api.crossref.org")],
)
def test_bad_settings_are_named(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_unknown_at_crossref_falls_back_to_datacite_content_negotiation(httpserver, env):
    doi = "10.5281/zenodo.1234567"
    httpserver.expect_request(f"/works/{doi}").respond_with_data("Resource not found.", status=404)
    agency = {"status": "ok", "message-type": "work-agency", "message": {"DOI": doi, "agency": {"id": "datacite"}}}
    httpserver.expect_request(f"/works/{doi}/agency").respond_with_json(agency)
    csl = {
        "type": "article",
        "id": f"https://doi.org/{doi}",
        "DOI": doi,
        "title": "Psilocybin and\n<i>nature</i> relatedness.",
        "author": [{"family": "Smith", "given": "Jo"}, {"literal": "The Psychedelic Study Group"}],
        "issued": {"date-parts": [[2021, 4]]},
        "publisher": "Zenodo",
        "abstract": "Never copied.",
    }
    httpserver.expect_request(f"/doiorg/{doi}", headers={"Accept": CSL_JSON}).respond_with_json(csl)
    work, cited = lookup(doi, Settings.from_env())
    assert work.source == "DataCite"
    assert cited.title == "Psilocybin and nature relatedness"
    assert cited.citation["authors"] == [{"family": "Smith", "given": "Jo"}, {"name": "The Psychedelic Study Group"}]
    assert (cited.citation["type"], cited.citation["year"], cited.citation["publisher"]) == ("preprint", 2021, "Zenodo")
    assert "Never copied" not in make_draft(work, cited).text
    assert len(httpserver.log) == 3
    lookup(doi, Settings.from_env())
    assert len(httpserver.log) == 3  # the fallback answer is cached too


def test_unknown_everywhere_is_not_found(httpserver, env):
    doi = "10.9999/does-not-exist"
    httpserver.expect_request(f"/works/{doi}").respond_with_data("Resource not found.", status=404)
    httpserver.expect_request(f"/works/{doi}/agency").respond_with_data("Resource not found.", status=404)
    with pytest.raises(NotFoundError, match="is not registered.*check it for typos"):
        lookup(doi, Settings.from_env())


class Sleeps(list):
    """Records the waits the client asks for instead of sleeping (no test waits for real backoff)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_429_with_retry_after_is_honoured_then_succeeds(httpserver, env):
    httpserver.expect_oneshot_request(f"/works/{JOR}").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3"}
    )
    serve_work(httpserver, JOR)
    sleeps = Sleeps()
    client = HttpClient(Settings.from_env(), sleep=sleeps, jitter=lambda: 0.0)
    work, _ = lookup(JOR, Settings.from_env(), client=client)
    assert work.record["DOI"] == JOR
    assert sleeps == [3.0] and len(httpserver.log) == 2


def test_a_retry_after_longer_than_the_time_allowed_gives_up_at_once(httpserver, env):
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    sleeps = Sleeps()
    with pytest.raises(ServiceError, match="asked to wait 3600 s"):
        lookup(JOR, Settings.from_env(), client=HttpClient(Settings.from_env(), sleep=sleeps))
    assert sleeps == [] and len(httpserver.log) == 1


def test_backoff_doubles_with_jitter_and_the_attempts_are_bounded(httpserver, env):
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("oops", status=500)
    sleeps = Sleeps()
    client = HttpClient(settings(retries=3, backoff=1.0, max_wait=100), sleep=sleeps, jitter=lambda: 0.5)
    with pytest.raises(ServiceError, match=r"HTTP 500 \(4 attempts\)"):
        client.get_json(httpserver.url_for(f"/works/{JOR}"))
    assert sleeps == [0.75, 1.5, 3.0]
    assert len(httpserver.log) == 4


def test_backoff_stops_when_the_total_time_would_run_out(httpserver, env):
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("oops", status=503)
    sleeps = Sleeps()
    client = HttpClient(settings(retries=10, backoff=1.0, max_wait=4), sleep=sleeps, jitter=lambda: 1.0)
    with pytest.raises(ServiceError):
        client.get_json(httpserver.url_for(f"/works/{JOR}"))
    assert sleeps == [1.0, 2.0]  # a third wait (4 s) would pass the 4 s budget
    assert len(httpserver.log) == 3


def test_a_server_error_then_success_recovers(httpserver, env):
    httpserver.expect_oneshot_request(f"/works/{JOR}").respond_with_data("busy", status=503)
    serve_work(httpserver, JOR)
    work, _ = lookup(JOR, Settings.from_env())
    assert work.doi == JOR and len(httpserver.log) == 2


def stalled(request):
    time.sleep(1.0)
    return Response(fixture_body(JOR), content_type="application/json")


def trickled(request):
    def body():
        for chunk in (b'{"status": "ok", ', b'"message": ', b"{}}"):
            time.sleep(0.3)
            yield chunk

    return Response(body(), content_type="application/json")


@pytest.mark.parametrize("handler", [stalled, trickled], ids=["stalled", "trickled"])
def test_a_stalled_or_trickling_response_times_out(slow_server, env, handler):
    slow_server.expect_request(f"/works/{JOR}").respond_with_handler(handler)
    client = HttpClient(settings(timeout=0.4, retries=0, crossref_url=slow_server.url_for("").rstrip("/")))
    with pytest.raises(ServiceError, match=r"no answer within 0\.4 s.*raise KB_HTTP_TIMEOUT"):
        lookup(JOR, client.settings, client=client)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retried_then_reported(env):
    sleeps = Sleeps()
    client = HttpClient(settings(crossref_url=f"http://127.0.0.1:{closed_port()}"), sleep=sleeps)
    with pytest.raises(ServiceError, match=r"connection refused \(3 attempts\); check your internet connection"):
        lookup(JOR, client.settings, client=client)
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("body", "content_type", "error", "needle"),
    [
        (b"<html><body>Service Unavailable</body></html>", "text/html", BadResponseError, "not JSON (text/html)"),
        (fixture_body(JOR)[:5000], "application/json", BadResponseError, "truncated"),
        (
            b'{"status": "ok", "message": {"title": ["T"], "DOI": "10.1',
            "application/json",
            BadResponseError,
            "truncated",
        ),
        (b'{"status": "ok", "message": []}', "application/json", BadResponseError, "without a 'message' record"),
        (b'["a", "list"]', "application/json", BadResponseError, "without a 'message' record"),
        (b'{"status": "failed", "message": {"DOI": "x"}}', "application/json", BadResponseError, "status 'failed'"),
        (
            b'{"status": "ok", "message": {"DOI": "x", "author": "Smith"}}',
            "application/json",
            BadResponseError,
            "'author'",
        ),
        (
            b'{"status": "ok", "message": {"DOI": "x", "title": [{"a": 1}]}}',
            "application/json",
            BadResponseError,
            "'title'",
        ),
    ],
)
def test_bodies_that_are_not_a_crossref_record(httpserver, env, body, content_type, error, needle):
    httpserver.expect_request(f"/works/{JOR}").respond_with_data(body, content_type=content_type)
    with pytest.raises(error) as raised:
        lookup(JOR, Settings.from_env())
    assert needle in str(raised.value)
    assert len(httpserver.log) == 1  # an answer that arrived is not asked for again


# --- the command, run as a user runs it -----------------------------------------------------------------


def test_the_script_prints_a_draft(httpserver, env, kb_root):
    serve_work(httpserver, DELPHI)
    result = run_script([f"  https://doi.org/{DELPHI}. "], env, kb_root)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["id"] == "boulkedid-2011-reporting"
    assert data["citation"]["journal"] == "PLoS ONE" and data["citation"]["article_number"] == "e20476"
    assert list((kb_root / "entries").iterdir()) == []


def test_write_saves_once_and_never_overwrites(httpserver, env, kb_root):
    serve_work(httpserver, JOR)
    first = run_script([JOR, "--write"], env, kb_root)
    assert first.returncode == 0, first.stderr
    path = kb_root / "entries" / "lieber-1997-growth.yaml"
    assert path.read_text().startswith("# yaml-language-server:")
    path.write_text(path.read_text() + "# my notes\n")
    before = path.read_text()

    second = run_script([JOR, "--write"], env, kb_root)
    assert_one_line_failure(second, "entries/lieber-1997-growth.yaml already exists", "--id")
    assert path.read_text() == before
    assert sorted(p.name for p in (kb_root / "entries").iterdir()) == ["lieber-1997-growth.yaml"]  # no temp files


def test_write_warns_about_the_same_doi_or_title_and_names_the_entry(httpserver, env, kb_root):
    serve_work(httpserver, JOR)
    (kb_root / "entries" / "old-doi.yaml").write_text(
        f"id: old-doi\ntitle: Something else entirely\ncitation:\n  doi: https://doi.org/{JOR.upper()}\n"
    )
    (kb_root / "entries" / "old-title.yaml").write_text(
        "id: old-title\ntitle: Growth Hormone Secretagogue increases muscle strength during remobilisation after "
        "canine hindlimb immobilisation.\ncitation:\n  doi: 10.1000/other\n"
    )
    result = run_script([JOR, "--write", "--id", "lieber-1997-secretagogue"], env, kb_root)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert any("already in the knowledge base: old-doi (entries/old-doi.yaml:4)" in line for line in warnings), warnings
    assert any("old-title" in line and "nearly identical" in line for line in warnings), warnings
    assert (kb_root / "entries" / "lieber-1997-secretagogue.yaml").exists()


def test_a_bad_id_is_refused_before_any_request(httpserver, env, kb_root, monkeypatch):
    monkeypatch.chdir(kb_root)
    result = CliRunner().invoke(new, [JOR, "--write", "--id", "Not An Id"], prog_name="kb new")
    assert result.exit_code == 1 and "kb new: error: --id 'Not An Id' is not a valid id" in result.stderr
    assert len(httpserver.log) == 0


def test_429_then_200_through_the_command(httpserver, env, kb_root, monkeypatch):
    httpserver.expect_oneshot_request(f"/works/{ESMO}").respond_with_data("", status=429, headers={"Retry-After": "0"})
    serve_work(httpserver, ESMO)
    monkeypatch.chdir(kb_root)
    result = CliRunner().invoke(new, [ESMO, "--write"], prog_name="kb new")
    assert result.exit_code == 0, result.output
    assert "wrote entries/iwasa-2020-lenvatinib.yaml" in result.stderr
    assert (kb_root / "entries" / "iwasa-2020-lenvatinib.yaml").exists()
    assert len(httpserver.log) == 2


def fault_404(server):
    server.expect_request(f"/works/{JOR}").respond_with_data("Resource not found.", status=404)
    server.expect_request(f"/works/{JOR}/agency").respond_with_data("Resource not found.", status=404)


def fault(status=200, body=b"", headers=None):
    def install(server):
        server.expect_request(f"/works/{JOR}").respond_with_data(body, status=status, headers=headers or {})

    return install


@pytest.mark.parametrize(
    ("install", "needles"),
    [
        (fault_404, ["not registered", "typos"]),
        (fault(429, headers={"Retry-After": "0"}), ["HTTP 429", "3 attempts", "wait a few minutes"]),
        (fault(500), ["HTTP 500", "3 attempts", "try again later"]),
        (fault(200, b"<html>maintenance</html>"), ["not JSON", "try again later"]),
        (fault(200, fixture_body(JOR)[:3000]), ["truncated", "try again"]),
        (fault(200, json.dumps({"status": "ok", "message": {"DOI": JOR, "author": {"x": 1}}}).encode()), ["'author'"]),
        (fault(200, b'{"status": "ok"}'), ["without a 'message' record"]),
    ],
    ids=["404", "429-storm", "500s", "not-json", "truncated", "wrong-shape", "no-message"],
)
def test_every_fault_ends_in_one_line_and_no_file(httpserver, env, kb_root, monkeypatch, install, needles):
    """In-process through click (fast); the subprocess tests around it prove the same for a real process."""
    install(httpserver)
    monkeypatch.chdir(kb_root)
    result = CliRunner().invoke(new, [JOR, "--write"], prog_name="kb new")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kb new: error: "), result.stderr
    assert all(needle in lines[0] for needle in needles), lines[0]
    assert result.stdout == "" and "Traceback" not in result.output
    assert list((kb_root / "entries").iterdir()) == []


def test_timeout_and_refused_connection_through_the_command(slow_server, env, kb_root):
    slow_server.expect_request(f"/works/{JOR}").respond_with_handler(stalled)
    stalling = {**env, "KB_CROSSREF_URL": slow_server.url_for("").rstrip("/"), "KB_HTTP_TIMEOUT": "0.3"}
    result = run_script([JOR, "--write"], {**stalling, "KB_HTTP_RETRIES": "1"}, kb_root)
    assert_one_line_failure(result, "no answer within 0.3 s (2 attempts)")
    refused = run_script([JOR, "--write"], {**env, "KB_CROSSREF_URL": f"http://127.0.0.1:{closed_port()}"}, kb_root)
    assert_one_line_failure(refused, "connection refused")
    assert list((kb_root / "entries").iterdir()) == []
