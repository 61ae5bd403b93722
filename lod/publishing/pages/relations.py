"""Relations between records that pages list: talks of a person, speakers of an organisation …"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from lod.model import records as R
from lod.model.iri import Minter
from lod.model.kinds import TABLES
from lod.publishing.pages.constants import KIND_OF_PATH
from lod.publishing.pages.recent import Recent
from lod.publishing.pages.times import sort_key

# ---------------------------------------------------------------- relations between records


class HasDataset(Protocol):
    """What the index reads of a ``Prepared``: the resolved records and the minter (``lod.publishing.pages.probe``
    builds an index of a few records alone)."""

    @property
    def dataset(self) -> R.Dataset: ...

    @property
    def minter(self) -> Minter: ...


# The maps SiteIndex derives from many records. Each entry is built record by record from that
# record's own fields, so a SiteIndex of a few records holds exactly the entries they are in:
# a query that reads entries by key is evaluated again only when one of those changed
# (``lod.publishing.pages.probe``). A map left out here makes every query reading it wide.
UNDATED = "undated"  # the key in ``SiteIndex.years`` of the talks without a date: their page is talks/undated
DERIVED = ("children", "roles", "members", "sub_orgs", "sub_places", "at_place", "by_source", "topics", "years")


class SiteIndex:
    """Who is related to what, computed once from the resolved records."""

    def __init__(self, p: HasDataset, ordered: bool = True) -> None:
        """*ordered* False leaves the lists (children, roles) in record order instead of by date:
        for readers that only need who is related to what (``lod.publishing.pages.probe.touched_entries``)."""
        ds = self.ds = p.dataset
        self.m = p.minter
        self._latest_taken: str | None = None
        self._kept: Recent[tuple[str, tuple[str, ...]], Any] = Recent()
        self._keys: dict[int, tuple[int, str, str, str]]
        # One pass over the records for the maps read in record order, and a sort key computed once
        # a record (a rebuild builds the whole index: at 100k talks 3.0 s in several passes, BENCHMARKS.md).
        records = ds.all_records()
        # Each dated record's sort key by its identity: the records live as long as the index, so no
        # other object has the identity of one of them.
        keys = self._keys = {}
        self.children: dict[tuple[str, str], list[tuple[str, R.Scheduled]]] = {}
        self.at_place: dict[str, list[tuple[str, R.Scheduled]]] = {}
        self.by_source: dict[str, list[tuple[str, R.Record]]] = {}
        for kind, rec in records:
            if isinstance(rec, R.Scheduled):
                keys[id(rec)] = sort_key(rec)
                parent = self.parent_of(kind, rec) if isinstance(rec, (R.Event, R.Session, R.Talk)) else None
                if parent is not None:
                    self.children.setdefault(parent, []).append((kind, rec))
                for place_id in (rec.venue, rec.online):
                    if place_id:
                        self.at_place.setdefault(place_id, []).append((kind, rec))
            for sid in rec.sources:
                self.by_source.setdefault(sid, []).append((kind, rec))
        if ordered:
            for items in self.children.values():
                items.sort(key=lambda kr: keys[id(kr[1])])
        # The roles in the order of the passes below: each agent's roles are listed in that order.
        self.roles: dict[str, dict[str, list[tuple[str, R.Record]]]] = {}
        roles = self.roles

        def add(agents: Sequence[str], role: str, kind: str, rec: R.Record) -> None:
            # An agent named twice in one list has the role once (a record is visited once a role).
            for agent in dict.fromkeys(agents) if len(agents) > 1 else agents:
                held = roles.get(agent)
                if held is None:
                    held = roles[agent] = {}
                listed = held.get(role)
                if listed is None:
                    held[role] = [(kind, rec)]
                else:
                    listed.append((kind, rec))

        talks = ds.talks.values()
        for t in talks:
            if t.speakers:
                add(t.speakers, "speaker", "talk", t)
            if t.coauthors:
                add(t.coauthors, "coauthor", "talk", t)
            if t.references:
                add(sorted({a for ref in t.references for a in ref.authors}), "reference", "talk", t)
        for kind, any_rec in records:
            if isinstance(any_rec, R.Gathering) and any_rec.contacts:
                add(any_rec.contacts, "contact", kind, any_rec)
            if isinstance(any_rec, R.Scheduled) and kind != "talk" and any_rec.organizers:
                add(any_rec.organizers, "organizer", kind, any_rec)
        for t in talks:
            if t.organizers:
                add(t.organizers, "organizer-talk", "talk", t)
        for held_roles in roles.values() if ordered else ():
            for role_items in held_roles.values():
                role_items.sort(key=lambda kr: keys[id(kr[1])] if isinstance(kr[1], R.Scheduled)
                                else (2, "", "", kr[1].id))
        self.members: dict[str, list[R.Person]] = {}
        for person in ds.people.values():
            for oid in person.affiliations:
                self.members.setdefault(oid, []).append(person)
        self.sub_orgs: dict[str, list[str]] = {}
        for o in ds.organizations.values():
            if o.parent:
                self.sub_orgs.setdefault(o.parent, []).append(o.id)
        self.sub_places: dict[str, list[str]] = {}
        for pl in ds.places.values():
            if pl.contained_in:
                self.sub_places.setdefault(pl.contained_in, []).append(pl.id)
        self.topics: dict[str, tuple[str, list[R.Talk]]] = {}
        paths: dict[str, str] = {}  # a topic's path by label: many talks share a label
        # The talks of each year's archive page (lod.publishing.pages.listing), those without a date under UNDATED.
        self.years: dict[str, list[R.Talk]] = {}
        for t in talks:
            self.years.setdefault(t.start_at.lexical[:4] if t.start_at is not None else UNDATED, []).append(t)
            for label in t.topics:
                path = paths.get(label)
                if path is None:
                    path = paths[label] = self._topic_path(label)
                self.topics.setdefault(path, (label, []))[1].append(t)

    def _topic_path(self, label: str) -> str:
        path = self.m.path_of(str(self.m.topic(label)))
        assert path is not None
        return path

    def sort_key(self, rec: R.Scheduled) -> tuple[int, str, str, str]:
        """``times.sort_key(rec)``, computed once for each record of the index."""
        got = self._keys.get(id(rec))
        return sort_key(rec) if got is None else got

    def kept(self, name: str, args: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """*compute()*, kept on the index (it never changes once built): the queries share their parts
        (a probe keeps them with what they read, ``lod.publishing.pages.probe.Probe.kept``)."""
        key = (name, args)
        memo = self._kept
        got = memo.get(key, memo)
        if got is memo:
            got = memo[key] = compute()
        return got

    def person_talks(self, pid: str) -> list[R.Talk]:
        """The talks a person gives or co-authors, by date."""
        roles = self.roles.get(pid, {})
        talks = {r.id: r for _k, r in roles.get("speaker", []) + roles.get("coauthor", []) if isinstance(r, R.Talk)}
        return sorted(talks.values(), key=self.sort_key)

    def parent_of(self, kind: str, rec: R.Scheduled) -> tuple[str, str] | None:
        """The series, event or session a record belongs to."""
        if rec.parent is not None:
            return rec.parent
        if isinstance(rec, R.Event) and rec.series:
            return ("series", rec.series)
        return None

    def record(self, kind: str, rid: str) -> R.Record | None:
        """The record of *kind* with id *rid*."""
        return self.ds.table(kind).get(rid) if kind in TABLES else None  # a topic has no record

    def ancestors(self, kind: str, rec: R.Scheduled) -> list[tuple[str, R.Scheduled]]:
        """Session, event and series a record belongs to, nearest first."""
        out: list[tuple[str, R.Scheduled]] = []
        cur = self.parent_of(kind, rec)
        while cur is not None and all(r.id != cur[1] or k != cur[0] for k, r in out):
            parent = self.record(*cur)
            if not isinstance(parent, R.Scheduled):
                break
            out.append((cur[0], parent))
            cur = self.parent_of(cur[0], parent)
        return out

    def talks_under(self, kind: str, rid: str) -> list[R.Talk]:
        """Every talk of a series, event or session, its events and sessions included, by date."""
        out: list[R.Talk] = []
        stack = [(kind, rid)]
        seen: set[tuple[str, str]] = set()
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            for ck, child in self.children.get(key, []):
                if isinstance(child, R.Talk):
                    out.append(child)
                else:
                    stack.append((ck, child.id))
        return sorted(out, key=self.sort_key)

    def org_descendants(self, oid: str) -> list[str]:
        """The organisation and its sub-organisations, transitively."""
        return _descendants(oid, self.sub_orgs)

    def place_descendants(self, pid: str) -> list[str]:
        """The place and the places within it, transitively."""
        return _descendants(pid, self.sub_places)

    def place_chain(self, pid: str) -> list[R.Place]:
        """A place and the places containing it, innermost first."""
        out: list[R.Place] = []
        cur = self.ds.places.get(pid)
        while cur is not None and cur not in out:
            out.append(cur)
            cur = self.ds.places.get(cur.contained_in or "")
        return out

    def place_address(self, pid: str) -> R.Address | None:
        """The postal address of a place, or of the nearest place containing it."""
        return next((pl.address for pl in self.place_chain(pid) if pl.address is not None), None)

    def affiliated(self, oid: str) -> list[tuple[R.Person, str]]:
        """People affiliated with the organisation or one of its sub-organisations, with that organisation, by name."""
        return sorted(self.affiliated_people(oid).values(), key=lambda pv: person_order(pv[0]))

    def affiliated_people(self, oid: str) -> dict[str, tuple[R.Person, str]]:
        """``affiliated`` by person id, in no order."""
        out: dict[str, tuple[R.Person, str]] = {}
        for org in self.org_descendants(oid):
            for person in self.members.get(org, []):
                out.setdefault(person.id, (person, org))
        return out

    def sources_taken(self, rec: R.Record) -> str:
        """The latest date the record's sources were taken (its lastmod)."""
        return max((self.ds.sources[s].taken for s in rec.sources if s in self.ds.sources),
                   default=self.latest_taken())

    def latest_taken(self) -> str:
        """The date of the data: the latest date any source was taken."""
        if self._latest_taken is None:
            self._latest_taken = max((s.taken for s in self.ds.sources.values()), default="1970-01-01")
        return self._latest_taken

    def lastmod(self, path: str) -> str:
        """The sitemap lastmod of the page at *path*."""
        if not path:
            return self.latest_taken()
        kind_path, _, rid = path.partition("/")
        kind = KIND_OF_PATH.get(kind_path, "")
        if kind == "topic":
            talks = self.topics.get(path, ("", []))[1]
            return max((self.sources_taken(t) for t in talks), default=self.latest_taken())
        rec = self.record(kind, rid)
        return self.sources_taken(rec) if rec is not None else self.latest_taken()


def person_order(person: R.Person) -> tuple[str, str, str]:
    """People by family name (or the name as written), then as written, then id."""
    return (person.family_name or person.display_name, person.display_name, person.id)


def _descendants(root: str, children: Mapping[str, list[str]]) -> list[str]:
    """*root* and everything below it in *children*, depth first in id order; cycles visited once."""
    out: list[str] = []
    seen: set[str] = set()
    stack = [root]
    while stack:
        cur = stack.pop()
        if cur in seen:
            continue
        seen.add(cur)
        out.append(cur)
        stack.extend(sorted(children.get(cur, []), reverse=True))
    return out
