"""Contract tests of the SHACL shapes (shapes/shapes.ttl).

Every node shape has a directory tests/shapes/<ShapeLocalName>/ holding
- pass.ttl: data that the node shape (and its property shapes) accepts, and that breaks
  no other shape either;
- fail.ttl: data that the node shape reports, and no other shape does. Its first line may
  say which severity it must produce: ``# expect: violation`` (the default) or
  ``# expect: warning``.
A new node shape without fixtures fails this suite.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from lod.validation.report import Report, load_shapes, shapes_path, validate
from lod.model.vocab import LOD, PAV, SCHEMA

ROOT = Path(__file__).resolve().parents[1]
SHAPES_FILE = ROOT / "shapes" / "shapes.ttl"
FIXTURES = Path(__file__).resolve().parent / "shapes"
SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPE_NS = "https://w3id.org/lod-talks/shapes#"
EXPECT_RE = re.compile(r"^#\s*expect:\s*(violation|warning)\s*$")

SHAPES = load_shapes(SHAPES_FILE)
NODE_SHAPES = sorted(SHAPES.subjects(RDF.type, SH.NodeShape), key=str)

PREFIXES = """\
@prefix schema: <http://schema.org/> .
@prefix lod: <https://w3id.org/lod-talks/ns#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix pav: <http://purl.org/pav/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@base <http://localhost:8000/> .
<source/page> a lod:SourceDocument, schema:CreativeWork ;
    lod:documentName "000_test.txt" ; pav:retrievedOn "2026-11-22"^^xsd:date .
"""


def local_name(shape: Node) -> str:
    return str(shape).rsplit("#", 1)[-1]


def short(node: Node) -> str:
    """The name lod.validation.report gives a shape in Result.shape (all our shapes are under shape:)."""
    value = str(node)
    return "shape:" + value[len(SHAPE_NS):] if value.startswith(SHAPE_NS) else value


def members(node_shape: Node) -> set[str]:
    """The node shape and its property shapes, as Result.shape names them."""
    return {short(node_shape)} | {short(p) for p in SHAPES.objects(node_shape, SH.property)
                                  if isinstance(p, URIRef)}


@cache
def run_file(path: Path) -> Report:
    return validate(Graph().parse(path, format="turtle"), None, SHAPES)


def run_text(turtle: str) -> Report:
    return validate(Graph().parse(data=PREFIXES + turtle, format="turtle"), None, SHAPES)


def expected_severity(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = EXPECT_RE.match(first)
    return m.group(1) if m else "violation"


@pytest.mark.parametrize("node_shape", NODE_SHAPES, ids=local_name)
def test_shape_fixtures_pass_and_fail(node_shape: Node) -> None:
    folder = FIXTURES / local_name(node_shape)
    assert (folder / "pass.ttl").is_file() and (folder / "fail.ttl").is_file(), (
        f"{short(node_shape)} has no fixtures: write {folder}/pass.ttl and fail.ttl")
    own = members(node_shape)

    passed = run_file(folder / "pass.ttl")
    mine = [str(r) for r in passed.results if r.shape in own]
    assert not mine, f"pass.ttl is reported by {short(node_shape)}:\n" + "\n".join(mine)
    assert not passed.results, "pass.ttl breaks other shapes:\n" + "\n".join(map(str, passed.results))

    failed = run_file(folder / "fail.ttl")
    severity = expected_severity(folder / "fail.ttl")
    assert any(r.shape in own and r.severity == severity for r in failed.results), (
        f"fail.ttl gives no {severity} from {short(node_shape)}; results:\n" + "\n".join(map(str, failed.results)))
    others = [str(r) for r in failed.results if r.shape not in own]
    assert not others, "fail.ttl is also reported by other shapes:\n" + "\n".join(others)


def test_shapes_every_fixture_folder_names_a_node_shape() -> None:
    names = {local_name(s) for s in NODE_SHAPES}
    stray = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in names)
    assert not stray, f"fixture folders without a node shape: {stray}"


def test_shapes_are_named_and_every_property_shape_has_a_message() -> None:
    for node_shape in NODE_SHAPES:
        assert isinstance(node_shape, URIRef) and str(node_shape).startswith(SHAPE_NS), node_shape
        for prop in SHAPES.objects(node_shape, SH.property):
            assert isinstance(prop, URIRef) and str(prop).startswith(SHAPE_NS), (
                f"{short(node_shape)} has an unnamed property shape")
            assert SHAPES.value(prop, SH.message) is not None, f"{short(prop)} has no sh:message"
        for constraint in SHAPES.objects(node_shape, SH.sparql):
            assert SHAPES.value(constraint, SH.message) is not None, f"{constraint} has no sh:message"


def test_shapes_use_only_terms_of_the_closed_namespaces() -> None:
    """A typo such as schema:startdate in a shape would silently check nothing."""
    closed = {str(SCHEMA._NS): SCHEMA, str(LOD._NS): LOD, str(PAV._NS): PAV}
    for term in {t for triple in SHAPES for t in triple if isinstance(t, URIRef)}:
        for ns, vocab in closed.items():
            if str(term).startswith(ns):
                name = str(term)[len(ns):]
                assert name in vocab.__annotations__, f"{term} is not a term of lod.model.vocab.{vocab.__name__}"


def test_shapes_ship_with_the_package() -> None:
    packaged = Path(str(resources.files("lod") / "data" / "shapes.ttl"))
    assert packaged.resolve() == SHAPES_FILE.resolve()
    assert shapes_path().read_bytes() == SHAPES_FILE.read_bytes()


# ------------------------------------------------------------------ single behaviours

def test_talk_end_before_start_is_a_violation() -> None:
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; prov:wasDerivedFrom <source/page> ;
        schema:startDate "2023-09-13T10:00:00+10:00"^^xsd:dateTime ;
        schema:endDate "2023-09-13T09:30:00+10:00"^^xsd:dateTime .
    """)
    assert [r.shape for r in report.violations] == ["shape:TalkShape"]
    assert "before" in report.violations[0].message


