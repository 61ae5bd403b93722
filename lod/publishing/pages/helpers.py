"""What templates call (``Helpers``), and the page parts rendered once per page depth (``Fragments``).

Links are relative to the current page (``../`` per level of its path), so each helper
object serves pages at one depth; the HTML functions of ``lod.publishing.pages.items`` and
``lod.publishing.pages.talkpage`` take one as ``h``.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from datetime import date
from typing import Any

import jinja2
from markupsafe import Markup

from lod.model import records as R
from lod.model.iri import KIND_PATHS
from lod.publishing.prepared import Prepared
from lod.publishing.pages.constants import ATTENDANCE_TEXT, KIND_TEXT, LANGUAGES, NO_TITLE_TEXT, STATUS_TEXT, TITLE_STATUS_TEXT
from lod.publishing.pages.items import (affiliated_html, calendar_link_html, people_html, role_sections_html, scheduled_facts_html,
                    scheduled_item_html, sources_html, talk_item_html, talk_list_html)
from lod.publishing.pages.mathml import paragraphs_html, tex_html
from lod.publishing.pages.packed import Packer
from lod.publishing.pages.reads import RECORDER, IndexView
from lod.publishing.pages.recent import Recent
from lod.publishing.pages.times import MONTHS, long_date, time_el, when_html, when_short, zone_label


class Helpers:
    """What templates call: links relative to the current page, names, titles and times."""

    def __init__(self, p: Prepared, index: IndexView, path: str, feeds: Container[tuple[str, str]],
                 fragments: Fragments | None = None) -> None:
        self.p = p
        self.fragments = fragments
        self.feeds = feeds
        self.ds = p.dataset
        self.m = p.minter
        self.index = index
        self.path = path
        self.up = "../" * path.count("/")
        self.when = when_html
        self.when_short = when_short
        self.paragraphs = paragraphs_html
        self.tex = tex_html
        self.status_text = STATUS_TEXT
        self.attendance_text = ATTENDANCE_TEXT

    def root(self) -> str:
        """The index page's document, relative to this page (``index.html``: no server needed)."""
        return self.up + "index.html"

    def file(self, name: str) -> str:
        """A site document (``dump.ttl``) relative to this page."""
        return self.up + name

    def href(self, kind: str, rid: str) -> str:
        """The page of a record (its ``.html`` document, so links work on any static host), relative to this page."""
        return f"{self.up}{KIND_PATHS[kind]}/{rid}.html"

    def topic_href(self, label: str) -> str:
        """The page of a topic."""
        path = self.m.path_of(str(self.m.topic(label)))
        return self.up + (path or "") + ".html"

    def person(self, pid: str) -> R.Person:
        """A person record."""
        return self.ds.people[pid]

    def org(self, oid: str) -> R.Organization:
        """An organisation record."""
        return self.ds.organizations[oid]

    def place(self, pid: str) -> R.Place:
        """A place record."""
        return self.ds.places[pid]

    def source(self, sid: str) -> R.Source:
        """A source record."""
        return self.ds.sources[sid]

    def agent(self, rid: str) -> tuple[str, str]:
        """(kind, display name) of an organiser id, a person or an organisation."""
        if rid in self.ds.people:
            return "person", self.ds.people[rid].display_name
        return "organization", self.ds.organizations[rid].name

    def record(self, kind: str, rid: str) -> R.Record | None:
        """Any record."""
        return self.index.record(kind, rid)

    def name(self, kind: str, rec: R.Record) -> str:
        """The plain-text name of any record (UI text for talks without a title)."""
        if isinstance(rec, R.Talk):
            return talk_title_text(rec, self.ds)
        if isinstance(rec, R.Person):
            return rec.display_name
        if isinstance(rec, R.Session):
            return rec.title or f"Session {rec.id}"
        if isinstance(rec, R.Source):
            return rec.title or rec.document or rec.id
        return getattr(rec, "name", "") or rec.id

    def title(self, t: R.Talk) -> Markup:
        """A talk's title with its TeX as MathML, or the UI text saying why there is none."""
        if t.title:
            return tex_html(t.title)
        text = TITLE_STATUS_TEXT.get(t.title_status or "", NO_TITLE_TEXT)
        return Markup('<span class="no-title">{}</span>').format(text)

    def ancestors(self, kind: str, rec: R.Scheduled) -> list[tuple[str, R.Scheduled]]:
        """Session, event and series of a record, outermost first."""
        return list(reversed(self.index.ancestors(kind, rec)))

    def children(self, kind: str, rid: str) -> list[tuple[str, R.Scheduled]]:
        """The talks, sessions and events directly in a series, event or session, by date."""
        return self.index.children.get((kind, rid), [])

    def talks_under(self, kind: str, rid: str) -> list[R.Talk]:
        """All talks of a series, event or session."""
        return self.index.talks_under(kind, rid)

    def talks_venue(self, kind: str, rid: str) -> str | None:
        """The venue all the talks of a session (series, event) are at, if they have one and the same."""
        venues = {t.venue for t in self.talks_under(kind, rid)}
        return venues.pop() if len(venues) == 1 else None

    def place_chain(self, pid: str) -> list[R.Place]:
        """A place and those containing it."""
        return self.index.place_chain(pid)

    def address(self, addr: R.Address | None) -> str:
        """A postal address on one line."""
        if addr is None:
            return ""
        region = " ".join(x for x in (addr.region, addr.postal_code) if x)
        return ", ".join(x for x in (addr.street, addr.locality, region, addr.country) if x)

    def place_address(self, pid: str) -> str:
        """The address of a place or of the place it is in."""
        return self.address(self.index.place_address(pid))

    def affiliations(self, pid: str) -> list[R.Organization]:
        """A person's organisations."""
        return [self.ds.organizations[o] for o in self.ds.people[pid].affiliations if o in self.ds.organizations]

    def talk_item(self, t: R.Talk, show_parent: bool = False, note: str | None = None,
                  no_day: bool = False) -> Markup:
        """A talk as an item of a list (the ``talk_item`` macro), rendered once per page depth."""
        if self.fragments is None:
            raise RuntimeError("talk_item needs the renderer's fragments")
        return self.fragments.talk_item(self.up, t, show_parent, note, no_day)

    def fragment(self, macro: str, *args: str | bool | None) -> Markup:
        """A macro of ``_macros.html`` whose output depends only on its arguments (ids) and the page depth."""
        if self.fragments is None:
            raise RuntimeError("fragment needs the renderer's fragments")
        return self.fragments.call(self.up, macro, args)

    def people(self, ids: Sequence[str], with_affiliations: bool = True) -> Markup:
        """People's links (with their affiliations), comma-separated."""
        return Markup(people_html(self, ids, with_affiliations))

    def scheduled_facts(self, rec: R.Scheduled) -> Markup:
        """The facts of a talk, session, event or series (``lod.publishing.pages.items``)."""
        return scheduled_facts_html(self, rec)

    def calendar_link(self, kind: str, rid: str) -> Markup:
        """The "Add to calendar" paragraph, when the record has a calendar file."""
        return calendar_link_html(self, kind, rid)

    def sources(self, rec: R.Record) -> Markup:
        """The Sources section of a record's page."""
        return sources_html(self, rec)

    def talk_list(self, talks: Sequence[R.Talk], show_parent: bool = False, empty: str = "No talks.") -> Markup:
        """A list of talks, or *empty* (``lod.publishing.pages.items``)."""
        return talk_list_html(self, talks, show_parent, empty)

    def scheduled_item(self, kind: str, rec: R.Scheduled, show_parent: bool = False, no_day: bool = False) -> Markup:
        """A talk, session, event or series as a list item (``lod.publishing.pages.items``)."""
        return scheduled_item_html(self, kind, rec, show_parent, no_day)

    def role_sections(self, roles: Mapping[str, Sequence[tuple[str, R.Scheduled]]],
                      headings: Sequence[tuple[str, str]]) -> Markup:
        """The sections of a person's or organisation's roles (``lod.publishing.pages.items``)."""
        return role_sections_html(self, roles, headings)

    def affiliated(self, org: R.Organization, affiliated: Sequence[tuple[R.Person, str]],
                   sub_orgs: Sequence[str]) -> Markup:
        """An organisation's people and their talks (``lod.publishing.pages.items``)."""
        return affiliated_html(self, org, affiliated, sub_orgs)

    def has_feed(self, kind: str, rid: str) -> bool:
        """True if a calendar file is written for this record."""
        return (kind, rid) in self.feeds

    kind_text = KIND_TEXT

    def duration_text(self, iso: str) -> str:
        """``1 hour 30 minutes`` from ``PT1H30M``."""
        m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", iso)
        if not m:
            return iso
        parts = []
        for n, unit in zip(m.groups(), ("day", "hour", "minute", "second")):
            if n and int(n):
                parts.append(f"{int(n)} {unit}{'s' if int(n) != 1 else ''}")
        return " ".join(parts) or iso

    def language_text(self, tag: str) -> str:
        """A language name for the common BCP 47 tags, else the tag."""
        return LANGUAGES.get(tag.lower(), tag)

    def when_previous(self, t: R.Talk) -> Markup:
        """The original time of a rescheduled talk."""
        w = t.previous_start_at
        if w is None:
            return Markup("")
        if w.is_date or w.local is None:
            return time_el(w.lexical, long_date(date.fromisoformat(w.lexical[:10])))
        return time_el(w.lexical, f"{long_date(w.local.date())}, {w.local:%H:%M} {zone_label(w)}")

    def programme(self, kind: str, rid: str) -> list[tuple[str, list[tuple[str, R.Scheduled]]]]:
        """The talks, sessions and events of a series or event, by date, grouped by local day."""
        days: dict[str, list[tuple[str, R.Scheduled]]] = {}
        for k, rec in self.children(kind, rid):
            day = rec.start_at.lexical[:10] if rec.start_at else ""
            days.setdefault(day, []).append((k, rec))
        return [(long_date(date.fromisoformat(day)) if day else "Date not given", its) for day, its in days.items()]

    def org_parents(self, oid: str) -> list[R.Organization]:
        """The organisations an organisation is part of, nearest first."""
        out: list[R.Organization] = []
        cur = self.ds.organizations[oid].parent
        while cur and cur in self.ds.organizations and all(o.id != cur for o in out):
            out.append(self.ds.organizations[cur])
            cur = self.ds.organizations[cur].parent
        return out

    def person_talks(self, pid: str) -> list[R.Talk]:
        """The talks a person gives or co-authors."""
        return self.index.person_talks(pid)

    def room_note(self, t: R.Talk, pid: str) -> str | None:
        """For a talk listed on a building's page: the room it is in."""
        for place_id in (t.venue, t.online):
            if (place_id and place_id != pid and place_id in self.ds.places
                    and pid in [pl.id for pl in self.index.place_chain(place_id)]):
                return self.ds.places[place_id].name
        return None

    def span(self, kind: str, rec: R.Scheduled) -> tuple[str, str, int]:
        """First and last day of a series or event as text (its own dates, else those of its talks;
        "" for none), and its number of talks."""
        first, last, n = self.index.span(kind, rec.id)
        return (self.date_text(first) if first else "", self.date_text(last) if last else "", n)

    def date_text(self, lexical: str) -> str:
        """``22 November 2026`` from ``2026-11-22``."""
        try:
            d = date.fromisoformat(lexical)
        except ValueError:
            return lexical
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def talk_title_text(t: R.Talk, ds: R.Dataset) -> str:
    """A talk's title as plain text (TeX source kept), or UI text naming the speakers."""
    if t.title:
        return t.title
    text = TITLE_STATUS_TEXT.get(t.title_status or "", NO_TITLE_TEXT)
    names = [ds.people[s].display_name for s in t.speakers if s in ds.people]
    return f"{'Talk by ' + ', '.join(names) + ' (' + text.lower() + ')' if names else text}"


