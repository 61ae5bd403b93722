"""What a loaded record holds, kept small because every stage holds every record and every
page worker copies what it reads of them: its fields' places packed as bytes, not Locations, and
the short strings that recur (ids, keywords, durations) shared, not one copy a field."""

from __future__ import annotations

from pathlib import Path

from lod.errors import Location, RecordErrors
from lod.loading.stage import load

import pytest

TALKS = """\
series:
- id: s1
  name: A seminar
  timezone: Europe/London
  sources: [src]
  talks:
  - id: t1
    title: First
    speakers: [someone]
    keywords: [Number theory]
    start: 2024-01-10T16:00
    duration: PT1H
    sources: [src]
  - id: t2
    title: Second
    speakers: [someone]
    keywords: [Number theory]
    start: 2024-01-17T16:00
    duration: PT1H
    sources: [src]
"""
PEOPLE = """\
sources:
- {id: src, document: x.txt, taken: 2024-01-01}
people:
- id: someone
  name: Some One
  sources: [src]
"""


def _write(tmp_path: Path, talks: str = TALKS) -> Path:
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "s.yaml").write_text(talks, encoding="utf-8")
    (tmp_path / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    return tmp_path


def test_a_records_fields_are_located_by_file_line_and_column_without_a_location_each(tmp_path: Path) -> None:
    ds = _write(tmp_path) and load(tmp_path)
    talk = ds.talks["t2"]
    assert type(talk.locs) is bytes and len(talk.locs) == 7 * 12  # seven fields: (number, line, column) each
    file = str(tmp_path / "series" / "s.yaml")
    assert talk.where("title") == Location(file, 15, 12)
    assert talk.where("keywords") == Location(file, 17, 15)
    assert talk.where("abstract") == talk.loc == Location(file, 14, 5)  # absent: the record's place


def test_an_error_after_the_load_names_the_fields_file_line_and_column(tmp_path: Path) -> None:
    # The speaker is looked up when records are resolved, after the load: its place comes from ``locs``.
    _write(tmp_path, TALKS.replace("speakers: [someone]\n    keywords: [Number theory]\n    start: 2024-01-17",
                                   "speakers: [nobody]\n    keywords: [Number theory]\n    start: 2024-01-17"))
    with pytest.raises(RecordErrors) as err:
        load(tmp_path)
    assert str(err.value).splitlines()[1] == (
        f"  {tmp_path / 'series' / 's.yaml'}:16:15: talk t2, field speakers[0]: unknown person 'nobody'. "
        "Fix: Define it in the people records or correct the id.")


def test_short_strings_that_recur_in_a_file_are_one_object(tmp_path: Path) -> None:
    ds = _write(tmp_path) and load(tmp_path)
    first, second = ds.talks["t1"], ds.talks["t2"]
    assert first.keywords[0] is second.keywords[0]
    assert first.speakers[0] is second.speakers[0]
    assert first.duration_iso is second.duration_iso
    assert first.sources[0] is second.sources[0]
