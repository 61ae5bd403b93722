"""iCalendar feeds (RFC 5545) of the talks: the whole archive, per series, event, person and talk.

Times keep their zone: a talk in an IANA zone is written with ``TZID=`` and a
VTIMEZONE generated from the zone database for the years the feed spans; a talk whose
source gave only a UTC offset is written in UTC; a talk known only by its day is a
``VALUE=DATE`` event. Talks without a start are left out. UIDs are
``<talk-id>@<host of the base URL>`` and stay the same across builds; DTSTAMP is the date
the talk's sources were taken, so rebuilding the same data gives the same bytes.
Cancelled talks stay in the feed with ``STATUS:CANCELLED`` so calendars remove them.

SUMMARY is the title and DESCRIPTION the abstract, both verbatim (TeX included) and only
when the data has them: a talk without a title has no SUMMARY rather than a placeholder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import icalendar

from . import records as R
from .iri import KIND_PATHS
from .publish import Prepared

PRODID = "-//lod-talks//lod build//EN"
STATUS = {"cancelled": "CANCELLED", "postponed": "TENTATIVE"}  # everything else: CONFIRMED

TalksOf = Callable[[str, str], list[R.Talk]]
TalksOfPerson = Callable[[str], list[R.Talk]]


def uid(p: Prepared, talk_id: str) -> str:
    """The stable UID of a talk: ``<talk-id>@<host>``."""
    host = urlsplit(p.minter.base).hostname or "localhost"
    return f"{talk_id}@{host}"


def stamp(p: Prepared, talk: R.Talk) -> datetime:
    """DTSTAMP: midnight UTC of the latest date the talk's sources were taken."""
    taken = max((p.dataset.sources[s].taken for s in talk.sources if s in p.dataset.sources), default="1970-01-01")
    d = date.fromisoformat(taken)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def location_text(p: Prepared, talk: R.Talk) -> str | None:
    """Where a talk is, as one line: room, building, address; and the online place with its link."""
    ds = p.dataset
    parts: list[str] = []
    if talk.venue and talk.venue in ds.places:
        chain: list[R.Place] = []
        cur: R.Place | None = ds.places[talk.venue]
        while cur is not None and cur not in chain:
            chain.append(cur)
            cur = ds.places.get(cur.contained_in or "")
        names = [chain[0].name + (f" ({chain[0].code})" if chain[0].code and chain[0].code not in chain[0].name
                                  else "")]
        names += [pl.name for pl in chain[1:] if pl.name not in chain[0].name]
        addr = next((pl.address for pl in chain if pl.address is not None), None)
        if addr is not None:
            names += [x for x in (addr.street, addr.locality, addr.region, addr.postal_code, addr.country) if x]
        parts.append(", ".join(names))
    if talk.online and talk.online in ds.places:
        online = ds.places[talk.online]
        parts.append("online: " + online.name + (f" {online.url}" if online.url else ""))
    return "; ".join(parts) or None


def vevent(p: Prepared, talk: R.Talk) -> icalendar.Event:
    """The VEVENT of one talk (which must have a start)."""
    start = talk.start_at
    assert start is not None
    ev = icalendar.Event()
    ev.add("uid", uid(p, talk.id))
    ev.add("dtstamp", stamp(p, talk))
    if start.is_date:
        ev.add("dtstart", date.fromisoformat(start.lexical))
        if talk.end_at is not None and talk.end_at.is_date:
            ev.add("dtend", date.fromisoformat(talk.end_at.lexical) + timedelta(days=1))  # DTEND is exclusive
    else:
        ev.add("dtstart", _moment(start))
        if talk.end_at is not None and not talk.end_at.is_date:
            ev.add("dtend", _moment(talk.end_at))
    if talk.title:
        ev.add("summary", talk.title)
    if talk.abstract:
        ev.add("description", talk.abstract.strip())
    where = location_text(p, talk)
    if where:
        ev.add("location", where)
    ev.add("url", str(p.minter.resource("talk", talk.id)))
    ev.add("status", STATUS.get(talk.status, "CONFIRMED"))
    categories = list(dict.fromkeys([*talk.keywords, *talk.topics]))
    if categories:
        ev.add("categories", categories)
    return ev


