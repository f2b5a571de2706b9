"""The `kb build` and `kb serve` pipelines: validate -> link -> render -> site engine (MkDocs or Zensical).

Generation is a plain pre-build step (not an MkDocs plugin), so its output can be read and diffed and it works
with either engine (kb.engines). Each generation also brings the theme folder .cache/theme up to date (the
package's theme files with the knowledge base's overrides, kb.defaults). `build_site` runs the engine's strict
build into a temporary folder and only swaps it into site/ when it succeeded, so a failed build never leaves a
broken or half-written site behind. `serve` regenerates docs/ whenever entries/, templates/ or vocabulary.yml
change, keeping a `Memory` between regenerations so that an edit re-reads one entry and re-renders only the pages
that show it; the engine's own server, watching docs/, then rebuilds and reloads the browser, behind kb's preview
server (kb.preview), which keeps the last good pages served and shows a broken edit's errors.

Only one run at a time writes a knowledge base's docs/ and site/: every generation (and a build's MkDocs run and
swap) holds `build_lock`, and a second run waits for it, saying so. A folder that cannot be written is reported
as a `WriteError` naming it (kb.atomic); a run killed part way leaves working folders that the next build removes.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import ipaddress
import multiprocessing
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

try:
    import fcntl
except ImportError:  # Windows: runs are not serialised there
    fcntl = None

from kb import engines, preview
from kb.atomic import WriteError, is_operator_error, write_error, writing
from kb.defaults import DEFAULTS_DIR, THEME_DIR, THEME_OVERRIDES, layered
from kb.engines import Engine
from kb.link import link_studies
from kb.load import gc_frozen, gc_paused
from kb.parallel import child_command, die_with_parent, job_count
from kb.problems import ERROR, Problem, ProblemError, display_path
from kb.project import Project
from kb.render import WriteReport, render_site
from kb.render.output import remove_abandoned, sync_folder
from kb.render.reuse import RenderMemory
from kb.validate import CheckMemory, validate_entries
from kb.vocabulary import load_vocabulary

Progress = Callable[[Iterable], Iterable] | None
MKDOCS = engines.engine_named(engines.DEFAULT_ENGINE)
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


@dataclass
class Memory:
    """What `kb serve` keeps between regenerations: each entry's checks (keyed by its bytes) and each page's
    inputs (kb.render.reuse), so that an edit re-reads one file and re-renders only the pages that show it."""

    checks: CheckMemory = field(default_factory=CheckMemory)
    pages: RenderMemory = field(default_factory=RenderMemory)


def generate(
    project: Project, progress: Progress = None, render_progress: Progress = None, memory: Memory | None = None
) -> Generation:
    """Validate every entry and, if none has an error, write the generated pages into docs/ (`progress` and
    `render_progress` wrap the entries while validating and the studies while rendering: the bars on a terminal).
    With `memory`, what an earlier run checked and rendered is reused where its inputs did not change.
    Raises `WriteError` when docs/ (or .cache/, for the lock) cannot be written."""
    with build_lock(project):
        return _generate(project, progress, render_progress, memory)


def _generate(project: Project, progress: Progress, render_progress: Progress, memory: Memory | None) -> Generation:
    started = time.perf_counter()
    try:
        vocabulary = load_vocabulary(project.vocabulary_path)
        paths = project.entry_paths()
        foreign = project.foreign_links()
        if foreign:
            return Generation(problems=foreign, seconds=time.perf_counter() - started)
        assemble_theme(project)
        with gc_paused(keep_after=True):
            checks = memory.checks if memory else None
            result = validate_entries(paths, vocabulary, others=paths, progress=progress, memory=checks)
            if not result.ok():
                return Generation(problems=result.problems, seconds=time.perf_counter() - started)
            links = link_studies(result.studies)
    except ProblemError as error:
        return Generation(problems=[error.problem], seconds=time.perf_counter() - started)
    try:
        with gc_frozen(), writing(project.docs_dir):
            pages = memory.pages if memory else None
            report = render_site(project, links, vocabulary, site_name(project), render_progress, pages)
    except ProblemError as error:
        return Generation(problems=[error.problem], seconds=time.perf_counter() - started, partial=True)
    return Generation(result.problems, len(result.studies), report, time.perf_counter() - started)


def assemble_theme(project: Project) -> None:
    """Bring the theme folder that mkdocs.yml's `custom_dir` names (.cache/theme) up to date: the generator's
    theme files with the knowledge base's templates/overrides/ on top (kb.defaults). One plain folder, because
    that is what every engine reading mkdocs.yml understands; unchanged files are not rewritten, so a running
    `mkdocs serve` rebuilds only when the theme really changed."""
    files = layered(project.templates_dir / THEME_OVERRIDES, THEME_DIR)
    with writing(project.cache_dir):
        sync_folder(project.theme_dir, {name: path.read_bytes() for name, path in files.items()})


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


def build_site(
    project: Project, progress: Progress = None, render_progress: Progress = None, engine: Engine = MKDOCS
) -> BuildResult:
    """Generate, then build with the site engine into a temporary folder, and replace site/ only if that succeeded.

    Raises `WriteError` when docs/, .cache/ or site/ cannot be written; site/ is then left as it was."""
    if not project.mkdocs_yml.is_file():
        problem = Problem(display_path(project.mkdocs_yml), 1, 1, ERROR, "no mkdocs.yml in the knowledge base folder")
        return BuildResult(Generation(problems=[problem]))
    with build_lock(project):
        remove_abandoned(project.cache_dir, SITE_STAGING_PREFIX)
        generation = _generate(project, progress, render_progress, None)
        if not generation.ok:
            return BuildResult(generation)
        with writing(project.cache_dir):
            staging = Path(tempfile.mkdtemp(prefix=f"{SITE_STAGING_PREFIX}{os.getpid()}-", dir=project.cache_dir))
        try:
            return _build_into(project, generation, staging, engine)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


SITE_STAGING_PREFIX = "site-"  # .cache/site-<pid>-<random>/: the engine's output, until it replaces site/


def _build_into(project: Project, generation: Generation, staging: Path, engine: Engine) -> BuildResult:
    """The site engine (and Pagefind) into `staging`, then `staging` in place of site/ if both succeeded."""
    started = time.perf_counter()
    completed = run_engine(engine, project, staging)
    seconds = time.perf_counter() - started
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        _raise_disk_error(output, project.cache_dir)
        return BuildResult(generation, output, seconds)
    if search_backend(project) == "pagefind":
        indexed = run_pagefind(staging)
        if indexed.returncode != 0:
            _raise_disk_error(indexed.stderr, project.cache_dir)
            return BuildResult(generation, output + indexed.stderr, seconds)
    with writing(project.site_dir):
        _swap_into_place(staging, project.site_dir)
    return BuildResult(generation, output, seconds, built=True)


# The last line of a Python traceback (MkDocs), or a Rust error (Pagefind): "[Errno 28] ...", "(os error 28)"
_OS_ERROR_LINE = re.compile(r"(?:\[Errno (\d+)\]|\(os error (\d+)\))([^\n]*)")
_QUOTED = re.compile(r"'([^'\n]+)'")


def _raise_disk_error(output: str, cache: Path) -> None:
    """MkDocs and Pagefind print a traceback when they cannot write their output into .cache/: if that is why
    they failed, raise the `WriteError` that names .cache/ instead of relaying the traceback."""
    for match in _OS_ERROR_LINE.finditer(output):
        number = int(match[1] or match[2])
        error = OSError(number, os.strerror(number))
        paths = _QUOTED.findall(match[3])  # 'file', or 'source' -> 'target'
        if is_operator_error(error) and (not paths or any(_is_within(Path(path), cache) for path in paths)):
            raise write_error(error, cache)


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def run_engine(engine: Engine, project: Project, site_dir: Path) -> subprocess.CompletedProcess:
    """The site engine's strict build into `site_dir`, from the project root (the snippets' base path is relative
    to it); kept here by name so that tests can stand in for the engine."""
    return engines.run_build(engine, project, site_dir)


# --- one run at a time --------------------------------------------------------------------------------------


@contextlib.contextmanager
def build_lock(project: Project) -> Iterator[None]:
    """Hold the knowledge base's build lock (.cache/build.lock) for the block: two runs writing docs/ and site/ at
    once would race on their staging folders. A second run waits, and says on stderr what it waits for. The
    kernel drops the lock when its holder ends, `kill -9` included (its workers end with it: kb.parallel)."""
    with writing(project.cache_dir):
        project.cache_dir.mkdir(exist_ok=True)
        handle = os.open(project.build_lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            _acquire(handle, project)
        yield
    finally:
        os.close(handle)  # releases the lock


def _acquire(handle: int, project: Project) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock = display_path(project.build_lock)
        message = f"kb: another kb build or kb serve is writing this knowledge base; waiting for it to finish ({lock})"
        print(message, file=sys.stderr, flush=True)
        fcntl.flock(handle, fcntl.LOCK_EX)


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
    command = child_command("pagefind", "--site", str(site), "--root-selector", PAGEFIND_ROOT)
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
    """What a regeneration reads besides docs/: the knowledge base's files, and the generator's defaults (which
    change only while someone works on kb itself)."""
    return [project.entries_dir, project.templates_dir, project.vocabulary_path, DEFAULTS_DIR]


class Regenerator:
    """Re-runs `generate` shortly after the last change in a burst (an editor saves several files at once),
    keeping a `Memory` between runs so that an edit costs what it touches, not what the knowledge base holds.

    A large knowledge base is regenerated in an interpreter of its own, started once and kept (with its Memory)
    for the whole preview, where `generate` can use every core when many pages change (a template edit): in this
    process, which has threads (the file watcher's, the timer's), it would use one, because forking worker
    processes from a threaded process can deadlock them."""

    def __init__(self, project: Project, report: Callable[[Generation], None]):
        self.project = project
        self.report = report
        self.memory = Memory()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()  # one regeneration at a time
        self._requests: queue.SimpleQueue[bool | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._child: _RegenerationChild | None = None
        self._stopped = False

    def changed(self, path: str) -> None:
        if not self._is_relevant(path):
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(WATCH_DEBOUNCE_SECONDS, self._ask, args=(True,))
            self._timer.daemon = True
            self._timer.start()

    def _is_relevant(self, path: str) -> bool:
        """Entry, template and vocabulary files; not editor backups, nor other files next to vocabulary.yml."""
        changed = Path(path).resolve()
        if changed.name.startswith(".") or changed.name.endswith(("~", ".swp", ".tmp")):
            return False
        if changed == self.project.vocabulary_path.resolve():
            return True
        folders = (self.project.entries_dir.resolve(), self.project.templates_dir.resolve(), DEFAULTS_DIR)
        return any(changed.is_relative_to(folder) for folder in folders)

    def warm(self) -> None:
        """Fill the memory now (a run that finds docs/ up to date writes nothing), so that the first edit is as
        quick as the next ones; in the background, while the engine builds the site."""
        self._ask(report=False)

    def _ask(self, report: bool) -> None:
        """Queue a regeneration for the worker thread, which runs them one after the other. One thread does all
        of them because the regeneration child dies with the thread that started it (Linux's parent-death
        signal follows the thread), so it must be a thread that lives as long as the preview."""
        with self._lock:
            if self._stopped:
                return
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="kb-regenerate", daemon=True)
                self._worker.start()
        self._requests.put(report)

    def _work(self) -> None:
        while (report := self._requests.get()) is not None:
            while not self._requests.empty():  # changes that came in meanwhile: one run covers them all
                later = self._requests.get()
                if later is None:
                    return
                report = report or later
            generation = self._regenerate()
            if report and not self._stopped:  # a run cut short by stopping kb serve is no news
                self.report(generation)

    def _regenerate(self) -> Generation:
        with self._run_lock:
            if self._is_large():
                return self._generate_in_child()
            return regenerate(self.project, self.memory)

    def _is_large(self) -> bool:
        return len(self.project.entry_paths()) >= CHILD_REGENERATION_ENTRIES and job_count() > 1

    def _generate_in_child(self) -> Generation:
        with self._lock:
            if self._stopped:
                return Generation(problems=[self._problem("kb serve is stopping; nothing was regenerated")])
            if self._child is None:
                self._child = _RegenerationChild(self.project)
            child = self._child
        generation = child.regenerate()
        if generation is None:  # the child ended without an answer: stopped with kb serve, or killed
            with self._lock:
                if self._child is child:
                    self._child = None  # the next change starts a new one
            return Generation(problems=[self._problem("regeneration stopped before it finished")])
        return generation

    def _problem(self, message: str) -> Problem:
        return Problem(display_path(self.project.entries_dir), 1, 1, ERROR, message)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
            if self._child is not None:
                self._child.stop()
        self._requests.put(None)


CHILD_REGENERATION_ENTRIES = 500  # from here on, regenerating on every core beats starting an interpreter


class _RegenerationChild:
    """An interpreter that regenerates whenever asked, keeping its `Memory` from one run to the next."""

    def __init__(self, project: Project):
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        # Not a daemon: a daemon process may not start the worker processes that generate uses.
        self._process = context.Process(target=_regenerate_on_request, args=(project, theirs, os.getpid()))
        self._process.start()
        theirs.close()

    def regenerate(self) -> Generation | None:
        """The next generation, or None when the child is gone."""
        try:
            self._connection.send(True)
            return self._connection.recv()
        except (EOFError, OSError):
            self.stop()
            return None

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.kill()  # it ignores SIGTERM, which reaches kb serve's whole process group
        self._process.join(timeout=STOP_PATIENCE_SECONDS)
        self._connection.close()


def regenerate(project: Project, memory: Memory | None = None) -> Generation:
    """`generate` for `kb serve`: a folder that cannot be written is one more problem to show, and the preview
    goes on (the operator can fix it while it runs)."""
    try:
        return generate(project, memory=memory)
    except WriteError as error:
        return Generation(problems=[Problem(display_path(error.folder), 1, 1, ERROR, str(error))], partial=True)


def _regenerate_on_request(project: Project, connection, parent: int) -> None:
    """In the child interpreter: one generation per request, with one Memory for all of them."""
    for number in STOP_SIGNALS:  # Ctrl-C and SIGTERM are for kb serve, which stops this child itself
        signal.signal(number, signal.SIG_IGN)
    die_with_parent(parent)
    memory = Memory()
    try:
        while connection.recv():
            connection.send(regenerate(project, memory))
    except EOFError:  # kb serve closed its end
        pass
    finally:
        connection.close()


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


def address_problem(dev_addr: str) -> str | None:
    """Why `mkdocs serve` could not listen on HOST:PORT, or None: checked before generating, so that a busy port
    is one clear line at once rather than MkDocs' traceback after the generation."""
    host, port = _split_address(dev_addr)
    if not host or not port.isdigit() or int(port) > 65535:
        return f"{dev_addr!r} is not HOST:PORT; use e.g. --dev-addr 127.0.0.1:8000"
    try:
        _try_listening(host, int(port))
    except OSError as error:
        return f"cannot serve on {dev_addr}: {_listen_advice(error, host)}"
    return None


