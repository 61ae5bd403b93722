"""A build reports its progress as events (lod.progress): every stage that starts finishes, done never
exceeds total, and the counts are the data's. The command line renders them (lod.watch)."""

from __future__ import annotations

import io
import re
import shutil
import threading
from pathlib import Path

import pytest

from lod.cli import main
from lod.progress import STEPS, Advanced, Checked, Event, Finished, Narrowed, Stage, Started
from lod.publishing.build import build
from lod.watch import Bars, Lines, text, watcher

SEED = Path(__file__).resolve().parents[1] / "data"
BASE = "http://example.org/"
FULL_STAGES = ["load", "map", "validate", "dumps", "pages", "gallery", "state", "publish"]


def _check_stages(events: list[Event]) -> list[str]:
    """Assert the stage events are well formed; return the stages in the order they ran."""
    running: str | None = None
    done = 0
    order = []
    for e in events:
        if isinstance(e, Started):
            assert running is None, f"{e.stage} started inside {running}"
            running, done = e.stage, 0
            order.append(e.stage)
        elif isinstance(e, (Advanced, Finished)):
            assert e.stage == running, e
            assert done <= e.done <= e.total, e
            done = e.done
            if isinstance(e, Finished):
                assert e.done == e.total and e.seconds >= 0
                running = None
    assert running is None, f"{running} never finished"
    return order


def _finished(events: list[Event]) -> dict[str, dict[str, int]]:
    return {e.stage: dict(e.counts) for e in events if isinstance(e, Finished)}


def test_progress_full_build_reports_every_stage_with_the_seed_datas_counts(tmp_path: Path) -> None:
    events: list[Event] = []
    result = build(SEED, tmp_path / "site", BASE, progress=events.append, incremental=False)
    assert _check_stages(events) == FULL_STAGES
    counts = _finished(events)
    # The seed data (README, "The seed dataset"): 10 files, 29 talks, 34 people, 24 organisations,
    # 10 places, 1 series, 2 events.
    assert counts["load"] == {"files": 10, "talks": 29, "people": 34, "organizations": 24, "places": 10,
                              "series": 1, "events": 2}
    assert counts["load"] == {"files": 10, **result.counts}
    started = {e.stage: e for e in events if isinstance(e, Started)}
    assert (started["load"].total, started["load"].unit) == (10, "files")
    assert started["map"].total == 29 + 34 + 24 + 10 + 1 + 2 + 8 + 5  # records: with 8 sessions and 5 sources
    assert counts["map"] == {"triples": result.triples} and started["validate"].total == result.triples
    assert counts["validate"] == {"violations": 0, "warnings": 61}
    assert counts["dumps"] == {"resources": result.resources, "formats": 3}
    assert counts["pages"]["pages"] + counts["pages"]["calendars"] <= result.files
    [checked] = [e for e in events if isinstance(e, Checked)]
    assert checked.stage == "pages" and checked.report.summary().startswith("pages: 29 talk pages")
    # The load advances file by file: each file once, in order, ending at the total.
    load = [e.done for e in events if isinstance(e, Advanced) and e.stage == "load"]
    assert load == list(range(1, 11))
    # The map advances record by record (in steps of about 1/STEPS), the dumps subject by subject.
    advanced = {stage: [e.done for e in events if isinstance(e, Advanced) and e.stage == stage] for stage in FULL_STAGES}
    assert advanced["map"] == sorted(set(advanced["map"])) and advanced["map"][-1] == 113 and len(advanced["map"]) > 10
    assert len(advanced["dumps"]) > 100 and advanced["dumps"][-1] == result.triples
    # The state stage merges the page jobs' read-sets for the next build, a batch (a job's) at a time.
    assert started["state"].unit == "batches" and started["state"].total >= 1
    assert advanced["state"][-1] == started["state"].total and counts["state"]["read_sets"] > 100


def test_progress_rebuild_reports_its_stages_and_what_it_published(tmp_path: Path) -> None:
    data, site = tmp_path / "data", tmp_path / "site"
    shutil.copytree(SEED, data)
    build(data, site, BASE)
    talk = next(p for p in sorted((data / "series").glob("*.yaml")))
    text = talk.read_text(encoding="utf-8")
    talk.write_text(text.replace("title: ", "title: Edited ", 1), encoding="utf-8")
    events: list[Event] = []
    build(data, site, BASE, progress=events.append)
    assert _check_stages(events) == ["load", "map", "validate", "dumps", "pages", "gallery", "state", "publish"]
    counts = _finished(events)
    assert counts["load"]["reparsed"] == 1 and counts["load"]["changed"] == 1 and counts["load"]["files"] == 10
    assert counts["publish"]["written"] > 0 and counts["publish"]["deleted"] == 0


