"""Focused tests that kill mutants mutmut found surviving (`make mutation`, benchmarks/MUTATION.md).

Each test pins one behaviour the rest of the suite exercised without checking; the mutants it was written against are
named in its docstring (mutmut names: module.x_function__mutmut_N).
"""

from __future__ import annotations

import datetime
import email.utils
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from kb.doi.cache import Cache
from kb.doi.check import (
    CheckRun,
    EntryCheck,
    Mismatch,
    NoticeEditError,
    check_entries,
    compare_citation,
    new_notices,
    notice_mismatches,
    notices_of,
    notices_yaml,
    with_notices,
    write_notices,
)
from kb.doi.client import Settings, _amount, _connection_reason, _looks_truncated, _retry_after, _too_deep, _too_large
from kb.doi.crossref import citation_from_work
from kb.doi.draft import Draft, existing_duplicates, write_draft
from kb.doi.errors import BadResponseError, NotFoundError
from kb.doi.fetch import Work, fetch_work
from kb.doi.suggestion import Outcome, TopicMatch, design_term, match_topics, read_suggestion, report, split_topics
from kb.doi.watch import CELL_LIMIT, watch_report
from kb.load import load_entry, load_text
from kb.model import Author, Citation
from kb.problems import ERROR, Problem
from kb.references import format_reference, sort_key, to_bibtex, to_csl_json, to_entry, to_ris, year_suffixes
from kb.references.apa import apa_name, doi_link, initials
from kb.references.fields import organisation_name
from kb.references.titles import is_title_case, sentence_case
from kb.vocabulary import load_vocabulary

ROOT = Path(__file__).resolve().parents[1]


def cited(study_id: str, citation: Citation) -> SimpleNamespace:
    """What the citation writers read of a study: its id and its citation."""
    return SimpleNamespace(id=study_id, citation=citation)


# --- kb/references/titles.py ----------------------------------------------------------------------------------


def test_sentence_case_keeps_acronyms_mixed_case_words_names_and_words_with_digits():
    """titles.x__keeps_capitals 9, 10, 12, 14, 15, 21, 24 and x_sentence_case 11, 14."""
    assert sentence_case("Expression Of Ki67 In iPhone Users At McLean Hospital") == (
        "Expression of Ki67 in iPhone users at McLean hospital"
    )
    assert sentence_case("Outcomes Of American Veterans") == "Outcomes of American veterans"
    assert sentence_case("Effects Of XL Doses") == "Effects of XL doses"  # x_sentence_case 10 strips the X


def test_sentence_case_works_on_each_part_of_a_hyphenated_word_and_sees_past_brackets():
    """titles.x_sentence_case 5, 6, 9, 18."""
    assert sentence_case("The MDMA-Assisted Therapy Trial") == "The MDMA-assisted therapy trial"
    assert sentence_case("Outcomes In (American) Veterans") == "Outcomes in (American) veterans"


def test_title_case_needs_three_candidate_words_after_the_first():
    """titles.x_is_title_case 5, 13, 14, 15."""
    assert is_title_case("Psilocybin Therapy Improves Depression")
    assert not is_title_case("Psilocybin For Depression")
    assert not is_title_case("Short Title")


def test_title_case_at_exactly_four_in_five_capitalised_words():
    """titles.x_is_title_case 20: the threshold is inclusive."""
    assert is_title_case("Effects Of Psilocybin On Mood, Anxiety, Sleep and wellbeing")


def test_title_case_ignores_brackets_and_quotes_around_a_word():
    """titles.x_is_title_case 2 (strip whitespace only) and 3 (strip X too)."""
    assert is_title_case("Effects Of (Psilocybin) On (Major) (Depression)")
    assert is_title_case("Xenon Exposure And Xylazine Use In Xerostomia")


def test_title_case_counts_hyphenated_words_and_skips_numbers_and_acronyms():
    """titles.x__keeps_capitals 8, 11 and x_is_title_case 6, 7."""
    assert is_title_case("Outcomes In Post-Ébola Survivors Of The Outbreak")
    assert is_title_case("Psilocybin Therapy Works: 12-week And 24-week Results")
    assert not is_title_case("MDMA and PTSD: RCT in USA veterans")


# --- kb/references/fields.py and exports.py --------------------------------------------------------------------

CHAPTER = Citation(
    type="chapter",
    title="Set and setting",
    authors=[Author(family="Hartogsohn", given="Ido")],
    year=2020,
    book_title="Handbook of psychedelic medicine",
    editors=[Author(family="Roy", given="Ann"), Author(family="Lee", given="Kim")],
    publisher="Springer",
    pages="3-9",
)


def test_a_chapters_bibtex_uses_bibtex_field_names():
    """fields.x_to_entry 18, 25, 34, 75: pybtex's fields are case-insensitive, the written file is not."""
    assert to_bibtex([cited("hartogsohn-2020", CHAPTER)]) == (
        "@incollection{hartogsohn-2020,\n"
        "  author = {Hartogsohn, Ido},\n"
        "  editor = {Roy, Ann and Lee, Kim},\n"
        "  title = {Set and setting},\n"
        "  year = {2020},\n"
        "  booktitle = {Handbook of psychedelic medicine},\n"
        "  publisher = {Springer},\n"
        "  pages = {3--9},\n"
        "}\n"
    )


def test_a_preprint_is_marked_in_bibtex_and_csl_json():
    """fields.x_to_entry 51-60 and exports.x_csl_item 31-40."""
    preprint = Citation(type="preprint", title="T", authors=[Author(name="WHO")], year=2024, publisher="medRxiv")
    assert "  note = {Preprint},\n" in to_bibtex([cited("who-2024", preprint)])
    assert to_csl_json([cited("who-2024", preprint)])[0]["genre"] == "Preprint"
    article = Citation(type="article", title="T", authors=[Author(name="WHO")], year=2024)
    assert "note" not in to_entry(article).fields
    assert "genre" not in to_csl_json([cited("who-2024", article)])[0]


def test_only_a_thesis_gets_a_degree_type():
    """fields.x_to_entry 62, 64."""
    thesis = Citation(type="thesis", title="T", authors=[Author(family="Lee", given="A")], thesis_type="doctoral")
    assert "  type = {Doctoral dissertation},\n" in to_bibtex([cited("lee", thesis)])
    book = Citation(type="book", title="T", authors=[Author(family="Lee", given="A")], thesis_type="doctoral")
    assert "type" not in to_entry(book).fields


