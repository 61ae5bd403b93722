"""Pages stage: the human (and search-engine) side of the site.

``write_pages`` renders ``OUT/P.html`` for every resource that has a description
``OUT/P.ttl``, plus ``index.html``, ``search.html`` and its index, ``sitemap.xml``,
``robots.txt``, the static files (``favicon.svg``, ``lod.js``) and the iCalendar feeds.
The modules of this package, in the order a page needs them:

- ``relations``: what pages list (talks of a person, speakers of an organisation …);
- ``times`` and ``mathml``: local times with zone and UTC, TeX as MathML;
- ``jsonld``: the embedded JSON-LD, built from the resource's own triples;
- ``google``: Google's Event requirements checked on that JSON-LD;
- ``items``, ``talkpage`` and ``layout``: the HTML most pages repeat (list items, facts,
  sources), the talk page's article and every page's head and footer, as plain string
  functions with explicit escapes (they were the top of the profile as Jinja templates);
- ``helpers``: what templates and those functions call (links for the page's depth),
  and the parts kept once per depth;
- ``meta``: each page's title and meta description, from what the page shows;
- ``search``: ``search.html`` and the static search index (``search/*.js``), made whole or, in a
  rebuild, the files of the changed talks only;
- ``render``: the remaining templates, sitemap, and the stage's entry points (``render_some``
  renders a chosen set of pages and calendars, byte-identical to the full stage's);
- ``dirty``: which pages and calendars can differ between two versions of the data;
- ``reads``: the views through which pages read the data, noting each page's read-set
  (records, descriptions, memoised queries) for ``dirty``;
- ``parallel``: forked workers that render slices of the pages and calendars on every
  core from ``PARALLEL_THRESHOLD`` (2,000) resource pages on, the files being the same.
"""

from lod.publishing.pages.constants import COERCED_TERMS, DATE_TERMS, ID_TERMS
from lod.publishing.pages.google import Gap, GoogleReport, google_event_gaps
from lod.publishing.pages.jsonld import JsonLdBuilder, script_json
from lod.publishing.pages.mathml import paragraphs_html, tex_html, tex_to_mathml
from lod.publishing.pages.render import environment
from lod.publishing.pages.stage import PagesOutput, check_pages, render_site, render_some, write_pages

__all__ = ["COERCED_TERMS", "DATE_TERMS", "ID_TERMS", "Gap", "GoogleReport", "JsonLdBuilder", "PagesOutput", "check_pages",
           "environment", "google_event_gaps", "paragraphs_html", "render_site", "render_some", "script_json",
           "tex_html", "tex_to_mathml", "write_pages"]
