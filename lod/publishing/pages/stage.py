"""The pages stage: every page or the dirty ones, the sitemap, robots.txt, the calendars and the search index.

``write_pages`` (a full build) and ``render_some`` (a rebuild) are one function, ``_render``,
over all paths or the given ones; the files it makes are the same bytes either way
(tests/test_pages_cache.py, tests/test_pages_dirty.py). Pages are rendered by
``lod.publishing.pages.render.Renderer``, on both cores from ``PARALLEL_THRESHOLD`` pages on.
"""

from __future__ import annotations


import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from itertools import chain
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import AbstractSet

from lod.loading.spill import Spill
from lod.publishing import calendar_pack, feeds as feeds, site_calendar
from lod.model import records as R
from lod.publishing.gallery import read_gallery
from lod.model.iri import KIND_PATHS
from lod.publishing.prepared import Prepared, SiteWriter
from lod.progress import Checked, Stage
from lod.validation.report import Result
from lod.publishing.pages.constants import KIND_OF_PATH, Progress
from lod.publishing.pages.google import Gap, GoogleReport, add_gaps, google_event_gaps
from lod.publishing.pages import listing as L
from lod.publishing.pages.parallel import PARALLEL_THRESHOLD, affordable, fork_map, slices, worker_count
from lod.publishing.pages.reads import RECORDER, Key, is_query
from lod.publishing.pages.probe import answer_reads, forget_kept
from lod.publishing.links import Later, Links, Made as Reads, Pending, pickled
from lod.publishing.pages.search import SearchState, full_index, search_options, update_index
from lod.publishing.pages.sitemap import robots_txt, sitemap_files, sitemap_names
from lod.publishing.pages.times import build_now

from lod.publishing.pages.home import IndexItems, Shown, index_page, kept_talks
from lod.publishing.pages.render import Renderer, page_url, static_files


# ---------------------------------------------------------------- the stage


@dataclass
class PagesOutput:
    """Everything the pages stage writes, by site-relative file name, and the Google report."""

    files: dict[str, bytes]
    google: GoogleReport
    warnings: list[Result]
    cache: PagesCache | None = None  # what the next rebuild's ``render_some`` reuses
    search: SearchState | None = None  # and this: its ``search``, listing every file of the search index
    kept: list[str] = field(default_factory=list)  # index.html, sitemap*.xml, talks.ics found unchanged (not in files)
    emitted: set[str] = field(default_factory=set)  # pages handed to ``render_some``'s *emit* (not in files)
    packed: int = 0  # calendars written into the calendar pack (documents: served), not in files
    # What each page, calendar and VEVENT rendered here read (``lod.publishing.pages.reads``), by node
    # key (``("html", path)``, ``("calendar", name)``, ``("vevent", id)``), and the answers of the queries they read:
    # on disk until first asked for (``readsets``, ``answers``), so a caller asks after its workers have ended.
    pending: Pending = field(default_factory=Pending)
    written: dict[str, Path] = field(default_factory=dict)  # files written whole to a path (talks.ics spliced), to adopt
    calendar: site_calendar.Spans | None = None  # where talks.ics's VEVENTs are, when written to a file here or kept

    @property
    def readsets(self) -> Links:
        """The read-sets, numbered compactly (``lod.publishing.links``): one tuple per key, a row of numbers per node."""
        return self.pending.settled()[0]

    @property
    def answers(self) -> dict[Key, bytes]:
        """The digests of the answers of the queries and descriptions the nodes read."""
        return self.pending.settled()[1]


@dataclass
class PagesCache:
    """The parts of the always-rendered files that a rebuild takes from the previous render.

    *items*: every list item of the index page with its sort key (``home.index_items``);
    *lastmods*: every resource page's sitemap lastmod by site path; *latest_taken*: the date
    of the data (``SiteIndex.latest_taken``), the lastmod of every page without a dated
    source; *taken*: when each source was taken. Plain strings and tuples: it is pickled
    into the build state.
    """

    items: IndexItems
    lastmods: dict[str, str]
    latest_taken: str
    taken: dict[str, str]  # each source's date taken, by id: the lastmods read nothing else of them
    shown: Shown | None = None  # the index page's day and talks (``home.index_page``)
    # The HTML of each talk's item, by talk id (the state's buckets in a rebuild, read when asked for).
    talks: MutableMapping[str, bytes] = field(default_factory=dict)


