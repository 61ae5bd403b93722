"""The large dictionaries of the build state's ``extra`` values, kept in buckets of entries.

Most of ``State.extra`` is a few dictionaries with an entry per talk, page or query: the index
page's list items and every page's sitemap lastmod (``pages.stage.PagesCache``), each talk's
contribution to the search index and its number (``pages.search.SearchState``), and the digest of
every query a page read (the ``answers``). At 100k talks that is 1.2M entries, 210 MB pickled.
Kept whole, each in one pickled row, a rebuild unpickled them all and pickled them all again to
change a handful of entries. Here each dictionary is split into ``BUCKETS`` buckets by a stable
hash of the key, each bucket a row of the ``parts`` table (its entries pickled together), and a
rebuild writes only the buckets holding an entry that changed (``diff``). A row per entry was
tried first: a rebuild's write was as short, but its read twice as long, one row and one pickle
per entry (BENCHMARKS.md, "The state's large dictionaries in buckets").

``PARTS`` is the one table of them: which value of ``extra`` (and which of its attributes, when
it is a dataclass) is kept in buckets. The rest of each value (the dataclass with those
attributes emptied; for a value that is all entries, ``PARTED``) stays in the ``extra`` table.
"""

from __future__ import annotations

import dataclasses
import pickle
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from lod.publishing.links import key_text
from lod.publishing.state_keys import damaged
from lod.publishing.pages.keys import DESC, desc_owner, listing_of

PARTED = "lod:parts"  # stands in the extra table for a value whose entries are all in parts
BUCKETS = 1024  # per part: a bucket holds about 660 entries at 100k talks, 45 KB pickled


@dataclass(frozen=True)
class Part:
    """One dictionary of ``State.extra`` kept in buckets."""

    name: str  # its rows' part in the parts table
    extra: str  # the key of State.extra holding it
    attribute: str | None  # the dataclass attribute holding it; None: the value is the dictionary
    lazy: bool = False  # read a bucket at a time when an entry is asked for (``Buckets``), not whole


PARTS = (
    # A rebuild looks at the digests of the queries and descriptions it may have changed only (``dirty.affected``).
    Part("answers", "answers", None, lazy=True),
    Part("pages.items", "pages", "items"),
    # The home page shows a few dozen talks: a rebuild reads those talks' items only (``pages.home``).
    Part("pages.talks", "pages", "talks", lazy=True),
    Part("pages.lastmods", "pages", "lastmods"),
    # A rebuild reads the contributions of the talks whose search files it makes again only (``search.update_index``).
    Part("search.talks", "search", "talks", lazy=True),
    Part("search.numbers", "search", "numbers"),
    Part("search.facets", "search", "facets"),
    Part("mapped.owners", "mapped", "owners"),
    Part("mapped.reads", "mapped", "reads"),
)

# Large attributes of extra values kept in extra rows of their own, as a tuple under ``<key>:apart``:
# they change less often than the rest of their value, and a row is written only when its bytes
# changed. The subjects of the dumps change when subjects come or go, their lengths at every edit
# (11.6 MB in all at 100k talks, 8 of them the subjects); the VEVENTs of talks.ics likewise.
APART = (("dumps", ("sids", "json_sids")), ("calendar", ("uids",)))
APART_KEY = "{}:apart"

Row = tuple[str, int, bytes]  # (part, bucket, its entries pickled) as stored
Read = dict[str, dict[int, dict[Any, Any]]]  # each part's buckets as read: what ``diff`` compares with


def bucket_of(key: Any) -> int:
    """The bucket of an entry's key: a string, or a (kind, id) pair; the key of a read of a
    description (``DESC``) is in its owner's bucket, so that the reads of an owner's description
    are found in one bucket (``Buckets.descriptions``), and the queries of one listing in its
    listing's (``keys.listing_of``: a rebuild asks for all of them or none). Stable across processes
    (unlike ``hash``, which is salted per process)."""
    if isinstance(key, str):
        text = key
    elif key[0] == DESC:
        text = desc_owner(key)
    else:
        text = listing_of(key) or key_text(key)
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % BUCKETS


