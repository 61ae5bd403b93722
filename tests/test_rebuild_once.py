"""What a build does once that it used to do again: it walks the data folder for its stamps and
once more at the end (to notice a file changed meanwhile), never a third time for the load (the
load takes the stamps' files); and the objects the load made are frozen out of the cyclic
collector before it runs again, so its first collection does not walk them all."""

from __future__ import annotations

import gc
import random
from collections.abc import Callable
from pathlib import Path

import pytest

import lod.loading.pool
import lod.loading.stage
import lod.publishing.pipeline
import lod.publishing.prepared
from lod.loading.files import data_files

from .edits import EDITS, apply_edit
from .test_incremental import Run, _copy, _fixed_date, _same_as_full, built  # noqa: F401 (fixtures)


@pytest.mark.parametrize("incremental", [True, False])
def test_the_load_takes_the_files_the_stamps_found(incremental: bool, built: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["add_talk_to_series"], data, random.Random(2))
    walks: list[str] = []

    def counted(where: str) -> Callable[[Path], list[Path]]:
        def walk(root: Path) -> list[Path]:
            walks.append(where)
            return data_files(root)
        return walk

    monkeypatch.setattr(lod.loading.stage, "data_files", counted("load"))
    monkeypatch.setattr(lod.publishing.prepared, "data_files", counted("stamps"))
    run = Run()
    result = run(data, site, incremental=incremental)
    assert run.incremental == incremental, run.said
    assert walks == ["stamps", "stamps"]
    _same_as_full(data, site, result, tmp_path)


def test_what_the_load_made_is_frozen_before_the_collector_runs_again(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Else the collector's first run after the load walks every object it made, all young.
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(6))
    enabled: list[bool] = []
    freeze = gc.freeze

    def noted() -> None:
        enabled.append(gc.isenabled())
        freeze()

    monkeypatch.setattr(lod.publishing.pipeline.gc, "freeze", noted)
    run = Run()
    run(data, site)
    assert run.incremental and enabled == [False]
    assert gc.get_freeze_count() == 0  # unfrozen after the build


@pytest.mark.parametrize("fails", [False, True])
def test_the_later_stages_make_full_collections_rare_and_the_build_gives_the_thresholds_back(
        fails: bool, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The pages stage keeps millions of objects: each full collection walks them all.
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(7))
    seen: list[tuple[int, int, int]] = []
    publish = lod.publishing.pipeline._publish

    def noted(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_threshold())
        if fails:
            raise OSError(28, "No space left on device")
        return publish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lod.publishing.pipeline, "_publish", noted)
    before = gc.get_threshold()
    run = Run()
    if fails:
        with pytest.raises(lod.publishing.pipeline.BuildError):
            run(data, site)
    else:
        run(data, site)
    assert seen == [(before[0], before[1], lod.loading.pool.FULL_COLLECTION_EVERY)]
    assert gc.get_threshold() == before
