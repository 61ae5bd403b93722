"""The one module that mints IRIs.

A resource of kind K with record id I gets ``BASE + K/I`` (``talk/2023-09-13-greg-yang``);
parts of a resource that have no page of their own get a fragment of it
(``…/talk/x#recording``). Ids are chosen by the organiser and never derived from
other fields, so an IRI stays stable whatever else in the record changes.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from rdflib import URIRef

from .errors import ConfigError

# Path segment used for each kind of record.
KIND_PATHS: dict[str, str] = {
    "talk": "talk",
    "series": "series",
    "event": "event",
    "session": "session",
    "person": "person",
    "organization": "org",
    "place": "place",
    "source": "source",
    "topic": "topic",
}

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FRAGMENT_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# RFC 3987 forbids these anywhere in an IRI; rdflib does not check the control characters.
_BAD_IRI_CHARS = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f-\x9f\ufffe\uffff]')
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

DEFAULT_BASE_URL = "http://localhost:8000/"


def is_valid_iri(value: str) -> bool:
    """True if *value* is an absolute IRI with no characters IRIs forbid."""
    return bool(_SCHEME_RE.match(value)) and not _BAD_IRI_CHARS.search(value)


def check_iri(value: str) -> URIRef:
    """Return *value* as a URIRef, or raise ValueError if it is not a valid absolute IRI."""
    if not is_valid_iri(value):
        raise ValueError(f"not a valid absolute IRI: {value!r}")
    return URIRef(value)


def normalise_base_url(base: str) -> str:
    """Check a base URL and give it a trailing slash."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"the base URL {base!r} must be an absolute http(s) URL such as https://talks.example.org/")
    if parts.query or parts.fragment or not is_valid_iri(base):
        raise ConfigError(f"the base URL {base!r} must have no query, fragment, spaces or control characters")
    return base if base.endswith("/") else base + "/"


def slugify(text: str) -> str:
    """A readable ASCII slug of *text*: ``Large Language Models & Understanding`` → ``large-language-models-understanding``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "x"


class Minter:
    """Mints every IRI of one site from its base URL."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL) -> None:
        self.base = normalise_base_url(base_url)

    def resource(self, kind: str, record_id: str) -> URIRef:
        """The IRI of the record *record_id* of *kind*."""
        if not SLUG_RE.match(record_id):
            raise ValueError(f"not a valid record id: {record_id!r}")
        return check_iri(f"{self.base}{KIND_PATHS[kind]}/{record_id}")

    def part(self, resource: URIRef, fragment: str) -> URIRef:
        """The IRI of a part of *resource* that has no page of its own."""
        if not FRAGMENT_RE.match(fragment):
            raise ValueError(f"not a valid fragment: {fragment!r}")
        return check_iri(f"{resource}#{fragment}")

    def topic(self, label: str) -> URIRef:
        """The IRI of a topic, minted from its label."""
        return self.resource("topic", slugify(label))

    def document(self, path: str) -> URIRef:
        """The IRI of a site document such as ``dump.ttl`` or ``ontology.ttl``."""
        return check_iri(self.base + path)

    @property
    def dataset(self) -> URIRef:
        """The IRI of the dataset that the VoID/DCAT description describes."""
        return check_iri(self.base + "void#dataset")

    @property
    def graph(self) -> str:
        """The IRI of the named graph that holds the dataset: ``lod push`` loads it, /sparql answers it."""
        return check_iri(self.base + "graph")

    @property
    def context(self) -> str:
        """The URL of the JSON-LD context the site publishes."""
        return self.base + "context.jsonld"

    def path_of(self, iri: str) -> str | None:
        """The site path P of a resource IRI ``BASE + P`` (fragment dropped), or None if it is not ours."""
        iri = iri.split("#", 1)[0]
        if not iri.startswith(self.base):
            return None
        return iri[len(self.base):]

    def owner(self, iri: str) -> str:
        """The resource whose description holds *iri*: the IRI without its fragment."""
        return iri.split("#", 1)[0]
