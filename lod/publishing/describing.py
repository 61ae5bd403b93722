"""The describing stage: map and validate what changed, and hand on what the later stages need.

It runs the map and validate stages of ``lod.publishing.front.Front`` and then hands on:

- first a ``Described``: the owners described again, the triple count, the SHACL report,
  and what each record's mapping was seen to do;
- then each new subject's texts in the three dump formats, in canonical order, as a stream
  of pickled batches (``lod.publishing.subjects``) that the dumps stage consumes as it writes;
- last, each new description pickled to the build's spill of descriptions (the pages read
  them back one by one, ``changes.Descriptions``), and where they are in it.

So the process writing the dumps and rendering the pages never needs the triples, their
terms or the checker's indexes. When there is much to map (a full build), the stage runs in
a forked process (``lod.publishing.forked``) and all it made is freed when it ends: the
build's own process receives the ``Described``, replays the mapping's notes on its own
``MapRecord`` and reads the batches off the pipe as the child makes them, so the child
formats subjects while this process writes them, and spills the descriptions while this
process ends the dumps. With little to map (a rebuild after a few edits) the same function
runs in-process.

A forked full build never holds every triple (``_describe_in_runs``): it maps a slice of the
records at a time into sorted runs on disk (``lod.publishing.runs``), hands on its result,
then merges the runs into the same stream of subjects while spilling each description as it
completes, and ends; the build's process checks the spilled descriptions after (``finish``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from lod.loading.spill import Spill
from lod.model import termpickle
from lod.model.serialize import Triple
from lod.progress import Observer, Stage
from lod.publishing.changes import State
from lod.publishing.forked import Forked, forks
from lod.publishing.front import Front
from lod.publishing.readsets import Key
from lod.publishing.runs import Owners, Runs
from lod.publishing.subjects import Subject, batches, formatted, unbatched
from lod.validation.report import Report, Result

# What a record's mapping was seen to do: its key, the owners its triples fall in, what it looked up.
Note = tuple[Key, frozenset[str], frozenset[Key]]

# Subjects formatted between two clearings of the terms' caches in a full build's merge.
CLEAR_EVERY = 65_536


@dataclass
class Described:
    """What the describing stage hands on besides the spilled descriptions and the subjects' stream.

    In a full build in runs (``_describe_in_runs``) it is handed on before the descriptions are
    merged and checked: *report* and *results* are empty until ``Describing.finish`` checks them
    and fills them in place, and *triples* counts the triples as mapped until then."""

    owners: set[str]  # the resources whose descriptions can differ (every one in a full build)
    triples: int  # in their new descriptions
    report: Report
    results: dict[str, list[Result]]  # the report's, by owner
    rechecked: int  # owners checked again
    timings: dict[str, float]
    notes: list[Note] | None  # from a forked stage: the mapping's notes, to replay here


@dataclass
class Merged:
    """The end of a full build's describing stage in runs (``_merged``): what ``Described``
    could not say when it was handed on, before the runs were merged."""

    triples: int  # in the descriptions, each once
    seconds: float  # merging the runs: formatting the subjects, spilling the descriptions


class Describing:
    """The describing stage of *front* from *state*, started at once; ``described`` is its
    result and ``subjects()`` the new subjects for the dumps (to be read once, in order).
    ``finish`` waits for the rest (the descriptions spilled, which the pages read back) and
    ends the stage; ``close`` stops it wherever it is (a failed build)."""

    def __init__(self, front: Front, state: State, observer: Observer, spill: Spill,
                 threshold: int | None = None) -> None:
        self.front, self.spill, self.state, self.observer = front, spill, state, observer
        self.forked = forks(len(front.to_map), threshold)
        # A full build's triples sorted in runs on disk, in the child whose memory is freed after.
        in_runs = self.forked and front.fresh
        work = partial(_describe_in_runs if in_runs else _describe, front, state, spill, self.forked)
        if self.forked:
            self._child: Forked[Described] | None = Forked(work, observer)
            try:
                done = self._child.result()
            except BaseException:  # bad data (ValidationFailed), or the child died: it has ended
                self._child.close()
                raise
            _replay(front, done.notes or [])
            front.owners, front.rechecked = done.owners, done.rechecked
            self._rest: Iterator[Any] = self._child.rest()
        else:
            self._child = None
            done, self._rest = work(observer)
        self.described = done

    def subjects(self) -> Iterator[Subject]:
        """The new subjects, in canonical order, as the stage formats them."""
        for item in self._rest:
            if item is None:  # the last batch was sent: the descriptions are being spilled
                return
            yield from unbatched((item,))

    def finish(self) -> None:
        """Wait for the stage to end (the subjects not read are dropped): the descriptions are
        then in the spill, for the later stages."""
        merged: Merged | None = None
        for item in self._rest:
            if isinstance(item, tuple):  # the last: where the descriptions are in the spill, how long it took
                layout, seconds, merged = item
                if self.forked:  # the child wrote them through the same descriptor
                    self.spill.adopt(*layout)
                    self.front.descriptions.adopt_spill(self.spill)
                self.described.timings["spill"] = seconds
        self.close()  # the stage's process is gone, and its memory with it, before the check
        if merged is not None:
            self._check(merged)

    def _check(self, merged: Merged) -> None:
        """The validate stage of a full build in runs: the descriptions read back from the spill
        and checked a slice of the owners at a time, on every core (``changes.check_in_batches``);
        the report and results filled in place (the build holds them already)."""
        done, front = self.described, self.front
        done.triples = merged.triples
        done.timings["runs"] = merged.seconds
        stage = Stage(self.observer, "validate", merged.triples, "triples")
        report, results = front.validate(self.state, done.timings, in_batches=True)
        stage.finish(done.timings["validate"], violations=len(report.violations), warnings=len(report.warnings))
        done.report.results.extend(report.results)
        done.results.update(results)
        done.rechecked = front.rechecked

    def close(self) -> None:
        """Stop the stage (a forked child is stopped if it still runs)."""
        if self._child is not None:
            self._child.close()
        self._rest = iter(())


def _describe(front: Front, state: State, spill: Spill, forked: bool, observer: Observer
              ) -> tuple[Described, Iterator[Any]]:
    """Map and validate (both stages' events told to *observer*); return the ``Described``
    and what is handed on after it (``_handed_on``), made as it is read."""
    timings: dict[str, float] = {}
    stage = Stage(observer, "map", len(front.to_map), "records")
    front.map(timings, stage.advance)
    again = {} if front.fresh else {"resources": len(front.owners)}
    stage.finish(timings["map"], **again, triples=len(front.triples))
    stage = Stage(observer, "validate", len(front.triples), "triples")
    report, results = front.validate(state, timings)
    again = {} if front.fresh else {"resources": front.rechecked}
    stage.finish(timings["validate"], **again, violations=len(report.violations), warnings=len(report.warnings))
    done = Described(front.owners, len(front.triples), report, results, front.rechecked, timings,
                     _notes(front) if forked else None)
    triples, front.triples = front.triples, []
    return done, _handed_on(front, spill, triples)


def _handed_on(front: Front, spill: Spill, triples: list[Triple]) -> Iterator[Any]:
    """The subjects' batches, in canonical order, and None after the last; then the descriptions
    spilled and, last, the spill's layout and the seconds spilling took. Spilled after the
    dumps' batches, so that a forked stage spills while the build writes the end of the dumps
    (its JSON-LD, merged in IRI order once every subject is in)."""
    yield from batches(formatted(triples, front.terms))
    yield None
    triples.clear()
    front.terms.clear()  # no term text is needed again (memory at scale)
    t0 = time.perf_counter()
    front.descriptions.spill(spill)
    yield spill.layout(), time.perf_counter() - t0, None


def _describe_in_runs(front: Front, state: State, spill: Spill, forked: bool, observer: Observer
                      ) -> tuple[Described, Iterator[Any]]:
    """``_describe`` for a full build, holding a slice of the triples at a time: the records are
    mapped ``changes.SLICE`` at a time into sorted runs (``lod.publishing.runs``), and the
    ``Described`` handed on at once, its report still empty; then ``_merged``."""
    timings: dict[str, float] = {}
    scratch = Spill(spill.folder)
    try:
        stage = Stage(observer, "map", len(front.to_map), "records")
        runs = Runs(scratch)
        front.map(timings, stage.advance, partial(runs.add, terms=front.terms))
        # As mapped: a triple that several slices make (a series' node) counts once in each.
        stage.finish(timings["map"], triples=runs.triples)
    except BaseException:
        scratch.close()
        raise
    done = Described(front.owners, runs.triples, Report(), {}, 0, timings, _notes(front) if forked else None)
    return done, _merged(front, runs, scratch, spill)


def _merged(front: Front, runs: Runs, scratch: Spill, spill: Spill) -> Iterator[Any]:
    """The runs merged: each subject's texts, in batches as ``_handed_on`` gives them (the
    dumps stage writes them as they come), and each resource's description spilled to *spill*
    once complete; None after the last batch; last, the spill's layout and a ``Merged``.
    *scratch*, which holds the runs, is closed (freed) at the end. The descriptions are
    checked by ``Describing.finish``, once this stage's process is gone."""
    try:
        t0 = time.perf_counter()
        owners = Owners(front.minter.owner, partial(_spill_description, spill))
        count = [0]
        yield from batches(_subjects(front, runs, owners, count))
        yield None
        owners.close()
        front.terms.clear()
        yield spill.layout(), 0.0, Merged(count[0], time.perf_counter() - t0)
    finally:
        scratch.close()


def _spill_description(spill: Spill, owner: str, triples: list[Triple]) -> None:
    spill[owner] = termpickle.dumps(triples)  # as ``Descriptions.spill`` would


def _subjects(front: Front, runs: Runs, owners: Owners, count: list[int]) -> Iterator[Subject]:
    """Each subject of the merged *runs*, with its texts, its triples told to *owners* and counted in *count*."""
    terms = front.terms
    for i, (text, triples) in enumerate(runs.merged(terms)):
        s = triples[0][0]
        yield Subject.of(s, text, triples, terms)
        owners.add(str(s), triples)
        count[0] += len(triples)
        if i % CLEAR_EVERY == CLEAR_EVERY - 1:
            terms.clear()  # the IRIs' texts are made again cheaply; all of them would be held


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
