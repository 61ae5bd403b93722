"""In-place edits of a hand-written YAML file: add keys to a record, replace values, append to lists.

``lod import`` updates talks that live in files written by hand. Re-dumping such a file
would lose its comments, quoting, flow lists and blank lines, so every edit here is a
splice of the original text at the positions PyYAML's composer reports: bytes outside the
edited spans never change. After splicing, the text is parsed again and compared with the
intended values; an edit that would not read back exactly as intended raises EditFailed
rather than produce a file that means something else.
"""

from __future__ import annotations

import io

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class EditFailed(Exception):
    """An in-place edit could not be made (or would not read back as intended)."""


class Dumper(yaml.SafeDumper):
    """Block style, multi-line text as literal blocks, sequences indented under their key (``  - a``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Our files indent sequences under their key; PyYAML's default writes them flush.
        super().increase_indent(flow, False)


def represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text as a literal block (``|``) when it reads back unchanged, else PyYAML's choice."""
    style = "|" if "\n" in value and not any(l != l.rstrip() for l in value.split("\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, represent_text)


@dataclass
class RecordEdit:
    """The changes to one record, found by the line and column (1-based) where its mapping starts."""

    line: int
    column: int
    add: dict[str, Any] = field(default_factory=dict)
    replace: dict[str, Any] = field(default_factory=dict)
    append: dict[str, list[Any]] = field(default_factory=dict)


def render(key: str, value: Any, indent: int) -> str:
    """``key: value`` as block YAML indented by *indent* spaces, lists and mappings of scalars in flow style."""
    stream = io.StringIO()
    dumper = Dumper(stream, default_flow_style=None, allow_unicode=True, width=100, sort_keys=False)
    dumper.open()
    node = dumper.represent_data({key: value})
    node.flow_style = False  # type: ignore[attr-defined]  # the record's own key is a block line; only the value may be a flow list
    dumper.serialize(node)
    dumper.close()
    dumper.dispose()
    text = stream.getvalue()
    return "".join(" " * indent + ln if ln.strip() else ln for ln in text.splitlines(keepends=True))


def flow(value: Any) -> str:
    """One value as a flow item, e.g. ``indico-indico`` or ``'2024'``."""
    text = yaml.dump([value], Dumper=Dumper, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.strip()[1:-1]


def apply(text: str, edits: list[RecordEdit], file: str = "") -> str:
    """*text* with *edits* spliced in; everything outside the edited spans is kept byte for byte."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        expected = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EditFailed(f"{file}: cannot read the file to edit it ({exc})") from None
    found: dict[tuple[int, int], tuple[MappingNode, list[Any]]] = {}
    _index(root, [], found)
    splices: list[tuple[int, int, str, int]] = []  # start, end, new text, indentation
    for e in edits:
        if (e.line, e.column) not in found:
            raise EditFailed(f"{file}:{e.line}:{e.column}: no record starts here")
        node, path = found[(e.line, e.column)]
        target = expected
        for step in path:
            target = target[step]
        if node.flow_style:
            raise EditFailed(f"{file}:{e.line}:{e.column}: the record is written on one line ({{…}}), "
                             "which cannot be edited in place")
        pairs = {k.value: (k, v) for k, v in node.value if isinstance(k, ScalarNode)}
        adds = dict(e.add)
        for key, value in e.replace.items():
            if key not in pairs:
                adds[key] = value
                continue
            knode, vnode = pairs[key]
            tail = render(key, value, node.start_mark.column)[node.start_mark.column + len(key):].rstrip("\n")
            splices.append((knode.end_mark.index, _content_end(text, vnode), tail, node.start_mark.column))
            target[key] = value
        for key, items in e.append.items():
            if key not in pairs:
                adds[key] = list(items)
                continue
            if not isinstance(pairs[key][1], SequenceNode):
                raise EditFailed(f"{file}:{e.line}:{e.column}: field {key} is not a list")
            seq = pairs[key][1]
            if seq.flow_style:
                at = seq.end_mark.index - 1  # the closing bracket
                sep = ", " if seq.value else ""
                splices.append((at, at, sep + ", ".join(flow(i) for i in items), seq.start_mark.column))
            else:
                at = _line_end(text, _content_end(text, seq))
                pad = " " * seq.start_mark.column
                splices.append((at, at, _nl(text, at) + "".join(f"{pad}- {flow(i)}\n" for i in items),
                                seq.start_mark.column))
            target[key] = [*target[key], *items]
        if adds:
            at = _line_end(text, _content_end(text, node))
            body = "".join(render(k, v, node.start_mark.column) for k, v in adds.items())
            splices.append((at, at, _nl(text, at) + body, node.start_mark.column))
            target.update(adds)
    if "\r\n" in text:  # keep a Windows file's line breaks
        splices = [(a, b, new.replace("\r\n", "\n").replace("\n", "\r\n"), c) for a, b, new, c in splices]
    out = text
    last = len(text) + 1
    # From the end backwards, so earlier positions stay valid. At one position (a record's
    # end is also its last nested record's end) the deeper text must come first, and among
    # equals the edit listed first: those are spliced in last.
    order = sorted(range(len(splices)), key=lambda i: (splices[i][0], splices[i][1], -splices[i][3], i),
                   reverse=True)
    for start, end, new, _ in (splices[i] for i in order):
        if end > last:
            raise EditFailed(f"{file}: two edits overlap")
        out = out[:start] + new + out[end:]
        last = start
    try:
        again = yaml.safe_load(out)
    except yaml.YAMLError as exc:
        raise EditFailed(f"{file}: the edited file would not be valid YAML ({exc})") from None
    if again != expected:
        raise EditFailed(f"{file}: the edited file would not read back as intended")
    return out


def _index(node: Node | None, path: list[Any], found: dict[tuple[int, int], tuple[MappingNode, list[Any]]]) -> None:
    """Every mapping of the document by where it starts, with its path of keys and indexes."""
    if isinstance(node, MappingNode):
        found[(node.start_mark.line + 1, node.start_mark.column + 1)] = (node, path)
        for k, v in node.value:
            _index(v, [*path, k.value], found)
    elif isinstance(node, SequenceNode):
        for i, v in enumerate(node.value):
            _index(v, [*path, i], found)


def _content_end(text: str, node: Node) -> int:
    """Where a value's own text ends: a block value's end mark also covers blank lines and comments after it."""
    if isinstance(node, ScalarNode):
        if node.style in ("|", ">"):
            span = text[node.start_mark.index:node.end_mark.index]
            return node.start_mark.index + len(span.rstrip())
        return int(node.end_mark.index)
    if getattr(node, "flow_style", False) or not node.value:
        return int(node.end_mark.index)
    last = node.value[-1]
    return _content_end(text, last[1] if isinstance(node, MappingNode) else last)


def _line_end(text: str, at: int) -> int:
    """The start of the line after *at* (or the end of the text)."""
    nl = text.find("\n", at)
    return len(text) if nl < 0 else nl + 1


def _nl(text: str, at: int) -> str:
    """A line break to insert first when *at* is the end of a file without a final one."""
    return "\n" if at == len(text) and text and not text.endswith("\n") else ""
