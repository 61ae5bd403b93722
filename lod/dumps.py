"""The three dumps and every resource's three description files, in one pass.

``write_descriptions`` walks the canonical (sorted, deduplicated) triples once, subject
by subject, formats each subject's N-Triples lines, Turtle block and JSON-LD node once
from the cached term texts (``serialize.Terms``), and uses them both for the dumps and
for the files of the resource that owns the subject. The bytes are those of the
``lod.formats`` writers on the same triples (tests/test_dumps.py).

A subject ``<R>`` sorts after its fragments ``<R#…>`` (``#`` < ``>``), so when the walk
reaches ``<R>`` the description of R is complete and its files are written at once. The
JSON-LD dump orders nodes by IRI, not by N-Triples text, so its nodes go to a scratch
file first and are copied out in order at the end (the page cache holds them, not the heap).
"""

from __future__ import annotations

import mmap
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rdflib.term import Node

from .serialize import (_RDF_TYPE, Terms, Triple, json_node, jsonld_document, turtle_block, turtle_document)

Write = Callable[[str, bytes], None]


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


def write_descriptions(triples: list[Triple], terms: Terms, context_url: str, root: Path,
                       path_of: Callable[[str], str | None], write: Write,
                       timings: dict[str, float] | None = None) -> int:
    """Write dump.ttl, dump.nt and dump.jsonld under *root* and, through *write*, the three
    files of each resource *path_of* gives a site path; return how many resources were written.

    *triples* must be in canonical order without duplicates (``Prepared.triples``).
    *timings* gets "resources", the time spent on the resources' own files, and "dumps", the rest.
    """
    t_start = time.perf_counter()
    t_resources = 0.0
    written = 0
    pending: dict[str, list[Subject]] = {}
    nodes: list[tuple[str, int, int]] = []  # (IRI, offset, length) in the scratch file
    used: set[str | None] = set()

    def flush(owner: str) -> None:
        nonlocal written, t_resources
        subjects = pending.pop(owner)
        path = path_of(owner)
        if not path:
            return
        t0 = time.perf_counter()
        write(path + ".ttl", turtle_document(terms.prefixes, set().union(*(s.used for s in subjects)),
                                             [s.ttl for s in subjects]))
        write(path + ".nt", "".join(s.nt for s in subjects).encode("utf-8"))
        write(path + ".jsonld", jsonld_document(context_url, [s.json for s in sorted(subjects, key=_sid)]))
        written += 1
        t_resources += time.perf_counter() - t0

    body, scratch = root / ".dump.ttl.body", root / ".dump.jsonld.nodes"
    try:
        offset = 0
        with open(root / "dump.nt", "w", encoding="utf-8", newline="") as nt_out, \
                open(body, "w", encoding="utf-8", newline="") as ttl_out, open(scratch, "wb") as json_out:
            sep = ""
            for s, s_nt, run in subject_runs(triples, terms):
                subject = Subject(s, s_nt, run, terms)
                nt_out.write(subject.nt)
                ttl_out.write(sep + subject.ttl)
                sep = "\n"
                used |= subject.used
                node = subject.json.encode("utf-8")
                json_out.write(node)
                nodes.append((subject.sid, offset, len(node)))
                offset += len(node)
                owner = subject.sid.split("#", 1)[0]
                pending.setdefault(owner, []).append(subject)
                if subject.sid == owner:
                    flush(owner)
            for owner in list(pending):
                flush(owner)
        head = turtle_document(terms.prefixes, used, [])  # the prefixes and the blank line
        with open(root / "dump.ttl", "wb") as out, open(body, "rb") as src:
            out.write(head)
            shutil.copyfileobj(src, out, 1 << 20)
        nodes.sort(key=lambda n: n[0])
        with open(root / "dump.jsonld", "wb") as out:
            if not nodes:
                out.write(jsonld_document(context_url, []))
            else:
                # jsonld_document's bytes, streamed: its head and tail around the nodes.
                head_bytes, tail = jsonld_document(context_url, ["\x00"]).split(b"\x00")
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
    if timings is not None:
        timings["resources"] = t_resources
        timings["dumps"] = time.perf_counter() - t_start - t_resources
    return written
