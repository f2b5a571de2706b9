"""Focused tests of kb/build.py, in process, for mutation testing (`make mutation`, benchmarks/MUTATION.md).

kb/build.py is tested end to end elsewhere (`kb build` and `kb serve` run as processes, whole-site builds marked
`slow`), which mutmut cannot follow. These call its functions directly, on a copy of the knowledge base cut down to
three entries. The ones that run a whole generation are marked `mutation_scope`, so that under mutmut they run for
kb.build's mutants only (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from site_support import copy_project, override_template

from kb import build
from kb.atomic import WriteError
from kb.build import (
    DEFAULT_SITE_NAME,
    SITE_STAGING_PREFIX,
    Generation,
    Memory,
    Regenerator,
    address_problem,
    build_lock,
    build_site,
    generate,
    mkdocs_messages,
    regenerate,
    search_backend,
    site_name,
    watched_paths,
)
from kb.defaults import DEFAULTS_DIR
from kb.project import Project
from kb.render import WriteReport

whole_generation = pytest.mark.mutation_scope("kb.build.")
KEPT = ["moreno-2006-psilocybin-ocd", "peck-2023-psilocybin-anorexia", "wolfson-2020-mdma-anxiety-illness"]


@pytest.fixture(scope="module")
def small_copy(tmp_path_factory) -> Path:
    """The knowledge base with three entries that name no other (no `related`, no `parent`)."""
    root = copy_project(tmp_path_factory.mktemp("small") / "kb", with_fixtures=False)
    for path in (root / "entries").glob("*.yaml"):
        if path.stem not in KEPT and not path.name.startswith("_"):
            path.unlink()
    return root


@pytest.fixture
def small(small_copy, tmp_path) -> Project:
    root = tmp_path / "kb"
    shutil.copytree(small_copy, root, symlinks=True)
    return Project(root)


def set_mkdocs_yml(project: Project, text: str) -> None:
    project.mkdocs_yml.write_text(text, encoding="utf-8")


# --- generate -----------------------------------------------------------------------------------------------


@whole_generation
def test_a_generation_checks_every_entry_and_writes_their_pages_and_the_theme(small):
    started = time.perf_counter()
    generation = generate(small)
    took = time.perf_counter() - started
    assert generation.ok and not generation.partial
    assert generation.problems == []
    assert generation.studies == 3
    assert 0 < generation.seconds <= took  # how long it ran (kills x__generate__mutmut_75)
    studies = small.docs_dir / "studies"
    assert sorted(path.stem for path in studies.glob("*.md") if path.stem != "index") == KEPT
    assert (small.theme_dir / "main.html").is_file()  # assemble_theme: the theme folder mkdocs.yml names


@whole_generation
def test_an_entry_error_stops_the_generation_before_anything_is_written(small):
    entry = small.entries_dir / f"{KEPT[1]}.yaml"
    entry.write_text(entry.read_text(encoding="utf-8").replace("design:\n", "design: [\n", 1), encoding="utf-8")
    generation = generate(small)
    assert not generation.ok and not generation.partial
    assert generation.studies == 0 and generation.report is None
    assert [problem.path for problem in generation.problems] == [build.display_path(entry)]
    assert generation.problems[0].severity == "error"
    assert not (small.docs_dir / "studies").exists()


@whole_generation
def test_warnings_do_not_stop_a_generation_and_are_reported(small):
    entry = small.entries_dir / f"{KEPT[0]}.yaml"
    entry.write_text(entry.read_text(encoding="utf-8") + "\nunknown_key: 1\n", encoding="utf-8")
    generation = generate(small)
    assert not generation.ok
    assert "unknown_key" in generation.problems[0].message


@whole_generation
def test_a_link_out_of_the_knowledge_base_stops_the_generation(small, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the site", encoding="utf-8")
    (small.docs_dir / "secret.md").symlink_to(outside)
    generation = generate(small)
    assert not generation.ok
    assert len(generation.problems) == 1
    assert "outside the knowledge base" in generation.problems[0].message
    assert not (small.docs_dir / "studies").exists()
    assert not small.theme_dir.exists()  # stopped before the theme was assembled


@whole_generation
def test_a_broken_vocabulary_is_one_problem(small):
    small.vocabulary_path.write_text("facets: [\n", encoding="utf-8")
    generation = generate(small)
    assert not generation.ok and not generation.partial
    assert [problem.path for problem in generation.problems] == [build.display_path(small.vocabulary_path)]
    assert 0 < generation.seconds < 60  # how long the run took, even when it stopped


@whole_generation
def test_a_stopped_generation_says_how_long_it_ran(small):
    """_generate's `seconds` on the early return after entry errors: kills x__generate__mutmut_30, _32, _33."""
    entry = small.entries_dir / f"{KEPT[1]}.yaml"
    entry.write_text(entry.read_text(encoding="utf-8").replace("design:\n", "design: [\n", 1), encoding="utf-8")
    generation = generate(small)
    assert not generation.ok
    assert 0 < generation.seconds < 60


@whole_generation
def test_the_feed_is_titled_with_the_site_name_from_mkdocs_yml(small):
    """_generate passes site_name(project) to the render step: kills x__generate__mutmut_49."""
    assert generate(small).ok
    feed = (small.docs_dir / "feed.xml").read_text(encoding="utf-8")
    assert "<title>Psychedelic Evidence Summaries: new studies</title>" in feed
    assert "<author><name>Psychedelic Evidence Summaries</name></author>" in feed


@whole_generation
def test_a_docs_folder_that_cannot_be_written_while_rendering_is_a_write_error_naming_it(small, monkeypatch):
    """_generate renders inside writing(project.docs_dir): kills x__generate__mutmut_41."""

    def refused(*arguments):
        raise PermissionError(errno.EACCES, "Permission denied", str(small.docs_dir / "studies"))

    monkeypatch.setattr(build, "render_site", refused)
    with pytest.raises(WriteError) as raised:
        generate(small)
    assert raised.value.folder == small.docs_dir


@whole_generation
def test_a_template_error_while_rendering_is_a_partial_generation(small):
    template = override_template(small.root, "study.md.j2")
    template.write_text(template.read_text().replace("{{ page.venue|oneline }}", "{{ page.venue.missing }}"))
    generation = generate(small)
    assert not generation.ok and generation.partial
    assert len(generation.problems) == 1
    assert "template error" in generation.problems[0].message
    assert generation.problems[0].path.endswith("study.md.j2")
    assert 0 < generation.seconds < 60  # how long it ran before the error (kills x__generate__mutmut_63)


@whole_generation
def test_a_memory_makes_the_next_generation_reuse_what_did_not_change(small, monkeypatch):
    memory = Memory()
    assert generate(small, memory=memory).ok
    checked = []
    real = build.validate_entries
    monkeypatch.setattr(build, "validate_entries", lambda *a, **k: checked.append(k["memory"]) or real(*a, **k))
    assert generate(small, memory=memory).ok
    assert checked == [memory.checks]
    generate(small)
    assert checked[-1] is None


