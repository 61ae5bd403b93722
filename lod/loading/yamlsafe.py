"""Safe YAML composition: text to PyYAML nodes, never to Python objects.

PyYAML's pure-Python composer is the reference: no aliases, collections nested at
most MAX_DEPTH levels, and every refusal a RecordError with the file, line and column
(tags, duplicate keys and node budgets are checked by ``lod.loading.files`` on the nodes). libyaml composes about ten times faster,
so it is used first when the text cannot reach any of those refusals; libyaml
recurses in C, so text that might nest deeply never reaches it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import (DocumentEndEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
                         SequenceStartEvent, StreamEndEvent)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lod.errors import Location, RecordError, RecordErrors

MAX_DEPTH = 50  # nesting of YAML collections; records need about 6


class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer, refusing aliases: records never need them and they make alias bombs."""

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"the alias *{event.anchor} is not allowed", event.start_mark)
        # PyYAML composes recursively: "[[[[…" thousands deep would end in a RecursionError.
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"the values nest more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_CParser: Any = getattr(getattr(yaml, "_yaml", None), "CParser", None) if getattr(yaml, "__with_libyaml__", False) else None
_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = yaml.SafeLoader.yaml_implicit_resolvers
_STR_TAG: str = yaml.SafeLoader.DEFAULT_SCALAR_TAG
_SEQ_TAG: str = yaml.SafeLoader.DEFAULT_SEQUENCE_TAG
_MAP_TAG: str = yaml.SafeLoader.DEFAULT_MAPPING_TAG


# Per first character, the implicit resolvers SafeLoader tries (with the wildcard ones after),
# as BaseResolver.resolve does; most values start with a character that has none.
_BY_FIRST: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    first: list(_RESOLVERS.get(first, ())) + list(_RESOLVERS.get(None, ())) for first in _RESOLVERS if first is not None}
_WILDCARD: list[tuple[str, re.Pattern[str]]] = list(_RESOLVERS.get(None, ()))


def _scalar_tag(value: str, plain: bool) -> str:
    """The tag SafeLoader resolves for an untagged scalar: ``BaseResolver.resolve`` inlined
    (its path resolvers are unused by SafeLoader), from the same table of implicit resolvers."""
    if plain:
        for tag, regexp in _BY_FIRST.get(value[0] if value else "", _WILDCARD):
            if regexp.match(value):
                return tag
    return _STR_TAG


def _compose_events(text: str) -> Node | None | bool:
    """Compose libyaml's parse events into PyYAML nodes, or False when the pure-Python composer must decide.

    Does what PyYAML's Composer does, iteratively: libyaml's own composer (CSafeLoader) builds the
    same nodes but is about four times slower than its event parser, and recurses in C. Anything
    the reference composer might refuse (an anchor or alias, nesting MAX_DEPTH deep, a second
    document, any error) returns False, so that refusals and their messages stay its own.
    """
    parser = _CParser(text)
    try:
        get = parser.get_event
        get()  # StreamStartEvent
        event = get()
        if isinstance(event, StreamEndEvent):
            return None
        # The open collection is kept in locals (the hot path is one scalar after another);
        # its enclosing ones wait on the stack.
        cur: Node | None = None  # the innermost open collection
        items: list[Any] = []  # its value
        seq = False  # whether it is a sequence
        key: Node | None = None  # in a mapping, the key awaiting its value
        depth = 0  # open collections
        stack: list[tuple[Node | None, list[Any], bool, Node | None]] = []
        node: Node
        while True:
            event = get()
            cls = type(event)
            if cls is ScalarEvent:
                if event.anchor is not None or depth >= MAX_DEPTH:
                    return False
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _scalar_tag(event.value, event.implicit[0])
                # libyaml calls the plain style '', PyYAML None; load.py tells plain nulls by None.
                node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style or None)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                if event.anchor is not None or depth >= MAX_DEPTH:
                    return False
                tag = event.tag
                mapping = cls is MappingStartEvent
                if tag is None or tag == "!":
                    tag = _MAP_TAG if mapping else _SEQ_TAG
                stack.append((cur, items, seq, key))
                cur = (MappingNode if mapping else SequenceNode)(tag, [], event.start_mark, None,
                                                                 flow_style=event.flow_style)
                items, seq, key = cur.value, not mapping, None
                depth += 1
                continue
            elif (cls is MappingEndEvent or cls is SequenceEndEvent) and cur is not None:
                node = cur
                node.end_mark = event.end_mark
                cur, items, seq, key = stack.pop()
                depth -= 1
            else:  # an alias, or a stream PyYAML would refuse
                return False
            if cur is None:
                root = node
                break
            if seq:
                items.append(node)
            elif key is None:
                key = node
            else:
                items.append((key, node))
                key = None
        if not isinstance(get(), DocumentEndEvent) or not isinstance(get(), StreamEndEvent):
            return False  # a second document: the reference composer says so
        return root
    except yaml.YAMLError:
        return False
    finally:
        parser.dispose()