def test_a_url_reaches_ris_and_csl_json():
    """fields.x_flat_fields 32 and exports.x_csl_item 61."""
    web = Citation(type="report", title="T", authors=[Author(name="WHO")], url="https://example.org/report")
    assert "UR  - https://example.org/report\r\n" in to_ris([cited("who", web)])
    assert to_csl_json([cited("who", web)])[0]["URL"] == "https://example.org/report"


def test_a_blank_organisation_name_writes_nothing_in_every_format():
    """fields.x__person 8, exports.x__ris_name 3, exports.x__csl_name 5."""
    blank = Citation(type="report", title="T", authors=[Author(name="  ")])
    assert to_entry(blank).persons["author"][0].last_names == ["{}"]
    assert "AU  - " not in to_ris([cited("blank", blank)])
    assert to_csl_json([cited("blank", blank)])[0]["author"] == [{"literal": ""}]


def test_a_person_with_only_a_given_name_is_not_an_organisation():
    """fields.x_organisation_name 2: no last name at all."""
    entry = to_entry(Citation(type="article", title="T", authors=[Author(given="Madonna")]))
    assert organisation_name(entry.persons["author"][0]) is None
    assert format_reference(Citation(type="article", title="T", authors=[Author(given="Madonna")])).text.startswith(
        "M. (n.d.)."
    )


def test_bibtex_braces_words_with_capitals_after_the_first_letter():
    """exports.x__protect_case 8, 9."""
    text = to_bibtex([cited("x", Citation(type="article", title="eHealth for Major Depression", authors=[]))])
    assert "  title = {{eHealth} for {Major} {Depression}},\n" in text


def test_bibtex_braces_name_parts_a_comma_or_and_would_split():
    """exports.x__bibtex_name_part 3, 5-10, 17, 18."""

    def author_line(author: Author) -> str:
        text = to_bibtex([cited("x", Citation(type="article", title="T", authors=[author]))])
        return text.splitlines()[1]

    assert author_line(Author(family="Smith, Jones", given="Ann")) == "  author = {{Smith, Jones}, Ann},"
    assert author_line(Author(family="Johnson AND Johnson", given="Kim")) == "  author = {{Johnson AND Johnson}, Kim},"
    assert author_line(Author(family="Ramsey and Sons", given="Kim")) == "  author = {{Ramsey and Sons}, Kim},"
    assert author_line(Author(family="Lee", given="Ann")) == "  author = {Lee, Ann},"


def test_bibtex_names_without_a_given_name():
    """exports.x__bibtex_name 20, 29, 32, 34, 35."""

    def author_line(author: Author) -> str:
        text = to_bibtex([cited("x", Citation(type="article", title="T", authors=[author]))])
        return text.splitlines()[1]

    assert author_line(Author(family="Plato")) == "  author = {Plato},"
    assert author_line(Author(family="Agin Liebes")) == "  author = {Agin Liebes, },"
    assert author_line(Author(family="Lee", suffix="Jr.")) == "  author = {Lee, Jr., },"
    assert author_line(Author(family="Lee", given="Ann", suffix="Jr. III")) == "  author = {Lee, Jr. III, Ann},"


def test_bibtex_doi_and_url_braces_are_percent_encoded():
    """exports.x__bibtex_value 10-15."""
    web = Citation(type="report", title="T", authors=[], url="https://example.org/{x}", doi="10.1000/{y}")
    text = to_bibtex([cited("x", web)])
    assert "  url = {https://example.org/%7Bx%7D},\n" in text
    assert "  doi = {10.1000/%7By%7D},\n" in text


def test_bibtex_entries_are_separated_by_a_blank_line():
    """exports.x_to_bibtex 2."""
    one = Citation(type="article", title="T", authors=[Author(name="WHO")])
    assert (
        to_bibtex([cited("a", one), cited("b", one)]) == "@article{a,\n  author = {{WHO}},\n  title = {T},\n}\n\n"
        "@article{b,\n  author = {{WHO}},\n  title = {T},\n}\n"
    )


def test_ris_keeps_the_given_name_slot_when_there_is_only_a_suffix():
    """exports.x__ris_name 11-14: RIS names are "Last, First, Suffix"."""
    lee = Citation(type="article", title="T", authors=[Author(family="Lee", suffix="Jr.")])
    assert "AU  - Lee, , Jr.\r\n" in to_ris([cited("lee", lee)])


# --- kb/references/apa.py ---------------------------------------------------------------------------------------


def test_initials_skip_words_without_a_letter():
    """apa.x_initials 13, 14."""
    assert initials("John 3") == "J."
    assert initials("Mary-(2)") == "M."


def test_apa_name_keeps_a_suffix_of_two_words():
    """apa.x_apa_name 16."""
    entry = to_entry(Citation(type="article", title="T", authors=[Author(family="Lee", given="Ann", suffix="Jr. III")]))
    assert apa_name(entry.persons["author"][0]) == "Lee, A., Jr. III"


def test_doi_links_keep_the_characters_a_url_allows():
    """apa.x_doi_link 5."""
    assert doi_link("10.1002/a:b;c,d=e") == "https://doi.org/10.1002/a:b;c,d=e"
    assert doi_link("10.1000/x(y)") == "https://doi.org/10.1000/x%28y%29"


def test_plain_http_urls_are_links_too():
    """apa.x__is_web_url 5, 6."""
    ref = format_reference(Citation(type="report", title="T", authors=[Author(name="WHO")], url="http://who.int/r"))
    assert '<a href="http://who.int/r">http://who.int/r</a>' in ref.html
    assert ref.markdown.endswith("](http://who.int/r)")


def test_latex_characters_in_book_titles_schools_and_publishers_stay_as_typed():
    """apa.xǁAPAStyleǁget_incollection_template 25, 27, 30, get_thesis_template 17, 19, 22 and _publisher 14, 16, 17:
    the fields are read raw, not as LaTeX."""
    chapter = Citation(
        type="chapter",
        title="T",
        authors=[Author(family="Lee", given="Ann")],
        year=2020,
        book_title="The {LSD} handbook ~ 2nd edition",
        publisher="Smith & {Sons}",
    )
    text = format_reference(chapter).text
    assert "The {LSD} handbook ~ 2nd edition" in text
    assert "Smith & {Sons}." in text
    thesis = Citation(type="thesis", title="T", authors=[Author(family="Lee", given="Ann")], publisher="{ETH} Zürich")
    assert "[Thesis, {ETH} Zürich]" in format_reference(thesis).text


