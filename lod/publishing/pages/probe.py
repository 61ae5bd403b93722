"""Which records and entries a query's answer depends on, observed while it is evaluated (``probe``).

A rebuild compares the answer of each query the pages read on the new data with the recorded
one (``lod.publishing.pages.dirty``). Most of those queries look records up by id, or entries
of the maps the SiteIndex derives from the records (``DERIVED``: the talks and sessions under a
series, a person's roles, the talks at a place …) by key, and nothing else. Their answer is a
function of those records and entries, so it can differ only if one of them changed: such a
query need not be evaluated again when none did. Nothing here names a query: each evaluation
runs on a ``Probe`` of the SiteIndex that notes every record looked up by id and every entry
looked up by key (``entry_key``), and counts as *wide* (evaluated again on every rebuild) as
soon as it reads anything else: a whole table or map, the minter, any other attribute.

Why that is sound: the methods of the SiteIndex run on the probe itself (each is rebound to
it), so every attribute they read passes through ``Probe.__getattr__``; the only ones let
through without making the query wide are the dataset's tables, looked up one id at a time
(``ProbeTable``: found or not, as the page views note them), and the derived maps, looked up
one key at a time (``ProbeMap``). A record read either way is seen as a ``ProbeRecord``: its
own fields only, never records held inside it. A record of an entry whose class holds no
records (``PLAIN``, found from the fields' types: a talk, a person …) is seen as it is: all it
can show are its own fields, and the entry changes whenever one of them does, so the listings of
100,000 talks are followed at the cost of reading them. A query that read only records (r1 … rn) and
entries (e1 … em) computes the same answer from the same records and entries; if none of them
changed, it answers the same. A record has changed when it was added, removed, modified or
moved (the order of an entry follows the records' order); an entry has changed when a changed
record is in it, before or after. Which entries those are is not declared either: the same
``SiteIndex`` code, run over the changed records alone (their old versions, then their new
ones), makes exactly the entries they are in (``touched_entries``), because each entry is
built record by record from that record's own fields.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lod.model import records as R
from lod.model.iri import Minter
from lod.model.kinds import TABLES
from lod.publishing.pages.keys import ARG, DESC, Key, desc_digest
from lod.publishing.pages.recent import Recent
from lod.publishing.pages.reads import KIND_OF_CLASS, RECORDER, IndexView, digest, evaluate, is_query
from lod.publishing.pages.relations import DERIVED, SiteIndex

Reads = tuple[bytes, frozenset[Key] | None]  # an answer's digest, and the records and entries it read (None: wide)
ENTRY = "m:"  # the kind of an entry key: ("m:children", "series\x1ex")


def entry_key(name: str, key: str | tuple[str, ...]) -> Key:
    """The key of the entry *key* of the derived map *name* (``SiteIndex.children`` …)."""
    return (ENTRY + name, ARG.join(key) if isinstance(key, tuple) else key)


def is_entry(key: Key) -> bool:
    """Whether *key* is an ``entry_key``."""
    return key[0].startswith(ENTRY)


class _Records:
    """A dataset of a few records and the minter: what a ``SiteIndex`` is built from."""

    def __init__(self, dataset: R.Dataset, minter: Minter) -> None:
        self.dataset, self.minter = dataset, minter


def touched_entries(site: R.Site, minter: Minter, records: Iterable[tuple[str, R.Record]]) -> set[Key]:
    """The entries of the derived maps that *records* are in: those of a SiteIndex of them alone."""
    ds = R.Dataset(site)
    for kind, rec in records:
        ds.table(kind)[rec.id] = rec
    idx = SiteIndex(_Records(ds, minter), ordered=False)
    return {entry_key(name, key) for name in DERIVED for key in getattr(idx, name)}


class Wide(Exception):
    """Raised inside an evaluation that read something else than records by id (never escapes ``probe``)."""


def _holds_record(value: Any) -> bool:
    if type(value) in KIND_OF_CLASS:
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple, set, frozenset)) and any(type(v) in KIND_OF_CLASS for v in value)


class ProbeRecord:
    """A record found by id, seen by a probe: its fields only, and none holding records (the talks
    written inside an event are not that event's key: reading them is wide)."""

    __slots__ = ("_rec",)

    def __init__(self, rec: Any) -> None:
        object.__setattr__(self, "_rec", rec)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() sees the record's class
        return type(object.__getattribute__(self, "_rec"))

    def __getattr__(self, name: str) -> Any:
        rec = object.__getattribute__(self, "_rec")
        fields = getattr(rec, "__dataclass_fields__", {})
        # A method may read anything; a property of a record too, unless the record holds no
        # records inside it: then it computes from the record's own fields (a person's display_name).
        if name not in fields and not (isinstance(getattr(type(rec), name, None), property)
                                       and not any(_holds_record(getattr(rec, f)) for f in fields)):
            raise Wide(name)
        value = getattr(rec, name)
        if _holds_record(value):
            raise Wide(name)
        return value

    def __eq__(self, other: object) -> bool:
        mine = object.__getattribute__(self, "_rec")
        return bool(mine == (object.__getattribute__(other, "_rec") if type(other) is ProbeRecord else other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:  # the record's text: all of it, records inside included
        raise Wide("repr")

    __str__ = __format__ = __reduce_ex__ = __repr__  # type: ignore[assignment]


def _seen(value: Any) -> Any:
    return ProbeRecord(value) if type(value) in KIND_OF_CLASS else value


def _may_hold_records(hint: Any, seen: set[Any]) -> bool:
    """Whether a value of the type *hint* can hold a record (or anything: ``Any``, an unknown class)."""
    if isinstance(hint, type) and issubclass(hint, R.Record):
        return True
    args = typing.get_args(hint)
    if args:
        return any(_may_hold_records(a, seen) for a in args if a is not Ellipsis)
    if hint in (str, int, float, bool, bytes, type(None)) or hint in seen:
        return False
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        seen.add(hint)
        return any(_may_hold_records(h, seen) for h in typing.get_type_hints(hint).values())
    # A class of the standard library holding values of its own (a datetime, a Decimal), else unknown.
    return not (isinstance(hint, type) and hint.__module__ in ("datetime", "decimal"))


def _holds_no_records(cls: type) -> bool:
    return not any(_may_hold_records(h, {cls}) for h in typing.get_type_hints(cls).values())


# The record classes whose records hold no records, by their fields' types: one of them, found in an
# entry, shows nothing but its own fields (the entry changes when one does), so it is seen as it is.
PLAIN = frozenset(cls for cls in KIND_OF_CLASS if _holds_no_records(cls))


def _plain(v: Any) -> bool:
    """Whether *v* is text, a plain record, or a pair of text and either (an entry's common shapes)."""
    t = type(v)
    if t is str or t in PLAIN:
        return True
    return t is tuple and len(v) == 2 and type(v[0]) is str and (type(v[1]) in PLAIN or type(v[1]) is str)


def _seen_all(value: Any) -> Any:
    """*value* (an entry: lists, tuples and dicts of records and text) with each record that holds records
    a ``ProbeRecord``; itself when it holds none (a long listing is not copied)."""
    t = type(value)
    if t in KIND_OF_CLASS:
        return value if t in PLAIN else ProbeRecord(value)
    if t is list or t is tuple:
        if all(map(_plain, value)):
            return value
        if all(type(v) is tuple and len(v) == 2 and type(v[0]) is str for v in value):  # (kind, record) pairs
            return t([(k, r) if type(r) in PLAIN else (k, _seen_all(r)) for k, r in value])
        return t([v if _plain(v) else _seen_all(v) for v in value])
    if t is dict:
        return {k: _seen_all(v) for k, v in value.items()}
    return value


class _Lookups:
    """What a probe lets a query look up one key at a time, noting each key (found or not);
    anything else (iterating it, its size, its other methods) reads every entry: wide."""

    def __init__(self, probe: Probe, data: Mapping[Any, Any]) -> None:
        self.probe, self.data = probe, data

    def _read(self, key: Any) -> None:
        raise NotImplementedError

    def _seen(self, value: Any) -> Any:
        raise NotImplementedError

    def get(self, key: Any, default: Any = None) -> Any:
        self._read(key)
        return self._seen(self.data[key]) if key in self.data else default

    def __getitem__(self, key: Any) -> Any:
        self._read(key)
        return self._seen(self.data[key])

    def __contains__(self, key: object) -> bool:
        self._read(key)
        return key in self.data

    def __iter__(self) -> Any:
        raise Wide("iter")

    def __len__(self) -> int:
        raise Wide("len")

    def __getattr__(self, name: str) -> Any:  # items(), values() …
        raise Wide(name)


class ProbeMap(_Lookups):
    """A map the SiteIndex derives from many records, seen by a probe: each key looked up is an entry read."""

    def __init__(self, probe: Probe, name: str, data: Mapping[Any, Any]) -> None:
        super().__init__(probe, data)
        self.name = name

    def _read(self, key: Any) -> None:
        self.probe._reads.add(entry_key(self.name, key))

    def _seen(self, value: Any) -> Any:
        if type(value) is not list or len(value) < SEEN_LONG:
            return _seen_all(value)
        # A long entry seen once for every probe of the index: a listing's slices, count and number
        # of pages each look it up (the one source's 145k records, three copies a rebuild at 100k talks).
        seen = self.probe._seen_lists
        got = seen.get(id(value))
        if got is None or got[0] is not value:
            got = seen[id(value)] = (value, _seen_all(value))
            if len(seen) > SEEN_KEPT:
                seen.popitem(last=False)
        return got[1]


class ProbeTable(_Lookups):
    """A table of records seen by a probe: each id looked up is a record read."""

    def __init__(self, probe: Probe, kind: str, table: Mapping[str, Any]) -> None:
        super().__init__(probe, table)
        self.kind = kind

    def _read(self, key: Any) -> None:
        self.probe._reads.add((self.kind, str(key)))

    def _seen(self, value: Any) -> Any:
        return _seen(value)


class ProbeDataset:
    """A Dataset seen by a probe: its tables only, by kind or by attribute name."""

    def __init__(self, probe: Probe) -> None:
        self._probe = probe
        self._attrs = {attr: kind for kind, attr in TABLES.items()}

    def table(self, kind: str) -> ProbeTable:
        return ProbeTable(self._probe, kind, self._probe._idx.ds.table(kind))

    def __getattr__(self, name: str) -> Any:
        if name in self._attrs:
            return self.table(self._attrs[name])
        raise Wide(name)


_KEPT = "_probe_kept"  # where a SiteIndex holds the parts its probes kept
_SEEN = "_probe_seen"  # and the long entries as its probes see them (``ProbeMap._seen``)
SEEN_LONG, SEEN_KEPT = 1000, 16  # an entry of at least this many items is kept as seen; this many at most
# At most this many parts are kept, the oldest dropped first: the pages that read one listing's
# count, pages and slices are neighbours in a job, and keeping every part to the end of the
# stage would hold a wrapper of every record a query reads, in each process.
KEPT_LIMIT = 2048


def forget_kept(idx: SiteIndex) -> None:
    """Drop the parts the probes of *idx* kept (``Probe.kept``): memory, once no query is probed again."""
    idx.__dict__.pop(_KEPT, None)
    idx.__dict__.pop(_SEEN, None)


class Probe:
    """A SiteIndex whose methods run on this object, noting the records read by id and the entries by key."""

    def __init__(self, idx: SiteIndex) -> None:
        self._idx = idx
        self._reads: set[Key] = set()
        self.ds = ProbeDataset(self)
        # ``SiteIndex.sort_key``'s keys by record identity: the index's. A record a probe sees as it
        # is came in an entry read (``PLAIN``), and its key is made of its own fields; a ``ProbeRecord``
        # is a new object, not among them, so its key is computed from the fields it lets through.
        self._keys: dict[int, Any] = idx._keys
        # The parts kept, with what each read (None: wide), shared by every probe of *idx*: the pages
        # of one listing read its count, its number of pages and a slice, each of the same items.
        # An OrderedDict: a dict finds its oldest key by skipping the slots of those deleted before
        # it (1.4 µs an eviction at 2,048 kept, against 0.4 µs).
        self._kept: OrderedDict[tuple[str, tuple[str, ...]], tuple[Any, frozenset[Key] | None]] = \
            idx.__dict__.setdefault(_KEPT, OrderedDict())
        self._seen_lists: OrderedDict[int, tuple[list[Any], Any]] = idx.__dict__.setdefault(_SEEN, OrderedDict())

    def kept(self, name: str, args: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """``SiteIndex.kept``: *compute()* on this probe, kept with what it read, which every probe
        using it reads too."""
        key = (name, args)
        got = self._kept.get(key)
        if got is None:
            outer, self._reads = self._reads, set()
            try:
                got = (compute(), frozenset(self._reads))
            except Wide:
                got = (None, None)
            finally:
                self._reads = outer
            kept = self._kept
            kept[key] = got
            if len(kept) > KEPT_LIMIT:  # the oldest: the queries reading a part are read by neighbouring pages
                kept.popitem(last=False)
        value, reads = got
        if reads is None:
            raise Wide(name)
        self._reads |= reads
        return value

    def __getattr__(self, name: str) -> Any:
        method = getattr(type(self._idx), name, None)
        if isinstance(method, types.FunctionType):
            return types.MethodType(method, self)
        if name in DERIVED:
            return ProbeMap(self, name, getattr(self._idx, name))
        raise Wide(name)  # the minter, a cached value …


def reads_of(idx: SiteIndex, key: Key) -> frozenset[Key] | None:
    """The records the query *key* reads by id and the entries it reads by key (``entry_key``) on
    *idx*; None if it reads anything else (wide)."""
    p = Probe(idx)
    try:
        evaluate(p, key)  # type: ignore[arg-type]
    except Exception:  # Wide, or anything a probe does not support: evaluated again every time
        return None
    return frozenset(p._reads)


def answer_reads(index: IndexView, descriptions: Mapping[str, Any]) -> Callable[[Key], Reads | None]:
    """The digest of the answer of a query key (with what it read, ``reads_of``) or of a
    description key (``("desc", owner)``, with None); None for another key. Kept: the jobs of one
    worker read many of the same keys: the recent ones (``Recent``), each a few hundred bytes."""
    kept: Recent[Key, Reads | None] = Recent()

    def of(key: Key) -> Reads | None:
        if key[0] == DESC:  # taken when a page read it (``Recorder.note_desc``), else read again
            taken = RECORDER.desc_digests
            made = taken.get(key[1])
            if made is None:
                made = taken[key[1]] = desc_digest(descriptions, key[1])
            return made, None
        got = kept.get(key, kept)
        if got is not kept:
            return got  # type: ignore[return-value]  # not the sentinel
        if is_query(key):
            got = digest(index.answer(key)), reads_of(index.idx, key)
        else:
            return None  # a record
        kept[key] = got
        return got
    return of
