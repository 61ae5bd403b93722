"""Read-sets held compactly: each node's set of ``(kind, id)`` keys as a row of key numbers.

The pages stage records what every page, calendar and VEVENT (a *node*) reads
(``lod.publishing.pages.reads``); at 100k talks that is tens of millions of keys in all. Held as
frozensets of tuples, a key read by many nodes was a tuple and two strings again in every
read-set unpickled from a page worker (2.4 GB in the main process). Here each key is numbered
once (``LinkCodec``: one list and one dict, shared by every row) and each node's read-set is
the bytes of an ``array('I')`` of its keys' numbers, sorted (``Links``); the workers send their
rows numbered by a codec of their own, renumbered once per job in the parent (``Made.update``).
The build state stores the rows as they are (``lod.publishing.state``, tables ``links`` and
``link_keys``), so a rebuild reads them without decoding any.
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, MutableMapping, MutableSequence
from collections import deque
from itertools import islice, repeat
from pathlib import Path

from lod.loading.spill import Spill

Key = tuple[str, str]
SEP = "\x1f"  # between a key's kind and id in ``link_keys`` (a kind is a word; an id may hold anything)


def key_text(key: Key) -> str:
    """A key as one string: ``kind<SEP>id``."""
    kind, rid = key
    if SEP in kind:
        raise ValueError(f"a key kind with a unit separator: {kind!r}")
    return f"{kind}{SEP}{rid}"


_KINDS: dict[str, str] = {}  # each key kind read, once: the few kinds of the state's 740k read-set rows
# (100k talks) were a string each, 39 MB


def text_key(text: str) -> Key:
    """The key of a ``key_text`` (its kind the one string of that kind)."""
    kind, _, rid = text.partition(SEP)
    return (_KINDS.setdefault(kind, kind), rid)


def numbers(row: bytes) -> array[int]:
    """The key numbers a row holds."""
    out = array("I")
    out.frombytes(row)
    return out


def marks_in(rows: Iterable[bytes], size: int, chunk: int = 4096) -> bytearray:
    """One byte per key number below *size*, 1 where some row of *rows* holds it: a byte a key where a
    set of the numbers took about 90 (about 900 MB for the 10M keys of 1M talks). Joined *chunk* rows
    at a time: one join of every row was a copy of them all (about 2.4 GB at 1M talks)."""
    out = bytearray(size)
    it = iter(rows)
    while batch := list(islice(it, chunk)):
        deque(map(out.__setitem__, numbers(b"".join(batch)), repeat(1)), maxlen=0)  # in C
    return out


class LinkCodec:
    """The numbers of the keys read-sets hold: ``keys[n]`` is the key numbered *n*, and only grows.

    A pickle per read-set made every key tuple again for each set that holds it when read: three
    times as slow as one pickle of them all (which shares them), and as large. Numbers decode in
    C (``map`` over an array), to the same shared tuples."""

    def __init__(self, keys: list[Key] | None = None) -> None:
        # A list and a dict here; looked up in the state's table by a rebuild (``state_keys.StoredCodec``).
        self.keys: MutableSequence[Key] = keys if keys is not None else []
        self.number: MutableMapping[Key, int] = {key: n for n, key in enumerate(self.keys)}
        self.stored = len(self.keys)  # keys[:stored] are rows of link_keys already (``take_added``)

    def __getstate__(self) -> list[Key]:  # the keys only: the numbers are made again from them
        return list(self.keys)

    def __setstate__(self, keys: list[Key]) -> None:
        self.__init__(keys)  # type: ignore[misc]

    def encode(self, links: Collection[Key]) -> bytes:
        """The row of *links*: their numbers, sorted, numbering the keys not seen before."""
        try:
            return array("I", sorted(map(self.number.__getitem__, links))).tobytes()  # in C
        except KeyError:
            self.register(links)
            return array("I", sorted(map(self.number.__getitem__, links))).tobytes()

    def register(self, keys: Iterable[Key]) -> None:
        """Number the *keys* not numbered yet (in sorted order)."""
        for key in sorted(self.unnumbered(set(keys))):
            self.number[key] = len(self.keys)
            self.keys.append(key)

    def unnumbered(self, keys: set[Key]) -> set[Key]:
        """Those of *keys* that have no number yet."""
        return keys.difference(self.number)  # in C

    def decode(self, row: bytes) -> frozenset[Key]:
        """The keys a row holds."""
        return frozenset(map(self.keys.__getitem__, numbers(row)))

    def translation(self, other: LinkCodec) -> array[int]:
        """For each number of *other*, the number of the same key here (numbering those not seen before)."""
        self.register(other.keys)
        return array("I", map(self.number.__getitem__, other.keys))

    def take_added(self) -> list[tuple[int, str]]:
        """The ``link_keys`` rows numbered since the last call (or since the codec was read)."""
        added = [(n, key_text(key)) for n, key in enumerate(self.keys[self.stored:], self.stored)]
        self.stored = len(self.keys)
        return added


def recode(row: bytes, into: array[int]) -> bytes:
    """A row of another codec's numbers in this one's (*into*: ``LinkCodec.translation``)."""
    return array("I", sorted(map(into.__getitem__, numbers(row)))).tobytes()


class Links(Mapping[Key, frozenset[Key]]):
    """Each node's read-set, by node key: a row of numbers of *codec*, decoded when looked up."""

    def __init__(self, codec: LinkCodec | None = None, rows: MutableMapping[Key, bytes] | None = None) -> None:
        self.codec = codec if codec is not None else LinkCodec()
        # A dictionary, or the state's rows with a rebuild's changes (``lod.publishing.link_rows.Changed``).
        self.rows: MutableMapping[Key, bytes] = rows if rows is not None else {}

    @classmethod
    def of(cls, value: Mapping[Key, Collection[Key]]) -> Links:
        """*value* as Links (itself if it is): a plain mapping of node keys to sets is encoded."""
        if isinstance(value, Links):
            return value
        links = cls()
        links.codec.register(k for reads in value.values() for k in reads)  # all at once, then encoded in C
        for node, reads in value.items():
            links.add(node, reads)
        return links

    def __getitem__(self, node: Key) -> frozenset[Key]:
        return self.codec.decode(self.rows[node])

    def __contains__(self, node: object) -> bool:
        return node in self.rows

    def __iter__(self) -> Iterator[Key]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, node: Key, reads: Collection[Key]) -> None:
        """Keep *reads* as what *node* read."""
        self.rows[node] = self.codec.encode(reads)

    def take(self, other: Links, nodes: Iterable[Key] | None = None) -> array[int] | None:
        """Keep the rows of *other* (those of *nodes* only, if given), renumbered into this codec;
        return the translation of its numbers (None if it has this codec)."""
        nodes = other.rows if nodes is None else nodes
        if other.codec is self.codec:
            self.rows.update((node, other.rows[node]) for node in nodes)
            return None
        into = self.codec.translation(other.codec)
        for node in nodes:
            self.rows[node] = recode(other.rows[node], into)
        return into

    def drop_unread(self, derived: Callable[[Key], bool]) -> bytearray:
        """Drop the rows of the *derived* keys (what a query read, keyed by the query) that no other row
        reads; return which key numbers the other rows read (``marks_in``)."""
        read = marks_in((row for node, row in self.rows.items() if not derived(node)), len(self.codec.keys))
        number = self.codec.number
        for node in [node for node in self.rows if derived(node)]:
            n = number.get(node)
            if n is None or not read[n]:
                del self.rows[node]
        return read

    def recoded(self, codec: LinkCodec) -> Links:
        """These read-sets numbered by *codec* (themselves if they are)."""
        if codec is self.codec:
            return self
        out = Links(codec)
        out.take(self)
        return out


