"""A rebuild splices talks.ics from the previous one (lod.publishing.site_calendar): the bytes of a full build."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO

import pytest

from lod.publishing import site_calendar
from lod.publishing.build import build

from .conftest import SEED_DATA
from .test_incremental import BASE, EPOCH, Run, _same_as_full

WORKSHOP = Path("events/mdl-workshop-2025.yaml")
BELKIN = Path("talks/belkin-2024-06-03.yaml")
SLOT_TALK = "          - id: 2025-02-20-graduate-student-talk-1\n            start: 2025-02-20\n"


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


@pytest.fixture
def seed(tmp_path: Path) -> tuple[Path, Path]:
    data, site = tmp_path / "data", tmp_path / "site"
    shutil.copytree(SEED_DATA, data)
    build(data, site, BASE)
    return data, site


@pytest.fixture
def spliced(monkeypatch: pytest.MonkeyPatch) -> list[list[site_calendar.Piece]]:
    """The pieces of each talks.ics a rebuild wrote by splicing."""
    calls: list[list[site_calendar.Piece]] = []
    write = site_calendar.Spliced.write

    def spy(self: site_calendar.Spliced, previous_fd: int, target: Path) -> None:
        calls.append(list(self.pieces))
        write(self, previous_fd, target)

    monkeypatch.setattr(site_calendar.Spliced, "write", spy)
    return calls


def _edit(data: Path, old: str, new: str, file: Path = WORKSHOP) -> None:
    path = data / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def _rebuild(data: Path, site: Path, tmp: Path) -> None:
    run = Run()
    result = run(data, site)
    assert run.incremental, run.said
    _same_as_full(data, site, result, tmp)


def test_a_title_edit_splices_talks_ics_around_one_new_vevent(
        seed: tuple[Path, Path], tmp_path: Path, spliced: list[list[site_calendar.Piece]]) -> None:
    data, site = seed
    _edit(data, "title: The puzzle of dimensionality", "title: (edited) The puzzle of dimensionality", BELKIN)
    _rebuild(data, site, tmp_path)
    [pieces] = spliced
    new = [piece for piece in pieces if isinstance(piece, bytes)]
    # The head, the new VEVENT, the session slots made again, the end; the rest copied as few ranges.
    assert sum(b"(edited)" in piece for piece in new) == 1
    assert sum(isinstance(piece, tuple) for piece in pieces) <= 4


# A talk known only by its day stands in its session's slot: titled, the slot lists its title; given
# a time, it leaves the slot for a VEVENT of its own.
@pytest.mark.parametrize("change, shows", [
    (("start:", "title: A student's first talk\n            start:"), b"A student's first talk"),
    (("start: 2025-02-20", "start: 2025-02-20T14:30"), b"UID:2025-02-20-graduate-student-talk-1@"),
], ids=["titled-in-its-slot", "leaves-its-slot"])
def test_a_talk_of_a_sessions_slot_edited_is_spliced_in_with_the_slot_made_again(
        change: tuple[str, str], shows: bytes, seed: tuple[Path, Path], tmp_path: Path,
        spliced: list[list[site_calendar.Piece]]) -> None:
    data, site = seed
    assert shows not in (site / "talks.ics").read_bytes()
    _edit(data, SLOT_TALK, SLOT_TALK.replace(*change))
    _rebuild(data, site, tmp_path)
    assert len(spliced) == 1
    assert shows in (site / "talks.ics").read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "unknown-uid", "empty"])
def test_a_previous_talks_ics_that_does_not_match_is_made_whole(
        damage: str, seed: tuple[Path, Path], tmp_path: Path, spliced: list[list[site_calendar.Piece]]) -> None:
    data, site = seed
    ics = site / "talks.ics"
    old = ics.read_bytes()
    ics.write_bytes({"truncated": old[:len(old) // 2], "empty": b"",
                     "unknown-uid": old.replace(b"UID:2025-02-20-graduate-student-talk", b"UID:no-such-talk", 1)
                     if b"UID:2025-02-20-graduate-student-talk" in old else
                     old.replace(b"\r\nUID:", b"\r\nUID:no-such-talk-", 1)}[damage])
    _edit(data, SLOT_TALK, SLOT_TALK.replace("start:", "title: A student's first talk\n            start:"))
    _rebuild(data, site, tmp_path)
    assert spliced == []  # not spliced: made whole, as a full build makes it


def test_a_rebuild_finds_the_previous_vevents_in_the_state_without_scanning_talks_ics(
        seed: tuple[Path, Path], tmp_path: Path, spliced: list[list[site_calendar.Piece]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The full build scanned the talks.ics it wrote once; each splice then knows where the VEVENTs of
    # the file it writes are, so two rebuilds in a row read neither file's VEVENTs by scanning.
    data, site = seed
    scanned: list[str] = []  # the site's (the full builds checking each rebuild scan their own, elsewhere)
    read = site_calendar.Previous.read

    def counted(f: BinaryIO) -> site_calendar.Previous:
        if Path(f.name).parent == site:  # type: ignore[attr-defined]
            scanned.append(f.name)  # type: ignore[attr-defined]
        return read(f)

    monkeypatch.setattr(site_calendar.Previous, "read", staticmethod(counted))
    _edit(data, "title: The puzzle of dimensionality", "title: (edited) The puzzle of dimensionality", BELKIN)
    _rebuild(data, site, tmp_path)
    _edit(data, "title: (edited) The puzzle of dimensionality", "title: The puzzle of dimensionality (edited)", BELKIN)
    _rebuild(data, site, tmp_path)
    assert len(spliced) == 2 and scanned == []
    # A talks.ics written since (here with the same bytes) is not the one the spans were kept of: scanned.
    ics = site / "talks.ics"
    ics.write_bytes(ics.read_bytes())
    _edit(data, "title: The puzzle of dimensionality (edited)", "title: The puzzle of dimensionality", BELKIN)
    _rebuild(data, site, tmp_path)
    assert len(spliced) == 3 and len(scanned) == 1


def test_a_splice_reads_the_zones_of_the_vevents_it_makes_not_of_those_it_keeps(
        seed: tuple[Path, Path], tmp_path: Path, spliced: list[list[site_calendar.Piece]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The VTIMEZONEs of the kept VEVENTs come from the zone codes the state kept with their spans.
    data, site = seed
    read: list[str] = []
    splicing: list[bool] = []
    zone_years, splice = site_calendar.zone_years, site_calendar.splice

    def counted(rec):  # type: ignore[no-untyped-def]
        if splicing:
            read.append(rec.id)
        return zone_years(rec)

    def in_splice(*args, **kwargs):  # type: ignore[no-untyped-def]
        splicing.append(True)
        try:
            return splice(*args, **kwargs)
        finally:
            splicing.pop()

    from lod.publishing import vtimezones
    monkeypatch.setattr(site_calendar, "zone_years", counted)
    monkeypatch.setattr(vtimezones, "zone_years", counted)  # as the records' VTIMEZONEs are found
    monkeypatch.setattr(site_calendar, "splice", in_splice)
    vevents = (site / "talks.ics").read_bytes().count(b"BEGIN:VEVENT")
    _edit(data, "title: The puzzle of dimensionality", "title: (edited) The puzzle of dimensionality", BELKIN)
    run = Run()
    result = run(data, site)
    assert run.incremental, run.said
    [pieces] = spliced
    made = sum(piece.count(b"BEGIN:VEVENT") for piece in pieces if isinstance(piece, bytes))
    assert len(read) == made < vevents
    _same_as_full(data, site, result, tmp_path)


def test_zone_codes_give_the_vtimezones_the_records_give() -> None:
    from collections import Counter

    from lod.loading.stage import load
    from lod.publishing.vtimezones import zones
    ds = load(SEED_DATA)
    talks = [t for t in ds.talks.values() if t.start_at is not None]
    numbering = site_calendar.ZoneCodes([])
    counts = Counter(code for t in talks for code in numbering.of(t))
    assert numbering.needed(counts) == zones(talks) and zones(talks)
    last = max(talks, key=lambda t: (t.start_at.local.year if t.start_at.zone and t.start_at.local else 0))
    counts.subtract(numbering.of(last))  # the VEVENT holding a zone's last year gone: the range shrinks with it
    assert numbering.needed(counts) == zones([t for t in talks if t is not last])
