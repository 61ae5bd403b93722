"""The VTIMEZONEs of the calendars: which a calendar needs, and their bytes, made once a process."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date

import icalendar

from lod.model import records as R

Zone = tuple[str, int, int]  # an IANA zone, first and last year
VTIMEZONES: dict[Zone, bytes] = {}  # the bytes of each VTIMEZONE made in this process


@functools.lru_cache(maxsize=4096)
def vtimezone(zone: str, first: int, last: int) -> icalendar.Timezone:
    """The VTIMEZONE of *zone* for the years first..last.

    Cached because icalendar derives it from the zone's transitions at ~18 ms a call,
    and a site has tens of thousands of calendars but only a few (zone, years) pairs.
    The component is only read after it is built (``to_ical``), so calendars share it.
    """
    return icalendar.Timezone.from_tzid(zone, first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1))


def vtimezone_ical(zone: str, first: int, last: int) -> bytes:
    """The bytes of ``vtimezone(zone, first, last)``, made once a process."""
    key = (zone, first, last)
    data = VTIMEZONES.get(key)
    if data is None:
        data = VTIMEZONES[key] = bytes(vtimezone(zone, first, last).to_ical())
    return data


def zone_years(rec: R.Scheduled) -> Iterator[tuple[str, int]]:
    """The IANA zone and local year of a calendar component's start, then of its end, where they are in one."""
    for w in (rec.start_at, rec.end_at):
        if w is not None and w.zone and not w.is_date and w.local is not None:
            yield w.zone, w.local.year


def zones(events: Iterable[R.Scheduled]) -> list[Zone]:
    """The VTIMEZONEs a calendar of *events* has: each IANA zone with its first and last year, by zone."""
    years: dict[str, set[int]] = {}
    for t in events:
        for zone, year in zone_years(t):
            years.setdefault(zone, set()).add(year)
    return ranges(years)


def ranges(years: Mapping[str, Collection[int]]) -> list[Zone]:
    """The VTIMEZONEs of the years of each zone: its first and last, by zone."""
    return [(zone, min(held), max(held)) for zone, held in sorted(years.items())]
