"""Times, places, papers and roles as the Semantic Web Dog Food writes them, for ``lod import rdf``.

The SWDF's conference data (and that of archives modelled on it, such as XML London's)
uses the Semantic Web Conference ontology (swc:) for events, places, roles and documents,
the W3C RDF Calendar (ical:, or icaltzd:) for times, names and URLs, SWRC and Dublin Core
for papers, and vCard for addresses. ``rdfgraph`` decides which record each resource
becomes; this module reads the values that differ from schema.org's.

A time written without a zone is floating: it takes ``--timezone``, and without it the
import is refused, naming the file, the resource and the property, as the iCal importer does.
"""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from rdflib import Literal, URIRef
from rdflib.term import Node

from lod.model.vocab import OWL, RDF, RDFS
from lod.importers.common import Rec, fail
from lod.importers.rdfgraph import BIBO, DC, FOAF, ICAL, ICALTZD, NAME, SWC, SWRC, VCARD, VCARD3, Reader, S, _qname, _WHY

_LEX = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
# iCalendar's basic form (20130615T090000Z), which some RDF calendars keep
_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?$")
# icaltzd names the zone in the datatype: "2007-06-18T09:00:00"^^<http://www.w3.org/2002/12/cal/tzd/Europe/London#tz>
_TZD = re.compile(r"^http://www\.w3\.org/2002/12/cal/tzd/(.+)#tz$")
# "GMT+8" (SWDF's ical:tzid for Shanghai) is eight hours ahead of UTC, unlike IANA's Etc/GMT+8
_GMT = re.compile(r"^(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)
_CHAIR = re.compile(r"(Chair|Organi[sz]ing|Organi[sz]er)", re.I)


def write_time(lit: Node | None, rec: Rec, key: str, zone: str | None) -> None:
    """*lit* (an ISO 8601 date or date-time) as the record's local time *key*, with its zone or offset."""
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


def _calendar_value(r: Reader, s: Node, p: URIRef) -> tuple[str, str | None] | None:
    """The lexical form of an ical:dtstart/dtend (a literal, or a node with ical:dateTime or ical:date,
    as the SWDF writes it) and the zone its icaltzd datatype or its node's ical:tzid names."""
    o = r.one(s, p)
    tzid = None
    if o is not None and not isinstance(o, Literal):
        tzid = r.text(o, (ICAL.tzid, ICALTZD.tzid))
        o = r.one(o, (ICAL.dateTime, ICAL.date, ICALTZD.dateTime, ICALTZD.date))
    if not isinstance(o, Literal):
        return None
    text = str(o).strip()
    m = _BASIC.match(text)
    if m:
        y, mo, d, hh, mm, ss, z = m.groups()
        text = f"{y}-{mo}-{d}" + (f"T{hh}:{mm}:{ss or '00'}" + (z or "") if hh else "")
    tz = _TZD.match(str(o.datatype or ""))
    return text, tz.group(1) if tz else tzid


def calendar_times(r: Reader, s: Node, rec: Rec) -> None:
    """ical:dtstart and ical:dtend as the record's start and end; floating times take --timezone."""
    zone = rec.get("timezone")
    for key, props in (("start", (ICAL.dtstart, ICALTZD.dtstart)), ("end", (ICAL.dtend, ICALTZD.dtend))):
        found = next(((p, v) for p in props for v in [_calendar_value(r, s, p)] if v is not None), None)
        if found is None:
            continue
        prop, (text, tzd) = found
        if len(set(r.g.objects(s, prop))) > 1:
            r.dropped.append((f"a second {_qname(r.g, prop)}", "a record has one start and one end (the first, in "
                              "IRI order, is kept)"))
        where = f"{r.name}: <{s}> {_qname(r.g, prop)} \"{text}\""
        m = _LEX.match(text)
        off = None
        if tzd and tzd not in available_timezones():
            off = _GMT.match(tzd)
            if not off and r.zone:
                off, tzd = None, r.zone  # --timezone says what the file's own words for the zone mean
            elif not off:
                raise fail(where, f"the time zone {tzd!r} is neither an IANA zone name nor an offset such as GMT+8.",
                           "give ical:tzid an IANA name such as Asia/Shanghai, or import with --timezone ZONE.")
        if off:
            sign, hours, minutes = off.groups()
            if m and m.group(2) and not m.group(4):
                text += f"{sign}{int(hours):02d}:{minutes or '00'}"  # the offset written into the time
                m = _LEX.match(text)
            tzd = None
        if not m:
            raise fail(where, "is not an ISO 8601 date or date-time.",
                       "write it as 2013-06-15, 2013-06-15T09:00:00 or 2013-06-15T09:00:00+01:00.")
        if m.group(2) and not m.group(4) and not tzd and not (key == "end" and ("timezone" in rec or "offset" in rec)):
            zone = zone or r.zone
            if zone is None:
                raise fail(where, "the time has no time zone (a floating time).",
                           "import with --timezone ZONE (e.g. --timezone Europe/London) to say which zone the "
                           "archive's times are in, or write the time with its UTC offset (…Z or +01:00).")
        write_time(Literal(text), rec, key, tzd or zone)
    if "end" in rec and rec["end"] == rec.get("start"):
        # an end equal to the start is how the SWDF writes "no end known" (breaks, poster sessions)
        del rec["end"]
        r.dropped.append(("ical:dtend equal to ical:dtstart", "an end that is no later than the start says nothing; "
                          "the start is kept"))


def address(r: Reader, s: Node) -> Rec:
    """A vCard address: on the place itself (SWDF venues are also vcard:Address) or its vcard:adr."""
    node = r.one(s, (VCARD.adr, VCARD.hasAddress, VCARD3.ADR)) or s
    addr: Rec = {}
    for key, props in (("street", (VCARD["street-address"], VCARD3.Street)), ("locality", (VCARD.locality, VCARD3.Locality)),
                       ("region", (VCARD.region, VCARD3.Region)), ("postal_code", (VCARD["postal-code"], VCARD3.Pcode)),
                       ("country", (VCARD["country-name"], VCARD3.Country))):
        value = r.text(node, props)
        if value:
            addr[key] = value
    return addr


def related_documents(r: Reader, s: Node, rec: Rec) -> None:
    """A talk's papers (swc:hasRelatedDocument, or a paper's swc:relatedToEvent) as references, its slides as slides."""
    docs = set(r.objects(s, SWC.hasRelatedDocument)) | set(r.subjects(SWC.relatedToEvent, s))
    refs: list[Rec] = []
    abstracts: list[str] = []
    for doc in sorted(docs, key=str):
        types = set(r.g.objects(doc, RDF.type))
        home = r.text(doc, (FOAF.homepage, S.url))
        if SWC.SlideSet in types:
            url = home or (str(doc) if isinstance(doc, URIRef) and str(doc).startswith(("http://", "https://")) else None)
            if "slides" in rec:
                r.dropped.append(("a second swc:SlideSet of a talk", "a talk has one set of slides (the first is kept)"))
            else:
                rec["slides"] = {"url": url} if url else True
            _rest(r, doc, "slides")
            continue
        ref: Rec = {}
        title = r.text(doc, (DC.title, *NAME))
        if title:
            ref["title"] = title
        authors = sorted({a for p in (DC.creator, FOAF.maker, SWRC.author, S.author) for a in r.refs(doc, p, ("people",))})
        if authors:
            ref["authors"] = authors
        first, last = r.text(doc, BIBO.pageStart), r.text(doc, BIBO.pageEnd)
        pages = r.text(doc, (SWRC.pages, BIBO.pages)) or (f"{first}-{last}" if first and last else first)
        if pages:
            ref["pages"] = pages
        year = r.text(doc, (SWRC.year, DC.date))
        if year:
            ref["year"] = year[:4]
        ids = [str(o) for o in [*r.objects(doc, DC.identifier), *r.objects(doc, OWL.sameAs), *r.objects(doc, BIBO.doi)]]
        for iri in sorted(ids):
            doi = re.sub(r"^(doi:|https?://(dx\.)?doi\.org/)", "", iri.strip(), flags=re.I)
            if doi.startswith("10."):
                ref.setdefault("doi", doi)
        if home:
            ref["url"] = home
        abstract = r.text(doc, SWRC.abstract)
        if abstract:
            abstracts.append(abstract)
        if ref:
            refs.append(ref)
        _rest(r, doc, "paper")
    if refs:
        rec["references"] = [*rec.get("references", []), *refs]
    if len(abstracts) == 1 and len(refs) == 1 and "abstract" not in rec:
        # a paper's presentation: the paper's abstract is the talk's, said so in `inferred`
        rec["abstract"] = abstracts[0].strip()
        rec["inferred"] = {**rec.get("inferred", {}), "abstract": "the abstract of the paper the talk presents "
                           "(swc:hasRelatedDocument)"}
    elif abstracts:
        r.dropped.append(("paper swrc:abstract", "a talk with an abstract of its own, or several papers, keeps "
                          "only its own"))


def _rest(r: Reader, doc: Node, what: str) -> None:
    """Count what a document (read in place, no record of its own) says beyond what was read."""
    for p in sorted(set(r.g.predicates(doc, None)), key=str):
        if (doc, p) not in r.read and p not in (RDF.type, RDFS.label, SWC.relatedToEvent):
            r.dropped.append((f"{what} {_qname(r.g, p)}", _WHY.get(str(p), "the record format has no field for it")))


def organizers(r: Reader, s: Node) -> list[str]:
    """The people holding a chair's or an organiser's swc role at the event; other roles are counted."""
    out: set[str] = set()
    for role in sorted(set(r.objects(s, SWC.hasRole)) | set(r.subjects(SWC.isRoleAt, s)), key=str):
        types = sorted(_qname(r.g, t) for t in r.g.objects(role, RDF.type))
        held = set(r.objects(role, SWC.heldBy)) | set(r.g.subjects(SWC.holdsRole, role))
        if any(_CHAIR.search(t) for t in types):
            r.subjects(SWC.holdsRole, role)
            out.update(r.ids["people"][o] for o in held if r.kind_of.get(o) == "people")
        else:
            r.dropped.append((f"event role {', '.join(types) or _qname(r.g, role)}",
                              "the record format has no field for it (chairs and organisers become organizers)"))
    return sorted(out)
