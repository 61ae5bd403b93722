"""Time the resources' calendars written as files against the calendar pack (lod.publishing.calendar_pack).

    python benchmarks/calendar_pack_bench.py SITE [--repeat 5] [--changed 5] [--scale 1] [--dir DIR]

SITE is a site built with ``documents: served`` (``benchmarks/run.py --documents served``
leaves one in benchmarks/results/work/site-N); its pack gives the calendars, the very bytes
a full build makes. For each of --repeat rounds, in turn (the machine is shared: the rounds
interleave so that load falls on both alike):

* files: every calendar written as its own file, folders made first, as the pages stage's
  ``SiteWriter`` does (``os.open``/``os.write``/``os.close``);
* pack: every calendar handed to ``Parts.write`` and the pack written by ``Parts.finish``,
  as a ``served`` full build does (in one process here; the build's workers each write a part);
* splice: a rebuild's ``update`` with --changed calendars made again (a title edit changes
  about five: the talk's, its speaker's, its series', its event's), the shards holding them rewritten;
* lookup: one calendar read through ``Calendars.calendar`` against one read as a file.

With --scale K each calendar is taken K times under K names (``talk/x-2.ics`` …): the pack
and the splice of an archive K times larger, without building it. Prints the best and the
median of each, and the counts and sizes. DIR (default: beside
SITE, on the same disk) holds the scratch folders, removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lod.publishing.calendar_pack import Calendars, Parts, _mapped, _table, shard_files, update  # noqa: E402


def calendars_of(site: Path) -> dict[str, bytes]:
    """Every packed calendar of *site*, by path."""
    out: dict[str, bytes] = {}
    for shard in shard_files(site):
        fd = os.open(site / shard, os.O_RDONLY)
        try:
            with _mapped(fd, site / shard) as mm:
                t = _table(mm, site / shard)
                out.update((name.decode(), mm[t.data + t.offsets[i]:t.data + t.offsets[i + 1]])
                           for i, name in enumerate(t.names))
        finally:
            os.close(fd)
    return out


def write_files(root: Path, calendars: dict[str, bytes]) -> float:
    t0 = time.perf_counter()
    for folder in sorted({name.rpartition("/")[0] for name in calendars}):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name, data in calendars.items():
        fd = os.open(os.path.join(root, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return time.perf_counter() - t0


def write_pack(root: Path, calendars: dict[str, bytes]) -> float:
    t0 = time.perf_counter()
    parts = Parts(root)
    for name, data in calendars.items():
        parts.write(name, data)
    parts.finish()
    return time.perf_counter() - t0


def splice(site: Path, scratch: Path, calendars: dict[str, bytes], changed: int, rng: random.Random) -> float:
    names = rng.sample(sorted(calendars), changed)
    made = {name: calendars[name] + b"X-EDITED:1\r\n" for name in names}
    t0 = time.perf_counter()
    got = update(site, scratch, made, names)
    seconds = time.perf_counter() - t0
    assert got.shards
    for shard in got.shards.values():
        shard.unlink()
    return seconds


def lookups(site: Path, files: Path, names: list[str]) -> tuple[float, float]:
    reader = Calendars(site)
    reader.calendar(names[0])  # opened once, as a running server has it
    t0 = time.perf_counter()
    for name in names:
        reader.calendar(name)
    packed = (time.perf_counter() - t0) / len(names)
    t0 = time.perf_counter()
    for name in names:
        with open(files / name, "rb") as f:
            f.read()
    return packed, (time.perf_counter() - t0) / len(names)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--changed", type=int, default=5)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    calendars = calendars_of(args.site)
    work = args.dir or args.site.with_name(args.site.name + "-calbench")
    shutil.rmtree(work, ignore_errors=True)
    site = args.site
    if args.scale > 1:  # a pack of the calendars K times over, as a site of its own
        calendars = {(name if k == 1 else name.replace(".ics", f"-{k}.ics")): data
                     for name, data in calendars.items() for k in range(1, args.scale + 1)}
        site = work / "site"
        site.mkdir(parents=True)
        write_pack(site, calendars)
    rng = random.Random(1)
    times: dict[str, list[float]] = {"files": [], "pack": [], "splice": [], "lookup_pack": [], "lookup_file": []}
    try:
        for n in range(args.repeat):
            for what in ("files", "pack") if n % 2 == 0 else ("pack", "files"):
                root = work / f"{what}-{n}"
                root.mkdir(parents=True)
                times[what].append((write_files if what == "files" else write_pack)(root, calendars))
            scratch = work / f"scratch-{n}"
            scratch.mkdir()
            times["splice"].append(splice(site, scratch, calendars, args.changed, rng))
            sample = rng.sample(sorted(calendars), min(2000, len(calendars)))
            packed, file = lookups(site, work / f"files-{n}", sample)
            times["lookup_pack"].append(packed)
            times["lookup_file"].append(file)
            for what in ("files", "pack"):
                shutil.rmtree(work / f"{what}-{n}")
        pack_size = sum((site / shard).stat().st_size for shard in shard_files(site))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = sum(len(data) for data in calendars.values())
    print(f"{len(calendars)} calendars, {size / 1e6:.1f} MB; pack {pack_size / 1e6:.1f} MB; "
          f"load average {os.getloadavg()[0]:.1f}")
    for what, values in times.items():
        scale, unit = (1e6, "µs") if what.startswith("lookup") else (1.0, "s")
        print(f"{what:12} best {min(values) * scale:9.3f} {unit}   median {statistics.median(values) * scale:9.3f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
