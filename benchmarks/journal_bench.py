"""Time an in-place publication (lod.publishing.journal) of 2,000 changed files in a 100,000-file site.

    python benchmarks/journal_bench.py [--files 100000] [--changed 2000] [--dir DIR] [--repeat 3]

The site is made under DIR (default: a temporary folder on the same disk as this
repository, not /tmp, which may be a tmpfs). Of the changed files, 80% replace existing
files, 15% are new files in new folders and 5% are deletions; one state file beside
the site is written in the same transaction. Prints the time to stage, to commit
(journal + apply + cleanup) and their sum, the best of --repeat runs, and the time of
``recover`` on a transaction killed right after its commit point.

It also times the two ways readers could be kept from a half-applied site (issue 13.3):
what ``lod serve`` does, ``lod.publishing.journal.Watch.settle`` before each request (nothing to
roll forward: the cost every request pays), and the alternative not taken, switching the
whole site atomically: a hard-linked copy of the site, the changes applied to the copy,
one ``renameat2(RENAME_EXCHANGE)``, and the old tree removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lod.publishing.journal  # noqa: E402
from lod.publishing.journal import Watch, begin, recover  # noqa: E402
from lod.publishing.output import _exchange  # noqa: E402

KINDS = ["talk", "person", "org", "place", "series", "event", "session"]
PAGE = b"<!doctype html><title>x</title>" + b"x" * 2000


def make_site(out: Path, files: int) -> list[str]:
    rels = []
    for i in range(files):
        kind = KINDS[i % len(KINDS)]
        rels.append(f"{kind}/r{i // 6:06d}.{('html', 'ttl', 'nt', 'jsonld', 'ics', 'x')[i % 6]}")
    for kind in KINDS:
        (out / kind).mkdir(parents=True, exist_ok=True)
    for rel in rels:
        fd = os.open(out / rel, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        os.write(fd, PAGE)
        os.close(fd)
    return rels


class Killed(BaseException):
    pass


def one_run(out: Path, rels: list[str], changed: int, run: int, kill: bool = False) -> tuple[float, float]:
    n_new, n_del = changed * 15 // 100, changed * 5 // 100
    n_rep = changed - n_new - n_del
    step = len(rels) // changed
    picked = rels[::step][:n_rep + n_del]
    t0 = time.perf_counter()
    txn = begin(out)
    body = PAGE + f"run {run}".encode()
    for rel in picked[:n_rep]:
        txn.write(rel, body)
    for i in range(n_new):
        txn.write(f"new{run}/{i % 50}/page{i}.html", body)
    for rel in picked[n_rep:]:
        txn.delete(rel)
    txn.put_extra(out.parent / f".{out.name}.lod-state" / "state.json", body)
    t1 = time.perf_counter()
    if kill:
        def die(label: str) -> None:
            if label == "committed":
                raise Killed
        lod.publishing.journal._step = die
        try:
            txn.commit()
        except Killed:
            pass
        finally:
            lod.publishing.journal._step = lod.publishing.journal._no_step
    else:
        txn.commit()
    t2 = time.perf_counter()
    for rel in picked[n_rep:]:  # put the deleted files back for the next run
        (out / rel).write_bytes(PAGE)
    return t1 - t0, t2 - t1


def hard_link_copy(src: Path, dst: Path) -> None:
    """Copy the tree *src* to *dst* with a hard link per file (``cp -al``)."""
    for folder, dirs, files in os.walk(src):
        target = dst / os.path.relpath(folder, src)
        target.mkdir(exist_ok=True)
        for name in files:
            os.link(os.path.join(folder, name), target / name)


def switch_run(out: Path, rels: list[str], changed: int) -> tuple[float, float, float]:
    """The atomic alternative: (link the copy, apply the changes and exchange, remove the old tree)."""
    copy = out.with_name(out.name + ".next")
    t0 = time.perf_counter()
    hard_link_copy(out, copy)
    t1 = time.perf_counter()
    for rel in rels[::len(rels) // changed][:changed]:
        tmp = copy / (rel + ".tmp")
        tmp.write_bytes(PAGE + b"next")
        os.replace(tmp, copy / rel)  # replaces the link in the copy; the served file is untouched
    if not _exchange(copy, out):
        raise SystemExit("renameat2(RENAME_EXCHANGE) is not supported here")
    t2 = time.perf_counter()
    shutil.rmtree(copy)
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--changed", type=int, default=2_000)
    ap.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="journal-bench-", dir=args.dir))
    try:
        out = root / "site"
        t = time.perf_counter()
        rels = make_site(out, args.files)
        print(f"made a site of {len(rels):,} files in {time.perf_counter() - t:.1f}s under {root}")
        runs = [one_run(out, rels, args.changed, r) for r in range(args.repeat)]
        stage, commit = min(runs, key=lambda r: r[0] + r[1])
        print(f"{args.changed:,} changed files: stage {stage * 1000:.0f} ms, commit (journal + apply + cleanup) "
              f"{commit * 1000:.0f} ms, total {(stage + commit) * 1000:.0f} ms (best of {args.repeat})")
        one_run(out, rels, args.changed, args.repeat, kill=True)
        t = time.perf_counter()
        rolled = recover(out)
        print(f"recover after a kill at the commit point: {(time.perf_counter() - t) * 1000:.0f} ms "
              f"(rolled forward: {rolled})")
        watch = Watch(out)
        watch.settle()
        time.sleep(1.1)  # past Watch.RACY_NS: the parent folder is listed only when it changes
        watch.settle()
        n = 100_000
        t = time.perf_counter()
        for _ in range(n):
            watch.settle()
        print(f"lod serve's check before a request (Watch.settle, nothing to do): "
              f"{(time.perf_counter() - t) / n * 1e6:.1f} µs")
        link, apply, remove = min((switch_run(out, rels, args.changed) for _ in range(args.repeat)), key=sum)
        print(f"atomic switch instead (not taken): hard-link copy {link:.2f} s, apply + exchange {apply:.2f} s, "
              f"remove the old tree {remove:.2f} s (best of {args.repeat})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
