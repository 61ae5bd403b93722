"""The home page, ``index.html``: the soonest and latest talks, the directories, the data; and its list items.

Every talk, series, event, person, organisation, place, topic and source has a list item on the
home page or in its reckoning: each is kept, with its sort key, from one render to the next
(``IndexItems``), and taken again unless its record's page is dirty (an item shows only what its
record's page shows). A talk's item is kept in two parts: its place in the order (its sort key
and last day) among the items, and its HTML apart (``talks``, by talk id). The page shows a few
dozen talks of the archive's 100k, so a rebuild reads the HTML of those only: the build state
keeps the talks' HTML in buckets read when asked for (``lod.publishing.state_parts``; 134 MB
once read whole at 100k talks, with the orders).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from datetime import UTC
from typing import Any, AbstractSet

from markupsafe import Markup, escape

from lod.model import records as R
from lod.model.formats import RDF_FORMATS
from lod.model.iri import KIND_PATHS
from lod.publishing.feeds import SITE_CALENDAR
from lod.publishing.pages import directory as D, listing as L
from lod.publishing.pages.constants import FORMAT_LABELS
from lod.publishing.pages.meta import plain_summary
from lod.publishing.pages.render import Page, Renderer
from lod.publishing.pages.times import sort_key

# (kind, id) → (sort key, HTML); a talk's → ((sort key, last day), None), its HTML in the talks' map;
# topics by ("topic", path)
IndexItems = dict[tuple[str, str], tuple[Any, Any]]
Shown = tuple[str, frozenset[str]]  # the index page's day, and the ids of the talks it lists


def index_page(r: Renderer, cache: IndexItems | None = None, talks: Mapping[str, bytes] | None = None,
               dirty: AbstractSet[str] = frozenset(), before: Shown | None = None
               ) -> tuple[Page | None, IndexItems, Shown, dict[str, bytes]]:
    """The home page: upcoming and past talks, series and events, and the data; its list items;
    the day and the talks it shows (``Shown``); and the HTML of the talks' items made here.

    With *cache* and *talks* (the items and the talks' HTML of an earlier render) an item is
    taken from them unless its page's path is in *dirty*. Which talks are upcoming is decided
    here, from ``r.now``. With *before* (what the render of *cache* showed), no page is
    returned (None) when it would be the same as that render's (``_same_index``).
    """
    ds, m = r.p.dataset, r.p.minter
    today = r.now.astimezone(UTC).date().isoformat()
    items, made = index_items(r, cache, dirty)

    def html_of(item: tuple[Any, Any]) -> bytes:
        tid = item[0][0][3]  # a sort key ends with the talk's id
        got = made.get(tid)
        if got is None:
            assert talks is not None  # an item not made here was taken from the cache: its HTML is there
            got = talks[tid]
        return got

    kept = talks if talks is not None else {}
    if cache is not None and before is not None and _same_index(items, cache, made, kept, today, before):
        return None, items, before, made

    # The soonest upcoming and the most recent past talks; the rest are on the years' pages.
    soon, recent, undated_items = L.home_talks((v for k, v in items.items() if k[0] == "talk"), today)
    upcoming = [_ordered(html_of(item), n) for n, item in soon]
    past = [_ordered(html_of(item), n) for n, item in recent]
    years = Markup("".join(f'<li><a href="{escape(L.year_path(y))}.html">{escape(y)}</a> <span class="meta">{len(ts)}</span></li>\n'
                           for y, ts in sorted(r.index.idx.years.items(), reverse=True) if y != L.UNDATED))
    n_undated = len(undated_items)
    if n_undated > L.HOME_LISTED:  # only the link to their archive page
        undated_items = []
    undated = [html_of(item).decode("utf-8") for item in undated_items]
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
    ctx = r.common("", ds.site.title, "index", "talks")
    ctx["description"] = plain_summary(ds.site.description) or (
        f"{len(ds.talks)} talks, {len(ds.series) + len(ds.events)} series and events, as pages and linked data.")
    ctx["calendar"] = "talks.ics" if SITE_CALENDAR in r.feeds else None
    dumps = [{"href": "dump" + f.suffix, "type": f.media_type, "label": f"dump{f.suffix} ({FORMAT_LABELS.get(f.name, f.name)})"}
             for f in RDF_FORMATS]

    html = r.render("index.html", data, ctx, dumps=dumps, today=today, talks_ics=SITE_CALENDAR in r.feeds,
                    upcoming=_talk_list(upcoming, "No upcoming talks."), past=_talk_list(past, "No past talks."),
                    undated=_talk_list(undated, "No talks.") if undated else "", n_undated=n_undated,
                    undated_href=L.year_path(L.UNDATED) + ".html", years=years,
                    directories=directories,
                    sources=Markup("; ".join(items[("source", sid)][1] for sid in ds.sources)))
    return Page("", html, data), items, shown, made


def index_items(r: Renderer, cache: IndexItems | None, dirty: AbstractSet[str]) -> tuple[IndexItems, dict[str, bytes]]:
    """Every list item of the index page as (sort key, HTML), taken from *cache* where still valid,
    a talk's as (its order, None); and the HTML of the talks' items made here, by talk id."""
    ds = r.p.dataset
    h = r.helpers("")
    out: IndexItems = {}
    made: dict[str, bytes] = {}

    def kept(kind: str, rid: str, path: str | None = None) -> tuple[Any, Any] | None:
        if cache is None or (path or f"{KIND_PATHS[kind]}/{rid}") in dirty:
            return None
        return cache.get((kind, rid))

    for tid, t in ds.talks.items():
        got = kept("talk", tid)
        if got is None:
            day = _last_day(t) if t.start_at is not None else None
            # data-end and data-order: what lod.js needs to split upcoming from past at the visitor's now
            html = str(r.fragments.talk_item("", t, True, None))
            if day is not None:
                html = f'<li data-end="{escape(_end_instant(t))}"' + html[len("<li"):]
            # As UTF-8: the page shows a few hundred of them, the cache keeps them all (as str,
            # one character outside Latin-1 took 2-4 bytes for each of the item's characters).
            made[tid] = html.encode("utf-8")
            got = ((sort_key(t), day), None)
        out[("talk", tid)] = got
    idx = r.index.idx
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
    return out, made


def kept_talks(cache: IndexItems, talks: MutableMapping[str, bytes], items: IndexItems, made: Mapping[str, bytes]
               ) -> MutableMapping[str, bytes]:
    """The talks' items' HTML for the next build: those *made* now over the previous render's *talks*
    (changed in place when they are the state's, so that it writes the buckets that changed; a
    dictionary, a build's own, is copied), those of the talks in *cache* but not in *items* dropped."""
    out = dict(talks) if type(talks) is dict else talks
    out.update(made)
    for kind, tid in cache:
        if kind == "talk" and (kind, tid) not in items:
            out.pop(tid, None)
    return out


def _same_index(items: IndexItems, cache: IndexItems, made: Mapping[str, bytes], talks: Mapping[str, bytes],
                today: str, before: Shown) -> bool:
    """Whether the index page made of *items* on *today* is the one made of *cache* that showed *before*.

    The page is a function of the day and of the items in their order (the order of the
    records in the data decides the sources' order, and that of topics of one label): it is
    the same if the day and the items' keys in order are, and each item that differs is a
    talk it did not list, at the same place in the chronological order (its sort key and day
    unchanged, so the same talks are listed, with the same ``data-order``, and the years'
    counts are the same). A talk's HTML made again (*made*) differs from the one kept (*talks*)
    only if the page listed it: only those are compared.
    """
    if before[0] != today or len(items) != len(cache) or list(items) != list(cache):
        return False
    for key, value in items.items():
        old = cache[key]
        if value is not old and value != old:
            if key[0] != "talk" or key[1] in before[1] or value[0] != old[0]:
                return False
    return all(talks.get(tid) == html for tid, html in made.items() if tid in before[1])


def _talk_list(items: Sequence[str], empty: str) -> Markup:
    """What ``lod.publishing.pages.items.talk_list_html`` makes of these talk items."""
    if not items:
        return Markup(f'<p class="meta">{escape(empty)}</p>\n')
    return Markup('<ul class="items">\n' + "".join(html + "\n" for html in items) + "</ul>\n")


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
