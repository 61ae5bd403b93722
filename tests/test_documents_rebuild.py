"""The incremental build of a ``documents: served`` site: it writes no per-resource file, keeps
the documents index right, and its output equals a full build's byte for byte; a change of
the setting is a full build that leaves nothing of the other mode behind."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import httpx
import pytest

from lod.publishing.calendar_pack import Calendars, shard_files
from lod.publishing.documents import DOCUMENTS_INDEX, Documents
from lod.progress import FullBuildNeeded
from lod.publishing.build import build
from lod.synth import write_synth

from .edits import EDITS, apply_edit
from .test_documents import calendars, per_resource, served_data
from .test_incremental import BASE, EPOCH, Run, _same_as_full, undate_talks
from .test_server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _documents_match_a_files_build(data: Path, site: Path, tmp: Path) -> None:
    """Every document the served site answers is the file a files build of the same data writes."""
    files_data = tmp / "files-data"
    shutil.rmtree(files_data, ignore_errors=True)
    shutil.copytree(data, files_data)
    (files_data / "site.yaml").write_text((data / "site.yaml").read_text().replace("documents: served", "documents: files"))
    files_site = tmp / "files-site"
    shutil.rmtree(files_site, ignore_errors=True)
    build(files_data, files_site, BASE, incremental=False)
    expected = per_resource(files_site)
    documents = Documents(site)
    assert {rel: documents.document(rel) for rel in expected} == expected
    assert not per_resource(site)
    expected = calendars(files_site)
    packed = Calendars(site)
    assert {rel: packed.calendar(rel) for rel in expected} == expected
    assert not calendars(site)
    assert bool(shard_files(site)) == bool(expected)



def served_synth(data: Path) -> None:
    """A synthetic archive of 40 talks in *data*, with ``documents: served``, its files an hour old."""
    write_synth(40, data)
    (data / "site.yaml").write_text("site:\n  documents: served\n", encoding="utf-8")
    for path in data.rglob("*"):  # not files written just before the build (lod.publishing.pipeline.RACY_NS)
        os.utime(path, (time.time() - 3600, time.time() - 3600))

def test_served_rebuild_of_the_seed_data_after_edits_equals_a_full_build(tmp_path: Path) -> None:
    data, site = served_data(tmp_path / "data"), tmp_path / "site"
    build(data, site, BASE)
    rng = random.Random(3)
    run = Run()
    for name in ("talk_title", "rename_person", "move_place", "talk_topics", "rename_event", "remove_source_ref"):
        apply_edit(EDITS[name], data, rng)
        result = run(data, site)
        assert run.incremental, run.said
        assert not per_resource(site), name
    _same_as_full(data, site, result, tmp_path)
    _documents_match_a_files_build(data, site, tmp_path)


def test_served_rebuild_after_adding_and_deleting_talks_keeps_the_index_right(tmp_path: Path) -> None:
    data, site = tmp_path / "data", tmp_path / "site"
    served_synth(data)
    build(data, site, BASE)
    rng = random.Random(11)
    run = Run()
    for name in ("add_talk_to_series", "delete_talk", "talk_speakers", "add_talk_to_series", "rename_place"):
        apply_edit(EDITS[name], data, rng)
        result = run(data, site)
        assert run.incremental, (name, run.said)
    _same_as_full(data, site, result, tmp_path)
    _documents_match_a_files_build(data, site, tmp_path)


def test_lod_serve_answers_a_talks_new_calendar_after_a_served_rebuild(tmp_path: Path) -> None:
    data, site = served_data(tmp_path / "data"), tmp_path / "site"
    build(data, site, BASE)
    talk = "talk/2023-09-13-greg-yang.ics"
    series = data / "series" / "mml-2023.yaml"
    title = "The unreasonable effectiveness of mathematics in large scale deep learning"
    with running_server(site) as url:
        before = httpx.get(f"{url}/{talk}")
        assert before.status_code == 200 and b"SUMMARY:The unreasonable effectiveness" in before.content
        series.write_text(series.read_text(encoding="utf-8").replace(title, "Mathematics at scale", 1),
                          encoding="utf-8")
        run = Run()
        result = run(data, site)
        assert run.incremental, run.said
        after = httpx.get(f"{url}/{talk}")
        assert after.status_code == 200 and b"SUMMARY:Mathematics at scale\r\n" in after.content
        assert after.headers["etag"] != before.headers["etag"]
        assert httpx.get(f"{url}/{talk}", headers={"If-None-Match": before.headers["etag"]}).status_code == 200
        person = httpx.get(f"{url}/person/greg-yang.ics")  # the speaker's calendar was made again too
        assert person.status_code == 200 and b"SUMMARY:Mathematics at scale\r\n" in person.content
    _same_as_full(data, site, result, tmp_path)
    _documents_match_a_files_build(data, site, tmp_path)


def test_a_served_rebuild_that_leaves_no_dated_talk_removes_the_pack_and_talks_ics(tmp_path: Path) -> None:
    data, site = tmp_path / "data", tmp_path / "site"
    served_synth(data)
    build(data, site, BASE)
    run = Run()
    undate_talks(data, 1)
    run(data, site)
    assert run.incremental, run.said
    assert shard_files(site) and (site / "talks.ics").is_file()
    _documents_match_a_files_build(data, site, tmp_path)
    undate_talks(data, 0)
    result = run(data, site)
    assert run.incremental, run.said
    assert not shard_files(site) and not (site / "talks.ics").exists()
    _same_as_full(data, site, result, tmp_path)


@pytest.mark.parametrize("before, after", [("files", "served"),
                                           pytest.param("served", "files", marks=pytest.mark.heavy)])
def test_changing_the_documents_setting_builds_in_full_and_leaves_nothing_of_the_other_mode(
        before: str, after: str, tmp_path: Path) -> None:
    data, site = served_data(tmp_path / "data", before), tmp_path / "site"
    build(data, site, BASE)
    (data / "site.yaml").write_text((data / "site.yaml").read_text().replace(f"documents: {before}",
                                                                              f"documents: {after}"))
    run = Run()
    result = run(data, site)
    assert [e for e in run.said if isinstance(e, FullBuildNeeded)] == [
        FullBuildNeeded("site-settings", str(data / "site.yaml"))]
    _same_as_full(data, site, result, tmp_path)
    assert (site / DOCUMENTS_INDEX).exists() == bool(shard_files(site)) == (after == "served")
    assert bool(per_resource(site)) == bool(calendars(site)) == (after == "files")
