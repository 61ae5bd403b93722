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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup, escape

from lod.model import records as R
from lod.model.formats import RDF_FORMATS
from lod.publishing.prepared import Prepared
from lod.model.vocab import SCHEMA
from lod.publishing.pages.constants import FORMAT_LABELS, KIND_OF_PATH, KIND_TEXT
from lod.publishing.pages.helpers import Fragments, Helpers
from lod.publishing.pages import directory as D, listing as L
from lod.publishing.pages.jsonld import JsonLdBuilder, script_json
from lod.publishing.pages.layout import page_html
from lod.publishing.pages.mathml import paragraphs_html, tex_html
from lod.publishing.pages.reads import RECORDER, FeedsView, IndexView, PreparedView
from lod.publishing.pages.meta import record_description, record_title, topic_description
from lod.publishing.pages.search import search_main_html
from lod.publishing.pages.talkpage import talk_main_html


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

    def search_page(self, options: dict[str, list[tuple[str, str]]]) -> bytes:
        """``search.html``: the form of the static search (``lod.publishing.pages.search``)."""
        site = self.p.dataset.site.title
        ctx = self.common("search", "Search", "search")
        ctx.update(alternates=[], description=f"Search the talks of {site} by words of their titles, speakers "
                                              "and abstracts, by series or event, topic and year.")
        data = {"@context": "https://schema.org", "@type": "SearchResultsPage", "name": f"Search · {site}",
                "url": ctx["canonical"]}
        return page_html(ctx, search_main_html(options, ctx["h"].file), script_json(data)).encode("utf-8")

STATIC_FILES = ("favicon.svg", "lod.js", "search/search.js")  # lod/static/<last part> → OUT/<name>


def static_files() -> dict[str, bytes]:
    """The site's static files (icon and scripts), from the package's ``static`` folder."""
    folder = resources.files("lod") / "static"
    return {name: (folder / name.rpartition("/")[2]).read_bytes() for name in STATIC_FILES}


# ---------------------------------------------------------------- sitemap and robots


def page_url(base: str, path: str) -> str:
    """The URL of the HTML page about ``BASE + path``.

    Search engines index documents: the resource IRI answers 303 (docs/server.md), and a
    canonical link or sitemap entry must not redirect, so both name the ``.html`` document.
    So does the home page's: ``/`` answers 303 to ``/index.html`` (and a static host may
    serve ``/`` as anything), so ``index.html`` is its one canonical URL.
    """
    return base + (path + ".html" if path else "index.html")


