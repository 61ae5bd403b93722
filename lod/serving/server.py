"""The Linked Data server: a built site served under its base URL, plus /sparql.

Cool URIs recipe ("303 See Other", documented in docs/server.md): a resource IRI
``BASE + P`` has no extension and is never a document itself. A GET answers
``303 See Other`` to the document ``P.html``, ``P.ttl``, ``P.nt`` or ``P.jsonld``
that the Accept header prefers (``lod.model.negotiate``, over the format registry;
``text/html`` when Accept is missing), with ``Vary: Accept`` and a ``Link`` header
naming every format. Documents are served as they are, with ETag and Last-Modified.

Paths are checked on the raw request target before anything touches the file
system: ``..``, ``.``, backslashes, NUL, control characters and anything that is
still percent-encoded after one decoding (``%252e``) get 400; dotfiles and names
that cannot be site files get 404; the resolved path must lie inside OUT.

Every 4xx/5xx leaves through ``error_response``: JSON ``{"error": {"status", "title",
"detail"}}`` for programs, an HTML page for browsers.
"""

from __future__ import annotations

import asyncio
import difflib
import errno
import hashlib
import json
import logging
import mimetypes
import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from rdflib import Graph
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lod.publishing.calendar_pack import SUFFIX as CALENDAR, Calendars
from lod.publishing.documents import SUFFIXES, Documents, Stale
from lod.errors import BuildError, ConfigError, LodError, QueryError, visible
from lod.model.formats import FORMATS, HTML, NTRIPLES, SERVED_RDF_FORMATS, TURTLE, Format, Site, by_suffix, ntriples_to_rdfxml
from lod.model.iri import KIND_PATHS, Minter, normalise_base_url
from lod.publishing.journal import Watch
from lod.model.negotiate import choose_format, prefers_html
from lod.model.serialize import sorted_triples
from lod.model.vocab import PREFIXES
from lod.serving.sparql import Endpoint
from lod.querying.workers import Limits

log = logging.getLogger("lod.serving.server")

MARKER = ".lod-site.json"
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
SMALL_FILE = 8 * 1024 * 1024  # larger files are streamed
# A site file name: no leading dot (dotfiles are never served), nothing that needs escaping.
_SEGMENT = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9_.~-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EXTRA_TYPES = {
    ".rq": "application/sparql-query", ".css": "text/css", ".js": "text/javascript", ".json": "application/json",
    ".xml": "application/xml", ".txt": "text/plain", ".ics": "text/calendar", ".csv": "text/csv",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".ico": "image/x-icon",
    ".webp": "image/webp", ".woff2": "font/woff2", ".atom": "application/atom+xml", ".rss": "application/rss+xml",
}
_TEXTUAL = re.compile(r"^(text/|application/(json|xml|sparql-query|atom\+xml|rss\+xml)$|image/svg\+xml$)")
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EISDIR})
EXPOSED = "ETag, Last-Modified, Link, Location, Content-Location, Retry-After, Vary"


@dataclass(frozen=True)
class SiteInfo:
    """A built site: its folder, base URL and the path the base URL puts it under."""

    root: Path
    base_url: str
    base_path: str
    title: str


def read_site(site: str | os.PathLike[str]) -> SiteInfo:
    """Read OUT/.lod-site.json; raise ConfigError if *site* is not a site built by lod."""
    root = Path(site).resolve()
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
        base_url = normalise_base_url(str(marker["base_url"]))
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{root} is not a site built by lod (no readable {MARKER}); "
                          "run 'lod build' first or pass --site.") from None
    return SiteInfo(root, base_url, urlsplit(base_url).path or "/", str(marker.get("title", "")))


