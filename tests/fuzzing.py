"""Hypothesis strategies and the outcome check shared by the fuzz tests of the build.

An input is a data folder of YAML files. The outcome of ``lod build`` on it must be one
of two: exit 0 with dumps that independent parsers read (pyoxigraph for N-Triples,
rdflib for Turtle, json for JSON-LD), or exit 1 with messages that each name a file
and line (and a field, when the problem is in one). Exit 2 ("internal error") or a
traceback is a bug.

Generated YAML comes from three sources: record structures close to the format (so
that many builds get through the loader to the mapper and the serialisers), the same
text mutated at the byte level (aliases, tags, duplicate keys, control characters,
truncation), and free text over a YAML-ish alphabet.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock
from zoneinfo import available_timezones

import pyoxigraph as ox
import yaml
from hypothesis import strategies as st
from rdflib import Graph

import lod.publishing.build
from lod.cli import main
from lod.model.formats import RDF_FORMATS, Site
from lod.model.iri import DEFAULT_BASE_URL, Minter
from lod.loading.files import SPECS
from lod.loading.stage import load
from lod.mapping.triples import to_graph
from lod.model.serialize import sorted_triples
from lod.validation.report import Report

# ---------------------------------------------------------------- values

IDS = ["s", "t", "u", "ann", "bob", "nyu", "room", "ser", "ev", "sess"]
HOSTILE = [
    "</script><script>alert(1)</script>", '"> .', "\n<x> <y> <z> .", "}", "{", "'", '"', "\\", "\\u0000",
    "<!--", "-->", "]]>", "@prefix x: <http://e/> .", '" ; <http://e/p> "x', "?s ?p ?o } ; DROP ALL ; {",
    "${x}", "{{ 7*7 }}", "{% raw %}", "&amp;", "\u202e", "\u2028", "\u2029", "\ufeff", "\u0085", "\x85",
    "\U0001F600", "e\u0301", "\u200b", "ǅ", "ﬁ", "İ", "\ufffd", "\uffff", "\ud800", "\udfff", "\x00", "\x07",
    "\x1b[31m", "\t", "\r\n", "\r", "a: b", "- x", "&a", "*a", "!!python/object:os.system", "%", "`", "|", ">",
    "#", "~", "null", "true", "0x1F", "1e999", ".inf", "-.nan", "2024-02-30", "0000-0000-0000-0000",
]
ZONES = sorted(available_timezones())
# Mostly True: hypothesis favours boundary values of integers, so "integers(0, 9) != 0" is not 90%.
OFTEN = st.sampled_from([True] * 9 + [False])
BAD_ZONES = ["Mars/Olympus", "Europe", "UTC", "Factory", "EST5EDT", "posixrules", "../../etc/passwd", "Etc/GMT+12",
             "Etc/GMT-14", "America/Argentina/ComodRivadavia", "localtime", "", "Europe/Paris ", "europe/paris"]
DST = ["2024-03-31T02:30", "2024-10-27T02:30", "2024-03-10T02:30", "2024-11-03T01:30", "2023-04-02T02:30",
       "2023-10-01T02:30", "2024-03-31T01:59", "2024-03-31T03:00", "2024-10-27T01:59", "2024-10-27T03:00"]
IRIS = ["http://a/b", "https://example.org/page?q=1#f", "https://exämple.org/ü", "http://[::1]:8080/x",
        "http://127.0.0.1/", "http://", "https://a/b c", "https://a/b\tc", "javascript:alert(1)",
        "file:///etc/passwd", "http://a/<b>", 'http://a/"x"', "http://a/{x}", "http://a/\u0085", "http://a/\u3000",
        "https://a/%00", "https://a/%zz", "mailto:a@b", "urn:x", "http://a/" + "x" * 5000, "//a/b", "http:a",
        "https://a/b>c <d> e", "https://doi.org/10.1/x", "http://evil.example/\u202egnp.exe", "http://a/\u2066x\u2069",
        "http://a/\u200fx"]


@functools.cache
def _local_times() -> st.SearchStrategy[str]:
    year = st.one_of(st.integers(1990, 2030), st.sampled_from([1, 999, 1000, 2999, 3000, 9999]))
    return st.one_of(
        st.sampled_from(DST),
        st.builds(lambda y, m, d, h, mi: f"{y:04d}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}", year, st.integers(0, 13),
                  st.integers(0, 32), st.integers(0, 25), st.integers(0, 61)),
        st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", year, st.integers(1, 12), st.integers(1, 31)),
        st.sampled_from(["2024-02-29T10:00", "2023-02-29T10:00", "2024-05-23T09:30:59", "2024-05-23 09:30",
                         "2024-05-23T09:30Z", "2024-05-23T09:30+02:00", "24:00", "09:00"]),
    )


@functools.cache
def _slugs() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(IDS), st.sampled_from(IDS), st.sampled_from(IDS),
                     st.sampled_from(["A", "a--b", "-a", "a b", "é", "a/b", "a.b", "0"]))


TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)  # any code point, surrogates included


@functools.cache  # building strategies afresh per draw is most of hypothesis' cost
def scalar_for(field: str) -> st.SearchStrategy[Any]:
    """Values close to what *field* expects, plus hostile ones."""
    if field in ("id", "venue", "online", "part_of", "parent", "contained_in", "series", "source"):
        return _slugs()
    if field in ("start", "previous_start"):
        return _local_times()
    if field == "end":
        return st.one_of(_local_times(), st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 25),
                                                   st.integers(0, 61)))
    if field == "timezone":
        return st.one_of(st.sampled_from(ZONES), st.sampled_from(BAD_ZONES))
    if field == "offset":
        return st.builds(lambda s, h, m: f"{s}{h:02d}:{m:02d}", st.sampled_from("+-±"), st.integers(0, 25),
                         st.integers(0, 61))
    if field == "duration":
        return st.sampled_from(["PT1H", "PT45M", "P1D", "PT0S", "P", "PT", "P99999999999D", "PT99999999999H",
                                "P3660D", "P3661D", "PT1H30M", "-PT1H"])
    if field in ("url", "homepage", "license", "base_url"):
        return st.sampled_from(IRIS)
    if field in ("taken", "year"):
        return st.sampled_from(["2024-01-01", "2024-02-30", "9999-12-31", "0001-01-01", "2024", "10000-01-01"])
    if field == "language":
        return st.sampled_from(["en", "fr", "pt-BR", "en-abcdefghi", "x", "EN", "zh-Hant-TW", "en_US"])
    if field == "doi":
        return st.sampled_from(["10.1126/science.adi5639", '10.1234/a>b"c', "10.1/x", "10.12345/a b", "10.12345/é"])
    return st.one_of(st.sampled_from(HOSTILE), TEXT, st.integers(-2**70, 2**70), st.floats(), st.booleans(),
                     st.none())


@functools.cache
def value_for(field: str) -> st.SearchStrategy[Any]:
    scalar = scalar_for(field)
    wrong = st.one_of(st.lists(scalar, max_size=3), st.dictionaries(st.sampled_from(["a", "url", "title"]), scalar,
                                                                    max_size=2))
    if field in ("sources", "speakers", "coauthors", "organizers", "contacts", "affiliations", "authors",
                 "also_known_as", "same_as", "keywords", "topics"):
        items = scalar_for({"sources": "id", "speakers": "id", "coauthors": "id", "organizers": "id",
                            "contacts": "id", "affiliations": "id", "authors": "id", "same_as": "url"}.get(field, field))
        return st.one_of(st.lists(items, max_size=3), scalar, wrong)
    if field in ("references", "abstract_variants"):
        ref = st.fixed_dictionaries({"title": scalar_for("title")}, optional={
            "doi": scalar_for("doi"), "year": scalar_for("year"), "url": scalar_for("url"),
            "authors": st.lists(_slugs(), max_size=2), "source": _slugs(), "text": scalar_for("text")})
        return st.one_of(st.lists(ref, max_size=2), scalar)
    if field in ("recording", "slides"):
        return st.one_of(st.booleans(), st.fixed_dictionaries({"url": scalar_for("url")}), scalar)
    if field in ("address", "registration", "inferred", "ids"):
        return st.one_of(st.dictionaries(st.sampled_from(["locality", "country", "url", "note", "title", "start",
                                                          "doi", "nope"]), scalar_for("text"), max_size=3), scalar)
    plain = st.sampled_from(["A plain value", "Ann <b>Lee</b> </script>", '"> .', "\n<x> <y> <z> .", "}"])
    return st.one_of(plain, plain, scalar, scalar, wrong)


KINDS = {"people": "person", "organizations": "organization", "places": "place", "series": "series",
         "events": "event", "talks": "talk"}
REQUIRED = {"person": ("id",), "organization": ("id", "name"), "place": ("id", "name"), "series": ("id", "name"),
            "event": ("id", "name"), "talk": ("id",), "session": ("id",)}


@st.composite
def record(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    spec = [f for f in SPECS[kind][1] if f not in ("talks", "sessions")]
    rec: dict[str, Any] = {}
    for f in REQUIRED[kind]:
        if draw(OFTEN):  # usually present and plausible, sometimes missing
            rec[f] = draw(st.sampled_from(IDS)) if f == "id" else draw(st.sampled_from(["A name", "Ann <b>Lee</b>"]))
    rec["sources"] = ["s"] if draw(OFTEN) else draw(value_for("sources"))
    for f in draw(st.lists(st.sampled_from(spec), max_size=4, unique=True)):
        rec[f] = draw(value_for(f))
    if kind in ("series", "event") and draw(st.booleans()):
        rec["talks"] = draw(st.lists(RECORDS["talk"], max_size=2))
    if kind == "event" and not draw(OFTEN):
        rec["sessions"] = draw(st.lists(RECORDS["session"], max_size=1))
    return rec


RECORDS = {kind: record(kind) for kind in [*KINDS.values(), "session"]}


@st.composite
def dataset(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(OFTEN):
        doc["sources"] = [{"id": "s", "document": "x.txt", "taken": "2024-01-01"}]
    for key in draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=3, unique=True)):
        doc[key] = draw(st.lists(RECORDS[KINDS[key]], min_size=1, max_size=2))
    if not draw(OFTEN):
        doc["site"] = draw(st.fixed_dictionaries({}, optional={f: value_for(f) for f in
                                                               ("title", "description", "base_url", "license",
                                                                "publisher")}))
    if not draw(OFTEN) and not draw(OFTEN):
        doc[draw(st.sampled_from(["talk", "Talks", "x", "1"]))] = draw(value_for("x"))
    return doc


SAFE_TEXT = st.one_of(st.sampled_from([h for h in HOSTILE if h.strip() and not any(
    c in h for c in "\x00\x07\x1b\ud800\udfff\uffff\x85")]), st.text(st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(str.strip))
GOOD_IRIS = ["http://a/b", "https://example.org/page?q=1#f", "https://exämple.org/ü", "http://[::1]:8080/x",
             "https://doi.org/10.1/x", "http://a/%3Cb%3E", "https://a/b?x=%3C/script%3E"]


@st.composite
def clean_dataset(draw: st.DrawFn) -> dict[str, Any]:
    """Records that should build, with hostile text in every free-text field and edge values elsewhere."""
    zone = draw(st.sampled_from(ZONES))
    start = draw(st.builds(lambda y, m, d, h, mi: f"{y}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}", st.integers(1000, 2999),
                           st.integers(1, 12), st.integers(1, 28), st.integers(0, 23), st.integers(0, 59)))
    talk: dict[str, Any] = {"id": "t", "title": draw(SAFE_TEXT), "abstract": draw(SAFE_TEXT), "speakers": ["ann"],
                            "keywords": draw(st.lists(SAFE_TEXT.filter(lambda x: "\n" not in x), max_size=2)),
                            "url": draw(st.sampled_from(GOOD_IRIS)), "sources": ["s"]}
    talk.update(draw(st.sampled_from([{"start": start, "timezone": zone}, {"start": start, "offset": "+14:00"},
                                      {"start": start[:10]}, {"start": start, "timezone": zone, "duration": "P3660D"},
                                      {"start": start, "timezone": zone, "end": "23:59"}])))
    person = {"id": "ann", "name": draw(SAFE_TEXT.filter(lambda x: "\n" not in x)), "sources": ["s"],
              "homepage": draw(st.sampled_from(GOOD_IRIS))}
    return {"sources": [{"id": "s", "document": draw(SAFE_TEXT.filter(lambda x: "\n" not in x)),
                         "taken": "2024-01-01"}], "people": [person], "talks": [talk]}


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter is ~10× faster


def to_yaml(doc: Any, flow: bool | None, unicode: bool) -> str:
    try:
        return yaml.dump(doc, Dumper=_DUMPER, default_flow_style=flow, allow_unicode=unicode, sort_keys=False,
                         width=10_000)
    except (yaml.YAMLError, UnicodeEncodeError):  # libyaml cannot emit what the Python emitter escapes (surrogates)
        return yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=unicode, sort_keys=False, width=10_000)


INSERTS = ["&a ", "*a", "<<: *a\n", "!!python/object/apply:os.system ['true'] ", "!!binary ", "!x ", "? ", "\x00",
           "\x07", "\ufeff", "\t", "\r", "\u2028", "\x85", "%YAML 1.1\n---\n", "---\n", "...\n", "{", "[", "'", '"',
           "\\", ": ", "- ", "#", "|\n", ">-\n", "\n  sources: [s]\n", "\n    id: t\n", "&x [*x]", "\ud800"]


@st.composite
def yaml_text(draw: st.DrawFn) -> str:
    """YAML text: a dumped record structure, possibly mutated; or free text."""
    choice = draw(st.integers(0, 9))
    if choice == 9:
        tokens = st.sampled_from(list("abst:-[]{},'\"&*!|>#%@`\n \t\\?") + ["talks", "sources", "id", "  "])
        return "".join(draw(st.lists(tokens, max_size=120)))
    doc = draw(clean_dataset()) if choice <= 2 else draw(dataset())
    text = to_yaml(doc, draw(st.sampled_from([None, True, False])), draw(st.booleans()))
    if choice >= 6:  # mutate
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(text)))
            how = draw(st.integers(0, 3))
            if how == 0:
                text = text[:at] + draw(st.sampled_from(INSERTS)) + text[at:]
            elif how == 1:
                text = text[:at]
            elif how == 2:  # duplicate a line
                lines = text.splitlines(keepends=True)
                if lines:
                    i = draw(st.integers(0, len(lines) - 1))
                    lines.insert(i, lines[i])
                text = "".join(lines)
            else:
                text = text[:at] + draw(TEXT) + text[at:]
    return text


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))


# ---------------------------------------------------------------- running and checking

def write_folder(folder: Path, files: dict[str, str | bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
        (folder / name).write_bytes(data)


def light_build(data_dir: Any, out_dir: Any, base_url: str | None = None, progress: Any = None,
                incremental: bool = True) -> Any:
    """load → map → the three dumps: the stages that read hostile values, without SHACL and pages
    (0.4 s and 1 s a build), so that 10,000 cases fit in CI. Stands in for lod.publishing.build.build
    under the real CLI, so exit codes and messages are the CLI's own."""
    ds = load(data_dir)
    minter = Minter(base_url or ds.site.base_url or DEFAULT_BASE_URL)
    triples = sorted_triples(to_graph(ds, minter))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    site = Site(prefixes=lod.publishing.build.site_prefixes(minter), context_url=minter.context)
    for fmt in RDF_FORMATS:
        assert fmt.write is not None
        (out / ("dump" + fmt.suffix)).write_bytes(fmt.write(triples, site))
    return SimpleNamespace(out=out, triples=len(triples), resources=0, files=3, report=Report())


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def run_cli(data: Path, out: Path, full: bool) -> Outcome:
    o, e = io.StringIO(), io.StringIO()
    patch = contextlib.nullcontext() if full else mock.patch.object(lod.publishing.build, "build", light_build)
    with patch, contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main(["build", "--data", str(data), "--out", str(out), "--quiet"])
    return Outcome(code, o.getvalue(), e.getvalue())


