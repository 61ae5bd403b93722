"""The pages' dependencies are recorded while they render (lod.publishing.pages.reads), not declared:
a new kind of read is followed with no rule added, a query whose answer is the same dirties
nothing, and a rebuild whose recording is broken leaves stale pages (so the byte-identity
tests do depend on the recording)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from lod.publishing.pages import render_some
from lod.publishing.pages.reads import RECORDER, IndexView, TableView, digest, evaluate, qkey
from lod.publishing.pages.render import Page, Renderer
from lod.synth import write_synth

from .edits import EDITS, Skip, apply_edit
from .test_incremental import EPOCH, Run, _same_as_full
from .test_pages_dirty import NOW, Version, _version, changed_keys, dirty


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("readsets-synth") / "data"
    write_synth(40, folder, seed=5)
    return folder


def test_a_new_kind_of_read_is_followed_without_a_rule(synthetic: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Talk pages made to show one organisation's name (read through the view, as any
    template reads): renaming it dirties every talk page, which no rule says."""
    new_folder = tmp_path / "new"
    shutil.copytree(synthetic, new_folder)
    what = apply_edit(EDITS["rename_organization"], new_folder, random.Random(3))
    oid = what.split(":")[0].removeprefix("rename organization ")
    page = Renderer.page

    def shows_the_organisation(self: Renderer, path: str) -> Page:
        out = page(self, path)
        if path.startswith("talk/"):
            name = self.p.dataset.organizations[oid].name
            out.html += f"<!-- {name} -->".encode()
        return out

    monkeypatch.setattr(Renderer, "page", shows_the_organisation)
    old, new = _version(synthetic), _version(new_folder)
    aff = dirty(old, new.p, changed_keys(old.p.dataset, new.p.dataset, synthetic, new_folder))
    talks = {name.removesuffix(".html") for name in new.out.files if name.startswith("talk/") and name.endswith(".html")}
    assert talks <= aff.paths, what
    some = render_some(new.p, aff.paths, aff.feeds, now=NOW)
    assert [t for t in talks if some.files[t + ".html"] != new.out.files[t + ".html"]] == []
    assert all(f"<!-- {new.p.dataset.organizations[oid].name} -->".encode() in some.files[t + ".html"] for t in talks)


def test_the_same_edit_without_that_read_leaves_the_other_talk_pages_clean(synthetic: Path, tmp_path: Path) -> None:
    new_folder = tmp_path / "new"
    shutil.copytree(synthetic, new_folder)
    what = apply_edit(EDITS["rename_organization"], new_folder, random.Random(3))
    old, new = _version(synthetic), _version(new_folder)
    aff = dirty(old, new.p, changed_keys(old.p.dataset, new.p.dataset, synthetic, new_folder))
    talks = {name.removesuffix(".html") for name in new.out.files if name.startswith("talk/") and name.endswith(".html")}
    assert not talks <= aff.paths, what


def test_a_query_is_changed_only_when_its_answer_differs(synthetic: Path, tmp_path: Path) -> None:
    """Adding a talk to a series changes the answer of that series' talks, not another's."""
    new_folder = tmp_path / "new"
    shutil.copytree(synthetic, new_folder)
    what = apply_edit(EDITS["add_talk_to_series"], new_folder, random.Random(1))
    old, new = _version(synthetic), _version(new_folder)
    added = what.split()[2]
    series = new.p.site_index.ancestors("talk", new.p.dataset.talks[added])[-1][1].id
    for sid in old.p.dataset.series:
        key = qkey("talks_under", "series", sid)
        before, after = digest(evaluate(old.p.site_index, key)), digest(evaluate(new.p.site_index, key))
        assert (before != after) == (sid == series), (sid, what)
    aff = dirty(old, new.p, changed_keys(old.p.dataset, new.p.dataset, synthetic, new_folder))
    assert f"series/{series}" in aff.paths
    others = {f"series/{sid}" for sid in old.p.dataset.series if sid != series}
    assert not others & aff.paths


def test_a_page_depends_on_what_its_kept_parts_read(synthetic: Path) -> None:
    """A talk's list item is made once and reused: every page using it counts its reads."""
    version: Version = _version(synthetic)
    tid, talk = next((tid, t) for tid, t in version.p.dataset.talks.items() if t.speakers)
    for pid in talk.speakers:
        person = version.links[("html", f"person/{pid}")]
        assert ("talk", tid) in person and ("person", pid) in person


