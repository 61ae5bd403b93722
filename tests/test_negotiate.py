"""Content negotiation rules (lod.model.negotiate) as docs/server.md states them, without a server."""

from __future__ import annotations

import pytest

from lod.model.formats import FORMATS, HTML, JSONLD, NTRIPLES, RDF_FORMATS, RDF_XML, TURTLE
from lod.model.negotiate import MediaRange, Offer, choose, choose_format, parse_accept, prefers_html, quality
from lod.errors import QueryError
from lod.querying.workers import RESULT_FORMATS, negotiate_result

ALL = list(FORMATS.values())
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_negotiate_parse_accept_reads_q_values_and_defaults_to_one() -> None:
    assert parse_accept("text/turtle;q=0.5, application/ld+json") == [
        MediaRange("text", "turtle", 0.5), MediaRange("application", "ld+json", 1.0)]


def test_negotiate_parse_accept_skips_malformed_entries() -> None:
    assert parse_accept("garbage, text/turtle;q=2, text/html;q=x, */html, ;q=1, application/n-triples") == [
        MediaRange("application", "n-triples", 1.0)]
    assert parse_accept("*") == [MediaRange("*", "*", 1.0)]
    assert parse_accept(None) == [] and parse_accept("") == []


def test_negotiate_parameters_after_q_are_ignored() -> None:
    assert parse_accept('text/turtle;charset=utf-8;q=0.3;ext="x"') == [MediaRange("text", "turtle", 0.3)]


def test_negotiate_most_specific_range_decides_quality() -> None:
    ranges = parse_accept("text/*;q=0.3, text/turtle;q=0.7, */*;q=0.1")
    assert quality(ranges, "text/turtle") == (0.7, 3)
    assert quality(ranges, "text/html") == (0.3, 2)
    assert quality(ranges, "application/n-triples") == (0.1, 1)
    assert quality(parse_accept("text/turtle"), "application/n-triples") == (0.0, 0)


@pytest.mark.parametrize("accept, expected", [
    (None, HTML),  # documented default: HTML first
    ("", HTML),
    ("*/*", HTML),
    (BROWSER, HTML),
    ("text/turtle", TURTLE),
    ("application/n-triples", NTRIPLES),
    ("application/ld+json", JSONLD),
    ("application/json", JSONLD),  # alias
    ("text/turtle;q=0.5, application/n-triples;q=0.9", NTRIPLES),
    ("text/turtle, */*", TURTLE),  # equal q: the more specific entry wins
    ("text/*", HTML),  # equal q and specificity: the server's order
    ("text/*;q=0.9, text/turtle;q=1", TURTLE),
    ("text/html;q=0, */*", TURTLE),  # q=0: not acceptable, even though */* matches
    ("application/ld+json;q=0, application/json", None),  # the format's own type refused
    ("application/rdf+xml, text/turtle;q=0.2", RDF_XML),  # served, derived from N-Triples
    ("application/rdf+xml;q=0, text/turtle;q=0.2", TURTLE),
    ("text/plain", NTRIPLES),  # N-Triples' type before it had its own
    ("text/n3", TURTLE),  # a Turtle document is an N3 document
    ("application/*", NTRIPLES),  # never text/html, which the client did not accept
    ("application/xhtml+xml", None),  # we have no XHTML, and text/html is not what was asked for
    ("garbage", HTML),  # nothing parses: as if Accept were missing
])
def test_negotiate_choose_format(accept: str | None, expected: object) -> None:
    assert choose_format(accept, ALL) is expected


def test_negotiate_nothing_acceptable_is_none() -> None:
    assert choose_format("image/png", ALL) is None
    assert choose_format("text/turtle;q=0, application/n-triples;q=0, application/ld+json;q=0, text/html;q=0, "
                         "application/rdf+xml;q=0", ALL) is None
    assert choose_format("*/*;q=0", ALL) is None
    assert choose(None, []) is None


def test_negotiate_only_offered_formats_are_chosen() -> None:
    # A resource whose HTML page is missing falls back to Turtle for a client without Accept.
    assert choose_format(None, list(RDF_FORMATS)) is TURTLE
    assert choose_format("text/html", list(RDF_FORMATS)) is None


def test_negotiate_generic_offers_keep_their_values() -> None:
    offers = [Offer(("a/b",), 1), Offer(("c/d", "c/e"), 2)]
    assert choose("c/e", offers) == offers[1]
    assert choose("a/*;q=0.5, c/*;q=0.4", offers) == offers[0]


def test_negotiate_prefers_html_only_when_named_explicitly() -> None:
    assert prefers_html(BROWSER)
    assert prefers_html("text/html")
    assert not prefers_html(None)
    assert not prefers_html("*/*")
    assert not prefers_html("text/*")
    assert not prefers_html("application/sparql-results+json")
    assert not prefers_html("application/json, text/html;q=0.5")
    assert not prefers_html("text/html;q=0")


def test_negotiate_sparql_result_formats() -> None:
    assert negotiate_result("SELECT", None) is RESULT_FORMATS[0]
    # A browser names application/xml (q=0.9) above */* (q=0.8): it gets the XML results.
    assert negotiate_result("SELECT", BROWSER).name == "xml"
    assert negotiate_result("ASK", "application/json").name == "json"
    assert negotiate_result("SELECT", "application/sparql-results+xml").name == "xml"
    assert negotiate_result("SELECT", "text/csv").name == "csv"
    assert negotiate_result("SELECT", "text/tab-separated-values").name == "tsv"
    assert negotiate_result("CONSTRUCT", None) is TURTLE
    assert negotiate_result("DESCRIBE", "application/json") is JSONLD
    assert negotiate_result("CONSTRUCT", "application/rdf+xml") is RDF_XML  # SPARQLWrapper's and rdflib's default
    assert negotiate_result("DESCRIBE", "text/plain") is NTRIPLES
    with pytest.raises(QueryError) as exc:
        negotiate_result("CONSTRUCT", "text/csv")
    assert exc.value.status == 406
    assert str(exc.value) == ("none of the types in the Accept header can be sent for a CONSTRUCT query; "
                              "available: text/turtle, application/n-triples, application/ld+json, application/rdf+xml.")