@whole_generation
def test_progress_wraps_the_entries_and_the_studies(small, monkeypatch):
    monkeypatch.setenv("KB_JOBS", "1")  # rendered in this process, where the bar can count
    seen, counting = counting_progress()
    assert generate(small, progress=counting("entries"), render_progress=counting("studies")).ok
    assert seen["entries"] == 3
    assert seen["studies"] > 3  # one render job per study page and per term page


# --- build_site, with a stand-in for the site engine ----------------------------------------------------------


def stand_in_engine(returncode: int = 0, stdout: str = "built\n", stderr: str = "", seconds: float = 0.0):
    """A stand-in for `run_engine` that takes at least `seconds` and records what it was asked to do."""
    calls = []

    def run_engine(engine, project, site_dir):
        calls.append((engine, project, site_dir))
        time.sleep(seconds)
        (site_dir / "index.html").write_text("<p>new site</p>", encoding="utf-8")
        return subprocess.CompletedProcess([], returncode, stdout, stderr)

    return run_engine, calls


def counting_progress():
    """Progress wrappers that count what passes through them, by kind ("entries", "studies")."""
    seen = {"entries": 0, "studies": 0}

    def counting(kind):
        def wrap(items):
            for item in items:
                seen[kind] += 1
                yield item

        return wrap

    return seen, counting


def old_site(project: Project) -> Path:
    project.site_dir.mkdir()
    (project.site_dir / "index.html").write_text("<p>old site</p>", encoding="utf-8")
    (project.site_dir / "gone.html").write_text("only in the old site", encoding="utf-8")
    return project.site_dir


@whole_generation
def test_a_build_replaces_the_old_site_whole_and_leaves_no_working_folder(small, monkeypatch):
    run_engine, calls = stand_in_engine(stdout="INFO - done\n", stderr="WARNING - careful\n")
    monkeypatch.setattr(build, "run_engine", run_engine)
    site = old_site(small)
    result = build_site(small)
    assert result.built and result.generation.ok
    assert result.mkdocs_output == "INFO - done\nWARNING - careful\n"
    assert result.mkdocs_seconds >= 0
    assert sorted(path.name for path in site.iterdir()) == ["index.html"]
    assert (site / "index.html").read_text() == "<p>new site</p>"
    [(_, _, staging)] = calls
    assert staging.parent == small.cache_dir and staging.name.startswith(f"{SITE_STAGING_PREFIX}{os.getpid()}-")
    assert not staging.exists()
    assert not [path for path in small.cache_dir.iterdir() if path.name.startswith(SITE_STAGING_PREFIX)]


@whole_generation
def test_a_failed_engine_leaves_the_old_site_and_returns_its_output(small, monkeypatch):
    run_engine, calls = stand_in_engine(returncode=1, stdout="", stderr="ERROR - Aborted with 1 warning\n")
    monkeypatch.setattr(build, "run_engine", run_engine)
    site = old_site(small)
    result = build_site(small)
    assert not result.built and result.generation.ok
    assert result.mkdocs_output == "ERROR - Aborted with 1 warning\n"
    assert (site / "index.html").read_text() == "<p>old site</p>" and (site / "gone.html").exists()
    assert not calls[0][2].exists()


@whole_generation
def test_a_failed_generation_runs_no_engine(small, monkeypatch):
    run_engine, calls = stand_in_engine()
    monkeypatch.setattr(build, "run_engine", run_engine)
    small.vocabulary_path.write_text("facets: [\n", encoding="utf-8")
    result = build_site(small)
    assert not result.built and not result.generation.ok
    assert calls == []


@whole_generation
def test_a_pagefind_failure_leaves_the_old_site(small, monkeypatch):
    run_engine, _ = stand_in_engine(stdout="built\n")
    monkeypatch.setattr(build, "run_engine", run_engine)
    indexed = []

    def failing_pagefind(site):
        indexed.append(site)
        return subprocess.CompletedProcess([], 1, "", "error: Pagefind could not index the site\n")

    monkeypatch.setattr(build, "run_pagefind", failing_pagefind)
    site = old_site(small)
    set_mkdocs_yml(small, small.mkdocs_yml.read_text(encoding="utf-8") + "\nextra:\n  kb_search: pagefind\n")
    result = build_site(small)
    assert not result.built
    assert result.mkdocs_output == "built\nerror: Pagefind could not index the site\n"
    assert (site / "index.html").read_text() == "<p>old site</p>"
    assert len(indexed) == 1


@whole_generation
def test_a_pagefind_site_is_indexed_and_a_material_one_is_not(small, monkeypatch):
    run_engine, _ = stand_in_engine()
    monkeypatch.setattr(build, "run_engine", run_engine)
    indexed = []
    monkeypatch.setattr(build, "run_pagefind", lambda site: indexed.append(site) or subprocess.CompletedProcess([], 0))
    assert build_site(small).built and indexed == []
    set_mkdocs_yml(small, small.mkdocs_yml.read_text(encoding="utf-8") + "\nextra:\n  kb_search: pagefind\n")
    assert build_site(small).built and len(indexed) == 1


def test_without_mkdocs_yml_nothing_is_built(small, monkeypatch):
    run_engine, calls = stand_in_engine()
    monkeypatch.setattr(build, "run_engine", run_engine)
    small.mkdocs_yml.unlink()
    result = build_site(small)
    assert not result.built and calls == []
    [problem] = result.generation.problems
    assert (problem.line, problem.col, problem.severity) == (1, 1, "error")
    assert problem.message == "no mkdocs.yml in the knowledge base folder"
    assert problem.path == build.display_path(small.mkdocs_yml)