def test_progress_a_stage_emits_a_bounded_number_of_advances_never_past_its_total() -> None:
    events: list[Event] = []
    stage = Stage(events.append, "map", 1_000_000, "records")
    for _ in range(1000):
        stage.advance(1001)  # overshoots the total
    stage.finish(triples=5)
    advances = [e for e in events if isinstance(e, Advanced)]
    assert len(advances) <= STEPS + 1
    assert all(e.done <= e.total == 1_000_000 for e in advances)
    assert _check_stages(events) == ["map"]
    assert events[-1] == Finished("map", 1_000_000, 1_000_000, events[-1].seconds, {"triples": 5})  # type: ignore[union-attr]


def test_progress_off_a_terminal_the_cli_prints_one_line_as_each_stage_starts_and_ends(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--data", str(SEED), "--out", str(tmp_path / "site"), "--full"]) == 0
    lines = capsys.readouterr().err.splitlines()
    stage = "|".join(FULL_STAGES)
    starts = [ln for ln in lines if re.fullmatch(rf"({stage}): (\d+ \w+ )?…|({stage}) …", ln)]
    ends = [ln for ln in lines if re.fullmatch(rf"({stage}): .+ \(\d+\.\d\ds\)", ln)]
    assert [re.split(r"[: ]", ln)[0] for ln in starts] == FULL_STAGES
    assert [re.split(r"[: ]", ln)[0] for ln in ends] == FULL_STAGES
    assert len(lines) == len(starts) + len(ends) + 1  # and the pages' Google summary
    assert "\x1b" not in "".join(lines) and "\r" not in "".join(lines)  # no terminal control codes in a log


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_each_stage_has_a_bar_that_leaves_its_summary(tmp_path: Path) -> None:
    screen = _Terminal()
    view = watcher(screen)
    assert isinstance(view, Bars) and isinstance(watcher(io.StringIO()), Lines)
    threads = threading.active_count()
    build(SEED, tmp_path / "site", BASE, progress=view, incremental=False)
    # No thread left behind (tqdm's monitor): the build forks its parse and page workers only from
    # a process with one thread.
    assert threading.active_count() == threads
    shown = screen.getvalue()
    assert "\r" in shown and "files/s" in shown  # a live bar was drawn, with its rate
    assert re.search(r"(^|\r)load: 10 files, 29 talks, .*\(\d+\.\d\ds\)$", shown, re.M)
    assert not view.bars  # every bar was closed


def test_progress_a_stage_on_fewer_cores_for_lack_of_memory_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.publishing.pages import parallel, stage

    said: list[Event] = []
    monkeypatch.setattr(parallel, "memory", lambda: (3_000_000_000, 12_400_000_000))  # available, own
    assert parallel.affordable(2, said.append) == 1
    assert said == [Narrowed("pages", 1, 2, 12_400_000_000, 3_000_000_000)]
    assert text(said[0]) == ("pages: on 1 of 2 cores: a forked copy of the build (12.4 GB) per other core "
                             "would not fit in the 3.0 GB available")
    monkeypatch.setattr(parallel, "memory", lambda: (30_000_000_000, 1_000_000_000))
    assert parallel.affordable(2, said.append) == 2 and len(said) == 1  # it fits: nothing to say
    # A build says it between the pages stage's start and end (the seed data alone would render in-process).
    monkeypatch.setattr(parallel, "memory", lambda: (3_000_000_000, 12_400_000_000))
    monkeypatch.setattr(stage, "worker_count", lambda n, threshold=0: 2)
    events: list[Event] = []
    build(SEED, tmp_path / "site", BASE, progress=events.append, incremental=False)
    _check_stages(events)
    start = events.index(next(e for e in events if isinstance(e, Started) and e.stage == "pages"))
    end = events.index(next(e for e in events if isinstance(e, Finished) and e.stage == "pages"))
    narrowed = [i for i, e in enumerate(events) if isinstance(e, Narrowed)]
    assert len(narrowed) == 1 and start < narrowed[0] < end
    assert events[narrowed[0]] == Narrowed("pages", 1, 2, 12_400_000_000, 3_000_000_000)
