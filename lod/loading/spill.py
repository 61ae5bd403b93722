"""Blobs kept on disk from when they are made: the data files' parses, which only the state needs.

A build pickles each data file it parses for the state it leaves (``lod.loading.stage``: the
next rebuild starts from these), but writes the state only at the very end, after the pages.
Held in memory, those pickles sat in the main process through every later stage, and in
the page workers forked from it (about 19 MB at 10k talks). A ``Spill`` writes each one to
a temporary file as it is made, keeping only its offset and length, and reads it back when
the state is written (``lod.publishing.state``, row by row).

The file has no name: it is made with ``tempfile.TemporaryFile`` (``O_TMPFILE`` on Linux,
else created and unlinked at once) in the folder it is given (beside the site), so nothing
can publish it, and the kernel frees it when it is closed or the build dies, ``kill -9``
included. It is read and written with ``os.pread``/``os.pwrite`` at offsets the Spill
keeps, with no buffer: a page worker forked from the build shares the descriptor and has
nothing of it to flush. When it cannot be made or written (a full disk), ``SpillError``: the
build reports it as a site it could not write, before anything was published.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from types import TracebackType


class SpillError(OSError):
    """The build's temporary file could not be made or written (args as OSError's)."""


class Spill(MutableMapping[str, bytes]):
    """A mapping of names to blobs held in an unnamed temporary file in *folder*, or the nearest
    folder above it that exists (none is made: a failed build leaves nothing behind); ``close`` frees it."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        if folder is not None:  # beside the site: its folder, or the nearest one above that exists
            folder = next((f for f in [Path(folder), *Path(folder).parents] if f.is_dir()), Path(folder))
        try:
            self._file = tempfile.TemporaryFile(dir=folder, prefix=".lod-spill-", buffering=0)
        except OSError as exc:
            raise SpillError(exc.errno, exc.strerror, str(folder)) from None
        self.folder = folder  # where it is: another spill of the same build goes beside it
        self._fd = self._file.fileno()
        self._where: dict[str, tuple[int, int]] = {}  # name -> (offset, length)
        self._end = 0

    @property
    def closed(self) -> bool:
        """Whether the file is closed (and so gone)."""
        return bool(self._file.closed)

    def __setitem__(self, name: str, blob: bytes) -> None:
        view = memoryview(blob)
        offset, done = self._end, 0
        try:
            while done < len(view):
                done += os.pwrite(self._fd, view[done:], offset + done)
        except OSError as exc:
            raise SpillError(exc.errno, exc.strerror, str(self.folder)) from None
        self._where[name] = (offset, len(view))
        self._end += len(view)  # a name written again leaves its old bytes unread, until close

    def __getitem__(self, name: str) -> bytes:
        offset, length = self._where[name]
        parts, done = [], 0
        while done < length:
            part = os.pread(self._fd, length - done, offset + done)
            if not part:
                raise OSError(f"the build's temporary file ended early reading {name}")
            parts.append(part)
            done += len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def __delitem__(self, name: str) -> None:
        del self._where[name]

    def __contains__(self, name: object) -> bool:
        return name in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def size(self) -> int:
        """The bytes written to the file."""
        return self._end

    def layout(self) -> tuple[dict[str, tuple[int, int]], int]:
        """Where each blob is, and where the file ends: for ``adopt`` in a process that shares the file."""
        return self._where, self._end

    def adopt(self, where: dict[str, tuple[int, int]], end: int) -> None:
        """Take the ``layout`` of this file as a forked process left it, having written through the
        same descriptor (``lod.publishing.describing``), in place of what this copy knew."""
        self._where, self._end = where, end

    def close(self) -> None:
        """Close the file, which frees it; the blobs cannot be read after."""
        self._file.close()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
