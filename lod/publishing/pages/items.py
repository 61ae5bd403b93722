"""The HTML many pages repeat, as plain string functions: list items, facts and sources.

A talk is listed on many pages (its speakers', organisations', places', topics', series'
pages and the index), and every record page has facts and sources; rendering these
through Jinja macros cost more than the rest of those pages. The HTML here is what those
macros of ``_macros.html`` produced (the macros are gone, so this is the one source;
templates call these through ``Helpers``); every value is escaped explicitly with
``markupsafe.escape``, as autoescaping did (tests/test_pages_python.py compares them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup, escape

from lod.model import records as R
from lod.model.iri import KIND_PATHS
from lod.publishing.pages.times import when_time

if TYPE_CHECKING:
    from lod.publishing.pages.render import Helpers


def people_html(h: Helpers, ids: Sequence[str], with_affiliations: bool = True) -> str:
    """People's links (with their affiliations), comma-separated (the ``people`` macro)."""
    return ", ".join([h.fragment("person_link", pid, with_affiliations) for pid in ids])


def talk_item_html(h: Helpers, t: R.Talk, show_parent: bool = False, note: str | None = None,
                   no_day: bool = False) -> Markup:
    """A talk as an item of a list: when, status, title, speakers, where it belongs and a note.

    With *no_day*, the time without the day (the list is under a heading giving the day)."""
    parts = ["<li>\n<div>", when_time(t) if no_day else h.when_short(t)]
    if t.status != "scheduled":
        parts += [' <span class="status">', escape(h.status_text[t.status]), "</span>"]
    parts += ['</div>\n<div><a class="item-title" href="', escape(h.href("talk", t.id)), '">',
              h.title(t), "</a></div>\n"]
    ancestors = h.ancestors("talk", t) if show_parent else []
    if t.speakers or ancestors or note:
        parts.append('<div class="meta">')
        if t.speakers:
            parts.append(people_html(h, t.speakers))
        for n, (k, a) in enumerate(ancestors):
            if n == 0 and t.speakers:
                parts.append(" · ")
            if n:
                parts.append(" › ")
            parts += ['<a href="', escape(h.href(k, a.id)), '">', escape(h.name(k, a)), "</a>"]
        if note:
            parts += [" · ", escape(note)]
        parts.append("</div>\n")
    parts.append("</li>")
    return Markup("".join(parts))


def agents_html(h: Helpers, ids: Sequence[str]) -> str:
    """Organisers' links (people or organisations), comma-separated."""
    out = []
    for rid in ids:
        kind, name = h.agent(rid)
        out.append(f'<a href="{escape(h.href(kind, rid))}">{escape(name)}</a>')
    return ", ".join(out)


def scheduled_facts_html(h: Helpers, rec: R.Scheduled) -> Markup:
    """The ``<dt>``/``<dd>`` facts of a talk, session, event or series: when, where, how, who organises."""
    parts = []
    if rec.start_at:
        parts += ["<dt>When</dt><dd>", h.when(rec), "</dd>"]
    if rec.duration_iso and not rec.end_at:
        parts += ["<dt>Duration</dt><dd>", escape(h.duration_text(rec.duration_iso)), "</dd>"]
    if rec.start_at is None and rec.timezone:
        parts += ["<dt>Time zone</dt><dd>", escape(rec.timezone), "</dd>"]
    if rec.venue:
        parts += ["<dt>Where</dt><dd>", h.fragment("place", rec.venue), "</dd>"]
    if rec.online:
        parts += ["<dt>Online</dt><dd>", h.fragment("online", rec.online), "</dd>"]
    if rec.attendance:
        parts += ["<dt>Attendance</dt><dd>", escape(h.attendance_text[rec.attendance]), "</dd>"]
    if rec.language:
        parts += ["<dt>Language</dt><dd>", escape(h.language_text(rec.language)), "</dd>"]
    if rec.organizers:
        parts += ["<dt>Organised by</dt><dd>", agents_html(h, rec.organizers), "</dd>"]
    if rec.url:
        url = escape(rec.url)
        parts += ['<dt>Web page</dt><dd><a href="', url, '">', url, "</a></dd>"]
    return Markup("".join(parts))


def calendar_link_html(h: Helpers, kind: str, rid: str) -> Markup:
    """How to get the record's calendar when one is written, else nothing.

    A talk's calendar is one event to add; a series', event's or person's is a feed that
    calendar programs subscribe to (and update), so it says so and offers Google's and
    Outlook's subscription links beside the ``.ics`` address.
    """
    if not h.has_feed(kind, rid):
        return Markup("")
    ics = escape(rid) + ".ics"
    if kind == "talk":
        return Markup(f'<p class="calendar"><a href="{ics}" type="text/calendar">Add to calendar</a> '
                      '<span class="meta">(iCalendar file)</span></p>')
    url = f"{h.m.base}{KIND_PATHS[kind]}/{rid}.ics"
    webcal = "webcal" + url[url.index(":"):]
    google = "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe="")
    outlook = "https://outlook.live.com/calendar/0/addfromweb?url=" + quote(url, safe="")
    return Markup(f'<p class="calendar">Subscribe to this calendar (it updates as talks are added or changed): '
                  f'<a href="{ics}" type="text/calendar">iCalendar feed</a> · '
                  f'<a href="{escape(google)}" rel="nofollow">Google Calendar</a> · '
                  f'<a href="{escape(outlook)}" rel="nofollow">Outlook</a></p>')