def test_views_note_misses_and_queries() -> None:
    from lod.model import records as R

    with RECORDER.node() as reads:
        TableView("person", {}).get("nobody")
    assert reads == {("person", "nobody")}

    class _Index:
        ds = R.Dataset(site=None)  # type: ignore[arg-type]
        m = None
        children: dict[Any, Any] = {}
        roles: dict[Any, Any] = {}
        sub_orgs: dict[Any, Any] = {}
        sub_places: dict[Any, Any] = {}
        by_source: dict[Any, Any] = {}

        def talks_under(self, kind: str, rid: str) -> list[Any]:
            return []

        def kept(self, name: str, args: Any, compute: Any) -> Any:
            return compute()

    view = IndexView(_Index())  # type: ignore[arg-type]
    with RECORDER.node() as reads:
        view.talks_under("series", "s")
    assert reads == {qkey("talks_under", "series", "s")}


def test_rebuilds_go_stale_when_record_reads_are_not_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The property the byte-identity tests check fails once lookups of records are not noted:
    a renamed speaker's name is in the VEVENTs of their talks, which read them by id."""
    monkeypatch.setattr(TableView, "_note", lambda self, rid: None)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.chdir(tmp_path)
    write_synth(12, Path("data"), seed=1)
    run = Run()
    run(Path("data"), Path("site"))
    stale = 0
    for seed in range(6):
        try:
            apply_edit(EDITS["rename_person"], Path("data"), random.Random(seed))
        except Skip:
            continue
        result = run(Path("data"), Path("site"))
        assert run.incremental
        try:
            _same_as_full(Path("data"), Path("site"), result, tmp_path)
        except AssertionError:
            stale += 1
            break
    assert stale, "every rebuild was byte-identical without recording the lookups of records"


def test_whether_a_calendar_exists_is_what_feed_keys_says() -> None:
    """Pages link to a calendar when the query ``feed`` says it exists: exactly the calendars the stage makes."""
    from lod.publishing.build import prepare
    from lod.publishing.feeds import CALENDAR_KINDS, feed_keys
    from lod.publishing.pages.reads import feed_exists

    from .conftest import SEED_DATA, TEST_BASE

    p = prepare(SEED_DATA, TEST_BASE)
    idx = p.site_index
    keys = feed_keys(p, idx.talks_under, idx.person_talks)
    candidates = [("site", "talks"), *((kind, rid) for kind in CALENDAR_KINDS for rid in p.dataset.table(kind))]
    assert {key for key in candidates if feed_exists(idx, *key)} == set(keys)
    assert any(k[0] == "series" for k in keys) and any(k[0] == "event" for k in keys)


@pytest.mark.parametrize("threshold", [1, 10**9], ids=["forked", "in-process"])
def test_the_jobs_read_sets_wait_on_disk_until_the_stage_merges_them(synthetic: Path, threshold: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The read-sets of each job (calendars and pages) are kept pickled on disk while the stage's
    # workers render beside the build's process (``links.Later``), and merged when they have
    # ended: the build's process holds none of them in between, and they are all merged.
    from lod.publishing.build import prepare
    from lod.publishing.pages import parallel, stage

    held: list[int] = []
    real = parallel.fork_map

    def watched(*args: Any, **kwargs: Any) -> Any:
        for got in real(*args, **kwargs):
            held.append(len(RECORDER.made.rows) + len(RECORDER.made.codec.keys))
            yield got

    monkeypatch.setattr(parallel, "fork_map", watched)  # the calendars' (imported when they run)
    monkeypatch.setattr(stage, "fork_map", watched)  # the pages'
    p = prepare(synthetic, "http://localhost:8000/")
    out = stage.render_site(p, NOW, threshold=threshold)
    assert len(held) > 2 and set(held) == {0}
    assert RECORDER.later is None
    pages = {node for node in out.readsets if node[0] == "html"}
    assert pages == {("html", path) for path in Renderer(p, NOW).all_paths()}
    assert any(node[0] == "calendar" for node in out.readsets) and any(node[0] == "vevent" for node in out.readsets)


def test_an_answers_digest_depends_on_its_values_not_on_which_objects_hold_them() -> None:
    from datetime import date

    shared = "talk"
    one = [(shared, "x"), (shared, "x"), 3, None, True]
    other = [("".join(["ta", "lk"]), "".join(["x"])), ("tal" + "k"[:1], "x"), 3, None, True]
    assert one == other and digest(one) == digest(other)
    assert digest(one) != digest([*one[:4], False]) and digest([1]) != digest([1.0]) != digest(["1"])
    dated = [("talk", date(2024, 1, 2))]  # not a value marshal writes: digested from its text
    assert digest(dated) == digest([("talk", date(2024, 1, 2))]) != digest([("talk", date(2024, 1, 3))])
