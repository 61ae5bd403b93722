"""Safe YAML composition: text to PyYAML nodes, never to Python objects.

PyYAML's pure-Python composer is the reference: no aliases, collections nested at
most MAX_DEPTH levels, and every refusal a RecordError with the file, line and column
(tags, duplicate keys and node budgets are checked by ``lod.load`` on the nodes). libyaml composes about ten times faster,
so it is used first when the text cannot reach any of those refusals; libyaml
recurses in C, so text that might nest deeply never reaches it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Location, RecordError, RecordErrors

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


_CLoader = getattr(yaml, "CSafeLoader", None)


def _normalise(root: Node) -> bool:
    """Give libyaml's nodes PyYAML's plain style (None, not ''); True when the pure-Python composer
    must decide instead: a node occurs twice (an alias) or the values nest deeper than MAX_DEPTH."""
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen or depth > MAX_DEPTH:
            return True
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.style == "":
                node.style = None
        elif isinstance(node, SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
    return False


_BRACKETS = re.compile(r"[\[\]{}]")
_DEEP_INDENT = re.compile(r"^ {400}", re.MULTILINE)
# Block collections nest only by moving right: deeper indentation, or compact "- - -" / "? ? ?"
# runs (with tags or anchors between) at the start of a line.
_DEEP_BLOCK = re.compile(r"^[ \t]*(?:[-?:](?:[ \t]+[!&]\S*)*[ \t]+){40}", re.MULTILINE)


def _may_nest_deeply(text: str) -> bool:
    """True when *text* might nest deeper than libyaml's recursive composer survives.

    libyaml composes recursively in C: a few hundred thousand open brackets overflow the C
    stack and kill the process, which no exception handler catches. Brackets are counted
    without regard to quoting, so this over-estimates; such a file only takes the slower
    pure-Python path, which refuses deep nesting with a located error.
    """
    depth = 0
    for m in _BRACKETS.finditer(text):
        depth += 1 if m.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
        depth = max(depth, 0)
    return _DEEP_INDENT.search(text) is not None or _DEEP_BLOCK.search(text) is not None


def _compose_fast(text: str) -> Node | None | bool:
    """Compose with libyaml (about 10x faster), or False when the pure-Python composer must decide.

    libyaml builds the same nodes (tags come from the same resolver, marks carry the same
    lines and columns). Anything unusual (characters PyYAML's reader refuses, an alias, any
    error) goes to the pure-Python path, so that errors and refusals stay exactly its own.
    """
    if _CLoader is None or yaml.reader.Reader.NON_PRINTABLE.search(text) or _may_nest_deeply(text):
        return False
    loader = _CLoader(text)
    try:
        node: Node | None = loader.get_single_node()
    except yaml.YAMLError:
        return False
    finally:
        loader.dispose()
    if node is not None and _normalise(node):
        return False
    return node


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

