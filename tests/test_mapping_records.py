"""Mapping is per record: what an incremental build re-maps equals the whole mapping's part."""

from __future__ import annotations

from pathlib import Path

import pytest

from lod.iri import Minter
from lod.load import load
from lod.mapping import emits, record_triples, to_triples
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


def test_emits_names_the_owner_of_every_triple_a_record_makes(dataset) -> None:  # type: ignore[no-untyped-def]
    m = Minter(TEST_BASE)
    for kind, rec in dataset.all_records():
        owners = {m.owner(str(s)) for s, _p, _o in record_triples(dataset, m, [(kind, rec)])}
        assert owners == emits(kind, rec, m), (kind, rec.id)


def test_emits_covers_inverse_triples_of_parents(tmp_path: Path) -> None:
    write_synth(20, tmp_path)
    ds = load(tmp_path)
    m = Minter(TEST_BASE)
    with_parent = [(k, r) for k, r in ds.all_records() if getattr(r, "parent", None)]
    assert with_parent, "the synthetic data has talks inside series"
    kind, rec = with_parent[0]
    assert len(emits(kind, rec, m)) >= 2
