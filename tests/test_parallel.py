"""Work spread over processes (kb.parallel) gives the same results as work done in one, errors included."""

from __future__ import annotations

import hashlib
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from site_support import override_template

from kb import parallel
from kb.parallel import map_chunks
from kb.problems import ERROR, Problem, ProblemError
from kb.render.output import GENERATED_DIRS

ROOT = Path(__file__).resolve().parents[1]
CORPUS_SIZE = 240  # enough entries and terms for every parallel step to use two workers


def _pid_and_square(chunk: list[int]) -> list[tuple[int, int]]:
    return [(os.getpid(), item * item) for item in chunk]


@pytest.fixture
def two_jobs(monkeypatch):
    monkeypatch.setenv("KB_JOBS", "2")
    # Other tests in this process leave idle server threads behind; map_chunks would then (rightly) stay serial.
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)


def test_results_come_back_in_order_from_worker_processes(two_jobs):
    results = map_chunks(_pid_and_square, list(range(400)))
    assert [square for _, square in results] == [i * i for i in range(400)]
    assert os.getpid() not in {pid for pid, _ in results}  # really done elsewhere (by one or both workers)


def test_closures_reach_the_workers_without_being_pickled(two_jobs):
    offset = {"value": 7}  # a closure over local state: fork hands it over
    assert map_chunks(lambda chunk: [item + offset["value"] for item in chunk], range(300)) == [
        item + 7 for item in range(300)
    ]


def test_items_reach_the_workers_without_being_pickled(two_jobs):
    locks = [threading.Lock() for _ in range(300)]  # cannot be pickled: the workers read the inherited list
    results = map_chunks(lambda chunk: [(os.getpid(), lock.locked()) for lock in chunk], locks)
    assert [locked for _, locked in results] == [False] * 300
    assert os.getpid() not in {pid for pid, _ in results}


def test_small_jobs_one_core_and_threaded_callers_stay_in_this_process(monkeypatch):
    monkeypatch.setenv("KB_JOBS", "2")
    assert {pid for pid, _ in map_chunks(_pid_and_square, list(range(10)))} == {os.getpid()}
    monkeypatch.setenv("KB_JOBS", "1")
    assert {pid for pid, _ in map_chunks(_pid_and_square, list(range(400)))} == {os.getpid()}
    monkeypatch.setenv("KB_JOBS", "2")
    stop = threading.Event()
    watcher = threading.Thread(target=stop.wait)  # like kb serve's file watcher
    watcher.start()
    try:
        assert {pid for pid, _ in map_chunks(_pid_and_square, list(range(400)))} == {os.getpid()}
    finally:
        stop.set()
        watcher.join()


def test_kb_jobs_must_be_a_positive_number_else_the_cores_are_used(monkeypatch):
    for setting in ("0", "-3", "many", ""):
        monkeypatch.setenv("KB_JOBS", setting)
        assert parallel.job_count() >= 1
    monkeypatch.setenv("KB_JOBS", "3")
    assert parallel.job_count() == 3


def _fail_on_13(chunk: list[int]) -> list[int]:
    for item in chunk:
        if item == 13:
            raise ProblemError(Problem("templates/study.md.j2", 4, 1, ERROR, "template error: boom"))
    return chunk


def test_a_problem_raised_in_a_worker_reaches_the_caller_intact(two_jobs):
    with pytest.raises(ProblemError) as raised:
        map_chunks(_fail_on_13, list(range(400)))
    assert raised.value.problem == Problem("templates/study.md.j2", 4, 1, ERROR, "template error: boom")


def test_progress_sees_every_result_and_knows_the_total(two_jobs):
    seen = []

    def progress(items):
        seen.append(len(items))
        yield from items

    assert len(map_chunks(_pid_and_square, list(range(300)), progress)) == 300 and seen == [300]


def _die_on_13(chunk: list[int]) -> list[int]:
    if 13 in chunk:
        os._exit(9)  # as if the kernel had killed the worker for lack of memory
    return chunk


def test_a_worker_that_dies_is_reported_not_waited_for(two_jobs):
    with pytest.raises(RuntimeError, match="worker process stopped unexpectedly; try again with KB_JOBS=1"):
        map_chunks(_die_on_13, list(range(400)))


def test_without_process_semaphores_the_work_stays_in_this_process(two_jobs, monkeypatch):
    def unavailable(*args, **kwargs):
        raise OSError(38, "Function not implemented")  # what a sandbox without /dev/shm gives

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", unavailable)
    results = map_chunks(_pid_and_square, list(range(400)))
    assert results == [(os.getpid(), i * i) for i in range(400)]


# --- the whole pipeline --------------------------------------------------------------------------------------


