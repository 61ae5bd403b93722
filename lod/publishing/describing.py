"""The describing stage: map and validate what changed, and hand on what the later stages need.

It runs the map and validate stages of ``lod.publishing.front.Front`` and then hands on:

- each new description, pickled to the build's spill of descriptions (the pages read them
  back one by one, ``changes.Descriptions``);
- each new subject's texts in the three dump formats, in canonical order, as a stream of
  pickled batches (``lod.publishing.subjects``) that the dumps stage consumes as it writes;
- a ``Described``: the owners described again, the triple count, the SHACL report, and
  what each record's mapping was seen to do.

So the process writing the dumps and rendering the pages never needs the triples, their
terms or the checker's indexes. When there is much to map (a full build), the stage runs in
a forked process (``lod.publishing.forked``) and all it made is freed when it ends: the
build's own process receives the ``Described``, replays the mapping's notes on its own
``MapRecord`` and reads the batches off the pipe as the child makes them, so the child
formats subjects while this process writes them. With little to map (a rebuild after a few
edits) the same function runs in-process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from lod.loading.spill import Spill
from lod.progress import Observer, Stage
from lod.publishing.forked import Forked, forks
from lod.publishing.front import Front
from lod.publishing.readsets import Key
from lod.publishing.changes import State
from lod.publishing.subjects import Subject, batches, unbatched
from lod.validation.report import Report, Result

# What a record's mapping was seen to do: its key, the owners its triples fall in, what it looked up.
Note = tuple[Key, frozenset[str], frozenset[Key]]


@dataclass
class Described:
    """What the describing stage hands on besides the spilled descriptions and the subjects' stream."""

    owners: set[str]  # the resources whose descriptions can differ (every one in a full build)
    triples: int  # in their new descriptions
    report: Report
    results: dict[str, list[Result]]  # the report's, by owner
    rechecked: int  # owners checked again
    timings: dict[str, float]
    spilled: tuple[dict[str, tuple[int, int]], int]  # the spill of descriptions' layout (``Spill.layout``)
    notes: list[Note] | None  # from a forked stage: the mapping's notes, to replay here


class Describing:
    """The describing stage of *front* from *state*, started at once; ``described`` is its
    result, ``subjects()`` the new subjects for the dumps (to be read once, in order), and
    ``close`` ends it (a forked child is stopped if it is still running)."""

    def __init__(self, front: Front, state: State, observer: Observer, spill: Spill,
                 threshold: int | None = None) -> None:
        self.front = front
        self.forked = forks(len(front.to_map), threshold)
        work = partial(_describe, front, state, spill, self.forked)
        if self.forked:
            self._child: Forked[Described] | None = Forked(work, observer)
            try:
                done = self._child.result()
            except BaseException:  # bad data (ValidationFailed), or the child died: it has ended
                self._child.close()
                raise
            spill.adopt(*done.spilled)  # the child wrote it through the same descriptor
            _replay(front, done.notes or [])
            front.descriptions.adopt_spill(spill)
            front.owners, front.rechecked = done.owners, done.rechecked
            self._batches: Iterator[bytes] = self._child.rest()
        else:
            self._child = None
            done, self._batches = work(observer)
        self.described = done

    def subjects(self) -> Iterator[Subject]:
        """The new subjects, in canonical order, as the stage formats them."""
        return unbatched(self._batches)

    def close(self) -> None:
        """End the stage: what is left of the stream is dropped."""
        if self._child is not None:
            self._child.close()
        self._batches = iter(())


def _describe(front: Front, state: State, spill: Spill, forked: bool, observer: Observer
              ) -> tuple[Described, Iterator[bytes]]:
    """Map and validate (both stages' events told to *observer*), spill the descriptions;
    return the ``Described`` and the subjects' batches, made as they are read."""
    timings: dict[str, float] = {}
    stage = Stage(observer, "map", len(front.to_map), "records")
    front.map(timings, stage.advance)
    again = {} if front.fresh else {"resources": len(front.owners)}
    stage.finish(timings["map"], **again, triples=len(front.triples))
    stage = Stage(observer, "validate", len(front.triples), "triples")
    report, results = front.validate(state, timings)
    again = {} if front.fresh else {"resources": front.rechecked}
    stage.finish(timings["validate"], **again, violations=len(report.violations), warnings=len(report.warnings))
    t0 = time.perf_counter()
    front.descriptions.spill(spill)
    timings["spill"] = time.perf_counter() - t0
    done = Described(front.owners, len(front.triples), report, results, front.rechecked, timings, spill.layout(),
                     _notes(front) if forked else None)
    triples, front.triples = front.triples, []
    return done, _formatted(front, triples)


def _formatted(front: Front, triples: list[Any]) -> Iterator[bytes]:
    from lod.publishing.subjects import formatted

    yield from batches(formatted(triples, front.terms))
    triples.clear()
    front.terms.clear()  # no term text is needed again (memory at scale)


def _notes(front: Front) -> list[Note]:
    """What mapping each record mapped was seen to do, in the order it was mapped (``changes.remap``)."""
    mapped, tables = front.mapped, front.ds
    out: list[Note] = []
    for kind, rid in front.to_map:
        if tables.table(kind).get(rid) is not None:
            key = (kind, rid)
            out.append((key, mapped.owners[key], mapped.reads.get(key, frozenset())))
    return out


def _replay(front: Front, notes: list[Note]) -> None:
    """Tell this process's ``MapRecord`` what the forked stage's told its own, in the same order
    (``changes.remap``: the removed records forgotten first, then each mapped one noted)."""
    mapped, ds = front.mapped, front.ds
    for kind, rid in front.to_map:
        if ds.table(kind).get(rid) is None:
            mapped.forget((kind, rid))
    for key, owners, reads in notes:
        mapped(key, set(owners), set(reads))
