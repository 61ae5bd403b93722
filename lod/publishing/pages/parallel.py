"""Forked workers for the pages stage: the same work, split in slices over the cores.

The workers are forked (``multiprocessing`` 'fork' context), so they inherit the prepared
dataset, the site index and everything built before the fork without pickling any of it;
only each slice's index and its result cross a pipe. An exception in a worker is raised
again in the parent, with its type and arguments, so a parallel build fails the way an
in-process one does.

The parent renders too: on *n* cores it forks *n* - 1 workers and takes slices beside them
from one shared counter. A forked worker copies every page of its parent that it reads
(CPython writes the reference count of each object it touches): at 100k talks about 1.5 GB a
worker. The parent reads its own objects without copying them, so one worker fewer is one
copy fewer, on as many cores (BENCHMARKS.md, "Where the memory goes at 100k").
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from lod.orphans import end_with_parent
from lod.progress import Narrowed, Observer

T = TypeVar("T")
R = TypeVar("R")

# Below this many pages (or calendars) a stage renders in-process: forking costs more than it saves.
PARALLEL_THRESHOLD = 2000

# The longest slice: at 100k talks the pages came in 16 slices of 9,000, at 1M in 8 of 180,000
# (one process), each held whole until it ended.
SLICE_MOST = 2000

# The function and arguments of the current fork_map, inherited by the workers: only an
# index crosses the pipe. Pickling the arguments (slices of talk records) cost more than
# rendering the calendars they were for.
_TASK: Callable[[Any], Any] | None = None
_ARGS: Sequence[Any] = ()


def worker_count(items: int, threshold: int = PARALLEL_THRESHOLD) -> int:
    """How many processes render *items* things: every core at or above *threshold*, else one."""
    if items < threshold or not hasattr(os, "fork"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def memory() -> tuple[int, int] | None:
    """The memory the system has available and this process's resident size, in bytes (None
    where ``/proc`` does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            available = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
        with open("/proc/self/status", encoding="ascii") as f:
            own = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return available * 1024, own * 1024


