"""Command line: a thin layer over the library. Each command is one library call.

Library exceptions (``lod.errors``) are turned into messages here, once; a user
never sees a traceback (set LOD_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence

from lod.errors import LodError, RecordErrors, ValidationFailed, visible


def _say(message: str) -> None:
    print(visible(message), file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    from lod.publishing.build import build
    from lod.watch import watcher

    result = build(args.data, args.out, args.base_url, progress=None if args.quiet else watcher(sys.stderr),
                   incremental=not args.full)
    warnings = result.report.warnings
    print(f"built {result.out}: {result.triples} triples, {result.resources} resources, {result.files} files "
          f"({len(warnings)} warning{'s' if len(warnings) != 1 else ''}; 'lod validate --warnings' lists them)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from lod.publishing.build import check

    try:
        p = check(args.data, args.base_url, engine=args.engine)
    except ValidationFailed as exc:
        for r in exc.report.results:  # type: ignore[attr-defined]
            print(visible(str(r)))
        print(f"{len(exc.report.violations)} violation(s), {len(exc.report.warnings)} warning(s)")  # type: ignore[attr-defined]
        return 1
    results = p.report.results if args.warnings else []
    for r in results:
        print(visible(str(r)))
    print(f"0 violations, {len(p.report.warnings)} warning(s)" + ("" if args.warnings else " (--warnings lists them)"))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from lod.errors import QueryError
    from lod.querying.engine import load_store, render, run, run_limited

    text = args.query
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        with open(text[1:], encoding="utf-8") as fh:
            text = fh.read()
    if args.no_limits:
        answer = run(load_store(args.site), text)
    else:
        try:
            answer = run_limited(args.site, text, args.timeout, args.row_cap)
        except QueryError as exc:
            if exc.status in (422, 503):  # a limit, not a mistake: say how to lift it
                raise QueryError(f"{exc} (--no-limits lifts the time limit and the row cap)", exc.status) from None
            raise
    sys.stdout.write(render(answer, args.format))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from lod.serving.server import serve
    from lod.querying.workers import Limits

    limits = Limits(timeout=args.timeout, row_cap=args.row_cap, workers=args.workers, express=args.express)
    serve(args.site, args.host, args.port, endpoint=args.endpoint, graph=args.graph, limits=limits)
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from lod.serving.push import push

    result = push(args.site, args.endpoint, graph=args.graph, fmt=args.format)
    print(f"pushed {result.triples} triples from {result.dump} to graph <{result.graph}> at {result.endpoint} "
          f"(HTTP {result.status})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lod.importers import import_source

    result = import_source(args.format, args.source, args.data, dry_run=args.dry_run, mapping=args.map,
                           prefer=args.prefer, url=args.url, timezone=args.timezone)
    if args.dry_run:
        sys.stdout.write(visible(result.diff))  # for a person to read: bidi and invisible characters shown
        return 0
    for note in result.plan.notes:
        _say(f"note: {note}")
    print(visible(f"imported {args.source}: " + (", ".join(str(p) for p in result.written) + " written" if result.written else "no changes")))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from lod.synth import write_synth

    n = write_synth(args.talks, args.out, seed=args.seed)
    print(f"wrote a synthetic archive of {args.talks} talks to {args.out} ({n} files)")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lod`` command."""
    p = argparse.ArgumentParser(prog="lod", description="Publish academic talks as linked data.")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the site from the records in --data")
    b.add_argument("--data", default="data", help="folder of YAML records (default: data)")
    b.add_argument("--out", default="site", help="output folder (default: site); a full build replaces it "
                   "atomically, a rebuild publishes the changed files through a journal")
    b.add_argument("--base-url", default=None, help="base of every IRI (default: the site's base_url, else http://localhost:8000/)")
    b.add_argument("--quiet", action="store_true", help="no progress messages")
    b.add_argument("--full", action="store_true",
                   help="rebuild everything, ignoring the state the last build left beside the site "
                        "(by default only what the changed records touch is rebuilt)")
    b.set_defaults(func=cmd_build)

    v = sub.add_parser("validate", help="check the records and the SHACL shapes; exit 1 on violations")
    v.add_argument("--data", default="data")
    v.add_argument("--base-url", default=None)
    v.add_argument("--warnings", action="store_true", help="also list the warnings")
    v.add_argument("--engine", choices=("native", "pyshacl"), default="native",
                   help="SHACL engine: native (lod.validation.shacl, compiled from the shapes; the default) or pyshacl "
                        "(the reference, much slower); both give the same report")
    v.set_defaults(func=cmd_validate)

    q = sub.add_parser("query", help="run a SPARQL query over the built site")
    q.add_argument("query", help="the query; '-' reads it from standard input, '@FILE' from a file")
    q.add_argument("--site", default="site", help="the built site (default: site)")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--timeout", type=float, default=10.0, help="seconds the query may run (default: 10, as lod serve)")
    q.add_argument("--row-cap", type=int, default=10_000,
                   help="rows (or triples) the answer may have (default: 10000, as lod serve)")
    q.add_argument("--no-limits", action="store_true",
                   help="no time limit and no row cap: run in this process, for exports you trust")
    q.set_defaults(func=cmd_query)

    s = sub.add_parser("serve", help="serve the built site: content negotiation and a SPARQL endpoint")
    s.add_argument("--site", default="site", help="the built site (default: site)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    s.add_argument("--endpoint", default=None,
                   help="answer /sparql from this external SPARQL endpoint (after 'lod push') instead of the embedded store")
    s.add_argument("--graph", default=None,
                   help="with --endpoint: the named graph to query (default: BASE + 'graph'; '' for the store's default graph)")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds a query may run (default: 10)")
    s.add_argument("--row-cap", type=int, default=10_000, help="rows an answer may have (default: 10000)")
    s.add_argument("--workers", type=int, default=2,
                   help="query worker processes for queries of any length (default: 2)")
    s.add_argument("--express", type=float, default=0.5,
                   help="seconds a query may run on the express worker, which answers short queries while "
                        "the others are busy (default: 0.5; 0: no express worker)")
    s.set_defaults(func=cmd_serve)

    u = sub.add_parser("push", help="load the dataset into a SPARQL store (Graph Store Protocol PUT, one request)")
    u.add_argument("--endpoint", required=True, help="the store's Graph Store Protocol URL, e.g. http://localhost:7878/store")
    u.add_argument("--graph", default=None, help="the named graph to replace (default: BASE + 'graph')")
    u.add_argument("--site", default="site", help="the built site (default: site)")
    u.add_argument("--format", choices=("nt", "ttl"), default="nt", help="which dump to send (default: nt)")
    u.set_defaults(func=cmd_push)

    i = sub.add_parser("import", help="convert a calendar, Indico or frab export, or an RDF archive into records in --data")
    i.add_argument("format", choices=("ical", "indico", "frab", "rdf"), help="the format of SOURCE")
    i.add_argument("source", help="the file to import")
    i.add_argument("--data", default="data", help="folder of YAML records to merge into (default: data)")
    i.add_argument("--dry-run", action="store_true", help="print the changes as a diff and write nothing")
    i.add_argument("--map", default=None, help="YAML file settling ambiguous matches: people: {\"Name\": id or new}")
    i.add_argument("--prefer", choices=("data", "import"), default=None,
                   help="settle conflicts with hand-edited values: keep the data's, or take the import's")
    i.add_argument("--url", default=None, help="the URL the source was downloaded from, recorded as its provenance")
    i.add_argument("--timezone", default=None,
                   help="iCal, RDF: the IANA zone of times written without one (floating times), e.g. Europe/Paris")
    i.set_defaults(func=cmd_import)
    y = sub.add_parser("synth", help="write a synthetic data folder (for benchmarks) that passes validation")
    y.add_argument("--talks", type=int, required=True, help="number of talks")
    y.add_argument("--out", required=True, help="the data folder to write")
    y.add_argument("--seed", type=int, default=1, help="random seed; the same seed writes the same files (default: 1)")
    y.set_defaults(func=cmd_synth)
    return p


def run() -> int:
    """The ``lod`` command: ``main``, then nothing left for the collector when the process exits.

    What a build drops in cycles waits for a collection, and the interpreter makes one as it exits:
    6 s at 100k talks after the site was published, to free memory the system takes back anyway.
    Frozen, the objects are left out of it (the interpreter still runs its exit handlers). Only
    here, where the process ends: a long-lived caller of ``main`` (the tests) keeps collecting."""
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lod`` command; returns the exit code."""
    args = parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except RecordErrors as exc:
        _say(str(exc))
        return 1
    except ValidationFailed as exc:
        _say("the build stopped: the data violates the SHACL shapes; nothing was published.")
        for r in exc.report.violations:  # type: ignore[attr-defined]
            _say(f"  {r}")
        return 1
    except LodError as exc:
        _say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("interrupted; the previous output is unchanged.")
        return 130
    except OSError as exc:
        _say(f"error: {exc.strerror or exc} ({exc.filename or ''})")
        return 1
    except Exception as exc:  # a bug of ours: say so, without a traceback
        if os.environ.get("LOD_DEBUG"):
            raise
        _say(f"internal error ({type(exc).__name__}: {exc}). Please report it; set LOD_DEBUG=1 for details.")
        return 2
