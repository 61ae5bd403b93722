"""A rebuild after editing one record is byte-identical to a full build of the edited data."""

from __future__ import annotations

from pathlib import Path

import pytest

from lod.publish import build
from lod.synth import write_synth


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rebuild_after_one_edit_equals_a_full_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")  # pages show the build's date
    data = tmp_path / "data"
    write_synth(20, data)
    site = tmp_path / "site"
    build(data, site, "http://localhost:8000/")
    before = _tree(site)

    series = sorted((data / "series").glob("*.yaml"))[0]
    text = series.read_text(encoding="utf-8")
    assert "title: On " in text
    series.write_text(text.replace("title: On ", "title: Revised On ", 1), encoding="utf-8")
    build(data, site, "http://localhost:8000/")  # over the previous site

    fresh = tmp_path / "fresh"
    build(data, fresh, "http://localhost:8000/")
    rebuilt, full = _tree(site), _tree(fresh)
    assert sorted(rebuilt) == sorted(full)
    assert [name for name in full if rebuilt[name] != full[name]] == []
    assert any(b"Revised On" in full[name] for name in full if name.startswith("talk/"))
    assert rebuilt != before
