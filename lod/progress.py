"""Progress as structured events: what a build is doing, for people to watch and tests to check.

The library never writes progress text. A build calls its observer (``build(progress=…)``) with
events: a stage ``Started`` with its total, ``Advanced`` as it goes, ``Finished`` with what it
made (counts by name, and its time); a ``FullBuildNeeded`` when an incremental build cannot run, with
the reason; ``StateNotSaved`` when the next build will be a full one. ``lod.cli`` renders them
(a live bar per stage on a terminal, plain lines elsewhere); tests assert on the events.

Every stage that starts finishes (unless the build raises), ``done`` never exceeds ``total``,
and ``Advanced`` events are spaced so that a stage emits about ``STEPS`` of them however large
the archive.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

STEPS = 200  # Advanced events per stage, at most (plus the last)


@dataclass(frozen=True)
class Started:
    """A stage began; *total* is how many *unit* it will process (files, records, triples …; a stage
    with no unit is one step)."""

    stage: str
    total: int
    unit: str


@dataclass(frozen=True)
class Advanced:
    """A stage has processed *done* of its *total*."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class Finished:
    """A stage ended: *done* of *total* processed in *seconds*, and what it made, by name."""

    stage: str
    done: int
    total: int
    seconds: float
    counts: Mapping[str, int] = field(default_factory=dict)


class Summary(Protocol):
    """A report that can say itself in one line (``lod.publishing.pages.google.GoogleReport``)."""

    def summary(self) -> str: ...


@dataclass(frozen=True)
class Checked:
    """A stage's check found *report* (the talk pages' gaps in Google's Event requirements)."""

    stage: str
    report: Summary


@dataclass(frozen=True)
class Narrowed:
    """A stage runs on *processes* of the *wanted* cores: a forked copy of the build's process
    (*own* bytes resident) for each other one would not fit in the memory *available* (bytes)."""

    stage: str
    processes: int
    wanted: int
    own: int
    available: int


@dataclass(frozen=True)
class FullBuildNeeded:
    """An incremental build could not run; the whole site is built. *reason* is one of REASONS;
    *detail* is the file, for ``"site-settings"``; what the state is, for ``"state-version"``;
    what is wrong with it, for ``"state-damaged"``; how many pages a rebuild would make again, for
    ``"most-pages"``."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class StateNotSaved:
    """The site is built, but the state the next build needs could not be saved (*error*).

    *pending*: a rebuild's changes to the state wait beside the site (its delta, published
    with the site's files), and the next build stores them before anything else; otherwise
    (a full build) the next build is a full one."""

    error: str
    pending: bool = False


REASONS = ("no-state", "other-site", "other-code", "site-settings", "load-errors", "state-version", "state-damaged",
           "state-behind", "most-pages")
Event = Started | Advanced | Finished | Checked | Narrowed | FullBuildNeeded | StateNotSaved
Observer = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """The observer of a build nobody watches."""


def ran(observer: Observer | None, name: str, total: int, unit: str, seconds: float, **counts: int) -> None:
    """Report a short stage that already ran (in *seconds*): its ``Started`` and ``Finished``."""
    Stage(observer, name, total, unit).finish(seconds, **counts)


class Stage:
    """One stage's events: ``Started`` now, ``Advanced`` through ``advance``, ``Finished`` through ``finish``."""

    def __init__(self, observer: Observer | None, name: str, total: int, unit: str) -> None:
        self.observer = observer or ignore
        self.name, self.total, self.done = name, max(total, 0), 0
        self.step = max(1, self.total // STEPS)
        self._next = min(self.step, self.total)
        self.t0 = time.perf_counter()
        self.observer(Started(name, self.total, unit))

    def advance(self, n: int = 1) -> None:
        """*n* more units are done (never counted past the total)."""
        self.done = min(self.total, self.done + n)
        if self.done >= self._next:  # a step further, or the end (once)
            self._next = min(self.done + self.step, self.total) if self.done < self.total else self.total + 1
            self.observer(Advanced(self.name, self.done, self.total))

    def finish(self, seconds: float | None = None, **counts: int) -> float:
        """The stage ended with everything done; report what it made. Returns its time in seconds
        (*seconds* when given: a stage timed by its caller)."""
        if seconds is None:
            seconds = time.perf_counter() - self.t0
        self.done = self.total
        self.observer(Finished(self.name, self.done, self.total, seconds, counts))
        return seconds
