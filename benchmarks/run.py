"""Benchmarks of issue 6: one command reproduces every figure in BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py --sizes 1000,10000          # add 100000 for the archive scale

For each size N it writes a synthetic archive (``lod synth``) and measures, each
heavy step in its own process so that peak memory (ru_maxrss) is that step's own:

* the full ``lod build``, per stage (load, map, validate, dumps, resources, pages,
  of which sitemap and feeds), wall time and peak memory;
* the rebuild after editing one record (a talk's title);
* SPARQL latency, p50 / p95 over repeated runs, of the query gallery (queries/*.rq)
  plus three typical archive queries, on pyoxigraph loaded from dump.nt;
* the naive reference pipeline on the same data: rdflib ``Graph.add``, whole-graph
  pyshacl without our parse cache, rdflib's Turtle and N-Triples serializers, pyld
  ``from_rdf`` + ``compact`` for JSON-LD, rdflib SPARQL. Steps known to be quadratic or
  slow are measured on smaller synthetic archives of the same shape and extrapolated
  (the exponent is fitted on two sizes); the report marks every extrapolated figure;
* the floor for dump writing: f-string N-Triples and pyoxigraph's serializer;
* the floor for the site's files (``files_floor``): the same file names and sizes as the
  build just wrote, written with plain Python (``open``/``write``) into a fresh folder on the
  same file system, reported beside the full build, with the per-resource documents' share;
* ``--documents served`` builds with the site setting ``documents: served`` (lod.publishing.documents:
  no per-resource RDF files, ``lod serve`` answers them from the dumps);
* morph-kgc mapping the talk/person core with an RML mapping (from its own venv,
  ``.venv-morph``, because morph-kgc pins rdflib and pyoxigraph to older versions);
* server throughput with wrk (50 connections, 2 threads) against ``lod serve`` on
  127.0.0.1: HTML pages, content-negotiated resources (303 + document) and a small
  SPARQL query.

Results go to benchmarks/results/ (git-ignored) as JSON, one file per run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = sys.executable
BASE = "http://localhost:8000/"
# PYTHONPATH: the children import lod from this checkout (a snapshot of it may be benchmarked
# while the working copy changes).
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1735689600", "PYTHONHASHSEED": "0",
       "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))}

TYPICAL = {
    "talks-by-speaker-name": """PREFIX schema: <http://schema.org/>
SELECT ?talk ?start WHERE { ?p schema:name "Ana Álvarez 0" . ?talk schema:performer ?p ; schema:startDate ?start }""",
    "date-range-ordered": """PREFIX schema: <http://schema.org/> PREFIX lod: <https://w3id.org/lod-talks/ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?talk ?start WHERE { ?talk a lod:Talk ; schema:startDate ?start .
  FILTER(?start >= "2023-03-01T00:00:00Z"^^xsd:dateTime && ?start < "2023-04-01T00:00:00Z"^^xsd:dateTime) }
ORDER BY ?start ?talk""",
    "talks-per-organisation": """PREFIX schema: <http://schema.org/> PREFIX lod: <https://w3id.org/lod-talks/ns#>
SELECT ?org (COUNT(DISTINCT ?talk) AS ?n) WHERE { ?talk a lod:Talk ; schema:performer/schema:affiliation ?org }
GROUP BY ?org ORDER BY DESC(?n) ?org""",
}


# ------------------------------------------------------------------ helpers

def peak_mb() -> float:
    """Peak resident memory of this process, in MB: the kernel's high-water mark of its memory
    (``VmHWM``). Not ``ru_maxrss`` where the kernel gives it: that survives ``execve``, so a step
    started by this harness began at the harness's own resident size when it forked (1,329 MB
    at 100k talks in the twenty-fourth to twenty-sixth rounds' runs, against 72 MB of its own)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# A sample waits at least this many times what it took: reading smaps_rollup walks the process's
# page tables in the kernel (0.27-0.32 s for a 13 GB process), and sampled every 0.25 s the
# sampler took a core's worth of the build's two (issue 14's eighteenth round, BENCHMARKS.md).
SAMPLE_COST = 9


