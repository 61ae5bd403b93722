"""lod import ical: RFC 5545 zones (IANA and Windows), all-day, recurring and cancelled events, our own feeds."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from lod.errors import ImportFailed
from lod.importers import import_source
from lod.importers.ical import parse
from lod.loading.stage import load
from lod.publishing.build import BuildResult

FIX = Path(__file__).parent / "fixtures" / "import"
TAKEN = date(2026, 11, 23)


def _talks(name: str) -> dict[str, dict[str, object]]:
    return {t["id"]: t for t in parse((FIX / name).read_bytes(), name).records["talks"]}


def test_ical_parse_reads_speaker_from_description() -> None:
    talk = _talks("seminar.ics")["2024-04-10-jane-doe"]
    assert talk["start"] == "2024-04-10T16:00" and talk["end"] == "2024-04-10T17:00"
    assert talk["timezone"] == "America/New_York"
    assert talk["speakers"] == ["jane-doe"]
    assert talk["abstract"] == "We prove sharp constants, with TeX $\\alpha$."
    assert talk["title"] == "Sharp constants for Sobolev inequalities"


def test_ical_parse_expands_recurrence_with_windows_zone_and_exdate() -> None:
    talks = _talks("seminar.ics")
    weekly = sorted(t for t in talks if t.endswith("ada-lovelace"))
    assert weekly == ["2024-03-14-ada-lovelace", "2024-03-28-ada-lovelace", "2024-04-04-ada-lovelace"]  # 21 March excluded
    t = talks["2024-04-04-ada-lovelace"]
    assert (t["timezone"], t["start"], t["end"]) == ("Europe/Berlin", "2024-04-04T14:00", "2024-04-04T15:30")
    assert t["title"] == "Notes on the engine" and t["speakers"] == ["ada-lovelace"]


def test_ical_parse_all_day_and_cancelled() -> None:
    talks = _talks("seminar.ics")
    assert (talks["2024-06-01-summer-retreat"]["start"], talks["2024-06-01-summer-retreat"]["end"]) == ("2024-06-01", "2024-06-02")
    c = talks["2024-05-02-grace-hopper"]
    assert (c["status"], c["offset"], c["title"], c["speakers"]) == ("cancelled", "+00:00", "Random matrices", ["grace-hopper"])


def test_ical_import_loads(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    import_source("ical", FIX / "seminar.ics", data, taken=TAKEN)
    ds = load(data)
    assert ds.talks["2024-03-14-ada-lovelace"].start_at.lexical == "2024-03-14T14:00:00+01:00"  # type: ignore[union-attr]
    assert ds.talks["2024-04-04-ada-lovelace"].start_at.lexical == "2024-04-04T14:00:00+02:00"  # type: ignore[union-attr]
    assert ds.people["ada-lovelace"].affiliations == ["analytical-engines-ltd"]
    assert all("ical-analysis-seminar" in r.sources for _, r in ds.all_records() if _ != "source")
    assert ds.sources["ical-analysis-seminar"].taken == "2026-11-23" and ds.sources["ical-analysis-seminar"].document == "seminar.ics"
    # built end to end in test_import_formats.test_imports_of_every_format_load_and_build


def test_ical_bad_date_names_the_line_and_leaves_data_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(ImportFailed) as exc:
        import_source("ical", FIX / "bad-date.ics", data, taken=TAKEN)
    assert str(exc.value) == (f"{FIX / 'bad-date.ics'}:7: event bad@example.com, field DTSTART: '20241345T100000Z' is not "
                              "a valid date or date-time. Fix: write dates as YYYYMMDD and times as YYYYMMDDTHHMMSS "
                              "(with TZID= or a final Z).")
    assert list(data.iterdir()) == []


def test_ical_not_a_calendar_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.ics"
    bad.write_text("<html>not a calendar</html>")
    with pytest.raises(ImportFailed, match=r"x.ics:1: this is not an iCalendar file"):
        import_source("ical", bad, tmp_path / "data")


def test_ical_own_feed_round_trip_gives_same_talks(seed_site: BuildResult, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    import_source("ical", seed_site.out / "talks.ics", data, taken=TAKEN)
    seed = load(Path(__file__).resolve().parents[1] / "data")
    again = load(data)
    def key(ds: object) -> set[tuple[str, str | None, str | None, str, str | None]]:
        return {(t.id, t.title, t.start_at.utc.isoformat() if t.start_at.utc else t.start_at.lexical,  # type: ignore[union-attr]
                 t.status, (t.abstract or "").strip() or None)
                for t in ds.talks.values() if t.start_at is not None}  # type: ignore[attr-defined]
    assert key(again) == key(seed)


def test_ical_own_feed_into_seed_data_changes_nothing(seed_site: BuildResult, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data", data)
    result = import_source("ical", seed_site.out / "talks.ics", data, taken=TAKEN)
    assert result.written == []
    assert result.plan.notes[-1] == "every imported record is already in the data; nothing to write"


def test_ical_endless_rule_stops_at_the_cap(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.ics"
    bomb.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:b@x\r\n"
                    "DTSTART:20240101T000000Z\r\nRRULE:FREQ=SECONDLY\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    with pytest.raises(ImportFailed) as exc:
        import_source("ical", bomb, tmp_path / "data")
    assert str(exc.value) == (f"{bomb}: the calendar expands to more than 2000 events. "
                              "Fix: give the recurrence rules an UNTIL or COUNT, or split the calendar.")
