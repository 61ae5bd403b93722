"""iCalendar feeds (RFC 5545) of the talks: the whole archive, per series, event, person and talk.

Times keep their zone: a talk in an IANA zone is written with ``TZID=`` and a
VTIMEZONE generated from the zone database for the years the feed spans; a talk whose
source gave only a UTC offset is written in UTC; a talk known only by its day is a
``VALUE=DATE`` event. Talks without a start are left out. UIDs are
``<talk-id>@<host of the base URL>`` and stay the same across builds.
Cancelled talks stay in the feed with ``STATUS:CANCELLED`` so calendars remove them.

Every VEVENT has a SUMMARY: the title verbatim (TeX included), else what is known
without inventing a title, the speakers and the reason there is none ("Joan Bruna
(title not given)"), or, with no speaker either, the session or event it is in.
DESCRIPTION names the speakers with their affiliations, the series, event and session,
then the abstract, then the talk's page.

Talks known only by their day whose session has a time of its own (a workshop's student
talks in a 14:30–16:00 slot) are not all-day events: the calendar has one VEVENT for the
session's slot (UID ``session/<session-id>@<host>``) listing those of its talks that the
calendar holds.

Versions (``version_stamp``). Calendar programs tell a new version of an event by
SEQUENCE, then DTSTAMP/LAST-MODIFIED. Both are functions of the data alone, so the same
data gives the same bytes (and an incremental build the bytes of a full one):

- SEQUENCE is the number of days from 2000-01-01 to the latest date the event's sources
  were taken. An import stamps the source with the day it was read, so a talk read again
  later never gets a lower SEQUENCE: it never goes backwards as long as dates taken only
  move forward (which ``lod import`` does).
- LAST-MODIFIED (and DTSTAMP, equal to it) is that day, 00:00 UTC, plus a number of
  seconds (0–86,399) taken from a hash of everything else in the VEVENT. So it changes
  whenever the event does (a move, a new title, a new speaker's affiliation …), even after
  an edit by hand that left the sources' dates alone, and stays the same when nothing
  changed. Its order follows the date taken; within one date taken the seconds are not
  an order: an edit by hand that must win over an earlier one of the same day in every
  client should also give its source the day of the edit as ``taken``.
"""

from __future__ import annotations

import functools
import os
from collections import ChainMap
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, MutableMapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import icalendar
from icalendar.prop import vUnknown

from lod.loading.spill import Spill
from lod.model import records as R
from lod.model.iri import KIND_PATHS
from lod.publishing.prepared import Prepared
from lod.publishing.links import pickled
from lod.publishing.vevent_text import Categories, Text, fold, text_value, times, vevent_bytes
from lod.publishing.vtimezones import VTIMEZONES, Zone, vtimezone, vtimezone_ical, zones as zones_of
from lod.publishing.pages.reads import RECORDER
from lod.publishing.feedtext import (PRODID, description_text, location_text, page_url, person_text, scheduled_name, summary_text,
                       taken_of, version_stamp)

STATUS = {"cancelled": "CANCELLED", "postponed": "TENTATIVE"}  # everything else: CONFIRMED

CALENDAR_KINDS = ("series", "event", "person", "talk")  # the kinds of record that have a calendar (besides talks.ics)
SITE_CALENDAR = ("site", "talks")  # the key of talks.ics, the archive's calendar
TalksOf = Callable[[str, str], list[R.Talk]]
TalksOfPerson = Callable[[str], list[R.Talk]]


def uid(p: Prepared, talk_id: str) -> str:
    """The stable UID of a talk: ``<talk-id>@<host>``."""
    host = urlsplit(p.minter.base).hostname or "localhost"
    return f"{talk_id}@{host}"


def _versioned(ev: icalendar.Event, taken: str) -> icalendar.Event:
    """*ev* with SEQUENCE, LAST-MODIFIED and DTSTAMP (``version_stamp``) added."""
    sequence, modified = version_stamp(taken, component_ical(ev))
    ev.add("dtstamp", modified)
    ev.add("last-modified", modified)
    ev.add("sequence", sequence)
    return ev


