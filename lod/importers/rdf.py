"""Import another archive's Turtle, N-Triples, RDF/XML or JSON-LD in schema.org terms.

The inverse of ``lod.mapping.triples``: every resource becomes a record of the kind its types
say (lod:Talk, schema:EventSeries, schema:Person …), its id the last segment (or the
fragment) of its IRI. ``https://schema.org/`` terms are read as ``http://schema.org/``.
Beyond our own vocabulary it reads what other archives write: schema.org's Event
subtypes (MusicEvent, EducationEvent …), ``foaf:Person`` and ``foaf:Organization``,
names from ``schema:name``, ``rdfs:label``, ``foaf:name`` or ``dc:title`` (with language
tags, English preferred, then untagged text), descriptions from ``dc:description`` and
``rdfs:comment``, untyped resources named as performers (people) or affiliations
(organisations), and ``schema:subEvent`` as well as ``schema:superEvent``. An event that
has sub-events and is itself one (a track) is not a record: its talks are parts of the
outer event, with the track's name as a topic. Every property and type not read is
counted in the import's summary.

Our own dump imported into an empty data folder builds an isomorphic graph again: records
keep the archive's ``prov:wasDerivedFrom`` sources, and times are written back as local
time plus the published zone (or offset). A JSON-LD file whose ``@context`` is a URL is
read with the context file of that name beside it; nothing is fetched from the network.

Reading the syntax is ``rdfsyntax``'s; deciding what each resource is, ``rdfgraph``'s; this
module writes the records.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from rdflib import Literal, URIRef
from rdflib.term import Node

from lod.mapping.triples import ATTENDANCE, EVENT_CLASS, STATUS, TITLE_STATUS
from lod.loading.resolve import parse_duration
from lod.model.vocab import LOD, OWL, PAV, RDF, RDFS, SCHEMA
from lod.importers.common import Parsed, Rec, fail, honorific, iso_minutes, person
from lod.importers.rdfgraph import (DESCRIPTION, FOAF, GAVE, ICAL, ICALTZD, LOCATION, NAME, SPEAKER, SWC, SWC_EVENTS, SWRC, Reader, S,
                       unread)
from lod.importers.rdfswc import address, calendar_times, organizers, related_documents
from lod.importers.rdfswc import write_time as _time
from lod.importers.rdfsyntax import read_graph
from lod.importers.text import html_to_text

def _set(rec: Rec, key: str, value: Any) -> None:
    if value not in (None, [], {}, ""):
        rec[key] = value


def _address(r: Reader, s: Node, rec: Rec) -> None:
    a = r.one(s, SCHEMA.address)
    if a is None:
        _set(rec, "address", address(r, s))
        return
    addr: Rec = {}
    for key, p in (("street", SCHEMA.streetAddress), ("locality", SCHEMA.addressLocality),
                   ("region", SCHEMA.addressRegion), ("postal_code", SCHEMA.postalCode),
                   ("country", SCHEMA.addressCountry)):
        _set(addr, key, r.text(a, p))
    _set(rec, "address", addr)


def _web(r: Reader, value: str | None) -> str | None:
    """*value*, unless it is a file: IRI: RDF/XML's relative reference ("www.example.org/~me", no
    http://) resolved against the file, not an address anyone can visit; counted."""
    if value is not None and value.startswith("file:"):
        r.dropped.append(("a relative IRI where a web address is expected",
                          "the source wrote no http(s):// address (read against the file's own name)"))
        return None
    return value


def _identified(r: Reader, s: Node, rec: Rec) -> None:
    _set(rec, "also_known_as", r.texts(s, SCHEMA.alternateName))
    _set(rec, "homepage", _web(r, r.text(s, (SCHEMA.url, FOAF.homepage))))
    same = []
    for iri in sorted({*r.texts(s, SCHEMA.sameAs), *(str(o) for o in r.objects(s, OWL.sameAs) if isinstance(o, URIRef))}):
        for prefix, key in (("https://orcid.org/", "orcid"), ("http://www.wikidata.org/entity/", "wikidata"),
                            ("https://ror.org/", "ror")):
            if iri.startswith(prefix) and (key != "orcid" or rec["_kind"] == "people") \
                    and (key != "ror" or rec["_kind"] == "organizations"):
                rec[key] = iri[len(prefix):]
                break
        else:
            same.append(iri)
    _set(rec, "same_as", same)
    ids = dict(x.split(":", 1) for x in r.texts(s, SCHEMA.identifier) if ":" in x)
    _set(rec, "ids", ids)


