"""C1 controls and line separators in record text: pages stay valid HTML and the JSON-LD keeps the exact text."""

from __future__ import annotations

import json

import pytest

from lod.publishing.build import BuildResult, build

from .conftest import TEST_BASE, write_records
from .test_pages_hostile import parse  # strict html5lib: a C1 control anywhere is a parse error

# NEL (U+0085) and CSI (U+009B) are C1 controls; U+2028/U+2029 end lines in JavaScript.
TITLE = "Next\x85line, csi\x9b[31m, \u2028sep\u2029 and \x80"
NAME = "Eve\x85Doe"
RECORDS = {
    "sources.yaml": "sources:\n  - {id: page, document: page.txt, taken: 2026-01-05}\n",
    "people.yaml": f"people:\n  - id: eve\n    name: {json.dumps(NAME)}\n    sources: [page]\n",
    "talks.yaml": f"""talks:
  - id: t
    title: {json.dumps(TITLE)}
    speakers: [eve]
    start: 2026-03-01T10:00
    timezone: Europe/Paris
    keywords: [{json.dumps("kw" + chr(0x85))}]
    abstract: {json.dumps("One" + chr(0x85) + "two.")}
    sources: [page]
""",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    folder = write_records(tmp_path_factory.mktemp("controls") / "data", RECORDS)
    return build(folder, tmp_path_factory.mktemp("controls-out") / "site", TEST_BASE)




def test_pages_with_c1_controls_in_the_records_are_valid_html(site: BuildResult) -> None:
    pages = sorted(site.out.rglob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        parse(page)
        text = page.read_text(encoding="utf-8")
        assert not [c for c in text if 0x80 <= ord(c) <= 0x9f], page


def test_embedded_jsonld_keeps_c1_controls_and_line_separators_exactly_as_escapes(site: BuildResult) -> None:
    doc = parse(site.out / "talk/t.html")
    (script,) = [e for e in doc.iter("script") if e.get("type") == "application/ld+json"]  # type: ignore[attr-defined]
    for char in "\x85\x9b\x80\u2028\u2029":
        assert char not in script.text
    for escape in ("\\u0085", "\\u009b", "\\u0080", "\\u2028", "\\u2029"):
        assert escape in script.text
    data = json.loads(script.text)
    assert data["name"] == TITLE
    assert data["performer"]["name"] == NAME


def test_pages_show_a_c1_control_as_the_replacement_character(site: BuildResult) -> None:
    doc = parse(site.out / "talk/t.html")
    h1 = next(doc.iter("h1"))  # type: ignore[attr-defined]
    assert "".join(h1.itertext()) == "Next\ufffdline, csi\ufffd[31m, \u2028sep\u2029 and \ufffd"


def test_dumps_keep_c1_controls_exactly(site: BuildResult) -> None:
    from pyoxigraph import RdfFormat, parse as rdf_parse

    titles = {t.object.value for t in rdf_parse(path=str(site.out / "dump.nt"), format=RdfFormat.N_TRIPLES)
              if t.predicate.value == "http://schema.org/name"}
    assert TITLE in titles and NAME in titles
