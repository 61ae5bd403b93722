"""lod import rdf on the Semantic Web Dog Food's vocabulary (SWC ontology, RDF Calendar, SWRC, vCard).

A small handwritten Turtle file in SWDF's shape; the real XML London archive is in
test_import_real.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from lod.errors import ImportFailed
from lod.importers import import_source
from lod.importers.common import Parsed, Rec
from lod.importers.rdf import parse
from lod.loading.stage import load

FIX = Path(__file__).parent / "fixtures" / "import" / "swdf-conference.ttl"
SEED = Path(__file__).resolve().parents[1] / "data"
PREFIXES = (b"@prefix swc: <http://data.semanticweb.org/ns/swc/ontology#> .\n"
            b"@prefix ical: <http://www.w3.org/2002/12/cal/ical#> .\n"
            b"@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n")


def _by_id(p: Parsed, kind: str) -> dict[str, Rec]:
    return {r["id"]: r for r in p.records[kind]}


@pytest.fixture(scope="module")
def swdf() -> Parsed:
    return parse(FIX.read_bytes(), str(FIX), "Europe/Athens")


def test_swc_conference_and_workshop_become_events_of_their_kind(swdf: Parsed) -> None:
    ev = _by_id(swdf, "events")
    conf = ev["demo-conference-2010"]  # a bare year as the IRI's last segment: the id comes from the name
    assert (conf["kind"], conf["name"], conf["also_known_as"], conf["start"], conf["end"]) == (
        "conference", "Demo Conference 2010", ["DEMO2010"], "2010-05-30", "2010-06-03")
    assert (conf["venue"], conf["url"], conf["organizers"]) == ("hotel", "http://demo2010.example.org/",
                                                                ["ada-lovelace"])
    assert ev["ws1"]["kind"] == "workshop" and ev["ws1"]["name"] == "Workshop on Demos"


def test_swc_floating_times_take_the_timezone_given(swdf: Parsed) -> None:
    talks = _by_id(swdf, "talks")
    assert {k: talks["one"][k] for k in ("start", "end", "timezone")} == {
        "start": "2010-06-01T09:00", "end": "2010-06-01T09:30", "timezone": "Europe/Athens"}
    assert (talks["two"]["start"], talks["two"]["offset"]) == ("2010-06-01T09:30", "+00:00")
    assert (talks["three"]["start"], talks["three"]["offset"]) == ("2010-06-01T10:00", "+03:00")
    assert "timezone" not in talks["two"] and "timezone" not in talks["three"]


def test_swc_floating_time_without_timezone_is_refused_naming_file_resource_and_field() -> None:
    src = PREFIXES + (b"<http://x.example/c> a swc:ConferenceEvent ; rdfs:label \"C\" .\n"
                      b"<http://x.example/t1> a swc:TalkEvent ; rdfs:label \"T\" ; swc:isSubEventOf <http://x.example/c> ;\n"
                      b"  ical:dtstart \"2010-06-01T09:00:00\" .\n")
    with pytest.raises(ImportFailed) as exc:
        parse(src, "conf.ttl")
    assert str(exc.value) == (
        'conf.ttl: <http://x.example/t1> ical:dtstart "2010-06-01T09:00:00": the time has no time zone (a floating '
        "time). Fix: import with --timezone ZONE (e.g. --timezone Europe/London) to say which zone the archive's "
        "times are in, or write the time with its UTC offset (…Z or +01:00).")


def test_swc_time_that_is_no_date_is_refused_with_its_place() -> None:
    src = PREFIXES + b"<http://x.example/t1> a swc:TalkEvent ; rdfs:label \"T\" ; ical:dtstart \"June 1st\" .\n"
    with pytest.raises(ImportFailed, match=r'^conf\.ttl: <http://x\.example/t1> ical:dtstart "June 1st": is not an ISO'):
        parse(src, "conf.ttl")


def test_swc_icaltzd_datatype_names_the_zone() -> None:
    src = PREFIXES + (b"<http://x.example/t1> a swc:TalkEvent ; rdfs:label \"T\" ; <http://www.w3.org/2002/12/cal/icaltzd#dtstart>"
                      b" \"2007-06-18T09:00:00\"^^<http://www.w3.org/2002/12/cal/tzd/Europe/London#tz> .\n")
    talk = parse(src, "conf.ttl").records["talks"][0]
    assert (talk["start"], talk["timezone"]) == ("2007-06-18T09:00", "Europe/London")


def test_swc_nesting_sessions_tracks_and_both_directions(swdf: Parsed) -> None:
    talks, conf = _by_id(swdf, "talks"), _by_id(swdf, "events")["demo-conference-2010"]
    [session] = conf["sessions"]
    assert (session["id"], session["title"], session["start"], session["venue"]) == (
        "s1", "Session 1: Data", "2010-06-01T09:00", "a")
    assert talks["one"]["part_of"] == "s1"  # swc:isSubEventOf
    assert talks["two"]["part_of"] == "s1"  # the session's swc:isSuperEventOf
    assert (talks["three"]["part_of"], talks["three"]["topics"]) == ("demo-conference-2010", ["Linked Data"])  # a track


def test_swc_speakers_by_each_property(swdf: Parsed) -> None:
    talks = _by_id(swdf, "talks")
    assert talks["one"]["speakers"] == ["bob-stone"]  # the person's swc:gaveTalk
    assert talks["two"]["speakers"] == ["ada-lovelace"]  # foaf:maker
    assert talks["three"]["speakers"] == ["carol-king", "dan-wu", "eve-moss"]  # swrc:author, dc:creator, swc:talkGivenBy


def test_swc_places_papers_and_calendar_text(swdf: Parsed) -> None:
    places, one = _by_id(swdf, "places"), _by_id(swdf, "talks")["one"]
    assert places["hotel"] == {"id": "hotel", "name": "Harbour Hotel", "address": {
        "street": "1 Quay Road", "locality": "Heraklion", "country": "Greece"}}
    assert places[one["venue"]]["name"] == "Room B"  # ical:location as text: a place of that name
    assert (one["title"], one["abstract"], one["url"]) == ("Talk one", "About one.", "http://demo2010.example.org/talk/one")
    assert one["references"] == [{"title": "Paper one", "authors": ["bob-stone", "dan-wu"], "year": "2010",
                                  "doi": "10.1000/demo.1"}]


def test_swc_what_has_no_field_is_counted(swdf: Parsed) -> None:
    skipped = {what for what, _ in swdf.skipped}
    assert "event role swc:ProgrammeCommitteeMember" in skipped
    assert "an event inside another event (a workshop of a conference)" in skipped


def test_swc_archive_imports_with_timezone_and_reimports_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    with pytest.raises(ImportFailed, match="floating time"):
        import_source("rdf", FIX, data, dry_run=True, taken=date(2026, 12, 4))
    dry = import_source("rdf", FIX, data, dry_run=True, taken=date(2026, 12, 4), timezone="Europe/Athens")
    real = import_source("rdf", FIX, data, taken=date(2026, 12, 4), timezone="Europe/Athens")
    assert real.written and real.diff == dry.diff
    files = {p: p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}
    again = import_source("rdf", FIX, data, taken=date(2026, 12, 4), timezone="Europe/Athens")
    assert again.written == [] and {p: p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()} == files


def test_swdf_iswc2010_session_imports_with_times_room_and_papers(tmp_path: Path) -> None:
    """Real SWDF data: times as ical:dateTime nodes with ical:tzid "GMT+8", a room in a building."""
    src = FIX.parent / "swdf-iswc2010-session.ttl"
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    written = import_source("rdf", src, data, taken=date(2026, 12, 4)).written
    ds = load(data)
    mine = {t.id: t for t in ds.talks.values() if Path(t.loc.file) in written}
    assert len(mine) == 4  # the session's four swc:TalkEvent
    t = mine["presentation-105"]
    assert (t.title, t.start_at.lexical, t.speakers) == (  # type: ignore[union-attr]
        "Ontology similarity in the alignment space", "2010-11-09T16:00:00+08:00", [])  # SWDF names no presenter
    assert [ds.people[a].display_name for a in t.references[0].authors] == [
        "Jerome David", "Jerome Euzenat", "Ondrej Svab Zamazal"]  # as the source spells them
    room = ds.places[t.venue or ""]  # the session's room, inherited
    assert (room.name, ds.places[room.contained_in or ""].name) == ("Yellow River", "Shanghai International Convention Center")
    assert t.abstract.startswith("Measuring similarity between ontologies")  # the paper's, said to be inferred
    assert "abstract" in t.inferred


def test_swc_time_zone_that_is_neither_iana_nor_an_offset_is_refused() -> None:
    src = PREFIXES + (b"<http://x.example/t1> a swc:TalkEvent ; rdfs:label \"T\" ;\n"
                      b"  ical:dtstart [ ical:dateTime \"2010-11-09T16:00:00\" ; ical:tzid \"Shanghai time\" ] .\n")
    with pytest.raises(ImportFailed) as exc:
        parse(src, "conf.ttl")
    assert str(exc.value) == (
        'conf.ttl: <http://x.example/t1> ical:dtstart "2010-11-09T16:00:00": the time zone \'Shanghai time\' is '
        "neither an IANA zone name nor an offset such as GMT+8. Fix: give ical:tzid an IANA name such as "
        "Asia/Shanghai, or import with --timezone ZONE.")


def test_swc_time_zone_in_the_files_own_words_takes_the_timezone_given() -> None:
    src = PREFIXES + (b"<http://x.example/t1> a swc:TalkEvent ; rdfs:label \"T\" ;\n"
                      b"  ical:dtstart [ ical:dateTime \"2010-11-09T16:00:00\" ; ical:tzid \"Shanghai time\" ] ;\n"
                      b"  ical:dtend \"2010-11-09T16:30:00\" .\n")
    talk = parse(src, "conf.ttl", "Asia/Shanghai").records["talks"][0]
    assert (talk["start"], talk["end"], talk["timezone"]) == ("2010-11-09T16:00", "2010-11-09T16:30", "Asia/Shanghai")


def test_relative_homepage_in_rdfxml_is_counted_not_refused() -> None:
    src = (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:foaf="http://xmlns.com/foaf/0.1/">'
           b'<foaf:Person rdf:about="http://x.example/person/jan"><foaf:name>Jan Vitek</foaf:name>'
           b'<foaf:homepage rdf:resource="www.cs.example.edu/homes/jv"/></foaf:Person></rdf:RDF>')
    p = parse(src, "people.rdf")
    assert "homepage" not in p.records["people"][0]
    assert ("a relative IRI where a web address is expected",
            "the source wrote no http(s):// address (read against the file's own name)") in p.skipped


def test_swc_two_starts_keep_the_first_and_are_counted() -> None:
    src = PREFIXES + (b"<http://x.example/t1> a swc:TalkEvent ; rdfs:label \"T\" ;\n"
                      b"  ical:dtstart \"2010-11-09T16:00:00Z\", \"2010-11-09T15:30:00Z\" .\n")
    p = parse(src, "conf.ttl")
    assert p.records["talks"][0]["start"] == "2010-11-09T15:30"
    assert ("a second ical:dtstart", "a record has one start and one end (the first, in IRI order, is kept)") in p.skipped
