"""A calendar's name (NAME, X-WR-CALNAME) is TEXT: escaped when written, unescaped when imported."""

from __future__ import annotations

import pytest

from lod.importers.ical import parse
from lod.publishing.build import BuildResult
from lod.publishing.feeds import calendar_head

END = b"END:VCALENDAR\r\n"


def test_a_calendar_name_is_written_as_escaped_text() -> None:
    head = calendar_head("Logic, sets; and $\\aleph_0$")
    assert head.endswith(b"\r\nNAME:Logic\\, sets\\; and $\\\\aleph_0$\r\n"
                         b"X-WR-CALNAME:Logic\\, sets\\; and $\\\\aleph_0$\r\n")


@pytest.mark.parametrize("name", ["Logic, sets; and $\\aleph_0$", "\\N is not a line break", "two\nlines",
                                  "Séminaire « X » 𝔸" + ", long" * 30, "plain"])
def test_lod_import_ical_reads_back_the_calendar_name_a_feed_of_ours_writes(name: str) -> None:
    assert parse(calendar_head(name) + END, "ours.ics").title == name


def test_lod_import_ical_unescapes_another_writers_calendar_name() -> None:
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
            b"X-WR-CALNAME:Smith\\, John\\; Analysis \\\\ PDE\r\n" + END)
    assert parse(data, "theirs.ics").title == "Smith, John; Analysis \\ PDE"


def test_the_seed_talk_whose_title_has_a_comma_names_its_calendar_with_the_comma_escaped(seed_site: BuildResult) -> None:
    text = (seed_site.out / "talk" / "2023-11-23-francois-charton.ics").read_bytes()
    assert b"\r\nX-WR-CALNAME:Transformers for maths\\, and maths for transformers\r\n" in text
