"""End-to-end tests for what a review found untested (issue 16): each one fails when its bug is planted.

- a rebuild over an existing site/ replaces it: pages and files the new build does not write disappear, and
  changed pages change;
- a Pagefind failure leaves the old site/ exactly as it was;
- a looked-up DOI record is reused from the cache for KB_CACHE_DAYS, then asked for again;
- `kb check-dois` flags a retraction that Crossref records through `updated-by` or through an `is-retracted-by`
  relation, writes it as a notice, and the built study page shows it;
- an internal error shows a traceback with KB_DEBUG=1, and one line without;
- no cell of studies.csv can run as a spreadsheet formula, whatever its text starts with.

The sites are real `kb build` runs on small copies of the knowledge base (the seed entry and its parent trial),
read back as HTML; the DOI commands ask the local Crossref of tests/doi_support.py, which answers with the real
recorded responses of tests/fixtures/crossref/ (with a retraction added where a test needs one).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from doi_support import JOR, fixture_message, make_kb, serve_message, serve_work
from doi_support import run_kb as run_kb_in
from site_support import EDGE_ID, FIXTURES, SEED_ID, article, copy_project, page, run_kb, text_of

from kb import cli
from kb.doi.crossref import citation_from_work
from kb.doi.fetch import Work
from kb.model import study_from_dict
from kb.project import Project
from kb.render.exports import csv_line

pytestmark = pytest.mark.slow

PARENT_ID = "mitchell-2021-mdma-ptsd"  # the seed's parent trial: the smallest knowledge base that validates
SEED_HEADLINE = "How MDMA-assisted therapy boosts self-compassion and eases PTSD"
NEW_HEADLINE = "A rewritten headline that only the second build knows"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list of what makes a spreadsheet cell a formula


def small_project(target: Path, *fixtures: str) -> Project:
    """A copy of the knowledge base with only the seed entry and its parent trial (plus the named test entries
    of tests/fixtures/site/): a full site in a few seconds."""
    root = copy_project(target, with_fixtures=False)
    for entry in (root / "entries").glob("*.yaml"):
        if entry.stem not in (SEED_ID, PARENT_ID) and not entry.name.startswith("_"):
            entry.unlink()
    for name in fixtures:
        shutil.copy(FIXTURES / f"{name}.yaml", root / "entries" / f"{name}.yaml")
    return Project(root)


def build(project: Project, **environment: str):
    completed = run_kb("-C", project.root, "build", **environment)
    return completed


def built(project: Project) -> None:
    completed = build(project)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Built the site into" in completed.stderr


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> hash of its bytes)."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def rewrite_headline(project: Project, entry_id: str, old: str, new: str) -> None:
    path = project.entries_dir / f"{entry_id}.yaml"
    text = path.read_text(encoding="utf-8")
    assert f"headline: {old}\n" in text
    path.write_text(text.replace(f"headline: {old}\n", f"headline: {new}\n"), encoding="utf-8")


def heading(project: Project, entry_id: str) -> str:
    content = article(page(project, f"studies/{entry_id}"))
    return text_of(re.search(r"<h1[^>]*>(.*?)</h1>", content, re.S).group(1))


def staging_left(project: Project) -> list[str]:
    return sorted(p.name for p in project.cache_dir.glob("site-*")) if project.cache_dir.is_dir() else []


# --- a rebuild replaces site/ ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """Built once; then a study removed, another's headline changed, stray files put into site/; built again."""
    project = small_project(tmp_path_factory.mktemp("rebuild") / "project", EDGE_ID)
    built(project)
    first = snapshot(project.site_dir)
    (project.site_dir / "left-over.html").write_text("<p>from an older build</p>", encoding="utf-8")
    stray = project.site_dir / "studies" / "a-study-removed-long-ago" / "index.html"
    stray.parent.mkdir()
    stray.write_text("<p>removed long ago</p>", encoding="utf-8")
    (project.entries_dir / f"{EDGE_ID}.yaml").unlink()
    rewrite_headline(project, SEED_ID, SEED_HEADLINE, NEW_HEADLINE)
    second = build(project)
    return project, first, second


def test_the_first_build_had_what_the_rebuild_must_remove_or_change(rebuilt):
    project, first, _ = rebuilt
    assert f"studies/{EDGE_ID}/index.html" in first and f"studies/{SEED_ID}/index.html" in first
    assert not any(name.startswith("left-over") for name in first)


