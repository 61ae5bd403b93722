"""The resources' calendars in a few files: the calendar pack of a ``documents: served`` site.

With the site setting ``documents: files`` (the default) every calendar is a file:
``talks.ics`` and ``series/x.ics``, ``event/x.ics``, ``person/x.ics``, ``talk/x.ics``
(``lod.publishing.feeds``). With ``served`` the per-resource ones (all but ``talks.ics``) are
not: at 100k talks that would be ~137k files, at ~130 µs each to create. They are written
into the pack instead, the folder ``PACK`` (a dotfolder beside them), and ``lod serve`` answers
``GET /talk/x.ics`` with the bytes the file would have had (``Calendars``;
tests/test_documents.py compares every calendar of the seed site over HTTP). ``talks.ics``
stays a file: a rebuild splices it (``lod.publishing.site_calendar``).

The pack is ``SHARDS`` files, ``PACK/xx.pack``: a calendar goes into the shard of a stable hash
of its path (``shard_of``), and a shard with no calendar is no file. Each shard holds its
calendars in path order, so a full build and a rebuild that splices the previous shards
write the same bytes. Format of a shard::

    lod-calendars 1<TAB>N<TAB>bytes of NAMES
    NAMES: PATH<LF>, one calendar a line, sorted by the path's bytes
    N+1 offsets of the names in NAMES, N+1 offsets of the calendars in DATA: unsigned 64-bit little-endian
    DATA: the calendars, in the order of NAMES

A reader finds a path by binary search on a memory map of its shard: it reads nothing at
start-up. A shard is replaced whole by a rebuild (a rename), so a reader never sees the names
of one build with the calendars of another in it.

A full build's pages stage makes the calendars in forked workers: each writes those it
makes into a part file of its own (``Parts``), and the parent gathers them into the shards.
A rebuild gives ``update`` the calendars it rendered again and those it found gone; the new
shards copy the others' byte ranges from the previous ones (in the kernel where it can,
``lod.publishing.bytecopy``), and only the shards holding such a calendar are written again.
One file held every calendar before: a rebuild copied all of it, 688 MB at 100k talks (0.7 s
on this machine's ext4; BENCHMARKS.md), for an edit that changed three calendars.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from lod.errors import BuildError
from lod.publishing.bytecopy import Out
from lod.publishing.mapped import MappedFile

PACK = ".lod-calendars"  # the pack's folder: a dotfolder, never served, nor listed, by lod serve
SHARDS = 64  # files of the pack: at 100k talks about 11 MB each
_PART = ".lod-calendars.part-"  # a pages worker's calendars, gathered into PACK by the parent
_MAGIC = b"lod-calendars 1"
_Q = struct.Struct("<Q")
SUFFIX = ".ics"


def packed(name: str) -> bool:
    """Whether the calendar file *name* goes into the pack when documents are served: a
    resource's (``talk/x.ics``), not the site-wide ``talks.ics``."""
    return name.endswith(SUFFIX) and "/" in name


def shard_of(path: bytes) -> int:
    """The shard of the calendar at *path* (``talk/x.ics``, as UTF-8): stable across processes and builds."""
    return zlib.crc32(path) % SHARDS


def shard_name(shard: int) -> str:
    """The site-relative name of a shard's file: ``.lod-calendars/0a.pack``."""
    return f"{PACK}/{shard:02x}.pack"


def shard_files(root: Path) -> list[str]:
    """The site-relative names of the shard files under *root*, sorted (none: no calendar is packed)."""
    return sorted(name for name in (shard_name(k) for k in range(SHARDS)) if (root / name).is_file())


def _u64(values: Iterable[int]) -> bytes:
    a = array("Q", values)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def _head(names: list[bytes], offsets: list[int], table: tuple[bytes, bytes] | None = None) -> bytes:
    """Everything of a pack before its calendars, for *names* (sorted) of calendars at *offsets*
    (N+1, from 0); *table*, the names' text and starts of a pack of the same names, is taken as it is."""
    if table is None:
        text = b"".join(name + b"\n" for name in names)
        starts = _u64([0, *accumulate(len(name) + 1 for name in names)])
    else:
        text, starts = table
    return _MAGIC + f"\t{len(names)}\t{len(text)}\n".encode() + text + starts + _u64(offsets)


