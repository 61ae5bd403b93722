"""Mapping is per record: what an incremental build re-maps equals the whole mapping's part,
and what it was seen to do (the owners of its triples, what it looked up) is what a rebuild follows."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from lod.model.iri import Minter
from lod.loading.stage import load
from lod.mapping.triples import record_triples, to_triples
from lod.publishing.readsets import MapRecord
from lod.synth import write_synth

from .conftest import SEED_DATA, TEST_BASE


@pytest.fixture(scope="module", params=["seed", "synth"])
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if request.param == "seed":
        return load(SEED_DATA)
    folder = tmp_path_factory.mktemp("synth")
    write_synth(80, folder)
    return load(folder)


def test_record_triples_of_every_record_make_the_whole_mapping(dataset) -> None:  # type: ignore[no-untyped-def]
    m = Minter(TEST_BASE)
    whole = set(to_triples(dataset, m))
    parts: set = set()
    for kind, rec in dataset.all_records():
        parts.update(record_triples(dataset, m, [(kind, rec)]))
    assert parts == whole


def test_observing_the_mapping_changes_neither_its_triples_nor_their_order(dataset) -> None:  # type: ignore[no-untyped-def]
    m = Minter(TEST_BASE)
    assert to_triples(dataset, m, note=MapRecord()) == to_triples(dataset, m)


def test_the_mapping_notes_the_owner_of_every_triple_each_record_makes(dataset) -> None:  # type: ignore[no-untyped-def]
    # Noted in the whole mapping, where a triple two records make (a topic's name) is kept once.
    m = Minter(TEST_BASE)
    mapped = MapRecord()
    to_triples(dataset, m, note=mapped)
    for kind, rec in dataset.all_records():
        owners = {m.owner(str(s)) for s, _p, _o in record_triples(dataset, m, [(kind, rec)])}
        assert mapped.owners[(kind, rec.id)] == owners, (kind, rec.id)
    for owner, keys in mapped.contributors.items():
        assert all(owner in mapped.owners[key] for key in keys)


def test_the_mapping_notes_the_inverse_triples_of_parents(tmp_path: Path) -> None:
    write_synth(20, tmp_path)
    ds = load(tmp_path)
    m = Minter(TEST_BASE)
    mapped = MapRecord()
    to_triples(ds, m, note=mapped)
    kind, rec = next((k, r) for k, r in ds.all_records() if k == "talk" and r.parent)  # type: ignore[attr-defined]
    parent = str(m.resource(*rec.parent))  # type: ignore[attr-defined]
    assert parent in mapped.owners[(kind, rec.id)]
    assert (kind, rec.id) in mapped.contributors[parent]


def test_the_mapping_notes_that_an_organiser_id_was_looked_up_among_people(tmp_path: Path) -> None:
    # An organiser id names a person if there is one, else an organisation: adding or removing
    # that person changes the talk's triples though the talk did not change.
    write_synth(20, tmp_path)
    ds = load(tmp_path)
    m = Minter(TEST_BASE)
    mapped = MapRecord()
    to_triples(ds, m, note=mapped)
    kind, rec = next((k, r) for k, r in ds.all_records() if getattr(r, "organizers", None))
    assert {("person", org) for org in rec.organizers} <= mapped.reads[(kind, rec.id)]  # type: ignore[attr-defined]
    assert (kind, rec.id) in mapped.readers_of([("person", rec.organizers[0])])  # type: ignore[attr-defined]


def test_a_record_noted_again_or_forgotten_leaves_no_trace_of_what_it_did_before() -> None:
    mapped = MapRecord()
    mapped(("talk", "t"), {"http://x/talk/t", "http://x/topic/a"}, {("person", "p")})
    mapped(("talk", "u"), {"http://x/talk/u", "http://x/topic/a"}, set())
    mapped(("talk", "t"), {"http://x/talk/t"}, set())
    assert mapped.contributors == {"http://x/talk/t": {("talk", "t")}, "http://x/talk/u": {("talk", "u")},
                                   "http://x/topic/a": {("talk", "u")}}
    assert mapped.readers == {} and mapped.reads == {}
    mapped.forget(("talk", "u"))
    assert mapped.contributors == {"http://x/talk/t": {("talk", "t")}}


def test_what_the_mapping_did_kept_without_its_inverses_gives_them_back(dataset) -> None:  # type: ignore[no-untyped-def]
    # The state keeps the two forward maps only; the inverses are made again, also for a record
    # then noted again or forgotten before anything asked for them.
    m = Minter(TEST_BASE)
    mapped = MapRecord()
    to_triples(dataset, m, note=mapped)
    back = pickle.loads(pickle.dumps(mapped))
    assert back.__dict__.keys() == mapped.__dict__.keys() and back._contributors is None
    assert (back.owners, back.reads) == (mapped.owners, mapped.reads)
    assert (back.contributors, back.readers) == (mapped.contributors, mapped.readers)
    key = next(iter(mapped.reads))
    for record in (mapped, back := pickle.loads(pickle.dumps(mapped))):
        record.forget(key)
    assert (back.contributors, back.readers) == (mapped.contributors, mapped.readers)
