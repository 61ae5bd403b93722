"""The pages as a person sees them: headless Chromium against the seed site served on localhost.

Screenshots (phone and desktop) are saved under test-artifacts/ at the repository root.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import html5lib
import pytest

from lod.publishing.build import BuildResult, build

from .conftest import REPO, SEED_DATA

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and Path(p).is_file()), None)
ARTIFACTS = REPO / "test-artifacts"
MATHML = "{http://www.w3.org/1998/Math/MathML}math"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")]

TYPES = {".html": "text/html; charset=utf-8", ".ttl": "text/turtle; charset=utf-8", ".ics": "text/calendar",
         ".jsonld": "application/ld+json", ".nt": "application/n-triples", ".xml": "application/xml",
         ".txt": "text/plain; charset=utf-8"}


def handler_for(root: Path) -> type[SimpleHTTPRequestHandler]:
    """A static handler serving OUT/P.html for /P, / as index.html, and files as they are."""
    root = root.resolve()

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            rel = unquote(urlsplit(self.path).path).lstrip("/")
            candidates = [root / rel / "index.html", root / f"{rel}.html", root / rel] if rel else [root / "index.html"]
            target = next((c.resolve() for c in candidates if c.resolve().is_file()), None)
            if target is None or root not in target.parents:
                self.send_error(404)
                return
            send_file(self, target)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def send_file(handler: SimpleHTTPRequestHandler, target: Path, types: dict[str, str] = TYPES) -> None:
    """Answer *handler*'s request with the file *target*, typed by its suffix."""
    body = target.read_bytes()
    handler.send_response(200)
    handler.send_header("Content-Type", types.get(target.suffix, "application/octet-stream"))
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def serving(data: Path, out: Path) -> Iterator[tuple[str, BuildResult]]:
    """*data* built into *out* for http://127.0.0.1:PORT/ and served there; yields (base URL, build)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    site = build(data, out, base)
    server.RequestHandlerClass = handler_for(site.out)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, BuildResult]]:
    """The seed site built for http://127.0.0.1:PORT/ and served there."""
    with serving(SEED_DATA, tmp_path_factory.mktemp("browser") / "site") as served_site:
        yield served_site


def chromium(profile: Path, *args: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


_dom_cache: dict[str, Any] = {}


def dom(served: tuple[str, BuildResult], path: str, profile: Path) -> Any:
    """The DOM Chromium built for BASE + path, parsed."""
    if path not in _dom_cache:
        html = chromium(profile, "--dump-dom", served[0] + path)
        assert "<html" in html
        _dom_cache[path] = html5lib.parse(html, namespaceHTMLElements=False)
    return _dom_cache[path]


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chromium-profile")


def text(el: Any) -> str:
    return " ".join("".join(el.itertext()).split())


def test_browser_talk_page_shows_title_local_time_and_speaker(served: tuple[str, BuildResult], profile: Path) -> None:
    doc = dom(served, "talk/2023-10-26-paul-christiano", profile)
    main = doc.find(".//main")
    assert text(main.find(".//h1")) == "Formalizing Explanations of Neural Network Behaviors"
    body = text(main)
    assert "Thursday 26 October 2023, 09:00–10:00 Australia/Sydney (UTC+11:00)" in body
    assert "Wednesday 25 October 2023, 22:00–23:00 UTC" in body
    assert "Paul Christiano (Alignment Research Center)" in body
    times = [t.get("datetime") for t in main.iter("time")]
    assert times[:2] == ["2023-10-26T09:00:00+11:00", "2023-10-26T10:00:00+11:00"]


def test_browser_renders_tex_abstract_as_mathml(served: tuple[str, BuildResult], profile: Path) -> None:
    doc = dom(served, "talk/2024-05-23-yiannis-vlassopoulos", profile)
    maths = list(doc.iter(MATHML))
    assert len(maths) == 6
    assert "".join(maths[0].itertext()) == "P(ℒ)"


def test_browser_jsonld_read_from_the_dom_parses(served: tuple[str, BuildResult], profile: Path) -> None:
    base, _site = served
    doc = dom(served, "talk/2023-10-26-paul-christiano", profile)
    scripts = [s for s in doc.iter("script") if s.get("type") == "application/ld+json"]
    assert len(scripts) == 1
    data = json.loads(scripts[0].text)
    assert data["@context"] == "https://schema.org"
    assert data["@id"] == base + "talk/2023-10-26-paul-christiano"
    assert data["name"] == "Formalizing Explanations of Neural Network Behaviors"
    assert data["startDate"] == "2023-10-26T09:00:00+11:00"
    assert data["performer"]["name"] == "Paul Christiano"


def test_browser_index_lists_series_and_talks(served: tuple[str, BuildResult], profile: Path) -> None:
    doc = dom(served, "", profile)
    assert text(doc.find(".//h1")) == "Talks on mathematics and AI"
    links = {a.get("href") for a in doc.iter("a")}
    assert {"series/mml-2023.html", "event/mdl-workshop-2025.html", "talk/2023-10-26-paul-christiano.html", "dump.ttl",
            "queries.html"} <= links


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.parametrize("name,path", [("index", ""), ("talk", "talk/2024-05-23-yiannis-vlassopoulos")])
@pytest.mark.parametrize("device,size", [("phone", (390, 844)), ("desktop", (1280, 900))])
def test_browser_screenshots(served: tuple[str, BuildResult], profile: Path, name: str, path: str,
                             device: str, size: tuple[int, int]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}-{device}.png"
    shot.unlink(missing_ok=True)
    chromium(profile, f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", served[0] + path)
    assert png_size(shot) == size
