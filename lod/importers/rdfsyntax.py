"""Reading an RDF file for ``lod import rdf``: its syntax, its JSON-LD contexts, https schema.org.

Turtle, N-Triples, N3, RDF/XML and JSON-LD, told apart by the file name or, failing that,
by the first character. A web page is read for the JSON-LD in its
``<script type="application/ld+json">`` elements (what venues publish for search engines).
Nothing is fetched: a JSON-LD ``@context`` naming schema.org is read as schema.org's
vocabulary, any other remote context from the file of that name beside the source.
``https://schema.org/`` terms are read as ``http://schema.org/``.
"""

from __future__ import annotations

import json
import logging
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rdflib import Graph, URIRef
from rdflib.term import Node

from lod.errors import ImportFailed
from lod.importers.common import fail

_FORMATS = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld", ".json": "json-ld", ".n3": "n3", ".rdf": "xml",
            ".owl": "xml", ".xml": "xml", ".html": "html", ".htm": "html"}
_HTTPS = "https://schema.org/"
# schema.org's own context makes every term a schema.org term; that is all a scraped page needs
_SCHEMA_CONTEXT = {"@vocab": "http://schema.org/"}


def read_graph(data: bytes, name: str) -> Graph:
    """The triples of *data* (the file *name*), schema.org terms written with http."""
    fmt = _FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        head = data.lstrip()[:15].lower()
        fmt = ("html" if head.startswith((b"<!doctype html", b"<html")) else "xml" if head[:1] == b"<"
               else "json-ld" if head[:1] in (b"{", b"[") else None)
    if fmt is None:
        raise fail(name, "the file name does not say which RDF syntax it is.",
                   "name it .ttl, .nt, .rdf (RDF/XML), .jsonld or .html (a page with JSON-LD).")
    g = Graph()
    # rdflib logs a traceback for each literal it cannot convert ("2011-10-26T109:30:00" as an
    # xsd:dateTime); the importer judges the values itself, with located errors
    quiet = logging.getLogger("rdflib.term")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        if fmt == "html":
            g.parse(data=json.dumps(_local_contexts(_page_jsonld(data, name), name)), format="json-ld")
        elif fmt == "json-ld":
            doc = json.loads(data.decode("utf-8-sig"))
            g.parse(data=json.dumps(_local_contexts(doc, name)), format="json-ld")
        elif fmt == "xml":
            g.parse(data=data, format="xml", publicID=f"file:///{Path(name).name}")
        else:
            g.parse(data=data.decode("utf-8-sig"), format=fmt)
    except ImportFailed:
        raise
    except UnicodeDecodeError:
        raise fail(name, "the file is not UTF-8.", "save it as UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{name}:{exc.lineno}:{exc.colno}", f"the JSON is broken: {exc.msg}.", "the file may be truncated.") from None
    except Exception as exc:  # rdflib raises many classes; its message holds the line
        raise fail(name, f"the {fmt} cannot be parsed: {' '.join(str(exc).split())[:300]}.",
                   "check the syntax near the place named; the file may be truncated.") from None
    finally:
        quiet.setLevel(level)
    out = Graph()
    for s, p, o in g:
        out.add((_http(s), _http(p), _http(o)))
    return out


class _Scripts(HTMLParser):
    """The text of each ``<script type="application/ld+json">``, with the line it starts on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: list[tuple[int, str]] = []
        self.current: list[str] | None = None
        self.line = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and (dict(attrs).get("type") or "").split(";")[0].strip().lower() == "application/ld+json":
            self.current, self.line = [], self.getpos()[0]

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self.current is not None:
            self.blocks.append((self.line, "".join(self.current)))
            self.current = None


def _page_jsonld(data: bytes, name: str) -> list[Any]:
    """The JSON-LD documents of a web page, one list."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # old pages; the JSON-LD itself is ASCII or was declared so
    parser = _Scripts()
    parser.feed(text)
    parser.close()
    if not parser.blocks:
        raise fail(name, "the page holds no JSON-LD (<script type=\"application/ld+json\">); microdata and RDFa "
                   "are not read.", "save the page's JSON-LD as a .jsonld file, or export the data as Turtle.")
    docs: list[Any] = []
    for line, block in parser.blocks:
        try:
            doc = json.loads(block)
        except json.JSONDecodeError as exc:
            raise fail(f"{name}:{line + exc.lineno - 1}", f"the JSON-LD script is broken: {exc.msg}.",
                       "the page's JSON-LD must be valid JSON; save it as a .jsonld file and correct it.") from None
        docs += doc if isinstance(doc, list) else [doc]
    return docs


def _local_contexts(doc: Any, name: str) -> Any:
    """Replace each remote @context by schema.org's vocabulary or the file of that name beside the source."""
    if isinstance(doc, dict):
        return {k: (_context(v, name) if k == "@context" else _local_contexts(v, name)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_local_contexts(v, name) for v in doc]
    return doc


def _context(ctx: Any, name: str) -> Any:
    if isinstance(ctx, list):
        return [_context(c, name) for c in ctx]
    if isinstance(ctx, str):
        if urlsplit(ctx).netloc.lower() in ("schema.org", "www.schema.org"):
            return _SCHEMA_CONTEXT
        local = Path(name).parent / ctx.rstrip("/").rsplit("/", 1)[-1]
        if not local.is_file():
            raise fail(name, f"the JSON-LD context {ctx!r} is remote and is not fetched.",
                       f"save it as {local} beside the file, or inline it.")
        return json.loads(local.read_text(encoding="utf-8")).get("@context", {})
    if isinstance(ctx, dict):  # {"@vocab": "https://schema.org/"} and the like stay; nested remote ones are read
        return {k: (_context(v, name) if k == "@context" else v) for k, v in ctx.items()}
    return ctx


def _http(term: Node) -> Any:
    if isinstance(term, URIRef) and str(term).startswith(_HTTPS):
        return URIRef("http://schema.org/" + str(term)[len(_HTTPS):])
    return term
