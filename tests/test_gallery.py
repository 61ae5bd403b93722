"""The query gallery: queries/*.rq published with their answers on the seed data."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import html5lib
import pyoxigraph as ox
import pytest

from lod.publishing.gallery import QUERIES_DIR, SHOWN_ROWS, read_gallery, stored_answer
from lod.publishing.gallery_narrow import collect, meets, shape_of
from lod.publishing.gallery_reads import RDF_TYPE, Reads, answer_lines, reads_of
from lod.progress import Event, Finished
from lod.publishing.build import BuildResult, build
from lod.querying.engine import run

from .conftest import SEED_DATA

REPO = Path(__file__).resolve().parents[1]
BASE = "http://localhost:8000/"


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


# What each query reads, from its algebra: a rebuild answers again only the queries whose triples changed.

SCHEMA = "http://schema.org/"
PREFIXES = "PREFIX schema: <http://schema.org/>\nPREFIX lod: <https://w3id.org/lod-talks/ns#>\n"


def _reads(where: str) -> Reads:
    return reads_of(PREFIXES + "SELECT * WHERE { " + where + " }")


def test_a_query_reads_the_predicates_of_its_patterns_and_paths_and_the_classes_it_asks_for() -> None:
    reads = reads_of((QUERIES_DIR / "talks-in-2024-utc.rq").read_text(encoding="utf-8"))
    assert reads == Reads(frozenset({f"<{SCHEMA}startDate>"}), frozenset({"<https://w3id.org/lod-talks/ns#Talk>"}))
    paths = _reads("?t ^schema:performer/schema:name|schema:about ?x . ?t schema:superEvent+ ?e "
                   "FILTER NOT EXISTS { ?e schema:location ?p }")
    assert paths.predicates == {f"<{SCHEMA}{p}>" for p in ("performer", "name", "about", "superEvent", "location")}
    assert not paths.everything and paths.classes == frozenset()
    # ?x a ?class reads every rdf:type triple, not only those of one class.
    assert _reads("?x a ?class").predicates == {RDF_TYPE}


def test_a_query_that_can_match_any_triple_reads_everything() -> None:
    assert _reads("?s ?p ?o").everything  # a variable predicate
    assert _reads("?s !schema:name ?o").everything  # a negated property set
    # A zero-length path between variables matches every node of the graph with itself ...
    assert _reads("?a schema:superEvent* ?b").everything
    assert _reads("?a (schema:superEvent|schema:about)? ?b").everything
    # ... unless a pattern that cannot match zero-length binds one of its ends.
    assert not _reads("?t schema:superEvent ?a . ?a schema:superEvent* ?b").everything
    assert not _reads("<http://x/a> schema:superEvent* ?b").everything
    assert reads_of(PREFIXES + "DESCRIBE ?s WHERE { ?s schema:name ?n }").everything


def _everything(_i: int, answer: Any, lines: Any) -> tuple[dict[str, Any], list[bytes]]:
    """What ``answer_lines`` keeps in these tests: every row of the answer and every line read."""
    return stored_answer(answer, shown=None), list(lines)


def test_the_lines_each_query_reads_wait_on_disk_and_are_gone_when_the_queries_are_answered(
        seed_site: BuildResult, tmp_path: Path) -> None:
    dump = tmp_path / "dump.nt"
    shutil.copyfile(seed_site.out / "dump.nt", dump)
    queries = [(q.text, reads_of(q.text)) for q in read_gallery()]
    seen: list[list[Path]] = []

    def keep(i: int, answer: Any, lines: Any) -> int:
        seen.append([p for p in tmp_path.iterdir() if p.name.startswith(".gallery-lines-")])
        return len(list(lines))

    counts = answer_lines(dump, queries, keep)
    assert all(len(folders) == 1 for folders in seen) and len(seen) == len(queries)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.nt"]
    assert counts == [len(lines) for _a, lines in answer_lines(dump, queries, _everything)]

    def fails(i: int, answer: Any, lines: Any) -> int:
        raise ValueError("keep failed")

    with pytest.raises(ValueError, match="keep failed"):
        answer_lines(dump, queries, fails)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.nt"]


def test_the_queries_are_answered_on_no_more_cores_than_they_are_given(
        seed_site: BuildResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside a rebuild's pages the gallery takes one core: its queries are answered in its own process."""
    import os

    from lod.publishing import gallery_reads
    from lod.publishing.pages import parallel
    dump = tmp_path / "dump.nt"
    shutil.copyfile(seed_site.out / "dump.nt", dump)
    queries = [(q.text, reads_of(q.text)) for q in read_gallery()]
    monkeypatch.setattr(gallery_reads, "PARALLEL_LINES", 1)  # as many workers as the machine affords
    monkeypatch.setattr(parallel, "affordable", lambda n: n)
    asked: list[int] = []
    real = parallel.fork_map

    def fork_map(fn: Any, args: Any, workers: int, parent_works: bool = True) -> Any:
        asked.append(workers)
        return real(fn, args, workers, parent_works)

    monkeypatch.setattr(parallel, "fork_map", fork_map)

    def where(i: int, answer: Any, lines: Any) -> tuple[int, dict[str, Any]]:
        return os.getpid(), stored_answer(answer, shown=None)

    one = answer_lines(dump, queries, where, cores=1)
    assert {pid for pid, _a in one} == {os.getpid()}
    spread = answer_lines(dump, queries, where)
    assert asked == [1, min(os.cpu_count() or 1, 8)] and [a for _p, a in spread] == [a for _p, a in one]


