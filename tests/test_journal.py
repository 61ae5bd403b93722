"""lod.publishing.journal: an in-place publication is all or nothing, and a kill at any step rolls forward."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import lod.publishing.journal
from lod.errors import BuildError
from lod.publishing.journal import begin, recover

from .conftest import REPO


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under *root*."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


def beside(out: Path) -> dict[str, bytes | None]:
    """Everything in OUT.parent: the site, its state folder, and any staging left over."""
    return tree(out.parent)


OLD = {"index.html": b"home v1", "talk/a.html": b"a v1", "talk/b.html": b"b v1", "person/p/only.ttl": b"p",
       "person/q.ttl": b"q", "deep/x/y/z.nt": b"z", "keep/k.txt": b"k"}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    site = tmp_path / "pub" / "site"
    for rel, data in OLD.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    state = tmp_path / "pub" / ".site.lod-state"
    state.mkdir()
    (state / "state.json").write_bytes(b'{"v": 1}')
    return site


def change(txn: lod.publishing.journal.Transaction) -> None:
    """One edit: replace, create in new folders, delete (emptying nested folders), and the state beside."""
    txn.write("index.html", b"home v2")
    txn.write("talk/a.html", b"a v2")
    txn.write("talk/new.html", b"new")
    txn.write("series/s/feed.ics", b"ics")
    txn.write("person/q.ttl", b"q v2")
    txn.delete("talk/b.html")
    txn.delete("person/p/only.ttl")
    txn.delete("deep/x/y/z.nt")
    txn.delete("never/was.txt")
    txn.put_extra(txn.out.parent / ".site.lod-state" / "state.json", b'{"v": 2}')


def expected(out: Path) -> dict[str, bytes | None]:
    return {"site": None, "site/index.html": b"home v2", "site/talk": None, "site/talk/a.html": b"a v2",
            "site/talk/new.html": b"new", "site/series": None, "site/series/s": None,
            "site/series/s/feed.ics": b"ics", "site/person": None, "site/person/q.ttl": b"q v2",
            "site/keep": None, "site/keep/k.txt": b"k", ".site.lod-state": None,
            ".site.lod-state/state.json": b'{"v": 2}'}


def test_commit_writes_replaces_deletes_and_prunes_emptied_folders(out: Path) -> None:
    with begin(out) as txn:
        change(txn)
        txn.commit()
    assert beside(out) == expected(out)
    assert txn.state == "done"


def test_adopt_publishes_a_file_written_elsewhere_by_renaming_it(out: Path) -> None:
    with begin(out) as txn:
        big = txn.staging / "scratch-dump.nt"
        big.write_bytes(b"<a> <b> <c> .\n")
        txn.adopt("dump.nt", big)
        assert not big.exists()
        txn.commit()
    assert (out / "dump.nt").read_bytes() == b"<a> <b> <c> .\n"


def test_delete_last_file_keeps_out_itself(tmp_path: Path) -> None:
    out = tmp_path / "site"
    (out / "a" / "b").mkdir(parents=True)
    (out / "a" / "b" / "f").write_bytes(b"f")
    (out / "g").write_bytes(b"g")
    with begin(out) as txn:
        txn.delete("a/b/f")
        txn.delete("g")
        txn.commit()
    assert out.is_dir() and list(out.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_delete_extra_prunes_the_state_folder_but_not_out_parent(out: Path) -> None:
    with begin(out) as txn:
        txn.delete_extra(out.parent / ".site.lod-state" / "state.json")
        txn.commit()
    assert sorted(p.name for p in out.parent.iterdir()) == ["site"]


def test_abort_and_exceptions_leave_out_untouched(out: Path) -> None:
    before = beside(out)
    txn = begin(out)
    change(txn)
    assert beside(out) != before  # the staging folder is there …
    txn.abort()
    assert beside(out) == before  # … and gone, OUT and the state byte for byte the same
    with pytest.raises(ZeroDivisionError):
        with begin(out) as txn:
            change(txn)
            raise ZeroDivisionError
    assert beside(out) == before
    with begin(out) as txn:  # leaving the block without commit publishes nothing
        change(txn)
    assert beside(out) == before
    with pytest.raises(BuildError, match="is aborted; begin a new one"):
        txn.write("x", b"x")


def test_commit_failing_before_the_commit_point_leaves_out_untouched(out: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = beside(out)
    real = os.fsync

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        with begin(out) as txn:
            change(txn)
            txn.commit()
    monkeypatch.setattr(os, "fsync", real)
    assert beside(out) == before
    assert recover(out) is False


class Killed(BaseException):
    """A kill at one step: no except or finally of the library may tidy up after it."""


def steps(out: Path) -> list[str]:
    """The labels of every step of one commit, in order, from a run on a copy."""
    seen: list[str] = []
    lod.publishing.journal._step = seen.append
    try:
        with begin(out) as txn:
            change(txn)
            txn.commit()
    finally:
        lod.publishing.journal._step = lod.publishing.journal._no_step
    return seen


def kill_at(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    count = iter(range(10**9))

    def step(label: str) -> None:
        if next(count) == k:
            raise Killed(label)

    monkeypatch.setattr(lod.publishing.journal, "_step", step)


def fresh(tmp_path: Path, name: str) -> Path:
    site = tmp_path / name / "site"
    for rel, data in OLD.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    (site.parent / ".site.lod-state").mkdir()
    (site.parent / ".site.lod-state" / "state.json").write_bytes(b'{"v": 1}')
    return site


def test_recover_after_a_kill_at_every_step_yields_old_or_exactly_the_new_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labels = steps(fresh(tmp_path, "probe"))
    assert labels[:2] == ["journal written", "committed"] and labels[-1] == "journal removed"
    assert len(labels) == 2 + 4 + 6 + 1  # 4 deletions, 6 moves (5 in OUT, 1 beside)
    assert labels[-2] == "moved .site.lod-state/state.json"  # the state changes last
    old = beside(fresh(tmp_path, "old"))
    for k, label in enumerate(labels):
        out = fresh(tmp_path, f"k{k}")
        kill_at(k, monkeypatch)
        with pytest.raises(Killed):
            with begin(out) as txn:
                change(txn)
                txn.commit()
        monkeypatch.setattr(lod.publishing.journal, "_step", lod.publishing.journal._no_step)
        now = beside(out)
        if now[".site.lod-state/state.json"] == b'{"v": 2}':  # the state is new only once the site is whole
            assert {n: v for n, v in now.items() if n.startswith("site")} == \
                {n: v for n, v in expected(out).items() if n.startswith("site")}, label
        if k == 0:  # killed before the commit point: OUT untouched, the staging is garbage
            assert {n: v for n, v in beside(out).items() if not n.startswith(".site.txn-")} == old
            assert recover(out) is False
            assert beside(out) == old, label
        else:  # after it: the new version, rolled forward (if the kill came before the journal's removal)
            assert recover(out) is (label != "journal removed"), label
            assert beside(out) == expected(out), label
        assert recover(out) is False  # idempotent: nothing left to do
        assert beside(out) in (old, expected(out))


def test_recover_killed_itself_at_every_step_still_rolls_forward(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    labels = steps(fresh(tmp_path, "probe"))
    for k in range(2, len(labels), 3):  # the first kill mid-apply
        for j in range(len(labels) - k):  # the second, during the recovery of the first
            out = fresh(tmp_path, f"k{k}-{j}")
            kill_at(k, monkeypatch)
            with pytest.raises(Killed):
                with begin(out) as txn:
                    change(txn)
                    txn.commit()
            kill_at(j, monkeypatch)
            with pytest.raises(Killed):
                recover(out)
            monkeypatch.setattr(lod.publishing.journal, "_step", lod.publishing.journal._no_step)
            recover(out)
            assert beside(out) == expected(out), (k, j)


def test_begin_rolls_an_interrupted_transaction_forward_first(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = fresh(tmp_path, "x")
    kill_at(5, monkeypatch)
    with pytest.raises(Killed):
        with begin(out) as txn:
            change(txn)
            txn.commit()
    monkeypatch.setattr(lod.publishing.journal, "_step", lod.publishing.journal._no_step)
    with begin(out) as txn:  # the next edit applies over the whole previous one, never under it
        txn.write("talk/a.html", b"a v3")
        txn.commit()
    assert beside(out) == {**expected(out), "site/talk/a.html": b"a v3"}


KILLER = """
import os, sys
from pathlib import Path
import lod.publishing.journal
from tests.test_journal import change
k = int(sys.argv[2])
count = iter(range(10**9))
lod.publishing.journal._step = lambda label: os._exit(9) if next(count) == k else None
with lod.publishing.journal.begin(Path(sys.argv[1])) as txn:
    change(txn)
    txn.commit()
