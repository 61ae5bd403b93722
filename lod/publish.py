"""Publish stage: the only module that writes the site.

``build`` runs the whole pipeline (load → map → validate → write) and writes the
site into a fresh folder beside OUT, then swaps it in with one atomic rename. A
failed, interrupted or killed build leaves the previous OUT exactly as it was.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import Graph, Literal, URIRef

from . import records as R
from .errors import BuildError, ConfigError, ValidationFailed
from .incremental import results_by_owner
from .journal import write_file
from .dumps import DumpIndex, write_descriptions
from .formats import RDF_FORMATS
from .iri import DEFAULT_BASE_URL, KIND_PATHS, Minter
from .load import load_files, no_gc
from .mapping import graph_of, origins, to_triples
from .serialize import Terms, Triple, jsonld_context, sort_canonical, sorted_triples, to_turtle
from .shacl import check as shacl_check
from .validate import Report, Result, validate
from .vocab import DCAT, DCTERMS, LOD_NS, PREFIXES, RDF, VOID, XSD

if TYPE_CHECKING:
    from .pages.relations import SiteIndex

MARKER = ".lod-site.json"
ENGINES = ("native", "pyshacl")
Progress = Callable[[str], None]


@dataclass
class BuildResult:
    out: Path
    base_url: str
    triples: int
    resources: int
    files: int
    report: Report
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    incremental: bool = False  # only what changed was rebuilt (lod.rebuild)


@dataclass
class Prepared:
    """A loaded, mapped and validated dataset: everything a build writes is derived from this.

    *data* is the mapped triples (``lod.mapping.to_triples``), deduplicated, each distinct
    term one shared object; no rdflib Graph is built unless ``graph`` is asked for.
    """

    dataset: R.Dataset
    minter: Minter
    data: list[Triple] | None  # None in an incremental rebuild, which maps only some resources
    report: Report
    # What an incremental build keeps (``prepare(keep=True)``): each data file's parse and records.
    parsed: dict[str, bytes] = field(default_factory=dict)
    file_keys: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Filled by the pages stage: each talk page's gaps in Google's Event requirements.
    google_gaps: dict[str, list[Any]] = field(default_factory=dict)

    @functools.cached_property
    def terms(self) -> Terms:
        """Each distinct term's text in every format, computed once for the sort and all the writers."""
        return Terms(site_prefixes(self.minter))

    @functools.cached_property
    def triples(self) -> list[Triple]:
        """The triples in canonical order, sorted once per build (dumps and pages both need them).

        *data* is sorted in place: one list, not two.
        """
        data = self._data()
        sort_canonical(data, self.terms)
        return data

    def _data(self) -> list[Triple]:
        if self.data is None:
            raise RuntimeError("this dataset was prepared incrementally: it has no list of all its triples")
        return self.data

    @functools.cached_property
    def descriptions(self) -> dict[str, list[Triple]]:
        """Each resource's own description (``describe``), grouped once per build for files and pages."""
        return describe(self.triples, self.minter)

    @functools.cached_property
    def site_index(self) -> SiteIndex:
        """Who is related to what (``lod.pages.relations``), for the pages and for the incremental
        build's dirty rule: built once per build."""
        from .pages.relations import SiteIndex

        return SiteIndex(self)

    @functools.cached_property
    def graph(self) -> Graph:
        """The triples in an rdflib Graph, built on first use: for library users, slow and large at scale."""
        return graph_of(self._data())


def counts_of(ds: R.Dataset) -> dict[str, int]:
    """How many records of each main kind a build published (for its summary)."""
    return {"talks": len(ds.talks), "people": len(ds.people), "organizations": len(ds.organizations),
            "places": len(ds.places), "series": len(ds.series), "events": len(ds.events)}


def site_prefixes(minter: Minter) -> dict[str, str]:
    """Prefixes for the site's own resources (``talk:``, ``person:`` …) used in Turtle."""
    return {path: f"{minter.base}{path}/" for path in sorted(set(KIND_PATHS.values()))}


