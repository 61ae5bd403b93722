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
from collections import Counter
from collections.abc import Collection, Mapping, MutableMapping
from dataclasses import dataclass, field
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
from lod.publishing.vtimezones import Zone, ranges, zone_years

_SESSION = KIND_PATHS["session"] + "/"  # a session slot's UID starts so (``feeds.session_vevent``)

Piece = bytes | tuple[int, int]  # new bytes, or the range [start, stop) of the previous file


class Unspliceable(ValueError):
    """The previous ``talks.ics`` is not one this data's calendar can be spliced from."""


@dataclass
class Spliced:
    """The new calendar: pieces of new bytes and ranges of the previous file, in order."""

    pieces: list[Piece]
    codes: dict[int, tuple[int, int]] = field(default_factory=dict)  # a new VEVENT's piece -> its ``ZoneCodes``
    zones: list[str] = field(default_factory=list)  # the zones they number

    def join(self, previous: bytes) -> bytes:
        """The calendar's bytes (for a caller that keeps it in memory)."""
        return b"".join(piece if isinstance(piece, bytes) else previous[piece[0]:piece[1]] for piece in self.pieces)

    def found(self, previous: Previous) -> tuple[list[tuple[str, int, int]], array[int] | None]:
        """Where each VEVENT of the new calendar is (``Previous.found``): those of its new bytes found
        in them, those of the previous file's ranges moved by as much as their range; and the zone
        codes of each (``ZoneCodes``, two a VEVENT), None if the previous file's are not known."""
        out: list[tuple[str, int, int]] = []
        codes = None if previous.codes is None else array("I")
        starts = [start for _uid, start, _stop in previous.found]
        at = 0
        for n, piece in enumerate(self.pieces):
            if isinstance(piece, bytes):
                spans = vevent_spans(piece, base=at)
                out += spans
                if codes is not None and spans:  # a new VEVENT is a piece of its own
                    codes.extend(self.codes[n])
                at += len(piece)
                continue
            first, stop = piece
            shift = at - first
            i = bisect.bisect_left(starts, first)
            while i < len(starts) and previous.found[i][2] <= stop:
                uid, start, end = previous.found[i]
                out.append((uid, start + shift, end + shift))
                if codes is not None and previous.codes is not None:
                    codes.extend(previous.codes[2 * i:2 * i + 2])
                i += 1
            at += stop - first
        return out, codes

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
    codes: array[int] | None = None  # each VEVENT's two ``ZoneCodes``, if known (kept by the build that wrote it)
    zones: list[str] = field(default_factory=list)  # the zones the codes number

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
        codes = spans.codes if spans.codes is not None and len(spans.codes) == 2 * len(found) else None
        return cls(found, f.read(len(feeds.END) + 1), codes, spans.zones)


@dataclass
class Spans:
    """Where each VEVENT of a written ``talks.ics`` is, and which file that is (its size and
    modification time, as the build that wrote it found them). The build state keeps them, so that
    the next rebuild's splice reads them there, not by scanning the file (169 MB, 0.4 s at 100k talks)."""

    size: int
    mtime_ns: int
    uids: list[str]
    bounds: array[int]  # each VEVENT's first byte and the byte after it, in order
    codes: array[int] | None = None  # each VEVENT's two ``ZoneCodes`` (None: not known)
    zones: list[str] = field(default_factory=list)  # the zones they number

    @classmethod
    def of(cls, found: list[tuple[str, int, int]], path: Path, codes: array[int] | None = None,
           zones: list[str] | None = None) -> Spans:
        """The spans *found* in the file at *path*, as it is now, with their zone *codes* if known."""
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, [uid for uid, _start, _stop in found],
                   array("Q", [n for _uid, start, stop in found for n in (start, stop)]), codes, list(zones or ()))

    @classmethod
    def scanned(cls, path: Path, p: Prepared) -> Spans | None:
        """The spans of the calendar file at *path*, found by scanning it (a build that made it whole),
        with the zone codes of the records of *p* they are the VEVENTs of; None if there is no file,
        or it is not one ``feeds`` made."""
        try:
            with open(path, "rb") as f:
                found = Previous.read(f).found
        except (OSError, Unspliceable):
            return None
        numbering = ZoneCodes([])
        codes = array("I")
        talks, sessions = p.dataset.talks, p.dataset.sessions
        for uid, _start, _stop in found:
            rec = sessions.get(uid[len(_SESSION):]) if uid.startswith(_SESSION) else talks.get(uid)
            if rec is None:  # not this data's: the next splice reads the zones from the records
                return cls.of(found, path)
            codes.extend(numbering.of(rec))
        return cls.of(found, path, codes, numbering.zones)

    def found(self) -> list[tuple[str, int, int]]:
        """``Previous.found``."""
        bounds = self.bounds
        return [(uid, bounds[2 * i], bounds[2 * i + 1]) for i, uid in enumerate(self.uids)]


