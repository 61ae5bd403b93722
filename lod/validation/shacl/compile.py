"""Compile stage: the shapes graph into plain Python shapes, constraints and targets."""

from __future__ import annotations

import re
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.term import Node

from lod.validation.report import SEVERITY, SH, _short
from lod.validation.shacl._common import _unsupported
from lod.validation.shacl.sparql import _Query, _Target

_NODE_KINDS = {  # node kind → (accepts IRI, accepts blank node, accepts literal)
    SH.IRI: (True, False, False), SH.BlankNode: (False, True, False), SH.Literal: (False, False, True),
    SH.BlankNodeOrIRI: (True, True, False), SH.BlankNodeOrLiteral: (False, True, True),
    SH.IRIOrLiteral: (True, False, True)}
_BIND_THIS = re.compile(r"([\s{}()])[\$\?]this", flags=re.M)  # pyshacl pre-binds $this only if this matches


class _Shape:
    """One shape, compiled: its path, constraints, and what a result from it says."""

    props: list[_Shape]
    sparql: list[_Constraint]

    def __init__(self, sg: Graph, node: Node, compiler: _Compiler) -> None:
        self.node = node
        paths = list(sg.objects(node, SH.path))
        if len(paths) > 1:
            raise _unsupported("several sh:path values", node)
        self.path: tuple[str, ...] | None = _compile_path(sg, paths[0], node) if paths else None
        # as lod.validation.report renders pyshacl's sh:resultPath: a SPARQL property path with our prefixes
        self.path_text = "/".join(_short(URIRef(p)) for p in self.path) if self.path is not None else ""
        severities = list(sg.objects(node, SH.severity))
        self.severity = SEVERITY.get(severities[0], "info") if severities else "violation"  # type: ignore[call-overload]
        # an sh:or member with an allowed severity always "conforms" (pyshacl runs with allow_warnings)
        self.lenient = bool(severities) and severities[0] in (SH.Warning, SH.Info)
        messages = sorted(str(m) for m in sg.objects(node, SH.message))
        self.message_literals = set(sg.objects(node, SH.message))
        self.message = messages[0] if messages else None
        self.deactivated = _deactivated(sg, node)
        self.min_count = _count(sg, node, SH.minCount)
        self.max_count = _count(sg, node, SH.maxCount)
        self.has_value = list(sg.objects(node, SH.hasValue))
        # value constraints as (kind, argument); each failing (rule, value) is one pyshacl result
        self.checks: list[tuple[str, Any]] = []
        for c in sg.objects(node, SH["class"]):
            self.checks.append(("class", c))
        dts = list(sg.objects(node, SH.datatype))
        if len(dts) > 1:
            raise _unsupported("several sh:datatype values", node)
        self.checks += [("datatype", d) for d in dts]
        kinds = list(sg.objects(node, SH.nodeKind))
        if len(kinds) > 1 or any(k not in _NODE_KINDS for k in kinds):
            raise _unsupported("this sh:nodeKind", node)
        self.checks += [("nodeKind", _NODE_KINDS[k]) for k in kinds]  # type: ignore[index]
        ins = list(sg.objects(node, SH["in"]))
        if len(ins) > 1:
            raise _unsupported("several sh:in lists", node)
        self.checks += [("in", set(sg.items(i))) for i in ins]
        flags = list(sg.objects(node, SH.flags))
        if len(flags) > 1:
            raise _unsupported("several sh:flags values", node)
        re_flags = 0
        for f in flags:  # pyshacl honours only i and m
            text = str(getattr(f, "value", f)).lower()
            re_flags |= (re.I if "i" in text else 0) | (re.M if "m" in text else 0)
        for pat in sg.objects(node, SH.pattern):
            if not isinstance(pat, Literal):
                raise _unsupported("a non-literal sh:pattern", node)
            text = str(pat.value) if pat.value is not None and len(pat.value) > 1 else str(pat)
            self.checks.append(("pattern", re.compile(text, re_flags)))
        for m in sg.objects(node, SH.minInclusive):
            if not isinstance(m, Literal):
                raise _unsupported("a non-literal sh:minInclusive", node)
            self.checks.append(("minInclusive", m))
        for lst in sg.objects(node, SH["or"]):
            members = [compiler.shape(item) for item in sg.items(lst)]
            for member in members:
                if member.props or member.sparql:
                    raise _unsupported("sh:property or sh:sparql inside an sh:or member", member.node)
            self.checks.append(("or", members))
        self.props = [compiler.shape(prop) for prop in sg.objects(node, SH.property)]
        if self.path is not None and self.props:
            raise _unsupported("sh:property on a property shape", node)
        for ps in self.props:
            if ps.path is None:
                raise _unsupported("an sh:property value without sh:path", ps.node)
        self.sparql = [_Constraint(sg, c, self) for c in sg.objects(node, SH.sparql)]
        if self.path is None and (self.min_count is not None or self.max_count is not None):
            raise _unsupported("sh:minCount/sh:maxCount on a node shape", node)
        produces = self.checks or self.has_value or self.min_count or self.max_count is not None
        self.produces = bool(produces)


