"""The pages stage on forked workers writes the same files as in-process, and fails the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lod.publishing.feeds import site_feeds
from lod.publishing.pages import render, stage
from lod.publishing.pages.parallel import fork_map, slices, worker_count
from lod.publishing.pages.relations import SiteIndex
from lod.progress import Checked, Event
from lod.publishing.build import Prepared, prepare
from lod.synth import write_synth

from .conftest import SEED_DATA, TEST_BASE

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    data = tmp_path_factory.mktemp("synth") / "data"
    write_synth(40, data)
    return prepare(data, TEST_BASE)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


@pytest.mark.parametrize("data", ["seed", "synthetic"])
def test_write_pages_parallel_equals_in_process(data: str, synthetic: Prepared, tmp_path: Path) -> None:
    p = synthetic if data == "synthetic" else prepare(SEED_DATA, TEST_BASE)
    before = len(p.report.results)
    events: list[Event] = []
    n_one = stage.write_pages(p, tmp_path / "one", events.append, now=NOW, threshold=10**9)
    one_warnings = p.report.results[before:]
    n_many = stage.write_pages(p, tmp_path / "many", events.append, now=NOW, threshold=1)
    many_warnings = p.report.results[before + len(one_warnings):]
    one, many = _tree(tmp_path / "one"), _tree(tmp_path / "many")
    assert n_one == n_many == len(one)
    assert one == many
    assert one_warnings == many_warnings
    summaries = [e.report.summary() for e in events if isinstance(e, Checked)]
    assert len(summaries) == 2 and summaries[0] == summaries[1]  # the same Google summary


def test_render_site_parallel_equals_in_process(synthetic: Prepared) -> None:
    one = stage.render_site(synthetic, NOW, threshold=10**9)
    many = stage.render_site(synthetic, NOW, threshold=1)
    assert one.files == many.files
    assert list(one.files) == list(many.files)
    assert one.google == many.google
    assert one.warnings == many.warnings


def test_write_pages_worker_error_is_raised_as_in_process(synthetic: Prepared, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: render.Renderer, path: str) -> render.Page:
        raise LookupError(f"no page for {path}")

    monkeypatch.setattr(render.Renderer, "page", broken)
    errors = []
    for n, threshold in enumerate((10**9, 1)):
        with pytest.raises(LookupError) as caught:
            stage.write_pages(synthetic, tmp_path / str(n), now=NOW, threshold=threshold)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


def test_site_feeds_parallel_equals_in_process(synthetic: Prepared) -> None:
    index = SiteIndex(synthetic)
    one = site_feeds(synthetic, index.talks_under, index.person_talks)
    many = site_feeds(synthetic, index.talks_under, index.person_talks, workers=2)
    assert one == many
    assert list(one) == list(many)


@pytest.mark.parametrize("workers", [1, 2])
def test_site_feeds_hand_talks_ics_to_the_sink_in_pieces_and_keep_vevents_on_disk(
        synthetic: Prepared, tmp_path: Path, workers: int) -> None:
    index = SiteIndex(synthetic)
    whole = site_feeds(synthetic, index.talks_under, index.person_talks)
    written: dict[str, bytes] = {}
    kinds: dict[str, type] = {}

    def sink(name: str, data: bytes | Iterator[bytes]) -> bytes:
        kinds[name] = type(data)
        written[name] = data if isinstance(data, bytes) else b"".join(data)
        return b""

    got = site_feeds(synthetic, index.talks_under, index.person_talks, workers, sink, scratch=tmp_path)
    assert list(got) == list(whole)
    if workers == 1:  # the workers' sinks ran in their own processes
        assert {name: data for _key, (name, data) in whole.items()} == written
        assert kinds.pop("talks.ics") is not bytes  # never joined in the build's memory
        assert set(kinds.values()) == {bytes}
    assert list(tmp_path.iterdir()) == []  # the VEVENTs' file has no name, and is gone


def test_fork_map_keeps_order_and_raises_worker_errors() -> None:
    offset = 10  # a closure: the workers inherit it, nothing is pickled but arguments and results

    def f(x: int) -> int:
        if x == 7:
            raise ValueError("seven")
        return x + offset

    assert list(fork_map(f, list(range(7)), 2)) == [x + 10 for x in range(7)]
    with pytest.raises(ValueError, match="seven"):
        list(fork_map(f, list(range(9)), 2))


def test_slices_cover_items_in_order() -> None:
    items = list(range(103))
    parts = slices(items, 2)
    assert [x for part in parts for x in part] == items
    assert 1 < len(parts) <= 16
    assert slices([], 2) == []


def test_slices_stay_short_however_many_items() -> None:
    # A slice's pages and read-sets are held until it ends: its length must not grow with the archive.
    items = list(range(10_001))
    parts = slices(items, 1, most=1_000)
    assert [x for part in parts for x in part] == items
    assert max(map(len, parts)) <= 1_000 and len(parts) == 11
    assert len(slices(items, 2, most=100_000)) == 16  # below the limit: several slices per worker, as before


def test_worker_count_is_one_below_threshold() -> None:
    assert worker_count(10, threshold=11) == 1
    assert worker_count(11, threshold=11) >= 1


def test_served_calendars_are_packed_alike_in_process_and_on_workers(tmp_path: Path) -> None:
    from lod.publishing.calendar_pack import PACK, Calendars, packed

    data = tmp_path / "data"
    write_synth(40, data)
    (data / "site.yaml").write_text("site:\n  documents: served\n", encoding="utf-8")
    p = prepare(data, TEST_BASE)
    n_one = stage.write_pages(p, tmp_path / "one", now=NOW, threshold=10**9)
    n_many = stage.write_pages(p, tmp_path / "many", now=NOW, threshold=1)
    one, many = _tree(tmp_path / "one"), _tree(tmp_path / "many")
    assert n_one == n_many == len(one)
    assert one == many  # the pack too, and no worker's part left behind
    assert any(name.startswith(PACK + "/") for name in one) and "talks.ics" in one
    assert not [name for name in one if packed(name)]
    made = {name: data for name, data in stage.render_site(p, NOW).files.items() if packed(name)}
    assert len(made) > 40
    pack = Calendars(tmp_path / "many")
    assert {name: pack.calendar(name) for name in made} == made


def test_fork_map_renders_in_the_parent_beside_its_workers() -> None:
    # The parent takes slices too (one worker fewer copies the parent's pages on write).
    parent = os.getpid()

    def pid(_x: int) -> int:
        time.sleep(0.05)
        return os.getpid()

    pids = list(fork_map(pid, list(range(8)), 2))
    assert parent in pids
    assert len(set(pids)) <= 2


def test_fork_map_without_the_parent_working_runs_every_slice_in_workers_in_order() -> None:
    # The check of a full build in runs (changes.check_in_batches): the parent only waits.
    parent = os.getpid()

    def pid(x: int) -> tuple[int, int]:
        time.sleep(0.02)
        return x, os.getpid()

    got = list(fork_map(pid, list(range(9)), 2, parent_works=False))
    assert [x for x, _pid in got] == list(range(9))
    workers = {p for _x, p in got}
    assert parent not in workers and 1 <= len(workers) <= 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
def test_fork_map_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    # The out-of-memory killer ends a build's process with SIGKILL: its workers must not go on
    # as orphans holding their memory (lod.orphans).
    pids = tmp_path / "pids"
    script = f"""
