"""Focused tests of kb/render that kill mutants mutmut found surviving (`make mutation`, benchmarks/MUTATION.md).

The site tests build the whole site and read its HTML; these pin, in milliseconds, what a render function hands the
templates, so that a mutant of it fails here too (mutmut runs only the fast tests per mutant).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml
from markupsafe import Markup
from site_support import FIXTURES, copy_project

from kb.build import generate
from kb.link import Links, link_studies
from kb.model import Arm, Author, Citation, Effect, Finding, Intervention, Notice, Study, study_from_dict
from kb.problems import ProblemError, display_path
from kb.project import Project
from kb.references import Reference, year_suffixes
from kb.render import _assets, _check_reserved, _Renderer, indexes, render_site, templating
from kb.render import output as render_output
from kb.render.common import (
    RowCache,
    TermLink,
    author_surname,
    certainty_rank,
    number,
    short_citation,
    study_row,
    term_link,
)
from kb.render.exports import (
    _as_data,
    _cell,
    csv_line,
    feed,
    json_item,
    json_list,
    site_address,
    studies_csv,
    study_record,
    synthesis_json,
)
from kb.render.output import (
    DocsWriter,
    Output,
    _running,
    _same_bytes,
    is_generated,
    remove_abandoned,
    remove_stale,
    sync_folder,
    write_outputs,
)
from kb.render.plot import LabelLine, PlotItem, PlotRow, Tick, _nice_step, forest_plot, forest_plots, wrap_label
from kb.render.reuse import Kept, RenderMemory, context_key, digest, page_keys
from kb.render.safety import CountView, harms_view, safety_view
from kb.render.study import (
    CiteFile,
    NoticeView,
    OutcomeRow,
    Row,
    StudyPage,
    _author_name,
    _ld_author,
    _ld_paper,
    _notice,
    _outcome_row,
    _p_value,
    _shorten,
    _venue,
    citation_meta,
    design_rows,
    doi_url,
    front_matter,
    json_ld,
    study_page,
)
from kb.render.synthesis import _effect_text, _pooled, _pooled_view, synthesis_records, term_synthesis
from kb.render.templating import (  # and make_environment
    _template_frame,
    _yaml_safe,
    heading_text,
    make_environment,
    oneline,
    paragraphs,
    render_template,
)
from kb.synthesis import Pooled
from kb.validate import validate_entries
from kb.vocabulary import Vocabulary, load_vocabulary

ROOT = Path(__file__).resolve().parent.parent
# The shipped entries that the rendered sample shows, with every entry they name (related, parent), and the test
# entries of tests/fixtures/site/ (a trial with its follow-up reports for pooling, script injection, edge cases).
SAMPLE = [
    "agin-liebes-2025-self-compassion",
    "barba-2022-psilocybin-rumination",
    "carhart-harris-2016-psilocybin-trd",
    "carhart-harris-2018-trd-follow-up",
    "carhart-harris-2021-psilocybin-escitalopram",
    "davis-2021-psilocybin-depression",
    "goodwin-2022-psilocybin-trd",
    "jerome-2020-mdma-ptsd-follow-up",
    "mitchell-2021-mdma-ptsd",
    "mithoefer-2019-mdma-ptsd-pooled",
    "peck-2023-psilocybin-anorexia",
]
whole_render = pytest.mark.mutation_scope("kb.render.", "kb.build.")


@pytest.fixture
def sample(request: pytest.FixtureRequest, tmp_path_factory) -> Path:
    """The knowledge base cut down to SAMPLE and the test entries, generated once per test session: its folder
    (docs/ holds the pages). Under mutmut, each mutant's run generates it once and every test below reads it.

    Except while mutmut learns which tests run which function (MUTANT_UNDER_TEST=stats): then each test generates
    it afresh, so that every page test is linked to the functions that wrote the page, not only the first one."""
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        return _generate_sample(tmp_path_factory.mktemp("render") / "kb")
    return request.getfixturevalue("sample_of_the_session")


@pytest.fixture(scope="session")
def sample_of_the_session(tmp_path_factory) -> Path:
    # a fixture, not a module-level cache: mutmut runs many pytest sessions in one process, each with its own tmp
    return _generate_sample(tmp_path_factory.mktemp("render") / "kb")


def _generate_sample(root: Path) -> Path:
    copy_project(root)
    fixtures = {path.stem for path in FIXTURES.glob("*.yaml")}
    for path in (root / "entries").glob("[!_]*.yaml"):
        if path.stem not in SAMPLE and path.stem not in fixtures:
            path.unlink()
    generation = generate(Project(root))
    assert generation.ok, [problem.format() for problem in generation.problems]
    assert generation.studies == len(SAMPLE) + len(fixtures)
    return root


def page(root: Path, name: str) -> str:
    return (root / "docs" / name).read_text(encoding="utf-8")


@functools.cache
def shipped_studies() -> dict[str, Study]:
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    paths = sorted((ROOT / "entries").glob("[!_]*.yaml"))
    result = validate_entries(paths, vocabulary, others=paths)
    assert result.ok()
    return {study.id: study for study in result.studies}


def test_harms_are_shown_against_the_size_of_their_arm():
    view = safety_view(shipped_studies()["peck-2023-psilocybin-anorexia"])
    assert view.serious == [CountView("Psilocybin", "0 of 10")]
    assert view.discontinuations == []
    assert view.common == ["hypoglycaemia without symptoms"]
    assert view.source.startswith("Abstract; serious adverse events")
    assert view.summary.startswith("Heart tracings, vital signs")


# --- templating: a mistake in a template is a problem pointing into it ------------------------------------------


def write_template(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_template_error_points_at_the_innermost_template_line(tmp_path):
    write_template(tmp_path, "outer.md.j2", "line 1\nline 2\n{% include 'inner.md.j2' %}\n")
    inner = write_template(tmp_path, "inner.md.j2", "fine\nstill fine\n{{ page.missing.deeper }}\n")
    with pytest.raises(ProblemError) as raised:
        render_template(make_environment(tmp_path), "outer.md.j2", {"page": {}})
    problem = raised.value.problem
    assert (problem.path, problem.line, problem.col, problem.severity) == (display_path(inner), 3, 1, "error")
    assert problem.message.startswith("template error: ") and "missing" in problem.message


def test_a_type_error_in_a_template_is_a_problem_too(tmp_path):
    template = write_template(tmp_path, "page.md.j2", "{{ 1 + page }}\n")
    with pytest.raises(ProblemError) as raised:
        render_template(make_environment(tmp_path), "page.md.j2", {"page": "text"})
    problem = raised.value.problem
    assert (problem.path, problem.line) == (display_path(template), 1)
    assert problem.message.startswith("template error: unsupported operand")


def test_a_syntax_error_and_a_missing_template_are_problems(tmp_path):
    write_template(tmp_path, "page.md.j2", "one\n{% if %}\n")
    with pytest.raises(ProblemError) as raised:
        render_template(make_environment(tmp_path), "page.md.j2", {})
    problem = raised.value.problem
    assert (problem.path, problem.line, problem.col) == (display_path(tmp_path / "page.md.j2"), 2, 1)
    with pytest.raises(ProblemError) as raised:
        render_template(make_environment(tmp_path), "absent.md.j2", {})
    problem = raised.value.problem
    assert (problem.path, problem.line, problem.message) == (
        display_path(tmp_path),
        1,
        "template 'absent.md.j2' is missing",
    )


def test_without_a_template_frame_the_template_name_is_the_place():
    try:
        raise ValueError("raised in Python, not in a template")
    except ValueError:
        assert _template_frame("page.md.j2") == ("page.md.j2", 1)


@whole_render
def test_the_sample_has_a_page_per_study(sample):
    studies = sorted(path.stem for path in (sample / "docs" / "studies").glob("*.md"))
    assert "peck-2023-psilocybin-anorexia" in studies and "zz-synth-2020-trial-a" in studies


# --- helpers: the sample's studies linked (no rendering), and tiny studies for the edge cases ------------------


@functools.cache
def sample_links() -> tuple[Links, Vocabulary]:
    """The studies of `sample` (SAMPLE and the site fixtures), validated and linked as the build links them."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    paths = [ROOT / "entries" / f"{name}.yaml" for name in SAMPLE] + sorted(FIXTURES.glob("*.yaml"))
    result = validate_entries(paths, vocabulary, others=paths)
    assert result.ok()
    return link_studies(result.studies), vocabulary


def tiny_study(study_id: str, year: int | None = 2020, authors=None, certainty="low", added="2026-01-01", **tags):
    """A minimal study: one finding, the tags given (substances, conditions, mechanisms; design via `design`)."""
    return study_from_dict(
        {
            "id": study_id,
            "title": f"Title of {study_id}",
            "headline": f"Headline of {study_id}",
            "design": {"type": tags.pop("design", "randomized-controlled-trial")},
            "citation": {"type": "article", "authors": authors or [{"family": "Tiny", "given": "T."}], "year": year},
            "sample": {"n": tags.pop("n", 10)},
            "findings": [{"outcome": "Score", "direction": "improved", "summary": "s"}],
            "mechanisms": tags.pop("mechanisms", []),
            "substances": tags.pop("substances", ["psilocybin"]),
            "conditions": tags.pop("conditions", ["depression"]),
            "summary": {"background": "b", "overview": "o", "conclusions": "c"},
            "evidence": {"certainty": certainty, "rationale": "r"},
            "record": {"added": added},
        }
    )


def _tiny_dict() -> dict:
    return {
        "id": "tiny-2020",
        "title": "Tiny",
        "headline": "Tiny headline",
        "design": {"type": "randomized-controlled-trial"},
        "citation": {"type": "article", "authors": [{"family": "Tiny", "given": "T."}], "year": 2020},
        "findings": [{"outcome": "Score", "direction": "improved", "summary": "s"}],
        "substances": ["mdma"],
        "conditions": ["ptsd"],
        "summary": {"background": "b", "overview": "o", "conclusions": "c"},
        "evidence": {"certainty": "low", "rationale": "r"},
        "record": {"added": "2026-01-01"},
    }


def link(facet: str, slug: str, label: str) -> TermLink:
    return TermLink(facet, slug, label, f"{facet}/{slug}/")


PSILOCYBIN_IDS = [
    "zz-2024-injection",
    "peck-2023-psilocybin-anorexia",
    "barba-2022-psilocybin-rumination",
    "goodwin-2022-psilocybin-trd",
    "carhart-harris-2021-psilocybin-escitalopram",
    "davis-2021-psilocybin-depression",
    "carhart-harris-2018-trd-follow-up",
    "carhart-harris-2016-psilocybin-trd",
]


# --- term_page ---------------------------------------------------------------------------------------------------


def test_a_substance_page_lists_its_studies_newest_first_with_unique_participants_and_every_reported_harm():
    """term_page: rows, participation, table link, facet label, and harms (substance pages only, studies with
    safety data only, in the page's study order)."""
    links, vocabulary = sample_links()
    term = indexes.term_page("substances", "psilocybin", links, vocabulary, RowCache(vocabulary))
    assert term.term.label == "Psilocybin"
    assert term.facet_label == "Substances"
    assert (term.broader, term.broader_label, term.narrower) == (None, None, [])
    assert [row.id for row in term.rows] == PSILOCYBIN_IDS
    assert term.participation == "381 participants in 6 trials"
    assert term.table_url == "studies/?substances=psilocybin"
    assert [harm.study.id for harm in term.harms] == [
        "peck-2023-psilocybin-anorexia",
        "goodwin-2022-psilocybin-trd",
        "carhart-harris-2021-psilocybin-escitalopram",
        "carhart-harris-2018-trd-follow-up",
        "carhart-harris-2016-psilocybin-trd",
    ]
    assert term.harms[0].safety.serious == [CountView("Psilocybin", "0 of 10")]
    assert term.harms[1].safety.common == ["headache", "nausea", "dizziness"]
    assert [group.domain.label for group in term.synthesis][:2] == ["Acute drug experience", "Adverse events"]


def test_a_condition_page_links_its_narrower_terms_with_their_counts_and_shows_no_harms():
    """term_page: narrower terms in use with their study counts; harms only on substance pages."""
    links, vocabulary = sample_links()
    term = indexes.term_page("conditions", "depression", links, vocabulary, RowCache(vocabulary))
    assert term.facet_label == "Conditions"
    assert term.narrower == [
        (link("conditions", "treatment-resistant-depression", "Treatment-resistant depression"), 3)
    ]
    assert term.broader is None and term.broader_label is None
    assert len(term.rows) == 6
    assert term.participation == "216 participants in 4 trials"
    assert term.table_url == "studies/?conditions=depression"
    assert term.harms == []


def test_a_narrower_term_links_its_broader_term_when_that_has_studies():
    """term_page: the broader term as a link (it has a page) and its label."""
    links, vocabulary = sample_links()
    term = indexes.term_page("conditions", "treatment-resistant-depression", links, vocabulary, RowCache(vocabulary))
    assert term.broader == link("conditions", "depression", "Depression")
    assert term.broader_label == "Depression"
    assert term.narrower == []
    assert [row.id for row in term.rows] == [
        "goodwin-2022-psilocybin-trd",
        "carhart-harris-2018-trd-follow-up",
        "carhart-harris-2016-psilocybin-trd",
    ]
    assert term.participation == "245 participants in 2 trials"


def test_a_broader_term_without_studies_is_named_without_a_link_and_unused_narrower_terms_are_left_out():
    """term_page: broader term not in use -> label only; narrower terms listed only when in use."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    links = link_studies(
        [
            tiny_study("a-2020-alcohol", conditions=["alcohol-use-disorder"]),
            tiny_study("b-2021-alcohol", conditions=["alcohol-use-disorder"], n=5),
            tiny_study("c-2022-substances", conditions=["substance-use"]),
        ]
    )
    rows = RowCache(vocabulary)
    alcohol = indexes.term_page("conditions", "alcohol-use-disorder", links, vocabulary, rows)
    assert alcohol.broader == link("conditions", "substance-use", "Substance use")
    broad = indexes.term_page("conditions", "substance-use", links, vocabulary, rows)
    assert (broad.broader, broad.broader_label) == (None, None)
    assert broad.narrower == [(link("conditions", "alcohol-use-disorder", "Alcohol use disorder"), 2)]
    alone = link_studies([tiny_study("a-2020-alcohol", conditions=["alcohol-use-disorder"])])
    orphan = indexes.term_page("conditions", "alcohol-use-disorder", alone, vocabulary, rows)
    assert orphan.broader is None
    assert orphan.broader_label == "Substance use"
    assert orphan.participation == "10 participants in 1 trial"


def test_an_outcome_page_sums_up_only_its_own_outcome():
    """term_page -> term_synthesis(facet, slug): on an outcome's page only that outcome's group; on other term
    pages every outcome of their studies."""
    links, vocabulary = sample_links()
    rows = RowCache(vocabulary)
    rumination = indexes.term_page("outcomes", "rumination", links, vocabulary, rows)
    assert [(group.domain.slug, group.comparison) for group in rumination.synthesis] == [("rumination", "not stated")]
    assert [row.id for row in rumination.rows] == ["barba-2022-psilocybin-rumination"]
    mechanism = indexes.term_page("mechanisms", "rumination", links, vocabulary, rows)
    assert [group.domain.slug for group in mechanism.synthesis] == [
        "acute-experience",
        "psychological-flexibility",
        "rumination",
    ]


@whole_render
def test_term_pages_show_broader_and_narrower_terms_counts_and_the_table_link(sample):
    """term_page through term.md.j2: the lines a reader sees in the term's header."""
    assert (
        '<p><strong>Narrower terms:</strong> <a href="../../conditions/treatment-resistant-depression/">'
        "Treatment-resistant depression</a> (3)</p><p>6 studies: 216 participants in 4 trials (each trial counted "
        'once). <a href="../../studies/?conditions=depression">Filter them in the study table</a>.</p>'
    ) in page(sample, "conditions/depression.md")
    assert (
        '<p><strong>Broader term:</strong> <a href="../../mechanisms/self-compassion/">Self-compassion</a></p>'
        "<p>1 study: 82 participants in 1 trial (each trial counted once). "
        '<a href="../../studies/?mechanisms=self-criticism">Filter them in the study table</a>.</p>'
    ) in page(sample, "mechanisms/self-criticism.md")
    mdma = page(sample, "substances/mdma.md")
    assert "<p>5 studies: 1,324 participants in 3 trials (1 without a reported size) (each trial counted once)." in mdma
    assert mdma.count('<h3 class="kb-harms__study">') == 2
    assert "## Reported harms" not in page(sample, "conditions/ptsd.md")


@whole_render
def test_a_substance_page_shows_harm_counts_against_the_size_of_each_arm(sample):
    """term_page harms -> safety_view/_count through the template: "1 of 20" per arm, in the entry's order."""
    ketamine = page(sample, "substances/ketamine.md")
    assert (
        '<h3 class="kb-harms__study"><a href="../../studies/zz-synth-2020-trial-a/">Fictional synthesis fixture '
        "zz-synth-2020-trial-a</a> <small>(Synthfixture, 2020)</small></h3>"
    ) in ketamine
    assert "<p><strong>Serious adverse events:</strong> Drug 1 of 20; Placebo 0 of 20.</p>" in ketamine
    assert "<p><strong>Stopped because of adverse events:</strong> Drug 2 of 20; Placebo 1 of 20.</p>" in ketamine
    assert ketamine.count('<h3 class="kb-harms__study">') == 1
    psilocybin = page(sample, "substances/psilocybin.md")
    assert "<p><strong>Serious adverse events:</strong> Psilocybin 0 of 10.</p>" in psilocybin


# --- facet_page --------------------------------------------------------------------------------------------------


def test_a_facet_index_orders_terms_by_study_count_then_label_and_lists_the_unused_ones():
    """facet_page: (count desc, label casefold) order, counts, descriptions, unused terms in vocabulary order."""
    links, vocabulary = sample_links()
    facet = indexes.facet_page("outcomes", links, vocabulary)
    assert (facet.slug, facet.label) == ("outcomes", "Outcomes")
    assert facet.description.startswith("What a study measured. Each finding names its outcome domain, so results")
    assert [(entry.link.slug, entry.count) for entry in facet.entries] == [
        ("depression-severity", 8),
        ("wellbeing", 6),
        ("adverse-events", 4),
        ("ptsd-severity", 4),
        ("acute-experience", 3),
        ("depression-response", 2),
        ("eating-disorder-severity", 1),
        ("functioning", 1),
        ("substance-use", 1),  # "Other substance use": by label, before "Psychological flexibility"
        ("psychological-flexibility", 1),
        ("rumination", 1),
        ("self-compassion", 1),
    ]
    assert facet.entries[8].link == link("outcomes", "substance-use", "Other substance use")
    assert facet.entries[8].description == "Use of drugs other than alcohol and tobacco."
    assert [term.slug for term in facet.unused] == [
        "anxiety",
        "existential-distress",
        "quality-of-life",
        "spiritual-wellbeing",
        "personality",
        "therapeutic-alliance",
        "alcohol-use",
        "smoking-abstinence",
        "ocd-severity",
        "suicidality",
        "brain-activity",
    ]


@whole_render
def test_the_facet_index_pages_show_each_term_with_its_count_and_meaning(sample):
    """facet_page through facet.md.j2: rows in order, and the unused terms' line."""
    conditions = page(sample, "conditions/index.md")
    rows = [line for line in conditions.splitlines() if line.startswith("<tr><td>")]
    assert rows == [
        '<tr><td><a href="../conditions/depression/">Depression</a></td><td>6</td><td>Low mood, loss of interest and '
        "related symptoms, including major depressive disorder.</td></tr>",
        '<tr><td><a href="../conditions/healthy-volunteers/">Healthy volunteers</a></td><td>5</td><td>People without '
        "a diagnosed condition, studied to learn how a substance acts.</td></tr>",
        '<tr><td><a href="../conditions/ptsd/">Posttraumatic stress disorder</a></td><td>5</td><td>Persistent '
        "distress, intrusive memories, avoidance and hyperarousal after trauma.</td></tr>",
        '<tr><td><a href="../conditions/treatment-resistant-depression/">Treatment-resistant depression</a></td>'
        "<td>3</td><td>Major depression that has not improved after adequate trials of two or more treatments.</td>"
        "</tr>",
        '<tr><td><a href="../conditions/anorexia-nervosa/">Anorexia nervosa</a></td><td>1</td><td>An eating '
        "disorder marked by restricted eating, low body weight and an intense fear of gaining weight.</td></tr>",
    ]
    assert (
        "<p><strong>In the vocabulary but not used by any study yet:</strong> Cancer-related distress, Distress in "
        "serious illness, Anxiety, Alcohol use disorder, Tobacco dependence, Substance use, Naturalistic psychedelic "
        "use, Obsessive-compulsive disorder, Autistic adults.</p>"
    ) in conditions
    substances = page(sample, "substances/index.md")
    assert '<tr><td><a href="../substances/psilocybin/">Psilocybin</a></td><td>8</td>' in substances


# --- table_url ---------------------------------------------------------------------------------------------------


def test_the_study_table_url_carries_its_filters_as_an_encoded_query():
    """table_url: "studies/?" and the filters url-encoded, in the given order."""
    assert indexes.table_url({"substances": "mdma"}) == "studies/?substances=mdma"
    assert (
        indexes.table_url({"mechanisms": "self-compassion", "conditions": "a b&c"})
        == "studies/?mechanisms=self-compassion&conditions=a+b%26c"
    )


# --- study_table -------------------------------------------------------------------------------------------------


def test_the_study_table_has_a_filter_per_facet_with_counts_and_a_certainty_filter_in_grade_order():
    """study_table: filters (name, label, options by label with counts), certainty options best first, the
    years present, and every row in the site's order."""
    links, vocabulary = sample_links()
    table = indexes.study_table(links, vocabulary, RowCache(vocabulary))
    filters = {f.name: (f.label, [(o.value, o.label, o.count) for o in f.options]) for f in table.filters}
    assert [f.name for f in table.filters] == ["substances", "conditions", "mechanisms", "designs", "certainty"]
    assert filters["substances"] == (
        "Substances",
        [("escitalopram", "Escitalopram", 2), ("ketamine", "Ketamine", 5), ("mdma", "MDMA", 5),
         ("psilocybin", "Psilocybin", 8)],
    )  # fmt: skip
    assert filters["conditions"] == (
        "Conditions",
        [
            ("anorexia-nervosa", "Anorexia nervosa", 1),
            ("depression", "Depression", 6),
            ("healthy-volunteers", "Healthy volunteers", 5),
            ("ptsd", "Posttraumatic stress disorder", 5),
            ("treatment-resistant-depression", "Treatment-resistant depression", 3),
        ],
    )
    assert filters["mechanisms"][1][2] == ("psychological-flexibility", "Psychological flexibility", 2)
    assert len(filters["mechanisms"][1]) == 6
    assert filters["designs"] == (
        "Study designs",
        [
            ("follow-up-study", "Long-term follow-up", 2),
            ("observational-study", "Observational study", 1),
            ("open-label-trial", "Open-label trial", 3),
            ("randomized-controlled-trial", "Randomised controlled trial", 8),
            ("secondary-analysis", "Secondary analysis", 3),
            ("systematic-review", "Systematic review or meta-analysis", 1),
        ],
    )
    assert filters["certainty"] == (
        "Certainty",
        [("high", "High", 1), ("moderate", "Moderate", 4), ("low", "Low", 7), ("very-low", "Very low", 6)],
    )
    assert table.years == [2016, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025]
    assert [row.id for row in table.rows][:3] == [
        "agin-liebes-2025-self-compassion",
        "zz-2024-injection",
        "peck-2023-psilocybin-anorexia",
    ]
    assert len(table.rows) == 18 and table.rows[-1].id == "zz-nd-edge-cases"


def test_the_certainty_filter_offers_only_the_levels_some_study_has():
    """study_table: certainty levels no study has are left out; an undated study adds no year."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    links = link_studies(
        [
            tiny_study("a-2020", certainty="low"),
            tiny_study("b-2020", certainty="low"),
            tiny_study("c-nd", year=None, certainty="very-low"),
        ]
    )
    table = indexes.study_table(links, vocabulary, RowCache(vocabulary))
    certainty = table.filters[-1]
    assert [(o.value, o.label, o.count) for o in certainty.options] == [("low", "Low", 2), ("very-low", "Very low", 1)]
    assert table.years == [2020]
    assert [row.id for row in table.rows] == ["a-2020", "b-2020", "c-nd"]


def test_the_study_table_filter_options_are_in_the_order_of_their_labels_not_their_slugs():
    """study_table: options sorted by label ("Distress in serious illness" before "Healthy volunteers", though its
    slug is serious-illness-distress)."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    links = link_studies(
        [tiny_study("a-2020", conditions=["serious-illness-distress", "healthy-volunteers", "depression", "ptsd"])]
    )
    conditions = indexes.study_table(links, vocabulary, RowCache(vocabulary)).filters[1]
    assert [(o.value, o.label, o.count) for o in conditions.options] == [
        ("depression", "Depression", 1),
        ("serious-illness-distress", "Distress in serious illness", 1),
        ("healthy-volunteers", "Healthy volunteers", 1),
        ("ptsd", "Posttraumatic stress disorder", 1),
    ]


