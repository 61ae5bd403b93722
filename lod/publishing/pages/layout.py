"""The page around every page's main part: head, embedded JSON-LD, site navigation and footer.

Every page has it, so it is a plain string function rather than a Jinja base template
(whose per-page cost was a large part of the small pages): it writes what ``base.html``
wrote, escaping every value explicitly with ``markupsafe.escape`` as autoescaping did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markupsafe import escape

# The site's whole style sheet, inline so that a page is one request.
STYLE = """:root{color-scheme:light dark;--fg:#1f1f1f;--muted:#5e6166;--bg:#fff;--soft:#f4f5f7;--accent:#0b57d0;--line:#dfe1e5;--warn:#a8200d}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#a0a4aa;--bg:#141619;--soft:#1d2024;--accent:#8ab4f8;--line:#3a3d42;--warn:#f29b8b}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
.site-header,main,.site-footer{max-width:48rem;margin:0 auto;padding:0 1rem}
.site-header nav{display:flex;flex-wrap:wrap;gap:.2rem 1rem;align-items:baseline;padding:.8rem 0;border-bottom:1px solid var(--line)}
.site-header .home{font-weight:650;margin-right:auto;text-decoration:none;color:var(--fg)}
@media (max-width:34rem){.site-header .home{flex-basis:100%}}
a{color:var(--accent);overflow-wrap:anywhere}
h1{font-size:1.65rem;line-height:1.25;margin:.3rem 0 .6rem}
h2{font-size:1.15rem;margin:2rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
.kind{color:var(--muted);font-size:.85rem;text-transform:uppercase;letter-spacing:.05em;margin:1.4rem 0 0}
.kind a{color:inherit}
.byline{font-size:1.08rem;margin:.2rem 0 1rem}
.meta,.zone,.utc{color:var(--muted)}
.utc{font-size:.92rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1.1rem;margin:1rem 0;padding:.8rem 1rem;background:var(--soft);border-radius:.5rem}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
@media (max-width:34rem){dl.facts{grid-template-columns:1fr;gap:0}dl.facts dd{margin-bottom:.5rem}h1{font-size:1.4rem}}
ul.items{list-style:none;padding:0;margin:0}
ul.items>li{padding:.55rem 0;border-bottom:1px solid var(--line)}
ul.items ul.items{margin:.3rem 0 0 1rem}
ul.items ul.items>li{border-bottom:0;padding:.25rem 0}
.item-title{font-weight:600}
.no-title{font-style:italic;color:var(--muted);font-weight:normal}
.status{display:inline-block;padding:0 .45rem;border-radius:.25rem;background:var(--warn);color:var(--bg);font-size:.85rem;font-weight:600}
.abstract p,.description p{margin:.6rem 0}
ol.refs li{margin:.35rem 0}
details{margin:.6rem 0}
summary{cursor:pointer;color:var(--accent)}
math{font-size:1.05em}
.tags{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem}
.tags li{background:var(--soft);border:1px solid var(--line);border-radius:1rem;padding:0 .6rem;font-size:.9rem}
.formats a{margin-right:.6rem}
pre.code{background:var(--soft);padding:.8rem;border-radius:.5rem;overflow-x:auto;font-size:.88rem;max-width:100%}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.9rem;margin:.6rem 0}
th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft)}
.actions a{margin-right:1rem}
.visitor{color:var(--muted);font-size:.92rem}
form.search{display:grid;gap:.5rem;margin:1rem 0}
form.search input,form.search select,form.search button{font:inherit;padding:.3rem .5rem;max-width:100%}
form.search input,form.search select{width:100%}
form.search .filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem}
form.search .filters label{flex:1 1 12rem;min-width:0}
form.search button{justify-self:start}
.site-footer{margin-top:2.5rem;padding-top:1rem;padding-bottom:2rem;border-top:1px solid var(--line);color:var(--muted);font-size:.9rem}
"""


def page_html(ctx: Mapping[str, Any], main: str, jsonld: str) -> str:
    """A whole HTML document: *main* (already HTML) in the layout, with the variables of ``Renderer.common``.

    *jsonld* is the JSON of the ``<script type="application/ld+json">`` element, already
    made safe for it (``script_json``).
    """
    site = ctx["site"]
    site_title = escape(site.title)
    root = escape(ctx["h"].root())
    alternates = ctx["alternates"]
    calendar = ctx["calendar"]
    title = escape(ctx["title"]) + " · " + site_title if ctx["path"] else site_title
    canonical = escape(ctx["canonical"])
    up = ctx["h"].file("")
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>', title, "</title>\n"]
    description = escape(ctx["description"]) if ctx["description"] else ""
    if description:
        parts += ['<meta name="description" content="', description, '">\n']
    parts += ['<link rel="canonical" href="', canonical, '">\n<link rel="icon" href="', escape(up),
              'favicon.svg" type="image/svg+xml">\n']
    # Link previews (OpenGraph, read by most sites and chat programs; Twitter's card falls back to it).
    parts += ['<meta property="og:type" content="website">\n<meta property="og:site_name" content="', site_title,
              '">\n<meta property="og:title" content="', title, '">\n<meta property="og:url" content="', canonical,
              '">\n']
    if description:
        parts += ['<meta property="og:description" content="', description, '">\n']
    parts += ['<meta name="twitter:card" content="summary">\n']
    for rel, href in sorted(ctx.get("rel", {}).items(), reverse=True):  # a listing's pages (lod.publishing.pages.listing)
        parts += ['<link rel="', rel, '" href="', escape(href), '">\n']
    for alt in alternates:
        parts += ['<link rel="alternate" type="', escape(alt["type"]), '" href="', escape(alt["href"]), '">\n']
    if calendar:
        parts += ['<link rel="alternate" type="text/calendar" href="', escape(calendar),
                  '" title="Calendar (iCalendar)">\n']
    parts += ["<style>\n", STYLE, '</style>\n<script type="application/ld+json">\n', jsonld,
              '\n</script>\n<script src="', escape(up), 'lod.js" defer></script>\n</head>\n<body>\n',
              header_html(site_title, root, escape(up)), '<main>\n', main,
              '</main>\n<footer class="site-footer">\n']
    if alternates:
        parts += ['<p class="formats">This ', escape(ctx["kind_text"].lower()), " as data:\n"]
        for alt in alternates:
            parts += ['<a href="', escape(alt["href"]), '" type="', escape(alt["type"]), '">', escape(alt["label"]),
                      "</a>\n"]
        if calendar:
            parts += ['<a href="', escape(calendar), '" type="text/calendar">iCalendar</a>']
        identifier = escape(ctx["identifier"])
        # The identifier is shown, not linked: it answers through ``lod serve`` (303 to a document),
        # and every link of a page must work on a plain static host.
        parts += ['</p>\n<p>Identifier: <code class="iri">', identifier, "</code></p>\n"]
    parts += ['<p><a href="', root, '">', site_title, "</a>"]
    if site.license:
        lic = escape(site.license)
        parts += [' · data licence: <a href="', lic, '" rel="license">', lic, "</a>"]
    parts += [' · <a href="', root, '#data">all the data</a></p>\n</footer>\n</body>\n</html>\n']
    return without_c1("".join(parts))


# The C1 controls (U+0080–U+009F, NEL among them) are a parse error anywhere in HTML, and
# HTML has no way to write them: a character reference &#133; means "…" (Windows-1252).
# The embedded JSON-LD has them as escapes already (script_json); the dumps keep them.
_C1 = re.compile("[\x80-\x9f]")


def without_c1(html: str) -> str:
    """*html* with each C1 control character shown as U+FFFD, the replacement character."""
    return _C1.sub("\ufffd", html) if _C1.search(html) else html


def header_html(site_title: str, root: str, up: str) -> str:
    """The site's navigation, the same on every page (the query gallery's too); arguments already escaped."""
    return ('<header class="site-header">\n<nav aria-label="Site">\n'
            f'<a class="home" href="{root}">{site_title}</a>\n<a href="{root}#talks">Talks</a>\n'
            f'<a href="{root}#series">Series and events</a>\n<a href="{up}search.html">Search</a>\n'
            f'<a href="{up}queries.html">Queries</a>\n<a href="{root}#data">Data</a>\n</nav>\n</header>\n')
