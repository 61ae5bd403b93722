"""What resolution and mapping were seen to read and write, record by record: the
dependencies an incremental build follows, recorded while the code ran, never declared
beside it (as Sphinx's ``note_dependency``).

- Resolution: ``lod.loading.resolve.resolve`` answers, for each record it resolved, every record
  it looked up (found or not); ``lod.loading.stage.file_deps`` gathers them per data file. A file none of
  whose lookups was added, removed or changed resolves as before.
- Mapping: ``MapRecord`` is told (``lod.mapping.triples.Note``) the owners (resource IRIs, the
  subjects' ``Minter.owner``) each record's triples fall in, and what the mapping looked
  up; it keeps both directions, so that a rebuild finds without mapping anything which
  records make an owner's description and which records to map again when one changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

Key = tuple[str, str]  # (record kind, id)
V = TypeVar("V")


@dataclass(eq=False)
class MapRecord:
    """Which owners each record's triples fall in and what its mapping looked up, observed
    while mapping, with the inverse of both.

    The build's state keeps the two forward maps, in buckets of entries
    (``lod.publishing.state_parts``), so that a rebuild writes only the buckets of the records it
    mapped again: pickled whole, with the inverses, they were 15 MB at 100k talks, written again by
    every rebuild (0.4 s, and a transient 61 MB). The inverses are made from them when first asked for."""

    owners: dict[Key, frozenset[str]] = field(default_factory=dict)  # record -> the owners of its triples' subjects
    reads: dict[Key, frozenset[Key]] = field(default_factory=dict)  # record -> what its mapping looked up (when anything)

    def __post_init__(self) -> None:
        self._contributors: dict[str, set[Key]] | None = None
        self._readers: dict[Key, set[Key]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"owners": self.owners, "reads": self.reads}  # not the inverses: made again when asked for

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.owners, self.reads = state["owners"], state["reads"]
        self._contributors = self._readers = None

    @property
    def contributors(self) -> dict[str, set[Key]]:
        """Owner -> the records whose triples fall in it."""
        if self._contributors is None:
            self._contributors = _inverse(self.owners)
        return self._contributors

    @property
    def readers(self) -> dict[Key, set[Key]]:
        """Looked-up record -> the records whose mapping looked it up."""
        if self._readers is None:
            self._readers = _inverse(self.reads)
        return self._readers

    def __call__(self, key: Key, owners: set[str], reads: set[Key]) -> None:
        """Note what mapping the record *key* was seen to do (``lod.mapping.triples.Note``), replacing what it did before."""
        if key in self.owners:
            self.forget(key)
        self.owners[key] = frozenset(owners)
        for owner in owners:
            found = self.contributors.get(owner)
            if found is None:
                self.contributors[owner] = {key}
            else:
                found.add(key)
        reads.discard(key)
        if reads:
            self.reads[key] = frozenset(reads)
            for read in reads:
                self.readers.setdefault(read, set()).add(key)

    def forget(self, key: Key) -> None:
        """The record *key* is mapped no more (removed, or about to be noted again)."""
        contributors, readers = self.contributors, self.readers  # made before the key is taken out
        for owner in self.owners.pop(key, ()):
            found = contributors[owner]
            found.discard(key)
            if not found:
                del contributors[owner]
        for read in self.reads.pop(key, ()):
            who = readers[read]
            who.discard(key)
            if not who:
                del readers[read]

    def readers_of(self, keys: Iterable[Key]) -> set[Key]:
        """The records whose mapping looked up any of *keys*."""
        out: set[Key] = set()
        for key in keys:
            out |= self.readers.get(key, set())
        return out


def _inverse(forward: Mapping[Key, Iterable[V]]) -> dict[V, set[Key]]:
    """Each value of *forward*'s sets -> the keys whose set holds it."""
    made: dict[V, set[Key]] = {}
    for key, values in forward.items():
        for value in values:
            made.setdefault(value, set()).add(key)
    return made
