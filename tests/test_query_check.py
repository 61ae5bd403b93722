"""The query check refuses every SERVICE, FROM and update however it is hidden, and nothing the engine accepts.

The hiding places are the ones where two SPARQL parsers read a query differently: a ``#``
comment ended by CR, CRLF or U+2028, ``\\u`` escapes, keywords glued to prefixed names,
nested groups and sub-selects. The differential test runs what the check lets through in
pyoxigraph itself, with a listener on loopback that must see no connection.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lod.cli import main
from lod.errors import QueryError
from lod.publishing.build import BuildResult
from lod.querying.check import (AMBIGUOUS_COMMENT, FROM_REFUSED, MAX_NESTING, MAX_OPERATORS, SERVICE_REFUSED,
                            TOO_DEEP, TOO_MANY_OPERATORS, UPDATE_REFUSED, check_query, syntax_error)

from .test_sparql_safety import Listener

URL = "http://127.0.0.1:8999/"
SPO = "{ ?s ?p ?o }"

HIDDEN = [
    ("comment ended by CR", f"SELECT * WHERE {{ # \r SERVICE <{URL}> {SPO} \n }}", AMBIGUOUS_COMMENT, 400),
    ("comment ended by U+2028", f"SELECT * WHERE {{ # \u2028 SERVICE <{URL}> {SPO} \n }}", AMBIGUOUS_COMMENT, 400),
    ("comment ended by U+0085", f"SELECT * WHERE {{ # \x85 SERVICE <{URL}> {SPO} \n }}", AMBIGUOUS_COMMENT, 400),
    ("comment ended by VT", f"SELECT * WHERE {{ # \x0b SERVICE <{URL}> {SPO} \n }}", AMBIGUOUS_COMMENT, 400),
    ("string opened inside a comment ended by U+2028",
     f'SELECT * WHERE {{ # """ \u2028 \n SERVICE <{URL}> {SPO} # """ \n }}', AMBIGUOUS_COMMENT, 400),
    ("after a comment ended by CRLF", f"SELECT * WHERE {{ # x\r\n SERVICE <{URL}> {SPO} }}", SERVICE_REFUSED, 403),
    ("comment ended by an escaped LF", f"SELECT * WHERE {{ # x \\u000A SERVICE <{URL}> {SPO} \n }}",
     SERVICE_REFUSED, 403),
    ("escaped keyword", f"SELECT * WHERE {{ SERV\\u0049CE <{URL}> {SPO} }}", SERVICE_REFUSED, 403),
    ("escaped keyword, long form", f"SELECT * WHERE {{ \\U00000053ERVICE <{URL}> {SPO} }}", SERVICE_REFUSED, 403),
    ("escapes in the IRI", f"SELECT * WHERE {{ SERVICE <http://127.0.0.1\\u003A8999/\\u0061> {SPO} }}",
     SERVICE_REFUSED, 403),
    ("lower case", f"select * where {{ service silent <{URL}> {SPO} }}", SERVICE_REFUSED, 403),
    ("nested groups", f"SELECT * WHERE {{ {{ {{ OPTIONAL {{ SERVICE <{URL}> {SPO} }} }} }} }}", SERVICE_REFUSED, 403),
    ("sub-select", f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE SILENT <{URL}> {SPO} }} }} }}",
     SERVICE_REFUSED, 403),
    ("FILTER NOT EXISTS", f"ASK {{ FILTER NOT EXISTS {{ SERVICE <{URL}> {SPO} }} }}", SERVICE_REFUSED, 403),
    ("glued to an IRI", f"SELECT * WHERE {{ ?s ?p <x:y>SERVICE<{URL}>{SPO} }}", SERVICE_REFUSED, 403),
    ("after a long string", f'SELECT * WHERE {{ ?s ?p """a\n""" }} SERVICE <{URL}> {SPO}', SERVICE_REFUSED, 403),
    ("FROM", f"SELECT * FROM <{URL}> WHERE {SPO}", FROM_REFUSED, 403),
    ("FROM NAMED after a CRLF comment", f"SELECT * # x\r\nFROM NAMED <{URL}> WHERE {SPO}", FROM_REFUSED, 403),
    ("FROM glued to a prefixed name", "PREFIX : <http://127.0.0.1:8999/> SELECT * FROM:g WHERE { ?s ?p ?o }",
     "the prefix 'from:' reads as the keyword FROM to some SPARQL parsers; give the prefix another name.", 403),
    ("escaped FROM", f"SELECT * \\u0046ROM <{URL}> WHERE {SPO}", FROM_REFUSED, 403),
    ("LOAD", f"LOAD <{URL}>", UPDATE_REFUSED, 403),
    ("LOAD after a comment ended by CRLF", f"# x\r\nLOAD <{URL}>", UPDATE_REFUSED, 403),
    ("INSERT after a query", f"SELECT * WHERE {SPO} ; INSERT DATA {{ <a:b> <a:c> <a:d> }}", UPDATE_REFUSED, 403),
    ("escaped DELETE", "DELET\\u0045 WHERE { ?s ?p ?o }", UPDATE_REFUSED, 403),
    ("update keyword in a sub-select", f"SELECT * WHERE {{ {{ SELECT * WHERE {{ ?s ?p ?o }} }} CLEAR ALL }}",
     UPDATE_REFUSED, 403),
]


