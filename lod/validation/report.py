"""Validate stage: the report and result types, and pyshacl, the reference engine.

A build checks the shapes with ``lod.validation.shacl``, a checker compiled from them whose report
equals this module's ``validate`` (tests/test_shacl_native.py); ``validate`` runs pyshacl
on rdflib's own in-memory graph (on an oxrdflib store it is quadratic).
Violations stop a build; warnings are search-engine recommendations that the data
cannot always meet, and are reported but never fatal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from lod.errors import Location
from lod.model.vocab import PREFIXES

SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES_NS = "https://w3id.org/lod-talks/shapes#"
SEVERITY = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


@dataclass(frozen=True, order=True)
class Result:
    """One SHACL result, with the record it came from when known."""

    severity: str
    focus: str
    path: str
    message: str
    shape: str
    location: Location | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity}: <{self.focus}> {self.path}: {self.message}"


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "violation"]

    @property
    def warnings(self) -> list[Result]:
        return [r for r in self.results if r.severity == "warning"]

    @property
    def conforms(self) -> bool:
        """True when there is no violation (warnings allowed)."""
        return not self.violations

    def __str__(self) -> str:
        head = f"{len(self.violations)} violation(s), {len(self.warnings)} warning(s)"
        return "\n".join([head] + [f"  {r}" for r in self.results])


def shapes_path() -> Path:
    """The SHACL shapes shipped with the package (a copy of shapes/ at the repository root)."""
    return Path(str(resources.files("lod") / "data" / "shapes.ttl"))


def load_shapes(path: Path | None = None) -> Graph:
    """The shapes graph."""
    g = Graph()
    g.parse(path or shapes_path(), format="turtle")
    return g


def _short(node: Node | None) -> str:
    """A prefixed name with our own prefixes (rdflib would invent ``schema1:``)."""
    if node is None:
        return ""
    value = str(node)
    if isinstance(node, URIRef):
        for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
            if value.startswith(ns):
                return f"{prefix}:{value[len(ns):]}"
        if value.startswith(SHAPES_NS):
            return "shape:" + value[len(SHAPES_NS):]
    return value


_UNARY_PATHS = {SH.zeroOrMorePath: "*", SH.oneOrMorePath: "+", SH.zeroOrOnePath: "?"}


def _path_text(g: Graph, node: Node | None, nested: bool = False) -> str:
    """A SHACL path described in *g*, in SPARQL property-path syntax with our prefixes.

    A sequence path is a blank node (an rdf:list) whose label means nothing to a reader
    and changes from parse to parse: it reads ``schema:workPerformed/schema:citation``.
    A node that is not a path's structure is ``_short``'s text.
    """
    if not isinstance(node, BNode):
        return _short(node)
    text: str | None = None
    if (node, RDF.first, None) in g:
        text = "/".join(_path_text(g, item, True) for item in g.items(node))
    elif (inverse := g.value(node, SH.inversePath)) is not None:
        return "^" + _path_text(g, inverse, True)
    elif (alternatives := g.value(node, SH.alternativePath)) is not None:
        text = "|".join(_path_text(g, item, True) for item in g.items(alternatives))
    else:
        for pred, suffix in _UNARY_PATHS.items():
            if (inner := g.value(node, pred)) is not None:
                return _path_text(g, inner, True) + suffix
    if text is None:
        return _short(node)
    return f"({text})" if nested else text


_PATCH_LOCK = threading.Lock()


@contextmanager
def _prepared_queries() -> Iterator[None]:
    """Parse each SPARQL text once while pyshacl runs.

    pyshacl hands the text of a SPARQL-based constraint to ``Graph.query`` once per
    focus node, and rdflib parses it again every time (pyparsing: ~45 ms a call, 98% of
    validation time at 1k talks, hours at 100k). The parsed and translated query does
    not depend on the bindings, so it is cached by (text, base, namespaces) and
    evaluated with each node's bindings, exactly as ``prepareQuery`` is meant to be
    used. The results are the same; only the parsing is shared.
    """
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.processor import SPARQLProcessor

    original = SPARQLProcessor.query
    cache: dict[tuple[str, str | None, frozenset[tuple[str, str]]], object] = {}

    def query(self: SPARQLProcessor, strOrQuery: object, initBindings: object = None,  # noqa: N803
              initNs: object = None, base: str | None = None, DEBUG: bool = False) -> object:  # noqa: N803
        if isinstance(strOrQuery, str):
            ns = dict(initNs or {})  # type: ignore[call-overload]
            key = (strOrQuery, base, frozenset((str(k), str(v)) for k, v in ns.items()))
            prepared = cache.get(key)
            if prepared is None:
                prepared = cache[key] = translateQuery(parseQuery(strOrQuery), base, ns)
            strOrQuery = prepared
        return original(self, strOrQuery, initBindings, initNs, base, DEBUG)  # type: ignore[arg-type]

    with _PATCH_LOCK:
        SPARQLProcessor.query = query  # type: ignore[assignment]
        try:
            yield
        finally:
            SPARQLProcessor.query = original  # type: ignore[method-assign]


def validate(data: Graph, origins: dict[str, Location] | None = None, shapes: Graph | None = None) -> Report:
    """Validate *data* against the shapes; *origins* maps resource IRIs to their record's location."""
    from pyshacl import validate as shacl

    shapes = shapes if shapes is not None else load_shapes()
    with _prepared_queries():
        _conforms, results_graph, _text = shacl(data, shacl_graph=shapes, inference="none",
                                                advanced=True, allow_warnings=True)
    assert isinstance(results_graph, Graph)
    origins = origins or {}
    report = Report()
    for res in results_graph.subjects(SH.resultSeverity, None):
        focus = results_graph.value(res, SH.focusNode)
        severity = SEVERITY.get(results_graph.value(res, SH.resultSeverity), "info")  # type: ignore[call-overload]
        messages = sorted(str(m) for m in results_graph.objects(res, SH.resultMessage))
        path = _path_text(results_graph, results_graph.value(res, SH.resultPath))
        shape = _short(results_graph.value(res, SH.sourceShape))
        owner = str(focus).split("#", 1)[0]
        report.results.append(Result(severity, str(focus), path, messages[0] if messages else "does not conform",
                                     shape, origins.get(owner)))
    report.results.sort()
    return report
