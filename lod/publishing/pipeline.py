"""The build: one pipeline for a full build and a rebuild.

Every build runs the same stages on the same code, from a state (``lod.publishing.state``):
the one the last build left beside the site, or the empty state (``front.empty_state``),
where nothing was read or made before and so every key is changed. Each stage takes what
it reads, its own part of the previous state and what changed, and returns what it made
and its part of the new state:

    load → map → validate (``front.Front``) → dumps → pages → gallery → publish

A build from the empty state is a full build: it parses every file, maps and checks every
record, writes every resource's documents and every page. A rebuild does each of those for
what changed only, and its output equals a full build's byte for byte (tests/test_incremental.py,
tests/test_readsets.py). What differs is how the output is published (``lod.publishing.output``):
a new site swapped in whole, or the changed files through one journal transaction in place.

When the previous state cannot be used (none, another site, other code or base URL, a
state behind its site) or the data needs a full build (site settings changed, bad data to
report in a full load's order), the build says why (``lod.progress.FullBuildNeeded``) and
runs from the empty state.
"""

from __future__ import annotations

import gc
import json
import os
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from lod.errors import BuildError
from lod.loading.pool import no_gc, rare_full_collections
from lod.loading.spill import Spill, SpillError
from lod.model.formats import RDF_FORMATS
from lod.model.iri import DEFAULT_BASE_URL
from lod.model.serialize import jsonld_context
from lod.progress import Checked, FullBuildNeeded, Stage, ignore, ran
from lod.publishing import changes as inc, site_calendar
from lod.publishing.describing import Describing
from lod.publishing.forked import Beside, Forked, ending, forks
from lod.publishing.front import Front, FullBuild, empty_state
from lod.publishing.output import InPlace, NewSite, Output, check_out, marker_id, recover, state_path
from lod.publishing.pages.google import Gap, GoogleReport
from lod.publishing.prepared import (MARKER, BuildResult, Prepared, Progress, counts_of, first_changed, site_prefixes,
                                     stamps, void_ttl, write_error)
from lod.publishing.state import Store, Unusable, site_generation
from lod.validation.report import Result
from lod.validation.shacl import compile_shapes, shapes_compiled

if TYPE_CHECKING:
    from lod.publishing.pages.dirty import Affected
    from lod.publishing.pages.stage import PagesOutput

# A file written this shortly before the build stamped it might be written again within the
# same tick of the kernel's file clock (a few ms), keeping its size and time: it is parsed
# again next time (git's "racy" files).
RACY_NS = 100_000_000


def settled(stamps: dict[str, tuple[int, int, int]], taken_ns: int) -> dict[str, tuple[int, int, int]]:
    """The stamps (taken at *taken_ns*) that a later build may trust: not of a file modified just before."""
    return {rel: st for rel, st in stamps.items() if st[2] < taken_ns - RACY_NS}


def read_state(out: Path) -> inc.State | None:
    """The state the last build left for *out*, or None if there is none or it is unusable."""
    try:
        store = Store.open(state_path(out))
        return store.load() if store is not None else None
    except Unusable:
        return None


def build(data_dir: str | os.PathLike[str] = "data", out_dir: str | os.PathLike[str] = "site",
          base_url: str | None = None, progress: Progress | None = None, incremental: bool = True) -> BuildResult:
    """Build the site from *data_dir* into *out_dir*. Raises LodError subclasses on bad input.

    With *incremental* (the default) and the state an earlier build left beside the site,
    the pipeline starts from that state, so only what changed is made again and published
    in place; otherwise from the empty state, and the whole site is swapped in atomically.
    Either way a failed build leaves the previous site as it was, and the output is the same.
    """
    # The code the state will name is the code that runs now, even if files change meanwhile.
    inc.code_digest()
    say = progress or ignore
    out = Path(out_dir).absolute()
    check_out(out)
    recover(out)
    if incremental and out.is_dir():
        try:
            return _rebuild(data_dir, out, base_url, say)
        except FullBuild as exc:
            if exc.args:  # else the state was not usable, and _open said why
                say(FullBuildNeeded(*exc.args))
        gc.collect()  # what the rebuild held here (where it cannot fork), in cycles among it
    return _run(None, data_dir, out, base_url, progress)


