"""The parts of an incremental build: changed records, owners, descriptions and SHACL results
equal what a full build computes."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from lod.publishing.changes import (Descriptions, changed_records, check_owners, mapped_records, merged_report,
                             origins_of, remap, results_by_owner, to_remap, types_changed)
from lod.loading.stage import resolved_blobs
from lod.model.iri import Minter
from lod.loading.files import Merger, data_files
from lod.loading.stage import load_files
from lod.loading.resolve import resolve
from lod.mapping.triples import origins, to_triples
from lod.publishing.build import describe, site_prefixes
from lod.model.serialize import Terms, sort_canonical
from lod.validation.shacl import check as shacl_check
from lod.synth import write_synth

from .conftest import SEED_DATA, TEST_BASE


def _full(folder: Path):  # type: ignore[no-untyped-def]
    merger = load_files(folder)
    ds = merger.dataset
    m = Minter(TEST_BASE)
    triples = to_triples(ds, m)
    terms = Terms(site_prefixes(m))
    sort_canonical(triples, terms)
    report = shacl_check(triples, origins(ds, m))
    return merger, ds, m, triples, terms, report


@pytest.mark.parametrize("source", ["seed", "synth"])
def test_descriptions_equal_the_grouped_whole_mapping(source: str, tmp_path: Path) -> None:
    folder = SEED_DATA
    if source == "synth":
        write_synth(60, tmp_path)
        folder = tmp_path
    _merger, ds, m, triples, terms, _report = _full(folder)
    whole = describe(triples, m)
    lazy = Descriptions(ds, m, terms, mapped_records(ds, m))
    assert sorted(lazy) == sorted(whole)
    for owner, group in whole.items():
        assert lazy[owner] == group, owner


def test_descriptions_spilled_to_disk_read_back_the_same_and_keep_a_few(tmp_path: Path) -> None:
    from lod.loading.spill import Spill
    from lod.publishing.changes import SPILLED_KEPT

    write_synth(60, tmp_path / "data")
    merger, ds, m, triples, terms, _report = _full(tmp_path / "data")
    whole = describe(triples, m)
    lazy = Descriptions(ds, m, terms, mapped_records(ds, m))
    lazy.seed(list(triples), {(k, r.id) for k, r in ds.all_records()}, list(whole))  # as a full build maps
    with Spill(tmp_path) as store:
        lazy.spill(store)
        assert sorted(store) == sorted(whole) and lazy._cache == {}
        assert all(owner in lazy for owner in whole) and "http://elsewhere.example/x" not in lazy
        for owner, group in whole.items():
            # The same terms, in the same order: equal text (the pages' read digests hash the repr).
            assert repr(lazy[owner]) == repr(group), owner
        assert len(lazy._back) == SPILLED_KEPT < len(whole)


EDITS = {
    "talk title": ("title: On ", "title: Revised On "),
    "drop a recording": (r"    recording:\n      url: [^\n]*\n", ""),
    "speaker swap": (r"    speakers:\n    - person-\d+\n", "    speakers:\n    - person-3\n"),
    "series timezone": ("timezone: Australia/Sydney", "timezone: Europe/Paris"),
    "keyword": (r"    keywords:\n    - \w+\n", "    keywords:\n    - Chemistry\n"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_check_owners_gives_the_full_check_after_an_edit(edit: str, tmp_path: Path) -> None:
    write_synth(30, tmp_path)
    before, ds0, m, _t0, _terms0, report0 = _full(tmp_path)
    blobs0 = resolved_blobs(before.keys, ds0)
    mapped = mapped_records(ds0, m)
    series = sorted((tmp_path / "series").glob("*.yaml"))[0]
    old, new = EDITS[edit]
    text = series.read_text(encoding="utf-8")
    edited = re.sub(old, new, text, count=1)
    assert edited != text
    series.write_text(edited, encoding="utf-8")
    try:
        after, ds, m, triples, terms, report = _full(tmp_path)
    except Exception as exc:  # the edit made the data invalid: not what this test is about
        pytest.fail(f"edit {edit!r} broke the data: {exc}")
    changes = changed_records(blobs0, resolved_blobs(after.keys, ds))
    changed, previous = changes.changed, changes.previous
    assert changed
    owners = remap(to_remap(changed, ds, mapped), ds, m, mapped)
    descs = Descriptions(ds, m, terms, mapped)
    whole = describe(triples, m)
    for owner in owners:
        assert descs.get(owner, []) == whole.get(owner, [])
    assert not types_changed(changed, previous, ds, m)
    fresh = check_owners(descs, owners, origins_of(ds, m, owners, descs.contributors))
    moved = {str(m.resource(k, rid)): loc for (k, rid), loc in changes.moved.items()}
    assert merged_report(results_by_owner(report0), owners, fresh, moved).results == report.results


@pytest.mark.parametrize("source", ["seed", "synth"])
def test_mapping_points_at_fragments_only_from_their_own_description(source: str, tmp_path: Path) -> None:
    # types_changed compares only a record's own node: a fragment's types matter to no one else.
    folder = SEED_DATA
    if source == "synth":
        write_synth(60, tmp_path)
        folder = tmp_path
    _merger, _ds, m, triples, _terms, _report = _full(folder)
    crossing = [(s, o) for s, _p, o in triples if "#" in str(o) and str(o).startswith(m.base)
                and m.owner(str(o)) != m.owner(str(s))]
    assert crossing == []


def test_load_files_keeps_each_files_parse_which_merges_into_the_same_dataset(tmp_path: Path) -> None:
    write_synth(30, tmp_path)
    kept: dict = {}
    first = load_files(tmp_path, keep=kept)
    assert sorted(kept) == sorted(str(p) for p in tmp_path.rglob("*.yaml"))
    merger = Merger()
    for path in data_files(tmp_path):
        merger.add(*pickle.loads(kept[str(path)]))
    resolve(merger.dataset)
    assert merger.dataset == first.dataset
    assert merger.keys == first.keys
