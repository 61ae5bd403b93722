"""Merge stage of ``lod import``: reconcile parsed records with ``data/`` and write them.

The only importer module that writes. Imported records go to their own file,
``data/imported/<source>.yaml``; beside it, ``data/.import-state/<source>.json`` keeps the
value the importer last wrote for each field (hidden folders are not records). On a
re-import each field is merged three ways:

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
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lod.model import records as R
from lod.errors import AmbiguousMatch, ImportFailed, MergeConflict, RecordErrors
from lod.model.fields import TABLES
from lod.model.iri import slugify
from lod.model.kinds import TOP_LEVEL
from lod.loading.files import data_files
from lod.loading.stage import load
from lod.loading.resolve import parse_duration
from lod.importers.common import Parsed, Rec, display
from lod.importers import yamledit
from lod.importers.match import SINGULAR, Matcher, utc_of
from lod.importers.yamledit import RecordEdit

ORDER = ["id", "kind", "name", "title", "title_status", "given_name", "family_name", "honorific", "also_known_as", "series", "part_of",
         "speakers", "coauthors", "start", "end", "duration", "timezone", "offset", "status", "previous_start",
         "attendance", "venue", "online", "code", "contained_in", "virtual", "parent", "affiliations", "job_title",
         "orcid", "ror", "wikidata", "ids", "homepage", "url", "same_as", "address", "language", "topics", "keywords",
         "organizers", "contacts", "description", "abstract", "references", "recording", "slides", "sessions",
         "sources", "inferred", "note"]
TALK_FIELDS = ("title", "start", "end", "duration", "status", "abstract", "speakers")


@dataclass
class Plan:
    """What an import would do: new file contents, old contents (for the diff) and notes."""

    data_dir: Path
    files: dict[Path, bytes] = field(default_factory=dict)
    old: dict[Path, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # (kind, final id) -> where in the source the record comes from, for located errors
    where: dict[tuple[str, str], str] = field(default_factory=dict)
    source_name: str = ""

    @property
    def changed(self) -> list[Path]:
        """The files whose content would change."""
        return [p for p, b in self.files.items() if self.old.get(p) != b]


# ---------------------------------------------------------------- YAML out

class _Dumper(yaml.SafeDumper):
    """Block style, abstracts as literal blocks: files a person can read and edit."""


_Dumper.add_representer(str, yamledit.represent_text)


def ordered(rec: Any) -> Any:
    """A record with its keys in the documentation's order (unknown keys last, alphabetically)."""
    if isinstance(rec, dict):
        keys = sorted(rec, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
        return {k: ordered(rec[k]) for k in keys}
    if isinstance(rec, list):
        return [ordered(v) for v in rec]
    return rec


def dump_yaml(doc: dict[str, Any], header: str) -> bytes:
    """Deterministic YAML of an imported file."""
    top = list(TOP_LEVEL)
    doc = {k: ordered(doc[k]) for k in sorted(doc, key=lambda k: top.index(k) if k in top else len(top))}
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return (header + body).encode("utf-8")


# ---------------------------------------------------------------- the merge

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


def _norm_end(rec: Any, start: str | None) -> str | None:
    end = rec.get("end") if isinstance(rec, dict) else rec
    if end and len(str(end)) == 5 and start:
        return f"{str(start)[:10]}T{end}"
    return str(end) if end else None


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
            add, replace = _compare_talk(t, rec, talk_zones.get(rec["id"]), prefer, conflicts, out.notes)
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
            merged[rec["id"]] = _three_way(key, cur_by[kind].get(rec["id"]), state.get(key), rec, prefer,
                                           conflicts, str(owned_path))
        if merged:
            doc[kind] = sorted(merged.values(), key=lambda r: (str(r.get("start", "")), r["id"]) if kind == "talks"
                               else r["id"])
    if conflicts:
        raise MergeConflict(_conflict_text(conflicts))
    skipped = [r for k in (*tables, "talks") for r in recs.get(k, []) if r["id"] in elsewhere.get(k, set())]
    _prune(doc, cur_by, skipped, applied)
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


def _prune(doc: dict[str, list[Rec]], cur_by: dict[str, dict[str, Rec]], skipped: list[Rec],
           applied: list[Any]) -> None:
    """Drop new people, organisations and places that no written record refers to.

    They were read only for a talk that lives in another file, for fields that file
    already has. Values *applied* to such a file (a coauthor, a venue) keep what they name.
    """
    def walk(value: Any, out: set[str]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k != "id":
                    walk(v, out)
        elif isinstance(value, list):
            for v in value:
                walk(v, out)
        elif isinstance(value, str):
            out.add(value)

    needed_elsewhere: set[str] = set()
    walk(skipped, needed_elsewhere)
    while True:
        used: set[str] = set()
        walk({k: v for k, v in doc.items() if k != "sources"}, used)
        walk(applied, used)
        dropped = False
        for kind in ("people", "organizations", "places"):
            keep = [r for r in doc.get(kind, []) if r["id"] in used or r["id"] in cur_by[kind]
                    or r["id"] not in needed_elsewhere]
            if len(keep) != len(doc.get(kind, [])):
                walk([r for r in doc[kind] if r not in keep], needed_elsewhere)  # their affiliations, rooms…
                doc[kind], dropped = keep, True
            if not doc.get(kind):
                doc.pop(kind, None)
        if not dropped:
            return


def _three_way(key: str, cur: Rec | None, last: Rec | None, new: Rec, prefer: str | None,
               conflicts: list[str], file: str) -> Rec:
    if cur is None:
        return new
    last = last or {}
    out: Rec = {}
    for name in dict.fromkeys([*cur, *new]):
        c, l, n = cur.get(name), last.get(name), new.get(name)
        if name == "sources":
            value: Any = list(dict.fromkeys([*(c or []), *(n or [])]))
        elif c == l or c == n:
            value = n
        elif n == l or prefer == "data":
            value = c  # edited by hand, and the source has not changed it: the hand edit stays
        elif prefer == "import":
            value = n
        else:
            conflicts.append(f"{file}: {key}, field {name}: the file has {_short(c)} (edited by hand), "
                             f"the import has {_short(n)}.")
            value = c
        if value is not None:
            out[name] = value
    return out


def _compare_talk(t: R.Talk, rec: Rec, zone: str | None, prefer: str | None,
                  conflicts: list[str], notes: list[str]) -> tuple[Rec, Rec]:
    """Compare an imported talk with a hand-written one: the fields to add and to replace.

    A field the talk lacks is added (nothing written by hand is lost); a differing field is
    a conflict, unless --prefer settles it (import: replace it; data: keep it).
    """
    have = {"title": t.title, "start": t.start, "end": _norm_end(t.end, t.start), "duration": t.duration,
            "status": t.status, "abstract": (t.abstract or "").strip() or None, "speakers": sorted(t.speakers) or None}
    new = {**rec, "end": _norm_end(rec, rec.get("start")), "abstract": (rec.get("abstract") or "").strip() or None,
           "speakers": sorted(rec.get("speakers", [])) or None, "status": rec.get("status", "scheduled")}
    for name, when in (("start", t.start_at), ("end", t.end_at)):
        # the same instant written in another zone (a feed writes UTC) is the same time
        b_utc = utc_of({**rec, "start": new.get(name)}, zone) if new.get(name) else None
        if when is not None and when.utc is not None and b_utc == when.utc:
            new[name] = have[name]
    add: Rec = {}
    replace: Rec = {}
    for name in TALK_FIELDS:
        a, b = have[name], new.get(name)
        if b is None or a == b:
            continue
        if a is None and name in ("end", "duration") and (t.duration or t.end):
            # the talk gives its length the other way: adding this one would say it twice
            if _same_length(t, rec, name, zone):
                continue
            if prefer == "import":
                notes.append(f"talk {t.id} ({t.loc}) gives its length as {'duration' if t.duration else 'end'}; "
                             f"the import's {name} {_short(b)} differs: change it by hand")
            elif prefer != "data":
                other = "duration" if t.duration else "end"
                conflicts.append(f"{t.where(other)}: talk {t.id}, field {name}: the data has {other} "
                                 f"{_short(getattr(t, other))}, the import has {_short(b)}.")
        elif a is None:
            add[name] = rec.get(name, b)
        elif prefer == "import":
            replace[name] = b if name == "end" else rec.get(name, b)  # the end as a full date and time
        elif prefer != "data":
            conflicts.append(f"{t.where(name)}: talk {t.id}, field {name}: the data has {_short(a)}, "
                             f"the import has {_short(b)}.")
    for name in sorted(set(rec) - set(TALK_FIELDS) - {"id", "sources", "part_of", "timezone", "offset", "ids"}):
        if name == "url" and str(rec[name]).endswith(f"/talk/{t.id}"):
            continue  # our own feed's link to the talk's page on our site
        value = rec[name]
        if name == "keywords":  # our own feed writes topics and keywords alike as categories
            value = [k for k in value if k not in (*t.topics, *t.keywords)]
        if getattr(t, name, None) in (None, [], {}) and value not in (None, [], {}):
            add[name] = value
    return ordered(add), replace


def _same_length(t: R.Talk, rec: Rec, name: str, zone: str | None) -> bool:
    """Whether an imported end (or duration) says what the talk's duration (or end) says."""
    if name == "end" and rec.get("duration") or name == "duration" and rec.get("end"):
        return True  # the import's other field is compared on its own
    if name == "duration" and t.start_at and t.end_at and t.start_at.utc and t.end_at.utc:
        try:
            return t.end_at.utc - t.start_at.utc == parse_duration(str(rec["duration"]))
        except ValueError:
            return False
    return False  # an end that matched the talk's computed end was set aside before


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "…" + text[-15:]


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


def diff(p: Plan) -> str:
    """The changes of a plan as a unified diff, then its notes."""
    chunks = []
    for path in sorted(p.changed):
        if path.suffix == ".json":  # the import state follows the YAML; its diff is noise
            continue
        old = p.old.get(path, b"").decode("utf-8").splitlines(keepends=True)
        new = p.files[path].decode("utf-8").splitlines(keepends=True)
        chunks.append("".join(difflib.unified_diff(old, new, str(path) if path in p.old else "/dev/null", str(path))))
    chunks += [f"note: {n}\n" for n in p.notes]
    return "".join(chunks) or "no changes\n"


def check(p: Plan) -> None:
    """Load the data folder as it would be after the import; raise ImportFailed if it would not load."""
    with tempfile.TemporaryDirectory(prefix="lod-import-") as tmp:
        trial = Path(tmp) / "data"
        if p.data_dir.is_dir():
            shutil.copytree(p.data_dir, trial)
        else:
            trial.mkdir()
        for path, content in p.files.items():
            target = trial / path.relative_to(p.data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        try:
            load(trial)
        except RecordErrors as exc:
            raise ImportFailed(_relocated(p, exc, trial)) from None


_FIELD = re.compile(r"^(?P<kind>[a-z]+) (?P<id>\S+), field (?P<field>.+)$")


def _relocated(p: Plan, exc: RecordErrors, trial: Path) -> str:
    """The loader's errors, those in records this import writes told at their place in the source.

    The imported YAML file was never written, so pointing at it (or saying "add 'name:'" to
    it) would not help: the error names the source file and the resource in it.
    """
    lines = []
    written = {str(trial / path.relative_to(p.data_dir)) for path in p.files}
    for e in exc.errors:
        m = _FIELD.match(e.field)
        if e.location.file in written and m:
            kind = TABLES.get(m.group("kind"), m.group("kind"))
            where = p.where.get((kind, m.group("id"))) or p.source_name
            lines.append(f"{where}: the {m.group('kind')} (imported as {m.group('id')}), field {m.group('field')}: "
                         f"{e.problem} Fix: correct {m.group('field')} of that {m.group('kind')} in the source (or leave it "
                         "out) and import again.")
        else:
            lines.append(str(e).replace(str(trial), str(p.data_dir)))
    return "the imported records would not load, so nothing was written:\n  " + "\n  ".join(lines)


def write(p: Plan) -> list[Path]:
    """Write the changed files, each through a temporary file and a rename; return them."""
    check(p)
    staged: list[tuple[Path, Path]] = []
    try:
        for path in p.changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(p.files[path])
                fh.flush()
                os.fsync(fh.fileno())
            staged.append((Path(tmp_name), path))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    # The state file goes last: if we stop between the renames, the next import sees the
    # records as hand-edited and keeps them, rather than overwriting anything.
    staged.sort(key=lambda s: s[1].suffix == ".json")
    for tmp, path in staged:
        os.replace(tmp, path)
    return [path for _, path in staged]