def _deactivated(sg: Graph, node: Node) -> bool:
    values = list(sg.objects(node, SH.deactivated))
    return bool(values[0].value) if values and isinstance(values[0], Literal) else False


def _count(sg: Graph, node: Node, pred: URIRef) -> int | None:
    values = list(sg.objects(node, pred))
    if not values:
        return None
    v = values[0]
    if len(values) > 1 or not isinstance(v, Literal) or v.datatype != XSD.integer or int(v.value) < 0:
        raise _unsupported(f"this sh:{str(pred)[len(str(SH)):]}", node)
    return int(v.value)


def _compile_path(sg: Graph, path: Node, shape: Node) -> tuple[str, ...]:
    """A predicate path or a sequence of predicates, as predicate keys."""
    if isinstance(path, URIRef):
        return (str(path),)
    items = list(sg.items(path)) if isinstance(path, BNode) else []
    if len(items) >= 2 and all(isinstance(i, URIRef) for i in items):
        return tuple(str(i) for i in items)
    raise _unsupported("this kind of sh:path (only predicates and sequences of predicates)", shape)


class _Constraint:
    """An sh:sparql constraint of a node shape, with what pyshacl needs to word its results."""

    def __init__(self, sg: Graph, node: Node, shape: _Shape) -> None:
        if shape.path is not None:
            raise _unsupported("sh:sparql on a property shape", shape.node)
        selects = list(sg.objects(node, SH.select))
        if len(selects) != 1:
            raise _unsupported("an sh:sparql constraint without exactly one sh:select", node)
        text = str(selects[0])
        if not _BIND_THIS.search(text):
            raise _unsupported("an sh:sparql constraint without $this", node)
        for word in ("$PATH", "?PATH", "$shapesGraph", "$currentShape", "?currentShape", "?shapesGraph"):
            if word in text:
                raise _unsupported(f"{word} in an sh:sparql constraint", node)
        self.query = _Query(sg, node, text, node)
        if not any(s == Variable("this") for s, _p, _o in self.query.bgp):
            raise _unsupported("an sh:sparql constraint whose triple patterns do not bind $this", node)
        self.deactivated = _deactivated(sg, node)
        # pyshacl words a result with the constraint's messages and the shape's own, each formatted
        self.messages = [str(m.value if isinstance(m, Literal) else m)
                         for m in set(sg.objects(node, SH.message)) | shape.message_literals]
        if not self.messages:
            raise _unsupported("an sh:sparql constraint without sh:message", node)


class _Compiler:
    def __init__(self, sg: Graph) -> None:
        self.sg = sg
        self.shapes: dict[Node, _Shape] = {}
        self.constraints: dict[tuple[Node, Node], _Constraint] = {}

    def shape(self, node: Node) -> _Shape:
        if node not in self.shapes:
            self.shapes[node] = _Shape(self.sg, node, self)
        return self.shapes[node]


class _Top:
    """A shape with targets: its classes and SPARQL targets."""

    def __init__(self, shape: _Shape, classes: list[Node], targets: list[_Target]) -> None:
        self.shape = shape
        self.classes = classes
        self.targets = targets
