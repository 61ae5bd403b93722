"""Pages stage: the human (and search-engine) side of the site.

Renders ``OUT/P.html`` for every resource that has a description ``OUT/P.ttl``, plus
``OUT/index.html``, ``OUT/sitemap.xml``, ``OUT/robots.txt`` and the iCalendar feeds
(``lod.feeds``). Everything is derived from the Prepared object: the resolved records
for what people read, and the resource's own description triples for the embedded
JSON-LD, so that the JSON-LD and the Turtle of a resource say the same thing.

Output is deterministic: the only input that is not data is "now" (which talks are
upcoming on the index), computed once per build and injectable.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jinja2
from latex2mathml.converter import convert as _latex_to_mathml
from markupsafe import Markup, escape
from rdflib import Literal, URIRef
from rdflib.term import Node

from . import feeds
from . import records as R
from .formats import RDF_FORMATS
from .iri import KIND_PATHS
from .publish import Prepared, describe
from .serialize import Triple, nt_term, sorted_triples
from .validate import Result
from .vocab import LOD, PREFIXES, RDF, SCHEMA, XSD

Progress = Callable[[str], None]

SCHEMA_NS = PREFIXES["schema"]
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
KIND_OF_PATH = {path: kind for kind, path in KIND_PATHS.items()}
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)

# Terms the official schema.org context (release 30.0) coerces. A plain JSON string given
# for these becomes an IRI (@id) or a schema:Date literal, so strings are written for them
# only where that is what we mean; tests/test_pages_jsonld.py checks this table against
# the official context.
ID_TERMS = frozenset({"url", "sameAs", "isPartOf"})
DATE_TERMS = frozenset({"startDate", "endDate", "previousStartDate", "datePublished"})
COERCED_TERMS = ID_TERMS | DATE_TERMS
# Referenced persons and organisations get their type and name nested (the organizer
# also its url), as Google asks for performer.name and organizer.name/url.
AGENT_PREDICATES = frozenset({SCHEMA.performer, SCHEMA.organizer, SCHEMA.contributor, SCHEMA.author,
                              SCHEMA.affiliation, SCHEMA.parentOrganization, SCHEMA.subOrganization, LOD.contact})

STATUS_TEXT = {"scheduled": "Scheduled", "cancelled": "Cancelled", "postponed": "Postponed",
               "rescheduled": "Rescheduled", "moved-online": "Moved online"}
ATTENDANCE_TEXT = {"in-person": "In person", "online": "Online", "hybrid": "Hybrid (in person and online)"}
TITLE_STATUS_TEXT = {"tba": "Title to be announced", "untitled": "Untitled"}
NO_TITLE_TEXT = "Title not given"
LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
             "nl": "Dutch", "zh": "Chinese", "ja": "Japanese", "ru": "Russian", "el": "Greek"}
FORMAT_LABELS = {"turtle": "Turtle", "jsonld": "JSON-LD", "ntriples": "N-Triples"}
KIND_TEXT = {"talk": "Talk", "series": "Seminar series", "event": "Event", "session": "Session",
             "person": "Person", "organization": "Organisation", "place": "Place", "source": "Source document",
             "topic": "Topic"}


# ---------------------------------------------------------------- TeX → MathML

_MATH = re.compile(r"""
      \$\$(?P<dd>.+?)\$\$                                   # $$…$$ display
    | \\\[(?P<bd>.+?)\\\]                                   # \[…\] display
    | \\\((?P<bi>.+?)\\\)                                   # \(…\) inline
    | (?<![\\$])\$(?P<d>[^\s$](?:[^$]*?[^\s\\$])?)\$(?![\d$])  # $…$ inline, pandoc's rules: no space
    """, re.DOTALL | re.VERBOSE)                                       # inside the dollars, no digit after

_MATHML_ELEMENTS = frozenset(["math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mlabeledtr", "mstyle", "mpadded", "mphantom", "menclose", "mfenced", "semantics", "annotation", "merror", "mmultiscripts", "mprescripts", "none", "maligngroup", "malignmark"])
_MATHML_ATTRIBUTES = frozenset(["display", "mathvariant", "stretchy", "fence", "separator", "separators", "lspace", "rspace", "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "rowspacing", "rowlines", "rowalign", "minsize", "maxsize", "movablelimits", "symmetric", "form", "linethickness", "width", "height", "depth", "notation", "open", "close", "scriptlevel", "displaystyle", "mathsize", "mathcolor", "mathbackground", "frame", "framespacing", "equalrows", "equalcolumns", "align", "columnspan", "rowspan", "largeop", "encoding", "voffset"])


def _mathml_markup(elem: ET.Element) -> str | None:
    """Re-serialise a parsed MathML tree, or None if it holds anything outside the allow-list."""
    tag = elem.tag
    if not tag.startswith("{" + MATHML_NS + "}"):
        return None
    name = tag[len(MATHML_NS) + 2:]
    if name not in _MATHML_ELEMENTS:
        return None
    attrs = []
    for key, value in sorted(elem.attrib.items()):
        if key not in _MATHML_ATTRIBUTES:
            return None
        attrs.append(f' {key}="{escape(value)}"')
    inner = [str(escape(elem.text or ""))]
    for child in elem:
        markup = _mathml_markup(child)
        if markup is None:
            return None
        inner.append(markup)
        inner.append(str(escape(child.tail or "")))
    return f"<{name}{''.join(attrs)}>{''.join(inner)}</{name}>"


def tex_to_mathml(tex: str, display: bool = False) -> Markup | None:
    """MathML for a TeX formula (without its delimiters), or None if it cannot be converted safely.

    latex2mathml's output is parsed and re-serialised through an allow-list of MathML
    elements and attributes, so ``\\text{<b>…}`` or ``\\href{javascript:…}`` are refused.
    """
    try:
        raw = _latex_to_mathml(tex, display="block" if display else "inline")
        root = ET.fromstring(raw)
    except Exception:  # noqa: BLE001 -- latex2mathml raises many types (its own, IndexError …) on bad TeX;
        return None     # a formula it cannot read stays TeX text rather than stopping the build
    markup = _mathml_markup(root)
    return Markup(markup) if markup is not None else None


def tex_html(text: str | None) -> Markup:
    """Text with its TeX formulas ($…$, $$…$$, \\(…\\), \\[…\\]) as MathML, everything else escaped.

    A formula that cannot be converted stays as its escaped TeX source; TeX outside
    delimiters stays text.
    """
    if not text:
        return Markup("")
    out: list[str] = []
    pos = 0
    for m in _MATH.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        display = m.group("dd") is not None or m.group("bd") is not None
        tex = next(g for g in (m.group("dd"), m.group("bd"), m.group("bi"), m.group("d")) if g is not None)
        mathml = tex_to_mathml(tex, display)
        out.append(str(mathml) if mathml is not None else str(escape(m.group(0))))
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def paragraphs_html(text: str | None) -> Markup:
    """Blank-line separated paragraphs as ``<p>`` elements, with TeX rendered."""
    if not text:
        return Markup("")
    pars = [p.strip() for p in re.split(r"\n[ \t]*\n", text.strip()) if p.strip()]
    return Markup("\n").join(Markup("<p>") + tex_html(p) + Markup("</p>") for p in pars)


# ---------------------------------------------------------------- times


def offset_text(moment: datetime) -> str:
    """``UTC+11:00`` for a zone-aware moment."""
    off = moment.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_label(w: R.When) -> str:
    """The zone of a time as people read it: ``Australia/Sydney (UTC+11:00)``, or ``UTC-04:00``."""
    assert w.local is not None
    return f"{w.zone} ({offset_text(w.local)})" if w.zone else offset_text(w.local)


def long_date(d: date) -> str:
    """``Thursday 26 October 2023`` (English, independent of the locale)."""
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"


def short_date(d: date) -> str:
    """``Thu 26 Oct 2023``."""
    return f"{_DAYS[d.weekday()][:3]} {d.day} {_MONTHS[d.month - 1][:3]} {d.year}"


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def _time_el(datetime_attr: str, text: str) -> Markup:
    return Markup('<time datetime="{}">{}</time>').format(datetime_attr, text)


def _utc_lexical(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when_html(rec: R.Scheduled) -> Markup:
    """The full time of a talk or event: local time with its zone, then UTC, as ``<time>`` elements."""
    start, end = rec.start_at, rec.end_at
    if start is None:
        return Markup("")
    if start.is_date:
        text = _time_el(start.lexical, long_date(date.fromisoformat(start.lexical)))
        if end is not None and end.lexical != start.lexical:
            text += Markup(" – ") + _time_el(end.lexical, long_date(date.fromisoformat(end.lexical)))
        return Markup('<span class="local">{}</span>').format(text)
    assert start.local is not None and start.utc is not None
    local = _range(start.local, end.local if end is not None else None, start.lexical,
                   end.lexical if end is not None else None)
    label = zone_label(start)
    if end is not None and end.local is not None and offset_text(end.local) != offset_text(start.local):
        label += " to " + zone_label(end)
    utc_start = start.utc
    utc_end = end.utc if end is not None else None
    utc = _range(utc_start, utc_end, _utc_lexical(utc_start), _utc_lexical(utc_end) if utc_end else None)
    return Markup('<span class="local">{} <span class="zone">{}</span></span><br>'
                  '<span class="utc">{} UTC</span>').format(local, label, utc)


def _range(a: datetime, b: datetime | None, a_lex: str, b_lex: str | None) -> Markup:
    first = _time_el(a_lex, f"{long_date(a.date())}, {a:%H:%M}")
    if b is None or b_lex is None:
        return first
    if b.date() == a.date():
        return first + Markup("–") + _time_el(b_lex, f"{b:%H:%M}")
    return first + Markup(" – ") + _time_el(b_lex, f"{long_date(b.date())}, {b:%H:%M}")


def when_short(rec: R.Scheduled) -> Markup:
    """A compact local time for lists: ``Thu 26 Oct 2023, 09:00–10:00 Australia/Sydney``."""
    start, end = rec.start_at, rec.end_at
    if start is None:
        return Markup('<span class="undated">date not given</span>')
    if start.is_date:
        return _time_el(start.lexical, short_date(date.fromisoformat(start.lexical)))
    assert start.local is not None
    text = f"{short_date(start.local.date())}, {start.local:%H:%M}"
    if end is not None and end.local is not None and end.local.date() == start.local.date():
        text += f"–{end.local:%H:%M}"
    zone = start.zone or offset_text(start.local)
    return _time_el(start.lexical, text) + Markup(' <span class="zone">{}</span>').format(zone)


def sort_key(rec: R.Scheduled) -> tuple[int, str, str, str]:
    """Chronological order; undated last; the local day first so a bare date sorts with its day."""
    start = rec.start_at
    if start is None:
        return (1, "", "", rec.id)
    return (0, start.lexical[:10], _utc_lexical(start.utc) if start.utc else "~", rec.id)


def build_now() -> datetime:
    """The build's "now": SOURCE_DATE_EPOCH when set (reproducible builds), else the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC)