class Buckets(MutableMapping[Any, Any]):
    """A lazy part's dictionary: each bucket read (``load``: its stored pickle, or None) and
    unpickled when one of its entries is first asked for, and the buckets changed since noted,
    so that the state writes those alone (``diff``). At 100k talks the answers are 680k entries,
    187 MB once unpickled (0.27 s); a rebuild after a title edit asks for a few hundred.
    Iterating it, or its length, reads every bucket."""

    def __init__(self, part: str, load: Callable[[int], bytes | None]) -> None:
        self.part, self._load = part, load
        self.buckets: dict[int, dict[Any, Any]] = {}
        self.dirty: set[int] = set()

    @classmethod
    def of(cls, entries: Mapping[Any, Any]) -> Buckets:
        """*entries* as Buckets (itself if it is): a plain dictionary put in its buckets, in memory."""
        if isinstance(entries, Buckets):
            return entries
        made = cls("", lambda _n: None)
        for key, value in entries.items():
            made.buckets.setdefault(bucket_of(key), {})[key] = value
        return made

    def bucket(self, n: int) -> dict[Any, Any]:
        """The entries of bucket *n*, read if they were not (raise ``Unusable`` if its row is damaged)."""
        got = self.buckets.get(n)
        if got is None:
            blob = self._load(n)
            try:
                got = {} if blob is None else _entries(blob, self.part)
            except Exception as exc:  # a row that does not unpickle: damaged, as the state's own read says
                raise damaged(exc, f"the {self.part} bucket {n}") from None
            self.buckets[n] = got
        return got

    def descriptions(self, owner: str) -> Iterator[tuple[Any, Any]]:
        """The entries of the reads of *owner*'s description."""
        for key, value in list(self.bucket(bucket_of(owner)).items()):
            if key[0] == DESC and desc_owner(key) == owner:
                yield key, value

    def __getitem__(self, key: Any) -> Any:
        return self.bucket(bucket_of(key))[key]

    def __contains__(self, key: object) -> bool:
        return key in self.bucket(bucket_of(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        n = bucket_of(key)
        entries = self.bucket(n)
        was = entries.get(key, entries)
        if was is not value and was != value:  # the same digest taken again writes nothing
            entries[key] = value
            self.dirty.add(n)

    def __delitem__(self, key: Any) -> None:
        n = bucket_of(key)
        del self.bucket(n)[key]
        self.dirty.add(n)

    def __iter__(self) -> Iterator[Any]:
        for n in range(BUCKETS):
            yield from list(self.bucket(n))

    def __len__(self) -> int:
        return sum(len(self.bucket(n)) for n in range(BUCKETS))


def _entries(blob: bytes, part: str) -> dict[Any, Any]:
    got = pickle.loads(blob)
    if not isinstance(got, dict):
        raise TypeError(f"a bucket of {part} is not a dictionary")
    return got


def split(extra: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Mapping[Any, Any]]]:
    """*extra* with its parts taken out (a value that is all rows by ``PARTED``, a dataclass
    by a copy with those attributes empty), and the parts' dictionaries by part name. A value
    that is not of the part's shape (None, or from another stage) stays whole."""
    rest = dict(extra)
    parts: dict[str, Mapping[Any, Any]] = {}
    emptied: dict[str, dict[str, Any]] = {}
    for part in PARTS:
        value = extra.get(part.extra)
        if part.attribute is None:
            if isinstance(value, (dict, Buckets)):
                parts[part.name] = value
                rest[part.extra] = PARTED
        elif dataclasses.is_dataclass(value) and isinstance(getattr(value, part.attribute, None), (dict, Buckets)):
            parts[part.name] = getattr(value, part.attribute)
            emptied.setdefault(part.extra, {})[part.attribute] = {}
    for name, attributes in emptied.items():
        rest[name] = dataclasses.replace(extra[name], **attributes)
    for name, held in APART:
        value = rest.get(name)
        if dataclasses.is_dataclass(value) and all(hasattr(value, a) for a in held):
            rest[APART_KEY.format(name)] = tuple(getattr(value, a) for a in held)  # pickled together: shared
            rest[name] = dataclasses.replace(value, **{a: [] for a in held})  # type: ignore[type-var]
    return rest, parts


def join(extra: dict[str, Any], parts: Mapping[str, MutableMapping[Any, Any]]) -> None:
    """Put the parts' dictionaries (as ``read`` gives them) and the attributes kept apart back into *extra*,
    as ``split`` took them out."""
    for name, held in APART:
        got = extra.pop(APART_KEY.format(name), None)
        if got is not None and dataclasses.is_dataclass(extra.get(name)):
            for attribute, value in zip(held, got):
                setattr(extra[name], attribute, value)
    for part in PARTS:
        value = extra.get(part.extra)
        rows = parts.get(part.name, {})
        if part.attribute is None:
            if isinstance(value, str) and value == PARTED:
                extra[part.extra] = rows
        elif dataclasses.is_dataclass(value) and hasattr(value, part.attribute):
            setattr(value, part.attribute, rows)


def read(select: Callable[[str], Iterable[tuple[int, bytes]]],
         select_one: Callable[[str, int], bytes | None]) -> tuple[dict[str, MutableMapping[Any, Any]], Read]:
    """The parts' dictionaries from their stored rows, ``select(part)`` giving a part's (bucket,
    pickle) rows, and the buckets as read, for ``diff`` (raises what ``pickle`` raises on a damaged row).
    A lazy part is a ``Buckets`` reading its rows with ``select_one(part, bucket)`` when asked."""
    out: dict[str, MutableMapping[Any, Any]] = {}
    buckets: Read = {}
    for part in PARTS:
        if part.lazy:
            lazy = Buckets(part.name, lambda n, name=part.name: select_one(name, n))  # type: ignore[misc]
            out[part.name] = lazy
            buckets[part.name] = lazy.buckets
            continue
        entries: dict[Any, Any] = {}
        by_bucket = buckets[part.name] = {}
        for bucket, blob in select(part.name):
            got = by_bucket[bucket] = _entries(blob, part.name)
            entries.update(got)
        out[part.name] = entries
    return out, buckets


def rows(parts: Mapping[str, Mapping[Any, Any]]) -> Iterable[Row]:
    """Every bucket of *parts* as a row to store."""
    for name, entries in parts.items():
        # Each bucket's keys in a list, its dictionary made as it is written: dictionaries of every
        # bucket at once were a copy of the part (about 700 MB for the answers of 1M talks).
        by_bucket: list[list[Any]] = [[] for _ in range(BUCKETS)]
        for key in entries:
            by_bucket[bucket_of(key)].append(key)
        for bucket, keys in enumerate(by_bucket):
            if keys:
                yield name, bucket, _pickled({key: entries[key] for key in keys})


def _pickled(entries: dict[Any, Any]) -> bytes:
    return pickle.dumps(entries, pickle.HIGHEST_PROTOCOL)


def diff(old: Read, new: Mapping[str, Mapping[Any, Any]]) -> tuple[list[Row], list[tuple[str, int]]]:
    """The bucket rows to write and the (part, bucket) rows to delete to turn *old* (the buckets
    as read) into *new*. An entry kept from the previous build is the object read, so most
    compare by identity; only the buckets of the entries that changed, came or went are made."""
    upserts: list[Row] = []
    deletes: list[tuple[str, int]] = []
    missing = object()
    for part in PARTS:
        before, after = old.get(part.name, {}), new.get(part.name, {})
        if isinstance(after, Buckets) and after.buckets is before:  # the one read, changed in place
            for bucket in sorted(after.dirty):
                entries = after.buckets[bucket]
                if entries:
                    upserts.append((part.name, bucket, _pickled(entries)))
                else:
                    deletes.append((part.name, bucket))
            continue
        dirty: set[int] = set()
        kept = 0
        for bucket, entries in before.items():
            for key, was in entries.items():
                value = after.get(key, missing)
                if value is missing:
                    dirty.add(bucket)
                    continue
                kept += 1
                if value is not was and value != was:
                    dirty.add(bucket)
        came: dict[int, list[Any]] = {}
        if kept < len(after):  # entries that came: each found by its bucket (0.2 s for a million)
            for key in after:
                bucket = bucket_of(key)
                if key not in before.get(bucket, ()):
                    came.setdefault(bucket, []).append(key)
            dirty.update(came)
        for bucket in sorted(dirty):
            entries = {k: after[k] for k in before.get(bucket, {}) if k in after}
            entries.update((k, after[k]) for k in came.get(bucket, ()))
            if entries:
                upserts.append((part.name, bucket, _pickled(entries)))
            else:
                deletes.append((part.name, bucket))
    return upserts, deletes
