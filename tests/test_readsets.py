"""The dependencies a rebuild follows are recorded while resolution and mapping read
(lod.publishing.readsets): lookups of missing records too, and any sequence of edits, each followed by
a rebuild, leaves the site a full build of the same data makes, byte for byte."""

from __future__ import annotations

import atexit
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lod.loading.stage import load_files
from lod.publishing.prepared import stamps as _stamps
from lod.publishing.build import build
from lod.publishing.pipeline import read_state, write_state
from lod.loading.resolve import resolve
from lod.synth import write_synth

from .edits import EDITS, Skip, apply_edit
from .test_incremental import BASE, EPOCH, Run, _same_as_full

LONE_EVENT = """events:
- id: meetup
  name: A meetup
  timezone: Europe/Paris
  sources:
  - synthetic
talks:
- id: lone-talk
  title: A talk of the meetup
  part_of: meetup
  speakers:
  - person-0
  start: 2024-05-23T10:30
  sources:
  - synthetic
"""
# An event whose talks, written in another file, read their times in its venue's zone:
# what resolving them reads lies in two other files.
ZONED_BY_VENUE = """events:
- id: workshop
  name: A workshop
  venue: room-0-0
  sources:
  - synthetic
"""
WORKSHOP_TALKS = """talks:
- id: workshop-talk-1
  title: The first talk of the workshop
  part_of: workshop
  speakers:
  - person-1
  start: 2024-06-03T09:00
  duration: PT45M
  sources:
  - synthetic
- id: workshop-talk-2
  title: The second talk of the workshop
  part_of: workshop
  speakers:
  - person-2
  start: 2024-06-03T10:00
  sources:
  - synthetic
"""


def _workshop(data: Path) -> None:
    (data / "workshop.yaml").write_text(ZONED_BY_VENUE, encoding="utf-8")
    (data / "workshop-talks.yaml").write_text(WORKSHOP_TALKS, encoding="utf-8")
A_SERIES_OF_THE_SAME_ID = """series:
- id: meetup
  name: A series that happens to have the meetup's id
  timezone: Asia/Tokyo
  sources:
  - synthetic
"""


def _written_long_ago(root: Path) -> None:
    # Files written in the last instants are read again by the next build anyway (lod.publishing.pipeline.RACY_NS).
    an_hour_ago = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))


def test_resolution_records_the_lookups_of_missing_records(tmp_path: Path) -> None:
    write_synth(6, tmp_path)
    (tmp_path / "meetup.yaml").write_text(LONE_EVENT, encoding="utf-8")
    reads = load_files(tmp_path).reads
    # part_of is looked up among series, then events: the miss among series is recorded.
    assert {("series", "meetup"), ("event", "meetup")} <= reads[("talk", "lone-talk")]
    assert ("session", "meetup") not in reads[("talk", "lone-talk")]  # found before it was looked for


def test_resolution_records_only_what_it_resolved(tmp_path: Path) -> None:
    write_synth(6, tmp_path)
    merger = load_files(tmp_path)
    talk = next(k for k in merger.keys[str(tmp_path / "series" / "series-0.yaml")] if k[0] == "talk")
    assert set(resolve(merger.dataset, {talk})) == {talk}


def test_rebuild_after_adding_a_record_looked_up_in_vain_resolves_its_reader_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.chdir(tmp_path)
    data, site = Path("data"), Path("site")
    write_synth(6, data)
    (data / "meetup.yaml").write_text(LONE_EVENT, encoding="utf-8")
    _written_long_ago(data)
    build(data, site, BASE)
    (data / "more-series.yaml").write_text(A_SERIES_OF_THE_SAME_ID, encoding="utf-8")
    run = Run()
    result = run(data, site)  # the talk is now part of the series: series come first
    assert run.incremental
    assert "2024-05-23T10:30:00+09:00" in (site / "dump.nt").read_text(encoding="utf-8")  # read in the series' zone
    _same_as_full(data, site, result, tmp_path)


def test_rebuild_after_a_venue_changes_zone_reads_its_talks_times_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.chdir(tmp_path)
    data, site = Path("data"), Path("site")
    write_synth(6, data)
    _workshop(data)
    _written_long_ago(data)
    build(data, site, BASE)
    places = data / "places.yaml"
    text = places.read_text(encoding="utf-8")
    at = text.index("- id: room-0-0")
    places.write_text(text[:at] + text[at:].replace("Australia/Sydney", "Asia/Tokyo", 1), encoding="utf-8")
    run = Run()
    result = run(data, site)
    assert run.incremental
    assert "2024-06-03T09:00:00+09:00" in (site / "dump.nt").read_text(encoding="utf-8")
    _same_as_full(data, site, result, tmp_path)


# ---------------------------------------------------------------- any sequence of edits

_BASE_DIR: Path | None = None


def _base() -> Path:
    """Small synthetic data, written an hour ago, and its full build (made once, copied by each example)."""
    global _BASE_DIR
    if _BASE_DIR is None:
        root = Path(tempfile.mkdtemp(prefix="lod-readsets-"))
        atexit.register(shutil.rmtree, root, True)  # made once per session, so removed when it ends
        write_synth(12, root / "data")
        _workshop(root / "data")
        _written_long_ago(root / "data")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
            mp.chdir(root)
            build(Path("data"), Path("site"), BASE)
        _BASE_DIR = root
    return _BASE_DIR


def _edits_then_rebuilds(steps: list[tuple[str, int]]) -> None:
    base = _base()
    with tempfile.TemporaryDirectory(prefix="lod-readsets-") as name, pytest.MonkeyPatch.context() as mp:
        tmp = Path(name)
        shutil.copytree(base / "data", tmp / "data")
        shutil.copytree(base / "site", tmp / "site", copy_function=os.link)  # the same site (its marker)
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        mp.chdir(tmp)
        state = read_state(base / "site")
        assert state is not None
        here = _stamps("data")
        state.stamps = {rel: here[rel] for rel in state.stamps}
        write_state((tmp / "site").absolute(), state)
        data, site = Path("data"), Path("site")
        run = Run()
        for edit, seed in steps:
            try:
                what = apply_edit(EDITS[edit], data, random.Random(seed))
            except Skip:
                continue
            result = run(data, site)
            assert run.incremental, (what, run.said)
            _same_as_full(data, site, result, tmp)


_STEPS = st.lists(st.tuples(st.sampled_from(sorted(EDITS)), st.integers(0, 2**16)), min_size=1, max_size=3)


@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_STEPS)
@example([("place_timezone", 86)])  # the workshop's room: its talks, in another file, read their times in its zone
def test_any_edits_each_followed_by_a_rebuild_equal_full_builds(steps: list[tuple[str, int]]) -> None:
    _edits_then_rebuilds(steps)


@pytest.mark.heavy
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(EDITS)), st.integers(0, 2**16)), min_size=1, max_size=6))
def test_any_edits_each_followed_by_a_rebuild_equal_full_builds_at_length(steps: list[tuple[str, int]]) -> None:
    _edits_then_rebuilds(steps)
