"""The build state as an SQLite database (lod.publishing.state): a rebuild reads only the parses it needs
and writes only the changed rows; a state of another schema, a damaged one, or one behind the
site makes a full build that says why; a build stopped between publishing the site and storing
the state is completed by the next, which stays incremental."""

from __future__ import annotations

import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest

import lod.publishing.state
from lod.publishing.prepared import stamps as _stamps
from lod.progress import FullBuildNeeded
from lod.publishing.output import state_path
from lod.publishing.pipeline import read_state
from lod.publishing.state import Rows, Store, delta_path, generation_path
from lod.watch import text

from .edits import EDITS, apply_edit
from .test_incremental import BASE, Killed, Run, _copy, _fixed_date, _same_as_full, built  # noqa: F401 (fixtures)


def _reason(run: Run) -> FullBuildNeeded:
    return next(e for e in run.said if isinstance(e, FullBuildNeeded))


def test_rebuild_reads_the_parse_of_the_edited_file_only_and_writes_only_changed_rows(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    what = apply_edit(EDITS["talk_title"], data, random.Random(5))
    asked: list[str] = []
    getitem = Rows.__getitem__

    def counted(self: Rows, key: str) -> bytes:
        if self.table == "parsed":  # the records after resolution are read by row too, each file's
            asked.append(key)
        return getitem(self, key)

    monkeypatch.setattr(Rows, "__getitem__", counted)
    written: list[int] = []
    apply = Store.apply

    def recorded(self: Store, delta: lod.publishing.state.Delta) -> int:
        written.append(apply(self, delta))
        return written[-1]

    monkeypatch.setattr(Store, "apply", recorded)
    run = Run()
    result = run(data, site)
    assert run.incremental, (what, run.said)
    assert len(asked) == 1 and asked[0].startswith("data/series/")  # the one edited file's previous parse
    with sqlite3.connect(state_path(site)) as conn:
        rows = sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                   for t in lod.publishing.state.TABLES)
    assert 0 < written[0] < rows / 10
    assert not delta_path(state_path(site)).exists()  # stored, then removed
    _same_as_full(data, site, result, tmp_path)


def _parse(blob: bytes) -> tuple[object, ...]:
    """A data file's parse as kept in the state, comparable (its ops have slots, no equality)."""
    rel, is_record_file, ops = pickle.loads(blob)
    return rel, is_record_file, [(type(op).__name__, *(getattr(op, name) for name in op.__slots__)) for op in ops]


