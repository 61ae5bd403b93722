"""Query worker processes of the SPARQL endpoint: limits, evaluation, result formats.

Each query runs in a worker *process* (``python -c … worker_main``) holding a pyoxigraph
store of ``OUT/dump.nt``. The worker first runs ``lod.querycheck.check_query`` (a lexical
check that refuses updates, SERVICE, FROM/FROM NAMED in any reading), then evaluates. Workers install a seccomp
filter that makes ``socket(AF_INET/AF_INET6)`` fail, so even a query the check missed
cannot reach the network (Linux x86-64/aarch64). A wall-clock timeout kills the worker
(pyoxigraph cannot be interrupted any other way) and a fresh one replaces it. Results
are counted while they are serialised; an answer over ``row_cap`` rows is an error,
never a partial answer.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import json
import logging
import os
import platform
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from starlette.exceptions import HTTPException

from .errors import ConfigError, LodError, QueryError
from .formats import RDF_FORMATS, Format
from .negotiate import Offer, choose
from .querycheck import check_query, syntax_error

log = logging.getLogger("lod.sparql")


@dataclass(frozen=True)
class Limits:
    """The endpoint's limits; every one of them is visible to a client that exceeds it."""

    timeout: float = 10.0  # wall-clock seconds per query, then the worker is killed
    row_cap: int = 10_000  # rows (SELECT) or triples (CONSTRUCT/DESCRIBE) per answer
    max_body: int = 100_000  # bytes of a POST body
    workers: int = 2  # query worker processes
    max_concurrent: int = 8  # queries admitted at once (running or waiting for a worker)
    retry_after: int = 2  # seconds, sent with 503 when saturated
    memory_mb: int = 2048  # address-space limit of a worker; 0 for none
    start_timeout: float = 120.0  # seconds a new worker may take to load the dump

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.row_cap < 1 or self.max_body < 1 or self.workers < 1 \
                or self.max_concurrent < 1:
            raise ConfigError("the query timeout, row cap, body size, workers and concurrency must all be positive.")


# ---------------------------------------------------------------- result formats

@dataclass(frozen=True)
class ResultFormat:
    """A serialisation of SELECT/ASK results."""

    name: str
    media_type: str
    also_accepts: tuple[str, ...]
    ox_format: ox.QueryResultsFormat

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        return f"{self.media_type}; charset=utf-8"


RESULT_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("json", "application/sparql-results+json", ("application/json",), ox.QueryResultsFormat.JSON),
    ResultFormat("xml", "application/sparql-results+xml", ("application/xml", "text/xml"), ox.QueryResultsFormat.XML),
    ResultFormat("csv", "text/csv", (), ox.QueryResultsFormat.CSV),
    ResultFormat("tsv", "text/tab-separated-values", (), ox.QueryResultsFormat.TSV),
)
# CONSTRUCT/DESCRIBE answers come in the registry's RDF formats that pyoxigraph writes.
OX_RDF: dict[str, ox.RdfFormat] = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
                                   "jsonld": ox.RdfFormat.JSON_LD}
GRAPH_FORMATS: tuple[Format, ...] = tuple(f for f in RDF_FORMATS if f.name in OX_RDF)
GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")


def result_offers(form: str) -> list[Offer[Any]]:
    """What an answer of this query form can be sent as, the default first."""
    if form in GRAPH_FORMS:
        return [Offer((f.media_type, *f.also_accepts), f) for f in GRAPH_FORMATS]
    return [Offer((f.media_type, *f.also_accepts), f) for f in RESULT_FORMATS]


def negotiate_result(form: str, accept: str | None) -> ResultFormat | Format:
    """The answer format for *form* the client accepts, or QueryError 406 listing the types."""
    offers = result_offers(form)
    chosen = choose(accept, offers)
    if chosen is None:
        types = ", ".join(o.media_types[0] for o in offers)
        raise QueryError(f"none of the types in the Accept header can be sent for a {form} query; "
                         f"available: {types}.", 406)
    value: ResultFormat | Format = chosen.value
    return value


class RowCapExceeded(Exception):
    """Raised while serialising an answer that has more rows than allowed."""


