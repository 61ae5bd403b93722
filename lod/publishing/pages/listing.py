"""Listings that stay small: the archive pages per year, and long listings cut into pages.

A page that lists everything changes on every edit, and at archive scale costs seconds to
render again. So the home page shows only the next and the most recent talks
(``HOME_UPCOMING``, ``HOME_RECENT``) and links to one archive page per year
(``talks/2024.html``; the talks without a date at ``talks/undated.html``, listed on the home page
itself only while there are at most ``HOME_LISTED``), and every listing that grows with the archive (a year's talks, the
records taken from a source, a topic's talks, the talks at a place, the people of an organisation) is cut into pages of ``PAGE_SIZE`` items:
page 1 at the usual ``P.html``, page *n* at ``P/page-n.html``. The *directories* list every
person, organisation, place, topic, and series and event, by name (``DIRECTORIES``:
``people.html``, ``people/page-2.html`` …); the home page lists them itself only while there
are at most ``HOME_LISTED`` of a kind, and otherwise links to its directory.

None collides with a resource document: resource paths are ``kind/slug`` (``lod.model.iri``),
slugs have no ``/``, and no kind's path segment is ``talks`` or a directory's name (a test
checks it); ``P/page-n`` has one segment more than any resource path. All are plain files,
so a static host serves them.

This module is the one place that says which records a listing page shows, in which
order: the renderer (``lod.publishing.pages.render``) and the dirty rule (``lod.publishing.pages.dirty``) both
read it, so the pages rendered again after an edit are exactly those whose slice changed.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import Any, Iterator, NamedTuple, Sequence, TypeVar

from lod.model import records as R
from lod.model.iri import KIND_PATHS
from lod.publishing.pages.constants import KIND_OF_PATH
from lod.publishing.pages.relations import UNDATED, SiteIndex, person_order
from lod.publishing.pages.times import sort_key

PAGE_SIZE = 500  # items per listing page; one edit re-renders at most the pages its item is on
HOME_UPCOMING = 50  # the soonest upcoming talks the home page shows
HOME_RECENT = 50  # the most recent past talks the home page shows
YEARS = "talks"  # path segment of the archive pages per year: talks/2024 (no kind's path is "talks")
PAGED_KINDS = ("source", "topic", "place", "organization", "year")  # the kinds of listing that are cut into pages
HOME_LISTED = 100  # the home page lists a kind's records itself up to this many, else links to its directory
DIRECTORY = "all"  # the listing kind of the directories: ("all", "people") lists every person


class Directory(NamedTuple):
    """A directory, as its pages and the home page show it."""

    heading: str
    kinds: tuple[str, ...]  # the kinds of record it lists
    anchor: str  # the home page's section of it (the anchor it had before the directories)
    order: str  # how it is ordered, in words (``directory_order`` sorts it so)
    list_class: str  # its list's CSS class: items with a line of facts, or tags


# Each directory by its path (and key).
DIRECTORIES: dict[str, Directory] = {
    "series-and-events": Directory("Series and events", ("series", "event"), "series", "by date", "items"),
    "people": Directory("People", ("person",), "people", "by name", "tags"),
    "organizations": Directory("Organisations", ("organization",), "orgs", "by name", "tags"),
    "places": Directory("Places", ("place",), "places", "by name", "tags"),
    "topics": Directory("Topics", ("topic",), "topics", "by name", "tags"),
}

Key = tuple[str, str]
Item = tuple[str, Any]  # (kind, record) as a listing shows it; a topic's (path, label, number of talks)
T = TypeVar("T")


def page_path(owner: str, n: int) -> str:
    """The site path of page *n* of the listing at *owner*: the owner's own path for page 1."""
    return owner if n == 1 else f"{owner}/page-{n}"


def split_page(path: str) -> tuple[str, int]:
    """The owner's path and the page number of a listing page's path (``source/x/page-2`` → ``source/x``, 2)."""
    owner, sep, tail = path.rpartition("/page-")
    if sep and tail.isdigit() and (owner.count("/") == 1 or owner in DIRECTORIES):
        return owner, int(tail)
    return path, 1


