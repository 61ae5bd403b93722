"""The plain-Python HTML of lod.pages.items and lod.pages.talkpage equals what the Jinja templates wrote.

OLD_MACROS and OLD_TALK are the templates as they were before they became Python; both are
rendered here, on the seed records and on records given every optional field with hostile
values, and compared byte for byte.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import jinja2
import pytest

from lod import records as R
from lod.pages.constants import STATUS_TEXT
from lod.pages.items import scheduled_facts_html, sources_html, talk_item_html
from lod.pages.render import Renderer
from lod.publish import Prepared, prepare

from .conftest import SEED_DATA, TEST_BASE

OLD_MACROS = '{% macro people(ids, with_affiliations=true) -%}\n{% for pid in ids %}{{ h.fragment(\'person_link\', pid, with_affiliations) }}{% if not loop.last %}, {% endif %}{% endfor %}\n{%- endmacro %}\n\n{% macro agents(ids) -%}\n{% for rid in ids %}{% set kind, name = h.agent(rid) %}<a href="{{ h.href(kind, rid) }}">{{ name }}</a>{% if not loop.last %}, {% endif %}{% endfor %}\n{%- endmacro %}\n\n{% macro talk_item(t, show_parent=false, note=none) -%}\n<li>\n<div>{{ h.when_short(t) }}{% if t.status != \'scheduled\' %} <span class="status">{{ h.status_text[t.status] }}</span>{% endif %}</div>\n<div><a class="item-title" href="{{ h.href(\'talk\', t.id) }}">{{ h.title(t) }}</a></div>\n{% if t.speakers or (show_parent and h.ancestors(\'talk\', t)) or note %}\n<div class="meta">{% if t.speakers %}{{ people(t.speakers) }}{% endif %}\n{% if show_parent %}{% for k, a in h.ancestors(\'talk\', t) %}{% if loop.first %}{% if t.speakers %} · {% endif %}{% endif %}<a href="{{ h.href(k, a.id) }}">{{ h.name(k, a) }}</a>{% if not loop.last %} › {% endif %}{% endfor %}{% endif %}\n{% if note %} · {{ note }}{% endif %}</div>\n{% endif %}\n</li>\n{%- endmacro %}\n\n{% macro scheduled_facts(kind, rec) -%}\n{% if rec.start_at %}<dt>When</dt><dd>{{ h.when(rec) }}</dd>{% endif %}\n{% if rec.duration_iso and not rec.end_at %}<dt>Duration</dt><dd>{{ h.duration_text(rec.duration_iso) }}</dd>{% endif %}\n{% if rec.start_at is none and rec.timezone %}<dt>Time zone</dt><dd>{{ rec.timezone }}</dd>{% endif %}\n{% if rec.venue %}<dt>Where</dt><dd>{{ h.fragment(\'place\', rec.venue) }}</dd>{% endif %}\n{% if rec.online %}<dt>Online</dt><dd>{{ h.fragment(\'online\', rec.online) }}</dd>{% endif %}\n{% if rec.attendance %}<dt>Attendance</dt><dd>{{ h.attendance_text[rec.attendance] }}</dd>{% endif %}\n{% if rec.language %}<dt>Language</dt><dd>{{ h.language_text(rec.language) }}</dd>{% endif %}\n{% if rec.organizers %}<dt>Organised by</dt><dd>{{ agents(rec.organizers) }}</dd>{% endif %}\n{% if rec.url %}<dt>Web page</dt><dd><a href="{{ rec.url }}">{{ rec.url }}</a></dd>{% endif %}\n{%- endmacro %}\n\n{% macro sources(rec) -%}\n<section aria-labelledby="sources">\n<h2 id="sources">Sources</h2>\n<ul>\n{% for sid in rec.sources %}{% set s = h.source(sid) %}\n<li><a href="{{ h.href(\'source\', sid) }}">{{ s.title or s.document or sid }}</a>\n{%- if s.url %}, <a href="{{ s.url }}">{{ s.url }}</a>{% endif %} <span class="meta">({% if s.document %}document {{ s.document }}, {% endif %}taken <time datetime="{{ s.taken }}">{{ h.date_text(s.taken) }}</time>)</span></li>\n{% endfor %}\n</ul>\n{% if rec.inferred %}\n<details>\n<summary>What was inferred rather than read</summary>\n<dl>\n{% for name, why in rec.inferred|dictsort %}\n<dt>{{ name }}</dt><dd>{{ why }}</dd>\n{% endfor %}\n</dl>\n</details>\n{% endif %}\n</section>\n{%- endmacro %}\n\n{% macro calendar_link(kind, rid) -%}\n{% if h.has_feed(kind, rid) %}<p><a href="{{ rid }}.ics" type="text/calendar">Add to calendar</a> <span class="meta">(iCalendar)</span></p>{% endif %}\n{%- endmacro %}\n'

OLD_TALK = '{% extends "base.html" %}\n{% import "old_macros.html" as m with context %}\n{% block main %}\n<article class="talk">\n<header>\n<p class="kind">Talk{% for k, a in h.ancestors(\'talk\', rec) %} · <a href="{{ h.href(k, a.id) }}">{{ h.name(k, a) }}</a>{% endfor %}</p>\n<h1{% if rec.language and rec.title %} lang="{{ rec.language }}"{% endif %}>{{ h.title(rec) }}</h1>\n{% if rec.speakers %}<p class="byline">{{ m.people(rec.speakers) }}</p>{% endif %}\n{% if rec.coauthors %}<p class="meta">Joint work with {{ m.people(rec.coauthors) }}</p>{% endif %}\n{% if rec.status != \'scheduled\' %}\n<p><strong class="status">{{ h.status_text[rec.status] }}</strong>{% if rec.previous_start_at %} · previously planned for {{ h.when_previous(rec) }}{% endif %}</p>\n{% endif %}\n</header>\n<dl class="facts">\n{% if not rec.start_at %}<dt>When</dt><dd class="meta">The sources give no date.</dd>{% endif %}\n{{ m.scheduled_facts(\'talk\', rec) }}\n<dt>Status</dt><dd>{{ h.status_text[rec.status] }}</dd>\n{% if rec.ids %}<dt>Identifiers</dt><dd>{% for system, value in rec.ids|dictsort %}{{ system }}: {{ value }}{% if not loop.last %}, {% endif %}{% endfor %}</dd>{% endif %}\n</dl>\n{{ m.calendar_link(\'talk\', rec.id) }}\n<section aria-labelledby="abstract">\n<h2 id="abstract">Abstract</h2>\n{% if rec.abstract %}\n<div class="abstract"{% if rec.language %} lang="{{ rec.language }}"{% endif %}>\n{{ rec.abstract|paragraphs }}\n</div>\n{% else %}\n<p class="meta">The sources give no abstract.</p>\n{% endif %}\n{% for variant in rec.abstract_variants %}\n<details>\n<summary>The abstract as “{{ h.name(\'source\', h.source(variant.source)) }}” words it</summary>\n<div class="abstract"{% if rec.language %} lang="{{ rec.language }}"{% endif %}>\n{{ variant.text|paragraphs }}\n</div>\n</details>\n{% endfor %}\n</section>\n{% if rec.keywords or rec.topics %}\n<section aria-labelledby="keywords">\n<h2 id="keywords">Keywords and topics</h2>\n<ul class="tags">\n{% for topic in rec.topics %}<li><a href="{{ h.topic_href(topic) }}">{{ topic }}</a></li>\n{% endfor %}\n{% for keyword in rec.keywords %}<li>{{ keyword }}</li>\n{% endfor %}\n</ul>\n</section>\n{% endif %}\n{% if rec.references %}\n<section aria-labelledby="references">\n<h2 id="references">References</h2>\n<ol class="refs">\n{% for ref in rec.references %}\n<li id="ref-{{ loop.index }}">{% if ref.authors %}{{ m.people(ref.authors, false) }}. {% endif %}\n{% if ref.title %}<cite>{{ ref.title|tex }}</cite>.{% endif %}\n{% if ref.journal %} <i>{{ ref.journal }}</i>{% endif %}{% if ref.volume %} {{ ref.volume }}{% endif %}{% if ref.issue %} ({{ ref.issue }}){% endif %}{% if ref.pages %}, {{ ref.pages }}{% endif %}{% if ref.year %}, {{ ref.year }}{% endif %}{% if ref.journal or ref.volume or ref.pages or ref.year %}.{% endif %}\n{% if ref.doi %} <a href="https://doi.org/{{ ref.doi }}">doi:{{ ref.doi }}</a>{% endif %}\n{% if ref.url %} <a href="{{ ref.url }}">{{ ref.url }}</a>{% endif %}\n</li>\n{% endfor %}\n</ol>\n</section>\n{% endif %}\n{% if rec.recording or rec.slides %}\n<section aria-labelledby="media">\n<h2 id="media">Recording and slides</h2>\n<ul>\n{% if rec.recording %}<li>Recording: {% if rec.recording.url %}<a href="{{ rec.recording.url }}">{{ rec.recording.url }}</a>{% else %}the source says the talk was recorded; no link is published.{% endif %}</li>{% endif %}\n{% if rec.slides %}<li>Slides: {% if rec.slides.url %}<a href="{{ rec.slides.url }}">{{ rec.slides.url }}</a>{% else %}the source mentions slides; no link is published.{% endif %}</li>{% endif %}\n</ul>\n</section>\n{% endif %}\n{{ m.sources(rec) }}\n</article>\n{% endblock %}\n'

EVIL = '<b a="1">&amp; \'x\' </script>'


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    return prepare(SEED_DATA, TEST_BASE)


def _renderer(p: Prepared) -> Renderer:
    r = Renderer(p, datetime(2025, 1, 1, tzinfo=UTC))
    r.feeds.update(("talk", t) for t in list(p.dataset.talks)[::2])
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"old_macros.html": OLD_MACROS, "old_talk.html": OLD_TALK}),
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
        for kind, rec in ds.all_records():
            if isinstance(rec, R.Scheduled):
                assert scheduled_facts_html(h, rec) == old.scheduled_facts(kind, rec)
            assert sources_html(h, rec) == old.sources(rec)
