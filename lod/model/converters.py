"""The converters of single field values, by name, and the record specs made of them.

Each converter reads one node (``lod.model.fields.scalar``) and checks it as one kind of
value: text, an id, a URL, a date, a local time, a duration, a zone, a language, an ORCID
… ``NAMED`` gives them the names ``lod.model.kinds`` uses, and ``SPECS`` (per record
kind) and ``SITE`` (the site block) are derived from that registry: what
``lod.loading.files`` reads every record with. ``lod.loading.resolve`` uses parse_local.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node, ScalarNode

from lod.model import kinds as K
from lod.model import records as R
from lod.errors import ConfigError
from lod.model.fields import Conv, Ctx, Invalid, Spec, list_of, mapping_of, nested, scalar
from lod.model.iritext import BIDI_CONTROLS, SLUG_RE, bidi_control, is_valid_iri, normalise_base_url

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

