"""Splicing the dumps gives the bytes and the index of writing them in full.

``lod.publishing.dumps.splice_dumps`` rewrites dump.ttl, dump.nt and dump.jsonld from the previous
ones and the new descriptions of a few owners. Every test here compares it with a fresh
``write_descriptions`` on the whole new triple set: the three dumps byte for byte, the
changed owners' own files, the counts and the ``DumpIndex``. The edits are random at the
triple level (seeded), on a synthetic archive, on the repository's data and on the tricky
terms of tests/test_dumps.py, and chained, so that each splice starts from the previous
splice's output and (pickled) index.
"""

from __future__ import annotations

import hashlib
import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rdflib import Literal, URIRef

from lod.publishing.dumps import DumpIndex, splice_dumps, write_descriptions
from lod.model.iri import Minter
from lod.publishing.build import prepare, site_prefixes
from lod.model.serialize import Terms, Triple, sort_canonical
from lod.synth import write_synth
from lod.model import vocab as vocab

from .conftest import SEED_DATA, TEST_BASE
from .test_dumps import tricky_triples

DUMPS = ("dump.ttl", "dump.nt", "dump.jsonld")
B = TEST_BASE
HAS_PART = URIRef("http://schema.org/hasPart")


@dataclass
class Data:
    """A triple set as each owner's description, and the terms and minter to write it with."""

    minter: Minter
    terms: Terms
    owners: dict[str, list[Triple]] = field(default_factory=dict)

    def triples(self, owners: set[str] | None = None) -> list[Triple]:
        """The triples (of *owners*, or all), canonical and deduplicated."""
        nt = self.terms.nt
        seen: dict[tuple[str, str, str], Triple] = {}
        for o in (self.owners if owners is None else owners):
            for t in self.owners.get(o, ()):
                seen.setdefault((nt(t[0]), nt(t[1]), nt(t[2])), t)
        out = list(seen.values())
        sort_canonical(out, self.terms)
        return out


def _data(folder: Path) -> Data:
    p = prepare(folder, TEST_BASE)
    d = Data(p.minter, Terms(site_prefixes(p.minter)))
    for t in p.triples:
        d.owners.setdefault(p.minter.owner(str(t[0])), []).append(t)
    return d


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Data]:
    folder = tmp_path_factory.mktemp("synth")
    write_synth(60, folder)
    minter = Minter(TEST_BASE)
    tricky = Data(minter, Terms(site_prefixes(minter)))  # subjects' IRIs prefixes of one another, odd literals
    for t in tricky_triples():
        tricky.owners.setdefault(minter.owner(str(t[0])), []).append(t)
    return {"synth": _data(folder), "seed": _data(SEED_DATA), "tricky": tricky}


