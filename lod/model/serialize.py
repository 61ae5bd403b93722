"""Deterministic writers for N-Triples, Turtle and JSON-LD.

rdflib's writers are neither byte-stable across runs nor fast (its Turtle writer is
quadratic on fragment IRIs), so the publisher writes RDF itself from sorted
triples. Every writer refuses an IRI with characters IRIs forbid rather than
writing a line that breaks the dump.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring as _enc
from collections.abc import Iterable
from typing import Any

from rdflib import Literal, URIRef
from rdflib.term import Node

from lod.model.iri import is_valid_iri
from lod.model.vocab import PREFIXES, RDF, XSD

Triple = tuple[Node, Node, Node]

_RDF_TYPE = f"<{RDF.type}>"
# Indents of json.dumps(indent=1) inside {"@graph": [node, …]}: node fields, their list items, the items' fields.
_I3, _I4, _I5 = " " * 3, " " * 4, " " * 5

_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS_ESCAPE = re.compile(r'[\\"\n\r\t\b\f\x00-\x1f\x7f]')
_LOCAL_NAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")


def _escape(value: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda m: _ECHAR.get(m.group(), f"\\u{ord(m.group()):04X}"), value)


def iri_text(term: URIRef) -> str:
    """``<iri>``, refusing IRIs that would break a line-based dump."""
    value = str(term)
    if not is_valid_iri(value):
        raise ValueError(f"refusing to serialise an invalid IRI: {value!r}")
    return f"<{value}>"


def nt_term(term: Node) -> str:
    """One term in canonical N-Triples form."""
    if isinstance(term, URIRef):
        return iri_text(term)
    if isinstance(term, Literal):
        text = f'"{_escape(str(term))}"'
        if term.language:
            return f"{text}@{term.language.lower()}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{text}^^{iri_text(term.datatype)}"
        return text
    raise ValueError(f"blank nodes and other terms are not published: {term!r}")


def sorted_triples(triples: Iterable[Triple], terms: Terms | None = None) -> list[Triple]:
    """Triples in the canonical order of their N-Triples lines."""
    out = list(triples)
    sort_canonical(out, terms or Terms())
    return out


def sort_canonical(triples: list[Triple], terms: Terms) -> None:
    """Sort *triples* in place in the canonical order of their N-Triples lines.

    Sorting on each triple's line is the same as sorting on its three term texts: an
    IRI's text ends at its only ``>`` and a literal's at its closing quote or tag, and
    the space after the object sorts before ``@`` and ``^``. The key is a tuple of the
    cached texts, so the sort allocates no line per triple.
    """
    text = terms._nt
    nt = terms.nt
    # Subjects' and predicates' texts cached first, so that the key is plain lookups.
    for term in {id(x): x for t in triples for x in t[:2] if id(x) not in text}.values():
        text[id(term)] = (term, nt(term))
    triples.sort(key=lambda t: (text[id(t[0])][1], text[id(t[1])][1]))
    # Then the objects of each subject and predicate, which are few: literals' texts
    # are made for this and not kept.
    i, n = 0, len(triples)
    while i < n:
        s, p = triples[i][0], triples[i][1]
        s_text, p_text = text[id(s)][1], text[id(p)][1]
        j = i + 1
        while j < n:
            u = triples[j]
            if not ((u[0] is s or text[id(u[0])][1] == s_text) and (u[1] is p or text[id(u[1])][1] == p_text)):
                break
            j += 1
        if j - i > 1:
            triples[i:j] = sorted(triples[i:j], key=lambda t: nt(t[2]))
        i = j


def to_ntriples(triples: Iterable[Triple], terms: Terms | None = None) -> bytes:
    """Canonical N-Triples: one triple per line, lines sorted, UTF-8."""
    nt = (terms or Terms()).nt
    lines = sorted({f"{nt(s)} {nt(p)} {nt(o)} .\n" for s, p, o in triples})
    return "".join(lines).encode("utf-8")


class _Prefixer:
    def __init__(self, prefixes: dict[str, str]) -> None:
        # longest namespace first, so talk/ wins over the base URL
        self.items = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))

    def iri(self, value: str) -> tuple[str, str | None]:
        for prefix, ns in self.items:
            if value.startswith(ns) and _LOCAL_NAME.match(value[len(ns):]):
                return f"{prefix}:{value[len(ns):]}", prefix
        return iri_text(URIRef(value)), None

    def term(self, term: Node) -> tuple[str, str | None]:
        """The term's Turtle text and the prefix it uses, if any."""
        if isinstance(term, URIRef):
            return self.iri(str(term))
        if isinstance(term, Literal):
            value = str(term)
            if "\n" in value:
                body = '"""' + _NEEDS_ESCAPE.sub(
                    lambda m: "\n" if m.group() == "\n" else _ECHAR.get(m.group(), f"\\u{ord(m.group()):04X}"),
                    value) + '"""'
            else:
                body = f'"{_escape(value)}"'
            if term.language:
                return f"{body}@{term.language.lower()}", None
            if term.datatype is not None and term.datatype != XSD.string:
                text, prefix = self.iri(str(term.datatype))
                return f"{body}^^{text}", prefix
            return body, None
        raise ValueError(f"blank nodes and other terms are not published: {term!r}")


