"""lod import's merge: reconciliation, ambiguity, hand edits, conflicts, dry runs, determinism, the CLI."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from lod.cli import main
from lod.errors import AmbiguousMatch, MergeConflict
from lod.importers import import_source
from lod.loading.stage import load

FIX = Path(__file__).parent / "fixtures" / "import"
SEED = Path(__file__).resolve().parents[1] / "data"
TAKEN = date(2026, 11, 23)

CAL = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//t//t//EN\r
BEGIN:VEVENT\r
UID:t1@example.org\r
DTSTAMP:20240101T000000Z\r
DTSTART;TZID=Europe/Paris:20240523T093000\r
DTEND;TZID=Europe/Paris:20240523T103000\r
SUMMARY:{title}\r
DESCRIPTION:Speaker: {speaker}\r
END:VEVENT\r
END:VCALENDAR\r
"""


def _cal(tmp_path: Path, title: str = "Proofs", speaker: str = "Jane Doe (Oxford)") -> Path:
    path = tmp_path / "feed.ics"
    path.write_text(CAL.format(title=title, speaker=speaker), encoding="utf-8")
    return path


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _data(tmp_path: Path, people: str = "") -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.yaml").write_text("sources:\n  - {id: hand, document: notes.txt, taken: 2024-01-01}\n"
                                      "people:\n" + (people or "  []\n"), encoding="utf-8")
    return data


def test_merge_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    import_source("ical", FIX / "seminar.ics", a, taken=TAKEN)
    import_source("ical", FIX / "seminar.ics", b, taken=TAKEN)
    assert [v for v in _snapshot(a).values()] == [v for v in _snapshot(b).values()]
    again = import_source("ical", FIX / "seminar.ics", a, taken=TAKEN)
    assert again.written == [] and again.plan.changed == []


def test_merge_reconciles_person_by_accents_case_order_and_initials(tmp_path: Path) -> None:
    data = _data(tmp_path, "  - {id: fc, given_name: François, family_name: Charton, sources: [hand]}\n")
    import_source("ical", _cal(tmp_path, speaker="CHARTON, Francois"), data, taken=TAKEN)
    assert load(data).talks["2024-05-23-francois-charton"].speakers == ["fc"]
    shutil.rmtree(data)
    data = _data(tmp_path, "  - {id: fc, given_name: François, family_name: Charton, sources: [hand]}\n")
    import_source("ical", _cal(tmp_path, speaker="F. Charton"), data, taken=TAKEN)
    ds = load(data)
    assert [t.speakers for t in ds.talks.values()] == [["fc"]] and list(ds.people) == ["fc"]


def test_merge_reconciles_person_by_identifier_first(tmp_path: Path) -> None:
    data = _data(tmp_path, "  - {id: a-hayat, name: A. Hayat, ids: {indico-person: indico.example.org/101}, sources: [hand]}\n"
                           "  - {id: amaury-hayat-2, given_name: Amaury, family_name: Hayat, sources: [hand]}\n")
    import_source("indico", FIX / "indico.json", data, taken=TAKEN)
    assert load(data).talks["2024-05-23-amaury-hayat"].speakers == ["a-hayat"]


def test_merge_ambiguous_person_is_reported_then_settled_by_mapping(tmp_path: Path) -> None:
    data = _data(tmp_path, "  - {id: jane-doe-oxford, given_name: Jane, family_name: Doe, sources: [hand]}\n"
                           "  - {id: jane-doe-mit, name: Jane Doe, sources: [hand]}\n")
    before = _snapshot(data)
    with pytest.raises(AmbiguousMatch) as exc:
        import_source("ical", _cal(tmp_path), data, taken=TAKEN)
    assert str(exc.value) == (
        "an imported record matches several existing records; nothing was written.\n"
        f"  person 'Jane Doe' matches 2 records: jane-doe-oxford (Jane Doe, {data}/people.yaml:4:5); "
        f"jane-doe-mit (Jane Doe, {data}/people.yaml:5:5).\n"
        "Fix: decide in a mapping file, one line per name, e.g.\n"
        "  people: {\"Wei Zhang\": wei-zhang-tsinghua}    # or: new\n"
        "and run the import again with --map FILE.")
    assert _snapshot(data) == before
    mapping = tmp_path / "map.yaml"
    mapping.write_text('people: {"Jane Doe": jane-doe-mit}\n')
    import_source("ical", _cal(tmp_path), data, mapping=mapping, taken=TAKEN)
    assert load(data).talks["2024-05-23-jane-doe"].speakers == ["jane-doe-mit"]


def test_merge_talk_is_updated_not_duplicated(tmp_path: Path) -> None:
    data = _data(tmp_path)
    import_source("ical", _cal(tmp_path, title="Proofs"), data, taken=TAKEN)
    import_source("ical", _cal(tmp_path, title="Proofs, revised"), data, taken=TAKEN)
    ds = load(data)
    assert [t.title for t in ds.talks.values()] == ["Proofs, revised"]


def test_merge_hand_edit_is_kept_when_source_unchanged(tmp_path: Path) -> None:
    data = _data(tmp_path)
    import_source("ical", _cal(tmp_path), data, taken=TAKEN)
    owned = data / "imported" / "ical-feed.yaml"
    owned.write_text(owned.read_text().replace("title: Proofs", "title: Proofs (edited)"))
    result = import_source("ical", _cal(tmp_path), data, taken=TAKEN)
    assert result.written == []
    assert load(data).talks["2024-05-23-jane-doe"].title == "Proofs (edited)"