import os, time
from lod.publishing.pages.parallel import fork_map
def work(_x):
    with open({str(pids)!r}, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    time.sleep(60)
list(fork_map(work, list(range(4)), 2))
"""
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while len(pids.read_text().split() if pids.exists() else []) < 2:  # the parent's slice and a worker's
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        workers = [int(p) for p in pids.read_text().split() if int(p) != parent.pid]
        assert workers
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers):
            assert time.monotonic() < deadline, "a worker outlived its killed parent"
            time.sleep(0.05)
    finally:
        parent.kill()
        for p in [int(p) for p in pids.read_text().split()] if pids.exists() else []:
            if p != parent.pid and _alive(p):
                os.kill(p, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether *pid* runs (not a zombie: an orphan is reaped by init, which may take a moment)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_fork_map_says_when_a_worker_dies_without_its_result() -> None:
    parent = os.getpid()

    def die_in_worker(x: int) -> int:
        if os.getpid() != parent:
            os._exit(3)
        time.sleep(0.05)
        return x

    with pytest.raises(RuntimeError, match=r"^a page worker stopped without its result \(exit code 3\)$"):
        list(fork_map(die_in_worker, list(range(8)), 2))


def test_a_page_worker_is_forked_only_when_a_copy_of_the_build_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.publishing.pages import parallel

    gb = 1 << 30
    for memory, asked, given in [((10 * gb, 4 * gb), 2, 2), ((5 * gb, 4 * gb), 2, 1), ((40 * gb, 4 * gb), 8, 8),
                                 ((13 * gb, 4 * gb), 8, 3), (None, 2, 2), ((0, 4 * gb), 1, 1)]:
        monkeypatch.setattr(parallel, "memory", lambda got=memory: got)
        assert parallel.affordable(asked) == given, (memory, asked)
    monkeypatch.undo()
    assert 1 <= parallel.affordable(2) <= 2  # this machine's own figures, read from /proc


def test_pages_made_without_a_worker_when_memory_is_short_are_the_same(synthetic: Prepared,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.publishing.pages import parallel

    forked = stage.render_site(synthetic, NOW, threshold=1)
    asked: list[int] = []
    real = parallel.fork_map

    def counted(fn: Any, args: Any, workers: int, parent_works: bool = True) -> Any:
        asked.append(workers)
        return real(fn, args, workers, parent_works)

    monkeypatch.setattr(parallel, "memory", lambda: (1 << 30, 1 << 30))  # as much available as held
    monkeypatch.setattr(stage, "fork_map", counted)
    alone = stage.render_site(synthetic, NOW, threshold=1)
    assert asked == [1]
    assert alone.files == forked.files
