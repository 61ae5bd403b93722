"""An external merge sort of a full build's triples: sorted runs on disk, merged subject by subject.

A full build maps every record. Held at once, the triples are most of the describing stage's
memory (21.6M triples at 1M talks, about 11 GB in the forked child before the checker's
indexes), and sorting them whole needs them all. So a full build maps the records a slice at a
time (``lod.publishing.describing``): each slice's triples are sorted in the canonical order
(``serialize.sort_canonical``), grouped by subject and handed to ``Runs``, which keeps the
newest run in memory and pickles the one before it to a ``Spill`` (an unnamed temporary file,
``lod.loading.spill``) in batches, so that merging reads one batch of each run at a time.
``merged`` then yields every subject once, in canonical order, with its triples: those of a
subject that several slices map (a series' node, which each of its talks names) are joined,
deduplicated as one mapping of every record would have them (``_Mapper``'s dictionary of
triples, so rdflib's term equality) and sorted again.

The subjects come out in the order of their N-Triples texts, which is the canonical order of
the dumps; a resource's description is its own subject and its fragments' (``<R#…>`` sorts
before ``<R>``), so ``Owners`` gathers them and hands on each description once its last
subject has passed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from itertools import groupby

from lod.loading.spill import Spill
from lod.model import termpickle
from lod.model.serialize import Terms, Triple, sort_canonical
from lod.publishing.subjects import subject_runs

Run = list[tuple[str, list[Triple]]]  # (the subject's N-Triples text, its triples in canonical order), by that text

# Subjects pickled together in a run on disk: a merge holds one batch of each run.
RUN_BATCH = 4096


def _first(item: tuple[str, list[Triple]]) -> str:
    return item[0]


class Runs:
    """Sorted runs of subjects, the newest in memory and the others in *spill*, a batch per blob."""

    def __init__(self, spill: Spill) -> None:
        self.spill = spill
        self._batches: list[int] = []  # for each run on disk: how many batches it has
        self._last: Run | None = None
        self.triples = 0  # added, those that several runs have counted in each

    def add(self, triples: list[Triple], terms: Terms) -> None:
        """Add a run of *triples* (deduplicated, in any order), sorted here; *terms*' caches are
        cleared after, since the next slice shares few of its terms but the predicates'."""
        self.triples += len(triples)
        sort_canonical(triples, terms)
        run = [(text, group) for _s, text, group in subject_runs(triples, terms)]
        terms.clear()
        if self._last is not None:
            self._write(self._last)
        self._last = run

    def _write(self, run: Run) -> None:
        k = len(self._batches)
        n = 0
        for n, start in enumerate(range(0, len(run), RUN_BATCH)):
            self.spill[f"{k}:{n}"] = termpickle.dumps(run[start:start + RUN_BATCH])
        self._batches.append(n + 1 if run else 0)

    def __len__(self) -> int:
        return len(self._batches) + (self._last is not None)

    def _read(self, k: int) -> Iterator[tuple[str, list[Triple]]]:
        for n in range(self._batches[k]):
            name = f"{k}:{n}"
            batch: Run = termpickle.loads(self.spill[name])
            del self.spill[name]  # read once: its bytes are not needed again
            yield from batch

    def merged(self, terms: Terms) -> Iterator[tuple[str, list[Triple]]]:
        """Every subject of every run once, in canonical order, with its triples (joined,
        deduplicated and sorted when several runs have it). Read once; the runs are gone after."""
        last, self._last = self._last, None
        streams = [self._read(k) for k in range(len(self._batches))] + ([iter(last)] if last is not None else [])
        if len(streams) == 1:
            yield from streams[0]
            return
        for text, items in groupby(heapq.merge(*streams, key=_first), key=_first):
            first = next(items)
            more = [group for _text, group in items]
            if not more:
                yield first
                continue
            # As one mapping of every record would have them: rdflib's equality, the first kept.
            joined = list(dict.fromkeys([t for group in [first[1], *more] for t in group]))
            sort_canonical(joined, terms)
            yield text, joined


class Owners:
    """Each resource's description gathered from the subjects ``merged`` yields, handed to
    *done* once complete: when its own subject has passed, or at the end (``close``)."""

    def __init__(self, owner_of: Callable[[str], str], done: Callable[[str, list[Triple]], None]) -> None:
        self.owner_of, self.done = owner_of, done
        self._pending: dict[str, list[Triple]] = {}

    def add(self, subject: str, triples: list[Triple]) -> None:
        """The triples of *subject* (its IRI): its owner is complete if it is the owner itself,
        since the owner's fragments ``<owner#…>`` sort before ``<owner>``."""
        owner = self.owner_of(subject)
        if owner == subject:
            held = self._pending.pop(owner, None)
            self.done(owner, triples if held is None else held + triples)
        else:
            self._pending.setdefault(owner, []).extend(triples)

    def close(self) -> None:
        """Hand on the owners that have fragments only, in IRI order."""
        for owner in sorted(self._pending):
            self.done(owner, self._pending[owner])
        self._pending.clear()
