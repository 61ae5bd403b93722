"""The JSON-LD embedded in each page, built from the resource's own description triples."""

from __future__ import annotations

import functools
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from json.encoder import encode_basestring as _encode_str
from typing import Any

from markupsafe import Markup
from rdflib import Literal, URIRef
from rdflib.term import Node

from lod.model import records as R
from lod.publishing.prepared import Prepared
from lod.model.serialize import Triple, nt_term
from lod.model.vocab import RDF, SCHEMA, XSD
from lod.publishing.pages.constants import AGENT_PREDICATES, COERCED_TERMS, DATE_TERMS, ID_TERMS, SCHEMA_NS
from lod.publishing.pages.recent import Recent
from lod.publishing.pages.keys import desc_key
from lod.publishing.pages.reads import RECORDER, IndexView

# Looked up once: each ``SCHEMA.x`` is a call to rdflib's Namespace.__getattr__.
_TYPE, _NAME, _URL, _LOCATION = RDF.type, SCHEMA.name, SCHEMA.url, SCHEMA.location
_ORGANIZER, _ADDRESS, _CONTAINED_IN, _OFFERS = SCHEMA.organizer, SCHEMA.address, SCHEMA.containedInPlace, SCHEMA.offers

# ---------------------------------------------------------------- embedded JSON-LD


@functools.lru_cache(maxsize=None)
def _key(term: str) -> str:
    """A property or class IRI as a key of the schema.org context: its local name, else the full IRI.

    Cached: a site uses a few hundred terms, looked up for every triple of every page.
    """
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
    if len(values) == 1:
        return values[0]
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))


SUBJECTS_KEPT = 256  # owners' descriptions by subject kept at once (``JsonLdBuilder.subjects``)