class _LineCounter:
    """A binary sink for pyoxigraph's serialisers that counts lines and stops past a cap.

    In TSV and N-Triples every row (triple) is exactly one line, because both escape
    line breaks inside terms, so lines are rows.
    """

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max_lines
        self.lines = 0
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.lines += chunk.count(b"\n")
        if self.lines > self.max_lines:
            raise RowCapExceeded
        self.data += chunk
        return len(chunk)

    def flush(self) -> None:
        """Nothing to flush: pyoxigraph calls it."""


def row_cap_error(cap: int, form: str) -> QueryError:
    what = "triples" if form in GRAPH_FORMS else "rows"
    return QueryError(f"the answer has more than {cap} {what}, the limit of this endpoint; add LIMIT {cap} "
                      "(with ORDER BY for a stable page) or narrow the query.", 422)


def _out(data: bytes | None) -> bytes:
    # pyoxigraph's serialisers return the bytes when given no output.
    assert data is not None
    return data


def evaluate(store: ox.Store, text: str, form: str, row_cap: int, base_iri: str | None = None) -> bytes:
    """Run a checked query; return the answer as TSV (SELECT), JSON (ASK) or N-Triples (graphs).

    These are the lossless line-based forms the cap can count; ``convert`` turns them
    into what the client asked for. Raises QueryError 422 past the row cap.
    """
    try:
        result = store.query(text, base_iri=base_iri)
        if isinstance(result, ox.QueryBoolean):
            return _out(result.serialize(format=ox.QueryResultsFormat.JSON))
        sink = _LineCounter(row_cap + (0 if form in GRAPH_FORMS else 1))  # + the TSV header line
        if isinstance(result, ox.QuerySolutions):
            result.serialize(sink, ox.QueryResultsFormat.TSV)  # type: ignore[arg-type]
        else:
            ox.serialize(result, sink, ox.RdfFormat.N_TRIPLES)  # type: ignore[arg-type]
        return bytes(sink.data)
    except RowCapExceeded:
        raise row_cap_error(row_cap, form) from None
    except SyntaxError as exc:
        raise syntax_error(exc) from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise QueryError(f"the query failed: {exc}", 500) from None


def convert(form: str, raw: bytes, target: ResultFormat | Format, prefixes: dict[str, str] | None = None) -> bytes:
    """Turn ``evaluate``'s output (or an external endpoint's, in the same forms) into *target*."""
    if form in GRAPH_FORMS:
        assert isinstance(target, Format)
        fmt = OX_RDF[target.name]
        if fmt == ox.RdfFormat.N_TRIPLES:
            return raw
        triples = ox.parse(raw, ox.RdfFormat.N_TRIPLES)
        used = None
        if fmt == ox.RdfFormat.TURTLE and prefixes:
            # pyoxigraph declares every prefix it is given; declare only those the answer uses.
            used = {p: ns for p, ns in prefixes.items() if f"<{ns}".encode() in raw}
        return _out(ox.serialize(triples, format=fmt, prefixes=used))
    assert isinstance(target, ResultFormat)
    if form == "SELECT" and target.name == "tsv":
        return raw
    source = ox.QueryResultsFormat.JSON if form == "ASK" else ox.QueryResultsFormat.TSV
    return _out(ox.parse_query_results(raw, source).serialize(format=target.ox_format))


# ---------------------------------------------------------------- no network in workers

_AUDIT_ARCH = {"x86_64": (0xC000003E, (41, 0x40000000 | 41)), "aarch64": (0xC00000B7, (198,))}


