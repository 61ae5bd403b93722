"""What the page workers keep while they render: parts made once and reused, not once per page depth.

At 100k talks each page worker held about a million talk list items (one per talk, form and
page depth) and as many read-sets; these tests check the parts are kept once and that a
page at any depth gets the same bytes as a part made for its own depth.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import Markup

from lod.publishing.build import Prepared, prepare
from lod.publishing.pages.helpers import LINKS
from lod.publishing.pages.items import talk_item_html
from lod.publishing.pages.reads import RECORDER
from lod.publishing.pages.render import Renderer, site_paths

from .conftest import SEED_DATA, TEST_BASE
from .test_incremental import _tree


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    return prepare(SEED_DATA, TEST_BASE)


def test_a_talk_item_is_kept_once_for_pages_at_every_depth(prepared: Prepared) -> None:
    r = Renderer(prepared, datetime(2025, 1, 1, tzinfo=UTC))
    t = next(iter(prepared.dataset.talks.values()))
    made = {up: r.fragments.talk_item(up, t, True, None) for up in ("", "../", "../../")}
    assert len(r.fragments._talk_items) == 1
    for up, html in made.items():  # the bytes of an item made for that depth alone
        assert html == talk_item_html(r.fragments.helpers(up), t, True, None)
        assert LINKS not in html and isinstance(html, Markup)
    assert made["../"] != made[""]  # the prefix is in its links


def test_no_page_shows_the_links_placeholder(prepared: Prepared) -> None:
    r = Renderer(prepared, datetime(2025, 1, 1, tzinfo=UTC))
    for path in site_paths(prepared):
        assert LINKS not in r.page(path).html.decode("utf-8"), path


def test_parts_read_the_same_records_share_one_read_set(prepared: Prepared) -> None:
    r = Renderer(prepared, datetime(2025, 1, 1, tzinfo=UTC))
    t = next(iter(prepared.dataset.talks.values()))
    r.fragments.talk_item("", t, False, None)
    r.fragments.talk_item("", t, False, None, True)  # another form of the same talk's item
    sets = [reads for _value, reads in r.fragments._talk_items.values()]
    assert len(sets) == 2 and sets[0] is sets[1]


def test_a_new_renderer_forgets_the_last_builds_shared_read_sets(prepared: Prepared) -> None:
    r = Renderer(prepared, datetime(2025, 1, 1, tzinfo=UTC))
    r.fragments.talk_item("", next(iter(prepared.dataset.talks.values())), False, None)
    assert RECORDER._sets
    Renderer(prepared, datetime(2025, 1, 1, tzinfo=UTC))
    assert not RECORDER._sets


def test_pages_are_the_same_however_few_descriptions_the_json_ld_builder_keeps(
        prepared: Prepared, monkeypatch: pytest.MonkeyPatch) -> None:
    from lod.publishing.pages import jsonld

    def render_all() -> dict[str, bytes]:
        r = Renderer(prepared, datetime(2025, 1, 1, tzinfo=UTC))
        pages = {path: r.page(path).html for path in site_paths(prepared)}
        assert len(r.jsonld._subjects) <= jsonld.SUBJECTS_KEPT
        return pages

    kept = render_all()
    monkeypatch.setattr(jsonld, "SUBJECTS_KEPT", 1)
    assert render_all() == kept


def test_kept_items_are_held_deflated_and_give_back_the_same_text() -> None:
    from lod.publishing.pages.packed import SEED, Packer

    texts = [f"<li><a href=\"\x00talk/t{n}.html\">Talk {n} – 𝔼[X²]</a></li>" for n in range(40)]
    packer = Packer()
    packed = [packer.pack(text) for text in texts]
    assert all(isinstance(p, str) for p in packed[:SEED - 1])  # the dictionary's seed, as it was
    assert all(isinstance(p, bytes) and len(p) < len(t.encode()) for p, t in zip(packed[SEED:], texts[SEED:]))
    assert [packer.unpack(p) for p in packed] == texts
    long = "".join(f"<li>{n} – 𝔼[X²] {n * 7919 % 10007}</li>" for n in range(20_000))  # past the 32 KB window
    assert packer.unpack(packer.pack(long)) == long


def test_description_digests_taken_as_pages_read_equal_those_read_again(tmp_path: Path) -> None:
    # The pages take the digest of each part of a description they read while its triples are
    # at hand (not read back from disk again at the job's end); a rebuild compares them with
    # ``desc_digest`` of its own descriptions, so they must be the same bytes.
    from lod.publishing.build import build
    from lod.publishing.pages.keys import ARG, DESC, desc_digest
    from lod.publishing.pipeline import read_state

    build(SEED_DATA, tmp_path / "site", base_url=TEST_BASE)
    state = read_state(tmp_path / "site")
    assert state is not None
    taken = {key: got for key, got in state.extra["answers"].items() if key[0] == DESC}
    assert {len(key[1].split(ARG)) for key in taken} == {1, 2, 3}  # the whole, a subject's, a predicate's
    descriptions = prepare(SEED_DATA, TEST_BASE).descriptions
    assert {key: desc_digest(descriptions, key[1]) for key in taken} == taken


def test_a_recent_cache_keeps_what_was_used_since_its_last_turn_and_at_most_twice_its_limit() -> None:
    from lod.publishing.pages.recent import Recent

    kept: Recent[str, int] = Recent(3)
    for n, key in enumerate("abc"):
        kept[key] = n
    assert len(kept) == 3 and kept.get("a") == 0  # the third made a turn: a, b, c are the old ones
    kept["d"] = 3
    kept["e"] = 4  # the new generation (a, d, e) is full: b and c go
    assert "b" not in kept and "c" not in kept and kept.get("b") is None
    assert [kept.get(k) for k in "ade"] == [0, 3, 4]
    for n in range(100):
        kept[f"k{n}"] = n
        assert len(kept) < 6
    assert kept.get("zz", -1) == -1
    with pytest.raises(ValueError, match="a Recent cache needs a limit of at least 1, not 0"):
        Recent(0)


def test_a_site_and_its_read_sets_are_the_same_however_little_the_renderers_caches_keep(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The renderer's caches keep the recent entries only (``Recent``): what they drop is made
    # again, with what it reads, so the pages and what the next build compares are the same.
    from lod.publishing.build import build
    from lod.publishing.pages import recent
    from lod.publishing.pipeline import read_state
    from lod.synth import write_synth

    data = tmp_path / "data"
    write_synth(30, data)

    def built(name: str) -> tuple[dict[str, bytes], dict[tuple[str, str], frozenset[tuple[str, str]]], dict]:
        out = tmp_path / name
        build(data, out, TEST_BASE)
        state = read_state(out)
        assert state is not None
        files = _tree(out)
        links = state.extra["links"]
        return files, {node: links[node] for node in links}, dict(state.extra["answers"])

    kept = built("kept")
    monkeypatch.setattr(recent, "LIMIT", 1)
    dropped = built("dropped")
    assert dropped[0].keys() == kept[0].keys()
    assert [name for name in kept[0] if dropped[0][name] != kept[0][name]] == []
    assert dropped[1] == kept[1]
    assert dropped[2] == kept[2]
