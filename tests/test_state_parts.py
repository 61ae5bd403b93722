"""The state's extra values stored in parts (lod.publishing.state_parts): their large dicts come
back whole and in order, a rebuild writes only the buckets whose entries changed, and a state
whose parts do not fit its values makes a full build that says why."""

from __future__ import annotations

import gc
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import lod.publishing.pipeline
import lod.publishing.state
from lod.progress import FullBuildNeeded
from lod.publishing import state_parts
from lod.publishing.output import state_path
from lod.publishing.pipeline import read_state
from lod.publishing.state import Store

from .edits import EDITS, apply_edit
from .test_incremental import BASE, Run, _copy, _fixed_date, _same_as_full, built  # noqa: F401 (fixtures)


@dataclass
class Cache:
    items: dict[str, Any] = field(default_factory=dict)
    small: dict[str, int] = field(default_factory=dict)
    note: str = ""


class Custom:
    """Pickles by its own rules: never taken apart."""

    def __init__(self, d: dict[str, int]) -> None:
        self.d = d

    def __getstate__(self) -> dict[str, Any]:
        return {"d": self.d}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.d = state["d"]


def _round_trip(extra: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    blobs, parts = state_parts.split_extra(extra)
    return state_parts.assemble_extra(blobs, parts), parts


def test_a_large_dict_comes_back_equal_and_in_its_order() -> None:
    keys = [f"k{i}" for i in range(2000)]
    random.Random(1).shuffle(keys)
    value = {k: (k, [len(k)]) for k in keys}
    cache = Cache({k: {"x": k} for k in keys}, {"a": 1}, "kept")
    back, parts = _round_trip({"d": value, "c": cache, "n": 3})
    assert parts and all(k.startswith(("d\x1f", "c\x1fitems\x1f")) for k in parts)
    assert back["d"] == value and list(back["d"]) == keys
    assert back["c"] == cache and list(back["c"].items) == keys and back["n"] == 3


def test_a_class_with_its_own_pickling_is_stored_whole() -> None:
    back, parts = _round_trip({"x": Custom({str(i): i for i in range(2000)})})
    assert parts == {} and back["x"].d == {str(i): i for i in range(2000)}


def test_one_changed_entry_changes_one_row_and_equal_content_none() -> None:
    value = {f"k{i}": frozenset({f"a{i}", f"b{i}", "c"}) for i in range(2000)}
    _, before = state_parts.split_extra({"d": value})
    # The same content made in another order (a set of strings pickles in its own order).
    again = {k: frozenset(sorted(v, reverse=True)) for k, v in value.items()}
    again["k7"] = frozenset({"changed"})
    _, after = state_parts.split_extra({"d": again})
    assert before.keys() == after.keys()
    n = state_parts.buckets_for(2000)
    assert [k for k in after if not state_parts.same(before[k], after[k])] == \
        [state_parts.row_key("d", "", n, state_parts.bucket_of("k7", n))]


def test_keys_keep_the_bucket_they_were_read_from() -> None:
    # Any bucket is right for a key (the rows always make the whole dict again); keeping the
    # one it was read from spares hashing every key, and leaves the other buckets' rows alone.
    value = {f"k{i}": i for i in range(2000)}
    blobs, parts = state_parts.split_extra({"d": value})
    where: state_parts.Where = {}
    assert state_parts.assemble_extra(blobs, parts, where) == {"d": value}
    n, buckets = where["d", ""]
    moved = next(k for k, i in buckets.items() if i != 0)
    buckets[moved] = 0
    _, again = state_parts.split_extra({"d": value}, where)
    changed = sorted(k for k in again.keys() | parts.keys() if parts.get(k) != again.get(k))
    home = state_parts.bucket_of(moved, n)
    assert changed == sorted({state_parts.row_key("d", "", n, 0), state_parts.row_key("d", "", n, home)})
    assert state_parts.assemble_extra(blobs, again) == {"d": value}


def _small_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split the synthetic archive's dicts too (its pages cache has far fewer entries than SPLIT_MIN)."""
    monkeypatch.setattr(state_parts, "SPLIT_MIN", 8)
    monkeypatch.setattr(state_parts, "PER_ROW", 2)


def test_rebuild_writes_only_the_buckets_whose_entries_changed(built: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _small_buckets(monkeypatch)
    data, site = _copy(built, tmp_path, monkeypatch)
    with sqlite3.connect(state_path(site)) as conn:
        stored = conn.execute("SELECT count(*) FROM parts").fetchone()[0]
    conn.close()
    assert stored > 50
    apply_edit(EDITS["talk_title"], data, random.Random(3))
    deltas: list[lod.publishing.state.Delta] = []
    apply = Store.apply

    def recorded(self: Store, delta: lod.publishing.state.Delta) -> int:
        deltas.append(delta)
        return apply(self, delta)

    monkeypatch.setattr(Store, "apply", recorded)
    run = Run()
    result = run(data, site)
    assert run.incremental, run.said
    written = {table: len(ups) + len(dels) for table, ups, dels in deltas[0].writes}
    assert 0 < written["parts"] < stored / 5
    _same_as_full(data, site, result, tmp_path)
    # What is stored reads back as the rebuild's new state: the next rebuild starts from it.
    apply_edit(EDITS["talk_title"], data, random.Random(4))
    result = run(data, site)
    assert run.incremental, run.said
    _same_as_full(data, site, result, tmp_path)


@pytest.mark.parametrize("how", ["a bucket gone", "a bucket of a value not stored"])
def test_parts_that_do_not_fit_their_values_make_a_full_build_that_says_why(
        how: str, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_buckets(monkeypatch)
    data, site = _copy(built, tmp_path, monkeypatch)
    with sqlite3.connect(state_path(site)) as conn:
        if how == "a bucket gone":
            conn.execute("DELETE FROM parts WHERE key = (SELECT min(key) FROM parts)")
        else:
            conn.execute("INSERT INTO parts (key, value) VALUES ('gone\x1f\x1f1\x1f0', x'80')")
    conn.close()
    assert read_state(site.absolute()) is None
    run = Run()
    result = run(data, site)
    said = [e for e in run.said if isinstance(e, FullBuildNeeded)]
    assert said and said[0].reason == "state-damaged" and said[0].detail, run.said
    assert not run.incremental and result.files
    assert read_state(site.absolute()) is not None


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
