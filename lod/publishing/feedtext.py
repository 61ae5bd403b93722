"""What a calendar entry of ours says, and how to read it back.

``lod.publishing.feeds`` writes the VEVENTs; this module makes their text (SUMMARY, DESCRIPTION,
LOCATION), their dates taken and versions (``version_stamp``: see ``lod.publishing.feeds``), and reads
our own feed back for ``lod import ical`` (``abstract_of``, ``title_of``, ``slot_talks``),
so that writing and reading the format are in one place.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import icalendar

from lod.model import records as R
from lod.model.iri import KIND_PATHS
from lod.publishing.prepared import Prepared

PRODID = "-//lod-talks//lod build//EN"


def stamp(p: Prepared, talk: R.Scheduled) -> datetime:
    """Midnight UTC of the latest date the record's sources were taken."""
    return _midnight(taken_of(p, talk))


def taken_of(p: Prepared, rec: R.Record) -> str:
    return max((p.dataset.sources[s].taken for s in rec.sources if s in p.dataset.sources), default="1970-01-01")


def _midnight(taken: str) -> datetime:
    d = date.fromisoformat(taken)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


SEQUENCE_EPOCH = date(2000, 1, 1)


def version_stamp(taken: str, content: bytes) -> tuple[int, datetime]:
    """(SEQUENCE, LAST-MODIFIED) of an event from the latest date taken of its sources and its other lines.

    See ``lod.publishing.feeds``' docstring: SEQUENCE never goes backwards as dates taken move
    forward; LAST-MODIFIED moves within that day with a hash of the content.
    """
    day = date.fromisoformat(taken)
    seconds = int.from_bytes(hashlib.sha256(content).digest()[:4], "big") % 86_400
    return max(0, (day - SEQUENCE_EPOCH).days), _midnight(taken) + timedelta(seconds=seconds)


def person_text(p: Prepared, pid: str) -> str:
    """A person's name with their affiliations: ``Joan Bruna (New York University)``."""
    ds = p.dataset
    person = ds.people.get(pid)
    if person is None:
        return pid
    orgs = [ds.organizations[o].name for o in person.affiliations if o in ds.organizations]
    return person.display_name + (f" ({', '.join(orgs)})" if orgs else "")


def summary_text(p: Prepared, talk: R.Talk) -> str:
    """SUMMARY: the title, else the speakers (or the session or event) and why there is no title."""
    from lod.publishing.pages.constants import NO_TITLE_TEXT, TITLE_STATUS_TEXT

    if talk.title:
        return talk.title
    why = TITLE_STATUS_TEXT.get(talk.title_status or "", NO_TITLE_TEXT).lower()
    names = [p.dataset.people[s].display_name for s in talk.speakers if s in p.dataset.people]
    if names:
        return f"{', '.join(names)} ({why})"
    parents = p.site_index.ancestors("talk", talk)
    if parents:
        return f"Talk in {scheduled_name(parents[0][1])} ({why})"
    return f"Talk ({why})"


def scheduled_name(rec: R.Scheduled) -> str:
    """A session's, event's or series' name (a session without a title by its id)."""
    if isinstance(rec, R.Session):
        return rec.title or f"Session {rec.id}"
    return getattr(rec, "name", "") or rec.id


# What ``description_text`` puts before the abstract (``abstract_of`` reads it back).
_HEADER_PREFIXES = ("Speaker: ", "Speakers: ", "Joint work with ", "Part of: ")
_PAGE_LINE = re.compile(r"\n*https?://\S+/talk/[^/\s]+\.html\Z")
_SLOT_LINE = re.compile(r"^- (?P<text>.*): (?P<url>https?://\S+/talk/(?P<id>[^/\s]+)\.html)$", re.M)


def is_own(cal: icalendar.Calendar) -> bool:
    """True for a calendar this module wrote (its PRODID)."""
    return str(cal.get("PRODID", "")) == PRODID


def abstract_of(description: str) -> str:
    """The abstract in a DESCRIPTION ``description_text`` wrote (so an import of our own feed
    reads back what the data said): without the lines naming speakers, co-authors and
    series before it, and without the page's address after it."""
    lines = description.split("\n")
    n = 0
    while n < len(lines) and lines[n].startswith(_HEADER_PREFIXES):
        n += 1
    body = "\n".join(lines[n:]).strip("\n") if n else description
    return _PAGE_LINE.sub("", body).strip()


def title_of(summary: str) -> str | None:
    """The title in a SUMMARY ``summary_text`` wrote: None when it names the speakers or the
    session instead ("Joan Bruna (title not given)")."""
    from lod.publishing.pages.constants import NO_TITLE_TEXT, TITLE_STATUS_TEXT

    whys = {text.lower() for text in (*TITLE_STATUS_TEXT.values(), NO_TITLE_TEXT)}
    if summary.endswith(")") and summary.rpartition(" (")[2][:-1] in whys:
        return None
    return summary or None


def slot_talks(description: str) -> list[tuple[str, str | None]]:
    """The talks a session's slot lists (``session_vevent``): (talk id, title or None)."""
    out = []
    for m in _SLOT_LINE.finditer(description):
        text = m.group("text").split(" — ", 1)[0]
        out.append((m.group("id"), None if text.lower() in _no_titles() else title_of(text)))
    return out


def _no_titles() -> set[str]:
    from lod.publishing.pages.constants import NO_TITLE_TEXT, TITLE_STATUS_TEXT

    return {text.lower() for text in (*TITLE_STATUS_TEXT.values(), NO_TITLE_TEXT)}


def page_url(p: Prepared, kind: str, rid: str) -> str:
    """The URL of a record's HTML page."""
    return f"{p.minter.base}{KIND_PATHS[kind]}/{rid}.html"


def description_text(p: Prepared, talk: R.Talk) -> str:
    """DESCRIPTION: speakers with affiliations, where the talk belongs, the abstract, the page."""
    lines: list[str] = []
    if talk.speakers:
        lines.append(("Speaker: " if len(talk.speakers) == 1 else "Speakers: ")
                     + "; ".join(person_text(p, s) for s in talk.speakers))
    if talk.coauthors:
        lines.append("Joint work with " + "; ".join(person_text(p, s) for s in talk.coauthors))
    parents = [scheduled_name(a) for _k, a in reversed(p.site_index.ancestors("talk", talk))]
    if parents:
        lines.append("Part of: " + " › ".join(parents))
    if talk.abstract:
        lines += ["", talk.abstract.strip()]
    lines += ["", page_url(p, "talk", talk.id)]
    return "\n".join(lines)


def location_text(p: Prepared, talk: R.Scheduled) -> str | None:
    """Where a talk is, as one line: room, building, address; and the online place with its link."""
    ds = p.dataset
    parts: list[str] = []
    if talk.venue and talk.venue in ds.places:
        chain: list[R.Place] = []
        cur: R.Place | None = ds.places[talk.venue]
        while cur is not None and cur not in chain:
            chain.append(cur)
            cur = ds.places.get(cur.contained_in or "")
        names = [chain[0].name + (f" ({chain[0].code})" if chain[0].code and chain[0].code not in chain[0].name
                                  else "")]
        names += [pl.name for pl in chain[1:] if pl.name not in chain[0].name]
        addr = next((pl.address for pl in chain if pl.address is not None), None)
        if addr is not None:
            names += [x for x in (addr.street, addr.locality, addr.region, addr.postal_code, addr.country) if x]
        parts.append(", ".join(names))
    if talk.online and talk.online in ds.places:
        online = ds.places[talk.online]
        parts.append("online: " + online.name + (f" {online.url}" if online.url else ""))
    return "; ".join(parts) or None
