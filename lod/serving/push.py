"""``lod push``: load the dataset into an external SPARQL store.

One SPARQL 1.1 Graph Store HTTP Protocol request, ``PUT ENDPOINT?graph=IRI`` with the
whole dump as its body, replaces the named graph: the store never holds the old and
the new dataset mixed, and readers never see half of it (provided the store applies
a PUT in one transaction; see docs/server.md for Oxigraph, Fuseki, GraphDB, QLever).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from lod.errors import ConfigError, PushError
from lod.model.iri import Minter, is_valid_iri
from lod.serving.site import read_site

DUMPS = {"nt": ("dump.nt", "application/n-triples"), "ttl": ("dump.ttl", "text/turtle")}
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PushResult:
    """What was pushed where."""

    endpoint: str
    graph: str
    dump: Path
    triples: int
    status: int


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _count_triples(site: Path) -> int:
    # The N-Triples dump has one triple per line, whichever dump is sent.
    with open(site / "dump.nt", "rb") as fh:
        return sum(1 for _ in fh)


def push(site: str | os.PathLike[str], endpoint: str, graph: str | None = None, fmt: str = "nt",
         timeout: float = 600.0) -> PushResult:
    """PUT the site's dump to *endpoint* ``?graph=`` *graph* (default ``BASE + "graph"``), in one request."""
    info = read_site(site)
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"the endpoint {endpoint!r} must be an http(s) URL, such as http://localhost:7878/store.")
    graph = graph or str(Minter(info.base_url).graph)
    if not is_valid_iri(graph):
        raise ConfigError(f"the graph {graph!r} is not a valid absolute IRI.")
    name, media_type = DUMPS[fmt]
    dump = info.root / name
    if not dump.is_file():
        raise ConfigError(f"{dump} does not exist; run 'lod build' first.")
    size = dump.stat().st_size
    try:
        # Content-Length given: no chunked upload, which some stores' servers refuse.
        response = httpx.put(endpoint, params={"graph": graph}, content=_chunks(dump),
                             headers={"Content-Type": media_type, "Content-Length": str(size)},
                             timeout=timeout, follow_redirects=False, trust_env=False)
    except httpx.HTTPError as exc:
        raise PushError(f"could not reach {endpoint}: {exc}") from None
    if response.status_code not in (200, 201, 204):
        detail = response.text[:1000].strip()
        raise PushError(f"{endpoint} answered {response.status_code} to the PUT of graph <{graph}>"
                        + (f": {detail}" if detail else "") + "; the store keeps what it had.")
    return PushResult(endpoint, graph, dump, _count_triples(info.root), response.status_code)
