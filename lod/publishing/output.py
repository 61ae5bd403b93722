"""Where a build's files go: a whole new site swapped in, or changed files published in place.

The pipeline (``lod.publishing.pipeline``) is the same for a full build and a rebuild; only
how its output is published differs, and that is decided here:

- ``NewSite``: a full build (an empty state) writes every file into a staging folder beside
  OUT, which replaces OUT with one atomic rename at ``commit`` (``swap_in``). Its state is
  written as a new database after the swap.
- ``InPlace``: a rebuild stages only the files whose bytes differ from the site's, and the
  deletions, in one journal transaction (``lod.publishing.journal``) applied in place at
  ``commit``; the state's changed rows travel in the same transaction and are stored after it.

Either way nothing is visible before ``commit``, and a failed build leaves OUT as it was.
"""

from __future__ import annotations

import ctypes
import errno
import os
import pickle
import shutil
import sqlite3
import threading
from pathlib import Path

from lod.errors import ConfigError
from lod.progress import Observer, StateNotSaved
from lod.publishing import changes as inc
from lod.publishing import journal
from lod.publishing.prepared import MARKER, SiteWriter
from lod.publishing.state import Store, delta_path, generation_path, write_new

STATE_SUFFIX = ".lod-state"


def state_path(out: Path) -> Path:
    """Where the state of the site *out* is kept: beside it, never published."""
    return out.with_name(f".{out.name}{STATE_SUFFIX}")


def marker_id(out: Path) -> str | None:
    """The identity of the fully built site *out*: its marker file's inode and modification time
    (a full build writes a new marker; a rebuild never rewrites it)."""
    try:
        st = (out / MARKER).stat()
    except OSError:
        return None
    return f"{st.st_ino}:{st.st_mtime_ns}"


