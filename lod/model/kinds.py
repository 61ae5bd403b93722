"""The one registry of record kinds: what each kind of record is called, where it is, and what it says in RDF.

Per kind: its top-level YAML key, its table in ``Dataset``, its IRI path segment, its record
class and RDF classes, and its fields. Per field: its converter (by name; ``lod.model.converters`` turns
the names into functions), the RDF predicates the mapping emits for it, the kinds of record
its ids name, and, for a field of fixed values, the RDF term each value maps to. The mapping
is data, as in RML/morph-kgc; what genuinely is code (a talk's parent, a gathering's offer) stays
in ``lod.mapping.triples``, which takes its terms from here, and tests/test_kinds.py checks the two
emit the same predicates.

Everything else derives from this table: loading (``lod.model.converters.SPECS``, ``TOP_LEVEL``,
``TABLES``), the IRIs (``lod.model.iri.KIND_PATHS``), ``Dataset.all_records``, the importers' record
keys, a build's counts, and the record-field → RDF table of the README (``readme_table``).

Converter names: a converter of ``lod.model.converters`` (``slug``, ``line``, ``text``, ``url`` …),
``enum`` (the field's ``values``), ``children`` (records written inline, read by ``lod.loading.files``),
or ``list:NAME``, ``map:NAME``, ``part:PART`` (a sub-mapping with the fields of ``PARTS[PART]``).

This module imports nothing of the package but the vocabularies, so any module can use it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from rdflib import URIRef

from lod.model.vocab import LOD, PAV, PROV, RDF, SCHEMA

# The closed namespaces a registry term may come from: an unknown term is an AttributeError at import.
_NAMESPACES = {"schema": SCHEMA, "lod": LOD, "pav": PAV, "prov": PROV, "rdf": RDF}


def term(curie: str) -> URIRef:
    """The IRI of a term written ``prefix:name``; AttributeError (from the closed namespace) if unknown."""
    prefix, _, name = curie.partition(":")
    try:
        namespace = _NAMESPACES[prefix]
    except KeyError:
        raise AttributeError(f"unknown prefix in {curie!r}; known: {', '.join(_NAMESPACES)}") from None
    found: URIRef = getattr(namespace, name)
    return found


@dataclass(frozen=True)
class Field:
    """One field of a record (or of a part of one, such as an address)."""

    name: str  # the YAML key and the record attribute
    conv: str  # the converter's name (see the module's docstring)
    predicates: tuple[str, ...] = ()  # what lod.mapping.triples emits for it, on the record or on a part of it
    refers: tuple[str, ...] = ()  # the kinds of record its ids name (an organiser: a person or an organisation)
    values: Mapping[str, str] = field(default_factory=dict)  # enum: each value and its RDF term ("" for none)
    note: str = ""  # what the README's table says beyond the predicates
    inverse: str = ""  # what the mapping emits on the record it names, pointing back (a parent's schema:subEvent)


@dataclass(frozen=True)
class Part:
    """A sub-mapping of a record (an address, a reference …), published as a fragment of its owner."""

    name: str
    record: str  # its class in lod.model.records
    fields: tuple[Field, ...]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """Fields several kinds share (the README lists them once, for all those kinds)."""

    name: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Kind:
    """A kind of record."""

    name: str  # as in (kind, id) keys
    path: str  # the IRI path segment: BASE/path/ID
    classes: tuple[str, ...]  # its RDF classes
    key: str | None = None  # its top-level YAML key; None when it is only written inside another
    table: str | None = None  # its table in lod.model.records.Dataset; None for a kind with no records (topic)
    record: str | None = None  # its class in lod.model.records
    groups: tuple[Group, ...] = ()
    own: tuple[Field, ...] = ()
    required: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()  # fields of its groups it does not have (a talk's description is its abstract)
    note: str = ""
    label: str = ""  # what messages call it, when not its name

    @property
    def word(self) -> str:
        """What messages call a record of this kind ("organisation")."""
        return self.label or self.name

    @property
    def fields(self) -> tuple[Field, ...]:
        """All its fields: those of its groups (less ``drop``), then its own."""
        shared = tuple(f for g in self.groups for f in g.fields if f.name not in self.drop)
        return shared + self.own

    def field(self, name: str) -> Field:
        """Its field *name*; KeyError if it has none."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


