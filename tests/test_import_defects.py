"""lod import on what real exports do: repeated ids, people of several servers, lists of names,
titles, dropped fields, HTML, located errors, floating times, RDF written by other archives."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from lod.errors import AmbiguousMatch, ImportFailed
from lod.importers import import_source
from lod.importers.common import honorific
from lod.importers.frab import parse as parse_frab
from lod.importers.ical import parse as parse_ical
from lod.importers.indico import parse as parse_indico
from lod.importers.rdf import parse as parse_rdf
from lod.importers.text import html_to_text
from lod.model.iri import slugify
from lod.loading.stage import load

TAKEN = date(2026, 12, 4)


def _frab(events: str, base_url: str = "https://frab.example.org/conf/", acronym: str = "conf") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<schedule><conference><acronym>{acronym}</acronym><title>Conference {acronym}</title>
<base_url>{base_url}</base_url><time_zone_name>Europe/Berlin</time_zone_name></conference>
<day index="1" date="2024-12-27">{events}</day></schedule>""".encode()


def _event(guid: str, title: str, start: str, persons: str, extra: str = "") -> str:
    return (f'<event guid="{guid}" id="{guid}"><date>2024-12-27T{start}:00+01:00</date><start>{start}</start>'
            f"<duration>00:30</duration><title>{title}</title><persons>{persons}</persons>{extra}</event>")


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- re-import, ids

def test_frab_event_listed_in_two_rooms_gives_two_talks_and_reimports(tmp_path: Path) -> None:
    ada = "<person id='1'>Ada Lovelace</person>"
    both = "".join(f'<room name="{room}">' + _event("g-1", "Repeated", "11:00", ada) + "</room>"
                   for room in ("Saal 1", "Saal 2"))
    src = _write(tmp_path, "schedule.xml", _frab(both))
    data = tmp_path / "data"
    import_source("frab", src, data, taken=TAKEN)
    talks = load(data).talks
    assert sorted(t.ids["frab"] for t in talks.values()) == ["g-1/saal-1/2024-12-27T11:00", "g-1/saal-2/2024-12-27T11:00"]
    before = _snapshot(data)
    assert import_source("frab", src, data, taken=TAKEN).written == [] and _snapshot(data) == before


def test_talks_sharing_a_source_id_are_named_in_the_ambiguity_then_settled_by_title_and_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "talks.yaml").write_text(
        "sources:\n  - {id: hand, document: notes.txt, taken: 2024-01-01}\n"
        "events:\n  - {id: conf, name: Conference conf, sources: [hand]}\n"
        "talks:\n" + "".join(
            f"  - id: {tid}\n    title: Repeated\n    start: 2024-12-27T{hour}:00\n    timezone: Europe/Berlin\n"
            f"    part_of: conf\n    ids: {{frab: g-1}}\n    sources: [hand]\n" for tid, hour in (("a", "11"), ("b", "12"))),
        encoding="utf-8")
    src = _write(tmp_path, "schedule.xml", _frab('<room name="Saal 1">' + _event("g-1", "Repeated", "12:00", "") + "</room>"))
    with pytest.raises(AmbiguousMatch) as exc:
        import_source("frab", src, data, taken=TAKEN)
    assert "talk 'Repeated' matches 2 records: a (Repeated, 2024-12-27T11:00, " in str(exc.value)
    assert "b (Repeated, 2024-12-27T12:00, " in str(exc.value)
    mapping = _write(tmp_path, "map.yaml", b'talks: {"Repeated @ 2024-12-27T12:00": b}\n')
    import_source("frab", src, data, mapping=mapping, taken=TAKEN)
    assert load(data).talks["b"].duration == "PT30M"


