"""lod.publishing.pages.dirty and render_some: after an edit, the pages and calendars said to be dirty are
every one whose bytes changed, few enough to be worth it, and rendering only them gives the
bytes of the full render."""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lod.publishing import feeds as feeds
from lod.model import records as R
from lod.model.kinds import TABLES
from lod.publishing.pages import render_site, render_some
from lod.publishing.pages.dirty import SITE, Affected, Key, affected
from lod.publishing.pages.probe import entry_key, touched_entries
from lod.publishing.pages.render import Renderer
from lod.publishing.pages.stage import PagesOutput
from lod.publishing.pages.search import BUCKET, shard_name, update_index
from lod.publishing.vevent_text import file_vevent_spans, vevent_spans
from lod.publishing.build import Prepared, prepare
from lod.model.serialize import Triple
from lod.synth import write_synth

from .conftest import SEED_DATA, TEST_BASE
from .edits import EDITS, Skip, apply_edit

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
ALWAYS = ("index.html", "robots.txt", "talks.ics", "search.html", "favicon.svg", "lod.js")
# and sitemap*.xml and search/search.js: rendered on every build; the search index's files when their talks changed


@dataclasses.dataclass
class Version:
    folder: Path
    p: Prepared
    out: PagesOutput

    @property
    def links(self) -> dict[Key, frozenset[Key]]:
        """What each page, calendar and VEVENT of the full render read."""
        return self.out.readsets


def _version(folder: Path) -> Version:
    p = prepare(folder, TEST_BASE)
    return Version(folder, p, render_site(p, now=NOW))


def dirty(old: Version, new: Prepared, changed: set[Key]) -> Affected:
    """``affected`` from *old*'s full render to the data of *new*, every description counted as one that can differ."""
    owners = set(old.p.descriptions) | set(new.descriptions)
    before = {(kind, rid): old.p.dataset.table(kind)[rid] for kind, rid in changed
              if kind in TABLES and rid in old.p.dataset.table(kind)}
    return affected(new, changed, owners, old.out.readsets, old.out.answers, before)


def _content(rec: R.Record) -> dict[str, Any]:
    """A record as the orchestrator compares it: every field (loc included) but the talks written inside it."""
    return {f.name: getattr(rec, f.name) for f in dataclasses.fields(rec) if f.name not in ("talks", "sessions")}


def changed_keys(old: R.Dataset, new: R.Dataset, old_root: Path, new_root: Path) -> set[Key]:
    """The records added, removed or modified between two Datasets (and SITE if the site block changed).

    The two versions are in different folders here, where an orchestrator has one: file
    names are compared relative to each folder.
    """
    def text(rec: Any, root: Path) -> str:
        return repr(rec).replace(str(root), "")

    a = {(k, r.id): text(_content(r), old_root) for k, r in old.all_records()}
    b = {(k, r.id): text(_content(r), new_root) for k, r in new.all_records()}
    out = {key for key in a.keys() ^ b.keys()}
    out |= {key for key in a.keys() & b.keys() if a[key] != b[key]}
    if text(old.site, old_root) != text(new.site, new_root):
        out.add(SITE)
    return out


def differing(old: PagesOutput, new: PagesOutput) -> set[str]:
    """The files whose bytes differ between two full renders (added and removed ones included)."""
    return {name for name in old.files.keys() | new.files.keys() if old.files.get(name) != new.files.get(name)}


def _always(name: str) -> bool:
    return name in ALWAYS or (name.startswith("sitemap") and name.endswith(".xml")) or name.startswith("search/")


def _search_index(name: str) -> bool:
    return name.startswith("search/") and name != "search/search.js"