@whole_generation
def test_working_folders_of_killed_builds_are_removed(small, monkeypatch):
    run_engine, _ = stand_in_engine()
    monkeypatch.setattr(build, "run_engine", run_engine)
    small.cache_dir.mkdir(exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = small.cache_dir / f"{SITE_STAGING_PREFIX}{dead.pid}-abc"
    other_run = subprocess.Popen(["sleep", "60"])  # a build still going on: a process of this test's own
    running = small.cache_dir / f"{SITE_STAGING_PREFIX}{other_run.pid}-abc"
    abandoned.mkdir()
    running.mkdir()
    try:
        assert build_site(small).built
    finally:
        other_run.kill()
        other_run.wait()
    assert not abandoned.exists() and running.exists()


# --- how MkDocs' and Pagefind's failures are read ------------------------------------------------------------


def test_a_full_disk_in_the_working_folder_is_a_write_error_naming_it(small):
    cache = small.cache_dir
    cache.mkdir(exist_ok=True)
    traceback = f"Traceback...\nOSError: [Errno 28] No space left on device: '{cache}/site-1-x/index.html'\n"
    with pytest.raises(WriteError) as raised:
        build._raise_disk_error(traceback, cache)
    assert raised.value.folder == cache
    assert "no space left on the device" in str(raised.value)
    with pytest.raises(WriteError, match="read-only file system"):
        build._raise_disk_error("Error: Read-only file system (os error 30)\n", cache)
    with pytest.raises(WriteError, match="permission denied"):
        build._raise_disk_error(f"PermissionError: [Errno 13] Permission denied: '{cache}/a' -> '{cache}/b'", cache)


def test_other_failures_are_left_for_the_output_to_explain(small, tmp_path):
    cache = small.cache_dir
    cache.mkdir(exist_ok=True)
    build._raise_disk_error("ERROR - Config value 'nav': a page is missing\n", cache)
    build._raise_disk_error(f"FileNotFoundError: [Errno 2] No such file or directory: '{cache}/x'\n", cache)
    build._raise_disk_error(f"OSError: [Errno 28] No space left on device: '{tmp_path}/elsewhere'\n", cache)


def test_the_swap_puts_the_old_site_back_when_the_new_one_cannot_be_moved(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("old", encoding="utf-8")
    with pytest.raises(FileNotFoundError):
        build._swap_into_place(tmp_path / "missing-staging", site)
    assert (site / "index.html").read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "index.html").write_text("new", encoding="utf-8")
    build._swap_into_place(staging, site)
    assert (site / "index.html").read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    build._swap_into_place(fresh, tmp_path / "first-site")
    assert (tmp_path / "first-site").is_dir() and not fresh.exists()


def test_mkdocs_messages_are_its_warnings_and_errors_without_the_info_lines():
    output = "INFO    -  Cleaning site directory\nWARNING -  A link is broken\n\nERROR   -  Aborted\nINFO    -  Done"
    assert mkdocs_messages(output) == ["WARNING -  A link is broken", "ERROR   -  Aborted"]
    chatter = "\n".join(f"INFO    -  line {number}" for number in range(30))
    assert mkdocs_messages(chatter) == [f"INFO    -  line {number}" for number in range(10, 30)]


# --- mkdocs.yml ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("site_name: Psychedelic therapy evidence\n", "Psychedelic therapy evidence"),
        ("site_name: Trials\nsite_url: !ENV [KB_SITE_URL, 'http://x']\nx: !!python/name:a.b\n", "Trials"),
        ("site_name: '  '\n", DEFAULT_SITE_NAME),
        ("site_name: [a, b]\n", DEFAULT_SITE_NAME),
        ("- just a list\n", DEFAULT_SITE_NAME),
        ("site_name: [unclosed\n", DEFAULT_SITE_NAME),
    ],
)
def test_the_site_name_is_read_from_mkdocs_yml_or_defaults(small, text, name):
    set_mkdocs_yml(small, text)
    assert site_name(small) == name


def test_a_missing_mkdocs_yml_gives_the_default_site_name(small):
    small.mkdocs_yml.unlink()
    assert site_name(small) == DEFAULT_SITE_NAME
    assert search_backend(small) == "material"


@pytest.mark.parametrize(
    ("extra", "backend"),
    [
        ("extra:\n  kb_search: pagefind\n", "pagefind"),
        ("extra:\n  kb_search: material\n", "material"),
        ("extra:\n  other: pagefind\n", "material"),
        ("extra: pagefind\n", "material"),
        ("", "material"),
    ],
)
def test_the_search_backend_is_pagefind_only_when_mkdocs_yml_says_so(small, extra, backend):
    set_mkdocs_yml(small, "site_name: Trials\n" + extra)
    assert search_backend(small) == backend


# --- one run at a time ---------------------------------------------------------------------------------------


def test_a_second_run_waits_for_the_lock_and_says_what_it_waits_for(small, capsys):
    entered = threading.Event()

    def second_run():
        with build_lock(small):
            entered.set()

    with build_lock(small):
        assert small.build_lock.is_file()
        waiting = threading.Thread(target=second_run)
        waiting.start()
        time.sleep(0.3)
        assert not entered.is_set()
    waiting.join(timeout=10)
    assert entered.is_set()
    message = capsys.readouterr().err
    assert message.startswith("kb: another kb build or kb serve is writing this knowledge base; waiting")
    assert build.display_path(small.build_lock) in message


def test_a_free_lock_is_taken_without_a_word(small, capsys):
    with build_lock(small):
        pass
    with build_lock(small):
        pass
    assert capsys.readouterr().err == ""


# --- kb serve ------------------------------------------------------------------------------------------------


def test_serve_watches_the_entries_templates_vocabulary_and_defaults(small):
    assert watched_paths(small) == [small.entries_dir, small.templates_dir, small.vocabulary_path, DEFAULTS_DIR]


def test_only_entry_template_and_vocabulary_changes_are_relevant(small):
    regenerator = Regenerator(small, lambda generation: None)
    relevant = regenerator._is_relevant
    assert relevant(str(small.entries_dir / "new.yaml"))
    assert relevant(str(small.templates_dir / "overrides" / "main.html"))
    assert relevant(str(small.vocabulary_path))
    assert relevant(str(DEFAULTS_DIR / "templates" / "study.md.j2"))
    for ignored in (".new.yaml.swp", "new.yaml~", "new.yaml.swp", "new.yaml.tmp", ".hidden.yaml"):
        assert not relevant(str(small.entries_dir / ignored)), ignored
    assert not relevant(str(small.mkdocs_yml))
    assert not relevant(str(small.docs_dir / "studies" / "x.md"))
    assert not relevant(str(small.root / "vocabulary.yml.bak"))


@whole_generation
def test_a_burst_of_changes_is_one_regeneration_reported_once(small, monkeypatch):
    monkeypatch.setattr(build, "WATCH_DEBOUNCE_SECONDS", 0.2)
    reports = []
    done = threading.Event()
    regenerator = Regenerator(small, lambda generation: reports.append(generation) or done.set())
    try:
        for name in ("a.yaml", "b.yaml", "c.yaml"):
            regenerator.changed(str(small.entries_dir / name))
        regenerator.changed(str(small.entries_dir / "x.yaml~"))  # not relevant
        assert done.wait(timeout=60)
        time.sleep(0.5)
        assert len(reports) == 1 and reports[0].ok and reports[0].studies == 3
    finally:
        regenerator.stop()


@whole_generation
def test_warming_fills_the_memory_without_reporting(small):
    reports = []
    regenerator = Regenerator(small, reports.append)
    try:
        regenerator.warm()
        deadline = time.monotonic() + 60
        while not (small.docs_dir / "studies").is_dir() and time.monotonic() < deadline:
            time.sleep(0.05)
        regenerator._ask(report=True)
        while not reports and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(reports) == 1 and reports[0].ok
    finally:
        regenerator.stop()
    assert not regenerator._is_large()


def test_a_stopped_regenerator_takes_no_more_changes(small):
    reports = []
    regenerator = Regenerator(small, reports.append)
    regenerator.stop()
    regenerator.changed(str(small.entries_dir / "a.yaml"))
    regenerator._ask(report=True)
    time.sleep(0.3)
    assert reports == [] and regenerator._worker is None


