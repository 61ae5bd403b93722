"""The JSON-LD dump and documents are readable offline (issue 16): their context is inline.

pyoxigraph has no document loader; it must parse every published JSON-LD file to exactly
the triples of its N-Triples twin, fetching nothing.
"""

from __future__ import annotations

import json

import pyoxigraph as ox

from lod.publishing.build import BuildResult


def test_jsonld_dump_and_documents_parse_offline_to_their_ntriples(seed_site: BuildResult) -> None:
    site = seed_site.out
    files = [site / "dump.jsonld", *sorted(site.glob("*/*.jsonld"))]
    assert len(files) > 100
    for path in files:
        assert isinstance(json.loads(path.read_bytes())["@context"], dict), path  # inline, not a URL
        got = set(ox.parse(path=str(path), format=ox.RdfFormat.JSON_LD))
        want = set(ox.parse(path=str(path.with_suffix(".nt")), format=ox.RdfFormat.N_TRIPLES))
        assert got == want, path


def test_jsonld_published_context_is_still_served_and_matches_the_inline_one(seed_site: BuildResult) -> None:
    inline = json.loads((seed_site.out / "dump.jsonld").read_bytes())["@context"]
    published = json.loads((seed_site.out / "context.jsonld").read_bytes())["@context"]
    # The published context also names the site's own prefixes (event:, org: …); the keys only use these.
    assert {k: v for k, v in published.items() if k in inline} == inline
