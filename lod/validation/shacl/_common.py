"""What every stage of the native SHACL checker shares: the supported vocabulary, its error, index keys."""

from __future__ import annotations

from typing import Any

from rdflib import URIRef
from rdflib.term import Node

from lod.validation.report import SH, _short


class UnsupportedShapes(ValueError):
    """The shapes use a SHACL feature the native checker does not implement."""


_SUPPORTED = {SH[n] for n in (
    "targetClass", "target", "path", "property", "sparql", "class", "datatype", "nodeKind", "minCount",
    "maxCount", "in", "hasValue", "pattern", "flags", "minInclusive", "or", "severity", "message",
    "deactivated", "name", "description", "order", "group", "select", "prefixes", "declare", "prefix",
    "namespace")}
_SUPPORTED_TYPES = {SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint, SH.SPARQLTarget}


def _unsupported(what: str, where: Node | None) -> UnsupportedShapes:
    place = f" (used by {_short(where)})" if where is not None else ""
    return UnsupportedShapes(f"the native SHACL checker does not implement {what}{place}; "
                             "use lod.validation.report.validate or extend lod/validation/shacl/")


def _key(term: Node) -> Any:
    """Index key: a plain str for an IRI (C-level hashing), the term itself otherwise (rdflib equality)."""
    return str(term) if type(term) is URIRef else term


def _term(key: Any) -> Node:
    """The term of an index key. The key came from a URIRef, so URIRef's validation (slow) is skipped."""
    return str.__new__(URIRef, key) if type(key) is str else key
