"""What changed since a state, and what that makes again: the map and validate stages' core.

Pure functions over records and triples (no files: ``lod.publishing.state`` reads and writes the
state), used by every build (``lod.publishing.front``): from the empty state, every record
changed and every resource is made; from the previous build's state, only what changed.
The state (``State``) holds each data file's parse and its records after resolution,
pickled, plus what later stages need to splice their output. Given the changed records:

1. ``changed_records`` compares each file's resolved records with the previous ones: a
   record changed when any field, its location included, differs;
2. ``to_remap`` and ``remap`` map those records again, and those whose mapping looked one
   of them up; the *owners* (resource IRIs) whose descriptions they fall in, old and new
   versions alike, were seen as they were mapped (``lod.publishing.readsets.MapRecord``,
   kept in the state); ``Descriptions`` describes those owners from the records that
   contribute to them (``Contributors``), taking those the mapping just made whole;
3. ``check_owners`` checks the SHACL shapes on those owners, with their neighbours'
   descriptions beside them, because our shapes read one hop out (``sh:class`` of a value);
   when a record's own types change, every node pointing at it could change result, so
   every owner is checked (``types_changed``); ``merged_report`` keeps the others' results.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rdflib import URIRef

from lod.model import records as R
from lod.errors import Location
from lod.model.iri import KIND_PATHS, Minter
from lod.loading.pool import no_gc
from lod.loading.stage import same_but_where, stored_row
from lod.model import termpickle
from lod.model.kinds import TABLES
from lod.mapping.triples import record_triples
from lod.publishing.readsets import MapRecord
from lod.model.serialize import Terms, Triple, sort_canonical
from lod.validation.shacl import check as shacl_check
from lod.validation.report import Report, Result

STATE_FORMAT = 3
Key = tuple[str, str]  # (record kind, id)
_RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_KIND_OF_PATH = {path: kind for kind, path in KIND_PATHS.items()}




@dataclass
class State:
    """What a build leaves for the next one (an SQLite database beside the site, ``lod.publishing.state``)."""

    fingerprint: str  # the code and settings the build ran with (``fingerprint``)
    site_id: str  # also in the site's marker file: the state belongs to that site
    site: R.Site | None  # None in the empty state a full build starts from (lod.publishing.front)
    stamps: dict[str, tuple[int, int, int]]  # data file -> (inode, size, mtime_ns) when read
    parsed: Mapping[str, bytes]  # data file -> its parse, pickled (lod.loading.files.Merger keep); read when asked
    resolved: Mapping[str, bytes]  # data file -> its records after resolution, pickled
    results: dict[str, list[Result]]  # SHACL results by the owner of their focus node
    extra: dict[str, Any] = field(default_factory=dict)  # later stages' own state (dumps, pages)
    generation: int = 0  # how many rebuilds published since the full build (lod.publishing.state: the site's must match)


@functools.cache
def code_digest() -> str:
    """A digest of the installed package: its code, templates, shapes and ontology."""
    h = hashlib.sha256()

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            name = prefix + child.name
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, name + "/")
            elif not child.name.endswith((".pyc", ".pyo")):
                h.update(name.encode() + b"\0" + child.read_bytes() + b"\0")

    walk(resources.files("lod"), "")
    return h.hexdigest()


def fingerprint(base_url: str) -> str:
    """What must be equal for a previous build's state to be reused: the state format,
    Python's version (pickles), the package's code and files, and the base URL."""
    return f"{STATE_FORMAT}:{sys.version_info[:2]}:{code_digest()}:{base_url}"


def _records_of(blob: bytes) -> list[tuple[str, R.Record]]:
    records: list[tuple[str, R.Record]] = pickle.loads(blob)[1]
    return records


def _tables(ds: R.Dataset) -> dict[str, dict[str, Any]]:
    return {kind: ds.table(kind) for kind in TABLES}


@dataclass
class Changes:
    """How the records differ between two builds."""

    changed: set[Key]  # added, removed, or with another value in a field other than where it is written
    previous: dict[Key, R.Record]  # the previous version of each changed record that existed
    moved: dict[Key, Location]  # records that differ only in where they are written (lines shifted)


def changed_records(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> Changes:
    """How the records of two builds' ``resolved_blobs`` differ.

    Equal pickles mean equal records, so most files cost one comparison of bytes; where the
    bytes differ (an edit, or only a different sharing of equal values) records are compared.
    A row of *old* that does not unpickle raises ``NeedsFullLoad``, as the load does.
    """
    changed: set[Key] = set()
    previous: dict[Key, R.Record] = {}
    moved: dict[Key, Location] = {}
    before: dict[Key, R.Record] = {}
    after: dict[Key, R.Record] = {}
    for rel in old.keys() | new.keys():
        a, b = old.get(rel), new.get(rel)
        if a == b:
            continue
        old_records = stored_row(old, rel, "records")[1] if a is not None else []  # damaged: NeedsFullLoad
        before.update(((k, rec.id), rec) for k, rec in old_records)
        after.update(((k, rec.id), rec) for k, rec in (_records_of(b) if b is not None else []))
    # A record that moved to another file shows in both: compared by key, not by file.
    for key in before.keys() | after.keys():
        was, now = before.get(key), after.get(key)
        if was is not None and now is not None and same_but_where(was, now):
            if was.loc != now.loc:
                moved[key] = now.loc
            continue
        changed.add(key)
        if was is not None:
            previous[key] = was
    return Changes(changed, previous, moved)


class Contributors:
    """Which records' triples fall in an owner's description: as seen when they were mapped
    (``lod.publishing.readsets.MapRecord``), without mapping anything."""

    def __init__(self, ds: R.Dataset, minter: Minter, mapped: MapRecord) -> None:
        self.ds = ds
        self.m = minter
        self.tables = _tables(ds)
        self.mapped = mapped

    def key(self, owner: str) -> Key | None:
        """The record key (or ``("topic", slug)``) of one of our owner IRIs."""
        path = self.m.path_of(owner)
        if path is None:
            return None
        kind_path, _, rid = path.partition("/")
        kind = _KIND_OF_PATH.get(kind_path)
        return (kind, rid) if kind else None

    def __call__(self, owner: str) -> list[tuple[str, R.Record]]:
        return [(k, self.tables[k][i]) for k, i in sorted(self.mapped.contributors.get(owner, ()))]

    def owners(self) -> list[str]:
        """Every owner the mapping describes."""
        return list(self.mapped.contributors)


# Records a full build maps at once (``remap`` with runs): about 20 triples each, so a slice's
# triples are a few hundred MB at most, whatever the size of the archive.
SLICE = 20_000
# Owners checked at once when their descriptions are on disk (``check_in_batches``).
CHECKED_AT_ONCE = 4_000
SPILLED_KEPT = 64  # descriptions read back from the spill kept at once (a page reads its own a few times)


class Descriptions(Mapping[str, list[Triple]]):
    """Each owner's description, mapped on first use from its contributing records only.

    Equal, owner by owner and in the same canonical order, to grouping the whole mapping
    (``lod.publishing.build.describe``); iterating yields every owner, in no particular order.

    After the dumps, ``spill`` moves the descriptions made so far to disk: the later stages
    read each one back, unpickled, when they ask for it (the last ``SPILLED_KEPT`` kept).
    """

    def __init__(self, ds: R.Dataset, minter: Minter, terms: Terms, mapped: MapRecord) -> None:
        self.ds = ds
        self.m = minter
        self.terms = terms
        self.contributors = Contributors(ds, minter, mapped)
        self._cache: dict[str, list[Triple]] = {}
        self._unsorted: set[str] = set()
        self._owners: list[str] | None = None
        self._spilled: Mapping[str, bytes] = {}
        # The last read back from the spill, oldest first.
        self._back: OrderedDict[str, list[Triple]] = OrderedDict()

    def spill(self, store: MutableMapping[str, bytes]) -> None:
        """Move every description made so far to *store* (a ``lod.loading.spill.Spill``: on
        disk), pickled, and forget them here.

        The triples then live in the dumps and in *store* only: the main process no longer
        holds them (with their terms, about a quarter of it at the start of the pages stage),
        and a page worker forked after this has none of its parent's to copy by reading them.
        """
        for owner in list(self._cache):
            store[owner] = termpickle.dumps(self[owner])  # sorted, if seeded unsorted
        self._cache.clear()
        self._unsorted.clear()
        self._spilled = store

    def adopt_spill(self, store: Mapping[str, bytes]) -> None:
        """Read the descriptions from *store*, where a forked process's ``spill`` put them: this
        process made none of them (``lod.publishing.describing``)."""
        assert not self._cache, "descriptions made here would be lost"
        self._spilled = store

    def seed(self, made: list[Triple], mapped: set[Key], owners: Iterable[str]) -> None:
        """Take the descriptions of *owners* from *made*, the triples of the records *mapped*,
        where every record contributing to the owner was mapped: no record is mapped twice (a full
        build maps each record once)."""
        contributors = self.contributors.mapped.contributors
        wanted = {o for o in owners if contributors.get(o, set()) <= mapped and o in contributors}
        groups: dict[str, list[Triple]] = {o: [] for o in wanted}
        owner_of = self.m.owner
        last: object = None
        group: list[Triple] | None = None
        for t in made:
            if t[0] is not last:
                last = t[0]
                group = groups.get(owner_of(str(last)))
            if group is not None:
                group.append(t)
        self._cache.update(groups)
        self._unsorted.update(groups)

    def __getitem__(self, owner: str) -> list[Triple]:
        found = self._cache.get(owner)
        if found is None and owner in self._spilled:
            return self._read_back(owner)
        if found is not None and owner in self._unsorted:
            self._unsorted.discard(owner)
            sort_canonical(found, self.terms)
        if found is None:
            recs = self.contributors(owner)
            if not recs:
                raise KeyError(owner)
            found = [t for t in record_triples(self.ds, self.m, recs) if self.m.owner(str(t[0])) == owner]
            sort_canonical(found, self.terms)
            self._cache[owner] = found
        return found

    def _read_back(self, owner: str) -> list[Triple]:
        back = self._back
        found = back.get(owner)
        if found is not None:
            back.move_to_end(owner)
        else:
            # Without the collector: what is unpickled holds no cycle, and the collections its
            # allocations would start walk everything young the page being rendered has made.
            with no_gc():
                found = termpickle.loads(self._spilled[owner])
            if len(back) >= SPILLED_KEPT:
                back.popitem(last=False)
            back[owner] = found
        return found

    def many(self, owners: Iterable[str]) -> list[Triple]:
        """The descriptions of *owners* (those that exist), as one canonical list."""
        out: list[Triple] = []
        cache, unsorted = self._cache, self._unsorted
        for owner in owners:
            # seeded descriptions unsorted: the whole list is sorted once below
            out.extend(cache[owner] if owner in unsorted else self.get(owner, []))
        sort_canonical(out, self.terms)
        return out

    def __contains__(self, owner: object) -> bool:
        # Without reading the description: whether a record contributes to it, as ``__getitem__`` asks.
        return (owner in self._cache or owner in self._spilled
                or bool(self.contributors.mapped.contributors.get(owner)))  # type: ignore[call-overload]

    def __iter__(self) -> Iterator[str]:
        if self._owners is None:
            self._owners = self.contributors.owners()
        return iter(self._owners)

    def __len__(self) -> int:
        if self._owners is None:
            self._owners = self.contributors.owners()
        return len(self._owners)


def mapped_records(ds: R.Dataset, minter: Minter) -> MapRecord:
    """What mapping each record of *ds* was seen to do (what a full build's mapping notes)."""
    mapped = MapRecord()
    record_triples(ds, minter, ds.all_records(), mapped)
    return mapped


def to_remap(changed: set[Key], ds: R.Dataset, mapped: MapRecord) -> list[Key]:
    """The records to map again: the *changed* ones and those whose mapping looked one of them
    up, in the order of ``Dataset.all_records`` (every record, in a full build)."""
    keys = changed | mapped.readers_of(changed)
    return [(kind, rec.id) for kind, rec in ds.all_records() if (kind, rec.id) in keys] + \
        sorted(key for key in keys if key[1] not in ds.table(key[0]))


def remap(keys: list[Key], ds: R.Dataset, minter: Minter, mapped: MapRecord,
          descriptions: Descriptions | None = None, advance: Callable[[int], None] | None = None,
          runs: Callable[[list[Triple]], None] | None = None) -> set[str]:
    """Map again the records *keys* (``to_remap``), noting in *mapped* what they do now, and
    forgetting those removed; the owners whose descriptions can differ: where their triples
    fell before (as *mapped* recorded) and fall now. *descriptions*, if given, takes the
    descriptions the records mapped here make whole (all of them, in a full build). *advance*
    is told of each record mapped. With *runs*, the records are mapped ``SLICE`` at a time and
    each slice's triples handed to it (``lod.publishing.runs``: a full build's sorted runs), so
    that they are never all held at once; *descriptions* then takes nothing."""
    tables = _tables(ds)
    out: set[str] = set()
    again: list[tuple[str, R.Record]] = []
    for key in keys:
        out |= mapped.owners.get(key, frozenset())
        rec = tables[key[0]].get(key[1])
        if rec is None:
            mapped.forget(key)
        else:
            again.append((key[0], rec))

    def note(key: Key, owners: set[str], reads: set[Key]) -> None:
        out.update(owners)
        mapped(key, owners, reads)

    if runs is not None:
        for start in range(0, len(again), SLICE):
            runs(record_triples(ds, minter, again[start:start + SLICE], note, advance))
        return out
    made = record_triples(ds, minter, again, note, advance)
    if descriptions is not None:
        descriptions.seed(made, {(kind, rec.id) for kind, rec in again}, out)
    return out


def types_changed(changed: set[Key], previous: Mapping[Key, R.Record], ds: R.Dataset, minter: Minter) -> bool:
    """Whether a record that exists before and after changed the types of its own nodes
    (a place made virtual, a workshop made a conference): the one change whose effect on
    SHACL results reaches the nodes that point at it (``sh:class`` of their values)."""
    tables = _tables(ds)
    for key in changed:
        kind, rid = key
        old, new = previous.get(key), tables[kind].get(rid)
        if old is None or new is None:
            continue  # added or removed: what pointed at it changed too, or resolution failed
        if _own_types(ds, minter, kind, old) != _own_types(ds, minter, kind, new):
            return True
    return False


def _own_types(ds: R.Dataset, minter: Minter, kind: str, rec: R.Record) -> set[tuple[str, str]]:
    # Types never depend on the rest of the dataset, so the new one serves the old record too.
    # Only the record's own node: its fragments (an address, a recording) are pointed at from
    # its own description alone (tests/test_incremental_core.py), which is checked again anyway.
    own = str(minter.resource(kind, rec.id))
    return {(str(s), str(o)) for s, p, o in record_triples(ds, minter, [(kind, rec)])
            if p == _RDF_TYPE and str(s) == own}


def check_owners(descriptions: Descriptions, owners: set[str], where: Mapping[str, Location],
                 described: list[Triple] | None = None, sort: bool = True) -> Report:
    """The SHACL results whose focus nodes the *owners* own, checked on their descriptions and
    those of the resources they point at (the shapes look one hop out, for a value's class).
    *described*, if given, is ``descriptions.many(owners)``, made already. Without *sort*, the
    checker gets the descriptions one after another, not merged in canonical order: each
    subject's triples are still in that order, which is all the checker's indexes keep of it
    (the objects of a subject and predicate, in order), and the results are sorted after."""
    m = descriptions.m
    near: set[str] = set(owners)
    # Each owner's description read once (from the spill, if that is where they are).
    own = {} if described is not None else {owner: descriptions.get(owner, []) for owner in owners}
    seen = described if described is not None else (t for triples in own.values() for t in triples)
    for _s, _p, o in seen:
        if isinstance(o, URIRef):
            target = m.owner(str(o))
            if target not in near and m.path_of(target) is not None:
                near.add(target)
    if described is not None and len(near) == len(owners):
        data = described
    else:
        data = [t for owner in sorted(near) for t in (own[owner] if owner in own else descriptions.get(owner, []))]
        if sort:
            sort_canonical(data, descriptions.terms)  # as ``descriptions.many`` gives them
    return shacl_check(data, {o: where[o] for o in near if o in where}, only=owners)


def check_in_batches(descriptions: Descriptions, owners: set[str], where: Mapping[str, Location],
                     size: int | None = None) -> Report:
    """``check_owners`` on every one of *owners*, *size* of them at a time (in IRI order;
    ``CHECKED_AT_ONCE``), so that the checker's indexes hold a slice of the descriptions and
    their neighbours, not all. The slices are checked on every core (``fork_map``): the
    descriptions are read from the spill, which forked workers share, and only the results
    cross a pipe."""
    from lod.publishing.pages.parallel import fork_map, worker_count

    order = sorted(owners)
    step = size or CHECKED_AT_ONCE
    parts = [order[start:start + step] for start in range(0, len(order), step)]

    def check(part: list[str]) -> list[Result]:
        found = check_owners(descriptions, set(part), where, sort=False).results
        descriptions.terms.clear()  # the next slice shares few terms but the predicates'
        return found

    # Each slice is thousands of owners: worth a worker from two slices on. This process does
    # none: its heap would keep what they made, and copy it into every page worker forked later.
    workers = worker_count(len(parts), 2)
    return Report([r for found in fork_map(check, parts, workers, parent_works=False) for r in found])


def origins_of(ds: R.Dataset, minter: Minter, owners: Iterable[str], contributors: Contributors
               ) -> dict[str, Location]:
    """Where the records of these owners were written (``lod.mapping.triples.origins``, for a few)."""
    out: dict[str, Location] = {}
    for owner in owners:
        key = contributors.key(owner)
        if key is not None and key[0] != "topic":
            rec = contributors.tables[key[0]].get(key[1])
            if rec is not None:
                out[owner] = rec.loc
    return out


def results_by_owner(report: Report) -> dict[str, list[Result]]:
    """A report's results grouped by the owner of their focus node."""
    out: dict[str, list[Result]] = {}
    for r in report.results:
        out.setdefault(r.focus.split("#", 1)[0], []).append(r)
    return out


def merged_report(old: Mapping[str, list[Result]], redone: set[str], fresh: Report,
                  moved: Mapping[str, Location] | None = None) -> Report:
    """The previous results, with those of the *redone* owners replaced by *fresh* ones and
    those of the *moved* owners (resource IRI → where its record is now written) relocated,
    in a full check's order (sorted)."""
    moved = moved or {}
    results = [r if owner not in moved else dataclasses.replace(r, location=moved[owner])
               for owner, rs in old.items() if owner not in redone for r in rs]
    results += fresh.results
    results.sort()
    return Report(results)

