"""Google's Event rich-result requirements, checked on the JSON-LD a search engine extracts."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import extruct
import pytest

from lod.publishing.pages import Gap, google_event_gaps, write_pages
from lod.progress import Checked, Event
from lod.publishing.build import BuildResult, prepare

from .conftest import SEED_DATA, TEST_BASE

COMPLETE: dict[str, Any] = {
    "@context": "https://schema.org", "@type": "Event", "name": "A talk",
    "startDate": "2025-02-20T09:00:00-06:00", "endDate": "2025-02-20T10:00:00-06:00",
    "description": "An abstract.", "eventStatus": {"@id": "http://schema.org/EventScheduled"},
    "eventAttendanceMode": {"@id": "http://schema.org/OfflineEventAttendanceMode"},
    "location": {"@type": "Place", "name": "Room", "address": {"@type": "PostalAddress", "addressLocality": "Austin"}},
    "organizer": {"@type": "Organization", "name": "Lab", "url": "https://lab.example.org/"},
    "performer": {"@type": "Person", "name": "Ada"},
    "image": "https://lab.example.org/ada.png", "offers": {"@type": "Offer", "price": 0},
}

# The seed data's figures (docs/pages.md quotes them).
SEED_MISSING = {
    "name (required)": 12, "location (required)": 10, "startDate time and UTC offset (required)": 6,
    "location VirtualLocation url (required)": 5, "location Place address (required)": 4, "startDate (required)": 3,
    "organizer url (recommended)": 19, "eventAttendanceMode (recommended)": 10, "organizer (recommended)": 10,
    "description (recommended)": 9, "endDate (recommended)": 9, "performer (recommended)": 9,
    "image (recommended)": 29, "offers (recommended)": 15,  # no image in the data; offers: the workshop's
}


def extracted(page: Path, base: str) -> dict[str, Any]:
    """The page's JSON-LD as a search engine's extractor reads it."""
    data = extruct.extract(page.read_text(encoding="utf-8"), base_url=base, syntaxes=["json-ld"], uniform=False)
    assert len(data["json-ld"]) == 1, page
    item: dict[str, Any] = data["json-ld"][0]
    return item


def with_(**changes: Any) -> dict[str, Any]:
    out = dict(COMPLETE)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def reasons(gaps: list[Gap]) -> list[str]:
    return [str(g) for g in gaps]


def test_google_event_gaps_none_for_a_complete_event() -> None:
    assert google_event_gaps(COMPLETE) == []


def test_google_event_gaps_required_name_and_start_with_offset() -> None:
    assert reasons(google_event_gaps(with_(name=None))) == ["name (required)"]
    assert reasons(google_event_gaps(with_(startDate=None))) == ["startDate (required)"]
    assert reasons(google_event_gaps(with_(startDate="2025-02-20"))) == ["startDate time and UTC offset (required)"]
    assert reasons(google_event_gaps(with_(startDate="2025-02-20T09:00"))) == [
        "startDate time and UTC offset (required)"]
    assert google_event_gaps(with_(startDate="2025-02-20T15:00:00Z")) == []


def test_google_event_gaps_location_by_attendance_mode() -> None:
    room = {"@type": "Place", "name": "Room"}
    zoom = {"@type": "VirtualLocation", "name": "Zoom"}
    zoom_url = {"@type": "VirtualLocation", "url": "https://zoom.example/j/1"}
    online = {"@id": "http://schema.org/OnlineEventAttendanceMode"}
    mixed = "https://schema.org/MixedEventAttendanceMode"
    assert reasons(google_event_gaps(with_(location=None))) == ["location (required)"]
    assert reasons(google_event_gaps(with_(location=room))) == ["location Place address (required)"]
    assert reasons(google_event_gaps(with_(location=zoom, eventAttendanceMode=online))) == [
        "location VirtualLocation url (required)"]
    assert google_event_gaps(with_(location=zoom_url, eventAttendanceMode=online)) == []
    assert reasons(google_event_gaps(with_(location=[room, zoom], eventAttendanceMode=mixed))) == [
        "location Place address (required)", "location VirtualLocation url (required)"]
    assert google_event_gaps(with_(location=[COMPLETE["location"], zoom_url], eventAttendanceMode=mixed)) == []


def test_google_event_gaps_recommended_properties() -> None:
    gaps = google_event_gaps(with_(description=None, endDate=None, eventStatus=None, eventAttendanceMode=None,
                                   performer=None, organizer={"@type": "Organization", "name": "Lab"},
                                   image=None, offers=None))
    assert reasons(gaps) == ["description (recommended)", "endDate (recommended)",
                             "eventAttendanceMode (recommended)", "eventStatus (recommended)",
                             "organizer url (recommended)", "performer (recommended)",
                             "image (recommended)", "offers (recommended)"]
    assert all(not g.required for g in gaps)
    assert reasons(google_event_gaps(with_(offers={"@type": "Offer", "url": "https://x.example/"}))) == [
        "offers price (recommended)"]
    assert google_event_gaps(with_(offers={"@type": "Offer", "price": 0})) == []


def test_google_event_gaps_reads_graph_documents_and_refuses_non_events() -> None:
    assert google_event_gaps({"@context": "https://schema.org", "@graph": [{"@type": "Thing"}, COMPLETE]}) == []
    assert reasons(google_event_gaps({"@type": "Person", "name": "Ada"})) == ["@type Event (required)"]


@pytest.fixture(scope="module")
def talk_gaps(seed_site: BuildResult) -> dict[str, list[Gap]]:
    pages = sorted((seed_site.out / "talk").glob("*.html"))
    return {p.stem: google_event_gaps(extracted(p, TEST_BASE + "talk/" + p.stem)) for p in pages}


def test_google_event_check_of_every_seed_talk_page(talk_gaps: dict[str, list[Gap]]) -> None:
    assert len(talk_gaps) == 29
    complete = sorted(t for t, gaps in talk_gaps.items() if not any(g.required for g in gaps))
    assert complete == ["2025-02-20-jonathan-siegel", "2025-02-20-thomas-chen", "2025-02-20-vardan-papyan",
                        "2025-02-21-eli-grigsby", "2025-02-21-nhat-ho", "2025-02-21-richard-tsai"]
    counts: dict[str, int] = {}
    for gaps in talk_gaps.values():
        for g in gaps:
            counts[str(g)] = counts.get(str(g), 0) + 1
    assert counts == SEED_MISSING
    assert reasons(talk_gaps["2023-09-13-greg-yang"]) == [
        "location Place address (required)", "location VirtualLocation url (required)", "organizer url (recommended)",
        "image (recommended)", "offers (recommended)"]
    assert reasons(talk_gaps["2025-02-20-thomas-chen"]) == ["organizer url (recommended)", "image (recommended)"]


def test_google_event_warnings_are_in_the_build_result(seed_site: BuildResult,
                                                       talk_gaps: dict[str, list[Gap]]) -> None:
    warned = sorted(r.focus.removeprefix(TEST_BASE + "talk/") for r in seed_site.report.warnings
                    if r.shape == "pages:google-event")
    assert warned == sorted(t for t, gaps in talk_gaps.items() if any(g.required for g in gaps))
    greg = next(r for r in seed_site.report.warnings
                if r.shape == "pages:google-event" and r.focus.endswith("/2023-09-13-greg-yang"))
    assert greg.message == ("the talk page talk/2023-09-13-greg-yang.html misses what Google's Event results "
                            "require: location Place address, location VirtualLocation url")
    assert greg.location is not None and greg.location.file.endswith("data/series/mml-2023.yaml")


def test_google_event_report_is_a_progress_line(tmp_path: Path) -> None:
    events: list[Event] = []
    p = prepare(SEED_DATA, TEST_BASE)
    write_pages(p, tmp_path, events.append, now=datetime(2026, 1, 1, tzinfo=UTC))
    lines = [e.report.summary() for e in events if isinstance(e, Checked)]
    assert lines[0].startswith(
        "pages: 29 talk pages, 6 complete for Google Events; missing: name (required) 12, location (required) 10, "
        "startDate time and UTC offset (required) 6, location VirtualLocation url (required) 5, "
        "location Place address (required) 4, startDate (required) 3, image (recommended) 29, "
        "organizer url (recommended) 19, offers (recommended) 15, ")


def test_the_report_keeps_one_list_per_distinct_gaps() -> None:
    from lod.publishing.pages.google import GoogleReport

    report = GoogleReport()
    report.add("talk/a", [Gap(True, "name"), Gap(False, "image")])
    report.add("talk/b", [Gap(True, "name"), Gap(False, "image")])
    report.add("talk/c", [Gap(False, "image")])
    assert report.gaps["talk/a"] is report.gaps["talk/b"]
    assert report.gaps["talk/c"] == [Gap(False, "image")]
    assert report.talk_pages == 3 and report.complete == 1
    assert report.missing == {"name (required)": 2, "image (recommended)": 3}
    copy = pickle.loads(pickle.dumps(report))
    copy.add("talk/d", [Gap(True, "name"), Gap(False, "image")])
    assert copy.gaps["talk/d"] == copy.gaps["talk/a"] and copy.missing["image (recommended)"] == 4
    same = [Gap(True, "name"), Gap(False, "image")]
    assert report == GoogleReport(3, 1, dict(report.missing), {"talk/a": same, "talk/b": same,
                                                               "talk/c": [Gap(False, "image")]})
