"""Which site is served: a folder built by lod, its base URL and the path that puts it under.

``read_site`` reads the marker every build leaves in OUT; ``lod serve`` and ``lod push``
refuse a folder without one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lod.errors import ConfigError
from lod.model.iri import normalise_base_url
from lod.publishing.calendar_pack import PACK

MARKER = ".lod-site.json"


@dataclass(frozen=True)
class SiteInfo:
    """A built site: its folder, base URL and the path the base URL puts it under."""

    root: Path
    base_url: str
    base_path: str
    title: str


def read_site(site: str | os.PathLike[str]) -> SiteInfo:
    """Read OUT/.lod-site.json; raise ConfigError if *site* is not a site built by lod."""
    root = Path(site).resolve()
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
        base_url = normalise_base_url(str(marker["base_url"]))
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{root} is not a site built by lod (no readable {MARKER}); "
                          "run 'lod build' first or pass --site.") from None
    return SiteInfo(root, base_url, urlsplit(base_url).path or "/", str(marker.get("title", "")))


def check_servable(info: SiteInfo) -> None:
    """Raise ConfigError if the site was built by an earlier lod in a layout ``lod serve`` cannot answer from."""
    root = info.root
    # Built before the calendar pack was sharded: its one file would be found by no lookup, and
    # every resource's calendar answered 404 (a build with this lod is a full build and removes it).
    if (root / (PACK + ".pack")).is_file() and not (root / PACK).is_dir():
        raise ConfigError(f"{root} was built by an earlier version of lod: its resources' calendars are in "
                          f"one file, {PACK}.pack, which this version does not read; run 'lod build' again "
                          "to rebuild the site.")