def sources_html(h: Helpers, rec: R.Record) -> Markup:
    """The Sources section of a record's page: where each fact was read, and what was inferred."""
    parts = ['<section aria-labelledby="sources">\n<h2 id="sources">Sources</h2>\n<ul>\n']
    for sid in rec.sources:
        s = h.source(sid)
        parts += ['<li><a href="', escape(h.href("source", sid)), '">', escape(s.title or s.document or sid), "</a>"]
        if s.url:
            url = escape(s.url)
            parts += [', <a href="', url, '">', url, "</a>"]
        parts.append(' <span class="meta">(')
        if s.document:
            parts += ["document ", escape(s.document), ", "]
        parts += ['taken <time datetime="', escape(s.taken), '">', escape(h.date_text(s.taken)),
                  "</time>)</span></li>\n"]
    parts.append("</ul>\n")
    if rec.inferred:
        parts.append("<details>\n<summary>What was inferred rather than read</summary>\n<dl>\n")
        for name, why in dictsort(rec.inferred):
            parts += ["<dt>", escape(name), "</dt><dd>", escape(why), "</dd>\n"]
        parts.append("</dl>\n</details>\n")
    parts.append("</section>")
    return Markup("".join(parts))


def dictsort(d: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A mapping's items sorted by key ignoring case, as Jinja's ``dictsort`` filter sorts them."""
    return sorted(d.items(), key=lambda kv: kv[0].lower())


def talk_list_html(h: Helpers, talks: Sequence[R.Talk], show_parent: bool = False, empty: str = "No talks.") -> Markup:
    """A list of talks (the index's can hold every talk of the site), or the text saying there is none."""
    if not talks:
        return Markup(f'<p class="meta">{escape(empty)}</p>\n')
    parts = ['<ul class="items">\n']
    for t in talks:
        parts += [h.talk_item(t, show_parent), "\n"]
    parts.append("</ul>\n")
    return Markup("".join(parts))


def scheduled_item_html(h: Helpers, kind: str, rec: R.Scheduled, show_parent: bool = False,
                        no_day: bool = False) -> Markup:
    """A talk, session, event or series as a list item; a session's or event's own items nested in it.

    With *no_day*, times without their day (the list is under a heading giving it)."""
    if isinstance(rec, R.Talk) and kind == "talk":
        return h.talk_item(rec, show_parent, None, no_day)
    parts = ["<li>\n<div>", when_time(rec) if no_day else h.when_short(rec), '</div>\n<div><a class="item-title" href="', escape(h.href(kind, rec.id)),
             '">', escape(h.name(kind, rec)), '</a> <span class="meta">', escape(h.kind_text[kind]), "</span></div>\n"]
    inner = h.children(kind, rec.id)
    if inner:
        parts.append('<ul class="items">\n')
        for k, r in inner:
            parts += [scheduled_item_html(h, k, r, False, no_day), "\n"]
        parts.append("</ul>\n")
    parts.append("</li>\n")
    return Markup("".join(parts))


def role_sections_html(h: Helpers, roles: Mapping[str, Sequence[tuple[str, R.Scheduled]]],
                       headings: Sequence[tuple[str, str]]) -> Markup:
    """One section per role a person or organisation has (talks given, organised, cited in …) that is not empty."""
    parts = []
    for role, heading in headings:
        items = roles.get(role)
        if not items:
            continue
        r = escape(role)
        parts += ['<section aria-labelledby="', r, '">\n<h2 id="', r, '">', escape(heading), '</h2>\n<ul class="items">\n']
        for k, rec in items:
            parts += [scheduled_item_html(h, k, rec, k == "talk"), "\n"]
        parts.append("</ul>\n</section>\n")
    return Markup("".join(parts))


def affiliated_html(h: Helpers, org: R.Organization, affiliated: Sequence[tuple[R.Person, str]],
                    sub_orgs: Sequence[str]) -> Markup:
    """An organisation's people (with the sub-organisation they are in) and each one's talks."""
    if not affiliated:
        subs = " or its sub-organisations" if sub_orgs else ""
        return Markup(f'<p class="meta">No one in the data is affiliated with {escape(org.name)}{subs}.</p>\n')
    parts = ['<ul class="items">\n']
    for person, via in affiliated:
        parts += ['<li><a class="item-title" href="', escape(h.href("person", person.id)), '">',
                  escape(person.display_name), "</a>"]
        if via != org.id:
            parts += [' <span class="meta">(<a href="', escape(h.href("organization", via)), '">',
                      escape(h.org(via).name), "</a>)</span>"]
        talks = h.person_talks(person.id)
        if talks:
            parts.append('<ul class="items">\n')
            for t in talks:
                parts += [h.talk_item(t), "\n"]
            parts.append("</ul>\n")
        parts.append("</li>\n")
    parts.append("</ul>\n")
    return Markup("".join(parts))