def _generated_tree(kb: Path, jobs: str) -> dict[str, str]:
    for folder in GENERATED_DIRS:  # from scratch each time, so that every page is rendered and written again
        shutil.rmtree(kb / "docs" / folder, ignore_errors=True)
    environment = {**os.environ, "KB_JOBS": jobs}
    command = [str(Path(sys.executable).with_name("kb")), "-C", str(kb), "build", "--markdown-only"]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    docs = kb / "docs"
    folders = ("studies", "mechanisms", "substances", "conditions", "designs", "settings", "evidence", "downloads")
    return {
        path.relative_to(docs).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted((docs / folder).rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def corpus(tmp_path) -> Path:
    kb = tmp_path / "kb"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_corpus.py"), "--n", str(CORPUS_SIZE), "--out", str(kb)],
        check=True,
        capture_output=True,
    )
    return kb


def test_two_workers_generate_exactly_the_pages_one_process_does(corpus):
    serial = _generated_tree(corpus, "1")
    parallel_tree = _generated_tree(corpus, "2")
    assert sum(path.startswith("studies/") for path in serial) == CORPUS_SIZE + 1  # and the study table
    assert parallel_tree == serial


def test_a_template_error_in_a_worker_is_one_clear_line(corpus):
    template = override_template(corpus, "study.md.j2")
    template.write_text(template.read_text().replace("{{ page.venue|oneline }}", "{{ page.venue.missing }}"))
    command = [str(Path(sys.executable).with_name("kb")), "-C", str(corpus), "build", "--markdown-only"]
    completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "KB_JOBS": "2"})
    assert completed.returncode == 1
    assert re.search(r"templates/study\.md\.j2:\d+:1: error: template error: .*missing", completed.stdout)
    assert "rendering stopped (pages already written stay in docs/)" in completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    docs = corpus / "docs"
    assert not (docs / "studies").exists() and not list(docs.glob(".kb-staging-*"))  # a new folder appears whole


# --- kb serve: regenerating a large knowledge base in a fresh interpreter -------------------------------------


def test_serve_regenerates_a_large_knowledge_base_in_a_child_that_can_use_the_cores(corpus, monkeypatch):
    from kb import build
    from kb.project import Project

    def not_here(project):
        raise AssertionError("generate ran in the serving process")

    monkeypatch.setattr(build, "CHILD_REGENERATION_ENTRIES", CORPUS_SIZE)  # the corpus counts as large
    monkeypatch.setattr(build, "generate", not_here)  # the child imports kb.build afresh, unpatched
    monkeypatch.setattr(build, "job_count", lambda: 2)
    reports = []
    regenerator = build.Regenerator(Project(corpus), reports.append)
    regenerator.report(regenerator._regenerate())
    assert [generation.ok for generation in reports] == [True]
    assert reports[0].studies == CORPUS_SIZE
    assert len(list((corpus / "docs" / "studies").glob("*.md"))) == CORPUS_SIZE + 1


def test_serve_keeps_one_regeneration_child_from_edit_to_edit(corpus, monkeypatch):
    """The child that regenerates a large knowledge base is started once (by the warm-up) and kept, with what it
    remembers, for every later edit: it must outlive the thread that asked for the warm-up."""
    from kb import build
    from kb.project import Project

    monkeypatch.setattr(build, "CHILD_REGENERATION_ENTRIES", CORPUS_SIZE)
    monkeypatch.setattr(build, "job_count", lambda: 2)
    generations = queue.SimpleQueue()
    regenerator = build.Regenerator(Project(corpus), generations.put)
    entry = sorted((corpus / "entries").glob("[!_]*.yaml"))[3]
    try:
        regenerator.warm()
        children = []
        for word in ("firstedit", "secondedit"):
            text = entry.read_text(encoding="utf-8")
            entry.write_text(re.sub(r"(\n  overview: )", rf"\g<1>{word} ", text, count=1), encoding="utf-8")
            regenerator.changed(str(entry))
            generation = generations.get(timeout=300)
            assert generation.ok, [problem.format() for problem in generation.problems]
            page = (corpus / "docs" / "studies" / f"{entry.stem}.md").read_text(encoding="utf-8")
            assert word in page
            children.append(regenerator._child._process.pid)
        assert children[0] == children[1]  # the same interpreter both times
    finally:
        regenerator.stop()


def test_stopping_serve_stops_a_regeneration_under_way(corpus):
    from kb import build
    from kb.project import Project

    reports = []
    regenerator = build.Regenerator(Project(corpus), reports.append)
    running = threading.Thread(target=lambda: reports.append(regenerator._generate_in_child()))
    running.start()
    deadline = time.monotonic() + 30
    while regenerator._child is None and time.monotonic() < deadline:
        time.sleep(0.01)
    regenerator.stop()
    running.join(timeout=30)
    assert not running.is_alive()
    assert [problem.message for generation in reports for problem in generation.problems] == [
        "regeneration stopped before it finished"
    ]
    assert not (corpus / "docs" / "studies").exists()  # a folder it had not finished is not left half-made