def test_people_of_two_frab_servers_sharing_an_id_are_not_merged(tmp_path: Path) -> None:
    # the same person id 7 on two servers: two people, each talk credited to its own
    one = _write(tmp_path, "a/schedule.xml", _frab('<room name="A">' + _event("g-a", "Talk A", "11:00", "<person id='7'>peter</person>")
                                                   + "</room>", "https://frab.one.example/c/", "one"))
    two = _write(tmp_path, "b/schedule.xml", _frab('<room name="B">' + _event("g-b", "Talk B", "11:00", "<person id='7'>Niels Seidel</person>")
                                                   + "</room>", "https://pretalx.two.example/c/", "two"))
    data = tmp_path / "data"
    import_source("frab", one, data, taken=TAKEN)
    import_source("frab", two, data, taken=TAKEN)
    ds = load(data)
    by_title = {t.title: [ds.people[p].display_name for p in t.speakers] for t in ds.talks.values()}
    assert by_title == {"Talk A": ["peter"], "Talk B": ["Niels Seidel"]}
    assert sorted(p.ids["frab-person"] for p in ds.people.values()) == ["frab.one.example/7", "pretalx.two.example/7"]


def test_two_real_schedules_imported_one_after_the_other_merge_no_one(shared: Path, tmp_path: Path) -> None:
    # frab (fahrplan.events.ccc.de) and pretalx (pretalx.rc3.studio) both number a person 186:
    # "peter" at camp 2019, Niels Seidel at rC3
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data", data)
    for name in ("voc-frab-camp2019.json", "voc-pretalx-rc3.json"):
        # both saved under the usual name: they are still two sources
        import_source("frab", _write(tmp_path / name, "schedule.json",
                                     (shared / "peer-exports" / "frab" / name).read_bytes()), data, taken=TAKEN)
    ds = load(data)
    assert {"frab-camp2019-fahrplan-events-ccc-de", "frab-rc3-channels-2020-pretalx-rc3-studio"} <= set(ds.sources)
    seidel = [p for p in ds.people.values() if p.display_name == "Niels Seidel"]
    assert [p.ids for p in seidel] == [{"frab-person": "pretalx.rc3.studio/186"}]
    # every imported talk is credited to the people its own schedule names
    for name, source in (("voc-frab-camp2019.json", "frab-camp2019-fahrplan-events-ccc-de"),
                         ("voc-pretalx-rc3.json", "frab-rc3-channels-2020-pretalx-rc3-studio")):
        sched = json.loads((shared / "peer-exports" / "frab" / name).read_bytes())["schedule"]["conference"]
        named = {(e["title"].strip(), e["date"][:16]): sorted(honorific(p["public_name"])[1] for p in e["persons"])
                 for day in sched["days"] for evs in day["rooms"].values() for e in evs}
        talks = [t for t in ds.talks.values() if source in t.sources]
        assert len(talks) == len(named)
        for t in talks:
            assert sorted(ds.people[p].display_name for p in t.speakers) == named[(t.title, t.start)], t.id


