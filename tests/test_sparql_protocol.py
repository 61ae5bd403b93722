"""The /sparql endpoint speaks the SPARQL 1.1 Protocol, over real HTTP.

The ``test_sparql_w3c_*`` tests follow the W3C SPARQL 1.1 Protocol test suite
(https://w3c.github.io/rdf-tests/sparql/sparql11/protocol/) for the cases that apply
to a read-only endpoint over one fixed dataset: query via GET, URL-encoded POST and
direct POST; the bad-request cases; the update cases, which must all be refused;
and the content-type cases. test_sparql_w3c_suite.py runs the whole suite from its manifest;
the dataset parameters naming the endpoint's own graph are tested here, foreign graphs
(400) in test_sparql_safety.py.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Graph
from SPARQLWrapper import CSV, JSON, JSONLD, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from lod.publishing.build import BuildResult

from .test_server import running_server, site_copy

pytestmark = pytest.mark.slow

SCHEMA = "PREFIX schema: <http://schema.org/>\n"
NYU = "http://localhost:8000/org/nyu"
SELECT_SUBORGS = SCHEMA + f"SELECT ?org ?name WHERE {{ ?org schema:parentOrganization <{NYU}> ; schema:name ?name }} ORDER BY ?name"
SUBORGS = [("http://localhost:8000/org/nyu-center-for-data-science", "Center for Data Science"),
           ("http://localhost:8000/org/courant-institute", "Courant Institute of Mathematical Sciences")]
ASK = SCHEMA + f'ASK {{ <{NYU}> schema:alternateName "NYU" }}'
CONSTRUCT = SCHEMA + f"CONSTRUCT {{ <{NYU}> schema:subOrganization ?o }} WHERE {{ <{NYU}> schema:subOrganization ?o }}"
DESCRIBE = f"DESCRIBE <{NYU}>"
SPARQL_JSON = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE_REFUSED = {"error": {"status": 403, "title": "Forbidden",
                            "detail": "updates are refused: this endpoint is read-only."}}


@pytest.fixture(scope="module")
def site(seed_site: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_copy(seed_site, tmp_path_factory.mktemp("sparql"))


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    with running_server(site, "--timeout", "5") as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=10) as c:
        yield c


def bindings(r: httpx.Response) -> list[tuple[str, ...]]:
    data = r.json()
    return [tuple(b[v]["value"] for v in data["head"]["vars"]) for b in data["results"]["bindings"]]


def triples_count(client: httpx.Client) -> int:
    r = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


# ---------------------------------------------------------------- W3C protocol: queries

def test_sparql_w3c_query_get(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": SELECT_SUBORGS})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/sparql-results+json; charset=utf-8"
    assert bindings(r) == SUBORGS


def test_sparql_w3c_query_post_form(client: httpx.Client) -> None:
    r = client.post("/sparql", data={"query": SELECT_SUBORGS})
    assert r.status_code == 200 and bindings(r) == SUBORGS


def test_sparql_w3c_query_post_direct(client: httpx.Client) -> None:
    r = client.post("/sparql", content=SELECT_SUBORGS.encode(), headers={"Content-Type": DIRECT + "; charset=UTF-8"})
    assert r.status_code == 200 and bindings(r) == SUBORGS


def test_sparql_w3c_query_post_form_with_unicode(client: httpx.Client) -> None:
    q = SCHEMA + 'SELECT ?o WHERE { ?o schema:name "École des Ponts ParisTech" }'
    r = client.post("/sparql", data={"query": q})
    assert bindings(r) == [("http://localhost:8000/org/ecole-des-ponts-paristech",)]


def test_sparql_w3c_query_content_type_select(client: httpx.Client) -> None:
    for accept, ctype in ((SPARQL_JSON, "application/sparql-results+json; charset=utf-8"),
                          ("application/sparql-results+xml", "application/sparql-results+xml; charset=utf-8"),
                          ("text/csv", "text/csv; charset=utf-8"),
                          ("text/tab-separated-values", "text/tab-separated-values; charset=utf-8"),
                          ("application/json", "application/sparql-results+json; charset=utf-8"),
                          ("*/*", "application/sparql-results+json; charset=utf-8")):
        r = client.get("/sparql", params={"query": SELECT_SUBORGS}, headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"] == ctype, accept
        assert r.headers["vary"] == "Accept"


def test_sparql_select_results_in_each_format_say_the_same(client: httpx.Client) -> None:
    def get(accept: str) -> str:
        return client.get("/sparql", params={"query": SELECT_SUBORGS}, headers={"Accept": accept}).text

    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    xml = ET.fromstring(get("application/sparql-results+xml"))
    assert [(res.find("r:binding[@name='org']/r:uri", ns).text,  # type: ignore[union-attr]
             res.find("r:binding[@name='name']/r:literal", ns).text)  # type: ignore[union-attr]
            for res in xml.iterfind(".//r:result", ns)] == SUBORGS
    assert list(csv.reader(io.StringIO(get("text/csv")))) == [["org", "name"], *map(list, SUBORGS)]
    assert get("text/tab-separated-values").splitlines() == [
        "?org\t?name", *(f'<{o}>\t"{n}"' for o, n in SUBORGS)]


def test_sparql_w3c_query_content_type_ask(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": ASK}, headers={"Accept": SPARQL_JSON})
    assert r.json() == {"head": {}, "boolean": True}
    r = client.get("/sparql", params={"query": ASK}, headers={"Accept": "application/sparql-results+xml"})
    assert r.headers["content-type"] == "application/sparql-results+xml; charset=utf-8"
    assert "<boolean>true</boolean>" in r.text


def test_sparql_w3c_query_content_type_construct(client: httpx.Client) -> None:
    expected = {(NYU, "http://schema.org/subOrganization", o) for o, _ in SUBORGS}
    for accept, ctype, parser in (("text/turtle", "text/turtle; charset=utf-8", "turtle"),
                                  ("application/n-triples", "application/n-triples; charset=utf-8", "nt"),
                                  ("application/ld+json", "application/ld+json; charset=utf-8", "json-ld"),
                                  ("application/json", "application/ld+json; charset=utf-8", "json-ld"),
                                  ("*/*", "text/turtle; charset=utf-8", "turtle")):
        r = client.get("/sparql", params={"query": CONSTRUCT}, headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"] == ctype, accept
        g = Graph().parse(data=r.text, format=parser)
        assert {(str(s), str(p), str(o)) for s, p, o in g} == expected, accept


def test_sparql_construct_turtle_declares_only_used_prefixes(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": CONSTRUCT}, headers={"Accept": "text/turtle"})
    assert sorted(line for line in r.text.splitlines() if line.startswith("@prefix")) == [
        "@prefix org: <http://localhost:8000/org/> .", "@prefix schema: <http://schema.org/> ."]


def test_sparql_w3c_query_content_type_describe(client: httpx.Client) -> None:
    r = client.post("/sparql", data={"query": DESCRIBE}, headers={"Accept": "application/n-triples"})
    assert r.status_code == 200
    assert f'<{NYU}> <http://schema.org/name> "New York University" .' in r.text.splitlines()


def test_sparql_result_format_not_available_is_406(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": SELECT_SUBORGS}, headers={"Accept": "text/turtle"})
    assert r.status_code == 406
    assert r.json()["error"]["detail"] == (
        "none of the types in the Accept header can be sent for a SELECT query; available: "
        "application/sparql-results+json, application/sparql-results+xml, text/csv, text/tab-separated-values.")


def test_sparql_head_has_the_get_headers(client: httpx.Client) -> None:
    g = client.get("/sparql", params={"query": SELECT_SUBORGS})
    h = client.head("/sparql", params={"query": SELECT_SUBORGS})
    assert h.status_code == 200 and h.content == b""
    assert dict(h.headers) | {"date": ""} == dict(g.headers) | {"date": ""}


def test_sparql_relative_iris_resolve_against_the_base(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": "ASK { <org/nyu> ?p ?o }"})
    assert r.json()["boolean"] is True


# ---------------------------------------------------------------- W3C protocol: bad requests

def test_sparql_w3c_bad_query_method(client: httpx.Client) -> None:
    r = client.put("/sparql", params={"query": ASK})
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST, OPTIONS"


def test_sparql_w3c_bad_multiple_queries(client: httpx.Client) -> None:
    expected = {"error": {"status": 400, "title": "Bad Request",
                          "detail": "the request holds 2 queries; send exactly one 'query' parameter."}}
    r = client.get("/sparql", params=[("query", ASK), ("query", SELECT_SUBORGS)])
    assert r.status_code == 400 and r.json() == expected
    r = client.post("/sparql", data={"query": [ASK, SELECT_SUBORGS]})
    assert r.status_code == 400 and r.json() == expected
    r = client.post("/sparql", params={"query": ASK}, content=ASK.encode(), headers={"Content-Type": DIRECT})
    assert r.status_code == 400 and r.json() == expected


def test_sparql_w3c_bad_query_wrong_media_type(client: httpx.Client) -> None:
    r = client.post("/sparql", content=ASK.encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert r.json()["error"] == {"status": 415, "title": "Unsupported Media Type", "detail":
                                 "a query is POSTed as application/x-www-form-urlencoded or "
                                 "application/sparql-query, not text/plain."}


def test_sparql_w3c_bad_query_missing_form_type(client: httpx.Client) -> None:
    r = client.post("/sparql", content=b"query=ASK%20%7B%7D")
    assert r.status_code == 415


def test_sparql_w3c_bad_query_missing_direct_type(client: httpx.Client) -> None:
    r = client.post("/sparql", content=ASK.encode())
    assert r.status_code == 415


def test_sparql_w3c_bad_query_non_utf8(client: httpx.Client) -> None:
    q = SCHEMA + 'SELECT ?o WHERE { ?o schema:name "École" }'
    r = client.post("/sparql", content=q.encode("iso-8859-1"), headers={"Content-Type": DIRECT + "; charset=UTF-8"})
    assert r.status_code == 400 and r.json()["error"]["detail"] == "the query is not valid UTF-8."
    r = client.get("/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%22%C9%22%20%7D")
    assert r.status_code == 400
    assert r.json()["error"]["detail"] == "the query string is not valid percent-encoded UTF-8."


def test_sparql_w3c_bad_query_syntax(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": "ASK {"})
    assert r.status_code == 400
    assert r.json()["error"]["detail"] == ('malformed query at line 1, column 6: expected one of "$", "\'", "\'\'\'", '
                                           '"(", "+", "-", ".", ":", "<", "<<", "<<(", "?" (or 8 more)')
    r = client.get("/sparql", params={"query": "SELEKT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 400
    assert r.json()["error"]["detail"] == "malformed query: not a SELECT, ASK, CONSTRUCT or DESCRIBE query."


def test_sparql_empty_or_missing_query_is_400(client: httpx.Client) -> None:
    assert client.get("/sparql", params={"query": "  "}).json()["error"]["detail"] == "the query is empty."
    r = client.post("/sparql", data={"other": "x"})
    assert r.status_code == 400
    assert r.json()["error"]["detail"] == "the request holds no query; send it in a 'query' parameter."


@pytest.mark.parametrize("name, request_kwargs", [
    ("bad_update_get", {"method": "GET", "params": {"update": "CLEAR ALL"}}),
    ("update_post_form", {"method": "POST", "data": {"update": "CLEAR ALL"}}),
    ("update_post_direct", {"method": "POST", "content": b"CLEAR ALL",
                            "headers": {"Content-Type": "application/sparql-update"}}),
    ("update_via_query_param", {"method": "GET", "params": {"query": "CLEAR ALL"}}),
    ("update_via_direct_query", {"method": "POST", "content": b"INSERT DATA { <a:b> <a:c> <a:d> }",
                                 "headers": {"Content-Type": DIRECT}}),
    ("update_delete_where", {"method": "POST", "data": {"query": "DELETE WHERE { ?s ?p ?o }"}}),
    ("update_drop", {"method": "POST", "data": {"query": "DROP DEFAULT"}}),
    ("update_using_graph_uri", {"method": "POST", "data": {"query": ASK, "using-graph-uri": "http://a/"}}),
])
def test_sparql_w3c_updates_are_refused_and_change_nothing(client: httpx.Client, name: str,
                                                           request_kwargs: dict[str, object]) -> None:
    before = triples_count(client)
    method = str(request_kwargs.pop("method"))
    r = client.request(method, "/sparql", **request_kwargs)  # type: ignore[arg-type]
    request_kwargs["method"] = method
    assert r.status_code == 403, name
    assert r.json() == UPDATE_REFUSED
    assert triples_count(client) == before


def test_sparql_body_larger_than_the_limit_is_413(client: httpx.Client) -> None:
    q = "ASK { ?s ?p ?o }" + " " * 100_001
    r = client.post("/sparql", content=q.encode(), headers={"Content-Type": DIRECT})
    assert r.status_code == 413
    assert r.json()["error"]["detail"] == "the request body is larger than 100000 bytes."


# ---------------------------------------------------------------- service description and CORS

def test_sparql_service_description_in_turtle(client: httpx.Client) -> None:
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/turtle; charset=utf-8"
    store = ox.Store()
    store.load(r.content, ox.RdfFormat.TURTLE)
    sd = "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>\n"
    assert bool(store.query(sd + """ASK { <http://localhost:8000/sparql> a sd:Service ;
        sd:endpoint <http://localhost:8000/sparql> ; sd:supportedLanguage sd:SPARQL11Query ;
        sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON>, <http://www.w3.org/ns/formats/Turtle> ;
        sd:defaultDataset/sd:defaultGraph ?g }"""))
    assert not bool(store.query(sd + "ASK { ?s sd:feature sd:BasicFederatedQuery }"))


def test_sparql_service_description_other_rdf_formats(client: httpx.Client) -> None:
    for accept, ctype in (("application/n-triples", "application/n-triples; charset=utf-8"),
                          ("application/ld+json", "application/ld+json; charset=utf-8")):
        r = client.get("/sparql", headers={"Accept": accept})
        assert r.headers["content-type"] == ctype
        assert "http://www.w3.org/ns/sparql-service-description#Service" in r.text


def test_sparql_html_form_for_browsers_links_the_gallery(client: httpx.Client) -> None:
    r = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<form method="get" action="sparql">' in r.text
    assert '<a href="queries.html">query gallery</a>' in r.text
    assert ">Talks with a recording</a>" in r.text
    assert '<a href="queries.html#talks-with-recordings">answer</a>' in r.text
    assert "998 triples" in r.text


def test_sparql_cors_preflight_and_headers(client: httpx.Client) -> None:
    r = client.options("/sparql", headers={"Origin": "https://yasgui.triply.cc", "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "content-type, accept"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "GET, HEAD, POST, OPTIONS"
    assert r.headers["access-control-allow-headers"] == "content-type, accept"
    r = client.post("/sparql", data={"query": ASK}, headers={"Origin": "https://yasgui.triply.cc"})
    assert r.headers["access-control-allow-origin"] == "*"
    r = client.get("/sparql", params={"query": "ASK {"}, headers={"Origin": "https://yasgui.triply.cc"})
    assert r.status_code == 400 and r.headers["access-control-allow-origin"] == "*"


# ---------------------------------------------------------------- a client library, as a user would

def test_sparql_sparqlwrapper_select_json_and_xml(server: str) -> None:
    sw = SPARQLWrapper(server + "/sparql")
    sw.setQuery(SELECT_SUBORGS)
    sw.setReturnFormat(JSON)
    data = sw.queryAndConvert()
    assert [(b["org"]["value"], b["name"]["value"]) for b in data["results"]["bindings"]] == SUBORGS  # type: ignore[index]
    sw.setReturnFormat(XML)
    doc = sw.queryAndConvert()
    assert [n.firstChild.data for n in doc.getElementsByTagName("literal")] == [n for _, n in SUBORGS]  # type: ignore[union-attr]


def test_sparqlwrapper_post_csv_ask_and_construct(server: str) -> None:
    sw = SPARQLWrapper(server + "/sparql")
    sw.setMethod("POST")
    sw.setQuery(SELECT_SUBORGS)
    sw.setReturnFormat(CSV)
    assert sw.queryAndConvert().decode().splitlines()[1:] == [f"{o},{n}" for o, n in SUBORGS]  # type: ignore[union-attr]
    sw.setQuery(ASK)
    sw.setReturnFormat(JSON)
    assert sw.queryAndConvert()["boolean"] is True  # type: ignore[index]
    sw.setQuery(CONSTRUCT)
    sw.setReturnFormat(TURTLE)
    g = Graph().parse(data=sw.queryAndConvert(), format="turtle")  # type: ignore[arg-type]
    assert len(g) == 2
    sw.setReturnFormat(JSONLD)
    g = sw.queryAndConvert()
    assert len(g) == 2  # type: ignore[arg-type]


def test_sparqlwrapper_malformed_query_raises_bad_formed(server: str) -> None:
    sw = SPARQLWrapper(server + "/sparql")
    sw.setQuery("SELECT * WHERE {")
    sw.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed) as exc:
        sw.queryAndConvert()
    assert "malformed query" in str(exc.value)


def test_sparql_answers_are_the_local_answers(client: httpx.Client, site: Path) -> None:
    from lod.querying.engine import load_store, render, run

    local = json.loads(render(run(load_store(site), SELECT_SUBORGS), "json"))
    assert client.get("/sparql", params={"query": SELECT_SUBORGS}).json()["results"] == local["results"]


# ---------------------------------------------------------------- issue 16: clients with their defaults

SD_ASK = """PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>
ASK { <http://localhost:8000/sparql> a sd:Service ; sd:endpoint <http://localhost:8000/sparql> ;
      sd:resultFormat <http://www.w3.org/ns/formats/JSON-LD>, <http://www.w3.org/ns/formats/RDF_XML> ;
      sd:defaultDataset [ sd:defaultGraph ?g ; sd:namedGraph [ sd:name <http://localhost:8000/graph> ] ] .
      FILTER NOT EXISTS { ?s sd:resultFormat <https://www.w3.org/ns/formats/data/JSON-LD> } }"""


@pytest.mark.parametrize("accept, fmt", [
    (None, ox.RdfFormat.TURTLE),  # a client that does not negotiate gets the description
    ("*/*", ox.RdfFormat.TURTLE),
    ("text/turtle", ox.RdfFormat.TURTLE),
    ("application/ld+json", ox.RdfFormat.JSON_LD),
    ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("application/n-triples", ox.RdfFormat.N_TRIPLES),
])
def test_sparql_service_description_in_each_syntax_without_fetching(client: httpx.Client, accept: str | None,
                                                                     fmt: ox.RdfFormat) -> None:
    r = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert r.status_code == 200 and r.headers["content-type"] == f"{fmt.media_type}; charset=utf-8"
    store = ox.Store()
    store.load(r.content, fmt)  # JSON-LD too: its context is inline, nothing is fetched
    assert bool(store.query(SD_ASK))


def test_sparql_sparqlwrapper_defaults_for_every_query_form(server: str) -> None:
    # SPARQLWrapper as a new user runs it: no return format, no method (XML results; RDF/XML graphs).
    for query, check in ((SELECT_SUBORGS, lambda doc: [n.firstChild.data for n in doc.getElementsByTagName("literal")]
                          == [n for _, n in SUBORGS]),
                         (ASK, lambda doc: doc.getElementsByTagName("boolean")[0].firstChild.data == "true"),
                         (CONSTRUCT, lambda g: len(g) == 2),
                         (DESCRIBE, lambda g: len(g) > 5)):
        sw = SPARQLWrapper(server + "/sparql")
        sw.setQuery(query)
        assert check(sw.query().convert()), query


def test_sparql_rdflib_sparqlstore_defaults_for_every_query_form(server: str) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    g = Graph(store=SPARQLStore(server + "/sparql"))
    assert sorted((str(o), str(n)) for o, n in g.query(SELECT_SUBORGS)) == sorted(SUBORGS)
    assert g.query(ASK).askAnswer is True
    assert len(g.query(CONSTRUCT).graph) == 2  # type: ignore[arg-type]
    assert len(g.query(DESCRIBE).graph) > 5  # type: ignore[arg-type]


def test_sparql_negative_decimal_in_values_is_answered(client: httpx.Client) -> None:
    r = client.get("/sparql", params={"query": "SELECT ?x WHERE { VALUES ?x { -1.0 } }"})
    assert r.status_code == 200
    assert r.json()["results"]["bindings"] == [
        {"x": {"type": "literal", "value": "-1", "datatype": "http://www.w3.org/2001/XMLSchema#decimal"}}]


def test_sparql_unknown_function_is_an_expression_error_not_a_server_error(client: httpx.Client) -> None:
    # SPARQL 1.1 §17.3: a FILTER whose expression errs drops the row; a BIND leaves the variable unbound.
    f = "<http://example.org/no-such-function>"
    r = client.get("/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER({f}(?o)) }}"})
    assert r.status_code == 200 and r.json()["results"]["bindings"][0]["n"]["value"] == "0"
    r = client.get("/sparql", params={"query": f"SELECT ?x ?y WHERE {{ BIND({f}(1) AS ?x) BIND(2 AS ?y) }}"})
    assert r.status_code == 200
    assert r.json()["results"]["bindings"] == [{"y": {"type": "literal", "value": "2",
                                                      "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}]
    r = client.get("/sparql", params={"query": f"ASK {{ FILTER(!BOUND(?z) && COALESCE({f}(1), true)) }}"})
    assert r.status_code == 200 and r.json()["boolean"] is True


@pytest.mark.parametrize("params, count", [
    ({"default-graph-uri": "http://localhost:8000/graph"}, 998),  # the dataset as the default graph
    ({"named-graph-uri": "http://localhost:8000/graph"}, 0),  # a named graph only: the default graph is empty
    ({"default-graph-uri": "http://localhost:8000/graph", "named-graph-uri": "http://localhost:8000/graph"}, 998),
])
def test_sparql_dataset_parameters_naming_the_endpoints_graph_are_answered(client: httpx.Client,
                                                                          params: dict[str, str], count: int) -> None:
    r = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **params})
    assert r.status_code == 200 and int(r.json()["results"]["bindings"][0]["n"]["value"]) == count
    named = client.post("/sparql", data={"query": "ASK { GRAPH <http://localhost:8000/graph> { ?s ?p ?o } }", **params})
    assert named.json()["boolean"] is ("named-graph-uri" in params)


def test_sparql_construct_and_describe_in_rdf_xml(client: httpx.Client) -> None:
    for query in (CONSTRUCT, DESCRIBE):
        r = client.get("/sparql", params={"query": query}, headers={"Accept": "application/rdf+xml"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/rdf+xml; charset=utf-8"
        turtle = client.get("/sparql", params={"query": query}, headers={"Accept": "text/turtle"})
        assert set(ox.parse(r.content, ox.RdfFormat.RDF_XML)) == set(ox.parse(turtle.content, ox.RdfFormat.TURTLE))
