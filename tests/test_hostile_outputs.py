"""Values that try to inject markup, script, Turtle, N-Triples or SPARQL come out as inert text
in every output, checked with parsers other than the writers: pyoxigraph and rdflib for
the RDF files, json for JSON-LD, icalendar for the feeds, html5lib for the pages, the
SPARQL endpoint's own answers, and Chromium running the pages (a script that ran would
mark the document).
"""

from __future__ import annotations

import re

import json
from collections.abc import Iterator
from pathlib import Path

import html5lib
import icalendar
import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from lod.publishing.build import BuildResult
from lod.querying.engine import load_store, run

from .conftest import write_records

PWN = 'document.documentElement.setAttribute("data-pwned","1")'
PAYLOADS = [
    f"</script><script>{PWN}</script>",
    f'"><img src=x onerror=\'{PWN}\'>',
    '"> .',
    "\n<x> <y> <z> .",
    "}",
    '" . <http://evil.example/s> <http://evil.example/p> "o',
    "'''\"\"\" ; <x> ; .",
    "} ; DROP ALL ; SELECT * WHERE {",
    "<!-- --> ]]> {{ 7*7 }} ${x} \\u0022 \\n",
    "BEGIN:VEVENT\r\nSUMMARY:injected\r\nEND:VEVENT",
]
TITLE = " ".join(p.replace("\n", " ") for p in PAYLOADS).replace("\r", " ")
ABSTRACT = "\n\n".join(PAYLOADS).replace("\r", "")
NAME = PAYLOADS[0] + " " + PAYLOADS[2] + " " + PAYLOADS[4]
KEYWORDS = [p.replace("\n", " ").replace("\r", " ").strip() for p in PAYLOADS]


def q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


RECORDS = {
    "site.yaml": f"site:\n  title: {q('Site ' + PAYLOADS[0])}\n  publisher: {q(PAYLOADS[2])}\n",
    "sources.yaml": f"sources:\n  - {{id: page, title: {q(PAYLOADS[1])}, document: {q(PAYLOADS[3].strip())}, "
                    f"taken: 2026-01-05}}\n",
    "people.yaml": f"people:\n  - {{id: eve, name: {q(NAME)}, job_title: {q(PAYLOADS[5])}, sources: [page]}}\n",
    "orgs.yaml": f"organizations:\n  - {{id: org, name: {q(PAYLOADS[7])}, also_known_as: [{q(PAYLOADS[4])}], "
                 f"sources: [page]}}\n",
    "places.yaml": f"places:\n  - id: room\n    name: {q(PAYLOADS[6])}\n    timezone: Europe/Paris\n"
                   f"    address: {{street: {q(PAYLOADS[1])}, locality: {q(PAYLOADS[2])}, country: France}}\n"
                   f"    sources: [page]\n",
    "series.yaml": f"""series:
  - id: ser
    name: {q(PAYLOADS[8])}
    description: {q(ABSTRACT)}
    organizers: [org]
    timezone: Europe/Paris
    sources: [page]
    talks:
      - id: hostile
        title: {q(TITLE)}
        speakers: [eve]
        start: 2026-03-01T10:00
        end: "11:00"
        venue: room
        keywords: {json.dumps(KEYWORDS)}
        abstract: {q(ABSTRACT)}
        sources: [page]
""",
}
EXPECTED = {TITLE, ABSTRACT, NAME, PAYLOADS[8], PAYLOADS[6], PAYLOADS[7], PAYLOADS[5], *KEYWORDS}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, BuildResult]]:
    from .test_browser import serving

    data = write_records(tmp_path_factory.mktemp("hostile") / "data", RECORDS)
    with serving(data, tmp_path_factory.mktemp("hostile-out") / "site") as served_site:
        yield served_site


def literals(g: Graph) -> set[str]:
    return {str(o) for o in g.objects() if isinstance(o, Literal)}