class NotFound(LodError):
    """No resource or document at a path; carries paths that look close."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        self.suggestions = suggestions or []
        super().__init__(message)


# ---------------------------------------------------------------- errors: the one place

ERROR_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ status }} {{ title }}{% if site_title %} · {{ site_title }}{% endif %}</title>
<style>:root{color-scheme:light dark}body{margin:0 auto;max-width:48rem;padding:1rem;font:1rem/1.55 system-ui,sans-serif}
a{overflow-wrap:anywhere}</style>
</head>
<body>
<h1>{{ status }} {{ title }}</h1>
<p>{{ detail }}</p>
{% if suggestions %}
<p>Did you mean:</p>
<ul>{% for s in suggestions %}<li><a href="{{ s }}">{{ s }}</a></li>{% endfor %}</ul>
{% endif %}
{% if status == 404 %}
<p>Resources of this site live at {{ base }}<var>kind</var>/<var>id</var>, where <var>kind</var> is one of
{% for k in kinds %}<code>{{ k }}</code>{{ ", " if not loop.last else "." }}{% endfor %}
Each has an HTML page and data in Turtle (<code>.ttl</code>), N-Triples (<code>.nt</code>) and JSON-LD (<code>.jsonld</code>).</p>
{% endif %}
<ul>
<li><a href="{{ base }}">Home page</a></li>
<li><a href="{{ base }}queries.html">Example queries</a> and the <a href="{{ base }}sparql">SPARQL endpoint</a></li>
<li><a href="{{ base }}void.ttl">Dataset description (VoID)</a> and the whole dataset:
<a href="{{ base }}dump.ttl">Turtle</a>, <a href="{{ base }}dump.nt">N-Triples</a>, <a href="{{ base }}dump.jsonld">JSON-LD</a></li>
</ul>
</body>
</html>
"""
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


@dataclass(frozen=True)
class Problem:
    """An error as the client sees it."""

    status: int
    detail: str
    headers: Mapping[str, str]
    suggestions: tuple[str, ...] = ()


def problem_of(exc: BaseException) -> Problem:
    """Translate an exception (lod.errors, Starlette's HTTPException, anything else) into a Problem."""
    if isinstance(exc, QueryError):
        return Problem(exc.status, str(exc), {})
    if isinstance(exc, NotFound):
        return Problem(404, str(exc), {}, tuple(exc.suggestions))
    if isinstance(exc, HTTPException):
        return Problem(exc.status_code, str(exc.detail), dict(exc.headers or {}))
    if isinstance(exc, OSError) and exc.errno in _MISSING:
        # A file that vanished between the check and the read (a rebuild), or a name the file
        # system refuses (ENAMETOOLONG): nothing is there, which is a 404, never a traceback.
        return Problem(404, "there is nothing at this path.", {})
    if isinstance(exc, LodError):
        log.error("%s", exc)
        return Problem(500, str(exc), {})
    log.exception("internal error", exc_info=exc)
    return Problem(500, "an internal error occurred; it has been logged.", {})


def error_response(request: Request, problem: Problem, site: SiteInfo | None = None) -> Response:
    """The one error shape: an HTML page for browsers, ``{"error": {...}}`` JSON for everyone else."""
    status = problem.status
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    headers = {**problem.headers, "Vary": "Accept", "Cache-Control": "no-store"}
    if prefers_html(request.headers.get("accept")):
        base = site.base_path if site else "/"
        body = _ENV.from_string(ERROR_TEMPLATE).render(
            status=status, title=title, detail=visible(problem.detail), suggestions=problem.suggestions, base=base,
            kinds=sorted(set(KIND_PATHS.values())), site_title=site.title if site else "").encode("utf-8")
        headers["Content-Type"] = HTML.content_type
    else:
        error: dict[str, Any] = {"status": status, "title": title, "detail": visible(problem.detail)}
        if problem.suggestions:
            error["suggestions"] = list(problem.suggestions)
        body = (json.dumps({"error": error}, ensure_ascii=False) + "\n").encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    headers["Content-Length"] = str(len(body))
    return Response(b"" if request.method == "HEAD" else body, status_code=status, headers=headers)


# ---------------------------------------------------------------- CORS

class CorsHeaders:
    """Linked data is for everyone: every response may be read cross-origin (YASGUI, notebooks)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"access-control-allow-origin", b"*"))
                headers.append((b"access-control-expose-headers", EXPOSED.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)


# ---------------------------------------------------------------- documents

def content_type_for(path: Path) -> str:
    """Content-Type of a site file: the format registry first, then a short list, then mimetypes."""
    fmt = by_suffix(path.suffix)
    if fmt is not None:
        return fmt.content_type
    media = EXTRA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{media}; charset=utf-8" if _TEXTUAL.match(media) else media


def _etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def not_modified(request: Request, etag: str, mtime: float) -> bool:
    """True when the conditional headers match: If-None-Match (weak comparison) wins over If-Modified-Since."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return int(mtime) <= since
    return False


