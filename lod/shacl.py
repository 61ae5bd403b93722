"""A native SHACL checker compiled from our shapes, whose report equals pyshacl's.

pyshacl (``lod.validate.validate``) is the reference, but it costs ~15 ms per talk: it
walks an rdflib Graph node by node and runs every SPARQL constraint once per focus node.
This module compiles the shapes graph once into plain Python checks and evaluates them
column-wise over indexes built once from the triples (predicate → subject → objects),
mostly with set operations.

Exactness rules, each copied from pyshacl 0.40 / rdflib 7 (see the tests in
tests/test_shacl_native.py, which compare with pyshacl on fixtures, seed, synthetic and
mutated data):

- one result per (constraint rule, value node) as pyshacl's components make them;
  ``sh:datatype`` uses rdflib's own ``Literal.ill_typed``/``.value`` as pyshacl does;
  ``sh:class`` and ``sh:targetClass`` follow ``rdfs:subClassOf`` in the DATA graph;
- SPARQL (constraints with ``$this`` pre-bound, and ``sh:SPARQLTarget``) is parsed by
  rdflib, its BGPs are joined over our indexes with ``$this`` unbound (the same rows as
  pre-binding, for a top-level BGP containing ``$this``), and FILTER expressions run
  rdflib's own operator functions, so their error and comparison semantics are rdflib's.

Anything in the shapes this module does not implement raises ``UnsupportedShapes`` at
compile time, so editing shapes.ttl can never make the two checkers silently diverge.
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from .errors import Location
from .validate import SEVERITY, SH, Report, Result, _short, load_shapes

_XSD, _RDF = str(XSD), str(RDF)


class UnsupportedShapes(ValueError):
    """The shapes use a SHACL feature the native checker does not implement."""


_SUPPORTED = {SH[n] for n in (
    "targetClass", "target", "path", "property", "sparql", "class", "datatype", "nodeKind", "minCount",
    "maxCount", "in", "hasValue", "pattern", "flags", "minInclusive", "or", "severity", "message",
    "deactivated", "name", "description", "order", "group", "select", "prefixes", "declare", "prefix",
    "namespace")}
_SUPPORTED_TYPES = {SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint, SH.SPARQLTarget}
_NODE_KINDS = {  # node kind → (accepts IRI, accepts blank node, accepts literal)
    SH.IRI: (True, False, False), SH.BlankNode: (False, True, False), SH.Literal: (False, False, True),
    SH.BlankNodeOrIRI: (True, True, False), SH.BlankNodeOrLiteral: (False, True, True),
    SH.IRIOrLiteral: (True, False, True)}
# rdflib operator functions that read only their arguments (no context: NOW, BNODE, IRI … do)
_PURE_FUNCTIONS = {"Builtin_IF", "ConditionalAndExpression", "ConditionalOrExpression", "RelationalExpression",
                   "UnaryNot", "Builtin_DATATYPE", "Builtin_STR", "Builtin_SUBSTR", "Builtin_LANG",
                   "Builtin_isIRI", "Builtin_isLITERAL", "Builtin_isBLANK", "Builtin_sameTerm", "Builtin_STRLEN"}
_BIND_THIS = re.compile(r"([\s{}()])[\$\?]this", flags=re.M)  # pyshacl pre-binds $this only if this matches


def _unsupported(what: str, where: Node | None) -> UnsupportedShapes:
    place = f" (used by {_short(where)})" if where is not None else ""
    return UnsupportedShapes(f"the native SHACL checker does not implement {what}{place}; "
                             "use lod.validate.validate or extend lod/shacl.py")


def _key(term: Node) -> Any:
    """Index key: a plain str for an IRI (C-level hashing), the term itself otherwise (rdflib equality)."""
    return str(term) if type(term) is URIRef else term


def _term(key: Any) -> Node:
    """The term of an index key. The key came from a URIRef, so URIRef's validation (slow) is skipped."""
    return str.__new__(URIRef, key) if type(key) is str else key


# ------------------------------------------------------------------ compiled shapes