# ---------------------------------------------------------------- parts

ADDRESS = Part("address", "Address", (
    Field("street", "line", ("schema:streetAddress",)),
    Field("locality", "line", ("schema:addressLocality",)),
    Field("region", "line", ("schema:addressRegion",)),
    Field("postal_code", "line", ("schema:postalCode",)),
    Field("country", "line", ("schema:addressCountry",)),
))
REFERENCE = Part("reference", "Reference", (
    Field("title", "line", ("schema:name",)),
    Field("authors", "list:slug", ("schema:author",), ("person",)),
    Field("journal", "line", ("schema:isPartOf", "schema:name"), note="`schema:isPartOf` issue → volume → `schema:Periodical`"),
    Field("volume", "line", ("schema:isPartOf", "schema:volumeNumber"), note="a `schema:PublicationVolume`"),
    Field("issue", "line", ("schema:isPartOf", "schema:issueNumber"), note="a `schema:PublicationIssue`"),
    Field("pages", "line", ("schema:pagination",)),
    Field("year", "year", ("schema:datePublished",), note="`xsd:gYear`"),
    Field("doi", "doi", ("schema:sameAs",), note="`<https://doi.org/…>`"),
    Field("url", "url", ("schema:url",)),
), required=("title",))
VARIANT = Part("variant", "Variant", (
    Field("source", "slug", refers=("source",), note="the source that words it so"),
    Field("text", "text", note="the wording"),
), required=("source", "text"))
REGISTRATION = Part("registration", "Registration", (
    Field("url", "url", ("schema:url",)),
    Field("note", "line", ("schema:description",)),
))
MEDIA = Part("media", "Media", (Field("url", "url", ("schema:url",), note="when known (`recording: true` says only that one exists)"),))
PARTS: dict[str, Part] = {p.name: p for p in (ADDRESS, REFERENCE, VARIANT, REGISTRATION, MEDIA)}

# ---------------------------------------------------------------- groups of shared fields

COMMON = Group("common", (
    Field("id", "slug", note="its IRI's last segment, so that it never changes"),
    Field("sources", "list:slug", ("prov:wasDerivedFrom",), ("source",)),
    Field("inferred", "map:text", note="not published: what was inferred, and why"),
    Field("note", "text", note="not published"),
))
IDENTIFIED = Group("identified", (
    Field("also_known_as", "list:line", ("schema:alternateName",), note="spellings seen"),
    Field("wikidata", "wikidata", ("schema:sameAs",), note="`<http://www.wikidata.org/entity/Q…>`"),
    Field("homepage", "url", ("schema:url",)),
    Field("same_as", "list:url", ("schema:sameAs",)),
    Field("ids", "map:line", ("schema:identifier",), note='`"system:value"` (e.g. `indico-person:101`)'),
))
SCHEDULED = Group("scheduled", (
    Field("description", "text", ("schema:description",)),
    Field("start", "local_time", ("schema:startDate",),
          note="`xsd:dateTime` with the venue's UTC offset, or `xsd:date`; local time at the venue"),
    Field("end", "end_time", ("schema:endDate",), note="a time alone is on the start's day"),
    Field("duration", "duration", ("schema:duration",), note="`xsd:duration`"),
    Field("timezone", "timezone", ("lod:timeZone",), note="the IANA zone (daylight saving applied to the times)"),
    Field("offset", "offset", note="a fixed UTC offset for the times, where no zone is known"),
    Field("attendance", "enum", ("schema:eventAttendanceMode",), values={
        "in-person": "schema:OfflineEventAttendanceMode", "online": "schema:OnlineEventAttendanceMode",
        "hybrid": "schema:MixedEventAttendanceMode"}),
    Field("venue", "slug", ("schema:location",), ("place",)),
    Field("online", "slug", ("schema:location",), ("place",), note="a `schema:VirtualLocation`"),
    Field("language", "language", ("schema:inLanguage",)),
    Field("keywords", "list:line", ("schema:keywords",)),
    Field("organizers", "list:slug", ("schema:organizer",), ("person", "organization")),
    Field("url", "url", ("schema:url",)),
))
GATHERING = Group("gathering", (
    Field("name", "line", ("schema:name",)),
    Field("also_known_as", "list:line", ("schema:alternateName",)),
    Field("contacts", "list:slug", ("lod:contact",), ("person",)),
    Field("capacity", "count", ("schema:maximumAttendeeCapacity",)),
    Field("free", "boolean", ("schema:isAccessibleForFree", "schema:offers", "schema:price"),
          note="free: an offer at price 0"),
    Field("price", "money", ("schema:offers", "schema:price"), note="`#offer` a `schema:Offer`"),
    Field("currency", "currency", ("schema:offers", "schema:priceCurrency")),
    Field("registration", "part:registration", ("schema:offers", "schema:url", "schema:description"),
          note="the offer's `schema:url` and, from its note, `schema:description`"),
    Field("talks", "children", ("schema:subEvent",), ("talk",), inverse="schema:superEvent", note="written inline"),
))
_SUPER = ("schema:superEvent",)

