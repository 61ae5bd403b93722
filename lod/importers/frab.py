"""Import a frab / pretalx schedule: XML (``schedule.xml``), JSON (``schedule.json``) or the
c3voc "schedule 2" JSON (events in one list, rooms and people described once).

The conference becomes an event (``kind: conference``) and each of its events a talk
with ``part_of`` it: ``date`` (or the day's date and ``start``) and ``duration`` (HH:MM or
ISO 8601, ``PT45M``; schedule 2 gives ``end``) give the time in the conference's
``time_zone_name``; the room becomes a place; ``persons`` the speakers (a person entry
holding several names, "Dr. A B, C D", is split; titles such as "Dr." are kept out of the
name, as the person's ``honorific``). A frab or pretalx id is unique only on its server,
so it is kept scoped by the server (the host of ``base_url``, else the conference):
``ids: {frab-person: fahrplan.events.ccc.de/1234}``. ``subtitle`` opens the abstract,
``track`` is a topic and ``language`` the language; ``links`` become references and
``attachments`` the slides (a PDF) or references, relative URLs resolved against
``base_url``. ``do_not_record`` and the recording licence are written in the talk's
``note`` (the record format has no field for them); a talk that may be recorded is not
marked as recorded, since a schedule does not say that a recording exists. Every other
field of an event (logo, type, answers, biography …) is counted in the import's summary
as not imported.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from urllib.parse import urljoin, urlsplit

from lod.model.iri import slugify
from lod.importers.common import Parsed, Rec, fail, iso_minutes, local_text, person, split_people, talk_id
from lod.importers.jsonpath import Node, load_json
from lod.importers.text import html_to_text

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.I)
# Event fields read into the talk; anything else an event carries is counted as not imported.
_READ = {"date", "start", "end", "duration", "title", "subtitle", "track", "language", "abstract", "description",
         "url", "slug", "do_not_record", "guid", "id", "room", "persons", "participants", "links", "attachments",
         "recording", "recording_license", "code"}
_PERSON_READ = {"id", "guid", "code", "name", "public_name", "role"}
_WHY = {"person biography": "the record format has no biography", "person answers": "answers to a submission form are "
        "not part of the record", "person avatar": "the record format has no picture",
        "person url": "a person's page on the schedule is not kept", "person links": "a person's links are not kept",
        "logo": "the record format has no image of a talk", "type": "the record format has no kind of talk",
        "answers": "answers to a submission form are not part of the record",
        "feedback_url": "a feedback form is not part of the record", "video_download_url": "it is not a recording link",
        "origin_url": "it repeats the talk's url", "level": "the record format has no audience level"}


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
                       "time_zone_name": t(conf, "time_zone_name"), "base_url": t(conf, "base_url") or t(root, "base_url"),
                       "url": t(conf, "url"), "where": f"{name}:{lines.get(id(root), 1)}"}]
    for day in root.findall("day"):
        for room in day.findall("room"):
            for ev in room.findall("event"):
                where = f"{name}:{lines.get(id(ev), 0)}"
                rec: Rec = {"where": where, "day": day.get("date"), "room": room.get("name") or t(ev, "room")}
                for tag in ("date", "start", "duration", "title", "subtitle", "track", "language", "abstract",
                            "description", "url", "slug", "do_not_record"):
                    rec[tag] = t(ev, tag)
                rec["guid"] = ev.get("guid") or ev.get("id")
                rec["extra"] = sorted(c.tag for c in ev if c.tag not in _READ and ((c.text or "").strip() or len(c)))
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
    head: Rec = {"kind": "conference", "title": conf.text("title"), "acronym": conf.text("acronym"),
                 "time_zone_name": conf.text("time_zone_name"), "base_url": sched.text("base_url"),
                 "url": conf.text("url"), "where": f"{name}: {conf.path}"}
    if sched.get("events") is not None:  # c3voc "schedule 2": one list of events, people described once
        # an event names its track by slug; the conference's list gives the name ("ccc" -> "CCC")
        tracks = {t.text("slug"): t.text("name") for t in (conf.need("tracks").items() if conf.get("tracks") else [])
                  if isinstance(t.value, dict)}
        rows = [head, *(_event(ev, name, None, ev.get("room"), tracks=tracks) for ev in sched.need("events").items())]
        people = sched.get("persons")
        if people is not None and isinstance(people.value, list):
            # biographies, avatars and links, described once for the whole schedule
            head["extra"] = ["schedule person (biography, avatar, links)"] * len(people.value)
        return rows
    out = [head]
    for day in conf.need("days").items():
        rooms = day.get("rooms")
        if rooms is None:
            raise day.error("the member 'rooms' is missing, and the schedule has no top-level 'events' "
                            "(the schedule 2 layout).", "export the schedule as frab/pretalx schedule.json "
                            "(days with rooms) or c3voc schedule 2 (schedule.events).")
        if not isinstance(rooms.value, dict):
            raise rooms.error("expected an object of rooms, each an array of events.", "check the schedule.json.")
        for room_name in rooms.value:
            for ev in rooms.need(room_name).items():
                out.append(_event(ev, name, day.text("date"), None, room_name))
    return out


def _event(ev: Node, name: str, day: str | None, room: Node | None, room_name: str | None = None,
           tracks: dict[str | None, str | None] | None = None) -> Rec:
    """One event of a JSON schedule as the reader's plain row."""
    if room is not None and isinstance(room.value, dict):
        room_name = room.text("name")
    elif ev.get("room") is not None and isinstance(ev.need("room").value, str):
        room_name = ev.text("room") or room_name
    rec: Rec = {"where": f"{name}: {ev.path}", "day": day, "room": room_name}
    if isinstance(ev.value, dict):
        rec["extra"] = sorted(k for k, v in ev.value.items() if k not in _READ and v not in (None, "", [], {}))
    for key in ("date", "title", "subtitle", "language", "abstract", "description", "url", "slug",
                "recording_license"):
        rec[key] = ev.text(key)
    for key in ("start", "end", "duration"):
        node = ev.get(key)
        rec[key] = None if node is None else str(node.value).strip() or None
    if rec["start"] and "T" in rec["start"] and not rec["date"]:  # schedule 2: start is a full date and time
        rec["date"], rec["start"] = rec["start"], None
    track = ev.get("track")
    if track is not None and isinstance(track.value, dict):
        rec["track"] = track.text("name") or (tracks or {}).get(track.text("slug")) or track.text("slug")
    else:
        rec["track"] = ev.text("track")
    rec["guid"] = ev.text("guid") or ev.text("id") or ev.text("code")
    dnr = ev.get("do_not_record")
    rec["do_not_record"] = "true" if dnr is not None and dnr.value is True else None
    people = ev.get("persons") or ev.get("participants")
    rec["extra"] += sorted(f"person {k}" for p in (people.items() if people is not None else [])
                           if isinstance(p.value, dict)
                           for k, v in p.value.items() if k not in _PERSON_READ and v not in (None, "", [], {}))
    rec["persons"] = [{"id": p.text("guid") or p.text("id") or p.text("code"),
                       "name": p.text("public_name") or p.text("name") or "", "role": p.text("role")}
                      for p in (people.items() if people is not None else [])]
    rec["links"] = [{"url": l.text("url"), "title": l.text("title") or "", "type": l.text("type")}
                    for l in (ev.need("links").items() if ev.get("links") else [])]
    rec["attachments"] = [{"url": a.text("url"), "title": a.text("title") or "", "type": a.text("type")}
                          for a in (ev.need("attachments").items() if ev.get("attachments") else [])]
    return rec