def render_site(p: Prepared, now: datetime | None = None, threshold: int = PARALLEL_THRESHOLD) -> PagesOutput:
    """Render every page, the sitemap, robots.txt and the calendar feeds of *p* (no file is written).

    From *threshold* resource pages on, pages and calendars are rendered on every core
    (``lod.publishing.pages.parallel``); the files are the same.
    """
    return _stage(p, now, None, threshold)


def _stage(p: Prepared, now: datetime | None, root: Path | None, threshold: int) -> PagesOutput:
    """The pages stage: with *root*, pages and calendars are written there as they are made
    (by the workers when parallel) and the returned ``files`` hold only their names."""
    return _render(p, now, root, threshold, None, None)


def render_some(p: Prepared, paths: Iterable[str] | None, feed_names: Iterable[str] | None, now: datetime | None = None,
                root: Path | None = None, threshold: int = PARALLEL_THRESHOLD,
                previous_talks_ics: bytes | Path | site_calendar.Located | None = None, cache: PagesCache | None = None,
                search: SearchState | None = None, previous: Callable[[str], bytes | None] | None = None,
                scratch: Path | None = None, emit: Callable[[str, bytes], None] | None = None,
                say: Progress | None = None) -> PagesOutput:
    """Render only the pages *paths* (site paths P of ``P.html``) and the calendars *feed_names*
    (``series/x.ics`` …; both None: every one), plus what a full build always makes: ``index.html``, the sitemap,
    ``robots.txt`` and the site-wide ``talks.ics``; each file has exactly the bytes
    ``render_site`` gives it. Of these, with *cache*, those that cannot differ from the previous
    build's are not made but named in ``kept``: ``index.html`` when its day and items allow
    (``_same_index``), the sitemap when no page was added or removed and no lastmod changed,
    ``talks.ics`` when no talk's calendar is in *feed_names* (with *previous_talks_ics*).

    What ``lod.publishing.pages.dirty.affected`` returns is meant for this. A path or calendar that
    does not exist in *p* (a removed record, a talk that lost its date) is left out of
    ``files``: the caller deletes those. ``google`` and ``warnings`` cover only the talk
    pages rendered here, so a caller keeps the others' from the previous build.

    It reads ``p.dataset``, ``p.minter`` and ``p.descriptions`` only (never ``p.triples``,
    ``p.data`` or ``p.graph``), and ``p.descriptions`` may be any Mapping computing each
    owner's description on first access: only the rendered pages' owners and the
    resources their JSON-LD names are looked up; iterating it (for the sitemap) must
    yield every owner. Which calendars exist (pages link to them) is a query each page reads
    (``lod.publishing.pages.reads.feed_exists``, as ``lod.publishing.feeds.feed_keys`` decides it),
    without making them.

    The returned ``readsets`` and ``answers`` are what each page, calendar and VEVENT made
    here read (``lod.publishing.pages.dirty.Affected.merged`` keeps them for the next build).

    ``talks.ics`` holds every talk's VEVENT. With *previous_talks_ics* (the previous
    build's ``talks.ics``: its bytes, or its file), it is spliced from that: the VEVENT of
    each talk whose ``talk/<id>.ics`` is not in *feed_names* is kept where it is, not made
    again (``lod.publishing.site_calendar``): a talk's VEVENT is all of its own calendar but
    the name, so when that calendar is not dirty the VEVENT is the same. So pass
    *feed_names* as ``affected`` gives them. Given a file and a *scratch* folder, the new
    one is written there and named in ``written`` (the caller moves it into the site).

    With *cache* (the ``cache`` of the previous build's ``PagesOutput``, full or not), the
    index page is assembled from the previous list items but those of the records whose
    pages are in *paths*, and the sitemap keeps each page's lastmod but those that can have
    changed (``_lastmods``). The returned ``cache`` is the one for the next build.

    With *search* (the ``search`` of the previous build's ``PagesOutput``), only the files of
    the search index that the talks in *paths* were or are in are made
    (``lod.publishing.pages.search.update_index``; *previous* reads a file of the previous site, None if
    it cannot); the returned ``search`` lists every file of the index, so the caller deletes
    those of the previous one it no longer lists. Without it, the whole index is made.

    *scratch* is a folder for the stage's temporary file (the VEVENTs the calendars share,
    ``feeds.site_feeds``); without it, beside *root*, else the system's temporary folder.

    With *emit* (and no *root*), each page is handed to it as soon as its slice is made, and
    named in ``emitted`` instead of ``files``: a rebuild that makes every page again holds a
    slice of them at a time (``parallel.SLICE_MOST``), not all of them: 241 MB of HTML at 10k talks.
    *say* hears it when the memory available leaves the stage fewer cores (``parallel.affordable``).
    """
    if paths is None or feed_names is None:  # everything (a full build: nothing was made before)
        return _render(p, now, root, threshold, None, None, scratch=scratch, emit=emit, say=say)
    feed_names = set(feed_names)
    # talks.ics holds each dated talk's VEVENT (its own calendar's, session and all): the same
    # unless a talk's calendar is dirty (a talk added or removed dirties its own).
    same_ics = previous_talks_ics is not None and not any(name.startswith(_TALK_FEEDS) for name in feed_names)
    return _render(p, now, root, threshold, set(paths), feed_names, previous_talks_ics, cache, search, previous,
                   same_ics, scratch, emit, say)


