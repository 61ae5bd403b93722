"""Listings that stay small (``lod.publishing.pages.listing``): the archive pages per year and long listings cut
into pages, and an edit renders again only the pages whose slice it touches, with the bytes of a
full render. The page size is made small here so that the small synthetic data has long listings."""

from __future__ import annotations

import os
import re
import random
import shutil
import time
from datetime import UTC, datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from lod.publishing.pages import listing as L
from lod.publishing.pages.render import Renderer
from lod.progress import Finished
from lod.publishing.build import build
from lod.synth import write_synth

from .edits import EDITS, Skip, apply_edit
from .test_incremental import BASE, EPOCH, Run, _same_as_full
from .test_pages_dirty import Version, _version, check_edit

SIZE = 3  # items per listing page in these tests


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "PAGE_SIZE", SIZE)
    monkeypatch.setattr(L, "HOME_UPCOMING", SIZE)
    monkeypatch.setattr(L, "HOME_RECENT", SIZE)
    monkeypatch.setattr(L, "HOME_LISTED", SIZE)


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Version]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(L, "PAGE_SIZE", SIZE)
        mp.setattr(L, "HOME_UPCOMING", SIZE)
        mp.setattr(L, "HOME_RECENT", SIZE)
        mp.setattr(L, "HOME_LISTED", SIZE)
        folder = tmp_path_factory.mktemp("listing-synth") / "data"
        write_synth(66, folder, seed=27)  # talks over several years, one source for every record
        yield _version(folder)


def _html(v: Version, path: str) -> str:
    return v.out.files[path + ".html"].decode("utf-8")


def test_a_long_listing_is_cut_into_pages_linked_by_rel_prev_and_next(paged: Version) -> None:
    sid = next(iter(paged.p.dataset.sources))
    n = L.page_count(len(paged.p.site_index.by_source[sid]))
    assert n > 2
    first, second, last = _html(paged, f"source/{sid}"), _html(paged, f"source/{sid}/page-2"), \
        _html(paged, f"source/{sid}/page-{n}")
    assert f'<link rel="next" href="{BASE}source/{sid}/page-2.html">' in first and 'rel="prev"' not in first
    assert f'<link rel="prev" href="{BASE}source/{sid}.html">' in second
    assert f'<link rel="next" href="{BASE}source/{sid}/page-3.html">' in second
    assert 'rel="next"' not in last and f"source/{sid}/page-{n + 1}.html" not in paged.out.files
    assert f"(source document taken 1 January 2025) (page 2 of {n}) ·" in second
    assert f'<link rel="canonical" href="{BASE}source/{sid}/page-2.html">' in second
    assert f'href="../../source/{sid}.html" rel="prev">Previous page</a> · Page 2 of {n} · ' in second
    assert second.count('<li><span class="meta">') == SIZE


def test_the_home_page_shows_the_recent_talks_and_links_every_year(paged: Version) -> None:
    home = _html(paged, "index")
    years = sorted(paged.p.site_index.years)
    assert len(years) > 2
    for year in years:
        assert f'<a href="talks/{year}.html">{year}</a>' in home
        assert f"talks/{year}.html" in paged.out.files
    dated = sum(len(ts) for ts in paged.p.site_index.years.values())
    assert SIZE <= home.count("data-end=") <= 2 * SIZE < dated  # the most recent past ones, and any upcoming


def test_every_listing_page_is_in_the_sitemap_with_a_unique_title(paged: Version) -> None:
    sitemap = paged.out.files["sitemap.xml"].decode("utf-8")
    titles: dict[str, list[str]] = {}
    for name, data in paged.out.files.items():
        if name.endswith(".html") and name not in ("search.html", "queries.html"):
            assert f"<loc>{BASE}{name}</loc>" in sitemap, name
            title = re.search(r"<title>(.*?)</title>", data.decode("utf-8")).group(1)  # type: ignore[union-attr]
            titles.setdefault(title, []).append(name)
    listing = [name for names in titles.values() for name in names if "/page-" in name or name.startswith("talks/")]
    assert len(listing) > 50
    # (the synthetic data repeats some talk titles on one day; no listing page shares its title)
    assert [names for names in titles.values() if len(names) > 1 and set(names) & set(listing)] == []


# Each kind of edit against the small pages; those that move items between slices by default.
LISTING_DEFAULT = {"talk_title", "talk_date", "talk_undate", "talk_topics", "add_talk_to_series", "delete_talk",
                   "add_source_ref", "talk_venue", "move_place", "person_affiliation", "rename_person"}


@pytest.mark.parametrize(("edit", "seed"), [
    (edit, n) if edit in LISTING_DEFAULT else pytest.param(edit, n, marks=pytest.mark.heavy)
    for n, edit in enumerate(sorted(EDITS), 1) if edit != "remove_source_ref"])
def test_affected_covers_every_differing_listing_page(paged: Version, tmp_path: Path, edit: str, seed: int) -> None:
    check_edit(paged, tmp_path / "data", edit, seed)