@whole_render
def test_the_study_table_page_has_filter_options_with_counts_and_data_attributes_per_row(sample):
    """study_table and StudyRow.slugs through studies.md.j2."""
    studies = page(sample, "studies/index.md")
    assert "<p>18 studies. Narrow the list with the filters" in studies
    assert '<option value="ptsd">Posttraumatic stress disorder (5)</option>' in studies
    assert '<label>Certainty\n<select name="certainty" data-filter="certainty">' in studies
    assert '<option value="very-low">Very low (6)</option>' in studies
    assert (  # two authors: "A & B"
        "<br><small>&lt;b&gt;Fixture&lt;/b&gt; &amp; Group &lt;script&gt;window.__pwned=&#39;author&#39;"
        '&lt;/script&gt;, 2024</small> <strong class="kb-flag">Retracted</strong></td>'
    ) in studies
    assert studies.count('<option value="2016">2016</option>') == 2  # "From year" and "To year"
    assert '<option value="2017">' not in studies
    assert (
        '<tr data-substances="psilocybin escitalopram" data-conditions="depression" '
        'data-mechanisms="rumination psychological-flexibility" data-designs="secondary-analysis" '
        'data-certainty="low" data-year="2022">'
    ) in studies
    assert (
        '<tr data-substances="mdma" data-conditions="ptsd" data-mechanisms="" data-designs="observational-study" '
        'data-certainty="high" data-year="">'
    ) in studies
    assert '<td data-value="3"><span class="kb-certainty kb-certainty--high"' in studies  # 3 - rank 0
    assert '<td data-value="0"><span class="kb-certainty kb-certainty--very-low"' in studies  # 3 - rank 3


# --- evidence_matrix, _by_count, _cell ---------------------------------------------------------------------------


def test_the_substance_by_condition_matrix_counts_studies_unique_participants_and_best_certainty_per_cell():
    """evidence_matrix, _by_count (count desc, then slug) and _cell (None when empty; best certainty)."""
    links, vocabulary = sample_links()
    matrix = indexes.evidence_matrix("substances", "conditions", links, vocabulary)
    assert (matrix.id, matrix.title) == ("substances-conditions", "Substances × Conditions")
    assert (matrix.row_label, matrix.column_label) == ("Substances", "Conditions")
    assert [r.slug for r in matrix.rows] == ["psilocybin", "ketamine", "mdma", "escitalopram"]
    assert [c.slug for c in matrix.columns] == [
        "depression",
        "healthy-volunteers",
        "ptsd",
        "treatment-resistant-depression",
        "anorexia-nervosa",
    ]
    assert matrix.columns[2] == link("conditions", "ptsd", "Posttraumatic stress disorder")
    assert (matrix.more_rows, matrix.more_columns) == (0, 0)
    grid = [[(c.count, c.participants, c.trials, c.certainty) if c else None for c in line] for line in matrix.cells]
    assert grid == [
        [(4, 126, 3, "low"), None, None, (3, 245, 2, "moderate"), (1, 10, 1, "very-low")],
        [None, (5, 130, 3, "moderate"), None, None, None],
        [(2, 90, 1, "moderate"), None, (5, 1324, 3, "high"), None, None],
        [(2, 59, 1, "low"), None, None, None, None],
    ]
    cell = matrix.cells[2][2]
    assert (cell.row.slug, cell.column.slug, cell.certainty_label) == ("mdma", "ptsd", "High")
    assert cell.table_url == "studies/?substances=mdma&conditions=ptsd"
    assert matrix.cells[0][4].certainty_label == "Very low"


def test_the_mechanism_matrix_breaks_count_ties_by_slug():
    """evidence_matrix/_by_count on mechanisms: two terms with 2 studies, then four with 1, each tie by slug."""
    links, vocabulary = sample_links()
    matrix = indexes.evidence_matrix("mechanisms", "conditions", links, vocabulary)
    assert matrix.title == "Mechanisms × Conditions"
    assert [r.slug for r in matrix.rows] == [
        "psychological-flexibility",
        "self-compassion",
        "fear-extinction",
        "mystical-experience",
        "rumination",
        "self-criticism",
    ]
    assert [(c.count, c.participants, c.trials) for c in matrix.cells[1] if c] == [(2, 122, 2), (1, 82, 1)]
    assert matrix.cells[3] == [None, None, None, matrix.cells[3][3], None]
    assert matrix.cells[3][3].certainty == "very-low"


def test_a_matrix_shows_at_most_thirty_terms_a_side_and_counts_the_rest():
    """evidence_matrix: MATRIX_TERMS_LIMIT rows, more_rows for the rest; a tag missing from the vocabulary is
    shown by its slug (term_link)."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    mechanisms = [f"m{i:02d}" for i in range(32)]
    links = link_studies(
        [
            tiny_study("a-2020", mechanisms=mechanisms, conditions=["depression"]),
            tiny_study("b-2020", mechanisms=["m31"], conditions=["depression", "ptsd"], certainty="high"),
        ]
    )
    matrix = indexes.evidence_matrix("mechanisms", "conditions", links, vocabulary)
    assert [r.slug for r in matrix.rows] == ["m31", *mechanisms[:29]]
    assert matrix.rows[0] == link("mechanisms", "m31", "m31")
    assert (matrix.more_rows, matrix.more_columns) == (2, 0)
    assert [c.slug for c in matrix.columns] == ["depression", "ptsd"]
    first = matrix.cells[0][0]
    assert (first.count, first.participants, first.trials, first.certainty, first.certainty_label) == (
        2,
        20,
        2,
        "high",
        "High",
    )
    assert matrix.cells[1][1] is None


@whole_render
def test_the_evidence_page_links_each_cell_to_its_studies_in_the_table(sample):
    """evidence_matrix and _cell through evidence.md.j2: a full cell and an empty one."""
    evidence = page(sample, "evidence/index.md")
    assert (
        '<td class="kb-cell kb-cell--high" data-count="5" data-participants="1324" data-certainty="high">'
        '<a href="../studies/?substances=mdma&amp;conditions=ptsd" title="MDMA × Posttraumatic stress disorder">'
        '<span class="kb-cell__count">5 studies</span><br><span class="kb-cell__n">1324 participants in 3 trials'
        "</span><br>"
    ) in evidence
    assert (
        '<tr><th scope="row"><a href="../substances/escitalopram/">Escitalopram</a></th><td class="kb-cell '
        'kb-cell--low" data-count="2" data-participants="59" data-certainty="low">'
    ) in evidence
    assert evidence.count('<td class="kb-cell kb-cell--empty" data-count="0">') == 13 + 21
    assert "## Substances × Conditions" in evidence and "## Mechanisms × Conditions" in evidence


# --- bibliography ------------------------------------------------------------------------------------------------


def test_the_bibliography_groups_references_in_apa_order_under_the_first_authors_initial():
    """bibliography: APA order, groups by initial ("#" for a name starting with a sign), anchors, items."""
    links, vocabulary = sample_links()
    groups = indexes.bibliography(links, RowCache(vocabulary))
    assert [(g.label, g.anchor) for g in groups] == [
        ("#", "letter-other"),
        ("A", "letter-a"),
        ("B", "letter-b"),
        ("C", "letter-c"),
        ("D", "letter-d"),
        ("G", "letter-g"),
        ("J", "letter-j"),
        ("M", "letter-m"),
        ("P", "letter-p"),
        ("S", "letter-s"),
    ]
    urls = {g.label: [item.study_url for item in g.items] for g in groups}
    assert urls["#"] == ["studies/zz-2024-injection/"]
    assert urls["A"] == ["studies/agin-liebes-2025-self-compassion/", "studies/zz-nd-edge-cases/"]
    assert urls["C"] == [
        "studies/carhart-harris-2018-trd-follow-up/",
        "studies/carhart-harris-2021-psilocybin-escitalopram/",
        "studies/carhart-harris-2016-psilocybin-trd/",
    ]
    assert urls["S"] == [
        "studies/zz-synth-2020-trial-a/",
        "studies/zz-synth-2021-trial-a-follow-up/",
        "studies/zz-synth-2021-trial-b/",
        "studies/zz-synth-2022-trial-b-second-report/",
        "studies/zz-synth-2022-trial-c/",
    ]
    assert sum(len(g.items) for g in groups) == 18
    barba = groups[2].items[0].html
    assert isinstance(barba, Markup)
    assert barba.startswith("Barba, T., Buehler, S., Kettner, H., Radu, C., Cunha, B. G., Nutt, D. J., Erritzoe, D.")
    assert barba.endswith(
        '<em>BJPsych Open</em>, <em>8</em>(5), Article e163. <a href="https://doi.org/10.1192/bjo.2022.565">'
        "https://doi.org/10.1192/bjo.2022.565</a>"
    )


def test_the_bibliography_initial_skips_leading_quotes_and_brackets_and_files_other_signs_under_other():
    """bibliography: initials of organisation and family names after lstrip of quotes/brackets, upper-cased;
    a digit goes under "#"; an X is not stripped; same-named works ordered by id."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    links = link_studies(
        [
            tiny_study("a-2020", authors=[{"name": "’t Hooft Group"}]),
            tiny_study("b-2020", authors=[{"name": '"Quoted" Collective'}]),
            tiny_study("c-2020", authors=[{"family": "van der Kolk", "given": "B."}]),
            tiny_study("d-2020", authors=[{"name": "1000 Genomes Consortium"}]),
            tiny_study("e-2020", authors=[{"name": "(Bracketed) Society"}]),
            tiny_study("f-2020", authors=[{"family": "van der Kolk", "given": "B."}]),
            tiny_study("g-2020", authors=[{"family": "Xu", "given": "X."}]),
        ]
    )
    groups = indexes.bibliography(links, RowCache(vocabulary))
    # in the order of the "Jump to" line, whatever the leading signs do to the references' sort
    assert [(g.label, g.anchor, [item.study_url for item in g.items]) for g in groups] == [
        ("#", "letter-other", ["studies/d-2020/"]),
        ("B", "letter-b", ["studies/e-2020/"]),
        ("Q", "letter-q", ["studies/b-2020/"]),
        ("T", "letter-t", ["studies/a-2020/"]),
        ("V", "letter-v", ["studies/c-2020/", "studies/f-2020/"]),
        ("X", "letter-x", ["studies/g-2020/"]),
    ]


def test_bibliography_groups_follow_the_alphabet_when_a_name_starts_with_a_quote():
    """A group author '"Quoted" Collective' sorts before every letter (the quote counts in the references' order),
    but its group is Q: the groups still come A, Q, T (a bug found by the mutation helper, fixed)."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    links = link_studies(
        [
            tiny_study("a", authors=[{"name": "’t Hooft Group"}]),
            tiny_study("b", authors=[{"name": '"Quoted" Collective'}]),
            tiny_study("c", authors=[{"family": "Quinn", "given": "Q."}]),
            tiny_study("d", authors=[{"family": "Adams", "given": "A."}]),
        ]
    )
    groups = indexes.bibliography(links, RowCache(vocabulary))
    assert [(g.label, [item.study_url for item in g.items]) for g in groups] == [
        ("A", ["studies/d/"]),
        ("Q", ["studies/b/", "studies/c/"]),
        ("T", ["studies/a/"]),
    ]


@whole_render
def test_the_bibliography_page_has_a_jump_line_and_a_summary_link_per_reference(sample):
    """bibliography through bibliography.md.j2."""
    bibliography = page(sample, "bibliography/index.md")
    assert (
        'Jump to: <a href="#letter-other">#</a> · <a href="#letter-a">A</a> · <a href="#letter-b">B</a> · '
        '<a href="#letter-c">C</a> · <a href="#letter-d">D</a> · <a href="#letter-g">G</a> · '
        '<a href="#letter-j">J</a> · <a href="#letter-m">M</a> · <a href="#letter-p">P</a> · '
        '<a href="#letter-s">S</a>.'
    ) in bibliography
    assert "## \\# { #letter-other }" in bibliography
    assert bibliography.count('<a class="kb-summary-link" href="../studies/') == 18
    assert (
        '<li><span class="kb-reference">Peck, S. K., Shao, S., Gruen, T., Yang, K. H., Babakanian, A., Trim, J., '
        "Finn, D. M., &amp; Kaye, W. H. (2023). Psilocybin therapy for females with anorexia nervosa: A phase 1, "
        "open-label feasibility study. <em>Nature Medicine</em>, <em>29</em>, 1947–1953. "
        '<a href="https://doi.org/10.1038/s41591-023-02455-9">https://doi.org/10.1038/s41591-023-02455-9</a></span> '
        '<a class="kb-summary-link" href="../studies/peck-2023-psilocybin-anorexia/">Summary</a></li>'
    ) in bibliography


# --- stats -------------------------------------------------------------------------------------------------------


def test_the_home_page_numbers_count_studies_unique_participants_terms_in_use_and_the_newest_additions():
    """stats: counts, participation, terms per facet, the five newest by (added, id) descending."""
    links, vocabulary = sample_links()
    stats = indexes.stats(links, RowCache(vocabulary))
    assert (stats.studies, stats.participants, stats.trials) == (18, 1835, 12)
    assert stats.participation == "1,835 participants in 12 trials (1 without a reported size)"
    assert stats.terms == {
        "mechanisms": 6,
        "substances": 4,
        "conditions": 5,
        "designs": 6,
        "settings": 4,
        "outcomes": 12,
    }
    assert [(row.id, added) for row, added in stats.recent] == [
        ("peck-2023-psilocybin-anorexia", "2026-12-01"),
        ("mithoefer-2019-mdma-ptsd-pooled", "2026-12-01"),
        ("jerome-2020-mdma-ptsd-follow-up", "2026-12-01"),
        ("carhart-harris-2016-psilocybin-trd", "2026-12-01"),
        ("mitchell-2021-mdma-ptsd", "2026-11-28"),
    ]
    assert stats.recent[0][0].cite == "Peck et al., 2023"


@whole_render
def test_the_home_page_snippet_shows_the_numbers_and_the_newest_additions(sample):
    """stats through stats.md.j2."""
    snippet = page(sample, ".generated/stats.md")
    assert (
        "<p><strong>18</strong> studies summarised, covering <strong>4</strong> substances, <strong>5</strong> "
        "conditions and <strong>6</strong> mechanisms, with <strong>1,835 participants in 12 trials (1 without a "
        "reported size)</strong> (each trial counted once, however many reports it has).</p>"
    ) in snippet
    assert snippet.count("<li><a href=") == 5
    assert (
        '<li><a href="studies/mitchell-2021-mdma-ptsd/">Phase 3 trial finds MDMA-assisted therapy eases severe PTSD'
        "</a> <small>(Mitchell et al., 2021; added 2026-11-28)</small></li>"
    ) in snippet


# --- common: study_row, StudyRow.slugs, RowCache -----------------------------------------------------------------


def test_a_study_row_holds_every_label_a_table_shows():
    """study_row: every field of the row of a shipped study with two conditions."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    row = study_row(shipped_studies()["mitchell-2021-mdma-ptsd"], vocabulary)
    assert row.id == "mitchell-2021-mdma-ptsd"
    assert row.url == "studies/mitchell-2021-mdma-ptsd/"
    assert row.headline == "Phase 3 trial finds MDMA-assisted therapy eases severe PTSD"
    assert (row.cite, row.year, row.n) == ("Mitchell et al., 2021", 2021, 90)
    assert row.design == link("designs", "randomized-controlled-trial", "Randomised controlled trial")
    assert (row.main_outcome, row.direction, row.direction_label) == ("PTSD symptom severity", "improved", "Improved")
    assert (row.certainty, row.certainty_label, row.certainty_rank) == ("moderate", "Moderate", 1)
    assert row.substances == [link("substances", "mdma", "MDMA")]
    assert row.conditions == [
        link("conditions", "ptsd", "Posttraumatic stress disorder"),
        link("conditions", "depression", "Depression"),
    ]
    assert row.mechanisms == [link("mechanisms", "fear-extinction", "Fear extinction and memory reconsolidation")]
    assert row.retracted is False


def test_a_retracted_study_row_is_flagged_and_labels_its_direction_and_certainty():
    """study_row: retracted from a retraction notice; other direction and certainty labels; the year suffix."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    jerome = study_row(shipped_studies()["jerome-2020-mdma-ptsd-follow-up"], vocabulary, "b")
    assert jerome.retracted is True
    assert jerome.cite == "Jerome et al., 2020b"
    assert (jerome.certainty, jerome.certainty_label, jerome.certainty_rank) == ("very-low", "Very low", 3)
    assert jerome.n is None
    escitalopram = study_row(shipped_studies()["carhart-harris-2021-psilocybin-escitalopram"], vocabulary)
    assert (escitalopram.direction, escitalopram.direction_label) == ("no-difference", "No difference")
    assert escitalopram.certainty_label == "Low"


def test_a_rows_filter_attributes_are_its_term_slugs_and_its_design():
    """StudyRow.slugs: space-separated slugs per facet; designs -> the one design."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    row = study_row(shipped_studies()["barba-2022-psilocybin-rumination"], vocabulary)
    assert row.slugs("substances") == "psilocybin escitalopram"
    assert row.slugs("mechanisms") == "rumination psychological-flexibility"
    assert row.slugs("conditions") == "depression"
    assert row.slugs("designs") == "secondary-analysis"
    assert study_row(shipped_studies()["peck-2023-psilocybin-anorexia"], vocabulary).slugs("mechanisms") == ""


def test_the_row_cache_builds_each_row_once_with_its_year_suffix_and_keeps_references():
    """RowCache: __call__ caches by id, year_suffixes reach the row and the reference, many keeps order,
    reference caches, remember_references takes references made elsewhere."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    goodwin = shipped_studies()["goodwin-2022-psilocybin-trd"]
    davis = shipped_studies()["davis-2021-psilocybin-depression"]
    rows = RowCache(vocabulary, {"goodwin-2022-psilocybin-trd": "a"})
    row = rows(goodwin)
    assert row.cite == "Goodwin et al., 2022a"
    assert rows(goodwin) is row
    assert [r.cite for r in rows.many([davis, goodwin])] == ["Davis et al., 2021", "Goodwin et al., 2022a"]
    assert rows.many([davis])[0] is rows(davis)
    reference = rows.reference(goodwin)
    assert "(2022a). Single-dose psilocybin for a treatment-resistant episode of major depression." in reference.text
    assert rows.reference(goodwin) is reference
    assert "(2021). Effects of psilocybin-assisted therapy" in rows.reference(davis).text
    made = Reference("text", "<i>html</i>", "markdown")
    rows.remember_references({"davis-2021-psilocybin-depression": made})
    assert rows.reference(davis) is made
    assert RowCache(vocabulary).year_suffixes == {}
    assert RowCache(vocabulary)(goodwin).cite == "Goodwin et al., 2022"


# --- common: term_link, short_citation, author_surname, certainty_rank, number ---------------------------------


def test_a_term_link_has_the_vocabulary_label_or_the_slug_when_the_term_is_unknown():
    """term_link: label from the vocabulary, the slug as label for an unknown term, the term URL."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    assert term_link(vocabulary, "conditions", "ptsd") == TermLink(
        "conditions", "ptsd", "Posttraumatic stress disorder", "conditions/ptsd/"
    )
    assert term_link(vocabulary, "mechanisms", "not-a-term") == TermLink(
        "mechanisms", "not-a-term", "not-a-term", "mechanisms/not-a-term/"
    )


def cite(*authors: Author, year: int | None = 2021) -> Citation:
    return Citation("article", list(authors), "A title", year=year)


def test_the_in_text_citation_names_one_two_or_the_first_author_et_al_with_year_or_nd_and_suffix():
    """short_citation: 1 / 2 / 3+ authors, year suffix, n.d. and n.d.-a (APA 8.17)."""
    roy, lee, kim = Author("Roy", "A."), Author("Lee", "B."), Author("Kim", "C.")
    assert short_citation(cite(roy)) == "Roy, 2021"
    assert short_citation(cite(roy, lee)) == "Roy & Lee, 2021"
    assert short_citation(cite(roy, lee, kim)) == "Roy et al., 2021"
    assert short_citation(cite(roy, lee, kim), "b") == "Roy et al., 2021b"
    assert short_citation(cite(Author(name="WHO"), year=None)) == "WHO, n.d."
    assert short_citation(cite(Author(name="WHO"), year=None), "a") == "WHO, n.d.-a"


def test_an_authors_surname_is_the_group_name_or_family_name_with_spaces_collapsed():
    """author_surname: organisation name first, then family name, whitespace collapsed, "" when neither."""
    assert author_surname(Author(name="  World   Health\nOrganization ")) == "World Health Organization"
    assert author_surname(Author("van der  Kolk", "B.")) == "van der Kolk"
    assert author_surname(Author(family="Family", name="Group")) == "Group"
    assert author_surname(Author(given="Only")) == ""


def test_certainty_ranks_run_from_high_to_very_low():
    """certainty_rank: 0 high .. 3 very low."""
    assert [certainty_rank(c) for c in ("high", "moderate", "low", "very-low")] == [0, 1, 2, 3]


def test_a_number_is_printed_as_the_paper_gave_it():
    """number: no trailing ".0", decimals kept, negative and large values."""
    assert number(2) == "2"
    assert number(10.0) == "10"
    assert number(-3.0) == "-3"
    assert number(0.45) == "0.45"
    assert number(2.50) == "2.5"
    assert number(1e16) == "1e+16"


# --- safety: safety_view, _count, harms_view ---------------------------------------------------------------------


def test_harm_counts_per_arm_are_shown_against_the_arm_size_or_bare_when_the_arm_is_unknown():
    """safety_view/_count: "1 of 20" where sample.arms gives the arm, the bare count otherwise; every field."""
    links, _ = sample_links()
    trial = safety_view(links.by_id["zz-synth-2020-trial-a"])
    assert trial.summary == "Made-up harms of trial A."
    assert trial.serious == [CountView("Drug", "1 of 20"), CountView("Placebo", "0 of 20")]
    assert trial.discontinuations == [CountView("Drug", "2 of 20"), CountView("Placebo", "1 of 20")]
    assert trial.common == ["headache", "nausea"]
    assert trial.source == "Table 4"
    study = study_from_dict(
        {
            **_tiny_dict(),
            "sample": {"n": 45, "arms": [{"label": "MDMA", "n": 45}]},
            "safety": {
                "summary": "Two serious events.",
                "serious_adverse_events": [{"arm": "MDMA", "n": 2}, {"arm": "Open-label extension", "n": 3}],
            },
        }
    )
    view = safety_view(study)
    assert view.serious == [CountView("MDMA", "2 of 45"), CountView("Open-label extension", "3")]
    assert (view.discontinuations, view.common, view.source) == ([], [], None)


def test_a_study_without_harms_data_has_no_safety_view_and_harms_view_pairs_row_and_safety():
    """safety_view: None without safety; harms_view: the study's row and its safety view."""
    links, vocabulary = sample_links()
    assert safety_view(links.by_id["agin-liebes-2025-self-compassion"]) is None
    rows = RowCache(vocabulary)
    harms = harms_view(links.by_id["peck-2023-psilocybin-anorexia"], rows)
    assert harms.study is rows(links.by_id["peck-2023-psilocybin-anorexia"])
    assert harms.study.cite == "Peck et al., 2023"
    assert harms.safety.summary.startswith("Heart tracings, vital signs and suicidality")
    assert harms.safety.serious == [CountView("Psilocybin", "0 of 10")]


def sample_study(study_id: str) -> Study:
    return sample_links()[0].by_id[study_id]


def sample_vocabulary() -> Vocabulary:
    return sample_links()[1]


def study_view(study_id: str) -> StudyPage:
    """The study page's view model, as the sample's page of `study_id` is rendered from it."""
    links, vocabulary = sample_links()
    return study_page(links.by_id[study_id], links, vocabulary, RowCache(vocabulary))


def sample_design_rows(study: Study) -> list[Row]:
    links, vocabulary = sample_links()
    return design_rows(study, vocabulary, links, RowCache(vocabulary))


def with_design(study: Study, **changes) -> Study:
    return dataclasses.replace(study, design=dataclasses.replace(study.design, **changes))


def with_citation(study: Study, **changes) -> Study:
    return dataclasses.replace(study, citation=dataclasses.replace(study.citation, **changes))


PECK = "peck-2023-psilocybin-anorexia"
PECK_DOI = "10.1038/s41591-023-02455-9"
PECK_TITLE = "Psilocybin therapy for females with anorexia nervosa: a phase 1, open-label feasibility study"
PECK_HEADLINE = "A single psilocybin dose was well tolerated by ten women with anorexia in a first safety study"
PECK_DESCRIPTION = (
    "At a university research clinic in the US, ten adult women with anorexia nervosa, or anorexia in partial "
    "remission, each took one 25 mg dose of synthetic psilocybin with psychological support. Everyone knew what they "
    "were getting. The main aim was safety and feasibility: adverse events, heart…"
)
PECK_AUTHORS = [
    ("Peck", "Stephanie Knatz"),
    ("Shao", "Samantha"),
    ("Gruen", "Tessa"),
    ("Yang", "Kevin H."),
    ("Babakanian", "Alexandra"),
    ("Trim", "Julie"),
    ("Finn", "Daphna M."),
    ("Kaye", "Walter H."),
]
RETRACTION_NOTE = (
    "Psychopharmacology retracted the paper because of unethical conduct at one contributing trial site that the "
    "authors knew of but did not disclose, and undisclosed conflicts of interest."
)


