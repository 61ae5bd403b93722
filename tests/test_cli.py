"""The command line over the library: exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lod.cli import main
from lod.publishing.build import BuildResult

from .conftest import SEED_DATA


def test_cli_validate_lists_results_with_file_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(SEED_DATA), "--warnings"]) == 0
    out = capsys.readouterr().out.splitlines()
    # 61 from the shapes, 23 talk pages that lack something Google's Event results require.
    assert out[-1] == "0 violations, 84 warning(s)"
    assert sum(" google-event: " in line for line in out) == 23
    assert (f"{SEED_DATA}/talks/ml-tag-page.yaml:4:5: warning: <http://localhost:8000/talk/ml-tag-singularity-formation-in-fluids> "
            "google-event: the talk page talk/ml-tag-singularity-formation-in-fluids.html misses what Google's Event "
            "results require: name, startDate, location") in out
    assert (f"{SEED_DATA}/events/mflm-2024.yaml:74:9: warning: <http://localhost:8000/talk/2024-05-23-gabriel-synnaeve> "
            "schema:name: The talk has no title (schema:name), e.g. it is TBA or untitled; search engines require a "
            "name for event results.") in out


def test_cli_validate_engines_print_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(SEED_DATA), "--warnings"]) == 0
    native = capsys.readouterr().out
    assert main(["validate", "--data", str(SEED_DATA), "--warnings", "--engine", "pyshacl"]) == 0
    assert capsys.readouterr().out == native
    assert native.splitlines()[-1] == "0 violations, 84 warning(s)"


def test_cli_query_table_csv_and_json(seed_site: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    q = ("PREFIX schema: <http://schema.org/> SELECT ?name WHERE { <http://localhost:8000/event/mdl-workshop-2025> "
         "schema:organizer/schema:name ?name }")
    assert main(["query", q, "--site", str(seed_site.out)]) == 0
    assert capsys.readouterr().out == "name\n--------------------\nMachine Learning Lab\n(1 row)\n"
    assert main(["query", q, "--site", str(seed_site.out), "--format", "csv"]) == 0
    assert capsys.readouterr().out == "name\nMachine Learning Lab\n"
    assert main(["query", q, "--site", str(seed_site.out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]["bindings"] == [
        {"name": {"type": "literal", "value": "Machine Learning Lab"}}]
    assert main(["query", "ASK { ?s ?p ?o }", "--site", str(seed_site.out)]) == 0
    assert capsys.readouterr().out == "true\n"


@pytest.mark.parametrize("query, message", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
     "error: SERVICE is refused: this endpoint never makes outbound requests."),
    ("INSERT DATA { <a:b> <a:c> <a:d> }", "error: updates are refused: this endpoint is read-only."),
    ("SELECT * FROM <http://127.0.0.1:9/g> WHERE { ?s ?p ?o }",
     "error: FROM and FROM NAMED are refused: the endpoint answers over its own dataset only."),
])
def test_cli_query_refuses_updates_and_outbound_requests(seed_site: BuildResult, capsys: pytest.CaptureFixture[str],
                                                         query: str, message: str) -> None:
    assert main(["query", query, "--site", str(seed_site.out)]) == 1
    assert capsys.readouterr().err.strip() == message


def test_cli_query_malformed_says_where(seed_site: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "SELECT ?x WHERE { ?x ", "--site", str(seed_site.out)]) == 1
    assert capsys.readouterr().err == ('error: malformed query at line 1, column 22: expected one of "!", "$", "(", '
                                       '":", "<", "?", "^", "a"\n')


def test_cli_errors_never_show_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "lod", "build", "--data", str(tmp_path / "missing"),
                           "--out", str(tmp_path / "site")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().endswith(
        "missing: the data folder does not exist. Fix: pass --data with the folder that holds your YAML records.")


def test_the_lod_command_leaves_what_it_made_out_of_the_collection_at_exit(tmp_path: Path) -> None:
    # The interpreter collects every cycle as it exits (6 s after a 100k-talk build); the command
    # freezes what is left instead, and still builds, says so and exits 0.
    script = ("import atexit, gc, sys\n"
              "atexit.register(lambda: print('frozen:', gc.get_freeze_count() > 0))\n"
              f"sys.argv = ['lod', 'build', '--quiet', '--data', {str(SEED_DATA)!r}, '--out', {str(tmp_path / 'site')!r}]\n"
              "from lod.cli import run\n"
              "sys.exit(run())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "frozen: True"
    assert (tmp_path / "site" / "index.html").is_file()
