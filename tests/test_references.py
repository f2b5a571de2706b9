"""Golden tests for APA 7 references and the BibTeX, RIS and CSL-JSON downloads (kb.references)."""

from __future__ import annotations

import doctest
import json
from html.parser import HTMLParser

import markdown
import pytest
from pybtex.database import parse_string
from pybtex.richtext import Text

import kb.references
import kb.references.apa
import kb.references.exports
import kb.references.fields
from kb.model import Author, Citation, Study, study_from_dict
from kb.references import format_reference, sort_key, to_bibtex, to_csl_json, to_entry, to_ris

SEED_TITLE = "Self-compassion mediates treatment effects in MDMA-assisted therapy for posttraumatic stress disorder"
SEED_TEXT = (
    "Agin-Liebes, G., Zeifman, R. J., & Mitchell, J. M. (2025). Self-compassion mediates treatment effects in "
    "MDMA-assisted therapy for posttraumatic stress disorder. European Journal of Psychotraumatology, 16(1), "
    "Article 2485513. https://doi.org/10.1080/20008066.2025.2485513"
)
SEED_HTML = (
    "Agin-Liebes, G., Zeifman, R. J., &amp; Mitchell, J. M. (2025). Self-compassion mediates treatment effects in "
    "MDMA-assisted therapy for posttraumatic stress disorder. <em>European Journal of Psychotraumatology</em>, "
    '<em>16</em>(1), Article 2485513. <a href="https://doi.org/10.1080/20008066.2025.2485513">'
    "https://doi.org/10.1080/20008066.2025.2485513</a>"
)


def seed_citation_dict() -> dict:
    return {
        "type": "article",
        "authors": [
            {"family": "Agin-Liebes", "given": "Gabrielle"},
            {"family": "Zeifman", "given": "Richard J."},
            {"family": "Mitchell", "given": "Jennifer M."},
        ],
        "year": 2025,
        "journal": "European Journal of Psychotraumatology",
        "volume": "16",
        "issue": "1",
        "article_number": "2485513",
        "doi": "10.1080/20008066.2025.2485513",
        "pmid": "40178352",
    }


def make_study(study_id: str, title: str, citation: dict) -> Study:
    """A minimal valid record around a citation, built the way validation builds it."""
    return study_from_dict(
        {
            "id": study_id,
            "title": title,
            "headline": "Plain-language headline",
            "citation": citation,
            "design": {"type": "randomized-controlled-trial"},
            "findings": [{"outcome": "PTSD symptoms", "direction": "improved", "summary": "Fewer symptoms."}],
            "substances": ["mdma"],
            "conditions": ["ptsd"],
            "summary": {"background": "b", "overview": "o", "conclusions": "c"},
            "evidence": {"certainty": "moderate", "rationale": "r"},
            "record": {"added": "2026-01-01"},
        },
        f"entries/{study_id}.yaml",
    )


SEED = make_study("agin-liebes-2025-self-compassion", SEED_TITLE, seed_citation_dict())


def person(family: str, given: str | None = None, suffix: str | None = None) -> Author:
    return Author(family=family, given=given, suffix=suffix)


def article(authors: list[Author], **fields) -> Citation:
    values = {"title": "A trial", "year": 2020, "journal": "Journal of Trials", "volume": "12", "issue": "3"}
    values.update(fields)
    return Citation(type="article", authors=authors, **values)


def numbered_authors(count: int) -> list[Author]:
    return [person(f"Author{i:02d}", "Ann") for i in range(1, count + 1)]


# --- the seed --------------------------------------------------------------------------------------------


def test_seed_reference_plain_text_is_exact():
    assert format_reference(SEED.citation).text == SEED_TEXT


def test_seed_reference_html_has_italic_journal_and_volume_and_a_doi_link():
    assert format_reference(SEED.citation).html == SEED_HTML


def test_seed_reference_markdown_renders_to_the_same_html():
    assert markdown.markdown(format_reference(SEED.citation).markdown) == f"<p>{SEED_HTML}</p>"


# --- authors ---------------------------------------------------------------------------------------------


