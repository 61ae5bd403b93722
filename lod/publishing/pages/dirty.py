"""Which pages and calendars can differ between two versions of the data.

An incremental build renders again only what an edit can have changed. ``record_links``
says, for every record (and topic), which other records its page and its calendar show
something of; ``affected`` turns the records that changed into the pages and calendars
to render again (``lod.publishing.pages.stage.render_some`` renders them).

The links of a page are *everything it reads*, transitively as the page does: a talk's
page names its speakers and their organisations, every place up its venue's chain, its
session, event and series; a place's page lists the talks at every place inside it, each
with its speakers, their organisations and the talk's series; an organisation's page
lists the people of every organisation under it and their talks … Records found through
a reverse lookup (the talks at a place, the records taken from a source, a person's
talks) count as read. So the rule is:

    a page (or calendar) may differ only if its own record changed, or a record in its
    links in the old data or in the new data changed.

Why that is sound: if no record a page reads in the new data changed, and none it read in
the old data changed, every lookup gives the same records with the same content in both
(a record the new page finds by a reverse lookup is unchanged, so the old page found it
too, and the other way round), so the page is the same. Which calendars exist is read
the same way (a page links to its calendar only if it has one): the talks deciding it are
in the links.

The links are computed from the Dataset alone, and an orchestrator keeps them from the
previous build, which it does not keep the Dataset of. Besides the records (kinds as in
``Dataset.all_records``), the map has ``("topic", slug)`` for topic pages and
``("calendar", file name)`` for every calendar a record may have (``("calendar",
"person/x.ics")``): a calendar shows less than its page (no co-speakers, no
organisations), so it has links of its own.

Listings cut into pages (``lod.publishing.pages.listing``: a year's talks, a source's records, a
topic's and a place's talks, an organisation's people) have one key per page: the owner's key for page 1 (a year's
is ``("year", "2024")``) and ``("page", "source/x/page-2")`` for the others. Each page's
links are its own slice's items, so an edit dirties the page its item is on. An item
added or removed moves the slices after it without changing their records: for these
keys a page is also dirty when its links differ between the two versions, and pseudo-keys
in the links (the number of pages, page 1's count of items) make every change of what a
page says show in its links (``_Links.listing``).

Not covered here: the index page, ``sitemap.xml`` (its ``lastmod`` dates come from every
page's sources), ``robots.txt``, the site-wide ``talks.ics`` and the search index;
``render_some`` decides those from what it renders (the index page's items, the lastmods,
the dirty talk calendars, the dirty talk pages). What is global to every page is the ``site`` block (title,
licence, base URL …): put ``SITE`` (any key of kind ``"site"``) in *changed* when it changed,
and ``affected`` says everything is dirty. ``now`` only changes the index page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lod.model import records as R
from lod.model.iri import KIND_PATHS, Minter, slugify
from lod.model.kinds import TABLES
from lod.publishing.pages import listing as L
from lod.publishing.pages.relations import SiteIndex

Key = tuple[str, str]  # (kind, id): kinds as in Dataset.all_records, plus "topic" and "calendar"
SITE: Key = ("site", "site")  # in *changed* when the site block changed: every page shows it
CALENDAR = "calendar"
TOPIC = "topic"
YEAR = "year"  # a year's archive page (page 1 of its listing): ("year", "2024")
PAGE = "page"  # a further page of a listing, by its site path: ("page", "source/x/page-2")
# Keys of pages whose links are compared between the two versions: a listing page also
# differs when its slice moved (an item added or removed before it) though no item on it changed.
COMPARED = frozenset((PAGE, *L.PAGED_KINDS))


@dataclass
class Affected:
    """The pages and calendars that may differ, for ``render_some`` (and for deleting removed ones).

    *paths* are site paths P of ``P.html`` (``talk/x``, ``topic/y``), *feeds* calendar file names
    (``series/x.ics``); both include those of removed records and topics, which the new data
    does not have (delete their files). The index, sitemap, robots.txt and ``talks.ics`` are
    never listed (``render_some`` decides them). *everything* is True when every page may
    differ (the site block changed); *paths* and *feeds* then hold every page and calendar
    of either version. *keys* are the dirty pages and calendars as link keys.
    """

    everything: bool
    paths: set[str] = field(default_factory=set)
    feeds: set[str] = field(default_factory=set)
    keys: set[Key] = field(default_factory=set)


def path_of(key: Key) -> str:
    """The site path of a page key: ``("organization", "nyu")`` → ``org/nyu``, ``("year", "2024")`` →
    ``talks/2024``, ``("page", "source/x/page-2")`` → ``source/x/page-2`` (``lod.publishing.pages.listing``)."""
    if key[0] == PAGE:
        return key[1]
    return L.owner_path(key) if key[0] == YEAR else f"{KIND_PATHS[key[0]]}/{key[1]}"


def feed_name(kind: str, rid: str) -> str:
    """The calendar file of a record: ``person/x.ics``."""
    return f"{KIND_PATHS[kind]}/{rid}.ics"


@dataclass
class _View:
    """A Dataset with a minter, as SiteIndex reads a Prepared (topic paths do not depend on the base)."""

    dataset: R.Dataset
    minter: Minter


class _Links:
    """What each page and calendar reads, with the parts many pages share computed once."""

    def __init__(self, ds: R.Dataset, index: SiteIndex | None = None) -> None:
        self.ds = ds
        # Who, not in which order: the pages' own (ordered) index serves when there is one.
        self.idx = index or SiteIndex(_View(ds, Minter()), ordered=False)
        self._person: dict[str, frozenset[Key]] = {}
        self._chain: dict[str, tuple[Key, ...]] = {}
        self._item: dict[tuple[str, bool], frozenset[Key]] = {}
        self._vevent: dict[str, frozenset[Key]] = {}
        self._ancestors: dict[Key, tuple[Key, ...]] = {}
        self._nested: dict[Key, frozenset[Key]] = {}

    # ------------------------------------------------------------ shared parts

    def person(self, pid: str) -> frozenset[Key]:
        """A person's link with affiliations: the person and their organisations' names."""
        got = self._person.get(pid)
        if got is None:
            rec = self.ds.people.get(pid)
            got = frozenset([("person", pid)] + [("organization", o) for o in (rec.affiliations if rec else [])])
            self._person[pid] = got
        return got

    def chain(self, pid: str | None) -> tuple[Key, ...]:
        """A place and every place containing it (names, code, the nearest address)."""
        if not pid:
            return ()
        got = self._chain.get(pid)
        if got is None:
            got = tuple(("place", pl.id) for pl in self.idx.place_chain(pid)) or (("place", pid),)
            self._chain[pid] = got
        return got

    def ancestors(self, kind: str, rec: R.Scheduled) -> tuple[Key, ...]:
        """Session, event and series of a record (their names; a talk's JSON-LD, their offers)."""
        got = self._ancestors.get((kind, rec.id))
        if got is None:
            got = self._ancestors[(kind, rec.id)] = tuple((k, a.id) for k, a in self.idx.ancestors(kind, rec))
        return got

    def person_talks(self, pid: str) -> list[R.Talk]:
        """The talks a person gives or co-authors (``SiteIndex.person_talks``, not sorted)."""
        roles = self.idx.roles.get(pid, {})
        return [r for role in ("speaker", "coauthor") for _k, r in roles.get(role, []) if isinstance(r, R.Talk)]

    def talks_under(self, kind: str, rec: R.Scheduled) -> list[R.Talk]:
        """The talks of a series, event or session, its events and sessions included (not sorted)."""
        out: list[R.Talk] = []
        for k, child in self.idx.children.get((kind, rec.id), []):
            if isinstance(child, R.Talk) and k == "talk":
                out.append(child)
            else:
                out.extend(self.talks_under(k, child))
        return out

    def talk_item(self, t: R.Talk, show_parent: bool) -> frozenset[Key]:
        """A talk as a list item: the talk, its speakers with their organisations, and its parents if shown."""
        key = (t.id, show_parent)
        got = self._item.get(key)
        if got is None:
            out: set[Key] = {("talk", t.id)}
            for pid in t.speakers:
                out |= self.person(pid)
            if show_parent:
                out.update(self.ancestors("talk", t))
            got = self._item[key] = frozenset(out)
        return got

    def scheduled_item(self, kind: str, rec: R.Scheduled, show_parent: bool, out: set[Key]) -> None:
        """A talk's item, or a session, event or series with everything nested in it."""
        if isinstance(rec, R.Talk) and kind == "talk":
            out |= self.talk_item(rec, show_parent)
            return
        got = self._nested.get((kind, rec.id))
        if got is None:
            nested: set[Key] = {(kind, rec.id)}
            for k, child in self.idx.children.get((kind, rec.id), []):
                self.scheduled_item(k, child, False, nested)
            got = self._nested[(kind, rec.id)] = frozenset(nested)
        out |= got

    def facts(self, rec: R.Scheduled, out: set[Key]) -> None:
        """When, where (every place up the chain, as the text and the JSON-LD location show), who organises."""
        out.update(self.chain(rec.venue))
        out.update(self.chain(rec.online))
        for agent in rec.organizers:
            out.add(("person", agent) if agent in self.ds.people else ("organization", agent))

    @staticmethod
    def sources(rec: R.Record, out: set[Key]) -> None:
        out.update(("source", s) for s in rec.sources)

    def vevent(self, t: R.Talk) -> frozenset[Key]:
        """A talk's VEVENT: the talk, its sources (DTSTAMP), its venue's chain and its online place,
        its speakers and co-authors with their organisations and its session, event and series
        (SUMMARY, DESCRIPTION); for a talk in its session's slot, that session's place and sources."""
        got = self._vevent.get(t.id)
        if got is None:
            out: set[Key] = {("talk", t.id), *self.chain(t.venue), *self.ancestors("talk", t)}
            if t.online:
                out.add(("place", t.online))
            for pid in [*t.speakers, *t.coauthors]:
                out |= self.person(pid)
            self.sources(t, out)
            for kind, parent in self.idx.ancestors("talk", t)[:1]:
                if kind == "session":
                    out.update(self.chain(parent.venue))
                    if parent.online:
                        out.add(("place", parent.online))
                    self.sources(parent, out)
            got = self._vevent[t.id] = frozenset(out)
        return got

    # ------------------------------------------------------------ pages

    def talk(self, t: R.Talk) -> set[Key]:
        out: set[Key] = set(self.ancestors("talk", t))
        for pid in [*t.speakers, *t.coauthors]:
            out |= self.person(pid)
        out.update(("person", a) for ref in t.references for a in ref.authors)
        out.update(("source", v.source) for v in t.abstract_variants)
        self.facts(t, out)
        self.sources(t, out)
        return out

    def roles(self, agent: str, out: set[Key]) -> None:
        for items in self.idx.roles.get(agent, {}).values():
            for k, rec in items:
                if isinstance(rec, R.Scheduled):
                    self.scheduled_item(k, rec, k == "talk", out)

    def person_page(self, rec: R.Person) -> set[Key]:
        out: set[Key] = set()
        for oid in rec.affiliations:
            out.add(("organization", oid))
            out.update(("organization", o.id) for o in self._org_parents(oid))
        self.roles(rec.id, out)
        self.sources(rec, out)
        return out

    def _org_parents(self, oid: str) -> list[R.Organization]:
        out: list[R.Organization] = []
        cur = self.ds.organizations[oid].parent if oid in self.ds.organizations else None
        while cur and cur in self.ds.organizations and all(o.id != cur for o in out):
            out.append(self.ds.organizations[cur])
            cur = self.ds.organizations[cur].parent
        return out

    def organization(self, rec: R.Organization) -> dict[Key, frozenset[Key]]:
        """An organisation's pages: the organisations above, in and under it, its roles, and a
        slice of the people affiliated with it (each with their organisations and talks)."""
        base: set[Key] = {("organization", o.id) for o in self._org_parents(rec.id)}
        base.update(("organization", o) for o in self.idx.sub_orgs.get(rec.id, []))
        base.update(("organization", oid) for oid in self.idx.org_descendants(rec.id))
        self.roles(rec.id, base)
        self.sources(rec, base)
        base.discard(("organization", rec.id))
        return self.listing(("organization", rec.id), base)

    def place(self, rec: R.Place) -> dict[Key, frozenset[Key]]:
        """A place's pages: its chain, the places in it, the events and sessions there, and a
        slice of the talks there (each with its room note: its venue's and online place's chain)."""
        base: set[Key] = set(self.chain(rec.id))
        for pid in self.idx.place_descendants(rec.id):
            base.add(("place", pid))
            base.update((k, r.id) for k, r in self.idx.at_place.get(pid, [])
                        if not (isinstance(r, R.Talk) and k == "talk"))
        self.sources(rec, base)
        base.discard(("place", rec.id))
        return self.listing(("place", rec.id), base)

    def _listed(self, key: Key, kind: str, r: R.Record) -> frozenset[Key] | set[Key]:
        """What a listing of *key* shows of one item."""
        if key[0] == "organization":  # a person (with the organisation they are in) and their talks
            out: set[Key] = set(self.person(r.id))
            for t in self.person_talks(r.id):
                out |= self.talk_item(t, False)
            return out
        if not isinstance(r, R.Talk) or key[0] == "source":
            return {(kind, r.id)}
        if key[0] == "place":
            return self.talk_item(r, True) | {*self.chain(r.venue), *self.chain(r.online)}
        return self.talk_item(r, True)

    def scheduled(self, kind: str, rec: R.Scheduled) -> set[Key]:
        """A series', event's or session's page: its parents, facts, contacts and whole programme."""
        out: set[Key] = set(self.ancestors(kind, rec))
        self.facts(rec, out)
        if isinstance(rec, R.Session):  # the venue its talks share (lod.publishing.pages.jsonld.scheduled)
            for t in self.idx.talks_under(kind, rec.id):
                out.update(self.chain(t.venue))
        if isinstance(rec, R.Gathering):
            out.update(("person", pid) for pid in rec.contacts)
        self.scheduled_item(kind, rec, False, out)
        self.sources(rec, out)
        return out

    def listing(self, key: Key, own: set[Key] | None = None) -> dict[Key, frozenset[Key]]:
        """The links of every page of a listing (``lod.publishing.pages.listing``): page 1 under *key*, the others
        as ``("page", path)``. Each page reads its own slice's items, and besides:

        - ``("pages", "P:n")``, the number of pages (every page says "page k of n");
        - on page 1, ``("count", "P:n")``, the number of items (its description counts them);
        - the owner's own record on the further pages (their titles name it), and a topic's label;
        - *own*: what every page shows besides its slice (a place's facts).

        These pseudo-keys are never changed records: they make the links of the two versions
        differ, and ``affected`` renders again a listing page whose links differ.
        """
        items = L.items(self.idx, key)
        pages = L.page_count(len(items))
        owner = L.owner_path(key)
        base: set[Key] = {("pages", f"{owner}:{pages}"), *(own or ())}
        if key[0] == TOPIC:
            base.add(("label", f"{owner}:{self.idx.topics.get(owner, ('', []))[0]}"))
        out: dict[Key, frozenset[Key]] = {}
        for n in range(1, pages + 1):
            deps = set(base)
            for k, r in L.page_slice(items, n):
                deps |= self._listed(key, k, r)
            if n == 1:
                deps.add(("count", f"{owner}:{len(items)}"))
                deps.discard(key)
                out[key] = frozenset(deps)
            else:
                deps.add(key)
                out[(PAGE, L.page_path(owner, n))] = frozenset(deps)
        return out

    def calendar(self, owner: Key, talks: Iterable[R.Talk], out: set[Key]) -> frozenset[Key]:
        out.add(owner)
        for t in talks:
            out |= self.vevent(t)
        return frozenset(out)


def record_links(ds: R.Dataset, index: SiteIndex | None = None,
                 only: set[Key] | None = None) -> dict[Key, frozenset[Key]]:
    """Every record's links: the records its page shows something of, transitively as the page shows them.

    Keys: every record as (kind, id), every topic as ``("topic", slug)``, and every calendar
    a series, event, person or talk may have as ``("calendar", "person/x.ics")``, whose
    links are what the calendar shows (its owner, its talks, their sources and places).
    A page's own record is not in its links. Only the resolved records are read, so the
    map can be kept from one build to the next in place of the Dataset. *index*, the
    pages' SiteIndex of *ds* if there is one, saves building another. *only* limits the
    map to those keys (``update_links``).
    """
    lk = _Links(ds, index)
    idx = lk.idx
    out: dict[Key, frozenset[Key]] = {}
    for kind, rec in ds.all_records():
        if only is not None and (kind, rec.id) not in only:
            continue
        deps: set[Key]
        if isinstance(rec, R.Talk):
            deps = lk.talk(rec)
        elif isinstance(rec, R.Person):
            deps = lk.person_page(rec)
        elif isinstance(rec, R.Organization):
            out.update(lk.organization(rec))
            continue
        elif isinstance(rec, R.Place):
            out.update(lk.place(rec))
            continue
        elif isinstance(rec, R.Source):
            out.update(lk.listing(("source", rec.id)))
            continue
        elif isinstance(rec, R.Scheduled):
            deps = lk.scheduled(kind, rec)
        else:  # pragma: no cover - every kind of record is handled above
            raise TypeError(kind)
        deps.discard((kind, rec.id))
        out[(kind, rec.id)] = frozenset(deps)
    for path in idx.topics:
        if only is None or (TOPIC, path.partition("/")[2]) in only:
            out.update(lk.listing((TOPIC, path.partition("/")[2])))
    for year in idx.years:
        if only is None or (YEAR, year) in only:
            out.update(lk.listing((YEAR, year)))
    for kind, table in (("series", ds.series), ("event", ds.events)):
        for rid, gathering in table.items():
            if only is not None and (CALENDAR, feed_name(kind, rid)) not in only:
                continue
            # Its talks, and the events and sessions it gathers them through.
            through: set[Key] = set()
            lk.scheduled_item(kind, gathering, False, through)
            through = {k for k in through if k[0] in ("series", "event", "session")}
            out[(CALENDAR, feed_name(kind, rid))] = lk.calendar((kind, rid), lk.talks_under(kind, gathering), through)
    for pid in ds.people:
        if only is None or (CALENDAR, feed_name("person", pid)) in only:
            out[(CALENDAR, feed_name("person", pid))] = lk.calendar(("person", pid), lk.person_talks(pid), set())
    for tid, t in ds.talks.items():
        if only is None or (CALENDAR, feed_name("talk", tid)) in only:
            out[(CALENDAR, feed_name("talk", tid))] = lk.vevent(t)
    return out


def forward_refs(kind: str, rec: R.Record) -> set[Key]:
    """The records (and topics) *rec* names itself: the ends of every link a page can follow
    backwards (the talks at a place, a person's talks, a source's records …)."""
    out: set[Key] = R.named_records(rec)
    if isinstance(rec, R.Talk):
        out.update((TOPIC, slugify(label)) for label in rec.topics)
        year = L.year_of(rec)
        if year is not None:
            out.add((YEAR, year))
    return out


def _owner(key: Key) -> Key | None:
    """The listing a ``("page", path)`` key is a page of."""
    return L.owner_key(L.split_page(key[1])[0]) if key[0] == PAGE else None


def update_links(old_links: dict[Key, frozenset[Key]], new: R.Dataset, changed: set[Key],
                 previous: Mapping[Key, R.Record], index: SiteIndex | None = None) -> dict[Key, frozenset[Key]]:
    """``record_links(new)``, computed again only for the keys whose links can differ from
    *old_links*: *changed* (added, removed or modified records), *previous* holding the old
    version of each changed record that existed.

    A page's links are what it reads. If nothing it read changed, it reads the same records
    again, except through a lookup backwards (the talks at a place) from a record it read
    to a changed record that names it: so the links of a key are computed again when its
    old links hold a changed record or a record a changed one names (old or new version),
    or when it is one of those itself (its page or calendar); the others are kept. Sources
    are the exception: only a source's own page looks backwards from it.
    """
    tables: dict[str, Mapping[str, R.Record]] = {kind: new.table(kind) for kind in TABLES}
    named: set[Key] = set()
    for key in changed:
        for rec in (previous.get(key), tables[key[0]].get(key[1]) if key[0] in tables else None):
            if rec is not None:
                named |= forward_refs(key[0], rec)
    # Only a source's own page looks backwards from a source (the records taken from it);
    # every other page reads its sources forwards, as names and dates.
    touched = set(changed) | {k for k in named if k[0] != "source"}
    again = touched | named
    again |= {(CALENDAR, feed_name(*k)) for k in again if k[0] in ("series", "event", "person", "talk")}
    again.update(k for k, deps in old_links.items() if not deps.isdisjoint(touched))
    # A listing's pages are computed together, under its owner's key: when one page's links
    # can differ, so can where every slice starts.
    again.update([o for o in map(_owner, again) if o is not None])
    paged = {k for k in again if k[0] in L.PAGED_KINDS}
    out = {k: v for k, v in old_links.items() if k not in again and _owner(k) not in paged}
    out.update(record_links(new, index, again))
    return out


def affected(new: R.Dataset, changed: set[Key], old_links: dict[Key, frozenset[Key]],
             new_links: dict[Key, frozenset[Key]] | None = None) -> Affected:
    """The pages and calendars that may differ between the old data and *new*.

    *changed*: the keys of the records added, removed or modified (compared with their
    ``loc``: a Google Event warning names the talk's line), plus ``SITE`` if the site block
    changed. Compare a series, event or session without the talks and sessions written
    inside it (``talks``, ``sessions``): those are records of their own, compared on their
    own, and counting them in would make a series changed whenever one of its talks is,
    which dirties every talk page of the series (each names it). *old_links* and *new_links* are ``record_links`` of the two versions
    (*new_links* is computed from *new* when None).

    Sound: a page or calendar whose bytes can differ between full renders of the two
    versions is in the result (the module docstring says why). Tight: a page is dirty only
    if its record changed or a record it shows changed; editing a talk's title dirties
    the talk, its speakers, their organisations (and those above them), its series, event
    and session, their organisers and contacts, the places it is at and those containing
    them, its topics and its sources, not the other talks. The index page, sitemap,
    robots.txt and ``talks.ics`` are not listed: they are always rendered again.
    """
    if new_links is None:
        new_links = record_links(new)
    if any(k[0] == "site" for k in changed):
        keys = set(old_links) | set(new_links)
        return Affected(True, {path_of(k) for k in keys if k[0] != CALENDAR},
                        {k[1] for k in keys if k[0] == CALENDAR}, keys)
    dirty: set[Key] = {k for k in changed if k[0] in KIND_PATHS}
    for links, other in ((old_links, new_links), (new_links, old_links)):
        for key, deps in links.items():
            if key not in dirty and (key in changed or not deps.isdisjoint(changed)):
                dirty.add(key)
            elif key not in dirty and key[0] in COMPARED:  # a listing page whose slice moved
                theirs = other.get(key)
                if theirs is not deps and theirs != deps:
                    dirty.add(key)
    return Affected(False, {path_of(k) for k in dirty if k[0] != CALENDAR},
                    {k[1] for k in dirty if k[0] == CALENDAR}, dirty)
