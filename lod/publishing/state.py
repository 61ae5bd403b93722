"""The build state beside the site, as one SQLite database (``.OUT.lod-state``).

A build leaves what the next one needs (``lod.publishing.changes.State``) in a database of rows:
one per data file in each of ``stamps``, ``parsed``, ``resolved`` and ``deps``; one per
resource in ``results`` (its SHACL results); one per page or calendar key in ``links`` (the
numbers of the keys it read, numbered in ``link_keys``: ``lod.publishing.links``, stored and read as they are;
a rebuild looks a key up there by number or by text, ``state_keys``, rather than read them all);
one per talk page in ``google`` (its Google Event gaps); one per bucket of entries of
the large dictionaries of ``extra`` in ``parts`` (the pages cache's items and lastmods, the
search index's contributions and numbers, the answers' digests: ``lod.publishing.state_parts``); and
one per remaining key of the state's ``extra`` in ``extra`` (the dumps index, the rest of the
pages cache and search state, the sitemaps, the file count, and any key a later stage adds:
stored whole, whatever it is). ``meta`` holds the schema version, the fingerprint, the site
id, the generation and the site settings.

A full build writes a new database beside the old one and renames it over it
(``write_new``). A rebuild reads ``meta`` first (``Store.open``), reads whole only the
tables its algorithm needs whole, and the data files' parses and resolved records row by
row when it needs one (``Rows``); then it writes only the rows that changed (``Store.changes``,
``Store.apply``).

Crash safety. The site's files and the state are two stores; neither can commit with the
other. So the rebuild publishes its changes to the state (a ``Delta``: the changed rows
only, ``delta_path``) through the same journal as the site's files, applied after them,
and stores them in SQLite, in one transaction, only after the journal's commit point; then
removes the delta. A build stopped anywhere in between leaves the delta beside the site,
and the next build stores it first (``Store.settle``), repeating nothing that would
differ. Before the commit point neither the site nor the state changed. The generation
counts the rebuilds since the full build: published with the site (``generation_path``),
stored in ``meta`` with the delta. If they differ (a delta was lost), the state is not the
site's and the next build is a full one (``state-behind``).

Values are pickled: the state is trusted like the code (SECURITY.md), and its fingerprint
names the code and Python version that wrote it.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lod.loading.stage import ResolvedBlobs
from lod.publishing import changes as inc
from lod.publishing import link_chunks, state_parts
from lod.publishing.link_rows import Changed, StoredRows
from lod.publishing.links import LinkCodec, Links, key_text, text_key
from lod.publishing.state_keys import StoredCodec, Unusable, damaged as _damaged
from lod.model import records as R

SCHEMA = 12  # the layout of the tables; another one is read by nobody (a full build replaces it)
HEADER = b"SQLite format 3\x00"
# Tables of one row per key. Those of bytes hold the blob as it is; the others its pickle.
BYTES_TABLES = ("parsed", "resolved")
PICKLED_TABLES = ("stamps", "deps", "results", "google", "extra")
# A page's links are the numbers of the keys they hold (``LinkCodec``): ``link_keys`` numbers them.
TABLES = (*BYTES_TABLES, *PICKLED_TABLES, "links", "link_keys", "parts")
# How each table is made and written: most are (key, value); parts is (part, bucket, value) (``state_parts``).
_CREATE = {"link_keys": "CREATE TABLE link_keys (key INTEGER PRIMARY KEY, value TEXT NOT NULL)",
           # Clustered by key: a scan reads the rows in key order, as ``StoredRows`` holds them.
           "links": "CREATE TABLE links (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
           "parts": "CREATE TABLE parts (part TEXT NOT NULL, bucket INTEGER NOT NULL, value BLOB NOT NULL, "
                    "PRIMARY KEY (part, bucket)) WITHOUT ROWID"}
# A rebuild finds a key's number by its text (``state_keys.StoredNumbers``).
_KEY_INDEX = "CREATE UNIQUE INDEX link_keys_value ON link_keys (value)"
_UPSERT = {"parts": "INSERT OR REPLACE INTO parts (part, bucket, value) VALUES (?, ?, ?)"}
_DELETE = {"parts": "DELETE FROM parts WHERE part = ? AND bucket = ?"}
# Tables of few distinct values, never changed in place (a talk page's Google gaps: most pages lack
# the same things): each is read once and shared, 4 MB at 100k talks instead of 77 MB.
SHARED_TABLES = ("google",)
ROW_EXTRA = ("deps", "links", "google")  # keys of State.extra kept one row per key, in their own table
TUPLE_KEYED = ("links",)  # keys (kind, id): stored as "kind<SEP>id" (a kind is a word; an id may hold anything)
SIDE_FILES = ("-journal", "-wal", "-shm")  # SQLite's own files beside a database


def _no_step(_label: str) -> None:
    """Called inside the state's transaction before its commit; tests replace it to simulate a kill there."""