def test_a_folder_that_cannot_be_written_is_one_problem_and_the_preview_goes_on(small, monkeypatch):
    def unwritable(project, memory=None):
        raise WriteError(project.docs_dir, "permission denied", "make it writable (chmod -R u+w {path})")

    monkeypatch.setattr(build, "generate", unwritable)
    generation = regenerate(small)
    assert generation.partial and not generation.ok
    [problem] = generation.problems
    assert problem.path == build.display_path(small.docs_dir)
    assert (problem.line, problem.col, problem.severity) == (1, 1, "error")
    assert problem.message.startswith(f"cannot write to {build.display_path(small.docs_dir)}/: permission denied")


def test_a_regeneration_child_that_is_gone_is_a_problem_and_the_next_change_starts_another(small, monkeypatch):
    class GoneChild:
        stopped = False

        def __init__(self, project):
            pass

        def regenerate(self):
            return None

        def stop(self):
            GoneChild.stopped = True

    monkeypatch.setattr(build, "_RegenerationChild", GoneChild)
    regenerator = Regenerator(small, lambda generation: None)
    generation = regenerator._generate_in_child()
    assert [problem.message for problem in generation.problems] == ["regeneration stopped before it finished"]
    assert generation.problems[0].path == build.display_path(small.entries_dir)
    assert regenerator._child is None
    regenerator.stop()
    generation = regenerator._generate_in_child()
    assert [problem.message for problem in generation.problems] == ["kb serve is stopping; nothing was regenerated"]


def test_a_large_knowledge_base_counts_its_entries(small, monkeypatch):
    regenerator = Regenerator(small, lambda generation: None)
    monkeypatch.setattr(build, "job_count", lambda: 2)
    monkeypatch.setattr(build, "CHILD_REGENERATION_ENTRIES", 3)
    assert regenerator._is_large()
    monkeypatch.setattr(build, "CHILD_REGENERATION_ENTRIES", 4)
    assert not regenerator._is_large()
    monkeypatch.setattr(build, "CHILD_REGENERATION_ENTRIES", 3)
    monkeypatch.setattr(build, "job_count", lambda: 1)
    assert not regenerator._is_large()


class ChangeRecorder:
    """Stands in for the Regenerator that `build.watch` tells about each changed file."""

    def __init__(self):
        self.paths: list[Path] = []

    def changed(self, path):
        self.paths.append(Path(path))


def test_the_watcher_passes_each_changed_file_on(small):
    recorder = ChangeRecorder()
    changed = recorder.paths
    observer = build.watch(small, recorder)
    try:
        target = small.entries_dir / "new.yaml"
        target.write_text("id: x\n", encoding="utf-8")
        small.vocabulary_path.write_text(small.vocabulary_path.read_text(encoding="utf-8"), encoding="utf-8")
        (small.entries_dir / "folder").mkdir()
        deadline = time.monotonic() + 10
        while not ({target, small.vocabulary_path} <= set(changed)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        observer.stop()
        observer.join(timeout=5)
    assert {target, small.vocabulary_path} <= set(changed)
    assert small.entries_dir / "folder" not in changed


# --- the address to serve on ---------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["8000", ":8000", "localhost", "localhost:", "localhost:port", "127.0.0.1:65536"])
def test_an_address_that_is_not_host_and_port_is_refused(address):
    assert address_problem(address) == f"{address!r} is not HOST:PORT; use e.g. --dev-addr 127.0.0.1:8000"


def test_a_busy_port_is_explained():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        problem = address_problem(f"127.0.0.1:{port}")
    assert problem == (
        f"cannot serve on 127.0.0.1:{port}: the port is in use (another kb serve?); stop what uses it or choose "
        f"another port, e.g. kb serve --dev-addr 127.0.0.1:8001"
    )


def test_a_free_port_and_a_host_name_are_accepted():
    port = build._free_port()
    assert 0 < port <= 65535
    assert address_problem(f"127.0.0.1:{port}") is None
    assert address_problem(f"localhost:{port}") is None
    assert build._split_address("[::1]:8000") == ("::1", "8000")


def test_an_address_this_machine_does_not_have_is_explained():
    problem = address_problem("192.0.2.1:8000")  # TEST-NET-1: never a local address
    assert problem == (
        "cannot serve on 192.0.2.1:8000: no such address on this machine; use 127.0.0.1 (this machine only) or "
        "0.0.0.0 (every address)"
    )


def test_each_listening_error_has_its_advice():
    another = "choose another port, e.g. kb serve --dev-addr h:8001"
    for number in (errno.EACCES, errno.EPERM):
        advice = build._listen_advice(OSError(number, os.strerror(number)), "h")
        assert advice == f"permission denied (ports below 1024 need privileges); {another}"
    assert build._listen_advice(socket.gaierror(-2, "Name or service not known"), "h").startswith("no such address")
    assert build._listen_advice(OSError(errno.ENOBUFS, "No buffer space"), "h") == f"No buffer space; {another}"
    assert build._listen_advice(OSError("odd"), "h") == f"odd; {another}"


# --- stopping ------------------------------------------------------------------------------------------------


def test_waiting_for_the_engine_returns_its_exit_code_after_several_checks():
    child = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(1.2); sys.exit(3)"])
    assert build._wait_interruptibly(child) == 3


def test_stopping_the_engine_stops_its_whole_process_group():
    script = "import subprocess, time; print(subprocess.Popen(['sleep', '60']).pid, flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    build._stop_process_group(child)
    assert child.returncode == -signal.SIGTERM
    child.stdout.close()
    time.sleep(0.2)
    stat = Path(f"/proc/{grandchild}/stat")
    assert not stat.exists() or stat.read_text().split(") ", 1)[1].startswith("Z")  # gone, or dead and unreaped


def test_a_child_that_ignores_sigterm_is_killed():
    child = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"],
        start_new_session=True,
    )
    time.sleep(0.5)
    started = time.monotonic()
    build.STOP_PATIENCE_SECONDS, saved = 1, build.STOP_PATIENCE_SECONDS
    try:
        build._stop_process_group(child)
    finally:
        build.STOP_PATIENCE_SECONDS = saved
    assert child.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 30