def test_same_named_files_of_two_conferences_have_their_own_source(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for acronym in ("one", "two"):
        src = _write(tmp_path / acronym, "schedule.xml",
                     _frab('<room name="R">' + _event("g-" + acronym, "Talk " + acronym, "11:00", "") + "</room>",
                           f"https://{acronym}.example/", acronym))
        import_source("frab", src, data, taken=TAKEN)
    ds = load(data)
    assert {t.title: t.sources for t in ds.talks.values()} == {"Talk one": ["frab-one-one-example"],
                                                                "Talk two": ["frab-two-two-example"]}


def test_namesakes_with_different_source_ids_are_two_people(tmp_path: Path) -> None:
    p = parse_frab(_frab('<room name="R">' + _event("g-1", "T1", "11:00", "<person id='1'>mo</person>")
                         + _event("g-2", "T2", "12:00", "<person id='2'>Mo</person>") + "</room>"), "s.xml")
    assert [(r["id"], r["name"], r["ids"]) for r in p.records["people"]] == [
        ("mo", "mo", {"frab-person": "frab.example.org/1"}), ("mo-2", "Mo", {"frab-person": "frab.example.org/2"})]


def test_a_list_of_names_in_one_person_is_split_and_titles_are_kept_out_of_names() -> None:
    p = parse_frab(_frab('<room name="R">' + _event("g-1", "Welcome", "09:00",
                                                    "<person id='5'>Dr. Sebastian Tramp, Andreas Heinecke</person>"
                                                    "<person id='6'>Prof. Dr. Jane Doe</person>") + "</room>"), "s.xml")
    assert p.records["people"] == [
        {"id": "sebastian-tramp", "given_name": "Sebastian", "family_name": "Tramp", "honorific": "Dr."},
        {"id": "andreas-heinecke", "given_name": "Andreas", "family_name": "Heinecke"},
        {"id": "jane-doe", "given_name": "Jane", "family_name": "Doe", "ids": {"frab-person": "frab.example.org/6"},
         "honorific": "Prof. Dr."}]
    assert p.records["talks"][0]["speakers"] == ["sebastian-tramp", "andreas-heinecke", "jane-doe"]


# ---------------------------------------------------------------- nothing dropped silently

def test_frab_subtitle_relative_urls_iso_duration_and_unread_fields() -> None:
    extra = ("<subtitle>A subtitle</subtitle><logo>/logo.png</logo><type>lecture</type>"
             "<attachments><attachment href='/system/slides.pdf'>Slides</attachment></attachments>"
             "<links><link href='/wiki/page'>Wiki</link></links>")
    p = parse_frab(_frab('<room name="R">' + _event("g-1", "T", "11:00", "", extra).replace("00:30", "PT45M") + "</room>"),
                   "s.xml")
    t = p.records["talks"][0]
    assert t["duration"] == "PT45M" and t["abstract"] == "A subtitle"
    assert t["slides"] == {"url": "https://frab.example.org/system/slides.pdf"}
    assert t["references"] == [{"title": "Wiki", "url": "https://frab.example.org/wiki/page"}]
    assert p.skipped == {("event logo", "the record format has no image of a talk"): 1,
                         ("event type", "the record format has no kind of talk"): 1}


def test_indico_event_material_and_references_are_counted_and_html_becomes_text(shared: Path) -> None:
    p = parse_indico((shared / "peer-exports" / "indico" / "indico-cern-event-845049.json").read_bytes(), "e.json")
    assert p.records["events"][0]["description"] == "this is the description stuff"
    assert p.skipped[("event references", "an event record has no references")] == 1
    assert p.skipped[("event folders", "an event record has no material")] == 1
    assert p.key == "indico.cern.ch 845049"
    chair = next(r for r in p.records["people"] if r["id"] == "ilias-koutsakis")  # "Mr Koutsakis, Ilias"
    assert (chair["honorific"], chair["ids"], chair["also_known_as"]) == (
        "Mr", {"indico-person": "indico.cern.ch/4676216"}, ["Koutsakis, Ilias"])
    assert p.skipped[("person emailHash", "e-mail addresses (and their hashes) are not published")] == 2


def test_html_becomes_paragraphs_and_markdown_emphasis_keeping_tex() -> None:
    html = ('<p>We study <strong>scaling laws</strong> of $P(\\mathcal{L}) &lt; 1$ and <em>collapse</em>.</p>'
            '<p>See <a href="https://arxiv.org/abs/1">the paper</a>.<br>Next</p><ul><li>one</li><li>two</li></ul>')
    assert html_to_text(html) == ("We study **scaling laws** of $P(\\mathcal{L}) < 1$ and *collapse*.\n\n"
                                  "See the paper (https://arxiv.org/abs/1).\nNext\n\n- one\n- two")
    assert html_to_text("plain $a<b$ and **bold**") == "plain $a<b$ and **bold**"  # not HTML: unchanged


# ---------------------------------------------------------------- errors and the dry run

TTL_BAD = b"""@prefix schema: <https://schema.org/> .
<https://archive.example/#conf> a schema:Event ; schema:name "Conf" ; schema:subEvent <https://archive.example/#t1> .
<https://archive.example/#t1> a schema:Event ; schema:name "Talk" ; schema:startDate "2024-01-01T10:00:00Z" ;
    schema:duration "an hour" .
"""


def test_a_refused_record_is_located_in_the_source_and_the_dry_run_refuses_it_too(tmp_path: Path) -> None:
    src = _write(tmp_path, "archive.ttl", TTL_BAD)
    data = tmp_path / "data"
    data.mkdir()
    expected = (f"the imported records would not load, so nothing was written:\n  {src}: <https://archive.example/#t1>: "
                "the talk (imported as t1), field duration: 'an hour' is not an ISO 8601 duration. "
                "Fix: correct duration of that talk in the source (or leave it out) and import again.")
    for dry in (True, False):
        with pytest.raises(ImportFailed) as exc:
            import_source("rdf", src, data, dry_run=dry, taken=TAKEN)
        assert str(exc.value) == expected
    assert list(data.iterdir()) == []


# ---------------------------------------------------------------- iCal

FLOATING = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//t//t//EN\r
BEGIN:VEVENT\r
UID:f1@example.org\r
DTSTART:20240523T093000\r
DTEND:20240523T103000\r
SUMMARY:Colloquium talk given by Ada Lovelace & Charles Babbage\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_ical_floating_times_are_refused_with_a_fix_then_read_in_the_given_zone(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as exc:
        parse_ical(FLOATING, "f.ics")
    assert str(exc.value) == ("f.ics:4 (event f1@example.org): the time has no time zone (a floating time). Fix: import "
                              "with --timezone ZONE (e.g. --timezone Europe/Paris) to say which zone the calendar's "
                              "times are in, or give DTSTART a TZID or the calendar an X-WR-TIMEZONE.")
    src = _write(tmp_path, "f.ics", FLOATING)
    import_source("ical", src, tmp_path / "data", timezone="Europe/London", taken=TAKEN)
    talk = next(iter(load(tmp_path / "data").talks.values()))
    assert (talk.title, talk.start, talk.timezone) == ("Colloquium talk", "2024-05-23T09:30", "Europe/London")
    assert talk.speakers == ["ada-lovelace", "charles-babbage"]
    with pytest.raises(ImportFailed, match="--timezone 'Mars/Olympus' is not an IANA time zone"):
        import_source("ical", src, tmp_path / "data", timezone="Mars/Olympus", taken=TAKEN)


def test_ical_same_titles_on_one_day_are_numbered_in_time_order(tmp_path: Path) -> None:
    def ev(uid: str, hour: str) -> str:
        return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;TZID=Europe/Paris:20240523T{hour}0000\r\n"
                f"SUMMARY:Seminar\r\nEND:VEVENT\r\n")
    cal = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + ev("late", "16") + ev("early", "09") + "END:VCALENDAR\r\n"
    import_source("ical", _write(tmp_path, "c.ics", cal.encode()), tmp_path / "data", taken=TAKEN)
    talks = load(tmp_path / "data").talks
    assert [(t.id, t.start) for t in sorted(talks.values(), key=lambda t: t.id)] == [
        ("2024-05-23-seminar", "2024-05-23T09:00"), ("2024-05-23-seminar-2", "2024-05-23T16:00")]


def test_slugs_transliterate_sharp_s() -> None:
    assert slugify("Karlstraßenfest in Cottbus") == "karlstrassenfest-in-cottbus"


# ---------------------------------------------------------------- RDF of other archives

TTL_OTHER = """@prefix schema: <https://schema.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<https://archive.example/#series> a schema:EventSeries ; rdfs:label "Kolloquium"@de, "Colloquium"@en ;
    schema:subEvent <https://archive.example/#t1> .
<https://archive.example/#t1> a schema:EducationEvent ; rdfs:label "Vortrag"@de, "Lecture"@en ;
    schema:startDate "2024-01-01T10:00:00+01:00" ; schema:performer <https://archive.example/#ada> ;
    schema:location <https://archive.example/#room> .
<https://archive.example/#ada> a foaf:Person ; foaf:name "Prof. Ada Lovelace" .
<https://archive.example/#room> a schema:Place ; schema:name "Room 1" ; schema:url <https://archive.example/room> .
"""


def test_rdf_of_another_archive_reads_fragments_labels_foaf_subtypes_and_subevent() -> None:
    p = parse_rdf(TTL_OTHER.encode(), "a.ttl")
    assert p.records["series"][0]["name"] == "Colloquium"  # English preferred over the sort order
    talk = p.records["talks"][0]
    assert (talk["id"], talk["title"], talk["part_of"], talk["speakers"], talk["venue"]) == (
        "t1", "Lecture", "series", ["ada"], "room")
    assert p.records["people"][0] == {"id": "ada", "given_name": "Ada", "family_name": "Lovelace", "honorific": "Prof."}
    assert p.records["places"][0]["url"] == "https://archive.example/room"


def test_rdf_xml_is_read(shared: Path) -> None:
    p = parse_rdf((shared / "peer-exports" / "rdf" / "xmllondon-complete-2013.rdf").read_bytes(), "x.rdf")
    # christian-grun, only owl:sameAs christian-gruen, is no second person
    assert [r for r in p.records["people"] if r.get("family_name") == "Grün"] == [
        {"id": "christian-gruen", "given_name": "Christian", "family_name": "Grün"}]
    assert p.skipped[("people without a name", "a person record needs a name (these are often only owl:sameAs "
                      "another IRI of someone named elsewhere)")] == 2


def test_markdown_emphasis_is_shown_as_emphasis_on_pages_outside_tex() -> None:
    from lod.publishing.pages import paragraphs_html
    html = str(paragraphs_html("neural **scaling laws** and *collapse*, $a*b*c$, 2 * 3 * 4, snake_case_name"))
    assert html.startswith("<p>neural <strong>scaling laws</strong> and <em>collapse</em>, <math")
    assert html.endswith("</math>, 2 * 3 * 4, snake_case_name</p>") and "<mo>*</mo>" in html


def test_an_honorific_is_published_as_schema_honorific_prefix_and_read_back(tmp_path: Path) -> None:
    from rdflib import Literal, URIRef

    from lod.model.iri import Minter
    from lod.mapping.triples import to_graph
    src = _write(tmp_path, "schedule.xml", _frab('<room name="R">' + _event("g-1", "T", "11:00",
                                                                             "<person id='6'>Prof. Dr. Jane Doe</person>") + "</room>"))
    import_source("frab", src, tmp_path / "data", taken=TAKEN)
    g = to_graph(load(tmp_path / "data"), Minter("http://localhost:8000/"))
    jane = URIRef("http://localhost:8000/person/jane-doe")
    assert (jane, URIRef("http://schema.org/honorificPrefix"), Literal("Prof. Dr.")) in g
    assert (jane, URIRef("http://schema.org/name"), Literal("Jane Doe")) in g
    dump = _write(tmp_path, "dump.nt", g.serialize(format="nt").encode())
    assert parse_rdf(dump.read_bytes(), "dump.nt").records["people"][0]["honorific"] == "Prof. Dr."


PAGE = """<!DOCTYPE html><html><head><title>Spring concert</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "MusicEvent", "name": "Spring Concert",
 "startDate": "2026-05-08T19:30:00-05:00", "endDate": "2026-05-08T21:30:00-05:00",
 "eventStatus": "https://schema.org/EventScheduled",
 "location": {"@type": "Place", "name": "High School Hall",
   "address": {"@type": "PostalAddress", "streetAddress": "100 Main Ave", "addressLocality": "Webster Groves",
               "addressRegion": "MO", "postalCode": "63119", "addressCountry": "US"}},
 "performer": [{"@type": "PerformingGroup", "name": "The Orchestra", "url": "https://orchestra.example"},
               {"@type": "Person", "name": "Dr. Ada Conductor"}],
 "organizer": {"@type": "PerformingGroup", "name": "The Orchestra", "url": "https://orchestra.example"}}
</script></head><body><p>Concert</p></body></html>"""


def test_a_venue_page_is_read_for_its_json_ld_with_the_schema_org_context_offline(tmp_path: Path) -> None:
    p = parse_rdf(PAGE.encode(), "concert.html")
    talk = p.records["talks"][0]
    assert (talk["title"], talk["start"], talk["offset"]) == ("Spring Concert", "2026-05-08T19:30", "-05:00")
    people = {r["id"]: r for r in p.records["people"]}
    assert [people[s] for s in talk["speakers"]] == [  # the group is no speaker
        {"id": "ada-conductor", "name": "Ada Conductor", "honorific": "Dr."}]
    place = next(r for r in p.records["places"] if r["id"] == talk["venue"])
    assert (place["name"], place["address"]["locality"]) == ("High School Hall", "Webster Groves")
    assert [o["name"] for o in p.records["organizations"] if o["id"] in talk["organizers"]] == ["The Orchestra"]
    assert p.skipped == {("schema:performer that is not a person", "the record format links only that kind here"): 1}
    assert len(p.records["organizations"]) == 1  # organiser and performer: one group, written twice
    with pytest.raises(ImportFailed) as exc:
        parse_rdf(b"<!DOCTYPE html><html><body>no data</body></html>", "page.html")
    assert str(exc.value) == ('page.html: the page holds no JSON-LD (<script type="application/ld+json">); microdata '
                              "and RDFa are not read. Fix: save the page's JSON-LD as a .jsonld file, or export the "
                              "data as Turtle.")


def test_rdf_xml_external_entities_are_not_read(tmp_path: Path) -> None:
    secret = _write(tmp_path, "secret.txt", b"TOP-SECRET")
    doc = (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY x SYSTEM "file://{secret}"> ]>\n'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:s="http://schema.org/">'
           '<s:Place rdf:about="http://e.org/p"><s:name>Hall &x;</s:name></s:Place></rdf:RDF>')
    p = parse_rdf(doc.encode(), "x.rdf")
    assert "TOP-SECRET" not in repr(p.records)


