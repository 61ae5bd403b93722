"""The main part of a talk page as a plain string function.

Talk pages are most of a site's pages; rendering them through Jinja (a macro call and an
autoescape per value) was most of the pages stage. This writes the HTML the ``talk.html``
template wrote (the template is gone, so this is the one source), escaping every value
explicitly with ``markupsafe.escape`` as autoescaping did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from lod.model import records as R
from lod.publishing.pages.items import calendar_link_html, dictsort, people_html, scheduled_facts_html, sources_html

if TYPE_CHECKING:
    from lod.publishing.pages.render import Helpers


def talk_main_html(h: Helpers, rec: R.Talk) -> Markup:
    """The ``<article>`` of a talk's page: header, facts, abstract, keywords, references, media, sources."""
    lang = f' lang="{escape(rec.language)}"' if rec.language else ""
    parts = ['<article class="talk">\n<header>\n<p class="kind">Talk']
    for k, a in h.ancestors("talk", rec):
        parts += [' · <a href="', escape(h.href(k, a.id)), '">', escape(h.name(k, a)), "</a>"]
    parts += ["</p>\n<h1", lang if rec.title else "", ">", h.title(rec), "</h1>\n"]
    if rec.speakers:
        parts += ['<p class="byline">', people_html(h, rec.speakers), "</p>"]
    if rec.coauthors:
        parts += ['<p class="meta">Joint work with ', people_html(h, rec.coauthors), "</p>"]
    status = escape(h.status_text[rec.status])
    if rec.status != "scheduled":
        parts += ['<p><strong class="status">', status, "</strong>"]
        if rec.previous_start_at:
            parts += [" · previously planned for ", h.when_previous(rec)]
        parts.append("</p>\n")
    parts.append('</header>\n<dl class="facts">\n')
    if not rec.start_at:
        parts.append('<dt>When</dt><dd class="meta">The sources give no date.</dd>')
    parts.append(scheduled_facts_html(h, rec))
    # "Scheduled" is what every talk is unless said otherwise: only a status that says something is shown
    parts += ["\n<dt>Status</dt><dd>", status, "</dd>\n"] if rec.status != "scheduled" else ["\n"]
    if rec.ids:
        ids = ", ".join(f"{escape(system)}: {escape(value)}" for system, value in dictsort(rec.ids))
        parts += ["<dt>Identifiers</dt><dd>", ids, "</dd>"]
    parts += ["</dl>\n", calendar_link_html(h, "talk", rec.id),
              '\n<section aria-labelledby="abstract">\n<h2 id="abstract">Abstract</h2>\n']
    if rec.abstract:
        parts += ['<div class="abstract"', lang, ">\n", h.paragraphs(rec.abstract), "\n</div>\n"]
    else:
        parts.append('<p class="meta">The sources give no abstract.</p>\n')
    for variant in rec.abstract_variants:
        parts += ["<details>\n<summary>The abstract as “", escape(h.name("source", h.source(variant.source))),
                  '” words it</summary>\n<div class="abstract"', lang, ">\n", h.paragraphs(variant.text),
                  "\n</div>\n</details>\n"]
    parts.append("</section>\n")
    if rec.keywords or rec.topics:
        parts.append('<section aria-labelledby="keywords">\n<h2 id="keywords">Keywords and topics</h2>\n'
                     '<ul class="tags">\n')
        for topic in rec.topics:
            parts += ['<li><a href="', escape(h.topic_href(topic)), '">', escape(topic), "</a></li>\n"]
        for keyword in rec.keywords:
            parts += ["<li>", escape(keyword), "</li>\n"]
        parts.append("</ul>\n</section>\n")
    if rec.references:
        parts.append('<section aria-labelledby="references">\n<h2 id="references">References</h2>\n'
                     '<ol class="refs">\n')
        for n, ref in enumerate(rec.references, 1):
            parts.append(_reference_html(h, n, ref))
        parts.append("</ol>\n</section>\n")
    if rec.recording or rec.slides:
        parts.append('<section aria-labelledby="media">\n<h2 id="media">Recording and slides</h2>\n<ul>\n')
        if rec.recording:
            parts += ["<li>Recording: ", _media_html(rec.recording,
                                                      "the source says the talk was recorded; no link is published."),
                      "</li>"]
        if rec.slides:
            parts += ["<li>Slides: ", _media_html(rec.slides, "the source mentions slides; no link is published."),
                      "</li>"]
        parts.append("</ul>\n</section>\n")
    parts += [sources_html(h, rec), "\n</article>\n"]
    return Markup("".join(parts))


def _media_html(media: R.Media, missing: str) -> str:
    """A recording's or slides' link, else the text saying there is none."""
    if media.url:
        url = escape(media.url)
        return f'<a href="{url}">{url}</a>'
    return missing


def _reference_html(h: Helpers, n: int, ref: R.Reference) -> str:
    """One cited work: authors, title, journal, volume (issue), pages, year, DOI and URL."""
    parts = [f'<li id="ref-{n}">']
    if ref.authors:
        parts += [people_html(h, ref.authors, False), ". "]
    if ref.title:
        parts += ["<cite>", h.tex(ref.title), "</cite>."]
    if ref.journal:
        parts += [" <i>", escape(ref.journal), "</i>"]
    if ref.volume:
        parts += [" ", escape(ref.volume)]
    if ref.issue:
        parts += [" (", escape(ref.issue), ")"]
    if ref.pages:
        parts += [", ", escape(ref.pages)]
    if ref.year:
        parts += [", ", escape(ref.year)]
    if ref.journal or ref.volume or ref.pages or ref.year:
        parts.append(".")
    if ref.doi:
        doi = escape(ref.doi)
        parts += [' <a href="https://doi.org/', doi, '">doi:', doi, "</a>"]
    if ref.url:
        url = escape(ref.url)
        parts += [' <a href="', url, '">', url, "</a>"]
    parts.append("</li>\n")
    return "".join(parts)