def test_signals_are_ignored_during_the_clean_up_and_restored_after():
    saved = {signal.SIGINT: signal.getsignal(signal.SIGINT), signal.SIGTERM: None}
    with build._signals_ignored(saved):
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) == saved[signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with pytest.raises(KeyboardInterrupt):
        build._raise_interrupt(signal.SIGTERM, None)


def test_generation_is_ok_only_with_a_report():
    assert not Generation().ok
    assert not Generation(partial=True).ok


# --- kb serve, in this process, with a stand-in for the engine's live server ----------------------------------


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:  # not listening yet
        return 0, b""


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@whole_generation
def test_serve_proxies_the_engine_shows_a_broken_edit_and_stops_everything_on_sigterm(small, monkeypatch, tmp_path):
    """The whole of `serve` in this process: the engine (a plain HTTP server here) behind kb's preview server, an
    edit regenerated and its problem shown on `/__kb/status`, and SIGTERM ending the engine's process group, the
    preview server and the watcher, with the signal handlers put back."""
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "index.html").write_text("<html><body>the engine's page</body></html>", encoding="utf-8")
    engines_started = []

    engine_pid = tmp_path / "engine.pid"  # so that the test can end the engine if serve fails to

    @contextlib.contextmanager
    def serving(engine, project, dev_addr):
        host, port = dev_addr.rsplit(":", 1)
        engines_started.append(dev_addr)
        script = (
            f"import os, runpy, sys; open({str(engine_pid)!r}, 'w').write(str(os.getpid())); "
            f"sys.argv = ['http.server', {port!r}, '--bind', {host!r}, '--directory', {str(pages)!r}]; "
            "runpy.run_module('http.server', run_name='__main__')"
        )
        yield [sys.executable, "-c", script]

    monkeypatch.setattr(build.engines, "serving", serving)
    monkeypatch.setattr(build, "WATCH_DEBOUNCE_SECONDS", 0.1)
    address = f"127.0.0.1:{build._free_port()}"
    reports = []
    outcome = {}
    handlers = {number: signal.getsignal(number) for number in build.STOP_SIGNALS}

    def contributor():
        try:
            outcome["first"] = wait_for(lambda: get(f"http://{address}/index.html")[0] == 200)
            outcome["page"] = get(f"http://{address}/index.html")[1]
            entry = small.entries_dir / f"{KEPT[0]}.yaml"
            entry.write_text(entry.read_text(encoding="utf-8").replace("design:\n", "design: [\n", 1), "utf-8")
            outcome["reported"] = wait_for(lambda: any(not generation.ok for generation in reports))
            outcome["status"] = json.loads(get(f"http://{address}/__kb/status")[1])
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=contributor)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            build.serve(small, address, reports.append)
        helper.join(timeout=30)
        engine_stopped = address_problem(engines_started[0]) is None
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(engine_pid.read_text()), signal.SIGKILL)  # the process this test's stand-in started
    assert outcome["first"] and b"the engine's page" in outcome["page"]
    assert b"/__kb/status" in outcome["page"]  # the banner script, added by the preview server
    assert outcome["reported"]
    assert len(engines_started) == 1 and engines_started[0] != address  # the engine listens on a private port
    [problem] = outcome["status"]["problems"]
    assert problem.startswith(f"{build.display_path(small.entries_dir / KEPT[0])}.yaml:")
    assert {number: signal.getsignal(number) for number in build.STOP_SIGNALS} == handlers
    assert address_problem(address) is None  # the preview server let go of its port
    assert engine_stopped  # and the engine has stopped, its port free


# --- the engine, Pagefind and the regeneration child, for real ------------------------------------------------


@whole_generation
def test_the_engine_builds_the_generated_pages_strictly_into_the_folder_given(small, tmp_path):
    assert generate(small).ok
    site = tmp_path / "built"
    completed = build.run_engine(build.MKDOCS, small, site)
    assert completed.returncode == 0, completed.stderr
    assert (site / "index.html").is_file()
    assert (site / "studies" / KEPT[0] / "index.html").is_file()
    assert not small.site_dir.exists()  # only the folder it was given


def article_page(folder: Path, name: str, text: str) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    html = f'<html><body><nav>menu</nav><article class="md-content__inner">{text}</article></body></html>'
    (folder / name).write_text(html, encoding="utf-8")


def test_pagefind_indexes_a_built_site_into_its_pagefind_folder(tmp_path):
    site = tmp_path / "site"
    article_page(site, "index.html", "<h1>Psilocybin</h1><p>Rumination changed after treatment.</p>")
    article_page(site, "studies/a/index.html", "<h1>A study</h1><p>Self-compassion rose.</p>")
    completed = build.run_pagefind(site)
    assert completed.returncode == 0, completed.stderr
    assert (site / "pagefind" / "pagefind.js").is_file()
    assert (site / "pagefind" / "pagefind-entry.json").is_file()
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert sum(language["page_count"] for language in entry["languages"].values()) == 2


def test_a_pagefind_failure_says_so_and_a_missing_pagefind_says_how_to_install_it(tmp_path, monkeypatch):
    failed = build.run_pagefind(tmp_path / "no-such-site")
    assert failed.returncode != 0
    assert failed.stderr.startswith("error: Pagefind could not index the site\n")
    real_find_spec = build.importlib.util.find_spec
    monkeypatch.setattr(
        build.importlib.util, "find_spec", lambda name: None if name == "pagefind" else real_find_spec(name)
    )
    missing = build.run_pagefind(tmp_path)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (
        "error: mkdocs.yml sets kb_search: pagefind, but Pagefind is not installed: pip install 'pagefind[bin]'\n"
    )


@whole_generation
def test_the_regeneration_child_keeps_regenerating_until_stopped(small):
    child = build._RegenerationChild(small)
    try:
        first = child.regenerate()
        assert first is not None and first.ok and first.studies == 3
        entry = small.entries_dir / f"{KEPT[0]}.yaml"
        entry.write_text(entry.read_text(encoding="utf-8").replace("design:\n", "design: [\n", 1), "utf-8")
        second = child.regenerate()
        assert second is not None and not second.ok
        assert second.problems[0].path.endswith(f"{KEPT[0]}.yaml")
    finally:
        child.stop()
    assert not child._process.is_alive()
    assert child.regenerate() is None  # gone: the Regenerator then starts another


# --- added for the surviving mutants of kb/build.py -----------------------------------------------------------


def test_a_theme_folder_that_cannot_be_written_is_a_write_error_naming_the_cache(small, monkeypatch):
    """Kills kb.build.x_assemble_theme__mutmut_7."""

    def full_disk(folder, files):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))

    monkeypatch.setattr(build, "sync_folder", full_disk)
    with pytest.raises(WriteError) as raised:
        build.assemble_theme(small)
    assert raised.value.folder == small.cache_dir
    assert str(raised.value).startswith(f"cannot write to {build.display_path(small.cache_dir)}/: no space left")


@whole_generation
def test_a_generation_stopped_by_a_foreign_link_says_how_long_it_took(small, tmp_path):
    """Kills kb.build.x__generate__mutmut_7, _9, _10."""
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the site", encoding="utf-8")
    (small.docs_dir / "secret.md").symlink_to(outside)
    started = time.perf_counter()
    generation = generate(small)
    took = time.perf_counter() - started
    assert not generation.ok and len(generation.problems) == 1
    assert 0 < generation.seconds <= took