def design(slug: str, term: str) -> Row:
    return Row("Design", "", TermLink("designs", slug, term, f"designs/{slug}/"))


def intervention(value: str, slug: str, term: str) -> Row:
    return Row("Intervention", value, TermLink("substances", slug, term, f"substances/{slug}/"))


def parent_trial(study_id: str, label: str) -> Row:
    return Row("Parent trial", "", TermLink("studies", study_id, label, f"studies/{study_id}/"))


# --- study_page: the header, notices, findings, cite files, tags, related studies and follow-ups ---------------


def test_the_study_page_header_shows_byline_venue_doi_and_certainty_of_the_paper():
    """Pins study_page: byline, venue, DOI link, no paper URL beside a DOI, no notices, certainty symbol, root, row,
    front matter, reference, applications, safety, plots and children of an entry without any."""
    page = study_view(PECK)
    assert page.study.id == PECK and page.row.id == PECK and page.row.cite == "Peck et al., 2023"
    assert page.root == "../../"
    assert page.byline == (
        "Stephanie Knatz Peck, Samantha Shao, Tessa Gruen, Kevin H. Yang, Alexandra Babakanian, Julie Trim, "
        "Daphna M. Finn, Walter H. Kaye"
    )
    assert page.venue == "Nature Medicine (2023)"
    assert page.doi_url == f"https://doi.org/{PECK_DOI}"
    assert page.paper_url is None
    assert page.notices == []
    assert page.certainty_symbol == "⊕◯◯◯"
    assert page.front_matter["title"] == PECK_HEADLINE
    html = (
        "Peck, S. K., Shao, S., Gruen, T., Yang, K. H., Babakanian, A., Trim, J., Finn, D. M., &amp; Kaye, W. H. "
        "(2023). Psilocybin therapy for females with anorexia nervosa: A phase 1, open-label feasibility study. "
        f'<em>Nature Medicine</em>, <em>29</em>, 1947–1953. <a href="https://doi.org/{PECK_DOI}">'
        f"https://doi.org/{PECK_DOI}</a>"
    )
    assert page.reference.html == html
    assert page.reference_html == Markup(html) and isinstance(page.reference_html, Markup)
    assert [(a.setting.label, a.setting.url, a.text) for a in page.applications] == [
        (
            "Clinical practice",
            "settings/clinical-practice/",
            "Psilocybin is not an established treatment for anorexia. Clinicians whose patients ask about it can "
            "explain that only small safety studies exist and point them to registered trials, which include medical "
            "monitoring such as ECG and blood tests.",
        ),
        (
            "Research",
            "settings/research/",
            "Controlled trials should include more underweight patients, monitor glucose, and measure eating-disorder "
            "symptoms with blinded raters over longer periods.",
        ),
    ]
    assert page.safety is not None and page.safety.common == ["hypoglycaemia without symptoms"]
    assert page.plots == [] and page.children == []


def test_the_study_page_lists_outcomes_in_entry_order_and_plots_each_metric():
    """Pins study_page's outcome_rows (one per finding, in order) and plots (one per effect metric)."""
    page = study_view("zz-nd-edge-cases")
    assert [(row.outcome, row.effect, row.p) for row in page.outcome_rows] == [
        ("Score change", "Mean difference -4.5 [-7.25, -1.75]", "p < 0.001"),
        ("Standardised change", "Hedges' g 0.35 [-0.1, 0.8]", ""),
        ("Risk of relapse", "Hazard ratio 1.8 [0.9, 3.6]", "p = 0.09"),
    ]
    assert [plot.metric for plot in page.plots] == ["mean_difference", "hedges_g", "hazard_ratio"]
    assert len(study_view(PECK).outcome_rows) == 4


def test_a_report_without_doi_or_year_links_its_url_and_shows_its_correction():
    """Pins study_page for zz-nd-edge-cases: venue of a publisher with n.d., the paper URL, the correction notice
    with its DOI link, the high-certainty symbol, the design table and the byline of 22 authors."""
    page = study_view("zz-nd-edge-cases")
    assert page.venue == "Fixture Institute (n.d.)"
    assert page.doi_url is None
    assert page.paper_url == "https://example.org/report"
    assert page.notices == [
        NoticeView(
            "Corrected",
            "warning",
            "2026-02-02",
            "A figure was corrected.",
            "https://doi.org/10.5555/fixture.correction",
        )
    ]
    assert page.certainty_symbol == "⊕⊕⊕⊕"
    assert page.design_rows == [
        design("observational-study", "Observational study"),
        Row("Participants", "1234"),
        Row("Population", "Fictional participants"),
    ]
    assert page.byline.startswith("Test AuthorA, Test AuthorB, ") and page.byline.endswith(", Test AuthorV")
    assert page.byline.count(", ") == 21


def test_a_retracted_trial_shows_the_retraction_and_lists_its_follow_up():
    """Pins study_page: the retraction notice (no DOI) and the children naming the entry as their parent."""
    page = study_view("mithoefer-2019-mdma-ptsd-pooled")
    assert page.notices == [NoticeView("Retracted", "danger", "2024-08-10", RETRACTION_NOTE, None)]
    assert [(row.id, row.cite) for row in page.children] == [("jerome-2020-mdma-ptsd-follow-up", "Jerome et al., 2020")]
    assert [row.id for row in study_view("zz-synth-2020-trial-a").children] == ["zz-synth-2021-trial-a-follow-up"]


def test_the_cite_buttons_carry_bibtex_and_ris_named_after_the_entry():
    """Pins study_page's cite_files (format, label, file name, media type, element id) and its bibtex/ris text."""
    page = study_view(PECK)
    assert [dataclasses.replace(file, text="") for file in page.cite_files] == [
        CiteFile("BibTeX", "Download BibTeX", f"{PECK}.bib", "application/x-bibtex", "cite-bibtex", ""),
        CiteFile(
            "RIS",
            "Download RIS (Zotero, EndNote, Mendeley)",
            f"{PECK}.ris",
            "application/x-research-info-systems",
            "cite-ris",
            "",
        ),
    ]
    bibtex, ris = (file.text for file in page.cite_files)
    assert bibtex == page.bibtex and ris == page.ris
    assert bibtex.startswith(f"@article{{{PECK},\n  author = {{Peck, Stephanie Knatz and Shao, Samantha and ")
    assert f"  doi = {{{PECK_DOI}}},\n}}\n" in bibtex
    assert ris.startswith(f"TY  - JOUR\r\nID  - {PECK}\r\nAU  - Peck, Stephanie Knatz\r\n")
    assert f"DO  - {PECK_DOI}\r\nER  - " in ris


def test_tags_are_grouped_by_facet_in_vocabulary_order():
    """Pins study_page's tag_groups (_tag_groups): facet labels, term labels and links, empty facets left out."""
    page = study_view(PECK)
    assert [(group.label, [(t.label, t.url) for t in group.links]) for group in page.tag_groups] == [
        ("Substances", [("Psilocybin", "substances/psilocybin/")]),
        ("Conditions", [("Anorexia nervosa", "conditions/anorexia-nervosa/")]),
        ("Study designs", [("Open-label trial", "designs/open-label-trial/")]),
        ("Settings", [("Clinical practice", "settings/clinical-practice/"), ("Research", "settings/research/")]),
        (
            "Outcomes",
            [
                ("Adverse events", "outcomes/adverse-events/"),
                ("Eating disorder severity", "outcomes/eating-disorder-severity/"),
            ],
        ),
    ]
    assert [group.label for group in study_view("zz-2024-injection").tag_groups] == [
        "Mechanisms",
        "Substances",
        "Conditions",
        "Study designs",
        "Settings",
    ]


def test_related_studies_say_whether_the_entry_links_them_and_which_tags_they_share():
    """Pins study_page's related (_related_view): the row, the explicit flag and the shared tags' labels."""
    related = study_view("jerome-2020-mdma-ptsd-follow-up").related
    assert [(r.row.id, r.row.cite, r.explicit, r.shared) for r in related] == [
        (
            "mithoefer-2019-mdma-ptsd-pooled",
            "Mithoefer et al., 2019",
            True,
            ["Posttraumatic stress disorder", "MDMA", "PTSD symptom severity", "Clinical practice", "Research"],
        ),
        (
            "mitchell-2021-mdma-ptsd",
            "Mitchell et al., 2021",
            False,
            ["Posttraumatic stress disorder", "MDMA", "Adverse events", "PTSD symptom severity", "Clinical practice"],
        ),
        (
            "agin-liebes-2025-self-compassion",
            "Agin-Liebes et al., 2025",
            False,
            ["Posttraumatic stress disorder", "MDMA", "PTSD symptom severity", "Research"],
        ),
        ("zz-nd-edge-cases", "AuthorA et al., n.d.", False, ["Posttraumatic stress disorder", "MDMA"]),
    ]


@whole_render
def test_the_study_page_prints_its_view_model(sample):
    """Pins study_page through the generated page: the venue line, a notice and the parent-trial row."""
    text = page(sample, "studies/zz-nd-edge-cases.md")
    assert '<p class="admonition-title">Corrected (2026-02-02)</p>' in text
    assert (
        '<p class="kb-venue">Fixture Institute (n.d.) · <a href="https://example.org/report">'
        "https://example.org/report</a></p>"
    ) in text
    text = page(sample, "studies/jerome-2020-mdma-ptsd-follow-up.md")
    assert (
        '<tr><th scope="row">Parent trial</th><td><a href="../../studies/mithoefer-2019-mdma-ptsd-pooled/">'
        "Mithoefer et al., 2019: Retracted: pooled analysis of six phase 2 trials of MDMA-assisted psychotherapy for "
        "PTSD</a></td></tr>"
    ) in text
    assert '<li><a href="../../studies/jerome-2020-mdma-ptsd-follow-up/">' in page(
        sample, "studies/mithoefer-2019-mdma-ptsd-pooled.md"
    )


# --- design_rows: the "Study overview" table ------------------------------------------------------------------


def test_the_design_table_of_a_phase_1_open_label_trial_lists_every_recorded_fact_in_order():
    """Pins design_rows: design link, randomised No, blinding, control, phase, participants with arms, population,
    intervention with dose, one session and support, follow-up and registration."""
    assert sample_design_rows(sample_study(PECK)) == [
        design("open-label-trial", "Open-label trial"),
        Row("Randomised", "No"),
        Row("Blinding", "Open label"),
        Row("Control", "None"),
        Row("Phase", "Phase 1"),
        Row("Participants", "10 (Psilocybin: 10)"),
        Row(
            "Population",
            "Adult women with anorexia nervosa, or anorexia in partial remission, by DSM-5 criteria, seen at a "
            "university research clinic; their body mass index averaged 19.7 (SD 3.7)",
        ),
        intervention(
            "dose: 25 mg synthetic psilocybin; 1 session; with: Psychological support from therapists",
            "psilocybin",
            "Psilocybin",
        ),
        Row("Follow-up", "Safety assessed after treatment; eating-disorder symptoms followed to 3 months after dosing"),
        Row("Registration", "NCT04661514"),
    ]


def test_a_secondary_analysis_links_its_parent_trial_and_shows_sessions_and_duration():
    """Pins design_rows: "Yes", double blind, total without arms, sessions in the plural without a dose, the
    duration in weeks and the parent-trial link labelled with its citation and headline (_parent_entry)."""
    assert sample_design_rows(sample_study("agin-liebes-2025-self-compassion")) == [
        design("secondary-analysis", "Secondary analysis"),
        Row("Randomised", "Yes"),
        Row("Blinding", "Double blind"),
        Row("Control", "Placebo with the same manualised therapy"),
        Row("Phase", "Phase 3"),
        Row("Participants", "82"),
        Row("Population", "Adults with severe PTSD taking part in a phase 3 trial of MDMA-assisted therapy"),
        intervention(
            "3 sessions; with: Manualised therapy, compared with placebo plus the same therapy", "mdma", "MDMA"
        ),
        Row("Duration", "18 weeks"),
        Row("Registration", "NCT03537014"),
        parent_trial(
            "mitchell-2021-mdma-ptsd",
            "Mitchell et al., 2021: Phase 3 trial finds MDMA-assisted therapy eases severe PTSD",
        ),
    ]


def test_a_follow_up_without_a_sample_size_has_no_participants_row():
    """Pins design_rows for jerome-2020: no blinding, phase or participants recorded, so no such rows."""
    assert sample_design_rows(sample_study("jerome-2020-mdma-ptsd-follow-up")) == [
        design("follow-up-study", "Long-term follow-up"),
        Row("Randomised", "No"),
        Row(
            "Control",
            "None; symptoms at long-term follow-up were compared with the same people's scores at baseline and at "
            "treatment exit",
        ),
        Row(
            "Population",
            "People with PTSD from six phase 2 trials who received active doses of MDMA, in blinded or open-label "
            "sessions",
        ),
        intervention(
            "dose: 75 to 125 mg, in two or three active-dose sessions; with: Psychotherapy sessions with MDMA plus "
            "additional drug-free therapy sessions",
            "mdma",
            "MDMA",
        ),
        Row("Follow-up", "At least 12 months after the final MDMA session"),
        parent_trial(
            "mithoefer-2019-mdma-ptsd-pooled",
            "Mithoefer et al., 2019: Retracted: pooled analysis of six phase 2 trials of MDMA-assisted psychotherapy "
            "for PTSD",
        ),
    ]


def test_a_parent_given_as_free_text_is_shown_as_based_on():
    """Pins design_rows: arms after the total, and a parent that names no entry shown as text ("Based on")."""
    rows = sample_design_rows(sample_study("mithoefer-2019-mdma-ptsd-pooled"))
    assert rows[5] == Row(
        "Participants", "103 (Active MDMA (75 to 125 mg): 72, Placebo or low-dose control (0 to 40 mg): 31)"
    )
    assert rows[-1] == Row(
        "Based on",
        "Six sponsor-run randomised, double-blind phase 2 trials at five sites, conducted from April 2004 to "
        "February 2017",
    )
    assert len(rows) == 10


def test_a_parent_id_outside_the_knowledge_base_or_the_entry_itself_is_shown_as_text():
    """Pins _parent_entry: only an id of another entry in the knowledge base becomes a link."""
    study = sample_study("jerome-2020-mdma-ptsd-follow-up")
    assert sample_design_rows(with_design(study, parent="some-trial-2001"))[-1] == Row("Based on", "some-trial-2001")
    own = with_design(study, parent="jerome-2020-mdma-ptsd-follow-up")
    assert sample_design_rows(own)[-1] == Row("Based on", "jerome-2020-mdma-ptsd-follow-up")


def test_the_design_table_of_a_minimal_entry_has_only_design_participants_and_population():
    """Pins design_rows for zz-nd-edge-cases: nothing else recorded, nothing else shown."""
    assert sample_design_rows(sample_study("zz-nd-edge-cases")) == [
        design("observational-study", "Observational study"),
        Row("Participants", "1234"),
        Row("Population", "Fictional participants"),
    ]


def test_design_rows_show_two_registrations_and_blinding_labels():
    """Pins design_rows: registrations joined by a comma and every blinding label."""
    rows = sample_design_rows(sample_study("goodwin-2022-psilocybin-trd"))
    assert rows[-1] == Row("Registration", "NCT03775200, EudraCT 2017-003288-36")
    assert rows[-3] == Row("Duration", "12 weeks")
    study = sample_study(PECK)
    labels = {}
    for blinding in ("open-label", "single-blind", "double-blind", "triple-blind", "not-applicable"):
        labels[blinding] = sample_design_rows(with_design(study, blinding=blinding))[2]
    assert labels == {
        "open-label": Row("Blinding", "Open label"),
        "single-blind": Row("Blinding", "Single blind"),
        "double-blind": Row("Blinding", "Double blind"),
        "triple-blind": Row("Blinding", "Triple blind"),
        "not-applicable": Row("Blinding", "Not applicable"),
    }


def test_arms_without_a_total_say_not_reported_and_fractional_weeks_stay_fractional():
    """Pins design_rows: "not reported" before the arms, a duration of 2.5 weeks, and rows left out when empty."""
    study = sample_study(PECK)
    study = dataclasses.replace(
        study,
        sample=dataclasses.replace(study.sample, n=None, population=None, arms=[Arm("A", 5), Arm("B", 6)]),
        interventions=[Intervention("mdma", sessions=2), Intervention("lsd")],
    )
    study = with_design(study, randomized=None, blinding=None, control=None, phase=None, registration=[])
    study = with_design(study, duration_weeks=2.5, follow_up=None)
    assert sample_design_rows(study) == [
        design("open-label-trial", "Open-label trial"),
        Row("Participants", "not reported (A: 5, B: 6)"),
        intervention("2 sessions", "mdma", "MDMA"),
        intervention("", "lsd", "LSD"),
        Row("Duration", "2.5 weeks"),
    ]


# --- _outcome_row and _p_value: the outcomes table -----------------------------------------------------------


def test_an_outcome_row_shows_the_effect_with_its_label_and_p_value():
    """Pins _outcome_row: metric label, value, interval and the effect's label; measure, timepoint and source."""
    finding = Finding(
        outcome="PTSD severity",
        direction="improved",
        summary="Fell.",
        measure="CAPS-5",
        effect=Effect("cohen_d", 0.91, (0.52, 1.3), label="MDMA vs placebo"),
        p="<0.001",
        timepoint="Week 18",
        source="Table 2",
    )
    assert _outcome_row(finding) == OutcomeRow(
        outcome="PTSD severity",
        measure="CAPS-5",
        timepoint="Week 18",
        direction="improved",
        direction_label="Improved",
        effect="Cohen's d 0.91 [0.52, 1.3] (MDMA vs placebo)",
        p="p < 0.001",
        source="Table 2",
    )


def test_an_outcome_row_without_figures_has_empty_cells():
    """Pins _outcome_row: no effect, p, measure, timepoint or source gives empty strings, never "None"."""
    assert _outcome_row(Finding("Mood", "worsened", "Worse.")) == OutcomeRow(
        "Mood", "", "", "worsened", "Worsened", "", "", ""
    )
    effect = Effect("odds_ratio", 2.5, None)
    assert _outcome_row(Finding("Relapse", "mixed", "Mixed.", effect=effect)).effect == "Odds ratio 2.5"
    row = _outcome_row(Finding("Sleep", "no-difference", "Same.", effect=Effect("risk_ratio", 0.8, (0.4, 1.6))))
    assert (row.effect, row.direction_label) == ("Risk ratio 0.8 [0.4, 1.6]", "No difference")


def test_p_values_read_p_then_their_relation_then_the_number():
    """Pins _p_value: a relation sign kept with spaces around it, "=" added to a bare number, blanks trimmed."""
    assert _p_value(None) == ""
    assert _p_value("0.09") == "p = 0.09"
    assert _p_value(" 0.03 ") == "p = 0.03"
    assert _p_value("<0.001") == "p < 0.001"
    assert _p_value("< 0.05") == "p < 0.05"
    assert _p_value(">0.2") == "p > 0.2"
    assert _p_value("=0.04") == "p = 0.04"
    assert _p_value("≤0.05") == "p ≤ 0.05"
    assert _p_value(" ≥ 0.1") == "p ≥ 0.1"


# --- _venue, _author_name, _notice, _shorten, doi_url --------------------------------------------------------


def test_the_venue_is_the_journal_book_or_publisher_with_the_year():
    """Pins _venue: journal, else book title, else publisher, else nothing; the year or n.d."""
    study = sample_study(PECK)
    assert _venue(study) == "Nature Medicine (2023)"
    assert _venue(with_citation(study, journal=None, book_title="A Handbook", publisher="Press")) == "A Handbook (2023)"
    assert _venue(with_citation(study, journal=None, publisher="Press")) == "Press (2023)"
    assert _venue(with_citation(study, journal=None)) == "2023"
    assert _venue(with_citation(study, journal=None, year=None)) == "n.d."
    assert _venue(with_citation(study, year=None)) == "Nature Medicine (n.d.)"


def test_author_names_are_given_then_family_with_a_suffix_after_a_comma():
    """Pins _author_name: organisations by name, people as "given family", a suffix after ", ", missing parts left
    out."""
    assert _author_name(Author(name="WHO Study Group")) == "WHO Study Group"
    assert _author_name(Author(family="Peck", given="Stephanie Knatz")) == "Stephanie Knatz Peck"
    assert _author_name(Author(family="Van Derveer", given="Joseph W.", suffix="III")) == "Joseph W. Van Derveer, III"
    assert _author_name(Author(family="Plato")) == "Plato"
    assert _author_name(Author(family="Plato", given="")) == "Plato"


def test_each_kind_of_notice_has_its_label_and_admonition_level():
    """Pins _notice: label and level per notice type, the date and note, and the notice's DOI as a link."""
    kinds = ("retraction", "withdrawal", "correction", "expression-of-concern", "other")
    views = [_notice(Notice(kind)) for kind in kinds]
    assert [(view.label, view.level) for view in views] == [
        ("Retracted", "danger"),
        ("Withdrawn", "danger"),
        ("Corrected", "warning"),
        ("Expression of concern", "warning"),
        ("Notice", "info"),
    ]
    assert all(view.date is None and view.note is None and view.doi_url is None for view in views)
    assert _notice(Notice("correction", doi="10.1/x", date="2026-01-02", note="Fixed.")) == NoticeView(
        "Corrected", "warning", "2026-01-02", "Fixed.", "https://doi.org/10.1/x"
    )


def test_descriptions_are_cut_at_a_word_with_an_ellipsis_within_the_limit():
    """Pins _shorten: whitespace collapsed, text up to the limit kept whole, longer text cut at the last space
    before the limit and ended with "…"."""
    assert _shorten("  one\n two   three ", 13) == "one two three"
    assert _shorten("one two three", 12) == "one two…"
    assert _shorten("one two three", 9) == "one two…"
    assert _shorten("one two three", 8) == "one…"
    assert _shorten("abcdefghij", 5) == "abcd…"
    assert _shorten("x" * 300, 300) == "x" * 300


def test_a_doi_link_needs_a_doi():
    """Pins doi_url."""
    assert doi_url("10.1/x") == "https://doi.org/10.1/x"
    assert doi_url(None) is None and doi_url("") is None


# --- front_matter and citation_meta: the page's <head> -------------------------------------------------------


def test_the_front_matter_carries_title_description_tags_and_citation_tags():
    """Pins front_matter: the headline, the overview shortened to 300 characters, tag labels with their term pages,
    citation_meta pairs and the JSON-LD text."""
    matter = front_matter(sample_study(PECK), sample_vocabulary())
    assert list(matter) == ["title", "description", "tags", "tag_links", "citation_meta", "jsonld"]
    assert matter["title"] == PECK_HEADLINE
    assert matter["description"] == PECK_DESCRIPTION
    assert matter["tags"] == [
        "Psilocybin",
        "Anorexia nervosa",
        "Open-label trial",
        "Clinical practice",
        "Research",
        "Adverse events",
        "Eating disorder severity",
    ]
    assert matter["tag_links"] == [
        ["Psilocybin", "substances/psilocybin/"],
        ["Anorexia nervosa", "conditions/anorexia-nervosa/"],
        ["Open-label trial", "designs/open-label-trial/"],
        ["Clinical practice", "settings/clinical-practice/"],
        ["Research", "settings/research/"],
        ["Adverse events", "outcomes/adverse-events/"],
        ["Eating disorder severity", "outcomes/eating-disorder-severity/"],
    ]
    assert matter["citation_meta"][:2] == [["citation_title", PECK_TITLE], ["citation_author", "Peck, Stephanie Knatz"]]
    assert len(matter["citation_meta"]) == 15
    assert json.loads(matter["jsonld"])["headline"] == PECK_HEADLINE


def test_a_tag_label_shared_by_two_facets_is_one_tag_but_two_links():
    """Pins front_matter: tags are unique labels, tag_links keep both term pages of "Self-compassion"."""
    matter = front_matter(sample_study("agin-liebes-2025-self-compassion"), sample_vocabulary())
    assert matter["tags"].count("Self-compassion") == 1 and len(matter["tags"]) == 12
    assert [link for link in matter["tag_links"] if link[0] == "Self-compassion"] == [
        ["Self-compassion", "mechanisms/self-compassion/"],
        ["Self-compassion", "outcomes/self-compassion/"],
    ]