def _cacheable(term: Node) -> bool:
    """Whether a term's texts are worth keeping: IRIs recur in thousands of triples; most
    literals (titles, abstracts, dates) occur once or twice, and keeping three texts of
    each cost more memory (~300 MB at 100k talks) than formatting them again costs time."""
    return not isinstance(term, Literal)


class Terms:
    """Each distinct term's text in N-Triples, Turtle and JSON-LD, computed once and reused.

    The same IRIs and literals recur in thousands of triples of a build; formatting and
    checking them once is most of what makes the writers fast. One instance serves one
    set of site prefixes; its caches grow with the terms it has seen, so keep one per
    build (or per response) and ``clear`` it when done.
    """

    def __init__(self, site_prefixes: dict[str, str] | None = None) -> None:
        self.prefixes = {**PREFIXES, **(site_prefixes or {})}
        self._px = _Prefixer(self.prefixes)
        self._jt = _JsonTerms()
        # Keyed by id(term), the term kept in the entry so that its id cannot be reused
        # while cached: rdflib's Literal.__hash__ is Python code, ~1 µs a lookup.
        self._nt: dict[int, tuple[Node, str]] = {}
        self._ttl: dict[int, tuple[Node, str, str | None]] = {}
        self._key: dict[str, str] = {}
        self._keys: dict[int, tuple[Node, str, str]] = {}
        self._json: dict[int, tuple[Node, str, str]] = {}

    def clear(self, keep_nt: bool = False) -> None:
        """Forget the cached texts (all but the N-Triples ones with *keep_nt*)."""
        if not keep_nt:
            self._nt.clear()
        self._ttl.clear()
        self._key.clear()
        self._keys.clear()
        self._json.clear()

    def nt(self, term: Node) -> str:
        """``nt_term(term)``, cached."""
        hit = self._nt.get(id(term))
        if hit is None:
            text = nt_term(term)
            if _cacheable(term):
                self._nt[id(term)] = (term, text)
            return text
        return hit[1]

    def turtle(self, term: Node) -> tuple[str, str | None]:
        """The term's Turtle text and the prefix it uses, cached."""
        hit = self._ttl.get(id(term))
        if hit is None:
            hit = (term, *self._px.term(term))
            if _cacheable(term):
                self._ttl[id(term)] = hit
        return hit[1], hit[2]

    def key(self, iri: str) -> str:
        """A property or class IRI as a term of the JSON-LD context, cached."""
        hit = self._key.get(iri)
        if hit is None:
            hit = self._key[iri] = self._jt.key(iri)
        return hit

    def term_key(self, term: Node) -> tuple[str, str]:
        """``key(str(term))`` and its JSON text, cached by term."""
        hit = self._keys.get(id(term))
        if hit is None:
            k = self.key(str(term))
            hit = self._keys[id(term)] = (term, k, _enc(k))
        return hit[1], hit[2]

    def json(self, term: Node) -> tuple[str, str]:
        """An object's JSON-LD value: its compact JSON (the sort key) and its text inside a node."""
        hit = self._json.get(id(term))
        if hit is None:
            hit = (term, *self._json_value(term))
            if _cacheable(term):
                self._json[id(term)] = hit
        return hit[1], hit[2]

    def _json_value(self, term: Node) -> tuple[str, str]:
        value = self._jt.value(term)
        if isinstance(value, str):
            text = _enc(value)
            return text, text
        items = sorted(value.items())
        compact = "{" + ", ".join(f"{_enc(k)}: {_enc(v)}" for k, v in items) + "}"
        pretty = "{\n" + ",\n".join(f"{_I5}{_enc(k)}: {_enc(v)}" for k, v in items) + f"\n{_I4}}}"
        return compact, pretty


