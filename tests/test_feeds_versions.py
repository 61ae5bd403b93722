"""Calendar entries say what and who, and signal changes (issue 17): SUMMARY always, versions from the data."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import icalendar

from lod.publishing import feeds as feeds

from lod.publishing import feedtext as feedtext
from lod.publishing.build import BuildResult, Prepared, prepare

from .conftest import SEED_DATA, TEST_BASE

JOAN = "2025-02-20-joan-bruna"
WORKSHOP = "events/mdl-workshop-2025.yaml"


def test_every_vevent_of_every_calendar_has_a_summary_and_a_description(seed_site: BuildResult) -> None:
    calendars = sorted(seed_site.out.rglob("*.ics"))
    assert len(calendars) > 20
    for path in calendars:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        for ev in cal.walk("VEVENT"):
            assert str(ev.get("SUMMARY", "")).strip(), (path, ev["UID"])
            assert "http://localhost:8000/" in str(ev["DESCRIPTION"]), (path, ev["UID"])
            assert {"SEQUENCE", "LAST-MODIFIED", "DTSTAMP"} <= set(ev), (path, ev["UID"])


def _edited(tmp_path: Path, old: str, new: str) -> Prepared:
    data = tmp_path / "data"
    shutil.copytree(SEED_DATA, data)
    path = data / WORKSHOP
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return prepare(data, TEST_BASE)


def _event(p: Prepared, tid: str) -> icalendar.Event:
    return icalendar.Event.from_ical(feeds.vevent_ical(p, p.dataset.talks[tid]))


def test_versions_stay_equal_when_nothing_changed() -> None:
    a, b = prepare(SEED_DATA, TEST_BASE), prepare(SEED_DATA, TEST_BASE)
    for tid in a.dataset.talks:
        if a.dataset.talks[tid].start_at is not None:
            assert feeds.vevent_ical(a, a.dataset.talks[tid]) == feeds.vevent_ical(b, b.dataset.talks[tid])


def test_moving_a_talk_changes_its_last_modified_and_no_other_talks(tmp_path: Path) -> None:
    before = prepare(SEED_DATA, TEST_BASE)
    moved = _edited(tmp_path, "start: 2025-02-20T09:00\n        end: 2025-02-20T09:45",
                    "start: 2025-02-20T09:10\n        end: 2025-02-20T09:55")
    old, new = _event(before, JOAN), _event(moved, JOAN)
    assert old["DTSTART"].to_ical() != new["DTSTART"].to_ical()
    assert old["LAST-MODIFIED"].to_ical() != new["LAST-MODIFIED"].to_ical()
    assert new["DTSTAMP"].to_ical() == new["LAST-MODIFIED"].to_ical()
    assert int(new["SEQUENCE"]) >= int(old["SEQUENCE"])  # never backwards
    for tid, t in before.dataset.talks.items():
        if tid != JOAN and t.start_at is not None:
            assert feeds.vevent_ical(before, t) == feeds.vevent_ical(moved, moved.dataset.talks[tid]), tid


def test_a_source_taken_later_moves_sequence_and_last_modified_forward(tmp_path: Path) -> None:
    before = prepare(SEED_DATA, TEST_BASE)
    data = tmp_path / "data"
    shutil.copytree(SEED_DATA, data)
    sources = data / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    sources.write_text(text.replace("taken: 2026-11-22", "taken: 2026-11-23"), encoding="utf-8")
    later = prepare(data, TEST_BASE)
    old, new = _event(before, JOAN), _event(later, JOAN)
    assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1 == (date(2026, 11, 23) - date(2000, 1, 1)).days
    assert new.decoded("LAST-MODIFIED") > old.decoded("LAST-MODIFIED")


def test_version_stamp_is_the_day_taken_plus_a_content_hash() -> None:
    seq, modified = feedtext.version_stamp("2026-11-22", b"x")
    assert seq == (date(2026, 11, 22) - date(2000, 1, 1)).days
    assert modified.date() == date(2026, 11, 22)
    assert feedtext.version_stamp("2026-11-22", b"x") == (seq, modified)
    assert feedtext.version_stamp("2026-11-22", b"y")[1] != modified
    assert feedtext.version_stamp("2026-11-23", b"y")[1] > modified  # a later day is always later
