"""Map stage: a pure function from a resolved Dataset to its triples (or an rdflib Graph).

``to_triples`` is what a build uses: a deduplicated list of (s, p, o) rdflib terms, each
distinct term one shared object (an archive names the same person or class in thousands
of triples), built without rdflib's Graph, which is the slowest and largest part of the
map stage at archive scale. ``to_graph`` wraps it for library users. No files are touched here. Every IRI comes from ``lod.model.iri.Minter``; every term
from the closed namespaces in ``lod.model.vocab``. No blank nodes: parts of a resource
(an address, a reference, a recording) get a fragment IRI of their owner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from lod.model import kinds as K
from lod.model import records as R
from lod.errors import Location
from lod.model.iri import Minter
from lod.model.vocab import LOD as _LOD
from lod.model.vocab import PAV as _PAV
from lod.model.vocab import PREFIXES
from lod.model.vocab import PROV as _PROV
from lod.model.vocab import RDF as _RDF
from lod.model.vocab import SCHEMA as _SCHEMA
from lod.model.vocab import XSD as _XSD

Triple = tuple[Node, Node, Node]
Key = tuple[str, str]  # (record kind, id)
# Told, for each record mapped, the owners (resource IRIs) of the subjects of its triples
# and the other records its mapping looked up: observed, not declared (lod.publishing.readsets).
Note = Callable[[Key, set[str], set[Key]], None]


class _Resolved:
    """A closed namespace whose terms are looked up once (rdflib's lookup costs ~3 µs a call).

    Unknown names still raise AttributeError, from the namespace itself.
    """

    def __init__(self, ns: Any) -> None:
        self._ns = ns

    def __getattr__(self, name: str) -> URIRef:
        term: URIRef = getattr(self._ns, name)
        setattr(self, name, term)
        return term


SCHEMA, LOD, PAV, PROV, RDF, XSD = (_Resolved(ns) for ns in (_SCHEMA, _LOD, _PAV, _PROV, _RDF, _XSD))

# The terms of fields with fixed values, and each kind's classes: from the kind registry (lod.model.kinds).
ATTENDANCE = K.values_of("talk", "attendance")
STATUS = K.values_of("talk", "status")
TITLE_STATUS = K.values_of("talk", "title_status")
EVENT_CLASS = K.values_of("event", "kind")
VIRTUAL = K.values_of("place", "virtual")["true"]
CLASSES: dict[str, tuple[URIRef, ...]] = {k.name: tuple(K.term(c) for c in k.classes) for k in K.KINDS}


def orcid_iri(orcid: str) -> str:
    return f"https://orcid.org/{orcid}"


def ror_iri(ror: str) -> str:
    return f"https://ror.org/{ror}"


def wikidata_iri(qid: str) -> str:
    return f"http://www.wikidata.org/entity/{qid}"


def doi_iri(doi: str) -> str:
    return f"https://doi.org/{doi}"


class _Mapper:
    def __init__(self, ds: R.Dataset, minter: Minter) -> None:
        self.ds = ds
        self.m = minter
        self.out: dict[Triple, None] = {}  # deduplicated as a graph would be, first occurrence kept
        # Interned terms: one object per distinct IRI or literal.
        self._iris: dict[str, URIRef] = {}
        self._literals: dict[URIRef | None, dict[str, Literal]] = {}  # by datatype, then text
        self._refs: dict[tuple[str, str], URIRef] = {}
        self._topics: dict[str, URIRef] = {}
        self._reads: set[Key] | None = None  # while observing a record: what it looked up
        self._owners: dict[int, str] = {}  # id(subject term) -> its owner (terms are interned and kept)
        self._owner_texts: dict[str, str] = {}  # one string object per owner, shared by what keeps them

    def add(self, s: URIRef, p: URIRef, o: Node | None) -> None:
        if o is not None:
            self.out[(s, p, o)] = None

    def uri(self, value: str) -> URIRef:
        term = self._iris.get(value)
        if term is None:
            term = self._iris[value] = URIRef(value)
        return term

    def lit(self, value: str, datatype: URIRef | None = None) -> Literal:
        table = self._literals.get(datatype)
        if table is None:
            table = self._literals[datatype] = {}
        term = table.get(value)
        if term is None:
            term = table[value] = Literal(value, datatype=datatype)
        return term

    def text(self, s: URIRef, p: URIRef, value: str | None) -> None:
        if value:
            self.out[(s, p, self.lit(value))] = None

    def texts(self, s: URIRef, p: URIRef, values: Iterable[str]) -> None:
        for v in values:
            self.out[(s, p, self.lit(v))] = None

    def iri(self, s: URIRef, p: URIRef, value: str | None) -> None:
        if value:
            self.out[(s, p, self.uri(value))] = None

    def ref(self, kind: str, rid: str) -> URIRef:
        term = self._refs.get((kind, rid))
        if term is None:
            term = self._refs[(kind, rid)] = self.uri(self.m.resource(kind, rid))
        return term

    def part(self, owner: URIRef, fragment: str) -> URIRef:
        return self.uri(self.m.part(owner, fragment))

    def topic(self, label: str) -> URIRef:
        term = self._topics.get(label)
        if term is None:
            term = self._topics[label] = self.uri(self.m.topic(label))
        return term

    def agent(self, rid: str) -> URIRef:
        if self._reads is not None:  # a person id or else an organisation's: the person table is read
            self._reads.add(("person", rid))
        return self.ref("person", rid) if rid in self.ds.people else self.ref("organization", rid)

    def typed(self, s: URIRef, kind: str) -> None:
        """*s* is a resource of *kind*: its classes, as the kind registry gives them."""
        for cls in CLASSES[kind]:
            self.out[(s, RDF.type, cls)] = None

    def common(self, s: URIRef, rec: R.Record) -> None:
        for src in rec.sources:
            self.add(s, PROV.wasDerivedFrom, self.ref("source", src))

    def address(self, owner: URIRef, addr: R.Address | None) -> None:
        if addr is None:
            return
        a = self.part(owner, "address")
        self.add(owner, SCHEMA.address, a)
        self.add(a, RDF.type, SCHEMA.PostalAddress)
        self.text(a, SCHEMA.streetAddress, addr.street)
        self.text(a, SCHEMA.addressLocality, addr.locality)
        self.text(a, SCHEMA.addressRegion, addr.region)
        self.text(a, SCHEMA.postalCode, addr.postal_code)
        self.text(a, SCHEMA.addressCountry, addr.country)

    def when(self, s: URIRef, p: URIRef, w: R.When | None) -> None:
        if w is not None:
            self.add(s, p, self.lit(w.lexical, XSD.date if w.is_date else XSD.dateTime))

    # ------------------------------------------------------------ records
    def source(self, rec: R.Source) -> None:
        s = self.ref("source", rec.id)
        self.typed(s, "source")
        self.text(s, SCHEMA.name, rec.title or rec.document)
        self.text(s, LOD.documentName, rec.document)
        self.iri(s, SCHEMA.url, rec.url)
        self.iri(s, PAV.retrievedFrom, rec.url)
        self.add(s, PAV.retrievedOn, self.lit(rec.taken, XSD.date))

    def identified(self, s: URIRef, rec: R.Identified) -> None:
        self.common(s, rec)
        self.texts(s, SCHEMA.alternateName, rec.also_known_as)
        self.iri(s, SCHEMA.url, rec.homepage)
        if rec.wikidata:
            self.iri(s, SCHEMA.sameAs, wikidata_iri(rec.wikidata))
        for same in rec.same_as:
            self.iri(s, SCHEMA.sameAs, same)
        for system, value in sorted(rec.ids.items()):
            self.text(s, SCHEMA.identifier, f"{system}:{value}")

    def person(self, rec: R.Person) -> None:
        s = self.ref("person", rec.id)
        self.typed(s, "person")
        self.identified(s, rec)
        self.text(s, SCHEMA.name, rec.display_name)
        self.text(s, SCHEMA.givenName, rec.given_name)
        self.text(s, SCHEMA.familyName, rec.family_name)
        self.text(s, SCHEMA.honorificPrefix, rec.honorific)
        self.text(s, SCHEMA.jobTitle, rec.job_title)
        for org in rec.affiliations:
            self.add(s, SCHEMA.affiliation, self.ref("organization", org))
        if rec.orcid:
            self.iri(s, SCHEMA.sameAs, orcid_iri(rec.orcid))

    def organization(self, rec: R.Organization) -> None:
        s = self.ref("organization", rec.id)
        self.typed(s, "organization")
        self.identified(s, rec)
        self.text(s, SCHEMA.name, rec.name)
        if rec.parent:
            parent = self.ref("organization", rec.parent)
            self.add(s, SCHEMA.parentOrganization, parent)
            self.add(parent, SCHEMA.subOrganization, s)
        if rec.ror:
            self.iri(s, SCHEMA.sameAs, ror_iri(rec.ror))
        self.address(s, rec.address)

    def place(self, rec: R.Place) -> None:
        s = self.ref("place", rec.id)
        if rec.virtual:
            self.add(s, RDF.type, VIRTUAL)
        else:
            self.typed(s, "place")
        self.common(s, rec)
        self.text(s, SCHEMA.name, rec.name)
        self.text(s, SCHEMA.identifier, rec.code)
        self.iri(s, SCHEMA.url, rec.url)
        self.text(s, LOD.timeZone, rec.timezone)
        if rec.contained_in:
            outer = self.ref("place", rec.contained_in)
            self.add(s, SCHEMA.containedInPlace, outer)
            self.add(outer, SCHEMA.containsPlace, s)
        self.address(s, rec.address)

    def scheduled(self, s: URIRef, rec: R.Scheduled) -> None:
        """Fields shared by talks, sessions, events and series."""
        self.common(s, rec)
        self.text(s, SCHEMA.description, rec.description)
        self.when(s, SCHEMA.startDate, rec.start_at)
        self.when(s, SCHEMA.endDate, rec.end_at)
        if rec.duration_iso:
            self.add(s, SCHEMA.duration, self.lit(rec.duration_iso, XSD.duration))
        zone = rec.start_at.zone if rec.start_at else rec.timezone
        self.text(s, LOD.timeZone, zone)
        if rec.attendance:
            self.add(s, SCHEMA.eventAttendanceMode, ATTENDANCE[rec.attendance])
        if rec.venue:
            self.add(s, SCHEMA.location, self.ref("place", rec.venue))
        if rec.online:
            self.add(s, SCHEMA.location, self.ref("place", rec.online))
        self.text(s, SCHEMA.inLanguage, rec.language)
        self.texts(s, SCHEMA.keywords, rec.keywords)
        for org in rec.organizers:
            self.add(s, SCHEMA.organizer, self.agent(org))
        self.iri(s, SCHEMA.url, rec.url)
        if rec.parent:
            parent = self.ref(*rec.parent)
            self.add(s, SCHEMA.superEvent, parent)
            self.add(parent, SCHEMA.subEvent, s)

    def gathering(self, s: URIRef, rec: R.Gathering) -> None:
        self.scheduled(s, rec)
        self.text(s, SCHEMA.name, rec.name)
        self.texts(s, SCHEMA.alternateName, rec.also_known_as)
        for person in rec.contacts:
            self.add(s, LOD.contact, self.ref("person", person))
        if rec.capacity is not None:
            self.add(s, SCHEMA.maximumAttendeeCapacity, Literal(rec.capacity))
        if rec.free is not None:
            self.add(s, SCHEMA.isAccessibleForFree, Literal(rec.free))
        if rec.free or rec.price is not None or rec.registration is not None:
            offer = self.part(s, "offer")
            self.add(s, SCHEMA.offers, offer)
            self.add(offer, RDF.type, SCHEMA.Offer)
            if rec.price is not None or rec.free:
                self.add(offer, SCHEMA.price, Literal(rec.price if rec.price is not None else Decimal(0)))
            self.text(offer, SCHEMA.priceCurrency, rec.currency)
            if rec.registration is not None:
                self.iri(offer, SCHEMA.url, rec.registration.url)
                self.text(offer, SCHEMA.description, rec.registration.note)

    def series(self, rec: R.Series) -> None:
        s = self.ref("series", rec.id)
        self.typed(s, "series")
        self.gathering(s, rec)

    def event(self, rec: R.Event) -> None:
        s = self.ref("event", rec.id)
        self.typed(s, "event")
        if rec.kind:
            self.add(s, RDF.type, EVENT_CLASS[rec.kind])
        self.gathering(s, rec)
        if rec.series and rec.parent is None:
            series = self.ref("series", rec.series)
            self.add(s, SCHEMA.superEvent, series)
            self.add(series, SCHEMA.subEvent, s)

    def session(self, rec: R.Session) -> None:
        s = self.ref("session", rec.id)
        self.typed(s, "session")
        self.scheduled(s, rec)
        self.text(s, SCHEMA.name, rec.title)

    def talk(self, rec: R.Talk) -> None:
        s = self.ref("talk", rec.id)
        self.typed(s, "talk")
        self.scheduled(s, rec)
        self.text(s, SCHEMA.name, rec.title)
        if rec.title_status:
            self.add(s, LOD.titleStatus, TITLE_STATUS[rec.title_status])
        self.text(s, SCHEMA.description, rec.abstract)
        self.add(s, SCHEMA.eventStatus, STATUS[rec.status])
        self.when(s, SCHEMA.previousStartDate, rec.previous_start_at)
        for p in rec.speakers:
            self.add(s, SCHEMA.performer, self.ref("person", p))
        for p in rec.coauthors:
            self.add(s, SCHEMA.contributor, self.ref("person", p))
        for topic in rec.topics:
            t = self.topic(topic)
            self.add(s, SCHEMA.about, t)
            self.typed(t, "topic")
            self.text(t, SCHEMA.name, topic)
            self.common(t, rec)
        for system, value in sorted(rec.ids.items()):
            self.text(s, SCHEMA.identifier, f"{system}:{value}")
        for i, ref in enumerate(rec.references, 1):
            self.reference(s, f"ref-{i}", ref)
        if rec.recording is not None:
            r = self.part(s, "recording")
            self.add(s, SCHEMA.recordedIn, r)
            self.add(r, RDF.type, SCHEMA.MediaObject)
            self.iri(r, SCHEMA.url, rec.recording.url)
        if rec.slides is not None:
            d = self.part(s, "slides")
            self.add(s, SCHEMA.workFeatured, d)
            self.add(d, RDF.type, SCHEMA.PresentationDigitalDocument)
            self.iri(d, SCHEMA.url, rec.slides.url)

    def reference(self, talk: URIRef, frag: str, ref: R.Reference) -> None:
        # schema:citation belongs to creative works, not events: the references hang off
        # the work the talk presents.
        work = self.part(talk, "presentation")
        self.add(talk, SCHEMA.workPerformed, work)
        self.add(work, RDF.type, SCHEMA.CreativeWork)
        a = self.part(talk, frag)
        self.add(work, SCHEMA.citation, a)
        self.add(a, RDF.type, SCHEMA.ScholarlyArticle)
        self.text(a, SCHEMA.name, ref.title)
        for person in ref.authors:
            self.add(a, SCHEMA.author, self.ref("person", person))
        self.text(a, SCHEMA.pagination, ref.pages)
        if ref.year:
            self.add(a, SCHEMA.datePublished, Literal(ref.year, datatype=XSD.gYear))
        if ref.doi:
            self.iri(a, SCHEMA.sameAs, doi_iri(ref.doi))
        self.iri(a, SCHEMA.url, ref.url)
        # schema.org's own pattern: article → issue → volume → periodical.
        container = a
        for level, cls, prop, value in (("issue", SCHEMA.PublicationIssue, SCHEMA.issueNumber, ref.issue),
                                        ("volume", SCHEMA.PublicationVolume, SCHEMA.volumeNumber, ref.volume),
                                        ("journal", SCHEMA.Periodical, SCHEMA.name, ref.journal)):
            if value:
                node = self.part(talk, f"{frag}-{level}")
                self.add(container, SCHEMA.isPartOf, node)
                self.add(node, RDF.type, cls)
                self.text(node, prop, value)
                container = node

    def record(self, kind: str, rec: R.Record) -> None:
        """Map one record (any kind) into ``out``."""
        self.method(kind)(rec)

    def method(self, kind: str) -> Any:
        """The method that maps a record of *kind* (a method per kind of the registry: tests/test_kinds.py)."""
        if kind not in K.TABLES:
            raise KeyError(f"not a kind of record: {kind!r}")
        return getattr(self, kind)

    def observed(self, kind: str, rec: R.Record, method: Any, note: Note) -> None:
        """Map *rec* into ``out``, telling *note* the owners of its triples' subjects and what it read."""
        total, self.out = self.out, {}
        reads: set[Key] = set()
        self._reads = reads
        try:
            method(rec)
        finally:
            mine, self.out, self._reads = self.out, total, None
        total.update(mine)  # a triple already there keeps its place: the order of an unobserved run
        known, texts, owner = self._owners, self._owner_texts, self.m.owner
        owners: set[str] = set()
        last: Node | None = None
        for s, _p, _o in mine:
            if s is last:  # a subject's triples mostly come together
                continue
            last = s
            found = known.get(id(s))
            if found is None:
                text = owner(str(s))
                found = known[id(s)] = texts.setdefault(text, text)
            owners.add(found)
        note((kind, rec.id), owners, reads)

    def run(self, advance: Callable[[int], None] | None = None, note: Note | None = None) -> list[Triple]:
        for k in K.RECORD_KINDS:  # in the registry's order, as Dataset.all_records
            method = self.method(k.name)
            table = self.ds.table(k.name)
            if note is None:
                for rec in table.values():
                    method(rec)
            else:
                for rec in table.values():
                    self.observed(k.name, rec, method, note)
            if advance is not None:
                advance(len(table))
        # Equal triples share their interned terms: deduplication is mostly identity checks.
        out, self.out = list(self.out), {}
        return out


def record_triples(dataset: R.Dataset, minter: Minter, records: Iterable[tuple[str, R.Record]],
                   note: Note | None = None, advance: Callable[[int], None] | None = None) -> list[Triple]:
    """The triples these records of *dataset* map to, deduplicated: the part of ``to_triples``
    they make (*advance*, if given, is told of each record). Mapping is per record (an incremental build re-maps only what changed); what a
    record's mapping reads of the rest of the dataset (whether an organiser id names a person)
    and the owners its triples fall in are told to *note*, if given."""
    mapper = _Mapper(dataset, minter)
    for kind, rec in records:
        if note is None:
            mapper.record(kind, rec)
        else:
            mapper.observed(kind, rec, mapper.method(kind), note)
        if advance is not None:
            advance(1)
    return list(mapper.out)


def to_triples(dataset: R.Dataset, minter: Minter, advance: Callable[[int], None] | None = None,
               note: Note | None = None) -> list[Triple]:
    """The schema.org triples of a resolved dataset, deduplicated, in mapping order.

    The same set of triples as ``to_graph``; each distinct IRI or string literal is one
    shared term object. *advance*, if given, is told how many records were mapped, a kind at a time;
    *note*, if given, what each record's mapping was seen to do (``_Mapper.observed``).
    """
    return _Mapper(dataset, minter).run(advance, note)


def graph_of(triples: Iterable[Triple]) -> Graph:
    """An rdflib Graph holding *triples*, with the published prefixes bound."""
    g = Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns, override=True, replace=True)
    for t in triples:
        g.add(t)
    return g


def to_graph(dataset: R.Dataset, minter: Minter) -> Graph:
    """The schema.org graph of a resolved dataset (``to_triples`` in an rdflib Graph)."""
    return graph_of(to_triples(dataset, minter))


def origins(dataset: R.Dataset, minter: Minter) -> dict[str, Location]:
    """Where each resource's record was written, keyed by resource IRI."""
    out: dict[str, Location] = {}
    for kind, rec in dataset.all_records():
        out[str(minter.resource(kind, rec.id))] = rec.loc
    return out
