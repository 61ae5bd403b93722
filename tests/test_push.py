"""``lod push`` into a real Oxigraph server, and ``lod serve --endpoint`` answering from it.

The store is the ``oxigraph`` server from PyPI, started by the test on a free loopback
port with a fresh database folder. Answers read back from it are compared with the
answers of the embedded store over the same dump.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from SPARQLWrapper import JSON, SPARQLWrapper

from lod.cli import main
from lod.publishing.build import BuildResult
from lod.errors import PushError
from lod.serving.push import push
from lod.querying.engine import load_store, run, term_text

from .test_server import free_port, running_server

pytestmark = pytest.mark.slow

GRAPH = "http://localhost:8000/graph"
NYU_SPEAKERS = """PREFIX schema: <http://schema.org/>
SELECT DISTINCT ?name WHERE {
  ?talk schema:performer ?p . ?p schema:name ?name ;
        schema:affiliation/schema:parentOrganization* <http://localhost:8000/org/nyu> }
ORDER BY ?name"""


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Oxigraph server on loopback; yields its base URL."""
    exe = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(exe).exists():
        pytest.skip("the oxigraph server (pip install oxigraph) is not installed")
    port = free_port()
    db = tmp_path_factory.mktemp("oxigraph-db")
    proc = subprocess.Popen([exe, "serve", "--location", str(db), "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/query", params={"query": "ASK {}"}, timeout=1, trust_env=False)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def store_rows(url: str, query: str) -> list[tuple[str, ...]]:
    """SELECT answers from a SPARQL endpoint, as SPARQLWrapper (a client library) reads them."""
    client = SPARQLWrapper(url)
    client.setQuery(query)
    client.setReturnFormat(JSON)
    result = client.queryAndConvert()
    assert isinstance(result, dict)
    names = result["head"]["vars"]
    return [tuple(b[n]["value"] for n in names) for b in result["results"]["bindings"]]


def local_rows(site: Path, query: str) -> list[tuple[str, ...]]:
    answer = run(load_store(site), query)
    return [tuple(term_text(row[v]) for v in answer.variables) for row in answer.rows]


def test_push_replaces_the_named_graph_in_one_request(seed_site: BuildResult, oxigraph: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # Something stale in the graph first: the push must replace it, not add to it.
    httpx.post(oxigraph + "/update", content=f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <urn:x:stale> <urn:x:p> 1 }} }}",
               headers={"Content-Type": "application/sparql-update"}, trust_env=False).raise_for_status()
    assert main(["push", "--site", str(seed_site.out), "--endpoint", oxigraph + "/store"]) == 0
    out = capsys.readouterr().out
    assert f"pushed {seed_site.triples} triples from {seed_site.out / 'dump.nt'} to graph <{GRAPH}>" in out
    count = store_rows(oxigraph + "/query", f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}")
    assert count == [(str(seed_site.triples),)]
    stale = store_rows(oxigraph + "/query", f"SELECT ?o WHERE {{ GRAPH <{GRAPH}> {{ <urn:x:stale> ?p ?o }} }}")
    assert stale == []


def test_push_answers_match_the_embedded_store(seed_site: BuildResult, oxigraph: str) -> None:
    push(seed_site.out, oxigraph + "/store", fmt="ttl")
    in_graph = NYU_SPEAKERS.replace("WHERE {", f"WHERE {{ GRAPH <{GRAPH}> {{", 1).replace("}\nORDER", "} }\nORDER")
    remote = store_rows(oxigraph + "/query", in_graph)
    local = local_rows(seed_site.out, NYU_SPEAKERS)
    assert remote == local == [("Joan Bruna",), ("Julia Kempe",), ("Yoav Wald",)]


def test_push_refusal_names_the_status_and_keeps_the_store(seed_site: BuildResult, oxigraph: str) -> None:
    # /query does not take a PUT: the store answers 4xx and the error says so.
    with pytest.raises(PushError, match=r"answered 4\d\d to the PUT of graph <http://localhost:8000/graph>"):
        push(seed_site.out, oxigraph + "/query")


def test_push_unreachable_store_is_a_clear_error(seed_site: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert main(["push", "--site", str(seed_site.out), "--endpoint", f"http://127.0.0.1:{port}/store"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: could not reach http://127.0.0.1:{port}/store:")
    assert "Traceback" not in err


def test_serve_external_endpoint_answers_like_the_embedded_store(seed_site: BuildResult, oxigraph: str) -> None:
    push(seed_site.out, oxigraph + "/store")
    with running_server(seed_site.out, "--endpoint", oxigraph + "/query") as url:
        remote = store_rows(url + "/sparql", NYU_SPEAKERS)
        refused = httpx.get(url + "/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> "
                                                              "{ ?s ?p ?o } }"}, trust_env=False)
    assert remote == local_rows(seed_site.out, NYU_SPEAKERS)
    assert refused.status_code == 403
    assert "SERVICE is refused: this endpoint never makes outbound requests." in refused.text


def test_serve_external_endpoint_never_receives_a_service_hidden_in_a_comment(seed_site: BuildResult,
                                                                              oxigraph: str) -> None:
    from lod.querying.check import AMBIGUOUS_COMMENT

    from .test_sparql_safety import Listener
    ear = Listener()
    try:
        with running_server(seed_site.out, "--endpoint", oxigraph + "/query") as url:
            for gap in ("\r", "\u2028"):
                q = f"SELECT * WHERE {{ # {gap} SERVICE <{ear.url}> {{ ?s ?p ?o }} \n }}"
                r = httpx.get(url + "/sparql", params={"query": q}, trust_env=False)
                assert r.status_code == 400 and r.json()["error"]["detail"] == AMBIGUOUS_COMMENT
        time.sleep(0.1)
        assert ear.connections == 0
    finally:
        ear.close()


def test_serve_external_endpoint_maps_client_errors_and_datasets_never_a_5xx(seed_site: BuildResult,
                                                                             oxigraph: str) -> None:
    push(seed_site.out, oxigraph + "/store")
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    with running_server(seed_site.out, "--endpoint", oxigraph + "/query") as url, \
            httpx.Client(base_url=url, timeout=10, trust_env=False) as c:
        unknown = c.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o FILTER(<http://example.org/f>(?o)) }"})
        assert unknown.status_code == 400, unknown.text
        assert unknown.json()["error"]["detail"].startswith("the external endpoint answered")
        ours = c.get("/sparql", params={"query": count, "default-graph-uri": GRAPH})
        assert ours.status_code == 200 and ours.json()["results"]["bindings"][0]["n"]["value"] == "998"
        named = c.get("/sparql", params={"query": "ASK { GRAPH <%s> { ?s ?p ?o } }" % GRAPH, "named-graph-uri": GRAPH})
        assert named.status_code == 200 and named.json()["boolean"] is True
        foreign = c.get("/sparql", params={"query": count, "default-graph-uri": "http://example.org/g"})
        assert foreign.status_code == 400
        rdfxml = c.get("/sparql", params={"query": "DESCRIBE <http://localhost:8000/org/nyu>"},
                       headers={"Accept": "application/rdf+xml"})
        assert rdfxml.status_code == 200 and rdfxml.headers["content-type"] == "application/rdf+xml; charset=utf-8"
