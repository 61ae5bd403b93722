"""SPARQL stage: queries parsed by rdflib into triple patterns and compiled FILTER expressions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from lod.validation.algebra import algebra_of
from lod.validation.report import SH
from lod.validation.shacl._common import _key, _unsupported

# rdflib operator functions that read only their arguments (no context: NOW, BNODE, IRI … do)
_PURE_FUNCTIONS = {"Builtin_IF", "ConditionalAndExpression", "ConditionalOrExpression", "RelationalExpression",
                   "UnaryNot", "Builtin_DATATYPE", "Builtin_STR", "Builtin_SUBSTR", "Builtin_LANG",
                   "Builtin_isIRI", "Builtin_isLITERAL", "Builtin_isBLANK", "Builtin_sameTerm", "Builtin_STRLEN"}


class _Query:
    """A SPARQL SELECT, parsed by rdflib, evaluated over our indexes."""

    def __init__(self, sg: Graph, node: Node, text: str, where: Node, exists: bool = False) -> None:
        self.node = node
        prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in _prefixes(sg, node).items())
        # Parsed once a process: the packaged shapes' six sh:sparql constraints are three queries.
        part = algebra_of(f"{prefixes}\n{text}").p
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
