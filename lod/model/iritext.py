"""What a valid IRI, record id and base URL look like: syntax only (``lod.model.iri`` mints the IRIs).

Apart from ``lod.model.iri`` so that the field converters (``lod.model.converters``) can check ids and URLs
without importing the minter, which takes its path segments from the kind registry above them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from rdflib import URIRef

from lod.errors import ConfigError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FRAGMENT_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The bidirectional formatting characters (ALM, LRM, RLM, LRE, RLE, PDF, LRO, RLO, LRI,
# RLI, FSI, PDI): invisible, they make an address display differently from where it leads
# ("…/\u202egnp.exe" shows as "…/exe.png"). RFC 3987 §4.1 forbids them in IRIs.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# RFC 3987 forbids these anywhere in an IRI; rdflib does not check the control characters.
_BAD_IRI_CHARS = re.compile(f'[\\x00-\\x20<>"{{}}|\\\\^`\\x7f-\\x9f\\ufffe\\uffff{BIDI_CONTROLS}]')
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_valid_iri(value: str) -> bool:
    """True if *value* is an absolute IRI with no characters IRIs forbid."""
    return bool(_SCHEME_RE.match(value)) and not _BAD_IRI_CHARS.search(value)


def bidi_control(value: str) -> str | None:
    """The first bidirectional formatting character in *value*, if any (refused in IRIs)."""
    found = _BIDI.search(value)
    return found.group() if found else None


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
