"""Golden cases: each folder under tests/golden holds input records (data/) and the
graph they must map to (expected.ttl). On a mismatch the test prints the triple diff.

To accept a deliberate change of the mapping, run with LOD_UPDATE_GOLDEN=1 and review
the diff of expected.ttl before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, to_isomorphic

from lod.model.iri import Minter
from lod.loading.stage import load
from lod.mapping.triples import to_graph
from lod.model.serialize import to_turtle, to_ntriples

GOLDEN = Path(__file__).parent / "golden"
BASE = "http://example.org/"


def _lines(g: Graph) -> list[str]:
    return to_ntriples(g).decode().splitlines()


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_golden_records_map_to_expected_graph(case: str) -> None:
    folder = GOLDEN / case
    got = to_graph(load(folder / "data"), Minter(BASE))
    expected_path = folder / "expected.ttl"
    if os.environ.get("LOD_UPDATE_GOLDEN"):
        expected_path.write_bytes(to_turtle(got, {}))
    expected = Graph().parse(expected_path, format="turtle")
    if to_isomorphic(got) != to_isomorphic(expected):
        _both, only_got, only_expected = graph_diff(to_isomorphic(got), to_isomorphic(expected))
        diff = ["- " + line for line in _lines(only_expected)] + ["+ " + line for line in _lines(only_got)]
        pytest.fail(f"{case}: the mapped graph differs from expected.ttl\n" + "\n".join(diff))
