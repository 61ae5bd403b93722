"""render_some with the previous render's PagesCache: the index page, the sitemap and talks.ics
assembled from the kept parts (or kept whole, when they cannot differ) have exactly the bytes
of a full render, after every kind of edit, and the cache it hands on is the one a full render would."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lod.publishing import feeds as feeds
from lod.publishing.pages import render_site, render_some
from lod.publishing.pages.stage import PagesCache, pages_cache, write_pages
from lod.publishing.build import prepare
from lod.synth import write_synth

from .conftest import SEED_DATA, TEST_BASE
from .edits import EDITS, Skip, apply_edit
from .test_pages_dirty import NOW, Version, _version, changed_keys, dirty

LATER = datetime(2031, 1, 1, tzinfo=UTC)  # every talk of the synthetic data is past by then


def _always(name: str) -> bool:
    return name in ("index.html", "talks.ics") or (name.startswith("sitemap") and name.endswith(".xml"))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Version:
    folder = tmp_path_factory.mktemp("cache-synth") / "data"
    write_synth(66, folder, seed=27)
    return _version(folder)


def _edited(base: Version, folder: Path, edit: str, seed: int) -> tuple[Version, str]:
    shutil.copytree(base.folder, folder)
    try:
        what = apply_edit(EDITS[edit], folder, random.Random(seed))
    except Skip:
        pytest.skip(f"the data has nothing {edit} applies to")
    return _version(folder), what


def check_cached(old: Version, new: Version, what: str, now: datetime = NOW) -> PagesCache:
    """render_some of *new* with *old*'s cache gives the full render's always-made files and cache."""
    assert old.out.cache is not None and new.out.cache is not None
    changed = changed_keys(old.p.dataset, new.p.dataset, old.folder, new.folder)
    aff = dirty(old, new.p, changed)
    full = new.out if now == NOW else render_site(new.p, now=now)
    some = render_some(new.p, aff.paths, aff.feeds, now=now, previous_talks_ics=old.out.files.get("talks.ics"),
                       cache=old.out.cache)
    # What it did not make again (some.kept) is the previous build's, byte for byte.
    assert [name for name in some.kept if old.out.files.get(name) != full.files.get(name)] == [], what
    names = sorted(name for name in full.files if _always(name) and name not in some.kept)
    assert sorted(name for name in some.files if _always(name)) == names, what
    assert [name for name in names if some.files[name] != full.files[name]] == [], what
    assert some.cache == full.cache, what  # the next rebuild starts from what a full build would leave
    return some.cache


# The edits that move items in the index's lists or change lastmods, by default; every kind
# with -m heavy (tests/test_pages_dirty.py's check_edit also passes the cache, for every kind).
# test_pages_dirty.check_edit checks the cache for every default kind of edit too; these two
# move list items and lastmods the most; the rest run with -m heavy.
DEFAULT = ("talk_undate", "retake_source")


@pytest.mark.parametrize(("edit", "seed"), [
    pytest.param(edit, n, marks=() if edit in DEFAULT else pytest.mark.heavy)
    for n, edit in enumerate(sorted(EDITS), 1)])
def test_cached_parts_give_the_full_render(synthetic: Version, tmp_path: Path, edit: str, seed: int) -> None:
    new, what = _edited(synthetic, tmp_path / "data", edit, seed)
    check_cached(synthetic, new, what)


def test_cached_parts_with_another_now(synthetic: Version, tmp_path: Path) -> None:
    """The upcoming/past split is made again from ``now``, not kept."""
    new, what = _edited(synthetic, tmp_path / "data", "talk_title", 3)
    check_cached(synthetic, new, what, now=LATER)


def test_cache_of_a_rebuild_serves_the_next(synthetic: Version, tmp_path: Path) -> None:
    """Two edits in a row, the second rebuild starting from the first rebuild's cache."""
    one, what1 = _edited(synthetic, tmp_path / "one", "talk_date", 5)
    cache = check_cached(synthetic, one, what1)
    two, what2 = _edited(one, tmp_path / "two", "retake_source", 6)
    rebuilt = Version(one.folder, one.p, one.out)
    rebuilt.out.cache = cache
    check_cached(rebuilt, two, what2)


def test_write_pages_leaves_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    write_synth(12, folder, seed=3)
    p = prepare(folder, TEST_BASE)
    assert pages_cache(p) is None
    write_pages(p, tmp_path / "site", now=NOW)
    cache = pages_cache(p)
    assert cache is not None and cache == render_site(p, now=NOW).cache
    assert ("talk", next(iter(p.dataset.talks))) in cache.items


@pytest.mark.heavy
@pytest.mark.parametrize("n", range(100))
def test_cached_parts_many_edits(synthetic: Version, tmp_path: Path, n: int) -> None:
    """Every kind of edit with many random choices (-m heavy)."""
    edit = sorted(EDITS)[n % len(EDITS)]
    new, what = _edited(synthetic, tmp_path / "data", edit, 2000 + n)
    check_cached(synthetic, new, what)
