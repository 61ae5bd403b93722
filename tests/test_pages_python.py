"""The plain-Python HTML of lod.pages.items and lod.pages.talkpage equals what the Jinja templates wrote.

OLD_MACROS and OLD_TALK are the templates as they were before they became Python; both are
rendered here (OLD_BASE around them, as base.html was), on the seed records and on records given every optional field with hostile
values, and compared byte for byte.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime

import jinja2
from markupsafe import Markup
import pytest

from lod import records as R
from lod.pages.constants import STATUS_TEXT
from lod.pages.jsonld import dumps_indented
from lod.pages.layout import page_html
from lod.pages.items import (affiliated_html, role_sections_html, scheduled_facts_html, scheduled_item_html, sources_html,
                             talk_item_html, talk_list_html)
from lod.pages.render import Renderer
from lod.publish import Prepared, prepare

from .conftest import SEED_DATA, TEST_BASE

OLD_MACROS = '{% macro people(ids, with_affiliations=true) -%}\n{% for pid in ids %}{{ h.fragment(\'person_link\', pid, with_affiliations) }}{% if not loop.last %}, {% endif %}{% endfor %}\n{%- endmacro %}\n\n{% macro agents(ids) -%}\n{% for rid in ids %}{% set kind, name = h.agent(rid) %}<a href="{{ h.href(kind, rid) }}">{{ name }}</a>{% if not loop.last %}, {% endif %}{% endfor %}\n{%- endmacro %}\n\n{% macro talk_item(t, show_parent=false, note=none) -%}\n<li>\n<div>{{ h.when_short(t) }}{% if t.status != \'scheduled\' %} <span class="status">{{ h.status_text[t.status] }}</span>{% endif %}</div>\n<div><a class="item-title" href="{{ h.href(\'talk\', t.id) }}">{{ h.title(t) }}</a></div>\n{% if t.speakers or (show_parent and h.ancestors(\'talk\', t)) or note %}\n<div class="meta">{% if t.speakers %}{{ people(t.speakers) }}{% endif %}\n{% if show_parent %}{% for k, a in h.ancestors(\'talk\', t) %}{% if loop.first %}{% if t.speakers %} · {% endif %}{% endif %}<a href="{{ h.href(k, a.id) }}">{{ h.name(k, a) }}</a>{% if not loop.last %} › {% endif %}{% endfor %}{% endif %}\n{% if note %} · {{ note }}{% endif %}</div>\n{% endif %}\n</li>\n{%- endmacro %}\n\n{% macro scheduled_facts(kind, rec) -%}\n{% if rec.start_at %}<dt>When</dt><dd>{{ h.when(rec) }}</dd>{% endif %}\n{% if rec.duration_iso and not rec.end_at %}<dt>Duration</dt><dd>{{ h.duration_text(rec.duration_iso) }}</dd>{% endif %}\n{% if rec.start_at is none and rec.timezone %}<dt>Time zone</dt><dd>{{ rec.timezone }}</dd>{% endif %}\n{% if rec.venue %}<dt>Where</dt><dd>{{ h.fragment(\'place\', rec.venue) }}</dd>{% endif %}\n{% if rec.online %}<dt>Online</dt><dd>{{ h.fragment(\'online\', rec.online) }}</dd>{% endif %}\n{% if rec.attendance %}<dt>Attendance</dt><dd>{{ h.attendance_text[rec.attendance] }}</dd>{% endif %}\n{% if rec.language %}<dt>Language</dt><dd>{{ h.language_text(rec.language) }}</dd>{% endif %}\n{% if rec.organizers %}<dt>Organised by</dt><dd>{{ agents(rec.organizers) }}</dd>{% endif %}\n{% if rec.url %}<dt>Web page</dt><dd><a href="{{ rec.url }}">{{ rec.url }}</a></dd>{% endif %}\n{%- endmacro %}\n\n{% macro sources(rec) -%}\n<section aria-labelledby="sources">\n<h2 id="sources">Sources</h2>\n<ul>\n{% for sid in rec.sources %}{% set s = h.source(sid) %}\n<li><a href="{{ h.href(\'source\', sid) }}">{{ s.title or s.document or sid }}</a>\n{%- if s.url %}, <a href="{{ s.url }}">{{ s.url }}</a>{% endif %} <span class="meta">({% if s.document %}document {{ s.document }}, {% endif %}taken <time datetime="{{ s.taken }}">{{ h.date_text(s.taken) }}</time>)</span></li>\n{% endfor %}\n</ul>\n{% if rec.inferred %}\n<details>\n<summary>What was inferred rather than read</summary>\n<dl>\n{% for name, why in rec.inferred|dictsort %}\n<dt>{{ name }}</dt><dd>{{ why }}</dd>\n{% endfor %}\n</dl>\n</details>\n{% endif %}\n</section>\n{%- endmacro %}\n\n{% macro calendar_link(kind, rid) -%}\n{% if h.has_feed(kind, rid) %}<p><a href="{{ rid }}.ics" type="text/calendar">Add to calendar</a> <span class="meta">(iCalendar)</span></p>{% endif %}\n{%- endmacro %}\n' + '\n{% macro talk_list(talks, show_parent=false, empty="No talks.") -%}\n{% if talks %}\n<ul class="items">\n{% for t in talks %}\n{{ h.talk_item(t, show_parent) }}\n{% endfor %}\n</ul>\n{% else %}\n<p class="meta">{{ empty }}</p>\n{% endif %}\n{%- endmacro %}\n\n{% macro scheduled_item(kind, rec, show_parent=false) -%}\n{% if kind == \'talk\' %}{{ h.talk_item(rec, show_parent) }}{% else %}\n<li>\n<div>{{ h.when_short(rec) }}</div>\n<div><a class="item-title" href="{{ h.href(kind, rec.id) }}">{{ h.name(kind, rec) }}</a> <span class="meta">{{ h.kind_text[kind] }}</span></div>\n{% set inner = h.children(kind, rec.id) %}\n{% if inner %}\n<ul class="items">\n{% for k, r in inner %}{{ scheduled_item(k, r) }}\n{% endfor %}\n</ul>\n{% endif %}\n</li>\n{% endif %}\n{%- endmacro %}\n\n{% macro role_sections(roles, headings) -%}\n{# One section per role a person or organisation has: talks given, organised, cited in … #}\n{% for role, heading in headings %}\n{% if roles.get(role) %}\n<section aria-labelledby="{{ role }}">\n<h2 id="{{ role }}">{{ heading }}</h2>\n<ul class="items">\n{% for k, r in roles[role] %}{{ scheduled_item(k, r, true) if k == \'talk\' else scheduled_item(k, r) }}\n{% endfor %}\n</ul>\n</section>\n{% endif %}\n{% endfor %}\n{%- endmacro %}\n'

OLD_TALK = '{% import "old_macros.html" as m with context %}\n{% block main %}\n<article class="talk">\n<header>\n<p class="kind">Talk{% for k, a in h.ancestors(\'talk\', rec) %} · <a href="{{ h.href(k, a.id) }}">{{ h.name(k, a) }}</a>{% endfor %}</p>\n<h1{% if rec.language and rec.title %} lang="{{ rec.language }}"{% endif %}>{{ h.title(rec) }}</h1>\n{% if rec.speakers %}<p class="byline">{{ m.people(rec.speakers) }}</p>{% endif %}\n{% if rec.coauthors %}<p class="meta">Joint work with {{ m.people(rec.coauthors) }}</p>{% endif %}\n{% if rec.status != \'scheduled\' %}\n<p><strong class="status">{{ h.status_text[rec.status] }}</strong>{% if rec.previous_start_at %} · previously planned for {{ h.when_previous(rec) }}{% endif %}</p>\n{% endif %}\n</header>\n<dl class="facts">\n{% if not rec.start_at %}<dt>When</dt><dd class="meta">The sources give no date.</dd>{% endif %}\n{{ m.scheduled_facts(\'talk\', rec) }}\n<dt>Status</dt><dd>{{ h.status_text[rec.status] }}</dd>\n{% if rec.ids %}<dt>Identifiers</dt><dd>{% for system, value in rec.ids|dictsort %}{{ system }}: {{ value }}{% if not loop.last %}, {% endif %}{% endfor %}</dd>{% endif %}\n</dl>\n{{ m.calendar_link(\'talk\', rec.id) }}\n<section aria-labelledby="abstract">\n<h2 id="abstract">Abstract</h2>\n{% if rec.abstract %}\n<div class="abstract"{% if rec.language %} lang="{{ rec.language }}"{% endif %}>\n{{ rec.abstract|paragraphs }}\n</div>\n{% else %}\n<p class="meta">The sources give no abstract.</p>\n{% endif %}\n{% for variant in rec.abstract_variants %}\n<details>\n<summary>The abstract as “{{ h.name(\'source\', h.source(variant.source)) }}” words it</summary>\n<div class="abstract"{% if rec.language %} lang="{{ rec.language }}"{% endif %}>\n{{ variant.text|paragraphs }}\n</div>\n</details>\n{% endfor %}\n</section>\n{% if rec.keywords or rec.topics %}\n<section aria-labelledby="keywords">\n<h2 id="keywords">Keywords and topics</h2>\n<ul class="tags">\n{% for topic in rec.topics %}<li><a href="{{ h.topic_href(topic) }}">{{ topic }}</a></li>\n{% endfor %}\n{% for keyword in rec.keywords %}<li>{{ keyword }}</li>\n{% endfor %}\n</ul>\n</section>\n{% endif %}\n{% if rec.references %}\n<section aria-labelledby="references">\n<h2 id="references">References</h2>\n<ol class="refs">\n{% for ref in rec.references %}\n<li id="ref-{{ loop.index }}">{% if ref.authors %}{{ m.people(ref.authors, false) }}. {% endif %}\n{% if ref.title %}<cite>{{ ref.title|tex }}</cite>.{% endif %}\n{% if ref.journal %} <i>{{ ref.journal }}</i>{% endif %}{% if ref.volume %} {{ ref.volume }}{% endif %}{% if ref.issue %} ({{ ref.issue }}){% endif %}{% if ref.pages %}, {{ ref.pages }}{% endif %}{% if ref.year %}, {{ ref.year }}{% endif %}{% if ref.journal or ref.volume or ref.pages or ref.year %}.{% endif %}\n{% if ref.doi %} <a href="https://doi.org/{{ ref.doi }}">doi:{{ ref.doi }}</a>{% endif %}\n{% if ref.url %} <a href="{{ ref.url }}">{{ ref.url }}</a>{% endif %}\n</li>\n{% endfor %}\n</ol>\n</section>\n{% endif %}\n{% if rec.recording or rec.slides %}\n<section aria-labelledby="media">\n<h2 id="media">Recording and slides</h2>\n<ul>\n{% if rec.recording %}<li>Recording: {% if rec.recording.url %}<a href="{{ rec.recording.url }}">{{ rec.recording.url }}</a>{% else %}the source says the talk was recorded; no link is published.{% endif %}</li>{% endif %}\n{% if rec.slides %}<li>Slides: {% if rec.slides.url %}<a href="{{ rec.slides.url }}">{{ rec.slides.url }}</a>{% else %}the source mentions slides; no link is published.{% endif %}</li>{% endif %}\n</ul>\n</section>\n{% endif %}\n{{ m.sources(rec) }}\n</article>\n{% endblock %}\n'

OLD_BASE = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{% if path %}{{ title }} · {% endif %}{{ site.title }}</title>\n{% if description %}\n<meta name="description" content="{{ description }}">\n{% endif %}\n<link rel="canonical" href="{{ canonical }}">\n{% for alt in alternates %}\n<link rel="alternate" type="{{ alt.type }}" href="{{ alt.href }}">\n{% endfor %}\n{% if calendar %}\n<link rel="alternate" type="text/calendar" href="{{ calendar }}" title="Calendar (iCalendar)">\n{% endif %}\n<style>\n:root{color-scheme:light dark;--fg:#1f1f1f;--muted:#5e6166;--bg:#fff;--soft:#f4f5f7;--accent:#0b57d0;--line:#dfe1e5;--warn:#a8200d}\n@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#a0a4aa;--bg:#141619;--soft:#1d2024;--accent:#8ab4f8;--line:#3a3d42;--warn:#f29b8b}}\n*{box-sizing:border-box}\nhtml{-webkit-text-size-adjust:100%;text-size-adjust:100%}\nbody{margin:0;font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}\n.site-header,main,.site-footer{max-width:48rem;margin:0 auto;padding:0 1rem}\n.site-header nav{display:flex;flex-wrap:wrap;gap:.2rem 1rem;align-items:baseline;padding:.8rem 0;border-bottom:1px solid var(--line)}\n.site-header .home{font-weight:650;margin-right:auto;text-decoration:none;color:var(--fg)}\n@media (max-width:34rem){.site-header .home{flex-basis:100%}}\na{color:var(--accent);overflow-wrap:anywhere}\nh1{font-size:1.65rem;line-height:1.25;margin:.3rem 0 .6rem}\nh2{font-size:1.15rem;margin:2rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}\nh3{font-size:1rem;margin:1.2rem 0 .3rem}\n.kind{color:var(--muted);font-size:.85rem;text-transform:uppercase;letter-spacing:.05em;margin:1.4rem 0 0}\n.kind a{color:inherit}\n.byline{font-size:1.08rem;margin:.2rem 0 1rem}\n.meta,.zone,.utc{color:var(--muted)}\n.utc{font-size:.92rem}\ndl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1.1rem;margin:1rem 0;padding:.8rem 1rem;background:var(--soft);border-radius:.5rem}\ndl.facts dt{color:var(--muted)}\ndl.facts dd{margin:0;overflow-wrap:anywhere}\n@media (max-width:34rem){dl.facts{grid-template-columns:1fr;gap:0}dl.facts dd{margin-bottom:.5rem}h1{font-size:1.4rem}}\nul.items{list-style:none;padding:0;margin:0}\nul.items>li{padding:.55rem 0;border-bottom:1px solid var(--line)}\nul.items ul.items{margin:.3rem 0 0 1rem}\nul.items ul.items>li{border-bottom:0;padding:.25rem 0}\n.item-title{font-weight:600}\n.no-title{font-style:italic;color:var(--muted);font-weight:normal}\n.status{display:inline-block;padding:0 .45rem;border-radius:.25rem;background:var(--warn);color:var(--bg);font-size:.85rem;font-weight:600}\n.abstract p,.description p{margin:.6rem 0}\nol.refs li{margin:.35rem 0}\ndetails{margin:.6rem 0}\nsummary{cursor:pointer;color:var(--accent)}\nmath{font-size:1.05em}\n.tags{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem}\n.tags li{background:var(--soft);border:1px solid var(--line);border-radius:1rem;padding:0 .6rem;font-size:.9rem}\n.formats a{margin-right:.6rem}\n.site-footer{margin-top:2.5rem;padding-top:1rem;padding-bottom:2rem;border-top:1px solid var(--line);color:var(--muted);font-size:.9rem}\n</style>\n<script type="application/ld+json">\n{{ jsonld }}\n</script>\n</head>\n<body>\n<header class="site-header">\n<nav aria-label="Site">\n<a class="home" href="{{ h.root() }}">{{ site.title }}</a>\n<a href="{{ h.root() }}#talks">Talks</a>\n<a href="{{ h.root() }}#series">Series and events</a>\n<a href="{{ h.file(\'queries.html\') }}">Queries</a>\n<a href="{{ h.root() }}#data">Data</a>\n</nav>\n</header>\n<main>\n{% block main %}{% endblock %}\n</main>\n<footer class="site-footer">\n{% if alternates %}\n<p class="formats">This {{ kind_text|lower }} as data:\n{% for alt in alternates %}\n<a href="{{ alt.href }}" type="{{ alt.type }}">{{ alt.label }}</a>\n{% endfor %}\n{% if calendar %}<a href="{{ calendar }}" type="text/calendar">iCalendar</a>{% endif %}\n</p>\n<p>Identifier: <a href="{{ identifier }}">{{ identifier }}</a></p>\n{% endif %}\n<p><a href="{{ h.root() }}">{{ site.title }}</a>{% if site.license %} · data licence: <a href="{{ site.license }}" rel="license">{{ site.license }}</a>{% endif %} · <a href="{{ h.root() }}#data">all the data</a></p>\n</footer>\n</body>\n</html>\n'

OLD_PAGE = '{% extends "old_base.html" %}{% block main %}{{ main }}{% endblock %}'

OLD_AFFILIATED = '{% if affiliated %}\n<ul class="items">\n{% for person, via in affiliated %}\n<li><a class="item-title" href="{{ h.href(\'person\', person.id) }}">{{ person.display_name }}</a>{% if via != rec.id %} <span class="meta">(<a href="{{ h.href(\'organization\', via) }}">{{ h.org(via).name }}</a>)</span>{% endif %}\n{% set talks = h.person_talks(person.id) %}\n{% if talks %}\n<ul class="items">\n{% for t in talks %}{{ h.talk_item(t) }}\n{% endfor %}\n</ul>\n{% endif %}\n</li>\n{% endfor %}\n</ul>\n{% else %}\n<p class="meta">No one in the data is affiliated with {{ rec.name }}{% if sub_orgs %} or its sub-organisations{% endif %}.</p>\n{% endif %}\n'

EVIL = '<b a="1">&amp; \'x\' </script>'


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    return prepare(SEED_DATA, TEST_BASE)


def _renderer(p: Prepared) -> Renderer:
    r = Renderer(p, datetime(2025, 1, 1, tzinfo=UTC))
    r.feeds.update(("talk", t) for t in list(p.dataset.talks)[::2])
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"old_macros.html": OLD_MACROS, "old_talk.html": OLD_TALK,
                                                      "old_base.html": OLD_BASE, "old_page.html": OLD_PAGE,
                                                      "old_affiliated.html": OLD_AFFILIATED}),
                                  r.env.loader or jinja2.BaseLoader()])
    r.env.loader = loader
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


def _old_talk(r: Renderer, t: R.Talk) -> bytes:
    from lod.pages.render import _plain_summary, talk_title_text
    path = f"talk/{t.id}"
    return r.render("old_talk.html", r.jsonld.talk(t), r.common(path, talk_title_text(t, r.p.dataset), "talk", t.id),
                    rec=t, description=_plain_summary(t.abstract))


def test_talk_pages_equal_the_old_template(prepared: Prepared) -> None:
    r = _renderer(prepared)
    talks = list(prepared.dataset.talks.values())
    for t in talks + _hostile(prepared):
        prepared.dataset.talks[t.id] = t
        new = r.page(f"talk/{t.id}").html
        assert new == _old_talk(r, t), t.id
    assert EVIL not in new.decode()


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
        for roles in r.index.roles.values():
            assert role_sections_html(h, roles, headings) == old.role_sections(roles, headings)
        for kind, rec in ds.all_records():
            if isinstance(rec, R.Scheduled):
                assert scheduled_facts_html(h, rec) == old.scheduled_facts(kind, rec)
                for show_parent in (False, True):
                    assert scheduled_item_html(h, kind, rec, show_parent) == old.scheduled_item(kind, rec, show_parent)
            assert sources_html(h, rec) == old.sources(rec)


def test_layout_equals_the_old_base_template(prepared: Prepared) -> None:
    r = _renderer(prepared)
    site = prepared.dataset.site
    for path in ["", *r.resource_paths()[::7]]:
        for hostile in (False, True):
            ctx = r.common(path, EVIL if hostile else "A title", "talk", "x")
            if hostile:
                ctx.update(description=EVIL, calendar=EVIL, kind_text=EVIL, identifier=EVIL,
                           site=dataclasses.replace(site, title=EVIL, license=EVIL))
            main = "<p>main &amp; </p>\n"
            old = r.env.get_template("old_page.html").render({**ctx, "main": Markup(main), "jsonld": Markup("{}")})
            assert page_html(ctx, main, "{}") == old


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
            affiliated = r.index.affiliated(org.id)
            for sub_orgs in ([], ["x"]):
                old = template.render(h=h, rec=rec, affiliated=affiliated, sub_orgs=sub_orgs)
                assert affiliated_html(h, rec, affiliated, sub_orgs) == old
