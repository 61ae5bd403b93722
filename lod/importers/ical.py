"""Import RFC 5545 calendars (a seminar series feed, our own ``talks.ics``) as talks.

Times keep their zone: a TZID that is an IANA name is used as it is, a Windows name
(Outlook's "W. Europe Standard Time") is mapped to its IANA zone, and the wall-clock time
is taken as written. UTC times get ``offset: "+00:00"``; all-day events become dates
(DTEND is exclusive). Recurring events are expanded with recurring-ical-events, one talk
per occurrence (EXDATE and moved occurrences included), up to three years past their
first start when the rule has no end. STATUS:CANCELLED becomes ``status: cancelled``.

A speaker is read only when the text follows a recognisable pattern: a description line
``Speaker: Name (Affiliation)`` (also Speakers, Presenter, Orateur), or a summary
``Name (Affiliation): Title`` / ``Title - Name (Affiliation)``. Anything else stays in the
title and abstract: we do not guess. Our own feeds (their PRODID) are read back as the data
they came from: the title and abstract without what ``lod.publishing.feeds`` adds around them, and a
session-slot entry as the talks it lists, each on its day.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import icalendar
import recurring_ical_events
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from lod.publishing import feedtext as feedtext
from lod.publishing.vevent_text import read_text_value
from lod.model.iri import SLUG_RE, slugify
from lod.importers.text import html_to_text
from lod.importers.common import Parsed, Rec, display, fail, honorific, local_text, organization, person, talk_id

MAX_OCCURRENCES = 2000  # three years of daily events; a weekly seminar has 156
_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
_NAME = re.compile(rf"^(?:{_WORD}(?:\s+(?:{_WORD}|van|von|der|de|da|di|du|del|la|le)){{1,4}}"
                   rf"|[A-ZÀ-ÖØ-Þ][\w'’ -]+,\s*{_WORD}(?:\s+{_WORD})*)$")
_DESC = re.compile(r"^\s*(?:speakers?|presenters?|orat(?:eur|rice)s?|intervenants?)\s*:\s*(.+?)\s*$", re.I | re.M)
_ONE = re.compile(r"^(?P<name>[^()]+?)\s*(?:\((?P<aff>[^()]+)\))?$")
_SUMMARY = (re.compile(r"^(?P<name>[^():]+?)\s*\((?P<aff>[^()]+)\)\s*[:–—]\s*(?P<title>.+)$"),
            re.compile(r"^(?P<title>.+?)\s+[-–—]\s+(?P<name>[^()]+?)\s*\((?P<aff>[^()]+)\)$"))
# "Seminar: Week 1 given by Hlib Husarov & Eberhard Mayerhof", "… presented by …", "… talk by …"
_BY = re.compile(r"^(?P<title>.+?)[\s,:–—-]+(?:given|presented|delivered|talk|lecture|seminar)\s+by\s+(?P<names>.+)$", re.I)


def _top_level(text: str, separator: str) -> list[str]:
    """*text* split at *separator* outside brackets: "A (MIT, Cambridge); B" -> ["A (MIT, Cambridge)", "B"]."""
    out, depth, start = [], 0, 0
    for m in re.finditer(rf"[()]|{separator}", text):
        if m.group() == "(":
            depth += 1
        elif m.group() == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(text[start:m.start()])
            start = m.end()
    return [p for p in (*out, text[start:]) if p.strip()]


def _speakers(parsed: Parsed, text: str) -> list[str]:
    """Person ids of "Name (Affiliation); Name" (adding people and organisations), or [] if not names."""
    out = []
    parts = _top_level(text.strip(), r"\s*;\s*|\s+and\s+|\s+&\s+")
    # a comma separates names only when every part is a name of two words or more:
    # "Jane Doe (MIT), John Smith" is two people, "DOE, Jane" one
    commas = [q for p in parts for q in _top_level(p, r"\s*,\s*")]
    if len(commas) > len(parts) and all(len(honorific(re.sub(r"\(.*?\)", "", q))[1].split()) >= 2 for q in commas):
        parts = commas
    for part in parts:
        m = _ONE.match(part)
        if not m or not _NAME.match(m.group("name").strip()):
            return []
        extra: dict[str, Any] = {}
        if m.group("aff"):
            extra["affiliations"] = [parsed.add("organizations", organization(m.group("aff")))]
        out.append(parsed.add("people", person(m.group("name"), **extra)))
    return out


_PERIOD = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
           "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}


def _estimate(ev: Any, last: date) -> int:
    """An upper estimate of a rule's occurrences up to *last*, checked before expanding anything.

    Expanding first would let a hostile FREQ=SECONDLY rule run for minutes.
    """
    rule = ev.get("RRULE")
    if not rule or not hasattr(rule, "get"):
        return 1
    start = ev["DTSTART"].dt
    start_day = start.date() if isinstance(start, datetime) else start
    freq = str((rule.get("FREQ") or ["DAILY"])[0]).upper()
    interval = int((rule.get("INTERVAL") or [1])[0])
    n = max(1, (last - start_day).days + 1) * 86400 // (_PERIOD.get(freq, 1) * max(interval, 1)) + 1
    if rule.get("COUNT"):
        n = min(n, int(rule["COUNT"][0]))
    # A BY part finer than the frequency multiplies the occurrences; a coarser one only filters.
    for key, unit in (("BYSECOND", 1), ("BYMINUTE", 60), ("BYHOUR", 3600), ("BYDAY", 86400), ("BYMONTHDAY", 86400)):
        if rule.get(key) and unit < _PERIOD.get(freq, 1):
            n *= len(rule[key])
    return int(n)


def _lines(text: str) -> list[int]:
    """The 1-based line of each BEGIN:VEVENT, in order."""
    return [i for i, line in enumerate(text.splitlines(), 1) if line.strip().upper() == "BEGIN:VEVENT"]


def _line_of(text: str, start: int, prop: str) -> int:
    for i, line in enumerate(text.splitlines()[start - 1:], start):
        if line.upper().startswith(prop + ":") or line.upper().startswith(prop + ";"):
            return i
        if line.strip().upper() == "END:VEVENT":
            break
    return start


def _zone(tzid: str | None, value: Any, where: str, fallback: str | None) -> tuple[str | None, str | None]:
    """(IANA zone, UTC offset) of a time, from its TZID (IANA or Windows) or its own tzinfo."""
    if tzid:
        if tzid in available_timezones():
            return tzid, None
        if tzid in WINDOWS_TO_OLSON:
            return WINDOWS_TO_OLSON[tzid], None
        off = value.utcoffset() if isinstance(value, datetime) and value.tzinfo else None
        if off is None:
            raise fail(where, f"the time zone {tzid!r} is neither an IANA nor a Windows zone name.",
                       "use an IANA name such as Europe/Paris in TZID, or write the time in UTC (…Z).")
        minutes = int(off.total_seconds() // 60)
        return None, f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if isinstance(value, datetime) and value.tzinfo is not None:
        if value.utcoffset() == timedelta(0):
            return None, "+00:00"
        key = getattr(value.tzinfo, "key", None)
        if key:
            return str(key), None
    if fallback:
        return fallback, None
    raise fail(where, "the time has no time zone (a floating time).",
               "import with --timezone ZONE (e.g. --timezone Europe/Paris) to say which zone the calendar's times are in, "
               "or give DTSTART a TZID or the calendar an X-WR-TIMEZONE.")


def _wall(value: datetime, zone: str | None, offset: str | None) -> datetime:
    if offset == "+00:00" and value.tzinfo is not None:
        from datetime import UTC
        return value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(tzinfo=None)  # the wall-clock time as the file writes it in its TZID


# Properties read into a talk; any other a VEVENT carries is counted as not imported.
_READ = {"UID", "SUMMARY", "DESCRIPTION", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE",
         "RECURRENCE-ID", "STATUS", "LOCATION", "URL", "CATEGORIES"}
_WHY = {"DTSTAMP": "when the calendar program wrote the event, not a fact about the talk",
        "SEQUENCE": "a revision counter of the calendar program", "CREATED": "when the calendar entry was made",
        "LAST-MODIFIED": "when the calendar entry was changed", "TRANSP": "free/busy information",
        "CLASS": "access class of the calendar entry", "ATTENDEE": "attendees are not speakers; the record lists no audience",
        "ORGANIZER": "the calendar organiser is who sent the invitation, not a speaker",
        "VALARM": "reminders are not part of the record", "GEO": "the record format has no coordinates on a talk",
        "ATTACH": "the record format has no attachment on a calendar talk", "CONTACT": "the record format has no contact on a talk",
        "PRIORITY": "a calendar priority"}


def _orphans(cal: Any) -> None:
    """Read a modified occurrence whose series is not in the file as an event of its own.

    Lotus Notes sends one VEVENT with RECURRENCE-ID;RANGE=THISANDFUTURE and the dates in
    RDATE;VALUE=PERIOD, and no master: expanded as a modification it would give one
    occurrence of four.
    """
    events = list(cal.walk("VEVENT"))
    masters = {str(e.get("UID", "")) for e in events if e.get("RECURRENCE-ID") is None}
    for e in events:
        if e.get("RECURRENCE-ID") is not None and str(e.get("UID", "")) not in masters and e.get("RDATE") is not None:
            del e["RECURRENCE-ID"]


def _text(value: Any) -> str:
    """A TEXT property's value. icalendar unescapes the TEXT properties it knows and gives the
    others (X-WR-CALNAME; NAME, of RFC 7986) as written: those are unescaped here, as RFC 5545
    has writers escape them, and our own feeds do (``vevent_text.text_value``)."""
    if value is None:
        return ""
    if isinstance(value, icalendar.prop.vText):
        return str(value)
    return read_text_value(str(value))


def parse(data: bytes, name: str, timezone: str | None = None) -> Parsed:
    """Talks (with speakers, organisations and places) of an iCalendar file.

    *timezone* (an IANA name) is the zone of floating times, those written without a zone;
    the calendar's X-WR-TIMEZONE takes precedence.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise fail(f"{name}:{line}", "the file is not UTF-8.", "save it as UTF-8.") from None
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        raise fail(f"{name}:1", "this is not an iCalendar file (it does not start with BEGIN:VCALENDAR).",
                   "export the calendar as .ics, or choose another import format.")
    try:
        cal = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise fail(name, f"the iCalendar syntax is broken: {exc}.", "check that every BEGIN: has its END: and lines are 'NAME:value'.") from None
    starts = _lines(text)
    masters = [c for c in cal.walk("VEVENT")]
    fallback = str(cal.get("X-WR-TIMEZONE")) if cal.get("X-WR-TIMEZONE") else timezone
    parsed = Parsed(title=_text(cal.get("X-WR-CALNAME") or cal.get("NAME")) or None)
    # a calendar is named by its name and where it is published, not by its file's name
    origin = urlsplit(str(cal.get("X-ORIGINAL-URL") or cal.get("URL") or cal.get("SOURCE") or "")).netloc.lower()
    parsed.key = " ".join(filter(None, (parsed.title, origin))) or None
    _orphans(cal)
    tzids: dict[str, str | None] = {}
    event_lines: dict[str, int] = {}
    recurring: set[str] = set()
    first: date | None = None
    last: date | None = None
    for i, ev in enumerate(masters):
        line = starts[i] if i < len(starts) else 0
        uid = str(ev.get("UID", "")) or f"event-{i + 1}"
        event_lines.setdefault(uid, line)
        prop = ev.get("DTSTART")
        try:
            ok = prop is not None and isinstance(prop.dt, (date, datetime)) and not ev.errors
        except Exception:  # icalendar raises on reading a broken value
            ok = False
        if not ok:
            bad = str(next((p for p, _ in ev.errors), None) or "DTSTART").upper()
            raw = next((l for l in text.splitlines()[line - 1:] if l.upper().startswith(bad.upper())), "")
            raise fail(f"{name}:{_line_of(text, line, bad.upper())}",
                       f"event {uid}, field {bad}: {raw.split(':', 1)[-1]!r} is not a valid date or date-time."
                       if raw else f"event {uid} has no valid DTSTART.",
                       "write dates as YYYYMMDD and times as YYYYMMDDTHHMMSS (with TZID= or a final Z).")
        tzids.setdefault(uid, prop.params.get("TZID"))
        for key in ev.keys():
            if key.upper() not in _READ and not key.upper().startswith("X-"):
                parsed.skip(f"iCal {key.upper()}", _WHY.get(key.upper(), "the record format has no field for it"))
        extensions = sorted({k.upper() for k in ev.keys() if k.upper().startswith("X-")})
        if extensions:
            parsed.skip("iCal X- properties", "extensions of one calendar program", len(extensions))
        for sub in ev.subcomponents:
            parsed.skip(f"iCal {sub.name}", _WHY.get(str(sub.name), "the record format has no field for it"))
        d = prop.dt.date() if isinstance(prop.dt, datetime) else prop.dt
        until = d
        if ev.get("RRULE") or ev.get("RDATE") or ev.get("RECURRENCE-ID"):
            recurring.add(uid)
            rule = ev.get("RRULE") or {}
            ends = rule.get("UNTIL") if hasattr(rule, "get") else None
            until = (ends[0].date() if isinstance(ends[0], datetime) else ends[0]) if ends else d + timedelta(days=3 * 366)
        first = d if first is None or d < first else first
        last = until if last is None or until > last else last
    if first is None or last is None:
        return parsed
    if sum(_estimate(ev, last) for ev in masters) > MAX_OCCURRENCES:
        raise fail(name, f"the calendar expands to more than {MAX_OCCURRENCES} events.",
                   "give the recurrence rules an UNTIL or COUNT, or split the calendar.")
    try:
        occurrences = recurring_ical_events.of(cal).between(first, last + timedelta(days=2))
    except Exception as exc:  # the library raises its own classes for broken rules
        raise fail(name, f"a recurrence rule cannot be expanded: {exc}.", "check the RRULE, RDATE and EXDATE lines.") from None
    if len(occurrences) > MAX_OCCURRENCES:
        raise fail(name, f"the calendar expands to more than {MAX_OCCURRENCES} events.",
                   "give the recurrence rules an UNTIL or COUNT, or split the calendar.")
    own = feedtext.is_own(cal)
    for ev in occurrences:
        uid = str(ev.get("UID", ""))
        if own and uid.startswith("session/"):  # our feed's entry for a session's slot: the talks it lists
            _slot_talks(parsed, ev)
            continue
        _talk(parsed, ev, f"{name}:{event_lines.get(uid, 0)} (event {uid})", tzids, recurring, fallback, own)
    return parsed


