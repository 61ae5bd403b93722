"""Sharded, cached validation (what a build runs) gives exactly whole-graph pyshacl's report (the reference)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef

import importlib
from lod.iri import Minter
from lod.load import load
from lod.mapping import origins, to_graph

from .conftest import SEED_DATA, TEST_BASE

FIXTURES = Path(__file__).resolve().parent / "shapes"
# lod/__init__ re-exports the function validate under the module's name, so fetch the module itself
V = importlib.import_module("lod.validate")


def _seed() -> tuple[Graph, dict]:  # type: ignore[type-arg]
    ds = load(SEED_DATA)
    m = Minter(TEST_BASE)
    return to_graph(ds, m), origins(ds, m)


@pytest.mark.parametrize("shard_size", [7, 10_000])
def test_sharded_report_equals_whole_graph_report_on_the_seed_data(shard_size: int,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(V, "SHARD_SIZE", shard_size)
    graph, where = _seed()
    whole = V.validate(graph, where)
    sharded, _cache = V.validate_sharded(graph, where)
    assert sharded.results == whole.results
    assert [str(r) for r in sharded.results] == [str(r) for r in whole.results]


FILES = sorted(FIXTURES.glob("*/*.ttl"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sharded_report_equals_whole_graph_report_on_every_shape_fixture(path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixtures hold the violations; one resource per shard is the hardest split."""
    graph = Graph().parse(path, format="turtle")
    if any(isinstance(t, BNode) for triple in graph for t in triple):
        pytest.skip("blank nodes are never published, so a build never shards them")
    monkeypatch.setattr(V, "SHARD_SIZE", 1)
    whole = V.validate(graph, None)
    sharded, _cache = V.validate_sharded(graph, None)
    assert sharded.results == whole.results


def test_cache_revalidates_only_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    graph, where = _seed()
    first, cache = V.validate_sharded(graph, where)
    seen: list[str] = []
    original = V._validate_shard

    def spy(text: str, owners: list[str]) -> list[tuple[str, ...]]:
        seen.extend(owners)
        return original(text, owners)

    monkeypatch.setattr(V, "_validate_shard", spy)
    again, cache2 = V.validate_sharded(graph, where, cache)
    assert seen == [] and again.results == first.results and cache2 == cache
    talk = URIRef(TEST_BASE + "talk/2023-10-12-neel-nanda")
    name = URIRef("http://schema.org/name")
    graph.remove((talk, name, None))
    graph.add((talk, name, Literal("A new title")))
    edited, _cache3 = V.validate_sharded(graph, where, cache)
    assert seen == [str(talk)]
    assert edited.results == V.validate(graph, where).results


def test_parallel_shards_give_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(V, "SHARD_SIZE", 40)
    monkeypatch.setattr(V, "PARALLEL_FROM", 1)
    graph, where = _seed()
    sharded, _cache = V.validate_sharded(graph, where, workers=2)
    assert sharded.results == V.validate(graph, where).results


SH = "http://www.w3.org/ns/shacl#"


def test_the_shapes_keep_to_what_sharding_assumes() -> None:
    """Sharding is exact because a resource's results depend only on its description and the types
    of what it links to. A shape that looks further (an inverse or transitive path, sh:node, a
    qualified shape, a new SPARQL constraint) must come with a review of lod/validate.py."""
    shapes = V.load_shapes()
    used = {str(p) for _s, p, _o in shapes}
    for term in ("inversePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath", "alternativePath", "node",
                 "qualifiedValueShape", "equals", "disjoint", "lessThan", "lessThanOrEquals", "rule"):
        assert SH + term not in used, f"sh:{term} in the shapes: check the sharding assumptions in lod/validate.py"
    sparql = {str(o).rsplit("#", 1)[-1] for o in shapes.objects(None, URIRef(SH + "sparql"))}
    assert sparql == {"EndNotBeforeStart", "TitleStatusOnlyWithoutName"}, sparql
    # the one sequence path, schema:workPerformed/schema:citation, stays inside the talk's own fragments
    graph, _where = _seed()
    for p in ("http://schema.org/workPerformed", "http://schema.org/citation"):
        for s, o in graph.subject_objects(URIRef(p)):
            assert str(o).split("#", 1)[0] == str(s).split("#", 1)[0], (s, p, o)
