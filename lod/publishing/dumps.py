"""The three dumps and every resource's three description files, in one pass.

(With the site setting ``documents: served`` the resources' files are not written: the
dumps' index is published instead, and ``lod serve`` answers them from it, ``lod.publishing.documents``.)

``splice_subjects`` is the dumps stage of every build. It walks the new descriptions (the
canonical, sorted and deduplicated triples of the resources that changed: all of them in a
full build) once, subject by subject, each subject's N-Triples lines, Turtle block and
JSON-LD node formatted once (``lod.publishing.subjects``: by the describing stage, which
streams them to it, so that this process need not hold the triples), and uses them both
for the dumps and for the files of the resource that owns the subject. Between them it
copies, in the kernel (``lod.publishing.bytecopy``), the byte ranges of the previous dumps'
subjects that did not change, found through the previous build's ``DumpIndex`` (each
subject's place and byte length in each dump, and the prefixes its Turtle block uses). A
full build has no previous dumps: everything is new. The bytes are those of the
``lod.model.formats`` writers on the whole triple set (tests/test_dumps.py,
tests/test_dumps_splice.py), and so is the index returned.

A subject ``<R>`` sorts after its fragments ``<R#…>`` (``#`` < ``>``), so when the walk
reaches ``<R>`` the description of R is complete and its files are written at once. The
Turtle dump starts with the prefixes its subjects use, known at the end: its blocks go to
a scratch file first. The JSON-LD dump orders nodes by IRI, not by N-Triples text, so the
new nodes go to a scratch file and are merged in that order at the end (the page cache holds
them, not the heap). Memory holds the index and the pending fragments of one resource, not
the dumps' text.
"""

from __future__ import annotations

import mmap
import os
import time
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, MutableSequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from lod.model.serialize import Terms, Triple, jsonld_document, turtle_document
from lod.publishing.bytecopy import FILE_BUFFER, Out, copy_range
from lod.publishing.subjects import Subject, formatted

Write = Callable[[str, bytes], None]


def _sid(subject: Subject) -> str:
    return subject.sid


def _nt_key(sid: str) -> str:
    """The order of subjects in dump.nt and dump.ttl: that of their N-Triples texts ``<sid>``,
    which is that of ``sid + ">"`` (the leading ``<`` is common to all)."""
    return sid + ">"


def _owner(sid: str) -> str:
    return sid.split("#", 1)[0]  # Minter.owner


def _new_masks(names: tuple[str, ...]) -> MutableSequence[int]:
    """One bit per prefix name: 8 bytes a subject while the site has at most 64 prefixes (it has 20)."""
    return array("Q") if len(names) <= 64 else []


def _mask_counts(masks: Iterable[int], names: tuple[str, ...]) -> dict[str, int]:
    """How many subjects use each prefix, from their masks (few distinct masks: counted in C)."""
    counts: dict[str, int] = {}
    for mask, n in Counter(masks).items():
        for i, name in enumerate(names):
            if mask >> i & 1:
                counts[name] = counts.get(name, 0) + n
    return counts


def _ttl_head(prefixes: dict[str, str], counts: dict[str, int]) -> bytes:
    """The Turtle dump's prefix lines and blank line: the prefixes some subject uses."""
    return turtle_document(prefixes, [p for p, n in counts.items() if n > 0], [])


def _jsonld_frame(context_url: str) -> tuple[bytes, bytes]:
    """``jsonld_document``'s bytes before its first node and after its last one."""
    head, tail = jsonld_document(context_url, ["\x00"]).split(b"\x00")
    return head, tail