def _agrees(r: Reader, s: Node, duration: str) -> bool:
    """Whether *duration* is the time from the resource's startDate to its endDate."""
    try:
        start = datetime.fromisoformat(str(r.one(s, SCHEMA.startDate)).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(r.one(s, SCHEMA.endDate)).replace("Z", "+00:00"))
        return bool(end - start == parse_duration(duration))
    except (ValueError, TypeError):
        return True  # not comparable: the loader judges the duration


def _scheduled(r: Reader, s: Node, rec: Rec) -> None:
    zone = r.text(s, LOD.timeZone)
    _time(r.one(s, SCHEMA.startDate), rec, "start", zone)
    _time(r.one(s, SCHEMA.endDate), rec, "end", zone)
    if "start" not in rec:
        calendar_times(r, s, rec)
    if "start" not in rec and zone:
        rec["timezone"] = zone
    dur = r.text(s, SCHEMA.duration)
    hhmm = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", dur or "")
    _set(rec, "duration", iso_minutes(int(hhmm.group(1)) * 60 + int(hhmm.group(2))) if hhmm else dur)  # "00:20" too
    if rec.get("duration") and rec.get("end") and not _agrees(r, s, str(rec["duration"])):
        # the source contradicts itself: the start and end are the more precise statement
        del rec["duration"]
        r.dropped.append(("schema:duration that contradicts the start and end", "the start and end are kept"))
    mode = r.one(s, SCHEMA.eventAttendanceMode)
    _set(rec, "attendance", next((k for k, v in ATTENDANCE.items() if v == mode), None))
    places = {o for p in LOCATION for o in r.objects(s, p)} | {*r.objects(s, ICALTZD.location),
                                                               *r.subjects(SWC.isLocationFor, s)}
    for o in sorted(places, key=str):
        pid = r.ref(o)
        if pid and ("online" if (o, RDF.type, SCHEMA.VirtualLocation) in r.g else "venue") in rec:
            r.dropped.append(("a second schema:location", "a talk has one venue (the first, in IRI order, is kept)"))
        elif pid:
            rec["online" if (o, RDF.type, SCHEMA.VirtualLocation) in r.g else "venue"] = pid
    _set(rec, "language", r.text(s, SCHEMA.inLanguage))
    _set(rec, "keywords", r.texts(s, SCHEMA.keywords))
    _set(rec, "organizers", sorted({*r.refs(s, SCHEMA.organizer, ("people", "organizations")), *organizers(r, s)}))
    urls = (SCHEMA.url, ICAL.url, ICALTZD.url, FOAF.homepage)
    _set(rec, "url", _web(r, r.text(s, urls)))
    if rec.get("url") and all(str(o) == rec["url"] for p in urls for o in r.g.objects(s, p)):
        for p in urls:
            r.objects(s, p)  # the same page said twice (ical:url and foaf:homepage): read


def _gathering(r: Reader, s: Node, rec: Rec) -> None:
    _scheduled(r, s, rec)
    _set(rec, "name", r.text(s, NAME) or r.text(s, SWC.hasAcronym))
    _set(rec, "also_known_as", sorted({*r.texts(s, SCHEMA.alternateName), *r.texts(s, SWC.hasAcronym)} - {rec.get("name")}))
    _set(rec, "description", html_to_text(r.text(s, DESCRIPTION)))
    _set(rec, "contacts", r.refs(s, LOD.contact, ("people",)))
    cap = r.one(s, SCHEMA.maximumAttendeeCapacity)
    if cap is not None:
        rec["capacity"] = str(cap)
    free = r.one(s, SCHEMA.isAccessibleForFree)
    if isinstance(free, Literal):
        rec["free"] = bool(free.toPython())
    offer = r.one(s, SCHEMA.offers)
    if offer is not None:
        price = r.one(offer, SCHEMA.price)
        if isinstance(price, Literal) and not (rec.get("free") and Decimal(str(price)) == 0):
            rec["price"] = str(price)
        _set(rec, "currency", r.text(offer, SCHEMA.priceCurrency))
        reg: Rec = {}
        _set(reg, "url", r.text(offer, SCHEMA.url))
        _set(reg, "note", r.text(offer, SCHEMA.description))
        _set(rec, "registration", reg)


