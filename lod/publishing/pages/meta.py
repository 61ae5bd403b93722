"""Each page's ``<title>`` and ``<meta name="description">``, derived from what the page shows.

Titles must tell pages apart in a search result or a browser tab, so each adds to the
record's name what the page itself shows beside it: a talk its speakers and day, a
session its day and event, an organisation the one it is part of, a place the place it
is in, a source the day it was taken. A description is the record's own text (abstract,
description) where it has one, else a sentence made of the facts the page lists. Nothing
here is invented: a talk without a title says so, as the page does. Both depend only on
what the page shows, so a page whose content did not change keeps them (the incremental
build's dirty rule, ``lod.publishing.pages.dirty``, needs no new dependency).
"""

from __future__ import annotations

from datetime import date

from lod.model import records as R
from lod.publishing.pages.constants import KIND_TEXT, NO_TITLE_TEXT, TITLE_STATUS_TEXT
from lod.publishing.pages.helpers import Helpers, talk_title_text
from lod.publishing.pages.times import MONTHS, zone_label

DESCRIPTION_LIMIT = 200  # characters; search engines cut longer snippets


def plain_summary(text: str | None, limit: int = DESCRIPTION_LIMIT) -> str | None:
    """The start of a text on one line, cut at a word, for ``<meta name="description">``."""
    if not text:
        return None
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def day_text(w: R.When | None) -> str:
    """``20 Feb 2025``: the local day of a time, or "" without one."""
    if w is None:
        return ""
    try:
        d = date.fromisoformat(w.lexical[:10])
    except ValueError:
        return w.lexical
    return f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}"


def when_text(w: R.When | None) -> str:
    """``20 Feb 2025, 09:00 America/Chicago (UTC-06:00)``, or the day alone when that is all that is known."""
    if w is None:
        return ""
    if w.is_date or w.local is None:
        return day_text(w)
    return f"{day_text(w)}, {w.local:%H:%M} {zone_label(w)}"


def speaker_names(h: Helpers, t: R.Talk) -> list[str]:
    """The display names of a talk's speakers."""
    return [h.ds.people[s].display_name for s in t.speakers if s in h.ds.people]


def talk_title(h: Helpers, t: R.Talk) -> str:
    """A talk page's title: its title (or the text saying why there is none), speakers and day.

    A talk known by neither title nor speaker (a student talk of a workshop's session) is
    told apart by its identifier, the only thing the data gives it.
    """
    names = speaker_names(h, t)
    day = day_text(t.start_at)
    if t.title:
        extra = ", ".join(x for x in (", ".join(names), day) if x)
        return f"{t.title} ({extra})" if extra else t.title
    if names:
        return ", ".join(x for x in (talk_title_text(t, h.ds), day) if x)
    text = TITLE_STATUS_TEXT.get(t.title_status or "", NO_TITLE_TEXT)
    return f"{text}: talk {t.id}" + (f", {day}" if day else "")


def record_title(h: Helpers, kind: str, rec: R.Record) -> str:
    """The title of a record's page (talks: ``talk_title``)."""
    if isinstance(rec, R.Talk):
        return talk_title(h, rec)
    name = h.name(kind, rec)
    if isinstance(rec, R.Session):
        parents = [h.name(k, a) for k, a in h.ancestors(kind, rec)]
        extra = ", ".join(x for x in (day_text(rec.start_at), *reversed(parents)) if x)
        return f"{name} ({extra})" if extra else name
    if isinstance(rec, R.Organization):
        orgs = h.org_parents(rec.id)
        return f"{name}, {orgs[0].name}" if orgs else name
    if isinstance(rec, R.Place):
        chain = h.place_chain(rec.id)[1:]
        return f"{name}, {chain[0].name}" if chain else name
    if isinstance(rec, R.Source):
        return f"{name} (source document taken {h.date_text(rec.taken)})" if rec.taken else f"{name} (source document)"
    return name


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _sentence(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def record_description(h: Helpers, kind: str, rec: R.Record, site: str) -> str:
    """The meta description of a record's page: its own text, else the facts its page lists."""
    if isinstance(rec, R.Talk):
        own = plain_summary(rec.abstract)
        if own:
            return own
        names = speaker_names(h, rec)
        what = rec.title or TITLE_STATUS_TEXT.get(rec.title_status or "", NO_TITLE_TEXT).lower()
        lead = f"Talk by {', '.join(names)}: {what}." if names else f"Talk: {what}."
        parents = [h.name(k, a) for k, a in h.ancestors("talk", rec)]
        return plain_summary(_sentence(lead, f"{when_text(rec.start_at)}." if rec.start_at else "",
                                       f"Part of {' › '.join(parents)}." if parents else "")) or lead
    if isinstance(rec, R.Gathering):
        own = plain_summary(rec.description)
        if own:
            return own
        first, last, n = h.span(kind, rec)
        span = f"{first} – {last}" if last and last != first else first
        label = KIND_TEXT[kind] if kind == "series" else (getattr(rec, "kind", None) or "event").capitalize()
        return _sentence(f"{label}: {rec.name}.", f"{span}." if span else "", f"{_count(n, 'talk')}.")
    if isinstance(rec, R.Session):
        parents = [h.name(k, a) for k, a in h.ancestors(kind, rec)]
        n = len(h.talks_under(kind, rec.id))
        return _sentence(f"Session {h.name(kind, rec)}", f"of {' › '.join(parents)}," if parents else "",
                         f"{when_text(rec.start_at)}:" if rec.start_at else ":", f"{_count(n, 'talk')}.")
    if isinstance(rec, R.Person):
        affiliations = ", ".join(o.name for o in h.affiliations(rec.id))
        n = len(h.person_talks(rec.id))
        return _sentence(f"{rec.display_name}" + (f" ({affiliations})" if affiliations else "") + f" on {site}:",
                         f"{_count(n, 'talk')}.")
    if isinstance(rec, R.Organization):
        orgs = h.org_parents(rec.id)
        people = h.index.count(("organization", rec.id))
        part = f", part of {', '.join(o.name for o in orgs)}" if orgs else ""
        who = f"{people} {'person' if people == 1 else 'people'} affiliated"
        return f"{rec.name}{part}: {who} in the data of {site}."
    if isinstance(rec, R.Place):
        chain = ", ".join(pl.name for pl in h.place_chain(rec.id))
        address = h.place_address(rec.id)
        n = h.index.count(("place", rec.id))
        return _sentence(("Online place" if rec.virtual else "Place") + f": {chain}.", f"{address}." if address else "",
                         f"{_count(n, 'talk')} here on {site}.")
    if isinstance(rec, R.Source):
        derived = h.index.count(("source", rec.id))
        what = rec.title or rec.document or rec.id
        return _sentence(f"Source document {what}", f"taken {h.date_text(rec.taken)}," if rec.taken else "",
                         f"from which {_count(derived, 'record')} of {site} {'was' if derived == 1 else 'were'} read.")
    return f"{KIND_TEXT.get(kind, kind)} {h.name(kind, rec)} on {site}."


def topic_description(label: str, n: int, site: str) -> str:
    """The meta description of a topic's page."""
    return f"{_count(n, 'talk')} on {label}, on {site}."