def test_more_than_26_works_of_one_year_get_double_letters():
    """apa.x_year_suffixes 25, 26, 29: after z comes aa, bb, ..."""
    works = {
        f"w{n:02d}": Citation("article", [Author("Griffiths", "R. R.")], f"Title {n:02d}", year=2016) for n in range(28)
    }
    suffixes = year_suffixes(works)
    assert [suffixes[f"w{n:02d}"] for n in (0, 25, 26, 27)] == ["a", "z", "aa", "bb"]


def test_year_suffixes_only_for_the_same_family_and_given_names():
    """apa.x_year_suffixes 4, 5, 7."""
    smith_john = Citation("article", [Author("Smith", "John")], "A", year=2016)
    jones_john = Citation("article", [Author("Jones", "John")], "B", year=2016)
    smith_ann = Citation("article", [Author("Smith", "Ann")], "C", year=2016)
    assert year_suffixes({"x": smith_john, "y": jones_john}) == {}
    assert year_suffixes({"x": smith_john, "z": smith_ann}) == {}


def test_year_suffixes_follow_titles_without_their_leading_article():
    """apa.x__title_key 7, 8, 9."""
    works = {
        key: Citation("article", [Author("Griffiths", "R. R.")], title, year=2016)
        for key, title in {"x": "The Alpha", "y": "Beta", "z": "A Zeta"}.items()
    }
    assert year_suffixes(works) == {"x": "a", "y": "b", "z": "c"}


def test_apa_order_puts_a_shorter_family_name_first_and_then_goes_by_given_names():
    """apa.x_sort_key 7-9: "nothing precedes something" (APA 7, 9.44)."""
    lee = Citation("article", [Author("Lee", "Zoe")], "Zeta", year=2020)
    lee_smith = Citation("article", [Author("Lee-Smith", "Ann")], "Alpha", year=2020)
    lee_ann = Citation("article", [Author("Lee", "Ann")], "Zeta", year=2020)
    lee_bob = Citation("article", [Author("Lee", "Bob")], "Alpha", year=2020)
    assert sorted([lee_smith, lee], key=sort_key) == [lee, lee_smith]
    assert sorted([lee_bob, lee_ann], key=sort_key) == [lee_ann, lee_bob]
    lee_alone = Citation("article", [Author("Lee")], "Zeta", year=2020)
    assert sorted([lee_ann, lee_alone], key=sort_key) == [lee_alone, lee_ann]


# --- kb/doi ---------------------------------------------------------------------------------------------------


def crossref_work(**record) -> Work:
    return Work("10.1016/j.x.2020.01.001", "crossref", {"DOI": "10.1016/j.x.2020.01.001", "title": ["T"], **record})


def test_notice_types_come_from_type_update_type_or_label_and_notes_name_the_label_and_source():
    """doi.check.x__notice 4, 9-14, 24-27, 31-49, 57, 58, 61, 63 and x__plain 1, 3, 8."""
    updates = [
        {"DOI": "10.1000/a", "update-type": "corrigendum"},
        {"DOI": "10.1000/b", "label": "Partial Retraction", "source": "pubmed"},
        {"DOI": "10.1000/c", "type": "expression-of-concern"},
        {"DOI": "10.1000/d", "type": "partial_retraction", "source": "publisher"},
        {"DOI": "10.1000/e", "type": "something_new"},
        {"DOI": "10.1000/f"},
        {"DOI": "10.1000/g", "type": "retraction", "label": "Retraction notice"},
        {"DOI": "10.1000/h", "type": "new-version"},
        {"DOI": "10.1000/i", "type": "erratum", "source": "  "},
    ]
    notes = [(n["type"], n["doi"], n["note"]) for n in notices_of(crossref_work(**{"updated-by": updates}))]
    assert notes == [
        ("correction", "10.1000/a", "Crossref records a corrigendum of this work"),
        ("retraction", "10.1000/b", "Crossref records a partial retraction of this work (source: pubmed)"),
        ("expression-of-concern", "10.1000/c", "Crossref records a expression-of-concern of this work"),
        ("retraction", "10.1000/d", "Crossref records a partial retraction of this work"),
        ("other", "10.1000/e", "Crossref records a something new of this work"),
        ("other", "10.1000/f", "Crossref records a update of this work"),
        ("retraction", "10.1000/g", "Crossref records a retraction notice of this work"),
        ("correction", "10.1000/i", "Crossref records a erratum of this work"),
    ]


def test_only_is_something_by_relations_that_name_a_notice_word_are_notices():
    """doi.check.x__relation_kind 2, 11."""
    target = [{"id-type": "doi", "id": "10.1000/n"}]
    assert notices_of(crossref_work(relation={"is-correction-of": target, "is-supplemented-by": target})) == []


def test_notices_are_written_as_block_yaml_in_their_order_on_one_line_each():
    """doi.check.x_notices_yaml 5-7, 9-11, 13, 14."""
    note = "Crossref records a retraction of this work — " + "long " * 30
    assert notices_yaml([{"type": "retraction", "doi": "10.1/r", "note": note.strip()}]) == (
        f"  - type: retraction\n    doi: 10.1/r\n    note: {note.strip()}\n"
    )


NOTICE = {"type": "retraction", "doi": "10.1/r"}
NOTICE_LINES = "  - type: retraction\n    doi: 10.1/r\n"


def test_notices_go_under_a_notices_key_with_a_comment_and_at_the_end_of_the_file():
    """doi.check.x_with_notices 11, 32; the comment on the `notices:` line itself is kept (it was dropped)."""
    text = with_notices("id: x\nnotices:  # reviewed\n  - type: correction\n", [NOTICE])
    assert text.startswith("id: x\nnotices:  # reviewed\n")
    assert text.endswith("  - type: correction\n" + NOTICE_LINES)
    assert yaml.safe_load(text)["notices"] == [{"type": "correction"}, NOTICE]
    # the whole comment, a "#" inside it too (x_with_notices 64)
    text = with_notices("id: x\nnotices:  # see #12 and #14\n  - type: correction\n", [NOTICE])
    assert text.startswith("id: x\nnotices:  # see #12 and #14\n")


