"""What a query reads while it is evaluated (lod.publishing.pages.probe): records by id, or anything else (wide)."""

from __future__ import annotations

import pytest

from lod.publishing.build import prepare
from lod.publishing.pages import probe, reads
from lod.publishing.pages.probe import entry_key, is_entry, reads_of, touched_entries
from lod.publishing.pages.relations import DERIVED, SiteIndex
from lod.publishing.pages.reads import qkey

from .conftest import SEED_DATA, TEST_BASE


@pytest.fixture(scope="module")
def seed():  # type: ignore[no-untyped-def]
    return prepare(SEED_DATA, TEST_BASE)


def test_a_query_looking_records_up_by_id_reads_those(seed) -> None:  # type: ignore[no-untyped-def]
    ds = seed.dataset
    session = next(s for s in ds.sessions.values() if s.parent is not None)
    got = reads_of(seed.site_index, qkey("ancestors", "session", session.id))
    assert got is not None and ("session", session.id) in got and session.parent in got
    talk = next(iter(ds.talks.values()))
    assert reads_of(seed.site_index, qkey("feed", "talk", talk.id)) == {("talk", talk.id)}
    # a lookup in vain is a read too: the record being added changes the answer
    assert reads_of(seed.site_index, qkey("feed", "talk", "no-such-talk")) == {("talk", "no-such-talk")}


def test_a_query_reading_derived_lists_by_key_reads_those_entries(seed) -> None:  # type: ignore[no-untyped-def]
    assert reads_of(seed.site_index, qkey("talks_under", "series", "x")) == {entry_key("children", ("series", "x"))}
    assert reads_of(seed.site_index, qkey("person_talks", "p")) == {entry_key("roles", "p")}
    series = next(iter(seed.dataset.series))
    got = reads_of(seed.site_index, qkey("talks_under", "series", series))
    assert got is not None and entry_key("children", ("series", series)) in got and all(is_entry(k) for k in got)


@pytest.mark.parametrize("key", [qkey("years"), qkey("feed", "site", "talks"), qkey("all", "talk"), qkey("latest")])
def test_a_query_reading_a_whole_table_or_map_is_wide(seed, key) -> None:  # type: ignore[no-untyped-def]
    assert reads_of(seed.site_index, key) is None


def test_a_listing_of_records_holding_no_records_is_followed_whatever_its_length(seed) -> None:  # type: ignore[no-untyped-def]
    """A year's talks or a source's records are read as an entry however many they are: a talk holds
    no records, so what the listing reads of it is its own fields, and the entry changes when they do."""
    idx = seed.site_index
    year = max(idx.years, key=lambda y: len(idx.years[y]))
    assert len(idx.years[year]) > 1
    assert reads_of(idx, qkey("slice", "year", year, "1")) == {entry_key("years", year)}
    sid = max(idx.by_source, key=lambda s: len(idx.by_source[s]))
    got = reads_of(idx, qkey("slice", "source", sid, "1"))
    assert got is not None and entry_key("by_source", sid) in got


def test_only_the_records_that_can_hold_records_are_wrapped_for_the_probe() -> None:
    """Found from the fields' types: a series, event or session holds the talks written inside it."""
    assert {cls.__name__ for cls in probe.PLAIN} == {"Talk", "Person", "Organization", "Place", "Source"}


