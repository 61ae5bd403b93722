"""What one in-place publication may touch: the path checks of ``lod.publishing.journal``.

Everything that could make the apply of a committed journal fail half-way is refused here,
before the commit point, with a BuildError that names the path and says OUT is unchanged:
a path outside OUT (absolute, ``..``, through a symbolic link), a file beside OUT that is
not under OUT's parent or lies in a staging folder of the builds, a target that is a
folder, a path through a file of the current site, and two written paths of which one is
a folder of the other.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path

from lod.errors import BuildError


def staging_prefix(out: Path) -> str:
    """The name prefix of transaction staging folders beside *out* (not ``.OUT.tmp-`` nor ``.OUT.old``)."""
    return f".{out.name}.txn-"


def reserved(out: Path, name: str) -> bool:
    """Names beside *out* that the builds own: OUT, its staging folders and the full build's."""
    return (name == out.name or name.startswith(staging_prefix(out)) or name.startswith(f".{out.name}.tmp-")
            or name == f".{out.name}.old")


class Targets:
    """The checked targets of one transaction on *out*, each relative to OUT.parent.

    Remembers what each folder on the way was (a folder, missing, a link, a file) so that a
    transaction of many files in few folders stats each folder once.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.parent = out.parent
        self._kinds: dict[str, str] = {}  # checked folder (relative to OUT.parent) → dir|missing|link|file

    def refuse(self, verb: str, what: str, why: str) -> BuildError:
        """The error that refuses to *verb* the path *what* because *why*, saying OUT is unchanged."""
        return BuildError(f"refusing to {verb} {what!r}: {why}. Nothing was published and {self.out.name}/ "
                          "is unchanged.")

    def inside_out(self, rel: str, verb: str) -> str:
        """*rel* as a target relative to OUT.parent, if it names a file inside OUT."""
        if not isinstance(rel, str) or not rel:
            raise self.refuse(verb, str(rel), "a path inside the output folder must be a non-empty string")
        if rel.startswith("/"):
            raise self.refuse(verb, rel, f"it is an absolute path, not a path inside {self.out.name}/")
        parts = rel.split("/")
        if ".." in parts:
            raise self.refuse(verb, rel, f"'..' leads out of {self.out.name}/")
        if "" in parts or "." in parts or "\0" in rel:
            raise self.refuse(verb, rel, "an empty, '.' or NUL path segment")
        return f"{self.out.name}/{rel}"

    def beside_out(self, path: Path | str, verb: str) -> str:
        """*path* as a target relative to OUT.parent, if it names a file beside OUT (not in it)."""
        text = os.fspath(path)
        if not os.path.isabs(text):
            raise self.refuse(verb, text, f"a file beside {self.out.name}/ must be named by an absolute path")
        parts = text.split("/")
        if ".." in parts or "\0" in text:
            raise self.refuse(verb, text, f"'..' or NUL in a path beside {self.out.name}/")
        rel = os.path.relpath(os.path.normpath(text), self.parent)
        if rel.startswith("../") or rel in (".", ".."):
            raise self.refuse(verb, text, f"it is not under {self.parent}")
        first = rel.split("/")[0]
        if first == self.out.name:
            raise self.refuse(verb, text, f"it is inside {self.out.name}/; use write or delete")
        if reserved(self.out, first):
            raise self.refuse(verb, text, "it is in a staging folder of the builds")
        return rel

    def check(self, target: str, verb: str) -> None:
        """Refuse a target through a symbolic link or a file, or one that is a folder (before the commit point)."""
        parts = target.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            kind = self._kinds.get(folder)
            if kind is None:
                try:
                    mode = os.lstat(self.parent / folder).st_mode
                except FileNotFoundError:
                    kind = "missing"
                else:
                    if stat.S_ISLNK(mode):
                        kind = "link"
                    elif stat.S_ISDIR(mode):
                        kind = "dir"
                    else:
                        kind = "file"
                self._kinds[folder] = kind
            shown = self.shown(target)
            if kind == "link":
                raise self.refuse(verb, shown, f"{self.parent / folder} is a symbolic link, which could lead "
                                               "out of the output folder")
            if kind == "file":
                raise self.refuse(verb, shown, f"{self.parent / folder} is a file, not a folder")
            if kind == "missing":
                break
        try:
            mode = os.lstat(self.parent / target).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISDIR(mode):
            raise self.refuse(verb, self.shown(target), f"{self.parent / target} is a folder")

    def shown(self, target: str) -> str:
        """*target* as an error shows it: relative to OUT if inside it, else its absolute path."""
        prefix = self.out.name + "/"
        return target[len(prefix):] if target.startswith(prefix) else str(self.parent / target)

    def check_nesting(self, moves: Collection[str]) -> None:
        """Refuse two written paths of which one is a folder of the other (the apply could not do both)."""
        for target in moves:
            parts = target.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                if folder in moves:
                    raise self.refuse("write", self.shown(target),
                                      f"{self.shown(folder)!r} is written as a file in the same transaction")
