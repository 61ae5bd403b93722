"""The bounded load test (scripts/loadtest.py): 50 clients for 60 s on loopback mixing pages,
negotiated resources and SPARQL; no 5xx, no failed request, no memory growth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lod.publishing.build import BuildResult

from .conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def test_server_load_50_clients_60_s_no_5xx_and_no_memory_growth(seed_site: BuildResult, tmp_path: Path) -> None:
    seconds = os.environ.get("LOD_LOAD_SECONDS", "60")
    report_file = REPO / "test-artifacts" / "loadtest.json"
    report_file.parent.mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "loadtest.py"), "--site", str(seed_site.out),
                           "--clients", "50", "--duration", seconds, "--report", str(report_file)],
                          capture_output=True, text=True, timeout=float(seconds) + 180, cwd=REPO)
    print(done.stdout)
    report = json.loads(done.stdout)
    assert report["5xx"] == 0 and report["errors"] == 0, report
    assert report["requests"] > 1000
    assert report["rss_growth_mb"] <= 50, report
    assert done.returncode == 0, done.stderr
