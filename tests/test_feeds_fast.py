"""The spliced calendars of a build (one serialisation per VEVENT) equal icalendar's own output."""

from __future__ import annotations

from pathlib import Path

from lod.publishing.feeds import calendar, site_feeds
from lod.publishing.pages.relations import SiteIndex
from lod.publishing.build import prepare
from lod.synth import write_synth

from .conftest import SEED_DATA, TEST_BASE


def _check(data: Path) -> int:
    p = prepare(data, TEST_BASE)
    index = SiteIndex(p)
    fast = site_feeds(p, index.talks_under, index.person_talks)
    ds = p.dataset
    checked = 0
    for (kind, rid), (_name, data_bytes) in fast.items():
        if kind == "site":
            talks = list(ds.talks.values())
            title = ds.site.title
        elif kind == "person":
            talks, title = index.person_talks(rid), f"Talks by {ds.people[rid].display_name}"
        elif kind == "talk":
            talks, title = [ds.talks[rid]], ds.talks[rid].title or ds.site.title
        else:
            talks = index.talks_under(kind, rid)
            title = (ds.series[rid] if kind == "series" else ds.events[rid]).name
        assert calendar(p, talks, title) == data_bytes, (kind, rid)
        checked += 1
    return checked


def test_spliced_calendars_equal_icalendar_output_on_the_seed_data() -> None:
    assert _check(SEED_DATA) > 30


def test_spliced_calendars_equal_icalendar_output_on_synthetic_data(tmp_path: Path) -> None:
    write_synth(30, tmp_path / "data")
    assert _check(tmp_path / "data") > 30


def test_fold_equals_icalendar_fold_on_random_lines() -> None:
    import random

    from icalendar.parser.string import _foldline

    from lod.publishing.feeds import fold

    alphabet = list("ab\\^ ,;:") + ["é", "–", "𝔸", "中"]
    rng = random.Random(5)
    for _ in range(20_000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        assert fold(line) == _foldline(line).encode("utf-8"), line