_LOCATED = re.compile(r"^(?:  )?(?P<file>[^\n]*?\.ya?ml)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<rest>.*)$")


def check_outcome(data: Path, out: Path, outcome: Outcome) -> str:
    """Assert the outcome is one of the two allowed; return 'built' or 'refused'."""
    assert "Traceback" not in outcome.stderr + outcome.stdout, outcome.stderr
    assert outcome.code in (0, 1), f"exit {outcome.code}: {outcome.stderr}"
    if outcome.code == 0:
        nt = (out / "dump.nt").read_bytes()
        n = len(list(ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)))
        assert n == nt.count(b"\n"), "one triple per line"
        g = Graph().parse(data=(out / "dump.ttl").read_bytes(), format="turtle")
        assert len(g) == n, "the Turtle and N-Triples dumps hold the same triples"
        json.loads((out / "dump.jsonld").read_bytes())
        return "built"
    lines = [ln for ln in outcome.stderr.splitlines() if ln.strip()]
    assert lines, "exit 1 says why"
    body = [ln for ln in lines if not re.match(r"^\d+ errors? in the source records:$", ln)
            and not ln.startswith("  … and ") and not ln.startswith("the build stopped:")]
    assert body, outcome.stderr
    for ln in body:
        m = _LOCATED.match(ln)
        assert m and m.group("file").startswith(str(data)), f"not located in a file: {ln!r}"
        if m.group("line") is None:  # a whole-file problem: unreadable, too large, not UTF-8 or an alias bomb
            assert re.search(r"not valid UTF-8|larger than|YAML nodes|cannot read", ln), ln
    return "refused"


