"""The data files' parses, pickled for the state, are kept on disk from when they are made
(lod.loading.spill), not in the build's memory until the state is written: the state gets
the same rows, and the temporary file is gone after the build, whether it succeeded or not."""

from __future__ import annotations

import os
import pickle
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import lod.publishing.pipeline
from lod.errors import RecordErrors
from lod.loading.spill import Spill
from lod.loading.stage import load_files
from lod.publishing import changes as inc
from lod.publishing import output
from lod.publishing.output import state_path
from lod.publishing.state import Overlay, Store

from .edits import EDITS, apply_edit
from lod.publishing.build import prepare
from .test_incremental import BASE, Run, _copy, _fixed_date, built  # noqa: F401 (fixtures)


def _open_files() -> set[str]:
    """What this process's open descriptors point at (a deleted file shows as '... (deleted)').

    A build may close files an earlier test left open (its collector frees their owners), so
    the tests check that nothing was left open beyond those before, not that the set is equal."""
    fds = Path("/proc/self/fd")
    found = set()
    for fd in fds.iterdir():
        try:
            found.add(os.readlink(fd))
        except OSError:
            pass
    return found


class Spills:
    """Every Spill the pipeline makes, and what the state to write held when it was written."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[Spill] = []
        self.states: list[inc.State] = []
        monkeypatch.setattr(lod.publishing.pipeline, "Spill", self._make)
        for cls in (output.NewSite, output.InPlace):
            monkeypatch.setattr(cls, "keep_state", self._seen(cls.keep_state))

    def _make(self, folder: Any) -> Spill:
        self.made.append(Spill(folder))
        return self.made[-1]

    def _seen(self, keep_state: Any) -> Any:
        def seen(output: Any, store: Store | None, old: inc.State, new: inc.State) -> None:
            self.states.append(new)
            keep_state(output, store, old, new)
        return seen


def _parse(blob: bytes) -> tuple[object, ...]:
    """A data file's parse as kept in the state, comparable (its ops have slots, no equality)."""
    rel, is_record_file, ops = pickle.loads(blob)
    return rel, is_record_file, [(type(op).__name__, *(getattr(op, name) for name in op.__slots__)) for op in ops]


def _rows(path: Path, table: str) -> dict[str, bytes]:
    with sqlite3.connect(path) as conn:
        return {k: bytes(v) for k, v in conn.execute(f"SELECT key, value FROM {table}")}


def test_a_full_build_holds_no_files_parse_in_memory_after_the_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.synth import write_synth

    write_synth(12, tmp_path / "data")
    spills = Spills(monkeypatch)
    open_before = _open_files()
    Run()(tmp_path / "data", tmp_path / "site")
    [spill, described], [state] = spills.made, spills.states
    # The second holds every resource's description from the dumps on (the pages read them back).
    assert sorted(described) == sorted(prepare(tmp_path / "data").descriptions) and described.closed
    # What the state writes are the parses in the spill, which holds every file's.
    assert isinstance(state.parsed, Overlay) and state.parsed.changes is spill
    expected: dict[str, bytes] = {}
    load_files(tmp_path / "data", keep=expected)
    assert sorted(spill) == sorted(expected) and spill.size() == sum(map(len, expected.values()))
    # The same rows as the parses themselves (pickles of the same values).
    stored = _rows(state_path(tmp_path / "site"), "parsed")
    assert stored.keys() == expected.keys()
    assert all(_parse(stored[k]) == _parse(expected[k]) for k in expected)
    # Gone: closed (an unnamed file, freed with it), and nothing left beside the site.
    assert spill.closed and _open_files() <= open_before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lod-state", "data", "site"]
    assert not list((tmp_path / "site").rglob(".lod-spill*"))


def test_a_failed_build_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.synth import write_synth

    write_synth(12, tmp_path / "data")
    spills = Spills(monkeypatch)
    open_before = _open_files()

    def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("the pages stage failed")

    with monkeypatch.context() as mp:  # after the load: the spill holds every file's parse
        mp.setattr("lod.publishing.pages.stage.render_some", broken)
        with pytest.raises(RuntimeError):
            Run()(tmp_path / "data", tmp_path / "site")
    series = sorted((tmp_path / "data" / "series").glob("*.yaml"))[0]
    series.write_text(series.read_text(encoding="utf-8").replace("  - id: ", "  - id: Bad Id ", 1), encoding="utf-8")
    with pytest.raises(RecordErrors):  # during the load
        Run()(tmp_path / "data", tmp_path / "site")
    assert len(spills.made) == 4 and len(spills.made[0]) > 0  # each build's parses and descriptions
    assert all(spill.closed for spill in spills.made) and _open_files() <= open_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    with pytest.raises(RecordErrors):  # into folders that do not exist yet: none is made
        Run()(tmp_path / "data", tmp_path / "new" / "deeper" / "site")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_rebuild_spills_only_the_files_it_parses_again_and_stores_the_same_rows(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    did = apply_edit(EDITS["talk_title"], data, random.Random(5))
    spills = Spills(monkeypatch)
    run = Run()
    run(data, site)
    assert run.incremental
    [spill, described] = spills.made
    assert len(spill) == 1 and spill.closed
    # Only the descriptions made again (the edited talk's, and those its check read), not every resource's.
    talk = BASE + "talk/" + did.split(":")[0].removeprefix("talk ")
    assert talk in described and len(described) * 4 < len(prepare(data).descriptions) and described.closed
    expected: dict[str, bytes] = {}
    load_files(data, keep=expected)
    stored = _rows(state_path(site), "parsed")
    assert stored.keys() == expected.keys()
    assert all(_parse(stored[k]) == _parse(expected[k]) for k in expected)


def test_a_spill_gives_back_each_blob_as_written(tmp_path: Path) -> None:
    blobs = {"a": b"", "b": b"x" * 3_000_000, "c": bytes(range(256)) * 7}
    with Spill(tmp_path / "new") as spill:
        for name, blob in blobs.items():
            spill[name] = blob
        spill["a"] = b"again"  # written again: the new bytes
        assert dict(spill) == {**blobs, "a": b"again"} and list(spill) == ["a", "b", "c"]
        del spill["c"]
        assert "c" not in spill and len(spill) == 2
        with pytest.raises(KeyError):
            spill["c"]
        assert list(tmp_path.iterdir()) == []  # it has no name, and made no folder
    assert spill.closed


def test_a_full_disk_while_spilling_fails_the_build_as_a_site_it_could_not_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from lod.errors import BuildError
    from lod.synth import write_synth

    write_synth(12, tmp_path / "data")
    Run()(tmp_path / "data", tmp_path / "site")
    before = sorted(p.name for p in tmp_path.iterdir())
    spills = Spills(monkeypatch)

    def full(*_args: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(BuildError, match="no space left on the device"):
        Run()(tmp_path / "data", tmp_path / "site", incremental=False)
    assert [spill.closed for spill in spills.made] == [True, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