class ZoneCodes:
    """The zones of a VEVENT as two numbers: ``(zone's number + 1) << 16 | local year`` of its start and
    of its end (``vtimezones.zone_years``), 0 where it has none. The state keeps them for each VEVENT of
    ``talks.ics`` (``Spans``), so that a splice finds the VTIMEZONEs of the 100k VEVENTs it keeps
    without reading their talks (0.13 s a rebuild at 100k talks), from the counts of the codes."""

    def __init__(self, zones: list[str]) -> None:
        self.zones = list(zones)
        self._number = {zone: n for n, zone in enumerate(self.zones)}

    def of(self, rec: R.Scheduled) -> tuple[int, int]:
        """The two codes of the VEVENT of *rec* (a talk, or a session's slot)."""
        got = [self._code(zone, year) for zone, year in zone_years(rec)] + [0, 0]
        return got[0], got[1]

    def _code(self, zone: str, year: int) -> int:
        n = self._number.get(zone)
        if n is None:
            n = self._number[zone] = len(self.zones)
            self.zones.append(zone)
        return (n + 1) << 16 | year

    def needed(self, counts: Mapping[int, int]) -> list[Zone]:
        """The VTIMEZONEs of a calendar whose VEVENTs hold each code as many times as *counts* say
        (``vtimezones.zones``)."""
        years: dict[str, list[int]] = {}
        for code, n in counts.items():
            if code and n > 0:
                years.setdefault(self.zones[(code >> 16) - 1], []).append(code & 0xFFFF)
        return ranges(years)


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
    dropped: list[int] = []
    for i, (uid, start, stop) in enumerate(found):
        if uid.startswith(_SESSION) or uid in dirty:
            dropped.append(i)
            continue
        t = talks.get(uid)
        if t is None or t.start_at is None or uid in in_slots:
            raise Unspliceable(f"its VEVENT {uid!r} is of no dated talk of the data as it is")
        kept.append((t, start, stop))
    if not kept and not new:
        return None
    numbering = ZoneCodes(previous.zones)
    codes = [numbering.of(rec) for rec, _inner in new]
    if previous.codes is not None:  # the kept VEVENTs' zones as they were written: a kept VEVENT is unchanged
        counts = Counter(previous.codes)
        counts.subtract(previous.codes[2 * i + k] for i in dropped for k in (0, 1))
        counts.update(code for pair in codes for code in pair)
        pieces: list[Piece] = [feeds.calendar_start(name, (), numbering.needed(counts))]
    else:  # from the records of every component; those of slots' talks are not components
        pieces = [feeds.calendar_start(name, [*(t for t, _s, _e in kept), *(rec for rec, _i in new)])]
    spliced = Spliced(pieces, zones=numbering.zones)
    at = 0
    for component, pair in zip(new, codes):  # where it goes among the kept: the order of a few is looked up
        to = bisect.bisect_left(kept, feeds.component_order(component[0]), lo=at,
                                key=lambda k: feeds.component_order(k[0]))
        _ranges(pieces, kept, at, to)
        pieces.append(feeds.component_bytes(view, component, memo))
        spliced.codes[len(pieces) - 1] = pair
        at = to
    _ranges(pieces, kept, at, len(kept))
    pieces.append(feeds.END)
    return spliced


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
        found, codes = spliced.found(was)
        return target, Spans.of(found, target, codes, spliced.zones)