"""


def test_recover_after_a_real_process_exit_mid_apply(tmp_path: Path) -> None:
    for k in (0, 1, 4, 9, 12):
        out = fresh(tmp_path, f"k{k}")
        old = beside(out)
        done = subprocess.run([sys.executable, "-c", KILLER, str(out), str(k)], cwd=REPO)
        assert done.returncode == 9
        assert any(p.name.startswith(".site.txn-") for p in out.parent.iterdir())
        assert recover(out) is (0 < k < 12)
        assert beside(out) == (old if k == 0 else expected(out)), k


def test_recover_removes_uncommitted_staging_and_leaves_full_build_names(out: Path) -> None:
    before = beside(out)
    junk = out.parent / ".site.txn-4242"
    (junk / "d").mkdir(parents=True)
    (junk / "d" / "0").write_bytes(b"half")
    (junk / "journal.tmp").write_bytes(b'{"trunc')
    tmp = out.parent / ".site.tmp-77"  # a full build's staging: not ours to touch
    tmp.mkdir()
    old = out.parent / ".site.old"
    old.mkdir()
    assert recover(out) is False
    assert beside(out) == {**before, ".site.tmp-77": None, ".site.old": None}


def test_recover_without_anything_to_do_is_a_no_op(tmp_path: Path) -> None:
    assert recover(tmp_path / "site") is False
    assert recover(tmp_path / "absent" / "site") is False


@pytest.mark.parametrize("rel, why", [
    ("/etc/passwd", "it is an absolute path, not a path inside site/"),
    ("../escape.html", "'..' leads out of site/"),
    ("talk/../../escape.html", "'..' leads out of site/"),
    ("talk//a.html", "an empty, '.' or NUL path segment"),
    ("./a.html", "an empty, '.' or NUL path segment"),
])
def test_write_refuses_a_path_that_escapes_out(out: Path, rel: str, why: str) -> None:
    before = beside(out)
    with pytest.raises(BuildError) as info:
        with begin(out) as txn:
            txn.write("index.html", b"never")
            txn.write(rel, b"x")
    assert str(info.value) == f"refusing to write {rel!r}: {why}. Nothing was published and site/ is unchanged."
    assert beside(out) == before


def test_write_refuses_a_path_through_a_symbolic_link(out: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "talk" / "link").symlink_to(elsewhere)
    before = beside(out)
    with pytest.raises(BuildError) as info:
        with begin(out) as txn:
            txn.delete("talk/link/victim.html")
    assert str(info.value) == (f"refusing to delete 'talk/link/victim.html': {out}/talk/link is a symbolic link, "
                               "which could lead out of the output folder. Nothing was published and site/ "
                               "is unchanged.")
    assert beside(out) == before and list(elsewhere.iterdir()) == []


def test_put_extra_refuses_a_path_inside_out_or_not_beside_it(out: Path, tmp_path: Path) -> None:
    with begin(out) as txn:
        with pytest.raises(BuildError) as info:
            txn.put_extra(out / "index.html", b"x")
        assert str(info.value) == (f"refusing to write '{out}/index.html': it is inside site/; use write or delete. "
                                   "Nothing was published and site/ is unchanged.")
        with pytest.raises(BuildError) as info:
            txn.put_extra(tmp_path / "other.txt", b"x")
        assert str(info.value) == (f"refusing to write '{tmp_path}/other.txt': it is not under {out.parent}. "
                                   "Nothing was published and site/ is unchanged.")
        with pytest.raises(BuildError, match="it is in a staging folder of the builds"):
            txn.put_extra(out.parent / ".site.tmp-1" / "x", b"x")
        with pytest.raises(BuildError, match="must be named by an absolute path"):
            txn.put_extra("state.json", b"x")


def test_write_refuses_conflicts_the_apply_could_not_finish(out: Path) -> None:
    before = beside(out)
    with begin(out) as txn:
        with pytest.raises(BuildError) as info:
            txn.write("talk", b"a file where a folder is")
        assert str(info.value) == (f"refusing to write 'talk': {out}/talk is a folder. Nothing was published "
                                   "and site/ is unchanged.")
        with pytest.raises(BuildError, match=f"{out}/index.html is a file, not a folder"):
            txn.write("index.html/x", b"x")
        txn.write("new/x", b"x")
        txn.write("new", b"y")
        with pytest.raises(BuildError, match="'new' is written as a file in the same transaction"):
            txn.commit()
    assert beside(out) == before


def test_write_then_delete_and_delete_then_write_keep_the_last(out: Path) -> None:
    with begin(out) as txn:
        txn.write("talk/a.html", b"gone")
        txn.delete("talk/a.html")
        txn.delete("talk/b.html")
        txn.write("talk/b.html", b"b v2")
        txn.write("talk/b.html", b"b v3")
        txn.commit()
    after = tree(out)
    assert "talk/a.html" not in after and after["talk/b.html"] == b"b v3"


def test_begin_refuses_an_out_that_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="is not a folder"):
        begin(tmp_path / "missing")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(BuildError, match="is a symbolic link"):
        begin(tmp_path / "link")


def test_commit_applies_with_one_rename_per_file(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(a: str, b: str) -> None:
        calls.append("replace")
        real_replace(a, b)

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    with begin(out) as txn:
        for i in range(50):
            txn.write(f"talk/n{i}.html", b"x")
        txn.commit()
    assert calls.count("replace") == 50
    assert calls.count("fsync") == 2  # the journal and its folder, not the data files


def test_recover_finishes_pruning_cut_short_between_two_folders(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out = fresh(tmp_path, "x")
    kill_at(1, monkeypatch)  # just after the commit point
    with pytest.raises(Killed):
        with begin(out) as txn:
            change(txn)
            txn.commit()
    monkeypatch.setattr(lod.publishing.journal, "_step", lod.publishing.journal._no_step)
    (out / "deep" / "x" / "y" / "z.nt").unlink()  # as if killed inside the pruning of deep/x/y/z.nt:
    (out / "deep" / "x" / "y").rmdir()  # y removed, x and deep not yet
    assert recover(out) is True
    assert beside(out) == expected(out)


def test_commit_failing_after_the_commit_point_is_finished_by_recover(out: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.replace
    calls = iter(range(10**9))

    def denied(a: str, b: str) -> None:
        if next(calls) == 2:
            raise PermissionError(13, "Permission denied", b)
        real(a, b)

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(BuildError) as info:
        with begin(out) as txn:
            change(txn)
            txn.commit()
    assert str(info.value) == ("the new version of site/ was committed but could not be applied: Permission denied "
                               f"({out}/series/s/feed.ics). The next build (or lod.publishing.journal.recover) finishes "
                               "publishing it.")
    assert txn.state == "committed" and txn.staging.is_dir()  # leaving the with block did not abort it
    monkeypatch.setattr(os, "replace", real)
    assert recover(out) is True
    assert beside(out) == expected(out)


def test_commit_with_sync_flushes_once_before_the_commit_point(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    journal = out.parent / f".site.txn-{os.getpid()}" / "journal"
    monkeypatch.setattr(os, "sync", lambda: synced.append(journal.exists()))
    with begin(out, sync=True) as txn:
        change(txn)
        txn.commit()
    assert synced == [False]
    assert beside(out) == expected(out)


def test_recover_repeats_a_deletion_under_what_has_become_a_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"
    out.mkdir()

    def edit(txn: lod.publishing.journal.Transaction) -> None:
        txn.delete("x/y")  # never there; its folder x becomes a file in the same transaction
        txn.write("x", b"x")

    kill_at(3, monkeypatch)  # journal written, committed, deleted x/y, moved x: killed before the journal goes
    with pytest.raises(Killed):
        with begin(out) as txn:
            edit(txn)
            txn.commit()
    monkeypatch.setattr(lod.publishing.journal, "_step", lod.publishing.journal._no_step)
    assert recover(out) is True
    assert tree(tmp_path) == {"site": None, "site/x": b"x"}


def test_recover_leaves_the_staging_of_another_out_with_a_similar_name(out: Path) -> None:
    other = out.parent / ".site.txn-x.txn-12"  # the staging of an OUT named "site.txn-x"
    other.mkdir()
    assert recover(out) is False
    assert other.is_dir()


def test_recover_drops_a_committed_transaction_when_out_was_removed(out: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    kill_at(1, monkeypatch)
    with pytest.raises(Killed):
        with begin(out) as txn:
            change(txn)
            txn.commit()
    monkeypatch.setattr(lod.publishing.journal, "_step", lod.publishing.journal._no_step)
    shutil.rmtree(out)
    assert recover(out) is False
    assert beside(out) == {".site.lod-state": None, ".site.lod-state/state.json": b'{"v": 1}'}


# ---------------------------------------------------------------- readers never see a mix (issue 13.3)

PAGES = 300
SIGKILLER = """
import os, signal, sys
from pathlib import Path
import lod.publishing.journal
k = int(sys.argv[2])
count = iter(range(10**9))
lod.publishing.journal._step = lambda label: os.kill(os.getpid(), signal.SIGKILL) if next(count) == k else None
with lod.publishing.journal.begin(Path(sys.argv[1])) as txn:
    for i in range(%d):
        txn.write(f"talk/t{i}.html", b"v2 " + str(i).encode())
    txn.commit()
