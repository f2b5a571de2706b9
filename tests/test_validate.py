"""`kb validate` on broken entries: each must give exit 1, a `path:line:col` message naming the problem,
and never a traceback. The entries are a fictitious fixture (tests/fixtures) with one thing broken each."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kb import cli

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "example-2024-fixture.yaml"
GOOD = FIXTURE.read_text(encoding="utf-8")


def run_kb(project: Path, *args: str) -> subprocess.CompletedProcess:
    """`kb -C PROJECT ARGS` from PROJECT, in this process (so that mutation testing sees which checks each test
    runs; test_the_fixture_is_clean_as_a_process runs it as a real process): its exit code and output."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.chdir(project), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            cli.main(["-C", str(project), *args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, stdout.getvalue(), stderr.getvalue())


def run_kb_process(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "kb.cli", "-C", str(project), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=project)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "vocabulary.yml", tmp_path / "vocabulary.yml")
    (tmp_path / "entries").mkdir()
    return tmp_path


def write_entry(project: Path, text: str | bytes, name: str = "example-2024-fixture") -> Path:
    path = project / "entries" / f"{name}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def assert_reported(result: subprocess.CompletedProcess, path: str, line: int, *words: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    matching = [row for row in result.stdout.splitlines() if row.startswith(f"{path}:{line}:")]
    assert matching, f"no message at {path}:{line} in:\n{result.stdout}{result.stderr}"
    row = " ".join(matching)
    for word in words:
        assert word in row, f"{word!r} not in {row!r}"
    return row


