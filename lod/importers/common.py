"""Helpers shared by the importers: the parsed-source shape, names, times and errors.

Parsers are pure: bytes in, a ``Parsed`` out. A ``Parsed`` holds plain record dicts of
exactly the shape the YAML files use (``people``, ``organizations``, ``places``,
``events``, ``talks``), with ids local to the import; ``merge`` reconciles them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lod.errors import ImportFailed
from lod.model.iri import slugify, to_ascii
from lod.model.kinds import TOP_LEVEL

Rec = dict[str, Any]
KINDS = tuple(TOP_LEVEL)  # the top-level keys of a data file: sources, people, … talks (lod.model.kinds)


@dataclass
class Parsed:
    """What a parser read from one source: records by top-level key, and the source's title."""

    title: str | None = None
    records: dict[str, list[Rec]] = field(default_factory=lambda: {k: [] for k in KINDS})
    # True when the records carry their own `sources` (an RDF archive): merge keeps them.
    own_sources: bool = False
    # What the source is, independent of its file name (a conference acronym and server, an
    # Indico event URL, a calendar's name): it names the import's source record and file.
    key: str | None = None
    # Where in the source each imported record comes from (kind, the record, "file:12"): the
    # merge renames records in place, so a record the loader refuses is still reported at
    # its place in the source.
    where: list[tuple[str, Rec, str]] = field(default_factory=list)
    # Source fields not imported: (field, why) -> how many times; reported in the summary.
    skipped: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, kind: str, rec: Rec) -> str:
        """Add *rec* unless a record with its id is already there; return its id."""
        for old in self.records[kind]:
            if old["id"] == rec["id"]:
                for key, value in rec.items():  # the same person named twice: keep what the first lacked
                    old.setdefault(key, value)
                return str(old["id"])
        self.records[kind].append(rec)
        return str(rec["id"])

    def locate(self, kind: str, rec: Rec, where: str) -> None:
        """Remember where in the source *rec* comes from."""
        self.where.append((kind, rec, where))

    def skip(self, what: str, why: str, n: int = 1) -> None:
        """Count a source field that is not imported, with the reason, for the import's summary."""
        if n:
            self.skipped[(what, why)] = self.skipped.get((what, why), 0) + n

    def person_id(self, rec: Rec) -> str:
        """Add a person; one with another source id than an existing namesake gets an id of its own.

        Different source ids are different people ("mo" and "Mo" slug alike): only the
        same id, or no id on either side, makes the same person.
        """
        ids = rec.get("ids") or {}
        base, n = rec["id"], 2
        while True:
            old = next((p for p in self.records["people"] if p["id"] == rec["id"]), None)
            old_ids = (old or {}).get("ids") or {}
            if old is None or not any(k in old_ids and old_ids[k] != v for k, v in ids.items()):
                break
            rec["id"], n = f"{base}-{n}", n + 1
        return self.add("people", rec)


def fail(where: str, problem: str, fix: str) -> ImportFailed:
    """An ImportFailed naming where (file:line, or file plus JSON path), what is wrong and how to fix it."""
    return ImportFailed(f"{where}: {problem} Fix: {fix}")


# ---------------------------------------------------------------- names

_PARTICLES = {"van", "von", "der", "den", "de", "da", "di", "du", "del", "della", "la", "le", "dos", "das", "ter", "ten"}


# Academic and social titles written before a name: kept apart from the name (a given name
# "Dr. Sebastian" would stop matching "Sebastian Tramp").
_HONORIFIC = re.compile(r"^(?:(?:prof|dr|univ|ass|apl|hon|pd|priv|doz|dipl|ing|rer|nat|phil|med|habil|mr|mrs|ms|mx|sir|dame)"
                        r"(?:\.|-|\s|$)[\s.-]*)+", re.I)


_BARE_TITLES = {"prof", "dr", "mr", "mrs", "ms", "mx", "sir", "dame", "pd"}


def honorific(text: str) -> tuple[str, str]:
    """(title, name) of a name as written: "Prof. Dr. Jane Doe" -> ("Prof. Dr.", "Jane Doe")."""
    text = " ".join(text.split())
    m = _HONORIFIC.match(text)
    if not m or m.end() == len(text) or "." not in m.group(0) and len(text[m.end():].split()) < 2:
        return "", text
    # written without a dot, only an unmistakable title counts ("Med Hondo" is a name)
    if any(not re.search(r"[.-]", tok) and tok.lower() not in _BARE_TITLES for tok in m.group(0).split()):
        return "", text
    return m.group(0).strip(), text[m.end():].strip()