def _minutes(text: str, where: str) -> int:
    """Minutes of a frab duration: HH:MM(:SS) or ISO 8601 (PT45M, PT1H30M)."""
    m = _HHMM.match(text)
    if m:
        return int(m.group(1)) * 60 + int(m.group(2))
    m = _ISO.match(text)
    if m and any(m.groups()):
        d, h, mi, sec = (float(g) if g else 0.0 for g in m.groups())
        return int(d * 1440 + h * 60 + mi + sec // 60)
    raise fail(where, f"field duration: {text!r} is neither HH:MM nor an ISO 8601 duration.",
               "write it like 00:40 or PT40M.")


def _scope(conf: Rec, event_id: str) -> str:
    """What frab/pretalx ids are unique within: the server of base_url (or url), else the conference."""
    for key in ("base_url", "url"):
        host = urlsplit(conf.get(key) or "").netloc.lower()
        if host:
            return host
    return event_id


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
    event_id = slugify(conf["acronym"] or title)[:50].strip("-")
    scope = _scope(conf, event_id)
    parsed = Parsed(title=title, key=f"{event_id} {scope}" if scope != event_id else event_id)
    event: Rec = {"id": event_id, "kind": "conference", "name": title}
    if zone:
        event["timezone"] = zone
    if (conf.get("url") or "").startswith(("http://", "https://")):
        event["url"] = conf["url"]
    days = sorted({e["day"] for e in events if e.get("day")} |
                  {e["date"][:10] for e in events if not e.get("day") and e.get("date")})
    if days:
        event["start"], event["end"] = days[0], days[-1]
        if days[0] == days[-1]:
            del event["end"]
    parsed.add("events", event)
    parsed.locate("events", event, conf["where"])
    for key in conf.get("extra", []):
        parsed.skip(key, "the record format has no biography, picture or links of a person")
    # A source id repeated (one event listed in two rooms) is made unique by its room:
    # two source events never become one talk, now or on a re-import.
    seen: dict[str, int] = {}
    for e in events:
        if e.get("guid"):
            seen[str(e["guid"])] = seen.get(str(e["guid"]), 0) + 1
    base = conf.get("base_url") or conf.get("url")
    for e in events:
        parsed.records["talks"].append(_talk(parsed, e, event_id, zone, scope, base, seen))
    return parsed


def _url(parsed: Parsed, url: str | None, base: str | None, what: str) -> str | None:
    """An absolute URL: a relative one resolved against the schedule's base_url."""
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    if base and base.startswith(("http://", "https://")) and not re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I):
        return urljoin(base, url)
    parsed.skip(what, "a relative URL and the schedule gives no base_url" if not base else "not a web URL")
    return None


