"""The three dumps and every resource's three description files, in one pass.

(With the site setting ``documents: served`` the resources' files are not written: the
dumps' index is published instead, and ``lod serve`` answers them from it, ``lod.publishing.documents``.)

``write_descriptions`` walks the canonical (sorted, deduplicated) triples once, subject
by subject, formats each subject's N-Triples lines, Turtle block and JSON-LD node once
from the cached term texts (``serialize.Terms``), and uses them both for the dumps and
for the files of the resource that owns the subject. The bytes are those of the
``lod.model.formats`` writers on the same triples (tests/test_dumps.py).

A subject ``<R>`` sorts after its fragments ``<R#…>`` (``#`` < ``>``), so when the walk
reaches ``<R>`` the description of R is complete and its files are written at once. The
JSON-LD dump orders nodes by IRI, not by N-Triples text, so its nodes go to a scratch
file first and are copied out in order at the end (the page cache holds them, not the heap).

An incremental build does not walk everything again: ``write_descriptions`` fills a
``DumpIndex`` (each subject's place and byte length in each dump, and the prefixes its
Turtle block uses), and ``splice_dumps`` rewrites the three dumps from the previous ones
and the new descriptions of the owners that changed, copying the unchanged byte ranges in
the kernel. Its bytes and index are those of a full write (tests/test_dumps_splice.py).
"""

from __future__ import annotations

import errno
import mmap
import os
import time
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from rdflib.term import Node

from lod.model.serialize import (_RDF_TYPE, Terms, Triple, json_node, jsonld_document, turtle_block, turtle_document)

Write = Callable[[str, bytes], None]
_FILE_BUFFER = 1 << 20  # for the dumps' files: fewer write calls for 100s of MB


def subject_runs(triples: list[Triple], terms: Terms) -> Iterator[tuple[Node, str, list[Triple]]]:
    """(subject, its N-Triples text, its triples) for each run of one subject in canonical triples."""
    nt = terms.nt
    start, current, text = 0, None, ""
    for i, t in enumerate(triples):
        s = t[0]
        if s is current:
            continue
        s_text = nt(s)
        if s_text == text and i:
            current = s
            continue
        if i:
            yield current, text, triples[start:i]  # type: ignore[misc]
        start, current, text = i, s, s_text
    if triples:
        yield current, text, triples[start:]  # type: ignore[misc]


class Subject:
    """One subject's text in the three formats."""

    __slots__ = ("sid", "nt", "ttl", "used", "json")

    def __init__(self, s: Node, s_nt: str, run: list[Triple], tt: Terms) -> None:
        nt, turtle, json, term_key = tt.nt, tt.turtle, tt.json, tt.term_key
        s_ttl, prefix = turtle(s)
        used = {prefix}
        lines = []
        preds: dict[str, list[str]] = {}
        props: dict[str, list[tuple[str, str]]] = {}
        for _s, p, o in run:
            p_nt = nt(p)
            lines.append(f"{s_nt} {p_nt} {nt(o)} .\n")
            o_ttl, prefix = turtle(o)
            used.add(prefix)
            if p_nt == _RDF_TYPE:
                preds.setdefault("a", []).append(o_ttl)
                text = term_key(o)[1]
                props.setdefault("@type", []).append((text, text))
            else:
                p_ttl, prefix = turtle(p)
                used.add(prefix)
                preds.setdefault(p_ttl, []).append(o_ttl)
                props.setdefault(term_key(p)[0], []).append(json(o))
        self.sid = str(s)
        self.nt = "".join(lines)
        self.ttl = turtle_block(s_ttl, preds)
        self.used = used
        self.json = json_node(self.sid, props)


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


def _resource_files(subjects: list[Subject], terms: Terms, context_url: str) -> tuple[bytes, bytes, bytes]:
    """The .ttl, .nt and .jsonld of one resource from its subjects in canonical order."""
    return (turtle_document(terms.prefixes, set().union(*(s.used for s in subjects)), [s.ttl for s in subjects]),
            "".join(s.nt for s in subjects).encode("utf-8"),
            jsonld_document(context_url, [s.json for s in sorted(subjects, key=_sid)]))