def test_ical_speaker_lists_split_at_commas_only_between_whole_names(tmp_path: Path) -> None:
    def cal(line: str) -> bytes:
        return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:s1@example.org\r\n"
                f"DTSTART;TZID=Europe/Paris:20240523T093000\r\nSUMMARY:Proofs\r\nDESCRIPTION:Speakers: {line}\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    two = parse_ical(cal("Jane Doe (MIT\\, Cambridge)\\, Dr. John Smith"), "c.ics")
    assert two.records["talks"][0]["speakers"] == ["jane-doe", "john-smith"]
    assert [o["name"] for o in two.records["organizations"]] == ["MIT, Cambridge"]
    one = parse_ical(cal("DOE\\, Jane (MIT)"), "c.ics")
    assert one.records["talks"][0]["speakers"] == ["jane-doe"]


def test_topics_that_slug_alike_take_the_spelling_already_in_the_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    track = "<track>{}</track>"
    for acronym, label in (("one", "Hardware &amp; Making"), ("two", "hardware-making")):
        src = _write(tmp_path / acronym, "schedule.xml", _frab(
            '<room name="R">' + _event("g-" + acronym, "Talk " + acronym, "11:00", "", track.format(label)) + "</room>",
            f"https://{acronym}.example/", acronym))
        import_source("frab", src, data, taken=TAKEN)
    assert sorted(t.topics[0] for t in load(data).talks.values()) == ["Hardware & Making", "Hardware & Making"]
