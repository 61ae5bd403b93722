"""The records the pages render from, made from each data file's row when read (``record_rows``)."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from lod.loading import resolved_rows
from lod.loading.stage import load_files, resolved_blobs
from lod.model.kinds import TABLES
from lod.publishing.record_rows import RecordRows, RowTable, rows_dataset
from lod.synth import write_synth


class _Rows(dict[str, bytes]):
    def part(self, rel: str, offset: int, length: int) -> memoryview:
        return memoryview(self[rel])[offset:offset + length]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, _Rows]:
    """A synthetic archive loaded, with its rows: its people.yaml holds more than a chunk."""
    data = tmp_path_factory.mktemp("rows") / "data"
    write_synth(80, data)
    loaded = load_files(data)
    return loaded, _Rows(resolved_blobs(loaded.keys, loaded.dataset))


def test_a_row_gives_back_its_records_in_file_order_in_chunks(synthetic: tuple[Any, _Rows]) -> None:
    loaded, rows = synthetic
    ds = loaded.dataset
    longest = max(rows, key=lambda rel: len(loaded.keys[rel]))
    assert len(loaded.keys[longest]) > resolved_rows.CHUNK  # people.yaml: several chunks
    for rel, row in rows.items():
        is_record_file, recs = resolved_rows.unpack(row)
        assert is_record_file == (rel in ds.files)
        assert [(kind, rec.id) for kind, rec in recs] == list(loaded.keys[rel])
        assert all(rec == ds.table(kind)[rec.id] for kind, rec in recs)
        _flag, entries = resolved_rows.index(lambda offset, length, rel=rel: rows.part(rel, offset, length))
        assert [(kind, rid) for kind, rid, *_where in entries] == [(kind, rec.id) for kind, rec in recs]


def test_the_dataset_made_from_rows_equals_the_loaded_one_table_by_table_in_order(synthetic: tuple[Any, _Rows]) -> None:
    loaded, rows = synthetic
    ds = loaded.dataset
    made = rows_dataset(ds, rows)
    for kind, attr in TABLES.items():
        table = getattr(made, attr)
        assert isinstance(table, RowTable)
        assert list(table) == list(ds.table(kind)) and len(table) == len(ds.table(kind))
        assert list(table.items()) == list(ds.table(kind).items())
        assert table.get("no such id") is None and "no such id" not in table
    assert made.site == ds.site and made.files == ds.files


def test_a_record_read_again_while_held_is_the_same_object(synthetic: tuple[Any, _Rows]) -> None:
    loaded, rows = synthetic
    made = rows_dataset(loaded.dataset, rows)
    store = made.talks._rows
    assert isinstance(store, RecordRows)
    first = next(iter(made.talks))
    held = made.talks[first]
    # Dropped from every cache of the store, it is still the one object while something holds it.
    store._kept = type(store._kept)(1)
    store._chunks.clear()
    gc.collect()
    assert made.talks[first] is held
    chunks = store.made
    del held
    store._kept = type(store._kept)(1)
    store._chunks.clear()
    gc.collect()
    again = made.talks[first]
    assert store.made == chunks + 1 and again == loaded.dataset.talks[first]
