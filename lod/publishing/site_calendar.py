"""The archive's calendar, ``talks.ics``, made again by a rebuild from the previous one's bytes.

``talks.ics`` holds every dated talk's VEVENT (177 MB at 100k talks), in the order of
``feeds.component_order``, after the VTIMEZONEs they need. Made whole, a rebuild sorted every
talk and assembled every VEVENT again for an edit of one (about 2.5 s at 100k talks,
BENCHMARKS.md). Here the new file is the previous one with the VEVENTs that can differ taken
out and made again, and put back where the order puts them; the rest are byte ranges of the
previous file, copied in the kernel (``bytecopy``). The bytes are those ``feeds.calendar_parts``
makes (tests/test_incremental.py compares every rebuild with a full build).

Which VEVENTs can differ: a talk's VEVENT is all of its own calendar ``talk/<id>.ics`` but
the calendar's name, so those of the talks whose calendar is dirty (``pages.dirty.affected``:
a talk added, removed or changed, or anything its VEVENT read) are made again; so is every
session's slot (the VEVENT of a session standing for its talks known only by their day):
which talks a slot lists is read by no talk's own calendar. The others are where they were,
in the same order: the order of a talk is its day, time and id, all of which its own
calendar read. The previous file is checked as it is read (each kept VEVENT a dated talk
of the new data); one that does not match is refused (``Unspliceable``), and the caller
makes the calendar whole.

Where the previous file's VEVENTs are is kept in the build state (``Spans``: found once by
scanning the file a full build wrote, then worked out by each splice from its pieces), with the
file's size and modification time; a file that is not the one they were taken of is scanned.
"""

from __future__ import annotations

import bisect
import os
from array import array
from collections.abc import Collection, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lod.model import records as R
from lod.model.iri import KIND_PATHS
from lod.publishing import feeds
from lod.publishing.bytecopy import Out
from lod.publishing.links import pickled
from lod.publishing.pages.reads import RECORDER
from lod.publishing.prepared import Prepared
from lod.publishing.vevent_text import file_vevent_spans, vevent_spans

_SESSION = KIND_PATHS["session"] + "/"  # a session slot's UID starts so (``feeds.session_vevent``)

Piece = bytes | tuple[int, int]  # new bytes, or the range [start, stop) of the previous file


class Unspliceable(ValueError):
    """The previous ``talks.ics`` is not one this data's calendar can be spliced from."""


@dataclass
class Spliced:
    """The new calendar: pieces of new bytes and ranges of the previous file, in order."""

    pieces: list[Piece]

    def join(self, previous: bytes) -> bytes:
        """The calendar's bytes (for a caller that keeps it in memory)."""
        return b"".join(piece if isinstance(piece, bytes) else previous[piece[0]:piece[1]] for piece in self.pieces)

    def found(self, previous: Previous) -> list[tuple[str, int, int]]:
        """Where each VEVENT of the new calendar is (``Previous.found``): those of its new bytes found
        in them, those of the previous file's ranges moved by as much as their range."""
        out: list[tuple[str, int, int]] = []
        starts = [start for _uid, start, _stop in previous.found]
        at = 0
        for piece in self.pieces:
            if isinstance(piece, bytes):
                out += vevent_spans(piece, base=at)
                at += len(piece)
                continue
            first, stop = piece
            shift = at - first
            i = bisect.bisect_left(starts, first)
            while i < len(starts) and previous.found[i][2] <= stop:
                uid, start, end = previous.found[i]
                out.append((uid, start + shift, end + shift))
                i += 1
            at += stop - first
        return out

    def write(self, previous_fd: int, target: Path) -> None:
        """Write the calendar to *target*, the previous file's ranges copied in the kernel where it can."""
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            out = Out(fd)
            for piece in self.pieces:
                if isinstance(piece, bytes):
                    out.write(piece)
                else:
                    out.copy(previous_fd, piece[0], piece[1] - piece[0])
            out.flush()
        finally:
            os.close(fd)


