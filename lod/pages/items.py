"""Talk list items as plain string functions: the part of the list pages rendered most often.

A talk is listed on many pages (its speakers', organisations', places', topics', series'
pages and the index); rendering its item through a Jinja macro cost more than the rest of
those pages. The HTML here is what the ``talk_item`` macro of ``_macros.html`` produced
(the macro is gone, so this is the one source); every value is escaped explicitly with
``markupsafe.escape``, as autoescaping did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from .. import records as R

if TYPE_CHECKING:
    from .render import Helpers


def people_html(h: Helpers, ids: Sequence[str], with_affiliations: bool = True) -> str:
    """People's links (with their affiliations), comma-separated (the ``people`` macro)."""
    return ", ".join([h.fragment("person_link", pid, with_affiliations) for pid in ids])


def talk_item_html(h: Helpers, t: R.Talk, show_parent: bool = False, note: str | None = None) -> Markup:
    """A talk as an item of a list: when, status, title, speakers, where it belongs and a note."""
    parts = ["<li>\n<div>", h.when_short(t)]
    if t.status != "scheduled":
        parts += [' <span class="status">', escape(h.status_text[t.status]), "</span>"]
    parts += ['</div>\n<div><a class="item-title" href="', escape(h.href("talk", t.id)), '">',
              h.title(t), "</a></div>\n"]
    ancestors = h.ancestors("talk", t) if show_parent else []
    if t.speakers or ancestors or note:
        parts.append('<div class="meta">')
        if t.speakers:
            parts.append(people_html(h, t.speakers))
        for n, (k, a) in enumerate(ancestors):
            if n == 0 and t.speakers:
                parts.append(" · ")
            if n:
                parts.append(" › ")
            parts += ['<a href="', escape(h.href(k, a.id)), '">', escape(h.name(k, a)), "</a>"]
        if note:
            parts += [" · ", escape(note)]
        parts.append("</div>\n")
    parts.append("</li>")
    return Markup("".join(parts))
