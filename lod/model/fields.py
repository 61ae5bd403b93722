"""Field converters and record specs: YAML nodes to checked Python values.

Each converter reads one node for one field and either returns its value or records a
RecordError naming the file, line, column and field and raises Invalid. ``lod.loading.files``
walks the files with these; ``lod.loading.resolve`` uses parse_local and field_names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import fields as dc_fields
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lod.model import kinds as K
from lod.model import records as R
from lod.errors import ConfigError, Location, RecordError
from lod.model.iritext import BIDI_CONTROLS, SLUG_RE, bidi_control, is_valid_iri, normalise_base_url

# Nodes walked in one file, counting every alias expansion: MAX_NODES, plus NODES_PER_CHAR for
# each character of the file. Without aliases no file walks more nodes than it has characters
# (every node but an empty value takes one), so the budget can only stop an alias bomb, never a
# long file written out: 100k people in one file load.
MAX_NODES = 1_000_000
NODES_PER_CHAR = 2
MAX_TEXT = 100_000  # characters in one field value
STANDARD_TAGS = {f"tag:yaml.org,2002:{t}" for t in
                 ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # from "\ud800" escapes; cannot be written as UTF-8
YEARS = (1000, 2999)  # local times outside this are typos, and years < 1000 or near 9999 break datetime arithmetic
MAX_DURATION_DAYS = 3660
_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION = re.compile(r"^P(?!$)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_LANG = re.compile(r"^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*$")
_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_ROR = re.compile(r"^0[a-hj-km-np-tv-z0-9]{6}\d{2}$")
_WIKIDATA = re.compile(r"^Q[1-9]\d*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _location_fast(file: str, line: int, column: int) -> Location:
    """Location(file, line, column) with object.__setattr__ bound once: one Location is made for
    every field of every record, and the frozen dataclass's __init__ looks it up per field.
    (Filling __dict__ directly is faster still but gives each Location a dict: ~60 MB at 100k talks.)"""
    loc = _new(Location)
    _setattr(loc, "file", file)
    _setattr(loc, "line", line)
    _setattr(loc, "column", column)
    return loc


_new = object.__new__
_setattr = object.__setattr__
# Only while Location is a plain frozen dataclass of these three fields; otherwise the constructor.
_location: Callable[[str, int, int], Location] = (
    _location_fast if [f.name for f in dc_fields(Location)] == ["file", "line", "column"]
    and not hasattr(Location, "__post_init__") and _location_fast("f", 1, 2) == Location("f", 1, 2) else Location)


class Budget:
    """Counts nodes walked in one file so aliases cannot expand without bound."""

    def __init__(self, chars: int = 0) -> None:
        self.limit = self.left = MAX_NODES + NODES_PER_CHAR * chars

    def exceeded(self) -> str:
        """What the budget was, for the error that names it."""
        return (f"the file expands to more than {self.limit:,} YAML nodes, the limit for a file of its length "
                f"({MAX_NODES:,} plus {NODES_PER_CHAR} per character)")


class BudgetExceeded(Exception):
    """Raised when a file's node budget is spent. Not an Invalid: the converters that skip an
    invalid value and read on must not catch it, or the rest of the file would be silently lost."""


class Ctx:
    """Where we are: the file, the record being read, and the error list."""

    def __init__(self, file: str, errors: list[RecordError], budget: Budget) -> None:
        self.file = file
        self.errors = errors
        self.budget = budget
        self.record = ""

    def loc(self, node: Node) -> Location:
        """Where *node* starts."""
        mark = node.start_mark
        return _location(self.file, mark.line + 1, mark.column + 1)

    def fail(self, node: Node, path: str, problem: str, fix: str = "") -> None:
        field = f"{self.record}, field {path}" if self.record else path
        self.errors.append(RecordError(self.loc(node), field, problem, fix))


class Invalid(Exception):
    """Raised inside a converter after the error has been recorded."""


Conv = Callable[[Ctx, Node, str], Any]



def _walk_check(ctx: Ctx, node: Node, path: str = "") -> None:
    ctx.budget.left -= 1
    if ctx.budget.left < 0:
        raise BudgetExceeded
    if node.tag not in STANDARD_TAGS:
        _walk_check_tag(ctx, node, path)


def _walk_check_tag(ctx: Ctx, node: Node, path: str) -> None:
    ctx.fail(node, path or "value", f"the YAML tag {node.tag!r} is not allowed.",
             "remove the tag (such as !!python/object); records hold plain text, numbers, lists and mappings.")
    raise Invalid


# One search finds any character that scalar() refuses; the specific checks run only then.
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def scalar(ctx: Ctx, node: Node, path: str) -> str | None:
    """The raw text of a scalar (YAML's own typing is ignored: fields decide), or None for null."""
    # _walk_check inlined: this runs for every value of every record.
    budget = ctx.budget
    budget.left -= 1
    if budget.left < 0:
        raise BudgetExceeded
    if node.tag not in STANDARD_TAGS:
        _walk_check_tag(ctx, node, path)
    if type(node) is not ScalarNode:
        ctx.fail(node, path, f"expected a single value, found a {'list' if isinstance(node, SequenceNode) else 'mapping'}.",
                 "write one value here.")
        raise Invalid
    if node.style is None and node.tag == "tag:yaml.org,2002:null":
        return None
    value: str = node.value
    if len(value) > MAX_TEXT:
        ctx.fail(node, path, f"the value is {len(value)} characters long; the limit is {MAX_TEXT}.", "shorten it.")
        raise Invalid
    if _REFUSED.search(value) is None:
        return value
    if _SURROGATE.search(value):
        ctx.fail(node, path, "the value contains a lone UTF-16 surrogate (such as \\ud800), which is not a character.",
                 "remove it, or write the character itself.")
        raise Invalid
    bad = _CONTROL.search(value)
    if bad:
        ctx.fail(node, path, f"the value contains the control character U+{ord(bad.group()):04X}.",
                 "remove it; only tabs and line breaks are allowed in text.")
        raise Invalid
    return value


# ---------------------------------------------------------------- converters

def text(ctx: Ctx, node: Node, path: str) -> str:
    value = scalar(ctx, node, path)
    if value is None or not value.strip():
        ctx.fail(node, path, "the value is empty.", "write a value or leave the field out.")
        raise Invalid
    return value.rstrip()


def line(ctx: Ctx, node: Node, path: str) -> str:
    value = text(ctx, node, path)
    if "\n" in value:
        ctx.fail(node, path, "the value spans several lines.", "write it on one line.")
        raise Invalid
    return value.strip()


def slug(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    if not SLUG_RE.match(value):
        ctx.fail(node, path, f"{value!r} is not a valid id.",
                 "use lowercase letters, digits and single hyphens, e.g. 'greg-yang'.")
        raise Invalid
    return value


def url(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    bidi = bidi_control(value)
    if bidi:  # invisible, and it makes the link read differently from where it leads
        ctx.fail(node, path, f"{value!r} contains the invisible bidirectional control U+{ord(bidi):04X}, which "
                 "makes an address display differently from where it leads; IRIs may not contain it (RFC 3987).",
                 f"remove it, or write it percent-encoded ({quote(bidi)}) if the address really contains it.")
        raise Invalid
    if not (value.startswith(("http://", "https://")) and is_valid_iri(value)):
        ctx.fail(node, path, f"{value!r} is not an absolute http(s) URL.",
                 "write the full address, e.g. https://example.org/page, with spaces encoded as %20.")
        raise Invalid
    return value


def base_url(ctx: Ctx, node: Node, path: str) -> str:
    value = url(ctx, node, path)
    try:
        normalise_base_url(value)
    except ConfigError as exc:  # reported here so the message names the file and line
        ctx.fail(node, path, f"{exc}.", "write the address under which the site is published, e.g. https://talks.example.org/.")
        raise Invalid from None
    return value


def a_date(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    try:
        return date.fromisoformat(value).isoformat() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else _bad_date()
    except ValueError:
        ctx.fail(node, path, f"{value!r} is not a valid date.", "write it as YYYY-MM-DD, e.g. 2024-05-23.")
        raise Invalid from None


def _bad_date() -> str:
    raise ValueError


def local_time(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    m = _LOCAL.match(value)
    try:
        if not m:
            raise ValueError
        day, _ = parse_local(value)
        if not YEARS[0] <= day.year <= YEARS[1]:
            ctx.fail(node, path, f"the year {day.year} is outside {YEARS[0]}–{YEARS[1]}.", "check the date.")
            raise Invalid
    except ValueError:
        hint = ("write the offset in the field 'offset' and the local time here, e.g. 2024-06-03T13:30."
                if re.search(r"(Z|[+-]\d{2}:?\d{2})$", value) else
                "write the local wall-clock time as YYYY-MM-DDTHH:MM (e.g. 2023-09-13T10:00) or a date as YYYY-MM-DD.")
        ctx.fail(node, path, f"{value!r} is not a valid local date and time.", hint)
        raise Invalid from None
    return value


def end_time(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    m = _CLOCK.match(value)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return f"{int(m.group(1)):02d}:{m.group(2)}"
    return local_time(ctx, node, path)


def duration(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    m = _DURATION.match(value)
    if not m:
        ctx.fail(node, path, f"{value!r} is not an ISO 8601 duration.", "write e.g. PT1H, PT45M or PT1H30M.")
        raise Invalid
    d, h, mi, s = (int(g or 0) for g in m.groups())
    if d * 86400 + h * 3600 + mi * 60 + s > MAX_DURATION_DAYS * 86400:
        ctx.fail(node, path, f"the duration {value} is longer than {MAX_DURATION_DAYS // 366} years.",
                 "check it; give long runs as start and end dates instead.")
        raise Invalid
    return value


def timezone(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    try:
        if not re.fullmatch(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*", value):
            raise ValueError
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError, OSError):
        ctx.fail(node, path, f"{value!r} is not an IANA time zone.",
                 "write a zone name such as Australia/Sydney or America/Chicago, or use 'offset' for a fixed UTC offset.")
        raise Invalid from None
    return value


def offset(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    m = _OFFSET.match(value)
    if not m or int(m.group(2)) > 14 or int(m.group(3)) > 59:
        ctx.fail(node, path, f"{value!r} is not a UTC offset.", 'write it as "+HH:MM" or "-HH:MM" in quotes, e.g. "-04:00".')
        raise Invalid
    return value


def language(ctx: Ctx, node: Node, path: str) -> str:
    value = line(ctx, node, path)
    if not _LANG.match(value):
        ctx.fail(node, path, f"{value!r} is not a language tag.", "write a BCP 47 tag such as en, fr or pt-BR.")
        raise Invalid
    return value


def boolean(ctx: Ctx, node: Node, path: str) -> bool:
    value = line(ctx, node, path).lower()
    if value not in ("true", "false", "yes", "no"):
        ctx.fail(node, path, f"{value!r} is not true or false.", "write true or false.")
        raise Invalid
    return value in ("true", "yes")


def count(ctx: Ctx, node: Node, path: str) -> int:
    value = line(ctx, node, path)
    if not re.fullmatch(r"\d{1,9}", value) or int(value) == 0:
        ctx.fail(node, path, f"{value!r} is not a positive whole number.", "write a number such as 70.")
        raise Invalid
    return int(value)


def money(ctx: Ctx, node: Node, path: str) -> Decimal:
    value = line(ctx, node, path)
    try:
        amount = Decimal(value)
        if not amount.is_finite() or amount < 0 or not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", value):
            raise InvalidOperation
    except InvalidOperation:
        ctx.fail(node, path, f"{value!r} is not a price.", "write an amount such as 10 or 12.50, and the currency in 'currency'.")
        raise Invalid from None
    return amount


def pattern(regex: re.Pattern[str], what: str, example: str, check: Callable[[str], bool] = lambda v: True) -> Conv:
    def conv(ctx: Ctx, node: Node, path: str) -> str:
        value = line(ctx, node, path)
        if not regex.match(value) or not check(value):
            ctx.fail(node, path, f"{value!r} is not a valid {what}.", f"write it like {example}.")
            raise Invalid
        return value
    return conv


def _orcid_ok(value: str) -> bool:
    digits = value.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def _ror_ok(value: str) -> bool:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    number = 0
    for ch in value[:7]:
        number = number * 32 + alphabet.index(ch)
    return int(value[7:]) == 98 - (number * 100) % 97


def enum(*values: str) -> Conv:
    def conv(ctx: Ctx, node: Node, path: str) -> str:
        value = line(ctx, node, path)
        if value not in values:
            close = difflib.get_close_matches(value, values, n=1)
            ctx.fail(node, path, f"{value!r} is not allowed here.",
                     (f"did you mean {close[0]!r}? " if close else "") + "Use one of: " + ", ".join(values) + ".")
            raise Invalid
        return value
    return conv


def list_of(conv: Conv) -> Conv:
    def read(ctx: Ctx, node: Node, path: str) -> list[Any]:
        _walk_check(ctx, node, path)
        if isinstance(node, ScalarNode):  # a lone value is a list of one
            return [conv(ctx, node, path)]
        if not isinstance(node, SequenceNode):
            ctx.fail(node, path, "expected a list.", "write a YAML list: [a, b] or one '- item' per line.")
            raise Invalid
        out = []
        for i, item in enumerate(node.value):
            try:
                out.append(conv(ctx, item, f"{path}[{i}]"))
            except Invalid:
                pass
        return out
    return read


def mapping_of(conv: Conv) -> Conv:
    def read(ctx: Ctx, node: Node, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, (knode, vnode) in _pairs(ctx, node, path).items():
            try:
                out[key] = conv(ctx, vnode, f"{path}.{key}")
            except Invalid:
                pass
        return out
    return read


def _pairs(ctx: Ctx, node: Node, path: str) -> dict[str, tuple[Node, Node]]:
    _walk_check(ctx, node, path)
    if not isinstance(node, MappingNode):
        ctx.fail(node, path or "record", "expected a mapping of fields.", "write 'field: value' lines.")
        raise Invalid
    pairs: dict[str, tuple[Node, Node]] = {}
    for knode, vnode in node.value:
        key = scalar(ctx, knode, path or "key")
        if key is None:
            ctx.fail(knode, path, "a field has no name.", "write 'field: value'.")
            continue
        if key in pairs:
            ctx.fail(knode, f"{path}.{key}" if path else key, "this field is given twice.",
                     "keep one of the two; YAML would silently drop the first.")
            continue
        pairs[key] = (knode, vnode)
    return pairs


# ---------------------------------------------------------------- record specs

Spec = dict[str, Conv]


def nested(cls: type, spec: Spec, required: tuple[str, ...] = ()) -> Conv:
    """A converter for a sub-mapping such as an address or a reference."""
    def read(ctx: Ctx, node: Node, path: str) -> Any:
        values = _fields(ctx, node, path, spec, required)
        return cls(loc=ctx.loc(node), **values)
    return read


def _fields(ctx: Ctx, node: Node, path: str, spec: Spec, required: tuple[str, ...],
            locs: dict[str, Location] | None = None,
            pairs: dict[str, tuple[Node, Node]] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if pairs is None:
        pairs = _pairs(ctx, node, path)
    prefix = f"{path}." if path else ""
    for key, (knode, vnode) in pairs.items():
        conv = spec.get(key)
        if conv is None:
            close = difflib.get_close_matches(key, list(spec), n=1)
            ctx.fail(knode, prefix + key, "unknown field.",
                     f"did you mean {close[0]!r}?" if close else "allowed fields: " + ", ".join(sorted(spec)) + ".")
            continue
        try:
            value = conv(ctx, vnode, prefix + key)
        except Invalid:
            continue
        if value is None:
            continue
        values[key] = value
        if locs is not None:
            locs[key] = ctx.loc(vnode)
    for key in required:
        if key not in values and key in pairs:
            continue  # already reported as invalid
        if key not in values:
            ctx.fail(node, prefix + key, "this required field is missing.", f"add '{key}:'.")
    return values


def media(ctx: Ctx, node: Node, path: str) -> R.Media | None:
    if isinstance(node, ScalarNode) and not (node.tag == "tag:yaml.org,2002:null" and node.style is None):
        if boolean(ctx, node, path):
            return R.Media(loc=ctx.loc(node))
        return None
    media_: R.Media = nested(R.Media, {"url": url})(ctx, node, path)
    return media_


# Converters by the names lod.model.kinds gives them; the record specs are derived from that registry.
NAMED: dict[str, Conv] = {
    "slug": slug, "line": line, "text": text, "url": url, "a_date": a_date, "local_time": local_time,
    "end_time": end_time, "duration": duration, "timezone": timezone, "offset": offset, "language": language,
    "boolean": boolean, "count": count, "money": money, "media": media,
    "wikidata": pattern(_WIKIDATA, "Wikidata id", "Q42"),
    "orcid": pattern(_ORCID, "ORCID iD", "0000-0002-1825-0097", _orcid_ok),
    "ror": pattern(_ROR, "ROR id", "0190ak572 (without https://ror.org/)", _ror_ok),
    "currency": pattern(_CURRENCY, "ISO 4217 currency code", "USD or EUR"),
    "year": pattern(re.compile(r"^\d{4}$"), "year", "2024"),
    "doi": pattern(re.compile(r'^10\.\d{4,9}/[^\s<>"{}|\\^`\x7f-\x9f' + BIDI_CONTROLS + ']+$'), "DOI",
                   "10.1126/science.adi5639 (without https://doi.org/)"),
    "children": lambda c, n, p: n,  # records written inline: lod.loading.files reads them as records of their own
}


def converter(name: str, f: K.Field) -> Conv:
    """The converter lod.model.kinds names *name* for the field *f* (``list:``, ``map:``, ``part:`` and ``enum`` composed)."""
    if name.startswith("list:"):
        return list_of(converter(name[5:], f))
    if name.startswith("map:"):
        return mapping_of(converter(name[4:], f))
    if name.startswith("part:"):
        part = K.PARTS[name[5:]]
        return nested(getattr(R, part.record), {pf.name: converter(pf.conv, pf) for pf in part.fields}, part.required)
    if name == "enum":
        return enum(*f.values)
    return NAMED[name]


SPECS: dict[str, tuple[type, Spec, tuple[str, ...]]] = {
    k.name: (getattr(R, k.record), {f.name: converter(f.conv, f) for f in k.fields}, k.required)
    for k in K.RECORD_KINDS if k.record is not None}
SITE: Spec = {"title": line, "description": text, "base_url": base_url, "license": url, "publisher": line,
              # how per-resource documents are published (lod.publishing.documents.MODES)
              "documents": enum("files", "served")}
TOP_LEVEL = K.TOP_LEVEL
TABLES = K.TABLES


def parse_local(value: str) -> tuple[date, tuple[int, int, int] | None]:
    """Split a checked local time string into its date and (hour, minute, second), or None for a bare date."""
    m = _LOCAL.match(value)
    if not m:
        raise ValueError(value)
    day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m.group(4) is None:
        return day, None
    hms = (int(m.group(4)), int(m.group(5)), int(m.group(6) or 0))
    if hms[0] > 23 or hms[1] > 59 or hms[2] > 59:
        raise ValueError(value)
    return day, hms


# Field names that exist on records, for checking the keys of 'inferred'; cached, since
# resolve asks once per record and dataclasses.fields() walks every field each time.
def field_names(cls: type) -> frozenset[str]:
    """The field names of a record class."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in dc_fields(cls))
    return names


_FIELD_NAMES: dict[type, frozenset[str]] = {}
