"""Reading a record's fields from YAML nodes: the walk every field converter shares.

Where an error is (``Ctx``: the file, the record, the error list), the node budget that
stops an alias bomb (``Budget``), the checked raw text of a scalar, and the structural
converters: lists, mappings, nested records and a record's fields against its spec. Each
converter reads one node for one field and either returns its value or records a
RecordError naming the file, line, column and field and raises Invalid. The converters of
single values, and the record specs made of them, are in ``lod.model.converters``;
``lod.loading.files`` walks the files with both, ``lod.loading.resolve`` uses field_names.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Set as AbstractSet
from dataclasses import fields as dc_fields
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lod.errors import Location, RecordError
from lod.model.records import field_numbers

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


def _location_fast(file: str, line: int, column: int) -> Location:
    """Location(file, line, column) with object.__setattr__ bound once: one Location is made for
    every record, every part and every error, and the frozen dataclass's __init__ looks it up
    per field. (A field's own place is kept in ``Record.locs``, packed.)"""
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
            locs: dict[str, tuple[int, int]] | None = None,
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
        values[key] = _shared(value)
        if locs is not None:
            mark = vnode.start_mark
            locs[key] = (mark.line + 1, mark.column + 1)  # packed into Record.locs (records.field_places)
    for key in required:
        if key not in values and key in pairs:
            continue  # already reported as invalid
        if key not in values:
            ctx.fail(node, prefix + key, "this required field is missing.", f"add '{key}:'.")
    return values


# Strings up to this long are interned as they are read: ids of people and series, keywords,
# durations, languages, statuses and source ids recur in every record that names them (at 10k
# synthetic talks, 15 % of the records' string memory was such repeats). One file's records are
# pickled together from the load's worker, which keeps one copy of each such string a file.
SHARED_LEN = 64


def _shared(value: Any) -> Any:
    """*value*, its short strings (or a list's) replaced by the interned ones (``SHARED_LEN``)."""
    if type(value) is str:
        return _intern(value) if len(value) <= SHARED_LEN else value
    if type(value) is list and value and type(value[0]) is str:
        return [_intern(v) if type(v) is str and len(v) <= SHARED_LEN else v for v in value]
    return value


_intern = sys.intern


def field_names(cls: type) -> AbstractSet[str]:
    """The field names of a record class (for checking the keys of 'inferred'), from the one
    cache of them (``records.field_numbers``)."""
    return field_numbers(cls).keys()
