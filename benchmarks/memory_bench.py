"""Where a full build's memory goes: the peak PSS of each stage, and what a page worker allocates.

    .venv/bin/python benchmarks/memory_bench.py DATA OUT                  # peak PSS per stage
    .venv/bin/python benchmarks/memory_bench.py DATA OUT --trace-workers  # and each page worker's allocations
    .venv/bin/python benchmarks/memory_bench.py DATA OUT --collector      # and the collector's time per process

The first form samples, every 0.2 s (or nine times what a sample took, whichever is longer:
reading a large process's PSS is kernel work, ``run.pause``), the proportional set size (PSS) of the build's whole
process tree and of its main process, says each stage's end as it comes (elapsed seconds,
the stage's peak), and prints at the end, also when the build failed (1M talks runs out of
memory), the highest of each while each stage runs (``lod.progress`` events name the stage)
and between stages. PSS divides a page shared
by forked workers among them, so the tree's figure is the memory the build really holds.

With ``--trace-workers``, each forked worker (``lod.publishing.pages.parallel``) starts
``tracemalloc`` at its first job and, after every job, writes the 30 source lines that
allocated the most of what it still holds to ``OUT.worker-<pid>.txt``: what the worker made
itself, as opposed to the pages of its parent it copied on write (which tracemalloc does
not see: PSS minus this is the copy). Tracing slows the workers about twofold.
The figures are in BENCHMARKS.md, "Where the memory goes".

With ``--collector``, the cyclic garbage collector's own time is taken around each of its
collections (``gc.callbacks``), by generation: the main process's is printed at the end,
and each page worker writes its own to ``OUT.collector-<pid>.txt`` after each job.
``--full-collection-every N`` sets the third threshold the build uses after the validate
stage (``lod.loading.pool.FULL_COLLECTION_EVERY``; 10 is the interpreter's default, so the
build before the tenth round). The figures are in BENCHMARKS.md, "The collector in the
later stages".
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BASE, _tree_pss_kb, pause  # noqa: E402 -- benchmarks/ is not a package

from lod.loading import pool  # noqa: E402
from lod.progress import Finished, Started  # noqa: E402
from lod.publishing.build import build  # noqa: E402
from lod.publishing.pages import parallel  # noqa: E402


def _own_pss_kb() -> int:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


_ORIGINAL_RUN = parallel._run
_TRACE_OUT: list[Path] = []
_JOBS = [0]


def _traced(index: int) -> Any:
    """``parallel._run``, then this worker's allocations written out (module level: the pool pickles it by name)."""
    if not tracemalloc.is_tracing():
        tracemalloc.start(1)
    result = _ORIGINAL_RUN(index)
    _JOBS[0] += 1
    current, peak = tracemalloc.get_traced_memory()
    lines = [f"jobs {_JOBS[0]} current {current / 1e6:.0f} MB peak {peak / 1e6:.0f} MB"]
    lines += [str(stat) for stat in tracemalloc.take_snapshot().statistics("lineno")[:30]]
    Path(f"{_TRACE_OUT[0]}.worker-{os.getpid()}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return result


def trace_workers(out: Path) -> None:
    """Make each page worker write what it allocated after each job (``--trace-workers``)."""
    _TRACE_OUT[:] = [out]
    parallel._run = _traced


class CollectorTimer:
    """The collector's own time in this process, by generation, from ``gc.callbacks``; reset in a forked child."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._on)
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        """Forget what was timed (a forked child times only its own collections)."""
        self.seconds, self.count = [0.0, 0.0, 0.0], [0, 0, 0]

    def _on(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            gen = info["generation"]
            self.seconds[gen] += time.perf_counter() - self._started
            self.count[gen] += 1

    def line(self) -> str:
        """The totals, on one line."""
        by_gen = ", ".join(f"gen {g}: {n} in {t:.2f} s" for g, (n, t) in enumerate(zip(self.count, self.seconds)))
        return f"collector {sum(self.seconds):.2f} s ({by_gen})"


_TIMER: list[CollectorTimer] = []
_BEFORE_TIMED = parallel._run


def _timed(index: int) -> Any:
    """``parallel._run`` (traced or not), then this worker's collector time written out."""
    result = _BEFORE_TIMED(index)
    Path(f"{_TRACE_OUT[0]}.collector-{os.getpid()}.txt").write_text(_TIMER[0].line() + "\n", encoding="utf-8")
    return result


def time_collector(out: Path) -> CollectorTimer:
    """Time the collector in this process and in each page worker (``--collector``)."""
    global _BEFORE_TIMED
    for stale in out.parent.glob(out.name + ".collector-*.txt"):  # an earlier run's workers
        stale.unlink()
    _TRACE_OUT[:] = [out]
    _TIMER[:] = [CollectorTimer()]
    _BEFORE_TIMED = parallel._run
    parallel._run = _timed
    return _TIMER[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--trace-workers", action="store_true")
    ap.add_argument("--collector", action="store_true", help="time the cyclic collector in each process")
    ap.add_argument("--full-collection-every", type=int, default=pool.FULL_COLLECTION_EVERY,
                    help="the collector's third threshold after validation (default: the build's)")
    args = ap.parse_args()
    pool.FULL_COLLECTION_EVERY = args.full_collection_every
    if args.trace_workers:
        trace_workers(Path(args.out))
    timer = time_collector(Path(args.out)) if args.collector else None
    stage = ["start"]
    order: list[str] = []
    peaks: dict[str, list[int]] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            tree, own = _tree_pss_kb(os.getpid()), _own_pss_kb()
            if stage[0] not in peaks:
                order.append(stage[0])
            peak = peaks.setdefault(stage[0], [0, 0])
            if tree > peak[0]:
                peak[:] = [tree, own]
            stop.wait(pause(0.2, time.perf_counter() - t))

    def progress(event: object) -> None:
        if isinstance(event, Started):
            stage[0] = event.stage
        elif isinstance(event, Finished):
            # Said as each stage ends, so a build that fails (out of memory) still tells how far it got.
            tree = peaks.get(event.stage, [0, 0])[0]
            peak = f"its peak tree PSS {tree / 1024:.0f} MB" if tree else "too short to sample"
            print(f"{time.perf_counter() - t0:7.1f} s  {event.stage} done; {peak}", flush=True)
            stage[0] = "after " + event.stage

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    failed: BaseException | None = None
    try:
        result = build(args.data, args.out, BASE, progress=progress)
    except (Exception, KeyboardInterrupt) as exc:  # the peaks up to the failure are the measurement
        failed = exc
    stop.set()
    sampler.join()
    if failed is None:
        print(f"{time.perf_counter() - t0:.1f} s, {result.files} files; stage seconds: "
              + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    else:
        print(f"{time.perf_counter() - t0:.1f} s: the build failed in stage {stage[0]!r}: {failed}")
    print(f"{'while':<16} {'tree PSS MB':>12} {'main PSS MB':>12}")
    for name in order:
        tree, own = peaks[name]
        print(f"{name:<16} {tree / 1024:>12.0f} {own / 1024:>12.0f}")
    if timer is not None:
        print("main process:", timer.line())
        for path in sorted(Path(args.out).parent.glob(Path(args.out).name + ".collector-*.txt")):
            print(f"page worker {path.name.rsplit('-', 1)[1][:-4]}:", path.read_text(encoding="utf-8").strip())
    return 0 if failed is None else 1


if __name__ == "__main__":
    sys.exit(main())