def full_write(d: Data, root: Path) -> tuple[dict[str, bytes], DumpIndex, int]:
    """What a full write gives: the files by site path (dumps included), the index, the resource count."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    index = DumpIndex()
    n = write_descriptions(d.triples(), d.terms, d.minter.context, root, d.minter.path_of, files.__setitem__,
                           index=index)
    for name in DUMPS:
        files[name] = (root / name).read_bytes()
    return files, index, n


def _digest(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


def check_splice(d: Data, changed: set[str], old_root: Path, index: DumpIndex, new_root: Path,
                 fresh_root: Path) -> DumpIndex:
    """Splice *changed* into the dumps of *old_root* and assert that it equals a full write."""
    before = _digest(old_root)
    new_root.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    new_triples = d.triples(changed)
    given = pickle.loads(pickle.dumps(index))  # as the build's state file keeps it
    assert given == index
    got = splice_dumps(old_root, new_root, given, changed, new_triples, d.terms, d.minter.context,
                       d.minter.path_of, files.__setitem__)
    assert _digest(old_root) == before and given == index  # the previous dumps and index are only read
    expected, fresh, n = full_write(d, fresh_root)
    for name in DUMPS:
        assert (new_root / name).read_bytes() == expected[name], name
    paths = {d.minter.path_of(o) for o in changed if d.owners.get(o)} - {None}
    assert files == {p + ext: expected[p + ext] for p in paths for ext in (".ttl", ".nt", ".jsonld")}
    assert got.triples == fresh.triples == sum(1 for _ in d.triples())
    assert got.resources == fresh.resources == n
    assert got == fresh
    assert sorted(q.name for q in new_root.iterdir()) == sorted(DUMPS)  # no scratch file left
    return got


# ---------------------------------------------------------------- random edits at the triple level

Edit = Callable[[random.Random, Data, int], set[str]]


def _subjects(d: Data) -> dict[str, list[Triple]]:
    out: dict[str, list[Triple]] = {}
    for t in d.triples():
        out.setdefault(str(t[0]), []).append(t)
    return out


def _pick(rng: random.Random, d: Data) -> str:
    return rng.choice(sorted(d.owners)) if d.owners else B + "talk/none"


def _description(rng: random.Random, owner: str, k: int, fragments: int) -> list[Triple]:
    s = URIRef(owner)
    name = Literal(f"new {k} « é » \"q\"\nline", lang=rng.choice(["en", "fr"]))
    out: list[Triple] = [(s, vocab.RDF.type, rng.choice([vocab.SCHEMA.Event, vocab.SCHEMA.Person])),
                         (s, vocab.SCHEMA.name, name)]
    for f in range(fragments):
        part = URIRef(f"{owner}#part-{k}-{f}")
        out += [(s, vocab.SCHEMA.subEvent, part), (part, vocab.RDF.type, vocab.SCHEMA.Event),
                (part, vocab.SCHEMA.startDate, Literal(f"2024-01-0{1 + f % 9}", datatype=vocab.XSD.date))]
    return out


def edit_drop_owner(rng: random.Random, d: Data, k: int) -> set[str]:
    owner = _pick(rng, d)
    d.owners.pop(owner, None)
    return {owner}


def edit_add_owner(rng: random.Random, d: Data, k: int) -> set[str]:
    owner = rng.choice([B + f"talk/new-{k}", B + f"person/0-{k}", B + f"topic/zz-{k}",
                        f"http://a.example/first-{k}",  # before every subject, and not the site's (no files)
                        f"https://z.example/last-{k}",  # after every subject, written with no prefix
                        B + "talk/ab", B + "talk/ab!c", B + "talk/ab-c"])  # '!' sorts between "ab" and "ab#"
    d.owners[owner] = _description(rng, owner, k, rng.randrange(4))
    return {owner}


def edit_change_literals(rng: random.Random, d: Data, k: int) -> set[str]:
    owner = _pick(rng, d)
    triples = d.owners.get(owner, [])
    for i, (s, p, o) in enumerate(triples):
        if isinstance(o, Literal) and rng.random() < 0.5:
            triples[i] = (s, p, Literal(f"{o} edit {k} {'x' * rng.randrange(300)}", lang=o.language))
    return {owner}


def edit_fragments(rng: random.Random, d: Data, k: int) -> set[str]:
    """Add a fragment subject to an owner, or drop one of its fragments, or drop the owner's own subject."""
    owner = _pick(rng, d)
    triples = d.owners.setdefault(owner, [])
    parts = sorted({str(t[0]) for t in triples if "#" in str(t[0])})
    choice = rng.randrange(3)
    if choice == 0 or not parts:
        part = URIRef(f"{owner}#{rng.choice(['a', 'zz', '0'])}-{k}")
        triples += [(URIRef(owner), HAS_PART, part), (part, vocab.RDF.type, vocab.SCHEMA.CreativeWork),
                    (part, vocab.SCHEMA.name, Literal(f"part {k}"))]
    elif choice == 1:
        gone = rng.choice(parts)
        triples[:] = [t for t in triples if str(t[0]) != gone]
    else:
        triples[:] = [t for t in triples if str(t[0]) != owner]
    if not triples:
        del d.owners[owner]
    return {owner}