def test_one_author():
    citation = article([person("Smith", "Jane Q.")], pages="1-9", doi="10.1000/one")
    assert format_reference(citation).text == (
        "Smith, J. Q. (2020). A trial. Journal of Trials, 12(3), 1–9. https://doi.org/10.1000/one"
    )


def test_two_authors_take_a_comma_and_ampersand():
    citation = article([person("Smith", "Jane"), person("Jones", "Tom")])
    assert format_reference(citation).text.startswith("Smith, J., & Jones, T. (2020). A trial.")


def test_three_authors():
    citation = article([person("Ahn", "Bo"), person("Berg", "Cy"), person("Cole", "Di")])
    assert format_reference(citation).text.startswith("Ahn, B., Berg, C., & Cole, D. (2020).")


@pytest.mark.parametrize(
    ("count", "tail"),
    [
        (20, ", & Author20, A."),  # up to 20: all listed, "&" before the last
        (21, ", . . . Author21, A."),  # 21 or more: the first 19, ". . .", the last; no "&"
        (23, ", . . . Author23, A."),
    ],
)
def test_long_author_lists(count, tail):
    text = format_reference(article(numbered_authors(count))).text
    first_nineteen = ", ".join(f"Author{i:02d}, A." for i in range(1, 20))
    assert text.startswith(f"{first_nineteen}{tail} (2020). A trial.")
    assert text.count("Author") == 20


def test_particles_hyphenated_given_names_and_suffixes():
    citation = article(
        [
            person("van der Kolk", "Bessel A."),
            person("Dubois", "Jean-Pierre"),
            person("King", "Martin Luther", "Jr."),
            person("de la Cruz", "J.-M."),
        ]
    )
    assert format_reference(citation).text.startswith(
        "van der Kolk, B. A., Dubois, J.-P., King, M. L., Jr., & de la Cruz, J.-M. (2020). A trial."
    )


def test_author_with_family_name_only():
    assert format_reference(article([person("Plato")])).text.startswith("Plato. (2020).")


def test_organisation_author_is_written_as_is():
    citation = article([Author(name="MAPS Public Benefit Corporation"), person("Mithoefer", "Michael C.")])
    assert format_reference(citation).text.startswith("MAPS Public Benefit Corporation, & Mithoefer, M. C. (2020).")


def test_organisation_author_alone_ends_with_a_period_before_the_date():
    citation = Citation(
        type="report",
        authors=[Author(name="World Health Organization")],
        title="Mental health atlas 2020",
        year=2021,
        publisher="World Health Organization",
        url="https://www.who.int/publications/i/item/9789240036703",
    )
    # APA 7 leaves out the publisher when it is the author.
    assert format_reference(citation).text == (
        "World Health Organization. (2021). Mental health atlas 2020. "
        "https://www.who.int/publications/i/item/9789240036703"
    )


# --- titles ----------------------------------------------------------------------------------------------


def test_title_keeps_acronyms_and_percent_and_ampersand():
    title = "MDMA & LSD: 50% of PTSD patients in remission"
    ref = format_reference(article([person("Smith", "Jane")], title=title, pages="5-6"))
    assert ref.text == f"Smith, J. (2020). {title}. Journal of Trials, 12(3), 5–6."
    assert "MDMA &amp; LSD: 50% of PTSD patients in remission." in ref.html


def test_title_ending_in_a_question_mark_takes_no_period():
    ref = format_reference(article([person("Smith", "Jane")], title="Does MDMA help?", pages="5-6"))
    assert "(2020). Does MDMA help? Journal of Trials" in ref.text


def test_latex_looking_title_is_not_parsed_as_latex():
    title = r"Effects of \emph{psilocybin} in {caps} ~ 100$ & $x$"
    assert f"(2020). {title}. Journal" in format_reference(article([person("Lee", "Kim")], title=title)).text


# --- source: volume, issue, pages, article number ----------------------------------------------------------


def test_page_range_takes_an_en_dash():
    text = format_reference(article([person("Smith", "Jane")], pages="1025 - 1033")).text
    assert text.endswith("Journal of Trials, 12(3), 1025–1033.")


