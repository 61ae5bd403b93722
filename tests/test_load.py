"""The loader's answers to bad records: exact messages naming file, line, column and field."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lod.errors import RecordErrors
from lod.loading.stage import load

from .conftest import write_records

HEAD = """sources:
  - {id: s, document: x.txt, taken: 2024-01-01}
"""

CASES = {
    "unknown_field": (
        HEAD + "people:\n  - id: ann-lee\n    given_name: Ann\n    affiliatons: [x]\n    sources: [s]\n",
        "a.yaml:6:5: person ann-lee, field affiliatons: unknown field. Fix: did you mean 'affiliations'?"),
    "impossible_date": (
        HEAD + "talks:\n  - id: t\n    start: 2024-02-30T10:00\n    timezone: Europe/Paris\n    sources: [s]\n",
        "a.yaml:5:12: talk t, field start: '2024-02-30T10:00' is not a valid local date and time. Fix: write the "
        "local wall-clock time as YYYY-MM-DDTHH:MM (e.g. 2023-09-13T10:00) or a date as YYYY-MM-DD."),
    "offset_in_start": (
        HEAD + "talks:\n  - id: t\n    start: 2024-06-03T13:30-04:00\n    sources: [s]\n",
        "a.yaml:5:12: talk t, field start: '2024-06-03T13:30-04:00' is not a valid local date and time. Fix: write "
        "the offset in the field 'offset' and the local time here, e.g. 2024-06-03T13:30."),
    "unknown_reference": (
        HEAD + "talks:\n  - id: t\n    speakers: [ann-le]\n    sources: [s]\n",
        "a.yaml:5:15: talk t, field speakers[0]: unknown person 'ann-le'. Fix: Define it in the people records "
        "or correct the id."),
    "unknown_zone": (
        HEAD + "talks:\n  - id: t\n    start: 2024-01-01T10:00\n    timezone: Mars/Olympus\n    sources: [s]\n",
        "a.yaml:6:15: talk t, field timezone: 'Mars/Olympus' is not an IANA time zone. Fix: write a zone name "
        "such as Australia/Sydney or America/Chicago, or use 'offset' for a fixed UTC offset."),
    "skipped_time": (
        HEAD + "talks:\n  - id: t\n    start: 2024-03-31T02:30\n    timezone: Europe/Paris\n    sources: [s]\n",
        "a.yaml:5:12: talk t, field start: 2024-03-31T02:30 does not exist in Europe/Paris: the clocks skip it for "
        "daylight saving. Fix: check the time; if the source really says so, write the offset it means in 'offset:'."),
    "ambiguous_time": (
        HEAD + "talks:\n  - id: t\n    start: 2024-10-27T02:30\n    timezone: Europe/Paris\n    sources: [s]\n",
        "a.yaml:5:12: talk t, field start: 2024-10-27T02:30 happens twice in Europe/Paris (the hour repeated when "
        "daylight saving ends). Fix: say which one with 'offset:' instead of 'timezone:'."),
    "end_before_start": (
        HEAD + "talks:\n  - id: t\n    start: 2024-10-27T10:30\n    end: '09:00'\n    timezone: Europe/Paris\n"
        "    sources: [s]\n",
        "a.yaml:6:10: talk t, field end: the end 09:00 is not after the start 2024-10-27T10:30. Fix: correct the "
        "times (use 24-hour times: 2 pm is 14:00)."),
    "no_zone": (
        HEAD + "talks:\n  - id: t\n    start: 2024-10-27T10:30\n    sources: [s]\n",
        "a.yaml:5:12: talk t, field start: the time 2024-10-27T10:30 has no time zone. Fix: add 'timezone:' (an "
        "IANA zone such as Europe/Paris) to the talk, its series or event, or its venue; or 'offset:' when only "
        "the UTC offset is known."),
    "python_tag": (
        HEAD + "talks:\n  - id: t\n    title: !!python/object/apply:os.system ['echo hi']\n    sources: [s]\n",
        "a.yaml:5:12: talk t, field title: the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
        "allowed. Fix: remove the tag (such as !!python/object); records hold plain text, numbers, lists and mappings."),
    "alias": (
        "a: &a [x]\ntalks: *a\n",
        "a.yaml:2:8: the alias *a is not allowed: YAML anchors and aliases are refused (they allow alias bombs). "
        "Fix: write the value out in full."),
    "duplicate_key": (
        HEAD + "talks:\n  - id: t\n    sources: [s]\n    sources: [s]\n",
        "a.yaml:6:5: talk t, field sources: this field is given twice. Fix: keep one of the two; YAML would "
        "silently drop the first."),
    "duplicate_id": (
        HEAD + "talks:\n  - {id: t, sources: [s]}\n  - {id: t, sources: [s]}\n",
        "a.yaml:5:5: talk t, field id: the talk id 't' is already used at {d}/a.yaml:4:5. Fix: give each record "
        "its own id."),
    "bad_id": (
        HEAD + "talks:\n  - {id: Talk One, sources: [s]}\n",
        "a.yaml:4:10: talk talks[0], field id: 'Talk One' is not a valid id. Fix: use lowercase letters, digits and "
        "single hyphens, e.g. 'greg-yang'."),
    "missing_sources": (
        HEAD + "people:\n  - {id: ann, name: Ann}\n",
        "a.yaml:4:5: person ann, field sources: this required field is missing. Fix: add 'sources:'."),
    "syntax_error": (
        'talks:\n  - id: x\n    title: "unclosed\n',
        "a.yaml:4:1: YAML syntax error: while scanning a quoted scalar found unexpected end of stream. Fix: check "
        "the indentation and quoting near this line; quote values that contain ': ' or start with a special character."),
    "control_character": (
        HEAD + 'talks:\n  - id: t\n    title: "bell\\a"\n    sources: [s]\n',
        "a.yaml:5:12: talk t, field title: the value contains the control character U+0007. Fix: remove it; only "
        "tabs and line breaks are allowed in text."),
    "bad_orcid": (
        HEAD + "people:\n  - {id: ann, name: Ann, orcid: 0000-0002-1825-0098, sources: [s]}\n",
        "a.yaml:4:33: person ann, field orcid: '0000-0002-1825-0098' is not a valid ORCID iD. Fix: write it like "
        "0000-0002-1825-0097."),
    "wrong_status": (
        HEAD + "talks:\n  - {id: t, status: canceled, sources: [s]}\n",
        "a.yaml:4:21: talk t, field status: 'canceled' is not allowed here. Fix: did you mean 'cancelled'? Use one "
        "of: scheduled, cancelled, postponed, rescheduled, moved-online."),
    "unknown_top_level": (
        "talk:\n  - {id: t}\n",
        "a.yaml:1:1: talk: unknown top-level key. Fix: did you mean 'talks'? Use: site, sources, people, "
        "organizations, places, series, events, talks."),
    "not_utf8": (
        b"talks:\n  - id: t\n    title: caf\xe9\n".decode("latin-1"),
        None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_load_bad_record_gets_exact_message(tmp_path: Path, name: str) -> None:
    text, expected = CASES[name]
    d = tmp_path / "d"
    d.mkdir()
    if name == "not_utf8":
        (d / "a.yaml").write_bytes(text.encode("latin-1"))
        expected = "a.yaml:3:1: the file is not valid UTF-8. Fix: save it as UTF-8."
    else:
        (d / "a.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RecordErrors) as info:
        load(d)
    messages = [str(e) for e in info.value.errors]
    assert messages == [f"{d}/" + expected.replace("{d}", str(d))]


def test_load_reports_every_error_of_a_pass_together(tmp_path: Path) -> None:
    d = write_records(tmp_path / "d", {"a.yaml": HEAD + "talks:\n  - {id: t, titel: x, sources: [s]}\n"
                                                      "  - {id: u, stauts: x, sources: [s]}\n"})
    with pytest.raises(RecordErrors) as info:
        load(d)
    assert str(info.value).splitlines()[0] == "2 errors in the source records:"


def test_load_seed_data_counts() -> None:
    ds = load(Path(__file__).resolve().parents[1] / "data")
    assert (len(ds.talks), len(ds.people), len(ds.organizations), len(ds.places), len(ds.series),
            len(ds.events), len(ds.sources)) == (29, 34, 24, 10, 1, 2, 5)


def test_load_inherits_series_defaults_into_talks() -> None:
    ds = load(Path(__file__).resolve().parents[1] / "data")
    malladi = ds.talks["2023-09-28-sadhika-malladi"]
    assert (malladi.attendance, malladi.venue, malladi.online, malladi.language) == (
        "online", None, "mml-2023-zoom", "en")
    assert malladi.start_at is not None and malladi.start_at.zone == "Australia/Sydney"


# ---------------------------------------------------------------- the node budget never truncates

def _many_keywords(n: int) -> str:
    return (HEAD + "talks:\n  - id: big\n    title: Big\n    sources: [s]\n    keywords:\n"
            + "".join(f"      - k{i}\n" for i in range(n))
            + "  - id: after\n    title: After\n    sources: [s]\n")


def test_load_node_budget_hit_fails_the_whole_file_naming_the_limit(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: list_of swallowed the budget's error, so the build passed with the last keywords and
    # every record after them silently missing.
    monkeypatch.setattr(sys.modules["lod.model.fields"], "MAX_NODES", 100)
    monkeypatch.setattr(sys.modules["lod.model.fields"], "NODES_PER_CHAR", 0)
    d = write_records(tmp_path / "d", {"a.yaml": _many_keywords(200)})
    with pytest.raises(RecordErrors) as info:
        load(d)
    assert [str(e) for e in info.value.errors] == [
        f"{d}/a.yaml: the file expands to more than 100 YAML nodes, the limit for a file of its length (100 plus 0 "
        "per character); nothing of it was loaded. Fix: split the file, and write values out instead of repeating them."]


def test_load_node_budget_scales_with_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A file walked past the fixed part of the budget still loads whole: the budget grows with its length.
    monkeypatch.setattr("lod.model.fields.MAX_NODES", 100)
    d = write_records(tmp_path / "d", {"a.yaml": _many_keywords(5000)})
    ds = load(d)
    assert len(ds.talks["big"].keywords) == 5000 and ds.talks["big"].keywords[-1] == "k4999"
    assert "after" in ds.talks


@pytest.mark.heavy  # a big file, with the other big inputs of -m heavy; the budget's scaling is tested above
def test_load_100k_people_in_one_file(tmp_path: Path) -> None:
    # The realistic case of issue 13: one people.yaml of 80,000 people was cut at person 76,922.
    n = 100_000
    people = "".join(f"  - id: p{i}\n    given_name: Given{i}\n    family_name: Family{i}\n    sources: [s]\n"
                     for i in range(n))
    d = write_records(tmp_path / "d", {"people.yaml": HEAD + "people:\n" + people})
    ds = load(d)
    assert len(ds.people) == n and f"p{n - 1}" in ds.people


@pytest.mark.heavy
def test_load_a_million_keywords_then_another_talk(tmp_path: Path) -> None:
    d = write_records(tmp_path / "d", {"a.yaml": _many_keywords(1_000_000)})
    ds = load(d)
    assert len(ds.talks["big"].keywords) == 1_000_000 and "after" in ds.talks


def test_load_a_venue_may_name_its_web_page(tmp_path: Path) -> None:
    # Issue 15: a Place's schema:url (a venue's page, as other archives publish it) was refused as a
    # "meeting link" of a place that is not online.
    from lod.publishing.build import build

    from .conftest import TEST_BASE
    d = write_records(tmp_path / "d", {"a.yaml": HEAD + "places:\n  - {id: hall, name: Hall, timezone: Europe/London, "
                                                        "url: https://hall.example.org/, sources: [s]}\n"})
    assert load(d).places["hall"].url == "https://hall.example.org/"
    out = build(d, tmp_path / "site", TEST_BASE).out
    assert f"<{TEST_BASE}place/hall> <http://schema.org/url> <https://hall.example.org/> ." in (out / "dump.nt").read_text()
    assert '<dt>Web page</dt><dd><a href="https://hall.example.org/">' in (out / "place/hall.html").read_text()
