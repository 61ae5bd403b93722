"""iCalendar feeds (RFC 5545): the archive, per series, event, person and talk."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest

from lod.publishing.feeds import calendar
from lod.publishing.build import BuildResult, build, prepare

from .conftest import SEED_DATA, TEST_BASE, write_records

T = "http://localhost:8000/talk/"

SMALL = {
    "records.yaml": """site:
  title: Feeds test
sources:
  - id: page
    document: page.txt
    taken: 2026-02-03
  - id: later
    document: later.txt
    taken: 2026-03-04
people:
  - id: ada
    name: Ada Lovelace
    sources: [page]
places:
  - id: hall
    name: Great Hall
    code: GH 1
    timezone: Europe/London
    address: {street: 1 Main Street, locality: London, country: United Kingdom}
    sources: [page]
series:
  - id: seminar
    name: A seminar
    timezone: Europe/London
    venue: hall
    sources: [page]
    talks:
      - id: cancelled-talk
        title: "Cancelled; with, commas"
        speakers: [ada]
        start: 2026-03-29T00:30
        end: 2026-03-29T03:30
        status: cancelled
        abstract: "A line\\n\\nwith $x^2$ TeX"
        sources: [page, later]
      - id: tba-talk
        title_status: tba
        speakers: [ada]
        start: 2026-04-01
        end: 2026-04-02
        sources: [page]
      - id: undated-talk
        title: No date yet
        sources: [page]
