"""Parse the record files of a large data folder on every core.

Parsing a file (YAML composition and field conversion) needs nothing from the other files,
so forked workers, one per core, each parse contiguous slices of the sorted files and send
back, per file, its Ops (lod.loading.files.Insert, SiteBlock, errors) in the order the serial
reader made them, pickled there. The build keeps each file's parse pickled for its state, and
a pickle made in the parent would leave a UTF-8 copy cached on every non-ASCII string of its
records for the rest of the build (10 MB at 10k talks when the parent parsed half the files
itself). So the parent parses nothing: it unpickles each file's parse and enters it, which
takes it about a third of the time a worker takes to parse the file, so it keeps pace (the
load at 10k talks is 0.2 s faster than when the parent parsed a share). The
parent enters them file by file with the same ``Merger`` as the serial path, so the Dataset,
the duplicate-id checks and every error message come out exactly as in one process.

Two cases go back to the parent: a file with a 'site:' block (whether it is the first depends
on the files before it) and any slice whose worker failed or died; the parent parses those
itself, in order, and so reports what the serial path would have.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from lod.errors import Location, RecordError


class Merger(Protocol):
    """What parses are entered into, in file order (``lod.loading.files.Merger``, or a build's collector)."""

    site_loc: Any  # where the site block was met (None before), or SiteNeedsMerge to refuse one

    def add(self, rel: str, is_record_file: bool, ops: list[Any], blob: bytes | None = None) -> None:
        """Enter one file's parse; *blob* is ``(rel, is_record_file, ops)`` pickled, when a worker pickled it."""

Parsed = tuple[str, bool, list[Any]]
CHUNKS_PER_WORKER = 4
# Parse on several cores only when there is enough to share: forking and sending the
# records back costs more than parsing a few small files. Tests lower these.
PARALLEL_MIN_FILES = 64
PARALLEL_MIN_BYTES = 4 * 2**20  # several slices per worker, so that the parent merges while workers still parse


class SiteNeedsMerge(Exception):
    """Raised while parsing apart from the other files on meeting 'site:': whether it is the first
    site block depends on the files before it, so the file is parsed again while merging."""


# lod.loading.files.read_file, passed in by lod.loading.files: this module is below it (no import cycle).
ReadFile = Callable[[Path, Path, Location | None | SiteNeedsMerge], Parsed]  # read_file's answer, errors as plain tuples (RecordError does not unpickle)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading makes millions of objects that all live on
    (records, locations) and no cycles, so each collection only re-walks them (~15% of the time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# The collector's third threshold while the later stages run: a full collection after this many
# collections of the middle generation, not the default 10 (``rare_full_collections``).
FULL_COLLECTION_EVERY = 1000


@contextlib.contextmanager
def rare_full_collections() -> Iterator[None]:
    """Make the collector's full collections a hundred times rarer, the young ones unchanged.

    The pages stage keeps what it makes for reuse and for the next build's state (list items,
    read-sets, answers' digests): millions of objects that live on and hold few cycles. Every
    full collection walks all of them: at the default thresholds a 100k-talk build spent 25 s
    of its own process's CPU and 16 s of its page worker's in about a hundred of them, and
    6 s and 4 s with this (BENCHMARKS.md, "The collector in the later stages"). The garbage a
    page leaves in cycles is young, and the young collections still free it; what reaches the
    old generation is freed later (about 70 MB more at the peak at 100k, within the runs' noise).
    """
    first, second, third = gc.get_threshold()
    gc.set_threshold(first, second, max(third, FULL_COLLECTION_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(first, second, third)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_file reports it


def parse_files(root: Path, paths: list[Path], merger: Merger, read_file: ReadFile) -> None:
    """Parse *paths* (sorted, under *root*) with *read_file* into *merger*, in parallel when they are many and large."""
    cores = min(_cores(), 8)
    # Fork only a single-threaded process: a lock held by another thread at the fork would stay
    # held in the worker for ever (the build's CLI loads from its only thread).
    if (cores >= 2 and len(paths) >= PARALLEL_MIN_FILES and threading.active_count() == 1
            and "fork" in multiprocessing.get_all_start_methods()):
        sizes = [_size(p) for p in paths]
        if sum(sizes) >= PARALLEL_MIN_BYTES:
            _parse_parallel(root, paths, sizes, cores, merger, read_file)
            return
    for path in paths:
        merger.add(*read_file(root, path, merger.site_loc))


def _slices(paths: list[Path], sizes: list[int], n: int) -> list[list[Path]]:
    """*paths* cut into at most *n* contiguous slices of about equal bytes."""
    total = sum(sizes) or 1
    out: list[list[Path]] = [[]]
    done = 0
    for path, size in zip(paths, sizes):
        if out[-1] and done >= total * len(out) / n:
            out.append([])
        out[-1].append(path)
        done += size
    return out


def _parse_parallel(root: Path, paths: list[Path], sizes: list[int], cores: int, merger: Merger,
                    read_file: ReadFile) -> None:
    slices = _slices(paths, sizes, cores * CHUNKS_PER_WORKER)
    # fork: the workers start at once with the modules loaded, and no records cross to them.
    with ProcessPoolExecutor(max_workers=cores, mp_context=multiprocessing.get_context("fork")) as pool:
        futures: list[Future[list[Parsed | bytes | None]] | None] = []
        for part in slices:
            try:
                futures.append(pool.submit(_slice_job, root, part, read_file))
            except Exception:  # could not start a worker: this slice is parsed here
                futures.append(None)
        for part, future in zip(slices, futures):
            results: list[Parsed | bytes | None] | None = None
            if future is not None:
                try:
                    results = future.result()
                except Exception:  # the worker raised or died (BrokenProcessPool): parse here, as serially
                    results = None
            if results is None:
                results = [None] * len(part)
            for path, parsed in zip(part, results):
                if parsed is None:
                    merger.add(*read_file(root, path, merger.site_loc))
                elif isinstance(parsed, bytes):
                    rel, is_record_file, ops = pickle.loads(parsed)
                    merger.add(rel, is_record_file, ops, parsed)
                else:
                    rel, is_record_file, ops = parsed
                    merger.add(rel, is_record_file,
                               [RecordError(*op) if type(op) is tuple else op for op in ops])


def _slice_job(root: Path, paths: list[Path], read_file: ReadFile) -> list[Parsed | bytes | None]:
    """What a worker runs: _parse_slice found by name in the (forked) worker, so that tests can
    replace it with a failing one before the fork."""
    return _parse_slice(root, paths, read_file)


def _parse_slice(root: Path, paths: list[Path], read_file: ReadFile) -> list[Parsed | bytes | None]:
    """In a worker: each file's read_file answer, pickled if it holds no error (errors as plain
    tuples, unpickled), or None for a file the parent must parse."""
    out: list[Parsed | bytes | None] = []
    with no_gc():
        for path in paths:
            try:
                rel, is_record_file, ops = read_file(root, path, SiteNeedsMerge())
            except SiteNeedsMerge:
                out.append(None)
                continue
            if not any(isinstance(op, RecordError) for op in ops):
                out.append(pickle.dumps((rel, is_record_file, ops), pickle.HIGHEST_PROTOCOL))
                continue
            out.append((rel, is_record_file,
                        [(op.location, op.field, op.problem, op.fix) if isinstance(op, RecordError) else op for op in ops]))
    return out