def _talks_ics(only_feeds: set[str] | None, same_ics: bool,
               previous_ics: bytes | Path | site_calendar.Located | None) -> str:
    """How the stage makes ``talks.ics``, decided here once: "whole" (with the calendars, as a full
    build does), "kept" (the previous build's, unchanged: *same_ics*) or "spliced" from the previous
    one (``lod.publishing.site_calendar``)."""
    if only_feeds is None or (not same_ics and previous_ics is None):
        return "whole"
    return "kept" if same_ics else "spliced"


def _render(p: Prepared, now: datetime | None, root: Path | None, threshold: int,
            only_paths: set[str] | None, only_feeds: set[str] | None,
            previous_ics: bytes | Path | site_calendar.Located | None = None, cache: PagesCache | None = None,
            search: SearchState | None = None, previous: Callable[[str], bytes | None] | None = None,
            same_ics: bool = False, scratch: Path | None = None,
            emit: Callable[[str, bytes], None] | None = None, say: Progress | None = None) -> PagesOutput:
    """The stage for every page and calendar (*only_paths* and *only_feeds* None) or for those given;
    with *same_ics*, ``talks.ics`` is the previous build's (not made, named in ``kept``), else
    with *previous_ics* it is spliced from that (``lod.publishing.site_calendar``)."""
    if scratch is None and root is not None:
        scratch = root.parent
    r = Renderer(p, now or build_now())
    view = r.p  # the data read through the views that record what each page reads
    m = p.minter
    RECORDER.made = Reads()
    # The jobs' read-sets wait on disk while the workers render beside this process (``Later``).
    later = Later(scratch)
    failed, RECORDER.later = RECORDER.later, later
    if failed is not None:  # what a failed stage in this process left
        failed.close()
    # Each job takes the digests of the answers its nodes read where it answered them (in its worker).
    digests = RECORDER.digests = answer_reads(r.index, p.descriptions)
    RECORDER.forget_desc_digests()  # another build's, if one failed in this process
    all_paths = r.all_paths()
    paths = all_paths if only_paths is None else [path for path in all_paths if path in only_paths]
    workers = affordable(worker_count(len(paths), threshold), say)  # the calendars' too
    files: dict[str, bytes] = {}
    emitted: set[str] = set()
    kept: list[str] = []  # files always made by a full build, found unchanged here: not made
    writer = SiteWriter(root) if root is not None else None  # forked workers write through their copy

    def put(name: str, data: feeds.Chunks) -> bytes:
        """Write *data* (bytes, or pieces of them) as *name* and return b""; without a root, return the bytes."""
        if writer is None:
            return data if isinstance(data, bytes) else b"".join(data)
        writer.write(name, data)
        return b""

    # Calendars first: pages link to the feeds that exist.
    sink: Callable[[str, feeds.Chunks], bytes] | None = put if root is not None else None
    # Served documents: the resources' calendars go into a pack of a few shards, not a file each (lod.publishing.calendar_pack).
    pack = calendar_pack.Parts(root) if root is not None and p.dataset.site.documents == "served" else None

    def to_pack(name: str, data: feeds.Chunks) -> bytes:
        if pack is None or not calendar_pack.packed(name):
            return put(name, data)
        pack.write(name, data if isinstance(data, bytes) else b"".join(data))
        return b""

    if pack is not None:
        sink = to_pack
    ics = _talks_ics(only_feeds, same_ics, previous_ics)
    only: set[tuple[str, str]] | None = None
    if only_feeds is not None:  # the calendars of records that exist (those of removed ones are deleted)
        only = {key for key in map(_feed_key, only_feeds) if key is not None and key[1] in p.dataset.table(key[0])}
        if ics == "whole":
            only.add(feeds.SITE_CALENDAR)
    if ics == "kept" and any(t.start_at is not None for t in p.dataset.talks.values()):
        kept.append("talks.ics")
    written: dict[str, Path] = {}
    calendar = previous_ics.spans if ics == "kept" and isinstance(previous_ics, site_calendar.Located) else None
    # The VEVENTs made for the calendars are kept for the spliced talks.ics, which holds those of
    # the dirty talks' own calendars: each made once (a rebuild made them again for it).
    with Spill(scratch) as vevents:
        for key, (name, data) in feeds.site_feeds(view, r.index.talks_under, r.index.person_talks, workers, sink,
                                                  only, scratch, vevents).items():
            if pack is None or not calendar_pack.packed(name):
                files[name] = data
        if ics == "spliced" and only_feeds is not None and previous_ics is not None:
            talks = {key[1] for key in map(_feed_key, only_feeds) if key is not None and key[0] == "talk"}
            remade, calendar = site_calendar.remake(p, view, previous_ics, talks, scratch, vevents)
            if isinstance(remade, Path):
                written["talks.ics"] = remade
            elif remade is not None:
                files["talks.ics"] = put("talks.ics", remade)
    packed = 0
    if pack is not None:
        packed = pack.finish()
        files.update((name, b"") for name in pack.files)  # written there: counted as files
    google = GoogleReport()
    warnings: list[Result] = []
    jobs: list[Sequence[str]] = [*slices(paths, workers)]
    if cache is None:  # "": the index page, a job of its own (a rebuild's is made here, below)
        jobs.insert(0, [""])

    dirty: AbstractSet[str] = only_paths if only_paths is not None else frozenset()
    items: IndexItems = {}
    shown: Shown | None = None
    made_talks: dict[str, bytes] = {}  # the HTML of the talks' items made (``home.index_page``)
    Its = tuple[IndexItems, Shown, dict[str, bytes]]
    Made = tuple[str, bytes | None, list[Gap] | None, Its | None]

    def render(job: Sequence[str]) -> tuple[list[Made], bytes]:
        with RECORDER.collecting() as made:
            out = render_job(job)
        return out, pickled(made)

    def render_job(job: Sequence[str]) -> list[Made]:
        out: list[Made] = []
        for path in job:
            its: Its | None = None
            if path == "":  # its items come back too, from a worker when parallel
                home, its_items, its_shown, its_made = index_page(
                    r, cache.items if cache is not None else None, cache.talks if cache is not None else None,
                    dirty, cache.shown if cache is not None else None)
                its = (its_items, its_shown, its_made)
                if home is None:  # the same as the previous render's
                    out.append(("index.html", None, None, its))
                    continue
                page = home
            else:
                with RECORDER.making(("html", path)):  # a page is a node: what it reads is kept
                    page = r.page(path)
            name = path + ".html" if path else "index.html"
            gaps = google_event_gaps(page.jsonld) if _is_talk_path(path) else None
            out.append((name, put(name, page.html), gaps, its))
        return out

    # A rebuild makes the index page here, before any worker is forked: it reads the kept talks' items
    # from the state's buckets, which a forked worker cannot (a database connection does not cross a fork).
    for rendered, nodes in chain([] if cache is None else [render([""])], fork_map(render, jobs, workers)):
        RECORDER.keep(nodes)
        for name, made, gaps, its in rendered:
            if made is None:
                kept.append(name)
            elif emit is not None and writer is None:
                emit(name, made)
                emitted.add(name)
            else:
                files[name] = made
            if gaps is not None:
                add_gaps(p, name.removesuffix(".html"), gaps, google, warnings)
            if its is not None:
                items, shown, made_talks = its
    talk_items = made_talks if cache is None else kept_talks(cache.items, cache.talks, items, made_talks)
    # The search index: whole, or the files the dirty talks were or are in; the search page and the static files.
    if search is None or only_paths is None:
        search_index, search_state = full_index(r.helpers(""))
    else:
        ids = {path.partition("/")[2] for path in only_paths if _is_talk_path(path)}
        search_index, search_state = update_index(r.helpers(""), search, ids, previous or _unread)
    options = search_options(search_state)
    for name, data in [*static_files().items(), *search_index.items(), ("search.html", r.search_page(options))]:
        files[name] = put(name, data)
    lastmods = _lastmods(r, all_paths, cache, dirty)
    latest = r.index.idx.latest_taken()
    entries = [(page_url(m.base, ""), latest)] + [(page_url(m.base, path), lastmods[path]) for path in all_paths]
    if read_gallery():  # queries.html, written by lod.publishing.gallery from the data of the same build
        entries.append((m.base + "queries.html", latest))
    entries.append((m.base + "search.html", latest))
    if cache is not None and only_paths is not None and latest == cache.latest_taken and lastmods == cache.lastmods:
        kept.extend(sitemap_names(len(entries)))  # the same pages with the same dates (in the same order: sorted)
    else:
        files.update((name, put(name, data)) for name, data in sitemap_files(entries, m.base).items())
    files["robots.txt"] = put("robots.txt", robots_txt(m.base))
    taken = {sid: src.taken for sid, src in p.dataset.sources.items()}
    RECORDER.later = None
    outside, RECORDER.made = RECORDER.made, Reads()
    outside.digest(digests)  # of the keys read outside a job's ``collecting``, if any
    RECORDER.digests = None
    RECORDER.forget_desc_digests()
    forget_kept(r.index.idx)  # the parts the probes kept: no query of this build is probed after this
    # The jobs' read-sets are merged when first asked for; the state keeps the queries some node reads, no others.
    if ics == "whole" and root is not None:  # written there whole: its VEVENTs found once, for the next splice
        calendar = site_calendar.Spans.scanned(root / "talks.ics", p)
    return PagesOutput(files, google, warnings, PagesCache(items, lastmods, latest, taken, shown, talk_items),
                       search_state, sorted(kept), emitted, packed, Pending(outside, later, is_query), written, calendar)


