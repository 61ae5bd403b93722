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
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pyoxigraph as ox

from lod.errors import BuildError
from lod.querying.engine import Answer, check_query

if TYPE_CHECKING:
    from lod.publishing.prepared import Prepared

# The repository's queries/ folder, shipped inside the package (lod/data/queries links to it)
# so that an installed, non-editable lod publishes the same gallery.
QUERIES_DIR = Path(__file__).resolve().parents[1] / "data" / "queries"
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


# A term of a stored answer: ("i", IRI), ("l", a literal's value), ("o", anything else as text) or None
# (unbound). Plain lists and strings, so that the answers keep in the build state whatever its format.
Term = list[str] | None


def _term(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> Term:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ["i", term.value]
    if isinstance(term, ox.Literal):
        return ["l", term.value]
    return ["o", str(term)]


def stored_answer(answer: Answer, shown: int | None = SHOWN_ROWS) -> dict[str, Any]:
    """An answer as plain data: ``boolean`` for ASK, else ``variables``, the first *shown* ``rows``
    of terms (all if None) and the ``count`` of rows; what the page shows, and all the state keeps."""
    if answer.boolean is not None:
        return {"boolean": answer.boolean}
    if answer.triples is not None:
        ordered = sorted(answer.triples, key=str)
        return {"variables": ["subject", "predicate", "object"], "count": len(ordered),
                "rows": [[_term(t.subject), _term(t.predicate), _term(t.object)] for t in ordered[:shown]]}
    return {"variables": list(answer.variables), "count": len(answer.rows),
            "rows": [[_term(row[v]) for v in answer.variables] for row in answer.rows[:shown]]}


def cell(term: Term, base: str, pages: Container[str] = ()) -> Cell:
    """A table cell: IRIs of the site link to their page's document (relative) when they have one
    (*pages*: the site paths with a page), other http(s) IRIs as they are."""
    if term is None:
        return Cell("")
    kind, text = term
    if kind == "i":
        if text.startswith(base):
            path = text[len(base):]
            return Cell(path, path + ".html" if path in pages else None)
        # Only web links: an IRI such as javascript:… in the data must not become a live link.
        return Cell(text, text if text.startswith(("http://", "https://")) else None)
    return Cell(text)


def _env() -> jinja2.Environment:
    folder = resources.files("lod") / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _answer_view(answer: dict[str, Any], base: str, pages: Container[str] = ()) -> dict[str, object]:
    if "boolean" in answer:
        return {"boolean": answer["boolean"], "variables": [], "rows": [], "count": 1}
    # Links are made now, not stored: whether a resource has a page can change without the answer changing.
    return {"boolean": None, "variables": answer["variables"], "count": answer["count"],
            "rows": [[cell(t, base, pages) for t in row] for row in answer["rows"][:SHOWN_ROWS]]}


@dataclass
class Gallery:
    """What ``write_gallery`` did: files written, the queries answered and those whose answer was
    reused, and the answers to keep for the next build (``state.extra["gallery"]``)."""

    files: int = 0
    answered: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)


