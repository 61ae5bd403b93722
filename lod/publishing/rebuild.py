"""The incremental build: the pipeline again, for what changed since the last build.

Part of the publish stage. A build leaves its state beside the site (``.OUT.lod-state``, an
SQLite database, see ``lod.publishing.state``). The next build, if the code, the base URL, the site settings
and the site itself are the ones that state describes, parses only the data files that
changed, re-maps and re-checks only the resources they touch (``lod.publishing.incremental``), splices
those resources into the dumps, renders only the pages and calendars that can differ, and
publishes the changed files in place through a journal (``lod.publishing.journal``): a build that fails
before its commit leaves the site untouched, and one killed while applying it is completed
by the next; it then writes the state's changed rows, after the journal's commit (a kill
between the two is caught by the generation, ``lod.publishing.state``). Whatever it cannot do
incrementally (no usable state, another site, other code or base URL, changed site
settings) it hands back to the full build, saying why; a record
whose own types changed makes it check the shapes on the whole data.
The output equals a full build's, byte for byte (tests/test_incremental.py).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import time
from pathlib import Path
from typing import Any

from lod.publishing import incremental as inc
from lod.model import records as R
from lod.errors import BuildError, RecordErrors, ValidationFailed
from lod.model.iri import DEFAULT_BASE_URL, Minter
from lod.model.formats import RDF_FORMATS
from lod.loading.files import Insert, Merger, SiteBlock, SiteNeedsMerge, data_files, load_files, no_gc, read_file
from lod.loading.resolve import resolve
from lod.mapping.triples import origins, to_triples
from lod.publishing.pages.google import Gap, GoogleReport
from lod.progress import Checked, FullBuildNeeded, Stage, StateNotSaved, ignore, ran
from lod.publishing.readsets import MapRecord, file_deps
from lod.publishing.prepared import (MARKER, BuildResult, Prepared, Progress, counts_of, first_changed, site_prefixes, stamps,
                       void_ttl, write_error)
from lod.model.serialize import Terms, sort_canonical
from lod.validation.shacl import check as shacl_check
from lod.publishing.state import Overlay, Store, Unusable, delta_path, generation_path, site_generation, write_new
from lod.validation.report import Report, Result

STATE_SUFFIX = ".lod-state"
# A file written this shortly before the build stamped it might be written again within the
# same tick of the kernel's file clock (a few ms), keeping its size and time: it is parsed
# again next time (git's "racy" files).
RACY_NS = 100_000_000


def settled(stamps: dict[str, tuple[int, int, int]], taken_ns: int) -> dict[str, tuple[int, int, int]]:
    """The stamps (taken at *taken_ns*) that a later build may trust: not of a file modified just before."""
    return {rel: st for rel, st in stamps.items() if st[2] < taken_ns - RACY_NS}


def state_path(out: Path) -> Path:
    """Where the state of the site *out* is kept: beside it, never published."""
    return out.with_name(f".{out.name}{STATE_SUFFIX}")


def read_state(out: Path) -> inc.State | None:
    """The state the last build left for *out*, or None if there is none or it is unusable."""
    try:
        store = Store.open(state_path(out))
        return store.load() if store is not None else None
    except Unusable:
        return None


def write_state(out: Path, state: inc.State) -> None:
    """Write the state beside *out* as a new database, atomically (after a full build's swap)."""
    write_new(state_path(out), state)


class FullBuild(Exception):
    """The rebuild cannot be incremental: args are the reason (lod.progress.REASONS) and its detail."""


class Front:
    """The first stages of a rebuild: what changed, and the data of the owners it touches.

    Loading: only the data files whose stamps changed are parsed again, and only the records
    of the files that changed or whose resolution looked up a record that changed (recorded
    by ``lod.loading.resolve.resolve``) are resolved again; the other files' records come resolved
    from the state. Mapping: the changed records and those whose mapping looked one up are
    mapped again (``lod.publishing.incremental.remap``). Bad data is reported by a full load, word for word.
    """

    def __init__(self, state: inc.State, data_dir: str | os.PathLike[str], base_url: str | None,
                 stamps: dict[str, tuple[int, int, int]], timings: dict[str, float]) -> None:
        t0 = time.perf_counter()
        self.ds, x_files = self._load(state, data_dir, stamps)
        ds = self.ds
        self.minter = Minter(base_url or ds.site.base_url or DEFAULT_BASE_URL)
        timings["load"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        before = {rel: blob for rel, blob in state.resolved.items() if rel in x_files or rel not in self.resolved}
        after = {rel: self.resolved[rel] for rel in x_files}
        changes = inc.changed_records(before, after)
        self.changed, self.previous = changes.changed, changes.previous
        self.moved = {str(self.minter.resource(kind, rid)): loc for (kind, rid), loc in changes.moved.items()}
        self.mapped: MapRecord = state.extra["mapped"]  # noted again here, for the next build's state
        self.owners = inc.remap(self.changed, ds, self.minter, self.mapped)
        self.terms = Terms(site_prefixes(self.minter))
        self.descriptions = inc.Descriptions(ds, self.minter, self.terms, self.mapped)
        self.triples = self.descriptions.many(self.owners)  # the touched owners' new descriptions
        timings["map"] = time.perf_counter() - t0

    def _load(self, state: inc.State, data_dir: str | os.PathLike[str],
              stamps: dict[str, tuple[int, int, int]]) -> tuple[R.Dataset, set[str]]:
        root = Path(data_dir)
        if not root.is_dir():
            load_files(root)  # raises the full load's error
        paths = data_files(root)
        rels = [str(path) for path in paths]
        unchanged = {rel for rel in rels
                     if rel in state.stamps and state.stamps[rel] == stamps.get(rel) and rel in state.resolved}
        gone = [rel for rel in state.resolved if rel not in stamps]
        parsed: dict[str, tuple[str, bool, list[Any]]] = {}
        for rel, path in zip(rels, paths):
            if rel not in unchanged:
                try:
                    parsed[rel] = read_file(root, path, SiteNeedsMerge())
                except SiteNeedsMerge:
                    raise FullBuild("site-settings", rel) from None
        self.reparsed = len(parsed)
        # Kept as parsed, before resolution fills in what records inherit (as the full build keeps them).
        blobs = {rel: pickle.dumps(got, pickle.HIGHEST_PROTOCOL) for rel, got in parsed.items()}
        old_raw: dict[inc.Key, R.Record] = {}
        for rel in [*parsed, *gone]:
            if rel in state.parsed:
                ops = pickle.loads(state.parsed[rel])[2]
                if any(type(op) is SiteBlock for op in ops):
                    raise FullBuild("site-settings", rel)
                old_raw.update(((op.kind, op.rec.id), op.rec) for op in ops if type(op) is Insert)
        new_raw = {(op.kind, op.rec.id): op.rec for _rel, _r, ops in parsed.values() for op in ops
                   if type(op) is Insert}
        touched = {key for key in old_raw.keys() | new_raw.keys()
                   if key not in old_raw or key not in new_raw or not inc.same_but_where(old_raw[key], new_raw[key])}
        deps: dict[str, frozenset[inc.Key]] = state.extra["deps"]
        x_files = set(parsed) | {rel for rel in unchanged if not deps.get(rel, frozenset()).isdisjoint(touched)}
        merger = Merger()
        for rel in rels:
            if rel in parsed:
                merger.add(*parsed[rel])
            elif rel in x_files:
                again, is_record_file, ops = pickle.loads(state.parsed[rel])
                merger.add(again, is_record_file, ops)
            else:
                is_record_file, recs = pickle.loads(state.resolved[rel])
                merger.add(rel, is_record_file, [Insert(kind, rec, "") for kind, rec in recs])
        ds = merger.dataset
        ds.site = state.site  # no file with site settings changed
        only = {key for rel in x_files for key in merger.keys[rel]}
        try:
            if merger.errors:
                raise RecordErrors(merger.errors)
            reads = resolve(ds, only)
        except RecordErrors:
            load_files(root)  # reports every problem, in the order a full load does
            raise FullBuild("load-errors") from None
        fresh = inc.resolved_blobs({rel: merger.keys[rel] for rel in x_files}, ds)
        self.resolved = {rel: fresh[rel] if rel in x_files else state.resolved[rel] for rel in rels}
        # The parses of the files read again over the previous ones: the state writes only those.
        self.kept = Overlay(state.parsed, blobs, rels)
        self.deps = {rel: deps[rel] for rel in rels if rel not in x_files}
        self.deps.update(file_deps({rel: merger.keys[rel] for rel in x_files}, reads))
        self.resolved_again = len(only)
        return ds, x_files

    def validate(self, state: inc.State, timings: dict[str, float]) -> tuple[Report, dict[str, list[Result]]]:
        """The SHACL report of the whole data, checking again only what can have changed."""
        t0 = time.perf_counter()
        ds, m = self.ds, self.minter
        if inc.types_changed(self.changed, self.previous, ds, m):
            triples = to_triples(ds, m)  # every node pointing at it could change result
            sort_canonical(triples, self.terms)
            report = shacl_check(triples, origins(ds, m))
            self.rechecked = len(ds.all_records())
        else:
            where = inc.origins_of(ds, m, self.owners, self.descriptions.contributors)
            fresh = inc.check_owners(self.descriptions, self.owners, where)
            report = inc.merged_report(state.results, self.owners, fresh, self.moved)
            self.rechecked = len(self.owners)
        timings["validate"] = time.perf_counter() - t0
        results = inc.results_by_owner(report)
        if report.violations:
            raise ValidationFailed(report)
        return report, results


def marker_id(out: Path) -> str | None:
    """The identity of the fully built site *out*: its marker file's inode and modification time
    (a full build writes a new marker; an incremental build never rewrites it)."""
    try:
        st = (out / MARKER).stat()
    except OSError:
        return None
    return f"{st.st_ino}:{st.st_mtime_ns}"


def rebuild(data_dir: str | os.PathLike[str], out: Path, base_url: str | None,
            progress: Progress | None = None) -> BuildResult | None:
    """Bring the site *out* up to date with *data_dir* incrementally; None when only a full
    build can (the reason is told through *progress*). Raises what a full build raises on bad
    data, with the same messages, and then leaves *out* and its state untouched."""
    # The state and the records unpickle into millions of objects that all live on: the
    # cyclic collector would walk them again and again (it doubled the load at 100k talks).
    with no_gc():
        return _rebuild(data_dir, out, base_url, progress)


def _rebuild(data_dir: str | os.PathLike[str], out: Path, base_url: str | None,
             progress: Progress | None) -> BuildResult | None:
    # lod.publishing.build.build has rolled forward an interrupted journal before calling this.
    say = progress or ignore
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    try:
        store = Store.open(state_path(out))
    except Unusable as exc:
        say(FullBuildNeeded(*exc.args))
        return None
    if store is None:
        say(FullBuildNeeded("no-state"))
        return None
    try:
        return _rebuild_with(store, data_dir, out, base_url, progress, say, timings, t_start)
    finally:
        store.close()


def _rebuild_with(store: Store, data_dir: str | os.PathLike[str], out: Path, base_url: str | None,
                  progress: Progress | None, say: Progress, timings: dict[str, float],
                  t_start: float) -> BuildResult | None:
    try:
        store.settle()  # the changes a rebuild stopped after publishing did not store yet
    except Unusable as exc:
        say(FullBuildNeeded(*exc.args))
        return None
    meta = store.meta
    if meta["site_id"] != marker_id(out):
        say(FullBuildNeeded("other-site"))
        return None
    # Published after the site's files by the last rebuild's journal, stored in the state after it.
    if meta["generation"] != site_generation(state_path(out)):
        say(FullBuildNeeded("state-behind"))
        return None
    try:
        # Before reading the rows, which other code may not even unpickle.
        if meta["fingerprint"] != inc.fingerprint(base_url or store.site().base_url or DEFAULT_BASE_URL):
            say(FullBuildNeeded("other-code"))
            return None
        t0 = time.perf_counter()
        state = store.load()
        timings["state_read"] = time.perf_counter() - t0
    except Unusable as exc:
        say(FullBuildNeeded(*exc.args))
        return None
    taken = time.time_ns()
    before = stamps(data_dir)
    stage = Stage(progress, "load", len(before), "files")
    try:
        front = Front(state, data_dir, base_url, before, timings)
    except (FullBuild, Unusable) as exc:  # Unusable: a data file's parse could not be read from the state
        stage.finish(files=len(before))  # it ended there: the full build loads again
        say(FullBuildNeeded(*exc.args))
        return None
    ds, m = front.ds, front.minter
    stage.finish(timings["load"], files=len(before), reparsed=front.reparsed, resolved=front.resolved_again,
                 changed=len(front.changed))
    ran(progress, "map", len(front.owners), "resources", timings["map"], resources=len(front.owners),
        triples=len(front.triples))
    report, results = front.validate(state, timings)
    ran(progress, "validate", front.rechecked, "resources", timings["validate"], resources=front.rechecked,
        violations=len(report.violations), warnings=len(report.warnings))
    p = Prepared(ds, m, None, report)  # no whole triple list: what needs one must not run here
    p.__dict__["terms"] = front.terms  # the cached properties, filled for the pages stage
    p.__dict__["descriptions"] = front.descriptions
    try:
        return _publish(p, front, store, state, out, data_dir, before, taken, results, timings, t_start, say)
    except OSError as exc:  # before the commit point: the journal published nothing
        raise write_error(exc, out) from None


def _publish(p: Prepared, front: Front, store: Store, state: inc.State, out: Path, data_dir: str | os.PathLike[str],
             before: dict[str, tuple[int, int, int]], taken: int, results: dict[str, list[Result]],
             timings: dict[str, float], t_start: float, say: Progress) -> BuildResult:
    """Write what changed through one journal transaction on *out*, the new state with it."""
    from lod.publishing import journal as journal
    from lod.publishing.documents import DOCUMENTS_INDEX, index_bytes
    from lod.publishing.dumps import splice_dumps
    from lod.publishing.gallery import Gallery, write_gallery
    from lod.publishing.gallery_reads import delta_lines
    from lod.publishing.pages.dirty import affected
    from lod.publishing.pages.stage import render_some

    m, ds = p.minter, p.dataset
    files = int(state.extra["files"])
    counts = {"written": 0, "deleted": 0}
    with journal.begin(out) as txn:
        def put(rel: str, data: bytes) -> None:
            """Stage *rel* unless the site already holds exactly these bytes."""
            nonlocal files
            try:
                with open(out / rel, "rb") as f:
                    if f.read(len(data) + 1) == data:
                        return
            except FileNotFoundError:
                files += 1
            except OSError:
                pass
            txn.write(rel, data)
            counts["written"] += 1

        def drop(rel: str) -> None:
            nonlocal files
            if (out / rel).is_file():
                txn.delete(rel)
                files -= 1
                counts["deleted"] += 1

        scratch = txn.staging / "scratch"
        scratch.mkdir()
        index = previous = state.extra["dumps"]
        # ds.site is the previous build's: a change of the setting is a full build (site-settings)
        served = ds.site.documents == "served"
        if front.owners:
            index = splice_dumps(out, scratch, index, front.owners, front.triples, front.terms,
                                 m.context, m.path_of, write=None if served else put, timings=timings)
            if served:  # the subjects' offsets moved; their ordinals only if subjects came or went
                old = out / DOCUMENTS_INDEX
                put(DOCUMENTS_INDEX, index_bytes(index, m.path_of, scratch,
                                                 (previous, old.read_bytes() if old.is_file() else b"")))
        else:
            timings["dumps"] = 0.0
        for owner in front.owners:
            path = m.path_of(owner)
            if path and owner not in front.descriptions:  # removed: no record contributes to it any more
                for fmt in RDF_FORMATS:
                    drop(path + fmt.suffix)
        ran(say, "dumps", len(front.owners), "resources", timings["dumps"], resources=len(front.owners))

        t0 = time.perf_counter()
        dirty = affected(p, front.changed, front.owners, state.extra["links"], state.extra.get("answers"))
        try:  # the site-wide calendar: its events of unchanged talks are taken from it
            previous_ics: bytes | None = (out / "talks.ics").read_bytes()
        except FileNotFoundError:
            previous_ics = None
        rendered = render_some(p, dirty.paths, dirty.feeds, previous_talks_ics=previous_ics,
                               cache=state.extra.get("pages"), search=state.extra.get("search"),
                               previous=lambda name: _read(out / name))
        links, read_answers = dirty.merged(state.extra["links"], rendered)
        for name, data in rendered.files.items():
            put(name, data)
        for path in dirty.paths:
            if path + ".html" not in rendered.files:
                drop(path + ".html")
        for name in dirty.feeds:
            if name not in rendered.files:
                drop(name)
        # Files made whole (sitemaps) or listed by the search index's state: those no longer made are deleted.
        whole = sorted({n for n in [*rendered.files, *rendered.kept] if n.startswith(("sitemap", "search/"))}
                       | set(rendered.search.files if rendered.search is not None else ()))
        for name in sorted(set(state.extra["sitemaps"]) - set(whole)):
            drop(name)
        gaps = {path: g for path, g in state.extra["google"].items() if path not in dirty.paths}
        gaps.update(rendered.google.gaps)
        google, warnings = _google(p, gaps)
        report = p.report
        report.results.extend(warnings)
        timings["pages"] = time.perf_counter() - t0
        ran(say, "pages", len(dirty.paths) + len(dirty.feeds), "files", timings["pages"], pages_again=len(dirty.paths),
            calendars_again=len(dirty.feeds))
        say(Checked("pages", google))

        t0 = time.perf_counter()
        # The gallery's answers and the VoID description depend on the triples alone; a query
        # is answered again only when the triples added or removed are of those it reads.
        answers = state.extra.get("gallery")
        gallery = Gallery(answers=answers or {}, reused=sorted(answers or {}))  # no triple changed: all kept
        if front.owners:
            lines = delta_lines((out / "dump.nt", previous), (scratch / "dump.nt", index), front.owners)
            gallery = write_gallery(p, scratch, previous=answers, delta=lines if answers is not None else None)
            for made in sorted(scratch.rglob("*")):
                rel = str(made.relative_to(scratch))
                if made.is_file() and not rel.startswith("dump."):
                    put(rel, made.read_bytes())
        timings["gallery"] = time.perf_counter() - t0
        ran(say, "gallery", len(gallery.answered) + len(gallery.reused), "queries", timings["gallery"],
            answered=len(gallery.answered), reused=len(gallery.reused))
        for name in ["dump" + fmt.suffix for fmt in RDF_FORMATS]:  # after the gallery, which queries dump.nt
            if (scratch / name).exists():
                txn.adopt(name, scratch / name)
                counts["written"] += 1
        if front.owners:
            put("void.ttl", void_ttl(p, index.triples))

        new_state = inc.State(state.fingerprint, state.site_id, ds.site, settled(before, taken), front.kept,
                              front.resolved, results,
                              extra={"dumps": index, "links": links, "answers": read_answers, "google": gaps, "files": files, "deps": front.deps,
                                     "mapped": front.mapped,
                                     "pages": rendered.cache, "search": rendered.search,
                                     "gallery": gallery.answers, "sitemaps": whole},
                              generation=state.generation + 1)
        # The state's changes and the site's generation are published with the site's files
        # (applied after them); SQLite stores the changes after the commit point (lod.publishing.state).
        t0 = time.perf_counter()
        delta = store.changes(state, new_state)
        txn.put_extra(delta_path(state_path(out)), pickle.dumps(delta, pickle.HIGHEST_PROTOCOL))
        txn.put_extra(generation_path(state_path(out)), f"{new_state.generation}\n".encode())
        timings["state"] = time.perf_counter() - t0
        changed = first_changed(before, stamps(data_dir))
        if changed:
            raise BuildError(f"the record file {changed} changed during the build, so the site could mix two "
                             f"versions; nothing was published and the previous {out.name}/ is unchanged. "
                             "Run the build again.")
        t0 = time.perf_counter()
        txn.commit()
        timings["publish"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        store.apply(delta)
        delta_path(state_path(out)).unlink(missing_ok=True)
    except (sqlite3.Error, OSError) as exc:  # the site is published; the next build stores the delta
        say(StateNotSaved(str(exc), pending=True))
    timings["state"] += time.perf_counter() - t0
    ran(say, "publish", counts["written"] + counts["deleted"], "files", time.perf_counter() - t_start,
        written=counts["written"], deleted=counts["deleted"])
    return BuildResult(out, m.base, index.triples, index.resources, files, report, timings, counts_of(ds), True)


def _read(path: Path) -> bytes | None:
    """The bytes of a file of the previous site, None if it cannot be read (then it is made again)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _google(p: Prepared, gaps: dict[str, list[Gap]]) -> tuple[GoogleReport, list[Result]]:
    """The Google Event report and warnings of every talk page, from each page's gaps, in
    the order a full build reports them (by page path)."""
    from lod.publishing.pages.stage import _add_gaps

    google = GoogleReport()
    warnings: list[Result] = []
    for path in sorted(gaps):
        _add_gaps(p, path, gaps[path], google, warnings)
    return google, warnings
