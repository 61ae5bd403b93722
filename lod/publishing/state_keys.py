"""The read-sets' key numbering as a rebuild uses it: looked up in the state's ``link_keys`` table, not read whole.

A rebuild compares and merges read-sets as rows of key numbers (``lod.publishing.links``), and
needs the key of a number, or the number of a key, only for the few keys an edit touches: the
changed records, the queries whose answer changed, the keys the rendered pages read. Reading
the whole numbering first (every row of ``link_keys`` made a tuple, and a dictionary of them)
took 1.3 s of a rebuild at 100k talks (975k keys) and about 200 MB; at 1M talks ten times that.
``StoredCodec`` is a ``LinkCodec`` whose ``keys`` and ``number`` look each key up in the
table (by its number, its primary key, or by its text, which a unique index finds), keep what
they found, and keep the keys numbered since in memory, for ``take_added`` to write.

A damaged table found by a lookup raises ``Unusable``, as a damaged state does when it is read:
the build then starts again from the empty state (``lod.publishing.pipeline``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, MutableMapping, MutableSequence
from typing import Any, overload

from lod.publishing.links import Key, LinkCodec, key_text, text_key

LOOKUP = 500  # keys one lookup query asks for (SQLite allows 32,766 parameters a statement since 3.32)


class Unusable(Exception):
    """The state cannot be used: args are the reason (lod.progress.REASONS) and its detail.
    (Here, not in ``lod.publishing.state``, which reads the rest: a key looked up late can find it damaged.)"""


def damaged(exc: BaseException, part: str = "") -> Unusable:
    """The state found damaged by *exc* (in its *part*, if named): a full build says so."""
    detail = str(exc) or type(exc).__name__
    return Unusable("state-damaged", f"{part}: {detail}" if part else detail)


def _damaged(exc: BaseException) -> Unusable:
    return damaged(exc, "its key numbering")


class StoredKeys(MutableSequence[Key]):
    """The keys by number: the table's, read when asked (and kept), then those numbered since."""

    def __init__(self, conn: sqlite3.Connection, size: int) -> None:
        self.conn, self.size = conn, size
        self.added: list[Key] = []
        self._found: dict[int, Key] = {}

    def __len__(self) -> int:
        return self.size + len(self.added)

    @overload
    def __getitem__(self, n: int) -> Key: ...

    @overload
    def __getitem__(self, n: slice) -> list[Key]: ...

    def __getitem__(self, n: int | slice) -> Key | list[Key]:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        if n < 0:
            n += len(self)
        if n >= self.size:
            return self.added[n - self.size]
        if n < 0:
            raise IndexError(n)
        got = self._found.get(n)
        if got is None:
            try:
                row = self.conn.execute("SELECT value FROM link_keys WHERE key = ?", (n,)).fetchone()
            except sqlite3.DatabaseError as exc:
                raise _damaged(exc) from None
            if row is None:
                raise _damaged(KeyError(n))
            got = self._found[n] = text_key(row[0])
        return got

    def __iter__(self) -> Iterator[Key]:
        try:
            for (text,) in self.conn.execute("SELECT value FROM link_keys ORDER BY key"):
                yield text_key(text)
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc) from None
        yield from self.added

    def insert(self, index: int, value: Key) -> None:
        """Only at the end (``append``): a key's number never changes."""
        if index != len(self):
            raise TypeError("a key numbering only grows at its end")
        self.added.append(value)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("a key's number never changes")

    def __delitem__(self, index: Any) -> None:
        raise TypeError("a key's number never changes")


class StoredNumbers(MutableMapping[Key, int]):
    """The number of each key: the table's, found by the key's text when asked (and kept), and those numbered since."""

    def __init__(self, conn: sqlite3.Connection, keys: StoredKeys) -> None:
        self.conn, self._keys = conn, keys
        self._found: dict[Key, int] = {}
        self._missing: set[Key] = set()

    def __getitem__(self, key: Key) -> int:
        got = self._found.get(key)
        if got is not None:
            return got
        if key in self._missing:
            raise KeyError(key)
        try:
            row = self.conn.execute("SELECT key FROM link_keys WHERE value = ?", (key_text(key),)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc) from None
        except ValueError:  # not a key a read-set holds (its kind has a separator)
            raise KeyError(key) from None
        if row is None:
            self._missing.add(key)
            raise KeyError(key)
        self._found[key] = row[0]
        return int(row[0])

    def __setitem__(self, key: Key, n: int) -> None:
        self._missing.discard(key)
        self._found[key] = n

    def look_up(self, keys: Iterable[Key]) -> None:
        """Find the numbers of *keys* not asked for yet, ``LOOKUP`` keys a query (a query per key
        took 0.2 s for the keys of a rebuild's pages at 100k talks); those not in the table are missing."""
        texts: dict[str, Key] = {}
        for key in keys:
            if key not in self._found and key not in self._missing:
                try:
                    texts[key_text(key)] = key
                except ValueError:  # not a key a read-set holds (its kind has a separator)
                    self._missing.add(key)
        batch = list(texts)
        for start in range(0, len(batch), LOOKUP):
            some = batch[start:start + LOOKUP]
            try:
                rows = self.conn.execute(f"SELECT key, value FROM link_keys WHERE value IN ({','.join('?' * len(some))})",
                                         some).fetchall()
            except sqlite3.DatabaseError as exc:
                raise _damaged(exc) from None
            for n, text in rows:
                self._found[texts.pop(text)] = int(n)
        self._missing.update(texts.values())

    def __delitem__(self, key: Key) -> None:
        raise TypeError("a key's number never changes")

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class StoredCodec(LinkCodec):
    """A ``LinkCodec`` over the state's ``link_keys`` (open on *conn*), read a key at a time."""

    def __init__(self, conn: sqlite3.Connection) -> None:  # not LinkCodec's: nothing is read whole
        try:
            size, numbers = conn.execute("SELECT count(*), coalesce(max(key) + 1, 0) FROM link_keys").fetchone()
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc) from None
        if size != numbers:  # the keys are numbered from 0 without a gap: a row was lost
            raise Unusable("state-damaged", f"its key numbering: {numbers} numbers for {size} keys")
        keys = StoredKeys(conn, int(size))
        self.keys = keys
        self.number = StoredNumbers(conn, keys)
        self.stored = keys.size

    def __reduce__(self) -> tuple[type[LinkCodec], tuple[list[Key]]]:
        # Pickled (a state written whole again), it is the plain numbering: every key, read now.
        return (LinkCodec, (list(self.keys),))

    def unnumbered(self, keys: set[Key]) -> set[Key]:
        """Those of *keys* that have no number yet, looked up in the table many at a time."""
        numbers = self.number
        assert isinstance(numbers, StoredNumbers)
        numbers.look_up(keys)
        return {key for key in keys if key not in numbers}