def write_gallery(p: "Prepared", staging: Path, folder: Path = QUERIES_DIR,
                  previous: dict[str, dict[str, Any]] | None = None, delta: list[bytes] | None = None,
                  cores: int | None = None) -> Gallery:
    """Write ``queries.html`` and ``queries/*.rq`` under *staging* (which holds the new dump.nt).

    Each query is answered on a store of the lines of dump.nt it reads (``lod.publishing.gallery_reads``).
    A rebuild passes the *previous* build's answers and the *delta*, the N-Triples lines that
    are in the old or the new descriptions of the changed resources but not in both; a query
    none of whose lines is read keeps its previous answer, unrun. The segments kept for the next
    build's narrowing (``lod.publishing.gallery_narrow``) are then the previous ones grown by the
    changed lines' (a superset of the new graph's), not collected again from every line read.
    *cores*: at most that many queries answered at once (None: as many as the machine affords).
    """
    from lod.publishing.gallery_narrow import Segments, collect, meets, shape_of
    from lod.publishing.gallery_reads import Reads, answer_lines, reads_of, touched

    queries = read_gallery(folder)
    done = Gallery()
    if not queries:
        return done
    base = p.minter.base
    previous = previous or {}
    reads: dict[str, Reads] = {}
    grown: dict[str, Segments] = {}  # the previous segments joined with the changed lines'
    todo = []
    for q in queries:
        check_query(q.text)  # a gallery query the endpoint would refuse is a bug in the gallery
        kept = previous.get(q.text)
        if kept is None or "shape" not in kept:
            kept = None
        reads[q.name] = Reads.load(kept["reads"]) if kept else reads_of(q.text)
        if kept is not None and delta is not None:
            # The segments of the new graph's triples are among the old ones and the changed lines'.
            segments = grown[q.name] = collect(delta, kept["shape"], base, into=kept["segments"])
            if not touched(reads[q.name], delta) or (
                    not reads[q.name].everything and not meets(kept["shape"], segments, delta, base)):
                done.answers[q.text] = {**kept, "segments": segments}
                done.reused.append(q.name)
                continue
        todo.append(q)

    def keep(i: int, answer: Answer, lines: Iterable[bytes]) -> dict[str, Any]:
        # Made where the query was answered: what comes back is only what the state keeps.
        q = todo[i]
        kept = previous.get(q.text)
        shape = kept["shape"] if kept and "shape" in kept else shape_of(q.text)
        # A superset of the new graph's segments is all ``meets`` needs: those grown from the
        # previous ones and the changed lines', not collected again from every line read.
        segments = grown[q.name] if q.name in grown else collect(lines, shape, base)
        return {"reads": reads[q.name].dump(), "answer": stored_answer(answer), "shape": shape, "segments": segments}

    fresh = answer_lines(staging / "dump.nt", [(q.text, reads[q.name]) for q in todo], keep,
                         _published_lines(p, staging), cores)
    for q, stored in zip(todo, fresh):
        done.answers[q.text] = stored
        done.answered.append(q.name)
    pages = {path for path in map(p.minter.path_of, p.descriptions) if path}
    entries = [{"query": q, "answer": _answer_view(done.answers[q.text]["answer"], base, pages)} for q in queries]
    html = gallery_html(p, _env().get_template("gallery.html").render(entries=entries, shown=SHOWN_ROWS))
    (staging / "queries").mkdir(exist_ok=True)
    for q in queries:
        (staging / "queries" / f"{q.name}.rq").write_text(q.text, encoding="utf-8")
    (staging / "queries.html").write_bytes(html)
    done.files = len(queries) + 1
    return done


def _published_lines(p: "Prepared", staging: Path) -> bytes | None:
    """The graph as N-Triples when no dump.nt was written under *staging* (a site without dumps)."""
    if (staging / "dump.nt").is_file():
        return None
    from lod.model.serialize import to_ntriples

    return to_ntriples(p.triples, p.terms)


def gallery_html(p: "Prepared", main: str) -> bytes:
    """``queries.html``: *main* in the layout of every page of the site (header, canonical link, icon)."""
    from lod.publishing.pages.helpers import Helpers
    from lod.publishing.pages.jsonld import script_json
    from lod.publishing.pages.layout import page_html
    from lod.publishing.pages.reads import IndexView

    site = p.dataset.site
    url = p.minter.base + "queries.html"
    ctx = {"site": site, "h": Helpers(p, IndexView(p.site_index), "queries", set()), "path": "queries.html",
           "title": "Example queries", "kind_text": "Queries", "canonical": url, "identifier": url,
           "description": f"Example SPARQL queries over {site.title}, each with its answer on the published data.",
           "alternates": [], "calendar": None}
    data = {"@context": "https://schema.org", "@type": "WebPage", "name": f"Example queries · {site.title}", "url": url}
    return page_html(ctx, main, script_json(data)).encode("utf-8")