def test_hostile_rdf_files_parse_with_independent_parsers_and_keep_the_strings(
        served: tuple[str, BuildResult]) -> None:
    base, site = served
    files = sorted(site.out.rglob("*.nt")) + sorted(site.out.rglob("*.ttl"))
    assert len(files) > 10
    for path in files:
        fmt = ox.RdfFormat.N_TRIPLES if path.suffix == ".nt" else ox.RdfFormat.TURTLE
        triples = list(ox.parse(path.read_bytes(), format=fmt, base_iri=base))  # strict: raises on any injection
        iris = {t.value for q_ in triples for t in (q_.subject, q_.predicate, q_.object) if isinstance(t, ox.NamedNode)}
        assert not [i for i in iris if i in ("x", "y", "z") or "evil.example" in i or i.endswith(("/x", "/y", "/z"))], path
    dump = Graph().parse(site.out / "dump.ttl", format="turtle")
    nt = Graph().parse(site.out / "dump.nt", format="nt")
    assert len(dump) == len(nt) == site.triples
    assert EXPECTED <= literals(dump) and EXPECTED <= literals(nt)
    talk = URIRef(base + "talk/hostile")
    assert Literal(TITLE) in set(dump.objects(talk, URIRef("http://schema.org/name")))
    for p in ("http://evil.example/p", "y"):
        assert not list(dump.triples((None, URIRef(p), None)))


def test_hostile_jsonld_files_keep_the_strings(served: tuple[str, BuildResult]) -> None:
    _, site = served
    seen: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, str):
            seen.add(node)
        elif isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)

    for path in site.out.rglob("*.jsonld"):
        walk(json.loads(path.read_bytes()))
    assert EXPECTED <= seen


def test_hostile_ical_feeds_have_one_event_with_the_exact_text(served: tuple[str, BuildResult]) -> None:
    _, site = served
    feeds = sorted(site.out.rglob("*.ics"))
    assert feeds
    for path in feeds:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        events = cal.walk("VEVENT")
        assert len(events) == 1, path  # the BEGIN:VEVENT in the text made no second event
        assert str(events[0]["SUMMARY"]) == TITLE
        assert "\n\n" + ABSTRACT.replace("\r", "").strip() + "\n\n" in str(events[0]["DESCRIPTION"])
        assert "injected" not in [str(e.get("SUMMARY")) for e in events]


def test_hostile_sparql_answers_keep_the_strings(served: tuple[str, BuildResult]) -> None:
    _, site = served
    store = load_store(site.out)
    answer = run(store, "SELECT ?n WHERE { ?s <http://schema.org/name> ?n }")
    names = {str(row["n"].value) for row in answer.rows if row["n"] is not None}
    assert {TITLE, NAME, PAYLOADS[8], PAYLOADS[6], PAYLOADS[7]} <= names
    # The hostile value as a bound literal finds exactly the talk; nothing about it is query text.
    lit = ox.Literal(TITLE)
    found = run(store, f"SELECT ?s WHERE {{ ?s <http://schema.org/name> {lit} }}")
    assert len(found.rows) == 1


def test_hostile_pages_parse_strictly_with_only_the_jsonld_script(served: tuple[str, BuildResult]) -> None:
    _, site = served
    pages = sorted(site.out.rglob("*.html"))
    assert len(pages) >= 6
    for page in pages:
        doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page.read_bytes())
        # the JSON-LD, and the site's own scripts (lod.js, search.js) by their relative paths
        types = [s.get("type") for s in doc.iter("script") if not re.fullmatch(r"(\.\./)*(lod\.js|search/search\.js)", s.get("src") or "")]
        assert set(types) <= {"application/ld+json"}, page
        assert list(doc.iter("img")) == [], page
        for el in doc.iter():
            assert not [a for a in el.attrib if a.lower().startswith("on")], (page, el.tag)
        for s in doc.iter("script"):
            if s.get("type") == "application/ld+json":
                json.loads(s.text)
            else:  # the site's own script: an empty element with a src
                assert not (s.text or "").strip() and s.get("src"), page


@pytest.mark.slow
def test_hostile_pages_run_no_script_in_chromium(served: tuple[str, BuildResult], tmp_path: Path) -> None:
    from .test_browser import CHROMIUM, chromium

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    base, site = served
    for path in ("talk/hostile", "series/ser"):  # each Chromium start costs about 3 s
        html = chromium(tmp_path / "profile", "--dump-dom", base + path)
        assert "<html" in html
        doc = html5lib.parse(html, namespaceHTMLElements=False)
        assert doc.get("data-pwned") is None, path  # no injected script or handler ran
        assert [s.get("type") for s in doc.iter("script") if not re.fullmatch(r"(\.\./)*(lod\.js|search/search\.js)", s.get("src") or "")] == ["application/ld+json"], path
        assert list(doc.iter("img")) == [], path
        if path == "talk/hostile":
            h1 = doc.find(".//h1")
            assert "".join(h1.itertext()) == TITLE
