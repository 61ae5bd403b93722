"""``lod query`` has the endpoint's limits (a time limit, a row cap), and a flag to lift them (issue 13)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lod.cli import main
from lod.publishing.build import BuildResult

pytestmark = pytest.mark.slow  # each limited query starts a query worker process

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LIFT = " (--no-limits lifts the time limit and the row cap)"


def test_query_answer_over_the_row_cap_is_refused_not_cut(seed_site: BuildResult,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--site", str(seed_site.out), "--row-cap", "10", "SELECT * WHERE { ?s ?p ?o }"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("error: the answer has more than 10 rows, the limit of this endpoint; add LIMIT 10 (with ORDER BY "
                   "for a stable page) or narrow the query." + LIFT + "\n")


def test_query_runaway_is_stopped_at_the_time_limit(seed_site: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--site", str(seed_site.out), "--timeout", "0.5", RUNAWAY]) == 1
    assert capsys.readouterr().err == ("error: the query ran for more than 0.5 s and was stopped; add LIMIT or "
                                       "narrow the query." + LIFT + "\n")


def running_children() -> list[str]:
    """The command lines of this process's children still running (not zombies), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return found


def test_query_stopped_at_the_time_limit_leaves_no_worker_running(seed_site: BuildResult) -> None:
    # The runaway's worker was left running after `lod query` returned: a core busy for hours.
    assert main(["query", "--site", str(seed_site.out), "--timeout", "0.5", RUNAWAY]) == 1
    assert [c for c in running_children() if "worker_main" in c] == []


def test_query_within_the_limits_answers_as_without_them(seed_site: BuildResult,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT ?n WHERE { <http://localhost:8000/org/nyu> <http://schema.org/name> ?n }"
    answers = []
    for extra in ([], ["--no-limits"]):
        assert main(["query", "--site", str(seed_site.out), "--format", "json", *extra, query]) == 0
        answers.append(capsys.readouterr().out)
    assert answers[0] == answers[1]
    assert json.loads(answers[0])["results"]["bindings"] == [{"n": {"type": "literal", "value": "New York University"}}]


def test_query_no_limits_lifts_the_row_cap(seed_site: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    q = "SELECT * WHERE { ?s ?p ?o }"
    assert main(["query", "--site", str(seed_site.out), "--row-cap", "10", "--no-limits", "--format", "json", q]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"]["bindings"]) == 998
