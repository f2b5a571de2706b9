"""Tests that kill mutants found by mutation testing of kb/doi (`make mutation`; see benchmarks/MUTATION.md, section
"kb.doi survivors not analysed").

Each test pins one behaviour the rest of the suite exercised without checking; the mutants it was written against are
named in its docstring (mutmut names: module.x_function__mutmut_N). Mutants judged equivalent (same behaviour for
every input) have no test here.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import itertools
import json
import socket
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
import requests
import urllib3
from doi_support import ESMO, JOR, fixture_message, serve_message, serve_work
from test_mutants import ROOT
from werkzeug import Response

from kb.doi import InputError, parse_doi
from kb.doi.cache import Cache
from kb.doi.client import MAX_JSON_DEPTH, Answer, HttpClient, Settings, _read_body, parse_json
from kb.doi.crossref import citation_from_work, clean_text, clean_title, date_of, year_of
from kb.doi.draft import Prefill, ascii_slug, make_draft, suggest_id
from kb.doi.errors import BadResponseError, ServiceError, SettingsError
from kb.doi.fetch import Work, fetch_work
from kb.vocabulary import load_vocabulary, vocabulary_from_dict

DOI = "10.1016/j.jad.2020.01.001"


def work(agency: str = "crossref", **record) -> Work:
    """A work as fetch_work returns it, for a record with the given fields (keys with hyphens via **{...})."""
    return Work(DOI, agency, {"DOI": DOI, **record})


def citation(**record) -> dict:
    return citation_from_work(work(**record)).citation


def draft_lines(cited_work: Work, **options) -> list[str]:
    draft = make_draft(cited_work, citation_from_work(cited_work), today=datetime.date(2026, 6, 1), **options)
    return draft.text.splitlines()


# --- kb/doi/client.py: parse_json -------------------------------------------------------------------------------


def nested(levels: int) -> bytes:
    """JSON lists nested `levels` deep around one number."""
    return b"[" * levels + b"1" + b"]" * levels


def test_json_exactly_as_deep_as_the_limit_is_accepted_and_one_level_more_is_refused():
    """client.x__deeper_than 2 (counting starts at 2), 10 (`>=` for `>`) and x_parse_json 33 (the service)."""
    assert MAX_JSON_DEPTH == 100
    value = parse_json(Answer(200, {}, nested(100)), "Crossref")
    for _ in range(99):
        value = value[0]
    assert value == [1]
    with pytest.raises(BadResponseError) as refused:
        parse_json(Answer(200, {}, nested(101)), "DataCite")
    assert str(refused.value).startswith("DataCite sent JSON nested too deep (over 100 levels) to be a record")


def test_a_body_that_is_not_utf8_is_refused_naming_the_service():
    """client.x_parse_json 7 (the message dropped)."""
    with pytest.raises(BadResponseError) as refused:
        parse_json(Answer(200, {"Content-Type": "application/json"}, '{"title": "Å"}'.encode("latin-1")), "mEDRA")
    assert str(refused.value) == "mEDRA sent a body that is not UTF-8 text; try again later"


def test_a_body_that_is_not_json_names_its_media_type_without_parameters():
    """client.x_parse_json 10, 18 (how the media type is cut from its parameters), 14, 15 (the header's name as
    sent: `Answer.headers` may be any mapping), 26, 27 (the advice)."""
    answer = Answer(503, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>Service Unavailable</body></html>")
    with pytest.raises(BadResponseError) as refused:
        parse_json(answer, "Crossref")
    assert str(refused.value) == (
        "Crossref sent a response that is not JSON (text/html); the service may be down or its URL wrong "
        "(KB_CROSSREF_URL / KB_DOI_URL): try again later"
    )


def test_a_body_that_is_not_json_and_has_no_content_type_says_so():
    """client.x_parse_json 16, 17."""
    with pytest.raises(BadResponseError) as refused:
        parse_json(Answer(200, {}, b"Resource not found."), "Crossref")
    assert "is not JSON (no content type);" in str(refused.value)


# --- kb/doi/crossref.py: records of an unexpected shape -----------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "key", "expected"),
    [
        ({"type": "journal-article", "container-title": [{"name": "J Affect Disord"}]}, "container-title", "texts"),
        (
            {"type": "journal-article", "container-title": [], "short-container-title": 5},
            "short-container-title",
            "texts",
        ),
        ({"type": "journal-article", "publisher": ["Elsevier BV"]}, "publisher", "text"),
        ({"type": "book-chapter", "editor": "Roy, Ann"}, "editor", "a list of people"),
        ({"type": "edited-book", "editor": {"family": "Roy"}}, "editor", "a list of people"),
        ({"type": "posted-content", "group-title": ["Psychiatry"]}, "group-title", "text"),
        ({"type": "journal-article", "volume": ["29"]}, "volume", "text"),
        ({"type": "journal-article", "issue": {"number": 4}}, "issue", "text"),
        ({"type": "journal-article", "article-number": ["e33693"]}, "article-number", "text"),
        ({"type": "journal-article", "page": ["519", "527"]}, "page", "text"),
        ({"type": "journal-article", "DOI": ["10.1016/j.jad.2020.01.001"]}, "DOI", "text"),
        ({"type": "journal-article", "URL": {"href": "https://doi.org/10.1016/j.jad.2020.01.001"}}, "URL", "text"),
        ({"type": "journal-article", "title": [["Psilocybin"]]}, "title", "texts"),
        ({"type": "journal-article", "subtitle": True}, "subtitle", "texts"),
    ],
)
def test_a_field_of_an_unexpected_shape_is_refused_naming_the_field_and_what_was_expected(record, key, expected):
    """crossref.x__container 6, 15, 25, 54, 71, 91; x_citation_from_work 40, 52, 59, 75, 85; x_locator_of 5, 15;
    x__text_field 5, 8-15; x__title_field 10, 14, 15 (the work or the field left out of the message)."""
    expected = "text or a list of texts" if expected == "texts" else expected
    with pytest.raises(BadResponseError) as refused:
        citation_from_work(Work(DOI, "crossref", {"DOI": DOI, **record}))
    assert str(refused.value) == (
        f"Crossref's record for DOI {DOI} has an unexpected '{key}' (expected {expected}); report it, and write the "
        "citation by hand from entries/_template.yaml meanwhile"
    )


def test_a_number_is_text_but_true_or_false_is_not():
    """crossref.x__text_field 5 (`or` for `and`: a boolean would be read as text)."""
    assert citation(type="journal-article", volume=29, issue=4.0)["volume"] == "29"
    with pytest.raises(BadResponseError, match="unexpected 'issue' \\(expected text\\)"):
        citation(type="journal-article", issue=True)


# --- kb/doi/crossref.py: where a work was published ---------------------------------------------------------------


def test_an_article_without_a_journal_has_no_journal_key():
    """crossref.x__container 39."""
    assert "journal" not in citation(type="journal-article", title=["Psilocybin for depression"])


def test_a_chapter_names_its_book_publisher_and_editors():
    """crossref.x__container 50, 51, 53, 58, 59."""
    found = citation(
        type="book-chapter",
        author=[{"family": "Hartogsohn", "given": "Ido"}],
        editor=[{"family": "Roy", "given": "Ann"}, {"name": "MAPS Editorial Board"}],
        publisher="Springer",
        **{"container-title": ["Handbook of psychedelic medicine"]},
    )
    assert {key: found[key] for key in ("publisher", "book_title", "editors")} == {
        "publisher": "Springer",
        "book_title": "Handbook of psychedelic medicine",
        "editors": [{"family": "Roy", "given": "Ann"}, {"name": "MAPS Editorial Board"}],
    }


def test_an_edited_book_is_cited_by_its_editors_and_publisher():
    """crossref.x__container 61-63, 68-70, 72-80."""
    found = citation(type="edited-book", editor=[{"family": "Winkelman", "given": "Michael J."}], publisher="Praeger")
    assert found == {
        "type": "book",
        "authors": [],
        "publisher": "Praeger",
        "editors": [{"family": "Winkelman", "given": "Michael J."}],
        "doi": DOI,
    }


def test_an_authored_book_names_its_publisher_but_not_its_editors():
    """crossref.x__container 64-67 (a book with authors taken for an edited one)."""
    found = citation(
        type="monograph",
        author=[{"family": "Pollan", "given": "Michael"}],
        editor=[{"family": "Roy", "given": "Ann"}],
        publisher="Penguin Press",
    )
    assert (found["publisher"], "editors" in found) == ("Penguin Press", False)


def test_a_book_without_a_publisher_does_not_take_its_series_as_publisher():
    """crossref.x__container 105, 106 (the container used for other types than reports) and 110 (an empty
    publisher key)."""
    found = citation(
        type="book",
        author=[{"family": "Pollan", "given": "Michael"}],
        **{"container-title": ["Current Topics in Behavioral Neurosciences"]},
    )
    assert "publisher" not in found


def test_a_report_is_published_by_its_publisher_or_else_its_series():
    """crossref.x__container 102-104, 107, 108."""
    series = {"container-title": ["WHO Technical Report Series"]}
    assert citation(type="report", publisher="World Health Organization", **series)["publisher"] == (
        "World Health Organization"
    )
    assert citation(type="report", **series)["publisher"] == "WHO Technical Report Series"


def test_a_preprint_without_authors_is_published_by_its_server_not_by_the_servers_owner():
    """crossref.x__container 60, 61 (a preprint without authors taken for an edited book)."""
    found = citation(type="posted-content", institution=[{"name": "PsyArXiv"}], publisher="Center for Open Science")
    assert found["publisher"] == "PsyArXiv"


def test_a_preprints_group_title_comes_before_its_publisher():
    """crossref.x__container 88, 90, 95, 96."""
    found = citation(
        type="posted-content",
        author=[{"family": "Lee", "given": "Kim"}],
        publisher="Cold Spring Harbor Laboratory",
        **{"group-title": "Psychiatry and Clinical Psychology"},
    )
    assert found["publisher"] == "Psychiatry and Clinical Psychology"


def test_a_thesis_with_an_empty_institution_list_is_published_by_its_publisher():
    """crossref.x__institution 7 (the first of an empty list)."""
    found = citation(
        type="dissertation", author=[{"family": "Lee", "given": "Kim"}], institution=[], publisher="University of Oslo"
    )
    assert found["publisher"] == "University of Oslo"


# --- kb/doi/crossref.py: dates ----------------------------------------------------------------------------------


def test_empty_or_flat_date_parts_are_skipped():
    """crossref.x__date_parts 7 (`or` for `and`: an empty or flat list indexed)."""
    record = {
        "issued": {"date-parts": []},
        "published": {"date-parts": [2004]},
        "published-print": {"date-parts": [[2004, 3]]},
    }
    assert year_of(record) == (2004, "published-print")


def test_a_date_is_year_month_and_day_and_nothing_after():
    """crossref.x__date_parts 10."""
    assert date_of({"date-parts": [[2020, 5, 17, 12]]}) == "2020-05-17"


@pytest.mark.parametrize(("year", "found"), [(1499, None), (1500, 1500), (2999, 2999), (3000, None)])
def test_years_from_date_parts_run_from_1500_to_2999(year, found):
    """crossref.x__date_parts 19, 20, 22, 23."""
    assert year_of({"issued": {"date-parts": [[year]]}})[0] == found


def test_a_year_is_read_from_a_literal_or_a_timestamp_when_there_are_no_date_parts():
    """crossref.x__date_parts 26-29."""
    assert year_of({"issued": {"literal": "Spring 2004"}}) == (2004, "issued")
    assert year_of({"created": {"date-time": "2019-08-02T13:05:11Z", "timestamp": 1564751111000}}) == (2019, "created")


# --- kb/doi/crossref.py: citation_from_work -----------------------------------------------------------------------


def test_a_record_without_a_type_string_is_of_unknown_kind():
    """crossref.x_citation_from_work 6, 10, 11."""
    assert citation_from_work(work(title=["T"])).kind == "unknown"
    odd = citation_from_work(work(type=["journal-article"], title=["T"]))
    assert (odd.kind, odd.citation["type"]) == ("unknown", None)


def test_only_a_year_from_the_doi_registration_date_is_flagged():
    """crossref.x_citation_from_work 26, 27."""
    registered = citation_from_work(work(type="journal-article", created={"date-parts": [[2009, 4, 1]]}))
    assert registered.citation["year"] == 2009
    assert registered.notes == [
        "year 2009 is when the DOI was registered (Crossref gives no publication date): check it"
    ]
    printed = citation_from_work(work(type="journal-article", issued={"date-parts": [[1997, 7]]}))
    assert printed.notes == []


def test_the_doi_is_the_one_the_record_gives():
    """crossref.x_citation_from_work 72, 74, 79, 80: a DOI that Crossref resolves to another (an alias) is cited as
    the record's DOI."""
    record = {"type": "journal-article", "DOI": "10.1002/JOR.1100150407"}
    assert citation_from_work(Work("10.1002/jor.1100150407x", "crossref", record)).citation["doi"] == (
        "10.1002/jor.1100150407"
    )


