"""The query gallery: example SPARQL queries with their answers on the built data.

Each ``queries/NAME.rq`` starts with ``# title: …`` and ``# description: …`` lines.
``write_gallery`` runs every query on the data being published (pyoxigraph over the
graph's triples, through the same ``check_query`` as the endpoint) and writes
``OUT/queries.html`` plus a copy of each file as ``OUT/queries/NAME.rq``; the
endpoint's HTML form lists those copies.

The queries name resources by their labels, not by IRI, so they answer the same
under any base URL and on any store the dataset is pushed to.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import pyoxigraph as ox

from .errors import BuildError
from .query import Answer, check_query, run

if TYPE_CHECKING:
    from .prepared import Prepared

# The repository's queries/ folder, shipped inside the package (lod/data/queries links to it)
# so that an installed, non-editable lod publishes the same gallery.
QUERIES_DIR = Path(__file__).resolve().parent / "data" / "queries"
SHOWN_ROWS = 100  # rows of an answer shown on the page; the count says how many there are
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HEADER = re.compile(r"^#\s*(title|description):\s*(.+?)\s*$")


@dataclass(frozen=True)
class GalleryQuery:
    """One example query: file stem, title, description and the query text."""

    name: str
    title: str
    description: str
    text: str


@dataclass(frozen=True)
class Cell:
    """A term as shown on the page: its text and, for IRIs, where it links."""

    text: str
    href: str | None = None


def parse_query_file(path: Path) -> GalleryQuery:
    """Read one ``.rq`` file; raise BuildError if its name or header is missing or wrong."""
    name = path.stem
    if not _NAME.match(name):
        raise BuildError(f"{path}: a gallery query's file name must be lower-case words joined by '-'.")
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        m = _HEADER.match(line)
        if not m:
            break
        header[m.group(1)] = m.group(2)
    if "title" not in header or "description" not in header:
        raise BuildError(f"{path}: a gallery query must start with '# title: …' and '# description: …' lines.")
    return GalleryQuery(name, header["title"], header["description"], text)


def read_gallery(folder: Path = QUERIES_DIR) -> list[GalleryQuery]:
    """The gallery's queries, by file name; empty when *folder* does not exist."""
    if not folder.is_dir():
        return []
    return [parse_query_file(p) for p in sorted(folder.glob("*.rq"))]


def cell(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None, base: str,
         pages: Container[str] = ()) -> Cell:
    """A table cell: IRIs of the site link to their page's document (relative) when they have one
    (*pages*: the site paths with a page), other http(s) IRIs as they are."""
    if term is None:
        return Cell("")
    if isinstance(term, ox.NamedNode):
        iri = term.value
        if iri.startswith(base):
            path = iri[len(base):]
            return Cell(path, path + ".html" if path in pages else None)
        # Only web links: an IRI such as javascript:… in the data must not become a live link.
        return Cell(iri, iri if iri.startswith(("http://", "https://")) else None)
    if isinstance(term, ox.Literal):
        return Cell(term.value)
    return Cell(str(term))


def _env() -> jinja2.Environment:
    folder = resources.files("lod") / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _answer_view(answer: Answer, base: str, pages: Container[str] = ()) -> dict[str, object]:
    if answer.boolean is not None:
        return {"boolean": answer.boolean, "variables": [], "rows": [], "count": 1}
    if answer.triples is not None:
        rows = [[cell(t.subject, base, pages), cell(t.predicate, base, pages), cell(t.object, base, pages)]
                for t in sorted(answer.triples, key=str)]
        return {"boolean": None, "variables": ["subject", "predicate", "object"], "rows": rows[:SHOWN_ROWS],
                "count": len(rows)}
    rows = [[cell(row[v], base, pages) for v in answer.variables] for row in answer.rows]
    return {"boolean": None, "variables": answer.variables, "rows": rows[:SHOWN_ROWS], "count": len(rows)}


def gallery_store(p: "Prepared", staging: Path) -> ox.Store:
    """A pyoxigraph store of the published triples (the dump just written, else the graph itself)."""
    store = ox.Store()
    dump = staging / "dump.nt"
    if dump.is_file():
        store.bulk_load(path=str(dump), format=ox.RdfFormat.N_TRIPLES)
    else:
        from .serialize import to_ntriples

        store.bulk_load(to_ntriples(p.triples, p.terms), format=ox.RdfFormat.N_TRIPLES)
    return store


def write_gallery(p: "Prepared", staging: Path, folder: Path = QUERIES_DIR) -> int:
    """Write ``queries.html`` and ``queries/*.rq`` under *staging*; return the number of files written."""
    queries = read_gallery(folder)
    if not queries:
        return 0
    base = p.minter.base
    store = gallery_store(p, staging)
    pages = {path for path in map(p.minter.path_of, p.descriptions) if path}
    entries = []
    for q in queries:
        check_query(q.text)  # a gallery query the endpoint would refuse is a bug in the gallery
        entries.append({"query": q, "answer": _answer_view(run(store, q.text), base, pages)})
    html = gallery_html(p, _env().get_template("gallery.html").render(entries=entries, shown=SHOWN_ROWS))
    (staging / "queries").mkdir(exist_ok=True)
    for q in queries:
        (staging / "queries" / f"{q.name}.rq").write_text(q.text, encoding="utf-8")
    (staging / "queries.html").write_bytes(html)
    return len(queries) + 1


def gallery_html(p: "Prepared", main: str) -> bytes:
    """``queries.html``: *main* in the layout of every page of the site (header, canonical link, icon)."""
    from .pages.helpers import Helpers
    from .pages.jsonld import script_json
    from .pages.layout import page_html

    site = p.dataset.site
    url = p.minter.base + "queries.html"
    ctx = {"site": site, "h": Helpers(p, p.site_index, "queries", set()), "path": "queries.html",
           "title": "Example queries", "kind_text": "Queries", "canonical": url, "identifier": url,
           "description": f"Example SPARQL queries over {site.title}, each with its answer on the published data.",
           "alternates": [], "calendar": None}
    data = {"@context": "https://schema.org", "@type": "WebPage", "name": f"Example queries · {site.title}", "url": url}
    return page_html(ctx, main, script_json(data)).encode("utf-8")