def deny_network() -> bool:
    """Make ``socket(AF_INET/AF_INET6, …)`` fail with EPERM in this process and its future threads.

    A seccomp filter (Linux only): the second wall behind ``check_query`` against
    SERVICE and anything else that would make pyoxigraph connect out. Unix sockets
    and pipes keep working. Returns False where it cannot be installed.
    """
    arch = _AUDIT_ARCH.get(platform.machine())
    if sys.platform != "linux" or arch is None:
        return False
    audit_arch, numbers = arch

    def ins(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)

    ld_abs, jeq, ret = 0x20, 0x15, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM
    # Layout: [0] load arch, [1] other arch → allow, [2] load syscall nr, [3…] socket()? → check,
    # then load args[0] (the address family, low word) and deny AF_INET (2) / AF_INET6 (10).
    check = 3 + len(numbers)
    allow_at, deny_at = check + 3, check + 4

    def jump(at: int, target: int) -> int:
        return target - (at + 1)

    prog = [ins(ld_abs, 0, 0, 4), ins(jeq, 0, jump(1, allow_at), audit_arch), ins(ld_abs, 0, 0, 0)]
    for i, nr in enumerate(numbers):
        at = 3 + i
        last = i == len(numbers) - 1
        prog.append(ins(jeq, jump(at, check), jump(at, allow_at) if last else 0, nr))
    prog += [ins(ld_abs, 0, 0, 16),
             ins(jeq, jump(check + 1, deny_at), 0, 2),
             ins(jeq, jump(check + 2, deny_at), 0, 10),
             ins(ret, 0, 0, allow),
             ins(ret, 0, 0, deny)]
    buf = ctypes.create_string_buffer(b"".join(prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if prctl(pr_set_no_new_privs, 1, None, 0, 0) != 0:
        return False
    return bool(prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.addressof(fprog), 0, 0) == 0)


# ---------------------------------------------------------------- worker process

_FRAME = struct.Struct(">IQ")  # length of the JSON header, length of the body


def _write_frame(out: Any, header: dict[str, Any], body: bytes = b"") -> None:
    head = json.dumps(header).encode()
    out.write(_FRAME.pack(len(head), len(body)) + head + body)
    out.flush()


def _read_exact(inp: Any, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = inp.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def handle_task(store: ox.Store | None, task: dict[str, Any], row_cap: int, base_iri: str | None) -> tuple[dict[str, Any], bytes]:
    """One task in a worker: ``check`` (the query form) or ``run`` (form, content type, answer)."""
    try:
        form = check_query(task["query"])
        if task["op"] == "check" or store is None:
            return {"ok": True, "form": form}, b""
        target = negotiate_result(form, task.get("accept"))
        raw = evaluate(store, task["query"], form, row_cap, base_iri)
        body = convert(form, raw, target, task.get("prefixes"))
        return {"ok": True, "form": form, "content_type": target.content_type}, body
    except QueryError as exc:
        return {"ok": False, "status": exc.status, "message": str(exc)}, b""


def worker_main(argv: list[str] | None = None) -> int:
    """Entry point of a query worker: load the dump, then answer framed tasks on stdin/stdout."""
    import argparse
    import resource

    ap = argparse.ArgumentParser(prog="lod-sparql-worker")
    ap.add_argument("--dump", default=None)
    ap.add_argument("--base", default=None)
    ap.add_argument("--row-cap", type=int, default=Limits.row_cap)
    ap.add_argument("--memory-mb", type=int, default=0)
    args = ap.parse_args(argv)
    # Frames go to the real stdout; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    network_denied = deny_network()  # before pyoxigraph starts any thread
    store = None
    if args.dump:
        store = ox.Store()
        store.bulk_load(path=args.dump, format=ox.RdfFormat.N_TRIPLES)
    if args.memory_mb:
        # After loading: a query that needs more memory makes the worker die, not the machine swap.
        limit = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _write_frame(out, {"ready": True, "network_denied": network_denied, "triples": len(store) if store else 0})
    while True:
        try:
            hlen, blen = _FRAME.unpack(_read_exact(inp, _FRAME.size))
            task = json.loads(_read_exact(inp, hlen))
            _read_exact(inp, blen)
        except EOFError:
            return 0
        try:
            header, body = handle_task(store, task, args.row_cap, args.base)
        except MemoryError:
            header, body = {"ok": False, "status": 503, "message": "the query needed more memory than a "
                                                                   "query worker may use; narrow it."}, b""
        _write_frame(out, header, body)


# ---------------------------------------------------------------- worker pool

class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process, generation: int) -> None:
        self.proc = proc
        self.generation = generation

    async def call(self, task: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        head = json.dumps(task).encode()
        self.proc.stdin.write(_FRAME.pack(len(head), 0) + head)
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
    hlen, blen = _FRAME.unpack(await stream.readexactly(_FRAME.size))
    header = json.loads(await stream.readexactly(hlen))
    body = await stream.readexactly(blen) if blen else b""
    return header, body


class WorkerPool:
    """A few worker processes; a query that overruns the timeout has its worker killed and replaced."""

    def __init__(self, dump: Path | None, base_iri: str | None, limits: Limits) -> None:
        self.dump = dump
        self.base_iri = base_iri
        self.limits = limits
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._generation = 0
        self._dump_key = self._stat_dump()
        self._closed = False
        self.network_denied: bool | None = None

    def _stat_dump(self) -> tuple[int, int, int] | None:
        if self.dump is None:
            return None
        st = self.dump.stat()
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-c", "import sys; from lod.workers import worker_main; sys.exit(worker_main())",
               "--row-cap", str(self.limits.row_cap), "--memory-mb", str(self.limits.memory_mb)]
        if self.dump is not None:
            cmd += ["--dump", str(self.dump)]
        if self.base_iri:
            cmd += ["--base", self.base_iri]
        return cmd

    async def _spawn(self) -> _Worker:
        env = dict(os.environ)
        # The worker imports this package from wherever the server found it.
        package_parent = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        proc = await asyncio.create_subprocess_exec(*self._command(), stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, env=env)
        worker = _Worker(proc, self._generation)
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

    async def start(self) -> None:
        """Start the workers and wait until each has loaded the dump."""
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.limits.workers)))
        for w in workers:
            self._idle.put_nowait(w)
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

    def _replace(self, worker: _Worker) -> None:
        """Kill *worker* and start another in the background."""
        self._all.discard(worker)

        async def replace() -> None:
            await worker.kill()
            if self._closed:
                return
            try:
                fresh = await self._spawn()
            except LodError as exc:
                log.error("%s", exc)
                return
            if self._closed:
                await fresh.kill()
                return
            self._idle.put_nowait(fresh)

        task = asyncio.get_running_loop().create_task(replace())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _check_rebuilt(self) -> None:
        # `lod build` swaps OUT atomically: a new dump.nt means new workers.
        key = self._stat_dump()
        if key != self._dump_key:
            self._dump_key = key
            self._generation += 1

    async def _acquire(self) -> _Worker:
        while True:
            worker = await self._idle.get()
            if worker.generation == self._generation and worker.proc.returncode is None:
                return worker
            self._replace(worker)

    async def call(self, task: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """Run one task on a free worker, within the limits; raise HTTPException/QueryError past them."""
        if self._pending >= self.limits.max_concurrent:
            raise HTTPException(503, f"the endpoint is answering {self._pending} queries already; "
                                     f"try again in {self.limits.retry_after} s.",
                                headers={"Retry-After": str(self.limits.retry_after)})
        self._pending += 1
        try:
            try:
                self._check_rebuilt()
            except OSError:
                pass  # the dump vanished mid-rebuild: keep the workers we have
            try:
                worker = await asyncio.wait_for(self._acquire(), self.limits.timeout)
            except asyncio.TimeoutError:
                raise HTTPException(503, "every query worker stayed busy for the whole time limit; try again.",
                                    headers={"Retry-After": str(self.limits.retry_after)}) from None
            try:
                reply = await asyncio.wait_for(worker.call(task), self.limits.timeout)
            except asyncio.TimeoutError:
                self._replace(worker)
                raise QueryError(f"the query ran for more than {self.limits.timeout:g} s and was stopped; "
                                 "add LIMIT or narrow the query.", 503) from None
            except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
                self._replace(worker)
                raise QueryError("the query stopped its worker (it needed more memory than allowed?); "
                                 "narrow the query.", 503) from None
            except BaseException:
                self._replace(worker)  # cancelled mid-query (client gone, shutdown): the worker is in an unknown state
                raise
            self._idle.put_nowait(worker)
            return reply
        finally:
            self._pending -= 1