@dataclass
class DumpIndex:
    """Where each subject is in the three dumps, so that ``splice_dumps`` can rewrite them
    by copying the unchanged byte ranges. Plain lists and arrays: it pickles compactly.

    A subject's sort key in dump.nt and dump.ttl is its N-Triples text ``<sid>`` (the
    canonical order); in dump.jsonld it is the IRI. Its owner is ``sid`` before ``#``
    (``Minter.owner``). Byte lengths are kept rather than offsets, so that a splice does
    not shift every later entry: a subject's offset is the header plus the lengths before
    it (``offsets``). Each length counts the separator after the subject (the blank line
    of Turtle, the ``,\\n`` of JSON-LD), which the last subject has not in the file.
    """

    context_url: str = ""
    prefixes: dict[str, str] = field(default_factory=dict)  # terms.prefixes the dumps were written with
    names: tuple[str, ...] = ()  # sorted prefix names: bit i of a mask stands for names[i]
    sids: list[str] = field(default_factory=list)  # subjects in dump.nt / dump.ttl order
    nt: MutableSequence[int] = field(default_factory=lambda: array("I"))  # bytes of each subject's lines
    ttl: MutableSequence[int] = field(default_factory=lambda: array("I"))  # bytes of its block, + 1
    masks: MutableSequence[int] = field(default_factory=lambda: array("Q"))  # the prefixes its block uses
    json_sids: list[str] = field(default_factory=list)  # subjects in dump.jsonld order (the same strings)
    json: MutableSequence[int] = field(default_factory=lambda: array("I"))  # bytes of each node, + 2
    counts: dict[str, int] = field(default_factory=dict)  # prefix → subjects using it (none at 0)
    ttl_head: int = 1  # bytes of dump.ttl before the first block: its @prefix lines and a blank line
    triples: int = 0  # in the dumps
    resources: int = 0  # owners with a site path: the resources whose three files are written

    def offsets(self, dump: str) -> list[int]:
        """Each subject's byte offset in ``dump.<dump>`` ("nt", "ttl" or "jsonld"), in file order, and the
        offset just past the last subject's separator."""
        lengths, start = {"nt": (self.nt, 0), "ttl": (self.ttl, self.ttl_head),
                          "jsonld": (self.json, len(_jsonld_frame(self.context_url)[0]))}[dump]
        return list(accumulate(lengths, initial=start))

    def positions_of(self, owner: str) -> list[int]:
        """The positions in dump.nt order (of ``sids``, ``nt``) of the subjects *owner* describes."""
        return sorted(_owned(self.sids, owner, _nt_key))

    def subjects_of(self, owner: str) -> list[str]:
        """The subjects *owner* describes, in dump.nt order."""
        return [self.sids[i] for i in sorted(_owned(self.sids, owner, _nt_key))]


def _owned(sids: list[str], owner: str, key: Callable[[str], str] | None) -> list[int]:
    """The positions in *sids* (sorted by *key*) of *owner* and its fragments ``owner#…``."""
    k = key or str
    out = []
    i = bisect_left(sids, k(owner), key=key)
    if i < len(sids) and sids[i] == owner:
        out.append(i)
    # The keys of owner#… (whatever *key* appends) are one run: [owner#, owner$).
    lo = bisect_left(sids, owner + "#", key=key)
    hi = bisect_left(sids, owner + "$", lo, key=key)
    out.extend(range(lo, hi))
    return out


def _resource_files(subjects: list[Subject], prefixes: dict[str, str], context_url: str) -> tuple[bytes, bytes, bytes]:
    """The .ttl, .nt and .jsonld of one resource from its subjects in canonical order."""
    return (turtle_document(prefixes, set().union(*(s.used for s in subjects)), [s.ttl for s in subjects]),
            "".join(s.nt for s in subjects).encode("utf-8"),
            jsonld_document(context_url, [s.json for s in sorted(subjects, key=_sid)]))


def write_descriptions(triples: list[Triple], terms: Terms, context_url: str, root: Path,
                       path_of: Callable[[str], str | None], write: Write | None,
                       timings: dict[str, float] | None = None, index: DumpIndex | None = None,
                       advance: Callable[[int], None] | None = None) -> int:
    """Write dump.ttl, dump.nt and dump.jsonld of all *triples* under *root* and, through
    *write*, the three files of each resource; return how many resources have a site path.
    ``splice_dumps`` from no previous dumps: *index*, if given, is filled with the new dumps'.
    """
    owners = {_owner(str(t[0])) for t in triples}
    made = splice_dumps(None, root, DumpIndex(), owners, triples, terms, context_url, path_of, write, timings,
                        advance)
    if index is not None:
        vars(index).update(vars(made))
    return made.resources


