"""The `kb build` and `kb serve` pipelines: validate -> link -> render -> MkDocs.

Generation is a plain pre-build step (not an MkDocs plugin), so its output can be read and diffed and it keeps
working on MkDocs' successors. `build_site` runs `mkdocs build --strict` into a temporary folder and only swaps
it into site/ when MkDocs succeeded, so a failed build never leaves a broken or half-written site behind.
`serve` regenerates docs/ whenever entries/, templates/ or vocabulary.yml change; `mkdocs serve`, watching
docs/, then rebuilds and reloads the browser.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.link import link_studies
from kb.load import gc_frozen, gc_paused
from kb.parallel import job_count
from kb.problems import ERROR, Problem, ProblemError, display_path
from kb.project import Project
from kb.render import WriteReport, render_site
from kb.validate import validate_entries
from kb.vocabulary import load_vocabulary

Progress = Callable[[Iterable], Iterable] | None
DEFAULT_SITE_NAME = "Evidence summaries"
WATCH_DEBOUNCE_SECONDS = 0.3


@dataclass
class Generation:
    """What one generation run did; `ok` is False when errors stopped it. `partial` is True when a template error
    stopped it while rendering, after worker processes had already written some pages into docs/."""

    problems: list[Problem] = field(default_factory=list)
    studies: int = 0
    report: WriteReport | None = None
    seconds: float = 0.0
    partial: bool = False

    @property
    def ok(self) -> bool:
        return self.report is not None


@dataclass
class BuildResult:
    generation: Generation
    mkdocs_output: str = ""
    mkdocs_seconds: float = 0.0
    built: bool = False


def generate(project: Project, progress: Progress = None, render_progress: Progress = None) -> Generation:
    """Validate every entry and, if none has an error, write the generated pages into docs/ (`progress` and
    `render_progress` wrap the entries while validating and the studies while rendering: the bars on a terminal)."""
    started = time.perf_counter()
    try:
        vocabulary = load_vocabulary(project.vocabulary_path)
        paths = project.entry_paths()
        with gc_paused(keep_after=True):
            result = validate_entries(paths, vocabulary, others=paths, progress=progress)
            if not result.ok():
                return Generation(problems=result.problems, seconds=time.perf_counter() - started)
            links = link_studies(result.studies)
    except ProblemError as error:
        return Generation(problems=[error.problem], seconds=time.perf_counter() - started)
    try:
        with gc_frozen():
            report = render_site(project, links, vocabulary, site_name(project), progress=render_progress)
    except ProblemError as error:
        return Generation(problems=[error.problem], seconds=time.perf_counter() - started, partial=True)
    return Generation(result.problems, len(result.studies), report, time.perf_counter() - started)


def site_name(project: Project) -> str:
    """`site_name` from mkdocs.yml (its !ENV and !!python tags are ignored), for the Atom feed."""
    name = _mkdocs_config(project).get("site_name")
    return name if isinstance(name, str) and name.strip() else DEFAULT_SITE_NAME


def search_backend(project: Project) -> str:
    """`extra: kb_search:` in mkdocs.yml: "pagefind", or Material's built-in search by default."""
    extra = _mkdocs_config(project).get("extra")
    return "pagefind" if isinstance(extra, dict) and extra.get("kb_search") == "pagefind" else "material"


def _mkdocs_config(project: Project) -> dict:
    try:
        config = yaml.load(project.mkdocs_yml.read_text(encoding="utf-8"), Loader=_TolerantLoader)
    except (OSError, yaml.YAMLError):
        return {}
    return config if isinstance(config, dict) else {}


class _TolerantLoader(yaml.SafeLoader):
    pass


_TolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)
_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def build_site(project: Project, progress: Progress = None, render_progress: Progress = None) -> BuildResult:
    """Generate, then build with MkDocs into a temporary folder, and replace site/ only if that succeeded."""
    if not project.mkdocs_yml.is_file():
        problem = Problem(display_path(project.mkdocs_yml), 1, 1, ERROR, "no mkdocs.yml in the knowledge base folder")
        return BuildResult(Generation(problems=[problem]))
    generation = generate(project, progress, render_progress)
    if not generation.ok:
        return BuildResult(generation)
    cache = project.root / ".cache"
    cache.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="site-", dir=cache))
    try:
        started = time.perf_counter()
        completed = run_mkdocs(project, "build", "--strict", "--site-dir", str(staging.resolve()))
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            return BuildResult(generation, completed.stdout + completed.stderr, seconds)
        if search_backend(project) == "pagefind":
            indexed = run_pagefind(staging)
            if indexed.returncode != 0:
                return BuildResult(generation, completed.stdout + completed.stderr + indexed.stderr, seconds)
        _swap_into_place(staging, project.site_dir)
        return BuildResult(generation, completed.stdout + completed.stderr, seconds, built=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_mkdocs(project: Project, *arguments: str, capture: bool = True) -> subprocess.CompletedProcess:
    """MkDocs in a child process, from the project root (the snippets' base path is relative to it)."""
    command = [sys.executable, "-m", "mkdocs", *arguments, "--config-file", str(project.mkdocs_yml.resolve())]
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner, on every run
    return subprocess.run(command, cwd=project.root, env=environment, capture_output=capture, text=True, check=False)


PAGEFIND_ROOT = "article.md-content__inner"  # index each page's article, not the navigation around it
# Lists of studies (term tables, the study table, the evidence matrix, the bibliography, related studies) repeat
# what each study's own page says: indexing them would make every listing page match every query, and multiply
# the index a browser downloads. The design and outcome tables of a study page are its own content and stay.
# Repeats within a page are left out too: the tag chips (the Tags section lists the same terms) and the BibTeX
# (the Reference section says the same); every extra occurrence of a word is another entry in its index chunk.
PAGEFIND_IGNORE = (
    ".kb-table-wrapper:not(.kb-design):not(.kb-outcomes), .kb-bibliography, .kb-related, .md-tags, .kb-cite"
)


def run_pagefind(site: Path) -> subprocess.CompletedProcess:
    """Pagefind's search index of a built site, written to site/pagefind/ (for `extra: kb_search: pagefind`)."""
    if importlib.util.find_spec("pagefind") is None:
        message = "error: mkdocs.yml sets kb_search: pagefind, but Pagefind is not installed"
        return subprocess.CompletedProcess([], 1, "", f"{message}: pip install 'pagefind[bin]'\n")
    command = [sys.executable, "-m", "pagefind", "--site", str(site), "--root-selector", PAGEFIND_ROOT]
    command += ["--exclude-selectors", PAGEFIND_IGNORE, "--quiet"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        completed.stderr = f"error: Pagefind could not index the site\n{completed.stdout}{completed.stderr}"
    return completed


def _swap_into_place(staging: Path, site: Path) -> None:
    """Two renames on one file system: the old site stays complete until the new one is complete too."""
    old = None
    if site.exists():
        old = staging.with_name(staging.name + "-old")
        site.rename(old)
    try:
        staging.rename(site)
    except OSError:
        if old is not None:
            old.rename(site)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def mkdocs_messages(output: str) -> list[str]:
    """The lines of MkDocs' output worth showing: its warnings and errors, without the INFO chatter."""
    keep = [line for line in output.splitlines() if line.strip() and not line.startswith("INFO")]
    return keep or output.splitlines()[-20:]


# --- kb serve ------------------------------------------------------------------------------------------------


def watched_paths(project: Project) -> list[Path]:
    return [project.entries_dir, project.templates_dir, project.vocabulary_path]


class Regenerator:
    """Re-runs `generate` shortly after the last change in a burst (an editor saves several files at once).

    A large knowledge base is regenerated in a fresh interpreter, where `generate` can use every core: in this
    process, which has threads (the file watcher's, the timer's), it would use one, because forking worker
    processes from a threaded process can deadlock them. The child's start costs about half a second, which
    only pays off from a few hundred entries on."""

    def __init__(self, project: Project, report: Callable[[Generation], None]):
        self.project = project
        self.report = report
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._child = None  # the interpreter regenerating right now, if any
        self._stopped = False

    def changed(self, path: str) -> None:
        if not self._is_relevant(path):
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(WATCH_DEBOUNCE_SECONDS, self._run)
            self._timer.daemon = True
            self._timer.start()

    def _is_relevant(self, path: str) -> bool:
        """Entry, template and vocabulary files; not editor backups, nor other files next to vocabulary.yml."""
        changed = Path(path).resolve()
        if changed.name.startswith(".") or changed.name.endswith(("~", ".swp", ".tmp")):
            return False
        if changed == self.project.vocabulary_path.resolve():
            return True
        folders = (self.project.entries_dir.resolve(), self.project.templates_dir.resolve())
        return any(changed.is_relative_to(folder) for folder in folders)

    def _run(self) -> None:
        large = len(self.project.entry_paths()) >= CHILD_REGENERATION_ENTRIES and job_count() > 1
        self.report(self._generate_in_child() if large else generate(self.project))

    def _generate_in_child(self) -> Generation:
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        # Not a daemon: a daemon process may not start the worker processes that generate uses.
        child = context.Process(target=_generate_and_send, args=(self.project, sender))
        with self._lock:
            if self._stopped:
                return Generation(problems=[self._problem("kb serve is stopping; nothing was regenerated")])
            child.start()
            self._child = child
        sender.close()
        try:
            return receiver.recv()
        except EOFError:  # the child ended without an answer: stopped with kb serve, or killed
            return Generation(problems=[self._problem("regeneration stopped before it finished")])
        finally:
            receiver.close()
            child.join()
            with self._lock:
                self._child = None

    def _problem(self, message: str) -> Problem:
        return Problem(display_path(self.project.entries_dir), 1, 1, ERROR, message)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
            if self._child is not None and self._child.is_alive():
                self._child.terminate()


CHILD_REGENERATION_ENTRIES = 500  # from here on, regenerating on every core beats starting an interpreter


def _generate_and_send(project: Project, sender) -> None:
    """In the child interpreter: generate, and send the result back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for kb serve, which stops this child itself
    try:
        sender.send(generate(project))
    finally:
        sender.close()


def watch(project: Project, regenerator: Regenerator):
    """A watchdog observer on entries/, templates/ and vocabulary.yml; returns it started."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            if event.event_type in ("created", "modified", "deleted", "moved") and not event.is_directory:
                regenerator.changed(getattr(event, "dest_path", "") or event.src_path)

    observer = Observer()
    handler = Handler()
    for path in watched_paths(project):
        if path.is_dir():
            observer.schedule(handler, str(path), recursive=True)
        elif path.exists():
            observer.schedule(handler, str(path.parent), recursive=False)
    observer.start()
    return observer


def serve(project: Project, dev_addr: str, report: Callable[[Generation], None]) -> int:
    """Run `mkdocs serve` while regenerating on every change; returns MkDocs' exit code.

    MkDocs runs as a child process; it is stopped with this one, also when this one is terminated (SIGTERM).
    """
    regenerator = Regenerator(project, report)
    observer = watch(project, regenerator)
    command = [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", dev_addr, "--livereload"]
    command += ["--config-file", str(project.mkdocs_yml.resolve())]
    child = subprocess.Popen(command, cwd=project.root, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        regenerator.stop()
        observer.stop()
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        observer.join(timeout=5)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
