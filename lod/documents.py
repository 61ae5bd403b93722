"""Per-resource documents answered from the dumps: the offset index and its reader.

A site's per-resource documents (``P.ttl``, ``P.nt``, ``P.jsonld``) are published one of
two ways, chosen by the site setting ``documents`` (``lod.records.Site``):

* ``files`` (the default): one file per document, written by ``lod.dumps``; any static
  web server can serve them.
* ``served``: no per-resource file is written. The build publishes ``DOCUMENTS_INDEX``
  beside the dumps instead: for each resource's site path, where its subjects' text lies in
  ``dump.nt``, ``dump.ttl`` and ``dump.jsonld`` and which prefixes its Turtle uses.
  ``lod serve`` reads the ranges and assembles each document with the very functions the
  files are written with (``lod.serialize``), so its bytes are those of the file
  (tests/test_documents.py compares every resource of the seed site).

The index is a sorted text file, looked up by binary search on a memory map: the server
reads nothing of it at start-up, whatever the size of the archive. Its first line names
the dumps' sizes, so a reader notices an index and dumps of different builds.
Format (UTF-8, one resource a line, sorted by the path's bytes)::

    lod-documents 1<TAB>size of dump.nt<TAB>of dump.ttl<TAB>of dump.jsonld
    {"prefix": "namespace", ...}                       (the Turtle prefixes, as JSON)
    PATH<TAB>MASK<TAB>NT<TAB>TTL<TAB>JSON

where MASK has bit i set for the i-th prefix name in sorted order, and NT, TTL and JSON
are ``offset+length`` ranges joined by ``,`` (the subjects in document order, adjacent
ones merged for N-Triples; Turtle blocks and JSON-LD nodes one range each, without the
separator the dump puts after them).
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Callable
from pathlib import Path

from .dumps import DumpIndex, _owner
from .formats import RDF_FORMATS
from .serialize import jsonld_document, turtle_document

DOCUMENTS_INDEX = ".lod-documents.idx"  # a dotfile: never served, nor listed, by lod serve
MODES = ("files", "served")
DUMPS = ("dump.nt", "dump.ttl", "dump.jsonld")
SUFFIXES = tuple(f.suffix for f in RDF_FORMATS)  # the documents answered from the dumps: the built RDF formats
_MAGIC = b"lod-documents 1"


def _ranges(spans: list[tuple[int, int]], merge: bool) -> str:
    out: list[list[int]] = []
    for start, length in spans:
        if merge and out and out[-1][0] + out[-1][1] == start:
            out[-1][1] += length
        else:
            out.append([start, length])
    return ",".join(f"{a}+{n}" for a, n in out)


def index_bytes(index: DumpIndex, path_of: Callable[[str], str | None], root: Path) -> bytes:
    """The ``DOCUMENTS_INDEX`` of the dumps under *root*, which *index* describes.

    Built from the dump index alone (no dump is read): one pass over its subjects in each order."""
    nt_at, ttl_at, json_at = index.offsets("nt"), index.offsets("ttl"), index.offsets("jsonld")
    by_owner: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]], list[int]]] = {}
    masks = index.masks
    for i, sid in enumerate(index.sids):
        entry = by_owner.get(_owner(sid))
        if entry is None:
            entry = by_owner[_owner(sid)] = ([], [], [0])
        entry[0].append((nt_at[i], index.nt[i]))
        entry[1].append((ttl_at[i], index.ttl[i] - 1))  # without the blank line after the block
        entry[2][0] |= masks[i]
    json_spans: dict[str, list[tuple[int, int]]] = {}
    for i, sid in enumerate(index.json_sids):
        json_spans.setdefault(_owner(sid), []).append((json_at[i], index.json[i] - 2))  # without ",\n"
    lines = []
    for owner, (nt, ttl, mask) in by_owner.items():
        path = path_of(owner)
        if path:
            lines.append(f"{path}\t{mask[0]}\t{_ranges(nt, True)}\t{_ranges(ttl, False)}\t"
                         f"{_ranges(json_spans[owner], False)}\n".encode("utf-8"))
    lines.sort()
    sizes = "\t".join(str((root / name).stat().st_size) for name in DUMPS)
    head = _MAGIC + f"\t{sizes}\n".encode() + json.dumps(index.prefixes, sort_keys=True).encode("utf-8") + b"\n"
    return head + b"".join(lines)


class Stale(Exception):
    """The index and the dumps are not of the same build (a site being replaced under the reader)."""


class Documents:
    """The documents of a ``served`` site, read from its dumps through ``DOCUMENTS_INDEX``.

    Opened lazily and again whenever the index file changes (a rebuild replaces it); a site
    without the index (``files`` mode) has no served documents."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._key: tuple[int, int, int] | None = None
        self._map: mmap.mmap | None = None
        self._start = 0
        self._prefixes: dict[str, str] = {}
        self._names: list[str] = []
        self.mtime = 0.0

    def _open(self) -> mmap.mmap | None:
        path = self.root / DOCUMENTS_INDEX
        try:
            st = path.stat()
        except OSError:
            self._key, self._map = None, None
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._key:
            return self._map
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if st.st_size else None
        if mm is None or not mm[:len(_MAGIC)] == _MAGIC:
            raise Stale(f"{path} is not a documents index this version of lod reads; build the site again")
        first = mm.find(b"\n")
        second = mm.find(b"\n", first + 1)
        sizes = [int(x) for x in mm[len(_MAGIC) + 1:first].split(b"\t")]
        for name, size in zip(DUMPS, sizes):
            if (self.root / name).stat().st_size != size:
                raise Stale(f"{name} is not the one {DOCUMENTS_INDEX} describes")
        self._prefixes = json.loads(mm[first + 1:second])
        self._names = sorted(self._prefixes)
        self._start, self._map, self._key, self.mtime = second + 1, mm, key, st.st_mtime
        return mm

    def _line(self, path: str) -> list[bytes] | None:
        mm = self._open()
        if mm is None:
            return None
        want = path.encode("utf-8") + b"\t"
        lo, hi = self._start, len(mm)
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
        mask, nt, ttl, js = int(fields[0]), fields[1], fields[2], fields[3]
        if suffix == "nt":
            return b"".join(self._read("dump.nt", nt))
        if suffix == "ttl":
            used = [name for i, name in enumerate(self._names) if mask >> i & 1]
            return turtle_document(self._prefixes, used, [b.decode("utf-8") for b in self._read("dump.ttl", ttl)])
        return jsonld_document("", [b.decode("utf-8") for b in self._read("dump.jsonld", js)])

    def _read(self, name: str, ranges: bytes) -> list[bytes]:
        fd = os.open(self.root / name, os.O_RDONLY)
        try:
            out = []
            for r in ranges.split(b","):
                start, length = (int(x) for x in r.split(b"+"))
                data = os.pread(fd, length, start)
                if len(data) != length:
                    raise Stale(f"{name} is shorter than {DOCUMENTS_INDEX} says")
                out.append(data)
            return out
        finally:
            os.close(fd)
