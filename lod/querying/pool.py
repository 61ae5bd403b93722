"""The pool of query worker processes: general workers, the express worker, rebuilds, overload.

The workers themselves (``lod.querying.workers``) load the dump and answer framed tasks; this module
starts them, hands each query to one, kills one whose query overruns its time, switches to a
new generation of workers when ``lod build`` writes a new dump, and answers overload with
429 Too Many Requests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException

from lod.errors import LodError, QueryError
from lod.querying.workers import FRAME, Limits

log = logging.getLogger("lod.serving.sparql")


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process, generation: int, express: bool) -> None:
        self.proc = proc
        self.generation = generation
        self.express = express

    async def call(self, task: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        head = json.dumps(task).encode()
        self.proc.stdin.write(FRAME.pack(len(head), 0) + head)
        await self.proc.stdin.drain()
        return await _read_reply(self.proc.stdout)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        await self.proc.wait()


async def _read_reply(stream: asyncio.StreamReader) -> tuple[dict[str, Any], bytes]:
    hlen, blen = FRAME.unpack(await stream.readexactly(FRAME.size))
    header = json.loads(await stream.readexactly(hlen))
    body = await stream.readexactly(blen) if blen else b""
    return header, body


class _Overran(Exception):
    """A query used up the express worker's budget; it goes on to a general worker."""


def too_busy(limits: Limits, detail: str) -> HTTPException:
    """429 Too Many Requests with Retry-After: overload is the client's to wait out, never a 5xx."""
    return HTTPException(429, f"{detail}; try again in {limits.retry_after} s.",
                         headers={"Retry-After": str(limits.retry_after)})