def check_edit(base: Version, folder: Path, edit: str, seed: int) -> tuple[Version, Affected, str]:
    """Apply one edit to a copy of *base*, and check the dirty rule and render_some against full renders."""
    shutil.copytree(base.folder, folder)
    try:
        what = apply_edit(EDITS[edit], folder, random.Random(seed))
    except Skip:
        pytest.skip(f"the data has nothing {edit} applies to")
    new = _version(folder)
    changed = changed_keys(base.p.dataset, new.p.dataset, base.folder, folder)
    aff = dirty(base, new.p, changed)
    diff = differing(base.out, new.out)
    missed = sorted(name for name in diff if not _always(name)
                    and not (name.endswith(".html") and name.removesuffix(".html") in aff.paths)
                    and not (name.endswith(".ics") and name in aff.feeds))
    assert missed == [], f"{what}: changed {sorted(changed)}; differing files not said to be dirty: {missed}"

    some = render_some(new.p, aff.paths, aff.feeds, now=NOW, previous_talks_ics=base.out.files.get("talks.ics"),
                       cache=base.out.cache,  # the index and sitemap from the old render's parts
                       search=base.out.search, previous=base.out.files.get)  # the search index: its changed files
    assert some.cache == new.out.cache, what
    assert some.search == new.out.search, what
    wanted = {p + ".html" for p in aff.paths} | set(aff.feeds)
    expected = {name: data for name, data in new.out.files.items()
                if name in wanted or (_always(name) and not _search_index(name))}
    # The search index: every file that differs is made again, and maybe a few more (the same bytes) of the dirty talks.
    index = {name: data for name, data in some.files.items() if _search_index(name)}
    some_files = {name: data for name, data in some.files.items() if not _search_index(name)}
    assert {name for name in diff if _search_index(name) and name in new.out.files} <= index.keys(), what
    assert [name for name in index if index[name] != new.out.files.get(name)] == [], what
    assert len(index) <= 200, what
    assert sorted(name for name in new.out.files if _search_index(name)) == new.out.search.files
    # What a full build always makes but render_some found unchanged: the same as before, and not made.
    assert [name for name in some.kept if base.out.files.get(name) != new.out.files.get(name)] == [], what
    assert not set(some.kept) & some.files.keys()
    expected = {name: data for name, data in expected.items() if name not in some.kept}
    assert sorted(some_files) == sorted(expected), what
    assert [name for name in expected if some_files[name] != expected[name]] == [], what
    talk_pages = {p for p in aff.paths if p.startswith("talk/") and p + ".html" in new.out.files}
    assert some.google.gaps == {p: new.out.google.gaps[p] for p in talk_pages}
    assert sorted(w.focus for w in some.warnings) == sorted(w.focus for w in new.out.warnings
                                                           if w.focus.removeprefix(TEST_BASE) in talk_pages)
    return new, aff, what


# ---------------------------------------------------------------- synthetic data


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Version:
    folder = tmp_path_factory.mktemp("dirty-synth") / "data"
    write_synth(66, folder, seed=27)  # three seminar series and a workshop with sessions
    return _version(folder)


# Kinds of edit not in tests/test_incremental.py's default end-to-end set run here by default;
# every kind with -m heavy (the synthetic data has no source to remove from a record).
SYNTHETIC_DEFAULT = {"rename_person", "rename_organization", "rename_series", "talk_abstract", "talk_venue",
                     "talk_date", "talk_topics", "move_place", "person_affiliation", "retake_source"}
SYNTHETIC_NEVER = {"remove_source_ref"}


@pytest.mark.parametrize(("edit", "seed"), [
    (edit, n) if edit in SYNTHETIC_DEFAULT else pytest.param(edit, n, marks=pytest.mark.heavy)
    for n, edit in enumerate(sorted(EDITS), 1) if edit not in SYNTHETIC_NEVER])
def test_affected_covers_every_differing_file_synthetic(synthetic: Version, tmp_path: Path, edit: str,
                                                        seed: int) -> None:
    check_edit(synthetic, tmp_path / "data", edit, seed)


@pytest.mark.heavy
@pytest.mark.parametrize("n", range(300))
def test_affected_covers_every_differing_file_many_edits(synthetic: Version, seed: Version, tmp_path: Path,
                                                         n: int) -> None:
    """Every kind of edit with many random choices, on both data sets (-m heavy; 2 to 4 minutes)."""
    edit = sorted(EDITS)[n % len(EDITS)]
    check_edit(synthetic if n % 2 else seed, tmp_path / "data", edit, 1000 + n)


