"""Validate stage: SHACL over the mapped graph, with results traced to source records.

pyshacl runs on rdflib's own in-memory graph (on an oxrdflib store it is quadratic).
Violations stop a build; warnings are search-engine recommendations that the data
cannot always meet, and are reported but never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rdflib import Graph, Namespace, URIRef
from rdflib.term import Node

from .errors import Location
from .vocab import PREFIXES

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


def validate(data: Graph, origins: dict[str, Location] | None = None, shapes: Graph | None = None) -> Report:
    """Validate *data* against the shapes; *origins* maps resource IRIs to their record's location."""
    from pyshacl import validate as shacl

    shapes = shapes if shapes is not None else load_shapes()
    _conforms, results_graph, _text = shacl(data, shacl_graph=shapes, inference="none",
                                            advanced=True, allow_warnings=True)
    assert isinstance(results_graph, Graph)
    origins = origins or {}
    report = Report()
    for res in results_graph.subjects(SH.resultSeverity, None):
        focus = results_graph.value(res, SH.focusNode)
        severity = SEVERITY.get(results_graph.value(res, SH.resultSeverity), "info")  # type: ignore[call-overload]
        messages = sorted(str(m) for m in results_graph.objects(res, SH.resultMessage))
        path = _short(results_graph.value(res, SH.resultPath))
        shape = _short(results_graph.value(res, SH.sourceShape))
        owner = str(focus).split("#", 1)[0]
        report.results.append(Result(severity, str(focus), path, messages[0] if messages else "does not conform",
                                     shape, origins.get(owner)))
    report.results.sort()
    return report
