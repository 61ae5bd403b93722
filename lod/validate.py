"""Validate stage: SHACL over the mapped graph, with results traced to source records.

pyshacl runs on rdflib's own in-memory graph (on an oxrdflib store it is quadratic).
Violations stop a build; warnings are search-engine recommendations that the data
cannot always meet, and are reported but never fatal.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.namespace import RDF
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


# ---------------------------------------------------------------- sharded, cached validation
#
# pyshacl over the whole graph is the reference (``validate`` above, used by
# ``lod validate`` and the tests). A build validates the same graph in shards of
# resources instead, so that the shards run on every core and a rebuild re-validates
# only the resources whose inputs changed.
#
# What a shape can see, in our shapes: a focus node's own triples; nodes reached by a
# sequence path (``schema:workPerformed/schema:citation``), which are fragments of the
# same resource; and the ``rdf:type`` of every value node (``sh:class``). There are no
# inverse paths, no sh:node / qualified shapes and no SPARQL reaching past ``$this``.
# So a resource is validated exactly as in the whole graph when its shard holds its
# description (the triples of it and its ``#fragments``) plus the types of every IRI it
# points to. A resource's results are then a function of those lines, which makes them
# cacheable under a hash of the lines. tests/test_validate_sharded.py checks that the
# report equals whole-graph pyshacl's.

CACHE_VERSION = 2  # 2: sequence paths read schema:a/schema:b, not a blank node label
SHARD_SIZE = 1500        # resources per shard: pyshacl's per-call setup is amortised
PARALLEL_FROM = 3000     # resources to validate before worker processes pay for themselves

_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


@dataclass
class Shard:
    """Resources validated together: their N-Triples lines plus the types of what they point to."""

    owners: list[str]
    text: str


def _lines_by_owner(data: Graph) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, set[str]]]:
    """(owner → its description's lines, node → its type lines, owner → IRIs it points to)."""
    from .serialize import nt_term

    groups: dict[str, list[str]] = {}
    types: dict[str, list[str]] = {}
    refs: dict[str, set[str]] = {}
    for s, p, o in data:
        subject = str(s)
        owner = subject.split("#", 1)[0]
        pred = nt_term(p)
        line = f"{nt_term(s)} {pred} {nt_term(o)} .\n"
        groups.setdefault(owner, []).append(line)
        if isinstance(o, URIRef):
            refs.setdefault(owner, set()).add(str(o))
        if pred == _RDF_TYPE:
            types.setdefault(subject, []).append(line)
    for lines in groups.values():
        lines.sort()
    for lines in types.values():
        lines.sort()
    return groups, types, refs


def _context_lines(owner: str, refs: set[str], types: dict[str, list[str]]) -> list[str]:
    """The type lines of the IRIs *owner* points to outside its own description."""
    out: list[str] = []
    for iri in sorted(refs):
        if iri.split("#", 1)[0] != owner:
            out.extend(types.get(iri, ()))
    return out


def shapes_fingerprint(path: Path | None = None) -> str:
    """What the cached results depend on besides the data: the shapes and the pyshacl version."""
    import hashlib

    import pyshacl

    digest = hashlib.sha256((path or shapes_path()).read_bytes())
    digest.update(str(getattr(pyshacl, "__version__", "")).encode())
    digest.update(str(CACHE_VERSION).encode())
    return digest.hexdigest()


Check = Callable[[Graph, "dict[str, Location] | None"], Report]
# A caller's own whole-graph check (tests put stricter shapes in this way), set for the
# duration of one validate_sharded call; worker processes inherit it through fork.
_CHECK: Check | None = None


def _validate_shard(text: str, owners: list[str]) -> list[tuple[str, ...]]:
    """Validate one shard; return the results whose focus belongs to *owners*, as plain tuples."""
    g = Graph()
    g.parse(data=text, format="nt")
    report = _CHECK(g, None) if _CHECK is not None else validate(g, None, _worker_shapes())
    mine = set(owners)
    return [(r.severity, r.focus, r.path, r.message, r.shape) for r in report.results
            if r.focus.split("#", 1)[0] in mine]


@functools.cache
def _worker_shapes() -> Graph:
    """The packaged shapes graph, parsed once per process (forked workers inherit it)."""
    return load_shapes()


def validate_sharded(data: Graph, origins: dict[str, Location] | None = None,
                     cache: dict[str, list[list[str]]] | None = None,
                     workers: int | None = None, check: Check | None = None,
                     ) -> tuple[Report, dict[str, list[list[str]]]]:
    """Validate *data* shard by shard, reusing *cache* ({key: results}); return the report and the new cache.

    The report equals ``validate(data, origins)``. Keys hash a resource's description and
    the types of what it points to; only resources with a new key are validated. *check*
    replaces ``validate`` on each shard; the cache (made with the packaged shapes) is
    then not reused.
    """
    global _CHECK
    custom = check is not None and check is not validate
    _CHECK = check if custom else None
    try:
        return _validate_sharded(data, origins or {}, {} if custom else (cache or {}), workers)
    finally:
        _CHECK = None


def _validate_sharded(data: Graph, origins: dict[str, Location], cache: dict[str, list[list[str]]],
                      workers: int | None) -> tuple[Report, dict[str, list[list[str]]]]:
    import hashlib

    groups, types, refs = _lines_by_owner(data)
    keys: dict[str, str] = {}
    context: dict[str, list[str]] = {}
    for owner, lines in groups.items():
        ctx = _context_lines(owner, refs.get(owner, set()), types)
        context[owner] = ctx
        keys[owner] = hashlib.sha256(("".join(lines) + "\x00" + "".join(ctx)).encode()).hexdigest()
    todo = sorted(o for o in groups if keys[o] not in cache)
    shards: list[Shard] = []
    for i in range(0, len(todo), SHARD_SIZE):
        owners = todo[i:i + SHARD_SIZE]
        inside = set(owners)
        chunk: set[str] = set()
        for o in owners:
            chunk.update(groups[o])
            chunk.update(line for line in context[o] if line.split(">", 1)[0][1:].split("#", 1)[0] not in inside)
        shards.append(Shard(owners, "".join(sorted(chunk))))
    found: dict[str, list[list[str]]] = {keys[o]: [] for o in todo}
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if len(todo) >= PARALLEL_FROM and n_workers > 1 and len(shards) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork: the workers inherit the imported modules; the shard text is all they are sent
        with ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("fork")) as pool:
            outputs = list(pool.map(_validate_shard, [s.text for s in shards], [s.owners for s in shards]))
    else:
        outputs = [_validate_shard(s.text, s.owners) for s in shards]
    for out in outputs:
        for r in out:
            found[keys[r[1].split("#", 1)[0]]].append(list(r))
    new_cache = {keys[o]: sorted(cache[keys[o]] if keys[o] in cache else found[keys[o]]) for o in sorted(groups)}
    report = Report()
    for owner in groups:
        for sev, focus, path, message, shape in new_cache[keys[owner]]:
            report.results.append(Result(sev, focus, path, message, shape, origins.get(focus.split("#", 1)[0])))
    report.results.sort()
    return report, new_cache
