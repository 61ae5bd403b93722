"""The state's ``extra`` values stored in parts: their large plain dicts a bucket of entries per row.

Each later stage keeps one value in ``State.extra`` (the pages cache, the search state, the
read-sets' answers, the record of what mapping read …). Stored whole, a rebuild rewrote every
one of them that changed at all: 23 MB at 10k talks after a title edit, pickled, put in the
journal and written to SQLite, for a few entries changed. So a value's large plain dicts (the
value itself when it is one, or the attributes of a plain object that are) are taken out and
stored in buckets of about ``PER_ROW`` entries, a row each of the ``parts`` table, keyed
``name<SEP>attribute<SEP>buckets<SEP>bucket``. What remains, the value's *shell*, is its row of
``extra``, with each dict's keys in order (the dict is made again in the order it had).

A rebuild writes a row when it differs from the row read (``same``): in bytes, then in what
they unpickle to (equal content pickles otherwise when it holds a set of strings, whose order
follows the process's hash seed). A key that falls in another bucket leaves its old bucket
changed too, so the rows always make exactly the new dicts. A class
with its own pickling (``__reduce__``, ``__getstate__``, ``__setstate__``, slots) is stored whole.
"""

from __future__ import annotations

import pickle
import zlib
from typing import Any

SEP = "\x1f"
SPLIT_MIN = 512  # a dict of fewer entries stays in its value's row
PER_ROW = 64  # entries per bucket, about (a power of two buckets)
SELF = ""  # the attribute name that stands for the value itself (a dict)

Layout = dict[str, tuple[int, list[Any]]]  # attribute -> (buckets, the dict's keys in order)
Where = dict[tuple[str, str], tuple[int, dict[Any, int]]]  # (name, attribute) -> (buckets, key -> its bucket)


def _pickled(value: Any) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _plain(cls: type) -> bool:
    """Whether instances of *cls* pickle as their ``__dict__`` (so taking attributes out and back is safe)."""
    return (cls.__reduce_ex__ is object.__reduce_ex__ and cls.__reduce__ is object.__reduce__
            and cls.__getstate__ is object.__getstate__ and not hasattr(cls, "__setstate__")
            and "__slots__" not in cls.__dict__ and "__dict__" in dir(cls))


def large_dicts(value: Any) -> dict[str, dict[Any, Any]]:
    """The dicts of *value* stored in parts, by attribute (``SELF``: the value itself)."""
    if type(value) is dict:
        return {SELF: value} if len(value) >= SPLIT_MIN else {}
    if not _plain(type(value)) or not hasattr(value, "__dict__"):
        return {}
    return {attr: d for attr, d in vars(value).items() if type(d) is dict and len(d) >= SPLIT_MIN}