def _talk_properties(p: Prepared, talk: R.Talk) -> dict[str, Any]:
    """What a talk's VEVENT says, by property (which ``vevent`` and ``vevent_ical`` both write)."""
    start, end = times(talk)
    return {"summary": summary_text(p, talk), "start": start, "end": end, "uid": uid(p, talk.id),
            "categories": list(dict.fromkeys([*talk.keywords, *talk.topics])),
            "description": description_text(p, talk), "location": location_text(p, talk),
            "status": STATUS.get(talk.status, "CONFIRMED"), "url": str(p.minter.resource("talk", talk.id))}


def vevent(p: Prepared, talk: R.Talk) -> icalendar.Event:
    """The VEVENT of one talk (which must have a start), made by icalendar: the reference
    ``vevent_ical`` is held to, and what it falls back on."""
    return event_of(_talk_properties(p, talk), taken_of(p, talk))


def event_of(props: Mapping[str, Any], taken: str) -> icalendar.Event:
    """An icalendar VEVENT of *props* (as ``_talk_properties`` gives them), versioned from *taken*."""
    ev = icalendar.Event()
    ev.add("uid", Text(props["uid"]))
    _add_times(ev, props["start"], props["end"])
    ev.add("summary", Text(props["summary"]))
    ev.add("description", Text(props["description"]))
    if props["location"]:
        ev.add("location", Text(props["location"]))
    ev.add("url", props["url"])
    ev.add("status", Text(props["status"]))
    if props["categories"]:
        ev.add("categories", Categories(props["categories"]))
    return _versioned(ev, taken)


def _add_times(ev: icalendar.Event, start: date, end: date | None) -> None:
    """DTSTART and DTEND (``vevent_text.times``)."""
    ev.add("dtstart", start)
    if end is not None:
        ev.add("dtend", end)


def slot_session(p: Prepared, talk: R.Talk) -> R.Session | None:
    """The session whose time slot stands for a talk known only by its day, if the session has a time that day."""
    start = talk.start_at
    if start is None or not start.is_date or talk.parent is None or talk.parent[0] != "session":
        return None
    session = p.dataset.sessions.get(talk.parent[1])
    if session is None or session.start_at is None or session.start_at.is_date:
        return None
    return session if session.start_at.lexical[:10] == start.lexical[:10] else None


def session_vevent(p: Prepared, session: R.Session, talks: Sequence[R.Talk]) -> icalendar.Event:
    """One VEVENT for a session's slot, listing *talks* (those of it a calendar holds), in their order."""
    ev = icalendar.Event()
    host = urlsplit(p.minter.base).hostname or "localhost"
    ev.add("uid", Text(f"{KIND_PATHS['session']}/{session.id}@{host}"))
    _add_times(ev, *times(session))
    ev.add("summary", Text(scheduled_name(session)))
    lines = []
    parents = [scheduled_name(a) for _k, a in reversed(p.site_index.ancestors("session", session))]
    if parents:
        lines.append("Part of: " + " › ".join(parents))
    lines.append("Talks in this session (their own times are not given):")
    for t in talks:
        if t.title or t.speakers:
            speakers = "; ".join(person_text(p, s) for s in t.speakers)
            text = summary_text(p, t) + (f" — {speakers}" if speakers and t.title else "")
        else:  # the session is named above: say only that the title is not known
            text = summary_text(p, t).removeprefix(f"Talk in {scheduled_name(session)} ").strip("()").capitalize()
        lines.append(f"- {text}: {page_url(p, 'talk', t.id)}")
    lines += ["", page_url(p, "session", session.id)]
    ev.add("description", Text("\n".join(lines)))
    where = location_text(p, session)
    if where:
        ev.add("location", Text(where))
    ev.add("url", str(p.minter.resource("session", session.id)))
    statuses = {t.status for t in talks}
    ev.add("status", Text("CANCELLED" if statuses == {"cancelled"} else "CONFIRMED"))
    taken = max([taken_of(p, session), *(taken_of(p, t) for t in talks)])
    return _versioned(ev, taken)


