"""The RDF graph as ``lod import rdf`` reads it: vocabularies, kinds of resources, their ids.

``Reader`` decides which record kind each resource is (by its types, or by how an untyped
one is used), mints its id (the IRI's last segment or fragment, else its name), picks one
value among several (English first), remembers which properties it read, and counts
afterwards what it did not (``unread``), so nothing is dropped without a word.
"""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from lod.model.iri import SLUG_RE, slugify
from lod.model.vocab import LOD, PROV, RDF, RDFS, SCHEMA
from lod.importers.common import Parsed, Rec, honorific

FOAF = Namespace("http://xmlns.com/foaf/0.1/")
DC = Namespace("http://purl.org/dc/elements/1.1/")
ORG = Namespace("http://www.w3.org/ns/org#")
S = Namespace("http://schema.org/")
# the Semantic Web Dog Food's vocabularies: the Semantic Web Conference ontology, the W3C RDF
# Calendar (and its icaltzd variant, whose datatypes name the zone), SWRC, vCard and WGS84
SWC = Namespace("http://data.semanticweb.org/ns/swc/ontology#")
XLSWC = Namespace("http://xmllondon.com/ns/swc/ontology#")  # XML London's SWC extension: talkGivenBy, gaveTalk
ICAL = Namespace("http://www.w3.org/2002/12/cal/ical#")
ICALTZD = Namespace("http://www.w3.org/2002/12/cal/icaltzd#")
SWRC = Namespace("http://swrc.ontoware.org/ontology#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
VCARD3 = Namespace("http://www.w3.org/2001/vcard-rdf/3.0#")
BIBO = Namespace("http://purl.org/ontology/bibo/")
# SWC's classes (the 2009 ontology's tree) by the record they become: conferences and
# workshops events; talks (and panels) talks; sessions, breaks, meals, openings and social
# events blocks of the programme, sessions; tracks a topic of their talks
SWC_EVENTS = {SWC.ConferenceEvent: "conference", SWC.WorkshopEvent: "workshop", SWC.TutorialEvent: None,
              SWC.AcademicEvent: None, SWC.OrganisedEvent: None}
SWC_TALKS = {SWC[n] for n in ("TalkEvent", "DemoPresentation", "IndustrialTalk", "KeynoteTalk", "PaperPresentation",
                              "PosterPresentation", "WelcomeTalk", "PanelEvent", "KeynoteEvent")}
SWC_SESSIONS = {SWC[n] for n in ("SessionEvent", "DemoSession", "PaperSession", "PosterSession", "NonAcademicEvent",
                                 "BreakEvent", "CoffeeBreak", "FreeTimeBreak", "MealBreak", "MealEvent",
                                 "ConferenceDinner", "ConferenceOpeningEvent", "ConferenceClosingEvent", "SocialEvent",
                                 "Excursion", "Reception")}
SWC_TRACKS = {SWC.TrackEvent, SWC.IndustrialTrack, SWC.ResearchTrack}
SWC_PLACES = {SWC[n] for n in ("Place", "ConferenceVenuePlace", "MeetingRoomPlace", "AccommodationPlace",
                               "CommunalPlace", "DrinkingPlace", "EatingPlace")}
# nesting: (the parent's property, the child's inverse)
UP = (S.superEvent, SWC.isSubEventOf, SWC.isPartOf)
DOWN = (S.subEvent, SWC.isSuperEventOf, SWC.hasPart)
# who gives a talk, said of the talk and of the person
SPEAKER = (S.performer, SWC.talkGivenBy, XLSWC.talkGivenBy, FOAF.maker, SWRC.author, DC.creator)
GAVE = (SWC.gaveTalk, XLSWC.gaveTalk, FOAF.made)
LOCATION = (S.location, SWC.hasLocation, ICAL.location)
# schema.org 30.0's subclasses of schema:Event (EventSeries is read as a series)
EVENT_TYPES = {S[n] for n in (
    "Event", "BusinessEvent", "ChildrensEvent", "ComedyEvent", "CourseInstance", "DanceEvent", "DeliveryEvent",
    "EducationEvent", "ExhibitionEvent", "Festival", "FoodEvent", "Hackathon", "LiteraryEvent", "MusicEvent",
    "PublicationEvent", "BroadcastEvent", "OnDemandEvent", "SaleEvent", "ScreeningEvent", "SocialEvent",
    "SportsEvent", "TheaterEvent", "VisualArtsEvent", "EventSeries")} | {LOD.Talk, LOD.Workshop, LOD.Conference}
# schema.org 30.0's common subclasses of schema:Organization
ORG_TYPES = {S[n] for n in (
    "Organization", "PerformingGroup", "MusicGroup", "TheaterGroup", "DanceGroup", "Corporation", "NGO",
    "EducationalOrganization", "CollegeOrUniversity", "ResearchOrganization", "GovernmentOrganization",
    "NewsMediaOrganization", "Consortium", "FundingScheme", "Project", "ResearchProject", "LocalBusiness",
    "LibrarySystem", "SportsOrganization", "MedicalOrganization", "WorkersUnion", "OnlineBusiness")} | {
    FOAF.Organization, ORG.Organization}
# and of schema:Place that venues call themselves
PLACE_TYPES = {S[n] for n in (
    "Place", "VirtualLocation", "EventVenue", "CivicStructure", "MusicVenue", "PerformingArtsTheater", "Library",
    "Museum", "MovieTheater", "StadiumOrArena", "Church", "Park", "LocalBusiness", "LandmarksOrHistoricalBuildings",
    "Accommodation", "Room", "MeetingRoom", "Hotel", "School", "CollegeOrUniversity", "Restaurant", "BarOrPub")}
NAME = (S.name, RDFS.label, FOAF.name, DC.title, ICAL.summary, ICALTZD.summary)
DESCRIPTION = (S.description, DC.description, RDFS.comment, ICAL.description, ICALTZD.description,
               Namespace("http://swrc.ontoware.org/ontology#").abstract)


def _short(p: Node) -> str:
    text = str(p)
    return "schema:" + text[len("http://schema.org/"):] if text.startswith("http://schema.org/") else f"<{text}>"


def _lang_rank(o: Node) -> tuple[int, str]:
    """Sort key of a value among several: English first, then untagged text, then other languages."""
    lang = (o.language or "").lower() if isinstance(o, Literal) else ""
    return (0 if lang == "en" or lang.startswith("en-") else 1 if not lang else 2, f"{lang} {o}")


class Reader:
    """Which record each resource of the graph is, and what of it was read."""

    def __init__(self, g: Graph, name: str = "", zone: str | None = None) -> None:
        self.g = g
        self.name = name  # the file, for located errors
        self.zone = zone  # --timezone: the zone of times written without one
        self.ids: dict[str, dict[Node, str]] = {}
        self.kind_of: dict[Node, str] = {}
        self.read: set[tuple[Node, Node]] = set()  # (subject, predicate) pairs read: the rest is counted
        self.tracks: dict[Node, str] = {}  # events inside events: their name, a topic of their talks
        self.nameless: set[Node] = set()  # people (organisations, places) with no name: not records
        self.unnamed: dict[str, int] = {}  # organisations and places with no name, by kind
        self.bnodes: dict[tuple[str, str], str] = {}  # (kind, what a blank node says) -> its id
        self.alias: set[Node] = set()  # blank nodes repeating another: no record of their own
        self.dropped: list[tuple[str, str]] = []  # values read and set aside: (what, why)

    def objects(self, s: Node, p: URIRef) -> list[Node]:
        self.read.add((s, p))
        return list(self.g.objects(s, p))

    def one(self, s: Node, p: URIRef | tuple[URIRef, ...]) -> Node | None:
        for prop in (p if isinstance(p, tuple) else (p,)):
            found = sorted(self.objects(s, prop), key=_lang_rank)
            if found:
                return found[0]
        return None

    def subjects(self, p: URIRef, o: Node) -> list[Node]:
        """What links to *o* by *p* (an inverse property); each link counts as read."""
        found = list(self.g.subjects(p, o))
        self.read.update((s, p) for s in found)
        return found

    def ups(self, s: Node) -> set[Node]:
        """The events *s* is part of, said either way (schema.org or SWC)."""
        return {o for p in UP for o in self.objects(s, p)} | {x for p in DOWN for x in self.subjects(p, s)}

    def text(self, s: Node, p: URIRef | tuple[URIRef, ...]) -> str | None:
        o = self.one(s, p)
        return " ".join(str(o).split()) if o is not None and p in (NAME, S.name) else str(o) if o is not None else None

    def texts(self, s: Node, p: URIRef) -> list[str]:
        return sorted(str(o) for o in self.objects(s, p))

    def _kind(self, s: Node, types: set[Node]) -> str | None:
        g = self.g
        if LOD.SourceDocument in types:
            return "sources"
        if types & {SCHEMA.Person, FOAF.Person}:
            return "people"
        if types & SWC_PLACES or types & PLACE_TYPES and (
                types & {S.Place, S.VirtualLocation} or s in set(g.objects(None, S.location))):
            return "places"  # a hotel or a university that is an event's location is a place
        if types & ORG_TYPES:
            return "organizations"
        if types & {LOD.SeminarSeries, SCHEMA.EventSeries}:
            return "series"
        if LOD.Session in types:
            return "sessions"
        if types & SWC_TALKS:
            return "talks"
        if types & SWC_SESSIONS:
            return "sessions"
        if types & SWC_TRACKS:
            return "tracks"
        if types & SWC_EVENTS.keys():
            return "events"
        if not types & EVENT_TYPES:
            return None
        children = {o for p in DOWN for o in g.objects(s, p)} | {x for p in UP for x in g.subjects(p, s)}
        parents = {o for p in UP for o in g.objects(s, p)} | {x for p in DOWN for x in g.subjects(p, s)}
        if LOD.Talk in types or not children and (parents or g.value(s, SCHEMA.performer) is not None):
            return "talks"
        if children and parents and not types & {LOD.Workshop, LOD.Conference}:
            return "tracks"
        return "events"

    def classify(self) -> None:
        g = self.g
        # blank nodes too: JSON-LD scraped from a page gives its resources no @id
        typed = {s for s in g.subjects(RDF.type, None) if isinstance(s, (URIRef, BNode))}
        # untyped resources named where a person or an organisation is expected
        untyped: dict[Node, str] = {}
        for props, kind in (((*SPEAKER, SCHEMA.contributor, SCHEMA.author, LOD.contact, FOAF.member), "people"),
                            ((SCHEMA.affiliation, SWRC.affiliation, SCHEMA.parentOrganization, S.funder, S.sponsor), "organizations"),
                            ((SWC.hasLocation, ICAL.location, ICALTZD.location), "places")):
            for p in props:
                for o in g.objects(None, p):
                    if isinstance(o, (URIRef, BNode)) and o not in typed and any(g.value(o, n) is not None for n in NAME):
                        untyped.setdefault(o, kind)
                    elif isinstance(o, Literal) and kind == "places" and str(o).strip():
                        untyped.setdefault(o, kind)  # an iCal LOCATION written as text: a place of that name
        for s in sorted(typed | set(untyped), key=self._order):
            found = untyped.get(s) or self._kind(s, set(g.objects(s, RDF.type)))
            if found is None:
                continue
            kind = found
            if kind == "people" and not any(g.value(s, n) is not None for n in (*NAME, S.givenName, S.familyName,
                                                                                  FOAF.givenName, FOAF.firstName,
                                                                                  FOAF.familyName, FOAF.family_name)):
                self.nameless.add(s)  # often only owl:sameAs another IRI of a person named elsewhere
                continue
            if kind in ("organizations", "places", "events") and not isinstance(s, Literal) and not any(
                    g.value(s, n) is not None for n in (*NAME, SWC.hasAcronym)) and (kind != "events" or not (
                    any(g.value(s, p) is not None for p in DOWN) or any(g.value(None, p, s) is not None for p in UP))):
                # an event with neither name nor talks (SWDF lists some workshops only by their URL)
                self.unnamed[kind] = self.unnamed.get(kind, 0) + 1  # the SWDF lists some only by their members
                self.nameless.add(s)
                continue
            if kind == "tracks":
                self.tracks[s] = self.text(s, NAME) or ""
                self.kind_of[s] = kind
                continue
            if isinstance(s, Literal):
                label = " ".join(str(s).split())
                self.ids.setdefault(kind, {})[s] = self._unique(kind, slugify(label)[:60].strip("-") or "place")
                self.kind_of[s] = kind
                continue
            iri = str(s) if isinstance(s, URIRef) else ""
            seg = iri.rsplit("#", 1)[1] if "#" in iri and iri.rsplit("#", 1)[1] else iri.rstrip("/#").rsplit("/", 1)[-1]
            label = self.text(s, NAME) or self.text(s, SWC.hasAcronym) or seg  # SWDF workshops: often only an acronym
            if kind == "people":
                label = honorific(label)[1]  # "Dr. Sebastian Tramp" is sebastian-tramp
            # a conference named by a bare year ("…/conference/xmllondon/2013", SWDF's scheme) is
            # named by its name instead: years of several conferences would collide
            year = kind in ("events", "series") and seg.isdigit() and len(seg) == 4 and label != seg
            rid = seg if SLUG_RE.match(seg) and not year else slugify(label)[:60].strip("-")
            if isinstance(s, BNode):
                # JSON-LD repeats an object it gives no @id (the organiser who also performs): one record
                key = (kind, self._order(s)[2])
                if key in self.bnodes:
                    self.ids[kind][s], self.kind_of[s] = self.bnodes[key], kind
                    self.alias.add(s)
                    continue
            self.ids.setdefault(kind, {})[s] = rid = self._unique(kind, rid)
            self.kind_of[s] = kind
            if isinstance(s, BNode):
                self.bnodes[(kind, self._order(s)[2])] = rid

    def _unique(self, kind: str, rid: str) -> str:
        used = set(self.ids.setdefault(kind, {}).values())
        base, n = rid, 2
        while rid in used:
            rid, n = f"{base}-{n}", n + 1
        return rid

    def _order(self, s: Node) -> tuple[str, int, str]:
        """In time order (namesakes are numbered as they happen), then IRIs in order, then blank
        nodes by what they say (their labels are random): stable ids."""
        # the least of its starts: g.value would pick one of several at random (SWDF repeats some)
        start = next((min(vs) for p in (S.startDate, ICAL.dtstart, ICALTZD.dtstart)
                      for vs in [[str(v) for v in self.g.objects(s, p)]] if vs), "")
        if isinstance(s, URIRef):
            return (start, 0, str(s))
        if isinstance(s, Literal):
            return (start, 2, str(s))
        said = sorted(f"{p} {o}" for p, o in self.g.predicate_objects(s) if not isinstance(o, BNode))
        return (start, 1, "\n".join(said))

    def parent(self, s: Node) -> tuple[str | None, list[str]]:
        """The record an event is part of (through tracks), and the tracks' names on the way."""
        topics: list[str] = []
        seen = {s}
        node: Node | None = s
        while node is not None:
            ups = sorted(self.ups(node), key=str)
            node = next((u for u in ups if u not in seen and u in self.kind_of), None)
            if node is None:
                return None, topics
            seen.add(node)
            if node in self.tracks:
                if self.tracks[node]:
                    topics.append(self.tracks[node])
                continue
            return self.ref(node), topics
        return None, topics

    def ref(self, o: Node | None) -> str | None:
        if o is None:
            return None
        kind = self.kind_of.get(o)
        return self.ids[kind][o] if kind and kind != "tracks" else None

    def refs(self, s: Node, p: URIRef, kinds: tuple[str, ...] = ()) -> list[str]:
        """The ids of the records *s* links to by *p*; with *kinds*, only those of these kinds (others counted)."""
        out = []
        for o in self.objects(s, p):
            rid = self.ref(o)
            if rid and kinds and self.kind_of.get(o) not in kinds:
                names = {"people": "person", "organizations": "organisation"}
                self.dropped.append((f"{_short(p)} that is not a {' or '.join(names.get(k, k) for k in kinds)}",
                                     "the record format links only that kind here"))
            elif rid:
                out.append(rid)
        return sorted(out)

    def common(self, s: Node, rec: Rec) -> Rec:
        srcs = self.refs(s, PROV.wasDerivedFrom)
        if srcs:
            rec["sources"] = srcs
        return rec


_WHY = {str(RDF.type): "a type no record kind corresponds to", str(FOAF.depiction): "the record format has no picture",
        str(S.image): "the record format has no picture", str(S.logo): "the record format has no picture",
        str(PROV.wasDerivedFrom): "read as the record's sources"}


def _qname(g: Graph, iri: Node) -> str:
    for prefix, ns in (("schema", S), ("foaf", FOAF), ("dc", DC), ("rdfs", RDFS), ("org", ORG), ("swc", SWC),
                       ("ical", ICAL), ("swrc", SWRC), ("vcard", VCARD), ("bibo", BIBO)):
        g.namespace_manager.bind(prefix, ns, override=True, replace=True)
    try:
        return g.namespace_manager.normalizeUri(iri) if isinstance(iri, URIRef) else str(iri)
    except Exception:  # rdflib refuses some IRIs as prefixed names
        return f"<{iri}>"


def unread(r: Reader, parsed: Parsed) -> None:
    """Count each property of an imported resource, and each resource, that no record holds."""
    g = r.g
    for s, kind in r.kind_of.items():
        if s in r.alias or isinstance(s, Literal):
            continue
        if kind == "tracks":
            parsed.skip("events inside an event (tracks)", "the record format nests talks in one event; the track's "
                        "talks are parts of the outer event, with the track's name as a topic")
            continue
        for p in sorted(set(g.predicates(s, None)), key=str):
            if (s, p) in r.read or p in (RDF.type, *UP, *DOWN) or p in NAME + DESCRIPTION and kind != "people":
                continue
            if kind == "people" and p in (FOAF.name, RDFS.label, S.name):
                continue
            parsed.skip(f"{kind} {_qname(g, p)}", _WHY.get(str(p), "the record format has no field for it"))
    for what, why in r.dropped:
        parsed.skip(what, why)
    people = len(r.nameless) - sum(r.unnamed.values())
    if people:
        parsed.skip("people without a name", "a person record needs a name (these are often only owl:sameAs "
                    "another IRI of someone named elsewhere)", people)
    for kind, n in sorted(r.unnamed.items()):
        parsed.skip(f"{kind} without a name", "a record of this kind needs a name; links to it are left out", n)
    reached = r.nameless | {o for subj, p in r.read for o in g.objects(subj, p)}  # addresses, offers, citations … read in place
    for s in sorted({s for s in g.subjects(RDF.type, None) if s not in r.kind_of and s not in reached}, key=str):
        types = sorted(_qname(g, t) for t in g.objects(s, RDF.type))
        if types:
            parsed.skip(f"resources of type {', '.join(types)}", "no record kind corresponds to it "
                        "(the importer reads schema.org events, people, organisations and places, FOAF people and "
                        "the Semantic Web Conference ontology's events and places)")

