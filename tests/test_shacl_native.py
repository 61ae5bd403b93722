"""The native SHACL checker (lod.validation.shacl) gives exactly pyshacl's report (lod.validation.report.validate, the reference).

Both get the same shapes Graph object: pyshacl names a blank-node shape by its label in
that graph, so two parses of shapes.ttl would differ in those labels. (Paths, sequences
included, are rendered in SPARQL property-path syntax by both, so they do not vary.)
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node

from lod.model.iri import Minter
from lod.loading.stage import load
from lod.mapping.triples import origins, to_graph
from lod.validation.shacl import UnsupportedShapes, check, compile_shapes
from lod.validation.report import Report, load_shapes, validate

from .conftest import SEED_DATA, TEST_BASE

FIXTURES = Path(__file__).resolve().parent / "shapes"
FILES = sorted(FIXTURES.glob("*/*.ttl"))
SHAPES = load_shapes()
SCHEMA = Namespace("http://schema.org/")
LOD = Namespace("https://w3id.org/lod-talks/ns#")
Triple = tuple[Node, Node, Node]


def assert_same(graph: Graph, where: dict | None = None, shapes: Graph = SHAPES) -> Report:  # type: ignore[type-arg]
    reference = validate(graph, where, shapes)
    native = check(graph, where, shapes)
    assert native.results == reference.results
    return native


def test_check_equals_pyshacl_on_the_seed_data() -> None:
    ds = load(SEED_DATA)
    minter = Minter(TEST_BASE)
    assert_same(to_graph(ds, minter), origins(ds, minter))


def test_check_equals_pyshacl_on_every_shape_fixture() -> None:
    """Every pass.ttl and fail.ttl, each moved under its own copy-k/ so that they share no node, in one graph."""
    data = Graph()
    for k, path in enumerate(FILES):
        for t in _copy(list(Graph().parse(path, format="turtle")), k):
            data.add(t)
    report = assert_same(data)
    assert {r.severity for r in report.results} == {"violation", "warning"}


def test_check_equals_pyshacl_with_stricter_shapes() -> None:
    """As tests/test_publish.py tightens them: an extra node shape with a blank property shape."""
    strict = load_shapes()
    strict.parse(data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix schema: <http://schema.org/> .
        <urn:strict> a sh:NodeShape ; sh:targetClass schema:Event ;
          sh:property [ sh:path schema:url ; sh:minCount 1 ; sh:message "a talk needs a url here" ] .""",
                 format="turtle")
    ds = load(SEED_DATA)
    report = assert_same(to_graph(ds, Minter(TEST_BASE)), None, strict)
    assert any(r.message == "a talk needs a url here" for r in report.violations)


def test_check_equals_pyshacl_on_synthetic_data(tmp_path: Path) -> None:
    from lod.synth import write_synth

    write_synth(150, tmp_path / "data")
    ds = load(tmp_path / "data")
    minter = Minter(TEST_BASE)
    assert_same(to_graph(ds, minter), origins(ds, minter))


# ------------------------------------------------------------------ SPARQL edge cases

EDGE_VALUES: list[Node] = [
    Literal("2023-09-13T10:00:00+10:00", datatype=XSD.dateTime), Literal("2023-09-13T09:00:00+10:00", datatype=XSD.dateTime),
    Literal("2023-09-13T10:00:00", datatype=XSD.dateTime), Literal("2023-09-13T09:00:00", datatype=XSD.dateTime),
    Literal("garbage", datatype=XSD.dateTime), Literal("2023-09-13", datatype=XSD.date),
    Literal("2023-09-12"), Literal("2023-09-14", lang="en"), URIRef("http://x/a"), Literal(5),
    Literal("2023-09-13T24:00:00Z", datatype=XSD.dateTime), Literal("-2023-09-13T10:00:00Z", datatype=XSD.dateTime)]