def pause(interval: float, took: float) -> float:
    """How long a sampler waits after a sample that took *took* seconds: at least *interval*, and
    long enough that sampling costs at most a tenth of a core."""
    return max(interval, SAMPLE_COST * took)


def _tree_pss_kb(root: int) -> int:
    """Proportional set size of *root* and all its descendants, in kB.

    Forked workers share most pages with their parent; PSS divides each shared page among
    the processes that map it, so the sum is the memory the whole build really holds
    (summing RSS would count the shared graph once per worker).
    """
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


class TreeMemory:
    """Samples the PSS of this process and its workers every *interval* seconds; ``peak_mb`` is the highest sum."""

    def __init__(self, interval: float = 0.25) -> None:
        import threading

        self.peak_kb = 0
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            self.peak_kb = max(self.peak_kb, _tree_pss_kb(os.getpid()))
            self._stop.wait(pause(self._interval, time.perf_counter() - t))

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def cpu_seconds() -> dict[str, float]:
    """CPU time of this process and of its finished children (validation workers), and their peak memory.

    The machine is shared: wall time includes waiting for a core, CPU time does not.
    """
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu": me.ru_utime + me.ru_stime, "cpu_children": kids.ru_utime + kids.ru_stime,
            "children_peak_mb": kids.ru_maxrss / 1024}


def child(step: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``run.py --child STEP ARGS`` in a fresh process and return the JSON it prints last."""
    t0 = time.perf_counter()
    proc = subprocess.run([PY, str(Path(__file__)), "--child", step, *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:], "wall": wall}
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out.setdefault("wall", wall)
    return out


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of *values*, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


def synth(n: int, folder: Path) -> Path:
    """The synthetic data folder of *n* talks (made once, reused by later runs)."""
    data = folder / f"data-{n}"
    if not (data / "people.yaml").exists():
        from lod.synth import write_synth
        shutil.rmtree(data, ignore_errors=True)
        write_synth(n, data)
    return data


def tree(root: Path) -> dict[str, bytes]:
    """Every file under *root*, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ child steps

def step_build(data: str, out: str) -> dict[str, Any]:
    """One full build, with sitemap and feeds timed inside the pages stage."""
    from lod.publishing import feeds as feeds
    from lod.publishing.pages import stage
    from lod.publishing.build import build

    inner: dict[str, float] = {"feeds": 0.0, "sitemap": 0.0}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                inner[name] += time.perf_counter() - t0
        return wrapper

    # render_site looks both up at call time (feeds.site_feeds, the module global sitemap_files)
    feeds.site_feeds = timed("feeds", feeds.site_feeds)
    stage.sitemap_files = timed("sitemap", stage.sitemap_files)
    t0 = time.perf_counter()
    with TreeMemory() as memory:
        result = build(data, out, BASE)
    total = time.perf_counter() - t0
    return {"total": total, "incremental": result.incremental, "timings": {**result.timings, **inner},
            "triples": result.triples,
            "files": result.files, "counts": result.counts, "peak_mb": peak_mb(),
            "tree_peak_pss_mb": memory.peak_mb,
            "violations": len(result.report.violations), "warnings": len(result.report.warnings),
            **cpu_seconds()}


def step_sparql(site: str, reps: str) -> dict[str, Any]:
    """p50/p95 latency of each gallery and typical query on pyoxigraph loaded from dump.nt."""
    import pyoxigraph as ox

    from lod.publishing.gallery import read_gallery

    t0 = time.perf_counter()
    store = ox.Store()
    store.bulk_load(path=str(Path(site) / "dump.nt"), format=ox.RdfFormat.N_TRIPLES)
    load = time.perf_counter() - t0
    queries = {q.name: q.text for q in read_gallery(REPO / "queries")} | TYPICAL
    out: dict[str, Any] = {"load": load, "queries": {}}
    for name, text in queries.items():
        times: list[float] = []
        rows = 0
        for _ in range(int(reps)):
            t = time.perf_counter()
            answer: Any = store.query(text)
            rows = sum(1 for _ in answer)
            times.append(time.perf_counter() - t)
        out["queries"][name] = {"p50": pct(times, 0.5), "p95": pct(times, 0.95), "rows": rows}
    out["peak_mb"] = peak_mb()
    return out


def step_floor(site: str) -> dict[str, Any]:
    """The floor for dump writing: f-string N-Triples from plain tuples, and pyoxigraph's serializers."""
    import pyoxigraph as ox

    store = ox.Store()
    store.bulk_load(path=str(Path(site) / "dump.nt"), format=ox.RdfFormat.N_TRIPLES)
    quads = list(store)
    plain = [(q.subject.value, q.predicate.value, q.object) for q in quads]
    t0 = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8") as fh:
        fh.write("".join(f"<{s}> <{p}> {o} .\n" for s, p, o in plain))
    fstring = time.perf_counter() - t0
    res = {"fstring_nt": fstring, "triples": len(quads)}
    for name, fmt in (("ox_nt", ox.RdfFormat.N_TRIPLES), ("ox_ttl", ox.RdfFormat.TURTLE),
                      ("ox_jsonld", getattr(ox.RdfFormat, "JSON_LD", None))):
        if fmt is None:
            continue
        t0 = time.perf_counter()
        ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads], format=fmt)
        res[name] = time.perf_counter() - t0
    return res


