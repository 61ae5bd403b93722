"""The one registry of formats: media type, file suffix, writer and W3C format IRI.

Content negotiation, the server's documents, the SPARQL endpoint's graph answers and
the round-trip tests read this table. The build writes its dumps and per-resource files
in one pass (``lod.publishing.dumps``) that knows exactly the three *built* RDF formats
(``RDF_FORMATS``), and the pipeline's dumps stage asserts so: a new built format must be
added there too. RDF/XML is *served* only: the server derives it from the N-Triples
document when asked (SPARQLWrapper and rdflib's SPARQLStore ask for it by default), so
the build and the seed site's output do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from lod.model.serialize import Triple, to_jsonld, to_ntriples, to_turtle


@dataclass(frozen=True)
class Site:
    """What a writer needs to know about the site: its prefixes and context URL."""

    prefixes: dict[str, str]
    context_url: str


Writer = Callable[[Iterable[Triple], Site], bytes]


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    suffix: str
    write: Writer | None  # None: not an RDF serialisation (HTML pages are rendered by templates)
    parser: str | None  # rdflib's parser name, for reading it back
    also_accepts: tuple[str, ...] = field(default=())
    charset: str = "utf-8"
    iri: str | None = None  # the W3C format IRI (https://www.w3.org/ns/formats/), for service descriptions
    built: bool = True  # written by `lod build`; False: derived by the server from the N-Triples document

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        return f"{self.media_type}; charset={self.charset}"


def ntriples_to_rdfxml(data: bytes, prefixes: dict[str, str] | None = None) -> bytes:
    """RDF/XML of an N-Triples document, declaring only the *prefixes* it uses (pyoxigraph's writer)."""
    used = {p: ns for p, ns in (prefixes or {}).items() if f"<{ns}".encode() in data}
    out = ox.serialize(ox.parse(data, ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.RDF_XML, prefixes=used)
    assert out is not None
    return out + b"\n"


W3C = "http://www.w3.org/ns/formats/"
# Aliases are the types older clients still send: N3 is a superset of Turtle (a Turtle document
# is an N3 document), and N-Triples was text/plain before it had a type of its own.
TURTLE = Format("turtle", "text/turtle", ".ttl", lambda t, s: to_turtle(t, s.prefixes), "turtle",
                also_accepts=("text/n3",), iri=W3C + "Turtle")
NTRIPLES = Format("ntriples", "application/n-triples", ".nt", lambda t, s: to_ntriples(t), "nt",
                  also_accepts=("text/plain",), iri=W3C + "N-Triples")
JSONLD = Format("jsonld", "application/ld+json", ".jsonld", lambda t, s: to_jsonld(t, s.context_url),
                "json-ld", also_accepts=("application/json",), iri=W3C + "JSON-LD")
RDF_XML = Format("rdfxml", "application/rdf+xml", ".rdf", lambda t, s: ntriples_to_rdfxml(to_ntriples(t), s.prefixes),
                 "xml", iri=W3C + "RDF_XML", built=False)
# text/html only: an answer in text/html to a request that accepts application/xhtml+xml alone
# would be a type the client did not accept.
HTML = Format("html", "text/html", ".html", None, None)

FORMATS: dict[str, Format] = {f.name: f for f in (HTML, TURTLE, NTRIPLES, JSONLD, RDF_XML)}
# Every RDF format the server sends (documents, the VoID, graph answers) …
SERVED_RDF_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS.values() if f.write is not None)
# … and those `lod build` writes to disk (dumps, per-resource documents, pages' alternate links).
RDF_FORMATS: tuple[Format, ...] = tuple(f for f in SERVED_RDF_FORMATS if f.built)


def by_suffix(suffix: str) -> Format | None:
    """The format whose file suffix is *suffix* (with its dot), if any."""
    return next((f for f in FORMATS.values() if f.suffix == suffix), None)


def by_media_type(media_type: str) -> Format | None:
    """The format a media type asks for, aliases included."""
    media_type = media_type.strip().lower()
    return next((f for f in FORMATS.values() if media_type == f.media_type or media_type in f.also_accepts), None)