def affordable(workers: int, say: Observer | None = None) -> int:
    """At most *workers* processes for the pages stage, fewer when the memory available would not
    hold a copy of this process for each one forked.

    A page worker copies each page of its parent it reads (CPython writes the reference count of
    every object it touches), and over its slices it reads most of the records: at 100k talks
    about 1.3 GB beside a parent of 1.5 GB. So each forked worker is counted as a whole copy, and
    half a copy more is kept for what the stage adds to this process. One that would not fit is
    not forked: the pages are the same bytes, made on fewer cores. At 1M talks the build's process
    is about 12 GB when the pages begin, on a machine of 23.5 GB, so none is forked there
    (BENCHMARKS.md, "The pages stage keeps less"). Fewer than *workers* is said to *say*
    (``Narrowed``): the stage then takes longer, and its user should know why.
    """
    got = memory() if workers > 1 else None
    if got is None:
        return workers
    available, own = got
    forked = (available - own // 2) // max(own, 1)
    fit = max(1, min(workers, 1 + forked))
    if fit < workers and say is not None:
        say(Narrowed("pages", fit, workers, own, available))
    return fit


def slices(items: Sequence[T], workers: int, per_worker: int = 8, most: int = SLICE_MOST) -> list[Sequence[T]]:
    """*items* cut into consecutive slices, several per worker so that a slow slice does not leave a core idle,
    and none longer than *most*: what a slice makes is held until it ends (its pages'
    read-sets, and in a rebuild the pages), so the slices stay the same size at any archive size."""
    if not items:
        return []
    n = max(1, min(len(items), max(workers * per_worker, -(-len(items) // most))))
    size = -(-len(items) // n)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _run(index: int) -> Any:
    assert _TASK is not None
    return _TASK(_ARGS[index])


def _claim(counter: Any) -> int:
    """The next slice's index, taken from the counter shared by the parent and the workers."""
    with counter.get_lock():
        index = int(counter.value)
        counter.value = index + 1
    return index


def _work(counter: Any, results: Any, parent: int) -> None:
    """A worker's loop: take slices until none is left, sending each result (or error) back."""
    end_with_parent(parent)
    while (index := _claim(counter)) < len(_ARGS):
        try:
            message: tuple[int, bool, Any] = (index, True, _run(index))
        except BaseException as exc:  # raised again in the parent, which stops the others
            message = (index, False, exc)
        try:
            results.put(message)
        except Exception as exc:  # an unpicklable result or exception
            results.put((index, False, RuntimeError(f"a page worker could not send its result back: {exc!r}")))
        if not message[1]:
            return


def fork_map(fn: Callable[[T], R], args: Sequence[T], workers: int, parent_works: bool = True) -> Iterator[R]:
    """``map(fn, args)`` in order, on *workers* processes: this one and *workers* - 1 forked ones
    (all in this process if one). Without *parent_works*, *workers* forked ones and this one
    only waits: what a slice makes is then never in this process's heap, which would keep its
    freed memory for the workers forked from it later (``changes.check_in_batches``).

    *fn* may be a closure and *args* anything: the workers are forked after both are set,
    so neither is pickled; only the results are. Each process takes the next slice when it
    is free; each result is yielded as soon as it and those before it are done, and the
    first error (in index order) is raised here.
    """
    global _TASK, _ARGS
    if workers <= 1 or len(args) <= 1:
        yield from map(fn, args)
        return
    _TASK, _ARGS = fn, args
    # Objects made before the fork are left out of the workers' garbage collections: a
    # collection touches every object it scans, and each page it touches is copied.
    gc.freeze()
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("q", 0)
    results = ctx.SimpleQueue()
    procs = [ctx.Process(target=_work, args=(counter, results, os.getpid()), daemon=True)
             for _ in range(min(workers, len(args)) - (1 if parent_works else 0))]
    done: dict[int, tuple[bool, Any]] = {}
    # The workers' results are read off the pipe as they come, by a thread: read only between
    # the parent's own slices, a worker whose result filled the pipe waited for the parent's
    # slice to end (2.5 s of 21 at 10k talks).
    arrived: queue.SimpleQueue[tuple[int, bool, Any] | None] = queue.SimpleQueue()
    reader = threading.Thread(target=_drain, args=(results, arrived), daemon=True)
    try:
        for proc in procs:
            proc.start()
        reader.start()
        nxt = 0
        while nxt < len(args):
            if nxt not in done:
                index = _claim(counter) if parent_works else len(args)
                if index < len(args):
                    try:
                        done[index] = (True, fn(args[index]))
                    except BaseException as exc:
                        done[index] = (False, exc)
                else:  # every slice is taken: wait for the workers' next result
                    _receive(arrived, procs, done, wait=True)
            _receive(arrived, procs, done, wait=False)
            while nxt in done:
                ok, value = done.pop(nxt)
                if not ok:
                    raise value
                yield value
                nxt += 1
    finally:
        with counter.get_lock():  # no worker takes another slice
            counter.value = len(args)
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        if reader.is_alive():
            results.put(None)  # after every worker's: the reader stops
            reader.join(timeout=5)
        results.close()
        _TASK, _ARGS = None, ()
        gc.unfreeze()


def _drain(results: Any, arrived: queue.SimpleQueue[tuple[int, bool, Any] | None]) -> None:
    """Move the workers' results off the pipe as they come, until ``None``."""
    while (message := results.get()) is not None:
        arrived.put(message)


def _receive(arrived: queue.SimpleQueue[tuple[int, bool, Any] | None], procs: list[Any],
             done: dict[int, tuple[bool, Any]], wait: bool) -> None:
    """The workers' results arrived so far into *done*; with *wait*, at least one. A worker that
    died without sending its result is an error."""
    while True:
        try:
            message = arrived.get(timeout=0.2) if wait else arrived.get_nowait()
        except queue.Empty:
            if not wait:
                return
            dead = [proc.exitcode for proc in procs if proc.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a page worker stopped without its result (exit code {dead[0]})") from None
            continue
        assert message is not None
        index, ok, value = message
        done[index] = (ok, value)
        wait = False
