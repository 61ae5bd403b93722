"""The read-only SPARQL 1.1 endpoint: protocol, query worker processes, limits.

Safety, in the order a request meets it:

1. Protocol: GET ``?query=``, POST form, POST ``application/sparql-query``; the body
   is capped (``max_body``); two queries, updates and unknown content types are refused
   before any parsing, and ``default-graph-uri`` / ``named-graph-uri`` may name only the
   graph the endpoint holds (``Minter.graph``; anything else is 400, nothing is fetched).
2. At most ``max_concurrent`` queries are admitted; the next gets 429 + Retry-After.
3. Each query runs in a worker *process* (``lod.querying.workers``) holding a
   pyoxigraph store of ``OUT/dump.nt``. The worker first runs ``lod.querying.check.check_query``
   (a lexical check: refuses updates, SERVICE, FROM/FROM NAMED in any reading), then evaluates.
   Workers also install a seccomp filter that makes ``socket(AF_INET/AF_INET6)`` fail,
   so even a query the check missed cannot reach the network (Linux x86-64/aarch64).
   An express worker answers short queries while long ones hold the others.
4. A wall-clock timeout kills the worker (pyoxigraph cannot be interrupted any other
   way) and a fresh one replaces it; the client gets 503. Results are counted while
   they are serialised and a result over ``row_cap`` rows gets 422, never a partial 200.
5. A new ``dump.nt`` (``lod build``) is loaded by a new generation of workers, and
   queries switch to it once it is ready: no restart, no dropped request.

With ``endpoint=`` the queries are checked the same way, then forwarded to an external
SPARQL endpoint (the store ``lod push`` loaded), with the same timeout and row cap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import jinja2
from rdflib import Literal, Namespace, URIRef
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from lod.errors import LodError, QueryError
from lod.model.formats import HTML, SERVED_RDF_FORMATS, Site
from lod.publishing.gallery import GalleryQuery, parse_query_file
from lod.model.iri import KIND_PATHS, Minter
from lod.model.negotiate import choose_format
from lod.model.serialize import sorted_triples
from lod.model.vocab import DCTERMS, PREFIXES, RDF, RDFS
from lod.querying.pool import WorkerPool
from lod.querying.workers import (
    GRAPH_FORMATS,
    GRAPH_FORMS,
    RESULT_FORMATS,
    Limits,
    convert,
    negotiate_result,
    row_cap_error,
)

log = logging.getLogger("lod.serving.sparql")

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
UPDATE_PARAMS = ("update", "using-graph-uri", "using-named-graph-uri")
DATASET_PARAMS = ("default-graph-uri", "named-graph-uri")
MAX_REMOTE_BYTES = 256 * 1024 * 1024  # an external endpoint's answer larger than this is refused


# ---------------------------------------------------------------- protocol

@dataclass(frozen=True)
class ProtocolRequest:
    """What a request to /sparql asks for: a query text (None: the service description) and its dataset.

    *default_graphs* / *named_graphs* are the ``default-graph-uri`` / ``named-graph-uri``
    values, already checked to name graphs the endpoint holds.
    """

    query: str | None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()

    @property
    def dataset(self) -> dict[str, bool]:
        """The dataset of the query: with no dataset parameter, the endpoint's graph is the default graph.

        SPARQL 1.1 Protocol §2.1.4: a dataset in the request replaces the default one, so
        ``named-graph-uri`` alone leaves the default graph empty.
        """
        if not self.default_graphs and not self.named_graphs:
            return {"default": True, "named": False}
        return {"default": bool(self.default_graphs), "named": bool(self.named_graphs)}


def graph_refused(param: str, iri: str, held: tuple[str, ...]) -> QueryError:
    """400 for a dataset parameter naming a graph the endpoint does not hold (it never fetches one)."""
    names = " or ".join(f"<{g}>" for g in held)
    return QueryError(f"{param} <{iri}> is not a graph of this endpoint, which holds one graph, {names}, and never "
                      f"fetches graphs from elsewhere; name that graph or leave {param} out.", 400)


def _params(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=False,
                         encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise QueryError(f"the {what} is not valid percent-encoded UTF-8.") from None


async def read_body(request: Request, max_body: int) -> bytes:
    """The request body, refused with 413 past *max_body* bytes (checked before and while reading)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPException(400, "the Content-Length header is not a number.")
        if int(length) > max_body:
            raise HTTPException(413, f"the request body is larger than {max_body} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise HTTPException(413, f"the request body is larger than {max_body} bytes.")
    return bytes(body)


async def read_protocol(request: Request, max_body: int, graphs: tuple[str, ...] = ()) -> ProtocolRequest:
    """Parse a SPARQL 1.1 Protocol query request; refuse updates, foreign graphs and malformed requests.

    *graphs* are the graph IRIs the endpoint holds: ``default-graph-uri`` / ``named-graph-uri``
    may name them and nothing else (400, before anything is fetched or run).
    """
    params = _params(request.scope.get("query_string", b""), "query string")
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await read_body(request, max_body)
        if ctype == FORM_TYPE:
            params += _params(body, "form body")
        elif ctype == QUERY_TYPE:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise QueryError("the query is not valid UTF-8.") from None
            params.append(("query", text))
        elif ctype == UPDATE_TYPE:
            raise QueryError("updates are refused: this endpoint is read-only.", 403)
        else:
            raise HTTPException(415, f"a query is POSTed as {FORM_TYPE} or {QUERY_TYPE}, "
                                     f"not {ctype or 'a body without Content-Type'}.")
    names = [name for name, _ in params]
    if any(n in UPDATE_PARAMS for n in names):
        raise QueryError("updates are refused: this endpoint is read-only.", 403)
    chosen: dict[str, list[str]] = {n: [] for n in DATASET_PARAMS}
    for name, value in params:
        if name in chosen:
            if value not in graphs:
                raise graph_refused(name, value, graphs)
            chosen[name].append(value)
    queries = [value for name, value in params if name == "query"]
    if len(queries) > 1:
        raise QueryError(f"the request holds {len(queries)} queries; send exactly one 'query' parameter.")
    if not queries:
        if request.method == "POST":
            raise QueryError("the request holds no query; send it in a 'query' parameter.")
        return ProtocolRequest(None)
    if not queries[0].strip():
        raise QueryError("the query is empty.")
    return ProtocolRequest(queries[0], tuple(chosen["default-graph-uri"]), tuple(chosen["named-graph-uri"]))


def remote_error(status: int, detail: str) -> QueryError:
    """The external endpoint's error as ours: its 4xx (the query's fault) as 400 with its message, unless it
    says more precisely (413, 429 with ours); its failures as 502, timeouts as 504."""
    detail = " ".join(detail.split())
    message = f"the external endpoint answered {status}" + (f": {detail}" if detail else ".")
    if status in (408, 504):
        return QueryError(message, 504)
    if status in (413, 429):
        return QueryError(message, status)
    if 400 <= status < 500:
        return QueryError(message, 400)
    if _UNKNOWN_FUNCTION_REMOTE.search(detail):
        # Stores that fail on an unknown extension function say so with a 500 (Oxigraph): it is the query's
        # fault, and SPARQL makes it an expression error, which we cannot apply remotely.
        return QueryError(f"{message}; the query calls a function the external store does not know.", 400)
    return QueryError(message, 502)


_UNKNOWN_FUNCTION_REMOTE = re.compile(r"custom function <[^>]*> is not supported|unknown function|"
                                      r"function .{0,200} (?:is )?not (?:supported|known|found)", re.IGNORECASE)


# ---------------------------------------------------------------- the endpoint

FORM_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SPARQL endpoint · {{ title }}</title>
<style>
:root{color-scheme:light dark}
body{margin:0 auto;max-width:60rem;padding:0 1rem 2rem;font:1rem/1.55 system-ui,sans-serif}
textarea{width:100%;font:.9rem/1.4 ui-monospace,monospace}
a{overflow-wrap:anywhere}
</style>
</head>
<body>
<p><a href="./">{{ title }}</a></p>
<h1>SPARQL endpoint</h1>
<p>A read-only <a href="https://www.w3.org/TR/sparql11-protocol/">SPARQL 1.1</a> endpoint over the
{{ triples }} triples of this site. Send a query with GET <code>?query=</code>, a form POST or
a POST of <code>application/sparql-query</code>; choose the answer's format with the Accept header
(SPARQL JSON, XML, CSV or TSV; Turtle, N-Triples, JSON-LD or RDF/XML for CONSTRUCT and DESCRIBE).</p>
<p>Limits: {{ timeout }} s per query, {{ row_cap }} rows per answer, {{ max_body }} bytes per request.
SERVICE, FROM, FROM NAMED and updates are refused; <code>default-graph-uri</code> and
<code>named-graph-uri</code> may name this dataset's graph, <code>{{ graph }}</code>, and no other.</p>
<form method="get" action="{{ action }}">
<p><label for="query">Query</label></p>
<textarea id="query" name="query" rows="14" spellcheck="false">{{ example }}</textarea>
<p><button type="submit">Run (JSON results)</button></p>
</form>
{% if gallery %}
<h2>Example queries</h2>
<p>From the <a href="queries.html">query gallery</a>, where each is shown with its answer:</p>
<ul>
{% for q in gallery %}
<li><a href="{{ action }}?query={{ q.text|urlencode }}">{{ q.title }}</a>
(<a href="queries.html#{{ q.name }}">answer</a>, <a href="queries/{{ q.name }}.rq">.rq</a>)</li>
{% endfor %}
</ul>
{% else %}
<p>See the <a href="queries.html">query gallery</a>.</p>
{% endif %}
<p>Machine-readable: this service's description in <a href="{{ action }}" type="text/turtle">Turtle</a>
(GET with <code>Accept: text/turtle</code>); the dataset's <a href="void.ttl">VoID description</a>.</p>
</body>
</html>
"""

EXAMPLE_QUERY = """PREFIX schema: <http://schema.org/>
PREFIX lod: <https://w3id.org/lod-talks/ns#>

SELECT ?talk ?title ?start WHERE {
  ?talk a lod:Talk ;
        schema:startDate ?start .
  OPTIONAL { ?talk schema:name ?title }
}
ORDER BY DESC(?start)
LIMIT 20
"""


class Endpoint:
    """The /sparql resource of one site: embedded worker pool, or an external endpoint."""

    def __init__(self, root: Path, base_url: str, limits: Limits, external: str | None = None,
                 graph: str | None = None) -> None:
        self.root = root
        self.base_url = base_url
        self.limits = limits
        self.external = external
        self.graph = graph
        self.iri = base_url + "sparql"
        # The graph IRI the dataset goes by (VoID, `lod push`), and the one pushed to an external store.
        self.dataset_graph = str(Minter(base_url).graph)
        self.graphs = tuple(dict.fromkeys([self.dataset_graph] + ([graph] if external and graph else [])))
        self.prefixes = {**PREFIXES, **{p: f"{base_url}{p}/" for p in sorted(set(KIND_PATHS.values()))}}
        dump = root / "dump.nt"
        if external is None and not dump.is_file():
            raise LodError(f"{dump} does not exist; run 'lod build' first (or pass --site).")
        self.pool = WorkerPool(None if external else dump, base_url, limits, graph=self.dataset_graph)
        self.client: httpx.AsyncClient | None = None
        self._env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)

    async def start(self) -> None:
        """Start the workers (and the HTTP client for an external endpoint)."""
        await self.pool.start()
        if self.external:
            # trust_env=False: no proxy from the environment; no redirects to elsewhere.
            self.client = httpx.AsyncClient(timeout=self.limits.timeout, follow_redirects=False, trust_env=False)

    async def stop(self) -> None:
        """Stop the workers and close the client."""
        await self.pool.stop()
        if self.client is not None:
            await self.client.aclose()

    # -- requests

    async def handle(self, request: Request) -> Response:
        """Answer one request to /sparql."""
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={
                "Allow": "GET, HEAD, POST, OPTIONS",
                "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
                "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers",
                                                                    "Accept, Content-Type"),
                "Access-Control-Max-Age": "86400"})
        if request.method not in ("GET", "HEAD", "POST"):
            raise HTTPException(405, f"{request.method} is not allowed on the SPARQL endpoint; it is read-only.",
                                headers={"Allow": "GET, HEAD, POST, OPTIONS"})
        proto = await read_protocol(request, self.limits.max_body, self.graphs)
        accept = request.headers.get("accept")
        if proto.query is None:
            return self.service_description(accept, head=request.method == "HEAD")
        if self.external:
            content_type, body = await self._forward(proto.query, accept, proto.dataset)
        else:
            header, body = await self.pool.call({"op": "run", "query": proto.query, "accept": accept,
                                                 "prefixes": self.prefixes, **proto.dataset})
            if not header["ok"]:
                raise QueryError(header["message"], header["status"])
            content_type = header["content_type"]
        return Response(b"" if request.method == "HEAD" else body, headers={
            "Content-Type": content_type, "Content-Length": str(len(body)), "Vary": "Accept",
            "Cache-Control": "no-cache"})

    async def _forward(self, text: str, accept: str | None, dataset: dict[str, bool]) -> tuple[str, bytes]:
        """Check the query in a worker, then ask the external endpoint; same limits as the embedded store."""
        header, _ = await self.pool.call({"op": "check", "query": text})
        if not header["ok"]:
            raise QueryError(header["message"], header["status"])
        form: str = header["form"]
        target = negotiate_result(form, accept)
        raw = await self._fetch(text, form, dataset)
        try:
            body = await asyncio.to_thread(convert, form, raw, target, self.prefixes)
        except (SyntaxError, ValueError, OSError) as exc:
            raise QueryError(f"the external endpoint's answer could not be read: {exc}", 502) from None
        return target.content_type, body

    async def _fetch(self, text: str, form: str, dataset: dict[str, bool]) -> bytes:
        assert self.client is not None and self.external is not None
        accept = {"SELECT": "text/tab-separated-values", "ASK": "application/sparql-results+json"}.get(
            form, "application/n-triples")
        data: dict[str, str] = {"query": text}
        if self.graph:
            # The named graph `lod push` replaced is the default graph, or the named graph asked for.
            if dataset["default"]:
                data["default-graph-uri"] = self.graph
            if dataset["named"]:
                data["named-graph-uri"] = self.graph
        elif dataset["named"] or not dataset["default"]:
            raise QueryError("named-graph-uri cannot be answered here: the dataset is the external store's "
                             "default graph, which has no name (lod serve --graph '').", 400)
        cap_lines = self.limits.row_cap + (0 if form in GRAPH_FORMS else 1)

        async def fetch() -> bytes:
            assert self.client is not None and self.external is not None
            async with self.client.stream("POST", self.external, data=data, headers={"Accept": accept}) as resp:
                if resp.status_code >= 300:
                    raise remote_error(resp.status_code, (await resp.aread())[:1000].decode("utf-8", "replace"))
                out = bytearray()
                lines = 0
                async for chunk in resp.aiter_bytes():
                    out += chunk
                    lines += chunk.count(b"\n")
                    if form != "ASK" and lines > cap_lines:
                        raise row_cap_error(self.limits.row_cap, form)
                    if len(out) > MAX_REMOTE_BYTES:
                        raise QueryError(f"the external endpoint's answer is larger than {MAX_REMOTE_BYTES} bytes.",
                                         502)
                return bytes(out)

        try:
            return await asyncio.wait_for(fetch(), self.limits.timeout)
        except asyncio.TimeoutError:
            raise QueryError(f"the external endpoint did not answer within {self.limits.timeout:g} s.", 504) \
                from None
        except httpx.HTTPError as exc:
            raise QueryError(f"the external endpoint could not be reached: {exc}", 502) from None

    # -- service description

    def gallery(self) -> list[GalleryQuery]:
        """The gallery queries published with the site (OUT/queries/*.rq)."""
        folder = self.root / "queries"
        out = []
        for path in sorted(folder.glob("*.rq")) if folder.is_dir() else []:
            try:
                out.append(parse_query_file(path))
            except (LodError, OSError, UnicodeDecodeError):
                continue
        return out

    def description_triples(self) -> list[tuple[URIRef, URIRef, URIRef | Literal]]:
        """The SPARQL 1.1 Service Description of this endpoint."""
        ep = URIRef(self.iri)
        dataset = URIRef(self.iri + "#dataset")
        graph = URIRef(self.iri + "#default-graph")
        t: list[tuple[URIRef, URIRef, URIRef | Literal]] = [
            (ep, RDF.type, SD.Service),
            (ep, SD.endpoint, ep),
            (ep, SD.supportedLanguage, SD.SPARQL11Query),
            (ep, SD.defaultDataset, dataset),
            (ep, DCTERMS.title, Literal("SPARQL endpoint")),
            (ep, DCTERMS.description, Literal(
                f"Read-only. Limits: {self.limits.timeout:g} s per query, {self.limits.row_cap} rows per answer, "
                f"{self.limits.max_body} bytes per request. SERVICE, FROM, FROM NAMED and updates are refused; "
                f"default-graph-uri and named-graph-uri may name <{self.dataset_graph}> only.")),
            (ep, RDFS.seeAlso, URIRef(self.base_url + "queries.html")),
            (dataset, RDF.type, SD.Dataset),
            (dataset, SD.defaultGraph, graph),
            (dataset, RDFS.seeAlso, URIRef(self.base_url + "void#dataset")),
            (graph, RDF.type, SD.Graph),
        ]
        named = URIRef(self.iri + "#named-graph")
        t += [(dataset, SD.namedGraph, named), (named, RDF.type, SD.NamedGraph),
              (named, SD.name, URIRef(self.dataset_graph)), (named, SD.graph, graph)]
        for rf in RESULT_FORMATS:
            t.append((ep, SD.resultFormat, URIRef(rf.ox_format.iri)))
        for f in GRAPH_FORMATS:
            assert f.iri is not None
            t.append((ep, SD.resultFormat, URIRef(f.iri)))  # the registry's: pyoxigraph's JSON-LD IRI is wrong
        return t

    def service_description(self, accept: str | None, head: bool = False) -> Response:
        """GET without a query: an HTML form for browsers, the Service Description for RDF clients."""
        # Turtle first: a client that does not negotiate (no Accept, */*) gets the description;
        # browsers name text/html and get the form.
        offers = [*SERVED_RDF_FORMATS, HTML]
        fmt = choose_format(accept, offers)
        if fmt is None:
            types = ", ".join(f.media_type for f in offers)
            raise HTTPException(406, f"none of the types in the Accept header is available; available: {types}.")
        if fmt is HTML:
            body = self._env.from_string(FORM_TEMPLATE).render(
                title=self._title(), triples=self._triples(), action="sparql", example=EXAMPLE_QUERY,
                gallery=self.gallery(), timeout=f"{self.limits.timeout:g}", row_cap=self.limits.row_cap,
                max_body=self.limits.max_body, graph=self.dataset_graph).encode("utf-8")
        else:
            assert fmt.write is not None
            site = Site(prefixes={**{k: v for k, v in self.prefixes.items() if k not in PREFIXES}, "sd": str(SD)},
                        context_url=self.base_url + "context.jsonld")
            body = fmt.write(sorted_triples(self.description_triples()), site)
        return Response(b"" if head else body, headers={
            "Content-Type": fmt.content_type, "Content-Length": str(len(body)), "Vary": "Accept"})

    def _title(self) -> str:
        try:
            return str(json.loads((self.root / ".lod-site.json").read_text(encoding="utf-8")).get("title", ""))
        except (OSError, ValueError):
            return ""

    def _triples(self) -> str:
        # From the VoID description rather than by counting a dump that may be hundreds of MB.
        try:
            m = re.search(r'void:triples "?(\d+)', (self.root / "void.ttl").read_text(encoding="utf-8"))
        except OSError:
            m = None
        return m.group(1) if m else "the"