def test_citation_meta_tags_describe_a_journal_article():
    """Pins citation_meta: title, "family, given" authors, year, journal, volume, pages and DOI, in that order."""
    assert citation_meta(sample_study(PECK)) == [
        ("citation_title", PECK_TITLE),
        *[("citation_author", f"{family}, {given}") for family, given in PECK_AUTHORS],
        ("citation_publication_date", "2023"),
        ("citation_journal_title", "Nature Medicine"),
        ("citation_volume", "29"),
        ("citation_firstpage", "1947"),
        ("citation_lastpage", "1953"),
        ("citation_doi", PECK_DOI),
    ]


def test_citation_meta_tags_carry_issue_pmid_and_organisation_authors_unescaped():
    """Pins citation_meta: an organisation author by name, the issue and the PubMed id; text left raw (the
    template escapes it)."""
    meta = citation_meta(sample_study("zz-2024-injection"))
    assert meta[1:] == [
        ("citation_author", "<b>Fixture</b>, Ann"),
        ("citation_author", "Group <script>window.__pwned='author'</script>"),
        ("citation_publication_date", "2024"),
        ("citation_journal_title", "Journal of <i>Fixtures</i>"),
        ("citation_volume", "3"),
        ("citation_issue", "2"),
        ("citation_firstpage", "10"),
        ("citation_lastpage", "20"),
        ("citation_doi", "10.5555/fixture.injection"),
    ]
    jerome = citation_meta(sample_study("jerome-2020-mdma-ptsd-follow-up"))
    assert jerome[-2:] == [("citation_doi", "10.1007/s00213-020-05548-2"), ("citation_pmid", "32500209")]


def test_citation_meta_of_an_undated_report_names_its_publisher_and_no_journal():
    """Pins citation_meta: no date without a year, the publisher last, and whitespace in names and title folded."""
    study = sample_study("zz-nd-edge-cases")
    meta = citation_meta(study)
    assert meta[0] == ("citation_title", "Edge cases: 100% of fixtures & MDMA")
    assert meta[1:3] == [("citation_author", "AuthorA, Test"), ("citation_author", "AuthorB, Test")]
    assert meta[23:] == [("citation_publisher", "Fixture Institute")] and len(meta) == 24
    study = with_citation(
        study,
        title="Edge  cases:\n a title",
        authors=[Author(family="Van  Derveer", given="Joseph\nW."), Author(given="Ann"), Author(name=" The  Group ")],
        journal="Not a journal of a report",
    )
    assert citation_meta(study) == [
        ("citation_title", "Edge cases: a title"),
        ("citation_author", "Van Derveer, Joseph W."),
        ("citation_author", "Ann"),
        ("citation_author", "The Group"),
        ("citation_publisher", "Fixture Institute"),
    ]


def test_citation_meta_of_a_chapter_names_its_book_and_not_a_journal():
    """Pins citation_meta: a chapter's book as citation_inbook_title, never as citation_journal_title."""
    study = with_citation(
        sample_study(PECK), type="chapter", journal=None, book_title="A Handbook", publisher="Press", doi=None
    )
    assert citation_meta(study)[9:] == [
        ("citation_publication_date", "2023"),
        ("citation_inbook_title", "A Handbook"),
        ("citation_volume", "29"),
        ("citation_firstpage", "1947"),
        ("citation_lastpage", "1953"),
        ("citation_publisher", "Press"),
    ]


@whole_render
def test_the_generated_page_carries_the_citation_meta_in_its_front_matter(sample):
    """Pins front_matter through the generated page of the edge-case entry."""
    text = page(sample, "studies/zz-nd-edge-cases.md")
    assert '\ntitle: "An undated fictional study with many authors and two kinds of effect size"\n' in text
    assert '\ndescription: "Overview of a fictional study."\n' in text
    assert '\ntags: ["MDMA", "Posttraumatic stress disorder", "Observational study"]\n' in text
    assert '["citation_author", "AuthorV, Test"], ["citation_publisher", "Fixture Institute"]]\n' in text


# --- json_ld, _ld_paper, _ld_author: schema.org ----------------------------------------------------------------


def peck_paper() -> dict:
    return {
        "@type": "ScholarlyArticle",
        "name": PECK_TITLE,
        "headline": PECK_TITLE,
        "author": [
            {"@type": "Person", "familyName": family, "name": f"{given} {family}", "givenName": given}
            for family, given in PECK_AUTHORS
        ],
        "datePublished": "2023",
        "isPartOf": {"@type": "Periodical", "name": "Nature Medicine"},
        "volumeNumber": "29",
        "pageStart": "1947",
        "pageEnd": "1953",
        "identifier": {"@type": "PropertyValue", "propertyID": "DOI", "value": PECK_DOI},
        "sameAs": f"https://doi.org/{PECK_DOI}",
    }


def test_the_json_ld_is_a_medical_web_page_about_the_paper():
    """Pins json_ld and _ld_paper: the page's headline, description and dates, topic keywords, and the paper (as
    `about` and `isBasedOn`) with authors, date, journal, volume, pages and DOI; compact JSON."""
    text = json_ld(sample_study(PECK), sample_vocabulary())
    assert json.loads(text) == {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": PECK_HEADLINE,
        "headline": PECK_HEADLINE,
        "description": PECK_DESCRIPTION,
        "datePublished": "2026-12-01",
        "dateModified": "2026-12-01",
        "lastReviewed": "2026-12-01",
        "keywords": ["Psilocybin", "Anorexia nervosa"],
        "about": peck_paper(),
        "isBasedOn": peck_paper(),
    }
    assert text.startswith('{"@context":"https://schema.org","@type":"MedicalWebPage","name":"A single psilocybin')
    assert "…" in text  # not written as \u2026


def test_the_json_ld_of_a_never_reviewed_report_has_no_review_date_and_links_its_url():
    """Pins json_ld: dateModified falls back to the date added, no lastReviewed; _ld_paper: a report's publisher,
    no journal or DOI, its URL as sameAs; '&' written as \\u0026."""
    text = json_ld(sample_study("zz-nd-edge-cases"), sample_vocabulary())
    data = json.loads(text)
    assert list(data) == [
        "@context",
        "@type",
        "name",
        "headline",
        "description",
        "datePublished",
        "dateModified",
        "keywords",
        "about",
        "isBasedOn",
    ]
    assert (data["datePublished"], data["dateModified"], data["keywords"]) == (
        "2026-02-01",
        "2026-02-01",
        ["MDMA", "Posttraumatic stress disorder"],
    )
    paper = data["about"]
    assert {key: value for key, value in paper.items() if key != "author"} == {
        "@type": "ScholarlyArticle",
        "name": "Edge cases: 100% of fixtures & MDMA",
        "headline": "Edge cases: 100% of fixtures & MDMA",
        "publisher": {"@type": "Organization", "name": "Fixture Institute"},
        "sameAs": "https://example.org/report",
    }
    assert len(paper["author"]) == 22 and data["isBasedOn"] == paper
    assert "&" not in text and '"name":"Edge cases: 100% of fixtures \\u0026 MDMA"' in text


def test_the_json_ld_escapes_what_could_end_its_script_element():
    """Pins json_ld: '<', '>' and '&' as \\u escapes, a reviewed date as dateModified, an organisation author,
    the issue, and the mechanisms among the keywords."""
    text = json_ld(sample_study("zz-2024-injection"), sample_vocabulary())
    assert "<" not in text and ">" not in text and "&" not in text
    assert '"familyName":"\\u003cb\\u003eFixture\\u003c/b\\u003e"' in text
    data = json.loads(text)
    assert (data["datePublished"], data["dateModified"], data["lastReviewed"]) == (
        "2026-01-02",
        "2026-01-03",
        "2026-01-03",
    )
    assert data["keywords"] == ["Self-compassion", "Psilocybin", "Depression"]
    assert data["about"]["author"] == [
        {"@type": "Person", "familyName": "<b>Fixture</b>", "name": "Ann <b>Fixture</b>", "givenName": "Ann"},
        {"@type": "Organization", "name": "Group <script>window.__pwned='author'</script>"},
    ]
    assert data["about"]["issueNumber"] == "2" and data["about"]["isPartOf"]["name"] == "Journal of <i>Fixtures</i>"


def test_the_json_ld_folds_whitespace_in_the_headline_and_leaves_out_empty_keywords():
    """Pins json_ld: the headline on one line, and no "keywords" when the study has no topic terms."""
    study = dataclasses.replace(sample_study(PECK), headline="Two\n  lines", substances=[], conditions=[])
    data = json.loads(json_ld(study, sample_vocabulary()))
    assert (data["name"], data["headline"]) == ("Two lines", "Two lines")
    assert "keywords" not in data


def test_each_kind_of_work_has_its_schema_org_type():
    """Pins _ld_paper: Book, Chapter (part of a Book), Thesis; anything else a ScholarlyArticle."""
    study = sample_study(PECK)
    types = {}
    for kind in ("article", "book", "chapter", "thesis", "report", "preprint"):
        types[kind] = _ld_paper(with_citation(study, type=kind))["@type"]
    assert types == {
        "article": "ScholarlyArticle",
        "book": "Book",
        "chapter": "Chapter",
        "thesis": "Thesis",
        "report": "ScholarlyArticle",
        "preprint": "ScholarlyArticle",
    }
    chapter = _ld_paper(with_citation(study, type="chapter", journal=None, book_title="A Handbook", doi=None))
    assert chapter["isPartOf"] == {"@type": "Book", "name": "A Handbook"}
    assert "identifier" not in chapter and "sameAs" not in chapter
    assert "isPartOf" not in _ld_paper(with_citation(study, type="book"))


def test_a_paper_with_an_issue_and_a_url_prefers_its_doi_for_same_as():
    """Pins _ld_paper: issueNumber, and sameAs is the DOI link even when the citation has a URL."""
    paper = _ld_paper(with_citation(sample_study(PECK), issue="7", url="https://example.org/paper"))
    assert paper["issueNumber"] == "7"
    assert paper["sameAs"] == f"https://doi.org/{PECK_DOI}"
    assert "issueNumber" not in _ld_paper(sample_study(PECK))


def test_a_person_in_the_json_ld_has_an_orcid_link_and_a_given_name_only_when_recorded():
    """Pins _ld_author: organisation, person with ORCID and suffix, person with family name only."""
    assert _ld_author(Author(name="WHO")) == {"@type": "Organization", "name": "WHO"}
    assert _ld_author(Author(family="Van Derveer", given="Joseph W.", suffix="III", orcid="0000-0002-1825-0097")) == {
        "@type": "Person",
        "familyName": "Van Derveer",
        "name": "Joseph W. Van Derveer, III",
        "givenName": "Joseph W.",
        "sameAs": "https://orcid.org/0000-0002-1825-0097",
    }
    assert _ld_author(Author(family="Plato")) == {"@type": "Person", "familyName": "Plato", "name": "Plato"}


# --- exports: helpers -----------------------------------------------------------------------------------------

CSV_HEADER = (
    "id,url,headline,title,authors,year,journal,volume,issue,pages,doi,design,randomized,blinding,n,substances,"
    "conditions,mechanisms,settings,outcomes,main_outcome,main_direction,certainty,notices,added,reviewed"
)


def export_entry(study_id: str = "x-2020-y", **changes) -> dict:
    """A small valid entry (as YAML gives it), with top-level keys replaced by `changes`."""
    entry = {
        "id": study_id,
        "title": f"Title of {study_id}",
        "headline": f"Headline of {study_id}",
        "citation": {"type": "article", "authors": [{"family": "Roy", "given": "Ann"}], "year": 2020},
        "design": {"type": "randomized-controlled-trial"},
        "findings": [{"outcome": "o", "direction": "improved", "summary": "s"}],
        "substances": ["psilocybin"],
        "conditions": ["depression"],
        "summary": {"background": "b", "overview": "o", "conclusions": "c"},
        "evidence": {"certainty": "low", "rationale": "r"},
        "record": {"added": "2026-01-01"},
    }
    return entry | changes


def csv_cells(line: str) -> dict[str, str]:
    """One line of studies.csv as {column: cell}."""
    header = next(csv.reader([CSV_HEADER]))
    rows = list(csv.reader(io.StringIO(line, newline="")))
    assert len(rows) == 1
    return dict(zip(header, rows[0], strict=True))


# --- exports: study_record and _as_data (studies.json) --------------------------------------------------------


def test_a_study_record_is_the_entry_it_was_made_from():
    """study_record/_as_data: every given value comes back under its schema name, `with` and `main` included."""
    entry = export_entry(
        citation={
            "type": "article",
            "authors": [{"family": "Roy", "given": "Ann"}, {"name": "The Group"}],
            "year": 2021,
            "journal": "J",
            "volume": "3",
            "pages": "1-9",
        },
        design={"type": "randomized-controlled-trial", "randomized": False, "registration": ["NCT1"], "phase": "2"},
        sample={"n": 0, "arms": [{"label": "Drug", "n": 0}]},
        interventions=[{"substance": "psilocybin", "sessions": 2, "with": "Therapy"}, {"substance": "mdma"}],
        findings=[
            {"outcome": "a", "direction": "improved", "summary": "s", "effect": {"metric": "smd", "value": 0.5}},
            {
                "outcome": "b",
                "direction": "mixed",
                "summary": "t",
                "main": True,
                "p": "0.04",
                "effect": {"metric": "odds_ratio", "value": 2.0, "ci": [1.5, 3.0]},
            },
        ],
        record={"added": "2026-01-01", "reviewed": "2026-02-01"},
        related=["other-2020-z"],
        notices=[{"type": "correction", "date": "2026-03-01"}],
    )
    record = study_record(study_from_dict(entry, "entries/x-2020-y.yaml"))
    assert record == entry  # no path, the title once (not again in the citation), empty lists left out
    assert list(record) == [
        "id", "title", "headline", "citation", "design", "sample", "interventions", "findings", "substances",
        "conditions", "summary", "evidence", "record", "related", "notices",
    ]  # fmt: skip
    assert json.loads(json_item(record)) == entry


def test_a_study_record_leaves_out_what_the_entry_left_out():
    """study_record: no `interventions` when there are none, no `main: false`, no `with` and no empty optionals."""
    record = study_record(study_from_dict(export_entry(), "entries/x-2020-y.yaml"))
    assert record == {
        "id": "x-2020-y",
        "title": "Title of x-2020-y",
        "headline": "Headline of x-2020-y",
        "citation": {"type": "article", "authors": [{"family": "Roy", "given": "Ann"}], "year": 2020},
        "design": {"type": "randomized-controlled-trial"},
        "findings": [{"outcome": "o", "direction": "improved", "summary": "s"}],
        "substances": ["psilocybin"],
        "conditions": ["depression"],
        "summary": {"background": "b", "overview": "o", "conclusions": "c"},
        "evidence": {"certainty": "low", "rationale": "r"},
        "record": {"added": "2026-01-01"},
    }


def test_as_data_drops_empty_values_keeps_falsy_ones_and_passes_unknown_objects_through():
    """_as_data: None, [] and {} are left out of mappings; 0, False and "" stay; tuples become lists."""
    marker = object()
    data = {"none": None, "list": [], "dict": {}, "zero": 0, "false": False, "text": "", "pair": (1, 2.5),
            "nested": {"inner": {"gone": None}, "kept": [None, "x"]}, "other": marker}  # fmt: skip
    assert _as_data(data) == {
        "zero": 0, "false": False, "text": "", "pair": [1, 2.5], "nested": {"kept": [None, "x"]}, "other": marker,
    }  # fmt: skip
    assert _as_data((1, "a", None)) == [1, "a", None]
    assert _as_data(marker) is marker


def test_as_data_turns_a_dataclass_it_has_not_seen_before_into_a_mapping():
    """_as_data keeps each dataclass's field names in a module-level cache. Under mutmut the cache is already filled
    for kb's own classes (the fork server ran the tests once), so only a class new to it shows the first call.
    Kills kb.render.exports.x__as_data__mutmut_17 to _20."""

    @dataclasses.dataclass
    class Dose:
        amount: float
        unit: str | None = None
        notes: tuple = ()

    assert _as_data(Dose(25.0)) == {"amount": 25.0}
    assert _as_data([Dose(0.5, "mg/kg", ("oral",))]) == [{"amount": 0.5, "unit": "mg/kg", "notes": ["oral"]}]


@whole_render
def test_studies_json_holds_one_record_per_line_in_the_schema_shape(sample):
    """json_list/json_item/study_record on the sample: one study per line, no file path, `with` for `with_`."""
    text = page(sample, "downloads/studies.json")
    lines = text.split("\n")
    assert lines[0] == "[" and lines[-2:] == ["]", ""] and len(lines) == 18 + 3
    assert all(line.endswith(",") for line in lines[1:-3]) and not lines[-3].endswith(",")
    records = {record["id"]: record for record in json.loads(text)}
    assert len(records) == 18 and not any("path" in record for record in records.values())
    agin = records["agin-liebes-2025-self-compassion"]
    assert agin["citation"] == {
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
    }
    assert agin["interventions"] == [
        {"substance": "mdma", "sessions": 3, "with": "Manualised therapy, compared with placebo plus the same therapy"}
    ]
    assert [finding.get("main") for finding in agin["findings"]] == [True, None, None, None, None, None]
    edge = records["zz-nd-edge-cases"]
    assert "interventions" not in edge and edge["design"] == {"type": "observational-study"}
    assert edge["findings"][0] == {
        "outcome": "Score change",
        "direction": "improved",
        "summary": "Scores fell by a made-up amount.",
        "effect": {"metric": "mean_difference", "value": -4.5, "ci": [-7.25, -1.75]},
        "p": "<0.001",
    }
    assert edge["record"] == {"added": "2026-02-01"}
    injection = records["zz-2024-injection"]
    assert injection["title"] == (
        '<script>window.__pwned = "title"</script> Trial of <img src=x onerror="window.__pwned=\'title-img\'"> '
        '& more </script><script>window.__pwned="jsonld"</script>'
    )  # JSON keeps entry text as it is (it is data, not markup)
    assert '"title": "<script>window.__pwned = \\"title\\"</script>' in text  # only JSON's own escapes
    assert '{"family": "Páleníček", "given": "Tomáš"}' in text  # UTF-8, not \\u escapes


# --- exports: json_item, json_list, synthesis_json ---------------------------------------------------------------


def test_json_items_keep_non_ascii_text_and_lists_put_one_item_per_line():
    """json_item/json_list: UTF-8 text as written, `[]` for no items, otherwise one item per line."""
    assert json_item({"name": "Páleníček ✓", "n": 3}) == '{"name": "Páleníček ✓", "n": 3}'
    assert json_list([]) == "[]\n"
    assert json_list(['{"a": 1}']) == '[\n{"a": 1}\n]\n'
    assert json_list(["1", "2", "3"]) == "[\n1,\n2,\n3\n]\n"


def test_synthesis_json_is_strict_indented_utf8_json():
    """synthesis_json: indent 1, non-ASCII kept, a trailing newline, and a NaN refused rather than written."""
    written = synthesis_json([{"term": "ü", "k": 2, "ci": None}])
    assert written == '[\n {\n  "term": "ü",\n  "k": 2,\n  "ci": null\n }\n]\n'
    assert synthesis_json([]) == "[]\n"
    with pytest.raises(ValueError):
        synthesis_json([{"estimate": float("nan")}])


@whole_render
def test_synthesis_json_download_is_the_indented_list_of_outcome_groups(sample):
    """synthesis_json on the sample: a strict JSON list, one key per line."""
    text = page(sample, "downloads/synthesis.json")
    assert text.startswith('[\n {\n  "facet": "') and text.endswith("\n }\n]\n")
    records = json.loads(text)
    assert {"facet": "substances", "term": "ketamine", "domain": "wellbeing", "comparison": "placebo"}.items() <= (
        next(r for r in records if r["term"] == "ketamine" and r["comparison"] == "placebo").items()
    )


# --- exports: studies.csv (_csv_row, _authors, _cell, csv_line, studies_csv) -----------------------------------


def test_a_csv_line_has_every_column_in_order_and_ends_with_crlf():
    """csv_line/_csv_row/_authors: each column's value from the entry; joined tags; CRLF line end."""
    entry = export_entry(
        "lee-2021-x",
        headline='A headline, with a comma and a "quote"',
        citation={
            "type": "chapter",
            "authors": [{"family": "Lee", "given": "Bo"}, {"family": "Roy"}, {"given": "Ann"}, {"name": "The Group"}],
            "year": 2021,
            "book_title": "The Book",
            "publisher": "The Press",
            "volume": "7",
            "issue": "2",
            "article_number": "e12",
            "doi": "10.1/x",
        },
        design={"type": "randomized-controlled-trial", "randomized": False, "blinding": "single-blind"},
        sample={"n": 40},
        findings=[
            {"outcome": "First", "direction": "worsened", "summary": "s", "domain": "wellbeing"},
            {"outcome": "Main one", "direction": "no-difference", "summary": "s", "main": True, "domain": "anxiety"},
            {"outcome": "Third", "direction": "improved", "summary": "s", "domain": "wellbeing"},
        ],
        mechanisms=["neuroplasticity", "rumination"],
        substances=["psilocybin", "mdma"],
        conditions=["depression"],
        applications=[{"setting": "research", "text": "t"}, {"setting": "clinical-practice", "text": "u"}],
        evidence={"certainty": "moderate", "rationale": "r"},
        record={"added": "2026-01-01", "reviewed": "2026-02-03"},
        notices=[{"type": "correction"}, {"type": "retraction"}],
    )
    line = csv_line(study_from_dict(entry))
    assert line.endswith("\r\n") and line.count("\r\n") == 1
    assert line.startswith('lee-2021-x,studies/lee-2021-x/,"A headline, with a comma and a ""quote""",')
    assert csv_cells(line) == {
        "id": "lee-2021-x",
        "url": "studies/lee-2021-x/",
        "headline": 'A headline, with a comma and a "quote"',
        "title": "Title of lee-2021-x",
        "authors": "Lee, Bo; Roy; Ann; The Group",
        "year": "2021",
        "journal": "The Book",  # no journal: the book, then the publisher
        "volume": "7",
        "issue": "2",
        "pages": "e12",  # no pages: the article number
        "doi": "10.1/x",
        "design": "randomized-controlled-trial",
        "randomized": "no",
        "blinding": "single-blind",
        "n": "40",
        "substances": "psilocybin; mdma",
        "conditions": "depression",
        "mechanisms": "neuroplasticity; rumination",
        "settings": "research; clinical-practice",
        "outcomes": "wellbeing; anxiety",
        "main_outcome": "Main one",
        "main_direction": "no-difference",
        "certainty": "moderate",
        "notices": "correction; retraction",
        "added": "2026-01-01",
        "reviewed": "2026-02-03",
    }


def test_csv_cells_prefer_the_journal_and_the_pages_and_leave_missing_values_empty():
    """_csv_row: journal before book and publisher, pages before article number; None as an empty cell."""
    both = export_entry(
        citation={"type": "article", "authors": [{"family": "Roy", "given": "Ann"}], "journal": "J", "book_title": "B",
                  "publisher": "P", "pages": "1-2", "article_number": "e3"},
        design={"type": "observational-study", "randomized": True},
    )  # fmt: skip
    cells = csv_cells(csv_line(study_from_dict(both)))
    assert (cells["journal"], cells["pages"], cells["randomized"]) == ("J", "1-2", "yes")
    assert [cells[name] for name in ("year", "volume", "issue", "doi", "blinding", "n", "mechanisms")] == [""] * 7
    assert [cells[name] for name in ("settings", "outcomes", "notices", "reviewed")] == [""] * 4
    publisher = export_entry(citation={"type": "report", "authors": [{"name": "Org"}], "publisher": "P"})
    cells = csv_cells(csv_line(study_from_dict(publisher)))
    assert (cells["journal"], cells["authors"], cells["randomized"], cells["main_outcome"]) == ("P", "Org", "", "o")


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_get_an_apostrophe():
    """_cell: the formula guard on text, never on numbers; text folded onto one line; None empty."""
    assert _cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [_cell(text) for text in ("+1", "-5 mg", "@SUM(A1)")] == ["'+1", "'-5 mg", "'@SUM(A1)"]
    assert _cell("  =1+1") == "'=1+1"  # leading blanks are dropped first, so they cannot hide a formula
    assert _cell("\t=1") == "'=1"
    assert [_cell(text) for text in ("\t\tx", "\r\nx", "\tnotes")] == ["x", "x", "notes"]  # no tab or CR starts a cell
    assert _cell("a = b - c") == "a = b - c"  # only the start counts
    assert _cell("two\n  lines\r\nhere") == "two lines here"
    assert (_cell(None), _cell(0), _cell(-4.5), _cell(1234)) == ("", "0", "-4.5", "1234")
    headline = export_entry(headline="=cmd|' /C calc'!A0", title="-2 points")
    cells = csv_cells(csv_line(study_from_dict(headline)))
    assert (cells["headline"], cells["title"]) == ("'=cmd|' /C calc'!A0", "'-2 points")


def test_studies_csv_is_a_header_line_then_the_lines_given():
    """studies_csv: the header in column order with CRLF, then the study lines unchanged."""
    assert studies_csv([]) == CSV_HEADER + "\r\n"
    assert studies_csv(["a,b\r\n", "c,d\r\n"]) == CSV_HEADER + "\r\na,b\r\nc,d\r\n"