def test_article_number_instead_of_pages():
    text = format_reference(article([person("Smith", "Jane")], article_number="e0172492")).text
    assert text.endswith("Journal of Trials, 12(3), Article e0172492.")  # APA 7, 9.27


def test_missing_issue():
    citation = article([person("Smith", "Jane")], issue=None, pages="10-20")
    ref = format_reference(citation)
    assert ref.text.endswith("Journal of Trials, 12, 10–20.")
    assert ref.html.endswith("<em>Journal of Trials</em>, <em>12</em>, 10–20.")


def test_issue_is_not_italic():
    html = format_reference(article([person("Smith", "Jane")], pages="1-2")).html
    assert "<em>Journal of Trials</em>, <em>12</em>(3), 1–2." in html


def test_no_doi_prints_the_url():
    citation = article([person("Smith", "Jane")], pages="1-2", url="https://example.org/paper?id=1&v=2")
    ref = format_reference(citation)
    assert ref.text.endswith("12(3), 1–2. https://example.org/paper?id=1&v=2")
    assert ref.html.endswith(
        '<a href="https://example.org/paper?id=1&amp;v=2">https://example.org/paper?id=1&amp;v=2</a>'
    )


def test_doi_wins_over_url_and_prefixes_are_not_doubled():
    citation = article(
        [person("Smith", "Jane")], pages="1-2", doi="https://doi.org/10.1000/ABC", url="https://example.org/x"
    )
    text = format_reference(citation).text
    assert text.endswith("1–2. https://doi.org/10.1000/ABC")
    assert "example.org" not in text


def test_no_year_is_n_d():
    text = format_reference(article([person("Smith", "Jane")], year=None)).text
    assert text.startswith("Smith, J. (n.d.). A trial.")


def test_doi_with_parentheses_is_encoded_in_the_link_but_shown_as_is():
    citation = article([person("Smith", "Jane")], doi="10.1016/S0140-6736(20)30183-5")
    ref = format_reference(citation)
    assert ref.text.endswith("https://doi.org/10.1016/S0140-6736(20)30183-5")
    assert '<a href="https://doi.org/10.1016/S0140-6736%2820%2930183-5">' in ref.html
    assert markdown.markdown(ref.markdown) == f"<p>{ref.html}</p>"


# --- escaping --------------------------------------------------------------------------------------------


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text += data


