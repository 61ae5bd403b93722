"""Parallel loading (lod.loading.pool) gives exactly what one process gives: the same Dataset,
the same errors in the same words, also when a worker fails or dies."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from lod.loading import pool as loadpool
from lod.errors import RecordErrors
from lod.loading.stage import load, load_files
from lod.synth import write_synth

from .test_load import CASES, HEAD

SEED = Path(__file__).resolve().parents[1] / "data"


def _serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadpool, "PARALLEL_MIN_FILES", 10**9)


def _parallel(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Force the pool for any folder (even on one core): three workers each parse a third of
    the files. Counts the times the pool is used."""
    monkeypatch.setattr(loadpool, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(loadpool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(loadpool, "CHUNKS_PER_WORKER", 1)
    monkeypatch.setattr(loadpool, "_cores", lambda: 3)
    used: list[int] = []
    real = loadpool._parse_parallel

    def spy(*args: Any) -> None:
        used.append(1)
        real(*args)

    monkeypatch.setattr(loadpool, "_parse_parallel", spy)
    return used


def _load_both(monkeypatch: pytest.MonkeyPatch, data: Path) -> tuple[Any, Any]:
    """load(data) serially, then in parallel: each a Dataset or the error messages."""
    out = []
    for mode in ("serial", "parallel"):
        with monkeypatch.context() as m:
            used = _parallel(m) if mode == "parallel" else []
            if mode == "serial":
                _serial(m)
            try:
                out.append(load(data))
            except RecordErrors as exc:
                out.append(str(exc))
            assert used == ([1] if mode == "parallel" else [])
    return out[0], out[1]


def test_loadpool_seed_and_synth_datasets_equal_serial(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    serial, parallel = _load_both(monkeypatch, SEED)
    assert parallel == serial and len(serial.talks) == 29
    assert serial.files == parallel.files
    write_synth(300, tmp_path / "syn")
    serial, parallel = _load_both(monkeypatch, tmp_path / "syn")
    assert parallel == serial and len(serial.talks) == 300
    # The records a parent lists are the very records of the tables, as serially.
    for s in parallel.series.values():
        assert all(parallel.talks[t.id] is t for t in s.talks)


def _strings(value: Any) -> list[str]:
    """Every str inside a record's fields, its parts' and its lists'."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    return []


def test_loadpool_parses_are_pickled_by_the_workers_so_no_record_string_caches_utf8(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A str pickled in the parent keeps a UTF-8 copy of itself if it is not ASCII, for as long
    # as the string lives: the whole build. The workers pickle each parse for the state; the
    # parent only unpickles them, and keeps those very bytes.
    _parallel(monkeypatch)
    keep: dict[str, bytes] = {}
    loaded = load_files(SEED, keep)
    def parses(blobs: dict[str, bytes]) -> dict[str, Any]:
        return {rel: [(type(op).__name__, [getattr(op, n) for n in op.__slots__]) for op in pickle.loads(blob)[2]]
                for rel, blob in blobs.items()}

    kept = parses(keep)
    assert sorted(keep) == sorted(loaded.keys) and len(keep) > 3
    non_ascii = [s for _kind, rec in loaded.dataset.all_records() for s in _strings(rec) if not s.isascii()]
    assert len(non_ascii) > 20  # the seeds' names and titles
    assert [s for s in non_ascii if sys.getsizeof(s) != sys.getsizeof(s[:1] + s[1:])] == []
    with monkeypatch.context() as m:
        _serial(m)
        again: dict[str, bytes] = {}
        load_files(SEED, again)
    assert parses(again) == kept


def test_loadpool_bad_input_gives_the_same_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(SEED, d)
    # Every single-file case of test_load, each in its own file, plus problems across files:
    # an id used in two files, a second site block, a file too large.
    for name, (text, _) in sorted(CASES.items()):
        if name == "not_utf8":
            (d / f"z-{name}.yaml").write_bytes(text.encode("latin-1"))
        else:
            (d / f"z-{name}.yaml").write_text(text.replace("id: s,", f"id: s-{name},"), encoding="utf-8")
    (d / "z-dup-across.yaml").write_text(HEAD.replace("id: s,", "id: s-dup,") +
                                         "talks:\n  - {id: 2023-09-28-sadhika-malladi, sources: [s-dup]}\n")
    (d / "z-site-again.yaml").write_text("site:\n  title: Again\n  bogus: 1\n")
    (d / "a-site-first.yaml").write_text("site:\n  title: First\n  base_url: nonsense\n")
    (d / "z-too-big.yaml").write_text("#" * 1_100_000)
    monkeypatch.setattr(sys.modules["lod.loading.files"], "MAX_FILE_BYTES", 1_000_000)
    serial, parallel = _load_both(monkeypatch, d)
    assert isinstance(serial, str)
    for problem in ("already used at", "site settings are already given", "larger than", "not valid UTF-8",
                    "alias", "syntax error", "base_url"):
        assert problem in serial
    assert parallel == serial


def test_loadpool_site_block_is_taken_from_the_first_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(SEED, d)
    serial, parallel = _load_both(monkeypatch, d)
    assert parallel.site == serial.site and serial.site.loc.line == 1  # read from site.yaml, not the defaults


@pytest.mark.parametrize("how", ["raises", "dies"])
def test_loadpool_failing_worker_falls_back_to_the_serial_answer(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str) -> None:
    write_synth(100, tmp_path / "syn")
    (tmp_path / "syn" / "zz-bad.yaml").write_text("talks:\n  - {id: Bad Id}\n")
    with monkeypatch.context() as m:
        _serial(m)
        with pytest.raises(RecordErrors) as serial:
            load(tmp_path / "syn")

    def broken(root: Path, paths: list[Path], read_file: Any) -> Any:
        (tmp_path / f"worker-{os.getpid()}").touch()
        if how == "dies":
            os._exit(3)  # as a segfault would: no exception, no result
        raise RuntimeError("worker failed")

    used = _parallel(monkeypatch)
    monkeypatch.setattr(loadpool, "_parse_slice", broken)
    with pytest.raises(RecordErrors) as parallel:
        load(tmp_path / "syn")
    assert used == [1] and list(tmp_path.glob("worker-*"))  # the workers ran, and failed
    assert str(parallel.value) == str(serial.value)


def test_loadpool_never_forks_a_process_with_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    used = _parallel(monkeypatch)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        ds = load(SEED)
    finally:
        stop.set()
        other.join()
    assert used == [] and len(ds.talks) == 29
