"""The one module that mints IRIs."""

from __future__ import annotations

import pytest

from lod.errors import ConfigError
from lod.model.iri import Minter, is_valid_iri, slugify
from lod.model.serialize import nt_term
from rdflib import URIRef


def test_iri_minter_makes_readable_stable_iris() -> None:
    m = Minter("https://talks.example.org/archive")
    assert m.base == "https://talks.example.org/archive/"
    assert str(m.resource("talk", "2023-09-13-greg-yang")) == "https://talks.example.org/archive/talk/2023-09-13-greg-yang"
    assert str(m.resource("organization", "nyu")) == "https://talks.example.org/archive/org/nyu"
    assert str(m.part(m.resource("place", "gdc"), "address")) == "https://talks.example.org/archive/place/gdc#address"
    assert str(m.topic("Large Language Models & Understanding")) == (
        "https://talks.example.org/archive/topic/large-language-models-understanding")
    assert m.path_of("https://talks.example.org/archive/talk/x#ref-1") == "talk/x"
    assert m.path_of("https://elsewhere.example/talk/x") is None


@pytest.mark.parametrize("bad", ["ftp://x/", "talks.example.org", "https://x/?q=1", "https://x/#f", "https://x y/",
                                 "https://x/\n"])
def test_iri_minter_refuses_bad_base_urls(bad: str) -> None:
    with pytest.raises(ConfigError):
        Minter(bad)


@pytest.mark.parametrize("bad_id", ["Greg", "a b", "a--b", "-a", "a/b", "../x", "a\nb", ""])
def test_iri_minter_refuses_ids_that_are_not_slugs(bad_id: str) -> None:
    with pytest.raises(ValueError):
        Minter().resource("talk", bad_id)


def test_iri_validity_rejects_control_characters_rdflib_accepts() -> None:
    for bad in ("http://a/x\nfoo", "http://a/x\tfoo", "http://a/x\x00", "http://a/<x>", "relative/path"):
        assert not is_valid_iri(bad)
        if bad.startswith("http"):
            with pytest.raises(ValueError):
                nt_term(URIRef(bad))
    assert is_valid_iri("https://ror.org/0190ak572")


def test_iri_slugify_is_ascii_and_readable() -> None:
    assert slugify("École des Ponts — ParisTech") == "ecole-des-ponts-paristech"
    assert slugify("!!!") == "x"