# ---------------------------------------------------------------- relations between records


class SiteIndex:
    """Who is related to what, computed once from the resolved records."""

    def __init__(self, p: Prepared) -> None:
        ds = self.ds = p.dataset
        self.m = p.minter
        self.children: dict[tuple[str, str], list[tuple[str, R.Scheduled]]] = {}
        for kind, rec in ds.all_records():
            if isinstance(rec, (R.Event, R.Session, R.Talk)):
                parent = self.parent_of(kind, rec)
                if parent is not None:
                    self.children.setdefault(parent, []).append((kind, rec))
        for items in self.children.values():
            items.sort(key=lambda kr: sort_key(kr[1]))
        self.roles: dict[str, dict[str, list[tuple[str, R.Record]]]] = {}
        self._role_seen: set[tuple[str, str, str, str]] = set()
        for t in ds.talks.values():
            for pid in t.speakers:
                self._role(pid, "speaker", "talk", t)
            for pid in t.coauthors:
                self._role(pid, "coauthor", "talk", t)
            for pid in sorted({a for ref in t.references for a in ref.authors}):
                self._role(pid, "reference", "talk", t)
        for kind, any_rec in ds.all_records():
            if isinstance(any_rec, R.Gathering):
                for pid in any_rec.contacts:
                    self._role(pid, "contact", kind, any_rec)
            if isinstance(any_rec, R.Scheduled) and kind != "talk":
                for agent in any_rec.organizers:
                    self._role(agent, "organizer", kind, any_rec)
        for t in ds.talks.values():
            for agent in t.organizers:
                self._role(agent, "organizer-talk", "talk", t)
        for roles in self.roles.values():
            for role_items in roles.values():
                role_items.sort(key=lambda kr: sort_key(kr[1]) if isinstance(kr[1], R.Scheduled)
                                else (2, "", "", kr[1].id))
        self.members: dict[str, list[R.Person]] = {}
        for person in ds.people.values():
            for oid in person.affiliations:
                self.members.setdefault(oid, []).append(person)
        self.sub_orgs: dict[str, list[str]] = {}
        for o in ds.organizations.values():
            if o.parent:
                self.sub_orgs.setdefault(o.parent, []).append(o.id)
        self.sub_places: dict[str, list[str]] = {}
        for pl in ds.places.values():
            if pl.contained_in:
                self.sub_places.setdefault(pl.contained_in, []).append(pl.id)
        self.at_place: dict[str, list[tuple[str, R.Scheduled]]] = {}
        for kind, any_rec in ds.all_records():
            if isinstance(any_rec, R.Scheduled):
                for place_id in (any_rec.venue, any_rec.online):
                    if place_id:
                        self.at_place.setdefault(place_id, []).append((kind, any_rec))
        self.by_source: dict[str, list[tuple[str, R.Record]]] = {}
        for kind, any_rec in ds.all_records():
            for sid in any_rec.sources:
                self.by_source.setdefault(sid, []).append((kind, any_rec))
        self.topics: dict[str, tuple[str, list[R.Talk]]] = {}
        for t in ds.talks.values():
            for label in t.topics:
                path = self.m.path_of(str(self.m.topic(label)))
                assert path is not None
                self.topics.setdefault(path, (label, []))[1].append(t)

    def person_talks(self, pid: str) -> list[R.Talk]:
        """The talks a person gives or co-authors, by date."""
        roles = self.roles.get(pid, {})
        talks = {r.id: r for _k, r in roles.get("speaker", []) + roles.get("coauthor", []) if isinstance(r, R.Talk)}
        return sorted(talks.values(), key=sort_key)

    def _role(self, agent: str, role: str, kind: str, rec: R.Record) -> None:
        key = (agent, role, kind, rec.id)
        if key not in self._role_seen:
            self._role_seen.add(key)
            self.roles.setdefault(agent, {}).setdefault(role, []).append((kind, rec))

    def parent_of(self, kind: str, rec: R.Scheduled) -> tuple[str, str] | None:
        """The series, event or session a record belongs to."""
        if rec.parent is not None:
            return rec.parent
        if isinstance(rec, R.Event) and rec.series:
            return ("series", rec.series)
        return None

    def record(self, kind: str, rid: str) -> R.Record | None:
        """The record of *kind* with id *rid*."""
        tables: dict[str, Mapping[str, R.Record]] = {
            "talk": self.ds.talks, "series": self.ds.series, "event": self.ds.events, "session": self.ds.sessions,
            "person": self.ds.people, "organization": self.ds.organizations, "place": self.ds.places,
            "source": self.ds.sources}
        return tables.get(kind, {}).get(rid)

    def ancestors(self, kind: str, rec: R.Scheduled) -> list[tuple[str, R.Scheduled]]:
        """Session, event and series a record belongs to, nearest first."""
        out: list[tuple[str, R.Scheduled]] = []
        cur = self.parent_of(kind, rec)
        while cur is not None and all(r.id != cur[1] or k != cur[0] for k, r in out):
            parent = self.record(*cur)
            if not isinstance(parent, R.Scheduled):
                break
            out.append((cur[0], parent))
            cur = self.parent_of(cur[0], parent)
        return out

    def talks_under(self, kind: str, rid: str) -> list[R.Talk]:
        """Every talk of a series, event or session, its events and sessions included, by date."""
        out: list[R.Talk] = []
        stack = [(kind, rid)]
        seen: set[tuple[str, str]] = set()
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            for ck, child in self.children.get(key, []):
                if isinstance(child, R.Talk):
                    out.append(child)
                else:
                    stack.append((ck, child.id))
        return sorted(out, key=sort_key)

    def org_descendants(self, oid: str) -> list[str]:
        """The organisation and its sub-organisations, transitively."""
        out, stack = [], [oid]
        while stack:
            cur = stack.pop()
            if cur in out:
                continue
            out.append(cur)
            stack.extend(sorted(self.sub_orgs.get(cur, []), reverse=True))
        return out

    def place_descendants(self, pid: str) -> list[str]:
        """The place and the places within it, transitively."""
        out, stack = [], [pid]
        while stack:
            cur = stack.pop()
            if cur in out:
                continue
            out.append(cur)
            stack.extend(sorted(self.sub_places.get(cur, []), reverse=True))
        return out

    def place_chain(self, pid: str) -> list[R.Place]:
        """A place and the places containing it, innermost first."""
        out: list[R.Place] = []
        cur = self.ds.places.get(pid)
        while cur is not None and cur not in out:
            out.append(cur)
            cur = self.ds.places.get(cur.contained_in or "")
        return out

    def place_address(self, pid: str) -> R.Address | None:
        """The postal address of a place, or of the nearest place containing it."""
        return next((pl.address for pl in self.place_chain(pid) if pl.address is not None), None)

    def affiliated(self, oid: str) -> list[tuple[R.Person, str]]:
        """People affiliated with the organisation or one of its sub-organisations, with that organisation."""
        out: dict[str, tuple[R.Person, str]] = {}
        for org in self.org_descendants(oid):
            for person in self.members.get(org, []):
                out.setdefault(person.id, (person, org))
        return sorted(out.values(), key=lambda pv: (pv[0].family_name or pv[0].display_name, pv[0].display_name,
                                                    pv[0].id))

    def sources_taken(self, rec: R.Record) -> str:
        """The latest date the record's sources were taken (its lastmod)."""
        return max((self.ds.sources[s].taken for s in rec.sources if s in self.ds.sources),
                   default=self.latest_taken())

    def latest_taken(self) -> str:
        """The date of the data: the latest date any source was taken."""
        return max((s.taken for s in self.ds.sources.values()), default="1970-01-01")

    def lastmod(self, path: str) -> str:
        """The sitemap lastmod of the page at *path*."""
        if not path:
            return self.latest_taken()
        kind_path, _, rid = path.partition("/")
        kind = KIND_OF_PATH.get(kind_path, "")
        if kind == "topic":
            talks = self.topics.get(path, ("", []))[1]
            return max((self.sources_taken(t) for t in talks), default=self.latest_taken())
        rec = self.record(kind, rid)
        return self.sources_taken(rec) if rec is not None else self.latest_taken()