class Made(Links):
    """The read-sets of the nodes made in one process, with the digests of the answers they read
    (``digests``) and what each query read (``reads``, rows of record numbers; none for a wide
    query, ``lod.publishing.pages.probe``), by key number: what a page worker sends back, in one pickle."""

    def __init__(self) -> None:
        super().__init__()
        self.digests: dict[int, bytes] = {}
        self.reads: dict[int, bytes] = {}

    def digest(self, of: Callable[[Key], tuple[bytes, Collection[Key] | None] | None]) -> None:
        """Take the digest *of* every key read without one, and what it read (None: a key
        without an answer, a record)."""
        for n, key in enumerate(list(self.codec.keys)):  # encoding the reads numbers more keys
            if n not in self.digests:
                got = of(key)
                if got is not None:
                    self.digests[n] = got[0]
                    if got[1] is not None:
                        self.reads[n] = self.codec.encode(got[1])

    def update(self, other: Made) -> None:
        """Keep what *other* (a ``Made`` of a worker's job) made, renumbered into this codec."""
        into = self.take(other)
        for n, got in other.digests.items():
            self.digests.setdefault(n if into is None else into[n], got)
        for n, row in other.reads.items():
            self.reads.setdefault(n if into is None else into[n], row if into is None else recode(row, into))

    def answers(self) -> dict[Key, bytes]:
        """The digests by key (the codec's own tuples)."""
        keys = self.codec.keys
        return {keys[n]: got for n, got in self.digests.items()}

    def links(self) -> Links:
        """The nodes' read-sets and, keyed by the query's key, what each query that is not wide read,
        taken out of this ``Made`` (its rows and reads are left empty): a copy was a second
        dictionary of every read-set while the build is at its largest."""
        keys = self.codec.keys
        rows, self.rows = self.rows, {}
        rows.update((keys[n], row) for n, row in self.reads.items())
        self.reads = {}
        return Links(self.codec, rows)


