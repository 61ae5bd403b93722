"""Link loaded records: check references, inherit defaults, and resolve times.

Pure: it reads no files. Every problem becomes a RecordError that points at the
field that caused it. After ``resolve`` a Dataset is complete and consistent, so
the mapper never has to fail on user input.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Collection
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo

from lod.model import records as R
from lod.errors import RecordError, RecordErrors
from lod.model.converters import parse_local
from lod.model.fields import field_names
from lod.model.kinds import RECORD_KINDS, TABLES

_WORD = {k.table: k.word for k in RECORD_KINDS}  # what an error calls a record of each table
_KIND = {k.table: k.name for k in RECORD_KINDS}
Key = tuple[str, str]  # (record kind, id)
_CLOCK = re.compile(r"\d{1,2}:\d{2}")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(value: str) -> timedelta:
    """A checked ISO 8601 duration (days, hours, minutes, seconds) as a timedelta."""
    m = _DURATION.match(value)
    if not m:
        raise ValueError(value)
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return timedelta(days=d, hours=h, minutes=mi, seconds=s)


def iso_duration(delta: timedelta) -> str:
    """The canonical ISO 8601 form of a positive timedelta: PT1H30M, P1DT2H."""
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")
    return out + ("T" + clock if clock else ("" if days else "T0S"))


def _offset_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def lexical(moment: datetime) -> str:
    """xsd:dateTime with the moment's own UTC offset, seconds included."""
    off = moment.utcoffset()
    assert off is not None
    if 1000 <= moment.year <= 9999:  # what strftime's %Y writes too, at a fraction of its cost
        return (f"{moment.year}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
                f"{moment.second:02d}" + _offset_text(off))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + _offset_text(off)