def test_an_orcid_may_be_given_under_a_lowercase_key():
    """crossref.x__person 50-52: CSL JSON from other agencies writes `orcid`."""
    record = {
        "type": "article-journal",
        "author": [{"family": "Iwasa", "given": "Satoru", "orcid": "https://orcid.org/0000-0003-3863-9582"}],
    }
    assert citation_from_work(Work(DOI, "datacite", record)).citation["authors"] == [
        {"family": "Iwasa", "given": "Satoru", "orcid": "0000-0003-3863-9582"}
    ]


@pytest.mark.parametrize(
    ("title", "subtitle", "joined"),
    [
        ("Psilocybin for depression:", "a randomized trial", "Psilocybin for depression: a randomized trial"),
        ("Can psilocybin help?", "A review", "Can psilocybin help? A review"),
        ("Ecstasy!", "MDMA in the clinic", "Ecstasy! MDMA in the clinic"),
        ("Effects of MDMA .", None, "Effects of MDMA"),
    ],
)
def test_a_title_ending_in_punctuation_is_joined_to_its_subtitle_without_a_colon(title, subtitle, joined):
    """crossref.x_clean_title 12, 14 (the endings) and 28 (a space before the dropped full stop)."""
    assert clean_title([title], [subtitle] if subtitle else None) == joined