def _moment(w: R.When) -> datetime:
    """A time in its IANA zone (written with TZID), or in UTC when only an offset is known."""
    assert w.local is not None and w.utc is not None
    return w.local if w.zone else w.utc


def _order(t: R.Talk) -> tuple[str, str, str]:
    w = t.start_at
    assert w is not None
    return (w.lexical[:10], w.utc.isoformat() if w.utc else "~", t.id)


@functools.lru_cache(maxsize=4096)
def _vtimezone(zone: str, first: int, last: int) -> icalendar.Timezone:
    """The VTIMEZONE of *zone* for the years first..last.

    Cached because icalendar derives it from the zone's transitions at ~18 ms a call,
    and a site has tens of thousands of calendars but only a few (zone, years) pairs.
    The component is only read after it is built (``to_ical``), so calendars share it.
    """
    return icalendar.Timezone.from_tzid(zone, first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1))


@functools.lru_cache(maxsize=4096)
def _vtimezone_ical(zone: str, first: int, last: int) -> bytes:
    return bytes(_vtimezone(zone, first, last).to_ical())


def calendar(p: Prepared, talks: Iterable[R.Talk], name: str,
             memo: dict[str, bytes] | None = None) -> bytes | None:
    """An iCalendar file of the talks that have a start, or None if none has.

    With *memo* (talk id → its VEVENT's bytes, shared by the calendars of one build),
    each talk's VEVENT is serialised once instead of once per calendar it is in (site,
    series, each speaker, its own). icalendar writes a calendar as its own lines, then
    each component's, then END:VCALENDAR, each line folded on its own, so splicing the
    parts gives the same bytes (tests/test_feeds_fast.py).
    """
    events = sorted((t for t in talks if t.start_at is not None), key=_order)
    if not events:
        return None
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    years: dict[str, set[int]] = {}
    for t in events:
        for w in (t.start_at, t.end_at):
            if w is not None and w.zone and not w.is_date and w.local is not None:
                years.setdefault(w.zone, set()).add(w.local.year)
    if memo is not None:
        end = b"END:VCALENDAR\r\n"
        head = bytes(cal.to_ical())
        assert head.endswith(end)
        parts = [head[:-len(end)]]
        for zone in sorted(years):
            parts.append(_vtimezone_ical(zone, min(years[zone]), max(years[zone])))
        for t in events:
            data = memo.get(t.id)
            if data is None:
                data = memo[t.id] = bytes(vevent(p, t).to_ical())
            parts.append(data)
        parts.append(end)
        return b"".join(parts)
    for zone in sorted(years):
        first, last = min(years[zone]), max(years[zone])
        cal.add_component(_vtimezone(zone, first, last))
    for t in events:
        cal.add_component(vevent(p, t))
    return bytes(cal.to_ical())


def site_feeds(p: Prepared, talks_under: TalksOf, person_talks: TalksOfPerson) -> dict[tuple[str, str], tuple[str, bytes]]:
    """Every calendar of the site, keyed by (kind, id) — ("site", "talks") for the archive — as (file name, bytes).

    Files: ``talks.ics``; ``series/<id>.ics``, ``event/<id>.ics``, ``person/<id>.ics`` and
    ``talk/<id>.ics`` wherever there is at least one talk with a start.
    """
    ds = p.dataset
    out: dict[tuple[str, str], tuple[str, bytes]] = {}
    memo: dict[str, bytes] = {}

    def put(kind: str, rid: str, name: str, talks: Iterable[R.Talk], title: str) -> None:
        data = calendar(p, talks, title, memo)
        if data is not None:
            out[(kind, rid)] = (name, data)

    put("site", "talks", "talks.ics", ds.talks.values(), ds.site.title)
    for sid, series in ds.series.items():
        put("series", sid, f"{KIND_PATHS['series']}/{sid}.ics", talks_under("series", sid), series.name)
    for eid, event in ds.events.items():
        put("event", eid, f"{KIND_PATHS['event']}/{eid}.ics", talks_under("event", eid), event.name)
    for pid, person in ds.people.items():
        put("person", pid, f"{KIND_PATHS['person']}/{pid}.ics", person_talks(pid),
            f"Talks by {person.display_name}")
    for tid, talk in ds.talks.items():
        put("talk", tid, f"{KIND_PATHS['talk']}/{tid}.ics", [talk], talk.title or ds.site.title)
    return out
