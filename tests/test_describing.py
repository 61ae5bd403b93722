"""The describing stage (map and validate, lod.publishing.describing) gives the same build whether it
runs in the build's process or in a forked one (as it does when there is much to map), and a
forked one's failures reach the caller as the same errors, with nothing published."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

import lod.publishing.changes
from lod.errors import BuildError, Location, RecordError, RecordErrors, ValidationFailed
from lod.progress import Advanced, Event, Finished
from lod.publishing import forked
from lod.publishing.build import build
from lod.publishing.front import Front
from lod.publishing.subjects import batches, formatted, unbatched
from lod.validation.report import load_shapes
from lod.validation.shacl import check

SEED = Path(__file__).resolve().parents[1] / "data"
BASE = "http://example.org/"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _always_forked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Fork the describing stage whatever its size; return a file the map writes its pid to (from any process)."""
    monkeypatch.setattr(forked, "FORK_THRESHOLD", 0)
    pids = tmp_path / "pids"
    pids.write_text("")
    real = Front.map

    def noting(self: Front, *args: object) -> None:
        with open(pids, "a") as f:
            f.write(f"{os.getpid()}\n")
        real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Front, "map", noting)
    return pids


def _pids(noted: Path) -> list[int]:
    return [int(line) for line in noted.read_text().split()]


def _stages(events: list[Event]) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.stage) for e in events if not isinstance(e, Advanced)]  # type: ignore[union-attr]


def test_describing_forked_builds_the_same_site_and_reports_the_same_stages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here: list[Event] = []
    build(SEED, tmp_path / "here", BASE, progress=here.append, incremental=False)
    noted = _always_forked(monkeypatch, tmp_path)
    there: list[Event] = []
    result = build(SEED, tmp_path / "there", BASE, progress=there.append, incremental=False)
    pids = _pids(noted)
    assert len(pids) == 1 and os.getpid() not in pids  # it ran in another process
    assert _tree(tmp_path / "there") == _tree(tmp_path / "here")
    # The same stages; a forked full build checks the descriptions it merged from its runs
    # while this process writes the dumps (lod.publishing.describing), so validate ends inside dumps.
    moved = [e for e in _stages(here) if e[1] != "validate"]
    at = moved.index(("Finished", "dumps"))
    moved[at:at] = [("Started", "validate"), ("Finished", "validate")]
    assert _stages(there) == moved
    # the child's progress reached the caller: the map advanced to its total, the dumps to every triple
    assert [e.done for e in there if isinstance(e, Advanced) and e.stage == "map"][-1] == 113
    assert [e.done for e in there if isinstance(e, Advanced) and e.stage == "dumps"][-1] == result.triples


