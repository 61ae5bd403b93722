"""Caches of the pages stage that keep only what was used recently.

The renderer keeps what many pages share: query answers, talks' list items, the parts of the
JSON-LD, the read-sets they come with. Kept to the end of the stage, they grew with the archive
in every rendering process (at 10k talks about 110,000 entries; 10 times as many at 100k and
at 1M 100 times). A ``Recent`` keeps two generations of plain dictionaries: what is used goes
into the new one; when that is full, the old one is dropped and the new one becomes the old. So
at most twice *limit* entries are kept, a value used again since the last turn is never
dropped, and each lookup costs a dictionary lookup or two (an ``OrderedDict`` kept in order of
use costs more at every hit, and more memory per entry).

What is dropped is made again when asked for, equal to what was dropped: the pages and their
read-sets are the same whatever the limit (tests/test_pages_memory.py builds a site with a
limit of 1). Made again costs time: with a limit of 2**16, which the answers and the talks'
items pass at 100k talks, the pages took a third longer (BENCHMARKS.md, "The pages stage keeps
less"), so the limit is above what 100k talks make and bounds the caches beyond.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

_MISSING = object()
# The limit of the renderer's caches: above the query answers of 100k talks, the largest of them
# (24,924 at 10k talks, so about 250,000).
LIMIT = 1 << 18


class Recent(Generic[K, V]):
    """A mapping that keeps the entries used in the last one or two generations of *limit* entries."""

    __slots__ = ("limit", "new", "old")

    def __init__(self, limit: int | None = None) -> None:
        limit = LIMIT if limit is None else limit  # read when made: tests make it small
        if limit < 1:
            raise ValueError(f"a Recent cache needs a limit of at least 1, not {limit}")
        self.limit = limit
        self.new: dict[K, V] = {}
        self.old: dict[K, V] = {}

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: Any = None) -> Any:
        """The value of *key* (kept in the new generation), or *default*."""
        got = self.new.get(key, _MISSING)
        if got is _MISSING:
            got = self.old.get(key, _MISSING)
            if got is _MISSING:
                return default
            del self.old[key]
            self[key] = got  # type: ignore[assignment]  # used again: kept one more turn
        return got

    def __setitem__(self, key: K, value: V) -> None:
        new = self.new
        new[key] = value
        if len(new) >= self.limit:  # a turn: the old generation goes
            self.old, self.new = new, {}

    def __contains__(self, key: object) -> bool:
        return key in self.new or key in self.old

    def __len__(self) -> int:
        """How many entries are held."""
        return len(self.new) + len(self.old)

    def values(self) -> list[V]:
        """The values held, the newest generation's first."""
        return [*self.new.values(), *self.old.values()]