_SITE_WIDE = {"dump.ttl", "dump.nt", "dump.jsonld", "void.ttl", "ontology.ttl", "context.jsonld"}


def step_files_floor(site: str) -> dict[str, Any]:
    """Write the site's files again, same names and sizes, with plain Python: what any build
    writing this file set costs at least on this file system (folders made first, timed apart)."""
    root = Path(site)
    files: list[tuple[str, int]] = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), root)
            files.append((rel, os.stat(os.path.join(folder, name)).st_size))
    dest = root.with_name(root.name + "-floor")
    shutil.rmtree(dest, ignore_errors=True)
    zeros = memoryview(bytes(max((size for _rel, size in files), default=0)))
    documents = [(rel, size) for rel, size in files
                 if rel.endswith((".ttl", ".nt", ".jsonld")) and rel not in _SITE_WIDE]
    try:
        t0 = time.perf_counter()
        for folder in sorted({os.path.dirname(rel) for rel, _size in files}):
            os.makedirs(dest / folder, exist_ok=True)
        folders = time.perf_counter() - t0
        t0 = time.perf_counter()
        for rel, size in files:
            with open(dest / rel, "wb") as f:
                f.write(zeros[:size])
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    n = len(files)
    per_file = seconds / n if n else 0.0
    return {"files": n, "bytes": sum(size for _rel, size in files), "folders_s": folders, "files_s": seconds,
            "total": folders + seconds, "per_file_us": per_file * 1e6,
            "per_resource_documents": len(documents), "per_resource_documents_s": per_file * len(documents)}


def step_naive(data: str, what: str) -> dict[str, Any]:
    """The naive pipeline's steps named in *what* (comma separated) on *data*."""
    from rdflib import Graph

    from lod.model.iri import Minter
    from lod.loading.stage import load
    from lod.mapping.triples import to_graph
    from lod.model.serialize import jsonld_context
    from lod.validation.report import load_shapes

    steps = set(what.split(","))
    ds = load(data)
    minter = Minter(BASE)
    res: dict[str, Any] = {}
    t0 = time.perf_counter()
    g: Graph = to_graph(ds, minter)  # our mapper is already the naive one: one rdflib Graph.add per triple
    res["map"] = time.perf_counter() - t0
    res["triples"] = len(g)
    if "validate" in steps:
        from pyshacl import validate as shacl
        shapes = load_shapes()
        t0 = time.perf_counter()
        shacl(g, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True)
        res["validate"] = time.perf_counter() - t0
    if "ttl" in steps:
        t0 = time.perf_counter()
        g.serialize(format="turtle")
        res["ttl"] = time.perf_counter() - t0
    if "nt" in steps:
        t0 = time.perf_counter()
        g.serialize(format="nt")
        res["nt"] = time.perf_counter() - t0
    if "jsonld" in steps:
        from pyld import jsonld
        nq = g.serialize(format="nt")
        ctx = jsonld_context({})
        t0 = time.perf_counter()
        expanded = jsonld.from_rdf(nq, {"format": "application/n-quads"})
        jsonld.compact(expanded, ctx)
        res["jsonld"] = time.perf_counter() - t0
    if "sparql" in steps:
        from lod.publishing.gallery import read_gallery
        queries = {q.name: q.text for q in read_gallery(REPO / "queries")} | TYPICAL
        res["sparql"] = {}
        for name, text in queries.items():
            t0 = time.perf_counter()
            len(list(g.query(text)))
            res["sparql"][name] = time.perf_counter() - t0
    res["peak_mb"] = peak_mb()
    return res


