"""What a valid IRI, record id and base URL look like: syntax only (``lod.iri`` mints the IRIs).

Apart from ``lod.iri`` so that the field converters (``lod.fields``) can check ids and URLs
without importing the minter, which takes its path segments from the kind registry above them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from rdflib import URIRef

from .errors import ConfigError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FRAGMENT_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# RFC 3987 forbids these anywhere in an IRI; rdflib does not check the control characters.
_BAD_IRI_CHARS = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f-\x9f\ufffe\uffff]')
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


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
