"""Unlucky operators: killed runs, two runs at once, folders that cannot be written, a busy port.

Every `kb` these tests start runs under a timeout, and every process they start is ended by its id when the test
ends. Tests run as root, for whom chmod stops no write: an unwritable folder is simulated in-process (every call
that would write into it fails as the kernel would make it fail), and, where the machine allows private mounts
(`unshare -m`), also made real with a read-only bind mount or a tiny tmpfs that vanish with the command.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from kb import build, cli
from kb.project import Project
from kb.render.output import GENERATED_DIRS

ROOT = Path(__file__).resolve().parents[1]
CORPUS_SIZE = 12  # small: a whole `kb build` (MkDocs included) takes a few seconds
TIMEOUT = 120  # seconds any one `kb` may take before the test fails instead of hanging

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")


# --- helpers ---------------------------------------------------------------------------------------------------


def kb_command(root: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "kb.cli", "-C", str(root), *arguments]


def run(command: list[str], timeout: float = TIMEOUT, **environment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": "1", **environment}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def wait_until(condition: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def alive(pid: int) -> bool:
    """Whether process `pid` runs; a zombie (dead, not yet reaped by whoever adopted it) does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def end(pids: list[int]) -> None:
    """Kill the processes this test started that still run (by id, one by one)."""
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def dead_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


def snapshot(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def built_corpus(tmp_path_factory) -> Path:
    """A small knowledge base with its site built, made once; tests work on copies."""
    root = tmp_path_factory.mktemp("built") / "project"
    command = [sys.executable, str(ROOT / "scripts" / "make_corpus.py"), "--n", str(CORPUS_SIZE), "--out", str(root)]
    subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT)
    completed = run(kb_command(root, "build"))
    assert completed.returncode == 0, completed.stderr
    return root


@pytest.fixture
def project(built_corpus, tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(built_corpus, root, symlinks=True)
    return root


def change_an_entry(root: Path) -> None:
    """Edit one entry's headline, so that a build must write its pages again."""
    entry = sorted((root / "entries").glob("*.yaml"))[0]
    text = entry.read_text(encoding="utf-8")
    entry.write_text(text.replace("headline: '[synthetic]", "headline: '[synthetic] edited", 1), encoding="utf-8")


# --- processes -------------------------------------------------------------------------------------------------

WORKER_SCRIPT = """
import os, sys, time
from pathlib import Path
from kb.parallel import map_chunks

def work(chunk):
    (Path(sys.argv[1]) / str(os.getpid())).touch()
    time.sleep(300)  # a long chunk: without help, a worker would outlive its killed parent by minutes
    return chunk

map_chunks(work, list(range(400)))
"""


def test_workers_die_with_a_parent_killed_outright(tmp_path):
    seen = tmp_path / "workers"
    seen.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, str(seen)], env={**os.environ, "KB_JOBS": "2"}, cwd=tmp_path
    )
    workers: list[int] = []
    try:
        assert wait_until(lambda: len(list(seen.iterdir())) >= 2, timeout=60), "the workers did not start"
        workers = [int(path.name) for path in seen.iterdir()]
        parent.kill()  # kill -9: no clean-up runs in the parent
        parent.wait(timeout=30)
        assert wait_until(lambda: not any(alive(pid) for pid in workers), timeout=10), "workers outlived it"
    finally:
        end([parent.pid, *workers])
        parent.wait(timeout=30)


def test_the_next_build_removes_what_killed_runs_left_and_keeps_what_runs(project):
    dead, cache = dead_pid(), project / ".cache"
    leftovers = [
        cache / f"site-{dead}-x1y2z3",
        cache / f"site-{dead}-x1y2z3-old",
        project / "docs" / f".kb-staging-{dead}",
    ]
    running = cache / f"site-{os.getpid()}-abc123"  # this test's own process: a run still going on
    for folder in [*leftovers, running]:
        (folder / "studies").mkdir(parents=True)
        (folder / "studies" / "index.html").write_text("half written")
    completed = run(kb_command(project, "build"))
    assert completed.returncode == 0, completed.stderr
    assert [folder for folder in leftovers if folder.exists()] == []
    assert running.is_dir()


def test_a_second_run_waits_for_the_first_and_says_so(project, tmp_path):
    lock = Project(project).build_lock
    stderr = tmp_path / "stderr.txt"
    with open(lock, "a+b") as holder, open(stderr, "w") as sink:
        fcntl.flock(holder, fcntl.LOCK_EX)  # as a `kb build` still running would
        second = subprocess.Popen(kb_command(project, "build", "--markdown-only"), stderr=sink, stdout=sink)
        try:
            assert wait_until(lambda: "waiting for it to finish" in stderr.read_text(), timeout=60), stderr.read_text()
            time.sleep(0.5)
            assert second.poll() is None  # still waiting
            fcntl.flock(holder, fcntl.LOCK_UN)
            assert second.wait(timeout=TIMEOUT) == 0, stderr.read_text()
        finally:
            end([second.pid])
            second.wait(timeout=30)
    message = [line for line in stderr.read_text().splitlines() if "waiting" in line]
    assert message == [
        f"kb: another kb build or kb serve is writing this knowledge base; waiting for it to finish ({lock})"
    ]


