"""Reading JSON with its path: every shape error names the JSON path and what was expected."""

from __future__ import annotations

import json
from typing import Any

from lod.importers.common import fail


class Node:
    """A JSON value with the path that leads to it ($.results[0].title)."""

    def __init__(self, value: Any, path: str, file: str) -> None:
        self.value = value
        self.path = path
        self.file = file

    def error(self, problem: str, fix: str) -> Exception:
        """An ImportFailed at this node."""
        return fail(f"{self.file}: {self.path}", problem, fix)

    def get(self, key: str) -> Node | None:
        """The member *key* of an object, or None when absent or null."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected an object, found {_kind(self.value)}.", "check that the file is the right export.")
        v = self.value.get(key)
        step = f".{key}" if key.isidentifier() else f"[{json.dumps(key, ensure_ascii=False)}]"
        return None if v is None else Node(v, self.path + step, self.file)

    def need(self, key: str) -> Node:
        """The member *key*, which must be there."""
        node = self.get(key)
        if node is None:
            raise self.error(f"the member {key!r} is missing.", "check that the file is the right export.")
        return node

    def items(self) -> list[Node]:
        """The elements of an array."""
        if not isinstance(self.value, list):
            raise self.error(f"expected an array, found {_kind(self.value)}.", "check that the file is the right export.")
        return [Node(v, f"{self.path}[{i}]", self.file) for i, v in enumerate(self.value)]

    def text(self, key: str) -> str | None:
        """The member *key* as stripped text, None when absent or empty."""
        node = self.get(key)
        if node is None:
            return None
        if isinstance(node.value, (dict, list)) or isinstance(node.value, bool):
            raise node.error(f"expected text, found {_kind(node.value)}.", "check that the file is the right export.")
        text = str(node.value).strip()
        return text or None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), "null")


def load_json(data: bytes, file: str) -> Node:
    """Parse JSON; a syntax error names its line and column."""
    try:
        return Node(json.loads(data.decode("utf-8-sig")), "$", file)
    except UnicodeDecodeError:
        raise fail(file, "the file is not UTF-8.", "save it as UTF-8.") from None
    except RecursionError:
        raise fail(file, "the JSON is nested too deeply.", "check that the file is the right export.") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{file}:{exc.lineno}:{exc.colno}", f"the JSON is broken: {exc.msg}.",
                   "download the export again; the file may be truncated.") from None
