"""Realistic random edits of a data folder, for incremental-build tests.

Each edit is a function ``(folder, rng) -> str`` that changes the YAML records under
*folder* the way an organiser would (rename a person, move a talk, add a talk to a
series …) and returns what it did, in words. It works on a folder written by
``lod.synth.write_synth`` and on a copy of the repository's ``data/``, and leaves valid data:
``apply_edit`` runs an edit and checks the folder still loads, trying again with other
random choices (and restoring the files) when a choice would break it.

Files are rewritten with the dumper settings ``write_synth`` uses, so on synthetic data an
edit changes only the lines it means to (and the lines after them shift only when it adds
or removes lines). Hand-written files (``data/``) are reformatted the first time an edit
touches them: their comments go, and their records' lines move.

This module knows nothing of how a build decides what to rebuild; it only edits.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

Edit = Callable[[Path, random.Random], str]

_KIND_OF_LIST = {"talks": "talk", "sessions": "session", "events": "event", "series": "series",
                 "people": "person", "organizations": "organization", "places": "place", "sources": "source"}
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class Skip(Exception):
    """The data has nothing this edit applies to (e.g. no series)."""


@dataclass
class Rec:
    """A record found in a file: its kind, its dict (edited in place), the list holding it and the file."""

    kind: str
    data: dict[str, Any]
    holder: list[Any]
    file: Path
    parent: dict[str, Any] | None = None


class Folder:
    """The YAML documents of a data folder, loaded once, written back where changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs: dict[Path, Any] = {}
        for path in sorted(root.rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                self.docs[path] = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        self.dirty: set[Path] = set()

    def records(self, kind: str | None = None) -> list[Rec]:
        out: list[Rec] = []
        for path, doc in self.docs.items():
            if isinstance(doc, dict):
                for key, value in doc.items():
                    out.extend(self._walk(key, value, path, None))
        return [r for r in out if kind is None or r.kind == kind]

    def _walk(self, key: str, value: Any, path: Path, parent: dict[str, Any] | None) -> Iterator[Rec]:
        kind = _KIND_OF_LIST.get(key)
        if kind is None or not isinstance(value, list):
            return
        for item in value:
            if isinstance(item, dict) and "id" in item:
                yield Rec(kind, item, value, path, parent)
                for sub in ("talks", "sessions", "events"):
                    if sub in item:
                        yield from self._walk(sub, item[sub], path, item)

    def ids(self, kind: str) -> list[str]:
        return [str(r.data["id"]) for r in self.records(kind)]

    def touch(self, rec: Rec) -> None:
        self.dirty.add(rec.file)

    def save(self) -> None:
        for path in sorted(self.dirty):
            path.write_text(yaml.dump(self.docs[path], Dumper=_DUMPER, allow_unicode=True, sort_keys=False,
                                      width=120), encoding="utf-8")


def _pick(rng: random.Random, items: list[Any]) -> Any:
    if not items:
        raise Skip
    return rng.choice(items)


def _edit(fn: Callable[[Folder, random.Random], str]) -> Edit:
    def run(folder: Path, rng: random.Random) -> str:
        f = Folder(folder)
        what = fn(f, rng)
        f.save()
        return what
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


# ---------------------------------------------------------------- renames


def _rename(kind: str, field: str) -> Edit:
    def rename(f: Folder, rng: random.Random) -> str:
        rec = _pick(rng, f.records(kind))
        if kind == "person" and "family_name" in rec.data:
            field_ = "family_name"
        elif kind == "person":
            field_ = "name" if "name" in rec.data else "given_name"
        else:
            field_ = field
        old = rec.data.get(field_) or ""
        rec.data[field_] = f"{old} Renamed{rng.randrange(1000)}".strip()
        f.touch(rec)
        return f"rename {kind} {rec.data['id']}: {field_} {old!r} -> {rec.data[field_]!r}"
    rename.__name__ = f"rename_{kind}"
    return _edit(rename)


rename_person = _rename("person", "name")
rename_organization = _rename("organization", "name")
rename_place = _rename("place", "name")
rename_series = _rename("series", "name")
rename_event = _rename("event", "name")
rename_source = _rename("source", "title")


# ---------------------------------------------------------------- talks


@_edit
def talk_title(f: Folder, rng: random.Random) -> str:
    """Change one talk's title (giving one to a talk that had none)."""
    rec = _pick(rng, f.records("talk"))
    old = rec.data.get("title")
    rec.data.pop("title_status", None)
    rec.data["title"] = f"{old or 'A talk'} (revised {rng.randrange(1000)})"
    f.touch(rec)
    return f"talk {rec.data['id']}: title {old!r} -> {rec.data['title']!r}"


@_edit
def talk_abstract(f: Folder, rng: random.Random) -> str:
    rec = _pick(rng, f.records("talk"))
    rec.data["abstract"] = (rec.data.get("abstract") or "").rstrip() + f"\n\nRevised, with $x^{rng.randrange(9)}$.\n"
    f.touch(rec)
    return f"talk {rec.data['id']}: abstract changed"


@_edit
def talk_speakers(f: Folder, rng: random.Random) -> str:
    rec = _pick(rng, f.records("talk"))
    people = f.ids("person")
    old = list(rec.data.get("speakers") or [])
    new = sorted({_pick(rng, people) for _ in range(rng.choice((1, 1, 2)))})
    if rng.random() < 0.3 and old:
        new = sorted(set(old) | set(new))
    rec.data["speakers"] = new
    f.touch(rec)
    return f"talk {rec.data['id']}: speakers {old} -> {new}"


def _chain_has_zone(places: dict[str, dict[str, Any]], pid: str) -> bool:
    seen: set[str] = set()
    cur: str | None = pid
    while cur and cur in places and cur not in seen:
        seen.add(cur)
        if places[cur].get("timezone"):
            return True
        cur = places[cur].get("contained_in")
    return False


@_edit
def talk_venue(f: Folder, rng: random.Random) -> str:
    """Move a talk to another room, in person (its own online place dropped)."""
    rec = _pick(rng, f.records("talk"))
    places = {str(p.data["id"]): p.data for p in f.records("place")}
    rooms = [pid for pid, p in places.items() if not p.get("virtual") and _chain_has_zone(places, pid)]
    new = _pick(rng, rooms)
    old = rec.data.get("venue")
    rec.data["venue"] = new
    rec.data["attendance"] = "in-person"
    rec.data.pop("online", None)
    f.touch(rec)
    return f"talk {rec.data['id']}: venue {old!r} -> {new!r}, in person"


def _shift(value: Any, days: int) -> Any:
    text = str(value)
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return value
    moved = (day + timedelta(days=days)).isoformat() + text[10:]
    return moved if isinstance(value, str) else date.fromisoformat(moved)


@_edit
def talk_date(f: Folder, rng: random.Random) -> str:
    """Move a talk by some days (a talk without a date gets one, in its parent's zone if it has one)."""
    rec = _pick(rng, [r for r in f.records("talk") if r.data.get("start")])
    days = rng.choice((-400, -30, -7, -1, 1, 7, 30, 400))
    old = rec.data["start"]
    rec.data["start"] = _shift(old, days)
    if rec.data.get("end") and len(str(rec.data["end"])) >= 10:
        rec.data["end"] = _shift(rec.data["end"], days)
    f.touch(rec)
    return f"talk {rec.data['id']}: start {old} -> {rec.data['start']}"


@_edit
def talk_undate(f: Folder, rng: random.Random) -> str:
    """Take a talk's date away (the source turned out not to give it): its calendar goes."""
    rec = _pick(rng, [r for r in f.records("talk") if r.data.get("start")])
    for key in ("start", "end", "duration", "previous_start"):
        rec.data.pop(key, None)
    if rec.data.get("status") == "rescheduled":
        rec.data["status"] = "scheduled"
    for key in ("start", "end", "duration", "previous_start", "offset", "timezone"):
        (rec.data.get("inferred") or {}).pop(key, None)
    if rec.data.get("inferred") == {}:
        rec.data.pop("inferred")
    f.touch(rec)
    return f"talk {rec.data['id']}: no date"


TOPICS = ["Large Language Models & Understanding", "Geometry of learning", "Optimisation", "Machine learning"]


@_edit
def talk_topics(f: Folder, rng: random.Random) -> str:
    rec = _pick(rng, f.records("talk"))
    old = list(rec.data.get("topics") or [])
    if old and rng.random() < 0.4:
        new = old[:-1]
    else:
        new = sorted(set(old) | {_pick(rng, TOPICS)})
    if new:
        rec.data["topics"] = new
    else:
        rec.data.pop("topics", None)
    f.touch(rec)
    return f"talk {rec.data['id']}: topics {old} -> {new}"


@_edit
def talk_status(f: Folder, rng: random.Random) -> str:
    rec = _pick(rng, [r for r in f.records("talk") if not r.data.get("previous_start")])
    old = rec.data.get("status", "scheduled")
    new = _pick(rng, [s for s in ("scheduled", "cancelled", "postponed") if s != old])
    rec.data["status"] = new
    f.touch(rec)
    return f"talk {rec.data['id']}: status {old} -> {new}"


def _new_id(f: Folder, kind: str, stem: str) -> str:
    taken = set(f.ids(kind))
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


@_edit
def add_talk_to_series(f: Folder, rng: random.Random) -> str:
    """A new talk in a series (or event session), a copy of one of its talks with a new id, title and week."""
    rec = _pick(rng, [r for r in f.records("talk") if r.parent is not None])
    new = copy.deepcopy(rec.data)
    new["id"] = _new_id(f, "talk", f"{rec.data['id']}-new")
    new["title"] = f"A new talk {rng.randrange(1000)}"
    new.pop("title_status", None)
    new.pop("ids", None)
    if new.get("start"):
        new["start"] = _shift(new["start"], 7)
        if new.get("end") and len(str(new["end"])) >= 10:
            new["end"] = _shift(new["end"], 7)
    new["speakers"] = [_pick(rng, f.ids("person"))]
    rec.holder.insert(rec.holder.index(rec.data) + 1, new)
    f.touch(rec)
    return f"add talk {new['id']} after {rec.data['id']}"


@_edit
def delete_talk(f: Folder, rng: random.Random) -> str:
    rec = _pick(rng, f.records("talk"))
    rec.holder.remove(rec.data)
    f.touch(rec)
    return f"delete talk {rec.data['id']}"


# ---------------------------------------------------------------- places, organisations, people


def _descendants(items: dict[str, dict[str, Any]], root: str, field: str) -> set[str]:
    out = {root}
    grew = True
    while grew:
        grew = False
        for rid, d in items.items():
            if rid not in out and d.get(field) in out:
                out.add(rid)
                grew = True
    return out


@_edit
def move_place(f: Folder, rng: random.Random) -> str:
    """Put a place inside another (not one of its own), or make it top-level."""
    places = {str(p.data["id"]): p for p in f.records("place")}
    data = {k: p.data for k, p in places.items()}
    rec = _pick(rng, [p for p in places.values() if not p.data.get("virtual")])
    inside = _descendants(data, str(rec.data["id"]), "contained_in")
    targets = [k for k, d in data.items() if k not in inside and not d.get("virtual")]
    old = rec.data.get("contained_in")
    new = None if (old and rng.random() < 0.25) or not targets else _pick(rng, targets)
    if new is None:
        rec.data.pop("contained_in", None)
        if not rec.data.get("timezone") and old:  # keep the zone its talks' times were read in
            zone = next((data[k].get("timezone") for k in [old] if k in data), None)
            if zone:
                rec.data["timezone"] = zone
    else:
        rec.data["contained_in"] = new
    f.touch(rec)
    return f"place {rec.data['id']}: contained_in {old!r} -> {new!r}"


ZONES = ["Europe/Paris", "Australia/Sydney", "Asia/Tokyo", "America/New_York"]


@_edit
def place_timezone(f: Folder, rng: random.Random) -> str:
    """Correct a place's time zone: the talks whose times are read in it (no zone of their own) move."""
    rec = _pick(rng, [p for p in f.records("place") if p.data.get("timezone")])
    old = rec.data["timezone"]
    rec.data["timezone"] = _pick(rng, [z for z in ZONES if z != old])
    f.touch(rec)
    return f"place {rec.data['id']}: timezone {old} -> {rec.data['timezone']}"


@_edit
def move_organization(f: Folder, rng: random.Random) -> str:
    orgs = {str(o.data["id"]): o for o in f.records("organization")}
    data = {k: o.data for k, o in orgs.items()}
    rec = _pick(rng, list(orgs.values()))
    inside = _descendants(data, str(rec.data["id"]), "parent")
    targets = [k for k in data if k not in inside]
    old = rec.data.get("parent")
    new = None if (old and rng.random() < 0.25) or not targets else _pick(rng, targets)
    if new is None:
        rec.data.pop("parent", None)
    else:
        rec.data["parent"] = new
    f.touch(rec)
    return f"organization {rec.data['id']}: parent {old!r} -> {new!r}"


@_edit
def person_affiliation(f: Folder, rng: random.Random) -> str:
    rec = _pick(rng, f.records("person"))
    old = list(rec.data.get("affiliations") or [])
    new = [_pick(rng, f.ids("organization"))]
    rec.data["affiliations"] = new
    f.touch(rec)
    return f"person {rec.data['id']}: affiliations {old} -> {new}"


@_edit
def organizer_becomes_person(f: Folder, rng: random.Random) -> str:
    """An organiser turns out to be a person, not an organisation: the same id, now a person
    (what was inside it or affiliated with it no longer is). What it organises is unchanged,
    yet maps to another resource."""
    used = {str(o) for r in f.records() for o in (r.data.get("organizers") or [])}
    rec = _pick(rng, [r for r in f.records("organization") if str(r.data["id"]) in used])
    people = _pick(rng, f.records("person"))
    oid = str(rec.data["id"])
    rec.holder.remove(rec.data)
    f.touch(rec)
    for other in f.records():
        if other.kind == "organization" and other.data.get("parent") == oid:
            other.data.pop("parent")
            f.touch(other)
        if other.kind == "person" and oid in (other.data.get("affiliations") or []):
            other.data["affiliations"] = [a for a in other.data["affiliations"] if a != oid]
            if not other.data["affiliations"]:
                other.data.pop("affiliations")
            f.touch(other)
    people.holder.append({"id": oid, "name": rec.data.get("name") or oid, "sources": list(rec.data.get("sources") or [])})
    f.touch(people)
    return f"organization {oid} is now a person"


# ---------------------------------------------------------------- sources and lines


@_edit
def add_source_ref(f: Folder, rng: random.Random) -> str:
    """Cite one more source on a record (a new source, taken on a new date, when it already cites them all)."""
    rec = _pick(rng, [r for r in f.records() if r.kind != "source"])
    have = set(rec.data.get("sources") or [])
    others = [s for s in f.ids("source") if s not in have]
    if not others or rng.random() < 0.3:
        src = next(r for r in f.records("source"))
        sid = _new_id(f, "source", "extra-source")
        taken = date(2025, 1, 1) + timedelta(days=rng.randrange(-300, 300))
        src.holder.append({"id": sid, "document": f"extra document {sid}", "taken": taken})
        f.touch(src)
        others = [sid]
    sid = _pick(rng, others)
    rec.data["sources"] = [*rec.data.get("sources", []), sid]
    f.touch(rec)
    return f"{rec.kind} {rec.data['id']}: also cites {sid}"


@_edit
def remove_source_ref(f: Folder, rng: random.Random) -> str:
    """Stop citing one source on a record that cites several."""
    rec = _pick(rng, [r for r in f.records() if r.kind != "source" and len(r.data.get("sources") or []) > 1])
    gone = rec.data["sources"].pop(rng.randrange(len(rec.data["sources"])))
    f.touch(rec)
    return f"{rec.kind} {rec.data['id']}: no longer cites {gone}"


@_edit
def retake_source(f: Folder, rng: random.Random) -> str:
    """Change the date a source was taken (every record citing it shows the date)."""
    rec = _pick(rng, f.records("source"))
    old = rec.data.get("taken")
    rec.data["taken"] = date(2025, 1, 1) + timedelta(days=rng.randrange(-500, 500))
    f.touch(rec)
    return f"source {rec.data['id']}: taken {old} -> {rec.data['taken']}"


def shift_lines(folder: Path, rng: random.Random) -> str:
    """Add a comment line near the top of a file: every record below it moves down a line."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.name != "site.yaml")
    path = _pick(rng, files)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = rng.randrange(0, min(len(lines), 3) + 1)
    lines.insert(at, f"# note {rng.randrange(10**6)}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return f"{path.relative_to(folder)}: a comment line at line {at + 1}"


EDITS: dict[str, Edit] = {e.__name__: e for e in (
    rename_person, rename_organization, rename_place, rename_series, rename_event, rename_source, talk_title,
    talk_abstract, talk_speakers, talk_venue, talk_date, talk_undate, talk_topics, talk_status, add_talk_to_series,
    delete_talk, move_place, place_timezone, move_organization, person_affiliation, organizer_becomes_person, add_source_ref, remove_source_ref, retake_source,
    shift_lines)}


def apply_edit(edit: Edit, folder: Path, rng: random.Random, tries: int = 20) -> str:
    """Run *edit* on *folder* until the data still loads (other random choices each time); return what it did.

    Raises Skip if the data has nothing the edit applies to, AssertionError if no try left valid data.
    """
    from lod.errors import LodError
    from lod.loading.stage import load

    files = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    last = ""
    for _ in range(tries):
        what = edit(folder, rng)
        try:
            load(folder)
            return what
        except LodError as exc:
            last = f"{what}: {str(exc)[:300]}"
        for p in folder.rglob("*"):
            if p.is_file() and p not in files:
                p.unlink()
        for p, data in files.items():
            p.write_bytes(data)
    raise AssertionError(f"{edit.__name__} left invalid data {tries} times; the last: {last}")


def random_edit(folder: Path, rng: random.Random) -> str:
    """One edit of a random kind (skipping kinds the data has nothing for)."""
    names = sorted(EDITS)
    while True:
        try:
            return apply_edit(EDITS[rng.choice(names)], folder, rng)
        except Skip:
            continue
