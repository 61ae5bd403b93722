"""A data file's records after resolution, as the one row the state keeps of the file.

The row is the records pickled a few at a time, after a header that says where each is:

    length of the header (4 bytes, little-endian)
    header: pickle of (is_record_file, [(kind, id), ...] in file order, [length of each chunk])
    each chunk's pickle: a list of (kind, record), ``CHUNK`` of them (the last fewer)

So a record is read with the few beside it, not with its whole file (``chunk_at``): the pages
make the records they read from these rows (``lod.publishing.record_rows``), and a file such
as ``people.yaml``, which holds every person, is not unpickled whole to read one person. A
chunk's pickle shares the field names and repeated values of its records, as the whole file's
did: a record pickled on its own took 2.5 times the bytes (10k talks: 45 MB of rows instead of
18 MB; in chunks of 32, 19 MB). Equal records pickle to equal bytes, so two builds' rows are
compared as bytes first (``lod.publishing.changes``).
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable, Sequence

from lod.model import records as R

_HEAD = struct.Struct("<I")
CHUNK = 32  # records pickled together: 16 took 36 % more bytes than a whole file's pickle, 32 took 6 %
Entry = tuple[str, str, int, int, int]  # kind, id, offset of its chunk in the row, the chunk's length, its place in it


def pack(is_record_file: bool, recs: Sequence[tuple[str, R.Record]]) -> bytes:
    """The row of a file whose records after resolution are *recs* (kind, record), in file order."""
    chunks = [pickle.dumps(list(recs[i:i + CHUNK]), pickle.HIGHEST_PROTOCOL) for i in range(0, len(recs), CHUNK)]
    head = pickle.dumps((is_record_file, [(kind, rec.id) for kind, rec in recs], [len(c) for c in chunks]),
                        pickle.HIGHEST_PROTOCOL)
    return b"".join([_HEAD.pack(len(head)), head, *chunks])


def index(read: Callable[[int, int], bytes | memoryview]) -> tuple[bool, list[Entry]]:
    """Whether the row is a record file's, and where each record is in it: *read(offset, length)*
    gives the row's bytes (so that a row on disk is read in part)."""
    (n,) = _HEAD.unpack(read(0, _HEAD.size))
    is_record_file, keys, lengths = pickle.loads(read(_HEAD.size, n))
    offset = _HEAD.size + n
    entries: list[Entry] = []
    for c, length in enumerate(lengths):
        for i, (kind, rid) in enumerate(keys[c * CHUNK:(c + 1) * CHUNK]):
            entries.append((kind, rid, offset, length, i))
        offset += length
    return is_record_file, entries


def unpack(row: bytes) -> tuple[bool, list[tuple[str, R.Record]]]:
    """Whether the row is a record file's, and its records (kind, record) in file order."""
    view = memoryview(row)
    (n,) = _HEAD.unpack(view[:_HEAD.size])
    is_record_file, _keys, lengths = pickle.loads(view[_HEAD.size:_HEAD.size + n])
    recs: list[tuple[str, R.Record]] = []
    offset = _HEAD.size + n
    for length in lengths:
        recs.extend(chunk_at(view[offset:offset + length]))
        offset += length
    return is_record_file, recs


def chunk_at(part: bytes | memoryview) -> list[tuple[str, R.Record]]:
    """The records (kind, record) pickled in *part*, a row's bytes at an entry's offset and length (``index``)."""
    recs: list[tuple[str, R.Record]] = pickle.loads(part)
    return recs
