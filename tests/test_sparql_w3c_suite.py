"""The W3C SPARQL 1.1 Protocol test suite, driven by its manifest, against a real ``lod serve``.

``../shared/w3c/sparql11-protocol/manifest.ttl`` (skipped cleanly without ../shared) lists
each test as HTTP requests with the expected status, result format and boolean. The
endpoint is read-only over one dataset, so the suite's contract here is (issue 16):

- a query test that names only graphs the endpoint holds (or none) passes as the manifest says;
- a query test naming graphs the endpoint does not hold (the suite's ``kasei.us`` graphs) is
  refused with 400 and the message naming the graph; run again with those graphs replaced by
  the endpoint's own, it passes: status, result format and, where the answer does not depend on
  the suite's data (``ASK {}``), the boolean (the one that also has FROM in the query stays refused
  with 403: the query check refuses FROM wherever it stands);
- every update test is refused with 4xx and changes nothing (the triple count and the graph
  list stay the same);
- every bad-request test gets 4xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph, Namespace
from rdflib.collection import Collection
from rdflib.term import Node

from lod.publishing.build import BuildResult
from lod.querying.check import FROM_REFUSED

from .conftest import SHARED
from .test_server import running_server, site_copy

pytestmark = pytest.mark.slow

SUITE = SHARED / "w3c" / "sparql11-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
OUR_GRAPH = "http://localhost:8000/graph"
DATASET_PARAMS = ("default-graph-uri", "named-graph-uri")
FORMATS = {"boolean": ("application/sparql-results+json", "application/sparql-results+xml"),
           "tabular": ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                       "text/tab-separated-values"),
           "RDF": ("application/rdf+xml", "text/turtle", "application/n-triples")}


@dataclass(frozen=True)
class Step:
    """One HTTP request of a test and what the manifest expects of its response."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[int]  # first digits allowed: {2, 3} or {4}
    boolean: bool | None
    form: str | None


def _steps(g: Graph, test: Node) -> list[Step]:
    action = g.value(test, MF.action)
    steps = []
    for req in Collection(g, g.value(action, HT.requests)):
        headers = {}
        for h in Collection(g, g.value(req, HT.headers)) if g.value(req, HT.headers) else []:
            headers[str(g.value(h, HT.fieldName))] = str(g.value(h, HT.fieldValue))
        body = None
        if (b := g.value(req, HT.body)) is not None:
            body = str(g.value(b, CNT.chars)).encode(str(g.value(b, CNT.characterEncoding) or "UTF-8"))
        resp = g.value(req, HT.resp)
        statuses = frozenset(int(str(s)[-3]) for s in g.objects(resp, MF.expectedStatus))
        boolean = g.value(resp, MF.expectedBoolean)
        form = g.value(resp, MF.expectedFormat)
        steps.append(Step(str(g.value(req, HT.methodName)), str(g.value(req, HT.absolutePath)), headers, body,
                          statuses, None if boolean is None else bool(boolean.toPython()),
                          None if form is None else str(form)))
    return steps


def _manifest() -> list[tuple[str, list[Step]]]:
    if not (SUITE / "manifest.ttl").is_file():
        return []
    g = Graph().parse(SUITE / "manifest.ttl", format="turtle")
    manifest = next(g.subjects(RDF.type, MF.Manifest))
    return [(str(t).rsplit("#", 1)[-1], _steps(g, t)) for t in Collection(g, g.value(manifest, MF.entries))]


TESTS = _manifest()


def _foreign_graphs(target: str) -> list[str]:
    return [v for k, v in parse_qsl(urlsplit(target).query) if k in DATASET_PARAMS and v != OUR_GRAPH]


def _with_our_graph(target: str) -> str:
    """The request target with every dataset graph replaced by the endpoint's own (duplicates merged)."""
    parts = urlsplit(target)
    params = list(dict.fromkeys((k, OUR_GRAPH if k in DATASET_PARAMS else v) for k, v in parse_qsl(parts.query)))
    return parts.path + ("?" + urlencode(params) if params else "")