def is_listing_only(path: str) -> bool:
    """Whether the page at *path* belongs to no record of its own: a year's, a directory's, or a
    listing's page after the first."""
    owner, n = split_page(path)
    return n > 1 or owner in DIRECTORIES or owner.startswith(YEARS + "/")


def page_count(n_items: int) -> int:
    """How many pages a listing of *n_items* takes (at least one, that says it is empty)."""
    return max(1, -(-n_items // PAGE_SIZE))


def page_slice(items: Sequence[T], n: int) -> Sequence[T]:
    """The items on page *n*."""
    return items[(n - 1) * PAGE_SIZE:n * PAGE_SIZE]


def year_path(year: str) -> str:
    """The site path of a year's archive page."""
    return f"{YEARS}/{year}"


def owner_path(key: Key) -> str:
    """The site path of a listing's owner key: ``("year", "2024")`` → ``talks/2024``, ``("all", "people")`` → ``people``."""
    if key[0] == DIRECTORY:
        return key[1]
    return year_path(key[1]) if key[0] == "year" else f"{KIND_PATHS[key[0]]}/{key[1]}"


def owner_key(path: str) -> Key | None:
    """The owner key of a listing's path (page 1's), or None if no listing is there."""
    if path in DIRECTORIES:
        return (DIRECTORY, path)
    first, _, rest = path.partition("/")
    if first == YEARS:
        return ("year", rest)
    kind = KIND_OF_PATH.get(first)
    return (kind, rest) if kind in PAGED_KINDS else None


def items(idx: SiteIndex, key: Key) -> list[Item]:
    """What the listing of *key* lists, in its order: a source's records as read, talks by date.

    Kept on the index (which never changes once built): the pages' queries and ``more_pages``
    ask for the same listings."""
    got: list[Item] = idx.kept("listing", key, lambda: _items(idx, key))
    return got


def size(idx: SiteIndex, key: Key) -> int:
    """How many items the listing of *key* has: ``len(items(idx, key))``, without putting them in order
    (a rebuild needs every listing's number of pages, and the items of a few), nor listing them where
    the index holds them as one list (at 100k talks the lists of every listing were 0.3 s a rebuild)."""
    whole = _held(idx, key)
    return len(whole) if whole is not None else len(_members(idx, key))


def _items(idx: SiteIndex, key: Key) -> list[Item]:
    got = _members(idx, key)
    if key[0] == "source":  # as read
        return got
    if key[0] == "organization":  # by name
        return sorted(got, key=lambda item: person_order(item[1]))
    if key[0] == DIRECTORY:
        return sorted(got, key=directory_order)
    return sorted(got, key=lambda item: idx.sort_key(item[1]))


def _members(idx: SiteIndex, key: Key) -> list[Item]:
    """The items of the listing of *key*, in no particular order but the source's."""
    kind, rid = key
    if kind == DIRECTORY:
        if rid == "topics":  # a topic is no record: its path, label and number of talks
            return [("topic", (path, label, len(talks))) for path, (label, talks) in idx.topics.items()]
        return [(k, r) for k in DIRECTORIES[rid].kinds for r in idx.ds.table(k).values()]
    if kind == "organization":  # the people affiliated with it or an organisation under it
        return [("person", person) for person, _via in idx.affiliated_people(rid).values()]
    if kind == "place":  # the talks at it and at every place inside it (as Renderer.extra lists them)
        return [("talk", r) for pl in idx.place_descendants(rid) for k, r in idx.at_place.get(pl, []) if k == "talk"]
    held = _held(idx, key)
    if held is None:
        return []
    return held if kind == "source" else [("talk", t) for t in held]


def _held(idx: SiteIndex, key: Key) -> list[Any] | None:
    """The list the index holds of what a source, topic or year lists, one item each; None for another listing."""
    kind, rid = key
    if kind == "source":
        return idx.by_source.get(rid, [])
    if kind == "topic":
        return idx.topics.get(f"{KIND_PATHS['topic']}/{rid}", ("", []))[1]
    if kind == "year":
        return idx.years.get(rid, [])
    return None


def directory_order(item: Item) -> tuple[Any, ...]:
    """The order of a directory: by name (people by family name), series and events by date."""
    kind, rec = item
    if kind == "topic":
        path, label, _n = rec
        return (label, path)
    if isinstance(rec, R.Person):
        return person_order(rec)
    if isinstance(rec, R.Scheduled):
        return (sort_key(rec), kind)
    return (getattr(rec, "name", "") or "", rec.id)


def others_at(idx: SiteIndex, pid: str) -> list[tuple[str, R.Scheduled]]:
    """The events and sessions at the place *pid* and every place inside it, by date: cut into
    pages beside its talks (page *n* shows the *n*-th slice of each), so no page shows more than
    ``PAGE_SIZE`` of either (a city at 1M talks holds thousands of them)."""
    return idx.kept("others_at", (pid,), lambda: sorted(_others_at(idx, pid), key=lambda kr: idx.sort_key(kr[1])))


def _others_at(idx: SiteIndex, pid: str) -> list[tuple[str, R.Scheduled]]:
    return [(k, r) for pl in idx.place_descendants(pid) for k, r in idx.at_place.get(pl, []) if k != "talk"]


def page_total(idx: SiteIndex, key: Key) -> int:
    """How many pages the listing of *key* takes: a place's as many as the longer of its talks
    and its events and sessions need."""
    n = page_count(size(idx, key))
    return max(n, page_count(len(_others_at(idx, key[1])))) if key[0] == "place" else n


def owners(idx: SiteIndex) -> Iterator[Key]:
    """Every listing that is cut into pages: sources, topics, the directories, and the years that have talks."""
    for name in DIRECTORIES:
        yield (DIRECTORY, name)
    for sid in idx.ds.sources:
        yield ("source", sid)
    for oid in idx.ds.organizations:
        yield ("organization", oid)
    for pid in idx.ds.places:
        yield ("place", pid)
    for path in idx.topics:
        yield ("topic", path.partition("/")[2])
    for year in idx.years:
        yield ("year", year)


def more_pages(idx: SiteIndex) -> list[str]:
    """The site paths of every listing page that is not a resource's own page: the years' pages and
    every page after the first of a long listing."""
    out: list[str] = []
    for key in owners(idx):
        n = page_total(idx, key)
        start = 1 if key[0] in ("year", DIRECTORY) else 2
        out.extend(page_path(owner_path(key), k) for k in range(start, n + 1))
    return out


Ranked = list[tuple[int, Any]]  # (where the talk is among every dated talk, its item)


def home_talks(talks: Iterable[Any], today: str) -> tuple[Ranked, Ranked, list[Any]]:
    """What the home page shows of the talks' index items (``((sort key, last day or None), html)``):
    the ``HOME_UPCOMING`` soonest whose last day is *today* or later and the ``HOME_RECENT`` latest
    before it, each with where it is among every dated talk in order (lod.js reads it), and the
    undated ones in order. Chosen, not every talk sorted: at 100k talks the sort took 0.5 s a build."""
    dated: list[Any] = []
    undated: list[Any] = []
    for item in talks:
        (dated if item[0][1] is not None else undated).append(item)
    soon = heapq.nsmallest(HOME_UPCOMING, (item for item in dated if item[0][1] >= today), key=_first)
    recent = heapq.nlargest(HOME_RECENT, (item for item in dated if item[0][1] < today), key=_first)
    # A talk's place is how many dated talks come before it: each counted once, at the first of the
    # chosen it comes before (the keys are distinct: a sort key ends with the talk's id).
    chosen = sorted(item[0] for item in soon + recent)
    before = [0] * (len(chosen) + 1)
    for item in dated:
        before[bisect_right(chosen, item[0])] += 1
    place = dict(zip(chosen, accumulate(before)))
    undated.sort(key=_first)
    return [(place[item[0]], item) for item in soon], [(place[item[0]], item) for item in recent], undated


def _first(item: Any) -> Any:
    return item[0]