# A rebuild runs in a child when the state beside the site is at least this large: what the rebuild
# holds grows with it (a 10k-talk site's state is 77 MB and its rebuild holds 340 MB), and below it
# forking would cost more than it frees, as for the describing stage (``forked.FORK_THRESHOLD``).
REBUILD_FORK_BYTES = 16 << 20
# What became of the site when a rebuild's process died: the journal it may have committed is finished later.
REBUILD_UNFINISHED = ("the site is as it was, or, if the rebuild had committed its changes, they are published "
                      "by the next build or lod serve")


def _rebuild(data_dir: str | os.PathLike[str], out: Path, base_url: str | None, say: Progress) -> BuildResult:
    """A rebuild from the state beside *out*, in a forked child where the system can fork.

    The child's events are passed on to *say*, and its result returned, or its exception
    raised here: ``FullBuild`` when the state cannot be used (no args: ``_open`` said why) or
    the changes reach most pages. Why a child: CPython keeps the arenas of what a process
    freed, so the full build that follows a rebuild's attempt ran in a process still holding
    the attempt's state (4.6 GB against 3.0 GB for renaming the source every record cites, at
    100k talks), and a long-lived caller (``lod serve``, a script building again and again)
    kept the rebuild's peak. A child's memory all goes back to the system when it ends.
    """
    if not hasattr(os, "fork") or _size(state_path(out)) < REBUILD_FORK_BYTES:
        return _rebuild_here(data_dir, out, base_url, say)
    child: Forked[BuildResult] = Forked(lambda observer: (ending(_rebuild_here(data_dir, out, base_url, observer)),
                                                          iter(())),
                                        say, what="rebuild", daemon=False, unfinished=REBUILD_UNFINISHED)
    try:
        return child.result()
    finally:
        child.close()


