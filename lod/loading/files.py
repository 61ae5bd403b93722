"""Load stage: read the YAML source records of a data folder into a Dataset.

The only module that reads the data folder (lod.loading.pool runs its read_file in workers).
YAML is composed, never constructed, by PyYAML's safe loader: no Python tags, duplicate
keys refused, and aliases expanded under a node budget so an alias bomb is an error
rather than an out-of-memory. Each value keeps its line and column for error messages
(the field converters are in lod.model.fields and lod.model.converters); every error found
in a pass is reported together, then ``resolve`` links the records.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from lod.model import records as R
from lod.errors import Location, RecordError, RecordErrors
from lod.model.converters import SITE, SPECS, TABLES, TOP_LEVEL, parse_local
from lod.model.fields import Budget, BudgetExceeded, Ctx, Invalid, _fields, _pairs, field_names, list_of
from lod.model.iri import SLUG_RE
from lod.model.kinds import RECORD_KINDS
from lod.loading.pool import SiteNeedsMerge, no_gc
from lod.loading.yamlsafe import compose

__all__ = ["MAX_FILE_BYTES", "SPECS", "Insert", "Merger", "SiteBlock", "SiteNeedsMerge", "data_files", "field_names",
           "no_gc", "parse_local", "read_file"]  # field_names (lod.model.fields), parse_local and SPECS (lod.model.converters), as before

MAX_FILE_BYTES = 20 * 1024 * 1024
# The fields that hold records written inline (a series' talks), and their kind: from the kind registry.
CHILDREN: dict[str, dict[str, str]] = {k.name: {f.name: f.refers[0] for f in k.fields if f.conv == "children"}
                                       for k in RECORD_KINDS}


class Insert:
    """A parsed record to enter into its table, in file order: the table decides whether its id is new.

    Parsing a file yields these and RecordErrors in the order the serial reader met them, so that
    files parsed apart (lod.loading.pool) merge into the same Dataset and the same errors.
    """

    __slots__ = ("kind", "rec", "name")

    def __init__(self, kind: str, rec: Any, name: str) -> None:
        self.kind, self.rec, self.name = kind, rec, name


class SiteBlock:
    """The file's 'site:' block: where it is, and its values (None when it was not a mapping)."""

    __slots__ = ("loc", "values")

    def __init__(self, loc: Location, values: dict[str, Any] | None) -> None:
        self.loc, self.values = loc, values


Op = RecordError | Insert | SiteBlock


class _FileReader:
    """Parses one file into Ops; knows nothing of other files except where a site block was already given."""

    def __init__(self, rel: str, site_loc: Location | None | SiteNeedsMerge) -> None:
        self.rel = rel
        self.ops: list[Op] = []
        self.site_loc = site_loc

    def file(self, text: str) -> None:
        rel = self.rel
        ctx = Ctx(rel, self.ops, Budget(len(text)))  # type: ignore[arg-type]  # errors are Ops among the others
        try:
            root = compose(text, rel)
        except RecordErrors as exc:
            self.ops.extend(exc.errors)
            return
        if root is None:
            return
        try:
            for key, (knode, vnode) in _pairs(ctx, root, "").items():
                if key == "site":
                    self.site(ctx, knode, vnode)
                elif key in TOP_LEVEL:
                    self.records(ctx, TOP_LEVEL[key], vnode, key, None)
                else:
                    close = difflib.get_close_matches(key, [*TOP_LEVEL, "site"], n=1)
                    ctx.fail(knode, key, "unknown top-level key.",
                             (f"did you mean {close[0]!r}? " if close else "") + "Use: site, " + ", ".join(TOP_LEVEL) + ".")
        except Invalid:
            pass
        except BudgetExceeded:
            # The whole file fails: what was read of it is dropped, never published as if it were all.
            self.ops = [op for op in self.ops if isinstance(op, RecordError)]
            self.ops.append(RecordError(Location(rel), "", ctx.budget.exceeded() + "; nothing of it was loaded.",
                                        "split the file, and write values out instead of repeating them."))

    def site(self, ctx: Ctx, knode: Node, vnode: Node) -> None:
        if isinstance(self.site_loc, SiteNeedsMerge):
            raise self.site_loc
        if self.site_loc is not None:
            ctx.fail(knode, "site", f"the site settings are already given at {self.site_loc}.", "keep one 'site:' block.")
            return
        self.site_loc = ctx.loc(knode)
        block = SiteBlock(self.site_loc, None)
        self.ops.append(block)  # before the field errors, as the serial reader did
        try:
            block.values = _fields(ctx, vnode, "site", SITE, ())
        except Invalid:
            return

    def records(self, ctx: Ctx, kind: str, node: Node, path: str, parent: tuple[str, str] | None) -> list[Any]:
        try:
            items = list_of(lambda c, n, p: (n, p))(ctx, node, path)
        except Invalid:
            return []
        made = []
        for item, item_path in items:
            rec = self.record(ctx, kind, item, item_path, parent)
            if rec is not None:
                made.append(rec)
        return made

    def record(self, ctx: Ctx, kind: str, node: Node, path: str, parent: tuple[str, str] | None) -> Any:
        cls, spec, required = SPECS[kind]
        outer = ctx.record
        ctx.record = f"{kind} {path}"
        try:
            if isinstance(node, MappingNode):  # name the record by its id before reporting anything else
                ids = [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == "id"
                       and isinstance(v, ScalarNode) and SLUG_RE.match(v.value)]
                if ids:
                    ctx.record = f"{kind} {ids[0].value}"
            pairs = _pairs(ctx, node, "")
            locs: dict[str, tuple[int, int]] = {}
            values = _fields(ctx, node, "", spec, required, locs, pairs)
            if "id" not in values:
                return None
            children = {k: values.pop(k) for k in CHILDREN.get(kind, ()) if k in values}
            rec = cls(loc=ctx.loc(node), locs=R.field_places(cls, locs), **values)
            if parent is not None:
                rec.parent = parent
            self.ops.append(Insert(kind, rec, ctx.record))  # the duplicate-id check happens on merging
            for child_key, child_node in children.items():
                setattr(rec, child_key, self.records(ctx, CHILDREN[kind][child_key], child_node, child_key, (kind, rec.id)))
            return rec
        except Invalid:
            return None
        finally:
            ctx.record = outer