def step_morph_export(data: str, out: str) -> dict[str, Any]:
    """Write the talk/person core of *data* as JSON for morph-kgc (resolved records, as our mapper sees them).

    Lists (speakers, affiliations) become (id, value) pair tables: RML maps one value per
    iteration, and morph-kgc does not expand JSON arrays inside a template.
    """
    from lod.loading.stage import load

    ds = load(data)
    tables: dict[str, list[dict[str, Any]]] = {
        "talks": [{"id": t.id, "title": t.title, "abstract": t.abstract,
                   "start": t.start_at.lexical if t.start_at else None} for t in ds.talks.values()],
        "speakers": [{"id": t.id, "person": s} for t in ds.talks.values() for s in t.speakers],
        "people": [{"id": p.id, "name": p.display_name, "given": p.given_name, "family": p.family_name}
                   for p in ds.people.values()],
        "affiliations": [{"id": p.id, "org": o} for p in ds.people.values() for o in p.affiliations],
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        (Path(out) / f"{name}.json").write_text(json.dumps({name: rows}, ensure_ascii=False), encoding="utf-8")
    return {name: len(rows) for name, rows in tables.items()}


RML = """@prefix rr: <http://www.w3.org/ns/r2rml#> . @prefix rml: <http://semweb.mmlab.be/ns/rml#> .
@prefix ql: <http://semweb.mmlab.be/ns/ql#> . @prefix schema: <http://schema.org/> .
@prefix lod: <https://w3id.org/lod-talks/ns#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#Talk> rml:logicalSource [ rml:source "DIR/talks.json" ; rml:referenceFormulation ql:JSONPath ; rml:iterator "$.talks[*]" ] ;
  rr:subjectMap [ rr:template "BASEtalk/{id}" ; rr:class schema:Event, lod:Talk ] ;
  rr:predicateObjectMap [ rr:predicate schema:name ; rr:objectMap [ rml:reference "title" ] ] ,
    [ rr:predicate schema:description ; rr:objectMap [ rml:reference "abstract" ] ] ,
    [ rr:predicate schema:startDate ; rr:objectMap [ rml:reference "start" ; rr:datatype xsd:dateTime ] ] .
<#Speaker> rml:logicalSource [ rml:source "DIR/speakers.json" ; rml:referenceFormulation ql:JSONPath ; rml:iterator "$.speakers[*]" ] ;
  rr:subjectMap [ rr:template "BASEtalk/{id}" ] ;
  rr:predicateObjectMap [ rr:predicate schema:performer ; rr:objectMap [ rr:template "BASEperson/{person}" ] ] .
<#Person> rml:logicalSource [ rml:source "DIR/people.json" ; rml:referenceFormulation ql:JSONPath ; rml:iterator "$.people[*]" ] ;
  rr:subjectMap [ rr:template "BASEperson/{id}" ; rr:class schema:Person ] ;
  rr:predicateObjectMap [ rr:predicate schema:name ; rr:objectMap [ rml:reference "name" ] ] ,
    [ rr:predicate schema:givenName ; rr:objectMap [ rml:reference "given" ] ] ,
    [ rr:predicate schema:familyName ; rr:objectMap [ rml:reference "family" ] ] .
<#Affiliation> rml:logicalSource [ rml:source "DIR/affiliations.json" ; rml:referenceFormulation ql:JSONPath ; rml:iterator "$.affiliations[*]" ] ;
  rr:subjectMap [ rr:template "BASEperson/{id}" ] ;
  rr:predicateObjectMap [ rr:predicate schema:affiliation ; rr:objectMap [ rr:template "BASEorg/{org}" ] ] .
"""


def step_ours_core(data: str) -> dict[str, Any]:
    """Our load + map time, the comparison point for morph-kgc (which maps fewer triples)."""
    from lod.model.iri import Minter
    from lod.loading.stage import load
    from lod.mapping.triples import to_triples

    t0 = time.perf_counter()
    ds = load(data)
    t1 = time.perf_counter()
    triples = to_triples(ds, Minter(BASE))  # what a build maps to (to_graph adds an rdflib Graph)
    t2 = time.perf_counter()
    return {"load": t1 - t0, "map": t2 - t1, "triples": len(triples)}


CHILD: dict[str, Callable[..., dict[str, Any]]] = {"build": step_build, "sparql": step_sparql, "floor": step_floor,
         "files_floor": step_files_floor, "naive": step_naive,
         "morph_export": step_morph_export, "ours_core": step_ours_core}


# ------------------------------------------------------------------ parent steps

def morph(data: Path, work: Path) -> dict[str, Any]:
    """morph-kgc on the talk/person core, from .venv-morph (see the module docstring)."""
    mpy = REPO / ".venv-morph" / "bin" / "python"
    if not mpy.exists():
        return {"error": "morph-kgc is not installed: python3 -m venv .venv-morph && .venv-morph/bin/pip install morph-kgc"}
    exp = child("morph_export", str(data), str(work / "morph"))
    (work / "morph" / "mapping.rml.ttl").write_text(RML.replace("DIR", str(work / "morph")).replace("BASE", BASE),
                                                    encoding="utf-8")
    ini = work / "morph" / "config.ini"
    ini.write_text(f"[CONFIGURATION]\nnumber_of_processes=2\n"
                   f"[DataSource1]\nmappings={work / 'morph' / 'mapping.rml.ttl'}\n", encoding="utf-8")
    code = ("import time,resource,json,morph_kgc,sys;t=time.perf_counter();"
            f"n=len(morph_kgc.materialize_set({str(ini)!r}));"
            "print(json.dumps({'seconds':time.perf_counter()-t,'triples':n,"
            "'peak_mb':resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))")
    t0 = time.perf_counter()
    proc = subprocess.run([str(mpy), "-c", code], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": proc.stderr[-1500:], **exp}
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall"] = time.perf_counter() - t0
    res["exported"] = exp
    return res


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


WRK_LUA = """
paths = {}
for line in io.lines("PATHS") do paths[#paths + 1] = line end
accept = "ACCEPT"
counter = 0
request = function()
  counter = counter + 1
  local p = paths[(counter % #paths) + 1]
  if accept ~= "" then return wrk.format("GET", p, {["Accept"] = accept}) end
  return wrk.format("GET", p)
end
"""


def wrk(url: str, paths: list[str], accept: str, work: Path, seconds: int, name: str,
        connections: int = 50) -> dict[str, Any]:
    """wrk -t2 -c50 (or *connections*) for *seconds* over *paths*; requests/s, latency and errors (non-2xx/3xx, socket)."""
    plist = work / f"wrk-{name}.txt"
    plist.write_text("\n".join(paths) + "\n", encoding="utf-8")
    lua = work / f"wrk-{name}.lua"
    lua.write_text(WRK_LUA.replace("PATHS", str(plist)).replace("ACCEPT", accept), encoding="utf-8")
    proc = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
                          capture_output=True, text=True, timeout=seconds + 60)
    text = proc.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", text))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    return {"rps": float(rps.group(1)) if rps else 0.0, "errors": errors,
            "p50": p50.group(1) if p50 else None, "p99": p99.group(1) if p99 else None, "raw": text}


