"""lod import indico / frab / rdf: field mapping, hostile input, and our dump's round trip."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from lod.errors import ImportFailed
from lod.importers import import_source
from lod.importers.frab import parse as parse_frab
from lod.importers.indico import parse as parse_indico
from lod.model.iri import Minter
from lod.loading.stage import load
from lod.mapping.triples import to_graph
from lod.publishing.build import BuildResult, build

FIX = Path(__file__).parent / "fixtures" / "import"
TAKEN = date(2026, 11, 23)


def test_indico_parse_maps_timetable_people_room_and_material() -> None:
    p = parse_indico((FIX / "indico.json").read_bytes(), "indico.json")
    ev = p.records["events"][0]
    assert (ev["id"], ev["kind"], ev["start"], ev["timezone"]) == ("workshop-on-learning-and-proofs", "conference",
                                                                   "2024-05-23T09:00", "Europe/Paris")
    t = p.records["talks"][0]
    assert (t["start"], t["end"], t["speakers"], t["coauthors"]) == ("2024-05-23T09:30", "2024-05-23T10:30",
                                                                    ["amaury-hayat"], ["francois-charton"])
    assert t["ids"] == {"indico-contribution": "1"} and t["part_of"] == ev["id"]
    assert t["references"][0] == {"title": "doi 10.1126/science.adi5639", "doi": "10.1126/science.adi5639",
                                  "url": "https://doi.org/10.1126/science.adi5639"}
    assert t["slides"]["url"].endswith("slides.pdf") and t["recording"] == {"url": "https://video.example.org/watch/42"}
    hayat = next(x for x in p.records["people"] if x["id"] == "amaury-hayat")
    assert hayat == {"id": "amaury-hayat", "given_name": "Amaury", "family_name": "Hayat",
                     "affiliations": ["ecole-des-ponts-paristech"], "ids": {"indico-person": "indico.example.org/101"},
                     "also_known_as": ["HAYAT, Amaury"]}
    room = next(x for x in p.records["places"] if x["id"] == t["venue"])
    assert room["name"] == "Amphithéâtre Léon Motchane" and room["contained_in"] == "institut-des-hautes-etudes-scientifiques"
    assert p.records["talks"][1]["duration"] == "PT1H"


def test_indico_wrong_shape_names_the_json_path(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as exc:
        import_source("indico", FIX / "indico-wrong-shape.json", tmp_path / "data")
    assert str(exc.value) == (f"{FIX / 'indico-wrong-shape.json'}: $.results: expected an array, found an object. "
                              "Fix: check that the file is the right export.")
    assert not (tmp_path / "data").exists()


def test_indico_bad_date_names_the_json_path() -> None:
    with pytest.raises(ImportFailed) as exc:
        parse_indico((FIX / "indico-bad-date.json").read_bytes(), "indico-bad-date.json")
    assert str(exc.value) == ("indico-bad-date.json: $.results[0].contributions[1].startDate: the date '2024-02-30' "
                              "is not a date. Fix: Indico writes dates as YYYY-MM-DD.")


def test_indico_broken_json_names_line_and_column() -> None:
    with pytest.raises(ImportFailed, match=r"^x.json:1:13: the JSON is broken: Expecting value\."):
        parse_indico(b'{"results": ', "x.json")


def test_frab_xml_and_json_give_the_same_records() -> None:
    xml = parse_frab((FIX / "schedule.xml").read_bytes(), "schedule.xml")
    js = parse_frab((FIX / "schedule.json").read_bytes(), "schedule.json")
    assert xml.records == js.records
    t = {x["id"]: x for x in xml.records["talks"]}
    a = t["2024-12-27-kevin-buzzard"]
    assert (a["start"], a["duration"], a["language"], a["topics"], a["venue"]) == (
        "2024-12-27T11:00", "PT40M", "en", ["Formal Methods"], "mathml24-saal-1")
    assert a["slides"] == {"url": "https://pretalx.example.org/media/slides-101.pdf"}
    assert a["references"] == [{"title": "Lean community", "url": "https://leanprover-community.github.io/"}]
    assert a["note"] == "recording licence: CC BY 4.0" and "recording" not in a
    b = t["2024-12-27-marijn-heule"]
    assert b["speakers"] == ["marijn-heule", "geordie-williamson"] and "do_not_record" in b["note"]
    assert xml.records["events"][0] == {"id": "mathml24", "kind": "conference", "name": "Mathematics and Machine Learning 2024",
                                        "timezone": "Europe/Berlin", "start": "2024-12-27"}


def test_frab_truncated_xml_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.yaml").write_text("sources:\n  - {id: s, document: d, taken: 2024-01-01}\n")
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    with pytest.raises(ImportFailed) as exc:
        import_source("frab", FIX / "truncated.xml", data)
    assert str(exc.value) == (f"{FIX / 'truncated.xml'}:39:11: the XML is broken: unclosed token. "
                              "Fix: download the schedule again; the file may be truncated.")
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before


def test_frab_entities_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaa">]><schedule>&a;</schedule>'
    with pytest.raises(ImportFailed, match="refused"):
        parse_frab(bomb, "bomb.xml")


def test_frab_bad_duration_names_the_json_path() -> None:
    with pytest.raises(ImportFailed) as exc:
        parse_frab((FIX / "schedule-bad-duration.json").read_bytes(), "s.json")
    assert str(exc.value) == ("s.json: $.schedule.conference.days[0].rooms[\"Saal 2\"][0]: field duration: 'an hour' "
                              "is neither HH:MM nor an ISO 8601 duration. Fix: write it like 00:40 or PT40M.")


def test_imports_of_every_format_load_and_build(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    import_source("ical", FIX / "seminar.ics", data, taken=TAKEN)
    import_source("indico", FIX / "indico.json", data, taken=TAKEN)
    import_source("frab", FIX / "schedule.xml", data, taken=TAKEN)
    ds = load(data)
    assert ds.talks["2024-05-23-amaury-hayat"].start_at.lexical == "2024-05-23T09:30:00+02:00"  # type: ignore[union-attr]
    assert ds.talks["2024-12-27-kevin-buzzard"].start_at.lexical == "2024-12-27T11:00:00+01:00"  # type: ignore[union-attr]
    assert ds.talks["2024-12-27-kevin-buzzard"].parent == ("event", "mathml24")
    assert ds.people["amaury-hayat"].ids == {"indico-person": "indico.example.org/101"}
    result = build(data, tmp_path / "site", "http://localhost:8000/")
    assert not result.report.violations and (result.out / "talk" / "2024-04-04-ada-lovelace.ttl").is_file()


def test_rdf_own_dump_round_trip_is_isomorphic(seed_site: BuildResult, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    import_source("rdf", seed_site.out / "dump.nt", data, taken=TAKEN)
    again = to_graph(load(data), Minter("http://localhost:8000/"))
    a = Graph().parse(seed_site.out / "dump.nt")
    assert len(a) == len(again) and isomorphic(a, again)


@pytest.mark.slow
def test_rdf_own_dump_round_trip_builds_an_isomorphic_dump(seed_site: BuildResult, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    import_source("rdf", seed_site.out / "dump.nt", data, taken=TAKEN)
    again = build(data, tmp_path / "site", "http://localhost:8000/")
    assert isomorphic(Graph().parse(seed_site.out / "dump.nt"), Graph().parse(again.out / "dump.nt"))


@pytest.mark.parametrize("dump", ["dump.ttl", "dump.jsonld"])
def test_rdf_turtle_and_jsonld_dumps_give_the_same_records(seed_site: BuildResult, tmp_path: Path, dump: str) -> None:
    outs = []
    for name in ("dump.nt", dump):
        data = tmp_path / name
        data.mkdir()
        import_source("rdf", seed_site.out / name, data, taken=TAKEN)
        outs.append((data / "imported" / "rdf-localhost-8000.yaml").read_text(encoding="utf-8").split("\n", 1)[1])
    assert outs[0] == outs[1]


def test_rdf_https_schema_namespace_is_read(tmp_path: Path) -> None:
    src = tmp_path / "other.ttl"
    src.write_text("""@prefix s: <https://schema.org/> .
<https://other.example/talks/42> a s:Event ; s:name "Knots and neural nets" ;
    s:startDate "2024-03-01T15:00:00Z" ; s:performer <https://other.example/people/ann-smith> .
<https://other.example/people/ann-smith> a s:Person ; s:givenName "Ann" ; s:familyName "Smith" .
""")
    data = tmp_path / "data"
    data.mkdir()
    import_source("rdf", src, data, taken=TAKEN)
    ds = load(data)
    talk = ds.talks["42"]
    assert (talk.title, talk.speakers, talk.start_at.lexical) == (  # type: ignore[union-attr]
        "Knots and neural nets", ["ann-smith"], "2024-03-01T15:00:00+00:00")
    assert talk.sources == ["rdf-other-example"] and ds.sources["rdf-other-example"].document == "other.ttl"


def test_rdf_broken_turtle_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "broken.ttl"
    src.write_text("@prefix s: <http://schema.org/> .\n<a> a s:Event ;\n  s:name \"unterminated .\n")
    with pytest.raises(ImportFailed, match=r"broken.ttl: the turtle cannot be parsed: .*Fix: check the syntax"):
        import_source("rdf", src, tmp_path / "data")