def test_a_rebuild_removes_what_the_new_build_does_not_write(rebuilt):
    project, first, second = rebuilt
    assert second.returncode == 0, second.stdout + second.stderr
    site = project.site_dir
    assert not (site / "studies" / EDGE_ID).exists()  # its entry was removed
    assert not (site / "left-over.html").exists()
    assert not (site / "studies" / "a-study-removed-long-ago").exists()
    assert EDGE_ID not in article(page(project, "studies"))
    after = snapshot(site)
    assert {name for name in after if name.startswith("studies/") and name.endswith("/index.html")} == {
        "studies/index.html",
        f"studies/{SEED_ID}/index.html",
        f"studies/{PARENT_ID}/index.html",
    }
    assert staging_left(project) == []  # neither the new build's folder nor the old site is left in .cache/


def test_a_rebuild_replaces_pages_that_changed(rebuilt):
    project, first, second = rebuilt
    assert second.returncode == 0, second.stdout + second.stderr
    assert heading(project, SEED_ID).startswith(NEW_HEADLINE)
    assert SEED_HEADLINE not in page(project, f"studies/{SEED_ID}")
    assert NEW_HEADLINE in text_of(article(page(project, "studies")))
    after = snapshot(project.site_dir)
    assert after[f"studies/{SEED_ID}/index.html"] != first[f"studies/{SEED_ID}/index.html"]


# --- a Pagefind failure keeps the old site/ ---------------------------------------------------------------

FAILING_PAGEFIND = 'import sys\nprint("pagefind: simulated failure while indexing", file=sys.stderr)\nsys.exit(3)\n'


@pytest.fixture(scope="module")
def pagefind_failed(tmp_path_factory):
    """A built site; then mkdocs.yml switched to Pagefind, a headline changed, and `kb build` run with a
    `pagefind` module (kb runs Pagefind as `python -m pagefind`) that fails the way a crashing indexer does."""
    folder = tmp_path_factory.mktemp("pagefind")
    project = small_project(folder / "project")
    built(project)
    before = snapshot(project.site_dir)
    config = project.mkdocs_yml
    config.write_text(config.read_text(encoding="utf-8") + "\nextra:\n  kb_search: pagefind\n", encoding="utf-8")
    rewrite_headline(project, SEED_ID, SEED_HEADLINE, NEW_HEADLINE)
    fake = folder / "failing-pagefind" / "pagefind"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "__main__.py").write_text(FAILING_PAGEFIND, encoding="utf-8")
    python_path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    failed = build(project, PYTHONPATH=python_path)
    return project, before, failed


def test_a_pagefind_failure_fails_the_build_and_says_why(pagefind_failed):
    _, _, failed = pagefind_failed
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr
    assert "Pagefind could not index the site" in failed.stderr
    assert "simulated failure while indexing" in failed.stderr
    assert failed.stderr.rstrip().endswith("kb: the site build failed; site/ was not changed")


def test_a_pagefind_failure_leaves_the_old_site_exactly_as_it_was(pagefind_failed):
    project, before, _ = pagefind_failed
    assert snapshot(project.site_dir) == before
    assert heading(project, SEED_ID).startswith(SEED_HEADLINE)
    assert not (project.site_dir / "pagefind").exists()
    assert staging_left(project) == []


# --- the DOI cache expires after KB_CACHE_DAYS ------------------------------------------------------------


def age_cache(cache_dir: Path, days: float) -> None:
    """Make every cached record `days` older, as if it had been fetched that long before."""
    records = sorted((cache_dir / "works").rglob("*.json"))
    assert len(records) == 1, records  # the one DOI these tests look up
    stored = json.loads(records[0].read_text(encoding="utf-8"))
    stored["fetched"] -= days * 86400
    records[0].write_text(json.dumps(stored), encoding="utf-8")


