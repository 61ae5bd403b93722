"""What each gallery query reads, so that a rebuild answers again only the queries an edit can change.

A query's answer depends only on the triples its patterns can match. ``reads_of`` finds them
from the query's algebra (rdflib's SPARQL parser, not a hand list): the predicates of its
triple patterns and property paths, narrowed for ``?x a C`` patterns to the ``rdf:type``
triples of class C. A variable predicate, a negated property set or a DESCRIBE reads
everything.

A zero-length path (``p*``, ``p?``) between two variables also matches every node of the
graph paired with itself. Where one of its variables is joined, in the same group of
patterns, to a pattern that cannot match zero-length, only nodes of the triples read can
take part, so the read-set above still holds; otherwise the query reads everything.

``answer_lines`` answers each query on a store of only the lines of dump.nt it reads. Full
builds and rebuilds both answer that way, so a store, and the order of an answer's ties in
it, depend only on the lines read: a reused answer is the one a full build would compute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lod.validation.algebra import algebra_of

if TYPE_CHECKING:
    from lod.publishing.dumps import DumpIndex
    from lod.querying.engine import Answer

T = TypeVar("T")
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
# From this many lines read in all, the queries are answered on every core (forking costs less than it saves).
PARALLEL_LINES = 200_000


@dataclass(frozen=True)
class Reads:
    """The triples a query's answer can depend on: those whose predicate is in *predicates*
    and the rdf:type triples whose class is in *classes* (N-Triples IRIs, ``<…>``); every
    triple when *everything*."""

    predicates: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    everything: bool = False

    def reads(self, predicate: str, obj: str) -> bool:
        """Whether the query can read a triple with this predicate and object (N-Triples text)."""
        return (self.everything or predicate in self.predicates
                or (predicate == RDF_TYPE and obj in self.classes))

    def describe(self) -> str:
        """The read-set in one line, for docs and messages."""
        if self.everything:
            return "every triple"
        return ", ".join(sorted(self.predicates) + [f"{RDF_TYPE} {c}" for c in sorted(self.classes)])

    def dump(self) -> dict[str, Any]:
        """As plain data, for the build state."""
        return {"predicates": sorted(self.predicates), "classes": sorted(self.classes), "everything": self.everything}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Reads:
        """From ``dump``'s plain data."""
        return cls(frozenset(data["predicates"]), frozenset(data["classes"]), bool(data["everything"]))


EVERYTHING = Reads(everything=True)


def reads_of(text: str) -> Reads:
    """The read-set of a query (see the module's docstring); conservative: when unsure, everything."""
    algebra = algebra_of(text)
    if algebra.name == "DescribeQuery":
        return EVERYTHING
    predicates: set[str] = set()
    classes: set[str] = set()
    for triples in _blocks(algebra):
        for s, p, o in triples:
            if _is_iri(p):
                if str(p) == RDF_TYPE[1:-1] and _is_iri(o):
                    classes.add(f"<{o}>")
                else:
                    predicates.add(f"<{p}>")
            elif _is_path(p):
                iris = _path_iris(p)
                if iris is None:
                    return EVERYTHING
                predicates.update(f"<{i}>" for i in iris)
                if _zero_length(p) and _is_var(s) and _is_var(o) and not _anchored(s, o, p, triples):
                    return EVERYTHING
            else:  # a variable predicate
                return EVERYTHING
    return Reads(frozenset(predicates), frozenset(classes))