class NewSite:
    """A whole new site in a staging folder beside *out*, swapped in by ``commit``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        self.staging.mkdir()
        self.direct: Path | None = self.staging  # writers may write new files here themselves
        self.scratch = self.staging / ".lod-scratch"  # removed before the swap
        self.scratch.mkdir()
        self._writer = SiteWriter(self.staging)
        self.files = 0
        self.written = 0
        self.deleted = 0
        self._state: inc.State | None = None

    def put(self, rel: str, data: bytes) -> None:
        """Write OUT/*rel*."""
        self._writer.write(rel, data)
        self.files += 1
        self.written += 1

    def drop(self, rel: str) -> None:
        """Nothing to delete in a new site."""

    def adopt(self, rel: str, path: Path) -> None:
        """Move the file at *path* (under ``scratch``) to OUT/*rel*."""
        target = self.staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        self.files += 1
        self.written += 1

    def read(self, rel: str) -> bytes | None:
        """The previous site's OUT/*rel*: a new site has none."""
        return None

    def count(self, made: int) -> None:
        """*made* files were written into ``direct`` by the writers themselves."""
        self.files += made
        self.written += made

    def keep_state(self, store: Store | None, old: inc.State, new: inc.State) -> None:
        """The state to write beside the site once it is swapped in."""
        self._state = new

    def commit(self, say: Observer) -> None:
        """Swap the new site in, then write its state (losing it only costs the next build its speed)."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        old = swapped_out(self.staging, self.out)
        # The previous site's files are removed while the state is written: both mostly wait on the
        # disk (at 100k talks, 150k files to unlink, about 16 s, beside a 770 MB database). A build
        # killed meanwhile leaves the folder for the next one to remove (``recover``).
        remover = threading.Thread(target=shutil.rmtree, args=(old, True), daemon=True) if old else None
        if remover is not None:
            remover.start()
        try:
            if self._state is not None:
                self._state.site_id = marker_id(self.out) or ""
                try:
                    write_new(state_path(self.out), self._state)
                except OSError as exc:  # the site is built; only the next build's speed is lost
                    say(StateNotSaved(str(exc.strerror or exc)))
        finally:
            if remover is not None:
                remover.join()

    def abort(self) -> None:
        """Drop everything written; OUT is untouched."""
        shutil.rmtree(self.staging, ignore_errors=True)


class InPlace:
    """The files that changed, published in place through one journal transaction on *out*."""

    def __init__(self, out: Path, files: int) -> None:
        self.out = out
        self.txn = journal.begin(out)
        self.direct: Path | None = None  # every file goes through put, which skips unchanged bytes
        self.scratch = self.txn.staging / "scratch"
        self.scratch.mkdir()
        self.files = files
        self.written = 0
        self.deleted = 0
        self._store: Store | None = None
        self._delta: object = None

    def put(self, rel: str, data: bytes) -> None:
        """Stage OUT/*rel* unless the site already holds exactly these bytes."""
        try:
            with open(self.out / rel, "rb") as f:
                if f.read(len(data) + 1) == data:
                    return
        except FileNotFoundError:
            self.files += 1
        except OSError:
            pass
        self.txn.write(rel, data)
        self.written += 1

    def drop(self, rel: str) -> None:
        """Stage the deletion of OUT/*rel*, if it is a file."""
        if (self.out / rel).is_file():
            self.txn.delete(rel)
            self.files -= 1
            self.deleted += 1

    def adopt(self, rel: str, path: Path) -> None:
        """Stage the file at *path* (under ``scratch``) as OUT/*rel*."""
        if not (self.out / rel).exists():
            self.files += 1
        self.txn.adopt(rel, path)
        self.written += 1

    def read(self, rel: str) -> bytes | None:
        """The bytes of OUT/*rel*, None if it cannot be read (then it is made again)."""
        try:
            return (self.out / rel).read_bytes()
        except OSError:
            return None

    def count(self, made: int) -> None:  # pragma: no cover - nothing writes directly in place
        raise AssertionError("an in-place build has no folder to write into directly")

    def keep_state(self, store: Store | None, old: inc.State, new: inc.State) -> None:
        """The state's changed rows and the site's generation, published with the site's files
        (applied after them); SQLite stores the rows after the commit point (lod.publishing.state)."""
        assert store is not None
        self._store = store
        self._delta = store.changes(old, new)
        self.txn.put_extra(delta_path(state_path(self.out)), pickle.dumps(self._delta, pickle.HIGHEST_PROTOCOL))
        self.txn.put_extra(generation_path(state_path(self.out)), f"{new.generation}\n".encode())

    def commit(self, say: Observer) -> None:
        """The journal's commit point, then the state's rows stored."""
        self.txn.commit()
        if self._store is None:
            return
        try:
            self._store.apply(self._delta)  # type: ignore[arg-type]
            delta_path(state_path(self.out)).unlink(missing_ok=True)
        except (sqlite3.Error, OSError) as exc:  # the site is published; the next build stores the delta
            say(StateNotSaved(str(exc), pending=True))

    def abort(self) -> None:
        """Drop the transaction; OUT is untouched."""
        self.txn.abort()


Output = NewSite | InPlace


# ---------------------------------------------------------------- the output folder and the atomic swap

def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def check_out(out: Path) -> None:
    """Refuse an output that is not a folder lod built (lod replaces it as a whole)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"the output {out} exists and is not a folder; choose another --out.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ConfigError(f"the output folder {out} is not empty and was not built by lod; "
                          "choose another --out (lod replaces its output folder as a whole).")


def recover(out: Path) -> None:
    """Undo what a build killed mid-swap left behind, clear stale staging folders, and roll
    forward an interrupted in-place publication."""
    from lod.publishing.state import recover as recover_state

    if not out.parent.is_dir():
        return
    old = out.with_name(f".{out.name}.old")
    if not out.exists() and old.is_dir():
        os.rename(old, out)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    recover_state(state_path(out))  # a state being written when killed
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    journal.recover(out)


def swap_in(staging: Path, out: Path) -> None:
    """Replace *out* with *staging* atomically."""
    old = swapped_out(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def swapped_out(staging: Path, out: Path) -> Path | None:
    """Replace *out* with *staging* atomically; return the folder now holding the previous site, for
    the caller to remove (None if there was none). Either name is one ``recover`` removes."""
    if not out.exists():
        os.rename(staging, out)
        return None
    if _exchange(staging, out):
        return staging
    old = out.with_name(f".{out.name}.old")
    os.rename(out, old)
    os.rename(staging, out)
    return old
