"""``lod import``: convert another system's export into records in ``data/``, merged with what is there.

One module per source format (``ical``, ``indico``, ``frab``, ``rdf``), each a pure
function from the source's bytes to a ``Parsed`` of plain record dicts; ``merge``
reconciles them with the data folder (each record merged by ``threeway``) and is the
only stage that writes (through ``planfiles``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from lod.errors import ImportFailed
from lod.model.iri import slugify
from lod.importers.frab import parse as parse_frab
from lod.importers.ical import parse as parse_ical
from lod.importers.indico import parse as parse_indico
from lod.importers.rdf import parse as parse_rdf
from lod.importers.common import Parsed
from lod.importers.merge import plan
from lod.importers.planfiles import Plan, check, diff, write

Parser = Callable[[bytes, str], Parsed]
FORMATS: dict[str, Parser] = {"ical": parse_ical, "indico": parse_indico, "frab": parse_frab, "rdf": parse_rdf}
MAX_BYTES = 50 * 2**20


@dataclass
class ImportResult:
    """What an import did (or, with dry_run, would do)."""

    plan: Plan
    written: list[Path] = field(default_factory=list)

    @property
    def diff(self) -> str:
        """The changes as a unified diff, then the notes."""
        return diff(self.plan)


def read_mapping(path: str | os.PathLike[str] | None) -> dict[str, dict[str, str]]:
    """The mapping file that settles ambiguous matches: ``people: {"Wei Zhang": wei-zhang}`` (or ``new``)."""
    if path is None:
        return {}
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot read the mapping file ({exc}). "
                           "Fix: write YAML such as  people: {\"Wei Zhang\": wei-zhang}") from None
    ok = isinstance(doc, dict) and all(
        k in ("people", "organizations", "places", "series", "events", "talks") and isinstance(v, dict)
        and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items()) for k, v in doc.items())
    if not ok:
        raise ImportFailed(f"{path}: the mapping file must map kinds (people, organizations, places, events, talks) "
                           "to {name as written in the source: existing id or new}. "
                           "Fix: write e.g.  people: {\"Wei Zhang\": wei-zhang}")
    return {k: dict(v) for k, v in doc.items()}


def source_slug(fmt: str, source: str, key: str | None = None) -> str:
    """The id of an import's source record and the name of its file: ``ical-seminar``.

    A source is named by what it is (*key*: a conference and its server, an Indico event,
    a calendar's name), else by its file name: two frab exports both called schedule.xml
    are two sources.
    """
    return f"{fmt}-{slugify(key or Path(source).stem)}"[:60].strip("-")


def import_source(fmt: str, source: str | os.PathLike[str], data_dir: str | os.PathLike[str] = "data", *,
                  dry_run: bool = False, mapping: str | os.PathLike[str] | None = None, prefer: str | None = None,
                  url: str | None = None, taken: date | None = None, timezone: str | None = None) -> ImportResult:
    """Import *source* (a file in format *fmt*) into *data_dir*; with *dry_run*, only plan.

    *timezone* (iCal and RDF) is the IANA zone of times written without one (floating times).
    Raises ImportFailed (unreadable source), AmbiguousMatch, MergeConflict or RecordErrors
    (the data folder is invalid); in every such case nothing is written.
    """
    if fmt not in FORMATS:
        raise ImportFailed(f"unknown import format {fmt!r}. Fix: use one of {', '.join(FORMATS)}.")
    if timezone is not None:
        if fmt not in ("ical", "rdf"):
            raise ImportFailed(f"--timezone applies to iCal and RDF only; a {fmt} export gives its own zone. "
                               "Fix: leave --timezone out.")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ImportFailed(f"--timezone {timezone!r} is not an IANA time zone. "
                               "Fix: give a name such as Europe/Paris or America/New_York.") from None
    path = Path(source)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ImportFailed(f"{path}: the file is larger than {MAX_BYTES // 2**20} MiB. Fix: split it.")
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read the file ({exc.strerror}). Fix: check the path.") from None
    zoned = {"ical": parse_ical, "rdf": parse_rdf}  # the formats whose times may be floating
    parsed = zoned[fmt](data, str(path), timezone) if timezone else FORMATS[fmt](data, str(path))
    slug = source_slug(fmt, str(path), parsed.key)
    record: dict[str, Any] = {"id": slug}
    if parsed.title:
        record["title"] = parsed.title
    record["document"] = path.name
    if url:
        record["url"] = url
    record["taken"] = (taken or date.today()).isoformat()
    p = plan(parsed, record, Path(data_dir), slug, read_mapping(mapping), prefer)
    result = ImportResult(p)
    if dry_run:
        check(p)  # every check of the real run, writing nothing
    else:
        result.written = write(p)
    return result
