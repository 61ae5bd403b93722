"""The build state's cost at one size: what a full build spends saving it and how big it is,
and the wall time of a rebuild after one talk's title is edited (BENCHMARKS.md, "The build
state in SQLite").

    python benchmarks/state_bench.py --talks 10000 --work /tmp/state-bench [--runs 3]

Each full build starts from no site and no state; each rebuild edits the same talk's title
again (a different title every run), so every run publishes a change.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

BASE = "http://localhost:8000/"


def state_size(site: Path) -> int:
    """Bytes of the state beside *site*: its file and any SQLite side files."""
    return sum(p.stat().st_size for p in site.parent.glob(f".{site.name}.lod-state*") if p.is_file())


def _instrument() -> dict[str, float]:
    """Time the state's reading and writing, in the code before the SQLite state (a pickle) and after."""
    import lod.publishing.journal
    import lod.publishing.output

    spent: dict[str, float] = {}

    def timed(owner: object, name: str, label: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            return

        def wrapper(*a: object, **k: object) -> object:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0
        setattr(owner, name, wrapper)

    timed(lod.publishing.output, "write_new", "write")  # the full build's
    timed(lod.publishing.journal.Transaction, "put_extra", "write")  # … and its staging (after: the delta's)
    try:
        import lod.publishing.state
    except ImportError:
        return spent
    timed(lod.publishing.state.Store, "open", "read")
    timed(lod.publishing.state.Store, "settle", "read")
    timed(lod.publishing.state.Store, "load", "read")
    timed(lod.publishing.state.Store, "changes", "write")
    timed(lod.publishing.state.Store, "apply", "write")
    return spent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--talks", type=int, default=10000)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fulls", type=int, default=None, help="full builds (default: --runs)")
    ap.add_argument("--rebuilds-only", action="store_true", help="reuse the site the last run left")
    args = ap.parse_args()
    from lod.publishing.build import build
    from lod.synth import write_synth

    spent = _instrument()

    args.work.mkdir(parents=True, exist_ok=True)
    data = args.work / f"data-{args.talks}"
    if not (data / "people.yaml").exists():
        shutil.rmtree(data, ignore_errors=True)
        write_synth(args.talks, data)
    site = args.work / "site"
    fulls = []
    for _ in range(0 if args.rebuilds_only else args.runs if args.fulls is None else args.fulls):
        spent.clear()
        shutil.rmtree(site, ignore_errors=True)
        for p in site.parent.glob(f".{site.name}.lod-state*"):
            p.unlink()
        t0 = time.perf_counter()
        result = build(data, site, BASE, incremental=False)
        fulls.append({"total": round(time.perf_counter() - t0, 2), "state": round(result.timings["state"], 2),
                      "state_write": round(spent.get("write", 0.0), 2), "state_bytes": state_size(site)})
        print("full", json.dumps(fulls[-1]), flush=True)
    time.sleep(1)  # past the racy window: the rebuild trusts every file's stamp
    series = sorted((data / "series").glob("*.yaml"))
    f = series[len(series) // 2]
    text = f.read_text(encoding="utf-8")
    rebuilds = []
    try:
        for run in range(args.runs):
            f.write_text(text.replace("title: On ", f"title: Revised {run} On ", 1), encoding="utf-8")
            spent.clear()
            t0 = time.perf_counter()
            result = build(data, site, BASE)
            rebuilds.append({"total": round(time.perf_counter() - t0, 2), "incremental": result.incremental,
                             "state_bytes": state_size(site),
                             "state_io": {k: round(v, 2) for k, v in spent.items()},
                             "timings": {k: round(v, 2) for k, v in result.timings.items()}})
            print("rebuild", json.dumps(rebuilds[-1]), flush=True)
    finally:
        f.write_text(text, encoding="utf-8")
    print(json.dumps({"load": os.getloadavg(), "full": fulls, "rebuild": rebuilds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