def test_merge_conflict_names_both_values_and_writes_nothing(tmp_path: Path) -> None:
    data = _data(tmp_path)
    import_source("ical", _cal(tmp_path), data, taken=TAKEN)
    owned = data / "imported" / "ical-feed.yaml"
    owned.write_text(owned.read_text().replace("title: Proofs", "title: Proofs (edited)"))
    before = _snapshot(data)
    with pytest.raises(MergeConflict) as exc:
        import_source("ical", _cal(tmp_path, title="Proofs II"), data, taken=TAKEN)
    assert str(exc.value) == (
        "1 conflict between the data and the import; nothing was written.\n"
        f"  {owned}: talks/2024-05-23-jane-doe, field title: the file has 'Proofs (edited)' (edited by hand), "
        "the import has 'Proofs II'.\n"
        "Fix: edit the file to the value you want, or run again with --prefer data (keep the file's values)"
        " or --prefer import (take the imported values).")
    assert _snapshot(data) == before
    import_source("ical", _cal(tmp_path, title="Proofs II"), data, prefer="import", taken=TAKEN)
    assert load(data).talks["2024-05-23-jane-doe"].title == "Proofs II"


def test_merge_conflict_with_hand_written_talk_matched_by_time_and_speaker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    before = _snapshot(data)
    with pytest.raises(MergeConflict) as exc:
        import_source("indico", FIX / "indico.json", data, taken=TAKEN)
    first = str(exc.value).split("\n")[1]
    assert first == (f"  {data}/events/mflm-2024.yaml:22:19: talk 2024-05-23-amaury-hayat, field abstract: the data has "
                     "'Large Language models have known large successes in recent …s in the area.', the import has "
                     "'Large Language models have known large successes in recent years.'.")
    assert _snapshot(data) == before
    result = import_source("indico", FIX / "indico.json", data, prefer="data", taken=TAKEN)
    ds = load(data)
    assert len([t for t in ds.talks.values() if t.start == "2024-05-23T09:30"]) == 1  # matched, not duplicated
    assert any("is written by hand; updated in place, added: coauthors, venue, url" in n for n in result.plan.notes)


def test_merge_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data(tmp_path)
    before = _snapshot(data)
    assert main(["import", "ical", str(_cal(tmp_path)), "--data", str(data), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"+++ {data}/imported/ical-feed.yaml" in out and "+  title: Proofs\n" in out
    assert _snapshot(data) == before


def test_merge_records_carry_provenance(tmp_path: Path) -> None:
    data = _data(tmp_path)
    import_source("ical", _cal(tmp_path), data, url="https://example.org/feed.ics", taken=TAKEN)
    doc = yaml.safe_load((data / "imported" / "ical-feed.yaml").read_text())
    assert doc["sources"] == [{"id": "ical-feed", "document": "feed.ics", "url": "https://example.org/feed.ics",
                               "taken": "2026-11-23"}]
    assert all("ical-feed" in r["sources"] for k in ("people", "organizations", "talks") for r in doc[k])


def test_cli_import_error_has_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "frab", str(FIX / "truncated.xml"), "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {FIX / 'truncated.xml'}:39:11: the XML is broken") and "Traceback" not in err


def test_merge_two_talks_with_the_same_minted_id_are_numbered_and_updated_by_uid(tmp_path: Path) -> None:
    two = CAL.replace("END:VCALENDAR", "BEGIN:VEVENT\r\nUID:t2@example.org\r\nDTSTART;TZID=Europe/Paris:20240523T143000\r\n"
                                       "SUMMARY:{title} II\r\nDESCRIPTION:Speaker: {speaker}\r\nEND:VEVENT\r\nEND:VCALENDAR")
    src = tmp_path / "feed.ics"
    data = _data(tmp_path)
    src.write_text(two.format(title="Proofs", speaker="Jane Doe"))
    import_source("ical", src, data, taken=TAKEN)
    src.write_text(two.format(title="Lemmas", speaker="Jane Doe"))
    import_source("ical", src, data, taken=TAKEN)
    ds = load(data)
    assert {t.id: t.title for t in ds.talks.values()} == {"2024-05-23-jane-doe": "Lemmas",
                                                          "2024-05-23-jane-doe-2": "Lemmas II"}


def test_merge_matches_organisation_by_ror_before_name(tmp_path: Path) -> None:
    data = _data(tmp_path)
    (data / "orgs.yaml").write_text("organizations:\n  - {id: oxford, name: Univ. of Oxford, ror: 052gg0110, sources: [hand]}\n"
                                    "  - {id: oxford-2, name: Oxford, sources: [hand]}\n")
    src = tmp_path / "other.ttl"
    src.write_text("""@prefix s: <http://schema.org/> .
<https://x.example/p/jd> a s:Person ; s:name "Jane Doe" ; s:affiliation <https://x.example/o/ox> .
<https://x.example/o/ox> a s:Organization ; s:name "Oxford" ; s:sameAs <https://ror.org/052gg0110> .
""")
    import_source("rdf", src, data, taken=TAKEN)
    assert load(data).people["jd"].affiliations == ["oxford"]
