"""How one imported record is merged with what the data holds, field by field.

``three_way``: a record of the import's own file, against what the importer last wrote
(the hand edit stays unless the source changed it too; both changed is a conflict).
``compare_talk``: a talk written by hand elsewhere, which has no import state: the fields
it lacks are added, differing ones are conflicts unless ``prefer`` settles them.
``prune``: the new people, organisations and places that no written record needs.
Conflicts are collected, never raised here: ``lod.importers.merge`` reports them all at once.
"""

from __future__ import annotations

from typing import Any

from lod.model import records as R
from lod.loading.resolve import parse_duration
from lod.importers.common import Rec
from lod.importers.match import utc_of
from lod.importers.planfiles import ordered

TALK_FIELDS = ("title", "start", "end", "duration", "status", "abstract", "speakers")


def _norm_end(rec: Any, start: str | None) -> str | None:
    end = rec.get("end") if isinstance(rec, dict) else rec
    if end and len(str(end)) == 5 and start:
        return f"{str(start)[:10]}T{end}"
    return str(end) if end else None


def prune(doc: dict[str, list[Rec]], cur_by: dict[str, dict[str, Rec]], skipped: list[Rec],
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


def three_way(key: str, cur: Rec | None, last: Rec | None, new: Rec, prefer: str | None,
              conflicts: list[str], file: str) -> Rec:
    """Record *key* of the import's own *file* merged from what it holds (*cur*), what the importer
    last wrote (*last*) and the new import (*new*), field by field; a conflict is added to *conflicts*."""
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


def compare_talk(t: R.Talk, rec: Rec, zone: str | None, prefer: str | None,
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