_BRACKETS = re.compile(r"[\[\]{}]")
_INDENT_400 = " " * 400
# Block collections nest only by moving right: deeper indentation, or compact "- - -" / "? ? ?"
# runs (with tags or anchors between) at the start of a line.
_DEEP_BLOCK = re.compile(r"^[ \t]*(?:[-?:](?:[ \t]+[!&]\S*)*[ \t]+){40}", re.MULTILINE)


def _may_nest_deeply(text: str) -> bool:
    """True when *text* might nest deeper than MAX_DEPTH, so that libyaml never sees it.

    libyaml's parser slows down badly on hundreds of thousands of open brackets, and the
    reference composer refuses such nesting with a located error anyway. Brackets are counted
    without regard to quoting, so this over-estimates; such a file only takes the slower
    pure-Python path.
    """
    if text.count("[") + text.count("{") > MAX_DEPTH:  # else no bracket depth can pass MAX_DEPTH
        depth = 0
        for ch in "".join(_BRACKETS.findall(text)):  # only the brackets, in order
            if ch in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return True
            elif depth:
                depth -= 1
    # A line that starts with 400 spaces (a regular expression with ^ in MULTILINE mode is slower).
    if text.startswith(_INDENT_400) or "\n" + _INDENT_400 in text:
        return True
    return _DEEP_BLOCK.search(text) is not None


def _compose_fast(text: str) -> Node | None | bool:
    """Compose with libyaml's parser (about 10x faster), or False when the pure-Python composer must decide.

    libyaml builds the same nodes (tags come from the same resolvers, marks carry the same
    lines and columns). Anything unusual (characters PyYAML's reader refuses, an alias, any
    error) goes to the pure-Python path, so that errors and refusals stay exactly its own.
    """
    if _CParser is None or yaml.reader.Reader.NON_PRINTABLE.search(text) or _may_nest_deeply(text):
        return False
    return _compose_events(text)


def compose(text: str, file: str) -> Node | None:
    """Compose one YAML document into nodes (no Python objects are constructed)."""
    fast = _compose_fast(text)
    if fast is not False:
        assert fast is not True
        return fast
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # raised before any mark exists: locate it from the offset
        line_no = text[:exc.position].count("\n") + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise RecordErrors([RecordError(Location(file, line_no, column), "",
                                        f"the character U+{exc.character if isinstance(exc.character, int) else ord(exc.character):04X} is not allowed in YAML.",
                                        "remove it; only tabs and line breaks are allowed as control characters.")]) from None
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if problem.startswith("the values nest"):
            raise RecordErrors([RecordError(loc, "", f"{problem}.", "records nest a few levels at most; "
                                            "check the brackets near this line.")]) from None
        if problem.startswith("the alias"):
            raise RecordErrors([RecordError(loc, "", f"{problem}: YAML anchors and aliases are refused (they allow alias bombs).",
                                            "write the value out in full.")]) from None
        raise RecordErrors([RecordError(loc, "", f"YAML syntax error: {problem}.",
                                        "check the indentation and quoting near this line; quote values that contain ': ' or start with a special character.")]) from None
    except yaml.YAMLError as exc:
        raise RecordErrors([RecordError(Location(file), "", f"YAML error: {exc}.", "fix the YAML syntax.")]) from None
    finally:
        loader.dispose()