def test_notices_are_added_right_after_the_last_item_before_blank_lines():
    """doi.check.x_with_notices 44, 47."""
    assert with_notices("id: x\nnotices:\n  - type: correction\n\ntitle: T\n", [NOTICE]) == (
        "id: x\nnotices:\n  - type: correction\n" + NOTICE_LINES + "\ntitle: T\n"
    )
    assert (
        with_notices("id: x\nnotices:\n\ntitle: T\n", [NOTICE]) == "id: x\nnotices:\n" + NOTICE_LINES + "\ntitle: T\n"
    )


def test_the_notices_block_runs_past_comments_and_takes_its_own_indent():
    """doi.check.x_with_notices 35, 52."""
    text = "id: x\nnotices:\n- type: correction\n#c\n- type: other\ntitle: T\n"
    assert with_notices(text, [NOTICE]) == (
        "id: x\nnotices:\n- type: correction\n#c\n- type: other\n- type: retraction\n  doi: 10.1/r\ntitle: T\n"
    )
    text = "tags:\n    - a\nnotices:\n  - type: correction\n"
    assert with_notices(text, [NOTICE]) == text + NOTICE_LINES


def test_an_inline_notices_list_is_refused_with_its_own_message():
    """doi.check.x_with_notices 1, 2, 21, 22."""
    with pytest.raises(NoticeEditError) as refused:
        with_notices("id: x\nnotices: [{type: other}]\n", [NOTICE])
    assert str(refused.value) == "entry: 'notices:' is written inline; add the notice by hand"


def test_author_mismatches_show_the_names_as_the_entry_and_crossref_write_them():
    """doi.check.x__show_person 2-8, 14, 18-21."""

    def first_author_mismatch(ours: str, theirs: list[dict]) -> str:
        entry = load_text(f"id: x\ncitation:\n  authors:\n    - {ours}\n", "entries/x.yaml")
        [mismatch] = [m for m in compare_citation(entry, crossref_work(author=theirs)) if m.field == "authors[0]"]
        return f"{mismatch.ours} / {mismatch.theirs}"

    assert first_author_mismatch("{name: WHO}", [{"name": "UNICEF"}]) == "WHO / UNICEF"
    assert first_author_mismatch("{family: Plato}", [{"family": "Jones", "given": "Bob"}]) == "Plato / Jones, Bob"
    assert first_author_mismatch("Smith", [{"family": "Jones"}]) == "Smith / Jones"


def test_a_new_entry_is_compared_with_every_entry_by_doi_and_by_title(tmp_path):
    """doi.draft.x_existing_duplicates (all 56 mutants but the placeholders 4, 51 and the threshold 52)."""
    (tmp_path / "a.yaml").write_text("id: same-doi\ntitle: Another title\ncitation:\n  doi: 10.1000/ABC\n")
    (tmp_path / "b.yaml").write_text("# no id yet\nyear: 2020\ntitle: Psilocybin for major depression\n")
    (tmp_path / "c.yaml").write_text("id: other\ntitle: Ketamine for pain\ncitation:\n  doi: 10.1000/other\n")
    (tmp_path / "a0.yaml").write_text("id: [unclosed\n")  # broken, and read before b.yaml
    (tmp_path / "e.yaml").write_text("- a list, not a mapping\n")
    paths = sorted(tmp_path.glob("*.yaml"))
    warnings = existing_duplicates(paths, "10.1000/abc", "Psilocybin for Major Depression")
    shown = {path.stem: load_entry(path).path for path in paths if path.stem != "a0"}
    assert warnings == [
        f"DOI 10.1000/abc is already in the knowledge base: same-doi ({shown['a']}:4)",
        f"title is nearly identical to b ({shown['b']}:3): probable duplicate",
    ]
    assert existing_duplicates(paths, "10.1000/new", None) == []


def test_the_suggestion_report_when_nothing_could_be_drafted():
    """doi.suggestion.x_report (no fast test read it)."""
    assert report(Outcome(reason="the DOI is not *registered*")) == (
        "**kb could not draft an entry from this suggestion.**\n\n"
        "Reason: the DOI is not \\*registered\\*\n\n"
        "A maintainer will look at it. If the DOI is wrong, edit the issue and the draft is tried again.\n"
    )


def test_the_suggestion_report_of_a_draft():
    """doi.suggestion.x_report (no fast test read it)."""
    outcome = Outcome(
        entry_id="lee-2024-psilocybin",
        design="rct",
        match=TopicMatch(
            tags={"substances": ["psilocybin"], "conditions": ["depression", "ptsd"]}, unmatched=["x_y", "z"]
        ),
        todo=[f"problem {n}" for n in range(10)],
        duplicates=["title is nearly identical to lee"],
    )
    assert report(outcome) == (
        "**kb drafted the entry `lee-2024-psilocybin` (not saved)** from the DOI's record: the citation is filled in; "
        "everything a person must write from the paper is marked TODO.\n"
        "\n"
        "- Design, as suggested: `rct` (check it against the paper).\n"
        "- Substances: `psilocybin`\n"
        "- Conditions: `depression`, `ptsd`\n"
        "- Not in the vocabulary, for a maintainer to place or add as terms: “x\\_y”, “z”\n"
        "- Possible duplicate: title is nearly identical to lee\n"
        "\n"
        "`kb validate` finds 10 thing(s) still to write, for example:\n"
        "\n"
        "```text\n" + "".join(f"problem {n}\n" for n in range(8)) + "```\n"
        "\n"
        "Write the summary from the paper in your own words (see CONTRIBUTING.md), then mark the pull request ready "
        "for review.\n"
    )
    assert report(Outcome(entry_path="entries/a.yaml")).startswith("**kb drafted `entries/a.yaml`** from")


class FakeClient:
    """Answers get_json from a table of URLs (None: the service said 404) and notes every request."""

    def __init__(self, answers: dict):
        self.answers, self.calls = answers, []

    def get_json(self, url: str, *, accept: str = "application/json", service: str = "Crossref"):
        self.calls.append((url, accept, service))
        return self.answers.get(url)


