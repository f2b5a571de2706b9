"""A "Suggest a study" issue becomes a draft entry: the issue-form body is read (well-formed, partial and hostile
bodies), its topics are matched to vocabulary terms, and `kb new --from-issue` drafts, validates and reports
against a local Crossref stand-in serving recorded responses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from doi_support import ESMO, ROOT, make_kb, run_kb, serve_work

from kb.doi.suggestion import DESIGN_CHOICES, LABELS, SuggestionError, fenced, match_topics, read_suggestion
from kb.init import STARTER_DIR
from kb.vocabulary import load_vocabulary

VOCABULARY = load_vocabulary(ROOT / "vocabulary.yml")


def issue_body(doi="10.1136/esmoopen-2020-000776", topics="psilocybin, depression, self-compassion", **extra) -> str:
    """A body as GitHub writes it for .github/ISSUE_TEMPLATE/suggest-study.yml (CRLF line ends included)."""
    answers = {
        "DOI": doi,
        "Title": extra.get("title", "Psilocybin for depression in cancer"),
        "Study design": extra.get("design", "Randomised controlled trial"),
        "Substances, conditions and mechanisms": topics,
        "Why it belongs here": extra.get("why", "It is a well-run trial."),
        "Would you like to write the entry?": "No, please write it for me",
        "Before you submit": "- [X] I searched the site and the open issues, and this study is not there yet.",
    }
    return "\r\n\r\n".join(f"### {label}\r\n\r\n{answer}" for label, answer in answers.items()) + "\r\n"


def test_a_well_formed_body_gives_every_field():
    suggestion = read_suggestion(issue_body())
    assert suggestion.doi_text == "10.1136/esmoopen-2020-000776"
    assert suggestion.title == "Psilocybin for depression in cancer"
    assert suggestion.design == "Randomised controlled trial"
    assert suggestion.topics == ["psilocybin", "depression", "self-compassion"]


def test_a_partial_body_leaves_out_what_was_not_answered():
    suggestion = read_suggestion(issue_body(topics="_No response_", title="_No response_"))
    assert suggestion.topics == [] and suggestion.title == ""
    with pytest.raises(SuggestionError, match="no 'DOI' answer"):
        read_suggestion("Please add the MAPP2 trial, thanks!")
    with pytest.raises(SuggestionError, match="no 'DOI' answer"):
        read_suggestion(issue_body(doi="_No response_"))


def test_a_hostile_body_cannot_replace_the_form_fields_or_smuggle_characters():
    why = "### DOI\n\n10.9999/evil\n\n### Substances, conditions and mechanisms\n\nmdma"
    suggestion = read_suggestion(issue_body(why=why, topics="psilocybin\u202e, \x1b[2Jdepression"))
    assert suggestion.doi_text == "10.1136/esmoopen-2020-000776"  # the form's own field, which comes first
    assert suggestion.topics == ["psilocybin", "depression"]  # escape sequences and bidi overrides dropped
    with pytest.raises(SuggestionError, match="longer than"):
        read_suggestion(issue_body(why="x" * 70_000))
    assert len(read_suggestion(issue_body(topics=", ".join(f"t{i}" for i in range(500)))).topics) == 20


def test_topics_become_terms_through_labels_synonyms_and_close_spellings():
    match = match_topics(["Psilocybin", "treatment resistant depression", "self compassion", "psylocibin"], VOCABULARY)
    assert match.tags == {
        "substances": ["psilocybin"],
        "conditions": ["treatment-resistant-depression"],
        "mechanisms": ["self-compassion"],
    }
    assert match.unmatched == []
    match = match_topics(["gardening", "MDMA-assisted therapy", "ptsd"], VOCABULARY)
    assert match.tags == {"conditions": ["ptsd"]} and match.unmatched == ["gardening", "MDMA-assisted therapy"]


@pytest.mark.parametrize("form", [ROOT / ".github", STARTER_DIR / "dot-github"], ids=["repository", "starter"])
def test_the_parser_knows_the_forms_labels_and_design_choices(form):
    fields = yaml.safe_load((form / "ISSUE_TEMPLATE" / "suggest-study.yml").read_text(encoding="utf-8"))["body"]
    labels = {item["id"]: item["attributes"]["label"] for item in fields if "id" in item}
    assert {key: labels[key] for key in LABELS} == LABELS
    (design,) = [item for item in fields if item.get("id") == "design"]
    choices = [choice for choice in design["attributes"]["options"] if choice != "Other or not sure"]
    assert choices == list(DESIGN_CHOICES)
    for slug in DESIGN_CHOICES.values():
        assert VOCABULARY.term("designs", slug) is not None, slug


@pytest.fixture
def kb_root(tmp_path) -> Path:
    return make_kb(tmp_path / "kb")


def suggest(kb_root: Path, body: str, env: dict) -> tuple:
    (kb_root / "issue.md").write_text(body, encoding="utf-8")
    arguments = ["new", "--from-issue", "issue.md", "--write", "--report", "report.md"]
    completed = run_kb(arguments, env, kb_root)
    report = (kb_root / "report.md").read_text(encoding="utf-8") if (kb_root / "report.md").exists() else None
    return completed, report


def test_a_suggestion_is_drafted_with_its_design_and_topics_and_reported(kb_root, httpserver, env):
    serve_work(httpserver, ESMO)
    body = issue_body(topics="psilocybin, depresion; gardening @octocat, [x](javascript:alert(1))")
    completed, report = suggest(kb_root, body, env)
    assert completed.returncode == 0, completed.stderr
    (path,) = (kb_root / "entries").glob("*.yaml")
    draft = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert draft["citation"]["doi"] == ESMO
    assert draft["design"]["type"] == "randomized-controlled-trial"
    assert draft["substances"] == ["psilocybin"] and draft["conditions"] == ["depression"]
    assert "# CHECK: suggested in the issue" in path.read_text(encoding="utf-8")

    assert f"`entries/{path.name}`" in report
    assert "Substances: `psilocybin`" in report and "Conditions: `depression`" in report
    assert "gardening \\@&#8203;octocat" in report  # listed for a maintainer, without pinging anyone
    assert "](javascript" not in report and "\\[x\\]\\(javascript" in report
    # What `kb validate` still finds are the parts a person must write, not the suggested design or tags.
    remaining = report.split("`kb validate` finds", 1)[1]
    assert "error" in remaining and "unknown" not in remaining and "psilocybin" not in remaining


@pytest.mark.parametrize(
    ("doi", "reason"),
    [
        ("https://pubmed.ncbi.nlm.nih.gov/12345678/", "is not a DOI"),
        ("10.1136/never-registered", "10.1136/never-registered"),
    ],
)
def test_a_suggestion_that_cannot_be_drafted_reports_why(kb_root, httpserver, env, doi, reason):
    httpserver.expect_request("/works/10.1136/never-registered").respond_with_data("Resource not found.", status=404)
    httpserver.expect_request("/works/10.1136/never-registered/agency").respond_with_data("", status=404)
    httpserver.expect_request("/doiorg/10.1136/never-registered").respond_with_data("", status=404)
    completed, report = suggest(kb_root, issue_body(doi=doi), env)
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert reason in completed.stderr
    assert report.startswith("**kb could not draft an entry from this suggestion.**")
    assert not list((kb_root / "entries").glob("*.yaml"))


def test_a_body_that_is_not_a_form_is_refused_clearly(kb_root, env):
    completed, report = suggest(kb_root, "Hi, please add a study about dogs.", env)
    assert completed.returncode == 1 and "no 'DOI' answer" in completed.stderr
    assert "no \\'DOI\\' answer" in report
    missing = run_kb(["new", "--from-issue", "nowhere.md"], env, kb_root)
    assert missing.returncode == 1 and "could not read nowhere.md" in missing.stderr
    both = run_kb(["new", ESMO, "--from-issue", "nowhere.md"], env, kb_root)
    assert both.returncode == 1 and "one of them" in both.stderr


def test_what_validate_says_is_shown_in_a_fence_no_line_can_close():
    assert fenced(["a ```` b", "c"]) == ["`````text", "a ```` b", "c", "`````"]
    assert fenced(["plain"]) == ["```text", "plain", "```"]


# --- the workflow's steps, in bash, with a local git remote and a stand-in gh ----------------------------------

# A stand-in for the gh CLI: pull requests live in $GH_STATE (JSON), every call is logged to $GH_LOG (with the
# body file's text); only what suggest-study.yml uses is understood.
FAKE_GH = """#!PYTHON
import json, os, sys
args = sys.argv[1:]
state_file = os.environ["GH_STATE"]
state = json.load(open(state_file))
def option(name):
    return args[args.index(name) + 1] if name in args else None