@pytest.mark.parametrize("run", [run_kb, run_kb_process], ids=["in-process", "as-a-process"])
def test_the_fixture_is_clean(project: Path, run) -> None:
    write_entry(project, GOOD)
    result = run(project, "validate", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "1 entry checked: 0 error(s), 0 warning(s)" in result.stderr


BROKEN = [
    # (case, old text, new text, line to expect (found by a needle in the new text), words in the message)
    ("syntax error", "headline: Test fixture, not a real study", "headline: Test: fixture: bad", "headline:", ["YAML"]),
    ("tab indentation", "  randomized: true", "\trandomized: true", "\trandomized", ["tabs"]),
    ("unclosed quote", 'volume: "1"', 'volume: "1', "issue:", ["line 13", "never closed"]),
    ("wrong type", "year: 2024", "year: twenty", "year:", ["citation.year", "whole number"]),
    ("quoted number", "year: 2024", 'year: "2024"', "year:", ["whole number", "remove the quotes"]),
    ("list expected", "conditions: [depression]", "conditions: depression", "conditions:", ["a list"]),
    (
        "misspelt tag",
        "mechanisms: [self-compassion]",
        "mechanisms: [self-compasion]",
        "mechanisms:",
        ["'self-compassion'"],
    ),
    ("unknown tag", "substances: [psilocybin]", "substances: [unobtainium]", "substances:", ["unknown", "unobtainium"]),
    (
        "misspelt key",
        "headline: Test",
        "headlin: Test",
        "headlin:",
        ["unknown key 'headlin'", "did you mean 'headline'"],
    ),
    ("missing field", "headline: Test fixture, not a real study\n", "", "id:", ["missing", "'headline'"]),
    ("enum value", "direction: improved", "direction: better", "direction:", ["improved"]),
    ("bad id", "id: example-2024-fixture", "id: Example_2024", "id:", ["id"]),
    ("id not file name", "id: example-2024-fixture", "id: example-2024-other", "id:", ["file name"]),
    ("invalid DOI", "doi: 10.5555/kb.fixture.2024", "doi: kb.fixture.2024", "doi:", ["not a DOI"]),
    ("CI excludes value", "ci: [0.2, 1.4]", "ci: [0.9, 1.4]", "ci:", ["CI"]),
    ("arms exceed n", "  n: 40", "  n: 30", "arms:", ["arms add up to 40"]),
    ("impossible date", "added: 2026-01-15", "added: 2026-13-15", "added:", ["not a real date"]),
    ("future date", "reviewed: 2026-02-01", "reviewed: 2099-02-01", "reviewed:", ["future"]),
    ("implausible year", "year: 2024", "year: 1492", "year:", ["not plausible"]),
    (
        "javascript URL",
        "  reviewed: 2026-02-01",
        "  reviewed: 2026-02-01\nsources:\n  - {label: x, url: 'javascript:alert(1)'}",
        "javascript",
        ["url"],
    ),
    (
        "related id missing",
        "  reviewed: 2026-02-01",
        "  reviewed: 2026-02-01\nrelated: [no-such-entry]",
        "related:",
        ["no entry has the id"],
    ),
    (
        "duplicate key",
        "  reviewed: 2026-02-01",
        "  reviewed: 2026-02-01\ntitle: Again",
        "title: Again",
        ["duplicate key 'title'"],
    ),
    ("author without family", "{family: Example, given: Ada}", "{given: Ada}", "{given: Ada}", ["family"]),
    ("custom tag", "year: 2024", "year: !!python/object:os.system x", "year:", ["tag"]),
    ("second document", "  reviewed: 2026-02-01", "  reviewed: 2026-02-01\n---\nid: x", "---", ["document"]),
    (
        "unknown outcome domain",
        "domain: depression-severity",
        "domain: depresion-severity",
        "domain:",
        ["error", "unknown outcome tag", "did you mean 'depression-severity'"],
    ),
    ("unknown comparison", "comparison: placebo", "comparison: sham", "effect:", ["error", "placebo", "within-group"]),
    ("NaN effect", "value: 0.8, ci", "value: .nan, ci", "effect:", ["error", "nan is not a number a study can report"]),
    (
        "infinite CI",
        "ci: [0.2, 1.4]",
        "ci: [0.2, .inf]",
        "effect:",
        ["error", "inf is not a number a study can report"],
    ),
    (
        "huge effect",
        "value: 0.8, ci",
        "value: 1.0e+300, ci",
        "effect:",
        ["error", "1e+300 is not a plausible effect size"],
    ),
    ("overflowing n", "  n: 40", "  n: 1.0e+999", "  n: 1.0e+999", ["error", "inf is not a number a study can report"]),
    ("float n", "  n: 40", "  n: 1.0e+300", "  n: 1.0e+300", ["error", "must be a whole number"]),
    ("float year", "year: 2024", "year: 2024.0", "year:", ["error", "2024 must be a whole number", "write 2024"]),
    ("huge whole n", "  n: 40", "  n: 40000000000", "  n: 4000", ["error", "not plausible here"]),
    (
        "escaped control character",
        "headline: Test fixture, not a real study",
        'headline: "Te\\x01st"',
        "headline:",
        ["error", "U+0001"],
    ),
    (
        "escaped NUL",
        "headline: Test fixture, not a real study",
        'headline: "Te\\0st"',
        "headline:",
        ["error", "U+0000"],
    ),
    (
        "escaped ESC",
        "headline: Test fixture, not a real study",
        'headline: "Te\\e[2Jst"',
        "headline:",
        ["error", "U+001B"],
    ),
    ("bidi override in a title", "title: A fictitious", "title: A \u202efictitious", "title:", ["error", "U+202E"]),
    (
        "zero-width space in an author",
        "{family: Example, given: Ada}",
        "{family: Exa\u200bmple, given: Ada}",
        "Exa",
        ["U+200B"],
    ),
    ("reserved id", "id: example-2024-fixture", "id: index", "id:", ["error", "reserved"]),
    (
        "impossible notice date",
        "  reviewed: 2026-02-01",
        "  reviewed: 2026-02-01\nnotices:\n  - {type: correction, date: 2024-02-30}",
        "2024-02-30",
        ["error", "not a real date"],
    ),
    (
        "parent id missing",
        "  duration_weeks: 8",
        "  duration_weeks: 8\n  parent: exampel-2024-fixtur",
        "parent:",
        ["error", "no entry has the id 'exampel-2024-fixtur'"],
    ),
    (
        "own parent",
        "  duration_weeks: 8",
        "  duration_weeks: 8\n  parent: example-2024-fixture",
        "parent:",
        ["own parent"],
    ),
    (
        "safety arm unknown",
        "  reviewed: 2026-02-01",
        "  reviewed: 2026-02-01\nsafety:\n  summary: s\n  serious_adverse_events: [{arm: activ, n: 1}]",
        "serious_adverse_events",
        ["error", "no arm labelled 'activ'", "did you mean 'active'?"],
    ),
    (
        "safety count above arm",
        "  reviewed: 2026-02-01",
        "  reviewed: 2026-02-01\nsafety:\n  summary: s\n  discontinuations: [{arm: placebo, n: 25}]",
        "discontinuations",
        ["error", "25 people in arm 'placebo', which has 20"],
    ),
]


@pytest.mark.parametrize("case, old, new, needle, words", BROKEN, ids=[case[0] for case in BROKEN])
def test_broken_entry_is_reported(project: Path, case: str, old: str, new: str, needle: str, words: list[str]) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    write_entry(project, text)
    result = run_kb(project, "validate")
    assert_reported(result, "entries/example-2024-fixture.yaml", line_of(text, needle), *words)


def test_alias_bomb_is_refused_quickly(project: Path) -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for letter, previous in zip("bcdefghi", "abcdefgh", strict=False):
        bomb += f"{letter}: &{letter} [{', '.join(['*' + previous] * 9)}]\n"
    write_entry(project, bomb)
    result = run_kb(project, "validate")
    assert_reported(result, "entries/example-2024-fixture.yaml", 2, "aliases")


def test_non_utf8_bytes_point_at_the_byte(project: Path) -> None:
    data = GOOD.encode("utf-8").replace(b"Test fixture, not", b"Test fixture\xff not")
    write_entry(project, data)
    result = run_kb(project, "validate")
    assert_reported(result, "entries/example-2024-fixture.yaml", line_of(GOOD, "headline:"), "UTF-8", "0xff")


def test_utf8_bom_and_crlf_are_fine(project: Path) -> None:
    write_entry(project, b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode("utf-8"))
    result = run_kb(project, "validate", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("content", ["", "# only a comment\n", "- a\n- list\n", "just text\n"])
def test_entry_that_is_not_a_mapping(project: Path, content: str) -> None:
    write_entry(project, content)
    assert_reported(run_kb(project, "validate"), "entries/example-2024-fixture.yaml", 1, "mapping")


def test_huge_file_is_refused(project: Path) -> None:
    write_entry(project, GOOD + "# " + "x" * 600_000 + "\n")
    assert_reported(run_kb(project, "validate"), "entries/example-2024-fixture.yaml", 1, "bytes")


def test_deep_nesting_is_refused(project: Path) -> None:
    write_entry(project, "a: " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_kb(project, "validate")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith("entries/example-2024-fixture.yaml:1:")


def test_duplicate_doi_in_another_case(project: Path) -> None:
    write_entry(project, GOOD)
    other = (
        GOOD.replace("example-2024-fixture", "example-2024-other")
        .replace("A fictitious trial used by the test suite", "Another, entirely different fictitious report")
        .replace("doi: 10.5555/kb.fixture.2024", "doi: 10.5555/KB.Fixture.2024")
    )
    write_entry(project, other, "example-2024-other")
    result = run_kb(project, "validate")
    row = assert_reported(result, "entries/example-2024-other.yaml", line_of(other, "doi:"), "10.5555/kb.fixture.2024")
    assert "example-2024-fixture" in row


def test_near_identical_title_is_a_warning(project: Path) -> None:
    write_entry(project, GOOD)
    other = GOOD.replace("example-2024-fixture", "example-2024-other").replace(
        "doi: 10.5555/kb.fixture.2024", "doi: 10.5555/kb.other.2024"
    )
    other = other.replace("A fictitious trial used by the test suite", "A fictitious trial used by the test-suite.")
    write_entry(project, other, "example-2024-other")
    relaxed = run_kb(project, "validate")
    assert relaxed.returncode == 0
    assert "probable duplicate" in relaxed.stdout
    strict = run_kb(project, "validate", "--strict")
    assert_reported(strict, "entries/example-2024-other.yaml", line_of(other, "title:"), "probable duplicate")


def test_synonym_is_accepted_with_a_warning(project: Path) -> None:
    write_entry(project, GOOD.replace("conditions: [depression]", "conditions: [Major Depressive Disorder]"))
    result = run_kb(project, "validate")
    assert result.returncode == 0
    assert "warning:" in result.stdout and "'depression'" in result.stdout
    assert run_kb(project, "validate", "--strict").returncode == 1


def test_doi_with_prefix_is_a_warning_naming_the_bare_form(project: Path) -> None:
    write_entry(project, GOOD.replace("doi: 10.5555/kb", "doi: https://doi.org/10.5555/kb"))
    result = run_kb(project, "validate")
    assert result.returncode == 0 and "10.5555/kb.fixture.2024" in result.stdout


def test_github_annotations(project: Path) -> None:
    write_entry(project, GOOD.replace("year: 2024", "year: twenty"))
    result = run_kb(project, "validate", "--format", "github")
    assert result.returncode == 1
    line = line_of(GOOD, "year:")
    assert f"::error file=entries/example-2024-fixture.yaml,line={line},col=" in result.stdout


def test_named_paths_only_are_reported_but_whole_kb_is_checked(project: Path) -> None:
    broken = GOOD.replace("year: 2024", "year: twenty").replace("example-2024-fixture", "example-2024-broken")
    broken = broken.replace("kb.fixture.2024", "kb.broken.2024").replace("A fictitious trial", "A broken trial")
    write_entry(project, broken, "example-2024-broken")
    good = GOOD.replace("  reviewed: 2026-02-01", "  reviewed: 2026-02-01\nrelated: [example-2024-broken]")
    path = write_entry(project, good)
    result = run_kb(project, "validate", str(path))
    assert result.returncode == 0, result.stdout
    assert "example-2024-broken.yaml" not in result.stdout


WARNED = [
    # (case, old, new, needle, words): warnings, which fail only with --strict
    (
        "title in Title Case",
        "title: A fictitious trial used by the test suite",
        "title: 'MDMA-Assisted Therapy for Severe PTSD in Veterans: A Randomized Trial'",
        "title:",
        ["warning", "Title Case", "write: MDMA-assisted therapy for severe PTSD in veterans: A randomized trial"],
    ),
    ("effect without source", "    source: Table 2\n", "", "effect:", ["warning", "an effect without a source"]),
    (
        "improved with a negative SMD",
        "value: 0.8, ci: [0.2, 1.4]",
        "value: -0.8, ci: [-1.4, -0.2]",
        "effect:",
        ["warning", "direction is 'improved' but the cohen_d is negative (-0.8)", "flip the sign"],
    ),
]


@pytest.mark.parametrize("case, old, new, needle, words", WARNED, ids=[case[0] for case in WARNED])
def test_warning_fails_only_when_strict(project: Path, case: str, old: str, new: str, needle: str, words) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    write_entry(project, text)
    assert run_kb(project, "validate").returncode == 0
    assert_reported(
        run_kb(project, "validate", "--strict"), "entries/example-2024-fixture.yaml", line_of(text, needle), *words
    )


def test_parents_that_form_a_cycle_are_refused(project: Path) -> None:
    first = GOOD.replace("  duration_weeks: 8", "  duration_weeks: 8\n  parent: other-2024-fixture", 1)
    second = GOOD.replace("id: example-2024-fixture", "id: other-2024-fixture").replace(
        "  duration_weeks: 8", "  duration_weeks: 8\n  parent: example-2024-fixture", 1
    )
    second = second.replace("doi: 10.5555/kb.fixture.2024", "doi: 10.5555/kb.fixture.other").replace(
        "title: A fictitious trial used by the test suite", "title: Another made-up record for parent cycles"
    )
    write_entry(project, first)
    write_entry(project, second, name="other-2024-fixture")
    result = run_kb(project, "validate")
    row = assert_reported(result, "entries/example-2024-fixture.yaml", line_of(first, "parent:"), "error")
    assert "parents form a cycle: example-2024-fixture -> other-2024-fixture -> example-2024-fixture" in row


def test_missing_path_and_missing_vocabulary(project: Path) -> None:
    result = run_kb(project, "validate", "entries/nope.yaml")
    assert result.returncode == 1 and "no such file" in result.stderr and "Traceback" not in result.stderr
    (project / "vocabulary.yml").unlink()
    result = run_kb(project, "validate")
    assert result.returncode == 1 and "vocabulary.yml:1:1" in result.stderr


def test_broken_vocabulary_points_at_the_line(project: Path) -> None:
    text = (ROOT / "vocabulary.yml").read_text(encoding="utf-8").replace("broader: self-compassion", "broader: nowhere")
    (project / "vocabulary.yml").write_text(text, encoding="utf-8")
    write_entry(project, GOOD)
    result = run_kb(project, "validate")
    assert result.returncode == 1
    assert f"vocabulary.yml:{line_of(text, 'broader: nowhere')}:" in result.stderr


def test_shipped_entries_are_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", "validate", "--strict"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((ROOT / "entries").glob("[!_]*.yaml"))) >= 10


def test_vocabulary_label_with_markup_is_refused(project: Path) -> None:
    text = (ROOT / "vocabulary.yml").read_text(encoding="utf-8")
    text = text.replace("label: Self-compassion", "label: Self-compassion<img src=x onerror=alert(1)>")
    (project / "vocabulary.yml").write_text(text, encoding="utf-8")
    write_entry(project, GOOD)
    result = run_kb(project, "validate")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"vocabulary.yml:{line_of(text, 'onerror')}:" in result.stderr


def test_control_character_points_at_its_position(project: Path) -> None:
    write_entry(project, GOOD.replace("headline: Test", "headline: Te\x00st", 1))
    row = assert_reported(run_kb(project, "validate"), "entries/example-2024-fixture.yaml", line_of(GOOD, "headline:"))
    assert "control character U+0000" in row and ":13:" in row


@pytest.mark.parametrize(
    "author",
    [
        {"family": "Roy", "given": "Jean-Pierre"},
        {"name": "MAPS Public Benefit Corporation"},
        {"family": "Roy", "name": "Roy group"},  # both shapes at once
        {"given": "Jean"},  # neither
        {"family": "Roy", "orcid": "not-an-orcid"},
        {"name": ""},
        "Roy, J.",
    ],
)
def test_fast_schema_check_accepts_exactly_what_the_full_check_does(author) -> None:
    """The compiled validator reads the schema's oneOf as anyOf (its alternatives exclude each other)."""
    import fastjsonschema
    import yaml

    from kb.validate.schema import _fast_validator, _full_validator

    entry = yaml.safe_load((ROOT / "entries" / "agin-liebes-2025-self-compassion.yaml").read_text(encoding="utf-8"))
    entry["citation"]["authors"][1] = author
    full = _full_validator().is_valid(entry)
    try:
        _fast_validator()(entry)
        fast = True
    except fastjsonschema.JsonSchemaException:
        fast = False
    assert fast == full


VOCABULARY = (ROOT / "vocabulary.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "old, new, needle, words",
    [
        (  # a cycle of broader terms has no top
            "      synonyms: [self compassion, self-kindness, compassionate self-responding]\n",
            "      synonyms: [self compassion, self-kindness, compassionate self-responding]\n"
            "      broader: self-criticism\n",
            "broader: self-criticism",
            ["error", "cycle", "self-compassion -> self-criticism -> self-compassion"],
        ),
        (
            "      synonyms: [memory reconsolidation, fear memory, trauma processing]",
            "      synonyms: [memory reconsolidation, fear memory, self-kindness]",
            "self-kindness]",
            ["error", "'self-kindness'", "already names term 'self-compassion'"],
        ),
        (
            "      synonyms: [alliance, therapeutic relationship, rapport]",
            "      synonyms: [alliance, 42, rapport]",
            "42",
            ["error", "synonym must be a non-empty piece of text"],
        ),
        ("  label: Mechanisms\n", "  label: ''\n", "label: ''", ["facet 'mechanisms' needs a non-empty label"]),
        (
            "      label: Rumination\n",
            "      label: " + "Rumination " * 30 + "\n",
            "Rumination Rumination",
            ["error", "label of term 'rumination' is 329 characters long (at most 200)"],
        ),
    ],
    ids=["broader-cycle", "synonym-on-two-terms", "non-string-synonym", "empty-facet-label", "overlong-label"],
)
def test_vocabulary_mistakes_are_refused_at_their_line(project: Path, old, new, needle, words) -> None:
    assert old in VOCABULARY
    text = VOCABULARY.replace(old, new, 1)
    (project / "vocabulary.yml").write_text(text, encoding="utf-8")
    write_entry(project, GOOD)
    result = run_kb(project, "validate")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    rows = [row for row in result.stderr.splitlines() if row.startswith(f"vocabulary.yml:{line_of(text, needle)}:")]
    assert rows, result.stderr
    assert all(word in rows[0] for word in words), rows[0]


def test_the_same_id_in_two_files_is_refused(project: Path) -> None:
    write_entry(project, GOOD)
    (project / "entries" / "example-2024-fixture.yml").write_text(GOOD, encoding="utf-8")
    result = run_kb(project, "validate")
    row = assert_reported(result, "entries/example-2024-fixture.yml", line_of(GOOD, "id:"), "error")
    assert "the id 'example-2024-fixture' is also the id of entries/example-2024-fixture.yaml" in row


@pytest.mark.parametrize("kind", ["folder", "dangling link", "link loop", "link to outside", "device"])
def test_odd_files_in_entries_are_reported_not_skipped(project: Path, tmp_path_factory, kind: str) -> None:
    write_entry(project, GOOD)
    odd = project / "entries" / "odd-2024-entry.YAML"
    if kind == "folder":
        odd.mkdir()
    elif kind == "dangling link":
        odd.symlink_to(project / "entries" / "nowhere.yaml")
    elif kind == "link loop":
        odd.symlink_to(odd)
    elif kind == "link to outside":
        outside = tmp_path_factory.mktemp("outside") / "secret.yaml"
        outside.write_text(GOOD.replace("example-2024-fixture", "odd-2024-entry"), encoding="utf-8")
        odd.symlink_to(outside)
    else:
        odd.symlink_to("/dev/zero")
    result = run_kb(project, "validate")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    rows = [row for row in (result.stdout + result.stderr).splitlines() if "odd-2024-entry.YAML:1:1: error:" in row]
    assert rows, result.stdout + result.stderr
    expected = "is not a regular file" if kind == "folder" else "is a symbolic link"
    assert expected in rows[0]


def test_a_vocabulary_linked_to_a_device_is_refused_at_once(project: Path) -> None:
    (project / "vocabulary.yml").unlink()
    (project / "vocabulary.yml").symlink_to("/dev/zero")
    write_entry(project, GOOD)
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", "-C", str(project), "validate"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "vocabulary.yml:1:1: error: is a symbolic link" in result.stderr


def test_thousands_of_unknown_keys_give_a_bounded_report(project: Path) -> None:
    text = GOOD + "".join(f"k{i}: 1\n" for i in range(20_000))
    write_entry(project, text)
    result = run_kb(project, "validate")
    rows = [row for row in result.stdout.splitlines() if "unknown key" in row]
    assert len(rows) == 11  # ten one by one, then one line for the rest
    assert "19,990 more unknown keys in the entry, from here on" in rows[-1]
    assert rows[-1].startswith(f"entries/example-2024-fixture.yaml:{line_of(text, 'k10:')}:1: error:")


def test_a_misspelt_key_already_present_is_not_renamed_into_a_duplicate(project: Path) -> None:
    text = GOOD.replace("  reviewed: 2026-02-01", "  reviewed: 2026-02-01\nfnidings: []")
    write_entry(project, text)
    row = assert_reported(run_kb(project, "validate"), "entries/example-2024-fixture.yaml", line_of(text, "fnidings"))
    assert f"'findings' is already here, on line {line_of(text, 'findings:')}" in row and "'id'" not in row


def test_terminal_escape_codes_in_a_value_are_printed_escaped(project: Path) -> None:
    text = GOOD.replace("direction: improved", 'direction: "better\\e[2K\\e[1A"', 1)
    write_entry(project, text)
    result = run_kb(project, "validate")
    assert "\x1b" not in result.stdout + result.stderr
    assert "\\x1b[2K" in result.stdout


def test_the_term_slug_index_is_refused(project: Path) -> None:
    text = VOCABULARY.replace("    rumination:\n", "    index:\n", 1)
    (project / "vocabulary.yml").write_text(text, encoding="utf-8")
    write_entry(project, GOOD)
    result = run_kb(project, "validate")
    assert result.returncode == 1
    assert f"vocabulary.yml:{line_of(text, '    index:')}:" in result.stderr and "reserved" in result.stderr


@pytest.mark.parametrize("folder", ["templates/overrides/assets", "docs"])
def test_a_link_leading_out_of_the_knowledge_base_is_refused_by_validate_and_build(tmp_path, folder: str) -> None:
    from site_support import copy_project

    root = copy_project(tmp_path / "kb", with_fixtures=False)
    link = root / folder / "passwd.txt"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to("/etc/passwd")
    for command in ("validate", "build"):
        result = run_kb(root, command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        shown = f"{folder}/passwd.txt:1:1: error: is a symbolic link to /etc/passwd, outside the knowledge base"
        assert shown in result.stdout + result.stderr, (command, result.stdout + result.stderr)
    assert not (root / "site").exists()


# Found by mutation testing (benchmarks/MUTATION.md): two kinds of entry the schema refuses used to pass.
@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            "    - {family: Example, given: Ada}",
            "    - {family: Example, name: Ada}",
            ["9:7: error: citation.authors[0] mixes a person's keys (family, given) with an organisation's (name)"],
        ),
        (
            "    - {family: Example, given: Ada}",
            "    - {name: Example Group, given: Ada}",
            [
                "9:7: error: citation.authors[0] mixes a person's keys (family, given) with an organisation's (name) "
                "(a person is {family: ..., given: ...}; an organisation is {name: ...})"
            ],
        ),
    ],
    ids=["family-and-name", "name-and-given"],
)
def test_an_author_mixing_a_person_and_an_organisation_is_refused(project: Path, old, new, words) -> None:
    write_entry(project, GOOD.replace(old, new, 1))
    assert_reported(run_kb(project, "validate"), "entries/example-2024-fixture.yaml", 9, *words)


@pytest.mark.parametrize("facet", ["substances", "conditions"])
def test_an_empty_list_of_substances_or_conditions_is_refused(project: Path, facet: str) -> None:
    text = re.sub(rf"^{facet}:.*$", f"{facet}: []", GOOD, count=1, flags=re.M)
    write_entry(project, text)
    line = line_of(text, f"{facet}: []")
    assert_reported(
        run_kb(project, "validate"), "entries/example-2024-fixture.yaml", line, f"error: {facet} must not be empty"
    )