def _references(r: Reader, s: Node, rec: Rec) -> None:
    refs = []
    for work in r.objects(s, SCHEMA.workPerformed):
        for a in r.g.objects(work, SCHEMA.citation):
            ref: Rec = {}
            _set(ref, "title", r.text(a, SCHEMA.name))
            _set(ref, "authors", r.refs(a, SCHEMA.author, ("people",)))
            _set(ref, "pages", r.text(a, SCHEMA.pagination))
            _set(ref, "year", r.text(a, SCHEMA.datePublished))
            for iri in r.texts(a, SCHEMA.sameAs):
                if iri.startswith("https://doi.org/"):
                    ref["doi"] = iri[len("https://doi.org/"):]
            _set(ref, "url", r.text(a, SCHEMA.url))
            node = r.one(a, SCHEMA.isPartOf)
            while node is not None:
                types = set(r.g.objects(node, RDF.type))
                if SCHEMA.PublicationIssue in types:
                    _set(ref, "issue", r.text(node, SCHEMA.issueNumber))
                elif SCHEMA.PublicationVolume in types:
                    _set(ref, "volume", r.text(node, SCHEMA.volumeNumber))
                elif SCHEMA.Periodical in types:
                    _set(ref, "journal", r.text(node, SCHEMA.name))
                node = r.one(node, SCHEMA.isPartOf)
            m = re.search(r"ref-(\d+)$", str(a))
            refs.append((int(m.group(1)) if m else 0, str(a), ref))
    _set(rec, "references", [ref for _, _, ref in sorted(refs, key=lambda x: (x[0], x[1]))])


def _talk(r: Reader, s: Node, rec: Rec) -> None:
    _scheduled(r, s, rec)
    _set(rec, "title", r.text(s, NAME))
    ts = r.one(s, LOD.titleStatus)
    _set(rec, "title_status", next((k for k, v in TITLE_STATUS.items() if v == ts), None))
    _set(rec, "abstract", html_to_text(r.text(s, DESCRIPTION)))
    st = r.one(s, SCHEMA.eventStatus)
    status = next((k for k, v in STATUS.items() if v == st), None)
    if status and status != "scheduled":
        rec["status"] = status
    prev: Rec = {}
    _time(r.one(s, SCHEMA.previousStartDate), prev, "previous_start", None)
    _set(rec, "previous_start", prev.get("previous_start"))
    speakers = {x for p in SPEAKER for x in r.refs(s, p, ("people",))}
    speakers |= {r.ids["people"][x] for p in GAVE for x in r.subjects(p, s) if r.kind_of.get(x) == "people"}
    _set(rec, "speakers", sorted(speakers))
    _set(rec, "coauthors", r.refs(s, SCHEMA.contributor, ("people",)))
    _set(rec, "topics", sorted(t for t in (r.text(o, SCHEMA.name) for o in r.objects(s, SCHEMA.about)) if t))
    _set(rec, "ids", dict(x.split(":", 1) for x in r.texts(s, SCHEMA.identifier) if ":" in x))
    _references(r, s, rec)
    related_documents(r, s, rec)
    for key, p in (("recording", SCHEMA.recordedIn), ("slides", SCHEMA.workFeatured)):
        o = r.one(s, p)
        if o is not None:
            url = r.text(o, SCHEMA.url)
            rec[key] = {"url": url} if url else True


