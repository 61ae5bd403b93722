"""The HTML pages of the seed site: one per resource, valid, readable, linked and deterministic."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import html5lib
import pytest

from lod.model import records as R
from lod.publishing.pages import PagesOutput, environment, paragraphs_html, render_site, script_json, tex_html, tex_to_mathml
from lod.publishing.pages import listing as L
from lod.publishing.build import BuildResult, Prepared, prepare

from .conftest import SEED_DATA, TEST_BASE

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
NON_RESOURCE_TTL = {"dump.ttl", "void.ttl", "ontology.ttl"}


def our_pages(out: Path) -> list[Path]:
    """The pages this stage writes: index.html, the directories and OUT/P.html of each resource (not, e.g., queries.html)."""
    return [out / "index.html"] + sorted([out / f"{name}.html" for name in L.DIRECTORIES] +
                                         [p for p in out.rglob("*.html") if p.parent != out])
KIND_TEMPLATES = ["series.html", "event.html", "session.html", "person.html", "organization.html",
                  "place.html", "source.html", "topic.html", "index.html", "resource.html"]


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    return prepare(SEED_DATA, TEST_BASE)


@pytest.fixture(scope="module")
def rendered(prepared: Prepared) -> PagesOutput:
    """The seed pages rendered with "now" pinned to 1 June 2024."""
    return render_site(prepared, now=NOW)


def html_of(site: BuildResult, path: str) -> str:
    return (site.out / f"{path}.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    """The visible text of a page, whitespace collapsed (script and style dropped), blocks apart."""
    html = re.sub(r"(</(dt|dd|li|p|h[1-6]|div|summary)>|<br>)", r"\1 ", html)
    doc = html5lib.parse(html, namespaceHTMLElements=False)
    body = doc.find("body")
    assert body is not None
    for parent in body.iter():
        for child in list(parent):
            if child.tag in ("script", "style"):
                parent.remove(child)
    return " ".join("".join(body.itertext()).split())


def jsonld_of(html: str) -> dict:
    doc = html5lib.parse(html, namespaceHTMLElements=False)
    scripts = [s for s in doc.iter("script") if s.get("type") == "application/ld+json"]
    assert len(scripts) == 1
    return json.loads(scripts[0].text or "")


# ---------------------------------------------------------------- every page


def test_pages_exist_for_every_resource_description(seed_site: BuildResult) -> None:
    ttl = {p.relative_to(seed_site.out).with_suffix("").as_posix() for p in seed_site.out.rglob("*.ttl")
           if p.name not in NON_RESOURCE_TTL or p.parent != seed_site.out}
    html = {p.relative_to(seed_site.out).with_suffix("").as_posix() for p in seed_site.out.rglob("*.html")
            if p.parent != seed_site.out or p.name == "index.html"}
    assert len(ttl) == seed_site.resources
    years = {"talks/2023", "talks/2024", "talks/2025", "talks/undated"}  # the archive pages (lod.publishing.pages.listing)
    assert html == ttl | {"index"} | years
    kinds = {path.split("/")[0] for path in ttl}
    assert kinds == {"talk", "series", "event", "session", "person", "org", "place", "source", "topic"}


def test_pages_are_valid_html5(seed_site: BuildResult) -> None:
    pages = our_pages(seed_site.out)
    assert len(pages) == seed_site.resources + 1 + 4 + len(L.DIRECTORIES)  # the archive pages of 3 years and the undated, the directories
    for page in pages:
        parser = html5lib.HTMLParser(strict=True)
        parser.parse(page.read_bytes())  # raises ParseError on the first error
        assert parser.errors == [], page


def test_pages_share_layout_viewport_and_no_external_resources(seed_site: BuildResult) -> None:
    for page in our_pages(seed_site.out):
        html = page.read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">"), page
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert "<main>" in html and "<header" in html and "<footer" in html
        # JavaScript only as the site's own progressive enhancement (lod.js), from the site itself
        scripts = re.findall(r'<script src="([^"]*)"', html)
        assert [s.rpartition("/")[2] for s in scripts] == ["lod.js"], page
        assert len(re.findall(r"<script", html)) == 2, page
        assert not re.search(r"""<(link|img|script)[^>]+(src|href)="https?://(?!localhost:8000/)[^"]*"[^>]*>""",
                             re.sub(r'<link rel="(canonical|alternate|license)"[^>]*>', "", html)), page