class Damaged(ValueError):
    """A file that is not a whole calendar pack of this version (lod serve answers 503, a rebuild stops)."""


@dataclass
class _Layout:
    """Where the parts of a pack are: its count, and where its names, their starts, the calendars'
    offsets and the calendars begin."""

    n: int
    names: int
    starts: int
    offsets: int
    data: int


def _layout(mm: mmap.mmap, what: object) -> _Layout:
    """The layout of the pack in *mm*, checked against its size; Damaged naming *what* if it is not one."""
    first = mm.find(b"\n", 0, 64)
    fields = mm[:first].split(b"\t") if first > 0 else []
    if len(fields) != 3 or fields[0] != _MAGIC or not all(f.isdigit() for f in fields[1:]):
        raise Damaged(f"{what} is not a calendar pack this version of lod reads")
    n, size = int(fields[1]), int(fields[2])
    at = _Layout(n, first + 1, first + 1 + size, first + 1 + size + 8 * (n + 1), first + 1 + size + 16 * (n + 1))
    if len(mm) < at.data:
        raise Damaged(f"{what} is cut short")
    if len(mm) != at.data + _Q.unpack_from(mm, at.offsets + 8 * n)[0]:
        raise Damaged(f"{what} is damaged")
    return at


def _mapped(fd: int, what: object) -> mmap.mmap:
    """A read-only memory map of the pack open as *fd*; Damaged naming *what* if it is empty."""
    if not os.fstat(fd).st_size:  # never written so: a pack has at least one calendar
        raise Damaged(f"{what} is not a calendar pack this version of lod reads")
    return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)


@dataclass
class _Table:
    """What a rebuild reads of the previous pack: its names (with their text and starts, as they
    are in it), each calendar's offset and where the calendars begin."""

    names: list[bytes]
    table: tuple[bytes, bytes]
    offsets: list[int]
    data: int


def _table(mm: mmap.mmap, what: object) -> _Table:
    """The table of the pack in *mm* (``_layout``)."""
    at = _layout(mm, what)
    text = mm[at.names:at.starts]
    names = text.split(b"\n")[:-1]
    raw = array("Q", mm[at.offsets:at.data])
    if sys.byteorder != "little":
        raw.byteswap()
    if len(names) != at.n:
        raise Damaged(f"{what} is damaged")
    return _Table(names, (text, mm[at.starts:at.offsets]), raw.tolist(), at.data)


