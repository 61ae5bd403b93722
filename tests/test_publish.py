"""The build is atomic: bad input, a violation, an interruption or a kill leave the
previous site exactly as it was, and a folder lod did not build is never replaced."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import Graph

import lod.publishing.changes
import lod.publishing.prepared
import lod.publishing.build
from lod.cli import main
from lod.errors import ConfigError
from lod.publishing.build import MARKER, build
from lod.validation.report import load_shapes

from .conftest import SEED_DATA, TEST_BASE, write_records

GOOD = """sources:
  - {id: s, document: x.txt, taken: 2024-01-01}
talks:
  - {id: t, title: A talk, start: 2024-05-23T09:30, timezone: Europe/Paris, sources: [s]}
"""


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    data = write_records(tmp_path / "data", {"a.yaml": GOOD})
    out = tmp_path / "site"
    build(data, out, TEST_BASE)
    return data, out, tree(out)


def test_publish_bad_record_exits_1_and_keeps_previous_site(built: tuple[Path, Path, dict[str, str]],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    data, out, before = built
    (data / "a.yaml").write_text(GOOD.replace("start: 2024-05-23T09:30", "start: 2024-05-32T09:30"), encoding="utf-8")
    assert main(["build", "--data", str(data), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"{data}/a.yaml:4:35: talk t, field start: '2024-05-32T09:30' is not a valid local date and time." in err
    assert tree(out) == before


def test_publish_violation_stops_the_build_and_keeps_previous_site(
        built: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data, out, before = built
    strict = load_shapes()
    strict.parse(data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix schema: <http://schema.org/> .
        <urn:strict> a sh:NodeShape ; sh:targetClass schema:Event ;
          sh:property [ sh:path schema:url ; sh:minCount 1 ; sh:message "a talk needs a url here" ] .""",
                 format="turtle")
    real = lod.publishing.changes.shacl_check
    for module in (lod.publishing.changes,):  # the check of the owners a build checks (all in a full build)
        monkeypatch.setattr(module, "shacl_check", lambda triples, where, only=None: real(triples, where, strict, only))
    (data / "a.yaml").write_text(GOOD.replace("A talk", "Another title"), encoding="utf-8")
    assert main(["build", "--data", str(data), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "the build stopped: the data violates the SHACL shapes; nothing was published." in err
    assert f"{data}/a.yaml:4:5: violation: <{TEST_BASE}talk/t> schema:url: a talk needs a url here" in err
    assert tree(out) == before


def test_publish_interrupted_build_keeps_previous_site(built: tuple[Path, Path, dict[str, str]],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data, out, before = built

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(lod.publishing.prepared, "void_graph", interrupted)
    state = lod.publishing.output.state_path(out).read_bytes()
    for how in ("--full", None):  # interrupted in a full build, then in an incremental one
        (data / "a.yaml").write_text(GOOD.replace("A talk", f"Another title {how}"), encoding="utf-8")
        assert main(["build", "--data", str(data), "--out", str(out), "--quiet", *([how] if how else [])]) == 130
        assert tree(out) == before
        assert [p.name for p in out.parent.iterdir() if p.name.startswith(".site")] == [".site.lod-state"]
        assert lod.publishing.output.state_path(out).read_bytes() == state


def test_publish_refuses_to_replace_a_folder_it_did_not_build(tmp_path: Path) -> None:
    data = write_records(tmp_path / "data", {"a.yaml": GOOD})
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not lose me")
    with pytest.raises(ConfigError) as info:
        build(data, precious, TEST_BASE)
    assert str(info.value) == (f"the output folder {precious} is not empty and was not built by lod; "
                               "choose another --out (lod replaces its output folder as a whole).")
    assert (precious / "thesis.tex").read_text() == "do not lose me"


def test_publish_recovers_a_swap_killed_half_way(built: tuple[Path, Path, dict[str, str]]) -> None:
    data, out, before = built
    old = out.with_name(f".{out.name}.old")
    os.rename(out, old)  # as if killed between the two renames of the fallback swap
    (out.parent / f".{out.name}.tmp-999").mkdir()
    build(data, out, TEST_BASE)
    assert tree(out) == before
    assert not old.exists() and not (out.parent / f".{out.name}.tmp-999").exists()


def test_a_full_build_over_a_site_removes_the_previous_files_and_keeps_its_state(
        built: tuple[Path, Path, dict[str, str]]) -> None:
    # The previous site's files are removed while the new state is written (``NewSite.commit``).
    from lod.publishing.pipeline import read_state

    data, out, before = built
    (out / "index.html").write_text("stale", encoding="utf-8")
    build(data, out, TEST_BASE, incremental=False)
    assert tree(out) == before
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")) == \
        [f".{out.name}.lod-state"]
    state = read_state(out)
    assert state is not None and state.generation == 0


@pytest.mark.heavy  # six killed builds: with the other random SIGKILLs of .ci/run
def test_publish_sigkill_at_any_point_leaves_a_whole_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(SEED_DATA, out, TEST_BASE)
    before = tree(out)
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5, 1.8):
        proc = subprocess.Popen([sys.executable, "-m", "lod", "build", "--data", str(SEED_DATA), "--out", str(out),
                                 "--base-url", TEST_BASE, "--quiet"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert tree(out) == before, f"killed after {delay}s"
    assert main(["build", "--data", str(SEED_DATA), "--out", str(out), "--base-url", TEST_BASE, "--quiet"]) == 0
    assert tree(out) == before
    assert (out / MARKER).is_file()


def test_publish_void_describes_dumps_license_and_endpoint(seed_site: lod.publishing.build.BuildResult) -> None:
    g = Graph().parse(seed_site.out / "void.ttl", format="turtle")
    rows = {str(r[0]) for r in g.query("""PREFIX void: <http://rdfs.org/ns/void#> PREFIX dct: <http://purl.org/dc/terms/>
        SELECT ?x WHERE { { ?d void:dataDump ?x } UNION { ?d dct:license ?x } UNION { ?d void:sparqlEndpoint ?x } }""")}
    assert rows == {TEST_BASE + "dump.ttl", TEST_BASE + "dump.nt", TEST_BASE + "dump.jsonld", TEST_BASE + "sparql",
                    "https://creativecommons.org/licenses/by/4.0/"}
    count = list(g.query("PREFIX void: <http://rdfs.org/ns/void#> SELECT ?n WHERE { ?d void:triples ?n }"))
    assert int(count[0][0]) == seed_site.triples
    assert not (Graph().parse(seed_site.out / "dump.ttl", format="turtle")
                .query("ASK { ?d <http://rdfs.org/ns/void#triples> ?n }").askAnswer)


def test_publish_copies_the_ontology_with_the_site(seed_site: lod.publishing.build.BuildResult) -> None:
    assert (seed_site.out / "ontology.ttl").read_bytes() == (Path(lod.publishing.build.__file__).parents[2] /
                                                            "ontology" / "lod.ttl").read_bytes()