class _Shape:
    """One shape, compiled: its path, constraints, and what a result from it says."""

    props: list[_Shape]
    sparql: list[_Constraint]

    def __init__(self, sg: Graph, node: Node, compiler: _Compiler) -> None:
        self.node = node
        for p in set(sg.predicates(node, None)):
            if str(p).startswith(str(SH)) and p not in _SUPPORTED:
                raise _unsupported(f"sh:{str(p)[len(str(SH)):]}", node)
        paths = list(sg.objects(node, SH.path))
        if len(paths) > 1:
            raise _unsupported("several sh:path values", node)
        self.path_node: Node | None = paths[0] if paths else None
        self.path: tuple[str, ...] | None = _compile_path(sg, paths[0], node) if paths else None
        severities = list(sg.objects(node, SH.severity))
        self.severity = SEVERITY.get(severities[0], "info") if severities else "violation"  # type: ignore[call-overload]
        # an sh:or member with an allowed severity always "conforms" (pyshacl runs with allow_warnings)
        self.lenient = bool(severities) and severities[0] in (SH.Warning, SH.Info)
        messages = sorted(str(m) for m in sg.objects(node, SH.message))
        self.message_literals = set(sg.objects(node, SH.message))
        self.message = messages[0] if messages else None
        deact = list(sg.objects(node, SH.deactivated))
        self.deactivated = bool(deact[0].value) if deact and isinstance(deact[0], Literal) else False
        self.min_count = _count(sg, node, SH.minCount, self.path)
        self.max_count = _count(sg, node, SH.maxCount, self.path)
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
        self.sparql = [compiler.constraint(c, self) for c in sg.objects(node, SH.sparql)]
        if self.path is None and (self.min_count is not None or self.max_count is not None):
            raise _unsupported("sh:minCount/sh:maxCount on a node shape", node)
        produces = self.checks or self.has_value or self.min_count or self.max_count is not None
        self.produces = bool(produces)


def _count(sg: Graph, node: Node, pred: URIRef, path: object) -> int | None:
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


class _Query:
    """A SPARQL SELECT, parsed by rdflib, evaluated over our indexes."""

    def __init__(self, sg: Graph, node: Node, text: str, where: Node, exists: bool = False) -> None:
        from rdflib.plugins.sparql.algebra import translateQuery
        from rdflib.plugins.sparql.parser import parseQuery

        self.node = node
        prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in _prefixes(sg, node).items())
        algebra = translateQuery(parseQuery(f"{prefixes}\n{text}")).algebra
        part = algebra.p
        if part.name in ("Distinct", "Reduced"):
            part = part.p
        if part.name != "Project":
            raise _unsupported(f"SPARQL {part.name}", where)
        self.vars = [str(v) for v in part.PV]
        if "failure" in self.vars:
            raise _unsupported("?failure in a SPARQL query", where)
        self.filters: list[Callable[[dict[str, Any]], bool]] = []
        part = part.p
        while part.name == "Filter":
            self.filters.append(_filter(part.expr, where, exists))
            part = part.p
        self.bgp = _patterns(_triples(part, where), where)


def _prefixes(sg: Graph, node: Node) -> dict[str, str]:
    """The PREFIX lines pyshacl puts before a query (its SPARQLQueryHelper.collect_prefixes)."""
    out = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}
    onts = set(sg.subjects(RDF.type, OWL.Ontology))
    graph_declares = set(sg.objects(sg.identifier, SH.declare))
    global_declares = graph_declares.union(*(set(sg.objects(o, SH.declare)) for o in onts))
    for pv in sg.objects(node, SH.prefixes):
        own = set(sg.objects(pv, SH.declare))
        for dec in (own | graph_declares) if own and pv in onts else (global_declares | own):
            out[str(sg.value(dec, SH.prefix))] = str(sg.value(dec, SH.namespace))
    return out


def _triples(part: Any, where: Node) -> list[Any]:
    """The triple patterns of a BGP, or of a join of BGPs (which is the BGP of them all)."""
    if part.name == "BGP":
        return list(part.triples)
    if part.name == "Join":
        return _triples(part.p1, where) + _triples(part.p2, where)
    raise _unsupported(f"SPARQL {part.name}", where)


def _patterns(triples: Iterable[Any], where: Node) -> list[tuple[Node, str, Node]]:
    out = []
    for s, p, o in triples:
        if not isinstance(p, URIRef) or isinstance(s, BNode) or isinstance(o, BNode):
            raise _unsupported("SPARQL patterns other than a fixed predicate between variables or terms", where)
        out.append((s, str(p), o))
    return out


# ------------------------------------------------------------------ SPARQL expressions

class _Args:
    """What an rdflib operator function reads as ``e.arg``…: its arguments, evaluated on access.

    rdflib's CompValue evaluates a child when the function reads it; an unbound variable
    raises there, and an erring child expression is passed on as a SPARQLError value.
    """

    __slots__ = ("_kids", "_row")

    def __init__(self, kids: dict[str, Any], row: dict[str, Any]) -> None:
        self._kids = kids
        self._row = row

    def __getattr__(self, name: str) -> Any:
        kid = self._kids.get(name)
        return None if kid is None else kid(self._row)

    def get(self, name: str, variables: bool = False, errors: bool = False) -> Any:  # noqa: ARG002
        return self.__getattr__(name)