def test_affected_is_tight_for_a_talk_title(synthetic: Version, tmp_path: Path) -> None:
    new, aff, what = check_edit(synthetic, tmp_path / "data", "talk_title", 7)
    pages = sum(1 for name in new.out.files if name.endswith(".html")) - 1
    assert not aff.everything
    assert len(aff.paths) < 0.1 * pages, (what, sorted(aff.paths))
    tid = what.split(":")[0].removeprefix("talk ")
    talks = {p for p in aff.paths if p.startswith("talk/")}
    assert talks == {f"talk/{tid}"}, what  # no other talk's page
    assert {f"talk/{tid}.ics", } <= aff.feeds
    talk = new.p.dataset.talks[tid]
    for pid in talk.speakers:
        assert f"person/{pid}" in aff.paths and f"person/{pid}.ics" in aff.feeds


def test_affected_everything_when_the_site_block_changes(synthetic: Version) -> None:
    aff = dirty(synthetic, synthetic.p, {SITE})
    pages = {name.removesuffix(".html") for name in synthetic.out.files if name.endswith(".html")} - {"index", "search"}
    feeds = {name for name in synthetic.out.files if name.endswith(".ics")} - {"talks.ics"}
    assert aff.everything and pages <= aff.paths and feeds <= aff.feeds


def test_affected_nothing_when_nothing_changed(synthetic: Version) -> None:
    aff = dirty(synthetic, synthetic.p, set())
    assert (aff.everything, aff.paths, aff.feeds) == (False, set(), set())


def test_read_sets_key_every_page_and_calendar(synthetic: Version) -> None:
    links = synthetic.links
    pages = {name.removesuffix(".html") for name in synthetic.out.files if name.endswith(".html")} - {"index", "search"}
    assert {k[1] for k in links if k[0] == "html"} == pages
    feeds = {name for name in synthetic.out.files if name.endswith(".ics")} - {"talks.ics"}
    # and the calendars that could exist (a person with no dated talk has none): they read whether they do
    assert feeds <= {k[1] for k in links if k[0] == "calendar"}
    dated = {t.id for t in synthetic.p.dataset.talks.values() if t.start_at is not None}
    assert {k[1] for k in links if k[0] == "vevent"} == dated


# ---------------------------------------------------------------- the repository's data


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Version:
    folder = tmp_path_factory.mktemp("dirty-seed") / "data"
    shutil.copytree(SEED_DATA, folder)
    return _version(folder)


# On the real data a few kinds by default (the synthetic test runs every kind); all with -m heavy.
SEED_DEFAULT = {"talk_title", "rename_person", "move_place", "rename_event", "retake_source"}


@pytest.mark.parametrize("edit", [e if e in SEED_DEFAULT else pytest.param(e, marks=pytest.mark.heavy)
                                  for e in sorted(EDITS)])
def test_affected_covers_every_differing_file_seed_data(seed: Version, tmp_path: Path, edit: str) -> None:
    check_edit(seed, tmp_path / "data", edit, 11)


# ---------------------------------------------------------------- render_some


class LazyDescriptions(Mapping[str, list[Triple]]):
    """Descriptions computed on first access (here: taken from a full grouping), counting the owners looked up."""

    def __init__(self, full: dict[str, list[Triple]]) -> None:
        self._full = full
        self.computed: set[str] = set()

    def __getitem__(self, owner: str) -> list[Triple]:
        group = self._full[owner]
        self.computed.add(owner)
        return group

    def __iter__(self) -> Iterator[str]:
        return iter(self._full)

    def __len__(self) -> int:
        return len(self._full)


class _NoTriples(list[Triple]):
    def __iter__(self) -> Iterator[Triple]:
        raise AssertionError("render_some read p.data")

    def __len__(self) -> int:
        raise AssertionError("render_some read p.data")


def test_render_some_reads_only_lazy_descriptions(synthetic: Version) -> None:
    p = synthetic.p
    lazy = LazyDescriptions(p.descriptions)
    q = Prepared(p.dataset, p.minter, _NoTriples(), p.report)
    q.__dict__["descriptions"] = lazy
    tid = sorted(p.dataset.talks)[0]
    person = p.dataset.talks[tid].speakers[0]
    out = render_some(q, [f"talk/{tid}", f"person/{person}"], [f"talk/{tid}.ics"], now=NOW)
    for name in ("index.html", "robots.txt", "sitemap.xml", "talks.ics", f"talk/{tid}.html",
                 f"person/{person}.html", f"talk/{tid}.ics"):
        assert out.files[name] == synthetic.out.files[name], name
    assert len(out.files) == 3 + sum(1 for name in out.files if _always(name))
    assert len(lazy.computed) < 0.2 * len(lazy), "render_some looked up most descriptions"
    assert "triples" not in q.__dict__ and "graph" not in q.__dict__


