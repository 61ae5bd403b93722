"""Which changed triples can meet a gallery query's patterns: finer than its read-set.

A query reads every ``schema:name`` triple, yet ``?talk schema:performer ?person . ?person
schema:name ?speaker`` can only use the name of something that is the object of a
``schema:performer`` triple. ``shape_of`` records, per group of triple patterns in the
query's algebra, each plain pattern and what each variable must be: the subject or the
object of a triple with some predicate (``?x a C``: of an ``rdf:type`` triple of class C),
or, across a path ``?a p* ?b``, ``?a`` itself or an object of ``p``. Sequence paths of
plain IRIs are chains of such patterns. The data side is coarse and kept per query: the
*segments* (``talk``, ``person``, ``talk#`` for a talk's fragments, ``ext``, ``"`` for a
literal …) of the subjects and objects of the triples of each predicate it reads.

A changed triple (added or removed) can change a group's solutions only if some solution in
the old or the new graph uses it. Such a solution binds the pattern's variables to the
triple's terms and satisfies every pattern of the group, so each variable's term has a
segment its constraints allow. ``meets`` checks exactly that, with the segments of the
previous build joined with those of the changed triples: a superset of both graphs'.
When unsure (a literal or non-ASCII constant, an alternative path …) it assumes a meeting.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lod.publishing.gallery_reads import RDF_TYPE, _blocks, _is_iri, _is_var
from lod.validation.algebra import algebra_of

Shape = list[dict[str, Any]]  # per group: "patterns" [[s, key, o]], "paths" [key], "bounds" {var: [constraint]}
Segments = dict[str, list[str]]  # "s <key>" / "o <key>" → segments of the subjects / objects of its triples
ANY = "*"


def segment(term: str, base: str) -> str:
    """The coarse class of an N-Triples term: the first path segment of a site IRI (``#`` added
    for a fragment), ``ext`` for another IRI, ``_`` for a blank node, ``"`` for a literal."""
    if term.startswith("<"):
        iri = term[1:-1]
        if not iri.startswith(base):
            return "ext"
        rest = iri[len(base):]
        return rest.split("/", 1)[0].split("#", 1)[0] + ("#" if "#" in rest else "")
    return "_" if term.startswith("_:") else '"'


def _key(p: Any, o: Any) -> str:
    return f"{RDF_TYPE} <{o}>" if str(p) == RDF_TYPE[1:-1] and _is_iri(o) else f"<{p}>"


def _const(term: Any) -> str:
    """A pattern's term as the dump writes it, a variable's name, or ANY when unsure of the writing."""
    if _is_var(term):
        return f"?{term}"
    if _is_iri(term) and str(term).isascii() and not any(c in str(term) for c in '<>"{}|^`\\ '):
        return f"<{term}>"
    from rdflib import Literal
    from rdflib.namespace import XSD

    # A plain string: matched by term equality, so a changed line's literal can be compared by value.
    # Typed literals are not: a store may match "070"^^xsd:integer for "70"^^xsd:integer.
    if isinstance(term, Literal) and term.language is None and term.datatype in (None, XSD.string):
        return "=" + str(term)
    return ANY


def _steps(path: Any) -> list[tuple[str, bool]] | None:
    """A sequence of plain or inverse IRIs as (IRI, inverse) steps; None for any other path."""
    from rdflib.paths import InvPath, SequencePath

    if _is_iri(path):
        return [(str(path), False)]
    if isinstance(path, InvPath) and _is_iri(path.arg):
        return [(str(path.arg), True)]
    if isinstance(path, SequencePath):
        out: list[tuple[str, bool]] = []
        for part in path.args:
            step = _steps(part)
            if step is None or len(step) != 1:
                return None
            out += step
        return out
    return None


def shape_of(text: str) -> Shape:
    """The groups of a query's plain patterns and its variables' bounds (see the module's docstring)."""
    from rdflib.paths import InvPath, MulPath

    shape: Shape = []
    for n, triples in enumerate(_blocks(algebra_of(text))):
        patterns: list[list[str]] = []
        paths: set[str] = set()
        bounds: dict[str, list[list[str]]] = {}
        fresh = 0

        def var(term: Any) -> str:
            c = _const(term)
            return f"{n}{c}" if c.startswith("?") else c  # variables are the group's own

        def bound(v: str, constraint: list[str]) -> None:
            if v.startswith(f"{n}?"):
                bounds.setdefault(v, []).append(constraint)

        def plain(s: str, key: str, o: str) -> None:
            patterns.append([s, key, o])
            bound(s, ["s", key])
            bound(o, ["o", key])

        for s, p, o in triples:
            if _is_iri(p):
                plain(var(s), _key(p, o), var(o) if not _key(p, o).startswith(RDF_TYPE + " ") else ANY)
                continue
            steps = _steps(p)
            if steps is not None:  # a chain through fresh variables
                ends = [var(s)] + [f"{n}?~{fresh + i}" for i in range(len(steps) - 1)] + [var(o)]
                fresh += len(steps) - 1
                for i, (iri, inverse) in enumerate(steps):
                    a, b = (ends[i + 1], ends[i]) if inverse else (ends[i], ends[i + 1])
                    plain(a, f"<{iri}>", b)
                continue
            if isinstance(p, MulPath) and (_is_iri(p.path) or (isinstance(p.path, InvPath) and _is_iri(p.path.arg))):
                inner = p.path
                inverse = isinstance(inner, InvPath)
                key = f"<{inner.arg if isinstance(inner, InvPath) else inner}>"
                a, b = (var(o), var(s)) if inverse else (var(s), var(o))
                paths.add(key)
                if p.zero:  # each end is the other, or a subject / object of the predicate
                    bound(b, ["or", a, "o", key])
                    bound(a, ["or", b, "s", key])
                else:
                    bound(a, ["s", key])
                    bound(b, ["o", key])
                continue
            from lod.publishing.gallery_reads import _path_iris

            paths.update(f"<{i}>" for i in _path_iris(p) or ())  # anything else: any of its triples meets it
        shape.append({"patterns": patterns, "paths": sorted(paths), "bounds": bounds})
    return shape