def parse(data: bytes, name: str, timezone: str | None = None) -> Parsed:
    """The records of an RDF archive in schema.org (or SWC) terms; *timezone* is that of floating times."""
    g = read_graph(data, name)
    r = Reader(g, name, timezone)
    r.classify()
    if not r.kind_of:
        raise fail(name, "the file holds no schema.org Event, Person, Organization or Place, and no Semantic Web "
                   "Conference ontology event or place.",
                   "check that it is a schema.org archive (http or https://schema.org/ terms) or uses "
                   "http://data.semanticweb.org/ns/swc/ontology#.")
    # the archive is named by the host most of its resources live on, not by its file name
    hosts = Counter(urlsplit(str(s)).netloc.lower() for s in r.kind_of
                    if isinstance(s, URIRef) and str(s).startswith(("http://", "https://")))
    parsed = Parsed(own_sources=True, key=min(hosts, key=lambda h: (-hosts[h], h)) if hosts else None)
    sessions: dict[str, list[Rec]] = {}
    for s, kind in sorted(r.kind_of.items(), key=lambda x: (x[1], r.ids.get(x[1], {}).get(x[0], str(x[0])))):
        if kind == "tracks" or s in r.alias:
            continue
        rec: Rec = {"id": r.ids[kind][s], "_kind": kind}
        if kind == "sources":
            doc = r.text(s, LOD.documentName)
            _set(rec, "document", doc)
            title = r.text(s, SCHEMA.name)
            if title and title != doc:
                rec["title"] = title
            _set(rec, "url", r.text(s, SCHEMA.url))
            _set(rec, "taken", r.text(s, PAV.retrievedOn))
        elif kind == "people":
            given = r.text(s, (SCHEMA.givenName, FOAF.givenName, FOAF.firstName))
            family = r.text(s, (SCHEMA.familyName, FOAF.familyName, FOAF.family_name, FOAF.lastName, FOAF.surname))
            _set(rec, "given_name", given)
            _set(rec, "family_name", family)
            _set(rec, "honorific", r.text(s, (S.honorificPrefix, FOAF.title)))
            full = r.text(s, (SCHEMA.name, FOAF.name, RDFS.label))
            if full and not given and not family and (SCHEMA.name, full) not in {(p, str(o)) for p, o in g.predicate_objects(s)}:
                # a name as another archive writes it ("Dr. Sebastian Tramp"): split, title kept apart
                split = person(full)
                rec.update({k: v for k, v in split.items() if k != "id"})
            elif full and full != " ".join(p for p in (given, family) if p):
                title, bare = honorific(full)  # "Dr. Ada Conductor" in schema:name
                rec["name"] = bare
                if title and "honorific" not in rec:
                    rec["honorific"] = title
            _identified(r, s, rec)
            _set(rec, "affiliations", sorted({*r.refs(s, SCHEMA.affiliation, ("organizations",)),
                                              *r.refs(s, SWRC.affiliation, ("organizations",))}))
            _set(rec, "job_title", r.text(s, SCHEMA.jobTitle))
        elif kind == "organizations":
            _set(rec, "name", r.text(s, NAME))
            _identified(r, s, rec)
            _set(rec, "parent", r.ref(r.one(s, SCHEMA.parentOrganization)))
            _address(r, s, rec)
        elif kind == "places":
            _set(rec, "name", " ".join(str(s).split()) if isinstance(s, Literal) else r.text(s, NAME))
            if (s, RDF.type, SCHEMA.VirtualLocation) in g:
                rec["virtual"] = True
            _set(rec, "code", r.text(s, SCHEMA.identifier))
            _set(rec, "contained_in", r.ref(r.one(s, (SCHEMA.containedInPlace, SWC.isPartOf))))  # SWDF: room in building
            # An online place's schema:url is its meeting link; a venue's page may also be its foaf:homepage.
            _set(rec, "url", _web(r, r.text(s, SCHEMA.url if rec.get("virtual") else (SCHEMA.url, FOAF.homepage))))
            _set(rec, "timezone", r.text(s, LOD.timeZone))
            _address(r, s, rec)
        elif kind in ("series", "events"):
            _gathering(r, s, rec)
            if kind == "events":
                types = set(g.objects(s, RDF.type))
                _set(rec, "kind", next((k for k, v in EVENT_CLASS.items() if v in types), None)
                     or next((SWC_EVENTS[t] for t in sorted(types, key=str) if isinstance(t, URIRef)
                              and SWC_EVENTS.get(t)), None))
                up, _ = r.parent(s)
                if up is not None and up in r.ids.get("series", {}).values():
                    rec["series"] = up
                elif up is not None:
                    r.dropped.append(("an event inside another event (a workshop of a conference)",
                                      "the record format does not nest events; each is a record of its own"))
        elif kind == "sessions":
            _scheduled(r, s, rec)
            _set(rec, "title", r.text(s, NAME))
            _set(rec, "description", r.text(s, DESCRIPTION))
            parent, tracks = r.parent(s)
            if parent is None or parent not in r.ids.get("events", {}).values():
                raise fail(f"{name}: <{s}>", "the session belongs to no event.",
                           "give it schema:superEvent (or swc:isSubEventOf) naming the conference or workshop.")
            if tracks:
                r.dropped.append(("a session's track", "a session has no topics (its talks get the track's name)"))
            sessions.setdefault(parent, []).append(rec)
        elif kind == "talks":
            _talk(r, s, rec)
            up, tracks = r.parent(s)
            _set(rec, "part_of", up)
            if tracks:
                rec["topics"] = list(dict.fromkeys([*rec.get("topics", []), *tracks]))
        r.common(s, rec)
        del rec["_kind"]
        if kind != "sessions":
            parsed.records[kind].append(rec)
        parsed.locate(kind, rec, f"{name}: <{s}>")  # sessions too: the loader's errors name them in the source
    unread(r, parsed)
    for ev in parsed.records["events"]:
        if ev["id"] in sessions:
            ev["sessions"] = sessions.pop(ev["id"])
    if sessions:
        raise fail(name, f"sessions of {sorted(sessions)} are not parts of an event.", "link them to an event.")
    return parsed
