"""The large dictionaries of the build state's ``extra`` values, kept one row per entry.

Most of ``State.extra`` is a few dictionaries with an entry per talk, page or query: the index
page's list items and every page's sitemap lastmod (``pages.stage.PagesCache``), each talk's
contribution to the search index and its number (``pages.search.SearchState``), and the digest of
every query a page read (the ``answers``). At 100k talks that is 1.2M entries, 210 MB pickled.
Kept whole, each in one pickled row, a rebuild unpickled them all and pickled them all again to
change a handful of entries. Here each entry is a row of the ``parts`` table, keyed by the part
and the entry's key, and a rebuild writes only the entries that changed (``diff``).

``PARTS`` is the one table of them: which value of ``extra`` (and which of its attributes, when
it is a dataclass) is kept as rows, how its keys are written, and whether its values are kept
as they are (bytes, text, integers: SQLite gives them back unchanged) or pickled. The rest of
each value (the dataclass with those attributes emptied; for a value that is all rows,
``PARTED``) stays in the ``extra`` table as before.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lod.publishing.links import key_text, text_key

PARTED = "lod:parts"  # stands in the extra table for a value whose entries are all in parts


@dataclass(frozen=True)
class Part:
    """One dictionary of ``State.extra`` kept one row per entry."""

    name: str  # its rows' part in the parts table
    extra: str  # the key of State.extra holding it
    attribute: str | None  # the dataclass attribute holding it; None: the value is the dictionary
    pairs: bool  # its keys are (kind, id) pairs, written as ``key_text``; else strings
    raw: bool  # its values are stored as they are (bytes, str, int); else pickled


PARTS = (
    Part("answers", "answers", None, pairs=True, raw=True),
    Part("pages.items", "pages", "items", pairs=True, raw=False),
    Part("pages.lastmods", "pages", "lastmods", pairs=False, raw=True),
    Part("search.talks", "search", "talks", pairs=False, raw=False),
    Part("search.numbers", "search", "numbers", pairs=False, raw=True),
)
_BY_NAME = {part.name: part for part in PARTS}

Row = tuple[str, str, Any]  # (part, key, value) as stored


def split(extra: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Mapping[Any, Any]]]:
    """*extra* with its parts taken out (a value that is all rows by ``PARTED``, a dataclass
    by a copy with those attributes empty), and the parts' dictionaries by part name. A value
    that is not of the part's shape (None, or from another stage) stays whole."""
    rest = dict(extra)
    parts: dict[str, Mapping[Any, Any]] = {}
    emptied: dict[str, dict[str, Any]] = {}
    for part in PARTS:
        value = extra.get(part.extra)
        if part.attribute is None:
            if isinstance(value, dict):
                parts[part.name] = value
                rest[part.extra] = PARTED
        elif dataclasses.is_dataclass(value) and isinstance(getattr(value, part.attribute, None), dict):
            parts[part.name] = getattr(value, part.attribute)
            emptied.setdefault(part.extra, {})[part.attribute] = {}
    for name, attributes in emptied.items():
        rest[name] = dataclasses.replace(extra[name], **attributes)
    return rest, parts


def join(extra: dict[str, Any], parts: Mapping[str, dict[Any, Any]]) -> None:
    """Put the parts' dictionaries (as ``read`` gives them) back into *extra*, as ``split`` took them out."""
    for part in PARTS:
        value = extra.get(part.extra)
        rows = parts.get(part.name, {})
        if part.attribute is None:
            if isinstance(value, str) and value == PARTED:
                extra[part.extra] = rows
        elif dataclasses.is_dataclass(value) and hasattr(value, part.attribute):
            setattr(value, part.attribute, rows)


def read(rows: Iterable[Row]) -> dict[str, dict[Any, Any]]:
    """The parts' dictionaries from their stored rows (raises what ``pickle`` raises on a damaged row)."""
    out: dict[str, dict[Any, Any]] = {part.name: {} for part in PARTS}
    for name, key, value in rows:
        part = _BY_NAME.get(name)
        if part is None:  # a part this lod does not keep (it would not have written it): damaged
            raise ValueError(f"an unknown part {name!r} in the parts table")
        out[name][text_key(key) if part.pairs else key] = value if part.raw else pickle.loads(value)
    return out


def rows(parts: Mapping[str, Mapping[Any, Any]]) -> Iterable[Row]:
    """Every entry of *parts* as a row to store."""
    for name, entries in parts.items():
        part = _BY_NAME[name]
        for key, value in entries.items():
            yield _row(part, key, value)


def _row(part: Part, key: Any, value: Any) -> Row:
    return (part.name, key_text(key) if part.pairs else key,
            value if part.raw else pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def diff(old: Mapping[str, Mapping[Any, Any]], new: Mapping[str, Mapping[Any, Any]]
         ) -> tuple[list[Row], list[tuple[str, str]]]:
    """The rows to write and the (part, key) rows to delete to turn *old* (as read) into *new*.
    An entry kept from the previous build is the object read, so most compare by identity."""
    upserts: list[Row] = []
    deletes: list[tuple[str, str]] = []
    missing = object()
    for part in PARTS:
        before, after = old.get(part.name, {}), new.get(part.name, {})
        for key, value in after.items():
            was = before.get(key, missing)
            if was is value or (was is not missing and was == value):
                continue
            upserts.append(_row(part, key, value))
        deletes.extend((part.name, key_text(key) if part.pairs else key) for key in before if key not in after)
    return upserts, deletes
