"""Rendering a page: the Renderer, for every resource page, listing page and the home page.

Renders ``OUT/P.html`` for every resource that has a description, plus ``OUT/index.html``
and ``search.html``; the pages stage (``lod.publishing.pages.stage``) runs it over every
page or the dirty ones and adds the sitemap, robots.txt, the calendars and the search
index. Everything is derived from the Prepared object: the resolved records for what
people read, and the resource's own description triples for the embedded JSON-LD, so
that the JSON-LD and the Turtle of a resource say the same thing.

Output is deterministic: the only input that is not data is "now" (which talks are
upcoming on the index), computed once per build and injectable.
"""

from __future__ import annotations


import functools
from importlib import resources
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import AbstractSet, Any

import jinja2
from markupsafe import Markup, escape

from lod.model import records as R
from lod.model.formats import RDF_FORMATS
from lod.model.iri import KIND_PATHS
from lod.publishing.prepared import Prepared
from lod.model.vocab import SCHEMA
from lod.publishing.feeds import SITE_CALENDAR
from lod.publishing.pages.constants import FORMAT_LABELS, KIND_OF_PATH, KIND_TEXT
from lod.publishing.pages.helpers import Fragments, Helpers
from lod.publishing.pages import directory as D, listing as L
from lod.publishing.pages.jsonld import JsonLdBuilder, script_json
from lod.publishing.pages.layout import page_html
from lod.publishing.pages.mathml import paragraphs_html, tex_html
from lod.publishing.pages.reads import RECORDER, FeedsView, IndexView, PreparedView
from lod.publishing.pages.meta import plain_summary, record_description, record_title, topic_description
from lod.publishing.pages.search import search_main_html
from lod.publishing.pages.talkpage import talk_main_html
from lod.publishing.pages.times import sort_key


