"""A talk's VEVENT written as text: byte for byte what icalendar writes, without its object model.

A full build writes one VEVENT per dated talk (100k at 100k talks). Made through icalendar
(``lod.publishing.feeds.vevent``: an ``Event``, a typed value per property, its content lines),
one took about 340 µs, twice serialised (once for the version hash, once with the version);
that was most of the feeds' time. This module writes the same lines directly for the
properties our VEVENTs have, with icalendar's rules:

- TEXT values (SUMMARY, UID, DESCRIPTION, LOCATION, STATUS, each CATEGORIES item) escaped by
  RFC 5545 (``text_value``): as icalendar escapes them, but for its turning ``\\N`` into a line
  break, which the reference (``feeds.event_of``) is also spared (``Text``, ``Categories``);
- dates as ``;VALUE=DATE:YYYYMMDD``; times as ``;TZID=<zone>:YYYYMMDDTHHMMSS``, or with ``Z``
  and no TZID when icalendar names their zone UTC (the zone's name is icalendar's own,
  ``tzid_from_tzinfo``, asked once per zone);
- URL as it is (a URI is not escaped), SEQUENCE as an integer;
- the properties in icalendar's order for a VEVENT: SUMMARY, DTSTART, DTEND, DTSTAMP, UID,
  SEQUENCE, then the others by name; each line folded by ``fold``, as icalendar folds.

A time whose zone icalendar cannot name, a zone name that would need quoting, or a URL
holding a line break (a minted IRI never does) is not written here: ``vevent_bytes`` returns
None and the caller uses icalendar. tests/test_vevent_text.py holds this module to icalendar
on the seed data, synthetic data and hostile strings. ``read_text_value`` is the inverse of
``text_value``, for ``lod import ical``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import BinaryIO
from datetime import date, datetime, timedelta, tzinfo

from icalendar.prop import vCategory, vText
from icalendar.timezone.tzid import tzid_from_tzinfo

from lod.model import records as R

_BEGIN, _END = b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n"
_PLAIN_TZID = re.compile(r"[A-Za-z0-9/_+\-.]+\Z")  # a zone name icalendar writes without quotes or escapes


def text_value(text: str) -> str:
    """A TEXT value escaped by RFC 5545 (3.3.11): backslash, semicolon, comma, and line breaks as ``\\n``.

    icalendar escapes the same way but first turns each ``\\N`` into a line break (it reads
    ``\\N`` as an escape before there is one), so a title ``Counting in $\\N$`` (a common macro
    for the naturals) was written as a line break. ``Text`` and ``Categories`` make icalendar
    escape by this function wherever it still writes our text.
    """
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")


def read_text_value(text: str) -> str:
    """A TEXT value as written unescaped (RFC 5545 3.3.11: ``\\,`` ``\\;`` ``\\\\`` and ``\\n``
    or ``\\N``); a backslash before anything else is kept."""
    return _TEXT_ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def fold(line: str) -> bytes:
    """An iCalendar content line, UTF-8, folded exactly as icalendar 7 folds it (RFC 5545).

    icalendar's folding walks the line a character at a time, which was most of the
    feeds' time; this cuts the encoded line instead, with the same rules: a piece is as
    many whole characters as fit in 74 octets, and it does not end on ``\\`` or ``^`` (an
    escape is not split across the fold) unless that is its only character.
    tests/test_feeds_fast.py compares both on many lines.
    """
    data = line.encode("utf-8")
    n = len(data)
    if n <= _FOLD_AT:
        return data
    pieces: list[bytes] = []
    start = 0
    while n - start > _FOLD_AT:
        end = start + _FOLD_AT
        while data[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        if end - start > 1 and data[end - 1] in _ESCAPES:
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


_FOLD_AT = 74  # icalendar folds before the character that would make a line 75 octets
_ESCAPES = frozenset(b"\\^")


class Text(vText):
    """A TEXT value that icalendar writes escaped by ``text_value``."""

    def to_ical(self) -> bytes:
        return text_value(str(self)).encode("utf-8")


class Categories(vCategory):
    """CATEGORIES whose items icalendar writes escaped by ``text_value``."""

    def to_ical(self) -> bytes:
        return b",".join(text_value(str(c)).encode("utf-8") for c in self.cats)


@functools.lru_cache(maxsize=256)
def _zone_name(zone: tzinfo) -> str | None:
    """The TZID icalendar gives a time in *zone* ("UTC" for a time it writes with Z), or None
    when it is not written here: a zone icalendar cannot name (it would name each time by its
    abbreviation) or a name it would quote. A zone it names is named the same at every time,
    so this is asked once per zone."""
    name = tzid_from_tzinfo(zone)
    return name if name is not None and _PLAIN_TZID.match(name) else None


def moment_line(name: str, value: date) -> str | None:
    """The content line of a DTSTART or DTEND (unfolded), or None if icalendar must write it."""
    if not isinstance(value, datetime):
        return f"{name};VALUE=DATE:{value.year:04}{value.month:02}{value.day:02}"
    if value.tzinfo is None:
        return None
    zone = _zone_name(value.tzinfo)
    if zone is None:
        return None
    stamp = f"{value.year:04}{value.month:02}{value.day:02}T{value.hour:02}{value.minute:02}{value.second:02}"
    return f"{name}:{stamp}Z" if zone == "UTC" else f"{name};TZID={zone}:{stamp}"


def utc_line(name: str, value: datetime) -> str:
    """DTSTAMP or LAST-MODIFIED: a UTC time (``version_stamp`` makes them at midnight UTC plus seconds)."""
    return f"{name}:{value.year:04}{value.month:02}{value.day:02}T{value.hour:02}{value.minute:02}{value.second:02}Z"


def times(rec: R.Scheduled) -> tuple[date, date | None]:
    """DTSTART and DTEND of a talk or session (which must have a start): dates (DTEND
    exclusive), or times in their IANA zone (UTC when only an offset is known)."""
    start = rec.start_at
    assert start is not None
    end = rec.end_at
    if start.is_date:
        last = date.fromisoformat(end.lexical) + timedelta(days=1) if end is not None and end.is_date else None
        return date.fromisoformat(start.lexical), last
    return _moment(start), _moment(end) if end is not None and not end.is_date else None


def _moment(w: R.When) -> datetime:
    assert w.local is not None and w.utc is not None
    return w.local if w.zone else w.utc


def vevent_bytes(*, summary: str, start: date, end: date | None, uid: str,
                 categories: Sequence[str], description: str, location: str | None, status: str, url: str,
                 version: Callable[[bytes], tuple[int, datetime]]) -> bytes | None:
    """A VEVENT with these properties, as icalendar writes it, or None when a time cannot be
    written here. *version* gives (SEQUENCE, LAST-MODIFIED) from the VEVENT's bytes without
    DTSTAMP, SEQUENCE and LAST-MODIFIED (``feedtext.version_stamp``)."""
    start_line = moment_line("DTSTART", start)
    end_line = None if end is None else moment_line("DTEND", end)
    if start_line is None or (end is not None and end_line is None) or "\r" in url or "\n" in url:
        return None  # icalendar writes it, or refuses a URI with a line break as it did before
    head = [fold(f"SUMMARY:{text_value(summary)}"), fold(start_line)]
    if end_line is not None:
        head.append(fold(end_line))
    uid_line = fold(f"UID:{text_value(uid)}")
    rest = []  # the other properties, by name
    if categories:
        rest.append(fold("CATEGORIES:" + ",".join(text_value(c) for c in categories)))
    rest.append(fold(f"DESCRIPTION:{text_value(description)}"))
    after_modified = []
    if location:
        after_modified.append(fold(f"LOCATION:{text_value(location)}"))
    after_modified.append(fold(f"STATUS:{text_value(status)}"))
    after_modified.append(fold(f"URL:{url}"))
    crlf = b"\r\n"
    unversioned = _BEGIN + crlf.join([*head, uid_line, *rest, *after_modified]) + crlf + _END
    sequence, modified = version(unversioned)
    stamp = fold(utc_line("DTSTAMP", modified))
    lines = [*head, stamp, uid_line, fold(f"SEQUENCE:{sequence}"), *rest,
             fold(utc_line("LAST-MODIFIED", modified)), *after_modified]
    return _BEGIN + crlf.join(lines) + crlf + _END


def vevent_spans(ics: bytes, end: int | None = None, base: int = 0) -> list[tuple[str, int, int]]:
    """Where each VEVENT of a calendar ``lod.publishing.feeds`` made is, in order: its UID without
    the host, its first byte and the byte after it (plus *base*; only those before byte *end*).
    ValueError if one has no end or no UID.

    A rebuild splices the archive's calendar from the previous one's (``lod.publishing.site_calendar``)."""
    out: list[tuple[str, int, int]] = []
    limit = len(ics) if end is None else end

    def at(sub: bytes, start: int, stop: int | None = None) -> int:  # find within the limit, or say what is missing
        found = ics.find(sub, start, limit if stop is None else stop)
        if found < 0:
            raise ValueError(f"no {sub!r} after byte {start + base}")
        return found

    pos = ics.find(_BEGIN, 0, limit)
    while pos >= 0:
        stop = at(_END, pos) + len(_END)
        line_start = at(b"\r\nUID:", pos, stop) + 2
        line_end = at(b"\r\n", line_start)
        line = ics[line_start:line_end]
        while ics[line_end + 2:line_end + 3] == b" ":  # a folded UID
            nxt = at(b"\r\n", line_end + 3)
            line += ics[line_end + 3:nxt]
            line_end = nxt
        out.append((line[4:].decode("utf-8").rpartition("@")[0], pos + base, stop + base))
        pos = ics.find(_BEGIN, stop, limit)
    return out


SCAN_CHUNK = 1 << 24  # bytes read at a time by ``file_vevent_spans``


def file_vevent_spans(f: BinaryIO, chunk: int = SCAN_CHUNK) -> tuple[list[tuple[str, int, int]], int]:
    """``vevent_spans`` of the calendar file *f* read *chunk* bytes at a time, and its size. The file
    is not mapped: at 100k talks a map of ``talks.ics`` made 188 MB of the rebuild's resident memory,
    every page of it read. ValueError as ``vevent_spans``."""
    out: list[tuple[str, int, int]] = []
    buf, base = b"", 0
    while data := f.read(chunk):
        buf += data
        cut = buf.rfind(_END)  # the events before it are whole
        if cut < 0:
            continue
        cut += len(_END)
        out += vevent_spans(buf, cut, base)
        base, buf = base + cut, buf[cut:]
    if buf.find(_BEGIN) >= 0:
        raise ValueError(f"no {_END!r} after byte {base + buf.find(_BEGIN)}")
    return out, base + len(buf)
