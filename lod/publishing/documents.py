"""Per-resource documents answered from the dumps: the offset index and its reader.

A site's per-resource documents (``P.ttl``, ``P.nt``, ``P.jsonld``) are published one of
two ways, chosen by the site setting ``documents`` (``lod.model.records.Site``):

* ``files`` (the default): one file per document, written by ``lod.publishing.dumps``; any static
  web server can serve them.
* ``served``: no per-resource file is written. The build publishes ``DOCUMENTS_INDEX``
  beside the dumps instead: for each resource's site path, where its subjects' text lies in
  ``dump.nt``, ``dump.ttl`` and ``dump.jsonld`` and which prefixes its Turtle uses.
  ``lod serve`` reads the ranges and assembles each document with the very functions the
  files are written with (``lod.model.serialize``), so its bytes are those of the file
  (tests/test_documents.py compares every resource of the seed site).

The index is looked up by binary search on a memory map: the server reads nothing of it at
start-up, whatever the size of the archive. It has two parts. The text part gives, for each
resource path, the positions (ordinals) of its subjects in the dumps' two orders; the binary
part gives each subject's byte offset in each dump and the prefixes its Turtle block uses.
An edit that changes no subject's position (a title, a date) changes only the binary part,
which a rebuild writes from the dump index's arrays without a Python loop; the text part is
copied from the previous index (``index_bytes`` *previous*). Format::

    lod-documents 2<TAB>size of dump.nt<TAB>of dump.ttl<TAB>of dump.jsonld<TAB>subjects N<TAB>bytes of LINES
    {"prefix": "namespace", ...}                       (the Turtle prefixes, as JSON, one line)
    LINES: PATH<TAB>NT<TAB>JSON, one resource a line, sorted by the path's bytes
    N+1 offsets in dump.nt, N+1 in dump.ttl, N+1 in dump.jsonld, N masks: unsigned 64-bit little-endian

where NT and JSON are ordinal ranges ``a-b`` (subjects a … b-1) joined by ``,``, in dump.nt
order and in dump.jsonld order, and bit i of a subject's mask stands for the i-th prefix name
in sorted order. A subject's Turtle block is its range of dump.ttl less the blank line after
it, its JSON-LD node its range of dump.jsonld less the ``,\n`` after it.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import sys
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path

from lod.publishing.dumps import DumpIndex, _owner
from lod.publishing.mapped import MappedFile
from lod.model.formats import RDF_FORMATS
from lod.model.serialize import jsonld_document, turtle_document

DOCUMENTS_INDEX = ".lod-documents.idx"  # a dotfile: never served, nor listed, by lod serve
MODES = ("files", "served")
DUMPS = ("dump.nt", "dump.ttl", "dump.jsonld")
SUFFIXES = tuple(f.suffix for f in RDF_FORMATS)  # the documents answered from the dumps: the built RDF formats
_MAGIC = b"lod-documents 2"
_Q = struct.Struct("<Q")


def _runs(positions: list[int]) -> str:
    """Sorted ordinals as ranges ``a-b`` (a … b-1)."""
    out: list[list[int]] = []
    for i in positions:
        if out and out[-1][1] == i:
            out[-1][1] += 1
        else:
            out.append([i, i + 1])
    return ",".join(f"{a}-{b}" for a, b in out)


def _lines(index: DumpIndex, path_of: Callable[[str], str | None]) -> bytes:
    """The text part: each resource path with its subjects' ordinals in both orders."""
    nt: dict[str, list[int]] = {}
    for i, sid in enumerate(index.sids):
        nt.setdefault(_owner(sid), []).append(i)
    js: dict[str, list[int]] = {}
    for i, sid in enumerate(index.json_sids):
        js.setdefault(_owner(sid), []).append(i)
    lines = []
    for owner, positions in nt.items():
        path = path_of(owner)
        if path:
            lines.append(f"{path}\t{_runs(positions)}\t{_runs(js[owner])}\n".encode("utf-8"))
    lines.sort()
    return b"".join(lines)


def _u64(values: Iterable[int]) -> bytes:
    a = array("Q", values)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def index_bytes(index: DumpIndex, path_of: Callable[[str], str | None], root: Path,
                previous: tuple[DumpIndex, bytes] | None = None) -> bytes:
    """The ``DOCUMENTS_INDEX`` of the dumps under *root*, which *index* describes.

    *previous*, the dump index and documents index of the build before, lets the text part be
    copied when no subject moved (the same subjects in the same orders)."""
    lines: bytes | None = None
    if previous is not None:
        old, data = previous
        if old.sids == index.sids and old.json_sids == index.json_sids:
            lines = _lines_of(data) or None
    if lines is None:
        lines = _lines(index, path_of)
    sizes = "\t".join(str((root / name).stat().st_size) for name in DUMPS)
    head = _MAGIC + f"\t{sizes}\t{len(index.sids)}\t{len(lines)}\n".encode()
    return (head + json.dumps(index.prefixes, sort_keys=True).encode("utf-8") + b"\n" + lines
            + _u64(index.offsets("nt")) + _u64(index.offsets("ttl")) + _u64(index.offsets("jsonld"))
            + _u64(index.masks))