def _feed_key(name: str) -> tuple[str, str] | None:
    """The (kind, id) of a record's calendar file name (``person/x.ics``), None for another name."""
    kind_path, _, rest = name.removesuffix(".ics").partition("/")
    kind = KIND_OF_PATH.get(kind_path)
    return (kind, rest) if kind is not None and rest else None


def _unread(_name: str) -> bytes | None:
    return None


def _lastmods(r: Renderer, paths: Sequence[str], cache: PagesCache | None, dirty: AbstractSet[str]) -> dict[str, str]:
    """Every page's sitemap lastmod (``SiteIndex.lastmod``), taken from *cache* where it cannot have changed.

    A page's lastmod is the latest date its record's sources were taken (a topic's: of its
    talks'), else the date of the data. So it can change only if the date of the data did
    (then every lastmod is made again), if its record changed (its page is dirty), or if
    a source it cites was taken on another date, added or removed (the records citing it,
    and the topics of the talks among them, are made again). A topic's talks changing
    dirties it.
    """
    idx = r.index.idx
    # A listing's further pages (and a year's or a directory's) take their owner's lastmod (a year's, a
    # directory's: the date of the data).
    listed = [path for path in paths if L.is_listing_only(path)]
    own = [path for path in paths if not L.is_listing_only(path)]
    out = _own_lastmods(r, own, cache, dirty)
    for path in listed:
        out[path] = out.get(L.split_page(path)[0]) or idx.latest_taken()
    return out


