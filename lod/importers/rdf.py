"""Import another archive's Turtle, N-Triples or JSON-LD in schema.org terms.

The inverse of ``lod.mapping``: every resource becomes a record of the kind its types
say (lod:Talk, schema:EventSeries, schema:Person …), its id the last segment of its IRI.
``https://schema.org/`` terms are read as ``http://schema.org/``. Our own dump imported
into an empty data folder builds an isomorphic graph again: records keep the archive's
``prov:wasDerivedFrom`` sources, and times are written back as local time plus the
published zone (or offset). A JSON-LD file whose ``@context`` is a URL is read with the
context file of that name beside it; nothing is fetched from the network.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from ..iri import SLUG_RE, slugify
from ..mapping import ATTENDANCE, EVENT_CLASS, STATUS, TITLE_STATUS
from ..vocab import LOD, PAV, PROV, RDF, SCHEMA
from .common import Parsed, Rec, fail

_FORMATS = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld", ".json": "json-ld", ".n3": "n3"}
_HTTPS = "https://schema.org/"
_LEX = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


def _graph(data: bytes, name: str) -> Graph:
    fmt = _FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise fail(name, "the file name does not say which RDF syntax it is.", "name it .ttl, .nt or .jsonld.")
    g = Graph()
    try:
        if fmt == "json-ld":
            doc = json.loads(data.decode("utf-8-sig"))
            doc = _local_contexts(doc, name)
            g.parse(data=json.dumps(doc), format="json-ld")
        else:
            g.parse(data=data.decode("utf-8-sig"), format=fmt)
    except UnicodeDecodeError:
        raise fail(name, "the file is not UTF-8.", "save it as UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{name}:{exc.lineno}:{exc.colno}", f"the JSON is broken: {exc.msg}.", "the file may be truncated.") from None
    except Exception as exc:  # rdflib raises many classes; its message holds the line
        raise fail(name, f"the {fmt} cannot be parsed: {' '.join(str(exc).split())[:300]}.",
                   "check the syntax near the place named; the file may be truncated.") from None
    out = Graph()
    for s, p, o in g:
        out.add((_http(s), _http(p), _http(o)))
    return out


def _local_contexts(doc: Any, name: str) -> Any:
    """Replace each remote @context by the file of that name beside the source."""
    if isinstance(doc, dict):
        return {k: (_context(v, name) if k == "@context" else _local_contexts(v, name)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_local_contexts(v, name) for v in doc]
    return doc


def _context(ctx: Any, name: str) -> Any:
    if isinstance(ctx, list):
        return [_context(c, name) for c in ctx]
    if isinstance(ctx, str):
        local = Path(name).parent / ctx.rstrip("/").rsplit("/", 1)[-1]
        if not local.is_file():
            raise fail(name, f"the JSON-LD context {ctx!r} is remote and is not fetched.",
                       f"save it as {local} beside the file, or inline it.")
        return json.loads(local.read_text(encoding="utf-8")).get("@context", {})
    return ctx


def _http(term: Node) -> Any:
    if isinstance(term, URIRef) and str(term).startswith(_HTTPS):
        return URIRef("http://schema.org/" + str(term)[len(_HTTPS):])
    return term


class _Reader:
    def __init__(self, g: Graph) -> None:
        self.g = g
        self.ids: dict[str, dict[Node, str]] = {}
        self.kind_of: dict[Node, str] = {}

    def one(self, s: Node, p: URIRef) -> Node | None:
        return next(iter(sorted(self.g.objects(s, p), key=str)), None)

    def text(self, s: Node, p: URIRef) -> str | None:
        o = self.one(s, p)
        return str(o) if o is not None else None

    def texts(self, s: Node, p: URIRef) -> list[str]:
        return sorted(str(o) for o in self.g.objects(s, p))

    def classify(self) -> None:
        for s in sorted(set(self.g.subjects(RDF.type, None)), key=str):
            if not isinstance(s, URIRef) or "#" in s:
                continue
            types = set(self.g.objects(s, RDF.type))
            kind = ("sources" if LOD.SourceDocument in types else
                    "people" if SCHEMA.Person in types else
                    "organizations" if SCHEMA.Organization in types else
                    "places" if types & {SCHEMA.Place, SCHEMA.VirtualLocation} else
                    "series" if types & {LOD.SeminarSeries, SCHEMA.EventSeries} else
                    "sessions" if LOD.Session in types else
                    "talks" if LOD.Talk in types or (SCHEMA.Event in types and self.one(s, SCHEMA.performer)
                                                    and not self.one(s, SCHEMA.subEvent)) else
                    "events" if SCHEMA.Event in types else None)
            if kind is None:
                continue
            seg = str(s).rstrip("/").rsplit("/", 1)[-1]
            rid = seg if SLUG_RE.match(seg) else slugify(self.text(s, SCHEMA.name) or seg)[:60].strip("-")
            used = set(self.ids.setdefault(kind, {}).values())
            base, n = rid, 2
            while rid in used:
                rid, n = f"{base}-{n}", n + 1
            self.ids[kind][s] = rid
            self.kind_of[s] = kind

    def ref(self, o: Node | None) -> str | None:
        if o is None:
            return None
        kind = self.kind_of.get(o)
        return self.ids[kind][o] if kind else None

    def refs(self, s: Node, p: URIRef) -> list[str]:
        return sorted(r for r in (self.ref(o) for o in self.g.objects(s, p)) if r)

    def common(self, s: Node, rec: Rec) -> Rec:
        srcs = self.refs(s, PROV.wasDerivedFrom)
        if srcs:
            rec["sources"] = srcs
        return rec


def _set(rec: Rec, key: str, value: Any) -> None:
    if value not in (None, [], {}, ""):
        rec[key] = value


def _time(lit: Node | None, rec: Rec, key: str, zone: str | None) -> None:
    if lit is None:
        return
    m = _LEX.match(str(lit))
    if not m:
        return
    day, clock, sec, off = m.groups()
    if clock is None:
        rec[key] = day
        return
    rec[key] = f"{day}T{clock}" + (f":{sec}" if sec and sec != "00" else "")
    if key == "start":
        if zone:
            rec["timezone"] = zone
        elif off:
            rec["offset"] = "+00:00" if off == "Z" else off


def _address(r: _Reader, s: Node, rec: Rec) -> None:
    a = r.one(s, SCHEMA.address)
    if a is None:
        return
    addr: Rec = {}
    for key, p in (("street", SCHEMA.streetAddress), ("locality", SCHEMA.addressLocality),
                   ("region", SCHEMA.addressRegion), ("postal_code", SCHEMA.postalCode),
                   ("country", SCHEMA.addressCountry)):
        _set(addr, key, r.text(a, p))
    _set(rec, "address", addr)


def _identified(r: _Reader, s: Node, rec: Rec) -> None:
    _set(rec, "also_known_as", r.texts(s, SCHEMA.alternateName))
    _set(rec, "homepage", r.text(s, SCHEMA.url))
    same = []
    for iri in r.texts(s, SCHEMA.sameAs):
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


def _scheduled(r: _Reader, s: Node, rec: Rec) -> None:
    zone = r.text(s, LOD.timeZone)
    _time(r.one(s, SCHEMA.startDate), rec, "start", zone)
    _time(r.one(s, SCHEMA.endDate), rec, "end", zone)
    if "start" not in rec and zone:
        rec["timezone"] = zone
    _set(rec, "duration", r.text(s, SCHEMA.duration))
    mode = r.one(s, SCHEMA.eventAttendanceMode)
    _set(rec, "attendance", next((k for k, v in ATTENDANCE.items() if v == mode), None))
    for o in r.g.objects(s, SCHEMA.location):
        pid = r.ref(o)
        if pid:
            rec["online" if (o, RDF.type, SCHEMA.VirtualLocation) in r.g else "venue"] = pid
    _set(rec, "language", r.text(s, SCHEMA.inLanguage))
    _set(rec, "keywords", r.texts(s, SCHEMA.keywords))
    _set(rec, "organizers", r.refs(s, SCHEMA.organizer))
    _set(rec, "url", r.text(s, SCHEMA.url))


def _gathering(r: _Reader, s: Node, rec: Rec) -> None:
    _scheduled(r, s, rec)
    _set(rec, "name", r.text(s, SCHEMA.name))
    _set(rec, "also_known_as", r.texts(s, SCHEMA.alternateName))
    _set(rec, "description", r.text(s, SCHEMA.description))
    _set(rec, "contacts", r.refs(s, LOD.contact))
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


def _references(r: _Reader, s: Node, rec: Rec) -> None:
    refs = []
    for work in r.g.objects(s, SCHEMA.workPerformed):
        for a in r.g.objects(work, SCHEMA.citation):
            ref: Rec = {}
            _set(ref, "title", r.text(a, SCHEMA.name))
            _set(ref, "authors", r.refs(a, SCHEMA.author))
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


def _talk(r: _Reader, s: Node, rec: Rec) -> None:
    _scheduled(r, s, rec)
    _set(rec, "title", r.text(s, SCHEMA.name))
    ts = r.one(s, LOD.titleStatus)
    _set(rec, "title_status", next((k for k, v in TITLE_STATUS.items() if v == ts), None))
    _set(rec, "abstract", r.text(s, SCHEMA.description))
    st = r.one(s, SCHEMA.eventStatus)
    status = next((k for k, v in STATUS.items() if v == st), None)
    if status and status != "scheduled":
        rec["status"] = status
    prev: Rec = {}
    _time(r.one(s, SCHEMA.previousStartDate), prev, "previous_start", None)
    _set(rec, "previous_start", prev.get("previous_start"))
    _set(rec, "speakers", r.refs(s, SCHEMA.performer))
    _set(rec, "coauthors", r.refs(s, SCHEMA.contributor))
    _set(rec, "topics", sorted(t for t in (r.text(o, SCHEMA.name) for o in r.g.objects(s, SCHEMA.about)) if t))
    _set(rec, "ids", dict(x.split(":", 1) for x in r.texts(s, SCHEMA.identifier) if ":" in x))
    _references(r, s, rec)
    for key, p in (("recording", SCHEMA.recordedIn), ("slides", SCHEMA.workFeatured)):
        o = r.one(s, p)
        if o is not None:
            url = r.text(o, SCHEMA.url)
            rec[key] = {"url": url} if url else True


def parse(data: bytes, name: str) -> Parsed:
    """The records of an RDF archive in schema.org terms."""
    g = _graph(data, name)
    r = _Reader(g)
    r.classify()
    if not r.kind_of:
        raise fail(name, "the file holds no schema.org Event, Person, Organization or Place.",
                   "check that it is a schema.org archive (http or https://schema.org/ terms).")
    parsed = Parsed(own_sources=True)
    sessions: dict[str, list[Rec]] = {}
    for s, kind in sorted(r.kind_of.items(), key=lambda x: (x[1], r.ids[x[1]][x[0]])):
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
            given, family = r.text(s, SCHEMA.givenName), r.text(s, SCHEMA.familyName)
            _set(rec, "given_name", given)
            _set(rec, "family_name", family)
            full = r.text(s, SCHEMA.name)
            if full and full != " ".join(p for p in (given, family) if p):
                rec["name"] = full
            _identified(r, s, rec)
            _set(rec, "affiliations", r.refs(s, SCHEMA.affiliation))
            _set(rec, "job_title", r.text(s, SCHEMA.jobTitle))
        elif kind == "organizations":
            _set(rec, "name", r.text(s, SCHEMA.name))
            _identified(r, s, rec)
            _set(rec, "parent", r.ref(r.one(s, SCHEMA.parentOrganization)))
            _address(r, s, rec)
        elif kind == "places":
            _set(rec, "name", r.text(s, SCHEMA.name))
            if (s, RDF.type, SCHEMA.VirtualLocation) in g:
                rec["virtual"] = True
            _set(rec, "code", r.text(s, SCHEMA.identifier))
            _set(rec, "contained_in", r.ref(r.one(s, SCHEMA.containedInPlace)))
            _set(rec, "url", r.text(s, SCHEMA.url))
            _set(rec, "timezone", r.text(s, LOD.timeZone))
            _address(r, s, rec)
        elif kind in ("series", "events"):
            _gathering(r, s, rec)
            if kind == "events":
                types = set(g.objects(s, RDF.type))
                _set(rec, "kind", next((k for k, v in EVENT_CLASS.items() if v in types), None))
                sup = r.one(s, SCHEMA.superEvent)
                if sup is not None and r.kind_of.get(sup) == "series":
                    rec["series"] = r.ref(sup)
        elif kind == "sessions":
            _scheduled(r, s, rec)
            _set(rec, "title", r.text(s, SCHEMA.name))
            _set(rec, "description", r.text(s, SCHEMA.description))
            parent = r.ref(r.one(s, SCHEMA.superEvent))
            if parent is None:
                raise fail(name, f"the session <{s}> belongs to no event.", "give it schema:superEvent.")
            sessions.setdefault(parent, []).append(rec)
        elif kind == "talks":
            _talk(r, s, rec)
            _set(rec, "part_of", r.ref(r.one(s, SCHEMA.superEvent)))
        r.common(s, rec)
        del rec["_kind"]
        if kind != "sessions":
            parsed.records[kind].append(rec)
    for ev in parsed.records["events"]:
        if ev["id"] in sessions:
            ev["sessions"] = sessions.pop(ev["id"])
    if sessions:
        raise fail(name, f"sessions of {sorted(sessions)} are not parts of an event.", "link them to an event.")
    return parsed