""",
}


@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    folder = write_records(tmp_path_factory.mktemp("feeds") / "data", SMALL)
    return build(folder, tmp_path_factory.mktemp("feeds-out") / "site", "https://talks.example.org/x/")


def events_of(path: Path) -> dict[str, icalendar.cal.Component]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def unfolded(path: Path) -> str:
    return path.read_bytes().decode("utf-8").replace("\r\n ", "")


def test_feeds_archive_has_every_dated_talk(seed_site: BuildResult) -> None:
    events = events_of(seed_site.out / "talks.ics")
    dated = [t for t in (seed_site.out / "talk").glob("*.ttl") if "startDate" in t.read_text(encoding="utf-8")]
    # The six student talks known only by their day are in their two sessions' slots.
    slotted = {p.stem for p in dated if "graduate-student-talk" in p.stem}
    assert len(dated) == 26 and len(slotted) == 6 and len(events) == 22
    sessions = {"session/mdl-2025-02-20-student-talks@localhost", "session/mdl-2025-02-21-student-talks@localhost"}
    assert set(events) == {f"{p.stem}@localhost" for p in dated if p.stem not in slotted} | sessions
    assert {str(ev["URL"]) for ev in events.values()} >= {T + p.stem for p in dated if p.stem not in slotted}
    for sid in sessions:
        block = events[sid]
        assert block.decoded("DTSTART").strftime("%H:%M") == "14:30"
        assert block.decoded("DTEND").strftime("%H:%M") == "16:00"
        assert str(block["SUMMARY"]) == "Three graduate student talks, 25 mins each"
        assert str(block["DESCRIPTION"]).count("Title not given: http://localhost:8000/talk/") == 3


def test_feeds_are_rfc5545_text(seed_site: BuildResult) -> None:
    raw = (seed_site.out / "talks.ics").read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    lines = raw.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in b"".join(lines)
    text = unfolded(seed_site.out / "talks.ics")
    assert "\r\nVERSION:2.0\r\n" in text and "\r\nPRODID:-//lod-talks//lod build//EN\r\n" in text
    assert "\r\nX-WR-CALNAME:Talks on mathematics and AI\r\n" in text


def test_feeds_time_zones(seed_site: BuildResult) -> None:
    text = unfolded(seed_site.out / "talks.ics")
    cal = icalendar.Calendar.from_ical(text)
    assert sorted(str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")) == [
        "America/Chicago", "Australia/Sydney", "Europe/Paris"]
    events = {str(ev["UID"]).split("@")[0]: ev for ev in cal.walk("VEVENT")}
    greg = events["2023-09-13-greg-yang"].to_ical().decode()
    assert "DTSTART;TZID=Australia/Sydney:20230913T100000\r\n" in greg
    assert "DTEND;TZID=Australia/Sydney:20230913T110000\r\n" in greg
    assert events["2023-10-26-paul-christiano"].decoded("DTSTART").astimezone(UTC) == \
        datetime(2023, 10, 25, 22, 0, tzinfo=UTC)  # AEDT, UTC+11
    belkin = events["2024-06-03-mikhail-belkin"].to_ical().decode()  # offset only: written in UTC
    assert "DTSTART:20240603T173000Z\r\n" in belkin and "DTEND:20240603T190000Z\r\n" in belkin
    assert "2025-02-20-graduate-student-talk-1" not in events  # a bare date in a session's slot: the slot
    slot = events["session/mdl-2025-02-20-student-talks"].to_ical().decode()
    assert "DTSTART;TZID=America/Chicago:20250220T143000\r\n" in slot
    sydney = next(tz for tz in cal.walk("VTIMEZONE") if tz["TZID"] == "Australia/Sydney").to_ical().decode()
    assert "TZOFFSETFROM:+1000\r\nTZOFFSETTO:+1100\r\n" in sydney  # October 2023: AEST to AEDT


def test_feeds_dtstamp_and_fields_come_from_the_data(seed_site: BuildResult) -> None:
    events = events_of(seed_site.out / "talks.ics")
    # The day the sources were taken, and a time of day from the content (lod.publishing.feeds: versions).
    assert {ev.to_ical().decode().split("DTSTAMP:")[1][:8] for ev in events.values()} == {"20261122"}
    assert {str(ev["SEQUENCE"]) for ev in events.values()} == {str((date(2026, 11, 22) - date(2000, 1, 1)).days)}
    assert all(ev["DTSTAMP"].to_ical() == ev["LAST-MODIFIED"].to_ical() for ev in events.values())
    charton = events["2023-11-23-francois-charton@localhost"]
    assert str(charton["SUMMARY"]) == "Transformers for maths, and maths for transformers"
    assert str(charton["DESCRIPTION"]).startswith(
        "Speaker: François Charton (Meta AI)\nPart of: Mathematical challenges in AI\n\n"
        "Transformers can be trained to solve problems of mathematics.")
    assert str(charton["DESCRIPTION"]).endswith("\n\nhttp://localhost:8000/talk/2023-11-23-francois-charton.html")
    assert str(charton["LOCATION"]) == "Carslaw 273; online: Zoom"  # "Carslaw" is in the room's name
    assert str(charton["STATUS"]) == "CONFIRMED"
    assert "\r\nCATEGORIES:Machine learning\r\n" in charton.to_ical().decode()
    # Without a title: the speaker and why, never an invented title.
    assert str(events["2024-05-23-gabriel-synnaeve@localhost"]["SUMMARY"]) == "Gabriel Synnaeve (title to be announced)"
    assert str(events["2025-02-20-joan-bruna@localhost"]["SUMMARY"]) == "Joan Bruna (title not given)"


def test_feeds_per_series_event_person_and_talk(seed_site: BuildResult) -> None:
    out = seed_site.out
    assert len(events_of(out / "series/mml-2023.ics")) == 5
    assert len(events_of(out / "event/mdl-workshop-2025.ics")) == 10  # 8 talks and the 2 slots of 6 more
    assert len(events_of(out / "event/mflm-2024.ics")) == 6
    assert sorted(events_of(out / "person/francois-charton.ics")) == [
        "2023-11-23-francois-charton@localhost", "2024-05-23-francois-charton@localhost"]
    assert sorted(events_of(out / "person/stephane-gaubert.ics")) == ["2024-05-23-yiannis-vlassopoulos@localhost"]
    assert not (out / "person/geordie-williamson.ics").exists()  # gives no talk
    assert sorted(events_of(out / "talk/2023-09-13-greg-yang.ics")) == ["2023-09-13-greg-yang@localhost"]
    assert not (out / "talk/ml-tag-llms-for-physics.ics").exists()  # no start, no feed
    assert 'href="ml-tag-llms-for-physics.ics"' not in (out / "talk/ml-tag-llms-for-physics.html").read_text()


def test_feeds_are_deterministic(seed_site: BuildResult) -> None:
    p = prepare(SEED_DATA, TEST_BASE)
    again = calendar(p, p.dataset.talks.values(), p.dataset.site.title)
    assert again == (seed_site.out / "talks.ics").read_bytes()


def test_feeds_keep_cancelled_talks_marked_cancelled(small_site: BuildResult) -> None:
    events = events_of(small_site.out / "series/seminar.ics")
    assert sorted(events) == ["cancelled-talk@talks.example.org", "tba-talk@talks.example.org"]
    text = events["cancelled-talk@talks.example.org"].to_ical().decode().replace("\r\n ", "")
    assert "STATUS:CANCELLED\r\n" in text
    assert "SUMMARY:Cancelled\\; with\\, commas\r\n" in text
    assert "\\n\\nA line\\n\\nwith $x^2$ TeX\\n\\n" in text
    assert "DTSTAMP:20260304T" in text  # the latest source
    # London moves to BST at 01:00 UTC on 29 March 2026: the talk spans the change.
    assert "DTSTART;TZID=Europe/London:20260329T003000\r\n" in text
    assert "DTEND;TZID=Europe/London:20260329T033000\r\n" in text
    assert "LOCATION:Great Hall (GH 1)\\, 1 Main Street\\, London\\, United Kingdom\r\n" in text
    assert "URL:https://talks.example.org/x/talk/cancelled-talk\r\n" in text
    html = (small_site.out / "talk/cancelled-talk.html").read_text(encoding="utf-8")
    assert '<strong class="status">Cancelled</strong>' in html


def test_feeds_date_only_talk_spans_its_days(small_site: BuildResult) -> None:
    text = (small_site.out / "talk/tba-talk.ics").read_bytes().decode()
    assert "DTSTART;VALUE=DATE:20260401\r\n" in text
    assert "DTEND;VALUE=DATE:20260403\r\n" in text  # DTEND is exclusive
    assert "SUMMARY:Ada Lovelace (title to be announced)\r\n" in text
    assert re.search(r"UID:tba-talk@talks\.example\.org\r\n", text)
