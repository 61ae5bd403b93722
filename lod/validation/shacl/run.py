"""Evaluation stage: the data indexed once, then every compiled shape evaluated column-wise."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from lod.errors import Location
from lod.validation.report import Report, Result, _short
from lod.validation.shacl._common import _key, _term
from lod.validation.shacl.compile import _Constraint, _Shape, _Top
from lod.validation.shacl.sparql import _Query
from lod.validation.shacl.values import _as_string, _datatype_fn, _min_inclusive_ok

if TYPE_CHECKING:
    from lod.validation.shacl import Checker

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
        self.results.append(Result(shape.severity, text, _short(path) if path is not None else shape.path_text,
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
