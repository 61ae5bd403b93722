"""Conformance with schema.org release 30.0 (../shared/vocab): every class and property
we publish exists, each property is used on a subject of a type in its domain, and
each object fits its range."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest

from lod.publishing.build import BuildResult
from lod.model.vocab import SCHEMA

S = "http://schema.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DATATYPES = {S + t for t in ("Text", "URL", "Date", "DateTime", "Number", "Integer", "Boolean", "Duration", "Time",
                             "DataType", "Float")}


class Vocab:
    def __init__(self, path: Path) -> None:
        self.terms: set[str] = set()
        self.supers: dict[str, set[str]] = defaultdict(set)
        self.domain: dict[str, set[str]] = defaultdict(set)
        self.range: dict[str, set[str]] = defaultdict(set)
        self.superprops: dict[str, set[str]] = defaultdict(set)
        for q in ox.parse(path.read_bytes(), format=ox.RdfFormat.TURTLE):
            s, p, o = q.subject.value, q.predicate.value, q.object.value
            if not s.startswith(S):
                continue
            self.terms.add(s)
            if p == RDFS + "subClassOf":
                self.supers[s].add(o)
            elif p == S + "domainIncludes":
                self.domain[s].add(o)
            elif p == S + "rangeIncludes":
                self.range[s].add(o)
            elif p == RDFS + "subPropertyOf":
                self.superprops[s].add(o)

    def ancestors(self, cls: str) -> set[str]:
        out, todo = {cls}, [cls]
        while todo:
            for sup in self.supers.get(todo.pop(), ()):
                if sup not in out:
                    out.add(sup)
                    todo.append(sup)
        return out

    def domains(self, prop: str) -> set[str]:
        out = set(self.domain.get(prop, ()))
        for sup in self.superprops.get(prop, ()):
            out |= self.domains(sup)
        return out

    def ranges(self, prop: str) -> set[str]:
        out = set(self.range.get(prop, ()))
        for sup in self.superprops.get(prop, ()):
            out |= self.ranges(sup)
        return out


@pytest.fixture(scope="module")
def vocab(shared: Path) -> Vocab:
    return Vocab(shared / "vocab" / "schemaorg-30.0" / "schemaorg-current-http.ttl")


@pytest.fixture(scope="module")
def published(seed_site: BuildResult) -> list[ox.Triple]:
    return [q.triple for q in ox.parse((seed_site.out / "dump.nt").read_bytes(), format=ox.RdfFormat.N_TRIPLES)]


def test_schemaorg_every_term_of_our_namespace_exists(vocab: Vocab) -> None:
    ours = [name for name in SCHEMA.__annotations__]
    assert ours and [n for n in ours if S + n not in vocab.terms] == []


def test_schemaorg_every_published_term_exists(vocab: Vocab, published: list[ox.Triple]) -> None:
    used = {t.predicate.value for t in published if t.predicate.value.startswith(S)}
    used |= {t.object.value for t in published if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(S)}
    assert used and sorted(u for u in used if u not in vocab.terms) == []


def test_schemaorg_properties_fit_subject_and_object_types(vocab: Vocab, published: list[ox.Triple]) -> None:
    types: dict[str, set[str]] = defaultdict(set)
    for t in published:
        if t.predicate.value == RDF_TYPE and t.object.value.startswith(S):
            types[t.subject.value] |= vocab.ancestors(t.object.value)
    problems = []
    for t in published:
        p = t.predicate.value
        if not p.startswith(S):
            continue
        s = t.subject.value
        if not types[s] & vocab.domains(p):
            problems.append(f"{s} has no type in the domain of {p}")
        ranges = vocab.ranges(p)
        if isinstance(t.object, ox.Literal):
            if not ranges & DATATYPES and not any(vocab.ancestors(r) & DATATYPES for r in ranges):
                problems.append(f"{p} of {s} takes no literal")
        elif t.object.value.startswith(S) and t.object.value in vocab.terms:
            continue  # an enumeration member such as schema:EventScheduled
        elif not (types[t.object.value] & ranges) and S + "URL" not in ranges:
            problems.append(f"{p} of {s}: {t.object.value} has no type in the range")
    assert problems == []