def test_describing_a_full_build_in_many_sorted_runs_builds_the_same_site_and_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The forked full build maps a slice of the records at a time into sorted runs on disk and
    # checks a slice of the owners at a time (lod.publishing.runs); slices this small put a
    # series' node, which each of its talks names, in many runs, to be joined when merged.
    from lod.publishing import describing, runs

    here = build(SEED, tmp_path / "here", BASE, incremental=False)
    noted = _always_forked(monkeypatch, tmp_path)
    monkeypatch.setattr(lod.publishing.changes, "SLICE", 7)
    monkeypatch.setattr(lod.publishing.changes, "CHECKED_AT_ONCE", 5)
    monkeypatch.setattr(runs, "RUN_BATCH", 3)
    monkeypatch.setattr(describing, "CLEAR_EVERY", 4)
    added = tmp_path / "added"  # each run's size, written by the forked child
    real_add = runs.Runs.add

    def counting(self: runs.Runs, triples: list, terms: object) -> None:  # type: ignore[type-arg]
        with open(added, "a") as f:
            f.write(f"{len(triples)}\n")
        real_add(self, triples, terms)  # type: ignore[arg-type]

    monkeypatch.setattr(runs.Runs, "add", counting)
    events: list[Event] = []
    there = build(SEED, tmp_path / "there", BASE, progress=events.append, incremental=False)
    assert len(_pids(noted)) == 1
    assert _tree(tmp_path / "there") == _tree(tmp_path / "here")
    assert there.report.results == here.report.results and there.report.warnings
    sizes = [int(n) for n in added.read_text().split()]
    assert len(sizes) == -(-113 // 7)
    # (a triple that several slices make counts once in each; the seed data has none: tests/test_runs.py)
    assert there.triples == here.triples <= sum(sizes)
    mapped = [e for e in events if isinstance(e, Finished) and e.stage == "map"][0]
    checked = [e for e in events if isinstance(e, Finished) and e.stage == "validate"][0]
    assert mapped.counts["triples"] == sum(sizes) and checked.total == there.triples
    # and a rebuild goes on from the state such a build leaves
    monkeypatch.setattr(forked, "FORK_THRESHOLD", 10**9)
    assert build(SEED, tmp_path / "there", BASE).incremental


def test_describing_forked_in_a_rebuild_matches_a_full_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = tmp_path / "data", tmp_path / "site"
    shutil.copytree(SEED, data)
    build(data, site, BASE)
    noted = _always_forked(monkeypatch, tmp_path)
    series = sorted((data / "series").glob("*.yaml"))[0]
    text = series.read_text(encoding="utf-8")
    series.write_text(text.replace("title: ", "title: Edited ", 1), encoding="utf-8")
    assert build(data, site, BASE).incremental
    # The forked map's notes were replayed here: a second rebuild still knows who contributes what.
    series.write_text(text.replace("title: ", "title: Edited again ", 1), encoding="utf-8")
    assert build(data, site, BASE).incremental
    pids = _pids(noted)
    assert len(pids) == 2 and os.getpid() not in pids
    monkeypatch.setattr(forked, "FORK_THRESHOLD", 10**9)
    build(data, tmp_path / "full", BASE, incremental=False)
    assert _tree(site) == _tree(tmp_path / "full")


def test_describing_forked_reports_violations_like_in_process_and_publishes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    strict = load_shapes()
    strict.parse(data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix schema: <http://schema.org/> .
        <urn:strict> a sh:NodeShape ; sh:targetClass schema:Event ;
          sh:property [ sh:path schema:url ; sh:minCount 1 ; sh:message "a talk needs a url here" ] .""",
                 format="turtle")
    monkeypatch.setattr(lod.publishing.changes, "shacl_check",
                        lambda triples, where, only=None: check(triples, where, strict, only))
    with pytest.raises(ValidationFailed) as here:
        build(SEED, tmp_path / "here", BASE, incremental=False)
    _always_forked(monkeypatch, tmp_path)
    build_dir = tmp_path / "site"
    with pytest.raises(ValidationFailed) as there:
        build(SEED, build_dir, BASE, incremental=False)
    assert "a talk needs a url here" in str(there.value.report)  # type: ignore[attr-defined]
    assert str(there.value.report) == str(here.value.report)  # type: ignore[attr-defined]
    assert str(there.value) == str(here.value)
    assert not build_dir.exists() and not list(tmp_path.glob(".site.tmp-*"))


def test_describing_forked_process_that_dies_fails_the_build_with_a_message_and_keeps_the_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    build(SEED, site, BASE, incremental=False)
    before = _tree(site)
    _always_forked(monkeypatch, tmp_path)
    monkeypatch.setattr(Front, "map", lambda self, *args, **kwargs: os._exit(3))
    with pytest.raises(BuildError) as failed:
        build(SEED, site, BASE, incremental=False)
    assert str(failed.value) == (
        "the build's describing stage ran in a process of its own, which stopped with exit code 3 before it "
        "finished; nothing was published and the previous site is unchanged. Run the build again; if this "
        "recurs, the machine may lack the memory this archive needs (BENCHMARKS.md gives the peak by size).")
    assert _tree(site) == before


def test_describing_killed_names_the_signal_and_the_out_of_memory_killer() -> None:
    assert "was killed by signal 9 (the system's out-of-memory killer sends this one) before" in forked.died("x", -9)
    assert "was killed by signal 15 before" in forked.died("x", -15)


def test_describing_errors_cross_a_process_boundary_with_their_fields() -> None:
    where = Location("data/a.yaml", 4, 5)
    one = RecordError(where, "start", "is not a date.", "Write 2024-05-23.")
    for error in (one, RecordErrors([one])):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)
    assert pickle.loads(pickle.dumps(one)).location == where
    failed = pickle.loads(pickle.dumps(ValidationFailed(["a report"])))
    assert failed.report == ["a report"]  # type: ignore[attr-defined]


def test_describing_subjects_batched_read_back_equal_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.publishing import subjects
    from lod.publishing.build import prepare

    p = prepare(SEED, BASE)
    made = list(formatted(p.triples, p.terms))
    monkeypatch.setattr(subjects, "BATCH", 7)  # several batches, the last one short
    blobs = list(batches(iter(made)))
    assert len(blobs) == -(-len(made) // 7) > 1
    back = list(unbatched(blobs))
    assert [s.parts() for s in back] == [s.parts() for s in made]
    assert sum(s.count for s in back) == len(p.triples) and len(made) > 100