def test_every_query_answers_on_the_lines_it_reads_as_on_the_whole_graph(seed_site: BuildResult) -> None:
    queries = read_gallery()
    store = ox.Store()
    store.bulk_load(path=str(seed_site.out / "dump.nt"), format=ox.RdfFormat.N_TRIPLES)
    reads = [reads_of(q.text) for q in queries]
    assert not any(r.everything for r in reads)  # else this test would prove nothing about the read-sets
    narrow = answer_lines(seed_site.out / "dump.nt", [(q.text, r) for q, r in zip(queries, reads)], _everything)
    for q, (answer, _lines) in zip(queries, narrow):
        whole = stored_answer(run(store, q.text), shown=None)
        assert sorted(map(str, answer["rows"])) == sorted(map(str, whole["rows"])), q.name



def test_queries_answered_on_forked_workers_answer_as_in_one_process(seed_site: BuildResult,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import lod.publishing.gallery_reads as gallery_reads

    queries = [(q.text, reads_of(q.text)) for q in read_gallery()]
    alone = answer_lines(seed_site.out / "dump.nt", queries, _everything)
    monkeypatch.setattr(gallery_reads, "PARALLEL_LINES", 0)  # the seed data is far below it
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    forked = answer_lines(seed_site.out / "dump.nt", queries, _everything)
    assert forked == alone
    assert all(lines for _answer, lines in alone)  # else the comparison would not cover the lines read


def test_the_gallery_answers_in_one_process_when_a_forked_copy_would_not_fit(
        seed_site: BuildResult, monkeypatch: pytest.MonkeyPatch) -> None:
    import lod.publishing.gallery_reads as gallery_reads
    import lod.publishing.pages.parallel as parallel

    queries = [(q.text, reads_of(q.text)) for q in read_gallery()]
    monkeypatch.setattr(gallery_reads, "PARALLEL_LINES", 0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    asked: list[int] = []
    real = parallel.fork_map

    def fork_map(fn, items, workers, *args, **kw):  # type: ignore[no-untyped-def]
        asked.append(workers)
        return real(fn, items, workers, *args, **kw)

    monkeypatch.setattr(parallel, "fork_map", fork_map)
    answer_lines(seed_site.out / "dump.nt", queries, _everything)
    monkeypatch.setattr(parallel, "memory", lambda: (1 << 30, 4 << 30))  # 1 GB available, 4 GB here
    answer_lines(seed_site.out / "dump.nt", queries, _everything)
    assert asked == [2, 1]


TALK_TITLE = "title: The unreasonable effectiveness of mathematics in large scale deep learning"
TALK_ABSTRACT = "Recently, the theory of infinite-width neural networks"


def _rebuild_after(edit: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   file: str = "series/mml-2023.yaml") -> tuple[Path, dict[str, int]]:
    """Build the seed data, make *edit* (old text, new text) in *file*, rebuild; the site and what
    the rebuild's gallery stage reported. The rebuild's queries.html must be a full build's."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")
    data, site = tmp_path / "data", tmp_path / "site"
    shutil.copytree(SEED_DATA, data)
    build(data, site, BASE)
    series = data / file
    text = series.read_text(encoding="utf-8")
    assert edit[0] in text
    series.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    said: list[Event] = []
    build(data, site, BASE, progress=said.append)
    gallery = [dict(e.counts) for e in said if isinstance(e, Finished) and e.stage == "gallery"]
    assert any(isinstance(e, Finished) and e.stage == "publish" for e in said), "the rebuild was not incremental"
    full = build(data, tmp_path / "full", BASE, incremental=False)
    assert (site / "queries.html").read_bytes() == (full.out / "queries.html").read_bytes()
    return site, gallery[0]


def test_rebuild_after_an_edit_no_query_reads_keeps_every_answer_unrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An abstract is schema:description, which no gallery query reads.
    _site, gallery = _rebuild_after((TALK_ABSTRACT, "Lately, the theory of infinite-width neural networks"),
                                    tmp_path, monkeypatch)
    assert gallery == {"answered": 0, "reused": len(read_gallery())}


def test_rebuild_after_an_edit_that_changes_no_triple_reports_every_answer_kept(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # A comment changes the file, not a record: no resource is mapped again, no query runs.
    _site, gallery = _rebuild_after((TALK_TITLE, TALK_TITLE + "  # checked against the programme"),
                                    tmp_path, monkeypatch)
    assert gallery == {"answered": 0, "reused": len(read_gallery())}


def test_rebuild_after_an_edit_that_changes_an_answer_shows_the_new_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, gallery = _rebuild_after((TALK_TITLE, "title: Tensor programs, retitled"), tmp_path, monkeypatch)
    rows = gallery_tables(site)["talks-with-recordings"]
    assert rows[1][:3] == ["talk/2023-09-13-greg-yang", "Tensor programs, retitled", "Greg Yang"]
    # Five queries read schema:name, but three read only the names of what is a performer, a
    # superEvent or an affiliation, which a talk is not. austin-workshop still runs: its venue's
    # name is matched in a group of its own (after an OPTIONAL), which nothing there narrows.
    name = f"<{SCHEMA}name>"
    assert len([q for q in read_gallery() if name in reads_of(q.text).predicates]) == 5
    assert gallery == {"answered": 2, "reused": len(read_gallery()) - 2}


def test_rebuild_after_renaming_a_speaker_answers_again_the_queries_that_show_speakers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, gallery = _rebuild_after(("    given_name: Greg\n", "    given_name: Gregory\n"), tmp_path, monkeypatch,
                                   "people.yaml")
    rows = gallery_tables(site)["talks-with-recordings"]
    assert rows[1][:3] == ["talk/2023-09-13-greg-yang", TALK_TITLE.removeprefix("title: "), "Gregory Yang"]
    # talks-with-recordings, speakers-at-several-events and talks-by-affiliation read a performer's
    # name, austin-workshop any name; talks-per-event reads only the names of series and events.
    assert gallery == {"answered": 4, "reused": len(read_gallery()) - 4}


def test_a_rebuild_collects_the_segments_of_the_changed_lines_only(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The queries answered again keep the previous segments grown by the changed lines' (a
    # superset of the new graph's, all meets needs), not the segments of every line they read.
    import lod.publishing.gallery_narrow as narrow

    seen: list[int] = []
    collect_all = narrow.collect

    def counted(lines: Any, *args: Any, **kw: Any) -> Any:
        lines = list(lines)
        seen.append(len(lines))
        return collect_all(lines, *args, **kw)

    monkeypatch.setattr(narrow, "collect", counted)
    _site, gallery = _rebuild_after(("    given_name: Greg\n", "    given_name: Gregory\n"), tmp_path, monkeypatch,
                                    "people.yaml")
    assert gallery["answered"] == 4
    # The first build and the full one collected from all the lines each query read; the rebuild
    # only from the changed ones (the person's given name and name, each removed and added), once
    # for each of the six queries.
    n = len(read_gallery())
    assert len(seen) == 3 * n
    assert seen[n:2 * n] == [4] * n and min(seen[:n]) > 10


def test_a_kept_answer_holds_the_rows_the_page_shows_and_counts_them_all() -> None:
    store = ox.Store()
    store.bulk_load("".join(f"<http://x/t{i:03}> <{SCHEMA}name> \"talk {i}\" .\n" for i in range(150)).encode(),
                    format=ox.RdfFormat.N_TRIPLES)
    kept = stored_answer(run(store, PREFIXES + "SELECT ?t ?n WHERE { ?t schema:name ?n } ORDER BY ?t"))
    assert kept["count"] == 150 and len(kept["rows"]) == SHOWN_ROWS
    assert kept["rows"][0] == [["i", "http://x/t000"], ["l", "talk 0"]]


def test_a_changed_line_meets_a_pattern_only_where_its_subject_could_be_bound() -> None:
    base = "http://s/"
    speakers = PREFIXES + "SELECT ?n WHERE { ?t schema:performer ?p . ?p schema:name ?n }"
    shape = shape_of(speakers)
    data = [b"<http://s/talk/a> <http://schema.org/performer> <http://s/person/b> .\n",
            b"<http://s/person/b> <http://schema.org/name> \"B\" .\n",
            b"<http://s/talk/a> <http://schema.org/name> \"A\" .\n"]
    segments = collect(data, shape, base)
    talk_name = [b"<http://s/talk/a> <http://schema.org/name> \"A talk\" .\n"]
    person_name = [b"<http://s/person/c> <http://schema.org/name> \"C\" .\n"]
    assert not meets(shape, collect(talk_name, shape, base, segments), talk_name, base)
    assert meets(shape, collect(person_name, shape, base, segments), person_name, base)
    # A talk that becomes a performer: its segment joins the performers' objects, so its name meets.
    both = [b"<http://s/talk/x> <http://schema.org/performer> <http://s/talk/a> .\n"] + talk_name
    assert meets(shape, collect(both, shape, base, segments), both, base)
    # A plain string constant is compared by value.
    named = shape_of(PREFIXES + 'SELECT ?e WHERE { ?e schema:name "New York University" }')
    nyu = [b"<http://s/org/x> <http://schema.org/name> \"New York University\" .\n"]
    assert not meets(named, collect(talk_name, named, base), talk_name, base)
    assert meets(named, collect(nyu, named, base), nyu, base)