def server(site: Path, work: Path, seconds: int) -> dict[str, Any]:
    """Throughput of ``lod serve`` under wrk: pages, content negotiation, small SPARQL queries."""
    if not shutil.which("wrk"):
        return {"error": "wrk is not installed (apt-get install -y wrk)"}
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "lod", "serve", "--site", str(site), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)
        rng = random.Random(0)
        talks = sorted(p.stem for p in (site / "talk").glob("*.html"))
        sample = rng.sample(talks, min(500, len(talks)))
        res: dict[str, Any] = {}
        res["pages"] = wrk(url, [f"/talk/{t}.html" for t in sample], "", work, seconds, "pages")
        res["conneg"] = wrk(url, [f"/talk/{t}" for t in sample], "text/turtle", work, seconds, "conneg")
        res["conneg_doc"] = wrk(url, [f"/talk/{t}.ttl" for t in sample], "text/turtle", work, seconds, "doc")
        from urllib.parse import quote
        q = ("PREFIX schema: <http://schema.org/> SELECT ?name WHERE { <%stalk/%s> schema:performer/schema:name ?name }")
        qpaths = [f"/sparql?query={quote(q % (BASE, t))}" for t in sample[:100]]
        # The endpoint admits 8 queries at once (Limits.max_concurrent) and answers 429 +
        # Retry-After beyond: at 50 connections most answers are that designed back-pressure.
        res["sparql_c50"] = wrk(url, qpaths, "application/sparql-results+json", work, seconds, "sparql50")
        res["sparql_c8"] = wrk(url, qpaths, "application/sparql-results+json", work, seconds, "sparql8", 8)
        return res
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def extrapolate(n: int, points: dict[int, float]) -> tuple[float, float]:
    """Fit t = a * n^k through the two largest measured sizes; return (t(n), k)."""
    (n1, t1), (n2, t2) = sorted(points.items())[-2:]
    import math
    k = math.log(t2 / t1) / math.log(n2 / n1) if t1 > 0 and t2 > 0 else 1.0
    k = max(1.0, k)  # never extrapolate below linear
    return t2 * (n / n2) ** k, k