@whole_render
def test_studies_csv_download_has_a_row_per_study_with_the_entry_values(sample):
    """studies_csv/csv_line on the sample: the header, 18 CRLF rows, and whole rows of three entries."""
    data = (sample / "docs" / "downloads" / "studies.csv").read_bytes().decode("utf-8")
    assert data.startswith(CSV_HEADER + "\r\n")
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    assert [row["id"] for row in rows] == [
        "agin-liebes-2025-self-compassion", "zz-2024-injection", "peck-2023-psilocybin-anorexia",
        "barba-2022-psilocybin-rumination", "goodwin-2022-psilocybin-trd", "zz-synth-2022-trial-b-second-report",
        "zz-synth-2022-trial-c", "carhart-harris-2021-psilocybin-escitalopram", "davis-2021-psilocybin-depression",
        "mitchell-2021-mdma-ptsd", "zz-synth-2021-trial-a-follow-up", "zz-synth-2021-trial-b",
        "jerome-2020-mdma-ptsd-follow-up", "zz-synth-2020-trial-a", "mithoefer-2019-mdma-ptsd-pooled",
        "carhart-harris-2018-trd-follow-up", "carhart-harris-2016-psilocybin-trd", "zz-nd-edge-cases",
    ]  # fmt: skip
    by_id = {row["id"]: row for row in rows}
    assert list(by_id["agin-liebes-2025-self-compassion"].values()) == [
        "agin-liebes-2025-self-compassion",
        "studies/agin-liebes-2025-self-compassion/",
        "How MDMA-assisted therapy boosts self-compassion and eases PTSD",
        "Self-compassion mediates treatment effects in MDMA-assisted therapy for posttraumatic stress disorder",
        "Agin-Liebes, Gabrielle; Zeifman, Richard J.; Mitchell, Jennifer M.",
        "2025", "European Journal of Psychotraumatology", "16", "1", "2485513", "10.1080/20008066.2025.2485513",
        "secondary-analysis", "yes", "double-blind", "82", "mdma", "ptsd; depression",
        "self-compassion; self-criticism", "retreat-centre; psychotherapy; research",
        "self-compassion; ptsd-severity; depression-severity; substance-use",
        "Uncompassionate self-responding (self-judgement, isolation, over-identification)",
        "improved", "low", "", "2026-11-28", "2026-12-01",
    ]  # fmt: skip
    assert list(by_id["zz-nd-edge-cases"].values())[4:] == [
        "; ".join(f"Author{letter}, Test" for letter in "ABCDEFGHIJKLMNOPQRSTUV"),
        "", "Fixture Institute", "", "", "", "", "observational-study", "", "", "1234", "mdma", "ptsd", "", "", "",
        "Score change", "improved", "high", "correction", "2026-02-01", "",
    ]  # fmt: skip
    injection = by_id["zz-2024-injection"]
    assert injection["authors"] == "<b>Fixture</b>, Ann; Group <script>window.__pwned='author'</script>"
    assert [injection[name] for name in ("journal", "pages", "notices")] == [
        "Journal of <i>Fixtures</i>", "10-20", "retraction",
    ]  # fmt: skip
    assert by_id["peck-2023-psilocybin-anorexia"]["randomized"] == "no"
    assert by_id["zz-synth-2022-trial-c"]["randomized"] == ""


# --- exports: site_address ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "address"),
    [
        ("https://example.org/kb", "https://example.org/kb/"),
        ("https://example.org/kb/", "https://example.org/kb/"),
        ("  http://Example.org/X  ", "http://Example.org/X/"),
        ("HTTPS://example.org/", "HTTPS://example.org/"),
        ("", ""),
        ("ftp://example.org/", ""),
        ("example.org/kb", ""),
        ("javascript:alert(1)//https://x", ""),
        ("https://example.org/a b", ""),
        ('https://example.org/"onload', ""),
        ("https://example.org/<x>", ""),
        ("https://example.org/a>", ""),
        ("https://example.org\\a", ""),
    ],
)
def test_the_site_address_is_an_http_address_ending_in_a_slash_or_nothing(monkeypatch, configured, address):
    """site_address: KB_SITE_URL trimmed, http(s) only, no character that could leave an XML attribute."""
    monkeypatch.setenv("KB_SITE_URL", configured)
    assert site_address() == address


def test_without_kb_site_url_there_is_no_site_address(monkeypatch):
    monkeypatch.delenv("KB_SITE_URL", raising=False)
    assert site_address() == ""


# --- exports: feed -------------------------------------------------------------------------------------------------


class ExportRows:
    """Stands in for RowCache in feed(): a reference text per study."""

    def reference(self, study):
        return SimpleNamespace(text=f"Reference of {study.id}")


def test_the_feed_lists_the_newest_additions_with_stable_ids_and_absolute_links():
    """feed: order by (added, id) newest first, entry fields, the base before every link, fixed uuids."""
    studies = [
        study_from_dict(export_entry("a-2020-x", record={"added": "2026-01-05", "reviewed": "2026-02-01"})),
        study_from_dict(export_entry("b-2020-x", headline="Two\n   lines  here", mechanisms=["rumination"],
                                     applications=[{"setting": "research", "text": "t"}],
                                     record={"added": "2026-01-07", "reviewed": "2026-01-01"})),
        study_from_dict(export_entry("c-2020-x", record={"added": "2026-01-05"})),
    ]  # fmt: skip
    result = feed(SimpleNamespace(studies=studies), ExportRows(), "https://example.org/kb/")
    assert result.id == "urn:uuid:89ae51fd-ca4c-59b2-8d1f-ff2f3b920d73"
    assert (result.updated, result.base) == ("2026-02-01", "https://example.org/kb/")
    assert [(e.url, e.title, e.reference, e.published, e.updated, e.categories) for e in result.entries] == [
        ("https://example.org/kb/studies/b-2020-x/", "Two lines here", "Reference of b-2020-x", "2026-01-07",
         "2026-01-07", ["psilocybin", "depression", "rumination"]),  # reviewed before added: still the added day
        ("https://example.org/kb/studies/c-2020-x/", "Headline of c-2020-x", "Reference of c-2020-x", "2026-01-05",
         "2026-01-05", ["psilocybin", "depression"]),
        ("https://example.org/kb/studies/a-2020-x/", "Headline of a-2020-x", "Reference of a-2020-x", "2026-01-05",
         "2026-02-01", ["psilocybin", "depression"]),
    ]  # fmt: skip
    assert [entry.id for entry in result.entries] == [
        "urn:uuid:cc35aec8-df80-57a2-9cbd-9b8b48206010", "urn:uuid:f45b8587-764a-5133-872c-e91f4f6a73c9",
        "urn:uuid:1964163d-fffd-566b-8c40-e329a594e374",
    ]  # fixed per id, whatever the study's place or base: feed readers key on them  # fmt: skip


def test_the_feed_keeps_the_fifty_newest_and_is_empty_without_studies(monkeypatch):
    """feed: FEED_LIMIT of 50, the oldest dropped; the KB_SITE_URL base by default; 1970-01-01 with no entries."""
    studies = [
        study_from_dict(export_entry(f"s{day:02d}-2020-x", record={"added": f"2026-03-{day:02d}"}))
        for day in range(1, 31)
    ] + [
        study_from_dict(export_entry(f"t{day:02d}-2020-x", record={"added": f"2026-04-{day:02d}"}))
        for day in range(1, 22)
    ]  # 51 studies
    monkeypatch.setenv("KB_SITE_URL", "https://example.org")
    result = feed(SimpleNamespace(studies=studies), ExportRows())
    assert len(result.entries) == 50
    assert result.entries[0].url == "https://example.org/studies/t21-2020-x/"
    assert result.entries[-1].url == "https://example.org/studies/s02-2020-x/"  # s01 is the oldest: left out
    assert result.updated == "2026-04-21"
    empty = feed(SimpleNamespace(studies=[]), ExportRows(), "")
    assert (empty.entries, empty.updated, empty.base) == ([], "1970-01-01", "")
    assert empty.id == "urn:uuid:89ae51fd-ca4c-59b2-8d1f-ff2f3b920d73"


@whole_render
def test_the_feed_xml_lists_the_sample_newest_first_with_relative_links(sample):
    """feed and feed.xml.j2 on the sample (no KB_SITE_URL): order, ids, dates, references and categories."""
    text = page(sample, "feed.xml")
    assert "  <id>urn:uuid:89ae51fd-ca4c-59b2-8d1f-ff2f3b920d73</id>\n" in text
    assert "  <updated>2026-12-01T00:00:00Z</updated>\n" in text  # the newest entry's date
    assert '<link rel="self" type="application/atom+xml" href="feed.xml"/>' in text
    assert '<link rel="alternate" type="text/html" href="./"/>' in text
    links = [line.split('href="studies/')[1].split("/")[0] for line in text.splitlines() if 'href="studies/' in line]
    assert links == [
        "peck-2023-psilocybin-anorexia", "mithoefer-2019-mdma-ptsd-pooled", "jerome-2020-mdma-ptsd-follow-up",
        "carhart-harris-2016-psilocybin-trd", "mitchell-2021-mdma-ptsd", "goodwin-2022-psilocybin-trd",
        "davis-2021-psilocybin-depression", "carhart-harris-2021-psilocybin-escitalopram",
        "carhart-harris-2018-trd-follow-up", "barba-2022-psilocybin-rumination", "agin-liebes-2025-self-compassion",
        "zz-synth-2022-trial-c", "zz-synth-2022-trial-b-second-report", "zz-synth-2021-trial-b",
        "zz-synth-2021-trial-a-follow-up", "zz-synth-2020-trial-a", "zz-nd-edge-cases", "zz-2024-injection",
    ]  # fmt: skip
    assert (
        "  <entry>\n"
        "    <title>Phase 3 trial finds MDMA-assisted therapy eases severe PTSD</title>\n"
        "    <id>urn:uuid:87dfdaea-ef27-50e9-9273-5430584433e8</id>\n"
        '    <link rel="alternate" type="text/html" href="studies/mitchell-2021-mdma-ptsd/"/>\n'
        "    <published>2026-11-28T00:00:00Z</published>\n"
        "    <updated>2026-12-01T00:00:00Z</updated>\n"
    ) in text
    assert (
        '    <summary type="text">Carhart-Harris, R. L., Bolstridge, M., Rucker, J., Day, C. M. J., Erritzoe, D., '
        "Kaelen, M., Bloomfield, M., Rickard, J. A., Forbes, B., Feilding, A., Taylor, D., Pilling, S., Curran, V. H., "
        "&amp; Nutt, D. J. (2016). Psilocybin with psychological support for treatment-resistant depression: An "
        "open-label feasibility study. The Lancet Psychiatry. https://doi.org/10.1016/S2215-0366(16)30065-7</summary>\n"
        '    <category term="psilocybin"/>\n'
        '    <category term="treatment-resistant-depression"/>\n'
        "  </entry>\n"
    ) in text
    assert (
        '    <category term="mdma"/>\n    <category term="ptsd"/>\n    <category term="depression"/>\n'
        '    <category term="fear-extinction"/>\n  </entry>\n'
    ) in text  # mitchell: substances, conditions, mechanisms; never settings or outcomes
    assert (
        "    <published>2026-03-01T00:00:00Z</published>\n    <updated>2026-03-01T00:00:00Z</updated>\n"
    ) in text  # the synthesis fixtures were never reviewed


# --- output: is_generated, DocsWriter ------------------------------------------------------------------------------


def test_only_the_feed_and_files_in_generated_folders_are_generated():
    """is_generated: the first path segment names a generated folder, or the path is feed.xml itself."""
    generated = [
        "feed.xml", "studies/a.md", "studies/sub/b.md", ".generated/stats.md", "kb-assets/x.css",
        "downloads/studies.csv", "bibliography/index.md", "evidence/index.md", "settings/research.md",
    ]  # fmt: skip
    assert [path for path in generated if not is_generated(path)] == []
    others = ["about.md", "index.md", "studiesx/a.md", "sub/feed.xml", "feed.xml.bak", "assets/x.css", "studies"]
    assert [path for path in others if is_generated(path)] == ["studies"]  # the folder name itself counts too


def test_a_writer_stages_only_the_generated_folders_docs_lacks(tmp_path):
    """DocsWriter.open/_target: `fresh` lists the missing generated folders; the staging folder is per process."""
    docs = tmp_path / "docs"
    (docs / "studies").mkdir(parents=True)
    (docs / "downloads").mkdir()
    (docs / "evidence").write_text("a file, not a folder")
    killed = docs / ".kb-staging-99999999" / "studies"  # beyond the largest process id: its run is gone
    killed.mkdir(parents=True)
    (killed / "half.md").write_bytes(b"half")
    writer = DocsWriter.open(docs)
    assert not (docs / ".kb-staging-99999999").exists()  # what a killed run left behind is cleared first
    assert writer.docs_dir == docs
    assert writer.staging == docs / f".kb-staging-{os.getpid()}"
    assert writer.fresh == frozenset(
        ["mechanisms", "substances", "conditions", "designs", "outcomes", "settings", "evidence", "bibliography",
         ".generated", "kb-assets"]
    )  # fmt: skip
    assert writer._target("studies/a.md") == (docs / "studies" / "a.md", False)
    assert writer._target("feed.xml") == (docs / "feed.xml", False)
    assert writer._target("substances/sub/x.md") == (writer.staging / "substances" / "sub" / "x.md", True)


def test_a_writer_reports_per_output_whether_it_changed_and_makes_nested_folders(tmp_path):
    """DocsWriter.write/_write/_same_bytes: the list in output order; unchanged bytes are not rewritten."""
    docs = tmp_path / "docs"
    (docs / "studies").mkdir(parents=True)
    (docs / "studies" / "same.md").write_bytes(b"same")
    (docs / "studies" / "size.md").write_bytes(b"abcd")
    (docs / "studies" / "bytes.md").write_bytes(b"abcd")
    before = (docs / "studies" / "same.md").stat().st_ino
    writer = DocsWriter.open(docs)
    outputs = [Output("studies/same.md", b"same"), Output("studies/size.md", b"abc"),
               Output("studies/bytes.md", b"abce"), Output("studies/deep/er/new.md", b"new"),
               Output("downloads/a.csv", b"csv"), Output("feed.xml", b"feed")]  # fmt: skip
    done = writer.write(outputs)
    assert done == [("studies/same.md", False), ("studies/size.md", True), ("studies/bytes.md", True),
                    ("studies/deep/er/new.md", True), ("downloads/a.csv", True), ("feed.xml", True)]  # fmt: skip
    assert (docs / "studies" / "same.md").stat().st_ino == before  # not even replaced by the same bytes
    assert [(docs / "studies" / name).read_bytes() for name in ("size.md", "bytes.md", "deep/er/new.md")] == [
        b"abc", b"abce", b"new",
    ]  # fmt: skip
    assert (writer.staging / "downloads" / "a.csv").read_bytes() == b"csv"
    report = writer.finish(done)
    assert (report.written, report.removed, report.unchanged) == (
        ["studies/size.md", "studies/bytes.md", "studies/deep/er/new.md", "downloads/a.csv", "feed.xml"], [], 1,
    )  # fmt: skip
    assert (docs / "downloads" / "a.csv").read_bytes() == b"csv"
    assert sorted(path.name for path in docs.iterdir()) == ["downloads", "feed.xml", "studies"]


def test_a_writer_refuses_a_path_outside_the_generated_folders_by_name(tmp_path):
    """DocsWriter.write: the first path outside is named, and nothing is written."""
    docs = tmp_path / "docs"
    docs.mkdir()
    writer = DocsWriter.open(docs)
    with pytest.raises(ValueError, match=r"^about\.md is outside the generated folders$"):
        writer.write([Output("studies/a.md", b"A"), Output("about.md", b"x"), Output("index.md", b"y")])
    assert list(docs.iterdir()) == []


def test_finishing_moves_only_staged_folders_and_keeps_what_the_run_wrote(tmp_path):
    """DocsWriter.finish: staged folders renamed into docs/, stale files of existing folders removed and counted."""
    docs = tmp_path / "docs"
    (docs / "studies").mkdir(parents=True)
    (docs / "studies" / "old.md").write_bytes(b"old")
    (docs / "studies" / "kept.md").write_bytes(b"kept")
    (docs / "feed.xml").write_bytes(b"feed")
    writer = DocsWriter.open(docs)
    done = writer.write([Output("studies/kept.md", b"kept"), Output("designs/rct.md", b"rct")])
    report = writer.finish(done)
    assert (report.written, report.removed, report.unchanged) == (["designs/rct.md"], ["feed.xml", "studies/old.md"], 1)
    left = sorted(path.relative_to(docs).as_posix() for path in docs.rglob("*"))
    assert left == ["designs", "designs/rct.md", "studies", "studies/kept.md"]
    again = DocsWriter.open(docs)  # nothing staged this time: there is no staging folder to remove
    report = again.finish(again.write([Output("studies/kept.md", b"kept")]))
    assert (report.written, report.removed, report.unchanged) == ([], ["designs/rct.md"], 1)
    DocsWriter.open(docs).abandon()  # a run that failed before writing anything
    assert sorted(path.name for path in docs.iterdir()) == ["designs", "studies"]


def test_write_outputs_brings_the_generated_folders_to_exactly_the_outputs(tmp_path):
    """write_outputs: writes, then finishes (stale files removed); a refused path is raised as it is."""
    docs = tmp_path / "docs"
    (docs / "studies").mkdir(parents=True)
    (docs / "studies" / "gone.md").write_bytes(b"gone")
    report = write_outputs(docs, [Output("studies/a.md", b"A"), Output("outcomes/o.md", b"O")])
    assert (report.written, report.removed) == (["studies/a.md", "outcomes/o.md"], ["studies/gone.md"])
    assert report.unchanged == 0
    assert sorted(path.relative_to(docs).as_posix() for path in docs.rglob("*")) == [
        "outcomes", "outcomes/o.md", "studies", "studies/a.md",
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"^about\.md is outside the generated folders$"):
        write_outputs(docs, [Output("about.md", b"overwritten")])


def test_a_write_that_fails_leaves_no_staged_folder_and_raises(tmp_path):
    """write_outputs: any failure abandons the staged folders and is raised again."""
    docs = tmp_path / "docs"
    (docs / "studies").mkdir(parents=True)
    with pytest.raises(TypeError):
        write_outputs(docs, [Output("downloads/a.csv", b"csv"), Output("bibliography/b.md", "not bytes")])
    assert sorted(path.name for path in docs.iterdir()) == ["studies"]


# --- output: sync_folder, remove_stale, _remove_stale_in ---------------------------------------------------------


def test_sync_folder_makes_a_folder_hold_exactly_the_files_given(tmp_path, monkeypatch):
    """sync_folder/_write: new and changed files written (atomically, without fsync: the files can be made
    again), unchanged ones untouched, others and emptied folders removed."""

    def no_fsync(descriptor):
        raise AssertionError("generated files are not synced to disk one by one")

    monkeypatch.setattr(os, "fsync", no_fsync)
    theme = tmp_path / "cache" / "theme"
    (theme / "old" / "deeper").mkdir(parents=True)
    (theme / "old" / "deeper" / "gone.css").write_bytes(b"gone")
    (theme / "same.html").write_bytes(b"same")
    (theme / "changed.html").write_bytes(b"before")
    (tmp_path / "cache" / "beside.txt").write_bytes(b"beside")  # next to the folder: not its business
    same = (theme / "same.html").stat().st_ino
    sync_folder(theme, {"same.html": b"same", "changed.html": b"after", "partials/new.html": b"new"})
    files = sorted(path.relative_to(theme).as_posix() for path in theme.rglob("*"))
    assert files == ["changed.html", "partials", "partials/new.html", "same.html"]
    assert (theme / "changed.html").read_bytes() == b"after" and (theme / "same.html").stat().st_ino == same
    assert (tmp_path / "cache" / "beside.txt").read_bytes() == b"beside"
    sync_folder(theme, {})
    assert theme.is_dir() and list(theme.iterdir()) == []  # the folder itself stays


def test_remove_stale_removes_unexpected_generated_files_and_the_folders_they_leave_empty(tmp_path):
    """remove_stale/_remove_stale_in: sorted docs-relative paths; skipped folders, hand-written files and the
    targets of links stay; emptied subfolders go (bottom-up), the generated folder itself stays."""
    docs = tmp_path / "docs"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"keep")
    for path in ("studies/a.md", "studies/b.md", "studies/x/y/z.md", "studies/x/w.md", "substances/t/u.md",
                 "downloads/staged.csv", "about.md"):  # fmt: skip
        (docs / path).parent.mkdir(parents=True, exist_ok=True)
        (docs / path).write_bytes(b".")
    (docs / "studies" / "link").symlink_to(outside, target_is_directory=True)
    (docs / "designs").mkdir()
    removed = remove_stale(docs, {"studies/a.md", "studies/x/w.md", "feed.xml"}, skip=("downloads",))
    assert removed == [
        "studies/b.md", "studies/link", "studies/x/y/z.md", "substances/t/u.md",
    ]  # fmt: skip
    left = sorted(path.relative_to(docs).as_posix() for path in docs.rglob("*"))
    assert left == ["about.md", "designs", "downloads", "downloads/staged.csv", "studies", "studies/a.md",
                    "studies/x", "studies/x/w.md", "substances"]  # fmt: skip
    assert (outside / "keep.txt").read_bytes() == b"keep"  # a link is removed, never followed
    (docs / "feed.xml").write_bytes(b"old feed")
    (docs / "studies" / "a.md").unlink()
    assert remove_stale(docs, set()) == ["downloads/staged.csv", "feed.xml", "studies/x/w.md"]
    assert sorted(path.relative_to(docs).as_posix() for path in docs.rglob("*")) == [
        "about.md", "designs", "downloads", "studies", "substances",
    ]  # fmt: skip


def test_remove_stale_keeps_an_expected_feed_and_a_feed_that_is_a_folder(tmp_path):
    """remove_stale: feed.xml goes only when it is a file the run did not produce."""
    (tmp_path / "feed.xml").write_bytes(b"feed")
    assert remove_stale(tmp_path, {"feed.xml"}) == []
    assert (tmp_path / "feed.xml").read_bytes() == b"feed"


# --- output: remove_abandoned, _running, _same_bytes ---------------------------------------------------------------


def test_abandoned_working_folders_go_and_those_of_running_processes_stay(tmp_path):
    """remove_abandoned: folders `<prefix><pid>[-...]` of processes that are gone (or with no pid) are removed;
    those of a running process (one this test started), files, and other names stay."""
    remove_abandoned(tmp_path / "missing", ".kb-site-")  # no folder: nothing to do, and no error
    other_run = subprocess.Popen(["sleep", "60"])
    try:
        names = [
            f".kb-site-{other_run.pid}", f".kb-site-{other_run.pid}-2", f".kb-site-{other_run.pid}-a-b",
            ".kb-site-99999999", ".kb-site-99999999-3", ".kb-site-abc", ".kb-site-", "kb-site-99999999",
            ".kb-staging-99999999",
        ]  # fmt: skip
        for name in names:
            (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / ".kb-site-99999998").write_bytes(b"a file, not a working folder")
        remove_abandoned(tmp_path, ".kb-site-")
        assert other_run.poll() is None  # only asked whether it runs, never signalled
    finally:
        other_run.kill()
        other_run.wait()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([
        f".kb-site-{other_run.pid}", f".kb-site-{other_run.pid}-2", f".kb-site-{other_run.pid}-a-b",
        ".kb-site-99999998", ".kb-staging-99999999", "kb-site-99999999",
    ])  # fmt: skip


def test_a_process_runs_unless_signal_zero_finds_no_such_process(monkeypatch):
    """_running: signal 0 only; no such process (or a pid out of range) is not running; someone else's process
    (PermissionError) and any process on Windows are. output.py's `os` is replaced: no process gets a signal."""
    calls = []

    def system(name, error=None):
        def kill(pid, signal):
            calls.append((pid, signal))
            if error:
                raise error

        return SimpleNamespace(name=name, kill=kill)

    monkeypatch.setattr(render_output, "os", system("posix"))
    assert _running(4321) is True
    monkeypatch.setattr(render_output, "os", system("posix", ProcessLookupError()))
    assert _running(4322) is False
    monkeypatch.setattr(render_output, "os", system("posix", OverflowError()))
    assert _running(4323) is False
    monkeypatch.setattr(render_output, "os", system("posix", PermissionError()))
    assert _running(4324) is True
    monkeypatch.setattr(render_output, "os", system("nt"))
    assert _running(4325) is True
    assert calls == [(4321, 0), (4322, 0), (4323, 0), (4324, 0)]  # never asked on Windows


def test_same_bytes_compares_size_then_content_and_a_missing_file_differs(tmp_path):
    """_same_bytes: equal bytes only; a shorter, longer or different file, or none, is not the same."""
    path = tmp_path / "a.md"
    path.write_bytes(b"abcd")
    assert _same_bytes(path, b"abcd") is True
    assert [_same_bytes(path, content) for content in (b"abc", b"abcde", b"abce", b"")] == [False] * 4
    assert _same_bytes(tmp_path / "missing.md", b"") is False
    assert _same_bytes(tmp_path, b"") is False  # a folder cannot be read as a file