def _lines_of(data: bytes) -> bytes:
    """The text part of a documents index."""
    if data[:len(_MAGIC) + 1] != _MAGIC + b"\t":
        return b""
    first = data.find(b"\n")
    start = data.find(b"\n", first + 1) + 1
    return data[start:start + int(data[len(_MAGIC) + 1:first].split(b"\t")[4])]


class Stale(Exception):
    """The index and the dumps are not of the same build (a site being replaced under the reader)."""


class Documents(MappedFile):
    """The documents of a ``served`` site, read from its dumps through ``DOCUMENTS_INDEX``.

    Opened lazily and again whenever the index file changes (a rebuild replaces it); a site
    without the index (``files`` mode) has no served documents."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, DOCUMENTS_INDEX)
        self._start = self._end = self._n = 0
        self._prefixes: dict[str, str] = {}
        self._names: list[str] = []

    def _load(self, path: Path, size: int) -> mmap.mmap:
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        if mm is None or mm[:len(_MAGIC) + 1] != _MAGIC + b"\t":
            raise Stale(f"{path} is not a documents index this version of lod reads; build the site again")
        first = mm.find(b"\n")
        second = mm.find(b"\n", first + 1)
        numbers = [int(x) for x in mm[len(_MAGIC) + 1:first].split(b"\t")]
        for name, size in zip(DUMPS, numbers):
            if (self.root / name).stat().st_size != size:
                raise Stale(f"{name} is not the one {DOCUMENTS_INDEX} describes")
        n = numbers[3]
        self._start, self._end, self._n = second + 1, second + 1 + numbers[4], n
        if len(mm) != self._end + 8 * (4 * n + 3):
            raise Stale(f"{path} is cut short; build the site again")
        self._prefixes = json.loads(mm[first + 1:second])
        self._names = sorted(self._prefixes)
        return mm

    def _line(self, path: str) -> list[bytes] | None:
        mm = self._open()
        if mm is None:
            return None
        want = path.encode("utf-8") + b"\t"
        lo, hi = self._start, self._end
        while lo < hi:  # lo and hi are line starts; the lines in between are sorted
            mid = (lo + hi) // 2
            s = mm.rfind(b"\n", lo, mid) + 1 or lo
            e = mm.find(b"\n", s)
            key = mm[s:mm.find(b"\t", s, e) + 1]
            if key == want:
                return mm[s + len(want):e].split(b"\t")
            if key < want:
                lo = e + 1
            else:
                hi = s
        return None

    def _u64(self, table: int, i: int) -> int:
        """Entry *i* of binary table *table* (0: dump.nt offsets, 1: dump.ttl, 2: dump.jsonld, 3: masks)."""
        assert self._map is not None
        value: int = _Q.unpack_from(self._map, self._end + 8 * (table * (self._n + 1) + i))[0]
        return value

    def has(self, stem: str) -> bool:
        """Whether resource *stem* (a site path) has served documents."""
        return self._line(stem) is not None

    def document(self, rel: str) -> bytes | None:
        """The bytes of the document *rel* (``P.ttl``, ``P.nt`` or ``P.jsonld``), or None if there is none."""
        stem, dot, suffix = rel.rpartition(".")
        if not dot or "." + suffix not in SUFFIXES:
            return None
        fields = self._line(stem)
        if fields is None:
            return None
        nt = [(int(a), int(b)) for a, b in (r.split(b"-") for r in fields[0].split(b","))]
        if suffix == "nt":  # a run of subjects is one range of the file
            return b"".join(self._read("dump.nt", [(self._u64(0, a), self._u64(0, b)) for a, b in nt]))
        if suffix == "ttl":
            mask = 0
            for a, b in nt:
                for i in range(a, b):
                    mask |= self._u64(3, i)
            used = [name for i, name in enumerate(self._names) if mask >> i & 1]
            spans = [(self._u64(1, i), self._u64(1, i + 1) - 1) for a, b in nt for i in range(a, b)]
            return turtle_document(self._prefixes, used, [b.decode("utf-8") for b in self._read("dump.ttl", spans)])
        js = [(int(a), int(b)) for a, b in (r.split(b"-") for r in fields[1].split(b","))]
        spans = [(self._u64(2, i), self._u64(2, i + 1) - 2) for a, b in js for i in range(a, b)]
        return jsonld_document("", [b.decode("utf-8") for b in self._read("dump.jsonld", spans)])

    def _read(self, name: str, spans: list[tuple[int, int]]) -> list[bytes]:
        """The bytes of each span [start, end) of dump *name*."""
        fd = os.open(self.root / name, os.O_RDONLY)
        try:
            out = []
            for start, end in spans:
                data = os.pread(fd, end - start, start)
                if len(data) != end - start:
                    raise Stale(f"{name} is shorter than {DOCUMENTS_INDEX} says")
                out.append(data)
            return out
        finally:
            os.close(fd)