def test_render_some_everything_equals_render_site(synthetic: Version) -> None:
    names = synthetic.out.files
    paths = {n.removesuffix(".html") for n in names if n.endswith(".html") and n != "index.html"}
    feeds = {n for n in names if n.endswith(".ics")}
    assert render_some(synthetic.p, paths, feeds, now=NOW).files == names


def test_render_some_hands_each_page_to_emit_instead_of_holding_it(synthetic: Version) -> None:
    # A rebuild stages each slice's pages as it comes (pipeline: emit=output.put), not all at the end.
    names = synthetic.out.files
    paths = {n.removesuffix(".html") for n in names if n.endswith(".html") and n != "index.html"}
    feeds = {n for n in names if n.endswith(".ics")}
    got: dict[str, bytes] = {}
    out = render_some(synthetic.p, paths, feeds, now=NOW, emit=got.__setitem__)
    pages = {name: data for name, data in names.items() if name.endswith(".html") and name != "search.html"}
    assert got == pages and out.emitted == set(pages)
    assert out.files == {name: data for name, data in names.items() if name not in pages}


def test_render_some_leaves_out_what_does_not_exist(synthetic: Version) -> None:
    out = render_some(synthetic.p, ["talk/no-such-talk", "topic/no-such-topic"], ["person/nobody.ics"], now=NOW)
    assert sorted(out.files) == sorted(n for n in synthetic.out.files if _always(n))


def vevents_of(ics: bytes) -> dict[str, bytes]:
    return {uid: ics[start:stop] for uid, start, stop in vevent_spans(ics)}


def test_the_vevents_of_talks_ics_are_found_where_they_are(synthetic: Version) -> None:
    p = synthetic.p
    dated = [t for t in p.dataset.talks.values() if t.start_at is not None]
    assert vevents_of(synthetic.out.files["talks.ics"]) == {t.id: feeds.vevent_ical(p, t) for t in dated}
    long = dataclasses.replace(dated[0], id="a-talk-whose-id-is-long-enough-to-fold-its-uid-line-" + "x" * 40)
    event = feeds.vevent_ical(p, long)
    assert b"\r\n " in event.split(b"UID:", 1)[1].split(b"DTSTART", 1)[0]  # folded
    assert vevents_of(b"BEGIN:VCALENDAR\r\n" + event + b"END:VCALENDAR\r\n") == {long.id: event}
    with pytest.raises(ValueError):  # a VEVENT without its end
        vevent_spans(b"BEGIN:VCALENDAR\r\n" + event[:-20])


@pytest.mark.parametrize("chunk", [7, 100, 4096, 1 << 24])
def test_the_vevents_of_a_calendar_file_read_a_chunk_at_a_time_are_those_of_its_bytes(
        synthetic: Version, tmp_path: Path, chunk: int) -> None:
    ics = synthetic.out.files["talks.ics"]
    path = tmp_path / "talks.ics"
    path.write_bytes(ics)
    with open(path, "rb") as f:
        assert file_vevent_spans(f, chunk) == (vevent_spans(ics), len(ics))
    path.write_bytes(ics[:ics.rindex(b"END:VEVENT")])  # its last VEVENT without its end
    with open(path, "rb") as f, pytest.raises(ValueError, match=r"no b'END:VEVENT\\r\\n' after byte \d+"):
        file_vevent_spans(f, chunk)


def test_the_read_set_of_a_talk_page_names_what_it_shows(seed: Version) -> None:
    ds = seed.p.dataset
    tid = "2023-10-12-neel-nanda"
    talk = ds.talks[tid]
    links = seed.links[("html", f"talk/{tid}")]
    assert ("series", "mml-2023") in links
    assert {("person", pid) for pid in talk.speakers} <= links
    assert {("organization", o) for pid in talk.speakers for o in ds.people[pid].affiliations} <= links
    place = ds.places[talk.venue or ""]
    assert ("place", place.id) in links and ("place", place.contained_in) in links
    assert {("source", s) for s in talk.sources} <= links
    assert ("talk", "2023-09-13-greg-yang") not in links  # another talk of the series
    assert ("vevent", tid) in seed.links[("calendar", f"talk/{tid}.ics")]
    calendar = seed.links[("vevent", tid)]
    # The VEVENT's DESCRIPTION names the speakers with their organisations and the series.
    assert {("talk", tid), ("series", "mml-2023"), *{("person", pid) for pid in talk.speakers}} <= calendar
    assert ("talk", "2023-09-13-greg-yang") not in calendar


