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
    generation = generate(small)
    assert generation.ok and not generation.partial
    assert generation.problems == []
    assert generation.studies == 3
    assert generation.seconds > 0
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


@whole_generation
def test_a_template_error_while_rendering_is_a_partial_generation(small):
    template = override_template(small.root, "study.md.j2")
    template.write_text(template.read_text().replace("{{ page.venue|oneline }}", "{{ page.venue.missing }}"))
    generation = generate(small)
    assert not generation.ok and generation.partial
    assert len(generation.problems) == 1
    assert "template error" in generation.problems[0].message
    assert generation.problems[0].path.endswith("study.md.j2")


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
def test_progress_wraps_the_entries_and_the_studies(small):
    seen = {"entries": 0, "studies": 0}

    def counting(kind):
        def wrap(items):
            for item in items:
                seen[kind] += 1
                yield item

        return wrap

    with_env = os.environ.get("KB_JOBS")
    os.environ["KB_JOBS"] = "1"
    try:
        assert generate(small, progress=counting("entries"), render_progress=counting("studies")).ok
    finally:
        if with_env is None:
            del os.environ["KB_JOBS"]
        else:
            os.environ["KB_JOBS"] = with_env
    assert seen["entries"] == 3
    assert seen["studies"] > 3  # one render job per study page and per term page


# --- build_site, with a stand-in for the site engine ----------------------------------------------------------


def stand_in_engine(returncode: int = 0, stdout: str = "built\n", stderr: str = ""):
    calls = []

    def run_engine(engine, project, site_dir):
        calls.append(site_dir)
        (site_dir / "index.html").write_text("<p>new site</p>", encoding="utf-8")
        return subprocess.CompletedProcess([], returncode, stdout, stderr)

    return run_engine, calls


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
    [staging] = calls
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
    assert not calls[0].exists()


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


def test_the_watcher_passes_each_changed_file_on(small):
    changed = []

    class Recorder:
        def changed(self, path):
            changed.append(Path(path))

    observer = build.watch(small, Recorder())
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