@dataclass
class Previous:
    """What a splice reads of the previous ``talks.ics``: where its VEVENTs are, and its last bytes."""

    found: list[tuple[str, int, int]]  # each VEVENT's UID (without the host), first byte and the byte after it
    tail: bytes  # its bytes after the last VEVENT (or its last len(feeds.END) bytes when it has none)

    @classmethod
    def of(cls, data: bytes) -> Previous:
        """Of the calendar's bytes (raise ``Unspliceable`` if it is not one ``feeds`` made)."""
        try:
            found = vevent_spans(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unspliceable(str(exc)) from None
        return cls(found, data[_tail(found, len(data)):])

    @classmethod
    def read(cls, f: BinaryIO) -> Previous:
        """Of the calendar file *f*, read a chunk at a time, not mapped (``file_vevent_spans``)."""
        try:
            found, size = file_vevent_spans(f)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unspliceable(str(exc)) from None
        f.seek(_tail(found, size))
        return cls(found, f.read(len(feeds.END) + 1))


    @classmethod
    def stored(cls, f: BinaryIO, spans: Spans | None) -> Previous | None:
        """Of the calendar file *f* as *spans* (kept by the build that wrote it) say it is, without
        scanning it; None if there are none, or *f* is not the file they were taken of (another
        size or modification time: written since, by hand or by a build that kept no spans)."""
        if spans is None:
            return None
        st = os.fstat(f.fileno())
        if (st.st_size, st.st_mtime_ns) != (spans.size, spans.mtime_ns):
            return None
        found = spans.found()
        f.seek(_tail(found, st.st_size))
        return cls(found, f.read(len(feeds.END) + 1))


@dataclass
class Spans:
    """Where each VEVENT of a written ``talks.ics`` is, and which file that is (its size and
    modification time, as the build that wrote it found them). The build state keeps them, so that
    the next rebuild's splice reads them there, not by scanning the file (169 MB, 0.4 s at 100k talks)."""

    size: int
    mtime_ns: int
    uids: list[str]
    bounds: array[int]  # each VEVENT's first byte and the byte after it, in order

    @classmethod
    def of(cls, found: list[tuple[str, int, int]], path: Path) -> Spans:
        """The spans *found* in the file at *path*, as it is now."""
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, [uid for uid, _start, _stop in found],
                   array("Q", [n for _uid, start, stop in found for n in (start, stop)]))

    @classmethod
    def scanned(cls, path: Path) -> Spans | None:
        """The spans of the calendar file at *path*, found by scanning it (a build that made it whole);
        None if there is none, or it is not one ``feeds`` made."""
        try:
            with open(path, "rb") as f:
                return cls.of(Previous.read(f).found, path)
        except (OSError, Unspliceable):
            return None

    def found(self) -> list[tuple[str, int, int]]:
        """``Previous.found``."""
        bounds = self.bounds
        return [(uid, bounds[2 * i], bounds[2 * i + 1]) for i, uid in enumerate(self.uids)]


@dataclass
class Located:
    """The previous ``talks.ics`` as a rebuild passes it on: its file and the spans the state kept of it."""

    path: Path
    spans: Spans | None


def _tail(found: list[tuple[str, int, int]], size: int) -> int:
    return found[-1][2] if found else max(size - len(feeds.END), 0)


def splice(p: Prepared, view: Prepared, previous: Previous, dirty: Collection[str], name: str,
           memo: MutableMapping[str, bytes]) -> Spliced | None:
    """``talks.ics`` of *p* (titled *name*) from the *previous* one, the VEVENTs of the talks in *dirty*
    made again through *view* (the renderer's, which notes what each VEVENT reads) with *memo*;
    None when no talk has a start (there is no file). Raise ``Unspliceable`` if *previous*
    is not a calendar this data's can be spliced from."""
    talks = p.dataset.talks
    found = previous.found
    if previous.tail != feeds.END:
        raise Unspliceable("it does not end after its last VEVENT")
    slots = _slots(p)
    in_slots = {t.id for _s, inner in slots for t in inner}
    new: list[feeds.Component] = [(session, inner) for session, inner in slots]
    for tid in sorted(dirty):
        t = talks.get(tid)
        if t is not None and t.start_at is not None and tid not in in_slots:
            new.append((t, []))
    new.sort(key=lambda c: feeds.component_order(c[0]))
    # The VEVENTs kept: every talk's but those made again. Each must be a dated talk standing alone now.
    kept: list[tuple[R.Talk, int, int]] = []
    for uid, start, stop in found:
        if uid.startswith(_SESSION) or uid in dirty:
            continue
        t = talks.get(uid)
        if t is None or t.start_at is None or uid in in_slots:
            raise Unspliceable(f"its VEVENT {uid!r} is of no dated talk of the data as it is")
        kept.append((t, start, stop))
    if not kept and not new:
        return None
    # The records of every component, for the VTIMEZONEs; those of slots' talks are not components.
    records: Iterator[R.Scheduled] = iter([*(t for t, _s, _e in kept), *(rec for rec, _i in new)])
    pieces: list[Piece] = [feeds.calendar_start(name, records)]
    at = 0
    for component in new:  # where it goes among the kept: the order of a few of them is looked up
        to = bisect.bisect_left(kept, feeds.component_order(component[0]), lo=at,
                                key=lambda k: feeds.component_order(k[0]))
        _ranges(pieces, kept, at, to)
        pieces.append(feeds.component_bytes(view, component, memo))
        at = to
    _ranges(pieces, kept, at, len(kept))
    pieces.append(feeds.END)
    return Spliced(pieces)


