"""What each page and calendar reads, recorded while it renders (as Sphinx's ``env.note_dependency``).

The renderer (``lod.publishing.pages.render``), its helpers and the calendars
(``lod.publishing.feeds``) read the data through views of a ``Prepared`` (``view``):

- ``DatasetView``: each table notes the ``(kind, id)`` of every record looked up, found
  or not (a lookup in vain depends on that record being added); iterating a table notes
  ``("q:all", kind)``;
- ``IndexView``: every derived list (the talks at a place, a person's talks, a source's
  records, a listing's slice …) is a memoised *query* with a key of its own,
  ``("q:<name>", arg)``; reading it notes the key and every record its answer holds;
- ``DescView``: a resource's description triples note ``("desc", owner IRI)``;
- ``FeedsView``: whether a calendar exists is the query ``("q:feed", kind/id)``.

While a page or calendar renders, ``RECORDER.node()`` collects what is noted: its
*read-set*. Parts many pages share (a talk's list item, a VEVENT) are memoised with
their own read-sets (``Recorder.memo``), added to every page that uses them, so a page
depends on what its cached parts read. ``QUERIES`` evaluates a query key on any data: a
query key has *changed* between two versions when its answer's ``digest`` (the keys it
returns, in order, and any values) differs (``lod.publishing.pages.dirty``).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lod.model import records as R
from lod.model.kinds import TABLES
from lod.publishing.links import Later, Made
from lod.publishing.pages import listing as L
from lod.publishing.pages.keys import ARG, DESC, KIND_OF_CLASS, Key, digest, part_digest
from lod.publishing.pages import recent
from lod.publishing.pages.recent import Recent
from lod.publishing.pages.relations import SiteIndex

DESC_DIGESTS_KEPT = 1 << 16  # descriptions' digests kept per generation (``Recent``): about 100 bytes each
Q = "q:"  # the kind of a query key: ("q:talks_under", "series\x1ex")


class Recorder:
    """The read-set of the page or calendar rendering now (``node``), and the memoised parts."""

    def __init__(self) -> None:
        self.current: set[Key] | None = None
        self.made = Made()  # the read-sets of the nodes (pages, calendars, VEVENTs) made in this process
        self.later: Later | None = None  # where the jobs' read-sets wait, if the stage set one (``keep``)
        # The digest of a key's answer (None for a record), set by the pages stage: taken where
        # the job's queries were answered, in its worker (``collecting``).
        self.digests: Callable[[Key], tuple[bytes, frozenset[Key] | None] | None] | None = None
        # The digests of the description parts read (``note_desc``), read at the jobs' ends; kept across
        # jobs, as the renderer's kept parts are (read back from disk: 38 % of the 1M talk pages).
        self.desc_digests: Recent[str, bytes] = Recent(DESC_DIGESTS_KEPT)
        # The memoised parts' and answers' read-sets, each kept once, as sorted tuples of keys each
        # kept once (a frozenset of fresh tuples took three times the memory: 100k talks, BENCHMARKS.md).
        self._sets: dict[tuple[Key, ...], tuple[Key, ...]] = {}
        self._keys: dict[Key, Key] = {}

    def keep(self, made: bytes) -> None:
        """Keep a job's read-sets (a ``pickled`` Made): in ``later`` until the stage merges them, else now."""
        if self.later is None:
            self.made.update(pickle.loads(made))
        else:
            self.later.add(made)

    def forget_desc_digests(self) -> None:
        """Forget the descriptions' digests taken (another build's, or this one's once it is done)."""
        self.desc_digests = Recent(DESC_DIGESTS_KEPT)

    def new_build(self) -> None:
        """Forget the memoised parts' shared read-sets (their caches belong to one build's renderer)."""
        self._sets = {}
        self._keys = {}

    def kept_set(self, reads: set[Key]) -> tuple[Key, ...]:
        """*reads* as the one shared tuple of them, each key the one shared tuple of it."""
        if len(self._sets) >= recent.LIMIT:  # sharing saves memory only among what is still held: start again
            self.new_build()
        keys = self._keys
        shared = tuple(sorted([keys.setdefault(key, key) for key in reads]))
        return self._sets.setdefault(shared, shared)

    def note(self, key: Key) -> None:
        """Count *key* as read by the page rendering now (if any)."""
        if self.current is not None:
            self.current.add(key)

    def note_desc(self, key: Key, value: Callable[[], Any]) -> None:
        """Note the read of a part of a description (``desc_key``), *value*: its digest is taken now,
        while it is at hand, not read back from disk at the job's end (``Descriptions.spill``)."""
        if self.current is not None:
            self.current.add(key)
            if self.digests is not None and key[1] not in self.desc_digests:
                self.desc_digests[key[1]] = part_digest(value())

    def note_all(self, keys: Iterable[Key]) -> None:
        if self.current is not None:
            self.current.update(keys)

    @contextmanager
    def node(self) -> Iterator[set[Key]]:
        """Record what is read inside into a new read-set (not the enclosing one's)."""
        saved, self.current = self.current, set()
        try:
            yield self.current
        finally:
            self.current = saved

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Note nothing inside (a query's own evaluation: its answer is what a page reads)."""
        saved, self.current = self.current, None
        try:
            yield
        finally:
            self.current = saved

    @contextmanager
    def making(self, key: Key) -> Iterator[set[Key]]:
        """Render the node *key* (``("html", path)``, ``("calendar", name)``, ``("vevent", id)``),
        keeping what it reads in ``made``."""
        with self.node() as reads:
            yield reads
        self.made.add(key, reads)

    @contextmanager
    def collecting(self) -> Iterator[Made]:
        """Gather the nodes made inside apart (a worker's job sends them back to the parent),
        with the digests of the answers they read (``digests``)."""
        saved, self.made = self.made, Made()
        try:
            yield self.made
            if self.digests is not None:
                self.made.digest(self.digests)
        finally:
            self.made = saved

    def memo(self, cache: Recent[Any, tuple[Any, tuple[Key, ...]]], key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept in *cache* under *key* with what it read; every use notes that."""
        got = cache.get(key)
        if got is None:
            with self.node() as reads:
                value = compute()
            # Parts made from the same records read the same keys (a talk's list item in each
            # of its forms): one set shared by all of them, not one each (memory at scale).
            got = cache[key] = (value, self.kept_set(reads))
        self.note_all(got[1])
        return got[0]


RECORDER = Recorder()  # one per process: forked workers record their own pages and send the sets back


def record_keys(value: Any, out: set[Key]) -> None:
    """The (kind, id) of every record in an answer."""
    kind = KIND_OF_CLASS.get(type(value))
    if kind is not None:
        out.add((kind, value.id))
    elif isinstance(value, (list, tuple)):
        for v in value:
            record_keys(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            record_keys(v, out)


def qkey(name: str, *parts: str) -> Key:
    """The key of the query *name* on the arguments *parts*: ``("q:talks_under", "series\x1ex")``."""
    return (Q + name, ARG.join(parts))


def is_query(key: Key) -> bool:
    """Whether *key* is a query's (``qkey``), not a record's, a description's or a node's."""
    return key[0].startswith(Q)


# ---------------------------------------------------------------- queries


def _person_talks(idx: SiteIndex, pid: str) -> list[R.Talk]:
    return idx.kept("person_talks", (pid,), lambda: idx.person_talks(pid))


def _talks_under(idx: SiteIndex, kind: str, rid: str) -> list[R.Talk]:
    return idx.kept("talks_under", (kind, rid), lambda: idx.talks_under(kind, rid))


def _scheduled(idx: SiteIndex, kind: str, rid: str) -> R.Scheduled | None:
    rec = idx.record(kind, rid)
    return rec if isinstance(rec, R.Scheduled) else None


def _listing(idx: SiteIndex, kind: str, rid: str) -> list[Any]:
    """What a listing cut into pages lists: an organisation's (person, via) pairs, else ``L.items``."""
    if kind != "organization":
        return L.items(idx, (kind, rid))
    return idx.kept("affiliated", (rid,), lambda: list(idx.affiliated(rid)))


def feed_exists(idx: SiteIndex, kind: str, rid: str) -> bool:
    """Whether the calendar of (kind, id) exists: one of its talks has a start (``feeds.feed_keys``)."""
    if kind == "site":
        return any(t.start_at is not None for t in idx.ds.talks.values())
    if kind == "talk":
        t = idx.ds.talks.get(rid)
        return t is not None and t.start_at is not None
    if kind == "person":
        return any(t.start_at is not None for t in _person_talks(idx, rid))
    if kind in ("series", "event"):
        return rid in idx.ds.table(kind) and any(t.start_at is not None for t in _talks_under(idx, kind, rid))
    return False


def _span(idx: SiteIndex, kind: str, rid: str) -> tuple[str, str, int]:
    """A series', event's or session's first and last day (its own dates, else its talks'; "" for
    none) and its number of talks: what its list item shows of its talks. As a query of its own,
    a directory page of 500 series read these three values, not the 15,000 talks under them (100k
    talks), so no longer changed with any talk's title, speakers or venue."""
    rec = _scheduled(idx, kind, rid)
    talks = _talks_under(idx, kind, rid)
    days = [w.lexical[:10] for w in (rec.start_at, rec.end_at) if w is not None] if rec is not None else []
    if not days:
        days = [t.start_at.lexical[:10] for t in talks if t.start_at is not None]
    return (min(days), max(days), len(talks)) if days else ("", "", len(talks))


def _ancestors(idx: SiteIndex, kind: str, rid: str) -> list[tuple[str, R.Scheduled]]:
    rec = _scheduled(idx, kind, rid)
    return idx.ancestors(kind, rec) if rec is not None else []


def _slice(idx: SiteIndex, kind: str, rid: str, n: str) -> list[Any]:
    return list(L.page_slice(_listing(idx, kind, rid), int(n)))


# Every query a page can read, by name: its answer on an index from the arguments of its key.
QUERIES: dict[str, Callable[..., Any]] = {
    "ancestors": _ancestors,
    "children": lambda idx, kind, rid: idx.children.get((kind, rid), []),
    "talks_under": _talks_under,
    "span": _span,
    "place_chain": lambda idx, pid: idx.place_chain(pid),
    "person_talks": _person_talks,
    "roles": lambda idx, agent: idx.roles.get(agent, {}),
    "org_descendants": lambda idx, oid: idx.org_descendants(oid),
    "place_descendants": lambda idx, pid: idx.place_descendants(pid),
    "sub_orgs": lambda idx, oid: idx.sub_orgs.get(oid, []),
    "sub_places": lambda idx, pid: idx.sub_places.get(pid, []),
    "others": lambda idx, pid, n: list(L.page_slice(L.others_at(idx, pid), int(n))),
    "by_source": lambda idx, sid: idx.by_source.get(sid, []),
    "topic_label": lambda idx, path: idx.topics[path][0] if path in idx.topics else None,
    "years": lambda idx: [(y, len(ts)) for y, ts in idx.years.items()],
    "count": lambda idx, kind, rid: L.size(idx, (kind, rid)),  # not sorted to be counted
    "pages": lambda idx, kind, rid: L.page_total(idx, (kind, rid)),
    "slice": _slice,
    "latest": lambda idx: idx.latest_taken(),
    "feed": lambda idx, kind, rid: feed_exists(idx, kind, rid),
    "all": lambda idx, kind: list(idx.ds.table(kind)),
}


def evaluate(idx: SiteIndex, key: Key) -> Any:
    """The answer of the query *key* on the data of *idx*."""
    return QUERIES[key[0][len(Q):]](idx, *key[1].split(ARG)) if key[1] else QUERIES[key[0][len(Q):]](idx)


# ---------------------------------------------------------------- views


class TableView(Mapping[str, Any]):
    """A table of records that notes every id looked up (found or not)."""

    def __init__(self, kind: str, table: Mapping[str, Any]) -> None:
        self.kind = kind
        self.table = table

    def _note(self, rid: str) -> None:
        RECORDER.note((self.kind, rid))

    def __getitem__(self, rid: str) -> Any:
        self._note(rid)
        return self.table[rid]

    def get(self, rid: str, default: Any = None) -> Any:
        self._note(rid)
        return self.table.get(rid, default)

    def __contains__(self, rid: object) -> bool:
        self._note(str(rid))
        return rid in self.table

    def _all(self) -> None:
        if RECORDER.current is not None:
            RECORDER.note(qkey("all", self.kind))
            RECORDER.current.update((self.kind, rid) for rid in self.table)

    def __iter__(self) -> Iterator[str]:
        self._all()
        return iter(self.table)

    def __len__(self) -> int:
        RECORDER.note(qkey("all", self.kind))
        return len(self.table)


class DatasetView:
    """A Dataset read through ``TableView``s (its ``site`` block is global: a change of it is a full build)."""

    def __init__(self, ds: R.Dataset) -> None:
        self._ds = ds
        self.site = ds.site
        self._tables = {kind: TableView(kind, ds.table(kind)) for kind in TABLES}
        for kind, view in self._tables.items():
            setattr(self, TABLES[kind], view)

    def table(self, kind: str) -> TableView:
        return self._tables[kind]

    def all_records(self) -> list[tuple[str, R.Record]]:
        for view in self._tables.values():
            view._all()
        return self._ds.all_records()


class QueryMap:
    """A map of the SiteIndex read as a query per key (``idx.children.get((kind, id), [])``)."""

    def __init__(self, view: IndexView, name: str, source: Mapping[Any, Any]) -> None:
        self.view, self.name, self.source = view, name, source

    def _args(self, key: Any) -> tuple[str, ...]:
        return tuple(key) if isinstance(key, tuple) else (key,)

    def get(self, key: Any, default: Any = None) -> Any:
        got = self.view.query(self.name, *self._args(key))
        return default if got is None else got

    def __getitem__(self, key: Any) -> Any:
        return self.view.query(self.name, *self._args(key))


class IndexView:
    """A SiteIndex whose every derived list is a noted, memoised query (``QUERIES``)."""

    def __init__(self, idx: SiteIndex) -> None:
        self.idx = idx
        self.ds = DatasetView(idx.ds)
        self.m = idx.m
        self._answers: Recent[Key, tuple[Any, tuple[Key, ...]]] = Recent()
        self.children = QueryMap(self, "children", idx.children)
        self.roles = QueryMap(self, "roles", idx.roles)
        self.sub_orgs = QueryMap(self, "sub_orgs", idx.sub_orgs)
        self.sub_places = QueryMap(self, "sub_places", idx.sub_places)
        self.by_source = QueryMap(self, "by_source", idx.by_source)

    def query(self, name: str, *args: str) -> Any:
        """The answer of a query, noted with the records it holds."""
        key = qkey(name, *args)
        got = self._answers.get(key)
        if got is None:
            with RECORDER.quiet():
                answer = QUERIES[name](self.idx, *args)
            held: set[Key] = set()
            record_keys(answer, held)
            got = self._answers[key] = (answer, RECORDER.kept_set(held))
        if RECORDER.current is not None:
            RECORDER.current.add(key)
            RECORDER.current.update(got[1])
        return got[0]

    def answer(self, key: Key) -> Any:
        """The answer of the query *key* (not noted), memoised with those pages read."""
        got = self._answers.get(key)
        if got is not None:
            return got[0]
        with RECORDER.quiet():
            return evaluate(self.idx, key)

    def record(self, kind: str, rid: str) -> R.Record | None:
        if kind not in TABLES:
            return None
        return self.ds.table(kind).get(rid)

    def parent_of(self, kind: str, rec: R.Scheduled) -> tuple[str, str] | None:
        return self.idx.parent_of(kind, rec)

    def ancestors(self, kind: str, rec: R.Scheduled) -> list[tuple[str, R.Scheduled]]:
        return self.query("ancestors", kind, rec.id)

    def talks_under(self, kind: str, rid: str) -> list[R.Talk]:
        return self.query("talks_under", kind, rid)

    def person_talks(self, pid: str) -> list[R.Talk]:
        return self.query("person_talks", pid)

    def span(self, kind: str, rid: str) -> tuple[str, str, int]:
        """First and last day and number of talks of a series, event or session (``_span``)."""
        return self.query("span", kind, rid)

    def place_chain(self, pid: str) -> list[R.Place]:
        return self.query("place_chain", pid)

    def place_address(self, pid: str) -> R.Address | None:
        return next((pl.address for pl in self.place_chain(pid) if pl.address is not None), None)

    def org_descendants(self, oid: str) -> list[str]:
        return self.query("org_descendants", oid)

    def place_descendants(self, pid: str) -> list[str]:
        return self.query("place_descendants", pid)

    def others(self, pid: str, n: int) -> list[tuple[str, R.Scheduled]]:
        """The events and sessions on page *n* of the place *pid*'s listing (``listing.others_at``)."""
        return self.query("others", pid, str(n))

    def topic_label(self, path: str) -> str | None:
        return self.query("topic_label", path)

    def years(self) -> list[tuple[str, int]]:
        """Each year of the archive with its number of talks."""
        return self.query("years")

    def count(self, key: Key) -> int:
        """How many items the listing of *key* has (``lod.publishing.pages.listing``)."""
        return self.query("count", *key)

    def pages(self, key: Key) -> int:
        """How many pages the listing of *key* takes."""
        return self.query("pages", *key)

    def slice(self, key: Key, n: int) -> list[Any]:
        """The items on page *n* of the listing of *key*."""
        return self.query("slice", key[0], key[1], str(n))

    def latest_taken(self) -> str:
        return self.query("latest")


class DescView(Mapping[str, Any]):
    """The descriptions by owner, noting ``("desc", owner)`` for each one read."""

    def __init__(self, groups: Mapping[str, Any]) -> None:
        self.groups = groups

    def __getitem__(self, owner: str) -> Any:
        got = self.get(owner)
        if got is None:
            raise KeyError(owner)
        return got

    def get(self, owner: str, default: Any = None) -> Any:
        got = self.groups.get(owner)
        if got is None:
            RECORDER.note((DESC, owner))
            return default
        RECORDER.note_desc((DESC, owner), lambda: got)
        return got

    def __contains__(self, owner: object) -> bool:
        RECORDER.note(("desc", str(owner)))
        return owner in self.groups

    def __iter__(self) -> Iterator[str]:
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)


class FeedsView:
    """Which calendars exist, a query per calendar (pages link to the ones that do)."""

    def __init__(self, index: IndexView) -> None:
        self.index = index

    def __contains__(self, key: object) -> bool:
        assert isinstance(key, tuple)
        return bool(self.index.query("feed", *key))


class PreparedView:
    """A Prepared read through the views: what the pages stage hands its renderer and calendars."""

    def __init__(self, p: Any) -> None:
        self._p = p
        self.minter = p.minter
        self.site_index = IndexView(p.site_index)
        self.dataset = self.site_index.ds
        self.descriptions = DescView(p.descriptions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)
