"""scripts/mutation_report.py: the mutation scores per module, and the survivors neither killed nor explained."""

from __future__ import annotations

import doctest
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "mutation_report.py"
_spec = importlib.util.spec_from_file_location("mutation_report", SCRIPT)
report = sys.modules["mutation_report"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up there
_spec.loader.exec_module(report)

# as `mutmut results --all true` prints them
RESULTS = """\
    kb.render.plot.x_wrap_label__mutmut_1: killed
    kb.render.plot.x_wrap_label__mutmut_2: killed
    kb.render.plot.x_wrap_label__mutmut_3: killed
    kb.render.plot.x_wrap_label__mutmut_4: timeout
    kb.render.plot.x_wrap_label__mutmut_5: survived
    kb.render.plot.x_wrap_label__mutmut_6: survived
    kb.render.xǁ_Rendererǁpage__mutmut_1: no tests
    kb.render.xǁ_Rendererǁpage__mutmut_2: not checked
    kb.build.x_serve__mutmut_1: killed
    kb.build.x_serve__mutmut_2: survived
"""
EQUIVALENTS = """\
# Surviving mutants judged equivalent.

## Geometry that cannot differ
kb.render.plot.x_wrap_label__mutmut_6
## A join timeout
kb.build.x_serve__mutmut_1
"""
DOCUMENT = "# Mutation testing\n\nBefore.\n\n<!-- mutation:begin -->\nold table\n<!-- mutation:end -->\n\nAfter.\n"


def test_the_docstring_examples_hold():
    assert doctest.testmod(report).failed == 0


def test_scores_count_killed_and_timeouts_over_the_mutants_checked_with_and_without_listed_equivalents():
    results = report.parse_results(RESULTS)
    equivalents = report.parse_equivalents(EQUIVALENTS, "eq.txt")
    render, build = report.scores(results, equivalents, ["kb.render", "kb.build"])
    # kb.render: 8 mutants, 7 checked, 3 killed + 1 timeout; 3 survivors (one "no tests"), one listed as equivalent
    assert (render.total, render.checked, render.killed, render.listed) == (8, 7, 4, 1)
    assert (render.score(), render.score_without_equivalents()) == ("57.1%", "66.7%")
    # kb.build: its listed mutant is killed now, so it does not count as an equivalent survivor
    assert (build.total, build.checked, build.killed, build.listed) == (2, 2, 1, 0)
    assert (build.score(), build.score_without_equivalents()) == ("50.0%", "50.0%")


def test_the_block_names_every_unexplained_survivor_and_every_listed_mutant_that_is_killed_now():
    results = report.parse_results(RESULTS)
    block = report.report_block(results, report.parse_equivalents(EQUIVALENTS, "eq.txt"), ["kb.render"], "2026-12-02")
    assert "| kb.render | 8 | 7 | 3 | 1 | 2 | 1 | 1 | **57.1%** | 66.7% |" in block
    assert "kb.build" not in block.split("Survivors neither")[0]  # only the modules asked for
    unexplained = block.split("Survivors neither killed nor listed as equivalent: **2**:\n")[1]
    assert unexplained.startswith(
        "- `kb.render.plot.x_wrap_label__mutmut_5`\n- `kb.render.xǁ_Rendererǁpage__mutmut_1`\n"
    )
    assert "- `kb.build.x_serve__mutmut_1` (killed)" in block


@pytest.mark.parametrize(
    "text, message",
    [
        ("kb.a.x_f__mutmut_1\n## late reason\n", "eq.txt:1:1: mutant 'kb.a.x_f__mutmut_1' has no reason above it"),
        (
            "## why\nkb.a.x_f__mutmut_1\n\n## why not\nkb.a.x_f__mutmut_1\n",
            "eq.txt:5:1: 'kb.a.x_f__mutmut_1' is listed twice",
        ),
    ],
    ids=["name-before-reason", "listed-twice"],
)
def test_a_malformed_list_of_equivalents_is_refused_at_its_line(text, message):
    with pytest.raises(report.ReportError, match=re.escape(message)):
        report.parse_equivalents(text, "eq.txt")


def run_script(
    tmp_path: Path, document: str, equivalents: str = EQUIVALENTS
) -> tuple[subprocess.CompletedProcess, Path]:
    (tmp_path / "results.txt").write_text(RESULTS, encoding="utf-8")
    (tmp_path / "eq.txt").write_text(equivalents, encoding="utf-8")
    (tmp_path / "MUTATION.md").write_text(document, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--results", "results.txt", "--equivalents", "eq.txt", "--report", "MUTATION.md",
         "--modules", "kb.render kb.build"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done, tmp_path / "MUTATION.md"


def test_the_script_rewrites_only_the_part_between_the_markers(tmp_path):
    done, document = run_script(tmp_path, DOCUMENT)
    assert done.returncode == 0, done.stderr
    text = document.read_text(encoding="utf-8")
    assert text.startswith("# Mutation testing\n\nBefore.\n\n<!-- mutation:begin -->\nTabulated ")
    assert text.endswith("<!-- mutation:end -->\n\nAfter.\n")
    assert "old table" not in text
    assert "| kb.build | 2 | 2 | 1 | 0 | 1 | 0 | 0 | **50.0%** | 50.0% |" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.parametrize(
    "document, equivalents, message",
    [
        ("# No markers\n", EQUIVALENTS, "MUTATION.md:1:1: needs one '<!-- mutation:begin -->' line followed by one"),
        (DOCUMENT, "kb.a.x_f__mutmut_1\n", "eq.txt:1:1: mutant 'kb.a.x_f__mutmut_1' has no reason above it"),
    ],
    ids=["no-markers", "bad-equivalents"],
)
def test_bad_input_is_one_line_exit_1_and_the_report_untouched(tmp_path, document, equivalents, message):
    done, path = run_script(tmp_path, document, equivalents)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"error: {message}") and done.stderr.count("\n") == 1
    assert path.read_text(encoding="utf-8") == document


def test_the_projects_list_of_equivalents_reads_and_names_mutants_of_the_modules_under_test():
    equivalents = report.parse_equivalents(
        (ROOT / "benchmarks" / "mutation-equivalents.txt").read_text(encoding="utf-8"), "mutation-equivalents.txt"
    )
    assert len(equivalents) > 100
    name = re.compile(r"kb\.(references|doi|validate|render|build)(\.\w+)*\.xǁ?\w+(ǁ\w+)?__mutmut_\d+")
    assert [n for n in equivalents if not name.fullmatch(n)] == []
    assert all(len(reason) > 15 for reason in equivalents.values())