def _blocks(node: Any) -> Iterator[list[tuple[Any, Any, Any]]]:
    """Every group of triple patterns in the algebra (BGPs, and the blocks of EXISTS filters)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        if node.name in ("BGP", "TriplesBlock") and "triples" in node:
            yield [tuple(t) for t in node["triples"]]
        for value in node.values():
            yield from _blocks(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _blocks(value)


def _is_iri(term: Any) -> bool:
    from rdflib import URIRef

    return isinstance(term, URIRef)


def _is_var(term: Any) -> bool:
    from rdflib import Variable

    return isinstance(term, Variable)


def _is_path(term: Any) -> bool:
    from rdflib.paths import Path as RPath

    return isinstance(term, RPath)


def _path_iris(path: Any) -> set[str] | None:
    """The predicates a property path follows; None for a negated property set (it reads any predicate)."""
    from rdflib import URIRef
    from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath

    if isinstance(path, URIRef):
        return {str(path)}
    if isinstance(path, InvPath):
        return _path_iris(path.arg)
    if isinstance(path, MulPath):
        return _path_iris(path.path)
    if isinstance(path, (SequencePath, AlternativePath)):
        out: set[str] = set()
        for part in path.args:
            iris = _path_iris(part)
            if iris is None:
                return None
            out |= iris
        return out
    return None  # NegatedPath, or a kind of path this analysis does not know


def _zero_length(path: Any) -> bool:
    """Whether *path* can match a node with itself by following no triple."""
    from rdflib import URIRef
    from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath

    if isinstance(path, URIRef):
        return False
    if isinstance(path, MulPath):
        return path.zero or _zero_length(path.path)
    if isinstance(path, InvPath):
        return _zero_length(path.arg)
    if isinstance(path, SequencePath):
        return all(_zero_length(part) for part in path.args)
    if isinstance(path, AlternativePath):
        return any(_zero_length(part) for part in path.args)
    return True  # unknown: assume the worst


def _anchored(s: Any, o: Any, path: Any, triples: list[tuple[Any, Any, Any]]) -> bool:
    """Whether *s* or *o* also occurs in a pattern of the same block that cannot match zero-length."""
    for ts, tp, to in triples:
        if tp is path:
            continue
        if (_is_iri(tp) or (_is_path(tp) and not _zero_length(tp))) and {s, o} & {ts, to}:
            return True
    return False


def read_lines(lines: Iterable[bytes], reads: list[Reads], folder: Path) -> tuple[list[Path], int]:
    """The N-Triples *lines* each read-set of *reads* reads, in their order, written to one file
    per read-set under *folder*: their paths, and how many lines were written in all. On disk, not
    in lists: at 1M talks they were about 4 GB in memory."""
    written = 0
    paths = [folder / f"{i}.nt" for i in range(len(reads))]
    files = [open(path, "wb", buffering=1 << 20) for path in paths]
    try:
        everything = [f for f, r in zip(files, reads) if r.everything]
        by_predicate: dict[bytes, list[Any]] = {}
        by_class: dict[bytes, list[Any]] = {}
        for f, r in zip(files, reads):
            if not r.everything:
                for iri in r.predicates:
                    by_predicate.setdefault(iri.encode("utf-8"), []).append(f)
                for c in r.classes:
                    by_class.setdefault(c.encode("utf-8"), []).append(f)
        type_iri = RDF_TYPE.encode("utf-8")
        for line in lines:
            for f in everything:
                f.write(line)
            written += len(everything)
            _s, predicate, rest = line.split(b" ", 2)
            targets = by_predicate.get(predicate)
            if targets:
                for f in targets:
                    f.write(line)
                written += len(targets)
            if predicate == type_iri and by_class:
                for f in by_class.get(rest.split(b" ", 1)[0], ()):
                    if f not in (targets or ()):
                        f.write(line)
                        written += 1
    finally:
        for f in files:
            f.close()
    return paths, written


def answer_lines(dump: Path, queries: list[tuple[str, Reads]], keep: Callable[[int, Answer, Iterable[bytes]], T],
                 graph: bytes | None = None, cores: int | None = None) -> list[T]:
    """Answer each query on a store of only the lines of *dump* (or of the N-Triples *graph*) it reads,
    reading the dump once whatever the number of queries; ``keep(i, answer, lines)`` for each, in
    order, where *lines* iterates the lines the *i*-th query read; at most *cores* at once (None: as
    many as fit).

    The lines wait on disk, in a folder beside *dump* removed before this returns, and only *keep*'s
    result comes back from a forked worker: an answer (every row) and its lines stay where they are made.
    """
    import tempfile

    import pyoxigraph as ox

    from lod.publishing.pages.parallel import affordable, fork_map, worker_count
    from lod.querying.engine import run

    if not queries:
        return []
    with tempfile.TemporaryDirectory(prefix=".gallery-lines-", dir=dump.parent) as folder:
        if graph is not None:
            paths, read = read_lines(graph.splitlines(keepends=True), [r for _, r in queries], Path(folder))
        else:
            with open(dump, "rb") as f:
                paths, read = read_lines(f, [r for _, r in queries], Path(folder))

        def answer(i: int) -> T:
            store = ox.Store()
            store.bulk_load(path=str(paths[i]), format=ox.RdfFormat.N_TRIPLES)
            answered = run(store, queries[i][0])
            del store
            with open(paths[i], "rb") as lines:
                return keep(i, answered, lines)

        # Loading each query's store is most of the work (1-2.5 s a query at 100k talks), one query
        # to a core. Each store holds the same lines in either process, so the answers are the same.
        # None forked that a copy of this process would not fit beside (at 1M talks the build was
        # 18.6 GB here, and the out-of-memory killer ended its forked worker; BENCHMARKS.md).
        workers = affordable(worker_count(read, PARALLEL_LINES)) if len(queries) > 1 else 1
        if cores is not None:
            workers = min(workers, cores)
        return list(fork_map(answer, range(len(queries)), workers))


def owner_lines(dump: Path, index: DumpIndex, owners: Iterable[str]) -> set[bytes]:
    """The lines of *dump* (a dump.nt that *index* describes) that describe *owners*."""
    offsets = index.offsets("nt")
    spans = sorted((offsets[i], index.nt[i]) for o in owners for i in index.positions_of(o))
    out: set[bytes] = set()
    if not spans:
        return out
    with open(dump, "rb") as f:
        for start, length in spans:
            f.seek(start)
            out.update(f.read(length).splitlines(keepends=True))
    return out


def delta_lines(old: tuple[Path, DumpIndex], new: tuple[Path, DumpIndex], owners: Iterable[str]) -> list[bytes]:
    """The lines in the old or the new descriptions of *owners* but not in both (each a dump.nt and its
    index): the triples an edit added or removed, in a stable order."""
    owners = list(owners)
    before, after = owner_lines(*old, owners), owner_lines(*new, owners)
    return sorted(before ^ after)


def touched(reads: Reads, lines: Iterable[bytes]) -> bool:
    """Whether any of these N-Triples *lines* (the old and new triples of the changed resources) is read."""
    if reads.everything:
        return any(True for _ in lines)
    for line in lines:
        _s, p, rest = line.decode("utf-8").split(" ", 2)
        if reads.reads(p, rest.split(" ", 1)[0]):
            return True
    return False