# ---------------------------------------------------------------- the kinds, in the order of Dataset.all_records

KINDS: tuple[Kind, ...] = (
    Kind("source", "source", ("lod:SourceDocument", "schema:CreativeWork"), "sources", "sources", "Source",
         own=(Field("id", "slug", note="its IRI's last segment"),
              Field("title", "line", ("schema:name",)),
              Field("document", "line", ("lod:documentName", "schema:name"), note="the name when there is no title"),
              Field("url", "url", ("schema:url", "pav:retrievedFrom")),
              Field("taken", "a_date", ("pav:retrievedOn",), note="the day it was read"),
              Field("note", "text", note="not published")),
         required=("id", "taken"), note="what a record was read from; each record's `sources` name these"),
    Kind("person", "person", ("schema:Person",), "people", "people", "Person", (COMMON, IDENTIFIED), (
        Field("name", "line", ("schema:name",), note='or "Given Family"'),
        Field("given_name", "line", ("schema:givenName", "schema:name")),
        Field("family_name", "line", ("schema:familyName", "schema:name")),
        Field("affiliations", "list:slug", ("schema:affiliation",), ("organization",)),
        Field("job_title", "line", ("schema:jobTitle",)),
        Field("honorific", "line", ("schema:honorificPrefix",), note='"Dr.", "Prof. Dr.": kept apart from the name'),
        Field("orcid", "orcid", ("schema:sameAs",), note="`<https://orcid.org/…>`"),
    ), ("id", "sources")),
    Kind("organization", "org", ("schema:Organization",), "organizations", "organizations", "Organization",
         (COMMON, IDENTIFIED), (
             Field("name", "line", ("schema:name",)),
             Field("parent", "slug", ("schema:parentOrganization",), ("organization",),
                   inverse="schema:subOrganization"),
             Field("ror", "ror", ("schema:sameAs",), note="`<https://ror.org/…>`"),
             Field("address", "part:address", ("schema:address",), note="`#address` a `schema:PostalAddress`"),
         ), ("id", "name", "sources"), label="organisation"),
    Kind("place", "place", ("schema:Place",), "places", "places", "Place", (COMMON,), (
        Field("name", "line", ("schema:name",)),
        Field("code", "line", ("schema:identifier",)),
        Field("contained_in", "slug", ("schema:containedInPlace",), ("place",), inverse="schema:containsPlace"),
        Field("address", "part:address", ("schema:address",), note="`#address` a `schema:PostalAddress`"),
        Field("timezone", "timezone", ("lod:timeZone",)),
        Field("virtual", "boolean", ("rdf:type",), values={"true": "schema:VirtualLocation", "false": ""},
              note="a `schema:VirtualLocation` instead of a `schema:Place`"),
        Field("url", "url", ("schema:url",), note="an online place's meeting link; a venue's web page"),
    ), ("id", "name", "sources")),
    Kind("series", "series", ("schema:EventSeries", "lod:SeminarSeries"), "series", "series", "Series",
         (COMMON, SCHEDULED, GATHERING), required=("id", "name", "sources")),
    Kind("event", "event", ("schema:Event",), "events", "events", "Event", (COMMON, SCHEDULED, GATHERING), (
        Field("kind", "enum", ("rdf:type",), values={"workshop": "lod:Workshop", "conference": "lod:Conference"}),
        Field("series", "slug", _SUPER, ("series",), inverse="schema:subEvent"),
        Field("sessions", "children", ("schema:subEvent",), ("session",), inverse="schema:superEvent",
              note="written inline"),
    ), ("id", "name", "sources")),
    Kind("session", "session", ("schema:Event", "lod:Session"), None, "sessions", "Session", (COMMON, SCHEDULED), (
        Field("title", "line", ("schema:name",)),
        Field("talks", "children", ("schema:subEvent",), ("talk",), inverse="schema:superEvent", note="written inline"),
    ), ("id", "sources"), note="written inside an event"),
    Kind("talk", "talk", ("schema:Event", "lod:Talk"), "talks", "talks", "Talk", (COMMON, SCHEDULED), (
        Field("title", "line", ("schema:name",)),
        Field("title_status", "enum", ("lod:titleStatus",), values={"tba": "lod:TitleToBeAnnounced",
                                                                     "untitled": "lod:Untitled"},
              note="no placeholder name"),
        Field("speakers", "list:slug", ("schema:performer",), ("person",)),
        Field("coauthors", "list:slug", ("schema:contributor",), ("person",)),
        Field("status", "enum", ("schema:eventStatus",), values={
            "scheduled": "schema:EventScheduled", "cancelled": "schema:EventCancelled",
            "postponed": "schema:EventPostponed", "rescheduled": "schema:EventRescheduled",
            "moved-online": "schema:EventMovedOnline"}, note="`scheduled` when not given"),
        Field("previous_start", "local_time", ("schema:previousStartDate",)),
        Field("abstract", "text", ("schema:description",), note="TeX kept verbatim"),
        Field("abstract_variants", "list:part:variant", note="not published: other sources' wordings, on the page"),
        Field("references", "list:part:reference", ("schema:workPerformed", "schema:citation"),
              note="`#presentation` a `schema:CreativeWork` → `schema:citation` → `#ref-N` a "
                   "`schema:ScholarlyArticle` (schema:citation belongs to creative works, not events)"),
        Field("recording", "media", ("schema:recordedIn",), note="`#recording` a `schema:MediaObject`"),
        Field("slides", "media", ("schema:workFeatured",), note="`#slides` a `schema:PresentationDigitalDocument`"),
        Field("topics", "list:line", ("schema:about",), ("topic",), note="by label"),
        Field("part_of", "slug", _SUPER, ("series", "event", "session"), inverse="schema:subEvent",
              note="when not written inline"),
        Field("ids", "map:line", ("schema:identifier",), note='`"system:value"`'),
    ), ("id", "sources"), ("description",), "written alone or inside a series, event or session"),
    Kind("topic", "topic", ("schema:DefinedTerm",), own=(
        Field("label", "line", ("schema:name", "prov:wasDerivedFrom"), note="a talk's topic: the talk's sources too"),
    ), note="not a YAML record: made from the labels of talks' `topics` (ID is the label's slug)"),
)
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
RECORD_KINDS: tuple[Kind, ...] = tuple(k for k in KINDS if k.table is not None)