# ---------------------------------------------------------------- embedded JSON-LD


def _key(term: str) -> str:
    """A property or class IRI as a key of the schema.org context: its local name, else the full IRI."""
    if term.startswith(SCHEMA_NS):
        local = term[len(SCHEMA_NS):]
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", local):
            return local
    return term


def _literal(key: str, lit: Literal) -> Any:
    """A literal as a JSON-LD value that expands, under the schema.org context, to the same literal
    (dates excepted: the context types startDate & co. as schema:Date, and Google reads plain strings)."""
    value = str(lit)
    if lit.language:
        return {"@language": lit.language, "@value": value}
    dt = lit.datatype
    if dt is None or dt == XSD.string:
        return {"@value": value} if key in COERCED_TERMS else value
    if key in DATE_TERMS and dt in (XSD.date, XSD.dateTime):
        return value
    if key not in COERCED_TERMS:
        if dt == XSD.integer and re.fullmatch(r"-?(0|[1-9][0-9]*)", value):
            return int(value)
        if dt == XSD.boolean and value in ("true", "false"):
            return value == "true"
    return {"@type": str(dt), "@value": value}


def _one_or_many(values: list[Any]) -> Any:
    values = sorted(values, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return values[0] if len(values) == 1 else values


class JsonLdBuilder:
    """Builds each page's embedded JSON-LD as plain dicts from the description triples."""

    def __init__(self, p: Prepared, groups: Mapping[str, list[Triple]], index: SiteIndex) -> None:
        self.m = p.minter
        self.groups = groups
        self.index = index
        self._subjects: dict[str, dict[str, list[tuple[Node, Node]]]] = {}

    def subjects(self, owner: str) -> dict[str, list[tuple[Node, Node]]]:
        """The description of *owner*, as predicate-object pairs per subject."""
        cached = self._subjects.get(owner)
        if cached is None:
            cached = {}
            for s, p, o in self.groups.get(owner, []):
                cached.setdefault(str(s), []).append((p, o))
            self._subjects[owner] = cached
        return cached

    def objects(self, iri: str, pred: URIRef) -> list[Node]:
        """The objects of (iri, pred) in the description of iri's owner."""
        return [o for p, o in self.subjects(self.m.owner(iri)).get(iri, []) if p == pred]

    def _types(self, pairs: list[tuple[Node, Node]]) -> Any:
        types = sorted(_key(str(o)) for p, o in pairs if p == RDF.type)
        return None if not types else types[0] if len(types) == 1 else types

    def node(self, iri: str, owner: str, seen: set[str]) -> dict[str, Any]:
        """The node *iri* of *owner*'s description, its fragments nested."""
        pairs = self.subjects(owner).get(iri, [])
        out: dict[str, Any] = {"@id": iri}
        types = self._types(pairs)
        if types is not None:
            out["@type"] = types
        by_pred: dict[str, list[Node]] = {}
        for p, o in pairs:
            if p != RDF.type:
                by_pred.setdefault(str(p), []).append(o)
        for pred in sorted(by_pred):
            key = _key(pred)
            values = [self.value(key, URIRef(pred), o, owner, seen)
                      for o in sorted(by_pred[pred], key=nt_term)]
            out[key] = _one_or_many(values)
        return out

    def value(self, key: str, pred: URIRef, obj: Node, owner: str, seen: set[str]) -> Any:
        """One object: a literal, a nested fragment, a referenced resource with what Google needs, or an IRI."""
        if isinstance(obj, Literal):
            return _literal(key, obj)
        iri = str(obj)
        if self.m.owner(iri) == owner and iri in self.subjects(owner) and iri not in seen:
            seen.add(iri)
            return self.node(iri, owner, seen)
        ours = self.m.path_of(iri) is not None and iri != owner and "#" not in iri
        if ours and pred == SCHEMA.location:
            return self.place(iri)
        if ours and pred in AGENT_PREDICATES:
            return self.agent(iri, with_url=pred == SCHEMA.organizer)
        if key in ID_TERMS:
            return iri
        return {"@id": iri}

    def _name_and_type(self, iri: str) -> dict[str, Any]:
        pairs = self.subjects(iri).get(iri, [])
        out: dict[str, Any] = {"@id": iri}
        types = self._types(pairs)
        if types is not None:
            out["@type"] = types
        names = [o for p, o in pairs if p == SCHEMA.name and isinstance(o, Literal)]
        if names:
            out["name"] = _one_or_many([_literal("name", n) for n in names])
        return out

    def agent(self, iri: str, with_url: bool) -> dict[str, Any]:
        """A person or organisation referenced by a description: @id, @type, name (and url)."""
        out = self._name_and_type(iri)
        if with_url:
            urls = [str(o) for o in self.objects(iri, SCHEMA.url)]
            if urls:
                out["url"] = _one_or_many(urls)
        return out

    def place(self, iri: str) -> dict[str, Any]:
        """A location: a Place with its postal address (or that of the place containing it),
        or a VirtualLocation with its url."""
        out = self._name_and_type(iri)
        urls = [str(o) for o in self.objects(iri, SCHEMA.url)]
        if urls:
            out["url"] = _one_or_many(urls)
        cur: str | None = iri
        visited: set[str] = set()
        while cur is not None and cur not in visited:
            visited.add(cur)
            addresses = [str(o) for o in self.objects(cur, SCHEMA.address)]
            if addresses:
                out["address"] = self.node(addresses[0], cur, {addresses[0]})
                break
            outer = self.objects(cur, SCHEMA.containedInPlace)
            cur = str(outer[0]) if outer else None
        return out

    def resource(self, owner: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The embedded JSON-LD of one resource page."""
        seen = {owner}
        root = self.node(owner, owner, seen)
        for key, value in (extra or {}).items():
            if key not in root:
                root[key] = value
        rest = [s for s in sorted(self.subjects(owner)) if s not in seen]
        if not rest:
            return {"@context": "https://schema.org", **root}
        nodes = [root]
        for s in rest:
            if s not in seen:
                seen.add(s)
                nodes.append(self.node(s, owner, seen))
        return {"@context": "https://schema.org", "@graph": nodes}

    def talk(self, t: R.Talk) -> dict[str, Any]:
        """A talk's JSON-LD; a talk without offers of its own carries those of its event or series."""
        owner = str(self.m.resource("talk", t.id))
        extra: dict[str, Any] = {}
        for kind, anc in self.index.ancestors("talk", t):
            anc_iri = str(self.m.resource(kind, anc.id))
            offers = [str(o) for o in self.objects(anc_iri, SCHEMA.offers)]
            if offers:
                extra["offers"] = _one_or_many([self.node(o, anc_iri, {o}) for o in offers])
                break
        return self.resource(owner, extra)


def script_json(data: Any) -> Markup:
    """JSON for a ``<script>`` element: ``<``, ``>`` and ``&`` escaped so no value can end the element
    or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


# ---------------------------------------------------------------- Google Event check


@dataclass(frozen=True, order=True)
class Gap:
    """One thing a talk's JSON-LD lacks for Google's Event rich result."""

    required: bool
    reason: str

    def __str__(self) -> str:
        return f"{self.reason} ({'required' if self.required else 'recommended'})"


_OFFSET_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _types_of(node: Any) -> set[str]:
    if not isinstance(node, dict):
        return set()
    return {str(t).rsplit("/", 1)[-1] for t in _as_list(node.get("@type"))}


def _has_text(value: Any) -> bool:
    for v in _as_list(value):
        if isinstance(v, dict):
            v = v.get("@value", v.get("@id"))
        if isinstance(v, (str, int, float)) and str(v).strip():
            return True
    return False


def _iri_value(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("@id", "")
    return str(value)


def event_node(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Event node of a JSON-LD document (top-level or in @graph)."""
    candidates = [data] + [n for n in _as_list(data.get("@graph")) if isinstance(n, dict)]
    return next((n for n in candidates if "Event" in _types_of(n)), None)


def google_event_gaps(data: Mapping[str, Any]) -> list[Gap]:
    """What a talk's JSON-LD misses of Google's Event rich-result requirements.

    Required: name; startDate with a time and UTC offset; location — a Place with an
    address for in-person events, a VirtualLocation with a url for online ones, both for
    hybrid. Recommended: description, endDate, eventAttendanceMode, eventStatus,
    organizer (name, url), performer (name), and offers with a price when offers are given.
    """
    ev = event_node(data)
    if ev is None:
        return [Gap(True, "@type Event")]
    gaps: list[Gap] = []
    if not _has_text(ev.get("name")):
        gaps.append(Gap(True, "name"))
    starts = [s for s in _as_list(ev.get("startDate")) if isinstance(s, str)]
    if not starts:
        gaps.append(Gap(True, "startDate"))
    elif not any(_OFFSET_DATETIME.match(s) for s in starts):
        gaps.append(Gap(True, "startDate time and UTC offset"))
    mode = " ".join(_iri_value(v) for v in _as_list(ev.get("eventAttendanceMode")))
    online, mixed = "OnlineEventAttendanceMode" in mode, "MixedEventAttendanceMode" in mode
    locations = [loc for loc in _as_list(ev.get("location")) if isinstance(loc, dict)]
    if not locations:
        gaps.append(Gap(True, "location"))
    else:
        if not online or mixed:
            places = [loc for loc in locations if "VirtualLocation" not in _types_of(loc)]
            if not any(_has_address(loc) for loc in places):
                gaps.append(Gap(True, "location Place address"))
        if online or mixed:
            virtual = [loc for loc in locations if "VirtualLocation" in _types_of(loc)]
            if not any(_has_text(loc.get("url")) for loc in virtual):
                gaps.append(Gap(True, "location VirtualLocation url"))
    for prop in ("description", "endDate", "eventAttendanceMode", "eventStatus"):
        if not _has_text(ev.get(prop)):
            gaps.append(Gap(False, prop))
    for prop, needs in (("organizer", ("name", "url")), ("performer", ("name",))):
        agents = _as_list(ev.get(prop))
        if not agents:
            gaps.append(Gap(False, prop))
            continue
        for need in needs:
            if not all(isinstance(a, dict) and _has_text(a.get(need)) for a in agents):
                gaps.append(Gap(False, f"{prop} {need}"))
    offers = _as_list(ev.get("offers"))
    if offers and not all(isinstance(o, dict) and "price" in o for o in offers):
        gaps.append(Gap(False, "offers price"))
    return gaps


def _has_address(place: Mapping[str, Any]) -> bool:
    for addr in _as_list(place.get("address")):
        if isinstance(addr, str) and addr.strip():
            return True
        if isinstance(addr, dict) and any(_has_text(addr.get(k)) for k in (
                "streetAddress", "addressLocality", "addressRegion", "postalCode", "addressCountry")):
            return True
    return False


@dataclass
class GoogleReport:
    """How the talk pages of a build meet Google's Event requirements."""

    talk_pages: int = 0
    complete: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, list[Gap]] = field(default_factory=dict)  # talk page path -> gaps

    def add(self, path: str, gaps: list[Gap]) -> None:
        """Count one talk page."""
        self.talk_pages += 1
        self.gaps[path] = gaps
        if not any(g.required for g in gaps):
            self.complete += 1
        for g in gaps:
            self.missing[str(g)] = self.missing.get(str(g), 0) + 1

    def summary(self) -> str:
        """``pages: N talk pages, K complete for Google Events; missing: …``."""
        order = sorted(self.missing.items(), key=lambda kv: (not kv[0].endswith("(required)"), -kv[1], kv[0]))
        missing = ", ".join(f"{reason} {n}" for reason, n in order) or "nothing"
        return (f"pages: {self.talk_pages} talk pages, {self.complete} complete for Google Events; "
                f"missing: {missing}")


# ---------------------------------------------------------------- rendering


def environment() -> jinja2.Environment:
    """The Jinja environment: package templates, autoescape on for every template."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("lod", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["tex"] = tex_html
    env.filters["paragraphs"] = paragraphs_html
    return env


class Helpers:
    """What templates call: links relative to the current page, names, titles and times."""

    def __init__(self, p: Prepared, index: SiteIndex, path: str, feeds: set[tuple[str, str]]) -> None:
        self.p = p
        self.feeds = feeds
        self.ds = p.dataset
        self.m = p.minter
        self.index = index
        self.path = path
        self.up = "../" * path.count("/")
        self.when = when_html
        self.when_short = when_short
        self.paragraphs = paragraphs_html
        self.tex = tex_html
        self.status_text = STATUS_TEXT
        self.attendance_text = ATTENDANCE_TEXT

    def root(self) -> str:
        """The index page, relative to this page."""
        return self.up or "./"

    def file(self, name: str) -> str:
        """A site document (``dump.ttl``) relative to this page."""
        return self.up + name

    def href(self, kind: str, rid: str) -> str:
        """The page of a record, relative to this page."""
        return f"{self.up}{KIND_PATHS[kind]}/{rid}"

    def topic_href(self, label: str) -> str:
        """The page of a topic."""
        path = self.m.path_of(str(self.m.topic(label)))
        return self.up + (path or "")

    def person(self, pid: str) -> R.Person:
        """A person record."""
        return self.ds.people[pid]

    def org(self, oid: str) -> R.Organization:
        """An organisation record."""
        return self.ds.organizations[oid]

    def place(self, pid: str) -> R.Place:
        """A place record."""
        return self.ds.places[pid]

    def source(self, sid: str) -> R.Source:
        """A source record."""
        return self.ds.sources[sid]

    def agent(self, rid: str) -> tuple[str, str]:
        """(kind, display name) of an organiser id, a person or an organisation."""
        if rid in self.ds.people:
            return "person", self.ds.people[rid].display_name
        return "organization", self.ds.organizations[rid].name

    def record(self, kind: str, rid: str) -> R.Record | None:
        """Any record."""
        return self.index.record(kind, rid)

    def name(self, kind: str, rec: R.Record) -> str:
        """The plain-text name of any record (UI text for talks without a title)."""
        if isinstance(rec, R.Talk):
            return talk_title_text(rec, self.ds)
        if isinstance(rec, R.Person):
            return rec.display_name
        if isinstance(rec, R.Session):
            return rec.title or f"Session {rec.id}"
        if isinstance(rec, R.Source):
            return rec.title or rec.document or rec.id
        return getattr(rec, "name", "") or rec.id

    def title(self, t: R.Talk) -> Markup:
        """A talk's title with its TeX as MathML, or the UI text saying why there is none."""
        if t.title:
            return tex_html(t.title)
        text = TITLE_STATUS_TEXT.get(t.title_status or "", NO_TITLE_TEXT)
        return Markup('<span class="no-title">{}</span>').format(text)

    def ancestors(self, kind: str, rec: R.Scheduled) -> list[tuple[str, R.Scheduled]]:
        """Session, event and series of a record, outermost first."""
        return list(reversed(self.index.ancestors(kind, rec)))

    def children(self, kind: str, rid: str) -> list[tuple[str, R.Scheduled]]:
        """The talks, sessions and events directly in a series, event or session, by date."""
        return self.index.children.get((kind, rid), [])

    def talks_under(self, kind: str, rid: str) -> list[R.Talk]:
        """All talks of a series, event or session."""
        return self.index.talks_under(kind, rid)

    def place_chain(self, pid: str) -> list[R.Place]:
        """A place and those containing it."""
        return self.index.place_chain(pid)

    def address(self, addr: R.Address | None) -> str:
        """A postal address on one line."""
        if addr is None:
            return ""
        region = " ".join(x for x in (addr.region, addr.postal_code) if x)
        return ", ".join(x for x in (addr.street, addr.locality, region, addr.country) if x)

    def place_address(self, pid: str) -> str:
        """The address of a place or of the place it is in."""
        return self.address(self.index.place_address(pid))

    def affiliations(self, pid: str) -> list[R.Organization]:
        """A person's organisations."""
        return [self.ds.organizations[o] for o in self.ds.people[pid].affiliations if o in self.ds.organizations]

    def has_feed(self, kind: str, rid: str) -> bool:
        """True if a calendar file is written for this record."""
        return (kind, rid) in self.feeds

    kind_text = KIND_TEXT

    def duration_text(self, iso: str) -> str:
        """``1 hour 30 minutes`` from ``PT1H30M``."""
        m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", iso)
        if not m:
            return iso
        parts = []
        for n, unit in zip(m.groups(), ("day", "hour", "minute", "second")):
            if n and int(n):
                parts.append(f"{int(n)} {unit}{'s' if int(n) != 1 else ''}")
        return " ".join(parts) or iso

    def language_text(self, tag: str) -> str:
        """A language name for the common BCP 47 tags, else the tag."""
        return LANGUAGES.get(tag.lower(), tag)

    def when_previous(self, t: R.Talk) -> Markup:
        """The original time of a rescheduled talk."""
        w = t.previous_start_at
        if w is None:
            return Markup("")
        if w.is_date or w.local is None:
            return _time_el(w.lexical, long_date(date.fromisoformat(w.lexical[:10])))
        return _time_el(w.lexical, f"{long_date(w.local.date())}, {w.local:%H:%M} {zone_label(w)}")

    def programme(self, kind: str, rid: str) -> list[tuple[str, list[tuple[str, R.Scheduled]]]]:
        """The talks, sessions and events of a series or event, by date, grouped by local day."""
        days: dict[str, list[tuple[str, R.Scheduled]]] = {}
        for k, rec in self.children(kind, rid):
            day = rec.start_at.lexical[:10] if rec.start_at else ""
            days.setdefault(day, []).append((k, rec))
        return [(long_date(date.fromisoformat(day)) if day else "Date not given", its) for day, its in days.items()]

    def org_parents(self, oid: str) -> list[R.Organization]:
        """The organisations an organisation is part of, nearest first."""
        out: list[R.Organization] = []
        cur = self.ds.organizations[oid].parent
        while cur and cur in self.ds.organizations and all(o.id != cur for o in out):
            out.append(self.ds.organizations[cur])
            cur = self.ds.organizations[cur].parent
        return out

    def person_talks(self, pid: str) -> list[R.Talk]:
        """The talks a person gives or co-authors."""
        return self.index.person_talks(pid)

    def room_note(self, t: R.Talk, pid: str) -> str | None:
        """For a talk listed on a building's page: the room it is in."""
        for place_id in (t.venue, t.online):
            if (place_id and place_id != pid and place_id in self.ds.places
                    and pid in [pl.id for pl in self.index.place_chain(place_id)]):
                return self.ds.places[place_id].name
        return None

    def span(self, kind: str, rec: R.Scheduled) -> tuple[str, str]:
        """First and last day of a series or event (its own dates, else those of its talks)."""
        days = [w.lexical[:10] for w in (rec.start_at, rec.end_at) if w is not None]
        if not days:
            days = [t.start_at.lexical[:10] for t in self.talks_under(kind, rec.id) if t.start_at is not None]
        if not days:
            return "", ""
        return self.date_text(min(days)), self.date_text(max(days))

    def date_text(self, lexical: str) -> str:
        """``22 November 2026`` from ``2026-11-22``."""
        try:
            d = date.fromisoformat(lexical)
        except ValueError:
            return lexical
        return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def talk_title_text(t: R.Talk, ds: R.Dataset) -> str:
    """A talk's title as plain text (TeX source kept), or UI text naming the speakers."""
    if t.title:
        return t.title
    text = TITLE_STATUS_TEXT.get(t.title_status or "", NO_TITLE_TEXT)
    names = [ds.people[s].display_name for s in t.speakers if s in ds.people]
    return f"{'Talk by ' + ', '.join(names) + ' (' + text.lower() + ')' if names else text}"


@dataclass
class Page:
    """One rendered page."""

    path: str  # the site path P ('' for the index)
    html: bytes
    jsonld: dict[str, Any]


class Renderer:
    """Renders every page of a prepared dataset."""

    def __init__(self, p: Prepared, now: datetime) -> None:
        self.p = p
        self.now = now
        self.env = environment()
        self.index = SiteIndex(p)
        triples = sorted_triples(p.graph)
        self.groups = describe(triples, p.minter)
        self.jsonld = JsonLdBuilder(p, self.groups, self.index)
        self.feeds: set[tuple[str, str]] = set()

    def resource_paths(self) -> list[str]:
        """Every site path P that has a description (and so OUT/P.ttl)."""
        paths = [self.p.minter.path_of(owner) for owner in self.groups]
        return sorted(p for p in paths if p)

    def helpers(self, path: str) -> Helpers:
        """Template helpers for the page at *path*."""
        return Helpers(self.p, self.index, path, self.feeds)

    def common(self, path: str, title: str, kind: str, rid: str = "") -> dict[str, Any]:
        """Template variables every page has."""
        m = self.p.minter
        name = path.rsplit("/", 1)[-1]
        alternates = [{"type": f.media_type, "href": name + f.suffix, "label": FORMAT_LABELS.get(f.name, f.name)}
                      for f in RDF_FORMATS] if path else []
        return {"site": self.p.dataset.site, "h": self.helpers(path), "path": path, "title": title,
                "kind": kind, "kind_text": KIND_TEXT.get(kind, kind), "description": None,
                "calendar": f"{name}.ics" if (kind, rid) in self.feeds else None,
                "canonical": m.base + path, "alternates": alternates}

    def render(self, template: str, jsonld: dict[str, Any], common: dict[str, Any], **context: Any) -> bytes:
        """Render one template to UTF-8 bytes."""
        html = self.env.get_template(template).render({**common, **context, "jsonld": script_json(jsonld)})
        return html.encode("utf-8")

    def page(self, path: str) -> Page:
        """Render the page of the resource at *path*."""
        kind_path, _, rid = path.partition("/")
        kind = KIND_OF_PATH.get(kind_path, "")
        owner = self.p.minter.base + path
        rec = self.index.record(kind, rid)
        data = self.jsonld.talk(rec) if isinstance(rec, R.Talk) else self.jsonld.resource(owner)
        if kind == "topic":
            names = [str(o) for o in self.jsonld.objects(owner, SCHEMA.name)]
            label, talks = self.index.topics.get(path, (names[0] if names else rid, []))
            html = self.render("topic.html", data, self.common(path, label, kind), label=label,
                               talks=sorted(talks, key=sort_key))
        elif rec is not None:
            name = self.helpers(path).name(kind, rec)
            html = self.render(f"{kind}.html", data, self.common(path, name, kind, rec.id), rec=rec,
                               **self.extra(kind, rec))
        else:  # a kind of resource this module does not know yet: its triples as a table
            rows = [(str(p_), str(o)) for _s, p_, o in self.groups.get(owner, [])]
            html = self.render("resource.html", data, self.common(path, path, kind), rows=rows)
        return Page(path, html, data)

    def extra(self, kind: str, rec: R.Record) -> dict[str, Any]:
        """Per-kind template variables."""
        idx = self.index
        if isinstance(rec, R.Talk):
            return {"description": _plain_summary(rec.abstract)}
        if isinstance(rec, R.Person):
            return {"roles": idx.roles.get(rec.id, {})}
        if isinstance(rec, R.Organization):
            parents = []
            cur = rec.parent
            while cur and cur in self.p.dataset.organizations and cur not in parents:
                parents.append(cur)
                cur = self.p.dataset.organizations[cur].parent
            return {"affiliated": idx.affiliated(rec.id), "descendants": idx.org_descendants(rec.id)[1:],
                    "sub_orgs": sorted(idx.sub_orgs.get(rec.id, [])), "parents": parents,
                    "roles": idx.roles.get(rec.id, {})}
        if isinstance(rec, R.Place):
            places = idx.place_descendants(rec.id)
            here = [(k, r) for pl in places for k, r in idx.at_place.get(pl, [])]
            talks = sorted((r for k, r in here if k == "talk"), key=sort_key)
            others = sorted(((k, r) for k, r in here if k != "talk"), key=lambda kr: sort_key(kr[1]))
            return {"talks": talks, "others": others, "sub_places": sorted(idx.sub_places.get(rec.id, []))}
        if isinstance(rec, R.Source):
            return {"derived": idx.by_source.get(rec.id, [])}
        if isinstance(rec, R.Gathering):
            return {"description": _plain_summary(rec.description)}
        return {}

    def index_page(self) -> Page:
        """The home page: upcoming and past talks, series and events, and the data."""
        ds, m = self.p.dataset, self.p.minter
        today = self.now.astimezone(UTC).date().isoformat()
        dated = sorted((t for t in ds.talks.values() if t.start_at is not None), key=sort_key)
        upcoming = [t for t in dated if _last_day(t) >= today]
        past = [t for t in reversed(dated) if _last_day(t) < today]
        undated = sorted((t for t in ds.talks.values() if t.start_at is None), key=sort_key)
        gatherings = sorted([("series", r) for r in ds.series.values()] + [("event", r) for r in ds.events.values()],
                            key=lambda kr: (sort_key(kr[1]), kr[0]))
        data: dict[str, Any] = {
            "@context": "https://schema.org", "@type": "Dataset", "@id": str(m.dataset),
            "name": ds.site.title, "url": m.base,
            "distribution": [{"@type": "DataDownload", "contentUrl": str(m.document("dump" + f.suffix)),
                              "encodingFormat": f.media_type} for f in RDF_FORMATS]}
        if ds.site.description:
            data["description"] = ds.site.description
        if ds.site.license:
            data["license"] = ds.site.license
        if ds.site.publisher:
            data["publisher"] = {"@type": "Organization", "name": ds.site.publisher}
        ctx = self.common("", ds.site.title, "index", "talks")
        ctx["description"] = ds.site.description
        ctx["calendar"] = "talks.ics" if ("site", "talks") in self.feeds else None
        dumps = [{"href": "dump" + f.suffix, "type": f.media_type, "label": f"dump{f.suffix} ({FORMAT_LABELS.get(f.name, f.name)})"}
                 for f in RDF_FORMATS]
        html = self.render("index.html", data, ctx, dumps=dumps, upcoming=upcoming, past=past, undated=undated,
                           gatherings=gatherings, today=today, talks_ics=("site", "talks") in self.feeds,
                           people=sorted(ds.people.values(), key=lambda r: (r.family_name or r.display_name, r.id)),
                           orgs=sorted(ds.organizations.values(), key=lambda r: (r.name, r.id)),
                           places=sorted(ds.places.values(), key=lambda r: (r.name, r.id)),
                           topics=sorted(self.index.topics.items(), key=lambda kv: kv[1][0]),
                           sources=list(ds.sources.values()))
        return Page("", html, data)


def _plain_summary(text: str | None, limit: int = 200) -> str | None:
    """The start of a text on one line, for ``<meta name="description">``."""
    if not text:
        return None
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def _last_day(t: R.Talk) -> str:
    """The local day a talk ends (or starts), for upcoming/past."""
    w = t.end_at or t.start_at
    assert w is not None
    return w.lexical[:10]


# ---------------------------------------------------------------- sitemap and robots


def sitemap_files(entries: list[tuple[str, str]], base: str) -> dict[str, bytes]:
    """``sitemap.xml`` (a sitemap index beyond 50,000 URLs) for (url, lastmod) entries."""
    def urlset(chunk: list[tuple[str, str]]) -> bytes:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"<url><loc>{escape(url)}</loc><lastmod>{escape(mod)}</lastmod></url>" for url, mod in chunk]
        lines.append("</urlset>")
        return ("\n".join(lines) + "\n").encode("utf-8")

    if len(entries) <= SITEMAP_LIMIT:
        return {"sitemap.xml": urlset(entries)}
    files: dict[str, bytes] = {}
    index = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for n, start in enumerate(range(0, len(entries), SITEMAP_LIMIT), 1):
        chunk = entries[start:start + SITEMAP_LIMIT]
        files[f"sitemap-{n}.xml"] = urlset(chunk)
        index.append(f"<sitemap><loc>{escape(base)}sitemap-{n}.xml</loc>"
                     f"<lastmod>{escape(max(mod for _u, mod in chunk))}</lastmod></sitemap>")
    index.append("</sitemapindex>")
    files["sitemap.xml"] = ("\n".join(index) + "\n").encode("utf-8")
    return files