def write_descriptions(triples: list[Triple], terms: Terms, context_url: str, root: Path,
                       path_of: Callable[[str], str | None], write: Write | None,
                       timings: dict[str, float] | None = None, index: DumpIndex | None = None,
                       advance: Callable[[int], None] | None = None) -> int:
    """Write dump.ttl, dump.nt and dump.jsonld under *root* and, through *write*, the three
    files of each resource *path_of* gives a site path; return how many resources have one.
    With *write* None no resource file is made (``documents: served``, ``lod.publishing.documents``).

    *triples* must be in canonical order without duplicates (``Prepared.triples``).
    *timings* gets "resources", the time spent on the resources' own files, and "dumps", the rest.
    *index*, if given, is filled with where each subject is in the dumps (for ``splice_dumps``).
    *advance*, if given, is told how many triples each subject had, as they are written (progress).
    """
    t_start = time.perf_counter()
    t_resources = 0.0
    written = 0
    pending: dict[str, list[Subject]] = {}
    nodes: list[tuple[str, int, int]] = []  # (IRI, offset, length) in the scratch file
    names = tuple(sorted(terms.prefixes))
    bits = {name: 1 << i for i, name in enumerate(names)}
    mask_of: dict[frozenset[str | None], int] = {}
    sids: list[str] = []
    nt_lengths: array[int] = array("I")
    ttl_lengths: array[int] = array("I")
    masks = _new_masks(names)

    def flush(owner: str) -> None:
        nonlocal written, t_resources
        subjects = pending.pop(owner)
        path = path_of(owner)
        if not path:
            return
        if write is None:
            written += 1
            return
        t0 = time.perf_counter()
        ttl, nt, jsonld = _resource_files(subjects, terms, context_url)
        write(path + ".ttl", ttl)
        write(path + ".nt", nt)
        write(path + ".jsonld", jsonld)
        written += 1
        t_resources += time.perf_counter() - t0

    body, scratch = root / ".dump.ttl.body", root / ".dump.jsonld.nodes"
    try:
        offset = 0
        with open(root / "dump.nt", "wb", buffering=_FILE_BUFFER) as nt_out, \
                open(body, "wb", buffering=_FILE_BUFFER) as ttl_out, \
                open(scratch, "wb", buffering=_FILE_BUFFER) as json_out:
            for s, s_nt, run in subject_runs(triples, terms):
                subject = Subject(s, s_nt, run, terms)
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
                sid = subject.sid
                sids.append(sid)
                data = subject.json.encode("utf-8")
                json_out.write(data)
                nodes.append((sid, offset, len(data)))
                if advance is not None:
                    advance(len(run))
                offset += len(data)
                owner = sid.split("#", 1)[0]
                pending.setdefault(owner, []).append(subject)
                if sid == owner:
                    flush(owner)
            for owner in list(pending):
                flush(owner)
        counts = _mask_counts(masks, names)
        head = _ttl_head(terms.prefixes, counts)
        with open(root / "dump.ttl", "wb") as out, open(body, "rb") as src:
            out.write(head)
            out.flush()
            _copy(src.fileno(), out.fileno(), 0, max(sum(ttl_lengths) - 1, 0))
        nodes.sort(key=lambda n: n[0])
        with open(root / "dump.jsonld", "wb") as out:
            if not nodes:
                out.write(jsonld_document(context_url, []))
            else:
                # jsonld_document's bytes, streamed: its head and tail around the nodes.
                head_bytes, tail = _jsonld_frame(context_url)
                out.write(head_bytes)
                with open(scratch, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    comma = b""
                    for _iri, start, length in nodes:
                        out.write(comma)
                        out.write(mm[start:start + length])
                        comma = b",\n"
                out.write(tail)
    finally:  # the scratch files never stay in the site, whatever happened
        for scratch_file in (body, scratch):
            if scratch_file.exists():
                os.remove(scratch_file)
    if index is not None:
        vars(index).update(vars(DumpIndex(
            context_url, dict(terms.prefixes), names, sids, nt_lengths, ttl_lengths, masks, [n[0] for n in nodes],
            array("I", [n[2] + 2 for n in nodes]), counts, len(head), len(triples), written)))
    if timings is not None:
        timings["resources"] = t_resources
        timings["dumps"] = time.perf_counter() - t_start - t_resources
    return written


# ---------------------------------------------------------------- splicing

_BUFFER = 1 << 20  # bytes of new text a splice gathers before writing them
_SMALL = 1 << 16  # old ranges shorter than this are read into the output buffer rather than copied by the kernel
_kernel_copy = hasattr(os, "copy_file_range")


def _copy(src: int, dst: int, start: int, length: int) -> None:
    """Append *length* bytes of *src* from offset *start* at *dst*'s position: in the kernel
    (``copy_file_range``, no bytes through Python) where it can, else in large reads."""
    global _kernel_copy
    while length > 0:
        n = 0
        if _kernel_copy:
            try:
                n = os.copy_file_range(src, dst, min(length, 1 << 30), start)
            except OSError as exc:  # another file system, an old kernel, a file system without it
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                    raise
                _kernel_copy = False
                continue
        else:
            data = os.pread(src, min(length, _FILE_BUFFER), start)
            view = memoryview(data)
            while view:
                view = view[os.write(dst, view):]
            n = len(data)
        if n <= 0:
            raise ValueError("the previous dump is shorter than its index says")
        start += n
        length -= n


class _Out:
    """A dump being spliced: new text buffered, long unchanged ranges copied by the kernel."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.size = 0  # bytes written, the buffer's included

    def write(self, data: bytes) -> None:
        self.buf += data
        self.size += len(data)
        if len(self.buf) >= _BUFFER:
            self.flush()

    def copy(self, src: int, start: int, length: int) -> None:
        if length < _SMALL:
            data = os.pread(src, length, start)
            if len(data) != length:
                raise ValueError("the previous dump is shorter than its index says")
            self.write(data)
            return
        self.flush()
        _copy(src, self.fd, start, length)
        self.size += length

    def cut(self, n: int) -> None:
        """Drop the last *n* bytes written."""
        if n > len(self.buf):
            self.flush()
            os.ftruncate(self.fd, self.size - n)
            os.lseek(self.fd, self.size - n, os.SEEK_SET)
        else:
            del self.buf[len(self.buf) - n:]
        self.size -= n

    def flush(self) -> None:
        view = memoryview(self.buf)
        while view:
            view = view[os.write(self.fd, view):]
        self.buf = bytearray()


Plan = list[tuple[int, int]]


def _plan(old: list[str], gone: list[int], added: list[str], key: Callable[[str], str] | None) -> Plan:
    """The new order of a dump's subjects: ``(a, b)`` for the old subjects a … b-1, ``(-1, j)``
    for the new subject j. *old* is sorted by *key*, *gone* the sorted positions of the old
    subjects dropped, *added* the sorted keys of the new ones (none equal to a kept one's)."""
    at = [bisect_left(old, k, key=key) for k in added]
    plan: Plan = []
    cur = gi = j = 0
    while gi < len(gone) or j < len(at):
        if j < len(at) and (gi == len(gone) or at[j] <= gone[gi]):
            if at[j] > cur:
                plan.append((cur, at[j]))
                cur = at[j]
            plan.append((-1, j))
            j += 1
        else:
            if gone[gi] > cur:
                plan.append((cur, gone[gi]))
            cur = gone[gi] + 1
            gi += 1
    if cur < len(old):
        plan.append((cur, len(old)))
    return plan


def _splice_file(src: int, out: _Out, lengths: MutableSequence[int], start: int, plan: Plan, items: list[bytes],
                 sep: bytes, count_lines: bool = False) -> tuple[int, int]:
    """Write the subjects of *plan* (old ones copied from *src*, where they start at *start*,
    new ones from *items*), each followed by *sep*; return the lines of the old subjects
    dropped if *count_lines*, and the offset in *src* past the last old subject."""
    pos, cur, lines, n_old = start, 0, 0, len(lengths)
    for a, b in plan:
        if a < 0:
            out.write(items[b])
            continue
        if a > cur:  # old subjects dropped
            gap = sum(lengths[cur:a])
            if count_lines:
                lines += os.pread(src, gap, pos).count(b"\n")
            pos += gap
        length = sum(lengths[a:b])
        if b == n_old and sep:  # the last subject of the file has no separator after it
            out.copy(src, pos, length - len(sep))
            out.write(sep)
        else:
            out.copy(src, pos, length)
        pos += length
        cur = b
    if cur < n_old:
        gap = sum(lengths[cur:])
        if count_lines:
            lines += os.pread(src, gap, pos).count(b"\n")
        pos += gap
    return lines, pos


def splice_dumps(old_root: Path, new_root: Path, index: DumpIndex, owners: set[str], new_triples: list[Triple],
                 terms: Terms, context_url: str, path_of: Callable[[str], str | None], write: Write | None = None,
                 timings: dict[str, float] | None = None) -> DumpIndex:
    """Write dump.ttl, dump.nt and dump.jsonld under *new_root* from those under *old_root*
    (which *index* describes) with the descriptions of *owners* replaced by *new_triples*;
    return the new dumps' index. Each dump is written beside its final name and renamed
    over it, so *new_root* may be *old_root*; otherwise the old dumps are only read.

    *new_triples* are the complete new descriptions of exactly *owners* (every subject
    ``owner`` or ``owner#…``), in canonical order without duplicates; an owner with none is
    removed. The bytes equal those ``write_descriptions`` writes for the whole new triple
    set, and so does the index returned (``.triples`` is the new triple count,
    ``.resources`` the new resource count). *write*, if given, gets the three files of each
    owner of *owners* that has a description and a site path (the files of removed
    owners are the caller's to delete). *timings* gets "dumps" and "resources".
    """
    t_start = time.perf_counter()
    if index.context_url != context_url or index.prefixes != terms.prefixes:
        raise ValueError("the previous dumps were written with other prefixes or another JSON-LD context; "
                         "write them in full")
    names = index.names
    bits = {name: 1 << i for i, name in enumerate(names)}
    new: list[Subject] = []
    last = ""
    for s, s_nt, run in subject_runs(new_triples, terms):
        subject = Subject(s, s_nt, run, terms)
        if _owner(subject.sid) not in owners:
            raise ValueError(f"{subject.sid} is not part of the description of any owner being replaced")
        if s_nt <= last:
            raise ValueError("the new triples are not in canonical order")
        last = s_nt
        new.append(subject)
    by_iri = sorted(new, key=_sid)
    gone = sorted(i for o in owners for i in _owned(index.sids, o, _nt_key))
    gone_json = sorted(i for o in owners for i in _owned(index.json_sids, o, None))
    if len(gone) != len(gone_json):
        raise ValueError("the dump index is inconsistent: its two orders do not hold the same subjects")
    plan = _plan(index.sids, gone, [_nt_key(s.sid) for s in new], _nt_key)
    json_plan = _plan(index.json_sids, gone_json, [s.sid for s in by_iri], None)

    nt_items = [s.nt.encode("utf-8") for s in new]
    ttl_items = [s.ttl.encode("utf-8") + b"\n" for s in new]
    json_items = [s.json.encode("utf-8") + b",\n" for s in by_iri]
    new_masks = [sum(bits[p] for p in s.used if p is not None) for s in new]
    counts = dict(index.counts)
    for name, n in _mask_counts((index.masks[i] for i in gone), names).items():
        counts[name] -= n
    for name, n in _mask_counts(new_masks, names).items():
        counts[name] = counts.get(name, 0) + n
    counts = {name: n for name, n in counts.items() if n}

    sids: list[str] = []
    nt_lengths: array[int] = array("I")
    ttl_lengths: array[int] = array("I")
    masks = _new_masks(names)
    for a, b in plan:
        if a >= 0:
            sids += index.sids[a:b]
            nt_lengths += index.nt[a:b]  # type: ignore[arg-type]
            ttl_lengths += index.ttl[a:b]  # type: ignore[arg-type]
            masks += index.masks[a:b]
        else:
            sids.append(new[b].sid)
            nt_lengths.append(len(nt_items[b]))
            ttl_lengths.append(len(ttl_items[b]))
            masks.append(new_masks[b])
    json_sids: list[str] = []
    json_lengths: array[int] = array("I")
    for a, b in json_plan:
        if a >= 0:
            json_sids += index.json_sids[a:b]
            json_lengths += index.json[a:b]  # type: ignore[arg-type]
        else:
            json_sids.append(by_iri[b].sid)
            json_lengths.append(len(json_items[b]))

    head = _ttl_head(terms.prefixes, counts)
    json_head, json_tail = _jsonld_frame(context_url)

    def splice(name: str, lengths: MutableSequence[int], start: int, plan_: Plan, items: list[bytes],
               sep: bytes) -> int:
        with open(old_root / name, "rb") as src, open(new_root / f".{name}.splice", "wb") as dst:
            out = _Out(dst.fileno())
            if name == "dump.ttl":
                out.write(head)
            elif name == "dump.jsonld":
                out.write(json_head if sids else jsonld_document(context_url, []))
            lines, end = _splice_file(src.fileno(), out, lengths, start, plan_, items, sep, name == "dump.nt")
            if index.sids:  # the old file ends with its last subject (less its separator) and the tail
                end += (len(json_tail) if name == "dump.jsonld" else 0) - len(sep)
            elif name == "dump.jsonld":
                end = len(jsonld_document(context_url, []))
            if os.fstat(src.fileno()).st_size != end:
                raise ValueError(f"the previous {name} does not match its index")
            if sids:
                out.cut(len(sep))
                if name == "dump.jsonld":
                    out.write(json_tail)
            out.flush()
            return lines

    jobs = [("dump.nt", index.nt, 0, plan, nt_items, b""),
            ("dump.ttl", index.ttl, index.ttl_head, plan, ttl_items, b"\n"),
            ("dump.jsonld", index.json, len(json_head), json_plan, json_items, b",\n")]
    try:
        # The copies run in the kernel without the GIL: the three files are copied at once.
        with ThreadPoolExecutor(len(jobs)) as pool:
            dropped_lines = list(pool.map(lambda job: splice(*job), jobs))[0]
        for job in jobs:  # only once all three are written
            os.replace(new_root / f".{job[0]}.splice", new_root / job[0])
    finally:
        for job in jobs:
            tmp = new_root / f".{job[0]}.splice"
            if tmp.exists():
                os.remove(tmp)

    resources = index.resources
    resources -= sum(1 for o in {_owner(index.sids[i]) for i in gone} if path_of(o))
    groups: dict[str, list[Subject]] = {}
    for subject in new:
        groups.setdefault(_owner(subject.sid), []).append(subject)
    t0 = time.perf_counter()
    for owner, subjects in groups.items():
        path = path_of(owner)
        if path:
            resources += 1
            if write is not None:
                ttl, nt, jsonld = _resource_files(subjects, terms, context_url)
                write(path + ".ttl", ttl)
                write(path + ".nt", nt)
                write(path + ".jsonld", jsonld)
    t_resources = time.perf_counter() - t0
    if timings is not None:
        timings["resources"] = t_resources
        timings["dumps"] = time.perf_counter() - t_start - t_resources
    return DumpIndex(context_url, dict(terms.prefixes), names, sids, nt_lengths, ttl_lengths, masks, json_sids,
                     json_lengths, counts, len(head), index.triples - dropped_lines + len(new_triples), resources)
