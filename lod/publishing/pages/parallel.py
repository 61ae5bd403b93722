"""Forked workers for the pages stage: the same work, split in slices over the cores.

The workers are forked (``multiprocessing`` 'fork' context), so they inherit the prepared
dataset, the site index and everything built before the fork without pickling any of it;
only each slice's arguments and its result cross a pipe. An exception in a worker is
raised again in the parent, with its type and arguments (``multiprocessing.Pool``), so a
parallel build fails the way an in-process one does.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many pages (or calendars) a stage renders in-process: forking costs more than it saves.
PARALLEL_THRESHOLD = 2000

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


def slices(items: Sequence[T], workers: int, per_worker: int = 8) -> list[Sequence[T]]:
    """*items* cut into consecutive slices, several per worker so that a slow slice does not leave a core idle."""
    if not items:
        return []
    n = max(1, min(len(items), workers * per_worker))
    size = -(-len(items) // n)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _run(index: int) -> Any:
    assert _TASK is not None
    return _TASK(_ARGS[index])


def fork_map(fn: Callable[[T], R], args: Sequence[T], workers: int) -> Iterator[R]:
    """``map(fn, args)`` in order, on *workers* forked processes (in this process if one).

    *fn* may be a closure and *args* anything: the workers are forked after both are set,
    so neither is pickled; only the results are.
    Each result is yielded as soon as it and those before it are done.
    """
    global _TASK, _ARGS
    if workers <= 1 or len(args) <= 1:
        yield from map(fn, args)
        return
    _TASK, _ARGS = fn, args
    # Objects made before the fork are left out of the workers' garbage collections: a
    # collection touches every object it scans, and each page it touches is copied.
    gc.freeze()
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(workers, len(args))) as pool:
            yield from pool.imap(_run, range(len(args)))
    finally:
        _TASK, _ARGS = None, ()
        gc.unfreeze()
