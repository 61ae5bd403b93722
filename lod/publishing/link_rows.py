"""The read-set rows a rebuild reads from the state: held as the table holds them, not as a dictionary.

The state's ``links`` table has a row for each page, calendar, VEVENT and query (740k at 100k
talks): its key as ``kind<SEP>id`` and the numbers of the keys it read (``lod.publishing.links``).
Read into a dictionary of ``(kind, id)`` tuples to bytes, the rows took 216 MB and 0.97 s at
100k talks, were copied whole by the merge, and compared row by row when the state was written,
while a rebuild looks at a few hundred of them: the rows of the nodes it renders again, and the
rows that hold a dirty key (found by searching them all, in C: ``Readers``).

``StoredRows`` keeps the table's keys as their texts, in the table's order (it is ``WITHOUT
ROWID``, so a scan reads them sorted), and the rows joined in one buffer with their end offsets:
a row is found by bisecting the texts, the rows of one kind of node are a range of them, and the
buffer is what ``Readers`` searches. ``Changed`` is what a rebuild makes of it: the rows it keeps
and those it replaces, adds and drops, so that the state writes the changes alone
(``lod.publishing.state.Store.changes``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from itertools import accumulate

from lod.publishing.links import SEP, Key, key_text, numbers, text_key


class StoredRows(Mapping[Key, bytes]):
    """Rows keyed by ``key_text``, in that order: *texts* sorted, *blob* the rows joined, *ends*
    where each ends in it."""

    def __init__(self, texts: list[str], blob: bytes, ends: array[int]) -> None:
        self.texts, self.blob, self.ends = texts, blob, ends

    @classmethod
    def read(cls, rows: Iterable[tuple[str, bytes]]) -> StoredRows:
        """The rows of a scan of ``(key text, row)`` in key order (raise ValueError if not in order)."""
        texts: list[str] = []
        values: list[bytes] = []
        add_text, add_value = texts.append, values.append
        for text, value in rows:
            add_text(text)
            add_value(value)
        return cls.joined(texts, b"".join(values), map(len, values))

    @classmethod
    def joined(cls, texts: list[str], blob: bytes, lengths: Iterable[int]) -> StoredRows:
        """The rows of *texts*, in key order, joined in *blob*, each of its *lengths* (raise ValueError if
        the texts are not in order)."""
        if any(map(str.__ge__, texts, texts[1:])):  # in C: a scan out of order would misfind every row
            raise ValueError("the read-sets are not in key order")
        return cls(texts, blob, array("Q", accumulate(lengths)))

    @classmethod
    def of(cls, rows: Mapping[Key, bytes]) -> StoredRows:
        """*rows* as StoredRows (themselves if they are, and those of an unchanged ``Changed``)."""
        if isinstance(rows, Changed) and not rows.put and not rows.shadowed:
            rows = rows.base
        if isinstance(rows, StoredRows):
            return rows
        return cls.read(sorted((key_text(k), v) for k, v in rows.items()))

    def _at(self, key: object) -> int:
        """The index of *key*'s row, or -1."""
        if not (isinstance(key, tuple) and len(key) == 2):
            return -1
        text = key_text(key)
        i = bisect_left(self.texts, text)
        return i if i < len(self.texts) and self.texts[i] == text else -1

    def row(self, i: int) -> bytes:
        """The row at index *i*."""
        return self.blob[self.start(i):self.ends[i]]

    def __getitem__(self, key: Key) -> bytes:
        i = self._at(key)
        if i < 0:
            raise KeyError(key)
        return self.row(i)

    def __contains__(self, key: object) -> bool:
        return self._at(key) >= 0

    def __iter__(self) -> Iterator[Key]:
        return map(text_key, self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    def span(self, kind: str) -> tuple[int, int]:
        """The indexes [lo, hi) of the rows of *kind*, or of every kind starting with it if it ends
        with ``:`` (the queries' ``q:``)."""
        start = kind if kind.endswith(":") else kind + SEP
        end = start[:-1] + chr(ord(start[-1]) + 1)
        return bisect_left(self.texts, start), bisect_left(self.texts, end)

    def ids(self, kind: str) -> list[str]:
        """The ids of the rows of *kind* (exactly that kind)."""
        lo, hi = self.span(kind)
        cut = len(kind) + 1
        return [text[cut:] for text in self.texts[lo:hi]]

    def damaged(self, size: int) -> tuple[Key, str] | None:
        """The first row that is no row of numbers below *size* (with why), or None: a row cut short
        of a whole number, or holding a number past the key numbering. Such a row, read as it is,
        would have its node left out of a rebuild it should be in, or every row after it misread
        (``Readers``): stale pages, silently. A row changed into other numbers of known keys is not
        found: the rows hold no checksum. Checked in C; only a damaged table is walked row by row."""
        if any(map((3).__and__, self.ends)):  # the first end off a whole number is that row's
            i = next(i for i, end in enumerate(self.ends) if end & 3)
            return self.key(i), f"{len(self.row(i))} bytes, not a whole number of key numbers"
        values = array("I")
        values.frombytes(self.blob)
        if max(values, default=-1) >= size:
            i = next(i for i in range(len(self)) if max(numbers(self.row(i)), default=-1) >= size)
            return self.key(i), f"a key number past the {size} keys numbered"
        return None

    def start(self, i: int) -> int:
        """Where the row at index *i* starts in the buffer (its end if *i* is past the last)."""
        return self.ends[i - 1] if i else 0

    def key(self, i: int) -> Key:
        """The key of the row at index *i*."""
        return text_key(self.texts[i])


# Above this many key numbers, ``Readers.any_of`` scans every row once instead of searching for each:
# at 100k talks a search takes about 3 ms, a scan about 0.5 s.
SEARCHED_MOST = 150


class Readers:
    """Which rows of some index ranges (*spans*, every row if None) of *rows* hold a key number,
    found in C: the joined rows searched with ``bytes.find`` within each range, and a match mapped
    to its row by the rows' end offsets. Row by row, each row made an array and tested
    (``numbers``), the 380k node rows of 100k talks took 1.6 s a rebuild; searched, a key takes a
    few milliseconds. *rows* are StoredRows as the state reads them (others are made such)."""

    def __init__(self, rows: Mapping[Key, bytes], spans: Sequence[tuple[int, int]] | None = None) -> None:
        self.rows = StoredRows.of(rows)
        whole = [(0, len(self.rows))] if spans is None else spans
        self.spans = [(self.rows.start(lo), self.rows.start(hi)) for lo, hi in whole if hi > lo]  # in bytes
        self._top: int | None = None

    def of(self, n: int) -> Iterator[Key]:
        """The rows holding the key number *n*, in order."""
        needle = array("I", [n]).tobytes()
        rows = self.rows
        find, ends, size = rows.blob.find, rows.ends, len(needle)
        for start, end in self.spans:
            i = find(needle, start, end)
            while i >= 0:
                if i % size:  # across two numbers: not one of them
                    i = find(needle, i + 1, end)
                    continue
                row = bisect_right(ends, i)
                yield rows.key(row)
                i = find(needle, ends[row], end)  # a row holds a number once (``LinkCodec.encode``)

    def any_of(self, numbers: Iterable[int]) -> set[Key]:
        """The rows holding any of the key *numbers*: searched a number at a time when they are
        few (``SEARCHED_MOST``), else found in one pass over every row's numbers (``_scan``). Each
        search is a pass over the whole buffer: a place's time zone changed at 100k talks dirtied
        thousands of VEVENTs, each searched for in 31 MB."""
        wanted = set(numbers)
        if len(wanted) <= SEARCHED_MOST:
            return {node for n in wanted for node in self.of(n)}
        return self._scan(wanted)

    def _scan(self, wanted: set[int]) -> set[Key]:
        """``any_of`` in one pass: a byte for each number the rows hold, 1 where it is wanted, made
        in C (``map`` of a mask's ``__getitem__`` over the rows' numbers), then its 1s found. The
        mask has a byte for each number up to the largest: key numbers are dense from 0 (``LinkCodec``)."""
        if not wanted:
            return set()
        rows = self.rows
        parts = []
        for start, end in self.spans:
            values = array("I")
            values.frombytes(rows.blob[start:end])
            parts.append((start, values))
        if self._top is None:  # the largest number a row holds: the mask's size
            self._top = max((max(values, default=0) for _start, values in parts), default=0)
        mask = bytearray(max(self._top, max(wanted)) + 1)
        for n in wanted:
            mask[n] = 1
        out: set[Key] = set()
        ends = rows.ends
        for start, values in parts:
            hits = bytes(map(mask.__getitem__, values))
            i = hits.find(1)
            while i >= 0:
                row = bisect_right(ends, start + i * values.itemsize)
                out.add(rows.key(row))
                i = hits.find(1, (ends[row] - start) // values.itemsize)  # the rest of that row found already
        return out


class Changed(MutableMapping[Key, bytes]):
    """The rows of *base* with some dropped and some put: a rebuild's read-sets, made from the
    previous build's without copying them. A key put or dropped that *base* has is *shadowed*."""

    def __init__(self, base: Mapping[Key, bytes], drop: Iterable[Key] = ()) -> None:
        self.base = base
        self.put: dict[Key, bytes] = {}
        self.shadowed: set[Key] = {k for k in drop if k in base}

    def __getitem__(self, key: Key) -> bytes:
        got = self.put.get(key)
        if got is not None:
            return got
        if key in self.shadowed:
            raise KeyError(key)
        return self.base[key]

    def __contains__(self, key: object) -> bool:
        return key in self.put or (key not in self.shadowed and key in self.base)

    def __setitem__(self, key: Key, value: bytes) -> None:
        if key not in self.put and key in self.base:
            self.shadowed.add(key)
        self.put[key] = value

    def __delitem__(self, key: Key) -> None:
        if key in self.put:
            del self.put[key]
        elif key in self.shadowed or key not in self.base:
            raise KeyError(key)
        else:
            self.shadowed.add(key)

    def __iter__(self) -> Iterator[Key]:
        shadowed = self.shadowed
        yield from (k for k in self.base if k not in shadowed)
        yield from self.put

    def __len__(self) -> int:
        return len(self.base) - len(self.shadowed) + len(self.put)

    def delta(self) -> tuple[dict[Key, bytes], list[Key]]:
        """The rows to write and the keys to delete to make *base* these rows."""
        return self.put, [k for k in self.shadowed if k not in self.put]