@pytest.mark.parametrize("what, query, message, status", HIDDEN, ids=[h[0] for h in HIDDEN])
def test_query_check_refuses_hidden_service_from_and_updates(what: str, query: str, message: str, status: int) -> None:
    with pytest.raises(QueryError) as exc:
        check_query(query)
    assert (str(exc.value), exc.value.status) == (message, status)


ACCEPTED = [
    ("negative decimal", "SELECT * WHERE { VALUES ?x { -1.0 } }", "SELECT"),
    ("keywords as variables, IRIs and strings",
     'SELECT ?service ?from WHERE { ?service <http://x/from> "SERVICE FROM LOAD" . ?from <http://x/load> ?o }', "SELECT"),
    ("keywords in prefixed names", "PREFIX ex: <http://e/> CONSTRUCT { ?s ex:service ?o } WHERE { ?s ex:from ?o }",
     "CONSTRUCT"),
    ("keywords in a comment ended by LF", "# SERVICE FROM LOAD\nASK { ?s ?p ?o }", "ASK"),
    ("keywords in a comment ended by CRLF", "# SERVICE FROM LOAD\r\nASK { ?s ?p ?o }", "ASK"),
    ("a hash inside an IRI and a string", 'SELECT * WHERE { ?s <http://x/#p> "# not a comment" }', "SELECT"),
    ("escapes in strings", 'SELECT * WHERE { ?s ?p "caf\\u00E9" }', "SELECT"),
    ("prologue first", "BASE <http://x/> PREFIX a: <http://a/> DESCRIBE <y>", "DESCRIBE"),
    ("less-than, not an IRI", "SELECT * WHERE { ?s ?p ?o FILTER(?o<?s) }", "SELECT"),
]


