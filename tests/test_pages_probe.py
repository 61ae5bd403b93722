"""What a query reads while it is evaluated (lod.publishing.pages.probe): records by id, or anything else (wide)."""

from __future__ import annotations

import pytest

from lod.publishing.build import prepare
from lod.publishing.pages import reads
from lod.publishing.pages.probe import reads_of
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


@pytest.mark.parametrize("key", [qkey("talks_under", "series", "x"), qkey("person_talks", "p"), qkey("years"),
                                 qkey("feed", "site", "talks"), qkey("all", "talk"), qkey("latest")])
def test_a_query_reading_a_derived_list_or_a_whole_table_is_wide(seed, key) -> None:  # type: ignore[no-untyped-def]
    assert reads_of(seed.site_index, key) is None


def test_reading_the_records_written_inside_a_record_is_wide(seed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    event = next(e for e in seed.dataset.events.values())
    monkeypatch.setitem(reads.QUERIES, "inside", lambda idx, eid: [t.id for t in idx.ds.events[eid].sessions])
    monkeypatch.setitem(reads.QUERIES, "method", lambda idx, eid: str(idx.ds.events[eid]))
    monkeypatch.setitem(reads.QUERIES, "field", lambda idx, eid: idx.ds.events[eid].name)
    assert reads_of(seed.site_index, qkey("inside", event.id)) is None
    assert reads_of(seed.site_index, qkey("method", event.id)) is None
    assert reads_of(seed.site_index, qkey("field", event.id)) == {("event", event.id)}
