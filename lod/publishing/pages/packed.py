"""Kept HTML parts held small: deflated UTF-8 against a dictionary of the first parts made.

A page worker keeps every talk's list item it made for the pages that list it again
(``lod.publishing.pages.helpers.Fragments``). As ``str`` they are large: one character of
the data outside Latin-1 (an en dash, a mathematical letter) makes CPython store the whole
item at two or four bytes a character. At 10k talks a process kept 37k items in 67 MB;
deflated against the first items, the same items take 6.6 MB, for about 8 µs to pack one and
1.5 µs to unpack it on each use (BENCHMARKS.md, "Where the memory goes at 100k").
"""

from __future__ import annotations

import zlib

SEED = 4  # parts kept as they are, then joined into the dictionary the later ones are deflated against
LEVEL = 6
# zlib's memory level: its hash table and buffers, made anew for every part. At 8 or 9 (zlib's
# default, and what was used) they pass malloc's threshold for mmap, so every part cost an mmap,
# the kernel zeroing the pages and a munmap: 58-96 µs against 8 µs at 4, for the same bytes on
# parts of a few hundred (Packer.pack was 17 % of the 1M build's organisation pages; BENCHMARKS.md).
MEM_LEVEL = 4


class Packer:
    """Packs text into bytes and back, the same text out as in (``unpack(pack(s)) == s``).

    The dictionary is taken from the first ``SEED`` parts packed and never changes after: a
    forked process that inherits a packer with its dictionary can unpack the parts packed
    before the fork, and one forked before has its own dictionary for its own parts.
    """

    def __init__(self) -> None:
        self._zdict: bytes | None = None
        self._seed: list[bytes] = []

    def pack(self, text: str) -> str | bytes:
        """*text*, deflated; the first few parts as they are (they make the dictionary)."""
        data = text.encode("utf-8")
        if self._zdict is None:
            self._seed.append(data)
            if len(self._seed) < SEED:
                return text
            self._zdict, self._seed = b"".join(self._seed), []
        deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, self._zdict)
        return deflate.compress(data) + deflate.flush()

    def unpack(self, packed: str | bytes) -> str:
        """The text *packed* was made of."""
        if isinstance(packed, str):
            return packed
        assert self._zdict is not None  # bytes are made only once the dictionary is set
        inflate = zlib.decompressobj(-zlib.MAX_WBITS, self._zdict)
        return (inflate.decompress(packed) + inflate.flush()).decode("utf-8")
