"""Publish a few changed files in place, as one transaction that a kill cannot tear.

A full build writes a whole new site and swaps it in (``lod.publishing.build.swap_in``). After
one record is edited only a handful of the site's files change, so an incremental build
publishes those files in place instead, through a transaction::

    with journal.begin(out) as txn:          # rolls forward an interrupted one first
        txn.write("talk/t.html", html)       # staged beside OUT, OUT untouched
        txn.delete("talk/old.html")
        txn.put_extra(out.parent / f".{out.name}.lod-state" / "state.json", state)
        txn.commit()                         # the commit point, then apply

How it works. Everything is staged in ``OUT.parent / f".{OUT.name}.txn-<pid>"`` (the same
filesystem as OUT, so a staged file moves into place with one ``rename``): the data files
as ``d/<n>``, one per write. ``commit`` writes ``journal.tmp`` (the deletions and the
moves, as JSON), fsyncs it, renames it to ``journal`` and fsyncs the staging folder.
That rename is the commit point. Then it applies the journal: in OUT, unlink each
deleted file and prune the folders that leaves empty (never OUT itself), then ``rename``
each staged file over its target, creating missing folders; then the same for the files
beside OUT, last, so that the orchestrator's state never describes a version of the site
that is not whole yet; finally it removes the journal and the staging folder.

Guarantees.
- Before the commit point (an exception, ``abort``, leaving the ``with`` block, a kill)
  OUT and the extra files are byte-for-byte untouched; ``recover`` removes the staging.
- After it, the new version is published, whatever happens: ``recover(out)`` (which
  ``begin`` calls, and which a build should call before anything else, full builds
  included) finishes an interrupted apply. Every step can be repeated: a move whose
  staged file is gone was done, a deletion of a missing file was done, so recovery may
  itself be killed and run again. (If OUT itself was removed meanwhile, ``recover``
  drops the transaction instead: there is nothing to roll forward onto.)
- Problems that could make the apply fail half-way are refused before the commit point
  (``lod.publishing.journal_paths``): a path outside OUT (absolute, ``..``, through a
  symbolic link), a target that is a folder, a path through a file of the current site.
- Readers of OUT on disk see the files change one by one during the apply (0.1–0.2 s for
  2,000 files on the 2-core benchmark machine, benchmarks/journal_bench.py): each file is
  whole (old or new), but the site as a whole is mixed until the apply ends, and after a
  kill in that window until the next build (or ``lod serve``) rolls it forward. This is the
  price of not rewriting the whole tree. ``lod serve`` never serves that mix: it holds a
  ``Watch`` on OUT, which rolls a committed transaction forward at start-up and before
  each request that finds one, so a response is never read from a half-applied site
  (a static web server serving the folder has no such check; SECURITY.md).

Durability. The journal and the rename that commits it are fsynced, so a committed
transaction stays committed across a power loss. The data files are written, not fsynced,
before the journal: a process kill (SIGKILL, OOM) loses nothing, because the kernel has
them, but after a power loss or an OS crash a file rolled forward may be empty or short
(unless ``begin(out, sync=True)``, which calls one ``os.sync()`` before the commit point:
one flush of the whole machine's dirty data, not one fsync per file). The renames of the
apply are not fsynced either: after a power loss the journal's removal could become
durable before them on a filesystem that reorders metadata updates (ext4's journal commits
them in order; others were not checked).

Not covered: two processes publishing into the same OUT at once (a build must hold the
output, as the full build already assumes; ``recover`` removes any uncommitted staging,
another live process's included); a file replaced by a folder or the reverse
in one transaction (refused: delete in one transaction, write in the next); a reader's
``roll_forward`` still applying a journal when a later build commits and applies the next
one (it could repeat a deletion over the newer file; the window is the reader's apply,
well under the time a build takes to stage).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from lod.errors import BuildError
from lod.publishing.journal_paths import Targets, staging_prefix

JOURNAL = "journal"
VERSION = 1


def _no_step(_label: str) -> None:
    """Called after each step of commit and apply; the tests replace it to simulate a kill there."""


_step: Callable[[str], None] = _no_step


class Transaction:
    """Files staged for one in-place publication of *out*; see the module docstring.

    Made by ``begin``. ``write``/``delete`` name files by their path inside OUT
    (``"talk/t.html"``); ``put_extra``/``delete_extra`` name files beside OUT by absolute
    path (the orchestrator's state). Writing a path twice keeps the last data; writing a
    deleted path cancels the deletion and the reverse.
    """

    def __init__(self, out: Path, sync: bool = False) -> None:
        self.out = out
        self.parent = out.parent
        self.sync = sync
        self.staging = self.parent / f"{staging_prefix(out)}{os.getpid()}"
        self._data = self.staging / "d"
        self._moves: dict[str, int] = {}  # target, relative to OUT.parent → staged file number
        self._deletes: set[str] = set()  # targets relative to OUT.parent
        self._targets = Targets(out)
        self._n = 0
        self.state = "open"  # → "committed" (the commit point passed) → "done"; or "aborted"
        self.staging.mkdir()
        self._data.mkdir()

    # ------------------------------------------------------------ staging

    def write(self, rel: str, data: bytes) -> None:
        """Stage *data* as the new content of OUT/*rel*."""
        self._stage(self._targets.inside_out(rel, "write"), data)

    def adopt(self, rel: str, path: Path) -> None:
        """Stage the file at *path* (on OUT's filesystem, e.g. under ``staging``) as the new
        content of OUT/*rel*, by renaming it: for large files written elsewhere (the dumps)."""
        os.replace(path, self._slot(self._targets.inside_out(rel, "write")))

    def delete(self, rel: str) -> None:
        """Stage the deletion of OUT/*rel* (a file; nothing happens if it does not exist)."""
        self._unstage(self._targets.inside_out(rel, "delete"))

    def put_extra(self, path: Path | str, data: bytes) -> None:
        """Stage *data* as the new content of *path*, a file beside OUT (under OUT.parent, not in OUT)."""
        self._stage(self._targets.beside_out(path, "write"), data)

    def delete_extra(self, path: Path | str) -> None:
        """Stage the deletion of *path*, a file beside OUT."""
        self._unstage(self._targets.beside_out(path, "delete"))

    def _stage(self, target: str, data: bytes) -> None:
        write_file(self._slot(target), data)

    def _slot(self, target: str) -> Path:
        """The staged file that will become *target* (the same one if it is written again)."""
        self._open()
        self._targets.check(target, "write")
        n = self._moves.get(target)
        if n is None:
            n = self._moves[target] = self._n
            self._n += 1
        self._deletes.discard(target)
        return self._data / str(n)

    def _unstage(self, target: str) -> None:
        self._open()
        self._targets.check(target, "delete")
        n = self._moves.pop(target, None)
        if n is not None:
            os.unlink(self._data / str(n))
        self._deletes.add(target)

    def _open(self) -> None:
        if self.state != "open":
            raise BuildError(f"the transaction on {self.out} is {self.state}; begin a new one.")

    # ------------------------------------------------------------ commit / abort

    def commit(self) -> None:
        """Commit (fsync and rename the journal), then apply and clean up.

        Raises before the commit point: OUT untouched, staging removed. Raises after it
        (an OSError while applying, reported as a BuildError): the new version is
        committed, and ``recover(out)`` (the next build) finishes publishing it.
        """
        self._open()
        try:
            self._targets.check_nesting(self._moves)
            if self.sync:
                os.sync()
            entries = {"version": VERSION, "out": self.out.name, "ops": self._ops()}
            tmp = self.staging / (JOURNAL + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                view = memoryview(json.dumps(entries).encode())
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            _step("journal written")
            os.rename(tmp, self.staging / JOURNAL)  # the commit point
        except BaseException:
            self.abort()
            raise
        self.state = "committed"
        _step("committed")
        try:
            try:
                _fsync_dir(self.staging)
            except FileNotFoundError:
                pass  # lod serve saw the journal and applied it all already (roll_forward)
            _apply(self.parent, self.staging)
        except OSError as exc:
            raise BuildError(f"the new version of {self.out.name}/ was committed but could not be applied: "
                             f"{exc.strerror or exc} ({exc.filename}). The next build (or lod.publishing.journal.recover) "
                             "finishes publishing it.") from None
        self.state = "done"

    def _ops(self) -> list[list[object]]:
        """The journal's steps in order: the site's deletions, then its moves, then the same beside OUT.

        Deletions come first so that a folder emptied by them is pruned before a move may
        recreate it. The files beside OUT (the orchestrator's state) change last, so that
        until the site is whole they still describe the previous version.
        """
        inside = self.out.name + "/"
        ops: list[list[object]] = []
        for in_out in (True, False):
            ops += [["delete", t] for t in sorted(self._deletes) if t.startswith(inside) == in_out]
            ops += [["move", t, n] for t, n in sorted(self._moves.items()) if t.startswith(inside) == in_out]
        return ops


    def abort(self) -> None:
        """Drop the staged files; OUT is untouched. Does nothing once the commit point has passed."""
        if self.state == "open":
            shutil.rmtree(self.staging, ignore_errors=True)
            self.state = "aborted"

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abort()  # not committed: whether by an exception or by forgetting commit(), nothing is published


def write_file(path: Path | str, data: bytes | Iterable[bytes]) -> None:
    """Write *data* (bytes, or pieces of them written as they come) to a new or truncated file
    (os.open/os.write: many small files, no file objects)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        for piece in [data] if isinstance(data, bytes) else data:
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def begin(out: Path | str, sync: bool = False) -> Transaction:
    """Start a transaction on the existing folder *out*, after rolling forward an interrupted one."""
    out = Path(out).absolute()
    if out.is_symlink() or not out.is_dir():
        raise BuildError(f"the output {out} is not a folder (or is a symbolic link); an incremental build "
                         "publishes into an existing site. Run a full build.")
    recover(out)
    return Transaction(out, sync)


def recover(out: Path | str) -> bool:
    """Finish an interrupted committed transaction on *out*; remove uncommitted staging.

    Return whether a committed transaction was rolled forward. Safe to call at the start
    of every build, and again after it was itself interrupted. Call it after
    ``lod.publishing.build._recover`` (which puts back an OUT a killed full swap left as ``.OUT.old``).
    If OUT is not a folder (someone removed it), a committed transaction is dropped, files
    beside OUT included: there is no site to roll forward, and applying it would leave a
    folder of a few files that a full build would refuse to replace (it lacks the marker).
    """
    out = Path(out).absolute()
    parent = out.parent
    rolled = False
    whole = out.is_dir() and not out.is_symlink()
    try:
        names = os.listdir(parent)
    except FileNotFoundError:
        return False
    prefix = staging_prefix(out)
    for name in sorted(names):
        if not name.startswith(prefix) or not name[len(prefix):].isdigit():
            continue  # not ours (an OUT named "site.txn-x" has staging ".site.txn-x.txn-<pid>")
        staging = parent / name
        if whole and os.path.isfile(staging / JOURNAL):
            _apply(parent, staging)
            rolled = True
        else:
            shutil.rmtree(staging, ignore_errors=True)
    return rolled


def roll_forward(out: Path | str) -> bool:
    """Finish every committed transaction on *out*, leaving uncommitted staging alone.

    For readers of the site (``lod serve``): unlike ``recover`` it never removes a staging
    folder that is not committed yet (a build may be writing it), so it can run while a
    build runs. If the build is itself applying the journal, both apply it: every step is
    repeatable and either may do it first. Return whether a transaction was rolled forward.
    Raise BuildError if one cannot be (a reader that may not write the site, an unreadable
    journal): the site may then be mixed, and must not be served.
    """
    out = Path(out).absolute()
    if not out.is_dir() or out.is_symlink():
        return False  # nothing to roll forward onto; the next build's recover decides
    rolled = False
    for staging in _stagings(out):
        if os.path.isfile(staging / JOURNAL):
            try:
                _apply(out.parent, staging)
            except OSError as exc:
                raise BuildError(f"an update of {out} was committed but is not fully applied, and it cannot "
                                 f"be finished here: {exc.strerror or exc} ({exc.filename}). Run 'lod build' "
                                 "(as a user who may write the site) to finish it.") from None
            rolled = True
    return rolled


def _stagings(out: Path) -> list[Path]:
    prefix = staging_prefix(out)
    try:
        names = os.listdir(out.parent)
    except FileNotFoundError:
        return []
    return [out.parent / name for name in sorted(names)
            if name.startswith(prefix) and name[len(prefix):].isdigit()]


class Watch:
    """Rolls a committed transaction on *out* forward before the site is read, cheaply enough
    to call before every request (``lod serve``).

    ``settle`` lists OUT's parent only when its modification time changed (or changed in
    the last second, which a coarse file clock could hide), and otherwise costs one
    ``stat`` plus one per staging folder present, usually none.
    """

    RACY_NS = 1_000_000_000

    def __init__(self, out: Path | str) -> None:
        self.out = Path(out).absolute()
        self._parent = os.fspath(self.out.parent)
        self._mtime: int | None = None
        self._stagings: list[Path] = []

    def settle(self) -> bool:
        """Roll forward a committed transaction if there is one; return whether one was.

        Raises BuildError (see ``roll_forward``) if one is committed and cannot be applied here.
        """
        try:
            mtime = os.stat(self._parent).st_mtime_ns
        except FileNotFoundError:
            return False
        if mtime != self._mtime or time.time_ns() - mtime < self.RACY_NS:
            self._mtime = mtime
            self._stagings = _stagings(self.out)
        if not any(os.path.isfile(staging / JOURNAL) for staging in self._stagings):
            return False
        rolled = roll_forward(self.out)
        self._mtime = None  # list again next time: the staging folders are gone
        return rolled


# ---------------------------------------------------------------- apply

def _apply(parent: Path, staging: Path) -> None:
    """Apply the committed journal in *staging*; every step may be repeated."""
    try:
        entries = json.loads((staging / JOURNAL).read_bytes())
    except FileNotFoundError:
        return  # another process (a build, lod serve) finished applying it meanwhile
    except (OSError, ValueError) as exc:
        raise BuildError(f"the transaction journal {staging / JOURNAL} cannot be read ({exc}); "
                         f"remove {staging} and run a full build.") from None
    if entries.get("version") != VERSION:
        raise BuildError(f"the transaction journal {staging / JOURNAL} has an unknown version; "
                         f"remove {staging} and run a full build.")
    out_name = entries["out"]
    ops = entries["ops"]
    for op in ops:
        if op[1].startswith("/") or ".." in op[1].split("/"):
            raise BuildError(f"the transaction journal {staging / JOURNAL} names {op[1]!r}, outside "
                             f"{parent}; remove {staging} and run a full build.")
    base = os.fspath(parent)
    data = os.path.join(os.fspath(staging), "d")
    for op in ops:
        target = op[1]
        dst = os.path.join(base, target)
        if op[0] == "delete":
            try:
                os.unlink(dst)
            except (FileNotFoundError, NotADirectoryError):
                pass  # deleted before a kill, or never there (its folder may since have become a file)
            _prune(base, out_name, target)
            _step("deleted " + target)
            continue
        src = os.path.join(data, str(op[2]))
        for attempt in range(100):
            try:
                os.replace(src, dst)
                break
            except FileNotFoundError:
                if not os.path.lexists(src):
                    break  # moved before a kill, or by another process applying the same journal
                if attempt == 99:
                    raise
                # A new folder, or one pruned before a kill, or pruned just now by another
                # process applying the same journal's deletions (lod serve and a build).
                os.makedirs(os.path.dirname(dst), exist_ok=True)
        _step("moved " + target)
    try:
        os.unlink(staging / JOURNAL)
    except FileNotFoundError:
        pass  # another recover finished first
    _step("journal removed")
    shutil.rmtree(staging, ignore_errors=True)


def _prune(base: str, out_name: str, target: str) -> None:
    """Remove the folders of *target* that are now empty, up to (not including) OUT or OUT.parent."""
    parts = target.split("/")[:-1]
    stop = 1 if parts and parts[0] == out_name else 0
    while len(parts) > stop:
        try:
            os.rmdir(os.path.join(base, *parts))
        except FileNotFoundError:
            pass  # pruned before a kill: the folders above may still be empty
        except OSError:
            return  # not empty: the folders above are not empty either
        parts.pop()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