def edit_add_prefix(rng: random.Random, d: Data, k: int) -> set[str]:
    """A triple whose predicate is the only use of a prefix (if one is unused)."""
    used = {prefix for triples in _subjects(d).values() for t in triples for x in t
            for prefix in [d.terms.turtle(x)[1]]}
    unused = sorted(set(d.terms.prefixes) - used)
    owner = _pick(rng, d)
    if unused:
        ns = d.terms.prefixes[rng.choice(unused)]
        d.owners.setdefault(owner, []).append((URIRef(owner), URIRef(ns + f"probe{k}"), Literal(f"probe {k}")))
    return {owner}


def edit_drop_prefix(rng: random.Random, d: Data, k: int) -> set[str]:
    """Remove the only subject's use of a prefix that one subject uses."""
    users: dict[str, set[str]] = {}
    for sid, triples in _subjects(d).items():
        for t in triples:
            for x in t:
                prefix = d.terms.turtle(x)[1]
                if prefix:
                    users.setdefault(prefix, set()).add(sid)
    single = sorted((prefix, next(iter(sids))) for prefix, sids in users.items() if len(sids) == 1)
    if not single:
        return edit_add_prefix(rng, d, k)
    prefix, sid = rng.choice(single)
    owner = sid.split("#", 1)[0]
    d.owners[owner] = [t for t in d.owners[owner]
                       if str(t[0]) != sid or not any(d.terms.turtle(x)[1] == prefix for x in t)]
    if not d.owners[owner]:
        del d.owners[owner]
    return {owner}


def edit_first_or_last(rng: random.Random, d: Data, k: int) -> set[str]:
    """Change, drop or extend the owner of the first or last subject of dump.nt or dump.jsonld."""
    sids = sorted(_subjects(d), key=lambda s: s + ">") or [B + "talk/none"]
    by_iri = sorted(sids)
    sid = rng.choice([sids[0], sids[-1], by_iri[0], by_iri[-1]])
    owner = sid.split("#", 1)[0]
    if owner not in d.owners:
        d.owners[owner] = _description(rng, owner, k, 1)
        return {owner}
    sub = Data(d.minter, d.terms, {owner: d.owners.pop(owner)})  # so that the edit picks this owner
    rng.choice([edit_drop_owner, edit_change_literals, edit_fragments])(rng, sub, k)
    d.owners.update(sub.owners)
    return {owner}


def edit_many(rng: random.Random, d: Data, k: int) -> set[str]:
    changed: set[str] = set()
    for i in range(rng.randrange(2, 6)):
        changed |= rng.choice(EDITS[:-1])(rng, d, k * 10 + i)
    changed.add(B + f"talk/never-{k}")  # an owner with no description before or after
    return changed


EDITS: list[Edit] = [edit_drop_owner, edit_add_owner, edit_change_literals, edit_fragments, edit_add_prefix,
                     edit_drop_prefix, edit_first_or_last, edit_many]


@pytest.mark.parametrize("seed", [n if n < 3 else pytest.param(n, marks=pytest.mark.heavy) for n in range(10)])
@pytest.mark.parametrize("name", ["synth", "seed", "tricky"])
def test_splice_dumps_equals_a_full_write_after_random_edits(datasets: dict[str, Data], tmp_path: Path, name: str,
                                                             seed: int) -> None:
    base = datasets[name]
    d = Data(base.minter, base.terms, {o: list(ts) for o, ts in base.owners.items()})
    rng = random.Random(f"{name}-{seed}")
    _files, index, _n = full_write(d, tmp_path / "0")
    for step in range(1, 7):
        edit = EDITS[(seed + step) % len(EDITS)] if step < 3 else rng.choice(EDITS)
        changed = edit(rng, d, step)
        index = check_splice(d, changed, tmp_path / str(step - 1), index, tmp_path / str(step),
                             tmp_path / f"fresh-{step}")