def agency_answer(agency) -> dict:
    return {"status": "ok", "message-type": "work-agency", "message": {"DOI": "10.5061/x", "agency": agency}}


def fetch_from_agency(tmp_path, agency, record=None) -> tuple[Work, FakeClient]:
    client = FakeClient(
        {
            "https://api.crossref.org/works/10.5061/x/agency": agency_answer(agency),
            "https://doi.org/10.5061/x": record,
        }
    )
    return fetch_work("10.5061/x", Settings(cache_dir=tmp_path), refresh=True, client=client), client


def test_a_doi_of_another_agency_is_read_from_doi_org_as_csl_json(tmp_path):
    """doi.fetch.x__from_registration_agency: services, labels, a one-item list, a record with only a DOI."""
    work, client = fetch_from_agency(tmp_path, {"id": "DataCite"}, [{"DOI": "10.5061/x", "abstract": "left out"}])
    assert work == Work("10.5061/x", "datacite", {"DOI": "10.5061/x"})
    assert [(url, service) for url, _, service in client.calls] == [
        ("https://api.crossref.org/works/10.5061/x", "Crossref"),
        ("https://api.crossref.org/works/10.5061/x/agency", "Crossref"),
        ("https://doi.org/10.5061/x", "doi.org (DataCite)"),
    ]
    assert client.calls[-1][1] == "application/vnd.citationstyles.csl+json"
    work, _ = fetch_from_agency(tmp_path, {"id": "datacite"}, {"title": "Only a title"})
    assert work.record == {"title": "Only a title"}


def test_what_another_agency_cannot_give_is_said_in_one_line(tmp_path):
    """doi.fetch.x__from_registration_agency and x__shape_error: every refusal and its words."""
    with pytest.raises(NotFoundError) as refused:
        fetch_from_agency(tmp_path, {"id": "newagency"}, None)
    assert (
        str(refused.value)
        == "DOI 10.5061/x is registered with newagency, but doi.org has no metadata for it; try later"
    )
    with pytest.raises(NotFoundError) as refused:
        fetch_from_agency(tmp_path, {"id": "crossref"})
    assert str(refused.value) == (
        "DOI 10.5061/x is registered with Crossref but Crossref has no record of it; try again later"
    )
    shape = ", not the metadata expected; try again later, and report it if it persists"
    client = FakeClient({"https://api.crossref.org/works/10.5061/x/agency": {"status": "ok"}})
    with pytest.raises(BadResponseError) as refused:
        fetch_work("10.5061/x", Settings(cache_dir=tmp_path), refresh=True, client=client)
    assert str(refused.value) == "Crossref answered for DOI 10.5061/x with JSON without a 'message' record" + shape
    for agency in ({"id": "not an id!"}, "datacite", {"label": "DataCite"}):
        with pytest.raises(BadResponseError) as refused:
            fetch_from_agency(tmp_path, agency)
        assert str(refused.value) == (
            "Crossref answered for DOI 10.5061/x with an agency answer without a usable agency id" + shape
        )
    for record in ([{"DOI": "10.5061/x"}, {"DOI": "10.5061/y"}], {"doi": "10.5061/x"}, ["not a record"]):
        with pytest.raises(BadResponseError) as refused:
            fetch_from_agency(tmp_path, {"id": "medra"}, record)
        assert str(refused.value) == "doi.org (mEDRA) answered for DOI 10.5061/x with JSON that is not a CSL record" + (
            shape
        )
    client = FakeClient({})
    with pytest.raises(NotFoundError) as refused:
        fetch_work("10.5061/x", Settings(cache_dir=tmp_path), refresh=True, client=client)
    assert str(refused.value) == (
        "DOI 10.5061/x is not registered: Crossref and the other DOI agencies do not know it; check it for typos "
        "against the paper"
    )


def test_a_record_of_an_unexpected_shape_says_to_write_the_citation_by_hand():
    """doi.crossref.x__shape."""
    with pytest.raises(BadResponseError) as refused:
        citation_from_work(Work("10.1000/x", "crossref", {"DOI": "10.1000/x", "title": ["T"], "author": "Smith"}))
    assert str(refused.value).endswith(
        "report it, and write the citation by hand from entries/_template.yaml meanwhile"
    )


def test_authors_are_the_same_person_by_family_name_and_initial_when_both_have_one():
    """doi.check.x__person_key 12-15 and x__same_person 7, 9."""

    def mismatched(ours: str, theirs: list[dict]) -> bool:
        entry = load_text(f"id: x\ncitation:\n  authors:\n    - {ours}\n", "entries/x.yaml")
        return any(m.field == "authors[0]" for m in compare_citation(entry, crossref_work(author=theirs)))

    assert mismatched("{family: Smith, given: Ann}", [{"family": "Smith", "given": "Bob"}])
    assert not mismatched("{family: Smith, given: Ann}", [{"family": "Smith", "given": "A."}])
    assert not mismatched("{family: Smith}", [{"family": "Smith", "given": "Bob"}])


def test_a_suggestion_with_only_a_doi_has_empty_answers():
    """doi.suggestion.x_read_suggestion 7, 9, 26-46 and 1 (a body of exactly the limit is read)."""
    suggestion = read_suggestion("### DOI\n\n10.1000/x\n")
    assert (suggestion.doi_text, suggestion.title, suggestion.design, suggestion.topics) == ("10.1000/x", "", "", [])
    body = "### DOI\n\n10.1000/x\n\n### Anything else\n\n"
    body += "x" * (65_536 - len(body))
    assert read_suggestion(body).doi_text == "10.1000/x"