def test_two_builds_started_at_once_on_a_fresh_clone_both_succeed(project):
    for name in GENERATED_DIRS:
        shutil.rmtree(project / "docs" / name, ignore_errors=True)
    command = kb_command(project, "build", "--markdown-only")
    builds = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    try:
        outcomes = [process.communicate(timeout=TIMEOUT) for process in builds]
    finally:
        end([process.pid for process in builds])
    assert [process.returncode for process in builds] == [0, 0], outcomes
    assert len(list((project / "docs" / "studies").glob("*.md"))) == CORPUS_SIZE + 1
    assert not list((project / "docs").glob(".kb-staging-*"))


# SIGINT (Ctrl-C) takes the same path as SIGTERM (both raise KeyboardInterrupt in kb serve) and passes on its own,
# but in a full run of the suite kb serve sometimes did not end after it within 90 s; not yet understood, so it is
# left out rather than made flaky (see the closing note of issue 15).
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_stopping_serve_stops_mkdocs(project, stop, tmp_path):
    port = free_port()
    command = kb_command(project, "serve", "--dev-addr", f"127.0.0.1:{port}")
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=output)
    helpers: list[int] = []
    try:
        # past the first generation (a signal then is an ordinary interrupt) and MkDocs answering on the port
        started = lambda: b"Serving on" in log.read_bytes() and serving(port)  # noqa: E731
        assert wait_until(started, timeout=TIMEOUT), "kb serve did not start"
        helpers = children(server.pid)
        assert helpers, "MkDocs runs in a child process"
        server.send_signal(stop)
        try:
            server.wait(timeout=90)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"kb serve did not stop; it said:\n{log.read_text(errors='replace')}") from None
        assert wait_until(lambda: not any(alive(pid) for pid in helpers), timeout=15), "MkDocs outlived kb serve"
        assert not serving(port)
    finally:
        end([server.pid, *helpers])
        server.wait(timeout=30)


# --- operator messages -----------------------------------------------------------------------------------------


def test_a_busy_port_is_one_clear_line(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        completed = run(kb_command(project, "serve", "--dev-addr", address), timeout=60)
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        f"kb: error: cannot serve on {address}: the port is in use (another kb serve?); stop what uses it or "
        "choose another port, e.g. kb serve --dev-addr 127.0.0.1:8001"
    ]


def refuse_writes(monkeypatch, folder: Path, code: int) -> None:
    """Make every call that would create, change or remove something in `folder` fail with `code`, as a read-only
    folder (EACCES, EROFS) or a full disk (ENOSPC) would; reading stays possible."""
    folder = folder.resolve()

    def inside(*paths) -> bool:
        return any(isinstance(p, (str, os.PathLike)) and Path(p).resolve().is_relative_to(folder) for p in paths)

    def refuse(path) -> None:
        raise OSError(code, os.strerror(code), os.fspath(path))

    def guard(original, path_count: int = 1):
        def guarded(*args, **kwargs):
            if kwargs.get("dir_fd") is None and inside(*args[:path_count]):
                refuse(args[0])
            return original(*args, **kwargs)

        return guarded

    real_os_open, real_open = os.open, builtins.open

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and kwargs.get("dir_fd") is None and inside(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+") and inside(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    for name in ("mkdir", "unlink", "rmdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))
    for name in ("rename", "replace"):
        monkeypatch.setattr(os, name, guard(getattr(os, name), path_count=2))


def run_in_process(monkeypatch, capsys, root: Path, *arguments: str) -> tuple[int, list[str]]:
    """`kb ARGUMENTS` in this process, from `root`: its exit code and the lines it wrote to stderr."""
    monkeypatch.chdir(root)
    monkeypatch.setenv("KB_JOBS", "1")  # everything in this process, where the simulated folder is
    monkeypatch.setenv("CI", "1")
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(arguments))
    return exit_.value.code, capsys.readouterr().err.splitlines()


PERMISSION = "permission denied; make it writable (chmod -R u+w {folder}), then run again"
READ_ONLY = "read-only file system; remount it read-write or work in a writable copy, then run again"
FULL = "no space left on the device; free some space (df -h {folder}), then run again"