def _expr(e: Any, where: Node, exists: bool) -> Callable[[dict[str, Any]], Any]:
    """Compile one algebra node into row → value (errors returned as values, like rdflib's Expr.eval)."""
    from rdflib.plugins.sparql.parserutils import CompValue, Expr
    from rdflib.plugins.sparql.sparql import NotBoundError, SPARQLError

    if isinstance(e, Variable):
        name = str(e)

        def var(row: dict[str, Any]) -> Node:
            value = row.get(name)
            if value is None:
                raise NotBoundError()
            return value
        return var
    if isinstance(e, list):
        items = [_expr(x, where, exists) for x in e]
        return lambda row: [f(row) for f in items]
    if isinstance(e, Expr) and e.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
        if not exists:  # with $this pre-bound, rdflib's scoping of EXISTS is not a plain join
            raise _unsupported("EXISTS in a SPARQL constraint (only in targets)", where)
        pats = _patterns(_triples(e.graph, where), where)
        found, absent = Literal(e.name == "Builtin_EXISTS"), Literal(e.name != "Builtin_EXISTS")

        if len(pats) == 1:  # one pattern: a lookup
            (ps, pp, po), = pats

            def exist_one(row: dict[str, Any]) -> Literal:
                sv = row.get(str(ps)) if isinstance(ps, Variable) else ps
                ov = row.get(str(po)) if isinstance(po, Variable) else po
                if sv is None or ov is None or isinstance(po, Variable) and str(po) == str(ps):
                    return exist(row)
                return found if _key(sv) in row[""]._having(pp, ov) else absent
            return exist_one

        def exist(row: dict[str, Any]) -> Literal:
            return found if row[""]._bgp(pats, row) else absent  # row[""]: the _Run (see _Run._rows)
        return exist
    if isinstance(e, Expr):
        if e.name not in _PURE_FUNCTIONS:
            raise _unsupported(f"the SPARQL function {e.name}", where)
        fn = e._evalfn.__func__  # type: ignore[union-attr]
        kids = {k: _expr(v, where, exists) for k, v in e.items() if k != "_vars"}
        fast = _fast(e.name, fn, kids)
        if fast is not None:
            return fast

        def run(row: dict[str, Any]) -> Any:
            try:
                return fn(_Args(kids, row), None)
            except SPARQLError as err:
                return err
        return run
    if isinstance(e, CompValue):
        raise _unsupported(f"SPARQL {e.name}", where)
    return lambda row: e  # a constant: an IRI, a literal or an operator name


_TRUE, _FALSE = Literal(True), Literal(False)  # what rdflib's operators return, made once
_ORDER = {">": "__gt__", "<": "__lt__", ">=": "__ge__", "<=": "__le__"}  # rdflib's RelationalExpression ops