_step: Callable[[str], None] = _no_step


@dataclass
class Delta:
    """A rebuild's changes to the state: per table, the rows to write and the keys to delete."""

    generation: int
    writes: list[tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]]]]  # (table, rows to write, keys to delete)
    meta: dict[str, Any]


def generation_path(state_file: Path) -> Path:
    """The file beside the site holding the generation its published files are at."""
    return state_file.with_name(state_file.name + ".gen")


def delta_path(state_file: Path) -> Path:
    """The file beside the site holding a rebuild's changes to the state (``Delta``), published
    with the site's files and removed once stored."""
    return state_file.with_name(state_file.name + ".delta")


def site_generation(state_file: Path) -> int:
    """The generation of the published site (0 after a full build, which writes no file)."""
    try:
        return int(generation_path(state_file).read_text(encoding="ascii").strip() or "0")
    except FileNotFoundError:
        return 0
    except (OSError, ValueError):
        return -1  # unreadable: no state matches it, so the next build is a full one


def _enc(table: str, key: Any) -> str:
    return key_text(key) if table in TUPLE_KEYED else str(key)


def _dec(table: str, key: str) -> Any:
    return text_key(key) if table in TUPLE_KEYED else key


class Rows(Mapping[str, bytes]):
    """A table of blobs read row by row when asked (the data files' parses): a rebuild needs a few."""

    def __init__(self, conn: sqlite3.Connection, table: str, keys: set[str]) -> None:
        self.conn, self.table, self._keys = conn, table, keys

    def __getitem__(self, key: str) -> bytes:
        if key not in self._keys:
            raise KeyError(key)
        try:
            row = self.conn.execute(f"SELECT value FROM {self.table} WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc) from None
        if row is None:
            raise _damaged(KeyError(key))
        return bytes(row[0])

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class Overlay(Mapping[str, bytes]):
    """*base* with *changes* on top, limited to *keys*: what a build's parses are, written
    whole by a full build (``write_new``), as a delta by a rebuild (``Store.changes``). Both
    read them one at a time: *changes* are on disk (``lod.loading.spill``)."""

    def __init__(self, base: Mapping[str, bytes], changes: Mapping[str, bytes], keys: list[str]) -> None:
        self.base, self.changes, self._keys = base, changes, set(keys)

    def __getitem__(self, key: str) -> bytes:
        if key not in self._keys:
            raise KeyError(key)
        return self.changes[key] if key in self.changes else self.base[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys))

    def __len__(self) -> int:
        return len(self._keys)


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(HEADER))
    except IsADirectoryError:
        raise Unusable("state-damaged", "it is a folder") from None
    if head == HEADER:
        return
    if head[:1] == b"\x80":  # a pickle: the state of a lod from before the database
        raise Unusable("state-version", "a pickle from an earlier lod")
    raise Unusable("state-damaged", "not an SQLite database")