# ---------------------------------------------------------------- derived tables

KIND_PATHS: dict[str, str] = {k.name: k.path for k in KINDS}
TOP_LEVEL: dict[str, str] = {k.key: k.name for k in KINDS if k.key is not None}  # YAML key → kind
TABLES: dict[str, str] = {k.name: k.table for k in KINDS if k.table is not None}  # kind → Dataset attribute
COUNTED: tuple[str, ...] = ("talks", "people", "organizations", "places", "series", "events")  # a build's summary


def kind(name: str) -> Kind:
    """The kind called *name*; KeyError naming the known kinds if there is none."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown kind {name!r}; known: {', '.join(BY_NAME)}") from None


def values_of(kind_name: str, field_name: str) -> dict[str, URIRef]:
    """The RDF term each value of an enum field maps to (values that map to none left out)."""
    return {v: term(t) for v, t in kind(kind_name).field(field_name).values.items() if t}


def walk_fields() -> Iterator[tuple[Kind, Field]]:
    """Every (kind, field), then every part's fields under the kinds that use them."""
    for k in KINDS:
        for f in k.fields:
            yield k, f
            for part in parts_of(f):
                for pf in part.fields:
                    yield k, pf


def parts_of(f: Field) -> list[Part]:
    """The part a field holds (an address, a list of references …), if any."""
    conv = f.conv
    while conv.startswith(("list:", "map:")):
        conv = conv.split(":", 1)[1]
    if conv.startswith("part:"):
        return [PARTS[conv[5:]]]
    return [PARTS["media"]] if conv == "media" else []


