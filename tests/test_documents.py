"""Per-resource documents served from the dumps (site setting ``documents: served``, lod.publishing.documents).

A site built with ``documents: served`` has no ``P.ttl`` / ``P.nt`` / ``P.jsonld`` files;
``lod serve`` answers them from the dumps through ``.lod-documents.idx``, byte for byte what
a ``files`` build writes. Nor has it the resources' calendars ``P.ics``, answered from
the shards of ``.lod-calendars/`` (lod.publishing.calendar_pack). The seed site is built both ways and
every resource and calendar compared, over real HTTP against ``lod serve`` in a subprocess.
"""

from __future__ import annotations

import copy
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lod.publishing.calendar_pack import PACK, Calendars, packed, shard_files, shard_name, shard_of
from lod.publishing.documents import DOCUMENTS_INDEX, SUFFIXES, Documents, index_bytes
from lod.errors import RecordErrors
from lod.model.iri import Minter
from lod.publishing.build import BuildResult, build
from lod.publishing.pipeline import read_state

from .conftest import SEED_DATA, TEST_BASE
from .test_server import running_server

pytestmark = pytest.mark.slow


def served_data(folder: Path, mode: str = "served") -> Path:
    """A copy of the seed data whose site block says ``documents: MODE``."""
    shutil.copytree(SEED_DATA, folder)
    site = folder / "site.yaml"
    site.write_text(site.read_text(encoding="utf-8").rstrip("\n") + f"\n  documents: {mode}\n", encoding="utf-8")
    an_hour_ago = time.time() - 3600  # not a file written just before the build (lod.publishing.pipeline.RACY_NS)
    os.utime(site, (an_hour_ago, an_hour_ago))
    return folder


def per_resource(root: Path) -> dict[str, bytes]:
    """The per-resource RDF documents of a files-mode site (every .ttl/.nt/.jsonld but the site-wide ones)."""
    site_wide = {"dump.ttl", "dump.nt", "dump.jsonld", "void.ttl", "ontology.ttl", "context.jsonld"}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in SUFFIXES and str(p.relative_to(root)) not in site_wide}


