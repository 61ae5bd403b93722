"""The static search: ``search.html`` and an index of the talks cut into small script files.

Nothing runs on a server: ``search.html`` loads ``search/search.js``, which loads only the
parts of the index a query needs, as ``<script>`` files (not ``fetch``), so the search
works from the built folder opened as files as well as from any static host.

A talk's number is a function of its own day and of the other talks of that day only:
``(day - 1900-01-01) × DAY_SLOTS + its rank among that day's talks`` (by time, then id;
undated talks after every day, by id). So numbers sort chronologically (``search.js``
orders results by them, newest first) and adding, removing or moving a talk renumbers at
most the talks of its days, never the rest of the archive.

- ``search/t-<hex>.js``: the words starting with the same two characters (hex of their
  UTF-8), each with the numbers of the talks it occurs in (ascending). A query term loads
  one such file, whatever the size of the site.
- ``search/d-<n>.js``: the talks themselves, those of ``BUCKET_DAYS`` consecutive days a
  file (``n`` is a talk's number divided by ``BUCKET``, rounded down): number, link,
  title, day, speakers, where.
- ``search/f-<facet>-<value>.js``: the talks of one series or event, topic or year (the
  filters).
- ``search/meta.js``: the constants ``search.js`` needs (``BUCKET``).

Words come from a talk's title, speakers, abstract, keywords, topics and the names of its
series, event and session. Every file is a function of the data alone, in a fixed order,
so the same data gives the same bytes whatever the history of builds.

A full build computes every talk's ``Contribution`` (its day, words, document entry and
facets) and keeps them, with the numbers, the talks of each filter and each filter's label,
in a ``SearchState`` for the next build. A rebuild (``update_index``) computes the
contributions of the talks whose pages are dirty only, renumbers their days, and renders the
files those talks were or are in: a words file is the previous one with the changed talks'
numbers taken out and put back, a documents file is made from the kept contributions of its
talks (found by their numbers), a facet file from the numbers of its talks.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import AbstractSet, Any, NamedTuple

from markupsafe import escape

from lod.model import records as R
from lod.errors import BuildError
from lod.publishing.pages.helpers import Helpers, talk_title_text
from lod.publishing.pages.times import sort_key

DAY_SLOTS = 4096  # the numbers of one day: more talks than this on one day is refused
BUCKET_DAYS = 4  # the days of talks in one documents file
BUCKET = DAY_SLOTS * BUCKET_DAYS  # a talk's documents file: its number // BUCKET
_EPOCH = date(1900, 1, 1).toordinal()
UNDATED = date.max.toordinal() + 1 - _EPOCH  # the "day" of the undated talks: after every day
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


class Contribution(NamedTuple):
    """What one talk puts in the index; it reads only what the talk's own page shows
    (its record, speakers' names, series, event and session names, topics' paths), so it
    can differ only when that page is dirty (``lod.publishing.pages.dirty``)."""

    day: int  # days since 1900-01-01 (local day), UNDATED if none
    order: tuple[str, str]  # its place among the talks of its day: UTC time, id
    doc: tuple[str, str, str, str, str]  # link, title, day, speakers, where
    words: str  # its words, sorted and space-separated (one string: a state keeps one per talk)
    facets: tuple[Facet, ...]


@dataclass
class SearchState:
    """What a rebuild needs of the previous index: every talk's contribution and number, every
    file's name, and two indexes of the contributions: the talks of each filter, and each
    filter's label. A rebuild reads the contributions of the talks whose files it makes again
    only (the state keeps them in buckets, read when asked: ``lod.publishing.state_parts``; 207 MB
    once read whole at 100k talks); the talks of a day or of a documents file are found by their
    numbers, those of a filter in ``facets``, and the filters' options are ``labels``."""

    talks: MutableMapping[str, Contribution]
    numbers: dict[str, int]
    files: list[str]  # site-relative names (``search/t-6162.js`` …), sorted
    facets: dict[str, list[str]] = field(default_factory=dict)  # a filter's key (``in-series-x``) → its talks, sorted
    labels: dict[str, tuple[int, str]] = field(default_factory=dict)  # a filter's key → its latest talk's number, label