def to_turtle(triples: Iterable[Triple], site_prefixes: dict[str, str] | None = None,
              terms: Terms | None = None) -> bytes:
    """Turtle grouped by subject; subjects, predicates and objects sorted; only used prefixes declared.

    *terms*, if given, must have been made with the same *site_prefixes*.
    """
    tt = terms if terms is not None else Terms(site_prefixes)
    nt, turtle = tt.nt, tt.turtle
    used: set[str | None] = set()
    by_subject: dict[str, tuple[str, dict[str, list[str]]]] = {}
    for s, p, o in triples:
        skey = nt(s)
        entry = by_subject.get(skey)
        if entry is None:
            stext, prefix = turtle(s)
            used.add(prefix)
            entry = by_subject[skey] = (stext, {})
        if nt(p) == _RDF_TYPE:
            pkey = "a"
        else:
            pkey, prefix = turtle(p)
            used.add(prefix)
        otext, prefix = turtle(o)
        used.add(prefix)
        preds = entry[1]
        objs = preds.get(pkey)
        if objs is None:
            preds[pkey] = [otext]
        else:
            objs.append(otext)
    blocks = [turtle_block(*by_subject[skey]) for skey in sorted(by_subject)]
    return turtle_document(tt.prefixes, used, blocks)


def turtle_block(subject: str, preds: dict[str, list[str]]) -> str:
    """One subject's Turtle block from its predicates' and objects' texts ("a" for rdf:type)."""
    order = sorted(preds, key=lambda k: (k != "a", k))
    lines = [f"    {p} {', '.join(sorted(set(preds[p])))}" for p in order]
    return subject + "\n" + " ;\n".join(lines) + " .\n"


def turtle_document(prefixes: dict[str, str], used: Iterable[str | None], blocks: list[str]) -> bytes:
    """A Turtle document: the *used* prefixes declared, then the subject blocks in order."""
    head = "".join(f"@prefix {p}: <{prefixes[p]}> .\n" for p in sorted({x for x in used if x is not None}))
    return (head + "\n" + "\n".join(blocks)).encode("utf-8")


# ---------------------------------------------------------------- JSON-LD