def test_check_equals_pyshacl_on_end_date_comparisons() -> None:
    """EndNotBeforeStart's FILTER where rdflib and other engines disagree: naive vs aware, ill-typed, mixed."""
    g = Graph()
    source = URIRef(TEST_BASE + "source/s")
    g.add((source, RDF.type, LOD.SourceDocument))
    g.add((source, RDF.type, SCHEMA.CreativeWork))
    g.add((source, URIRef("http://purl.org/pav/retrievedOn"), Literal("2026-11-22", datatype=XSD.date)))
    g.add((source, LOD.documentName, Literal("x.txt")))
    for i, start in enumerate(EDGE_VALUES):
        for j, end in enumerate(EDGE_VALUES):
            talk = URIRef(f"{TEST_BASE}talk/t{i}-{j}")
            g.add((talk, RDF.type, LOD.Talk))
            g.add((talk, RDF.type, SCHEMA.Event))
            g.add((talk, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), source))
            g.add((talk, SCHEMA.startDate, start))
            g.add((talk, SCHEMA.endDate, end))
    report = assert_same(g)
    assert any("is before" in r.message for r in report.violations)


# ------------------------------------------------------------------ mutated data

BAD_LEXICAL = ["not-a-date", "12abc", "", "2023-13-45T25:00:00", "1.5.2", "usd", "Bad Zone!", "e", "-3", "true!"]
DATATYPES = [XSD.string, XSD.date, XSD.dateTime, XSD.integer, XSD.decimal, XSD.boolean, XSD.gYear, XSD.duration,
             RDF.langString, XSD.anyURI]
CLASSES = [SCHEMA.Person, SCHEMA.Organization, SCHEMA.Place, SCHEMA.Event, LOD.Talk, LOD.Session, SCHEMA.Offer,
           SCHEMA.PostalAddress, SCHEMA.VirtualLocation, LOD.SourceDocument, SCHEMA.DefinedTerm, SCHEMA.Periodical,
           SCHEMA.EventSeries, LOD.Workshop, SCHEMA.CreativeWork]


def _base() -> Graph:
    g = Graph()
    for path in sorted(FIXTURES.glob("*/pass.ttl")):
        g.parse(path, format="turtle")
    return g


def _mutate(triples: list[Triple], rng: random.Random) -> list[Triple]:
    """One random edit of the kinds that break each constraint component."""
    out = list(triples)
    i = rng.randrange(len(out))
    s, p, o = out[i]
    iris = [t for t in {x for tr in out for x in (tr[0], tr[2])} if isinstance(t, URIRef)]
    kind = rng.randrange(12)
    if kind == 0:
        del out[i]
    elif kind == 1 and isinstance(o, Literal):
        dt = rng.choice(DATATYPES)
        out[i] = (s, p, Literal(str(o), lang="en") if dt == RDF.langString else Literal(str(o), datatype=dt))
    elif kind == 2 and isinstance(o, Literal):
        out[i] = (s, p, Literal(rng.choice(BAD_LEXICAL), datatype=o.datatype, lang=o.language))
    elif kind == 3:
        out[i] = (s, p, rng.choice(iris + [URIRef("http://example.org/untyped")]))
    elif kind == 4:
        others = [tr[2] for tr in out if tr[1] == p and tr[2] != o]
        out.append((s, p, rng.choice(others) if others else Literal("another")))
    elif kind == 5 and isinstance(o, Literal):
        out[i] = (s, p, rng.choice(iris))
    elif kind == 6:
        out[i] = (s, p, rng.choice([Literal(str(o)), BNode(), Literal(-1), Literal(str(o), lang="fr")]))
    elif kind == 7:
        out.append((rng.choice(iris), RDF.type, rng.choice(CLASSES)))
    elif kind == 8:
        out.append((rng.choice(CLASSES + [URIRef("http://example.org/C")]), RDFS.subClassOf, rng.choice(CLASSES)))
    elif kind == 9:
        talks = [t[0] for t in out if t[1] == RDF.type and t[2] == LOD.Talk] or [s]
        out.append((rng.choice(talks), LOD.titleStatus, rng.choice([LOD.Untitled, LOD.Nope, Literal("TBA")])))
    elif kind == 10:
        day = Literal(f"20{rng.randrange(10, 30)}-0{rng.randrange(1, 9)}-1{rng.randrange(10)}", datatype=XSD.date)
        out.append((s, rng.choice([SCHEMA.startDate, SCHEMA.endDate]), day))
    else:
        pred = rng.choice([SCHEMA.price, SCHEMA.priceCurrency, LOD.timeZone, SCHEMA.inLanguage,
                           SCHEMA.maximumAttendeeCapacity, SCHEMA.eventStatus, SCHEMA.url, SCHEMA.name])
        out.append((s, pred, rng.choice([Literal(-5), Literal("0", datatype=XSD.integer), Literal("usd"),
                                         Literal("Bad Zone!"), Literal("e"), SCHEMA.EventCancelled, LOD.Untitled])))
    return out


