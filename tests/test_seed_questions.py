"""Questions asked of the published seed dump by SPARQL, with answers checked by hand
against ../shared/seeds (the page text is quoted next to each expectation)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from lod.publishing.build import BuildResult
from lod.querying.engine import load_store, run

PREFIXES = """PREFIX schema: <http://schema.org/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX lod: <https://w3id.org/lod-talks/ns#>
"""
T = "http://localhost:8000/talk/"


@pytest.fixture(scope="module")
def store(seed_site: BuildResult) -> ox.Store:
    return load_store(seed_site.out)


def ask(store: ox.Store, query: str) -> list[dict[str, str]]:
    answer = run(store, PREFIXES + query)
    return [{k: v.value for k, v in row.items() if v is not None} for row in answer.rows]


def test_seed_talk_start_instants_follow_sydney_daylight_saving(store: ox.Store) -> None:
    # "the schedule is in Sydney time (UTC+10hrs)" -- true until 1 October 2023, when Sydney
    # moved to AEDT (UTC+11); the page itself says "(Sydney time AEDT)" for 26 October.
    rows = ask(store, """SELECT ?talk ?start WHERE {
        ?talk a lod:Talk ; schema:startDate ?start ; schema:superEvent <http://localhost:8000/series/mml-2023> }""")
    starts = {r["talk"].removeprefix(T): r["start"] for r in rows}
    assert starts == {
        "2023-09-13-greg-yang": "2023-09-13T10:00:00+10:00",       # September 13, 10-11 am
        "2023-09-28-sadhika-malladi": "2023-09-28T08:00:00+10:00",  # September 28, 8-9 am
        "2023-10-12-neel-nanda": "2023-10-12T20:00:00+11:00",      # October 12, 8-9 pm
        "2023-10-26-paul-christiano": "2023-10-26T09:00:00+11:00",  # October 26, 9-10 am (AEDT)
        "2023-11-23-francois-charton": "2023-11-23T19:00:00+11:00",  # November 23, 7-8 pm
    }


def test_seed_talk_start_instants_in_utc(store: ox.Store) -> None:
    # Every talk with a clock time, as a UTC instant (SPARQL compares xsd:dateTime across offsets).
    rows = ask(store, """SELECT ?talk WHERE {
        ?talk a lod:Talk ; schema:startDate ?start .
        FILTER(datatype(?start) = xsd:dateTime && ?start >= "2023-10-25T22:00:00Z"^^xsd:dateTime
               && ?start < "2023-10-25T22:00:01Z"^^xsd:dateTime) }""")
    assert [r["talk"] for r in rows] == [T + "2023-10-26-paul-christiano"]
    rows = ask(store, """SELECT ?start WHERE { <%s2024-06-03-mikhail-belkin> schema:startDate ?start ;
        schema:endDate ?end ; schema:duration ?d }""" % T)
    # "1:30 PM, Lundi 3 Juin 2024 EDT (1 heure 30 minutes)"
    assert rows == [{"start": "2024-06-03T13:30:00-04:00"}]
    rows = ask(store, """SELECT ?end ?d WHERE { <%s2024-06-03-mikhail-belkin> schema:endDate ?end ; schema:duration ?d }""" % T)
    assert rows == [{"end": "2024-06-03T15:00:00-04:00", "d": "PT1H30M"}]
    # "9:00-9:45am Joan Bruna" in Austin in February: CST, UTC-6
    rows = ask(store, """SELECT ?start WHERE { <%s2025-02-20-joan-bruna> schema:startDate ?start }""" % T)
    assert rows == [{"start": "2025-02-20T09:00:00-06:00"}]


def test_seed_talks_in_a_utc_range_are_counted(store: ox.Store) -> None:
    rows = ask(store, """SELECT (COUNT(?talk) AS ?n) WHERE { ?talk a lod:Talk ; schema:startDate ?start .
        FILTER(datatype(?start) = xsd:dateTime && ?start >= "2024-01-01T00:00:00Z"^^xsd:dateTime
               && ?start < "2025-01-01T00:00:00Z"^^xsd:dateTime) }""")
    # six Indico contributions on 23 May 2024 and Belkin's talk on 3 June 2024
    assert rows == [{"n": "7"}]


def test_seed_charton_is_one_person_speaking_at_two_events(store: ox.Store) -> None:
    rows = ask(store, """SELECT DISTINCT ?person ?parent WHERE {
        ?talk schema:performer ?person ; schema:superEvent ?parent .
        ?person schema:familyName "Charton" }""")
    assert {r["person"] for r in rows} == {"http://localhost:8000/person/francois-charton"}
    assert {r["parent"] for r in rows} == {"http://localhost:8000/series/mml-2023",
                                          "http://localhost:8000/event/mflm-2024"}
    rows = ask(store, """SELECT ?name ?alt WHERE { <http://localhost:8000/person/francois-charton>
        schema:name ?name ; schema:alternateName ?alt }""")
    assert {r["name"] for r in rows} == {"François Charton"}
    assert {r["alt"] for r in rows} == {"Francois Charton", "CHARTON, François"}


def test_seed_nyu_speakers_are_found_through_the_organisation_hierarchy(store: ox.Store) -> None:
    # Kempe: "NYU Center for Data Science and Courant Institute"; Bruna: "Courant Institute and
    # Center for Data Science, New York University"; Wald: "Center for Data Science, New York University".
    rows = ask(store, """SELECT DISTINCT ?name WHERE {
        ?talk a lod:Talk ; schema:performer ?p . ?p schema:name ?name ;
              schema:affiliation/schema:parentOrganization* <http://localhost:8000/org/nyu> }
        ORDER BY ?name""")
    assert [r["name"] for r in rows] == ["Joan Bruna", "Julia Kempe", "Yoav Wald"]


def test_seed_nyu_speakers_in_2024(store: ox.Store) -> None:
    rows = ask(store, """SELECT DISTINCT ?name WHERE {
        ?talk schema:performer ?p ; schema:startDate ?start . ?p schema:name ?name ;
              schema:affiliation/schema:parentOrganization* <http://localhost:8000/org/nyu> .
        FILTER(year(?start) = 2024) }""")
    assert rows == [{"name": "Julia Kempe"}]


def test_seed_austin_workshop_capacity_and_address(store: ox.Store) -> None:
    # "Capacity is limited to 70"; "Gates Dell Complex (GDC 6.302) Austin, TX 78712 United States"
    rows = ask(store, """SELECT ?cap ?free ?room ?locality ?region ?postal ?country WHERE {
        <http://localhost:8000/event/mdl-workshop-2025> schema:maximumAttendeeCapacity ?cap ;
            schema:isAccessibleForFree ?free ; schema:location ?place .
        ?place schema:name ?room ; schema:address ?a .
        ?a schema:addressLocality ?locality ; schema:addressRegion ?region ;
           schema:postalCode ?postal ; schema:addressCountry ?country }""")
    assert rows == [{"cap": "70", "free": "true", "room": "Gates Dell Complex, room 6.302", "locality": "Austin",
                     "region": "TX", "postal": "78712", "country": "United States"}]


def test_seed_every_talk_of_the_five_documents_is_published(store: ox.Store) -> None:
    rows = ask(store, "SELECT (COUNT(?t) AS ?n) WHERE { ?t a lod:Talk }")
    # 5 (M+ML) + 3 (tag page only) + 6 (Indico) + 1 (Belkin) + 14 (Austin: 8 named, 2x3 students)
    assert rows == [{"n": "29"}]


def test_seed_talk_in_two_documents_cites_both_sources(store: ox.Store) -> None:
    rows = ask(store, """PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?src WHERE { <%s2023-10-12-neel-nanda> prov:wasDerivedFrom ?src }""" % T)
    assert {r["src"] for r in rows} == {"http://localhost:8000/source/mml-2023-page",
                                       "http://localhost:8000/source/ml-tag-page"}


def test_seed_tba_talk_has_no_placeholder_title(store: ox.Store) -> None:
    rows = ask(store, """SELECT ?p ?o WHERE { <%s2024-05-23-gabriel-synnaeve> ?p ?o .
        FILTER(?p IN (schema:name, schema:description, lod:titleStatus)) }""" % T)
    assert rows == [{"p": "https://w3id.org/lod-talks/ns#titleStatus",
                     "o": "https://w3id.org/lod-talks/ns#TitleToBeAnnounced"}]
