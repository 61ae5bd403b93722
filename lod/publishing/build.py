"""Publish stage: the only module that writes the site.

``build`` runs the whole pipeline (load → map → validate → write) and writes the
site into a fresh folder beside OUT, then swaps it in with one atomic rename. A
failed, interrupted or killed build leaves the previous OUT exactly as it was.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import Any

from lod.errors import BuildError, ConfigError, ValidationFailed
from lod.publishing.incremental import results_by_owner
from lod.publishing.documents import DOCUMENTS_INDEX, index_bytes
from lod.publishing.dumps import DumpIndex, write_descriptions
from lod.model.formats import RDF_FORMATS
from lod.model.iri import DEFAULT_BASE_URL, Minter
from lod.loading.files import load_files, no_gc
from lod.mapping.triples import graph_of, origins, to_triples
from lod.model.kinds import TABLES
from lod.publishing.prepared import (MARKER, BuildResult, Prepared, Progress, SiteWriter, counts_of, describe, first_changed,
                       site_prefixes, stamps, void_graph, void_ttl, write_error)
from lod.progress import Stage, StateNotSaved, ignore
from lod.publishing.readsets import MapRecord
from lod.model.serialize import jsonld_context
from lod.validation.shacl import check as shacl_check
from lod.validation.report import Result, validate

# Re-exported: what library users and tests imported from here before these moved to lod.publishing.prepared.
__all__ = ["MARKER", "ENGINES", "BuildResult", "Prepared", "Progress", "SiteWriter", "build", "check", "counts_of",
           "describe", "prepare", "site_prefixes", "swap_in", "void_graph", "void_ttl", "write_error", "write_site"]

ENGINES = ("native", "pyshacl")


def prepare(data_dir: str | os.PathLike[str], base_url: str | None = None,
            progress: Progress | None = None, timings: dict[str, float] | None = None,
            engine: str = "native", keep: bool = False) -> Prepared:
    """Load, map and validate; raise RecordErrors or ValidationFailed on bad input.

    *engine* ``"native"`` checks the shapes with ``lod.validation.shacl`` (compiled from them; its
    report equals pyshacl's, tests/test_shacl_native.py); ``"pyshacl"`` runs pyshacl on
    an rdflib Graph of the whole data, the reference (about 150× slower).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown SHACL engine {engine!r}; expected one of {', '.join(ENGINES)}")
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    kept: dict[str, bytes] = {}
    merger = load_files(data_dir, keep=kept if keep else None, progress=progress)  # reports the load stage
    ds = merger.dataset
    timings["load"] = time.perf_counter() - t0
    minter = Minter(base_url or ds.site.base_url or DEFAULT_BASE_URL)
    t0 = time.perf_counter()
    stage = Stage(progress, "map", sum(len(ds.table(kind)) for kind in TABLES), "records")
    mapped = MapRecord() if keep else None  # what the next, incremental, build follows
    triples = to_triples(ds, minter, stage.advance, mapped)
    timings["map"] = time.perf_counter() - t0
    stage.finish(triples=len(triples))
    t0 = time.perf_counter()
    stage = Stage(progress, "validate", len(triples), "triples")
    where = origins(ds, minter)
    report = validate(graph_of(triples), where) if engine == "pyshacl" else shacl_check(triples, where)
    timings["validate"] = time.perf_counter() - t0
    stage.finish(violations=len(report.violations), warnings=len(report.warnings))
    if report.violations:
        raise ValidationFailed(report)
    return Prepared(ds, minter, triples, report, kept, merger.keys, merger.reads, mapped)


def check(data_dir: str | os.PathLike[str], base_url: str | None = None, engine: str = "native") -> Prepared:
    """What ``lod validate`` reports: ``prepare``, plus the talk pages' Google Event check; writes nothing.

    The report then holds the same warnings a build reports.
    """
    p = prepare(data_dir, base_url, engine=engine)
    from lod.publishing.pages import check_pages

    _google, warnings = check_pages(p)
    p.report.results.extend(warnings)
    return p


def write_site(p: Prepared, root: Path, progress: Progress | None = None,
               timings: dict[str, float] | None = None, index: DumpIndex | None = None) -> tuple[int, int, int]:
    """Write every published file of *p* under *root*; return (triples, resources, files).

    *index*, if given, is filled with where each subject is in the dumps (``lod.publishing.dumps``)."""
    timings = timings if timings is not None else {}
    w = SiteWriter(root)
    root.mkdir(parents=True, exist_ok=True)
    m = p.minter
    prefixes = site_prefixes(m)
    triples = p.triples
    # One pass writes the three dumps and each resource's three files (lod.publishing.dumps); it
    # writes exactly the formats of RDF_FORMATS, which this checks.
    assert sorted(f.suffix for f in RDF_FORMATS) == [".jsonld", ".nt", ".ttl"]
    stage = Stage(progress, "dumps", len(triples), "triples")
    served = p.dataset.site.documents == "served"
    index = index if index is not None or not served else DumpIndex()
    resources_written = write_descriptions(triples, p.terms, m.context, root, m.path_of,
                                           None if served else w.write, timings, index, stage.advance)
    if served:  # no per-resource files: lod serve answers them from the dumps through this index
        assert index is not None
        w.write(DOCUMENTS_INDEX, index_bytes(index, m.path_of, root))
    p.terms.clear(keep_nt=True)  # the Turtle and JSON-LD texts are not needed again
    w.files += len(RDF_FORMATS)
    w.write("context.jsonld", (json.dumps(jsonld_context(prefixes), indent=2, sort_keys=True) + "\n").encode())
    stage.finish(resources=resources_written, formats=len(RDF_FORMATS))
    w.write("void.ttl", void_ttl(p, len(triples)))
    w.write("ontology.ttl", (resources.files("lod") / "data" / "lod.ttl").read_bytes())
    w.write(MARKER, (json.dumps({"base_url": m.base, "title": p.dataset.site.title,
                                 "generator": "lod"}, indent=2, sort_keys=True) + "\n").encode())
    return len(triples), resources_written, w.files


# ---------------------------------------------------------------- atomic swap

def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"the output {out} exists and is not a folder; choose another --out.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ConfigError(f"the output folder {out} is not empty and was not built by lod; "
                          "choose another --out (lod replaces its output folder as a whole).")