def jsonld_context(site_prefixes: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON-LD context the site publishes: schema.org as @vocab, plus our prefixes."""
    ctx: dict[str, Any] = {"@vocab": PREFIXES["schema"]}
    for prefix, ns in sorted({**PREFIXES, **(site_prefixes or {})}.items()):
        ctx[prefix] = ns
    return {"@context": ctx}


class _JsonTerms:
    def __init__(self) -> None:
        self.schema = PREFIXES["schema"]
        self.prefixes = sorted(((p, ns) for p, ns in PREFIXES.items() if p != "schema"), key=lambda kv: -len(kv[1]))

    def key(self, term: str) -> str:
        """A property or class IRI as a term of our context (vocab-relative, prefixed, or absolute)."""
        if term.startswith(self.schema) and _LOCAL_NAME.match(term[len(self.schema):]):
            return term[len(self.schema):]
        for prefix, ns in self.prefixes:
            if term.startswith(ns) and _LOCAL_NAME.match(term[len(ns):]):
                return f"{prefix}:{term[len(ns):]}"
        return term

    def value(self, term: Node) -> Any:
        if isinstance(term, URIRef):
            iri_text(term)
            return {"@id": str(term)}
        if isinstance(term, Literal):
            if term.language:
                return {"@value": str(term), "@language": term.language}
            if term.datatype is not None and term.datatype != XSD.string:
                return {"@value": str(term), "@type": self.key(str(term.datatype))}
            return str(term)
        raise ValueError(f"blank nodes and other terms are not published: {term!r}")


def jsonld_nodes(triples: Iterable[Triple]) -> list[dict[str, Any]]:
    """Flattened JSON-LD node objects, sorted by @id, values sorted. Exact under expansion."""
    jt = _JsonTerms()
    nodes: dict[str, dict[str, Any]] = {}
    for s, p, o in triples:
        sid = str(s)
        iri_text(s)  # type: ignore[arg-type]
        node = nodes.setdefault(sid, {"@id": sid})
        if p == RDF.type:
            node.setdefault("@type", []).append(jt.key(str(o)))
        else:
            node.setdefault(jt.key(str(p)), []).append(jt.value(o))
    out = []
    for sid in sorted(nodes):
        node = nodes[sid]
        for k, v in node.items():
            if isinstance(v, list):
                v.sort(key=lambda x: json.dumps(x, sort_keys=True, ensure_ascii=False))
        out.append(node)
    return out


def to_jsonld(triples: Iterable[Triple], context_url: str, terms: Terms | None = None) -> bytes:
    """A JSON-LD document naming the site's published context.

    The bytes of ``json.dumps({"@context": …, "@graph": jsonld_nodes(triples)}, indent=1,
    sort_keys=True, ensure_ascii=False)``, written from cached term texts: with an indent,
    json.dumps runs its pure-Python encoder on every value.
    """
    tt = terms if terms is not None else Terms()
    nt, key, value = tt.nt, tt.key, tt.json
    nodes: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for s, p, o in triples:
        sid = str(s)
        node = nodes.get(sid)
        if node is None:
            nt(s)  # refuses an invalid subject IRI
            node = nodes[sid] = {}
        if nt(p) == _RDF_TYPE:
            text = _enc(key(str(o)))
            node.setdefault("@type", []).append((text, text))
        else:
            node.setdefault(key(str(p)), []).append(value(o))
    return jsonld_document(context_url, [json_node(sid, nodes[sid]) for sid in sorted(nodes)])


def json_node(sid: str, props: dict[str, list[tuple[str, str]]]) -> str:
    """One node object's text inside ``@graph``, from its values' (compact, pretty) texts by key."""
    fields = [(k, f"{_I3}{_enc(k)}: [\n{_I4}" + f",\n{_I4}".join(v[1] for v in sorted(vs, key=_first))
               + f"\n{_I3}]") for k, vs in props.items()]
    fields.append(("@id", f"{_I3}\"@id\": {_enc(sid)}"))
    fields.sort(key=_first)
    return "  {\n" + ",\n".join(f[1] for f in fields) + "\n  }"


_INLINE_CONTEXT = "{\n" + ",\n".join(f"  {_enc(k)}: {_enc(v)}" for k, v in [("@vocab", PREFIXES["schema"])] + [
    (p, ns) for p, ns in sorted(PREFIXES.items()) if p != "schema"]) + "\n }"


def jsonld_document(context_url: str, nodes: list[str]) -> bytes:
    """A JSON-LD document from its node texts, in order, readable offline.

    Its context is inline, not the site's ``context_url``: a reader without a document
    loader (pyoxigraph, an archive years later) must not need to fetch anything. It holds
    schema.org as ``@vocab`` and every prefix of ``PREFIXES`` (the only ones the keys are
    written with): the same head for every document, so that a rebuild can splice the
    dump's nodes between an unchanged head and tail. The pages' embedded JSON-LD is
    written elsewhere and keeps schema.org's context URL, as Google reads it.
    """
    head = "{\n \"@context\": " + _INLINE_CONTEXT + ",\n \"@graph\": "
    if not nodes:
        return (head + "[]\n}\n").encode("utf-8")
    return (head + "[\n" + ",\n".join(nodes) + "\n ]\n}\n").encode("utf-8")


def _first(pair: tuple[str, str]) -> str:
    return pair[0]