def test_templates_autoescape_every_template() -> None:
    env = environment()
    names = env.list_templates()
    assert set(KIND_TEMPLATES) <= set(names)
    assert env.autoescape is True  # for every template, whatever its name
    assert str(env.from_string("{{ x }}").render(x="<img src=x>")) == "&lt;img src=x&gt;"


def test_pages_are_byte_identical_across_builds(prepared: Prepared, rendered: PagesOutput) -> None:
    again = render_site(prepare(SEED_DATA, TEST_BASE), now=NOW)
    assert again.files.keys() == rendered.files.keys()
    assert [name for name in rendered.files if rendered.files[name] != again.files[name]] == []


def test_pages_discovery_links_on_talk_page(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "talk/2023-09-13-greg-yang")
    assert '<link rel="canonical" href="http://localhost:8000/talk/2023-09-13-greg-yang.html">' in html
    assert '<p>Identifier: <code class="iri">http://localhost:8000/talk/2023-09-13-greg-yang</code></p>' in html
    assert '<link rel="alternate" type="text/turtle" href="2023-09-13-greg-yang.ttl">' in html
    assert '<link rel="alternate" type="application/ld+json" href="2023-09-13-greg-yang.jsonld">' in html
    assert '<link rel="alternate" type="application/n-triples" href="2023-09-13-greg-yang.nt">' in html
    assert '<link rel="alternate" type="text/calendar" href="2023-09-13-greg-yang.ics"' in html
    assert "This talk as data: Turtle N-Triples JSON-LD iCalendar" in text_of(html)
    assert '<a href="2023-09-13-greg-yang.ics" type="text/calendar">Add to calendar</a>' in html


def test_pages_link_to_each_other_relative_to_the_page(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "talk/2023-09-13-greg-yang")
    assert '<a href="../person/greg-yang.html">Greg Yang</a>' in html
    assert '<a href="../org/xai.html">xAI</a>' in html
    assert '<a href="../series/mml-2023.html">Mathematical challenges in AI</a>' in html
    assert '<a class="home" href="../index.html">' in html


# ---------------------------------------------------------------- talk pages


def test_talk_page_shows_title_speaker_time_place_and_sources(seed_site: BuildResult) -> None:
    text = text_of(html_of(seed_site, "talk/2023-10-26-paul-christiano"))
    assert "Formalizing Explanations of Neural Network Behaviors" in text
    assert "Paul Christiano (Alignment Research Center)" in text
    assert ("When Thursday 26 October 2023, 09:00–10:00 Australia/Sydney (UTC+11:00) "
            "Wednesday 25 October 2023, 22:00–23:00 UTC") in text
    assert "Where Carslaw 273, Carslaw" in text
    assert "Online Zoom (link not published)" in text
    assert "Attendance Hybrid (in person and online)" in text
    assert "Status" not in text  # "Scheduled" says nothing; other statuses are shown
    assert "Recording: the source says the talk was recorded; no link is published." in text
    assert "M+ML 2023: Mathematical challenges in AI (document 000_645195d436a3c381.txt, taken 22 November 2026)" in text
    assert "Keywords and topics Machine learning" in text


def test_talk_page_time_with_offset_only_references_and_topic(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "talk/2024-06-03-mikhail-belkin")
    text = text_of(html)
    assert ("When Monday 3 June 2024, 13:30–15:00 UTC-04:00 Monday 3 June 2024, 17:30–19:00 UTC") in text
    assert '<time datetime="2024-06-03T13:30:00-04:00">' in html
    assert '<time datetime="2024-06-03T17:30:00Z">' in html
    assert ("Adityanarayanan Radhakrishnan, Daniel Beaglehole, Parthe Pandit, Mikhail Belkin. Mechanism for feature "
            "learning in neural networks and backpropagation-free machine learning models. Science 383 (6690).") in text
    assert "PNAS 116 (32), 15849-15854." in text
    assert '<a href="../topic/large-language-models-understanding.html">Large Language Models &amp; Understanding</a>' in html


def test_talk_page_title_status_is_ui_text_only(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "talk/2024-05-23-gabriel-synnaeve")
    assert '<h1><span class="no-title">Title to be announced</span></h1>' in html
    assert ("<title>Talk by Gabriel Synnaeve (title to be announced), 23 May 2024 · Talks on mathematics and AI"
            "</title>") in html
    data = jsonld_of(html)
    assert "name" not in data and "description" not in data
    ttl = (seed_site.out / "talk/2024-05-23-gabriel-synnaeve.ttl").read_text(encoding="utf-8")
    assert "announced" not in ttl and "announced" not in json.dumps(data)
    assert '<h1><span class="no-title">Title not given</span></h1>' in html_of(seed_site, "talk/2025-02-20-joan-bruna")