def test_the_doi_cache_is_used_for_kb_cache_days_then_asked_again(httpserver, env, tmp_path):
    serve_work(httpserver, JOR)
    root = make_kb(tmp_path / "kb")
    cache = Path(env["KB_CACHE_DIR"])

    def new(days: str | None) -> str:
        settings = {**env, "KB_CACHE_DAYS": days} if days is not None else env
        looked_up = run_kb_in(["new", JOR], settings, root)
        assert looked_up.returncode == 0, looked_up.stderr
        return looked_up.stdout

    def asked() -> int:
        return sum(request.path == f"/works/{JOR}" for request, _ in httpserver.log)

    draft = new("2")
    assert asked() == 1 and "Growth hormone secretagogue" in draft
    assert new("2") == draft and asked() == 1  # fresh: from the cache
    age_cache(cache, 1.5)
    assert new("2") == draft and asked() == 1  # 1.5 days old, kept for 2
    age_cache(cache, 1)
    assert new("2") == draft and asked() == 2  # 2.5 days old: asked again, and the answer cached afresh
    assert new("2") == draft and asked() == 2
    age_cache(cache, 2.5)
    assert new("3") == draft and asked() == 2  # the setting decides: 2.5 days is fresh for 3 days ...
    assert new("2") == draft and asked() == 3  # ... and stale for 2
    age_cache(cache, 6)
    assert new(None) == draft and asked() == 3  # without the setting, a record is kept for 7 days
    age_cache(cache, 1.5)
    assert new(None) == draft and asked() == 4


# --- kb check-dois on a retracted study, through to the built page ----------------------------------------

NOTICE_DOI = "10.1002/jor.retraction.2024"
RETRACTIONS = {
    # how Crossmark records a retraction on the retracted work ...
    "updated-by": {
        "updated-by": [
            {
                "updated": {"date-parts": [[2024, 3, 5]], "date-time": "2024-03-05T00:00:00Z", "timestamp": 0},
                "DOI": NOTICE_DOI,
                "type": "retraction",
                "source": "publisher",
                "label": "Retraction",
            }
        ]
    },
    # ... and as a relation to the retraction notice
    "is-retracted-by": {
        "relation": {"is-retracted-by": [{"id-type": "doi", "id": NOTICE_DOI, "asserted-by": "object"}]}
    },
}
NOTICE_LINES = {
    "updated-by": f"notices: Crossref records a retraction of this work ({NOTICE_DOI}, 2024-03-05)",
    "is-retracted-by": f"notices: Crossref relates it: is-retracted-by {NOTICE_DOI} ({NOTICE_DOI})",
}


def study_citing(project: Project, doi: str, entry_id: str) -> Path:
    """A complete entry (the seed's summary) whose title and citation are Crossref's record of `doi`."""
    work = Work(doi, "crossref", fixture_message(doi))
    cited = citation_from_work(work)
    data = yaml.safe_load((project.entries_dir / f"{SEED_ID}.yaml").read_text(encoding="utf-8"))
    data.update(id=entry_id, title=cited.title, citation=cited.citation)
    for key in ("parent", "registration"):  # a study of its own, not a report of the seed's trial
        data["design"].pop(key, None)
    data.pop("related", None)
    path = project.entries_dir / f"{entry_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    return path


@pytest.mark.parametrize("relation", list(RETRACTIONS))
def test_check_dois_flags_a_retraction_and_the_study_page_shows_it(httpserver, env, tmp_path, relation):
    project = small_project(tmp_path / "project")
    entry_id = "lieber-1997-growth-hormone"
    path = study_citing(project, JOR, entry_id)
    entry = f"entries/{entry_id}.yaml"
    doi_line = next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith("doi:"))
    serve_message(httpserver, JOR, {**fixture_message(JOR), **RETRACTIONS[relation]})

    proposed = run_kb_in(["check-dois", entry], env, project.root)
    assert proposed.returncode == 1, proposed.stdout + proposed.stderr
    assert proposed.stdout.splitlines()[0] == f"{entry}:{doi_line}: {NOTICE_LINES[relation]}"  # no mismatch first
    assert "0 mismatch(es), 1 notice(s)" in proposed.stderr
    assert "notices" not in yaml.safe_load(path.read_text())  # only proposed

    written = run_kb_in(["check-dois", "--write-notices", entry], env, project.root)
    assert written.returncode == 1, written.stdout + written.stderr
    [notice] = yaml.safe_load(path.read_text())["notices"]
    assert notice["type"] == "retraction" and notice["doi"] == NOTICE_DOI
    again = run_kb_in(["check-dois", entry], env, project.root)
    assert again.returncode == 0 and again.stdout == "", again.stdout + again.stderr

    built(project)
    content = article(page(project, f"studies/{entry_id}"))
    banner = re.search(r'<div class="admonition danger kb-notice" role="alert">(.*?)</div>', content, re.S)
    assert banner, content[:2000]
    assert text_of(banner.group(1)).startswith("Retracted")
    assert f'href="https://doi.org/{NOTICE_DOI}"' in banner.group(1)
    assert content.index("kb-notice") < content.index("<h1")  # read before the summary
    assert "kb-notice" not in article(page(project, f"studies/{SEED_ID}"))
    table = article(page(project, "studies"))
    row = re.search(rf"<tr [^>]*>(?:(?!</tr>).)*studies/{entry_id}/(?:(?!</tr>).)*</tr>", table, re.S).group(0)
    assert '<strong class="kb-flag">Retracted</strong>' in row