def _fast(name: str, fn: Callable[..., Any], kids: dict[str, Any]) -> Callable[[dict[str, Any]], Any] | None:
    """rdflib's code for the hot operators, with their arguments evaluated in the same order.

    rdflib's generic evaluation costs ~100 µs a row (CompValue lookups, a new Literal per
    boolean). These are its own lines for the cases that are plain (booleans, DATATYPE,
    = and != between IRIs); anything else calls rdflib's function with the values.
    """
    from rdflib.plugins.sparql.operators import EBV, XSD_DTs
    from rdflib.plugins.sparql.sparql import SPARQLError

    def ebv(x: Any) -> bool:
        return True if x is _TRUE else False if x is _FALSE else bool(EBV(x))

    def const(x: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda row: x

    arg, arg1, arg2, arg3 = kids.get("arg"), kids.get("arg1"), kids.get("arg2"), kids.get("arg3")
    expr, other, op = kids.get("expr"), kids.get("other"), kids.get("op")
    if name == "Builtin_DATATYPE" and arg is not None and set(kids) == {"arg"}:
        def datatype(row: dict[str, Any]) -> Any:
            try:
                lit = arg(row)
                if not isinstance(lit, Literal):
                    raise SPARQLError("Can only get datatype of literal: %r" % lit)
                if lit.language:
                    return RDF.langString
                if not lit.datatype and not lit.language:
                    return XSD.string
                return lit.datatype
            except SPARQLError as err:
                return err
        return datatype
    if name == "Builtin_IF" and None not in (arg1, arg2, arg3):
        def if_(row: dict[str, Any]) -> Any:
            try:
                return arg2(row) if ebv(arg1(row)) else arg3(row)  # type: ignore[misc]
            except SPARQLError as err:
                return err
        return if_
    if name in ("ConditionalAndExpression", "ConditionalOrExpression") and expr is not None:
        conj = name == "ConditionalAndExpression"

        def logic(row: dict[str, Any]) -> Any:
            try:
                first = expr(row)
                if other is None:
                    return first
                error = None
                for x in [first] + other(row):
                    if conj:
                        if not ebv(x):
                            return _FALSE
                    else:
                        try:
                            if ebv(x):
                                return _TRUE
                        except SPARQLError as err:
                            error = err
                if error is not None:
                    raise error
                return _TRUE if conj else _FALSE
            except SPARQLError as err:
                return err
        return logic
    if name == "UnaryNot" and expr is not None and set(kids) == {"expr"}:
        def not_(row: dict[str, Any]) -> Any:
            try:
                return _FALSE if ebv(expr(row)) else _TRUE
            except SPARQLError as err:
                return err
        return not_
    if name == "RelationalExpression" and expr is not None and op is not None:
        def relation(row: dict[str, Any]) -> Any:
            try:
                a = expr(row)
                b = other(row) if other is not None else None
                o = op(row)
                if b is not None and o in ("=", "!=") and isinstance(a, (URIRef, BNode)) \
                        and isinstance(b, (URIRef, BNode)):
                    same = type(a) is type(b) and str(a) == str(b)  # Identifier.eq
                    return _TRUE if same == (o == "=") else _FALSE
                if o in _ORDER and isinstance(a, Literal) and isinstance(b, Literal):
                    if a.datatype is not None and a.datatype not in XSD_DTs \
                            and b.datatype is not None and b.datatype not in XSD_DTs:
                        raise SPARQLError("Can only do =,!= comparisons of non-XSD Literals")
                    try:
                        r = getattr(a, _ORDER[o])(b)
                        if r == NotImplemented:
                            raise SPARQLError("Error when comparing")
                    except TypeError as te:
                        raise SPARQLError(*te.args) from None
                    if type(r) is bool:
                        return _TRUE if r else _FALSE
                    return Literal(r)
                return fn(_Args({"expr": const(a), "other": None if other is None else const(b),
                                 "op": const(o)}, row), None)
            except SPARQLError as err:
                return err
        return relation
    return None


def _filter(e: Any, where: Node, exists: bool) -> Callable[[dict[str, Any]], bool]:
    """A FILTER as rdflib's _ebv applies it: an error is false."""
    from rdflib.plugins.sparql.operators import EBV
    from rdflib.plugins.sparql.parserutils import Expr
    from rdflib.plugins.sparql.sparql import SPARQLError

    if not isinstance(e, (Expr, Variable)):
        try:
            constant = bool(EBV(e))
        except SPARQLError:
            constant = False
        return lambda row: constant
    compiled = _expr(e, where, exists)

    def test(row: dict[str, Any]) -> bool:
        try:
            value = compiled(row)
            return True if value is _TRUE else False if value is _FALSE else bool(EBV(value))
        except SPARQLError:
            return False
    return test


class _Target(_Query):
    """An sh:SPARQLTarget (run once, unbound): FILTER [NOT] EXISTS of triple patterns are joined natively."""

    def __init__(self, sg: Graph, node: Node, text: str, where: Node) -> None:
        super().__init__(sg, node, text, where, exists=True)
        if "this" not in self.vars:
            raise _unsupported("a SPARQL target that does not select ?this", where)


class _Constraint:
    """An sh:sparql constraint of a node shape, with what pyshacl needs to word its results."""

    def __init__(self, sg: Graph, node: Node, shape: _Shape) -> None:
        for p in set(sg.predicates(node, None)):
            if str(p).startswith(str(SH)) and p not in _SUPPORTED:
                raise _unsupported(f"sh:{str(p)[len(str(SH)):]}", node)
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
        deact = list(sg.objects(node, SH.deactivated))
        self.deactivated = bool(deact[0].value) if deact and isinstance(deact[0], Literal) else False
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

    def constraint(self, node: Node, shape: _Shape) -> _Constraint:
        return _Constraint(self.sg, node, shape)


class _Top:
    """A shape with targets: its classes and SPARQL targets."""

    def __init__(self, shape: _Shape, classes: list[Node], targets: list[_Target]) -> None:
        self.shape = shape
        self.classes = classes
        self.targets = targets


class Checker:
    """The shapes graph compiled once; ``check`` it against any number of data sets."""

    def __init__(self, shapes: Graph | None = None) -> None:
        sg = shapes if shapes is not None else load_shapes()
        problems = []  # a whole-graph guard: nothing SHACL we do not implement, anywhere
        for s, p, o in sg:
            if str(p).startswith(str(SH)) and p not in _SUPPORTED:
                problems.append((f"sh:{str(p)[len(str(SH)):]}", str(s), s))
            if p == RDF.type and str(o).startswith(str(SH)) and o not in _SUPPORTED_TYPES:
                problems.append((f"sh:{str(o)[len(str(SH)):]}", str(s), s))
            if p == RDF.type and o in (RDFS.Class, OWL.Class) and (s, RDF.type, SH.NodeShape) in sg:
                problems.append(("implicit class targets", str(s), s))
        if problems:  # the first in a stable order, so that the message does not vary
            what, _name, where = min(problems, key=lambda x: (x[0], x[1]))
            raise _unsupported(what, where)
        compiler = _Compiler(sg)
        self.tops: list[_Top] = []
        for node in sorted(set(sg.subjects(SH.targetClass, None)) | set(sg.subjects(SH.target, None)), key=str):
            targets = []
            for t in sg.objects(node, SH.target):
                selects = list(sg.objects(t, SH.select))
                if len(selects) != 1:
                    raise _unsupported("an sh:target that is not one sh:select", node)
                targets.append(_Target(sg, t, str(selects[0]), node))
            self.tops.append(_Top(compiler.shape(node), list(sg.objects(node, SH.targetClass)), targets))
        for shape in compiler.shapes.values():
            reachable = any(shape is t.shape or shape in t.shape.props for t in self.tops)
            if reachable and shape.produces and shape.message is None:
                raise _unsupported("a shape without sh:message (pyshacl's generic messages)", shape.node)
        self.classes = {str(c) for t in self.tops for c in t.classes} | {
            str(arg) for s in compiler.shapes.values() for kind, arg in s.checks if kind == "class"}

    def check(self, triples: Iterable[tuple[Node, Node, Node]], origins: dict[str, Location] | None = None,
              only: set[str] | None = None) -> Report:
        """The report of the triples: equal to ``lod.validate.validate`` on a Graph of them.

        *only* limits the focus nodes to those owned by these resource IRIs (the focus IRI
        before ``#``), for an incremental check; the data must still hold what they point to.
        """
        gc_was_on = gc.isenabled()
        gc.disable()  # millions of new objects and no cycles: the cyclic collector would only cost time
        try:
            return _Run(self, triples, origins or {}, only).report()
        finally:
            if gc_was_on:
                gc.enable()


@functools.cache
def _packaged_checker() -> Checker:
    return Checker()


def compile_shapes(shapes: Graph | None = None) -> Checker:
    """Compile *shapes* (default: the packaged shapes, compiled once per process)."""
    return _packaged_checker() if shapes is None else Checker(shapes)


def check(triples: Iterable[tuple[Node, Node, Node]], origins: dict[str, Location] | None = None,
          shapes: Graph | None = None, only: set[str] | None = None) -> Report:
    """Validate *triples* (an rdflib Graph or any iterable of rdflib-term triples) natively.

    The report's results equal ``lod.validate.validate(graph_of_the_triples, origins, shapes)``'s
    when both get the same shapes Graph: like pyshacl, a result names a blank-node shape or
    sequence path (shape:Talk-citation) by its blank node label in that graph. *only* keeps the
    focus nodes owned by those resource IRIs. Raises UnsupportedShapes if the shapes use SHACL
    this module does not implement.
    """
    return compile_shapes(shapes).check(triples, origins, only)


# ------------------------------------------------------------------ evaluation

_EMPTY: dict[Any, list[Node]] = {}


class _Run:
    """One check: the data indexed once, then every shape evaluated column-wise."""

    def __init__(self, checker: Checker, triples: Iterable[tuple[Node, Node, Node]],
                 origins: dict[str, Location], only: set[str] | None) -> None:
        self.checker = checker
        self.origins = origins
        self.only = only
        by_pred: dict[str, dict[Any, list[Node]]] = {}
        per_term: dict[Node, dict[Any, list[Node]]] = {}  # predicate term → its index, without str() each time
        for s, p, o in triples:  # (the garbage collector is off: see Checker.check)
            d = per_term.get(p)
            if d is None:
                d = per_term[p] = by_pred.setdefault(str(p), {})
            sk = str(s) if type(s) is URIRef else s
            objs = d.get(sk)
            if objs is None:
                d[sk] = [o]
            else:
                objs.append(o)
        if type(triples) is not Graph:  # a Graph holds each triple once; as it would, drop repeats
            for d in by_pred.values():
                for sk, objs in d.items():
                    if len(objs) > 1 and len(set(map(str, objs))) < len(objs):
                        d[sk] = [o for i, o in enumerate(objs) if o not in objs[:i]]
        self.by_pred = by_pred
        self.rev: dict[str, dict[Any, list[Any]]] = {}
        self.multi: dict[str, set[Any]] = {}
        self.results: list[Result] = []
        self.fns: dict[int, list[Callable[[Node], bool]]] = {}
        self.having: dict[tuple[str, Any], set[Any]] = {}
        self.solutions: dict[Node, dict[Any, list[dict[str, Any]]]] = {}
        self.instances = {c: self._instances(c) for c in checker.classes}

    def _reverse(self, p: str) -> dict[Any, list[Any]]:
        """object key → subject keys of predicate *p*, built on first use."""
        r = self.rev.get(p)
        if r is None:
            r = self.rev[p] = {}
            for sk, objs in self.by_pred.get(p, _EMPTY).items():
                for o in objs:
                    r.setdefault(_key(o), []).append(sk)
        return r

    def _having(self, p: str, value: Node) -> set[Any]:
        """Keys of the subjects with *value* among their objects of *p* (rdflib term equality, as ``in``)."""
        k = (p, _key(value))
        found = self.having.get(k)
        if found is None:
            found = self.having[k] = set(self._reverse(p).get(k[1], ()))
        return found

    def _instances(self, cls: str) -> set[Any]:
        """Keys of the SHACL instances of *cls*: typed with it or a subclass (rdfs:subClassOf* in the data)."""
        subs = self._reverse(str(RDFS.subClassOf))
        seen = {cls}
        todo = [cls]
        while todo:
            for sub in subs.get(todo.pop(), ()):
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
        types = self._reverse(str(RDF.type))
        out: set[Any] = set()
        for c in seen:
            out.update(types.get(c, ()))
        return out

    # -------------------------------------------------------------- values

    def _values(self, focus: set[Any], path: tuple[str, ...]) -> dict[Any, list[Node]]:
        """focus key → its value nodes along *path* (a shared index for a predicate path)."""
        first = self.by_pred.get(path[0], _EMPTY)
        if len(path) == 1:
            return first
        out: dict[Any, list[Node]] = {}
        for f in focus:
            level = first.get(f, [])
            for p in path[1:]:
                nxt: dict[Node, None] = {}  # an insertion-ordered set, with rdflib term equality
                d = self.by_pred.get(p, _EMPTY)
                for v in level:
                    for o in d.get(_key(v), ()):
                        nxt[o] = None
                level = list(nxt)
            if level:
                out[f] = level
        return out

    def _fn(self, kind: str, arg: Any) -> Callable[[Node], bool]:
        """One value constraint as value node → conforms, as pyshacl's component decides it."""
        if kind == "datatype":
            return _datatype_fn(arg)
        if kind == "class":
            members = self.instances[str(arg)]
            return lambda v: (str(v) if type(v) is URIRef else v) in members if not isinstance(v, Literal) else False
        if kind == "nodeKind":
            iri, blank, lit = arg
            return lambda v: blank if isinstance(v, BNode) else lit if isinstance(v, Literal) else iri
        if kind == "in":  # keys: C-level str equality for IRIs, rdflib term equality otherwise, as ``in``
            keys = {_key(x) for x in arg}
            return lambda v: (str(v) if type(v) is URIRef else v) in keys
        if kind == "pattern":
            return lambda v: not isinstance(v, BNode) and arg.search(_as_string(v)) is not None
        if kind == "minInclusive":
            return functools.partial(_min_inclusive_ok, arg)
        if kind == "or":
            alternatives = [self._member(m) for m in arg]
            if len(alternatives) == 2:  # the usual (text or language-tagged text): no loop
                first, second = alternatives
                return lambda v: first(v) or second(v)

            def any_of(v: Node) -> bool:
                for m in alternatives:
                    if m(v):
                        return True
                return False
            return any_of
        raise AssertionError(kind)

    def _fns(self, shape: _Shape) -> list[Callable[[Node], bool]]:
        fns = self.fns.get(id(shape))
        if fns is None:
            fns = self.fns[id(shape)] = [self._fn(kind, arg) for kind, arg in shape.checks]
        return fns

    def _member(self, shape: _Shape) -> Callable[[Node], bool]:
        """An sh:or member as value node → conforms; a node shape of one constraint is just that constraint."""
        if shape.path is None and not shape.deactivated and not shape.lenient and not shape.has_value:
            fns = self._fns(shape)
            if len(fns) == 1:
                return fns[0]
            return lambda v: all(fn(v) for fn in fns)
        return functools.partial(self._conforms, shape)

    def _conforms(self, shape: _Shape, v: Node) -> bool:
        """Whether *v* conforms to an sh:or member (pyshacl: allowed severities always conform)."""
        if shape.deactivated or shape.lenient:
            return True
        if shape.path is None:
            values = [v]
        else:
            values = self._values({_key(v)}, shape.path).get(_key(v), [])
        if shape.min_count and len(values) < shape.min_count:
            return False
        if shape.max_count is not None and len(values) > shape.max_count:
            return False
        if any(hv not in values for hv in shape.has_value):
            return False
        return all(fn(x) for fn in self._fns(shape) for x in values)

    # -------------------------------------------------------------- shapes

    def _emit(self, shape: _Shape, focus: Any, message: str | None = None, path: Node | None = None) -> None:
        text = str(focus)
        self.results.append(Result(shape.severity, text, _short(path if path is not None else shape.path_node),
                                   message if message is not None else shape.message or "does not conform",
                                   _short(shape.node), self.origins.get(text.split("#", 1)[0])))

    def _focus(self, top: _Top) -> set[Any]:
        focus: set[Any] = set()
        for c in top.classes:
            focus |= self.instances[str(c)]
        for t in top.targets:
            focus.update(_key(row["this"]) for row in self._select(t) if "this" in row)
        if self.only is not None:
            focus = {f for f in focus if str(f).split("#", 1)[0] in self.only}
        return focus

    def _shape(self, shape: _Shape, focus: set[Any]) -> None:
        """Evaluate *shape* on every focus node at once."""
        if shape.deactivated or not focus:
            return
        fns = self._fns(shape)
        if shape.path is None:  # a node shape's value node is its focus node
            if not fns and not shape.has_value:
                values: dict[Any, list[Node]] = {}
            else:
                values = {f: [_term(f)] for f in focus}
            present = set(values)
        else:
            values = self._values(focus, shape.path)
            if fns or shape.max_count is not None:
                present = focus.intersection(values) if len(focus) < len(values) else set(values).intersection(focus)
            else:
                present = set()  # not needed
        if shape.min_count:
            if shape.min_count == 1:
                missing: Iterable[Any] = focus.difference(values)
            else:
                missing = [f for f in focus if len(values.get(f, ())) < shape.min_count]
            for f in missing:
                self._emit(shape, f)
        if shape.max_count is not None:
            for f in self._multi(shape, values, present):
                if len(values[f]) > shape.max_count:
                    self._emit(shape, f)
        for hv in shape.has_value:
            if shape.path is not None and len(shape.path) == 1:  # those with the value, from the reverse index
                for f in focus.difference(self._having(shape.path[0], hv)):
                    self._emit(shape, f)
                continue
            for f in focus:
                if hv not in values.get(f, ()):
                    self._emit(shape, f)
        if len(fns) == 1:
            fn = fns[0]
            for f in present:
                for v in values[f]:
                    if not fn(v):
                        self._emit(shape, f)
        elif fns:
            for f in present:
                for v in values[f]:
                    for fn in fns:
                        if not fn(v):
                            self._emit(shape, f)
        for prop in shape.props:
            self._shape(prop, focus)
        for c in shape.sparql:
            if not c.deactivated:
                self._constraint(shape, c, focus)

    def _multi(self, shape: _Shape, values: dict[Any, list[Node]], present: set[Any]) -> Iterable[Any]:
        """Focus nodes that may break sh:maxCount: those with more values than the smallest maximum."""
        if shape.max_count == 0 or shape.path is None or len(shape.path) > 1:
            return present
        p = shape.path[0]
        multi = self.multi.get(p)
        if multi is None:
            multi = self.multi[p] = {k for k, objs in values.items() if len(objs) > 1}
        return present & multi

    def _constraint(self, shape: _Shape, c: _Constraint, focus: set[Any]) -> None:
        """One SPARQL constraint for all focus nodes: rows grouped by $this, worded as pyshacl does."""
        seen: set[tuple[Any, ...]] = set()
        by_this = self.solutions.get(c.query.node)
        if by_this is None:  # shapes share constraints (EndNotBeforeStart): solve each once, for all nodes
            by_this = self.solutions[c.query.node] = {}
            for row in self._rows(c.query):
                by_this.setdefault(_key(row["this"]), []).append(row)
        mine = focus.intersection(by_this) if len(focus) < len(by_this) else set(by_this).intersection(focus)
        for row in (r for f in mine for r in by_this[f]):
            f = _key(row["this"])  # the focus node pyshacl would have pre-bound
            rest = {v: row[v] for v in c.query.vars if v in row}
            this, path, value = rest.pop("this", None), rest.pop("path", None), rest.pop("value", None)
            if this is None and path is None and value is None:
                continue  # pyshacl ignores such a row
            dedup = (f, this, path, value, tuple((k, _key(v)) for k, v in rest.items()))
            if dedup in seen:  # pyshacl drops a row equal to one it already has for this focus node
                continue
            seen.add(dedup)
            bound = dict(rest)  # pyshacl's order: the other variables, then this, path, value
            if this is not None:
                bound["this"] = this
            if path is not None:
                bound["path"] = path
            bound["value"] = value if value is not None else row["this"]  # a node shape's value node
            texts = []
            for m in c.messages:
                for var, val in bound.items():
                    m = re.sub("{{[?$]{}}}".format(var), str(val), m)
                texts.append(m)
            self._emit(shape, f, sorted(texts)[0], path)

    # -------------------------------------------------------------- SPARQL

    def _rows(self, q: _Query) -> Iterator[dict[str, Any]]:
        """The solutions of *q* that pass its filters."""
        start: dict[str, Any] = {"": self}  # EXISTS closures find the data here
        for row in self._bgp(q.bgp, start):
            if all(f(row) for f in q.filters):
                yield row

    def _select(self, q: _Query) -> Iterator[dict[str, Any]]:
        """The projected rows of *q*."""
        for row in self._rows(q):
            yield {v: row[v] for v in q.vars if v in row}

    def _bgp(self, patterns: list[tuple[Node, str, Node]], row: dict[str, Any]) -> list[dict[str, Any]]:
        """The solutions of a basic graph pattern that extend *row*, joined one pattern at a time.

        Every solution binds the same variables, so the join order (most bound pattern, then
        smallest predicate) is chosen once per pattern; any order gives the same solutions.
        """
        rows = [row]
        todo = list(patterns)
        bound = set(row)
        while todo and rows:
            def score(t: tuple[Node, str, Node]) -> tuple[int, int]:
                return ((not isinstance(t[0], Variable) or str(t[0]) in bound) * 2
                        + (not isinstance(t[2], Variable) or str(t[2]) in bound), -len(self.by_pred.get(t[1], _EMPTY)))
            i = max(range(len(todo)), key=lambda j: score(todo[j]))
            s, p, o = todo.pop(i)
            sname = str(s) if isinstance(s, Variable) else None
            oname = str(o) if isinstance(o, Variable) else None
            s_bound, o_bound = sname is None or sname in bound, oname is None or oname in bound
            index = self.by_pred.get(p, _EMPTY)
            out: list[dict[str, Any]] = []
            for r in rows:
                sv = (s if sname is None else r[sname]) if s_bound else None
                ov = (o if oname is None else r[oname]) if o_bound else None
                if sv is not None:
                    objs = index.get(_key(sv), ())
                    if ov is not None:
                        if ov in objs:  # rdflib term equality, as the store's lookup
                            out.append(r)
                        continue
                    for x in objs:
                        new = dict(r)
                        new[oname] = x  # type: ignore[index]
                        out.append(new)
                elif ov is not None:
                    for sk in self._reverse(p).get(_key(ov), ()):
                        new = dict(r)
                        new[sname] = _term(sk)  # type: ignore[index]
                        out.append(new)
                else:
                    same = sname == oname  # ?x p ?x
                    for sk, objs in index.items():
                        st = _term(sk)
                        for x in objs:
                            if same and x != st:
                                continue
                            new = dict(r)
                            new[sname] = st  # type: ignore[index]
                            new[oname] = x  # type: ignore[index]
                            out.append(new)
            rows = out
            bound.update(n for n in (sname, oname) if n is not None)
        return rows

    def report(self) -> Report:
        for top in self.checker.tops:
            self._shape(top.shape, self._focus(top))
        self.results.sort()
        return Report(self.results)


def _datatype_fn(rule: Node) -> Callable[[Node], bool]:
    """pyshacl's DatatypeConstraintComponent for one value node, including its ill-typed literal check.

    pyshacl then requires the Python value rdflib parsed to have the datatype's type
    (its _assert_actual_datatype); other datatypes pass.
    """
    from datetime import date, datetime, time
    from decimal import Decimal

    r = str(rule)  # compared with str.__eq__: rdflib's URIRef.__eq__ is Python code, and this is hot
    expected: Any = {_XSD + "string": (str, bytes), _RDF + "langString": (str, bytes), _XSD + "integer": int,
                     _XSD + "float": float, _XSD + "decimal": Decimal, _XSD + "boolean": bool,
                     _XSD + "date": date, _XSD + "time": time, _XSD + "dateTime": datetime}.get(r, object)
    any_literal, any_typed = r == str(RDFS.Literal), r == str(RDFS.Datatype)
    plain, lang_string = r == _XSD + "string", r == _RDF + "langString"

    def ok(v: Node) -> bool:
        if not isinstance(v, Literal):
            return False
        dt = v.datatype
        if dt is not None and str.__eq__(dt, r):
            return getattr(v, "ill_typed", None) is not True and isinstance(v.value, expected)
        if any_literal or (any_typed and dt):
            return True
        lang = v.language
        if (dt is None and lang is None and plain) or (lang_string and lang):
            return isinstance(v.value, expected)
        return False
    return ok


def _as_string(v: Node) -> str:
    """pyshacl's StringBasedConstraintBase.value_node_to_string."""
    if isinstance(v, Literal) and v.value is not None:
        dt = v.datatype  # a URIRef or None: str.__eq__ is URIRef equality here, in C
        if dt is None or str.__eq__(dt, _RDF + "langString") or str.__eq__(dt, _XSD + "string"):
            return str(v.value)
    return str(v)


def _min_inclusive_ok(m: Literal, v: Node) -> bool:
    """pyshacl's MinInclusiveConstraintComponent for one value node."""
    from pyshacl.rdfutil.compare import compare_literal

    if not isinstance(v, Literal):
        return False
    if isinstance(m.value, str) != isinstance(v.value, str):
        return False
    try:
        return bool(compare_literal(v, m) >= 0)
    except (TypeError, NotImplementedError):
        return False
