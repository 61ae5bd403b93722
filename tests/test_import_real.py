"""lod import on real exports of other systems (../shared/peer-exports; skipped without it).

One table, one row per file: how many talks the source holds (counted from the source
itself, not from our output) and, for a few talks, the title, the start instant, the
speakers and the place, as the source writes them. Each file goes through a dry run, a
real run and a re-import, which must leave the data folder byte for byte as it was.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from lod.importers import import_source
from lod.loading.stage import load
from lod.publishing.build import build

SEED = Path(__file__).resolve().parents[1] / "data"
TAKEN = date(2026, 12, 4)
SCHEMA = "http://schema.org/"


def _frab_xml(src: bytes) -> int:
    return len(list(ET.fromstring(src).iter("event")))


def _frab_json(src: bytes) -> int:
    sched = json.loads(src)["schedule"]
    if "events" in sched:  # c3voc schedule 2
        return len(sched["events"])
    return sum(len(evs) for day in sched["conference"]["days"] for evs in day["rooms"].values())


def _indico(src: bytes) -> int:
    ev = json.loads(src)["results"][0]
    return len(ev.get("contributions", [])) + sum(len(s.get("contributions", [])) for s in ev.get("sessions", []))


def _vevents(src: bytes) -> int:
    return src.count(b"BEGIN:VEVENT")


def _rdf_leaf_events(fmt: str) -> Callable[[bytes], int]:
    """schema.org events with no sub-events that are a sub-event of another or have a performer: the talks.

    An event with sub-events is a conference or a track; one that is neither part of
    another nor performed (LSWT's "Keynote", used as a category) is an event of its own.
    """
    def count(src: bytes) -> int:
        g = Graph().parse(data=src, format=fmt)
        sub, performer = URIRef(SCHEMA + "subEvent"), URIRef(SCHEMA + "performer")
        events = {s for s, o in g.subject_objects(RDF.type) if str(o).startswith(SCHEMA) and str(o).endswith("Event")}
        return len([s for s in events if (s, sub, None) not in g and ((None, sub, s) in g or (s, performer, None) in g)])
    return count


def _swc_talks(src: bytes) -> int:
    """The Semantic Web Conference ontology's talks: resources typed swc:TalkEvent."""
    g = Graph().parse(data=src, format="xml")
    return len(set(g.subjects(RDF.type, URIRef("http://data.semanticweb.org/ns/swc/ontology#TalkEvent"))))


@dataclass
class Talk:
    title: str
    start: str | None  # the UTC instant, or the date of an all-day event; None where the source gives no time
    speakers: list[str] = field(default_factory=list)
    place: str | None = None


@dataclass
class Case:
    fmt: str
    file: str
    count: Callable[[bytes], int]
    talks: list[Talk]
    notes: list[str] = field(default_factory=list)  # what the summary must say was not imported


CASES = [
    Case("frab", "frab/31c3-schedule.xml", _frab_xml, [
        Talk("31C3 Opening Event", "2014-12-27T10:00:00Z", ["erdgeist", "Geraldine de Bastion"], "Saal 1"),
        Talk("Cyber Necromancy", "2014-12-28T13:00:00Z", ["Joseph Tartaro", "Matthew Halchyshak"], "Saal 2")],
        ["event type (138×)"]),
    Case("frab", "frab/voc-frab-camp2019.json", _frab_json, [
        Talk("Opening Ceremony", "2019-08-21T09:00:00Z", ["jinxx", "smtw"], "Curie"),
        Talk("Robotron - a tech opera", "2019-08-22T16:00:00Z", ["Nadja Buttendorf"], "Meitner")],
        ["event logo (28×)"]),
    Case("frab", "frab/voc-hub-schedule2.json", _frab_json, [
        Talk("38C3: Opening Ceremony", "2024-12-27T09:30:00Z", ["Gabriela Bogk", "Aline Blankertz"], "Saal 1"),
        Talk("A Competitive Time-Trial AI for Need for Speed:", "2024-12-27T23:15:00Z", ["Sebastian Schwarz"],
             "Saal ZIGZAG")]),
    Case("frab", "frab/voc-pretalx-rc3.json", _frab_json, [
        Talk("Der faule Admin automatisiert: Gluon auf echter Hardware testen", "2020-12-27T10:30:00Z",
             ["Chris Fiege", "Kasa"], "r3s - Monheim/Rhein")],
        ["event answers (48×)"]),
    # 27 single events, and the monthly Repair Café (first Saturday, no end) expanded over
    # the importer's three years: January 2018 to January 2021, 37 occurrences
    Case("ical", "ical/fablab_cottbus.ics", lambda src: _vevents(src) - 1 + 37, [
        Talk("Repair Café", "2018-01-06T13:00:00Z"),
        Talk("Lab geschlossen: Wir sind auf dem Karlstraßenfest", "2018-06-09", [], "Karlstraßenfest")]),
    # one VEVENT of a series whose master is absent; its RDATE;VALUE=PERIOD lists four dates
    Case("ical", "ical/issue_156_RDATE_with_PERIOD_TZID_khal_2.ics",
         lambda src: len(re.findall(rb"\d{8}T\d{6}/", src.replace(b"\r\n ", b"").split(b"RDATE", 1)[1].split(b"\n")[0])), [
        Talk("(omitted)", "2021-11-01T15:00:00Z"), Talk("(omitted)", "2022-02-07T15:00:00Z")],
        ["iCal ATTENDEE (1×)"]),
    Case("ical", "ical/issue_836_do_not_quote_tzid.ics", _vevents, [
        Talk("Anonymous Test Event for TZID", "2024-10-28T21:00:00Z")]),
    Case("ical", "ical/macsi-seminar-series-calendar.ics", _vevents, [
        Talk("MACSI Seminar: Week no 1", "2025-09-11T10:00:00Z", ["Hlib Husarov", "Eberhard Mayerhofer"]),
        Talk("MACSI Seminar: Week no 2", "2025-09-17T15:00:00Z", ["Márton Karsai"])]),
    Case("indico", "indico/indico-cern-event-845049.json", _indico, [],
         ["event references (1×): an event record has no references", "event folders (1×): an event record has no material"]),
    Case("indico", "indico/indico-docs-event-137346-contributions.json", _indico, [
        Talk("d1c1", "2011-06-23T06:00:00Z", [], "CERN")]),
    Case("indico", "indico/indico-docs-event-137346-sessions.json", _indico, [
        Talk("d2c1", "2011-06-24T10:00:00Z", [], "CERN")],
        ["session (its title, time and conveners)"]),
    Case("rdf", "rdf/artsdata-event-series.jsonld", _rdf_leaf_events("json-ld"), [
        Talk("The OSM Welcomes: Alexandra Stréliski", "2021-04-08T00:00:00Z", [], "Maison symphonique de Montréal")]),
    Case("rdf", "rdf/lswt2019-graph.ttl", _rdf_leaf_events("turtle"), [
        Talk("Welcome", "2019-05-22T07:00:00Z", ["Andreas Heinecke", "Sebastian Tramp"], "Main Track")],
        ["events inside an event (tracks) (5×)", "schema:duration that contradicts the start and end (3×)"]),
    # the Semantic Web Dog Food's SWC ontology: talks (no times in this file), speakers by
    # XML London's talkGivenBy, the venue the conference's (swc:hasLocation); papers as references
    Case("rdf", "rdf/xmllondon-complete-2013.rdf", _swc_talks, [
        Talk("Nick Van den Bleeken's 2013 talk", None, ["Nick Van den Bleeken"], "Roberts Engineering Building (UCL)"),
        Talk("Sebastian Rahtz's 2013 talk", None, ["Sebastian Rahtz"], "Roberts Engineering Building (UCL)")],
        ["event role swc:ProgrammeCommitteeMember (1×)", "paper swrc:month (14×)",
         "resources of type swc:Proceedings (1×)"]),
]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _name(ds: object, pid: str) -> str:
    return str(ds.people[pid].display_name)  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", CASES, ids=[c.file.split("/")[1] for c in CASES])
def test_real_export_imports_with_its_talks_and_reimports_unchanged(case: Case, shared: Path, tmp_path: Path) -> None:
    src = shared / "peer-exports" / case.file
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    before = _snapshot(data)
    dry = import_source(case.fmt, src, data, dry_run=True, taken=TAKEN)
    assert _snapshot(data) == before and dry.written == []
    real = import_source(case.fmt, src, data, taken=TAKEN)
    assert real.written and real.diff == dry.diff  # the dry run told what the real run did
    for note in case.notes:
        assert any(f"not imported: {note}" in n for n in real.plan.notes), (note, real.plan.notes)
    after = _snapshot(data)
    again = import_source(case.fmt, src, data, taken=TAKEN)
    assert again.written == [] and _snapshot(data) == after

    ds = load(data)
    source = next(p for p in real.written if p.suffix == ".yaml")
    mine = [t for t in ds.talks.values() if t.loc.file == str(source)]
    assert len(mine) == case.count(src.read_bytes())
    for want in case.talks:
        found = [t for t in mine if t.title == want.title and (t.start_at is None if want.start is None else (
                 t.start_at is not None and (t.start_at.utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                                             if t.start_at.utc else t.start) == want.start))]
        assert len(found) == 1, (want, [(t.title, t.start) for t in mine][:10])
        talk = found[0]
        assert [_name(ds, p) for p in talk.speakers] == want.speakers
        if want.place is not None:
            assert talk.venue is not None and ds.places[talk.venue].name == want.place


@pytest.mark.heavy
@pytest.mark.parametrize("case", CASES, ids=[c.file.split("/")[1] for c in CASES])
def test_real_export_imported_builds(case: Case, shared: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    import_source(case.fmt, shared / "peer-exports" / case.file, data, taken=TAKEN)
    result = build(data, tmp_path / "site", "http://localhost:8000/")
    assert result is not None


@pytest.mark.heavy
def test_all_real_exports_imported_together_build_and_reimport_unchanged(shared: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    for case in CASES:
        import_source(case.fmt, shared / "peer-exports" / case.file, data, taken=TAKEN)
    after = _snapshot(data)
    for case in CASES:
        import_source(case.fmt, shared / "peer-exports" / case.file, data, taken=TAKEN)
    assert _snapshot(data) == after
    ds = load(data)
    assert len(ds.talks) == len(load(SEED).talks) + sum(
        c.count((shared / "peer-exports" / c.file).read_bytes()) for c in CASES
        if not c.file.endswith("137346-sessions.json"))  # the same Indico event as the contributions export
    assert build(data, tmp_path / "site", "http://localhost:8000/") is not None