def _copy(triples: list[Triple], k: int) -> list[Triple]:
    """The triples with every local IRI moved under copy-k/, so that copies do not share nodes."""
    def move(t: Node) -> Node:
        return URIRef(str(t).replace(TEST_BASE, f"{TEST_BASE}copy-{k}/", 1)) if isinstance(t, URIRef) else t
    return [(move(s), p, move(o)) for s, p, o in triples]


def test_check_equals_pyshacl_on_mutated_data() -> None:
    """30 independently mutated copies of the passing fixtures, checked together (pyshacl's setup is paid once)."""
    rng = random.Random(20261123)
    base = list(_base())
    base.sort()
    data = Graph()
    for k in range(30):
        triples = _copy(base, k)
        for _ in range(rng.randrange(1, 4)):
            triples = _mutate(triples, rng)
        for t in triples:
            data.add(t)
    report = assert_same(data)
    broken = {r.shape for r in report.results}
    # every kind of constraint component produced results
    for shape in ("shape:Record-wasDerivedFrom",                                   # sh:minCount + sh:class
                  "shape:Scheduled-startDate",                                     # sh:maxCount + sh:or of sh:datatype
                  "shape:Talk-type",                                               # sh:hasValue
                  "shape:Talk-titleStatus",                                        # sh:in
                  "shape:TalkShape",                                               # sh:sparql
                  "shape:Offer-priceCurrency", "shape:Record-timeZone",            # sh:pattern
                  "shape:Offer-price", "shape:Scheduled-maximumAttendeeCapacity",  # sh:minInclusive
                  "shape:Identified-url",                                          # sh:nodeKind
                  "shape:ScholarlyArticle-author",                                 # sh:class
                  "shape:PostalAddressShape"):                                     # sh:or of property shapes
        assert shape in broken, (shape, sorted(broken))
    assert len(report.results) > 30


def test_check_equals_pyshacl_on_mutated_seed_data() -> None:
    rng = random.Random(7)
    ds = load(SEED_DATA)
    minter = Minter(TEST_BASE)
    triples = sorted(to_graph(ds, minter))
    for _ in range(25):
        triples = _mutate(triples, rng)
    data = Graph()
    for t in triples:
        data.add(t)
    assert_same(data, origins(ds, minter))


# ------------------------------------------------------------------ API

def test_check_takes_a_plain_list_of_triples_with_repeats() -> None:
    graph = Graph().parse(FIXTURES / "TalkShape" / "fail.ttl", format="turtle")
    triples = list(graph) + list(graph)[:5]
    assert check(triples, None, SHAPES).results == validate(graph, None, SHAPES).results


def test_check_only_keeps_the_focus_nodes_of_those_owners() -> None:
    ds = load(SEED_DATA)
    minter = Minter(TEST_BASE)
    graph = to_graph(ds, minter)
    whole = check(graph, origins(ds, minter), SHAPES)
    owners = {r.focus.split("#", 1)[0] for r in whole.results}
    assert owners
    one = sorted(owners)[0]
    part = check(graph, origins(ds, minter), SHAPES, only={one})
    assert part.results == [r for r in whole.results if r.focus.split("#", 1)[0] == one]


def test_compile_shapes_packaged_once() -> None:
    assert compile_shapes() is compile_shapes()