# Stands for the links' prefix in a kept talk item: made once, the item serves pages at every
# depth with the prefix put in. No text of the data holds it (fields refuse control characters).
LINKS = "\x00"


class Fragments:
    """Parts of pages that many pages repeat, rendered once and reused.

    A talk is listed on its speakers', their organisations', its places', topics' and
    series' pages and on the index: the ``talk_item`` macro depends only on the talk, its
    arguments and the links' prefix (``../`` per level of the page's path), so its output
    is kept under the talk and its arguments, with ``LINKS`` where the prefix goes (one
    item per form, not one per depth too: each page worker held about a million at 100k
    talks). A person's link (with affiliations) and a place's are kept per depth.
    """

    def __init__(self, p: Prepared, index: IndexView, env: jinja2.Environment,
                 feeds: Container[tuple[str, str]]) -> None:
        self.p = p
        self.index = index
        self.env = env
        self.feeds = feeds
        self._macros: dict[str, Any] = {}
        self._helpers: dict[str, Helpers] = {}
        # Each kept with what making it read (``Recorder.memo``): a page reusing it read that too.
        self._talk_items: Recent[tuple[str, bool, str | None, bool], Any] = Recent()
        self._packer = Packer()  # the kept items, deflated (a tenth of the memory as str)
        self._calls: Recent[tuple[str, str, tuple[str | bool | None, ...]], Any] = Recent()

    def call(self, up: str, macro: str, args: tuple[str | bool | None, ...]) -> Markup:
        """The macro *macro* of ``_macros.html`` called with *args* for a page whose links start with *up*."""
        html: Markup = RECORDER.memo(self._calls, (up, macro, args),
                                     lambda: getattr(self.macros(up), macro)(*args))
        return html

    def talk_item(self, up: str, t: R.Talk, show_parent: bool, note: str | None, no_day: bool = False) -> Markup:
        """A talk's list item (``lod.publishing.pages.items``) for a page whose links start with *up*."""
        packed: str | bytes = RECORDER.memo(
            self._talk_items, (t.id, show_parent, note, no_day),
            lambda: self._packer.pack(str(self._talk_item(LINKS, t, show_parent, note, no_day))))
        return Markup(self._packer.unpack(packed).replace(LINKS, up))

    def _talk_item(self, up: str, t: R.Talk, show_parent: bool, note: str | None, no_day: bool) -> Markup:
        RECORDER.note(("talk", t.id))  # handed in, not looked up: read all the same
        return talk_item_html(self.helpers(up), t, show_parent, note, no_day)

    def helpers(self, up: str) -> Helpers:
        """Helpers making links for pages at the depth of *up*."""
        h = self._helpers.get(up)
        if h is None:
            h = self._helpers[up] = Helpers(self.p, self.index, "x/" * up.count("../"), self.feeds, self)
            h.up = up  # LINKS too
        return h

    def macros(self, up: str) -> Any:
        """``_macros.html`` as a module whose helpers make links for pages at the depth of *up*."""
        module = self._macros.get(up)
        if module is None:
            module = self._macros[up] = self.env.get_template("_macros.html").make_module({"h": self.helpers(up)})
        return module
