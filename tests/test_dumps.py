"""The fast build path writes what the reference writers write.

``to_triples`` holds the same triples as ``to_graph``; the canonical sort on cached term
texts is the order of N-Triples lines; ``to_jsonld`` is ``json.dumps(indent=1)`` of
``jsonld_nodes``; and ``lod.publishing.dumps.write_descriptions`` (one pass for dumps and resource
files) writes the bytes of each format's writer on the sorted triples and on each
resource's description.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.term import Node

from lod.publishing.dumps import write_descriptions
from lod.model.formats import RDF_FORMATS, Site
from lod.model.iri import Minter
from lod.loading.stage import load
from lod.mapping.triples import to_graph, to_triples
from lod.publishing.build import Prepared, describe, site_prefixes
from lod.model.serialize import Terms, Triple, jsonld_nodes, nt_term, sorted_triples, to_jsonld, to_ntriples, to_turtle
from lod.validation.report import Report
from lod.model import vocab as vocab

from .conftest import SEED_DATA, TEST_BASE

B = "http://localhost:8000/"


def tricky_triples() -> list[Triple]:
    """Subjects that are prefixes of one another, fragments, and literals that are prefixes of others."""
    out: list[Triple] = []
    subjects = [URIRef(B + s) for s in ("talk/x", "talk/x#a", "talk/x-2", "talk/x-2#b", "talk/x0", "talk/x/y",
                                        "talk/x#a-1", "person/p")]
    objects: list[Node] = [Literal("abc"), Literal("abc", lang="en"), Literal("abc", lang="EN-gb"),
                           Literal("abc", datatype=vocab.XSD.token), Literal("ab\"c\n\\\t\x01é\u2028"), Literal(""),
                           Literal("2024-01-01", datatype=vocab.XSD.date), Literal(3), Literal(True),
                           URIRef(B + "talk/x"), URIRef(B + "talk/x#a"), URIRef("https://example.org/ä?q=1#f"),
                           vocab.SCHEMA.Event, Literal("multi\nline \"\"\" '''"),
                           Literal("a long abstract, not cached " * 9), Literal("a long\nabstract " * 20, lang="en")]
    for i, s in enumerate(subjects):
        out.append((s, vocab.RDF.type, vocab.SCHEMA.Event if i % 2 else vocab.SCHEMA.Person))
        for j, o in enumerate(objects):
            if (i + j) % 3:
                out.append((s, vocab.SCHEMA.name if j % 2 else vocab.SCHEMA.description, o))
        out.append((s, URIRef("https://w3id.org/lod-talks/ns#timeZone"), Literal("UTC")))
    return out


def test_to_triples_equals_to_graph_triples() -> None:
    ds = load(SEED_DATA)
    minter = Minter(TEST_BASE)
    triples = to_triples(ds, minter)
    assert len(triples) == len(set(triples))  # deduplicated
    assert set(triples) == set(to_graph(ds, minter))


def test_to_triples_interns_repeated_terms() -> None:
    triples = to_triples(load(SEED_DATA), Minter(TEST_BASE))
    by_text: dict[tuple[type, str], set[int]] = {}
    for t in triples:
        for term in t:
            by_text.setdefault((type(term), str(term)), set()).add(id(term))
    iris = {k: v for k, v in by_text.items() if k[0] is URIRef}
    assert iris and all(len(ids) == 1 for ids in iris.values())


def test_sorted_triples_order_is_term_by_term_order() -> None:
    triples = tricky_triples()
    expected = sorted(triples, key=lambda t: (nt_term(t[0]), nt_term(t[1]), nt_term(t[2])))
    assert sorted_triples(triples) == expected
    assert sorted_triples(reversed(triples), Terms()) == expected


def test_to_jsonld_equals_json_dumps_of_jsonld_nodes() -> None:
    from lod.model.vocab import PREFIXES

    for triples in (tricky_triples(), []):
        nodes = jsonld_nodes(triples)
        # The context is inline (readable offline): schema.org as @vocab and every prefix the keys may use.
        context = {"@vocab": PREFIXES["schema"], **{p: ns for p, ns in PREFIXES.items() if p != "schema"}}
        expected = json.dumps({"@context": context, "@graph": nodes}, ensure_ascii=False, indent=1,
                              sort_keys=True) + "\n"
        assert to_jsonld(triples, B + "context.jsonld").decode("utf-8") == expected


def reference_files(triples: list[Triple], minter: Minter) -> dict[str, bytes]:
    """What the format writers write for the dumps and each resource's description."""
    site = Site(prefixes=site_prefixes(minter), context_url=minter.context)
    ordered = sorted(triples, key=lambda t: (nt_term(t[0]), nt_term(t[1]), nt_term(t[2])))
    files: dict[str, bytes] = {}
    for fmt in RDF_FORMATS:
        assert fmt.write is not None
        files["dump" + fmt.suffix] = fmt.write(ordered, site)
        for owner, group in describe(ordered, minter).items():
            path = minter.path_of(owner)
            if path:
                files[path + fmt.suffix] = fmt.write(group, site)
    return files


def written_files(triples: list[Triple], minter: Minter, root: Path) -> dict[str, bytes]:
    p = Prepared(load(SEED_DATA), minter, list(triples), Report([]))
    files: dict[str, bytes] = {}
    n = write_descriptions(p.triples, p.terms, minter.context, root, minter.path_of, files.__setitem__)
    assert n == len([o for o in p.descriptions if minter.path_of(o)])
    for name in ("dump.ttl", "dump.nt", "dump.jsonld"):
        files[name] = (root / name).read_bytes()
    assert sorted(q.name for q in root.iterdir()) == ["dump.jsonld", "dump.nt", "dump.ttl"]
    return files


def test_write_descriptions_matches_format_writers_on_seed_data(tmp_path: Path) -> None:
    minter = Minter(TEST_BASE)
    triples = to_triples(load(SEED_DATA), minter)
    assert written_files(triples, minter, tmp_path) == reference_files(triples, minter)


def test_write_descriptions_matches_format_writers_on_tricky_terms(tmp_path: Path) -> None:
    minter = Minter(TEST_BASE)
    triples = tricky_triples()
    files = written_files(triples, minter, tmp_path)
    assert files == reference_files(triples, minter)
    assert files["dump.nt"] == to_ntriples(triples)
    assert files["dump.ttl"] == to_turtle(triples, site_prefixes(minter))


def test_write_descriptions_writes_empty_dumps(tmp_path: Path) -> None:
    minter = Minter(TEST_BASE)
    assert written_files([], minter, tmp_path) == reference_files([], minter)


def test_describe_groups_each_owners_triples_in_order() -> None:
    minter = Minter(TEST_BASE)
    triples = tricky_triples()
    for order in (sorted_triples(triples), triples, list(reversed(triples))):
        expected: dict[str, list[Triple]] = {}
        for t in order:
            expected.setdefault(minter.owner(str(t[0])), []).append(t)
        got = describe(order, minter)
        assert got == expected and list(got) == list(expected)


def test_write_descriptions_refuses_an_invalid_iri_and_leaves_no_scratch_files(tmp_path: Path) -> None:
    minter = Minter(TEST_BASE)
    triples: list[Triple] = [(URIRef(B + "talk/x"), vocab.SCHEMA.url, URIRef("http://example.org/a b"))]
    with pytest.raises(ValueError, match="invalid IRI"):
        write_descriptions(triples, Terms(site_prefixes(minter)), minter.context, tmp_path, minter.path_of,
                           lambda _rel, _data: None)
    assert not list(tmp_path.glob(".dump*"))
