"""The site's files under the base path: refused paths, documents, content negotiation, caching.

Cool URIs recipe ("303 See Other", documented in docs/server.md): a resource IRI
``BASE + P`` has no extension and is never a document itself. A GET answers
``303 See Other`` to the document ``P.html``, ``P.ttl``, ``P.nt`` or ``P.jsonld``
that the Accept header prefers (``lod.model.negotiate``, over the format registry;
``text/html`` when Accept is missing), with ``Vary: Accept`` and a ``Link`` header
naming every format. Documents are served as they are, with ETag and Last-Modified;
those of a site built with ``documents: served`` are answered from the dumps and the
calendar pack, byte for byte the files, and RDF/XML is derived from the N-Triples.

Paths are checked on the raw request target before anything touches the file
system: ``..``, ``.``, backslashes, NUL, control characters and anything that is
still percent-encoded after one decoding (``%252e``) get 400; dotfiles and names
that cannot be site files get 404; the resolved path must lie inside OUT.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import mimetypes
import os
import re
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from rdflib import Graph
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from lod.publishing.calendar_pack import SUFFIX as CALENDAR, Calendars
from lod.publishing.documents import SUFFIXES, Documents, Stale
from lod.model.formats import FORMATS, NTRIPLES, SERVED_RDF_FORMATS, TURTLE, Format, Site, by_suffix, ntriples_to_rdfxml
from lod.model.iri import KIND_PATHS
from lod.model.negotiate import choose_format
from lod.model.serialize import sorted_triples
from lod.model.vocab import PREFIXES
from lod.serving.problems import NotFound, log
from lod.serving.site import SiteInfo

SMALL_FILE = 8 * 1024 * 1024  # larger files are streamed
# A site file name: no leading dot (dotfiles are never served), nothing that needs escaping.
SEGMENT = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9_.~-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EXTRA_TYPES = {
    ".rq": "application/sparql-query", ".css": "text/css", ".js": "text/javascript", ".json": "application/json",
    ".xml": "application/xml", ".txt": "text/plain", ".ics": "text/calendar", ".csv": "text/csv",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".ico": "image/x-icon",
    ".webp": "image/webp", ".woff2": "font/woff2", ".atom": "application/atom+xml", ".rss": "application/rss+xml",
}
_TEXTUAL = re.compile(r"^(text/|application/(json|xml|sparql-query|atom\+xml|rss\+xml)$|image/svg\+xml$)")


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
            raise Redirect(base)
        if not decoded.startswith(base):
            raise NotFound(f"{decoded} is outside this site, which lives under {base}.")
        return decoded[len(base):]

    def file(self, rel: str) -> Path | None:
        """The file OUT/rel if it is one and lies inside OUT (symlinks resolved); dotfiles never."""
        segments = rel.split("/")
        if not all(SEGMENT.match(s) for s in segments):
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
        if not rel.endswith((*SUFFIXES, CALENDAR)) or not all(SEGMENT.match(s) for s in rel.split("/")):
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
        if not rel.endswith(SUFFIXES) or not all(SEGMENT.match(s) for s in stem.split("/")):
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
        mtime = self.calendars.mtime(rel) if rel.endswith(CALENDAR) else self.served.mtime
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


class Redirect(Exception):
    """The site's base path asked for without its final slash: a 308 to *location* (``Server`` answers it)."""

    def __init__(self, location: str) -> None:
        self.location = location
