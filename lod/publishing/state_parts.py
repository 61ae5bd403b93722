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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lod.publishing.links import key_text

PARTED = "lod:parts"  # stands in the extra table for a value whose entries are all in parts
BUCKETS = 1024  # per part: a bucket holds about 660 entries at 100k talks, 45 KB pickled


@dataclass(frozen=True)
class Part:
    """One dictionary of ``State.extra`` kept in buckets."""

    name: str  # its rows' part in the parts table
    extra: str  # the key of State.extra holding it
    attribute: str | None  # the dataclass attribute holding it; None: the value is the dictionary


PARTS = (
    Part("answers", "answers", None),
    Part("pages.items", "pages", "items"),
    Part("pages.lastmods", "pages", "lastmods"),
    Part("search.talks", "search", "talks"),
    Part("search.numbers", "search", "numbers"),
)

Row = tuple[str, int, bytes]  # (part, bucket, its entries pickled) as stored
Read = dict[str, dict[int, dict[Any, Any]]]  # each part's buckets as read: what ``diff`` compares with


def bucket_of(key: Any) -> int:
    """The bucket of an entry's key: a string, or a (kind, id) pair. Stable across processes
    (unlike ``hash``, which is salted per process)."""
    text = key if isinstance(key, str) else key_text(key)
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % BUCKETS


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
            if isinstance(value, dict):
                parts[part.name] = value
                rest[part.extra] = PARTED
        elif dataclasses.is_dataclass(value) and isinstance(getattr(value, part.attribute, None), dict):
            parts[part.name] = getattr(value, part.attribute)
            emptied.setdefault(part.extra, {})[part.attribute] = {}
    for name, attributes in emptied.items():
        rest[name] = dataclasses.replace(extra[name], **attributes)
    return rest, parts


def join(extra: dict[str, Any], parts: Mapping[str, dict[Any, Any]]) -> None:
    """Put the parts' dictionaries (as ``read`` gives them) back into *extra*, as ``split`` took them out."""
    for part in PARTS:
        value = extra.get(part.extra)
        rows = parts.get(part.name, {})
        if part.attribute is None:
            if isinstance(value, str) and value == PARTED:
                extra[part.extra] = rows
        elif dataclasses.is_dataclass(value) and hasattr(value, part.attribute):
            setattr(value, part.attribute, rows)


def read(select: Callable[[str], Iterable[tuple[int, bytes]]]) -> tuple[dict[str, dict[Any, Any]], Read]:
    """The parts' dictionaries from their stored rows, ``select(part)`` giving a part's (bucket,
    pickle) rows, and the buckets as read, for ``diff`` (raises what ``pickle`` raises on a damaged row)."""
    out: dict[str, dict[Any, Any]] = {}
    buckets: Read = {}
    for part in PARTS:
        entries: dict[Any, Any] = {}
        by_bucket = buckets[part.name] = {}
        for bucket, blob in select(part.name):
            got = pickle.loads(blob)
            if not isinstance(got, dict):
                raise TypeError(f"a bucket of {part.name} is not a dictionary")
            by_bucket[bucket] = got
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
