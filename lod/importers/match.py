"""Reconciliation for ``lod import``: which existing record an imported one is, if any.

People and organisations match first by identifier (ORCID, ROR, Wikidata, ``ids``), then
by folded name (no accents, case or punctuation; "SURNAME, Given" read as "Given
Surname"; initials against full given names). Talks match by source id within the same
parent, our own feed's UID, or the same start instant and a common speaker. One candidate
is a match; several are reported, never guessed, unless the mapping file settles them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lod.model import records as R
from lod.errors import ImportFailed
from lod.model.kinds import TOP_LEVEL
from lod.loading.files import parse_local
from lod.importers.common import Rec, display, fold, name_keys, split_name

SINGULAR = TOP_LEVEL  # the kind of each top-level key (lod.model.kinds)


class Matcher:
    """Finds the existing record each imported record is; collects ambiguities."""

    def __init__(self, ds: R.Dataset, owned: str, mapping: dict[str, dict[str, str]]) -> None:
        self.ds = ds
        self.owned = owned
        self.mapping = mapping
        self.ambiguous: list[str] = []
        self.notes: list[str] = []

    def settle(self, kind: str, rec: Rec, candidates: list[str], table: dict[str, Any]) -> str | None:
        """The one candidate; a mapping-file answer; or None after reporting the ambiguity."""
        names = [display(rec) if kind == "people" else str(rec.get("name") or rec.get("title") or ""),
                 *rec.get("also_known_as", []), rec["id"]]
        if kind == "talks":
            # talks that share a title are told apart by their start or their source id
            names[1:1] = [f"{names[0]} @ {rec.get('start', '')}", *(str(v) for v in (rec.get("ids") or {}).values())]
        for n in names:
            answer = self.mapping.get(kind, {}).get(n)
            if answer == "new":
                return ""
            if answer:
                if answer not in table:
                    raise ImportFailed(f"the mapping file says {n!r} is {answer!r}, but there is no such record. "
                                       "Fix: write the id of an existing record, or 'new'.")
                return answer
        unique = list(dict.fromkeys(candidates))
        if len(unique) == 1:
            return unique[0]
        if len(unique) > 1:
            listed = "; ".join(f"{c} ({self.label(table[c])}, {table[c].loc})" for c in unique)
            self.ambiguous.append(f"{SINGULAR[kind]} {names[0]!r} matches {len(unique)} records: "
                                  f"{listed}.")
        return None

    @staticmethod
    def label(r: Any) -> str:
        """How a candidate is named in an ambiguity message (a talk by its title and start)."""
        if isinstance(r, R.Talk):
            return f"{r.title or 'untitled'}, {r.start or 'no start'}"
        name = r.display_name if isinstance(r, R.Person) else getattr(r, "name", None) or r.id
        if isinstance(r, R.Person) and r.affiliations:
            name += ", " + ", ".join(r.affiliations)
        return str(name)

    def by_ids(self, rec: Rec, table: dict[str, Any]) -> list[str]:
        out = []
        for rid, r in table.items():
            for key in ("orcid", "ror", "wikidata"):
                if rec.get(key) and getattr(r, key, None) == rec[key]:
                    out.append(rid)
            for system, value in (rec.get("ids") or {}).items():
                if r.ids.get(system) == str(value):
                    out.append(rid)
        return out

    def person(self, rec: Rec) -> str | None:
        table = self.ds.people
        if rec["id"] in table and table[rec["id"]].loc.file == self.owned:
            return rec["id"]  # ours, from an earlier import of this source
        found = self.by_ids(rec, table)
        if not found:
            full, initials = name_keys(rec)
            exact, loose = [], []
            for rid, p in table.items():
                spellings = [{"name": p.name, "given_name": p.given_name, "family_name": p.family_name}]
                spellings += [split_name(a) for a in p.also_known_as]
                for s in spellings:
                    f2, i2 = name_keys({k: v for k, v in s.items() if v})
                    if f2 == full:
                        exact.append(rid)
                    elif i2 == initials and (_initials_only(full) or _initials_only(f2)):
                        loose.append(rid)
            # a different id in the same source system is a different person, whatever the name
            found = [rid for rid in exact or loose if not _other_id(rec, table[rid])]
        return self.settle("people", rec, found, table)

    def organization(self, rec: Rec) -> str | None:
        table = self.ds.organizations
        if rec["id"] in table and table[rec["id"]].loc.file == self.owned:
            return rec["id"]
        found = self.by_ids(rec, table)
        if not found:
            key = fold(str(rec.get("name", "")))
            found = [rid for rid, o in table.items() if key in {fold(n) for n in (o.name, *o.also_known_as)}]
        return self.settle("organizations", rec, found, table)

    def by_name(self, kind: str, rec: Rec, table: dict[str, Any]) -> str | None:
        if rec["id"] in table and table[rec["id"]].loc.file == self.owned:
            return rec["id"]
        key = fold(str(rec.get("name", "")))
        found = [rid for rid, r in table.items() if key in {fold(n) for n in (r.name, *getattr(r, "also_known_as", []))}]
        if rec.get("url"):
            found += [rid for rid, r in table.items() if getattr(r, "url", None) == rec["url"]]
        return self.settle(kind, rec, found, table)

    def talk(self, rec: Rec, utc: datetime | None) -> str | None:
        table = self.ds.talks
        if not rec.get("ids") and rec["id"] in table and table[rec["id"]].loc.file == self.owned:
            return rec["id"]
        # Source ids are unique within their parent (Indico numbers contributions per event).
        found = [rid for rid, t in table.items()
                 if any(t.ids.get(k) == str(v) for k, v in (rec.get("ids") or {}).items())
                 and (not rec.get("part_of") or t.parent is None or t.parent[1] == rec["part_of"])]
        uid = str((rec.get("ids") or {}).get("ical", ""))
        if not found and "@" in uid and uid.split("@")[0] in table and str(rec.get("url", "")).endswith("/talk/" + uid.split("@")[0]):
            found = [uid.split("@")[0]]  # our own feed: the UID is <talk-id>@<host>
        if not found and utc is not None:
            for rid, t in table.items():
                if t.start_at is None or t.start_at.utc != utc:
                    continue
                if set(t.speakers) & set(rec.get("speakers", [])):
                    found.append(rid)
                elif not rec.get("speakers") and rec.get("title") and fold(t.title or "") == fold(rec["title"]):
                    found.append(rid)
        return self.settle("talks", rec, found, table)


def _other_id(rec: Rec, r: Any) -> bool:
    """Whether *r* has another id than *rec* in one of *rec*'s source systems, on the same server.

    Ids are scoped by their server ("fahrplan.events.ccc.de/1545"); ids of two servers say
    nothing about each other, so only the name decides then.
    """
    return any(system in r.ids and r.ids[system] != str(value) and _server(r.ids[system]) == _server(str(value))
               for system, value in (rec.get("ids") or {}).items())


def _server(value: str) -> str:
    return value.rsplit("/", 1)[0] if "/" in value else ""


def _initials_only(key: str) -> bool:
    words = key.split()
    return len(words) > 1 and all(len(w) == 1 for w in words[:-1])


def utc_of(rec: Rec, zone: str | None) -> datetime | None:
    """The UTC instant of an imported talk's start, to match it against the data."""
    start = rec.get("start")
    if not start:
        return None
    day, hms = parse_local(str(start))
    if hms is None:
        return None
    local = datetime(day.year, day.month, day.day, *hms)
    if rec.get("offset"):
        sign = -1 if str(rec["offset"]).startswith("-") else 1
        hh, mm = str(rec["offset"])[1:].split(":")
        return (local - sign * timedelta(hours=int(hh), minutes=int(mm))).replace(tzinfo=UTC)
    tz = rec.get("timezone") or zone
    if not tz:
        return None
    return local.replace(tzinfo=ZoneInfo(str(tz))).astimezone(UTC)