# ---------------------------------------------------------------- rendering


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja environment: package templates, autoescape on for every template.

    One per process, shared by its builds (never changed once made): each build compiling the
    templates again took 0.1 s of a seed data build's 0.9 s. Templates are not reloaded when
    their files change (``auto_reload=False``): they are the package's, and checking every
    file's time on each page cost more than some pages took to render.
    """
    env = jinja2.Environment(loader=jinja2.PackageLoader("lod", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, auto_reload=False)
    env.filters["tex"] = tex_html
    env.filters["paragraphs"] = paragraphs_html
    return env


def resource_paths(p: Prepared) -> list[str]:
    """Every site path P that has a description (and so OUT/P.ttl)."""
    paths = [p.minter.path_of(owner) for owner in p.descriptions]
    return sorted(path for path in paths if path)


def site_paths(p: Prepared) -> list[str]:
    """Every page's site path but the index's: the resources' and the other listing pages (``lod.publishing.pages.listing``).

    Kept on *p* (its data does not change): a rebuild asks for them to find new pages, then to render."""
    raw: Any = p._p if isinstance(p, PreparedView) else p
    got = vars(raw).get("_site_paths")
    if got is None:
        idx = raw.site_index
        got = vars(raw)["_site_paths"] = sorted(resource_paths(raw) + L.more_pages(idx))
    return list(got)


@dataclass
class Page:
    """One rendered page."""

    path: str  # the site path P ('' for the index)
    html: bytes
    jsonld: dict[str, Any]


class Renderer:
    """Renders every page of a prepared dataset."""

    def __init__(self, p: Prepared, now: datetime) -> None:
        # Every read of the data goes through the views, which note it for the page being
        # rendered (``lod.publishing.pages.reads``): what a page depends on is what it read.
        view: Any = p if isinstance(p, PreparedView) else PreparedView(p)
        RECORDER.new_build()  # a long-lived process (lod watch) renders many builds
        self.p: Prepared = view
        self.now = now
        self.env = environment()
        self.index: IndexView = view.site_index
        self.groups = view.descriptions
        self.jsonld = JsonLdBuilder(view, self.groups, self.index)
        self.feeds = FeedsView(self.index)  # which calendars exist (pages link to them)
        self.fragments = Fragments(view, self.index, self.env, self.feeds)

    def resource_paths(self) -> list[str]:
        """Every site path P that has a description (and so OUT/P.ttl)."""
        return resource_paths(self.p)

    def helpers(self, path: str) -> Helpers:
        """Template helpers for the page at *path*."""
        return Helpers(self.p, self.index, path, self.feeds, self.fragments)

    def common(self, path: str, title: str, kind: str, rid: str = "") -> dict[str, Any]:
        """Template variables every page has."""
        m = self.p.minter
        name = path.rsplit("/", 1)[-1]
        alternates = [{"type": f.media_type, "href": name + f.suffix, "label": FORMAT_LABELS.get(f.name, f.name)}
                      for f in RDF_FORMATS] if path else []
        return {"site": self.p.dataset.site, "h": self.helpers(path), "path": path, "title": title,
                "kind": kind, "kind_text": KIND_TEXT.get(kind, kind), "description": None,
                "calendar": f"{name}.ics" if rid and (kind, rid) in self.feeds else None,
                "canonical": page_url(m.base, path), "identifier": m.base + path, "alternates": alternates,
                "rel": {}}

    def render(self, template: str, jsonld: dict[str, Any], common: dict[str, Any], **context: Any) -> bytes:
        """Render one template (the page's main part) in the layout, to UTF-8 bytes."""
        ctx = {**common, **context}
        return page_html(ctx, self.env.get_template(template).render(ctx), script_json(jsonld)).encode("utf-8")

    def all_paths(self) -> list[str]:
        """Every page's site path but the index's: the resources' and the other listing pages (``lod.publishing.pages.listing``)."""
        return site_paths(self.p)

    def pager(self, path: str, key: L.Key, n: int) -> tuple[Markup, dict[str, str]]:
        """The links between the pages of a listing (none when it has one page), and the head's rel=prev/next URLs."""
        pages = self.index.pages(key)
        if pages == 1:
            return Markup(""), {}
        owner = L.owner_path(key)
        up = self.helpers(path).up
        parts = ['<nav class="pager" aria-label="Pages">']
        rels: dict[str, str] = {}
        if n > 1:
            parts.append(f'<a href="{escape(up + L.page_path(owner, n - 1))}.html" rel="prev">Previous page</a> · ')
            rels["prev"] = page_url(self.p.minter.base, L.page_path(owner, n - 1))
        parts.append(f"Page {n} of {pages}")
        if n < pages:
            parts.append(f' · <a href="{escape(up + L.page_path(owner, n + 1))}.html" rel="next">Next page</a>')
            rels["next"] = page_url(self.p.minter.base, L.page_path(owner, n + 1))
        parts.append("</nav>\n")
        return Markup("".join(parts)), rels

    def listing_page(self, path: str, key: L.Key, n: int) -> Page:
        """A year's archive page (any *n*), or page *n* (> 1) of a source's, topic's, place's or organisation's listing."""
        shown = self.index.slice(key, n)
        pages = self.index.pages(key)
        pager, rels = self.pager(path, key, n)
        site = self.p.dataset.site.title
        first, last = (n - 1) * L.PAGE_SIZE + 1, (n - 1) * L.PAGE_SIZE + len(shown)
        of = f"page {n} of {pages}"
        talks = [r for _k, r in shown if isinstance(r, R.Talk)]
        kind = key[0]
        extra: dict[str, Any]
        if kind == L.DIRECTORY:
            d = L.DIRECTORIES[key[1]]
            heading, order, count = d.heading, d.order, self.index.count(key)
            title = heading + (f" ({of})" if pages > 1 else "")
            ctx = self.common(path, title, "directory")
            ctx["description"] = (f"All {heading.lower()} on {site}, {order}: {count}." if n == 1 else
                                  f"{heading} {first}–{last} of {count} on {site}, {order} ({of}).")
            template, extra = "directory.html", {"heading": heading, "cls": d.list_class, "anchor": d.anchor,
                                                 "items": D.items_html(self.helpers(path), shown)}
        elif kind == "year":
            heading, which = ((f"Talks of {key[1]}", f"of {key[1]}") if key[1] != L.UNDATED else
                              ("Talks without a date", "without a date"))
            title = heading + (f" ({of})" if pages > 1 else "")
            ctx = self.common(path, title, "year")
            order = ", by date" if key[1] != L.UNDATED else ""
            ctx["description"] = (f"{self.index.count(key)} talks {which} on {site}{order}." if n == 1 else
                                  f"Talks {first}–{last} {which} on {site}{order} ({of}).")
            template, extra = "year.html", {"heading": heading, "talks": talks}
        else:
            rec = self.index.record(kind, key[1]) if kind != "topic" else None
            label = (self.index.topic_label(L.owner_path(key)) or key[1]) if kind == "topic" else ""
            if rec is not None:  # its page 1's title, which tells apart records of the same name
                title = f"{record_title(self.helpers(path), kind, rec)} ({of})"
            else:
                title = f"{label} (topic, {of})"
            ctx = self.common(path, title, kind)
            if isinstance(rec, R.Organization):
                extra = self.extra(kind, rec, n)
                extra.update(rec=rec)
                template = "organization.html"
                ctx["description"] = f"People {first}–{last} affiliated with {rec.name}, on {site} ({of})."
            elif isinstance(rec, R.Place):
                template, extra = "place.html", {**self.extra(kind, rec, n), "rec": rec}
                ctx["description"] = (f"Talks {first}–{last} at {rec.name}, on {site}, by date ({of})." if shown else
                                      f"Events and sessions at {rec.name}, on {site}, by date ({of}).")
            elif isinstance(rec, R.Source):
                template, extra = "source.html", {"rec": rec, "derived": shown}
                what = rec.title or rec.document or rec.id
                ctx["description"] = f"Records {first}–{last} taken from the source document {what}, on {site} ({of})."
            else:
                template, extra = "topic.html", {"label": label, "talks": talks}
                ctx["description"] = f"Talks {first}–{last} on {label}, on {site}, by date ({of})."
        ctx.update(alternates=[], calendar=None, rel=rels)
        data: dict[str, Any] = {"@context": "https://schema.org", "@type": "CollectionPage", "name": title,
                                "url": ctx["canonical"]}
        if kind not in ("year", L.DIRECTORY):
            data["about"] = {"@id": self.p.minter.base + L.owner_path(key)}
        return Page(path, self.render(template, data, ctx, pager=pager, **extra), data)

    def page(self, path: str) -> Page:
        """Render the page of the resource at *path*, or a listing page (``lod.publishing.pages.listing``)."""
        owner, n = L.split_page(path)
        key = L.owner_key(owner)
        if key is not None and (key[0] in ("year", L.DIRECTORY) or n > 1):
            return self.listing_page(path, key, n)
        kind_path, _, rid = path.partition("/")
        kind = KIND_OF_PATH.get(kind_path, "")
        owner = self.p.minter.base + path
        rec = self.index.record(kind, rid)
        if isinstance(rec, R.Talk):
            data = self.jsonld.talk(rec)
        elif isinstance(rec, (R.Session, R.Event)):
            data = self.jsonld.scheduled(kind, rec)
        else:
            data = self.jsonld.resource(owner)
        site = self.p.dataset.site.title
        if kind == "topic":
            names = [str(o) for o in self.jsonld.objects(owner, SCHEMA.name)]
            label = self.index.topic_label(path) or (names[0] if names else rid)
            ctx = self.common(path, f"{label} (topic)", kind)
            ctx["description"] = topic_description(label, self.index.count(("topic", rid)), site)
            pager, ctx["rel"] = self.pager(path, ("topic", rid), 1)
            html = self.render("topic.html", data, ctx, label=label, pager=pager,
                               talks=[t for _k, t in self.index.slice(("topic", rid), 1)])
        elif isinstance(rec, R.Talk):
            h = self.helpers(path)
            ctx = self.common(path, record_title(h, kind, rec), kind, rec.id)
            ctx["description"] = record_description(h, kind, rec, site)
            html = page_html(ctx, talk_main_html(ctx["h"], rec), script_json(data)).encode("utf-8")
        elif rec is not None:
            h = self.helpers(path)
            ctx = self.common(path, record_title(h, kind, rec), kind, rec.id)
            ctx["description"] = record_description(h, kind, rec, site)
            extra = self.extra(kind, rec, 1)
            if isinstance(rec, (R.Organization, R.Source, R.Place)):  # page 1 of its listing
                extra["pager"], ctx["rel"] = self.pager(path, (kind, rec.id), 1)
            html = self.render(f"{kind}.html", data, ctx, rec=rec, **extra)
        else:  # a kind of resource this module does not know yet: its triples as a table
            rows = [(str(p_), str(o)) for _s, p_, o in self.groups.get(owner, [])]
            ctx = self.common(path, path, kind)
            ctx["description"] = f"The statements about {owner} on {site}."
            html = self.render("resource.html", data, ctx, rows=rows)
        return Page(path, html, data)

    def extra(self, kind: str, rec: R.Record, n: int = 1) -> dict[str, Any]:
        """Per-kind template variables (of page *n* of a listing)."""
        idx = self.index
        if isinstance(rec, R.Person):
            return {"roles": idx.roles.get(rec.id, {})}
        if isinstance(rec, R.Organization):
            parents = []
            cur = rec.parent
            while cur and cur in self.p.dataset.organizations and cur not in parents:
                parents.append(cur)
                cur = self.p.dataset.organizations[cur].parent
            return {"affiliated": idx.slice((kind, rec.id), n), "descendants": idx.org_descendants(rec.id)[1:],
                    "sub_orgs": sorted(idx.sub_orgs.get(rec.id, [])), "parents": parents,
                    # What it organised on page 1 only: not repeated on every page of its people.
                    "roles": idx.roles.get(rec.id, {}) if n == 1 else {}}
        if isinstance(rec, R.Place):
            talks = [t for _k, t in idx.slice((kind, rec.id), n)]
            # Its events and sessions cut into pages beside its talks: shown whole, they made a page as
            # long as all of them (at 1M talks thousands; BENCHMARKS.md).
            others = idx.others(rec.id, n)
            return {"talks": talks, "others": others, "sub_places": sorted(idx.sub_places.get(rec.id, []))}
        if isinstance(rec, R.Source):
            return {"derived": idx.slice((kind, rec.id), n)}
        return {}

    def index_page(self, cache: IndexItems | None = None, dirty: AbstractSet[str] = frozenset(),
                   before: Shown | None = None) -> tuple[Page | None, IndexItems, Shown]:
        """The home page: upcoming and past talks, series and events, and the data; and its list items.

        Each list item (a talk, series, event, person, organisation, place, topic or source)
        is kept as (sort key, HTML) by its key (``("talk", id)``, ``("topic", path)``); with
        *cache* (the items of an earlier render) an item is taken from it unless its page's
        path is in *dirty*: an item shows only what its record's page shows, so when that
        page is not dirty the item is the same. Which talks are upcoming is decided here,
        from ``now``. Also returned: the day and the talks shown (``Shown``).

        With *before* (what the render of *cache* showed), no page is returned (None) when
        it would be the same as that render's (``_same_index``).
        """
        ds, m = self.p.dataset, self.p.minter
        today = self.now.astimezone(UTC).date().isoformat()
        items = self.index_items(cache, dirty)
        if cache is not None and before is not None and _same_index(items, cache, today, before):
            return None, items, before

        # The soonest upcoming and the most recent past talks; the rest are on the years' pages.
        soon, recent, undated_items = L.home_talks((v for k, v in items.items() if k[0] == "talk"), today)
        upcoming = [_ordered(html, n) for n, (_key, html) in soon]
        past = [_ordered(html, n) for n, (_key, html) in recent]
        years = Markup("".join(f'<li><a href="{escape(L.year_path(y))}.html">{escape(y)}</a> <span class="meta">{len(ts)}</span></li>\n'
                               for y, ts in sorted(self.index.idx.years.items(), reverse=True) if y != L.UNDATED))
        n_undated = len(undated_items)
        if n_undated > L.HOME_LISTED:  # only the link to their archive page
            undated_items = []
        undated = [html.decode("utf-8") for _key, html in undated_items]
        # The talks it shows (sort key [3] is the id): whether an edit elsewhere can change it (``_same_index``).
        on_it = [v for _n, v in soon + recent] + undated_items
        shown: Shown = (today, frozenset(key[3] for (key, _day), _html in on_it))
        directories = []
        for name, d in L.DIRECTORIES.items():
            count = items[(L.DIRECTORY, name)][0]
            listed = sorted((v for k, v in items.items() if k[0] in d.kinds), key=lambda v: v[0])
            directories.append({"anchor": d.anchor, "heading": d.heading, "href": name + ".html",
                                "cls": d.list_class, "link": D.link_text(name, count), "count": count,
                                "listed": Markup("".join(html for _k, html in listed))})
        data: dict[str, Any] = {
            "@context": "https://schema.org", "@type": "Dataset", "@id": str(m.dataset),
            "name": ds.site.title, "url": m.base,
            "distribution": [{"@type": "DataDownload", "contentUrl": str(m.document("dump" + f.suffix)),
                              "encodingFormat": f.media_type} for f in RDF_FORMATS]}
        if ds.site.description:
            data["description"] = ds.site.description
        if ds.site.license:
            data["license"] = ds.site.license
        if ds.site.publisher:
            data["publisher"] = {"@type": "Organization", "name": ds.site.publisher}
        ctx = self.common("", ds.site.title, "index", "talks")
        ctx["description"] = plain_summary(ds.site.description) or (
            f"{len(ds.talks)} talks, {len(ds.series) + len(ds.events)} series and events, as pages and linked data.")
        ctx["calendar"] = "talks.ics" if SITE_CALENDAR in self.feeds else None
        dumps = [{"href": "dump" + f.suffix, "type": f.media_type, "label": f"dump{f.suffix} ({FORMAT_LABELS.get(f.name, f.name)})"}
                 for f in RDF_FORMATS]

        html = self.render("index.html", data, ctx, dumps=dumps, today=today, talks_ics=SITE_CALENDAR in self.feeds,
                           upcoming=_talk_list(upcoming, "No upcoming talks."), past=_talk_list(past, "No past talks."),
                           undated=_talk_list(undated, "No talks.") if undated else "", n_undated=n_undated,
                           undated_href=L.year_path(L.UNDATED) + ".html", years=years,
                           directories=directories,
                           sources=Markup("; ".join(items[("source", sid)][1] for sid in ds.sources)))
        return Page("", html, data), items, shown

    def search_page(self, options: dict[str, list[tuple[str, str]]]) -> bytes:
        """``search.html``: the form of the static search (``lod.publishing.pages.search``)."""
        site = self.p.dataset.site.title
        ctx = self.common("search", "Search", "search")
        ctx.update(alternates=[], description=f"Search the talks of {site} by words of their titles, speakers "
                                              "and abstracts, by series or event, topic and year.")
        data = {"@context": "https://schema.org", "@type": "SearchResultsPage", "name": f"Search · {site}",
                "url": ctx["canonical"]}
        return page_html(ctx, search_main_html(options, ctx["h"].file), script_json(data)).encode("utf-8")

    def index_items(self, cache: IndexItems | None, dirty: AbstractSet[str]) -> IndexItems:
        """Every list item of the index page as (sort key, HTML), taken from *cache* where still valid."""
        ds = self.p.dataset
        h = self.helpers("")
        out: IndexItems = {}

        def kept(kind: str, rid: str, path: str | None = None) -> tuple[Any, Any] | None:
            if cache is None or (path or f"{KIND_PATHS[kind]}/{rid}") in dirty:
                return None
            return cache.get((kind, rid))

        for tid, t in ds.talks.items():
            got = kept("talk", tid)
            if got is None:
                day = _last_day(t) if t.start_at is not None else None
                # data-end and data-order: what lod.js needs to split upcoming from past at the visitor's now
                html = str(self.fragments.talk_item("", t, True, None))
                if day is not None:
                    html = f'<li data-end="{escape(_end_instant(t))}"' + html[len("<li"):]
                # As UTF-8: the page shows a few hundred of them, the cache keeps them all (as str,
                # one character outside Latin-1 took 2-4 bytes for each of the item's characters).
                got = ((sort_key(t), day), html.encode("utf-8"))
            out[("talk", tid)] = got
        idx = self.index.idx
        for name in L.DIRECTORIES:
            key = (L.DIRECTORY, name)
            count = L.size(idx, key)
            out[key] = (count, "")  # the home page shows the number: a change re-renders it
            if count > L.HOME_LISTED:  # only the link to the directory
                continue
            for kind, item in L.items(idx, key):
                rid = item[0] if kind == "topic" else item.id
                got = kept(kind, rid, rid if kind == "topic" else None)
                if got is None:
                    got = (L.directory_order((kind, item)), D.item_html(h, kind, item))
                out[(kind, rid)] = got
        for sid, src in ds.sources.items():
            got = kept("source", sid)
            if got is None:
                got = (sid, f'<a href="{escape(h.href("source", sid))}">{escape(src.title or src.document or sid)}</a>')
            out[("source", sid)] = got
        return out


# (kind, id) → (sort key, HTML; a talk's as UTF-8 bytes); topics by ("topic", path)
IndexItems = dict[tuple[str, str], tuple[Any, Any]]
Shown = tuple[str, frozenset[str]]  # the index page's day, and the ids of the talks it lists


def _same_index(items: IndexItems, cache: IndexItems, today: str, before: Shown) -> bool:
    """Whether the index page made of *items* on *today* is the one made of *cache* that showed *before*.

    The page is a function of the day and of the items in their order (the order of the
    records in the data decides the sources' order, and that of topics of one label): it is
    the same if the day and the items' keys in order are, and each item that differs is a
    talk it did not list, at the same place in the chronological order (its sort key and day
    unchanged, so the same talks are listed, with the same ``data-order``, and the years'
    counts are the same).
    """
    if before[0] != today or len(items) != len(cache) or list(items) != list(cache):
        return False
    for key, value in items.items():
        old = cache[key]
        if value is not old and value != old:
            if key[0] != "talk" or key[1] in before[1] or value[0] != old[0]:
                return False
    return True


def _talk_list(items: Sequence[str], empty: str) -> Markup:
    """What ``lod.publishing.pages.items.talk_list_html`` makes of these talk items."""
    if not items:
        return Markup(f'<p class="meta">{escape(empty)}</p>\n')
    return Markup('<ul class="items">\n' + "".join(html + "\n" for html in items) + "</ul>\n")


STATIC_FILES = ("favicon.svg", "lod.js", "search/search.js")  # lod/static/<last part> → OUT/<name>


def static_files() -> dict[str, bytes]:
    """The site's static files (icon and scripts), from the package's ``static`` folder."""
    folder = resources.files("lod") / "static"
    return {name: (folder / name.rpartition("/")[2]).read_bytes() for name in STATIC_FILES}


def _ordered(html: bytes, n: int) -> str:
    """A dated talk's index item (UTF-8) with its place in the chronological order (``data-order``)."""
    return f'<li data-order="{n}"' + html.decode("utf-8")[len("<li"):]


def _end_instant(t: R.Talk) -> str:
    """When a talk is over: its end (else start) as a UTC instant, or its last day when only days are known."""
    w = t.end_at or t.start_at
    assert w is not None
    if w.is_date or w.utc is None:
        return w.lexical[:10]
    return w.utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last_day(t: R.Talk) -> str:
    """The local day a talk ends (or starts), for upcoming/past."""
    w = t.end_at or t.start_at
    assert w is not None
    return w.lexical[:10]


# ---------------------------------------------------------------- sitemap and robots


def page_url(base: str, path: str) -> str:
    """The URL of the HTML page about ``BASE + path``.

    Search engines index documents: the resource IRI answers 303 (docs/server.md), and a
    canonical link or sitemap entry must not redirect, so both name the ``.html`` document.
    So does the home page's: ``/`` answers 303 to ``/index.html`` (and a static host may
    serve ``/`` as anything), so ``index.html`` is its one canonical URL.
    """
    return base + (path + ".html" if path else "index.html")


