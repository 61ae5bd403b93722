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

from collections.abc import Iterable

Key = tuple[str, str]  # (record kind, id)


class MapRecord:
    """Which owners each record's triples fall in and what its mapping looked up, observed
    while mapping, with the inverse of both (kept in the build's state)."""

    def __init__(self) -> None:
        self.owners: dict[Key, frozenset[str]] = {}  # record -> the owners of its triples' subjects
        self.contributors: dict[str, set[Key]] = {}  # owner -> the records whose triples fall in it
        self.reads: dict[Key, frozenset[Key]] = {}  # record -> what its mapping looked up (when anything)
        self.readers: dict[Key, set[Key]] = {}  # looked-up record -> who looked it up

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
        for owner in self.owners.pop(key, ()):
            found = self.contributors[owner]
            found.discard(key)
            if not found:
                del self.contributors[owner]
        for read in self.reads.pop(key, ()):
            who = self.readers[read]
            who.discard(key)
            if not who:
                del self.readers[read]

    def readers_of(self, keys: Iterable[Key]) -> set[Key]:
        """The records whose mapping looked up any of *keys*."""
        out: set[Key] = set()
        for key in keys:
            out |= self.readers.get(key, set())
        return out