# On tmpfs when there is one: creating and removing two folders per case on a journaled
# disk costs more than the case.
_SCRATCH_ROOT = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None


@contextlib.contextmanager
def scratch() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory(prefix="lod-fuzz-", dir=_SCRATCH_ROOT) as tmp:
        yield Path(tmp) / "data", Path(tmp) / "site"


# ---------------------------------------------------------------- many items

@dataclass
class ManyItems:
    """A data folder of many records with long lists, and what a build of it must publish."""

    files: dict[str, str]
    keywords: dict[str, int]  # talk id → how many distinct keywords it has
    speakers: dict[str, int]  # talk id → how many speakers
    people: int


@st.composite
def many_items(draw: st.DrawFn, talks: int, keywords: int, people: int, big: int = 0) -> ManyItems:
    """Up to *talks* talks with up to *keywords* keywords and 20 speakers each, and up to
    *people* people; the first talk has up to *big* keywords and every person as a speaker.
    The people are in a file of their own or with the talks, written in block or flow style."""
    n_people = draw(st.integers(1, people))
    n_talks = draw(st.integers(1, talks))
    kw = {f"t{i}": draw(st.integers(0, keywords)) for i in range(n_talks)}
    sp = {f"t{i}": draw(st.integers(1, min(n_people, 20))) for i in range(n_talks)}
    if big:
        kw["t0"], sp["t0"] = draw(st.integers(0, big)), n_people
    head = "sources:\n  - {id: s, document: x.txt, taken: 2024-01-01}\n"
    flow = draw(st.booleans())
    if flow:
        people_text = "people:\n" + "".join(f"  - {{id: p{j}, name: P{j}, sources: [s]}}\n" for j in range(n_people))
        talk_text = "talks:\n" + "".join(
            f"  - {{id: {t}, title: T, sources: [s], speakers: [{', '.join(f'p{j}' for j in range(sp[t]))}], "
            f"keywords: [{', '.join(f'k{t}-{j}' for j in range(kw[t]))}]}}\n" for t in kw)
    else:
        people_text = "people:\n" + "".join(f"  - id: p{j}\n    name: P{j}\n    sources: [s]\n" for j in range(n_people))
        talk_text = "talks:\n" + "".join(
            f"  - id: {t}\n    title: T\n    sources: [s]\n    speakers:\n"
            + "".join(f"      - p{j}\n" for j in range(sp[t]))
            + ("    keywords:\n" + "".join(f"      - k{t}-{j}\n" for j in range(kw[t])) if kw[t] else "")
            for t in kw)
    if draw(st.booleans()):
        files = {"people.yaml": head + people_text, "talks.yaml": talk_text}
    else:
        files = {"all.yaml": head + people_text + talk_text}
    return ManyItems(files, kw, sp, n_people)