def test_splice_dumps_empties_the_dumps_and_fills_them_again(datasets: dict[str, Data], tmp_path: Path) -> None:
    base = datasets["seed"]
    d = Data(base.minter, base.terms, {o: list(ts) for o, ts in base.owners.items()})
    _files, index, _n = full_write(d, tmp_path / "0")
    every = set(d.owners)
    saved = d.owners
    d.owners = {}
    index = check_splice(d, every, tmp_path / "0", index, tmp_path / "1", tmp_path / "fresh-1")
    assert index.sids == [] and index.triples == 0 and index.counts == {}
    assert (tmp_path / "1" / "dump.ttl").read_bytes() == b"\n"
    d.owners = saved
    check_splice(d, every, tmp_path / "1", index, tmp_path / "2", tmp_path / "fresh-2")


def test_splice_dumps_with_no_owners_copies_the_dumps(datasets: dict[str, Data], tmp_path: Path) -> None:
    d = datasets["synth"]
    _files, index, _n = full_write(d, tmp_path / "0")
    assert check_splice(d, set(), tmp_path / "0", index, tmp_path / "1", tmp_path / "fresh") == index


def test_splice_dumps_replaces_the_dumps_in_place(datasets: dict[str, Data], tmp_path: Path) -> None:
    base = datasets["synth"]
    d = Data(base.minter, base.terms, {o: list(ts) for o, ts in base.owners.items()})
    _files, index, _n = full_write(d, tmp_path / "site")
    changed = edit_change_literals(random.Random(1), d, 1) | edit_add_owner(random.Random(2), d, 2)
    got = splice_dumps(tmp_path / "site", tmp_path / "site", index, changed, d.triples(changed), d.terms,
                       d.minter.context, d.minter.path_of)
    expected, fresh, _n = full_write(d, tmp_path / "fresh")
    assert got == fresh
    assert {name: (tmp_path / "site" / name).read_bytes() for name in DUMPS} == {n: expected[n] for n in DUMPS}


