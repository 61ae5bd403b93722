"""Contract: each page's embedded JSON-LD, expanded with the official schema.org context,
holds every triple of the resource's own Turtle description (OUT/P.ttl)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import html5lib
import pytest
from pyld import jsonld
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from lod.publishing.pages import COERCED_TERMS, DATE_TERMS, ID_TERMS
from lod.publishing.build import BuildResult
from lod.model.vocab import SCHEMA, XSD

from .conftest import SHARED

CONTEXT_FILE = SHARED / "vocab" / "schemaorg-30.0" / "schemaorgcontext.jsonld"
SCHEMA_CONTEXT_URLS = {"https://schema.org", "https://schema.org/", "http://schema.org", "http://schema.org/",
                       "https://schema.org/docs/jsonldcontext.jsonld", "http://schema.org/docs/jsonldcontext.jsonld"}
SCHEMA_DATES = {URIRef("http://schema.org/Date"), URIRef("http://schema.org/DateTime")}
Loader = Callable[[str, Any], dict[str, Any]]

pytestmark = pytest.mark.skipif(not CONTEXT_FILE.is_file(), reason="../shared (official schema.org context) is absent")


@pytest.fixture(scope="module")
def loader() -> Loader:
    """A pyld document loader serving the official context and refusing everything else (no network)."""
    document = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url in SCHEMA_CONTEXT_URLS:
            return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                    "document": document}
        raise jsonld.JsonLdError(f"refusing to load {url}", "jsonld.LoadDocumentError",
                                 code="loading document failed")
    return load


def embedded(html: bytes) -> dict[str, Any]:
    doc = html5lib.parse(html, namespaceHTMLElements=False)
    scripts = [s for s in doc.iter("script") if s.get("type") == "application/ld+json"]
    assert len(scripts) == 1
    return json.loads(scripts[0].text or "")


def to_graph(data: dict[str, Any], loader: Loader) -> Graph:
    nquads = jsonld.to_rdf(data, {"documentLoader": loader, "format": "application/n-quads"})
    return Graph().parse(data=nquads, format="nt")  # default graph only: N-Quads lines are N-Triples


def date_key(o: Node) -> Node | tuple[str, str]:
    """Dates compare by lexical value: the official context types them schema:Date."""
    if isinstance(o, Literal) and (o.datatype in (XSD.date, XSD.dateTime) or o.datatype in SCHEMA_DATES):
        return ("date", str(o))
    return o


def keyed(g: Graph) -> set[tuple[Node, Node, Node | tuple[str, str]]]:
    return {(s, p, date_key(o)) for s, p, o in g}


@pytest.fixture(scope="module")
def page_graphs(seed_site: BuildResult, loader: Loader) -> dict[str, tuple[Graph, Graph]]:
    """For every resource page: (triples of the embedded JSON-LD, triples of OUT/P.ttl)."""
    out: dict[str, tuple[Graph, Graph]] = {}
    for page in sorted(seed_site.out.rglob("*.html")):
        if page.parent == seed_site.out:  # index.html (tested below), queries.html (not a resource)
            continue
        if page.parent.name == "talks":  # a year's archive page (lod.publishing.pages.listing), not a resource
            continue
        ttl = page.with_suffix(".ttl")
        assert ttl.is_file(), page
        out[page.relative_to(seed_site.out).with_suffix("").as_posix()] = (
            to_graph(embedded(page.read_bytes()), loader), Graph().parse(ttl, format="turtle"))
    return out


def test_jsonld_contains_every_triple_of_the_turtle_description(page_graphs: dict[str, tuple[Graph, Graph]]) -> None:
    assert len(page_graphs) == 114
    missing: dict[str, list[str]] = {}
    for path, (from_jsonld, from_ttl) in page_graphs.items():
        got = keyed(from_jsonld)
        lost = [f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in from_ttl if (s, p, date_key(o)) not in got]
        if lost:
            missing[path] = lost
    # The workshop's days become the first start and last end of its agenda (lod.publishing.pages.jsonld.scheduled).
    workshop = "<http://localhost:8000/event/mdl-workshop-2025> <http://schema.org/"
    assert {path: sorted(lost) for path, lost in missing.items()} == {"event/mdl-workshop-2025": [
        workshop + 'endDate> "2025-02-21"^^<http://www.w3.org/2001/XMLSchema#date>',
        workshop + 'startDate> "2025-02-20"^^<http://www.w3.org/2001/XMLSchema#date>']}
    from_jsonld, _ttl = page_graphs["event/mdl-workshop-2025"]
    iri = URIRef("http://localhost:8000/event/mdl-workshop-2025")
    assert [str(o) for o in from_jsonld.objects(iri, SCHEMA.startDate)] == ["2025-02-20T08:30:00-06:00"]
    assert [str(o) for o in from_jsonld.objects(iri, SCHEMA.endDate)] == ["2025-02-21T16:00:00-06:00"]


def test_jsonld_dates_are_schema_dates_with_the_same_lexical_value(page_graphs: dict[str, tuple[Graph, Graph]]) -> None:
    from_jsonld, _ttl = page_graphs["talk/2023-10-26-paul-christiano"]
    talk = URIRef("http://localhost:8000/talk/2023-10-26-paul-christiano")
    assert list(from_jsonld.objects(talk, SCHEMA.startDate)) == [
        Literal("2023-10-26T09:00:00+11:00", datatype=URIRef("http://schema.org/Date"))]


def test_jsonld_says_nothing_the_dump_does_not_except_inherited_offers(
        seed_site: BuildResult, page_graphs: dict[str, tuple[Graph, Graph]]) -> None:
    dump = keyed(Graph().parse(seed_site.out / "dump.nt", format="nt"))
    extra: dict[str, list[tuple[Node, Node, Node]]] = {}
    for path, (from_jsonld, _ttl) in page_graphs.items():
        more = [(s, p, o) for s, p, o in from_jsonld if (s, p, date_key(o)) not in dump]
        if more:
            extra[path] = more
    offer = URIRef("http://localhost:8000/event/mdl-workshop-2025#offer")
    room = URIRef("http://localhost:8000/place/gdc-6-302")
    workshop = extra.pop("event/mdl-workshop-2025")
    assert {p for _s, p, _o in workshop} == {SCHEMA.startDate, SCHEMA.endDate}  # times of its agenda
    for path, triples in extra.items():
        iri = URIRef("http://localhost:8000/" + path)
        if path.startswith("session/"):  # the student talks' sessions are where their talks are
            assert path.endswith("-student-talks"), path
            assert (iri, SCHEMA.location, room) in triples
            assert {s for s, _p, _o in triples} <= {iri, room}, path
            continue
        assert path.startswith("talk/2025-02-"), path
        assert triples == [(iri, SCHEMA.offers, offer)]
    assert len(extra) == 14 + 2  # the workshop's talks carry the workshop's (free) offer


def test_jsonld_coercion_tables_match_the_official_context() -> None:
    context = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]
    coerced = {name for name in SCHEMA.__annotations__
               if isinstance(context.get(name), dict) and "@type" in context[name]}
    assert coerced == COERCED_TERMS
    assert {n for n in coerced if context[n]["@type"] == "@id"} == ID_TERMS
    assert {n for n in coerced if context[n]["@type"] in ("Date", "DateTime")} == DATE_TERMS
    assert context["@vocab"] == "http://schema.org/"


def test_jsonld_loader_refuses_other_documents(loader: Loader) -> None:
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand({"@context": "https://example.org/context.jsonld", "name": "x"}, {"documentLoader": loader})
    with pytest.raises(jsonld.JsonLdError):
        loader("file:///etc/passwd", None)


def test_jsonld_index_page_describes_the_dataset(seed_site: BuildResult, loader: Loader) -> None:
    g = to_graph(embedded((seed_site.out / "index.html").read_bytes()), loader)
    dataset = URIRef("http://localhost:8000/void#dataset")
    assert (dataset, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef("http://schema.org/Dataset")) in g
    assert set(g.objects(dataset, SCHEMA.name)) == {Literal("Talks on mathematics and AI")}
    assert len(list(g.objects(dataset, URIRef("http://schema.org/distribution")))) == 3