def test_the_forms_design_choices_are_the_vocabularys_designs():
    """doi.suggestion.x_design_term (no fast test read it)."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    assert design_term(" Randomised controlled trial ", vocabulary) == "randomized-controlled-trial"
    assert design_term("Case report", vocabulary) is None
    missing = load_vocabulary(ROOT / "vocabulary.yml")
    missing.facets["designs"].terms.pop("randomized-controlled-trial")
    assert design_term("Randomised controlled trial", missing) is None


def test_an_edit_that_would_change_other_values_is_refused_naming_the_file(tmp_path):
    """doi.check.x__verify 20, x_with_notices 81 and x_write_notices 9, 12."""
    with pytest.raises(NoticeEditError) as refused:
        with_notices("id: x\nnotices:\n  type: correction\n", [NOTICE], "entries/x.yaml")
    assert str(refused.value) == (
        "entries/x.yaml: could not add the notice without changing other values; add it by hand"
    )
    path = tmp_path / "x.yaml"
    path.write_text("id: x\nnotices: [{type: other}]\n")
    with pytest.raises(NoticeEditError) as refused:
        write_notices(path, [NOTICE])
    assert str(refused.value) == f"{load_entry(path).path}: 'notices:' is written inline; add the notice by hand"


def test_a_draft_is_never_written_over_an_existing_file(tmp_path):
    """doi.draft.x_write_draft 3: the error names the file."""
    draft = Draft(id="lee-2024", text="id: lee-2024\n")
    target = write_draft(draft, tmp_path)
    with pytest.raises(FileExistsError) as refused:
        write_draft(Draft(id="lee-2024", text="other\n"), tmp_path)
    assert refused.value.args == (target,)
    assert target.read_text() == "id: lee-2024\n"


def test_sizes_in_messages_are_whole_mebibytes_or_counted_bytes():
    """doi.client.x__amount 8, 9."""
    assert [_amount(n) for n in (1024 * 1024, 10 * 1024 * 1024, 0, 1500)] == ["1 MB", "10 MB", "0 bytes", "1,500 bytes"]


def test_json_that_starts_well_and_stops_is_truncated_and_other_text_is_not():
    """doi.client.x__looks_truncated 2, 6, 7."""

    def truncated(text: str) -> bool:
        with pytest.raises(json.JSONDecodeError) as error:
            json.loads(text)
        return _looks_truncated(text, error.value)

    assert truncated('  {"a": 1') and truncated("[1, 2")
    assert not truncated("x")


def test_a_form_body_with_old_mac_line_ends_is_read():
    """doi.suggestion.x_form_answers 13, 14."""
    assert read_suggestion("### DOI\r\r10.1000/x\r\r### Title\r\rA trial\r").title == "A trial"


def test_topics_are_split_and_their_markup_and_spacing_cleaned():
    """doi.suggestion.x_split_topics 5-7."""
    assert split_topics("major   depression, *psilocybin*; `LSD` and Xanax") == [
        "major depression",
        "psilocybin",
        "LSD",
        "Xanax",
    ]


def test_an_entry_title_may_include_crossrefs_subtitle_or_leave_it_out():
    """doi.check.x_compare_citation 35-37, 40-48, 72-80."""
    record = {"title": ["Psilocybin for depression"], "subtitle": ["a randomised trial"]}

    def title_mismatches(title: str) -> list[str]:
        entry = load_text(f"id: x\ntitle: '{title}'\n", "entries/x.yaml")
        return [m.format() for m in compare_citation(entry, crossref_work(**record)) if m.field == "title"]

    assert title_mismatches("Psilocybin for depression: A randomised trial") == []
    assert title_mismatches("Psilocybin for depression") == []
    assert title_mismatches("Ketamine for pain") == [
        "entries/x.yaml:2: title: entry says Ketamine for pain, Crossref says Psilocybin for depression: "
        "a randomised trial"
    ]


def test_an_entry_may_give_the_journals_short_title():
    """doi.check.x_compare_citation 131, 132."""
    record = {"container-title": ["Journal of Psychedelic Studies"], "short-container-title": ["J Psychedelic Stud"]}
    entry = load_text("id: x\ncitation:\n  journal: J Psychedelic Stud\n", "entries/x.yaml")
    assert [m for m in compare_citation(entry, crossref_work(**record)) if m.field == "journal"] == []


def test_a_five_letter_topic_is_matched_by_spelling_too():
    """doi.suggestion.x__term_for 9: only topics shorter than five letters must match exactly."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    assert match_topics(["MDMAs", "LSDs"], vocabulary) == TopicMatch(tags={"substances": ["mdma"]}, unmatched=["LSDs"])