class StaticSite:
    """The files of OUT under the base path, with content negotiation for resource IRIs."""

    def __init__(self, site: SiteInfo) -> None:
        self.site = site
        self._etags: dict[tuple[str, int, int, int], str] = {}
        self._listings: dict[tuple[str, int], list[str]] = {}
        self.served = Documents(site.root)  # P.ttl, P.nt, P.jsonld of a site built with documents: served
        self.calendars = Calendars(site.root)  # and its resources' calendars, P.ics

    # -- paths

    def href(self, rel: str) -> str:
        """The path-absolute URL of a site path (what Location and Link name)."""
        return self.site.base_path + rel

    def relative(self, request: Request) -> str | None:
        """The site path of the request, or None for /.well-known/void; raises on refused paths."""
        raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
        text = raw.decode("latin-1").split("?", 1)[0]
        try:
            decoded = unquote(text, errors="strict")
        except UnicodeDecodeError:
            raise HTTPException(400, "the path is not valid percent-encoded UTF-8.") from None
        if "%" in decoded or "\\" in decoded or _CONTROL.search(decoded) or not decoded.startswith("/"):
            raise HTTPException(400, "the path is not allowed (encoded, backslash or control characters).")
        if any(seg in (".", "..") for seg in decoded.split("/")):
            raise HTTPException(400, "the path is not allowed (dot segments).")
        base = self.site.base_path
        if decoded in ("/.well-known/void", base + ".well-known/void"):
            return None
        if decoded + "/" == base:
            raise _Redirect(base)
        if not decoded.startswith(base):
            raise NotFound(f"{decoded} is outside this site, which lives under {base}.")
        return decoded[len(base):]

    def file(self, rel: str) -> Path | None:
        """The file OUT/rel if it is one and lies inside OUT (symlinks resolved); dotfiles never."""
        segments = rel.split("/")
        if not all(_SEGMENT.match(s) for s in segments):
            return None
        root = self.site.root
        try:
            path = (root / rel).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                return None
        except (OSError, ValueError):
            # ENAMETOOLONG, ELOOP, EACCES …: no file a client could be sent is named so (issue 13.4).
            return None
        return path

    def served_document(self, rel: str) -> bytes | None:
        """The bytes of *rel* answered from the dumps or the calendar pack (``documents: served``), if it is one."""
        if not rel.endswith((*SUFFIXES, CALENDAR)) or not all(_SEGMENT.match(s) for s in rel.split("/")):
            return None
        try:
            if rel.endswith(CALENDAR):
                return self.calendars.calendar(rel)
            return self.served.document(rel)
        except (Stale, OSError, ValueError) as exc:  # an index and dumps of two builds: never wrong bytes
            log.error("%s", exc)
            raise HTTPException(503, "the site is being updated; try again in a moment.",
                                headers={"Retry-After": "5"}) from None

    def derived(self, rel: str) -> tuple[Format, str] | None:
        """For a document the build does not write (``P.rdf``): its format and the N-Triples document it comes from."""
        fmt = by_suffix("." + rel.rsplit(".", 1)[-1]) if "." in rel else None
        if fmt is None or fmt.built or fmt.write is None:
            return None
        source = rel[: -len(fmt.suffix)] + NTRIPLES.suffix
        return (fmt, source) if self.file(source) is not None or self._has_served(source) else None

    def _has_served(self, rel: str) -> bool:
        stem = rel.rpartition(".")[0]
        if not rel.endswith(SUFFIXES) or not all(_SEGMENT.match(s) for s in stem.split("/")):
            return False
        try:
            return self.served.has(stem)
        except (Stale, OSError, ValueError):
            return False

    def documents(self, stem: str) -> dict[Format, str]:
        """The registry formats available for resource *stem*, each with its document's site path."""
        docs = {f: stem + f.suffix for f in FORMATS.values()
                if (self.file(stem + f.suffix) or self._has_served(stem + f.suffix) if f.built
                    else self.derived(stem + f.suffix))}
        if stem == "index" and TURTLE not in docs and self.file("void.ttl"):
            docs[TURTLE] = "void.ttl"  # the home page's data is the dataset description
        return docs

    def link_header(self, docs: Mapping[Format, str], exclude: str | None = None) -> str:
        """``Link`` alternates, one per format."""
        return ", ".join(f'<{self.href(rel)}>; rel="alternate"; type="{fmt.media_type}"'
                         for fmt, rel in docs.items() if rel != exclude)

    def suggestions(self, rel: str) -> list[str]:
        """Site paths close to a mistyped *rel* (same kind folder)."""
        folder, _, name = rel.rstrip("/").rpartition("/")
        if folder not in KIND_PATHS.values() or not name:
            return []
        directory = self.site.root / folder
        try:
            key = (str(directory), directory.stat().st_mtime_ns)
            if key not in self._listings:
                if len(self._listings) > 64:
                    self._listings.clear()
                self._listings[key] = sorted({e.name.split(".", 1)[0] for e in os.scandir(directory)
                                              if not e.name.startswith(".")})
        except OSError:
            return []
        stem = name.split(".", 1)[0]
        return [self.href(f"{folder}/{m}") for m in difflib.get_close_matches(stem, self._listings[key], n=3)]

    # -- responses

    async def etag(self, path: Path, st: os.stat_result) -> str:
        """The ETag of a file (hash of its bytes), cached by inode, size and mtime."""
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
        tag = self._etags.get(key)
        if tag is None:
            tag = await asyncio.to_thread(lambda: _etag_of(path.read_bytes()))
            if len(self._etags) > 100_000:
                self._etags.clear()
            self._etags[key] = tag
        return tag

    def conditional(self, request: Request, body: bytes | None, size: int, etag: str, mtime: float,
                    content_type: str, extra: Mapping[str, str]) -> Response | None:
        """304 when the conditional headers match; else a 200 for a body in memory (None: caller streams)."""
        headers = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True), **extra}
        if not_modified(request, etag, mtime):
            return Response(status_code=304, headers=headers)
        headers["Content-Type"] = content_type
        headers["Content-Length"] = str(size)
        if request.method == "HEAD":
            return Response(b"", headers=headers)
        if body is None:
            return None
        return Response(body, headers=headers)

    async def serve_file(self, request: Request, path: Path, rel: str) -> Response:
        """A document as it is, with Content-Type, ETag, Last-Modified and Link alternates."""
        extra: dict[str, str] = {}
        fmt = by_suffix(path.suffix)
        if fmt is not None:
            docs = self.documents(rel[: -len(fmt.suffix)])
            if len(docs) > 1:
                extra["Link"] = self.link_header(docs, exclude=rel)
        st = path.stat()
        ctype = content_type_for(path)
        if st.st_size <= SMALL_FILE:
            data = path.read_bytes()  # read once: the ETag is of exactly the bytes sent
            response = self.conditional(request, data, len(data), _etag_of(data), st.st_mtime, ctype, extra)
            assert response is not None
            return response
        etag = await self.etag(path, st)
        response = self.conditional(request, None, st.st_size, etag, st.st_mtime, ctype, extra)
        if response is not None:
            return response

        def chunks() -> Any:
            with open(path, "rb") as fh:
                while chunk := fh.read(1024 * 1024):
                    yield chunk

        headers = {"ETag": etag, "Last-Modified": formatdate(st.st_mtime, usegmt=True), "Content-Type": ctype,
                   "Content-Length": str(st.st_size), **extra}
        return StreamingResponse(chunks(), headers=headers)

    def serve_served(self, request: Request, data: bytes, rel: str) -> Response:
        """A document answered from the dumps or the calendar pack: the headers a file of these bytes
        would get (the ETag is of the bytes; Last-Modified is the documents index's or the pack's,
        never earlier than the document's)."""
        extra: dict[str, str] = {}
        if by_suffix(Path(rel).suffix) is not None:  # an RDF document: its alternates, as serve_file says
            docs = self.documents(rel.rpartition(".")[0])
            if len(docs) > 1:
                extra["Link"] = self.link_header(docs, exclude=rel)
        mtime = self.calendars.mtime if rel.endswith(CALENDAR) else self.served.mtime
        response = self.conditional(request, data, len(data), _etag_of(data), mtime,
                                    content_type_for(Path(rel)), extra)
        assert response is not None
        return response

    async def serve_derived(self, request: Request, fmt: Format, source_rel: str, rel: str) -> Response:
        """A document the server derives from the N-Triples one (RDF/XML), with the same caching headers."""
        assert fmt.write is not None
        source = self.file(source_rel)
        nt: bytes | None = None
        if source is not None:
            st = source.stat()
            size, mtime = st.st_size, st.st_mtime
        else:
            nt = self.served_document(source_rel)
            if nt is None:
                raise NotFound(f"there is no document at {self.href(rel)}.")
            size, mtime = len(nt), self.served.mtime
        if size > SMALL_FILE:
            raise NotFound(f"{self.href(rel)} is too large to convert; fetch {self.href(source_rel)} instead.")
        if nt is None:
            assert source is not None
            nt = source.read_bytes()
        prefixes = {**PREFIXES, **{k: f"{self.site.base_url}{k}/" for k in sorted(set(KIND_PATHS.values()))}}
        data = await asyncio.to_thread(ntriples_to_rdfxml, nt, prefixes)
        extra: dict[str, str] = {}
        docs = self.documents(rel[: -len(fmt.suffix)])
        if len(docs) > 1:
            extra["Link"] = self.link_header(docs, exclude=rel)
        response = self.conditional(request, data, len(data), _etag_of(data), mtime, fmt.content_type, extra)
        assert response is not None
        return response

    def negotiate(self, request: Request, stem: str) -> Response:
        """303 See Other from a resource IRI to the document the client prefers."""
        docs = self.documents(stem)
        if not docs:
            raise NotFound(f"there is no resource at {self.href(stem if stem != 'index' else '')}.",
                           self.suggestions(stem))
        link = self.link_header(docs)
        fmt = choose_format(request.headers.get("accept"), list(docs))
        if fmt is None:
            available = ", ".join(f.media_type for f in docs)
            raise HTTPException(406, f"none of the types in the Accept header is available for this resource; "
                                     f"available: {available}.", headers={"Link": link})
        location = self.href(docs[fmt])
        body = f"See {location}\n".encode("utf-8")
        return Response(b"" if request.method == "HEAD" else body, status_code=303, headers={
            "Location": location, "Vary": "Accept", "Link": link, "Content-Type": "text/plain; charset=utf-8",
            "Content-Length": str(len(body))})

    def void(self, request: Request) -> Response:
        """/.well-known/void: the dataset description, negotiated among the RDF formats (Turtle by default)."""
        path = self.file("void.ttl")
        if path is None:
            raise NotFound("this site has no dataset description (void.ttl).")
        fmt = choose_format(request.headers.get("accept"), SERVED_RDF_FORMATS)
        if fmt is None:
            available = ", ".join(f.media_type for f in SERVED_RDF_FORMATS)
            raise HTTPException(406, f"none of the types in the Accept header is available; available: {available}.")
        data = path.read_bytes()
        if fmt is not TURTLE:
            assert fmt.write is not None
            g = Graph().parse(data=data, format="turtle")
            data = fmt.write(sorted_triples(g), Site({}, self.site.base_url + "context.jsonld"))
        extra = {"Vary": "Accept", "Link": self.link_header({TURTLE: "void.ttl"})}
        if fmt is TURTLE:
            extra["Content-Location"] = self.href("void.ttl")
        response = self.conditional(request, data, len(data), _etag_of(data), path.stat().st_mtime,
                                    fmt.content_type, extra)
        assert response is not None
        return response


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