# --- kb/doi/draft.py ----------------------------------------------------------------------------------------------


def test_the_draft_header_says_how_to_finish_it():
    """draft.x_make_draft 32, 33, 35, 37, 38, 40."""
    assert draft_lines(Work(JOR, "crossref", fixture_message(JOR)))[2:6] == [
        "# The citation comes from that record: check it against the paper. Everything marked TODO is yours to",
        "# write from the paper, in your own words (never copy the abstract; leave out numbers it does not report).",
        "# `kb validate` rejects this file until every TODO value (null or []) is replaced; delete the lines marked",
        '# "or delete" when the paper gives nothing for them.',
    ]


def test_the_draft_asks_for_a_type_title_and_authors_the_record_lacks():
    """draft.x__citation_lines 1, 3, 6, 7, 8, 15, 25, 26; x__field 2; x_make_draft 44, 50-52, 59, 60."""
    lines = draft_lines(work(agency="datacite", type="dataset", issued={"date-parts": [[2021]]}))
    start = lines.index("citation:")
    assert lines[start - 2] == "title: null  # TODO: the title exactly as published (the record has none)"
    assert lines[start + 1 : start + 5] == [
        "  type: null  # TODO: DataCite calls this a 'dataset'; choose one of article, book, chapter, preprint, "
        "report, thesis",
        "  authors: null  # TODO: DataCite lists none; copy them from the paper",
        "  year: 2021",
        f"  doi: {DOI}",
    ]


def test_authors_and_editors_are_drafted_one_per_line_with_non_ascii_letters_and_keys_in_schema_order():
    """draft.x__citation_lines 22, 23 (editors written as one flow list); x__scalar 3, 8, 12 (non-ASCII letters
    escaped), 11, 15 (keys sorted)."""
    lines = draft_lines(
        work(
            type="book-chapter",
            title=["Set and setting"],
            author=[
                {"family": "Hora", "given": "Donald", "suffix": "Jr.", "ORCID": "https://orcid.org/0000-0002-1825-0097"}
            ],
            editor=[{"family": "Ørsted", "given": "Åse"}, {"family": "Roy", "given": "Ann"}],
            **{"container-title": ["Handbook of psychedelic medicine"]},
        )
    )
    assert "    - {family: Hora, given: Donald, suffix: Jr., orcid: 0000-0002-1825-0097}" in lines
    start = lines.index("  editors:")
    assert lines[start + 1 : start + 3] == ["    - {family: Ørsted, given: Åse}", "    - {family: Roy, given: Ann}"]


def test_a_long_title_is_drafted_on_one_line():
    """draft.x__scalar 4, 9 (YAML's default width of 80 folds it)."""
    title = (
        "Psilocybin-assisted therapy of major depressive disorder in adults who did not respond to two or more "
        "antidepressants in a randomized controlled trial"
    )
    lines = draft_lines(work(type="journal-article", title=[title], author=[{"family": "Lee", "given": "Kim"}]))
    assert f"title: {title}" in lines


def test_terms_of_each_facet_are_hinted_six_at_most():
    """draft.x__term_hints 13, 17, 18, 21-32 and x_make_draft 71."""

    def facet(count: int) -> dict:
        return {"terms": {f"term-{n}": {"label": f"Term {n}"} for n in range(1, count + 1)}}

    vocabulary = vocabulary_from_dict({"designs": facet(7), "settings": facet(6), "substances": facet(1)})
    lines = draft_lines(Work(ESMO, "crossref", fixture_message(ESMO)), vocabulary=vocabulary)
    assert (
        "  type: null  # TODO: a term of the designs facet in vocabulary.yml (term-1, term-2, term-3, term-4, "
        "term-5, term-6, ...)" in lines
    )
    assert (
        "  - setting: null  # TODO: a term of the settings facet (term-1, term-2, term-3, term-4, term-5, "
        "term-6), or delete the list" in lines
    )
    assert "substances: []  # TODO: terms of the substances facet (term-1)" in lines
    assert "conditions: []  # TODO: terms of the conditions facet" in lines


def test_without_a_vocabulary_no_terms_are_hinted():
    """draft.x__term_hints 32 (a placeholder for a facet without terms)."""
    lines = draft_lines(Work(ESMO, "crossref", fixture_message(ESMO)))
    assert "  type: null  # TODO: a term of the designs facet in vocabulary.yml" in lines
    assert "mechanisms: []  # terms of the mechanisms facet the paper studies, if any" in lines


def test_a_suggested_design_and_tags_replace_their_todo_lines_with_a_check_note():
    """draft.x__prefilled 2-21 and x_make_draft 65."""
    prefill = Prefill("suggested in issue #12", "randomized-controlled-trial", {"substances": ["psilocybin"]})
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    lines = draft_lines(Work(ESMO, "crossref", fixture_message(ESMO)), vocabulary=vocabulary, prefill=prefill)
    check = "# CHECK: suggested in issue #12; confirm it against the paper"
    assert f"  type: randomized-controlled-trial  {check}" in lines
    assert f"substances: [psilocybin]  {check}" in lines
    assert next(line for line in lines if line.startswith("conditions:")).startswith("conditions: []  # TODO: ")
    assert sum(check in line for line in lines) == 2


def test_one_letter_words_are_not_keywords_but_two_letter_words_are():
    """draft.x__significant 3, 4."""
    assert suggest_id([{"family": "Lee"}], 2020, "T cells after psilocybin") == "lee-2020-cells"
    assert suggest_id([{"family": "Lee"}], 2020, "MS fatigue after psilocybin") == "lee-2020-ms"