def test_the_records_of_an_entry_are_seen_as_records_by_id(seed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A record in an entry shows its own fields, never the records written inside it."""
    key, _ = next((k, r) for k, rs in seed.site_index.children.items() for _c, r in rs if getattr(r, "talks", None))
    monkeypatch.setitem(reads.QUERIES, "inside", lambda idx, kind, rid: [
        len(getattr(r, "talks", [])) for _k, r in idx.children.get((kind, rid), [])])
    monkeypatch.setitem(reads.QUERIES, "names", lambda idx, kind, rid: [
        r.id for _k, r in idx.children.get((kind, rid), [])])
    assert reads_of(seed.site_index, qkey("inside", *key)) is None
    assert reads_of(seed.site_index, qkey("names", *key)) == {entry_key("children", key)}


def _holds(value: object, rec: object) -> bool:
    if value is rec or value == getattr(rec, "id", None):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(_holds(v, rec) for v in value)


def test_a_site_index_of_one_record_holds_exactly_the_entries_that_record_is_in(seed) -> None:  # type: ignore[no-untyped-def]
    """What touched_entries relies on: each entry is built record by record, from that record's fields."""
    idx = seed.site_index
    every: set[object] = set()
    for kind, rec in seed.dataset.all_records():
        mine = touched_entries(seed.dataset.site, seed.minter, [(kind, rec)])
        every |= mine
        for key in mine:  # the entry of the whole data holds that record (or its id: sub_orgs, sub_places)
            name = key[0].removeprefix("m:")
            entry = next(v for k, v in getattr(idx, name).items() if entry_key(name, k) == key)
            assert _holds(entry, rec), (kind, rec.id, key)
    assert every == {entry_key(name, k) for name in DERIVED for k in getattr(idx, name)}


def test_reading_the_records_written_inside_a_record_is_wide(seed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    event = next(e for e in seed.dataset.events.values())
    monkeypatch.setitem(reads.QUERIES, "inside", lambda idx, eid: [t.id for t in idx.ds.events[eid].sessions])
    monkeypatch.setitem(reads.QUERIES, "method", lambda idx, eid: str(idx.ds.events[eid]))
    monkeypatch.setitem(reads.QUERIES, "field", lambda idx, eid: idx.ds.events[eid].name)
    assert reads_of(seed.site_index, qkey("inside", event.id)) is None
    assert reads_of(seed.site_index, qkey("method", event.id)) is None
    assert reads_of(seed.site_index, qkey("field", event.id)) == {("event", event.id)}


def test_a_property_of_a_record_holding_no_records_is_read_as_its_fields(seed) -> None:  # type: ignore[no-untyped-def]
    """A person's display_name is computed from the person's fields: an organisation's listing, sorted
    by it, reads the organisation's entries (its sub-organisations, its members) only."""
    oid = next(o for o in seed.dataset.organizations if seed.site_index.members.get(o))
    got = reads_of(seed.site_index, qkey("count", "organization", oid))
    assert got is not None and {entry_key("sub_orgs", oid), entry_key("members", oid)} <= got


def test_a_part_kept_by_one_probe_brings_what_it_read_to_the_next(seed) -> None:  # type: ignore[no-untyped-def]
    """Each slice of a listing reads its items, kept once per index with what they read; the count and
    the number of pages (which count the items without sorting them) read the same. A part that was
    wide stays wide."""
    idx = seed.site_index
    oid = next(o for o in seed.dataset.organizations if idx.members.get(o))
    first = reads_of(idx, qkey("slice", "organization", oid, "1"))
    assert first is not None and ("affiliated", (oid,)) in idx.__dict__[probe._KEPT]
    assert reads_of(idx, qkey("slice", "organization", oid, "2")) == first
    assert reads_of(idx, qkey("count", "organization", oid)) == first
    assert reads_of(idx, qkey("pages", "organization", oid)) == first
    idx.__dict__[probe._KEPT][("affiliated", (oid,))] = (None, None)
    assert reads_of(idx, qkey("slice", "organization", oid, "1")) is None
    del idx.__dict__[probe._KEPT][("affiliated", (oid,))]


def test_the_parts_kept_are_bounded_the_oldest_dropped_first(seed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    idx = seed.site_index
    probe.forget_kept(idx)
    monkeypatch.setattr(probe, "KEPT_LIMIT", 2)
    people = sorted(seed.dataset.people)[:3]
    for pid in people:
        assert reads_of(idx, qkey("person_talks", pid)) == {entry_key("roles", pid)}
    assert list(idx.__dict__[probe._KEPT]) == [("person_talks", (pid,)) for pid in people[1:]]
    probe.forget_kept(idx)


def test_every_map_the_site_index_derives_is_named_in_derived(seed) -> None:  # type: ignore[no-untyped-def]
    """A map left out of DERIVED would make every query reading it wide (sound, but evaluated on every rebuild)."""
    idx = SiteIndex(seed)
    maps = {name for name, value in vars(idx).items() if isinstance(value, dict) and not name.startswith("_")}
    assert maps == set(DERIVED)


def test_the_queries_of_one_listing_share_a_bucket_of_the_state() -> None:
    """A rebuild evaluates a listing's slices, count and pages again together: their answers are read
    from one bucket, not from one bucket each (289 pages of one source at 100k talks)."""
    from lod.publishing.pages.keys import LISTING_QUERIES, listing_of
    from lod.publishing.state_parts import bucket_of
    assert {name.removeprefix(reads.Q) for name in LISTING_QUERIES} <= set(reads.QUERIES)
    keys = [qkey("slice", "source", "s", str(n)) for n in range(1, 40)] + [
        qkey("count", "source", "s"), qkey("pages", "source", "s")]
    assert {listing_of(k) for k in keys} == {"source\x1es"} and len({bucket_of(k) for k in keys}) == 1
    assert listing_of(qkey("others", "room", "3")) == listing_of(qkey("slice", "place", "room", "3"))
    assert listing_of(qkey("talks_under", "series", "x")) is None


def test_a_long_entry_is_seen_once_for_every_probe_of_the_index(seed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A listing's slices, count and number of pages each look its entry up: one copy of it serves them all."""
    monkeypatch.setattr(probe, "SEEN_LONG", 1)
    idx = seed.site_index
    sid = next(s for s, items in idx.by_source.items()
               if any(type(r) not in probe.PLAIN for _k, r in items))  # one whose records are wrapped: a copy
    first = probe.Probe(idx).by_source.get(sid)
    assert first is not idx.by_source[sid] and probe.Probe(idx).by_source.get(sid) is first
    probe.forget_kept(idx)
    assert probe.Probe(idx).by_source.get(sid) is not first
