"""A rebuild of a large site runs in a child process (``lod.publishing.pipeline._rebuild``): it
says the same, publishes the same bytes, reports the same errors, and when it must build in
full, the full build runs here, in a process that never held the rebuild's state. These tests
fork every rebuild (the threshold set to 0); the other tests' small sites rebuild in-process
(tests/test_incremental.py reports bad records both ways)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from lod.errors import BuildError
from lod.progress import Finished, FullBuildNeeded
from lod.publishing import pipeline
from lod.publishing.build import build
from lod.publishing.output import state_path

from .edits import EDITS, apply_edit
from .test_incremental import BASE, EPOCH, Run, _copy, _same_as_full, _tree, built  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def _forked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(pipeline, "REBUILD_FORK_BYTES", 0)


def _pids_of_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A file where each run of the pipeline writes its process id and whether it had a state."""
    log = tmp_path / "pids"
    real = pipeline._run

    def run(store, *args, **kw):  # type: ignore[no-untyped-def]
        with log.open("a") as f:
            f.write(f"{os.getpid()} {'rebuild' if store is not None else 'full'}\n")
        return real(store, *args, **kw)

    monkeypatch.setattr(pipeline, "_run", run)
    return log


def test_a_rebuild_runs_in_a_child_says_what_it_did_and_equals_a_full_build(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    data, site = _copy(built, tmp_path, monkeypatch)
    log = _pids_of_runs(monkeypatch, tmp_path)
    apply_edit(EDITS["talk_title"], data, random.Random(3))
    run = Run()
    result = run(data, site)
    assert run.incremental and result.incremental
    assert [e.stage for e in run.said if isinstance(e, Finished)][:3] == ["load", "map", "validate"]
    [(pid, kind)] = [line.split() for line in log.read_text().splitlines()]
    assert kind == "rebuild" and int(pid) != os.getpid()
    _same_as_full(data, site, result, tmp_path)


def test_a_rebuild_that_reaches_most_pages_builds_in_full_here_and_says_why_once(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import lod.publishing.pages.dirty

    data, site = _copy(built, tmp_path, monkeypatch)
    monkeypatch.setattr(lod.publishing.pages.dirty, "FULL_LEAST", 1)
    log = _pids_of_runs(monkeypatch, tmp_path)
    apply_edit(EDITS["rename_source"], data, random.Random(1))
    run = Run()
    result = run(data, site)
    assert [e.reason for e in run.said if isinstance(e, FullBuildNeeded)] == ["most-pages"]
    assert not run.incremental
    runs = [line.split() for line in log.read_text().splitlines()]
    assert [kind for _pid, kind in runs] == ["rebuild", "full"]
    assert int(runs[0][0]) != os.getpid() and int(runs[1][0]) == os.getpid()
    _same_as_full(data, site, result, tmp_path)


def test_a_site_without_state_is_built_in_full_saying_why_once(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    data, site = _copy(built, tmp_path, monkeypatch)
    state_path(site).unlink()
    run = Run()
    run(data, site)
    assert [e.reason for e in run.said if isinstance(e, FullBuildNeeded)] == ["no-state"]


def test_a_rebuild_whose_process_dies_says_so_and_leaves_the_site(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    data, site = _copy(built, tmp_path, monkeypatch)
    before = _tree(site)
    monkeypatch.setattr(pipeline, "_run", lambda *args, **kw: os._exit(3))
    apply_edit(EDITS["talk_title"], data, random.Random(3))
    with pytest.raises(BuildError) as died:
        build(data, site, BASE)
    assert str(died.value) == (
        "the build's rebuild ran in a process of its own, which stopped with exit code 3 before it finished; "
        "the site is as it was, or, if the rebuild had committed its changes, they are published by the next "
        "build or lod serve. Run the build again; if this recurs, the machine may lack the memory this archive "
        "needs (BENCHMARKS.md gives the peak by size).")
    assert _tree(site) == before
