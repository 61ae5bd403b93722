"""The kind registry (lod.model.kinds) and what derives from it agree: the README's table, the mapper's
predicates, the record classes and the Dataset's tables.

To accept a deliberate change of the registry into the README, run with LOD_UPDATE_README=1 and
review the diff of README.md before committing it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from rdflib import URIRef

from lod.model import kinds as K
from lod.model import records as R
from lod.model.iri import Minter
from lod.loading.stage import load
from lod.mapping.triples import _Mapper, to_triples

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The seed data, the golden cases and one fixture of what those leave out: between them, every kind
# of record with every field the registry says it publishes.
FOLDERS = [ROOT / "data"] + [p / "data" for p in sorted((ROOT / "tests" / "golden").iterdir()) if p.is_dir()] + \
    [ROOT / "tests" / "fixtures" / "kinds"]


def _emitted() -> dict[str, set[URIRef]]:
    """The predicates the mapping emits on the seed and golden data, by the kind of the resource they describe."""
    minter = Minter("http://example.org/")
    kind_of_path = {path: kind for kind, path in K.KIND_PATHS.items()}
    out: dict[str, set[URIRef]] = {}
    for folder in FOLDERS:
        for s, p, _o in to_triples(load(folder), minter):
            path = minter.path_of(str(s))
            assert path is not None
            out.setdefault(kind_of_path[path.split("/")[0]], set()).add(p)  # type: ignore[arg-type]
    return out


def test_kinds_readme_table_is_the_registrys() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(K.README_BEGIN) == 1 and text.count(K.README_END) == 1
    before, rest = text.split(K.README_BEGIN)
    table, after = rest.split(K.README_END)
    expected = "\n" + K.readme_table()
    if os.environ.get("LOD_UPDATE_README") and table != expected:
        README.write_text(before + K.README_BEGIN + expected + K.README_END + after, encoding="utf-8")
        table = expected
    assert table == expected, ("README.md's record-field table differs from lod.model.kinds; "
                               "run the tests with LOD_UPDATE_README=1 to write the registry's")


def test_kinds_every_predicate_the_mapping_emits_is_in_the_registry_for_its_kind() -> None:
    emitted = _emitted()
    assert set(emitted) == {k.name for k in K.KINDS}  # the data has every kind
    unregistered = {kind: sorted(str(p) for p in got - K.predicates_of(K.kind(kind))) for kind, got in emitted.items()}
    assert {kind: ps for kind, ps in unregistered.items() if ps} == {}


def test_kinds_every_predicate_in_the_registry_is_emitted_by_the_mapping_for_its_kind() -> None:
    emitted = _emitted()
    never = {k.name: sorted(str(p) for p in K.predicates_of(k) - emitted.get(k.name, set())) for k in K.KINDS}
    assert {kind: ps for kind, ps in never.items() if ps} == {}


def test_kinds_registry_fields_are_the_record_classes_fields() -> None:
    """Each kind's fields (and each part's) are attributes of its record class, and a class has no
    field from the YAML that the registry lacks (the others are filled in by resolve or the loader)."""
    internal = {"loc", "locs", "parent", "start_at", "end_at", "duration_iso", "previous_start_at"}
    for k in K.RECORD_KINDS:
        assert k.record is not None
        names = {f.name for f in dataclasses.fields(getattr(R, k.record))}
        own = {f.name for f in k.fields}
        assert own <= names, k.name
        # Sources are not derived from sources: their Record fields 'sources' and 'inferred' stay empty.
        assert names - own - internal - set(k.drop) == ({"sources", "inferred"} if k.name == "source" else set()), k.name
    for part in K.PARTS.values():
        names = {f.name for f in dataclasses.fields(getattr(R, part.record))}
        assert {f.name for f in part.fields} == names - {"loc"}, part.name


def test_kinds_dataset_tables_are_the_registrys_and_the_mapper_maps_each_kind() -> None:
    tables = {f.name for f in dataclasses.fields(R.Dataset)} - {"site", "files"}
    assert tables == set(K.TABLES.values())
    assert [k for k, _r in R.Dataset(site=R.Site(loc=None)).all_records()] == []  # type: ignore[arg-type]
    for kind in K.TABLES:
        assert callable(getattr(_Mapper, kind))
    with pytest.raises(KeyError, match="not a kind of record: 'topic'"):
        _Mapper(R.Dataset(site=R.Site(loc=None)), Minter()).method("topic")  # type: ignore[arg-type]


def test_kinds_unknown_vocabulary_terms_are_errors() -> None:
    assert K.term("schema:startDate") == URIRef("http://schema.org/startDate")
    with pytest.raises(AttributeError, match="startdate"):
        K.term("schema:startdate")
    with pytest.raises(AttributeError, match="unknown prefix in 'foaf:name'"):
        K.term("foaf:name")


def test_kinds_iris_use_the_registrys_path_segments() -> None:
    minter = Minter("http://example.org/")
    for k in K.KINDS:
        assert minter.resource(k.name, "x") == URIRef(f"http://example.org/{k.path}/x")
    assert minter.resource("organization", "nyu") == URIRef("http://example.org/org/nyu")


def test_kinds_enum_fields_accept_exactly_their_values(tmp_path: Path) -> None:
    """The converter of a field of fixed values is the registry's list: a value outside it is refused, naming them."""
    (tmp_path / "t.yaml").write_text("sources: [{id: s, taken: 2024-01-01}]\n"
                                     "talks: [{id: t, sources: [s], status: canceled}]\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        load(tmp_path)
    values = ", ".join(K.kind("talk").field("status").values)
    assert f"'canceled' is not allowed here. Fix: did you mean 'cancelled'? Use one of: {values}." in str(info.value)


def _referring_fields() -> list[tuple[str, str, str]]:
    """(kind, field path, what the registry says it names) for every field that names records by id,
    parts included; not the inline children, nor topics (labels, not ids)."""
    out = []
    for k in K.RECORD_KINDS:
        for f in k.fields:
            if f.refers and f.conv != "children" and f.refers != ("topic",):
                out.append((k.name, f.name, " or ".join(K.kind(r).word for r in f.refers)))
            for part in K.parts_of(f):
                for pf in part.fields:
                    if pf.refers:
                        out.append((k.name, f"{f.name}.{pf.name}", " or ".join(K.kind(r).word for r in pf.refers)))
    return out


@pytest.mark.parametrize("kind,path,named", _referring_fields())
def test_kinds_each_reference_the_registry_declares_is_checked_against_those_kinds(
        kind: str, path: str, named: str, tmp_path: Path) -> None:
    """An id naming no record, in any field the registry says names records, is refused with the
    kinds the registry gives ("unknown person or organisation 'nowhere'")."""
    import yaml

    from lod.errors import RecordErrors

    field, _, sub = path.partition(".")
    k = K.kind(kind)
    value: object = "nowhere"
    if sub:  # a part: a reference's authors, an abstract variant's source
        part = {"references": {"title": "T", "authors": ["nowhere"]},
                "abstract_variants": {"source": "nowhere", "text": "T"}}[field]
        value = [part]
    elif k.field(field).conv.startswith("list:"):
        value = ["nowhere"]
    rec: dict[str, object] = {"id": "x", "sources": ["s"], field: value}
    if "name" in k.required:
        rec["name"] = "X"
    if kind == "source":
        rec = {"id": "x", "taken": "2024-01-01", "document": "d", field: value}
    doc: dict[str, object] = {"sources": [{"id": "s", "taken": "2024-01-01", "document": "d"}]}
    if k.key is None:  # a session is written inside an event
        doc["events"] = [{"id": "e", "name": "E", "sources": ["s"], "sessions": [rec]}]
    else:
        doc[k.key] = [rec]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(RecordErrors) as info:
        load(tmp_path)
    assert f"unknown {named} 'nowhere'." in str(info.value)
    assert f"{kind} x, field {field}" in str(info.value)