def test_an_organisations_id_skips_stopwords_and_keeps_three_words():
    """draft.x_suggest_id 13, 22 (the name not split into words) and 27 (four words)."""
    assert suggest_id([{"name": "The Østergaard Group"}], None, "The effects of a new drug") == (
        "ostergaard-group-nd-drug"
    )
    assert suggest_id([{"name": "Psychedelic Research Consortium Netherlands"}], 2021, "Ayahuasca") == (
        "psychedelic-research-consortium-2021-ayahuasca"
    )


def test_an_id_cut_at_the_length_limit_does_not_end_in_a_hyphen():
    """draft.x_suggest_id 62, 63."""
    found = suggest_id(
        [{"name": "Multidisciplinary Association for Psychedelic Studies"}],
        2019,
        "5-methoxy-N,N-dimethyltryptamine-containing toad secretion",
    )
    assert found == "multidisciplinary-association-psychedelic-2019-5-methoxy-n-n-dimethyltryptamine"


def test_a_slug_has_no_hyphen_at_either_end():
    """draft.x_ascii_slug 20."""
    assert ascii_slug("(Ørsted)") == "orsted"
    assert ascii_slug("Müller-Łęcka ") == "muller-lecka"


# --- kb/doi/__init__.py: parse_doi ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pasted", "shown_as"),
    [
        ("PMID 34262206", "PMID 34262206"),
        (
            "Smith J, Lee K. Psilocybin for depression. J Psychopharmacol. 2021;35(4):411-419",
            "Smith J, Lee K. Psilocybin for depression. J Psychopharmacol. 2021;35(4):411-419",
        ),
        (
            "Smith J, Lee K. Psilocybin for depression. J Psychopharmacol. 2021;35(4):411-419.",
            "Smith J, Lee K. Psilocybin for depression. J Psychopharmacol. 2021;35(4):411-...",
        ),
    ],
    ids=["13-characters", "80-characters", "81-characters"],
)
def test_a_non_doi_paste_is_quoted_whole_up_to_80_characters_and_cut_to_77_plus_dots_beyond(pasted, shown_as):
    """doi.x_parse_doi 23 (the paste left out), 24, 25 (always or never cut), 26, 27 (80 and 81 characters on the wrong
    side of the limit), 28-30 (how a long paste is cut) and 36 (the example DOI)."""
    with pytest.raises(InputError) as refused:
        parse_doi(pasted)
    assert str(refused.value) == (
        f"'{shown_as}' is not a DOI (a DOI looks like 10.1080/20008066.2025.2485513); paste the DOI itself, with or "
        "without https://doi.org/"
    )


def test_a_paste_with_bidi_marks_is_refused_quoting_its_first_80_characters_with_the_marks_escaped():
    """doi.x_parse_doi 10 (81 characters quoted) and 17-19 (the advice)."""
    pasted = "10.1002/jor\u202e.1100150407 Lee K. Hip joint loading in beagles. J Orthop Res 1997;15(4):519-527\u200e"
    with pytest.raises(InputError) as refused:
        parse_doi(pasted)
    assert str(refused.value) == (
        "'10.1002/jor\\u202e.1100150407 Lee K. Hip joint loading in beagles. J Orthop Res 1997;1' holds control or "
        "invisible characters (\\u200e, \\u202e); type the DOI again, or paste it from another source"
    )


# --- kb/doi/fetch.py: fetch_work, _from_crossref, _path, _work_from_cache ---------------------------------------


def test_fetch_work_answers_a_second_time_from_the_cache_unless_asked_to_refresh(httpserver, env):
    """fetch.x_fetch_work 1 (refreshing by default: every lookup a request)."""
    serve_work(httpserver, JOR)
    first = fetch_work(JOR, Settings.from_env())
    assert fetch_work(JOR, Settings.from_env()) == first
    assert len(httpserver.log) == 1
    fetch_work(JOR, Settings.from_env(), refresh=True)
    assert len(httpserver.log) == 2


def test_a_crossref_record_with_a_title_but_no_doi_is_used(httpserver, env):
    """fetch.x__from_crossref 25-28 (a record without `DOI` refused unless it also lacks a title)."""
    serve_message(httpserver, DOI, {"type": "journal-article", "title": ["Psilocybin for depression"]})
    assert fetch_work(DOI, Settings.from_env()) == Work(
        DOI, "crossref", {"type": "journal-article", "title": ["Psilocybin for depression"]}
    )


def test_a_crossref_record_with_neither_doi_nor_title_is_refused_saying_so(httpserver, env):
    """fetch.x__from_crossref 25 (accepted) and 29-40 (the service, the DOI or what was wrong left out of the
    message, or changed)."""
    serve_message(httpserver, DOI, {"type": "journal-article", "publisher": "Elsevier BV"})
    with pytest.raises(BadResponseError) as refused:
        fetch_work(DOI, Settings.from_env())
    assert str(refused.value) == (
        f"Crossref answered for DOI {DOI} with a work record with neither DOI nor title, not the metadata expected; "
        "try again later, and report it if it persists"
    )


def test_a_crossref_answer_without_a_message_names_the_doi(httpserver, env):
    """fetch.x__from_crossref 14 (the DOI left out of the envelope check's message)."""
    httpserver.expect_request(f"/works/{DOI}").respond_with_json({"status": "ok", "message-type": "work"})
    with pytest.raises(BadResponseError) as refused:
        fetch_work(DOI, Settings.from_env())
    assert str(refused.value) == (
        f"Crossref answered for DOI {DOI} with JSON without a 'message' record, not the metadata expected; try "
        "again later, and report it if it persists"
    )


def test_brackets_in_a_doi_are_requested_as_they_are_and_other_reserved_characters_escaped(httpserver, env):
    """fetch.x__path 4 (brackets escaped as %28 and %29). Wiley's SICI DOIs, and the Lancet's, hold brackets."""
    doi = "10.1002/(sici)1097-4636(199712)37:4<467::aid-jbm4>3.0.co;2-e"
    serve_message(httpserver, doi, {"DOI": doi, "title": ["Bone ingrowth"]})
    fetch_work(doi, Settings.from_env())
    assert httpserver.log[0][0].environ["RAW_URI"] == (
        "/works/10.1002/(sici)1097-4636(199712)37%3A4%3C467%3A%3Aaid-jbm4%3E3.0.co%3B2-e"
    )


