"""Invisible and bidi characters: refused in IRIs, shown as escapes wherever a message echoes user text (issue 13.5)."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import pytest

from lod.cli import main
from lod.errors import RecordErrors, visible
from lod.errors import _INVISIBLE  # the class checked here against the Unicode database
from lod.importers import import_source
from lod.model.iri import is_valid_iri
from lod.loading.stage import load
from lod.publishing.build import BuildResult

from .conftest import write_records

BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
        "\u2068", "\u2069"]
HEAD = "sources:\n  - {id: s, document: x.txt, taken: 2024-01-01}\n"
EVIL = "http://evil.example/\\u202egnp.exe"  # as written in YAML: a double-quoted escape


def test_visible_escapes_exactly_the_invisible_and_reordering_characters() -> None:
    invisible = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        matched = bool(_INVISIBLE.match(char))
        if category in invisible and char not in "\n\t":
            assert matched, hex(code)
        elif matched:  # format characters of a newer Unicode than this Python's (U+13439–U+1343F)
            assert category == "Cn", hex(code)


def test_visible_writes_escapes_and_keeps_newlines_tabs_and_ordinary_text() -> None:
    assert visible("fi\u202eeld\u0085 é…\t\n\U000e0041\u200b") == "fi\\u202eeld\\u0085 é…\t\n\\U000e0041\\u200b"


@pytest.mark.parametrize("char", BIDI)
def test_iri_with_a_bidi_control_is_not_valid(char: str) -> None:
    assert is_valid_iri("http://example.org/a")
    assert not is_valid_iri(f"http://example.org/{char}gnp.exe")


URL_FIELDS = {
    "recording.url": "talks:\n  - id: t\n    recording: {url: \"%s\"}\n    sources: [s]\n",
    "slides.url": "talks:\n  - id: t\n    slides: {url: \"%s\"}\n    sources: [s]\n",
    "url": "talks:\n  - id: t\n    url: \"%s\"\n    sources: [s]\n",
    "references[0].url": "talks:\n  - id: t\n    references: [{title: A, url: \"%s\"}]\n    sources: [s]\n",
    "homepage": "people:\n  - id: t\n    name: A\n    homepage: \"%s\"\n    sources: [s]\n",
    "same_as[0]": "people:\n  - id: t\n    name: A\n    same_as: [\"%s\"]\n    sources: [s]\n",
    "registration.url": "events:\n  - id: t\n    name: A\n    registration: {url: \"%s\"}\n    sources: [s]\n",
}


@pytest.mark.parametrize("field", sorted(URL_FIELDS))
def test_url_with_a_bidi_control_is_refused_with_a_located_fix(tmp_path: Path, field: str) -> None:
    data = write_records(tmp_path / "data", {"a.yaml": HEAD + URL_FIELDS[field] % EVIL})
    with pytest.raises(RecordErrors) as exc:
        load(data)
    error, = exc.value.errors
    assert error.field.endswith(f"field {field}")
    assert str(error).endswith(
        f"field {field}: 'http://evil.example/\\u202egnp.exe' contains the invisible bidirectional control "
        "U+202E, which makes an address display differently from where it leads; IRIs may not contain it "
        "(RFC 3987). Fix: remove it, or write it percent-encoded (%E2%80%AE) if the address really contains it.")
    assert "\u202e" not in str(exc.value)


def test_doi_with_a_bidi_control_is_refused(tmp_path: Path) -> None:
    data = write_records(tmp_path / "data", {
        "a.yaml": HEAD + "talks:\n  - id: t\n    references: [{title: A, doi: \"10.1000/\\u202eabc\"}]\n"
                         "    sources: [s]\n"})
    with pytest.raises(RecordErrors, match=r"is not a valid DOI"):
        load(data)


def test_cli_shows_an_unknown_field_with_a_bidi_control_escaped(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = write_records(tmp_path / "data", {
        "a.yaml": HEAD + "talks:\n  - id: t\n    \"fi\\u202eeld\": x\n    sources: [s]\n"})
    assert main(["build", "--data", str(data), "--out", str(tmp_path / "site"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "\u202e" not in err
    assert err.startswith("1 error in the source records:\n"
                          f"  {data / 'a.yaml'}:5:5: talk t, field fi\\u202eeld: unknown field. Fix: allowed fields: ")


def test_cli_shows_a_file_name_with_a_bidi_control_escaped(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = write_records(tmp_path / "data", {"talks-\u202elmay.yaml": HEAD + "talks: [{id: T, sources: [s]}]\n"})
    assert main(["build", "--data", str(data), "--out", str(tmp_path / "site"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "\u202e" not in err and "talks-\\u202elmay.yaml:3:" in err


def test_import_of_a_url_with_a_bidi_control_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    ics = tmp_path / "evil.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:a@x\r\n"
                   "DTSTAMP:20240101T000000Z\r\nDTSTART:20240110T100000Z\r\nSUMMARY:Talk\r\n"
                   "URL:http://evil.example/\u202egnp.exe\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    data = tmp_path / "data"
    with pytest.raises(Exception) as exc:
        import_source("ical", ics, data)
    text = str(exc.value)
    assert "contains the invisible bidirectional control U+202E" in text and "\u202e" not in text
    assert not data.exists() or not any(data.iterdir())


def test_server_error_shows_a_bidi_control_of_the_path_escaped(seed_site: BuildResult) -> None:
    import asyncio

    import httpx

    from lod.serving.server import create_app

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(seed_site.out))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get(path, headers={"Accept": "application/json"})

    response = asyncio.run(get("/talk/%E2%80%AEgnp.exe"))
    assert response.status_code == 404
    detail = response.json()["error"]["detail"]
    assert "\u202e" not in detail and "talk/\\u202egnp.exe" in detail


def test_server_error_shows_c1_controls_of_a_header_escaped(seed_site: BuildResult) -> None:
    import asyncio

    import httpx

    from lod.serving.server import create_app

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(seed_site.out))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.post("/sparql", content=b"ASK {}", headers={
                "Accept": "application/json", "Content-Type": b"text/x\x9b[2J\x85"})

    response = asyncio.run(post())
    assert response.status_code == 415
    detail = response.json()["error"]["detail"]  # CSI (U+009B) would drive a terminal showing the log
    assert "\x9b" not in detail and detail.endswith("not text/x\\u009b[2j.")


def test_cli_import_dry_run_shows_a_bidi_control_of_the_source_escaped(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    ics = tmp_path / "cal.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:a@x\r\n"
                   "DTSTAMP:20240101T000000Z\r\nDTSTART:20240110T100000Z\r\nSUMMARY:Talk \u202egnp.exe\r\n"
                   "END:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    assert main(["import", "ical", str(ics), "--data", str(tmp_path / "data"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "Talk \\u202egnp.exe" in out