# ---------------------------------------------------------------- the app

class Server:
    """Routes every request: /sparql to the endpoint, /.well-known/void, then the site's files."""

    def __init__(self, site: SiteInfo, endpoint: Endpoint) -> None:
        self.site = site
        self.static = StaticSite(site)
        self.endpoint = endpoint
        # A build killed while applying its journal leaves the site mixed: finish it now,
        # and before any request that finds one (issue 13.3). Raises if it cannot.
        self.journal = Watch(site.root)
        self.journal.settle()

    async def dispatch(self, request: Request) -> Response:
        """Answer one request; every exception becomes the one error shape here."""
        try:
            try:
                self.journal.settle()  # never read a half-applied site
            except BuildError as exc:  # logged in full; the client is not told the server's paths
                log.error("%s", exc)
                raise HTTPException(503, "the site is being updated; try again in a moment.",
                                    headers={"Retry-After": "5"}) from None
            return await self._dispatch(request)
        except _Redirect as r:
            return Response(status_code=308, headers={"Location": r.location})
        except Exception as exc:  # translated, never a traceback to the client
            return error_response(request, problem_of(exc), self.site)

    async def _dispatch(self, request: Request) -> Response:
        rel = self.static.relative(request)
        if rel == "sparql":
            return await self.endpoint.handle(request)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS",
                                                      "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                                                      "Access-Control-Allow-Headers": "Accept",
                                                      "Access-Control-Max-Age": "86400"})
        if request.method not in ("GET", "HEAD"):
            raise HTTPException(405, f"{request.method} is not allowed here: the site is read-only.",
                                headers={"Allow": "GET, HEAD, OPTIONS"})
        if rel is None:
            return self.static.void(request)
        segments = rel.split("/")
        if any(s.startswith(".") for s in segments):
            raise NotFound(f"there is nothing at {self.static.href(rel)}.")
        stem = rel + "index" if rel == "" or rel.endswith("/") else rel
        if "." in stem.rsplit("/", 1)[-1]:
            path = self.static.file(stem)
            if path is None and (served := self.static.served_document(stem)) is not None:
                return self.static.serve_served(request, served, stem)
            if path is None and (derived := self.static.derived(stem)) is not None:
                return await self.static.serve_derived(request, derived[0], derived[1], stem)
            if path is None:
                raise NotFound(f"there is no document at {self.static.href(rel)}.", self.static.suggestions(rel))
            return await self.static.serve_file(request, path, stem)
        if not all(_SEGMENT.match(s) for s in stem.split("/")):
            raise NotFound(f"there is no resource at {self.static.href(rel)}.")
        return self.static.negotiate(request, stem)