def _talk(parsed: Parsed, e: Rec, event_id: str, zone: str | None, scope: str, base: str | None,
          seen: dict[str, int]) -> Rec:
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
        if e.get("end") and not e.get("duration"):  # schedule 2 gives the end, not the duration
            start = datetime.fromisoformat(e["date"])
            try:
                end = datetime.fromisoformat(e["end"])
            except ValueError:
                raise fail(where, f"field end: {e['end']!r} is not an ISO 8601 date and time.",
                           "write it like 2024-12-27T11:40:00+01:00.") from None
            if (end.tzinfo is None) != (start.tzinfo is None) or end <= start:
                raise fail(where, f"field end: {e['end']!r} is not after the start {e['date']!r}.",
                           "correct end, with the same kind of UTC offset as the start.")
            talk["duration"] = iso_minutes(int((end - start).total_seconds() // 60))
    elif e.get("day") and e.get("start"):
        m = _HHMM.match(e["start"])
        if not m or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", e["day"]):
            raise fail(where, f"field start: {e['start']!r} on day {e['day']!r} is not a time.", "write start as HH:MM.")
        talk["start"] = f"{e['day']}T{int(m.group(1)):02d}:{m.group(2)}"
    if e.get("duration"):
        talk["duration"] = iso_minutes(_minutes(e["duration"], where))
    speakers: list[str] = []
    others: list[str] = []
    for p in e["persons"]:
        names = split_people(p["name"]) if p["name"] else []
        for text in names:
            # an id names one person: a list of names in one entry gets no id
            extra = {"ids": {"frab-person": f"{scope}/{p['id']}"}} if p.get("id") and len(names) == 1 else {}
            rec = person(text, **extra)
            pid = parsed.person_id(rec)
            parsed.locate("people", rec, where)
            (speakers if (p.get("role") or "speaker").lower() in ("speaker", "moderator", "host") else others).append(pid)
    first = next((p for p in parsed.records["people"] if speakers and p["id"] == speakers[0]), None)
    label = " ".join(filter(None, (first.get("given_name"), first.get("family_name"), first.get("name")))) if first else ""
    talk["id"] = talk_id(talk.get("start"), label or e.get("title") or "talk")
    if e.get("title"):
        talk["title"] = e["title"]
    if speakers:
        talk["speakers"] = list(dict.fromkeys(speakers))
    if others:
        talk["coauthors"] = [o for o in dict.fromkeys(others) if o not in speakers]
    text = "\n\n".join(x for x in (e.get("subtitle"), html_to_text(e.get("abstract")), html_to_text(e.get("description")))
                        if x)
    if text:
        talk["abstract"] = text
    if e.get("room"):
        talk["venue"] = parsed.add("places", {"id": slugify(f"{event_id} {e['room']}")[:60].strip("-"), "name": e["room"]})
    if e.get("language"):
        talk["language"] = e["language"]
    if e.get("track"):
        talk["topics"] = [e["track"]]
    url = _url(parsed, e.get("url"), base, "event url")
    for link in e["links"]:
        href = _url(parsed, link.get("url"), base, "link")
        if href and href != url and not (link.get("type") or "").upper() == "ORIGIN":
            talk.setdefault("references", []).append({"title": link["title"] or link.get("type") or href, "url": href})
        elif href and not url:
            url = href
    for att in e["attachments"]:
        href = _url(parsed, att.get("url"), base, "attachment")
        if not href:
            continue
        title = att["title"] or att.get("type") or ""
        if "slides" not in talk and (href.lower().split("?")[0].endswith(".pdf") and "text" not in title.lower()
                                     or "slide" in title.lower()):
            talk["slides"] = {"url": href}
        else:
            talk.setdefault("references", []).append({"title": title or href, "url": href})
    if url:
        talk["url"] = url
    notes = []
    if e.get("do_not_record") == "true":
        notes.append("the speaker asked not to be recorded (do_not_record)")
    if e.get("recording_license"):
        notes.append(f"recording licence: {e['recording_license']}")
    if notes:
        talk["note"] = "; ".join(notes)
    for key in e.get("extra", []):
        parsed.skip(f"event {key}", _WHY.get(key, "the record format has no field for it"))
    if e.get("guid"):
        guid = str(e["guid"])
        if seen.get(guid, 0) > 1:
            guid = f"{guid}/{slugify(e.get('room') or '')}/{talk.get('start', '')}"
        talk["ids"] = {"frab": guid}
    talk["part_of"] = event_id
    parsed.locate("talks", talk, where)
    return talk