def test_mkdocs_yml_is_read_as_utf8_whatever_the_locale(small):
    """A non-ASCII site name, read by kb on a machine whose locale is not UTF-8 (here ASCII, in a child
    interpreter). Kills kb.build.x__mkdocs_config__mutmut_6."""
    set_mkdocs_yml(small, "site_name: Évidence en psychiatrie\n")
    assert site_name(small) == "Évidence en psychiatrie"  # here, in a UTF-8 locale (and for mutmut to see the call)
    script = "import pathlib, sys; from kb.build import site_name; from kb.project import Project; "
    script += "sys.stdout.buffer.write(site_name(Project(pathlib.Path(sys.argv[1]))).encode('utf-8'))"
    source = Path(build.__file__).resolve().parents[1]  # the kb under test
    environment = {**os.environ, "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONPATH": str(source)}
    environment.pop("PYTHONUTF8", None)
    command = [sys.executable, "-X", "utf8=0", "-c", script, str(small.root)]
    completed = subprocess.run(command, capture_output=True, env=environment, check=False)
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    assert completed.stdout.decode("utf-8") == "Évidence en psychiatrie"


# --- build_site and _build_into, with stand-ins for the engine and Pagefind -----------------------------------

ZENSICAL = build.engines.engine_named("zensical")


def staging_folder(project: Project, name: str = "test") -> Path:
    staging = project.cache_dir / f"{SITE_STAGING_PREFIX}{os.getpid()}-{name}"
    staging.mkdir(parents=True)
    return staging


@whole_generation
def test_a_build_passes_on_its_progress_bars_and_its_engine(small, monkeypatch):
    """Kills kb.build.x_build_site__mutmut_27, _28, _45."""
    run_engine, calls = stand_in_engine()
    monkeypatch.setattr(build, "run_engine", run_engine)
    monkeypatch.setenv("KB_JOBS", "1")  # rendered in this process, where the bar can count
    seen, counting = counting_progress()
    result = build_site(small, counting("entries"), counting("studies"), engine=ZENSICAL)
    assert result.built
    assert seen["entries"] == 3
    assert seen["studies"] > 3  # one render job per study page and per term page
    [(engine, project, _)] = calls
    assert engine is ZENSICAL and project is small