def prepare(data_dir: str | os.PathLike[str], base_url: str | None = None,
            progress: Progress | None = None, timings: dict[str, float] | None = None,
            engine: str = "native", keep: bool = False) -> Prepared:
    """Load, map and validate; raise RecordErrors or ValidationFailed on bad input.

    *engine* ``"native"`` checks the shapes with ``lod.shacl`` (compiled from them; its
    report equals pyshacl's, tests/test_shacl_native.py); ``"pyshacl"`` runs pyshacl on
    an rdflib Graph of the whole data, the reference (about 150× slower).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown SHACL engine {engine!r}; expected one of {', '.join(ENGINES)}")
    say = progress or (lambda _m: None)
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    kept: dict[str, bytes] = {}
    merger = load_files(data_dir, keep=kept if keep else None)
    ds = merger.dataset
    timings["load"] = time.perf_counter() - t0
    say(f"load: {len(ds.files)} files, {len(ds.talks)} talks, {len(ds.people)} people, "
        f"{len(ds.organizations)} organisations, {len(ds.places)} places ({timings['load']:.2f}s)")
    minter = Minter(base_url or ds.site.base_url or DEFAULT_BASE_URL)
    t0 = time.perf_counter()
    triples = to_triples(ds, minter)
    timings["map"] = time.perf_counter() - t0
    say(f"map: {len(triples)} triples ({timings['map']:.2f}s)")
    t0 = time.perf_counter()
    where = origins(ds, minter)
    report = validate(graph_of(triples), where) if engine == "pyshacl" else shacl_check(triples, where)
    timings["validate"] = time.perf_counter() - t0
    say(f"validate: {len(report.violations)} violations, {len(report.warnings)} warnings ({timings['validate']:.2f}s)")
    if report.violations:
        raise ValidationFailed(report)
    return Prepared(ds, minter, triples, report, kept, merger.keys)


def check(data_dir: str | os.PathLike[str], base_url: str | None = None, engine: str = "native") -> Prepared:
    """What ``lod validate`` reports: ``prepare``, plus the talk pages' Google Event check; writes nothing.

    The report then holds the same warnings a build reports.
    """
    p = prepare(data_dir, base_url, engine=engine)
    from .pages import check_pages

    _google, warnings = check_pages(p)
    p.report.results.extend(warnings)
    return p


def describe(triples: list[Triple], minter: Minter) -> dict[str, list[Triple]]:
    """Each resource's own description: the triples whose subject is it or one of its fragments."""
    groups: dict[str, list[Triple]] = {}
    last: object = None
    group: list[Triple] = []
    for t in triples:
        if t[0] is not last:  # a subject's triples are consecutive: its owner is looked up once
            last = t[0]
            owner = minter.owner(str(last))
            group = groups.get(owner) or groups.setdefault(owner, [])
        group.append(t)
    return groups


def void_graph(p: Prepared, triple_count: int) -> Graph:
    """The VoID + DCAT description of the dataset (kept out of the dumps)."""
    m, site = p.minter, p.dataset.site
    g = Graph()
    d = m.dataset
    g.add((d, RDF.type, VOID.Dataset))
    g.add((d, RDF.type, DCAT.Dataset))
    g.add((d, DCTERMS.title, Literal(site.title)))
    if site.description:
        g.add((d, DCTERMS.description, Literal(site.description)))
    if site.license:
        g.add((d, DCTERMS.license, URIRef(site.license)))
    if site.publisher:
        g.add((d, DCTERMS.publisher, Literal(site.publisher)))
    taken = sorted(s.taken for s in p.dataset.sources.values())
    # The date of the data, not of the build, so that rebuilding the same data is byte-identical.
    g.add((d, DCTERMS.modified, Literal(taken[-1] if taken else date.today().isoformat(), datatype=XSD.date)))
    g.add((d, VOID.triples, Literal(triple_count)))
    g.add((d, VOID.entities, Literal(len(p.dataset.all_records()))))
    g.add((d, VOID.uriSpace, Literal(m.base)))
    g.add((d, DCAT.landingPage, URIRef(m.base)))
    g.add((d, VOID.sparqlEndpoint, m.document("sparql")))
    for ns in (PREFIXES["schema"], LOD_NS, PREFIXES["prov"], PREFIXES["pav"]):
        g.add((d, VOID.vocabulary, URIRef(ns)))
    for kind, table in (("talk", p.dataset.talks), ("series", p.dataset.series), ("event", p.dataset.events),
                        ("person", p.dataset.people), ("organization", p.dataset.organizations)):
        for rid in sorted(table)[:1]:
            g.add((d, VOID.exampleResource, m.resource(kind, rid)))
    for fmt in RDF_FORMATS:
        url = m.document("dump" + fmt.suffix)
        dist = m.part(m.document("void"), "dump-" + fmt.suffix.lstrip("."))
        g.add((d, VOID.dataDump, url))
        g.add((d, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{fmt.media_type}")))
        if site.license:
            g.add((dist, DCTERMS.license, URIRef(site.license)))
    service = m.part(m.document("void"), "sparql")
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCAT.endpointURL, m.document("sparql")))
    g.add((service, DCAT.servesDataset, d))
    return g


