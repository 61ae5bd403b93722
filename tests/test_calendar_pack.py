"""The calendar pack (lod.publishing.calendar_pack): a rebuild's splice writes the bytes of a pack
written whole, touching only the shards it must, the reader finds every calendar and no other,
and a damaged pack is a clear error."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from lod.errors import BuildError
from lod.publishing.calendar_pack import PACK, Calendars, Parts, packed, shard_files, shard_name, shard_of, update
from lod.publishing.pages.parallel import fork_map


def whole(root: Path, calendars: dict[str, bytes]) -> dict[str, bytes]:
    """The pack a full build writes of *calendars*: its shard files' bytes by name (none: no pack)."""
    parts = Parts(root)
    for name, data in calendars.items():
        parts.write(name, data)
    parts.finish()
    assert parts.files == shard_files(root)
    return {name: (root / name).read_bytes() for name in parts.files}


def names(rng: random.Random, n: int) -> list[str]:
    kinds = ["event", "person", "series", "talk"]
    return [f"{rng.choice(kinds)}/{rng.randrange(10**6):06d}.ics" for _ in range(n)]


def body(rng: random.Random, name: str) -> bytes:
    size = rng.choice([0, 1, 30, 400, 70_000])  # beyond the splice's kernel-copy threshold too
    return f"BEGIN:VCALENDAR\r\nX-NAME:{name}\r\n".encode() + bytes(rng.randrange(256) for _ in range(size % 997)) * (
        size // 997 + 1)


@pytest.mark.parametrize("seed", range(40))
def test_a_spliced_pack_is_the_pack_written_whole(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    old = {name: body(rng, name) for name in names(rng, rng.choice([0, 1, 5, 60]))}
    site, scratch = tmp_path / "site", tmp_path / "scratch"
    scratch.mkdir()
    whole(site, old)
    new = dict(old)
    changed: dict[str, bytes] = {}
    gone: set[str] = set()
    for name in rng.sample(sorted(old), k=min(len(old), rng.randrange(4))):  # edited
        changed[name] = new[name] = body(rng, name) + b"edited"
    same = [name for name in old if name not in changed][:rng.randrange(2)]  # made again, the same bytes
    changed.update((name, old[name]) for name in same)
    for name in rng.sample(sorted(old), k=min(len(old), rng.randrange(3))):  # removed
        gone.add(name)
        changed.pop(name, None)
        new.pop(name)
    for name in names(rng, rng.randrange(3)):  # added
        changed[name] = new[name] = body(rng, name)
    gone.add("talk/never-there.ics")  # asked for, never made: nothing to remove
    files = {**changed, "talks.ics": b"site-wide", "talk/x.html": b"<p>"}
    got = update(site, scratch, files, [*changed, *gone])
    assert got.files == {"talks.ics": b"site-wide", "talk/x.html": b"<p>"}  # published as before
    expected = whole(tmp_path / "full", new)
    # Only the shards of a calendar that changed, came or went are written or removed.
    touched = {shard_name(shard_of(name.encode())) for name in new.keys() ^ old.keys()} | {
        shard_name(shard_of(name.encode())) for name in new.keys() & old.keys() if new[name] != old[name]}
    assert set(got.shards) | set(got.remove) == touched
    for name, shard in got.shards.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(shard, site / name)
    for name in got.remove:
        (site / name).unlink()
    assert {name: (site / name).read_bytes() for name in shard_files(site)} == expected
    reader = Calendars(site)
    assert {name: reader.calendar(name) for name in new} == new
    assert {reader.calendar(name) for name in gone} == {None}


def test_the_reader_finds_each_calendar_and_nothing_else(tmp_path: Path) -> None:
    calendars = {"event/a.ics": b"A", "person/b.ics": b"", "series/c.ics": b"CC", "talk/d.ics": b"DDD",
                 "talk/e.ics": b"E" * 100}
    whole(tmp_path, calendars)
    reader = Calendars(tmp_path)
    assert {name: reader.calendar(name) for name in calendars} == calendars
    for missing in ("event/0.ics", "person/bb.ics", "talk/f.ics", "zzz/z.ics", "talks.ics", "talk/d.ttl"):
        assert reader.calendar(missing) is None, missing
    assert Calendars(tmp_path / "none").calendar("talk/d.ics") is None  # a site without a pack


def test_calendars_with_long_names_and_bodies_that_look_like_headers_are_packed(tmp_path: Path) -> None:
    calendars = {"person/" + "x" * 1500 + ".ics": b"7\tfake\n" * 100, "talk/a.ics": b"\n" * 513, "talk/b.ics": b""}
    whole(tmp_path, calendars)
    reader = Calendars(tmp_path)
    assert {name: reader.calendar(name) for name in calendars} == calendars


def test_the_reader_opens_a_pack_replaced_by_a_rebuild(tmp_path: Path) -> None:
    whole(tmp_path, {"talk/a.ics": b"one"})
    reader = Calendars(tmp_path)
    assert reader.calendar("talk/a.ics") == b"one"
    other = tmp_path / "other"
    for name in whole(other, {"talk/a.ics": b"two!", "talk/b.ics": b"new"}):
        os.replace(other / name, tmp_path / name)
    assert (reader.calendar("talk/a.ics"), reader.calendar("talk/b.ics")) == (b"two!", b"new")


def test_forked_workers_pack_what_one_process_packs(tmp_path: Path) -> None:
    rng = random.Random(5)
    calendars = {name: body(rng, name) for name in names(rng, 80)}
    expected = whole(tmp_path / "one", calendars)
    parts = Parts(tmp_path / "many")
    items = sorted(calendars.items(), reverse=True)
    list(fork_map(lambda item: parts.write(*item), items, 2))
    assert parts.finish() == len(calendars)
    assert {name: (tmp_path / "many" / name).read_bytes() for name in shard_files(tmp_path / "many")} == expected
    assert os.listdir(tmp_path / "many") == [PACK]  # the workers' parts are gone
    assert 1 < len(expected) <= len(calendars)  # spread over shards


def test_only_the_resources_calendars_are_packed() -> None:
    assert packed("talk/x.ics") and packed("person/x.ics") and packed("series/x.ics") and packed("event/x.ics")
    assert not packed("talks.ics") and not packed("talk/x.ttl") and not packed("talk/x.html")


@pytest.mark.parametrize("damage, says", [(lambda b: b"lod-calendars 9" + b[15:], "is not a calendar pack"),
                                          (lambda b: b[:-1], "is damaged"),
                                          (lambda b: b[:40], "is cut short")])
def test_a_rebuild_over_a_damaged_pack_says_so_and_how_to_recover(damage, says: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    whole(site, {"talk/a.ics": b"A" * 50, "talk/b.ics": b"B" * 50})
    shard = site / shard_name(shard_of(b"talk/a.ics"))
    shard.write_bytes(damage(shard.read_bytes()))
    with pytest.raises(BuildError) as info:
        update(site, tmp_path, {"talk/a.ics": b"new"}, ["talk/a.ics"])
    assert str(info.value) == (f"{shard} {says}{' this version of lod reads' if 'not' in says else ''}; "
                               "build the site again in full (lod build --full).")
    with pytest.raises(ValueError):  # lod serve: a 503, never wrong bytes (tests/test_documents.py)
        Calendars(site).calendar("talk/a.ics")
    shutil.rmtree(site)



def test_serving_a_site_built_before_the_pack_was_sharded_says_to_build_it_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lod.cli import main

    site = tmp_path / "site"
    site.mkdir()
    (site / ".lod-site.json").write_text('{"base_url": "https://example.org/", "title": "T", "generator": "lod"}')
    (site / f"{PACK}.pack").write_bytes(b"lod-calendars 1\n")  # the one file an earlier lod wrote
    assert main(["serve", "--site", str(site), "--port", "0"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {site} was built by an earlier version of lod: its resources' calendars are in one file, "
        f"{PACK}.pack, which this version does not read; run 'lod build' again to rebuild the site.")