def create_app(site: Path, endpoint: str | None = None, *, graph: str | None = None,
               limits: Limits | None = None) -> Starlette:
    """The ASGI app serving the built *site*; SPARQL on embedded workers, or forwarded to *endpoint*.

    *graph* is the named graph ``lod push`` loaded at *endpoint* (default ``BASE + "graph"``;
    ``""`` queries the external store's own default graph).
    """
    info = read_site(site)
    if graph is None:
        graph = str(Minter(info.base_url).graph)
    ep = Endpoint(info.root, info.base_url, limits or Limits(), external=endpoint, graph=graph or None)
    server = Server(info, ep)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ep.start()
        try:
            yield
        finally:
            await ep.stop()

    return Starlette(routes=[Route("/{path:path}", server.dispatch, methods=METHODS)],
                     # gzip for clients that ask (pages, dumps, answers), from 1 KB; CORS outermost.
                     middleware=[Middleware(CorsHeaders), Middleware(GZipMiddleware, minimum_size=1024)],
                     lifespan=lifespan)


def app_from_env() -> Starlette:
    """App factory for production servers: ``uvicorn --factory lod.serving.server:app_from_env``.

    Reads LOD_SITE (default ``site``), LOD_ENDPOINT, LOD_GRAPH, LOD_QUERY_TIMEOUT,
    LOD_ROW_CAP, LOD_QUERY_WORKERS and LOD_QUERY_EXPRESS.
    """
    env = os.environ
    limits = Limits(timeout=float(env.get("LOD_QUERY_TIMEOUT", Limits.timeout)),
                    row_cap=int(env.get("LOD_ROW_CAP", Limits.row_cap)),
                    workers=int(env.get("LOD_QUERY_WORKERS", Limits.workers)),
                    express=float(env.get("LOD_QUERY_EXPRESS", Limits.express)))
    return create_app(Path(env.get("LOD_SITE", "site")), env.get("LOD_ENDPOINT") or None,
                      graph=env.get("LOD_GRAPH"), limits=limits)


def serve(site: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8000, endpoint: str | None = None,
          graph: str | None = None, limits: Limits | None = None) -> None:
    """Run the server with uvicorn until interrupted (``lod serve``)."""
    import uvicorn

    app = create_app(Path(site), endpoint, graph=graph, limits=limits)
    uvicorn.run(app, host=host, port=port, server_header=False, log_level="info")
