"""The load stage of every build: the data files read again since the previous build, and their records resolved.

One implementation for a full build and a rebuild (``load_delta``). What the previous build
read is a ``Previous``: each data file's stamp (inode, size, modification time), its parse
and its records after resolution (pickled), what resolving them looked up of other records,
and the site block. A full build has ``Previous()``, nothing: every file is parsed (on every
core, ``lod.loading.pool``) and every record resolved, which is ``load_files``. A rebuild:

- parses only the files whose stamps changed;
- resolves again their records and those of the files whose resolution looked up a record
  that was added, removed or changed (recorded while resolving, ``lod.loading.resolve``);
- takes the other files' records resolved from the previous build.

What only a full load can do raises ``NeedsFullLoad``: a file with the site block changed
(every record inherits from it), or bad data (reported by a full load, in its order).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from lod.errors import Location, RecordError, RecordErrors
from lod.loading.files import Insert, Merger, SiteBlock, data_files, read_file
from lod.loading.pool import SiteNeedsMerge, no_gc, parse_files
from lod.loading.resolve import resolve
from lod.model import records as R
from lod.model.kinds import COUNTED, TABLES
from lod.progress import Observer, Stage

Key = tuple[str, str]  # (record kind, id)


class NeedsFullLoad(Exception):
    """Only a full load can load this data: args are the reason (lod.progress.REASONS) and its detail."""


@dataclass
class Previous:
    """What the previous build read (``Previous()``: nothing, a full load)."""

    stamps: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)  # data file -> (inode, size, mtime_ns)
    parsed: Mapping[str, bytes] = field(default_factory=dict)  # data file -> its parse, pickled
    resolved: Mapping[str, bytes] = field(default_factory=dict)  # data file -> its records after resolution, pickled
    deps: Mapping[str, frozenset[Key]] = field(default_factory=dict)  # data file -> what resolving it looked up
    site: R.Site | None = None  # the site block (None: nothing was read before)


@dataclass
class Loaded:
    """The load stage's answer: the resolved Dataset, and what the next build's ``Previous`` is made of."""

    dataset: R.Dataset
    keys: dict[str, list[Key]]  # data file -> the records it holds, in order
    reads: dict[Key, frozenset[Key]]  # record resolved here -> what resolving it looked up
    again: set[str]  # the data files whose records were resolved here
    parsed: Mapping[str, bytes]  # the files parsed here -> their parse, pickled (in *keep*, on disk in a build)
    resolved: Mapping[str, bytes]  # every data file -> its records after resolution, pickled (``ResolvedBlobs``)
    deps: dict[str, frozenset[Key]]  # every data file -> what resolving it looked up
    reparsed: int = 0
    resolved_again: int = 0


class _Parses:
    """Collects the parses of the files read again, for ``parse_files`` (which feeds a Merger's
    ``add`` and reads its ``site_loc``): a rebuild refuses site settings (``SiteNeedsMerge``)."""

    def __init__(self, site_loc: Location | None | SiteNeedsMerge, advance: Callable[[int], None] | None) -> None:
        self.site_loc = site_loc
        self.got: dict[str, tuple[str, bool, list[Any]]] = {}
        self.blobs: dict[str, bytes] = {}  # the parses a worker pickled
        self.advance = advance

    def add(self, rel: str, is_record_file: bool, ops: list[Any], blob: bytes | None = None) -> None:
        self.got[rel] = (rel, is_record_file, ops)
        if blob is not None:
            self.blobs[rel] = blob
        if self.advance is not None:
            self.advance(1)
        if not isinstance(self.site_loc, SiteNeedsMerge):
            for op in ops:
                if type(op) is SiteBlock:
                    self.site_loc = op.loc


def load_delta(data_dir: str | os.PathLike[str], previous: Previous, stamps: Mapping[str, tuple[int, int, int]],
               advance: Callable[[int], None] | None = None, keep: MutableMapping[str, bytes] | None = None) -> Loaded:
    """Load *data_dir*, reading again only what changed since *previous* (everything from
    ``Previous()``). *stamps* are the data files' stamps now, of every file ``data_files`` lists
    (``lod.publishing.prepared.stamps``; the folder is walked when there are none); *advance* is
    told of each file parsed; *keep* receives the parse of each file parsed, pickled, as it is
    made (a build's is a ``lod.loading.spill.Spill``, on disk: only the state written at the
    end reads them; a dict when None).

    Raises RecordErrors on bad data when loading everything, NeedsFullLoad when a partial load
    cannot be right (a site block changed) or cannot report bad data as a full load would."""
    root = Path(data_dir)
    if not root.is_dir():
        raise RecordErrors([RecordError(Location(str(root)), "", "the data folder does not exist.",
                                        "pass --data with the folder that holds your YAML records.")])
    full = previous.site is None
    # The stamps were taken of every data file just now: the folder is not walked again for them.
    paths = [Path(rel) for rel in stamps] if stamps else data_files(root)
    rels = [str(path) for path in paths]
    unchanged = {rel for rel in rels
                 if rel in previous.stamps and previous.stamps[rel] == stamps.get(rel) and rel in previous.resolved}
    gone = [rel for rel in previous.resolved if rel not in stamps]
    parses = _Parses(None if full else SiteNeedsMerge(), advance)
    todo = [(rel, path) for rel, path in zip(rels, paths) if rel not in unchanged]
    try:
        parse_files(root, [path for _rel, path in todo], parses, read_file)
    except SiteNeedsMerge:  # files are entered in order: it is the first one not entered
        raise NeedsFullLoad("site-settings", next(rel for rel, _path in todo if rel not in parses.got)) from None
    parsed = parses.got
    # Kept as parsed, before resolution fills in what records inherit (the next rebuild starts from these).
    blobs: MutableMapping[str, bytes] = {} if keep is None else keep
    for rel, got in parsed.items():
        # Pickled here only if no worker did: a pickle caches a UTF-8 copy on each non-ASCII string.
        blob = parses.blobs.pop(rel, None)
        blobs[rel] = blob if blob is not None else pickle.dumps(got, pickle.HIGHEST_PROTOCOL)
    old_raw: dict[Key, R.Record] = {}
    for rel in [*parsed, *gone]:
        if rel in previous.parsed:
            ops = stored_row(previous.parsed, rel, "parse")[2]
            if any(type(op) is SiteBlock for op in ops):
                raise NeedsFullLoad("site-settings", rel)
            old_raw.update(((op.kind, op.rec.id), op.rec) for op in ops if type(op) is Insert)
    new_raw = {(op.kind, op.rec.id): op.rec for _rel, _r, ops in parsed.values() for op in ops if type(op) is Insert}
    touched = {key for key in old_raw.keys() | new_raw.keys()
               if key not in old_raw or key not in new_raw or not same_but_where(old_raw[key], new_raw[key])}
    again = set(parsed) | {rel for rel in unchanged if not previous.deps.get(rel, frozenset()).isdisjoint(touched)}
    merger = Merger()
    for rel in rels:
        if rel in parsed:
            merger.add(*parsed[rel])
        elif rel in again:
            merger.add(*stored_row(previous.parsed, rel, "parse"))
        else:
            is_record_file, recs = stored_row(previous.resolved, rel, "records")
            merger.add(rel, is_record_file, [Insert(kind, rec, "") for kind, rec in recs])
    ds = merger.dataset
    if previous.site is not None:  # no file with site settings changed
        ds.site = previous.site
    only = None if full else {key for rel in again for key in merger.keys[rel]}
    try:
        if merger.errors:
            raise RecordErrors(merger.errors)
        reads = resolve(ds, only)
    except RecordErrors:
        if full:
            raise
        raise NeedsFullLoad("load-errors") from None  # a full load reports every problem, in its order
    deps = {rel: previous.deps[rel] for rel in rels if rel not in again}
    deps.update(file_deps({rel: merger.keys[rel] for rel in again}, reads))
    return Loaded(ds, merger.keys, reads, again, blobs, ResolvedBlobs(rels, again, merger.keys, ds, previous.resolved),
                  deps, len(parsed), sum(len(merger.keys[rel]) for rel in again))


def stored_row(table: Mapping[str, bytes], rel: str, what: str) -> Any:
    """The previous build's row of *rel* in *table* (its *what*: "parse", "records"), unpickled.
    The state is trusted like the code, but a damaged row is a full load that says which
    (``NeedsFullLoad``), not a crash."""
    try:
        return pickle.loads(table[rel])
    except Exception as exc:
        raise NeedsFullLoad("state-damaged", f"the {what} of {rel}: {exc}") from None


class ResolvedBlobs(Mapping[str, bytes]):
    """Every data file's records after resolution, pickled (``resolved_blobs``): those resolved
    again pickled when asked for, the others the previous build's. Lazy, because a full build
    needs them only when it writes its state, after the pages: holding them all from the load
    on cost about a gigabyte at 100k talks while the page workers ran."""

    def __init__(self, rels: list[str], again: set[str], keys: Mapping[str, list[Key]], ds: R.Dataset,
                 previous: Mapping[str, bytes]) -> None:
        self._rels, self._again, self._keys, self._ds, self._previous = rels, again, keys, ds, previous
        self._set = set(rels)

    def delta(self, previous: Mapping[str, bytes]) -> tuple[list[tuple[str, bytes]], list[str]] | None:
        """The files whose blob differs from *previous*'s, with it, and those gone; None unless
        *previous* is what the others' blobs are taken from (then only those resolved again can differ)."""
        if previous is not self._previous:
            return None
        changed = [(rel, blob) for rel in self._rels if rel in self._again
                   for blob in [self[rel]] if rel not in previous or previous[rel] != blob]
        return changed, [rel for rel in previous if rel not in self._set]

    def __getitem__(self, rel: str) -> bytes:
        if rel not in self._set:
            raise KeyError(rel)
        if rel in self._again:
            return resolved_blobs({rel: self._keys[rel]}, self._ds)[rel]
        return self._previous[rel]

    def __contains__(self, rel: object) -> bool:
        return rel in self._set

    def __iter__(self) -> Iterator[str]:
        return iter(self._rels)

    def __len__(self) -> int:
        return len(self._rels)


