"""Times as people read them: local time with its zone, then UTC, in <time> elements."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from markupsafe import Markup, escape

from lod.model import records as R

# ---------------------------------------------------------------- times


def offset_text(moment: datetime) -> str:
    """``UTC+11:00`` for a zone-aware moment."""
    off = moment.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_label(w: R.When) -> str:
    """The zone of a time as people read it: ``Australia/Sydney (UTC+11:00)``, or ``UTC-04:00``."""
    assert w.local is not None
    return f"{w.zone} ({offset_text(w.local)})" if w.zone else offset_text(w.local)


def long_date(d: date) -> str:
    """``Thursday 26 October 2023`` (English, independent of the locale)."""
    return f"{DAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}"


def short_date(d: date) -> str:
    """``Thu 26 Oct 2023``."""
    return f"{DAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}"


DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def time_el(datetime_attr: str, text: str) -> Markup:
    # An f-string with explicit escapes: Markup.format (string.Formatter) cost more than the rest of a list item.
    return Markup(f'<time datetime="{escape(datetime_attr)}">{escape(text)}</time>')


@lru_cache(maxsize=1 << 17)  # a talk is sorted into many listings: 1.1 µs a time made, 0.08 µs kept (about 20 MB full)
def _utc_lexical(moment: datetime) -> str:
    """*moment* in UTC as ``YYYY-MM-DDTHH:MM:SSZ`` (seconds truncated): every talk's sort key holds it."""
    utc = moment.astimezone(UTC)
    # isoformat costs two thirds of strftime and writes the same from the year 1000 on (strftime
    # may not pad the year with zeros before it).
    return utc.isoformat()[:19] + "Z" if utc.year >= 1000 else utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def when_html(rec: R.Scheduled) -> Markup:
    """The full time of a talk or event: local time with its zone, then UTC, as ``<time>`` elements."""
    start, end = rec.start_at, rec.end_at
    if start is None:
        return Markup("")
    if start.is_date:
        text = time_el(start.lexical, long_date(date.fromisoformat(start.lexical)))
        if end is not None and end.lexical != start.lexical:
            text += Markup(" – ") + time_el(end.lexical, long_date(date.fromisoformat(end.lexical)))
        return Markup(f'<span class="local">{text}</span>')
    assert start.local is not None and start.utc is not None
    local = _range(start.local, end.local if end is not None else None, start.lexical,
                   end.lexical if end is not None else None)
    label = zone_label(start)
    if end is not None and end.local is not None and offset_text(end.local) != offset_text(start.local):
        label += " to " + zone_label(end)
    utc_start = start.utc
    utc_end = end.utc if end is not None else None
    utc = _range(utc_start, utc_end, _utc_lexical(utc_start), _utc_lexical(utc_end) if utc_end else None)
    return Markup(f'<span class="local">{local} <span class="zone">{escape(label)}</span></span><br>'
                  f'<span class="utc">{utc} UTC</span>')


def _range(a: datetime, b: datetime | None, a_lex: str, b_lex: str | None) -> Markup:
    first = time_el(a_lex, f"{long_date(a.date())}, {a:%H:%M}")
    if b is None or b_lex is None:
        return first
    if b.date() == a.date():
        return first + Markup("–") + time_el(b_lex, f"{b:%H:%M}")
    return first + Markup(" – ") + time_el(b_lex, f"{long_date(b.date())}, {b:%H:%M}")


def when_short(rec: R.Scheduled) -> Markup:
    """A compact local time for lists: ``Thu 26 Oct 2023, 09:00–10:00 Australia/Sydney``."""
    start, end = rec.start_at, rec.end_at
    if start is None:
        return Markup('<span class="undated">date not given</span>')
    if start.is_date:
        return time_el(start.lexical, short_date(date.fromisoformat(start.lexical)))
    assert start.local is not None
    text = f"{short_date(start.local.date())}, {start.local:%H:%M}"
    if end is not None and end.local is not None and end.local.date() == start.local.date():
        text += f"–{end.local:%H:%M}"
    zone = start.zone or offset_text(start.local)
    return Markup(f'{time_el(start.lexical, text)} <span class="zone">{escape(zone)}</span>')


def when_time(rec: R.Scheduled) -> Markup:
    """``when_short`` without the day, for lists under a heading that gives it: ``09:00–10:00 America/Chicago``."""
    start, end = rec.start_at, rec.end_at
    if start is None or start.is_date or start.local is None:
        return Markup('<span class="undated">time not given</span>') if start is not None else when_short(rec)
    text = f"{start.local:%H:%M}"
    if end is not None and end.local is not None and end.local.date() == start.local.date():
        text += f"–{end.local:%H:%M}"
    zone = start.zone or offset_text(start.local)
    return Markup(f'{time_el(start.lexical, text)} <span class="zone">{escape(zone)}</span>')


def sort_key(rec: R.Scheduled) -> tuple[int, str, str, str]:
    """Chronological order; undated last; the local day first so a bare date sorts with its day."""
    start = rec.start_at
    if start is None:
        return (1, "", "", rec.id)
    return (0, start.lexical[:10], _utc_lexical(start.utc) if start.utc else "~", rec.id)


def build_now() -> datetime:
    """The build's "now": SOURCE_DATE_EPOCH when set (reproducible builds), else the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC)


