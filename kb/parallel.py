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
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
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
        pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_leave_interrupts_to_parent)
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


def _leave_interrupts_to_parent() -> None:
    """Ctrl-C reaches every process of the terminal's group; only the parent should answer it (once)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