def test_talk_end_compared_as_instant_across_offsets() -> None:
    # 23:45Z is after 00:30+01:00 (= 23:30Z) although its local date is earlier.
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; prov:wasDerivedFrom <source/page> ;
        schema:startDate "2023-09-14T00:30:00+01:00"^^xsd:dateTime ;
        schema:endDate "2023-09-13T23:45:00Z"^^xsd:dateTime .
    """)
    assert report.conforms, report


def test_talk_bare_date_needs_no_offset() -> None:
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; prov:wasDerivedFrom <source/page> ;
        schema:startDate "2025-02-20"^^xsd:date .
    """)
    assert report.conforms, report


def test_talk_title_status_with_a_name_is_a_violation() -> None:
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; prov:wasDerivedFrom <source/page> ;
        schema:name "TBA" ; lod:titleStatus lod:TitleToBeAnnounced .
    """)
    assert [r.shape for r in report.violations] == ["shape:TalkShape"]


def test_talk_untitled_gives_only_warnings() -> None:
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; prov:wasDerivedFrom <source/page> ;
        lod:titleStatus lod:Untitled .
    """)
    assert report.conforms, report
    assert {r.shape for r in report.warnings} == {
        "shape:Talk-name-recommended", "shape:Talk-startDate-recommended", "shape:Talk-endDate-recommended",
        "shape:Talk-location-recommended", "shape:Talk-description-recommended",
        "shape:Talk-performer-recommended"}


def test_talk_without_source_is_a_violation() -> None:
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; schema:name "On examples" .
    """)
    assert [r.shape for r in report.violations] == ["shape:Record-wasDerivedFrom"]


def test_talk_two_start_dates_are_a_violation() -> None:
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; prov:wasDerivedFrom <source/page> ;
        schema:startDate "2025-02-20"^^xsd:date, "2025-02-21"^^xsd:date .
    """)
    assert "shape:Scheduled-startDate" in {r.shape for r in report.violations}


def test_event_shape_skips_talks_and_sessions() -> None:
    report = run_text("""
    <talk/t> a schema:Event, lod:Talk ; prov:wasDerivedFrom <source/page> ; schema:name "A talk" .
    <session/s> a schema:Event, lod:Session ; prov:wasDerivedFrom <source/page> ;
        schema:superEvent <event/e> .
    <event/e> a schema:Event ; schema:name "An event" .
    """)
    assert {(r.focus, r.shape) for r in report.violations} == {
        ("http://localhost:8000/event/e", "shape:Record-wasDerivedFrom")}


def test_seed_data_has_no_violations() -> None:
    from lod.model.iri import Minter
    from lod.loading.stage import load
    from lod.mapping.triples import origins, to_graph

    ds = load(str(ROOT / "data"))
    minter = Minter()
    report = validate(to_graph(ds, minter), origins(ds, minter), SHAPES)
    assert report.conforms, report