SCHEMA = "http://schema.org/"


def check_many_items(data: Path, out: Path, outcome: Outcome, case: ManyItems) -> str:
    """Built with every talk, keyword, speaker and person; or refused with a located message
    naming a file and the node limit. Never a build that lost some of them."""
    result = check_outcome(data, out, outcome)
    if result == "refused":
        assert "YAML nodes, the limit for a file of its length" in outcome.stderr, outcome.stderr[:2000]
        assert any(f"{data / name}: the file expands to more than" in outcome.stderr for name in case.files)
        return result
    keywords: dict[str, int] = {}
    speakers: dict[str, int] = {}
    people = set()
    talk = DEFAULT_BASE_URL + "talk/"
    for t in ox.parse(path=str(out / "dump.nt"), format=ox.RdfFormat.N_TRIPLES):
        s, p = t.subject.value, t.predicate.value
        if s.startswith(talk) and p == SCHEMA + "keywords":
            keywords[s[len(talk):]] = keywords.get(s[len(talk):], 0) + 1
        elif s.startswith(talk) and p == SCHEMA + "performer":
            speakers[s[len(talk):]] = speakers.get(s[len(talk):], 0) + 1
        elif p == SCHEMA + "name" and s.startswith(DEFAULT_BASE_URL + "person/"):
            people.add(s)
    assert keywords == {t: n for t, n in case.keywords.items() if n}, "every keyword of every talk is published"
    assert speakers == case.speakers, "every speaker of every talk is published"
    assert len(people) == case.people
    return result