class WorkerPool:
    """Worker processes: ``workers`` general ones and one express worker for short queries.

    A query runs on an idle general worker; when every general worker is busy (runaway
    queries, say), it runs on the express worker, which gives it ``limits.express``
    seconds: a query still running then has the express worker killed and replaced, and
    waits for a general worker like any other. So a small query is answered at once while
    long ones run (issue 13.6). A query over the timeout has its worker killed and replaced.

    When ``OUT/dump.nt`` changes (``lod build``), a new generation of workers loads it in
    the background while the old one keeps answering; then the pool switches to the new
    generation at once and retires the old workers as their queries finish.
    """

    def __init__(self, dump: Path | None, base_iri: str | None, limits: Limits, graph: str | None = None) -> None:
        self.dump = dump
        self.base_iri = base_iri
        self.graph = graph
        self.limits = limits
        self._idle: list[_Worker] = []
        self._freed = asyncio.Condition()
        self._all: set[_Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._generation = 0
        self._dump_key = self._stat_dump()
        self._switching = False
        self._retry_switch_at = 0.0
        self._closed = False
        self.network_denied: bool | None = None
        self.switches = 0  # generations loaded since start (tests and logs)

    @property
    def express(self) -> bool:
        """Whether the pool keeps an express worker (an embedded store and a budget > 0)."""
        return self.limits.express > 0 and self.dump is not None

    def _stat_dump(self) -> tuple[int, int, int] | None:
        if self.dump is None:
            return None
        st = self.dump.stat()
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-c", "import sys; from lod.querying.workers import worker_main; sys.exit(worker_main())",
               "--row-cap", str(self.limits.row_cap), "--memory-mb", str(self.limits.memory_mb)]
        if self.dump is not None:
            cmd += ["--dump", str(self.dump)]
        if self.base_iri:
            cmd += ["--base", self.base_iri]
        if self.graph:
            cmd += ["--graph", self.graph]
        return cmd

    async def _spawn(self, express: bool, generation: int | None = None) -> _Worker:
        env = dict(os.environ)
        # The worker imports this package from wherever the server found it.
        package_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        # The generation is the one current when the process starts: a worker started before a
        # switch may have loaded the old dump, so it is retired, not kept, when it reports.
        gen = self._generation if generation is None else generation
        proc = await asyncio.create_subprocess_exec(*self._command(), stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, env=env)
        worker = _Worker(proc, gen, express)
        self._all.add(worker)
        try:
            assert proc.stdout is not None
            header, _ = await asyncio.wait_for(_read_reply(proc.stdout), self.limits.start_timeout)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self._all.discard(worker)
            await worker.kill()
            raise LodError(f"a SPARQL query worker did not start ({type(exc).__name__}); see the messages above.") \
                from None
        self.network_denied = bool(header.get("network_denied"))
        return worker

    def _lanes(self) -> list[bool]:
        return [False] * self.limits.workers + ([True] if self.express else [])

    async def start(self) -> None:
        """Start the workers and wait until each has loaded the dump."""
        workers = await asyncio.gather(*(self._spawn(express) for express in self._lanes()))
        self._idle.extend(workers)
        if not self.network_denied:
            log.warning("query workers could not install the network filter; SERVICE and friends are refused "
                        "by the query check only")

    async def stop(self) -> None:
        """Kill every worker."""
        self._closed = True
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*(w.kill() for w in list(self._all)), return_exceptions=True)
        self._all.clear()
        self._idle.clear()

    async def _kill(self, worker: _Worker) -> None:
        """Kill a worker, then forget it.

        Until it is dead it stays in ``_all``, where stop() finds it even if stop() cancels this
        task before it ran: else a runaway's worker outlived the pool (``lod query`` past its time
        limit returned and left the query running, a core busy for hours).
        """
        await worker.kill()
        self._all.discard(worker)

    def _background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, worker: _Worker) -> None:
        """Give a worker back: to the idle list if it is current, else retire it."""
        if worker.generation != self._generation or worker.proc.returncode is not None:
            self._background(self._kill(worker))
            return
        async with self._freed:
            self._idle.append(worker)
            self._freed.notify_all()

    def _replace(self, worker: _Worker) -> None:
        """Kill *worker* and start another of the same lane in the background."""

        async def replace() -> None:
            await self._kill(worker)
            if self._closed or worker.generation != self._generation:
                return  # a switch brings its own workers
            try:
                fresh = await self._spawn(worker.express)
            except LodError as exc:
                log.error("%s", exc)
                return
            if self._closed:
                await fresh.kill()
                return
            await self._release(fresh)

        self._background(replace())

    # -- a new build

    def _check_rebuilt(self) -> None:
        # `lod build` swaps OUT (or dump.nt) atomically: a new dump.nt means a new generation.
        if self._switching or self._closed:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._retry_switch_at:
            return
        try:
            key = self._stat_dump()
        except OSError:
            return  # the dump vanished mid-rebuild: keep the workers we have
        if key != self._dump_key:
            self._switching = True
            self._background(self._switch(key))

    async def _switch(self, key: tuple[int, int, int] | None) -> None:
        """Load the new dump in a new generation of workers, then switch to it at once."""
        generation = self._generation + 1
        try:
            fresh = await asyncio.gather(*(self._spawn(express, generation) for express in self._lanes()))
        except LodError as exc:
            log.error("the rebuilt dump could not be loaded; still answering from the previous one: %s", exc)
            for w in [w for w in self._all if w.generation == generation]:
                self._all.discard(w)
                await w.kill()
            self._retry_switch_at = asyncio.get_running_loop().time() + 5.0
            self._switching = False
            return
        if self._closed:
            await asyncio.gather(*(w.kill() for w in fresh))
            return
        async with self._freed:
            old = self._idle
            self._idle = list(fresh)
            self._generation = generation
            self._dump_key = key
            self.switches += 1
            self._freed.notify_all()
        for w in old:  # busy old workers are retired by _release when their query ends
            self._background(self._kill(w))
        self._switching = False
        log.info("answering queries from the rebuilt dump")

    # -- queries

    async def _acquire(self, express_ok: bool) -> _Worker:
        """An idle worker: a general one first, else (if allowed) the express one."""
        async with self._freed:
            while True:
                general = [w for w in self._idle if not w.express]
                chosen = general[0] if general else next((w for w in self._idle if w.express and express_ok), None)
                if chosen is not None:
                    self._idle.remove(chosen)
                    return chosen
                await self._freed.wait()

    async def _run(self, worker: _Worker, task: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        budget = self.limits.express if worker.express else self.limits.timeout
        try:
            reply = await asyncio.wait_for(worker.call(task), budget)
        except asyncio.TimeoutError:
            self._replace(worker)
            if worker.express and budget < self.limits.timeout:
                log.info("a query overran the express worker's %g s; it waits for a general worker", budget)
                raise _Overran from None
            raise QueryError(f"the query ran for more than {self.limits.timeout:g} s and was stopped; "
                             "add LIMIT or narrow the query.", 503) from None
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            self._replace(worker)
            raise QueryError("the query stopped its worker (it needed more memory than allowed?); "
                             "narrow the query.", 503) from None
        except BaseException:
            self._replace(worker)  # cancelled mid-query (client gone, shutdown): the worker is in an unknown state
            raise
        await self._release(worker)
        return reply

    async def call(self, task: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """Run one task on a free worker, within the limits; raise HTTPException/QueryError past them.

        Past ``max_concurrent`` queries, or after waiting ``timeout`` seconds for a worker,
        the answer is 429 with Retry-After. The time a query waits does not count against
        its own time limit.
        """
        if self._pending >= self.limits.max_concurrent:
            raise too_busy(self.limits, f"the endpoint is answering {self._pending} queries already")
        self._pending += 1
        try:
            self._check_rebuilt()
            express_ok = True
            while True:
                try:
                    worker = await asyncio.wait_for(self._acquire(express_ok), self.limits.timeout)
                except asyncio.TimeoutError:
                    raise too_busy(self.limits, "every query worker stayed busy for the whole time limit") from None
                try:
                    return await self._run(worker, task)
                except _Overran:
                    express_ok = False  # too long for the express worker: wait for a general one
        finally:
            self._pending -= 1