def naive(n: int, work: Path, full_max: int, slow_max: int, pyld_max: int) -> dict[str, Any]:
    """The naive pipeline at *n* talks; slow steps measured on smaller archives and extrapolated."""
    res: dict[str, Any] = {"measured_at": {}, "extrapolated": {}}
    fast_n = min(n, full_max)
    r = child("naive", str(synth(fast_n, work)), "nt,sparql")
    res["raw_fast"] = r
    for step, sizes in (("validate", (slow_max // 2, slow_max)), ("ttl", (slow_max // 2, slow_max)),
                        ("jsonld", (pyld_max // 2, pyld_max))):
        pts: dict[int, float] = {}
        for s in sizes:
            if s > n:
                continue
            rr = child("naive", str(synth(s, work)), step)
            if step in rr:
                pts[s] = rr[step]
        if n in pts:
            res[step] = pts[n]
            res["measured_at"][step] = n
        elif len(pts) >= 2:
            res[step], k = extrapolate(n, pts)
            res["extrapolated"][step] = {"from": pts, "exponent": round(k, 2)}
        res.setdefault("points", {})[step] = pts
    for step in ("map", "nt"):
        if step in r:
            if fast_n == n:
                res[step] = r[step]
            else:
                res[step] = r[step] * n / fast_n  # linear: Graph.add and rdflib's N-Triples writer
                res["extrapolated"][step] = {"from": {fast_n: r[step]}, "exponent": 1.0}
    if "sparql" in r:
        res["sparql"] = r["sparql"]
        res["sparql_measured_at"] = fast_n
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="talk counts, comma separated (default 1000,10000)")
    ap.add_argument("--work", default=str(HERE / "results" / "work"), help="scratch folder for data and sites")
    ap.add_argument("--naive-full-max", type=int, default=10000,
                    help="largest N at which the naive Graph.add / N-Triples / SPARQL run in full")
    ap.add_argument("--naive-slow-max", type=int, default=1000,
                    help="largest N at which naive pyshacl and rdflib Turtle run (then extrapolated)")
    ap.add_argument("--naive-pyld-max", type=int, default=200, help="largest N at which pyld runs (then extrapolated)")
    ap.add_argument("--server-seconds", type=int, default=10, help="duration of each wrk run")
    ap.add_argument("--sparql-reps", type=int, default=20)
    ap.add_argument("--documents", choices=("files", "served"), default="files",
                    help="the site setting documents: per-resource files (default) or served from the dumps")
    ap.add_argument("--skip", default="", help="steps to leave out: naive,morph,server,rebuild,floor,files_floor,sparql, and build (reuse an earlier run's site)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        import lod
        assert Path(lod.__file__).resolve().parent == REPO / "lod", (lod.__file__, REPO)
        print(json.dumps(CHILD[args.child[0]](*args.child[1:])))
        return 0
    skip = set(filter(None, args.skip.split(",")))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    report: dict[str, Any] = {"command": " ".join([Path(PY).name, *sys.argv]), "started": stamp,
                              "documents": args.documents,
                              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "platform": platform.platform()}, "sizes": {}}
    out_file = HERE / "results" / f"run-{stamp}.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        out_file.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")

    for n in [int(x) for x in args.sizes.split(",")]:
        r: dict[str, Any] = {}
        report["sizes"][str(n)] = r
        print(f"== {n} talks", flush=True)
        data = synth(n, work)
        site = work / f"site-{n}"
        # The synthetic data has no site block: one is written for served documents, removed otherwise.
        site_yaml = data / "site.yaml"
        if args.documents == "served":
            site_yaml.write_text("site:\n  documents: served\n", encoding="utf-8")
            os.utime(site_yaml, (time.time() - 3600, time.time() - 3600))  # not "racy" for the rebuild
        else:
            site_yaml.unlink(missing_ok=True)
        if "build" in skip and (site / ".lod-site.json").exists():
            r["build"] = {"skipped": "reused the site of an earlier run"}
            skip.add("rebuild")
        else:
            shutil.rmtree(site, ignore_errors=True)  # a full build: no site and no state from an earlier run
            site.with_name(f".{site.name}.lod-state").unlink(missing_ok=True)
            r["build"] = child("build", str(data), str(site))
            print("build", json.dumps({k: v for k, v in r["build"].items() if k != "counts"}), flush=True)
            if "files_floor" not in skip and "error" not in r["build"]:
                r["files_floor"] = child("files_floor", str(site))
                print("files floor", json.dumps(r["files_floor"]), flush=True)
        save()
        if "rebuild" not in skip and "error" not in r["build"]:
            # Edit one talk's title in place, as an organiser would, and build again over the
            # site: an incremental rebuild. The file is put back afterwards (the data is reused).
            f = sorted((data / "series").glob("*.yaml"))[len(list((data / "series").glob("*.yaml"))) // 2]
            text = f.read_text(encoding="utf-8")
            try:
                f.write_text(text.replace("title: On ", "title: Revised On ", 1), encoding="utf-8")
                r["rebuild"] = child("build", str(data), str(site))
                print("rebuild", json.dumps({k: v for k, v in r["rebuild"].items() if k != "counts"}), flush=True)
                # the same edited data built from scratch: the incremental site must be byte-identical
                fresh = work / f"site-{n}-full"
                shutil.rmtree(fresh, ignore_errors=True)
                r["rebuild_full"] = child("build", str(data), str(fresh))
            finally:
                f.write_text(text, encoding="utf-8")
            a, b = tree(site), tree(fresh)
            r["rebuild_identical"] = {"identical": a == b, "files": len(a),
                                      "differing": sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))[:20]}
            print("rebuild identical to full build:", json.dumps(r["rebuild_identical"]), flush=True)
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.with_name(f".{fresh.name}.lod-state").unlink(missing_ok=True)
            save()
        if "error" not in r["build"]:
            if "sparql" not in skip:
                r["sparql"] = child("sparql", str(site), str(args.sparql_reps))
                print("sparql", json.dumps(r["sparql"]), flush=True)
            if "floor" not in skip:
                r["floor"] = child("floor", str(site))
                print("floor", json.dumps(r["floor"]), flush=True)
            save()
        if "naive" not in skip:
            r["naive"] = naive(n, work, args.naive_full_max, args.naive_slow_max, args.naive_pyld_max)
            print("naive", json.dumps({k: v for k, v in r["naive"].items() if k != "raw_fast"}), flush=True)
            save()
        if "morph" not in skip:
            r["morph"] = morph(data, work)
            r["ours_core"] = child("ours_core", str(data))
            print("morph", json.dumps(r["morph"]), json.dumps(r["ours_core"]), flush=True)
            save()
        if "server" not in skip and "error" not in r["build"]:
            r["server"] = server(site, work, args.server_seconds)
            print("server", json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "raw"} if isinstance(v, dict) else v
                                        for k, v in r["server"].items()}), flush=True)
            save()
    save()
    print(f"results: {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
