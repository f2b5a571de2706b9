"""Focused tests of kb/render that kill mutants mutmut found surviving (`make mutation`, benchmarks/MUTATION.md).

The site tests build the whole site and read its HTML; these pin, in milliseconds, what a render function hands the
templates, so that a mutant of it fails here too (mutmut runs only the fast tests per mutant).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from site_support import FIXTURES, copy_project

from kb.build import generate
from kb.model import Study
from kb.problems import ProblemError, display_path
from kb.project import Project
from kb.render.safety import CountView, safety_view
from kb.render.templating import _template_frame, make_environment, render_template
from kb.validate import validate_entries
from kb.vocabulary import load_vocabulary

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


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The knowledge base cut down to SAMPLE and the test entries, generated once: its folder (docs/ holds the
    pages). Under mutmut, each mutant's run generates it once and every test below reads it."""
    root = copy_project(tmp_path_factory.mktemp("render") / "kb")
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
