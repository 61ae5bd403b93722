"""What a build makes and writes with: the prepared dataset and the site's shared parts.

``Prepared`` (a loaded, mapped and validated dataset), ``SiteWriter``, the dataset's
VoID description, the site prefixes and the record files' stamps. The orchestrator
(``lod.publishing.pipeline``) and the writers of the site
(``lod.publishing.pages``, ``lod.publishing.feeds``, ``lod.publishing.gallery``) all use these; they live here, below all
of them, so that none of those modules imports another that imports it back
(tests/test_imports.py checks the import graph has no cycle).
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import Graph, Literal, URIRef

from lod.model import records as R
from lod.errors import BuildError
from lod.model.formats import RDF_FORMATS
from lod.model.iri import KIND_PATHS, Minter
from lod.publishing.journal import write_file
from lod.model.kinds import COUNTED
from lod.loading.files import data_files
from lod.mapping.triples import graph_of
from lod.progress import Observer
from lod.model.serialize import Terms, Triple, sort_canonical, sorted_triples, to_turtle
from lod.validation.report import Report
from lod.model.vocab import DCAT, DCTERMS, LOD_NS, PREFIXES, RDF, VOID, XSD

if TYPE_CHECKING:
    from lod.publishing.pages.relations import SiteIndex

MARKER = ".lod-site.json"
Progress = Observer  # what a build reports its progress to (lod.progress)


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
    incremental: bool = False  # started from the previous build's state: only what changed was made (lod.publishing.pipeline)


@dataclass
class Prepared:
    """A loaded, mapped and validated dataset: everything a build writes is derived from this.

    *data* is the mapped triples (``lod.mapping.triples.to_triples``), deduplicated, each distinct
    term one shared object; no rdflib Graph is built unless ``graph`` is asked for.
    """

    dataset: R.Dataset
    minter: Minter
    data: list[Triple] | None  # None in a rebuild, which maps only some resources
    report: Report
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
        """Who is related to what (``lod.publishing.pages.relations``), for the pages and for the incremental
        build's dirty rule: built once per build."""
        from lod.publishing.pages.relations import SiteIndex

        return SiteIndex(self)

    @functools.cached_property
    def graph(self) -> Graph:
        """The triples in an rdflib Graph, built on first use: for library users, slow and large at scale."""
        return graph_of(self._data())


def counts_of(ds: R.Dataset) -> dict[str, int]:
    """How many records of each main kind a build published (for its summary)."""
    return {table: len(getattr(ds, table)) for table in COUNTED}


def site_prefixes(minter: Minter) -> dict[str, str]:
    """Prefixes for the site's own resources (``talk:``, ``person:`` …) used in Turtle."""
    return {path: f"{minter.base}{path}/" for path in sorted(set(KIND_PATHS.values()))}


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
    g.add((d, VOID.entities, Literal(p.dataset.record_count())))
    g.add((d, VOID.uriSpace, Literal(m.base)))
    g.add((d, DCAT.landingPage, URIRef(m.base)))
    g.add((d, VOID.sparqlEndpoint, m.document("sparql")))
    for ns in (PREFIXES["schema"], LOD_NS, PREFIXES["prov"], PREFIXES["pav"]):
        g.add((d, VOID.vocabulary, URIRef(ns)))
    for kind in ("talk", "series", "event", "person", "organization"):
        table = p.dataset.table(kind)
        if table:  # the first id in order (not the whole table sorted: a rebuild at 100k talks)
            g.add((d, VOID.exampleResource, m.resource(kind, min(table))))
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

    def write(self, rel: str, data: bytes | Iterable[bytes]) -> None:
        """Write *data* (bytes, or pieces written as they come) as the file *rel*."""
        folder, _, _name = rel.rpartition("/")
        if folder not in self._dirs:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            self._dirs.add(folder)
        write_file(os.path.join(self.root, rel), data)
        self.files += 1


def stamps(data_dir: str | os.PathLike[str]) -> dict[str, tuple[int, int, int]]:
    """(inode, size, mtime) of every record file, to notice files edited while a build reads them."""
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


def first_changed(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]) -> str | None:
    """The first record file added, removed or modified between two stamps, if any."""
    return next((name for name in sorted(before.keys() | after.keys()) if before.get(name) != after.get(name)), None)


def write_error(exc: OSError, out: Path) -> BuildError:
    """The message for a site that could not be written (before anything was published)."""
    what = "no space left on the device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return BuildError(f"could not write the site: {what} ({exc.filename or out}). "
                      f"The previous {out.name}/ is unchanged.")