def _slot_talks(parsed: Parsed, ev: Any) -> None:
    """The talks of one of our session-slot entries: known by their day only, as in the data they came from."""
    start = ev["DTSTART"].dt
    day = (start.date() if isinstance(start, datetime) else start).isoformat()
    host = str(ev.get("UID", "")).rpartition("@")[2]
    for tid, title in feedtext.slot_talks(str(ev.get("DESCRIPTION", ""))):
        if not SLUG_RE.match(tid):
            continue
        rec: Rec = {"id": tid, "start": day}
        if title:
            rec["title"] = title
        rec["url"] = str(ev.get("URL", "")).rpartition("/session/")[0] + "/talk/" + tid
        rec["ids"] = {"ical": f"{tid}@{host}"}
        parsed.records["talks"].append(rec)


def _talk(parsed: Parsed, ev: Any, where: str, tzids: dict[str, str | None], recurring: set[str],
          fallback: str | None, own: bool = False) -> None:
    uid = str(ev.get("UID", ""))
    start = ev["DTSTART"].dt
    end = ev["DTEND"].dt if ev.get("DTEND") else (start + ev["DURATION"].dt if ev.get("DURATION") else None)
    rec: Rec = {}
    summary = " ".join(str(ev.get("SUMMARY", "")).split())
    desc = str(ev.get("DESCRIPTION", "")).strip()
    if own:  # our own feed: its SUMMARY and DESCRIPTION say more than the title and abstract (lod.publishing.feedtext)
        summary = feedtext.title_of(summary) or ""
        desc = feedtext.abstract_of(desc)
    speakers: list[str] = []
    m = _DESC.search(desc)
    if m:
        speakers = _speakers(parsed, m.group(1))
        if speakers:
            desc = (desc[:m.start()] + desc[m.end():]).strip()
    by = _BY.match(summary) if not speakers else None
    if by:
        speakers = _speakers(parsed, by.group("names"))
        if speakers:
            summary = by.group("title").strip()
    if not speakers:
        for pattern in _SUMMARY:
            sm = pattern.match(summary)
            if sm and _NAME.match(sm.group("name").strip()):
                speakers = _speakers(parsed, f"{sm.group('name')} ({sm.group('aff')})")
                if speakers:
                    summary = sm.group("title").strip()
                    break
    if isinstance(start, datetime):
        zone, offset = _zone(tzids.get(uid), start, where, fallback)
        rec["start"] = local_text(_wall(start, zone, offset))
        if isinstance(end, datetime) and end == start:
            end = None  # no DTEND nor DURATION: RFC 5545 makes it an instant; the record leaves the end out
        if isinstance(end, datetime):
            if end.tzinfo is not None and start.tzinfo is not None and zone and not tzids.get(uid):
                end = end.astimezone(start.tzinfo)
            rec["end"] = local_text(_wall(end, zone, offset))
            if end <= start:
                raise fail(where, f"DTEND {end} is not after DTSTART {start}.", "correct DTEND or DURATION.")
        if zone:
            rec["timezone"] = zone
        else:
            rec["offset"] = offset
    else:
        rec["start"] = start.isoformat()
        if isinstance(end, date) and not isinstance(end, datetime) and end - start > timedelta(days=1):
            rec["end"] = (end - timedelta(days=1)).isoformat()  # DTEND of an all-day event is exclusive
    # Our own feeds: UID <talk-id>@<host> and URL …/talk/<talk-id>; keep the id.
    ours = uid.split("@")[0] if str(ev.get("URL", "")).endswith("/talk/" + uid.split("@")[0]) else ""
    label = display(next(p for p in parsed.records["people"] if p["id"] == speakers[0])) if speakers else summary or "talk"
    rec["id"] = ours if ours and SLUG_RE.match(ours) and uid not in recurring else talk_id(rec["start"], label)
    if summary:
        rec["title"] = summary
    if speakers:
        rec["speakers"] = speakers
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        rec["status"] = "cancelled"
    desc = html_to_text(desc) or ""  # Exchange and Google write HTML descriptions
    if desc:
        rec["abstract"] = desc
    loc = " ".join(str(ev.get("LOCATION", "")).split())
    # our own feeds write "Room, Building, address; online: Zoom https://…"
    room, _, online = loc.partition("online:") if loc.startswith("online:") else loc.partition("; online:")
    room, online = room.strip(" ;"), online.strip()
    if room.startswith(("http://", "https://")) and " " not in room:
        room, online = "", room
    if online:
        link = online.rsplit(" ", 1)[-1] if re.search(r"https?://\S+$", online) else None
        oname = online[:-len(link)].strip() if link else online
        place: Rec = {"id": slugify(oname or (link or "online").split("//")[-1])[:60].strip("-"),
                      "name": oname or "Online", "virtual": True}
        if link:
            place["url"] = link
        rec["online"] = parsed.add("places", place)
    if room:
        rec["venue"] = parsed.add("places", {"id": slugify(room)[:60].strip("-"), "name": room})
    if ev.get("URL"):
        rec["url"] = str(ev["URL"])
    cats = ev.get("CATEGORIES")
    if cats:
        values = [str(c) for c in (cats.cats if hasattr(cats, "cats") else [])]
        rec["keywords"] = list(dict.fromkeys(v for v in values if v.strip()))
    if uid:
        rec["ids"] = {"ical": uid if uid not in recurring else f"{uid}/{rec['start']}"}
    if not rec.get("keywords"):
        rec.pop("keywords", None)
    parsed.records["talks"].append(rec)
    parsed.locate("talks", rec, where)
