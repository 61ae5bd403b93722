"""A native SHACL checker compiled from our shapes, whose report equals pyshacl's.

pyshacl (``lod.validation.report.validate``) is the reference, but it costs ~15 ms per talk: it
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

Modules, one per stage: ``compile`` (shapes → ``_Shape``/``_Constraint``), ``sparql`` (queries
and FILTER expressions), ``run`` (``_Run``: indexes and evaluation), ``values`` (the per-value
constraint components); ``_common`` holds what they share.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterable

from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from lod.errors import Location
from lod.validation.report import SH, Report, load_shapes
from lod.validation.shacl._common import _SUPPORTED, _SUPPORTED_TYPES, UnsupportedShapes, _unsupported
from lod.validation.shacl.compile import _Compiler, _Top
from lod.validation.shacl.run import _Run
from lod.validation.shacl.sparql import _Target

__all__ = ["Checker", "UnsupportedShapes", "check", "compile_shapes", "shapes_compiled"]


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
        """The report of the triples: equal to ``lod.validation.report.validate`` on a Graph of them.

        *only* limits the focus nodes to those owned by these resource IRIs (the focus IRI
        before ``#``), for an incremental check; the data must still hold what they point to.
        """
        gc_was_on = gc.isenabled()
        gc.disable()  # millions of new objects and no cycles: the cyclic collector would only cost time
        try:
            run = _Run(self, triples, origins or {}, only)
            try:
                return run.report()
            finally:
                # Its tables hold its own bound methods: a cycle only the collector frees, and a
                # build freezes what is left after validation (35 MB of indexes at 10k talks).
                vars(run).clear()
        finally:
            if gc_was_on:
                gc.enable()


@functools.cache
def _packaged_checker() -> Checker:
    return Checker()


def shapes_compiled() -> bool:
    """Whether this process has compiled the packaged shapes already (``compile_shapes``)."""
    return _packaged_checker.cache_info().currsize > 0


def compile_shapes(shapes: Graph | None = None) -> Checker:
    """Compile *shapes* (default: the packaged shapes, compiled once per process)."""
    return _packaged_checker() if shapes is None else Checker(shapes)


def check(triples: Iterable[tuple[Node, Node, Node]], origins: dict[str, Location] | None = None,
          shapes: Graph | None = None, only: set[str] | None = None) -> Report:
    """Validate *triples* (an rdflib Graph or any iterable of rdflib-term triples) natively.

    The report's results equal ``lod.validation.report.validate(graph_of_the_triples, origins, shapes)``'s
    when both get the same shapes Graph: like pyshacl, a result names a blank-node shape by its
    blank node label in that graph (a path reads in SPARQL syntax, e.g. shape:Talk-citation's
    ``schema:workPerformed/schema:citation``, in both). *only* keeps the
    focus nodes owned by those resource IRIs. Raises UnsupportedShapes if the shapes use SHACL
    this module does not implement.
    """
    return compile_shapes(shapes).check(triples, origins, only)