""" % PAGES


def served_site(tmp_path: Path) -> Path:
    """A site `lod serve` accepts (marker, dump) of PAGES talk pages, all of version 1."""
    site = tmp_path / "pub" / "site"
    (site / "talk").mkdir(parents=True)
    (site / ".lod-site.json").write_text('{"base_url": "http://example.org/", "generator": "lod"}')
    (site / "dump.nt").write_bytes(b"")
    for i in range(PAGES):
        (site / f"talk/t{i}.html").write_bytes(b"v1 " + str(i).encode())
    return site


def sigkill_mid_apply(site: Path) -> None:
    """Publish version 2 of every page and SIGKILL the publisher half-way through the apply."""
    done = subprocess.run([sys.executable, "-c", SIGKILLER, str(site), str(2 + PAGES // 2)], cwd=REPO)
    assert done.returncode == -9
    versions = [(site / f"talk/t{i}.html").read_bytes()[:2] for i in range(PAGES)]
    # On disk the site is mixed (151 new, 149 old): what a static web server would serve.
    assert versions.count(b"v2") == PAGES // 2 + 1 and versions.count(b"v1") == PAGES // 2 - 1


def get(app: object, paths: list[str]) -> list[httpx.Response]:
    """GET each path from the ASGI *app* (without its lifespan: the SPARQL workers are not started)."""
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://example.org") as client:
            return [await client.get(path, headers={"Accept": "application/json"}) for path in paths]
    return asyncio.run(run())


def pages_served(app: object) -> set[bytes]:
    return {r.content[:2] for r in get(app, [f"/talk/t{i}.html" for i in range(PAGES)])}


def test_serve_started_after_a_sigkill_mid_apply_serves_only_the_new_site(tmp_path: Path) -> None:
    from lod.serving.server import create_app

    site = served_site(tmp_path)
    sigkill_mid_apply(site)
    assert pages_served(create_app(site)) == {b"v2"}
    assert not [p for p in site.parent.iterdir() if p.name.startswith(".site.txn-")]


def test_serve_running_during_a_sigkill_mid_apply_serves_only_the_new_site(tmp_path: Path) -> None:
    from lod.serving.server import create_app

    site = served_site(tmp_path)
    app = create_app(site)
    assert pages_served(app) == {b"v1"}
    sigkill_mid_apply(site)
    assert pages_served(app) == {b"v2"}


def test_serve_that_cannot_finish_a_committed_update_answers_503(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    from lod.serving.server import create_app

    site = served_site(tmp_path)
    app = create_app(site)
    sigkill_mid_apply(site)
    last = site / f"talk/t{PAGES - 1}.html"  # not moved yet: make its move impossible
    last.unlink()
    (last / "x").mkdir(parents=True)
    response, = get(app, ["/talk/t0.html"])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["detail"] == "the site is being updated; try again in a moment."
    logged = caplog.records[-1].getMessage()
    assert logged.startswith(f"an update of {site} was committed but is not fully applied, and it cannot be "
                             "finished here: ")
    assert logged.endswith("Run 'lod build' (as a user who may write the site) to finish it.")


def test_roll_forward_leaves_a_live_builds_uncommitted_staging_alone(out: Path) -> None:
    txn = begin(out)
    change(txn)
    assert lod.publishing.journal.roll_forward(out) is False
    assert txn.staging.is_dir()
    txn.commit()
    assert beside(out) == expected(out)


def test_two_processes_applying_the_same_journal_both_finish_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The build applies its journal while lod serve, having seen it, applies it too: the
    # serve's roll-forward runs to completion inside one of the build's steps.
    for k in range(12):
        out = fresh(tmp_path, f"both{k}")
        count = iter(range(10**9))

        def step(label: str, k: int = k, site: Path = out) -> None:
            if next(count) == k:
                monkeypatch.setattr(lod.publishing.journal, "_step", lod.publishing.journal._no_step)
                lod.publishing.journal.roll_forward(site)

        monkeypatch.setattr(lod.publishing.journal, "_step", step)
        with begin(out) as txn:
            change(txn)
            txn.commit()
        assert beside(out) == expected(out), k


def test_serve_refuses_to_start_on_a_committed_update_it_cannot_finish(tmp_path: Path) -> None:
    from lod.serving.server import create_app

    site = served_site(tmp_path)
    sigkill_mid_apply(site)
    last = site / f"talk/t{PAGES - 1}.html"
    last.unlink()
    (last / "x").mkdir(parents=True)
    with pytest.raises(BuildError, match=r"^an update of .* was committed but is not fully applied, and it cannot be "
                                         r"finished here: .* Run 'lod build' \(as a user who may write the site\) "
                                         r"to finish it\.$"):
        create_app(site)