@whole_generation
def test_a_working_folder_that_cannot_be_made_is_a_write_error_naming_the_cache(small, monkeypatch):
    """Kills kb.build.x_build_site__mutmut_35."""
    run_engine, calls = stand_in_engine()
    monkeypatch.setattr(build, "run_engine", run_engine)
    real_mkdtemp = build.tempfile.mkdtemp

    def mkdtemp(suffix=None, prefix=None, dir=None):  # noqa: A002 - tempfile's name
        if prefix and prefix.startswith(SITE_STAGING_PREFIX):
            raise OSError(errno.ENOSPC, "No space left on device", str(dir))
        return real_mkdtemp(suffix, prefix, dir)

    monkeypatch.setattr(build.tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(WriteError) as raised:
        build_site(small)
    assert raised.value.folder == small.cache_dir
    assert calls == []


def test_a_successful_engine_run_replaces_the_site_and_says_how_long_the_engine_took(small, monkeypatch):
    """Kills kb.build.x__build_into__mutmut_3, _4, _10, _55."""
    run_engine, calls = stand_in_engine(stdout="INFO - done\n", stderr="WARNING - careful\n", seconds=0.05)
    monkeypatch.setattr(build, "run_engine", run_engine)
    generation = Generation(studies=3)
    staging = staging_folder(small)
    started = time.perf_counter()
    result = build._build_into(small, generation, staging, ZENSICAL)
    took = time.perf_counter() - started
    assert result.generation is generation and result.built
    assert result.mkdocs_output == "INFO - done\nWARNING - careful\n"
    assert 0.05 <= result.mkdocs_seconds <= took
    assert calls == [(ZENSICAL, small, staging)]
    assert (small.site_dir / "index.html").read_text(encoding="utf-8") == "<p>new site</p>"


def test_a_failed_engine_run_says_how_long_it_took_or_names_the_full_cache(small, monkeypatch):
    """Kills kb.build.x__build_into__mutmut_16, _21, _24."""
    generation = Generation(studies=3)
    run_engine, _ = stand_in_engine(returncode=1, stdout="", stderr="ERROR - Aborted\n", seconds=0.05)
    monkeypatch.setattr(build, "run_engine", run_engine)
    started = time.perf_counter()
    result = build._build_into(small, generation, staging_folder(small, "a"), build.MKDOCS)
    took = time.perf_counter() - started
    assert result.generation is generation and not result.built
    assert result.mkdocs_output == "ERROR - Aborted\n"
    assert 0.05 <= result.mkdocs_seconds <= took
    assert not small.site_dir.exists()
    staging = staging_folder(small, "b")
    full = f"OSError: [Errno 28] No space left on device: '{staging}/index.html'\n"
    run_engine, _ = stand_in_engine(returncode=1, stdout="", stderr=full)
    monkeypatch.setattr(build, "run_engine", run_engine)
    with pytest.raises(WriteError) as raised:
        build._build_into(small, generation, staging, build.MKDOCS)
    assert raised.value.folder == small.cache_dir


def test_a_failed_pagefind_run_keeps_the_generation_and_the_engine_time_or_names_the_full_cache(small, monkeypatch):
    """Kills kb.build.x__build_into__mutmut_30, _34, _37, _39, _42."""
    set_mkdocs_yml(small, "site_name: Trials\nextra:\n  kb_search: pagefind\n")
    run_engine, _ = stand_in_engine(seconds=0.05)
    monkeypatch.setattr(build, "run_engine", run_engine)
    indexed = []

    def failing_pagefind(stderr):
        def run_pagefind(site):
            indexed.append(site)
            return subprocess.CompletedProcess([], 1, "", stderr)

        return run_pagefind

    monkeypatch.setattr(build, "run_pagefind", failing_pagefind("error: Pagefind could not index the site\n"))
    generation = Generation(studies=3)
    staging = staging_folder(small, "a")
    started = time.perf_counter()
    result = build._build_into(small, generation, staging, build.MKDOCS)
    took = time.perf_counter() - started
    assert result.generation is generation and not result.built
    assert result.mkdocs_output == "built\nerror: Pagefind could not index the site\n"
    assert 0.05 <= result.mkdocs_seconds <= took
    assert indexed == [staging]
    monkeypatch.setattr(build, "run_pagefind", failing_pagefind("Error: No space left on device (os error 28)\n"))
    with pytest.raises(WriteError) as raised:
        build._build_into(small, generation, staging_folder(small, "b"), build.MKDOCS)
    assert raised.value.folder == small.cache_dir


def test_a_site_folder_that_cannot_be_replaced_is_a_write_error_naming_it(small, monkeypatch):
    """Kills kb.build.x__build_into__mutmut_44."""
    run_engine, _ = stand_in_engine()
    monkeypatch.setattr(build, "run_engine", run_engine)

    def read_only(staging, site):
        raise OSError(errno.EROFS, "Read-only file system", str(site))

    monkeypatch.setattr(build, "_swap_into_place", read_only)
    with pytest.raises(WriteError) as raised:
        build._build_into(small, Generation(), staging_folder(small), build.MKDOCS)
    assert raised.value.folder == small.site_dir
    assert "read-only file system" in str(raised.value)


# --- _swap_into_place -----------------------------------------------------------------------------------------


def test_a_first_site_whose_new_folder_cannot_be_moved_fails_with_the_rename_error(tmp_path):
    """Kills kb.build.x__swap_into_place__mutmut_1."""
    with pytest.raises(FileNotFoundError):
        build._swap_into_place(tmp_path / "missing-staging", tmp_path / "site")
    assert sorted(tmp_path.iterdir()) == []


def test_an_old_site_that_cannot_be_removed_does_not_fail_the_swap(tmp_path, monkeypatch):
    """The new site is in place by then; what is left of the old one is removed by the next build. Kills
    kb.build.x__swap_into_place__mutmut_13, _15, _16."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("old", encoding="utf-8")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "index.html").write_text("new", encoding="utf-8")
    removed = []

    def busy_rmtree(path, ignore_errors=False, onerror=None):
        removed.append(Path(path))
        if not ignore_errors:
            raise OSError(errno.EBUSY, "Device or resource busy", str(path))

    monkeypatch.setattr(build.shutil, "rmtree", busy_rmtree)
    build._swap_into_place(staging, site)
    assert (site / "index.html").read_text(encoding="utf-8") == "new"
    [old] = removed
    assert (old / "index.html").read_text(encoding="utf-8") == "old"


# --- run_pagefind ---------------------------------------------------------------------------------------------


def test_a_pagefind_failure_relays_what_pagefind_said(tmp_path):
    """Kills kb.build.x_run_pagefind__mutmut_45, _46, _49, _50, _52, _53."""
    failed = build.run_pagefind(tmp_path / "no-such-site")
    first, second = failed.stderr.splitlines()[:2]
    assert first == "error: Pagefind could not index the site"
    assert second.startswith("Error: Pagefind was not able to build an index")


# --- the Regenerator, with a stand-in for the generation -----------------------------------------------------


def test_regenerations_run_one_after_the_other_on_one_thread_with_one_memory(small, monkeypatch):
    """Warming is not reported; changes that come in while a run goes on are one run after it, reported when any
    of them asked to be. Kills kb.build.xǁRegeneratorǁwarm__mutmut_2, xǁRegeneratorǁ__init____mutmut_3,
    xǁRegeneratorǁ_regenerate__mutmut_2, _4, xǁRegeneratorǁ_work__mutmut_3, _4, _5, _6, _8,
    xǁRegeneratorǁ_ask__mutmut_4, _5, _7, _8, _9, _10, _11."""
    runs = []
    first_started, release = threading.Event(), threading.Event()

    def regenerate(project, memory=None):
        runs.append((project, memory, threading.current_thread()))
        if len(runs) == 1:
            first_started.set()
            release.wait(timeout=30)
        return Generation(studies=len(runs))

    monkeypatch.setattr(build, "regenerate", regenerate)
    reports = []
    regenerator = Regenerator(small, reports.append)
    try:
        regenerator.warm()
        assert first_started.wait(timeout=30)
        for report in (False, True, False):
            regenerator._ask(report=report)
        release.set()
        assert wait_for(lambda: [generation.studies for generation in reports] == [2], seconds=30)
    finally:
        release.set()
        regenerator.stop()
    worker = runs[0][2]
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert [generation.studies for generation in reports] == [2]
    assert runs == [(small, regenerator.memory, worker)] * 2
    assert isinstance(regenerator.memory, Memory)
    assert (worker.name, worker.daemon) == ("kb-regenerate", True)  # it must not keep a stopped kb serve alive


def test_the_regeneration_child_is_started_once_and_kept_until_it_is_gone(small, monkeypatch):
    """Kills kb.build.xǁRegeneratorǁ_generate_in_child__mutmut_7, _9, xǁRegeneratorǁ_problem__mutmut_2, _3, _4,
    _12, _13."""
    answers = [Generation(studies=3), Generation(studies=4), None]
    started = []

    class Child:
        def __init__(self, project):
            started.append(project)

        def regenerate(self):
            return answers.pop(0) if answers else Generation(studies=5)

        def stop(self):
            pass

    monkeypatch.setattr(build, "_RegenerationChild", Child)
    regenerator = Regenerator(small, lambda generation: None)
    assert [regenerator._generate_in_child().studies for _ in range(2)] == [3, 4]
    assert started == [small]
    [problem] = regenerator._generate_in_child().problems
    assert problem == build.Problem(
        build.display_path(small.entries_dir), 1, 1, "error", "regeneration stopped before it finished"
    )
    assert regenerator._generate_in_child().studies == 5
    assert started == [small, small]  # the next change started another


# --- watch ----------------------------------------------------------------------------------------------------


def test_the_watcher_passes_on_creations_deletions_and_renames_in_subfolders_and_nothing_from_docs(small):
    """Kills kb.build.x_watch__mutmut_2, _3, _4, _7, _8, _9, _10, _14, _20, _21, _28, _31, _33, _41."""
    nested = small.entries_dir / "nested"
    nested.mkdir()
    gone = small.entries_dir / "gone.yaml"
    before, after = small.entries_dir / "before.yaml", small.entries_dir / "after.yaml"
    for path in (gone, before):
        path.write_text("id: x\n", encoding="utf-8")
    recorder = ChangeRecorder()
    changed = recorder.paths
    observer = build.watch(small, recorder)
    try:
        (nested / "deep.yaml").touch()  # created, and nothing else: no content written
        gone.unlink()
        before.rename(after)
        (small.docs_dir / "page.md").write_text("generated\n", encoding="utf-8")
        small.vocabulary_path.write_text(small.vocabulary_path.read_text(encoding="utf-8"), encoding="utf-8")
        expected = {nested / "deep.yaml", gone, after, small.vocabulary_path}
        assert wait_for(lambda: expected <= set(changed), seconds=30), changed
    finally:
        observer.stop()
        observer.join(timeout=5)
    # docs/page.md was written before vocabulary.yml, which sits in the same (not recursive) watch of the root
    assert set(changed) == expected


# --- the address to serve on ----------------------------------------------------------------------------------


def test_the_highest_port_is_an_address(monkeypatch):
    """Kills kb.build.x_address_problem__mutmut_8."""
    tried = []
    monkeypatch.setattr(build, "_try_listening", lambda host, port: tried.append((host, port)))
    assert address_problem("127.0.0.1:65535") is None
    assert tried == [("127.0.0.1", 65535)]


def test_an_ipv6_address_is_tried_as_ipv6():
    """Kills kb.build.x__try_listening__mutmut_2, _4, _6."""
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    assert address_problem(f"[::1]:{port}") is None
    with socket.socket(socket.AF_INET6) as taken:
        taken.bind(("::1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert address_problem(f"[::1]:{port}").startswith(f"cannot serve on [::1]:{port}: the port is in use")


def test_a_host_name_keeps_its_own_letters():
    """Kills kb.build.x__split_address__mutmut_6."""
    assert build._split_address("XBOX:8000") == ("XBOX", "8000")
    assert build._split_address("[::1]:8000") == ("::1", "8000")


# --- waiting for the engine -----------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


def test_a_signal_taken_by_another_thread_still_interrupts_the_wait_for_the_engine():
    """The kernel may hand Ctrl-C or SIGTERM to any thread of kb serve; Python runs the handler in the main thread,
    which must not sit in a blocking wait meanwhile. Kills kb.build.x__wait_interruptibly__mutmut_3."""
    main = threading.main_thread().ident

    def waiting_in_subprocess() -> bool:
        frame = sys._current_frames().get(main)
        return frame is not None and frame.f_code.co_filename == subprocess.__file__

    def signal_this_thread():
        if wait_for(waiting_in_subprocess, seconds=30):
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)

    def interrupt(signum, frame):
        raise Interrupted

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"])
    previous = signal.signal(signal.SIGUSR1, interrupt)
    started = time.monotonic()
    try:
        helper = threading.Thread(target=signal_this_thread)
        helper.start()
        with pytest.raises(Interrupted):
            build._wait_interruptibly(child)
        took = time.monotonic() - started
    finally:
        signal.signal(signal.SIGUSR1, previous)
        child.kill()
        child.wait()
        helper.join(timeout=30)
    assert took < 10  # the child would have ended after 20 s


# --- kb serve, with stand-ins for the Regenerator and the engine ----------------------------------------------

ENGINE_SCRIPT = """
import json, os, pathlib, sys, time
record, stop = map(pathlib.Path, sys.argv[1:])
record.write_text(json.dumps({"cwd": os.getcwd(), "banner": os.environ.get("NO_MKDOCS_2_WARNING")}))
while not stop.exists():
    time.sleep(0.05)
sys.exit(3)
"""


@whole_generation
def test_serve_runs_the_engine_in_the_knowledge_base_and_shows_only_errors(small, monkeypatch, tmp_path):
    """The engine (a stand-in that ends when told, with exit code 3) is started from the knowledge base's folder
    with the engine's environment; a generation that succeeded with warnings clears the preview's problems; the
    preview server runs in a daemon thread of its own. Kills kb.build.x_serve__mutmut_3, _29, _30, _32, _33, _34,
    _35, _36, _43, _44, _53, _54, _57, _58."""
    record, stop = tmp_path / "engine.json", tmp_path / "stop"
    engines_started = []

    @contextlib.contextmanager
    def serving(engine, project, dev_addr):
        engines_started.append((engine, project))
        yield [sys.executable, "-c", ENGINE_SCRIPT, str(record), str(stop)]

    error = build.Problem("entries/a.yaml", 2, 1, "error", "design: not a mapping")
    warning = build.Problem("entries/b.yaml", 3, 1, "warning", "no outcomes")

    class Regenerations:
        """Reports an error on warming; the test reports the rest."""

        def __init__(self, project, report):
            self.report = report
            regenerators.append(self)

        def warm(self):
            self.report(Generation(problems=[error]))

        def changed(self, path):
            pass

        def stop(self):
            pass

    regenerators = []
    monkeypatch.setattr(build.engines, "serving", serving)
    monkeypatch.setattr(build, "Regenerator", Regenerations)
    address = f"127.0.0.1:{build._free_port()}"
    reports, outcome = [], {}

    def status() -> list[str]:
        code, body = get(f"http://{address}/__kb/status")
        return json.loads(body)["problems"] if code == 200 else ["not listening"]

    def contributor():
        try:
            outcome["error shown"] = wait_for(lambda: status() == [error.format()])
            regenerators[0].report(Generation(problems=[warning], report=WriteReport()))
            outcome["after the fix"] = status()
            outcome["threads"] = [(t.daemon, t.is_alive()) for t in threading.enumerate() if t.name == "kb-preview"]
            outcome["engine"] = wait_for(record.exists) and json.loads(record.read_text(encoding="utf-8"))
        finally:
            stop.touch()

    helper = threading.Thread(target=contributor)
    helper.start()
    assert build.serve(small, address, reports.append, engine=ZENSICAL) == 3
    helper.join(timeout=30)
    assert engines_started == [(ZENSICAL, small)]
    assert outcome["error shown"] and outcome["after the fix"] == []
    assert [generation.problems for generation in reports] == [[error], [warning]]
    assert outcome["threads"] == [(True, True)]
    assert outcome["engine"] == {"cwd": str(small.root.resolve()), "banner": "1"}


# --- the regeneration child, for real -------------------------------------------------------------------------


@whole_generation
def test_the_regeneration_child_is_a_fresh_interpreter_that_keeps_its_memory(small, monkeypatch):
    """Spawned, not forked from this process (whose threads could deadlock a fork): what this process changed in
    kb.build does not reach it. Its memory lasts from one request to the next, so a page whose inputs did not
    change is not rendered again (a hand edit of the generated page is left). Kills
    kb.build.xǁ_RegenerationChildǁ__init____mutmut_2, x__regenerate_on_request__mutmut_6, _9, _11."""
    monkeypatch.setattr(build, "regenerate", lambda project, memory=None: Generation(studies=-1))
    child = build._RegenerationChild(small)
    try:
        first = child.regenerate()
        assert first is not None and first.ok and first.studies == 3
        page = small.docs_dir / "studies" / f"{KEPT[0]}.md"
        page.write_text(page.read_text(encoding="utf-8") + "\nedited by hand\n", encoding="utf-8")
        second = child.regenerate()
        assert second is not None and second.ok
    finally:
        child.stop()
    assert page.read_text(encoding="utf-8").endswith("\nedited by hand\n")


def test_a_regeneration_for_kb_serve_passes_its_memory_on(small, monkeypatch):
    """Kills kb.build.x_regenerate__mutmut_2, _4."""
    calls = []
    monkeypatch.setattr(build, "generate", lambda project, memory=None: calls.append((project, memory)) or Generation())
    memory = Memory()
    regenerate(small, memory)
    [(project, passed)] = calls
    assert project is small and passed is memory


class OldEvent:
    """A file event as watchdog made them before 4.0: only a move has a `dest_path`."""

    event_type = "modified"
    is_directory = False

    def __init__(self, src_path: str):
        self.src_path = src_path


def test_the_watcher_takes_events_without_a_destination(small):
    """MkDocs asks for watchdog>=2.0, and kb names no version of its own. Kills kb.build.x_watch__mutmut_19, _22."""
    recorder = ChangeRecorder()
    changed = recorder.paths
    observer = build.watch(small, recorder)
    try:
        [watch] = [emitter.watch for emitter in observer.emitters if emitter.watch.path == str(small.entries_dir)]
        observer.event_queue.put((OldEvent(str(small.entries_dir / "a.yaml")), watch))
        assert wait_for(lambda: changed, seconds=30)
    finally:
        observer.stop()
        observer.join(timeout=5)
    assert changed == [small.entries_dir / "a.yaml"]