def file_deps(keys: Mapping[str, list[Key]], reads: Mapping[Key, frozenset[Key]]) -> dict[str, frozenset[Key]]:
    """What resolving each file's records (*keys*, as ``Merger.keys``) looked up of other
    records, from the *reads* ``resolve`` recorded."""
    empty: frozenset[Key] = frozenset()
    return {rel: empty.union(*(reads.get(key, empty) for key in ks)) for rel, ks in keys.items()}


def resolved_blobs(keys: Mapping[str, list[Key]], ds: R.Dataset) -> dict[str, bytes]:
    """Each data file's records after resolution, pickled: whether it is a record file, and its
    ``(kind, record)`` in file order."""
    tables = {kind: ds.table(kind) for kind in TABLES}
    record_files = set(ds.files)
    return {rel: pickle.dumps((rel in record_files, [(k, tables[k][rid]) for k, rid in ks]), pickle.HIGHEST_PROTOCOL)
            for rel, ks in keys.items()}


def same_but_where(a: Any, b: Any, top: bool = True) -> bool:
    """Whether two records say the same, apart from where they and their parts are written
    (nothing published shows that: only SHACL results and error messages say where a record
    is) and, for a series, event or session, the talks and sessions written inside it (they
    are records of their own, compared on their own; nothing reads them through it)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Location):
        return True
    if dataclasses.is_dataclass(a):
        skip = _NESTED if top and isinstance(a, (R.Session, R.Gathering)) else ("locs",)
        return all(same_but_where(getattr(a, f.name), getattr(b, f.name), False)
                   for f in dataclass_fields(a) if f.name not in skip)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_but_where(x, y, False) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_but_where(a[k], b[k], False) for k in a)
    return bool(a == b)


_NESTED = ("locs", "talks", "sessions")




def load(data_dir: str | os.PathLike[str]) -> R.Dataset:
    """Read and check every record under *data_dir*; raise RecordErrors listing every problem."""
    return load_files(data_dir).dataset


def load_files(data_dir: str | os.PathLike[str], keep: dict[str, bytes] | None = None,
               progress: Observer | None = None) -> Loaded:
    """``load``: the load stage from nothing (``load_delta`` with ``Previous()``), as a full build loads.

    *keep* receives every file's parse. The "load" stage is reported to *progress*: files
    parsed, then how many records of each main kind were read.
    """
    root = Path(data_dir)
    stage = Stage(progress, "load", len(data_files(root)) if root.is_dir() else 0, "files")
    with no_gc():
        loaded = load_delta(root, Previous(), {}, stage.advance)
    if keep is not None:
        keep.update(loaded.parsed)
    ds = loaded.dataset
    stage.finish(files=len(ds.files), **{table: len(getattr(ds, table)) for table in COUNTED})
    return loaded
