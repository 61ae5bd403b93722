"""The build's library API: ``build`` (``lod build``), ``prepare`` and ``check`` (``lod validate``).

``build`` is ``lod.publishing.pipeline.build``: one pipeline for a full build and a rebuild.
``prepare`` runs its first stages (load → map → validate, ``lod.publishing.front``) from the
empty state, as a full build does, and returns the ``Prepared`` dataset without writing anything.
"""

from __future__ import annotations

import os
import time

from lod.errors import ValidationFailed
from lod.mapping.triples import graph_of, origins
from lod.progress import Stage
from lod.publishing.front import Front, empty_state
from lod.publishing.output import swap_in
from lod.publishing.pipeline import build
from lod.publishing.prepared import (MARKER, BuildResult, Prepared, Progress, SiteWriter, counts_of, describe,
                                     site_prefixes, stamps, void_graph, void_ttl, write_error)
from lod.validation.report import validate

# Re-exported: what library users and tests imported from here.
__all__ = ["MARKER", "ENGINES", "BuildResult", "Prepared", "Progress", "SiteWriter", "build", "check", "counts_of",
           "describe", "prepare", "site_prefixes", "swap_in", "void_graph", "void_ttl", "write_error"]

ENGINES = ("native", "pyshacl")


def prepare(data_dir: str | os.PathLike[str], base_url: str | None = None,
            progress: Progress | None = None, timings: dict[str, float] | None = None,
            engine: str = "native") -> Prepared:
    """Load, map and validate, as a full build does; raise RecordErrors or ValidationFailed on bad input.

    *engine* ``"native"`` checks the shapes with ``lod.validation.shacl`` (compiled from them; its
    report equals pyshacl's, tests/test_shacl_native.py); ``"pyshacl"`` runs pyshacl on
    an rdflib Graph of the whole data, the reference (about 150× slower).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown SHACL engine {engine!r}; expected one of {', '.join(ENGINES)}")
    timings = timings if timings is not None else {}
    state = empty_state()
    found = stamps(data_dir)
    stage = Stage(progress, "load", len(found), "files")
    front = Front(state, data_dir, base_url, found, timings, stage.advance)
    stage.finish(timings["load"], files=len(found))
    stage = Stage(progress, "map", len(front.to_map), "records")
    front.map(timings, stage.advance)
    stage.finish(timings["map"], triples=len(front.triples))
    ds, m = front.ds, front.minter
    stage = Stage(progress, "validate", len(front.triples), "triples")
    if engine == "pyshacl":
        t0 = time.perf_counter()
        report = validate(graph_of(front.triples), origins(ds, m))
        timings["validate"] = time.perf_counter() - t0
        if report.violations:
            raise ValidationFailed(report)
    else:
        report, _results = front.validate(state, timings)
    stage.finish(timings["validate"], violations=len(report.violations), warnings=len(report.warnings))
    p = Prepared(ds, m, front.triples, report)
    p.__dict__["triples"] = front.triples  # in canonical order already
    p.__dict__["terms"] = front.terms
    return p


def check(data_dir: str | os.PathLike[str], base_url: str | None = None, engine: str = "native") -> Prepared:
    """What ``lod validate`` reports: ``prepare``, plus the talk pages' Google Event check; writes nothing.

    The report then holds the same warnings a build reports.
    """
    p = prepare(data_dir, base_url, engine=engine)
    from lod.publishing.pages import check_pages

    _google, warnings = check_pages(p)
    p.report.results.extend(warnings)
    return p
