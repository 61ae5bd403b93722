"""Deterministic writers for N-Triples, Turtle and JSON-LD.

rdflib's writers are neither byte-stable across runs nor fast (its Turtle writer is
quadratic on fragment IRIs), so the publisher writes RDF itself from sorted
triples. Every writer refuses an IRI with characters IRIs forbid rather than
writing a line that breaks the dump.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from rdflib import Literal, URIRef
from rdflib.term import Node

from .iri import is_valid_iri
from .vocab import PREFIXES, RDF, XSD

Triple = tuple[Node, Node, Node]

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


def sorted_triples(triples: Iterable[Triple]) -> list[Triple]:
    """Triples in the canonical order of their N-Triples lines."""
    return sorted(triples, key=lambda t: (nt_term(t[0]), nt_term(t[1]), nt_term(t[2])))


def to_ntriples(triples: Iterable[Triple]) -> bytes:
    """Canonical N-Triples: one triple per line, lines sorted, UTF-8."""
    lines = sorted({f"{nt_term(s)} {nt_term(p)} {nt_term(o)} .\n" for s, p, o in triples})
    return "".join(lines).encode("utf-8")


class _Prefixer:
    def __init__(self, prefixes: dict[str, str]) -> None:
        # longest namespace first, so talk/ wins over the base URL
        self.items = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
        self.used: set[str] = set()

    def iri(self, term: URIRef) -> str:
        value = str(term)
        for prefix, ns in self.items:
            if value.startswith(ns) and _LOCAL_NAME.match(value[len(ns):]):
                self.used.add(prefix)
                return f"{prefix}:{value[len(ns):]}"
        return iri_text(term)

    def term(self, term: Node) -> str:
        if isinstance(term, URIRef):
            return self.iri(term)
        if isinstance(term, Literal):
            value = str(term)
            if "\n" in value:
                body = '"""' + _NEEDS_ESCAPE.sub(
                    lambda m: "\n" if m.group() == "\n" else _ECHAR.get(m.group(), f"\\u{ord(m.group()):04X}"),
                    value) + '"""'
            else:
                body = f'"{_escape(value)}"'
            if term.language:
                return f"{body}@{term.language.lower()}"
            if term.datatype is not None and term.datatype != XSD.string:
                return f"{body}^^{self.iri(term.datatype)}"
            return body
        raise ValueError(f"blank nodes and other terms are not published: {term!r}")


def to_turtle(triples: Iterable[Triple], site_prefixes: dict[str, str] | None = None) -> bytes:
    """Turtle grouped by subject; subjects, predicates and objects sorted; only used prefixes declared."""
    prefixes = {**PREFIXES, **(site_prefixes or {})}
    px = _Prefixer(prefixes)
    by_subject: dict[str, dict[str, list[str]]] = {}
    subject_text: dict[str, str] = {}
    for s, p, o in triples:
        skey = nt_term(s)
        if skey not in subject_text:
            subject_text[skey] = px.term(s)
        pkey = "a" if p == RDF.type else px.term(p)
        by_subject.setdefault(skey, {}).setdefault(pkey, []).append(px.term(o))
    blocks = []
    for skey in sorted(by_subject):
        preds = by_subject[skey]
        order = sorted(preds, key=lambda k: (k != "a", k))
        lines = [f"    {p} {', '.join(sorted(set(preds[p])))}" for p in order]
        blocks.append(subject_text[skey] + "\n" + " ;\n".join(lines) + " .\n")
    head = "".join(f"@prefix {p}: <{prefixes[p]}> .\n" for p in sorted(px.used))
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


def to_jsonld(triples: Iterable[Triple], context_url: str) -> bytes:
    """A JSON-LD document naming the site's published context."""
    doc = {"@context": context_url, "@graph": jsonld_nodes(triples)}
    return (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