def test_a_talk_title_edit_renders_again_only_the_pages_showing_it(paged: Version, tmp_path: Path) -> None:
    new, aff, what = check_edit(paged, tmp_path / "data", "talk_title", 7)
    tid = re.search(r"talk/([^ ]+?)\.yaml|talk ([\w-]+)", what)
    listed = {p for p in aff.paths if L.owner_key(L.split_page(p)[0]) is not None}
    # Of each listing, only the page holding the talk: its year's, its source's, its topics', its
    # place's; of an organisation's people, the page of each of its speakers there.
    owners = [L.split_page(p)[0] for p in listed if not p.startswith("org/")]
    assert len(owners) == len(set(owners)), sorted(listed)
    orgs = [L.split_page(p)[0] for p in listed if p.startswith("org/")]
    assert all(orgs.count(o) <= 2 for o in orgs), sorted(listed)  # the synthetic talks have two speakers at most
    assert len([p for p in listed if p.startswith("talks/")]) == 1, sorted(listed)
    # No directory shows a talk's title: a series' item shows its talks' span and number only.
    assert [p for p in listed if L.split_page(p)[0] in L.DIRECTORIES] == [], sorted(listed)
    pages = sum(1 for name in new.out.files if name.endswith(".html"))
    assert len(aff.paths) <= 15 < pages // 4, (what, tid, sorted(aff.paths))


