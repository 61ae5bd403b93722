"""A talk's VEVENT written as text (``lod.publishing.vevent_text``) is byte for byte icalendar's."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from lod.publishing import feeds
from lod.publishing.build import prepare
from lod.publishing.feedtext import version_stamp
from lod.publishing.vevent_text import text_value, vevent_bytes
from lod.synth import write_synth

from .conftest import SEED_DATA, TEST_BASE


def _every_talk_agrees(data: Path) -> int:
    p = prepare(data, TEST_BASE)
    dated = [t for t in p.dataset.talks.values() if t.start_at is not None]
    for talk in dated:
        assert feeds.vevent_ical(p, talk) == feeds.component_ical(feeds.vevent(p, talk)), talk.id
    return len(dated)


def test_every_seed_talk_vevent_is_what_icalendar_writes() -> None:
    assert _every_talk_agrees(SEED_DATA) >= 20


def test_every_synthetic_talk_vevent_is_what_icalendar_writes(tmp_path: Path) -> None:
    write_synth(40, tmp_path / "data")
    assert _every_talk_agrees(tmp_path / "data") == 40


def test_text_escaping_is_icalendars_but_keeps_a_backslash_n() -> None:
    from icalendar.parser.string import _escape_char

    for text in ["x;y,z", "a\r\nb\rc\nd", "\\n", "é–𝔸", "", "\\", "a\\,b"]:
        assert text_value(text) == _escape_char(text), text
    assert text_value("Counting in $\\N$") == "Counting in $\\\\N$"  # icalendar: "Counting in $\\n$"


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_back(event: bytes) -> icalendar.Event:
    cal = icalendar.Calendar.from_ical(b"BEGIN:VCALENDAR\r\n" + event + b"END:VCALENDAR\r\n")
    return cal.walk("VEVENT")[0]


class _Unnamed(tzinfo):
    """A zone icalendar cannot name: it names each time by its abbreviation."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=3)

    def tzname(self, dt: datetime | None) -> str:
        return "X;Y"

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


_PIECES = ["a", " ", "\\N", "\\", ";", ",", "\r\n", "\r", "\n", "é", "–", "𝔸", "中", "^", "\"", ":", "$\\nabla$"]
_ZONES: list[tzinfo] = [ZoneInfo("Europe/Zurich"), ZoneInfo("Etc/UTC"), ZoneInfo("UTC"), ZoneInfo("America/Argentina/Buenos_Aires"),
                        ZoneInfo("Etc/GMT+5"), UTC, timezone(timedelta(hours=2)), _Unnamed()]


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, longest)))


def _moment(rng: random.Random) -> date:
    day = date(rng.randint(1, 2999), rng.randint(1, 12), rng.randint(1, 28))
    if rng.random() < 0.3:
        return day
    return datetime(day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                    rng.choice([0, 5]), tzinfo=rng.choice(_ZONES))


@pytest.mark.parametrize("seed", range(4))
def test_hostile_vevents_are_what_icalendar_writes_and_read_back_exactly(seed: int) -> None:
    rng = random.Random(seed)
    written = 0
    for _ in range(700):
        start = _moment(rng)
        end = rng.choice([None, _moment(rng)])
        props = {"summary": _text(rng, 40), "start": start, "end": end, "uid": _text(rng, 5) + "@example.org",
                 "categories": [_text(rng, 4) for _ in range(rng.randint(0, 3))],
                 "description": _text(rng, 200), "location": rng.choice([None, "", _text(rng, 30)]),
                 "status": rng.choice(["CONFIRMED", "CANCELLED", "TENTATIVE"]), "url": "https://example.org/talk/" + _text(rng, 5).replace("\r", "").replace("\n", "")}
        taken = f"{rng.randint(1990, 2030)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        ours = vevent_bytes(**props, version=lambda content, taken=taken: version_stamp(taken, content))
        reference = feeds.component_ical(feeds.event_of(props, taken))
        if ours is None:  # a time icalendar must write: an unnamed zone, or a name it would quote
            assert any(isinstance(t, datetime) and t.tzinfo in (_ZONES[-2], _ZONES[-1]) for t in (start, end))
        else:
            assert ours == reference, props
            written += 1
            # and icalendar's own parser reads every text back as it was
            # and icalendar's own parser reads every text back as it was (line breaks as LF)
            event = _read_back(ours)
            for name in ("summary", "description", "uid", "status"):
                assert str(event[name]) == _lf(props[name]), name
            assert str(event.get("location", "")) == _lf(props["location"] or "")
            cats = event.get("categories")
            assert ([str(c) for c in cats.cats] if cats is not None else []) == [_lf(c) for c in props["categories"]]
    assert written > 450


def test_a_talk_in_a_zone_icalendar_cannot_name_falls_back_to_icalendar() -> None:
    start = datetime(2024, 5, 1, 10, tzinfo=_Unnamed())
    args = {"summary": "s", "start": start, "end": None, "uid": "t@x", "categories": [], "description": "d",
            "location": None, "status": "CONFIRMED", "url": "https://x/talk/t"}
    assert vevent_bytes(**args, version=lambda c: version_stamp("2024-01-01", c)) is None


def test_a_url_with_a_line_break_is_left_to_icalendar() -> None:
    args = {"summary": "s", "start": date(2024, 5, 1), "end": None, "uid": "t@x", "categories": [], "description": "d",
            "location": None, "status": "CONFIRMED", "url": "https://x/talk/t\r\nX-EVIL:1"}
    assert vevent_bytes(**args, version=lambda c: version_stamp("2024-01-01", c)) is None


def test_a_title_with_a_backslash_n_is_imported_back_from_our_feed(tmp_path: Path) -> None:
    from lod.importers.ical import parse

    write_synth(3, tmp_path / "data")
    path = next(f for f in sorted((tmp_path / "data").glob("**/*.yaml")) if "    title: " in f.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("title: "))
    lines[at] = lines[at].split("title: ")[0] + 'title: "Counting in $\\\\N$, and on"\n'
    path.write_text("".join(lines), encoding="utf-8")
    p = prepare(tmp_path / "data", TEST_BASE)
    talk = next(t for t in p.dataset.talks.values() if t.title == "Counting in $\\N$, and on")
    ics = feeds.calendar(p, [talk], "one", {})
    assert ics is not None and b"SUMMARY:Counting in $\\\\N$\\, and on\r\n" in ics
    assert [t.get("title") for t in parse(ics, "ours.ics").records["talks"]] == ["Counting in $\\N$, and on"]
