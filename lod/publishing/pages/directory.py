"""The directories: every person, organisation, place, topic, and series and event, by name.

A directory is a listing cut into pages like the others (``lod.publishing.pages.listing``:
``DIRECTORIES``, key ``("all", name)``). Its items are the list items the home page showed for
every record of a kind, which at archive size made the home page megabytes long (33k people
at 100k talks) and changed it with every person added. The home page now lists a kind itself
only while it has at most ``listing.HOME_LISTED`` records, and always links to the directory.

The items are made here, for the directory pages and the home page alike, from the helpers of
the page they are on (links are relative to it).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from lod.model import records as R
from lod.publishing.pages import listing as L
from lod.publishing.pages.helpers import Helpers
from lod.publishing.pages.mathml import tex_html

def link_text(name: str, count: int) -> str:
    """The home page's link to the directory *name* of *count* items: ``All people, by name (12)``."""
    d = L.DIRECTORIES[name]
    return f"All {d.heading.lower()}, {d.order} ({count})"


def item_html(h: Helpers, kind: str, item: Any) -> str:
    """The list item of one entry of a directory (*item* as ``listing.items`` gives it)."""
    if kind == "topic":
        path, label, count = item
        return (f'<li><a href="{escape(h.up + path)}.html">{escape(label)}</a> <span class="meta">{count}</span>'
                "</li>\n")
    if kind in ("series", "event"):
        return gathering_item(h, kind, item)
    name = item.display_name if isinstance(item, R.Person) else item.name
    return f'<li><a href="{escape(h.href(kind, item.id))}">{escape(name)}</a></li>\n'


def gathering_item(h: Helpers, kind: str, g: R.Gathering) -> str:
    """A series or event as an item of a list: its name, kind, dates and number of talks."""
    label = h.kind_text[kind] if kind == "series" else (getattr(g, "kind", None) or "event").capitalize()
    first, last, n = h.span(kind, g)
    when = ""
    if first:
        when = str(escape(first)) + (f" – {escape(last)}" if last and last != first else "") + " · "
    return (f'<li><div><a class="item-title" href="{escape(h.href(kind, g.id))}">{tex_html(g.name)}</a> '
            f'<span class="meta">{escape(label)}</span></div>\n'
            f'<div class="meta">{when}{n} talks</div></li>\n')


def items_html(h: Helpers, shown: list[tuple[str, Any]]) -> Markup:
    """The list items of a slice of a directory."""
    return Markup("".join(item_html(h, kind, item) for kind, item in shown))
