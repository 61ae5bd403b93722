"""The large dictionaries of the build state (lod.publishing.state_parts) are kept in buckets of
entries: taken out of ``extra`` and put back unchanged, and a rebuild writes only the buckets
of the entries that changed, came or went."""

from __future__ import annotations

from collections import Counter

import os
import pickle
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from collections.abc import MutableMapping
from typing import Any

import pytest

import lod.publishing.state
from lod.publishing import state_parts
from lod.progress import FullBuildNeeded
from lod.publishing.output import state_path
from lod.publishing.pages import listing
from lod.publishing.pages.search import Contribution, SearchState
from lod.publishing.pages.stage import PagesCache
from lod.publishing.state import Store

from .edits import EDITS, apply_edit
from .test_incremental import Run, _copy, built  # noqa: F401 (fixtures)


def _extra() -> dict[str, Any]:
    talk = Contribution(45024, ("2023-04-10T13:00:00Z", "t1"), ("talk/t1.html", "A title", "2023-04-10", "Ann", "W"),
                        "a title", (("year", "2023", "2023"),))
    return {
        "answers": {("q:ancestors", "talk\x1et1"): b"\x00digest", ("talk", "t1"): b"d2"},
        "pages": PagesCache(items={("talk", "t1"): (((0, "2023-04-10", "x", "t1"), "2023-04-10"), None)},
                            lastmods={"talk/t1": "2025-01-01", "topic/x": None},  # type: ignore[dict-item]
                            latest_taken="2025-01-01", taken={"s": "2025-01-01"}, shown=("2025-01-01", frozenset({"t1"})),
                            talks={"t1": b"<li>\xe2\x80\x93</li>"}),
        "search": SearchState(talks={"t1": talk}, numbers={"t1": 184418304}, files=["search/d-0.js"]),
        "files": 12,
        "another stage": {"any": ["value", 1]},
    }


def _stored(extra: dict[str, Any]) -> dict[str, Any]:
    """*extra* through the state's tables: split, the rest pickled, the parts as SQLite rows, and back."""
    rest, parts = state_parts.split(extra)
    conn = sqlite3.connect(":memory:")
    conn.execute(lod.publishing.state._CREATE["parts"])
    conn.executemany(lod.publishing.state._UPSERT["parts"], state_parts.rows(parts))
    back = {k: pickle.loads(pickle.dumps(v)) for k, v in rest.items()}
    state_parts.join(back, _read(conn)[0])
    return back


def _read(conn: sqlite3.Connection) -> tuple[dict[str, MutableMapping[Any, Any]], state_parts.Read]:
    return state_parts.read(lambda name: conn.execute("SELECT bucket, value FROM parts WHERE part = ?", (name,)),
                            lambda name, n: _one(conn, name, n))


def _one(conn: sqlite3.Connection, name: str, n: int) -> bytes | None:
    row = conn.execute("SELECT value FROM parts WHERE part = ? AND bucket = ?", (name, n)).fetchone()
    return None if row is None else bytes(row[0])


def test_extra_through_its_rows_is_unchanged() -> None:
    extra = _extra()
    back = _stored(extra)
    assert back == extra
    assert back["pages"].lastmods["topic/x"] is None


def test_split_leaves_the_rest_of_a_value_in_extra_and_a_value_of_another_shape_whole() -> None:
    extra = _extra()
    extra["search"] = None  # a build without a search state
    rest, parts = state_parts.split(extra)
    assert rest["answers"] == state_parts.PARTED and rest["search"] is None and rest["files"] == 12
    assert rest["pages"].items == {} and rest["pages"].lastmods == {} and rest["pages"].latest_taken == "2025-01-01"
    assert extra["pages"].items  # the value given is not changed
    assert sorted(parts) == ["answers", "pages.items", "pages.lastmods", "pages.talks"]
    assert _stored(extra) == extra


def _buckets(entries: dict[Any, Any]) -> state_parts.Read:
    """*entries* as ``read`` gives their buckets."""
    conn = sqlite3.connect(":memory:")
    conn.execute(lod.publishing.state._CREATE["parts"])
    conn.executemany(lod.publishing.state._UPSERT["parts"], state_parts.rows({"search.numbers": entries}))
    return _read(conn)[1]


def test_diff_makes_again_only_the_buckets_of_entries_that_changed_came_or_went() -> None:
    numbers = {f"t{i}": i for i in range(5000)}
    read = _buckets(numbers)
    assert state_parts.diff(read, {"search.numbers": dict(numbers)}) == ([], [])
    new = dict(numbers)
    new["t1"] = -1  # changed
    new["t-new"] = 5  # came
    del new["t2"]  # went
    upserts, deletes = state_parts.diff(read, {"search.numbers": new})
    b = state_parts.bucket_of
    assert {(name, bucket) for name, bucket, _ in upserts} == {("search.numbers", b(k)) for k in ("t1", "t-new", "t2")}
    assert deletes == []
    for _name, bucket, blob in upserts:  # each bucket made again whole, of the new entries
        assert pickle.loads(blob) == {k: v for k, v in new.items() if b(k) == bucket}
    # A bucket left empty is deleted.
    alone = {k: v for k, v in numbers.items() if b(k) != b("t3")}
    upserts, deletes = state_parts.diff(read, {"search.numbers": alone})
    assert upserts == [] and deletes == [("search.numbers", b("t3"))]
    # A part gone (a build without that value) deletes every bucket.
    assert len(state_parts.diff(read, {})[1]) == len(read["search.numbers"])