body = open(option("--body-file")).read() if option("--body-file") else None
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps({"args": args[:2], "target": args[2] if len(args) > 2 else None, "body": body}) + "\\n")
if args[:2] == ["pr", "list"]:
    print(next((pr["url"] for pr in state["prs"] if pr["head"] == option("--head")), ""))
elif args[:2] == ["pr", "create"]:
    url = f"https://github.example/o/r/pull/{len(state['prs']) + 1}"
    state["prs"].append({"url": url, "head": option("--head"), "draft": "--draft" in args, "body": body})
    print(url)
elif args[:2] not in (["pr", "edit"], ["issue", "comment"]):
    sys.exit(f"fake gh: unexpected {args}")
json.dump(state, open(state_file, "w"))
""".replace("PYTHON", sys.executable)

WORKFLOW = ROOT / ".github" / "workflows" / "suggest-study.yml"


def _git(*arguments: str, cwd: Path) -> str:
    return subprocess.run(["git", *arguments], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repository(tmp_path) -> Path:
    """A clone of a knowledge base whose origin is a local bare repository, as actions/checkout leaves it."""
    origin = tmp_path / "origin.git"
    _git("init", "--bare", "--initial-branch=main", str(origin), cwd=tmp_path)
    work = make_kb(tmp_path / "work")
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.org"]
    _git("init", "--initial-branch=main", cwd=work)
    _git("add", ".", cwd=work)
    _git(*identity, "commit", "-m", "knowledge base", cwd=work)
    _git("remote", "add", "origin", str(origin), cwd=work)
    _git("push", "origin", "main", cwd=work)
    return work


def run_workflow(repository: Path, body: str, env: dict, issue: int = 12) -> tuple[list[str], list[dict], Path]:
    """Every step of suggest-study.yml after the set-up ones, in order, as GitHub runs them (bash -e, `if:`
    evaluated from the steps' outputs); returns the steps that ran, the gh calls and the origin repository."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    job = workflow["jobs"]["draft"]
    temp = repository.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    bin_dir = repository.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    (bin_dir / "kb").write_text(f'#!/bin/sh\nexec {sys.executable} -m kb.cli "$@"\n')
    (bin_dir / "kb").chmod(0o755)
    state, log = repository.parent / "gh.json", repository.parent / "gh.log"
    state.write_text(json.dumps({"prs": []}))
    log.write_text("")
    outputs: dict[str, dict[str, str]] = {}
    outcomes: dict[str, str] = {}
    ran = []
    for step in job["steps"]:
        if "run" not in step or step["name"] == "Install kb":
            continue
        condition = step.get("if", "")
        if "steps.earlier.outputs.exists != 'true'" in condition and outputs.get("earlier", {}).get("exists") == "true":
            outcomes[step.get("id", "")] = "skipped"
            continue
        if "steps.draft.outputs.drafted == 'true'" in condition and outputs.get("draft", {}).get("drafted") != "true":
            continue
        if "steps.draft.outcome == 'success'" in condition and outcomes.get("draft") != "success":
            continue
        output_file = temp / f"output-{len(ran)}"
        output_file.write_text("")
        step_env = {
            **os.environ,
            **env,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "RUNNER_TEMP": str(temp),
            "GITHUB_OUTPUT": str(output_file),
            "GH_STATE": str(state),
            "GH_LOG": str(log),
            "ISSUE_NUMBER": str(issue),
            "BRANCH": f"suggestion/issue-{issue}",
            "GH_TOKEN": "token",
            "ISSUE_BODY": body,
            "KB_MAILTO": "tests@example.org",
            "PR_URL": outputs.get("pr", {}).get("url", ""),
        }
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
        completed = subprocess.run(command, cwd=repository, env=step_env, capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, (step["name"], completed.stdout, completed.stderr)
        outputs[step.get("id", "")] = dict(line.split("=", 1) for line in output_file.read_text().splitlines())
        outcomes[step.get("id", "")] = "success"
        ran.append(step["name"])
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return ran, calls, repository.parent / "origin.git"


def test_the_workflow_opens_a_draft_pull_request_and_comments_on_the_issue(repository, httpserver, env):
    serve_work(httpserver, ESMO)
    ran, calls, origin = run_workflow(repository, issue_body(), env)
    assert "Open or update the draft pull request" in ran and "Comment on the issue" in ran
    files = _git("ls-tree", "-r", "--name-only", "suggestion/issue-12", cwd=origin).split()
    (entry,) = [name for name in files if name.startswith("entries/") and name.endswith(".yaml")]
    draft = yaml.safe_load(_git("show", f"suggestion/issue-12:{entry}", cwd=origin))
    assert draft["citation"]["doi"] == ESMO and draft["substances"] == ["psilocybin"]
    (created,) = [call for call in calls if call["args"] == ["pr", "create"]]
    assert f"`{entry}`" in created["body"] and "Suggested in #12." in created["body"]
    (comment,) = [call for call in calls if call["args"] == ["issue", "comment"]]
    assert comment["target"] == "12"
    assert comment["body"].startswith("A draft pull request is open: https://github.example/o/r/pull/1")
    assert "Substances: `psilocybin`" in comment["body"]

    # The issue is edited: the draft's branch exists, so nothing is drafted or pushed again and nobody's work is lost.
    ran, calls, _ = run_workflow(repository, issue_body(topics="mdma"), env)
    assert "Draft the entry" not in ran and "Open or update the draft pull request" not in ran
    assert not calls


def test_the_workflow_comments_why_when_nothing_can_be_drafted(repository, httpserver, env):
    ran, calls, origin = run_workflow(repository, issue_body(doi="https://pubmed.ncbi.nlm.nih.gov/123/"), env)
    assert "Open or update the draft pull request" not in ran
    assert "suggestion/issue-12" not in _git("branch", "--list", cwd=origin)
    (comment,) = [call for call in calls if call["args"] == ["issue", "comment"]]
    assert comment["body"].startswith("**kb could not draft an entry from this suggestion.**")
    assert "is not a DOI" in comment["body"] and "pull request is open" not in comment["body"]