# --- templating: oneline, paragraphs, heading_text ------------------------------------------------------------------


def test_oneline_folds_any_whitespace_and_escapes_markup():
    """oneline: one line, single spaces, HTML escaped, and Markup so a template does not escape it twice."""
    result = oneline("  a\tb\n\n c <i>&</i> ")
    assert result == "a b c &lt;i&gt;&amp;&lt;/i&gt;" and isinstance(result, Markup)
    assert oneline(3) == "3"


def test_paragraphs_split_on_blank_lines_even_with_spaces_and_drop_empty_ones():
    """paragraphs: a line of only blanks is a break, blank parts make no <p>, and no text means no markup."""
    assert paragraphs("one\n \t \ntwo\nlines\n\n\n\nthree <b>") == (
        "<p>one</p>\n<p>two lines</p>\n<p>three &lt;b&gt;</p>"
    )
    assert paragraphs("\n\n  \n\n") == "" and paragraphs("") == ""
    assert isinstance(paragraphs("x"), Markup)


def test_heading_text_escapes_every_markdown_punctuation_character():
    """heading_text: HTML escaped first, then each Markdown punctuation backslash-escaped; '#' of entities kept."""
    assert heading_text("[x](javascript:alert(1)) { onclick=y }") == (r"\[x\]\(javascript:alert\(1\)\) \{ onclick=y \}")
    assert heading_text("Crohn's disease #2") == r"Crohn&#39;s disease \#2"
    assert heading_text("\\ ` * _ { } [ ] ( ) > + - . ! # < &") == (
        r"\\ \` \* \_ \{ \} \[ \] \( \) &gt; \+ \- \. \! \# &lt; &amp;"
    )
    assert heading_text("a\n  b: c; d, e") == "a b: c; d, e"
    environment = make_environment()
    rendered = environment.from_string("## {{ x|heading_text }}").render(x="<b>*bold*</b>")
    assert rendered == r"## &lt;b&gt;\*bold\*&lt;/b&gt;"  # Markup: not escaped a second time


# --- templating: front_matter, _yaml_safe, _refuse_long_keys -------------------------------------------------------


def test_front_matter_writes_each_key_as_one_json_line_and_escapes_only_head_text():
    """front_matter: keys in order, values as UTF-8 JSON; title and description escaped and folded; the caller's
    dictionary is not changed."""
    data = {"title": "A &\n  B", "description": "x <y>", "n": 3, "tags": ["ü", "<b>"], "hide": ["toc"]}
    block = templating.front_matter(data)
    assert block == (
        '---\ntitle: "A &amp; B"\ndescription: "x &lt;y&gt;"\nn: 3\ntags: ["ü", "<b>"]\nhide: ["toc"]\n---\n'
    )
    assert isinstance(block, Markup)
    assert data["title"] == "A &\n  B" and data["description"] == "x <y>"
    assert yaml.safe_load(block.strip("-\n")) == {
        "title": "A &amp; B", "description": "x &lt;y&gt;", "n": 3, "tags": ["ü", "<b>"], "hide": ["toc"],
    }  # fmt: skip
    assert templating.front_matter({}) == "---\n---\n"


def test_yaml_safe_writes_yaml_line_breaks_and_controls_as_json_escapes():
    """_yaml_safe: each such character becomes \\u and four lower-case hex digits; others stay as they are."""
    assert _yaml_safe('"a\x85b\u2028c\u2029d\x7fe\x9f\ufffe ü ✓"') == (
        '"a\\u0085b\\u2028c\\u2029d\\u007fe\\u009f\\ufffe ü ✓"'
    )
    assert templating.front_matter({"tags": ["a\x85b"]}) == '---\ntags: ["a\\u0085b"]\n---\n'


def test_front_matter_refuses_long_keys_at_any_depth_from_the_limit_on():
    """_refuse_long_keys: a key whose JSON is 1024 characters or more, in nested maps and lists, is an error."""
    longest = "k" * 1021  # 1023 characters as JSON, with its quotes
    assert f'"{longest}": 1' in templating.front_matter({"tag_urls": {longest: 1}})
    for data in (
        {"tag_urls": {longest + "k": 1}},
        {"a": [{"ok": {longest + "k": 1}}]},
        {"a": ("x", [{longest + "k": 1}])},
        {longest + "k": 1},
    ):
        with pytest.raises(ValueError, match=r"^front matter key over 1024 characters: k{40}\.\.\.$"):
            templating.front_matter(data)


# --- templating: make_environment, _Remembered ------------------------------------------------------------------


def test_the_template_environment_escapes_is_strict_and_trims_block_lines(tmp_path):
    """make_environment: autoescape, StrictUndefined, trim_blocks/lstrip_blocks, trailing newline kept, filters."""
    environment = make_environment(tmp_path)
    template = environment.from_string("  {% if x %}\n{{ x }}\n  {% endif %}\n{{ y|oneline }}|{{ z|paragraphs }}\n")
    assert template.render(x="<b>", y="a\nb", z="p") == "&lt;b&gt;\na b|<p>p</p>\n"
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ missing }}").render()
    assert environment.from_string("{{ d|front_matter }}").render(d={"n": 1}) == "---\nn: 1\n---\n"


def test_templates_are_looked_up_in_folder_order_and_read_once(tmp_path):
    """make_environment: the first folder wins; a template is not read again after a change (auto_reload off)."""
    own, package = tmp_path / "own", tmp_path / "package"
    own.mkdir()
    package.mkdir()
    (own / "page.md.j2").write_text("own\n")
    (package / "page.md.j2").write_text("package\n")
    (package / "other.md.j2").write_text("other\n")
    environment = make_environment(own, package)
    assert environment.get_template("page.md.j2").render() == "own\n"
    assert environment.get_template("other.md.j2").render() == "other\n"
    (own / "page.md.j2").write_text("changed\n")
    os.utime(own / "page.md.j2", (1_000_000_000, 1_000_000_000))
    assert environment.get_template("page.md.j2").render() == "own\n"


def test_remember_keys_by_macro_and_key(tmp_path):
    """_Remembered: the same key under two macros is two outputs; an empty output is kept too."""
    (tmp_path / "t.j2").write_text(
        "{% macro a(x) %}A{{ x }}{% endmacro %}{% macro b(x) %}B{{ x }}{% endmacro %}"
        "{{ remember(a, 'k', 1) }}{{ remember(b, 'k', 2) }}{{ remember(a, 'k', 3) }}{{ remember(b, 'j', 4) }}"
    )
    assert make_environment(tmp_path).get_template("t.j2").render() == "A1B2A1B4"


