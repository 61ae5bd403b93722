"""A stage run in a forked process, so that what it makes and drops goes back to the system.

The describing stage (map, validate, and the subjects' texts for the dumps,
``lod.publishing.front.Front.describe``) makes every triple of the archive and the checker's
indexes over them, and keeps none of it: what it hands on goes to disk. Run in the build's
own process, its objects were freed but their memory was not: CPython's allocator keeps an
arena while any object in it lives, and the triples' arenas also held the records'
resolution and mapping notes made beside them. So the main process kept its peak of that
stage (2.2 GB at 100k talks) through the pages stage, and the page workers forked from it
shared or copied it.

``Forked(fn, observer)`` runs ``fn(observer)`` in a child forked from this process (it
inherits everything, so nothing is pickled to start it), passes the child's progress events
on to *observer* as they come, and returns the child's result or raises its exception here;
then the bytes the child streams after it. When the child ends, all its memory is freed. It is the same function either way: a small
stage (a rebuild after a few edits) runs in-process, where forking would cost more than it
frees (``FORK_THRESHOLD``).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from lod.errors import BuildError
from lod.orphans import end_with_parent
from lod.progress import Event, Observer

T = TypeVar("T")

NOTHING_PUBLISHED = "nothing was published and the previous site is unchanged"
# Below this many records to map, the describing stage runs in the build's own process.
FORK_THRESHOLD = 2000


def forks(items: int, threshold: int | None = None) -> bool:
    """Whether a stage of *items* things runs in a forked child (where the system can fork)."""
    return hasattr(os, "fork") and items >= (FORK_THRESHOLD if threshold is None else threshold)


class Forked(Generic[T]):
    """``fn(observer)`` started in a forked child; *fn* returns its result and an iterator,
    whose items the child sends on after the result, as it makes them.

    ``result()`` passes the child's events on to *observer* as they come and returns its
    result, or raises its exception here; ``rest()`` then yields the items as they come (the
    pipe holds little, so the child makes them as fast as they are read); ``close()`` stops
    a child that is still running. *what* names the stage in the error raised if the child
    dies without finishing.
    """

    def __init__(self, fn: Callable[[Observer], tuple[T, Iterator[Any]]], observer: Observer,
                 what: str = "describing stage", daemon: bool = True, unfinished: str = NOTHING_PUBLISHED) -> None:
        self.observer, self.what, self.unfinished = observer, what, unfinished
        ctx = multiprocessing.get_context("fork")
        self._receive, send = ctx.Pipe(duplex=False)
        # A daemonic child may not start processes of its own (a rebuild's child starts the stages' workers).
        self._child = ctx.Process(target=_child, args=(fn, send, os.getpid()), daemon=daemon)
        self._child.start()
        send.close()  # the child's end: when the child is gone, reading finds the end of the pipe

    def _next(self) -> tuple[str, Any]:
        try:
            message: tuple[str, Any] = self._receive.recv()
        except EOFError:
            self._child.join()
            raise BuildError(died(self.what, self._child.exitcode, self.unfinished)) from None
        if message[0] == "raised":
            raise message[1]
        return message

    def result(self) -> T:
        """The child's result, once its events are passed on."""
        while True:
            kind, value = self._next()
            if kind == "event":
                self.observer(value)
            else:
                assert kind == "done", kind
                return value

    def rest(self) -> Iterator[Any]:
        """What the child sends after its result, in order."""
        while True:
            kind, value = self._next()
            if kind == "end":
                return
            assert kind == "more", kind
            yield value

    def close(self) -> None:
        """Stop the child if it still runs (interrupted here, it is of no use), and wait for it."""
        if self._child.is_alive() and self._child.exitcode is None:
            self._receive.close()  # a child blocked writing to the pipe gets EPIPE
            self._child.join(timeout=5)
            if self._child.is_alive():
                self._child.terminate()
        self._child.join()
        self._receive.close()


def ending(result: T) -> T:
    """*result*, in a child that ends once it has sent it: what the child left in cycles is not collected.
    The first collection after a rebuild walked all of it (1.4 s at 100k talks, while the result was
    pickled) to free memory the system takes back when the child exits."""
    gc.disable()
    return result


class Beside(Generic[T]):
    """*fn()* run beside what this process does next: started now in a forked child if *fork*, its
    result taken by ``result()``; else run by ``result()`` itself, here. ``close()`` stops a child
    still running (when what this process did instead failed). *what* names it if the child dies."""

    def __init__(self, fn: Callable[[], T], fork: bool, what: str) -> None:
        self._fn = fn
        # Not daemonic: a child that forks workers of its own (the gallery's stores) may not be one.
        self._child: Forked[T] | None = (Forked(lambda _observer: (ending(fn()), iter(())), _no_events, what=what,
                                                daemon=False) if fork else None)

    def result(self) -> T:
        """*fn*'s result, from the child, or made now."""
        if self._child is None:
            return self._fn()
        try:
            return self._child.result()
        finally:
            self._child.close()

    def close(self) -> None:
        """Stop the child if it still runs."""
        if self._child is not None:
            self._child.close()


def _no_events(_event: Event) -> None:
    """What a child run ``Beside`` says: nothing (its caller reports it)."""


def died(what: str, code: int | None, unfinished: str = NOTHING_PUBLISHED) -> str:
    """The message of a build whose *what* (``describing stage``) ran in a process that ended with
    exit *code* and no result; *unfinished* says what became of the site."""
    how = (f"was killed by signal {-code}" + (" (the system's out-of-memory killer sends this one)" if code == -9 else "")
           if code is not None and code < 0 else f"stopped with exit code {code}")
    return (f"the build's {what} ran in a process of its own, which {how} before it finished; "
            f"{unfinished}. Run the build again; if this recurs, "
            "the machine may lack the memory this archive needs (BENCHMARKS.md gives the peak by size).")


def _child(fn: Callable[[Observer], tuple[Any, Iterator[Any]]], send: Any, parent: int) -> None:
    """In the child: run *fn*, sending its events as they come, then its result and the rest, or its error."""
    end_with_parent(parent)

    def say(event: Event) -> None:
        send.send(("event", event))

    try:
        result, rest = fn(say)
        send.send(("done", result))
        for blob in rest:
            send.send(("more", blob))
        message: tuple[str, Any] = ("end", None)
    except BrokenPipeError:  # the parent stopped reading: it is done with us
        return
    except BaseException as exc:  # raised again in the parent
        message = ("raised", exc)
    try:
        send.send(message)
    except BrokenPipeError:
        return
    except Exception as exc:  # an unpicklable exception
        send.send(("raised", RuntimeError(f"the stage's process could not send its result back: {exc!r}")))