def _try_listening(host: str, port: int) -> None:
    """Bind HOST:PORT the way MkDocs' server does (IPv6 for an IPv6 address; a port in TIME_WAIT counts as free)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a host name, such as localhost
        family = socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _listen_advice(error: OSError, host: str) -> str:
    another = f"choose another port, e.g. kb serve --dev-addr {host}:8001"
    if error.errno == errno.EADDRINUSE:
        return f"the port is in use (another kb serve?); stop what uses it or {another}"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied (ports below 1024 need privileges); {another}"
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return "no such address on this machine; use 127.0.0.1 (this machine only) or 0.0.0.0 (every address)"
    return f"{error.strerror or error}; {another}"


def serve(project: Project, dev_addr: str, report: Callable[[Generation], None], engine: Engine = MKDOCS) -> int:
    """Run the engine's live preview while regenerating on every change; returns the engine's exit code.

    The engine listens on a private port behind kb's preview server (kb.preview) on `dev_addr`, which keeps the
    last good pages served while the engine rebuilds and shows a broken edit's errors on the page. The engine runs
    in a process group of its own, which is stopped with this process, whether by Ctrl-C or SIGTERM (and, being
    tied to it, it also ends when this process is killed outright): the port is never left taken.
    """
    state = preview.PreviewState()

    def regenerated(generation: Generation) -> None:
        state.set([] if generation.ok else [problem.format() for problem in generation.problems])
        report(generation)

    regenerator = Regenerator(project, regenerated)
    regenerator.warm()
    observer = watch(project, regenerator)
    host, port = _split_address(dev_addr)  # checked by address_problem before
    upstream = ("127.0.0.1", _free_port())
    proxy = preview.make_server((host, int(port)), upstream, state)
    threading.Thread(target=proxy.serve_forever, name="kb-preview", daemon=True).start()
    saved = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    signal.signal(signal.SIGTERM, _raise_interrupt)
    with engines.serving(engine, project, f"{upstream[0]}:{upstream[1]}") as command:
        child = subprocess.Popen(command, cwd=project.root, env=engines.environment(), start_new_session=True)
        try:
            return _wait_interruptibly(child)
        finally:
            with _signals_ignored(saved):  # a second Ctrl-C must not cut the clean-up short
                regenerator.stop()
                observer.stop()
                _stop_process_group(child)
                proxy.shutdown()
                proxy.server_close()
                observer.join(timeout=5)


SIGNAL_CHECK_SECONDS = 0.5


def _wait_interruptibly(child: subprocess.Popen) -> int:
    """`child.wait()`, but back in Python twice a second: a signal the kernel hands to another of this process's
    threads (the watcher's, the regeneration's) does not interrupt a blocking wait in the main thread, and Python
    runs signal handlers (Ctrl-C, SIGTERM: stop kb serve) only in the main thread."""
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return child.wait(timeout=SIGNAL_CHECK_SECONDS)


def _split_address(dev_addr: str) -> tuple[str, str]:
    """HOST:PORT (or [IPv6]:PORT) as its host and its port text."""
    host, _, port = dev_addr.rpartition(":")
    return host.strip("[]"), port


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_ignored(restore: dict) -> Iterator[None]:
    """Ignore the signals named in `restore` during the block, then give them the handlers `restore` says."""
    for number in restore:
        signal.signal(number, signal.SIG_IGN)
    try:
        yield
    finally:
        for number, handler in restore.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


STOP_PATIENCE_SECONDS = 10


def _stop_process_group(child: subprocess.Popen) -> None:
    """Stop `child` and every process in its group: politely first, then for good."""
    for stop in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        if child.poll() is not None:  # ended and reaped: its process id may belong to someone else now
            return
        if hasattr(os, "killpg"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, stop)
        else:
            child.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=STOP_PATIENCE_SECONDS)