def _order(t: R.Talk) -> tuple[str, str, str]:
    w = t.start_at
    assert w is not None
    return (w.lexical[:10], w.utc.isoformat() if w.utc else "~", t.id)


def component_ical(component: icalendar.cal.component.Component) -> bytes:
    """A component without subcomponents as icalendar's ``to_ical()`` writes it, folded by ``fold``."""
    return b"".join(fold(line) + b"\r\n" for line in component.content_lines() if line)


def vevent_ical(p: Prepared, talk: R.Talk) -> bytes:
    """The bytes of one talk's VEVENT, as ``vevent(p, talk).to_ical()``: written as text
    (``vevent_text``), or by icalendar for a time that module leaves to it."""
    taken = taken_of(p, talk)
    data = vevent_bytes(**_talk_properties(p, talk), version=functools.partial(version_stamp, taken))
    return component_ical(vevent(p, talk)) if data is None else data


END = b"END:VCALENDAR\r\n"  # a calendar's last line


@functools.lru_cache(maxsize=1)
def _fixed_head() -> bytes:
    """The calendar's lines before its name: BEGIN, VERSION, PRODID, CALSCALE, METHOD."""
    cal = icalendar.Calendar()
    for key, value in _FIXED_PROPERTIES:
        cal.add(key, value)
    data = bytes(cal.to_ical())
    assert data.endswith(END)
    return data[:-len(END)]


