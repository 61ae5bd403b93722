"""Hostile requests to the real server: oversized heads and bodies, malformed Accept and
Content-Type, slow clients, SPARQL updates, outbound requests, nesting and VALUES bombs.

Each gets its 4xx/5xx (the statuses are listed in SECURITY.md), and meanwhile the server
keeps answering a page and a small query within a second. Requests go over raw sockets
where httpx would refuse or normalise them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lod.publishing.build import BuildResult

from .test_server import running_server, site_copy
from .test_sparql_safety import SMALL, Listener, wait_for_workers

pytestmark = pytest.mark.slow

TALK = "/talk/2023-09-13-greg-yang"


@pytest.fixture(scope="module")
def server(seed_site: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = site_copy(seed_site, tmp_path_factory.mktemp("hostile-server"))
    with running_server(site, "--timeout", "2", "--row-cap", "5000", "--workers", "3") as url:
        yield url


@pytest.fixture
def listener() -> Iterator[Listener]:
    ear = Listener()
    yield ear
    ear.close()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def exchange(url: str, head: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Send raw bytes, return the status and the response (the server closes or answers).

    The response is read while the bytes are sent, as an HTTP client does: a server refusing a
    1 MB head answers and closes before reading all of it, and a client that wrote to the end
    first got EPIPE, and could miss the answer (seen under load)."""
    with socket.create_connection(address(url), timeout=timeout) as s:
        def send() -> None:
            try:
                s.sendall(head)
            except OSError:  # refused and closed before the server read it all: its answer is read below
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            sender.join(timeout)
    return int(data.split(b" ", 2)[1]), data


def answers_others(url: str) -> None:
    """A page and a small query are each answered within a second."""
    with httpx.Client(base_url=url, timeout=5) as c:
        for get in (lambda: c.get(TALK + ".ttl"), lambda: c.get("/sparql", params={"query": SMALL})):
            t = time.monotonic()
            assert get().status_code == 200
            assert time.monotonic() - t < 1.0


# ---------------------------------------------------------------- sizes

