"""A rebuild after editing records is incremental and byte-identical to a full build of the
edited data; when it cannot be incremental it says why and builds in full; a failed
rebuild leaves the site and its state as they were."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest

from lod.errors import BuildError, RecordErrors, ValidationFailed
from lod.progress import REASONS, Event, Finished, FullBuildNeeded
from lod.publishing.build import BuildResult, build
from lod.publishing.prepared import stamps as _stamps
from lod.publishing.output import state_path
from lod.publishing.pipeline import read_state, write_state
from lod.synth import write_synth
from lod.watch import REASONS as WHY, text

from .conftest import SEED_DATA
from .edits import EDITS, Folder, Skip, apply_edit, random_edit

BASE = "http://localhost:8000/"
EPOCH = "1735689600"  # the build's date: the index page shows the talks still to come


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class Run:
    """A build whose progress events are kept."""

    def __init__(self) -> None:
        self.said: list[Event] = []

    def __call__(self, data: Path, out: Path, **kw: bool) -> BuildResult:
        self.said = []
        return build(data, out, BASE, progress=self.said.append, **kw)

    @property
    def incremental(self) -> bool:
        # A rebuild publishes in place: what it wrote and removed (a full build swaps a new site in).
        return any(isinstance(e, Finished) and e.stage == "publish" and "deleted" in e.counts for e in self.said)

    @property
    def published(self) -> dict[str, int]:
        """What the incremental build's publish stage reported."""
        return next(dict(e.counts) for e in self.said if isinstance(e, Finished) and e.stage == "publish")


def _same_as_full(data: Path, site: Path, result: BuildResult, tmp: Path) -> None:
    fresh = tmp / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    full = build(data, fresh, BASE, incremental=False)
    rebuilt, whole = _tree(site), _tree(fresh)
    assert sorted(rebuilt) == sorted(whole)
    assert [name for name in whole if rebuilt[name] != whole[name]] == []
    assert [str(r) for r in result.report.results] == [str(r) for r in full.report.results]
    assert (result.triples, result.resources, result.files, result.counts) == \
        (full.triples, full.resources, full.files, full.counts)
    # What the next rebuild compares is what a full build would have left: each node's read-set,
    # what each query read, and the digests of the keys some node reads.
    kept, made = read_state(site), read_state(fresh)
    assert kept is not None and made is not None
    links, fresh_links = kept.extra["links"], made.extra["links"]
    assert sorted(links) == sorted(fresh_links)
    assert [node for node in fresh_links if links[node] != fresh_links[node]] == []
    answers, fresh_answers = kept.extra["answers"], made.extra["answers"]
    assert sorted(answers) == sorted(fresh_answers)
    assert [key for key in fresh_answers if answers[key] != fresh_answers[key]] == []
    assert kept.extra["wide"] == made.extra["wide"]  # the queries every rebuild evaluates again, kept apart
    # The search index's state, whose indexes (the talks of each filter, its label) a rebuild updates.
    search, fresh_search = kept.extra["search"], made.extra["search"]
    assert (search.numbers, search.files, search.facets, search.labels) == \
        (fresh_search.numbers, fresh_search.files, fresh_search.facets, fresh_search.labels)
    assert dict(search.talks) == dict(fresh_search.talks)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic data, written an hour ago, and its full build, copied by each test.

    Paths are relative (data/, site/), so that a copy in another folder names its files and
    records exactly as the original does, and the original's state fits the copy."""
    root = tmp_path_factory.mktemp("base")
    write_synth(40, root / "data")
    an_hour_ago = time.time() - 3600
    for path in (root / "data").rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        mp.chdir(root)
        build(Path("data"), Path("site"), BASE)
    return root