@pytest.mark.parametrize("what, query, form", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_query_check_accepts_what_the_engine_accepts(what: str, query: str, form: str) -> None:
    assert check_query(query) == form
    ox.Store().query(query)  # the engine parses it too


def test_query_check_reports_the_engines_syntax_error_where_it_is() -> None:
    with pytest.raises(SyntaxError) as exc:
        ox.Store().query("SELECT ?x WHERE { ?x ")
    assert str(syntax_error(exc.value)) == ('malformed query at line 1, column 22: expected one of "!", "$", "(", '
                                            '":", "<", "?", "^", "a"')


@pytest.fixture
def listener() -> Iterator[Listener]:
    ear = Listener()
    yield ear
    ear.close()


@pytest.mark.parametrize("what, query, message, status", [h for h in HIDDEN if "SERVICE" in h[1]],
                         ids=[h[0] for h in HIDDEN if "SERVICE" in h[1]])
def test_lod_query_makes_no_outbound_request(seed_site: BuildResult, listener: Listener,
                                             capsys: pytest.CaptureFixture[str],
                                             what: str, query: str, message: str, status: int) -> None:
    port = URL.split(":")[2].rstrip("/")
    query = query.replace(port, str(listener.port))
    assert main(["query", query, "--site", str(seed_site.out)]) == 1
    assert capsys.readouterr().err.strip() == "error: " + message.replace(port, str(listener.port))
    assert listener.connections == 0


# The differential property: whatever the check lets through, pyoxigraph runs without connecting.
_BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\\u000A", "\\u000D"]
_WRAPS = ["{}", "{{ {} }}", "OPTIONAL {{ {} }}", "{{ SELECT * WHERE {{ {} }} }}", "FILTER EXISTS {{ {} }}",
          "{{ ?s ?p ?o }} UNION {{ {} }}", "MINUS {{ {} }}", "GRAPH ?g {{ {} }}"]


@st.composite
def hidden_service(draw: st.DrawFn, url: str) -> str:
    # Oxigraph does not expand escapes in keywords (other engines do), so most spellings are plain.
    keyword = draw(st.sampled_from(["SERVICE", "service", "SeRvIcE", "SERV\\u0049CE", "\\u0053ERVICE"]))
    silent = draw(st.sampled_from(["", "SILENT "]))
    iri = draw(st.sampled_from([f"<{url}>", f"<{url}\\u0061>", f"<{url.replace(':', chr(92) + 'u003A', 2)}>"]))
    body = f"{keyword} {silent}{iri} {{ ?s ?p ?o }}"
    for _ in range(draw(st.integers(0, 3))):
        body = draw(st.sampled_from(_WRAPS)).format(body)
    before = draw(st.sampled_from(["", "# c", '# c """', "# c '"]))
    after = draw(st.sampled_from(["", "# c", '# c """', "# c '"]))
    gap = draw(st.sampled_from(_BREAKS))
    return f"SELECT * WHERE {{ {before}{gap}{body} {after}\n}}"


# One triple in the default graph and one in a named graph, so that every wrapper is evaluated.
STORE = ox.Store()
STORE.add(ox.Quad(ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p"), ox.Literal("o")))
STORE.add(ox.Quad(ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p"), ox.Literal("o"), ox.NamedNode("http://x/g")))


def passes_or_stays_home(listener: Listener, query: str) -> None:
    """Either the check refuses *query*, or pyoxigraph runs it without connecting to *listener*."""
    try:
        check_query(query)
    except QueryError:
        return
    try:
        list(STORE.query(query))  # type: ignore[arg-type]
    except (SyntaxError, OSError, RuntimeError):
        pass
    assert listener.connections == 0, query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_query_check_fuzz_whatever_passes_makes_no_connection(listener: Listener, data: st.DataObject) -> None:
    passes_or_stays_home(listener, data.draw(hidden_service(listener.url)))


@pytest.mark.heavy
@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_query_check_fuzz_many_whatever_passes_makes_no_connection(listener: Listener, data: st.DataObject) -> None:
    passes_or_stays_home(listener, data.draw(hidden_service(listener.url)))


def _chain(op: str, n: int) -> str:
    return {"groups": "SELECT * WHERE " + "{" * n + "?s ?p ?o" + "}" * n,
            "parentheses": "ASK { FILTER(" + "(" * n + "1" + ")" * n + ") }",
            "nested paths": "SELECT * WHERE { ?s " + "(" * n + "<urn:p>" + ")*" * n + " ?o }",
            "sum": "ASK { FILTER(" + "+".join(["1"] * n) + " > 0) }",
            "path sequence": "SELECT * WHERE { ?s " + "/".join(["<urn:p>"] * n) + " ?o }",
            "disjunction": "ASK { FILTER(" + "||".join(["true"] * n) + ") }"}[op]


@pytest.mark.parametrize("shape, n, message", [
    ("groups", 20_000, TOO_DEEP), ("parentheses", 20_000, TOO_DEEP), ("nested paths", 5_000, TOO_DEEP),
    ("sum", 30_000, TOO_MANY_OPERATORS), ("path sequence", 10_000, TOO_MANY_OPERATORS),
    ("disjunction", 15_000, TOO_MANY_OPERATORS),
])
def test_query_check_refuses_queries_that_would_overflow_the_engines_stack(shape: str, n: int, message: str) -> None:
    with pytest.raises(QueryError) as exc:
        check_query(_chain(shape, n))
    assert (str(exc.value), exc.value.status) == (message, 400)


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["groups", "parentheses", "nested paths", "sum", "path sequence", "disjunction"])
def test_query_check_bounds_leave_the_engine_room(shape: str) -> None:
    # At the check's own limits the engine still parses and answers: run it where a crash cannot take pytest down.
    # (A long path sequence is slow to evaluate, which the time limit handles; 200 steps show it parses.)
    n = {"groups": MAX_NESTING - 2, "parentheses": MAX_NESTING - 2, "nested paths": MAX_NESTING - 2,
         "sum": MAX_OPERATORS - 2, "path sequence": 200, "disjunction": MAX_OPERATORS // 2 - 2}[shape]
    query = _chain(shape, n)
    assert check_query(query)
    code = ("import sys, pyoxigraph as ox; s = ox.Store(); r = s.query(sys.stdin.read()); "
            "r if isinstance(r, ox.QueryBoolean) else list(r)")
    proc = subprocess.run([sys.executable, "-c", code], input=query, text=True, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