def test_bucket_of_is_the_same_in_every_process() -> None:
    # Not Python's hash, salted per process: the buckets are found again by the next build.
    code = "from lod.publishing.state_parts import bucket_of; print(bucket_of('t1'), bucket_of(('talk', 'x')))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert outs == {f"{state_parts.bucket_of('t1')} {state_parts.bucket_of(('talk', 'x'))}\n"}


def test_every_part_has_rows_after_a_full_build(built: Path) -> None:  # noqa: F811
    # The table of parts names the stages' own values: renamed there, a part would be kept whole.
    with sqlite3.connect(state_path(built / "site")) as conn:
        have = {name for (name,) in conn.execute("SELECT DISTINCT part FROM parts")}
    conn.close()
    assert have == {part.name for part in state_parts.PARTS}


def test_a_title_edit_writes_a_few_buckets_of_the_parts(built: Path, tmp_path: Path,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(5))
    deltas: list[lod.publishing.state.Delta] = []
    apply = Store.apply

    def recorded(self: Store, delta: lod.publishing.state.Delta) -> int:
        deltas.append(delta)
        return apply(self, delta)

    monkeypatch.setattr(Store, "apply", recorded)
    run = Run()
    run(data, site)
    assert run.incremental, run.said
    with sqlite3.connect(state_path(site)) as conn:
        total = conn.execute("SELECT count(*) FROM parts").fetchone()[0]
    conn.close()
    (upserts, deletes), = [(u, d) for table, u, d in deltas[0].writes if table == "parts"]
    written = {name for name, _bucket, _value in upserts}
    assert {"pages.talks", "search.talks"} <= written  # the talk's list item and its words changed
    assert 0 < len(upserts) + len(deletes) <= 20 and total > 500  # 4 of 883 buckets, when written


def test_a_title_edit_reads_a_few_buckets_of_the_answers_the_search_index_and_the_home_page(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # The answers are read a bucket at a time, as a rebuild asks for the digests it may have changed;
    # the search index's contributions, as it makes the files of the edited talk's day and words again.
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(5))
    asked: list[tuple[str, int]] = []
    bucket = Store._bucket

    def counted(self: Store, part: str, n: int) -> bytes | None:
        asked.append((part, n))
        return bucket(self, part, n)

    monkeypatch.setattr(Store, "_bucket", counted)
    # The home page shows four dated talks here, so that it shows fewer than the data has (40).
    monkeypatch.setattr(listing, "HOME_UPCOMING", 2)
    monkeypatch.setattr(listing, "HOME_RECENT", 2)
    with sqlite3.connect(state_path(site)) as conn:
        stored = dict(conn.execute("SELECT part, count(*) FROM parts GROUP BY part").fetchall())
    conn.close()
    run = Run()
    run(data, site)
    assert run.incremental, run.said
    assert {part for part, _n in asked} <= {"answers", "search.talks", "pages.talks"}
    assert len(asked) == len(set(asked))  # each bucket read once
    read = Counter(part for part, _n in asked)
    assert 0 < read["answers"] < stored["answers"] // 4, (read, stored)
    assert 0 < read["search.talks"] < stored["search.talks"] // 4, (read, stored)
    assert read["pages.talks"] <= 8, (read, stored)  # the edited talk's, and those the home page shows


def test_a_damaged_bucket_of_the_answers_makes_a_full_build_that_names_it(built: Path, tmp_path: Path,  # noqa: F811
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    with sqlite3.connect(state_path(site)) as conn:
        conn.execute("UPDATE parts SET value = substr(value, 1, 5) WHERE part = 'answers'")
    conn.close()
    apply_edit(EDITS["talk_title"], data, random.Random(5))
    run = Run()
    result = run(data, site)
    assert not run.incremental and result.files
    reason = next(e for e in run.said if isinstance(e, FullBuildNeeded))
    assert reason.reason == "state-damaged"
    assert re.fullmatch(r"the answers bucket \d+: pickle data was truncated", reason.detail), reason.detail


def test_the_dumps_subjects_are_kept_apart_and_written_only_when_they_change() -> None:
    """A title edit changes the subjects' lengths, not the subjects: the 8 MB of them at 100k talks
    are not written again."""
    from array import array

    from lod.publishing.dumps import DumpIndex
    index = DumpIndex(sids=["<a>", "<b>"], nt=array("I", [10, 20]), json_sids=["a", "b"], json=array("I", [5, 6]))
    rest, _parts = state_parts.split({"dumps": index})
    assert rest["dumps"].sids == [] and rest["dumps:apart"] == (["<a>", "<b>"], ["a", "b"])
    assert index.sids == ["<a>", "<b>"]  # the value itself is not changed
    again = DumpIndex(sids=["<a>", "<b>"], nt=array("I", [10, 25]), json_sids=["a", "b"], json=array("I", [5, 6]))
    rest2, _parts = state_parts.split({"dumps": again})
    dumped = {k: pickle.dumps(v, pickle.HIGHEST_PROTOCOL) for k, v in rest.items()}
    dumped2 = {k: pickle.dumps(v, pickle.HIGHEST_PROTOCOL) for k, v in rest2.items()}
    assert dumped["dumps:apart"] == dumped2["dumps:apart"] and dumped["dumps"] != dumped2["dumps"]
    read = {k: pickle.loads(v) for k, v in dumped2.items()}
    state_parts.join(read, {})
    assert read == {"dumps": again}