def test_compiled_templates_are_kept_in_the_cache_folder_under_a_digest_of_the_options(tmp_path, monkeypatch):
    """make_environment/_cache_pattern: compiled templates go to $XDG_CACHE_HOME/kb/templates, named with a
    digest of TEMPLATE_OPTIONS, so changed options never load code compiled under the old ones."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "page.md.j2").write_text("{{ x }}\n")
    assert make_environment(tmp_path / "t").get_template("page.md.j2").render(x="<a>") == "&lt;a&gt;\n"
    compiled = tmp_path / "cache" / "kb" / "templates"
    names = [path.name for path in compiled.iterdir()]
    assert len(names) == 1 and re.fullmatch(r"__jinja2_[0-9a-f]{40}\.[0-9a-f]{12}\.cache", names[0])
    assert make_environment(tmp_path / "t").get_template("page.md.j2").render(x="b") == "b\n"  # from the cache
    assert [path.name for path in compiled.iterdir()] == names
    monkeypatch.setitem(templating.TEMPLATE_OPTIONS, "keep_trailing_newline", False)
    assert make_environment(tmp_path / "t").get_template("page.md.j2").render(x="b") == "b"
    again = sorted(path.name for path in compiled.iterdir())
    assert len(again) == 2 and again[0].split(".")[0] == again[1].split(".")[0]  # same template, other options
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "t"]


def test_without_a_cache_folder_templates_are_compiled_each_run(tmp_path, monkeypatch):
    """make_environment: when the cache folder cannot be made, there is no bytecode cache (and no stray folder)."""
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file" / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "page.md.j2").write_text("{{ x }}\n")
    environment = make_environment(tmp_path / "t")
    assert environment.bytecode_cache is None
    assert environment.get_template("page.md.j2").render(x="y") == "y\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "t"]


def test_template_problems_are_errors_at_column_one_with_the_message(tmp_path):
    """render_template: a syntax error, a missing template and an error in a template that is not a .j2 file
    (no template frame: the template's name and line 1) become problems of severity error."""
    (tmp_path / "page.md.j2").write_text("one\n{% if %}\n")
    (tmp_path / "page.txt").write_text("a\n{{ 1 + x }}\n")
    problems = []
    for name, context in (("page.md.j2", {}), ("absent.md.j2", {}), ("page.txt", {"x": "s"})):
        with pytest.raises(ProblemError) as raised:
            render_template(make_environment(tmp_path), name, context)
        problem = raised.value.problem
        problems.append((problem.path, problem.line, problem.col, problem.severity, problem.message))
    assert problems == [
        (display_path(tmp_path / "page.md.j2"), 2, 1, "error", "Expected an expression, got 'end of statement block'"),
        (display_path(tmp_path), 1, 1, "error", "template 'absent.md.j2' is missing"),
        ("page.txt", 1, 1, "error", "template error: unsupported operand type(s) for +: 'int' and 'str'"),
    ]


# --- forest plots: geometry ------------------------------------------------------------------------------------

PSILOCYBIN_VS_ESCITALOPRAM = "Depressive symptoms (MADRS) at six weeks, psilocybin vs escitalopram"


def test_a_linear_forest_plot_stacks_labels_above_intervals_on_a_round_axis():
    """Kills kb.render.plot.x_forest_plot__mutmut_5, _7, _11, _28, _31, _32, _33, _35 to _40, _42, _45, _49, _50,
    _59, _61, _68, _71 to _76, _78, _79, _82, _86, _88, _89, _91, _93, _94, _97, _98, _102, _118, _122, _124, _127;
    xǁ_LinearScaleǁ__init____mutmut_8, _16, _17, _20, _24; xǁ_LinearScaleǁx__mutmut_10, _12, _16."""
    items = [
        PlotItem("PTSD severity (CAPS-5)", 0.9, (0.5, 1.3)),
        PlotItem(PSILOCYBIN_VS_ESCITALOPRAM, -0.2, (-0.6, 0.2), pooled=True),
    ]
    plot = forest_plot("cohen_d", items, "outcome-ptsd-placebo-smd")
    # Values -0.6..1.3 and the null 0: a range of 1.9, a quarter of it 0.475, so steps of 0.5 from -1 to 1.5;
    # the 228 units between x=8 and x=236 make 91.2 units per 1.0 of Cohen's d.
    assert plot.ticks == [
        Tick(8.0, "-1"),
        Tick(53.6, "-0.5"),
        Tick(99.2, "0"),
        Tick(144.8, "0.5"),
        Tick(190.4, "1"),
        Tick(236.0, "1.5"),
    ]
    # Rows from y=26: a 16-unit line per label line (text 4 above its bottom), then half a 22-unit bar to the
    # interval's centre, then the bar's other half and a 4-unit gap; the axis 4 below the last row.
    assert plot.rows == [
        PlotRow(
            label="PTSD severity (CAPS-5)",
            full_label="PTSD severity (CAPS-5)",
            lines=[LabelLine(38, "PTSD severity (CAPS-5)")],
            y=53,
            x=181.3,
            x_low=144.8,
            x_high=217.8,
            value_text="0.9 [0.5, 1.3]",
            pooled=False,
        ),
        PlotRow(
            label=PSILOCYBIN_VS_ESCITALOPRAM,
            full_label=PSILOCYBIN_VS_ESCITALOPRAM,
            lines=[
                LabelLine(80, "Depressive symptoms (MADRS) at six weeks, psilocybin"),
                LabelLine(96, "vs escitalopram"),
            ],
            y=111,
            x=81.0,
            x_low=44.5,
            x_high=117.4,
            value_text="-0.2 [-0.6, 0.2]",
            pooled=True,
        ),
    ]
    assert plot.rows[1].diamond == "44.5,111.0 81.0,104.0 117.4,111.0 81.0,118.0"
    assert (plot.id, plot.metric, plot.title, plot.log_scale) == (
        "outcome-ptsd-placebo-smd",
        "cohen_d",
        "Cohen's d",
        False,
    )
    assert (plot.width, plot.height, plot.plot_left, plot.plot_right, plot.value_left) == (400, 174, 8, 236, 246)
    assert (plot.axis_y, plot.null_x) == (130, 99.2)
    assert plot.description == (
        "Forest plot of cohen's d with 95% confidence intervals: PTSD severity (CAPS-5): 0.9 [0.5, 1.3]; "
        f"{PSILOCYBIN_VS_ESCITALOPRAM}: -0.2 [-0.6, 0.2]."
    )


@pytest.mark.parametrize(
    ("value", "ci", "ticks", "row_x", "null_x"),
    [
        # 0..2.1 (the null is on the axis even when every interval lies above it): a quarter is 0.525, step 1.
        (1.2, (0.4, 2.1), [(8.0, "0"), (84.0, "1"), (160.0, "2"), (236.0, "3")], (99.2, 38.4, 167.6), 8.0),
        # The mirror image: every interval below the null still gets an axis up to 0.
        (-1.2, (-2.1, -0.4), [(8.0, "-3"), (84.0, "-2"), (160.0, "-1"), (236.0, "0")], (144.8, 76.4, 205.6), 236.0),
        # An effect of exactly 0 with no width: the axis is widened to -1..1 (steps of 0.5) around it.
        (0, (0, 0), [(8.0, "-1"), (65.0, "-0.5"), (122.0, "0"), (179.0, "0.5"), (236.0, "1")], (122.0,) * 3, 122.0),
    ],
)
def test_a_linear_axis_always_reaches_the_line_of_no_effect(value, ci, ticks, row_x, null_x):
    """Kills kb.render.plot.xǁ_LinearScaleǁ__init____mutmut_4, _7, _9 to _13, _18."""
    plot = forest_plot("mean_difference", [PlotItem("Outcome", value, ci)], "forest-md")
    assert [(tick.x, tick.label) for tick in plot.ticks] == ticks
    assert (plot.rows[0].x, plot.rows[0].x_low, plot.rows[0].x_high) == row_x
    assert plot.null_x == null_x


@pytest.mark.parametrize(
    ("rough", "step"),
    [(1.0, 1), (1.5, 2), (2.2, 2.5), (0.475, 0.5), (0.8, 1), (30, 50), (7, 10), (0.03, 0.05)],
)
def test_axis_steps_are_one_two_two_and_a_half_or_five_times_a_power_of_ten(rough, step):
    """The smallest such step at least as large as the rough one.
    Kills kb.render.plot.x__nice_step__mutmut_3, _7 to _14."""
    assert _nice_step(rough) == pytest.approx(step)


def test_a_ratio_plot_has_a_log_axis_with_every_other_tick_the_null_and_the_end():
    """Eight candidate ticks (0.1 to 20) are thinned to the even ones plus 1 and 20.
    Kills kb.render.plot.x_forest_plot__mutmut_123, _125, _126; xǁ_LogScaleǁticks__mutmut_3 to _14."""
    items = [PlotItem("Relapse", 0.3, (0.15, 0.6)), PlotItem("Response", 4.0, (1.5, 15.0))]
    plot = forest_plot("odds_ratio", items, "forest-or")
    # x = 8 + 228 * (log10(v) - log10(0.1)) / (log10(20) - log10(0.1))
    assert plot.ticks == [
        Tick(8.0, "0.1"),
        Tick(77.3, "0.5"),
        Tick(107.1, "1"),
        Tick(136.9, "2"),
        Tick(206.2, "10"),
        Tick(236.0, "20"),
    ]
    assert [(row.x, row.x_low, row.x_high) for row in plot.rows] == [(55.3, 25.4, 85.1), (166.7, 124.5, 223.6)]
    assert (plot.title, plot.log_scale, plot.null_x) == ("Odds ratio", True, 107.1)
    assert plot.description == (
        "Forest plot of odds ratio with 95% confidence intervals on a log scale: "
        "Relapse: 0.3 [0.15, 0.6]; Response: 4 [1.5, 15]."
    )


@pytest.mark.parametrize(
    ("value", "ci", "ticks"),
    [
        # Every interval above 1: the axis starts at the null itself (a tick), and 2 is the only tick inside.
        (3.0, (2.5, 4.0), [(8.0, "1"), (106.2, "2"), (236.0, "5")]),
        # Every interval below 1: the axis ends at the null itself.
        (0.3, (0.25, 0.4), [(8.0, "0.2"), (137.8, "0.5"), (236.0, "1")]),
        # Seven ticks are all shown; only more are thinned.
        (
            2.0,
            (0.25, 15.0),
            [(8.0, "0.2"), (53.4, "0.5"), (87.7, "1"), (122.0, "2"), (167.4, "5"), (201.7, "10"), (236.0, "20")],
        ),
        # Beyond the tick list (0.01 to 1000) the axis ends at the interval's own bounds.
        (
            3.0,
            (0.005, 2000.0),
            [
                (8.0, "0.005"),
                (32.5, "0.02"),
                (61.0, "0.1"),
                (89.4, "0.5"),
                (101.7, "1"),
                (113.9, "2"),
                (142.3, "10"),
                (170.8, "50"),
                (195.3, "200"),
                (223.7, "1000"),
                (236.0, "2000"),
            ],
        ),
    ],
)
def test_a_log_axis_ends_on_ticks_around_the_intervals_and_the_null(value, ci, ticks):
    """Kills kb.render.plot.xǁ_LogScaleǁ__init____mutmut_7, _10, _16, _18, _19, _22, _24, _25;
    xǁ_LogScaleǁticks__mutmut_2."""
    plot = forest_plot("risk_ratio", [PlotItem("Outcome", value, ci)], "forest-rr")
    assert [(tick.x, tick.label) for tick in plot.ticks] == ticks


def test_a_pooled_ratio_interval_rounded_down_to_zero_leaves_the_log_axis_alone():
    """A ratio interval reaching 0 (kb's own pooled figures no longer round to 0: see
    test_a_small_pooled_ratio_keeps_two_significant_figures_in_the_table_and_the_plot) has no place on a log axis:
    the axis is set by the positive values and the null. Kills kb.render.plot.xǁ_LogScaleǁ__init____mutmut_2."""
    plot = forest_plot("odds_ratio", [PlotItem("Pooled, 3 trials (exploratory)", 0.05, (0.0, 0.6), True)], "forest")
    assert [(tick.x, tick.label) for tick in plot.ticks] == [
        (8.0, "0.05"),
        (60.8, "0.1"),
        (113.5, "0.2"),
        (183.2, "0.5"),
        (236.0, "1"),
    ]
    assert (plot.rows[0].x, plot.rows[0].x_high) == (8.0, 197.1)


def test_a_study_has_a_plot_per_metric_named_after_the_page_and_rows_labelled_with_the_effects_label():
    """forest_plots: an effect's label follows its outcome in the row; a finding without a CI has no row; each plot's
    id is the given id (by default "forest") and the metric. Kills kb.render.plot.x_forest_plots__mutmut_2, _8, _24."""
    findings = [
        Finding("Remission", "improved", "s", effect=Effect("risk_ratio", 2.1, (1.2, 3.6), label="week 12")),
        Finding("Response", "improved", "s", effect=Effect("risk_ratio", 1.4)),
        Finding("MADRS", "improved", "s", effect=Effect("hedges_g", 0.6, (0.2, 1.0))),
    ]
    plots = forest_plots(findings, "forest-trial")
    assert [(plot.id, [row.full_label for row in plot.rows]) for plot in plots] == [
        ("forest-trial-risk_ratio", ["Remission (week 12)"]),
        ("forest-trial-hedges_g", ["MADRS"]),
    ]
    assert [plot.id for plot in forest_plots(findings[2:])] == ["forest-hedges_g"]


def test_a_metric_without_a_label_is_titled_by_its_code():
    """The schema's metrics all have labels; one added without a label still gets a title, not a crash.
    Kills kb.render.plot.x_forest_plot__mutmut_83, _84, _85."""
    plot = forest_plot("rate_ratio", [PlotItem("Relapse", 0.5, (0.25, 1.0))], "forest")
    assert plot.title == "rate_ratio"
    assert plot.description == ("Forest plot of rate_ratio with 95% confidence intervals: Relapse: 0.5 [0.25, 1].")


# --- forest plots: labels --------------------------------------------------------------------------------------


def test_a_label_line_holds_exactly_fifty_four_characters():
    """Kills kb.render.plot.x_wrap_label__mutmut_5, _6, _28."""
    first = "Clinician-rated anxiety symptoms (HAM-A) at six weeks,"  # 54 characters
    assert wrap_label(f"{first} psilocybin vs placebo") == [first, "psilocybin vs placebo"]


def test_a_label_of_three_lines_keeps_two_and_ends_the_second_in_an_ellipsis():
    """Kills kb.render.plot.x_wrap_label__mutmut_20, _22, _23, _24, _25."""
    head = "Change from the baseline to the primary endpoint in"  # 51 characters
    second = "Clinician-rated anxiety symptoms (HAM-A) at six weeks,"  # 54: cut to 53, then the ellipsis
    assert wrap_label(f"{head} {second} versus placebo") == [
        head,
        "Clinician-rated anxiety symptoms (HAM-A) at six weeks…",
    ]
    second = "Clinician-rated depressive symptoms (GRID-HAMD) week 3"  # the cut ends in a space, dropped
    assert wrap_label(f"{head} {second} versus placebo") == [
        head,
        "Clinician-rated depressive symptoms (GRID-HAMD) week…",
    ]


def test_a_word_longer_than_a_line_is_cut_with_an_ellipsis():
    """Kills kb.render.plot.x_wrap_label__mutmut_27, _29 to _32."""
    url = "https://clinicaltrials.gov/study/NCT03537014?tab=results"  # 56 characters
    assert wrap_label(f"Remission, see {url}") == [
        "Remission, see",
        "https://clinicaltrials.gov/study/NCT03537014?tab=resu…",
    ]


# --- synthesis view models: the pooled estimate --------------------------------------------------------------

POOLED_IDS = [
    "anderson-2020-psilocybin-demoralization",
    "bogenschutz-2022-psilocybin-alcohol",
    "carhart-harris-2021-psilocybin-escitalopram",
]


def test_a_pooled_estimate_is_shown_rounded_with_its_studies():
    """Estimate and intervals to 2 places, tau² to 3, I² as a whole percent.
    Kills kb.render.synthesis.x__pooled_view__mutmut_2 to _35 except _22 to _24; x__round__mutmut_1 to _6."""
    studies = shipped_studies()
    pooled = Pooled("smd", POOLED_IDS, 0.8349, (0.3812, 1.2745), 0.12345, 61.7, (-4.1234, 5.6789))
    view = _pooled_view(pooled, {i: studies[i] for i in POOLED_IDS}, RowCache(load_vocabulary(ROOT / "vocabulary.yml")))
    assert (view.label, view.k, view.estimate_text, view.prediction_text, view.tau2, view.i2) == (
        "Standardised mean difference",
        3,
        "0.83 [0.38, 1.27]",
        "-4.12 to 5.68",
        "0.123",
        "62%",
    )
    assert [(row.id, row.cite) for row in view.studies] == [
        ("anderson-2020-psilocybin-demoralization", "Anderson et al., 2020"),
        ("bogenschutz-2022-psilocybin-alcohol", "Bogenschutz et al., 2022"),
        ("carhart-harris-2021-psilocybin-escitalopram", "Carhart-Harris et al., 2021"),
    ]


def test_a_pooled_estimate_without_prediction_interval_says_none_and_an_unlabelled_metric_keeps_its_code():
    """Kills kb.render.synthesis.x__pooled_view__mutmut_1, _22, _23, _24."""
    rows = RowCache(load_vocabulary(ROOT / "vocabulary.yml"))
    studies = {i: shipped_studies()[i] for i in POOLED_IDS}
    view = _pooled_view(Pooled("odds_ratio", POOLED_IDS, 2.5, (1.2, 5.1), 0.0, 0.0, None), studies, rows)
    assert (view.label, view.estimate_text, view.prediction_text, view.tau2, view.i2) == (
        "Odds ratio",
        "2.5 [1.2, 5.1]",
        None,
        "0",
        "0%",
    )
    view = _pooled_view(Pooled("rate_ratio", POOLED_IDS, 2.5, (1.2, 5.1), 0.0, 0.0, None), studies, rows)
    assert view.label == "rate_ratio"


def test_a_pooled_record_of_synthesis_json_carries_the_unrounded_figures_and_the_method():
    """Kills kb.render.synthesis.x__pooled__mutmut_1 to _16."""
    pooled = Pooled("smd", POOLED_IDS, 0.8349, (0.3812, 1.2745), 0.09617, 61.7, (-4.1234, 5.6789))
    method = "DerSimonian-Laird random effects, 95% CI and prediction interval (exploratory)"
    assert _pooled(pooled) == {
        "estimate": 0.8349,
        "ci": [0.3812, 1.2745],
        "tau2": 0.09617,
        "i2": 61.7,
        "prediction": [-4.1234, 5.6789],
        "method": method,
    }
    pooled = Pooled("odds_ratio", POOLED_IDS, 2.5, (1.2, 5.1), 0.0, 0.0, None)
    assert _pooled(pooled) == {
        "estimate": 2.5,
        "ci": [1.2, 5.1],
        "tau2": 0.0,
        "i2": 0.0,
        "prediction": None,
        "method": method,
    }


# --- synthesis view models and synthesis.json records, on three made-up trials ----------------------------------
#
# Three independent MDMA trials report PTSD severity against placebo (Cohen's d 0.5 [0.1, 0.9] and 0.8 [0.2, 1.4],
# Hedges' g 1.2 [0.76, 1.64]: the standardised mean differences of kb.synthesis's docstring example, which
# tests/test_synthesis.py checks against an independent DerSimonian-Laird computation, 0.83 [0.38, 1.27]). The first
# also reports two odds ratios on well-being (one family, one study: not pooled); the second an anxiety finding with
# no effect at all (no comparison, no metric).


def synth_trial(study_id: str, family: str, n: int, *findings: tuple) -> Study:
    """A made-up MDMA trial for PTSD; each finding is (outcome, domain, metric, value, ci), metric None for none."""
    return study_from_dict(
        {
            "id": study_id,
            "title": f"Title of {study_id}",
            "headline": f"Headline of {study_id}",
            "citation": {"type": "report", "authors": [{"family": family, "given": "A."}], "year": 2020},
            "design": {"type": "randomized-controlled-trial"},
            "sample": {"n": n},
            "findings": [
                {
                    "outcome": outcome,
                    "domain": domain,
                    "direction": "improved",
                    "summary": "s",
                    **(
                        {"effect": {"metric": metric, "value": value, "ci": ci, "comparison": "placebo"}}
                        if metric
                        else {}
                    ),
                }
                for outcome, domain, metric, value, ci in findings
            ],
            "substances": ["mdma"],
            "conditions": ["ptsd"],
            "summary": {"background": "b", "overview": "o", "conclusions": "c"},
            "evidence": {"certainty": "moderate", "rationale": "r"},
            "record": {"added": "2026-01-01"},
        }
    )


@functools.cache
def three_trials() -> Links:
    return link_studies(
        [
            synth_trial(
                "ames-2020",
                "Ames",
                40,
                ("CAPS-5", "ptsd-severity", "cohen_d", 0.5, [0.1, 0.9]),
                ("Feels better", "wellbeing", "odds_ratio", 2.0, [1.1, 3.6]),
                ("Sleeps better", "wellbeing", "odds_ratio", 1.5, [0.8, 2.8]),
            ),
            synth_trial(
                "brook-2020",
                "Brook",
                60,
                ("CAPS-5", "ptsd-severity", "cohen_d", 0.8, [0.2, 1.4]),
                ("Anxiety", "anxiety", None, None, None),
            ),
            synth_trial("cole-2020", "Cole", 30, ("PCL-5", "ptsd-severity", "hedges_g", 1.2, [0.76, 1.64])),
        ]
    )


TRIAL_IDS = ["ames-2020", "brook-2020", "cole-2020"]
NOT_POOLED = {"estimate": None, "ci": None, "tau2": None, "i2": None, "prediction": None, "method": None}


def readable(record: dict) -> dict:
    """A record with its pooled figures rounded the way the docstring example gives them, its pooled ids sorted."""
    if record["estimate"] is None:
        return record
    return {
        **record,
        "studies": sorted(record["studies"]),
        "estimate": round(record["estimate"], 2),
        "ci": [round(x, 2) for x in record["ci"]],
        "tau2": round(record["tau2"], 3),
        "i2": round(record["i2"]),
        "prediction": [round(x, 1) for x in record["prediction"]],
    }


def test_synthesis_json_has_a_record_per_term_domain_comparison_and_metric_family():
    """The public contract of downloads/synthesis.json: a pooled family carries its figures and the pooled trials; a
    family that is not pooled, and a domain without any effect (metric null), carry null figures and their studies,
    each once. An outcome's own term lists only that outcome.
    Kills kb.render.synthesis.x_synthesis_records__mutmut_9, _10, _12; x__group_records__mutmut_10 to _39;
    x__not_pooled__mutmut_3 to _12."""
    records = [readable(r) for r in synthesis_records(three_trials())]
    method = "DerSimonian-Laird random effects, 95% CI and prediction interval (exploratory)"
    pooled = {
        "domain": "ptsd-severity",
        "comparison": "placebo",
        "metric": "smd",
        "k": 3,
        "studies": TRIAL_IDS,
        "estimate": 0.83,
        "ci": [0.38, 1.27],
        "tau2": 0.096,
        "i2": 62,
        "prediction": [-4.1, 5.7],
        "method": method,
    }
    anxiety = {"domain": "anxiety", "comparison": None, "metric": None, "k": 1, "studies": ["brook-2020"], **NOT_POOLED}
    odds = {"domain": "wellbeing", "comparison": "placebo", "metric": "odds_ratio", "k": 1, "studies": ["ames-2020"]}
    odds.update(NOT_POOLED)
    # on a substance's page: the most studied group first, then by domain
    assert [r for r in records if r["facet"] == "substances"] == [
        {"facet": "substances", "term": "mdma", **pooled},
        {"facet": "substances", "term": "mdma", **anxiety},
        {"facet": "substances", "term": "mdma", **odds},
    ]
    assert [r for r in records if r["facet"] == "outcomes"] == [
        {"facet": "outcomes", "term": "anxiety", **anxiety},
        {"facet": "outcomes", "term": "ptsd-severity", **pooled},
        {"facet": "outcomes", "term": "wellbeing", **odds},
    ]


def test_a_term_pages_synthesis_shows_each_group_with_its_effects_pool_and_plots():
    """term_synthesis on the three trials: anchors, comparison labels, effects marked when they entered the pool, and
    per metric family a forest plot whose last row is the pooled diamond (rounded to 2 places, as in the table).
    Kills kb.render.synthesis.x__outcome_view__mutmut_1 to _55; x__effect_text__mutmut_1, _6; x__plots__mutmut_8 to
    _58 (except _43: a ratio family is named after its one metric)."""
    links = three_trials()
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    views = term_synthesis(
        "substances", "mdma", links.by_tag["substances"]["mdma"], links, vocabulary, RowCache(vocabulary)
    )
    assert {(v.certainty, v.certainty_label) for v in views} == {("moderate", "Moderate")}
    assert [(v.anchor, v.domain.label, v.comparison, v.participation) for v in views] == [
        ("outcome-ptsd-severity-placebo", "PTSD symptom severity", "vs placebo", "130 participants in 3 trials"),
        ("outcome-anxiety-no-effect", "Anxiety", "not stated", "60 participants in 1 trial"),
        ("outcome-wellbeing-placebo", "Well-being", "vs placebo", "40 participants in 1 trial"),
    ]
    assert [[(e.study.id, e.text, e.in_pool) for e in v.effects] for v in views] == [
        [
            ("ames-2020", "Cohen's d 0.5 [0.1, 0.9]", True),
            ("brook-2020", "Cohen's d 0.8 [0.2, 1.4]", True),
            ("cole-2020", "Hedges' g 1.2 [0.76, 1.64]", True),
        ],
        [],
        [("ames-2020", "Odds ratio 2 [1.1, 3.6]", False), ("ames-2020", "Odds ratio 1.5 [0.8, 2.8]", False)],
    ]
    plots = [
        [(p.id, p.metric, p.title, [(r.full_label, r.value_text, r.pooled) for r in p.rows]) for p in v.plots]
        for v in views
    ]
    assert plots == [
        [
            (
                "outcome-ptsd-severity-placebo-smd",
                "cohen_d",
                "Standardised mean difference",
                [
                    ("Ames, 2020: CAPS-5", "0.5 [0.1, 0.9]", False),
                    ("Brook, 2020: CAPS-5", "0.8 [0.2, 1.4]", False),
                    ("Cole, 2020: PCL-5", "1.2 [0.76, 1.64]", False),
                    ("Pooled, 3 trials (exploratory)", "0.83 [0.38, 1.27]", True),
                ],
            )
        ],
        [],
        [
            (
                "outcome-wellbeing-placebo-odds_ratio",
                "odds_ratio",
                "Odds ratio",
                [
                    ("Ames, 2020: Feels better", "2 [1.1, 3.6]", False),
                    ("Ames, 2020: Sleeps better", "1.5 [0.8, 2.8]", False),
                ],
            )
        ],
    ]


def test_a_small_pooled_ratio_keeps_two_significant_figures_in_the_table_and_the_plot():
    """Three imprecise odds ratios pool to 0.051 [0.0077, 0.33]: rounded to 2 places that read 0.05 [0.01, 0.33],
    and an interval under 0.005 read 0, a value no ratio takes, which put the diamond's end off the log axis. Figures
    under 0.1 keep two significant figures; the prediction interval's tiny lower bound is written out, not 2.5e-07."""
    links = link_studies(
        [
            synth_trial(f"{name.lower()}-2020", name, 20, ("Relapse", "alcohol-use", "odds_ratio", value, ci))
            for name, value, ci in [
                ("Ames", 0.05, [0.002, 1.25]),
                ("Brook", 0.04, [0.001, 1.6]),
                ("Cole", 0.06, [0.003, 1.2]),
            ]
        ]
    )
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    (view,) = term_synthesis("outcomes", "alcohol-use", links.studies, links, vocabulary, RowCache(vocabulary))
    (pooled,) = view.pooled
    assert (pooled.estimate_text, pooled.prediction_text) == ("0.051 [0.0077, 0.33]", "0.00000025 to 10283.53")
    (plot,) = view.plots
    diamond = plot.rows[-1]
    assert (diamond.full_label, diamond.value_text, diamond.pooled) == (
        "Pooled, 3 trials (exploratory)",
        "0.051 [0.0077, 0.33]",
        True,
    )
    assert plot.plot_left <= diamond.x_low < diamond.x < diamond.x_high <= plot.plot_right


def test_an_effect_of_a_metric_without_a_label_is_named_by_its_code():
    """Kills kb.render.synthesis.x__effect_text__mutmut_2, _3."""
    assert (
        _effect_text("rate_ratio", Effect(metric="rate_ratio", value=0.5, ci=(0.25, 1.0))) == "rate_ratio 0.5 [0.25, 1]"
    )


# --- render_site on the sample: which files docs/ holds ------------------------------------------------------------

SAMPLE_STUDY_PAGES = sorted(
    [
        *SAMPLE,
        "zz-2024-injection",
        "zz-nd-edge-cases",
        "zz-synth-2020-trial-a",
        "zz-synth-2021-trial-a-follow-up",
        "zz-synth-2021-trial-b",
        "zz-synth-2022-trial-b-second-report",
        "zz-synth-2022-trial-c",
    ]
)


@whole_render
def test_the_sample_has_exactly_one_page_per_study_and_the_study_table(sample):
    """render_site, _render_pages, _job_name, _study_files: studies/ holds each entry's page and index.md, no more."""
    names = sorted(path.name for path in (sample / "docs" / "studies").iterdir())
    assert names == sorted([f"{study}.md" for study in SAMPLE_STUDY_PAGES] + ["index.md"])
    assert page(sample, "studies/peck-2023-psilocybin-anorexia.md").count("<h1 ") == 1
    assert (
        '<h1 id="peck-2023-psilocybin-anorexia">A single psilocybin dose was well tolerated by ten women with anorexia'
        " in a first safety study</h1>" in page(sample, "studies/peck-2023-psilocybin-anorexia.md")
    )


@whole_render
def test_every_term_in_use_has_a_page_and_each_facet_an_index(sample):
    """_Listings.terms, _term, _facets: a page per term a sample entry carries, an index.md per facet."""
    conditions = sorted(path.name for path in (sample / "docs" / "conditions").iterdir())
    assert conditions[:2] == ["anorexia-nervosa.md", "depression.md"]
    assert "ptsd.md" in conditions and "treatment-resistant-depression.md" in conditions
    assert "index.md" in conditions and "cancer-distress.md" not in conditions  # no sample entry is about cancer
    for facet in ("mechanisms", "substances", "conditions", "designs", "outcomes", "settings"):
        assert (sample / "docs" / facet / "index.md").is_file(), facet
    assert sorted(path.name for path in (sample / "docs" / "substances").iterdir()) == [
        "escitalopram.md",
        "index.md",
        "ketamine.md",
        "mdma.md",
        "psilocybin.md",
    ]


@whole_render
def test_the_generated_folders_hold_the_tables_reference_pages_and_feed(sample):
    """_Listings tables, _reference_pages, _downloads: the study table, evidence matrices, statistics,
    bibliography, the seven downloads with their page, and the Atom feed, each at its path."""
    docs = sample / "docs"
    for name in ("studies/index.md", "evidence/index.md", ".generated/stats.md", "bibliography/index.md", "feed.xml"):
        assert (docs / name).is_file(), name
    assert sorted(path.name for path in (docs / "downloads").iterdir()) == [
        "index.md",
        "references.bib",
        "references.json",
        "references.ris",
        "studies.csv",
        "studies.json",
        "study.schema.json",
        "synthesis.json",
    ]
    assert sorted(path.name for path in (docs / "evidence").iterdir()) == ["index.md"]
    assert sorted(path.name for path in (docs / "bibliography").iterdir()) == ["index.md"]


# --- the way back to the site root (each page's `root`) -------------------------------------------------------------


@whole_render
def test_each_page_links_back_to_the_site_root_from_its_own_depth(sample):
    """_study_files, _term, _facets, _studies, _evidence, _stats, _reference_pages: the `root` each page is given."""
    study = page(sample, "studies/peck-2023-psilocybin-anorexia.md")
    assert '<a class="kb-term" href="../../conditions/anorexia-nervosa/">Anorexia nervosa</a>' in study
    term = page(sample, "conditions/depression.md")
    assert '<a href="../../studies/?conditions=depression">Filter them in the study table</a>' in term
    facet = page(sample, "conditions/index.md")
    assert '<tr><td><a href="../conditions/anorexia-nervosa/">Anorexia nervosa</a></td><td>1</td>' in facet
    table = page(sample, "studies/index.md")
    assert '<a href="../studies/peck-2023-psilocybin-anorexia/">' in table
    evidence = page(sample, "evidence/index.md")
    assert '<th scope="col"><a href="../conditions/depression/">Depression</a></th>' in evidence
    stats = page(sample, ".generated/stats.md")
    assert (
        '<li><a href="studies/peck-2023-psilocybin-anorexia/">A single psilocybin dose was well tolerated by ten women'
        " with anorexia in a first safety study</a>" in stats
    )
    bibliography = page(sample, "bibliography/index.md")
    assert 'Download them all as <a href="../downloads/references.bib">BibTeX</a>' in bibliography
    assert '<a class="kb-summary-link" href="../studies/peck-2023-psilocybin-anorexia/">Summary</a>' in bibliography


@whole_render
def test_the_evidence_page_has_the_substance_and_the_mechanism_matrix_against_conditions(sample):
    """_Listings._evidence: two matrices, substances x conditions then mechanisms x conditions."""
    evidence = page(sample, "evidence/index.md")
    assert evidence.count("<table") == 2
    substances = evidence.index('<thead><tr><th scope="col">Substances \\ Conditions</th>')
    mechanisms = evidence.index('<thead><tr><th scope="col">Mechanisms \\ Conditions</th>')
    assert substances < mechanisms


@whole_render
def test_the_feed_is_titled_with_the_site_name_from_mkdocs_yml(sample):
    """_Renderer: the site name is a global of every template (the feed shows it)."""
    feed = page(sample, "feed.xml")
    assert "  <title>Psychedelic Evidence Summaries: new studies</title>\n" in feed
    assert "  <author><name>Psychedelic Evidence Summaries</name></author>\n" in feed
    assert '<?xml-stylesheet type="text/xsl" href="kb-assets/feed.xsl"?>' in feed


# --- _Renderer ----------------------------------------------------------------------------------------------------


def test_a_page_template_gets_the_site_name_the_certainty_globals_its_root_and_its_context(tmp_path):
    """_Renderer: a knowledge base's own template wins over the generator's and can use every global; the page is
    UTF-8 at the path given."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "probe.md.j2").write_text(
        "{{ site_name }}|{{ certainty_labels['very-low'] }}|{{ certainty_symbols.moderate }}|{{ root }}|{{ word }}",
        encoding="utf-8",
    )
    (tmp_path / "templates" / "feed.xml.j2").write_text("own feed of {{ site_name }}", encoding="utf-8")
    renderer = _Renderer(Project(tmp_path), "Evidence à la carte")
    output = renderer.page("probe.md.j2", "studies/probe.md", "../../", word="psilocybin")
    assert output.path == "studies/probe.md"
    assert output.content == "Evidence à la carte|Very low|⊕⊕⊕◯|../../|psilocybin".encode()
    assert renderer.page("feed.xml.j2", "feed.xml", "").content == b"own feed of Evidence \xc3\xa0 la carte"
    sizes = dict.fromkeys(["references.bib", "references.ris", "references.json", "studies.json", "studies.csv"], 7)
    downloads = renderer.page(
        "downloads.md.j2", "downloads/index.md", "../", count=1, sizes={**sizes, "synthesis.json": 7}
    )
    assert "<p>The 1 study of this knowledge base, free to reuse." in downloads.content.decode()  # the generator's


@whole_render
def test_a_knowledge_bases_own_downloads_and_feed_templates_get_their_root(tmp_path):
    """_downloads and _reference_pages hand each page the way back to the site's root: "../" from downloads/, ""
    for the feed at the top (the generator's own templates do not need it; a knowledge base's may)."""
    root = copy_project(tmp_path / "kb")
    for path in (root / "entries").glob("[!_]*.yaml"):
        if path.stem != "moreno-2006-psilocybin-ocd":
            path.unlink()
    (root / "templates").mkdir(exist_ok=True)  # a fresh clone has none: the generator's own templates are used
    (root / "templates" / "downloads.md.j2").write_text("root=[{{ root }}]\n", encoding="utf-8")
    (root / "templates" / "feed.xml.j2").write_text("root=[{{ root }}]\n", encoding="utf-8")
    assert generate(Project(root)).ok
    assert (page(root, "downloads/index.md"), page(root, "feed.xml")) == ("root=[../]\n", "root=[]\n")


# --- _downloads: the whole-list downloads joined from each study's part --------------------------------------------

AGIN_LIEBES_BIBTEX = """@article{agin-liebes-2025-self-compassion,
  author = {Agin-Liebes, Gabrielle and Zeifman, Richard J. and Mitchell, Jennifer M.},
  title = {Self-compassion mediates treatment effects in {MDMA-assisted} therapy for posttraumatic stress disorder},
  year = {2025},
  journal = {European Journal of Psychotraumatology},
  volume = {16},
  number = {1},
  eid = {2485513},
  doi = {10.1080/20008066.2025.2485513},
}
"""


@whole_render
def test_the_bibtex_download_holds_every_study_newest_first_separated_by_blank_lines(sample):
    """_downloads, _study_files: references.bib is the studies' BibTeX entries joined by a blank line."""
    bibtex = page(sample, "downloads/references.bib")
    assert bibtex.startswith(AGIN_LIEBES_BIBTEX + "\n@article{zz-2024-injection,\n")
    assert bibtex.count("\n\n@") == 17
    assert "\n\n@article{peck-2023-psilocybin-anorexia,\n" in bibtex


@whole_render
def test_the_ris_download_separates_records_with_a_crlf_blank_line(sample):
    """_downloads: references.ris joins the studies' RIS records with CRLF, as RIS readers expect."""
    ris = (sample / "docs" / "downloads" / "references.ris").read_bytes().decode("utf-8")
    assert ris.startswith("TY  - JOUR\r\nID  - agin-liebes-2025-self-compassion\r\nAU  - Agin-Liebes, Gabrielle\r\n")
    assert ris.count("ER  - \r\n\r\nTY  - ") == 17
    assert ris.count("TY  - ") == 18
    assert "\n" not in ris.replace("\r\n", "")


@whole_render
def test_the_json_downloads_list_every_study_one_item_a_line(sample):
    """_downloads, _study_files: references.json (CSL-JSON) and studies.json (full records), 18 items each."""
    csl = page(sample, "downloads/references.json")
    assert csl.startswith(
        '[\n{"id": "agin-liebes-2025-self-compassion", "type": "article-journal", "title": "Self-compassion mediates'
        ' treatment effects in MDMA-assisted therapy for posttraumatic stress disorder", "author": [{"family":'
        ' "Agin-Liebes", "given": "Gabrielle"}, '
    )
    assert csl.count('\n{"id": ') == 18
    records = page(sample, "downloads/studies.json")
    assert records.startswith(
        '[\n{"id": "agin-liebes-2025-self-compassion", "title": "Self-compassion mediates treatment effects in'
        ' MDMA-assisted therapy for posttraumatic stress disorder", "headline": "How MDMA-assisted therapy boosts'
        ' self-compassion and eases PTSD", '
    )
    assert records.count('\n{"id": ') == 18


@whole_render
def test_the_csv_download_has_a_header_and_a_row_per_study(sample):
    """_downloads, _study_files: studies.csv, one row per study in site order."""
    lines = page(sample, "downloads/studies.csv").splitlines()
    assert lines[0].startswith("id,url,headline,title,authors,year,journal,")
    assert len(lines) == 19
    assert lines[1].startswith(
        "agin-liebes-2025-self-compassion,studies/agin-liebes-2025-self-compassion/,How MDMA-assisted therapy"
        " boosts self-compassion and eases PTSD,"
    )
    assert lines[2].startswith("zz-2024-injection,studies/zz-2024-injection/,")


@whole_render
def test_the_schema_and_synthesis_downloads(sample):
    """_downloads: the JSON Schema is the package's file as it is; synthesis.json lists the outcome groups."""
    schema = ROOT / "kb" / "schema" / "study.schema.json"
    assert (sample / "docs" / "downloads" / "study.schema.json").read_bytes() == schema.read_bytes()
    synthesis = page(sample, "downloads/synthesis.json")
    assert synthesis.startswith('[\n {\n  "facet": "mechanisms",\n  "term": "fear-extinction",\n')
    assert '"zz-synth-2020-trial-a"' in synthesis


@whole_render
def test_the_downloads_page_counts_the_studies_and_gives_each_file_size(sample):
    """_downloads: the page's count is the number of studies, each size the file's length in bytes."""
    downloads = page(sample, "downloads/index.md")
    assert "<p>The 18 studies of this knowledge base, free to reuse." in downloads
    folder = sample / "docs" / "downloads"
    for name, label in [
        ("references.bib", "| [references.bib](references.bib) | BibTeX | LaTeX, BibDesk, JabRef"),
        ("references.ris", "| [references.ris](references.ris) | RIS | Zotero, EndNote, Mendeley"),
        ("references.json", "| [references.json](references.json) | CSL-JSON | Pandoc, citeproc, Zotero"),
        ("studies.csv", "| [studies.csv](studies.csv) | CSV | One row per study for spreadsheets"),
    ]:
        assert f"{label} ({(folder / name).stat().st_size} bytes) |\n" in downloads, name
    assert f"described by the schema ({(folder / 'studies.json').stat().st_size} bytes) |" in downloads
    assert f"pooled estimate where there is one ({(folder / 'synthesis.json').stat().st_size} bytes) |" in downloads


# --- _assets --------------------------------------------------------------------------------------------------------


@whole_render
def test_the_assets_are_copied_into_kb_assets(sample):
    """_assets: the generator's scripts and stylesheets, byte for byte, in docs/kb-assets/."""
    assets = ROOT / "kb" / "defaults" / "assets"
    copied = sample / "docs" / "kb-assets"
    assert sorted(path.name for path in copied.iterdir()) == ["cite.js", "feed.xsl", "kb.css", "study-table.js"]
    for name in ("cite.js", "feed.xsl", "kb.css", "study-table.js"):
        assert (copied / name).read_bytes() == (assets / name).read_bytes(), name


def test_a_knowledge_base_s_own_asset_wins_over_the_generator_s(tmp_path):
    """_assets: templates/assets/<name> replaces the generator's file of that name; the others stay."""
    own = tmp_path / "templates" / "assets"
    own.mkdir(parents=True)
    (own / "kb.css").write_text("body { color: red; }\n", encoding="utf-8")
    outputs = {output.path: output.content for output in _assets(Project(tmp_path))}
    assert sorted(outputs) == [
        "kb-assets/cite.js",
        "kb-assets/feed.xsl",
        "kb-assets/kb.css",
        "kb-assets/study-table.js",
    ]
    assert outputs["kb-assets/kb.css"] == b"body { color: red; }\n"
    assert outputs["kb-assets/cite.js"] == (ROOT / "kb" / "defaults" / "assets" / "cite.js").read_bytes()


# --- _check_reserved ------------------------------------------------------------------------------------------------


def test_a_study_with_the_id_index_is_refused():
    """_check_reserved: the id 'index' would overwrite the study table."""
    peck = shipped_studies()["peck-2023-psilocybin-anorexia"]
    renamed = dataclasses.replace(peck, id="index")
    with pytest.raises(ProblemError) as raised:
        _check_reserved(link_studies([shipped_studies()["goodwin-2022-psilocybin-trd"], renamed]))
    problem = raised.value.problem
    assert (problem.path, problem.line, problem.col, problem.severity) == (display_path(peck.path), 1, 1, "error")
    assert problem.message == "the id 'index' is reserved for the study table; choose firstauthor-year-keyword"


def test_a_term_with_the_slug_index_is_refused():
    """_check_reserved: a term slug 'index' would overwrite its facet's index page."""
    peck = shipped_studies()["peck-2023-psilocybin-anorexia"]
    tagged = dataclasses.replace(peck, mechanisms=[*peck.mechanisms, "index"])
    with pytest.raises(ProblemError) as raised:
        _check_reserved(link_studies([tagged]))
    problem = raised.value.problem
    assert (problem.path, problem.line, problem.col, problem.severity) == ("vocabulary.yml", 1, 1, "error")
    assert problem.message == "the mechanisms term slug 'index' is reserved"


def test_ids_and_slugs_that_merely_contain_index_are_accepted():
    """_check_reserved: only the exact name is reserved."""
    peck = shipped_studies()["peck-2023-psilocybin-anorexia"]
    study = dataclasses.replace(peck, id="index-2023-study", mechanisms=[*peck.mechanisms, "indexed"])
    assert _check_reserved(link_studies([study, shipped_studies()["goodwin-2022-psilocybin-trd"]])) is None


# --- page_keys: a page's key changes when, and only when, what the page shows changes -----------------------------

ANDERSON = "anderson-2020-psilocybin-demoralization"  # among Peck's related studies (by shared tags only)
MORENO = "moreno-2006-psilocybin-ocd"  # not among Peck's related studies
BARBA = "barba-2022-psilocybin-rumination"  # a secondary analysis of CARHART_2021 (its parent)
CARHART_2021 = "carhart-harris-2021-psilocybin-escitalopram"
KEYED_TERMS = [
    ("conditions", "anorexia-nervosa"),
    ("conditions", "depression"),
    ("conditions", "treatment-resistant-depression"),
    ("mechanisms", "rumination"),
    ("outcomes", "eating-disorder-severity"),
]


def keys_of(studies: list[Study]) -> dict[tuple[str, ...], bytes]:
    links = link_studies(studies)
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    rows = RowCache(vocabulary, year_suffixes({study.id: study.citation for study in links.studies}))
    return page_keys(links, rows, KEYED_TERMS, lambda facet, slug: [t.slug for t in vocabulary.narrower(facet, slug)])


def edited(study_id: str, **changes) -> list[Study]:
    """Every shipped study, with one of them changed."""
    studies = dict(shipped_studies())
    studies[study_id] = dataclasses.replace(studies[study_id], **changes)
    return list(studies.values())


def changed_keys(before: dict, after: dict) -> set:
    assert sorted(before) == sorted(after)
    return {name for name in before if before[name] != after[name]}


def test_page_keys_name_every_study_page_and_the_given_term_pages():
    """page_keys: one key per study page and per term page asked for, the same on a second computation."""
    keys = keys_of(list(shipped_studies().values()))
    assert len(keys) == 48 + 5
    assert {name for name in keys if name[0] == "term"} == {("term", *term) for term in KEYED_TERMS}
    assert ("study", PECK) in keys and ("study", BARBA) in keys
    assert keys == keys_of(list(shipped_studies().values()))
    assert len(set(keys.values())) == len(keys)  # no two pages share a key
    assert all(len(key) == 16 for key in keys.values())


def test_editing_a_study_s_summary_changes_its_own_page_and_its_term_pages_only():
    """page_keys: a study's key names its record; its term pages name their studies' records."""
    peck = shipped_studies()[PECK]
    before = keys_of(list(shipped_studies().values()))
    after = keys_of(edited(PECK, summary=dataclasses.replace(peck.summary, overview="An edited overview.")))
    assert changed_keys(before, after) == {
        ("study", PECK),
        ("term", "conditions", "anorexia-nervosa"),
        ("term", "outcomes", "eating-disorder-severity"),
    }


def test_editing_a_related_study_s_headline_changes_the_page_that_lists_it():
    """page_keys: a study's key names the rows of its related studies; an unrelated study's edit leaves it."""
    before = keys_of(list(shipped_studies().values()))
    related = keys_of(edited(ANDERSON, headline="An edited headline"))
    assert ("study", PECK) in changed_keys(before, related)
    assert ("study", ANDERSON) in changed_keys(before, related)
    unrelated = keys_of(edited(MORENO, headline="An edited headline"))
    assert ("study", PECK) not in changed_keys(before, unrelated)
    assert ("study", MORENO) in changed_keys(before, unrelated)
    assert ("term", "conditions", "anorexia-nervosa") not in changed_keys(before, unrelated)


def test_naming_a_related_study_changes_its_page_even_when_the_list_keeps_its_order():
    """page_keys: the "linked by the authors" mark (explicit) is part of the related study's key."""
    before = keys_of(list(shipped_studies().values()))
    after = keys_of(edited(ANDERSON, related=[PECK]))
    assert ("study", PECK) in changed_keys(before, after)


def test_the_parent_s_headline_is_in_the_child_s_key_and_the_child_s_in_the_parent_s():
    """page_keys, _neighbour_ids: a child's page shows its parent, a parent's page lists its children."""
    before = keys_of(list(shipped_studies().values()))
    parent_edit = changed_keys(before, keys_of(edited(CARHART_2021, headline="An edited headline")))
    assert {("study", CARHART_2021), ("study", BARBA)} <= parent_edit
    assert ("study", PECK) not in parent_edit
    child_edit = changed_keys(before, keys_of(edited(BARBA, headline="An edited headline")))
    assert {("study", CARHART_2021), ("study", BARBA), ("term", "mechanisms", "rumination")} <= child_edit
    assert ("term", "conditions", "anorexia-nervosa") not in child_edit


def test_a_parent_and_its_child_show_each_other_even_when_not_related_by_tags():
    """page_keys, _neighbour_ids: Mitchell's MDMA trial is not among the related studies of Peck's psilocybin study
    nor the other way round; once Peck's entry names it as its parent, each page shows the other's headline."""
    mitchell = "mitchell-2021-mdma-ptsd"
    peck = shipped_studies()[PECK]
    unlinked = list(shipped_studies().values())
    assert ("study", PECK) not in changed_keys(keys_of(unlinked), keys_of(edited(mitchell, headline="Edited")))
    child = dataclasses.replace(peck, design=dataclasses.replace(peck.design, parent=mitchell))
    linked = [child if study.id == PECK else study for study in unlinked]
    before = keys_of(linked)
    parent_edit = [dataclasses.replace(s, headline="Edited") if s.id == mitchell else s for s in linked]
    assert ("study", PECK) in changed_keys(before, keys_of(parent_edit))
    child_edit = [dataclasses.replace(s, headline="Edited") if s.id == PECK else s for s in linked]
    assert ("study", mitchell) in changed_keys(before, keys_of(child_edit))


def test_a_year_suffix_is_part_of_the_key():
    """page_keys: a study's own key names its year suffix (2022a, 2022b), which its citation shows."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    links = link_studies(list(shipped_studies().values()))
    plain = RowCache(vocabulary, {})
    suffixed = RowCache(vocabulary, {PECK: "a"})
    narrower = lambda facet, slug: []  # noqa: E731
    before = page_keys(links, plain, KEYED_TERMS, narrower)
    after = page_keys(links, suffixed, KEYED_TERMS, narrower)
    assert ("study", PECK) in changed_keys(before, after)
    assert ("term", "conditions", "anorexia-nervosa") in changed_keys(before, after)
    assert ("study", "mitchell-2021-mdma-ptsd") not in changed_keys(before, after)


def test_a_term_page_key_names_the_counts_of_its_narrower_terms():
    """page_keys: depression's page shows how many studies its narrower term (treatment-resistant) has."""
    before = keys_of(list(shipped_studies().values()))
    # Peck's study is not about depression; tagged with resistant depression, only the narrower count changes
    after = keys_of(edited(PECK, conditions=[*shipped_studies()[PECK].conditions, "treatment-resistant-depression"]))
    changed = changed_keys(before, after)
    assert ("term", "conditions", "treatment-resistant-depression") in changed
    assert ("term", "conditions", "depression") in changed
    assert "depression" not in shipped_studies()[PECK].conditions


def test_a_term_page_key_names_the_terms_in_use_in_its_facet():
    """page_keys: a term coming into use in a facet changes that facet's term pages, not the others'."""
    before = keys_of(list(shipped_studies().values()))
    after = keys_of(edited(MORENO, conditions=[*shipped_studies()[MORENO].conditions, "a-new-condition"]))
    changed = changed_keys(before, after)
    assert ("term", "conditions", "anorexia-nervosa") in changed  # Moreno's study is not about anorexia
    assert ("term", "outcomes", "eating-disorder-severity") not in changed


def test_a_term_page_key_names_the_trial_each_of_its_studies_belongs_to():
    """page_keys: a term page groups reports of one trial; when another entry names Peck's study as its parent,
    the anorexia page's key changes though Peck's record did not."""
    moreno = shipped_studies()[MORENO]
    before = keys_of(list(shipped_studies().values()))
    after = keys_of(edited(MORENO, design=dataclasses.replace(moreno.design, parent=PECK)))
    assert ("term", "conditions", "anorexia-nervosa") in changed_keys(before, after)


def test_a_term_page_key_names_whether_its_study_is_a_secondary_report():
    """page_keys: when the parent a study names comes into the knowledge base, the study becomes a secondary
    report (its record unchanged) and the key of its term page changes."""
    without_parent = [study for study in shipped_studies().values() if study.id != CARHART_2021]
    before = keys_of(without_parent)
    after = {
        name: key for name, key in keys_of(list(shipped_studies().values())).items() if name != ("study", CARHART_2021)
    }
    assert ("term", "mechanisms", "rumination") in changed_keys(before, after)


# --- digest, context_key ----------------------------------------------------------------------------------------


def test_digest_is_a_short_stable_digest_of_its_parts():
    """digest: equal parts, equal digests; any difference in value or order, another digest."""
    assert digest("a", 1) == digest("a", 1)
    assert len({digest("a", 1), digest("a", 2), digest(1, "a"), digest("a"), digest(("a", 1))}) == 5
    assert len(digest("a", 1)) == 16


def kb_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    vocabulary = tmp_path / "vocabulary.yml"
    vocabulary.write_text("mechanisms: {}\n", encoding="utf-8")
    own = tmp_path / "templates"
    (own / "overrides").mkdir(parents=True)
    (own / "study.md.j2").write_text("own study page\n", encoding="utf-8")
    (own / "overrides" / "main.html").write_text("theme\n", encoding="utf-8")
    generator = tmp_path / "generator"
    generator.mkdir()
    (generator / "term.md.j2").write_text("term page\n", encoding="utf-8")
    return vocabulary, own, generator


def test_the_context_key_names_the_site_name_the_vocabulary_and_every_template(tmp_path):
    """context_key: what every page reads; a change to any of it gives another key, nothing else does."""
    vocabulary, own, generator = kb_folder(tmp_path)
    key = context_key("Site", vocabulary, [own, generator])
    assert context_key("Site", vocabulary, [own, generator]) == key
    (tmp_path / "unrelated.txt").write_text("not read\n", encoding="utf-8")
    assert context_key("Site", vocabulary, [own, generator]) == key
    assert context_key("Another site", vocabulary, [own, generator]) != key
    keys = {key}
    for path, text in [
        (vocabulary, "mechanisms: {a: {label: A}}\n"),
        (own / "study.md.j2", "edited study page\n"),
        (own / "overrides" / "main.html", "edited theme\n"),  # in a subfolder
        (generator / "term.md.j2", "edited term page\n"),
        (generator / "added.md.j2", "a new template\n"),
    ]:
        path.write_text(text, encoding="utf-8")
        keys.add(context_key("Site", vocabulary, [own, generator]))
    assert len(keys) == 6


def test_the_context_key_accepts_a_knowledge_base_without_templates(tmp_path):
    """context_key: a missing templates/ folder counts as empty; renaming a template changes the key."""
    vocabulary, _, generator = kb_folder(tmp_path)
    key = context_key("Site", vocabulary, [tmp_path / "absent", generator])
    assert key == context_key("Site", vocabulary, [generator])
    (generator / "term.md.j2").rename(generator / "renamed.md.j2")
    assert context_key("Site", vocabulary, [generator]) != key


# --- RenderMemory -----------------------------------------------------------------------------------------------


def memory_with(tmp_path: Path) -> RenderMemory:
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "a.md").write_text("page\n", encoding="utf-8")
    memory = RenderMemory()
    memory.start(b"context")
    memory.remember({("study", "a"): Kept(b"key", ("studies/a.md",), "files of a")})
    return memory