_FIXED_PROPERTIES = (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"), ("method", "PUBLISH"))


def calendar_head(name: str) -> bytes:
    """A calendar's own lines (up to its first component): the fixed ones as icalendar writes
    them (VERSION, PRODID, CALSCALE and METHOD: its canonical order), then NAME and
    X-WR-CALNAME (the others sorted by name), both *name* as TEXT.

    Both are TEXT: NAME by RFC 7986, X-WR-CALNAME as a non-standard property, whose default
    value type is TEXT (RFC 5545, 3.8.8.2). icalendar 7 writes them as UNKNOWN values, not
    escaped, so a name's comma or semicolon was written bare and a backslash (TeX in a title)
    read by clients as the start of an escape; they are escaped here (``vevent_text.text_value``),
    and ``lod import ical`` reads them back.
    """
    text = text_value(name)
    return _fixed_head() + fold(f"NAME:{text}") + b"\r\n" + fold(f"X-WR-CALNAME:{text}") + b"\r\n"


def _reference_calendar(p: Prepared, parts: list[Component], name: str, zones: list[Zone]) -> bytes:
    """The calendar as icalendar serialises it whole: the reference the fast path is held to."""
    cal = icalendar.Calendar()
    for key, value in _FIXED_PROPERTIES:
        cal.add(key, value)
    cal.add("name", vUnknown(text_value(name)))  # TEXT, escaped (``calendar_head``): written as given
    cal.add("x-wr-calname", vUnknown(text_value(name)))
    for zone, first, last in zones:
        cal.add_component(vtimezone(zone, first, last))
    for rec, inner in parts:
        cal.add_component(session_vevent(p, rec, inner) if isinstance(rec, R.Session) else vevent(p, rec))  # type: ignore[arg-type]
    return bytes(cal.to_ical())


def calendar(p: Prepared, talks: Iterable[R.Talk], name: str,
             memo: MutableMapping[str, bytes] | None = None) -> bytes | None:
    """An iCalendar file of the talks that have a start, or None if none has.

    With *memo* (talk id → its VEVENT's bytes, shared by the calendars of one build),
    each talk's VEVENT is serialised once instead of once per calendar it is in (site,
    series, each speaker, its own). icalendar writes a calendar as its own lines, then
    each component's, then END:VCALENDAR, each line folded on its own, so splicing the
    parts gives the same bytes (tests/test_feeds_fast.py). Without *memo*, icalendar
    serialises the whole calendar (the reference).
    """
    if memo is None:
        events = [t for t in talks if t.start_at is not None]
        if not events:
            return None
        parts_ = components(p, events)
        return _reference_calendar(p, parts_, name, zones_of([rec for rec, _talks in parts_]))
    chunks = calendar_parts(p, talks, name, memo)
    return None if chunks is None else b"".join(chunks)


def calendar_parts(p: Prepared, talks: Iterable[R.Talk], name: str,
                   memo: MutableMapping[str, bytes]) -> Iterator[bytes] | None:
    """``calendar``'s bytes with *memo*, in the pieces they are made of (its own lines, each
    VTIMEZONE, each VEVENT, the end), each made or looked up when it is reached; None if no talk
    has a start. ``talks.ics`` is written from these as they come: joined, it is every VEVENT
    of the archive (177 MB at 100k talks) on top of the VEVENTs themselves."""
    events = [t for t in talks if t.start_at is not None]
    if not events:
        return None
    parts_ = components(p, events)

    def pieces() -> Iterator[bytes]:
        yield calendar_start(name, [rec for rec, _talks in parts_])
        for component in parts_:
            yield component_bytes(p, component, memo)
        yield END

    return pieces()


Component = tuple[R.Scheduled, list[R.Talk]]  # a talk (and []), or a session's slot and its talks


def calendar_start(name: str, records: Iterable[R.Scheduled], zoned: list[Zone] | None = None) -> bytes:
    """A calendar's bytes before its first VEVENT: its own lines, then the VTIMEZONEs its
    components' *records* (talks, sessions' slots) need, or those of *zoned* when given."""
    needed = zones_of(records) if zoned is None else zoned
    return calendar_head(name) + b"".join(vtimezone_ical(*zone) for zone in needed)


def component_bytes(p: Prepared, component: Component, memo: MutableMapping[str, bytes]) -> bytes:
    """The VEVENT of a calendar's *component*: a talk's (kept in *memo*), or a session's slot."""
    rec, inner = component
    if isinstance(rec, R.Session):
        return component_ical(session_vevent(p, rec, inner))
    assert isinstance(rec, R.Talk)
    return _memo_vevent(p, rec, memo)


def component_order(rec: R.Scheduled) -> tuple[str, str, str]:
    """Where a component of a calendar goes (a talk, or a session standing for its slot): by day, time, UID."""
    return _order(rec) if isinstance(rec, R.Talk) else _slot_order(rec)


def _memo_vevent(p: Prepared, talk: R.Talk, memo: MutableMapping[str, bytes]) -> bytes:
    """A talk's VEVENT from *memo* or made into it. It is a node of its own
    (``("vevent", id)``, ``lod.publishing.pages.reads``): what making it read is kept under it,
    and a calendar holding it reads the node, so it is dirty when the VEVENT is."""
    data = memo.get(talk.id)
    if data is None:
        with RECORDER.making(("vevent", talk.id)):
            RECORDER.note(("talk", talk.id))  # handed in, not looked up: read all the same
            data = memo[talk.id] = vevent_ical(p, talk)
    RECORDER.note(("vevent", talk.id))
    return data


def components(p: Prepared, events: Iterable[R.Talk]) -> list[Component]:
    """The VEVENTs of a calendar of dated *events*, in order: each talk, but the talks standing
    only in their session's slot (``slot_session``), which are one VEVENT per session."""
    out: list[Component] = []
    slots: dict[str, Component] = {}
    for t in sorted(events, key=_order):
        session = slot_session(p, t)
        if session is None:
            out.append((t, []))
        elif session.id in slots:
            slots[session.id][1].append(t)
        else:
            slots[session.id] = (session, [t])
            out.append(slots[session.id])
    return sorted(out, key=lambda c: component_order(c[0]))


def _slot_order(s: R.Scheduled) -> tuple[str, str, str]:
    w = s.start_at
    assert w is not None
    return (w.lexical[:10], w.utc.isoformat() if w.utc else "~", f"session/{s.id}")


# What a sink takes: a calendar's bytes, or (``talks.ics``) its pieces in order, to be written as they come.
Chunks = bytes | Iterator[bytes]


def site_feeds(p: Prepared, talks_under: TalksOf, person_talks: TalksOfPerson, workers: int = 1,
               sink: Callable[[str, Chunks], bytes] | None = None,
               only: Container[tuple[str, str]] | None = None,
               scratch: str | os.PathLike[str] | None = None,
               kept: MutableMapping[str, bytes] | None = None) -> dict[tuple[str, str], tuple[str, bytes]]:
    """Every calendar of the site, keyed by (kind, id) — ``SITE_CALENDAR`` for the archive — as (file name, bytes).

    Files: ``talks.ics``; ``series/<id>.ics``, ``event/<id>.ics``, ``person/<id>.ics`` and
    ``talk/<id>.ics`` wherever there is at least one talk with a start. With *workers* > 1,
    the VEVENTs (each built once) and then the calendars are made on that many forked
    processes; the bytes are the same. With *sink*, each calendar's (file name, bytes) is
    handed to it where it is made (in a worker when parallel, e.g. to write the file there)
    and what it returns is kept in place of the bytes; ``talks.ics`` is handed over as an
    iterator of its pieces (``calendar_parts``), never joined here. With *only*, just the calendars of those
    keys are made (the same bytes as in the whole set; ``lod.publishing.pages.stage.render_some``;
    a rebuild splices ``talks.ics`` instead, ``lod.publishing.site_calendar``).

    The VEVENTs made here are kept in an unnamed temporary file in *scratch* (or the
    system's temporary folder), not in memory: every dated talk's is kept for the calendars
    that hold it, 177 MB at 100k talks; or in *kept*, which the caller keeps for more calendars
    holding them (a rebuild's spliced ``talks.ics``, ``lod.publishing.site_calendar.remake``).
    """
    if kept is not None:
        return _site_feeds(p, talks_under, person_talks, workers, sink, only, kept)
    with Spill(scratch) as spill:
        return _site_feeds(p, talks_under, person_talks, workers, sink, only, spill)


def _site_feeds(p: Prepared, talks_under: TalksOf, person_talks: TalksOfPerson, workers: int,
                sink: Callable[[str, Chunks], bytes] | None, only: Container[tuple[str, str]] | None,
                kept: MutableMapping[str, bytes]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """``site_feeds``, the VEVENTs made kept in *kept*."""
    from lod.publishing.pages.parallel import fork_map, slices

    plan = list(site_calendars(p, talks_under, person_talks, only))
    memo: MutableMapping[str, bytes] = kept
    if only is None:
        dated = [t for t in p.dataset.talks.values() if t.start_at is not None]
    else:
        dated = list({t.id: t for _k, _n, _t, talks in plan for t in talks if t.start_at is not None}.values())
    if workers > 1:
        # First every VEVENT and VTIMEZONE, once each, shared by the calendars' workers.
        zones = sorted({zone for _k, _n, _t, talks in plan for zone in zones_of(talks)})

        def parts(job: tuple[Sequence[R.Talk], Sequence[Zone]]
                  ) -> tuple[list[bytes], list[bytes], bytes]:
            with RECORDER.collecting() as made:
                events = [_memo_vevent(p, t, {}) for t in job[0]]
            return events, [vtimezone_ical(*zone) for zone in job[1]], pickled(made)

        jobs_: list[tuple[Sequence[R.Talk], Sequence[Zone]]] = [([], [z]) for z in zones]
        jobs_ += [(chunk, []) for chunk in slices(dated, workers)]
        for (chunk, zone_job), (events, timezones, made) in zip(jobs_, fork_map(parts, jobs_, workers)):
            for t, event in zip(chunk, events):
                kept[t.id] = event
            VTIMEZONES.update(zip(zone_job, timezones))
            RECORDER.keep(made)
        # Every VEVENT the calendars hold is made: one the workers made anyway would go to a
        # dictionary of their own, never to the file, which they share and do not write.
        memo = ChainMap({}, kept)

    def calendars(chunk: Sequence[tuple[tuple[str, str], str, str, list[R.Talk]]]
                  ) -> tuple[list[bytes | None], bytes]:
        out: list[bytes | None] = []
        with RECORDER.collecting() as made:
            for key, name, _title, _talks in chunk:
                # Each calendar is a node: what it reads (its owner, its talks, their VEVENTs) is kept.
                # But the site's: a rebuild decides talks.ics from the talks' own calendars
                # (``render_some``), so noting its reads (every talk and VEVENT: 200k keys at
                # 100k talks) would be work thrown away. The VEVENTs it makes still record theirs.
                with RECORDER.quiet() if key == SITE_CALENDAR else RECORDER.making(("calendar", name)):
                    _name, title, talks = calendar_of(p, key, talks_under, person_talks)
                    pieces = calendar_parts(p, talks, title, memo)
                    if pieces is None:
                        out.append(None)
                    elif key == SITE_CALENDAR and sink is not None:  # written as it is made
                        out.append(sink(name, pieces))
                    else:
                        data = b"".join(pieces)
                        out.append(sink(name, data) if sink is not None else data)
        return out, pickled(made)

    out: dict[tuple[str, str], tuple[str, bytes]] = {}
    jobs = slices(plan, workers)
    for job, (files, made) in zip(jobs, fork_map(calendars, jobs, workers)):
        RECORDER.keep(made)
        for (key, name, _title, _talks), file in zip(job, files):
            if file is not None:
                out[key] = (name, file)
    return out


def site_calendars(p: Prepared, talks_under: TalksOf, person_talks: TalksOfPerson,
                   only: Container[tuple[str, str]] | None = None
                   ) -> Iterator[tuple[tuple[str, str], str, str, list[R.Talk]]]:
    """Every calendar the site may have, in order: (kind, id), file name, title and its talks (dated or not).

    With *only*, just those whose key is in it (the others' talks are not even looked up).
    """
    ds = p.dataset
    keys: list[tuple[str, str]] = [SITE_CALENDAR]
    for kind in CALENDAR_KINDS:
        keys.extend((kind, rid) for rid in ds.table(kind))
    for key in keys:
        if only is None or key in only:
            yield (key, *calendar_of(p, key, talks_under, person_talks))


def calendar_of(p: Prepared, key: tuple[str, str], talks_under: TalksOf, person_talks: TalksOfPerson
                ) -> tuple[str, str, list[R.Talk]]:
    """The file name, title and talks (dated or not) of the calendar of *key*, which must exist as a record."""
    ds = p.dataset
    kind, rid = key
    if kind == "site":
        return "talks.ics", ds.site.title, list(ds.talks.values())
    name = f"{KIND_PATHS[kind]}/{rid}.ics"
    if kind in ("series", "event"):
        return name, ds.table(kind)[rid].name, talks_under(kind, rid)  # type: ignore[attr-defined]
    if kind == "person":
        return name, f"Talks by {ds.people[rid].display_name}", person_talks(rid)
    talk = ds.talks[rid]
    return name, talk.title or ds.site.title, [talk]


def feed_keys(p: Prepared, talks_under: TalksOf, person_talks: TalksOfPerson) -> dict[tuple[str, str], str]:
    """The calendars the site has, (kind, id) → file name, without making any.

    A calendar is written exactly when one of its talks has a start (``calendar`` returns
    None otherwise), so this is the key set of ``site_feeds`` at a fraction of its cost:
    pages link to the feeds that exist.
    """
    return {key: name for key, name, _title, talks in site_calendars(p, talks_under, person_talks)
            if any(t.start_at is not None for t in talks)}
