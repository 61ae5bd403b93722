"""HTTP content negotiation (RFC 9110 §12.5.1), driven by the format registry.

A tiny parser on purpose: the rules the server promises are exactly these, and
docs/server.md states them.

- An ``Accept`` entry without ``q`` counts as ``q=1``; ``q=0`` means "not acceptable".
- Wildcards match (``*/*``, ``text/*``); for each offered type the *most specific*
  matching entry decides its quality, so ``text/turtle;q=0, */*`` excludes Turtle.
- The offer with the highest quality wins; ties go to the more specific match
  (``text/turtle, */*`` gives Turtle), then to the server's order of offers.
- A missing or empty ``Accept`` header (or one with no entry that parses) gets
  the first offer: ``text/html`` for resources, as the registry lists it first.
- An offer may have aliases (``application/json`` for JSON-LD). A format is excluded
  when its own media type is explicitly refused, whatever its aliases say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from lod.model.formats import Format

T = TypeVar("T")


@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """3 for an exact match, 2 for ``type/*``, 1 for ``*/*``, 0 for no match."""
        mtype, _, msub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 1
        if self.type != mtype:
            return 0
        if self.subtype == "*":
            return 2
        return 3 if self.subtype == msub else 0


def _parse_q(value: str) -> float | None:
    try:
        q = float(value)
    except ValueError:
        return None
    return q if 0.0 <= q <= 1.0 else None


def parse_accept(header: str | None) -> list[MediaRange]:
    """The entries of an Accept header; malformed entries are skipped (RFC 9110 lets us ignore them)."""
    ranges: list[MediaRange] = []
    if not header:
        return ranges
    for entry in header.split(","):
        parts = [p.strip() for p in entry.split(";")]
        media = parts[0].lower()
        if media == "*":  # old clients send a bare "*"
            media = "*/*"
        mtype, slash, msub = media.partition("/")
        if not slash or not mtype or not msub or (mtype == "*" and msub != "*"):
            continue
        q: float | None = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _parse_q(value.strip())
                break  # parameters after q are accept-extensions: ignored
        if q is None:
            continue
        ranges.append(MediaRange(mtype, msub, q))
    return ranges


def quality(ranges: Sequence[MediaRange], media_type: str) -> tuple[float, int]:
    """(q, specificity) the client gives *media_type*: the most specific matching entry decides."""
    best: tuple[float, int] = (0.0, 0)
    for r in ranges:
        spec = r.specificity(media_type)
        # Among entries of equal specificity keep the highest q (duplicates are a client's mistake).
        if spec > best[1] or (spec == best[1] and spec and r.q > best[0]):
            best = (r.q, spec)
    return best


@dataclass(frozen=True)
class Offer(Generic[T]):
    """Something the server can send: its media type, the aliases that also ask for it, and a value."""

    media_types: tuple[str, ...]
    value: T


def choose(accept: str | None, offers: Sequence[Offer[T]]) -> Offer[T] | None:
    """The offer the client prefers, the first offer when Accept is missing, None when nothing is acceptable."""
    if not offers:
        return None
    ranges = parse_accept(accept)
    if not ranges:
        return offers[0]
    best: tuple[float, int, int] | None = None
    chosen: Offer[T] | None = None
    for index, offer in enumerate(offers):
        own_q, own_spec = quality(ranges, offer.media_types[0])
        if own_spec == 3 and own_q == 0.0:
            continue  # its own type is explicitly refused
        q, spec = max(quality(ranges, mt) for mt in offer.media_types)
        if q <= 0.0:
            continue
        key = (q, spec, -index)
        if best is None or key > best:
            best, chosen = key, offer
    return chosen


def format_offers(formats: Sequence[Format]) -> list[Offer[Format]]:
    """Offers for formats of the registry, in the given order, aliases included."""
    return [Offer((f.media_type, *f.also_accepts), f) for f in formats]


def choose_format(accept: str | None, formats: Sequence[Format]) -> Format | None:
    """The registry format the client prefers among *formats*, or None (→ 406)."""
    offer = choose(accept, format_offers(formats))
    return offer.value if offer else None


def prefers_html(accept: str | None) -> bool:
    """True for browsers: text/html (or XHTML) named explicitly, ranked at least as high as JSON.

    Error responses are HTML pages for these clients and JSON for everyone else
    (curl's ``*/*``, SPARQL libraries, a missing Accept header).
    """
    ranges = parse_accept(accept)
    html = max((q for q, spec in (quality(ranges, t) for t in ("text/html", "application/xhtml+xml")) if spec == 3),
               default=0.0)
    return html > 0.0 and html >= quality(ranges, "application/json")[0]