def pickled(made: Made) -> bytes:
    """*made* as a job hands it on (``Later.add``)."""
    return pickle.dumps(made, pickle.HIGHEST_PROTOCOL)


class Later:
    """The read-sets of a stage's jobs, each kept pickled on disk as its job made it, until ``merge_into``.

    Merged as they came, the read-sets of every page, calendar and VEVENT (the keys and their
    codec, the rows, the answers' digests) grew the build's process through the pages stage,
    while its page worker was beside it, and through the query gallery's workers after it: at
    100k talks the build's process was about 500 MB larger when the pages' workers ended
    (BENCHMARKS.md, "The pages stage keeps less"). The build merges them when it writes its
    state (``Pending``), after every worker has ended. An unnamed temporary file in *folder*
    (``Spill``): nothing is left behind, whatever ends the build.
    """

    def __init__(self, folder: str | Path | None) -> None:
        self._spill = Spill(folder)
        self._count = 0

    def add(self, made: bytes) -> None:
        """Keep a job's pickled ``Made``."""
        self._spill[str(self._count)] = made
        self._count += 1

    def __len__(self) -> int:
        """How many jobs' read-sets wait."""
        return self._count

    def merge_into(self, made: Made, advance: Callable[[int], None] | None = None) -> None:
        """Merge the kept read-sets into *made*, in the order they came, and free the file;
        *advance* is told of each job's merged."""
        for n in range(self._count):
            made.update(pickle.loads(self._spill[str(n)]))
            if advance is not None:
                advance(1)
        self.close()

    def close(self) -> None:
        """Free the file (what it held is lost)."""
        self._spill.close()


class Pending:
    """What the nodes of a stage read, merged when first asked for (``settled``): the read-sets made
    outside its jobs (*made*) and its jobs' (*later*), with what each query read, less the rows of
    the *derived* keys no node reads (``Links.drop_unread``)."""

    def __init__(self, made: Made | None = None, later: Later | None = None,
                 derived: Callable[[Key], bool] | None = None) -> None:
        self._made = made if made is not None else Made()
        self._later = later
        self._derived = derived
        self._settled: tuple[Links, dict[Key, bytes]] | None = None

    def waiting(self) -> int:
        """How many jobs' read-sets ``settled`` has yet to merge (what the build's state stage counts)."""
        return len(self._later) if self._settled is None and self._later is not None else 0

    def settled(self, advance: Callable[[int], None] | None = None) -> tuple[Links, dict[Key, bytes]]:
        """The nodes' read-sets with what each query read (``Made.links``), and the answers' digests;
        the first call merges them, telling *advance* of each job's."""
        if self._settled is None:
            made, later = self._made, self._later
            if later is not None:
                later.merge_into(made, advance)
            links = made.links()
            if self._derived is not None:
                links.drop_unread(self._derived)
            self._settled = (links, made.answers())
            self._made, self._later = Made(), None
        return self._settled
