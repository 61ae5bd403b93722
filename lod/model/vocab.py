"""The vocabularies we publish with, as closed namespaces.

Each namespace lists the terms we use; any other attribute raises AttributeError,
so a typo such as ``SCHEMA.startdate`` fails at import or test time instead of
publishing a wrong IRI. schema.org is the ``http://schema.org/`` namespace that the
official JSON-LD context's ``@vocab`` names, not rdflib's ``SDO`` (https).
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCAT as _DCAT
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, VOID, XSD, DefinedNamespace

__all__ = ["SCHEMA", "LOD", "PAV", "DCAT", "DCTERMS", "PROV", "RDF", "RDFS", "OWL", "VOID", "XSD",
           "LOD_NS", "PREFIXES"]

LOD_NS = "https://w3id.org/lod-talks/ns#"


class SCHEMA(DefinedNamespace):
    """The schema.org terms this project uses (release 30.0, http namespace)."""

    _NS = Namespace("http://schema.org/")
    _fail = True

    # classes
    CreativeWork: URIRef
    DefinedTerm: URIRef
    Event: URIRef
    EventSeries: URIRef
    MediaObject: URIRef
    Offer: URIRef
    Organization: URIRef
    Periodical: URIRef
    Person: URIRef
    Place: URIRef
    PostalAddress: URIRef
    PresentationDigitalDocument: URIRef
    PublicationIssue: URIRef
    PublicationVolume: URIRef
    ScholarlyArticle: URIRef
    VirtualLocation: URIRef
    # enumeration members
    EventCancelled: URIRef
    EventMovedOnline: URIRef
    EventPostponed: URIRef
    EventRescheduled: URIRef
    EventScheduled: URIRef
    MixedEventAttendanceMode: URIRef
    OfflineEventAttendanceMode: URIRef
    OnlineEventAttendanceMode: URIRef
    # properties
    about: URIRef
    address: URIRef
    addressCountry: URIRef
    addressLocality: URIRef
    addressRegion: URIRef
    affiliation: URIRef
    alternateName: URIRef
    author: URIRef
    citation: URIRef
    containedInPlace: URIRef
    containsPlace: URIRef
    contributor: URIRef
    description: URIRef
    duration: URIRef
    endDate: URIRef
    eventAttendanceMode: URIRef
    eventStatus: URIRef
    familyName: URIRef
    givenName: URIRef
    identifier: URIRef
    inLanguage: URIRef
    isAccessibleForFree: URIRef
    isPartOf: URIRef
    issueNumber: URIRef
    honorificPrefix: URIRef
    jobTitle: URIRef
    keywords: URIRef
    location: URIRef
    maximumAttendeeCapacity: URIRef
    name: URIRef
    offers: URIRef
    organizer: URIRef
    pagination: URIRef
    parentOrganization: URIRef
    performer: URIRef
    postalCode: URIRef
    previousStartDate: URIRef
    price: URIRef
    priceCurrency: URIRef
    recordedIn: URIRef
    sameAs: URIRef
    startDate: URIRef
    streetAddress: URIRef
    subEvent: URIRef
    subOrganization: URIRef
    superEvent: URIRef
    url: URIRef
    volumeNumber: URIRef
    workFeatured: URIRef
    workPerformed: URIRef
    datePublished: URIRef


class LOD(DefinedNamespace):
    """Our own small vocabulary: only what schema.org lacks (see ontology/lod.ttl)."""

    _NS = Namespace(LOD_NS)
    _fail = True

    Talk: URIRef
    SeminarSeries: URIRef
    Workshop: URIRef
    Conference: URIRef
    Session: URIRef
    SourceDocument: URIRef
    TitleStatus: URIRef
    TitleToBeAnnounced: URIRef
    Untitled: URIRef
    titleStatus: URIRef
    contact: URIRef
    documentName: URIRef
    timeZone: URIRef


class PAV(DefinedNamespace):
    """Provenance, Authoring and Versioning: when a source was retrieved."""

    _NS = Namespace("http://purl.org/pav/")
    _fail = True

    retrievedOn: URIRef
    retrievedFrom: URIRef


class DCAT(DefinedNamespace):
    """DCAT terms used in the dataset description (rdflib's DCAT does not fail on typos)."""

    _NS = Namespace(str(_DCAT))
    _fail = True

    Catalog: URIRef
    Dataset: URIRef
    Distribution: URIRef
    DataService: URIRef
    distribution: URIRef
    downloadURL: URIRef
    accessURL: URIRef
    mediaType: URIRef
    endpointURL: URIRef
    servesDataset: URIRef
    landingPage: URIRef


# Prefixes used by every serialisation, in the order they are written.
PREFIXES: dict[str, str] = {
    "schema": str(SCHEMA._NS),
    "lod": LOD_NS,
    "prov": str(PROV),
    "pav": str(PAV._NS),
    "dcat": str(DCAT._NS),
    "dct": str(DCTERMS),
    "void": str(VOID),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}