def test_talk_page_renders_tex_as_mathml_and_keeps_bare_tex(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "talk/2024-05-23-yiannis-vlassopoulos")
    assert html.count("<math display=\"inline\">") == 6
    assert ('<math display="inline"><mrow><mi>P</mi><mo stretchy="false">(</mo><mi>ℒ</mi>'
            '<mo stretchy="false">)</mo></mrow></math>') in html
    assert "on the space of texts \\mathcal{L} . We then" in html  # TeX outside delimiters stays text
    assert "$" not in text_of(html)
    data = jsonld_of(html)
    assert "polyhedron $P(\\mathcal{L})$, in which" in data["description"]  # data keeps the TeX source
    abstract = html[html.index('<div class="abstract" lang="en">'):html.index("</div>", html.index('<div class="abstract"'))]
    assert abstract.count("<p>") == 4  # four blank-line separated paragraphs


def test_talk_page_abstract_variants_are_shown(seed_site: BuildResult) -> None:
    text = text_of(html_of(seed_site, "talk/2023-09-13-greg-yang"))
    assert "The abstract as “Tag - Machine learning” words it" in text


# ---------------------------------------------------------------- TeX


def test_tex_html_converts_dollar_and_paren_delimiters() -> None:
    assert str(tex_html("a $x^2$ b")) == "a <math display=\"inline\"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math> b"
    assert "<math" in str(tex_html(r"a \(x\) b"))
    assert '<math display="block">' in str(tex_html("$$x$$"))


def test_tex_html_leaves_currency_and_bare_tex_as_text() -> None:
    assert str(tex_html("costs $5 and $10 each")) == "costs $5 and $10 each"
    assert str(tex_html("$ x $ and \\mathcal{L}")) == "$ x $ and \\mathcal{L}"


def test_tex_html_keeps_unconvertible_or_unsafe_tex_escaped() -> None:
    assert str(tex_html(r"a $\frac{1}{$ b")) == r"a $\frac{1}{$ b"
    assert str(tex_html(r"$\text{<b>x</b>}$")) == r"$\text{&lt;b&gt;x&lt;/b&gt;}$"
    assert str(tex_html(r"$\href{javascript:alert(1)}{x}$")) == r"$\href{javascript:alert(1)}{x}$"
    assert str(tex_html("$a&b$")) == "$a&amp;b$"
    assert tex_to_mathml(r"\href{javascript:alert(1)}{x}") is None


def test_tex_html_output_is_wellformed_mathml() -> None:
    markup = str(tex_html("$x<y$"))
    assert markup == '<math display="inline"><mrow><mi>x</mi><mo>&lt;</mo><mi>y</mi></mrow></math>'
    ET.fromstring(markup)


def test_paragraphs_html_splits_on_blank_lines() -> None:
    assert str(paragraphs_html("one\ntwo\n\n  \nthree <b>\n")) == "<p>one\ntwo</p>\n<p>three &lt;b&gt;</p>"


