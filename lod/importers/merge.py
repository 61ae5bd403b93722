"""Merge stage of ``lod import``: reconcile parsed records with ``data/`` and write them.

The only stage of the importers that writes (through ``lod.importers.planfiles``).
Imported records go to their own file, ``data/imported/<source>.yaml``; beside it,
``data/.import-state/<source>.json`` keeps the value the importer last wrote for each
field (hidden folders are not records). On a re-import each field is merged three ways:

- the file still holds what the importer last wrote → the new value replaces it;
- the file holds something else (edited by hand) and the source did not change → the hand
  edit stays;
- both changed → a conflict: nothing is written and both values are named.

A matched talk in any other file (written by hand, or by another import) is updated in
place by ``yamledit``, which splices text so the rest of the file stays byte for byte:
fields the talk lacks are added and the import's source joins its ``sources``; differing
fields are conflicts unless ``prefer`` settles them ("import" replaces, "data" keeps).
There is no state for such files, so no three-way merge: a differing value may be a hand
edit. Other records of those files are never rewritten; imported records point at them.

The files it plans are written by ``lod.importers.planfiles`` (the Plan, its diff, the
trial load, the write); each record is merged field by field by ``lod.importers.threeway``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from lod.model import records as R
from lod.errors import AmbiguousMatch, ImportFailed, MergeConflict
from lod.model.iri import slugify
from lod.model.kinds import TOP_LEVEL
from lod.loading.files import data_files
from lod.loading.stage import load
from lod.importers.common import Parsed, Rec, display
from lod.importers import yamledit
from lod.importers.match import SINGULAR, Matcher, utc_of
from lod.importers.planfiles import Plan, dump_yaml
from lod.importers.threeway import compare_talk, prune, three_way
from lod.importers.yamledit import RecordEdit


def _rename(rec: Rec, keys: tuple[str, ...], ids: dict[str, str]) -> None:
    for key in keys:
        if isinstance(rec.get(key), list):
            rec[key] = list(dict.fromkeys(ids.get(v, v) for v in rec[key]))
        elif isinstance(rec.get(key), str):
            rec[key] = ids.get(rec[key], rec[key])


def _fresh(rid: str, taken: set[str]) -> str:
    n, out = 2, rid
    while out in taken:
        out, n = f"{rid}-{n}", n + 1
    return out



def plan(parsed: Parsed, source: Rec, data_dir: Path, slug: str, mapping: dict[str, dict[str, str]] | None = None,
         prefer: str | None = None) -> Plan:
    """Work out the files an import writes; raise AmbiguousMatch or MergeConflict instead of guessing."""
    data_dir = Path(data_dir)
    out = Plan(data_dir)
    owned_path = data_dir / "imported" / f"{slug}.yaml"
    state_path = data_dir / ".import-state" / f"{slug}.json"
    ds = load(data_dir) if data_dir.is_dir() and data_files(data_dir) else R.Dataset(site=R.Site(loc=R.Location("")))
    m = Matcher(ds, str(owned_path), mapping or {})
    current: dict[str, Any] = {}
    if owned_path.exists():
        out.old[owned_path] = owned_path.read_bytes()
        current = yaml.safe_load(out.old[owned_path]) or {}
    state: dict[str, dict[str, Any]] = {}
    if state_path.exists():
        out.old[state_path] = state_path.read_bytes()
        state = json.loads(out.old[state_path])
    recs = parsed.records

    # 1. reconcile people, organisations, places, series and events with the data
    tables: dict[str, dict[str, Any]] = {key: ds.table(TOP_LEVEL[key])
                                         for key in ("people", "organizations", "places", "series", "events")}
    ids: dict[str, dict[str, str]] = {k: {} for k in tables}
    taken = {k: {rid for rid, r in t.items() if r.loc.file != str(owned_path)} for k, t in tables.items()}
    elsewhere: dict[str, set[str]] = {k: set() for k in [*tables, "talks"]}
    # An archive (RDF) imported into an empty folder keeps its own ids: nothing to match.
    fresh_archive = parsed.own_sources and not ds.files
    for kind in tables:
        for rec in recs.get(kind, []):
            if fresh_archive:
                target: str | None = ""  # an archive into an empty folder: keep its ids
            elif kind == "people":
                target = m.person(rec)
            elif kind == "organizations":
                target = m.organization(rec)
            else:
                target = m.by_name(kind, rec, tables[kind])
            if target is None and m.ambiguous:
                continue
            if not target:
                target = _fresh(rec["id"], taken[kind])
                taken[kind].add(target)
            if target in tables[kind] and tables[kind][target].loc.file != str(owned_path):
                elsewhere[kind].add(target)
                label = display(rec) if kind == "people" else rec.get("name")
                m.notes.append(f"{SINGULAR[kind]} {label!r} is {target} ({tables[kind][target].loc})")
            ids[kind][rec["id"]] = target
    agents = {**ids["organizations"], **ids["people"]}
    for rec in recs.get("people", []):
        _rename(rec, ("affiliations",), ids["organizations"])
    for rec in recs.get("organizations", []):
        _rename(rec, ("parent",), ids["organizations"])
    for rec in recs.get("places", []):
        _rename(rec, ("contained_in",), ids["places"])
    for kind in ("series", "events"):
        for rec in recs.get(kind, []):
            _rename(rec, ("venue", "online"), ids["places"])
            _rename(rec, ("contacts",), ids["people"])
            _rename(rec, ("organizers",), agents)
            _rename(rec, ("series",), ids["series"])
            for sess in rec.get("sessions", []):
                _rename(sess, ("venue", "online"), ids["places"])
    parents = {**ids["series"], **ids["events"]}
    talk_zones: dict[str, str | None] = {}
    talk_taken = {t for t, r in ds.talks.items() if r.loc.file != str(owned_path)}
    zones = {r["id"]: r.get("timezone") for k in ("series", "events") for r in recs.get(k, [])}
    # a topic is published under the slug of its label: an imported label that slugs like one
    # the data (or this import) already uses takes that spelling ("ccc" and "CCC" are one topic)
    labels: dict[str, str] = {}
    for t in ds.talks.values():
        for label in t.topics:
            labels.setdefault(slugify(label), label)
    for rec in recs.get("talks", []):
        if rec.get("topics"):
            rec["topics"] = list(dict.fromkeys(labels.setdefault(slugify(str(x)), str(x)) for x in rec["topics"]))
    # in time order, so that talks minting the same id are numbered as they happen
    recs["talks"] = sorted(recs.get("talks", []), key=lambda r: (str(r.get("start", "")), str(r.get("title", ""))))
    for rec in recs.get("talks", []):
        _rename(rec, ("speakers", "coauthors"), ids["people"])
        _rename(rec, ("organizers",), agents)
        _rename(rec, ("venue", "online"), ids["places"])
        zone = zones.get(str(rec.get("part_of")))
        _rename(rec, ("part_of",), parents)
        for ref in rec.get("references", []):
            _rename(ref, ("authors",), ids["people"])
        if not rec.get("timezone") and rec.get("part_of") in ds.events:
            zone = zone or ds.events[rec["part_of"]].timezone
        target = m.talk(rec, utc_of(rec, zone)) if not fresh_archive else ""
        talk_zones[target or rec["id"]] = zone
        if target is None and m.ambiguous:
            continue
        # two talks of one import may mint the same id (same day, same speaker): number them
        target = target or _fresh(rec["id"], talk_taken)
        talk_taken.add(target)
        rec["id"] = target
        if target in ds.talks and ds.talks[target].loc.file != str(owned_path):
            elsewhere["talks"].add(target)
    for kind in tables:
        for rec in recs.get(kind, []):
            rec["id"] = ids[kind].get(rec["id"], rec["id"])
    if m.ambiguous:
        raise AmbiguousMatch(_ambiguity_text(m.ambiguous))
    out.where = {(kind, str(rec["id"])): where for kind, rec, where in parsed.where}
    out.source_name = str(source.get("document") or "")

    # 2. talks kept in other files: compare them, plan in-place edits of what they lack
    conflicts: list[str] = []
    src_id = source["id"]
    edits: dict[Path, list[RecordEdit]] = {}
    applied: list[Any] = []  # values added to hand-written talks: the records they name must be written
    for rec in recs.get("talks", []):
        if rec["id"] in elsewhere["talks"]:
            t = ds.talks[rec["id"]]
            add, replace = compare_talk(t, rec, talk_zones.get(rec["id"]), prefer, conflicts, out.notes)
            if add or replace:
                edit = RecordEdit(t.loc.line or 0, t.loc.column or 0, add, replace)
                if src_id not in t.sources:
                    edit.append["sources"] = [src_id]
                edits.setdefault(Path(t.loc.file), []).append(edit)
                applied += [add, replace]
                what = [f"{verb}: {', '.join(d)}" for verb, d in (("added", add), ("replaced", replace)) if d]
                out.notes.append(f"talk {t.id} ({t.loc}) is written by hand; updated in place, {'; '.join(what)}")
    # 3. three-way merge into our own file
    doc: dict[str, list[Rec]] = {}
    cur_by = {k: {r["id"]: r for r in current.get(k, []) if isinstance(r, dict) and "id" in r}
              for k in ("sources", *tables, "talks")}
    new_state: dict[str, dict[str, Any]] = {}
    # An archive keeps its own provenance; records without any are given this import's.
    used = False
    for kind in (*tables, "talks"):
        for rec in recs.get(kind, []):
            if not parsed.own_sources or not rec.get("sources"):
                rec["sources"] = list(dict.fromkeys([*rec.get("sources", []), src_id]))
                used = True
            for part in rec.get("sessions", []):  # an archive's sessions (SWC) often name no source either
                if not parsed.own_sources or not part.get("sources"):
                    part["sources"] = list(dict.fromkeys([*part.get("sources", []), src_id]))
                    used = True
    own_sources = [r for r in recs.get("sources", []) if r["id"] not in ds.sources or r["id"] in cur_by["sources"]]
    src_list = own_sources + ([source] if used or not parsed.own_sources else [])
    for kind, rec_list in (("sources", src_list), *((k, recs.get(k, [])) for k in (*tables, "talks"))):
        merged = dict(cur_by[kind])
        for rec in rec_list:
            if rec["id"] in elsewhere.get(kind, set()):
                continue
            key = f"{kind}/{rec['id']}"
            new_state[key] = rec
            if key in state and rec["id"] not in cur_by[kind]:
                out.notes.append(f"{key} was deleted by hand from {owned_path}; not restored")
                continue
            merged[rec["id"]] = three_way(key, cur_by[kind].get(rec["id"]), state.get(key), rec, prefer,
                                           conflicts, str(owned_path))
        if merged:
            doc[kind] = sorted(merged.values(), key=lambda r: (str(r.get("start", "")), r["id"]) if kind == "talks"
                               else r["id"])
    if conflicts:
        raise MergeConflict(_conflict_text(conflicts))
    skipped = [r for k in (*tables, "talks") for r in recs.get(k, []) if r["id"] in elsewhere.get(k, set())]
    prune(doc, cur_by, skipped, applied)
    # a pruned record was never written: remembering it would report it as deleted by hand next time
    kept = {f"{k}/{r['id']}" for k, rs in doc.items() for r in rs}
    new_state = {k: v for k, v in new_state.items()
                 if k in kept or k.split("/")[0] not in ("people", "organizations", "places")}
    for key, value in state.items():
        new_state.setdefault(key, value)
    out.notes[:0] = m.notes
    out.notes += [f"not imported: {what} ({n}×): {why}" for (what, why), n in sorted(parsed.skipped.items())]
    header = (f"# Imported by 'lod import' from {source.get('url') or source.get('document')} on {source['taken']}.\n"
              f"# Edit freely: fields you change are kept on the next import of this source\n"
              f"# (what the importer last wrote is in .import-state/{slug}.json).\n")
    for path, file_edits in edits.items():
        out.old[path] = path.read_bytes()
        try:
            out.files[path] = yamledit.apply(out.old[path].decode("utf-8"), file_edits, str(path)).encode("utf-8")
        except (yamledit.EditFailed, UnicodeDecodeError) as exc:
            names = ", ".join(dict.fromkeys(k for e in file_edits for k in (*e.add, *e.replace)))
            raise ImportFailed(f"{exc}; nothing was written. Fix: write the talk one field a line, "
                               f"or give it the imported fields ({names}) by hand.") from None
    if set(doc) <= {"sources"} and not current and not edits:
        out.notes.append("every imported record is already in the data; nothing to write")
        return out
    out.files[owned_path] = dump_yaml(doc, header)
    out.files[state_path] = (json.dumps(new_state, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    return out



def _ambiguity_text(items: list[str]) -> str:
    return ("an imported record matches several existing records; nothing was written.\n  " + "\n  ".join(items) +
            "\nFix: decide in a mapping file, one line per name, e.g.\n"
            "  people: {\"Wei Zhang\": wei-zhang-tsinghua}    # or: new\n"
            "and run the import again with --map FILE.")


def _conflict_text(items: list[str]) -> str:
    return (f"{len(items)} conflict{'s' if len(items) != 1 else ''} between the data and the import; nothing was written.\n  "
            + "\n  ".join(items) +
            "\nFix: edit the file to the value you want, or run again with --prefer data (keep the file's values)"
            " or --prefer import (take the imported values).")