def test_a_misspelt_topic_takes_the_closest_facet_the_first_on_a_tie_and_nothing_below_eighty():
    """doi.suggestion.x__term_for 19, 27, 29, 30, 31 (scores are rapidfuzz's ratio of the folded names)."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    # mechanisms' "mystical experience" scores 80, outcomes' "acute experience" 97: the closer one wins
    assert match_topics(["acut experience"], vocabulary).tags == {"outcomes": ["acute-experience"]}
    # self-compassion is a mechanism and an outcome, equally close: the facet named first in TOPIC_FACETS wins
    assert match_topics(["self compasion"], vocabulary).tags == {"mechanisms": ["self-compassion"]}
    # "addictive" scores 78 against "addiction" (substance use): another word, not a spelling of it
    assert match_topics(["addictive"], vocabulary) == TopicMatch(tags={}, unmatched=["addictive"])


def test_an_oversized_or_overdeep_answer_points_at_the_service_settings():
    """doi.client.x__too_large 2-5 and x__too_deep 2-4: the advice names the settings to check."""
    assert str(_too_large("Crossref", "https://api.crossref.org/works/x", "sent more than 1 MB")) == (
        "Crossref (api.crossref.org) sent more than 1 MB (KB_HTTP_MAX_BYTES); no record is that large, so check "
        "KB_CROSSREF_URL and KB_DOI_URL"
    )
    assert str(_too_deep("Crossref")).endswith(
        "to be a record; check KB_CROSSREF_URL and KB_DOI_URL, and report it if they are right"
    )


def test_check_entries_reports_progress_entries_without_a_doi_and_broken_entries(tmp_path):
    """doi.check.x_check_entries 2, 4, 13, 14 and x_check_entry 3, 7, 10, 67."""
    (tmp_path / "a.yaml").write_text("id: a\ntitle: T\n")
    (tmp_path / "b.yaml").write_text("id: [unclosed\n")
    (tmp_path / "c.yaml").write_text("- a list, not an entry\n")
    (tmp_path / "d.yaml").write_text("id: d\ntitle: T\ncitation:\n  doi: 10.1016/j.x.2020.01.001\n")
    paths = sorted(tmp_path.glob("*.yaml"))
    shown = []

    def progress(items):
        shown.append(list(items))
        return iter(shown[-1])

    notice = crossref_work(**{"update-to": [{"DOI": "10.1000/s", "type": "retraction"}]})
    run = check_entries(paths, fetch=lambda doi: notice, progress=progress)
    assert shown == [paths]
    assert run.without_doi == [str(paths[0]), str(paths[2])]
    assert [result.path for result in run.results] == [str(paths[1]), load_entry(paths[3]).path]
    assert [m.field for m in run.results[1].mismatches] == ["doi"]


def test_pages_and_article_numbers_are_named_as_the_record_has_them():
    """doi.check.x_compare_citation 211, 218-222, 228-230 and x__compare_authors 9 (lists of unequal length)."""

    def locator_mismatch(citation: str, **record) -> tuple[str, str, str]:
        entry = load_text(f"id: x\ncitation:\n{citation}", "entries/x.yaml")
        [mismatch] = [m for m in compare_citation(entry, crossref_work(**record)) if m.field != "title"]
        return mismatch.field, mismatch.ours, mismatch.theirs

    assert locator_mismatch("  pages: 10-20\n", page="30-40") == ("pages", "10-20", "30-40")
    assert locator_mismatch("  article_number: e123\n", **{"article-number": "e456"}) == (
        "article_number",
        "e123",
        "e456",
    )
    assert locator_mismatch("  article_number: e123\n", page="30-40") == ("pages", "e123", "30-40")
    entry = load_text("id: x\ncitation:\n  authors:\n    - {family: Lee}\n", "entries/x.yaml")
    both = [{"family": "Lee"}, {"family": "Roy"}]
    assert [
        (m.field, m.ours, m.theirs) for m in compare_citation(entry, crossref_work(author=both)) if m.field != "title"
    ] == [("authors", "1 authors", "2")]


def test_relation_notes_name_the_relation_and_a_retracted_title_adds_no_second_retraction():
    """doi.check.x_notices_of 23, 40-52, 56, 57, 64, 65, 77-82 and x__unique 9."""
    own = "10.1016/j.x.2020.01.001"
    work = crossref_work(
        **{
            "update-to": [{"DOI": own, "type": "withdrawal"}],
            "relation": {
                "is-corrected-by": [{"id-type": "doi", "id": "10.1000/c"}, {"id": "10.1000/d"}],
                "is-retracted-by": [{"id-type": "uri", "id": "https://doi.org/10.1000/u"}],
            },
        }
    )
    notices = notices_of(work)
    assert notices[:3] == [
        {"type": "withdrawal", "doi": own, "note": "Crossref records a withdrawal of this work"},
        {"type": "correction", "doi": "10.1000/c", "note": "Crossref relates it: is-corrected-by 10.1000/c"},
        {"type": "correction", "doi": "10.1000/d", "note": "Crossref relates it: is-corrected-by 10.1000/d"},
    ]
    [uri_target] = notices[3:]  # a relation to a URI, not a DOI: named as it is (the note used to end in "None")
    assert uri_target == {
        "type": "retraction",
        "note": "Crossref relates it: is-retracted-by https://doi.org/10.1000/u",
    }
    retraction = {"DOI": "10.1000/r", "type": "retraction"}
    retracted = crossref_work(title=["RETRACTED: T"], **{"updated-by": [retraction, retraction]})
    assert [(n["type"], n.get("doi")) for n in notices_of(retracted)] == [("retraction", "10.1000/r")]
    corrected = crossref_work(title=["RETRACTED: T"], **{"updated-by": [{"DOI": "10.1000/c", "type": "correction"}]})
    assert [(n["type"], n.get("doi")) for n in notices_of(corrected)] == [
        ("correction", "10.1000/c"),
        ("retraction", None),
    ]


def test_a_doi_that_is_a_notice_names_the_kind_and_an_update_in_place_is_not_one():
    """doi.check.x_notice_mismatches 11, 23-26."""
    entry = load_text("id: x\ncitation:\n  doi: 10.1016/j.x.2020.01.001\n", "entries/x.yaml")

    def theirs(*updates: dict) -> list[str]:
        return [m.theirs for m in notice_mismatches(entry, crossref_work(**{"update-to": list(updates)}))]

    assert theirs({"DOI": "10.1016/j.x.2020.01.001", "type": "correction"}) == []
    assert theirs({"DOI": "10.1000/s", "type": "expression_of_concern"}, {"DOI": "10.1000/t"}) == [
        "it is a expression of concern notice for 10.1000/s: cite that work and add the notice",
        "it is a update notice for 10.1000/t: cite that work and add the notice",
    ]


def test_only_notices_the_entry_does_not_record_are_proposed():
    """doi.check.x_new_notices 15-18, 29-36: by DOI, or by type when the notice has no DOI."""
    data = {"notices": [{"type": "retraction"}, {"type": "other", "doi": "10.1000/C"}, "not a notice"]}
    proposed = [
        {"type": "retraction", "note": "a"},
        {"type": "correction", "note": "b"},
        {"type": "retraction", "doi": "10.1000/r"},
        {"type": "correction", "doi": "10.1000/c"},
    ]
    assert new_notices(data, proposed) == [
        {"type": "correction", "note": "b"},
        {"type": "retraction", "doi": "10.1000/r"},
    ]


def test_connection_failures_are_named_by_what_went_wrong():
    """doi.client.x__connection_reason 9-44."""
    reasons = {
        "[Errno -2] Name or service not known": "host name not found",
        "[Errno 8] nodename nor servname provided": "host name not found",
        "getaddrinfo failed": "host name not found",
        "Connection reset by peer": "connection dropped before the answer was complete",
        "Connection aborted.": "connection dropped before the answer was complete",
        "IncompleteRead(10 bytes read)": "connection dropped before the answer was complete",
        "invalid chunked encoding": "connection dropped before the answer was complete",
        "Remote end closed connection: the stream ended": "connection dropped before the answer was complete",
        "No route to host": "connection failed",
    }
    assert {text: _connection_reason(OSError(text)) for text in reasons} == reasons


def test_retry_after_as_an_http_date_is_the_seconds_until_then():
    """doi.client.x__retry_after 7, 11-14, 19."""
    in_a_minute = email.utils.format_datetime(
        datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60)
    )
    assert 55 <= _retry_after({"Retry-After": in_a_minute.replace("+0000", "GMT")}) <= 61
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert _retry_after({"Retry-After": past}) == 0.0
    assert _retry_after({}) is None and _retry_after({"Retry-After": "soon"}) is None


def test_an_all_clear_watch_report_counts_the_entries_checked():
    """doi.watch.x_watch_report 4-19."""
    run = CheckRun(results=[EntryCheck("entries/a.yaml", checked=True), EntryCheck("entries/b.yaml")])
    assert watch_report(run) == (
        "<!-- kb retraction watch -->\n## Retraction watch: all clear\n\n"
        "`kb check-dois` checked 1 entry with a DOI and found no retraction, withdrawal, expression of concern or "
        "correction that an entry does not record yet, no citation that differs from its record, and no entry it "
        "could not check.\n\n"
        "This description is rewritten by the weekly retraction watch (`.github/workflows/retraction-watch.yml`) "
        "when its findings change, and the issue is closed when a check finds nothing.\n"
    )


def test_a_watch_report_with_one_finding_of_each_kind():
    """doi.watch.x_watch_report 29-35, 55, x__sections 28, 37, 38, 42, 43 and x__table 5, 12."""
    result = EntryCheck(
        "entries/a.yaml",
        mismatches=[Mismatch("entries/a.yaml", 4, "year", "2020", "2021", "Crossref")],
        notices=[{"type": "correction", "doi": "10.1000/c"}],
        notice_line=7,
        problems=[Problem("entries/a.yaml", 5, 3, ERROR, "bad")],
        checked=True,
    )
    body = watch_report(CheckRun(results=[result]))
    assert body.startswith(
        "<!-- kb retraction watch -->\n"
        "## Retraction watch: 1 correction, 1 citation difference and 1 problem in 1 entry\n\n"
        "### Corrections (1)\n\n"
        "| Entry | Line | Notice | Date | What the record says |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| entries\\/a\\.yaml | 7 | [10\\.1000\\/c](https://doi.org/10.1000/c) |  |  |\n\n"
        "### Citation differences (1)\n\n"
    )
    assert body.endswith("when its findings change, and the issue is closed when a check finds nothing.\n")
    assert not body.endswith("\n\n")


def test_a_proposed_notice_is_placed_at_the_entrys_notices_or_else_at_its_doi(tmp_path):
    """doi.check.x_check_entry 79-84."""
    notice = crossref_work(**{"updated-by": [{"DOI": "10.1000/r", "type": "retraction"}]})
    lines = {
        "with": "id: w\ncitation:\n  doi: 10.1016/j.x.2020.01.001\nnotices:\n  - type: correction\n",
        "without": "id: o\ntitle: T\ncitation:\n  doi: 10.1016/j.x.2020.01.001\n",
    }
    for name, text in lines.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    run = check_entries(sorted(tmp_path.glob("*.yaml")), fetch=lambda doi: notice)
    assert [(r.path.rsplit("/", 1)[-1], r.notice_line) for r in run.results] == [("with.yaml", 4), ("without.yaml", 4)]


def test_watch_reports_count_in_plural_cut_long_tables_and_long_cells():
    """doi.watch.x_watch_report 8, 14, 15, x__table 30, 33, 34, x__cell 6, 9 and x__join 1, 3."""
    checked = [EntryCheck(f"entries/{n}.yaml", checked=True) for n in range(2)]
    assert "`kb check-dois` checked 2 entries with a DOI" in watch_report(CheckRun(results=checked))

    def problems(count: int, text: str = "bad") -> str:
        found = [Problem("entries/a.yaml", n + 1, 1, ERROR, text) for n in range(count)]
        return watch_report(CheckRun(results=[EntryCheck("entries/a.yaml", problems=found)]))

    assert problems(100).startswith("<!-- kb retraction watch -->\n## Retraction watch: 100 problems in 1 entry\n")
    assert "more not shown" not in problems(100)
    assert "| --- |\n" + "".join(f"| entries\\/a\\.yaml | {n} | 1 | error: bad |\n" for n in range(1, 101)) + (
        "\n1 more not shown here: run `kb check-dois` to see them all.\n\n### What to do"
    ) in problems(101).replace("error\\:", "error:")
    fits = "x" * (CELL_LIMIT - len("error: "))
    assert f"| error: {fits} |" in problems(1, fits).replace("error\\:", "error:")
    assert f"| error: {fits[:-1]}\u2026 |" in problems(1, fits + "y").replace("error\\:", "error:")


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    """doi.cache.xǁCacheǁput 8: the cache only saves requests."""
    (tmp_path / "file").write_text("not a folder")
    cache = Cache(tmp_path / "file", 7)
    cache.put("work:10.1000/x", {"doi": "10.1000/x"})
    assert cache.get("work:10.1000/x") is None


def test_crossrefs_envelope_is_checked_and_a_missing_status_is_ok(tmp_path):
    """doi.fetch.x__message 18-49."""

    def agency_body(body: dict):
        client = FakeClient({"https://api.crossref.org/works/10.5061/x/agency": body})
        return fetch_work("10.5061/x", Settings(cache_dir=tmp_path), refresh=True, client=client)

    message = {"DOI": "10.5061/x", "agency": {"id": "crossref"}}
    with pytest.raises(NotFoundError):  # the envelope was accepted: the agency is Crossref itself
        agency_body({"message": message})
    shape = ", not the metadata expected; try again later, and report it if it persists"
    for body, what in (
        ({"status": "failed", "message": message}, "status 'failed', type None"),
        ({"message-type": "work", "message": message}, "status None, type 'work'"),
    ):
        with pytest.raises(BadResponseError) as refused:
            agency_body(body)
        assert str(refused.value) == f"Crossref answered for DOI 10.5061/x with {what}" + shape


def test_a_preprint_dated_only_by_posted_is_not_a_year_mismatch():
    """Found by the mutants of doi.check._years: the year kb would draft from the record is always accepted."""
    record = {"posted": {"date-parts": [[2020, 5, 1]]}, "type": "posted-content"}
    entry = load_text("id: x\ncitation:\n  year: 2020\n", "entries/x.yaml")
    assert [m for m in compare_citation(entry, crossref_work(**record)) if m.field == "year"] == []
    entry = load_text("id: x\ncitation:\n  year: 2019\n", "entries/x.yaml")
    assert [m.theirs for m in compare_citation(entry, crossref_work(**record)) if m.field == "year"] == ["2020"]
