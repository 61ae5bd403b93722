"""update_links: the dirty rule's links, computed again only where they can change, equal
record_links of the new data after every kind of edit."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from lod.loading.stage import resolved_blobs
from lod.publishing.incremental import changed_records
from lod.loading.stage import load_files
from lod.publishing.pages.dirty import record_links, update_links

from .conftest import SEED_DATA
from .edits import EDITS, Skip, apply_edit


def _blobs(folder: Path):  # type: ignore[no-untyped-def]
    merger = load_files(folder)
    return merger.dataset, resolved_blobs(merger.keys, merger.dataset)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lod.synth import write_synth

    folder = tmp_path_factory.mktemp("synth") / "data"
    write_synth(50, folder)
    return folder


# The kinds of edit that move links around by default; every kind, and the seed data, with -m heavy.
EVERYDAY = {"talk_speakers", "talk_venue", "move_place", "move_organization", "person_affiliation",
            "add_talk_to_series", "delete_talk", "talk_topics"}


@pytest.mark.parametrize("source", ["synthetic", pytest.param("seed", marks=pytest.mark.heavy)])
@pytest.mark.parametrize("edit", [e if e in EVERYDAY else pytest.param(e, marks=pytest.mark.heavy)
                                  for e in sorted(EDITS)])
def test_update_links_equals_record_links_after_an_edit(edit: str, source: str, synthetic: Path,
                                                        tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED_DATA if source == "seed" else synthetic, data)
    old_ds, old_blobs = _blobs(data)
    old_links = record_links(old_ds)
    try:
        apply_edit(EDITS[edit], data, random.Random(f"{edit}-{source}"))
    except Skip:
        pytest.skip(f"the {source} data has nothing {edit} applies to")
    new_ds, new_blobs = _blobs(data)
    changes = changed_records(old_blobs, new_blobs)
    updated = update_links(old_links, new_ds, changes.changed, changes.previous)
    assert updated == record_links(new_ds)


@pytest.mark.heavy
@pytest.mark.parametrize("n", range(40))
def test_update_links_equals_record_links_after_random_edits(n: int, synthetic: Path, tmp_path: Path) -> None:
    from .edits import random_edit

    data = tmp_path / "data"
    shutil.copytree(synthetic, data)
    rng = random.Random(n)
    ds, blobs = _blobs(data)
    links = record_links(ds)
    for _ in range(3):
        random_edit(data, rng)
        new_ds, new_blobs = _blobs(data)
        changes = changed_records(blobs, new_blobs)
        links = update_links(links, new_ds, changes.changed, changes.previous)
        assert links == record_links(new_ds)
        blobs = new_blobs
