"""The plain-Python HTML of lod.publishing.pages.items equals what the Jinja macros wrote, and every page part escapes.

OLD_MACROS is the macros as they were before they became Python; both are rendered here,
on the seed records and on records given every optional field with hostile values, and
compared byte for byte. The talk page and the layout have changed since (issue 17), so
for them what is checked is that no hostile value comes through unescaped.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import html5lib
import jinja2
from markupsafe import Markup
import pytest

from lod.model import records as R
from lod.publishing.pages.constants import STATUS_TEXT
from lod.publishing.pages.times import _utc_lexical
from lod.publishing.pages.jsonld import dumps_indented
from lod.publishing.pages.layout import page_html
from lod.publishing.pages.items import (affiliated_html, role_sections_html, scheduled_facts_html, scheduled_item_html, sources_html,
                             talk_item_html, talk_list_html)
from lod.publishing.pages.render import Renderer
from lod.publishing.build import Prepared, prepare

from .conftest import SEED_DATA, TEST_BASE

OLD_MACROS = '{% macro people(ids, with_affiliations=true) -%}\n{% for pid in ids %}{{ h.fragment(\'person_link\', pid, with_affiliations) }}{% if not loop.last %}, {% endif %}{% endfor %}\n{%- endmacro %}\n\n{% macro agents(ids) -%}\n{% for rid in ids %}{% set kind, name = h.agent(rid) %}<a href="{{ h.href(kind, rid) }}">{{ name }}</a>{% if not loop.last %}, {% endif %}{% endfor %}\n{%- endmacro %}\n\n{% macro talk_item(t, show_parent=false, note=none) -%}\n<li>\n<div>{{ h.when_short(t) }}{% if t.status != \'scheduled\' %} <span class="status">{{ h.status_text[t.status] }}</span>{% endif %}</div>\n<div><a class="item-title" href="{{ h.href(\'talk\', t.id) }}">{{ h.title(t) }}</a></div>\n{% if t.speakers or (show_parent and h.ancestors(\'talk\', t)) or note %}\n<div class="meta">{% if t.speakers %}{{ people(t.speakers) }}{% endif %}\n{% if show_parent %}{% for k, a in h.ancestors(\'talk\', t) %}{% if loop.first %}{% if t.speakers %} · {% endif %}{% endif %}<a href="{{ h.href(k, a.id) }}">{{ h.name(k, a) }}</a>{% if not loop.last %} › {% endif %}{% endfor %}{% endif %}\n{% if note %} · {{ note }}{% endif %}</div>\n{% endif %}\n</li>\n{%- endmacro %}\n\n{% macro scheduled_facts(kind, rec) -%}\n{% if rec.start_at %}<dt>When</dt><dd>{{ h.when(rec) }}</dd>{% endif %}\n{% if rec.duration_iso and not rec.end_at %}<dt>Duration</dt><dd>{{ h.duration_text(rec.duration_iso) }}</dd>{% endif %}\n{% if rec.start_at is none and rec.timezone %}<dt>Time zone</dt><dd>{{ rec.timezone }}</dd>{% endif %}\n{% if rec.venue %}<dt>Where</dt><dd>{{ h.fragment(\'place\', rec.venue) }}</dd>{% endif %}\n{% if rec.online %}<dt>Online</dt><dd>{{ h.fragment(\'online\', rec.online) }}</dd>{% endif %}\n{% if rec.attendance %}<dt>Attendance</dt><dd>{{ h.attendance_text[rec.attendance] }}</dd>{% endif %}\n{% if rec.language %}<dt>Language</dt><dd>{{ h.language_text(rec.language) }}</dd>{% endif %}\n{% if rec.organizers %}<dt>Organised by</dt><dd>{{ agents(rec.organizers) }}</dd>{% endif %}\n{% if rec.url %}<dt>Web page</dt><dd><a href="{{ rec.url }}">{{ rec.url }}</a></dd>{% endif %}\n{%- endmacro %}\n\n{% macro sources(rec) -%}\n<section aria-labelledby="sources">\n<h2 id="sources">Sources</h2>\n<ul>\n{% for sid in rec.sources %}{% set s = h.source(sid) %}\n<li><a href="{{ h.href(\'source\', sid) }}">{{ s.title or s.document or sid }}</a>\n{%- if s.url %}, <a href="{{ s.url }}">{{ s.url }}</a>{% endif %} <span class="meta">({% if s.document %}document {{ s.document }}, {% endif %}taken <time datetime="{{ s.taken }}">{{ h.date_text(s.taken) }}</time>)</span></li>\n{% endfor %}\n</ul>\n{% if rec.inferred %}\n<details>\n<summary>What was inferred rather than read</summary>\n<dl>\n{% for name, why in rec.inferred|dictsort %}\n<dt>{{ name }}</dt><dd>{{ why }}</dd>\n{% endfor %}\n</dl>\n</details>\n{% endif %}\n</section>\n{%- endmacro %}\n\n{% macro calendar_link(kind, rid) -%}\n{% if h.has_feed(kind, rid) %}<p><a href="{{ rid }}.ics" type="text/calendar">Add to calendar</a> <span class="meta">(iCalendar)</span></p>{% endif %}\n{%- endmacro %}\n' + '\n{% macro talk_list(talks, show_parent=false, empty="No talks.") -%}\n{% if talks %}\n<ul class="items">\n{% for t in talks %}\n{{ h.talk_item(t, show_parent) }}\n{% endfor %}\n</ul>\n{% else %}\n<p class="meta">{{ empty }}</p>\n{% endif %}\n{%- endmacro %}\n\n{% macro scheduled_item(kind, rec, show_parent=false) -%}\n{% if kind == \'talk\' %}{{ h.talk_item(rec, show_parent) }}{% else %}\n<li>\n<div>{{ h.when_short(rec) }}</div>\n<div><a class="item-title" href="{{ h.href(kind, rec.id) }}">{{ h.name(kind, rec) }}</a> <span class="meta">{{ h.kind_text[kind] }}</span></div>\n{% set inner = h.children(kind, rec.id) %}\n{% if inner %}\n<ul class="items">\n{% for k, r in inner %}{{ scheduled_item(k, r) }}\n{% endfor %}\n</ul>\n{% endif %}\n</li>\n{% endif %}\n{%- endmacro %}\n\n{% macro role_sections(roles, headings) -%}\n{# One section per role a person or organisation has: talks given, organised, cited in … #}\n{% for role, heading in headings %}\n{% if roles.get(role) %}\n<section aria-labelledby="{{ role }}">\n<h2 id="{{ role }}">{{ heading }}</h2>\n<ul class="items">\n{% for k, r in roles[role] %}{{ scheduled_item(k, r, true) if k == \'talk\' else scheduled_item(k, r) }}\n{% endfor %}\n</ul>\n</section>\n{% endif %}\n{% endfor %}\n{%- endmacro %}\n'




OLD_AFFILIATED = '{% if affiliated %}\n<ul class="items">\n{% for person, via in affiliated %}\n<li><a class="item-title" href="{{ h.href(\'person\', person.id) }}">{{ person.display_name }}</a>{% if via != rec.id %} <span class="meta">(<a href="{{ h.href(\'organization\', via) }}">{{ h.org(via).name }}</a>)</span>{% endif %}\n{% set talks = h.person_talks(person.id) %}\n{% if talks %}\n<ul class="items">\n{% for t in talks %}{{ h.talk_item(t) }}\n{% endfor %}\n</ul>\n{% endif %}\n</li>\n{% endfor %}\n</ul>\n{% else %}\n<p class="meta">No one in the data is affiliated with {{ rec.name }}{% if sub_orgs %} or its sub-organisations{% endif %}.</p>\n{% endif %}\n'

EVIL = '<b a="1">&amp; \'x\' </script>'


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    return prepare(SEED_DATA, TEST_BASE)


def _renderer(p: Prepared) -> Renderer:
    r = Renderer(p, datetime(2025, 1, 1, tzinfo=UTC))
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"old_macros.html": OLD_MACROS,
                                                      "old_affiliated.html": OLD_AFFILIATED}),
                                  r.env.loader or jinja2.BaseLoader()])
    r.env = r.env.overlay(loader=loader)  # the environment is the process's (``environment``): not changed
    return r


def _hostile(p: Prepared) -> list[R.Talk]:
    """Copies of the seed talks with every optional field of a talk page set, hostile values included."""
    ds = p.dataset
    loc = next(iter(ds.talks.values())).loc
    people = list(ds.people)
    sources = list(ds.sources)
    dated = [t for t in ds.talks.values() if t.start_at is not None]
    out = []
    for n, base in enumerate(list(ds.talks.values())[:12]):
        t = copy.copy(base)
        t.status = list(STATUS_TEXT)[n % len(STATUS_TEXT)]
        t.previous_start_at = dated[n % len(dated)].start_at if n % 2 else dated[n % len(dated)].end_at
        t.coauthors = people[n % 3:n % 3 + 2]
        t.speakers = [] if n % 4 == 3 else people[:n % 3 + 1]
        t.title = None if n % 3 == 0 else EVIL + " $x<y$"
        t.title_status = (None, "untitled", "tba")[n % 3]
        t.language = EVIL if n % 2 else None
        t.ids = {"Zeta": EVIL, "alpha": "1", "Beta": "&"}
        t.keywords = [EVIL, "k"]
        t.topics = [EVIL, "Topic"] if n % 2 else []
        t.abstract = None if n % 4 == 1 else EVIL + "\n\nsecond $a&b$"
        t.abstract_variants = [R.Variant(loc, sources[0], EVIL)] if n % 2 else []
        full = R.Reference(loc, EVIL + " $x$", people[:2], EVIL, "3", EVIL, "1-2", "2020", "10.1/<x>", "https://e.org/?a=1&b=<2>")
        t.references = [full, R.Reference(loc, title="only"), R.Reference(loc, volume="9"),
                        R.Reference(loc, authors=people[:1], year="1999")][: n % 5]
        t.recording = R.Media(loc, "https://r.org/?a&b" if n % 2 else None) if n % 3 else None
        t.slides = R.Media(loc, None if n % 2 else "https://s.org/<x>") if n % 4 else None
        t.duration_iso = ("PT1H30M", None, "P1D")[n % 3]
        t.end_at = None if n % 2 else t.end_at
        t.timezone = EVIL
        t.start_at = None if n % 5 == 4 else t.start_at
        t.attendance = t.attendance or None
        t.url = EVIL if n % 2 else None
        t.organizers = ([*people[:1], *list(ds.organizations)[:1]] if n % 2 else [])
        t.inferred = {"b": EVIL, "A": "x"} if n % 2 else {}
        out.append(t)
    return out


def test_talk_pages_escape_every_value(prepared: Prepared) -> None:
    r = _renderer(prepared)
    talks = list(prepared.dataset.talks.values())
    for t in talks + _hostile(prepared):
        prepared.dataset.talks[t.id] = t
        new = r.page(f"talk/{t.id}").html.decode()
        assert EVIL not in new, t.id
        parser = html5lib.HTMLParser(strict=True)
        parser.parse(new)


def test_items_and_facts_equal_the_old_macros(prepared: Prepared) -> None:
    r = _renderer(prepared)
    ds = prepared.dataset
    for up in ("", "../", "../../"):
        h = r.fragments.helpers(up)
        old = r.env.get_template("old_macros.html").make_module({"h": h})
        for t in list(ds.talks.values()) + _hostile(prepared):
            for show_parent in (False, True):
                for note in (None, EVIL):
                    assert talk_item_html(h, t, show_parent, note) == old.talk_item(t, show_parent, note)
        talks = list(ds.talks.values())
        for show_parent in (False, True):
            assert talk_list_html(h, talks, show_parent) == old.talk_list(talks, show_parent)
        assert talk_list_html(h, [], True, EVIL) == old.talk_list([], True, EVIL)
        headings = [("speaker", "Talks"), ("organizer", EVIL), ("contact", "Contact for"), (EVIL, "x")]
        for roles in r.index.idx.roles.values():
            assert role_sections_html(h, roles, headings) == old.role_sections(roles, headings)
        for kind, rec in ds.all_records():
            if isinstance(rec, R.Scheduled):
                assert scheduled_facts_html(h, rec) == old.scheduled_facts(kind, rec)
                for show_parent in (False, True):
                    assert scheduled_item_html(h, kind, rec, show_parent) == old.scheduled_item(kind, rec, show_parent)
            assert sources_html(h, rec) == old.sources(rec)


def test_layout_escapes_every_value(prepared: Prepared) -> None:
    r = _renderer(prepared)
    site = prepared.dataset.site
    for path in ["", *r.resource_paths()[::7]]:
        ctx = r.common(path, EVIL, "talk", "x")
        ctx.update(description=EVIL, calendar=EVIL, kind_text=EVIL, identifier=EVIL,
                   site=dataclasses.replace(site, title=EVIL, license=EVIL))
        html = page_html(ctx, "<p>main &amp; </p>\n", "{}")
        assert EVIL not in html
        assert html.count("&lt;b a=&#34;1&#34;&gt;") >= 5


@pytest.mark.parametrize("value", [
    {}, [], {"a": []}, {"b": {}, "a": [1, True, None, False, "x\u2028\"\\\n\x01é</script>"]},
    [[{"z": 1, "y": [{}]}]], 1.5, {"a": 1.5}, {1: 2}, ("t",), "s", -3, {"a": float("nan")},
    {"@id": "x", "n": [{"@value": "1", "@type": "t"}], "k": {"@language": "fr", "@value": "é"}},
])
def test_dumps_indented_equals_json_dumps(value: object) -> None:
    assert dumps_indented(value) == json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)


def test_affiliated_equals_the_old_template(prepared: Prepared) -> None:
    r = _renderer(prepared)
    ds = prepared.dataset
    h = r.fragments.helpers("../")
    template = r.env.get_template("old_affiliated.html")
    for org in ds.organizations.values():
        for hostile in (False, True):
            rec = dataclasses.replace(org, name=EVIL) if hostile else org
            affiliated = r.index.idx.affiliated(org.id)
            for sub_orgs in ([], ["x"]):
                old = template.render(h=h, rec=rec, affiliated=affiliated, sub_orgs=sub_orgs)
                assert affiliated_html(h, rec, affiliated, sub_orgs) == old


@pytest.mark.parametrize("moment", [
    datetime(2024, 5, 3, 10, 30, 5, tzinfo=UTC),
    datetime(2024, 5, 3, 10, 30, 5, 999999, tzinfo=UTC),
    datetime(2023, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1999, 1, 1, 0, 15, tzinfo=ZoneInfo("Asia/Kolkata")),
    datetime(1000, 1, 1, 12, tzinfo=UTC),
    datetime(999, 12, 31, 12, tzinfo=UTC),
])
def test_utc_lexical_writes_what_strftime_wrote(moment: datetime) -> None:
    """The sort keys and the calendars' UTC times: isoformat's text, as strftime gave it before."""
    assert _utc_lexical(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