def _copy(built: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A copy of the built site with its data and state, as if built here: the working folder."""
    shutil.copytree(built / "data", tmp / "data")  # modification times kept
    # Hard links: the copy is the same site (its marker file's identity is what the state names);
    # a rebuild replaces files, it never writes into one.
    shutil.copytree(built / "site", tmp / "site", copy_function=os.link)
    monkeypatch.chdir(tmp)
    state = read_state(built / "site")
    assert state is not None and state.stamps, "the base data was written long enough before its build"
    here = _stamps("data")  # the copies' inodes
    state.stamps = {rel: here[rel] for rel in state.stamps}
    write_state((tmp / "site").absolute(), state)
    return Path("data"), Path("site")


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


# One of each family of edits runs by default; the rest with the heavy tests (.ci/run).
EVERYDAY = {"talk_title", "talk_speakers", "rename_place", "move_organization", "add_talk_to_series", "delete_talk",
            "shift_lines"}


NOT_SYNTHETIC = {"remove_source_ref", "rename_event"}  # no such thing in it: the seed-data test has them


@pytest.mark.parametrize("edit", [e if e in EVERYDAY else pytest.param(e, marks=pytest.mark.heavy)
                                  for e in sorted(EDITS) if e not in NOT_SYNTHETIC])
def test_rebuild_after_an_edit_is_incremental_and_equals_a_full_build(edit: str, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    try:
        what = apply_edit(EDITS[edit], data, random.Random(edit))
    except Skip:
        pytest.skip(f"the synthetic data has nothing {edit} applies to")
    run = Run()
    result = run(data, site)
    assert run.incremental, (what, run.said)
    _same_as_full(data, site, result, tmp_path)


def test_rebuild_after_many_edits_in_a_row_stays_equal_to_a_full_build(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    rng = random.Random(7)
    run = Run()
    for _ in range(6):
        random_edit(data, rng)
        result = run(data, site)
        assert run.incremental, run.said
    _same_as_full(data, site, result, tmp_path)


@pytest.mark.heavy
def test_rebuild_forked_after_every_kind_of_edit_in_a_row_stays_equal_to_a_full_build(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rebuild's describing stage forked, as one that maps 2,000 records or more runs it: the
    mapping's notes replayed in the build's process keep each later rebuild right."""
    from lod.publishing import forked

    monkeypatch.setattr(forked, "FORK_THRESHOLD", 0)
    data, site = _copy(built, tmp_path, monkeypatch)
    run = Run()
    done = 0
    for name in sorted(set(EDITS) - NOT_SYNTHETIC):
        try:
            apply_edit(EDITS[name], data, random.Random(name + "forked"))
        except Skip:
            continue
        result = run(data, site)
        assert run.incremental, (name, run.said)
        done += 1
    assert done >= 20
    _same_as_full(data, site, result, tmp_path)


def test_rebuild_of_the_seed_data_after_edits_equals_a_full_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = tmp_path / "data", tmp_path / "site"
    shutil.copytree(SEED_DATA, data)
    build(data, site, BASE)
    rng = random.Random(3)
    run = Run()
    for name in ("talk_title", "rename_person", "move_place", "talk_topics", "rename_event", "remove_source_ref"):
        apply_edit(EDITS[name], data, rng)
        result = run(data, site)
        assert run.incremental, run.said
    _same_as_full(data, site, result, tmp_path)


def undate_talks(data: Path, keep: int) -> None:
    """Take the dates away from every talk of *data* but the first *keep* dated ones (as ``talk_undate`` does)."""
    folder = Folder(data)
    for rec in [r for r in folder.records("talk") if r.data.get("start")][keep:]:
        for key in ("start", "end", "duration", "previous_start"):
            rec.data.pop(key, None)
        if rec.data.get("status") == "rescheduled":
            rec.data["status"] = "scheduled"
        rec.data.pop("inferred", None)
        folder.touch(rec)
    folder.save()


def test_a_rebuild_that_leaves_no_dated_talk_deletes_talks_ics_as_a_full_build_has_none(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    run = Run()
    undate_talks(data, 1)
    run(data, site)
    assert run.incremental and (site / "talks.ics").is_file()
    undate_talks(data, 0)
    result = run(data, site)
    assert run.incremental, run.said
    assert not (site / "talks.ics").exists()
    assert not list(site.rglob("*.ics"))
    _same_as_full(data, site, result, tmp_path)


def test_rebuild_without_changes_writes_only_what_depends_on_nothing(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _data, site = _copy(built, tmp_path, monkeypatch)
    before = _tree(site)
    run = Run()
    run(tmp_path / "data", site)
    assert run.incremental
    assert run.published == {"written": 0, "deleted": 0}
    assert _tree(site) == before


@pytest.mark.parametrize("in_child", [False, True], ids=["in-process", "in-a-child"])
def test_rebuild_reports_bad_records_like_a_full_build_and_changes_nothing(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_child: bool) -> None:
    from lod.publishing import pipeline

    if in_child:  # as a large site's rebuild runs (tests/test_rebuild_child.py)
        monkeypatch.setattr(pipeline, "REBUILD_FORK_BYTES", 0)
    data, site = _copy(built, tmp_path, monkeypatch)
    before, state = _tree(site), state_path(site).read_bytes()
    series = sorted((data / "series").glob("*.yaml"))[0]
    series.write_text(series.read_text(encoding="utf-8").replace("  - id: ", "  - id: Bad Id ", 1), encoding="utf-8")
    with pytest.raises(RecordErrors) as incremental:
        build(data, site, BASE)
    with pytest.raises(RecordErrors) as full:
        build(data, tmp_path / "other", BASE)
    assert str(incremental.value) == str(full.value)
    assert _tree(site) == before
    assert state_path(site).read_bytes() == state


def test_rebuild_reports_shape_violations_like_a_full_build_and_changes_nothing(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lod.publishing.changes
    from lod.validation.shacl import check
    from lod.validation.report import load_shapes

    # A stricter shape the data met all along: event names without '#'.
    strict = load_shapes()
    strict.parse(data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix schema: <http://schema.org/> .
        <urn:strict> a sh:NodeShape ; sh:targetClass schema:Event ;
          sh:property [ sh:path schema:name ; sh:pattern "^[^#]*$" ; sh:message "no # in a name" ] .""",
                 format="turtle")
    for module in (lod.publishing.changes,):
        monkeypatch.setattr(module, "shacl_check",
                            lambda triples, where, only=None: check(triples, where, strict, only))
    data, site = _copy(built, tmp_path, monkeypatch)
    before = _tree(site)
    series = sorted((data / "series").glob("*.yaml"))[0]
    text = series.read_text(encoding="utf-8")
    assert "title: On " in text
    series.write_text(text.replace("title: On ", "title: On#1 ", 1), encoding="utf-8")
    with pytest.raises(ValidationFailed) as full:
        build(data, tmp_path / "probe", BASE)
    with pytest.raises(ValidationFailed) as incremental:
        build(data, site, BASE)
    assert "no # in a name" in str(full.value.report)  # type: ignore[attr-defined]
    assert str(incremental.value.report) == str(full.value.report)  # type: ignore[attr-defined]
    assert _tree(site) == before


def test_rebuild_without_state_builds_in_full_and_says_why(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    state_path(site).unlink()
    run = Run()
    run(data, site)
    assert not run.incremental
    assert run.said[0] == FullBuildNeeded("no-state")
    assert state_path(site).is_file()  # the next one can be incremental


def test_rebuild_of_a_site_replaced_since_builds_in_full(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    other = tmp_path / "other"
    build(data, other, BASE, incremental=False)
    shutil.rmtree(site)
    other.rename(site)  # the state beside site/ describes the old one
    run = Run()
    run(data, site)
    assert run.said[0] == FullBuildNeeded("other-site")


def test_rebuild_after_a_site_settings_change_builds_in_full(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    (data / "site.yaml").write_text("site:\n  title: Another title\n", encoding="utf-8")
    run = Run()
    result = run(data, site)
    assert [e for e in run.said if isinstance(e, FullBuildNeeded)] == [FullBuildNeeded("site-settings", str(data / "site.yaml"))]
    _same_as_full(data, site, result, tmp_path)


def test_rebuild_that_reaches_most_pages_builds_in_full_and_says_why(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lod.publishing.pages.dirty

    data, site = _copy(built, tmp_path, monkeypatch)
    monkeypatch.setattr(lod.publishing.pages.dirty, "FULL_LEAST", 1)  # 40 talks make hundreds of pages, not thousands
    apply_edit(EDITS["rename_source"], data, random.Random(1))  # the source every page cites
    run = Run()
    result = run(data, site)
    said = [e for e in run.said if isinstance(e, FullBuildNeeded)]
    assert [e.reason for e in said] == ["most-pages"] and not run.incremental
    # Every page reads the source: most are found dirty before any query is evaluated again (``affected``).
    assert said[0].detail.startswith("at least "), said[0].detail
    done, _, total = said[0].detail.removeprefix("at least ").removesuffix(" pages").partition(" of ")
    assert int(total) * 3 < int(done) * 4 <= int(total) * 4, said[0].detail
    assert text(said[0]) == f"full build: the changes reach most pages ({said[0].detail}), which a full build makes in less memory"
    _same_as_full(data, site, result, tmp_path)
    apply_edit(EDITS["talk_title"], data, random.Random(1))  # a few pages: the next rebuild is incremental
    run(data, site)
    assert run.incremental, run.said


def test_every_reason_for_a_full_build_has_a_message() -> None:
    assert sorted(WHY) == sorted(REASONS)


def test_rebuild_with_other_code_builds_in_full(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lod.publishing.changes

    data, site = _copy(built, tmp_path, monkeypatch)
    monkeypatch.setattr(lod.publishing.changes, "code_digest", lambda: "another version")
    run = Run()
    run(data, site)
    assert FullBuildNeeded("other-code") in run.said


def test_build_full_ignores_the_state(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    run = Run()
    run(data, site, incremental=False)
    assert not run.incremental


@pytest.mark.parametrize("edit", sorted(set(EDITS) - NOT_SYNTHETIC))
def test_rebuild_front_loads_the_same_dataset_as_a_full_load(edit: str, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Partial parsing and resolution (lod.publishing.front.Front) give exactly what loading everything gives.
    from lod.loading.stage import load
    from lod.publishing.front import Front

    data, site = _copy(built, tmp_path, monkeypatch)
    try:
        apply_edit(EDITS[edit], data, random.Random(edit + "front"))
    except Skip:
        pytest.skip(f"the synthetic data has nothing {edit} applies to")
    state = read_state(site)
    assert state is not None
    front = Front(state, data, BASE, _stamps(data), {})
    full = load(data)
    assert front.ds == full
    if edit in ("talk_title", "talk_abstract"):  # one series file: its records only
        assert front.resolved_again < len(full.all_records()) / 2


def test_rebuild_with_a_damaged_state_builds_in_full(built: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    state_path(site).write_bytes(b"not a database")
    run = Run()
    result = run(data, site)
    assert run.said[0] == FullBuildNeeded("state-damaged", "not an SQLite database")
    _same_as_full(data, site, result, tmp_path)


class Killed(BaseException):
    pass


def test_rebuild_killed_while_publishing_is_finished_by_the_next_build(built: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import lod.publishing.journal

    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(11))
    moves = 0

    def kill_after_two_moves(label: str) -> None:
        nonlocal moves
        if label.startswith("moved "):
            moves += 1
            if moves == 2:
                raise Killed  # as if the process died here, past the commit point

    monkeypatch.setattr(lod.publishing.journal, "_step", kill_after_two_moves)
    with pytest.raises(Killed):
        build(data, site, BASE)
    monkeypatch.setattr(lod.publishing.journal, "_step", lambda _label: None)
    run = Run()
    result = run(data, site)  # rolls the journal forward first, then finds nothing left to do
    assert run.incremental
    assert run.published == {"written": 0, "deleted": 0}
    _same_as_full(data, site, result, tmp_path)


def test_rebuild_whose_gallery_runs_in_a_child_beside_its_pages_equals_a_full_build(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As a rebuild of 2,000 resources or more runs it (``forked.Beside``): its answers come back
    # for the state, its files are published with the pages.
    from lod.publishing import forked

    monkeypatch.setattr(forked, "FORK_THRESHOLD", 0)
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(3))
    run = Run()
    result = run(data, site)
    assert run.incremental, run.said
    gallery = next(e for e in run.said if isinstance(e, Finished) and e.stage == "gallery")
    assert gallery.counts["answered"] >= 1
    _same_as_full(data, site, result, tmp_path)
    kept, made = read_state(site), read_state(tmp_path / "fresh")
    assert kept is not None and made is not None and kept.extra["gallery"] == made.extra["gallery"]


def test_a_gallery_that_fails_in_its_child_fails_the_rebuild_and_publishes_nothing(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.publishing import forked, gallery

    def broken(*_args: object, **_kw: object) -> None:
        raise BuildError("the gallery broke")

    monkeypatch.setattr(forked, "FORK_THRESHOLD", 0)
    monkeypatch.setattr(gallery, "write_gallery", broken)
    data, site = _copy(built, tmp_path, monkeypatch)
    before, state = _tree(site), state_path(site).read_bytes()
    apply_edit(EDITS["talk_title"], data, random.Random(3))
    with pytest.raises(BuildError, match="the gallery broke"):
        build(data, site, BASE)
    assert _tree(site) == before and state_path(site).read_bytes() == state