def _own_lastmods(r: Renderer, paths: Sequence[str], cache: PagesCache | None,
                  dirty: AbstractSet[str]) -> dict[str, str]:
    """The lastmods of the resources' own pages (``_lastmods``)."""
    idx = r.index.idx
    if cache is None or cache.latest_taken != idx.latest_taken():
        return {path: idx.lastmod(path) for path in paths}
    m = r.p.minter
    sources = r.p.dataset.sources
    again: set[str] = set()
    for sid in cache.taken.keys() | sources.keys():
        now = sources[sid].taken if sid in sources else None
        if cache.taken.get(sid) == now:
            continue
        for kind, rec in idx.by_source.get(sid, []):
            again.add(f"{KIND_PATHS[kind]}/{rec.id}")
            if isinstance(rec, R.Talk):
                again.update(m.path_of(str(m.topic(label))) or "" for label in rec.topics)
    old = cache.lastmods
    out: dict[str, str] = {}
    for path in paths:
        got = old.get(path) if path not in dirty and path not in again else None
        out[path] = got if got is not None else idx.lastmod(path)
    return out


_TALK_FEEDS = KIND_PATHS["talk"] + "/"


def _is_talk_path(path: str) -> bool:
    kind_path, _, _rid = path.partition("/")
    return KIND_OF_PATH.get(kind_path) == "talk"


