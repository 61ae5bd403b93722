"""Contract tests of our vocabulary (ontology/lod.ttl) against lod.model.vocab."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from lod.model.vocab import LOD, LOD_NS, SCHEMA

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_FILE = ROOT / "ontology" / "lod.ttl"
ONTOLOGY = URIRef("https://w3id.org/lod-talks/ns")
SCHEMA_NS = "http://schema.org/"
SCHEMA_DOMAIN = URIRef(SCHEMA_NS + "domainIncludes")
SCHEMA_RANGE = URIRef(SCHEMA_NS + "rangeIncludes")

ONT = Graph().parse(ONTOLOGY_FILE, format="turtle")
LOD_TERMS = sorted(name for name in LOD.__annotations__ if not name.startswith("_"))
CLASSES = sorted((s for s in ONT.subjects(RDF.type, OWL.Class) if str(s).startswith(LOD_NS)), key=str)
PROPERTIES = sorted((s for s in ONT.subjects(RDF.type, RDF.Property) if str(s).startswith(LOD_NS)), key=str)


def english(node: URIRef, prop: URIRef) -> list[Literal]:
    return [o for o in ONT.objects(node, prop) if isinstance(o, Literal) and o.language == "en"]


@pytest.mark.parametrize("name", LOD_TERMS)
def test_ontology_defines_every_vocab_term(name: str) -> None:
    term = URIRef(LOD_NS + name)
    assert getattr(LOD, name) == term
    assert english(term, RDFS.label), f"lod:{name} has no rdfs:label@en in ontology/lod.ttl"
    assert english(term, RDFS.comment), f"lod:{name} has no rdfs:comment@en in ontology/lod.ttl"
    assert (term, RDFS.isDefinedBy, ONTOLOGY) in ONT, f"lod:{name} has no rdfs:isDefinedBy"
    assert (term, RDF.type, None) in ONT, f"lod:{name} has no rdf:type"


def test_ontology_uses_no_term_outside_the_vocab() -> None:
    used = {str(t)[len(LOD_NS):] for triple in ONT for t in triple
            if isinstance(t, URIRef) and str(t).startswith(LOD_NS)}
    assert used - set(LOD_TERMS) == set(), "terms missing from lod.model.vocab.LOD"


def test_ontology_every_class_is_aligned_with_schema_org() -> None:
    assert CLASSES
    for cls in CLASSES:
        supers = [str(o) for o in ONT.objects(cls, RDFS.subClassOf)]
        assert any(s.startswith(SCHEMA_NS) for s in supers), f"{cls} is not a subclass of a schema.org class"


def test_ontology_every_property_has_domain_and_range() -> None:
    assert PROPERTIES
    for prop in PROPERTIES:
        assert (prop, SCHEMA_DOMAIN, None) in ONT, f"{prop} has no schema:domainIncludes"
        assert (prop, SCHEMA_RANGE, None) in ONT, f"{prop} has no schema:rangeIncludes"


def test_ontology_title_statuses_are_individuals() -> None:
    for member in (LOD.TitleToBeAnnounced, LOD.Untitled):
        assert (member, RDF.type, LOD.TitleStatus) in ONT


def test_ontology_header() -> None:
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ONT
    assert english(ONTOLOGY, DCTERMS.title) and english(ONTOLOGY, DCTERMS.description)
    assert (ONTOLOGY, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/")) in ONT
    assert ONT.value(ONTOLOGY, OWL.versionInfo) is not None


def test_ontology_ships_with_the_package() -> None:
    packaged = Path(str(resources.files("lod") / "data" / "lod.ttl"))
    assert packaged.resolve() == ONTOLOGY_FILE.resolve()


@pytest.mark.parametrize(("namespace", "typo"), [(LOD, "Tlak"), (SCHEMA, "startdate")])
def test_vocab_unknown_term_raises_attribute_error(namespace: type, typo: str) -> None:
    with pytest.raises(AttributeError):
        getattr(namespace, typo)
