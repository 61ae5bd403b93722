"""Value checks: pyshacl's per-value-node constraint components, one value at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rdflib import Literal
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node

_XSD, _RDF = str(XSD), str(RDF)


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