def test_script_json_escapes_markup_characters() -> None:
    value = "</script><script>alert(1)</script><!-- & -->"
    text = str(script_json({"name": value}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": value}


# ---------------------------------------------------------------- index, lists


def test_index_splits_upcoming_and_past_at_the_injected_now(rendered: PagesOutput) -> None:
    html = rendered.files["index.html"].decode()
    upcoming = html[html.index('<h2 id="talks">'):html.index('<h2 id="past">')]
    past = html[html.index('<h2 id="past">'):html.index('<h2 id="undated">')]
    assert '<span id="as-of">As of <time datetime="2024-06-01">1 June 2024</time></span>' in upcoming
    up_ids = re.findall(r'href="talk/([a-z0-9-]+)\.html"', upcoming)
    past_ids = re.findall(r'href="talk/([a-z0-9-]+)\.html"', past)
    assert up_ids[0] == "2024-06-03-mikhail-belkin"  # soonest first
    assert len(up_ids) == 15 and all(i.startswith("2025-") for i in up_ids[1:])
    assert past_ids[0] == "2024-05-23-gabriel-synnaeve"  # latest first
    assert past_ids[-1] == "2023-09-13-greg-yang"
    assert len(past_ids) == 11


def test_index_links_series_events_and_the_data(rendered: PagesOutput) -> None:
    html = rendered.files["index.html"].decode()
    for href in ("series/mml-2023.html", "event/mflm-2024.html", "event/mdl-workshop-2025.html", "dump.ttl", "dump.nt",
                 "dump.jsonld", "void.ttl", "ontology.ttl", "sparql", "queries.html", "talks.ics"):
        assert f'href="{href}"' in html, href
    assert '<link rel="canonical" href="http://localhost:8000/index.html">' in html
    data = jsonld_of(html)
    assert data["@type"] == "Dataset" and data["@id"] == "http://localhost:8000/void#dataset"


def test_series_page_lists_its_talks_by_date(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "series/mml-2023")
    assert re.findall(r'href="\.\./talk/([a-z0-9-]+)\.html"', html) == [
        "2023-09-13-greg-yang", "2023-09-28-sadhika-malladi", "2023-10-12-neel-nanda",
        "2023-10-26-paul-christiano", "2023-11-23-francois-charton"]
    text = text_of(html)
    assert "Contact Harini Desiraju, Georg Gottwald, Geordie Williamson" in text


def test_event_page_lists_sessions_and_talks_by_date(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "event/mdl-workshop-2025")
    day1 = html[html.index("<h3>Thursday 20 February 2025</h3>"):html.index("<h3>Friday 21 February 2025</h3>")]
    items = re.findall(r'href="\.\./(talk|session)/([a-z0-9-]+)\.html"', day1)
    assert [i for _k, i in items][:6] == [
        "mdl-2025-02-20-breakfast", "2025-02-20-joan-bruna", "2025-02-20-vardan-papyan",
        "mdl-2025-02-20-coffee-break", "2025-02-20-thomas-chen", "2025-02-20-jonathan-siegel"]
    assert ("session", "mdl-2025-02-20-student-talks") in items
    assert ("talk", "2025-02-20-graduate-student-talk-1") in items  # a session's talks are nested in it
    text = text_of(html)
    assert "Admission Free" in text and "Capacity 70" in text


def test_person_page_lists_talks_across_events_by_role(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "person/francois-charton")
    talks = html[html.index('<h2 id="speaker">'):]
    assert re.findall(r'href="\.\./talk/([a-z0-9-]+)\.html"', talks) == [
        "2023-11-23-francois-charton", "2024-05-23-francois-charton"]
    belkin = html_of(seed_site, "person/mikhail-belkin")
    assert '<h2 id="speaker">Talks</h2>' in belkin and '<h2 id="reference">Cited in talks</h2>' in belkin
    assert '<h2 id="coauthor">Co-author of</h2>' in html_of(seed_site, "person/stephane-gaubert")
    contact = html_of(seed_site, "person/geordie-williamson")
    assert '<h2 id="contact">Contact for</h2>' in contact and 'href="../series/mml-2023.html"' in contact
    assert '<h2 id="reference">Cited in talks</h2>' in html_of(seed_site, "person/daniel-hsu")


def test_organization_page_includes_people_of_sub_organisations(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "org/nyu")
    people = html[html.index('<h2 id="people">'):]
    assert re.findall(r'class="item-title" href="\.\./person/([a-z0-9-]+)\.html"', people) == [
        "joan-bruna", "julia-kempe", "yoav-wald"]
    assert 'href="../talk/2025-02-21-yoav-wald.html"' in people
    assert "Includes Courant Institute of Mathematical Sciences, Center for Data Science" in text_of(html)
    direct = html_of(seed_site, "org/nyu-center-for-data-science")
    assert "Part of New York University" in text_of(direct)


def test_place_page_lists_talks_there_and_in_its_rooms(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "place/carslaw")
    assert re.findall(r'class="item-title" href="\.\./talk/([a-z0-9-]+)\.html"', html) == [
        "2023-10-26-paul-christiano", "2023-11-23-francois-charton"]
    assert "Contains Carslaw 273" in text_of(html)
    assert "· Carslaw 273" in text_of(html)
    zoom = html_of(seed_site, "place/mml-2023-zoom")
    assert len(re.findall(r'class="item-title" href="\.\./talk/', zoom)) == 5  # every M+ML talk is (also) online


def test_source_and_topic_pages_list_what_they_hold(seed_site: BuildResult) -> None:
    src = html_of(seed_site, "source/belkin-2024-session-page")
    assert 'href="../talk/2024-06-03-mikhail-belkin.html"' in src and 'href="../person/mikhail-belkin.html"' in src
    topic = html_of(seed_site, "topic/large-language-models-understanding")
    assert re.findall(r'class="item-title" href="\.\./talk/([a-z0-9-]+)\.html"', topic) == ["2024-06-03-mikhail-belkin"]


# ---------------------------------------------------------------- sitemap, robots


def test_sitemap_lists_every_page_with_lastmod(seed_site: BuildResult) -> None:
    root = ET.parse(seed_site.out / "sitemap.xml").getroot()
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = {u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
            for u in root.findall("s:url", ns)}
    pages = {TEST_BASE + p.relative_to(seed_site.out).as_posix()
             for p in our_pages(seed_site.out)[1:]}
    assert set(urls) == pages | {TEST_BASE + "index.html", TEST_BASE + "queries.html", TEST_BASE + "search.html"}
    assert set(urls.values()) == {"2026-11-22"}


def test_robots_txt_points_to_the_sitemap(seed_site: BuildResult) -> None:
    assert (seed_site.out / "robots.txt").read_text() == (
        "User-agent: *\nDisallow:\n\nSitemap: http://localhost:8000/sitemap.xml\n")


def test_sitemap_lastmod_is_latest_source_date(tmp_path: Path, prepared: Prepared) -> None:
    ds = prepared.dataset
    old = ds.sources["mml-2023-page"].taken
    try:
        ds.sources["mml-2023-page"].taken = "2026-12-01"
        prepared.__dict__.pop("site_index", None)  # computed once per Prepared: this one changed
        out = render_site(prepared, now=NOW)
    finally:
        ds.sources["mml-2023-page"].taken = old
        prepared.__dict__.pop("site_index", None)
    sitemap = out.files["sitemap.xml"].decode()
    assert ("<url><loc>http://localhost:8000/talk/2023-09-13-greg-yang.html</loc><lastmod>2026-12-01</lastmod></url>"
            in sitemap)
    assert ("<url><loc>http://localhost:8000/talk/2024-06-03-mikhail-belkin.html</loc><lastmod>2026-11-22</lastmod></url>"
            in sitemap)
    assert "<url><loc>http://localhost:8000/index.html</loc><lastmod>2026-12-01</lastmod></url>" in sitemap
    assert isinstance(ds.talks["2023-09-13-greg-yang"], R.Talk)


def test_event_programme_rows_do_not_repeat_the_day_of_their_heading(seed_site: BuildResult) -> None:
    html = html_of(seed_site, "event/mdl-workshop-2025")
    day1 = html[html.index("<h3>Thursday 20 February 2025</h3>"):html.index("<h3>Friday 21 February 2025</h3>")]
    assert "20 Feb 2025" not in text_of(day1)
    assert '<time datetime="2025-02-20T09:00:00-06:00">09:00–09:45</time> <span class="zone">America/Chicago</span>' in day1
    assert "time not given" in text_of(day1)  # the student talks: their session's slot only


def test_gathering_and_person_calendars_are_subscriptions_talks_are_added(seed_site: BuildResult) -> None:
    person = html_of(seed_site, "person/francois-charton")
    assert "Subscribe to this calendar (it updates as talks are added or changed)" in text_of(person)
    assert 'href="https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Flocalhost%3A8000%2Fperson%2Ffrancois-charton.ics"' in person
    assert ('href="https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2Flocalhost%3A8000%2Fperson%2F'
            'francois-charton.ics"') in person
    assert "Subscribe to this calendar" in text_of(html_of(seed_site, "series/mml-2023"))
    talk = html_of(seed_site, "talk/2023-09-13-greg-yang")
    assert "Add to calendar (iCalendar file)" in text_of(talk) and "Subscribe" not in text_of(talk)


def test_registration_without_a_link_says_the_link_is_not_published(seed_site: BuildResult) -> None:
    assert "Registration Eventbrite (link not published)" in text_of(html_of(seed_site, "event/mdl-workshop-2025"))


def test_session_page_shows_the_venue_its_talks_share(seed_site: BuildResult) -> None:
    text = text_of(html_of(seed_site, "session/mdl-2025-02-20-student-talks"))
    assert "Where Gates Dell Complex, room 6.302 (GDC 6.302)" in text and "(where its talks are)" in text
    assert "Where Gates" not in text_of(html_of(seed_site, "session/mdl-2025-02-20-breakfast"))  # no talks: no place
