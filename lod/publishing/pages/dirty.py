"""Which pages and calendars can differ between two versions of the data: those whose recorded reads changed.

Nothing here says what a page shows. Each page, calendar and VEVENT (a *node*: ``("html",
path)``, ``("calendar", name)``, ``("vevent", talk id)``) is rendered through views that note
everything it reads (``lod.publishing.pages.reads``): records ``(kind, id)``, found or not;
descriptions ``("desc", owner)``; the memoised queries of derived lists ``("q:<name>", arg)``
(the talks at a place, a person's talks, a listing's slice, whether a calendar exists …);
and the VEVENTs a calendar holds. The build state keeps each node's *read-set* from its
last render, and the digest of the answer of every query read (``links`` and ``answers``).

``affected`` then needs no rule:

    a node may differ only if a key in its old read-set changed: a record added, removed or
    modified, a description that can differ, a query whose answer (the keys it returns, in
    order) differs between the old and the new data, or a VEVENT it holds that is dirty;
    or if it is new (a page path the new data has and the old had not, a calendar of a
    new record).

Why that is sound: rendering is a function of what it reads. If nothing a node read
changed, every read gives the same answer again (a lookup in vain too: the record would
be a changed key), so it renders the same bytes and reads the same keys. A record found
by a reverse lookup (the talks at a place) comes from a query, whose answer changes when
that record comes or goes. Parts kept across pages (a talk's list item, a VEVENT) carry
their own read-sets into every page using them (``Recorder.memo``, ``feeds._memo_vevent``).

Which queries are evaluated again: every *wide* one, and those that read records by id and
entries of the SiteIndex's derived maps by key only (``lod.publishing.pages.probe``, kept as a
row keyed by the query) when one of those records or entries changed; the others answer as
recorded. Read-sets are rows of key numbers (``lod.publishing.links``): the nodes reading a
dirty key, and the queries reading a changed record or entry, are found by searching the rows,
joined, in C (``Readers``), and so are the keys
no node reads any more when the read-sets are merged for the next build.

Not covered here: the index page, ``sitemap.xml``, ``robots.txt``, ``talks.ics`` and the
search index: ``lod.publishing.pages.stage.render_some`` decides those from what it renders.
What is global to every page is the ``site`` block: put ``SITE`` in *changed* when it
changed, and ``affected`` says everything is dirty (so it does without a previous state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field

from lod.model import records as R
from lod.model.iri import KIND_PATHS
from lod.model.kinds import TABLES
from lod.publishing.feeds import CALENDAR_KINDS
from lod.publishing.pages.keys import DESC, Key, desc_digest
from lod.publishing.pages.reads import Q, IndexView, digest, is_query
from lod.publishing.pages.render import site_paths
from lod.publishing.link_rows import Changed, Readers, StoredRows
from lod.publishing.links import Links, numbers
from lod.publishing.pages.probe import reads_of, touched_entries
from lod.publishing.pages.stage import PagesOutput
from lod.publishing.prepared import Prepared
from lod.publishing.state_parts import Buckets

# A rebuild that would make more than this share of the pages again, and at least this many, is
# run as a full build instead, which holds less (the rebuild holds the previous state beside the
# new one): every page made again peaked at 942 MB in place at 10k talks and at 647 MB so, at
# 100k at 9.7 GB and 4.6 GB, for the rebuild's first stages' time more (BENCHMARKS.md).
FULL_SHARE = 0.75
FULL_LEAST = 2000

SITE: Key = ("site", "site")  # in *changed* when the site block changed: every page shows it
HTML, CALENDAR, VEVENT = "html", "calendar", "vevent"  # the kinds of node keys



@dataclass
class Affected:
    """The pages and calendars that may differ, for ``render_some`` (and for deleting removed ones).

    *paths* are site paths P of ``P.html`` (``talk/x``, ``topic/y``), *feeds* calendar file names
    (``series/x.ics``); both include those of removed records and pages, which the new data
    does not have (delete their files). The index, sitemap, robots.txt and ``talks.ics`` are
    never listed (``render_some`` decides them). *everything* is True when every page may
    differ; *paths* and *feeds* then hold every page and calendar of either version (none in a
    full build's, ``Affected(True)``, made without a previous build: it renders and writes all).
    *keys* are the dirty nodes (their old read-sets are dropped); *answers* the digests taken
    again on the new data: of the queries evaluated again and of the descriptions that can differ.
    """

    everything: bool
    paths: set[str] = field(default_factory=set)
    feeds: set[str] = field(default_factory=set)
    keys: set[Key] = field(default_factory=set)
    answers: dict[Key, bytes] = field(default_factory=dict)
    reads: dict[Key, frozenset[Key] | None] = field(default_factory=dict)  # of the queries evaluated again
    total: int = 0  # the pages of the new data
    readers: Readers | None = None  # the old read-sets of the nodes, searchable (None when everything is dirty)
    at_least: bool = False  # *paths* are some of them: found crowded before the rest were looked for

    def crowded(self) -> str | None:
        """The detail "N of M pages" when the rebuild would make most pages again (``FULL_SHARE``), else None."""
        n = len(self.paths)
        if n < FULL_LEAST or n <= FULL_SHARE * self.total:
            return None
        return f"{'at least ' if self.at_least else ''}{n} of {self.total} pages"

    def merged(self, old: Mapping[Key, frozenset[Key]], rendered: PagesOutput,
               answers: Mapping[Key, bytes] | None = None, wide: Mapping[Key, bytes] | None = None
               ) -> tuple[Links, MutableMapping[Key, bytes], dict[Key, bytes]]:
        """The read-sets and answers for the next build: the clean nodes' old read-sets, the rendered
        nodes' new ones (numbered by the old read-sets' codec, which the state's ``link_keys`` holds),
        and what each query evaluated again read; the digests of the keys some node reads: the previous
        build's *answers* and *wide*, those taken again here (``answers`` of this) and the rendered
        nodes'. The digests of the wide queries (those with no row of what they read, which every
        rebuild evaluates again: ``affected``) are returned apart, kept whole; the others are changed
        in place when they are the state's ``Buckets``, so that a rebuild reads and writes only the
        buckets of those it changed."""
        before = Links.of(old)
        if not before.rows:  # a full build: the rendered ones, as they are (not copied: 6.8M answers at 1M talks)
            made = {**self.answers, **rendered.answers} if self.answers else rendered.answers
            wide_now = {k: v for k, v in made.items() if is_query(k) and k not in rendered.readsets.rows}
            for k in wide_now:
                del made[k]
            return rendered.readsets, made, wide_now
        # The previous rows with the dirty nodes' and the queries evaluated again dropped, not copied:
        # the state writes what changed (``Changed``).
        links = Links(before.codec, Changed(before.rows, [*self.keys, *self.reads]))
        for key, reads in self.reads.items():
            if reads is not None:
                links.add(key, reads)
        links.take(rendered.readsets)
        # As a full build leaves them: the rows of the queries and the digests of the keys some node reads.
        keys = links.codec.keys
        gone = {keys[n] for n in self._unread(before, links, rendered)}
        for k in gone:
            if is_query(k):
                links.rows.pop(k, None)
        kept: MutableMapping[Key, bytes] = answers if isinstance(answers, Buckets) else dict(answers or {})
        if wide is None:  # a state without them apart: found among the answers, and taken out
            wide = {k: v for k, v in kept.items() if is_query(k) and k not in before.rows}
            for k in wide:
                del kept[k]
        new = dict(self.answers)
        # A key that a rendered node's previous render read too, and that ``affected`` did not evaluate
        # again, has the answer kept: ``affected`` looked at every key whose answer can differ. It is
        # not compared with it, so its bucket is not read: at 100k talks the 14 pages of a title edit
        # read 1,650 answers, in 800 of the 1,024 buckets.
        read_before: set[int] = set()
        for node in rendered.readsets.rows:
            row = before.rows.get(node)
            if row is not None:
                read_before.update(numbers(row))
        number = links.codec.number
        for k, v in rendered.answers.items():
            n = number.get(k)
            if k in self.answers or n is None or n not in read_before:
                new[k] = v
        # Whether a query has a row changes only for those answered or made again here.
        apart: dict[Key, bytes] = {}
        for k in set(wide).union(new, rendered.readsets.rows):
            if is_query(k) and k not in links.rows and k not in gone:
                got = new.get(k, wide.get(k))
                if got is None:
                    got = kept.get(k)
                if got is not None:
                    apart[k] = got
        for k, v in new.items():
            if k not in apart and k not in gone:
                kept[k] = v
        for k in gone.union(k for k in apart if k not in wide):  # gone, or kept apart now
            kept.pop(k, None)
        return links, kept, apart

    def _unread(self, before: Links, links: Links, rendered: PagesOutput) -> Iterable[int]:
        """The key numbers no node of *links* reads that a node of *before* read. The previous state held
        no other (``merged``), so they are among the keys the old rows of the nodes made again (or
        dropped) held, and not those a node kept as it was or a new row reads: at 100k talks a few
        milliseconds, where marking every key of every row took 1 s (``Links.drop_unread``)."""
        if self.readers is None:  # every node was made again: every row looked at
            read = links.drop_unread(is_query)
            return [n for n in range(len(links.codec.keys)) if not read[n]]
        made = [node for node in rendered.readsets if not is_query(node)]
        replaced = self.keys.union(made)
        gone: set[int] = set()
        for node in replaced:
            row = before.rows.get(node)
            if row is not None:
                gone.update(numbers(row))
        for node in made:
            gone.difference_update(numbers(links.rows[node]))
        return [n for n in gone if all(node in replaced for node in self.readers.of(n))]


def feed_name(kind: str, rid: str) -> str:
    """The calendar file of a record: ``person/x.ics``."""
    return f"{KIND_PATHS[kind]}/{rid}.ics"


def affected(p: Prepared, changed: set[Key], owners: Iterable[str], old: Mapping[Key, frozenset[Key]],
             answers: Mapping[Key, bytes] | None, before: Mapping[Key, R.Record],
             moved: Iterable[Key] = (), wide: Mapping[Key, bytes] | None = None) -> Affected:
    """The pages and calendars of *p* (the new data) that may differ from the previous build's.

    *changed*: the keys of the records added, removed or modified (with ``SITE`` if the site
    block changed); *owners*: the IRIs of the owners whose descriptions can differ; *old* and
    *answers*: the previous build's read-sets and answer digests (``links`` and ``answers`` of
    the state; *answers* None, from a state without them, makes everything dirty); *before*:
    the previous versions of the changed records that were there before; *moved*: the records
    that only moved (in their file or to another: the derived maps list records in file order);
    *wide*: the digests of the queries with no row of what they read, kept apart from *answers*
    (``merged``; None: found among *answers*).
    When the pages reading a changed record are already most pages, it returns them alone
    (``at_least``), without the rest: ``crowded()`` then says so, and the caller builds in full.
    """
    ds = p.dataset
    links = Links.of(old)
    rows = StoredRows.of(links.rows)  # as the state reads them: the rows of each kind of node a range
    new_paths = set(site_paths(p))
    old_paths = set(rows.ids(HTML))
    if answers is None or any(k[0] == "site" for k in changed):
        feeds = set(rows.ids(CALENDAR))
        feeds.update(feed_name(kind, rid) for kind in CALENDAR_KINDS for rid in ds.table(kind))
        return Affected(True, old_paths | new_paths, feeds, set(links.rows), total=len(new_paths))
    codec = links.codec
    number = codec.number
    # The nodes' read-sets; the other rows are what a query read (``lod.publishing.pages.probe``), by its key.
    q_lo, q_hi = rows.span(Q)
    nodes, queries = [(0, q_lo), (q_hi, len(rows))], [(q_lo, q_hi)]
    # A changed key nobody read has no number (or one no row holds): it dirties nothing.
    records = {number[k] for k in changed if k in number}
    # The entries of the derived maps that a changed or moved record is in, before or after.
    after = [(kind, rec) for kind, rid in [*changed, *moved] if kind in TABLES
             for rec in [ds.table(kind).get(rid)] if rec is not None]
    entries = (touched_entries(ds.site, p.minter, [(kind, rec) for (kind, _rid), rec in before.items()])
               | touched_entries(ds.site, p.minter, after))
    records |= {number[k] for k in entries if k in number}
    dirty_keys = set(records)
    # The nodes reading a changed record or entry are dirty whatever the queries answer. When their
    # pages are already most pages, the build starts again in full before the queries are evaluated
    # again: renaming the source every record cites, they took 32 s at 10k talks to the same verdict.
    readers = Readers(rows, nodes)
    direct = readers.any_of(records)
    early = Affected(False, {node[1] for node in direct if node[0] == HTML} | (new_paths ^ old_paths),
                     total=len(new_paths), at_least=True)
    if early.crowded() is not None:
        return early
    # The queries that read one of those, found by searching their rows as the nodes' are (below).
    reading = Readers(rows, queries).any_of(records)
    now: dict[Key, bytes] = {}
    again: dict[Key, frozenset[Key] | None] = {}
    index = IndexView(p.site_index)
    # The keys with an answer are the descriptions' and the queries' the nodes read (a build takes the
    # digest of each: ``Made.digest``); the others, records, dirty their readers only if they changed
    # (above). Of these, only those that can differ are looked at: the reads of the descriptions of
    # the owners touched, and the queries that read a changed record or entry, or are wide; a query
    # that read records by id only, none of which changed, answers the same.
    kept = Buckets.of(answers)
    if wide is None:  # answers that are not apart: the wide queries found among them
        wide = {k: v for k, v in kept.items() if is_query(k) and k not in rows}
    looked: list[tuple[Key, bytes]] = [entry for owner in sorted(set(owners)) for entry in kept.descriptions(owner)]
    looked += [(k, kept[k]) for k in sorted(reading) if k in kept]
    looked += sorted(wide.items())
    for k, was in looked:
        if k[0] == DESC:
            now[k] = desc_digest(p.descriptions, k[1])  # a description that can differ: changed if it does
        else:  # evaluated again: changed when its answer on the new data differs
            now[k] = digest(index.answer(k))
            again[k] = reads_of(p.site_index, k)
        if was != now[k] and k in number:
            dirty_keys.add(number[k])
    dirty = direct | readers.any_of(dirty_keys - records)
    # A dirty VEVENT is a changed key of the calendars holding it.
    vevents = {number[node] for node in dirty if node[0] == VEVENT and node in number}
    while vevents:
        more = readers.any_of(vevents) - dirty
        dirty |= more
        vevents = {number[node] for node in more if node[0] == VEVENT and node in number}
    paths = {node[1] for node in dirty if node[0] == HTML} | (new_paths ^ old_paths)
    feeds = {node[1] for node in dirty if node[0] == CALENDAR}
    for kind, rid in changed:  # the calendars of new records
        if kind in CALENDAR_KINDS and rid in ds.table(kind) and (CALENDAR, feed_name(kind, rid)) not in rows:
            feeds.add(feed_name(kind, rid))
    return Affected(False, paths, feeds, dirty, now, again, len(new_paths), readers)