def check_pages(p: Prepared) -> tuple[GoogleReport, list[Result]]:
    """Google's Event requirements checked on the JSON-LD of every talk page, without rendering HTML.

    Returns the report and one warning per talk page that lacks a required property;
    ``lod validate`` lists these beside the SHACL results, as the build does.
    """
    r = Renderer(p, build_now())
    google = GoogleReport()
    warnings: list[Result] = []
    for path in r.resource_paths():
        kind_path, _, rid = path.partition("/")
        talk = p.dataset.talks.get(rid) if KIND_OF_PATH.get(kind_path) == "talk" else None
        if talk is not None:
            add_gaps(p, path, google_event_gaps(r.jsonld.talk(talk)), google, warnings)
    return google, warnings


def write_pages(p: Prepared, root: Path, progress: Progress | None = None,
                timings: dict[str, float] | None = None, now: datetime | None = None,
                threshold: int = PARALLEL_THRESHOLD) -> int:
    """Write the pages, sitemap, robots.txt and calendar feeds of *p* under *root*; return the file count.

    The "pages" stage is reported to *progress* (``lod.progress``), with the talk pages' gaps in
    Google's Event requirements (``Checked``); those are also added to ``p.report`` as warnings
    (one per talk page that lacks a required property) and kept in ``p.google_gaps``.
    From *threshold* resource pages on, forked workers render and write the pages and
    calendars on every core; the files are the same as in-process.
    """
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    stage = Stage(progress, "pages", len(p.descriptions), "resources")
    out = _stage(p, now, root, threshold)
    p.report.results.extend(out.warnings)
    p.google_gaps = out.google.gaps  # kept for an incremental rebuild
    vars(p)[PAGES_CACHE] = out.cache  # and this (``pages_cache``)
    vars(p)[SEARCH_STATE] = out.search  # and the search index's (``search_state``)
    vars(p)[READSETS] = (out.readsets, out.answers)  # and what each page read (``pages_readsets``)
    timings["pages"] = time.perf_counter() - t0
    n_ics = sum(1 for name in out.files if name.endswith(".ics")) + out.packed
    n_html = sum(1 for name in out.files if name.endswith(".html"))
    stage.observer(Checked("pages", out.google))
    stage.finish(pages=n_html, calendars=n_ics)
    return len(out.files)


PAGES_CACHE = "pages_cache"
SEARCH_STATE = "search_state"
READSETS = "pages_readsets"


def pages_readsets(p: Prepared) -> tuple[Links, dict[Key, bytes]]:
    """What each page and calendar ``write_pages`` rendered read, and the answers of the queries
    they read (empty if it did not run): keep them in the build state as ``links`` and ``answers``
    for the next build's ``lod.publishing.pages.dirty.affected``."""
    got = vars(p).get(READSETS)
    return got if isinstance(got, tuple) else (Links(), {})


def pages_cache(p: Prepared) -> PagesCache | None:
    """The ``PagesCache`` ``write_pages`` left on *p* (None if it did not run): keep it in the
    build state and pass it to the next build's ``render_some``."""
    got = vars(p).get(PAGES_CACHE)
    return got if isinstance(got, PagesCache) else None


def search_state(p: Prepared) -> SearchState | None:
    """The ``SearchState`` ``write_pages`` left on *p* (None if it did not run): keep it in the
    build state and pass it to the next build's ``render_some`` as *search*."""
    got = vars(p).get(SEARCH_STATE)
    return got if isinstance(got, SearchState) else None