def data_files(data_dir: Path) -> list[Path]:
    """The record files of a data folder, in sorted order (hidden files skipped)."""
    found = [p for p in data_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(data_dir).parts)]
    return sorted(found)


def read_file(root: Path, path: Path, site_loc: Location | None | SiteNeedsMerge) -> tuple[str, bool, list[Op]]:
    """Read and parse one record file: its name as shown, whether it is a record file (it could be
    read and decoded), and its Ops in order. Raises SiteNeedsMerge if asked to and it meets 'site:'."""
    rel = str(root / path.relative_to(root))  # as the user named the folder
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return rel, False, [RecordError(Location(rel), "", f"cannot read the file: {exc.strerror}.", "check its permissions.")]
    if len(raw) > MAX_FILE_BYTES:
        return rel, False, [RecordError(Location(rel), "", f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB.",
                                        "split it into several files.")]
    try:
        text_ = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = raw[:exc.start].count(b"\n") + 1
        return rel, False, [RecordError(Location(rel, line_no, 1), "", "the file is not valid UTF-8.", "save it as UTF-8.")]
    reader = _FileReader(rel, site_loc)
    reader.file(text_.lstrip("\ufeff"))
    return rel, True, reader.ops


class Merger:
    """Enters the Ops of each file, in file order, into one Dataset and one error list
    (``lod.loading.stage.load_delta``). ``keys`` lists the records each file inserted.
    """

    def __init__(self) -> None:
        self.errors: list[RecordError] = []
        self.dataset = R.Dataset(site=R.Site(loc=Location("(defaults)")))
        self.site_loc: Location | None = None
        self.keys: dict[str, list[tuple[str, str]]] = {}

    def add(self, rel: str, is_record_file: bool, ops: list[Op], blob: bytes | None = None) -> None:
        """Enter one file's Ops (*blob*, their pickle, is not needed here)."""
        ds = self.dataset
        if is_record_file:
            ds.files.append(rel)
        keys = self.keys.setdefault(rel, [])
        for op in ops:
            if type(op) is Insert:
                rec = op.rec
                table = getattr(ds, TABLES[op.kind])
                if rec.id in table:
                    self.errors.append(RecordError(rec.loc, f"{op.name}, field id",
                                                   f"the {op.kind} id {rec.id!r} is already used at {table[rec.id].loc}.",
                                                   "give each record its own id."))
                else:
                    table[rec.id] = rec
                    keys.append((op.kind, rec.id))
            elif type(op) is SiteBlock:
                self.site_loc = op.loc
                if op.values is not None:
                    ds.site = R.Site(loc=op.loc, **op.values)
            else:
                assert isinstance(op, RecordError)
                self.errors.append(op)
