"""Names and labels shared by the page modules."""

from __future__ import annotations

from lod.model.iri import KIND_PATHS
from lod.progress import Observer as Progress
from lod.model.vocab import LOD, PREFIXES, SCHEMA

# Progress is not this module's own: it is re-exported for pages/stage.py, which imports it from here.
__all__ = ["AGENT_PREDICATES", "ATTENDANCE_TEXT", "COERCED_TERMS", "DATE_TERMS", "FORMAT_LABELS", "ID_TERMS",
           "KIND_OF_PATH", "KIND_TEXT", "LANGUAGES", "MATHML_NS", "NO_TITLE_TEXT", "Progress", "SCHEMA_NS",
           "SITEMAP_LIMIT", "STATUS_TEXT", "TITLE_STATUS_TEXT"]

SCHEMA_NS = PREFIXES["schema"]
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
KIND_OF_PATH = {path: kind for kind, path in KIND_PATHS.items()}
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)

# Terms the official schema.org context (release 30.0) coerces. A plain JSON string given
# for these becomes an IRI (@id) or a schema:Date literal, so strings are written for them
# only where that is what we mean; tests/test_pages_jsonld.py checks this table against
# the official context.
ID_TERMS = frozenset({"url", "sameAs", "isPartOf"})
DATE_TERMS = frozenset({"startDate", "endDate", "previousStartDate", "datePublished"})
COERCED_TERMS = ID_TERMS | DATE_TERMS
# Referenced persons and organisations get their type and name nested (the organizer
# also its url), as Google asks for performer.name and organizer.name/url.
AGENT_PREDICATES = frozenset({SCHEMA.performer, SCHEMA.organizer, SCHEMA.contributor, SCHEMA.author,
                              SCHEMA.affiliation, SCHEMA.parentOrganization, SCHEMA.subOrganization, LOD.contact})

STATUS_TEXT = {"scheduled": "Scheduled", "cancelled": "Cancelled", "postponed": "Postponed",
               "rescheduled": "Rescheduled", "moved-online": "Moved online"}
ATTENDANCE_TEXT = {"in-person": "In person", "online": "Online", "hybrid": "Hybrid (in person and online)"}
TITLE_STATUS_TEXT = {"tba": "Title to be announced", "untitled": "Untitled"}
NO_TITLE_TEXT = "Title not given"
LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
             "nl": "Dutch", "zh": "Chinese", "ja": "Japanese", "ru": "Russian", "el": "Greek"}
FORMAT_LABELS = {"turtle": "Turtle", "jsonld": "JSON-LD", "ntriples": "N-Triples"}
KIND_TEXT = {"talk": "Talk", "series": "Seminar series", "event": "Event", "session": "Session",
             "person": "Person", "organization": "Organisation", "place": "Place", "source": "Source document",
             "topic": "Topic"}