@pytest.mark.parametrize("extra, name", [
    ("shape:TalkShape sh:closed true .", "sh:closed"),
    ("shape:Talk-performer sh:qualifiedValueShape [ sh:class schema:Person ] .", "sh:qualifiedValueShape"),
])
def test_compile_unsupported_component_raises_clear_error(extra: str, name: str) -> None:
    shapes = load_shapes()
    shapes.parse(data=f"""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix schema: <http://schema.org/> .
        @prefix shape: <https://w3id.org/lod-talks/shapes#> . {extra}""", format="turtle")
    with pytest.raises(UnsupportedShapes) as err:
        compile_shapes(shapes)
    where = "shape:TalkShape" if name == "sh:closed" else "shape:Talk-performer"
    assert str(err.value) == (f"the native SHACL checker does not implement {name} (used by {where}); "
                              "use lod.validation.report.validate or extend lod/validation/shacl/")


def test_validate_sequence_path_is_readable() -> None:
    """A result under shape:Talk-citation names its sequence path in SPARQL syntax, not by a blank node label."""
    data = Graph().parse(FIXTURES / "TalkShape" / "pass.ttl", format="turtle")
    talk = URIRef("http://localhost:8000/talk/t")
    work, ref = URIRef(f"{talk}#work"), URIRef(f"{talk}#ref-1")
    for t in [(talk, SCHEMA.workPerformed, work), (work, RDF.type, SCHEMA.CreativeWork),
              (work, SCHEMA.citation, ref), (ref, RDF.type, SCHEMA.CreativeWork)]:  # not a ScholarlyArticle
        data.add(t)
    for report in (assert_same(data), validate(data), check(data)):  # the last two: separate parses of the shapes
        [result] = [r for r in report.results if r.shape == "shape:Talk-citation"]
        assert result.path == "schema:workPerformed/schema:citation"
        assert result.focus == str(talk)


def test_path_text_renders_sparql_property_paths() -> None:
    from lod.validation.report import _path_text

    g = Graph().parse(data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix schema: <http://schema.org/> .
        <urn:s> <urn:seq> ( schema:workPerformed schema:citation ) ;
          <urn:inv> [ sh:inversePath schema:performer ] ;
          <urn:alt> [ sh:alternativePath ( schema:name [ sh:inversePath schema:about ] ) ] ;
          <urn:nested> ( [ sh:zeroOrMorePath schema:subEvent ] [ sh:alternativePath ( schema:url schema:sameAs ) ] ) ;
          <urn:more> [ sh:oneOrMorePath ( schema:a schema:b ) ] ; <urn:opt> [ sh:zeroOrOnePath schema:url ] .""",
                          format="turtle")

    def text(p: str) -> str:
        return _path_text(g, g.value(URIRef("urn:s"), URIRef(p)))
    assert text("urn:seq") == "schema:workPerformed/schema:citation"
    assert text("urn:inv") == "^schema:performer"
    assert text("urn:alt") == "schema:name|^schema:about"
    assert text("urn:nested") == "schema:subEvent*/(schema:url|schema:sameAs)"
    assert text("urn:more") == "(schema:a/schema:b)+"
    assert text("urn:opt") == "schema:url?"
    assert _path_text(g, SCHEMA.name) == "schema:name" and _path_text(g, None) == ""


def test_a_check_leaves_nothing_for_the_collector() -> None:
    # A build checks with the collector paused and then freezes what is alive: an index left in
    # a cycle would be held to the end of the build (35 MB at 10k talks).
    import gc

    from lod.validation.shacl.run import _Run

    ds = load(SEED_DATA)
    graph = to_graph(ds, Minter(TEST_BASE))
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        report = check(list(graph))
        assert [o for o in gc.get_objects() if type(o) is _Run] == []
    finally:
        if was:
            gc.enable()
    assert report.conforms


def test_a_build_compiles_the_shapes_before_pausing_the_collector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Parsing the shapes' SPARQL leaves pyparsing's exceptions in cycles with the frames below
    # them: compiled while the collector is paused, they held the validate stage's triples.
    import gc

    from lod.publishing.build import build
    from lod.validation import shacl

    seen: list[bool] = []
    real = shacl.Checker.__init__

    def init(self: shacl.Checker, *args: object, **kwargs: object) -> None:
        seen.append(gc.isenabled())
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shacl.Checker, "__init__", init)
    shacl._packaged_checker.cache_clear()
    try:
        build(SEED_DATA, tmp_path / "site")
    finally:
        shacl._packaged_checker.cache_clear()
    assert seen == [True]
