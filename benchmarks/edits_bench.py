"""The rebuild after each kind of edit of tests/edits.py, not only a title change (issue 14, Targets).

    .venv/bin/python benchmarks/edits_bench.py --talks 10000 [--work /tmp/edits-bench] [--seed 1] [--only a,b]
                                               [--documents served]

Writes a synthetic archive (``lod synth``), builds it once, then for every edit kind in
``tests.edits.EDITS`` (in name order) applies one edit and rebuilds; each build runs in its own
process (``run.py``'s ``build`` step), so its wall time, peak memory of the process tree (PSS)
and stage timings are its own. After the last edit a full build of the same data is made in
another folder and every file compared: the chain of rebuilds must be byte-identical to it.

Results go to benchmarks/results/edits-<time>.json; the table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from run import child, synth, tree  # noqa: E402  (benchmarks/run.py: one process per build)
from tests.edits import EDITS, Skip, apply_edit  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--talks", type=int, default=10000)
    ap.add_argument("--work", default="/tmp/edits-bench")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default="", help="these edit kinds only, comma-separated (in name order)")
    ap.add_argument("--documents", choices=("files", "served"), default="files",
                    help="the site setting documents, as run.py's option (served: no per-resource RDF files)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"edited-{args.talks}"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(synth(args.talks, work), data)
    site_yaml = data / "site.yaml"  # the synthetic data has no site block: one for served documents
    if args.documents == "served":
        site_yaml.write_text("site:\n  documents: served\n", encoding="utf-8")
        os.utime(site_yaml, (time.time() - 3600, time.time() - 3600))  # not "racy" for the first rebuild
    else:
        site_yaml.unlink(missing_ok=True)
    site, full = work / "site", work / "full"
    for folder in (site, full):
        shutil.rmtree(folder, ignore_errors=True)
    first = child("build", str(data), str(site))
    print(f"first build: {first.get('total', first.get('error'))} s", flush=True)
    rng = random.Random(args.seed)
    rows: list[dict[str, Any]] = []
    only = set(filter(None, args.only.split(",")))
    for name in sorted(EDITS):
        if only and name not in only:
            continue
        try:
            what = apply_edit(EDITS[name], data, rng)
        except Skip:
            rows.append({"edit": name, "skipped": True})
            continue
        r = child("build", str(data), str(site))
        row = {"edit": name, "what": what, "wall": r.get("total"), "incremental": r.get("incremental"),
               "pss_mb": r.get("tree_peak_pss_mb"), "timings": r.get("timings"), "error": r.get("error")}
        rows.append(row)
        print(f"{name:28} {row['wall'] or 0:7.2f} s  {row['pss_mb'] or 0:7.0f} MB  incremental={row['incremental']}"
              f"  {what[:70]}", flush=True)
    r = child("build", str(data), str(full))
    same = tree(site) == tree(full)
    print(f"full build of the edited data: {r.get('total')} s; rebuilt site byte-identical: {same}", flush=True)
    out = HERE / "results" / f"edits-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"talks": args.talks, "seed": args.seed, "documents": args.documents, "first": first,
                               "rows": rows,
                               "full": r, "identical": same}, indent=1))
    print(f"results: {out}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
