"""The static search: ``search.html`` and an index of the talks cut into small script files.

Nothing runs on a server: ``search.html`` loads ``search/search.js``, which loads only the
parts of the index a query needs, as ``<script>`` files (not ``fetch``), so the search
works from the built folder opened as files as well as from any static host.

- ``search/t-<hex>.js``: the words starting with the same two characters (hex of their
  UTF-8), each with the talks it occurs in (numbers, ascending). A query term loads one
  such file, whatever the size of the site.
- ``search/d-<n>.js``: the talks themselves, ``DOCS_PER_FILE`` a file, in chronological
  order (a talk's number is its place in that order): link, title, day, speakers, where.
- ``search/f-<facet>-<value>.js``: the talks of one series or event, topic or year (the
  filters).

Words come from a talk's title, speakers, abstract, keywords, topics and the names of its
series, event and session. Every file is a function of the data alone, in a fixed order,
so the same data gives the same bytes (the incremental build renders them all again).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from markupsafe import escape

from .. import records as R
from .helpers import Helpers, talk_title_text
from .times import sort_key

DOCS_PER_FILE = 500
_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Lower case without accents, as ``search.js`` normalises a query (NFKD, marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> set[str]:
    """The searchable words of a text: runs of letters and digits, two characters or more, normalised.

    The same as normalising the text, then cutting it (what ``search.js`` does), but only the
    words that are not ASCII are normalised (and cut again): normalising character by
    character was most of the index's time.
    """
    out: set[str] = set()
    for w in set(_WORD.findall(text.lower())):
        if w.isascii():
            if len(w) >= 2:
                out.add(w)
        else:
            out.update(_normalised_words(w))
    return out


@functools.lru_cache(maxsize=65536)
def _normalised_words(word: str) -> tuple[str, ...]:
    """The words a non-ASCII word becomes once normalised (words recur across talks: kept)."""
    return tuple(v for v in _WORD.findall(normalise(word)) if len(v) >= 2)


@functools.lru_cache(maxsize=65536)
def shard_name(word: str) -> str:
    """The file holding *word*: ``t-`` and the hex of the UTF-8 of its first two characters."""
    return "t-" + word[:2].encode("utf-8").hex()


def _js(call: str, *args: Any) -> bytes:
    """A script file calling ``lodSearch.<call>(args)`` with compact, key-sorted JSON."""
    body = ",".join(json.dumps(a, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for a in args)
    return f"lodSearch.{call}({body});\n".encode("utf-8")


Facet = tuple[str, str, str]  # (facet, value as in the file name, label)


def talk_facets(h: Helpers, t: R.Talk) -> Iterator[Facet]:
    """The filters a talk is found under: its series and events, topics and year."""
    for kind, a in h.ancestors("talk", t):
        if kind in ("series", "event"):
            yield "in", f"{kind}-{a.id}", h.name(kind, a)
    for label in t.topics:
        path = h.m.path_of(str(h.m.topic(label))) or ""
        yield "topic", path.rpartition("/")[2], label
    if t.start_at is not None:
        year = t.start_at.lexical[:4]
        yield "year", year, year


def search_files(h: Helpers) -> tuple[dict[str, bytes], dict[str, list[tuple[str, str]]]]:
    """The index files (by site-relative name) and the filters' options (facet → (value, label), sorted)."""
    ds = h.ds
    talks = sorted(ds.talks.values(), key=sort_key)
    postings: dict[str, list[int]] = {}
    facets: dict[tuple[str, str], list[int]] = {}
    labels: dict[tuple[str, str], str] = {}
    docs: list[list[Any]] = []
    for n, t in enumerate(talks):
        speakers = [ds.people[s].display_name for s in t.speakers if s in ds.people]
        parents = [h.name(k, a) for k, a in h.ancestors("talk", t)]
        docs.append([h.href("talk", t.id), talk_title_text(t, ds), t.start_at.lexical[:10] if t.start_at else "",
                     ", ".join(speakers), " › ".join(parents)])
        text = " ".join([t.title or "", *speakers, t.abstract or "", *t.keywords, *t.topics, *parents])
        for word in words(text):
            postings.setdefault(word, []).append(n)
        for facet, value, label in talk_facets(h, t):
            talks_of = facets.setdefault((facet, value), [])
            if not talks_of or talks_of[-1] != n:
                talks_of.append(n)
            labels[(facet, value)] = label
    shards: dict[str, dict[str, list[int]]] = {}
    for word, talks_of_word in postings.items():
        shards.setdefault(shard_name(word), {})[word] = talks_of_word
    files: dict[str, bytes] = {}
    for name in sorted(shards):
        files[f"search/{name}.js"] = _js("words", name, shards[name])
    for start in range(0, len(docs), DOCS_PER_FILE):
        files[f"search/d-{start // DOCS_PER_FILE}.js"] = _js("docs", start // DOCS_PER_FILE, docs[start:start + DOCS_PER_FILE])
    for (facet, value), talks_of in sorted(facets.items()):
        files[f"search/f-{facet}-{value}.js"] = _js("facet", f"{facet}-{value}", talks_of)
    options: dict[str, list[tuple[str, str]]] = {"in": [], "topic": [], "year": []}
    for (facet, value), label in labels.items():
        options[facet].append((value, label))
    for facet, values in options.items():
        values.sort(key=(lambda v: v[0]) if facet == "year" else (lambda v: (v[1].lower(), v[0])),
                    reverse=facet == "year")
    files["search/meta.js"] = _js("meta", {"docsPerFile": DOCS_PER_FILE, "talks": len(docs)})
    return files, options


def search_main_html(options: dict[str, list[tuple[str, str]]], up: Callable[[str], str]) -> str:
    """The main part of ``search.html``: the form (it works as a plain form too: it reloads the
    page with the query in its address, which the script reads) and where results go."""
    def select(name: str, label: str, any_text: str) -> str:
        opts = "".join(f'<option value="{escape(v)}">{escape(text)}</option>' for v, text in options[name])
        return (f'<label>{escape(label)} <select name="{name}" id="search-{name}"><option value="">{escape(any_text)}'
                f"</option>{opts}</select></label>\n")

    return ('<h1>Search the talks</h1>\n<form id="search" class="search" role="search" action="search.html">\n'
            '<label for="search-q">Words of a title, speaker or abstract</label>\n'
            '<input type="search" id="search-q" name="q" autocomplete="off">\n<div class="filters">\n'
            + select("in", "Series or event", "All series and events") + select("topic", "Topic", "All topics")
            + select("year", "Year", "All years") + '</div>\n<button type="submit">Search</button>\n</form>\n'
            '<p id="search-status" class="meta" role="status" aria-live="polite"></p>\n<div id="search-results"></div>\n'
            '<noscript><p>The search runs in your browser and needs JavaScript. Every talk is listed on the '
            f'<a href="{escape(up("index.html"))}#talks">home page</a>.</p></noscript>\n'
            f'<script src="{escape(up("search/search.js"))}" defer></script>\n')
