"""The source-record model: what the loader produces and the mapper consumes.

Records are plain dataclasses with slots: no instance dict, about 6 % less of the main
process at the start of the pages stage (10k talks), and less for a page worker to copy.
Every record remembers where it was written (``loc``) and where each of its fields was
written (``locs``), so that any later stage can point an organiser at the exact file, line
and field.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal

from lod.errors import Location
from lod.model.kinds import RECORD_KINDS, TABLES


@dataclass(slots=True)
class Record:
    id: str
    loc: Location
    # Where each field was written in the record's own file (a field is never written in
    # another): ``field_places``, read by ``where``. Bytes, not a dict of Locations: every record
    # is held by every stage and read by every page worker (at 10k talks a dict of a talk's
    # dozen places took 860 bytes, these take 180).
    locs: bytes = b""
    sources: list[str] = field(default_factory=list)
    inferred: dict[str, str] = field(default_factory=dict)
    note: str | None = None

    def where(self, name: str) -> Location:
        """Location of field *name*, or of the record when the field is absent."""
        number = field_numbers(type(self)).get(name)
        if self.locs and number is not None:
            places = array("I")
            places.frombytes(self.locs)
            for i in range(0, len(places), 3):
                if places[i] == number:
                    return Location(self.loc.file, places[i + 1], places[i + 2])
        return self.loc


def field_places(cls: type, places: Mapping[str, tuple[int, int]]) -> bytes:
    """``Record.locs`` for a record of *cls*: each field's (line, column), the field named by its
    number in the class, as unsigned ints (field number, line, column)."""
    numbers = field_numbers(cls)
    return array("I", [n for name, (line, column) in places.items()
                       for n in (numbers[name], line, column)]).tobytes()


def field_numbers(cls: type) -> dict[str, int]:
    """A record class's field names, numbered in its order (cached: asked for every record read
    and resolved; ``dataclasses.fields`` walks every field each time)."""
    found = _FIELD_NUMBERS.get(cls)
    if found is None:
        found = _FIELD_NUMBERS[cls] = {f.name: n for n, f in enumerate(fields(cls))}
    return found


_FIELD_NUMBERS: dict[type, dict[str, int]] = {}


@dataclass(slots=True)
class Site:
    loc: Location
    title: str = "Talks"
    description: str | None = None
    base_url: str | None = None
    license: str | None = None
    publisher: str | None = None
    # "files": P.ttl, P.nt, P.jsonld written for static hosting; "served": answered by
    # lod serve from the dumps (lod.publishing.documents). A change is a site-settings change: a full build.
    documents: str = "files"


@dataclass(slots=True)
class Source(Record):
    title: str | None = None
    document: str | None = None
    url: str | None = None
    taken: str = ""


@dataclass(slots=True)
class Address:
    loc: Location
    street: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(slots=True)
class Identified(Record):
    """Fields shared by persons and organisations."""

    also_known_as: list[str] = field(default_factory=list)
    wikidata: str | None = None
    homepage: str | None = None
    same_as: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # identifiers in source systems (indico-person: 1234)


@dataclass(slots=True)
class Person(Identified):
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    honorific: str | None = None  # "Dr.", "Prof. Dr.": kept apart from the name
    affiliations: list[str] = field(default_factory=list)
    job_title: str | None = None
    orcid: str | None = None

    @property
    def display_name(self) -> str:
        """The name written "Given Family" (or the name given as a whole)."""
        if self.name:
            return self.name
        return " ".join(p for p in (self.given_name, self.family_name) if p)


@dataclass(slots=True)
class Organization(Identified):
    name: str = ""
    parent: str | None = None
    ror: str | None = None
    address: Address | None = None


@dataclass(slots=True)
class Place(Record):
    name: str = ""
    code: str | None = None
    contained_in: str | None = None
    address: Address | None = None
    timezone: str | None = None
    virtual: bool = False
    url: str | None = None


@dataclass(slots=True)
class Media:
    """A recording or slides: known to exist, with a URL when the source gives one."""

    loc: Location
    url: str | None = None


@dataclass(slots=True)
class Reference:
    loc: Location
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    year: str | None = None
    doi: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Variant:
    loc: Location
    source: str = ""
    text: str = ""


@dataclass(slots=True)
class Registration:
    loc: Location
    url: str | None = None
    note: str | None = None


@dataclass(slots=True)
class When:
    """A resolved instant or day, ready to publish.

    ``lexical`` is the xsd:dateTime (with the venue's UTC offset) or xsd:date form;
    ``utc`` orders talks and is None for a bare date.
    """

    lexical: str
    is_date: bool
    utc: datetime | None
    local: datetime | None = None
    zone: str | None = None  # IANA name, or None when only an offset is known


@dataclass(slots=True)
class Scheduled(Record):
    """Fields shared by talks, sessions, events and series."""

    description: str | None = None
    start: str | None = None
    end: str | None = None
    duration: str | None = None
    timezone: str | None = None
    offset: str | None = None
    attendance: str | None = None
    venue: str | None = None
    online: str | None = None
    language: str | None = None
    keywords: list[str] = field(default_factory=list)
    organizers: list[str] = field(default_factory=list)
    url: str | None = None
    # Filled in by resolve: the parent (kind, id), times and inherited defaults.
    parent: tuple[str, str] | None = None
    start_at: When | None = None
    end_at: When | None = None
    duration_iso: str | None = None


@dataclass(slots=True)
class Talk(Scheduled):
    title: str | None = None
    title_status: str | None = None
    speakers: list[str] = field(default_factory=list)
    coauthors: list[str] = field(default_factory=list)
    status: str = "scheduled"
    previous_start: str | None = None
    abstract: str | None = None
    abstract_variants: list[Variant] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    recording: Media | None = None
    slides: Media | None = None
    topics: list[str] = field(default_factory=list)
    part_of: str | None = None
    ids: dict[str, str] = field(default_factory=dict)
    previous_start_at: When | None = None


@dataclass(slots=True)
class Session(Scheduled):
    title: str | None = None
    talks: list[Talk] = field(default_factory=list)


@dataclass(slots=True)
class Gathering(Scheduled):
    """Fields shared by series and events."""

    name: str = ""
    also_known_as: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    capacity: int | None = None
    free: bool | None = None
    price: Decimal | None = None
    currency: str | None = None
    registration: Registration | None = None
    talks: list[Talk] = field(default_factory=list)


@dataclass(slots=True)
class Series(Gathering):
    pass


@dataclass(slots=True)
class Event(Gathering):
    kind: str | None = None
    series: str | None = None
    sessions: list[Session] = field(default_factory=list)


@dataclass
class Dataset:
    """Every record of a data folder, by kind and id."""

    site: Site
    sources: dict[str, Source] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    talks: dict[str, Talk] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def table(self, kind: str) -> dict[str, Record]:
        """The records of *kind* by id (its table, as the kind registry ``lod.model.kinds`` names it)."""
        table: dict[str, Record] = getattr(self, TABLES[kind])
        return table

    def record_count(self) -> int:
        """How many records there are, of every kind (``len(all_records())`` without the list)."""
        return sum(len(self.table(k.name)) for k in RECORD_KINDS)

    def all_records(self) -> list[tuple[str, Record]]:
        """Every record with its kind, in a stable order (the registry's)."""
        out: list[tuple[str, Record]] = []
        for k in RECORD_KINDS:
            out.extend((k.name, r) for r in self.table(k.name).values())
        return out
