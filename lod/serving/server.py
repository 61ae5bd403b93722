"""The Linked Data server: a built site served under its base URL, plus /sparql.

``Server`` routes every request: /sparql to the endpoint (``lod.serving.sparql``),
/.well-known/void, then the site's files and resource IRIs (``lod.serving.static``, which
says how paths are checked and resources negotiated). Every exception becomes the one
error shape of ``lod.serving.problems``. Every response may be read cross-origin.
``create_app`` makes the ASGI app, ``app_from_env`` is its factory for production servers,
``serve`` runs it under uvicorn (``lod serve``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lod.errors import BuildError
from lod.model.iri import Minter
from lod.publishing.journal import Watch
from lod.querying.workers import Limits
from lod.serving.problems import NotFound, error_response, log, problem_of
from lod.serving.site import SiteInfo, check_servable, read_site
from lod.serving.sparql import Endpoint
from lod.serving.static import SEGMENT, Redirect, StaticSite

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
EXPOSED = "ETag, Last-Modified, Link, Location, Content-Location, Retry-After, Vary"


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
        except Redirect as r:
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
        if not all(SEGMENT.match(s) for s in stem.split("/")):
            raise NotFound(f"there is no resource at {self.static.href(rel)}.")
        return self.static.negotiate(request, stem)


def create_app(site: Path, endpoint: str | None = None, *, graph: str | None = None,
               limits: Limits | None = None) -> Starlette:
    """The ASGI app serving the built *site*; SPARQL on embedded workers, or forwarded to *endpoint*.

    *graph* is the named graph ``lod push`` loaded at *endpoint* (default ``BASE + "graph"``;
    ``""`` queries the external store's own default graph).
    """
    info = read_site(site)
    check_servable(info)
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