def _size(path: Path) -> int:
    """The size of the file at *path* (0 if there is none)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _rebuild_here(data_dir: str | os.PathLike[str], out: Path, base_url: str | None, say: Progress) -> BuildResult:
    """The pipeline from the state beside *out*; ``FullBuild`` if a build cannot start from it."""
    store = _open(out, base_url, say)
    if store is None:
        raise FullBuild()
    try:
        return _run(store, data_dir, out, base_url, say)
    finally:
        store.close()


def _open(out: Path, base_url: str | None, say: Progress) -> Store | None:
    """The state of *out*, if a build can start from it; else None, having said why."""
    try:
        store = Store.open(state_path(out))
    except Unusable as exc:
        say(FullBuildNeeded(*exc.args))
        return None
    if store is None:
        say(FullBuildNeeded("no-state"))
        return None
    try:
        store.settle()  # the changes a rebuild stopped after publishing did not store yet
        meta = store.meta
        if meta["site_id"] != marker_id(out):
            raise Unusable("other-site")
        # Published after the site's files by the last rebuild's journal, stored in the state after it.
        if meta["generation"] != site_generation(state_path(out)):
            raise Unusable("state-behind")
        # Before reading the rows, which other code may not even unpickle.
        if meta["fingerprint"] != inc.fingerprint(base_url or store.site().base_url or DEFAULT_BASE_URL):
            raise Unusable("other-code")
    except Unusable as exc:
        store.close()
        say(FullBuildNeeded(*exc.args))
        return None
    return store


def _run(store: Store | None, data_dir: str | os.PathLike[str], out: Path, base_url: str | None,
         progress: Progress | None) -> BuildResult:
    """The pipeline from the state in *store* (the empty state if None).

    The data files' parses, pickled for the state, go to disk as they are made (a ``Spill``
    beside the site: nothing but the state written at the end reads them), and so do the
    resources' descriptions once the dumps are written (another: the pages read them back
    one by one). The files are gone when the build ends, whether it succeeded or not."""
    try:
        with Spill(out.parent) as parses, Spill(out.parent) as described:
            return _stages(store, data_dir, out, base_url, progress, parses, described)
    except SpillError as exc:  # a full disk before anything was published
        raise write_error(exc, out) from None


def _stages(store: Store | None, data_dir: str | os.PathLike[str], out: Path, base_url: str | None,
            progress: Progress | None, parses: Spill, described: Spill) -> BuildResult:
    """The stages of ``_run``, the files parsed kept in *parses*, the descriptions in *described* once validated."""
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    # The shapes are compiled before the collector is paused, and their garbage collected while
    # the heap is small (30 ms): parsing their SPARQL leaves pyparsing's exceptions in cycles with
    # every frame below them, so compiled during the check they held the stage's every triple
    # (a fifth of the process at 10k talks) to the end of the build. Once compiled, a process's
    # later builds (lod watch, the tests) have no such garbage: a collection there walked the
    # whole heap for nothing.
    if not shapes_compiled():
        compile_shapes()
        gc.collect()
    # The state and the records are millions of objects that all live on: the cyclic
    # collector would walk them again and again (it doubled the load at 100k talks).
    with no_gc():
        if store is None:
            state = empty_state()
        else:
            t0 = time.perf_counter()
            try:
                state = store.load()
            except Unusable as exc:
                raise FullBuild(*exc.args) from None
            timings["state_read"] = time.perf_counter() - t0
        taken = time.time_ns()
        before = stamps(data_dir)
        stage = Stage(progress, "load", len(before), "files")
        try:
            front = Front(state, data_dir, base_url, before, timings, stage.advance, parses)
        except Unusable as exc:  # a data file's parse could not be read from the state
            raise FullBuild(*exc.args) from None
        ds, m = front.ds, front.minter
        # A full build says what it read and made; a rebuild, what it did again.
        again = {} if front.fresh else {"reparsed": front.reparsed, "resolved": front.resolved_again,
                                        "changed": len(front.changed)}
        stage.finish(timings["load"], files=len(before), **again, **counts_of(ds))
        # Map and validate, maybe in a forked process that hands on the descriptions (spilled)
        # and the subjects' texts for the dumps (streamed): this one never holds the triples.
        describing = Describing(front, state, progress or ignore, described)
        # What is read now lives until the end: the collector need not walk it (the page workers
        # fork with it, and their copies stay shared). Frozen before the collector is enabled
        # again: every object made since it was paused is young, and its first collection would
        # walk them all (0.3-0.5 s at 10k talks).
        gc.freeze()
    # The later stages keep much and make few cycles: the collector's full collections are rarer.
    with rare_full_collections():
        try:
            report, results = describing.described.report, describing.described.results
            timings.update(describing.described.timings)
            # No list of every triple here: asking for one is an error, not an empty list.
            p = Prepared(ds, m, None, report)
            p.__dict__["terms"] = front.terms  # the cached properties, filled for the later stages
            p.__dict__["descriptions"] = front.descriptions
            output: Output = NewSite(out) if front.fresh else InPlace(out, int(state.extra["files"]))
            try:
                result = _publish(p, front, describing, store, state, output, data_dir, before, taken, results, timings,
                                  t_start, progress or ignore)
            except OSError as exc:  # before the commit point: nothing was published
                output.abort()
                raise write_error(exc, out) from None
            except Unusable as exc:  # the state, read a key at a time (``state_keys``), was found damaged
                output.abort()
                raise FullBuild(*exc.args) from None
            except BaseException:
                output.abort()
                raise
        finally:
            describing.close()
            gc.unfreeze()
    return result


def _publish(p: Prepared, front: Front, describing: Describing, store: Store | None, state: inc.State,
             output: Output, data_dir: str | os.PathLike[str], before: dict[str, tuple[int, int, int]], taken: int,
             results: dict[str, list[Result]], timings: dict[str, float], t_start: float,
             say: Progress) -> BuildResult:
    """The later stages, each for what changed, into *output*; then the commit."""
    from lod.publishing.documents import DOCUMENTS_INDEX, index_bytes
    from lod.publishing.dumps import splice_subjects
    from lod.publishing.gallery import Gallery, write_gallery
    from lod.publishing.gallery_reads import delta_lines
    from lod.publishing.pages.dirty import Affected, affected

    m, ds, out = p.minter, p.dataset, output.out
    scratch = output.scratch
    fresh = front.fresh

    # ---- dumps and documents
    # splice_dumps writes exactly the formats of RDF_FORMATS, which this checks.
    assert sorted(f.suffix for f in RDF_FORMATS) == [".jsonld", ".nt", ".ttl"]
    index = previous = state.extra["dumps"]
    served = ds.site.documents == "served"
    remapped = fresh or bool(front.owners)  # some triple can have changed: the dumps and the gallery are made again
    stage = Stage(say, "dumps", describing.described.triples, "triples")
    if remapped:
        index = splice_subjects(None if fresh else out, scratch, index, front.owners, describing.subjects(),
                                front.terms.prefixes, m.context, m.path_of, write=None if served else output.put,
                                timings=timings, advance=stage.advance)
        if served:  # the subjects' offsets moved; their ordinals only if subjects came or went
            old = output.read(DOCUMENTS_INDEX)
            output.put(DOCUMENTS_INDEX, index_bytes(index, m.path_of, scratch,
                                                    None if fresh else (previous, old or b"")))
    else:
        timings["dumps"] = 0.0
    describing.finish()  # the descriptions spilled (the pages read them back); a forked stage's memory freed
    timings.update(describing.described.timings)
    front.terms.clear()  # no term text is needed again (memory at scale; a site without dumps makes its N-Triples anew)
    for owner in front.owners:
        path = m.path_of(owner)
        if path and owner not in front.descriptions:  # removed: no record contributes to it any more
            for fmt in RDF_FORMATS:
                output.drop(path + fmt.suffix)
    output.put("context.jsonld", (json.dumps(jsonld_context(site_prefixes(m)), indent=2, sort_keys=True)
                                  + "\n").encode())
    output.put("ontology.ttl", (resources.files("lod") / "data" / "lod.ttl").read_bytes())
    output.put(MARKER, (json.dumps({"base_url": m.base, "title": ds.site.title, "generator": "lod"},
                                   indent=2, sort_keys=True) + "\n").encode())
    stage.finish(timings["dumps"] + timings.get("resources", 0.0), resources=index.resources if fresh else
                 len(front.owners), **({"formats": len(RDF_FORMATS)} if fresh else {}))

    # ---- pages, calendars, the search index
    answers = state.extra.get("gallery")

    def gallery_stage() -> tuple[Gallery, float]:
        # The query gallery depends on the triples alone: a query is answered again only when the
        # triples added or removed are of those it reads.
        t = time.perf_counter()
        if not remapped:
            return Gallery(answers=answers or {}, reused=sorted(answers or {})), 0.0  # no triple changed: all kept
        lines = (delta_lines((out / "dump.nt", previous), (scratch / "dump.nt", index), front.owners)
                 if answers is not None else None)
        return write_gallery(p, scratch, previous=answers, delta=lines, cores=1 if beside else None), \
            time.perf_counter() - t

    # A rebuild's gallery runs in a child beside ``affected`` and its pages, each on a core (at 100k talks
    # 2.5 s beside ``affected``'s 2 s and the pages' 2.5 s after it); a full build's after its pages, whose
    # workers take every core. Started before ``affected``: beside the pages alone it was as long as
    # they were, and the rebuild waited for whichever ended last. Beside them it answers its queries on
    # one core: a worker of its own on the other took it from the pages (8.5 s instead of 9.2 at 100k).
    t0 = time.perf_counter()
    beside = not fresh and bool(front.owners) and forks(len(p.descriptions))
    if beside:  # built before the fork (``affected`` reads it first): the gallery's page reads it too, shared
        p.site_index
    gallery_job = Beside(gallery_stage, fork=beside, what="query gallery")
    try:
        # The pages whose recorded reads changed; from the empty state every one, with nothing to compare.
        dirty = (Affected(True) if fresh else
                 affected(p, front.changed, front.owners, state.extra["links"], state.extra.get("answers"),
                          front.previous, front.moved, state.extra.get("wide")))
        timings["affected"] = time.perf_counter() - t0  # within the pages' time
        crowded = None if fresh else dirty.crowded()
        if crowded is not None:  # nothing is published; the build starts again from the empty state
            raise FullBuild("most-pages", crowded)
        rendered, whole, gaps = _pages(p, dirty, output, state, fresh, timings, t0, say)
        gallery, timings["gallery"] = gallery_job.result()
    finally:
        gallery_job.close()

    # ---- the query gallery's files, and the VoID description
    if remapped:
        for made in sorted(scratch.rglob("*")):
            rel = str(made.relative_to(scratch))
            if made.is_file() and not rel.startswith("dump."):
                output.put(rel, made.read_bytes())
    ran(say, "gallery", len(gallery.answered) + len(gallery.reused), "queries", timings["gallery"],
        answered=len(gallery.answered), reused=len(gallery.reused))
    for name in ["dump" + fmt.suffix for fmt in RDF_FORMATS]:  # after the gallery, which queries dump.nt
        if (scratch / name).exists():
            output.adopt(name, scratch / name)
    output.put("void.ttl", void_ttl(p, index.triples))

    # ---- the state and the commit
    t0 = time.perf_counter()
    # What each page read, for the next build: merged now, with no worker of the pages or the gallery beside.
    # A stage people can watch: 12 s at 100k talks, minutes at 1M, where the build is at its largest.
    batches = rendered.pending.waiting()
    stage = Stage(say, "state", batches, "batches" if batches else "")
    rendered.pending.settled(stage.advance)
    links, read_answers, wide = dirty.merged(state.extra["links"], rendered, state.extra.get("answers"),
                                             state.extra.get("wide"))
    new_state = inc.State(state.fingerprint or inc.fingerprint(m.base), state.site_id, ds.site,
                          settled(before, taken), front.kept, front.resolved, results,
                          extra={"dumps": index, "links": links, "answers": read_answers, "wide": wide,
                                 "google": gaps, "files": output.files,
                                 "deps": front.deps, "mapped": front.mapped, "pages": rendered.cache,
                                 "search": rendered.search, "gallery": gallery.answers, "sitemaps": whole,
                                 "calendar": rendered.calendar},
                          generation=0 if fresh else state.generation + 1)
    output.keep_state(store, state, new_state)
    timings["state"] = time.perf_counter() - t0
    stage.finish(timings["state"], read_sets=len(links))
    changed = first_changed(before, stamps(data_dir))
    if changed:
        raise BuildError(f"the record file {changed} changed during the build, so the site could mix two "
                         f"versions; nothing was published and the previous {out.name}/ is unchanged. "
                         "Run the build again.")
    t0 = time.perf_counter()
    output.commit(say)
    timings["publish"] = time.perf_counter() - t0
    if fresh:
        ran(say, "publish", output.written, "files", timings["publish"], files=output.written)
    else:
        ran(say, "publish", output.written + output.deleted, "files", time.perf_counter() - t_start,
            written=output.written, deleted=output.deleted)
    return BuildResult(out, m.base, index.triples, index.resources, output.files, p.report, timings, counts_of(ds),
                       not fresh)


def _pages(p: Prepared, dirty: Affected, output: Output, state: inc.State, fresh: bool, timings: dict[str, float],
           t0: float, say: Progress) -> tuple[PagesOutput, list[str], dict[str, list[Gap]]]:
    """The pages stage after ``affected``: render the *dirty* pages and calendars (every one from the
    empty state) into *output*, with its progress; return what was rendered, the files made whole
    (sitemaps, the search index's) and every talk page's Google gaps."""
    from lod.publishing import calendar_pack
    from lod.publishing.pages.stage import render_some

    out, scratch, served = output.out, output.scratch, p.dataset.site.documents == "served"
    n_pages = len(p.descriptions) if fresh else len(dirty.paths) + len(dirty.feeds)
    stage = Stage(say, "pages", n_pages, "files")
    rendered = render_some(p, None if fresh else dirty.paths, None if fresh else dirty.feeds, root=output.direct,
                           previous_talks_ics=None if fresh else _located(out / "talks.ics", state), cache=state.extra.get("pages"),
                           search=state.extra.get("search"), previous=output.read, scratch=scratch,
                           emit=output.put if output.direct is None else None,  # in place: staged as made
                           say=say)
    for name, made in rendered.written.items():  # written whole by the stage (talks.ics spliced)
        output.adopt(name, made)
    if output.direct is not None:  # the writers wrote them there already
        output.count(len(rendered.files))
    else:
        published = rendered.files
        if served:  # the resources' calendars are spliced into the pack's shards, not a file each
            packs = calendar_pack.update(out, scratch, published, dirty.feeds)
            published = packs.files
            for name, shard in packs.shards.items():
                output.adopt(name, shard)
            for name in packs.remove:
                output.drop(name)
        for name, data in published.items():
            output.put(name, data)
        for path in dirty.paths:
            if path + ".html" not in rendered.files and path + ".html" not in rendered.emitted:
                output.drop(path + ".html")
        for name in [*dirty.feeds, "talks.ics"]:  # talks.ics too: a full build has none without a dated talk
            if name not in rendered.files and name not in rendered.kept and name not in rendered.written:
                output.drop(name)
    # Files made whole (sitemaps) or listed by the search index's state: those no longer made are deleted.
    whole = sorted({n for n in [*rendered.files, *rendered.kept] if n.startswith(("sitemap", "search/"))}
                   | set(rendered.search.files if rendered.search is not None else ()))
    for name in sorted(set(state.extra["sitemaps"]) - set(whole)):
        output.drop(name)
    gaps = {path: g for path, g in state.extra["google"].items() if path not in dirty.paths}
    gaps.update(rendered.google.gaps)
    google, warnings = _google(p, gaps)
    p.report.results.extend(warnings)
    timings["pages"] = time.perf_counter() - t0
    say(Checked("pages", google))
    if fresh:
        stage.finish(timings["pages"], pages=sum(1 for n in rendered.files if n.endswith(".html")),
                     calendars=sum(1 for n in rendered.files if n.endswith(".ics")) + rendered.packed)
    else:
        stage.finish(timings["pages"], pages_again=len(dirty.paths), calendars_again=len(dirty.feeds))
    return rendered, whole, gaps


def _located(path: Path, state: inc.State) -> site_calendar.Located | None:
    """The previous ``talks.ics`` and the spans of its VEVENTs the state kept (``site_calendar.Spans``), if it exists."""
    found = _file(path)
    got = state.extra.get("calendar")
    return None if found is None else site_calendar.Located(found, got if isinstance(got, site_calendar.Spans) else None)


def _file(path: Path) -> Path | None:
    """*path* if it is a file (a rebuild splices the previous ``talks.ics``), else None."""
    return path if path.is_file() else None


def _google(p: Prepared, gaps: dict[str, list[Gap]]) -> tuple[GoogleReport, list[Result]]:
    """The Google Event report and warnings of every talk page, from each page's gaps, in
    the order a full build reports them (by page path)."""
    from lod.publishing.pages.google import add_gaps

    google = GoogleReport()
    warnings: list[Result] = []
    for path in sorted(gaps):
        add_gaps(p, path, gaps[path], google, warnings)
    return google, warnings



def write_state(out: Path, state: inc.State) -> None:
    """Write the state beside *out* as a new database, atomically (what a full build leaves)."""
    from lod.publishing.state import write_new

    write_new(state_path(out), state)