def predicates_of(k: Kind) -> set[URIRef]:
    """Every predicate the registry says the mapping emits on a record of kind *k* (and its parts):
    its fields', and the inverse of those of any record that names it."""
    out = {RDF.type}
    for kk, f in walk_fields():
        if kk is k:
            out.update(term(p) for p in f.predicates)
        if f.inverse and k.name in f.refers:  # what a record naming this one puts on it
            out.add(term(f.inverse))
    return out


# ---------------------------------------------------------------- the README's table

README_BEGIN = "<!-- begin: record-field table, generated by lod.model.kinds.readme_table() -->"
README_END = "<!-- end: record-field table -->"


def _rdf_cell(f: Field) -> str:
    out = ", ".join(f"`{p}`" for p in f.predicates)
    if f.refers:
        out = (out + " → " + " or ".join(f.refers)).strip()
    if f.inverse:
        out += f", which gets `{f.inverse}` back"
    if f.values:
        out += " (" + ", ".join(f"`{v}` → `{t}`" for v, t in f.values.items() if t) + ")"
    if f.note:
        out += ("; " if out else "") + f.note
    return out or "—"


def readme_table() -> str:
    """The README's record-field → RDF table, in Markdown: the shared fields, then each kind's own."""
    rows = ["| record | field | RDF |", "|---|---|---|"]
    for group in (COMMON, IDENTIFIED, SCHEDULED, GATHERING):
        users = [k.name for k in RECORD_KINDS if group in k.groups]
        others = [k.name for k in RECORD_KINDS if group not in k.groups]
        label = ", ".join(users) if len(others) > 1 else "every record" + (f" but a {others[0]}" if others else "")
        for i, f in enumerate(group.fields):
            rows.append(f"| {label if i == 0 else ''} | `{f.name}` | {_rdf_cell(f)} |".replace("|  |", "| |"))
    for k in KINDS:
        where = f"top-level key `{k.key}`" if k.key else ""
        about = "; ".join(x for x in (where, k.note) if x)
        classes = ", ".join(f"`{c}`" for c in k.classes)
        rows.append(f"| {k.name} | (the record) | `BASE/{k.path}/ID` a {classes}" + (f"; {about}" if about else "") + " |")
        if k.drop:
            rows.append(f"| | (not {', '.join(f'`{d}`' for d in k.drop)}) | |")
        for f in k.own:
            rows.append(f"| | `{f.name}` | {_rdf_cell(f)} |")
    for name, part in PARTS.items():
        for i, f in enumerate(part.fields):
            rows.append(f"| {name + ' (part)' if i == 0 else ''} | `{f.name}` | {_rdf_cell(f)} |".replace("|  |", "| |"))
    return "\n".join(rows) + "\n"


def _check() -> None:
    """Fail at import on a term outside the closed vocabularies, a dangling kind or part, or a duplicate field."""
    for k in KINDS:
        for c in k.classes:
            term(c)
        names = [f.name for f in k.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"kind {k.name} has a field twice: {sorted(n for n in names if names.count(n) > 1)}")
    for _k, f in walk_fields():
        for t in (*f.predicates, *(v for v in f.values.values() if v), *([f.inverse] if f.inverse else [])):
            term(t)
        for r in f.refers:
            kind(r)


_check()