class Store:
    """An open state database; ``open`` reads its meta, ``load`` the rest, ``save`` a rebuild's changes."""

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict[str, Any]) -> None:
        self.path, self.conn, self.meta = path, conn, meta
        self._snap: dict[str, Mapping[Any, Any]] = {}  # what load read, to find what changed
        self._blobs: dict[str, bytes] = {}  # the extra table's rows as read
        self._parts: state_parts.Read = {}  # the parts table's buckets as read
        self._chunks = link_chunks.Chunks()  # where the read-sets' stored chunks begin
        self.links = LinkCodec([])

    @classmethod
    def open(cls, path: Path) -> Store | None:
        """The state at *path* (None if there is none); raise Unusable if it has another
        schema or cannot be read."""
        if not path.exists():
            return None
        _check_header(path)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(path, isolation_level=None)  # transactions are begun explicitly
            meta = {k: v for k, v in conn.execute("SELECT key, value FROM meta")}
            if meta.get("schema") != SCHEMA:
                raise Unusable("state-version", f"schema {meta.get('schema')}, this lod reads {SCHEMA}")
            for name in ("fingerprint", "site_id", "generation", "site"):
                if name not in meta:
                    raise Unusable("state-damaged", f"no {name} in its meta table")
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise _damaged(exc) from None
        except Unusable:
            if conn is not None:
                conn.close()
            raise
        return cls(path, conn, meta)

    def site(self) -> R.Site:
        """The site settings the state was built with (raise Unusable if they do not unpickle)."""
        try:
            site = pickle.loads(self.meta["site"])
        except Exception as exc:
            raise _damaged(exc) from None
        if not isinstance(site, R.Site):
            raise Unusable("state-damaged", "its site settings are not a site")
        return site

    def load(self) -> inc.State:
        """The whole state, the data files' parses and resolved records left in the database until
        asked for, a row at a time (``Rows``: the load unpickles every file's records once).

        Read whole: the stamps and the resolution deps (the rebuild's load decides from them
        which files to take as they are), the SHACL results (the
        report is the whole data's), the read-sets' rows (``pages.dirty.affected`` searches every
        page's), the Google gaps (the report covers every talk page), and the extra values (each
        is one object, its large dictionaries read from their rows). Not the numbering of the
        read-sets' keys: looked up a key at a time (``state_keys``)."""
        try:
            self.links = StoredCodec(self.conn)  # the key numbering, looked up a key at a time (``state_keys``)
            tables = {t: self._read(t) for t in ("stamps", "deps", "results", "links", "google")}
            # The records after resolution, by file: read one at a time (the load unpickles each and
            # keeps the records, not the 174 MB of pickles at 100k talks).
            tables["resolved"] = self._rows("resolved")
            self._blobs = {k: bytes(v) for k, v in self.conn.execute("SELECT key, value FROM extra")}
            extra = {k: pickle.loads(v) for k, v in self._blobs.items()}
            parts, self._parts = state_parts.read(
                lambda name: self.conn.execute("SELECT bucket, value FROM parts WHERE part = ?", (name,)),
                self._bucket)
            parsed = self._rows("parsed")
            site = self.site()
        except Unusable:
            raise
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc) from None
        except Exception as exc:  # a row that does not unpickle: damaged (other code is caught by the fingerprint)
            raise _damaged(exc) from None
        self._snap = {t: rows if isinstance(rows, Rows) else rows.rows if isinstance(rows, Links) else dict(rows)
                      for t, rows in tables.items()}
        state_parts.join(extra, parts)
        for name in ROW_EXTRA:
            extra[name] = tables[name]
        return inc.State(str(self.meta["fingerprint"]), str(self.meta["site_id"]), site, tables["stamps"],
                         parsed, tables["resolved"], tables["results"], extra,
                         generation=int(self.meta["generation"]))

    def _bucket(self, part: str, bucket: int) -> bytes | None:
        """One stored bucket of a lazy part (``state_parts.Buckets``), read when an entry of it is
        asked for: raise Unusable if it cannot be read (the build that asked becomes a full one)."""
        try:
            row = self.conn.execute("SELECT value FROM parts WHERE part = ? AND bucket = ?", (part, bucket)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc, f"the {part} bucket {bucket}") from None
        return None if row is None else bytes(row[0])

    def _rows(self, table: str) -> Rows:
        """A table of blobs (``BYTES_TABLES``), its keys read now and each row when asked for."""
        return Rows(self.conn, table, {k for (k,) in self.conn.execute(f"SELECT key FROM {table}")})

    def _read(self, table: str) -> Any:
        """A table of pickled values or the read-sets, read whole (the blobs' are ``_rows``)."""
        if table == "links":  # the rows as they are, in key order (``StoredRows``), from their chunks
            links, self._chunks = link_chunks.read(self.conn.execute("SELECT key, value FROM links ORDER BY key"))
            bad = links.damaged(len(self.links.keys))
            if bad is not None:
                raise Unusable("state-damaged", f"the read-set of {bad[0][0]} {bad[0][1]!r}: {bad[1]}")
            return Links(self.links, Changed(links))  # changed by nothing yet: the merge changes it
        rows = self.conn.execute(f"SELECT key, value FROM {table}")
        if table in SHARED_TABLES:  # each distinct value unpickled once, shared by the keys that have it
            seen: dict[bytes, Any] = {}
            return {_dec(table, k): seen[v] if v in seen else seen.setdefault(v, pickle.loads(v)) for k, v in rows}
        return {_dec(table, k): pickle.loads(v) for k, v in rows}

    def changes(self, old: inc.State, new: inc.State) -> Delta:
        """What turns *old* (as ``load`` read it) into *new*: the changed and new rows, the
        gone keys, the meta."""
        tables: dict[str, Mapping[Any, Any]] = {"stamps": new.stamps, "resolved": new.resolved,
                                                 "results": new.results,
                                                 **{name: new.extra.get(name, {}) for name in ROW_EXTRA}}
        tables["links"] = Links.of(tables["links"]).recoded(self.links).rows  # numbered as link_keys
        writes: list[tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]]]] = []
        for table, rows in tables.items():
            delta = rows.delta(self._snap[table]) if isinstance(rows, ResolvedBlobs) else None
            if delta is not None:  # the files resolved again, and those gone: the rest are the rows as read
                writes.append((table, delta[0], [(rel,) for rel in delta[1]]))
                continue
            if table == "links":
                writes.append((table, *link_chunks.store(rows, self._snap[table], self._chunks)))
                continue
            writes.append((table, *_diff(table, self._snap[table], rows, _encoder(table))))
        writes.append(("link_keys", self.links.take_added(), []))
        parsed = new.parsed
        if isinstance(parsed, Overlay) and parsed.base is old.parsed:
            writes.append(("parsed", list(parsed.changes.items()),
                           [(k,) for k in old.parsed if k not in parsed]))
        else:  # not a rebuild's delta: every row again
            writes.append(("parsed", list(parsed.items()), [(k,) for k in old.parsed if k not in parsed]))
        rest, parts = state_parts.split({k: v for k, v in new.extra.items() if k not in ROW_EXTRA})
        blobs = {k: pickle.dumps(v, pickle.HIGHEST_PROTOCOL) for k, v in rest.items()}
        writes.append(("extra", [(k, b) for k, b in blobs.items() if self._blobs.get(k) != b],
                       [(k,) for k in self._blobs if k not in blobs]))
        writes.append(("parts", *state_parts.diff(self._parts, parts)))
        return Delta(new.generation, writes, _meta(new))

    def apply(self, delta: Delta) -> int:
        """Write *delta* in one SQLite transaction; return the rows written. Repeating it is harmless."""
        n = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for table, upserts, deletes in delta.writes:
                self.conn.executemany(_UPSERT.get(table, f"INSERT OR REPLACE INTO {table} (key, value) VALUES (?, ?)"),
                                      upserts)
                self.conn.executemany(_DELETE.get(table, f"DELETE FROM {table} WHERE key = ?"), deletes)
                n += len(upserts) + len(deletes)
            self.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", delta.meta.items())
            _step("state written")
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.meta.update(delta.meta)
        return n

    def settle(self) -> None:
        """Store the changes a rebuild published but was stopped before storing (``delta_path``).

        Raise Unusable if they cannot be read or applied; a delta more than one generation
        ahead is left for the generation check to refuse."""
        pending = delta_path(self.path)
        try:
            blob = pending.read_bytes()
        except FileNotFoundError:
            return
        try:
            delta = pickle.loads(blob)
            if not isinstance(delta, Delta):
                raise TypeError("not a delta")
            if delta.generation == self.meta["generation"] + 1:
                self.apply(delta)
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc) from None
        except Exception as exc:
            raise Unusable("state-damaged", f"its pending changes cannot be read: {exc}") from None
        if delta.generation <= self.meta["generation"]:
            pending.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the database."""
        self.conn.close()


def _pickled(value: Any) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _encoder(table: str) -> Callable[[Any], Any]:
    """How a value of *table* is stored (a links row: as it is, ``Links.rows``)."""
    if table in BYTES_TABLES or table == "links":
        return lambda value: value
    return _pickled


def _diff(table: str, old: Mapping[Any, Any], new: Mapping[Any, Any],
          encode: Callable[[Any], Any]) -> tuple[list[tuple[Any, Any]], list[tuple[Any]]]:
    """The rows to write and the keys to delete to turn *old* into *new*."""
    missing = object()
    upserts = []
    for key, value in new.items():
        was = old.get(key, missing)
        if was is value or (was is not missing and was == value):
            continue
        upserts.append((_enc(table, key), encode(value)))
    deletes = [(_enc(table, key),) for key in old if key not in new]
    return upserts, deletes


def _meta(state: inc.State) -> dict[str, Any]:
    return {"schema": SCHEMA, "fingerprint": state.fingerprint, "site_id": state.site_id,
            "generation": state.generation, "site": pickle.dumps(state.site, pickle.HIGHEST_PROTOCOL)}


def write_new(path: Path, state: inc.State) -> None:
    """Write *state* as a new database at *path*, replacing any there atomically (a full build).

    It is written beside as ``<path>.tmp-<pid>`` without SQLite's rollback journal (a file
    nobody reads yet needs none), then renamed over *path*; the generation file is set to
    *state*'s first, so a build killed in between leaves a state that names another site.
    Raises OSError when it cannot be written (SQLite's errors included)."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    remove_database(tmp)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
    except sqlite3.Error as exc:
        raise OSError(f"{exc} ({tmp})") from None
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID")
        for table in TABLES:
            conn.execute(_CREATE.get(table, f"CREATE TABLE {table} (key TEXT PRIMARY KEY, value BLOB NOT NULL)"))
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", _meta(state).items())
        for table in BYTES_TABLES:
            conn.executemany(f"INSERT INTO {table} (key, value) VALUES (?, ?)",
                             getattr(state, table).items())
        rows: dict[str, Mapping[Any, Any]] = {"stamps": state.stamps, "results": state.results,
                                              **{name: state.extra.get(name, {}) for name in ROW_EXTRA}}
        links = Links.of(rows["links"])  # the rows as the pages stage numbered them, with its numbers
        rows["links"] = links.rows
        for table, values in rows.items():
            encode = _encoder(table)
            made = ((_enc(table, k), encode(v)) for k, v in values.items())
            conn.executemany(f"INSERT INTO {table} (key, value) VALUES (?, ?)",  # in chunks, in the table's order
                             link_chunks.chunks_of(sorted(made)) if table == "links" else made)
        conn.executemany("INSERT INTO link_keys (key, value) VALUES (?, ?)",
                         ((n, key_text(key)) for n, key in enumerate(links.codec.keys)))
        conn.execute(_KEY_INDEX)  # after the rows: one sort, not an index grown row by row
        rest, parts = state_parts.split({k: v for k, v in state.extra.items() if k not in ROW_EXTRA})
        conn.executemany("INSERT INTO extra (key, value) VALUES (?, ?)",
                         ((k, pickle.dumps(v, pickle.HIGHEST_PROTOCOL)) for k, v in rest.items()))
        conn.executemany(_UPSERT["parts"], state_parts.rows(parts))
        conn.execute("COMMIT")
    except BaseException as exc:
        conn.close()
        remove_database(tmp)
        if isinstance(exc, sqlite3.Error):  # e.g. "database or disk is full": the callers handle OSError
            raise OSError(f"{exc} ({tmp})") from None
        raise
    conn.close()
    delta_path(path).unlink(missing_ok=True)  # changes to the old state, which this one replaces
    gen = generation_path(path)
    if state.generation:
        gen_tmp = gen.with_name(f"{gen.name}.tmp-{os.getpid()}")
        gen_tmp.write_text(f"{state.generation}\n", encoding="ascii")
        os.replace(gen_tmp, gen)
    else:
        gen.unlink(missing_ok=True)
    for side in SIDE_FILES:  # the old database's: a rollback journal must never meet the new one
        Path(f"{path}{side}").unlink(missing_ok=True)
    os.replace(tmp, path)


def remove_database(path: Path) -> None:
    """Remove the database at *path* and SQLite's files beside it."""
    for side in ("", *SIDE_FILES):
        Path(f"{path}{side}").unlink(missing_ok=True)


def recover(path: Path) -> None:
    """Clear what a build killed while writing the state at *path* left: a full build's
    unfinished database, and a rebuild's unfinished SQLite transaction (rolled back by
    opening the database: its rollback journal must not simply be deleted)."""
    for stale in path.parent.glob(f"{path.name}.tmp-*"):
        stale.unlink(missing_ok=True)
    for stale in path.parent.glob(f"{generation_path(path).name}.tmp-*"):
        stale.unlink(missing_ok=True)
    # A pending delta is not stale: the next rebuild stores it (Store.settle).
    if not any(Path(f"{path}{side}").exists() for side in SIDE_FILES):
        return
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("SELECT count(*) FROM meta").fetchone()  # a hot journal is rolled back here
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        remove_database(path)  # unusable either way: the next build is a full one