def test_dump_index_offsets_are_where_each_subject_is(datasets: dict[str, Data], tmp_path: Path) -> None:
    d = datasets["seed"]
    files, index, _n = full_write(d, tmp_path)
    nt = index.offsets("nt")
    assert nt[0] == 0 and nt[-1] == len(files["dump.nt"])
    for i in (0, len(index.sids) // 2, len(index.sids) - 1):
        assert files["dump.nt"][nt[i]:].startswith(f"<{index.sids[i]}> ".encode())
    ttl, jsonld = index.offsets("ttl"), index.offsets("jsonld")
    assert ttl[-1] == len(files["dump.ttl"]) + 1 and jsonld[-1] == len(files["dump.jsonld"]) - len("\n ]\n}\n") + 2
    assert all(files["dump.jsonld"][at:].startswith(b'  {\n') for at in jsonld[:-1])
    assert index.json_sids == sorted(index.sids)
    owner = index.sids[0].split("#", 1)[0]
    assert index.subjects_of(owner) == [s for s in index.sids if s.split("#", 1)[0] == owner]


def test_splice_dumps_refuses_triples_of_other_owners(datasets: dict[str, Data], tmp_path: Path) -> None:
    d = datasets["synth"]
    _files, index, _n = full_write(d, tmp_path / "0")
    owner = sorted(d.owners)[0]
    other = sorted(d.owners)[1]
    with pytest.raises(ValueError, match="not part of the description"):
        splice_dumps(tmp_path / "0", tmp_path, index, {owner}, d.triples({owner, other}), d.terms,
                     d.minter.context, d.minter.path_of)


def test_splice_dumps_refuses_dumps_that_do_not_match_the_index(datasets: dict[str, Data], tmp_path: Path) -> None:
    d = datasets["synth"]
    _files, index, _n = full_write(d, tmp_path / "0")
    (tmp_path / "1").mkdir()
    nt = tmp_path / "0" / "dump.nt"
    nt.write_bytes(nt.read_bytes()[:-100])
    owner = sorted(d.owners)[0]
    with pytest.raises(ValueError, match="does not match its index|shorter than its index"):
        splice_dumps(tmp_path / "0", tmp_path / "1", index, {owner}, d.triples({owner}), d.terms,
                     d.minter.context, d.minter.path_of)
    assert not list((tmp_path / "1").iterdir())
    with pytest.raises(ValueError, match="other prefixes"):
        splice_dumps(tmp_path / "0", tmp_path / "1", index, {owner}, d.triples({owner}), Terms({}),
                     d.minter.context, d.minter.path_of)


@pytest.mark.parametrize("mode", ["unbuffered", "no-kernel-copy"])
def test_splice_dumps_writes_the_same_bytes_whatever_the_copy_path(datasets: dict[str, Data], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """Every write flushed and every range copied by the kernel; or no copy_file_range (another file system)."""
    import lod.publishing.bytecopy

    if mode == "unbuffered":
        monkeypatch.setattr(lod.publishing.bytecopy, "_BUFFER", 1)
        monkeypatch.setattr(lod.publishing.bytecopy, "_SMALL", 0)
    else:
        monkeypatch.setattr(lod.publishing.bytecopy, "_kernel_copy", False)
    base = datasets["synth"]
    d = Data(base.minter, base.terms, {o: list(ts) for o, ts in base.owners.items()})
    _files, index, _n = full_write(d, tmp_path / "0")
    rng = random.Random(mode)
    for step in range(1, 4):
        changed = edit_many(rng, d, step) | edit_first_or_last(rng, d, step + 10)
        index = check_splice(d, changed, tmp_path / str(step - 1), index, tmp_path / str(step),
                             tmp_path / f"fresh-{step}")


def test_splice_dumps_keeps_iris_that_sort_between_an_owner_and_its_fragments(datasets: dict[str, Data],
                                                                            tmp_path: Path) -> None:
    """By IRI ``ab!c`` sorts between ``ab`` and ``ab#…``; by N-Triples text ``ab-c`` and ``ab0`` sort between
    ``ab#…`` and ``ab``. None of them is ab's."""
    base = datasets["seed"]
    d = Data(base.minter, base.terms, {o: list(ts) for o, ts in base.owners.items()})
    for i, owner in enumerate((B + "talk/ab", B + "talk/ab!c", B + "talk/ab-c", B + "talk/ab0")):
        d.owners[owner] = _description(random.Random(i), owner, i, 3)
    _files, index, _n = full_write(d, tmp_path / "0")
    ab = B + "talk/ab"
    assert index.subjects_of(ab) == [f"{ab}#part-0-{f}" for f in range(3)] + [ab]
    d.owners[ab] = _description(random.Random(9), ab, 9, 2)
    index = check_splice(d, {ab}, tmp_path / "0", index, tmp_path / "1", tmp_path / "fresh-1")
    del d.owners[ab]
    check_splice(d, {ab}, tmp_path / "1", index, tmp_path / "2", tmp_path / "fresh-2")


def test_splice_dumps_refuses_triples_out_of_canonical_order(datasets: dict[str, Data], tmp_path: Path) -> None:
    d = datasets["synth"]
    _files, index, _n = full_write(d, tmp_path / "0")
    owner = next(o for o, ts in sorted(d.owners.items()) if len({t[0] for t in ts}) > 1)
    with pytest.raises(ValueError, match="canonical order"):
        splice_dumps(tmp_path / "0", tmp_path, index, {owner}, d.triples({owner})[::-1], d.terms,
                     d.minter.context, d.minter.path_of)
