"""The read-sets stored in chunks of consecutive keys (lod.publishing.link_chunks)."""

from __future__ import annotations

import random
from array import array

import pytest

from lod.publishing import link_chunks
from lod.publishing.link_chunks import FIRST, Chunks, chunks_of, pack, read, rewrite, store, unpack
from lod.publishing.link_rows import Changed, StoredRows
from lod.publishing.links import key_text


def _row(*numbers: int) -> bytes:
    return array("I", numbers).tobytes()


def _stored(table: dict[str, bytes]) -> tuple[StoredRows, Chunks]:
    return read(sorted(table.items()))


def _apply(table: dict[str, bytes], upserts: list[tuple[str, bytes]], deletes: list[tuple[str]]) -> None:
    """As ``Store.apply`` does: the upserts first, then the deletes."""
    table.update(upserts)
    for (label,) in deletes:
        del table[label]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link_chunks, "CHUNK", 4)


def test_rows_written_in_chunks_read_back_as_they_were() -> None:
    rows = [(f"html\x1fp{n:03d}", _row(n, n + 1)) for n in range(21)]
    table = dict(chunks_of(rows))
    assert sorted(len(unpack(blob)[0]) for blob in table.values()) == [1, 4, 4, 4, 4, 4]
    assert FIRST in table and all(label in {t for t, _v in rows} for label in table if label)
    got, chunks = _stored(table)
    assert list(zip(got.texts, map(got.row, range(len(got))))) == rows
    assert chunks.starts == [0, 4, 8, 12, 16, 20]
    few = dict(chunks_of(rows[:8]))  # up to twice a chunk: one chunk
    assert list(few) == [FIRST]


@pytest.mark.parametrize("seed", range(12))
def test_a_rebuild_writes_the_chunks_of_the_rows_it_put_or_dropped_and_reads_back_its_rows(seed: int) -> None:
    rng = random.Random(seed)
    keys = [("html", f"p{n:03d}") for n in range(0, 200, 2)]
    before = {k: _row(rng.randrange(100)) for k in rng.sample(keys, 40)}
    table = dict(chunks_of(sorted((key_text(k), v) for k, v in before.items())))
    for _build in range(4):
        stored, chunks = _stored(table)
        changed = Changed(stored)
        expected = dict(before)
        for _edit in range(rng.randrange(1, 12)):
            key = ("html", f"p{rng.randrange(-5, 205):03d}") if rng.random() < 0.5 else rng.choice(keys)
            if key in changed and rng.random() < 0.5:
                del changed[key]
                del expected[key]
            else:
                changed[key] = expected[key] = _row(rng.randrange(100))
        old = dict(table)
        upserts, deletes = store(changed, stored, chunks)
        _apply(table, upserts, deletes)
        got, _chunks = _stored(table)
        assert dict(zip(got, map(got.row, range(len(got))))) == expected
        # a chunk none of whose keys was put or dropped is as it was
        touched = {key_text(k) for k in [*changed.put, *changed.shadowed]}
        labels = sorted(old)
        for i, label in enumerate(labels):
            upto = labels[i + 1] if i + 1 < len(labels) else "\uffff"
            if not any(label <= text < upto for text in touched):
                assert table.get(label) == old[label]
        before = expected


def test_a_key_sorting_before_every_chunk_goes_to_the_first_and_an_emptied_first_chunk_stays() -> None:
    table = {FIRST: pack(["html\x1fm"], [_row(1)]), "html\x1fp": pack(["html\x1fp"], [_row(2)])}
    stored, chunks = _stored(table)
    changed = Changed(stored, [("html", "m")])
    upserts, deletes = rewrite(changed, stored, chunks)
    assert upserts == [(FIRST, pack([], []))] and deletes == []
    _apply(table, upserts, deletes)
    stored, chunks = _stored(table)
    changed = Changed(stored)
    changed[("calendar", "a.ics")] = _row(3)
    _apply(table, *rewrite(changed, stored, chunks))
    got, _chunks = _stored(table)
    assert got.texts == ["calendar\x1fa.ics", "html\x1fp"]


def test_read_sets_not_made_over_the_rows_read_are_stored_whole() -> None:
    table = dict(chunks_of([(f"html\x1fp{n:02d}", _row(n)) for n in range(20)]))
    stored, chunks = _stored(table)
    new = {("html", "q"): _row(1)}
    upserts, deletes = store(new, stored, chunks)
    _apply(table, upserts, deletes)
    got, _chunks = _stored(table)
    assert list(got) == [("html", "q")] and list(table) == [FIRST]


def test_a_chunk_that_does_not_hold_its_rows_is_refused() -> None:
    good = pack(["html\x1fa", "html\x1fb"], [_row(1), _row(2)])
    texts, joined, sizes = unpack(good)
    import pickle
    with pytest.raises(ValueError, match="does not hold its rows"):
        unpack(pickle.dumps((texts, joined[:-1], sizes.tobytes())))
    with pytest.raises(ValueError, match="before its label"):
        read([("html\x1fz", good)])
    with pytest.raises(ValueError, match="not in key order"):
        read([(FIRST, pack(["html\x1fb", "html\x1fa"], [_row(1), _row(2)]))])


def test_read_sets_changed_over_the_rows_as_the_state_hands_them_on_write_only_their_chunks() -> None:
    """The state hands the rows on as an unchanged ``Changed`` (``Store.load``), which the merge changes."""
    table = dict(chunks_of([(f"html\x1fp{n:02d}", _row(n)) for n in range(20)]))
    stored, chunks = _stored(table)
    handed = Changed(stored)
    merged = Changed(handed, [("html", "p19")])
    upserts, deletes = store(merged, handed, chunks)
    assert [label for label, _blob in upserts] == ["html\x1fp16"] and deletes == []


def test_read_sets_over_a_table_with_no_chunk_are_stored_whole() -> None:
    stored, chunks = _stored({})
    handed = Changed(stored)
    merged = Changed(handed)
    merged[("html", "a")] = _row(1)
    upserts, deletes = store(merged, handed, chunks)
    table: dict[str, bytes] = {}
    _apply(table, upserts, deletes)
    got, _chunks = _stored(table)
    assert list(got) == [("html", "a")] and list(table) == [FIRST] and deletes == []