class _Kept:
    """The subjects of a previous dump, in its order, walked once: the runs of those kept are
    copied to the new dump (by the kernel), those of the *gone* positions skipped."""

    def __init__(self, src: int, sids: list[str], lengths: MutableSequence[int], start: int, gone: list[int],
                 sep: bytes, count_lines: bool = False) -> None:
        self.src, self.sids, self.lengths, self.sep = src, sids, lengths, sep
        self.pos = start  # offset in the old file of subject ``cur``
        self.cur = 0
        self.gone, self.gi = gone, 0
        self.count_lines = count_lines
        self.lines = 0  # lines of the gone subjects, if counted

    def upto(self, at: int, out: Out, kept: Callable[[int, int], None]) -> None:
        """Copy the kept subjects before position *at* to *out*, telling *kept* each run (a, b)."""
        gone, lengths = self.gone, self.lengths
        while self.cur < at:
            g = gone[self.gi] if self.gi < len(gone) and gone[self.gi] < at else at
            if g > self.cur:
                a, b = self.cur, g
                length = sum(lengths[a:b])
                if b == len(lengths) and self.sep:  # the last subject of the file has no separator after it
                    out.copy(self.src, self.pos, length - len(self.sep))
                    out.write(self.sep)
                else:
                    out.copy(self.src, self.pos, length)
                self.pos += length
                kept(a, b)
                self.cur = b
            if g < at:
                if self.count_lines:
                    self.lines += os.pread(self.src, lengths[g], self.pos).count(b"\n")
                self.pos += lengths[g]
                self.gi += 1
                self.cur = g + 1

    def end(self) -> int:
        """The size the old file must have, once walked to its end."""
        return self.pos - (len(self.sep) if self.lengths else 0)


def splice_dumps(old_root: Path | None, new_root: Path, index: DumpIndex, owners: set[str], new_triples: list[Triple],
                 terms: Terms, context_url: str, path_of: Callable[[str], str | None], write: Write | None = None,
                 timings: dict[str, float] | None = None, advance: Callable[[int], None] | None = None) -> DumpIndex:
    """Write dump.ttl, dump.nt and dump.jsonld under *new_root* from those under *old_root*
    (which *index* describes; None and ``DumpIndex()``: no previous dumps, a full build) with
    the descriptions of *owners* replaced by *new_triples*; return the new dumps' index.

    *new_triples* are the complete new descriptions of exactly *owners* (every subject
    ``owner`` or ``owner#…``), in canonical order without duplicates; an owner with none is
    removed. ``splice_subjects`` of their subjects' texts (``lod.publishing.subjects.formatted``).
    """
    return splice_subjects(old_root, new_root, index, owners, formatted(new_triples, terms), terms.prefixes,
                           context_url, path_of, write, timings, advance)