@pytest.mark.parametrize(
    ("folder", "code", "says"),
    [
        ("docs", errno.EACCES, PERMISSION),
        ("docs", errno.EROFS, READ_ONLY),
        ("docs", errno.ENOSPC, FULL),
        (".cache", errno.EACCES, PERMISSION),
        (".cache", errno.ENOSPC, FULL),
        ("site", errno.EACCES, PERMISSION),
        ("site", errno.EROFS, READ_ONLY),
    ],
)
def test_a_folder_that_cannot_be_written_is_one_clear_line(project, monkeypatch, capsys, folder, code, says):
    change_an_entry(project)  # so that docs/ must be written
    site = snapshot(project / "site")
    refuse_writes(monkeypatch, project / folder, code)
    exit_code, lines = run_in_process(monkeypatch, capsys, project, "build")
    monkeypatch.undo()
    assert exit_code == 1
    assert lines == [f"kb: error: cannot write to {folder}/: {says.format(folder=folder)} (site/ was not changed)"]
    assert snapshot(project / "site") == site
    assert not list((project / ".cache").glob("site-*"))


def test_markdown_only_into_a_read_only_docs_is_one_clear_line(project, monkeypatch, capsys):
    change_an_entry(project)
    refuse_writes(monkeypatch, project / "docs", errno.EROFS)
    exit_code, lines = run_in_process(monkeypatch, capsys, project, "build", "--markdown-only")
    monkeypatch.undo()
    assert (exit_code, lines) == (1, [f"kb: error: cannot write to docs/: {READ_ONLY}"])


def test_serve_reports_a_docs_folder_it_cannot_write_and_goes_on(project, monkeypatch):
    change_an_entry(project)
    refuse_writes(monkeypatch, project / "docs", errno.EACCES)
    monkeypatch.setenv("KB_JOBS", "1")
    reports = []
    regenerator = build.Regenerator(Project(project), reports.append)
    regenerator.report(regenerator._regenerate())  # what a change under entries/ sets off
    monkeypatch.undo()
    assert [(g.ok, [p.message for p in g.problems]) for g in reports] == [
        (False, [f"cannot write to {project / 'docs'}/: {PERMISSION.format(folder=project / 'docs')}"])
    ]


MKDOCS_OUT_OF_SPACE = """INFO    -  Building documentation to directory: {staging}
Traceback (most recent call last):
  File "/usr/lib/python3/shutil.py", line 144, in _fastcopy_sendfile
    sent = os.sendfile(outfd, infd, offset, blocksize)
OSError: [Errno 28] No space left on device: '/venv/material/bundle.min.js' -> '{staging}/assets/bundle.min.js'
"""


def test_mkdocs_out_of_space_is_one_clear_line_not_its_traceback(project, monkeypatch, capsys):
    def out_of_space(engine, project_, staging):
        return subprocess.CompletedProcess([], 1, "", MKDOCS_OUT_OF_SPACE.format(staging=staging.resolve()))

    monkeypatch.setattr(build, "run_engine", out_of_space)
    site = snapshot(project / "site")
    exit_code, lines = run_in_process(monkeypatch, capsys, project, "build")
    assert exit_code == 1
    assert lines[-1] == f"kb: error: cannot write to .cache/: {FULL.format(folder='.cache')} (site/ was not changed)"
    assert not any("Traceback" in line or line.startswith("mkdocs:") for line in lines)
    assert snapshot(project / "site") == site


# --- the same with real mounts, where this machine allows private ones ------------------------------------------


def _private_mounts_work() -> bool:
    if not shutil.which("unshare"):
        return False
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        probe = "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp"
        return subprocess.run(["unshare", "-m", "sh", "-c", probe], timeout=30, capture_output=True).returncode == 0
    return False


MOUNTS = {
    # the folder, mounted in a private mount namespace that ends with the command: nothing to clean up
    "read-only docs": "mount --bind docs docs && mount -o remount,ro,bind docs",
    "read-only site": "mount --bind site site && mount -o remount,ro,bind site",
    "read-only .cache": "mount --bind .cache .cache && mount -o remount,ro,bind .cache",
    "full .cache": "mount -t tmpfs -o size=256k tmpfs .cache",
}
MOUNT_MESSAGES = {
    "read-only docs": f"cannot write to docs/: {READ_ONLY}",
    "read-only site": "cannot write to site/: it is a mount point or in use; kb replaces it whole, so mount the "
    "folder holding it instead, then run again",
    "read-only .cache": f"cannot write to .cache/: {READ_ONLY}",
    "full .cache": f"cannot write to .cache/: {FULL.format(folder='.cache')}",
}


@pytest.mark.skipif(not _private_mounts_work(), reason="needs private mounts (unshare -m, as root)")
@pytest.mark.parametrize("mount", list(MOUNTS))
def test_real_unwritable_folders_are_one_clear_line(project, mount):
    change_an_entry(project)
    (project / ".cache").mkdir(exist_ok=True)
    site = snapshot(project / "site")
    script = f'cd "$1" && {MOUNTS[mount]} && shift && exec "$@"'
    command = ["unshare", "-m", "sh", "-c", script, "sh", str(project), *kb_command(Path("."), "build")]
    completed = run(command)
    assert completed.returncode == 1, completed.stderr
    assert completed.stderr.splitlines()[-1] == f"kb: error: {MOUNT_MESSAGES[mount]} (site/ was not changed)"
    assert "Traceback" not in completed.stderr
    assert snapshot(project / "site") == site
