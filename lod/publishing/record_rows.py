"""The records the pages render from, made from the rows the state keeps of them, not held.

Once the dumps are written, a build needs the records only to render the pages, the
calendars and the search index. Holding them all as objects to the end of the build held
the whole archive in the build's process (about 480 MB at 100k talks) and in every page
worker forked from it, which copies each object it reads. What the state keeps of them is
smaller: each data file's records after resolution, pickled (the ``resolved`` rows, 173 MB
at 100k talks). So the pages read a ``Dataset`` whose tables hold, for each record, only the
place in its file's row (``RowTable``), where the records are pickled a few together
(``lod.loading.resolved_rows``), and make a record with those beside it when it is asked for,
keeping the recent ones (``RecordRows``): a series' page and its talks' pages read the same records.
A full build's rows are pickled once, into an unnamed file on disk (``lod.loading.spill``),
which the state written at the end reads too; a rebuild's are the state's own, and those of
the files it resolved again.

A record made from its row is equal to the one it was made from, but not the same object:
nothing that reads the dataset may tell records apart by identity (``SiteIndex`` keys its
sort keys by ``(kind, id)``).
"""

from __future__ import annotations

import functools
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, cast

from lod.loading import resolved_rows
from lod.model import records as R
from lod.model.kinds import TABLES
from lod.publishing.pages.recent import Recent

Key = tuple[str, str]
# Records kept made, in two generations (``Recent``): what the pages read again soon (a series'
# talks, their speakers) is made once. About 4 KB a record at 100k talks.
RECORDS_KEPT = 1 << 14
CHUNKS_KEPT = 64  # the last chunks made (``resolved_rows.CHUNK`` records each)


class Rows(Protocol):
    """What the records are made from: each data file's row in part (``ResolvedBlobs``)."""

    def part(self, rel: str, offset: int, length: int) -> bytes | memoryview: ...

    def __iter__(self) -> Iterator[str]: ...


class RecordRows:
    """Each record made from its data file's row when read (``resolved_rows``).

    A record is one object as long as anything holds it (``alive``, weakly: the renderer's
    caches hold records in their answers, and a copy of each would multiply them); the recent
    ones are held here too (``RECORDS_KEPT``), and so are the records of the last chunks made
    (``CHUNKS_KEPT``): a record's neighbours in its file are often read next (a series' talks)."""

    def __init__(self, rows: Rows, files: list[str], kept: int = RECORDS_KEPT) -> None:
        self._rows, self._files = rows, files
        self._kept: Recent[Key, R.Record] = Recent(kept)
        self._alive: weakref.WeakValueDictionary[Key, R.Record] = weakref.WeakValueDictionary()
        self._chunks: OrderedDict[tuple[int, int], list[tuple[str, R.Record]]] = OrderedDict()
        self.made = 0  # chunks made from their rows, in this process (tests; measurements)

    def record(self, key: Key, where: tuple[int, int, int, int]) -> R.Record:
        """The record *key*, at (file number, offset and length of its chunk, place in it) in its file's row."""
        got = self._kept.get(key)
        if got is None:
            got = self._alive.get(key)
            if got is None:
                got = self._chunk(where)[where[3]][1]
            self._kept[key] = got
        return got

    def _chunk(self, where: tuple[int, int, int, int]) -> list[tuple[str, R.Record]]:
        n, offset, length, _i = where
        chunks = self._chunks
        chunk = chunks.get((n, offset))
        if chunk is not None:
            chunks.move_to_end((n, offset))
            return chunk
        alive = self._alive
        chunk = []
        for kind, rec in resolved_rows.chunk_at(self._rows.part(self._files[n], offset, length)):
            held = alive.get((kind, rec.id))
            if held is None:
                held = alive[(kind, rec.id)] = rec
            chunk.append((kind, held))
        self.made += 1
        chunks[(n, offset)] = chunk
        if len(chunks) > CHUNKS_KEPT:
            chunks.popitem(last=False)
        return chunk


class RowTable(Mapping[str, R.Record]):
    """A table of records of one kind: each id with where its record is (file number, offset,
    length), in the table's order; the record made from its row when it is read."""

    def __init__(self, kind: str, where: dict[str, tuple[int, int, int, int]], rows: RecordRows) -> None:
        self.kind, self._where, self._rows = kind, where, rows

    def __getitem__(self, rid: str) -> R.Record:
        return self._rows.record((self.kind, rid), self._where[rid])

    def get(self, rid: str, default: Any = None) -> Any:
        where = self._where.get(rid)
        return default if where is None else self._rows.record((self.kind, rid), where)

    def __contains__(self, rid: object) -> bool:
        return rid in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def rows_dataset(ds: R.Dataset, rows: Rows) -> R.Dataset:
    """A Dataset equal to *ds*, table by table and in the same order, whose records are made
    from *rows* (each data file's ``resolved_rows``) when read. *ds* is not held."""
    files = list(rows)
    where: dict[Key, tuple[int, int, int, int]] = {}
    for n, rel in enumerate(files):
        _is_record_file, entries = resolved_rows.index(functools.partial(rows.part, rel))
        for kind, rid, offset, length, i in entries:
            where.setdefault((kind, rid), (n, offset, length, i))
    shared = RecordRows(rows, files)
    tables = {TABLES[kind]: RowTable(kind, {rid: where[(kind, rid)] for rid in ds.table(kind)}, shared)
              for kind in TABLES}
    # The tables are Mappings, not dicts: nothing after the load changes a record or a table.
    return R.Dataset(site=ds.site, files=ds.files, **cast(dict[str, Any], tables))
