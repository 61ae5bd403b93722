"""Google's Event rich-result requirements, checked on the embedded JSON-LD of talk pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lod.validation.report import Result

if TYPE_CHECKING:
    from lod.publishing.prepared import Prepared

# ---------------------------------------------------------------- Google Event check


@dataclass(frozen=True, order=True)
class Gap:
    """One thing a talk's JSON-LD lacks for Google's Event rich result."""

    required: bool
    reason: str

    def __str__(self) -> str:
        return f"{self.reason} ({'required' if self.required else 'recommended'})"


_OFFSET_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _types_of(node: Any) -> set[str]:
    if not isinstance(node, dict):
        return set()
    return {str(t).rsplit("/", 1)[-1] for t in _as_list(node.get("@type"))}


def _has_text(value: Any) -> bool:
    for v in _as_list(value):
        if isinstance(v, dict):
            v = v.get("@value", v.get("@id"))
        if isinstance(v, (str, int, float)) and str(v).strip():
            return True
    return False


def _iri_value(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("@id", "")
    return str(value)


def event_node(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Event node of a JSON-LD document (top-level or in @graph)."""
    candidates = [data] + [n for n in _as_list(data.get("@graph")) if isinstance(n, dict)]
    return next((n for n in candidates if "Event" in _types_of(n)), None)


def google_event_gaps(data: Mapping[str, Any]) -> list[Gap]:
    """What a talk's JSON-LD misses of Google's Event rich-result requirements.

    Required: name; startDate with a time and UTC offset; location — a Place with an
    address for in-person events, a VirtualLocation with a url for online ones, both for
    hybrid. Recommended: description, endDate, eventAttendanceMode, eventStatus,
    organizer (name, url), performer (name), image, and offers (with a price when given).
    """
    ev = event_node(data)
    if ev is None:
        return [Gap(True, "@type Event")]
    gaps: list[Gap] = []
    if not _has_text(ev.get("name")):
        gaps.append(Gap(True, "name"))
    starts = [s for s in _as_list(ev.get("startDate")) if isinstance(s, str)]
    if not starts:
        gaps.append(Gap(True, "startDate"))
    elif not any(_OFFSET_DATETIME.match(s) for s in starts):
        gaps.append(Gap(True, "startDate time and UTC offset"))
    mode = " ".join(_iri_value(v) for v in _as_list(ev.get("eventAttendanceMode")))
    online, mixed = "OnlineEventAttendanceMode" in mode, "MixedEventAttendanceMode" in mode
    locations = [loc for loc in _as_list(ev.get("location")) if isinstance(loc, dict)]
    if not locations:
        gaps.append(Gap(True, "location"))
    else:
        if not online or mixed:
            places = [loc for loc in locations if "VirtualLocation" not in _types_of(loc)]
            if not any(_has_address(loc) for loc in places):
                gaps.append(Gap(True, "location Place address"))
        if online or mixed:
            virtual = [loc for loc in locations if "VirtualLocation" in _types_of(loc)]
            if not any(_has_text(loc.get("url")) for loc in virtual):
                gaps.append(Gap(True, "location VirtualLocation url"))
    for prop in ("description", "endDate", "eventAttendanceMode", "eventStatus"):
        if not _has_text(ev.get(prop)):
            gaps.append(Gap(False, prop))
    for prop, needs in (("organizer", ("name", "url")), ("performer", ("name",))):
        agents = _as_list(ev.get(prop))
        if not agents:
            gaps.append(Gap(False, prop))
            continue
        for need in needs:
            if not all(isinstance(a, dict) and _has_text(a.get(need)) for a in agents):
                gaps.append(Gap(False, f"{prop} {need}"))
    if not _has_text(ev.get("image")):
        gaps.append(Gap(False, "image"))
    offers = _as_list(ev.get("offers"))
    if not offers:
        gaps.append(Gap(False, "offers"))
    elif not all(isinstance(o, dict) and "price" in o for o in offers):
        gaps.append(Gap(False, "offers price"))
    return gaps


def _has_address(place: Mapping[str, Any]) -> bool:
    for addr in _as_list(place.get("address")):
        if isinstance(addr, str) and addr.strip():
            return True
        if isinstance(addr, dict) and any(_has_text(addr.get(k)) for k in (
                "streetAddress", "addressLocality", "addressRegion", "postalCode", "addressCountry")):
            return True
    return False


_Known = tuple[list[Gap], bool, list[str]]  # a shared list of gaps, whether it is complete, its gaps as text


@dataclass
class GoogleReport:
    """How the talk pages of a build meet Google's Event requirements."""

    talk_pages: int = 0
    complete: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, list[Gap]] = field(default_factory=dict)  # talk page path -> gaps
    # Each distinct list of gaps once: talk pages lack the same few things, and a list of Gaps
    # per page (unpickled from a page worker) was 77 MB at 100k talks, kept for the build state.
    # Each is kept with whether it is complete and its gaps as text: every build counts every talk
    # page again (a rebuild from the state's lists, shared as read), and this spares naming each gap.
    _shared: dict[tuple[Gap, ...], _Known] = field(default_factory=dict, compare=False, repr=False)
    # The same, by the id of each shared list (the report holds it, so no other list takes its id):
    # a page whose list is already the shared one is counted without hashing its gaps.
    _known: dict[int, _Known] = field(default_factory=dict, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_known": {}}  # ids mean nothing in another process or copy

    def add(self, path: str, gaps: list[Gap]) -> None:
        """Count one talk page (its *gaps* are not changed after, and may be shared with other pages')."""
        known = self._known.get(id(gaps))
        if known is None:
            key = tuple(gaps)
            known = self._shared.get(key)
            if known is None:
                known = self._shared[key] = self._known[id(gaps)] = (
                    gaps, not any(g.required for g in gaps), [str(g) for g in gaps])
        shared, complete, texts = known
        self.talk_pages += 1
        self.gaps[path] = shared
        if complete:
            self.complete += 1
        for text in texts:
            self.missing[text] = self.missing.get(text, 0) + 1

    def summary(self) -> str:
        """``pages: N talk pages, K complete for Google Events; missing: …``."""
        order = sorted(self.missing.items(), key=lambda kv: (not kv[0].endswith("(required)"), -kv[1], kv[0]))
        missing = ", ".join(f"{reason} {n}" for reason, n in order) or "nothing"
        return (f"pages: {self.talk_pages} talk pages, {self.complete} complete for Google Events; "
                f"missing: {missing}")


def add_gaps(p: Prepared, path: str, gaps: list[Gap], google: GoogleReport, warnings: list[Result]) -> None:
    """Count a talk page's gaps in the report, and warn if it lacks something Google requires."""
    google.add(path, gaps)
    required = [g.reason for g in gaps if g.required]
    if required:
        talk = p.dataset.talks.get(path.partition("/")[2])
        warnings.append(Result("warning", p.minter.base + path, "google-event",
                               f"the talk page {path}.html misses what Google's Event results require: "
                               f"{', '.join(required)}", "pages:google-event",
                               talk.loc if talk is not None else None))