def void_ttl(p: Prepared, triple_count: int) -> bytes:
    """``void.ttl``: the dataset's VoID + DCAT description, in Turtle."""
    return to_turtle(sorted_triples(void_graph(p, triple_count)), {})


class SiteWriter:
    """Writes files under a staging folder, counting them (the publish and pages stages both use it)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self._dirs: set[str] = set()

    def write(self, rel: str, data: bytes) -> None:
        folder, _, _name = rel.rpartition("/")
        if folder not in self._dirs:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            self._dirs.add(folder)
        write_file(os.path.join(self.root, rel), data)
        self.files += 1


def write_site(p: Prepared, root: Path, progress: Progress | None = None,
               timings: dict[str, float] | None = None, index: DumpIndex | None = None) -> tuple[int, int, int]:
    """Write every published file of *p* under *root*; return (triples, resources, files).

    *index*, if given, is filled with where each subject is in the dumps (``lod.dumps``)."""
    say = progress or (lambda _m: None)
    timings = timings if timings is not None else {}
    w = SiteWriter(root)
    root.mkdir(parents=True, exist_ok=True)
    m = p.minter
    prefixes = site_prefixes(m)
    triples = p.triples
    # One pass writes the three dumps and each resource's three files (lod.dumps); it
    # writes exactly the formats of RDF_FORMATS, which this checks.
    assert sorted(f.suffix for f in RDF_FORMATS) == [".jsonld", ".nt", ".ttl"]
    resources_written = write_descriptions(triples, p.terms, m.context, root, m.path_of, w.write, timings, index)
    p.terms.clear(keep_nt=True)  # the Turtle and JSON-LD texts are not needed again
    w.files += len(RDF_FORMATS)
    w.write("context.jsonld", (json.dumps(jsonld_context(prefixes), indent=2, sort_keys=True) + "\n").encode())
    say(f"dumps: dump.ttl, dump.nt, dump.jsonld ({timings['dumps']:.2f}s)")
    say(f"resources: {resources_written} descriptions in {len(RDF_FORMATS)} formats ({timings['resources']:.2f}s)")
    w.write("void.ttl", void_ttl(p, len(triples)))
    w.write("ontology.ttl", (resources.files("lod") / "data" / "lod.ttl").read_bytes())
    w.write(MARKER, (json.dumps({"base_url": m.base, "title": p.dataset.site.title,
                                 "generator": "lod"}, indent=2, sort_keys=True) + "\n").encode())
    return len(triples), resources_written, w.files


# ---------------------------------------------------------------- atomic swap

def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"the output {out} exists and is not a folder; choose another --out.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ConfigError(f"the output folder {out} is not empty and was not built by lod; "
                          "choose another --out (lod replaces its output folder as a whole).")


def _recover(out: Path) -> None:
    """Undo what a build killed mid-swap left behind, and clear stale staging folders."""
    old = out.with_name(f".{out.name}.old")
    if not out.exists() and old.is_dir():
        os.rename(old, out)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{out.name}.lod-state.tmp-*"):  # a state being written when killed
        stale.unlink(missing_ok=True)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)


def swap_in(staging: Path, out: Path) -> None:
    """Replace *out* with *staging* atomically."""
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = out.with_name(f".{out.name}.old")
    os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def _stamps(data_dir: str | os.PathLike[str]) -> dict[str, tuple[int, int, int]]:
    """(inode, size, mtime) of every record file, to notice files edited while a build reads them."""
    from .load import data_files

    root = Path(data_dir)
    stamps: dict[str, tuple[int, int, int]] = {}
    if root.is_dir():
        for path in data_files(root):
            try:
                st = path.stat()
            except OSError:
                continue
            stamps[str(path)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return stamps


def _changed(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]) -> str | None:
    """The first record file added, removed or modified between two stamps, if any."""
    return next((name for name in sorted(before.keys() | after.keys()) if before.get(name) != after.get(name)), None)


def build(data_dir: str | os.PathLike[str] = "data", out_dir: str | os.PathLike[str] = "site",
          base_url: str | None = None, progress: Progress | None = None, incremental: bool = True) -> BuildResult:
    """Build the site from *data_dir* into *out_dir*. Raises LodError subclasses on bad input.

    With *incremental* (the default) and the state an earlier build left beside the site,
    only what changed is rebuilt and published in place (``lod.rebuild``); otherwise, or when
    the rebuild cannot be incremental, the whole site is built and swapped in atomically.
    Either way a failed build leaves the previous site as it was, and the output is the same.
    """
    from . import incremental as inc
    from . import journal
    from .rebuild import rebuild, settled

    say = progress or (lambda _m: None)
    # The code the state will name is the code that runs now, even if files change meanwhile.
    inc.code_digest()
    out = Path(out_dir).absolute()
    _check_out(out)
    if out.parent.is_dir():
        _recover(out)
        journal.recover(out)
    if incremental and out.is_dir():
        result = rebuild(data_dir, out, base_url, progress)
        if result is not None:
            return result
    timings: dict[str, float] = {}
    taken = time.time_ns()
    before = _stamps(data_dir)
    p = prepare(data_dir, base_url, progress, timings, keep=True)
    shacl_results = results_by_owner(p.report)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    index = DumpIndex()
    try:
        staging.mkdir()
        n_triples, n_resources, n_files = write_site(p, staging, progress, timings, index)
        # Further writers of the site (pages, feeds, query gallery) are called here, each
        # returning the number of files it wrote.
        from .pages import write_pages
        n_files += write_pages(p, staging, progress, timings)
        from .gallery import write_gallery
        n_files += write_gallery(p, staging)
        changed = _changed(before, _stamps(data_dir))
        if changed:
            raise BuildError(f"the record file {changed} changed during the build, so the site could mix two "
                             f"versions; nothing was published and the previous {out.name}/ is unchanged. "
                             "Run the build again.")
        # The files whose set depends on the data (a rebuild deletes those it no longer makes).
        sitemaps = sorted([f.name for f in staging.glob("sitemap*.xml")] + [f"search/{f.name}" for f in staging.glob("search/*")])
        swap_in(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise write_error(exc, out) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    t0 = time.perf_counter()
    with no_gc():  # the state is millions of new objects that all live on until it is written
        _save_state(p, out, settled(before, taken), shacl_results, index, sitemaps, n_files, say)
    timings["state"] = time.perf_counter() - t0
    return BuildResult(out, p.minter.base, n_triples, n_resources, n_files, p.report, timings, counts_of(p.dataset))


def write_error(exc: OSError, out: Path) -> BuildError:
    """The message for a site that could not be written (before anything was published)."""
    what = "no space left on the device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return BuildError(f"could not write the site: {what} ({exc.filename or out}). "
                      f"The previous {out.name}/ is unchanged.")


def _save_state(p: Prepared, out: Path, before: dict[str, tuple[int, int, int]],
                shacl_results: dict[str, list[Result]], index: DumpIndex, sitemaps: list[str], n_files: int,
                say: Progress) -> None:
    """Leave beside the freshly built *out* what the next build needs to be incremental."""
    from . import incremental as inc
    from .pages.dirty import record_links
    from .pages.render import pages_cache
    from .rebuild import marker_id, write_state

    site_id = marker_id(out)
    state = inc.State(inc.fingerprint(p.minter.base), site_id or "", p.dataset.site, before, p.parsed,
                      inc.resolved_blobs(p.file_keys, p.dataset), shacl_results,
                      extra={"dumps": index, "links": record_links(p.dataset, p.site_index), "google": p.google_gaps,
                             "deps": inc.file_deps(p.file_keys, p.dataset), "pages": pages_cache(p),
                             "files": n_files, "sitemaps": sitemaps})
    try:
        write_state(out, state)
    except OSError as exc:  # the site is built; only the next build's speed is lost
        say(f"note: could not save the build state beside the site ({exc.strerror or exc}); "
            "the next build will be a full one")
