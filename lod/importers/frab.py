"""Import a frab / pretalx schedule, XML (``schedule.xml``) or JSON (``schedule.json``).

The conference becomes an event (``kind: conference``) and each of its events a talk
with ``part_of`` it: ``date`` (or the day's date and ``start``) and ``duration`` give the
time in the conference's ``time_zone_name``; the room becomes a place; ``persons`` the
speakers (their frab id kept as ``ids: {frab-person: …}``); ``track`` a topic and
``language`` the language; ``links`` become references, ``attachments`` the slides (a PDF)
or references. ``do_not_record`` and the recording licence are written in the talk's
``note`` (the record format has no field for them); a talk that may be recorded is not
marked as recorded, since a schedule does not say that a recording exists.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..iri import slugify
from .common import Parsed, Rec, fail, iso_minutes, local_text, person, talk_id
from .jsonpath import load_json

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


def _xml(data: bytes, name: str) -> list[Rec]:
    head = data[:4096].decode("utf-8", "replace")
    if "<!DOCTYPE" in head.upper() or "<!ENTITY" in data.decode("utf-8", "replace").upper():
        raise fail(name, "the XML declares a DOCTYPE or entities, which are refused (they allow entity bombs).",
                   "remove the <!DOCTYPE …> declaration; frab schedules do not need one.")
    # expat directly (not ElementTree's C parser) so that each element knows its line
    expat = xml.parsers.expat.ParserCreate()
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        lines[id(builder.start(tag, attrs))] = expat.CurrentLineNumber

    def entity(*_args: Any) -> None:
        raise ValueError("entity declarations are refused")

    expat.StartElementHandler = start
    expat.EndElementHandler = builder.end
    expat.CharacterDataHandler = builder.data
    expat.EntityDeclHandler = entity
    try:
        expat.Parse(data, True)
        root = builder.close()
    except xml.parsers.expat.ExpatError as exc:
        raise fail(f"{name}:{exc.lineno}:{exc.offset + 1}",
                   f"the XML is broken: {xml.parsers.expat.ErrorString(exc.code)}.",
                   "download the schedule again; the file may be truncated.") from None
    except (ValueError, AssertionError):
        raise fail(name, "the XML is not a complete document.", "download the schedule again.") from None
    if root.tag != "schedule":
        raise fail(f"{name}:{lines.get(id(root), 1)}", f"the root element is <{root.tag}>, not <schedule>.",
                   "import a frab/pretalx schedule.xml.")
    conf = root.find("conference")

    def t(el: ET.Element | None, tag: str) -> str | None:
        if el is None:
            return None
        found = el.find(tag)
        return (found.text or "").strip() or None if found is not None else None

    out: list[Rec] = [{"kind": "conference", "title": t(conf, "title"), "acronym": t(conf, "acronym"),
                       "time_zone_name": t(conf, "time_zone_name"), "where": f"{name}:{lines.get(id(root), 1)}"}]
    for day in root.findall("day"):
        for room in day.findall("room"):
            for ev in room.findall("event"):
                where = f"{name}:{lines.get(id(ev), 0)}"
                rec: Rec = {"where": where, "day": day.get("date"), "room": room.get("name") or t(ev, "room")}
                for tag in ("date", "start", "duration", "title", "subtitle", "track", "language", "abstract",
                            "description", "url", "slug", "do_not_record"):
                    rec[tag] = t(ev, tag)
                rec["guid"] = ev.get("guid") or ev.get("id")
                rec["persons"] = [{"id": p.get("id"), "name": (p.text or "").strip()} for p in ev.iter("person")]
                rec["links"] = [{"url": l.get("href"), "title": (l.text or "").strip()} for l in ev.iter("link")]
                rec["attachments"] = [{"url": a.get("href"), "title": (a.text or "").strip()} for a in ev.iter("attachment")]
                recording = ev.find("recording")
                rec["recording_license"] = t(recording, "license")
                if t(recording, "optout") == "true":
                    rec["do_not_record"] = "true"
                out.append(rec)
    return out


def _json(data: bytes, name: str) -> list[Rec]:
    root = load_json(data, name)
    sched = root.need("schedule")
    conf = sched.need("conference")
    out: list[Rec] = [{"kind": "conference", "title": conf.text("title"), "acronym": conf.text("acronym"),
                       "time_zone_name": conf.text("time_zone_name"), "where": f"{name}: {conf.path}"}]
    for day in conf.need("days").items():
        rooms = day.need("rooms")
        if not isinstance(rooms.value, dict):
            raise rooms.error("expected an object of rooms, each an array of events.", "check the schedule.json.")
        for room_name in rooms.value:
            for ev in rooms.need(room_name).items():
                rec: Rec = {"where": f"{name}: {ev.path}", "day": day.text("date"), "room": ev.text("room") or room_name}
                for key in ("date", "start", "duration", "title", "subtitle", "track", "language", "abstract",
                            "description", "url", "slug", "recording_license"):
                    rec[key] = ev.text(key)
                rec["guid"] = ev.text("guid") or ev.text("id")
                dnr = ev.get("do_not_record")
                rec["do_not_record"] = "true" if dnr is not None and dnr.value is True else None
                rec["persons"] = [{"id": p.text("id"), "name": p.text("public_name") or p.text("name") or ""}
                                  for p in (ev.need("persons").items() if ev.get("persons") else [])]
                rec["links"] = [{"url": l.text("url"), "title": l.text("title") or ""}
                                for l in (ev.need("links").items() if ev.get("links") else [])]
                rec["attachments"] = [{"url": a.text("url"), "title": a.text("title") or ""}
                                      for a in (ev.need("attachments").items() if ev.get("attachments") else [])]
                out.append(rec)
    return out


def parse(data: bytes, name: str) -> Parsed:
    """The conference and talks of a frab/pretalx schedule (XML or JSON, told apart by the first byte)."""
    rows = _json(data, name) if data.lstrip()[:1] in (b"{", b"[") else _xml(data, name)
    conf, events = rows[0], rows[1:]
    title = conf["title"] or conf["acronym"]
    if not title:
        raise fail(conf["where"], "the conference has no title or acronym.", "add <title> to <conference>.")
    zone = conf["time_zone_name"]
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise fail(conf["where"], f"time_zone_name {zone!r} is not an IANA zone.", "write e.g. Europe/Berlin.") from None
    parsed = Parsed(title=title)
    event_id = slugify(conf["acronym"] or title)[:50].strip("-")
    event: Rec = {"id": event_id, "kind": "conference", "name": title}
    if zone:
        event["timezone"] = zone
    days = sorted({e["day"] for e in events if e.get("day")})
    if days:
        event["start"], event["end"] = days[0], days[-1]
        if days[0] == days[-1]:
            del event["end"]
    parsed.add("events", event)
    for e in events:
        parsed.records["talks"].append(_talk(parsed, e, event_id, zone))
    return parsed


def _talk(parsed: Parsed, e: Rec, event_id: str, zone: str | None) -> Rec:
    where = e["where"]
    talk: Rec = {}
    if e.get("date"):
        try:
            moment = datetime.fromisoformat(e["date"])
        except ValueError:
            raise fail(where, f"field date: {e['date']!r} is not an ISO 8601 date and time.",
                       "write it like 2024-12-27T11:00:00+01:00.") from None
        if moment.tzinfo is not None and zone:
            moment = moment.astimezone(ZoneInfo(zone))
        talk["start"] = local_text(moment.replace(tzinfo=None))
        if moment.tzinfo is not None and not zone:
            off = moment.utcoffset()
            minutes = int(off.total_seconds() // 60) if off is not None else 0
            talk["offset"] = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    elif e.get("day") and e.get("start"):
        m = _HHMM.match(e["start"])
        if not m or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", e["day"]):
            raise fail(where, f"field start: {e['start']!r} on day {e['day']!r} is not a time.", "write start as HH:MM.")
        talk["start"] = f"{e['day']}T{int(m.group(1)):02d}:{m.group(2)}"
    if e.get("duration"):
        m = _HHMM.match(e["duration"])
        if not m:
            raise fail(where, f"field duration: {e['duration']!r} is not HH:MM.", "write it like 00:40.")
        talk["duration"] = iso_minutes(int(m.group(1)) * 60 + int(m.group(2)))
    speakers = []
    for p in e["persons"]:
        if p["name"]:
            extra = {"ids": {"frab-person": str(p["id"])}} if p.get("id") else {}
            speakers.append(parsed.add("people", person(p["name"], **extra)))
    first = next((p for p in parsed.records["people"] if speakers and p["id"] == speakers[0]), None)
    label = " ".join(filter(None, (first.get("given_name"), first.get("family_name"), first.get("name")))) if first else ""
    talk["id"] = talk_id(talk.get("start"), label or e.get("title") or "talk")
    if e.get("title"):
        talk["title"] = e["title"]
    if speakers:
        talk["speakers"] = list(dict.fromkeys(speakers))
    text = "\n\n".join(x for x in (e.get("abstract"), e.get("description")) if x)
    if text:
        talk["abstract"] = text
    if e.get("room"):
        talk["venue"] = parsed.add("places", {"id": slugify(f"{event_id} {e['room']}")[:60].strip("-"), "name": e["room"]})
    if e.get("language"):
        talk["language"] = e["language"]
    if e.get("track"):
        talk["topics"] = [e["track"]]
    for link in e["links"]:
        if link.get("url", "").startswith(("http://", "https://")):
            talk.setdefault("references", []).append({"title": link["title"] or link["url"], "url": link["url"]})
    for att in e["attachments"]:
        url = att.get("url") or ""
        if not url.startswith(("http://", "https://")):
            continue
        if "slides" not in talk and (url.lower().endswith(".pdf") or "slide" in att["title"].lower()):
            talk["slides"] = {"url": url}
        else:
            talk.setdefault("references", []).append({"title": att["title"] or url, "url": url})
    if e.get("url", "") and str(e["url"]).startswith(("http://", "https://")):
        talk["url"] = e["url"]
    notes = []
    if e.get("do_not_record") == "true":
        notes.append("the speaker asked not to be recorded (do_not_record)")
    if e.get("recording_license"):
        notes.append(f"recording licence: {e['recording_license']}")
    if notes:
        talk["note"] = "; ".join(notes)
    if e.get("guid"):
        talk["ids"] = {"frab": str(e["guid"])}
    talk["part_of"] = event_id
    return talk
