"""`lod synth`: a synthetic archive that builds with no violations, deterministically."""

from __future__ import annotations

from pathlib import Path

import pytest

from lod.cli import main
from lod.publishing.build import build


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synth_output_builds_without_violations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["synth", "--talks", "150", "--out", str(data)]) == 0
    assert "150 talks" in capsys.readouterr().out
    result = build(data, tmp_path / "site", "http://localhost:8000/")
    assert result.report.violations == []
    assert result.counts["talks"] == 150
    assert result.counts["people"] >= 4 and result.counts["events"] >= 1 and result.counts["series"] >= 1
    # several time zones, online/hybrid attendance, TeX and Unicode in abstracts
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(data.rglob("*.yaml")))
    for needle in ("Europe/Paris", "Asia/Tokyo", "online", "hybrid", "$", "é"):
        assert needle in text


def test_synth_is_deterministic(tmp_path: Path) -> None:
    assert main(["synth", "--talks", "40", "--out", str(tmp_path / "a")]) == 0
    assert main(["synth", "--talks", "40", "--out", str(tmp_path / "b")]) == 0
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_synth_splits_a_kind_too_large_for_one_file_and_every_record_loads(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from lod import synth
    from lod.loading.files import MAX_FILE_BYTES
    from lod.loading.stage import load

    # 1M talks make 333k people, 50 MB in one file: over the loader's 20 MiB, so the build refused them.
    monkeypatch.setattr(synth, "PER_FILE", 7)
    assert main(["synth", "--talks", "60", "--out", str(tmp_path / "data")]) == 0
    names = sorted(p.name for p in (tmp_path / "data").glob("people*.yaml"))
    assert names == ["people-2.yaml", "people-3.yaml", "people.yaml"]
    assert len(load(tmp_path / "data").people) == 20
    assert all(p.stat().st_size < MAX_FILE_BYTES for p in (tmp_path / "data").rglob("*.yaml"))


def test_a_file_of_the_most_people_synth_puts_in_one_is_well_under_the_loaders_limit() -> None:
    import yaml

    from lod import synth
    from lod.loading.files import MAX_FILE_BYTES

    people = synth.synth_records(6000)["people.yaml"]["people"]
    text = yaml.dump({"people": people}, Dumper=yaml.SafeDumper, allow_unicode=True, sort_keys=False, width=120)
    per_person = len(text.encode("utf-8")) / len(people)  # the ids grow longer with the archive: a margin of 2
    assert per_person * synth.PER_FILE * 2 < MAX_FILE_BYTES