def test_state_after_rebuilds_equals_the_state_a_full_build_leaves(built: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    rng = random.Random(8)
    run = Run()
    for name in ("talk_title", "delete_talk", "add_talk_to_series", "rename_place"):
        apply_edit(EDITS[name], data, rng)
        run(data, site)
        assert run.incremental, run.said
    fresh = tmp_path / "fresh"
    run(data, fresh, incremental=False)
    a, b = read_state(site.absolute()), read_state(fresh)
    assert a is not None and b is not None
    assert a.generation == 4 and b.generation == 0
    now = _stamps(data)  # the stamps of files written just now are left out (lod.publishing.pipeline.settled)
    assert a.stamps and all(now[rel] == stamp for rel, stamp in a.stamps.items())
    assert {k: _parse(v) for k, v in a.parsed.items()} == {k: _parse(v) for k, v in b.parsed.items()}
    assert {k: pickle.loads(v) for k, v in a.resolved.items()} == {k: pickle.loads(v) for k, v in b.resolved.items()}
    assert a.results == b.results
    for key in ("deps", "links", "google", "files", "sitemaps", "dumps", "pages", "search", "answers"):
        assert a.extra[key] == b.extra[key], key


def test_a_key_of_extra_the_state_does_not_know_is_kept(built: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    state = read_state(site.absolute())
    assert state is not None
    state.extra["another stage"] = {"any": ["value", 1]}
    lod.publishing.state.write_new(state_path(site.absolute()), state)
    again = read_state(site.absolute())
    assert again is not None and again.extra["another stage"] == {"any": ["value", 1]}


def _change_row(conn: sqlite3.Connection, text: str, change: Callable[[bytes], bytes]) -> None:
    """Change the stored read-set of the key *text* in the chunk that holds it."""
    from lod.publishing.link_chunks import pack, unpack
    for label, blob in conn.execute("SELECT key, value FROM links").fetchall():
        texts, joined, sizes = unpack(blob)
        if text in texts:
            ends = list(accumulate(sizes))
            rows = [joined[end - size:end] for end, size in zip(ends, sizes)]
            i = texts.index(text)
            rows[i] = change(rows[i])
            conn.execute("UPDATE links SET value = ? WHERE key = ?", (pack(texts, rows), label))
            return
    raise AssertionError(f"no read-set of {text!r}")


@pytest.mark.parametrize("how, said", [
    ("not sqlite", FullBuildNeeded("state-damaged", "not an SQLite database")),
    ("a pickle", FullBuildNeeded("state-version", "a pickle from an earlier lod")),
    ("old schema", FullBuildNeeded("state-version", "schema 0, this lod reads 12")),
    ("no meta", FullBuildNeeded("state-damaged", "no such table: meta")),
    ("bad row", FullBuildNeeded("state-damaged", "pickle data was truncated")),
    ("no key numbering", FullBuildNeeded("state-damaged", "its key numbering: no such table: link_keys")),
    ("a key lost", FullBuildNeeded("state-damaged", "its key numbering: 10 numbers for 4 keys")),
    # A read-set read as it is would leave its page out of the rebuild: stale, silently.
    ("a read-set cut short", FullBuildNeeded(
        "state-damaged", "the read-set of vevent 'series-0-0': 5 bytes, not a whole number of key numbers")),
    ("a read-set of no key", FullBuildNeeded(
        "state-damaged", "the read-set of vevent 'series-0-0': a key number past the {keys} keys numbered")),
])
def test_an_unusable_state_makes_a_full_build_that_says_why(how: str, said: FullBuildNeeded, built: Path,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    path = state_path(site)
    if how == "not sqlite":
        path.write_bytes(b"not a database")
    elif how == "a pickle":
        path.write_bytes(pickle.dumps({"an": "old state"}, pickle.HIGHEST_PROTOCOL))
    else:
        with sqlite3.connect(path) as conn:
            if how == "old schema":
                conn.execute("UPDATE meta SET value = 0 WHERE key = 'schema'")
            elif how == "no meta":
                conn.execute("DROP TABLE meta")
            elif how == "no key numbering":
                conn.execute("DROP TABLE link_keys")
            elif how == "a key lost":  # the numbers must run from 0 without a gap
                conn.execute("DELETE FROM link_keys WHERE key >= 3")
                conn.execute("INSERT INTO link_keys (key, value) VALUES (9, 'talk\x1fx')")
            elif how == "a read-set cut short":
                _change_row(conn, "vevent\x1fseries-0-0", lambda row: row[:5])
            elif how == "a read-set of no key":
                _change_row(conn, "vevent\x1fseries-0-0", lambda row: bytes.fromhex("ffffff7f"))
                keys = conn.execute("SELECT count(*) FROM link_keys").fetchone()[0]
                said = FullBuildNeeded(said.reason, said.detail.format(keys=keys))
            else:
                conn.execute("UPDATE google SET value = substr(value, 1, 5)")
        conn.close()
    apply_edit(EDITS["talk_title"], data, random.Random(2))
    run = Run()
    result = run(data, site)
    assert _reason(run) == said
    assert not run.incremental and result.files
    assert read_state(site.absolute()) is not None  # replaced: the next build is incremental


@pytest.mark.parametrize("table, what, edited_only", [("resolved", "records", False), ("parsed", "parse", False),
                                                      ("resolved", "records", True)])
def test_a_damaged_row_of_a_data_file_makes_a_full_build_that_names_the_file(
        table: str, what: str, edited_only: bool, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    did = apply_edit(EDITS["talk_title"], data, random.Random(2))
    talk = did.split(":")[0].removeprefix("talk ")
    edited = next(str(path) for path in sorted(data.rglob("*.yaml"))  # the file holding the edited talk
                  if f"id: {talk}\n" in path.read_text(encoding="utf-8"))
    with sqlite3.connect(state_path(site)) as conn:  # every row, or only the edited file's (read after the load)
        conn.execute(f"UPDATE {table} SET value = substr(value, 1, 5)" + (" WHERE key = ?" if edited_only else ""),
                     (edited,) if edited_only else ())
        assert conn.total_changes >= 1
    conn.close()
    run = Run()
    assert run(data, site).files and not run.incremental
    reason = _reason(run)
    assert reason.reason == "state-damaged" and reason.detail.startswith(f"the {what} of ")
    assert reason.detail.endswith(".yaml: pickle data was truncated")


def test_a_truncated_state_makes_a_full_build(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    path = state_path(site)
    os.truncate(path, path.stat().st_size // 3)
    run = Run()
    result = run(data, site)
    reason = _reason(run)
    assert reason.reason == "state-damaged" and reason.detail, run.said
    assert not run.incremental and result.files
    assert read_state(site.absolute()) is not None


def test_the_cli_says_why_the_state_could_not_be_used() -> None:
    assert text(FullBuildNeeded("state-damaged", "not an SQLite database")) == \
        "full build: the state beside the site cannot be read (not an SQLite database)"
    assert text(FullBuildNeeded("state-version", "schema 0, this lod reads 12")) == \
        "full build: the state beside the site is in another format (schema 0, this lod reads 12)"
    assert text(FullBuildNeeded("state-behind")) == \
        "full build: the state beside the site is older than the site (a build was stopped after publishing)"


def _killed(_label: str) -> None:
    raise Killed  # as if the process died inside the state's transaction, past the journal's commit


def test_rebuild_killed_between_the_journal_commit_and_the_state_commit_is_stored_by_the_next(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(11))

    monkeypatch.setattr(lod.publishing.state, "_step", _killed)
    with pytest.raises(Killed):
        Run()(data, site)
    assert delta_path(state_path(site)).is_file()
    assert generation_path(state_path(site)).read_text() == "1\n"  # the site is one ahead of the state
    monkeypatch.setattr(lod.publishing.state, "_step", lambda _label: None)
    run = Run()
    result = run(data, site)  # stores the delta first, then finds nothing left to do
    assert run.incremental, run.said
    assert run.published == {"written": 0, "deleted": 0}
    assert not delta_path(state_path(site)).exists()
    _same_as_full(data, site, result, tmp_path)
    apply_edit(EDITS["talk_speakers"], data, random.Random(12))
    result = run(data, site)
    assert run.incremental, run.said
    _same_as_full(data, site, result, tmp_path)


def test_rebuild_whose_state_cannot_be_stored_says_its_changes_wait_and_the_next_build_stores_them(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.progress import StateNotSaved

    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(11))

    def full(_self: Store, _delta: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as m:
        m.setattr(Store, "apply", full)
        run = Run()
        run(data, site)
    assert StateNotSaved("database or disk is full", pending=True) in run.said
    assert delta_path(state_path(site)).is_file()
    run = Run()
    result = run(data, site)  # the delta is stored first: still incremental, nothing left to publish
    assert run.incremental, run.said
    assert not delta_path(state_path(site)).exists()
    _same_as_full(data, site, result, tmp_path)


def test_a_state_behind_its_site_makes_a_full_build(built: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    apply_edit(EDITS["talk_title"], data, random.Random(11))
    monkeypatch.setattr(lod.publishing.state, "_step", _killed)
    with pytest.raises(Killed):
        Run()(data, site)
    monkeypatch.setattr(lod.publishing.state, "_step", lambda _label: None)
    delta_path(state_path(site)).unlink()  # the published changes to the state are lost
    run = Run()
    result = run(data, site)
    assert _reason(run) == FullBuildNeeded("state-behind")
    _same_as_full(data, site, result, tmp_path)
    assert not generation_path(state_path(site)).exists()  # a full build is generation 0


_KILL_MID_TRANSACTION = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("DELETE FROM resolved")
conn.execute("UPDATE meta SET value = 'torn' WHERE key = 'fingerprint'")
conn.execute("CREATE TABLE filler (x BLOB)")
conn.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(4096),) for _ in range(2000)])  # past the page cache
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_state_transaction_killed_midway_is_rolled_back_by_the_next_build(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, site = _copy(built, tmp_path, monkeypatch)
    path = state_path(site).absolute()
    proc = subprocess.run([sys.executable, "-c", _KILL_MID_TRANSACTION, str(path)])
    assert proc.returncode == -signal.SIGKILL
    assert Path(f"{path}-journal").is_file()  # SQLite's rollback journal, hot
    apply_edit(EDITS["talk_title"], data, random.Random(4))
    run = Run()
    result = run(data, site)
    assert run.incremental, run.said  # the state as it was before the killed transaction
    assert not Path(f"{path}-journal").exists()
    _same_as_full(data, site, result, tmp_path)


def test_a_full_build_that_cannot_write_its_state_says_so_and_publishes(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.progress import StateNotSaved
    from lod.synth import write_synth

    data = tmp_path / "data"
    write_synth(3, data)

    def full(*_a: object, **_k: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(lod.publishing.state.sqlite3, "connect", full)
    run = Run()
    run(data, tmp_path / "site")
    tmp = state_path(tmp_path / "site").with_name(f".site.lod-state.tmp-{os.getpid()}")
    assert StateNotSaved(f"database or disk is full ({tmp})") in run.said
    assert (tmp_path / "site" / "index.html").is_file()
    assert text(StateNotSaved("x")) == \
        "note: could not save the build state beside the site (x); the next build will be a full one"
    # A rebuild's changes that could not be stored wait beside the site as its delta: not a full build.
    assert text(StateNotSaved("x", pending=True)) == ("note: could not save the build state beside the site (x); "
                                                      "its changes wait beside the site and the next build stores "
                                                      "them first")


def test_other_code_is_told_before_the_rows_are_read(built: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import lod.publishing.changes

    data, site = _copy(built, tmp_path, monkeypatch)
    with sqlite3.connect(state_path(site)) as conn:
        conn.execute("UPDATE google SET value = x'00'")  # what other code might not unpickle
    conn.close()
    monkeypatch.setattr(lod.publishing.changes, "code_digest", lambda: "another version")
    run = Run()
    run(data, site)
    assert _reason(run) == FullBuildNeeded("other-code")


def test_talk_pages_with_the_same_google_gaps_share_them_when_the_state_is_read(built: Path) -> None:  # noqa: F811
    state = read_state(built / "site")
    assert state is not None
    gaps = state.extra["google"]
    lists = list(gaps.values())
    assert len(lists) > len({tuple(g) for g in lists}) > 1  # pages lacking the same things, and others
    assert len({id(g) for g in lists}) == len({tuple(g) for g in lists})  # one object per distinct value


def test_a_rebuild_looks_the_key_numbering_up_a_key_at_a_time(built: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The state's numbering of the read-sets' keys, as a rebuild reads it (``state_keys.StoredCodec``):
    # nothing read whole, the same numbers as the table's, new keys numbered after them.
    from lod.publishing.links import LinkCodec
    from lod.publishing.state_keys import StoredCodec

    store, table = _numbering(built, tmp_path, monkeypatch)
    state = store.load()
    codec = state.extra["links"].codec
    assert isinstance(codec, StoredCodec) and len(codec.keys) == len(table) > 100
    assert codec.keys._found == {} and codec.number._found == {}  # type: ignore[attr-defined]
    assert [codec.keys[n] for n in (0, 7, len(table) - 1, -1)] == [table[0], table[7], table[-1], table[-1]]
    assert codec.number[table[42]] == 42 and table[5] in codec.number and ("talk", "no such talk") not in codec.number
    assert codec.keys[1:3] == table[1:3] and list(codec.keys) == table
    node = next(iter(state.extra["links"]))
    assert state.extra["links"][node] == frozenset(table[n] for n in numbers_of(state.extra["links"].rows[node]))
    row = codec.encode([table[2], ("talk", "a new talk"), ("talk", "another")])
    assert codec.keys[len(table)] == ("talk", "a new talk") and codec.number[("talk", "another")] == len(table) + 1
    assert sorted(numbers_of(row)) == [2, len(table), len(table) + 1]
    assert codec.take_added() == [(len(table), "talk\x1fa new talk"), (len(table) + 1, "talk\x1fanother")]
    assert codec.take_added() == []
    plain = pickle.loads(pickle.dumps(codec))
    assert type(plain) is LinkCodec and plain.keys == [*table, ("talk", "a new talk"), ("talk", "another")]
    store.close()


def test_a_rebuild_numbers_its_new_keys_after_looking_them_up_many_at_a_time(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.publishing import state_keys
    monkeypatch.setattr(state_keys, "LOOKUP", 7)  # several queries, the last one short
    store, table = _numbering(built, tmp_path, monkeypatch)
    codec = store.load().extra["links"].codec
    new = [("talk", f"new {i}") for i in range(10)] + [("odd\x1fkind", "x")]  # a kind no read-set holds
    assert codec.unnumbered({*table[::3], *new}) == set(new)
    assert codec.number._found == {key: n for n, key in enumerate(table) if n % 3 == 0}  # type: ignore[attr-defined]
    codec.register([*table[:20], *new[:10]])
    assert [codec.number[key] for key in new[:10]] == list(range(len(table), len(table) + 10))
    assert [codec.number[key] for key in table[:20]] == list(range(20))
    store.close()


def _numbering(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[tuple[str, str]]]:
    """The opened state of a copy of the built site, and its key numbering as the table holds it."""
    from lod.publishing.links import text_key
    from lod.publishing.state import Store

    _data, site = _copy(built, tmp_path, monkeypatch)
    with sqlite3.connect(state_path(site)) as conn:
        table = [text_key(v) for (v,) in conn.execute("SELECT value FROM link_keys ORDER BY key")]
    conn.close()
    store = Store.open(state_path(site))
    assert store is not None
    return store, table


def numbers_of(row: bytes) -> list[int]:
    from lod.publishing.links import numbers

    return list(numbers(row))