def _send(client: httpx.Client, step: Step, target: str) -> httpx.Response:
    path = "/sparql" + target.removeprefix("/sparql/").removeprefix("/sparql")
    if path.startswith("/sparql") and not path.startswith("/sparql?") and path != "/sparql":
        path = "/sparql?" + path.removeprefix("/sparql").lstrip("?")
    return client.request(step.method, path, headers=step.headers, content=step.body)


def _check_answer(r: httpx.Response, step: Step, data_free: bool) -> None:
    assert r.status_code // 100 in step.statuses, (r.status_code, r.text)
    ctype = r.headers.get("content-type", "").split(";")[0]
    if step.form:
        assert ctype in FORMATS[step.form], ctype
    if step.boolean is not None and data_free:
        answer = (r.json()["boolean"] if ctype == "application/sparql-results+json"
                  else "<boolean>true</boolean>" in r.text)
        assert answer is step.boolean


def _state(client: httpx.Client) -> tuple[str, str]:
    """What an update would change: the triple count and the list of graphs."""
    count = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}).json()
    graphs = client.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                           "named-graph-uri": OUR_GRAPH}).json()
    return json.dumps(count["results"]), json.dumps(graphs["results"])


@pytest.fixture(scope="module")
def client(seed_site: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    site = site_copy(seed_site, tmp_path_factory.mktemp("w3c"))
    with running_server(site, "--timeout", "5") as url, httpx.Client(base_url=url, timeout=10) as c:
        yield c


def test_sparql_w3c_suite_is_present(shared: Path) -> None:
    assert len(TESTS) == 34  # the manifest's 34 entries, all run below


@pytest.mark.parametrize("name, steps", TESTS, ids=[name for name, _ in TESTS])
def test_sparql_w3c_protocol_suite(client: httpx.Client, name: str, steps: list[Step]) -> None:
    if name.startswith("update_") or name.startswith("bad_update"):
        before = _state(client)
        first = _send(client, steps[0], steps[0].target)
        assert 400 <= first.status_code < 500, (first.status_code, first.text)
        assert _state(client) == before
        return
    if name.startswith("bad_"):
        for step in steps:
            r = _send(client, step, step.target)
            assert 400 <= r.status_code < 500, (r.status_code, r.text)
        return
    for step in steps:
        body = (step.body or b"").decode("utf-8", "replace")
        data_free = "kasei.us" not in body and "kasei.us" not in step.target.split("query=", 1)[-1].split("&")[0]
        foreign = _foreign_graphs(step.target)
        if foreign:
            r = _send(client, step, step.target)
            assert r.status_code == 400, (r.status_code, r.text)
            param = "default-graph-uri" if "default-graph-uri=" in step.target else "named-graph-uri"
            assert r.json()["error"]["detail"].startswith(f"{param} <{foreign[0]}> is not a graph of this endpoint")
            r = _send(client, step, _with_our_graph(step.target))
            if "FROM" in body:
                # query_multiple_dataset: FROM in the query, overridden by the protocol's dataset
                # (§2.1.4). The query check refuses FROM wherever it stands, as it does for every
                # way to name a graph to fetch; that stays a 403.
                assert r.status_code == 403 and r.json()["error"]["detail"] == FROM_REFUSED
                continue
        else:
            r = _send(client, step, step.target)
        _check_answer(r, step, data_free)


def test_sparql_w3c_rdf_answers_parse(client: httpx.Client) -> None:
    # The content-type tests accept RDF/XML, Turtle or N-Triples: each parses, with the same triples.
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 50"
    graphs = []
    for media, fmt in (("application/rdf+xml", ox.RdfFormat.RDF_XML), ("text/turtle", ox.RdfFormat.TURTLE),
                       ("application/n-triples", ox.RdfFormat.N_TRIPLES)):
        r = client.post("/sparql", content=query.encode(), headers={"Content-Type": "application/sparql-query",
                                                                    "Accept": media})
        assert r.headers["content-type"] == f"{media}; charset=utf-8"
        graphs.append(set(ox.parse(r.content, fmt)))
    assert graphs[0] == graphs[1] == graphs[2] and len(graphs[0]) == 50
