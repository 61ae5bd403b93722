"""The one registry of formats: media type, file suffix and writer.

Content negotiation, the server's documents and the round-trip tests read this
table. The build writes its dumps and per-resource files in one pass (``lod.dumps``)
that knows exactly these three RDF formats, and ``publish.write_site`` asserts so: a new
RDF format added here must be added there too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .serialize import Triple, to_jsonld, to_ntriples, to_turtle


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

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        return f"{self.media_type}; charset={self.charset}"


TURTLE = Format("turtle", "text/turtle", ".ttl", lambda t, s: to_turtle(t, s.prefixes), "turtle")
NTRIPLES = Format("ntriples", "application/n-triples", ".nt", lambda t, s: to_ntriples(t), "nt")
JSONLD = Format("jsonld", "application/ld+json", ".jsonld", lambda t, s: to_jsonld(t, s.context_url),
                "json-ld",
                also_accepts=("application/json",))
HTML = Format("html", "text/html", ".html", None, None, also_accepts=("application/xhtml+xml",))

FORMATS: dict[str, Format] = {f.name: f for f in (HTML, TURTLE, NTRIPLES, JSONLD)}
RDF_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS.values() if f.write is not None)


def by_suffix(suffix: str) -> Format | None:
    """The format whose file suffix is *suffix* (with its dot), if any."""
    return next((f for f in FORMATS.values() if f.suffix == suffix), None)


def by_media_type(media_type: str) -> Format | None:
    """The format a media type asks for, aliases included."""
    media_type = media_type.strip().lower()
    return next((f for f in FORMATS.values() if media_type == f.media_type or media_type in f.also_accepts), None)