def test_a_cache_entry_without_an_agency_is_fetched_again(httpserver, env):
    """fetch.x__work_from_cache 4 (`and` for `or`: an entry with a DOI but no agency string used)."""
    settings = Settings.from_env()
    Cache(settings.cache_dir, 7).put(f"work:{JOR}", {"doi": JOR, "agency": None, "record": {"title": ["Old"]}})
    serve_work(httpserver, JOR)
    found = fetch_work(JOR, settings)
    assert (found.agency, len(httpserver.log)) == ("crossref", 1)


# --- kb/doi/cache.py: Cache.path, Cache.get ---------------------------------------------------------------------


def test_a_fetched_work_is_cached_under_works_in_a_folder_named_by_two_hex_digits_of_its_sha256(httpserver, env):
    """cache.xǁCacheǁpath 9, 10 (the `works` folder renamed) and 11 (three digits for the subfolder). The digest is
    SHA-256 of "work:10.1002/jor.1100150407"."""
    serve_work(httpserver, JOR)
    fetch_work(JOR, Settings.from_env())
    digest = "7e9688546558bce857964a0e9590bcbe7fe2f95218c1c031e65750ee1b5ad4db"
    stored = json.loads((Settings.from_env().cache_dir / "works" / "7e" / f"{digest}.json").read_text())
    assert (stored["key"], stored["value"]["doi"], stored["value"]["agency"]) == (
        "work:10.1002/jor.1100150407",
        JOR,
        "crossref",
    )


def test_a_cached_value_is_used_for_exactly_its_max_age_and_not_a_second_longer(tmp_path, monkeypatch):
    """cache.xǁCacheǁ__init__ 4 (a day of 86,401 s), xǁCacheǁget 24 (`>=`: stale at exactly the age) and 21 (`and`
    for `or`: a stale value used)."""
    clock = types.SimpleNamespace(time=lambda: 1_800_000_000.0)
    monkeypatch.setattr("kb.doi.cache.time", clock)
    cache = Cache(tmp_path, 7)
    cache.put("work:10.1/x", {"doi": "10.1/x"})
    clock.time = lambda: 1_800_000_000.0 + 604_800  # seven days later
    assert cache.get("work:10.1/x") == {"doi": "10.1/x"}
    clock.time = lambda: 1_800_000_000.0 + 604_801
    assert cache.get("work:10.1/x") is None


@pytest.mark.parametrize(
    "stored",
    [
        {"key": "work:10.1/other", "fetched": 1_800_000_000.0, "value": {"doi": "10.1/other"}},
        {"key": "work:10.1/x", "fetched": 1_800_000_000.0},
        ["work:10.1/x", 1_800_000_000.0, {"doi": "10.1/x"}],
        {"key": "work:10.1/x", "fetched": "2027-01-15", "value": {"doi": "10.1/x"}},
    ],
    ids=["another-key", "no-value", "not-an-object", "fetched-not-a-number"],
)
def test_a_cache_file_for_another_key_or_damaged_is_a_miss(tmp_path, monkeypatch, stored):
    """cache.xǁCacheǁget 7 (another key's value used; a file without a value a KeyError), 8 (a file that is not an
    object an AttributeError) and 21 (a `fetched` that is not a number a TypeError)."""
    monkeypatch.setattr("kb.doi.cache.time", types.SimpleNamespace(time=lambda: 1_800_000_000.0 + 60))
    file = tmp_path / "works" / "7c" / "7ca7f668bb0fcbb4359a96de5538d2bfe63c717c711a0a80e84ca49d8ddb076a.json"
    file.parent.mkdir(parents=True)
    file.write_text(json.dumps(stored))  # where the value of "work:10.1/x" is kept (SHA-256 of the key)
    assert Cache(tmp_path, 7).get("work:10.1/x") is None


# --- kb/doi/crossref.py: clean_text, people -----------------------------------------------------------------------


def test_a_line_break_tag_in_a_title_becomes_a_space():
    """crossref.x_clean_text 17."""
    assert clean_text(["Psilocybin for depression:<br/>a randomized trial"]) == (
        "Psilocybin for depression: a randomized trial"
    )


def test_an_author_list_holding_something_other_than_a_person_is_refused_naming_the_field():
    """crossref.x_people 15-22 (the work, the field or what was expected left out of the message, or changed)."""
    with pytest.raises(BadResponseError) as refused:
        citation(type="journal-article", author=[{"family": "Roy", "given": "Ann"}, "Lee, Kim"])
    assert str(refused.value) == (
        f"Crossref's record for DOI {DOI} has an unexpected 'author' (expected a list of people); report it, and "
        "write the citation by hand from entries/_template.yaml meanwhile"
    )


# --- kb/doi/client.py: Settings.from_env, _number, _mailto ----------------------------------------------------------


def test_kb_http_max_wait_is_read_from_the_environment():
    """client.xǁSettingsǁfrom_env 34 (KB_HTTP_MAX_WAIT ignored)."""
    assert Settings.from_env({"KB_HTTP_MAX_WAIT": "2.5"}).max_wait == 2.5


def test_the_default_cache_folder_is_dot_cache_kb_in_the_current_folder():
    """client.xǁSettingsǁfrom_env 17 (the folder it lies under when no knowledge base is given)."""
    assert Settings.from_env({}).cache_dir == Path(".cache/kb")


def test_no_retries_at_all_is_allowed():
    """client.x__number 22 (`<=` for `<`: the minimum itself refused)."""
    assert Settings.from_env({"KB_HTTP_RETRIES": "0"}).retries == 0


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("KB_HTTP_RETRIES", "2.5", "KB_HTTP_RETRIES must be a whole number, not '2.5'; fix or unset it"),
        ("KB_HTTP_TIMEOUT", "soon", "KB_HTTP_TIMEOUT must be a number, not 'soon'; fix or unset it"),
        ("KB_HTTP_TIMEOUT", "nan", "KB_HTTP_TIMEOUT must be at least 0.01, not 'nan'; fix or unset it"),
        ("KB_HTTP_MAX_WAIT", "inf", "KB_HTTP_MAX_WAIT must be at least 0.01, not 'inf'; fix or unset it"),
    ],
)
def test_a_setting_that_is_not_a_usable_number_is_refused_saying_what_it_must_be(name, text, message):
    """client.x__number 8 (2.5 retries taken as 2), 14, 17, 18 (the kind of number), 20 (nan and infinity let
    through)."""
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: text})
    assert str(refused.value) == message


def test_a_mailto_pasted_as_a_link_loses_its_scheme():
    """client.x__mailto 6, 7, 8 (`mailto:` kept, giving `mailto:mailto:` in the User-Agent)."""
    assert Settings.from_env({"KB_MAILTO": " mailto:you@example.org "}).mailto == "you@example.org"


# --- kb/doi/client.py: HttpClient.get_json ------------------------------------------------------------------------


