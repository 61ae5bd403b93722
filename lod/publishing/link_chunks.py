"""The read-set rows as the state stores them: in chunks of consecutive keys, not a row each.

A rebuild reads every read-set row (``link_rows.StoredRows``: 744k at 100k talks), and fetched
from SQLite one row at a time they took 0.45 s, most of it making a Python tuple, a string and a
bytes object for each row. Stored ``CHUNK`` rows to a row of the ``links`` table, the same rows
are read in 0.12 s: each chunk holds its rows' key texts, their bytes joined and their lengths,
pickled, so a whole chunk is made in C.

Each chunk is keyed by a *label* that no key text of it sorts before, and holds the rows from its
label up to the next chunk's: the first chunk's label is ``FIRST``, the empty text; a chunk split
off another is labelled by its first key text. A rebuild writes again only the chunks holding a row
it put or dropped (``rewrite``), each whole, split in ``CHUNK`` rows when it has grown past twice that.
"""

from __future__ import annotations

import pickle
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from lod.publishing.link_rows import Changed, StoredRows
from lod.publishing.links import Key, key_text

CHUNK = 256  # rows a chunk holds when written whole
FIRST = ""  # the first chunk's label: every key text sorts at or after it

Chunk = tuple[str, bytes]  # (label, its rows packed) as stored


@dataclass
class Chunks:
    """Where the stored chunks begin: each one's label, and the index of its first row among all rows."""

    labels: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)


def pack(texts: list[str], values: list[bytes]) -> bytes:
    """A chunk's rows (*texts* in order, and their *values*) as stored."""
    return pickle.dumps((texts, b"".join(values), array("I", map(len, values)).tobytes()), pickle.HIGHEST_PROTOCOL)


def unpack(blob: bytes) -> tuple[list[str], bytes, array[int]]:
    """A stored chunk's key texts, joined rows and row lengths (raise ValueError if it is none)."""
    texts, joined, lengths = pickle.loads(blob)
    sizes = array("I")
    sizes.frombytes(lengths)
    if not (type(texts) is list and type(joined) is bytes and len(sizes) == len(texts) and sum(sizes) == len(joined)
            and all(type(t) is str for t in texts)):
        raise ValueError("a chunk of read-sets that does not hold its rows")
    return texts, joined, sizes


def read(scan: Iterable[tuple[str, bytes]]) -> tuple[StoredRows, Chunks]:
    """The rows of a scan of the stored chunks in label order, and where each chunk begins (raise
    ValueError if a chunk is none, or its rows are out of order or before its label)."""
    texts: list[str] = []
    joined: list[bytes] = []
    sizes = array("I")
    chunks = Chunks()
    for label, blob in scan:
        got, rows, lengths = unpack(blob)
        if got and got[0] < label:
            raise ValueError("a chunk of read-sets holding a row before its label")
        chunks.labels.append(label)
        chunks.starts.append(len(texts))
        texts += got
        joined.append(rows)
        sizes.extend(lengths)
    return StoredRows.joined(texts, b"".join(joined), sizes), chunks


def chunks_of(rows: list[tuple[str, bytes]], label: str = FIRST) -> Iterator[Chunk]:
    """Sorted *rows* (key text, value) as chunks: one labelled *label*, split in ``CHUNK`` rows, each
    after the first labelled by its first key text, when there are more than twice that."""
    size = CHUNK if len(rows) > 2 * CHUNK else max(len(rows), 1)
    for at in range(0, len(rows), size):
        part = rows[at:at + size]
        yield (label if at == 0 else part[0][0]), pack([t for t, _v in part], [v for _t, v in part])


def rewrite(changed: Changed, stored: StoredRows, chunks: Chunks) -> tuple[list[Chunk], list[tuple[str]]]:
    """The chunks to write and the labels to delete to store *changed*, made over the rows *stored*
    as they were read in *chunks* (at least one): only the chunks holding a row put or dropped, each whole."""
    put, dropped = changed.delta()
    labels, starts = chunks.labels, chunks.starts
    put_in: dict[int, list[tuple[str, bytes]]] = {}
    gone: set[str] = set()  # put again or dropped: the stored row is not kept
    for key, value in put.items():
        if key in changed.shadowed and stored[key] == value:
            continue  # put again as it was (a query evaluated again, its reads the same): its chunk need not change
        text = key_text(key)
        put_in.setdefault(max(bisect_right(labels, text) - 1, 0), []).append((text, value))
        gone.add(text)
    gone.update(key_text(k) for k in dropped)
    touched = set(put_in) | {max(bisect_right(labels, key_text(k)) - 1, 0) for k in dropped}
    upserts: list[Chunk] = []
    deletes: list[str] = []
    for i in sorted(touched):
        hi = starts[i + 1] if i + 1 < len(starts) else len(stored)
        rows = [(text, stored.row(j)) for j, text in enumerate(stored.texts[starts[i]:hi], starts[i])
                if text not in gone]
        rows += put_in.get(i, [])
        rows.sort()
        label = labels[i] if i else FIRST  # the first chunk takes any key, however early it sorts
        if label != labels[i]:
            deletes.append(labels[i])
        if rows:
            upserts += chunks_of(rows, label)
        elif i:
            deletes.append(labels[i])
        else:  # the first chunk stays, empty, so that the next rebuild's earliest keys have one
            upserts.append((FIRST, pack([], [])))
    written = {label for label, _blob in upserts}
    return upserts, [(label,) for label in deletes if label not in written]


def store(rows: Mapping[Key, bytes], read: Mapping[Key, bytes], chunks: Chunks) -> tuple[list[Chunk], list[tuple[str]]]:
    """The chunks to write and the labels to delete to store the read-sets *rows*: those holding a row
    the merge put or dropped, when *rows* are the rows *read* (as ``read`` made them) changed, else every one."""
    stored = read.base if isinstance(read, Changed) and not read.put and not read.shadowed else read
    if isinstance(rows, Changed) and rows.base is read and isinstance(stored, StoredRows) and chunks.labels:
        return rewrite(rows, stored, chunks)
    made = list(chunks_of(sorted((key_text(k), v) for k, v in rows.items())))
    written = {label for label, _blob in made}
    return made, [(label,) for label in chunks.labels if label not in written]
