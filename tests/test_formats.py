"""Contract tests of the format registry: every format round-trips through an
independent parser to the same graph, and output is byte-identical across builds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from pyld import jsonld

from lod.model.formats import FORMATS, RDF_FORMATS, Format, by_media_type, by_suffix
from lod.publishing.build import BuildResult, build

from .conftest import SEED_DATA, TEST_BASE

OX_FORMAT = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES}


def offline_loader(site: Path) -> Any:
    """A pyld document loader that serves the site's own context and refuses everything else."""
    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url == TEST_BASE + "context.jsonld":
            return {"contextUrl": None, "documentUrl": url,
                    "document": json.loads((site / "context.jsonld").read_text(encoding="utf-8"))}
        raise AssertionError(f"the JSON-LD tried to load {url}")
    return load


def parse(path: Path, fmt: Format, site: Path) -> set[ox.Triple]:
    """Parse a published file with an independent parser (pyoxigraph; pyld for JSON-LD)."""
    if fmt.name == "jsonld":
        doc = json.loads(path.read_text(encoding="utf-8"))
        nquads = jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": offline_loader(site)})
        return {q.triple for q in ox.parse(nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS)}
    return {q.triple for q in ox.parse(path.read_bytes(), format=OX_FORMAT[fmt.name])}


def test_formats_registry_drives_suffixes_and_media_types() -> None:
    assert [f.suffix for f in RDF_FORMATS] == [".ttl", ".nt", ".jsonld"]
    assert by_suffix(".ttl") is FORMATS["turtle"]
    assert by_media_type("application/json") is FORMATS["jsonld"]
    assert by_media_type("TEXT/HTML") is FORMATS["html"]
    assert FORMATS["ntriples"].content_type == "application/n-triples; charset=utf-8"


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_formats_dump_round_trips_to_the_same_graph(seed_site: BuildResult, fmt: Format) -> None:
    reference = parse(seed_site.out / "dump.nt", FORMATS["ntriples"], seed_site.out)
    assert len(reference) == seed_site.triples
    assert parse(seed_site.out / ("dump" + fmt.suffix), fmt, seed_site.out) == reference


def test_formats_every_resource_description_agrees_across_formats(seed_site: BuildResult) -> None:
    site = seed_site.out
    dump = parse(site / "dump.nt", FORMATS["ntriples"], site)
    union: set[ox.Triple] = set()
    files = sorted(site.rglob("*.nt"))
    assert len(files) == seed_site.resources + 1  # every resource, plus the dump
    for nt in files:
        if nt.name == "dump.nt":
            continue
        graphs = [parse(nt.with_suffix(f.suffix), f, site) for f in RDF_FORMATS]
        assert graphs[0] == graphs[1] == graphs[2], nt
        owner = TEST_BASE + str(nt.relative_to(site).with_suffix(""))
        assert all(str(t.subject.value).split("#")[0] == owner for t in graphs[0]), nt
        union |= graphs[0]
    assert union == dump  # the descriptions partition the dump


def test_formats_dumps_are_canonical_and_have_no_blank_nodes(seed_site: BuildResult) -> None:
    lines = (seed_site.out / "dump.nt").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(set(lines))
    assert not any("_:" in line.split('"')[0] for line in lines)
    iri = re.compile(r"<([^>]*)>")
    for line in lines:
        for value in iri.findall(line.split('"')[0]):
            assert re.match(r"^https?://[^\s<>\"{}|\\^`]+$", value), value


def test_formats_build_is_byte_identical(seed_site: BuildResult, tmp_path: Path) -> None:
    again = build(SEED_DATA, tmp_path / "site", TEST_BASE)
    first = {p.relative_to(seed_site.out): p.read_bytes() for p in seed_site.out.rglob("*") if p.is_file()}
    second = {p.relative_to(again.out): p.read_bytes() for p in again.out.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_formats_hostile_literals_stay_inert_in_every_format(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    hostile = 'x"> . \n<x> <y> <z> . } \\ """ \t</script><!--'
    (data / "a.yaml").write_text(
        "sources:\n  - {id: s, document: x.txt, taken: 2024-01-01}\n"
        f"talks:\n  - id: t\n    title: x\n    abstract: {json.dumps(hostile)}\n    sources: [s]\n", encoding="utf-8")
    result = build(data, tmp_path / "site", TEST_BASE)
    for fmt in RDF_FORMATS:
        triples = parse(result.out / ("dump" + fmt.suffix), fmt, result.out)
        values = {t.object.value for t in triples if str(t.predicate.value) == "http://schema.org/description"}
        assert values == {hostile}, fmt.name