def contribution(h: Helpers, t: R.Talk) -> Contribution:
    """The contribution of the talk *t* to the index."""
    ds = h.ds
    speakers = [ds.people[s].display_name for s in t.speakers if s in ds.people]
    parents = [h.name(k, a) for k, a in h.ancestors("talk", t)]
    doc = (h.href("talk", t.id), talk_title_text(t, ds), t.start_at.lexical[:10] if t.start_at else "",
           ", ".join(speakers), " › ".join(parents))
    text = " ".join([t.title or "", *speakers, t.abstract or "", *t.keywords, *t.topics, *parents])
    key = sort_key(t)
    day = UNDATED
    if key[0] == 0:
        try:
            day = date.fromisoformat(key[1]).toordinal() - _EPOCH
        except ValueError:  # not a day a date can hold (validated data has none): with the undated
            pass
    facets = {(facet, value): (facet, value, label) for facet, value, label in talk_facets(h, t)}
    return Contribution(day, (key[2], key[3]), doc, " ".join(sorted(words(text))), tuple(facets.values()))


def number_days(talks: Mapping[str, Contribution], days: AbstractSet[int] | None = None) -> dict[str, int]:
    """The numbers of the talks of *days* (of every day if None): day × DAY_SLOTS + rank in the day."""
    by_day: dict[int, list[tuple[tuple[str, str], str]]] = {}
    for tid, c in talks.items():
        if days is None or c.day in days:
            by_day.setdefault(c.day, []).append((c.order, tid))
    out: dict[str, int] = {}
    for day, members in by_day.items():
        if day != UNDATED and len(members) > DAY_SLOTS:  # the undated come last: they may use more
            raise BuildError(f"{len(members)} talks are on {date.fromordinal(day + _EPOCH).isoformat()}; the search "
                             f"index numbers at most {DAY_SLOTS} talks a day (DAY_SLOTS in lod/publishing/pages/search.py): "
                             "raise it, or spread the talks over their real days")
        members.sort()
        for rank, (_order, tid) in enumerate(members):
            out[tid] = day * DAY_SLOTS + rank
    return out


def _postings(talks: Mapping[str, Contribution], numbers: Mapping[str, int],
              shards: AbstractSet[str] | None = None) -> dict[str, dict[str, list[int]]]:
    """The words files' content (of *shards* only, if given) from every talk's words."""
    out: dict[str, dict[str, list[int]]] = {}
    for tid, c in talks.items():
        n = numbers[tid]
        for word in c.words.split():
            name = shard_name(word)
            if shards is None or name in shards:
                out.setdefault(name, {}).setdefault(word, []).append(n)
    for shard in out.values():
        for ns in shard.values():
            ns.sort()
    return out


def _docs(talks: Mapping[str, Contribution], numbers: Mapping[str, int],
          buckets: AbstractSet[int] | None = None) -> dict[int, list[list[Any]]]:
    """The documents files' content (of *buckets* only, if given): [number, link, title, day, speakers, where]."""
    out: dict[int, list[list[Any]]] = {}
    for tid, n in numbers.items():
        b = n // BUCKET
        if buckets is None or b in buckets:
            out.setdefault(b, []).append([n, *talks[tid].doc])
    for entries in out.values():
        entries.sort(key=lambda e: e[0])
    return out


def _facets(facets: Mapping[str, list[str]], numbers: Mapping[str, int],
            keys: Iterable[str] | None = None) -> dict[str, list[int]]:
    """The facet files' content (of *keys* ``in-series-x`` only, if given) from the talks of each filter."""
    return {key: sorted(numbers[tid] for tid in facets[key]) for key in (facets if keys is None else keys)
            if facets.get(key)}


def facet_keys(c: Contribution | None) -> set[str]:
    """The keys (``in-series-x``, as the facet files are named) of the filters a talk's contribution is under."""
    return set() if c is None else {f"{facet}-{value}" for facet, value, _label in c.facets}


def _facet_index(talks: Mapping[str, Contribution]) -> dict[str, list[str]]:
    """Each filter's talks (sorted), from their contributions."""
    out: dict[str, list[str]] = {}
    for tid, c in talks.items():
        for key in facet_keys(c):
            out.setdefault(key, []).append(tid)
    for tids in out.values():
        tids.sort()
    return out


def _label(talks: Mapping[str, Contribution], numbers: Mapping[str, int], key: str,
           tids: Iterable[str]) -> tuple[int, str] | None:
    """The label of the filter *key* (of the talks *tids*): its latest talk's (the largest number), with that number."""
    latest = max(tids, key=numbers.__getitem__, default=None)
    if latest is None:
        return None
    label = next(label for facet, value, label in talks[latest].facets if f"{facet}-{value}" == key)
    return numbers[latest], label


