"""The files an import writes: the ``Plan``, its YAML, its diff, the trial load and the atomic write.

``lod.importers.merge.plan`` works out a Plan (new and old file contents, notes) without
writing anything; ``diff`` shows it, ``check`` loads the data folder as it would be after
it (errors told at their place in the source), and ``write`` writes the changed files,
each through a temporary file and a rename, the import state last.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lod.errors import ImportFailed, RecordErrors
from lod.model.kinds import TABLES, TOP_LEVEL
from lod.loading.stage import load
from lod.importers import yamledit

ORDER = ["id", "kind", "name", "title", "title_status", "given_name", "family_name", "honorific", "also_known_as", "series", "part_of",
         "speakers", "coauthors", "start", "end", "duration", "timezone", "offset", "status", "previous_start",
         "attendance", "venue", "online", "code", "contained_in", "virtual", "parent", "affiliations", "job_title",
         "orcid", "ror", "wikidata", "ids", "homepage", "url", "same_as", "address", "language", "topics", "keywords",
         "organizers", "contacts", "description", "abstract", "references", "recording", "slides", "sessions",
         "sources", "inferred", "note"]


@dataclass
class Plan:
    """What an import would do: new file contents, old contents (for the diff) and notes."""

    data_dir: Path
    files: dict[Path, bytes] = field(default_factory=dict)
    old: dict[Path, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # (kind, final id) -> where in the source the record comes from, for located errors
    where: dict[tuple[str, str], str] = field(default_factory=dict)
    source_name: str = ""

    @property
    def changed(self) -> list[Path]:
        """The files whose content would change."""
        return [p for p, b in self.files.items() if self.old.get(p) != b]


# ---------------------------------------------------------------- YAML out

class _Dumper(yaml.SafeDumper):
    """Block style, abstracts as literal blocks: files a person can read and edit."""


_Dumper.add_representer(str, yamledit.represent_text)


def ordered(rec: Any) -> Any:
    """A record with its keys in the documentation's order (unknown keys last, alphabetically)."""
    if isinstance(rec, dict):
        keys = sorted(rec, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
        return {k: ordered(rec[k]) for k in keys}
    if isinstance(rec, list):
        return [ordered(v) for v in rec]
    return rec


def dump_yaml(doc: dict[str, Any], header: str) -> bytes:
    """Deterministic YAML of an imported file."""
    top = list(TOP_LEVEL)
    doc = {k: ordered(doc[k]) for k in sorted(doc, key=lambda k: top.index(k) if k in top else len(top))}
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return (header + body).encode("utf-8")



def diff(p: Plan) -> str:
    """The changes of a plan as a unified diff, then its notes."""
    chunks = []
    for path in sorted(p.changed):
        if path.suffix == ".json":  # the import state follows the YAML; its diff is noise
            continue
        old = p.old.get(path, b"").decode("utf-8").splitlines(keepends=True)
        new = p.files[path].decode("utf-8").splitlines(keepends=True)
        chunks.append("".join(difflib.unified_diff(old, new, str(path) if path in p.old else "/dev/null", str(path))))
    chunks += [f"note: {n}\n" for n in p.notes]
    return "".join(chunks) or "no changes\n"


def check(p: Plan) -> None:
    """Load the data folder as it would be after the import; raise ImportFailed if it would not load."""
    with tempfile.TemporaryDirectory(prefix="lod-import-") as tmp:
        trial = Path(tmp) / "data"
        if p.data_dir.is_dir():
            shutil.copytree(p.data_dir, trial)
        else:
            trial.mkdir()
        for path, content in p.files.items():
            target = trial / path.relative_to(p.data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        try:
            load(trial)
        except RecordErrors as exc:
            raise ImportFailed(_relocated(p, exc, trial)) from None


_FIELD = re.compile(r"^(?P<kind>[a-z]+) (?P<id>\S+), field (?P<field>.+)$")


def _relocated(p: Plan, exc: RecordErrors, trial: Path) -> str:
    """The loader's errors, those in records this import writes told at their place in the source.

    The imported YAML file was never written, so pointing at it (or saying "add 'name:'" to
    it) would not help: the error names the source file and the resource in it.
    """
    lines = []
    written = {str(trial / path.relative_to(p.data_dir)) for path in p.files}
    for e in exc.errors:
        m = _FIELD.match(e.field)
        if e.location.file in written and m:
            kind = TABLES.get(m.group("kind"), m.group("kind"))
            where = p.where.get((kind, m.group("id"))) or p.source_name
            lines.append(f"{where}: the {m.group('kind')} (imported as {m.group('id')}), field {m.group('field')}: "
                         f"{e.problem} Fix: correct {m.group('field')} of that {m.group('kind')} in the source (or leave it "
                         "out) and import again.")
        else:
            lines.append(str(e).replace(str(trial), str(p.data_dir)))
    return "the imported records would not load, so nothing was written:\n  " + "\n  ".join(lines)


def write(p: Plan) -> list[Path]:
    """Write the changed files, each through a temporary file and a rename; return them."""
    check(p)
    staged: list[tuple[Path, Path]] = []
    try:
        for path in p.changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(p.files[path])
                fh.flush()
                os.fsync(fh.fileno())
            staged.append((Path(tmp_name), path))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    # The state file goes last: if we stop between the renames, the next import sees the
    # records as hand-edited and keeps them, rather than overwriting anything.
    staged.sort(key=lambda s: s[1].suffix == ".json")
    for tmp, path in staged:
        os.replace(tmp, path)
    return [path for _, path in staged]