def _recover(out: Path) -> None:
    """Undo what a build killed mid-swap left behind, and clear stale staging folders."""
    old = out.with_name(f".{out.name}.old")
    if not out.exists() and old.is_dir():
        os.rename(old, out)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    from lod.publishing.rebuild import state_path
    from lod.publishing.state import recover as recover_state

    recover_state(state_path(out))  # a state being written when killed
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)


def swap_in(staging: Path, out: Path) -> None:
    """Replace *out* with *staging* atomically."""
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = out.with_name(f".{out.name}.old")
    os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def build(data_dir: str | os.PathLike[str] = "data", out_dir: str | os.PathLike[str] = "site",
          base_url: str | None = None, progress: Progress | None = None, incremental: bool = True) -> BuildResult:
    """Build the site from *data_dir* into *out_dir*. Raises LodError subclasses on bad input.

    With *incremental* (the default) and the state an earlier build left beside the site,
    only what changed is rebuilt and published in place (``lod.publishing.rebuild``); otherwise, or when
    the rebuild cannot be incremental, the whole site is built and swapped in atomically.
    Either way a failed build leaves the previous site as it was, and the output is the same.
    """
    from lod.publishing import incremental as inc
    from lod.publishing import journal as journal
    from lod.publishing.rebuild import rebuild, settled

    # The code the state will name is the code that runs now, even if files change meanwhile.
    inc.code_digest()
    out = Path(out_dir).absolute()
    _check_out(out)
    if out.parent.is_dir():
        _recover(out)
        journal.recover(out)
    if incremental and out.is_dir():
        result = rebuild(data_dir, out, base_url, progress)
        if result is not None:
            return result
    timings: dict[str, float] = {}
    taken = time.time_ns()
    before = stamps(data_dir)
    p = prepare(data_dir, base_url, progress, timings, keep=True)
    shacl_results = results_by_owner(p.report)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    index = DumpIndex()
    try:
        staging.mkdir()
        n_triples, n_resources, n_files = write_site(p, staging, progress, timings, index)
        # Further writers of the site (pages, feeds, query gallery) are called here, each
        # returning the number of files it wrote.
        from lod.publishing.pages import write_pages
        n_files += write_pages(p, staging, progress, timings)
        from lod.publishing.gallery import write_gallery
        stage = Stage(progress, "gallery", 1, "")
        gallery = write_gallery(p, staging)
        n_files += gallery.files
        stage.finish(answered=len(gallery.answered), reused=0)
        changed = first_changed(before, stamps(data_dir))
        if changed:
            raise BuildError(f"the record file {changed} changed during the build, so the site could mix two "
                             f"versions; nothing was published and the previous {out.name}/ is unchanged. "
                             "Run the build again.")
        # The files whose set depends on the data (a rebuild deletes those it no longer makes).
        sitemaps = sorted([f.name for f in staging.glob("sitemap*.xml")]
                          + [f"search/{f.name}" for f in staging.glob("search/*")])
        swap_in(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise write_error(exc, out) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    t0 = time.perf_counter()
    stage = Stage(progress, "state", 1, "")
    with no_gc():  # the state is millions of new objects that all live on until it is written
        _save_state(p, out, settled(before, taken), shacl_results, index, sitemaps, n_files, progress or ignore,
                    gallery.answers)
    timings["state"] = stage.finish()
    return BuildResult(out, p.minter.base, n_triples, n_resources, n_files, p.report, timings, counts_of(p.dataset))


def _save_state(p: Prepared, out: Path, before: dict[str, tuple[int, int, int]],
                shacl_results: dict[str, list[Result]], index: DumpIndex, sitemaps: list[str], n_files: int,
                progress: Progress, gallery: dict[str, Any]) -> None:
    """Leave beside the freshly built *out* what the next build needs to be incremental."""
    from lod.publishing import incremental as inc
    from lod.publishing.pages.stage import pages_cache, pages_readsets, search_state
    from lod.publishing.readsets import file_deps
    from lod.publishing.rebuild import marker_id, write_state

    site_id = marker_id(out)
    links, answers = pages_readsets(p)  # what each page and calendar read (lod.publishing.pages.dirty)
    state = inc.State(inc.fingerprint(p.minter.base), site_id or "", p.dataset.site, before, p.parsed,
                      inc.resolved_blobs(p.file_keys, p.dataset), shacl_results,
                      extra={"dumps": index, "links": links, "answers": answers, "google": p.google_gaps,
                             "deps": file_deps(p.file_keys, p.reads), "mapped": p.mapped, "pages": pages_cache(p),
                             "search": search_state(p), "files": n_files, "sitemaps": sitemaps, "gallery": gallery})
    try:
        write_state(out, state)
    except OSError as exc:  # the site is built; only the next build's speed is lost
        progress(StateNotSaved(str(exc.strerror or exc)))
