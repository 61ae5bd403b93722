"""Fuzzing the build with hostile YAML: the outcome is a clean build whose dumps parse, or
exit 1 with messages naming file and line; never an internal error or a traceback.

The default run tries 150 generated inputs; ``-m heavy`` tries 10,000 through
load → map → dumps and a sample through the whole build (SHACL and pages included).
Hypothesis runs without its example database, derandomised (the heavy halves with fixed
seeds, one process each), so CI runs are reproducible; any failure found is kept under tests/fixtures/fuzz/ as a regression case.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from .fuzzing import (ALIAS_BOMB, ManyItems, check_many_items, check_outcome, dataset, many_items, run_cli, scratch,
                      to_yaml, write_folder, yaml_text)

FIXTURES = Path(__file__).parent / "fixtures" / "fuzz"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
HEAVY_CASES = int(os.environ.get("LOD_FUZZ_CASES", "10000"))
SEEN: dict[str, int] = {"built": 0, "refused": 0}


def fuzz_settings(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


def one_case(text: str, full: bool = False) -> str:
    with scratch() as (data, out):
        write_folder(data, {"a.yaml": text})
        return check_outcome(data, out, run_cli(data, out, full))


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_fuzz_regression_case_builds_or_names_file_and_line(case: str) -> None:
    text = (FIXTURES / case).read_bytes()
    with scratch() as (data, out):
        write_folder(data, {"a.yaml": text})
        outcome = run_cli(data, out, full=False)  # the whole build of such records: the heavy full-build test
        expected = text.split(b"\n", 1)[0].removeprefix(b"# expect: ").decode("utf-8")
        assert check_outcome(data, out, outcome) == ("built" if expected == "built" else "refused")
        if expected != "built":
            assert expected in outcome.stderr, outcome.stderr


def test_fuzz_alias_bomb_is_refused_quickly() -> None:
    assert one_case(ALIAS_BOMB) == "refused"


@fuzz_settings(150)
@given(yaml_text())
def test_fuzz_build_yaml_gives_build_or_located_error(text: str) -> None:
    SEEN[one_case(text)] += 1


def heavy_part(part: int) -> tuple[dict[str, int], str]:
    """Run half of the heavy cases (a fixed seed per half); return the counts and any failure."""
    import traceback

    SEEN.update(built=0, refused=0)  # a forked child starts with the parent's counts

    @settings(fuzz_settings(HEAVY_CASES // 2), derandomize=False)
    @seed(20261123 + part)
    @given(yaml_text())
    def cases(text: str) -> None:
        SEEN[one_case(text)] += 1

    try:
        cases()
    except BaseException:  # sent back as text: hypothesis' errors do not always pickle
        return dict(SEEN), traceback.format_exc()
    return dict(SEEN), ""


@pytest.mark.heavy
def test_fuzz_build_heavy_yaml_gives_build_or_located_error() -> None:
    # Two processes, one per core: the cases are independent, and one process takes ~5 minutes.
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(heavy_part, [0, 1])
    failures = [failure for _, failure in results if failure]
    assert not failures, "\n\n".join(failures)
    counts = {k: sum(r[0][k] for r in results) for k in SEEN}
    print(f"heavy fuzz: {sum(counts.values())} cases run, {counts}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fuzz.json").write_text(json.dumps(counts) + "\n")
    assert sum(counts.values()) >= HEAVY_CASES * 0.99  # hypothesis ran (nearly) all it was asked to


@pytest.mark.heavy
@fuzz_settings(40)
@given(dataset())
def test_fuzz_build_heavy_full_build_of_records(doc: dict[str, object]) -> None:
    SEEN[one_case(to_yaml(doc, None, True), full=True)] += 1


def test_fuzz_build_generated_some_of_each() -> None:
    # Runs after the default fuzz test (file order): the generator must reach both outcomes.
    if SEEN["built"] + SEEN["refused"]:
        print(f"fuzz cases: {SEEN}")
        assert SEEN["built"] > 0 and SEEN["refused"] > 0, SEEN


HEAD = "sources:\n  - {id: s, document: x.txt, taken: 2024-01-01}\n"


@pytest.mark.parametrize("name, text, expected", [
    ("value at the limit", HEAD + "talks:\n  - {id: t, title: " + "x" * 100_000 + ", sources: [s]}\n", "built"),
    ("value over the limit", HEAD + "talks:\n  - {id: t, title: " + "x" * 100_001 + ", sources: [s]}\n",
     "field title: the value is 100001 characters long; the limit is 100000."),
    ("300 records", HEAD + "people:\n" + "".join(f"  - {{id: p{i}, name: P, sources: [s]}}\n" for i in range(300)),
     "built"),
    ("deep nesting", HEAD + "talks:\n  - {id: t, title: " + "[" * 5_000 + "]" * 5_000 + ", sources: [s]}\n",
     "a.yaml:4:67: the values nest more than 50 levels deep. Fix: records nest a few levels at most"),
    ("deep mappings", HEAD + "talks:\n  - " + "{a: " * 5_000 + "x" + "}" * 5_000 + "\n", "the values nest more than 50"),
    # Deep enough to overflow libyaml's recursive C composer (a segfault, not an exception), so
    # the loader must not hand such text to libyaml at all: brackets, compact block runs, indentation.
    ("300,000 brackets", HEAD + "talks: " + "[" * 300_000 + "]" * 300_000 + "\n", "the values nest more than 50"),
    ("300,000 compact sequences", HEAD + "talks:\n  " + "- " * 300_000 + "x\n", "the values nest more than 50"),
    ("300,000 explicit keys", HEAD + "talks:\n  " + "? " * 300_000 + "x\n", "the values nest more than 50"),
    ("indented 1,000 levels", HEAD + "talks:\n" + "".join(" " * i + "-\n" for i in range(1, 1_000)),
     "the values nest more than 50"),
    ("file over 20 MiB", HEAD + "# " + "x" * (20 * 2**20) + "\n", "the file is larger than 20 MiB."),
])
def test_fuzz_huge_inputs_build_or_are_refused_with_the_limit(name: str, text: str, expected: str) -> None:
    with scratch() as (data, out):
        write_folder(data, {"a.yaml": text})
        outcome = run_cli(data, out, full=False)
        result = check_outcome(data, out, outcome)
        assert result == ("built" if expected == "built" else "refused"), (name, outcome.stderr[:500])
        if expected != "built":
            assert expected in outcome.stderr, (name, outcome.stderr[:500])


# ---------------------------------------------------------------- many items (issue 13.2)

def many_items_case(case: ManyItems, budget: int | None) -> str:
    """Build *case*, with the node budget cut to *budget* nodes per file (None: the real one)."""
    limits = ({"MAX_NODES": budget, "NODES_PER_CHAR": 0} if budget is not None else {})
    with scratch() as (data, out), contextlib.ExitStack() as stack:
        for name, value in limits.items():
            stack.enter_context(mock.patch(f"lod.model.fields.{name}", value))
        write_folder(data, dict(case.files))
        return check_many_items(data, out, run_cli(data, out, full=False), case)


MANY: dict[str, int] = {"built": 0, "refused": 0}


@fuzz_settings(25)
@given(many_items(talks=30, keywords=60, people=20), st.one_of(st.none(), st.integers(20, 3_000)))
def test_fuzz_many_items_build_whole_or_fail_naming_the_file_and_limit(case: ManyItems, budget: int | None) -> None:
    # Before issue 13.2 was fixed a budget that was hit dropped the rest of the file and built.
    MANY[many_items_case(case, budget)] += 1


def test_fuzz_many_items_reached_both_outcomes() -> None:
    if sum(MANY.values()):
        print(f"many-items cases: {MANY}")
        assert MANY["built"] > 0 and MANY["refused"] > 0, MANY


@pytest.mark.heavy
@fuzz_settings(6)
@given(many_items(talks=5_000, keywords=30, people=100_000, big=1_000_000))
def test_fuzz_heavy_many_items_build_whole(case: ManyItems) -> None:
    assert many_items_case(case, None) == "built"