def _write(path: Path, head: bytes, body: Callable[[Out], None]) -> None:
    """Write a pack to *path*: its *head* (``_head``), then *body* writes the calendars."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        out = Out(fd)
        out.write(head)
        body(out)
        out.flush()
    finally:
        os.close(fd)


# ---------------------------------------------------------------- a full build


class Parts:
    """The calendars of a full build, gathered into ``PACK`` under *root*.

    ``write`` may be called in any process forked from the one that made this (the pages
    stage's workers): each appends to a part file of its own, ``len<TAB>path<LF>`` then the
    bytes. ``finish``, in the parent once the workers are done, writes the pack from the parts
    and removes them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fds: dict[int, int] = {}  # by process id: a forked worker opens its own
        self.files: list[str] = []  # the shards ``finish`` wrote, site-relative
        root.mkdir(parents=True, exist_ok=True)  # before the workers, which write into it

    def write(self, name: str, data: bytes) -> None:
        """Add calendar *name* (a site path, ``talk/x.ics``) with bytes *data*."""
        pid = os.getpid()
        fd = self._fds.get(pid)
        if fd is None:
            fd = self._fds[pid] = os.open(self.root / f"{_PART}{pid}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        view = memoryview(f"{len(data)}\t{name}\n".encode("utf-8") + data)
        while view:
            view = view[os.write(fd, view):]

    def finish(self) -> int:
        """Write the shards from every part (none if no calendar was written; their names in ``files``),
        remove the parts; return the count."""
        mine = self._fds.pop(os.getpid(), None)
        if mine is not None:
            os.close(mine)
        parts = sorted(self.root.glob(_PART + "*"))
        fds = [os.open(part, os.O_RDONLY) for part in parts]
        try:
            entries: list[tuple[bytes, int, int, int]] = []  # path, part, offset, size
            for i, fd in enumerate(fds):
                # Only each calendar's header line is read (not mapped: reading the parts through
                # a map put every page of them in this process's memory, 350 MB at 100k talks).
                size, pos = os.fstat(fd).st_size, 0
                while pos < size:
                    header = _line(fd, pos)
                    length, _, name = header.partition(b"\t")
                    start = pos + len(header) + 1
                    entries.append((name, i, start, int(length)))
                    pos = start + int(length)
            shards: dict[int, list[tuple[bytes, int, int, int]]] = {}
            for entry in entries:
                shards.setdefault(shard_of(entry[0]), []).append(entry)
            if shards:
                (self.root / PACK).mkdir(exist_ok=True)
            for shard, held in sorted(shards.items()):
                held.sort()

                def body(out: Out, held: list[tuple[bytes, int, int, int]] = held) -> None:
                    for _name, i, start, length in held:
                        out.copy(fds[i], start, length)

                head = _head([e[0] for e in held], [0, *accumulate(e[3] for e in held)])
                _write(self.root / shard_name(shard), head, body)
                self.files.append(shard_name(shard))
            return len(entries)
        finally:
            for fd in fds:
                os.close(fd)
            for part in parts:
                part.unlink()


def _line(fd: int, pos: int) -> bytes:
    """The bytes of the file *fd* from *pos* to the next line feed (which must come)."""
    got = b""
    while True:
        chunk = os.pread(fd, 512, pos + len(got))
        eol = chunk.find(b"\n")
        if eol >= 0:
            return got + chunk[:eol]
        if not chunk:
            raise OSError(f"a calendar part ended inside a header, at byte {pos}")
        got += chunk


# ---------------------------------------------------------------- a rebuild


@dataclass
class Update:
    """What a rebuild publishes for its calendars (``update``)."""

    files: dict[str, bytes]  # the files other than packed calendars, to publish as before
    shards: dict[str, Path] = field(default_factory=dict)  # new shard files, by site-relative name, to publish
    remove: list[str] = field(default_factory=list)  # the shard files no calendar is left in: to delete


def update(out: Path, scratch: Path, files: Mapping[str, bytes], dirty: Iterable[str]) -> Update:
    """Splice a rebuild's calendars into the pack of the site *out*.

    *files* are the files the rebuild's pages stage made (``render_some``), calendars among
    them; *dirty* the calendars it was asked for (``affected``), of which those not made are
    gone. Each shard holding one of them is written again under *scratch*, with the calendars
    made again in place of the previous ones and the others' bytes copied from the previous
    shard: the bytes a full build writes. The other shards are left as they are."""
    made: dict[int, dict[bytes, bytes]] = {}
    gone: dict[int, set[bytes]] = {}
    for name, data in files.items():
        if packed(name):
            path = name.encode("utf-8")
            made.setdefault(shard_of(path), {})[path] = data
    for name in dirty:
        if packed(name) and name not in files:
            path = name.encode("utf-8")
            gone.setdefault(shard_of(path), set()).add(path)
    result = Update({name: data for name, data in files.items() if not packed(name)})
    for shard in sorted(made.keys() | gone.keys()):
        rel = shard_name(shard)
        new, emptied = _splice(out / rel, scratch / rel, made.get(shard, {}), gone.get(shard, set()))
        if new is not None:
            result.shards[rel] = new
        if emptied:
            result.remove.append(rel)
    return result


def _splice(path: Path, new: Path, made: dict[bytes, bytes], gone: set[bytes]) -> tuple[Path | None, bool]:
    """The shard at *path* with the calendars *made* put in and those *gone* taken out, written
    to *new*: (*new*, False); (None, False) when it would be the same, (None, True) when no
    calendar is left in it (a shard that is no file holds none)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        fd = -1
    try:
        old = _Table([], (b"", b""), [0], 0)
        try:
            if fd >= 0:
                with _mapped(fd, path) as mm:
                    old = _table(mm, path)
        except Damaged as exc:
            raise BuildError(f"{exc}; build the site again in full (lod build --full).") from None
        olds = old.offsets
        where = {name: i for i, name in enumerate(old.names)}
        # Calendars made again with the bytes they had are not changes (as put() leaves such files alone).
        made = {name: data for name, data in made.items() if name not in where or len(data) != (
            olds[where[name] + 1] - olds[where[name]]) or os.pread(fd, len(data), old.data + olds[where[name]]) != data}
        removed = [name for name in gone if name in where]
        if not made and not removed:
            return None, False
        plan = _plan(old.names, where, made, removed)
        names: list[bytes] = []
        offsets = [0]
        for step in plan:  # the names and offsets of the old runs taken in slices, not one by one
            if isinstance(step, bytes):
                names.append(step)
                offsets.append(offsets[-1] + len(made[step]))
            else:
                a, b = step
                names += old.names[a:b]
                shift = offsets[-1] - olds[a]
                offsets += [o + shift for o in olds[a + 1:b + 1]]
        if not names:
            return None, fd >= 0

        def body(w: Out) -> None:
            for step in plan:
                if isinstance(step, bytes):
                    w.write(made[step])
                else:
                    w.copy(fd, old.data + olds[step[0]], olds[step[1]] - olds[step[0]])

        new.parent.mkdir(parents=True, exist_ok=True)
        # No calendar came or went: the names' text and starts are the previous shard's.
        _write(new, _head(names, offsets, old.table if len(names) == len(old.names) and not removed else None), body)
        return new, False
    finally:
        if fd >= 0:
            os.close(fd)


def _plan(old: list[bytes], where: Mapping[bytes, int], made: Mapping[bytes, bytes],
          removed: Iterable[bytes]) -> list[tuple[int, int] | bytes]:
    """The new pack's calendars in order: ``(a, b)`` for the old ones a … b-1, a path for one
    made again or added. *old* is the previous pack's sorted paths, *where* their positions."""
    # (position in old, whether it takes the old calendar there, path or None): added ones go
    # before the old calendar they sort before; a path made again takes its old place.
    events = sorted([(where[name], 1, name) if name in where else (bisect_left(old, name), 0, name) for name in made]
                    + [(where[name], 1, b"") for name in removed])
    plan: list[tuple[int, int] | bytes] = []
    cur = 0
    for at, takes, name in events:
        if at > cur:
            plan.append((cur, at))
            cur = at
        if name:
            plan.append(name)
        if takes:
            cur = at + 1
    if cur < len(old):
        plan.append((cur, len(old)))
    return plan


# ---------------------------------------------------------------- reading


class Calendars:
    """The packed calendars of a ``served`` site, read from the shards of ``PACK`` under *root*.

    Each shard is opened lazily and again whenever a rebuild replaces it; a shard that is no
    file holds no calendar."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._shards: dict[int, _Shard] = {}

    def calendar(self, rel: str) -> bytes | None:
        """The bytes of calendar *rel* (``talk/x.ics``), or None if the pack has none of that path."""
        if not packed(rel):
            return None
        want = rel.encode("utf-8")
        return self._shard(want).calendar(want)

    def mtime(self, rel: str) -> float:
        """The modification time of the shard that *rel* was last read from (its Last-Modified)."""
        return self._shard(rel.encode("utf-8")).mtime

    def _shard(self, path: bytes) -> _Shard:
        k = shard_of(path)
        shard = self._shards.get(k)
        if shard is None:
            shard = self._shards[k] = _Shard(self.root, shard_name(k))
        return shard


class _Shard(MappedFile):
    """One shard file of the pack."""

    def __init__(self, root: Path, name: str) -> None:
        super().__init__(root, name)
        self._at = _Layout(0, 0, 0, 0, 0)

    def _load(self, path: Path, size: int) -> mmap.mmap:
        fd = os.open(path, os.O_RDONLY)
        try:
            mm = _mapped(fd, path)
        finally:
            os.close(fd)
        self._at = _layout(mm, path)
        return mm

    @staticmethod
    def _u64(mm: mmap.mmap, table: int, i: int) -> int:
        value: int = _Q.unpack_from(mm, table + 8 * i)[0]
        return value

    def calendar(self, want: bytes) -> bytes | None:
        """The bytes of the calendar at path *want*, or None if this shard has none of that path."""
        mm = self._open()
        if mm is None:
            return None
        at = self._at
        lo, hi = 0, at.n
        while lo < hi:
            mid = (lo + hi) // 2
            name = mm[at.names + self._u64(mm, at.starts, mid):at.names + self._u64(mm, at.starts, mid + 1) - 1]
            if name == want:
                return mm[at.data + self._u64(mm, at.offsets, mid):at.data + self._u64(mm, at.offsets, mid + 1)]
            if name < want:
                lo = mid + 1
            else:
                hi = mid
        return None