def test_affected_renaming_an_organisation_renders_the_calendars_naming_it(synthetic: Version) -> None:
    ds = synthetic.p.dataset
    oid = next(o.id for o in ds.organizations.values() if o.parent)
    aff = dirty(synthetic, synthetic.p, {("organization", oid)})
    assert f"org/{oid}" in aff.paths and f"org/{ds.organizations[oid].parent}" in aff.paths
    # The talk pages name their speakers' organisations and their organisers: those talks, no others.
    shows = {f"talk/{t.id}" for t in ds.talks.values()
             if oid in t.organizers or any(oid in ds.people[pid].affiliations for pid in [*t.speakers, *t.coauthors])}
    assert shows and {p for p in aff.paths if p.startswith("talk/")} == shows
    # A VEVENT names its speakers' and co-authors' organisations (not the organisers'): their calendars.
    named = {t.id for t in ds.talks.values() if t.start_at is not None
             and any(oid in ds.people[pid].affiliations for pid in [*t.speakers, *t.coauthors])}
    assert {f"talk/{tid}.ics" for tid in named} <= aff.feeds
    assert all(not f.startswith("talk/") or f.removeprefix("talk/").removesuffix(".ics") in named for f in aff.feeds)


def test_a_talk_added_changes_only_the_search_files_of_the_talks_of_its_day(synthetic: Version, tmp_path: Path) -> None:
    """Talk numbers are a function of the talk's day: the rest of the archive keeps its numbers,
    so only the files holding a word, the documents or a filter of that day's talks change."""
    folder = tmp_path / "data"
    shutil.copytree(synthetic.folder, folder)
    apply_edit(EDITS["add_talk_to_series"], folder, random.Random(5))
    new = _version(folder)
    old_state, new_state = synthetic.out.search, new.out.search
    assert old_state is not None and new_state is not None
    [added] = new_state.talks.keys() - old_state.talks.keys()
    day = new_state.talks[added].day
    allowed = {"search/meta.js"}
    for state in (old_state, new_state):
        for tid, c in state.talks.items():
            if c.day == day:
                allowed.update(f"search/{shard_name(w)}.js" for w in c.words.split())
                allowed.add(f"search/d-{state.numbers[tid] // BUCKET}.js")
                allowed.update(f"search/f-{facet}-{value}.js" for facet, value, _label in c.facets)
    index = [name for name in differing(synthetic.out, new.out) if _search_index(name)]
    assert index and sorted(set(index) - allowed) == []
    assert {tid: n for tid, n in new_state.numbers.items() if new_state.talks[tid].day != day} == \
        {tid: n for tid, n in old_state.numbers.items() if old_state.talks[tid].day != day}


def test_a_talk_edited_off_the_home_page_leaves_the_home_page_and_sitemap_unmade(synthetic: Version,
                                                                                 tmp_path: Path) -> None:
    """index.html shows the talks around the build's day only, and the sitemap only dates:
    editing another talk's title makes neither again (talks.ics, which holds it, is)."""
    assert synthetic.out.cache is not None and synthetic.out.cache.shown is not None
    for seed in range(40):
        folder = tmp_path / f"data-{seed}"
        shutil.copytree(synthetic.folder, folder)
        what = apply_edit(EDITS["talk_title"], folder, random.Random(seed))
        if what.split(":")[0].removeprefix("talk ") not in synthetic.out.cache.shown[1]:
            break
    else:
        pytest.fail("every edited talk was on the home page")
    new = _version(folder)
    aff = dirty(synthetic, new.p, changed_keys(synthetic.p.dataset, new.p.dataset, synthetic.folder, folder))
    some = render_some(new.p, aff.paths, aff.feeds, now=NOW, previous_talks_ics=synthetic.out.files["talks.ics"],
                       cache=synthetic.out.cache, search=synthetic.out.search, previous=synthetic.out.files.get)
    assert some.kept == ["index.html", "sitemap.xml"], what
    assert some.files["talks.ics"] == new.out.files["talks.ics"] != synthetic.out.files["talks.ics"], what
    assert new.out.files["index.html"] == synthetic.out.files["index.html"], what



