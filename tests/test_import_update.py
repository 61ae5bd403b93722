"""lod import updating talks that live in hand-written files, and the in-place YAML editor behind it."""

from __future__ import annotations

import difflib
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from lod.cli import main
from lod.errors import ImportFailed, MergeConflict
from lod.importers import import_source
from lod.importers.yamledit import RecordEdit, apply
from lod.loading.stage import load
from lod.publishing.build import build

REPO = Path(__file__).resolve().parents[1]
FIX = REPO / "tests" / "fixtures" / "import"
SEED = REPO / "data"
INDICO = FIX / "indico.json"
MFLM = Path("events") / "mflm-2024.yaml"
TAKEN = date(2026, 11, 23)

ADDED = [
    "-        sources: [mflm-2024-contributions]",
    "+        sources: [mflm-2024-contributions, indico-indico-example-org-1234]",
    "+        coauthors: [francois-charton]",
    "+        venue: institut-des-hautes-etudes-scientifiques-amphitheatre-leon-m",
    "+        url: https://indico.example.org/event/1234/contributions/5001/",
    "+        keywords: [theorem proving, LLM]",
    "+        references:",
    "+          - {title: doi 10.1126/science.adi5639, url: 'https://doi.org/10.1126/science.adi5639', "
    "doi: 10.1126/science.adi5639}",
    "+          - {title: arxiv 2401.00001, url: 'https://arxiv.org/abs/2401.00001'}",
    "+        recording: {url: 'https://video.example.org/watch/42'}",
    "+        slides: {url: 'https://indico.example.org/event/1234/contributions/5001/attachments/1/2/slides.pdf'}",
    "-        sources: [mflm-2024-contributions]",
    "+        sources: [mflm-2024-contributions, indico-indico-example-org-1234]",
    "+        url: https://indico.example.org/event/1234/contributions/5002/",
]


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _changed_lines(old: bytes, new: bytes) -> list[str]:
    """The removed and added lines of a unified diff, without headers or context."""
    diff = difflib.unified_diff(old.decode().splitlines(), new.decode().splitlines(), lineterm="", n=0)
    return [ln for ln in diff if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed data after importing indico.json, keeping the data's differing values."""
    data = tmp_path_factory.mktemp("update") / "data"
    shutil.copytree(SEED, data)
    import_source("indico", INDICO, data, prefer="data", taken=TAKEN)
    return data


def test_update_hand_written_talks_gain_missing_fields_only(updated: Path, tmp_path: Path) -> None:
    assert _changed_lines((SEED / MFLM).read_bytes(), (updated / MFLM).read_bytes()) == ADDED
    changed = {p.relative_to(updated) for p, b in _snapshot(updated).items()
               if not (SEED / p.relative_to(updated)).is_file() or (SEED / p.relative_to(updated)).read_bytes() != b}
    assert changed == {MFLM, Path("imported/indico-indico-example-org-1234.yaml"), Path(".import-state/indico-indico-example-org-1234.json")}
    ds = load(updated)
    hayat = ds.talks["2024-05-23-amaury-hayat"]
    assert hayat.sources == ["mflm-2024-contributions", "indico-indico-example-org-1234"]  # provenance of the added fields
    assert "indico-indico-example-org-1234" in ds.sources  # ... and its source record is written
    assert hayat.coauthors == ["francois-charton"] and hayat.recording is not None
    assert hayat.abstract is not None and hayat.abstract.endswith("new perspectives in the area.\n".rstrip())
    result = build(updated, tmp_path / "site", "http://localhost:8000/")
    assert result.report.violations == []


def test_update_rerun_is_a_no_op(updated: Path) -> None:
    before = _snapshot(updated)
    again = import_source("indico", INDICO, updated, prefer="data", taken=TAKEN)
    assert again.written == [] and again.plan.changed == []
    assert _snapshot(updated) == before


def test_update_without_prefer_is_a_conflict_naming_both_values(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    before = _snapshot(data)
    with pytest.raises(MergeConflict) as exc:
        import_source("indico", INDICO, data, taken=TAKEN)
    lines = str(exc.value).split("\n")
    assert lines[0] == "3 conflicts between the data and the import; nothing was written."
    assert lines[2] == (f"  {data}/events/mflm-2024.yaml:28:16: talk 2024-05-23-julia-kempe, field title: the data has "
                        "'Synthetic Data -Friend or Foe in the Age of Scaling?', the import has "
                        "'Synthetic Data - Friend or Foe in the Age of Scaling?'.")
    assert _snapshot(data) == before


def test_update_prefer_import_replaces_differing_values(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    result = import_source("indico", INDICO, data, prefer="import", taken=TAKEN)
    changed = _changed_lines((SEED / MFLM).read_bytes(), (data / MFLM).read_bytes())
    assert changed[:3] == [
        "-        abstract: |",
        "-          Large Language models have known large successes in recent years. This naturally raises the "
        "question: can AI assist mathematicians in solving open problems in mathematics? We will explore how a "
        "language model can be trained to learn a mathematical intuition on open problems and guess candidate "
        "solutions, with a focus on a few examples. We will also explore the application of LLM to automated "
        "theorem proving with an online training procedure and discuss new perspectives in the area.",
        "+        abstract: Large Language models have known large successes in recent years.",
    ]
    assert "-        title: Synthetic Data -Friend or Foe in the Age of Scaling?" in changed
    assert "+        title: Synthetic Data - Friend or Foe in the Age of Scaling?" in changed
    ds = load(data)
    assert ds.talks["2024-05-23-julia-kempe"].title == "Synthetic Data - Friend or Foe in the Age of Scaling?"
    assert ds.talks["2024-05-23-amaury-hayat"].abstract == "Large Language models have known large successes in recent years."
    assert [n for n in result.plan.notes if not n.startswith("not imported: ")][-1] == (
        f"talk 2024-05-23-julia-kempe ({data}/{MFLM}:27:9) is written by hand; "
        "updated in place, added: url; replaced: title, abstract")


def test_update_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEED, data)
    before = _snapshot(data)
    assert main(["import", "indico", str(INDICO), "--data", str(data), "--dry-run", "--prefer", "data"]) == 0
    out = capsys.readouterr().out
    assert f"--- {data}/{MFLM}\n+++ {data}/{MFLM}\n" in out
    assert "         ids: {indico-contribution: \"2\"}\n-        sources: [mflm-2024-contributions]\n" \
           "+        sources: [mflm-2024-contributions, indico-indico-example-org-1234]\n" \
           "+        url: https://indico.example.org/event/1234/contributions/5002/\n \n" in out
    assert _snapshot(data) == before


# ---------------------------------------------------------------- the in-place editor

def _yaml_files() -> list[Path]:
    return sorted([*SEED.rglob("*.yaml"), *(REPO / "tests" / "golden").glob("*/data/*.yaml")])


def _records(node: yaml.Node) -> list[yaml.MappingNode]:
    """Every block mapping that is an item of a sequence: the records of a file."""
    out: list[yaml.MappingNode] = []
    if isinstance(node, yaml.MappingNode):
        for _, v in node.value:
            out += _records(v)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            if isinstance(v, yaml.MappingNode) and not v.flow_style:
                out.append(v)
            out += _records(v)
    return out


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_yamledit_leaves_untouched_text_byte_identical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert apply(text, [], str(path)) == text
    records = _records(yaml.compose(text, Loader=yaml.SafeLoader))
    edits = [RecordEdit(r.start_mark.line + 1, r.start_mark.column + 1, add={"zz_added": "x"}) for r in records]
    out = apply(text, edits, str(path))
    changed = _changed_lines(text.encode(), out.encode())
    # one added line per record, nothing removed: every other byte is where it was
    assert all(ln.startswith("+") and ln.strip().endswith("zz_added: x") for ln in changed)
    assert len(changed) == len(records)
    assert "".join(ln for ln in out.splitlines(keepends=True) if "zz_added: x" not in ln) == text


def test_yamledit_keeps_windows_line_breaks() -> None:
    text = "talks:\r\n  - id: a  # first\r\n    sources: [hand]\r\n\r\n  - id: b\r\n    sources: [hand]\r\n"
    out = apply(text, [RecordEdit(2, 5, add={"abstract": "one\ntwo\n"}, append={"sources": ["imp"]})])
    assert out == ("talks:\r\n  - id: a  # first\r\n    sources: [hand, imp]\r\n    abstract: |\r\n      one\r\n"
                   "      two\r\n\r\n  - id: b\r\n    sources: [hand]\r\n")


def test_yamledit_replaces_block_values_and_appends_to_lists() -> None:
    text = ("talks:  # hand-written\n"
            "  - id: a\n"
            "    title: 'Old'   # keep this comment? no: the value is replaced\n"
            "    abstract: >-\n"
            "      folded\n"
            "      text\n"
            "\n"
            "    sources:\n"
            "      - hand\n"
            "    # trailing comment\n"
            "\n"
            "  - id: b\n"
            "    sources: [hand]\n")
    out = apply(text, [RecordEdit(2, 5, add={"url": "https://x.org/"}, replace={"abstract": "one\ntwo\n", "title": "New"},
                                  append={"sources": ["imp"]}),
                       RecordEdit(12, 5, append={"sources": ["imp"]})])
    assert out == ("talks:  # hand-written\n"
                   "  - id: a\n"
                   "    title: New   # keep this comment? no: the value is replaced\n"
                   "    abstract: |\n"
                   "      one\n"
                   "      two\n"
                   "\n"
                   "    sources:\n"
                   "      - hand\n"
                   "      - imp\n"
                   "    url: https://x.org/\n"
                   "    # trailing comment\n"
                   "\n"
                   "  - id: b\n"
                   "    sources: [hand, imp]\n")


PEOPLE = ("sources:\n  - {id: hand, document: notes.txt, taken: 2024-01-01}\n"
          "people:\n  - {id: jane-doe, given_name: Jane, family_name: Doe, sources: [hand]}\n")


def _feed(tmp_path: Path) -> Path:
    """One talk, 09:30 to 10:30 in Paris, by Jane Doe."""
    feed = tmp_path / "feed.ics"
    feed.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:t1@example.org\r\n"
                    "DTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Paris:20240523T093000\r\n"
                    "DTEND;TZID=Europe/Paris:20240523T103000\r\nSUMMARY:Proofs\r\nDESCRIPTION:Speaker: Jane Doe\r\n"
                    "END:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    return feed


def test_update_end_against_a_duration_is_compared_not_added(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    talk = ("talks:\n  - id: t1\n    title: Proofs\n    speakers: [jane-doe]\n    start: 2024-05-23T09:30\n"
            "    duration: {}\n    timezone: Europe/Paris\n    sources: [hand]\n")
    (data / "records.yaml").write_text(PEOPLE + talk.format("PT1H"), encoding="utf-8")
    result = import_source("ical", _feed(tmp_path), data, taken=TAKEN)
    assert result.written == []  # the same length, said another way: nothing to add
    (data / "records.yaml").write_text(PEOPLE + talk.format("PT2H"), encoding="utf-8")
    with pytest.raises(MergeConflict) as exc:
        import_source("ical", _feed(tmp_path), data, taken=TAKEN)
    assert str(exc.value).split("\n")[1] == (f"  {data}/records.yaml:10:15: talk t1, field end: the data has duration "
                                             "'PT2H', the import has '2024-05-23T10:30'.")


def test_update_talk_written_on_one_line_stops_the_import(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "records.yaml").write_text(
        PEOPLE + "talks:\n  - {id: t1, title: Proofs, speakers: [jane-doe], start: 2024-05-23T09:30, "
        "timezone: Europe/Paris, sources: [hand]}\n", encoding="utf-8")
    feed = _feed(tmp_path)
    before = _snapshot(data)
    with pytest.raises(ImportFailed) as exc:
        import_source("ical", feed, data, taken=TAKEN)
    assert str(exc.value) == (
        f"{data}/records.yaml:6:5: the record is written on one line ({{…}}), which cannot be edited in place; "
        "nothing was written. Fix: write the talk one field a line, or give it the imported "
        "fields (end) by hand.")
    assert _snapshot(data) == before
