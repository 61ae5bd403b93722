"""The first stages of every build: load, map and validate what changed since the state.

One implementation for a full build and a rebuild: a full build is this code started
from an empty state (``empty_state``), where every data file is new, so every file is
parsed (on every core, ``lod.loading.pool``), every record resolved, mapped and checked.
A rebuild starts from the state the last build left, so only what changed is:

- load: the data files whose stamps changed are parsed again; their records, and those
  of the files whose resolution looked up a record that changed (recorded by
  ``lod.loading.resolve.resolve``), are resolved again; the other files' records come
  resolved from the state;
- map: the changed records and those whose mapping looked one up are mapped again
  (``lod.publishing.changes.remap``); the owners (resources) whose descriptions they
  fall in, before and after, are described again from the records that make them;
- validate: the shapes are checked on those owners, with the neighbours they point at
  (the shapes look one hop out); everything when a record's own types changed.

What only a full build can do (site settings changed, bad data to report in a full
load's order) raises ``FullBuild``; the orchestrator runs this again from an empty state.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from lod.errors import Location, ValidationFailed
from lod.loading.stage import NeedsFullLoad, Previous, load_delta
from lod.mapping.triples import to_triples
from lod.model import records as R
from lod.model.iri import DEFAULT_BASE_URL, Minter
from lod.model.serialize import Terms, Triple, sort_canonical
from lod.publishing import changes as inc
from lod.publishing.dumps import DumpIndex
from lod.publishing.prepared import site_prefixes
from lod.publishing.readsets import MapRecord
from lod.publishing.state import Overlay
from lod.validation.report import Report, Result


class FullBuild(Exception):
    """The rebuild cannot be incremental: args are the reason (lod.progress.REASONS) and its detail."""


def empty_state(fingerprint: str = "") -> inc.State:
    """The state before any build: no file read, nothing made. A build from it is a full build."""
    return inc.State(fingerprint, "", None, {}, {}, {}, {},
                     extra={"dumps": DumpIndex(), "links": {}, "google": {}, "deps": {}, "mapped": MapRecord(),
                            "pages": None, "search": None, "gallery": None, "files": 0, "sitemaps": []})


def is_empty(state: inc.State) -> bool:
    """Whether *state* is ``empty_state``'s (a full build)."""
    return state.site is None


class Front:
    """Load, map and validate *data_dir* against *state* (``empty_state()`` for a full build)."""

    def __init__(self, state: inc.State, data_dir: str | os.PathLike[str], base_url: str | None,
                 stamps: dict[str, tuple[int, int, int]], timings: dict[str, float],
                 advance: Any = None, keep: MutableMapping[str, bytes] | None = None) -> None:
        self.fresh = is_empty(state)
        t0 = time.perf_counter()
        try:
            self.ds, x_files = self._load(state, data_dir, stamps, advance, keep)
            changes = None if self.fresh else self._changes(state, x_files)
        except NeedsFullLoad as exc:  # only a full load can load this data, or a row of the state is damaged
            raise FullBuild(*exc.args) from None
        ds = self.ds
        self.minter = Minter(base_url or ds.site.base_url or DEFAULT_BASE_URL)
        if changes is None:  # nothing before: every record is new (and nothing need be pickled to say so)
            self.changed, self.previous = {(kind, rec.id) for kind, rec in ds.all_records()}, {}
            self.moved: dict[inc.Key, Location] = {}
        else:
            self.changed, self.previous = changes.changed, changes.previous
            self.moved = changes.moved  # the records that only moved, to where (pages: in file order, the SiteIndex's too)
        self.mapped: MapRecord = state.extra["mapped"]  # noted again here, for the next build's state
        self.terms = Terms(site_prefixes(self.minter))
        self.descriptions = inc.Descriptions(ds, self.minter, self.terms, self.mapped)
        self.to_map = inc.to_remap(self.changed, ds, self.mapped)
        self.owners: set[str] = set()
        self.triples: list[Triple] = []
        timings["load"] = time.perf_counter() - t0

    def map(self, timings: dict[str, float], advance: Any = None,
            runs: Callable[[list[Triple]], None] | None = None) -> None:
        """Map the records ``to_map``; ``owners`` are then the resources whose descriptions can
        differ and ``triples`` their new descriptions, in canonical order. With *runs*, a slice
        of the records is mapped at a time and each slice's triples handed to it
        (``lod.publishing.runs``) instead of kept: ``triples`` stays empty, and the descriptions
        are made from the runs (``lod.publishing.describing``)."""
        t0 = time.perf_counter()
        self.owners = inc.remap(self.to_map, self.ds, self.minter, self.mapped, None if runs else self.descriptions,
                                advance, runs)
        if runs is None:
            self.triples = self.descriptions.many(self.owners)
        timings["map"] = time.perf_counter() - t0

    def _load(self, state: inc.State, data_dir: str | os.PathLike[str],
              stamps: dict[str, tuple[int, int, int]], advance: Any,
              keep: MutableMapping[str, bytes] | None) -> tuple[R.Dataset, set[str]]:
        previous = Previous(state.stamps, state.parsed, state.resolved, state.extra["deps"], state.site)
        loaded = load_delta(data_dir, previous, stamps, advance, keep)
        self.reparsed, self.resolved_again = loaded.reparsed, loaded.resolved_again
        self.resolved = loaded.resolved
        # The parses of the files read again (in *keep*: on disk in a build, ``lod.loading.spill``)
        # over the previous ones: the state writes only those.
        self.kept = Overlay(state.parsed, loaded.parsed, list(loaded.keys))
        self.deps = loaded.deps
        return loaded.dataset, loaded.again

    def _changes(self, state: inc.State, x_files: set[str]) -> inc.Changes:
        """The records changed since *state*'s build, from the files resolved again (*x_files*) and
        those gone. The state's rows are read by key, one at a time (``state.Rows``): only these."""
        before = {rel: state.resolved[rel] for rel in state.resolved if rel in x_files or rel not in self.resolved}
        return inc.changed_records(before, {rel: self.resolved[rel] for rel in x_files})

    def validate(self, state: inc.State, timings: dict[str, float],
                 in_batches: bool = False) -> tuple[Report, dict[str, list[Result]]]:
        """The SHACL report of the whole data, checking again only what can have changed.
        *in_batches*: the descriptions are on disk, not in ``triples`` (``map`` with runs), and
        are read back and checked a slice of the owners at a time."""
        t0 = time.perf_counter()
        ds, m = self.ds, self.minter
        owners, described = self.owners, self.triples
        if inc.types_changed(self.changed, self.previous, ds, m):
            # Every node pointing at the record could change result: every owner is checked.
            owners = set(self.descriptions)
            if not in_batches:
                described = to_triples(ds, m)
                sort_canonical(described, self.terms)
        where = inc.origins_of(ds, m, owners, self.descriptions.contributors)
        fresh = (inc.check_in_batches(self.descriptions, owners, where) if in_batches
                 else inc.check_owners(self.descriptions, owners, where, described))
        moved = {str(m.resource(kind, rid)): loc for (kind, rid), loc in self.moved.items()}
        report = inc.merged_report(state.results, owners, fresh, moved)
        self.rechecked = len(owners)
        timings["validate"] = time.perf_counter() - t0
        results = inc.results_by_owner(report)
        if report.violations:
            raise ValidationFailed(report)
        return report, results
