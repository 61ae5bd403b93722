"""One build of DATA into SITE in this process, for comparing code versions on one rebuild.

    PYTHONPATH=CODE .venv/bin/python benchmarks/rebuild_driver.py DATA SITE

Two things differ from ``lod build``:

- the code digest the state records is pinned (``PINNED``), so that a state built by one version
  of the code is rebuilt by another instead of being refused (``other-code``): build once with
  this driver, then edit a data file and run it again with each version (``PYTHONPATH``);
- a rebuild runs in this process, not in a forked child (``pipeline.REBUILD_FORK_BYTES``), so that
  this process's peak resident memory (``VmHWM``, printed at the end) is the rebuild's own; the
  gallery's child forked beside the pages is counted apart (``children``).

The stages' lines are printed as ``lod build`` prints them, then the timings, the wall time and
the peaks. The twenty-sixth round's figures in BENCHMARKS.md ("A rebuild reads the answers it may
have changed, and keeps less") were taken with it. The state a pinned build leaves names no real
code: build again without the driver (a full build) before using the site otherwise.
"""

from __future__ import annotations

import resource
import sys
import time

import lod.publishing.changes as changes
import lod.publishing.pipeline as pipeline
from lod.cli import main

PINNED = "PINNED"


def _vm_hwm_mb() -> float:
    """This process's own peak resident memory in MB (``ru_maxrss`` survives ``execve``; this does not)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(data: str, site: str) -> int:
    """Build *data* into *site* as described above; return the CLI's exit status."""
    changes.code_digest = lambda: PINNED  # type: ignore[assignment]
    pipeline.inc.code_digest = changes.code_digest  # type: ignore[attr-defined]
    pipeline.REBUILD_FORK_BYTES = 1 << 62  # never forked: the rebuild's memory is this process's
    built = pipeline.build

    def timed(*args: object, **kwargs: object) -> object:
        result = built(*args, **kwargs)  # type: ignore[arg-type]
        print("timings", {k: round(v, 2) for k, v in result.timings.items()}, file=sys.stderr)
        return result

    pipeline.build = timed  # type: ignore[assignment]
    import lod.cli as cli
    import lod.publishing.build as publishing_build
    publishing_build.build = timed  # type: ignore[assignment]
    for name in dir(cli):
        if getattr(cli, name) is built:
            setattr(cli, name, timed)
    t0 = time.time()
    status = main(["build", "--data", data, "--out", site])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"wall {time.time() - t0:.2f}s peak {_vm_hwm_mb():.0f} MB children {children:.0f} MB status={status}",
          file=sys.stderr)
    return int(status or 0)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(run(sys.argv[1], sys.argv[2]))
