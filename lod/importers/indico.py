"""Import the JSON of Indico's HTTP export API (``/export/event/ID.json?detail=contributions``).

The event becomes an event record and each contribution a talk with ``part_of`` the
event: the timetable's ``{date, time, tz}`` gives the local start and the zone; speakers
are the talk's speakers and the primary authors and co-authors who do not speak are its
co-authors, each with their affiliation; Indico's ``person_id``, unique only on its
server, is kept scoped by the server's host as ``ids: {indico-person: indico.cern.ch/…}``
and the contribution's friendly id as ``ids: {indico-contribution: …}``. Descriptions in
HTML are turned into the record's text format (``lod.importers.text``). Location and room
become a building and a room in it. References become references (DOIs recognised);
attached material becomes the slides (a PDF or a "Slides" folder), the recording
("Recording"/"Video") or a reference link.
An event record has no references or material: the event's own are counted in the
summary as not imported, like every other field the export carries and no record holds.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lod.model.iri import slugify
from lod.importers.common import Parsed, Rec, display, honorific, iso_minutes, organization, person, talk_id
from lod.importers.jsonpath import Node, load_json
from lod.importers.text import html_to_text

# Fields of an event and of a contribution that are read; any other non-empty field is
# counted as not imported. _type and _fossil name the JSON shape, they carry no data.
_EVENT_READ = {"_type", "_fossil", "title", "type", "timezone", "startDate", "endDate", "location", "room",
               "roomFullname", "address", "description", "url", "chairs", "contributions", "sessions", "id"}
_CONTRIB_READ = {"_type", "_fossil", "title", "startDate", "endDate", "duration", "speakers", "primaryauthors",
                 "coauthors", "description", "location", "room", "roomFullname", "address", "keywords", "track",
                 "references", "folders", "material", "url", "friendly_id", "id", "db_id"}
_PERSON_READ = {"_type", "_fossil", "first_name", "last_name", "fullName", "full_name", "affiliation", "person_id",
                "id", "db_id", "title"}
_WHY = {"emailHash": "e-mail addresses (and their hashes) are not published", "email": "e-mail addresses are not published",
        "references": "an event record has no references", "folders": "an event record has no material",
        "material": "an event record has no material", "creator": "who created the event page is not part of the record",
        "category": "the record format has no category", "categoryId": "the record format has no category",
        "roomMapURL": "the record format has no room map", "sessionConveners": "sessions are not imported as records",
        "subContributions": "subcontributions are not imported",
        "session": "sessions are not imported as records; their contributions are"}


def _unread(parsed: Parsed, node: Node, read: set[str], what: str) -> None:
    if isinstance(node.value, dict):
        for key, value in node.value.items():
            if key not in read and value not in (None, "", [], {}, False):
                parsed.skip(f"{what} {key}", _WHY.get(key, "the record format has no field for it"))

_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)$", re.I)


def _when(node: Node | None) -> tuple[str, str | None] | None:
    """(local time, zone) of an Indico {date, time, tz}."""
    if node is None:
        return None
    day, clock, tz = node.text("date"), node.text("time"), node.text("tz")
    try:
        date.fromisoformat(day or "")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day or ""):
            raise ValueError
    except ValueError:
        raise node.error(f"the date {day!r} is not a date.", "Indico writes dates as YYYY-MM-DD.") from None
    m = _TIME.match(clock or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise node.error(f"the time {clock!r} is not a time of day.", "Indico writes times as HH:MM:SS.")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise node.error(f"the time zone {tz!r} is not an IANA zone.", "use a zone name such as Europe/Paris.") from None
    local = f"{day}T{m.group(1)}:{m.group(2)}" + (f":{m.group(3)}" if m.group(3) and m.group(3) != "00" else "")
    return local, tz


def _person(parsed: Parsed, node: Node, scope: str = "") -> str:
    _unread(parsed, node, _PERSON_READ, "person")
    first, last = node.text("first_name"), node.text("last_name")
    full = node.text("fullName") or node.text("full_name") or " ".join(p for p in (first, last) if p)
    # Indico writes the title in front of the full name ("Mr Koutsakis, Ilias") or on its own
    title, full = honorific(full)
    title = node.text("title") or title
    if not full:
        raise node.error("the person has no name.", "check that the file is Indico's JSON export.")
    extra: dict[str, Any] = {}
    aff = node.text("affiliation")
    if aff:
        extra["affiliations"] = [parsed.add("organizations", organization(aff))]
    pid = node.text("person_id") or node.text("id")
    if pid:
        extra["ids"] = {"indico-person": f"{scope}/{pid}" if scope else pid}
    rec = person(f"{last}, {first}" if first and last else full, **extra)
    rec.pop("also_known_as", None)
    if title:
        rec["honorific"] = title
    if " ".join(full.split()) != display(rec):
        rec["also_known_as"] = [" ".join(full.split())]
    pid = parsed.person_id(rec)
    parsed.locate("people", rec, f"{node.file}: {node.path}")
    return pid


def _place(parsed: Parsed, node: Node) -> str | None:
    building = node.text("location")
    room = node.text("roomFullname") or node.text("room")
    outer = None
    if building:
        rec: Rec = {"id": slugify(building)[:60].strip("-"), "name": building}
        address = node.text("address")
        if address:
            rec["address"] = {"street": " ".join(address.split())}
        outer = parsed.add("places", rec)
    if room:
        inner: Rec = {"id": slugify(f"{building or ''} {room}")[:60].strip("-"), "name": room}
        if outer:
            inner["contained_in"] = outer
        return parsed.add("places", inner)
    return outer


def _material(talk: Rec, node: Node) -> None:
    folders = [f for key in ("folders", "material") if node.get(key) for f in node.need(key).items()]
    for folder in folders:
        ftitle = folder.text("title") or ""
        for att in (folder.need("attachments").items() if folder.get("attachments") else [folder]):
            url = att.text("download_url") or att.text("link_url") or att.text("url")
            if not url or not url.startswith(("http://", "https://")):
                continue
            title = att.text("title") or att.text("filename") or ftitle or url
            words = f"{ftitle} {title}".lower()
            if ("slide" in words or (att.text("content_type") or "").endswith("pdf")) and "slides" not in talk:
                talk["slides"] = {"url": url}
            elif ("recording" in words or "video" in words) and "recording" not in talk:
                talk["recording"] = {"url": url}
            else:
                talk.setdefault("references", []).append({"title": title, "url": url})


def _contribution(parsed: Parsed, node: Node, event_id: str, zone: str | None, scope: str) -> None:
    talk: Rec = {}
    _unread(parsed, node, _CONTRIB_READ, "contribution")
    title = node.text("title")
    when = _when(node.get("startDate"))
    speakers = [_person(parsed, p, scope) for p in node.need("speakers").items()] if node.get("speakers") else []
    others = [_person(parsed, p, scope) for key in ("primaryauthors", "coauthors") if node.get(key)
              for p in node.need(key).items()]
    if when:
        talk["start"] = when[0]
        if when[1] and when[1] != zone:
            talk["timezone"] = when[1]
    end = _when(node.get("endDate"))
    dur = node.get("duration")
    if end and when:
        talk["end"] = end[0]
    elif dur is not None:
        if not isinstance(dur.value, int) or dur.value < 0:
            raise dur.error(f"the duration {dur.value!r} is not a number of minutes.", "write minutes, e.g. 60.")
        talk["duration"] = iso_minutes(dur.value)
    label = next((p for p in parsed.records["people"] if speakers and p["id"] == speakers[0]), None)
    talk["id"] = talk_id(talk.get("start"), (label and " ".join(filter(None, (label.get("given_name"), label.get("family_name"))))) or title or "talk")
    if title:
        talk["title"] = title
    if speakers:
        talk["speakers"] = list(dict.fromkeys(speakers))
    co = [p for p in dict.fromkeys(others) if p not in speakers]
    if co:
        talk["coauthors"] = co
    desc = html_to_text(node.text("description"))
    if desc:
        talk["abstract"] = desc
    venue = _place(parsed, node)
    if venue:
        talk["venue"] = venue
    kws = [k.value.strip() for k in node.need("keywords").items() if isinstance(k.value, str) and k.value.strip()] \
        if node.get("keywords") else []
    if kws:
        talk["keywords"] = kws
    track = node.get("track")
    if track is not None:
        name = track.value if isinstance(track.value, str) else track.text("title")
        if name:
            talk["topics"] = [name]
    for ref in (node.need("references").items() if node.get("references") else []):
        value = ref.text("value") or ""
        doi = _DOI.match(value)
        entry: Rec = {"title": f"{ref.text('type') or 'reference'} {value}".strip()}
        if doi:
            entry["doi"] = doi.group(1)
        url = ref.text("url")
        if url and url.startswith(("http://", "https://")):
            entry["url"] = url
        talk.setdefault("references", []).append(entry)
    _material(talk, node)
    url = node.text("url")
    if url and url.startswith(("http://", "https://")):
        talk["url"] = url
    fid = node.text("friendly_id") or node.text("id")
    if fid:
        talk["ids"] = {"indico-contribution": fid}
    talk["part_of"] = event_id
    parsed.records["talks"].append(talk)
    parsed.locate("talks", talk, f"{node.file}: {node.path}")


def parse(data: bytes, name: str) -> Parsed:
    """The events and contributions of an Indico export."""
    root = load_json(data, name)
    results = root.need("results").items()
    if not results:
        raise root.error("the export holds no event.", "export an event with ?detail=contributions.")
    parsed = Parsed()
    for ev in results:
        title = ev.text("title")
        if not title:
            raise ev.error("the event has no title (is this an Indico event export?).",
                           "export /export/event/ID.json?detail=contributions.")
        parsed.title = parsed.title or title
        _unread(parsed, ev, _EVENT_READ, "event")
        # Indico ids (people, events) are unique only on their server
        url = ev.text("url")
        scope = urlsplit(url or "").netloc.lower()
        parsed.key = parsed.key or (f"{scope} {ev.text('id') or title}" if scope else None)
        rec: Rec = {"id": slugify(title)[:50].strip("-"), "name": title}
        if (ev.text("type") or "").lower() == "conference":
            rec["kind"] = "conference"
        zone = ev.text("timezone")
        start, end = _when(ev.get("startDate")), _when(ev.get("endDate"))
        zone = zone or (start[1] if start else None)
        if start:
            rec["start"] = start[0]
        if end:
            rec["end"] = end[0]
        if zone:
            rec["timezone"] = zone
        venue = _place(parsed, ev)
        if venue:
            rec["venue"] = venue
        desc = html_to_text(ev.text("description"))
        if desc:
            rec["description"] = desc
        if url and url.startswith(("http://", "https://")):
            rec["url"] = url
        chairs = [_person(parsed, c, scope) for c in ev.need("chairs").items()] if ev.get("chairs") else []
        if chairs:
            rec["contacts"] = chairs
        parsed.add("events", rec)
        parsed.locate("events", rec, f"{ev.file}: {ev.path}")
        contribs = ev.need("contributions").items() if ev.get("contributions") else []
        for sess in (ev.need("sessions").items() if ev.get("sessions") else []):
            parsed.skip("session (its title, time and conveners)", "sessions are not imported as records; "
                        "their contributions are")
            contribs += sess.need("contributions").items() if sess.get("contributions") else []
        for c in contribs:
            _contribution(parsed, c, rec["id"], zone, scope)
    return parsed