def calendars(root: Path) -> dict[str, bytes]:
    """The resources' calendar files of a site (every .ics but talks.ics)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.ics"))
            if p.is_file() and packed(str(p.relative_to(root)))}


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    tmp = tmp_path_factory.mktemp("served")
    return build(served_data(tmp / "data"), tmp / "site", TEST_BASE)


@pytest.fixture(scope="module")
def served_server(served_site: BuildResult) -> Iterator[str]:
    with running_server(served_site.out) as url:
        yield url


def test_a_served_build_writes_no_per_resource_documents_nor_calendars_and_otherwise_the_same_site(
        seed_site: BuildResult, served_site: BuildResult) -> None:
    files, served = tree(seed_site.out), tree(served_site.out)
    documents, feeds = per_resource(seed_site.out), calendars(seed_site.out)
    assert len(documents) > 300
    assert {name.split("/")[0] for name in feeds} == {"talk", "person", "series", "event"}
    assert DOCUMENTS_INDEX not in files and not shard_files(seed_site.out)  # the default (files) writes the seed site as before
    shards = shard_files(served_site.out)
    assert 1 < len(shards) < len(feeds)
    made = {DOCUMENTS_INDEX, *shards}
    assert set(served) == (set(files) - set(documents) - set(feeds)) | made
    assert "talks.ics" in served  # the site-wide calendar stays a file
    assert {k: v for k, v in served.items() if k not in made} == {k: files[k] for k in served if k not in made}
    assert served_site.resources == seed_site.resources
    assert served_site.files == seed_site.files - len(documents) - len(feeds) + 1 + len(shards)


def test_every_served_document_and_calendar_is_the_file_a_files_build_writes(seed_site: BuildResult,
                                                                             served_site: BuildResult) -> None:
    documents = Documents(served_site.out)
    expected = per_resource(seed_site.out)
    assert {rel: documents.document(rel) for rel in expected} == expected
    assert documents.document("talk/no-such-talk.ttl") is None
    assert documents.document("talk/2023-09-13-greg-yang.html") is None
    packed_calendars = Calendars(served_site.out)
    expected = calendars(seed_site.out)
    assert {rel: packed_calendars.calendar(rel) for rel in expected} == expected
    assert packed_calendars.calendar("talk/no-such-talk.ics") is None
    assert packed_calendars.calendar("talks.ics") is None  # a file, not packed


def test_lod_serve_answers_every_document_byte_identical_with_the_headers_of_the_file(
        seed_site: BuildResult, served_site: BuildResult, served_server: str) -> None:
    expected = per_resource(seed_site.out) | calendars(seed_site.out)
    with running_server(seed_site.out) as files_server, httpx.Client(timeout=10) as client:
        for rel, data in expected.items():
            got = client.get(f"{served_server}/{rel}")
            assert (got.status_code, got.content) == (200, data), rel
            want = client.get(f"{files_server}/{rel}")
            for header in ("etag", "content-type", "content-length", "link"):
                assert got.headers.get(header) == want.headers.get(header), (rel, header)
            head = client.head(f"{served_server}/{rel}")
            assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", want.headers["etag"])
        # content negotiation on the resource IRI, and the derived RDF/XML, as with files: one resource a kind
        stems = {rel.rpartition(".")[0] for rel in expected}
        for stem in {stem.split("/")[0]: stem for stem in sorted(stems)}.values():
            for accept in ("text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml",
                           "text/html"):
                a = client.get(f"{served_server}/{stem}", headers={"Accept": accept})
                b = client.get(f"{files_server}/{stem}", headers={"Accept": accept})
                assert (a.status_code, a.headers["location"], a.headers["link"]) == (
                    b.status_code, b.headers["location"], b.headers["link"]), (stem, accept)
        rdf = "talk/2023-09-13-greg-yang.rdf"
        assert client.get(f"{served_server}/{rdf}").content == client.get(f"{files_server}/{rdf}").content


@pytest.mark.parametrize("rel", ["talk/2023-09-13-greg-yang.ttl", "talk/2023-09-13-greg-yang.ics"])
def test_a_served_document_answers_304_to_its_etag_and_to_its_date(served_server: str, rel: str) -> None:
    url = f"{served_server}/{rel}"
    first = httpx.get(url)
    again = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["last-modified"] == first.headers["last-modified"]
    since = httpx.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert (since.status_code, since.content) == (304, b"")
    stem, dot, suffix = rel.rpartition(".")
    assert httpx.get(f"{served_server}/{stem}-x.{suffix}").status_code == 404


def test_the_calendar_pack_itself_is_never_served(served_server: str, served_site: BuildResult) -> None:
    assert httpx.get(f"{served_server}/{PACK}").status_code == 404
    for shard in shard_files(served_site.out):
        assert httpx.get(f"{served_server}/{shard}").status_code == 404


def test_an_index_of_another_build_is_refused_with_503_never_wrong_bytes(served_site: BuildResult,
                                                                      tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(served_site.out, site)
    with open(site / "dump.nt", "ab") as f:  # the dumps of another build: not those the index describes
        f.write(b"\n")
    with running_server(site) as url:
        got = httpx.get(f"{url}/talk/2023-09-13-greg-yang.ttl")
        assert got.status_code == 503
        assert got.json()["error"]["detail"] == "the site is being updated; try again in a moment."


def test_a_damaged_calendar_pack_is_refused_with_503_never_wrong_bytes(served_site: BuildResult,
                                                                      tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(served_site.out, site)
    pack = site / shard_name(shard_of(b"talk/2023-09-13-greg-yang.ics"))
    pack.write_bytes(pack.read_bytes()[:-1])  # cut short: the last calendar would be wrong
    with running_server(site) as url:
        got = httpx.get(f"{url}/talk/2023-09-13-greg-yang.ics")
        assert got.status_code == 503
        assert got.json()["error"]["detail"] == "the site is being updated; try again in a moment."
        assert httpx.get(f"{url}/talk/2023-09-13-greg-yang.ttl").status_code == 200  # the rest is served


def test_an_unknown_documents_mode_is_a_located_error(tmp_path: Path) -> None:
    data = served_data(tmp_path / "data", "static")
    with pytest.raises(RecordErrors) as info:
        build(data, tmp_path / "site", TEST_BASE)
    assert "'static' is not allowed here" in str(info.value)
    assert "Use one of: files, served." in str(info.value)
    assert "site.yaml" in str(info.value)


def test_the_index_copies_its_lines_when_no_subject_moved_and_makes_them_again_otherwise(
        served_site: BuildResult) -> None:
    root = served_site.out
    state = read_state(root)
    assert state is not None
    index, minter = state.extra["dumps"], Minter(TEST_BASE)
    published = (root / DOCUMENTS_INDEX).read_bytes()
    assert index_bytes(index, minter.path_of, root) == published
    assert index_bytes(index, minter.path_of, root, (index, published)) == published
    # Lines of a previous index are taken as they are when the subjects are the same …
    marked = published.replace(b"talk/2023-09-13-greg-yang\t", b"talk/2023-09-13-greg-yanG\t")
    assert index_bytes(index, minter.path_of, root, (index, marked)) == marked
    # … and made again when a subject came or went.
    moved = copy.copy(index)
    moved.sids = index.sids[1:]
    assert index_bytes(index, minter.path_of, root, (moved, marked)) == published