def _files(postings: Mapping[str, Mapping[str, list[int]]], docs: Mapping[int, list[list[Any]]],
           facets: Mapping[str, list[int]]) -> dict[str, bytes]:
    files = {f"search/{name}.js": _js("words", name, shard) for name, shard in postings.items()}
    files.update((f"search/d-{b}.js", _js("docs", b, entries)) for b, entries in docs.items())
    files.update((f"search/f-{key}.js", _js("facet", key, ns)) for key, ns in facets.items())
    return files


META = "search/meta.js"


def full_index(h: Helpers) -> tuple[dict[str, bytes], SearchState]:
    """Every file of the index, and the state a rebuild updates."""
    talks = {tid: contribution(h, t) for tid, t in h.ds.talks.items()}
    numbers = number_days(talks)
    facets = _facet_index(talks)
    files = _files(_postings(talks, numbers), _docs(talks, numbers), _facets(facets, numbers))
    files[META] = _js("meta", {"bucket": BUCKET})
    labels = {key: got for key, tids in facets.items() if (got := _label(talks, numbers, key, tids)) is not None}
    return files, SearchState(talks, numbers, sorted(files), facets, labels)


def day_of(number: int) -> int:
    """The day of a talk's number (the undated may use more than ``DAY_SLOTS`` numbers)."""
    return min(number // DAY_SLOTS, UNDATED)


def update_index(h: Helpers, old: SearchState, ids: Iterable[str],
                 previous: Callable[[str], bytes | None]) -> tuple[dict[str, bytes], SearchState]:
    """The index files that differ from *old*'s after the talks *ids* (at least every talk whose
    contribution may have changed, removed ones included) changed, and the new state.

    *previous* reads a file of the previous index (None if it cannot): a words file is
    updated from it, taking out the old numbers of the changed and renumbered talks and
    putting in their new ones; one it cannot read is made again from every talk's words.
    The files of the new state that are not in the returned ones are unchanged; those of
    *old* that are not in the new state are to be deleted.

    Only the contributions of the talks of the days, documents files and words it makes again
    are read. *old*'s contributions, when they are the state's (its buckets, read when asked:
    ``lod.publishing.state_parts.Buckets``), are changed in place, so that the state writes the
    buckets that changed; a dictionary (a build's own) is copied.
    """
    talks: MutableMapping[str, Contribution] = dict(old.talks) if type(old.talks) is dict else old.talks
    was: dict[str, Contribution | None] = {}  # the previous contributions of the talks that changed
    for tid in ids:
        t = h.ds.talks.get(tid)
        c = contribution(h, t) if t is not None else None
        before = old.talks.get(tid)
        if c != before:
            was[tid] = before
            if c is None:
                talks.pop(tid, None)
            else:
                talks[tid] = c
    changed = set(was)

    def previously(tid: str) -> Contribution | None:
        return was[tid] if tid in was else talks.get(tid)

    days = {c.day for c in was.values() if c is not None} | {talks[tid].day for tid in changed if tid in talks}
    # The talks of those days, found by their numbers, with the changed ones: numbered again.
    members = {tid for tid, n in old.numbers.items() if day_of(n) in days} | changed
    fresh = number_days({tid: talks[tid] for tid in sorted(members) if tid in talks}, days)
    numbers = {tid: n for tid, n in old.numbers.items() if day_of(n) not in days}
    numbers.update(fresh)
    moved = changed | {tid for tid, n in fresh.items() if old.numbers.get(tid) != n}
    take: dict[str, set[int]] = {}  # word → numbers it loses, then those it gains
    put: dict[str, set[int]] = {}
    buckets: set[int] = set()
    keys: set[str] = set()  # the filters whose files can differ
    relabelled: set[str] = set()  # and those whose label can, though their files do not
    for tid in moved:
        was_c, now_c = previously(tid), talks.get(tid)
        if was_c is not None and now_c is not None and old.numbers[tid] == numbers[tid]:
            # The same number: only what differs between the two versions changes in the files (a
            # title edit adds or drops a word or two; taking out and putting back every word of the
            # talk rewrote a file per word, and every facet file it is in, to the same bytes).
            n = numbers[tid]
            was_words, now_words = set(was_c.words.split()), set(now_c.words.split())
            for word in was_words - now_words:
                take.setdefault(word, set()).add(n)
            for word in now_words - was_words:
                put.setdefault(word, set()).add(n)
            if was_c.doc != now_c.doc:
                buckets.add(n // BUCKET)
            keys.update(facet_keys(was_c) ^ facet_keys(now_c))
            relabelled.update(f"{f}-{v}" for f, v, _label in set(was_c.facets) ^ set(now_c.facets))
            continue
        for c, nums, into in ((was_c, old.numbers, take), (now_c, numbers, put)):
            if c is None:
                continue
            n = nums[tid]
            for word in c.words.split():
                into.setdefault(word, set()).add(n)
            buckets.add(n // BUCKET)
            keys.update(facet_keys(c))
    facets = _refiled(old.facets, {tid: (previously(tid), talks.get(tid)) for tid in changed})
    by_shard: dict[str, list[str]] = {}
    for word in take.keys() | put.keys():
        by_shard.setdefault(shard_name(word), []).append(word)
    postings: dict[str, dict[str, list[int]]] = {}
    unread: set[str] = set()
    for name, changed_words in by_shard.items():
        shard = _read_words(previous(f"search/{name}.js"), name) if f"search/{name}.js" in old.files else {}
        if shard is None:
            unread.add(name)
            continue
        for word in changed_words:
            ns = (set(shard.get(word, ())) - take.get(word, set())) | put.get(word, set())
            if ns:
                shard[word] = sorted(ns)
            else:
                shard.pop(word, None)
        postings[name] = shard
    if unread:  # every talk's words are read for them: only when a file could not be
        postings.update(_postings(talks, numbers, unread))
    for name in unread:
        postings.setdefault(name, {})  # a file no talk's word is in any more: deleted
    docs = _docs(talks, numbers, buckets)
    facet_files = _facets(facets, numbers, keys)
    files = _files({k: v for k, v in postings.items() if v}, docs, facet_files)
    gone = ({f"search/{name}.js" for name in postings if not postings[name]}
            | {f"search/d-{b}.js" for b in buckets if b not in docs}
            | {f"search/f-{key}.js" for key in keys if key not in facet_files})
    names = sorted((set(old.files) - gone) | files.keys())
    labels = dict(old.labels)
    for key in keys | relabelled:
        got = _label(talks, numbers, key, facets.get(key, ()))
        if got is None:
            labels.pop(key, None)
        else:
            labels[key] = got
    return files, SearchState(talks, numbers, names, facets, labels)


def _refiled(facets: Mapping[str, list[str]], versions: Mapping[str, tuple[Contribution | None, Contribution | None]]
             ) -> dict[str, list[str]]:
    """The talks of each filter after the talks of *versions* changed from their first contribution to their
    second (None: not there). A filter they leave or join has a new list (the state compares lists by identity first)."""
    out = dict(facets)
    for tid, (was, now) in versions.items():
        was_keys, now_keys = facet_keys(was), facet_keys(now)
        for key in was_keys - now_keys:
            left = [t for t in out.get(key, ()) if t != tid]
            if left:
                out[key] = left
            else:
                out.pop(key, None)
        for key in now_keys - was_keys:
            joined = list(out.get(key, ()))
            bisect.insort(joined, tid)
            out[key] = joined
    return out


def _read_words(data: bytes | None, name: str) -> dict[str, list[int]] | None:
    """The content of the words file *name* as ``_js`` wrote it, or None if *data* is not that."""
    prefix, suffix = b"lodSearch.words(", b");\n"
    if data is None or not data.startswith(prefix) or not data.endswith(suffix):
        return None
    try:
        got = json.loads(b"[" + data[len(prefix):-len(suffix)] + b"]")
    except ValueError:
        return None
    if not (isinstance(got, list) and len(got) == 2 and got[0] == name and isinstance(got[1], dict)):
        return None
    return got[1]


def search_options(state: SearchState) -> dict[str, list[tuple[str, str]]]:
    """The filters' options (facet → (value, label), sorted); a value's label is its latest talk's."""
    options: dict[str, list[tuple[str, str]]] = {"in": [], "topic": [], "year": []}
    for key, (_n, label) in state.labels.items():
        facet, _, value = key.partition("-")  # a facet's name has no "-"
        options[facet].append((value, label))
    for facet, values in options.items():
        values.sort(key=(lambda v: v[0]) if facet == "year" else (lambda v: (v[1].lower(), v[0])),
                    reverse=facet == "year")
    return options


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