def _ranges(pieces: list[Piece], kept: list[tuple[R.Talk, int, int]], first: int, stop: int) -> None:
    """Append the previous file's bytes of kept[first:stop], adjacent VEVENTs as one range."""
    for _t, start, end in kept[first:stop]:
        last = pieces[-1]
        if isinstance(last, tuple) and last[1] == start:
            pieces[-1] = (last[0], end)
        else:
            pieces.append((start, end))


def _slots(p: Prepared) -> list[feeds.Component]:
    """Every session's slot in the archive's calendar, with its talks in their order."""
    ds = p.dataset
    out: list[feeds.Component] = []
    children = p.site_index.children
    for sid, session in ds.sessions.items():
        if session.start_at is None or session.start_at.is_date:
            continue
        inner = sorted((t for kind, t in children.get(("session", sid), []) if isinstance(t, R.Talk)
                        and feeds.slot_session(p, t) is session), key=feeds.component_order)
        if inner:
            out.append((session, inner))
    return out


def remake(p: Prepared, view: Prepared, previous: bytes | Path | Located, dirty: Collection[str],
           folder: Path | None, memo: MutableMapping[str, bytes] | None = None
           ) -> tuple[bytes | Path | None, Spans | None]:
    """The new ``talks.ics`` of a rebuild whose dirty talk calendars are those of the talks *dirty*, spliced from
    *previous* (its bytes, or its file, with the spans the state kept of it if any): written into
    *folder* when *previous* is a file and there is a folder (its path returned, with its spans),
    else its bytes; None when no talk has a start. Made whole (every VEVENT again) when the
    previous one cannot be spliced from.

    What the VEVENTs made here read is recorded under them (``RECORDER``), nothing under the
    calendar: a rebuild decides ``talks.ics`` from the talks' own calendars. *memo* holds the
    VEVENTs made already (those the dirty talks' own calendars were made with, ``feeds.site_feeds``):
    taken from it, not made again; those made here go into it."""
    title = p.dataset.site.title
    if memo is None:
        memo = {}
    with RECORDER.collecting() as made, RECORDER.quiet():
        try:
            got = _spliced(p, view, previous, dirty, title, memo, folder)
        except Unspliceable:  # made whole, as a full build makes it
            pieces = feeds.calendar_parts(view, list(p.dataset.talks.values()), title, memo)
            got = (None if pieces is None else b"".join(pieces)), None
    RECORDER.keep(pickled(made))
    return got


def _spliced(p: Prepared, view: Prepared, previous: bytes | Path | Located, dirty: Collection[str], title: str,
             memo: MutableMapping[str, bytes], folder: Path | None) -> tuple[bytes | Path | None, Spans | None]:
    if isinstance(previous, bytes):
        spliced = splice(p, view, Previous.of(previous), dirty, title, memo)
        return None if spliced is None else spliced.join(previous), None
    path, spans = (previous.path, previous.spans) if isinstance(previous, Located) else (previous, None)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise Unspliceable(str(exc)) from None
    with f:
        if os.fstat(f.fileno()).st_size == 0:
            raise Unspliceable("it is empty")
        was = Previous.stored(f, spans) or Previous.read(f)
        spliced = splice(p, view, was, dirty, title, memo)
        if spliced is None:
            return None, None
        if folder is None:
            f.seek(0)
            return spliced.join(f.read()), None
        target = folder / "talks.ics"
        spliced.write(f.fileno(), target)
        return target, Spans.of(spliced.found(was), target)
