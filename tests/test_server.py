"""The Linked Data server over real HTTP: content negotiation, documents, caching, errors, paths.

The server is the real ``lod serve`` in a subprocess on a free loopback port, one per
module; requests are real HTTP (httpx; http.client where a path must reach the
server byte for byte, since httpx normalises dot segments).
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from lod.publishing.build import BuildResult

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
TALK = "/talk/2023-09-13-greg-yang"
LINK_ALL = (f'<{TALK}.html>; rel="alternate"; type="text/html", '
            f'<{TALK}.ttl>; rel="alternate"; type="text/turtle", '
            f'<{TALK}.nt>; rel="alternate"; type="application/n-triples", '
            f'<{TALK}.jsonld>; rel="alternate"; type="application/ld+json", '
            f'<{TALK}.rdf>; rel="alternate"; type="application/rdf+xml"')


# ---------------------------------------------------------------- helpers shared by the server tests

def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(site: Path, *args: str, log: Path | None = None) -> Iterator[str]:
    """``lod serve --site SITE ARGS…`` on a free loopback port; yields its URL, stops it afterwards."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "lod", "serve", "--site", str(site), "--host", "127.0.0.1",
                             "--port", str(port), *args], cwd=REPO, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"lod serve exited with {proc.returncode}"
                                   + (f": {log.read_text()}" if log else ""))
            try:
                httpx.get(url + "/.well-known/void", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def site_copy(seed_site: BuildResult, tmp: Path) -> Path:
    """A private copy of the seed site (the session's copy is shared with other tests)."""
    dest = tmp / "site"
    shutil.copytree(seed_site.out, dest)
    return dest


def raw_get(url: str, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET with the request target sent exactly as given (no normalisation, no encoding)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def site(seed_site: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_copy(seed_site, tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="module")
def server(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(site, "--timeout", "2", log=tmp_path_factory.mktemp("log") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, follow_redirects=False, timeout=10) as c:
        yield c


# ---------------------------------------------------------------- content negotiation

@pytest.mark.parametrize("accept, suffix", [
    (None, ".html"),
    (BROWSER, ".html"),
    ("*/*", ".html"),
    ("text/turtle", ".ttl"),
    ("application/n-triples", ".nt"),
    ("application/ld+json", ".jsonld"),
    ("application/json", ".jsonld"),
    ("text/turtle;q=0.4, application/n-triples;q=0.8, */*;q=0.1", ".nt"),
    ("text/html;q=0, */*", ".ttl"),
    ("text/*", ".html"),
    ("application/rdf+xml, text/turtle;q=0.5", ".rdf"),  # RDF/XML, derived from the .nt document (issue 16)
    ("application/rdf+xml;q=0.4, text/turtle;q=0.5", ".ttl"),
    ("text/plain", ".nt"),  # what old clients send for N-Triples
    ("text/n3", ".ttl"),  # a Turtle document is an N3 document
    ("application/*", ".nt"),  # never text/html, which the client did not accept
])
def test_server_resource_iri_redirects_303_to_preferred_document(client: httpx.Client, accept: str | None,
                                                                 suffix: str) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    r = client.get(TALK, headers=headers)
    assert r.status_code == 303
    assert r.headers["location"] == TALK + suffix
    assert r.headers["vary"] == "Accept"
    assert r.headers["link"] == LINK_ALL


def test_server_xhtml_alone_is_406_not_html(client: httpx.Client) -> None:
    # Answering text/html to a client that accepts application/xhtml+xml only would send a type it refused.
    r = client.get(TALK, headers={"Accept": "application/xhtml+xml"})
    assert r.status_code == 406


def test_server_rdf_xml_document_is_the_nt_document_converted(client: httpx.Client, site: Path) -> None:
    import pyoxigraph as ox

    r = client.get(TALK + ".rdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/rdf+xml; charset=utf-8"
    nt = (site / "talk/2023-09-13-greg-yang.nt").read_bytes()
    assert set(ox.parse(r.content, ox.RdfFormat.RDF_XML)) == set(ox.parse(nt, ox.RdfFormat.N_TRIPLES))
    assert client.get(TALK + ".rdf", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assert not (site / "talk/2023-09-13-greg-yang.rdf").exists()  # derived on request, not built
    assert client.get("/talk/no-such-talk.rdf").status_code == 404


@pytest.mark.parametrize("target", ["/talk/" + "a" * 250, "/talk/" + "a" * 300 + ".ttl", "/" + "a" * 300,
                                    "/" + "a" * 300 + "/" + "b" * 300, "/talk/" + "a" * 5000 + ".rdf"])
def test_server_overlong_names_are_404_not_500(server: str, target: str) -> None:
    # ENAMETOOLONG from the file system used to escape as a 500 with a traceback (issue 13.4).
    status, _, body = raw_get(server, target)
    assert status == 404, body


def test_server_missing_accept_header_gets_html(server: str) -> None:
    # httpx always sends Accept; http.client sends none.
    status, headers, _ = raw_get(server, TALK)
    assert status == 303 and headers["location"] == TALK + ".html"


def test_server_nothing_acceptable_is_406_listing_types(client: httpx.Client) -> None:
    r = client.get(TALK, headers={"Accept": "image/png, text/turtle;q=0"})
    assert r.status_code == 406
    assert r.headers["vary"] == "Accept"
    assert r.headers["link"] == LINK_ALL
    assert r.json() == {"error": {"status": 406, "title": "Not Acceptable", "detail":
                        "none of the types in the Accept header is available for this resource; available: "
                        "text/html, text/turtle, application/n-triples, application/ld+json, application/rdf+xml."}}


def test_server_redirect_is_followed_to_the_document(client: httpx.Client) -> None:
    r = client.get(TALK, headers={"Accept": "text/turtle"}, follow_redirects=True)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/turtle; charset=utf-8"
    assert "talk:2023-09-13-greg-yang" in r.text


def test_server_head_of_resource_iri_has_the_get_headers(client: httpx.Client) -> None:
    for accept in ("text/turtle", "application/ld+json"):
        g = client.get(TALK, headers={"Accept": accept})
        h = client.head(TALK, headers={"Accept": accept})
        assert h.status_code == g.status_code == 303
        assert dict(h.headers) | {"date": ""} == dict(g.headers) | {"date": ""}
        assert h.content == b""


def test_server_home_page_negotiates_index_or_dataset_description(client: httpx.Client) -> None:
    assert client.get("/", headers={"Accept": BROWSER}).headers["location"] == "/index.html"
    r = client.get("/", headers={"Accept": "text/turtle"})
    assert r.status_code == 303 and r.headers["location"] == "/void.ttl"


# ---------------------------------------------------------------- documents

@pytest.mark.parametrize("suffix, content_type", [
    (".html", "text/html; charset=utf-8"),
    (".ttl", "text/turtle; charset=utf-8"),
    (".nt", "application/n-triples; charset=utf-8"),
    (".jsonld", "application/ld+json; charset=utf-8"),
])
def test_server_documents_are_served_with_type_and_charset(client: httpx.Client, site: Path, suffix: str,
                                                           content_type: str) -> None:
    r = client.get(TALK + suffix, headers={"Accept": "image/png"})  # a document is not negotiated
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.content == (site / f"talk/2023-09-13-greg-yang{suffix}").read_bytes()
    others = [part for part in LINK_ALL.split(", ") if f"{TALK}{suffix}>" not in part]
    assert r.headers["link"] == ", ".join(others)
    assert r.headers.get("vary", "").lower() in ("", "accept-encoding")  # not negotiated on Accept (gzip may vary)


@pytest.mark.parametrize("path, content_type", [
    ("/dump.ttl", "text/turtle; charset=utf-8"),
    ("/dump.nt", "application/n-triples; charset=utf-8"),
    ("/dump.jsonld", "application/ld+json; charset=utf-8"),
    ("/context.jsonld", "application/ld+json; charset=utf-8"),
    ("/void.ttl", "text/turtle; charset=utf-8"),
    ("/ontology.ttl", "text/turtle; charset=utf-8"),
    ("/queries.html", "text/html; charset=utf-8"),
    ("/queries/talks-with-recordings.rq", "application/sparql-query; charset=utf-8"),
])
def test_server_site_files_are_served(client: httpx.Client, path: str, content_type: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == content_type


def test_server_head_of_document_has_the_get_headers(client: httpx.Client) -> None:
    for path in (TALK + ".ttl", "/dump.nt", "/index.html"):
        g = client.get(path, headers={"Accept-Encoding": "identity"})  # HEAD is not compressed
        h = client.head(path, headers={"Accept-Encoding": "identity"})
        assert h.status_code == 200
        # GZip adds "Vary: Accept-Encoding" to a GET it could have compressed, not to a HEAD.
        assert dict(h.headers) | {"date": ""} == {k: v for k, v in g.headers.items() if k != "vary"} | {"date": ""}
        assert h.headers["content-length"] == str(len(g.content))
        assert h.content == b""


def test_server_etag_and_last_modified_give_304(client: httpx.Client) -> None:
    r = client.get(TALK + ".ttl")
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert etag.startswith('"') and len(etag) == 34
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'}, {"If-None-Match": "*"},
                    {"If-Modified-Since": modified}):
        r304 = client.get(TALK + ".ttl", headers=headers)
        assert r304.status_code == 304, headers
        assert r304.content == b""
        assert r304.headers["etag"] == etag
        assert client.head(TALK + ".ttl", headers=headers).status_code == 304
    assert client.get(TALK + ".ttl", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(TALK + ".ttl", headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
    assert client.get(TALK + ".ttl", headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
                      ).status_code == 200


def test_server_etag_changes_with_the_bytes(client: httpx.Client, site: Path) -> None:
    before = client.get("/robots.txt").headers["etag"]
    path = site / "robots.txt"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"# changed\n")
        after = client.get("/robots.txt", headers={"If-None-Match": before})
        assert after.status_code == 200 and after.headers["etag"] != before
    finally:
        path.write_bytes(original)


# ---------------------------------------------------------------- /.well-known/void

def test_server_well_known_void_serves_turtle_by_default(client: httpx.Client, site: Path) -> None:
    r = client.get("/.well-known/void", headers={"Accept": "*/*"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/turtle; charset=utf-8"
    assert r.headers["content-location"] == "/void.ttl"
    assert r.headers["vary"] in ("Accept", "Accept, Accept-Encoding")  # gzip when asked
    assert r.content == (site / "void.ttl").read_bytes()


def test_server_well_known_void_negotiates_rdf_formats(client: httpx.Client) -> None:
    nt = client.get("/.well-known/void", headers={"Accept": "application/n-triples"})
    assert nt.headers["content-type"] == "application/n-triples; charset=utf-8"
    assert ('<http://localhost:8000/void#dataset> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
            '<http://rdfs.org/ns/void#Dataset> .') in nt.text.splitlines()
    jl = client.get("/.well-known/void", headers={"Accept": "application/json"})
    assert jl.headers["content-type"] == "application/ld+json; charset=utf-8"
    assert jl.json()["@context"]["@vocab"] == "http://schema.org/"  # inline: readable offline
    assert client.get("/.well-known/void", headers={"Accept": "text/html"}).status_code == 406


# ---------------------------------------------------------------- errors

def test_server_unknown_resource_is_404_json_for_programs(client: httpx.Client) -> None:
    r = client.get("/talk/2023-09-13-greg-yan", headers={"Accept": "text/turtle"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["vary"] == "Accept"
    assert r.json() == {"error": {"status": 404, "title": "Not Found",
                                  "detail": "there is no resource at /talk/2023-09-13-greg-yan.",
                                  "suggestions": ["/talk/2023-09-13-greg-yang", "/talk/2023-10-12-neel-nanda"]}}


def test_server_unknown_resource_is_a_helpful_404_page_for_browsers(client: httpx.Client) -> None:
    r = client.get("/talk/2023-09-13-greg-yan", headers={"Accept": BROWSER})
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>404 Not Found</h1>" in r.text
    assert '<a href="/talk/2023-09-13-greg-yang">/talk/2023-09-13-greg-yang</a>' in r.text
    assert '<a href="/queries.html">Example queries</a>' in r.text
    assert '<a href="/sparql">SPARQL endpoint</a>' in r.text


def test_server_error_pages_escape_the_path(client: httpx.Client) -> None:
    r = client.get("/talk/<script>alert(1)</script>", headers={"Accept": BROWSER})
    assert r.status_code == 404
    assert "<script>alert" not in r.text


def test_server_missing_document_is_404(client: httpx.Client) -> None:
    r = client.get("/talk/nobody.ttl")
    assert r.status_code == 404
    assert r.json()["error"]["detail"] == "there is no document at /talk/nobody.ttl."


def test_server_writes_are_405(client: httpx.Client) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, TALK + ".ttl", content=b"x")
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, HEAD, OPTIONS"
        assert r.json()["error"]["title"] == "Method Not Allowed"


def test_server_every_response_allows_cors(client: httpx.Client) -> None:
    for r in (client.get(TALK), client.get(TALK + ".ttl"), client.get("/nope"), client.get("/sparql")):
        assert r.headers["access-control-allow-origin"] == "*"
    assert "Link" in client.get(TALK).headers["access-control-expose-headers"]


# ---------------------------------------------------------------- path traversal

@pytest.mark.parametrize("target", [
    "/../etc/passwd",
    "/talk/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2fetc%2fpasswd",
    "/%2E%2E/dump.nt",
    "/..%2f..%2fetc/passwd",
    "/%252e%252e/etc/passwd",
    "/%252e%252e%252fetc%252fpasswd",
    "/talk/..%5c..%5cetc%5cpasswd",
    "/talk\\..\\..\\etc\\passwd",
    "/talk/%00.ttl",
    "/talk/2023-09-13-greg-yang.ttl%00.html",
    "/%c0%ae%c0%ae/etc/passwd",
    "/./dump.nt",
    "/sparql/../dump.nt",
])
def test_server_path_traversal_is_refused(server: str, target: str) -> None:
    status, headers, body = raw_get(server, target)
    assert status in (400, 404), target
    assert b"root:" not in body
    assert json.loads(body)["error"]["status"] == status


@pytest.mark.parametrize("target", [
    "/.lod-site.json", "/%2elod-site.json", "/talk/.hidden", "//etc/passwd", "/etc/passwd", "/talk//x",
    "/talk/2023-09-13-greg-yang.ttl/", "/C:/Windows/win.ini", "/~root",
])
def test_server_dotfiles_and_outside_paths_are_404(server: str, target: str) -> None:
    status, _, body = raw_get(server, target)
    assert status == 404, target
    assert b"base_url" not in body


def test_server_symlink_out_of_the_site_is_not_followed(client: httpx.Client, site: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ttl"
    secret.write_text("secret")
    (site / "leak.ttl").symlink_to(secret)
    try:
        assert client.get("/leak.ttl").status_code == 404
    finally:
        (site / "leak.ttl").unlink()


def test_server_compresses_for_clients_that_ask(client: httpx.Client, site: Path) -> None:
    raw = (site / "talk/2023-09-13-greg-yang.html").read_bytes()
    r = client.get(TALK + ".html", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.content == raw  # httpx decodes it
    assert int(r.headers["content-length"]) < len(raw)
    plain = client.get(TALK + ".html", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == raw
