"""Markdown tables from results of benchmarks/run.py: ``python benchmarks/report.py [RESULTS.json ...]``.

Without an argument, the newest benchmarks/results/run-*.json. With several, the
measurements of later files replace those of earlier ones, step by step (a run with
``--skip naive,server`` after a code change updates the build figures only), and the
commands of every file are listed. BENCHMARKS.md quotes these tables; the comments
around them there are written by hand.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STAGES = ["load", "map", "validate", "dumps", "resources", "pages", "feeds", "sitemap"]


def fmt(x: Any, digits: int = 2) -> str:
    """A number for a table cell; '—' when missing."""
    if x is None:
        return "—"
    if isinstance(x, (int, float)):
        return f"{x:.{digits}f}" if isinstance(x, float) else str(x)
    return str(x)


def build_table(sizes: dict[str, Any]) -> list[str]:
    ns = list(sizes)
    out = ["| | " + " | ".join(f"{int(n):,} talks" for n in ns) + " |", "|---" * (len(ns) + 1) + "|"]

    def row(label: str, get: Any) -> None:
        cells = []
        for n in ns:
            try:
                cells.append(get(sizes[n]))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("—")
        out.append(f"| {label} | " + " | ".join(cells) + " |")

    row("triples", lambda r: f"{r['build']['triples']:,}")
    row("files written", lambda r: f"{r['build']['files']:,}")
    for st in STAGES:
        label = f"{st} (s)" if st not in ("feeds", "sitemap") else f"… of which {st} (s)"
        row(label, lambda r, st=st: fmt(r["build"]["timings"][st]))
    row("**full build, wall (s)**", lambda r: fmt(r["build"]["total"]))
    row("… floor: the same files (names, sizes) written with plain Python (s)",
        lambda r: fmt(r["files_floor"]["total"]))
    row("… floor per file (µs); of it, the per-resource documents (s)",
        lambda r: f"{r['files_floor']['per_file_us']:.0f}; {r['files_floor']['per_resource_documents_s']:.2f}"
                  f" ({r['files_floor']['per_resource_documents']:,} files)")
    row("CPU (s): main process + worker processes",
        lambda r: f"{r['build']['cpu']:.1f} + {r['build']['cpu_children']:.1f}")
    row("**peak memory (MB), all processes (PSS)**", lambda r: f"{r['build']['tree_peak_pss_mb']:.0f}")
    row("peak RSS (MB): main / largest worker",
        lambda r: f"{r['build']['peak_mb']:.0f} / {r['build']['children_peak_mb']:.0f}")
    row("full build: saving the state for the next build (s)", lambda r: fmt(r["build"]["timings"]["state"]))
    row("**rebuild after one edit, wall (s)**", lambda r: fmt(r["rebuild"]["total"]) +
        ("" if r["rebuild"].get("incremental", True) else " (full)"))
    for st, label in (("load", "load: parse the changed file, resolve what it touches"),
                      ("map", "map: what changed and the resources it touches"),
                      ("validate", "validate: those resources"), ("dumps", "dumps: splice them in"),
                      ("pages", "pages: dirty pages, index, sitemap, talks.ics"),
                      ("gallery", "gallery: answer the example queries again"),
                      ("publish", "publish: commit the journal")):
        row(f"… {label} (s)", lambda r, st=st: fmt(r["rebuild"]["timings"][st]))
    row("rebuild: peak memory (MB, PSS)", lambda r: f"{r['rebuild']['tree_peak_pss_mb']:.0f}")
    row("rebuild byte-identical to a full build", lambda r: "yes" if r["rebuild_identical"]["identical"] else
        f"**no**: {r['rebuild_identical']['differing'][:3]}")
    return out


def floor_table(sizes: dict[str, Any]) -> list[str]:
    ns = list(sizes)
    out = ["| dump writing (s) | " + " | ".join(f"{int(n):,}" for n in ns) + " |", "|---" * (len(ns) + 1) + "|"]
    for key, label in (("fstring_nt", "f-string N-Triples (floor)"), ("ox_nt", "pyoxigraph N-Triples"),
                       ("ox_ttl", "pyoxigraph Turtle"), ("ox_jsonld", "pyoxigraph JSON-LD (expanded)")):
        out.append(f"| {label} | " + " | ".join(fmt(sizes[n].get("floor", {}).get(key), 3) for n in ns) + " |")
    out.append("| ours: dump.nt + dump.ttl + dump.jsonld, sorted | " +
               " | ".join(fmt(sizes[n]["build"]["timings"]["dumps"], 3) for n in ns) + " |")
    out.append("| ratio ours / pyoxigraph (3 formats) | " + " | ".join(
        fmt(sizes[n]["build"]["timings"]["dumps"] / sum(sizes[n]["floor"][k] for k in ("ox_nt", "ox_ttl", "ox_jsonld")), 1)
        if "floor" in sizes[n] else "—" for n in ns) + " |")
    return out


def sparql_table(sizes: dict[str, Any]) -> list[str]:
    ns = list(sizes)
    names = list(next(iter(sizes.values()))["sparql"]["queries"])
    out = ["| query (ms, p50 / p95) | " + " | ".join(f"{int(n):,}" for n in ns) + " |", "|---" * (len(ns) + 1) + "|"]
    for q in names:
        cells = []
        for n in ns:
            d = sizes[n].get("sparql", {}).get("queries", {}).get(q)
            cells.append(f"{d['p50'] * 1000:.1f} / {d['p95'] * 1000:.1f} ({d['rows']} rows)" if d else "—")
        out.append(f"| {q} | " + " | ".join(cells) + " |")
    return out


def naive_table(sizes: dict[str, Any]) -> list[str]:
    ns = [n for n in sizes if "naive" in sizes[n]]
    if not ns:
        return ["(not measured in these runs)"]
    out = ["| step (s) | " + " | ".join(f"{int(n):,}: naive | ours | ratio" for n in ns) + " |",
           "|---" * (3 * len(ns) + 1) + "|"]
    totals: dict[str, list[float]] = {n: [0.0, 0.0] for n in ns}

    def mark(r: dict[str, Any], step: str) -> str:
        ex = r["naive"].get("extrapolated", {}).get(step)
        return f" (extrapolated from {', '.join(str(k) for k in ex['from'])} talks, n^{ex['exponent']})" if ex else ""

    steps = [("map", "store: rdflib Graph.add", lambda r: r["build"]["timings"]["map"]),
             ("validate", "SHACL: whole-graph pyshacl", lambda r: r["build"]["timings"]["validate"]),
             ("ttl", "Turtle: rdflib serializer", None), ("nt", "N-Triples: rdflib serializer", None),
             ("jsonld", "JSON-LD: pyld from_rdf + compact", None)]
    for step, label, ours_get in steps:
        cells = []
        for n in ns:
            r = sizes[n]
            naive = r["naive"].get(step)
            ours = ours_get(r) if ours_get else None
            if naive is not None:
                totals[n][0] += naive
            if ours is not None:
                totals[n][1] += ours
            ratio = f"{naive / ours:.0f}×" if naive is not None and ours else ""
            cells.append(f"{fmt(naive, 1)}{mark(r, step)} | {fmt(ours)} | {ratio}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for n in ns:
        r = sizes[n]
        dumps = r["build"]["timings"]["dumps"]
        totals[n][1] += dumps
        cells.append(f"(the 3 above) | {fmt(dumps)} | ")
    out.append("| ours: all three dumps | " + " | ".join(cells) + " |")
    cells = []
    for n in ns:
        r = sizes[n]
        q = r["naive"].get("sparql", {})
        ours_q = {k: v["p50"] for k, v in r["sparql"]["queries"].items()}
        naive_sum = sum(q.values())
        ours_sum = sum(ours_q[k] for k in q if k in ours_q)
        at = r["naive"].get("sparql_measured_at")
        totals[n][0] += naive_sum * (int(n) / at if at and at != int(n) else 1)
        totals[n][1] += ours_sum
        note = f" (at {at:,} talks)" if at and at != int(n) else ""
        cells.append(f"{naive_sum:.2f}{note} | {ours_sum:.3f} | {naive_sum / ours_sum:.0f}×")
    out.append(f"| SPARQL: the {len(q)} queries once, rdflib vs pyoxigraph p50 | " + " | ".join(cells) + " |")
    out.append("| **total of these steps** | " + " | ".join(
        f"**{totals[n][0]:.0f}** | **{totals[n][1]:.1f}** | **{totals[n][0] / totals[n][1]:.0f}×**" for n in ns) + " |")
    return out


def server_table(sizes: dict[str, Any]) -> list[str]:
    ns = [n for n in sizes if "server" in sizes[n] and "error" not in sizes[n]["server"]]
    out = ["| wrk, 2 threads | " + " | ".join(f"{int(n):,}: req/s | errors | p50 / p99" for n in ns) + " |",
           "|---" * (3 * len(ns) + 1) + "|"]
    for key, label in (("pages", "HTML pages, 50 connections"), ("conneg", "resource IRI, Accept: text/turtle → 303, 50 c."),
                       ("conneg_doc", "P.ttl with Accept, 50 c."), ("sparql_c8", "small SPARQL query, 8 connections"),
                       ("sparql_c50", "small SPARQL query, 50 connections")):
        cells = []
        for n in ns:
            d = sizes[n]["server"].get(key)
            if d and d.get("raw"):  # percentiles re-read from wrk's own output
                for q in ("50", "99"):
                    m = re.search(rf"^\s+{q}%\s+(\S+)", d["raw"], re.M)
                    d["p" + q] = m.group(1) if m else None
            cells.append(f"{d['rps']:.0f} | {d['errors']} | {d['p50']} / {d['p99']}" if d else "— | — | —")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def morph_table(sizes: dict[str, Any]) -> list[str]:
    ns = [n for n in sizes if "morph" in sizes[n]]
    out = ["| mapping | " + " | ".join(f"{int(n):,}" for n in ns) + " |", "|---" * (len(ns) + 1) + "|"]
    out.append("| morph-kgc, RML, 2 processes: seconds (triples) | " + " | ".join(
        f"{sizes[n]['morph'].get('seconds', 0):.2f} ({sizes[n]['morph'].get('triples', 0):,})"
        if "error" not in sizes[n]["morph"] else "failed" for n in ns) + " |")
    out.append("| ours, load + map (every field): seconds (triples) | " + " | ".join(
        f"{sizes[n]['ours_core']['load'] + sizes[n]['ours_core']['map']:.2f} ({sizes[n]['ours_core']['triples']:,})"
        for n in ns) + " |")
    return out


def main() -> int:
    paths = [Path(a) for a in sys.argv[1:]] or [sorted((HERE / "results").glob("run-*.json"))[-1]]
    sizes: dict[str, dict[str, Any]] = {}
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for n, steps in doc["sizes"].items():
            for step, value in steps.items():
                if isinstance(value, dict) and "skipped" in value:
                    continue
                sizes.setdefault(n, {})[step] = value
        print(f"- {path.name}: `{doc['command']}`; machine: {doc['machine']}")
    sizes = dict(sorted(sizes.items(), key=lambda kv: int(kv[0])))  # columns by size, whatever the file order
    print()
    for title, fn in (("Build", build_table), ("Dumps against the floor", floor_table), ("SPARQL", sparql_table),
                      ("Naive pipeline", naive_table), ("morph-kgc", morph_table), ("Server", server_table)):
        try:
            lines = fn(sizes)
        except (KeyError, StopIteration, TypeError, ZeroDivisionError) as exc:
            lines = [f"(not available: {type(exc).__name__} {exc})"]
        print(f"### {title}\n")
        print("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