def test_a_job_is_reusable_while_its_key_and_its_files_are_unchanged(tmp_path):
    """RenderMemory.reusable: the kept job when the key is the same and every file it wrote is there."""
    memory = memory_with(tmp_path)
    assert memory.reusable(("study", "a"), b"key", tmp_path) == Kept(b"key", ("studies/a.md",), "files of a")
    assert memory.reusable(("study", "a"), b"another key", tmp_path) is None
    assert memory.reusable(("study", "b"), b"key", tmp_path) is None
    (tmp_path / "studies" / "a.md").unlink()
    assert memory.reusable(("study", "a"), b"key", tmp_path) is None


def test_a_kept_file_replaced_by_a_folder_is_not_reused(tmp_path):
    """RenderMemory.reusable: the files must be files."""
    memory = memory_with(tmp_path)
    (tmp_path / "studies" / "a.md").unlink()
    (tmp_path / "studies" / "a.md").mkdir()
    assert memory.reusable(("study", "a"), b"key", tmp_path) is None


def test_a_new_context_forgets_every_job_and_the_same_context_keeps_them(tmp_path):
    """RenderMemory.start: the vocabulary, templates or site name changed: nothing is reusable."""
    memory = memory_with(tmp_path)
    memory.start(b"context")
    assert memory.reusable(("study", "a"), b"key", tmp_path) is not None
    assert memory.context == b"context"
    memory.start(b"another context")
    assert memory.context == b"another context"
    assert memory.reusable(("study", "a"), b"key", tmp_path) is None


def test_forgetting_drops_the_jobs_and_the_context(tmp_path):
    """RenderMemory.forget: after a failed run nothing is reusable, even with the same context."""
    memory = memory_with(tmp_path)
    memory.forget()
    assert memory.context is None
    assert memory.reusable(("study", "a"), b"key", tmp_path) is None
    memory.start(b"context")
    assert memory.reusable(("study", "a"), b"key", tmp_path) is None


def test_a_fresh_memory_has_no_context_and_reuses_nothing(tmp_path):
    """RenderMemory.__init__."""
    memory = RenderMemory()
    assert memory.context is None
    assert memory.reusable(("study", "a"), b"key", tmp_path) is None


def test_remembering_a_run_replaces_what_the_runs_before_left(tmp_path):
    """RenderMemory.remember: jobs of earlier runs that this run did not have are forgotten."""
    memory = memory_with(tmp_path)
    (tmp_path / "studies" / "b.md").write_text("page\n", encoding="utf-8")
    memory.remember({("study", "b"): Kept(b"key b", ("studies/b.md",))})
    assert memory.reusable(("study", "a"), b"key", tmp_path) is None
    assert memory.reusable(("study", "b"), b"key b", tmp_path) == Kept(b"key b", ("studies/b.md",), None)


# --- render_site with a RenderMemory: reuse on a small knowledge base ----------------------------------------------


@pytest.fixture
def small_kb(sample, tmp_path) -> Path:
    """A copy of the generated sample (entries, vocabulary, docs/) to regenerate with a memory."""
    root = tmp_path / "kb"
    shutil.copytree(sample, root, ignore=shutil.ignore_patterns(".cache", "site"))
    return root


def render_small(root: Path, memory: RenderMemory | None, site_name: str | None = "Site", rendered: list | None = None):
    """render_site on the folder (with its default site name for None); `rendered` gets the files of each page job
    rendered (through `progress`)."""
    vocabulary = load_vocabulary(root / "vocabulary.yml")
    paths = sorted((root / "entries").glob("[!_]*.yaml"))
    result = validate_entries(paths, vocabulary, others=paths)

    def progress(results):
        for files, written in results:
            rendered.extend(path for path, _ in written)
            yield files, written

    links = link_studies(result.studies)
    named = {} if site_name is None else {"site_name": site_name}
    wrap = progress if rendered is not None else None
    return render_site(Project(root), links, vocabulary, **named, progress=wrap, memory=memory)


TABLES = [  # the pages that list every study: rendered on every run
    "studies/index.md",
    "evidence/index.md",
    "mechanisms/index.md",
    "substances/index.md",
    "conditions/index.md",
    "designs/index.md",
    "settings/index.md",
    "outcomes/index.md",
    ".generated/stats.md",
]


@whole_render
def test_a_second_render_with_a_memory_renders_and_writes_only_the_tables(small_kb, monkeypatch):
    """render_site, _render_pages, _unchanged: with nothing changed, no study or term page is rendered again; every
    generated file is still named (none is removed) and only the files of the tables may be rewritten."""
    from kb import render

    memory = RenderMemory()
    first = render_small(small_kb, memory)
    assert memory.context is not None
    rendered = []
    real = render._study_files
    monkeypatch.setattr(render, "_study_files", lambda *a: rendered.append(a[1].id) or real(*a))
    pages = []
    second = render_small(small_kb, memory, rendered=pages)
    assert rendered == []
    assert pages == TABLES
    assert second.written == [] and second.removed == []
    assert second.unchanged == first.unchanged + len(first.written)
    entry = small_kb / "entries" / f"{PECK}.yaml"
    entry.write_text(entry.read_text(encoding="utf-8").replace("headline: A single", "headline: One single"), "utf-8")
    pages.clear()
    third = render_small(small_kb, memory, rendered=pages)
    # Peck's page, and the two pages that list it among their related studies (the sample's other psilocybin trials)
    assert sorted(rendered) == ["carhart-harris-2016-psilocybin-trd", "carhart-harris-2018-trd-follow-up", PECK]
    assert f"studies/{PECK}.md" in third.written and "conditions/anorexia-nervosa.md" in third.written
    assert "conditions/ptsd.md" not in third.written
    assert pages == [
        *TABLES,
        f"studies/{PECK}.md",  # newest first
        "studies/carhart-harris-2018-trd-follow-up.md",
        "studies/carhart-harris-2016-psilocybin-trd.md",
        "substances/psilocybin.md",  # a page per term of the entry, facet by facet
        "conditions/anorexia-nervosa.md",
        "designs/open-label-trial.md",
        "settings/clinical-practice.md",
        "settings/research.md",
        "outcomes/adverse-events.md",
        "outcomes/eating-disorder-severity.md",
    ]
    assert "One single psilocybin dose" in (small_kb / "docs" / "studies" / f"{PECK}.md").read_text("utf-8")
    assert "One single psilocybin dose" in (small_kb / "docs" / "downloads" / "studies.csv").read_text("utf-8")
    # Tagged with resistant depression: the depression page (not about Peck's study) shows its narrower term's count
    text = entry.read_text(encoding="utf-8")
    entry.write_text(text.replace("conditions: [anorexia-nervosa]", "conditions: [anorexia-nervosa, trd]"), "utf-8")
    fourth = render_small(small_kb, memory)
    assert "conditions/depression.md" in fourth.written
    depression = page(small_kb, "conditions/depression.md")
    assert (
        '<a href="../../conditions/treatment-resistant-depression/">Treatment-resistant depression</a> (4)'
        in depression
    )


@whole_render
def test_without_memory_or_after_a_change_of_site_name_or_templates_every_study_is_rendered(small_kb, monkeypatch):
    """render_site: without a memory, every study is rendered; with one, a changed site name or a changed file in
    the knowledge base's templates/ renders them all again (context_key)."""
    from kb import render

    rendered = []
    real = render._study_files
    monkeypatch.setattr(render, "_study_files", lambda *a: rendered.append(a[1].id) or real(*a))
    memory = RenderMemory()
    render_small(small_kb, memory)
    assert sorted(rendered) == SAMPLE_STUDY_PAGES
    rendered.clear()
    render_small(small_kb, None, site_name=None)
    assert sorted(rendered) == SAMPLE_STUDY_PAGES
    assert "  <title>Evidence summaries: new studies</title>\n" in page(small_kb, "feed.xml")  # the default name
    rendered.clear()
    report = render_small(small_kb, memory, site_name="Another site")
    assert sorted(rendered) == SAMPLE_STUDY_PAGES
    assert report.written == ["feed.xml"]
    rendered.clear()
    (small_kb / "templates" / "assets").mkdir(parents=True)
    (small_kb / "templates" / "assets" / "kb.css").write_text("body { color: red; }\n", encoding="utf-8")
    report = render_small(small_kb, memory, site_name="Another site")
    assert sorted(rendered) == SAMPLE_STUDY_PAGES  # a file in templates/ changed: nothing is reused
    assert report.written == ["kb-assets/kb.css"]


@whole_render
def test_works_of_the_same_authors_and_year_are_told_apart_by_a_letter(small_kb):
    """render_site: the year suffixes (2023a, 2023b) of the whole knowledge base reach every page."""
    text = (small_kb / "entries" / f"{PECK}.yaml").read_text(encoding="utf-8")
    text = text.replace(f"id: {PECK}", "id: peck-2023-psilocybin-anorexia-copy").replace("02455-9", "99999-9")
    text = text.replace("title: 'Psilocybin therapy for females", "title: 'Another look at psilocybin for females")
    (small_kb / "entries" / "peck-2023-psilocybin-anorexia-copy.yaml").write_text(text, encoding="utf-8")
    render_small(small_kb, None)
    study = page(small_kb, f"studies/{PECK}.md")
    assert "Finn, D. M., &amp; Kaye, W. H. (2023b). Psilocybin therapy for females with anorexia nervosa" in study
    assert '<li><a href="../../studies/peck-2023-psilocybin-anorexia-copy/">' in study
    assert "<small>(Peck et al., 2023a; shares: Anorexia nervosa, Psilocybin," in study


@whole_render
def test_a_render_that_fails_makes_the_memory_forget(small_kb, monkeypatch):
    """render_site: after a failed render, the pages it may have written are not taken as up to date."""
    from kb import render

    memory = RenderMemory()
    render_small(small_kb, memory)

    def broken(*arguments):
        raise RuntimeError("a template failed")

    monkeypatch.setattr(render, "_reference_pages", broken)
    with pytest.raises(RuntimeError):
        render_small(small_kb, memory)
    assert memory.context is None
    assert memory.reusable(("study", PECK), b"", small_kb / "docs") is None


# --- synthesis._outcome_view, _plots (rules2 helper) ---------------------------------------------------------------


def test_each_outcome_group_says_how_consistent_its_directions_are():
    """Kills kb.render.synthesis.x__outcome_view__mutmut_14 (no consistency: the table's cell read None)."""
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    links = three_trials()
    views = term_synthesis(
        "substances", "mdma", links.by_tag["substances"]["mdma"], links, vocabulary, RowCache(vocabulary)
    )
    assert [(v.anchor, v.consistency) for v in views] == [
        ("outcome-ptsd-severity-placebo", "all 3 findings improved"),
        ("outcome-anxiety-no-effect", "1 finding: improved"),
        ("outcome-wellbeing-placebo", "all 2 findings improved"),
    ]


def test_a_metric_family_without_intervals_leaves_out_only_its_own_forest_plot():
    """One trial reports a Cohen's d without a CI, then an odds ratio with one, on the same outcome: the d has no
    plot, the odds ratio still has its own.
    Kills kb.render.synthesis.x__plots__mutmut_10 (every later family's plot dropped after one without intervals)."""
    links = link_studies(
        [
            synth_trial(
                "ames-2020",
                "Ames",
                40,
                ("CAPS-5", "ptsd-severity", "cohen_d", 0.5, None),
                ("Remission", "ptsd-severity", "odds_ratio", 2.0, [1.1, 3.6]),
            )
        ]
    )
    vocabulary = load_vocabulary(ROOT / "vocabulary.yml")
    (view,) = term_synthesis("outcomes", "ptsd-severity", links.studies, links, vocabulary, RowCache(vocabulary))
    assert [e.text for e in view.effects] == ["Cohen's d 0.5", "Odds ratio 2 [1.1, 3.6]"]
    assert [(p.id, p.metric, [(r.full_label, r.value_text) for r in p.rows]) for p in view.plots] == [
        ("outcome-ptsd-severity-placebo-odds_ratio", "odds_ratio", [("Ames, 2020: Remission", "2 [1.1, 3.6]")])
    ]