def test_a_title_edit_remakes_only_the_search_files_of_the_words_that_changed(synthetic: Version,
                                                                               tmp_path: Path) -> None:
    """A talk that keeps its number changes the words files of the words it gained or lost, and
    its documents file; not the files of its other words, nor its facets' (their bytes are the same)."""
    folder = tmp_path / "data"
    shutil.copytree(synthetic.folder, folder)
    what = apply_edit(EDITS["talk_title"], folder, random.Random(3))
    tid = what.split()[1].rstrip(":")
    new = _version(folder)
    old_state, new_state = synthetic.out.search, new.out.search
    assert old_state is not None and new_state is not None
    assert old_state.numbers[tid] == new_state.numbers[tid], what
    was, now = set(old_state.talks[tid].words.split()), set(new_state.talks[tid].words.split())
    assert was != now and len(was & now) > 3, what
    h = Renderer(new.p, NOW).helpers("")
    files, state = update_index(h, old_state, {tid}, synthetic.out.files.get)
    assert state == new_state and all(files[name] == new.out.files[name] for name in files)
    assert sorted(files) == sorted({f"search/{shard_name(w)}.js" for w in was ^ now}
                                   | {f"search/d-{new_state.numbers[tid] // BUCKET}.js"}), what

def test_search_index_update_without_the_previous_files_makes_the_same_files(synthetic: Version,
                                                                             tmp_path: Path) -> None:
    """A words file the rebuild cannot read (deleted, damaged) is made again from every talk's words."""
    folder = tmp_path / "data"
    shutil.copytree(synthetic.folder, folder)
    apply_edit(EDITS["talk_title"], folder, random.Random(3))
    new = _version(folder)
    assert synthetic.out.search is not None
    h = Renderer(new.p, NOW).helpers("")
    ids = set(new.p.dataset.talks)
    read = update_index(h, synthetic.out.search, ids, synthetic.out.files.get)
    damaged = update_index(h, synthetic.out.search, ids, lambda name: b"lodSearch.words(" if "t-" in name else None)
    assert read == damaged and read[1] == new.out.search
    assert read[0] and all(read[0][name] == new.out.files[name] for name in read[0])


def test_a_rebuild_evaluates_again_only_the_queries_whose_recorded_reads_changed(synthetic: Version,
                                                                                 tmp_path: Path) -> None:
    """A query that read records by id and derived entries by key only (``pages/probe.py``) is evaluated
    again only if one of them changed; a wide one always. check_edit proves the pages are still all those
    that differ."""
    new, aff, what = check_edit(synthetic, tmp_path / "data", "talk_title", 11)
    tid = what.split()[1].rstrip(":")
    rows = synthetic.links
    local = {k for k in rows if k[0].startswith("q:")}  # the queries that read records and entries only
    assert {("q:feed", f"talk\x1e{tid}"), ("q:ancestors", f"talk\x1e{tid}")} <= local
    # the entries the talk is in, before and after: its series' or session's children, its speakers' roles …
    entries = touched_entries(new.p.dataset.site, new.p.minter,
                              [("talk", synthetic.p.dataset.talks[tid]), ("talk", new.p.dataset.talks[tid])])
    talk = new.p.dataset.talks[tid]
    assert {entry_key("roles", pid) for pid in talk.speakers} <= entries
    assert entry_key("children", talk.parent or ("", "")) in entries
    touching = {k for k in local if ("talk", tid) in rows[k] or not entries.isdisjoint(rows[k])}
    assert len(local) > 100 and local & aff.reads.keys() == touching  # those that read the edited talk or its entries
    assert {("q:person_talks", pid) for pid in talk.speakers} <= touching
    # a person's talks are read by a few pages: those of the other people are not evaluated again
    others = {k for k in local if k[0] == "q:person_talks"} - touching
    assert others and not others & aff.reads.keys()
