"""A rebuild after editing one record reuses the cached validation and is byte-identical to a full build."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from lod.publish import VALIDATION_CACHE, build, read_validation_cache
from lod.synth import write_synth

V = importlib.import_module("lod.validate")  # the module (lod/__init__ re-exports the function)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rebuild_after_one_edit_equals_a_full_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")  # pages show the build's date
    data = tmp_path / "data"
    write_synth(20, data)
    site = tmp_path / "site"
    build(data, site, "http://localhost:8000/")
    assert (site / VALIDATION_CACHE).is_file()

    series = sorted((data / "series").glob("*.yaml"))[0]
    text = series.read_text(encoding="utf-8")
    assert "title: On " in text
    series.write_text(text.replace("title: On ", "title: Revised On ", 1), encoding="utf-8")

    validated: list[str] = []
    original = V._validate_shard

    def spy(text: str, owners: list[str]) -> list[tuple[str, ...]]:
        validated.extend(owners)
        return original(text, owners)

    monkeypatch.setattr(V, "_validate_shard", spy)
    build(data, site, "http://localhost:8000/")  # incremental: the cache of the previous site
    assert len(validated) == 1 and "/talk/" in validated[0], validated

    fresh = tmp_path / "fresh"
    build(data, fresh, "http://localhost:8000/")  # no cache: everything validated
    incremental, full = _tree(site), _tree(fresh)
    assert sorted(incremental) == sorted(full)
    different = [name for name in full if incremental[name] != full[name]]
    assert different == []
    assert any(b"Revised On" in full[name] for name in full if name.startswith("talk/"))


def test_a_stale_or_broken_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")
    data = tmp_path / "data"
    write_synth(8, data)
    site = tmp_path / "site"
    build(data, site, "http://localhost:8000/")
    reference = _tree(site)
    for broken in ('{"fingerprint": "other", "results": {}}', "not json"):
        (site / VALIDATION_CACHE).write_text(broken, encoding="utf-8")
        assert read_validation_cache(site) == {}
    build(data, site, "http://localhost:8000/")  # with the broken cache: everything validated again
    assert _tree(site) == reference
