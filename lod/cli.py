"""Command line: a thin layer over the library. Each command is one library call.

Library exceptions (``lod.errors``) are turned into messages here, once; a user
never sees a traceback (set LOD_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from .errors import LodError, RecordErrors, ValidationFailed


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    from .publish import build

    result = build(args.data, args.out, args.base_url, progress=None if args.quiet else _say)
    warnings = result.report.warnings
    print(f"built {result.out}: {result.triples} triples, {result.resources} resources, {result.files} files "
          f"({len(warnings)} warning{'s' if len(warnings) != 1 else ''}; run 'lod validate' to list them)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .publish import prepare

    try:
        p = prepare(args.data, args.base_url)
    except ValidationFailed as exc:
        for r in exc.report.results:  # type: ignore[attr-defined]
            print(r)
        print(f"{len(exc.report.violations)} violation(s), {len(exc.report.warnings)} warning(s)")  # type: ignore[attr-defined]
        return 1
    results = p.report.results if args.warnings else []
    for r in results:
        print(r)
    print(f"0 violations, {len(p.report.warnings)} warning(s)" + ("" if args.warnings else " (--warnings lists them)"))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from .query import load_store, render, run

    text = args.query
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        with open(text[1:], encoding="utf-8") as fh:
            text = fh.read()
    answer = run(load_store(args.site), text)
    sys.stdout.write(render(answer, args.format))
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lod`` command."""
    p = argparse.ArgumentParser(prog="lod", description="Publish academic talks as linked data.")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the site from the records in --data")
    b.add_argument("--data", default="data", help="folder of YAML records (default: data)")
    b.add_argument("--out", default="site", help="output folder, replaced atomically (default: site)")
    b.add_argument("--base-url", default=None, help="base of every IRI (default: the site's base_url, else http://localhost:8000/)")
    b.add_argument("--quiet", action="store_true", help="no progress messages")
    b.set_defaults(func=cmd_build)

    v = sub.add_parser("validate", help="check the records and the SHACL shapes; exit 1 on violations")
    v.add_argument("--data", default="data")
    v.add_argument("--base-url", default=None)
    v.add_argument("--warnings", action="store_true", help="also list the warnings")
    v.set_defaults(func=cmd_validate)

    q = sub.add_parser("query", help="run a SPARQL query over the built site")
    q.add_argument("query", help="the query; '-' reads it from standard input, '@FILE' from a file")
    q.add_argument("--site", default="site", help="the built site (default: site)")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.set_defaults(func=cmd_query)
    return p


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
