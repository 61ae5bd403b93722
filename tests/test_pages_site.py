"""The built site as a static host serves it (issue 17): links that resolve to files, titles and
descriptions that tell pages apart, previews, the canonical URL, the search index."""

from __future__ import annotations

import json
import re
import subprocess
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import html5lib
import pytest

from lod.errors import BuildError
from lod.publishing.pages.search import BUCKET, DAY_SLOTS, Contribution, normalise, number_days, shard_name, words
from lod.publishing.build import BuildResult

from .conftest import TEST_BASE

# Served only by ``lod serve``: the SPARQL endpoint (docs/server.md). Every other link is a file.
SERVER_ONLY = {"sparql"}


def pages(site: BuildResult) -> list[Path]:
    return sorted(site.out.rglob("*.html"))


def parse(page: Path):  # type: ignore[no-untyped-def]
    return html5lib.parse(page.read_bytes(), namespaceHTMLElements=False)


def ids_of(page: Path, cache: dict[Path, set[str]]) -> set[str]:
    if page not in cache:
        cache[page] = {el.get("id") for el in parse(page).iter() if el.get("id")}
    return cache[page]


def test_every_internal_link_resolves_to_a_file_of_the_built_site(seed_site: BuildResult) -> None:
    out = seed_site.out.resolve()
    ids: dict[Path, set[str]] = {}
    checked = 0
    broken: list[str] = []
    for page in pages(seed_site):
        rel_page = page.relative_to(seed_site.out).as_posix()
        doc = parse(page)
        for el in doc.iter():
            target = el.get("href") if el.tag in ("a", "link") else el.get("src") if el.tag == "script" else None
            if target is None:
                continue
            if target.startswith(TEST_BASE):  # canonical links and previews: the site's own documents
                target = target[len(TEST_BASE):]
                base = TEST_BASE
            else:
                base = TEST_BASE + rel_page
            url = urljoin(base, target)
            if not url.startswith(TEST_BASE):
                continue  # another site (a DOI, a licence, Google Calendar …)
            parts = urlsplit(url)
            path = unquote(parts.path)[len(urlsplit(TEST_BASE).path):]
            if path in SERVER_ONLY:
                continue
            file = (out / path).resolve()
            checked += 1
            if not file.is_file() or out not in file.parents:
                broken.append(f"{rel_page}: {el.tag} {target}")
            elif parts.fragment and file.suffix == ".html" and parts.fragment not in ids_of(file, ids):
                broken.append(f"{rel_page}: {target} (no id {parts.fragment!r})")
    assert broken == []
    assert checked > 3000


def test_every_page_has_a_unique_title_and_a_meta_description(seed_site: BuildResult) -> None:
    titles: Counter[str] = Counter()
    missing = []
    for page in pages(seed_site):
        doc = parse(page)
        head = doc.find("head")
        titles["".join(head.find("title").itertext())] += 1
        desc = [m.get("content") for m in head.iter("meta") if m.get("name") == "description"]
        if len(desc) != 1 or len(desc[0].strip()) < 20:
            missing.append(page.relative_to(seed_site.out).as_posix())
    assert missing == []
    assert [t for t, n in titles.items() if n > 1] == []
    assert sum(titles.values()) == len(pages(seed_site)) == 126  # 117, the 4 archive pages (3 years, the undated) and 5 directories


def test_titles_tell_apart_what_shares_a_name(seed_site: BuildResult) -> None:
    def title(path: str) -> str:
        return "".join(parse(seed_site.out / path).find("head").find("title").itertext())

    assert title("org/utoronto-mathematics.html").startswith("Department of Mathematics, University of Toronto ·")
    assert title("org/utexas-mathematics.html").startswith("Department of Mathematics, The University of Texas")
    assert title("talk/2025-02-20-joan-bruna.html").startswith("Talk by Joan Bruna (title not given), 20 Feb 2025 ·")
    assert title("talk/2025-02-20-graduate-student-talk-1.html").startswith(
        "Title not given: talk 2025-02-20-graduate-student-talk-1, 20 Feb 2025 ·")