class JsonLdBuilder:
    """Builds each page's embedded JSON-LD as plain dicts from the description triples."""

    def __init__(self, p: Prepared, groups: Mapping[str, list[Triple]], index: IndexView) -> None:
        self.m = p.minter
        self.groups = groups
        self.index = index
        # Each kept with what making it read (``Recorder.memo``): a page reusing it read that too.
        # The last few owners' descriptions by subject: a page reads its own several times and those
        # of what it names once each (their parts are kept below), so a few suffice; keeping every
        # owner's held 50-70 MB in each page worker at 100k talks.
        self._subjects: OrderedDict[str, Any] = OrderedDict()
        self._agents: Recent[tuple[str, bool], Any] = Recent()
        self._places: Recent[str, Any] = Recent()

    def subjects(self, owner: str) -> dict[str, list[tuple[Node, Node]]]:
        """The description of *owner*, as predicate-object pairs per subject."""
        # Not noted here: its callers note the part they read (``desc_key``), so a page naming
        # a series' offers is not dirty when a talk is added to the series' description.
        cached = self._subjects.get(owner)
        if cached is None:
            cached = {}
            with RECORDER.quiet():
                for s, p, o in self.groups.get(owner, []):
                    cached.setdefault(str(s), []).append((p, o))
            self._subjects[owner] = cached
            if len(self._subjects) > SUBJECTS_KEPT:
                self._subjects.popitem(last=False)
        else:
            self._subjects.move_to_end(owner)
        return cached

    def pairs(self, iri: str, owner: str) -> list[tuple[Node, Node]]:
        """The predicate-object pairs of *iri* in *owner*'s description (noted as read)."""
        pairs = self.subjects(owner).get(iri, [])
        RECORDER.note_desc(desc_key(owner, iri), lambda: pairs)
        return pairs

    def objects(self, iri: str, pred: URIRef) -> list[Node]:
        """The objects of (iri, pred) in the description of iri's owner."""
        owner = self.m.owner(iri)
        pairs = self.subjects(owner).get(iri, [])
        RECORDER.note_desc(desc_key(owner, iri, str(pred)), lambda: [(p, o) for p, o in pairs if str(p) == str(pred)])
        return [o for p, o in pairs if p == pred]

    def _types(self, pairs: list[tuple[Node, Node]]) -> Any:
        types = sorted(_key(str(o)) for p, o in pairs if p == _TYPE)
        return None if not types else types[0] if len(types) == 1 else types

    def node(self, iri: str, owner: str, seen: set[str]) -> dict[str, Any]:
        """The node *iri* of *owner*'s description, its fragments nested."""
        pairs = self.pairs(iri, owner)
        out: dict[str, Any] = {"@id": iri}
        types = self._types(pairs)
        if types is not None:
            out["@type"] = types
        by_pred: dict[str, list[Node]] = {}
        for p, o in pairs:
            if p != _TYPE:
                by_pred.setdefault(str(p), []).append(o)
        for pred in sorted(by_pred):
            key = _key(pred)
            objs = by_pred[pred]
            if len(objs) > 1:
                objs = sorted(objs, key=nt_term)
            pred_ref = URIRef(pred)
            values = [self.value(key, pred_ref, o, owner, seen) for o in objs]
            out[key] = _one_or_many(values)
        return out

    def value(self, key: str, pred: URIRef, obj: Node, owner: str, seen: set[str]) -> Any:
        """One object: a literal, a nested fragment, a referenced resource with what Google needs, or an IRI."""
        if isinstance(obj, Literal):
            return _literal(key, obj)
        iri = str(obj)
        if self.m.owner(iri) == owner and self.pairs(iri, owner) and iri not in seen:
            seen.add(iri)
            return self.node(iri, owner, seen)
        ours = self.m.path_of(iri) is not None and iri != owner and "#" not in iri
        if ours and pred == _LOCATION:
            return self.place(iri)
        if ours and pred in AGENT_PREDICATES:
            return self.agent(iri, with_url=pred == _ORGANIZER)
        if key in ID_TERMS:
            return iri
        return {"@id": iri}

    def _name_and_type(self, iri: str) -> dict[str, Any]:
        pairs = self.pairs(iri, iri)
        out: dict[str, Any] = {"@id": iri}
        types = self._types(pairs)
        if types is not None:
            out["@type"] = types
        names = [o for p, o in pairs if p == _NAME and isinstance(o, Literal)]
        if names:
            out["name"] = _one_or_many([_literal("name", n) for n in names])
        return out

    def agent(self, iri: str, with_url: bool) -> dict[str, Any]:
        """A person or organisation referenced by a description: @id, @type, name (and url).

        Kept per (iri, with_url): a person is referenced by every page of their talks, and
        the JSON-LD is only read after it is built, so pages may share the dict.
        """
        cached: dict[str, Any] = RECORDER.memo(self._agents, (iri, with_url), lambda: self._agent(iri, with_url))
        return cached

    def _agent(self, iri: str, with_url: bool) -> dict[str, Any]:
        out = self._name_and_type(iri)
        if with_url:
            urls = [str(o) for o in self.objects(iri, _URL)]
            if urls:
                out["url"] = _one_or_many(urls)
        return out

    def place(self, iri: str) -> dict[str, Any]:
        """A location: a Place with its postal address (or that of the place containing it),
        or a VirtualLocation with its url (kept per place, shared by the pages, as ``agent``)."""
        cached: dict[str, Any] = RECORDER.memo(self._places, iri, lambda: self._place(iri))
        return cached

    def _place(self, iri: str) -> dict[str, Any]:
        out = self._name_and_type(iri)
        urls = [str(o) for o in self.objects(iri, _URL)]
        if urls:
            out["url"] = _one_or_many(urls)
        cur: str | None = iri
        visited: set[str] = set()
        while cur is not None and cur not in visited:
            visited.add(cur)
            addresses = [str(o) for o in self.objects(cur, _ADDRESS)]
            if addresses:
                out["address"] = self.node(addresses[0], cur, {addresses[0]})
                break
            outer = self.objects(cur, _CONTAINED_IN)
            cur = str(outer[0]) if outer else None
        return out

    def resource(self, owner: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The embedded JSON-LD of one resource page."""
        seen = {owner}
        root = self.node(owner, owner, seen)
        for key, value in (extra or {}).items():
            if key not in root:
                root[key] = value
        # every subject of its own description
        RECORDER.note_desc(desc_key(owner), lambda: self.groups.get(owner, []))
        rest = [s for s in sorted(self.subjects(owner)) if s not in seen]
        if not rest:
            return {"@context": "https://schema.org", **root}
        nodes = [root]
        for s in rest:
            if s not in seen:
                seen.add(s)
                nodes.append(self.node(s, owner, seen))
        return {"@context": "https://schema.org", "@graph": nodes}

    def scheduled(self, kind: str, rec: R.Session | R.Event) -> dict[str, Any]:
        """A session's or event's JSON-LD, with what its programme says and its own record does not.

        - A session with no place of its own whose talks are all at one venue (they inherit it
          from the event: ``lod.loading.resolve``) carries that venue as its ``location``.
        - An event known by its days whose programme gives times on its first (last) day
          has ``startDate`` (``endDate``) at the first start (last end) of that day: the
          workshop's agenda starts at 08:30. The Turtle keeps the days the source gave.
        """
        owner = str(self.m.resource(kind, rec.id))
        talks = self.index.talks_under(kind, rec.id)
        extra: dict[str, Any] = {}
        if isinstance(rec, R.Session) and rec.venue is None and rec.online is None and talks:
            venues = {t.venue for t in talks}
            venue = venues.pop() if len(venues) == 1 else None
            if venue is not None:
                extra["location"] = self.place(str(self.m.resource("place", venue)))
        data = self.resource(owner, extra)
        if isinstance(rec, R.Event):
            # Its sessions read as records (a session is compared on its own, not inside its event).
            sessions = [self.index.record("session", s.id) for s in rec.sessions]
            inner: list[R.Scheduled] = [*(s for s in sessions if isinstance(s, R.Session)), *talks]
            root = _root(data)
            if rec.start_at is not None and rec.start_at.is_date:
                starts = [c.start_at.lexical for c in inner if c.start_at is not None]
                first = _with_time(rec.start_at, starts, min)
                if first is not None:
                    root["startDate"] = first
            last_day = rec.end_at or rec.start_at
            if last_day is not None and last_day.is_date:
                ends = [w.lexical for c in inner for w in (c.end_at or c.start_at,) if w is not None]
                last = _with_time(last_day, ends, max)
                if last is not None:
                    root["endDate"] = last
        return data

    def talk(self, t: R.Talk) -> dict[str, Any]:
        """A talk's JSON-LD; a talk without offers of its own carries those of its event or series."""
        owner = str(self.m.resource("talk", t.id))
        extra: dict[str, Any] = {}
        for kind, anc in self.index.ancestors("talk", t):
            anc_iri = str(self.m.resource(kind, anc.id))
            offers = [str(o) for o in self.objects(anc_iri, _OFFERS)]
            if offers:
                extra["offers"] = _one_or_many([self.node(o, anc_iri, {o}) for o in offers])
                break
        return self.resource(owner, extra)


# Characters JSON may hold raw but a <script> element may not: the C1 controls are an
# HTML parse error, U+2028/U+2029 end a line in pre-2019 JavaScript. Written as JSON escapes,
# the value parses back exactly.
_SCRIPT_UNSAFE = re.compile("[\x80-\x9f\u2028\u2029]")


def _root(data: dict[str, Any]) -> dict[str, Any]:
    """The node of the page's own resource in its JSON-LD."""
    graph = data.get("@graph")
    return graph[0] if isinstance(graph, list) and graph else data


def _with_time(day: R.When, lexicals: list[str], pick: Any) -> str | None:
    """Of *lexicals* (times with offset), the one *pick* chooses among those on *day*'s date; None if none."""
    same_day = [w for w in lexicals if w[:10] == day.lexical[:10] and len(w) > 10]
    return pick(same_day, key=lambda w: w[11:16]) if same_day else None


def script_json(data: Any) -> Markup:
    """JSON for a ``<script>`` element: ``<``, ``>`` and ``&`` escaped so no value can end the element
    or open a comment, and the characters of ``_SCRIPT_UNSAFE`` as ``\\uXXXX``."""
    text = dumps_indented(data)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if _SCRIPT_UNSAFE.search(text):
        text = _SCRIPT_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
    return Markup(text)


class _NotPlain(Exception):
    """A value ``dumps_indented`` leaves to ``json.dumps`` (a float, a non-string key, another type)."""


def dumps_indented(data: Any) -> str:
    """``json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)``, faster.

    With an indent, the json module encodes in pure Python through generators; the JSON-LD
    of a page holds only dicts with string keys, lists, strings, ints, booleans and None,
    which this writes directly (strings by json's C encoder). Anything else goes to
    ``json.dumps``, so the text is always the same.
    """
    parts: list[str] = []
    try:
        _dump(data, "\n", parts)
    except _NotPlain:
        return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)
    return "".join(parts)


def _dump(o: Any, newline: str, parts: list[str]) -> None:
    """Append *o* as indented JSON; *newline* is the line break and indent of its own level."""
    if type(o) is str:
        parts.append(_encode_str(o))
    elif type(o) is dict:
        if not o:
            parts.append("{}")
            return
        inner = newline + " "
        sep = "{" + inner
        for k, v in sorted(o.items()):
            if type(k) is not str:
                raise _NotPlain
            parts += [sep, _encode_str(k), ": "]
            _dump(v, inner, parts)
            sep = "," + inner
        parts += [newline, "}"]
    elif type(o) is list:
        if not o:
            parts.append("[]")
            return
        inner = newline + " "
        sep = "[" + inner
        for v in o:
            parts.append(sep)
            _dump(v, inner, parts)
            sep = "," + inner
        parts += [newline, "]"]
    elif o is True:
        parts.append("true")
    elif o is False:
        parts.append("false")
    elif o is None:
        parts.append("null")
    elif type(o) is int:
        parts.append(int.__repr__(o))
    else:
        raise _NotPlain
