"""The build's term pickles (lod.model.termpickle) give back the terms as they were, values included."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from rdflib import Literal, URIRef

from lod.model import termpickle

EX = "http://example.org/"
XSD_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")


def test_termpickle_gives_back_equal_terms_with_their_values_unchecked_again() -> None:
    terms = [URIRef(f"{EX}a"), Literal("plain"), Literal("tekst", lang="nl"),
             Literal(datetime(2024, 5, 23, 14, 0, tzinfo=timezone.utc)), Literal(timedelta(hours=1)),
             Literal(Decimal("1.50")), Literal(True), Literal(7),
             Literal("not a date", datatype=XSD_DATE), Literal("x", datatype=URIRef(f"{EX}type"))]
    description = [(terms[0], URIRef(f"{EX}p"), o) for o in terms]
    back = termpickle.loads(termpickle.dumps(description))
    assert back == description
    for was, now in zip(terms, (t[2] for t in back)):
        assert type(now) is type(was) and str(now) == str(was)
        if isinstance(was, Literal):
            assert isinstance(now, Literal)
            assert (now.language, now.datatype, now.value, now.ill_typed) == \
                (was.language, was.datatype, was.value, was.ill_typed)
    ill = back[-2][2]
    assert isinstance(ill, Literal) and ill.ill_typed is True  # an ill-typed literal stays one, as the checker reads it
    # the same state as rdflib's own pickles give, which check and parse every term again
    assert pickle.loads(pickle.dumps(description)) == back
