"""A file of the site read through a memory map, mapped again whenever a build replaces it.

The server's readers of the files that stand in for many small ones (``documents.Documents``
for the dumps' offset index, ``calendar_pack.Calendars`` for the calendar pack) share this:
the file is stat'ed on each use and mapped again when its inode, time or size changed.
"""

from __future__ import annotations

import mmap
from pathlib import Path


class MappedFile:
    """``root / name`` mapped lazily; a subclass's ``_load`` maps it and reads its layout."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self._key: tuple[int, int, int] | None = None
        self._map: mmap.mmap | None = None
        self.mtime = 0.0

    def _open(self) -> mmap.mmap | None:
        """The current file's map (None while there is no file), mapped again if it was replaced."""
        path = self.root / self.name
        try:
            st = path.stat()
        except OSError:
            self._key, self._map = None, None
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._key:
            return self._map
        mm = self._load(path, st.st_size)
        self._map, self._key, self.mtime = mm, key, st.st_mtime
        return mm

    def _load(self, path: Path, size: int) -> mmap.mmap:
        """Map *path* (of *size* bytes) and read its layout; raise the subclass's error if it is not one."""
        raise NotImplementedError
