"""A site whose base URL has a path (http://host/lod/) is served under that path only."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lod.publishing.build import build

from .conftest import SEED_DATA
from .test_server import raw_get, running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    out = tmp_path_factory.mktemp("prefixed") / "site"
    build(SEED_DATA, out, "http://localhost:8000/lod/")
    with running_server(out) as url, httpx.Client(base_url=url, timeout=10) as c:
        yield c


def test_server_prefix_resources_live_under_the_base_path(client: httpx.Client) -> None:
    r = client.get("/lod/person/francois-charton", headers={"Accept": "text/turtle"})
    assert r.status_code == 303
    assert r.headers["location"] == "/lod/person/francois-charton.ttl"
    assert '</lod/person/francois-charton.html>; rel="alternate"; type="text/html"' in r.headers["link"]
    doc = client.get(r.headers["location"])
    assert doc.status_code == 200
    assert "@prefix person: <http://localhost:8000/lod/person/> ." in doc.text


def test_server_prefix_paths_outside_the_base_are_404(client: httpx.Client) -> None:
    r = client.get("/person/francois-charton")
    assert r.status_code == 404
    assert r.json()["error"]["detail"] == "/person/francois-charton is outside this site, which lives under /lod/."


def test_server_prefix_base_without_slash_redirects(client: httpx.Client) -> None:
    r = client.get("/lod")
    assert r.status_code == 308 and r.headers["location"] == "/lod/"


def test_server_prefix_sparql_and_void(client: httpx.Client) -> None:
    r = client.get("/lod/sparql", params={"query": "ASK { <http://localhost:8000/lod/org/nyu> ?p ?o }"})
    assert r.json() == {"head": {}, "boolean": True}
    assert client.get("/.well-known/void").status_code == 200  # RFC 8615: at the host's root
    assert client.get("/lod/.well-known/void").status_code == 200  # and under the prefix, for proxies


def test_server_prefix_traversal_out_of_the_prefix_is_refused(client: httpx.Client) -> None:
    url = str(client.base_url).rstrip("/")
    for target in ("/lod/../etc/passwd", "/lod/%2e%2e/lod/dump.nt", "/lod/..%2fdump.nt"):
        assert raw_get(url, target)[0] == 400
