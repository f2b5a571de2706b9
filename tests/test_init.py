"""`kb init`: a knowledge base for another field that validates and builds at once, from the package defaults,
with any template it overrides winning; and the starter's GitHub files kept in step with this repository's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from doi_support import ESMO, run_kb, serve_work
from site_support import ROOT, text_of

from kb.defaults import ASSETS_DIR, THEME_DIR
from kb.init import STARTER_DIR

TITLE = "Food & Mood: what [studies] say"


def init(folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    return run_kb(["init", str(folder), *arguments], {}, folder.parent)


def finish_draft(path: Path) -> str:
    """Fill in what `kb new` leaves to a person, as a contributor would (the citation stays as drafted)."""
    entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry.update(
        headline="A group programme and anxiety in adults",
        design={"type": "randomized-controlled-trial"},
        sample={"n": 40, "population": "Adults with anxiety"},
        interventions=[{"substance": "group-programme"}],
        findings=[
            {"outcome": "Anxiety symptoms", "direction": "improved", "summary": "Anxiety fell more with the programme."}
        ],
        mechanisms=[],
        substances=["group-programme"],
        conditions=["anxiety"],
        summary={
            "background": "Why the study was done.",
            "overview": "What the study did.",
            "conclusions": "What the authors concluded.",
        },
        applications=[{"setting": "clinical-practice", "text": "How a clinic could use it."}],
        limitations=["A small sample."],
        evidence={"certainty": "low", "rationale": "One small trial."},
    )
    path.write_text(yaml.safe_dump(entry, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return entry["id"]


@pytest.fixture
def new_kb(tmp_path) -> Path:
    folder = tmp_path / "food-mood"
    completed = init(folder, "--title", TITLE)
    assert completed.returncode == 0, completed.stderr
    return folder


def test_a_new_knowledge_base_builds_with_an_entry_drafted_from_a_doi(new_kb, httpserver, env):
    serve_work(httpserver, ESMO)
    drafted = run_kb(["-C", str(new_kb), "new", ESMO, "--write"], env, new_kb.parent)
    assert drafted.returncode == 0, drafted.stderr
    (path,) = (new_kb / "entries").glob("[!_]*.yaml")
    entry_id = finish_draft(path)

    validated = run_kb(["-C", str(new_kb), "validate", "--strict"], env, new_kb.parent)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    built = run_kb(["-C", str(new_kb), "build"], env, new_kb.parent)
    assert built.returncode == 0, built.stdout + built.stderr

    study = (new_kb / "site" / "studies" / entry_id / "index.html").read_text(encoding="utf-8")
    assert "A group programme and anxiety in adults" in text_of(study)
    home = (new_kb / "site" / "index.html").read_text(encoding="utf-8")
    assert "Food &amp; Mood: what [studies] say" in home  # the title, as typed: no link, no markup
    assert "Interventions" in text_of(home)  # the starter's facet label, not this repository's
    assert (new_kb / "site" / "kb-assets" / "kb.css").read_bytes() == (ASSETS_DIR / "kb.css").read_bytes()
    assert not (new_kb / "templates").exists()  # the defaults stay in the package


def test_a_new_knowledge_base_without_entries_says_how_to_add_the_first(new_kb):
    assert sorted(path.name for path in (new_kb / "entries").iterdir()) == ["_template.yaml"]
    built = run_kb(["-C", str(new_kb), "build"], {}, new_kb.parent)
    assert built.returncode == 0, built.stdout + built.stderr
    home = text_of((new_kb / "site" / "index.html").read_text(encoding="utf-8"))
    assert "No studies yet" in home and "kb new 10.xxxx/xxxxx --write" in home
    for name in ("README.md", "CONTRIBUTING.md", ".gitignore", "requirements.txt", ".github/workflows/pr.yml"):
        assert (new_kb / name).is_file(), name
    assert "kb-evidence" in (new_kb / "requirements.txt").read_text(encoding="utf-8")
    assert (new_kb / "README.md").read_text(encoding="utf-8").startswith("# Food &amp; Mood: what \\[studies\\] say")


def test_init_refuses_a_folder_that_is_not_empty_and_force_replaces_nothing(tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "mkdocs.yml").write_text("site_name: Mine\n", encoding="utf-8")
    refused = init(folder, "--title", "Nutrition evidence")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "is not empty (mkdocs.yml)" in refused.stderr and "--force" in refused.stderr
    assert [path.name for path in folder.iterdir()] == ["mkdocs.yml"]

    forced = init(folder, "--title", "Nutrition evidence", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "left as they were: mkdocs.yml" in forced.stderr
    assert (folder / "mkdocs.yml").read_text(encoding="utf-8") == "site_name: Mine\n"
    assert (folder / "vocabulary.yml").is_file() and (folder / ".github" / "workflows" / "pr.yml").is_file()


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "--title is empty"),
        ("Evidence <script>alert(1)</script>", "may not contain < >"),
        ("Two\nlines", "control, line-break or invisible"),
        ("x" * 201, "keep it to 200"),
    ],
)
def test_init_refuses_a_title_the_site_could_not_show_as_typed(tmp_path, title, message):
    refused = init(tmp_path / "kb", "--title", title)
    assert refused.returncode == 1 and message in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "kb").exists()
    assert not [path for path in tmp_path.iterdir() if "kb-init" in path.name]  # no half-made folder


def test_templates_overridden_in_the_knowledge_base_win(new_kb, httpserver, env):
    serve_work(httpserver, ESMO)
    assert run_kb(["-C", str(new_kb), "new", ESMO, "--write"], env, new_kb.parent).returncode == 0
    (path,) = (new_kb / "entries").glob("[!_]*.yaml")
    entry_id = finish_draft(path)
    templates = new_kb / "templates"
    templates.mkdir()
    page = (ROOT / "kb" / "defaults" / "templates" / "study.md.j2").read_text(encoding="utf-8")
    (templates / "study.md.j2").write_text(page + "\nOWN-STUDY-TEMPLATE\n", encoding="utf-8")
    (templates / "overrides").mkdir()
    (templates / "overrides" / "partials").mkdir()
    theme = (THEME_DIR / "partials" / "kb-meta.html").read_text(encoding="utf-8")
    own = templates / "overrides" / "partials" / "kb-meta.html"
    own.write_text(theme + '\n<meta name="own-theme-file">\n', encoding="utf-8")
    (templates / "assets").mkdir()
    (templates / "assets" / "kb.css").write_text("/* OWN-STYLESHEET */\n", encoding="utf-8")

    built = run_kb(["-C", str(new_kb), "build"], env, new_kb.parent)
    assert built.returncode == 0, built.stdout + built.stderr
    study = (new_kb / "site" / "studies" / entry_id / "index.html").read_text(encoding="utf-8")
    assert "OWN-STUDY-TEMPLATE" in study and '<meta name="own-theme-file">' in study
    assert (new_kb / "site" / "kb-assets" / "kb.css").read_text(encoding="utf-8") == "/* OWN-STYLESHEET */\n"
    assert (new_kb / "site" / "kb-assets" / "cite.js").is_file()  # what is not overridden comes from kb

    shutil.rmtree(templates / "overrides")  # an override taken away: the package's file is back
    assert run_kb(["-C", str(new_kb), "build"], env, new_kb.parent).returncode == 0
    study = (new_kb / "site" / "studies" / entry_id / "index.html").read_text(encoding="utf-8")
    assert "own-theme-file" not in study and "OWN-STUDY-TEMPLATE" in study


@pytest.mark.parametrize("name", ["pages.yml", "pr.yml", "suggest-study.yml"])
def test_the_starter_workflows_are_this_repositorys(name):
    """A fix to a workflow here must reach new knowledge bases too (and the other way round)."""
    starter = STARTER_DIR / "dot-github" / "workflows" / name
    assert starter.read_bytes() == (ROOT / ".github" / "workflows" / name).read_bytes()


def test_the_starter_github_files_pass_actionlint(new_kb):
    actionlint = shutil.which("actionlint") or str(Path(ROOT / ".venv" / "bin" / "actionlint"))
    if not Path(actionlint).exists():
        pytest.skip("actionlint is not installed")
    workflows = sorted(str(path) for path in (new_kb / ".github" / "workflows").glob("*.yml"))
    completed = subprocess.run([actionlint, *workflows], capture_output=True, text=True, cwd=new_kb)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for form in (new_kb / ".github" / "ISSUE_TEMPLATE").glob("*.yml"):
        assert isinstance(yaml.safe_load(form.read_text(encoding="utf-8")), dict), form
