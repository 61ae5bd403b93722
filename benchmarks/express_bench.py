"""Latency of small queries while runaway queries hold the endpoint's workers (issue 13.6).

    python benchmarks/express_bench.py [--site SITE] [--runaways 2] [--small 40] [--timeout 10]

Starts ``lod serve`` twice on the site (default: the seed data, built into a temporary
folder): with the express worker (the default, ``--express 0.5``) and without it
(``--express 0``, the behaviour before). Each time it starts RUNAWAYS queries that run
until the timeout, waits until they run, then sends SMALL small ASK queries one after
another and reports their latencies (p50, p90, max) and statuses, as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SMALL = "ASK { ?s a <http://schema.org/Person> }"


def measure(site: Path, express: str, runaways: int, small: int, timeout: str) -> dict[str, object]:
    from tests.test_server import running_server

    with running_server(site, "--timeout", timeout, "--express", express) as url:
        threads = [threading.Thread(target=httpx.get, args=(url + "/sparql",),
                                    kwargs={"params": {"query": RUNAWAY}, "timeout": 60}) for _ in range(runaways)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        latencies, statuses = [], []
        with httpx.Client(base_url=url, timeout=60) as c:
            for _ in range(small):
                t0 = time.monotonic()
                r = c.get("/sparql", params={"query": SMALL})
                latencies.append(time.monotonic() - t0)
                statuses.append(r.status_code)
        for t in threads:
            t.join()
    ms = sorted(round(x * 1000, 1) for x in latencies)
    return {"express": float(express), "runaways": runaways, "small_queries": small,
            "p50_ms": ms[len(ms) // 2], "p90_ms": ms[int(len(ms) * 0.9)], "max_ms": ms[-1],
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", type=Path)
    ap.add_argument("--runaways", type=int, default=2)
    ap.add_argument("--small", type=int, default=40)
    ap.add_argument("--timeout", default="10")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = args.site
        if site is None:
            from lod.publishing.build import build
            site = build(REPO / "data", Path(tmp) / "site", "http://localhost:8000/").out
        for express in ("0.5", "0"):
            print(json.dumps(measure(site, express, args.runaways, args.small, args.timeout)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