def _allowed(v: str, bounds: dict[str, list[list[str]]], segs: Segments, seen: frozenset[str]) -> set[str] | None:
    """The segments variable *v* may take; None for any."""
    if not v.startswith(tuple("0123456789")) or v in seen:
        return None
    out: set[str] | None = None
    for c in bounds.get(v, []):
        if c[0] == "or":
            other = _allowed(c[1], bounds, segs, seen | {v})
            if other is None:
                continue
            these = other | set(segs.get(f"{c[2]} {c[3]}", ()))
        else:
            these = set(segs.get(f"{c[0]} {c[1]}", ()))
        out = these if out is None else out & these
    return out


def collect(lines: Iterable[bytes], shape: Shape, base: str, into: Segments | None = None) -> Segments:
    """The segments of the subjects and objects of *lines*, for the keys *shape* uses (added to *into*)."""
    keys = {k for group in shape for c in group["bounds"].values() for b in c
            for k in ([f"{b[2]} {b[3]}"] if b[0] == "or" else [f"{b[0]} {b[1]}"])}
    found = {k: set(v) for k, v in (into or {}).items()}
    # Per predicate (bytes), where its subjects' and its objects' segments go; None: not needed.
    wanted: dict[bytes, tuple[set[str] | None, set[str] | None]] = {}
    for name in {k[2:] for k in keys}:
        subjects, objects = (found.setdefault(f"{side} {name}", set()) if f"{side} {name}" in keys else None
                             for side in "so")
        wanted[name.encode("utf-8")] = (subjects, objects)
    type_iri = RDF_TYPE.encode("utf-8")
    cache: dict[bytes, str] = {}

    def seg(term: bytes) -> str:
        if term[:1] == b'"':
            return '"'
        got = cache.get(term)
        if got is None:
            got = cache[term] = segment(term.decode("utf-8"), base)
        return got

    for line in lines:
        s, p, rest = line.split(b" ", 2)
        o = rest[:rest.rindex(b" .")]
        for pk in (p, p + b" " + o) if p == type_iri else (p,):
            sides = wanted.get(pk)
            if sides is not None:
                if sides[0] is not None:
                    sides[0].add(seg(s))
                if sides[1] is not None:
                    sides[1].add(seg(o))
    return {k: sorted(v) for k, v in sorted(found.items())}


def meets(shape: Shape, segs: Segments, lines: Iterable[bytes], base: str) -> bool:
    """Whether any of the changed *lines* can be used by a solution of a group of *shape*."""
    for line in lines:
        s, p, rest = line.decode("utf-8").split(" ", 2)
        o = rest[:rest.rindex(" .")] if " ." in rest else rest
        keys = (p, f"{p} {o}") if p == RDF_TYPE else (p,)
        for group in shape:
            if any(k in group["paths"] for k in keys):
                return True
            for ps, key, po in group["patterns"]:
                if key not in keys:
                    continue
                if _fits(ps, s, group["bounds"], segs, base) and (key != p or _fits(po, o, group["bounds"], segs, base)):
                    return True
    return False


def _fits(pattern_term: str, term: str, bounds: dict[str, list[list[str]]], segs: Segments, base: str) -> bool:
    if pattern_term == ANY:
        return True
    if pattern_term.startswith("<"):
        return pattern_term == term
    if pattern_term.startswith("="):
        return _string(term) in (None, pattern_term[1:])
    allowed = _allowed(pattern_term, bounds, segs, frozenset())
    return allowed is None or segment(term, base) in allowed


def _string(term: str) -> str | None:
    """The value of an N-Triples plain string literal; the term itself for any other term, None if unsure."""
    if not term.startswith('"'):
        return term  # an IRI or blank node: never equal to a string
    import pyoxigraph as ox

    try:
        parsed = next(iter(ox.parse(f"<x:s> <x:p> {term} .\n".encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)))
    except (SyntaxError, ValueError, StopIteration):
        return None
    obj = parsed.object
    if isinstance(obj, ox.Literal) and obj.language is None and obj.datatype.value.endswith("#string"):
        return obj.value
    return "\0"  # a typed or tagged literal: not a plain string