def splice_subjects(old_root: Path | None, new_root: Path, index: DumpIndex, owners: set[str],
                    new_subjects: Iterable[Subject], prefixes: dict[str, str], context_url: str,
                    path_of: Callable[[str], str | None], write: Write | None = None,
                    timings: dict[str, float] | None = None, advance: Callable[[int], None] | None = None) -> DumpIndex:
    """``splice_dumps`` from the new subjects' texts, in canonical order (the pipeline's dumps
    stage reads them from the stream the describing stage wrote, ``lod.publishing.subjects``).

    One pass over the new subjects, in order, uses each one's N-Triples lines, Turtle block
    and JSON-LD node both for the dumps and for its resource's files, and merges them with the
    kept subjects of the old dumps, whose bytes are copied by the kernel. Each dump is written
    beside its final name and renamed over it once all three are written, so *new_root* may be
    *old_root*.

    The bytes equal those of the ``lod.model.formats`` writers on the whole new triple
    set (tests/test_dumps.py, tests/test_dumps_splice.py). *write*, if given, gets the three
    files of each owner of *owners* that has a description and a site path (the files of
    removed owners are the caller's to delete). *timings* gets "dumps" and "resources";
    *advance* is told how many triples each subject had, as they are written.
    """
    t_start = time.perf_counter()
    if not index.context_url and not index.sids:  # DumpIndex(): no dumps before (a full build)
        index = DumpIndex(context_url, dict(prefixes), tuple(sorted(prefixes)),
                          ttl_head=len(_ttl_head(prefixes, {})))
    if index.context_url != context_url or index.prefixes != prefixes:
        raise ValueError("the previous dumps were written with other prefixes or another JSON-LD context; "
                         "write them in full")
    names = index.names
    bits = {name: 1 << i for i, name in enumerate(names)}
    mask_of: dict[frozenset[str | None], int] = {}
    gone = sorted(i for o in owners for i in _owned(index.sids, o, _nt_key))
    gone_json = sorted(i for o in owners for i in _owned(index.json_sids, o, None))
    if len(gone) != len(gone_json):
        raise ValueError("the dump index is inconsistent: its two orders do not hold the same subjects")
    json_head, json_tail = _jsonld_frame(context_url)
    sids: list[str] = []
    nt_lengths: array[int] = array("I")
    ttl_lengths: array[int] = array("I")
    masks = _new_masks(names)
    nodes: list[tuple[str, int, int]] = []  # the new JSON-LD nodes: (IRI, offset, length) in the scratch file
    pending: dict[str, list[Subject]] = {}
    resources = index.resources - sum(1 for o in {_owner(index.sids[i]) for i in gone} if path_of(o))
    t_resources = 0.0

    def flush(owner: str) -> None:
        nonlocal resources, t_resources
        subjects = pending.pop(owner)
        path = path_of(owner)
        if not path:
            return
        resources += 1
        if write is not None:
            t0 = time.perf_counter()
            ttl, nt, jsonld = _resource_files(subjects, prefixes, context_url)
            write(path + ".ttl", ttl)
            write(path + ".nt", nt)
            write(path + ".jsonld", jsonld)
            t_resources += time.perf_counter() - t0

    def kept(a: int, b: int) -> None:
        sids.extend(index.sids[a:b])
        nt_lengths.extend(index.nt[a:b])
        ttl_lengths.extend(index.ttl[a:b])
        masks.extend(index.masks[a:b])

    def old(name: str) -> int:
        return os.open(old_root / name if old_root is not None else os.devnull, os.O_RDONLY)

    tmp = {name: new_root / f".{name}.splice" for name in ("dump.nt", "dump.ttl", "dump.jsonld")}
    body, scratch = new_root / ".dump.ttl.body", new_root / ".dump.jsonld.nodes"
    fds: list[int] = []
    try:
        nt_src, ttl_src, json_src = (old(name) for name in ("dump.nt", "dump.ttl", "dump.jsonld"))
        fds += [nt_src, ttl_src, json_src]
        with open(tmp["dump.nt"], "wb") as nt_f, open(body, "wb") as ttl_f, \
                open(scratch, "wb", buffering=FILE_BUFFER) as json_f:
            nt_out, ttl_out = Out(nt_f.fileno()), Out(ttl_f.fileno())
            nt_old = _Kept(nt_src, index.sids, index.nt, 0, gone, b"", count_lines=True)
            ttl_old = _Kept(ttl_src, index.sids, index.ttl, index.ttl_head, gone, b"\n")
            last, offset, new_count = "", 0, 0
            for subject in new_subjects:
                sid, s_nt = subject.sid, subject.s_nt
                owner = _owner(sid)
                if owner not in owners:
                    raise ValueError(f"{sid} is not part of the description of any owner being replaced")
                if s_nt <= last:
                    raise ValueError("the new triples are not in canonical order")
                last = s_nt
                at = bisect_left(index.sids, _nt_key(sid), nt_old.cur, key=_nt_key)
                nt_old.upto(at, nt_out, kept)
                ttl_old.upto(at, ttl_out, _ignore)
                data = subject.nt.encode("utf-8")
                nt_out.write(data)
                nt_lengths.append(len(data))
                data = subject.ttl.encode("utf-8") + b"\n"  # the blank line after each block; cut after the last
                ttl_out.write(data)
                ttl_lengths.append(len(data))
                key = frozenset(subject.used)
                mask = mask_of.get(key)
                if mask is None:
                    mask = mask_of[key] = sum(bits[p] for p in key if p is not None)
                masks.append(mask)
                sids.append(sid)
                data = subject.json.encode("utf-8")
                json_f.write(data)
                nodes.append((sid, offset, len(data)))
                offset += len(data)
                new_count += subject.count
                if advance is not None:
                    advance(subject.count)
                pending.setdefault(owner, []).append(subject)
                if sid == owner:
                    flush(owner)
            nt_old.upto(len(index.sids), nt_out, kept)
            ttl_old.upto(len(index.sids), ttl_out, _ignore)
            nt_out.flush()
            ttl_out.flush()
            for owner in list(pending):
                flush(owner)
        if old_root is not None:
            for fd, walked in ((nt_src, nt_old), (ttl_src, ttl_old)):
                if os.fstat(fd).st_size != walked.end():
                    raise ValueError("the previous dumps do not match their index")
        counts = _mask_counts(masks, names)
        head = _ttl_head(prefixes, counts)
        with open(tmp["dump.ttl"], "wb") as out, open(body, "rb") as src:
            out.write(head)
            out.flush()
            copy_range(src.fileno(), out.fileno(), 0, max(sum(ttl_lengths) - 1, 0))
        nodes.sort(key=lambda n: n[0])
        json_sids: list[str] = []
        json_lengths: array[int] = array("I")

        def kept_json(a: int, b: int) -> None:
            json_sids.extend(index.json_sids[a:b])
            json_lengths.extend(index.json[a:b])

        with open(tmp["dump.jsonld"], "wb") as f, open(scratch, "rb") as nodes_f:
            out_ = Out(f.fileno())
            json_old = _Kept(json_src, index.json_sids, index.json, len(json_head), gone_json, b",\n")
            out_.write(json_head if sids else jsonld_document(context_url, []))
            with mmap.mmap(nodes_f.fileno(), 0, access=mmap.ACCESS_READ) if nodes else _no_map() as mm:
                for sid, start, length in nodes:
                    json_old.upto(bisect_left(index.json_sids, sid, json_old.cur), out_, kept_json)
                    out_.write(mm[start:start + length] + b",\n")
                    json_sids.append(sid)
                    json_lengths.append(length + 2)
            json_old.upto(len(index.json_sids), out_, kept_json)
            if sids:
                out_.cut(2)
                out_.write(json_tail)
            out_.flush()
        if old_root is not None:
            size = os.fstat(json_src).st_size
            if size != (json_old.end() + len(json_tail) if index.json_sids else len(jsonld_document(context_url, []))):
                raise ValueError("the previous dump.jsonld does not match its index")
        for name, path in tmp.items():  # only once all three are written
            os.replace(path, new_root / name)
    finally:  # the scratch files never stay in the site, whatever happened
        for fd in fds:
            os.close(fd)
        for path in (body, scratch, *tmp.values()):
            if path.exists():
                os.remove(path)
    if timings is not None:
        timings["resources"] = t_resources
        timings["dumps"] = time.perf_counter() - t_start - t_resources
    return DumpIndex(context_url, dict(prefixes), names, sids, nt_lengths, ttl_lengths, masks, json_sids,
                     json_lengths, counts, len(head), index.triples - nt_old.lines + new_count, resources)


def _ignore(_a: int, _b: int) -> None:
    """The Turtle walk's runs: the index lists are extended once, by the N-Triples walk."""


class _no_map:
    """No scratch to map (no new subject): nothing is read from it."""

    def __enter__(self) -> bytes:
        return b""

    def __exit__(self, *_exc: object) -> None:
        return None
