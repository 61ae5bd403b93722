"""Which records a query's answer depends on, observed while it is evaluated (``probe``).

A rebuild compares the answer of each query the pages read on the new data with the recorded
one (``lod.publishing.pages.dirty``). Most of those queries look records up by id and nothing
else: whether a talk's calendar exists (``q:feed``), a talk's session, event and series
(``q:ancestors``). Their answer is a function of those records, so it can differ only if one
of them changed: such a query need not be evaluated again when none did. Nothing here names
a query: each evaluation runs on a ``Probe`` of the SiteIndex that notes every record looked up
by id, and counts as *wide* (evaluated again on every rebuild, as before) as soon as it reads
anything else: a map derived from many records (the talks under a series, a person's roles),
a whole table, the minter, any other attribute.

Why that is sound: the methods of the SiteIndex run on the probe itself (each is rebound to
it), so every attribute they read passes through ``Probe.__getattr__``; the only ones let
through without making the query wide are the dataset's tables, looked up one id at a time
(``ProbeTable``: found or not, as the page views note them). A query that read only records
(r1 … rn) by id computes the same answer from the same records; if none of them changed
(added, removed or modified), it answers the same.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

from lod.model.kinds import TABLES
from lod.publishing.pages.reads import DESC, KIND_OF_CLASS, IndexView, Key, desc_digest, digest, evaluate, is_query
from lod.publishing.pages.relations import SiteIndex

Reads = tuple[bytes, frozenset[Key] | None]  # an answer's digest, and the records it read (None: wide)


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
        if name not in getattr(rec, "__dataclass_fields__", {}):
            raise Wide(name)  # a method or property: it may read anything
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


class ProbeTable:
    """A table of records seen by a probe: each id looked up is noted; anything else is wide."""

    def __init__(self, probe: Probe, kind: str, table: Mapping[str, Any]) -> None:
        self.probe, self.kind, self.table = probe, kind, table

    def get(self, rid: str, default: Any = None) -> Any:
        self.probe._reads.add((self.kind, rid))
        return _seen(self.table.get(rid, default))

    def __getitem__(self, rid: str) -> Any:
        self.probe._reads.add((self.kind, rid))
        return _seen(self.table[rid])

    def __contains__(self, rid: object) -> bool:
        self.probe._reads.add((self.kind, str(rid)))
        return rid in self.table

    def __iter__(self) -> Any:
        raise Wide("iter")

    def __len__(self) -> int:
        raise Wide("len")

    def __getattr__(self, name: str) -> Any:  # values(), items() … : every record
        raise Wide(name)


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


class Probe:
    """A SiteIndex whose methods run on this object, noting the records read by id."""

    def __init__(self, idx: SiteIndex) -> None:
        self._idx = idx
        self._reads: set[Key] = set()
        self.ds = ProbeDataset(self)

    def __getattr__(self, name: str) -> Any:
        method = getattr(type(self._idx), name, None)
        if isinstance(method, types.FunctionType):
            return types.MethodType(method, self)
        raise Wide(name)  # a map derived from many records, the minter, a cached value …


def reads_of(idx: SiteIndex, key: Key) -> frozenset[Key] | None:
    """The records the query *key* reads by id on *idx*; None if it reads anything else (wide)."""
    p = Probe(idx)
    try:
        evaluate(p, key)  # type: ignore[arg-type]
    except Exception:  # Wide, or anything a probe does not support: evaluated again every time
        return None
    return frozenset(p._reads)


def answer_reads(index: IndexView, descriptions: Mapping[str, Any]) -> Callable[[Key], Reads | None]:
    """The digest of the answer of a query key (with what it read, ``reads_of``) or of a
    description key (``("desc", owner)``, with None); None for another key. Kept: the jobs of one
    worker read many of the same keys."""
    kept: dict[Key, Reads | None] = {}

    def of(key: Key) -> Reads | None:
        got = kept.get(key, kept)
        if got is not kept:
            return got  # type: ignore[return-value]
        if key[0] == DESC:
            got = desc_digest(descriptions, key[1]), None
        elif is_query(key):
            got = digest(index.answer(key)), reads_of(index.idx, key)
        else:
            return None  # a record
        kept[key] = got
        return got
    return of
