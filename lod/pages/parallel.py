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

_TASK: Callable[[Any], Any] | None = None  # the function of the current fork_map, inherited by the workers


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


def _run(arg: Any) -> Any:
    assert _TASK is not None
    return _TASK(arg)


def fork_map(fn: Callable[[T], R], args: Sequence[T], workers: int) -> Iterator[R]:
    """``map(fn, args)`` in order, on *workers* forked processes (in this process if one).

    *fn* may be a closure: the workers are forked after it is set, so it is never pickled.
    Each result is yielded as soon as it and those before it are done.
    """
    global _TASK
    if workers <= 1 or len(args) <= 1:
        yield from map(fn, args)
        return
    _TASK = fn
    # Objects made before the fork are left out of the workers' garbage collections: a
    # collection touches every object it scans, and each page it touches is copied.
    gc.freeze()
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(workers, len(args))) as pool:
            yield from pool.imap(_run, args)
    finally:
        _TASK = None
        gc.unfreeze()