def client_settings(server, **changes) -> Settings:
    """Settings pointing at the local server, with no retries and waits that would be short if they were slept."""
    values = {"crossref_url": server.url_for("").rstrip("/"), "mailto": "you@example.org", "retries": 0}
    return Settings(**{**values, "timeout": 2.0, "backoff": 0.01, "max_wait": 10.0, **changes})


def host_of(server) -> str:
    return f"{server.host}:{server.port}"


@pytest.mark.parametrize("status", [404, 410])
def test_a_service_that_does_not_know_the_thing_gives_none(httpserver, status):
    """client.xǁHttpClientǁget_json 15 (410 Gone refused like any other status)."""
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("Resource not found.", status=status)
    assert HttpClient(client_settings(httpserver)).get_json(httpserver.url_for(f"/works/{JOR}")) is None


def test_a_refused_request_is_reported_for_crossref_and_json_is_asked_for_by_default(httpserver):
    """client.xǁHttpClientǁget_json 1, 2 (the Accept header sent by default), 3, 4, 5 (the service named by default),
    18, 19, 20, 21 (the message)."""
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("Forbidden", status=403)
    url = httpserver.url_for(f"/works/{JOR}")
    with pytest.raises(ServiceError) as refused:
        HttpClient(client_settings(httpserver)).get_json(url)
    assert str(refused.value) == (
        f"Crossref refused the request (HTTP 403) for {url}; check the DOI, and report it if the DOI is right"
    )
    [(request, _)] = httpserver.log
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("kb-evidence/")
    assert request.headers["User-Agent"].endswith("mailto:you@example.org)")


# --- kb/doi/client.py: HttpClient.get, _request, _give_up_message ------------------------------------------------


@pytest.mark.parametrize(
    ("mailto", "advice"),
    [
        (None, "wait a few minutes and try again, with --mailto or KB_MAILTO set to join Crossref's polite pool"),
        ("you@example.org", "wait a few minutes and try again"),
    ],
)
def test_rate_limiting_is_retried_with_doubling_waits_then_reported_with_advice(httpserver, mailto, advice):
    """client.xǁHttpClientǁ_request 61, 63 (the reason) and x__give_up_message 15, 17, 18, 19, 20, 21, 22 (the advice,
    which suggests --mailto only to those who have not set one)."""
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("slow down", status=429)
    sleeps = []
    client = HttpClient(client_settings(httpserver, mailto=mailto, retries=2), sleep=sleeps.append, jitter=lambda: 0)
    with pytest.raises(ServiceError) as gave_up:
        client.get_json(httpserver.url_for(f"/works/{JOR}"))
    assert str(gave_up.value) == (
        f"Crossref ({host_of(httpserver)}) failed: HTTP 429 Too Many Requests (3 attempts); {advice}"
    )
    assert sleeps == [0.005, 0.01]
    assert len(httpserver.log) == 3


@pytest.mark.parametrize(
    ("retry_after", "message"),
    [
        ("5", "failed: HTTP 429 Too Many Requests (1 attempt); wait a few minutes and try again"),
        (
            "6",
            "is rate-limiting requests and asked to wait 6 s, longer than KB_HTTP_MAX_WAIT (5 s); wait a few minutes "
            "and try again",
        ),
    ],
)
def test_a_rate_limit_asking_for_more_than_kb_http_max_wait_says_so(httpserver, retry_after, message):
    """client.x__give_up_message 40 (a wait exactly as long as KB_HTTP_MAX_WAIT reported as longer)."""
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("", status=429, headers={"Retry-After": retry_after})
    sleeps = []
    client = HttpClient(client_settings(httpserver, retries=3, max_wait=5.0), sleep=sleeps.append, clock=lambda: 0.0)
    with pytest.raises(ServiceError) as gave_up:
        client.get_json(httpserver.url_for(f"/works/{JOR}"))
    assert str(gave_up.value) == f"Crossref ({host_of(httpserver)}) {message}"
    assert sleeps == []


def test_a_server_error_asking_to_wait_all_of_kb_http_max_wait_is_given_up_at_once(httpserver):
    """client.xǁHttpClientǁget 40 (`>` for `>=`: a wait that ends exactly at the limit still slept), 46 and
    x__give_up_message 1, 2 (the host in the message)."""
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("busy", status=503, headers={"Retry-After": "5"})
    sleeps = []
    client = HttpClient(client_settings(httpserver, retries=3, max_wait=5.0), sleep=sleeps.append, clock=lambda: 0.0)
    with pytest.raises(ServiceError) as gave_up:
        client.get_json(httpserver.url_for(f"/works/{JOR}"))
    assert str(gave_up.value) == (
        f"Crossref ({host_of(httpserver)}) failed: HTTP 503 (1 attempt); Crossref may be having trouble; "
        "try again later"
    )
    assert sleeps == []
    assert len(httpserver.log) == 1


def test_a_server_error_is_tried_again_after_the_wait_it_asks_for(httpserver):
    """client.xǁHttpClientǁ_request 71, 74 (Retry-After of a 5xx answer ignored)."""
    httpserver.expect_oneshot_request(f"/works/{JOR}").respond_with_data("", status=503, headers={"Retry-After": "3"})
    httpserver.expect_request(f"/works/{JOR}").respond_with_json({"status": "ok"})
    sleeps = []
    client = HttpClient(client_settings(httpserver, retries=1), sleep=sleeps.append, jitter=lambda: 0)
    assert client.get_json(httpserver.url_for(f"/works/{JOR}")) == {"status": "ok"}
    assert sleeps == [3.0]


class FailingSession:
    """A requests session whose every GET fails with `error`; it records the timeout each GET was given."""

    def __init__(self, error: Exception):
        self.error = error
        self.timeouts = []

    def get(self, url, **options):
        self.timeouts.append(options.get("timeout"))
        raise self.error


def test_a_refused_connection_is_retried_then_reported_with_the_settings_to_check():
    """client.x__give_up_message 33 (the advice)."""
    sleeps = []
    session = FailingSession(requests.ConnectionError("[Errno 111] Connection refused"))
    settings = Settings(mailto="you@example.org", retries=1, backoff=0.01)
    client = HttpClient(settings, session=session, sleep=sleeps.append, jitter=lambda: 0)
    with pytest.raises(ServiceError) as gave_up:
        client.get_json("https://api.crossref.org/works/10.1002/jor.1100150407")
    assert str(gave_up.value) == (
        "Crossref (api.crossref.org) failed: connection refused (2 attempts); check your internet connection "
        "(and KB_CROSSREF_URL / KB_DOI_URL), then try again"
    )
    assert sleeps == [0.005]