class _Resolver:
    def __init__(self, ds: R.Dataset, only: Collection[tuple[str, str]] | None = None) -> None:
        self.ds = ds
        self.errors: list[RecordError] = []
        self.only = only
        # What each record's resolution looked up of other records, hits and misses alike
        # (``resolve``'s answer): recorded as it reads, never declared beside the code.
        self.reads: dict[Key, set[Key]] = {}
        self._now: set[Key] | None = None  # the reads of the record being resolved; None: not recorded

    def reading(self, kind: str, rec: R.Record) -> None:
        """From now on, lookups are made for the record *rec* (of *kind*)."""
        found = self.reads.get((kind, rec.id))
        self._now = self.reads[(kind, rec.id)] = set() if found is None else found

    def nobody(self) -> None:
        """From now on, lookups are checks across whole tables, done on every resolve: not recorded."""
        self._now = None

    def has(self, table: str, rid: str) -> bool:
        """Whether the record *rid* of *table* exists; the lookup is recorded."""
        if self._now is not None:
            self._now.add((_KIND[table], rid))
        return rid in getattr(self.ds, table)

    def get(self, table: str, rid: str | None) -> Any:
        """The record *rid* of *table*, or None; the lookup (of an id) is recorded."""
        if not rid:
            return None
        if self._now is not None:
            self._now.add((_KIND[table], rid))
        return getattr(self.ds, table).get(rid)

    def records(self) -> list[tuple[str, R.Record]]:
        """The records to resolve: all, or those *only* names (the rest are resolved already)."""
        everything = self.ds.all_records()
        if self.only is None:
            return everything
        only = self.only
        return [(kind, rec) for kind, rec in everything if (kind, rec.id) in only]

    def table(self, kind: str, table: dict[str, Any]) -> list[Any]:
        """The records of one table to resolve."""
        if self.only is None:
            return list(table.values())
        only = self.only
        return [rec for rid, rec in table.items() if (kind, rid) in only]

    def fail(self, kind: str, rec: R.Record, field: str, problem: str, fix: str) -> None:
        self.errors.append(RecordError(rec.where(field.split("[")[0]), f"{kind} {rec.id}, field {field}", problem, fix))

    # ------------------------------------------------------------ references
    def ref(self, kind: str, rec: R.Record, field: str, value: str | None, *tables: str) -> None:
        if value is None:
            return
        for table in tables:
            if self.has(table, value):
                return
        known = [k for t in tables for k in getattr(self.ds, t)]
        close = difflib.get_close_matches(value, known, n=1)
        what = " or ".join(_WORD[t] for t in tables)
        self.fail(kind, rec, field, f"unknown {what} {value!r}.",
                  (f"did you mean {close[0]!r}? " if close else "") +
                  f"Define it in the {tables[0]} records or correct the id.")

    def refs(self, kind: str, rec: R.Record, field: str, values: list[str], *tables: str) -> None:
        for i, v in enumerate(values):
            self.ref(kind, rec, f"{field}[{i}]", v, *tables)

    def check_references(self) -> None:
        for kind, rec in self.records():
            self.reading(kind, rec)
            if kind != "source":
                if not rec.sources:
                    self.fail(kind, rec, "sources", "no source is given.", "list the ids of the sources this record was taken from.")
                self.refs(kind, rec, "sources", rec.sources, "sources")
            names = field_names(type(rec))
            for key in rec.inferred:
                if key not in names or key in ("id", "loc", "locs", "inferred"):
                    self.fail(kind, rec, f"inferred.{key}", f"{key!r} is not a field of a {kind}.",
                              "name the field whose value was inferred.")
                elif getattr(rec, key) in (None, [], {}):
                    self.fail(kind, rec, f"inferred.{key}", f"the field {key!r} is not set, so nothing was inferred.",
                              "remove this entry or set the field.")
        self.nobody()
        for src in self.table("source", self.ds.sources):
            if not (src.document or src.url):
                self.fail("source", src, "document", "the source has neither a document name nor a URL.",
                          "add 'document:' (a file or document name) or 'url:'.")
        for rid in sorted(set(self.ds.people) & set(self.ds.organizations)):
            self.fail("organization", self.ds.organizations[rid], "id", f"{rid!r} is both a person and an organisation id.",
                      "rename one of them so that organizers can name it unambiguously.")
        for p in self.table("person", self.ds.people):
            self.reading("person", p)
            self.refs("person", p, "affiliations", p.affiliations, "organizations")
            if not (p.name or p.given_name or p.family_name):
                self.fail("person", p, "name", "the person has no name.", "add given_name and family_name (or name).")
        for o in self.table("organization", self.ds.organizations):
            self.reading("organization", o)
            self.ref("organization", o, "parent", o.parent, "organizations")
        for pl in self.table("place", self.ds.places):
            self.reading("place", pl)
            self.ref("place", pl, "contained_in", pl.contained_in, "places")
        self.nobody()
        self.check_cycles("organization", self.ds.organizations, "parent")
        self.check_cycles("place", self.ds.places, "contained_in")
        for kind, rec in self.records():
            self.reading(kind, rec)
            if isinstance(rec, R.Scheduled):
                self.ref(kind, rec, "venue", rec.venue, "places")
                self.ref(kind, rec, "online", rec.online, "places")
                venue, online = self.get("places", rec.venue), self.get("places", rec.online)
                if venue is not None and venue.virtual:
                    self.fail(kind, rec, "venue", f"{rec.venue!r} is an online place.", "put it in 'online' instead.")
                if online is not None and not online.virtual:
                    self.fail(kind, rec, "online", f"{rec.online!r} is not an online place.",
                              "put it in 'venue', or mark the place 'virtual: true'.")
                self.refs(kind, rec, "organizers", rec.organizers, "people", "organizations")
            if isinstance(rec, R.Gathering):
                self.refs(kind, rec, "contacts", rec.contacts, "people")
                if rec.price is not None and rec.currency is None:
                    self.fail(kind, rec, "price", "a price needs a currency.", "add 'currency:', e.g. USD.")
                if rec.free and rec.price:
                    self.fail(kind, rec, "price", "the event is marked free but has a price.", "remove one of 'free' and 'price'.")
            if isinstance(rec, R.Event):
                self.ref(kind, rec, "series", rec.series, "series")
            if isinstance(rec, R.Talk):
                self.refs(kind, rec, "speakers", rec.speakers, "people")
                self.refs(kind, rec, "coauthors", rec.coauthors, "people")
                for i, ref in enumerate(rec.references):
                    self.refs(kind, rec, f"references[{i}].authors", ref.authors, "people")
                for i, var in enumerate(rec.abstract_variants):
                    self.ref(kind, rec, f"abstract_variants[{i}].source", var.source, "sources")
                if rec.part_of is not None:
                    if rec.parent is not None:
                        self.fail(kind, rec, "part_of", "this talk is already written inside a series, event or session.",
                                  "remove 'part_of'.")
                    else:
                        self.ref(kind, rec, "part_of", rec.part_of, "series", "events", "sessions")
                        for table, k in (("series", "series"), ("events", "event"), ("sessions", "session")):
                            if self.has(table, rec.part_of):
                                rec.parent = (k, rec.part_of)
                                break
                if rec.title and rec.title_status:
                    self.fail(kind, rec, "title_status", "a talk with a title is neither TBA nor untitled.",
                              "remove 'title_status' or 'title'.")
                if rec.previous_start and rec.status != "rescheduled":
                    self.fail(kind, rec, "previous_start", "only a rescheduled talk has a previous start.",
                              "set 'status: rescheduled' or remove 'previous_start'.")
        self.nobody()

    def check_cycles(self, kind: str, table: dict[str, R.Organization] | dict[str, R.Place], attr: str) -> None:
        for rec in table.values():
            seen = {rec.id}
            cur = getattr(rec, attr)
            while cur is not None and cur in table:
                if cur in seen:
                    self.fail(kind, rec, attr, f"{attr} loops back to {rec.id!r}.", f"one of the records in the loop must not name a {attr}.")
                    break
                seen.add(cur)
                cur = getattr(table[cur], attr)

    # ------------------------------------------------------------ inheritance
    def parent_of(self, rec: R.Scheduled) -> R.Scheduled | None:
        if rec.parent is None:
            return None
        kind, pid = rec.parent
        found: R.Scheduled | None = self.get(TABLES[kind], pid)
        return found

    def chain(self, rec: R.Scheduled) -> list[R.Scheduled]:
        out = [rec]
        cur = self.parent_of(rec)
        while cur is not None and cur not in out:
            out.append(cur)
            if isinstance(cur, R.Event) and cur.series and cur.parent is None:
                nxt: R.Scheduled | None = self.get("series", cur.series)
            else:
                nxt = self.parent_of(cur)
            cur = nxt
        series = self.get("series", rec.series) if isinstance(rec, R.Event) else None
        if series is not None:
            out.append(series)
        return out

    def inherit(self) -> None:
        # Only talks inherit: a session or event states its own place and mode (a lunch
        # break in a workshop is not in the workshop's room).
        for rec in self.table("talk", self.ds.talks):
            self.reading("talk", rec)
            chain = self.chain(rec)
            for attr in ("attendance", "language"):
                if getattr(rec, attr) is None:
                    setattr(rec, attr, next((getattr(c, attr) for c in chain if getattr(c, attr)), None))
            if not rec.organizers:
                rec.organizers = next((list(c.organizers) for c in chain if c.organizers), [])
            if rec.attendance != "online" and rec.venue is None:
                rec.venue = next((c.venue for c in chain if c.venue), None)
            if rec.attendance != "in-person" and rec.online is None:
                rec.online = next((c.online for c in chain if c.online), None)
        self.nobody()
        for kind, record in self.records():
            if isinstance(record, R.Scheduled):
                if record.attendance == "online" and record.venue:
                    self.fail(kind, record, "venue", "an online-only talk has no physical venue.", "remove 'venue' or set 'attendance: hybrid'.")
                if record.attendance == "in-person" and record.online:
                    self.fail(kind, record, "online", "an in-person talk has no online place.", "remove 'online' or set 'attendance: hybrid'.")

    # ------------------------------------------------------------ times
    def zone_of(self, rec: R.Scheduled) -> tuple[ZoneInfo | dt_timezone | None, str | None, str]:
        """The zone to read local times in, its IANA name, and where it came from."""
        if rec.offset and rec.timezone:
            return None, None, "both"
        for c in self.chain(rec):
            if c.offset:
                sign = 1 if c.offset[0] == "+" else -1
                h, m = int(c.offset[1:3]), int(c.offset[4:6])
                return dt_timezone(sign * timedelta(hours=h, minutes=m)), None, "offset"
            if c.timezone:
                return ZoneInfo(c.timezone), c.timezone, "timezone"
        for c in self.chain(rec):  # then the venue's zone, or its building's, up the parents
            place = self.get("places", c.venue)
            seen: set[str] = set()
            while place is not None and place.id not in seen:
                seen.add(place.id)
                if place.timezone:
                    return ZoneInfo(place.timezone), place.timezone, "venue"
                place = self.get("places", place.contained_in)
        return None, None, "none"

    def instant(self, kind: str, rec: R.Scheduled, field: str, value: str, zone: ZoneInfo | dt_timezone | None,
                zname: str | None, day_of: date | None = None) -> R.When | None:
        if _CLOCK.fullmatch(value):
            if day_of is None:
                self.fail(kind, rec, field, "a time of day needs a start date to belong to.",
                          "write the full date and time, e.g. 2024-05-23T10:30.")
                return None
            value = f"{day_of.isoformat()}T{value}"
        day, hms = parse_local(value)
        if hms is None:
            return R.When(lexical=day.isoformat(), is_date=True, utc=None, zone=zname)
        if zone is None:
            self.fail(kind, rec, field, f"the time {value} has no time zone.",
                      "add 'timezone:' (an IANA zone such as Europe/Paris) to the talk, its series or event, or its venue; "
                      "or 'offset:' when only the UTC offset is known.")
            return None
        naive = datetime(day.year, day.month, day.day, *hms)
        if isinstance(zone, ZoneInfo):
            first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
            back = first.astimezone(dt_timezone.utc).astimezone(zone).replace(tzinfo=None)
            if back != naive:
                self.fail(kind, rec, field, f"{value} does not exist in {zname}: the clocks skip it for daylight saving.",
                          "check the time; if the source really says so, write the offset it means in 'offset:'.")
                return None
            if first.utcoffset() != second.utcoffset():
                self.fail(kind, rec, field, f"{value} happens twice in {zname} (the hour repeated when daylight saving ends).",
                          "say which one with 'offset:' instead of 'timezone:'.")
                return None
            moment = first
        else:
            moment = naive.replace(tzinfo=zone)
        return R.When(lexical=lexical(moment), is_date=False, utc=moment.astimezone(dt_timezone.utc),
                      local=moment, zone=zname)

    def times(self) -> None:
        for kind, rec in self.records():
            if not isinstance(rec, R.Scheduled):
                continue
            self.reading(kind, rec)
            zone, zname, origin = self.zone_of(rec)
            if origin == "both":
                self.fail(kind, rec, "offset", "both 'timezone' and 'offset' are given.",
                          "keep 'timezone' when the venue's zone is known, 'offset' when only the offset is.")
                continue
            if rec.end and not rec.start:
                self.fail(kind, rec, "end", "an end is given without a start.", "add 'start:'.")
                continue
            if rec.start:
                rec.start_at = self.instant(kind, rec, "start", rec.start, zone, zname)
            start = rec.start_at
            if isinstance(rec, R.Talk) and rec.previous_start:
                rec.previous_start_at = self.instant(kind, rec, "previous_start", rec.previous_start, zone, zname)
            dur = parse_duration(rec.duration) if rec.duration else None
            if dur is not None and dur <= timedelta(0):
                self.fail(kind, rec, "duration", "the duration is zero.", "write a positive duration such as PT1H.")
                continue
            if start is None:
                continue
            day = date.fromisoformat(start.lexical[:10])
            if rec.end:
                end = self.instant(kind, rec, "end", rec.end, zone, zname, day_of=None if start.is_date else day)
                if end is None:
                    continue
                if end.is_date != start.is_date:
                    self.fail(kind, rec, "end", "the start and end must both be dates or both be times.",
                              "write both as YYYY-MM-DD, or both with a time.")
                    continue
                if end.is_date:
                    if end.lexical < start.lexical:
                        self.fail(kind, rec, "end", f"the end {end.lexical} is before the start {start.lexical}.", "correct the dates.")
                        continue
                else:
                    assert end.utc and start.utc
                    if end.utc <= start.utc:
                        self.fail(kind, rec, "end", f"the end {rec.end} is not after the start {rec.start}.",
                                  "correct the times (use 24-hour times: 2 pm is 14:00).")
                        continue
                    if dur is not None and start.utc + dur != end.utc:
                        self.fail(kind, rec, "duration", f"the duration {rec.duration} does not match the start and end.",
                                  "remove one of 'end' and 'duration', or correct it.")
                        continue
                    dur = end.utc - start.utc
                rec.end_at = end
            elif dur is not None and not start.is_date:
                assert start.local is not None and start.utc is not None
                moment = (start.utc + dur).astimezone(start.local.tzinfo)
                rec.end_at = R.When(lexical=lexical(moment), is_date=False, utc=moment.astimezone(dt_timezone.utc),
                                    local=moment, zone=start.zone)
            # interned: a few durations recur in every talk (lod.model.fields.SHARED_LEN)
            rec.duration_iso = sys.intern(iso_duration(dur)) if dur is not None else None


def resolve(ds: R.Dataset, only: Collection[tuple[str, str]] | None = None) -> dict[Key, frozenset[Key]]:
    """Link and complete a freshly loaded Dataset in place; raise RecordErrors on any problem.

    With *only* (record keys), resolve just those records, the others being resolved
    already and unaffected (none of what they read changed); the checks that span tables
    (an id used for a person and an organisation, loops of parents) still look at
    everything. Its errors can differ in number and order from a full resolve's.

    Returns what resolving each record (each of *only*) looked up of other records, as
    keys, recorded while it read: the records it names (found or not: adding a missing one
    later must resolve it again), the chain of series, events and sessions a talk inherits
    from, and the places up from their venues (a time zone). A record none of whose reads
    was added, removed or changed resolves as before: an incremental load resolves only the others.
    """
    r = _Resolver(ds, only)
    r.check_references()
    if not r.errors:
        r.inherit()
    if not r.errors:
        r.times()
    if r.errors:
        raise RecordErrors(r.errors)
    return {key: frozenset(keys - {key}) for key, keys in r.reads.items()}
