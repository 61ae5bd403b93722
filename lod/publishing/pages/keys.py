"""The keys of what a page reads of the descriptions, and the digests a rebuild compares.

A page's read-set (``lod.publishing.pages.reads``) names the part of a description it read:
the whole of an owner's, one subject's (predicate, object) pairs, or one predicate's objects.
A rebuild takes the digest of the same part of its own descriptions and compares, and the
digest of each query's answer (``digest``).
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Mapping
from typing import Any

from rdflib import BNode, Literal, URIRef

from lod.model import records as R
from lod.model.kinds import RECORD_KINDS

Key = tuple[str, str]
DESC = "desc"  # ("desc", owner IRI [␞ subject [␞ predicate]]): (part of) an owner's description, read by the JSON-LD
ARG = "\x1e"  # between the parts of a key's argument (an id may hold "/")
KIND_OF_CLASS: dict[type, str] = {getattr(R, k.record or ""): k.name for k in RECORD_KINDS}


def desc_key(owner: str, subject: str | None = None, predicate: str | None = None) -> Key:
    """The key of a read of a description: the whole of *owner*'s, one subject's pairs, or one predicate's objects."""
    return (DESC, ARG.join(x for x in (owner, subject, predicate) if x is not None))


def desc_owner(key: Key) -> str:
    """The owner whose description a ``desc_key`` reads."""
    return key[1].split(ARG, 1)[0]


# The queries of a listing cut into pages, by the number of their arguments that name the listing
# (a slice's and an "others" page's last one is the page's number). A rebuild evaluates them again
# together, when the listing's entries change: the state keeps their answers in one bucket.
LISTING_QUERIES = {"q:slice": 2, "q:others": 1, "q:count": 2, "q:pages": 2}


def listing_of(key: Key) -> str | None:
    """The listing a query of ``LISTING_QUERIES`` reads (``place␞x`` for a place's other events), else None."""
    n = LISTING_QUERIES.get(key[0])
    if n is None:
        return None
    args = key[1].split(ARG)[:n]
    return ARG.join(["place", *args] if n == 1 else args)


def desc_digest(descriptions: Mapping[str, Any], arg: str) -> bytes:
    """The digest of what a ``desc_key`` reads of a description (its canonical list of triples)."""
    parts = arg.split(ARG)
    triples = descriptions.get(parts[0], [])
    if len(parts) > 1:
        triples = [(p, o) for s, p, o in triples if str(s) == parts[1] and (len(parts) < 3 or str(p) == parts[2])]
    return part_digest(triples)


def part_digest(part: list[Any]) -> bytes:
    """``desc_digest`` of the part read: a description's triples, or one subject's (predicate, object) pairs.

    Each term is written as its kind and text (a literal's datatype and language too) and marshalled:
    the ``repr`` of rdflib's terms, taken before, cost 6 % of a full build's pages stage at 100k talks
    (BENCHMARKS.md), this 40 % less."""
    try:
        data = marshal.dumps(tuple([tuple([_term(t) for t in item]) for item in part]), 2)
    except ValueError:  # a value marshal cannot write (none of the mapping's): its repr
        data = b"r" + repr(part).encode("utf-8")
    return hashlib.blake2b(data, digest_size=12).digest()


def _term(t: Any) -> Any:
    """A description's term as plain values that tell it from any other term."""
    kind = type(t)
    if kind is Literal:
        return ("L", str(t), None if t.datatype is None else str(t.datatype), t.language)
    if kind is URIRef or kind is BNode:
        return (kind.__name__, str(t))
    return t


def _shape(value: Any) -> Any:
    """An answer with each record replaced by its key: what is compared between versions."""
    t = type(value)
    kind = KIND_OF_CLASS.get(t)
    if kind is not None:
        return (kind, value.id)
    if t is list or t is tuple:
        return tuple([_shape_item(v) for v in value])
    if t is dict:
        return tuple([(k, _shape(v)) for k, v in value.items()])
    return value


def _shape_item(v: Any) -> Any:
    """``_shape(v)`` of an item of a list: a listing's (kind, record) pairs and records shaped in one call
    (a rebuild at 100k talks shapes the 240,000 items of the listings an edit touched)."""
    t = type(v)
    if t is tuple and len(v) == 2:
        kind = KIND_OF_CLASS.get(type(v[1]))
        if kind is not None and type(v[0]) is str:
            return (v[0], (kind, v[1].id))
    else:
        kind = KIND_OF_CLASS.get(t)
        if kind is not None:
            return (kind, v.id)
    return _shape(v)


def digest(answer: Any) -> bytes:
    """A short fingerprint of an answer's shape (the same in every process: not ``hash``). Marshal's
    version 2 writes values, not references to objects seen before (version 3 on), so equal shapes
    give equal bytes: 7× as fast as their ``repr``, kept for a shape it cannot write (no answer holds
    a set, whose order would differ between processes either way)."""
    shape = _shape(answer)
    try:
        data = b"m" + marshal.dumps(shape, 2)
    except ValueError:
        data = b"r" + repr(shape).encode("utf-8")
    return hashlib.blake2b(data, digest_size=12).digest()