def robots_txt(base: str) -> bytes:
    """robots.txt allowing everything and naming the sitemap by its absolute URL."""
    return f"User-agent: *\nDisallow:\n\nSitemap: {base}sitemap.xml\n".encode()


# ---------------------------------------------------------------- the stage


@dataclass
class PagesOutput:
    """Everything the pages stage writes, by site-relative file name, and the Google report."""

    files: dict[str, bytes]
    google: GoogleReport
    warnings: list[Result]


def render_site(p: Prepared, now: datetime | None = None) -> PagesOutput:
    """Render every page, the sitemap, robots.txt and the calendar feeds of *p* (no file is written)."""
    now = now or build_now()
    r = Renderer(p, now)
    ds, m = p.dataset, p.minter
    files: dict[str, bytes] = {}
    # Calendars first: pages link to the feeds that exist.
    for key, (name, data) in feeds.site_feeds(p, r.index.talks_under, r.index.person_talks).items():
        files[name] = data
        r.feeds.add(key)
    google = GoogleReport()
    warnings: list[Result] = []
    entries: list[tuple[str, str]] = []
    index = r.index_page()
    files["index.html"] = index.html
    entries.append((m.base, r.index.lastmod("")))
    for path in r.resource_paths():
        page = r.page(path)
        files[path + ".html"] = page.html
        entries.append((m.base + path, r.index.lastmod(path)))
        kind_path, _, rid = path.partition("/")
        if KIND_OF_PATH.get(kind_path) == "talk":
            gaps = google_event_gaps(page.jsonld)
            google.add(path, gaps)
            required = [g.reason for g in gaps if g.required]
            if required:
                talk = ds.talks.get(rid)
                warnings.append(Result("warning", m.base + path, "google-event",
                                       f"the talk page {path}.html misses what Google's Event results require: "
                                       f"{', '.join(required)}", "pages:google-event",
                                       talk.loc if talk is not None else None))
    files.update(sitemap_files(entries, m.base))
    files["robots.txt"] = robots_txt(m.base)
    return PagesOutput(files, google, warnings)


def write_pages(p: Prepared, root: Path, progress: Progress | None = None,
                timings: dict[str, float] | None = None, now: datetime | None = None) -> int:
    """Write the pages, sitemap, robots.txt and calendar feeds of *p* under *root*; return the file count.

    The talk pages' gaps in Google's Event requirements are reported through *progress*
    and added to ``p.report`` as warnings (one per talk page that lacks a required property).
    """
    say = progress or (lambda _m: None)
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    out = render_site(p, now)
    for rel, data in out.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    p.report.results.extend(out.warnings)
    timings["pages"] = time.perf_counter() - t0
    n_ics = sum(1 for name in out.files if name.endswith(".ics"))
    n_html = sum(1 for name in out.files if name.endswith(".html"))
    say(f"{out.google.summary()} ({n_html} pages, {n_ics} calendars, {timings['pages']:.2f}s)")
    return len(out.files)