@pytest.mark.parametrize(
    "error", [requests.ReadTimeout("read timed out"), urllib3.exceptions.TimeoutError("read timed out")]
)
def test_an_attempt_gets_what_is_left_of_kb_http_max_wait_and_a_timeout_says_so(error):
    """client.xǁHttpClientǁget 6 (time spent added to the time left), 27 (at least 1.01 s however little is left),
    xǁHttpClientǁ_attempt 9 and _request 12, 16 (no socket timeout), 39, 40, 41, 42, 43, 44 (the timeout's reason and
    kind) and x__give_up_message 27 (its advice)."""
    session = FailingSession(error)
    settings = Settings(mailto="you@example.org", timeout=15.0, retries=0, max_wait=0.5)
    clock = itertools.chain([0.0], itertools.repeat(0.25)).__next__  # started at 0; 0.25 s gone at the attempt
    client = HttpClient(settings, session=session, sleep=lambda _: None, clock=clock)
    with pytest.raises(ServiceError) as gave_up:
        client.get_json("https://api.crossref.org/works/10.1002/jor.1100150407")
    assert str(gave_up.value) == (
        "Crossref (api.crossref.org) failed: no answer within 0.25 s (1 attempt); the service is slow or stalled; "
        "try again later, or raise KB_HTTP_TIMEOUT"
    )
    assert session.timeouts == [(0.25, 0.25)]


def test_a_url_requests_cannot_use_is_reported_with_the_settings_to_check():
    """client.xǁHttpClientǁ_request 52 (the message dropped)."""
    settings = Settings.from_env({"KB_CROSSREF_URL": "http://127.0.0.1:99999", "KB_MAILTO": "you@example.org"})
    url = f"{settings.crossref_url}/works/{JOR}"
    with pytest.raises(ServiceError) as refused:
        HttpClient(settings).get_json(url)
    assert str(refused.value).startswith(f"could not request {url}: ")
    assert str(refused.value).endswith("; check KB_CROSSREF_URL and KB_DOI_URL")


# --- kb/doi/client.py: _refuse_declared_size, _read_body -------------------------------------------------------------

BODY = b'{"status": "ok"}'  # 16 bytes


def serve_body(server, chunked: bool) -> None:
    """Answer /works/JOR with BODY, announcing its length or (chunked) not."""
    response = Response(iter([BODY]) if chunked else BODY, content_type="application/json")
    server.expect_request(f"/works/{JOR}").respond_with_response(response)


@pytest.mark.parametrize("chunked", [False, True], ids=["announced", "chunked"])
def test_a_body_exactly_as_large_as_kb_http_max_bytes_is_accepted(httpserver, chunked):
    """client.x__refuse_declared_size 9 and x__read_body 11, 24 (a body of exactly the limit refused)."""
    serve_body(httpserver, chunked)
    client = HttpClient(client_settings(httpserver, max_bytes=16))
    assert client.get_json(httpserver.url_for(f"/works/{JOR}")) == {"status": "ok"}


@pytest.mark.parametrize(
    ("chunked", "what"),
    [(False, "announced 16 bytes, over the limit of 15 bytes"), (True, "sent more than the limit of 15 bytes")],
    ids=["announced", "chunked"],
)
def test_a_body_one_byte_over_kb_http_max_bytes_is_refused_naming_the_service_and_host(httpserver, chunked, what):
    """client.x__refuse_declared_size 11, x__read_body 25, 26 and xǁHttpClientǁ_request 22, 31, 32 (the service or
    the URL not handed on, so the message names neither)."""
    serve_body(httpserver, chunked)
    client = HttpClient(client_settings(httpserver, max_bytes=15))
    with pytest.raises(BadResponseError) as refused:
        client.get_json(httpserver.url_for(f"/works/{JOR}"), service="doi.org (DataCite)")
    assert str(refused.value) == (
        f"doi.org (DataCite) ({host_of(httpserver)}) {what} (KB_HTTP_MAX_BYTES); no record is that large, so check "
        "KB_CROSSREF_URL and KB_DOI_URL"
    )


class RawServer:
    """A server on 127.0.0.1 written on a bare socket (to misbehave in ways an HTTP server library will not), serving
    from a thread of its own until `stop`; subclasses write `_serve`."""

    def __init__(self, accept_timeout: float | None = None):
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(accept_timeout)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        raise NotImplementedError


class HangUpWatcher(RawServer):
    """A server that answers one request with a 1 MB body sent a byte every 20 ms, and notes when the client hangs up
    (a send fails). It stops sending after 30 s or when `stop` is called."""

    def __init__(self):
        self.hung_up = threading.Event()
        super().__init__()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            while b"\r\n\r\n" not in connection.recv(4096):
                pass
            try:
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"
                )
                for _ in range(1500):
                    if self._stop.wait(0.02):
                        return
                    connection.sendall(b" ")
            except OSError:
                self.hung_up.set()


def test_a_body_still_trickling_at_the_deadline_is_hung_up_on_at_its_next_byte():
    """client.x__read_body 2, 3, 8, 9 (reading with `read`, which waits for 64 kB, instead of `read1`: the worker
    never sees the deadline and keeps the connection open)."""
    server = HangUpWatcher()
    try:
        settings = Settings(crossref_url=server.url, mailto="you@example.org", timeout=0.3, retries=0)
        with pytest.raises(ServiceError, match=r"no answer within 0\.3 s \(1 attempt\)"):
            HttpClient(settings).get_json(f"{server.url}/works/{JOR}")
        assert server.hung_up.wait(10)  # a byte or two after the deadline; the bound only guards against a hang
    finally:
        server.stop()


class OldStyleResponse:
    """A streamed requests response as it comes with urllib3 1.x, whose body stream has `read` but no `read1`."""

    def __init__(self, body: bytes):
        self.status_code, self.headers, self._body = 200, {}, io.BytesIO(body)
        self.raw = self  # the body stream

    def read(self, amt=None, decode_content=None):
        return self._body.read(amt)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return False


class OldStyleSession:
    def get(self, url, **options):
        return OldStyleResponse(b'{"status": "ok"}')


def test_a_body_from_urllib3_1_without_read1_is_read_with_read():
    """client.x__read_body 7 (`getattr` without a default: AttributeError with urllib3 1.x, which requests>=2.31
    allows)."""
    client = HttpClient(Settings(mailto="you@example.org"), session=OldStyleSession())
    assert client.get_json("https://api.crossref.org/works/10.1002/jor.1100150407") == {"status": "ok"}