@pytest.mark.parametrize("name, head, status", [
    ("1 MB header", b"GET /dump.nt HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n", 400),
    ("100k headers", b"GET /dump.nt HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 100_000 + b"\r\n", 400),
    ("1 MB query string", b"GET /talk/x?" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("1 MB SPARQL query string", b"GET /sparql?query=" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("Content-Length -1", b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                          b"Content-Length: -1\r\n\r\nSELECT", 400),
    ("Content-Length 10 GB", b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                             b"Content-Length: 10000000000\r\n\r\nSELECT", 413),
    ("TLS hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 100, 400),
    ("NUL in target", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
])
def test_server_hostile_oversized_or_malformed_head_is_refused(server: str, name: str, head: bytes,
                                                               status: int) -> None:
    got, _ = exchange(server, head)
    assert got == status, name
    answers_others(server)


@pytest.mark.parametrize("body", [b"a" * 10_000_000, iter([b"a" * 1_000_000] * 10)])
def test_server_hostile_oversized_body_is_413(server: str, body: object) -> None:
    r = httpx.post(server + "/sparql", content=body, headers={"Content-Type": "application/sparql-query"},  # type: ignore[arg-type]
                   timeout=10)
    assert r.status_code == 413
    assert r.json()["error"]["detail"] == "the request body is larger than 100000 bytes."
    assert httpx.post(server + TALK + ".ttl", content=b"a" * 10_000_000, timeout=10).status_code == 405
    answers_others(server)


# ---------------------------------------------------------------- malformed Accept and Content-Type

@pytest.mark.parametrize("accept", [
    b";;;,,,q=abc;q=;/", b"text/turtle;q=2, */*;q=-1, text/html;q=NaN", b"text/turtle;q=1e999", b"\x7f\xff",
    b"text/x;q=0.1, " * 1000 + b"text/turtle", b"*/*;q=0.5;q=0.9;level=1;;;;", b"/", b"*", b"text/",
])
def test_server_hostile_malformed_accept_is_negotiated_or_406(server: str, accept: bytes) -> None:
    for target in (TALK, "/sparql?query=ASK%7B%7D", "/.well-known/void", "/nope"):
        status, _ = exchange(server, b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nAccept: " + accept
                             + b"\r\nConnection: close\r\n\r\n")
        assert status in (200, 303, 404, 406), (target, accept)
    answers_others(server)


@pytest.mark.parametrize("ctype, body, status", [
    (";;;", b"ASK {}", 415),
    ("", b"ASK {}", 415),
    ("text/plain", b"ASK {}", 415),
    ("application/sparql-query; charset=latin-1", "ASK { ?s ?p 'é' }".encode("latin-1"), 400),
    ("application/x-www-form-urlencoded", b"query=%ff%fe", 400),
    ("application/x-www-form-urlencoded", b"query=ASK%7B%7D&query=ASK%7B%7D", 400),
    ("application/x-www-form-urlencoded", b"\xff\xfe=\x00", 400),
    ("application/sparql-update", b"DROP ALL", 403),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=query\r\n\r\nASK{}\r\n--x--", 415),
])
def test_server_hostile_malformed_content_type_is_refused(server: str, ctype: str, body: bytes, status: int) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    r = httpx.post(server + "/sparql", content=body, headers=headers, timeout=10)
    assert r.status_code == status, ctype
    assert r.json()["error"]["status"] == status
    answers_others(server)


# ---------------------------------------------------------------- slow clients

def test_server_hostile_slow_clients_do_not_block_others(server: str) -> None:
    socks: list[socket.socket] = []
    try:
        for i in range(60):  # slowloris: heads that never end, bodies that never come
            s = socket.create_connection(address(server), timeout=5)
            if i % 2:
                s.sendall(b"GET /dump.nt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            else:
                s.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                          b"Content-Length: 100\r\n\r\nSELECT")
            socks.append(s)
        reader = socket.create_connection(address(server), timeout=5)  # asks for the dump and never reads it
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.sendall(b"GET /dump.nt HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
        socks.append(reader)
        for _ in range(3):
            for s in socks[:59]:
                s.sendall(b"a")
            answers_others(server)
            time.sleep(0.2)
    finally:
        for s in socks:
            s.close()
    answers_others(server)


# ---------------------------------------------------------------- SPARQL

LOCAL_TARGETS = ["http://127.0.0.1:{port}/", "http://localhost:{port}/", "http://[::1]:{port}/",
                 "http://0.0.0.0:{port}/", "http://2130706433:{port}/", "file:///etc/passwd"]


@pytest.mark.parametrize("template, status", [
    ("SELECT * WHERE {{ SERVICE <{t}> {{ ?s ?p ?o }} }}", 403),
    ("SELECT * WHERE {{ \\u0053ERVICE <{t}> {{ ?s ?p ?o }} }}", 403),
    pytest.param("select * where {{ service silent <{t}> {{ ?s ?p ?o }} }}", 403, marks=pytest.mark.heavy),
    ("SELECT * WHERE {{ BIND(<{t}> AS ?x) SERVICE ?x {{ ?s ?p ?o }} }}", 403),
    ("SELECT * FROM <{t}> WHERE {{ ?s ?p ?o }}", 403),
    pytest.param("ASK FROM NAMED <{t}> {{ GRAPH ?g {{ ?s ?p ?o }} }}", 403, marks=pytest.mark.heavy),
    ("LOAD <{t}>", 403),
    pytest.param("LOAD SILENT <{t}> INTO GRAPH <urn:g>", 403, marks=pytest.mark.heavy),
    ("INSERT DATA {{ <urn:a> <urn:b> <{t}> }}", 403),
    pytest.param("DELETE WHERE {{ ?s ?p ?o }}", 403, marks=pytest.mark.heavy),
    pytest.param("CLEAR ALL", 403, marks=pytest.mark.heavy),
    pytest.param("SELECT * WHERE {{ ?s ?p ?o }} ; INSERT DATA {{ <urn:a> <urn:b> <urn:c> }}", 400, marks=pytest.mark.heavy),
])
def test_server_hostile_sparql_updates_and_outbound_are_refused_with_no_connection(
        server: str, listener: Listener, template: str, status: int) -> None:
    with httpx.Client(base_url=server, timeout=10) as c:
        for i, target in enumerate(LOCAL_TARGETS):  # each address by one of the three ways in, in turn
            query = template.format(t=target.format(port=listener.port))
            send = [lambda: c.get("/sparql", params={"query": query}), lambda: c.post("/sparql", data={"query": query}),
                    lambda: c.post("/sparql", data={"update": query})][i % 3]
            r = send()
            assert r.status_code in (status, 403), (query, r.text)
    time.sleep(0.1)
    assert listener.connections == 0
    answers_others(server)


VALUES_4000 = " ".join(f"<http://x/{i}>" for i in range(4000))
VALUES_2000 = " ".join(f"<http://x/{i}>" for i in range(2000))


@pytest.mark.parametrize("name, query, statuses", [
    ("20,000 nested groups", "SELECT * WHERE " + "{" * 20_000 + "?s ?p ?o" + "}" * 20_000, {400}),
    ("20,000 nested parentheses", "ASK { FILTER(" + "(" * 20_000 + "1" + ")" * 20_000 + ") }", {400}),
    ("5,000 nested paths", "SELECT * WHERE { ?s " + "(" * 5_000 + "<urn:p>" + ")*" * 5_000 + " ?o }", {400}),
    pytest.param("500 nested subqueries", "SELECT * WHERE { " + "{ SELECT * WHERE " * 500 + "{ ?s ?p ?o }"
                 + " }" * 1000, {400, 503}, marks=pytest.mark.heavy),
    pytest.param("nested OPTIONALs", "SELECT * WHERE { ?a ?b ?c " + "OPTIONAL { ?a ?b ?c " * 300 + "}" * 301,
                 {200, 400, 422, 503}, marks=pytest.mark.heavy),
    pytest.param("path bomb", "SELECT (COUNT(*) AS ?n) WHERE { ?s (<urn:p>|!<urn:p>)* ?o . ?x (<urn:p>|!<urn:p>)* ?y }",
                 {503}, marks=pytest.mark.heavy),
    ("cross join by VALUES", "SELECT * WHERE { VALUES ?a { " + VALUES_2000 + " } VALUES ?b { " + VALUES_2000
     + " } }", {422, 503}),
    ("huge VALUES", "SELECT * WHERE { VALUES ?s { " + VALUES_4000 + " } ?s ?p ?o }", {200}),
    pytest.param("regex bomb", 'SELECT * WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), "(a+)+$")) } LIMIT 10', {200, 503},
                 marks=pytest.mark.heavy),
    pytest.param("string bomb", 'SELECT (STRLEN(CONCAT(' + ", ".join(["?o"] * 2000) + ')) AS ?n) WHERE { ?s ?p ?o }',
                 {200, 422, 503}, marks=pytest.mark.heavy),
])
def test_server_hostile_sparql_bombs_are_stopped_while_others_are_answered(server: str, name: str, query: str,
                                                                           statuses: set[int]) -> None:
    with httpx.Client(base_url=server, timeout=10) as c:
        wait_for_workers(c)  # those killed by the previous bomb are back
    with ThreadPoolExecutor(1) as pool:
        bomb = pool.submit(httpx.post, server + "/sparql", content=query.encode(),
                           headers={"Content-Type": "application/sparql-query"}, timeout=30)
        time.sleep(0.2)
        answers_others(server)
        r = bomb.result()
    assert r.status_code in statuses, (name, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.json()["error"]["status"] == r.status_code
    answers_others(server)


def test_server_hostile_path_traversal_in_more_encodings(server: str) -> None:
    for target in ("/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/%252e%252e%252f", "/%u002e%u002e/etc/passwd",
                   "/..%c0%af..%c0%afetc/passwd", "/%e0%80%ae%e0%80%ae/etc/passwd", "/.%2e/.%2e/etc/passwd",
                   "/talk/..;/..;/etc/passwd", "/talk/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "/%ef%bc%8e%ef%bc%8e/etc/passwd",
                   "/talk/....//....//etc/passwd", "/talk/%00../../etc/passwd", "/" + "../" * 200 + "etc/passwd",
                   "http://x/../../etc/passwd", "/talk/2023-09-13-greg-yang.ttl::$DATA"):
        status, data = exchange(server, b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status in (400, 404), target
        assert b"root:" not in data
    answers_others(server)


@pytest.mark.heavy
def test_server_hostile_flood_of_runaways_gets_429_while_pages_are_served(server: str) -> None:
    # 24 runaway queries at once: 8 are admitted, the rest get 429 Too Many Requests + Retry-After at
    # the door (issue 16: overload is never a 5xx); those admitted run to the timeout (503) or wait
    # for a worker in vain (429). Pages never wait for query workers.
    def one(_: int) -> httpx.Response:
        return httpx.get(server + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f "
                                                                 ". ?g ?h ?i }"}, timeout=30)

    with ThreadPoolExecutor(24) as pool:
        flood = pool.map(one, range(24))
        time.sleep(0.3)
        with httpx.Client(base_url=server, timeout=5) as c:
            for path in (TALK + ".ttl", "/index.html", TALK):
                t = time.monotonic()
                assert c.get(path).status_code in (200, 303)
                assert time.monotonic() - t < 1.0
        answers = list(flood)
    assert {a.status_code for a in answers} <= {429, 503}
    refused = [a for a in answers if "already" in a.json()["error"]["detail"]]
    assert len(refused) == 16 and all(a.status_code == 429 and a.headers["retry-after"] == "2" for a in refused)
    assert all(a.status_code == 503 for a in answers if "was stopped" in a.json()["error"]["detail"])
    for _ in range(100):  # killed workers are replaced
        try:
            answers_others(server)
            break
        except AssertionError:
            time.sleep(0.1)
    answers_others(server)


def test_server_hostile_nothing_was_written(server: str) -> None:
    r = httpx.get(server + "/sparql", params={"query": "ASK { <urn:a> <urn:b> ?o }"}, timeout=10)
    assert r.json()["boolean"] is False  # no update above got through
