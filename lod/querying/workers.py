"""Query worker processes of the SPARQL endpoint: limits, evaluation, result formats.

Each query runs in a worker *process* (``python -c … worker_main``) holding a pyoxigraph
store of ``OUT/dump.nt``. The worker first runs ``lod.querying.check.check_query`` (a lexical
check that refuses updates, SERVICE, FROM/FROM NAMED in any reading), then evaluates. Workers install a seccomp
filter that makes ``socket(AF_INET/AF_INET6)`` fail, so even a query the check missed
cannot reach the network (Linux x86-64/aarch64). ``lod.querying.pool`` starts the workers and
kills one whose query overruns the time limit. Results are counted while they are
serialised; an answer over ``row_cap`` rows is an error, never a partial answer.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import platform
import re
import struct
import sys
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from lod.errors import ConfigError, QueryError
from lod.model.formats import SERVED_RDF_FORMATS, Format
from lod.model.negotiate import Offer, choose
from lod.querying.check import check_query, syntax_error

log = logging.getLogger("lod.serving.sparql")


@dataclass(frozen=True)
class Limits:
    """The endpoint's limits; every one of them is visible to a client that exceeds it."""

    timeout: float = 10.0  # wall-clock seconds per query, then the worker is killed
    row_cap: int = 10_000  # rows (SELECT) or triples (CONSTRUCT/DESCRIBE) per answer
    max_body: int = 100_000  # bytes of a POST body
    workers: int = 2  # query worker processes for queries of any length
    max_concurrent: int = 8  # queries admitted at once (running or waiting for a worker)
    retry_after: int = 2  # seconds, sent with 429 when saturated
    express: float = 0.5  # seconds a query may run on the express worker (0: no express worker)
    memory_mb: int = 2048  # address-space limit of a worker; 0 for none
    start_timeout: float = 120.0  # seconds a new worker may take to load the dump

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.row_cap < 1 or self.max_body < 1 or self.workers < 1 \
                or self.max_concurrent < 1:
            raise ConfigError("the query timeout, row cap, body size, workers and concurrency must all be positive.")
        if self.express < 0:
            raise ConfigError("the express worker's time budget cannot be negative.")


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
                                   "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}
GRAPH_FORMATS: tuple[Format, ...] = tuple(f for f in SERVED_RDF_FORMATS if f.name in OX_RDF)
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


_UNKNOWN_FUNCTION = re.compile(r"^The custom function <([^<>]*)> is not supported$")
MAX_UNKNOWN_FUNCTIONS = 32


def _unbound(*_args: object) -> None:
    """An extension function the engine does not know: an expression error (SPARQL 1.1 §17.3)."""
    return None


def run_query(store: ox.Store, text: str, base_iri: str | None, dataset: Dataset) -> Any:
    """Run *text* on *store* over *dataset*; an unknown extension function is an expression error."""
    # Oxigraph refuses a function IRI it does not know; SPARQL makes it an expression error
    # (the FILTER drops the row, BIND leaves the variable unbound). Each unknown IRI the engine
    # names is mapped to a function without a value and the query runs again.
    unknown: dict[ox.NamedNode, Any] = {}
    while True:
        try:
            return store.query(text, base_iri=base_iri, default_graph=dataset.default_graph,
                               named_graphs=dataset.named_graphs, custom_functions=unknown or None)
        except RuntimeError as exc:
            m = _UNKNOWN_FUNCTION.match(str(exc))
            if m is None or len(unknown) >= MAX_UNKNOWN_FUNCTIONS:
                raise
            unknown[ox.NamedNode(m.group(1))] = _unbound


@dataclass(frozen=True)
class Dataset:
    """The RDF dataset a query runs over: the store's one graph as default graph, named graph, or both.

    The store holds the site's triples in the named graph *graph* (the IRI of the VoID and
    ``lod push``). With no dataset in the request it is the default graph and there are no
    named graphs, as before; ``default-graph-uri`` / ``named-graph-uri`` naming it select it
    as the default graph and/or a named graph (SPARQL 1.1 Protocol §2.1.4).
    """

    graph: str | None
    default: bool = True
    named: bool = False

    @property
    def default_graph(self) -> Any:
        if self.graph is None:
            return None
        return ox.NamedNode(self.graph) if self.default else []

    @property
    def named_graphs(self) -> list[ox.NamedNode | ox.BlankNode] | None:
        if self.graph is None:
            return None
        return [ox.NamedNode(self.graph)] if self.named else []


def evaluate(store: ox.Store, text: str, form: str, row_cap: int, base_iri: str | None = None,
             dataset: Dataset | None = None) -> bytes:
    """Run a checked query; return the answer as TSV (SELECT), JSON (ASK) or N-Triples (graphs).

    These are the lossless line-based forms the cap can count; ``convert`` turns them
    into what the client asked for. Raises QueryError 422 past the row cap.
    """
    try:
        result = run_query(store, text, base_iri, dataset or Dataset(None))
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
        if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) and prefixes:
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

FRAME = struct.Struct(">IQ")  # a task or reply frame: length of the JSON header, length of the body


def _write_frame(out: Any, header: dict[str, Any], body: bytes = b"") -> None:
    head = json.dumps(header).encode()
    out.write(FRAME.pack(len(head), len(body)) + head + body)
    out.flush()


def _read_exact(inp: Any, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = inp.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def handle_task(store: ox.Store | None, task: dict[str, Any], row_cap: int, base_iri: str | None,
                graph: str | None = None) -> tuple[dict[str, Any], bytes]:
    """One task in a worker: ``check`` (the query form), ``run`` (form, content type, answer) or
    ``raw`` (form and ``evaluate``'s lossless answer, for ``lod query``)."""
    try:
        form = check_query(task["query"])
        if task["op"] == "check" or store is None:
            return {"ok": True, "form": form}, b""
        dataset = Dataset(graph, default=task.get("default", True), named=task.get("named", False))
        cap = int(task.get("row_cap", row_cap))
        if task["op"] == "raw":
            return {"ok": True, "form": form}, evaluate(store, task["query"], form, cap, base_iri, dataset)
        target = negotiate_result(form, task.get("accept"))
        raw = evaluate(store, task["query"], form, cap, base_iri, dataset)
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
    ap.add_argument("--graph", default=None)
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
        # Into the named graph the site's VoID names, so that a request naming it finds it.
        store.bulk_load(path=args.dump, format=ox.RdfFormat.N_TRIPLES,
                        to_graph=ox.NamedNode(args.graph) if args.graph else None)
    if args.memory_mb:
        # After loading: a query that needs more memory makes the worker die, not the machine swap.
        limit = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _write_frame(out, {"ready": True, "network_denied": network_denied, "triples": len(store) if store else 0})
    while True:
        try:
            hlen, blen = FRAME.unpack(_read_exact(inp, FRAME.size))
            task = json.loads(_read_exact(inp, hlen))
            _read_exact(inp, blen)
        except EOFError:
            return 0
        try:
            header, body = handle_task(store, task, args.row_cap, args.base, args.graph)
        except MemoryError:
            header, body = {"ok": False, "status": 503, "message": "the query needed more memory than a "
                                                                   "query worker may use; narrow it."}, b""
        _write_frame(out, header, body)