def buckets_for(n: int) -> int:
    """How many buckets a dict of *n* entries is stored in (a power of two, about PER_ROW entries each)."""
    return 1 << max(0, (n // PER_ROW).bit_length() - 1)


def bucket_of(key: Any, buckets: int) -> int:
    """The bucket of *key*: the same in every process (``hash`` of a string is not)."""
    return zlib.crc32(repr(key).encode("utf-8", "surrogatepass")) & (buckets - 1)


def row_key(name: str, attr: str, buckets: int, i: int) -> str:
    """The ``parts`` key of bucket *i* of *buckets* of the dict *attr* of the extra value *name*."""
    if SEP in name or SEP in attr:
        raise ValueError(f"a state key with a unit separator: {name!r} {attr!r}")
    return f"{name}{SEP}{attr}{SEP}{buckets}{SEP}{i}"


def split(name: str, value: Any, where: Where | None = None) -> tuple[bytes, dict[str, bytes]]:
    """*value* as its ``extra`` row (its shell and layout, pickled) and its ``parts`` rows.

    *where* has the bucket each key was read from (``assemble``): a key keeps it (any bucket is
    right; looking it up is cheaper than ``bucket_of``)."""
    dicts = large_dicts(value)
    if not dicts:
        return _pickled((value, {})), {}
    if SELF in dicts:
        shell: Any = None
    else:
        shell = object.__new__(type(value))
        shell.__dict__.update(vars(value))
        for attr in dicts:
            shell.__dict__[attr] = None
    layout: Layout = {}
    rows: dict[str, bytes] = {}
    for attr, d in dicts.items():
        n = buckets_for(len(d))
        layout[attr] = (n, list(d))
        buckets: list[dict[Any, Any]] = [{} for _ in range(n)]
        was_n, was = (where or {}).get((name, attr), (0, {}))
        known = was.get if was_n == n else {}.get
        for key, item in d.items():
            i = known(key)
            buckets[bucket_of(key, n) if i is None else i][key] = item
        for i, bucket in enumerate(buckets):
            if bucket:
                rows[row_key(name, attr, n, i)] = _pickled(bucket)
    return _pickled((shell, layout)), rows


def same(old: bytes | None, new: bytes) -> bool:
    """Whether the row *old* (as read) need not be written again as *new*: the same bytes, or
    bytes that unpickle equal (a set of strings pickles in the order of the process's hash
    seed; objects shared between entries pickle once). Both are unpickled afresh, so a value a
    stage changed in place is still told from the one stored."""
    if old is None:
        return False
    if old == new:
        return True
    try:
        return bool(_compared(pickle.loads(old)) == _compared(pickle.loads(new)))
    except Exception:  # an old row that does not unpickle (or compare): written again
        return False


def _compared(row: Any) -> Any:
    """A row's content as compared: a shell of a plain class without equality of its own by its attributes."""
    if type(row) is tuple and len(row) == 2 and type(row[1]) is dict:  # an extra row: (shell, layout)
        shell, layout = row
        if _plain(type(shell)) and type(shell).__eq__ is object.__eq__:
            return type(shell), vars(shell), layout
    return row


def parse_row_key(key: str) -> tuple[str, str, int, int]:
    """The extra value, the attribute, the buckets and the bucket of a ``parts`` row."""
    name, attr, n, i = key.split(SEP)
    return name, attr, int(n), int(i)


def assemble(name: str, shell_blob: bytes, parts: dict[str, list[tuple[int, int, bytes]]],
             where: Where | None = None) -> Any:
    """The value *name* whose ``extra`` row is *shell_blob* and whose ``parts`` rows are *parts*
    (by attribute: buckets, bucket, blob); noting in *where* each key's bucket.

    Raises ValueError when the rows do not make the dicts the layout names (a damaged state)."""
    shell, layout = pickle.loads(shell_blob)
    if set(parts) - set(layout):
        raise ValueError("parts of a dict the value does not have")
    for attr, (n, keys) in layout.items():
        merged: dict[Any, Any] = {}
        buckets: dict[Any, int] = {}
        for stored_n, i, blob in parts.get(attr, ()):
            if stored_n != n:
                raise ValueError(f"a bucket of {stored_n} where the value has {n}")
            bucket = pickle.loads(blob)
            merged.update(bucket)
            buckets.update(dict.fromkeys(bucket, i))
        if where is not None:
            where[name, attr] = (n, buckets)
        if len(merged) != len(keys):
            raise ValueError(f"{len(merged)} entries stored for {len(keys)} keys")
        try:
            d = {key: merged[key] for key in keys}
        except KeyError as exc:
            raise ValueError(f"no entry stored for the key {exc}") from None
        if attr == SELF:
            return d
        shell.__dict__[attr] = d
    return shell


def split_extra(extra: dict[str, Any], where: Where | None = None) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The rows of ``extra`` and of ``parts`` that store *extra* (``split``)."""
    blobs: dict[str, bytes] = {}
    parts: dict[str, bytes] = {}
    for name, value in extra.items():
        blobs[name], rows = split(name, value, where)
        parts.update(rows)
    return blobs, parts


def assemble_extra(blobs: dict[str, bytes], parts: dict[str, bytes], where: Where | None = None) -> dict[str, Any]:
    """The extra values stored as *blobs* and *parts*, noting in *where* each key's bucket
    (raise ValueError if the parts do not fit)."""
    by_value: dict[str, dict[str, list[tuple[int, int, bytes]]]] = {}
    for key, blob in parts.items():
        name, attr, n, i = parse_row_key(key)
        by_value.setdefault(name, {}).setdefault(attr, []).append((n, i, blob))
    if set(by_value) - set(blobs):
        raise ValueError("parts of a value the state does not have")
    return {name: assemble(name, blob, by_value.get(name, {}), where) for name, blob in blobs.items()}
