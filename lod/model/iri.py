"""The one module that mints IRIs.

A resource of kind K with record id I gets ``BASE + K/I`` (``talk/2023-09-13-greg-yang``);
parts of a resource that have no page of their own get a fragment of it
(``…/talk/x#recording``). Ids are chosen by the organiser and never derived from
other fields, so an IRI stays stable whatever else in the record changes.
"""

from __future__ import annotations

import re
import unicodedata

from rdflib import URIRef

from lod.model import kinds as K
from lod.model.iritext import FRAGMENT_RE, SLUG_RE, check_iri, is_valid_iri, normalise_base_url

__all__ = ["DEFAULT_BASE_URL", "FRAGMENT_RE", "KIND_PATHS", "SLUG_RE", "Minter", "check_iri", "is_valid_iri",
           "normalise_base_url", "slugify"]

# Path segment used for each kind of record: from the kind registry.
KIND_PATHS: dict[str, str] = K.KIND_PATHS

DEFAULT_BASE_URL = "http://localhost:8000/"


# Letters that Unicode does not decompose into a base letter and an accent: transliterated,
# not dropped ("Straße" -> "strasse", not "strae").
_TRANSLIT = str.maketrans({"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
                           "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D"})


def to_ascii(text: str) -> str:
    """*text* in ASCII letters: accents removed, ß and the like transliterated."""
    return unicodedata.normalize("NFKD", text.translate(_TRANSLIT)).encode("ascii", "ignore").decode("ascii")


def slugify(text: str) -> str:
    """A readable ASCII slug of *text*: ``Large Language Models & Understanding`` → ``large-language-models-understanding``."""
    ascii_text = to_ascii(text)
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
