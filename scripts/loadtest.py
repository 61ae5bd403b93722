#!/usr/bin/env python3
"""Bounded load test of ``lod serve`` on loopback.

Starts the real server (uvicorn, through ``python -m lod serve``) on a free 127.0.0.1
port, warms it up, then runs CLIENTS concurrent clients for DURATION seconds, each
looping over a mix of requests: pages (50%), resource IRIs negotiated by Accept (30%,
answered 303) and small SPARQL queries (20%). It stops by itself, stops the server, and
prints a JSON report: requests, throughput, p50/p99 latency, statuses, 5xx, client errors,
and the resident memory of the server and its query workers before and after.

Exit status 1 when any request got a 5xx or failed, or memory grew by more than
--max-growth-mb; 0 otherwise.

    python scripts/loadtest.py                      # seed data, 50 clients, 60 s
    python scripts/loadtest.py --site site --clients 10 --duration 5
    python scripts/loadtest.py --sparql-only --max-concurrent 8 --duration 10   # overload: 429s, no 5xx
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ACCEPTS = ["text/turtle", "application/ld+json", "application/n-triples", "text/html",
           "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/turtle;q=0.5, */*;q=0.1"]
QUERIES = [
    "PREFIX schema: <http://schema.org/> SELECT ?t ?n WHERE { ?t a schema:Event ; schema:name ?n } LIMIT 20",
    "PREFIX schema: <http://schema.org/> SELECT (COUNT(*) AS ?n) WHERE { ?s a schema:Person }",
    "PREFIX schema: <http://schema.org/> SELECT ?p ?n WHERE { ?p schema:name ?n FILTER(CONTAINS(?n, 'a')) } LIMIT 50",
    "ASK { ?s ?p ?o }",
    "PREFIX schema: <http://schema.org/> CONSTRUCT { ?s schema:name ?n } WHERE { ?s schema:name ?n } LIMIT 30",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the query workers), in MB."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


def paths_of(site: Path) -> tuple[list[str], list[str]]:
    """Page paths and resource IRI paths present in the site."""
    pages = sorted("/" + str(p.relative_to(site)) for p in site.rglob("*.html"))
    resources = sorted(p[: -len(".html")] for p in pages if p.count("/") == 2)
    return pages, resources


async def client(http: httpx.AsyncClient, deadline: float, pages: list[str], resources: list[str],
                 latencies: list[float], statuses: dict[int, int], errors: list[str], rng: random.Random,
                 by_kind: dict[str, list[float]], sparql_only: bool = False) -> None:
    while time.monotonic() < deadline:
        roll = rng.random()
        if sparql_only:
            roll = 1.0
        if roll < 0.5:
            kind, req = "page", http.build_request("GET", rng.choice(pages))
        elif roll < 0.8:
            kind, req = "negotiated", http.build_request("GET", rng.choice(resources),
                                                         headers={"Accept": rng.choice(ACCEPTS)})
        else:
            kind, req = "sparql", http.build_request("GET", "/sparql", params={"query": rng.choice(QUERIES)})
        t = time.monotonic()
        try:
            r = await http.send(req)
            await r.aread()
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.monotonic() - t)
        by_kind.setdefault(kind, []).append(latencies[-1])
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1


async def load(url: str, clients: int, seconds: float, pages: list[str], resources: list[str],
               seed: int, sparql_only: bool = False) -> dict[str, object]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    by_kind: dict[str, list[float]] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, follow_redirects=False) as http:
        start = time.monotonic()
        deadline = start + seconds
        await asyncio.gather(*(client(http, deadline, pages, resources, latencies, statuses, errors,
                                      random.Random(seed + i), by_kind, sparql_only) for i in range(clients)))
        elapsed = time.monotonic() - start
    latencies.sort()

    def pct(p: float, values: list[float] = latencies) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1) if values else 0.0

    kinds = {k: {"requests": len(v), "p50_ms": pct(0.5, sorted(v)), "p99_ms": pct(0.99, sorted(v))}
             for k, v in sorted(by_kind.items())}

    return {"client": "python", "requests": len(latencies), "seconds": round(elapsed, 1),
            "throughput_rps": round(len(latencies) / elapsed, 1),
            "accepted_rps": round(sum(v for k, v in statuses.items() if k < 400) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0.0,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "5xx": sum(v for k, v in statuses.items() if k >= 500), "errors": len(errors),
            "error_samples": errors[:5], "by_kind": kinds}


WRK_LUA = """
local reqs = {%s}
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  s2, s3, s4, s5, n = 0, 0, 0, 0, id * 7919
end
function request()
  n = n + 1
  local r = reqs[(n %% #reqs) + 1]
  if r[2] ~= "" then return wrk.format("GET", r[1], {["Accept"] = r[2]}) end
  return wrk.format("GET", r[1])
end
function response(status, headers, body)
  if status >= 500 and sample == nil then sample = string.sub(body, 1, 300) end
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1
  elseif status >= 300 then s3 = s3 + 1 else s2 = s2 + 1 end
end
function done(summary, latency, requests)
  local t = {0, 0, 0, 0}
  for _, th in ipairs(threads) do
    t[1] = t[1] + th:get("s2"); t[2] = t[2] + th:get("s3"); t[3] = t[3] + th:get("s4"); t[4] = t[4] + th:get("s5")
  end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d, '
    .. '"2xx": %%d, "3xx": %%d, "4xx": %%d, "5xx": %%d, "connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    t[1], t[2], t[3], t[4], e.connect, e.read, e.write, e.timeout))
  for _, th in ipairs(threads) do
    local body = th:get("sample")
    if body then io.write("WRK5XX " .. body:gsub("\\n", " ") .. "\\n") end
  end
end
"""


def mix(pages: list[str], resources: list[str], seed: int, n: int = 2000,
        sparql_only: bool = False) -> list[tuple[str, str]]:
    """The request mix as (target, Accept) pairs: 50% pages, 30% negotiated resources, 20% SPARQL
    (or SPARQL only, to load the endpoint past its admission limit)."""
    from urllib.parse import quote

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        roll = 1.0 if sparql_only else rng.random()
        if roll < 0.5:
            out.append((rng.choice(pages), ""))
        elif roll < 0.8:
            out.append((rng.choice(resources), rng.choice(ACCEPTS)))
        else:
            out.append(("/sparql?query=" + quote(rng.choice(QUERIES), safe=""), ""))
    return out


def load_wrk(url: str, clients: int, seconds: float, pages: list[str], resources: list[str], seed: int,
             tmp: Path, sparql_only: bool = False) -> dict[str, object]:
    reqs = ", ".join("{%s, %s}" % (json.dumps(t), json.dumps(a))
                     for t, a in mix(pages, resources, seed, sparql_only=sparql_only))
    script = tmp / "mix.lua"
    script.write_text(WRK_LUA % reqs)
    done = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
                           "-s", str(script), url + "/"], capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {done.stdout}{done.stderr}")
    w = json.loads(line.removeprefix("WRKJSON "))
    elapsed = w["duration_us"] / 1e6
    errors = w["connect"] + w["read"] + w["write"] + w["timeout"]
    return {"client": "wrk", "requests": w["requests"], "seconds": round(elapsed, 1),
            "throughput_rps": round(w["requests"] / elapsed, 1),
            "accepted_rps": round((w["2xx"] + w["3xx"]) / elapsed, 1), "p50_ms": round(w["p50_us"] / 1000, 1),
            "p99_ms": round(w["p99_us"] / 1000, 1), "max_ms": round(w["max_us"] / 1000, 1),
            "statuses": {k: w[k] for k in ("2xx", "3xx", "4xx", "5xx")}, "5xx": w["5xx"], "errors": errors,
            "error_samples": [f"{k}: {w[k]}" for k in ("connect", "read", "write", "timeout") if w[k]]
            + [ln.removeprefix("WRK5XX ") for ln in done.stdout.splitlines() if ln.startswith("WRK5XX ")]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", type=Path, help="a built site (default: build the seed data into a temporary folder)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of measured load (default 60)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of load before memory is first measured")
    ap.add_argument("--max-growth-mb", type=float, default=50.0)
    ap.add_argument("--max-concurrent", type=int, default=0,
                    help="queries the endpoint admits at once (default: --clients, so that the figures measure "
                         "service rather than the admission limit, whose 429s test_sparql_safety checks)")
    ap.add_argument("--sparql-only", action="store_true",
                    help="every request a small SPARQL query: the endpoint under overload (with --max-concurrent 8, "
                         "the server's default, the rest get 429 + Retry-After)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--report", type=Path, help="also write the JSON report here")
    ap.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                    help="wrk (Debian package; C, so the client does not starve the server of CPU) or the "
                         "asyncio/httpx client here (default: wrk when installed)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lod-load-") as tmp:
        site = args.site
        if site is None:
            sys.path.insert(0, str(REPO))
            from lod.publishing.build import build
            site = build(REPO / "data", Path(tmp) / "site", "http://localhost:8000/").out
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "serve.log", "wb")
        # Access logs off: at thousands of requests a second, writing them is most of the server's work.
        server = subprocess.Popen([sys.executable, "-c", "import sys, uvicorn; from lod.serving.server import create_app; "
                                   "from lod.querying.workers import Limits; "
                                   "app = create_app(sys.argv[1], limits=Limits(max_concurrent=int(sys.argv[3]))); "
                                   "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), "
                                   "server_header=False, access_log=False, log_level='warning')",
                                   str(site), str(port), str(args.max_concurrent or args.clients)],
                                  cwd=REPO, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"the server exited with {server.returncode}")
                try:
                    if httpx.get(url + "/sparql", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start within 60 s")
                time.sleep(0.1)
            pages, resources = paths_of(Path(site))
            use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)

            def run(seconds: float, seed: int) -> dict[str, object]:
                if use_wrk:
                    return load_wrk(url, args.clients, seconds, pages, resources, seed, Path(tmp), args.sparql_only)
                return asyncio.run(load(url, args.clients, seconds, pages, resources, seed, args.sparql_only))

            warm = run(args.warmup, args.seed)
            time.sleep(2)  # queries the warm-up's clients abandoned at its end drain from the queue
            before = tree_rss_mb(server.pid)
            report = run(args.duration, args.seed + 1000)
            time.sleep(0.5)
            after = tree_rss_mb(server.pid)
            report.update({"clients": args.clients, "max_concurrent_queries": args.max_concurrent or args.clients,
                           "mix": "sparql" if args.sparql_only else "site", "warmup_requests": warm["requests"],
                           "warmup_5xx": warm["5xx"], "rss_before_mb": round(before, 1),
                           "rss_after_mb": round(after, 1), "rss_growth_mb": round(after - before, 1),
                           "server_alive": server.poll() is None})
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
            if report.get("5xx") or report.get("errors") or report.get("warmup_5xx"):
                report["server_log_tail"] = (Path(tmp) / "serve.log").read_text(errors="replace")[-3000:]
    text = json.dumps(report, indent=2)
    print(text)
    if args.report:
        args.report.write_text(text + "\n")
    ok = (report["5xx"] == 0 and report["errors"] == 0 and report["warmup_5xx"] == 0 and report["server_alive"]
          and float(report["rss_growth_mb"]) <= args.max_growth_mb)  # type: ignore[arg-type]
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