def test_rebuild_after_a_talk_edit_with_small_pages_equals_a_full_build(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.chdir(tmp_path)
    write_synth(40, Path("data"))
    an_hour_ago = time.time() - 3600
    for path in Path("data").rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    build(Path("data"), Path("site"), BASE)
    for edit in ("talk_title", "talk_date", "add_talk_to_series"):
        apply_edit(EDITS[edit], Path("data"), random.Random(edit))
        run = Run()
        result = run(Path("data"), Path("site"))
        assert run.incremental, run.said
        again = next(dict(e.counts) for e in run.said if isinstance(e, Finished) and e.stage == "pages")
        if edit == "talk_title":  # its page, its speakers', series', year's, one page of the source's …
            assert 0 < again["pages_again"] <= 15, again
        _same_as_full(Path("data"), Path("site"), result, tmp_path)
    shutil.rmtree(tmp_path / "fresh", ignore_errors=True)


def test_a_listing_size_is_the_number_of_its_items(paged: Version) -> None:
    """``more_pages`` counts each listing's pages from its size, without putting the items in order."""
    idx = paged.p.site_index
    keys = list(L.owners(idx))
    assert {k[0] for k in keys} >= {"source", "organization", "place", "year"}
    assert [L.size(idx, k) for k in keys] == [len(L.items(idx, k)) for k in keys]
    assert any(L.size(idx, k) > L.PAGE_SIZE for k in keys)


def test_a_places_events_and_sessions_are_cut_into_pages_beside_its_talks(paged: Version,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "PAGE_SIZE", 1)  # the small synthetic data has two at a place at most
    idx = paged.p.site_index
    places = [pid for pid in paged.p.dataset.places if len(L.others_at(idx, pid)) > len(L.items(idx, ("place", pid)))]
    assert places, "the synthetic data has no place with more events and sessions than talks"
    r = Renderer(paged.p, datetime(2025, 1, 1, tzinfo=UTC))
    for pid in places:
        others, talks = L.others_at(idx, pid), L.items(idx, ("place", pid))
        n = L.page_total(idx, ("place", pid))
        assert n == len(others) > len(talks)
        assert {f"place/{pid}/page-{k}" for k in range(2, n + 1)} <= set(L.more_pages(idx))
        shown: list[str] = []
        for k in range(1, n + 1):
            html = r.page(L.page_path(f"place/{pid}", k)).html.decode("utf-8")
            section = html[html.index('id="events">Events and sessions here</h2>'):]
            shown += re.findall(r'<a href="(?:\.\./)*((?:event|session)/[^"]+)\.html"', section[:section.index("</ul>")])
            assert f"Page {k} of {n}" in html
            if k > len(talks):
                assert "No talks on this page." in html
        assert shown == [f"{L.KIND_PATHS[kind]}/{rec.id}" for kind, rec in others]


def _directory_links(v: Version, name: str) -> list[str]:
    """The links of every item of the directory *name*, page after page."""
    n = L.page_count(L.size(v.p.site_index, (L.DIRECTORY, name)))
    assert f"{name}/page-{n + 1}.html" not in v.out.files
    links: list[str] = []
    for k in range(1, n + 1):
        html = _html(v, L.page_path(name, k))
        main = html[html.index('<h2 id="list">'):]
        main = main[:main.index("</ul>")] if "</ul>" in main else ""
        links += re.findall(r'<a (?:class="item-title" )?href="(?:\.\./)?([^"]+)\.html"', main)
    return links


def test_every_record_is_in_its_kinds_directory_once_in_order(paged: Version) -> None:
    ds = paged.p.dataset
    people = _directory_links(paged, "people")
    assert len(people) > 2 * SIZE  # several pages
    by_name = sorted(ds.people.values(), key=lambda r: (r.family_name or r.display_name, r.display_name, r.id))
    assert people == [f"person/{r.id}" for r in by_name]
    assert sorted(_directory_links(paged, "organizations")) == sorted(f"org/{o}" for o in ds.organizations)
    assert sorted(_directory_links(paged, "places")) == sorted(f"place/{p}" for p in ds.places)
    assert sorted(_directory_links(paged, "topics")) == sorted(paged.p.site_index.topics)
    assert sorted(_directory_links(paged, "series-and-events")) == sorted(
        [f"series/{s}" for s in ds.series] + [f"event/{e}" for e in ds.events])
    second = _html(paged, "people/page-2")
    assert f'<link rel="prev" href="{BASE}people.html">' in second
    assert f"<title>People (page 2 of {L.page_count(len(people))}) ·" in second


def test_the_home_page_lists_a_kind_up_to_home_listed_and_always_links_its_directory(paged: Version) -> None:
    home = _html(paged, "index")
    n = len(paged.p.dataset.people)
    assert n > L.HOME_LISTED
    assert f'<a href="people.html">All people, by name ({n})</a>' in home
    assert 'href="person/' not in home.split('id="people"')[1].split("</section>")[0]
    # The seed data has fewer people than HOME_LISTED: its home page lists them, and links the directory.
    assert L.HOME_LISTED == SIZE


def test_no_directory_name_is_a_kind_path_or_the_years_path() -> None:
    from lod.model.iri import KIND_PATHS

    assert not set(L.DIRECTORIES) & (set(KIND_PATHS.values()) | {L.YEARS})
    assert all("/" not in name and L.owner_key(name) == (L.DIRECTORY, name) for name in L.DIRECTORIES)
    assert L.split_page("people/page-3") == ("people", 3) and L.split_page("person/page-3") == ("person/page-3", 1)


def test_what_an_organisation_organised_is_on_the_first_page_of_its_people_only(paged: Version) -> None:
    idx = paged.p.site_index
    orgs = [oid for oid in paged.p.dataset.organizations
            if idx.roles.get(oid) and L.page_count(L.size(idx, ("organization", oid))) > 1]
    assert orgs, "the synthetic data has no organiser with several pages of people"
    for oid in orgs:
        assert "Organiser of" in _html(paged, f"org/{oid}")
        assert "Organiser of" not in _html(paged, f"org/{oid}/page-2")


def test_the_talks_without_a_date_have_an_archive_page_and_the_home_page_lists_few_of_them(
        tmp_path: Path) -> None:
    folder = tmp_path / "data"
    write_synth(30, folder, seed=5)
    for n in range(SIZE + 2):  # more than HOME_LISTED (SIZE here)
        apply_edit(EDITS["talk_undate"], folder, random.Random(n))
    v = _version(folder)
    undated = [t.id for t in v.p.dataset.talks.values() if t.start_at is None]
    assert len(undated) > L.HOME_LISTED
    home = _html(v, "index")
    section = home[home.index('id="undated"'):]
    section = section[:section.index("</section>")]
    assert f'<a href="talks/undated.html">All talks without a date ({len(undated)})</a>' in section
    assert "talk/" not in section  # only the link
    listed = [re.findall(r'href="(?:\.\./)+talk/([^"]+)\.html"', _html(v, L.page_path("talks/undated", k)))
              for k in range(1, L.page_count(len(undated)) + 1)]
    assert sorted(sum(listed, [])) == sorted(undated) and len(listed) > 1
    assert "<title>Talks without a date (page 1 of" in _html(v, "talks/undated")
    assert 'href="talks/undated.html">undated' not in home  # not among the years


def _home_talks_by_sorting(talks: list[tuple[tuple[object, str | None], bytes]], today: str) -> tuple[object, ...]:
    """What the home page showed when it sorted every talk: the definition ``L.home_talks`` keeps."""
    ordered = sorted(talks, key=lambda v: v[0])
    numbered = list(enumerate(v for v in ordered if v[0][1] is not None))
    soon = [(n, v) for n, v in numbered if v[0][1] >= today][:L.HOME_UPCOMING]
    recent = [(n, v) for n, v in reversed(numbered) if v[0][1] < today][:L.HOME_RECENT]
    return soon, recent, [v for v in ordered if v[0][1] is None]


@pytest.mark.parametrize("seed", range(6))
def test_home_page_talks_are_chosen_and_placed_as_if_every_talk_were_sorted(seed: int) -> None:
    rng = random.Random(seed)
    talks = []
    for i in range(rng.choice([0, 3, 60, 400])):
        start = None if rng.random() < 0.1 else f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        # A talk's last day is on or after its start: the order is by start, the choice by last day.
        last = None if start is None else start[:8] + f"{min(28, int(start[8:]) + rng.choice([0, 0, 3])):02d}"
        key = (1, "", "", f"t{i}") if start is None else (0, start, "~", f"t{i}")
        talks.append(((key, last), f"<li>{i}</li>".encode()))
    rng.shuffle(talks)
    today = f"2024-{rng.randint(1, 12):02d}-15"
    assert L.home_talks(iter(talks), today) == _home_talks_by_sorting(talks, today)
