"""Hostile records: no field value can break out of the JSON-LD script or inject markup."""

from __future__ import annotations

import re

import json
from pathlib import Path

import html5lib
import pytest

from lod.publishing.build import BuildResult, build

from .conftest import TEST_BASE, write_records

TITLE = '</script><script>alert(1)</script> <!-- "> . <img src=x onerror=alert(1)> $\\text{<b>x</b>}$'
ABSTRACT = ('First </script><script>alert(1)</script> paragraph <!-- with "> . and <img src=x onerror=alert(1)>.\n\n'
            'Second with $x<y$, $\\href{javascript:alert(1)}{x}$ and $a&b$ --> end.')
NAME = "Eve </script><script>alert(1)</script>"
ROOM = 'Room <!-- x "> <img src=x onerror=alert(1)>'

RECORDS = {
    "site.yaml": "site:\n  title: 'Hostile <script>alert(1)</script> site'\n",
    "sources.yaml": """sources:
  - id: page
    title: "A page </script>"
    document: page.txt
    taken: 2026-01-05
""",
    "people.yaml": f"people:\n  - id: eve\n    name: {json.dumps(NAME)}\n    sources: [page]\n",
    "places.yaml": f"""places:
  - id: room
    name: {json.dumps(ROOM)}
    timezone: Europe/Paris
    address: {{locality: Paris, country: France}}
    sources: [page]
""",
    "talks.yaml": f"""talks:
  - id: hostile
    title: {json.dumps(TITLE)}
    speakers: [eve]
    start: 2026-03-01T10:00
    end: 2026-03-01T11:00
    venue: room
    keywords: [{json.dumps("<img src=x onerror=alert(1)>")}]
    abstract: {json.dumps(ABSTRACT)}
    sources: [page]
""",
}


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    folder = write_records(tmp_path_factory.mktemp("hostile") / "data", RECORDS)
    return build(folder, tmp_path_factory.mktemp("hostile-out") / "site", TEST_BASE)


def parse(page: Path) -> object:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(page.read_bytes())


def test_hostile_pages_have_no_injected_elements(hostile_site: BuildResult) -> None:
    pages = [hostile_site.out / "index.html"] + sorted(p for p in hostile_site.out.rglob("*.html")
                                                       if p.parent != hostile_site.out)
    assert len(pages) == 6  # index, talk, person, place, source, and the year of the talk
    for page in pages:
        doc = parse(page)  # strict: any stray markup is a parse error
        scripts = [s for s in doc.iter("script") if not re.fullmatch(r"(\.\./)*(lod\.js|search/search\.js)", s.get("src") or "")]  # type: ignore[attr-defined]
        assert [s.get("type") for s in scripts] == ["application/ld+json"], page
        assert list(doc.iter("img")) == [], page  # type: ignore[attr-defined]
        assert list(doc.iter("b")) == [], page  # type: ignore[attr-defined]
        for el in doc.iter():  # type: ignore[attr-defined]
            assert not [a for a in el.attrib if a.lower().startswith("on")], (page, el.tag)
            assert not str(el.get("href", "")).lower().startswith("javascript:"), page
        assert "<!--" not in page.read_text(encoding="utf-8"), page


def test_hostile_jsonld_round_trips_the_exact_strings(hostile_site: BuildResult) -> None:
    html = (hostile_site.out / "talk/hostile.html").read_text(encoding="utf-8")
    doc = parse(hostile_site.out / "talk/hostile.html")
    (script,) = [s for s in doc.iter("script") if s.get("type") == "application/ld+json"]  # type: ignore[attr-defined]
    assert "<" not in script.text and ">" not in script.text and "&" not in script.text
    data = json.loads(script.text)
    assert data["name"] == TITLE
    assert data["description"] == ABSTRACT
    assert data["performer"]["name"] == NAME
    assert data["location"]["name"] == ROOM
    assert data["keywords"] == "<img src=x onerror=alert(1)>"
    assert html.count("</script>") == 2  # the JSON-LD and the site's lod.js
    assert '<script src="../lod.js" defer></script>' in html


def test_hostile_text_is_shown_escaped(hostile_site: BuildResult) -> None:
    doc = parse(hostile_site.out / "talk/hostile.html")
    h1 = next(doc.iter("h1"))  # type: ignore[attr-defined]
    assert "".join(h1.itertext()) == TITLE  # unconvertible TeX stays as its source text
    abstract = next(el for el in doc.iter("div") if el.get("class") == "abstract")  # type: ignore[attr-defined]
    paragraphs = ["".join(p.itertext()) for p in abstract.iter("p")]
    assert paragraphs[0] == ABSTRACT.split("\n\n")[0]
    assert paragraphs[1].endswith(", $\\href{javascript:alert(1)}{x}$ and $a&b$ --> end.")
    assert len(list(abstract.iter("{http://www.w3.org/1998/Math/MathML}math"))) == 1  # $x<y$ is safe MathML
    title = next(doc.iter("title"))  # type: ignore[attr-defined]
    assert title.text.startswith(f"{TITLE} (") and title.text.endswith(" · Hostile <script>alert(1)</script> site")