class RecordingStream:
    """A response's raw stream that records what each read asks for, and hands out `pieces` one per read."""

    def __init__(self, *pieces: bytes):
        self.pieces, self.asked = list(pieces), []

    def read1(self, amount=None, decode_content=False):
        self.asked.append((amount, decode_content))
        return self.pieces.pop(0) if self.pieces else b""


def test_the_body_is_read_in_decoded_pieces_of_at_most_64_kb():
    """client.x__read_body 14, 16 (a read of no stated size: urllib3 then unpacks everything one socket read brought,
    so a compressed bomb costs its unpacked size in memory before the limit is checked)."""
    stream = RecordingStream(b'{"status": ', b'"ok"}')
    body = _read_body(stream, threading.Event(), 1_000, "Crossref", "https://api.crossref.org/works/x")
    assert body == b'{"status": "ok"}'
    assert stream.asked == [(65_536, True)] * 3  # two pieces, then the empty read that ends the body


# --- kb/doi/client.py: HttpClient._attempt -------------------------------------------------------------------------


class EndlessHeaders(RawServer):
    """A server whose answers never finish their headers: a byte every 50 ms until `stop`."""

    def __init__(self):
        super().__init__(accept_timeout=0.05)

    def _serve(self) -> None:
        connections = []
        while not self._stop.is_set():
            try:
                connections.append(self._listener.accept()[0])
                connections[-1].sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            except (TimeoutError, OSError):
                pass
            for connection in connections:
                with contextlib.suppress(OSError):  # that client has hung up
                    connection.sendall(b"a")
        for connection in connections:
            connection.close()


def test_python_exits_after_a_lookup_whose_headers_never_end(tmp_path):
    """client.xǁHttpClientǁ_attempt 22, 25, 28 (the request's worker thread not a daemon, so Python waits for it at
    exit: for ever, as each byte of the headers resets the socket timeout)."""
    server = EndlessHeaders()
    script = (
        "from kb.doi.client import HttpClient, Settings\n"
        "from kb.doi.errors import ServiceError\n"
        f"settings = Settings(crossref_url={server.url!r}, mailto='you@example.org', timeout=0.3, retries=0)\n"
        "try:\n"
        f"    HttpClient(settings).get_json({server.url + '/works/' + JOR!r})\n"
        "except ServiceError as error:\n"
        "    print(error)\n"
    )
    try:
        # the timeout only guards against a hang: Python exits about 0.3 s after it has started
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        )
    finally:
        server.stop()
    assert "failed: no answer within 0.3 s (1 attempt)" in result.stdout


# --- kb/doi/client.py: Settings.from_env, _base_url -------------------------------------------------------------------


def test_an_empty_environment_gives_the_documented_defaults():
    """client.xǁSettingsǁfrom_env 63, 89, 100 (no default for KB_HTTP_TIMEOUT, KB_HTTP_BACKOFF, KB_HTTP_MAX_WAIT:
    None instead of 15, 1 and 60 seconds)."""
    settings = Settings.from_env({})
    assert settings.crossref_url == "https://api.crossref.org"
    assert settings.doi_url == "https://doi.org"
    assert settings.mailto is None
    assert settings.timeout == 15.0
    assert settings.retries == 4
    assert settings.backoff == 1.0
    assert settings.max_wait == 60.0
    assert settings.max_bytes == 10_485_760
    assert settings.cache_days == 7.0


@pytest.mark.parametrize(
    ("name", "text", "field", "value"),
    [
        ("KB_HTTP_BACKOFF", "0.25", "backoff", 0.25),
        ("KB_CACHE_DAYS", "0.5", "cache_days", 0.5),
    ],
)
def test_kb_http_backoff_and_kb_cache_days_are_read_from_the_environment(name, text, field, value):
    """client.xǁSettingsǁfrom_env 33, 95, 96 (KB_HTTP_BACKOFF ignored), 37, 132, 133 (KB_CACHE_DAYS ignored), 127
    (KB_CACHE_DAYS compared with None: a TypeError)."""
    assert getattr(Settings.from_env({name: text}), field) == value


@pytest.mark.parametrize(
    ("name", "text", "field", "value"),
    [
        ("KB_HTTP_TIMEOUT", "0.01", "timeout", 0.01),
        ("KB_HTTP_MAX_WAIT", "0.01", "max_wait", 0.01),
        ("KB_HTTP_BACKOFF", "0", "backoff", 0.0),
        ("KB_HTTP_MAX_BYTES", "1", "max_bytes", 1),
        ("KB_CACHE_DAYS", "0", "cache_days", 0.0),
    ],
)
def test_each_setting_accepts_its_documented_minimum(name, text, field, value):
    """client.xǁSettingsǁfrom_env 71, 108 (a timeout or total wait under 1.01 s refused), 122 (a one-byte limit
    refused), 127, 134 (KB_CACHE_DAYS=0, never reuse a record, refused)."""
    assert getattr(Settings.from_env({name: text}), field) == value


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        (" https://mirror.example.org/crossref-X// ", "https://mirror.example.org/crossref-X"),
    ],
)
def test_a_base_url_loses_its_trailing_slashes_and_nothing_else(text, url):
    """client.x__base_url 2 (whitespace stripped instead of the slash), 3 (leading slashes stripped instead), 6 (a
    trailing X stripped too)."""
    assert Settings.from_env({"KB_CROSSREF_URL": text}).crossref_url == url


@pytest.mark.parametrize("text", ["ftp://api.crossref.org", "https:/api.crossref.org"])
def test_a_base_url_needs_both_an_http_scheme_and_a_host(text):
    """client.x__base_url 9 (`and` for `or`: a URL with only one of the two let through)."""
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"KB_CROSSREF_URL": text})
    assert str(refused.value) == (
        f"KB_CROSSREF_URL must be a base URL such as https://api.crossref.org, not '{text}'; fix or unset it"
    )


# --- kb/doi/client.py: HttpClient._attempt -------------------------------------------------------------------------


def test_a_request_given_up_on_is_left_to_a_daemon_thread():
    """client.xǁHttpClientǁ_attempt 22, 25, 28 (the worker not a daemon: Python would wait for it at exit). The same
    as test_python_exits_after_a_lookup_whose_headers_never_end, but in this process: mutmut only runs a mutant
    against tests that call the mutated function in-process, so it never runs that subprocess test on them."""
    server = EndlessHeaders()
    before = set(threading.enumerate())
    try:
        settings = Settings(crossref_url=server.url, mailto="you@example.org", timeout=0.3, retries=0)
        with pytest.raises(ServiceError):
            HttpClient(settings).get_json(f"{server.url}/works/{JOR}")
        # the server is still sending header bytes, so the worker is still waiting for them
        assert [thread.daemon for thread in set(threading.enumerate()) - before] == [True]
    finally:
        server.stop()