def split_people(text: str) -> list[str]:
    """The names in a field that may hold several: "Dr. A B, C D", "A B & C D", "A B and C D".

    A separator splits only when every part is a name of two words or more: "SURNAME, Given"
    (one name, Indico's order) and "Andrea Behrendt - read & delete" stay whole.
    """
    text = " ".join(text.split())
    parts = [p.strip() for p in re.split(r"\s*(?:,|;|&|\band\b|\bund\b|\+)\s*", text) if p.strip()]
    if len(parts) > 1 and all(len(honorific(p)[1].split()) >= 2 for p in parts):
        return parts
    return [text] if text else []


def split_name(text: str) -> Rec:
    """Name fields of a person as a source writes them: "SURNAME, Given" or "Given Family".

    An all-capitals surname (Indico's "HAYAT, Amaury") is written in title case; a single
    word stays a whole `name`.
    """
    text = honorific(text)[1]
    if "," in text:
        family, given = (p.strip() for p in text.split(",", 1))
    else:
        words = text.split(" ")
        if len(words) < 2:
            return {"name": text}
        cut = len(words) - 1
        while cut > 1 and words[cut - 1].lower() in _PARTICLES:
            cut -= 1
        given, family = " ".join(words[:cut]), " ".join(words[cut:])
    if family.isupper() and len(family) > 2:
        family = "-".join(w.capitalize() for w in family.title().split("-"))
    if not given or not family:
        return {"name": text}
    return {"given_name": given, "family_name": family}


def display(rec: Rec) -> str:
    """A person's name written "Given Family"."""
    return str(rec.get("name") or " ".join(p for p in (rec.get("given_name"), rec.get("family_name")) if p))


def fold(text: str) -> str:
    """Text without accents, case or punctuation: the key names are compared by."""
    ascii_text = to_ascii(text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


def name_keys(rec: Rec) -> tuple[str, str]:
    """(full key, initials key) of a person: "francois charton", "f charton"."""
    if rec.get("family_name"):
        given, family = fold(str(rec.get("given_name") or "")), fold(str(rec["family_name"]))
    else:
        parts = split_name(str(rec.get("name") or ""))
        given, family = fold(str(parts.get("given_name") or "")), fold(str(parts.get("family_name") or parts.get("name") or ""))
    initials = " ".join(w[0] for w in given.split())
    return (f"{given} {family}".strip(), f"{initials} {family}".strip())


def person(text: str, **extra: Any) -> Rec:
    """A person record from a name as written (an academic title kept apart), with an id minted from it."""
    title, bare = honorific(text)
    rec = split_name(bare)
    rec = {"id": slugify(display(rec)), **rec, **{k: v for k, v in extra.items() if v}}
    if title:
        rec["honorific"] = title
    if display(rec) != bare and bare:
        rec["also_known_as"] = [bare]
    return rec


def organization(name: str) -> Rec:
    """An organisation record from its name."""
    name = " ".join(name.split())
    return {"id": slugify(name)[:60].strip("-"), "name": name}


# ---------------------------------------------------------------- times

def local_text(moment: datetime) -> str:
    """A wall-clock time as the record format writes it: YYYY-MM-DDTHH:MM, seconds only when set."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


def iso_minutes(minutes: int) -> str:
    """An ISO 8601 duration of a number of minutes: PT1H30M."""
    h, m = divmod(minutes, 60)
    d, h = divmod(h, 24)
    text = "P" + (f"{d}D" if d else "")
    clock = (f"{h}H" if h else "") + (f"{m}M" if m else "")
    return text + ("T" + clock if clock else ("" if d else "T0M"))


def iso_delta(delta: timedelta) -> str:
    """An ISO 8601 duration of a timedelta (whole minutes)."""
    return iso_minutes(int(delta.total_seconds() // 60))


def talk_id(start: str | None, label: str) -> str:
    """A readable talk id: 2024-05-23-amaury-hayat (the day, then the speaker or title)."""
    slug = slugify(label)[:50].strip("-")
    return f"{start[:10]}-{slug}" if start else slug