def parse_html(html: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def hostile_citation(**fields) -> Citation:
    return Citation(
        type="chapter",
        authors=[Author(name=f"Org {HOSTILE}"), person(f"Evil{HOSTILE}", "Eve")],
        editors=[person("Ed", f"<b>{HOSTILE}")],
        title=f"Title {HOSTILE} & more",
        book_title=f"Book {HOSTILE}",
        publisher=f"Press {HOSTILE}",
        year=2020,
        **fields,
    )


def test_everything_typed_is_escaped_in_html():
    ref = format_reference(hostile_citation(url="https://example.org/a"))
    parsed = parse_html(ref.html)
    assert {tag for tag, _ in parsed.tags} == {"em", "a"}
    assert "<script" not in ref.html and "<img" not in ref.html
    assert "&lt;script&gt;" in ref.html
    assert parsed.text == ref.text  # the browser shows exactly the plain-text reference


def test_markdown_escapes_everything_typed():
    ref = format_reference(hostile_citation())
    rendered = markdown.markdown(ref.markdown)
    assert rendered == f"<p>{ref.html}</p>"
    assert "<script" not in rendered


def test_markdown_special_characters_stay_literal():
    title = "A *starred* [link](http://x) title_with_underscores and `code` # 1"
    ref = format_reference(article([person("Smith", "Jane")], title=title))
    assert markdown.markdown(ref.markdown) == f"<p>{ref.html}</p>"
    assert parse_html(ref.html).tags == [("em", []), ("em", [])]


def test_only_web_urls_become_links():
    ref = format_reference(article([person("Smith", "Jane")], url="javascript:alert(1)"))
    assert "<a" not in ref.html
    assert "javascript:alert(1)" in ref.text
    assert "](" not in ref.markdown


def test_quote_in_a_url_cannot_leave_the_href_attribute():
    ref = format_reference(article([person("Smith", "Jane")], url='https://example.org/"onmouseover="x'))
    assert parse_html(ref.html).tags == [
        ("em", []),
        ("em", []),
        ("a", [("href", 'https://example.org/"onmouseover="x')]),
    ]


# --- other citation types --------------------------------------------------------------------------------


def grof_chapter(**fields) -> Citation:
    values = {
        "title": "Set and setting",
        "year": 2001,
        "editors": [person("Winkelman", "Michael J.")],
        "book_title": "Psychedelic medicine",
        "pages": "10-25",
        "publisher": "Praeger",
    }
    values.update(fields)
    return Citation(type="chapter", authors=[person("Grof", "Stanislav")], **values)


def test_chapter_with_one_editor():
    ref = format_reference(grof_chapter(doi="10.1000/chap"))
    assert ref.text == (
        "Grof, S. (2001). Set and setting. In M. J. Winkelman (Ed.), Psychedelic medicine (pp. 10–25). "
        "Praeger. https://doi.org/10.1000/chap"
    )
    assert "In M. J. Winkelman (Ed.), <em>Psychedelic medicine</em> (pp. 10–25). Praeger." in ref.html


def test_chapter_with_two_editors_one_page():
    two = grof_chapter(editors=[person("Winkelman", "Michael J."), person("Roberts", "Thomas B.")], pages="10")
    assert format_reference(two).text == (
        "Grof, S. (2001). Set and setting. In M. J. Winkelman & T. B. Roberts (Eds.), Psychedelic medicine (p. 10). "
        "Praeger."
    )


def test_chapter_without_editors_or_pages():
    assert format_reference(grof_chapter(editors=[], pages=None, publisher=None)).text == (
        "Grof, S. (2001). Set and setting. In Psychedelic medicine."
    )


@pytest.mark.parametrize(
    ("kind", "fields", "text", "html_start"),
    [
        (
            "book",
            {"title": "How to change your mind", "publisher": "Penguin Press"},
            "Smith, J. (2020). How to change your mind. Penguin Press.",
            "Smith, J. (2020). <em>How to change your mind</em>. Penguin Press.",
        ),
        (
            "report",
            {"title": "Psilocybin services in Oregon", "publisher": "Oregon Health Authority"},
            "Smith, J. (2020). Psilocybin services in Oregon. Oregon Health Authority.",
            "Smith, J. (2020). <em>Psilocybin services in Oregon</em>. Oregon Health Authority.",
        ),
        (
            "preprint",
            {"title": "Does psilocybin help?", "journal": "PsyArXiv", "doi": "10.31234/osf.io/abcde"},
            "Smith, J. (2020). Does psilocybin help? [Preprint]. PsyArXiv. https://doi.org/10.31234/osf.io/abcde",
            "Smith, J. (2020). <em>Does psilocybin help?</em> [Preprint]. PsyArXiv. <a href=",
        ),
        (
            "thesis",
            {"title": "Ketamine and grief", "publisher": "University of Toronto", "url": "https://hdl.handle.net/1"},
            "Smith, J. (2020). Ketamine and grief [Thesis, University of Toronto]. https://hdl.handle.net/1",
            "Smith, J. (2020). <em>Ketamine and grief</em> [Thesis, University of Toronto]. <a href=",
        ),
        (
            "thesis",
            {"title": "Ketamine and grief", "publisher": "University of Toronto", "thesis_type": "doctoral"},
            "Smith, J. (2020). Ketamine and grief [Doctoral dissertation, University of Toronto].",
            "Smith, J. (2020). <em>Ketamine and grief</em> [Doctoral dissertation, University of Toronto].",
        ),
        (
            "thesis",
            {"title": "Ketamine and grief: a study", "publisher": "McGill University", "thesis_type": "masters"},
            "Smith, J. (2020). Ketamine and grief: A study [Master's thesis, McGill University].",
            "Smith, J. (2020). <em>Ketamine and grief: A study</em> [Master's thesis, McGill University].",
        ),
    ],
)
def test_book_report_preprint_and_thesis_have_italic_titles(kind, fields, text, html_start):
    ref = format_reference(Citation(type=kind, authors=[person("Smith", "Jane")], year=2020, **fields))
    assert ref.text == text
    assert ref.html.startswith(html_start)


def test_a_capital_follows_a_colon_in_the_reference_title():
    text = format_reference(article([person("Smith", "Jane")], title="MDMA for PTSD: a randomized trial")).text
    assert "MDMA for PTSD: A randomized trial." in text


def test_same_authors_same_year_take_a_and_b_by_title_in_reference_and_citation():
    from kb.references import year_suffixes
    from kb.render.common import short_citation

    griffiths = [person("Griffiths", "Roland R."), person("Johnson", "Matthew W.")]
    works = {
        "later": article(griffiths, year=2016, title="Psilocybin produces substantial decreases"),
        "earlier": article(griffiths, year=2016, title="A mystical experience questionnaire"),  # "A" is ignored
        "other-year": article(griffiths, year=2017, title="Another"),
        "other-authors": article([person("Griffiths", "Roland R.")], year=2016, title="Alone"),
    }
    suffixes = year_suffixes(works)
    assert suffixes == {"earlier": "a", "later": "b"}
    assert format_reference(works["earlier"], year_suffix="a").text.startswith(
        "Griffiths, R. R., & Johnson, M. W. (2016a)."
    )
    assert short_citation(works["later"], suffixes["later"]) == "Griffiths & Johnson, 2016b"
    undated = article(griffiths, year=None)
    assert format_reference(undated, year_suffix="a").text.startswith("Griffiths, R. R., & Johnson, M. W. (n.d.-a).")


def test_sort_key_orders_by_author_then_year_with_n_d_first():
    studies = [
        article([person("Smith", "Jane")], year=2021),
        article([person("Smith", "Jane"), person("Adams", "Al")], year=2019),
        article([person("Smith", "Jane")], year=None),
        article([person("Adams", "Zed")], year=2025),
    ]
    ordered = [format_reference(c).text[:30] for c in sorted(studies, key=sort_key)]
    assert ordered == [
        "Adams, Z. (2025). A trial. Jou",
        "Smith, J. (n.d.). A trial. Jou",
        "Smith, J. (2021). A trial. Jou",
        "Smith, J., & Adams, A. (2019).",
    ]


# --- BibTeX ----------------------------------------------------------------------------------------------

TRICKY_TITLE = "MDMA & LSD: 50% of {patients} used $5 #1 doses_per week ~ ^ \\ in the USA"


def export_studies() -> list[Study]:
    tricky = {
        "type": "article",
        "authors": [
            {"family": "van der Kolk", "given": "Bessel A."},
            {"family": "King", "given": "Martin Luther", "suffix": "Jr."},
            {"name": "Research Council of Norway, Health and Care Services"},
        ],
        "journal": "Journal of Psychedelic Studies & Practice",
        "volume": 3,
        "pages": "1025-1033",
        "url": "https://example.org/paper?id=1&v=2",
    }
    chapter = {
        "type": "chapter",
        "authors": [{"family": "Grof", "given": "Stanislav"}],
        "year": 2001,
        "editors": [{"family": "Winkelman", "given": "Michael J."}],
        "book_title": "Psychedelic medicine",
        "pages": "10-25",
        "publisher": "Praeger",
    }
    return [
        SEED,
        make_study("van-der-kolk-nd-tricky", TRICKY_TITLE, tricky),
        make_study("grof-2001-set", "Set and setting", chapter),
    ]


def test_bibtex_reads_back_through_pybtex_with_the_right_fields():
    bib = parse_string(to_bibtex(export_studies()), "bibtex")
    assert list(bib.entries) == ["agin-liebes-2025-self-compassion", "van-der-kolk-nd-tricky", "grof-2001-set"]

    seed = bib.entries["agin-liebes-2025-self-compassion"]
    assert seed.type == "article"
    assert [str(p) for p in seed.persons["author"]] == [
        "Agin-Liebes, Gabrielle",
        "Zeifman, Richard J.",
        "Mitchell, Jennifer M.",
    ]
    assert dict(seed.fields) == {
        "title": SEED_TITLE.replace("MDMA-assisted", "{MDMA-assisted}"),
        "year": "2025",
        "journal": "European Journal of Psychotraumatology",
        "volume": "16",
        "number": "1",
        "eid": "2485513",
        "doi": "10.1080/20008066.2025.2485513",
        "pmid": "40178352",
    }
    assert Text.from_latex(seed.fields["title"]).render_as("text") == SEED_TITLE


def test_bibtex_names_and_special_characters_survive_the_round_trip():
    tricky = parse_string(to_bibtex(export_studies()), "bibtex").entries["van-der-kolk-nd-tricky"]
    kolk, king, council = tricky.persons["author"]
    assert (kolk.prelast_names, kolk.last_names, kolk.first_names) == (["van", "der"], ["Kolk"], ["Bessel"])
    assert (king.last_names, king.lineage_names, king.first_names) == (["King"], ["Jr."], ["Martin"])
    assert council.last_names == ["{Research Council of Norway, Health and Care Services}"]
    assert "year" not in tricky.fields
    assert tricky.fields["title"] == (
        r"{MDMA} \& {LSD:} 50\% of \textbraceleft{}patients\textbraceright{} used \$5 \#1 doses\_per week "
        r"\textasciitilde{} \textasciicircum{} \textbackslash{} in the {USA}"
    )
    assert tricky.fields["journal"] == r"Journal of Psychedelic Studies \& Practice"
    assert tricky.fields["pages"] == "1025--1033"
    assert tricky.fields["url"] == "https://example.org/paper?id=1&v=2"


def test_bibtex_title_with_percent_and_ampersand_decodes_to_what_was_typed():
    title = "MDMA & LSD: 50% of PTSD patients in remission"
    study = make_study("x-2020-y", title, {"type": "article", "authors": [{"family": "X"}], "year": 2020})
    entry = parse_string(to_bibtex([study]), "bibtex").entries["x-2020-y"]
    assert Text.from_latex(entry.fields["title"]).render_as("text") == title


def test_bibtex_chapter_has_editor_booktitle_and_publisher():
    chapter = parse_string(to_bibtex(export_studies()), "bibtex").entries["grof-2001-set"]
    assert chapter.type == "incollection"
    assert [str(p) for p in chapter.persons["editor"]] == ["Winkelman, Michael J."]
    assert chapter.fields["booktitle"] == "Psychedelic medicine"
    assert chapter.fields["publisher"] == "Praeger"


def test_single_study_bibtex_for_cite_this():
    assert to_bibtex([SEED]).startswith(
        "@article{agin-liebes-2025-self-compassion,\n  author = {Agin-Liebes, Gabrielle and"
    )
    assert len(parse_string(to_bibtex([SEED]), "bibtex").entries) == 1


def test_entry_fields_are_plain_text_not_latex():
    entry = to_entry(make_study("x-2020-y", TRICKY_TITLE, {"type": "article", "authors": [{"family": "X"}]}).citation)
    assert entry.fields["title"] == TRICKY_TITLE


# --- RIS -------------------------------------------------------------------------------------------------


def test_ris_lines_for_the_seed():
    ris = to_ris([SEED])
    assert ris.endswith("ER  - \r\n")
    assert ris.splitlines() == [
        "TY  - JOUR",
        "ID  - agin-liebes-2025-self-compassion",
        "AU  - Agin-Liebes, Gabrielle",
        "AU  - Zeifman, Richard J.",
        "AU  - Mitchell, Jennifer M.",
        f"TI  - {SEED_TITLE}",
        "T2  - European Journal of Psychotraumatology",
        "PY  - 2025",
        "VL  - 16",
        "IS  - 1",
        "SP  - 2485513",
        "DO  - 10.1080/20008066.2025.2485513",
        "AN  - 40178352",
        "ER  - ",
    ]


def test_ris_pages_names_and_record_separation():
    lines = to_ris(export_studies()).splitlines()
    assert lines.count("ER  - ") == 3
    assert "AU  - King, Martin Luther, Jr." in lines
    assert "AU  - Research Council of Norway, Health and Care Services" in lines
    assert "SP  - 1025" in lines and "EP  - 1033" in lines
    assert "TY  - CHAP" in lines and "A2  - Winkelman, Michael J." in lines and "PB  - Praeger" in lines
    assert all(line == "" or line[2:6] == "  - " for line in lines)


# --- CSL-JSON --------------------------------------------------------------------------------------------

# The variables of the CSL 1.0.2 input schema (csl-data.json) that we use; the schema allows no others.
CSL_VARIABLES = {
    "id", "type", "title", "author", "editor", "issued", "container-title", "publisher", "genre",
    "volume", "issue", "page", "number", "DOI", "URL", "PMID",
}  # fmt: skip
CSL_TYPES = {"article", "article-journal", "book", "chapter", "report", "thesis"}


def test_csl_json_for_the_seed():
    assert to_csl_json([SEED]) == [
        {
            "id": "agin-liebes-2025-self-compassion",
            "type": "article-journal",
            "title": SEED_TITLE,
            "author": [
                {"family": "Agin-Liebes", "given": "Gabrielle"},
                {"family": "Zeifman", "given": "Richard J."},
                {"family": "Mitchell", "given": "Jennifer M."},
            ],
            "issued": {"date-parts": [[2025]]},
            "container-title": "European Journal of Psychotraumatology",
            "volume": "16",
            "issue": "1",
            "number": "2485513",
            "DOI": "10.1080/20008066.2025.2485513",
            "PMID": "40178352",
        }
    ]


def test_csl_json_shape_for_every_item():
    items = json.loads(json.dumps(to_csl_json(export_studies())))
    for item in items:
        assert set(item) <= CSL_VARIABLES
        assert item["type"] in CSL_TYPES
        for name in item["author"] + item.get("editor", []):
            assert set(name) <= {"family", "given", "suffix", "literal"}
            assert "literal" in name or "family" in name
    tricky = items[1]
    assert tricky["author"][1] == {"family": "King", "given": "Martin Luther", "suffix": "Jr."}
    assert tricky["author"][2] == {"literal": "Research Council of Norway, Health and Care Services"}
    assert "issued" not in tricky
    assert tricky["page"] == "1025-1033" and tricky["volume"] == "3"
    assert items[2]["type"] == "chapter" and items[2]["container-title"] == "Psychedelic medicine"
    assert items[2]["editor"] == [{"family": "Winkelman", "given": "Michael J."}]


@pytest.mark.parametrize(
    ("kind", "csl_type", "ris_type", "bibtex_type"),
    [
        ("article", "article-journal", "JOUR", "article"),
        ("book", "book", "BOOK", "book"),
        ("chapter", "chapter", "CHAP", "incollection"),
        ("preprint", "article", "UNPB", "misc"),
        ("report", "report", "RPRT", "techreport"),
        ("thesis", "thesis", "THES", "thesis"),
    ],
)
def test_every_citation_type_exports(kind, csl_type, ris_type, bibtex_type):
    study = make_study("x-2020-y", "T", {"type": kind, "authors": [{"family": "X"}], "year": 2020, "publisher": "P"})
    assert to_csl_json([study])[0]["type"] == csl_type
    assert to_ris([study]).splitlines()[0] == f"TY  - {ris_type}"
    assert parse_string(to_bibtex([study]), "bibtex").entries["x-2020-y"].type == bibtex_type
    assert format_reference(study.citation).text.startswith("X. (2020). T")


@pytest.mark.parametrize(
    "module", [kb.references, kb.references.apa, kb.references.exports, kb.references.fields], ids=lambda m: m.__name__
)
def test_docstring_examples_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