# --- KB_DEBUG ------------------------------------------------------------------------------------------------


def _internal_error(*arguments, **keywords):
    raise ZeroDivisionError("a bug in kb, not in the entries")


@pytest.mark.parametrize("debug", ["1", None, "0"])
def test_an_internal_error_shows_a_traceback_only_with_kb_debug(monkeypatch, capsys, tmp_path, debug):
    """`kb validate` meets a bug (a stage that raises): KB_DEBUG=1 shows where, otherwise one line says what."""
    root = make_kb(tmp_path / "kb")
    monkeypatch.setattr(cli, "validate_entries", _internal_error)
    if debug is None:
        monkeypatch.delenv("KB_DEBUG", raising=False)
    else:
        monkeypatch.setenv("KB_DEBUG", debug)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["-C", str(root), "validate"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    last = "kb: internal error: ZeroDivisionError: a bug in kb, not in the entries (set KB_DEBUG=1 for details)"
    assert err.splitlines()[-1] == last
    if debug in (None, "0"):  # KB_DEBUG=0 means off
        assert err.splitlines() == [last]
    else:
        assert err.startswith("Traceback (most recent call last):")
        assert "in _internal_error" in err and 'raise ZeroDivisionError("a bug in kb, not in the entries")' in err
        assert "ZeroDivisionError: a bug in kb, not in the entries\n" in err


# --- studies.csv and spreadsheet formulas ---------------------------------------------------------------------


def test_no_csv_cell_starts_like_a_formula_even_with_control_characters():
    """CR cannot reach an entry (validation refuses it), so this builds the study directly: every text that starts
    with one of OWASP's formula characters is kept, behind an apostrophe, and no cell starts with one."""
    texts = {start: f'{start}HYPERLINK("https://example.org","{ord(start)}")' for start in "=+-@"}
    texts |= {"\t": "\t=1+1", "\r": "\r@SUM(A1:A9)"}
    study = study_from_dict(
        {
            "id": "x-2025-y",
            "title": texts["="],
            "headline": texts["+"],
            "citation": {
                "type": "article",
                "authors": [{"family": texts["-"], "given": "Ann"}],
                "year": 2025,
                "journal": texts["@"],
                "volume": texts["\t"],
                "issue": texts["\r"],
            },
            "design": {"type": "randomized-controlled-trial"},
            "findings": [{"outcome": "-3 points", "direction": "improved", "summary": "s"}],
            "substances": ["mdma"],
            "conditions": ["ptsd"],
            "summary": {"background": "b", "overview": "o", "conclusions": "c"},
            "evidence": {"certainty": "low", "rationale": "r"},
            "record": {"added": "2026-01-01"},
        }
    )
    [row] = list(csv.reader(io.StringIO(csv_line(study))))
    assert not [cell for cell in row if cell.startswith(FORMULA_START)], row
    assert '\'=HYPERLINK("https://example.org","61")' in row  # title
    assert '\'+HYPERLINK("https://example.org","43")' in row  # headline
    assert '\'-HYPERLINK("https://example.org","45"), Ann' in row  # authors
    assert '\'@HYPERLINK("https://example.org","64")' in row  # journal
    assert "'=1+1" in row and "'@SUM(A1:A9)" in row  # volume and issue: the control character is only spacing
    assert "'-3 points" in row  # the main outcome
