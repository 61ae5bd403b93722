"""Each subject's text in the three dump formats, made once and passed to the dumps stage in batches.

The dumps stage (``lod.publishing.dumps``) needs, for each new subject in canonical order, its
N-Triples lines, its Turtle block, the prefixes that block uses and its JSON-LD node: text,
made from the cached term texts (``serialize.Terms``). ``formatted`` makes them from canonical
triples; ``batches`` pickles them a batch at a time and ``unbatched`` reads them back in the
same order, so that the process writing the dumps need not hold the triples or their terms:
the describing stage that makes them (``lod.publishing.describing``) may run in a forked
process whose memory is freed when it ends, and send the batches through a pipe.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator

from rdflib.term import Node

from lod.model.serialize import _RDF_TYPE, Terms, Triple, json_node, turtle_block

# Subjects a batch of the stream holds: few enough that reading one back is a few MB at most.
BATCH = 2048


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
    """One subject's text in the three formats: its IRI (``sid``), its N-Triples text (``s_nt``),
    its lines, its Turtle block and the prefixes it uses, its JSON-LD node, and its triple count."""

    __slots__ = ("sid", "s_nt", "nt", "ttl", "used", "json", "count")

    sid: str
    s_nt: str
    nt: str
    ttl: str
    used: frozenset[str | None]
    json: str
    count: int

    @classmethod
    def of(cls, s: Node, s_nt: str, run: list[Triple], tt: Terms) -> Subject:
        """The texts of subject *s* (N-Triples text *s_nt*) from its triples *run*."""
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
        sid = str(s)
        return cls.made(sid, s_nt, "".join(lines), turtle_block(s_ttl, preds), frozenset(used),
                        json_node(sid, props), len(run))

    @classmethod
    def made(cls, sid: str, s_nt: str, nt: str, ttl: str, used: frozenset[str | None], json: str,
             count: int) -> Subject:
        """A subject from its texts (as ``parts`` gives them)."""
        self = cls.__new__(cls)
        self.sid, self.s_nt, self.nt, self.ttl, self.used, self.json, self.count = (
            sid, s_nt, nt, ttl, used, json, count)
        return self

    def parts(self) -> tuple[str, str, str, str, frozenset[str | None], str, int]:
        """Its fields as a tuple: what the stream pickles (plain tuples pickle faster than slotted objects)."""
        return self.sid, self.s_nt, self.nt, self.ttl, self.used, self.json, self.count


def formatted(triples: list[Triple], terms: Terms) -> Iterator[Subject]:
    """Each subject of canonical *triples*, in their order, with its texts."""
    for s, s_nt, run in subject_runs(triples, terms):
        yield Subject.of(s, s_nt, run, terms)


def batches(subjects: Iterable[Subject]) -> Iterator[bytes]:
    """*subjects* pickled in batches of ``BATCH``, in order, each made when the one before is taken."""
    batch: list[tuple[str, str, str, str, frozenset[str | None], str, int]] = []
    for subject in subjects:
        batch.append(subject.parts())
        if len(batch) == BATCH:
            yield pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
            batch = []
    if batch:
        yield pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)


def unbatched(blobs: Iterable[bytes]) -> Iterator[Subject]:
    """The subjects of ``batches``, in their order, one batch in memory at a time."""
    made = Subject.made
    for blob in blobs:
        for parts in pickle.loads(blob):
            yield made(*parts)