def test_every_page_has_a_canonical_link_previews_and_an_icon(seed_site: BuildResult) -> None:
    for page in pages(seed_site):
        rel = page.relative_to(seed_site.out).as_posix()
        html = page.read_text(encoding="utf-8")
        assert f'<link rel="canonical" href="{TEST_BASE}{rel}">' in html, rel
        assert f'<meta property="og:url" content="{TEST_BASE}{rel}">' in html, rel
        assert '<meta property="og:title" content="' in html and '<meta name="twitter:card" content="summary">' in html
        assert re.search(r'<link rel="icon" href="(\.\./)*favicon\.svg" type="image/svg\+xml">', html), rel
    assert (seed_site.out / "favicon.svg").read_bytes().startswith(b"<svg")


def test_sitemap_names_index_html_and_the_gallery_not_the_root(seed_site: BuildResult) -> None:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(seed_site.out / "sitemap.xml").getroot()
    urls = [u.findtext("s:loc", namespaces=ns) for u in root.findall("s:url", ns)]
    assert TEST_BASE not in urls
    assert {TEST_BASE + "index.html", TEST_BASE + "queries.html", TEST_BASE + "search.html"} <= set(urls)
    assert len(urls) == len(pages(seed_site))


def test_queries_page_shares_the_site_header_and_its_scrolling_parts_take_the_focus(seed_site: BuildResult) -> None:
    html = (seed_site.out / "queries.html").read_text(encoding="utf-8")
    index = (seed_site.out / "index.html").read_text(encoding="utf-8")
    header = re.search(r'<header class="site-header">.*?</header>', index, re.S)
    assert header is not None and header.group(0) in html
    doc = parse(seed_site.out / "queries.html")
    scrolling = [el for el in doc.iter() if el.get("class") in ("code", "table-wrap")]
    assert len(scrolling) > 10
    assert all(el.get("tabindex") == "0" and el.get("role") == "region" and el.get("aria-label") for el in scrolling)


def test_search_index_finds_a_talk_by_a_word_of_its_abstract(seed_site: BuildResult) -> None:
    out = seed_site.out
    word = "homotopy"  # in the abstract of Thomas Chen's talk only
    text = (out / "search" / f"{shard_name(word)}.js").read_text(encoding="utf-8")
    name, postings = json.loads("[" + text.removeprefix("lodSearch.words(").removesuffix(");\n") + "]")
    assert name == shard_name(word)
    [n] = postings[word]
    docs_js = (out / f"search/d-{n // BUCKET}.js").read_text(encoding="utf-8")
    docs = json.loads("[" + docs_js.removeprefix("lodSearch.docs(").removesuffix(");\n") + "]")[1]
    assert [d[1] for d in docs if d[0] == n] == ["talk/2025-02-20-thomas-chen.html"]
    assert words("Égalité, L'été") == {"egalite", "ete"} and normalise("À") == "a"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_search_script_normalises_and_shards_as_the_index_does(tmp_path: Path) -> None:
    """search.js and lod.publishing.pages.search cut words the same way (node runs the script's functions)."""
    script = (Path(__file__).resolve().parent.parent / "lod/static/search.js").read_text(encoding="utf-8")
    terms = script[script.index("  function normalise"):script.index("  function intersect")]
    probe = tmp_path / "probe.js"
    probe.write_text(terms + '\nconsole.log(JSON.stringify(["Égalité, L\'été x ÅB", "über"].map(function (s) {'
                     ' return terms(s).map(function (t) { return [t, hex(t)]; }); })));\n', encoding="utf-8")
    got = json.loads(subprocess.run(["node", str(probe)], capture_output=True, text=True, check=True).stdout)
    want = [[[w, shard_name(w)] for w in sorted(words(s), key=lambda w: normalise(s).index(w))]
            for s in ["Égalité, L'été x ÅB", "über"]]
    assert got == want


def test_more_talks_on_one_day_than_the_search_index_numbers_is_refused_naming_the_day() -> None:
    talk = Contribution(45000, ("", "x"), ("", "", "", "", ""), "", ())
    assert number_days({"a": talk._replace(order=("", "a"))}) == {"a": 45000 * DAY_SLOTS}
    with pytest.raises(BuildError) as err:
        number_days({f"t{i}": talk._replace(order=("", f"t{i}")) for i in range(DAY_SLOTS + 1)})
    assert str(err.value) == ("4097 talks are on 2023-03-17; the search index numbers at most 4096 talks a day "
                              "(DAY_SLOTS in lod/publishing/pages/search.py): raise it, or spread the talks over their real days")
