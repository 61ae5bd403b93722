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
