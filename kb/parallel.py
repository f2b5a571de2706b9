"""Spreading per-entry work over the machine's cores.

Reading, checking and rendering one entry does not depend on the others, so the pipeline splits the entries
into chunks and hands them to worker processes, one per core:

>>> def lengths(chunk: list[str]) -> list[int]:
...     return [len(word) for word in chunk]
>>> map_chunks(lengths, ["psilocybin", "MDMA"])
[10, 4]

Workers are forked, so they start with the parent's memory (the vocabulary, the linked studies, the compiled
templates) instead of receiving copies: `work` can be any function, closures included, the items are read from
the inherited sequence, and only each chunk's bounds and its results travel between processes. Work runs in the
calling process instead when it is small, when there is one core or `KB_JOBS=1`, and when other threads are
running (`kb serve`'s file watcher): forking a process that has threads can deadlock the child.

Every process kb starts dies with the process that started it (`die_with_parent`), even when that one is killed
with `kill -9`: a worker left behind would sit on its memory, keep the build lock (kb.build) and go on writing.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import runpy
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Progress = Callable[[Iterable], Iterable] | None

MIN_ITEMS_PER_WORKER = 50  # below this, starting a worker costs more than it saves
CHUNKS_PER_WORKER = 8  # enough chunks to even out slow ones, few enough to keep the traffic low
SERIAL_CHUNK = 32  # chunk size in this process: small, so a progress bar still moves smoothly
JOBS_VARIABLE = "KB_JOBS"


def job_count() -> int:
    """Worker processes to use: `KB_JOBS` if set to a positive number, else the cores this process may use."""
    setting = os.environ.get(JOBS_VARIABLE, "").strip()
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def map_chunks(
    work: Callable[[list[Item]], list[Result]], items: Sequence[Item], progress: Progress = None
) -> list[Result]:
    """`work` applied to chunks of `items` (one result per item), results in the order of `items`.

    Exceptions `work` raises reach the caller (they must survive pickling). `progress` wraps the results as
    they arrive (a progress bar on a terminal)."""
    jobs = min(job_count(), len(items) // MIN_ITEMS_PER_WORKER)
    if jobs < 2 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return _collect(_serial(work, items), len(items), progress)
    try:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),))
    except (OSError, NotImplementedError):  # no process semaphores (some sandboxes): stay in this process
        return _collect(_serial(work, items), len(items), progress)
    size = max(1, -(-len(items) // (jobs * CHUNKS_PER_WORKER)))
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    global _work, _items
    # Set before the first task starts the workers, which inherit both: neither is ever pickled (an entry's
    # record costs more to pickle and unpickle than to render).
    _work, _items = work, items
    try:
        with pool:
            return _collect(_flatten(pool.map(_run_chunk, bounds)), len(items), progress)
    except BrokenProcessPool as error:  # a worker was killed (out of memory, a signal): say so, never hang
        raise RuntimeError(f"a worker process stopped unexpectedly; try again with {JOBS_VARIABLE}=1") from error
    finally:
        _work, _items = None, ()


def _collect(results: Iterable[Result], count: int, progress: Progress) -> list[Result]:
    return list(progress(_Sized(results, count)) if progress else results)


_work: Callable[[list], list] | None = None
_items: Sequence = ()


def _run_chunk(bounds: tuple[int, int]) -> list:
    start, end = bounds
    return _work(list(_items[start:end]))


def _start_worker(parent: int) -> None:
    """Ctrl-C reaches every process of the terminal's group; only the parent should answer it (once). A worker
    whose parent is gone has nobody to answer to: it ends too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)


# --- processes that end with their parent ---------------------------------------------------------------------

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
ORPHAN_POLL_SECONDS = 1.0


def die_with_parent(parent: int) -> None:
    """End this process as soon as `parent` (the process that started it) ends, however it ends.

    On Linux the kernel sends SIGKILL when the parent goes (prctl PR_SET_PDEATHSIG); on other systems a daemon
    thread checks every second whether this process was handed to another parent (which POSIX systems do; on
    Windows it is never noticed). A parent that died before this ran is caught by the check at the end."""
    if not _ask_kernel_to_kill_orphan():
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _ask_kernel_to_kill_orphan() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no C library to be found, or one without prctl
        return False


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL_SECONDS)
    os._exit(1)


def child_command(module: str, *arguments: str) -> list[str]:
    """The command line of `python -m module arguments` in a child that dies with this process: MkDocs and
    Pagefind, which would otherwise outlive a killed `kb build` (writing on) or `kb serve` (holding the port)."""
    return [sys.executable, "-c", _CHILD_SCRIPT, str(os.getpid()), module, *arguments]


# kb itself is imported without the working folder on the path (a folder named kb there must not shadow it); the
# module then runs with it, as under `python -m` (MkDocs finds a project's own Markdown extensions there).
_CHILD_SCRIPT = (
    "import sys; here = sys.path.pop(0); from kb.parallel import _run_module_of_parent; "
    "sys.path.insert(0, here); _run_module_of_parent()"
)


def _run_module_of_parent() -> None:
    """In the child of `child_command`: tie this process to its parent, then run the module as `python -m` does."""
    parent, module = int(sys.argv[1]), sys.argv[2]
    del sys.argv[1:3]
    die_with_parent(parent)
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _serial(work: Callable[[list[Item]], list[Result]], items: Sequence[Item]) -> Iterator[Result]:
    for start in range(0, len(items), SERIAL_CHUNK):
        yield from work(list(items[start : start + SERIAL_CHUNK]))


def _flatten(chunks: Iterable[list[Result]]) -> Iterator[Result]:
    for chunk in chunks:
        yield from chunk


class _Sized:
    """An iterator with a length, so a progress bar can show how far along it is."""

    def __init__(self, items: Iterable, length: int):
        self._items, self._length = items, length

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return self._length
