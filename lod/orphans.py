"""A forked worker ends with the process that forked it, instead of going on as an orphan.

A build's workers (the page workers, ``lod.publishing.pages.parallel``; the describing stage's
child, ``lod.publishing.forked``) notice that their parent is gone only when they next write
to it, which can be minutes away at archive scale. When the out-of-memory killer ended a 1M
talk build, its page worker went on for minutes, reparented to init, holding 15.9 GB that a
build run again at once would need (BENCHMARKS.md, "Sorted runs"). On Linux the kernel can send
the worker a signal when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def end_with_parent(parent: int) -> None:
    """In a worker forked by *parent* (its pid, taken before the fork): be killed when the
    parent dies, and end now if it is gone already (it died before this was set)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no libc to ask: the worker ends at its next write, as before
        return
    if os.getppid() != parent:
        os._exit(1)
