"""A full build's external merge sort (lod.publishing.runs) gives what sorting every triple at once gives."""

from __future__ import annotations

import random

import pytest
from rdflib import Literal, URIRef

from lod.loading.spill import Spill
from lod.model.serialize import Terms, Triple, sorted_triples
from lod.publishing import runs as R

EX = "http://example.org/"
XSD_INTEGER = URIRef("http://www.w3.org/2001/XMLSchema#integer")
XSD_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")


def _triples(rng: random.Random, n: int) -> list[Triple]:
    """Triples of a few resources and their fragments, some of them repeated."""
    subjects = [URIRef(f"{EX}{name}") for name in ("a", "a-1", "b", "ab")] + \
        [URIRef(f"{EX}{name}#{frag}") for name in ("a", "b", "c") for frag in ("x", "y")]
    preds = [URIRef(f"{EX}p{i}") for i in range(3)]
    objects = [URIRef(f"{EX}b"), Literal("one"), Literal("1", datatype=XSD_INTEGER), Literal("één", lang="nl")]
    return [(rng.choice(subjects), rng.choice(preds), rng.choice(objects)) for _ in range(n)]


@pytest.mark.parametrize("seed", range(8))
def test_runs_merged_equal_one_sort_of_every_triple_without_repeats(seed: int, monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: object) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(R, "RUN_BATCH", 2)  # runs on disk of several batches each
    slices = [list(dict.fromkeys(_triples(rng, rng.randrange(0, 40)))) for _ in range(rng.randrange(1, 6))]
    terms = Terms()
    with Spill(str(tmp_path)) as spill:
        runs = R.Runs(spill)
        for part in slices:
            runs.add(list(part), terms)
        assert len(runs) == len(slices)
        merged = list(runs.merged(terms))
        assert len(spill) == 0  # every batch read once and let go
    whole = sorted_triples(dict.fromkeys(t for part in slices for t in part))
    assert [t for _text, group in merged for t in group] == whole
    texts = [text for text, _group in merged]
    assert texts == sorted(set(texts))  # each subject once, in canonical order
    assert all(terms.nt(t[0]) == text for text, group in merged for t in group)


def test_runs_owners_hand_on_each_description_complete_and_in_order(tmp_path: object) -> None:
    rng = random.Random(3)
    triples = list(dict.fromkeys(_triples(rng, 200)))
    terms = Terms()
    with Spill(str(tmp_path)) as spill:
        runs = R.Runs(spill)
        for start in range(0, len(triples), 30):
            runs.add(triples[start:start + 30], terms)
        got: dict[str, list[Triple]] = {}

        def done(owner: str, description: list[Triple]) -> None:
            assert owner not in got
            got[owner] = description

        owners = R.Owners(lambda iri: iri.split("#", 1)[0], done)
        for _text, group in runs.merged(terms):
            owners.add(str(group[0][0]), group)
        owners.close()
    expected: dict[str, list[Triple]] = {}
    for t in sorted_triples(triples):
        expected.setdefault(str(t[0]).split("#", 1)[0], []).append(t)
    assert got == expected
    assert f"{EX}c" in got  # an owner with fragments only is handed on at the end
