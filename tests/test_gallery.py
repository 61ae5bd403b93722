"""The query gallery: queries/*.rq published with their answers on the seed data."""

from __future__ import annotations

from pathlib import Path

import html5lib

from lod.gallery import QUERIES_DIR, read_gallery
from lod.publish import BuildResult

REPO = Path(__file__).resolve().parents[1]


def gallery_tables(site: Path) -> dict[str, list[list[str]]]:
    """The answer table of each query on queries.html, by query name: header row first."""
    doc = html5lib.parse((site / "queries.html").read_bytes(), namespaceHTMLElements=False)
    tables: dict[str, list[list[str]]] = {}
    for section in doc.iter("section"):
        rows = [["".join(cell.itertext()).strip() for cell in tr] for tr in section.iter("tr")]
        tables[section.get("id", "")] = rows
    return tables


def test_gallery_ships_the_repository_queries_inside_the_package() -> None:
    # An installed (non-editable) lod must publish the same gallery as a checkout.
    assert QUERIES_DIR.relative_to(Path(__import__("lod").__file__).parent) == Path("data/queries")
    shipped = {q.name: q.text for q in read_gallery(QUERIES_DIR)}
    in_repo = {p.stem: p.read_text(encoding="utf-8") for p in (REPO / "queries").glob("*.rq")}
    assert shipped == in_repo and len(shipped) >= 6


def test_gallery_publishes_every_query_with_title_and_file(seed_site: BuildResult) -> None:
    html = (seed_site.out / "queries.html").read_text(encoding="utf-8")
    for q in read_gallery():
        assert (seed_site.out / "queries" / f"{q.name}.rq").read_text(encoding="utf-8") == q.text
        assert f'id="{q.name}"' in html
        assert q.title.replace("&", "&amp;") in html


def test_gallery_answers_on_the_seed_data(seed_site: BuildResult) -> None:
    tables = gallery_tables(seed_site.out)
    assert tables["talks-per-event"][1:] == [
        ["event/mdl-workshop-2025", "Mathematics of Deep Learning Workshop", "14"],
        ["event/mflm-2024", "Mathematics for and by Large Language Models", "6"],
        ["series/mml-2023", "Mathematical challenges in AI", "5"],
    ]
    assert {row[2] for row in tables["talks-by-affiliation"][1:]} == {"Julia Kempe", "Joan Bruna", "Yoav Wald"}
    assert [row[:3] for row in tables["speakers-at-several-events"][1:]] == [
        ["person/francois-charton", "François Charton", "2"]]
    assert tables["austin-workshop"][1][:3] == ["70", "true", "Gates Dell Complex, room 6.302"]
    assert [row[2] for row in tables["talks-with-recordings"][1:]] == [
        "Greg Yang", "Sadhika Malladi", "Neel Nanda", "Paul Christiano"]
    assert len(tables["talks-in-2024-utc"]) - 1 == 7
